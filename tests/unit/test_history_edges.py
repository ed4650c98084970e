"""Ties and day edges of the history pass, on hand-checked cases: who keeps a record that a
later day only ties, who takes rank 1 on a tie, a competition on its first and last day, the
events and records of the day of --now itself, a total level reached exactly, and a member's
rank in a group for a skill they never used there.

Rates are the defaults: 10 XP a CPU-core hour, 100 XP a wall hour and a job, 100 XP a GPU hour,
200 XP a GPU wall hour.
"""
import io
import json
import os

import orjson
from reduce_helpers import job, reduce, tool

from slurm_scoreboard.boardfiles import BoardFiles, ranks_in_groups
from slurm_scoreboard.core import xp
from slurm_scoreboard.core.times import iso_seconds
from slurm_scoreboard.history import history
from slurm_scoreboard.history.achievements import Achievements
from slurm_scoreboard.history.recordbook import RecordBook
from slurm_scoreboard.rank.groupstats import group_stats

RATES = dict(xp.DEFAULT_RATES)
HOUR = 3600


def hours(n, jobs=1):
    """A day row's vector: `n` one-CPU hours (CPU-core and wall) and `jobs` jobs."""
    return [n * HOUR, n * HOUR, 0, 0, 0, jobs]


def records_of(batched):
    book = RecordBook(RATES)
    history.run(batched, [book])
    return {slot: (value, name, label) for slot, (value, name, label, _, _) in book.best.items()}


def events_of(batched):
    feed = Achievements(RATES, io.BytesIO())
    history.run(batched, [feed])
    return [orjson.loads(line) for line in feed.out.getvalue().splitlines()]


# -- records: the first to reach a value keeps it ------------------------------------------------

def test_a_later_day_week_or_month_that_only_ties_a_record_leaves_it_to_the_first():
    # alice 10 h on Monday 5 February (2024-W06, February); bob the same 10 h on Monday
    # 12 February (2024-W07) and again 10 h in March: every tie comes later than alice's.
    # January holds 10 h of cy's, the first month to reach 10: the month record is hers.
    batched = [("2024-01-31", [("hammer", "cy", "p", hours(10))]),
               ("2024-02-05", [("hammer", "alice", "p", hours(10))]),
               ("2024-02-12", [("hammer", "bob", "q", hours(10))]),
               ("2024-03-04", [("hammer", "bob", "q", hours(10))])]
    best = records_of(batched)
    for scope in ("all", "hammer"):
        assert best[(scope, "users", "clock_hours", "day")] == (10.0, "cy", "2024-01-31")
        assert best[(scope, "users", "clock_hours", "week")] == (10.0, "cy", "2024-W05")
        assert best[(scope, "users", "clock_hours", "month")] == (10.0, "cy", "2024-01")
        # groups: p's 10 h on the 31st (cy) were first; q only ties them later
        assert best[(scope, "groups", "clock_hours", "day")] == (10.0, "p", "2024-01-31")
    # without cy, alice's Monday is first: bob's later Monday and his March tie it only
    best = records_of(batched[1:])
    assert best[("all", "users", "clock_hours", "day")] == (10.0, "alice", "2024-02-05")
    assert best[("all", "users", "clock_hours", "week")] == (10.0, "alice", "2024-W06")
    # February: alice 10, bob 10 (a tie inside one month: the name first); March: bob 10
    assert best[("all", "users", "clock_hours", "month")] == (10.0, "alice", "2024-02")
    # a later day with more breaks it
    best = records_of(batched[1:] + [("2024-03-05", [("hammer", "bob", "q", hours(11))])])
    assert best[("all", "users", "clock_hours", "day")] == (11.0, "bob", "2024-03-05")
    assert best[("all", "users", "clock_hours", "week")] == (21.0, "bob", "2024-W10")


def test_a_tie_inside_one_day_goes_to_the_name_first_whatever_order_the_rows_came_in():
    # zed's and bob's rows come first; amy and zed tie at the top with 5 h, bob has 4
    day = [("hammer", "zed", "zz", hours(5)), ("hammer", "bob", "bb", hours(4)),
           ("anvil", "amy", "aa", hours(5))]
    best = records_of([("2024-02-06", day)])
    assert best[("all", "users", "clock_hours", "day")] == (5.0, "amy", "2024-02-06")
    assert best[("all", "groups", "clock_hours", "day")] == (5.0, "aa", "2024-02-06")
    assert best[("hammer", "users", "clock_hours", "day")] == (5.0, "zed", "2024-02-06")
    assert best[("all", "users", "jobs", "day")] == (1, "amy", "2024-02-06")


# -- rank 1: the boards' order, name first on a tie --------------------------------------------

