"""Rules written twice, once in bash (pipelines/lib/common.sh) and once in Python (lib/), fed the
same good and bad inputs: both sides must agree (issue "Bash owns only the flow").

Each bash call is a subprocess, so every test batches its inputs into one bash run (a loop that
prints one verdict a line) and the property tests keep their example counts modest.
"""
import grp
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reduce_helpers import writers_group

from slurm_scoreboard import errors
from slurm_scoreboard.core import files, times
from slurm_scoreboard.core.names import check_name, safe_text
from slurm_scoreboard.poll import pollstatus

TOP = Path(__file__).resolve().parents[2]
PIPELINES = TOP / "pipelines"
COMMON = PIPELINES / "lib" / "common.sh"
LOCALES = ("C", "C.UTF-8")          # a pipeline runs in whatever locale its caller has
EXAMPLES = settings(max_examples=60, deadline=None)
# Text a bash argument can hold: anything but NUL (and lone surrogates, which no byte string is).
ARGUMENT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def nobody_group():
    """nobody's own group (nogroup on Debian)."""
    return grp.getgrgid(pwd.getpwnam("nobody").pw_gid)


def as_nobody(group=None, extra=None):
    """The command prefix that runs a command as nobody, with `group` (default: its own) as its
    group and `extra` as its only supplementary one."""
    groups = [f"--groups={extra}"] if extra else ["--clear-groups"]
    return ["setpriv", "--reuid=nobody", f"--regid={group or nobody_group().gr_name}", *groups]


AS_ANOTHER = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="running as another account needs root and setpriv")


def run_bash(script, *args, env=None, timeout=120, user=None):
    """`script` run by bash with common.sh sourced as a pipeline sources it (set -euo pipefail),
    as this account or as `user` (a prefix of as_nobody)."""
    full = f'set -euo pipefail\nhere="{PIPELINES}"\n. "{COMMON}"\n{script}'
    return subprocess.run([*(user or []), "bash", "-c", full, "sb-parity", *args],
                          capture_output=True, env=dict(os.environ, **(env or {})),
                          timeout=timeout)


def run_python(code, user, *args):
    """What `code` prints, run by this Python as `user` (a prefix of as_nobody)."""
    done = subprocess.run([*user, sys.executable, "-c", code, *args], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(TOP / "lib")),
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def open_tmp():
    """A temporary folder another account can reach (pytest's own are private to root)."""
    folder = tempfile.mkdtemp(prefix="sb-parity.")
    os.chmod(folder, 0o755)
    yield Path(folder)
    shutil.rmtree(folder)


def write_inputs(folder, values):
    """Each value in a file of its own, in the order a bash glob lists them."""
    for number, value in enumerate(values):
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        (Path(folder) / f"in.{number:06d}").write_bytes(data)


def bash_verdicts(checks, values):
    """For each value, one line holding, for each check and each locale, 1 when
    `check "$value"` succeeds in a subshell (so an sb_die stops only that check), else 0."""
    with tempfile.TemporaryDirectory() as folder:
        write_inputs(folder, values)
        script = f"""
        for file in "$1"/in.*; do
          [[ -e "$file" ]] || continue
          value="$(cat "$file"; printf x)"
          value="${{value%x}}"
          for check in {' '.join(f"'{check}'" for check in checks)}; do
            for locale in {' '.join(LOCALES)}; do
              if (LC_ALL="$locale"; $check "$value") > /dev/null 2>&1; then
                printf 1; else printf 0; fi
            done
          done
          printf '\\n'
        done"""
        done = run_bash(script, folder)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().splitlines()


def python_verdict(check, value):
    try:
        check(value)
    except ValueError:
        return "0"
    return "1"


def assert_same(pairs, values):
    """Each value is accepted by each bash check (in every locale) exactly when its Python
    counterpart accepts it; `pairs` maps bash checks to Python ones."""
    found = bash_verdicts(list(pairs), values)
    assert len(found) == len(values)
    for value, verdicts in zip(values, found):
        expected = "".join(python_verdict(check, value) * len(LOCALES) for check in pairs.values())
        assert verdicts == expected, (value, list(pairs), verdicts, expected)


# -- 1. names: sb_check_name and names.check_name ---------------------------------------------

NAME_EDGES = ["", ".", "..", "...", "a", "A", "0", "_", "-", "-a", "_a", ".a", "@a", "a.", "a@b",
              "a.b-c_d@e", "a" * 64, "a" * 65, "_" + "9" * 63, "a" * 63 + "é", "é", "ab\n",
              "\nab", "a\nb", "a b", "a ", " a", "a/b", "../x", "a\tb", "a\rb", "a\x7f",
              "a\x1b[2J", "Ａ", "１", "ı", "\u212a", "a\u0301", "a\u200b", "日本", "a*", "a?",
              "[a]", "a$", "$(id)", "`id`", "a;b", "a'b", 'a"b', "a\\b", "ß", "a\u00a0"]

