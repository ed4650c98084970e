"""What a writer of the root can plant in the board files, the index, the group statistics and
the opt-out cache, and what it may cost a reader: work linear in what is read, memory bounded by
what the largest real site writes (values counted before parsing), and only fields checked as
sb-rank writes them reach any output (no planted time, name or number of the wrong kind)."""
import os
import shutil

import orjson
import pytest
from export_helpers import export, ranked_root, read_board, write_board
from hypothesis import given, settings
from hypothesis import strategies as st

from slurm_scoreboard import boardfiles, cli, errors
from slurm_scoreboard.boardfiles import (
    SKILLS,
    VALUE_LIMIT,
    BoardFiles,
    checked_asof,
    checked_row,
    closed_group_ranks,
    load_index,
)
from slurm_scoreboard.core import optout, windows
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.rank import queries
from slurm_scoreboard.view import display

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 64 - 1) | st.floats() |
    st.text(max_size=20), lambda inner: st.lists(inner, max_size=4) |
    st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
FIELD = st.sampled_from(["rank", "user", "account", "value", "level", "virtual_level", "xp",
                         "members", "jobs", "cpu_hours", "gpu_hours", "skills", "planted"])


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    return ranked_root(tmp_path_factory.mktemp("root"))


@pytest.fixture
def root(ranked, tmp_path):
    return shutil.copytree(str(ranked), str(tmp_path / "root"))


def write_json(path, document):
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(document))


# -- rows: only fields sb-rank writes, each of its kind (findings 6, 7, 10) --------------------

@settings(max_examples=300, deadline=None)
@given(row=st.dictionaries(FIELD, JSON, max_size=8))
def test_a_row_is_kept_only_as_sb_rank_writes_it(row):
    checked = checked_row(row)
    if checked is None:
        return
    assert set(checked) <= boardfiles._ROW_FIELDS and "rank" in checked and "value" in checked
    for field, value in checked.items():
        if field == "user":
            assert boardfiles._is_plain(value)
        elif field == "account":
            assert safe_text(value) == value
        elif field == "skills":
            assert set(value) <= set(SKILLS) and all(type(v) is int for v in value.values())
        else:
            assert type(value) in (int, float) and 0 <= value <= 1e15
    orjson.dumps(checked)           # nothing nested deeper than a row's skills


@pytest.mark.parametrize("planted", [{"account": "a\u202eb"}, {"account": "x\u2066y"},
                                     {"level": "99"}, {"xp": {"x": 1}}, {"xp": [1, 2]},
                                     {"xp": True}, {"xp": -123456}, {"value": 1.5e300},
                                     {"value": [[[[[[]]]]]]}])
def test_a_planted_row_never_reaches_sb_rank_s_answer(root, planted):
    kind = "groups" if "account" in planted else "users"
    for window in ("alltime", "rolling-7d"):
        document = read_board(root, window, "jobs", kind=kind)
        document["rows"][0].update(planted, extra="\x1b[2J")
        write_board(root, document, window, "jobs", kind=kind)
    rows = queries.board_from_files(root, queries.Query("alltime", "jobs", kind == "groups"))
    page = queries.pages_from_files(root, queries.Query("rolling-7d", names=["alice"]))[0]
    text = orjson.dumps([rows, page]).decode()
    assert "extra" not in text and "\u202e" not in text and "\u2066" not in text
    assert all(type(row["xp"]) is int and row["xp"] >= 0 for row in rows)
    assert all(skill["xp"] is None or type(skill["xp"]) is int for skill in page["skills"])


# -- times (finding 5) --------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=24) | st.just("2025-08-31T1\u202e:00:00Z") |
       st.just("2025-08-31T\x1b[2J0:0Z"))
def test_a_time_is_shown_only_when_it_is_a_real_utc_instant(text):
    assert checked_asof(text) in ("", text)
    shown = display.when(text)
    assert shown == "" or (shown.isascii() and shown.isprintable() and shown.endswith(" UTC"))


def test_a_planted_time_reaches_no_page(root):
    document = read_board(root, "alltime", "overall")
    document["asof"] = "2025-08-31T\u202e2:00:0Z"
    write_board(root, document, "alltime", "overall")
    page = queries.pages_from_files(root, queries.Query("alltime", names=["alice"]))[0]
    assert page["asof"] == ""


# -- the index: known windows and boards, clusters ranked, each name once (findings 2, 3) -------

