#!/usr/bin/env bash
# Summary: run every test: pytest (unit + integration) and bats.
# Usage:   VENV=.venv TEST_CLUSTER=sbtest tests/run.sh
#          As root, first brings up a private SLURM test cluster in a folder made with mktemp -d
#          under /tmp (tests/slurm/cluster-up.sh: its own configuration, munged, MariaDB and free
#          ports; the host's /etc/slurm, munge and MariaDB are never used) and stops it and
#          removes the folder when the tests end, fail or are interrupted. The host's SLURM,
#          munge and MariaDB files are fingerprinted before and after
#          (tests/slurm/host-fingerprint.sh): any change fails the run. With CI=true a cluster
#          that cannot be brought up fails the run. Elsewhere the integration tests are skipped
#          with a one-line reason.
set -euo pipefail
[[ -n "${SB_DEBUG:-}" ]] && set -x

top="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-.venv}"
[[ "$venv" = /* ]] || venv="$top/$venv"
cluster="${TEST_CLUSTER:-sbtest}"
slurm="$top/tests/slurm"
export PATH="$venv/bin:$PATH"
log() { echo "tests/run.sh: $*" >&2; }
# shellcheck source=slurm/lib.sh
. "$slurm/lib.sh"
# Only a cluster this run brings up is tested: never one named by the caller's environment.
unset SB_SLURM_ENV SB_TEST_CLUSTER SB_USERS_BIN SLURM_CONF

# The test users run the tools too, and they cannot reach a venv whose Python lives under /root:
# install a copy into a venv of the system Python inside the cluster's folder, which every user
# can execute.
users_venv() {
  local dir="$1"
  /usr/bin/python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet orjson mmh3
  "$dir/bin/pip" install --quiet --no-deps "$top"
  chmod -R a+rX "$dir"
}

cluster_dir=""
host_before=""
# finish: stop the cluster, remove its folder, and fail the run if a host file changed.
finish() {
  local status=$? host_after
  if [[ -n "$cluster_dir" ]]; then
    "$slurm/cluster-down.sh" "$cluster_dir" >&2 || rmdir "$cluster_dir" 2>/dev/null || status=1
  fi
  if [[ -n "$host_before" ]]; then
    host_after="$(mktemp)"
    "$slurm/host-fingerprint.sh" >"$host_after"
    if ! diff -u "$host_before" "$host_after" >&2; then
      log "the host's SLURM, munge or MariaDB files changed during the run (above: before," \
          "after); failing"
      status=1
    else
      log "the host's /etc/slurm, munge key and MariaDB data folder are unchanged"
    fi
    rm -f "$host_before" "$host_after"
  fi
  exit "$status"
}

if [[ $EUID -eq 0 ]]; then
  host_before="$(mktemp)"
  "$slurm/host-fingerprint.sh" >"$host_before"
  trap finish EXIT
  exit_on_signals
  cluster_dir="$(mktemp -d /tmp/sb-slurm.XXXXXX)"
  if "$slurm/cluster-up.sh" "$cluster" "$cluster_dir" && users_venv "$cluster_dir/venv"; then
    # shellcheck source=/dev/null
    . "$cluster_dir/env"
    export SB_SLURM_ENV="$cluster_dir/env" SB_USERS_BIN="$cluster_dir/venv/bin"
  elif [[ "${CI:-}" == "true" ]]; then
    log "the SLURM test cluster could not be brought up; failing (CI=true)"
    exit 1
  else
    "$slurm/cluster-down.sh" "$cluster_dir" >&2 || true
    cluster_dir=""
    log "no SLURM test cluster; integration tests will be skipped"
  fi
elif [[ "${CI:-}" == "true" ]]; then
  log "CI needs root to bring up the SLURM test cluster"
  exit 1
fi

status=0
# tests/packaging (EasyBuild for real) is make test-packaging
interruptible "$venv/bin/python" -m pytest -q -rs "$top/tests" --ignore="$top/tests/packaging" || status=$?
stop_if_interrupted
interruptible "$venv/bin/bats" "$top/tests/bats" || status=$?
stop_if_interrupted
exit "$status"
