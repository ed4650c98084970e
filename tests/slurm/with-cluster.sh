#!/usr/bin/env bash
# Summary: Run COMMAND with a private SLURM test cluster up: a folder made with mktemp -d
#          under /tmp, cluster-up.sh CLUSTER in it, COMMAND with the cluster's environment
#          (the variables of DIR/env exported, SB_SLURM_ENV naming the file), then
#          cluster-down.sh: the daemons stopped and the folder removed, also when COMMAND
#          fails or the run is interrupted. Exits with COMMAND's status (1 when the cluster
#          cannot be brought up). Needs root. `make bench` and `make bench-smoke` run
#          through it.
# Usage:   with-cluster.sh CLUSTER_NAME COMMAND [ARGS...]
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
    echo "with-cluster.sh: must run as root (the test cluster's daemons, its users)" >&2
    exit 1
fi
cluster="$1"; shift
here="$(cd "$(dirname "$0")" && pwd)"

log() { echo "[with-cluster] $*" >&2; }
# shellcheck source=lib.sh
. "$here/lib.sh"

dir="$(mktemp -d /tmp/sb-slurm.XXXXXX)"
down() { "$here/cluster-down.sh" "$dir" >&2 || true; }
trap down EXIT
exit_on_signals

"$here/cluster-up.sh" "$cluster" "$dir" >&2
# shellcheck source=/dev/null
. "$dir/env"
export SB_SLURM_ENV="$dir/env"
status=0
interruptible "$@" || status=$?
stop_if_interrupted
exit "$status"