def test_the_index_names_only_known_windows_boards_and_ranked_clusters(root, tmp_path):
    path = os.path.join(root, "leaderboards", "index.json")
    with open(path, "rb") as handle:
        index = orjson.loads(handle.read())
    real = load_index(root)
    planted = dict(index, windows=index["windows"] + [f"w{i}" for i in range(25)],
                   metrics=index["metrics"] + [f"m{i}" for i in range(25)] * 2,
                   clusters=index["clusters"] + [f"c{i}" for i in range(10)] * 4000,
                   efficiency=["cpu_used_hours"] * 40_000)
    write_json(path, planted)
    os.makedirs(os.path.join(root, "leaderboards", "clusters", "c1"))   # a folder, no boards
    assert load_index(root) == real._replace(efficiency=["cpu_used_hours"])
    assert set(load_index(root).windows) <= set(windows.NAMES)
    write_json(path, dict(planted, efficiency=[]))
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target).returncode == 0
    pages = [name for _, _, names in os.walk(target) for name in names]
    write_json(path, index)
    again = tmp_path / "again"
    assert export(root, "--format", "html", "--output", again).returncode == 0
    assert len(pages) == len([name for _, _, names in os.walk(again) for name in names])


# -- group statistics: only the skills, each a sort (findings 1, 6) ----------------------------

@settings(max_examples=200, deadline=None)
@given(ranks=st.dictionaries(st.text(min_size=1, max_size=4),
                             st.dictionaries(st.text(max_size=16), JSON, max_size=6), max_size=8),
       hidden=st.frozensets(st.text(min_size=1, max_size=4), max_size=3))
def test_a_group_s_ranks_are_its_skills_closed_up(ranks, hidden):
    kept = closed_group_ranks(ranks, hidden)
    assert set(kept) == {u for u, mine in ranks.items() if isinstance(mine, dict)} - hidden
    for metric in SKILLS:
        placed = sorted(mine[metric] for mine in kept.values() if type(mine.get(metric)) is int)
        assert placed == boardfiles.shared_ranks(placed)
    assert all(set(mine) <= set(SKILLS) for mine in kept.values())


def test_a_page_lists_at_most_groups_shown_groups(root):
    path = os.path.join(root, "leaderboards", "groups", "alltime_stats.json")
    tiny = [{"account": f"g{i}", "members": 1, "users": ["alice"],
             "ranks": {"alice": {"jobs": 1}, **{f"u{i}": {f"m{j}": 1 for j in range(3)}}}}
            for i in range(3 * boardfiles.GROUPS_SHOWN)]
    write_json(path, {"asof": "2025-08-31T12:00:00Z", "groups": tiny})
    page = queries.pages_from_files(root, queries.Query("alltime", names=["alice"]))[0]
    assert len(page["groups"]) == boardfiles.GROUPS_SHOWN
    assert all(set(group["ranks"]) == set(SKILLS) for group in page["groups"])


# -- memory: values counted before parsing (finding 4) -------------------------------------------

def test_a_dense_board_is_refused_before_it_is_parsed(root):
    path = os.path.join(root, "leaderboards", "alltime_jobs.json")
    with open(path, "wb") as handle:
        handle.write(b'{"rows":[' + b"[]," * VALUE_LIMIT + b"[]]}")
    with pytest.raises(errors.BoardError, match="values"):
        BoardFiles(root).board("alltime", "jobs")


def test_a_board_of_more_rows_than_a_site_has_is_refused(root):
    rows = [{"rank": 1, "user": "a", "value": 1}] * (boardfiles.ROW_LIMIT + 1)
    write_json(os.path.join(root, "leaderboards", "alltime_jobs.json"), {"rows": rows})
    with pytest.raises(errors.BoardError, match="rows"):
        BoardFiles(root).board("alltime", "jobs")


def test_a_dense_opt_out_cache_is_refused_before_it_is_parsed(root):
    path = optout.cache_file(root)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    entries = b",".join(b'"u%d":{"c":[1,false]}' % i for i in range(optout.CACHE_ANSWERS + 1))
    with open(path, "wb") as handle:
        handle.write(b'{"checked":{' + entries + b"}}")
    with pytest.raises(errors.OptOutUnreadable):
        BoardFiles(root)


# -- no traceback, ever (finding 10) -------------------------------------------------------------

def test_a_value_orjson_cannot_write_is_one_error_line(capsys):
    def body(_args):
        nested: list = []
        for _ in range(300):
            nested = [nested]
        orjson.dumps(nested)
        return 0
    assert cli.run("sb-rank", cli.make_parser("sb-rank", "test"), body, []) == errors.EXIT_ERROR
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sb-rank: cannot write the answer as JSON")
