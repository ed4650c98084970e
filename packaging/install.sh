#!/usr/bin/env bash
# Summary: make install / make uninstall, with every path taken from the environment (never
# pasted into a command line, so no path is run as code).
# Usage:   PREFIX=... BINDIR=... MANDIR=... LIBDIR=... COMPDIR=... DATADIR=... [DESTDIR=...] PYTHON=...
#          [PIP_OPTIONS=...] packaging/install.sh install|uninstall
#
# install: the code and its dependencies (orjson, mmh3) go to LIBDIR/python (pip --target,
# nothing in the system's site-packages), built beside the old copy and swapped in only when pip
# succeeded, so a failed upgrade leaves the working install as it was. BINDIR gets one launcher
# per tool that runs that code with the real interpreter behind PYTHON (not a pyenv shim) in
# isolated mode (-I: no PYTHONPATH, no user site), and the pipelines, told where LIBDIR is. Man
# pages and bash completion go where man and bash-completion look; the systemd units (and their
# install-units) and the OnDemand widget to DATADIR; LIBDIR/install.json records every place
# for sb-probe --install-info. Launchers name the final paths; DESTDIR only stages them. Files are replaced, never written through a symlink.
# uninstall removes what install put there and nothing else.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"

die() { printf 'make %s: %s\n' "$action" "$1" >&2; exit 1; }

action="${1:?install or uninstall}"
for name in PREFIX BINDIR MANDIR LIBDIR COMPDIR DATADIR; do
  value="${!name:-}"
  [[ "$value" == /* ]] || die "$name must be an absolute path (got '$value')"
  [[ "$value" != *[\'\"\\\`\$]* && "$value" != *$'\n'* ]] ||
    die "$name holds a quote, backslash, backtick, \$ or newline; launchers cannot name it safely"
done
stage="${DESTDIR:-}"
tools=()
while IFS= read -r entry; do tools+=("$entry"); done < <(
  sed -n 's/^\(sb-[a-z-]*\) = "slurm_scoreboard_tools\.\([a-z_]*\):main"/\1:\2/p' pyproject.toml)
pipelines=(pipelines/sb-*)
manpages=(man/man1/*.1)
# what goes to DATADIR: the systemd units' templates and installer, the OnDemand widget
datafiles=(packaging/systemd/install-units packaging/systemd/*.in
           packaging/ondemand/_slurm_scoreboard.html.erb packaging/ondemand/slurm_scoreboard.yml
           packaging/ondemand/env.example)

# put SOURCE TARGET MODE: copy a file into place by renaming a temp copy (a symlink or file
# standing at TARGET is replaced, never written through).
put() {
  local temp
  temp="$(mktemp "$(dirname "$2")/.sb-install.XXXXXX")"
  cat "$1" > "$temp"
  chmod "$3" "$temp"
  mv -fT "$temp" "$2"
}

# launcher MODULE: the shell launcher of one tool.
launcher() {
  printf '#!/bin/sh\n# Written by make install: the code and its dependencies are in %s/python.\n' "$LIBDIR"
  printf "exec '%s' -I -c 'import sys; sys.path.insert(0, sys.argv.pop(1)); from slurm_scoreboard_tools.%s import main; sys.exit(main())' '%s/python' \"\$@\"\n" \
    "$interpreter" "$1" "$LIBDIR"
}

# private_folder PATH: the first folder above PATH that other accounts cannot enter, if any.
private_folder() {
  local dir="$1"
  local mode
  while dir="$(dirname "$dir")"; [[ "$dir" != / ]]; do
    mode="$(stat -c %A "$dir")"
    [[ "$mode" == ?????????[xt]* ]] || { printf '%s' "$dir"; return; }
  done
}

install_all() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null ||
    die "$PYTHON is not Python 3.9 or later"
  interpreter="$("$PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
  [[ "$interpreter" == /* && "$interpreter" != *[\'\"\\\`\$]* ]] ||
    die "cannot name $PYTHON's interpreter safely ($interpreter)"
  private="$(private_folder "$interpreter")"
  [[ -z "$private" ]] ||
    echo "make install: note: $interpreter is inside $private, which other accounts cannot enter; for tools everyone can run, pass PYTHON=/usr/bin/python3" >&2
  local lib="$stage$LIBDIR" fresh
  mkdir -p "$lib" "$stage$BINDIR" "$stage$MANDIR/man1" "$stage$COMPDIR" \
    "$stage$DATADIR/systemd" "$stage$DATADIR/ondemand"
  fresh="$(mktemp -d "$lib/.python-new.XXXXXX")"
  # shellcheck disable=SC2086
  if ! "$PYTHON" -m pip install -qq --no-compile --no-warn-script-location \
       --target "$fresh" ${PIP_OPTIONS:-} .; then
    rm -rf "$fresh"
    die "pip failed; the installed copy (if any) is unchanged"
  fi
  # the wheel's scripts, man pages and pipeline library land beside the code with --target:
  # this script puts its own where they belong
  rm -rf "${fresh:?}/bin" "${fresh:?}/share" "${fresh:?}/lib"
  chmod 755 "$fresh"
  rm -rf "$lib/python.old"
  [[ ! -e "$lib/python" ]] || mv -T "$lib/python" "$lib/python.old"
  mv -T "$fresh" "$lib/python"
  rm -rf "$lib/python.old"
  local entry temp pipeline mode
  for entry in "${tools[@]}"; do
    temp="$(mktemp)"
    launcher "${entry##*:}" > "$temp"
    put "$temp" "$stage$BINDIR/${entry%%:*}" 755
    rm -f "$temp"
  done
  for pipeline in "${pipelines[@]}"; do
    temp="$(mktemp)"
    # shellcheck disable=SC2016  # the pipeline's own text, replaced as it stands
    local here_lib='"$here/../lib/slurm-scoreboard"'
    local text
    text="$(cat "$pipeline")"
    printf '%s\n' "${text//"$here_lib"/"'$LIBDIR' $here_lib"}" > "$temp"
    put "$temp" "$stage$BINDIR/${pipeline##*/}" 755
    rm -f "$temp"
  done
  put pipelines/lib/common.sh "$lib/common.sh" 644
  put pipelines/lib/paths.sh "$lib/paths.sh" 644
  for entry in "${manpages[@]}"; do put "$entry" "$stage$MANDIR/man1/${entry##*/}" 644; done
  put completions/slurm-scoreboard.bash "$stage$COMPDIR/slurm-scoreboard" 644
  for entry in "${tools[@]%%:*}" "${pipelines[@]##*/}"; do
    ln -sfn slurm-scoreboard "$stage$COMPDIR/$entry"
  done
  for entry in "${datafiles[@]}"; do
    mode=644
    [[ -x "$entry" ]] && mode=755
    put "$entry" "$stage$DATADIR/$(basename "$(dirname "$entry")")/${entry##*/}" "$mode"
  done
  temp="$(mktemp)"
  install_record > "$temp"
  put "$temp" "$lib/install.json" 644
  rm -f "$temp"
}