def rank_1(events, scope="all", kind="users", skill="clock_hours"):
    field = "user" if kind == "users" else "account"
    return [(e["day"], e[field], e["previous"]) for e in events
            if e["event"] == "rank_1" and e["scope"] == scope and e["kind"] == kind
            and e["skill"] == skill]


def test_rank_1_on_a_tie_goes_to_the_name_first_as_on_the_boards():
    batched = [
        # bob's row first, alice ties him the same day: alice holds rank 1, bob never did
        ("2024-02-01", [("hammer", "bob", "gd", hours(10)), ("hammer", "alice", "gb", hours(10))]),
        # carl ties alice later: she keeps it (carl comes after her)
        ("2024-02-02", [("hammer", "carl", "ge", hours(10))]),
        # aaron ties her later: he takes it (aaron comes before alice)
        ("2024-02-03", [("hammer", "aaron", "ga", hours(10))]),
        # bob passes everyone by an hour
        ("2024-02-04", [("hammer", "bob", "gd", hours(1))]),
        # alice ties bob again: the tie is hers (alice comes before bob)
        ("2024-02-05", [("hammer", "alice", "gb", hours(1))]),
    ]
    events = events_of(batched)
    expected = [("2024-02-01", "alice", None), ("2024-02-03", "aaron", "alice"),
                ("2024-02-04", "bob", "aaron"), ("2024-02-05", "alice", "bob")]
    assert rank_1(events) == expected
    assert rank_1(events, scope="hammer") == expected
    # each group holds one member's usage, its name in the same order: the same story
    assert rank_1(events, kind="groups") == [("2024-02-01", "gb", None),
                                             ("2024-02-03", "ga", "gb"),
                                             ("2024-02-04", "gd", "ga"),
                                             ("2024-02-05", "gb", "gd")]


# -- total level reached exactly ---------------------------------------------------------------

def test_a_total_level_reached_exactly_is_dated_that_day_and_never_again():
    # 24 wall hours on 64 CPUs and 8 GPUs, one job: CPU-core 1,536 h = 15,360 XP (level 31),
    # wall 2,400 XP (14), GPU 192 h = 19,200 XP (33), GPU wall 4,800 XP (20), jobs 100 XP (2):
    # 31 + 14 + 33 + 20 + 2 = 100 exactly. The next day's job raises it past 100 again.
    exact = [24 * 64 * HOUR, 24 * HOUR, 24 * 8 * HOUR, 24 * HOUR, 0, 1]
    assert [xp.level(xp.xp_of(v / d, RATES[s])) for v, d, s in
            zip(exact[:4] + exact[5:], (HOUR,) * 4 + (1,), RATES)] == [31, 14, 33, 20, 2]
    events = events_of([("2024-02-01", [("hammer", "ann", "p", exact)]),
                        ("2024-02-02", [("hammer", "ann", "p", hours(30, jobs=5))])])
    totals = [(e["day"], e["total_level"], e["level"]) for e in events
              if e["event"] == "total_level" and e["scope"] == "all" and e["kind"] == "users"]
    assert totals == [("2024-02-01", 100, 100)]


# -- through sb-rank: the day of --now, competitions on their edges, group ranks ---------------

def rank(root, now):
    done = tool("sb_rank", ["--root", str(root), "--now", now, "--history-every", "0"])
    assert done.returncode == 0, done.stderr
    return done


def read(root, *parts):
    with open(os.path.join(str(root), "leaderboards", *parts), "rb") as handle:
        return orjson.loads(handle.read())


def achievements(root):
    with open(os.path.join(str(root), "leaderboards", "achievements.ndjson"), "rb") as handle:
        return [orjson.loads(line) for line in handle]


def counted(root, records):
    done, _ = reduce(root, records)
    assert done.returncode == 0, done.stderr


def one_cpu(job_id, user, start, end, account="proj"):
    """A one-CPU job from `start` to `end` (hours spread over the UTC days it ran)."""
    elapsed = iso_seconds(end) - iso_seconds(start)
    return job(job_id, user, end, cpus=1, elapsed=elapsed, start=start, account=account)


