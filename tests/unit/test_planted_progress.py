"""Planted progress files, months files and members' XP (found by a hostile review): a reader
never reads a planted file through, never draws a span of months no site has, and shows a
group's share only for its members, with XP a row may hold."""
import os

import orjson
import pytest

from slurm_scoreboard import boardfiles
from slurm_scoreboard.boardfiles import SKILLS, BoardFiles
from slurm_scoreboard.core import layout
from slurm_scoreboard.export.site import charts
from slurm_scoreboard.history import checkpoint

HEADER = {"asof": "2026-12-06T00:00:00Z", "format": boardfiles.PROGRESS_FORMAT,
          "version": boardfiles.PROGRESS_VERSION, "scope": "all", "kind": "users",
          "skills": list(SKILLS)}


def entry(name, months):
    size = len(months)
    return {"name": name, "months": months,
            "xp": {skill: [1] * size for skill in ("overall",) + SKILLS},
            "value": {skill: [1] * size for skill in SKILLS}}


@pytest.mark.parametrize("months, kept", [
    (["2001-01", "2050-12"], True),            # 600 months apart: the bound
    (["2001-01", "2051-01"], False),
    (["1970-01", "2999-12"], False),
    (["2026-01"], True)])
def test_a_progress_line_spans_at_most_the_months_limit(months, kept):
    assert (boardfiles.progress_entry(entry("ada", months), "users") is not None) == kept


def test_a_chart_runs_to_the_boards_month_and_no_further():
    gains = charts.Gains(entry("ada", ["2026-10", "2999-12"]), "2026-12")
    assert gains.months == ["2026-10", "2026-11", "2026-12"]
    assert gains.xp["overall"] == [1, 0, 0]


def test_a_sparse_progress_file_is_refused_without_being_read(tmp_path):
    root = str(tmp_path)
    path = layout.progress_file(root, "all", "users")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(HEADER) + b"\n" + orjson.dumps(entry("ada", ["2026-11"])))
        handle.truncate(boardfiles.BOARD_LIMIT + 1)
    files = BoardFiles(root)
    assert files.progress("all", "users", "ada") is None
    assert any("larger than 64 MiB" in problem for problem in files.problems)


def test_the_same_file_within_the_limit_is_read(tmp_path):
    root = str(tmp_path)
    path = layout.progress_file(root, "all", "users")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(HEADER) + b"\n" + orjson.dumps(entry("ada", ["2026-11"])) + b"\n")
    assert BoardFiles(root).progress("all", "users", "ada")["months"] == ["2026-11"]


def test_a_months_file_of_another_size_than_the_checkpoint_names_is_not_read(tmp_path):
    path = tmp_path / "months"
    path.write_bytes(b"x\n")
    info = os.stat(path)
    checkpoint._check_months_file(info, 2)
    with pytest.raises(checkpoint.Refused):
        checkpoint._check_months_file(info, 3)
    os.truncate(path, 1 << 34)                 # sparse: 16 GiB of holes
    with pytest.raises(checkpoint.Refused):
        checkpoint._check_months_file(os.stat(path), 2)


def test_members_xp_keeps_only_members_with_xp_a_row_may_hold():
    planted = {"ada": 10, "bob": 2 ** 64, "\u202eevil": 5, "eve": 7, "zed": 3, "x": True}
    kept = boardfiles.member_points(planted, frozenset({"zed"}),
                                    ["ada", "bob", "\u202eevil", "zed", "x"])
    assert kept == {"ada": 10}
    assert boardfiles.member_points(planted, frozenset(), None) == {}
