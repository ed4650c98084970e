"""sb-view's curses screen driven for real inside tmux: every key, resizes, tiny terminals,
colours, hostile names, and boards that change on disk while it runs.

Each test gets its own tmux server (a private socket, killed in teardown). Screens are polled
until the expected text shows (up to 5 s), never read after a fixed sleep."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "unit"))

from reduce_helpers import ENV, job, reduce  # noqa: E402
from test_view_model import make_hostile_root, make_moving_store, make_store, rank  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

TIMEOUT = 5.0


class Tmux:
    """One private tmux server with one session, "view", running sb-view."""

    def __init__(self, folder):
        self.socket = f"sbview-{uuid.uuid4().hex[:12]}"
        self.conf = os.path.join(str(folder), "tmux.conf")
        self.status_file = os.path.join(str(folder), "status")
        with open(self.conf, "w") as handle:
            handle.write("set -g status off\nset -g remain-on-exit on\n")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, "-f", self.conf] + list(args),
                              capture_output=True, text=True, check=True).stdout

    def start(self, *args, width=80, height=24, env=None):
        self.tmux("new-session", "-d", "-s", "view", "-x", str(width), "-y", str(height),
                  self.command(args, env))

    def restart(self, *args, env=None):
        """Run sb-view again in the same pane (the old one is killed)."""
        self.tmux("respawn-pane", "-k", "-t", "view", self.command(args, env))

    def command(self, args, env):
        """sb-view in a shell that leaves its exit status in a file (tmux's own
        pane_dead_status is not always filled in)."""
        variables = {"TERM": "xterm-256color", "PYTHONPATH": ENV["PYTHONPATH"],
                     "LANG": "C.UTF-8", **(env or {})}
        command = ["env", "-u", "NO_COLOR", "-u", "LINES", "-u", "COLUMNS"] + \
            [f"{k}={v}" for k, v in variables.items()] + \
            [sys.executable, "-m", "slurm_scoreboard_tools.sb_view"] + list(args)
        line = " ".join(map(shlex.quote, command))
        return f"{line}; echo $? > {shlex.quote(self.status_file)}"

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "view", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "view", "-l", text)

    def screen(self, escapes=False, history=False):
        return self.tmux("capture-pane", "-p", "-J" if not escapes else "-e",
                         *(["-S", "-"] if history else []), "-t", "view")

    def wait_for(self, expected, timeout=TIMEOUT):
        """The screen once `expected` (text, or a test of the screen) holds; fails after timeout."""
        test = expected if callable(expected) else (lambda screen: expected in screen)
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            screen = self.screen()
            if screen == previous and test(screen):
                return screen                   # and the screen has settled
            previous = screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expected!r}; screen:\n{screen}")
            time.sleep(0.05)

    def press(self, key, expected):
        self.keys(key)
        return self.wait_for(expected)

    def exit_status(self):
        """sb-view's exit status once it has ended (waits up to the timeout)."""
        self.wait_for(lambda screen: os.path.exists(self.status_file))
        with open(self.status_file) as handle:
            return int(handle.read())

    def running(self):
        return not os.path.exists(self.status_file)

    def kill(self):
        path = subprocess.run(["tmux", "-L", self.socket, "display-message", "-p",
                               "#{socket_path}"], capture_output=True, text=True).stdout.strip()
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        if path and os.path.exists(path):
            os.unlink(path)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def tmux(tmp_path):
    session = Tmux(tmp_path)
    yield session
    session.kill()


def selected(screen):
    """The selected row (the one marked with >), without the marker."""
    return next(line[1:] for line in screen.splitlines() if line.startswith(">"))


def rows_shown(screen):
    """The list's rows, without the selection marker."""
    return [line[1:] for line in screen.splitlines()[3:-2] if line.strip()]


def open_view(tmux, root, *args, **kwargs):
    tmux.start("--root", root, *args, **kwargs)
    return tmux.wait_for("Hiscores")