def test_what_happened_on_the_day_of_now_is_news_and_a_record_that_day(tmp_path):
    # 116 CPU-core hours on 5 March 2024 (1,160 XP: level 10), rebuilt at noon that day
    counted(tmp_path, [job(1, "alice", "2024-03-05T10:00:00Z", cpus=116, elapsed=HOUR)])
    rank(tmp_path, "2024-03-05T12:00:00Z")
    events = achievements(tmp_path)
    mine = {(e["event"], e.get("skill"), e.get("level")): e["day"] for e in events
            if e["scope"] == "all" and e["kind"] == "users"}
    assert mine[("level", "clock_hours", 10)] == "2024-03-05"
    assert mine[("rank_1", "clock_hours", None)] == "2024-03-05"
    assert [e["day"] for e in events if e["event"] == "first_job"] == ["2024-03-05"]
    day = [r for r in read(tmp_path, "records.json")["records"]
           if (r["scope"], r["kind"], r["skill"], r["period"]) ==
           ("all", "users", "clock_hours", "day")]
    assert [(r["user"], r["label"], r["value"]) for r in day] == [("alice", "2024-03-05", 116.0)]
    # a job sacct dates after "now" (a controller's clock ahead) waits for its own day
    counted(tmp_path, [job(2, "bob", "2024-03-06T10:00:00Z", cpus=200, elapsed=HOUR)])
    rank(tmp_path, "2024-03-05T13:00:00Z")
    assert not [e for e in achievements(tmp_path) if e.get("user") == "bob"]
    rank(tmp_path, "2024-03-06T12:00:00Z")
    assert ("2024-03-06", "bob", "alice") in [
        (e["day"], e["user"], e["previous"]) for e in achievements(tmp_path)
        if e["event"] == "rank_1" and e["scope"] == "all" and e["kind"] == "users"
        and e["skill"] == "clock_hours"]


def sprint(root):
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "competitions.json").write_text(json.dumps({"competitions": [
        {"id": "sprint", "skills": ["clock_hours", "jobs"], "from": "2024-03-01",
         "to": "2024-03-05"}]}))


def standings(root):
    document = read(root, "competitions", "sprint.json")
    return document["status"], [(r["rank"], r["user"], r["xp_gained"]) for r in document["rows"]]


def test_a_competition_counts_its_first_and_last_day_and_is_running_on_the_last(tmp_path):
    sprint(tmp_path)
    counted(tmp_path, [
        # 1 h on the last day, and the job: 10 + 100 XP
        one_cpu(1, "alice", "2024-03-05T09:00:00Z", "2024-03-05T10:00:00Z"),
        # ended the day before the first: nothing
        one_cpu(2, "bob", "2024-02-29T22:00:00Z", "2024-02-29T23:00:00Z"),
        # 1 h before the first day, 2 h on it, the job on it: 30 - 10 + 100 XP
        one_cpu(3, "carl", "2024-02-29T23:00:00Z", "2024-03-01T02:00:00Z")])
    rank(tmp_path, "2024-02-29T12:00:00Z")
    assert standings(tmp_path)[0] == "upcoming"
    rank(tmp_path, "2024-03-01T00:00:00Z")
    assert standings(tmp_path) == ("ongoing", [(1, "carl", 120)])
    rank(tmp_path, "2024-03-05T23:59:59Z")
    assert standings(tmp_path) == ("ongoing", [(1, "carl", 120), (2, "alice", 110)])
    assert [c["status"] for c in read(tmp_path, "competitions.json")["competitions"]] == \
        ["ongoing"]
    rank(tmp_path, "2024-03-06T00:00:00Z")
    assert standings(tmp_path) == ("finished", [(1, "carl", 120), (2, "alice", 110)])
    # 1 h on the last day and the rest (and the job) the day after: 10 XP
    counted(tmp_path, [one_cpu(4, "dana", "2024-03-05T23:00:00Z", "2024-03-06T01:00:00Z")])
    rank(tmp_path, "2024-03-06T12:00:00Z")
    assert standings(tmp_path) == ("finished", [(1, "carl", 120), (2, "alice", 110),
                                                (3, "dana", 10)])


def test_a_member_s_rank_for_a_skill_never_used_in_a_group_is_none_not_1(tmp_path):
    # proj: alice ran GPU jobs, bob only CPU jobs; bob's GPU jobs went to chem
    counted(tmp_path, [job(1, "alice", "2024-02-01T10:00:00Z", cpus=2, gpus=1),
                       job(2, "bob", "2024-02-01T10:00:00Z", cpus=8),
                       job(3, "bob", "2024-02-02T10:00:00Z", cpus=1, gpus=2, account="chem")])
    rank(tmp_path, "2024-03-05T12:00:00Z")
    stats = {g["account"]: g for g in read(tmp_path, "groups", "alltime_stats.json")["groups"]}
    assert stats["proj"]["ranks"]["bob"] == {
        "clock_hours": 1, "elapsed_hours": 1, "gpu_clock_hours": None,
        "gpu_elapsed_hours": None, "jobs": 1}
    assert stats["proj"]["ranks"]["alice"]["gpu_clock_hours"] == 1
    assert stats["proj"]["ranks"]["alice"]["clock_hours"] == 2
    assert stats["chem"]["ranks"]["bob"]["gpu_clock_hours"] == 1
    done = tool("sb_rank", ["--root", str(tmp_path), "--now", "2024-03-05T12:00:00Z",
                            "--user", "bob"])
    page = {g["account"]: g["ranks"] for g in json.loads(done.stdout)["groups"]}
    assert page["proj"]["gpu_clock_hours"] is None and page["proj"]["clock_hours"] == 1
    assert page["chem"]["gpu_clock_hours"] == 1
    # alice opts out: a reader of the files closes the ranks up (bob's CPU-core hours move to
    # 1 of 1), and a skill bob never used in proj stays None, not 1
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "optout.txt").write_text("alice\n")
    shown = ranks_in_groups("bob", BoardFiles(str(tmp_path)).group_stats("alltime"))
    page = {g["account"]: g["ranks"] for g in shown}
    assert page["proj"] == {"clock_hours": 1, "elapsed_hours": 1, "gpu_clock_hours": None,
                            "gpu_elapsed_hours": None, "jobs": 1}


