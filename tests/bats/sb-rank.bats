#!/usr/bin/env bats
load test_helper

setup_store() {
  records 50 | sb-reduce > /dev/null
}

@test "--help lists the modes, windows and exit codes" {
  run sb-rank --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"rolling-30d"* && "$output" == *"3 a"*"store stayed busy"*"4 done, but damaged"* ]]
}

@test "rebuild writes the boards and prints a summary" {
  setup_store
  run sb-rank --now 2025-08-31T12:00:00Z
  [ "$status" -eq 0 ]
  [ "$output" = '{"asof":"2025-08-31T12:00:00Z","boards":140,"written":140,"clusters":["hammer"]}' ]
  [ -f "$SLURM_SB_ROOT/leaderboards/rolling-30d_clock_hours.json" ]
  [ -f "$SLURM_SB_ROOT/leaderboards/clusters/hammer/groups/month_overall.json" ]
}

@test "a rebuild writes only the boards whose rows changed; each keeps the time it last changed" {
  setup_store
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  board="$SLURM_SB_ROOT/leaderboards/alltime_jobs.json"
  before="$(stat -c %i "$board")"
  run sb-rank --now 2025-08-31T13:00:00Z
  [ "$status" -eq 0 ]
  [ "$output" = '{"asof":"2025-08-31T13:00:00Z","boards":140,"written":0,"clusters":["hammer"]}' ]
  [ "$(stat -c %i "$board")" = "$before" ]
  grep -q '^{"asof":"2025-08-31T12:00:00Z",' "$board"
  grep -q '"asof": "2025-08-31T13:00:00Z"' "$SLURM_SB_ROOT/leaderboards/index.json"
  # the first new day gives every row its rank of the day before (previous_rank): written
  run sb-rank --now 2025-09-01T00:00:00Z
  [ "$status" -eq 0 ]
  grep -q '^{"asof":"2025-09-01T00:00:00Z",' "$board"
  grep -q '"user":"u0","value":10,.*"previous_rank":1' "$board"
  # a new day moves every window but alltime: those boards are written, with the new time;
  # the all-time board, whose rows and ranks of the day before are the same, is left alone
  run sb-rank --now 2025-09-02T00:00:00Z
  [ "$status" -eq 0 ]
  [[ "$output" == '{"asof":"2025-09-02T00:00:00Z","boards":140,"written":'* ]]
  grep -q '^{"asof":"2025-09-02T00:00:00Z",' "$SLURM_SB_ROOT/leaderboards/rolling-7d_jobs.json"
  grep -q '^{"asof":"2025-09-01T00:00:00Z",' "$board"
}

@test "a rebuild writes what each user and group gained each month (leaderboards/progress)" {
  setup_store
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  progress="$SLURM_SB_ROOT/leaderboards/progress"
  [ "$(ls "$progress")" = $'all_groups.ndjson\nall_users.ndjson\ncluster-hammer_groups.ndjson\ncluster-hammer_users.ndjson' ]
  head -1 "$progress/all_users.ndjson" | grep -q '"format":"slurm-scoreboard-progress","version":1,"scope":"all","kind":"users"'
  run grep '"name":"u0"' "$progress/all_users.ndjson"
  [[ "$output" == '{"name":"u0","months":["2025-08"],"xp":{"overall":['*'"jobs":[1000]}'*'"jobs":[10]}}' ]]
  [ "$(wc -l < "$progress/all_users.ndjson")" -eq 6 ]
}

@test "one board as NDJSON on stdout, ranked" {
  setup_store
  run sb-rank --now 2025-08-31T12:00:00Z --window alltime --metric jobs
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 5 ]
  [ "${lines[0]}" = '{"rank":1,"user":"u0","value":10,"xp":1000,"level":9,"virtual_level":9}' ]
  [[ "${lines[4]}" == '{"rank":1,"user":"u4",'* ]]
}

@test "| head ends it quietly" {
  python3 -c "
import json
for i in range(30000):
    print(json.dumps({'cluster':'hammer','job_id':str(i),'key':f'{i}@x','user':f'user{i}','account':'p','state':'COMPLETED','terminal':True,'start':'2025-08-01T00:00:00Z','end':'2025-08-02T00:00:00Z','elapsed_s':60+i,'cpus':1,'nodes':1,'gpus':0,'cpu_seconds':60+i,'gpu_seconds':0}))
" | sb-reduce > /dev/null
  run --separate-stderr bash -c "set -o pipefail; sb-rank --window alltime --metric clock_hours | head -2"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "$stderr" != *Traceback* ]]
}

@test "a bad XP config exits 1 with the reason" {
  setup_store
  mkdir -p "$SLURM_SB_ROOT/config"
  echo '{"rates": {"cooking": 3}}' > "$SLURM_SB_ROOT/config/xp.json"
  run sb-rank
  [ "$status" -eq 1 ]
  [[ "$output" == *"unknown skill 'cooking'"* ]]
}

@test "a store busy with an update exits 3" {
  setup_store
  exec 9>"$SLURM_SB_ROOT/clusters/hammer/state/store.lock"
  flock 9
  run timeout 60 sb-rank --window alltime --metric jobs --wait 1
  exec 9>&-
  [ "$status" -eq 3 ]
  [[ "$output" == *"an update is being applied"* ]]
  [[ "$output" != *Traceback* ]]
}

@test "usage errors exit 2" {
  run sb-rank --window alltime
  [ "$status" -eq 2 ]
  run sb-rank --window forever --metric jobs
  [ "$status" -eq 2 ]
}

@test "--from-files answers from the board files at once while a store is busy" {
  setup_store
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  exec 9>"$SLURM_SB_ROOT/clusters/hammer/state/store.lock"
  flock 9
  run --separate-stderr timeout 60 sb-rank --user u0 --from-files
  [ "$status" -eq 0 ]
  [[ "$output" == '{"user":"u0","overall":{"rank":1,'* ]]
  [[ "$output" == *'"asof":"2025-08-31T12:00:00Z"'* ]]
  run --separate-stderr timeout 60 sb-rank --window alltime --metric jobs --from-files
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = '{"rank":1,"user":"u0","value":10,"xp":1000,"level":9,"virtual_level":9}' ]
  # from the store, a user on no cluster read because its store stayed busy is not "no such
  # user" (5): try again later (3)
  run timeout 60 sb-rank --user u0 --wait 0
  exec 9>&-
  [ "$status" -eq 3 ]
  [[ "$output" == *"user u0 is on no board of the clusters read, and hammer stayed busy"* ]]
}

@test "--from-files goes with a query, and not with --account" {
  run sb-rank --from-files
  [ "$status" -eq 2 ]
  [[ "$output" == *"--from-files answers --user or --window/--metric, not --account"* ]]
  run sb-rank --window alltime --metric jobs --account proj --from-files
  [ "$status" -eq 2 ]
}
