"""Opt-out: the list, the home markers (looked at by a child process with a timeout, at most
once a day per user and cluster), and the cache readers use without touching any home."""
import os
import sys
import time

import orjson
import pytest

from slurm_scoreboard.core import optout
from slurm_scoreboard.core.optout import HomeLooker, OptOut

NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"


class CountingLooker:
    """A stand-in child: answers from a dict and counts the looks."""

    def __init__(self, markers):
        self.markers = markers
        self.looks = []
        self.broken = False

    def look(self, user):
        return self.look_many([user])[0]

    def look_many(self, users, deadline=None):
        self.looks += users
        return [self.markers.get(user, False) for user in users]

    def close(self):
        pass


def root_with_list(tmp_path, text="alice  # asked on 2025-08-01\n\n# bob\n"):
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "optout.txt").write_text(text)
    return str(tmp_path)


def test_the_list_with_comments(tmp_path):
    out = OptOut(root_with_list(tmp_path))
    assert "alice" in out and "bob" not in out and "nobody" not in out


@pytest.mark.parametrize("text", ["\ufeffann\r\nbo \r\n", "ann\u00a0\nbo\t# asked\n",
                                  "\u200bann\u200b\n  bo\n"])
def test_what_editors_put_around_a_name_is_not_part_of_it(tmp_path, text):
    # Notepad's BOM, CRLF, a no-break or zero-width space: the user still opts out
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "optout.txt").write_bytes(text.encode())
    out = OptOut(str(tmp_path))
    assert "ann" in out and "bo" in out


def test_a_poller_looks_once_a_day_and_readers_never_look(tmp_path):
    root = root_with_list(tmp_path, "")
    clock = [1_000_000.0]
    looker = CountingLooker({"carol": True})
    out = OptOut(root, "hammer", check_homes=True, clock=lambda: clock[0], looker=looker)
    assert "carol" in out and "dave" not in out and "dave" not in out
    assert looker.looks == ["carol", "dave"]
    out.save()
    clock[0] += optout.MAX_AGE - 1
    again = CountingLooker({})
    later = OptOut(root, "hammer", check_homes=True, clock=lambda: clock[0], looker=again)
    assert "carol" in later and again.looks == []          # cached: no look within a day
    clock[0] += 1
    assert "carol" in later and again.looks == []           # one run asks once per user
    next_run = OptOut(root, "hammer", check_homes=True, clock=lambda: clock[0], looker=again)
    assert "carol" not in next_run and again.looks == ["carol"]   # exactly a day: looked again
    reader_looker = CountingLooker({"dave": True})
    reader = OptOut(root, looker=reader_looker)
    assert "carol" in reader and "dave" not in reader and reader_looker.looks == []


def test_a_marker_seen_by_any_cluster_counts_and_save_merges_clusters(tmp_path):
    root = root_with_list(tmp_path, "")
    hammer = OptOut(root, "hammer", check_homes=True, looker=CountingLooker({"erin": True}))
    anvil = OptOut(root, "anvil", check_homes=True, looker=CountingLooker({"frank": True}))
    assert "erin" in hammer and "frank" in anvil and "frank" not in hammer
    hammer.save()
    anvil.save()
    cache = orjson.loads(open(optout.cache_file(root), "rb").read())["checked"]
    assert set(cache) == {"erin", "frank"} and set(cache["erin"]) == {"hammer"}
    reader = OptOut(root)
    assert "erin" in reader and "frank" in reader


def test_refresh_looks_at_stale_stored_users_within_the_budget(tmp_path):
    root = root_with_list(tmp_path, "gus\n")
    looker = CountingLooker({"hal": True})
    out = OptOut(root, "hammer", check_homes=True, looker=looker)
    out.refresh(["gus", "hal", "ivy"])
    assert looker.looks == ["hal", "ivy"]                    # the listed one needs no look
    assert out.among(["gus", "hal", "ivy", "jo"]) == ["gus", "hal"]
    slow = CountingLooker({})
    OptOut(root, "anvil", check_homes=True, looker=slow).refresh(["a", "b"], budget=0)
    assert slow.looks == []


def test_finding_who_to_erase_looks_at_no_home_past_the_refresh_budget(tmp_path):
    """The stored users the budget left unchecked keep their cached answers (erased only when
    it says so) until a later run: 15 seconds a run, as sb-reduce(1) says, not a look each."""
    root = root_with_list(tmp_path, "gus\n")
    first = OptOut(root, "hammer", check_homes=True, looker=CountingLooker({"hal": True}))
    first.refresh(["hal"])
    first.save()
    looker = CountingLooker({"ivy": True})
    out = OptOut(root, "anvil", check_homes=True, looker=looker)
    out.refresh(["gus", "hal", "ivy"], budget=0)
    assert out.among(["gus", "hal", "ivy"]) == ["gus", "hal"] and looker.looks == []
    out.refresh(["gus", "hal", "ivy"])
    assert out.among(["gus", "hal", "ivy"]) == ["gus", "hal", "ivy"]
    assert looker.looks == ["hal", "ivy"]


