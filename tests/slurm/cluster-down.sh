#!/usr/bin/env bash
# Summary: Stop the one-node SLURM test cluster started by cluster-up.sh:
#          slurmd, slurmctld, slurmdbd, MariaDB and munged. Idempotent.
#          --purge also drops the slurm_acct_db database (before MariaDB is
#          stopped) and removes the SLURM state dirs under /var/lib/slurm-test.
# Usage:   cluster-down.sh [--purge]
set -euo pipefail

usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }

PURGE=0
for arg in "$@"; do
    case "$arg" in
        -h|--help) usage; exit 0 ;;
        --purge) PURGE=1 ;;
        *) usage >&2; exit 2 ;;
    esac
done
if [[ $EUID -ne 0 ]]; then
    echo "error: must run as root" >&2
    exit 1
fi

BASE=/var/lib/slurm-test
LOGDIR=/var/log/slurm-test
DB_NAME=slurm_acct_db

log() { echo "[cluster-down] $*"; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"


db_up() { mysqladmin --protocol=socket -uroot ping >/dev/null 2>&1; }

stop_proc slurmd 30
stop_proc slurmctld 30
stop_proc slurmdbd 30

if [[ $PURGE -eq 1 ]]; then
    if ! db_up && [[ -d /var/lib/mysql/mysql ]]; then
        log "starting MariaDB to drop $DB_NAME"
        mkdir -p /run/mysqld "$LOGDIR" && chown mysql:mysql /run/mysqld
        setsid nohup /usr/sbin/mariadbd --user=mysql --log-error="$LOGDIR/mariadb.log" \
            </dev/null >/dev/null 2>&1 &
        for i in $(seq 1 60); do db_up && break; sleep 0.5; done
    fi
    if db_up; then
        log "dropping database $DB_NAME"
        mysql --protocol=socket -uroot -e "DROP DATABASE IF EXISTS $DB_NAME;"
    else
        log "warning: MariaDB not reachable, $DB_NAME not dropped" >&2
    fi
fi

if running mariadbd || running mysqld; then
    log "stopping MariaDB"
    mysqladmin --protocol=socket -uroot shutdown >/dev/null 2>&1 || true
    stop_proc mariadbd 30
    stop_proc mysqld 30
fi
stop_proc munged 30

if [[ $PURGE -eq 1 ]]; then
    log "removing $BASE/state and $BASE/slurmd"
    rm -rf "${BASE:?}/state" "${BASE:?}/slurmd"
fi
log "cluster stopped"
