"""sb-view --snapshot against golden files, and its command-line contract (colour choice, width,
--top, exit codes, closed pipes).

The golden files live in tests/golden/. After a deliberate change of the look, regenerate them
with  SB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_ansi_snapshot.py  and check
them by eye (``cat tests/golden/*.ansi`` in a 256-colour terminal) before committing."""
import importlib.util
import os
import pty
import subprocess
import sys

import pytest
from reduce_helpers import ENV
from test_view_model import make_hostile_root, make_store

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden")
UPDATE = os.environ.get("SB_UPDATE_GOLDEN") == "1"
BASE_ENV = {k: v for k, v in ENV.items() if k not in ("NO_COLOR", "COLUMNS", "LINES",
                                                      "COLORTERM", "SLURM_SB_ROOT")}
BASE_ENV.update(TERM="xterm-256color", PYTHONIOENCODING="utf-8")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"))


def view(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "slurm_scoreboard_tools.sb_view"] + list(args),
                          capture_output=True, env=dict(BASE_ENV, **(env or {})), **kwargs)


def snapshot(root, *args, env=None):
    done = view("--root", root, "--snapshot", *args, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    return done.stdout.decode()


def check_golden(name, text):
    path = os.path.join(GOLDEN, name)
    if UPDATE:
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    with open(path, encoding="utf-8", newline="") as handle:
        assert text == handle.read(), f"{name} differs (SB_UPDATE_GOLDEN=1 regenerates)"


@pytest.mark.parametrize("width", [80, 100, 60])
@pytest.mark.parametrize("color", ["never", "always"])
def test_overall_board_matches_golden(store, width, color):
    text = snapshot(store, "--width", str(width), "--color", color)
    check_golden(f"overall-{width}.{'ansi' if color == 'always' else 'txt'}", text)
    if color == "never":
        assert text.isascii() and "\x1b" not in text
        assert max(len(line) for line in text.splitlines()) <= width
    else:
        assert "\x1b[1;38;5;226;48;5;94m" in text           # yellow on brown title bar


def test_group_board_and_personal_page_match_golden(store):
    check_golden("groups-clock_hours-80.txt",
                 snapshot(store, "--width", "80", "--groups", "--metric", "clock_hours"))
    check_golden("user-alice-60.txt", snapshot(store, "--width", "60", "--user", "alice"))


def test_hostile_names_match_golden(tmp_path):
    root = make_hostile_root(tmp_path)
    text = snapshot(root, "--width", "80", "--metric", "clock_hours", "--top", "0")
    check_golden("hostile-80.txt", text)
    # rows whose names are not user names are left out (boardfiles.checked_row), as is a
    # planted time; nothing of them reaches the terminal
    assert "evil" not in text and "\x07" not in text and "\x1b" not in text and " kept " in text


def test_force_color_colours_a_pipe_and_never_still_wins(store):
    forced = view("--root", store, "--snapshot", "--width", "80", env={"FORCE_COLOR": "1"})
    assert forced.returncode == 0 and b"\x1b[1;38;5;226;48;5;94m" in forced.stdout
    assert b"\x1b[" not in view("--root", store, "--snapshot", "--width", "80",
                                 env={"FORCE_COLOR": "0"}).stdout
    assert b"\x1b[" not in view("--root", store, "--snapshot", "--width", "80", "--color",
                                 "never", env={"FORCE_COLOR": "1"}).stdout


def test_eight_colours_when_the_terminal_has_no_256(store):
    text = snapshot(store, "--color", "always", "--width", "80", env={"TERM": "xterm"})
    assert "\x1b[30;43m" in text and "38;5" not in text


def run_in_pty(args, env):
    """Run sb-view with stdout on a pseudo-terminal; its output."""
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "slurm_scoreboard_tools.sb_view"] + args,
                              stdout=follower, stderr=subprocess.PIPE, env=dict(BASE_ENV, **env),
                              timeout=30)
        os.close(follower)
        follower = None
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert done.returncode == 0, done.stderr
        return b"".join(chunks).decode()
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)


@pytest.mark.parametrize("env,colored", [({}, True), ({"NO_COLOR": "1"}, False),
                                         ({"TERM": "dumb"}, False)])
def test_auto_colour_on_a_terminal_only(store, env, colored):
    out = run_in_pty(["--root", store, "--snapshot", "--width", "80", "--top", "3"], env)
    assert ("\x1b[" in out) == colored


