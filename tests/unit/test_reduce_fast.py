"""sb-reduce's fast paths give exactly what the plain code they stand in for gives: instants read
through their hour and minutes-seconds, a day's text made once, a job on one day put there at
once, vectors added a whole at a time, the keys a run added kept in buckets instead of a set,
their bits set a walk at a time, a month's cells moved into its rollup instead of copied, and
folders walked once in an update. Each is compared with the plain code (written out here as it
was) over generated input."""
import hashlib
import math
import os
import struct
import threading
from array import array
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reduce_helpers import job

from slurm_scoreboard.core import files, times
from slurm_scoreboard.store import bloom, metrics, store
from slurm_scoreboard.store.bloom import BloomFilter
from slurm_scoreboard.store.reducer import MonthDelta
from slurm_scoreboard.store.store import Rollup, UserUsage, add_to_ledger, rollup_bytes


def outcome(function, *args):
    try:
        return "value", function(*args)
    except Exception as err:            # the error is the outcome compared
        return type(err).__name__, str(err)


# -- times -----------------------------------------------------------------------------------------

def plain_iso_seconds(value):
    return (times.day_seconds(value[:10]) + int(value[11:13]) * 3600 + int(value[14:16]) * 60
            + int(value[17:19]))


INSTANTS = (st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9 ]{2}:[0-9]{2}.[0-9]{2}Z?",
                          fullmatch=True)
            | st.from_regex(r"20[0-9]{2}-(0[1-9]|1[0-2])-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:"
                            r"[0-5][0-9]Z", fullmatch=True)
            | st.text(max_size=22))


@settings(max_examples=3000, deadline=None)
@given(INSTANTS)
def test_an_instant_is_read_as_the_plain_sum_reads_it(value):
    assert outcome(times.iso_seconds, value) == outcome(plain_iso_seconds, value)
    assert outcome(times.iso_seconds, value) == outcome(plain_iso_seconds, value)


