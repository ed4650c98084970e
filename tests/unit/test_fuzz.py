"""Hostile input never ends in a traceback.

1. A mutation fuzz over the real sacct text in ../shared/sacct-samples: at least 100,000 mutated
   lines (truncation, fields inserted, dropped and swapped, huge and negative numbers, bad dates,
   binary and invalid UTF-8), each file read with its own columns. The parser must report or
   skip every bad line and never raise; every record it gives passes records.check.
2. Any JSON values fed to sb-dedupe and sb-reduce (hypothesis): exit 0, every record they pass
   on or store is valid, and sb-rank then reads the store.

The mutations are seeded: a failure prints the seed, and SB_FUZZ_SEED=N replays it."""
import io
import json
import os
import random
import sys

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reduce_helpers import job
from test_samples import NEGATIVE, WITH_USERS, WITHOUT_USERS

from slurm_scoreboard.errors import LayoutUnknown
from slurm_scoreboard.ingest import fields
from slurm_scoreboard.ingest.parser import SacctParser
from slurm_scoreboard.ingest.records import check

SEED = int(os.environ.get("SB_FUZZ_SEED") or random.SystemRandom().randrange(10 ** 6))
LATEST = "2100-01-01T00:00:00Z"
MUTATED_LINES = 100_000

POISON = [b"99999999999999999999", b"-1", b"-99999", b"18446744073709551615", b"1e400K", b"inf",
          b"nan", b"NaN", b"9999-12-31T23:59:59", b"0000-00-00T00:00:00", b"2025-02-30T25:61:61",
          b"1969-12-31T23:59:59", b"Unknown", b"", b"\xff\xfe\x00", b"\x1b[31m", b"\xc3\x28",
          b"gres/gpu=-4", b"gres/gpu=99999999999999999999", b"cpu=4,mem=1e999G", b"1-99:99:99",
          b"CANCELLED by -1", b"COMPLETED+", b"123_[1-5%2]", b"1+0.batch", b"+", b".", b"_",
          b"4294967294", b"\x00" * 3, "\u2603".encode(), b"^|^", b"|||", b"2T", b"0.00K"]


def mutate(line: bytes, delimiter: bytes, rng: random.Random) -> bytes:
    fields_ = line.split(delimiter)
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(8)
        index = rng.randrange(len(fields_))
        if choice == 0:
            fields_[index] = rng.choice(POISON)
        elif choice == 1:
            fields_.insert(index, rng.choice(POISON))
        elif choice == 2 and len(fields_) > 1:
            del fields_[index]
        elif choice == 3:
            other = rng.randrange(len(fields_))
            fields_[index], fields_[other] = fields_[other], fields_[index]
        elif choice == 4:
            fields_[index] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
        elif choice == 5:
            fields_[index] = str(rng.choice([-1, 10 ** rng.randint(1, 25)])).encode()
        elif choice == 6:
            joined = delimiter.join(fields_)
            return joined[:rng.randrange(len(joined) + 1)]
        else:
            fields_[index] = fields_[index] + fields_[index]
    return delimiter.join(fields_)


def sample_options():
    options = {}
    options.update({name: opts for name, (opts, *_rest) in WITH_USERS.items()})
    options.update(WITHOUT_USERS)
    options.update(NEGATIVE)
    return options


def parser_for(opts, problems):
    columns = (fields.parse_field_list(opts["fields"]) if opts.get("fields")
               else fields.preset(opts["preset"]) if opts.get("preset") else None)
    return SacctParser(columns, opts.get("delimiter"), "fuzz",
                       lambda source, lineno, message: problems.append(message), latest=LATEST)


