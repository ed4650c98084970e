"""records.check's fast path: a record it vouches for is one the full check passes, and check
gives exactly what the full check gives (the same record passed, the same reason refused), over
records built from good ones with edge values put in, and over sb-parse's records of the real
sacct samples."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sample_helpers import all_records

from slurm_scoreboard.errors import SkipRecord
from slurm_scoreboard.ingest import records

LATEST = "2025-09-02T00:00:00Z"


def good():
    return {"cluster": "hammer", "job_id": "101", "job_id_raw": "101",
            "key": "101@2025-08-01T00:00:00Z", "user": "bob", "account": "chem",
            "state": "FAILED", "terminal": True, "submit": "2025-08-01T00:00:00Z",
            "start": "2025-08-01T00:10:00Z", "end": "2025-08-01T00:11:00Z", "elapsed_s": 60,
            "cpus": 2, "nodes": 1, "gpus": 2, "mem_bytes": 4294967296, "max_rss_bytes": None,
            "cpu_seconds": 120, "gpu_seconds": 120}


def outcome(check, record):
    """None when `check` passes the record, else the reason and message it gives."""
    try:
        check(record, LATEST)
    except SkipRecord as err:
        return err.reason, str(err)
    return None


BOUNDS = [0, 1, 59, 60, 100, 101, 3600, records.SLACK, records.MAX_ELAPSED, records.MAX_CPUS,
          records.MAX_NODES, records.MAX_BYTES]
NUMBERS = (st.sampled_from(BOUNDS).flatmap(lambda n: st.sampled_from([n - 1, n, n + 1]))
           | st.integers(min_value=-5, max_value=2 ** 62) | st.booleans()
           | st.floats(allow_nan=False) | st.none() | st.text(max_size=4))
# times _ISO allows (hours up to 29, days up to 39, years from 0000), edge ones, and near-misses
TIMES = (st.from_regex(r"[0-9]{4}-(0[1-9]|1[0-2])-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z",
                       fullmatch=True)
         | st.from_regex(r"(19[67][0-9]|202[4-6])-(0[1-9]|1[0-3])-[0-3][0-9]T[0-2][0-9]:[0-6]"
                         r"[0-9]:[0-6][0-9]Z?", fullmatch=True)
         | st.sampled_from(["1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", LATEST,
                            "2025-09-02T00:00:01Z", "2025-02-29T00:00:00Z",
                            "2024-02-29T23:59:59Z", "2025-08-01T24:00:00Z",
                            "2025-08-01T29:59:59Z", "2025-08-01 00:11:00Z",
                            "2025-08-01T00:11:00z", "\uff12025-08-01T00:11:00Z"])
         | st.none() | st.integers() | st.text(max_size=21))
TEXTS = st.text(max_size=3) | st.text(min_size=199, max_size=202) | st.none() | st.integers()
STATES = st.sampled_from(["COMPLETED", "FAILED", "RUNNING", "PENDING", "CANCELLED", "EXPLODED",
                          "completed", ""])
FIELDS = {"elapsed_s": NUMBERS, "cpus": NUMBERS, "nodes": NUMBERS, "gpus": NUMBERS,
          "cpu_seconds": NUMBERS, "gpu_seconds": NUMBERS, "mem_bytes": NUMBERS,
          "max_rss_bytes": NUMBERS, "cpu_used_s": NUMBERS, "gpu_util": NUMBERS,
          "submit": TIMES, "start": TIMES, "end": TIMES, "state": STATES,
          "terminal": st.booleans() | st.none() | st.integers(0, 1),
          "cluster": TEXTS, "job_id": TEXTS, "job_id_raw": TEXTS, "key": TEXTS, "user": TEXTS,
          "account": TEXTS}
CHANGES = st.lists(st.sampled_from(sorted(FIELDS)).flatmap(
    lambda key: st.tuples(st.just(key), FIELDS[key] | st.just(KeyError))), max_size=5)


def changed(changes, base=None):
    record = dict(base) if base is not None else good()
    for key, value in changes:
        if value is KeyError:
            record.pop(key, None)
        else:
            record[key] = value
    return record


@settings(max_examples=3000, deadline=None)
@given(CHANGES)
def test_the_fast_path_gives_what_the_full_check_gives(changes):
    record = changed(changes)
    full = outcome(records._check_fully, record)
    if records._plainly_valid(record, LATEST):
        assert full is None, record
    assert outcome(records.check, record) == full


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 10 ** 6), st.integers(0, 10 ** 6), st.integers(0, 4000), TIMES)
def test_a_consistent_ended_job_is_vouched_for_and_an_inconsistent_one_is_not(
        wait, ran, late, end):
    """Times that agree, and times a little past the slack: the fast path decides as the full
    check does at the edges of the slack."""
    from slurm_scoreboard.core.times import day_of_seconds, iso_seconds
    if type(end) is not str or not records._ISO.fullmatch(end) or end > LATEST:
        return
    try:
        last = iso_seconds(end)
    except ValueError:
        return
    start, submit = last - ran, last - ran - wait

    def stamp(seconds):
        return f"{day_of_seconds(seconds)}T{seconds % 86400 // 3600:02d}:" \
               f"{seconds % 3600 // 60:02d}:{seconds % 60:02d}Z"
    if submit < 0:
        return
    for elapsed in (ran, ran + records.SLACK, ran + records.SLACK + 1, ran + late):
        record = dict(good(), submit=stamp(submit), start=stamp(start), end=end,
                      elapsed_s=elapsed, cpu_seconds=0, gpu_seconds=0)
        full = outcome(records._check_fully, record)
        assert records._plainly_valid(record, LATEST) == (full is None)


SAMPLE_RECORDS = all_records()


@pytest.mark.skipif(not SAMPLE_RECORDS, reason="real sacct samples not found")
@settings(max_examples=1000, deadline=None)
@given(st.data())
def test_records_of_real_sacct_text_get_what_the_full_check_gives(data):
    record = changed(data.draw(CHANGES), data.draw(st.sampled_from(SAMPLE_RECORDS)))
    latest = data.draw(st.sampled_from([LATEST, "2999-01-01T00:00:00Z"]))
    full = records._check_fully
    try:
        full(record, latest)
        want = None
    except SkipRecord as err:
        want = (err.reason, str(err))
    if records._plainly_valid(record, latest):
        assert want is None
    try:
        records.check(record, latest)
        got = None
    except SkipRecord as err:
        got = (err.reason, str(err))
    assert got == want
