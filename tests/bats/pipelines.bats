#!/usr/bin/env bats
# The pipelines' contract with a stand-in sacct (fake-sacct); tests/integration runs them on the
# real cluster.
load test_helper

setup_fake() {
  mkdir -p "$STUBS"
  cp "$BATS_TEST_DIRNAME/fake-sacct" "$STUBS/sacct"
  stub sacctmgr 'printf "fake\nother\n"'
  export PATH="$STUBS:$TOP/pipelines:$PATH"
  export FAKE_SACCT_JOBS="$SANDBOX/jobs.txt" FAKE_SACCT_LOG="$SANDBOX/sacct.log"
  export SLURM_SB_NOW=2025-06-15T12:00:00Z SLURM_SB_SACCT_PER_MIN=1000
  # 8 users, jobs ending from 2025-01 to 2025-06 (some after "now"), 2 CPUs each.
  python3 -c "
for i in range(240):
    month, day = 1 + i % 6, 1 + i % 27
    end = f'2025-{month:02d}-{day:02d}T10:00:00'
    print(f'{7000+i}|{7000+i}|fake|u{i % 8}|acct{i % 2}|COMPLETED|{60 + i}|2|1|1G|cpu=2,mem=1G,node=1|2024-12-01T00:00:00|{end}|{end}||')
" > "$FAKE_SACCT_JOBS"
}

# jobs (and CPU seconds) of the fake jobs that ended before 2025-06-15T12:00:00 (and at or
# after $1, when given)
truth() {
  python3 -c "
import sys
n = cpu = 0
for line in open('$FAKE_SACCT_JOBS'):
    f = line.split('|')
    if '${1:-}' <= f[13] < '2025-06-15T12:00:00':
        n += 1; cpu += int(f[6]) * 2
print(n, cpu)"
}

# jobs and CPU seconds in the store, from the all-time index
stored() {
  python3 -c "
import json
d = json.load(open('$SLURM_SB_ROOT/clusters/fake/agg/alltime.json'))
print(sum(u['totals'][5] for u in d['users']), sum(u['totals'][0] for u in d['users']))"
}

store_digest() {
  (cd "$SLURM_SB_ROOT" && find . -type f ! -name '*.lock' ! -name 'sacct_rate.json' ! -name 'poll_status.json' -exec md5sum {} + | sort)
}

@test "every pipeline has --help and rejects bad usage with exit 2" {
  for tool in sb-backfill sb-incremental sb-discover sb-rebuild sb-poll sb-daemon sb-news-post; do
    run "$TOP/pipelines/$tool" --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Summary: "* ]]
    run "$TOP/pipelines/$tool" --bogus
    [ "$status" -eq 2 ]
  done
  run "$TOP/pipelines/sb-poll" --root "$SLURM_SB_ROOT"
  [ "$status" -eq 2 ]
  run "$TOP/pipelines/sb-poll" --cluster '../etc' --root "$SLURM_SB_ROOT"
  [ "$status" -eq 2 ]
}

@test "backfill: one month per poll, then caught up; totals exact" {
  setup_fake
  for i in 1 2 3 4 5; do
    run sb-poll --cluster fake --backfill-start 2025-01-01
    [ "$status" -eq 0 ]
  done
  grep -q '"backfill_next":"2025-06","caught_up":true,"incremental_since":"2025-06-15T12:00:00Z"' \
    "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  run sb-backfill --cluster fake
  [ "$status" -eq 0 ]
  [[ "$output" == *"caught up"* ]]
  run sb-poll --cluster fake
  [ "$status" -eq 0 ]
  [ "$(stored)" = "$(truth)" ]
  [ -f "$SLURM_SB_ROOT/leaderboards/alltime_jobs.json" ]
  run sb-poll --cluster fake
  [ "$(stored)" = "$(truth)" ]
}

@test "a day without polls is swept at the next one (up to a week back)" {
  setup_fake
  sb-backfill --cluster fake --backfill-start 2025-06-01 2>/dev/null
  SLURM_SB_NOW=2025-06-15T11:50:00Z sb-incremental --cluster fake 2>/dev/null
  : > "$FAKE_SACCT_LOG"
  # no poll on the 16th nor the 17th: the poll of the 18th sweeps the 14th to the 16th
  SLURM_SB_NOW=2025-06-18T00:10:00Z run --separate-stderr sb-incremental --cluster fake
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"daily sweep of 2025-06-14 to 2025-06-16"* ]]
  for day in 14 15 16; do
    grep -q -- "-S 2025-06-${day}T00:00:00 -E 2025-06-${day}T23:59:59" "$FAKE_SACCT_LOG"
  done
  grep -q '"through":"2025-06-16"' "$SLURM_SB_ROOT/clusters/fake/state/sweep.json"
  # a month without polls: a week is swept, not the month
  : > "$FAKE_SACCT_LOG"
  SLURM_SB_NOW=2025-07-20T00:10:00Z run --separate-stderr sb-incremental --cluster fake
  [[ "$stderr" == *"daily sweep of 2025-07-12 to 2025-07-18"* ]]
}

@test "incremental asks only for the window since the cursor, minus the overlap" {
  setup_fake
  sb-backfill --cluster fake --backfill-start 2025-06-01 2>/dev/null
  : > "$FAKE_SACCT_LOG"
  run sb-incremental --cluster fake --overlap 7200
  [ "$status" -eq 0 ]
  # longer than a day: one call per ISO week, then the daily sweep of the day before yesterday
  [ "$(wc -l < "$FAKE_SACCT_LOG")" -eq 4 ]
  # nothing before the backfill start, overlap or not
  [[ "$(sed -n 1p "$FAKE_SACCT_LOG")" == *"-S 2025-06-01T00:00:00 -E 2025-06-01T23:59:59"* ]]
  [[ "$(sed -n 3p "$FAKE_SACCT_LOG")" == *"-S 2025-06-09T00:00:00 -E 2025-06-15T11:59:59"* ]]
  [[ "$(sed -n 4p "$FAKE_SACCT_LOG")" == *"-S 2025-06-13T00:00:00 -E 2025-06-13T23:59:59"* ]]
  SLURM_SB_NOW=2025-06-15T13:00:00Z run sb-incremental --cluster fake --overlap 7200
  [[ "$(tail -1 "$FAKE_SACCT_LOG")" == *"-S 2025-06-15T10:00:00 -E 2025-06-15T12:59:59"* ]]
}

@test "a failing sacct leaves the cursor and the store untouched" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1
  before="$(store_digest)"
  FAKE_SACCT_FAIL=1 run sb-poll --cluster fake
  [ "$status" -eq 1 ]
  [ "$(store_digest)" = "$before" ]
}

@test "a hanging sacct is killed by the timeout; cursor and store untouched" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1
  before="$(store_digest)"
  SLURM_SB_SACCT_TIMEOUT=1 FAKE_SACCT_HANG=1 run sb-poll --cluster fake
  [ "$status" -eq 1 ]
  [[ "$output" == *"did not finish within 1 s"* ]]
  [ "$(store_digest)" = "$before" ]
}

@test "two simultaneous polls: the second exits 3" {
  setup_fake
  mkdir -p "$SLURM_SB_ROOT/clusters/fake/state"
  exec 9>>"$SLURM_SB_ROOT/clusters/fake/state/poll.lock"
  flock 9
  run sb-poll --cluster fake --backfill-start 2025-01-01
  exec 9>&-
  [ "$status" -eq 3 ]
  [[ "$output" == *"another poll of cluster fake is running"* ]]
  [ ! -f "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json" ]
}