PLAIN_CHARS = "abcXYZ0189_.@-"
NAME_LIKE = st.one_of(
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}", fullmatch=True),
    st.text(PLAIN_CHARS, min_size=60, max_size=68),
    st.builds(lambda head, bad, tail: head + bad + tail, st.text(PLAIN_CHARS, max_size=10),
              st.sampled_from(list("\n\t /\\'\"$*é\x7f\x01Ａ") + ["\u200b"]),
              st.text(PLAIN_CHARS, max_size=10)),
    st.text(ARGUMENT, max_size=70))


NAME_CHECKS = {"sb_check_name cluster": lambda value: check_name("cluster", value)}


def test_the_name_check_agrees_on_hand_picked_names():
    assert_same(NAME_CHECKS, NAME_EDGES)


@EXAMPLES
@given(st.lists(NAME_LIKE, min_size=1, max_size=40))
def test_the_name_check_agrees_on_any_name(values):
    assert_same(NAME_CHECKS, values)


def test_a_refused_name_is_a_usage_error_naming_it_on_both_sides():
    done = run_bash('sb_check_name user "$1"', "../etc")
    assert done.returncode == 2
    assert done.stderr.decode() == "sb-parity: refusing user name '../etc': not a plain name\n"
    with pytest.raises(ValueError, match="refusing user name '../etc': not a plain name"):
        check_name("user", "../etc")


# -- 2. times: sb_valid_time, sb_valid_day, sb_valid_month and times.py's parse_utc, parse_day,
# parse_month (what --status checks the cursor's and the poll status' fields with) ----------

TIME_CHECKS = {"sb_valid_time": times.parse_utc, "sb_valid_day": times.parse_day,
               "sb_valid_month": times.parse_month}
TIME_EDGES = [
    "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
    "2000-02-29T12:00:00Z", "2024-02-28T24:00:00Z", "2024-12-31T23:59:59Z",
    "2016-12-31T23:59:60Z", "2024-06-30T12:60:00Z", "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z", "2999-12-31T23:59:59Z", "3000-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-06-15T12:00:00", "2024-06-15 12:00:00Z",
    "2024-06-15t12:00:00z", "2024-06-15T12:00:00Z ", " 2024-06-15T12:00:00Z",
    "2024-06-15T12:00:00Z\n", "2024-06-15T12:00:00+00:00", "2024-06-15T12:00:00.5Z",
    "2024-6-15T12:00:00Z", "", "２０２４-06-15T12:00:00Z", "2024-06-15T1２:00:00Z",
    "-2024-06-15T12:00:00Z", "now", "2024-02-29", "2023-02-29", "2100-02-29", "2000-02-29",
    "1900-02-29", "2024-04-31", "2024-00-10", "2024-13-01", "2024-01-00", "2024-01-32",
    "1970-01-01", "1969-12-31", "2999-12-31", "3000-01-01", "0000-01-01", "2024-06-15 ",
    "2024-06-15\n", "20240615", "2024/06/15", "2024-06", "2024-6", "1970-01", "1969-12",
    "2999-12", "3000-01", "0000-01", "2024-00", "2024-13", "2024-06 ", "-2024-06",
    "2024-06-01T00:00:00Z", "١٩٧٠-01-01", "2024-W24", "2024-06\n", "2024-06-\n"]


def stamp(year, month, day, hour, minute, second):
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


YEARS = st.one_of(st.sampled_from([0, 1, 1900, 1969, 1970, 2000, 2024, 2100, 2999, 3000, 9999]),
                  st.integers(0, 9999))
STAMPS = st.builds(stamp, YEARS, st.integers(0, 13), st.integers(0, 32), st.integers(0, 25),
                   st.integers(0, 61), st.integers(0, 61))


@st.composite
def time_like(draw):
    """A stamp, or its day or month, now and then with one character changed, added or cut."""
    text = draw(STAMPS)
    text = text[:draw(st.sampled_from([len(text), 10, 7]))]
    if draw(st.booleans()):
        where = draw(st.integers(0, len(text)))
        change = draw(st.sampled_from(["", " ", "\n", "0", "9", "Z", "T", "-", ":", "٣", "x"]))
        text = text[:where] + change + text[where + draw(st.integers(0, 1)):]
    return text


def test_the_time_checks_agree_on_hand_picked_times():
    assert_same(TIME_CHECKS, TIME_EDGES)


@EXAMPLES
@given(st.lists(st.one_of(time_like(), st.text(ARGUMENT, max_size=24)), min_size=1, max_size=40))
def test_the_time_checks_agree_on_any_text(values):
    assert_same(TIME_CHECKS, values)


def test_the_step_poll_s_last_day_is_shown_when_sb_poll_would_use_it(tmp_path):
    """usage.json's "through": --status shows it only when it is a day sb_valid_day accepts."""
    days = [value for value in TIME_EDGES if len(value) <= 11]
    usage = tmp_path / "usage.json"
    accepted = bash_verdicts(["sb_valid_day"], days)
    for day, verdicts in zip(days, accepted):
        usage.write_bytes(orjson.dumps({"through": day}))
        assert (pollstatus.steps_through(str(usage)) == day) == (verdicts == "11"), day