def test_a_hung_home_ends_the_looking_without_hanging_the_run(tmp_path):
    """The child answers "1" only after 30 s: a looker that waited for it would say kim opted
    out; one that gives up after its timeout knows nothing of kim or lou."""
    looker = HomeLooker(timeout=0.3, command=["sh", "-c", "sleep 30; echo 1; echo 1"])
    out = OptOut(root_with_list(tmp_path, ""), "hammer", check_homes=True, looker=looker)
    assert "kim" not in out and "lou" not in out
    assert looker.broken
    assert out.checked == {}                                 # nothing cached from a failed look


# A stand-in child that answers only once it has read three names (or its input ended): a
# looker that waited for each answer before writing the next name would never hear from it.
_BATCH_CHILD = """
import sys
names = []
def answer():
    for name in names:
        if name[0] == "h":
            import time; time.sleep(30)
        print({"x": "1", "q": "?", "h": "1", "g": "yes"}.get(name[0], "0"), flush=True)
    names.clear()
for line in sys.stdin:
    names.append(line.strip())
    if len(names) == 3:
        answer()
answer()
"""


def batch_looker(timeout=5.0):
    return HomeLooker(timeout=timeout, command=[sys.executable, "-c", _BATCH_CHILD])


def test_names_are_written_a_batch_at_a_time_and_each_answer_kept():
    looker = batch_looker()
    assert looker.look_many(["ann", "xavi", "quin"]) == [False, True, False]
    assert looker.unreadable == ["quin"]
    assert looker.look_many(["bo", "xu", "cy", "dee", "xia", "eve"]) == \
        [False, True, False, False, True, False]
    assert looker.look_many([]) == [] and not looker.broken
    looker.close()


@pytest.mark.parametrize("names, answers", [
    (["ann", "hung", "bo"], [False, None, None]),     # a home that answers "1" only after 30 s
    (["ann", "garbled", "bo"], [False, None, None])])        # an answer that is none
def test_a_batch_ends_at_a_hung_or_garbled_answer_and_looking_stops(names, answers):
    looker = batch_looker(timeout=0.5)
    assert looker.look_many(names) == answers
    assert looker.broken
    assert looker.look_many(["cy"]) == [None] and looker.look("dee") is None


def test_prefetch_looks_once_at_the_plain_stale_unlisted_names_and_answers_from_it(tmp_path):
    root = root_with_list(tmp_path, "gus\n")
    looker = CountingLooker({"hal": True})
    out = OptOut(root, "hammer", check_homes=True, looker=looker)
    assert "ivy" not in out
    out.prefetch(["hal", "gus", "ivy", "hal", "bad/name", "", "jo"])
    assert looker.looks == ["ivy", "hal", "jo"]
    assert "hal" in out and "jo" not in out and "gus" in out
    assert looker.looks == ["ivy", "hal", "jo"]
    reader = OptOut(root, looker=looker)          # a reader looks into no home
    reader.prefetch(["kim"])
    assert looker.looks == ["ivy", "hal", "jo"]


@pytest.mark.parametrize("cluster, looks", [(["--cluster", "hammer"], [512, 88]),
                                             ([], [1, 512, 87])])
def test_sb_reduce_looks_at_its_new_users_homes_a_block_at_a_time(tmp_path, monkeypatch,
                                                                   cluster, looks):
    """600 users, a job each: a look at a block read ahead, then at the rest, not 600 (without
    --cluster, the first record opens the cluster's store first)."""
    from crash_helpers import run_forked
    from reduce_helpers import job, ndjson

    from slurm_scoreboard.store import runs
    from slurm_scoreboard_tools import sb_reduce
    calls = tmp_path / "calls"

    def look_many(self, users, deadline=None):
        with open(calls, "a") as handle:
            handle.write(f"{len(users)}\n")
        return [user == "u0007" for user in users]

    monkeypatch.setattr(HomeLooker, "look_many", look_many)
    records = [job(n, f"u{n:04d}", "2025-05-02T10:00:00Z") for n in range(600)]
    ran = run_forked(sb_reduce.main, ["--root", str(tmp_path), "-q", *cluster],
                     stdin=ndjson(records), env={"SLURM_SB_NOW": "2025-05-03T00:00:00Z"})
    assert ran.code == 0, ran.stderr
    assert runs.LOOKAHEAD == 512 and calls.read_text().split() == [str(n) for n in looks]
    stats = orjson.loads(ran.stdout)
    assert stats["new_jobs"] == 599 and stats["skipped"] == {"opted out": 1}


