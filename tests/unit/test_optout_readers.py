"""Opting out reaches every reader at once. A user is added to config/optout.txt AFTER the boards
were built, and before any rebuild: sb-view (every page), sb-rank reading the files, sb-news and
sb-export (both formats) no longer show them, with the ranks closed up exactly as the next
rebuild closes them (each page is compared with the same page after that rebuild); a group's
numbers wait for the rebuild. Also: the closing up as a property over random boards, the opt-out
files as readable as leaderboards/ in every sharing mode, and a list or cache that cannot be
read stopping every reader instead of showing everyone."""
import os
import re
import shutil
import stat
import subprocess
import sys

import orjson
import pytest
from export_helpers import every_board
from hypothesis import given
from hypothesis import strategies as st
from reduce_helpers import ENV, job, tool
from test_view_model import NOW, make_store, rank

from slurm_scoreboard import boardfiles, cli
from slurm_scoreboard.boardfiles import BoardFiles
from slurm_scoreboard.core import layout, optout, sharing, xp
from slurm_scoreboard.history.competitions import Competition
from slurm_scoreboard.poll import probe
from slurm_scoreboard.rank import groupstats, standings
from slurm_scoreboard.view import model, players
from slurm_scoreboard_tools import sb_rank

OUT = "alice"              # first on Overall, holds records, in group chem and in competitions
CONTESTS = {"competitions": [
    {"id": "august", "title": "August", "skills": ["clock_hours", "jobs"],
     "from": "2025-08-01", "to": "2025-08-31"},
    {"id": "trio", "title": "Trio", "skills": ["jobs"], "from": "2025-08-01",
     "to": "2025-08-31", "users": ["alice", "sybil", "mallory"]}]}
