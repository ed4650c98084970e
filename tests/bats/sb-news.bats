#!/usr/bin/env bats
# sb-news (the achievements feed and its cursor) and sb-news-post (a chat webhook on loopback).
load test_helper

NOW=2025-08-31T12:00:00Z

setup_store() {
  records 50 | sb-reduce > /dev/null
  sb-rank --now "$NOW" > /dev/null
}

start_hook() {
  "$BATS_TEST_DIRNAME/webhook-server" "$SANDBOX/bodies" "$SANDBOX/port" "$SANDBOX/fail" &
  HOOK_PID=$!
  for _ in $(seq 100); do [ -f "$SANDBOX/port" ] && break; sleep 0.05; done
  HOOK="http://127.0.0.1:$(cat "$SANDBOX/port")/hook"
}

teardown() {
  [ -n "${HOOK_PID:-}" ] && kill "$HOOK_PID" 2>/dev/null || true
  rm -rf "$SANDBOX"
}

@test "--help names the cursor and the exit codes" {
  run sb-news --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--cursor"* && "$output" == *"3 another sb-news"* ]]
  run "$TOP/pipelines/sb-news-post" --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "Summary: "* ]]
}

@test "before any rebuild: exit 1 with the remedy; bad usage: exit 2" {
  run --separate-stderr sb-news
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"sb-rank --root"* ]]
  setup_store
  run sb-news --since 2025-13-01
  [ "$status" -eq 2 ]
  run sb-news --all --since 2025-08-01
  [ "$status" -eq 2 ]
  run sb-news --cursor ../x
  [ "$status" -eq 2 ]
}

@test "new events once per cursor; --all and --since leave the cursor alone" {
  setup_store
  run --separate-stderr sb-news
  [ "$status" -eq 0 ]
  first=${#lines[@]}
  [ "$first" -gt 5 ]
  [[ "${lines[0]}" == '{"day":"2025-08-'* ]]
  run --separate-stderr sb-news
  [ "$status" -eq 0 ] && [ "$output" = "" ]
  run --separate-stderr sb-news --cursor mail --format text
  [ "${#lines[@]}" -eq "$first" ]
  [[ "$output" == *"u0 took rank 1 in CPU-core hours"* ]]
  run --separate-stderr sb-news --all
  [ "${#lines[@]}" -eq "$first" ]
  run --separate-stderr sb-news --since 2025-08-28
  [ "${#lines[@]}" -lt "$first" ]
  run --separate-stderr sb-news --mark-seen --cursor fresh
  [ "$status" -eq 0 ] && [ "$output" = "" ]
  run --separate-stderr sb-news --cursor fresh
  [ "$output" = "" ]
}

@test "a damaged cursor is refused (exit 1), a busy one is exit 3, opted-out users vanish" {
  setup_store
  mkdir -p "$SLURM_SB_ROOT/state/news"
  echo garbage > "$SLURM_SB_ROOT/state/news/default.seen"
  run --separate-stderr sb-news
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"remove it"* ]]
  rm "$SLURM_SB_ROOT/state/news/default.seen"
  touch "$SLURM_SB_ROOT/state/news/default.lock"
  flock "$SLURM_SB_ROOT/state/news/default.lock" sleep 5 &
  sleep 0.3
  run sb-news
  [ "$status" -eq 3 ]
  wait
  mkdir -p "$SLURM_SB_ROOT/config"
  echo u0 > "$SLURM_SB_ROOT/config/optout.txt"
  run --separate-stderr sb-news --all
  [ "$status" -eq 0 ]
  [[ "$output" != *'"u0"'* && "$output" == *'"u1"'* ]]
}

@test "| head ends it quietly" {
  setup_store
  run --separate-stderr bash -c "set -o pipefail; sb-news --all | head -1"
  [ "$status" -eq 0 ] && [ "$stderr" = "" ] && [ "${#lines[@]}" -eq 1 ]
}

@test "sb-news-post posts every new event once, keeps them while the webhook fails" {
  setup_store
  start_hook
  export PATH="$TOP/pipelines:$PATH"
  expected="$(sb-news --all --format text | wc -l)"
  echo 500 > "$SANDBOX/fail"
  run --separate-stderr sb-news-post --url "$HOOK"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"stay in"* ]]
  [ "$(wc -l < "$SLURM_SB_ROOT/state/news/chat.outbox")" -eq "$expected" ]
  rm "$SANDBOX/fail"
  run --separate-stderr sb-news-post --url "$HOOK"
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$SANDBOX/bodies")" -eq "$expected" ]
  [ ! -s "$SLURM_SB_ROOT/state/news/chat.outbox" ]
  python3 -c "
