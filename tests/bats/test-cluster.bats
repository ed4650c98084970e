#!/usr/bin/env bats
# The test cluster's scripts (tests/slurm) without a cluster: their help, their refusals (a
# folder that is not a test cluster's is never removed, no script reaches the host's SLURM
# without the private cluster's environment), the host fingerprint tests/run.sh compares, and
# the environment file's reader. tests/integration/test_cluster_isolation_real.py checks a
# running cluster.
load test_helper

SLURM_SCRIPTS="$TOP/tests/slurm"

need_root() {
  [ "$EUID" -eq 0 ] || skip "needs root (the scripts refuse everyone else first)"
}

# A fake host under $SANDBOX/host: /etc/slurm, a munge key, a MariaDB data folder.
fake_host() {
  HOST="$SANDBOX/host"
  mkdir -p "$HOST/etc/slurm/plugstack.conf.d" "$HOST/etc/munge" "$HOST/var/lib/mysql/mysql"
  echo "ClusterName=production" > "$HOST/etc/slurm/slurm.conf"
  echo "AutoDetect=nvml" > "$HOST/etc/slurm/gres.conf"
  head -c 64 /dev/urandom > "$HOST/etc/munge/munge.key"
  touch "$HOST/var/lib/mysql/ibdata1" "$HOST/var/lib/mysql/mysql/user.frm"
}

fingerprint() {
  "$SLURM_SCRIPTS/host-fingerprint.sh" --root "$HOST"
}

@test "every test cluster script says what it does with --help" {
  for script in cluster-up.sh cluster-down.sh with-cluster.sh add-users.sh host-fingerprint.sh; do
    run "$SLURM_SCRIPTS/$script" --help
    [ "$status" -eq 0 ]
    [[ "$output" == Summary:* ]]
    [[ "$output" == *"Usage:   $script"* || "$output" == *"Usage:   SB_SLURM_ENV=DIR/env $script"* ]]
  done
  run python3 "$SLURM_SCRIPTS/seed_history.py" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--create-cluster"* ]]
}

@test "cluster-up.sh and cluster-down.sh refuse bad arguments with a usage error" {
  run "$SLURM_SCRIPTS/cluster-up.sh" sbtest
  [ "$status" -eq 2 ]
  run "$SLURM_SCRIPTS/cluster-up.sh" 'Bad-Name' "$SANDBOX"
  [ "$status" -eq 2 ]
  [[ "$output" == *"cluster name must match"* ]]
  run "$SLURM_SCRIPTS/cluster-up.sh" sbtest relative/dir
  [ "$status" -eq 2 ]
  [[ "$output" == *"absolute path"* ]]
  run "$SLURM_SCRIPTS/cluster-down.sh" "$SANDBOX/a b"
  [ "$status" -eq 2 ]
  run "$SLURM_SCRIPTS/cluster-down.sh"
  [ "$status" -eq 2 ]
}

@test "cluster-down.sh never removes a folder that is not a test cluster's" {
  need_root
  mkdir -p "$SANDBOX/precious"
  echo keep > "$SANDBOX/precious/file"
  run "$SLURM_SCRIPTS/cluster-down.sh" "$SANDBOX/precious"
  [ "$status" -eq 1 ]
  [[ "$output" == *"not a test cluster's folder"* ]]
  [ "$(cat "$SANDBOX/precious/file")" = keep ]
}

@test "cluster-down.sh removes a test cluster's folder with no daemon running, and again is a no-op" {
  need_root
  mkdir -p "$SANDBOX/cluster/run"
  touch "$SANDBOX/cluster/.sb-test-cluster"
  echo "$$" > "$SANDBOX/cluster/run/slurmd.pid"      # a live pid, not started for the folder
  run "$SLURM_SCRIPTS/cluster-down.sh" "$SANDBOX/cluster"
  [ "$status" -eq 0 ]
  [ ! -e "$SANDBOX/cluster" ]
  kill -0 "$$"                                         # never signalled
  run "$SLURM_SCRIPTS/cluster-down.sh" "$SANDBOX/cluster"
  [ "$status" -eq 0 ]
}

