"""sb-view's model on boards made by the real sb-reduce and sb-rank: loading, keys, filter,
search, sort, formatting, escaping of hostile names, personal pages, reloading.

`make_store`, `make_moving_store` and `make_hostile_root` are shared with the snapshot and
tmux tests."""
import os

import orjson
import pytest
from reduce_helpers import job, reduce, tool

from slurm_scoreboard import boardfiles, errors
from slurm_scoreboard.boardfiles import BoardFiles
from slurm_scoreboard.view import display, model, players, screens

NOW = "2025-08-31T12:00:00Z"
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
         "xavier", "yvonne", "zoe"] + [f"user{i:02d}" for i in range(22, 40)]
ACCOUNTS = ("chem", "phys", "bio")
EVIL = "evil\x1b[31mred\x07"
LONG = "L" * 300


def store_records():
    """40 users on hammer in August 2025 (a few GPU jobs, some failures), 10 of them on anvil
    earlier in the year."""
    hammer, anvil = [], []
    for i, name in enumerate(NAMES):
        account = ACCOUNTS[i % 3]
        for n in range(1 + i % 4):
            day = 1 + (i * 3 + n * 7) % 30
            hammer.append(job(1000 + i * 10 + n, name, f"2025-08-{day:02d}T10:00:00Z",
                              cpus=1 + (40 - i) % 17 * 4,
                              elapsed=3600 * (41 - i) * (3 if i == 0 else 1),
                              gpus=2 if i % 5 == 0 else 0,
                              state="FAILED" if (i + n) % 6 == 0 else "COMPLETED",
                              account=account))
        if i % 4 == 0:
            anvil.append(job(5000 + i, name, f"2025-0{3 + i % 5}-15T00:00:00Z", cpus=8,
                             elapsed=7200 * (i + 1), cluster="anvil", account=account))
    return hammer, anvil


def make_store(root, now=NOW):
    """A root with boards written by the real tools (sb-reduce twice, then sb-rank)."""
    os.makedirs(str(root), exist_ok=True)
    for records in store_records():
        done, _ = reduce(root, records)
        assert done.returncode == 0, done.stderr
    rank(root, now)
    return str(root)


LATER = "2025-09-01T12:00:00Z"      # the day after NOW: the boards know the ranks of NOW's day


def make_moving_store(root):
    """make_store's root, then a day later a newcomer and a few big jobs, ranked again: the
    boards carry the ranks of the day before (movement markers), a gained window differs from
    all time, and the progress files span a year of months."""
    make_store(root)
    later = [job(8000 + n, name, f"2025-09-01T0{n}:00:00Z", cpus=32, elapsed=36000 * (n + 1),
                 gpus=n % 2, account=account)
             for n, (name, account) in enumerate([("newbie", "phys"), ("zoe", "bio"),
                                                  ("user39", "chem"), ("zoe", "bio")])]
    done, _ = reduce(root, later)
    assert done.returncode == 0, done.stderr
    rank(root, LATER)
    return str(root)


def rank(root, now):
    done = tool("sb_rank", ["--root", str(root), "--now", now])
    assert done.returncode == 0, done.stderr