@settings(max_examples=1000, deadline=None)
@given(st.integers(0, 253402300799))
def test_the_day_of_an_instant_is_the_calendar_s(seconds):
    want = date.fromordinal(date(1970, 1, 1).toordinal() + seconds // 86400).isoformat()
    assert times.day_of_seconds(seconds) == want == times.day_of_seconds(seconds)


# -- day shares ----------------------------------------------------------------------------------

def plain_split_seconds(values, first, last):
    """metrics.split_seconds before its one-day fast path."""
    total = last - first
    if total <= 0:
        return [(times.day_of_seconds(last), list(values))] if any(values) else []
    shares, before, start = [], [0] * len(values), first
    while start < last:
        stop = min(last, (start // 86400 + 1) * 86400)
        upto = [value * (stop - first) // total for value in values]
        share = [now - then for now, then in zip(upto, before)]
        if any(share):
            shares.append((times.day_of_seconds(start), share))
        before, start = upto, stop
    return shares


def plain_day_shares(record):
    """metrics.day_shares before its one-day fast path."""
    vector = metrics.of_record(record)
    first, last = metrics.span_of(record)
    days = {}
    for day, share in plain_split_seconds(vector[:metrics.TIMED], first, last):
        days[day] = share + [0] * (metrics.SIZE - metrics.TIMED)
    counts = vector[metrics.TIMED:]
    if any(counts):
        cell = days.setdefault(record["end"][:10], metrics.zero())
        cell[metrics.TIMED:] = counts
    return sorted(days.items())


@settings(max_examples=3000, deadline=None)
@given(values=st.lists(st.integers(0, 1 << 53), min_size=1, max_size=4),
       first=st.integers(0, 4_000_000_000), length=st.integers(-100, 3 * 86400),
       align=st.booleans())
def test_the_day_cut_is_the_plain_cut(values, first, length, align):
    if align:                           # spans that start or end on a midnight
        first -= first % 86400
    assert metrics.split_seconds(values, first, first + length) == \
        plain_split_seconds(values, first, first + length)


ENDS = st.sampled_from(["2025-08-02T04:00:00Z", "2025-08-02T00:00:00Z", "2025-08-01T23:59:59Z",
                        "2025-08-01T00:00:01Z", "2026-01-01T00:00:00Z", "2025-08-01T24:00:00Z",
                        "2025-08-01T29:59:59Z", "2025-08-31T12:00:00Z"])


@settings(max_examples=3000, deadline=None)
@given(ENDS, st.integers(0, 3 * 86400), st.integers(0, 64), st.integers(0, 4),
       st.sampled_from(["COMPLETED", "FAILED", "CANCELLED"]),
       st.sampled_from(["auto", None, "2015-08-02T00:00:00Z", "2025-08-01T23:00:00Z"]))
def test_a_job_s_shares_are_the_plain_shares(end, elapsed, cpus, gpus, state, start):
    if start == "auto" and end[11:13] > "23":      # hours 24-29 pass check; no clock has them
        start = "2025-08-01T20:00:00Z"
    record = job(1, "ann", end, cpus=cpus, elapsed=elapsed, gpus=gpus, state=state,
                 start=start)
    assert metrics.day_shares(record) == plain_day_shares(record)
    assert metrics.shares_of(record, metrics.of_record(record)) == plain_day_shares(record)


VECTORS = st.lists(st.integers(0, 1 << 60), min_size=0, max_size=8)


@settings(max_examples=2000, deadline=None)
@given(VECTORS, VECTORS)
def test_a_vector_is_added_as_the_plain_loop_adds_it(total, delta):
    def plain(total, delta):
        for index in range(metrics.SIZE):
            total[index] += delta[index]
        return total

    def fast(total, delta):
        metrics.add_into(total, delta)
        return total
    assert outcome(fast, list(total), delta) == outcome(plain, list(total), delta)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.lists(st.integers(0, 1 << 40),
                                                            min_size=6, max_size=6))))
def test_a_ledger_sums_what_is_added_to_it(additions):
    ledger, want = {}, {}
    for cell, vector in additions:
        add_to_ledger(ledger, (cell, "2025-08-01", "p"), vector)
        want[cell] = [a + b for a, b in zip(want.get(cell, [0] * 6), vector)]
        vector[0] += 1                  # the ledger holds its own copy
    assert {cell[0]: vector for cell, vector in ledger.items()} == want


# -- the month's delta into its rollup -------------------------------------------------------------

def copied_rollup(delta):
    """MonthDelta.rollup as it was: each cell added (copied) into its user's usage."""
    rollup = Rollup()
    cells = [(user, day, account, vector) for user, rows in delta.days.items()
             for (day, account), vector in rows.items()]
    for user, day, account, vector in cells:
        usage = rollup.users.get(user)
        if usage is None:
            usage = rollup.users[user] = UserUsage()
            usage.widen(delta.first_end.get(user), delta.last_end.get(user))
        usage.add(account, day, vector)
    rollup.carried, rollup.spilled = delta.carried, delta.spilled
    return rollup


CELLS = st.lists(st.tuples(st.sampled_from(["ann", "bob"]),
                           st.sampled_from(["2025-08-01", "2025-08-02"]),
                           st.sampled_from(["p", "q", ""]),
                           st.lists(st.integers(0, 1 << 40), min_size=6, max_size=6)),
                 max_size=12)


@settings(max_examples=500, deadline=None)
@given(CELLS, CELLS)
def test_a_month_moved_into_its_rollup_is_the_month_copied_into_it(cells, stored):
    def delta_of():
        delta = MonthDelta()
        for user, day, account, vector in cells:
            delta.add((user, day, account), vector)
            delta.ended(user, day + "T12:00:00Z")
        return delta

    def stored_rollup():
        rollup = Rollup()
        for user, day, account, vector in stored:
            rollup.add(user, day, account, vector)
        return rollup
    moved, copied = stored_rollup(), stored_rollup()
    moved.merge(delta_of().rollup())
    copied.merge(copied_rollup(delta_of()))
    assert rollup_bytes("2025-08", "c", moved, "x") == rollup_bytes("2025-08", "c", copied, "x")


# -- Bloom filters ----------------------------------------------------------------------------------

class PlainBloom:
    """BloomFilter's writing as it was: the run's keys in a set and an array, each key's bits
    set by _Layer.add, the file's bytes joined and hashed whole."""

    def __init__(self, filter_):
        self.layers = filter_.layers
        self.first_capacity = filter_._first_capacity
        self.pending = array("Q")
        self.seen = set()

    def add(self, key):
        h1, h2 = bloom.key_hash(key)
        if h1 in self.seen or any(layer.contains(h1, h2) for layer in self.layers):
            return False
        self.seen.add(h1)
        self.pending.extend((h1, h2))
        return True

    def to_bytes(self):
        count, index = len(self.pending) // 2, 0
        if self.layers:
            last = self.layers[-1]
            while index < count and last.items < last.capacity:
                last.add(self.pending[2 * index], self.pending[2 * index + 1])
                index += 1
        if index < count or not self.layers:
            wanted = math.ceil((count - index) * bloom.HEADROOM)
            capacity = max(bloom.MIN_CAPACITY, wanted) if self.layers else \
                max(self.first_capacity, wanted)
            layer = bloom._Layer(capacity, bloom.P0 / bloom.GROWTH ** len(self.layers))
            for rest in range(index, count):
                layer.add(self.pending[2 * rest], self.pending[2 * rest + 1])
            self.layers.append(layer)
        parts = [struct.pack("<8sII", bloom.MAGIC, bloom.VERSION, len(self.layers))]
        for layer in self.layers:
            parts.append(struct.pack("<QQIQ", layer.capacity, layer.bits, layer.hashes,
                                     layer.items))
            parts.append(bytes(layer.bitmap))
        body = b"".join(parts)
        return body + hashlib.sha256(body).digest()


KEYS = st.lists(st.integers(0, 400).map(lambda n: f"{n}@2025-08-01T00:00:00Z"), max_size=120)


@settings(max_examples=200, deadline=None)
@given(st.lists(KEYS, min_size=1, max_size=3), st.integers(1, 150))
def test_a_bloom_file_is_byte_for_byte_what_the_plain_writer_wrote(runs, capacity):
    """Runs of keys (repeats within a run and across runs included) into a file read back
    each time: the same answers to add, and the same bytes, as the plain writer's."""
    data = None
    for keys in runs:
        fast = BloomFilter(capacity) if data is None else BloomFilter.from_bytes(data)
        plain = PlainBloom(BloomFilter(capacity) if data is None
                           else BloomFilter.from_bytes(data))
        assert [fast.add(key) for key in keys] == [plain.add(key) for key in keys]
        assert all(key in fast for key in keys) and fast.items == \
            sum(layer.items for layer in plain.layers) + len(plain.pending) // 2
        data = fast.to_bytes()
        assert data == plain.to_bytes()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, (1 << 64) - 1), max_size=300), st.integers(0, 5))
