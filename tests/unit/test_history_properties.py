"""The history pass against a brute-force model written here (hypothesis): after every day the
model sums every name's totals from scratch and looks at every board, so it says WHO holds what
and from WHICH DAY, independently of the pass's incremental bookkeeping:

- every achievement (level, total level, first job, rank 1 with the name it was taken from) with
  its day and its name; rank 1 on a tie goes to the name first in order, as on the boards;
- every record with its holder and its period: the largest sum, and on a tie the earliest
  period (the first to reach a value keeps it) and inside it the name first in order;
- every competition's standings: who, in which order, with which rank (ties share it), counting
  its first and its last day and nothing outside them.

Values are drawn from a few round numbers as well as from a wide range, so ties (between names
on one day, and between a later day and a record) are common.
"""
import io
from collections import defaultdict
from datetime import date, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from slurm_scoreboard.core import xp
from slurm_scoreboard.history import history
from slurm_scoreboard.history.achievements import Achievements
from slurm_scoreboard.history.competitions import Competition, Competitions
from slurm_scoreboard.history.recordbook import RecordBook

RATES = dict(xp.DEFAULT_RATES)
START = date(2024, 2, 20)          # the histories cross a leap day, a month and ISO weeks
# The model's own description of the skills: vector index and divisor to the board's unit.
MODEL_SKILLS = {"clock_hours": (0, 3600), "elapsed_hours": (1, 3600),
                "gpu_clock_hours": (2, 3600), "gpu_elapsed_hours": (3, 3600), "jobs": (5, 1)}
MODEL_LEVELS = (10, 20, 30, 40, 50, 60, 70, 80, 90, 99)
MODEL_TOTALS = (100, 200, 300, 400, 495)

wide = st.lists(st.integers(0, 400 * 3600), min_size=2, max_size=2).map(
    lambda pair: [pair[0] * 4, pair[1], 0, 0, 0, 1])
round_hours = st.sampled_from([0, 3600, 7200, 36000])
coarse = st.tuples(round_hours, round_hours, st.sampled_from([0, 3600]),
                   st.integers(0, 1), st.integers(0, 2)).map(
    lambda t: [t[0], t[1], t[2], t[2], t[3], t[4]])
rows = st.tuples(st.sampled_from(["hammer", "anvil"]), st.sampled_from(["ann", "bo", "cy"]),
                 st.sampled_from(["p", "q", ""]), st.one_of(coarse, wide))
histories = st.dictionaries(st.integers(0, 45), st.lists(rows, min_size=1, max_size=4),
                            max_size=12)


def batches(days):
    return [((START + timedelta(days=offset)).isoformat(), day_rows)
            for offset, day_rows in sorted(days.items())]


def model_keys(cluster, user, account):
    """A row counts for its user everywhere and its cluster, and for its group unless nameless."""
    keys = [("all", "users", user), (cluster, "users", user)]
    if account:
        keys += [("all", "groups", account), (cluster, "groups", account)]
    return keys


def value_of(total, skill):
    index, divisor = MODEL_SKILLS[skill]
    return total[index] / divisor if divisor != 1 else total[index]


def level_of(total, skill):
    return xp.level(xp.xp_of(value_of(total, skill), RATES[skill]))


def cumulative(batched):
    """(day, key -> totals at the end of that day, summed from scratch), oldest first."""
    for upto, (day, _) in enumerate(batched):
        totals = defaultdict(lambda: [0] * 6)
        for _, day_rows in batched[:upto + 1]:
            for cluster, user, account, vector in day_rows:
                for key in model_keys(cluster, user, account):
                    totals[key] = [a + b for a, b in zip(totals[key], vector)]
        yield day, dict(totals)


def model_events(batched):
    """Every achievement as (day, event, scope, kind, name, skill, mark, detail)."""
    found = []
    before = {}
    leaders = {}
    for day, totals in cumulative(batched):
        for key, total in totals.items():
            scope, kind, name = key
            old = before.get(key, [0] * 6)
            if kind == "users" and scope != "all" and not (old[1] or old[5]) and \
                    (total[1] or total[5]):
                found.append((day, "first_job", scope, kind, name, "", "", total[5]))
            for skill in MODEL_SKILLS:
                was = xp.xp_of(value_of(old, skill), RATES[skill])
                now = xp.xp_of(value_of(total, skill), RATES[skill])
                for level in MODEL_LEVELS:
                    if was < xp.xp_for_level(level) <= now:
                        found.append((day, "level", scope, kind, name, skill, level, now))
            was = sum(level_of(old, skill) for skill in MODEL_SKILLS)
            now = sum(level_of(total, skill) for skill in MODEL_SKILLS)
            for milestone in MODEL_TOTALS:
                if was < milestone <= now:
                    found.append((day, "total_level", scope, kind, name, "", milestone, now))
        boards = {(scope, kind) for scope, kind, _ in totals}
        for scope, kind in boards:
            for skill, (index, _) in MODEL_SKILLS.items():
                on_board = [(-total[index], name) for (s, k, name), total in totals.items()
                            if (s, k) == (scope, kind) and total[index] > 0]
                if not on_board:
                    continue
                top, name = min(on_board)           # board order: value down, then name
                previous = leaders.get((scope, kind, skill))
                if name != previous:
                    leaders[(scope, kind, skill)] = name
                    found.append((day, "rank_1", scope, kind, name, skill, previous,
                                  value_of([-top if i == index else 0 for i in range(6)], skill)))
        before = totals
    return sorted(found, key=repr)


