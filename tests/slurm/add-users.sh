#!/usr/bin/env bash
# Summary: Idempotently create Linux users (useradd -m) and their SLURM
#          accounting: the account and a user association in it.
#          Needs root and a running cluster (see cluster-up.sh).
# Usage:   add-users.sh ACCOUNT USER [USER...]
set -euo pipefail

usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
esac
if [[ $# -lt 2 ]]; then
    usage >&2
    exit 2
fi
if [[ $EUID -ne 0 ]]; then
    echo "error: must run as root" >&2
    exit 1
fi
ACCOUNT="$1"; shift

sam() { timeout 30 sacctmgr "$@"; }

for user in "$@"; do
    if ! id -u "$user" >/dev/null 2>&1; then
        echo "[add-users] useradd $user"
        useradd -m -s /bin/bash "$user"
    fi
done

if [[ -z "$(sam -n -P list account "$ACCOUNT" format=account)" ]]; then
    echo "[add-users] adding account $ACCOUNT"
    sam -i add account "$ACCOUNT" description="$ACCOUNT" organization=test >/dev/null
fi

for user in "$@"; do
    if [[ -z "$(sam -n -P list assoc users="$user" accounts="$ACCOUNT" format=user)" ]]; then
        echo "[add-users] adding user $user to account $ACCOUNT"
        sam -i add user "$user" account="$ACCOUNT" >/dev/null
    fi
done
echo "[add-users] account $ACCOUNT: $*"
