"""A synthetic history in the real SLURM test cluster, shared by the benchmarks that need one
(poll_cost.py, sacct_pipe.py): the private cluster tests/slurm/with-cluster.sh brought up (make
bench runs through it; $SB_SLURM_ENV names its environment), Linux users and associations made
in bulk, seed-format jobs written straight into slurmdbd's job table with
the row format of tests/slurm/seed_history.py (imported; its CLI checks every association with
one sacctmgr call each, too slow for hundreds of users), and deleted again by their job-id range,
which each benchmark keeps to itself. Also what a store made from them holds. Needs root
(useradd, sacctmgr, the mysql client as root).
"""
import importlib.util
import json
import os
import platform
import pwd
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLURM_SCRIPTS = os.path.join(TOP, "tests", "slurm")
BATCH = 5000                        # rows per INSERT (well under max_allowed_packet)
sys.path.insert(0, SLURM_SCRIPTS)
import cluster_env  # noqa: E402  (tests/slurm: the private cluster's environment file)


def run(command, **kwargs):
    """stdout of a command that must succeed (RuntimeError with its stderr's tail otherwise)."""
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): "
                           f"{done.stderr.strip()[-2000:]}")
    return done.stdout


def use_cluster(cluster):
    """Put the private test cluster's environment (SLURM_CONF...) into os.environ, for every
    command the benchmark runs; RuntimeError without one, or when it is another cluster."""
    try:
        running = cluster_env.apply()["SB_TEST_CLUSTER"]
    except cluster_env.NoCluster as err:
        raise RuntimeError(f"{err}; run the benchmark through tests/slurm/with-cluster.sh "
                           f"{cluster} (make bench does)") from None
    if running != cluster:
        raise RuntimeError(f"the test cluster of $SB_SLURM_ENV is {running}, not {cluster}")


def mysql():
    """The mysql client, as root, on the test cluster's own MariaDB."""
    return cluster_env.mysql_command(cluster_env.read())


