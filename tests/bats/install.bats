#!/usr/bin/env bats
load test_helper

@test "make install honours PREFIX and DESTDIR: tools, pipelines and man pages" {
  run make -C "$TOP" install DESTDIR="$SANDBOX/dest" PREFIX=/usr PYTHON="$VENV_BIN/python"
  [ "$status" -eq 0 ]
  for tool in sb-sacct sb-parse sb-probe; do
    [ -x "$SANDBOX/dest/usr/bin/$tool" ]
    [ -f "$SANDBOX/dest/usr/share/man/man1/$tool.1" ]
  done
  for pipeline in sb-backfill sb-incremental sb-discover sb-rebuild sb-poll sb-daemon; do
    [ -x "$SANDBOX/dest/usr/bin/$pipeline" ]
    [ -f "$SANDBOX/dest/usr/share/man/man1/$pipeline.1" ]
  done
  [ -f "$SANDBOX/dest/usr/lib/slurm-scoreboard/common.sh" ]
  run "$SANDBOX/dest/usr/bin/sb-poll" --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "Summary: one orchestrated poll"* ]]
  run man -l "$SANDBOX/dest/usr/share/man/man1/sb-parse.1"
  [[ "$output" == *"EXIT STATUS"* ]]
}