@test "a poll killed mid-way resumes and the totals stay exact" {
  setup_fake
  mkdir "$BATS_TEST_TMPDIR/tmp"
  TMPDIR="$BATS_TEST_TMPDIR/tmp" FAKE_SACCT_HANG=1 setsid sb-poll --cluster fake \
    --backfill-start 2025-01-01 > /dev/null 2>&1 &
  pid=$!
  sleep 2
  pkill -KILL -s "$pid"          # the poll, its watchdog and its whole pipeline: a power cut
  wait "$pid" || true
  # what the killed poll left in the temp folder, a later poll sweeps once a day passed without
  # a step writing it; another account's files, and other names, it leaves alone
  [ -n "$(find "$BATS_TEST_TMPDIR/tmp" -name 'sb-poll-out.*')" ]
  touch "$BATS_TEST_TMPDIR/tmp/sb-poll-out.keepme" "$BATS_TEST_TMPDIR/tmp/other.old"
  touch -d '2 days ago' "$BATS_TEST_TMPDIR"/tmp/*
  touch "$BATS_TEST_TMPDIR/tmp/sb-poll-out.keepme"
  for i in 1 2 3 4 5 6; do TMPDIR="$BATS_TEST_TMPDIR/tmp" sb-poll --cluster fake > /dev/null 2>&1; done
  [ "$(ls "$BATS_TEST_TMPDIR/tmp")" = "$(printf 'other.old\nsb-poll-out.keepme')" ]
  [ "$(stored)" = "$(truth)" ]
}

@test "the daemon's heartbeat advances and SIGTERM stops it cleanly" {
  setup_fake
  sb-daemon --cluster fake --backfill-start 2025-01-01 --interval 1 --jitter 0 2>/dev/null &
  pid=$!
  beat="$SLURM_SB_ROOT/clusters/fake/state/daemon_heartbeat.json"
  for _ in $(seq 100); do
    grep -q '"last_result":"ok"' "$beat" 2>/dev/null && grep -q '"caught_up":true' \
      "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json" 2>/dev/null && break
    sleep 0.2
  done
  grep -q "\"pid\":$pid" "$beat"
  grep -q '"next_run":"' "$beat"
  run sb-daemon --cluster fake --interval 1
  [ "$status" -eq 3 ]
  kill -TERM "$pid"
  wait "$pid"
  grep -q '"last_result":"stopped"' "$beat"
  leftovers="$(find "$SLURM_SB_ROOT" -name '.tmp-*' -o -name '*.sbtx')"
  echo "leftovers: $leftovers"
  [ -z "$leftovers" ]
  run sb-poll --cluster fake
  [ "$status" -eq 0 ]
  [ "$(stored)" = "$(truth)" ]
}

@test "discovery fetches new users' history back to the backfill start, once; --history-start reaches further" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-03-01 > /dev/null 2>&1
  # March's jobs are those of u0, u2, u4 and u6; the current month's (June, fetched in the
  # same poll) those of u1, u3, u5 and u7
  [ "$(cat "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt" | tr '\n' ' ')" = "u0 u1 u2 u3 u4 u5 u6 u7 " ]
  # the eight new users in one sacct call, not eight, from the backfill start the site chose
  [ "$(grep -c -- ' -u ' "$FAKE_SACCT_LOG")" -eq 1 ]
  grep -q -- "-u u0,u1,u2,u3,u4,u5,u6,u7" "$FAKE_SACCT_LOG"
  grep -- ' -u ' "$FAKE_SACCT_LOG" | grep -q -- "-S 2025-03-01T00:00:00 -E 2025-06-15T11:59:59"
  sb-poll --cluster fake > /dev/null 2>&1
  [ "$(wc -l < "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt")" -eq 8 ]
  calls="$(grep -c -- ' -u ' "$FAKE_SACCT_LOG")"
  for i in 1 2 3 4; do sb-poll --cluster fake > /dev/null 2>&1; done
  [ "$(grep -c -- ' -u ' "$FAKE_SACCT_LOG")" -eq "$calls" ]
  # everyone's boards start at the backfill start: nothing from January or February
  [ "$(stored)" = "$(truth 2025-03-01)" ]
  [ "$(stored)" != "$(truth)" ]
  # --history-start fetches further back (and a day after the backfill start is not taken:
  # the fetch replaces the users' store, so it would drop what was counted before it)
  export SLURM_SB_ROOT="$SANDBOX/root2"
  mkdir -p "$SLURM_SB_ROOT"
  : > "$FAKE_SACCT_LOG"
  sb-poll --cluster fake --backfill-start 2025-03-01 --history-start 2025-05-01 > /dev/null 2>&1
  grep -- ' -u ' "$FAKE_SACCT_LOG" | grep -q -- "-S 2025-03-01T00:00:00"
  rm -rf "$SLURM_SB_ROOT/clusters"
  : > "$FAKE_SACCT_LOG"
  for i in 1 2 3 4 5; do
    sb-poll --cluster fake --backfill-start 2025-03-01 --history-start 2024-06-01 > /dev/null 2>&1
  done
  grep -- ' -u ' "$FAKE_SACCT_LOG" | grep -q -- "-S 2024-06-01T00:00:00"
  [ "$(stored)" = "$(truth)" ]
}

@test "a record that reaches slurmdbd late, after the cursor passed its end, is counted once" {
  setup_fake
  sb-backfill --cluster fake --backfill-start 2025-06-01 2>/dev/null
  SLURM_SB_NOW=2025-06-15T11:50:00Z sb-incremental --cluster fake 2>/dev/null
  # Job 9999 ended at 11:30, before the cursor (11:50), but sacct only shows it now.
  echo '9999|9999|fake|late|acct0|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-15T11:00:00|2025-06-15T11:21:40|2025-06-15T11:30:00||' \
    >> "$FAKE_SACCT_JOBS"
  SLURM_SB_NOW=2025-06-15T12:00:00Z run sb-incremental --cluster fake --overlap 3600
  [ "$status" -eq 0 ]
  [ "$(stored)" = "$(truth 2025-06-01)" ]
  grep -q '"username":"late"' "$SLURM_SB_ROOT/clusters/fake/agg/alltime.json"
  SLURM_SB_NOW=2025-06-15T12:10:00Z run sb-incremental --cluster fake --overlap 3600
  [ "$(stored)" = "$(truth 2025-06-01)" ]
}

@test "with the short default overlap, a record up to a day late is counted by the daily sweep, once" {
  setup_fake
  sb-backfill --cluster fake --backfill-start 2025-06-01 2>/dev/null
  SLURM_SB_NOW=2025-06-15T11:50:00Z sb-incremental --cluster fake 2>/dev/null
  # ended 11:30, reaches slurmdbd at 12:00 (after the 5-minute overlap had passed it) ...
  echo '9999|9999|fake|late|acct0|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-15T11:00:00|2025-06-15T11:21:40|2025-06-15T11:30:00||' \
    >> "$FAKE_SACCT_JOBS"
  : > "$FAKE_SACCT_LOG"
  for now in 2025-06-15T12:00:00Z 2025-06-15T12:10:00Z 2025-06-16T00:10:00Z; do
    SLURM_SB_NOW="$now" sb-incremental --cluster fake > /dev/null 2>&1
  done
  # ... so the 10-minute polls miss it: they asked for their 10 minutes plus 5 of overlap, and
  # once a day for the day before yesterday (the 13th was swept at 11:50, the 14th on the 16th)
  ! grep -q '"username":"late"' "$SLURM_SB_ROOT/clusters/fake/agg/alltime.json"
  grep -q -- "-S 2025-06-15T11:45:00 -E 2025-06-15T11:59:59" "$FAKE_SACCT_LOG"
  grep -q -- "-S 2025-06-15T11:55:00 -E 2025-06-15T12:09:59" "$FAKE_SACCT_LOG"
  grep -q -- "-S 2025-06-14T00:00:00 -E 2025-06-14T23:59:59" "$FAKE_SACCT_LOG"
  [ "$(grep -c -- '-S 2025-06-1[34]T00:00:00' "$FAKE_SACCT_LOG")" -eq 1 ]
  # the sweep of the 15th, on the 17th, counts it
  SLURM_SB_NOW=2025-06-17T00:10:00Z run --separate-stderr sb-incremental --cluster fake
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"daily sweep of 2025-06-15"* ]]
  grep -q '"username":"late"' "$SLURM_SB_ROOT/clusters/fake/agg/alltime.json"
  SLURM_SB_NOW=2025-06-17T00:20:00Z run sb-incremental --cluster fake
  [ "$(grep -c 'daily sweep' <<< "$output")" -eq 0 ]
  # a "through" far ahead (a clock that was ahead, a planted file) never switches it off
  printf '{"through":"2999-01-01"}\n' > "$SLURM_SB_ROOT/clusters/fake/state/sweep.json"
  SLURM_SB_NOW=2025-06-17T00:30:00Z run --separate-stderr sb-incremental --cluster fake
  [[ "$stderr" == *"daily sweep of 2025-06-15"* ]]
  grep -q '"through":"2025-06-15"' "$SLURM_SB_ROOT/clusters/fake/state/sweep.json"
  python3 -c "
import json
users = {u['username']: u['totals'] for u in json.load(open('$SLURM_SB_ROOT/clusters/fake/agg/alltime.json'))['users']}
assert users['late'][5] == 1 and users['late'][0] == 1000, users['late']"
}

index_asof() {
  sed -n 's/.*"asof": *"\([^"]*\)".*/\1/p' "$SLURM_SB_ROOT/leaderboards/index.json" | head -1
}

@test "a departed user never blocks a poll; they are retried with backoff and logged once" {
  setup_fake
  export FAKE_SACCT_GONE=u2
  for hour in 12 13 14; do
    SLURM_SB_NOW="2025-06-15T$hour:00:00Z" run --separate-stderr sb-poll --cluster fake --backfill-start 2025-03-01
    [ "$status" -eq 0 ]
    # the boards step ran: rebuilt the first time, then nothing they show changed
    [[ "$output" == *"fake: boards: rebuilt"* || "$output" == *"fake: boards: not rebuilt: nothing they show changed"* ]]
    echo "$stderr" >> "$SANDBOX/poll.log"
  done
  [ "$(grep -c 'u2: sacct does not know this user' "$SANDBOX/poll.log")" -eq 1 ]
  grep -q '^u2	' "$SLURM_SB_ROOT/clusters/fake/state/discovery_deferred.tsv"
  ! grep -qx u2 "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt"
  grep -qx u0 "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt"
  grep -q '"user":"u2"' "$SLURM_SB_ROOT/leaderboards/alltime_jobs.json"
  # backoff: an hour after the first failure (13:00 asks again), then two (14:00 does not)
  [ "$(grep -c 'u2.*invalid user' "$FAKE_SACCT_LOG")" -eq 2 ]
}

@test "the rebuild runs after a failed step; the poll still exits 1" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-06-01 > /dev/null 2>&1
  # a new UTC day moves the rolling windows: the rebuild after the failed fetch must run
  FAKE_SACCT_FAIL=1 SLURM_SB_NOW=2025-06-16T13:00:00Z run --separate-stderr sb-poll --cluster fake
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"poll failed in sb-incremental"* ]]
  [[ "$stderr" == *"discovery skipped"* ]]
  [ "$(index_asof)" = "2025-06-16T13:00:00Z" ]
}

