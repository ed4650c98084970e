#!/usr/bin/env bash
# Summary: Stop the private test cluster that cluster-up.sh brought up in DIR and remove DIR:
#          its jobs are cancelled, then slurmd, slurmctld, slurmdbd, MariaDB and munged are
#          stopped by their pid files under DIR (a daemon is signalled only if it was started
#          for DIR: the host's own daemons are never touched). Idempotent; refuses a folder
#          that is not a test cluster's (no DIR/.sb-test-cluster).
#          --keep stops the daemons and leaves DIR (its logs) in place.
# Usage:   cluster-down.sh [--keep] DIR
set -euo pipefail

usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }

KEEP=0
DIR=""
for arg in "$@"; do
    case "$arg" in
        -h|--help) usage; exit 0 ;;
        --keep) KEEP=1 ;;
        -*) usage >&2; exit 2 ;;
        *) [[ -z "$DIR" ]] || { usage >&2; exit 2; }; DIR="${arg%/}" ;;
    esac
done
[[ -n "$DIR" ]] || { usage >&2; exit 2; }

log() { echo "[cluster-down] $*"; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
if ! cluster_dir_ok "$DIR"; then
    echo "cluster-down.sh: DIR must be an absolute path of letters, digits, _ . / - (got '$DIR')" >&2
    exit 2
fi
if [[ $EUID -ne 0 ]]; then
    echo "cluster-down.sh: must run as root" >&2
    exit 1
fi
if [[ ! -e "$DIR" ]]; then
    log "$DIR is gone already"
    exit 0
fi
if [[ -L "$DIR" || ! -f "$DIR/$CLUSTER_MARK" ]]; then
    echo "cluster-down.sh: $DIR is not a test cluster's folder (no $CLUSTER_MARK); left alone" >&2
    exit 1
fi

# Jobs first, so no slurmstepd or job process outlives its slurmd.
export SLURM_CONF="$DIR/etc/slurm.conf"
if daemon_pid "$DIR/run/slurmctld.pid" "$DIR" >/dev/null; then
    jobs="$(timeout 10 squeue -h -o %A 2>/dev/null || true)"
    if [[ -n "$jobs" ]]; then
        log "cancelling jobs: $(echo $jobs)"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 1 40); do
            [[ -z "$(timeout 10 squeue -h -o %A 2>/dev/null || true)" ]] && break
            sleep 0.5
        done
    fi
fi

stop_daemon slurmd "$DIR/run/slurmd.pid" "$DIR"
stop_daemon slurmctld "$DIR/run/slurmctld.pid" "$DIR"
stop_daemon slurmdbd "$DIR/run/slurmdbd.pid" "$DIR"
stop_daemon MariaDB "$DIR/mysql-run/mysqld.pid" "$DIR" 60
stop_daemon munged "$DIR/munge/munged.pid" "$DIR"

if [[ $KEEP -eq 1 ]]; then
    log "cluster stopped; $DIR kept"
else
    rm -rf "${DIR:?}"
    log "cluster stopped, $DIR removed"
fi
