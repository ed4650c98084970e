"""Achievements, records, competitions, group statistics and compare on hand-checked stores.

Rates are the defaults: 10 XP a CPU-core hour, 100 XP a wall hour and a job. Levels on the game's
curve, checked by hand against the OSRS experience table: level 10 needs 1,154 XP, level 20
4,470, level 99 13,034,431.
"""
import json
import os

import orjson
import pytest
from reduce_helpers import job, reduce, tool

from slurm_scoreboard.core import layout, xp

NOW = "2024-03-05T12:00:00Z"
HOUR = 3600


def rank(root, *args, now=NOW, code=0):
    every = ["--history-every", "0"] if not args else []
    done = tool("sb_rank", ["--root", str(root), "--now", now] + every + list(args))
    assert done.returncode == code, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def events(root):
    with open(os.path.join(str(root), "leaderboards", "achievements.ndjson"), "rb") as handle:
        return [orjson.loads(line) for line in handle]


def read(root, *parts):
    with open(os.path.join(str(root), "leaderboards", *parts), "rb") as handle:
        return orjson.loads(handle.read())


def cpu_hours(job_id, user, end, hours, **kw):
    """A one-CPU job of `hours` wall hours (so `hours` CPU-core hours) ending at `end`."""
    return job(job_id, user, end, cpus=1, elapsed=int(hours * HOUR), **kw)


def found(root, **match):
    return [e for e in events(root) if all(e.get(k) == v for k, v in match.items())]


def store(tmp_path, records):
    for cluster in sorted({r["cluster"] for r in records}):
        done, _ = reduce(tmp_path, [r for r in records if r["cluster"] == cluster])
        assert done.returncode == 0, done.stderr
    rank(tmp_path)
    return tmp_path


def test_the_xp_table_behind_these_tests():
    assert (xp.xp_for_level(10), xp.xp_for_level(20), xp.xp_for_level(99)) == \
        (1154, 4470, 13034431)


def test_level_crossed_by_a_job_spanning_midnight_on_a_month_boundary_is_dated_when_gained(
        tmp_path):
    # 115 CPU-hours by 31 January: 1,150 XP, level 9. A one-hour job from 23:45 on 31 January to
    # 00:45 on 1 February adds 2.5 XP on the 31st (1,152.5: still level 9) and 7.5 XP on the
    # 1st: 1,160 >= 1,154, level 10 on 1 February (a new month), each month holding its share.
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-01-31T20:00:00Z", 115),
                            cpu_hours(2, "alice", "2024-02-01T00:45:00Z", 1)])
    level10 = found(root, event="level", skill="clock_hours", level=10, scope="all",
                    kind="users")
    assert [(e["day"], e["user"], e["xp"]) for e in level10] == [("2024-02-01", "alice", 1160)]
    assert found(root, event="level", skill="clock_hours", level=10, scope="hammer")[0]["day"] \
        == "2024-02-01"
    rollups = os.path.join(str(root), "clusters", "hammer", "agg", "rollups", "monthly")
    with open(os.path.join(rollups, "2024-01.json"), "rb") as handle:
        january = orjson.loads(handle.read())
    with open(os.path.join(rollups, "2024-02.json"), "rb") as handle:
        february = orjson.loads(handle.read())
    assert january["users"][0]["totals"][0] == 115 * HOUR + 15 * 60
    assert february["days"] == [["alice", "2024-02-01", "proj", 45 * 60, 45 * 60, 0, 0, 0, 1]]


def test_level_reached_on_a_leap_day(tmp_path):
    # 447 CPU-hours = 4,470 XP: exactly level 20, on 29 February 2024 (each job runs inside its
    # day: 40 CPUs for 10 hours, then 47 CPUs for an hour).
    root = store(tmp_path, [job(1, "bob", "2024-02-28T10:00:00Z", cpus=40, elapsed=10 * HOUR),
                            job(2, "bob", "2024-02-29T10:00:00Z", cpus=47, elapsed=HOUR)])
    days = {e["level"]: e["day"] for e in found(root, event="level", skill="clock_hours",
                                                  scope="all", kind="users")}
    assert days[10] == "2024-02-28" and days[20] == "2024-02-29" and 30 not in days