@test "a clock that jumps ten days ahead and back loses and double counts nothing" {
  setup_fake
  export FAKE_SACCT_NOW=2025-06-15T12:00:00
  sb-poll --cluster fake --backfill-start 2025-06-01 > /dev/null 2>&1
  SLURM_SB_NOW=2025-06-15T12:00:00Z sb-poll --cluster fake > /dev/null 2>&1
  # one poll with the clock ten days ahead: the cursor lands in the future
  SLURM_SB_NOW=2025-06-25T12:10:00Z sb-poll --cluster fake > /dev/null 2>&1
  grep -q '"incremental_since":"2025-06-25T12:10:00Z"' "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  # the clock is right again; jobs go on ending (every fake job ends at 10:00 of its day)
  for day in 16 17 18 19 20; do
    export FAKE_SACCT_NOW="2025-06-${day}T12:00:00"
    SLURM_SB_NOW="2025-06-${day}T12:00:00Z" run --separate-stderr sb-poll --cluster fake
    [ "$status" -eq 0 ]
  done
  # every job since the backfill start (discovery reaches no further back)
  expected="$(python3 -c "
jobs = [line.split('|') for line in open('$FAKE_SACCT_JOBS')]
mine = [f for f in jobs if '2025-06-01' <= f[13] <= '2025-06-20T12:00:00']
print(len(mine), sum(int(f[6]) * 2 for f in mine))")"
  [ "$(stored)" = "$expected" ]
}

@test "a cursor that is not what the pipelines write is refused with the file and the remedy" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-06-01 > /dev/null 2>&1
  cursor="$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  good="$(cat "$cursor")"
  for change in 's/"incremental_since":"[^"]*"/"incremental_since":"garbage"/' \
                's/"incremental_since":"[^"]*"/"incremental_since":"1970-01-01T00:00:00Z"/' \
                's/"backfill_next":"[^"]*"/"backfill_next":"garbage"/' \
                's/"backfill_next":"[^"]*"/"backfill_next":"1900-01"/' \
                's/"backfill_next":"[^"]*"/"backfill_next":"2099-01"/' \
                's/"caught_up":true/"caught_up":"yes"/' \
                's/"backfill_start":"[^"]*"/"backfill_start":"2025-13-01"/' \
                's/"backfill_start":"[^"]*"/"backfill_start":"2030-01-01"/'; do
    printf '%s\n' "$good" | sed "$change" > "$cursor"
    : > "$FAKE_SACCT_LOG"
    for tool in sb-poll sb-incremental sb-backfill; do
      run --separate-stderr "$tool" --cluster fake
      [ "$status" -eq 1 ]
      [[ "$stderr" == *"poll_cursor.json: bad "*"remove the file"* ]]
    done
    [ ! -s "$FAKE_SACCT_LOG" ]
  done
  for damaged in 'garbage' '' '{"cluster":"fake","backfill_start":"2025-06-01","backfill_n'; do
    printf '%s\n' "$damaged" > "$cursor"
    run --separate-stderr sb-incremental --cluster fake
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"not the one-line JSON object the pipelines write"* ]]
  done
  run sb-incremental --cluster fake --overlap 3000000
  [ "$status" -eq 2 ]
}

@test "after a long outage the incremental window is fetched in chunks, 31 days a poll" {
  setup_fake
  sb-backfill --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1
  cursor="$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  printf '{"cluster":"fake","backfill_start":"2025-01-01","backfill_next":"2025-01","caught_up":true,"incremental_since":"2025-01-01T00:00:00Z","updated":"x"}\n' > "$cursor"
  : > "$FAKE_SACCT_LOG"
  run sb-incremental --cluster fake --overlap 0
  [ "$status" -eq 0 ]
  grep -q '"incremental_since":"2025-02-01T00:00:00Z"' "$cursor"
  # January in ISO weeks: never one call for the whole gap (and the daily sweep)
  [ "$(grep -vc -- '-S 2025-06-13T00:00:00 -E 2025-06-13T23:59:59' "$FAKE_SACCT_LOG")" -eq 5 ]
  for i in 1 2 3 4 5 6; do sb-incremental --cluster fake --overlap 0 > /dev/null 2>&1; done
  [ "$(stored)" = "$(truth)" ]
  grep -q '"incremental_since":"2025-06-15T12:00:00Z"' "$cursor"
}

@test "a write that fails (disk full) leaves no temporary file behind" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-06-01 > /dev/null 2>&1
  stub sync 'echo "sync: error syncing: No space left on device" >&2; exit 1'
  run --separate-stderr sb-incremental --cluster fake
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"could not write"*"poll_cursor.json"* ]]
  [ -z "$(find "$SLURM_SB_ROOT" -name '.tmp-*')" ]
}

@test "--redo-month replaces a damaged month; the totals are exact, not doubled" {
  setup_fake
  for i in 1 2 3 4 5 6; do sb-poll --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1; done
  [ "$(stored)" = "$(truth)" ]
  printf '{"broken' > "$SLURM_SB_ROOT/clusters/fake/agg/rollups/monthly/2025-03.json"
  rm "$SLURM_SB_ROOT/clusters/fake/state/seen/2025-03.bloom"
  run --separate-stderr sb-rebuild
  [ "$status" -eq 4 ]
  [[ "$stderr" == *"2025-03.json"*"sb-backfill --redo-month 2025-03"* ]]
  run sb-backfill --cluster fake --redo-month 2025-03
  [ "$status" -eq 0 ]
  [ "$(stored)" = "$(truth)" ]
  run sb-poll --cluster fake
  [ "$status" -eq 0 ]
  [ "$(stored)" = "$(truth)" ]
  run sb-backfill --cluster fake --redo-month 2025-13
  [ "$status" -eq 2 ]
}

@test "--resplit fetches again every month of a store written before 0.3, exactly" {
  setup_fake
  for i in 1 2 3 4 5 6; do sb-poll --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1; done
  # a store without a rule file is one written before it: every month on the end-day rule
  rm "$SLURM_SB_ROOT/clusters/fake/agg/day_rule.json"
  run --separate-stderr sb-rebuild
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"cluster fake: 6 months (2025-01 to 2025-06) count usage on the day jobs ended"*"sb-backfill --cluster fake --resplit"* ]]
  exec 8> "$SLURM_SB_ROOT/clusters/fake/state/poll.lock"
  flock 8
  SLURM_SB_LOCK_WAIT=0 run sb-backfill --cluster fake --resplit
  [ "$status" -eq 3 ]
  exec 8>&-
  run --separate-stderr sb-backfill --cluster fake --resplit
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"resplit month 6 of 6 (2025-06) done, 0 to go"* ]]
  [ -z "$(sb-reduce --root "$SLURM_SB_ROOT" --cluster fake --old-rule-months)" ]
  [ "$(stored)" = "$(truth)" ]
  grep -q '"rule":"ran"' "$SLURM_SB_ROOT/clusters/fake/agg/day_rule.json"
  run --separate-stderr sb-rebuild
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"day jobs ended"* ]]
  run --separate-stderr sb-backfill --cluster fake --resplit
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"nothing to fetch again"* ]]
}

@test "--resplit keeps the months slurmdbd purged, and those before the backfill start, as they are" {
  setup_fake
  for i in 1 2 3 4 5 6; do sb-poll --cluster fake --backfill-start 2025-02-01 > /dev/null 2>&1; done
  # discovery before 0.3 reached back to 2000: a January month of the users known then
  sb-parse --cluster fake --brief < <(grep -E '\|2025-01-[0-9]{2}T[0-9:]+\|\|$' "$FAKE_SACCT_JOBS" | head -20) \
    | sb-reduce --root "$SLURM_SB_ROOT" --cluster fake --quiet > /dev/null
  rm "$SLURM_SB_ROOT/clusters/fake/agg/day_rule.json"
  before="$(stored)"
  # slurmdbd purged February and March (PurgeJobAfter)
  grep -v -E '\|2025-0[23]-[0-9]{2}T[0-9:]+\|\|$' "$FAKE_SACCT_JOBS" > "$SANDBOX/purged"
  cp "$SANDBOX/purged" "$FAKE_SACCT_JOBS"
  run --separate-stderr sb-backfill --cluster fake --resplit
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"2025-01 stays counted on the day its jobs ended: it is older than the backfill start"* ]]
  [[ "$stderr" == *"2025-02 stays counted on the day its jobs ended: slurmdbd no longer has every job"* ]]
  [[ "$stderr" == *"2025-03 stays counted on the day its jobs ended: slurmdbd no longer"* ]]
  [[ "$stderr" == *"resplit month 6 of 6 (2025-06) done"* ]]
  [ "$(stored)" = "$before" ]
  [ -z "$(sb-reduce --root "$SLURM_SB_ROOT" --cluster fake --old-rule-months)" ]
  run --separate-stderr sb-rebuild
  [[ "$stderr" != *"day jobs ended"* ]]
  # by hand, a purged month is refused with the counts; --allow-fewer replaces it anyway
  run --separate-stderr sb-backfill --cluster fake --redo-month 2025-02
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"month 2025-02: the input holds 0 of the 40 jobs the store counted"* ]]
  [ "$(stored)" = "$before" ]
  # one --resplit at a time
  exec 8> "$SLURM_SB_ROOT/clusters/fake/state/resplit.lock"
  flock 8
  run sb-backfill --cluster fake --resplit
  [ "$status" -eq 3 ]
  exec 8>&-
}

@test "a fetch that fails half-way replaces nothing (--redo-month, discovery)" {
  setup_fake
  for i in 1 2 3 4 5 6; do sb-poll --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1; done
  before="$(store_digest)"
  FAKE_SACCT_FAIL=1 run sb-backfill --cluster fake --redo-month 2025-03
  [ "$status" -eq 1 ]
  [ "$(store_digest)" = "$before" ]
  grep -v -x u3 "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt" > "$SANDBOX/known"
  cp "$SANDBOX/known" "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt"
  FAKE_SACCT_FAIL=1 run sb-discover --cluster fake
  [ "$status" -eq 1 ]
  [ "$(stored)" = "$(truth)" ]
  run sb-discover --cluster fake
  [ "$status" -eq 0 ]
  [ "$(stored)" = "$(truth)" ]
  grep -qx u3 "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt"
}