# -- 3. the poll cursor: sb_cursor_check and pollstatus.read_cursor (what --status accepts) ---

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)
PINNED = {"SLURM_SB_NOW": "2025-06-15T12:00:00Z"}
GOOD_CURSOR = {"cluster": "hammer", "backfill_start": "2024-06-01", "backfill_next": "2025-06",
               "caught_up": True, "incremental_since": "2025-06-15T11:40:00Z",
               "updated": "2025-06-15T11:40:08Z"}


class Missing:
    """A field left out."""

    def __repr__(self):
        return "missing"


MISSING = Missing()
CURSOR_VALUES = {
    "backfill_start": ["2024-06-01", "2025-06-15", "2025-06-16", "1970-01-01", "1969-12-31",
                       "2024-02-29", "2023-02-29", "2025-13-01", "garbage", "", "null", 20240601,
                       None, True, "2024-06-01 ", "2024-6-01", MISSING],
    "backfill_next": ["2024-06", "2024-05", "2025-06", "2025-08", "2025-09", "2024-13", "1969-12",
                      "", "null", None, 202406, "2024-06-01", MISSING],
    "caught_up": [True, False, "true", "false", 1, 0, None, "yes", "null", MISSING],
    "incremental_since": ["2025-06-15T11:40:00Z", "2024-06-01T00:00:00Z", "2024-05-31T23:59:59Z",
                          "2030-01-01T00:00:00Z", "3000-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                          "2025-06-15T11:40:00", "2025-02-29T00:00:00Z", "", "null", None, 0,
                          False, MISSING],
}


def cursor_fields(changes):
    fields = {**GOOD_CURSOR, **changes}
    return {key: value for key, value in fields.items() if value is not MISSING}


def written(fields):
    """A cursor as sb_cursor_write writes it."""
    return orjson.dumps(fields) + b"\n"


# Bad and odd ways to write a cursor whose fields are good: (name, bytes)
CURSOR_FORMS = [
    ("written", written(GOOD_CURSOR)),
    ("no newline", written(GOOD_CURSOR)[:-1]),
    ("trailing newlines", written(GOOD_CURSOR) + b"\n\n"),
    ("CRLF", written(GOOD_CURSOR)[:-1] + b"\r\n"),
    ("spaces", json.dumps(GOOD_CURSOR).encode() + b"\n"),
    ("tabs", json.dumps(GOOD_CURSOR, separators=(",\t", ":\t")).encode()),
    ("leading space", b" " + written(GOOD_CURSOR)),
    ("trailing spaces", written(GOOD_CURSOR)[:-1] + b"  \n"),
    ("pretty", orjson.dumps(GOOD_CURSOR, option=orjson.OPT_INDENT_2)),
    ("two lines", written(GOOD_CURSOR) * 2),
    ("a second line", written(GOOD_CURSOR) + b"garbage\n"),
    ("truncated", written(GOOD_CURSOR)[:40]),
    ("truncated at the brace", written(GOOD_CURSOR)[:-2]),
    ("empty", b""),
    ("newline", b"\n"),
    ("null", b"null\n"),
    ("list", b"[]\n"),
    ("empty object", b"{}\n"),
    ("garbage", b"garbage\n"),
    ("NUL inside", written(GOOD_CURSOR)[:20] + b"\x00" + written(GOOD_CURSOR)[20:]),
    ("NUL after", written(GOOD_CURSOR)[:-1] + b"\x00\n"),
    ("BOM", b"\xef\xbb\xbf" + written(GOOD_CURSOR)),
    ("escaped digit", written(GOOD_CURSOR).replace(b"2024-06-01", b"2024-06-0\\u0031")),
    ("escaped slash", written(GOOD_CURSOR).replace(b'"hammer"', b'"ham\\/mer"')),
    ("extra field", written({**GOOD_CURSOR, "note": "hand-edited"})),
    ("extra number", written({**GOOD_CURSOR, "runs": 12, "ratio": -1.5e3})),
    ("extra huge number", written(GOOD_CURSOR)[:-2] + b',"x":1e999}\n'),
    ("extra object", written({**GOOD_CURSOR, "note": {"caught_up": "maybe"}})),
    ("extra list", written({**GOOD_CURSOR, "note": [1, 2]})),
    ("decoy inside an object", written({"x": {"caught_up": False}, **GOOD_CURSOR})),
    ("key given twice, same value", written(GOOD_CURSOR)[:-2] + b',"caught_up":true}\n'),
    ("key given twice", written(GOOD_CURSOR)[:-2] + b',"caught_up":false}\n'),
    ("string key given twice", written(GOOD_CURSOR)[:-2] + b',"backfill_start":null}\n'),
    ("non-ASCII text", written({**GOOD_CURSOR, "cluster": "hämmer"})),
    ("control character", written(GOOD_CURSOR).replace(b"hammer", b"ham\x1bmer")),
    ("keys in another order", written(dict(reversed(list(GOOD_CURSOR.items()))))),
    ("over 64 KiB", written({**GOOD_CURSOR, "note": "x" * 70000})),
    ("a key with its value on the next line", b'{"caught_up":\ntrue}\n'),
]


