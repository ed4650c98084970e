#!/usr/bin/env bash
# Summary: Bring up a private one-node SLURM 22.05 test cluster in DIR: its own munged (key,
#          socket), MariaDB (data folder, socket, port on 127.0.0.1), slurmdbd, slurmctld and
#          slurmd, with 8 fake CPUs, 8000 MB and 4 fake a100 GPUs. Nothing of the host's
#          SLURM, munge or MariaDB is read, written, adopted or stopped: the configuration is
#          DIR/etc/slurm.conf (not /etc/slurm), every port is a free one chosen now (never
#          6817-6819 or 3306), every daemon is tracked by its pid file under DIR.
#          DIR/env, written once the node is idle, sets what a command needs to reach the
#          cluster (SLURM_CONF, SB_TEST_CLUSTER, SB_MYSQL_SOCKET...): `. DIR/env`, or point
#          SB_SLURM_ENV at it. Stop it and remove DIR with cluster-down.sh DIR (with-cluster.sh
#          does both around a command). Needs root and the Debian packages slurm-wlm,
#          slurmdbd, mariadb-server and munge (it installs nothing); no systemd.
# Usage:   cluster-up.sh CLUSTER_NAME DIR
#          DIR: an empty folder, e.g. made by `mktemp -d /tmp/sb-slurm.XXXXXX`; made
#          readable by every user (the test users read slurm.conf and reach munge's socket).
#          Env: SLURM_TEST_TIMEOUT (seconds to wait for the node, default 90)
#          Logs: DIR/log/*.log
set -euo pipefail

usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; }

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
esac
if [[ $# -ne 2 ]]; then
    usage >&2
    exit 2
fi
CLUSTER="$1"
DIR="${2%/}"
if [[ ! "$CLUSTER" =~ ^[a-z][a-z0-9_]*$ ]]; then
    echo "cluster-up.sh: cluster name must match ^[a-z][a-z0-9_]*\$ (got '$CLUSTER')" >&2
    exit 2
fi
log() { echo "[cluster-up] $*"; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
if ! cluster_dir_ok "$DIR"; then
    echo "cluster-up.sh: DIR must be an absolute path of letters, digits, _ . / - (got '$DIR')" >&2
    exit 2
fi
if [[ $EUID -ne 0 ]]; then
    echo "cluster-up.sh: must run as root" >&2
    exit 1
fi
if [[ ! -d "$DIR" || -L "$DIR" ]] || [[ -n "$(ls -A "$DIR")" ]]; then
    echo "cluster-up.sh: $DIR must be an existing empty folder (mktemp -d)" >&2
    exit 1
fi

HOST="$(hostname -s)"
TIMEOUT="${SLURM_TEST_TIMEOUT:-90}"
ETC=$DIR/etc
LOGDIR=$DIR/log
RUNDIR=$DIR/run
GPUDIR=$DIR/gpu
STATEDIR=$DIR/state
SPOOLDIR=$DIR/spool
MUNGEDIR=$DIR/munge                 # key, seed, pid and log: the munge user's alone (0700)
MUNGE_SOCKET=$DIR/munge-run/munge.socket
DATADIR=$DIR/mysql                  # MariaDB's data folder
DB_SOCKET=$DIR/mysql-run/mysqld.sock
DB_PID=$DIR/mysql-run/mysqld.pid
DB_NAME=slurm_acct_db
DB_USER=slurm
DB_PASS=slurmtestpass

tails() {
    local f
    for f in "$LOGDIR"/*.log "$MUNGEDIR"/munged.log; do
        [[ -f "$f" ]] || continue
        echo "----- tail -n 30 $f -----" >&2
        tail -n 30 "$f" >&2 || true
    done
}
die() { echo "[cluster-up] ERROR: $*" >&2; tails; exit 1; }

# program NAME: the path of a program of the packages (PATH, then /usr/sbin).
program() {
    local found
    found="$(command -v "$1" 2>/dev/null || true)"
    [[ -z "$found" && -x "/usr/sbin/$1" ]] && found="/usr/sbin/$1"
    [[ -n "$found" ]] || die "$1 not found: install slurm-wlm slurmdbd mariadb-server munge"
    echo "$found"
}

# daemon PROGRAM ARGS...: run a daemon of this cluster (it forks), marked as DIR's.
daemon() {
    env SB_CLUSTER_DAEMON_OF="$DIR" SLURM_CONF="$ETC/slurm.conf" "$@" </dev/null
}

# wait_for WHAT SECONDS COMMAND...: run COMMAND every half second until it succeeds; die
# saying WHAT after SECONDS.
wait_for() {
    local what="$1" deadline=$((SECONDS + $2))
    shift 2
    until "$@" >/dev/null 2>&1; do
        (( SECONDS < deadline )) || die "$what"
        sleep 0.5
    done
}

alive() { daemon_pid "$1" "$DIR" >/dev/null; }

MUNGED="$(program munged)"; MUNGE="$(program munge)"; UNMUNGE="$(program unmunge)"
MARIADBD="$(program mariadbd)"; INSTALL_DB="$(program mariadb-install-db)"
MYSQL="$(program mysql)"; MYSQLADMIN="$(program mysqladmin)"
SLURMDBD="$(program slurmdbd)"; SLURMCTLD="$(program slurmctld)"; SLURMD="$(program slurmd)"
program sacctmgr >/dev/null; program sinfo >/dev/null; program scontrol >/dev/null
id -u munge >/dev/null 2>&1 || die "no munge user: install munge"
id -u mysql >/dev/null 2>&1 || die "no mysql user: install mariadb-server"

: >"$DIR/$CLUSTER_MARK"
chmod 0755 "$DIR"
install -d -m 0755 "$ETC" "$LOGDIR" "$RUNDIR" "$GPUDIR" "$STATEDIR" "$SPOOLDIR"
install -d -m 0700 -o munge -g munge "$MUNGEDIR"
install -d -m 0755 -o munge -g munge "$(dirname "$MUNGE_SOCKET")"
install -d -m 0700 -o mysql -g mysql "$DATADIR"
install -d -m 0755 -o mysql -g mysql "$(dirname "$DB_SOCKET")"

mapfile -t PORTS < <(free_ports 4)
[[ ${#PORTS[@]} -eq 4 ]] || die "no free ports"
CTLD_PORT=${PORTS[0]}; SLURMD_PORT=${PORTS[1]}; DBD_PORT=${PORTS[2]}; DB_PORT=${PORTS[3]}
log "ports: slurmctld $CTLD_PORT, slurmd $SLURMD_PORT, slurmdbd $DBD_PORT, MariaDB $DB_PORT"

# ------------------------------------------------------------------ munge
log "starting munged (socket $MUNGE_SOCKET)"
dd if=/dev/urandom of="$MUNGEDIR/munge.key" bs=1024 count=1 status=none
chown munge:munge "$MUNGEDIR/munge.key"
chmod 0400 "$MUNGEDIR/munge.key"
daemon runuser -u munge -- "$MUNGED" --socket="$MUNGE_SOCKET" --key-file="$MUNGEDIR/munge.key" \
    --pid-file="$MUNGEDIR/munged.pid" --seed-file="$MUNGEDIR/munged.seed" \
    --log-file="$MUNGEDIR/munged.log" >/dev/null 2>"$LOGDIR/munged.stderr.log" \
    || die "munged failed to start"
munge_works() { "$MUNGE" --socket="$MUNGE_SOCKET" -n | "$UNMUNGE" --socket="$MUNGE_SOCKET"; }
wait_for "munge does not work" 10 munge_works
alive "$MUNGEDIR/munged.pid" || die "munged has no pid file of its own"

# ---------------------------------------------------------------- MariaDB
log "initialising MariaDB in $DATADIR"
"$INSTALL_DB" --no-defaults --user=mysql --datadir="$DATADIR" --skip-test-db \
    --auth-root-authentication-method=socket >"$LOGDIR/mariadb-install.log" 2>&1 \
    || die "mariadb-install-db failed (see $LOGDIR/mariadb-install.log)"
log "starting MariaDB (port $DB_PORT, socket $DB_SOCKET)"
install -m 0640 -o mysql -g mysql /dev/null "$LOGDIR/mariadb.log"
daemon setsid -f "$MARIADBD" --no-defaults --user=mysql --datadir="$DATADIR" \
    --socket="$DB_SOCKET" --port="$DB_PORT" --bind-address=127.0.0.1 --pid-file="$DB_PID" \
    --log-error="$LOGDIR/mariadb.log" --skip-name-resolve >/dev/null 2>&1
db() { "$MYSQL" --no-defaults --protocol=socket --socket="$DB_SOCKET" --user=root "$@"; }
wait_for "MariaDB did not come up" 60 \
    "$MYSQLADMIN" --no-defaults --protocol=socket --socket="$DB_SOCKET" --user=root ping
alive "$DB_PID" || die "MariaDB has no pid file of its own"
db <<SQL
CREATE DATABASE $DB_NAME;
CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON $DB_NAME.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL

# ------------------------------------------------------------- fake GPUs
for i in 0 1 2 3; do
    mknod -m 0666 "$GPUDIR/gpu$i" c 1 3
done

# ----------------------------------------------------------------- config
# conf FILE MODE: FILE from stdin, owned by root.
conf() {
    install -m "$2" -o root -g root /dev/stdin "$1"
}

conf "$ETC/slurmdbd.conf" 600 <<EOF
# Generated by tests/slurm/cluster-up.sh for the private test cluster in $DIR
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
DebugLevel=info
LogFile=$LOGDIR/slurmdbd.log
PidFile=$RUNDIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME
EOF

conf "$ETC/slurm.conf" 644 <<EOF
# Generated by tests/slurm/cluster-up.sh for the private test cluster in $DIR
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
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
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageTRES=gres/gpu,gres/gpu:a100
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=8 ThreadsPerCore=1 RealMemory=8000 Gres=gpu:a100:4 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

conf "$ETC/gres.conf" 644 <<EOF
# Generated by tests/slurm/cluster-up.sh
AutoDetect=off
NodeName=$HOST Name=gpu Type=a100 File=$GPUDIR/gpu[0-3]
EOF

conf "$ETC/cgroup.conf" 644 <<EOF
# Generated by tests/slurm/cluster-up.sh (cgroups unused: proctrack/linuxproc, task/none)
CgroupPlugin=autodetect
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF

export SLURM_CONF="$ETC/slurm.conf"

# ---------------------------------------------------------------- slurmdbd
log "starting slurmdbd"
daemon "$SLURMDBD" >>"$LOGDIR/slurmdbd.stdout.log" 2>&1 || die "slurmdbd failed to start"
sacctmgr_answers() { timeout 10 sacctmgr -n list cluster; }
wait_for "slurmdbd does not answer (sacctmgr list cluster)" 30 sacctmgr_answers
alive "$RUNDIR/slurmdbd.pid" || die "slurmdbd has no pid file of its own"
log "registering cluster $CLUSTER"
timeout 20 sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster failed"

# --------------------------------------------------------- slurmctld/slurmd
log "starting slurmctld and slurmd"
daemon "$SLURMCTLD" >>"$LOGDIR/slurmctld.stdout.log" 2>&1 || die "slurmctld failed to start"
daemon "$SLURMD" >>"$LOGDIR/slurmd.stdout.log" 2>&1 || die "slurmd failed to start"
wait_for "slurmctld is not running" 15 alive "$RUNDIR/slurmctld.pid"
wait_for "slurmd is not running" 15 alive "$RUNDIR/slurmd.pid"

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
    alive "$RUNDIR/slurmctld.pid" || die "slurmctld died"
    alive "$RUNDIR/slurmd.pid" || die "slurmd died"
    (( SECONDS < deadline )) || die "node $HOST not idle after ${TIMEOUT}s (state '$state')"
    sleep 1
done

cat >"$DIR/env.tmp" <<EOF
# The private SLURM test cluster $CLUSTER (tests/slurm/cluster-up.sh): . this file, or point
# SB_SLURM_ENV at it. One "export NAME=value" a line, nothing else.
export SB_SLURM_DIR=$DIR
export SB_TEST_CLUSTER=$CLUSTER
export SLURM_CONF=$ETC/slurm.conf
export SB_MUNGE_SOCKET=$MUNGE_SOCKET
export SB_MYSQL_SOCKET=$DB_SOCKET
EOF
chmod 0644 "$DIR/env.tmp"
mv "$DIR/env.tmp" "$DIR/env"
echo "cluster $CLUSTER up on $HOST in $DIR (environment: $DIR/env)"