def make_hostile_root(root):
    """A root whose overall and CPU boards were written by hand with hostile names."""
    folder = os.path.join(str(root), "leaderboards")
    os.makedirs(folder, exist_ok=True)
    index = {"asof": NOW, "clusters": ["hammer", "../etc"], "windows": ["alltime"],
             "metrics": ["clock_hours", "overall"], "kinds": ["users", "groups"]}
    with open(os.path.join(folder, "index.json"), "wb") as handle:
        handle.write(orjson.dumps(index))
    rows = [{"rank": 1, "user": EVIL, "value": 1234567.25, "xp": 12345672, "level": 91,
             "virtual_level": 91},
            {"rank": 2, "user": LONG, "value": 12.5, "xp": 125, "level": 2, "virtual_level": 2},
            {"rank": 3, "user": "jos\u00e9\u4e2d", "value": 1.0, "xp": 10, "level": 1,
             "virtual_level": 1},
            "not a row", {"rank": 4, "user": 7},
            {"rank": "x\x1b", "user": "plain", "value": True, "xp": None},
            {"rank": 6, "user": "kept", "value": 2.5, "xp": 25, "level": 1, "virtual_level": 1,
             "planted": "\x1b[2J"}]
    hammer = os.path.join(folder, "clusters", "hammer")
    os.makedirs(hammer)
    for where, metric in ((folder, "clock_hours"), (folder, "overall"), (hammer, "overall")):
        doc = {"asof": NOW + "\x1b[2J", "window": "alltime", "metric": metric, "cluster": "all",
               "kind": "users", "first_day": None, "last_day": None, "rows": rows}
        with open(os.path.join(where, f"alltime_{metric}.json"), "wb") as handle:
            handle.write(orjson.dumps(doc))
    return str(root)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"))


def open_state(root, window="alltime", metric="overall", cluster="all", kind="users"):
    return model.ViewState(root, boardfiles.load_index(root), players.Selection(window, metric, cluster, kind))


def press(state, *keys):
    for key in keys:
        assert state.press(key)
    return state


def names(state):
    return [row.name for row in state.rows]


def all_text(lines):
    return "".join(text for line in lines for text, _ in line)


# -- loading -----------------------------------------------------------------------------------

def test_index_lists_clusters_windows_and_overall_first(store):
    index = boardfiles.load_index(store)
    assert index.asof == NOW
    assert index.clusters == ["anvil", "hammer"]
    assert index.windows == ["alltime", "rolling-7d", "rolling-30d", "rolling-365d", "month"]
    assert index.metrics[0] == "overall" and len(index.metrics) == 7


def test_missing_root_says_what_to_run(tmp_path):
    with pytest.raises(errors.NoBoards, match=r"run sb-rank --root .* \(after sb-reduce\)"):
        boardfiles.load_index(str(tmp_path / "nowhere"))


def test_corrupt_index_and_board_are_errors(tmp_path):
    folder = tmp_path / "leaderboards"
    folder.mkdir()
    (folder / "index.json").write_text("{nope")
    with pytest.raises(errors.BoardError, match="not valid JSON"):
        boardfiles.load_index(str(tmp_path))
    (folder / "alltime_jobs.json").write_text('{"rows": 3}')
    files = BoardFiles(str(tmp_path))
    with pytest.raises(errors.BoardError, match="not an sb-rank board"):
        files.board("alltime", "jobs")
    assert files.board("month", "jobs") is None


def test_board_rows_in_rank_order(store):
    state = open_state(store)
    assert len(state.rows) == 40
    assert [row.rank for row in state.rows] == sorted(row.rank for row in state.rows)
    assert state.rows[0].skills and set(state.rows[0].skills) == set(display.SKILL_ABBREVIATIONS)


def test_index_names_that_are_not_plain_are_dropped(tmp_path):
    index = boardfiles.load_index(make_hostile_root(tmp_path))
    assert index.clusters == ["hammer"]
    assert index.metrics == ["overall", "clock_hours"]


def test_rows_not_as_sb_rank_writes_them_are_left_out_and_the_rest_ranked_again(tmp_path):
    state = open_state(make_hostile_root(tmp_path))
    assert names(state) == ["kept"]          # a name not plain, a field of the wrong kind: out
    assert state.rows[0][:5] == (1, "kept", 1, 25, 2.5)


# -- keys --------------------------------------------------------------------------------------

def test_tab_cycles_every_metric_and_shift_tab_goes_back(store):
    state = open_state(store)
    seen = []
    for _ in range(7):
        press(state, "TAB")
        seen.append(state.sel.metric)
    assert seen == ["clock_hours", "elapsed_hours", "gpu_clock_hours", "gpu_elapsed_hours",
                    "jobs", "failed_jobs", "overall"]
    press(state, "BTAB")
    assert state.sel.metric == "failed_jobs"


