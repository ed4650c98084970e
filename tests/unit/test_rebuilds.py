"""rebuilds: a rebuild is skipped only when nothing it reads changed and the UTC day is the same."""
import json
import os
from datetime import datetime, timezone

import orjson
import pytest
from reduce_helpers import ENV, job, ndjson, tool

from slurm_scoreboard.rank import rebuilds

NOON = datetime(2025, 8, 20, 12, 0, tzinfo=timezone.utc)


def store(root):
    rollups = root / "clusters" / "hammer" / "agg" / "rollups" / "monthly"
    rollups.mkdir(parents=True)
    (rollups / "2025-08.json").write_text("{}")
    (root / "clusters" / "hammer" / "agg" / "alltime.json").write_text("{}")
    (root / "leaderboards").mkdir()
    (root / "leaderboards" / "index.json").write_text("{}")
    return rollups


def replace(path, text):
    temp = str(path) + ".new"
    with open(temp, "w") as handle:
        handle.write(text)
    os.replace(temp, path)


def test_the_signature_follows_what_a_rebuild_reads(tmp_path):
    rollups = store(tmp_path)
    first = rebuilds.signature(str(tmp_path), NOON)
    assert rebuilds.signature(str(tmp_path), NOON.replace(hour=23)) == first
    assert rebuilds.signature(str(tmp_path), NOON.replace(day=21, hour=0)) != first
    changes = [lambda: replace(rollups / "2025-08.json", '{"x":1}'),
               lambda: (rollups / "2025-09.json").write_text("{}"),
               lambda: replace(tmp_path / "clusters" / "hammer" / "agg" / "alltime.json", "[]"),
               lambda: (tmp_path / "config").mkdir() or
               (tmp_path / "config" / "optout.txt").write_text("kim\n"),
               lambda: (tmp_path / "state").mkdir() or
               (tmp_path / "state" / "optout_cache.json").write_text("{}")]
    seen = {first}
    for change in changes:
        change()
        now = rebuilds.signature(str(tmp_path), NOON)
        assert now not in seen
        seen.add(now)


def test_a_rebuild_is_skipped_only_after_a_clean_one_with_the_same_signature(tmp_path):
    store(tmp_path)
    current = rebuilds.signature(str(tmp_path), NOON)
    assert rebuilds.unchanged(str(tmp_path), current) is None          # never rebuilt
    rebuilds.remember(str(tmp_path), current, "2025-08-20T12:00:00Z")
    assert rebuilds.unchanged(str(tmp_path), current) == "2025-08-20T12:00:00Z"
    assert rebuilds.unchanged(str(tmp_path), "other") is None
    os.remove(tmp_path / "leaderboards" / "index.json")
    assert rebuilds.unchanged(str(tmp_path), current) is None          # boards gone: rebuild
    (tmp_path / "leaderboards" / "index.json").write_text("{}")
    for garbage in (b"", b"[]", b'{"signature": 1}', b"\xff"):
        (tmp_path / "leaderboards" / "rebuild.json").write_bytes(garbage)
        assert rebuilds.unchanged(str(tmp_path), current) is None


# -- every input of the boards, changed alone, moves the signature; nothing else does ----------

def full_store(root):
    """A store with every file a rebuild reads, each as its writer leaves it."""
    rollups = store(root)
    agg = root / "clusters" / "hammer" / "agg"
    (agg / "usage").mkdir()
    (agg / "usage" / "2025-08-19.json").write_text("{}")
    (agg / "day_rule.json").write_text('{"ended_months": []}')
    (agg / "users").mkdir()
    (agg / "users" / "ann.json").write_text("{}")
    (root / "clusters" / "hammer" / "state").mkdir()
    (root / "clusters" / "hammer" / "state" / "poll_cursor.json").write_text("{}")
    (root / "config").mkdir()
    for name in ("xp.json", "efficiency.json", "competitions.json"):
        (root / "config" / name).write_text("{}")
    (root / "config" / "optout.txt").write_text("# opted out\n")
    (root / "state").mkdir()
    (root / "state" / "optout_cache.json").write_text("{}")
    return rollups


