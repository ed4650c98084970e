#!/usr/bin/env bats
load test_helper

@test "--help describes the tool and exits 0" {
  run sb-parse --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"usage: sb-parse"* ]]
  [[ "$output" == *"--fields"* ]]
}

@test "stdin to NDJSON on stdout, summary on stderr" {
  run --separate-stderr bash -c "$(declare -f sb_line); { sb_line 1 alice; sb_line 2 bob; } | sb-parse"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[0]}" == '{"cluster":"hammer","job_id":"1",'* ]]
  [[ "${lines[1]}" == *'"user":"bob"'* ]]
  [[ "$stderr" == *"2 lines, 2 records, 0 skipped"* ]]
}

@test "--stdin is accepted as in version 0.1's one-liner" {
  run bash -c "$(declare -f sb_line); sb_line 1 alice | sb-parse --stdin --quiet"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"job_id":"1"'* ]]
}

@test "a bad line is reported with its number and skipped" {
  run --separate-stderr bash -c "$(declare -f sb_line); { sb_line 1 a; echo 'x|y'; sb_line 2 b; } | sb-parse -o $(printf 'JobID,JobIDRaw,Cluster,User,Account,State,ElapsedRaw,AllocCPUS,NNodes,ReqMem,AllocTRES,Submit,Start,End,MaxRSS,AveRSS')"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "$stderr" == *"stdin:2: expected 16 fields, got 2"* ]]
  [[ "$stderr" == *"wrong field count: 1"* ]]
}

@test "--strict makes a bad line exit 1" {
  run --separate-stderr bash -c "$(declare -f sb_line); { sb_line 1 a; echo '2|2|hammer||p|COMPLETED|1|1|1|||||2025-01-01T00:00:00||'; } | sb-parse --strict"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"missing User"* ]]
  [[ "$stderr" != *Traceback* ]]
}

@test "unknown option and unknown field are usage errors (exit 2)" {
  run sb-parse --bogus
  [ "$status" -eq 2 ]
  run sb-parse --fields JobID,NoSuchField /dev/null
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown sacct field"* ]]
}

@test "an unreadable file exits 1 with one line, no traceback" {
  run sb-parse "$SANDBOX/missing.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == "sb-parse: $SANDBOX/missing.txt: No such file or directory" ]]
}

@test "a closed pipe ends it quietly" {
  python3 -c "
for i in range(200000):
    print(f'{i}|{i}|hammer|u{i%50}|proj|COMPLETED|60|2|1|1G|cpu=2,mem=1G,node=1|2025-08-01T00:00:00|2025-08-01T00:00:00|2025-08-01T00:01:00||')
" > "$SANDBOX/big.txt"
  run --separate-stderr bats_pipe sb-parse --quiet "$SANDBOX/big.txt" \| head -1
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$stderr" != *Traceback* ]]
  [[ "$stderr" != *BrokenPipe* ]]
}

@test "--format xdmod reads the project's own shredder log" {
  run --separate-stderr sb-parse --format xdmod "$TOP/tests/fixtures/xdmod-shredder.log"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 5 ]
  [[ "${lines[1]}" == *'"job_id":"7010"'*'"gpus":4,'* ]]
  [[ "$stderr" == *"5 lines, 5 records, 0 skipped"* ]]
}

@test "real XDMoD log through --format xdmod" {
  need_samples
  run --separate-stderr sb-parse --format xdmod "$SAMPLES/xdmod__referencedata_phillips.txt"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 4285 ]
  [[ "$stderr" == *"4285 lines, 4285 records, 0 skipped"* ]]
}

@test "the README's plain-sacct one-liner (with Account) is read without a header; version 0.1's still is" {
  # what sacct -a -n -P -o JobID,User,Account,State,... prints: a job, its step, a job without account
  printf '%s\n' '300|kim|physics|COMPLETED|600|4|1|4G|||cpu=4,mem=4G,node=1|2025-08-03T00:00:00|2025-08-03T00:00:00|2025-08-03T00:10:00' \
    '300.batch|||COMPLETED|600|4|1||2048K|1024K|cpu=4,mem=4G,node=1|2025-08-03T00:00:00|2025-08-03T00:00:00|2025-08-03T00:10:00' \
    '301|lee||FAILED|60|1|1|1G|||cpu=1,mem=1G,node=1|2025-08-03T00:00:00|2025-08-03T00:00:00|2025-08-03T00:01:00' \
    > "$SANDBOX/readme.txt"
  run --separate-stderr env TZ=UTC sb-parse --stdin --cluster hammer < "$SANDBOX/readme.txt"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[0]}" == *'"job_id":"300",'*'"user":"kim","account":"physics","state":"COMPLETED"'*'"cpus":4,'*'"max_rss_bytes":2097152,'* ]]
  [[ "${lines[1]}" == *'"user":"lee","account":"","state":"FAILED"'* ]]
  [[ "$stderr" == *"3 lines, 2 records, 0 skipped"* ]]
  run env TZ=UTC sb-parse --stdin --format readme-account --quiet < "$SANDBOX/readme.txt"
  [[ "${lines[0]}" == *'"account":"physics"'* ]]
  # version 0.1's 13 fields (no Account) are still recognised
  run bash -c "cut -d'|' -f1-2,4- '$SANDBOX/readme.txt' | TZ=UTC sb-parse --stdin --quiet"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *'"user":"kim","account":"","state":"COMPLETED"'* ]]
}