def test_first_job_per_cluster_total_level_and_group_levels(tmp_path):
    root = store(tmp_path, [
        cpu_hours(1, "alice", "2024-01-10T10:00:00Z", 12),     # proj: 1,200 wall XP, level 10
        cpu_hours(2, "alice", "2024-02-10T10:00:00Z", 2, cluster="anvil", account="chem"),
    ])
    # the first day each ran there: the 12-hour job started at 22:00 on 9 January
    firsts = sorted((e["scope"], e["day"]) for e in found(root, event="first_job"))
    assert firsts == [("anvil", "2024-02-10"), ("hammer", "2024-01-09")]
    # a group reaches levels on its own: chem got 2 wall hours = 200 XP -> level 3 < 10
    assert not found(root, kind="groups", account="chem", event="level")
    assert found(root, kind="groups", account="proj", scope="all", event="level",
                 skill="elapsed_hours", level=10)[0]["day"] == "2024-01-10"


def test_total_level_milestone(tmp_path):
    # Each day of February, ten one-CPU jobs of 20 wall hours (02:00 to 22:00): 200 CPU-core and
    # wall hours and 10 jobs a day. After one day: clock 2,000 XP (12), wall 20,000 XP (35), jobs
    # 1,000 XP (10), the two GPU skills 1: 12 + 35 + 1 + 1 + 10 = 59; ... the total reaches 100
    # on the first day it sums to 100 or more.
    records = [cpu_hours(10 * i + n, "carol", f"2024-02-{i:02d}T22:00:00Z", 20)
               for i in range(1, 29) for n in range(10)]
    root = store(tmp_path, records)
    milestone = found(root, event="total_level", total_level=100, scope="all", kind="users")
    assert len(milestone) == 1
    day = milestone[0]["day"]
    n = int(day[-2:])
    totals = []
    for days in (n - 1, n):
        levels = [xp.level(xp.xp_of(200 * days, 10)), xp.level(xp.xp_of(200 * days, 100)),
                  1, 1, xp.level(xp.xp_of(10 * days, 100))]
        totals.append(sum(levels))
    assert totals[0] < 100 <= totals[1] and milestone[0]["level"] == totals[1]


def test_rank_1_taken_and_lost(tmp_path):
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 10),
                            cpu_hours(2, "bob", "2024-02-02T10:00:00Z", 5),
                            cpu_hours(3, "bob", "2024-02-03T10:00:00Z", 6),
                            cpu_hours(4, "alice", "2024-02-04T10:00:00Z", 1)])
    taken = [(e["day"], e["user"], e["previous"]) for e in
             found(root, event="rank_1", skill="clock_hours", scope="all", kind="users")]
    # bob 11 > alice 10 on the 3rd; on the 4th alice 11 = bob 11: the tie goes to alice (name)
    assert taken == [("2024-02-01", "alice", None), ("2024-02-03", "bob", "alice"),
                     ("2024-02-04", "alice", "bob")]


def test_records_day_week_month_across_a_leap_day_and_a_month_boundary(tmp_path):
    root = store(tmp_path, [
        cpu_hours(1, "alice", "2024-02-26T10:00:00Z", 3),     # Monday of 2024-W09
        cpu_hours(2, "alice", "2024-02-29T10:00:00Z", 4),     # leap day
        cpu_hours(3, "alice", "2024-03-01T10:00:00Z", 5),     # Friday, a new month
        cpu_hours(4, "bob", "2024-02-05T10:00:00Z", 10),      # bob's best day, in 2024-W06
        cpu_hours(5, "bob", "2024-02-06T10:00:00Z", 1),
    ])
    records = {(r["period"]): r for r in read(root, "records.json")["records"]
               if r["scope"] == "all" and r["kind"] == "users" and r["skill"] == "clock_hours"}
    assert (records["day"]["user"], records["day"]["value"], records["day"]["label"]) == \
        ("bob", 10.0, "2024-02-05")
    # alice's week 2024-W09 (26 Feb - 3 Mar) = 3 + 4 + 5 = 12 beats bob's 11
    assert (records["week"]["user"], records["week"]["value"], records["week"]["label"],
            records["week"]["first_day"], records["week"]["last_day"]) == \
        ("alice", 12.0, "2024-W09", "2024-02-26", "2024-03-03")
    # February: bob 11, alice 7; March: alice 5
    assert (records["month"]["user"], records["month"]["value"], records["month"]["label"]) == \
        ("bob", 11.0, "2024-02")
    assert records["day"]["xp"] == 100


