"""Rules written twice, once in bash (pipelines/lib/common.sh) and once in Python (lib/), fed the
same good and bad inputs: both sides must agree (issue "Bash owns only the flow").

Each bash call is a subprocess, so every test batches its inputs into one bash run (a loop that
prints one verdict a line) and the property tests keep their example counts modest.
"""
import os
import subprocess
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slurm_scoreboard.core import times
from slurm_scoreboard.core.names import check_name
from slurm_scoreboard.poll import pollstatus

TOP = Path(__file__).resolve().parents[2]
PIPELINES = TOP / "pipelines"
COMMON = PIPELINES / "lib" / "common.sh"
LOCALES = ("C", "C.UTF-8")          # a pipeline runs in whatever locale its caller has
EXAMPLES = settings(max_examples=60, deadline=None)
# Text a bash argument can hold: anything but NUL (and lone surrogates, which no byte string is).
ARGUMENT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def run_bash(script, *args, env=None, timeout=120):
    """`script` run by bash with common.sh sourced as a pipeline sources it (set -euo pipefail)."""
    full = f'set -euo pipefail\nhere="{PIPELINES}"\n. "{COMMON}"\n{script}'
    return subprocess.run(["bash", "-c", full, "sb-parity", *args], capture_output=True,
                          env=dict(os.environ, **(env or {})), timeout=timeout)


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
    "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2000-02-29T12:00:00Z",
    "2024-02-28T24:00:00Z", "2024-12-31T23:59:59Z", "2016-12-31T23:59:60Z", "2024-06-30T12:60:00Z",
    "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2999-12-31T23:59:59Z", "3000-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-06-15T12:00:00", "2024-06-15 12:00:00Z",
    "2024-06-15t12:00:00z", "2024-06-15T12:00:00Z ", " 2024-06-15T12:00:00Z", "2024-06-15T12:00:00Z\n",
    "2024-06-15T12:00:00+00:00", "2024-06-15T12:00:00.5Z", "2024-6-15T12:00:00Z", "",
    "２０２４-06-15T12:00:00Z", "2024-06-15T1２:00:00Z", "-2024-06-15T12:00:00Z", "now",
    "2024-02-29", "2023-02-29", "2100-02-29", "2000-02-29", "1900-02-29", "2024-04-31", "2024-00-10",
    "2024-13-01", "2024-01-00", "2024-01-32", "1970-01-01", "1969-12-31", "2999-12-31", "3000-01-01",
    "0000-01-01", "2024-06-15 ", "2024-06-15\n", "20240615", "2024/06/15", "2024-06", "2024-6",
    "1970-01", "1969-12", "2999-12", "3000-01", "0000-01", "2024-00", "2024-13", "2024-06 ",
    "-2024-06", "2024-06-01T00:00:00Z", "١٩٧٠-01-01", "2024-W24", "2024-06\n", "2024-06-\n"]


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