@test "cluster-up.sh wants an empty folder" {
  need_root
  touch "$SANDBOX/something"
  run "$SLURM_SCRIPTS/cluster-up.sh" sbtest "$SANDBOX"
  [ "$status" -eq 1 ]
  [[ "$output" == *"must be an existing empty folder"* ]]
  [ ! -e "$SANDBOX/.sb-test-cluster" ]
}

@test "add-users.sh refuses to run without the private cluster's environment" {
  need_root
  run env -u SB_SLURM_ENV "$SLURM_SCRIPTS/add-users.sh" sbphys sbnobody
  [ "$status" -eq 1 ]
  [[ "$output" == *"SB_SLURM_ENV"*"refusing to touch the host's SLURM"* ]]
  run env SB_SLURM_ENV="$SANDBOX/missing" "$SLURM_SCRIPTS/add-users.sh" sbphys sbnobody
  [ "$status" -eq 1 ]
  # a readable file that is no test cluster's: empty, or naming a folder cluster-up.sh did not
  # mark, or a SLURM_CONF outside it (the host's)
  mkdir "$SANDBOX/fake"
  printf 'SB_SLURM_DIR=%s\nSLURM_CONF=%s\n' "$SANDBOX/fake" "$SANDBOX/fake/slurm.conf" \
    > "$SANDBOX/unmarked.env"
  mkdir "$SANDBOX/marked"
  touch "$SANDBOX/marked/.sb-test-cluster"
  printf 'SB_SLURM_DIR=%s\nSLURM_CONF=/etc/slurm/slurm.conf\n' "$SANDBOX/marked" \
    > "$SANDBOX/host-conf.env"
  touch "$SANDBOX/outside.conf"
  printf 'SB_SLURM_DIR=%s\nSLURM_CONF=%s/../outside.conf\n' "$SANDBOX/marked" "$SANDBOX/marked" \
    > "$SANDBOX/dotdot.env"
  ln -s "$SANDBOX" "$SANDBOX/marked/up"
  printf 'SB_SLURM_DIR=%s\nSLURM_CONF=%s/up/outside.conf\n' "$SANDBOX/marked" "$SANDBOX/marked" \
    > "$SANDBOX/symlink.env"
  printf 'CLUSTER_MARK=outside.conf\nSB_SLURM_DIR=%s\nSLURM_CONF=%s/outside.conf\n' \
    "$SANDBOX" "$SANDBOX" > "$SANDBOX/mark.env"
  for file in /dev/null "$SANDBOX/unmarked.env" "$SANDBOX/host-conf.env" \
      "$SANDBOX/dotdot.env" "$SANDBOX/symlink.env"; do
    SLURM_CONF="$SANDBOX/marked/slurm.conf" run env SB_SLURM_ENV="$file" \
      "$SLURM_SCRIPTS/add-users.sh" sbphys sbnobody
    [ "$status" -eq 1 ]
    [[ "$output" == *"no test cluster's environment"* ]]
  done
  run env SB_SLURM_ENV="$SANDBOX/mark.env" "$SLURM_SCRIPTS/add-users.sh" sbphys sbnobody
  [ "$status" -ne 0 ]
  [[ "$output" == *"readonly variable"* ]]
  run id sbnobody
  [ "$status" -ne 0 ]
}

@test "seed_history.py refuses to run without the private cluster's environment" {
  echo '[]' > "$SANDBOX/jobs.json"
  run env -u SB_SLURM_ENV python3 "$SLURM_SCRIPTS/seed_history.py" --cluster sbtest \
    --jobs "$SANDBOX/jobs.json"
  [ "$status" -eq 1 ]
  [[ "$output" == "seed_history: error: SB_SLURM_ENV is not set"* ]]
}

