"""A month of polling on the real test cluster, on a compressed clock.

Seeded history ends over the 30 days before now, so real jobs submitted when the test starts end
inside the simulated month. sb-poll runs as an unprivileged user at sampled 10-minute ticks
(two ticks in a row each morning, one each evening) with SLURM_SB_NOW pinned, while:
- a user whose jobs have ended is deleted from passwd before discovery reaches them;
- one tick runs with the clock a day ahead, then the clock comes back;
- one seeded job is poison (its Start is in the year 5138);
- a seeded random share of the ticks is SIGKILLed, whole process group, at a random moment
  (inside a stage, or after the tick finished).
At the end two polls run at the real time, and the store and the boards must equal the sums
computed straight from sacct (the departed user's history from before the backfill start cannot
be fetched: sacct -u refuses them, so it is not in either)."""
import json
import os
import pwd
import random
import subprocess
import time
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from slurm_jobs import (
    SLURM_SCRIPTS,
    TOP,
    USERS_BIN,
    kill_session,
    mysql,
    raw_sacct_totals,
    runuser_command,
    stamp,
    submit,
    wait_until_ended,
)

PIPELINES = os.path.join(TOP, "pipelines")
USERS = {"sbm1": "sbphys", "sbm2": "sbphys", "sbm3": "sbchem", "sbmgone": "sbchem"}
FIRST_ID = 9_400_000
POISON_ID = FIRST_ID + 9_999
SEED = int(os.environ.get("SB_MONTH_SEED") or random.SystemRandom().randrange(10 ** 6))


def epoch(moment):
    return int(moment.timestamp())


def add_users():
    for account in sorted(set(USERS.values())):
        users = [user for user, owner in USERS.items() if owner == account]
        subprocess.run([os.path.join(SLURM_SCRIPTS, "add-users.sh"), account] + users,
                       check=True, stdout=subprocess.DEVNULL)


def history(start, rng):
    """Jobs ending over the 30 days from `start` (and some before it, for discovery); the
    departed user's end on day 1 between 07:00 and 09:00."""
    jobs, job_id = [], FIRST_ID
    for day in range(-40, 30):
        for user in ("sbm1", "sbm2", "sbm3"):
            if day < 0 and day % 10:
                continue
            for hour in rng.sample(range(24), 2):
                end = start + timedelta(days=day, hours=hour, minutes=rng.randrange(60))
                jobs.append(job(job_id, user, end, rng))
                job_id += 1
    for hour in (-200, 7, 8, 9):       # one before the backfill start; three on day 1 after the
        end = start + timedelta(days=1, hours=hour) if hour > 0 else start + timedelta(hours=hour)
        # morning ticks, so the user is first seen by the evening tick, after the userdel
        jobs.append(job(job_id, "sbmgone", end, rng))
        job_id += 1
    jobs.append(job(POISON_ID, "sbm1", start + timedelta(days=5, hours=3), rng))
    return jobs