WINDOWS = ("alltime", "rolling-7d", "rolling-30d", "rolling-365d", "month")
SCOPES = ("all", "hammer", "anvil")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Boards, group statistics, records, competitions and achievements, all naming alice."""
    root = tmp_path_factory.mktemp("built")
    os.makedirs(os.path.join(str(root), "config"))
    with open(os.path.join(str(root), "config", "competitions.json"), "wb") as handle:
        handle.write(orjson.dumps(CONTESTS))
    return make_store(root)


def opted_out_copy(built, folder):
    """A copy of the built root with a line for alice added to its opt-out list."""
    root = shutil.copytree(built, str(folder))
    with open(os.path.join(root, "config", "optout.txt"), "a") as handle:
        handle.write(f"{OUT}   # asked today\n")
    return root


@pytest.fixture(scope="module")
def opted(built, tmp_path_factory):
    """The opt-out is there, the boards are still the ones that name alice."""
    return opted_out_copy(built, tmp_path_factory.mktemp("opted") / "root")


@pytest.fixture(scope="module")
def rebuilt(built, tmp_path_factory):
    """The same after the next rebuild (what the readers must agree with)."""
    root = opted_out_copy(built, tmp_path_factory.mktemp("rebuilt") / "root")
    rank(root, NOW)
    return root


@pytest.fixture
def fresh(built, tmp_path):
    """A copy of the built root a test may change (no opt-out yet)."""
    return shutil.copytree(built, str(tmp_path / "root"))


def add_opt_out(root, user=OUT):
    os.makedirs(os.path.join(str(root), "config"), exist_ok=True)
    with open(os.path.join(str(root), "config", "optout.txt"), "a") as handle:
        handle.write(user + "\n")


# -- sb-view --snapshot: every page --------------------------------------------------------------

def view(root, *args):
    return subprocess.run([sys.executable, "-m", "slurm_scoreboard_tools.sb_view", "--root",
                           str(root), "--snapshot", "--color", "never", "--width", "160",
                           "--top", "0", *args], capture_output=True, env=ENV)


def shown(root, *args):
    done = view(root, *args)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    return done.stdout.decode()


SAME_AS_REBUILT = {
    "overall": [],
    "a skill in a window": ["--window", "rolling-365d", "--metric", "clock_hours"],
    "a cluster's board": ["--cluster", "hammer", "--metric", "gpu_clock_hours"],
    "this month": ["--window", "month", "--metric", "jobs"],
    "anvil all time": ["--cluster", "anvil", "--metric", "overall"],
    "compare": ["--compare", "sybil", "mallory"],
    "a competition": ["--competition", "august"],
    "a competition of named users": ["--competition", "trio"],
}


@pytest.mark.parametrize("args", SAME_AS_REBUILT.values(), ids=SAME_AS_REBUILT.keys())
def test_a_page_after_an_opt_out_is_the_page_the_next_rebuild_makes(built, opted, rebuilt,
                                                                    args):
    before, now, after = (shown(root, *args) for root in (built, opted, rebuilt))
    assert before != now                       # the opt-out changed the page (ranks moved)
    assert OUT not in now
    assert now == after


def members_as_n(text):
    return re.sub(r"\(\d[\d,]* members?\)", "(N members)", text)


def test_a_personal_page_closes_up_ranks_and_ranks_in_groups(built, opted, rebuilt):
    before, now, after = (shown(root, "--user", "sybil") for root in (built, opted, rebuilt))
    assert OUT not in now and before != now
    mine = now.split("  Achievements")[0]
    assert members_as_n(mine) == members_as_n(after.split("  Achievements")[0])
    counts = re.findall(r"\(\d+ members?\)", now)
    assert counts and counts == re.findall(r"\(\d+ members?\)", before)   # counts: at the rebuild
    achievements = now.split("  Achievements")[1].splitlines()
    assert set(achievements) <= set(before.split("  Achievements")[1].splitlines())


@pytest.mark.parametrize("args", [["--records"], ["--records", "--cluster", "hammer"]])
def test_records_an_opted_out_user_held_are_left_out(built, opted, args):
    before, now = shown(built, *args).splitlines(), shown(opted, *args).splitlines()
    assert len(before) == len(now) and any(OUT in line for line in before)
    for old, new in zip(before, now):
        if OUT in old:
            assert new.rstrip() == old[:25] + "-"
        else:
            assert new == old


def test_a_group_s_numbers_wait_for_the_rebuild(built, opted, rebuilt):
    for args in (["--groups", "--user", "chem"], ["--groups", "--metric", "clock_hours"]):
        assert shown(opted, *args) == shown(built, *args) != shown(rebuilt, *args)


@pytest.mark.parametrize("args", [["--user", OUT], ["--compare", "sybil", OUT]])
def test_an_opted_out_user_s_page_is_no_user(opted, args):
    done = view(opted, *args)
    assert done.returncode == 5 and done.stdout == b""
    assert done.stderr.decode() == f"sb-view: no user '{OUT}' on the boards of this scope " \
                                   "(cluster all)\n"


def every_user_board():
    return [(window, metric, scope) for window in WINDOWS for scope in SCOPES
            for metric in boardfiles.BOARDS]


def snapshot_text(root, window, metric, scope, kind="users"):
    state = model.ViewState(str(root), boardfiles.load_index(str(root)),
                         players.Selection(window, metric, scope, kind))
    from slurm_scoreboard.view import screens
    return "\n".join("".join(text for text, _ in line)
                     for line in screens.snapshot_lines(state, 120, 0, True))


def test_every_user_board_as_the_view_shows_it_is_the_rebuilt_one(built, opted, rebuilt):
    changed = 0
    for window, metric, scope in every_user_board():
        now = snapshot_text(opted, window, metric, scope)
        assert now == snapshot_text(rebuilt, window, metric, scope), (window, metric, scope)
        changed += now != snapshot_text(built, window, metric, scope)
    assert changed > 20


# -- the interactive view (curses and textual share ViewState) ------------------------------

def test_the_running_view_drops_the_user_at_its_next_look_at_the_files(fresh):
    state = model.ViewState(fresh, boardfiles.load_index(fresh), players.Selection("alltime", "overall", "all",
                                                                   "users"))
    assert state.rows[0].name == OUT
    records = model.ViewState(fresh, state.index, state.sel)
    records.do_records()
    assert OUT in "".join(text for text, _ in records.text.lines)
    page = model.ViewState(fresh, state.index, state.sel)
    page.show_player(OUT)
    compared = model.ViewState(fresh, state.index, state.sel)
    compared.show_compare("sybil", OUT)
    assert page.screen == "player" and compared.screen == "text"
    assert state.reload_if_changed() is False
    add_opt_out(fresh)
    assert state.reload_if_changed() is True and state.message == "files changed: reloaded"
    assert OUT not in [row.name for row in state.rows]
    assert [row.rank for row in state.rows] == boardfiles.shared_ranks([r.rank for r in state.rows])
    assert state.rows[0].rank == 1
    records.reload_if_changed()
    assert records.screen == "text" and OUT not in "".join(t for t, _ in records.text.lines)
    for left in (page, compared):
        left.reload_if_changed()
        assert left.screen == "board" and left.alert
        assert left.message == f"{OUT} is no longer on the boards"
        assert OUT not in [row.name for row in left.rows]


def test_a_list_that_becomes_unreadable_empties_the_running_view(fresh):
    state = model.ViewState(fresh, boardfiles.load_index(fresh), players.Selection("alltime", "overall", "all",
                                                                   "users"))
    state.show_player("sybil")
    os.makedirs(os.path.join(fresh, "config", "optout.txt"))
    state.reload_if_changed()
    assert state.screen == "board" and state.rows == [] and state.board is None
    assert state.problem.startswith("unreadable: ") and "optout.txt" in state.problem


# -- sb-rank reading the board files (an account that may not write the root) ----------------

def as_reader(monkeypatch, capsysbinary, root, *args):
    monkeypatch.setattr(cli, "may_write", lambda root: False)
    code = sb_rank.main(["--root", str(root)] + list(args))
    out = capsysbinary.readouterr()
    return code, out.out, out.err


def ndjson(data):
    return [orjson.loads(line) for line in data.splitlines()]


def file_rows(root, window, metric, scope, kind="users"):
    path = layout.board_path(str(root), window, metric, None if scope == "all" else scope, kind)
    with open(path, "rb") as handle:
        return orjson.loads(handle.read())["rows"]


def test_sb_rank_from_the_files_gives_the_rebuilt_rows(opted, rebuilt, monkeypatch,
                                                      capsysbinary):
    for window, metric, scope in every_user_board():
        args = ["--window", window, "--metric", metric] + \
            ([] if scope == "all" else ["--cluster", scope])
        code, out, err = as_reader(monkeypatch, capsysbinary, opted, *args)
        assert code == 0 and err == b""
        assert ndjson(out) == file_rows(rebuilt, window, metric, scope), args


def test_sb_rank_user_and_compare_from_the_files_agree_with_the_store(opted, monkeypatch,
                                                                     capsysbinary):
    writer = tool("sb_rank", ["--root", opted, "--now", NOW, "--user", "sybil"])
    assert writer.returncode == 0, writer.stderr
    code, out, _ = as_reader(monkeypatch, capsysbinary, opted, "--user", "sybil")
    page, truth = orjson.loads(out), orjson.loads(writer.stdout)
    assert code == 0 and OUT not in out.decode()
    assert (page["overall"], page["skills"]) == (truth["overall"], truth["skills"])
    assert [(g["account"], g["ranks"]) for g in page["groups"]] == \
        [(g["account"], g["ranks"]) for g in truth["groups"]]
    code, out, _ = as_reader(monkeypatch, capsysbinary, opted, "--compare", "sybil", "mallory")
    writer = tool("sb_rank", ["--root", opted, "--now", NOW, "--compare", "sybil", "mallory"])
    assert code == 0 and orjson.loads(out) == orjson.loads(writer.stdout)
    code, out, err = as_reader(monkeypatch, capsysbinary, opted, "--user", OUT)
    assert code == 5 and out == b"" and err == f"sb-rank: no user {OUT} on the boards\n".encode()


# -- sb-news -------------------------------------------------------------------------------------

def news(root, *args):
    done = tool("sb_news", ["--root", str(root)] + list(args))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sb_news_prints_nothing_of_an_opted_out_user(built, opted):
    before, now = ndjson(news(built, "--all", "--all-scopes")), \
        ndjson(news(opted, "--all", "--all-scopes"))
    theirs = [e for e in before if e.get("user") == OUT]
    taken = [e for e in before if e.get("previous") == OUT]
    assert theirs and taken
    assert now == [dict(e, previous=None) if e.get("previous") == OUT else e
                   for e in before if e.get("user") != OUT]
    assert OUT.encode() not in news(opted, "--all", "--all-scopes", "--format", "text")


def test_events_waiting_in_the_outbox_leave_it_unposted(fresh):
    outbox = os.path.join(fresh, "state", "news", "chat.outbox")
    os.makedirs(os.path.dirname(outbox))
    news(fresh, "--cursor", "chat", "--format", "text", "--outbox", outbox, "--all-scopes")
    with open(outbox, "rb") as handle:
        queued = handle.read().splitlines()
    texts = [line.split(b"\t", 1)[1] for line in queued]
    assert any(text.split(b" ")[1] == OUT.encode() for text in texts)
    assert any(b" from " + OUT.encode() in text for text in texts)
    add_opt_out(fresh)
    news(fresh, "--cursor", "chat", "--format", "text", "--outbox", outbox, "--all-scopes")
    with open(outbox, "rb") as handle:
        left = handle.read().splitlines()
    assert OUT.encode() not in b"\n".join(left)
    assert len(left) == sum(1 for text in texts if text.split(b" ")[1] != OUT.encode())
    events = [orjson.loads(line.split(b"\t", 1)[0]) for line in left]
    assert [line.split(b"\t", 1)[1] for line in left] == \
        [news_text(event) for event in events]


def news_text(event):
    from slurm_scoreboard.history.achievements import describe
    return describe(event).encode()


# -- sb-export -----------------------------------------------------------------------------------

def export(root, *args):
    done = tool("sb_export", ["--root", str(root)] + [str(a) for a in args])
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def family_lines(text, prefix):
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_openmetrics_user_series_are_the_rebuilt_ones_and_group_series_wait(built, opted,
                                                                           rebuilt):
    before, now, after = (export(root, "--format", "openmetrics", "--top", 1000)
                          for root in (built, opted, rebuilt))
    users = "slurm_scoreboard_user_"
    assert f'user="{OUT}"' in before and f'user="{OUT}"' not in now
    assert family_lines(now, users) == family_lines(after, users)
    assert family_lines(now, users) != family_lines(before, users)
    groups = "slurm_scoreboard_group_"
    assert family_lines(now, groups) == family_lines(before, groups)


def site_pages(folder):
    found = {}
    for where, _, names in os.walk(str(folder)):
        for name in names:
            path = os.path.join(where, name)
            with open(path, encoding="utf-8") as handle:
                found[os.path.relpath(path, str(folder))] = handle.read()
    return found


def group_numbers(path):
    """The pages that show a group's numbers (which wait for the rebuild) or records."""
    return path.startswith("groups") or "/groups/" in path or path.startswith(
        "boards/groups") or path == "records.html"


