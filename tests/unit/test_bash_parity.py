"""Rules written twice, once in bash (pipelines/lib/common.sh) and once in Python (lib/), fed the
same good and bad inputs: both sides must agree (issue "Bash owns only the flow").

Each bash call is a subprocess, so every test batches its inputs into one bash run (a loop that
prints one verdict a line) and the property tests keep their example counts modest.
"""
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from slurm_scoreboard.core import times
from slurm_scoreboard.core.names import check_name

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


def bash_verdicts(check, values):
    """For each value, one line holding, for each locale, 1 when `check "$value"` succeeds in
    a subshell (so an sb_die stops only that check), else 0."""
    with tempfile.TemporaryDirectory() as folder:
        write_inputs(folder, values)
        script = f"""
        for file in "$1"/in.*; do
          [[ -e "$file" ]] || continue
          value="$(cat "$file"; printf x)"
          value="${{value%x}}"
          for locale in {' '.join(LOCALES)}; do
            if (LC_ALL="$locale"; {check} "$value") > /dev/null 2>&1; then
              printf 1; else printf 0; fi
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


def assert_same(bash_check, python_check, values):
    """Each value is accepted by the bash check (in every locale) exactly when Python accepts it."""
    found = bash_verdicts(bash_check, values)
    assert len(found) == len(values)
    for value, verdicts in zip(values, found):
        expected = python_verdict(python_check, value) * len(LOCALES)
        assert verdicts == expected, (value, bash_check, verdicts)


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


def test_the_name_check_agrees_on_hand_picked_names():
    assert_same("sb_check_name cluster", lambda value: check_name("cluster", value), NAME_EDGES)


@EXAMPLES
@given(st.lists(NAME_LIKE, min_size=1, max_size=40))
def test_the_name_check_agrees_on_any_name(values):
    assert_same("sb_check_name cluster", lambda value: check_name("cluster", value), values)


def test_a_refused_name_is_a_usage_error_naming_it_on_both_sides():
    done = run_bash('sb_check_name user "$1"', "../etc")
    assert done.returncode == 2
    assert done.stderr.decode() == "sb-parity: refusing user name '../etc': not a plain name\n"
    with pytest.raises(ValueError, match="refusing user name '../etc': not a plain name"):
        check_name("user", "../etc")