def test_auto_is_plain_into_a_pipe_and_always_overrides_no_color(store):
    assert "\x1b" not in snapshot(store)
    assert "\x1b[" in snapshot(store, "--color", "always", env={"NO_COLOR": "1"})


def test_width_comes_from_the_terminal(store):
    text = snapshot(store, "--backend", "ansi", env={"COLUMNS": "70"})
    assert "-" * 70 + "\n" in text and "-" * 71 not in text


def test_top_limits_the_rows(store):
    assert "3 of 40 users shown" in snapshot(store, "--top", "3", "--width", "80")
    text = snapshot(store, "--top", "0", "--width", "80")
    assert text.rstrip().endswith("40 users") and "user39" in text


def test_missing_root_or_boards_is_one_line_and_exit_1(tmp_path):
    done = view("--root", str(tmp_path / "none"), "--snapshot")
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sb-view: no scoreboard root at ")
    assert "sb-probe --root" in lines[0] and done.stdout == b""
    done = view("--root", str(tmp_path), "--snapshot")
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 1 and len(lines) == 1
    assert lines[0].startswith("sb-view: no leaderboards under ") and "sb-rank --root" in lines[0]


def test_missing_board_says_no_data(store):
    text = snapshot(store, "--window", "rolling-7d", "--cluster", "anvil", "--metric", "jobs")
    assert "no one on this board yet" in text
    os.rename(os.path.join(store, "leaderboards", "month_jobs.json"),
              os.path.join(store, "leaderboards", "month_jobs.hidden"))
    try:
        assert "no data" in snapshot(store, "--window", "month", "--metric", "jobs")
    finally:
        os.rename(os.path.join(store, "leaderboards", "month_jobs.hidden"),
                  os.path.join(store, "leaderboards", "month_jobs.json"))


@pytest.mark.parametrize("page", [[], ["--user", "plain"], ["--compare", "plain", "other"],
                                  ["--groups", "--user", "proj"]])
def test_unreadable_board_is_exit_1(tmp_path, page):
    """Also when the page asked for names someone the unreadable all-time Overall board would
    tell is there or not."""
    root = make_hostile_root(tmp_path)
    for kind in ("", "groups"):
        os.makedirs(os.path.join(root, "leaderboards", kind), exist_ok=True)
        with open(os.path.join(root, "leaderboards", kind, "alltime_overall.json"), "w") as handle:
            handle.write("{truncated")
    done = view("--root", root, "--snapshot", *page)
    assert done.returncode == 1 and b"not valid JSON" in done.stderr
    assert b"Traceback" not in done.stderr and done.stderr.count(b"\n") == 1


@pytest.mark.parametrize("args", [["--width", "10"], ["--top", "-1"], ["--window", "weekly"],
                                  ["--cluster", "../x"], ["--backend", "textual", "--snapshot"],
                                  []])
def test_usage_errors_are_exit_2(store, args):
    root = [] if args == [] else ["--root", store]
    done = view(*root, *args, "--snapshot" if args == [] else "--color=never")
    assert done.returncode == 2, done.stderr
    assert b"Traceback" not in done.stderr


def test_unknown_cluster_is_exit_1(store):
    done = view("--root", store, "--snapshot", "--cluster", "nope")
    assert done.returncode == 1 and b"known: anvil, hammer" in done.stderr


def test_interactive_view_needs_a_terminal(store):
    done = view("--root", store, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and b"--snapshot" in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("textual") is not None,
                    reason="textual is installed here")
def test_textual_backend_without_textual_is_a_hint_and_exit_2(store):
    done = view("--root", store, "--backend", "textual")
    assert done.returncode == 2
    assert done.stderr.decode() == ("sb-view: the textual backend needs the 'textual' package: "
                                    "pip install 'slurm-scoreboard[textual]'\n")


def test_closed_pipe_ends_quietly(store):
    command = (f"set -o pipefail; {sys.executable} -m slurm_scoreboard_tools.sb_view "
               f"--root {store} --snapshot --top 0 --width 4000 | head -3")
    done = subprocess.run(["bash", "-c", command], capture_output=True, env=BASE_ENV)
    assert done.returncode == 0 and done.stderr == b""
    assert len(done.stdout.splitlines()) == 3