def without_feeds(text):
    """A page without its lists of achievements and the records held (the history pass's)."""
    text = re.sub(r'<div class="history">.*?</div>', "", text, flags=re.S)
    return re.sub(r'<ul class="[^"]*\bfeed\b[^"]*">.*?</ul>', "", text, flags=re.S)


def test_the_html_site_is_the_rebuilt_one_but_for_group_numbers_and_records(
        built, opted, rebuilt, tmp_path):
    sites = {}
    for name, root in (("before", built), ("now", opted), ("after", rebuilt)):
        export(root, "--format", "html", "--output", tmp_path / name)
        sites[name] = site_pages(tmp_path / name)
    now, after = sites["now"], sites["after"]
    assert f"players/{OUT}.html" in sites["before"] and f"players/{OUT}.html" not in now
    assert not any(OUT in text for text in now.values())
    assert set(now) == set(after)
    same = [path for path in now if not group_numbers(path)]
    assert len(same) > 100 and "competitions.html" in same and "players/sybil.html" in same
    for path in same:
        # achievements and records held: who took rank 1 or a record once alice left is
        # known at the next rebuild
        assert without_feeds(now[path]) == without_feeds(after[path]), path
    assert any(without_feeds(text) != text for text in now.values())
    assert "Members:" in now["groups/chem.html"]


