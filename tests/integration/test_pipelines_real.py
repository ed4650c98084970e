"""The pipelines on the real test cluster: backfill over seeded months of history on two
clusters (the second known only to slurmdbd, read with sacct -M), incremental polls while real
jobs finish, lock contention, a killed poll, and the daemon."""
import calendar
import fcntl
import json
import os
import random
import signal
import subprocess
import time
from datetime import datetime, timezone

import orjson
import pytest
from slurm_jobs import (
    FAILED,
    SLURM_SCRIPTS,
    TOP,
    USERS_BIN,
    as_user,
    kill_session,
    raw_sacct_totals,
    runuser_command,
    submit,
    wait_until_ended,
)

PIPELINES = os.path.join(TOP, "pipelines")
SECOND = "sbother"
EARLIER = ("--history-start", "2000-01-01")     # discovery's history from before the backfill


def epoch(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))


def history(cluster, first_id, seed):
    """Jobs from 2018-12 to 2019-07 (backfill starts 2019-02-01; Dec/Jan are for discovery,
    which reaches before the backfill start with --history-start, EARLIER)."""
    rng = random.Random(seed)
    jobs = []
    months = ["2018-12", "2019-01", "2019-02", "2019-03", "2019-04", "2019-05", "2019-06",
              "2019-07"]
    for index in range(64):
        month = months[index % len(months)]
        user = ("sbalice", "sbbob", "sbcarol")[index % 3]
        end = epoch(f"{month}-{1 + index % 27:02d}T{index % 24:02d}:30:00")
        elapsed = rng.randrange(60, 20000)
        jobs.append({"job_id": first_id + index, "user": user,
                     "account": "sbchem" if user == "sbcarol" else "sbphys",
                     "state": rng.choice(["COMPLETED", "COMPLETED", "FAILED", "TIMEOUT"]),
                     "submit": end - elapsed - 30, "start": end - elapsed, "end": end,
                     "cpus": rng.choice([1, 2, 4, 8]), "gpus": rng.choice([0, 0, 1, 2]),
                     "mem_mb": 1000, "nodes": 1})
    return jobs


def truth_of(jobs):
    totals = {}
    for job in jobs:
        elapsed = job["end"] - job["start"]
        v = totals.setdefault(job["user"], [0] * 6)
        v[0] += elapsed * job["cpus"]
        v[1] += elapsed
        v[2] += elapsed * job["gpus"]
        v[3] += elapsed if job["gpus"] else 0
        v[4] += job["state"] in FAILED
        v[5] += 1
    return totals


def seed(cluster, jobs, tmp_path):
    path = tmp_path / f"{cluster}.json"
    path.write_text(json.dumps(jobs))
    subprocess.run(["python3", os.path.join(SLURM_SCRIPTS, "seed_history.py"), "--cluster",
                    cluster, "--jobs", str(path), "--create-cluster"], check=True,
                   stdout=subprocess.DEVNULL)


def pipeline(tool, *args, env=None, check=True):
    """Run a pipeline as the unprivileged user sbalice, with the users' venv on PATH."""
    path = f"{USERS_BIN}:/usr/local/bin:/usr/bin:/bin"
    variables = [f"PATH={path}", "SLURM_SB_SACCT_PER_MIN=1000"] + \
        [f"{k}={v}" for k, v in (env or {}).items()]
    return as_user("sbalice", ["env"] + variables + [os.path.join(PIPELINES, tool)] + list(args),
                   check=check)


def stored(root, cluster):
    path = os.path.join(root, "clusters", cluster, "agg", "alltime.json")
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as handle:
        return {u["username"]: u["totals"] for u in orjson.loads(handle.read())["users"]}


def cursor(root, cluster):
    with open(os.path.join(root, "clusters", cluster, "state", "poll_cursor.json")) as handle:
        return json.load(handle)


@pytest.fixture
def root(user_root):
    return user_root