def test_opens_on_overall_and_tab_cycles_the_skills(tmux, store):
    screen = open_view(tmux, store)
    assert "Hiscores: Overall" in screen and "as of 2025-08-31 12:00 UTC" in screen
    assert "Rank  Name" in screen and "Level" in screen and "XP" in screen
    assert selected(screen).split()[:2] == ["1", "alice"]
    for title in ("CPU-core hours", "Wall hours", "GPU hours", "GPU wall hours", "Jobs",
                  "Failed jobs", "Overall"):
        tmux.press("Tab", f"Hiscores: {title} ")
    screen = tmux.press("BTab", "Hiscores: Failed jobs ")
    heading = screen.splitlines()[2]
    assert "Failed" in heading and "Level" not in heading and "XP" not in heading


def test_w_g_a_and_s_change_window_cluster_kind_and_sort(tmux, store):
    open_view(tmux, store)
    tmux.press("w", "Window: Last 7 days")
    tmux.press("w", "Window: Last 30 days")
    tmux.press("g", "Cluster: anvil")
    tmux.press("g", "Cluster: hammer")
    screen = tmux.press("a", "Group hiscores: Overall")
    assert "Kind: groups" in screen and "a users" in screen
    assert {line.split()[1] for line in rows_shown(screen)} == {"bio", "chem", "phys"}
    tmux.press("a", "Kind: users")
    tmux.press("g", "Cluster: all clusters")
    screen = tmux.press("s", "bottom first")
    first = rows_shown(screen)[0].split()
    assert int(first[0]) > 1
    screen = tmux.press("s", lambda s: "bottom first" not in s)
    assert rows_shown(screen)[0].split()[0] == "1"


def test_selection_moves_with_j_k_arrows_pages_home_and_end(tmux, store):
    open_view(tmux, store)
    assert selected(tmux.press("j", " 2/40")).split()[0] == "2"
    tmux.press("Down", " 3/40")
    tmux.press("k", " 2/40")
    assert selected(tmux.press("Up", " 1/40")).split()[0] == "1"
    screen = tmux.press("NPage", " 20/40")
    assert selected(screen).split()[1] == "ivan"
    screen = tmux.press("NPage", " 39/40")
    assert rows_shown(screen)[0].split()[0] != "1"          # scrolled
    tmux.press("PPage", " 20/40")
    screen = tmux.press("End", " 40/40")
    assert screen.splitlines()[-3].startswith(">")          # last row of the list, selected
    screen = tmux.press("Home", " 1/40")
    assert screen.splitlines()[3].startswith(">")


def test_filter_then_search_then_escape_clears(tmux, store):
    open_view(tmux, store)
    tmux.press("f", "Filter:")
    tmux.type("user3")
    tmux.wait_for("Filter: user3")
    screen = tmux.press("Enter", "filter 'user3'")
    assert " 1/10 " in screen
    assert all("user3" in line for line in rows_shown(screen))
    tmux.press("/", "Search:")
    tmux.type("35")
    screen = tmux.press("Enter", lambda s: "Search:" not in s)
    assert "user35" in selected(screen)
    screen = tmux.press("n", lambda s: "user35" in selected(s) and "1/10" not in s)
    tmux.press("/", "Search:")
    tmux.type("zz")
    tmux.press("Enter", "no name contains 'zz'")
    screen = tmux.press("Escape", "filter cleared")
    assert "/40" in screen
    tmux.press("f", "Filter:")
    tmux.type("ol")
    tmux.press("Escape", lambda s: "Filter:" not in s)       # Esc cancels a prompt
    assert "/40" in tmux.screen()
    tmux.keys("Escape", "/")                                  # a key right after Esc counts
    tmux.wait_for("Search:")


