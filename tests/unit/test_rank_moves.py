"""Each board row keeps its rank at the end of the previous UTC day (``previous_rank``, written
by sb-rank's board writer, read by boardfiles; sb-view's movement marker):

- over random polls and rebuilds across days (several a day, days with none, users opting
  out), every row of a board as a reader sees it carries the rank the name had on that board
  as it stood when the day began (the last rebuild of an earlier day), among the names a
  reader may still see; a name that was not on it has none; a board with no earlier file
  says it knows nothing;
- a board whose rows and previous ranks stay the same is left alone (its file untouched).
"""
import os
from datetime import datetime, timedelta, timezone

import orjson
from crash_helpers import run_forked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reduce_helpers import job, ndjson

from slurm_scoreboard import boardfiles
from slurm_scoreboard.boardfiles import BoardFiles
from slurm_scoreboard.core import layout
from slurm_scoreboard_tools import sb_rank, sb_reduce

USERS = ("ann", "bo", "cy", "dee", "eve")
START = datetime(2025, 8, 28, 9, 0, tzinfo=timezone.utc)
BOARDS = (("alltime", "clock_hours", "users"), ("alltime", "overall", "groups"),
          ("rolling-7d", "jobs", "users"))


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


poll = st.fixed_dictionaries({
    "later": st.sampled_from([timedelta(hours=1), timedelta(hours=5), timedelta(days=1),
                              timedelta(days=3)]),
    "jobs": st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(["phys", "chem"]),
                               st.integers(1, 32), st.integers(0, 2)), max_size=4),
    "optout": st.one_of(st.none(), st.sampled_from(USERS))})


def reduce_jobs(root, jobs, now, first_id):
    records = [job(first_id + number, user, iso(now - timedelta(days=back, minutes=5)),
                   cpus=cpus, elapsed=3600, account=account)
               for number, (user, account, cpus, back) in enumerate(jobs)]
    if records:
        ran = run_forked(sb_reduce.main, ["--root", root, "-q"], stdin=ndjson(records),
                         env={"SLURM_SB_NOW": iso(now)})
        assert ran.code == 0, ran.stderr


def file_rows(root, window, metric, kind):
    path = layout.board_path(root, window, metric, None, kind)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return orjson.loads(handle.read())["rows"]