def test_a_late_job_moves_a_record_and_an_achievement_day_but_the_feed_prints_once(tmp_path):
    root = store(tmp_path, [job(1, "alice", "2024-02-20T10:00:00Z", cpus=116, elapsed=HOUR)])
    assert found(root, event="level", level=10, scope="all", kind="users",
                 skill="clock_hours")[0]["day"] == "2024-02-20"
    done = tool("sb_news", ["--root", str(root)])
    first = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0 and any(e["event"] == "level" for e in first)
    # a job that reaches slurmdbd late, ended on the 10th with more than the 20th had
    done, _ = reduce(root, [job(2, "alice", "2024-02-10T10:00:00Z", cpus=120, elapsed=HOUR)])
    assert done.returncode == 0
    rank(root)
    assert found(root, event="level", level=10, scope="all", kind="users",
                 skill="clock_hours")[0]["day"] == "2024-02-10"
    day = [r for r in read(root, "records.json")["records"] if r["scope"] == "all" and
           r["kind"] == "users" and r["skill"] == "clock_hours" and r["period"] == "day"][0]
    assert (day["label"], day["value"]) == ("2024-02-10", 120.0)
    again = tool("sb_news", ["--root", str(root)])
    new = [json.loads(line) for line in again.stdout.splitlines()]
    assert again.returncode == 0
    assert not any(e["event"] == "level" and e["level"] == 10 and e["skill"] == "clock_hours"
                   and e["scope"] == "all" for e in new)
    assert {e["id"] for e in new}.isdisjoint({e["id"] for e in first})


def test_opted_out_users_make_no_news_no_records_and_no_group_sums(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "optout.txt").write_text("mallory\n")
    root = store(tmp_path, [cpu_hours(1, "mallory", "2024-02-01T10:00:00Z", 500),
                            cpu_hours(2, "alice", "2024-02-01T10:00:00Z", 1)])
    text = (tmp_path / "leaderboards" / "achievements.ndjson").read_text()
    assert "mallory" not in text
    assert "mallory" not in (tmp_path / "leaderboards" / "records.json").read_text()
    group_day = [r for r in read(root, "records.json")["records"] if r["kind"] == "groups" and
                 r["skill"] == "clock_hours" and r["period"] == "day" and r["scope"] == "all"]
    assert group_day[0]["value"] == 1.0
    assert "mallory" not in (tmp_path / "leaderboards" / "groups" / "alltime_stats.json").read_text()


def test_group_statistics_and_rank_inside_the_group(tmp_path):
    big = 1000 * 1304      # CPU-hours: 13,040,000 XP at 10 XP an hour, just past 99
    root = store(tmp_path, [job(1, "alice", "2024-02-01T10:00:00Z", cpus=1000,
                                elapsed=1304 * HOUR),
                            cpu_hours(2, "bob", "2024-02-01T10:00:00Z", 10),
                            cpu_hours(3, "carol", "2024-02-01T10:00:00Z", 20),
                            cpu_hours(4, "carol", "2024-02-02T10:00:00Z", 1, account="chem")])
    stats = {g["account"]: g for g in read(root, "groups", "alltime_stats.json")["groups"]}
    proj = stats["proj"]
    assert (proj["members"], proj["members_99"], proj["users"]) == (3, 1, ["alice", "bob", "carol"])
    levels = [xp.level(xp.xp_of(h, 10)) for h in (big, 10, 20)]   # carol charged 20 h to proj
    assert proj["average_levels"]["clock_hours"] == round(sum(levels) / 3, 2)
    assert stats["chem"]["members"] == 1
    page = rank(root, "--user", "carol")[0]
    groups = {g["account"]: g for g in page["groups"]}
    assert groups["proj"]["ranks"]["clock_hours"] == 2 and groups["proj"]["members"] == 3
    assert groups["chem"]["ranks"]["clock_hours"] == 1 and groups["chem"]["members"] == 1
    # the same ranks as the account's own board (what members charged to it)
    for account in ("proj", "chem"):
        board = rank(root, "--window", "alltime", "--metric", "clock_hours", "--account", account)
        assert groups[account]["ranks"]["clock_hours"] == \
            next(row["rank"] for row in board if row["user"] == "carol")
    # CPU-hours x 10 + wall hours x 100 + jobs x 100, each member's charge to proj:
    # alice 13,040,000 + 130,400 + 100, bob 100 + 1,000 + 100, carol 200 + 2,000 + 100
    assert proj["total_xp"] == 13_170_500 + 1_200 + 2_300
    assert proj["member_xp"] == {"alice": 13_170_500, "bob": 1_200, "carol": 2_300}
    assert stats["chem"]["member_xp"] == {"carol": 10 + 100 + 100}   # carol's 1 h to chem
    assert {(e["event"], e["scope"]) for e in page["achievements"]} >= \
        {("first_job", "hammer"), ("level", "all")}
    assert {e["scope"] for e in page["achievements"] if e["event"] != "first_job"} == {"all"}
    on_hammer = rank(root, "--user", "carol", "--cluster", "hammer")[0]["achievements"]
    assert {e["scope"] for e in on_hammer} == {"hammer"}