def test_help_lists_every_key_and_escape_goes_back(tmux, store):
    open_view(tmux, store, height=40)
    screen = tmux.press("?", "Hiscores: keys")
    for label in ("Tab", "Shift-Tab", "w", "W", "g", "G", "a", "s", "d", "f", "/", "n", "N",
                  "j Down", "k Up", "PgDn", "PgUp", "Home", "End", "Enter", "Esc", "r", "?",
                  "q"):
        assert f"\n  {label} " in screen, label
    tmux.press("Escape", "Hiscores: Overall")
    tmux.press("?", "Hiscores: keys")
    tmux.press("?", "Hiscores: Overall")


def test_enter_opens_the_personal_page_and_escape_returns(tmux, store):
    open_view(tmux, store)
    tmux.press("j", " 2/40")
    screen = tmux.press("Enter", "Personal hiscores: sybil")
    lines = screen.splitlines()
    assert lines[2].split() == ["Skill", "Rank", "Level", "XP", "Value", "Monthly", "XP"]
    assert lines[3].split()[:2] == ["Overall", "2"]
    for skill in ("CPU-core hours", "Wall hours", "GPU hours", "GPU wall hours", "Failed jobs",
                  "Jobs"):
        assert skill in screen
    tmux.press("w", "Window: Last 7 days")
    screen = tmux.press("Escape", "Hiscores: Overall")
    assert "sybil" in selected(screen)


def test_q_quits_with_status_0(tmux, store):
    open_view(tmux, store)
    tmux.keys("q")
    assert tmux.exit_status() == 0


def test_layout_follows_resizes_down_to_too_small(tmux, store):
    open_view(tmux, store)
    tmux.tmux("resize-window", "-t", "view", "-x", "100", "-y", "30")
    screen = tmux.wait_for(lambda s: len(s.splitlines()[0].rstrip()) == 99)
    assert screen.splitlines()[0].rstrip().endswith("as of 2025-08-31 12:00 UTC")
    assert len(rows_shown(screen)) == 25 and "R records" in screen.splitlines()[-1]
    tmux.tmux("resize-window", "-t", "view", "-x", "60", "-y", "20")
    screen = tmux.wait_for(lambda s: len(s.splitlines()) == 20 and
                           len(s.splitlines()[0]) <= 60 and "Rank" in s)
    assert "CPU Wall" not in screen and len(rows_shown(screen)) == 15
    assert screen.splitlines()[-1].rstrip().endswith("q quit")
    tmux.tmux("resize-window", "-t", "view", "-x", "30", "-y", "6")
    tmux.wait_for("terminal too small")
    tmux.tmux("resize-window", "-t", "view", "-x", "3", "-y", "2")
    tmux.wait_for(lambda s: s.startswith("te~"))
    tmux.tmux("resize-window", "-t", "view", "-x", "80", "-y", "24")
    screen = tmux.wait_for("Hiscores: Overall")
    assert tmux.running() and "CPU Wall" in screen


def test_boards_rewritten_on_disk_are_picked_up(tmux, tmp_path):
    root = make_store(tmp_path / "root")
    open_view(tmux, root)
    tmux.wait_for("as of 2025-08-31 12:00 UTC")
    newcomer = [job(9000 + n, "newbie", "2025-09-01T10:00:00Z", cpus=64, elapsed=360000,
                    gpus=8) for n in range(3)]
    done, _ = reduce(root, newcomer)
    assert done.returncode == 0
    rank(root, "2025-09-02T08:00:00Z")
    screen = tmux.wait_for("as of 2025-09-02 08:00 UTC")
    assert "newbie" in screen
    screen = tmux.press("r", "reloaded")
    assert "newbie" in screen


def test_hostile_names_never_reach_the_screen(tmux, tmp_path):
    """Rows whose names are not user names are left out (boardfiles.checked_row), as is a
    planted time: the plain row is shown, nothing of the others."""
    root = make_hostile_root(tmp_path)
    screen = open_view(tmux, root, "--metric", "clock_hours")
    assert " kept " in screen and "evil" not in screen and "L" * 30 not in screen
    assert "38;5;196" not in tmux.screen(escapes=True) and "[31m" not in \
        tmux.screen(escapes=True).replace("\\x1b[31m", "")


