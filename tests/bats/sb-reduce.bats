#!/usr/bin/env bats
load test_helper

@test "--help documents the stats and exit code 3" {
  run sb-reduce --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"months_changed"* && "$output" == *"3 another sb-reduce is writing"* ]]
}

@test "stdin records become files; stats JSON on stdout" {
  run --separate-stderr bash -c "$(declare -f records); records 10 | sb-reduce --stdin"
  [ "$status" -eq 0 ]
  [ "$output" = '{"processed":10,"new_jobs":10,"no_account":0,"months_changed":["2025-08"],"users_changed":["u0","u1","u2","u3","u4"],"duplicates":0,"skipped":{},"users_erased":0}' ]
  [ -f "$SLURM_SB_ROOT/clusters/hammer/agg/rollups/monthly/2025-08.json" ]
  [ -f "$SLURM_SB_ROOT/clusters/hammer/agg/users/u0.json" ]
  [ -f "$SLURM_SB_ROOT/clusters/hammer/state/seen/2025-08.bloom" ]
}

@test "version 0.1's one-liner shape works: sb-parse --stdin | sb-reduce --since --until --stdin" {
  line='7|alice|COMPLETED|3600|4|1|4000Mc|||cpu=4,mem=16000M,node=1|2025-08-01T00:00:00|2025-08-01T01:00:00|2025-08-01T02:00:00'
  run bash -c "echo '$line' | sb-parse --stdin --quiet | sb-reduce --cluster hammer --since 2025-08-01 --until 2025-09-01 --stdin"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"new_jobs":1'* ]]
  grep -q '"total_clock_hours":4.0' "$SLURM_SB_ROOT/clusters/hammer/agg/users/alice.json"
}

@test "a second writer of the same cluster exits 3" {
  mkdir -p "$SLURM_SB_ROOT/clusters/hammer/state"
  exec 9>"$SLURM_SB_ROOT/clusters/hammer/state/reduce.lock"
  flock 9
  run --separate-stderr bash -c "$(declare -f records); records 2 | sb-reduce --cluster hammer"
  exec 9>&-
  [ "$status" -eq 3 ]
  [[ "$stderr" == *"another sb-reduce is writing cluster hammer"* ]]
}

@test "a corrupt rollup exits 1, names the file, writes nothing" {
  records 2 | sb-reduce > /dev/null
  echo '{"users": 5}' > "$SLURM_SB_ROOT/clusters/hammer/agg/rollups/monthly/2025-08.json"
  before="$(cd "$SLURM_SB_ROOT" && find . -type f ! -name '*.lock' -exec md5sum {} + | sort)"
  run --separate-stderr bash -c "$(declare -f records); records 4 | sb-reduce"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"2025-08.json: malformed user list; nothing was written"* ]]
  [ "$(cd "$SLURM_SB_ROOT" && find . -type f ! -name '*.lock' -exec md5sum {} + | sort)" = "$before" ]
}

@test "bad arguments are usage errors (exit 2)" {
  run sb-reduce --since yesterday < /dev/null
  [ "$status" -eq 2 ]
  run sb-reduce --cluster 'a b' < /dev/null
  [ "$status" -eq 2 ]
}
