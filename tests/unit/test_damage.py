"""Damaged and hostile store files: each is named with its remedy and a documented exit code,
never a traceback; the repair commands make the totals exact again."""
import json
import os
import subprocess
import sys

import orjson
import pytest
from reduce_helpers import ENV, job, reduce, rollup, tool, user_totals

NOW = "2025-09-30T12:00:00Z"


def records():
    jobs = [job(i, ("ann", "bob", "cat")[i % 3], f"2025-08-{1 + i % 28:02d}T10:00:00Z",
                cpus=1 + i % 4, elapsed=600 * (1 + i % 5)) for i in range(30)]
    jobs += [job(100 + i, ("ann", "bob")[i % 2], f"2025-09-{1 + i % 28:02d}T10:00:00Z", cpus=2,
                 elapsed=900) for i in range(10)]
    return jobs


@pytest.fixture
def store(tmp_path):
    done, _ = reduce(tmp_path, records())
    assert done.returncode == 0, done.stderr
    return tmp_path


def agg(root, *parts):
    return os.path.join(str(root), "clusters", "hammer", "agg", *parts)


def rank(root, *args):
    return tool("sb_rank", ["--root", str(root), "--now", NOW] + list(args))


def board_values(root, name):
    with open(os.path.join(str(root), "leaderboards", name + ".json"), "rb") as handle:
        return {row["user"]: row["value"] for row in orjson.loads(handle.read())["rows"]}


def write_json(path, value):
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(value) if not isinstance(value, bytes) else value)


# -- poison records ---------------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"cpu_seconds": 2 ** 64 - 1}, {"end": "9999-12-31T23:59:59Z"}, {"elapsed_s": -3600},
    {"cpus": "4"}, {"gpus": [1]}, {"cpu_seconds": 1e308}, {"start": "2025-13-01T00:00:00Z"},
])
def test_a_poison_record_is_skipped_and_never_stored(store, change):
    before = user_totals(store)
    done, stats = reduce(store, [dict(job(999, "ann", "2025-09-10T00:00:00Z"), **change)])
    assert done.returncode == 0 and stats["new_jobs"] == 0
    assert sum(stats["skipped"].values()) == 1
    assert user_totals(store) == before
    assert rank(store).returncode == 0


def test_one_users_absurd_totals_are_skipped_and_never_block_the_others(store):
    before = user_totals(store)
    huge = [job(5000 + i, "ann", "2025-09-10T00:00:00Z", cpus=2 ** 24, elapsed=316_000_000,
                submit="2015-01-01T00:00:00Z")
            for i in range(3)]
    done, stats = reduce(store, huge + [job(6000, "bob", "2025-09-11T00:00:00Z")])
    assert done.returncode == 0, done.stderr
    assert stats["new_jobs"] == 2 and stats["skipped"] == {"out of range": 2}
    assert b"ann's totals would pass 9007199254740992" in done.stderr
    after = user_totals(store)
    assert after["bob"][5] == before["bob"][5] + 1
    assert max(after["ann"]) <= 2 ** 53


# -- damaged files, read by sb-rank -------------------------------------------------------------

def test_bad_vectors_in_alltime_are_named_and_the_rollups_used_instead(store):
    rank(store)
    truth = board_values(store, "alltime_clock_hours")
    data = orjson.loads(open(agg(store, "alltime.json"), "rb").read())
    data["users"][0]["accounts"]["proj"] = [1, "x", None, -1, 2.5, True]
    write_json(agg(store, "alltime.json"), data)
    done = rank(store)
    assert done.returncode == 4, done.stderr
    assert b"alltime.json" in done.stderr and b"sb-reduce --repair" in done.stderr
    assert b"Traceback" not in done.stderr
    assert board_values(store, "alltime_clock_hours") == truth


@pytest.mark.parametrize("damage", [
    b"", b"{not json", b'{"users": 3}', b'{"users": [{"username": "ann"}], "days": [["ann", "2025-08-01", "p", 1]]}',
    b'{"users": [{"username": "ann", "accounts": {"p": [1,2,3,4,5,"6"]}}], "days": []}',
])
def test_a_damaged_rollup_leaves_its_month_out_and_names_the_remedy(store, damage):
    rank(store)
    september = board_values(store, "month_clock_hours")
    write_json(agg(store, "rollups", "monthly", "2025-08.json"), damage)
    done = rank(store)
    assert done.returncode == 4
    assert b"2025-08.json" in done.stderr and b"sb-backfill --redo-month 2025-08" in done.stderr
    assert board_values(store, "month_clock_hours") == september


