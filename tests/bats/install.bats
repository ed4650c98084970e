#!/usr/bin/env bats
load test_helper

PACKAGE_VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$TOP/lib/slurm_scoreboard/__init__.py")"
TOOLS="sb-sacct sb-parse sb-dedupe sb-reduce sb-rank sb-view sb-probe"
PIPELINES="sb-backfill sb-incremental sb-discover sb-rebuild sb-poll sb-daemon sb-news-post"

# A Python without the project's venv: the system's, as a site installing by hand has.
system_python() {
  for candidate in /usr/bin/python3 "$(command -v python3)"; do
    if [ -x "$candidate" ] && "$candidate" -m pip --version >/dev/null 2>&1; then
      echo "$candidate"; return 0
    fi
  done
  echo "$VENV_BIN/python"
}

# Run a command with nothing from the caller's environment: only the installed bin and the system.
bare() {
  env -i HOME="$SANDBOX" PATH="$SANDBOX/prefix/bin:/usr/bin:/bin" "$@"
}

@test "every tool and pipeline answers --version with the package's version" {
  [ -n "$PACKAGE_VERSION" ]
  for tool in $TOOLS; do
    run "$VENV_BIN/$tool" --version
    [ "$status" -eq 0 ]
    [ "$output" = "$tool (slurm-scoreboard) $PACKAGE_VERSION" ]
  done
  for pipeline in $PIPELINES; do
    run "$TOP/pipelines/$pipeline" --version
    [ "$status" -eq 0 ]
    [ "$output" = "$pipeline (slurm-scoreboard) $PACKAGE_VERSION" ]
  done
}

@test "make install into a PREFIX gives tools that run with an empty environment and the system Python" {
  run make -C "$TOP" install PREFIX="$SANDBOX/prefix" PYTHON="$(system_python)"
  [ "$status" -eq 0 ]
  for tool in $TOOLS $PIPELINES; do
    [ -x "$SANDBOX/prefix/bin/$tool" ]
    [ -f "$SANDBOX/prefix/share/man/man1/$tool.1" ]
    [ -L "$SANDBOX/prefix/share/bash-completion/completions/$tool" ]
    run bare "$tool" --version
    [ "$status" -eq 0 ]
    [ "$output" = "$tool (slurm-scoreboard) $PACKAGE_VERSION" ]
    run bare "$tool" --help
    [ "$status" -eq 0 ]
    [ -n "$output" ]
  done
  # a mini pipeline: two jobs of one user through parse, reduce and rank from the installed copy
  printf '%s\n' "JobID|User|Account|Partition|State|ExitCode|Submit|Start|End|Elapsed|AllocCPUS|AllocTRES|TotalCPU" \
    "1|alice|lab|cpu|COMPLETED|0:0|2026-01-05T10:00:00|2026-01-05T10:00:00|2026-01-05T12:00:00|02:00:00|4|cpu=4,mem=4G,node=1|08:00:00" \
    "2|alice|lab|cpu|FAILED|1:0|2026-01-06T10:00:00|2026-01-06T10:00:00|2026-01-06T11:00:00|01:00:00|2|cpu=2,mem=4G,node=1|02:00:00" \
    > "$SANDBOX/jobs.txt"
  run bare sh -c "sb-parse --cluster demo --tz UTC < '$SANDBOX/jobs.txt' | SLURM_SB_ROOT='$SANDBOX/root' sb-reduce"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"new_jobs":2'* ]]
  run bare env SLURM_SB_ROOT="$SANDBOX/root" sb-rank --window alltime --metric clock_hours --format tsv -o user,value --noheader
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'alice\t10.0')" ]
  # man finds the pages and completion loads in bash
  run bare man -M "$SANDBOX/prefix/share/man" -w sb-poll
  [ "$output" = "$SANDBOX/prefix/share/man/man1/sb-poll.1" ]
  run bare bash -c ". '$SANDBOX/prefix/share/bash-completion/completions/sb-rank'; complete -p sb-rank"
  [ "$status" -eq 0 ]
}

@test "installed tools ignore PYTHONPATH and a user's site-packages" {
  run make -C "$TOP" install PREFIX="$SANDBOX/prefix" PYTHON="$(system_python)"
  [ "$status" -eq 0 ]
  mkdir -p "$SANDBOX/evil/slurm_scoreboard_tools"
  echo 'raise SystemExit("planted module ran")' > "$SANDBOX/evil/slurm_scoreboard_tools/__init__.py"
  run env -i PATH="$SANDBOX/prefix/bin:/usr/bin:/bin" PYTHONPATH="$SANDBOX/evil" sb-parse --version
  [ "$status" -eq 0 ]
  [[ "$output" != *"planted"* ]]
}

