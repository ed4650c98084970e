"""sb-parse's fast paths and caches give exactly what the full parsers give: the same value, or
the same error with the same message, over generated text and the real sacct samples' values
(../shared/sacct-samples). Each cache is also read twice (the second answer comes from it) and
with texts longer than it keeps."""
import io
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sample_helpers import LAYOUTS, SAMPLES, lines_of, split_fields

from slurm_scoreboard.core import ndjson, times
from slurm_scoreboard.ingest import records, states, tres, units
from slurm_scoreboard.ingest.parser import SacctParser

SAMPLE_VALUES = sorted({value for row in split_fields() for value in row if len(value) < 300})
needs_samples = pytest.mark.skipif(not SAMPLE_VALUES, reason="real sacct samples not found")


def outcome(function, *args):
    """The value, or the error's type and message."""
    try:
        return "value", function(*args)
    except Exception as err:            # the error is the outcome compared
        return type(err).__name__, str(err)


DIGITS = st.text("0123456789", min_size=0, max_size=33)
SIZES = st.one_of(
    st.tuples(DIGITS, st.sampled_from(["", "K", "M", "G", "T", "P", "k", "m", "g", "t", "p",
                                       "c", "n", "B", "KB", " ", "\u00df", "\uff2b"]))
    .map("".join),
    st.tuples(DIGITS, st.just("."), DIGITS, st.sampled_from(["", "K", "M", "G"])).map("".join),
    st.integers(0, 2 ** 70).map(str), st.sampled_from(["9007199254740992", "9007199254740993",
                                                       "8796093022208K", "8796093022209K",
                                                       "\u0663", "\u00b2", " 12M", "12M ", "0"]),
    st.text(max_size=8))
TEXT = st.text(max_size=40)


@settings(max_examples=3000, deadline=None)
@given(SIZES, st.sampled_from(["", "M", "m", "X"]))
def test_a_size_is_read_as_the_full_parser_reads_it(text, default_unit):
    assert outcome(units.parse_size, text, default_unit) == \
        outcome(units._parse_size, text, default_unit)


@needs_samples
@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(SAMPLE_VALUES or [""]), st.sampled_from(["", "M"]))
def test_sample_values_are_read_as_the_full_parsers_read_them(text, default_unit):
    assert outcome(units.parse_size, text, default_unit) == \
        outcome(units._parse_size, text, default_unit)
    assert outcome(units.parse_count, text) == outcome(units._parse_count, text)
    assert outcome(times.parse_sacct_time, text) == outcome(times._parse_sacct_time, text)
    assert outcome(records.parse_job_id, text) == outcome(records._parse_job_id, text)
    for memo in (units.reqmem_of, states.state_of, tres.gpus_of, tres.memory_of):
        want = outcome(memo.function, text)
        assert outcome(memo.__getitem__, text) == want == outcome(memo.__getitem__, text)


@settings(max_examples=2000, deadline=None)
@given(SIZES | DIGITS | st.sampled_from(["0.00K", "1.5M", "12K", "1e3", "-1", "+1"]))
def test_a_count_is_read_as_the_full_parser_reads_it(text):
    assert outcome(units.parse_count, text) == outcome(units._parse_count, text)


STAMPS = st.one_of(
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", fullmatch=True),
    st.from_regex(r"(19[6-9][0-9]|20[0-9]{2})-(0[0-9]|1[0-3])-[0-3][0-9]T([01][0-9]|2[0-5]):"
                  r"[0-6][0-9]:[0-6][0-9]", fullmatch=True),
    st.integers(0, 10 ** 12).map(str), st.text("0", max_size=12),
    st.sampled_from(["Unknown", "None", "", "2025-02-29T00:00:00", "2024-02-29T23:59:59",
                     "0000-01-01T00:00:00", "9999-12-31T23:59:59", "2025-08-01 12:00:00",
                     "2025-08-01T12:00:00Z", "\u0662025-08-01T12:00:00", "99999999999",
                     "100000000000", "1754006400", " 1754006400"]),
    st.text(max_size=20))


