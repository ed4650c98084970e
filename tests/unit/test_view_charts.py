"""sb-view's charts: the monthly XP sparklines of personal, group and compare pages (from the
progress files), the gained column of a board and the movement markers (from the previous
day's ranks sb-rank keeps), in Unicode, in ASCII and without colour; and the screens at 80x24
and 132x40 against golden files (tests/golden/screen-*; regenerate with SB_UPDATE_GOLDEN=1
and read the diff once by hand).

The root is test_view_model.make_moving_store's: ranked on 2025-08-31, then a day later with a
newcomer and a few big jobs."""
import os

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reduce_helpers import job, reduce
from test_ansi_snapshot import check_golden, view
from test_view_model import EVIL, LATER, make_moving_store, make_store, open_state, press, rank

from slurm_scoreboard.boardfiles import SKILLS, BoardFiles
from slurm_scoreboard.view import ansi, display, players, screens

GOLDEN_SIZES = [(80, 24), (132, 40)]


@pytest.fixture(scope="module")
def moving(tmp_path_factory):
    return make_moving_store(tmp_path_factory.mktemp("moving") / "root")


# -- the sparkline itself ------------------------------------------------------------------------

@given(st.lists(st.integers(0, 10 ** 9), min_size=1, max_size=24), st.booleans())
def test_a_sparkline_is_a_character_a_month_its_heights_in_order_the_best_the_highest(
        values, ascii_only):
    top = max(values)
    line = display.sparkline(values, top, ascii_only)
    levels, none = (display.ASCII_SPARK, display.ASCII_SPARK_NONE) if ascii_only else \
        (display.SPARK, display.SPARK_NONE)
    assert len(line) == len(values) == display.text_width(line)
    assert line.isascii() or not ascii_only
    heights = [-1 if char == none else levels.index(char) for char in line]
    assert [height == -1 for height in heights] == [value == 0 for value in values]
    assert all(x <= y for a, x in zip(values, heights) for b, y in zip(values, heights) if a <= b)
    if top:
        assert heights[values.index(top)] == len(levels) - 1


def test_each_eighth_of_the_best_is_its_own_height():
    assert display.sparkline(list(range(9)), 8) == display.SPARK_NONE + display.SPARK
    assert display.sparkline([1, 10, 11, 20, 21], 80, ascii_only=True) == "__--="   # (k-1/8, k/8]
    assert display.sparkline([0, 0], 0) == display.SPARK_NONE * 2
    assert display.sparkline([5], 0, ascii_only=True) == display.ASCII_SPARK_NONE


def test_movement_reads_without_colour():
    assert display.move_text(3, 7) == ("\u25b24", "up")
    assert display.move_text(7, 3, ascii_only=True) == ("v4", "down")
    assert display.move_text(2, None) == ("new", "new")
    assert display.move_text(2, 2)[0] == ""


# -- the pages -----------------------------------------------------------------------------------

def test_the_personal_page_draws_the_progress_file_of_the_last_twelve_months(moving):
    state = open_state(moving)
    state.show_player("alice")
    page = state.player
    assert page.months == players.last_months("2025-09") and page.months[0] == "2024-10"
    entry = BoardFiles(moving).progress("all", "users", "alice")
    for line in page.lines:
        if line.metric == "failed_jobs":
            assert line.monthly == ()
            continue
        wanted = [entry["xp"][line.metric][entry["months"].index(month)]
                  if month in entry["months"] else 0 for month in page.months]
        assert list(line.monthly) == wanted, line.metric
    assert any(line.monthly[-2] for line in page.lines)        # August, gained in
    text = ansi.render(screens.screen(state, 80, 24), 0)
    overall = next(row for row in text.splitlines() if row.startswith("  Overall"))
    assert overall.endswith(display.sparkline(page.lines[0].monthly,
                                              max(page.lines[0].monthly)))


def test_a_group_page_draws_the_group_and_a_cluster_page_the_cluster(moving):
    state = open_state(moving, kind="groups", cluster="hammer")
    state.show_player("bio")
    entry = BoardFiles(moving).progress("hammer", "groups", "bio")
    line = next(line for line in state.player.lines if line.metric == "jobs")
    jobs = dict(zip(state.player.months, line.monthly))
    assert jobs["2025-09"] == entry["xp"]["jobs"][entry["months"].index("2025-09")] > 0