def test_a_rollup_named_like_no_real_month_is_left_out(store):
    for name in ("9999-12.json", "2025-13.json", "0000-01.json"):
        write_json(agg(store, "rollups", "monthly", name), b'{"users": [], "days": []}')
    done = rank(store, "--window", "rolling-365d", "--metric", "jobs")
    assert done.returncode == 4 and b"Traceback" not in done.stderr
    assert b"9999-12.json: not a month" in done.stderr
    assert sum(json.loads(line)["value"] for line in done.stdout.splitlines()) == 40


def test_a_corrupt_journal_and_a_journal_pointing_outside_are_refused(store, tmp_path):
    outside = tmp_path / "victim.txt"
    outside.write_text("mine")
    state = os.path.join(str(store), "clusters", "hammer", "state")
    for journal in (b"{garbage", b'{"version": 1, "files": [[1, 2]]}',
                    b'{"version": 1, "files": [["state/payload", "../../../victim.txt"]]}',
                    b'{"version": 1, "files": [["agg/.x.sbtx", "/etc/passwd"]]}',
                    b'{"version": 2, "files": [], "remove": ["../../../victim.txt"]}'):
        write_json(os.path.join(state, "journal.json"), journal)
        for done, code in ((rank(store), 4), (reduce(store, [], "--cluster", "hammer")[0], 1)):
            assert done.returncode == code, done.stderr
            assert b"journal" in done.stderr and b"--repair" in done.stderr
            assert b"Traceback" not in done.stderr
        assert outside.read_text() == "mine"


def test_repair_discards_a_corrupt_journal_and_rebuilds_the_totals(store):
    before = user_totals(store)
    state = os.path.join(str(store), "clusters", "hammer", "state")
    write_json(os.path.join(state, "journal.json"), b"{garbage")
    write_json(agg(store, "users", ".ann.json.sbtx"), b"half")
    done = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--repair"])
    assert done.returncode == 0, done.stderr
    assert b"discarded" in done.stderr
    assert user_totals(store) == before
    assert not os.path.exists(os.path.join(state, "journal.json"))
    assert not os.path.exists(agg(store, "users", ".ann.json.sbtx"))


def test_a_bad_xp_rate_is_a_config_error_not_an_overflow(store):
    os.makedirs(os.path.join(str(store), "config"), exist_ok=True)
    for rates in ({"clock_hours": 1e308}, {"jobs": -1}, {"jobs": "10"}):
        write_json(os.path.join(str(store), "config", "xp.json"), {"rates": rates})
        done = rank(store)
        assert done.returncode == 1 and b"xp.json" in done.stderr
        assert b"Traceback" not in done.stderr


# -- repairs ------------------------------------------------------------------------------------

def test_repair_rebuilds_damaged_user_files_and_alltime_exactly(store):
    rank(store)
    truth, boards = user_totals(store), board_values(store, "alltime_clock_hours")
    write_json(agg(store, "users", "ann.json"), b"{broken")
    write_json(agg(store, "users", "zed.json"), {"username": "zed"})     # nobody's months
    write_json(agg(store, "alltime.json"), b"")
    done, _ = reduce(store, [job(777, "ann", "2025-09-20T00:00:00Z")])
    assert done.returncode == 1 and b"sb-reduce --repair" in done.stderr
    done = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--repair"])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["users"] == 3 and result["user_files_removed"] == 1
    assert user_totals(store) == truth
    assert rank(store).returncode == 0 and board_values(store, "alltime_clock_hours") == boards


def test_replacing_a_month_with_its_own_records_counts_it_once(store):
    """What the old recovery advice (delete the month's files, backfill again) got wrong: the
    month counted twice in the all-time totals."""
    truth = user_totals(store)
    august = [r for r in records() if r["end"].startswith("2025-08")]
    done = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--replace-month",
                              "2025-08"], b"".join(orjson.dumps(r) + b"\n" for r in records()))
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["new_jobs"] == len(august) and stats["skipped"] == {"outside window": 10}
    assert user_totals(store) == truth
    done, stats = reduce(store, august)
    assert stats["new_jobs"] == 0                    # the new Bloom file knows the month