def test_a_month_without_a_gain_in_any_skill_is_no_month_of_the_progress_file(tmp_path):
    """A job that failed before it started counts a failed job, which is no skill: its month
    has no gain, and a user with nothing else has no progress line."""
    never_ran = dict(state="FAILED", start=None, elapsed=0)
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-01-10T10:00:00Z", 5),
                            job(2, "alice", "2024-02-10T10:00:00Z", **never_ran),
                            job(3, "bob", "2024-02-11T10:00:00Z", **never_ran)])
    with open(layout.progress_file(str(root), "all", "users"), "rb") as handle:
        lines = [json.loads(line) for line in handle.read().splitlines()[1:]]
    assert [(line["name"], line["months"]) for line in lines] == [("alice", ["2024-01"])]
    failed = rank(root, "--window", "alltime", "--metric", "failed_jobs")
    assert sorted((row["user"], row["value"]) for row in failed) == [("alice", 1), ("bob", 1)]


def test_compare_two_users(tmp_path):
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 30),
                            cpu_hours(2, "bob", "2024-02-01T10:00:00Z", 10)])
    doc = rank(root, "--compare", "bob", "alice")[0]
    clock = next(s for s in doc["skills"] if s["metric"] == "clock_hours")
    assert doc["users"] == ["bob", "alice"]
    assert [v["rank"] for v in clock["values"]] == [2, 1]
    assert clock["xp_gap"] == 100 - 300
    assert rank(root, "--compare", "bob", "nobody", code=5) == []
    assert rank(root, "--compare", "bob", "../x", code=2) == []


def write_competitions(root, config):
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "competitions.json").write_text(json.dumps(config))


def test_competition_over_two_skills_with_levels_gained_and_an_account_filter(tmp_path):
    write_competitions(tmp_path, {"competitions": [
        {"id": "feb", "title": "February", "skills": ["clock_hours", "jobs"],
         "from": "2024-02-01", "to": "2024-02-29"},
        {"id": "chem-only", "skills": ["clock_hours"], "from": "2024-02-01", "to": "2024-02-29",
         "accounts": ["chem"]},
        {"id": "later", "skills": ["jobs"], "from": "2024-04-01", "to": "2024-04-30",
         "users": ["alice", "zed"]}]})
    root = store(tmp_path, [
        cpu_hours(1, "alice", "2024-01-31T23:00:00Z", 110),   # before: 1,100 XP (level 9)
        job(2, "alice", "2024-02-01T01:00:00Z", cpus=10, elapsed=HOUR),  # +100 XP -> level 10
        cpu_hours(3, "bob", "2024-02-15T10:00:00Z", 1, account="chem"),
        job(4, "bob", "2024-03-01T10:00:00Z", cpus=50, elapsed=HOUR),  # after the end
    ])
    feb = read(root, "competitions", "feb.json")
    rows = {r["user"]: r for r in feb["rows"]}
    assert feb["status"] == "finished" and list(rows) == ["alice", "bob"]
    assert rows["alice"]["skills"]["clock_hours"] == {"gained": 10.0, "xp": 100,
                                                     "start_level": 9, "end_level": 10}
    assert rows["alice"]["xp_gained"] == 100 + 100 and rows["alice"]["levels_gained"] == 1 + 1
    assert rows["bob"]["xp_gained"] == 10 + 100 and rows["bob"]["rank"] == 2
    chem = read(root, "competitions", "chem-only.json")
    assert [(r["user"], r["xp_gained"]) for r in chem["rows"]] == [("bob", 10)]
    later = read(root, "competitions", "later.json")
    assert later["status"] == "upcoming"
    assert [(r["rank"], r["user"], r["xp_gained"]) for r in later["rows"]] == \
        [(1, "alice", 0), (1, "zed", 0)]
    index = read(root, "competitions.json")["competitions"]
    # upcoming first; finished latest first, then by id
    assert [c["id"] for c in index] == ["later", "chem-only", "feb"]