def test_the_compare_page_puts_the_two_lines_one_above_the_other_on_one_scale(moving):
    state = open_state(moving)
    state.show_compare("zoe", "alice")
    lines = [text for text, _ in state.text.lines]
    first = lines.index(next(text for text in lines if text.startswith("  Monthly XP")))
    pairs = lines[first + 1:]
    assert len(pairs) == 2 * len(SKILLS + ("overall",))
    zoe, alice = (state.page_of(name) for name in ("zoe", "alice"))
    for one, other, top_line, bottom_line in zip(zoe.lines, alice.lines, pairs[::2],
                                                 pairs[1::2]):
        top = max(one.monthly + other.monthly)
        assert top_line.split()[-2:] == ["zoe", display.sparkline(one.monthly, top)]
        assert bottom_line.split() == ["alice", display.sparkline(other.monthly, top)]


def test_top_shortens_a_listing_page_and_says_so_but_never_the_compare_page(moving):
    whole = view("--root", moving, "--snapshot", "--compare", "zoe", "alice", "--width", "100",
                 "--top", "0").stdout
    short = view("--root", moving, "--snapshot", "--compare", "zoe", "alice", "--width", "100",
                 "--top", "3").stdout
    assert short == whole and "shown" not in whole.decode()
    assert whole.decode().count(" zoe ") >= len(SKILLS + ("overall",))
    records = view("--root", moving, "--snapshot", "--records", "--width", "100",
                   "--top", "0").stdout.decode().splitlines()
    cut = view("--root", moving, "--snapshot", "--records", "--width", "100",
               "--top", "2").stdout.decode().splitlines()
    body = len(records) - 4                       # title, meta, rule, heading
    assert cut[:6] == records[:6] and cut[-1].strip() == \
        f"2 of {body:,} lines shown (--top 0 shows all)"


def test_ascii_terminals_get_ascii_pages(moving):
    state = open_state(moving)
    state.show_compare("zoe", "alice")
    state.set_ascii(True)
    assert all(text.isascii() for text, _ in state.text.lines)
    state.show_player("zoe")
    assert all(text.isascii() for line in screens.screen(state, 80, 24, True) for text, _ in line)
    plain = view("--root", moving, "--snapshot", "--user", "zoe", "--width", "80").stdout
    assert plain.isascii() and display.ASCII_SPARK[-1].encode() in plain


@pytest.mark.parametrize("locale_env", [{"LC_ALL": "C"}, {"LC_ALL": "POSIX"},
                                        {"LANG": "C", "LC_ALL": "C"}])
def test_a_coloured_snapshot_in_a_locale_without_utf8_is_ascii(moving, locale_env):
    """Python's UTF-8 mode makes its output UTF-8 under the C locale; the terminal there is
    not, so the locale's codeset decides (as in the curses view)."""
    shown = view("--root", moving, "--snapshot", "--user", "zoe", "--width", "80",
                 "--color", "always", env=locale_env)
    assert shown.returncode == 0 and b"\x1b[" in shown.stdout
    assert shown.stdout.isascii() and display.ASCII_SPARK[-1].encode() in shown.stdout
    utf8 = view("--root", moving, "--snapshot", "--user", "zoe", "--width", "80",
                "--color", "always", env={"LC_ALL": "C.UTF-8"}).stdout
    assert display.SPARK[-1].encode() in utf8


def test_no_progress_file_no_sparklines(moving, tmp_path):
    state = open_state(moving)
    os.rename(os.path.join(moving, "leaderboards", "progress"), str(tmp_path / "away"))
    try:
        state.show_player("alice")
        assert state.player.months == () and "Monthly" not in \
            ansi.render(screens.screen(state, 132, 40), 0)
    finally:
        os.rename(str(tmp_path / "away"), os.path.join(moving, "leaderboards", "progress"))


def test_a_hostile_group_name_stays_text_on_its_page_with_its_sparklines(tmp_path):
    root = str(tmp_path / "root")
    os.makedirs(root)
    done, _ = reduce(root, [job(1, "ann", "2025-08-02T10:00:00Z", account=EVIL),
                            job(2, "ann", "2025-06-02T10:00:00Z", account=EVIL)])
    assert done.returncode == 0, done.stderr
    rank(root, LATER)
    state = open_state(root, kind="groups")
    state.show_player(EVIL)
    assert state.player.lines[0].monthly[-4:] == (state.player.lines[0].monthly[-4], 0,
                                                  state.player.lines[0].monthly[-2], 0)
    text = ansi.render(screens.screen(state, 80, 24), 0)
    assert "\x1b" not in text and "\x07" not in text and "evil\\x1b[31mred\\x07" in text
    assert "\u2588" in text