def test_colours_and_no_color(tmux, store):
    open_view(tmux, store)
    coloured = tmux.screen(escapes=True)
    assert "38;5;226" in coloured and "48;5;94" in coloured     # yellow on brown title bar
    rows = [line for line in coloured.splitlines() if "user3" in line]
    assert rows and not any("48;5" in line or "\x1b[40m" in line for line in rows)
    tmux.restart("--root", store, env={"NO_COLOR": "1"})
    tmux.wait_for("Hiscores")
    plain = tmux.screen(escapes=True)
    assert "38;5" not in plain and "\x1b[7m" in plain            # reverse video only
    assert "48;5" not in plain and not any(f"\x1b[4{n}m" in plain for n in range(8))


def test_missing_root_is_one_line_and_exit_1(tmux, tmp_path):
    (tmp_path / "nothing").mkdir()
    tmux.start("--root", str(tmp_path / "nothing"))
    assert tmux.exit_status() == 1
    screen = tmux.screen(history=True)
    assert "sb-view: no leaderboards under" in screen and "Traceback" not in screen


@pytest.fixture(scope="module")
def contest_store(tmp_path_factory):
    """The store with two competitions configured (the rebuild writes their boards)."""
    root = tmp_path_factory.mktemp("contests")
    os.makedirs(os.path.join(str(root), "config"))
    config = {"competitions": [
        {"id": "august", "title": "August <b>", "skills": ["clock_hours", "jobs"],
         "from": "2025-08-01", "to": "2025-08-31"},
        {"id": "spring", "title": "Spring", "skills": ["jobs"], "from": "2025-03-01",
         "to": "2025-05-31"}]}
    with open(os.path.join(str(root), "config", "competitions.json"), "w") as handle:
        json.dump(config, handle)
    return make_store(root)


def test_records_screen_follows_cluster_and_kind_and_escape_returns(tmux, store):
    open_view(tmux, store)
    screen = tmux.press("R", "Records")
    assert "all clusters, users" in screen and "CPU-core hours" in screen
    assert "week" in screen and "month" in screen
    screen = tmux.press("a", "all clusters, groups")
    tmux.press("g", "cluster anvil, groups")
    tmux.press("Escape", "Group hiscores: Overall")


def test_c_cycles_the_competitions(tmux, contest_store):
    open_view(tmux, contest_store)
    screen = tmux.press("c", "Competition: August <b>")
    assert "competition 1 of 2" in screen and "XP gained" in screen
    assert "ongoing, 2025-08-01 to 2025-08-31" in screen      # the store's today is the 31st
    first_row = screen.splitlines()[3].split()
    assert first_row[0] == "1"
    screen = tmux.press("c", "Competition: Spring")
    assert "competition 2 of 2" in screen
    tmux.press("c", "Competition: August")
    tmux.press("Escape", "Hiscores: Overall")


def test_personal_page_scrolls_to_groups_and_achievements(tmux, store):
    tmux.start("--root", store, "--user", "sybil", height=12)
    screen = tmux.wait_for("Personal hiscores: sybil")
    assert "Achievements" not in screen and "Rank in group" not in screen
    screen = tmux.press("PageDown", "Achievements")
    assert "First job (hammer)" in screen or "Level" in screen
    tmux.press("Home", "Overall")


def test_compare_opens_side_by_side(tmux, store):
    tmux.start("--root", store, "--compare", "sybil", "alice")
    screen = tmux.wait_for("Compare: sybil and alice")
    assert "XP gap" in screen and "CPU-core hours" in screen
    tmux.press("Escape", "Hiscores: Overall")