def test_a_hundred_thousand_mutated_sacct_lines_give_records_or_reasons(samples_dir):
    rng = random.Random(SEED)
    files = []
    for name, opts in sorted(sample_options().items()):
        with open(os.path.join(samples_dir, name), "rb") as handle:
            lines = handle.read().splitlines()
        delimiter = (opts.get("delimiter") or ("\u2603" if "\u2603".encode() in lines[0] else "|"))
        files.append((name, opts, lines, delimiter.encode()))
    mutated = records = problems_seen = stopped = 0
    while mutated < MUTATED_LINES:
        name, opts, lines, delimiter = rng.choice(files)
        start = rng.randrange(max(1, len(lines) - 200))
        chunk = lines[:1] + lines[max(1, start):start + 200]
        fed = []
        for position, line in enumerate(chunk):
            if position > 0 or rng.random() < 0.2:
                line = mutate(line, delimiter, rng)
                mutated += 1
            fed.append(line + b"\n")
        problems = []
        parser = parser_for(opts, problems)
        try:
            for record in parser.parse(iter(fed), name):
                check(record, LATEST)
                orjson.dumps(record)
                records += 1
        except LayoutUnknown:
            stopped += 1
        except Exception as err:                       # pragma: no cover - the failure report
            pytest.fail(f"SB_FUZZ_SEED={SEED}: {name}: {type(err).__name__}: {err}")
        problems_seen += len(problems)
    assert mutated >= MUTATED_LINES and records > 1000 and problems_seen > 1000, (records,
                                                                                  problems_seen)


def test_mutated_sacct_text_through_the_whole_pipe_ends_without_a_traceback(samples_dir, tmp_path):
    """The tools as processes: 3,000 mutated lines of an XDMoD log through parse | dedupe |
    reduce, then sb-rank."""
    import subprocess

    from reduce_helpers import ENV
    rng = random.Random(SEED)
    with open(os.path.join(samples_dir, "xdmod__referencedata_pozidriv.txt"), "rb") as handle:
        lines = handle.read().splitlines()[:3000]
    raw = tmp_path / "mutated.log"
    raw.write_bytes(b"".join(mutate(line, b"|", rng) + b"\n" if rng.random() < 0.6 else line + b"\n"
                             for line in lines))
    root = tmp_path / "root"
    root.mkdir()
    module = f"{sys.executable} -m slurm_scoreboard_tools"
    done = subprocess.run(
        f"set -o pipefail; {module}.sb_parse --format xdmod --cluster fuzz {raw} "
        f"| {module}.sb_dedupe --root {root} | {module}.sb_reduce --root {root} "
        f"&& {module}.sb_rank --root {root}", shell=True, executable="/bin/bash",
        capture_output=True, env=ENV)
    assert done.returncode == 0, (SEED, done.stderr[-2000:])
    assert b"Traceback" not in done.stderr


# -- any JSON into sb-dedupe and sb-reduce --------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
    | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                      children, max_size=3),
    max_leaves=8)
FIELDS = sorted(job(1, "u", "2025-08-01T00:00:00Z"))


def json_bytes(value) -> bytes:
    """The stdlib's JSON, which writes integers of any size and Infinity, as hostile input may."""
    return json.dumps(value).encode()


RECORDS = st.builds(
    lambda n, user, changes: dict(job(n, user, f"2025-08-{1 + n % 28:02d}T00:00:00Z"), **changes),
    st.integers(min_value=0, max_value=50), st.sampled_from(["ann", "bob", "../x", "\x1b"]),
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=2))
LINES = st.lists(st.one_of(RECORDS.map(json_bytes), JSON.map(json_bytes), st.binary(max_size=20)),
                 max_size=12)


def run_tool(main, argv, data: bytes):
    """Run a tool's main in this process with `data` as stdin; (exit code, stdout bytes)."""
    stdin, stdout = sys.stdin, sys.stdout
    sys.stdin = io.TextIOWrapper(io.BytesIO(data))
    sys.stdout = io.TextIOWrapper(io.BytesIO())
    try:
        code = main(argv)
        sys.stdout.flush()
        return code, sys.stdout.buffer.getvalue()
    finally:
        sys.stdin, sys.stdout = stdin, stdout


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LINES)
def test_any_json_into_dedupe_and_reduce_is_counted_or_skipped(tmp_path_factory, lines):
    from slurm_scoreboard_tools import sb_dedupe, sb_rank, sb_reduce
    root = str(tmp_path_factory.mktemp("root"))
    data = b"\n".join(lines) + b"\n"
    code, out = run_tool(sb_dedupe.main, ["--root", root, "--cluster", "hammer", "-q"], data)
    assert code == 0
    for line in out.splitlines():
        check(orjson.loads(line), LATEST)
    code, out = run_tool(sb_reduce.main, ["--root", root, "--cluster", "hammer", "-q"], data)
    assert code == 0
    stats = orjson.loads(out)
    assert stats["processed"] >= stats["new_jobs"] >= 0
    code, _ = run_tool(sb_rank.main, ["--root", root, "--now", "2025-09-01T00:00:00Z"], b"")
    assert code == 0