def test_replacing_a_month_changes_exactly_that_month(store):
    fewer = [r for r in records() if r["end"].startswith("2025-08") and r["user"] != "cat"]
    fetched = b"".join(orjson.dumps(r) + b"\n" for r in fewer)
    # fewer jobs than the month counted: refused unless said (slurmdbd may have purged them)
    done = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--replace-month",
                              "2025-08"], fetched)
    assert done.returncode == 6 and "cat" in user_totals(store)
    done = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--replace-month",
                              "2025-08", "--allow-fewer"], fetched)
    assert done.returncode == 0, done.stderr
    totals = user_totals(store)
    assert "cat" not in totals
    assert not os.path.exists(agg(store, "users", "cat.json"))
    assert {row[0] for row in rollup(store, "2025-08")["days"]} == {"ann", "bob"}
    assert totals["ann"][0] == sum(r["cpu_seconds"] for r in records() if r["user"] == "ann")


# -- readers and clusters ---------------------------------------------------------------------

def test_a_reader_that_waited_finishes_an_interrupted_update_before_reading(store):
    """A writer holds the store lock, leaves a journal and dies; the reader that was waiting
    must not read the half-applied update (all-time and rolling boards must agree)."""
    state = os.path.join(str(store), "clusters", "hammer", "state")
    rank(store)
    staged = agg(store, ".alltime.json.sbtx")
    data = orjson.loads(open(agg(store, "alltime.json"), "rb").read())
    new = dict(job(888, "ann", "2025-09-29T00:00:00Z", cpus=100, elapsed=36000))
    done, _ = reduce(store, [new])          # the update as it should end up
    wanted = open(agg(store, "alltime.json"), "rb").read()
    write_json(agg(store, "alltime.json"), data)      # roll alltime back: half applied
    write_json(staged, wanted)
    holder = subprocess.Popen([sys.executable, "-c", f"""
import fcntl, os, sys, time
fd = os.open({os.path.join(state, 'store.lock')!r}, os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(1.5)                       # the reader looks for a journal now, and finds none
open({os.path.join(state, 'journal.json')!r}, 'w').write(
    '{{"version":1,"files":[["agg/.alltime.json.sbtx","agg/alltime.json"]]}}')
os.kill(os.getpid(), 9)
"""], stdout=subprocess.PIPE)
    assert holder.stdout.readline() == b"held\n"
    reader = rank(store)
    holder.wait()
    assert reader.returncode == 0, reader.stderr
    alltime = board_values(store, "alltime_clock_hours")
    assert alltime == board_values(store, "rolling-365d_clock_hours")
    assert alltime["ann"] == sum(r["cpu_seconds"] for r in records() + [new]
                                 if r["user"] == "ann") / 3600


def test_only_clusters_with_records_appear(store):
    sacct_state = os.path.join(str(store), "clusters", "nosuch", "state")
    os.makedirs(sacct_state)
    write_json(os.path.join(sacct_state, "sacct_rate.json"), {"calls": []})
    os.makedirs(os.path.join(str(store), "clusters", "..bad", "agg"))
    os.makedirs(os.path.join(str(store), "clusters", "planted"))
    os.symlink("/tmp", os.path.join(str(store), "clusters", "planted", "agg"))
    summary = json.loads(rank(store).stdout)
    assert summary["clusters"] == ["hammer"]
    index = json.loads(open(os.path.join(str(store), "leaderboards", "index.json")).read())
    assert index["clusters"] == ["hammer"]
    done = tool("sb_dedupe", ["--root", str(store), "--stats"])
    assert done.returncode == 0 and {json.loads(l)["cluster"] for l in done.stdout.splitlines()} \
        == {"hammer"}


# -- what a hostile writer can plant (the shapes of damage a review found) --------------------

def test_a_journal_naming_a_folder_or_being_a_folder_is_refused_and_repair_clears_it(store):
    state = os.path.join(str(store), "clusters", "hammer", "state")
    journal = os.path.join(state, "journal.json")
    before = user_totals(store)
    for plant in ("remove-folder", "folder"):
        if plant == "folder":
            os.mkdir(journal)
        else:
            write_json(journal, b'{"version":2,"files":[],"remove":["agg/users"]}')
        assert rank(store).returncode == 4
        done, _ = reduce(store, [], "--cluster", "hammer")
        assert done.returncode == 1 and b"--repair" in done.stderr
        assert b"Traceback" not in done.stderr
        repaired = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--repair"])
        assert repaired.returncode == 0, repaired.stderr
        assert not os.path.lexists(journal) and user_totals(store) == before


