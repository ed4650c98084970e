"""sb-export --format openmetrics, read back with prometheus_client's own parsers: every series
against the board files on disk, escaping of hostile names, the top-N bound, opt-out, and an
--output file that node_exporter never sees half-written."""
import os
import re
import shutil
import signal
from datetime import datetime, timezone

import orjson
import pytest
from export_helpers import (
    CLUSTERS,
    HOSTILE,
    NOW,
    every_board,
    export,
    opt_out,
    ranked_root,
    read_board,
    write_board,
)
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus_text
from reduce_helpers import ENV

from slurm_scoreboard.boardfiles import LEVELLESS
from slurm_scoreboard.export import openmetrics

LABEL = {"users": "user", "groups": "account"}
FAMILY = {"users": "slurm_scoreboard_user", "groups": "slurm_scoreboard_group"}


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    return ranked_root(tmp_path_factory.mktemp("root"))


@pytest.fixture
def root(ranked, tmp_path):
    """A copy of the ranked root a test may change."""
    return shutil.copytree(str(ranked), str(tmp_path / "root"))


def exposition(root, *args):
    done = export(root, "--format", "openmetrics", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def series(text):
    """{(metric name, frozenset of labels): value} parsed by the OpenMetrics parser."""
    found = {}
    for family in parse_om(text):
        assert family.type == "gauge"
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in found, key
            found[key] = sample.value
    return found


def expected(root, top):
    """The same, computed straight from the board files on disk."""
    wanted = {}
    for scope, kind, window, metric, document in every_board(root):
        for row in document["rows"][:top]:
            labels = frozenset({LABEL[kind]: row[LABEL[kind]], "skill": metric, "window": window,
                                "slurm_cluster": scope}.items())
            gauges = ("value", "rank") if metric in LEVELLESS else ("value", "level", "rank")
            for gauge in gauges:
                wanted[(f"{FAMILY[kind]}_{gauge}", labels)] = row[gauge]
    return wanted


def without_asof(found):
    return {key: value for key, value in found.items()
            if key[0] != openmetrics.ASOF}


def test_every_series_is_a_row_of_its_board(ranked):
    found = series(exposition(ranked))
    assert without_asof(found) == pytest.approx(expected(ranked, 100))
    users = {dict(labels).get("user") for name, labels in found if "user" in dict(labels)}
    assert users == {"alice", "bob", "carol", "dave", "erin"}
    assert {dict(labels)["slurm_cluster"] for _, labels in without_asof(found)} == {"all", *CLUSTERS}


def test_values_levels_and_ranks_of_the_top_user(ranked):
    found = series(exposition(ranked))
    labels = frozenset({"user": "alice", "skill": "clock_hours", "window": "alltime",
                        "slurm_cluster": "all"}.items())
    assert found[("slurm_scoreboard_user_value", labels)] == 40 * 4 + 10 + 1
    assert found[("slurm_scoreboard_user_rank", labels)] == 1
    row = read_board(ranked, "alltime", "clock_hours")["rows"][0]
    assert found[("slurm_scoreboard_user_level", labels)] == row["level"] > 1


def test_the_boards_time_is_a_gauge(ranked):
    found = series(exposition(ranked))
    stamp = datetime(2025, 8, 31, 12, tzinfo=timezone.utc).timestamp()
    assert found[(openmetrics.ASOF, frozenset())] == stamp == \
        openmetrics.asof_seconds(NOW)


def test_a_hostile_account_name_round_trips_escaped(ranked):
    text = exposition(ranked)
    assert 'account="evil\\"\\\\<img src=x onerror=alert(1)><script>' in text
    hostile = [key for key in series(text) if dict(key[1]).get("account") == HOSTILE]
    assert hostile
    assert len([line for line in text.splitlines() if 'account="evil' in line]) == len(hostile)


def test_a_planted_user_name_is_left_out(root):
    """Usernames sb-reduce stores are plain names, but a writer of the root can plant any name
    in a board file: a row whose name is not one is left out, and nothing of it is written."""
    document = read_board(root, "alltime", "jobs")
    planted = 'x"y\\z\nnext{a="b"} 1'
    document["rows"][0]["user"] = planted
    write_board(root, document, "alltime", "jobs")
    text = exposition(root)
    for parse in (parse_om, parse_prometheus_text):
        names = {sample.labels.get("user") for family in parse(text)
                 for sample in family.samples}
        assert planted not in names and len(names - {None}) > 1
        assert "b" not in names and 'next{a="b"} 1' not in names
    assert 'x\\"y' not in text and "next{" not in text


def test_control_characters_in_a_name_leave_its_row_out(root):
    """The specification escapes only backslash, quote and newline: a planted name with an ESC,
    BEL, carriage return or C1 character is not a user name, so its row is left out, never
    written raw."""
    document = read_board(root, "alltime", "jobs")
    document["rows"][0]["user"] = "a\x1b[31mb\x07c\rd\x9be\nf"
    write_board(root, document, "alltime", "jobs")
    text = exposition(root)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text and "\x9b" not in text
    assert 'user="a\\' not in text and "[31mb" not in text
    for parse in (parse_om, parse_prometheus_text):
        names = {sample.labels.get("user") for family in parse(text) for sample in family.samples}
        assert not any(name and name.startswith("a\\x1b") for name in names) and len(names) > 1


def test_the_text_ends_with_eof_and_is_also_prometheus_text(ranked):
    text = exposition(ranked)
    assert text.endswith("\n# EOF\n")
    prometheus = {(s.name, frozenset(s.labels.items())): s.value
                  for family in parse_prometheus_text(text) for s in family.samples}
    assert prometheus == series(text)
    assert not re.search(r"^# UNIT", text, re.M)


@pytest.mark.parametrize("top", [1, 2])
def test_top_bounds_the_rows_of_every_board(ranked, top):
    found = series(exposition(ranked, "--top", top))
    assert without_asof(found) == pytest.approx(expected(ranked, top))
    per_board = {}
    for name, labels in without_asof(found):
        board = (name, frozenset((k, v) for k, v in labels if k not in ("user", "account")))
        per_board[board] = per_board.get(board, 0) + 1
    assert max(per_board.values()) == top
    assert len(found) <= openmetrics.series_bound(top, len(CLUSTERS), 5, 11)


def test_the_bound_in_the_man_page_is_the_code_s():
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(top, "man", "man1", "sb-export.1")) as handle:
        page = handle.read().replace("\\-", "-")
    assert f"{openmetrics.series_bound(100, 3, 5, 11):,}" in page
    assert f"{openmetrics.series_bound(100, 3, 5, 11):,}" in openmetrics.__doc__


