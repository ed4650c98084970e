#!/usr/bin/env bats
# make demo's data: generated for the day it runs, the same for the same day, full boards.
load test_helper

@test "the demo's history ends yesterday and is the same for the same day" {
  run python3 "$TOP/demo/generate.py" --end 2031-02-03 --out "$SANDBOX/a"
  [ "$status" -eq 0 ]
  python3 "$TOP/demo/generate.py" --end 2031-02-03 --out "$SANDBOX/b" > /dev/null
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
  [[ "$output" == *"15 of 36 users shown"* ]]
  for window in rolling-7d rolling-30d rolling-365d; do
    run sb-rank --root "$SANDBOX/demo/root" --window "$window" --metric jobs
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -ge 5 ]
  done
  run sb-rank --root "$SANDBOX/demo/root" --user isa --window rolling-30d
  [ "$status" -eq 0 ]
  [[ "$output" == *'"overall":{"rank":'* ]]
}