@test "the daemon's watchdog stops a tick that hangs, and the daemon goes on" {
  setup_fake
  SLURM_SB_SACCT_TIMEOUT=600 FAKE_SACCT_HANG=1 \
    sb-daemon --cluster fake --backfill-start 2025-01-01 --interval 1 --jitter 0 --tick-timeout 2 \
    2> "$SANDBOX/daemon.log" &
  pid=$!
  beat="$SLURM_SB_ROOT/clusters/fake/state/daemon_heartbeat.json"
  for _ in $(seq 100); do
    grep -q '"last_result":"timeout"' "$beat" 2>/dev/null && break
    sleep 0.2
  done
  kill -TERM "$pid"
  wait "$pid"
  grep -q 'ran over 2s and was stopped' "$SANDBOX/daemon.log"
  ! pgrep -f "$STUBS/sacct"
}

@test "an unattended poll stuck on anything is stopped by its own watchdog, and frees the lock" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-06-01 < /dev/null > /dev/null 2>&1
  start=$SECONDS
  SLURM_SB_POLL_TIMEOUT=2 SLURM_SB_SACCT_TIMEOUT=600 FAKE_SACCT_HANG=1 \
    run sb-poll --cluster fake < /dev/null
  [ "$status" -eq 124 ]
  [ $(( SECONDS - start )) -lt 40 ]
  run sb-poll --cluster fake < /dev/null
  [ "$status" -eq 0 ]
  SLURM_SB_POLL_TIMEOUT=soon run sb-poll --cluster fake < /dev/null
  [ "$status" -eq 2 ]
}

@test "each poll step prints one line on stdout: what, how many new jobs, how long; --json for programs" {
  setup_fake
  run --separate-stderr sb-poll --cluster fake --backfill-start 2025-01-01
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 4 ]
  [[ "${lines[0]}" =~ ^"fake: backfill: 2025-01, month 1 of 5, 4 to go (one a poll, at least 1 min of sacct calls at 1000 a minute): 40 new jobs of 4 users, "[0-9]+\.[0-9]" s"$ ]]
  # the current month comes in the first poll too (June's jobs that ended by the 15th)
  [[ "${lines[1]}" =~ ^"fake: incremental: up to 2025-06-15T12:00:00Z: 22 new jobs of 4 users, "[0-9]+\.[0-9]" s"$ ]]
  [[ "${lines[2]}" =~ ^"fake: discovery: the history of 8 new users since the backfill start: "[0-9]+" jobs, "[0-9]+\.[0-9]" s"$ ]]
  [[ "${lines[3]}" =~ ^"fake: boards: rebuilt (140 boards for every cluster), "[0-9]+\.[0-9]" s"$ ]]
  [[ "$stderr" == *"backfilling 2025-01"* ]]
  run --separate-stderr sb-poll --cluster fake --json
  printf '%s\n' "$output" | python3 -c "
import json, sys
steps = [json.loads(line) for line in sys.stdin]
assert [s['step'] for s in steps] == ['backfill', 'incremental', 'discovery', 'boards'], steps
backfill = steps[0]
assert backfill['cluster'] == 'fake' and backfill['ok'] is True and backfill['exit'] == 0
assert (backfill['month'], backfill['month_number'], backfill['months'], backfill['months_left']) == ('2025-02', 2, 5, 3)
assert backfill['sacct_minutes_left'] == 1, backfill    # 3 months of weekly calls at 1000 a minute
assert backfill['new_jobs'] == 0 and backfill['users'] == 0, backfill   # discovery had them all
assert steps[3]['boards'] == 0 and steps[3]['skipped'] == 'unchanged', steps   # no new jobs
assert all(s['seconds'] >= 0 for s in steps)
"
  for i in 1 2; do sb-poll --cluster fake > /dev/null 2>&1; done
  run --separate-stderr sb-poll --cluster fake
  [[ "${lines[0]}" == "fake: backfill: 2025-05, month 5 of 5, caught up (incremental polls from now on): "* ]]
  SLURM_SB_NOW=2025-06-15T13:00:00Z run --separate-stderr sb-poll --cluster fake
  [[ "${lines[0]}" =~ ^"fake: incremental: up to 2025-06-15T13:00:00Z: "("no new jobs"|[0-9]+" new jobs of "[0-9]+" users") ]]
  FAKE_SACCT_FAIL=1 SLURM_SB_NOW=2025-06-15T14:00:00Z run --separate-stderr sb-poll --cluster fake
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" =~ ^"fake: incremental: failed (exit 1) after "[0-9.]+" s; the log above says why"$ ]]
  [ "${lines[1]}" = "fake: discovery skipped (the fetch failed)" ]
  [[ "${lines[2]}" == "fake: boards: not rebuilt: nothing they show changed"* ]]
}

@test "a fresh root's first poll without --backfill-start backfills from the 1st of the month a year back" {
  setup_fake
  run --separate-stderr sb-poll --cluster fake
  [ "$status" -eq 0 ]
  grep -q '"backfill_start":"2024-06-01","backfill_next":"2024-07"' \
    "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  [[ "$stderr" == *"no --backfill-start given; the backfill starts at 2024-06-01 (a year back)"* ]]
  [[ "${lines[0]}" == "fake: backfill: 2024-06, month 1 of 12, 11 to go (one a poll, at least 1 min of sacct calls at 1000 a minute): "* ]]
  # daily calls at 100 a minute: 11 months of 31 calls take at least 4 minutes of sacct calls
  SLURM_SB_SACCT_PER_MIN=100 run --separate-stderr sb-poll --cluster fake --chunk day
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "fake: backfill: 2024-07, month 2 of 12, 10 to go (one a poll, at least 4 min of sacct calls at 100 a minute): "* ]]
}

@test "sb-poll --status: where each cluster stands, its last success and error, next step; exit 1 after a failed poll" {
  setup_fake
  run sb-poll --status
  [ "$status" -eq 0 ]
  [[ "$output" == "no cluster has been polled under $SLURM_SB_ROOT yet"* ]]
  run sb-poll --status --cluster fake
  [ "$status" -eq 5 ]
  run sb-probe --root "$SLURM_SB_ROOT" --json
  [ "$status" -eq 2 ]
  for i in 1 2 3 4 5 6; do sb-poll --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1; done
  FAKE_SACCT_FAIL=1 SLURM_SB_NOW=2025-06-15T13:00:00Z sb-poll --cluster fake > /dev/null 2>&1 || true
  SLURM_SB_NOW=2025-06-15T14:30:00Z run sb-poll --status
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "fake: up to date to 2025-06-15T12:00:00Z (2 h 30 min behind)" ]
  [[ "${lines[1]}" =~ ^"  last poll     2025-06-15T13:00:00Z FAILED (exit 1) in incremental, " ]]
  [ "${lines[2]}" = "  last success  2025-06-15T12:00:00Z" ]
  [[ "${lines[3]}" == "  last error    2025-06-15T13:00:00Z in sb-incremental: sb-sacct: sacct exited with status 1: sacct: error: Problem talking to the database"* ]]
  [ "${lines[4]}" = "  next step     incremental, jobs that ended since 2025-06-15T12:00:00Z (less the overlap)" ]
  SLURM_SB_NOW=2025-06-15T14:00:00Z sb-poll --cluster fake > /dev/null 2>&1
  SLURM_SB_NOW=2025-06-15T14:10:00Z run sb-poll --status --json --cluster fake
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" | python3 -c "
import json, sys
status = json.loads(sys.stdin.read())
assert status['lag_seconds'] == 600, status
assert status['last_poll']['ok'] is True and status['last_poll']['last_success'] == '2025-06-15T14:00:00Z'
assert status['last_poll']['last_error']['at'] == '2025-06-15T13:00:00Z'      # kept after a success
assert status['cursor']['caught_up'] is True and status['damaged'] == []
"
  # the daemon's heartbeat, and one long overdue
  printf '{"time":"2025-06-15T14:00:00Z","pid":1,"cluster":"fake","last_result":"ok","last_exit":0,"next_run":"2025-06-15T14:10:00Z","interval":600}\n' \
    > "$SLURM_SB_ROOT/clusters/fake/state/daemon_heartbeat.json"
  SLURM_SB_NOW=2025-06-15T14:12:00Z run sb-poll --status
  [[ "$output" == *"  daemon        last tick 2025-06-15T14:00:00Z (ok), pid 1, next run 2025-06-15T14:10:00Z"* ]]
  [[ "$output" != *OVERDUE* ]]
  SLURM_SB_NOW=2025-06-15T18:00:00Z run sb-poll --status
  [[ "$output" == *"next run 2025-06-15T14:10:00Z OVERDUE: is the daemon still running?"* ]]
  # a daemon killed on this host is seen at once, whatever its next run says
  sleep 0 & gone=$!
  wait "$gone"
  printf '{"time":"2025-06-15T14:00:00Z","pid":%d,"host":"%s","cluster":"fake","last_result":"ok","last_exit":0,"next_run":"2025-06-15T14:10:00Z","interval":600}\n' \
    "$gone" "$(uname -n)" > "$SLURM_SB_ROOT/clusters/fake/state/daemon_heartbeat.json"
  SLURM_SB_NOW=2025-06-15T14:05:00Z run sb-poll --status
  [ "$status" -eq 1 ]
  [[ "$output" == *"pid $gone on $(uname -n): GONE (killed, or the node rebooted): start it again"* ]]
}

