#!/usr/bin/env bash
# Summary: Idempotently create Linux users (useradd -m) and their SLURM
#          accounting: the account and a user association in it.
#          Needs root and the private test cluster of cluster-up.sh:
#          $SB_SLURM_ENV names its environment file (sacctmgr and scontrol
#          reach that cluster, never the host's SLURM).
# Usage:   SB_SLURM_ENV=DIR/env add-users.sh ACCOUNT USER [USER...]
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
    echo "add-users.sh: must run as root" >&2
    exit 1
fi
if [[ -z "${SB_SLURM_ENV:-}" || ! -r "$SB_SLURM_ENV" ]]; then
    echo "add-users.sh: SB_SLURM_ENV does not name a test cluster's environment file" \
         "(cluster-up.sh writes DIR/env); refusing to touch the host's SLURM" >&2
    exit 1
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
readonly CLUSTER_MARK
unset SLURM_CONF SB_SLURM_DIR
# shellcheck source=/dev/null
. "$SB_SLURM_ENV"
# the file must be a test cluster's: its SLURM_CONF, where it really leads, inside the folder
# cluster-up.sh marked; what the commands below get is that path, exported
dir="$(realpath -e -- "${SB_SLURM_DIR:-/nonexistent}" 2>/dev/null || true)"
conf="$(realpath -e -- "${SLURM_CONF:-/nonexistent}" 2>/dev/null || true)"
if [[ -z "$dir" || -z "$conf" || ! -f "$dir/$CLUSTER_MARK" || "$conf" != "$dir"/* ]]; then
    echo "add-users.sh: $SB_SLURM_ENV is no test cluster's environment (its SLURM_CONF must be" \
         "inside a folder cluster-up.sh marked); refusing to touch the host's SLURM" >&2
    exit 1
fi
export SLURM_CONF="$conf"
ACCOUNT="$1"; shift

sam() { timeout 30 sacctmgr "$@"; }

# Associations are per cluster: register them on the cluster slurmctld runs now.
CLUSTER="$(scontrol show config | awk '$1 == "ClusterName" {print $3}')"
[[ -n "$CLUSTER" ]] || { echo "add-users.sh: cannot tell the running cluster's name" >&2; exit 1; }

for user in "$@"; do
    if ! id -u "$user" >/dev/null 2>&1; then
        echo "[add-users] useradd $user"
        useradd -m -s /bin/bash "$user"
    fi
done

if [[ -z "$(sam -n -P list assoc accounts="$ACCOUNT" clusters="$CLUSTER" format=account)" ]]; then
    echo "[add-users] adding account $ACCOUNT on $CLUSTER"
    sam -i add account "$ACCOUNT" cluster="$CLUSTER" description="$ACCOUNT" organization=test >/dev/null
fi

for user in "$@"; do
    if [[ -z "$(sam -n -P list assoc users="$user" accounts="$ACCOUNT" clusters="$CLUSTER" format=user)" ]]; then
        echo "[add-users] adding user $user to account $ACCOUNT on $CLUSTER"
        sam -i add user "$user" account="$ACCOUNT" cluster="$CLUSTER" >/dev/null
    fi
done
echo "[add-users] account $ACCOUNT: $*"
