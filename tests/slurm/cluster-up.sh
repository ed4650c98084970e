#!/usr/bin/env bash
# Summary: Bring up (idempotently) a one-node SLURM 22.05 test cluster with
#          slurmdbd accounting on loopback: munged, MariaDB, slurmdbd,
#          slurmctld and slurmd, 8 fake CPUs, 8000 MB and 4 fake a100 GPUs.
#          Must run as root; no systemd needed (daemons are started directly).
# Usage:   cluster-up.sh CLUSTER_NAME
#          Env: SLURM_TEST_TIMEOUT (seconds to wait for the node, default 90)
#          Logs: /var/log/slurm-test/*.log   State: /var/lib/slurm-test
set -euo pipefail

usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }

if [[ $# -ne 1 || "$1" == "-h" || "$1" == "--help" ]]; then
    usage
    [[ $# -eq 1 && ( "$1" == "-h" || "$1" == "--help" ) ]] && exit 0
    exit 2
fi
CLUSTER="$1"
if [[ ! "$CLUSTER" =~ ^[a-z][a-z0-9_]*$ ]]; then
    echo "error: cluster name must match ^[a-z][a-z0-9_]*\$ (got '$CLUSTER')" >&2
    exit 2
fi
if [[ $EUID -ne 0 ]]; then
    echo "error: must run as root" >&2
    exit 1
fi

HOST="$(hostname -s)"
TIMEOUT="${SLURM_TEST_TIMEOUT:-90}"
ETC=/etc/slurm
BASE=/var/lib/slurm-test
LOGDIR=/var/log/slurm-test
RUNDIR=/run/slurm-test
GPUDIR=$BASE/gpu
# One state dir per cluster name: switching names never sees a saved
# clustername mismatch and each cluster keeps its own job-id sequence.
STATEDIR=$BASE/state/$CLUSTER
SPOOLDIR=$BASE/slurmd
DB_NAME=slurm_acct_db
DB_USER=slurm
DB_PASS=slurmtestpass

log() { echo "[cluster-up] $*"; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

tails() {
    local f
    for f in "$LOGDIR"/slurmdbd.log "$LOGDIR"/slurmctld.log "$LOGDIR"/slurmd.log \
             "$LOGDIR"/mariadb.log "$LOGDIR"/munged.log; do
        [[ -f "$f" ]] || continue
        echo "----- tail -n 30 $f -----" >&2
        tail -n 30 "$f" >&2 || true
    done
}
die() { echo "[cluster-up] ERROR: $*" >&2; tails; exit 1; }


# ---------------------------------------------------------------- packages
if ! command -v slurmctld >/dev/null 2>&1; then
    log "installing packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends munge mariadb-server mariadb-client \
        slurm-wlm slurmdbd slurm-client
fi

mkdir -p "$ETC" "$BASE" "$LOGDIR" "$RUNDIR" "$GPUDIR" "$STATEDIR" "$SPOOLDIR"

# ------------------------------------------------------------------ munge
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
chown munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating munge key"
    if [[ -x /usr/sbin/mungekey ]]; then
        /usr/sbin/mungekey --create --force --keyfile=/etc/munge/munge.key
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! running munged; then
    log "starting munged"
    touch "$LOGDIR/munged.log"; chown munge:munge "$LOGDIR/munged.log"
    if ! runuser -u munge -- /usr/sbin/munged --log-file="$LOGDIR/munged.log" \
            </dev/null >/dev/null 2>&1; then
        log "munged as user munge failed; retrying as root with --force"
        /usr/sbin/munged --force --log-file="$LOGDIR/munged.log" </dev/null >/dev/null 2>&1 \
            || die "munged failed to start"
    fi
fi
for i in $(seq 1 20); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
    [[ $i -eq 20 ]] && die "munge does not work"
    sleep 0.5
done

# ---------------------------------------------------------------- MariaDB
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
if [[ ! -d /var/lib/mysql/mysql ]]; then
    log "initialising MariaDB datadir"
    mkdir -p /var/lib/mysql && chown mysql:mysql /var/lib/mysql
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$LOGDIR/mariadb-install.log" 2>&1 \
        || die "mariadb-install-db failed (see $LOGDIR/mariadb-install.log)"
fi
if ! running mariadbd && ! running mysqld; then
    log "starting MariaDB"
    touch "$LOGDIR/mariadb.log"; chown mysql:mysql "$LOGDIR/mariadb.log"
    setsid nohup /usr/sbin/mariadbd --user=mysql --log-error="$LOGDIR/mariadb.log" \
        </dev/null >/dev/null 2>&1 &
fi
for i in $(seq 1 60); do
    mysqladmin --protocol=socket -uroot ping >/dev/null 2>&1 && break
    [[ $i -eq 60 ]] && die "MariaDB did not come up"
    sleep 0.5
done
mysql --protocol=socket -uroot <<SQL
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON $DB_NAME.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL

# ------------------------------------------------------------- fake GPUs
for i in 0 1 2 3; do
    [[ -c $GPUDIR/gpu$i ]] || { rm -f "$GPUDIR/gpu$i"; mknod -m 0666 "$GPUDIR/gpu$i" c 1 3; }
done

# ----------------------------------------------------------------- config
# write_conf FILE MODE: write stdin to FILE if content differs; return 0 if changed
write_conf() {
    local file="$1" mode="$2" tmp
    tmp="$(mktemp)"
    cat >"$tmp"
    if [[ -f "$file" ]] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"; chmod "$mode" "$file"; return 1
    fi
    install -m "$mode" -o root -g root "$tmp" "$file"
    rm -f "$tmp"
    log "wrote $file"
    return 0
}

dbd_changed=0; ctl_changed=0
write_conf "$ETC/slurmdbd.conf" 600 <<EOF && dbd_changed=1
# Generated by tests/slurm/cluster-up.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=$LOGDIR/slurmdbd.log
PidFile=$RUNDIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME
EOF

old_cluster=""
[[ -f $ETC/slurm.conf ]] && old_cluster="$(sed -n 's/^ClusterName=//p' "$ETC/slurm.conf" | head -n1)"

write_conf "$ETC/slurm.conf" 644 <<EOF && ctl_changed=1
# Generated by tests/slurm/cluster-up.sh
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATEDIR
SlurmdSpoolDir=$SPOOLDIR
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
PrologFlags=Contain
SlurmdParameters=config_overrides
ReturnToService=2
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
MinJobAge=2
KillWait=2
OverTimeLimit=0
InactiveLimit=0
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu,gres/gpu:a100
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=8 ThreadsPerCore=1 RealMemory=8000 Gres=gpu:a100:4 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

write_conf "$ETC/gres.conf" 644 <<EOF && ctl_changed=1
# Generated by tests/slurm/cluster-up.sh
AutoDetect=off
NodeName=$HOST Name=gpu Type=a100 File=$GPUDIR/gpu[0-3]
EOF

write_conf "$ETC/cgroup.conf" 644 <<EOF && ctl_changed=1
# Generated by tests/slurm/cluster-up.sh (cgroups unused: proctrack/linuxproc, task/none)
CgroupPlugin=autodetect
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF

if [[ -n "$old_cluster" && "$old_cluster" != "$CLUSTER" ]]; then
    log "cluster name changes: $old_cluster -> $CLUSTER"
    # Per-cluster state dirs already avoid the mismatch; this guards a state
    # dir left over with another saved name.
fi
if [[ -f $STATEDIR/clustername ]] && [[ "$(tr -d '\0\n' <"$STATEDIR/clustername")" != "$CLUSTER" ]]; then
    log "clearing $STATEDIR (saved clustername differs)"
    stop_proc slurmctld
    rm -rf "${STATEDIR:?}"/*
fi

# ---------------------------------------------------------------- slurmdbd
if [[ $dbd_changed -eq 1 ]] && running slurmdbd; then stop_proc slurmdbd; fi
if ! running slurmdbd; then
    log "starting slurmdbd"
    /usr/sbin/slurmdbd </dev/null >>"$LOGDIR/slurmdbd.stdout" 2>&1 || die "slurmdbd failed to start"
fi
for i in $(seq 1 60); do
    timeout 10 sacctmgr -n list cluster >/dev/null 2>&1 && break
    [[ $i -eq 60 ]] && die "slurmdbd does not answer (sacctmgr list cluster)"
    running slurmdbd || die "slurmdbd died"
    sleep 0.5
done
if [[ -z "$(timeout 10 sacctmgr -n -P list cluster "$CLUSTER" format=cluster)" ]]; then
    log "registering cluster $CLUSTER"
    timeout 20 sacctmgr -i add cluster "$CLUSTER" >/dev/null
fi

# --------------------------------------------------------- slurmctld/slurmd
if [[ $ctl_changed -eq 1 ]]; then
    stop_proc slurmd
    stop_proc slurmctld
fi
if ! running slurmctld; then
    log "starting slurmctld"
    /usr/sbin/slurmctld </dev/null >>"$LOGDIR/slurmctld.stdout" 2>&1 || die "slurmctld failed to start"
fi
if ! running slurmd; then
    log "starting slurmd"
    /usr/sbin/slurmd </dev/null >>"$LOGDIR/slurmd.stdout" 2>&1 || die "slurmd failed to start"
fi

deadline=$((SECONDS + TIMEOUT))
last_resume=0
while :; do
    state="$(timeout 10 sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n1 || true)"
    case "$state" in
        idle|mixed|allocated|completing) break ;;
        down*|drain*|inval*|fail*)
            if (( SECONDS - last_resume >= 5 )); then
                log "node state '$state', resuming"
                timeout 10 scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
                last_resume=$SECONDS
            fi ;;
    esac
    running slurmctld || die "slurmctld died"
    running slurmd || die "slurmd died"
    (( SECONDS < deadline )) || die "node $HOST not idle after ${TIMEOUT}s (state '$state')"
    sleep 1
done

echo "cluster $CLUSTER up on $HOST"