def in_place(path, text):
    """An edit in place, as an editor or `echo >>` makes it (the README says to edit
    optout.txt in place)."""
    with open(path, "a") as handle:
        handle.write(text)


def agg(root):
    return root / "clusters" / "hammer" / "agg"


INPUTS = {
    "a month's rollup replaced": lambda root: replace(agg(root) / "rollups" / "monthly" /
                                                      "2025-08.json", '{"x": 1}'),
    "a new month's rollup": lambda root: (agg(root) / "rollups" / "monthly" /
                                          "2025-09.json").write_text("{}"),
    "a month's rollup removed": lambda root: os.remove(agg(root) / "rollups" / "monthly" /
                                                       "2025-08.json"),
    "alltime.json replaced": lambda root: replace(agg(root) / "alltime.json", "[]"),
    # cp from a backup writes in place: the folder does not change, the file does
    "alltime.json copied over in place": lambda root: (agg(root) / "alltime.json").write_text(
        '{"users": []}'),
    "a usage day replaced": lambda root: replace(agg(root) / "usage" / "2025-08-19.json",
                                                 '{"jobs": {}}'),
    "a new usage day": lambda root: (agg(root) / "usage" / "2025-08-20.json").write_text("{}"),
    "day_rule.json replaced": lambda root: replace(agg(root) / "day_rule.json",
                                                   '{"ended_months": ["2025-07"]}'),
    "xp.json replaced": lambda root: replace(root / "config" / "xp.json", '{"rates": {}}'),
    "xp.json edited in place": lambda root: in_place(root / "config" / "xp.json", " "),
    "xp.json removed": lambda root: os.remove(root / "config" / "xp.json"),
    "efficiency.json replaced": lambda root: replace(root / "config" / "efficiency.json",
                                                     '{"min_cpu_hours": 2}'),
    "efficiency.json edited in place": lambda root: in_place(root / "config" /
                                                             "efficiency.json", " "),
    "competitions.json replaced": lambda root: replace(root / "config" / "competitions.json",
                                                       '{"presets": []}'),
    "competitions.json edited in place": lambda root: in_place(root / "config" /
                                                               "competitions.json", " "),
    "optout.txt edited in place": lambda root: in_place(root / "config" / "optout.txt",
                                                        "kim\n"),
    "optout.txt rewritten in place, same size": lambda root: (
        root / "config" / "optout.txt").write_text("kim\nbo\nalan\n"),
    "optout.txt replaced": lambda root: replace(root / "config" / "optout.txt", "kim\n"),
    "optout_cache.json replaced": lambda root: replace(root / "state" / "optout_cache.json",
                                                       '{"version": 1}'),
    "a new cluster": lambda root: (root / "clusters" / "anvil" / "agg").mkdir(parents=True),
}


@pytest.mark.parametrize("change", sorted(INPUTS))
def test_each_input_of_the_boards_changed_alone_moves_the_signature(tmp_path, change):
    full_store(tmp_path)
    before = rebuilds.signature(str(tmp_path), NOON)
    rebuilds.remember(str(tmp_path), before, "2025-08-20T12:00:00Z")
    INPUTS[change](tmp_path)
    after = rebuilds.signature(str(tmp_path), NOON)
    assert after != before
    assert rebuilds.unchanged(str(tmp_path), after) is None


def test_what_the_boards_do_not_read_changes_nothing(tmp_path):
    full_store(tmp_path)
    before = rebuilds.signature(str(tmp_path), NOON)
    rebuilds.remember(str(tmp_path), before, "2025-08-20T12:00:00Z")
    # the boards written, the poller's state, the user files, a sb-news cursor, later that day
    replace(tmp_path / "leaderboards" / "index.json", '{"asof": "x"}')
    (tmp_path / "leaderboards" / "alltime_jobs.json").write_text("{}")
    replace(tmp_path / "clusters" / "hammer" / "state" / "poll_cursor.json", '{"x": 1}')
    (tmp_path / "clusters" / "hammer" / "state" / "sacct_rate.json").write_text("[]")
    replace(agg(tmp_path) / "users" / "ann.json", '{"x": 1}')
    (tmp_path / "state" / "news").mkdir()
    (tmp_path / "state" / "news" / "mail.seen").write_text("")
    for hour in (12, 23):
        assert rebuilds.signature(str(tmp_path), NOON.replace(hour=hour)) == before
    assert rebuilds.unchanged(str(tmp_path), before) == "2025-08-20T12:00:00Z"


