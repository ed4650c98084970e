"""Real jobs through sb-sacct | sb-parse | sb-dedupe | sb-reduce, run by an unprivileged user,
against totals computed here straight from sacct's own output for the same job ids."""
import os
import subprocess

import orjson
import pytest
from slurm_jobs import USERS_BIN, as_user, stamp

FAILED = {"FAILED", "TIMEOUT", "OUT_OF_MEMORY"}


def independent_totals(job_ids):
    """user -> [cpu s, wall s, gpu s, gpu wall s, failed, jobs], from raw sacct, no project code."""
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-o",
                          "User,State,ElapsedRaw,AllocCPUS,AllocTRES,Start",
                          "-j", ",".join(job_ids)],
                         capture_output=True, text=True, check=True, env=dict(os.environ, TZ="UTC")).stdout
    totals = {}
    for line in out.splitlines():
        user, state, elapsed, cpus, tres, start = line.split("|")
        elapsed, cpus = int(elapsed), int(cpus)
        gpus = sum(int(item.split("=")[1]) for item in tres.split(",") if item.startswith("gres/gpu="))
        vector = totals.setdefault(user, [0] * 6)
        vector[0] += elapsed * cpus
        vector[1] += elapsed
        vector[2] += elapsed * gpus
        vector[3] += elapsed if gpus else 0
        vector[4] += state.split(" ")[0] in FAILED
        vector[5] += start not in ("", "None", "Unknown")
    return totals


def run_store_pipeline(cluster, root, since, until):
    script = " | ".join([
        f"{USERS_BIN}/sb-sacct --root {root} --cluster {cluster} --since {stamp(since)} --until {stamp(until)}",
        f"{USERS_BIN}/sb-parse --quiet",
        f"{USERS_BIN}/sb-dedupe --root {root} --quiet",
        f"{USERS_BIN}/sb-reduce --root {root} --cluster {cluster}"])
    done = as_user("sbalice", ["bash", "-o", "pipefail", "-c", script])
    return orjson.loads(done.stdout)


def stored_totals(root, cluster):
    folder = os.path.join(root, "clusters", cluster, "agg", "users")
    result = {}
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as handle:
            data = orjson.loads(handle.read())
        result[data["username"]] = data["totals"]
    return result


@pytest.fixture
def root(user_root):
    return user_root


def our_job_ids(submitted):
    jobs = submitted["jobs"]
    return [jobs[k] for k in jobs if k != "array"] + [f"{jobs['array']}_{i}" for i in (1, 2, 3)]


def test_every_users_totals_equal_sums_from_raw_sacct(submitted, cluster, root):
    stats = run_store_pipeline(cluster, root, submitted["since"], submitted["until"])
    assert stats["new_jobs"] == len(our_job_ids(submitted))
    assert stored_totals(root, cluster) == independent_totals(our_job_ids(submitted))
    again = run_store_pipeline(cluster, root, submitted["since"], submitted["until"])
    assert again["new_jobs"] == 0 and again["users_changed"] == []
    assert stored_totals(root, cluster) == independent_totals(our_job_ids(submitted))


def test_accounts_break_totals_down_by_group(submitted, cluster, root):
    run_store_pipeline(cluster, root, submitted["since"], submitted["until"])
    with open(os.path.join(root, "clusters", cluster, "agg", "users", "sbcarol.json"), "rb") as f:
        carol = orjson.loads(f.read())
    assert list(carol["accounts"]) == ["sbchem"]
    assert carol["accounts"]["sbchem"] == carol["totals"]


def test_home_marker_opts_a_user_out(submitted, cluster, root):
    home = os.path.expanduser("~sbcarol")
    mode = os.stat(home).st_mode
    os.chmod(home, 0o755)           # the poller must be able to look into the home folder
    marker = os.path.join(home, ".slurm_scoreboard_optout")
    as_user("sbcarol", ["touch", marker])
    try:
        stats = run_store_pipeline(cluster, root, submitted["since"], submitted["until"])
    finally:
        os.unlink(marker)
        os.chmod(home, mode)
    assert "sbcarol" not in stored_totals(root, cluster)
    assert stats["skipped"]["opted out"] == 3      # timeout, typed_gpu, cancelled
    truth = independent_totals(our_job_ids(submitted))
    del truth["sbcarol"]
    assert stored_totals(root, cluster) == truth


def test_boards_from_real_jobs_equal_independent_sums(submitted, cluster, root):
    run_store_pipeline(cluster, root, submitted["since"], submitted["until"])
    as_user("sbalice", [f"{USERS_BIN}/sb-rank", "--root", root])
    truth = independent_totals(our_job_ids(submitted))
    for window in ("alltime", "rolling-7d", "month"):
        for metric, index, divisor in (("clock_hours", 0, 3600), ("gpu_clock_hours", 2, 3600),
                                       ("failed_jobs", 4, 1), ("jobs", 5, 1)):
            for scope in ([], ["clusters", cluster]):
                path = os.path.join(root, "leaderboards", *scope, f"{window}_{metric}.json")
                with open(path, "rb") as handle:
                    board = orjson.loads(handle.read())
                got = {row["user"]: row["value"] for row in board["rows"]}
                want = {user: v[index] / divisor if divisor != 1 else v[index]
                        for user, v in truth.items() if v[index]}
                assert got == want, (window, metric, scope)
    groups = as_user("sbalice", [f"{USERS_BIN}/sb-rank", "--root", root, "--window", "alltime",
                                 "--metric", "jobs", "--groups"]).stdout
    by_group = {orjson.loads(line)["account"]: orjson.loads(line)["value"]
                for line in groups.splitlines()}
    assert by_group == {"sbphys": truth["sbalice"][5] + truth["sbbob"][5],
                        "sbchem": truth["sbcarol"][5]}