import json, sys
texts = [json.loads(line)['text'] for line in open('$SANDBOX/bodies')]
assert len(set(texts)) == len(texts), 'an event was posted twice'
assert any('u0 took rank 1' in t for t in texts)
"
  run --separate-stderr sb-news-post --url "$HOOK"
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$SANDBOX/bodies")" -eq "$expected" ]
}

@test "sb-news-post: no webhook, a bad timeout or cursor is exit 2" {
  setup_store
  run "$TOP/pipelines/sb-news-post"
  [ "$status" -eq 2 ]
  run "$TOP/pipelines/sb-news-post" --url "ftp://x"
  [ "$status" -eq 2 ]
  run "$TOP/pipelines/sb-news-post" --url "http://127.0.0.1:9/" --timeout 0
  [ "$status" -eq 2 ]
  run "$TOP/pipelines/sb-news-post" --url "http://127.0.0.1:9/" --cursor "../x"
  [ "$status" -eq 2 ]
}

@test "sb-news-post keeps the URL off curl's command line and drops what the webhook refuses for good" {
  setup_store
  start_hook
  real_curl="$(command -v curl)"
  stub curl "printf '%s\n' \"\$@\" >> '$SANDBOX/curl-args'; exec '$real_curl' \"\$@\""
  export PATH="$STUBS:$TOP/pipelines:$PATH"
  echo 400 > "$SANDBOX/fail"
  SLURM_SB_WEBHOOK_URL="$HOOK?token=SECRET42" run --separate-stderr sb-news-post
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"refused by the webhook"* ]]
  [ ! -s "$SLURM_SB_ROOT/state/news/chat.outbox" ]
  [ -s "$SANDBOX/curl-args" ]
  run grep -c SECRET42 "$SANDBOX/curl-args"
  [ "$output" = "0" ]
}

@test "sb-news-post: a gone webhook (404) keeps every event; at most --max-events a run; chat markup escaped" {
  setup_store
  start_hook
  export PATH="$TOP/pipelines:$PATH"
  echo '{"id":"x","day":"2025-08-30","scope":"all","kind":"groups","account":"<!channel> & co","event":"first_job"}' \
    >> "$SLURM_SB_ROOT/leaderboards/achievements.ndjson"
  expected="$(sb-news --all --format text | wc -l)"
  echo 404 > "$SANDBOX/fail"
  run --separate-stderr sb-news-post --url "$HOOK"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"HTTP 404"* ]]
  [ "$(wc -l < "$SLURM_SB_ROOT/state/news/chat.outbox")" -eq "$expected" ]
  rm "$SANDBOX/fail"
  run --separate-stderr sb-news-post --url "$HOOK" --max-events 5
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$SANDBOX/bodies")" -eq 5 ]
  [ "$(wc -l < "$SLURM_SB_ROOT/state/news/chat.outbox")" -eq $((expected - 5)) ]
  run --separate-stderr sb-news-post --url "$HOOK" --max-events 100000
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$SANDBOX/bodies")" -eq "$expected" ]
  grep -q 'group &lt;!channel&gt; &amp; co ran a first job' "$SANDBOX/bodies"
  ! grep -q '<!channel>' "$SANDBOX/bodies"
}

@test "--outbox takes what fits in 8 MiB and leaves the rest new for the next run" {
  setup_store
  mkdir -p "$SLURM_SB_ROOT/state/news"
  outbox="$SLURM_SB_ROOT/state/news/chat.outbox"
  all="$(sb-news --all --format text | wc -l)"
  # an outbox three lines short of full of events waiting: a webhook that has been down a long
  # time (each line as sb-news writes it, so it is kept as it is)
  python3 - "$outbox" <<'PY'
import sys, orjson
from slurm_scoreboard.history.feed import text_of
event = {"id": "fill", "day": "2025-01-01", "scope": "all", "kind": "users",
         "event": "first_job", "user": "filler", "jobs": 1}
line = orjson.dumps(event) + b"\t" + text_of(event) + b"\n"
open(sys.argv[1], "wb").write(line * (8 * 1024 * 1024 // len(line) - 3))
PY
  before="$(wc -l < "$outbox")"
  run --separate-stderr sb-news --cursor chat --format text --outbox "$outbox"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"the rest wait for the next run"* ]]
  taken=$(( $(wc -l < "$outbox") - before ))
  [ "$taken" -lt "$all" ]
  [ "$(stat -c %s "$outbox")" -le $((8 * 1024 * 1024)) ]
  : > "$outbox"        # the webhook took them all
  run --separate-stderr sb-news --cursor chat --format text --outbox "$outbox"
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$outbox")" -eq $((all - taken)) ]
}