@test "make install with DESTDIR stages files whose launchers name the final PREFIX; uninstall removes them all" {
  run make -C "$TOP" install DESTDIR="$SANDBOX/dest" PREFIX=/opt/sb PYTHON="$(system_python)"
  [ "$status" -eq 0 ]
  grep -q "'/opt/sb/lib/slurm-scoreboard/python'" "$SANDBOX/dest/opt/sb/bin/sb-parse"
  ! grep -q "$SANDBOX" "$SANDBOX/dest/opt/sb/bin/sb-parse"
  [ -f "$SANDBOX/dest/opt/sb/lib/slurm-scoreboard/common.sh" ]
  [ -d "$SANDBOX/dest/opt/sb/lib/slurm-scoreboard/python/orjson" ]
  [ -d "$SANDBOX/dest/opt/sb/lib/slurm-scoreboard/python/slurm_scoreboard" ]
  run make -C "$TOP" uninstall DESTDIR="$SANDBOX/dest" PREFIX=/opt/sb
  [ "$status" -eq 0 ]
  run find "$SANDBOX/dest" -type f -o -type l
  [ "$output" = "" ]
}

@test "make install says so when PYTHON is not a Python 3.9 or later" {
  stub python3 'exit 1'
  run make -C "$TOP" install PREFIX="$SANDBOX/prefix" PYTHON="$STUBS/python3"
  [ "$status" -ne 0 ]
  [[ "$output" == *"is not Python 3.9 or later"* ]]
  [ ! -e "$SANDBOX/prefix/bin/sb-parse" ]
}

@test "a reinstall that fails leaves the working install; a symlink at a launcher's place is replaced, not written through" {
  run make -C "$TOP" install PREFIX="$SANDBOX/prefix" PYTHON="$(system_python)"
  [ "$status" -eq 0 ]
  run make -C "$TOP" install PREFIX="$SANDBOX/prefix" PYTHON="$(system_python)" \
    PIP_OPTIONS="--no-index --find-links $SANDBOX/nothing-here"
  [ "$status" -ne 0 ]
  [[ "$output" == *"pip failed; the installed copy (if any) is unchanged"* ]]
  run bare sb-parse --version
  [ "$status" -eq 0 ]
  echo "private" > "$SANDBOX/victim"
  chmod 600 "$SANDBOX/victim"
  ln -sfn "$SANDBOX/victim" "$SANDBOX/prefix/bin/sb-rank"
  run make -C "$TOP" install PREFIX="$SANDBOX/prefix" PYTHON="$(system_python)"
  [ "$status" -eq 0 ]
  [ "$(cat "$SANDBOX/victim")" = "private" ]
  [ "$(stat -c %a "$SANDBOX/victim")" = "600" ]
  [ ! -L "$SANDBOX/prefix/bin/sb-rank" ]
  run bare sb-rank --version
  [ "$status" -eq 0 ]
}

@test "a LIBDIR of its own is found by the pipelines; uninstall removes only what install put there" {
  mkdir -p "$SANDBOX/prefix/share/sb"
  echo keep > "$SANDBOX/prefix/share/sb/other-tool.conf"
  run make -C "$TOP" install PREFIX="$SANDBOX/prefix" LIBDIR="$SANDBOX/prefix/share/sb" \
    PYTHON="$(system_python)"
  [ "$status" -eq 0 ]
  run bare sb-poll --version
  [ "$status" -eq 0 ]
  [[ "$output" == "sb-poll (slurm-scoreboard) "* ]]
  run make -C "$TOP" uninstall PREFIX="$SANDBOX/prefix" LIBDIR="$SANDBOX/prefix/share/sb"
  [ "$status" -eq 0 ]
  [ "$(cat "$SANDBOX/prefix/share/sb/other-tool.conf")" = keep ]
  [ ! -e "$SANDBOX/prefix/share/sb/python" ] && [ ! -e "$SANDBOX/prefix/bin/sb-poll" ]
}

@test "install paths that a launcher could not name safely are refused before anything is written" {
  for prefix in "$SANDBOX/o'brien" "$SANDBOX/\`touch $SANDBOX/ran\`" 'relative/path'; do
    run make -C "$TOP" install PREFIX="$prefix" PYTHON="$(system_python)"
    [ "$status" -ne 0 ]
    [[ "$output" == *"PREFIX"* || "$output" == *"BINDIR"* ]]
  done
  [ ! -e "$SANDBOX/ran" ] && [ ! -e "$SANDBOX/o'brien" ]
}

@test "sb-probe --install-info names make install's places, and they hold what it says" {
  run make -C "$TOP" install PREFIX="$SANDBOX/prefix" PYTHON="$(system_python)"
  [ "$status" -eq 0 ]
  run bare sb-probe --install-info --json
  [ "$status" -eq 0 ]
  info="$output"
  field() { printf '%s' "$info" | "$VENV_BIN/python" -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
  [ "$(field how)" = "make install" ]
  [ "$(field pipelines)" = "$SANDBOX/prefix/bin" ]
  [ -x "$(field pipelines)/sb-poll" ]
  [ -f "$(field man_pages)/man1/sb-rank.1" ]
  [ -f "$(field pipeline_library)/common.sh" ]
  [ -x "$(field systemd_units)/install-units" ]
  [ -f "$(field ondemand_widget)/_slurm_scoreboard.html.erb" ]
  run bare sb-probe --install-info
  [ "$status" -eq 0 ]
  [[ "$output" == *"man pages: found by man while $SANDBOX/prefix/bin is on \$PATH"* ]]
}