@test "the host fingerprint is stable and changes with any change to the host's files" {
  fake_host
  before="$(fingerprint)"
  [ "$(fingerprint)" = "$before" ]
  [[ "$before" == *"/etc/slurm/slurm.conf "* ]]
  [[ "$before" == *"/etc/munge/munge.key "* ]]
  [[ "$before" == *"f /var/lib/mysql/mysql/user.frm"* ]]
  [[ "$before" != *"$HOST"* ]]                          # paths as on the host

  printf 'ClusterName=productioN\n' > "$HOST/etc/slurm/slurm.conf"   # same size, one byte
  [ "$(fingerprint)" != "$before" ]
  echo "ClusterName=production" > "$HOST/etc/slurm/slurm.conf"
  [ "$(fingerprint)" = "$before" ]

  chmod 600 "$HOST/etc/slurm/gres.conf"
  [ "$(fingerprint)" != "$before" ]
  chmod 644 "$HOST/etc/slurm/gres.conf"
  [ "$(fingerprint)" = "$before" ]

  touch "$HOST/etc/slurm/plugstack.conf.d/new.conf"
  [ "$(fingerprint)" != "$before" ]
  rm "$HOST/etc/slurm/plugstack.conf.d/new.conf"

  cp "$HOST/etc/munge/munge.key" "$SANDBOX/key"
  head -c 64 /dev/urandom > "$HOST/etc/munge/munge.key"
  [ "$(fingerprint)" != "$before" ]
  cp "$SANDBOX/key" "$HOST/etc/munge/munge.key"

  mkdir "$HOST/var/lib/mysql/slurm_acct_db"
  [ "$(fingerprint)" != "$before" ]
  rmdir "$HOST/var/lib/mysql/slurm_acct_db"
  echo "more rows" >> "$HOST/var/lib/mysql/ibdata1"    # a running MariaDB's own writes
  [ "$(fingerprint)" = "$before" ]
}

@test "the host fingerprint says which paths are absent, and notices one appearing" {
  HOST="$SANDBOX/empty"
  mkdir -p "$HOST"
  run fingerprint
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '/etc/slurm absent\n/etc/munge/munge.key absent\n/var/lib/mysql absent')" ]
  mkdir -p "$HOST/etc/slurm"
  touch "$HOST/etc/slurm/slurm.conf"
  run fingerprint
  [[ "$output" == *"/etc/slurm/slurm.conf e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"* ]]
}

@test "the cluster's environment file is read only as export NAME=value lines" {
  cat > "$SANDBOX/env" <<EOF
# comment
export SB_SLURM_DIR=/tmp/sb-slurm.x
export SB_TEST_CLUSTER=sbtest
export SLURM_CONF=/tmp/sb-slurm.x/etc/slurm.conf
export SB_MYSQL_SOCKET=/tmp/sb-slurm.x/mysql-run/mysqld.sock
EOF
  read_env() {
    python3 -c "
import sys; sys.path.insert(0, '$SLURM_SCRIPTS')
import cluster_env
try:
    print(sorted(cluster_env.read('$SANDBOX/env').items()))
    print(cluster_env.mysql_command(cluster_env.read('$SANDBOX/env')))
except cluster_env.NoCluster as err:
    sys.exit(f'refused: {err}')"
  }
  run read_env
  [ "$status" -eq 0 ]
  [[ "$output" == *"('SLURM_CONF', '/tmp/sb-slurm.x/etc/slurm.conf')"* ]]
  [[ "$output" == *"'mysql', '--no-defaults', '--protocol=socket', '--socket=/tmp/sb-slurm.x/mysql-run/mysqld.sock'"* ]]
  echo 'export SLURM_CONF=$(touch /tmp/owned)' >> "$SANDBOX/env"
  run read_env
  [ "$status" -eq 1 ]
  [[ "$output" == "refused: $SANDBOX/env:6: not an 'export NAME=value' line" ]]
  grep -v SB_MYSQL_SOCKET "$SANDBOX/env" | grep -v touch > "$SANDBOX/env2"
  mv "$SANDBOX/env2" "$SANDBOX/env"
  run read_env
  [ "$status" -eq 1 ]
  [[ "$output" == "refused: $SANDBOX/env does not set SB_MYSQL_SOCKET" ]]
}