# install_record: where everything went (final paths), for sb-probe --install-info.
install_record() {
  "$interpreter" -I -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
    tools "$BINDIR" pipelines "$BINDIR" pipeline_library "$LIBDIR" man_pages "$MANDIR" \
    bash_completion "$COMPDIR/slurm-scoreboard" systemd_units "$DATADIR/systemd" \
    ondemand_widget "$DATADIR/ondemand"
}

uninstall_all() {
  local entry lib="$stage$LIBDIR"
  for entry in "${tools[@]%%:*}" "${pipelines[@]##*/}"; do
    rm -f "$stage$BINDIR/$entry" "$stage$COMPDIR/$entry"
  done
  for entry in "${manpages[@]##*/}"; do rm -f "$stage$MANDIR/man1/$entry"; done
  rm -f "$stage$COMPDIR/slurm-scoreboard" "$lib/common.sh" "$lib/paths.sh" "$lib/install.json"
  for entry in "${datafiles[@]}"; do
    rm -f "$stage$DATADIR/$(basename "$(dirname "$entry")")/${entry##*/}"
  done
  rmdir "$stage$DATADIR/systemd" "$stage$DATADIR/ondemand" "$stage$DATADIR" 2>/dev/null || true
  rm -rf "$lib/python" "$lib/python.old"
  rmdir "$lib" 2>/dev/null || true
}

case "$action" in
  install) install_all ;;
  uninstall) uninstall_all ;;
  *) die "unknown action '$action'" ;;
esac