def test_a_user_who_opts_out_leaves_the_running_view_and_their_open_page(tmux, tmp_path):
    root = make_store(tmp_path / "root")
    open_view(tmux, root)
    screen = tmux.wait_for("alice")
    assert selected(screen).split()[:2] == ["1", "alice"]
    tmux.press("Enter", "Personal hiscores: alice")
    os.makedirs(os.path.join(root, "config"), exist_ok=True)
    with open(os.path.join(root, "config", "optout.txt"), "a") as handle:
        handle.write("alice\n")
    screen = tmux.wait_for("alice is no longer on the boards")      # no key pressed
    assert "Hiscores: Overall" in screen
    assert not any("alice" in row for row in rows_shown(screen))
    assert rows_shown(screen)[0].split()[0] == "1"


# -- charts: sparklines, the gained column, movement markers ------------------------------------

@pytest.fixture(scope="module")
def moving(tmp_path_factory):
    return make_moving_store(tmp_path_factory.mktemp("moving") / "root")


def spark_of(screen, skill):
    """The last word of a skill's line on a personal page: its sparkline."""
    return next(line for line in screen.splitlines() if line.startswith(f"  {skill} ")).split()[-1]


def test_the_personal_page_draws_monthly_sparklines_in_unicode(tmux, moving):
    tmux.start("--root", moving, "--user", "zoe")
    screen = tmux.wait_for("Monthly XP, 2024-10 to 2025-09")
    assert screen.splitlines()[2].split()[-2:] == ["Monthly", "XP"]
    assert spark_of(screen, "Overall") == "\u00b7" * 10 + "\u2588\u2581"
    assert "\u2581 to \u2588: up to the best month, \u00b7 none" in screen


def test_a_locale_without_utf8_gets_ascii_sparklines_and_markers(tmux, moving):
    tmux.start("--root", moving, "--user", "zoe", env={"LANG": "C", "LC_ALL": "C"})
    screen = tmux.wait_for("Monthly XP, 2024-10 to 2025-09")
    assert spark_of(screen, "Overall") == ".........." + "@_"
    assert "_ to @: up to the best month, . none" in screen and screen.isascii()
    screen = tmux.press("Escape", "Hiscores: Overall")
    assert "^30   zoe" in screen and "v1    frank" in screen


def test_without_colour_the_sparklines_and_markers_still_read(tmux, moving):
    tmux.start("--root", moving, "--user", "zoe", env={"NO_COLOR": "1"})
    screen = tmux.wait_for("Monthly XP")
    assert spark_of(screen, "Jobs") == "\u00b7" * 10 + "\u2588\u2588"
    assert "38;5" not in tmux.screen(escapes=True)
    screen = tmux.press("Escape", "Hiscores: Overall")
    assert "\u25b230   zoe" in screen and "\u25bc1    frank" in screen
    assert "38;5" not in tmux.screen(escapes=True)


def test_markers_and_the_gained_column_on_a_board(tmux, moving):
    screen = open_view(tmux, moving, width=132, height=40)
    heading = screen.splitlines()[2]
    assert heading.split()[:3] == ["Rank", "Move", "Name"] and "gain" not in heading
    screen = tmux.press("End", " 41/41")
    newbie = next(line for line in rows_shown(screen) if " newbie " in line)
    assert newbie.split()[1:3] == ["new", "newbie"]
    tmux.press("Home", " 1/41")
    screen = tmux.press("d", "gained column: last 7 days")
    assert screen.splitlines()[2].split()[-2:] == ["7d", "gain"]
    screen = tmux.press("d", "gained column: last 30 days")
    zoe = next(line for line in rows_shown(screen) if " zoe " in line)
    assert zoe.split()[1] == "\u25b230" and zoe.split()[-1] == "+51,200"
    for label in ("last 365 days", "this month"):
        tmux.press("d", f"gained column: {label}")
    screen = tmux.press("d", "gained column off")
    assert "gain" not in screen.splitlines()[2]


def test_the_compare_page_stacks_the_two_sparklines(tmux, moving):
    tmux.start("--root", moving, "--compare", "zoe", "alice", height=40)
    screen = tmux.wait_for("Monthly XP, 2024-10 to 2025-09")
    lines = screen.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  Overall         zoe"))
    assert lines[at + 1].split()[0] == "alice" and len(lines[at + 1].split()[1]) == 12
