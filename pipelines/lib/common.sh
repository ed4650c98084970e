# shellcheck shell=bash
# Shared by the sb-* pipelines: usage from the header, logging, the poll cursor, atomic files.
# Sourced, not run. Values written to the cursor are ours (dates, numbers), never user input.
# The paths under a root come from paths.sh (generated from the tools' own table: sb_path).
# shellcheck source=paths.sh
. "$(dirname "${BASH_SOURCE[0]}")/paths.sh"

SB_VERSION=0.3.0

sb_version() {
  printf '%s (slurm-scoreboard) %s\n' "${0##*/}" "$SB_VERSION"
}

sb_usage() {
  sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0" | sed '/^set /d'
}

sb_log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${0##*/}" "$*" >&2
}

# sb_count N THING: "1 user", "2 users"
sb_count() {
  if [[ "$1" -eq 1 ]]; then printf '1 %s' "$2"; else printf '%s %ss' "$1" "$2"; fi
}

# sb_die MESSAGE [CODE]
sb_die() {
  printf '%s: %s\n' "${0##*/}" "$1" >&2
  exit "${2:-1}"
}

# The time every tool agrees on: $SLURM_SB_NOW when set (tests, replays), else the clock.
sb_now() {
  if [[ -n "${SLURM_SB_NOW:-}" ]]; then
    date -u -d "${SLURM_SB_NOW%Z}" +%Y-%m-%dT%H:%M:%SZ
  else
    date -u +%Y-%m-%dT%H:%M:%SZ
  fi
}

# sb_month_add YYYY-MM N  ->  YYYY-MM
sb_month_add() {
  date -u -d "$1-01 $2 month" +%Y-%m
}