@test "sb-poll --status trusts nothing in the state files: damaged, hostile or planted ones are named, never shown raw or followed" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-06-01 > /dev/null 2>&1
  state="$SLURM_SB_ROOT/clusters/fake/state"
  printf '{"cluster":"fake","started":"2025-06-15T12:00:00Z","ended":"2025-06-15T12:00:00Z","ok":true,"exit":0,"last_success":null,"last_error":{"at":"2025-06-15T12:00:00Z","step":"x","message":"\\u001b]0;owned\\u0007"},"steps":[]}\n' \
    > "$state/poll_status.json"
  run sb-poll --status
  [ "$status" -eq 1 ]
  [[ "$output" == *"DAMAGED       $state/poll_status.json: last_error.message is not plain text (the next poll rewrites it; if it stays damaged, remove it)"* ]]
  [[ "$output" != *$'\e'* && "$output" != *owned* ]]
  # a poll rewrites it, and does not carry the hostile message over
  sb-poll --cluster fake > /dev/null 2>&1
  ! grep -q owned "$state/poll_status.json"
  run sb-poll --status
  [ "$status" -eq 0 ]
  # a symlink planted in its place is not followed; a FIFO does not stall the report
  echo '{"secret":1}' > "$SANDBOX/elsewhere.json"
  ln -sfn "$SANDBOX/elsewhere.json" "$state/poll_status.json"
  mkfifo "$state/daemon_heartbeat.json"
  run timeout 20 sb-poll --status
  [ "$status" -eq 1 ]
  [[ "$output" == *"DAMAGED       $state/poll_status.json"* ]]
  [[ "$output" == *"DAMAGED       $state/daemon_heartbeat.json"* ]]
  # a damaged cursor says that polls fail until it is fixed
  echo '{"backfill_start":"2025-13-01"}' > "$state/poll_cursor.json"
  run sb-poll --status
  [[ "$output" == *"poll_cursor.json: backfill_start"*"polls fail until it is fixed"* ]]
  # a poll writes a fresh status whatever was planted, without touching the symlink's target
  rm -f "$state/poll_status.json" "$state/daemon_heartbeat.json"
  ln -s "$SANDBOX/elsewhere.json" "$state/poll_status.json"
  sb-poll --cluster fake > /dev/null 2>&1 || true
  [ "$(cat "$SANDBOX/elsewhere.json")" = '{"secret":1}' ]
  [ ! -L "$state/poll_status.json" ]
}

@test "sb-poll --status says a poll stopped before its end, a failing daemon and stale data (exit 1), and survives hostile times" {
  setup_fake
  for i in 1 2 3 4 5 6; do sb-poll --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1; done
  run sb-poll --status
  [ "$status" -eq 0 ]
  # the watchdog stops a hung poll: the status says so, it is not the previous "ok"
  SLURM_SB_POLL_TIMEOUT=2 SLURM_SB_SACCT_TIMEOUT=600 FAKE_SACCT_HANG=1 \
    run sb-poll --cluster fake < /dev/null
  [ "$status" -eq 124 ]
  run sb-poll --status
  [ "$status" -eq 1 ]
  [[ "$output" == *"last poll     2025-06-15T12:00:00Z STOPPED before its end"* ]]
  sb-poll --cluster fake > /dev/null 2>&1
  run sb-poll --status
  [ "$status" -eq 0 ]
  # an option's value that contains " --status " neither shows the status nor escapes the watchdog
  mkdir -p "$SANDBOX/odd --status x"
  start=$SECONDS
  SLURM_SB_POLL_TIMEOUT=2 SLURM_SB_SACCT_TIMEOUT=600 FAKE_SACCT_HANG=1 \
    run timeout -s KILL 60 sb-poll --cluster fake --root "$SANDBOX/odd --status x" < /dev/null
  [ "$status" -eq 124 ]
  [ $(( SECONDS - start )) -lt 40 ]
  [[ "$output" != *"has been polled"* ]]
  # a daemon whose last tick timed out, or data a day behind, is a problem too
  beat="$SLURM_SB_ROOT/clusters/fake/state/daemon_heartbeat.json"
  printf '{"time":"2025-06-15T12:00:00Z","last_result":"timeout","next_run":"2025-06-15T12:10:00Z"}\n' > "$beat"
  run sb-poll --status --json
  [ "$status" -eq 1 ]
  [[ "$output" == *'"problems":["the daemon'"'"'s last tick: timeout"]'* ]]
  rm "$beat"
  SLURM_SB_NOW=2025-06-17T12:00:00Z run sb-poll --status
  [ "$status" -eq 1 ]
  [[ "$output" == *"STALE         over a day behind"* ]]
  # times far in the future are damage, never a traceback
  printf '{"time":"2025-06-15T11:00:00Z","last_result":"ok","next_run":"9999-12-31T23:59:59Z"}\n' > "$beat"
  run sb-poll --status
  [ "$status" -eq 1 ]
  [[ "$output" == *"daemon_heartbeat.json: next_run is not a UTC time from 1970 to 2999"* && "$output" != *Traceback* ]]
}

@test "the last error outlives later polls whatever its message holds; a forged one is not carried" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-06-01 > /dev/null 2>&1
  stub sacct 'echo "sacct: error: Invalid value {cluster=x} \\ \"quoted\"" >&2; exit 1'
  SLURM_SB_NOW=2025-06-15T13:00:00Z sb-poll --cluster fake > /dev/null 2>&1 || true
  cp "$BATS_TEST_DIRNAME/fake-sacct" "$STUBS/sacct"
  SLURM_SB_NOW=2025-06-15T14:00:00Z sb-poll --cluster fake > /dev/null 2>&1
  state="$SLURM_SB_ROOT/clusters/fake/state"
  grep -q '"last_error":{"at":"2025-06-15T13:00:00Z","step":"sb-incremental","message":"sb-sacct: sacct exited with status 1: sacct: error: Invalid value {cluster=x}' "$state/poll_status.json"
  SLURM_SB_NOW=2025-06-15T14:30:00Z run sb-poll --status
  [ "$status" -eq 0 ]
  [[ "$output" == *"last error    2025-06-15T13:00:00Z in sb-incremental: "*"{cluster=x}"* ]]
  # a forged previous error (an impossible time, a step sb-poll never names) is dropped
  printf '{"last_error":{"at":"2025-99-99T99:99:99Z","step":" -","message":"x"}}\n' > "$state/poll_status.json"
  SLURM_SB_NOW=2025-06-15T15:00:00Z sb-poll --cluster fake > /dev/null 2>&1
  grep -q '"last_error":null' "$state/poll_status.json"
  run sb-poll --status
  [ "$status" -eq 0 ]
}

@test "sb-poll and sb-daemon check every option value before anything runs (exit 2, nothing written)" {
  setup_fake
  for bad in "--backfill-start 2025-13-01" "--backfill-start 2025-02-30" "--backfill-start 2025-07-01" \
             "--history-start tomorrow" "--max-users abc" "--max-users 0" "--chunk none" \
             "--overlap -5" "--overlap 9999999"; do
    # shellcheck disable=SC2086
    run sb-poll --cluster fake $bad
    [ "$status" -eq 2 ]
    [[ "$output" == "sb-poll: bad ${bad%% *} "* ]]
    # shellcheck disable=SC2086
    run timeout 20 sb-daemon --cluster fake $bad
    [ "$status" -eq 2 ]
  done
  [ ! -e "$SLURM_SB_ROOT/clusters" ] && [ ! -e "$SLURM_SB_ROOT/leaderboards" ]
  [ ! -s "$FAKE_SACCT_LOG" ]
}

@test "a cluster slurmdbd does not know is refused before its first poll; a known one polls" {
  setup_fake
  run sb-poll --cluster fakr --backfill-start 2025-06-01
  [ "$status" -eq 2 ]
  [[ "$output" == *"slurmdbd knows no cluster fakr (it knows: fake other); check --cluster"* ]]
  [ ! -e "$SLURM_SB_ROOT/clusters/fakr/state/poll_cursor.json" ]
  # sacctmgr failing or missing: no check, the poll goes on
  stub sacctmgr 'exit 1'
  run sb-poll --cluster fakr --backfill-start 2025-06-01
  [ "$status" -eq 0 ]
}

@test "a poll rebuilds the boards only when what they show changed, or the UTC day did" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-06-01 > /dev/null 2>&1
  before="$(stat -c %Y.%i "$SLURM_SB_ROOT/leaderboards/alltime_jobs.json")"
  SLURM_SB_NOW=2025-06-15T12:10:00Z run --separate-stderr sb-poll --cluster fake
  [[ "${lines[-1]}" == "fake: boards: not rebuilt: nothing they show changed since the last rebuild, "* ]]
  [ "$(stat -c %Y.%i "$SLURM_SB_ROOT/leaderboards/alltime_jobs.json")" = "$before" ]
  # a job that ended since: rebuilt
  echo "9999|9999|fake|u1|acct1|COMPLETED|60|2|1|1G|cpu=2,mem=1G,node=1|2025-06-15T12:00:00|2025-06-15T12:11:00|2025-06-15T12:12:00||" >> "$FAKE_SACCT_JOBS"
  SLURM_SB_NOW=2025-06-15T12:20:00Z run --separate-stderr sb-poll --cluster fake
  [[ "${lines[-1]}" == "fake: boards: rebuilt (140 boards for every cluster), "* ]]
  # an opt-out added to the list: rebuilt, and the user is gone from the boards
  mkdir -p "$SLURM_SB_ROOT/config"
  echo u1 >> "$SLURM_SB_ROOT/config/optout.txt"
  SLURM_SB_NOW=2025-06-15T12:30:00Z run --separate-stderr sb-poll --cluster fake
  [[ "${lines[-1]}" == "fake: boards: rebuilt"* ]]
  ! grep -q '"user":"u1"' "$SLURM_SB_ROOT/leaderboards/alltime_jobs.json"
  # another rebuild running: this poll does not wait for it
  exec 8>"$SLURM_SB_ROOT/leaderboards/rebuild.lock"
  flock 8
  SLURM_SB_NOW=2025-06-17T12:00:00Z run --separate-stderr sb-poll --cluster fake
  [[ "${lines[-1]}" == "fake: boards: not rebuilt: another rebuild is running, "* ]]
  exec 8>&-
  SLURM_SB_NOW=2025-06-17T12:10:00Z run --separate-stderr sb-poll --cluster fake
  [[ "${lines[-1]}" == "fake: boards: rebuilt"* ]]
  [ "$(index_asof)" = "2025-06-17T12:10:00Z" ]
}

