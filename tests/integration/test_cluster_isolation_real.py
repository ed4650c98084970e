"""The test cluster is private (tests/slurm/cluster-up.sh): its configuration is not the host's
/etc/slurm, its daemons listen on ports other than SLURM's and MariaDB's standard ones, they use
their own munged and MariaDB, and the test users' commands reach it (its environment gets
through runuser). tests/run.sh also compares the host's files before and after the run."""
import os

from slurm_jobs import as_user

STANDARD_PORTS = {6817, 6818, 6819, 3306}
HOST_CONF = "/etc/slurm/slurm.conf"


def key_values(text, separator):
    """`Key = Value` (scontrol) or `Key=Value` (a .conf file) lines as a dict."""
    pairs = {}
    for line in text.splitlines():
        key, found, value = line.partition(separator)
        if found and not line.lstrip().startswith("#"):
            pairs[key.strip()] = value.strip()
    return pairs


def read(path):
    with open(path) as handle:
        return handle.read()


def pid_in(path):
    pid = int(read(path).strip())
    assert os.path.exists(f"/proc/{pid}"), f"{path}: {pid} is not running"
    return pid


def listening_ports(pid):
    """The TCP ports process `pid` listens on: its sockets' inodes looked up in /proc/net."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in read(table).splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:      # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def scontrol_config(user="sbalice"):
    return key_values(as_user(user, ["scontrol", "show", "config"]).stdout, " = ")


def test_the_configuration_is_the_clusters_own_not_the_hosts(cluster):
    conf = os.environ["SLURM_CONF"]
    folder = os.environ["SB_SLURM_DIR"]
    assert os.path.realpath(conf) != os.path.realpath(HOST_CONF)
    assert not os.path.realpath(conf).startswith("/etc/")
    assert os.path.realpath(conf).startswith(os.path.realpath(folder) + "/")
    # the environment reaches a test user's commands through runuser
    assert as_user("sbbob", ["printenv", "SLURM_CONF"]).stdout.strip() == conf
    config = scontrol_config("sbbob")
    assert config["SLURM_CONF"] == conf
    assert config["ClusterName"] == cluster
    assert config["AuthInfo"] == f"socket={os.environ['SB_MUNGE_SOCKET']}"
    assert os.environ["SB_MUNGE_SOCKET"].startswith(folder + "/")
    for key in ("SlurmctldPort", "SlurmdPort", "AccountingStoragePort"):
        assert int(config[key]) not in STANDARD_PORTS, key
    dbd = key_values(read(os.path.join(os.path.dirname(conf), "slurmdbd.conf")), "=")
    assert dbd["AuthInfo"] == f"socket={os.environ['SB_MUNGE_SOCKET']}"
    assert dbd["StorageHost"] == "127.0.0.1"
    assert int(dbd["StoragePort"]) not in STANDARD_PORTS
    assert int(dbd["DbdPort"]) == int(config["AccountingStoragePort"])


def test_the_daemons_listen_on_their_own_ports_only(cluster):
    conf = os.environ["SLURM_CONF"]
    config = scontrol_config()
    dbd = key_values(read(os.path.join(os.path.dirname(conf), "slurmdbd.conf")), "=")
    mariadb_pid = os.path.join(os.environ["SB_SLURM_DIR"], "mysql-run", "mysqld.pid")
    daemons = {"slurmctld": (config["SlurmctldPidFile"], int(config["SlurmctldPort"])),
               "slurmd": (config["SlurmdPidFile"], int(config["SlurmdPort"])),
               "slurmdbd": (dbd["PidFile"], int(dbd["DbdPort"])),
               "mariadbd": (mariadb_pid, int(dbd["StoragePort"]))}
    for name, (pid_file, port) in daemons.items():
        assert pid_file.startswith(os.environ["SB_SLURM_DIR"] + "/"), name
        ports = listening_ports(pid_in(pid_file))
        assert port in ports, (name, port, ports)
        assert not ports & STANDARD_PORTS, (name, ports)
    mariadb = read(f"/proc/{pid_in(mariadb_pid)}/cmdline").split("\0")
    assert f"--datadir={os.environ['SB_SLURM_DIR']}/mysql" in mariadb
    assert "--bind-address=127.0.0.1" in mariadb
    munged = os.path.join(os.environ["SB_SLURM_DIR"], "munge", "munged.pid")
    munge = read(f"/proc/{pid_in(munged)}/cmdline").split("\0")
    assert f"--socket={os.environ['SB_MUNGE_SOCKET']}" in munge
    assert f"--key-file={os.environ['SB_SLURM_DIR']}/munge/munge.key" in munge


def test_accounting_knows_the_controller_on_its_private_port(cluster):
    listed = as_user("sbcarol", ["sacctmgr", "-n", "-P", "list", "cluster", cluster,
                                 "format=cluster,controlport"]).stdout.split()
    assert listed == [f"{cluster}|{scontrol_config()['SlurmctldPort']}"]