@pytest.mark.skipif(not os.path.exists(NSS_WRAPPER), reason="needs libnss-wrapper")
def test_the_real_looker_finds_markers_through_passwd(tmp_path):
    """The child's own getpwnam and lexists, with passwd served by nss_wrapper: a temporary
    home with the marker, one without, a file named like it but not it, a user with no entry."""
    homes = {name: tmp_path / "home" / name for name in ("carol", "dave", "erin")}
    for home in homes.values():
        home.mkdir(parents=True)
    (homes["carol"] / optout.HOME_MARKER).write_text("")
    (homes["erin"] / "slurm_scoreboard_optout").write_text("")
    passwd = tmp_path / "passwd"
    passwd.write_text("".join(f"{name}:x:{3000 + i}:3000::{home}:/bin/sh\n"
                              for i, (name, home) in enumerate(homes.items())))
    (tmp_path / "group").write_text("users:x:3000:\n")
    env = dict(os.environ, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=str(passwd),
               NSS_WRAPPER_GROUP=str(tmp_path / "group"))
    looker = HomeLooker(env=env)
    assert [looker.look(name) for name in ("carol", "dave", "erin", "nobody")] == \
        [True, False, False, False]
    looker.close()


# -- erasure: what was stored of a user who opts out goes at the next run --------------------

def store_of(tmp_path):
    from reduce_helpers import job, reduce
    jobs = [job(i, ("annalise", "bobbington", "carolinus")[i % 3],
                f"2025-0{7 + i % 2}-{1 + i % 27:02d}T10:00:00Z", cpus=2, elapsed=600 * (1 + i))
            for i in range(30)]
    done, _ = reduce(tmp_path, jobs)
    assert done.returncode == 0, done.stderr
    state = tmp_path / "clusters" / "hammer" / "state"
    (state / "known_users.txt").write_text("annalise\nbobbington\ncarolinus\n")
    (state / "discovery_deferred.tsv").write_text("bobbington\t1\t0\tgone\n")
    return jobs


def tree_mentions(root, name):
    """The files of the root's own folders whose bytes hold `name`."""
    found = []
    for folder, _, names in (entry for top in ("clusters", "config", "leaderboards", "state")
                             for entry in os.walk(os.path.join(root, top))):
        for entry in names:
            path = os.path.join(folder, entry)
            with open(path, "rb") as handle:
                if name.encode() in handle.read():
                    found.append(os.path.relpath(path, root))
    return sorted(found)


def test_a_listed_user_is_erased_from_every_file_at_the_next_run(tmp_path):
    from reduce_helpers import reduce, tool, user_totals
    jobs = store_of(tmp_path)
    before = user_totals(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "optout.txt").write_text("bobbington\n")
    done, stats = reduce(tmp_path, [], "--cluster", "hammer")
    assert done.returncode == 0 and stats["users_erased"] == 1
    after = user_totals(tmp_path)
    assert after == {u: v for u, v in before.items() if u != "bobbington"}
    assert tool("sb_rank", ["--root", str(tmp_path), "--now", "2025-08-31T00:00:00Z"]) \
        .returncode == 0
    assert set(tree_mentions(tmp_path, "bobbington")) <= {"config/optout.txt",
                                                          "state/optout_cache.json"}
    done, stats = reduce(tmp_path, jobs, "--cluster", "hammer")   # their jobs come again
    assert stats["skipped"] == {"opted out": 10} and user_totals(tmp_path) == after


@pytest.mark.skipif(not os.path.exists(NSS_WRAPPER), reason="needs libnss-wrapper")
def test_a_home_marker_erases_too_and_readers_use_the_cache(tmp_path):
    from reduce_helpers import ENV, reduce, tool, user_totals
    store_of(tmp_path)
    home = tmp_path / "homes" / "carolinus"
    home.mkdir(parents=True)
    (home / optout.HOME_MARKER).write_text("")
    passwd = tmp_path / "passwd"
    passwd.write_text(f"carolinus:x:3001:3000::{home}:/bin/sh\n")
    (tmp_path / "group").write_text("users:x:3000:\n")
    env = dict(ENV, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=str(passwd),
               NSS_WRAPPER_GROUP=str(tmp_path / "group"))
    done, stats = reduce(tmp_path, [], "--cluster", "hammer", env=env)
    assert done.returncode == 0 and stats["users_erased"] == 0     # looked at within the day
    env["SLURM_SB_NOW"] = "2100-01-01T00:00:00Z"                    # a day later, and more
    done, stats = reduce(tmp_path, [], "--cluster", "hammer", env=env)
    assert done.returncode == 0 and stats["users_erased"] == 1
    assert "carolinus" not in user_totals(tmp_path)
    rank = tool("sb_rank", ["--root", str(tmp_path), "--now", "2025-08-31T00:00:00Z"])
    assert rank.returncode == 0
    assert tree_mentions(tmp_path, "carolinus") == ["state/optout_cache.json"]


