#!/usr/bin/env bats
load test_helper

# A sacct stub that logs its arguments and prints two sb-sacct lines.
good_sacct() {
  stub sacct "echo \"TZ=\$TZ \$*\" >> '$SANDBOX/calls'
printf '1|1|hammer|alice|proj|COMPLETED|60|2|1|1G|cpu=2,mem=1G,node=1|2025-08-01T00:00:00|2025-08-01T00:00:00|2025-08-01T00:01:00||\n'
printf '2|2|hammer|bob|proj|FAILED|5|1|1|1G|cpu=1,mem=1G,node=1|2025-08-01T00:00:00|2025-08-01T00:00:00|2025-08-01T00:00:05||\n'"
  export PATH="$STUBS:$PATH"
}

@test "--help lists the window, rate-limit and timeout options and the exit codes" {
  run sb-sacct --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--since"* && "$output" == *"--no-wait"* && "$output" == *"--timeout"* ]]
  [[ "$output" == *"3 rate limit reached"* ]]
}

@test "--dry-run prints an allocations-only, terminal-state, UTC sacct call" {
  run sb-sacct --dry-run --month 2025-08 --cluster hammer --user alice
  [ "$status" -eq 0 ]
  [[ "$output" == "TZ=UTC SLURM_TIME_FORMAT=%s sacct -a -n -P -X --format=JobID,JobIDRaw,Cluster,User,Account,State,ElapsedRaw,AllocCPUS,NNodes,ReqMem,AllocTRES,Submit,Start,End,MaxRSS,AveRSS -S 2025-08-01T00:00:00 -E 2025-08-31T23:59:59 --state=BF,CA,CD,DL,F,NF,OOM,PR,TO -u alice -M hammer" ]]
  [[ "$output" != *JobName* && "$output" != *WorkDir* && "$output" != *SubmitLine* ]]
}

@test "--steps drops -X; --chunk day makes one call a day" {
  run sb-sacct --dry-run --steps --since 2025-08-01 --until 2025-08-04 --chunk day
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[0]}" != *" -X "* ]]
  [[ "${lines[2]}" == *"-S 2025-08-03T00:00:00 -E 2025-08-03T23:59:59"* ]]
}

@test "sacct's output reaches stdout unchanged and pipes into sb-parse" {
  good_sacct
  run --separate-stderr sb-sacct --month 2025-08 --cluster hammer
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[1]}" == "2|2|hammer|bob|proj|FAILED|5|1|1|1G|cpu=1,mem=1G,node=1|2025-08-01T00:00:00|2025-08-01T00:00:00|2025-08-01T00:00:05||" ]]
  [[ "$(cat "$SANDBOX/calls")" == "TZ=UTC -a -n -P -X "* ]]
  run bash -c "sb-sacct --month 2025-08 --cluster hammer | sb-parse --quiet"
  [ "$status" -eq 0 ]
  [[ "${lines[1]}" == *'"user":"bob","account":"proj","state":"FAILED"'* ]]
}

@test "a failing sacct gives one line on stderr, nothing on stdout, exit 1" {
  stub sacct "echo '1|partial'; echo 'sacct: error: Problem talking to the database: Connection refused' >&2; exit 1"
  export PATH="$STUBS:$PATH"
  run --separate-stderr sb-sacct --month 2025-08
  [ "$status" -eq 1 ]
  [ -z "$output" ]
  [[ "$stderr" == "sb-sacct: sacct exited with status 1: sacct: error: Problem talking to the database: Connection refused" ]]
}

@test "a hanging sacct is killed after --timeout (exit 5), nothing printed" {
  stub sacct "echo '1|partial'; exec sleep 60"
  export PATH="$STUBS:$PATH"
  run --separate-stderr sb-sacct --month 2025-08 --timeout 1
  [ "$status" -eq 5 ]
  [ -z "$output" ]
  [[ "$stderr" == *"did not finish within 1 s"* ]]
}

@test "no sacct on PATH exits 4" {
  run only_stubs sb-sacct --month 2025-08
  [ "$status" -eq 4 ]
  [[ "$output" == "sb-sacct: sacct not found on PATH" ]]
}

