#!/usr/bin/env bats
load test_helper

@test "make install honours PREFIX and DESTDIR: tools and man pages" {
  run make -C "$TOP" install DESTDIR="$SANDBOX/dest" PREFIX=/usr PYTHON="$VENV_BIN/python"
  [ "$status" -eq 0 ]
  for tool in sb-sacct sb-parse sb-probe; do
    [ -x "$SANDBOX/dest/usr/bin/$tool" ]
    [ -f "$SANDBOX/dest/usr/share/man/man1/$tool.1" ]
  done
  run man -l "$SANDBOX/dest/usr/share/man/man1/sb-parse.1"
  [[ "$output" == *"EXIT STATUS"* ]]
}