def test_an_opted_out_user_never_appears_even_before_the_next_rebuild(root):
    opt_out(root, "alice")
    found = series(exposition(root))
    assert "alice" not in {dict(labels).get("user") for _, labels in found}
    assert "bob" in {dict(labels).get("user") for _, labels in found}


def test_output_file_is_replaced_whole(root, tmp_path):
    target = tmp_path / "textfile" / "slurm_scoreboard.prom"
    done = export(root, "--format", "openmetrics", "--output", target)
    assert done.returncode == 0 and done.stdout == b"", done.stderr
    first = target.read_text()
    assert first == exposition(root)
    assert oct(os.stat(target).st_mode & 0o777) == "0o644"
    assert os.listdir(target.parent) == ["slurm_scoreboard.prom"]


def test_a_killed_export_leaves_the_old_file_and_no_other_prom_file(root, tmp_path):
    """node_exporter reads every *.prom of its folder, hidden ones too: the temporary file must
    not be one, and the old file stays whole until the rename."""
    target = tmp_path / "slurm_scoreboard.prom"
    target.write_text("old_metric 1\n# EOF\n")
    counter = tmp_path / "points"
    env = dict(ENV, SLURM_SB_FAULT_COUNT=str(counter))
    done = export(root, "--format", "openmetrics", "--output", target, env=env)
    assert done.returncode == 0, done.stderr
    points = int(counter.read_text())
    assert points >= 3
    for point in range(1, points + 1):
        target.write_text("old_metric 1\n# EOF\n")
        done = export(root, "--format", "openmetrics", "--output", target,
                      env=dict(ENV, SLURM_SB_FAULT_AT=str(point)))
        assert done.returncode == -signal.SIGKILL, point
        assert target.read_text() in ("old_metric 1\n# EOF\n", exposition(root)), point
        proms = [name for name in os.listdir(tmp_path) if name.endswith(".prom")]
        assert proms == ["slurm_scoreboard.prom"], point


def test_no_series_is_written_twice_whatever_the_files_say(root):
    """A cluster named "all" would repeat the merged scope's labels, a planted board a name:
    either would make node_exporter drop the whole file."""
    with open(os.path.join(root, "leaderboards", "index.json"), "rb") as handle:
        index = orjson.loads(handle.read())
    index["clusters"].insert(0, "all")
    with open(os.path.join(root, "leaderboards", "index.json"), "wb") as handle:
        handle.write(orjson.dumps(index))
    document = read_board(root, "alltime", "jobs")
    document["rows"].append(dict(document["rows"][0], rank=99))
    write_board(root, document, "alltime", "jobs")
    done = export(root, "--format", "openmetrics")
    assert done.returncode == 0 and done.stderr == b""    # "all" has no boards: not a cluster
    found = series(done.stdout.decode())
    assert {dict(labels)["slurm_cluster"] for _, labels in without_asof(found)} == {"all", *CLUSTERS}


def test_a_label_value_escapes_what_the_spec_escapes_and_shows_other_controls_as_text():
    from slurm_scoreboard.export.openmetrics import escape_label
    assert escape_label('a\nb"c\\d') == 'a\\nb\\"c\\\\d'
    assert escape_label("x\x1b[2Jy\u202e") == "x\\\\x1b[2Jy\\\\u202e"
    assert escape_label("plain-name_1") == "plain-name_1"
