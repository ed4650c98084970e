# Shared by cluster-up.sh and cluster-down.sh (sourced). Callers define log().

running() { pgrep -x "$1" >/dev/null 2>&1; }

# stop_proc NAME [SECONDS]: SIGTERM by pid, wait up to SECONDS (default 15), then SIGKILL.
stop_proc() {
    local name="$1" limit="${2:-15}" i pids
    pids="$(pgrep -x "$name" || true)"
    [[ -n "$pids" ]] || return 0
    log "stopping $name ($pids)"
    kill $pids 2>/dev/null || true
    for i in $(seq 1 $((limit * 2))); do
        running "$name" || return 0
        sleep 0.5
    done
    log "$name still running, sending SIGKILL"
    kill -9 $(pgrep -x "$name" || true) 2>/dev/null || true
    sleep 0.5
}