# -- group statistics as read ------------------------------------------------------------------

def test_group_statistics_as_read_drop_the_user_from_lists_and_ranks(opted, rebuilt):
    for window in WINDOWS:
        for scope in SCOPES:
            read = {g["account"]: g for g in BoardFiles(opted).group_stats(window, scope)}
            truth = {g["account"]: g for g in BoardFiles(rebuilt).group_stats(window, scope)}
            for account, group in read.items():
                expected = truth.get(account, {"users": [], "ranks": {}, "member_xp": {}})
                assert (group["users"], group["ranks"], group["member_xp"]) == \
                    (expected["users"], expected["ranks"], expected["member_xp"]), \
                    (window, scope, account)
                assert set(group["member_xp"]) == set(group["users"]), (window, account)


# -- the closing up, on random boards --------------------------------------------------------

NAMES = [f"u{i}" for i in range(10)]
RATES = dict(xp.DEFAULT_RATES)
names = st.sampled_from(NAMES)
hidden_sets = st.frozensets(names)
vectors = st.lists(st.sampled_from([0, 1, 3600, 7200, 36000 * 7, 3600 * 900]), min_size=6,
                   max_size=6)


@given(st.dictionaries(names, st.sampled_from([0, 0.5, 1, 1, 2, 3, 3, 7.25])), hidden_sets)
def test_closing_up_a_board_gives_the_ranks_of_a_board_made_without_them(values, hidden):
    for keep_zeros in (False, True):
        rows = [{"rank": r, "user": n, "value": v} for r, n, v in boardfiles.ranked(values, keep_zeros)]
        rest = {name: value for name, value in values.items() if name not in hidden}
        assert [(row["rank"], row["user"]) for row in boardfiles.visible_rows(rows, hidden)] == \
            [(rank, name) for rank, name, _ in boardfiles.ranked(rest, keep_zeros)]


