"""sb-rank on hand-checked stores: window edges, multi-cluster sums, ties, groups, opt-out."""
import json
import os

import orjson
import pytest
from reduce_helpers import ENV, job, reduce, tool

from slurm_scoreboard.rank import standings

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
    """Two clusters; the days the jobs ran around the window edges of NOW (2024-03-01, leap
    year). Usage counts on the days a job ran, so each job runs inside the day it stands for."""
    hammer = [
        job(1, "alice", "2024-03-01T01:00:00Z", **hours(1)),          # today
        job(2, "alice", "2024-02-01T02:00:00Z", **hours(2)),          # 29 days ago: in 30d
        job(3, "bob", "2024-01-31T23:59:59Z", **hours(4)),            # 30 days ago: out of 30d
        job(4, "bob", "2024-02-29T12:00:00Z", **hours(8)),            # leap day
        job(5, "carol", "2023-03-02T23:00:00Z", **hours(16)),         # 366th day back
        job(6, "carol", "2023-03-04T08:00:00Z", **hours(32), account="chem"),   # from the 365th
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
    (quiet,) = rank(store, "--user", "carol", "--window", "rolling-7d")
    assert quiet["overall"] is None and all(s["rank"] is None for s in quiet["skills"])


def test_typos_are_named_with_exit_5_not_answered_with_zeros(store):
    for args, word in ((["--user", "nobody"], b"no user nobody"),
                       (["--window", "alltime", "--metric", "jobs", "--account", "nosuch"],
                        b"no account nosuch"),
                       (["--window", "alltime", "--metric", "jobs", "--cluster", "nosuch"],
                        b"no cluster nosuch")):
        done = tool("sb_rank", ["--root", str(store), "--now", NOW] + args)
        assert done.returncode == 5 and word in done.stderr and done.stdout == b"", args
    done = tool("sb_rank", ["--root", str(store), "--cluster", "hammer"])
    assert done.returncode == 2 and b"--cluster narrows" in done.stderr


def test_csv_and_tsv_with_chosen_columns(store):
    done = tool("sb_rank", ["--root", str(store), "--now", NOW, "-w", "rolling-30d", "-m",
                            "elapsed_hours", "-f", "csv", "-o", "rank,user,value"])
    assert done.stdout.decode().splitlines() == ["rank,user,value", "1,alice,8.0", "1,bob,8.0",
                                                 "3,dave,3.0"]
    done = tool("sb_rank", ["--root", str(store), "--now", NOW, "-w", "alltime", "-m",
                            "elapsed_hours", "--groups", "-f", "tsv", "-n", "-o",
                            "account,members,value"])
    assert done.stdout.decode().splitlines() == ["proj\t3\t36.0", "chem\t2\t35.0"]
    done = tool("sb_rank", ["--root", str(store), "--now", NOW, "--user", "dave", "-f", "csv",
                            "-o", "metric,rank,level"])
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "metric,rank,level" and lines[1].startswith("overall,")
    assert "gpu_clock_hours,1,6" in lines
    bad = tool("sb_rank", ["--root", str(store), "-w", "alltime", "-m", "jobs", "-o", "nope"])
    assert bad.returncode == 2 and b"unknown column nope" in bad.stderr


@pytest.mark.parametrize("fmt, sep", [("csv", ","), ("tsv", "\t")])
def test_a_hostile_account_name_is_escaped_in_csv_and_tsv(tmp_path, fmt, sep):
    """Account names are anything SLURM allows: one with a terminal escape and a tab stays one
    printable cell (a spreadsheet or terminal shows the escape as text)."""
    hostile = "lab\x1b[2J\tx"
    done, _ = reduce(tmp_path, [job(1, "ann", "2024-02-10T10:00:00Z", account=hostile,
                                    **hours(2))])
    assert done.returncode == 0, done.stderr
    done = tool("sb_rank", ["--root", str(tmp_path), "--now", NOW, "-w", "alltime", "-m",
                            "elapsed_hours", "--groups", "-f", fmt, "-n", "-o",
                            "account,members,value"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == f"lab\\x1b[2J\\tx{sep}1{sep}2.0\n"


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


def test_fractional_hours_stay_exact_on_boards_personal_pages_and_the_snapshot(tmp_path):
    # 5400 s x 3 CPUs = 4.5 CPU-core hours and 1.5 wall hours: no rounding anywhere.
    reduce(tmp_path, [job(1, "ann", "2024-02-20T00:00:00Z", elapsed=5400, cpus=3),
                      job(2, "ben", "2024-02-21T00:00:00Z", elapsed=3600, cpus=4)])
    rows = rank(tmp_path, "--window", "rolling-30d", "--metric", "clock_hours")
    assert [(r["rank"], r["user"], r["value"], r["xp"]) for r in rows] == \
        [(1, "ann", 4.5, 45), (2, "ben", 4.0, 40)]
    assert values(rank(tmp_path, "--window", "alltime", "--metric", "elapsed_hours")) == \
        {"ann": 1.5, "ben": 1.0}
    (page,) = rank(tmp_path, "--user", "ann")
    skills = {s["metric"]: s["value"] for s in page["skills"]}
    assert skills["clock_hours"] == 4.5 and skills["elapsed_hours"] == 1.5
    rank(tmp_path)
    assert board(tmp_path, "alltime_clock_hours")["rows"][0]["value"] == 4.5
    assert board(tmp_path, "rolling-30d_elapsed_hours", cluster="hammer")["rows"][0]["value"] == 1.5
    view = tool("sb_view", ["--root", str(tmp_path), "--snapshot", "--color", "never",
                            "--window", "alltime", "--metric", "clock_hours", "--width", "80"])
    assert view.returncode == 0, view.stderr
    first = next(line for line in view.stdout.decode().splitlines() if "ann" in line)
    assert first.split()[:2] == ["1", "ann"] and first.rstrip().endswith("4.5 h")
    personal = tool("sb_view", ["--root", str(tmp_path), "--snapshot", "--color", "never",
                                "--user", "ann", "--width", "80"]).stdout.decode()
    assert "4.5 h" in personal and "1.5 h" in personal


def test_overall_orders_by_total_level_then_total_xp_then_name():
    from slurm_scoreboard.core import xp
    rates = {skill: 1.0 for skill in xp.SKILLS}
    # [clock s, elapsed s, GPU clock s, GPU elapsed s, failed jobs, jobs]; with rate 1, jobs=174
    # is level 3 (174 XP), 83..173 level 2; five skills (failed jobs is a board apart: no XP).
    h = 3600
    vectors = {"cat": [0, 0, 0, 0, 0, 174],          # total level 7, 174 XP
               "eve": [0, 82 * h, 0, 0, 0, 173],     # total level 6, 255 XP: more XP, lower level
               "dan": [0, 0, 0, 0, 0, 173],          # 6, 173
               "zed": [0, 0, 0, 0, 0, 100],          # 6, 100
               "bob": [0, 100 * h, 0, 0, 0, 0],      # 6, 100: tied with zed, named first
               "amy": [0, 0, 0, 0, 0, 90],           # 6, 90
               "fay": [0, 0, 0, 0, 1000, 0]}         # 5, 0: failing earns nothing
    rows = standings.Standings(vectors, rates).overall_rows()
    assert [(r["rank"], r["user"], r["level"], r["xp"]) for r in rows] == [
        (1, "cat", 7, 174), (2, "eve", 6, 255), (3, "dan", 6, 173), (4, "bob", 6, 100),
        (4, "zed", 6, 100), (6, "amy", 6, 90), (7, "fay", 5, 0)]
    assert all("failed_jobs" not in row["skills"] for row in rows)
    failed = standings.Standings(vectors, rates).rows("failed_jobs")
    assert failed == [{"rank": 1, "user": "fay", "value": 1000}]


def test_jobs_without_an_account_count_for_their_user_and_make_no_nameless_group(tmp_path):
    from export_helpers import export
    records = [job(1, "ann", "2024-02-20T10:00:00Z", account="", **hours(30)),
               job(2, "ann", "2024-02-21T10:00:00Z", account="chem", **hours(2)),
               job(3, "bob", "2024-02-22T10:00:00Z", account="", **hours(300))]
    done, stats = reduce(tmp_path, records)
    assert done.returncode == 0 and stats["no_account"] == 2
    assert values(rank(tmp_path, "--window", "alltime", "--metric", "elapsed_hours")) == \
        {"ann": 32, "bob": 300}
    rank(tmp_path, "--history-every", "0")
    for window in ("alltime", "rolling-30d"):
        for scope in (None, "hammer"):
            for metric in ("elapsed_hours", "overall", "failed_jobs"):
                rows = board(tmp_path, f"{window}_{metric}", scope, "groups")["rows"]
                assert {row["account"] for row in rows} <= {"chem"}, (window, scope, metric)
            stats = board(tmp_path, f"{window}_stats", scope, "groups")["groups"]
            assert [g["account"] for g in stats] == ["chem"]
    assert "" not in {e.get("account") for e in
                      map(json.loads, (tmp_path / "leaderboards" /
                                       "achievements.ndjson").read_text().splitlines())}
    records_doc = json.loads((tmp_path / "leaderboards" / "records.json").read_text())
    assert all(r.get("account") != "" for r in records_doc["records"])
    (page,) = rank(tmp_path, "--user", "bob")
    assert page["groups"] == []
    metrics_text = export(tmp_path, "--format", "openmetrics").stdout.decode()
    assert 'account=""' not in metrics_text and 'account="chem"' in metrics_text
    site = tmp_path / "site"
    done = export(tmp_path, "--format", "html", "--output", str(site))
    assert done.returncode == 0, done.stderr
    pages = "".join(p.read_text() for p in site.rglob("*.html"))
    assert "Group scores for </" not in pages and "Group scores for chem" in pages


def test_a_board_apart_has_no_level_columns_and_compare_shows_no_xp_gap(store):
    done = tool("sb_rank", ["--root", str(store), "--now", NOW, "-w", "alltime", "-m",
                            "failed_jobs", "-f", "csv"])
    assert done.returncode == 0 and done.stdout.decode().splitlines()[0] == "rank,user,value"
    rank(store)
    view = tool("sb_view", ["--root", str(store), "--snapshot", "--color", "never",
                            "--compare", "alice", "bob", "--width", "80"])
    failed = next(line for line in view.stdout.decode().splitlines() if "Failed jobs" in line)
    assert failed.rstrip().endswith(" -")
