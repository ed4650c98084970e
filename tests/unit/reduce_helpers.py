"""Helpers for the store tests: sb-parse-like records, running the tools, reading totals back."""
import glob
import grp
import json
import os
import re
import subprocess
import sys

import orjson

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


def job(job_id, user, end, cpus=2, elapsed=3600, gpus=0, state="COMPLETED", account="proj",
        submit=None, start="auto", cluster="hammer", terminal=None):
    """A record as sb-parse writes it."""
    start_time = None if start is None else (_before(end, elapsed) if start == "auto" else start)
    submit = submit or "2020-01-01T00:00:00Z"
    if terminal is None:
        terminal = state not in ("RUNNING", "PENDING", "REQUEUED", "SUSPENDED")
    return {"cluster": cluster, "job_id": str(job_id), "job_id_raw": str(job_id),
            "key": f"{job_id}@{submit}", "user": user, "account": account, "state": state,
            "terminal": terminal, "submit": submit, "start": start_time,
            "end": end if terminal else None, "elapsed_s": elapsed, "cpus": cpus, "nodes": 1,
            "gpus": gpus, "mem_bytes": None, "max_rss_bytes": None,
            "cpu_seconds": elapsed * cpus, "gpu_seconds": elapsed * gpus}


def _before(end, seconds):
    """The ISO time `seconds` before `end` (a job's start from its end and elapsed time)."""
    from datetime import datetime, timedelta
    moment = datetime.fromisoformat(end[:-1]) - timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ndjson(records):
    return b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records)


def tool(name, args, stdin=b"", env=None):
    return subprocess.run([sys.executable, "-m", f"slurm_scoreboard_tools.{name}"] + args,
                          input=stdin, capture_output=True, env=env or ENV)


def reduce(root, records, *args, env=None):
    done = tool("sb_reduce", ["--root", str(root)] + list(args), ndjson(records), env)
    stats = json.loads(done.stdout) if done.returncode == 0 else None
    return done, stats


def user_totals(root, cluster="hammer"):
    """username -> totals vector, from the all-time user files."""
    result = {}
    for path in glob.glob(os.path.join(str(root), "clusters", cluster, "agg", "users", "*.json")):
        with open(path, "rb") as handle:
            data = orjson.loads(handle.read())
        result[data["username"]] = data["totals"]
    return result


def rollup(root, month, cluster="hammer"):
    path = os.path.join(str(root), "clusters", cluster, "agg", "rollups", "monthly", month + ".json")
    with open(path, "rb") as handle:
        return orjson.loads(handle.read())


def expected_totals(records):
    """The truth, summed straight from the records by the metric definitions (CPU and GPU
    seconds are the record's own: a het job's are not its elapsed x its CPUs)."""
    failed = {"FAILED", "TIMEOUT", "OUT_OF_MEMORY"}
    truth = {}
    for r in records:
        if not r["terminal"]:
            continue
        v = truth.setdefault(r["user"], [0] * 6)
        v[0] += r["cpu_seconds"]
        v[1] += r["elapsed_s"]
        v[2] += r["gpu_seconds"]
        v[3] += r["elapsed_s"] if r["gpus"] else 0
        v[4] += r["state"] in failed
        v[5] += r["start"] is not None
    return {u: v for u, v in truth.items() if any(v)}


def snapshot(root):
    """Every file under root with its bytes (locks excluded)."""
    files = {}
    for folder, _, names in os.walk(str(root)):
        for name in names:
            if name.endswith(".lock"):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, str(root))] = handle.read()
    return files


def writers_group():
    """(name, gid) of a group for group mode this account may use: as root, one that is not
    its own (so a file left in root's group shows), else its own."""
    if os.geteuid() == 0:
        for entry in sorted(grp.getgrall(), key=lambda entry: entry.gr_gid):
            if entry.gr_gid != os.getegid() and re.fullmatch(r"[a-z_][a-z0-9_]*", entry.gr_name):
                return entry.gr_name, entry.gr_gid
    entry = grp.getgrgid(os.getegid())
    return entry.gr_name, entry.gr_gid