def test_w_cycles_windows_and_g_cycles_clusters(store):
    state = open_state(store)
    press(state, "w")
    assert state.sel.window == "rolling-7d"
    press(state, "W", "W")
    assert state.sel.window == "month"
    clusters = []
    for _ in range(3):
        press(state, "g")
        clusters.append(state.sel.cluster)
    assert clusters == ["anvil", "hammer", "all"]
    press(state, "G")
    assert state.sel.cluster == "hammer"


def test_a_switches_to_group_boards(store):
    state = press(open_state(store, metric="jobs"), "a")
    assert state.sel.kind == "groups"
    assert sorted(names(state)) == ["bio", "chem", "phys"]
    assert all(row.members for row in state.rows)
    press(state, "a")
    assert state.sel.kind == "users"


def test_selection_follows_the_name_across_boards(store):
    state = press(open_state(store), "j", "j")
    name = state.current_name()
    press(state, "TAB")
    assert state.current_name() == name


def test_moves_page_home_end(store):
    state = open_state(store)
    state.fit_view(10)
    press(state, "DOWN", "j", "k")
    assert state.selected == 1
    press(state, "PGDN")
    assert state.selected == 11
    state.fit_view(10)
    assert state.top <= state.selected < state.top + 10
    press(state, "PGUP", "UP")
    assert state.selected == 0
    press(state, "END")
    assert state.selected == 39
    press(state, "HOME")
    assert state.selected == 0


def test_the_list_scrolls_one_row_as_the_selection_leaves_its_bottom_or_top(store):
    state = open_state(store)
    state.fit_view(3)
    press(state, "j", "j")
    state.fit_view(3)
    assert (state.top, state.selected) == (0, 2)        # the last row shown: no scroll yet
    press(state, "j")
    state.fit_view(3)
    assert (state.top, state.selected) == (1, 3)        # one past it: one row down
    press(state, "k", "k", "k")
    state.fit_view(3)
    assert (state.top, state.selected) == (0, 0)


def test_sort_direction_reverses_and_keeps_the_selection(store):
    state = press(open_state(store), "j")
    name, first = state.current_name(), state.rows[0].name
    press(state, "s")
    assert state.rows[-1].name == first and state.current_name() == name
    press(state, "s")
    assert state.rows[0].name == first


def test_filter_keeps_names_containing_the_text(store):
    state = press(open_state(store), "f", *"USER3", "ENTER")
    assert state.filter == "USER3"
    assert sorted(names(state)) == [f"user{i}" for i in range(30, 40)]
    press(state, "f", "BACKSPACE", "BACKSPACE", "BACKSPACE", "BACKSPACE", "BACKSPACE", "ENTER")
    assert len(state.rows) == 40


def test_filter_prompt_escape_cancels_and_escape_on_board_clears(store):
    state = press(open_state(store), "f", "z", "o", "ESC")
    assert state.filter == "" and state.prompt is None
    press(state, "f", "z", "o", "ENTER")
    assert names(state) == ["zoe"]
    press(state, "ESC")
    assert state.filter == "" and len(state.rows) == 40


def test_search_jumps_to_first_match_then_next_and_previous(store):
    state = press(open_state(store, metric="jobs"), "/", *"user2", "ENTER")
    matches = [i for i, row in enumerate(state.rows) if "user2" in row.name]
    assert state.selected == matches[0]
    press(state, "n")
    assert state.selected == matches[1]
    press(state, "N", "N")
    assert state.selected == matches[-1]


def test_search_without_match_says_so(store):
    state = press(open_state(store), "j", "/", "q", "q", "ENTER")
    assert state.selected == 1
    assert state.alert and "no name contains 'qq'" in state.message


def test_q_quits_and_unknown_keys_are_ignored(store):
    state = open_state(store)
    assert state.press("x") and state.press("RESIZE")
    assert state.press("q") is False


