"""Usage counted on the days it happened: a job's seconds spread over the UTC days it ran, its
counts on the day it ended; months, windows, replaced months and old stores."""
import json
import os

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from reduce_helpers import job, reduce, rollup, snapshot, tool, user_totals

from slurm_scoreboard.core.times import day_of_seconds, iso_seconds
from slurm_scoreboard.store import metrics
from slurm_scoreboard.store.store import Rollup, rollup_bytes

HOUR = 3600
DAY = 86400


def spread(record):
    return dict(metrics.day_shares(record))


# -- the cut itself ------------------------------------------------------------------------

def test_a_job_across_midnight_is_cut_at_midnight_and_counted_on_its_end_day():
    # 10 CPUs from 22:00 to 04:00: 2 hours on the 1st, 4 on the 2nd, the job on the 2nd
    record = job(1, "ann", "2025-08-02T04:00:00Z", cpus=10, elapsed=6 * HOUR, gpus=2,
                 state="FAILED")
    assert spread(record) == {
        "2025-08-01": [20 * HOUR, 2 * HOUR, 4 * HOUR, 2 * HOUR, 0, 0],
        "2025-08-02": [40 * HOUR, 4 * HOUR, 8 * HOUR, 4 * HOUR, 1, 1]}


def test_a_job_across_a_year_boundary():
    record = job(1, "ann", "2026-01-01T12:00:00Z", cpus=1, elapsed=24 * HOUR)
    assert spread(record) == {"2025-12-31": [12 * HOUR, 12 * HOUR, 0, 0, 0, 0],
                              "2026-01-01": [12 * HOUR, 12 * HOUR, 0, 0, 0, 1]}


def test_a_job_ending_at_midnight_used_the_day_before_and_counts_on_its_end_day():
    record = job(1, "ann", "2025-08-02T00:00:00Z", cpus=1, elapsed=HOUR)
    assert spread(record) == {"2025-08-01": [HOUR, HOUR, 0, 0, 0, 0],
                              "2025-08-02": [0, 0, 0, 0, 0, 1]}


def test_a_job_that_never_started_counts_nothing_but_its_failure_on_its_end_day():
    record = job(1, "ann", "2025-08-02T10:00:00Z", start=None, elapsed=0, state="FAILED")
    assert spread(record) == {"2025-08-02": [0, 0, 0, 0, 1, 0]}


def test_a_suspended_job_or_a_wrong_start_is_put_in_its_last_elapsed_seconds():
    # sacct says it started ten years ago but ran (Elapsed) two hours: two hours before its end
    record = job(1, "ann", "2025-08-02T01:00:00Z", cpus=1, elapsed=2 * HOUR,
                 start="2015-08-02T00:00:00Z")
    assert spread(record) == {"2025-08-01": [HOUR, HOUR, 0, 0, 0, 0],
                              "2025-08-02": [HOUR, HOUR, 0, 0, 0, 1]}


@settings(max_examples=400, deadline=None)
@given(values=st.lists(st.integers(0, 1 << 53), min_size=1, max_size=4),
       first=st.integers(0, 4_000_000_000), length=st.integers(0, 40 * DAY))
def test_the_day_shares_add_up_to_the_whole_exactly(values, first, length):
    last = first + length
    shares = metrics.split_seconds(values, first, last)
    assert [sum(share[i] for _, share in shares) for i in range(len(values))] == values
    assert all(value >= 0 for _, share in shares for value in share)
    days = [day for day, _ in shares]
    assert days == sorted(set(days))
    if length:
        assert all(day_of_seconds(first) <= day <= day_of_seconds(last - 1) for day in days)
        # each day's share is its seconds' part, floor-rounded: never more than one unit off
        for day, share in shares:
            start = max(first, iso_seconds(day + "T00:00:00Z"))
            stop = min(last, iso_seconds(day + "T00:00:00Z") + DAY)
            for value, part in zip(values, share):
                assert abs(part - value * (stop - start) / length) <= 1
    else:
        assert days in ([], [day_of_seconds(last)])


