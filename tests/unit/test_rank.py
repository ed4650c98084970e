"""sb-rank on hand-checked stores: window edges, multi-cluster sums, ties, groups, opt-out."""
import json
import os

import orjson
import pytest

from reduce_helpers import ENV, job, reduce, tool

NOW = "2024-03-01T09:30:00Z"


def rank(root, *args, env=None):
    done = tool("sb_rank", ["--root", str(root), "--now", NOW] + list(args), env=env)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def board(root, name, cluster=None, kind="users"):
    parts = [str(root), "leaderboards"] + (["clusters", cluster] if cluster else []) + \
        (["groups"] if kind == "groups" else []) + [name + ".json"]
    with open(os.path.join(*parts), "rb") as handle:
        return orjson.loads(handle.read())


def hours(h):
    return {"elapsed": 3600 * h, "cpus": 1}


@pytest.fixture
def store(tmp_path):
    """Two clusters; the times around the window edges of NOW (2024-03-01, leap year)."""
    hammer = [
        job(1, "alice", "2024-03-01T00:00:00Z", **hours(1)),          # today
        job(2, "alice", "2024-02-01T00:00:00Z", **hours(2)),          # 29 days ago: in 30d
        job(3, "bob", "2024-01-31T23:59:59Z", **hours(4)),            # 30 days ago: out of 30d
        job(4, "bob", "2024-02-29T12:00:00Z", **hours(8)),            # leap day
        job(5, "carol", "2023-03-02T12:00:00Z", **hours(16)),         # 366th day back
        job(6, "carol", "2023-03-03T00:00:00Z", **hours(32), account="chem"),   # 365th day back
    ]
    anvil = [
        job(7, "alice", "2024-02-15T00:00:00Z", cluster="anvil", **hours(5)),
        job(8, "dave", "2024-02-16T00:00:00Z", cluster="anvil", gpus=2, **hours(3),
            account="chem"),
    ]
    for records in (hammer, anvil):
        done, _ = reduce(tmp_path, records)
        assert done.returncode == 0
    return tmp_path


def values(rows, key="user"):
    return {row[key]: row["value"] for row in rows}


def test_rolling_30d_edges_and_leap_day(store):
    rows = rank(store, "--window", "rolling-30d", "--metric", "elapsed_hours")
    assert values(rows) == {"alice": 1 + 2 + 5, "bob": 8, "dave": 3}


def test_rolling_365d_edge(store):
    rows = rank(store, "--window", "rolling-365d", "--metric", "elapsed_hours")
    assert values(rows)["carol"] == 32


def test_rolling_7d_and_calendar_month(store):
    assert values(rank(store, "--window", "rolling-7d", "--metric", "elapsed_hours")) == \
        {"alice": 1, "bob": 8}
    assert values(rank(store, "--window", "month", "--metric", "elapsed_hours")) == {"alice": 1}


def test_multi_cluster_sums_and_per_cluster_scope(store):
    assert values(rank(store, "--window", "alltime", "--metric", "clock_hours"))["alice"] == 8
    assert values(rank(store, "--window", "alltime", "--metric", "clock_hours",
                       "--cluster", "anvil")) == {"alice": 5, "dave": 3}


def test_ties_share_a_rank_and_are_ordered_by_name(tmp_path):
    reduce(tmp_path, [job(1, "zed", "2024-02-01T00:00:00Z", **hours(2)),
                      job(2, "amy", "2024-02-01T00:00:00Z", **hours(2)),
                      job(3, "kim", "2024-02-01T00:00:00Z", **hours(5)),
                      job(4, "bea", "2024-02-01T00:00:00Z", **hours(1)),
                      job(5, "nul", "2024-02-01T00:00:00Z", elapsed=0, cpus=1, start=None,
                          state="CANCELLED")])
    rows = rank(tmp_path, "--window", "alltime", "--metric", "clock_hours")
    assert [(r["rank"], r["user"]) for r in rows] == [(1, "kim"), (2, "amy"), (2, "zed"), (4, "bea")]