def cursor_cases():
    """(name, bytes): the cursor written well in odd ways, then each field wrong alone."""
    cases = list(CURSOR_FORMS)
    for key, values in CURSOR_VALUES.items():
        cases += [(f"{key}={value!r}", written(cursor_fields({key: value})))
                  for value in values]
    for caught in (True, False):
        for since in (None, MISSING):
            fields = cursor_fields({"caught_up": caught, "incremental_since": since})
            cases.append((f"caught_up {caught}, no incremental_since", written(fields)))
    return cases


def plant(state, data):
    """Put `data` where the cursor belongs: bytes, or a symlink, FIFO, folder, nothing."""
    state.mkdir(parents=True)
    cursor = state / "poll_cursor.json"
    if data == "symlink":
        (state / "elsewhere.json").write_bytes(written(GOOD_CURSOR))
        os.symlink(state / "elsewhere.json", cursor)
    elif data == "fifo":
        os.mkfifo(cursor)
    elif data == "folder":
        cursor.mkdir()
    elif data != "missing":
        cursor.write_bytes(data)
    return cursor


def bash_cursor_verdicts(root):
    """For each cluster folder: 0 when sb_cursor_check refuses its cursor, else 1 and the
    fields the pipelines then use (sb_cursor_get)."""
    script = """
    SB_ROOT="$1"
    for state in "$SB_ROOT"/clusters/*/state; do
      SB_CLUSTER="$(basename "$(dirname "$state")")"
      ( sb_cursor_check
        printf '1|%s|%s|%s|%s\\n' "$(sb_cursor_get backfill_start)" \\
          "$(sb_cursor_get backfill_next)" "$(sb_cursor_get caught_up)" \\
          "$(sb_cursor_get incremental_since)" ) 2> /dev/null ||
        echo 0
    done"""
    done = run_bash(script, str(root), env=PINNED, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().splitlines()


def python_cursor_verdict(path):
    try:
        cursor = pollstatus.read_cursor(str(path), NOW)
    except errors.Damaged:
        return "0"
    if cursor is None:
        return "1||||"
    since = cursor["incremental_since"]
    return "|".join(["1", cursor["backfill_start"], cursor["backfill_next"],
                     "true" if cursor["caught_up"] else "false",
                     times.to_iso(since) if since else ""])


def assert_same_cursors(cases):
    """Each cursor is refused by both sides, or accepted by both with the same fields."""
    with tempfile.TemporaryDirectory() as root:
        paths = [plant(Path(root) / "clusters" / f"c{number:04d}" / "state", data)
                 for number, (_, data) in enumerate(cases)]
        found = bash_cursor_verdicts(root)
        assert len(found) == len(cases)
        for (name, _), path, verdict in zip(cases, paths, found):
            assert verdict == python_cursor_verdict(path), (name, path.read_bytes()
                                                           if path.is_file() else None)
        return found


def test_the_cursor_checks_agree_on_each_field_wrong_alone_and_each_odd_form():
    cases = cursor_cases()
    cases += [(kind, kind) for kind in ("missing", "symlink", "fifo", "folder")]
    found = assert_same_cursors(cases)
    assert found[0] == "1|2024-06-01|2025-06|true|2025-06-15T11:40:00Z"      # as written
    assert 0 < found.count("0") < len(found) - 10


DAYS = st.dates(date(1969, 11, 1), date(2025, 9, 30)).map(date.isoformat)
INSTANTS = st.datetimes(datetime(1969, 12, 31), datetime(2025, 9, 1)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
ANY_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-9, 10**12),
                       st.text(ARGUMENT, max_size=12))
CURSOR_STRATEGIES = {
    "backfill_start": st.one_of(DAYS, st.sampled_from(CURSOR_VALUES["backfill_start"]), ANY_SCALAR),
    "backfill_next": st.one_of(DAYS.map(lambda day: day[:7]),
                               st.sampled_from(CURSOR_VALUES["backfill_next"]), ANY_SCALAR),
    "caught_up": st.sampled_from(CURSOR_VALUES["caught_up"]),
    "incremental_since": st.one_of(INSTANTS, st.sampled_from(CURSOR_VALUES["incremental_since"]),
                                   ANY_SCALAR),
}


@st.composite
def cursors(draw):
    """A cursor as the pipelines write it, some of its fields changed (most stay good, so each
    check is reached), now and then written in an odd form or cut short."""
    changes = {key: draw(strategy) for key, strategy in CURSOR_STRATEGIES.items()
               if draw(st.integers(0, 3)) == 0}
    fields = cursor_fields(changes)
    form = draw(st.sampled_from(["written"] * 6 + ["spaces", "extra", "twice", "cut", "moved"]))
    data = written(fields)
    if form == "spaces":
        data = json.dumps(fields).encode()
    elif form == "extra":
        data = written({**fields, draw(st.text("abc_", max_size=4)): draw(ANY_SCALAR)})
    elif form == "twice":
        key = draw(st.sampled_from(sorted(fields)))
        data = data[:-2] + b"," + orjson.dumps({key: draw(ANY_SCALAR)})[1:] + b"\n"
    elif form == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    elif form == "moved":
        data = written(dict(draw(st.permutations(list(fields.items())))))
    return data