def test_skill_of_the_week_rotates_and_a_removed_competition_loses_its_file(tmp_path):
    write_competitions(tmp_path, {"competitions": [
        {"id": "old", "skills": ["jobs"], "from": "2024-01-01", "to": "2024-01-31"}],
        "presets": ["skill-of-the-week"]})
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-03-04T10:00:00Z", 2)])
    ids = [c["id"] for c in read(root, "competitions.json")["competitions"]]
    assert ids == ["sotw-2024-W10", "sotw-2024-W11", "sotw-2024-W09", "sotw-2024-W08",
                   "sotw-2024-W07", "sotw-2024-W06", "old"]
    skills = [read(root, "competitions", f"{i}.json")["skills"][0] for i in ids[:6]]
    assert len(set(skills)) == 5 and "failed_jobs" not in skills      # five skills rotate
    assert read(root, "competitions", "sotw-2024-W10.json")["title"].startswith(
        "Skill of the week 2024-W10: ")
    write_competitions(tmp_path, {"presets": ["skill-of-the-week"],
                                  "skill_of_the_week_skills": ["jobs", "clock_hours"]})
    rank(root)
    skills = {read(root, "competitions", f"{i}.json")["skills"][0] for i in ids[:6]}
    assert skills == {"jobs", "clock_hours"}
    this_week = read(root, "competitions", "sotw-2024-W10.json")
    assert (this_week["from"], this_week["to"], this_week["status"]) == \
        ("2024-03-04", "2024-03-10", "ongoing")
    write_competitions(tmp_path, {"competitions": []})
    rank(root)
    assert os.listdir(root / "leaderboards" / "competitions") == []


@pytest.mark.parametrize("config, field", [
    ({"competitions": [{"id": "a", "skills": ["nope"], "from": "2024-01-01",
                        "to": "2024-01-02"}]}, "skills"),
    ({"competitions": [{"id": "../a", "skills": ["jobs"], "from": "2024-01-01",
                        "to": "2024-01-02"}]}, "id"),
    ({"competitions": [{"id": "a", "skills": ["jobs"], "from": "2024-02-30",
                        "to": "2024-03-02"}]}, "from"),
    ({"competitions": [{"id": "a", "skills": ["jobs"], "from": "2024-03-01",
                        "to": "2024-02-01"}]}, "before"),
    ({"competitions": [{"id": "a", "skills": ["jobs"], "from": "2024-01-01", "to": "2024-01-02",
                        "users": ["x\u001b[31m"]}]}, "users"),
    ({"competitions": [], "presets": ["nope"]}, "presets"),
    ([1, 2], "expected"),
])
def test_a_bad_competitions_file_leaves_the_competitions_and_still_writes_the_boards(
        tmp_path, config, field):
    write_competitions(tmp_path, {"competitions": [
        {"id": "good", "skills": ["jobs"], "from": "2024-02-01", "to": "2024-02-29"}]})
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 1)])
    before = (root / "leaderboards" / "competitions" / "good.json").read_bytes()
    write_competitions(tmp_path, config)
    later = "2024-03-06T12:00:00Z"
    done = tool("sb_rank", ["--root", str(root), "--now", later])
    assert done.returncode == 1 and field.encode() in done.stderr
    assert b"not updated" in done.stderr
    assert b"Traceback" not in done.stderr and b"\x1b" not in done.stderr
    assert read(root, "index.json")["asof"] == later                  # the boards moved on
    assert read(root, "rolling-7d_jobs.json")["asof"] == later        # (its window moved)
    assert (root / "leaderboards" / "competitions" / "good.json").read_bytes() == before


def test_a_competition_naming_what_the_store_never_saw_is_a_warning(tmp_path):
    write_competitions(tmp_path, {"competitions": [
        {"id": "typos", "skills": ["jobs"], "from": "2024-02-01", "to": "2024-02-29",
         "cluster": "hamer", "users": ["alcie", "alice"], "accounts": ["physcs"]}]})
    done, _ = reduce(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 1)])
    done = tool("sb_rank", ["--root", str(tmp_path), "--now", NOW])
    assert done.returncode == 0
    for name in (b"no cluster hamer", b"no user alcie", b"no account physcs"):
        assert name in done.stderr
    assert b"alice" not in done.stderr.split(b"no user")[1].split(b"\n")[0].replace(b"alcie", b"")


