#!/usr/bin/env bats
load test_helper

@test "--help lists the backends, keys and exit codes" {
  run sb-view --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--backend"* && "$output" == *"--snapshot"* && "$output" == *"--top"* ]]
}

@test "snapshot of a board: plain text when stdout is not a terminal" {
  records 30 | sb-reduce > /dev/null
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  run sb-view --snapshot --metric jobs --width 80
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *"Hiscores: Jobs"* ]]
  [[ "$output" == *"u0"* ]]
  [[ "$output" != *$'\e['* ]]
}

@test "a root without boards exits 1 and says what to run" {
  mkdir "$SANDBOX/empty"
  run sb-view --snapshot --root "$SANDBOX/empty"
  [ "$status" -eq 1 ]
  [[ "$output" == *"sb-rank --root"* ]]
  [[ "$output" != *Traceback* ]]
}

@test "bad options are usage errors (exit 2)" {
  run sb-view --snapshot --window forever
  [ "$status" -eq 2 ]
  run sb-view --snapshot --top -3
  [ "$status" -eq 2 ]
}

@test "| head ends the snapshot quietly" {
  records 30 | sb-reduce > /dev/null
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  run --separate-stderr bash -c "set -o pipefail; sb-view --snapshot --top 0 | head -2"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "$stderr" != *Traceback* ]]
}

@test "--user names someone on the boards, or exits 5 with one line" {
  records 30 | sb-reduce > /dev/null
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  run sb-view --snapshot --window alltime --user u1
  [ "$status" -eq 0 ]
  [[ "$output" == *"u1"* ]]
  run --separate-stderr sb-view --snapshot --window alltime --user nosuch
  [ "$status" -eq 5 ]
  [ "$output" = "" ]
  [ "$stderr" = "sb-view: no user 'nosuch' on the boards of this scope (cluster all)" ]
}

@test "a user opted out after the rebuild is off every page at once, ranks closed up" {
  records 13 | sb-reduce > /dev/null          # jobs: u0 u1 u2 three each, u3 u4 two each
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  run sb-view --snapshot --metric jobs --width 80
  [[ "$output" =~ " 4  u3 " ]]
  mkdir -p "$SLURM_SB_ROOT/config"
  echo "u0   # asked today" >> "$SLURM_SB_ROOT/config/optout.txt"
  run --separate-stderr sb-view --snapshot --metric jobs --width 80
  [ "$status" -eq 0 ]
  [[ "$output" != *u0* ]]
  [[ "$output" =~ " 1  u1 " && "$output" =~ " 1  u2 " && "$output" =~ " 3  u3 " && "$output" =~ " 3  u4 " ]]
  run --separate-stderr sb-view --snapshot --user u0
  [ "$status" -eq 5 ]
  [ "$stderr" = "sb-view: no user 'u0' on the boards of this scope (cluster all)" ]
  run --separate-stderr sb-view --snapshot --user u1
  [ "$status" -eq 0 ]
  [[ "$output" != *u0* ]]
}

@test "an opt-out list that cannot be read: exit 1, one line naming it, no board" {
  records 13 | sb-reduce > /dev/null
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  rm -f "$SLURM_SB_ROOT/config/optout.txt"
  mkdir -p "$SLURM_SB_ROOT/config/optout.txt"
  run --separate-stderr sb-view --snapshot
  [ "$status" -eq 1 ]
  [ "$output" = "" ]
  [[ "$stderr" == "sb-view: $SLURM_SB_ROOT/config/optout.txt cannot be read ("*"); refusing to go on without the opt-out list"* ]]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}

@test "--gained adds what each name gained in a window; all time is no window to gain in" {
  records 30 | sb-reduce > /dev/null
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  run sb-view --snapshot --metric jobs --gained rolling-30d --width 100
  [ "$status" -eq 0 ]
  [[ "${lines[3]}" == *"30d gain"* ]]
  [[ "$output" =~ " u0 ".*" +"[0-9]+ ]]
  run --separate-stderr sb-view --snapshot --gained alltime
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"--gained"* ]]
}

@test "the personal page's monthly XP: ASCII in a pipe, its months named" {
  records 30 | sb-reduce > /dev/null
  sb-rank --now 2025-08-31T12:00:00Z > /dev/null
  run sb-view --snapshot --user u1 --width 80
  [ "$status" -eq 0 ]
  [[ "${lines[3]}" == *"Monthly XP"* ]]
  [[ "$output" == *"Monthly XP, 2024-09 to 2025-08; _ to @: up to the best month, . none"* ]]
  [[ "$output" =~ "Overall ".*" "[._=+*#%@-]{12} ]]
  [[ "$output" != *$'\xe2'* ]]
}