# -- the board: gained column and movement -------------------------------------------------------

def test_d_cycles_the_gained_column_and_each_cell_is_the_window_board_s(moving):
    state = open_state(moving, metric="clock_hours")
    seen = []
    for _ in range(5):
        press(state, "d")
        seen.append(state.gained)
    assert seen == ["rolling-7d", "rolling-30d", "rolling-365d", "month", None]
    press(state, "d", "d")
    window = BoardFiles(moving).board("rolling-30d", "clock_hours")
    gains = {row.name: row.value for row in window.rows}
    text = ansi.render(screens.screen(state, 132, 60), 0).splitlines()
    assert "30d gain" in text[2]
    for row in state.rows[:50]:
        line = next(line for line in text if f" {row.name} " in line)
        if row.name in gains:
            assert line.rstrip().endswith("+" + display.format_value("clock_hours",
                                                                      gains[row.name]))
        else:
            assert line.rstrip().endswith(display.format_value("clock_hours", row.value))


def test_overall_gains_are_xp_and_percent_boards_have_none(moving):
    state = open_state(moving)
    state.show_gains("month")
    month = {row.name: row.xp for row in BoardFiles(moving).board("month", "overall").rows}
    columns = screens.board_columns(state.board, state.sel, 132, state.marks())
    assert columns[-1].key == "gained"
    assert screens.row_cell(state.rows[3], "gained", "overall", False, state.marks()) == \
        f"+{month[state.rows[3].name]:,}"
    state.sel = state.sel._replace(metric="cpu_efficiency")
    assert "gained" not in [c.key for c in screens.board_columns(None, state.sel, 132,
                                                                 state.marks())]


@pytest.fixture(scope="module")
def first_day(tmp_path_factory):
    """The all-time Overall board the moving store had on its first day (make_store alone)."""
    root = make_store(tmp_path_factory.mktemp("first") / "root")
    with open(os.path.join(root, "leaderboards", "alltime_overall.json"), "rb") as handle:
        return orjson.loads(handle.read())["rows"]


def test_markers_say_how_far_each_name_moved_since_the_day_before(moving, first_day):
    state = open_state(moving)
    before = {row["user"]: row["rank"] for row in first_day}
    assert state.board.previous_ranks
    for row in state.rows:
        text, style = display.move_text(row.rank, before.get(row.name))
        assert screens.row_cell(row, "move", "overall", False, state.marks()) == text
    newbie = next(row for row in state.rows if row.name == "newbie")
    assert newbie.previous_rank is None
    assert ("new ", "new") in screens.row_line(
        newbie, screens.board_columns(state.board, state.sel, 80, state.marks()), "overall",
        80, False, False, state.marks())


# -- the screens at 80x24 and 132x40 -------------------------------------------------------------

def screens_of(moving):
    """name -> a ViewState on the screen the golden file of that name shows."""
    board = open_state(moving)
    board.show_gains("rolling-30d")
    skill = open_state(moving, metric="clock_hours")
    skill.show_gains("rolling-7d")
    user = open_state(moving)
    user.show_player("zoe")
    group = open_state(moving, kind="groups")
    group.show_player("bio")
    compare = open_state(moving)
    compare.show_compare("zoe", "alice")
    return {"board": board, "skill": skill, "user": user, "group": group, "compare": compare}


@pytest.mark.parametrize("width,height", GOLDEN_SIZES)
@pytest.mark.parametrize("what", ["board", "skill", "user", "group", "compare"])
def test_screens_fit_and_match_golden(moving, what, width, height):
    state = screens_of(moving)[what]
    lines = screens.screen(state, width, height)
    assert len(lines) == height
    assert all(sum(display.text_width(text) for text, _ in line) == width for line in lines)
    plain = ansi.render(lines, 0)                   # what NO_COLOR shows: the same shapes
    check_golden(f"screen-{what}-{width}x{height}.txt", plain)
    coloured = ansi.render(lines, 256)
    styles = {"user": "spark", "group": "spark", "board": "up", "skill": "down"}
    assert what not in styles or ansi.sgr(styles[what], 256) in coloured
    state.set_ascii(True)
    ascii_text = ansi.render(screens.screen(state, width, height, True), 0)
    assert ascii_text.isascii()
    if (width, height) == GOLDEN_SIZES[0]:
        check_golden(f"screen-{what}-{width}x{height}.ansi", coloured)
        check_golden(f"screen-{what}-{width}x{height}-ascii.txt", ascii_text)