@EXAMPLES
@given(st.lists(cursors(), min_size=1, max_size=20))
def test_the_cursor_checks_agree_on_any_cursor(given_cursors):
    assert_same_cursors([(f"generated {number}", data)
                         for number, data in enumerate(given_cursors)])


# -- 4. the last error a poll carries over: sb_carried_error and pollstatus.read_poll ---------

def status_written(last_error: bytes) -> bytes:
    """poll_status.json as sb-poll's write_status writes it, with this last_error."""
    return (b'{"cluster":"hammer","host":"node1","started":"2025-06-15T11:50:00Z",'
            b'"progress":null,"ended":"2025-06-15T11:50:09Z","running":false,"ok":false,'
            b'"exit":1,"last_success":"2025-06-15T11:40:08Z","last_error":' + last_error
            + b',"steps":[{"step":"incremental","ok":false,"exit":1,"seconds":600.2}]}\n')


GOOD_ERROR = {"at": "2025-06-15T11:50:09Z", "step": "sb-incremental",
              "message": "sb-sacct: sacct timed out after 600 s"}
ERROR_VALUES = {
    "at": ["2025-06-15T11:50:09Z", "2025-99-99T99:99:99Z", "2025-02-29T00:00:00Z",
           "3000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2025-06-15T11:50:09", "", None, 17,
           MISSING],
    "step": ["sb-incremental", "the cursor check", "the step poll", "the catch-up", "a",
             "a" * 40, "a" * 41, " -", "-a", "A", "1a", "a_b", "../../x", "", "sb-incremental ",
             "é", None, 5, MISSING],
    "message": ["", "x" * 300, "x" * 301, 'say "hi"', "back\\slash", "\x1b[2J", "tab\there",
                "a\nb", "é", "}", '"}', "~", "\x7f", "{cluster=x}", None, 3, MISSING],
}


def error_fields(changes):
    fields = {**GOOD_ERROR, **changes}
    return {key: value for key, value in fields.items() if value is not MISSING}


def bash_carried(statuses):
    """What sb-poll carries over from each previous status file: the JSON of its last_error."""
    with tempfile.TemporaryDirectory() as folder:
        write_inputs(folder, statuses)
        script = """
        for file in "$1"/in.*; do
          previous="$(sb_read "$file" 65536 | tr -d '\\000')"
          printf '%s\\n' "$(sb_carried_error "$previous")"
        done"""
        done = run_bash(script, folder)
    assert done.returncode == 0, done.stderr
    return [orjson.loads(line) for line in done.stdout.splitlines()]