# measured CPU seconds used in the usage files, and the number of jobs
measured_store() {
  python3 -c "
import glob, json
jobs = {}
for path in glob.glob('$SLURM_SB_ROOT/clusters/fake/agg/usage/*.json'):
    jobs.update(json.load(open(path))['jobs'])
print(len(jobs), sum(entry[4] for entry in jobs.values()))"
}

# jobs that ended on the days $1..$2 (inclusive) and half their CPU seconds (the fake's TotalCPU)
measured_truth() {
  python3 -c "
n = used = 0
for line in open('$FAKE_SACCT_JOBS'):
    f = line.split('|')
    if '$1' <= f[13][:10] <= '$2':
        n += 1; used += int(f[6]) * 2 // 2
print(n, used)"
}

@test "the daily step poll measures yesterday once a day, catches up a week at most, and feeds the efficiency boards" {
  setup_fake
  SLURM_SB_NOW=2025-06-13T12:00:00Z sb-poll --cluster fake --backfill-start 2025-06-01 \
    --no-steps > /dev/null 2>&1
  : > "$FAKE_SACCT_LOG"
  SLURM_SB_NOW=2025-06-13T12:10:00Z run --separate-stderr sb-poll --cluster fake
  [ "$status" -eq 0 ]
  [[ "$output" == *"fake: steps: 1 day measured: "*" jobs with the CPU time used"* ]]
  # one call without -X, for yesterday, with TotalCPU
  [ "$(grep -vc -- ' -X ' "$FAKE_SACCT_LOG")" -eq 1 ]
  grep -v -- ' -X ' "$FAKE_SACCT_LOG" | grep -q -- "TotalCPU,TRESUsageInAve -S 2025-06-12T00:00:00 -E 2025-06-12T23:59:59"
  [ "$(measured_store)" = "$(measured_truth 2025-06-12 2025-06-12)" ]
  [ "$(measured_store)" != "0 0" ]
  grep -q '"through":"2025-06-12"' "$SLURM_SB_ROOT/clusters/fake/state/usage.json"
  # the same day again: no step poll
  : > "$FAKE_SACCT_LOG"
  SLURM_SB_NOW=2025-06-13T12:20:00Z run sb-poll --cluster fake
  [ "$(grep -vc -- ' -X ' "$FAKE_SACCT_LOG")" -eq 0 ]
  [[ "$output" != *"steps:"* ]]
  # three days without polls: the 13th to the 15th, one call a day, each job once
  SLURM_SB_NOW=2025-06-16T00:10:00Z run sb-poll --cluster fake --json
  [ "$status" -eq 0 ]
  [[ "$output" == *'"step":"steps","ok":true,"exit":0,'*'"days":3,'* ]]
  [ "$(measured_store)" = "$(measured_truth 2025-06-12 2025-06-15)" ]
  # a day measured twice changes nothing
  printf '{"through":"2025-06-11"}\n' > "$SLURM_SB_ROOT/clusters/fake/state/usage.json"
  SLURM_SB_NOW=2025-06-16T00:20:00Z sb-poll --cluster fake > /dev/null 2>&1
  [ "$(measured_store)" = "$(measured_truth 2025-06-11 2025-06-15)" ]
  # the boards: each fake job keeps half its CPUs busy
  sb-rank --root "$SLURM_SB_ROOT" --now 2025-06-16T00:20:00Z --min-cpu-hours 0 > /dev/null
  python3 -c "
import json
rows = json.load(open('$SLURM_SB_ROOT/leaderboards/alltime_cpu_efficiency.json'))['rows']
assert rows and all(row['value'] == 50.0 for row in rows), rows"
  # a planted far-future day never switches the step poll off; a month away measures a week
  printf '{"through":"2999-01-01"}\n' > "$SLURM_SB_ROOT/clusters/fake/state/usage.json"
  : > "$FAKE_SACCT_LOG"
  SLURM_SB_NOW=2025-07-20T00:10:00Z run sb-poll --cluster fake
  [ "$(grep -vc -- ' -X ' "$FAKE_SACCT_LOG")" -eq 1 ]
  : > "$FAKE_SACCT_LOG"
  printf '{"through":"2025-06-17"}\n' > "$SLURM_SB_ROOT/clusters/fake/state/usage.json"
  SLURM_SB_NOW=2025-07-20T00:20:00Z run --separate-stderr sb-poll --cluster fake
  [ "$(grep -vc -- ' -X ' "$FAKE_SACCT_LOG")" -eq 7 ]
  [[ "$stderr" == *"the days from 2025-06-18 to 2025-07-12 are left unmeasured"* ]]
  grep -v -- ' -X ' "$FAKE_SACCT_LOG" | head -1 | grep -q -- "-S 2025-07-13T00:00:00"
}

@test "a failing step poll is reported, resumes where it stopped, and --no-steps turns it off" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-06-01 > /dev/null 2>&1
  printf '{"through":"2025-06-10"}\n' > "$SLURM_SB_ROOT/clusters/fake/state/usage.json"
  SLURM_SB_NOW=2025-06-15T12:10:00Z FAKE_SACCT_FAIL_STEPS=1 run sb-poll --cluster fake --json
  [ "$status" -eq 1 ]
  [[ "$output" == *'"step":"steps","ok":false'* ]]
  grep -q '"through":"2025-06-10"' "$SLURM_SB_ROOT/clusters/fake/state/usage.json"
  : > "$FAKE_SACCT_LOG"
  SLURM_SB_NOW=2025-06-15T12:20:00Z run sb-poll --cluster fake --no-steps
  [ "$status" -eq 0 ]
  [ "$(grep -vc -- ' -X ' "$FAKE_SACCT_LOG")" -eq 0 ]
  SLURM_SB_NOW=2025-06-15T12:30:00Z SLURM_SB_STEP_POLL=0 run sb-poll --cluster fake
  [ "$(grep -vc -- ' -X ' "$FAKE_SACCT_LOG")" -eq 0 ]
  SLURM_SB_NOW=2025-06-15T12:35:00Z SLURM_SB_STEP_POLL=off run sb-poll --cluster fake
  [ "$(grep -vc -- ' -X ' "$FAKE_SACCT_LOG")" -eq 0 ]
  SLURM_SB_NOW=2025-06-15T12:40:00Z run sb-poll --cluster fake
  [ "$(grep -vc -- ' -X ' "$FAKE_SACCT_LOG")" -eq 4 ]
  grep -q '"through":"2025-06-14"' "$SLURM_SB_ROOT/clusters/fake/state/usage.json"
}

@test "a step that counted jobs without a SLURM account says so in the log, once per job" {
  setup_fake
  for i in 1 2 3; do
    echo "990$i|990$i|fake|u$i||COMPLETED|60|2|1|1G|cpu=2,mem=1G,node=1|2025-06-10T00:00:00|2025-06-10T09:00:00|2025-06-10T09:01:00||"
  done >> "$FAKE_SACCT_JOBS"
  echo "9904|9904|fake|u4||COMPLETED|60|2|1|1G|cpu=2,mem=1G,node=1|2025-05-10T00:00:00|2025-05-10T09:00:00|2025-05-10T09:01:00||" >> "$FAKE_SACCT_JOBS"
  run --separate-stderr sb-poll --cluster fake --backfill-start 2025-05-01 --json
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"sb-poll: fake: 1 job had no SLURM account: they count for their users only, in no group (backfill of 2025-05)"* ]]
  [[ "$stderr" == *"sb-poll: fake: 3 jobs had no SLURM account: they count for their users only, in no group (incremental)"* ]]
  # discovery fetches the four users' history again: those jobs were told already
  [[ "$stderr" != *"(discovery)"* ]]
  [ "$(grep -c 'had no SLURM account' <<< "$stderr")" -eq 2 ]
  # a poll that counts none of them again says nothing
  SLURM_SB_NOW=2025-06-15T12:10:00Z run --separate-stderr sb-poll --cluster fake
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"had no SLURM account"* ]]
  # they count for their users all the same
  python3 -c "
import json
users = {u['username']: u['totals'] for u in json.load(open('$SLURM_SB_ROOT/clusters/fake/agg/alltime.json'))['users']}
assert users['u4'][5] >= 1"
}

# the steps a poll reported, one word each, in order
steps_of() {
  printf '%s\n' "$1" | sed -n 's/^fake: \([a-z]*\)[: ].*/\1/p' | tr '\n' ' '
}

@test "--until-caught-up backfills every month in one run, each sacct call at the rate limit, then polls once" {
  setup_fake
  # the rate limit is full for a few more seconds: the run's first call must wait its turn
  mkdir -p "$SLURM_SB_ROOT/clusters/fake/state"
  python3 -c "
import json, time
json.dump({'window_seconds': 60, 'calls': [time.time() - 52] * 1000},
          open('$SLURM_SB_ROOT/clusters/fake/state/sacct_rate.json', 'w'))"
  run --separate-stderr sb-poll --cluster fake --backfill-start 2025-01-01 --until-caught-up < /dev/null
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"sb-sacct: rate limit: waiting "* ]]
  [ "$(steps_of "$output")" = "backfill boards backfill boards backfill boards backfill boards backfill incremental discovery steps boards " ]
  [[ "${lines[0]}" =~ ^"fake: backfill: 2025-01, month 1 of 5, 4 to go in this run (at least 1 min of sacct calls left at 1000 a minute): 40 new jobs of 4 users, "[0-9.]+" s"$ ]]
  [[ "${lines[6]}" == "fake: backfill: 2025-04, month 4 of 5, 1 to go in this run (at least 1 min of sacct calls left at 1000 a minute): "* ]]
  [[ "${lines[8]}" == "fake: backfill: 2025-05, month 5 of 5, caught up (incremental polls from now on): "* ]]
  [[ "${lines[1]}" == "fake: boards: rebuilt (140 boards for every cluster), "* ]]
  grep -q '"backfill_next":"2025-06","caught_up":true,"incremental_since":"2025-06-15T12:00:00Z"' \
    "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  [ "$(stored)" = "$(truth)" ]
  # each month fetched once by the loop
  for month in 01 02 03 04 05; do
    [ "$(grep -v -- ' -u ' "$FAKE_SACCT_LOG" | grep -c -- "-S 2025-$month-01T00:00:00")" -eq 1 ]
  done
  # the status file lists the months' backfills and rebuilds as one entry each
  python3 -c "