def test_an_opted_out_user_named_in_a_competition_is_left_out(tmp_path):
    write_competitions(tmp_path, {"competitions": [
        {"id": "duo", "skills": ["jobs"], "from": "2024-02-01", "to": "2024-02-29",
         "users": ["alice", "bob"]}]})
    (tmp_path / "config" / "optout.txt").write_text("bob\n")
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 1),
                            cpu_hours(2, "bob", "2024-02-01T10:00:00Z", 1)])
    duo = read(root, "competitions", "duo.json")
    assert [row["user"] for row in duo["rows"]] == ["alice"] and "bob" not in json.dumps(duo)


def test_the_history_pass_runs_when_due_not_at_every_rebuild(tmp_path):
    from datetime import datetime, timedelta, timezone

    from slurm_scoreboard.history import chronicle
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 1)])
    now = datetime(2024, 3, 5, 12, 0, tzinfo=timezone.utc)
    chronicle.remember(str(root), now)
    assert not chronicle.due(str(root), now + timedelta(minutes=59), 3600)
    assert chronicle.due(str(root), now + timedelta(minutes=60), 3600)
    assert chronicle.due(str(root), now + timedelta(hours=12), 3600 * 24)      # a new UTC day
    assert chronicle.due(str(root), now - timedelta(minutes=1), 3600)          # clock went back
    write_competitions(root, {"presets": ["skill-of-the-week"]})
    assert chronicle.due(str(root), now, 3600)                                  # config changed
    chronicle.remember(str(root), now)
    assert not chronicle.due(str(root), now, 3600)
    os.unlink(root / "leaderboards" / "records.json")
    assert chronicle.due(str(root), now, 3600)


def test_a_late_job_is_in_the_next_rebuild_by_default_and_waits_with_history_every(tmp_path):
    root = store(tmp_path, [job(1, "alice", "2024-02-20T10:00:00Z", cpus=116, elapsed=HOUR)])
    done, _ = reduce(root, [cpu_hours(2, "bob", "2024-02-10T10:00:00Z", 200)])
    assert done.returncode == 0
    later = "2024-03-05T12:30:00Z"
    assert tool("sb_rank", ["--root", str(root), "--now", later,
                            "--history-every", "60"]).returncode == 0
    assert not found(root, user="bob")                      # within the hour: not rerun
    assert tool("sb_rank", ["--root", str(root), "--now", later]).returncode == 0
    # the first day bob's job ran: 200 hours before 10:00 on the 10th
    assert found(root, user="bob", event="first_job")[0]["day"] == "2024-02-02"


def test_two_total_level_milestones_on_one_day_are_two_events_and_never_printed_twice(tmp_path):
    # one day's job takes carol from total level 6 past 100 and 200; a later job that day
    # raises her total again: the milestones' ids do not change, so nothing is printed twice
    root = store(tmp_path, [job(1, "carol", "2024-02-01T10:00:00Z", cpus=64, gpus=8,
                                elapsed=2000 * HOUR)])
    milestones = found(root, event="total_level", scope="all", kind="users")
    assert [e["total_level"] for e in milestones] == [100, 200]
    assert len({e["id"] for e in milestones}) == 2
    assert tool("sb_news", ["--root", str(root), "--mark-seen", "--all-scopes"]).returncode == 0
    done, _ = reduce(root, [job(2, "carol", "2024-02-01T20:00:00Z", cpus=64, elapsed=HOUR)])
    rank(root)
    again = tool("sb_news", ["--root", str(root), "--all-scopes"])
    assert again.returncode == 0
    assert b"total_level" not in again.stdout