def test_a_forged_bloom_file_is_named_not_a_traceback_or_a_hang(store):
    import hashlib
    import struct
    body = struct.pack("<8sII", b"SBBLOOM\0", 1, 1) + struct.pack("<QQIQ", 0, 64, 3, 0) + bytes(8)
    path = os.path.join(str(store), "clusters", "hammer", "state", "seen", "2025-09.bloom")
    write_json(path, body + hashlib.sha256(body).digest())
    done, _ = reduce(store, [job(901, "ann", "2025-09-20T00:00:00Z")])
    assert done.returncode == 1 and b"2025-09.bloom" in done.stderr
    assert b"--redo-month 2025-09" in done.stderr and b"Traceback" not in done.stderr


@pytest.mark.parametrize("month", ["2025-8", "9999-12", "0000-01", "2025-08x"])
def test_replace_month_takes_only_real_months(store, month):
    done = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--replace-month",
                              month])
    assert done.returncode == 2 and b"bad month" in done.stderr


@pytest.mark.parametrize("change", [
    {"start": "2025-09-12T00:00:00Z"},                         # starts after it ended
    {"elapsed": 30 * 86400},                                   # ran longer than start to end
    {"submit": "2025-09-11T00:00:00Z"},                        # started before submitted
    {"user": "ann\n"}, {"cluster": "hammer\n"},                # a trailing newline
])
def test_records_whose_times_disagree_or_names_hide_a_newline_are_skipped(store, change):
    before = user_totals(store)
    record = job(902, "ann", "2025-09-10T00:00:00Z", elapsed=3600, start="2025-09-09T23:00:00Z")
    if "elapsed" in change:
        record["elapsed_s"] = change["elapsed"]
        record["cpu_seconds"] = change["elapsed"] * record["cpus"]
    else:
        record.update(change)
    done, stats = reduce(store, [record], "--cluster", "hammer")
    assert done.returncode == 0 and stats["new_jobs"] == 0
    assert user_totals(store) == before
    assert not any("\n" in name for name in os.listdir(os.path.join(str(store), "clusters")))


def test_a_rollup_naming_a_user_that_could_not_be_stored_is_damage(store):
    path = agg(store, "rollups", "monthly", "2025-08.json")
    data = orjson.loads(open(path, "rb").read())
    data["users"].append(dict(data["users"][0], username="../../../../tmp/pwned"))
    write_json(path, data)
    done = rank(store)
    assert done.returncode == 4 and b"2025-08.json" in done.stderr
    done = tool("sb_reduce", ["--root", str(store), "--cluster", "hammer", "--repair"])
    assert done.returncode == 1 and b"2025-08.json" in done.stderr
    assert b"--redo-month 2025-08" in done.stderr and b"Traceback" not in done.stderr


def test_a_fifo_where_a_rollup_belongs_does_not_hang_the_rebuild(store):
    path = agg(store, "rollups", "monthly", "2025-08.json")
    os.unlink(path)
    os.mkfifo(path)
    done = subprocess.run([sys.executable, "-m", "slurm_scoreboard_tools.sb_rank", "--root",
                           str(store), "--now", NOW], capture_output=True, env=ENV, timeout=60)
    assert done.returncode == 4 and b"2025-08.json" in done.stderr


@pytest.mark.parametrize("folder,code", [
    ("clusters/hammer/agg/rollups/monthly/2025-08.json", 4),
    ("clusters/hammer/agg/alltime.json", 4),
    ("config/xp.json", 1),
    ("config/optout.txt", 1),
])
def test_a_folder_where_a_file_belongs_is_named_with_an_exit_code(store, folder, code):
    import shutil
    path = os.path.join(str(store), folder)
    if os.path.exists(path):
        os.unlink(path)
    os.makedirs(path)
    done = rank(store)
    assert done.returncode == code, done.stderr
    assert os.path.basename(folder).encode() in done.stderr and b"Traceback" not in done.stderr
    shutil.rmtree(path)


@pytest.mark.parametrize("replaced", ["clusters/hammer/agg", "clusters/hammer/state",
                                      "clusters/hammer/agg/rollups/monthly"])
def test_a_file_where_a_store_folder_belongs_leaves_the_cluster_out_and_says_so(store, replaced):
    import shutil
    path = os.path.join(str(store), replaced)
    shutil.rmtree(path)
    write_json(path, b"x")
    done = rank(store)
    assert done.returncode == 4 and b"hammer" in done.stderr, done.stderr
    assert b"Traceback" not in done.stderr


def test_an_absurd_now_is_a_usage_error(store):
    assert rank(store, "--now", "0001-01-01").returncode == 2
    done = tool("sb_parse", [], b"", env=dict(ENV, SLURM_SB_NOW="garbage"))
    assert done.returncode == 2 and b"SLURM_SB_NOW" in done.stderr