def test_help_lists_every_key_and_escape_returns(store):
    state = press(open_state(store), "?")
    assert state.screen == "help"
    text = "\n".join(model.help_lines())
    for keys, action, _ in model.KEYS:
        assert hasattr(state, "do_" + action) or action == "quit"
        for key in keys:
            assert model.KEY_LABELS.get(key, key) in text
    press(state, "ESC")
    assert state.screen == "board"


# -- formatting --------------------------------------------------------------------------------

def test_values_have_units_and_separators():
    assert display.format_value("clock_hours", 1234567.25) == "1,234,567.2 h"
    assert display.format_value("gpu_elapsed_hours", 0.04) == "0.0 h"
    assert display.format_value("jobs", 12345) == "12,345"
    assert display.format_value("failed_jobs", 3.0) == "3"
    assert display.when("2025-08-31T12:00:00Z") == "2025-08-31 12:00 UTC"


def test_fit_pads_cuts_and_counts_wide_characters():
    assert display.fit("abc", 5) == "abc  " and display.fit("abc", 5, ">") == "  abc"
    assert display.fit("abcdef", 4) == "abc~"
    assert display.text_width("\u4e2d\u6587") == 4
    assert display.text_width(display.fit("\u4e2d\u6587\u4e2d", 5)) == 5


def test_fit_and_cut_at_their_edges():
    assert display.fit("abcde", 5) == "abcde" and display.fit("abcdef", 5) == "abcd~"
    assert display.fit("abc", 0) == display.fit("abc", -1) == ""
    assert display.fit("abc", 1) == "~"
    wide = "\u4e2d\u6587"
    assert display.cut(wide, 4) == wide and display.cut(wide, 3) == "\u4e2d"
    assert display.cut(wide, 1) == "" and display.cut("abc", 2) == "ab"
    assert display.fit(wide, 4) == wide and display.fit(wide, 3) == "\u4e2d~"
    fullwidth = "\uff21\uff22"               # FULLWIDTH LATIN A and B: two columns each
    assert display.text_width(fullwidth) == 4 and display.fit(fullwidth, 3) == "\uff21~"
    assert display.text_width("e\u0301") == 1   # a combining accent takes no column


def test_clean_escapes_control_characters_and_optionally_non_ascii():
    assert display.clean(EVIL) == "evil\\x1b[31mred\\x07"
    assert display.clean("jos\u00e9", ascii_only=True) == "jos\\xe9"
    assert display.clean("jos\u00e9") == "jos\u00e9"


@pytest.mark.parametrize("width,height", [(80, 24), (60, 20), (100, 30), (40, 8)])
def test_every_screen_line_is_exactly_the_width(store, width, height):
    state = open_state(store)
    for keys in ((), ("TAB",), ("a",), ("?",), ("ESC", "ENTER")):
        press(state, *keys)
        lines = screens.screen(state, width, height)
        assert len(lines) == height
        assert all(sum(display.text_width(text) for text, _ in line) == width for line in lines)


def test_tiny_terminal_says_too_small(store):
    lines = screens.screen(open_state(store), 30, 5)
    assert len(lines) == 5 and all_text(lines[:1]).startswith("terminal too small")
    assert screens.screen(open_state(store), 1, 1) == [[("~", "alert")]]


def test_hostile_names_and_times_are_never_shown(tmp_path):
    state = open_state(make_hostile_root(tmp_path), metric="clock_hours")
    for lines in (screens.screen(state, 80, 24), screens.snapshot_lines(state, 80, 0, True)):
        text = all_text(lines)
        assert "\x1b" not in text and "\x07" not in text
        assert "evil" not in text and "LLL" not in text and "kept" in text
        assert "2025-08-31" not in text and "2J" not in text      # a planted time: none shown