def python_last_error(status: bytes):
    """The last_error --status shows from this status file, None when none (or damaged)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "poll_status.json"
        path.write_bytes(status)
        try:
            error = pollstatus.read_poll(str(path))["last_error"]
        except errors.Damaged:
            return None
    return error and {**error, "at": times.to_iso(error["at"])}


def assert_same_errors(errors_written):
    """sb-poll carries a last_error over exactly when --status accepts it, with the same
    fields."""
    statuses = [status_written(error) for error in errors_written]
    found = bash_carried(statuses)
    for error, carried in zip(errors_written, found):
        assert carried == python_last_error(status_written(error)), error
    return found


def test_the_last_error_checks_agree_on_each_field_wrong_alone():
    errors_written = [b"null", b'"boom"', b"[]", b"17", b"true", b"{}",
                      orjson.dumps({**GOOD_ERROR, "extra": 1}),
                      orjson.dumps({"extra": 1, **GOOD_ERROR})]
    for key, values in ERROR_VALUES.items():
        errors_written += [orjson.dumps(error_fields({key: value})) for value in values]
    found = assert_same_errors(errors_written)
    assert found[8] == GOOD_ERROR and found.count(None) < len(found) - 10
    oversized = status_written(orjson.dumps(GOOD_ERROR))[:-2] + b',"x":"' + b"x" * 70000 + b'"}'
    assert bash_carried([oversized]) == [None] and python_last_error(oversized) is None


ERROR_OBJECTS = st.builds(
    lambda at, step, message: {"at": at, "step": step, "message": message},
    st.one_of(INSTANTS, st.sampled_from(ERROR_VALUES["at"][:-1])),
    st.one_of(st.from_regex(r"[a-z][a-z -]{0,41}", fullmatch=True),
              st.sampled_from(ERROR_VALUES["step"][:-1])),
    st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=302),
              st.text(max_size=40)))
LAST_ERRORS = st.one_of(ERROR_OBJECTS, ERROR_OBJECTS, st.none(), ANY_SCALAR)


@EXAMPLES
@given(st.lists(LAST_ERRORS, min_size=1, max_size=30))
def test_the_last_error_checks_agree_on_any_last_error(errors_written):
    assert_same_errors([orjson.dumps(error) for error in errors_written])


def odd_statuses(error):
    """A status file holding `error` written by someone else than sb-poll: its keys in another
    order, spaced, on many lines, or behind a decoy of another error."""
    decoy = dict(GOOD_ERROR, message="a decoy")
    good = status_written(orjson.dumps(error))
    return [status_written(orjson.dumps(dict(reversed(list(error.items()))))),
            status_written(json.dumps(error).encode()),
            orjson.dumps(orjson.loads(good), option=orjson.OPT_INDENT_2),
            b'{"decoy":{"last_error":' + orjson.dumps(decoy) + b"}," + good[1:],
            good[:-2] + b',"last_error":' + orjson.dumps(decoy) + b"}\n"]


@EXAMPLES
@given(st.lists(ERROR_OBJECTS, min_size=1, max_size=4))
def test_whatever_a_poll_carries_over_from_an_odd_file_status_accepts(errors_given):
    """Written by another writer, a status file may show sb-poll something --status reads
    differently (or not at all); what sb-poll carries over into the file it writes, --status
    still accepts as it is."""
    statuses = [status for error in errors_given for status in odd_statuses(error)]
    for carried in bash_carried(statuses):
        if carried is not None:
            assert python_last_error(status_written(orjson.dumps(carried))) == carried


# -- 5. plain text: sb_plain_text (messages into JSON and onto a terminal) and names.safe_text
# (untrusted text onto a terminal). The contracts differ where they should: safe_text keeps
# printable Unicode, quotes and backslashes, escapes the rest and cuts at its limit with "...";
# sb_plain_text keeps only printable ASCII without quotes or backslashes, a space for any other
# byte, at most 300 bytes, no trailing spaces. Both leave no control character; on printable
# ASCII without quotes or backslashes they agree on what is shown and where. -----------------

PLAIN_EDGES = [b"", b" ", b"   ", b"abc   ", b"\n", b"line\n", b"a\x00b", b"\x1b[2J", b'say "hi"',
               b"back\\slash", "é".encode(), b"\xff\xfe", b"x" * 300, b"x" * 301,
               b"x" * 299 + "é".encode(), b"x" * 299 + b" y", b"\t\r\n", b"\x7f",
               "\u2028".encode(), "\x85".encode(), b"sb-probe: no cluster 'x\x1b]0;owned\x07'",
               b"a" * 100_000, b"\n" * 70_000 + b"end"]
PLAIN_LIMIT = 300
PLAIN_BYTES = re.compile(rb"[ !#-\[\]-~]*")        # printable ASCII but quotes and backslashes
ESCAPE = re.compile(r"\\(?:x[0-9a-f]{2}|[tnr])")     # how safe_text shows an ASCII control


def bash_plain(texts):
    """sb_plain_text of each text, as sb-poll runs it (set -euo pipefail, any length)."""
    with tempfile.TemporaryDirectory() as folder:
        write_inputs(folder, texts)
        script = """
        for file in "$1"/in.*; do
          sb_plain_text < "$file"
          printf '\\0'
        done"""
        done = run_bash(script, folder)
    assert done.returncode == 0, done.stderr
    return done.stdout.split(b"\0")[:-1]


def assert_both_plain(texts):
    """Neither side lets a control character through; sb_plain_text keeps to its alphabet and
    length; on ASCII without quotes or backslashes, both show the same characters in the same
    places (a space of sb_plain_text for each escape of safe_text)."""
    for text, plain in zip(texts, bash_plain(texts)):
        shown = safe_text(text.decode("utf-8", "surrogateescape"), PLAIN_LIMIT)
        assert shown.isprintable(), text
        assert len(plain) <= PLAIN_LIMIT and PLAIN_BYTES.fullmatch(plain), (text, plain)
        assert not plain.endswith(b" ")
        if not re.search(rb'[^\x00-\x7f]|["\\]', text):
            if len(text) > PLAIN_LIMIT:
                shown = shown[:-3]
            assert ESCAPE.sub(" ", shown).rstrip(" ") == plain.decode(), text


def test_plain_text_on_hand_picked_text():
    assert_both_plain(PLAIN_EDGES)


@EXAMPLES
@given(st.lists(st.one_of(st.binary(max_size=400),
                          st.text(st.characters(max_codepoint=127), max_size=400).map(str.encode),
                          st.text(max_size=120).map(str.encode)), min_size=1, max_size=30))
def test_plain_text_on_any_text(texts):
    assert_both_plain(texts)


def test_a_step_s_huge_last_line_still_becomes_its_message():
    """sb-poll keeps a failed step's last line on stderr through sb_plain_text; a line longer
    than a pipe holds must not stop the poll (SIGPIPE under pipefail) before its status is
    written."""
    with tempfile.TemporaryDirectory() as folder:
        err = Path(folder) / "err"
        err.write_bytes(b"x" * 1_000_000 + b"\n")
        done = run_bash('message="$(tail -n 1 "$1" | sb_plain_text)"; printf %s "$message"',
                        str(err))
    assert done.returncode == 0 and done.stdout == b"x" * PLAIN_LIMIT


# -- 6. the writer check: sb_require_writer and sharing.load + check_writer + modes ----------

def sharing_cases():
    """(name, sharing.json: bytes, or a special file, or None for none)."""
    group = writers_group()[0]
    gid = grp.getgrnam(group).gr_gid

    def config(**fields):
        return orjson.dumps(fields, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)

    return [
        ("none", None),
        ("single owner", config(mode="owner", readers="all")),
        ("single owner, group readers", config(mode="owner", readers="group")),
        ("single owner, no readers", config(mode="owner")),
        ("group", config(mode="group", readers="all", group=group)),
        ("group, group readers", config(mode="group", readers="group", group=group)),
        ("group, one line", orjson.dumps({"mode": "group", "group": group})),
        ("group, key and value on two lines", f'{{"mode":\n"group","group":\n"{group}"}}'.encode()),
        ("no such group", config(mode="group", group="no-such-group-sb")),
        ("group by number", config(mode="group", group=str(gid))),
        ("group as a number", config(mode="group", group=gid)),
        ("group 0", config(mode="group", group="0")),
        ("group null", config(mode="group", group=None)),
        ("group empty", config(mode="group", group="")),
        ("group missing", config(mode="group")),
        ("group with a space", config(mode="group", group=f"{group} ")),
        ("group with a colon", config(mode="group", group=f"{group}:x")),
        ("mode missing", config(readers="all")),
        ("mode garbage", config(mode="everyone")),
        ("mode null", config(mode=None)),
        ("mode number", config(mode=1)),
        ("mode uppercase", config(mode="OWNER")),
        ("readers world", config(mode="owner", readers="world")),
        ("readers empty", config(mode="owner", readers="")),
        ("readers null", config(mode="owner", readers=None)),
        ("readers in group mode", config(mode="group", group=group, readers="nobody")),
        ("empty object", b"{}\n"),
        ("empty file", b""),
        ("garbage", b"not json\n"),
        ("truncated", config(mode="group", group=group)[:20]),
        ("list", b'["owner"]\n'),
        ("nested", orjson.dumps({"mode": "owner", "extra": {"mode": "group"}})),
        ("escaped", b'{"mode": "own\\u0065r"}\n'),
        ("mode given twice", b'{"mode": "group", "mode": "owner"}\n'),
        ("readers given twice", b'{"mode": "owner", "readers": "group", "readers": "all"}\n'),
        ("NUL", b'{"mode": "owner"}\x00\n'),
        ("over 64 KiB", config(mode="owner", note="x" * 70000)),
        ("symlink", "symlink"), ("fifo", "fifo"), ("folder", "folder"),
    ]


def make_root(folder, content):
    root = Path(folder)
    (root / "config").mkdir(parents=True)
    path = root / "config" / "sharing.json"
    if content == "symlink":
        (root / "elsewhere.json").write_bytes(b'{"mode": "owner"}\n')
        os.symlink(root / "elsewhere.json", path)
    elif content == "fifo":
        os.mkfifo(path)
    elif content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return str(root)


def bash_writer_verdicts(roots, user=None):
    """For each root: 0 when sb_require_writer refuses it, else 1 and the modes of what the
    pipeline then creates (from the umask it set, whatever the caller's): file, folder, lock."""
    script = """
    for root in "$@"; do
      ( SB_ROOT="$root"
        umask 0077
        sb_require_writer > /dev/null 2>&1
        mask="$(umask)"
        printf '1 %o %o %o\\n' $(( 0666 & ~mask )) $(( 0777 & ~mask )) $(( 0666 & ~SB_LOCK_UMASK ))
      ) || echo 0
    done"""
    done = run_bash(script, *roots, user=user)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().splitlines()


WRITER_CHECK = """
import sys
from slurm_scoreboard import errors
from slurm_scoreboard.core import sharing

def verdict(root):
    try:
        mode = sharing.load(root)
        sharing.check_writer(root, mode)
    except (errors.ToolError, OSError):
        return "0"
    modes = mode.modes()
    return f"1 {modes.file:o} {modes.folder & 0o777:o} {modes.lock:o}"

for root in sys.argv[1:]:
    print(verdict(root))
"""


def python_writer_verdicts(roots, user=None):
    """The same, by sharing.load, check_writer and modes (as cli.open_root does for a tool)."""
    return run_python(WRITER_CHECK, user or [], *roots).splitlines()


def test_the_writer_checks_agree_on_every_sharing_config(tmp_path):
    cases = sharing_cases()
    roots = [make_root(tmp_path / f"root{number}", content)
             for number, (_, content) in enumerate(cases)]
    found, expected = bash_writer_verdicts(roots), python_writer_verdicts(roots)
    assert len(found) == len(cases)
    for (name, _), bash, python in zip(cases, found, expected):
        assert bash == python, name
    accepted = {name for (name, _), verdict in zip(cases, found) if verdict != "0"}
    assert {"none", "single owner", "group", "group, group readers"} <= accepted


@AS_ANOTHER
def test_the_writer_checks_agree_for_an_account_that_is_not_root(open_tmp):
    group, own = writers_group()[0], nobody_group()
    cases = [("root's root", orjson.dumps({"mode": "owner"}), None),
             ("nobody's root", orjson.dumps({"mode": "owner"}), "nobody"),
             ("nobody's root, no config", None, "nobody"),
             ("a group nobody is not in", orjson.dumps({"mode": "group", "group": group}), None),
             ("nobody's group", orjson.dumps({"mode": "group", "group": own.gr_name}), None),
             ("nobody's group by number", orjson.dumps({"mode": "group", "group": str(own.gr_gid)}),
              None),
             ("a symlink (root's) to nobody's root", orjson.dumps({"mode": "owner"}), "nobody")]
    roots = []
    for number, (_, content, owner) in enumerate(cases):
        roots.append(make_root(open_tmp / f"root{number}", content))
        if owner:
            shutil.chown(roots[-1], owner)
    os.symlink(roots[-1], open_tmp / "link")
    roots[-1] = str(open_tmp / "link")
    for account in (as_nobody(), as_nobody(group=group), as_nobody(extra=group)):
        found = bash_writer_verdicts(roots, account)
        assert found == python_writer_verdicts(roots, account), account
        assert found[0] == "0" and found[1] != "0"


# -- 7. safe reads: sb_read and files.read_bytes ----------------------------------------------

READ_LIMIT = 16 << 20           # sb_read's default, given to read_bytes explicitly


def bash_reads(cases, user=None):
    """What sb_read prints for each (path, limit or None) case."""
    with tempfile.TemporaryDirectory() as out:
        os.chmod(out, 0o777)
        args = [arg for path, limit in cases for arg in (str(path), str(limit or ""))]
        script = """
        out="$1"; shift
        number=0
        while (( $# )); do
          sb_read "$1" ${2:+"$2"} > "$out/out.$number"
          shift 2
          number=$(( number + 1 ))
        done"""
        done = run_bash(script, out, *args, timeout=60, user=user)
        assert done.returncode == 0, done.stderr
        return [(Path(out) / f"out.{number}").read_bytes() for number in range(len(cases))]


def python_read(path, limit):
    """read_bytes' bytes, or None when it refuses the file (or finds none)."""
    try:
        return files.read_bytes(str(path), limit or READ_LIMIT)
    except (OSError, ValueError, errors.UnsafePath):
        return None


def assert_same_reads(cases, user=None):
    for (path, limit), printed in zip(cases, bash_reads(cases, user)):
        read = python_read(path, limit)
        assert printed == (read or b""), (path, limit, len(printed), read and len(read))


def special_files(folder):
    """(path, limit) cases: what a writer of a shared root could plant where a state file is."""
    folder = Path(folder)
    (folder / "text").write_bytes(b'{"through":"2025-06-14"}\n')
    (folder / "binary").write_bytes(bytes(range(256)) * 3)
    (folder / "empty").write_bytes(b"")
    os.symlink(folder / "text", folder / "symlink")
    os.symlink(folder / "nowhere", folder / "dangling")
    os.mkfifo(folder / "fifo")
    os.symlink(folder / "fifo", folder / "symlink-to-fifo")
    (folder / "folder").mkdir()
    for name, size in (("16MiB", READ_LIMIT), ("16MiB+1", READ_LIMIT + 1),
                       ("64KiB", 1 << 16), ("64KiB+1", (1 << 16) + 1)):
        with open(folder / name, "wb") as handle:
            handle.truncate(size)
    cases = [(folder / name, None) for name in (
        "missing", "text", "binary", "empty", "symlink", "dangling", "fifo", "symlink-to-fifo",
        "folder", "16MiB", "16MiB+1")]
    cases += [(folder / "64KiB", 1 << 16), (folder / "64KiB+1", 1 << 16),
              (folder / "text", 25), (folder / "text", 24), (folder / "empty", 0)]
    try:
        os.mknod(folder / "zero", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
        cases.append((folder / "zero", None))
    except PermissionError:
        pass                                # no device node in this container: that case only
    return cases


def test_safe_reads_agree_on_what_another_writer_could_plant(tmp_path):
    assert_same_reads(special_files(tmp_path))


@AS_ANOTHER
def test_a_file_this_account_cannot_read_is_nothing_on_both_sides(open_tmp):
    secret = open_tmp / "secret"
    secret.write_bytes(b"{}\n")
    secret.chmod(0o600)
    nobody = as_nobody()
    assert bash_reads([(secret, None)], nobody) == [b""]
    assert run_python(f"""
from slurm_scoreboard.core import files
try:
    files.read_bytes({str(secret)!r})
except PermissionError:
    print("refused")""", nobody) == "refused\n"


@EXAMPLES
@given(st.lists(st.tuples(st.binary(max_size=300), st.one_of(st.none(), st.integers(0, 310))),
                min_size=1, max_size=15))
def test_safe_reads_agree_on_any_content_and_limit(contents):
    with tempfile.TemporaryDirectory() as folder:
        cases = []
        for number, (data, limit) in enumerate(contents):
            path = Path(folder) / f"file{number}"
            path.write_bytes(data)
            cases.append((path, limit))
        assert_same_reads(cases)
