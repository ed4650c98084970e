#!/usr/bin/env bats
load test_helper

@test "--help describes filtering, --stats and the exit codes" {
  run sb-dedupe --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--stats"* && "$output" == *"1 a corrupt Bloom file"* ]]
}

@test "unseen records pass, counted ones do not" {
  records 10 > "$SANDBOX/in.ndjson"
  run --separate-stderr sb-dedupe < "$SANDBOX/in.ndjson"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 10 ]
  sb-reduce --quiet < "$SANDBOX/in.ndjson" > /dev/null
  run --separate-stderr sb-dedupe < "$SANDBOX/in.ndjson"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [[ "$stderr" == *"10 records, 0 new, 10 seen before"* ]]
}

@test "new records pass on byte for byte; a job twice in one input passes once" {
  records 6 > "$SANDBOX/in.ndjson"
  { cat "$SANDBOX/in.ndjson"; sed -n 2p "$SANDBOX/in.ndjson"; printf '%s' "$(sed -n 3p "$SANDBOX/in.ndjson")"; } \
    > "$SANDBOX/twice.ndjson"
  run --separate-stderr sb-dedupe < "$SANDBOX/twice.ndjson"
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat "$SANDBOX/in.ndjson")" ]
  [[ "$stderr" == *"8 records, 6 new, 2 seen before"* ]]
}

@test "--stats prints one JSON object per Bloom file" {
  records 10 | sb-reduce > /dev/null
  run sb-dedupe --stats
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *'"month":"2025-08"'*'"items":10'* ]]
}

@test "a corrupt Bloom file exits 1 and names the file" {
  records 3 | sb-reduce > /dev/null
  printf 'garbage' > "$SLURM_SB_ROOT/clusters/hammer/state/seen/2025-08.bloom"
  run --separate-stderr bash -c "$(declare -f records); records 3 | sb-dedupe"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"2025-08.bloom: too short to be a Bloom file"* ]]
}

@test "no root and a hostile cluster are usage errors (exit 2)" {
  unset SLURM_SB_ROOT
  run sb-dedupe < /dev/null
  [ "$status" -eq 2 ]
  run sb-dedupe --root "$SANDBOX/r" --cluster '../x' < /dev/null
  [ "$status" -eq 2 ]
}

@test "a closed pipe ends it quietly" {
  records 20000 > "$SANDBOX/in.ndjson"
  run --separate-stderr bash -c "set -o pipefail; sb-dedupe --quiet < '$SANDBOX/in.ndjson' | head -1"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$stderr" != *Traceback* ]]
}
