#!/usr/bin/env bash
# Summary: run every test: pytest (unit + integration) and bats.
# Usage:   VENV=.venv TEST_CLUSTER=sbtest tests/run.sh
#          As root, brings up the real SLURM test cluster first (tests/slurm/cluster-up.sh);
#          with CI=true a cluster that cannot be brought up fails the run. Elsewhere the
#          integration tests are skipped with a one-line reason.
set -euo pipefail
[[ -n "${SB_DEBUG:-}" ]] && set -x

top="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-.venv}"
[[ "$venv" = /* ]] || venv="$top/$venv"
cluster="${TEST_CLUSTER:-sbtest}"
export PATH="$venv/bin:$PATH"

# The test users run the tools too, and they cannot reach a venv whose Python lives under /root:
# install a copy into a venv of the system Python that every user can execute.
users_venv() {
  local dir=/var/lib/slurm-test/venv
  [[ -x "$dir/bin/pip" ]] || /usr/bin/python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet orjson mmh3
  "$dir/bin/pip" install --quiet --force-reinstall --no-deps "$top"
  chmod -R a+rX "$dir"
  echo "$dir/bin"
}

if [[ $EUID -eq 0 ]]; then
  if "$top/tests/slurm/cluster-up.sh" "$cluster" && SB_USERS_BIN="$(users_venv)"; then
    export SB_TEST_CLUSTER="$cluster" SB_USERS_BIN
  elif [[ "${CI:-}" == "true" ]]; then
    echo "tests/run.sh: the SLURM test cluster could not be brought up; failing (CI=true)" >&2
    exit 1
  else
    echo "tests/run.sh: no SLURM test cluster; integration tests will be skipped" >&2
  fi
elif [[ "${CI:-}" == "true" ]]; then
  echo "tests/run.sh: CI needs root to bring up the SLURM test cluster" >&2
  exit 1
fi

status=0
"$venv/bin/python" -m pytest -q -rs "$top/tests" || status=$?
"$venv/bin/bats" "$top/tests/bats" || status=$?
exit "$status"
