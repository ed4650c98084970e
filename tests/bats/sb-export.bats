#!/usr/bin/env bats
load test_helper

NOW=2025-08-31T12:00:00Z

setup_boards() {
  records 50 | sb-reduce > /dev/null
  sb-rank --now "$NOW" > /dev/null
}

@test "--help lists the formats, the bound and the exit codes" {
  run sb-export --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"openmetrics"* && "$output" == *"html"* && "$output" == *"--top"* ]]
  [[ "$output" == *"3 another sb-export is writing DIR, 4 written, but unreadable"* ]]
}

@test "openmetrics on stdout: every board's top rows, ending with # EOF" {
  setup_boards
  run --separate-stderr sb-export --format openmetrics --top 2
  [ "$status" -eq 0 ]
  [ "$stderr" = "" ]
  [ "${lines[-1]}" = "# EOF" ]
  [[ "$output" == *'slurm_scoreboard_user_rank{user="u0",skill="jobs",window="alltime",slurm_cluster="all"} 1'* ]]
  [ "$(grep -c '^slurm_scoreboard_user_value{.*skill="jobs",window="alltime",slurm_cluster="all"}' <<< "$output")" -eq 2 ]
}

@test "--output - is standard output, never a file named -" {
  setup_boards
  cd "$SANDBOX"
  run --separate-stderr sb-export --format openmetrics --top 2 --output -
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "# EOF" ]
  [ ! -e "$SANDBOX/-" ]
  run sb-export --format html --output -
  [ "$status" -eq 2 ]
}

@test "openmetrics --output: a .prom file, written atomically, nothing on stdout" {
  setup_boards
  run sb-export --format openmetrics --output "$SANDBOX/textfile/slurm_scoreboard.prom"
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
  [ "$(ls -A "$SANDBOX/textfile")" = "slurm_scoreboard.prom" ]
  [ "$(tail -1 "$SANDBOX/textfile/slurm_scoreboard.prom")" = "# EOF" ]
}

@test "html: a site folder, published as a symlink to a fresh generation" {
  setup_boards
  run sb-export --format html --output "$SANDBOX/www/hiscores"
  [ "$status" -eq 0 ]
  [ -L "$SANDBOX/www/hiscores" ]
  [ -f "$SANDBOX/www/hiscores/index.html" ]
  [ -f "$SANDBOX/www/hiscores/players/u0.html" ]
  grep -q '<td class="name"><a href="players/u0.html">u0</a>' "$SANDBOX/www/hiscores/index.html"
}

@test "usage errors exit 2" {
  run sb-export
  [ "$status" -eq 2 ]
  run sb-export --format xml
  [ "$status" -eq 2 ]
  run --separate-stderr sb-export --format html
  [ "$status" -eq 2 ]
  [ "$stderr" = "sb-export: --format html needs --output DIR (the site's folder)" ]
  run sb-export --format openmetrics --top 0
  [ "$status" -eq 2 ]
}

@test "a root without boards exits 1 and says what to run" {
  run --separate-stderr sb-export --format openmetrics
  [ "$status" -eq 1 ]
  [[ "$stderr" == "sb-export: no leaderboards under $SLURM_SB_ROOT: run sb-rank --root"* ]]
  [[ "$stderr" != *Traceback* ]]
  run sb-export --format openmetrics --root "$SANDBOX/nosuch"
  [ "$status" -eq 1 ]
  [[ "$output" == *"no scoreboard root at"* ]]
}

@test "a folder sb-export did not write is refused (exit 1), its files untouched" {
  setup_boards
  mkdir -p "$SANDBOX/www"
  echo keep > "$SANDBOX/www/mine.txt"
  run sb-export --format html --output "$SANDBOX/www"
  [ "$status" -eq 1 ]
  [[ "$output" == *"is a folder sb-export did not write"* ]]
  [ "$(cat "$SANDBOX/www/mine.txt")" = keep ]
}

@test "another sb-export writing the same site: exit 3" {
  setup_boards
  mkdir -p "$SANDBOX/www"
  exec 9>"$SANDBOX/www/.hiscores.lock"
  flock 9
  SLURM_SB_LOCK_WAIT=0 run sb-export --format html --output "$SANDBOX/www/hiscores"
  exec 9>&-
  [ "$status" -eq 3 ]
  [[ "$output" == *".hiscores.lock is held"* ]]
}

@test "an unreadable board is named, left out, and the export still written: exit 4" {
  setup_boards
  echo '{broken' > "$SLURM_SB_ROOT/leaderboards/month_jobs.json"
  run --separate-stderr sb-export --format openmetrics
  [ "$status" -eq 4 ]
  [ "$stderr" = "sb-export: $SLURM_SB_ROOT/leaderboards/month_jobs.json: not valid JSON; left out" ]
  [ "${lines[-1]}" = "# EOF" ]
}

@test "| head ends it quietly" {
  setup_boards
  run --separate-stderr bash -c "set -o pipefail; sb-export --format openmetrics | head -1"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [ "$stderr" = "" ]
}

@test "a user opted out after the rebuild is in no export, ranks closed up" {
  records 13 | sb-reduce > /dev/null          # jobs: u0 u1 u2 three each, u3 u4 two each
  sb-rank --now "$NOW" > /dev/null
  mkdir -p "$SLURM_SB_ROOT/config"
  echo u0 >> "$SLURM_SB_ROOT/config/optout.txt"
  run --separate-stderr sb-export --format openmetrics
  [ "$status" -eq 0 ]
  [[ "$output" != *'user="u0"'* ]]
  [[ "$output" == *'slurm_scoreboard_user_rank{user="u3",skill="jobs",window="alltime",slurm_cluster="all"} 3'* ]]
  run sb-export --format html --output "$SANDBOX/www/hiscores"
  [ "$status" -eq 0 ]
  [ ! -e "$SANDBOX/www/hiscores/players/u0.html" ]
  ! grep -rq u0 "$SANDBOX/www/hiscores/"
}
