"""The history pass against naive recomputation, on random histories (hypothesis): every level
event is dated to the first day the cumulative XP reached it, records are the largest sums, and
competitions' gains are the sums inside their days."""
import io
from collections import defaultdict
from datetime import date, timedelta

import orjson
from hypothesis import given, settings, strategies as st

from slurm_scoreboard import history, metrics, xp
from slurm_scoreboard.achievements import LEVEL_MILESTONES, Achievements
from slurm_scoreboard.boards import metric_value
from slurm_scoreboard.competitions import Competition, Competitions
from slurm_scoreboard.recordbook import RecordBook

RATES = dict(xp.DEFAULT_RATES)
START = date(2024, 2, 20)

vectors = st.lists(st.integers(0, 400 * 3600), min_size=2, max_size=2).map(
    lambda pair: [pair[0] * 4, pair[1], 0, 0, 0, 1])
rows = st.tuples(st.sampled_from(["hammer", "anvil"]), st.sampled_from(["ann", "bo", "cy"]),
                 st.sampled_from(["p", "q"]), vectors)
histories = st.dictionaries(st.integers(0, 45), st.lists(rows, min_size=1, max_size=4),
                            max_size=12)


def batches(days):
    return [((START + timedelta(days=offset)).isoformat(), day_rows)
            for offset, day_rows in sorted(days.items())]


def naive_first_days(batched):
    """(scope, kind, name, skill, level) -> first day the cumulative XP reached the level."""
    totals, first = defaultdict(metrics.zero), {}
    for day, day_rows in batched:
        for cluster, user, account, vector in day_rows:
            for key in history.keys_of(cluster, user, account):
                metrics.add_into(totals[key], vector)
        for key, total in totals.items():
            for skill in history.SKILLS:
                points = xp.xp_of(metric_value(total, skill), RATES[skill])
                for level in LEVEL_MILESTONES:
                    if points >= xp.xp_for_level(level):
                        first.setdefault(key + (skill, level), day)
    return first


@settings(max_examples=150, deadline=None)
@given(histories)
def test_level_events_are_dated_to_the_first_day_the_total_reached_them(days):
    batched = batches(days)
    feed = Achievements(RATES, io.BytesIO())
    history.run(batched, [feed])
    events = [orjson.loads(line) for line in feed.out.getvalue().splitlines()]
    got = {(e["scope"], e["kind"], e.get("user") or e.get("account"), e["skill"], e["level"]):
           e["day"] for e in events if e["event"] == "level"}
    assert got == naive_first_days(batched)
    assert len({e["id"] for e in events}) == len(events)


@settings(max_examples=150, deadline=None)
@given(histories)
def test_records_are_the_largest_day_week_and_month_sums(days):
    batched = batches(days)
    book = RecordBook(RATES)
    history.run(batched, [book])
    sums = {period: defaultdict(lambda: defaultdict(metrics.zero)) for period in
            ("day", "week", "month")}
    for day, day_rows in batched:
        labels = {"day": day, "week": history.week_label(day), "month": day[:7]}
        for cluster, user, account, vector in day_rows:
            for key in history.keys_of(cluster, user, account):
                for period, label in labels.items():
                    metrics.add_into(sums[period][label][key], vector)
    for (scope, kind, skill, period), best in book.best.items():
        values = [metric_value(total, skill) for by_key in sums[period].values()
                  for key, total in by_key.items() if key[:2] == (scope, kind)]
        assert best[0] == max(values)


@settings(max_examples=100, deadline=None)
@given(histories, st.integers(0, 45), st.integers(0, 20))
def test_competition_gains_are_the_sums_inside_its_days(days, first, length):
    batched = batches(days)
    start = (START + timedelta(days=first)).isoformat()
    end = (START + timedelta(days=first + length)).isoformat()
    contest = Competition("c", "c", ["clock_hours", "jobs"], start, end, accounts=["p"])
    history.run(batched, [Competitions([contest])])
    expected = defaultdict(metrics.zero)
    for day, day_rows in batched:
        for cluster, user, account, vector in day_rows:
            if start <= day <= end and account == "p":
                metrics.add_into(expected[user], vector)
    rows = contest.standings(RATES)
    for row in rows:
        assert row["skills"]["jobs"]["gained"] == expected[row["user"]][5]
        assert row["skills"]["clock_hours"]["gained"] == expected[row["user"]][0] / 3600
    assert {row["user"] for row in rows} == {u for u, v in expected.items() if any(v)}