import json
status = json.load(open('$SLURM_SB_ROOT/clusters/fake/state/poll_status.json'))
assert [s['step'] for s in status['steps']] == ['backfill', 'boards', 'incremental', 'discovery', 'steps', 'boards'], status
assert status['ok'] is True and status['running'] is False and status['progress'], status"
  run sb-poll --status
  [ "$status" -eq 0 ]
  # caught up: another run is a normal poll
  SLURM_SB_NOW=2025-06-15T12:10:00Z run --separate-stderr sb-poll --cluster fake --until-caught-up < /dev/null
  [ "$status" -eq 0 ]
  [ "$(steps_of "$output")" = "incremental discovery boards " ]
}

@test "--until-caught-up --json: one JSON object per step, with each month's progress" {
  setup_fake
  run --separate-stderr sb-poll --cluster fake --backfill-start 2025-02-01 --until-caught-up --json --chunk day < /dev/null
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" | python3 -c "
import json, sys
steps = [json.loads(line) for line in sys.stdin]
assert [s['step'] for s in steps] == ['backfill', 'boards'] * 3 + ['backfill', 'incremental', 'discovery', 'steps', 'boards'], steps
months = [s for s in steps if s['step'] == 'backfill']
assert [(s['month'], s['month_number'], s['months'], s['months_left']) for s in months] == \
    [('2025-02', 1, 4, 3), ('2025-03', 2, 4, 2), ('2025-04', 3, 4, 1), ('2025-05', 4, 4, 0)], months
# daily calls: 31 a month at 1000 a minute
assert [s['sacct_minutes_left'] for s in months] == [1, 1, 1, 0], months
assert all(s['ok'] and s['cluster'] == 'fake' for s in steps), steps
"
}

@test "--until-caught-up: a month that fails stops the run (exit 1) with the cursor at that month; the next run resumes" {
  setup_fake
  FAKE_SACCT_EACH_CALL='case "$FAKE_SACCT_ARGS" in *"-S 2025-03-"*) exit 1 ;; esac' \
    run --separate-stderr sb-poll --cluster fake --backfill-start 2025-01-01 --until-caught-up < /dev/null
  [ "$status" -eq 1 ]
  [ "$(steps_of "$output")" = "backfill boards backfill boards backfill discovery boards " ]
  [[ "${lines[4]}" =~ ^"fake: backfill: failed (exit 1) after "[0-9.]+" s; the log above says why"$ ]]
  [ "${lines[5]}" = "fake: discovery skipped (the fetch failed)" ]
  grep -q '"backfill_next":"2025-03","caught_up":false' "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  [ ! -e "$SLURM_SB_ROOT/clusters/fake/agg/rollups/monthly/2025-03.json" ]
  grep -q '"last_error":{"at":"2025-06-15T12:00:00Z","step":"sb-backfill"' "$SLURM_SB_ROOT/clusters/fake/state/poll_status.json"
  run --separate-stderr sb-poll --cluster fake --until-caught-up < /dev/null
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "fake: backfill: 2025-03, month 3 of 5, 2 to go in this run "* ]]
  [ "$(stored)" = "$(truth)" ]
}

@test "--until-caught-up: the status keeps a step's first failure though its later months went well" {
  setup_fake
  # the first rebuild fails (exit 4: boards written, some files damaged), the others go well
  stub sb-rank "if [ ! -e '$SANDBOX/failed-once' ]; then : > '$SANDBOX/failed-once'; exit 4; fi
exec '$VENV_BIN/sb-rank' \"\$@\""
  run --separate-stderr sb-poll --cluster fake --backfill-start 2025-01-01 --until-caught-up < /dev/null
  [ "$(steps_of "$output")" = "backfill boards backfill boards backfill boards backfill boards backfill incremental discovery steps boards " ]
  [[ "${lines[1]}" == "fake: boards: failed (exit 4) after "* ]]
  python3 -c "
import json
status = json.load(open('$SLURM_SB_ROOT/clusters/fake/state/poll_status.json'))
months = [s for s in status['steps'] if s['step'] == 'boards']
assert [(s['ok'], s['exit']) for s in months] == [(False, 4), (True, 0)], status['steps']
assert status['ok'] is False, status"
  [ "$(stored)" = "$(truth)" ]
}

@test "--until-caught-up holds the poll lock for the whole run: a poll started meanwhile exits 3" {
  setup_fake
  FAKE_SACCT_EACH_CALL="sb-poll --cluster fake < /dev/null > /dev/null 2>&1; echo \$? >> '$SANDBOX/codes'" \
    run sb-poll --cluster fake --backfill-start 2025-03-01 --until-caught-up < /dev/null
  [ "$status" -eq 0 ]
  # one poll tried at every sacct call of the run (three months, then the poll), each refused
  [ "$(sort -u "$SANDBOX/codes")" = "3" ]
  [ "$(wc -l < "$SANDBOX/codes")" -eq "$(wc -l < "$FAKE_SACCT_LOG")" ]
  [ "$(wc -l < "$SANDBOX/codes")" -ge 15 ]
  run sb-poll --cluster fake --until-caught-up --status
  [ "$status" -eq 2 ]
}

@test "an unattended --until-caught-up run outlives the tick's watchdog while its months do not; a month that hangs is stopped" {
  setup_fake
  # each month one call of 8 s (--chunk month): the three months take longer than one tick's
  # 20 s, each month far less
  SLURM_SB_POLL_TIMEOUT=20 FAKE_SACCT_EACH_CALL='case "$FAKE_SACCT_ARGS" in *" -u "*) ;; *"-S 2025-0[345]-01T"*) sleep 8 ;; esac' \
    run --separate-stderr sb-poll --cluster fake --backfill-start 2025-03-01 --chunk month --until-caught-up < /dev/null
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"no month of the catch-up finished"* ]]
  grep -q '"caught_up":true' "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  [ "$(stored)" = "$(truth 2025-03-01)" ]
  # a month that hangs is stopped after one tick's time: exit 124, the cursor where it was,
  # nothing left running, the lock free for the next poll, which resumes
  export SLURM_SB_ROOT="$SANDBOX/root2"
  mkdir -p "$SLURM_SB_ROOT"
  SLURM_SB_POLL_TIMEOUT=2 SLURM_SB_SACCT_TIMEOUT=600 FAKE_SACCT_HANG=1 \
    run --separate-stderr sb-poll --cluster fake --backfill-start 2025-03-01 --until-caught-up < /dev/null
  [ "$status" -eq 124 ]
  [[ "$stderr" == *"no month of the catch-up finished within 2 s"* ]]
  ! pgrep -f "$STUBS/sacct"
  [ ! -e "$SLURM_SB_ROOT/clusters/fake/agg" ]
  grep -q '"backfill_next":"2025-03","caught_up":false' "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  run sb-poll --status --cluster fake
  [[ "$output" == *"STOPPED before its end"* ]]
  run sb-poll --cluster fake < /dev/null
  [ "$status" -eq 0 ]
  grep -q '"backfill_next":"2025-04","caught_up":false' "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
}

# jobs and CPU seconds of the fake jobs that ended in [$1, $2) (ISO times without the Z)
truth_between() {
  python3 -c "
n = cpu = 0
for line in open('$FAKE_SACCT_JOBS'):
    f = line.split('|')
    if '$1' <= f[13] < '$2':
        n += 1; cpu += int(f[6]) * 2
print(n, cpu)"
}

# users in the usage files (the jobs the step poll measured) and the earliest day they ended
measured_days() {
  python3 -c "
import glob, json
days = sorted({e[1] for p in glob.glob('$SLURM_SB_ROOT/clusters/fake/agg/usage/*.json')
               for e in json.load(open(p))['jobs'].values()})
print(days[0] if days else 'none')"
}