def seed_module():
    spec = importlib.util.spec_from_file_location(
        "seed_history", os.path.join(SLURM_SCRIPTS, "seed_history.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_linux_users(users):
    """sacct -u resolves names through passwd, and seed_history wants uids: real users, no home."""
    made = 0
    for user in users:
        try:
            pwd.getpwnam(user)
        except KeyError:
            run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", user])
            made += 1
    return made


def ensure_associations(seed, cluster, users, account_of):
    """Accounts and user associations, added in bulk (one sacctmgr call per account)."""
    listed = run(["sacctmgr", "-n", "-P", "list", "assoc", f"clusters={cluster}",
                  "format=user,account"])
    have = {tuple(line.split("|")) for line in listed.splitlines()}
    accounts = {account for _, account in have}
    by_account = {}
    for user in users:
        if (user, account_of(user)) not in have:
            by_account.setdefault(account_of(user), []).append(user)
    for account, names in sorted(by_account.items()):
        if account not in accounts:
            seed.sacctmgr("-i", "add", "account", account, f"cluster={cluster}",
                          f"description={account}", "organization=test")
        seed.sacctmgr("-i", "add", "user", ",".join(names), f"account={account}",
                      f"cluster={cluster}")
    return sum(len(names) for names in by_account.values())


def delete_seeded_sql(cluster, ids):
    """The DELETE of a benchmark's seeded rows (and their step rows); `ids` is its (first, last)
    job id."""
    seeded = f"job_name='seeded' AND id_job BETWEEN {ids[0]} AND {ids[1]}"
    return (f"DELETE s FROM `{cluster}_step_table` s JOIN `{cluster}_job_table` j"
            f" ON s.job_db_inx=j.job_db_inx WHERE j.{seeded};\n"
            f"DELETE FROM `{cluster}_job_table` WHERE {seeded};\n")


def seed_steps(cluster, ids):
    """Step rows for every seeded job that started, as sbatch leaves them: a batch step that
    used a share of the job's CPUs (1 to 99 %, from the job id: TotalCPU is user_sec) and an
    extern step, each with a peak RSS; what the daily step poll reads. Returns the rows added."""
    seeded = f"j.job_name='seeded' AND j.id_job BETWEEN {ids[0]} AND {ids[1]} AND j.time_start>0"
    usage = "CONCAT('1=0,2=', (j.id_job MOD 1000 + 1) * 1048576)"
    sql = (f"INSERT INTO `{cluster}_step_table` (job_db_inx, id_step, nodelist, nodes_alloc,"
           " node_inx, state, step_name, task_cnt, time_start, time_end, user_sec, tres_alloc,"
           " tres_usage_in_ave, tres_usage_in_max, tres_usage_in_tot)"
           " SELECT j.job_db_inx, s.id, j.nodelist, j.nodes_alloc, j.node_inx, j.state, s.name,"
           " 1, j.time_start, j.time_end, IF(s.id = -5, FLOOR((j.time_end - j.time_start) *"
           f" j.cpus_req * (j.id_job MOD 99 + 1) / 100), 0), j.tres_alloc, {usage}, {usage},"
           f" {usage} FROM `{cluster}_job_table` j JOIN (SELECT -5 AS id, 'batch' AS name"
           f" UNION ALL SELECT -4, 'extern') s WHERE {seeded};\n"
           f"SELECT COUNT(*) FROM `{cluster}_step_table` s JOIN `{cluster}_job_table` j"
           f" ON s.job_db_inx=j.job_db_inx WHERE {seeded};\n")
    done = subprocess.run(mysql() + ["-N", "slurm_acct_db"], input=sql, text=True, check=True,
                          capture_output=True)
    return int(done.stdout.split()[-1])


def seed_history(seed, cluster, jobs, ids, user_prefix):
    """Replace a benchmark's rows (its id range `ids`) with `jobs`, rows built by seed_history.
    Every job's user is named `user_prefix`... and has an association with the job's account."""
    first, last = ids
    db = seed.DB("slurm_acct_db", None, None)
    table = f"`{cluster}_job_table`"
    clash = db.query(f"SELECT COUNT(*) FROM {table} WHERE id_job BETWEEN {first} AND {last}"
                     f" AND job_name<>'seeded';")
    if int(clash[0][0]):
        raise RuntimeError(f"real jobs use ids {first}..{last} on {cluster}; not seeding")
    assoc = {(user, account): int(inx) for user, account, inx in db.query(
        f"SELECT user, acct, id_assoc FROM `{cluster}_assoc_table` WHERE user LIKE"
        f" '{user_prefix}%' AND `partition`='' AND deleted=0 ORDER BY id_assoc DESC;")}
    qos = db.query("SELECT id FROM qos_table WHERE name='normal' AND deleted=0;")
    defaults = {"qos": int(qos[0][0]) if qos else 1, "partition": "debug",
                "nodelist": platform.node().split(".")[0], "gpu_type": "a100"}
    tres = seed.tres_ids(db, "a100")
    with tempfile.TemporaryFile("w+") as sql:
        sql.write(delete_seeded_sql(cluster, ids))
        columns = None
        for at in range(0, len(jobs), BATCH):
            rows = [seed.job_row(job, assoc[(job["user"], job["account"])], tres, defaults)
                    for job in jobs[at:at + BATCH]]
            columns = columns or list(rows[0])
            sql.write(f"INSERT INTO {table} ({','.join(f'`{c}`' for c in columns)}) VALUES\n")
            sql.write(",\n".join("(" + ",".join(seed.q(row[c]) for c in columns) + ")"
                                 for row in rows) + ";\n")
        sql.seek(0)
        subprocess.run(db.cmd, stdin=sql, check=True)
    count = db.query(f"SELECT COUNT(*) FROM {table} WHERE job_name='seeded'"
                     f" AND id_job BETWEEN {first} AND {last};")
    if int(count[0][0]) != len(jobs):
        raise RuntimeError(f"expected {len(jobs)} seeded rows, found {count[0][0]}")


def unseed(cluster, ids):
    subprocess.run(mysql() + ["slurm_acct_db"], input=delete_seeded_sql(cluster, ids), text=True,
                   check=True)


def stored_jobs(root, cluster):
    """The jobs a store holds for a cluster, from its all-time per-user totals."""
    with open(os.path.join(root, "clusters", cluster, "agg", "alltime.json")) as handle:
        return sum(user["totals"][5] for user in json.load(handle)["users"])
