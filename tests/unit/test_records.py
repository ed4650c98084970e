"""records.check, the border every tool puts around a record: types, bounds, times, state.

Property-based: any JSON value is either a valid record or a SkipRecord with a reason, never
another exception; and what passes can be counted without overflow or negative numbers."""
import copy

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slurm_scoreboard.errors import SkipRecord
from slurm_scoreboard.ingest import records
from slurm_scoreboard.ingest.records import check

LATEST = "2025-09-02T00:00:00Z"


def good():
    return {"cluster": "hammer", "job_id": "101", "job_id_raw": "101",
            "key": "101@2025-08-01T00:00:00Z", "user": "bob", "account": "chem",
            "state": "FAILED", "terminal": True, "submit": "2025-08-01T00:00:00Z",
            "start": "2025-08-01T00:10:00Z", "end": "2025-08-01T00:11:00Z", "elapsed_s": 60,
            "cpus": 2, "nodes": 1, "gpus": 2, "mem_bytes": 4294967296, "max_rss_bytes": None,
            "cpu_seconds": 120, "gpu_seconds": 120}


def test_a_record_of_the_schema_passes_as_itself():
    record = good()
    assert check(record, LATEST) is record


@pytest.mark.parametrize("key,value,reason", [
    ("cpu_seconds", 2 ** 64 - 1, "out of range"),
    ("cpu_seconds", 121, "out of range"),           # more than elapsed x cpus
    ("gpu_seconds", -1, "out of range"),
    ("elapsed_s", -60, "out of range"),
    ("elapsed_s", 10 ** 12, "out of range"),
    ("cpus", "2", "bad record"),
    ("cpus", [2], "bad record"),
    ("cpus", 2.0, "bad record"),
    ("cpus", True, "bad record"),
    ("mem_bytes", 2 ** 70, "out of range"),
    ("mem_bytes", "4G", "bad record"),
    ("end", "9999-12-31T23:59:59Z", "out of range"),
    ("end", "1969-12-31T23:59:59Z", "out of range"),
    ("end", "2025-02-30T00:00:00Z", "bad record"),
    ("end", "2025-08-01 00:11:00", "bad record"),
    ("end", None, "bad record"),
    ("start", 1690000000, "bad record"),
    ("state", "EXPLODED", "bad record"),
    ("terminal", False, "bad record"),               # a FAILED job has ended
    ("user", None, "bad record"),
    ("account", {"a": 1}, "bad record"),
    ("key", "", "bad record"),
    ("job_id", "1" * 300, "bad record"),
])
def test_poison_values_are_skipped_with_a_reason(key, value, reason):
    record = good()
    record[key] = value
    with pytest.raises(SkipRecord) as info:
        check(record, LATEST)
    assert info.value.reason == reason


def test_a_job_not_ended_may_lack_an_end_and_a_non_object_is_refused():
    running = dict(good(), state="RUNNING", terminal=False, end=None)
    check(running, LATEST)
    for value in (None, [], "x", 3, [good()]):
        with pytest.raises(SkipRecord):
            check(value, LATEST)


def test_the_latest_time_is_a_day_past_now():
    from datetime import datetime, timezone
    assert records.latest_time(datetime(2025, 9, 1, tzinfo=timezone.utc)) == LATEST


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
    | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                      children, max_size=4),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_any_json_value_is_a_record_or_a_reason(value):
    try:
        check(value, LATEST)
    except SkipRecord as err:
        assert err.reason
    else:
        assert isinstance(value, dict)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(good())), JSON)
def test_any_value_in_any_field_is_a_record_or_a_reason(key, value):
    record = good()
    record[key] = value
    try:
        check(record, LATEST)
    except SkipRecord:
        return
    for name in ("elapsed_s", "cpus", "nodes", "gpus", "cpu_seconds", "gpu_seconds"):
        assert type(record[name]) is int and 0 <= record[name] < 2 ** 53
    orjson.dumps(record)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(good())), JSON, max_size=6))
def test_records_with_fields_missing_or_replaced_never_raise_anything_else(changes):
    record = copy.deepcopy(good())
    for key, value in changes.items():
        if value is None and key in ("cpus", "nodes"):
            record.pop(key)
        else:
            record[key] = value
    try:
        check(record, LATEST)
    except SkipRecord:
        pass
