#!/usr/bin/env bats
# make demo's data: generated for the day it runs, the same for the same day, full boards.
load test_helper

@test "the demo's history ends yesterday and is the same for the same day, steps or not" {
  run python3 "$TOP/demo/generate.py" --end 2031-02-03 --out "$SANDBOX/a"
  [ "$status" -eq 0 ]
  python3 "$TOP/demo/generate.py" --end 2031-02-03 --out "$SANDBOX/b" --steps "$SANDBOX/s1" > /dev/null
  python3 "$TOP/demo/generate.py" --end 2031-02-03 --out "$SANDBOX/d" --steps "$SANDBOX/s2" > /dev/null
  cmp "$SANDBOX/s1/gpuhub.txt" "$SANDBOX/s2/gpuhub.txt"     # the step poll's files too
  grep -q "gres/gpuutil=" "$SANDBOX/s1/gpuhub.txt"
  python3 "$TOP/demo/generate.py" --end 2031-02-04 --out "$SANDBOX/c" > /dev/null
  cmp "$SANDBOX/a/hammer.txt" "$SANDBOX/b/hammer.txt"
  ! cmp -s "$SANDBOX/a/hammer.txt" "$SANDBOX/c/hammer.txt"
  last="$(cut -d'|' -f14 "$SANDBOX"/a/*.txt | sort | tail -1)"
  [[ "$last" == 2031-02-03T* ]]
  first="$(cut -d'|' -f14 "$SANDBOX"/a/*.txt | sort | head -1)"
  [[ "$first" > "2030-02-03" ]]
}

@test "make demo's boards are full in every rolling window, today" {
  DEMO_ROOT="$SANDBOX/demo" run "$TOP/demo/run.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"15 of "*" users shown"* ]]
  for window in rolling-7d rolling-30d rolling-365d; do
    run sb-rank --root "$SANDBOX/demo/root" --window "$window" --metric jobs
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -ge 5 ]
  done
  run sb-rank --root "$SANDBOX/demo/root" --user isa --window rolling-30d
  [ "$status" -eq 0 ]
  [[ "$output" == *'"overall":{"rank":'* ]]
}

@test "make demo fills the efficiency boards and says where the site is and how to open it" {
  DEMO_ROOT="$SANDBOX/demo" run "$TOP/demo/run.sh"
  [ "$status" -eq 0 ]
  site="$SANDBOX/demo/site"
  [[ "$output" == *"written to $site:"* ]]
  [[ "$output" == *"file://$site/index.html"* ]]
  [[ "$output" == *"python3 -m http.server 8080 --directory $site"* ]]
  [ -f "$site/index.html" ] && [ -f "$site/players/isa.html" ] && [ -f "$site/search.html" ]
  for metric in cpu_used_hours cpu_efficiency mem_efficiency gpu_utilization; do
    run sb-rank --root "$SANDBOX/demo/root" --window rolling-30d --metric "$metric"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -ge 3 ]
  done
  # every user has their own habits: the efficiencies differ
  run sb-rank --root "$SANDBOX/demo/root" --window rolling-365d --metric cpu_efficiency -f tsv -n -o value
  [ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -ge 10 ]
  grep -q "CPU efficiency" "$site/players/isa.html"
}

@test "make demo ranks yesterday first, so its boards carry movement since the day before" {
  DEMO_ROOT="$SANDBOX/demo" run "$TOP/demo/run.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Rank Move  Name"* ]]
  python3 - "$SANDBOX/demo/root/leaderboards" <<'PY'
import glob, json, sys
boards = [json.load(open(path)) for path in glob.glob(sys.argv[1] + "/rolling-7d_*.json")]
assert boards and all(board["previous_ranks"] for board in boards), "no previous ranks"
moved = [row for board in boards for row in board["rows"] if row.get("previous_rank") != row["rank"]]
assert moved, "no one moved on any 7-day board"
PY
}