@pytest.fixture(scope="module")
def seeded(cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed")
    local, other = history(cluster, 9100000, 1), history(SECOND, 9200000, 2)
    seed(cluster, local, folder)
    seed(SECOND, other, folder)
    return {cluster: local, SECOND: other}


def test_backfill_over_six_seeded_months_on_two_clusters(cluster, seeded, root):
    env = {"SLURM_SB_NOW": "2019-08-15T00:00:00Z"}
    for name in (cluster, SECOND):
        for poll in range(1, 7):
            assert not cursor(root, name)["caught_up"] if poll > 1 else True
            done = pipeline("sb-poll", "--cluster", name, "--root", root,
                            "--backfill-start", "2019-02-01", "--json", *EARLIER, env=env)
            steps = [orjson.loads(line) for line in done.stdout.splitlines()]
            # the current month (August: nothing ended yet) is fetched beside the backfill
            # until the backfill catches up
            names = [step["step"] for step in steps]
            assert [n for n in names if n != "steps"] == \
                ["backfill", "incremental", "discovery", "boards"]
            # the daily step poll starts once the backfill has caught up
            assert ("steps" in names) == cursor(root, name)["caught_up"]
            month = f"2019-{poll + 1:02d}"
            backfill = steps[0]
            assert (backfill["month"], backfill["month_number"], backfill["months"],
                    backfill["months_left"]) == (month, poll, 6, 6 - poll)
            if poll == 1:        # nothing was stored before: every February job is new
                assert backfill["new_jobs"] == sum(
                    time.strftime("%Y-%m", time.gmtime(job["end"])) == month
                    for job in seeded[name])
        state = cursor(root, name)
        assert state["caught_up"] is True and state["backfill_next"] == "2019-08"
        assert stored(root, name) == truth_of(seeded[name])   # with Dec/Jan from discovery
    with open(os.path.join(root, "leaderboards", "alltime_jobs.json"), "rb") as handle:
        merged = {row["user"]: row["value"] for row in orjson.loads(handle.read())["rows"]}
    both = truth_of(seeded[cluster] + seeded[SECOND])
    assert merged == {user: v[5] for user, v in both.items()}
    done = pipeline("sb-poll", "--cluster", cluster, "--root", root, env=env)   # no change
    assert stored(root, cluster) == truth_of(seeded[cluster])
    assert done.stdout.startswith(f"{cluster}: incremental: nothing new to fetch: no new jobs, ")
    done = pipeline("sb-poll", "--status", "--root", root, "--json",
                    env={"SLURM_SB_NOW": "2019-08-15T01:00:00Z"}, check=False)
    status = {line["cluster"]: line for line in map(orjson.loads, done.stdout.splitlines())}
    assert done.returncode == 0, [line["problems"] for line in status.values()]
    assert set(status) == {cluster, SECOND}
    assert status[cluster]["lag_seconds"] == 3600 and status[cluster]["damaged"] == []
    assert status[cluster]["last_poll"]["last_success"] == "2019-08-15T00:00:00Z"


def test_five_polls_are_one_month_short_but_discovery_fetched_whole_histories(cluster, seeded,
                                                                              root):
    """The backfill has not reached July; the users it met were discovered with their whole
    history (to now), so the store is complete for them all the same, each job once."""
    env = {"SLURM_SB_NOW": "2019-08-15T00:00:00Z"}
    for _ in range(5):
        pipeline("sb-poll", "--cluster", cluster, "--root", root, "--backfill-start",
                 "2019-02-01", *EARLIER, env=env)
    state = cursor(root, cluster)
    assert state["caught_up"] is False and state["backfill_next"] == "2019-07"
    assert stored(root, cluster) == truth_of(seeded[cluster])
    pipeline("sb-poll", "--cluster", cluster, "--root", root, *EARLIER, env=env)   # July: all seen
    assert stored(root, cluster) == truth_of(seeded[cluster])


def test_incremental_polls_while_real_jobs_finish_count_each_once(cluster, root):
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    pipeline("sb-poll", "--cluster", cluster, "--root", root, "--backfill-start", today)
    assert cursor(root, cluster)["caught_up"] is True
    jobs = [submit(user, "-c", "2", "--wrap", f"sleep {seconds}")
            for user, seconds in (("sbalice", 2), ("sbbob", 6), ("sbcarol", 10), ("sbbob", 14))]
    deadline = time.time() + 120
    while time.time() < deadline:
        pipeline("sb-poll", "--cluster", cluster, "--root", root)
        done = subprocess.run(["squeue", "-h", "-j", ",".join(jobs)], capture_output=True,
                              text=True).stdout.strip()
        if not done:
            break
        time.sleep(3)
    wait_until_ended(jobs, len(jobs))
    pipeline("sb-poll", "--cluster", cluster, "--root", root)
    since = f"{today}T00:00:00"
    until = cursor(root, cluster)["incremental_since"].rstrip("Z")
    last_second = datetime.fromtimestamp(epoch(until) - 1, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    seen_today = raw_sacct_totals(cluster, since, last_second)
    assert {"sbalice", "sbbob", "sbcarol"} <= set(seen_today)
    # Discovery fetched the history of everyone seen today back to the backfill start (today):
    # their earlier jobs (other tests' seeded months) are not on the boards.
    assert stored(root, cluster) == seen_today


def wait_for_lock_holder(path, timeout=20):
    """Return once another process holds an flock on `path`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(handle, fcntl.LOCK_UN)
                except BlockingIOError:
                    return
        time.sleep(0.1)
    raise AssertionError(f"nobody took {path}")


def test_two_polls_at_once_and_a_killed_poll(cluster, seeded, root):
    env = {"SLURM_SB_NOW": "2019-08-15T00:00:00Z"}
    state = os.path.join(root, "clusters", cluster, "state")
    os.makedirs(state)
    os.chmod(os.path.join(root, "clusters"), 0o777)
    os.chmod(os.path.join(root, "clusters", cluster), 0o777)
    os.chmod(state, 0o777)
    # A call in the last minute and a limit of one a minute: the first poll waits inside sacct's
    # rate limit while holding the poll lock.
    with open(os.path.join(state, "sacct_rate.json"), "w") as handle:
        json.dump({"window_seconds": 60, "calls": [time.time()]}, handle)
    os.chmod(os.path.join(state, "sacct_rate.json"), 0o666)
    first = subprocess.Popen(
        runuser_command("sbalice", [
            "env", f"PATH={USERS_BIN}:/usr/bin:/bin", "SLURM_SB_SACCT_PER_MIN=1",
            "SLURM_SB_NOW=2019-08-15T00:00:00Z", os.path.join(PIPELINES, "sb-poll"),
            "--cluster", cluster, "--root", root, "--backfill-start", "2019-02-01", *EARLIER]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for_lock_holder(os.path.join(state, "poll.lock"))
    second = pipeline("sb-poll", "--cluster", cluster, "--root", root, env=env, check=False)
    assert second.returncode == 3 and "another poll" in second.stderr
    kill_session(first.pid)                   # the poll and its whole pipeline
    first.wait()
    for _ in range(6):
        pipeline("sb-poll", "--cluster", cluster, "--root", root, *EARLIER, env=env)
    assert stored(root, cluster) == truth_of(seeded[cluster])


def test_daemon_heartbeat_and_sigterm(cluster, root):
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    daemon = subprocess.Popen(
        runuser_command("sbalice", [
            "env", f"PATH={USERS_BIN}:/usr/bin:/bin", "SLURM_SB_SACCT_PER_MIN=1000",
            os.path.join(PIPELINES, "sb-daemon"), "--cluster", cluster, "--root", root,
            "--backfill-start", today, "--interval", "1", "--jitter", "0"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    beat = os.path.join(root, "clusters", cluster, "state", "daemon_heartbeat.json")
    seen = set()
    deadline = time.time() + 60
    while time.time() < deadline and len(seen) < 3:
        if os.path.exists(beat):
            with open(beat) as handle:
                data = json.load(handle)
            if data["last_result"] == "ok":
                seen.add(data["time"])
        time.sleep(0.3)
    assert len(seen) >= 2, "the heartbeat did not advance"
    os.kill(data["pid"], signal.SIGTERM)      # the daemon itself, from its heartbeat
    assert daemon.wait(timeout=60) == 0
    with open(beat) as handle:
        assert json.load(handle)["last_result"] == "stopped"
    after = pipeline("sb-poll", "--cluster", cluster, "--root", root, check=False)
    assert after.returncode == 0
