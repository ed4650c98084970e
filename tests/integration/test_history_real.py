"""Achievements and records end to end on the real test cluster: a seeded history (levels
crossed on a month boundary by a job spanning midnight, on a leap day, a record week over a month
boundary) goes through sb-sacct | sb-parse | sb-dedupe | sb-reduce and sb-rank as an unprivileged
user; the days of the level events and the records are then compared with values computed here
straight from raw sacct (AllocCPUS x ElapsedRaw spread over the UTC days from Start to End, each
day's share in proportion to its seconds, cut in integers that add up), with no project code."""
import calendar
import json
import os
import re
import shutil
import subprocess
import time
from collections import defaultdict
from datetime import date

import orjson
import pytest
from slurm_jobs import SLURM_SCRIPTS, USERS, USERS_BIN, as_user, mysql, shared_folder

FIRST_ID = 9_300_000
NOW = "2020-04-10T00:00:00Z"
RATE = 10                           # default XP per CPU-core hour
LEVELS = {10: 1154, 20: 4470, 30: 13363, 40: 37224, 50: 101333, 60: 273742}   # OSRS table


def epoch(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))


def job(index, user, end, hours, cpus, account="sbphys"):
    elapsed = int(hours * 3600)
    finish = epoch(end)
    return {"job_id": FIRST_ID + index, "user": user, "account": account, "state": "COMPLETED",
            "submit": finish - elapsed - 60, "start": finish - elapsed, "end": finish,
            "cpus": cpus, "gpus": 0, "mem_mb": 1000, "nodes": 1}


def history():
    return [
        # sbalice: 1,150 XP by 31 January; a job from 23:45 on the 31st to 01:45 on 1 February
        # (a new month) adds 2.5 XP on the 31st (1,152.5) and takes her past level 10 (1,154
        # XP) on 1 February
        job(0, "sbalice", "2020-01-31T12:00:00", 115, 1),
        job(1, "sbalice", "2020-02-01T01:45:00", 2, 1),
        # sbbob: level 20 (4,470 XP = 447 CPU-hours) exactly on the leap day
        job(2, "sbbob", "2020-02-20T10:00:00", 100, 4),
        job(3, "sbbob", "2020-02-29T10:00:00", 47, 1),
        # sbcarol: her best week runs over the month boundary (Mon 24 Feb - Sun 1 Mar)
        job(4, "sbcarol", "2020-02-27T10:00:00", 150, 2, "sbchem"),
        job(5, "sbcarol", "2020-03-01T10:00:00", 150, 2, "sbchem"),
        job(6, "sbcarol", "2020-03-16T10:00:00", 40, 2, "sbchem"),
        job(7, "sbalice", "2020-03-05T10:00:00", 10, 16),      # the best day: 160 h on the 5th
    ]


@pytest.fixture
def seeded(cluster, tmp_path):
    jobs = history()
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(jobs))
    subprocess.run(["python3", os.path.join(SLURM_SCRIPTS, "seed_history.py"), "--cluster",
                    cluster, "--jobs", str(path)], check=True, stdout=subprocess.DEVNULL)
    yield jobs
    mysql(f"DELETE FROM {cluster}_job_table WHERE job_name = 'seeded' "
          f"AND id_job BETWEEN {FIRST_ID} AND {FIRST_ID + 999}")