def test_kept_keys_are_found_by_their_hash_and_no_others(values, top):
    """A bucket holds first halves back to back: a match that straddles two of them is none."""
    pending = bloom.KeptKeys()
    values = [value | (top << 61) for value in values]       # crowd a few buckets
    kept = set()
    for value in values:
        assert pending.add(value, 1) == (value not in kept)
        kept.add(value)
    for value in values + [v ^ 1 for v in values] + [(v >> 8) | (v << 56) & ((1 << 64) - 1)
                                                       for v in values]:
        assert (value in pending) == (value in kept)
    assert len(pending) == len(kept)


def test_a_straddling_match_is_not_a_member():
    pending = bloom.KeptKeys()
    first, second = 0x1122334455667788, 0x1122AAAA1122BBBB      # one bucket (0x1122)
    pending.add(first, 1)
    pending.add(second, 1)
    straddling = int.from_bytes((first.to_bytes(8, "little") + second.to_bytes(8, "little"))
                                [4:12], "little")
    assert straddling >> 48 == first >> 48          # it would be looked for in their bucket
    assert straddling not in pending and pending.add(straddling, 1)


# -- folders walked once ---------------------------------------------------------------------------

def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_files_written_with_folders_kept_are_the_files_written_without(tmp_path):
    files.use_root(str(tmp_path))
    try:
        before = open_descriptors()
        with files.keep_folders():
            for n in range(20):
                files.write_synced(str(tmp_path / "a" / "b" / f"{n}.json"), b"%d" % n)
                files.atomic_write(str(tmp_path / "a" / f"{n}.json"), b"x%d" % n)
            with files.keep_folders():          # nested: the outer block keeps them
                assert files.read_bytes(str(tmp_path / "a" / "b" / "3.json")) == b"3"
            assert files.lexists(str(tmp_path / "a" / "7.json"))
        assert open_descriptors() == before
        assert sorted(os.listdir(tmp_path / "a" / "b")) == sorted(f"{n}.json" for n in range(20))
        assert (tmp_path / "a" / "19.json").read_bytes() == b"x19"
    finally:
        files.use_root(str(tmp_path / "unused"))