@test "sb-news-post never posts the events of a user who opted out while they waited" {
  setup_store
  start_hook
  export PATH="$TOP/pipelines:$PATH"
  echo 503 > "$SANDBOX/fail"
  run --separate-stderr sb-news-post --url "$HOOK"
  [ "$status" -eq 1 ]
  outbox="$SLURM_SB_ROOT/state/news/chat.outbox"
  grep -q $'\t.*: u0 ' "$outbox"
  grep -q ' from u0 ' "$outbox"
  mkdir -p "$SLURM_SB_ROOT/config"
  echo u0 >> "$SLURM_SB_ROOT/config/optout.txt"
  expected="$(sb-news --all --format text | wc -l)"
  rm "$SANDBOX/fail"
  run --separate-stderr sb-news-post --url "$HOOK" --max-events 100000
  [ "$status" -eq 0 ]
  [ ! -s "$outbox" ]
  [ "$(wc -l < "$SANDBOX/bodies")" -eq "$expected" ]
  ! grep -q u0 "$SANDBOX/bodies"
  python3 -c "
import json
texts = [json.loads(line)['text'] for line in open('$SANDBOX/bodies')]
assert all('\t' not in t and not t.startswith('{') for t in texts), texts[:3]
"
}

@test "sb-news-post takes each posted line out of the outbox under the cursor's lock, as sb-news adds to it" {
  setup_store
  start_hook
  lock="$SLURM_SB_ROOT/state/news/chat.lock"
  real_tail="$(command -v tail)"
  # tail is what drops the posted line: it notes whether the cursor's lock is held meanwhile
  stub tail "if flock -n '$lock' true; then echo free >> '$SANDBOX/lock-seen'; else echo held >> '$SANDBOX/lock-seen'; fi; exec '$real_tail' \"\$@\""
  export PATH="$STUBS:$TOP/pipelines:$PATH"
  run --separate-stderr sb-news-post --url "$HOOK" --max-events 3
  [ "$status" -eq 0 ]
  [ "$(sort -u "$SANDBOX/lock-seen")" = "held" ]
  [ "$(wc -l < "$SANDBOX/bodies")" -eq 3 ]
}

@test "a line planted in the outbox is never posted: no event, no post; an event's text is made again from it" {
  setup_store
  start_hook
  export PATH="$TOP/pipelines:$PATH"
  sb-news --cursor chat --mark-seen 2> /dev/null
  outbox="$SLURM_SB_ROOT/state/news/chat.outbox"
  mkdir -p "$SLURM_SB_ROOT/state/news"
  printf 'not-json\tFAKE: \033]0;pwned\007\033[2J SUSPENDED\n{"id":"x"}\tforged: run rm -rf ~\n' > "$outbox"
  printf '{"id":"e1","day":"2025-01-02","scope":"all","kind":"users","event":"first_job","user":"u1","jobs":1}\tforged text\n' >> "$outbox"
  run --separate-stderr sb-news-post --url "$HOOK"
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$SANDBOX/bodies")" -eq 1 ]
  grep -q 'u1' "$SANDBOX/bodies"
  ! grep -q 'forged\|FAKE\|SUSPENDED' "$SANDBOX/bodies"
  [[ "$stderr" != *$'\033'* ]]
}

@test "sb-news-post logs and posts no control character, even from a line planted after sb-news ran" {
  setup_store
  start_hook
  echo 400 > "$SANDBOX/fail"
  sb-news --cursor chat --mark-seen 2> /dev/null
  outbox="$SLURM_SB_ROOT/state/news/chat.outbox"
  # another writer of the root appends to the outbox right after sb-news filtered it
  mkdir -p "$SANDBOX/bin"
  real="$(command -v sb-news)"
  printf '#!/bin/sh\n"%s" "$@" || exit $?\nprintf "x\\tplanted \\033]0;t\\007\\033[2J \\302\\233m end\\n" >> "%s"\n' \
    "$real" "$outbox" > "$SANDBOX/bin/sb-news"
  chmod +x "$SANDBOX/bin/sb-news"
  PATH="$SANDBOX/bin:$TOP/pipelines:$PATH" run --separate-stderr sb-news-post --url "$HOOK"
  [[ "$stderr" == *"dropped: planted"*"end"* ]]
  [[ "$stderr" != *$'\033'* ]]
  [[ "$stderr" != *$'\302\233'* ]]
  ! grep -q $'\033' "$SANDBOX/bodies"
}
