"""rebuilds: a rebuild is skipped only when nothing it reads changed and the UTC day is the same."""
import os
from datetime import datetime, timezone

from slurm_scoreboard import rebuilds

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