@test "a backfill start of today or yesterday counts nothing that ended before it, sweep and step poll included" {
  setup_fake
  # jobs just before a start (the day before, its last second) and just after; dawn and noon
  # also ran jobs before it
  { echo "9001|9001|fake|early|acct0|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-13T09:00:00|2025-06-13T09:51:40|2025-06-13T10:00:00||"
    echo "9002|9002|fake|eve|acct0|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-13T23:00:00|2025-06-13T23:51:39|2025-06-13T23:59:59||"
    echo "9003|9003|fake|eve|acct0|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-14T23:00:00|2025-06-14T23:51:39|2025-06-14T23:59:59||"
    echo "9004|9004|fake|dawn|acct1|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-14T23:00:00|2025-06-14T23:51:40|2025-06-15T00:00:00||"
    echo "9005|9005|fake|noon|acct1|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-15T09:00:00|2025-06-15T09:51:40|2025-06-15T10:00:00||"
    echo "9006|9006|fake|dawn|acct1|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-13T20:00:00|2025-06-13T20:51:40|2025-06-13T21:00:00||"
    echo "9007|9007|fake|noon|acct1|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-14T20:00:00|2025-06-14T20:51:40|2025-06-14T21:00:00||"
  } >> "$FAKE_SACCT_JOBS"
  # sb-backfill and sb-incremental alone (no discovery to fetch a new user's history again)
  for start in 2025-06-15 2025-06-14; do
    rm -rf "$SLURM_SB_ROOT"; mkdir -p "$SLURM_SB_ROOT"
    sb-backfill --cluster fake --backfill-start "$start" 2>/dev/null
    for now in 2025-06-15T12:00:00Z 2025-06-16T00:10:00Z 2025-06-17T00:10:00Z; do
      SLURM_SB_NOW="$now" run sb-incremental --cluster fake
      [ "$status" -eq 0 ]
      [ "$(stored)" = "$(truth_between "${start}T00:00:00" "${now:0:19}")" ]
    done
  done
  # whole polls: discovery, the sweep and the step poll
  for start in 2025-06-15 2025-06-14 stale; do
    rm -rf "$SLURM_SB_ROOT"; mkdir -p "$SLURM_SB_ROOT"
    if [ "$start" = stale ]; then
      # a cursor removed (the remedy for a damaged one) and polled again from a later start:
      # the sweep's and the step poll's files still say they were done through the 1st
      start=2025-06-14
      mkdir -p "$SLURM_SB_ROOT/clusters/fake/state"
      printf '{"through":"2025-06-01"}\n' > "$SLURM_SB_ROOT/clusters/fake/state/sweep.json"
      printf '{"through":"2025-06-01"}\n' > "$SLURM_SB_ROOT/clusters/fake/state/usage.json"
    fi
    : > "$FAKE_SACCT_LOG"
    run sb-poll --cluster fake --backfill-start "$start"
    [ "$status" -eq 0 ]
    [ "$(stored)" = "$(truth_between "${start}T00:00:00" 2025-06-15T12:00:00)" ]
    [[ ! "$(measured_days)" < "$start" ]]
    # with a start of today no day is due for the step poll yet
    [ "$start" != 2025-06-15 ] || [[ "$output" != *"steps:"* ]]
    # the polls of the next days: each day's sweep (of the day before yesterday) and step poll
    # (of yesterday) reach back no further than the start
    for now in 2025-06-15T12:10:00Z 2025-06-16T00:10:00Z 2025-06-17T00:10:00Z 2025-06-18T00:10:00Z; do
      SLURM_SB_NOW="$now" run sb-poll --cluster fake
      [ "$status" -eq 0 ]
      [ "$(stored)" = "$(truth_between "${start}T00:00:00" "${now:0:19}")" ]
      [[ ! "$(measured_days)" < "$start" ]]
    done
    [ "$(measured_days)" != none ]
    ! grep -q -- "-S 2025-06-1[0-3]T" "$FAKE_SACCT_LOG"
    grep -q '"through":"2025-06-16"' "$SLURM_SB_ROOT/clusters/fake/state/sweep.json"
    ! grep -q '"username":"early"' "$SLURM_SB_ROOT/clusters/fake/agg/alltime.json"
  done
  # yesterday, the last day of last month: sb-backfill fetches that month from the start only
  { echo "9011|9011|fake|early|acct0|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-29T23:00:00|2025-06-29T23:51:39|2025-06-29T23:59:59||"
    echo "9012|9012|fake|dawn|acct1|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-29T23:00:00|2025-06-29T23:51:40|2025-06-30T00:00:00||"
    echo "9013|9013|fake|noon|acct1|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-30T09:00:00|2025-06-30T09:51:40|2025-06-30T10:00:00||"
    echo "9014|9014|fake|noon|acct1|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-07-01T01:00:00|2025-07-01T01:51:40|2025-07-01T02:00:00||"
  } >> "$FAKE_SACCT_JOBS"
  rm -rf "$SLURM_SB_ROOT"; mkdir -p "$SLURM_SB_ROOT"
  SLURM_SB_NOW=2025-07-01T06:00:00Z sb-backfill --cluster fake --backfill-start 2025-06-30 2>/dev/null
  [ "$(stored)" = "$(truth_between 2025-06-30T00:00:00 2025-07-01T00:00:00)" ]
  rm -rf "$SLURM_SB_ROOT"; mkdir -p "$SLURM_SB_ROOT"
  for now in 2025-07-01T06:00:00Z 2025-07-02T00:10:00Z 2025-07-03T00:10:00Z; do
    SLURM_SB_NOW="$now" run sb-poll --cluster fake --backfill-start 2025-06-30
    [ "$status" -eq 0 ]
    [ "$(stored)" = "$(truth_between 2025-06-30T00:00:00 "${now:0:19}")" ]
    [[ ! "$(measured_days)" < 2025-06-30 ]]
  done
  grep -q '"through":"2025-07-01"' "$SLURM_SB_ROOT/clusters/fake/state/sweep.json"
  ! grep -q '"username":"early"' "$SLURM_SB_ROOT/clusters/fake/agg/alltime.json"
}

# writers_group: a group for group mode: as root one that is not root's own (so a file left in
# root's group shows), else this account's own.
writers_group() {
  if [ "$EUID" -eq 0 ]; then
    getent group | awk -F: -v mine="$(id -g)" '$3 != mine && $1 ~ /^[a-z_][a-z0-9_-]*$/ {print $1; exit}'
  else
    id -gn
  fi
}

# share ARGS...: sb-probe sets the root's sharing mode (its report's exit status aside), with
# stubs for what it asks (never the machine's own SLURM).
share() {
  [ -x "$STUBS/sacct" ] || stub sacct "printf 'alice\nbob\n'"
  stub squeue 'exit 0'
  stub scontrol "printf 'AccountingStorageTRES = cpu,mem,gres/gpu\n'"
  PATH="$STUBS:$PATH" run sb-probe --root "$SLURM_SB_ROOT" "$@"
  [ "$#" -eq 0 ] || [ -f "$SLURM_SB_ROOT/config/sharing.json" ]
}

@test "sb_require_writer gives a pipeline the umask and lock mode of the root's sharing mode, whatever the caller's umask" {
  local group
  group="$(writers_group)"
  # sharing arguments | umask | a file sb_write_atomic writes | a lock | a folder sb_safe_dir makes
  while IFS='|' read -r args mask file lock folder; do
    rm -rf "$SLURM_SB_ROOT"
    mkdir -p "$SLURM_SB_ROOT"
    # shellcheck disable=SC2086
    share $args
    for caller in 0077 0000; do
      run bash -c 'umask "$1"; SB_ROOT="$SLURM_SB_ROOT"; . "$2/pipelines/lib/common.sh"; sb_require_writer
        umask; printf "{}\n" | sb_write_atomic "$SB_ROOT/state/x.json"; sb_lock_file "$SB_ROOT/state/x.lock"
        sb_safe_dir "$SB_ROOT/clusters/c$1/state"
        stat -c "%a %g" "$SB_ROOT/state/x.json" "$SB_ROOT/state/x.lock" "$SB_ROOT/clusters/c$1/state"
        rm -f "$SB_ROOT/state/x.json" "$SB_ROOT/state/x.lock"' _ "$caller" "$TOP"
      [ "$status" -eq 0 ]
      gid="$(stat -c %g "$SLURM_SB_ROOT")"
      [ "${lines[0]}" = "$mask" ]
      [ "${lines[1]}" = "$file $gid" ]
      [ "${lines[2]}" = "$lock $gid" ]
      [ "${lines[3]}" = "$folder $gid" ]
    done
  done <<EOF_TABLE
|0022|644|600|755
--readers group|0027|640|600|750
--group $group|0002|664|660|2775
--group $group --readers group|0007|660|660|2770
EOF_TABLE
  [ "$(stat -c %G "$SLURM_SB_ROOT")" = "$group" ]
}

@test "a poll in group mode leaves every folder, file and lock with the group's modes, whatever the caller's umask" {
  setup_fake
  local group
  group="$(writers_group)"
  share --group "$group"
  (umask 0077; sb-poll --cluster fake --backfill-start 2025-05-01 < /dev/null > /dev/null)
  [ -f "$SLURM_SB_ROOT/leaderboards/index.json" ] && [ -f "$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json" ]
  [ -n "$(find "$SLURM_SB_ROOT/clusters/fake/agg" -name '*.json')" ]
  [ -f "$SLURM_SB_ROOT/leaderboards/.cache/all.json" ]
  # anything else is listed, with its mode and group (the summaries a rebuild keeps: 644, no
  # other writer may change them)
  run find "$SLURM_SB_ROOT" \( \( -type d ! -perm 2775 \) -o \( -type f -name '*.lock' ! -perm 660 \) \
    -o \( -type f ! -name '*.lock' ! -path '*/leaderboards/.cache/*' ! -perm 664 \) \
    -o \( -type f -path '*/leaderboards/.cache/*' ! -perm 644 \) -o ! -group "$group" \) \
    -printf '%p %m %g\n'
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "a cursor swapped by another writer during a poll puts no text in its report and stops no step" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-05-01 --until-caught-up > /dev/null 2>&1
  cursor="$SLURM_SB_ROOT/clusters/fake/state/poll_cursor.json"
  real="$(command -v sb-reduce)"
  # right after sb-incremental wrote the cursor (sb-poll then sums the step with
  # sb-reduce --summarize), the cursor replaced behind the poll's back
  stub sb-reduce "case \" \$* \" in *' --summarize '*)
printf '{\"cluster\":\"fake\",\"backfill_start\":\"2025-05-01\",\"backfill_next\":\"x2026-07\",\"caught_up\":true,\"incremental_since\":\"\\033]0;owned\\007\\033[2J FAKE\"}\\n' > '$cursor' ;;
esac
exec \"$real\" \"\$@\""
  run --separate-stderr sb-poll --cluster fake
  [[ "$output" != *$'\033'* && "$output" != *FAKE* ]]
  [[ "$output" == *"fake: incremental: "* ]]
  [[ "$output" == *"fake: boards: "* ]]          # the poll went on to its rebuild
  [[ "$stderr" != *"value too great"* ]]
}
