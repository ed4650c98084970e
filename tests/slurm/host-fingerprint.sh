#!/usr/bin/env bash
# Summary: Print a fingerprint of the host's own SLURM, munge and MariaDB files, which the
#          private test cluster must never touch; tests/run.sh compares one taken before the
#          cluster comes up with one taken after it is gone. One line per entry: every entry
#          under /etc/slurm (type, mode, owner, path, and the sha256 of each file's content),
#          /etc/munge/munge.key (its sha256), and the names under /var/lib/mysql two levels
#          deep (the databases and their tables' files; no sizes or times, which the host's
#          own running MariaDB changes), and the mode of /tmp (a test that changed it would
#          break every other account's temporary files, MariaDB's included). A path that does
#          not exist is printed as absent.
# Usage:   host-fingerprint.sh [--root PREFIX]
#          --root: look under PREFIX instead of / (tests of this script use a fake host)
set -euo pipefail

usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }

ROOT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --root) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; ROOT="${2%/}"; shift 2 ;;
        *) usage >&2; exit 2 ;;
    esac
done

# tree PATH: each entry under PATH (PATH itself included), files with their content's sha256.
tree() {
    local top="$ROOT$1" entry sum
    if [[ ! -e "$top" && ! -L "$top" ]]; then
        echo "$1 absent"
        return
    fi
    find "$top" -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' entry; do
        sum=""
        if [[ -f "$entry" && ! -L "$entry" ]]; then
            sum="$({ sha256sum <"$entry" | cut -d' ' -f1; } 2>/dev/null || echo unreadable)"
        fi
        printf '%s %s %s\n' "$(stat -c '%F %a %U:%G' "$entry")" "${entry#"$ROOT"}" "$sum"
    done
}

# names PATH DEPTH: the names under PATH, DEPTH levels deep, with their types only.
names() {
    local top="$ROOT$1"
    if [[ ! -e "$top" ]]; then
        echo "$1 absent"
        return
    fi
    find "$top" -maxdepth "$2" -printf "%y $1/%P\n" | LC_ALL=C sort
}

tree /etc/slurm
tree /etc/munge/munge.key
names /var/lib/mysql 2
if [[ -e "$ROOT/tmp" ]]; then
    printf '/tmp mode %s\n' "$(stat -c '%a' "$ROOT/tmp")"
fi
