#!/usr/bin/env python3
"""Seed synthetic historical jobs into a SLURM 22.05 accounting database.

Summary: insert jobs with a known truth straight into <cluster>_job_table of
         slurm_acct_db so that the real `sacct` (and `sacct -M CLUSTER`)
         reports them like jobs that really ran. Used by the integration
         tests to build a multi-month history. Needs root (or DB access) and
         the private test cluster of cluster-up.sh: $SB_SLURM_ENV names its
         environment file, so sacctmgr, scontrol and the `mysql` client
         (on the cluster's own MariaDB socket, no option file of the host
         read) never reach the host's SLURM or MariaDB. Stdlib only.
Usage:   seed_history.py --cluster NAME --jobs FILE.json [--create-cluster]
         [--db slurm_acct_db] [--db-user USER] [--db-password PASS]
         [--partition debug] [--nodelist HOST] [--gpu-type a100]

FILE.json is a list of objects:
  {"job_id": 9000001, "user": "sbalice", "account": "sbphys",
   "state": "COMPLETED"|"FAILED"|"TIMEOUT"|"CANCELLED"|"OUT_OF_MEMORY"|"NODE_FAIL",
   "submit": EPOCH, "start": EPOCH, "end": EPOCH,
   "cpus": 4, "gpus": 0..4, "mem_mb": 2000, "nodes": 1}
Optional per job: "partition", "nodelist", "timelimit" (minutes),
"exit_code" (raw wait status as stored by slurm, e.g. 256 = exit 1).

Behaviour:
- The user+account association must exist on the cluster; it is added with
  sacctmgr when missing (account first, then user). --create-cluster also
  registers the cluster (`sacctmgr -i add cluster NAME`) when it is not yet
  known, and adds the same associations on the running cluster
  (ClusterName from `scontrol show config`) if it is a different one.
- Idempotent: rows of the given job ids that this script inserted earlier
  (job_name 'seeded') are deleted first, so a rerun replaces them. A job id
  that belongs to a real (non-seeded) job is refused.
- No step rows are written: `sacct` and `sacct -X` both list the job line.
- sacct sees the rows at once (slurmdbd does not cache job rows).
- Usage rollups (sreport) are not recomputed.
"""
import argparse
import json
import math
import os
import pwd
import re
import socket
import subprocess
import sys

import cluster_env

# SLURM 22.05 enum job_states (slurm.h); checked against rows of real jobs.
STATES = {
    "COMPLETED": 3,      # JOB_COMPLETE
    "CANCELLED": 4,      # JOB_CANCELLED
    "FAILED": 5,         # JOB_FAILED
    "TIMEOUT": 6,        # JOB_TIMEOUT
    "NODE_FAIL": 7,      # JOB_NODE_FAIL
    "OUT_OF_MEMORY": 11, # JOB_OOM
}
# Raw wait status stored in exit_code (sacct ExitCode "E:S").
DEFAULT_EXIT = {
    "COMPLETED": 0, "CANCELLED": 0, "FAILED": 256,  # 1:0
    "TIMEOUT": 0, "NODE_FAIL": 0, "OUT_OF_MEMORY": 125,  # 0:125
}
NO_VAL = 4294967294          # het_job_offset, id_array_task of plain jobs
INFINITE = 4294967295        # timelimit without -t
SLURMDB_JOB_FLAG_SCHED = 1 << 2
SLURMDB_JOB_FLAG_START_R = 1 << 4
JOB_FLAGS = SLURMDB_JOB_FLAG_SCHED | SLURMDB_JOB_FLAG_START_R  # 20, as real jobs
REQUIRED = ("job_id", "user", "account", "state", "submit", "start", "end",
            "cpus", "gpus", "mem_mb", "nodes")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def die(msg):
    print(f"seed_history: error: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd, stdin=None, check=True, timeout=60):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        die(f"{' '.join(cmd)} failed ({p.returncode}): "
            f"{p.stderr.strip() or p.stdout.strip()}")
    return p