def test_group_ranks_from_usage_leave_a_skill_never_used_unranked():
    usage = {"ann": {"p": [HOUR, HOUR, 0, 0, 0, 1]},
             "bo": {"p": [2 * HOUR, HOUR, HOUR, HOUR, 1, 1]}}
    (group,) = group_stats(usage, RATES)
    assert group["ranks"] == {
        "ann": {"clock_hours": 2, "elapsed_hours": 1, "gpu_clock_hours": None,
                "gpu_elapsed_hours": None, "jobs": 1},
        "bo": {"clock_hours": 1, "elapsed_hours": 1, "gpu_clock_hours": 1,
               "gpu_elapsed_hours": 1, "jobs": 1}}
    assert ranks_in_groups("ann", [group])[0]["ranks"]["gpu_clock_hours"] is None


# -- milestones and the feed's filters at their edges -------------------------------------------

def test_a_milestone_is_crossed_at_exactly_its_xp_and_not_again():
    from slurm_scoreboard.history.achievements import reached_levels, reached_totals
    ten = xp.xp_for_level(10)
    assert reached_levels(ten - 1, ten) == [10]
    assert reached_levels(ten, ten + 1) == [] and reached_levels(0, ten - 1) == []
    assert reached_levels(0, xp.MAX_XP) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 99]
    assert reached_totals(99, 100) == [100] and reached_totals(100, 199) == []
    assert reached_totals(0, 99 * len(history.SKILLS)) == [100, 200, 300, 400, 495]


def test_the_feed_keeps_the_day_of_since_and_a_first_job_in_a_cluster_s_scope():
    from slurm_scoreboard.history.feed import Options, wanted
    event = {"day": "2025-03-01", "scope": "hammer", "event": "level"}
    assert not wanted(event, Options())
    assert wanted(event, Options(all_scopes=True, since="2025-03-01"))
    assert not wanted(event, Options(all_scopes=True, since="2025-03-02"))
    assert wanted(dict(event, event="first_job"), Options())
    assert wanted(dict(event, scope="all"), Options(since="2025-02-28"))


def test_a_first_run_is_told_it_printed_the_history_only_past_100_events():
    from slurm_scoreboard.history.feed import Options, tell_cursor
    told = []
    for count in (100, 101):
        tell_cursor(Options(), set(), set(range(count)), told.append)
    assert len(told) == 1 and "(101 events)" in told[0]
    tell_cursor(Options(), {"seen"}, set(range(500)), told.append)
    tell_cursor(Options(outbox="o"), set(), set(range(500)), told.append)
    assert len(told) == 1


def test_the_xp_cap_is_news_on_the_day_a_skill_reaches_it_exactly_and_never_again():
    # 20,000,000 CPU-core hours at 10 XP an hour: 200,000,000 XP, the cap, on the first day
    at_cap = [20_000_000 * HOUR, HOUR, 0, 0, 0, 1]
    below = [19_999_999 * HOUR, HOUR, 0, 0, 0, 1]
    events = events_of([("2024-02-01", [("hammer", "ann", "p", at_cap),
                                        ("hammer", "bo", "p", below)]),
                        ("2024-02-02", [("hammer", "ann", "p", hours(5)),
                                        ("hammer", "bo", "p", hours(1))])])
    capped = [(e["day"], e["user"], e["xp"]) for e in events
              if e["event"] == "xp_cap" and e["scope"] == "all" and e["kind"] == "users"
              and e["skill"] == "clock_hours"]
    assert capped == [("2024-02-01", "ann", xp.MAX_XP), ("2024-02-02", "bo", xp.MAX_XP)]