def test_a_new_efficiency_bar_from_the_flag_or_the_environment_is_a_change(tmp_path):
    """sb-poll passes $SLURM_SB_MIN_CPU_HOURS to its rebuild (sb-rank --if-changed): a new
    bar there rebuilds the efficiency boards at the next poll, as a new efficiency.json does."""
    record = dict(job(1, "ann", "2025-08-19T10:00:00Z", cpus=4, elapsed=9000), cpu_used_s=18000)
    for mode in ([], ["--usage"]):
        done = tool("sb_reduce", ["--root", str(tmp_path), "--cluster", "hammer"] + mode,
                    ndjson([record]))
        assert done.returncode == 0, done.stderr

    def rebuild(*args, env=None):
        done = tool("sb_rank", ["--root", str(tmp_path), "--now", "2025-08-20T12:00:00Z",
                                "--if-changed"] + list(args), env=dict(ENV, **(env or {})))
        assert done.returncode == 0, done.stderr
        board = orjson.loads((tmp_path / "leaderboards" /
                              "alltime_cpu_efficiency.json").read_bytes())
        return json.loads(done.stdout).get("skipped"), board["min_cpu_hours"], \
            [row["user"] for row in board["rows"]]

    assert rebuild() == (None, 10.0, ["ann"])                  # 10 CPU hours: at the bar
    assert rebuild() == ("unchanged", 10.0, ["ann"])
    assert rebuild(env={"SLURM_SB_MIN_CPU_HOURS": "11"}) == (None, 11.0, [])
    assert rebuild(env={"SLURM_SB_MIN_CPU_HOURS": "11"}) == ("unchanged", 11.0, [])
    assert rebuild("--min-cpu-hours", "2") == (None, 2.0, ["ann"])
    assert rebuild("--min-cpu-hours", "2") == ("unchanged", 2.0, ["ann"])
    assert rebuild() == (None, 10.0, ["ann"])


# -- a rebuild that left something out is not remembered ----------------------------------------

def test_a_rebuild_that_could_not_read_a_cluster_is_redone_by_the_next_if_changed(tmp_path):
    """anvil's store is busy (an update holds its lock), so the rebuild leaves it out (exit 3):
    the next --if-changed rebuild, the store unchanged, brings anvil back instead of skipping."""
    import fcntl

    from reduce_helpers import reduce

    from slurm_scoreboard.core import layout
    for cluster in ("hammer", "anvil"):
        done, _ = reduce(tmp_path, [job(1, "ann" if cluster == "hammer" else "bo",
                                        "2025-08-20T10:00:00Z", cluster=cluster)])
        assert done.returncode == 0, done.stderr
    env = dict(ENV, SLURM_SB_NOW="2025-08-20T12:00:00Z")
    args = ["--root", str(tmp_path), "--if-changed", "--history-every", "0"]
    with open(layout.store_lock(str(tmp_path), "anvil"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        busy = tool("sb_rank", args + ["--wait", "0"], env=env)
    assert busy.returncode == 3, busy.stderr
    board = tmp_path / "leaderboards" / "alltime_jobs.json"
    assert [row["user"] for row in orjson.loads(board.read_bytes())["rows"]] == ["ann"]
    again = tool("sb_rank", args, env=env)
    assert again.returncode == 0, again.stderr
    assert "skipped" not in orjson.loads(again.stdout)
    assert sorted(row["user"] for row in orjson.loads(board.read_bytes())["rows"]) == \
        ["ann", "bo"]
    assert orjson.loads(tool("sb_rank", args, env=env).stdout)["skipped"] == "unchanged"