def daily_cpu_seconds(job_ids):
    """user -> UTC day -> CPU-core seconds used that day, from raw sacct: each job's
    AllocCPUS x ElapsedRaw spread from its Start to its End."""
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "User,ElapsedRaw,AllocCPUS,Start,End",
                          "-j", ",".join(map(str, job_ids))], capture_output=True, text=True,
                         check=True, env=dict(os.environ, TZ="UTC")).stdout
    days = defaultdict(lambda: defaultdict(int))
    for line in out.splitlines():
        user, elapsed, cpus, start, end = line.split("|")
        value, first, last = int(elapsed) * int(cpus), epoch(start), epoch(end)
        cut, moment = 0, first
        while moment < last:
            midnight = min(last, (moment // 86400 + 1) * 86400)
            upto = value * (midnight - first) // (last - first)
            days[user][time.strftime("%Y-%m-%d", time.gmtime(moment))] += upto - cut
            cut, moment = upto, midnight
    return days


def first_days(days):
    """(user, level) -> first day the cumulative CPU-core hours x 10 reached the level's XP."""
    found = {}
    for user, per_day in days.items():
        total = 0
        for day in sorted(per_day):
            total += per_day[day]
            for level, needed in LEVELS.items():
                if int(total / 3600 * RATE) >= needed:
                    found.setdefault((user, level), day)
    return found


def best(days, label):
    """(value in hours, user, label) of the largest sum over the days sharing a label."""
    sums = defaultdict(int)
    for user, per_day in days.items():
        for day, seconds in per_day.items():
            sums[(label(day), user)] += seconds
    (period, user), seconds = max(sums.items(), key=lambda item: item[1])
    assert sorted(sums.values())[-2:][0] < seconds, "the history must have no ties"
    return seconds / 3600, user, period


def iso_week(day):
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def ingest_and_rank(cluster, root, jobs):
    """The seeded months through sb-sacct | sb-parse | sb-dedupe | sb-reduce and sb-rank, as
    sbalice."""
    script = " | ".join([
        f"{USERS_BIN}/sb-sacct --root {root} --cluster {cluster} "
        f"--since 2020-01-01T00:00:00 --until 2020-04-01T00:00:00",
        f"{USERS_BIN}/sb-parse --quiet",
        f"{USERS_BIN}/sb-dedupe --root {root} --quiet",
        f"{USERS_BIN}/sb-reduce --root {root} --cluster {cluster}"])
    stats = orjson.loads(as_user("sbalice", ["bash", "-o", "pipefail", "-c", script]).stdout)
    assert stats["new_jobs"] == len(jobs)
    as_user("sbalice", [f"{USERS_BIN}/sb-rank", "--root", root, "--now", NOW])


def test_achievement_days_and_records_equal_values_from_raw_sacct(cluster, user_root, seeded):
    root = user_root
    ingest_and_rank(cluster, root, seeded)
    days = daily_cpu_seconds(job["job_id"] for job in seeded)

    truth = first_days(days)
    assert truth[("sbalice", 10)] == "2020-02-01" and truth[("sbbob", 20)] == "2020-02-29"
    with open(os.path.join(root, "leaderboards", "achievements.ndjson"), "rb") as handle:
        events = [orjson.loads(line) for line in handle]
    got = {(e["user"], e["level"]): e["day"] for e in events
           if e["event"] == "level" and e["skill"] == "clock_hours" and e["scope"] == cluster
           and e["kind"] == "users" and e["level"] in LEVELS}
    assert got == truth

    with open(os.path.join(root, "leaderboards", "records.json"), "rb") as handle:
        records = {r["period"]: r for r in orjson.loads(handle.read())["records"]
                   if r["scope"] == cluster and r["kind"] == "users"
                   and r["skill"] == "clock_hours"}
    for period, label in (("day", lambda d: d), ("week", iso_week), ("month", lambda d: d[:7])):
        value, user, when = best(days, label)
        assert (records[period]["value"], records[period]["user"], records[period]["label"]) \
            == (value, user, when), period
    assert records["week"]["label"] == "2020-W09" and records["week"]["user"] == "sbcarol"

    news = as_user("sbalice", [f"{USERS_BIN}/sb-news", "--root", root, "--all-scopes"])
    printed = [orjson.loads(line) for line in news.stdout.splitlines()]
    assert len(printed) == len(events)
    again = as_user("sbalice", [f"{USERS_BIN}/sb-news", "--root", root, "--all-scopes"])
    assert again.stdout == ""


# -- the charts of every view ------------------------------------------------------------------

SPARK = "_-=+*#%@"                  # sb-view's ASCII heights, lowest to highest; "." none
CHART_MONTHS = ["2019-%02d" % m for m in range(5, 13)] + ["2020-%02d" % m for m in range(1, 5)]


def monthly_hours(days, users):
    """month -> CPU-core hours of `users` together in it, from the raw daily seconds."""
    months = defaultdict(int)
    for user in users:
        for day, seconds in days.get(user, {}).items():
            months[day[:7]] += seconds
    return {month: seconds / 3600 for month, seconds in months.items()}


def progress_hours(root, scope, kind):
    """name -> month -> CPU-core hours, from a progress file sb-rank wrote."""
    with open(os.path.join(root, "leaderboards", "progress", f"{scope}_{kind}.ndjson"),
              "rb") as handle:
        lines = [orjson.loads(line) for line in handle][1:]
    return {line["name"]: dict(zip(line["months"], line["value"]["clock_hours"]))
            for line in lines}


def chart_hours(page):
    """month -> CPU-core hours of a site page's monthly bars (their data-value)."""
    return {month: float(value) for month, value in re.findall(
        r'<rect [^>]*data-month="([0-9-]+)" data-skill="clock_hours" data-xp="[0-9]+" '
        r'data-value="([0-9.e+-]+)"', page)}


def spark_of(snapshot, title):
    line = next(line for line in snapshot.splitlines() if line.startswith(f"  {title} "))
    return line.split()[-1]


def assert_heights_follow(spark, hours):
    """One character a chart month: "." where no hour was used, the highest at the best month,
    and heights in the order of the hours."""
    assert len(spark) == len(CHART_MONTHS), spark
    used = {month: hours.get(month, 0) for month in CHART_MONTHS}
    assert [c == "." for c in spark] == [used[month] == 0 for month in CHART_MONTHS], spark
    best = max(used, key=used.get)
    assert spark[CHART_MONTHS.index(best)] == SPARK[-1], spark
    heights = sorted((used[m], SPARK.index(c)) for m, c in zip(CHART_MONTHS, spark) if c != ".")
    assert [h for _, h in heights] == sorted(h for _, h in heights), spark


def test_the_charts_of_every_view_are_the_months_of_raw_sacct(cluster, user_root, seeded):
    """Issue 25 on a store built from real SLURM: the progress files, the site's charts and
    search, and sb-view's sparklines show each user's and group's months as raw sacct has
    them."""
    root = user_root
    ingest_and_rank(cluster, root, seeded)
    days = daily_cpu_seconds(job["job_id"] for job in seeded)
    groups = {account: [u for u, a in USERS.items() if a == account] for account in USERS.values()}
    truth = {("users", user): monthly_hours(days, [user]) for user in USERS}
    truth.update({("groups", account): monthly_hours(days, members)
                  for account, members in groups.items()})
    assert truth[("users", "sbalice")] == {"2020-01": 115.25, "2020-02": 1.75, "2020-03": 160}
    for scope in ("all", f"cluster-{cluster}"):
        for kind in ("users", "groups"):
            got = progress_hours(root, scope, kind)
            for (wanted_kind, name), months in truth.items():
                if wanted_kind == kind:
                    kept = {m: v for m, v in got[name].items() if v}
                    assert kept == pytest.approx(months, abs=1e-9), (scope, name)

    site_parent = shared_folder()
    try:
        site = os.path.join(site_parent, "site")
        as_user("sbalice", [f"{USERS_BIN}/sb-export", "--root", root, "--format", "html",
                            "--output", site])
        for (kind, name), months in truth.items():
            folder = "players" if kind == "users" else "groups"
            with open(os.path.join(site, folder, f"{name}.html"), encoding="utf-8") as handle:
                page = handle.read()
            assert chart_hours(page) == pytest.approx(months, abs=1e-9), name
        with open(os.path.join(site, "search.html"), encoding="utf-8") as handle:
            index = re.search(r'<script type="application/json" id="sb-names">(.*?)</script>',
                              handle.read()).group(1)
        names = {(entry["n"], entry["k"], entry["p"]) for entry in json.loads(index)}
        assert {(u, "player", f"players/{u}.html") for u in USERS} <= names
        assert {(g, "group", f"groups/{g}.html") for g in groups} <= names
    finally:
        shutil.rmtree(site_parent, ignore_errors=True)

    for kind, name in (("users", "sbalice"), ("users", "sbcarol"), ("groups", "sbphys")):
        args = ["--groups"] if kind == "groups" else []
        shown = as_user("sbbob", [f"{USERS_BIN}/sb-view", "--root", root, "--snapshot",
                                  "--color", "never", "--width", "100", "--user", name] + args)
        assert "Monthly XP, 2019-05 to 2020-04" in shown.stdout
        assert_heights_follow(spark_of(shown.stdout, "CPU-core hours"), truth[(kind, name)])
