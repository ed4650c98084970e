"""SIGKILL sb-reduce at every one of its write points, rerun, and check the totals are exact.

The write points are not sampled: files.fault_point() marks each one (before creating, writing,
syncing, renaming or removing a file), $SLURM_SB_FAULT_COUNT reports how many a run passes, and
$SLURM_SB_FAULT_AT=N kills the process with SIGKILL at the Nth.
"""
import os
import shutil
import signal

import orjson
from reduce_helpers import ENV, expected_totals, job, reduce, rollup, user_totals

BATCH_A = [job(i, ("alice", "bob")[i % 2], f"2025-07-{1 + i % 28:02d}T06:00:00Z", cpus=1 + i % 3,
               elapsed=100 * i, account=("phys", "chem")[i % 2]) for i in range(1, 13)]
BATCH_B = (BATCH_A[6:] +
           [job(100 + i, ("alice", "carol", "dave")[i % 3], f"2025-{7 + i % 3:02d}-{1 + i:02d}T00:00:00Z",
                cpus=2, elapsed=50 * i, gpus=i % 2, state=("COMPLETED", "FAILED")[i % 2])
            for i in range(12)] +
           # jobs that ran across months: their usage lands in two and three months' rollups
           [job(200, "alice", "2025-08-03T12:00:00Z", cpus=3, elapsed=40 * 86400, gpus=1),
            job(201, "erin", "2025-09-01T01:00:00Z", cpus=2, elapsed=7200, state="TIMEOUT")])
TRUTH = expected_totals({r["key"]: r for r in BATCH_A + BATCH_B}.values())


def count_points(root, tmp_path):
    counter = tmp_path / "points"
    done, _ = reduce(root, BATCH_B, env=dict(ENV, SLURM_SB_FAULT_COUNT=str(counter)))
    assert done.returncode == 0, done.stderr
    return int(counter.read_text())


def months_of(root):
    folder = os.path.join(str(root), "clusters", "hammer", "agg", "rollups", "monthly")
    return sorted(name[:-5] for name in os.listdir(folder) if not name.startswith("."))


def assert_exact(root):
    assert user_totals(root) == TRUTH
    for month in months_of(root):
        data = rollup(root, month)
        for entry in data["users"]:
            rows = [row[3:] for row in data["days"] if row[0] == entry["username"]]
            assert entry["totals"] == [sum(row[i] for row in rows) for i in range(6)]
    month_sums = {}
    for month in months_of(root):
        for entry in rollup(root, month)["users"]:
            sums = month_sums.setdefault(entry["username"], [0] * 6)
            for i in range(6):
                sums[i] += entry["totals"][i]
    assert month_sums == TRUTH
    with open(os.path.join(root, "clusters", "hammer", "agg", "alltime.json"), "rb") as handle:
        alltime = orjson.loads(handle.read())
    assert {e["username"]: e["totals"] for e in alltime["users"]} == TRUTH
    leftovers = [name for _, _, names in os.walk(root) for name in names
                 if name.startswith(".") or name == "journal.json"]
    assert leftovers == []


def killed_at(root, point, records=BATCH_B):
    done, _ = reduce(root, records, env=dict(ENV, SLURM_SB_FAULT_AT=str(point)))
    assert done.returncode == -signal.SIGKILL, (point, done.returncode, done.stderr)


def test_kill_at_every_write_point_then_rerun_gives_exact_totals(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    done, _ = reduce(base, BATCH_A)
    assert done.returncode == 0
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    points = count_points(probe, tmp_path)
    assert_exact(probe)
    assert points > 20
    for point in range(1, points + 1):
        root = tmp_path / f"kill-{point}"
        shutil.copytree(base, root)
        killed_at(root, point)
        done, stats = reduce(root, BATCH_B)
        assert done.returncode == 0, (point, done.stderr)
        assert_exact(root)
        shutil.rmtree(root)


def test_a_second_kill_during_recovery_is_also_safe(tmp_path):
    """Kill after the commit point (journal written), then kill the rerun while it recovers."""
    base = tmp_path / "base"
    base.mkdir()
    reduce(base, BATCH_A)
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    points = count_points(probe, tmp_path)
    journaled = []
    for point in range(1, points + 1):
        root = tmp_path / "scan"
        shutil.copytree(base, root)
        killed_at(root, point)
        if (root / "clusters" / "hammer" / "state" / "journal.json").exists():
            journaled.append(point)
        shutil.rmtree(root)
    assert journaled, "no kill point fell between the commit and the end of the update"
    for point in (journaled[0], journaled[len(journaled) // 2], journaled[-1]):
        for second in range(1, 4):
            root = tmp_path / f"twice-{point}-{second}"
            shutil.copytree(base, root)
            killed_at(root, point)
            done, _ = reduce(root, BATCH_B, env=dict(ENV, SLURM_SB_FAULT_AT=str(second)))
            done, _ = reduce(root, BATCH_B)
            assert done.returncode == 0
            assert_exact(root)
            shutil.rmtree(root)