def synced_paths(monkeypatch):
    """The paths os.fsync is called on from now on, in a list."""
    synced = []
    real = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)
    monkeypatch.setattr(os, "fsync", spy)
    return synced


def test_files_handed_to_the_syncer_are_synced_before_wait_returns_and_a_failure_is_raised(
        tmp_path, monkeypatch):
    synced = synced_paths(monkeypatch)
    syncer = files.Syncer()
    names = [str(tmp_path / f"{n}.json") for n in range(12)]
    for name in names:
        with open(name, "wb") as handle:
            handle.write(b"x")
        syncer.add(name)
    syncer.wait()
    assert sorted(synced) == sorted(names) and syncer.pool is None
    syncer.add(str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError):
        syncer.wait()
    assert syncer.pool is None and syncer.pending == []


def threads_fail_after(monkeypatch, started):
    """threading.Thread.start fails as it does at a process limit (ulimit -u, systemd's
    TasksMax) once `started` threads have started."""
    real = threading.Thread.start
    count = [0]

    def start(self):
        if count[0] >= started:
            raise RuntimeError("can't start new thread")
        count[0] += 1
        real(self)
    monkeypatch.setattr(threading.Thread, "start", start)


@pytest.mark.parametrize("started", [0, 1, 3])
def test_files_are_synced_when_no_more_threads_can_be_started(tmp_path, monkeypatch, started):
    synced = synced_paths(monkeypatch)
    names = [str(tmp_path / f"{n}.json") for n in range(12)]
    for name in names:
        with open(name, "wb") as handle:
            handle.write(b"x")
    threads_fail_after(monkeypatch, started)
    syncer = files.Syncer()
    for name in names[:6]:
        syncer.add(name)
    syncer.wait()
    files.fsync_files(names[6:])
    assert sorted(set(synced)) == sorted(names) and syncer.pool is None


@settings(max_examples=300, deadline=None)
@given(CELLS, st.dictionaries(st.sampled_from(["2025-09", "2025-10"]), CELLS, max_size=2))
def test_a_rollup_written_in_pieces_is_the_document_dumped_whole(cells, ledgers):
    """store.rollup_parts joined is what one orjson.dumps of the whole document gave."""
    import orjson
    rollup = Rollup()
    for user, day, account, vector in cells:
        rollup.add(user, day, account, vector)
    for month, rows in ledgers.items():
        for user, day, account, vector in rows:
            add_to_ledger(rollup.carried.setdefault(month, {}), (user, day, account), vector)
    users, names = rollup.users, sorted(rollup.users)
    document = {"asof": "x", "month": "2025-08", "cluster": "c", "metrics": list(metrics.NAMES),
                "users": [users[name].to_json(name) for name in names],
                "days": [row for name in names for row in users[name].day_rows(name)],
                "carried": {month: [[*cell, *vector] for cell, vector in sorted(rows.items())]
                            for month, rows in sorted(rollup.carried.items()) if rows},
                "spilled": {}}
    whole = orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
    assert b"".join(store.rollup_parts("2025-08", "c", rollup, "x")) == whole
    assert rollup_bytes("2025-08", "c", rollup, "x") == whole