@settings(max_examples=int(os.environ.get("SB_MOVES_EXAMPLES", "15")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(poll, min_size=2, max_size=6))
def test_every_row_carries_its_rank_when_the_day_began(tmp_path_factory, polls):
    root = str(tmp_path_factory.mktemp("moves") / "root")
    os.makedirs(os.path.join(root, "config"))
    now, hidden, next_id = START, set(), 1
    ranked_day = None
    day_began = {board: None for board in BOARDS}      # the files as the day began
    for step in polls:
        now += step["later"]
        if step["optout"]:
            hidden.add(step["optout"])          # opting out stays (see the module's doc)
            with open(os.path.join(root, "config", "optout.txt"), "w") as handle:
                handle.write("".join(f"{user}\n" for user in sorted(hidden)))
        reduce_jobs(root, step["jobs"], now, next_id)
        next_id += len(step["jobs"])
        if not os.path.isdir(os.path.join(root, "clusters")):
            continue
        if ranked_day != now.date():
            day_began = {board: file_rows(root, *board) for board in BOARDS}
        ran = run_forked(sb_rank.main, ["--root", root, "--now", iso(now)])
        assert ran.code == 0, ran.stderr
        ranked_day = now.date()
        files = BoardFiles(root)
        for board in BOARDS:
            shown = files.board(board[0], board[1], "all", board[2])
            before = day_began[board]
            assert shown.previous_ranks == (before is not None), board
            expected = {} if before is None else {
                boardfiles.row_name(row): row["rank"]
                for row in boardfiles.visible_rows(before, frozenset(
                    hidden if board[2] == "users" else ()))}
            assert {row.name: row.previous_rank for row in shown.rows} == \
                {row.name: expected.get(row.name) for row in shown.rows}, (board, now)


def test_a_board_that_stays_the_same_all_day_keeps_its_file(tmp_path):
    root = str(tmp_path / "root")
    os.makedirs(root)
    reduce_jobs(root, [("ann", "phys", 4, 0), ("bo", "phys", 2, 0)], START, 1)
    for later in (timedelta(0), timedelta(days=1), timedelta(days=1, hours=3)):
        assert run_forked(sb_rank.main, ["--root", root, "--now", iso(START + later)]).code == 0
        if later == timedelta(days=1):
            path = layout.board_path(root, "alltime", "clock_hours")
            kept = os.stat(path).st_ino, open(path, "rb").read()
    assert (os.stat(path).st_ino, open(path, "rb").read()) == kept
    rows = orjson.loads(kept[1])["rows"]
    assert [(row["user"], row["rank"], row["previous_rank"]) for row in rows] == \
        [("ann", 1, 1), ("bo", 2, 2)]


def test_a_reader_closes_up_the_previous_ranks_of_who_opted_out_since_the_rebuild():
    rows = [{"rank": 1, "user": "a", "previous_rank": 2}, {"rank": 2, "user": "b",
                                                            "previous_rank": 1},
            {"rank": 3, "user": "c", "previous_rank": 3}, {"rank": 3, "user": "d"},
            {"rank": 5, "user": "e", "previous_rank": 3}]
    shown = boardfiles.visible_rows(rows, frozenset({"b"}))
    assert [(row["user"], row["rank"], row.get("previous_rank")) for row in shown] == \
        [("a", 1, 1), ("c", 2, 2), ("d", 2, None), ("e", 4, 2)]
    assert boardfiles.visible_rows(rows, frozenset({"c"}))[-1]["previous_rank"] == 3


def test_a_name_back_on_a_board_later_the_same_day_keeps_its_rank_of_the_day_before(tmp_path):
    """bo was 1st on the 7-day board at the end of Aug 31, off it at Sep 8's first rebuild
    (his jobs left the window) and back at the second: his rank then is still 1 (a file
    written today carried only its rows' previous ranks, and bo showed as new). Found by
    hypothesis in the second mutation round."""
    root = str(tmp_path / "root")
    os.makedirs(root)
    first = datetime(2025, 8, 31, 12, 0, tzinfo=timezone.utc)
    reduce_jobs(root, [("bo", "phys", 2, 0), ("bo", "phys", 2, 0), ("ann", "chem", 1, 0)],
                first, 1)
    assert run_forked(sb_rank.main, ["--root", root, "--now", iso(first)]).code == 0
    later = datetime(2025, 9, 8, 0, 30, tzinfo=timezone.utc)
    reduce_jobs(root, [("cy", "chem", 1, 1)], later, 10)
    assert run_forked(sb_rank.main, ["--root", root, "--now", iso(later)]).code == 0
    board = orjson.loads(open(layout.board_path(root, "rolling-7d", "jobs", None, "users"),
                              "rb").read())
    assert [row["user"] for row in board["rows"]] == ["cy"]
    assert board["previous_gone"] == [["ann", 2], ["bo", 1]]
    reduce_jobs(root, [("bo", "phys", 1, 0)], later + timedelta(minutes=30), 20)
    os.makedirs(os.path.join(root, "config"))
    with open(os.path.join(root, "config", "optout.txt"), "w") as handle:
        handle.write("ann\n")
    again = later + timedelta(minutes=30)
    assert run_forked(sb_rank.main, ["--root", root, "--now", iso(again)]).code == 0
    shown = BoardFiles(root).board("rolling-7d", "jobs", "all", "users")
    assert {row.name: row.previous_rank for row in shown.rows} == {"bo": 1, "cy": None}


# -- the movement's own edges, by hand --------------------------------------------------------

def test_a_previous_rank_is_a_whole_number_from_one():
    ranks = [boardfiles.previous_rank({"previous_rank": value})
             for value in (1, 2, 0, -1, True, 1.0, "1", None)]
    assert ranks == [1, 2, None, None, None, None, None, None]
    assert boardfiles.previous_rank(["previous_rank", 1]) is None


def test_gone_ranks_keep_pairs_of_a_name_and_a_rank_on_the_board():
    limit = boardfiles.ROW_LIMIT
    document = {"previous_gone": [["a", 1], ["b", limit], ["c", limit + 1], ["d", 0],
                                  ["e", 2, 3], [5, 2], ["f", True], "g", ["h", 4]]}
    assert boardfiles.gone_ranks(document) == [("a", 1), ("b", limit), ("h", 4)]
    assert boardfiles.gone_ranks({"previous_gone": {"a": 1}}) == []
    many = {"previous_gone": [[f"u{n}", 1] for n in range(limit + 5)]}
    assert len(boardfiles.gone_ranks(many)) == limit


def test_closing_up_counts_only_hidden_names_strictly_above():
    pairs = [("a", 1), ("h", 2), ("b", 2), ("c", 3), ("a", 9), ("k", 3), ("d", 4)]
    assert boardfiles._closed_up(pairs, frozenset({"h", "k"})) == {"a": 1, "b": 2, "c": 2, "d": 2}
    assert boardfiles._closed_up(pairs, frozenset()) == {"a": 1, "h": 2, "b": 2, "c": 3, "k": 3,
                                                         "d": 4}


def moved(document, before, hidden=frozenset()):
    boardfiles.moved_since_yesterday(document, orjson.dumps(before), hidden)
    return document


def board(asof, *rows, **more):
    return dict({"asof": asof, "kind": "users",
                 "rows": [dict({"rank": rank, "user": name}, **extra)
                          for rank, name, extra in rows]}, **more)


def test_a_board_of_an_earlier_day_gives_its_ranks_and_one_of_today_carries_its_own():
    yesterday = board("2025-09-01T23:00:00Z", (1, "a", {}), (2, "b", {}), (3, "c", {}))
    now = moved(board("2025-09-02T00:10:00Z", (1, "b", {}), (2, "a", {}), (3, "d", {})),
                yesterday)
    assert [row.get("previous_rank") for row in now["rows"]] == [2, 1, None]
    assert now["previous_ranks"] is True and now["previous_gone"] == [["c", 3]]
    later = moved(board("2025-09-02T23:59:59Z", (1, "c", {}), (2, "b", {})), now)
    assert [row.get("previous_rank") for row in later["rows"]] == [3, 2]
    assert later["previous_gone"] == [["a", 1]]
    assert moved(board("2025-09-02T01:00:00Z", (1, "a", {})),
                 board("2025-09-02T00:00:00Z", (1, "a", {}))) == \
        board("2025-09-02T01:00:00Z", (1, "a", {}))     # today's file that knew nothing


def test_who_opted_out_leaves_the_previous_ranks_closed_up_on_users_boards_only():
    yesterday = board("2025-09-01T12:00:00Z", (1, "x", {}), (2, "a", {}), (3, "b", {}))
    users = moved(board("2025-09-02T12:00:00Z", (1, "b", {}), (2, "a", {})), yesterday,
                  frozenset({"x"}))
    assert [row["previous_rank"] for row in users["rows"]] == [2, 1]
    assert users["previous_gone"] == []
    groups = moved(dict(board("2025-09-02T12:00:00Z", (1, "b", {})), kind="groups"),
                   yesterday, frozenset({"x"}))
    assert groups["rows"][0]["previous_rank"] == 3
    assert groups["previous_gone"] == [["a", 2], ["x", 1]]


def test_who_opted_out_since_yesterday_is_in_no_board_file_and_the_ranks_are_closed_up(tmp_path):
    """The files themselves (a reader closes ranks up too, but a shared file must not name
    who opted out): ann led yesterday; today she opted out, so bo was 1st yesterday."""
    root = str(tmp_path / "root")
    os.makedirs(os.path.join(root, "config"))
    reduce_jobs(root, [("ann", "phys", 8, 0), ("bo", "phys", 4, 0), ("cy", "chem", 2, 0)],
                START, 1)
    assert run_forked(sb_rank.main, ["--root", root, "--now", iso(START)]).code == 0
    with open(os.path.join(root, "config", "optout.txt"), "w") as handle:
        handle.write("ann\n")
    later = START + timedelta(days=1)
    assert run_forked(sb_rank.main, ["--root", root, "--now", iso(later)]).code == 0
    path = layout.board_path(root, "alltime", "clock_hours", None, "users")
    with open(path, "rb") as handle:
        raw = handle.read()
    board = orjson.loads(raw)
    assert [(row["user"], row["rank"], row["previous_rank"]) for row in board["rows"]] == \
        [("bo", 1, 1), ("cy", 2, 2)]
    assert board["previous_gone"] == [] and b"ann" not in raw
