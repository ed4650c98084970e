# Shared set-up for the bats tests: PATH with the stubs and the project's tools first, guards for
# the SLURM commands behind them, a sandbox folder.
bats_require_minimum_version 1.5.0
TOP="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
VENV_BIN="${SB_VENV_BIN:-$TOP/.venv/bin}"
SAMPLES="${SB_SACCT_SAMPLES:-$TOP/../shared/sacct-samples}"

# The SLURM commands a tool may run: the machine's own (a site's, or a test cluster's) are never
# reached from a bats test.
SLURM_COMMANDS="sacct sacctmgr squeue scontrol sinfo sbatch srun scancel sreport sshare sstat"

setup() {
  SANDBOX="$(mktemp -d "${BATS_TMPDIR:-/tmp}/sb-bats.XXXXXX")"
  STUBS="$SANDBOX/stubs"
  GUARD="$SANDBOX/guard"
  mkdir -p "$STUBS" "$GUARD"
  # a sacctmgr that names no cluster (so no cluster name is refused)
  stub sacctmgr 'exit 0'
  # behind the stubs, a guard for every SLURM command: a test that did not stub one fails
  # loudly instead of asking the machine's SLURM (only_stubs leaves the guards out, so
  # "sacct missing" is still missing there)
  local name
  for name in $SLURM_COMMANDS; do
    printf '#!/bin/sh\necho "bats: a test ran the real %s; stub it (stub %s ...)" >&2\nexit 99\n' \
      "$name" "$name" > "$GUARD/$name"
    chmod +x "$GUARD/$name"
  done
  export PATH="$STUBS:$VENV_BIN:$GUARD:$PATH"
  export SLURM_SB_ROOT="$SANDBOX/root"
  mkdir -p "$SLURM_SB_ROOT"
  unset SLURM_SB_NOW SLURM_SB_SACCT_PER_MIN
}

teardown() {
  rm -rf "$SANDBOX"
}

# need_samples: skip a test without ../shared/sacct-samples, except under CI, where it fails.
need_samples() {
  [ -f "$SAMPLES/INDEX.md" ] && return 0
  if [ "${CI:-}" = "true" ]; then
    echo "real sacct samples not found at $SAMPLES (CI must have them)" >&2
    return 1
  fi
  skip "sacct samples not present"
}

# stub NAME 'shell body': an executable NAME in $STUBS running the body under /bin/sh.
stub() {
  printf '#!/bin/sh\n%s\n' "$2" > "$STUBS/$1"
  chmod +x "$STUBS/$1"
}

# Run a tool with only the stubs on PATH, so the real SLURM commands are hidden.
only_stubs() {
  local tool="$1"; shift
  env PATH="$STUBS" "$VENV_BIN/$tool" "$@"
}

# A valid sb-sacct (16-field) line for job $1 of user $2.
sb_line() {
  printf '%s|%s|hammer|%s|proj|COMPLETED|60|2|1|1G|billing=2,cpu=2,mem=1G,node=1|2025-08-01T00:00:00|2025-08-01T00:00:00|2025-08-01T00:01:00||\n' "$1" "$1" "$2"
}

# NDJSON records (sb-parse's schema) for $1 jobs of users u0..u4, ending in August 2025.
records() {
  python3 -c "
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({'cluster': 'hammer', 'job_id': str(i), 'job_id_raw': str(i), 'key': f'{i}@2025-08-01T00:00:00Z',
        'user': f'u{i % 5}', 'account': 'proj', 'state': 'COMPLETED', 'terminal': True,
        'submit': '2025-08-01T00:00:00Z', 'start': f'2025-08-{1 + i % 28:02d}T09:59:00Z', 'end': f'2025-08-{1 + i % 28:02d}T10:00:00Z',
        'elapsed_s': 60, 'cpus': 2, 'nodes': 1, 'gpus': 0, 'mem_bytes': None, 'max_rss_bytes': None,
        'cpu_seconds': 120, 'gpu_seconds': 0}))
" "$1"
}