class DB:
    def __init__(self, name, user, password, cluster=None):
        cluster = cluster or cluster_env.read()
        self.cmd = cluster_env.mysql_command(cluster) + ["--batch", "--skip-column-names",
                                                         "--raw"]
        if user:
            self.cmd.append(f"--user={user}")
        self.env_pass = password
        self.cmd.append(name)

    def query(self, sql):
        env = None
        if self.env_pass is not None:
            env = dict(os.environ, MYSQL_PWD=self.env_pass)
        p = subprocess.run(self.cmd, input=sql, capture_output=True,
                           text=True, env=env, timeout=120)
        if p.returncode != 0:
            die(f"mysql failed: {p.stderr.strip()}")
        return [line.split("\t") for line in p.stdout.splitlines() if line]


def q(value):
    """SQL literal for None / int / str."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    s = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{s}'"


def sacctmgr(*args):
    return run(["sacctmgr", *args], timeout=60)


def cluster_registered(name):
    out = sacctmgr("-n", "-P", "list", "cluster", name, "format=cluster").stdout
    return name in out.split()


def running_cluster():
    p = run(["scontrol", "show", "config"], check=False, timeout=30)
    for line in p.stdout.splitlines():
        parts = line.split("=", 1)
        if len(parts) == 2 and parts[0].strip() == "ClusterName":
            return parts[1].strip()
    return None


def ensure_assocs(cluster, pairs):
    """Add missing accounts / user associations on CLUSTER via sacctmgr."""
    added = 0
    for account in sorted({a for _, a in pairs}):
        out = sacctmgr("-n", "-P", "list", "assoc", f"accounts={account}",
                       f"clusters={cluster}", "format=account").stdout
        if not out.strip():
            sacctmgr("-i", "add", "account", account, f"cluster={cluster}",
                     f"description={account}", "organization=test")
            added += 1
    for user, account in sorted(pairs):
        out = sacctmgr("-n", "-P", "list", "assoc", f"users={user}",
                       f"accounts={account}", f"clusters={cluster}",
                       "format=user").stdout
        if not out.strip():
            sacctmgr("-i", "add", "user", user, f"account={account}",
                     f"cluster={cluster}")
            added += 1
    return added


def load_jobs(path):
    try:
        with open(path) as f:
            jobs = json.load(f)
    except (OSError, ValueError) as e:
        die(f"cannot read {path}: {e}")
    if not isinstance(jobs, list) or not jobs:
        die(f"{path}: expected a non-empty JSON list of jobs")
    seen = set()
    for i, j in enumerate(jobs):
        where = f"{path}[{i}]"
        if not isinstance(j, dict):
            die(f"{where}: not an object")
        missing = [k for k in REQUIRED if k not in j]
        if missing:
            die(f"{where}: missing {', '.join(missing)}")
        for k in ("job_id", "submit", "start", "end", "cpus", "gpus",
                  "mem_mb", "nodes"):
            if not isinstance(j[k], int) or isinstance(j[k], bool) or j[k] < 0:
                die(f"{where}: {k} must be a non-negative int")
        if j["state"] not in STATES:
            die(f"{where}: state must be one of {', '.join(STATES)}")
        if not j["submit"] <= j["start"] <= j["end"]:
            die(f"{where}: need submit <= start <= end")
        if not 0 <= j["gpus"] <= 4:
            die(f"{where}: gpus must be 0..4")
        if j["cpus"] < 1 or j["nodes"] < 1 or j["job_id"] < 1:
            die(f"{where}: cpus, nodes and job_id must be >= 1")
        if j["job_id"] in seen:
            die(f"{where}: duplicate job_id {j['job_id']}")
        seen.add(j["job_id"])
        try:
            pwd.getpwnam(j["user"])
        except KeyError:
            die(f"{where}: no Linux user {j['user']!r}")
    return jobs


def tres_ids(db, gpu_type):
    rows = db.query("SELECT id, type, name FROM tres_table WHERE deleted=0;")
    ids = {(t, n): int(i) for i, t, n in rows}
    want = {"cpu": ("cpu", ""), "mem": ("mem", ""), "node": ("node", ""),
            "billing": ("billing", "")}
    out = {}
    for key, tn in want.items():
        if tn not in ids:
            die(f"tres_table has no {tn[0]}")
        out[key] = ids[tn]
    out["gpu"] = ids.get(("gres", "gpu"))
    out["gpu_typed"] = ids.get(("gres", f"gpu:{gpu_type}")) if gpu_type else None
    return out


def tres_string(tres, j):
    """Same layout as real jobs: id=count sorted by id, billing = cpus."""
    items = {tres["cpu"]: j["cpus"], tres["mem"]: j["mem_mb"],
             tres["node"]: j["nodes"], tres["billing"]: j["cpus"]}
    if j["gpus"]:
        if tres["gpu"] is None:
            die("job with gpus but tres_table has no gres/gpu "
                "(AccountingStorageTRES=gres/gpu)")
        items[tres["gpu"]] = j["gpus"]
        if tres["gpu_typed"] is not None:
            items[tres["gpu_typed"]] = j["gpus"]
    return ",".join(f"{k}={v}" for k, v in sorted(items.items()))


def job_row(j, assoc, tres, defaults):
    pw = pwd.getpwnam(j["user"])
    state = j["state"]
    elapsed = j["end"] - j["start"]
    if "timelimit" in j:
        timelimit = int(j["timelimit"])
    elif state == "TIMEOUT":
        timelimit = max(1, math.ceil(elapsed / 60))
    else:
        timelimit = INFINITE
    tstr = tres_string(tres, j)
    gres = ""
    if j["gpus"]:
        gres = (f" --gres=gpu:{defaults['gpu_type']}:{j['gpus']}"
                if defaults["gpu_type"] else f" --gres=gpu:{j['gpus']}")
    submit_line = (f"sbatch -J seeded -A {j['account']} -c {j['cpus']} "
                   f"--mem={j['mem_mb']}M{gres} seeded.sh")
    return {
        "mod_time": j["end"],
        "deleted": 0,
        "account": j["account"],
        "array_max_tasks": 0,
        "array_task_pending": 0,
        "constraints": "",
        "cpus_req": j["cpus"],
        "derived_ec": 0,
        "env_hash_inx": 0,
        "exit_code": int(j.get("exit_code", DEFAULT_EXIT[state])),
        "flags": JOB_FLAGS,
        "job_name": "seeded",
        "id_assoc": assoc,
        "id_array_job": 0,
        "id_array_task": NO_VAL,
        "id_job": j["job_id"],
        "id_qos": defaults["qos"],
        "id_resv": 0,
        "id_wckey": 0,
        "id_user": pw.pw_uid,
        "id_group": pw.pw_gid,
        "het_job_id": 0,
        "het_job_offset": NO_VAL,
        "kill_requid": pw.pw_uid if state == "CANCELLED" else None,
        "state_reason_prev": 0,
        "mcs_label": "",
        "mem_req": j["mem_mb"],  # per node (real jobs with --mem-per-cpu set bit 63)
        "nodelist": j.get("nodelist", defaults["nodelist"]),
        "nodes_alloc": j["nodes"],
        "node_inx": "0" if j["nodes"] == 1 else f"0-{j['nodes'] - 1}",
        "partition": j.get("partition", defaults["partition"]),
        "priority": 1,
        "script_hash_inx": 0,
        "state": STATES[state],
        "timelimit": timelimit,
        "time_submit": j["submit"],
        "time_eligible": j["submit"],
        "time_start": j["start"],
        "time_end": j["end"],
        "time_suspended": 0,
        "gres_used": "",
        "wckey": "",
        "work_dir": pw.pw_dir,
        "submit_line": submit_line,
        "tres_alloc": tstr,
        "tres_req": tstr,
    }


def main():
    ap = argparse.ArgumentParser(
        description="Insert synthetic historical jobs into <cluster>_job_table "
                    "so that sacct reports them like real jobs.")
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--jobs", required=True, help="JSON list of jobs")
    ap.add_argument("--create-cluster", action="store_true",
                    help="register the cluster with sacctmgr if unknown and add "
                         "associations there and on the running cluster")
    ap.add_argument("--db", default="slurm_acct_db")
    ap.add_argument("--db-user", default=None,
                    help="default: root via unix socket when run as root, "
                         "else slurm")
    ap.add_argument("--db-password", default=None,
                    help="default: $SEED_DB_PASSWORD, else slurmtestpass for "
                         "a non-root --db-user")
    ap.add_argument("--partition", default="debug")
    ap.add_argument("--nodelist", default=socket.gethostname().split(".")[0])
    ap.add_argument("--gpu-type", default="a100",
                    help="typed GPU TRES gres/gpu:TYPE also counted if it "
                         "exists in tres_table ('' for none)")
    args = ap.parse_args()
    try:
        environment = cluster_env.apply()
    except cluster_env.NoCluster as err:
        die(str(err))

    cluster = args.cluster
    if not NAME_RE.match(cluster):
        die(f"cluster name must match {NAME_RE.pattern}")
    for name in (args.db,):
        if not re.match(r"^[A-Za-z0-9_]+$", name):
            die("bad --db name")
    jobs = load_jobs(args.jobs)

    db_user = args.db_user
    db_pass = args.db_password or os.environ.get("SEED_DB_PASSWORD")
    if db_user is None and os.geteuid() != 0:
        db_user = "slurm"
    if db_user and db_user != "root" and db_pass is None:
        db_pass = "slurmtestpass"
    db = DB(args.db, db_user, db_pass, environment)

    created = False
    if not cluster_registered(cluster):
        if not args.create_cluster:
            die(f"cluster {cluster} is not registered (use --create-cluster)")
        sacctmgr("-i", "add", "cluster", cluster)
        created = True
        if not cluster_registered(cluster):
            die(f"sacctmgr add cluster {cluster} did not register it")

    pairs = {(j["user"], j["account"]) for j in jobs}
    assocs_added = ensure_assocs(cluster, pairs)
    if args.create_cluster:
        here = running_cluster()
        if here and here != cluster and NAME_RE.match(here):
            assocs_added += ensure_assocs(here, pairs)

    jt = f"`{cluster}_job_table`"
    st = f"`{cluster}_step_table`"
    at = f"`{cluster}_assoc_table`"
    if not db.query(f"SHOW TABLES LIKE '{cluster}\\_job\\_table';"):
        die(f"table {cluster}_job_table does not exist")

    assoc_ids = {}
    for user, account in pairs:
        rows = db.query(
            f"SELECT id_assoc FROM {at} WHERE user={q(user)} AND acct={q(account)}"
            f" AND `partition`='' AND deleted=0 ORDER BY id_assoc LIMIT 1;")
        if not rows:
            die(f"no association for user {user} account {account} on {cluster}")
        assoc_ids[(user, account)] = int(rows[0][0])

    qos_rows = db.query("SELECT id FROM qos_table WHERE name='normal' AND deleted=0;")
    defaults = {"qos": int(qos_rows[0][0]) if qos_rows else 1,
                "partition": args.partition, "nodelist": args.nodelist,
                "gpu_type": args.gpu_type}
    tres = tres_ids(db, args.gpu_type)

    ids = ",".join(str(j["job_id"]) for j in jobs)
    clash = db.query(f"SELECT DISTINCT id_job FROM {jt} WHERE id_job IN ({ids})"
                     f" AND job_name<>'seeded';")
    if clash:
        die(f"job ids already used by real jobs on {cluster}: "
            f"{', '.join(r[0] for r in clash)}")
    prev = db.query(f"SELECT COUNT(*) FROM {jt} WHERE id_job IN ({ids})"
                    f" AND job_name='seeded';")
    replaced = int(prev[0][0]) if prev else 0

    rows = [job_row(j, assoc_ids[(j["user"], j["account"])], tres, defaults)
            for j in jobs]
    cols = list(rows[0])
    col_sql = ",".join(f"`{c}`" for c in cols)
    values = ",\n".join("(" + ",".join(q(r[c]) for c in cols) + ")" for r in rows)
    sql = (
        "START TRANSACTION;\n"
        f"DELETE s FROM {st} s JOIN {jt} j ON s.job_db_inx=j.job_db_inx"
        f" WHERE j.id_job IN ({ids}) AND j.job_name='seeded';\n"
        f"DELETE FROM {jt} WHERE id_job IN ({ids}) AND job_name='seeded';\n"
        f"INSERT INTO {jt} ({col_sql}) VALUES\n{values};\n"
        "COMMIT;\n"
        f"SELECT COUNT(*) FROM {jt} WHERE id_job IN ({ids}) AND job_name='seeded';\n"
    )
    res = db.query(sql)
    now = int(res[-1][0]) if res else -1
    if now != len(jobs):
        die(f"expected {len(jobs)} seeded rows on {cluster}, found {now}")

    first = min(j["submit"] for j in jobs)
    last = max(j["end"] for j in jobs)
    print(f"seed_history: cluster={cluster}{' (created)' if created else ''} "
          f"jobs={len(jobs)} replaced={replaced} assocs_added={assocs_added} "
          f"users={len({u for u, _ in pairs})} span={first}..{last}")


if __name__ == "__main__":
    main()