def pass_events(batched):
    feed = Achievements(RATES, io.BytesIO())
    history.run(batched, [feed])
    events = [orjson.loads(line) for line in feed.out.getvalue().splitlines()]
    got = []
    for e in events:
        name = e["user"] if e["kind"] == "users" else e["account"]
        if e["event"] == "first_job":
            got.append((e["day"], "first_job", e["scope"], e["kind"], name, "", "", e["jobs"]))
        elif e["event"] == "level":
            got.append((e["day"], "level", e["scope"], e["kind"], name, e["skill"], e["level"],
                        e["xp"]))
        elif e["event"] == "total_level":
            got.append((e["day"], "total_level", e["scope"], e["kind"], name, "",
                        e["total_level"], e["level"]))
        elif e["event"] == "rank_1":
            got.append((e["day"], "rank_1", e["scope"], e["kind"], name, e["skill"],
                        e["previous"], e["value"]))
        else:
            got.append(tuple(sorted(e.items())))
    return events, sorted(got, key=repr)


@settings(max_examples=200, deadline=None)
@given(histories)
def test_every_achievement_is_the_model_s_who_what_and_which_day(days):
    batched = batches(days)
    events, got = pass_events(batched)
    assert got == model_events(batched)
    assert len({e["id"] for e in events}) == len(events)
    assert [e["day"] for e in events] == sorted(e["day"] for e in events)     # oldest first


def iso_week(day):
    year, week, _ = day.isocalendar()
    monday = day - timedelta(days=day.weekday())
    return f"{year}-W{week:02d}", monday.isoformat(), (monday + timedelta(days=6)).isoformat()


def calendar_month(day):
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (f"{day.year}-{day.month:02d}", day.replace(day=1).isoformat(),
            (following - timedelta(days=1)).isoformat())


def model_records(batched):
    """slot -> (value, holder, label, first day, last day): the largest sum of any period;
    on a tie the earliest period, and inside it the name first in order."""
    sums = defaultdict(lambda: defaultdict(lambda: [0] * 6))     # (period, span) -> key -> sum
    for day, day_rows in batched:
        moment = date.fromisoformat(day)
        spans = {"day": (day, day, day), "week": iso_week(moment),
                 "month": calendar_month(moment)}
        for cluster, user, account, vector in day_rows:
            for key in model_keys(cluster, user, account):
                for period, span in spans.items():
                    total = sums[(period, span)][key]
                    sums[(period, span)][key] = [a + b for a, b in zip(total, vector)]
    candidates = defaultdict(list)
    for (period, (label, first, last)), by_key in sums.items():
        for (scope, kind, name), total in by_key.items():
            for skill in MODEL_SKILLS:
                value = value_of(total, skill)
                if value > 0:
                    candidates[(scope, kind, skill, period)].append(
                        (-value, first, name, label, last))
    return {slot: (-best[0], best[2], best[3], best[1], best[4])
            for slot, best in ((slot, min(found)) for slot, found in candidates.items())}


@settings(max_examples=200, deadline=None)
@given(histories)
def test_every_record_is_the_model_s_value_holder_and_period(days):
    batched = batches(days)
    book = RecordBook(RATES)
    history.run(batched, [book])
    assert book.best == model_records(batched)
    for row in book.document("2024-04-06T00:00:00Z")["records"]:
        holder = row["user"] if row["kind"] == "users" else row["account"]
        assert (row["value"], holder, row["label"], row["first_day"], row["last_day"]) == \
            book.best[(row["scope"], row["kind"], row["skill"], row["period"])]


def model_standings(batched, first, last, skills, accounts=None, users=None):
    """[(rank, user, xp gained, levels gained)]: XP gained inside [first, last] (its first and
    last day included), ranked down with ties sharing a rank, then by name."""
    before = defaultdict(lambda: [0] * 6)
    during = defaultdict(lambda: [0] * 6)
    for day, day_rows in batched:
        if day > last:
            continue
        for _, user, account, vector in day_rows:
            if (accounts is None or account in accounts) and (users is None or user in users):
                into = before if day < first else during
                into[user] = [a + b for a, b in zip(into[user], vector)]
    entries = []
    for user in (users if users is not None else list(during)):
        start = before[user]
        end = [a + b for a, b in zip(start, during[user])]
        gained = sum(xp.xp_of(value_of(end, s), RATES[s]) - xp.xp_of(value_of(start, s), RATES[s])
                     for s in skills)
        levels = sum(level_of(end, s) - level_of(start, s) for s in skills)
        if users is not None or gained > 0:
            entries.append((-gained, user, levels))
    entries.sort()
    standings = []
    for position, (negated, user, levels) in enumerate(entries, 1):
        rank = standings[-1][0] if standings and -negated == standings[-1][2] else position
        standings.append((rank, user, -negated, levels))
    return standings


@settings(max_examples=150, deadline=None)
@given(histories, st.integers(0, 45), st.integers(0, 20),
       st.sampled_from([None, ["p"], ["p", "q"]]), st.sampled_from([None, ["ann", "cy"]]))
def test_competition_standings_are_the_model_s_who_rank_and_days(days, first, length, accounts,
                                                                   users):
    batched = batches(days)
    start = (START + timedelta(days=first)).isoformat()
    end = (START + timedelta(days=first + length)).isoformat()
    skills = ["clock_hours", "jobs"]
    contest = Competition("c", "c", skills, start, end, accounts=accounts, users=users)
    history.run(batched, [Competitions([contest])])
    got = [(row["rank"], row["user"], row["xp_gained"], row["levels_gained"])
           for row in contest.standings(RATES)]
    assert got == model_standings(batched, start, end, skills, accounts, users)
