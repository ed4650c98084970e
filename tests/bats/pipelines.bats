#!/usr/bin/env bats
# The pipelines' contract with a stand-in sacct (fake-sacct); tests/integration runs them on the
# real cluster.
load test_helper

setup_fake() {
  mkdir -p "$STUBS"
  cp "$BATS_TEST_DIRNAME/fake-sacct" "$STUBS/sacct"
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
  (cd "$SLURM_SB_ROOT" && find . -type f ! -name '*.lock' ! -name 'sacct_rate.json' -exec md5sum {} + | sort)
}

@test "every pipeline has --help and rejects bad usage with exit 2" {
  for tool in sb-backfill sb-incremental sb-discover sb-rebuild sb-poll sb-daemon; do
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
  grep -q '"backfill_next":"2025-06","caught_up":true,"incremental_since":"2025-06-01T00:00:00Z"' \
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

@test "incremental asks only for the window since the cursor, minus the overlap" {
  setup_fake
  sb-backfill --cluster fake --backfill-start 2025-06-01 2>/dev/null
  run sb-incremental --cluster fake --overlap 7200
  [ "$status" -eq 0 ]
  [[ "$(tail -1 "$FAKE_SACCT_LOG")" == *"-S 2025-05-31T22:00:00 -E 2025-06-15T11:59:59"* ]]
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
  FAKE_SACCT_HANG=1 setsid sb-poll --cluster fake --backfill-start 2025-01-01 > /dev/null 2>&1 &
  pid=$!
  sleep 2
  kill -KILL -- "-$pid"
  wait "$pid" || true
  for i in 1 2 3 4 5 6; do sb-poll --cluster fake > /dev/null 2>&1; done
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

@test "discovery fetches new users' history before the backfill start, once" {
  setup_fake
  sb-poll --cluster fake --backfill-start 2025-03-01 > /dev/null 2>&1
  # March's jobs are those of u0, u2, u4 and u6
  [ "$(cat "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt" | tr '\n' ' ')" = "u0 u2 u4 u6 " ]
  grep -q -- "-u u0" "$FAKE_SACCT_LOG"
  grep -q -- "-S 2000-01-01T00:00:00 -E 2025-02-28T23:59:59" "$FAKE_SACCT_LOG"
  sb-poll --cluster fake > /dev/null 2>&1
  [ "$(wc -l < "$SLURM_SB_ROOT/clusters/fake/state/known_users.txt")" -eq 8 ]
  calls="$(grep -c -- ' -u ' "$FAKE_SACCT_LOG")"
  for i in 1 2 3 4; do sb-poll --cluster fake > /dev/null 2>&1; done
  [ "$(grep -c -- ' -u ' "$FAKE_SACCT_LOG")" -eq "$calls" ]
  [ "$(stored)" = "$(truth)" ]
}

@test "a record that reaches slurmdbd late, after the cursor passed its end, is counted once" {
  setup_fake
  sb-backfill --cluster fake --backfill-start 2025-06-01 2>/dev/null
  SLURM_SB_NOW=2025-06-15T11:50:00Z sb-incremental --cluster fake 2>/dev/null
  # Job 9999 ended at 11:30, before the cursor (11:50), but sacct only shows it now.
  echo '9999|9999|fake|late|acct0|COMPLETED|500|2|1|1G|cpu=2,mem=1G,node=1|2025-06-15T11:00:00|2025-06-15T11:21:40|2025-06-15T11:30:00||' \
    >> "$FAKE_SACCT_JOBS"
  SLURM_SB_NOW=2025-06-15T12:00:00Z run sb-incremental --cluster fake
  [ "$status" -eq 0 ]
  [ "$(stored)" = "$(truth 2025-06-01)" ]
  grep -q '"username":"late"' "$SLURM_SB_ROOT/clusters/fake/agg/alltime.json"
  SLURM_SB_NOW=2025-06-15T12:10:00Z run sb-incremental --cluster fake
  [ "$(stored)" = "$(truth 2025-06-01)" ]
}