def test_missing_board_shows_no_data(store):
    state = open_state(store)
    state._switch(cluster="nowhere")
    assert state.board is None and state.problem == "no data"
    assert "no data" in all_text(screens.screen(state, 80, 24))


def test_columns_drop_to_fit_narrow_terminals(store):
    state = open_state(store)
    keys = [c.key for c in screens.board_columns(state.board, state.sel, 80)]
    assert keys == ["mark", "rank", "name", "level", "xp", "skills"]
    assert "skills" not in [c.key for c in screens.board_columns(state.board, state.sel, 60)]
    groups = state.sel._replace(metric="jobs", kind="groups")
    assert [c.key for c in screens.board_columns(None, groups, 100)][-2:] == ["value", "members"]
    assert "members" not in [c.key for c in screens.board_columns(None, groups, 50)]


# -- personal pages ----------------------------------------------------------------------------

def test_player_page_has_overall_on_top_and_every_skill(store):
    state = press(open_state(store), "ENTER")
    page = state.player
    assert state.screen == "player" and page.name == "alice"
    assert [line.metric for line in page.lines] == boardfiles.load_index(store).metrics
    board = {row.name: row for row in open_state(store, metric="clock_hours").rows}["alice"]
    cpu = page.lines[1]
    assert (cpu.rank, cpu.level, cpu.xp, cpu.value) == \
        (board.rank, board.level, board.xp, board.value)
    assert page.lines[0].rank == 1
    text = all_text(screens.screen(state, 80, 24))
    assert "Personal hiscores: alice" in text and "Overall" in text and "CPU-core hours" in text
    press(state, "ESC")
    assert state.screen == "board"


def test_skill_without_a_row_shows_dash_and_level_one(store):
    state = open_state(store)
    state.show_player("nobody")
    assert all(line.rank is None for line in state.player.lines)
    # five skills at level 1, and failed jobs, a board apart, with no level
    assert [line.level for line in state.player.lines] == [5, 1, 1, 1, 1, 1, None]
    columns = screens.player_columns(state.player, 80)
    assert screens.skill_cell(state.player.lines[1], "rank") == "-"
    assert "Skill" in all_text([screens.heading_line(columns, 80)])


def test_player_page_follows_window_changes(store):
    state = press(open_state(store), "ENTER", "w")
    assert state.screen == "player" and state.player.selection.window == "rolling-7d"
    assert state.player.name == "alice"


def test_group_page(store):
    state = press(open_state(store, kind="groups"), "ENTER")
    assert state.player.name in ACCOUNTS
    assert "Group hiscores" in all_text(screens.screen(state, 80, 24))


# -- reloading ---------------------------------------------------------------------------------

def test_refresh_reads_a_board_that_changed(tmp_path):
    root = make_store(tmp_path)
    state = open_state(root, window="rolling-7d")     # a new day moves it: rewritten
    assert state.refresh() is False
    rank(root, "2025-09-02T08:00:00Z")
    assert state.refresh() is True
    assert state.board.asof == "2025-09-02T08:00:00Z"
    assert state.refresh() is False


def test_refresh_keeps_the_old_index_when_it_vanishes(tmp_path):
    root = make_store(tmp_path)
    state = open_state(root)
    os.unlink(boardfiles.index_path(root))
    state.refresh()
    assert state.alert and "run sb-rank" in state.message
    assert state.index.clusters == ["anvil", "hammer"]


def test_a_competition_limited_to_five_names_lists_them_all_and_six_says_one_more():
    from slurm_scoreboard.view import pages
    five = {"cluster": "hammer", "users": ["a", "b", "c", "d", "e"]}
    assert pages._filters(five, True) == "; only cluster hammer; users a, b, c, d, e"
    six = dict(five, users=five["users"] + ["f"], accounts=["phys"])
    assert pages._filters(six, True) == "; only cluster hammer; accounts phys; users a, b, c, " \
        "d, e and 1 more"
    assert pages._filters({"cluster": "all", "users": []}, True) == ""
