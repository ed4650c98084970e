"""Submitting real jobs as the test users and waiting for sacct to report them."""
import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLURM_SCRIPTS = os.path.join(TOP, "tests", "slurm")
sys.path.insert(0, SLURM_SCRIPTS)
import cluster_env  # noqa: E402  (tests/slurm: the private cluster's environment file)

USERS = {"sbalice": "sbphys", "sbbob": "sbphys", "sbcarol": "sbchem"}
# The tools as the test users run them: a venv they can execute (tests/run.sh makes one).
USERS_BIN = os.environ.get("SB_USERS_BIN") or os.path.join(TOP, ".venv", "bin")
FAILED = {"FAILED", "TIMEOUT", "OUT_OF_MEMORY"}     # the user's failures (states.FAILED)


def runuser_command(user, command):
    """`command` (a list) as `user` through runuser, with the test cluster's environment
    (SLURM_CONF...) set explicitly, so every SLURM command it runs reaches the private cluster
    whatever the account's PAM or login settings do to the environment."""
    return (["runuser", "-u", user, "--", "env"] + cluster_env.assignments(cluster_env.read())
            + list(command))


def as_user(user, command, check=True, **kwargs):
    """Run `command` (a list) as `user` from their home folder, like a login shell would."""
    home = os.path.expanduser(f"~{user}")
    done = subprocess.run(runuser_command(user, command), cwd=home,
                          capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{command} as {user} exited {done.returncode}: {done.stderr}")
    return done


def mysql(sql, database="slurm_acct_db"):
    """Run `sql` as root on the test cluster's own MariaDB (never the host's)."""
    subprocess.run(cluster_env.mysql_command(cluster_env.read()) + [database, "-e", sql],
                   check=True)


def shared_folder(owner="sbalice"):
    """A fresh root in /tmp owned by `owner`, the test user who polls it (single-owner mode:
    the other test users read it)."""
    import pwd
    folder = tempfile.mkdtemp(prefix="sb-it-")
    info = pwd.getpwnam(owner)
    os.chown(folder, info.pw_uid, info.pw_gid)
    os.chmod(folder, 0o755)
    return folder


def submit(user, *sbatch_args):
    """Submit a batch job as `user`; returns its job id (the array id for arrays)."""
    done = as_user(user, ["sbatch", "--parsable", "-o", "/dev/null"] + list(sbatch_args))
    return done.stdout.strip().split(";")[0]


def sacct_states(job_ids):
    """{job id: state} of allocations, as sacct shows them now."""
    done = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", ",".join(job_ids)],
                          capture_output=True, text=True, check=True)
    states = {}
    for line in done.stdout.splitlines():
        job, _, state = line.partition("|")
        states[job] = state
    return states


def wait_until_ended(job_ids, expected_count, timeout=240):
    """Wait until sacct shows `expected_count` allocations of `job_ids`, all in ended states."""
    running = {"PENDING", "RUNNING", "REQUEUED", "SUSPENDED", "COMPLETING", "RESIZING"}
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = sacct_states(job_ids)
        if len(states) >= expected_count and not any(
                s.split(" ")[0] in running for s in states.values()):
            return states
        time.sleep(1)
    raise AssertionError(f"jobs did not end within {timeout} s: {sacct_states(job_ids)}")


def wait_for_state(job_id, state, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sacct_states([job_id]).get(job_id, "").startswith(state):
            return
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} never reached {state}")


def kill_session(pid):
    """SIGKILL every process of the session `pid` leads (a poll, the watchdog it runs under,
    and its whole pipeline), like a power cut."""
    subprocess.run(["pkill", "-KILL", "-s", str(pid)], capture_output=True)


def stamp(moment):
    """sacct's -S/-E form of a UTC datetime."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def raw_sacct_totals(cluster, since, until, skip_jobs=()):
    """Per-user totals straight from sacct for jobs that ended in [since, until] (sacct's -E is
    inclusive), leaving out the job ids in `skip_jobs`."""
    out = subprocess.run(
        ["sacct", "-a", "-X", "-n", "-P", "-M", cluster, "-o",
         "JobID,User,State,ElapsedRaw,AllocCPUS,AllocTRES,Start",
         "--state=BF,CA,CD,DL,F,NF,OOM,PR,TO", "-S", since, "-E", until],
        capture_output=True, text=True, check=True, env=dict(os.environ, TZ="UTC")).stdout
    totals = {}
    for line in out.splitlines():
        job_id, user, state, elapsed, cpus, tres, start = line.split("|")
        if job_id in skip_jobs:
            continue
        gpus = sum(int(t.split("=")[1]) for t in tres.split(",") if t.startswith("gres/gpu="))
        v = [int(elapsed) * int(cpus), int(elapsed), int(elapsed) * gpus,
             int(elapsed) if gpus else 0, state.split(" ")[0] in FAILED | {"BOOT_FAIL", "DEADLINE"},
             start not in ("None", "Unknown", "")]
        if any(v):
            total = totals.setdefault(user, [0] * 6)
            for i in range(6):
                total[i] += int(v[i])
    return totals