def test_group_boards_and_account_narrowing(store):
    groups = rank(store, "--window", "alltime", "--metric", "elapsed_hours", "--groups")
    assert values(groups, "account") == {"proj": 1 + 2 + 4 + 8 + 16 + 5, "chem": 32 + 3}
    assert {g["account"]: g["members"] for g in groups} == {"proj": 3, "chem": 2}
    chem = rank(store, "--window", "alltime", "--metric", "elapsed_hours", "--account", "chem")
    assert values(chem) == {"carol": 32, "dave": 3}


def test_xp_and_level_in_rows(store):
    rows = rank(store, "--window", "alltime", "--metric", "gpu_clock_hours")
    # 6 GPU-hours x 100 XP = 600 XP: level 6 needs 512, level 7 needs 650.
    assert rows == [{"rank": 1, "user": "dave", "value": 6.0, "xp": 600, "level": 6,
                     "virtual_level": 6}]


def test_overall_ranks_by_total_level_then_xp(store):
    rows = rank(store, "--window", "alltime", "--metric", "overall")
    dave = next(r for r in rows if r["user"] == "dave")
    assert dave["skills"]["gpu_clock_hours"] == 6 and dave["value"] == sum(dave["skills"].values())
    assert [r["value"] for r in rows] == sorted((r["value"] for r in rows), reverse=True)


def test_rebuild_writes_every_board_with_the_schema(store):
    summary = rank(store)[0]
    assert summary["clusters"] == ["anvil", "hammer"] and summary["boards"] == 3 * 5 * 2 * 7
    doc = board(store, "rolling-30d_elapsed_hours")
    assert doc["asof"] == NOW and doc["window"] == "rolling-30d" and doc["cluster"] == "all"
    assert doc["metric"] == "elapsed_hours"
    assert set(doc["rows"][0]) == {"rank", "user", "value", "xp", "level", "virtual_level"}
    assert board(store, "alltime_jobs", cluster="anvil")["cluster"] == "anvil"
    assert board(store, "month_overall", kind="groups")["kind"] == "groups"
    index = json.loads((store / "leaderboards" / "index.json").read_text())
    assert index["clusters"] == ["anvil", "hammer"]
    leftovers = [n for _, _, names in os.walk(store / "leaderboards") for n in names
                 if n.startswith(".")]
    assert leftovers == []


def test_opt_out_hides_data_stored_before(store):
    (store / "config").mkdir()
    (store / "config" / "optout.txt").write_text("alice\n")
    rows = rank(store, "--window", "alltime", "--metric", "clock_hours")
    assert "alice" not in values(rows)
    groups = rank(store, "--window", "alltime", "--metric", "elapsed_hours", "--groups")
    assert values(groups, "account")["proj"] == 4 + 8 + 16
    rank(store)
    for name in ("alltime_clock_hours", "rolling-30d_overall"):
        assert all(row["user"] != "alice" for row in board(store, name)["rows"])


def test_personal_hiscores(store):
    (page,) = rank(store, "--user", "dave")
    assert page["user"] == "dave" and page["window"] == "alltime"
    gpu = next(s for s in page["skills"] if s["metric"] == "gpu_clock_hours")
    assert (gpu["rank"], gpu["level"], gpu["xp"]) == (1, 6, 600)
    assert page["overall"]["rank"] >= 1
    (nobody,) = rank(store, "--user", "nobody")
    assert nobody["overall"] is None and all(s["rank"] is None for s in nobody["skills"])


def test_now_from_the_environment(store):
    env = dict(ENV, SLURM_SB_NOW="2024-02-16T12:00:00Z")
    done = tool("sb_rank", ["--root", str(store), "--window", "month", "--metric",
                            "elapsed_hours"], env=env)
    # February 1-16: bob's leap-day job ends after that "now".
    assert {json.loads(l)["user"] for l in done.stdout.splitlines()} == {"alice", "dave"}


def test_usage_errors(store):
    for args in (["--window", "alltime"], ["--metric", "jobs"], ["--groups"],
                 ["--window", "weekly", "--metric", "jobs"], ["--user", "../x"],
                 ["--user", "a", "--metric", "jobs"]):
        assert tool("sb_rank", ["--root", str(store)] + args).returncode == 2, args