@settings(max_examples=4000, deadline=None)
@given(STAMPS)
def test_a_sacct_time_is_read_as_the_full_parser_reads_it(text):
    assert outcome(times.parse_sacct_time, text) == outcome(times._parse_sacct_time, text)


@settings(max_examples=300, deadline=None)
@given(STAMPS, st.sampled_from(["Europe/Berlin", "America/St_Johns", "UTC"]))
def test_a_zoned_sacct_time_is_read_as_the_full_parser_reads_it(text, zone):
    named = times.zone_named(zone)
    assert outcome(times.parse_sacct_time, text, named) == \
        outcome(times._parse_sacct_time, text, named)


JOB_IDS = st.one_of(
    st.from_regex(r"[0-9]{1,8}(_([0-9]{1,3}|\[[0-9%,-]{0,6}\]))?(\+[0-9])?(\.[a-z0-9.]{0,9})?",
                  fullmatch=True),
    st.tuples(st.text("0123456789\u0663", min_size=1, max_size=5),
              st.sampled_from(["", ".", ".batch", ".0", ".\n", ". x", ".\u00e9", "+0.1",
                               "_1", " ", ".batch\n"])).map("".join),
    st.text(max_size=12))


@settings(max_examples=3000, deadline=None)
@given(JOB_IDS)
def test_a_job_id_is_read_as_the_full_parser_reads_it(text):
    assert outcome(records.parse_job_id, text) == outcome(records._parse_job_id, text)


TRES = st.lists(st.sampled_from(["cpu=4", "mem=16G", "mem=1.5T", "mem=12", "node=1",
                                 "gres/gpu=2", "gres/gpu:a100=2", "gres/gpu:v100=1",
                                 "gres/gpumem=20500736K", "gres/gpu=", "gres/gpu=x", "=3",
                                 "billing=4", "", "mem=1e9G", "gres/gpu=99999999999999999999"]),
                max_size=6).map(",".join)
STATES = st.sampled_from(["COMPLETED", "CANCELLED by 1000", "CA", "OUT_OF_ME+", "COMPLETED+",
                          "completed", "EXPLODED", "", "R", "PENDING", " TIMEOUT "]) | TEXT
REQMEM = SIZES | st.tuples(SIZES, st.sampled_from(["c", "n", "Mc", "Gn"])).map("".join)


MEMOS = [(units.reqmem_of, REQMEM), (states.state_of, STATES), (tres.gpus_of, TRES),
         (tres.memory_of, TRES), (times._utc_hour_is_real, STAMPS.map(lambda t: t[:13])),
         (times._clock_is_real, STAMPS.map(lambda t: t[13:])),
         (times._hour_seconds, STAMPS.map(lambda t: t[:13])),
         (times._clock_seconds, STAMPS.map(lambda t: t[14:19])),
         (records._hour_starts, STAMPS.map(lambda t: t[:13])),
         (records._into_hours, STAMPS.map(lambda t: t[13:] + "Z")),
         (records._plain_clusters, TEXT | st.sampled_from(["hammer", ".", "..", "a/b", "x" * 64,
                                                           "x" * 65, "_ok", "-no"]))]


@settings(max_examples=3000, deadline=None)
@given(st.data())
def test_a_remembered_value_is_what_the_parser_gives_first_and_every_later_time(data):
    memo, text = data.draw(st.sampled_from(MEMOS).flatmap(
        lambda pair: st.tuples(st.just(pair[0]), pair[1])))
    want = outcome(memo.function, text)
    assert outcome(memo.__getitem__, text) == want
    assert outcome(memo.__getitem__, text) == want
    longer = text + " " * 300          # past what a cache keeps: parsed each time, not kept
    assert outcome(memo.__getitem__, longer) == outcome(memo.function, longer)
    assert longer not in memo and len(memo) <= memo.size


def test_a_full_cache_is_emptied_and_keeps_answering():
    from slurm_scoreboard.core.memo import Memo
    memo = Memo(len, size=3)
    assert [memo[text] for text in ("a", "bb", "ccc", "dddd", "a")] == [1, 2, 3, 4, 1]
    assert len(memo) <= 3
    days = times._day_named
    assert days[20300] == "2025-07-31" and days[20300] == times._name_day(20300)