@given(st.dictionaries(names, vectors), hidden_sets)
def test_every_skill_board_and_overall_closed_up_are_the_rebuilt_boards(vectors_of, hidden):
    table = standings.Standings(vectors_of, RATES)
    rest = standings.Standings({n: v for n, v in vectors_of.items() if n not in hidden}, RATES)
    for metric in boardfiles.BOARDS:
        assert boardfiles.visible_rows(table.rows(metric), hidden) == rest.rows(metric)


@given(st.dictionaries(names, st.dictionaries(st.sampled_from(["chem", "phys"]), vectors,
                                              min_size=1)), hidden_sets)
def test_group_member_lists_and_ranks_closed_up_are_the_rebuilt_ones(usage, hidden):
    groups = {g["account"]: g for g in groupstats.group_stats(usage, RATES)}
    rest = {g["account"]: g for g in groupstats.group_stats(
        {user: accounts for user, accounts in usage.items() if user not in hidden}, RATES)}
    for account, group in groups.items():
        expected = rest.get(account, {"users": [], "ranks": {}})
        assert boardfiles.closed_group_ranks(group["ranks"], hidden) == expected["ranks"]
        assert [user for user in group["users"] if user not in hidden] == expected["users"]


@given(st.dictionaries(names, vectors), hidden_sets)
def test_competition_standings_closed_up_are_the_rebuilt_ones(gains, hidden):
    def standings(during):
        contest = Competition("c", "C", ["clock_hours", "jobs"], "2025-01-01", "2025-01-31")
        contest.during = {name: list(vector) for name, vector in during.items()}
        return contest.standings(RATES)
    rest = {name: vector for name, vector in gains.items() if name not in hidden}
    assert boardfiles.visible_rows(standings(gains), hidden) == standings(rest)