def test_rank_1_moved_by_a_late_job_is_told_again_at_worst_never_lost(tmp_path):
    # rank 1 events are known by their day (a taking can vanish when a job re-dates the past,
    # and counting takings would then give the next one the id of a told one): a late job that
    # moves a taking to an earlier day tells it again, once
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-10T10:00:00Z", 5)])
    assert tool("sb_news", ["--root", str(root), "--mark-seen", "--all-scopes"]).returncode == 0
    done, _ = reduce(root, [cpu_hours(2, "alice", "2024-02-05T10:00:00Z", 1)])
    rank(root)
    taken = found(root, event="rank_1", skill="clock_hours", scope="all", kind="users")
    assert [e["day"] for e in taken] == ["2024-02-05"]
    again = [json.loads(line) for line in tool("sb_news", ["--root", str(root),
                                                          "--all-scopes"]).stdout.splitlines()]
    moved = [e for e in again if e["event"] == "rank_1" and e["skill"] == "clock_hours"
             and e["scope"] == "all" and e["kind"] == "users"]
    assert [(e["day"], e["user"]) for e in moved] == [("2024-02-05", "alice")]
    assert tool("sb_news", ["--root", str(root), "--all-scopes"]).stdout == b""


@pytest.mark.parametrize("day", ["2024-02-30", "2024-02-3x", "2024-02-99", "2024-02-00"])
def test_a_rollup_with_a_day_that_is_no_date_is_left_out_with_its_remedy(tmp_path, day):
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 1),
                            cpu_hours(2, "bob", "2024-01-05T10:00:00Z", 2)])
    path = root / "clusters" / "hammer" / "agg" / "rollups" / "monthly" / "2024-02.json"
    data = json.loads(path.read_text())
    data["days"].append([data["days"][0][0], day] + data["days"][0][2:])
    path.write_text(json.dumps(data))
    done = tool("sb_rank", ["--root", str(root), "--now", NOW, "--history-every", "0"])
    assert done.returncode == 4, done.stderr
    assert b"Traceback" not in done.stderr and b"2024-02.json" in done.stderr
    assert b"redo-month 2024-02" in done.stderr
    assert found(root, user="bob", event="first_job")           # January still counted


def test_damaged_achievement_lines_are_skipped_by_every_reader(tmp_path):
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 200)])
    path = root / "leaderboards" / "achievements.ndjson"
    good = len(path.read_text().splitlines())
    with open(path, "a") as handle:
        for bad in ({"id": "x1", "day": "2024-02-02", "event": "first_job"},
                    {"id": "x2", "day": "2024-02-02", "scope": "all", "kind": "users",
                     "user": ["a"], "event": "level"},
                    {"id": "x3", "day": "2024-02-02", "scope": "all", "kind": "users",
                     "user": "alice", "event": "nope"}, [1, 2], "text"):
            handle.write(json.dumps(bad) + "\n")
        handle.write("{not json\n")
    for args in (["--all", "--format", "text"], ["--all"], []):
        done = tool("sb_news", ["--root", str(root), "--all-scopes"] + args)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
        assert len(done.stdout.splitlines()) == good
    assert len(rank(root, "--user", "alice")[0]["achievements"]) > 0


def test_the_opt_out_cache_is_an_input_of_the_history_pass(tmp_path):
    from datetime import datetime, timezone

    from slurm_scoreboard.history import chronicle
    root = store(tmp_path, [cpu_hours(1, "alice", "2024-02-01T10:00:00Z", 1)])
    now = datetime(2024, 3, 5, 12, 0, tzinfo=timezone.utc)
    chronicle.remember(str(root), now)
    assert not chronicle.due(str(root), now, 3600)
    (root / "state").mkdir(exist_ok=True)
    (root / "state" / "optout_cache.json").write_text(
        '{"version": 1, "checked": {"alice": {"hammer": [1709640000, true]}}}')
    assert chronicle.due(str(root), now, 3600)


