#!/usr/bin/env bats
load test_helper

# Stubs for a healthy site: two users visible, GPU TRES recorded.
healthy_site() {
  stub sacct "printf 'alice\nbob\nalice\n'"
  stub squeue "exit 0"
  stub scontrol "printf 'AccountingStorageTRES   = cpu,mem,gres/gpu\nPrivateData             = none\n'"
}

@test "--help exits 0 and documents the exit codes" {
  run sb-probe --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"2 sacct missing, 3 root not writable"* ]]
}

@test "a healthy site passes (exit 0) and the root gets its folders" {
  healthy_site
  run only_stubs sb-probe --root "$SANDBOX/root"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "SlurmScoreboard Probe Report" ]]
  [[ "$output" == *"Root: $SANDBOX/root (exists=True writable=True)"* ]]
  [[ "$output" == *"Created: clusters, leaderboards, config"* ]]
  [[ "$output" == *"Visibility: OK - sacct -a shows jobs of 2 users"* ]]
  [[ "$output" == *"GPU TRES: OK"* ]]
  [ -d "$SANDBOX/root/clusters" ] && [ -d "$SANDBOX/root/leaderboards" ]
  grep -q '"calls"' "$SANDBOX/root/state/sacct_rate.json"   # counted as a call
  [ ! -e "$SANDBOX/root/clusters/_local" ]
}

@test "sacct missing exits 2" {
  stub squeue "exit 0"
  run only_stubs sb-probe --root "$SANDBOX/root"
  [ "$status" -eq 2 ]
  [[ "$output" == *"sacct    MISSING"* ]]
}

@test "a root that cannot be written exits 3" {
  healthy_site
  : > "$SANDBOX/afile"
  run only_stubs sb-probe --root "$SANDBOX/afile/root"
  [ "$status" -eq 3 ]
  [[ "$output" == *"writable=False"* ]]
}

@test "squeue missing exits 4" {
  healthy_site
  rm "$STUBS/squeue"
  run only_stubs sb-probe --root "$SANDBOX/root"
  [ "$status" -eq 4 ]
}

@test "PrivateData hiding other users' jobs exits 4 with the reason" {
  healthy_site
  # The check runs as an ordinary user (sb-probe takes the name from LOGNAME, as getpass does),
  # so the failure branch is tested even when the suite runs as root.
  stub sacct "echo sbprober"
  stub scontrol "printf 'AccountingStorageTRES   = cpu,mem\nPrivateData             = jobs\n'"
  LOGNAME=sbprober USER=sbprober run only_stubs sb-probe --root "$SANDBOX/root"
  [ "$status" -eq 4 ]
  [[ "$output" == *"User: sbprober"* ]]
  [[ "$output" == *"Visibility: FAIL - PrivateData=jobs hides other users' jobs"* ]]
  [[ "$output" == *"GPU TRES: WARN"* ]]
}

@test "root, whom PrivateData does not hide from, only gets a warning" {
  healthy_site
  stub sacct "echo root"
  stub scontrol "printf 'AccountingStorageTRES   = cpu,mem,gres/gpu\nPrivateData             = jobs\n'"
  LOGNAME=root USER=root run only_stubs sb-probe --root "$SANDBOX/root"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Visibility: WARN"* ]]
}

@test "no root given is a usage error" {
  unset SLURM_SB_ROOT
  run sb-probe
  [ "$status" -eq 2 ]
  [[ "$output" == *"no root folder"* ]]
}

@test "a --cluster slurmdbd does not know exits 5 naming the known ones, and creates nothing" {
  healthy_site
  stub sacctmgr "printf 'hammer\nanvil\n'"
  run --separate-stderr only_stubs sb-probe --root "$SANDBOX/new" --cluster hamer
  [ "$status" -eq 5 ]
  [ "$stderr" = "sb-probe: slurmdbd knows no cluster hamer (it knows: anvil hammer); check --cluster" ]
  [ -z "$output" ]
  [ ! -e "$SANDBOX/new" ]
  run --separate-stderr only_stubs sb-probe --check-cluster hamer
  [ "$status" -eq 5 ]
  [[ "$stderr" == "sb-probe: slurmdbd knows no cluster hamer (it knows: anvil hammer)"* ]]
  # a known name passes, and the report runs
  run only_stubs sb-probe --check-cluster hammer
  [ "$status" -eq 0 ]
  run only_stubs sb-probe --root "$SANDBOX/new" --cluster hammer
  [ "$status" -eq 0 ]
  [ -d "$SANDBOX/new/clusters" ]
  [ -f "$SANDBOX/new/clusters/hammer/state/sacct_rate.json" ]
}

@test "a sacctmgr that fails, is missing or names no plain cluster refuses nothing" {
  healthy_site
  for body in 'exit 1' 'exit 0' "printf 'x/y\n../..\n'"; do
    stub sacctmgr "$body"
    run only_stubs sb-probe --check-cluster hamer
    [ "$status" -eq 0 ]
  done
  rm "$STUBS/sacctmgr"
  run only_stubs sb-probe --root "$SANDBOX/new" --cluster hamer
  [ "$status" -eq 0 ]
  run only_stubs sb-probe --check-cluster ../etc
  [ "$status" -eq 2 ]
  run only_stubs sb-probe --check-cluster hammer --polls
  [ "$status" -eq 2 ]
}

@test "sb-probe --install-info in the checkout names its folders; it goes alone" {
  run sb-probe --install-info
  [ "$status" -eq 0 ]
  [[ "$output" == *"installed from a source checkout"* ]]
  [[ "$output" == *"  pipelines:        $TOP/pipelines"* ]]
  [[ "$output" == *"  man pages:        $TOP/man"* ]]
  run sb-probe --install-info --polls
  [ "$status" -eq 2 ]
  [ "$output" = "sb-probe: --install-info goes alone or with --json (not with --polls)" ]
}