def job(job_id, user, end, rng):
    elapsed = rng.randrange(60, 6 * 3600)
    last = epoch(end)
    return {"job_id": job_id, "user": user, "account": USERS[user],
            "state": rng.choice(["COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "TIMEOUT"]),
            "submit": last - elapsed - 60, "start": last - elapsed, "end": last,
            "cpus": rng.choice([1, 2, 4, 8]), "gpus": rng.choice([0, 0, 0, 1, 2]),
            "mem_mb": 1000, "nodes": 1}


def seed(cluster, jobs, folder):
    path = os.path.join(folder, "month.json")
    with open(path, "w") as handle:
        json.dump(jobs, handle)
    subprocess.run(["python3", os.path.join(SLURM_SCRIPTS, "seed_history.py"), "--cluster",
                    cluster, "--jobs", path], check=True, stdout=subprocess.DEVNULL)
    # The poison record: a start in the year 5138, which sacct prints as it is.
    mysql(f"UPDATE {cluster}_job_table SET time_start = 99999999999 "
          f"WHERE id_job = {POISON_ID} AND job_name = 'seeded'")


def ticks(start):
    """(simulated now, label) in order: each day 06:00, 06:10 and 18:00; on day 10 one tick with
    the clock a day ahead; the departed user is deleted just before the day-1 evening tick."""
    plan = []
    for day in range(30):
        for offset in (timedelta(hours=6), timedelta(hours=6, minutes=10), timedelta(hours=18)):
            plan.append((start + timedelta(days=day) + offset, ""))
        if day == 10:
            plan.append((start + timedelta(days=11, hours=6, minutes=20), "ahead"))
    at = next(index for index, (moment, _) in enumerate(plan)
              if moment == start + timedelta(days=1, hours=18))
    plan[at] = (plan[at][0], "userdel")
    return plan


def poll(cluster, root, now, kill_after=None):
    """sb-poll as sbalice with "now" pinned; SIGKILL its whole process group after `kill_after`
    seconds if given. Returns (exit code, stderr)."""
    env = [f"PATH={USERS_BIN}:/usr/local/bin:/usr/bin:/bin", "SLURM_SB_SACCT_PER_MIN=1000"]
    if now is not None:
        env.append(f"SLURM_SB_NOW={now.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    command = runuser_command("sbalice", ["env"] + env + [
        os.path.join(PIPELINES, "sb-poll"), "--cluster", cluster, "--root", root,
        "--backfill-start", (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d"),
        "--history-start", "2000-01-01"])     # discovery reaches before the backfill start
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True, cwd="/tmp")
    if kill_after is None:
        return process.wait(), process.stderr.read().decode()
    time.sleep(kill_after)
    kill_session(process.pid)
    return process.wait(), process.stderr.read().decode()


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def stored(root, cluster):
    with open(os.path.join(root, "clusters", cluster, "agg", "alltime.json"), "rb") as handle:
        return {u["username"]: u["totals"] for u in orjson.loads(handle.read())["users"]}


def board(root, name):
    with open(os.path.join(root, "leaderboards", name + ".json"), "rb") as handle:
        return {row["user"]: row["value"] for row in orjson.loads(handle.read())["rows"]}


@pytest.fixture
def seeded_rows(cluster):
    """The test's seeded rows are removed afterwards, so later tests' sacct sums never meet them
    (the poison record above all)."""
    yield
    mysql(f"DELETE FROM {cluster}_job_table WHERE job_name = 'seeded' "
          f"AND id_job BETWEEN {FIRST_ID} AND {POISON_ID}")


@pytest.fixture
def departed_user():
    subprocess.run(["userdel", "sbmgone"], stderr=subprocess.DEVNULL)
    subprocess.run(["useradd", "-M", "-N", "sbmgone"], check=True)
    yield "sbmgone"
    subprocess.run(["userdel", "sbmgone"], stderr=subprocess.DEVNULL)


def test_a_month_of_polls_with_a_departed_user_a_clock_jump_poison_and_kills(
        cluster, user_root, departed_user, seeded_rows, tmp_path):
    rng = random.Random(SEED)
    real_now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    start = datetime.combine((real_now - timedelta(days=30)).date(), datetime.min.time(),
                             timezone.utc)
    add_users()
    seed(cluster, history(start, rng), str(tmp_path))
    real_jobs = [submit("sbm1", "--wrap", "sleep 20"), submit("sbm2", "-c", "2", "--wrap", "sleep 45"),
                 submit("sbm3", "--wrap", "sleep 5; exit 1")]
    kills, log, jumped = 0, [], None
    for moment, label in ticks(start):
        if label == "userdel":
            subprocess.run(["userdel", departed_user], check=True)
        kill_after = rng.uniform(0.05, 2.5) if rng.random() < 0.15 else None
        # the polls of the clock jump run whole: killed early, the "ahead" poll leaves no
        # cursor ahead, and the ones behind it could all be killed before they say so
        if label == "ahead" or (jumped and moment < jumped):
            kill_after = None
        if label == "ahead":
            jumped = moment
        code, errors = poll(cluster, user_root, moment, kill_after)
        log.append(errors)
        if kill_after is None:
            assert code == 0, (SEED, moment, errors)
        else:
            kills += 1
        if label == "ahead" and kill_after is None:
            with open(os.path.join(user_root, "clusters", cluster, "state",
                                   "poll_cursor.json")) as handle:
                assert json.load(handle)["incremental_since"] > \
                    (moment - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    wait_until_ended(real_jobs, len(real_jobs))
    for _ in range(2):
        code, errors = poll(cluster, user_root, None)
        log.append(errors)
        assert code == 0, (SEED, errors)
    text = "".join(log)
    assert "the clock jumped" in text
    assert text.count("sbmgone: sacct does not know this user") == 1, \
        "\n".join(line for line in text.splitlines() if "discover" in line)
    assert kills >= 3, SEED

    with open(os.path.join(user_root, "clusters", cluster, "state", "poll_cursor.json")) as handle:
        until = datetime.fromisoformat(json.load(handle)["incremental_since"][:-1])
    last = stamp(until - timedelta(seconds=1))
    window = raw_sacct_totals(cluster, stamp(start), last, skip_jobs={str(POISON_ID)})
    earlier = raw_sacct_totals(cluster, "2000-01-01T00:00:00",
                               stamp(start - timedelta(seconds=1)), skip_jobs={str(POISON_ID)})
    truth = {user: list(vector) for user, vector in window.items()}
    for user in truth:
        if user_exists(user) and user in earlier:
            truth[user] = [a + b for a, b in zip(truth[user], earlier[user])]
    assert {"sbm1", "sbm2", "sbm3", "sbmgone"} <= set(truth)
    assert stored(user_root, cluster) == truth, SEED
    jobs = board(user_root, "alltime_jobs")
    assert jobs == {user: vector[5] for user, vector in truth.items() if vector[5]}
    hours = board(user_root, "alltime_clock_hours")
    assert hours == {user: vector[0] / 3600 for user, vector in truth.items() if vector[0]}
    known = open(os.path.join(user_root, "clusters", cluster, "state", "known_users.txt")).read()
    assert "sbmgone" not in known.split() and "sbm1" in known.split()