@test "the per-cluster rate limit is shared through the root; --no-wait exits 3" {
  good_sacct
  run sb-sacct --month 2025-08 --cluster hammer --max-calls-per-minute 1 --no-wait
  [ "$status" -eq 0 ]
  run --separate-stderr sb-sacct --month 2025-08 --cluster hammer --max-calls-per-minute 1 --no-wait
  [ "$status" -eq 3 ]
  [[ "$stderr" == *"rate limit reached"* ]]
  run sb-sacct --month 2025-08 --cluster other --max-calls-per-minute 1 --no-wait
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$SANDBOX/calls")" -eq 2 ]
  [ -f "$SLURM_SB_ROOT/clusters/hammer/state/sacct_rate.json" ]
}

@test "calls without --cluster are limited too, and create no cluster" {
  good_sacct
  run sb-sacct --month 2025-08 --max-calls-per-minute 1 --no-wait
  [ "$status" -eq 0 ]
  run sb-sacct --month 2025-08 --max-calls-per-minute 1 --no-wait
  [ "$status" -eq 3 ]
  [ -f "$SLURM_SB_ROOT/state/sacct_rate.json" ]
  [ ! -e "$SLURM_SB_ROOT/clusters" ]
}

@test "an empty rate-limit file is repaired, not a traceback" {
  good_sacct
  mkdir -p "$SLURM_SB_ROOT/clusters/hammer/state"
  : > "$SLURM_SB_ROOT/clusters/hammer/state/sacct_rate.json"
  run --separate-stderr sb-sacct --month 2025-08 --cluster hammer
  [ "$status" -eq 0 ]
  [[ "$stderr" != *Traceback* ]]
  grep -q '"calls"' "$SLURM_SB_ROOT/clusters/hammer/state/sacct_rate.json"
}

@test "bad windows and hostile names are usage errors (exit 2)" {
  run sb-sacct --month 2025-13
  [ "$status" -eq 2 ]
  run sb-sacct --month 2025-08 --since 2025-08-01
  [ "$status" -eq 2 ]
  run sb-sacct --since 2025-08-02 --until 2025-08-01
  [ "$status" -eq 2 ]
  run sb-sacct --month 2025-08 --cluster ../../etc
  [ "$status" -eq 2 ]
  [[ "$output" == *"refusing cluster name"* ]]
  [ ! -e "$SANDBOX/etc" ]
}

@test "a closed pipe ends it quietly" {
  stub sacct "i=0; while [ \$i -lt 100000 ]; do echo \"\$i|line\"; i=\$((i+1)); done"
  export PATH="$STUBS:$PATH"
  run --separate-stderr bats_pipe sb-sacct --month 2025-08 \| head -1
  [ "$status" -eq 0 ]
  [ "$output" = "0|line" ]
  [[ "$stderr" != *Traceback* ]]
}

@test "a --cluster slurmdbd does not know is a usage error before its first call: no sacct call, nothing created" {
  good_sacct
  stub sacctmgr "printf 'hammer\nanvil\n'"
  run --separate-stderr sb-sacct --month 2025-08 --cluster hamer
  [ "$status" -eq 2 ]
  [ "$stderr" = "sb-sacct: slurmdbd knows no cluster hamer (it knows: anvil hammer); check --cluster" ]
  [ -z "$output" ]
  [ ! -e "$SANDBOX/calls" ]
  [ -z "$(ls -A "$SLURM_SB_ROOT")" ]
  # without a root, its call log would go under $XDG_STATE_HOME: nothing there either
  XDG_STATE_HOME="$SANDBOX/xdg" SLURM_SB_ROOT= run sb-sacct --month 2025-08 --cluster hamer
  [ "$status" -eq 2 ]
  [ ! -e "$SANDBOX/xdg" ]
  # a known cluster is fetched; sacctmgr failing or naming none refuses nothing
  run sb-sacct --month 2025-08 --cluster hammer
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  stub sacctmgr 'exit 1'
  run sb-sacct --month 2025-08 --cluster hamer
  [ "$status" -eq 0 ]
  # --help says so
  run sb-sacct --help
  [[ "$output" == *"2 usage error (also: a --cluster slurmdbd does not"* ]]
}
