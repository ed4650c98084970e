# Shared by the tests/slurm scripts and tests/run.sh (sourced). Callers define log().
#
# A private test cluster lives in one folder DIR (made with mktemp -d). Its daemons are started
# with SB_CLUSTER_DAEMON_OF=DIR in their environment and found again by their own pid files under
# DIR, each pid checked for that mark: a host daemon of the same name is never seen, adopted or
# stopped, and a pid reused by another process is never signalled.

CLUSTER_MARK=.sb-test-cluster       # the file that says DIR is a test cluster's folder

# cluster_dir_ok DIR: DIR is an absolute path of plain characters (it goes into config files,
# the env file and command lines unquoted), and not the root folder.
cluster_dir_ok() {
  [[ "$1" =~ ^/[A-Za-z0-9_./-]+$ && "$1" != *..* && "$1" != "/" ]]
}

# daemon_pid PIDFILE DIR: the pid in PIDFILE if that process runs and was started for DIR.
daemon_pid() {
  local file="$1" dir="$2" pid
  pid="$({ tr -dc 0-9 <"$file"; } 2>/dev/null)" || return 1
  [[ -n "$pid" && -r "/proc/$pid/environ" ]] || return 1
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "SB_CLUSTER_DAEMON_OF=$dir" || return 1
  echo "$pid"
}

# stop_daemon NAME PIDFILE DIR [SECONDS]: SIGTERM the daemon of DIR in PIDFILE, wait up to
# SECONDS (default 30), then SIGKILL it.
stop_daemon() {
  local name="$1" file="$2" dir="$3" limit="${4:-30}" pid i
  pid="$(daemon_pid "$file" "$dir")" || return 0
  log "stopping $name ($pid)"
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 $((limit * 4))); do
    daemon_pid "$file" "$dir" >/dev/null || return 0
    sleep 0.25
  done
  log "$name still running, sending SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
  sleep 0.5
}

# free_ports N: N distinct TCP ports nobody listens on, at random in 20000-32767 (below Linux's
# ephemeral range, far from SLURM's 6817-6819 and MariaDB's 3306), one per line.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
wanted, found = int(sys.argv[1]), []
for port in random.SystemRandom().sample(range(20000, 32768), 400):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            continue
    found.append(port)
    if len(found) == wanted:
        break
else:
    sys.exit("no free ports")
print("\n".join(map(str, found)))
PY
}

# exit_on_signals: from now on an INT, TERM or HUP ends the shell at once with 130, 143 or 129
# (running its EXIT trap, which tears the cluster down).
exit_on_signals() {
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# interruptible COMMAND...: run COMMAND in a process group of its own and wait for it. An INT,
# TERM or HUP this shell gets (alone, or with its whole group from a terminal or make) is passed
# on to COMMAND's group and its name kept in INTERRUPTED, so the caller can stop once COMMAND
# has ended (pytest ends its fixtures on an INT) and its EXIT trap then tears the cluster down.
# Returns COMMAND's status; signals then end the shell again (exit_on_signals).
INTERRUPTED=""
interruptible() {
  local child status
  set -m
  "$@" &
  child=$!
  set +m
  trap 'INTERRUPTED=INT; kill -INT -- "-$child" 2>/dev/null || true' INT
  trap 'INTERRUPTED=TERM; kill -TERM -- "-$child" 2>/dev/null || true' TERM
  trap 'INTERRUPTED=HUP; kill -HUP -- "-$child" 2>/dev/null || true' HUP
  while :; do
    status=0
    wait "$child" || status=$?
    kill -0 "$child" 2>/dev/null || break
  done
  exit_on_signals
  return "$status"
}

# stop_if_interrupted: exit as the signal INTERRUPTED names would have (130, 143, 129).
stop_if_interrupted() {
  case "$INTERRUPTED" in
    INT) exit 130 ;;
    TERM) exit 143 ;;
    HUP) exit 129 ;;
  esac
}