def test_planted_rows_are_ranked_one_to_n_and_each_name_once():
    rows = [{"rank": 1, "user": "a"}, {"rank": 1, "user": "b"}, "junk", {"rank": 9, "user": 3},
            {"rank": 2, "user": "a"}, {"rank": "x", "user": "c"}, {"user": "d"}]
    assert [(r["rank"], r["user"]) for r in boardfiles.visible_rows(rows, frozenset("b"))] == \
        [(1, "a"), (2, "c"), (3, "d")]


# -- who opted out, and a list that cannot be read --------------------------------------------

def test_a_home_marker_a_poller_saw_counts_for_readers_and_a_changed_list_is_read_again(fresh):
    files = BoardFiles(fresh)
    assert OUT in [row.name for row in files.board("alltime", "overall").rows]
    os.makedirs(os.path.join(fresh, "state"), exist_ok=True)
    with open(optout.cache_file(fresh), "wb") as handle:
        handle.write(orjson.dumps({"version": 1, "checked": {OUT: {"anvil": [0, True]},
                                                             "sybil": {"anvil": [0, False]}}}))
    assert OUT not in [row.name for row in files.board("alltime", "overall").rows]
    assert "sybil" in [row.name for row in files.board("alltime", "overall").rows]
    add_opt_out(fresh, "sybil")
    assert "sybil" not in [row.name for row in files.board("alltime", "overall").rows]


UNREADABLE = {
    "a folder where the list belongs": ("config/optout.txt", "folder", "optout.txt cannot be read"),
    "a symlink as the list": ("config/optout.txt", "symlink", "optout.txt cannot be read"),
    "a cache that is not JSON": ("state/optout_cache.json", "{garbage",
                                 "optout_cache.json: not the pollers' opt-out cache"),
    "a folder where the cache belongs": ("state/optout_cache.json", "folder",
                                         "optout_cache.json cannot be read"),
}
READERS = {
    "sb-view": ("sb_view", ["--snapshot"]),
    "sb-view --records": ("sb_view", ["--snapshot", "--records"]),
    "sb-news": ("sb_news", ["--all"]),
    "sb-export openmetrics": ("sb_export", ["--format", "openmetrics"]),
    "sb-export html": ("sb_export", ["--format", "html", "--output", "SITE"]),
    "sb-rank (a rebuild)": ("sb_rank", []),
}


def make_unreadable(root, relative, how):
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    if how == "folder":
        os.makedirs(path)
    elif how == "symlink":
        target = os.path.join(os.path.dirname(root), "elsewhere.txt")
        with open(target, "w") as handle:
            handle.write("# nobody\n")
        os.symlink(target, path)
    else:
        with open(path, "w") as handle:
            handle.write(how)
    return path


@pytest.mark.parametrize("damage", UNREADABLE.values(), ids=UNREADABLE.keys())
@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_a_list_or_cache_that_cannot_be_read_stops_every_reader_with_one_line(fresh, tmp_path,
                                                                             damage, reader):
    relative, how, message = damage
    make_unreadable(fresh, relative, how)
    name, args = reader
    args = [str(tmp_path / "site") if arg == "SITE" else arg for arg in args]
    done = tool(name, ["--root", fresh] + args)
    prog = name.replace("_", "-")
    assert done.returncode == 1 and done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: ") and message in lines[0], lines
    assert not os.path.lexists(tmp_path / "site")


def test_a_list_this_account_may_not_read_stops_sb_rank_from_the_files(fresh, monkeypatch,
                                                                       capsysbinary):
    listed = os.path.join(fresh, "config", "optout.txt")
    add_opt_out(fresh, "nobody")
    real = optout.read_bytes

    def denied(path, limit=None):
        if path == listed:
            raise PermissionError(13, "Permission denied", path)
        return real(path, limit)
    monkeypatch.setattr(optout, "read_bytes", denied)
    code, out, err = as_reader(monkeypatch, capsysbinary, fresh, "--window", "alltime",
                               "--metric", "jobs")
    assert code == 1 and out == b""
    assert err.decode() == (f"sb-rank: {listed} cannot be read (Permission denied); refusing to "
                            "go on without the opt-out list: make it a text file everyone "
                            "using the root may read (sb-probe --root ROOT checks it)\n")