def cut_by_definition(values, first, last):
    """split_seconds as its docstring defines it, a second at a time summed per day: each cut
    floor(value x seconds so far / all seconds)."""
    if last <= first:
        return [(day_of_seconds(last), list(values))] if any(values) else []
    shares, before, start = [], [0] * len(values), first
    while start < last:
        stop = min(last, (start // DAY + 1) * DAY)
        upto = [value * (stop - first) // (last - first) for value in values]
        share = [now - then for now, then in zip(upto, before)]
        if any(share):
            shares.append((day_of_seconds(start), share))
        before, start = upto, stop
    return shares


@settings(max_examples=400, deadline=None)
@given(values=st.lists(st.integers(0, 1 << 53), min_size=1, max_size=metrics.SIZE),
       first=st.integers(0, 4_000_000_000), length=st.integers(-DAY, 12 * DAY))
def test_the_cut_is_the_one_its_definition_gives(values, first, length):
    assert metrics.split_seconds(values, first, first + length) == \
        cut_by_definition(values, first, first + length)


def stamp_of(day, hour, second):
    """A time as the record checks allow it (hours up to 29 included)."""
    return "%sT%02d:%02d:%02dZ" % (day_of_seconds(day * DAY), hour, second // 60, second % 60)


@st.composite
def stamped_jobs(draw):
    """Records whose start and end fall on the same day or near it, hours past 23 too."""
    end_day = draw(st.integers(18_000, 22_000))
    end = stamp_of(end_day, draw(st.integers(0, 29)), draw(st.integers(0, 3599)))
    start = draw(st.one_of(st.none(), st.builds(
        stamp_of, st.integers(end_day - 2, end_day + 1), st.integers(0, 29),
        st.integers(0, 3599))))
    record = job(1, "ann", end, cpus=draw(st.integers(0, 64)),
                 elapsed=draw(st.integers(0, 3 * DAY)), gpus=draw(st.integers(0, 4)),
                 state=draw(st.sampled_from(["COMPLETED", "FAILED", "CANCELLED"])), start=start)
    if draw(st.booleans()):
        record["start"] = start and ""      # an empty start: never started, as None is
    return record


@settings(max_examples=600, deadline=None)
@given(record=stamped_jobs())
def test_the_one_day_shortcut_gives_what_the_span_gives(record):
    vector = metrics.of_record(record)
    assert metrics.shares_of(record, vector) == metrics.spread_shares(record, vector)


@settings(max_examples=200, deadline=None)
@given(end=st.integers(iso_seconds("2020-01-01T00:00:00Z"), iso_seconds("2030-01-01T00:00:00Z")),
       elapsed=st.integers(0, 90 * DAY), cpus=st.integers(1, 512), gpus=st.integers(0, 8),
       state=st.sampled_from(["COMPLETED", "FAILED", "TIMEOUT", "NODE_FAIL", "CANCELLED"]))
def test_a_job_s_day_vectors_add_up_to_its_vector(end, elapsed, cpus, gpus, state):
    stamp = day_of_seconds(end) + "T" + "%02d:%02d:%02dZ" % (end % DAY // 3600, end % 3600 // 60,
                                                              end % 60)
    record = job(1, "ann", stamp, cpus=cpus, elapsed=elapsed, gpus=gpus, state=state)
    shares = metrics.day_shares(record)
    total = [sum(vector[i] for _, vector in shares) for i in range(metrics.SIZE)]
    assert total == metrics.of_record(record)
    counted = [day for day, vector in shares if any(vector[metrics.TIMED:])]
    assert counted in ([], [stamp[:10]])


# -- the store ----------------------------------------------------------------------------

def months_of(root):
    folder = os.path.join(str(root), "clusters", "hammer", "agg", "rollups", "monthly")
    return sorted(name[:-5] for name in os.listdir(folder))


def month_totals(root):
    """user -> the sum of their totals over every month's rollup."""
    sums = {}
    for month in months_of(root):
        for entry in rollup(root, month)["users"]:
            vector = sums.setdefault(entry["username"], [0] * metrics.SIZE)
            for i, value in enumerate(entry["totals"]):
                vector[i] += value
    return sums


def test_a_job_across_a_month_boundary_is_in_both_rollups_and_counted_once(tmp_path):
    # from 30 July 12:00 to 2 August 12:00, 4 CPUs: 1.5 days in July, 1.5 in August
    record = job(1, "ann", "2025-08-02T12:00:00Z", cpus=4, elapsed=3 * DAY)
    for _ in range(2):
        done, _ = reduce(tmp_path, [record])
        assert done.returncode == 0, done.stderr
    july, august = rollup(tmp_path, "2025-07"), rollup(tmp_path, "2025-08")
    assert july["users"][0]["totals"] == [4 * 36 * HOUR, 36 * HOUR, 0, 0, 0, 0]
    assert august["users"][0]["totals"] == [4 * 36 * HOUR, 36 * HOUR, 0, 0, 0, 1]
    assert july["carried"] == {"2025-08": [["ann", "2025-07-30", "proj", 4 * 12 * HOUR,
                                            12 * HOUR, 0, 0, 0, 0],
                                           ["ann", "2025-07-31", "proj", 4 * DAY, DAY, 0, 0,
                                            0, 0]]}
    assert august["spilled"] == {"2025-07": july["carried"]["2025-08"]}
    assert user_totals(tmp_path)["ann"] == metrics.of_record(record)
    assert not os.path.exists(os.path.join(str(tmp_path), "clusters", "hammer", "state", "seen",
                                           "2025-07.bloom"))


def test_a_job_that_started_before_the_backfill_start_keeps_its_whole_usage(tmp_path):
    # the backfill starts on 1 August: the job ended after it, so it is counted, all of it,
    # and its July hours are July's (all-time totals do not depend on where history starts)
    record = job(1, "ann", "2025-08-01T06:00:00Z", cpus=1, elapsed=12 * HOUR)
    done, stats = reduce(tmp_path, [record], "--since", "2025-08-01", "--until", "2025-09-01")
    assert done.returncode == 0 and stats["new_jobs"] == 1
    assert rollup(tmp_path, "2025-07")["users"][0]["totals"] == [6 * HOUR, 6 * HOUR, 0, 0, 0, 0]
    assert user_totals(tmp_path)["ann"] == [12 * HOUR, 12 * HOUR, 0, 0, 0, 1]
    ended_before = job(2, "ann", "2025-07-31T23:00:00Z", cpus=1, elapsed=HOUR)
    done, stats = reduce(tmp_path, [ended_before], "--since", "2025-08-01")
    assert stats["new_jobs"] == 0 and stats["skipped"] == {"outside window": 1}


NOW = "2025-09-11T12:00:00Z"


def board_values(root, window, metric):
    done = tool("sb_rank", ["--root", str(root), "--now", NOW, "-w", window, "-m", metric])
    assert done.returncode == 0, done.stderr
    return {row["user"]: row["value"] for row in map(json.loads, done.stdout.splitlines())}


def test_the_issue_s_ten_day_job_puts_only_its_days_inside_a_window_in_it(tmp_path):
    # 10 CPUs for 10 days, ending yesterday (10 September) at 12:00: rolling-7d covers 5 to 11
    # September, so 5.5 of its days: 1,320 CPU-core hours, not 2,400
    record = job(1, "ann", "2025-09-10T12:00:00Z", cpus=10, elapsed=10 * DAY)
    reduce(tmp_path, [record])
    assert board_values(tmp_path, "rolling-7d", "clock_hours") == {"ann": 1320.0}
    assert board_values(tmp_path, "alltime", "clock_hours") == {"ann": 2400.0}
    assert board_values(tmp_path, "rolling-7d", "jobs") == {"ann": 1}
    assert board_values(tmp_path, "month", "clock_hours") == {"ann": 10 * (9 * 24 + 12)}


def test_a_job_longer_than_a_window_fills_it_with_its_days_there_only(tmp_path):
    # 2 CPUs from 1 June to 10 September 00:00: rolling-30d (13 August to 11 September) holds
    # 28 of its days; rolling-7d (5 to 11 September) 5
    start = iso_seconds("2025-06-01T00:00:00Z")
    end = iso_seconds("2025-09-10T00:00:00Z")
    reduce(tmp_path, [job(1, "ann", "2025-09-10T00:00:00Z", cpus=2, elapsed=end - start)])
    assert board_values(tmp_path, "rolling-30d", "clock_hours") == {"ann": 28 * 48.0}
    assert board_values(tmp_path, "rolling-7d", "elapsed_hours") == {"ann": 5 * 24.0}
    assert board_values(tmp_path, "rolling-7d", "jobs") == {"ann": 1}
    assert months_of(tmp_path) == ["2025-06", "2025-07", "2025-08", "2025-09"]
    assert user_totals(tmp_path)["ann"][0] == 2 * (end - start)


# -- replacing a month, damage, opting out ------------------------------------------------

def crossing_jobs():
    """Jobs of two users ending in June, July and August, many of them running across months."""
    records = []
    for i in range(24):
        end = f"2025-{6 + i % 3:02d}-{1 + (i * 5) % 28:02d}T{(i * 7) % 24:02d}:00:00Z"
        records.append(job(i, ("ann", "bo")[i % 2], end, cpus=1 + i % 4,
                           elapsed=(i % 6) * 4 * DAY + 3600 * i, gpus=i % 3,
                           account=("phys", "chem")[i % 3 % 2]))
    return records


def store_of(root, records, *args):
    os.makedirs(str(root), exist_ok=True)
    done, _ = reduce(root, records, *args)
    assert done.returncode == 0, done.stderr
    return root


def agg_files(root):
    files = snapshot(os.path.join(str(root), "clusters", "hammer", "agg"))
    return {name: orjson.loads(data) for name, data in files.items()}


def without_asof(document):
    if isinstance(document, dict):
        return {k: without_asof(v) for k, v in document.items() if k != "asof"}
    return document


def same_store(one, other):
    assert {n: without_asof(d) for n, d in agg_files(one).items()} == \
        {n: without_asof(d) for n, d in agg_files(other).items()}


def test_replacing_a_month_removes_its_jobs_from_every_month_they_ran_in(tmp_path):
    records = crossing_jobs()
    fresh = store_of(tmp_path / "fresh", [r for r in records if not r["end"].startswith("2025-07")
                                          or int(r["job_id"]) % 4 != 1])
    store = store_of(tmp_path / "store", records)
    july = [r for r in records if r["end"].startswith("2025-07") and int(r["job_id"]) % 4 != 1]
    # fewer jobs than the month counted: slurmdbd purged them? refused, nothing replaced
    before = snapshot(store)
    done, _ = reduce(store, july, "--cluster", "hammer", "--replace-month", "2025-07")
    assert done.returncode == 6 and b"holds 6 of the 8 jobs" in done.stderr
    assert snapshot(store) == before
    store_of(store, july, "--cluster", "hammer", "--replace-month", "2025-07", "--allow-fewer")
    same_store(fresh, store)
    # and the same month fetched again unchanged changes nothing
    store_of(store, july, "--cluster", "hammer", "--replace-month", "2025-07")
    same_store(fresh, store)


def test_a_damaged_month_fetched_again_is_rebuilt_with_what_later_jobs_used_in_it(tmp_path):
    records = crossing_jobs()
    fresh = store_of(tmp_path / "fresh", records)
    store = store_of(tmp_path / "store", records)
    path = os.path.join(str(store), "clusters", "hammer", "agg", "rollups", "monthly",
                        "2025-07.json")
    with open(path, "wb") as handle:
        handle.write(b'{"users": [oops')
    july = [r for r in records if r["end"].startswith("2025-07")]
    store_of(store, july, "--cluster", "hammer", "--replace-month", "2025-07")
    same_store(fresh, store)


def test_opting_out_erases_a_user_s_share_in_every_month(tmp_path):
    records = crossing_jobs()
    fresh = store_of(tmp_path / "fresh", [r for r in records if r["user"] != "bo"])
    store = store_of(tmp_path / "store", records)
    (store / "config").mkdir()
    (store / "config" / "optout.txt").write_text("bo\n")
    store_of(store, [], "--cluster", "hammer")
    assert "bo" not in month_totals(store)
    same_store(fresh, store)


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_any_order_of_polls_and_replaced_months_gives_the_store_of_one_run(tmp_path_factory, data):
    records = crossing_jobs()
    order = data.draw(st.permutations(records))
    cut = data.draw(st.integers(0, len(order)))
    redo = data.draw(st.sampled_from(["2025-06", "2025-07", "2025-08"]))
    root = tmp_path_factory.mktemp("store")
    store_of(root, order[:cut])
    store_of(root, [r for r in records if r["end"].startswith(redo)], "--cluster", "hammer",
             "--replace-month", redo)
    store_of(root, order[cut:])
    fresh = store_of(tmp_path_factory.mktemp("fresh"), records)
    same_store(fresh, root)


# -- a store written before the rule ------------------------------------------------------

def make_old_store(root):
    """A store as 0.2 wrote it: each job's whole vector on the day it ended, no ledgers and no
    rule file; the derived files summed from the rollups by sb-reduce --repair."""
    months = {}
    for record in crossing_jobs():
        vector = metrics.of_record(record)
        if any(vector):
            months.setdefault(record["end"][:7], Rollup()).add(
                record["user"], record["end"][:10], record["account"], vector)
    folder = os.path.join(str(root), "clusters", "hammer", "agg", "rollups", "monthly")
    os.makedirs(folder)
    for month, rollup_of_month in months.items():
        data = orjson.loads(rollup_bytes(month, "hammer", rollup_of_month, NOW))
        data.pop("carried"), data.pop("spilled")
        with open(os.path.join(folder, month + ".json"), "wb") as handle:
            handle.write(orjson.dumps(data))
    done = tool("sb_reduce", ["--root", str(root), "--cluster", "hammer", "--repair"])
    assert done.returncode == 0, done.stderr
    return root


def test_a_store_on_the_old_rule_is_named_with_the_command_that_fetches_it_again(tmp_path):
    root = make_old_store(tmp_path)
    done = tool("sb_reduce", ["--root", str(root), "--cluster", "hammer", "--old-rule-months"])
    assert done.returncode == 0 and done.stdout == b"2025-06\n2025-07\n2025-08\n"
    ranked = tool("sb_rank", ["--root", str(root), "--now", NOW])
    assert ranked.returncode == 0, ranked.stderr
    assert b"cluster hammer: 3 months (2025-06 to 2025-08) count usage on the day jobs ended" \
        in ranked.stderr and b"sb-backfill --cluster hammer --resplit" in ranked.stderr
    # a new poll keeps naming them: the old months are not silently mixed with new ones
    store_of(root, [job(99, "ann", "2025-09-02T00:00:00Z")])
    assert tool("sb_reduce", ["--root", str(root), "--cluster", "hammer",
                              "--old-rule-months"]).stdout == b"2025-06\n2025-07\n2025-08\n"
    # each month fetched again leaves the list
    store_of(root, [r for r in crossing_jobs() if r["end"].startswith("2025-07")], "--cluster",
             "hammer", "--replace-month", "2025-07")
    assert tool("sb_reduce", ["--root", str(root), "--cluster", "hammer",
                              "--old-rule-months"]).stdout == b"2025-06\n2025-08\n"


def test_a_new_store_says_it_is_on_the_new_rule_and_sb_rank_is_quiet(tmp_path):
    store_of(tmp_path, crossing_jobs())
    with open(os.path.join(str(tmp_path), "clusters", "hammer", "agg", "day_rule.json"),
              "rb") as handle:
        assert orjson.loads(handle.read())["rule"] == "ran"
    ranked = tool("sb_rank", ["--root", str(tmp_path), "--now", NOW])
    assert ranked.returncode == 0 and b"day jobs ended" not in ranked.stderr


def test_an_old_store_fetched_again_month_by_month_is_the_new_store(tmp_path):
    records = crossing_jobs()
    root = make_old_store(tmp_path / "old")
    for month in ("2025-08", "2025-06", "2025-07"):
        store_of(root, [r for r in records if r["end"].startswith(month)], "--cluster",
                 "hammer", "--replace-month", month)
    fresh = store_of(tmp_path / "fresh", records)
    same_store(fresh, root)


def rollup_path(root, month):
    return os.path.join(str(root), "clusters", "hammer", "agg", "rollups", "monthly",
                        month + ".json")


def rewrite_rollup(root, month, change):
    with open(rollup_path(root, month), "rb") as handle:
        data = orjson.loads(handle.read())
    change(data)
    with open(rollup_path(root, month), "wb") as handle:
        handle.write(orjson.dumps(data))


def test_a_month_a_writer_before_0_3_rewrote_is_replaced_exactly_and_named(tmp_path):
    # a 0.2 sb-reduce still polling from another login node rewrites July without its ledgers;
    # August's own ledger still says what its jobs used in July
    records = crossing_jobs()
    fresh = store_of(tmp_path / "fresh", records)
    store = store_of(tmp_path / "store", records)
    rewrite_rollup(store, "2025-07", lambda data: (data.pop("carried"), data.pop("spilled")))
    august = [r for r in records if r["end"].startswith("2025-08")]
    store_of(store, august, "--cluster", "hammer", "--replace-month", "2025-08")
    assert month_totals(store) == month_totals(fresh)
    assert tool("sb_reduce", ["--root", str(store), "--cluster", "hammer",
                              "--old-rule-months"]).stdout == b"2025-07\n"


def test_a_forged_carried_ledger_cannot_make_a_replaced_month_take_someone_else_s_usage(tmp_path):
    records = crossing_jobs()
    fresh = store_of(tmp_path / "fresh", records)
    store = store_of(tmp_path / "store", records)

    def forge(data):
        bob = [row for row in data["days"] if row[0] == "bo"][0]
        data["carried"].setdefault("2025-08", []).append(bob)
    rewrite_rollup(store, "2025-07", forge)
    august = [r for r in records if r["end"].startswith("2025-08")]
    store_of(store, august, "--cluster", "hammer", "--replace-month", "2025-08")
    assert month_totals(store) == month_totals(fresh)


def test_a_damaged_day_rule_is_named_and_repair_writes_it_again(tmp_path):
    store = store_of(tmp_path, crossing_jobs())
    rule = os.path.join(str(store), "clusters", "hammer", "agg", "day_rule.json")
    with open(rule, "w") as handle:
        handle.write('{"ended_months": "oops"}')
    ranked = tool("sb_rank", ["--root", str(store), "--now", NOW])
    assert b"day_rule.json: malformed day rule" in ranked.stderr
    # a poll that erases someone still goes on: what cannot be told is on the old rule
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "optout.txt").write_text("bo\n")
    store_of(store, [], "--cluster", "hammer")
    assert "bo" not in month_totals(store)
    with open(rule, "w") as handle:
        handle.write('{"ended_months": "oops"}')
    done = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--repair"])
    assert done.returncode == 0, done.stderr
    months = months_of(store)
    assert tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--old-rule-months"]
                ).stdout.decode().split() == months
    keep = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--keep-old-rule",
                              months[0]])
    assert keep.returncode == 0, keep.stderr
    assert tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--old-rule-months"]
                ).stdout.decode().split() == months[1:]