def test_the_allocation_caches_give_what_the_tres_string_gives():
    for text in ("cpu=4,mem=16G,gres/gpu=2", "gres/gpu:a100=2,gres/gpu:v100=1", "mem=12"):
        alloc = tres.parse_tres(text)
        assert tres.allocated_gpus(text) == tres.gpu_count(alloc)
        assert tres.allocated_memory(text) == tres.memory_bytes(alloc)


# -- reading lines -------------------------------------------------------------------------------

def reference_lines(stream, limit):
    """The lines as readline reads them, bounded (the reader before line_blocks), without
    their newline."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line[:-1] if line.endswith(b"\n") else line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(limit)
        yield None


class Trickle(io.BytesIO):
    """A stream whose reads return at most a few bytes (a pipe written slowly)."""

    def __init__(self, data, sizes):
        super().__init__(data)
        self.sizes = sizes or [1]
        self.reads = 0

    def read1(self, size=-1):
        self.reads += 1
        return super().read1(min(size, self.sizes[self.reads % len(self.sizes)]))


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.binary(max_size=12) | st.sampled_from([b"\n", b"\r\n", b"\n\n", b"x" * 40]),
                max_size=30).map(b"".join),
       st.integers(1, 20), st.lists(st.integers(1, 50), max_size=5))
@example(b"abcde\nxy", 5, [2])          # a line of exactly the limit, come in pieces
@example(b"xy\nabcde", 5, [2])          # the last line, exactly the limit, with no newline
@example(b"abcdef\nxy", 5, [2])         # a byte over: None
def test_lines_read_a_block_at_a_time_are_the_lines_read_one_by_one(data, limit, sizes):
    want = list(reference_lines(io.BytesIO(data), limit))
    assert list(ndjson.bounded_lines(io.BytesIO(data), limit)) == want
    assert list(ndjson.bounded_lines(Trickle(data, sizes), limit)) == want
    blocks = list(ndjson.line_blocks(Trickle(data, sizes), limit))
    assert [line for block in blocks for line in block] == want


@needs_samples
@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_a_sample_read_as_a_stream_gives_what_its_lines_give(name):
    layout = LAYOUTS[name]
    with open(os.path.join(SAMPLES, name), "rb") as handle:
        data = handle.read()

    def parsed(source):
        problems = []
        parser = SacctParser(layout["fields"], layout["delimiter"], "",
                             lambda s, lineno, message: problems.append((lineno, message)),
                             latest="2999-01-01T00:00:00Z")
        try:
            return list(parser.parse(source, name)), problems, parser.stats.summary()
        except Exception as err:        # LayoutUnknown: the same stop either way
            return str(err), problems, parser.stats.summary()
    assert parsed(Trickle(data, [7, 300, 4096])) == parsed(lines_of(name))
    assert parsed(io.BytesIO(data)) == parsed(lines_of(name))



# -- writing records -------------------------------------------------------------------------------

class CountingStream(io.BytesIO):
    """A stream that counts the writes it is handed."""

    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, data):
        self.writes += 1
        return super().write(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300).map(lambda line: line.replace(b"\n", b"")) |
                st.just(b"x" * 70000), max_size=60), st.booleans())
def test_records_written_in_batches_are_the_records_written_one_by_one(lines, each):
    plain, batched = io.BytesIO(), CountingStream()
    one, batch = ndjson.Writer(plain, each), ndjson.BatchWriter(batched, each)
    for line in lines:
        one.write_line(line)
        batch.write_line(line + b"\n" if len(line) % 2 else line)
    if each:                            # --unbuffered: every record handed over at once
        assert batched.getvalue() == plain.getvalue()
    batch.flush()
    assert batched.getvalue() == plain.getvalue() and batch.count == one.count == len(lines)
    assert each or batched.writes <= len(plain.getvalue()) // ndjson.BatchWriter.BATCH + 1
    record = {"job_id": "1", "n": [1, 2]}
    one.write(record)
    batch.write(record)
    batch.flush()
    assert batched.getvalue() == plain.getvalue()