# -- sharing: readers of leaderboards/ may read the opt-out files --------------------------------

def run_as_writer(name, args, stdin=b""):
    """A writer's tool with a umask that would hide everything, and no SLURM command on PATH."""
    return subprocess.run([sys.executable, "-m", f"slurm_scoreboard_tools.{name}"] + args,
                          input=stdin, capture_output=True, preexec_fn=lambda: os.umask(0o077),
                          env=dict(ENV, PATH="/nonexistent"))


READER_BITS = {False: 0o044, True: 0o055}     # file, folder: what reading needs, group and other


@pytest.mark.parametrize("sharing_args", [[], ["--readers", "group"], ["--group", "root"],
                                          ["--group", "root", "--readers", "group"]])
def test_every_sharing_mode_lets_the_readers_of_leaderboards_read_the_opt_out_files(
        tmp_path, sharing_args):
    if sharing_args[:2] == ["--group", "root"] and os.geteuid() != 0:
        pytest.skip("group mode with group root needs root")
    root = str(tmp_path / "sb")
    probe_done = run_as_writer("sb_probe", ["--root", root] + sharing_args)
    assert probe_done.returncode == 2, probe_done.stderr            # 2: sacct missing, root made
    records = [job(i, user, "2025-08-20T00:00:00Z") for i, user in enumerate(("ann", "bo"))]
    from reduce_helpers import ndjson as records_ndjson
    done = run_as_writer("sb_reduce", ["--root", root, "--cluster", "hammer"],
                         records_ndjson(records))
    assert done.returncode == 0, done.stderr
    assert run_as_writer("sb_rank", ["--root", root, "--now", NOW]).returncode == 0
    mode = sharing.load(root)
    pairs = [("leaderboards", "config", True), ("leaderboards", "state", True),
             ("leaderboards/index.json", "config/optout.txt", False),
             ("leaderboards/index.json", "state/optout_cache.json", False)]
    for board, needed, folder in pairs:
        shown_to = os.stat(os.path.join(root, board))
        opt = os.stat(os.path.join(root, needed))
        bits = READER_BITS[folder]
        assert opt.st_mode & shown_to.st_mode & bits == shown_to.st_mode & bits, needed
        assert shown_to.st_mode & bits, board
        if mode.mode == "group":
            assert opt.st_gid == shown_to.st_gid == mode.gid
    assert probe.optout_finding(root, mode).verdict == "OK"
    listed = os.path.join(root, "config", "optout.txt")
    os.chmod(listed, 0o600)
    finding = probe.optout_finding(root, mode)
    wanted = 0o600 | (0o044 if mode.readers == "all" else 0o040)
    assert finding.verdict == "FAIL" and f"chmod {wanted:o} {listed}" in finding.detail


# -- the efficiency boards ---------------------------------------------------------------------

def test_the_efficiency_boards_drop_the_user_at_once(tmp_path):
    from test_efficiency import fleet, usage_reduce
    usage_reduce(tmp_path, fleet())
    assert tool("sb_rank", ["--root", str(tmp_path), "--now", NOW]).returncode == 0
    before = shown(tmp_path, "--metric", "cpu_used_hours")
    assert "ann" in before
    add_opt_out(tmp_path, "ann")
    now = shown(tmp_path, "--metric", "cpu_used_hours")
    assert "ann" not in now and now != before
    assert tool("sb_rank", ["--root", str(tmp_path), "--now", NOW]).returncode == 0
    assert shown(tmp_path, "--metric", "cpu_used_hours") == now


def test_every_board_file_still_names_the_user_until_the_rebuild(opted):
    """What these tests rely on: the files were not rewritten, only read differently."""
    assert any(row.get("user") == OUT for *_, document in every_board(opted)
               for row in document["rows"])
    assert stat.S_ISREG(os.stat(os.path.join(opted, "config", "optout.txt")).st_mode)