def test_failing_is_a_board_apart_with_no_xp_level_achievement_or_record(tmp_path):
    # 400 failed jobs would have been level 62 at the old 500 XP a failure; and the site's own
    # failures (a node, its boot, a preemption) are not the user's at all
    records = [job(i, "flo", f"2024-02-{1 + i % 28:02d}T10:00:00Z", state="FAILED", elapsed=60)
               for i in range(400)]
    records += [job(1000 + i, "sam", "2024-02-10T10:00:00Z", state=state, elapsed=60)
                for i, state in enumerate(("NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "DEADLINE",
                                           "TIMEOUT", "OUT_OF_MEMORY"))]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "xp.json").write_text('{"rates": {"failed_jobs": 500, "jobs": 100}}')
    root = store(tmp_path, records)
    failed = read(root, "alltime_failed_jobs.json")["rows"]
    assert failed == [{"rank": 1, "user": "flo", "value": 400},
                      {"rank": 2, "user": "sam", "value": 2}]
    assert not [e for e in events(root) if e.get("skill") == "failed_jobs"]
    assert all(r["skill"] != "failed_jobs" for r in read(root, "records.json")["records"])
    overall = {r["user"]: r for r in read(root, "alltime_overall.json")["rows"]}
    assert set(overall["flo"]["skills"]) == {"clock_hours", "elapsed_hours", "gpu_clock_hours",
                                             "gpu_elapsed_hours", "jobs"}
    assert overall["flo"]["xp"] == sum(xp.xp_of(v, r) for v, r in
                                       ((400 * 2 / 60, 10), (400 / 60, 100), (400, 100)))
    page = rank(root, "--user", "flo")[0]
    apart = next(s for s in page["skills"] if s["metric"] == "failed_jobs")
    assert apart == {"metric": "failed_jobs", "rank": 1, "value": 400, "xp": None, "level": None,
                     "virtual_level": None}
    # a config written before 0.3 that names failed_jobs still works: it is left out, said once
    write_competitions(root, {"competitions": [
        {"id": "oops", "skills": ["failed_jobs"], "from": "2024-02-01", "to": "2024-02-29"},
        {"id": "feb", "skills": ["jobs", "failed_jobs"], "from": "2024-02-01",
         "to": "2024-02-29"}], "presets": ["skill-of-the-week"],
        "skill_of_the_week_skills": ["jobs", "failed_jobs"]})
    done = tool("sb_rank", ["--root", str(root), "--now", NOW, "--history-every", "0"])
    assert done.returncode == 0, done.stderr
    assert b"competitions[0]: no skill left; competition oops is skipped" in done.stderr
    assert b"competitions[1].skills: failed_jobs is no longer a skill" in done.stderr
    assert read(root, "competitions", "feb.json")["skills"] == ["jobs"]
    assert not os.path.exists(os.path.join(str(root), "leaderboards", "competitions", "oops.json"))


def test_a_rank_1_taken_after_an_earlier_one_vanished_is_still_told(tmp_path):
    # 3 March: bo (11 h) takes rank 1 from ann (10 h), and sb-news tells it. Then ann's job of
    # 1-5 March ends: spread over its days, it means bo never led on the 3rd. On the 9th bo
    # takes rank 1 for real: that is news, whatever was told before.
    root = store(tmp_path, [job(1, "ann", "2024-03-01T10:00:00Z", cpus=1, elapsed=10 * HOUR),
                            job(2, "bo", "2024-03-03T12:00:00Z", cpus=1, elapsed=11 * HOUR)])
    taken = found(root, event="rank_1", skill="clock_hours", scope="all", kind="users")
    assert [(e["day"], e["user"]) for e in taken] == [("2024-03-01", "ann"), ("2024-03-03", "bo")]
    first = tool("sb_news", ["--root", str(root)])
    assert first.returncode == 0 and b'"user":"bo"' in first.stdout
    reduce(root, [job(3, "ann", "2024-03-05T00:00:00Z", cpus=1, elapsed=96 * HOUR),
                  job(4, "bo", "2024-03-09T12:00:00Z", cpus=100, elapsed=HOUR)])
    rank(root, now="2024-03-10T12:00:00Z")
    taken = found(root, event="rank_1", skill="clock_hours", scope="all", kind="users")
    assert [(e["day"], e["user"]) for e in taken] == [("2024-03-01", "ann"), ("2024-03-09", "bo")]
    news = [json.loads(line) for line in
            tool("sb_news", ["--root", str(root)]).stdout.splitlines()]
    assert [(e["day"], e["user"]) for e in news if e["event"] == "rank_1" and
            e["skill"] == "clock_hours" and e["scope"] == "all"] == [("2024-03-09", "bo")]


def test_a_group_s_members_are_who_charged_anything_to_it():
    """members_of's contract on usage as a store could hold it (a hand-edited rollup can carry
    a row of zeros; the tools never write one): a user whose usage of the account is all zero
    is no member."""
    from slurm_scoreboard.rank.groupstats import members_of
    usage = {"bob": {"chem": [0, 0, 0, 0, 0, 0]},
             "alice": {"chem": [HOUR, HOUR, 0, 0, 0, 1], "": [HOUR, HOUR, 0, 0, 0, 1]},
             "cy": {"phys": [0, 0, 0, 0, 1, 0]}}
    assert members_of(usage) == {"chem": ["alice"], "phys": ["cy"]}
