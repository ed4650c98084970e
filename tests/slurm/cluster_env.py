"""The private test cluster's environment, for the Python that talks to it (the integration
tests, seed_history.py, the benchmarks): tests/slurm/cluster-up.sh writes DIR/env, one
`export NAME=value` a line, and $SB_SLURM_ENV names that file. Stdlib only."""
import os
import re

LINE = re.compile(r"^export ([A-Z][A-Z0-9_]*)=([A-Za-z0-9_./:-]*)$")
REQUIRED = ("SB_SLURM_DIR", "SB_TEST_CLUSTER", "SLURM_CONF", "SB_MYSQL_SOCKET")


class NoCluster(RuntimeError):
    """No private test cluster to talk to (SB_SLURM_ENV unset, or its file unreadable)."""


def read(path=None):
    """{name: value} of the env file at `path` (default $SB_SLURM_ENV)."""
    path = path or os.environ.get("SB_SLURM_ENV")
    if not path:
        raise NoCluster("SB_SLURM_ENV is not set: no private SLURM test cluster (make test "
                        "as root, or tests/slurm/with-cluster.sh COMMAND, brings one up)")
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError as err:
        raise NoCluster(f"cannot read the test cluster's environment {path}: "
                        f"{err.strerror}") from None
    values = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = LINE.match(line)
        if not match:
            raise NoCluster(f"{path}:{number}: not an 'export NAME=value' line")
        values[match[1]] = match[2]
    missing = [name for name in REQUIRED if name not in values]
    if missing:
        raise NoCluster(f"{path} does not set {', '.join(missing)}")
    return dict(values, SB_SLURM_ENV=os.path.abspath(path))


def apply(path=None):
    """Put the cluster's environment into os.environ (children inherit it); returns it."""
    values = read(path)
    os.environ.update(values)
    return values


def assignments(values):
    """NAME=value words for `env`, so a command run through runuser gets them whatever the
    target account's PAM or login settings do to the environment."""
    return [f"{name}={value}" for name, value in sorted(values.items())]


def mysql_command(values):
    """The mysql client on the cluster's own MariaDB socket, reading no option file of the
    host (--no-defaults), as the calling Unix account (root: unix_socket authentication)."""
    return ["mysql", "--no-defaults", "--protocol=socket", f"--socket={values['SB_MYSQL_SOCKET']}"]