# sb_month_number YYYY-MM -> months since year 0, for counting months between two
sb_month_number() {
  printf '%d' $(( 10#${1:0:4} * 12 + 10#${1:5:2} - 1 ))
}

# sb_default_backfill_start: where a cluster's backfill starts when nobody said: the 1st of the
# month twelve months before the current one.
sb_default_backfill_start() {
  local now
  now="$(sb_now)"
  printf '%s-01' "$(sb_month_add "${now:0:7}" -12)"
}

# sb_plain_text < TEXT: at most 300 printable ASCII characters, without quotes or backslashes,
# so a message can go into a JSON string and onto a terminal as it is. All of TEXT is read, so
# a long one never stops its writer with SIGPIPE (under pipefail, the caller with it).
sb_plain_text() {
  local text
  text="$(LC_ALL=C tr -c '\040-\041\043-\133\135-\176' ' ' | { head -c 300; cat > /dev/null; })"
  text="${text%"${text##*[! ]}"}"
  printf '%s' "$text"
}

# sb_later [ISO-TIME] ISO-TIME: the later of two times (the second when the first is empty):
# the incremental cursor a caught-up backfill hands over never moves back.
sb_later() {
  if [[ -n "$1" && "$1" > "$2" ]]; then printf '%s' "$1"; else printf '%s' "$2"; fi
}

# sb_epoch ISO-TIME -> seconds; sb_iso SECONDS -> ISO-TIME
sb_epoch() { date -u -d "${1%Z}" +%s; }
sb_iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# sb_check_name KIND VALUE: plain names only (they become paths).
sb_check_name() {
  [[ "$2" =~ ^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$ && "$2" != "." && "$2" != ".." ]] ||
    sb_die "refusing $1 name '$2': not a plain name" 2
}

# sb_write_atomic FILE < content: temp file in the same folder, fsync, rename. A signal that
# stops the script removes the temp file (the traps below), so none is ever left half-written.
# A write that fails (a full disk, say) removes its temp file and returns 1. The target's
# folder is checked (no symlink on the way below the root); the rename replaces a planted
# symlink itself, never what it points to.
SB_TMP=""
sb_write_atomic() {
  local file="$1"
  sb_safe_dir "$(dirname "$file")"
  SB_TMP="$(dirname "$file")/.tmp-$$-$RANDOM.$(basename "$file")"
  if ! { (set -o noclobber; cat > "$SB_TMP") && sync "$SB_TMP" && mv -fT "$SB_TMP" "$file"; }; then
    rm -f "$SB_TMP"
    SB_TMP=""
    printf '%s: could not write %s\n' "${0##*/}" "$file" >&2
    return 1
  fi
  SB_TMP=""
}

# sb_sweep_temps DIR: remove temp files a killed process left in DIR over an hour ago.
sb_sweep_temps() {
  [[ -d "$1" ]] || return 0
  find "$1" -maxdepth 1 -type f -name '.tmp-*' -mmin +60 -delete 2>/dev/null || true
}

# sb_sweep_own_temps PREFIX...: remove this account's files PREFIX.* in the temp folder that
# nothing wrote for a day (what a killed run left; a running poll writes its files at each step).
sb_sweep_own_temps() {
  local prefix names=()
  for prefix in "$@"; do names+=(-o -name "$prefix.*"); done
  find "${TMPDIR:-/tmp}" -maxdepth 1 -type f -user "$(id -u)" \( "${names[@]:1}" \) \
    -mmin +1440 -delete 2>/dev/null || true
}

sb_on_signal() {
  [[ -n "$SB_TMP" ]] && rm -f "$SB_TMP"
  [[ -n "$SB_SPOOL" ]] && rm -f "$SB_SPOOL"
  exit "$1"
}
trap 'sb_on_signal 143' TERM
trap 'sb_on_signal 130' INT

# sb_flat_json TEXT: whether TEXT is a JSON object of plain values, each key once: strings of
# printable ASCII without quotes or backslashes (so no escapes), numbers, true, false, null.
# The only JSON read as a whole here: ndjson.py's flat_object is the same rule for the tools,
# so the field sb_json_token finds is the one a tool reads.
sb_flat_json() {
  local LC_ALL=C space=$'[ \t\n\r]*' text='"[] !#-[^-~]*"' value pair
  value="($text|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|null)"
  pair="$space$text$space:$space$value$space"
  [[ "$1" =~ ^$space\{($pair(,$pair)*|$space)\}$space$ ]] || return 1
  # each key once (in such an object, a quoted text followed by a colon is a key)
  [[ -z "$(printf '%s' "$1" | tr '\n' ' ' | grep -oE '"[^"]*"[[:space:]]*:' |
    sed 's/[[:space:]]*:$//' | sort | uniq -d)" ]]
}

# sb_json_token TEXT KEY: KEY's value in the flat JSON object TEXT (sb_flat_json) as written: a
# string with its quotes, a number, true, false or null; nothing when KEY is absent.
sb_json_token() {
  local LC_ALL=C space=$'[ \t\n\r]*' pattern
  pattern="\"$2\"$space:$space(\"[^\"]*\"|[-+.0-9A-Za-z]+)"
  [[ "$1" =~ $pattern ]] && printf '%s' "${BASH_REMATCH[1]}"
  return 0
}

# sb_unquoted TOKEN: a string token's text, without its quotes; any other token as it is (a
# number, true, false or null: never a valid day, month or time).
sb_unquoted() {
  if [[ "$1" == \"*\" ]]; then printf '%s' "${1:1:${#1}-2}"; else printf '%s' "$1"; fi
}

# sb_json_get FILE KEY: a string, number, boolean or null field of a one-line JSON object
# written by these scripts ("" when absent).
sb_json_get() {
  sb_read "$1" | sb_json_field "$2"
}

# sb_json_field KEY: the same, from standard input.
sb_json_field() {
  sed -n -e "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" -e "t" \
    -e "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([^,}\"[:space:]]*\).*/\1/p" | head -n 1
}

# sb_read FILE [LIMIT]: a state file's bytes, read without following a symlink and without
# waiting on a FIFO (GNU dd's nofollow and nonblock): another writer may have planted either.
# Nothing when the file is missing, is not a regular file (a device, a folder), or is over
# LIMIT bytes (16 MiB by default; one that grows past it while it is read is cut there): what
# files.py's read_bytes refuses.
SB_READ_LIMIT=16777216
sb_read() {
  local limit="${2:-$SB_READ_LIMIT}" size
  [[ -f "$1" && ! -L "$1" ]] || return 0
  size="$(stat -c %s -- "$1" 2>/dev/null)" || return 0
  (( size <= limit )) || return 0
  dd if="$1" iflag=nofollow,nonblock,count_bytes bs=1M count="$limit" status=none 2>/dev/null ||
    true
}

# sb_carried_error PREVIOUS-TEXT: the last_error of sb-poll's previous state/poll_status.json,
# if each of its fields is what sb-poll writes (what --status shows: pollstatus.py's read_poll);
# else null.
sb_carried_error() {
  local LC_ALL=C at step message
  local fields='"last_error":\{"at":"([^"]*)","step":"([^"]*)","message":"([^"\\]*)"\}'
  [[ "$1" =~ $fields ]] || { echo null; return; }
  at="${BASH_REMATCH[1]}" step="${BASH_REMATCH[2]}" message="${BASH_REMATCH[3]}"
  if sb_valid_time "$at" && [[ "$step" =~ ^[a-z][a-z\ -]{0,39}$ && "$message" =~ ^[\ -~]{0,300}$ ]]; then
    printf '{"at":"%s","step":"%s","message":"%s"}' "$at" "$step" "$message"
  else
    echo null
  fi
}

# The poll cursor: state/poll_cursor.json of the cluster, read once (sb_cursor_load) and
# checked (sb_cursor_check), so what is checked is what is used. At most 64 KiB is read, as
# --status reads it (pollstatus.py); a NUL byte becomes ^A, which no check lets through.
sb_cursor_file() { sb_path poll_cursor; }

SB_CURSOR_TEXT=""
SB_CURSOR_LOADED=""
sb_cursor_load() {
  SB_CURSOR_TEXT="$(sb_read "$(sb_cursor_file)" 65536 | tr '\000' '\001')"
  SB_CURSOR_LOADED=1
}

# sb_cursor_get FIELD: a field of the cursor as loaded; "" when it is absent, null, or not what
# the pipelines write there. The cursor sits in a shared root and is read again after
# sb_cursor_check (after each step): a file swapped meanwhile can neither put its text in a
# report nor break the arithmetic on months.
sb_cursor_get() {
  local value
  [[ -n "$SB_CURSOR_LOADED" ]] || sb_cursor_load
  value="$(printf '%s\n' "$SB_CURSOR_TEXT" | sb_json_field "$1")"
  case "$1" in
    backfill_start) sb_valid_day "$value" || value="" ;;
    backfill_next) sb_valid_month "$value" || value="" ;;
    incremental_since) sb_valid_time "$value" || value="" ;;
    caught_up) [[ "$value" == true || "$value" == false ]] || value="" ;;
    *) value="" ;;
  esac
  printf '%s' "$value"
}

# sb_valid_time ISO-TIME: a real UTC instant written as these scripts write it, from 1970 to
# 2999 (the tools' range: times.py's parse_utc).
SB_YEAR='(19[7-9][0-9]|2[0-9]{3})'
sb_valid_time() {
  [[ "$1" =~ ^${SB_YEAR}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] &&
    [[ "$(date -u -d "${1%Z}" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)" == "$1" ]]
}

# sb_valid_day YYYY-MM-DD (a real day) and sb_valid_month YYYY-MM, from 1970 to 2999 (times.py's
# parse_day and parse_month)
sb_valid_day() {
  [[ "$1" =~ ^${SB_YEAR}-[0-9]{2}-[0-9]{2}$ ]] && [[ "$(date -u -d "$1" +%F 2>/dev/null)" == "$1" ]]
}
sb_valid_month() { [[ "$1" =~ ^${SB_YEAR}-[0-9]{2}$ ]] && sb_valid_day "$1-01"; }

# sb_cursor_check: the cursor, when there is one, holds what these scripts write; otherwise one
# line naming the file, the field and the remedy, and exit 1. Never a silent guess: a bad
# cursor could skip months or ask sacct for decades at once. --status checks it the same way
# (pollstatus.py's read_cursor; tests/unit/test_bash_parity.py feeds both the same cursors).
sb_cursor_check() {
  local file start next caught since now latest
  file="$(sb_cursor_file)"
  [[ -e "$file" || -L "$file" ]] || return 0
  [[ -f "$file" && -r "$file" && ! -L "$file" ]] ||
    sb_die "$file: not a readable regular file; remove it and poll with --backfill-start" 1
  sb_cursor_load
  if [[ "$SB_CURSOR_TEXT" == *$'\n'* ]] || ! sb_flat_json "$SB_CURSOR_TEXT"; then
    sb_die "$file: not the one-line JSON object the pipelines write (damaged or truncated); fix it, or remove the file and poll with --backfill-start (Bloom files keep anything from being counted twice)" 1
  fi
  start="$(sb_unquoted "$(sb_json_token "$SB_CURSOR_TEXT" backfill_start)")"
  next="$(sb_unquoted "$(sb_json_token "$SB_CURSOR_TEXT" backfill_next)")"
  caught="$(sb_json_token "$SB_CURSOR_TEXT" caught_up)"
  since="$(sb_json_token "$SB_CURSOR_TEXT" incremental_since)"
  now="$(sb_now)"
  latest="$(date -u -d "${now%Z} 62 days" +%Y-%m)"
  if ! sb_valid_day "$start" || [[ "$start" > "${now:0:10}" ]]; then
    sb_cursor_bad "$file" backfill_start "$start"
  fi
  if ! sb_valid_month "$next" || [[ "$next" < "${start:0:7}" || "$next" > "$latest" ]]; then
    sb_cursor_bad "$file" backfill_next "$next"
  fi
  [[ "$caught" == true || "$caught" == false ]] || sb_cursor_bad "$file" caught_up "$caught"
  # null (or absent) only while the backfill is not caught up
  if [[ -n "$since" && "$since" != null || "$caught" == true ]]; then
    since="$(sb_unquoted "$since")"
    if ! sb_valid_time "$since" || [[ "$since" < "${start}T00:00:00Z" ]]; then
      sb_cursor_bad "$file" incremental_since "$since"
    fi
  fi
}

sb_cursor_bad() {
  sb_die "$1: bad $2 $(printf '%q' "${3:0:80}"); fix it, or remove the file and poll with --backfill-start (Bloom files keep anything from being counted twice)" 1
}

# sb_cursor_write START NEXT CAUGHT_UP INCREMENTAL_SINCE
sb_cursor_write() {
  local since="null"
  [[ -n "$4" ]] && since="\"$4\""
  SB_CURSOR_TEXT="$(printf '{"cluster":"%s","backfill_start":"%s","backfill_next":"%s","caught_up":%s,"incremental_since":%s,"updated":"%s"}' \
    "$SB_CLUSTER" "$1" "$2" "$3" "$since" "$(sb_now)")"
  SB_CURSOR_LOADED=1
  printf '%s\n' "$SB_CURSOR_TEXT" | sb_write_atomic "$(sb_cursor_file)"
}

# sb_ingest SB-SACCT-ARGS... -- SB-REDUCE-ARGS...: one fetch through the whole store pipeline.
# The stats line of sb-reduce goes to stdout; any stage failing fails it (pipefail).
sb_ingest() {
  local sacct_args=() reduce_args=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do sacct_args+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  reduce_args=("$@")
  sb-sacct --root "$SB_ROOT" --cluster "$SB_CLUSTER" "${sacct_args[@]}" \
    | sb-parse --cluster "$SB_CLUSTER" --brief \
    | sb-dedupe --root "$SB_ROOT" --cluster "$SB_CLUSTER" --brief \
    | sb-reduce --root "$SB_ROOT" --cluster "$SB_CLUSTER" --quiet "${reduce_args[@]}"
}

# sb_replace SB-SACCT-ARGS... -- SB-REDUCE-ARGS...: a fetch whose records replace part of the
# store (--replace-month, --replace-users). sb-sacct's whole output is spooled first, so
# sb-reduce only ever sees a complete fetch: a sacct call failing half-way replaces nothing.
SB_SPOOL=""
sb_replace() {
  local sacct_args=() reduce_args=() status=0
  while [[ $# -gt 0 && "$1" != "--" ]]; do sacct_args+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  reduce_args=("$@")
  SB_SPOOL="$(mktemp "${TMPDIR:-/tmp}/sb-fetch.XXXXXX")"
  if sb-sacct --root "$SB_ROOT" --cluster "$SB_CLUSTER" "${sacct_args[@]}" > "$SB_SPOOL"; then
    sb-parse --cluster "$SB_CLUSTER" --brief < "$SB_SPOOL" \
      | sb-reduce --root "$SB_ROOT" --cluster "$SB_CLUSTER" --quiet "${reduce_args[@]}" || status=$?
  else
    status=1
  fi
  rm -f "$SB_SPOOL"
  SB_SPOOL=""
  return "$status"
}

# The checks every pipeline makes on its --cluster and --root: names, then whether this account
# may write the root (sb_require_writer).
sb_require_cluster_and_root() {
  [[ -n "${SB_CLUSTER:-}" ]] || sb_die "--cluster is required" 2
  [[ -n "${SB_ROOT:-}" ]] || sb_die "no root folder: pass --root or set \$SLURM_SB_ROOT" 2
  sb_check_name cluster "$SB_CLUSTER"
  export SLURM_SB_ROOT="$SB_ROOT"
  sb_require_writer
}

# sb_require_writer: the root exists and this account may write it, as config/sharing.json
# says (single-owner mode: its owner; group mode: the group's members); sets the umask and the
# lock files' mode for that mode (README, "Sharing a root"). Exit 1 with one line otherwise.
# The config is read as the tools read it (sharing.py's load: a flat JSON object of at most
# 64 KiB), so a pipeline and its tools never take a root for shared in two different ways.
SB_LOCK_UMASK=0177
sb_require_writer() {
  local config mode readers group gid owner text='{"mode":"owner"}'
  [[ -d "$SB_ROOT" ]] || sb_die "no scoreboard root at $SB_ROOT: create it with sb-probe --root $SB_ROOT" 1
  config="$(sb_path sharing_config)"
  if [[ -e "$config" || -L "$config" ]]; then
    [[ -f "$config" && ! -L "$config" ]] || sb_die "$config: not a regular file; refusing it" 1
    text="$(sb_read "$config" 65536 | tr '\000' '\001')"
    sb_flat_json "$text" ||
      sb_die "$config: not valid JSON (a flat object, as sb-probe writes it); run sb-probe --root $SB_ROOT again as the root's owner to rewrite it" 1
  fi
  mode="$(sb_json_token "$text" mode)"
  readers="$(sb_json_token "$text" readers)"
  [[ "$mode" =~ ^\"(owner|group)\"$ && "$readers" =~ ^(\"(all|group)\")?$ ]] ||
    sb_die "$config: expected {\"mode\": \"owner\"|\"group\", ...}; run sb-probe --root $SB_ROOT again as the root's owner" 1
  if [[ "$mode" == '"group"' ]]; then
    group="$(sb_json_token "$text" group)"
    gid="$(sb_group_id "$group")" ||
      sb_die "$config: group $(printf '%q' "$(sb_unquoted "$group")") is not a group here" 1
    group="$(sb_unquoted "$group")"
    if [[ $EUID -ne 0 ]] && ! id -G | tr ' ' '\n' | grep -qx "$gid"; then
      if id -G "$(id -un)" | tr ' ' '\n' | grep -qx "$gid"; then
        sb_die "$SB_ROOT is written by the members of group $group: $(id -un) is one, but this session started before joining; log in again, or run: newgrp $group" 1
      fi
      sb_die "$SB_ROOT is written by the members of group $group, and $(id -un) is not one (ask to be added: the writers trust each other's numbers)" 1
    fi
    if [[ "$readers" == '"group"' ]]; then umask 0007; else umask 0002; fi
    SB_LOCK_UMASK=0117
  else
    owner="$(stat -L -c %u "$SB_ROOT")"
    if [[ $EUID -ne 0 && "$EUID" != "$owner" ]]; then
      owner="$(id -nu "$owner" 2>/dev/null || echo "uid $owner")"
      sb_die "$SB_ROOT is written only by its owner $owner (single-owner mode); to share it, $owner runs: sb-probe --root $SB_ROOT --group GROUP" 1
    fi
    if [[ "$readers" == '"group"' ]]; then umask 0027; else umask 0022; fi
    SB_LOCK_UMASK=0177
  fi
}

# sb_group_id TOKEN: the id of the group a JSON string token names, by its name only (getent
# also takes a number, sharing.py's grp.getgrnam does not); fails when there is no such group.
sb_group_id() {
  local name entry
  [[ "$1" =~ ^\"(.+)\"$ ]] || return 1
  name="${BASH_REMATCH[1]}"
  entry="$(getent group -- "$name" 2>/dev/null)" && [[ "${entry%%:*}" == "$name" ]] || return 1
  entry="${entry#*:*:}"
  printf '%s' "${entry%%:*}"
}

# sb_safe_dir DIR: every folder from the root down to DIR is a real folder, created when
# missing; a symlink on the way is refused, never followed (another writer may have planted it).
sb_safe_dir() {
  local path part rest
  case "$1" in
    "$SB_ROOT") return 0 ;;
    "$SB_ROOT"/*) rest="${1#"$SB_ROOT"/}" ;;
    *) mkdir -p "$1"; return 0 ;;
  esac
  path="$SB_ROOT"
  local IFS=/
  for part in $rest; do
    path="$path/$part"
    [[ -L "$path" ]] && sb_die "$path: a symlink where a folder belongs; refusing to follow it" 1
    [[ -d "$path" ]] || mkdir "$path" 2>/dev/null || true
    [[ -d "$path" && ! -L "$path" ]] || sb_die "cannot create the folder $path" 1
  done
}

# sb_lock_file PATH: make PATH a lock file only the writers can open (a planted symlink is
# removed, not followed); then open it on a descriptor: sb_lock_file "$lock"; exec 9<"$lock".
sb_lock_file() {
  sb_safe_dir "$(dirname "$1")"
  [[ -L "$1" ]] && rm -f "$1"
  if [[ ! -e "$1" ]]; then
    (umask "$SB_LOCK_UMASK"; set -o noclobber; : > "$1") 2>/dev/null || true
  fi
  [[ -f "$1" && ! -L "$1" ]] || sb_die "$1: not a regular file; refusing it as a lock" 1
}

# sb_regular FILE: fails unless FILE is missing or a regular file (not a symlink, FIFO...), so
# reading it can neither follow a planted link nor hang.
sb_regular() {
  [[ ! -e "$1" && ! -L "$1" ]] || [[ -f "$1" && ! -L "$1" ]] ||
    sb_die "$1: not a regular file; refusing to read it (remove it)" 1
}

# sb_check_date YYYY-MM-DD
sb_check_date() {
  sb_valid_day "$1" || sb_die "bad date $(printf '%q' "$1"): use YYYY-MM-DD" 2
}

# sb_check_cluster_known: before a cluster's first poll, a name slurmdbd does not know is a
# usage error (a typo would otherwise poll nothing, forever, and look healthy). The rule is
# sb-probe --check-cluster's, the one sb-sacct and sb-probe apply: only a name sacctmgr's list
# does not hold is refused; a sacctmgr that is missing, fails or names none stops nothing.
sb_check_cluster_known() {
  local message code=0
  message="$(sb-probe --check-cluster "$SB_CLUSTER" 2>&1 >/dev/null)" || code=$?
  message="$(printf '%s' "${message#sb-probe: }" | sb_plain_text)"
  case "$code" in
    0) return 0 ;;
    5) sb_die "$message" 2 ;;
    *) sb_die "could not check the cluster name (sb-probe --check-cluster exited $code: $message)" 1 ;;
  esac
}

# sb_check_poll_option OPTION VALUE: the value of one of sb-poll's options (which sb-daemon
# passes on) is checked before anything runs, so a typo is a usage error (exit 2), never a
# cron job or daemon that fails every tick or moves a cursor on a bad value.
sb_check_poll_option() {
  local today
  case "$1" in
    --backfill-start|--history-start)
      today="$(sb_now)"
      sb_valid_day "$2" || sb_die "bad $1 $(printf '%q' "${2:0:40}"): use YYYY-MM-DD (a real day)" 2
      [[ ! "$2" > "${today:0:10}" ]] || sb_die "bad $1 $2: that day has not come yet" 2 ;;
    --chunk)
      [[ "$2" =~ ^(day|week|month)$ ]] || sb_die "bad --chunk $(printf '%q' "${2:0:40}"): day, week or month" 2 ;;
    --overlap)
      [[ "$2" =~ ^[0-9]{1,6}$ && "$2" -le 604800 ]] ||
        sb_die "bad --overlap $(printf '%q' "${2:0:40}"): seconds, at most 604800 (a week)" 2 ;;
    --max-users)
      [[ "$2" =~ ^[0-9]{1,3}$ && "$2" -ge 1 && "$2" -le 200 ]] ||
        sb_die "bad --max-users $(printf '%q' "${2:0:40}"): 1 to 200" 2 ;;
  esac
}

# Sibling pipelines first, then the tools wherever they were installed ($here: the sourcing
# pipeline's own folder).
# shellcheck disable=SC2154
export PATH="$here:$PATH"