@pytest.mark.skipif(not os.path.exists(NSS_WRAPPER) or os.geteuid() != 0,
                    reason="needs libnss-wrapper, and root to look as another account")
def test_a_home_the_poller_cannot_read_is_named_not_taken_for_no_marker():
    """A 0700 home hides the marker from the poller: the look says so instead of "no marker".
    The look runs as nobody, with the system's Python (both must reach everything)."""
    import shutil
    import tempfile
    top = tempfile.mkdtemp(prefix="sb-home-")
    try:
        os.chmod(top, 0o755)
        home = os.path.join(top, "kim")
        os.mkdir(home)
        open(os.path.join(home, optout.HOME_MARKER), "w").close()
        os.chmod(home, 0o700)
        with open(os.path.join(top, "passwd"), "w") as handle:
            handle.write(f"kim:x:3005:3000::{home}:/bin/sh\n")
        with open(os.path.join(top, "group"), "w") as handle:
            handle.write("users:x:3000:\n")
        env = dict(os.environ, LD_PRELOAD=NSS_WRAPPER,
                   NSS_WRAPPER_PASSWD=os.path.join(top, "passwd"),
                   NSS_WRAPPER_GROUP=os.path.join(top, "group"))
        looker = HomeLooker(env=env, command=["setpriv", "--reuid=65534", "--regid=65534",
                                              "--clear-groups", "/usr/bin/python3", "-c",
                                              optout._LOOKER])
        assert looker.look("kim") is False and looker.unreadable == ["kim"]
        looker.close()
    finally:
        shutil.rmtree(top)


def test_refresh_waits_for_no_answer_past_its_budget():
    """A home server answering every 0.2 s: a budget of 0.5 s gets a few answers, never the
    100 a wait for each batch gave (a batch of 2 s answers once ran 512 s past 15)."""
    child = "import sys, time\nfor line in sys.stdin:\n    time.sleep(0.2)\n    print(0, flush=True)\n"
    looker = HomeLooker(command=[sys.executable, "-c", child])
    users = [f"u{n:03d}" for n in range(100)]
    answers = looker.look_many(users, deadline=time.monotonic() + 0.5)
    assert answers.count(False) <= 5 and answers[-1] is None and looker.broken


def test_names_go_to_the_child_a_page_at_a_time():
    batches = list(optout._batches([f"{n:099d}" for n in range(100)] + ["x" * 5000, "y"], 4096))
    assert [len(batch) for batch in batches] == [40, 40, 20, 1, 1]
    assert all(sum(len(name) + 1 for name in batch) <= 4096 for batch in batches[:3])


def test_sb_reduce_reads_ahead_at_most_a_mib_of_lines_and_looks_only_at_ended_jobs(
        tmp_path, monkeypatch):
    from crash_helpers import run_forked
    from reduce_helpers import job, ndjson

    from slurm_scoreboard.store import runs
    from slurm_scoreboard_tools import sb_reduce
    lines = [(n, {"n": n}, b"x" * (400 << 10)) for n in range(7)]
    assert [len(block) for block in runs.blocks(iter(lines), lambda: 512)] == [3, 3, 1]
    assert [len(block) for block in runs.blocks(iter(lines), lambda: 2)] == [2, 2, 2, 1]
    calls = tmp_path / "calls"

    def look_many(self, users, deadline=None):
        with open(calls, "a") as handle:
            handle.write(" ".join(users) + "\n")
        return [False] * len(users)

    monkeypatch.setattr(HomeLooker, "look_many", look_many)
    records = [{"user": "ghost"}, job(1, "ann", "2025-05-02T10:00:00Z"),
               job(2, "cy", "2025-05-02T10:00:00Z", state="RUNNING")]
    ran = run_forked(sb_reduce.main, ["--root", str(tmp_path), "-q", "--cluster", "hammer"],
                     stdin=ndjson(records), env={"SLURM_SB_NOW": "2025-05-03T00:00:00Z"})
    assert ran.code == 0, ran.stderr
    assert calls.read_text().split() == ["ann"]
