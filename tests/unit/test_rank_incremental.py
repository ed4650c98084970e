"""A poll's rebuild costs what the poll changed (rank/summaries.py, rank/writer.py), and writes
exactly what a full rebuild writes:

- after random polls (jobs added to random clusters, jobs ending on a window's first or last
  second, measured usage, opt-outs added and removed, the UTC day rolling over through
  SLURM_SB_NOW or --now), every board, group statistics file, progress file (each name's
  gains per month, from the history pass resumed from its checkpoint) and the index of a root
  rebuilt poll after poll with its kept summaries are, but for their time stamps, those a full
  rebuild of a fresh copy of it without the summaries writes;
- a board is written only when what it shows changed, and then carries the rebuild's time; one
  left alone keeps the time it was last written;
- a summary file that is damaged, stale or planted (by another account, writable by others,
  hard-linked) never makes a board wrong: the store is read instead.
"""
import os
import re
import shutil
import tempfile
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from crash_helpers import run_forked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reduce_helpers import job, ndjson

from slurm_scoreboard.core import layout
from slurm_scoreboard_tools import sb_rank, sb_reduce

CLUSTERS = ("anvil", "hammer", "vise")
USERS = ("ann", "bo", "cy", "dee", "eve", "fay")
ACCOUNTS = ("phys", "chem", "bio")
START = datetime(2025, 8, 29, 9, 30, tzinfo=timezone.utc)
BOOKKEEPING = {"rebuild.json", "history.json", "achievements.ndjson", "records.json",
               "competitions.json", "history_checkpoint.json", "history_months.ndjson"}


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def reduce_into(root, records, now, *args):
    """sb-reduce of `records`, cluster by cluster, in a forked child (as a poll runs it)."""
    for cluster in CLUSTERS:
        mine = [record for record in records if record["cluster"] == cluster]
        if mine:
            ran = run_forked(sb_reduce.main, ["--root", root, "--cluster", cluster, "-q"] +
                             list(args), stdin=ndjson(mine), env={"SLURM_SB_NOW": iso(now)})
            assert ran.code == 0, ran.stderr


def rank(root, now, *args, through_env=False):
    """sb-rank's rebuild at `now` (given as --now, or as $SLURM_SB_NOW)."""
    when = [] if through_env else ["--now", iso(now)]
    ran = run_forked(sb_rank.main, ["--root", root] + when + list(args),
                     env={"SLURM_SB_NOW": iso(now)} if through_env else {})
    assert ran.code == 0, ran.stderr
    return orjson.loads(ran.stdout)


def leaderboard_files(root):
    """relative path -> bytes of every board, statistics file, progress file and the index
    (what a rebuild must write exactly), without the summaries and the history pass's other
    files."""
    top = os.path.join(root, "leaderboards")
    found = {}
    for folder, subfolders, names in os.walk(top):
        subfolders[:] = [name for name in subfolders if name not in (".cache", "competitions")]
        for name in names:
            relative = os.path.relpath(os.path.join(folder, name), top)
            if relative not in BOOKKEEPING and not name.endswith(".lock"):
                with open(os.path.join(folder, name), "rb") as handle:
                    found[relative] = handle.read()
    return found


ASOF = re.compile(rb'^\{"asof":"([^"]*)"|"asof": "([^"]*)"')


def asof_of(data):
    found = ASOF.search(data)
    return (found.group(1) or found.group(2)).decode()


def without_asof(data):
    return ASOF.sub(b"ASOF", data, count=1)


def full_rebuild(root, now):
    """What a full rebuild of a fresh copy of `root` without its summaries writes: every
    board made again from the store, and written where it differs from the copy's."""
    with tempfile.TemporaryDirectory(prefix="sb-full-") as scratch:
        fresh = os.path.join(scratch, "root")
        shutil.copytree(root, fresh, symlinks=True)
        shutil.rmtree(os.path.join(fresh, "leaderboards", ".cache"), ignore_errors=True)
        summary = rank(fresh, now)
        assert summary["boards"] > 0 and "skipped" not in summary
        return leaderboard_files(fresh)


def assert_like_a_full_rebuild(root, now):
    mine, full = leaderboard_files(root), full_rebuild(root, now)
    assert sorted(mine) == sorted(full)
    for name, data in mine.items():
        assert without_asof(data) == without_asof(full[name]), name


def assert_written_only_when_changed(before, after, now):
    """A file whose content changed carries `now`; one whose content did not is untouched;
    the index always carries the last rebuild's time."""
    for name, data in after.items():
        old = before.get(name)
        if name == "index.json" or old is None or without_asof(old) != without_asof(data):
            assert asof_of(data) == iso(now), name
        else:
            assert data == old, name


# -- random polls --------------------------------------------------------------------------------

def edge_ends(now):
    """Ends on the edges of the windows at `now`: the first second of each window's first day
    (what ran before it is outside), the last second before it, and today's midnight."""
    today = now.replace(hour=0, minute=0, second=0)
    firsts = [today - timedelta(days=days - 1) for days in (7, 30)] + [today.replace(day=1),
                                                                      today]
    return firsts + [moment - timedelta(seconds=1) for moment in firsts]


@st.composite
def a_job(draw, now):
    today = now.replace(hour=0, minute=0, second=0)
    if draw(st.booleans()):
        end = draw(st.sampled_from(edge_ends(now)))
    else:
        end = today - timedelta(days=draw(st.integers(0, 40)),
                                seconds=-draw(st.integers(0, 86399)))
    end = min(end, now)
    return {"cluster": draw(st.sampled_from(CLUSTERS)), "user": draw(st.sampled_from(USERS)),
            "account": draw(st.sampled_from(ACCOUNTS)), "end": iso(end),
            "elapsed": draw(st.sampled_from([0, 60, 3600, 7200, 86400 + 1800])),
            "cpus": draw(st.integers(1, 8)), "gpus": draw(st.sampled_from([0, 0, 1, 4])),
            "state": draw(st.sampled_from(["COMPLETED", "COMPLETED", "FAILED", "TIMEOUT"])),
            "measured": draw(st.booleans()), "used": draw(st.floats(0, 1)),
            "util": draw(st.sampled_from([None, 0, 37, 100]))}


@st.composite
def a_poll(draw, now):
    """What happens between two rebuilds: the clock moves (maybe to the next UTC day, maybe
    to its first second), jobs arrive, someone opts out or back in."""
    step = draw(st.sampled_from([timedelta(0), timedelta(minutes=10), timedelta(hours=5),
                                 timedelta(days=1)]))
    later = now + step
    if draw(st.booleans()):
        later = later.replace(hour=0, minute=0, second=0)
    later = max(later, now)
    return {"now": later, "jobs": draw(st.lists(a_job(later), max_size=8)),
            "optout": draw(st.frozensets(st.sampled_from(USERS), max_size=2)),
            "through_env": draw(st.booleans())}


def records_of(jobs, first_id):
    records, measured = [], []
    for number, spec in enumerate(jobs, first_id):
        record = job(number, spec["user"], spec["end"], cpus=spec["cpus"],
                     elapsed=spec["elapsed"], gpus=spec["gpus"], state=spec["state"],
                     account=spec["account"], cluster=spec["cluster"])
        records.append(record)
        if spec["measured"]:
            record = dict(record, cpu_used_s=int(record["cpu_seconds"] * spec["used"]),
                          mem_bytes=1 << 30, max_rss_bytes=(1 << 29) + number)
            if spec["gpus"] and spec["util"] is not None:
                record["gpu_util"] = spec["util"]
            measured.append(record)
    return records, measured


def write_optout(root, users):
    os.makedirs(os.path.join(root, "config"), exist_ok=True)
    with open(os.path.join(root, "config", "optout.txt"), "w") as handle:
        handle.write("".join(f"{user}\n" for user in sorted(users)))


@st.composite
def histories(draw):
    first = draw(a_poll(START))
    polls = [first]
    for _ in range(draw(st.integers(1, 3))):
        polls.append(draw(a_poll(polls[-1]["now"])))
    return polls


@settings(max_examples=int(os.environ.get("SB_INCREMENTAL_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(histories())
def test_a_rebuild_after_each_poll_writes_what_a_full_rebuild_writes(polls):
    with tempfile.TemporaryDirectory(prefix="sb-incremental-") as scratch:
        root = os.path.join(scratch, "root")
        os.makedirs(root)
        next_id = 1
        for poll in polls:
            now = poll["now"]
            write_optout(root, poll["optout"])
            records, measured = records_of(poll["jobs"], next_id)
            next_id += len(records)
            reduce_into(root, records, now)
            reduce_into(root, measured, now, "--usage")
            before = leaderboard_files(root)
            summary = rank(root, now, "--if-changed", through_env=poll["through_env"])
            if not layout.clusters(root):
                continue
            after = leaderboard_files(root)
            if summary.get("skipped"):
                assert after == before
            else:
                assert_written_only_when_changed(before, after, now)
            assert_like_a_full_rebuild(root, now)


# -- a poll of one cluster -----------------------------------------------------------------------

NOW = datetime(2025, 8, 31, 12, 0, tzinfo=timezone.utc)


def some_jobs(first_id, count, clusters=CLUSTERS, day="2025-08"):
    jobs = []
    for i in range(count):
        record = job(first_id + i, USERS[i % len(USERS)], f"{day}-{1 + (i * 7) % 30:02d}T"
                     f"{(i * 5) % 24:02d}:00:00Z", cpus=1 + i % 4, elapsed=1800 * (1 + i % 5),
                     gpus=int(i % 3 == 0), account=ACCOUNTS[i % len(ACCOUNTS)],
                     state=("COMPLETED", "FAILED")[i % 4 == 0],
                     cluster=clusters[i % len(clusters)])
        jobs.append(record)
    return jobs


def measured_of(records):
    return [dict(record, cpu_used_s=record["cpu_seconds"] // 3, mem_bytes=1 << 30,
                 max_rss_bytes=1 << 28, **({"gpu_util": 40} if record["gpus"] else {}))
            for record in records]


@pytest.fixture
def ranked_root(tmp_path):
    """Three clusters with jobs of two months and measured usage, rebuilt once."""
    root = str(tmp_path / "root")
    os.makedirs(root)
    records = some_jobs(1, 60) + some_jobs(100, 30, day="2025-07")
    reduce_into(root, records, NOW)
    reduce_into(root, measured_of(records[::2]), NOW, "--usage")
    rank(root, NOW)
    return root


def identities(root):
    """relative path -> (inode, modify time) of every file under leaderboards/."""
    top = os.path.join(root, "leaderboards")
    found = {}
    for folder, _, names in os.walk(top):
        for name in names:
            info = os.stat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), top)] = (info.st_ino,
                                                                       info.st_mtime_ns)
    return found


def reads_logged(log):
    """A forked child's setup that logs each store file it loads (relative to the root) and
    each cluster whose usage files it reads."""
    def setup():
        from slurm_scoreboard.rank import efficiency
        from slurm_scoreboard.store import reading

        def logged(real, what):
            def read(*args, **kwargs):
                with open(log, "a") as handle:
                    handle.write(what(*args) + "\n")
                return real(*args, **kwargs)
            return read
        reading.load_object = logged(reading.load_object,
                                     lambda path, *rest: path.split("/clusters/")[1])
        efficiency.collect_cluster = logged(efficiency.collect_cluster,
                                            lambda root, cluster, *rest: f"usage of {cluster}")
    return setup


def test_a_poll_of_one_cluster_reads_what_it_changed_and_writes_only_boards_that_changed(
        ranked_root, tmp_path):
    before = identities(ranked_root)
    contents = leaderboard_files(ranked_root)
    later = NOW + timedelta(minutes=10)
    reduce_into(ranked_root, [job(500, "ann", "2025-08-31T11:00:00Z", cpus=8, elapsed=7200,
                                  account="phys", cluster="hammer")], later)
    log = str(tmp_path / "reads")
    ran = run_forked(sb_rank.main, ["--root", ranked_root, "--now", iso(later), "--if-changed"],
                     setup=reads_logged(log))
    assert ran.code == 0, ran.stderr
    with open(log) as handle:       # the all-time index and the newest month, nothing else
        assert handle.read().split("\n") == ["hammer/agg/alltime.json",
                                             "hammer/agg/rollups/monthly/2025-08.json", ""]
    after = identities(ranked_root)
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed, "the poll changed boards"
    assert all(name.startswith(("clusters/hammer/", ".cache/clusters/hammer.json",
                                ".cache/all.json", "groups/", "progress/all_",
                                "progress/cluster-hammer_")) or "/" not in name
               for name in changed), changed
    assert "progress/cluster-hammer_users.ndjson" in changed     # and not anvil's nor vise's
    summary = orjson.loads(ran.stdout)
    assert summary["written"] == len([name for name in changed if name.endswith(".json") and
                                      "_stats" not in name and not name.startswith(".")
                                      and name not in BOOKKEEPING | {"index.json"}])
    assert summary["written"] < summary["boards"] == 3 * 5 * 2 * 11 + 5 * 2 * 11
    # only the boards whose rows changed: the poll added no GPU time, no failure
    assert not any("gpu" in name or "failed" in name for name in changed)
    new = leaderboard_files(ranked_root)
    assert_written_only_when_changed(contents, new, later)
    assert_like_a_full_rebuild(ranked_root, later)


# -- damaged, stale and planted summaries --------------------------------------------------------

def summary_path(root, cluster="anvil"):
    return os.path.join(root, "leaderboards", ".cache", "clusters", f"{cluster}.json")


def read_summary(root, cluster="anvil"):
    """The summary file's header and its parts (measured, usage, settled months)."""
    with open(summary_path(root, cluster), "rb") as handle:
        header, measured, usage, settled, end = handle.read().split(b"\n")
    assert end == b""
    return orjson.loads(header), orjson.loads(measured), orjson.loads(usage), settled


def write_summary(root, header, measured, usage, settled, cluster="anvil", mode=0o644):
    """A summary file as a forger writes it: its digests made to match."""
    import hashlib
    lines = [orjson.dumps(measured), orjson.dumps(usage), settled]
    header = dict(header, digests={part: hashlib.sha256(text).hexdigest() for part, text in
                                   zip(("measured", "usage", "settled"), lines)})
    path = summary_path(root, cluster)
    os.unlink(path)
    with open(path, "wb") as handle:
        handle.write(b"\n".join([orjson.dumps(header)] + lines) + b"\n")
    os.chmod(path, mode)


def more(usage):
    """Every usage vector of the summary doubled: boards made from it would be wrong."""
    return {window: {user: {account: [2 * value + 1 for value in vector]
                            for account, vector in accounts.items()}
                     for user, accounts in users.items()} for window, users in usage.items()}


def first_user(part):
    return next(iter(part["alltime"]))


def forged(change):
    """A planting that rewrites the summary's parts with `change` and fixes its digests."""
    def plant(root):
        header, measured, usage, settled = read_summary(root)
        write_summary(root, header, *change(measured, usage), settled)
    return plant


def edited(change):
    """A planting that edits the summary's bytes in place (no digest fixed)."""
    def plant(root):
        with open(summary_path(root), "rb") as handle:
            data = handle.read()
        with open(summary_path(root), "wb") as handle:
            handle.write(change(data))
    return plant


def with_vector(usage, value):
    user = first_user(usage)
    account = next(iter(usage["alltime"][user]))
    return {window: dict(users, **({user: dict(users[user], **{account: value})}
                                   if user in users else {}))
            for window, users in usage.items()}


PLANTED = {
    "empty": edited(lambda data: b""),
    "cut short": edited(lambda data: data[:len(data) // 2]),
    "a line more": edited(lambda data: data + b"{}\n"),
    "numbers changed, digest not": edited(lambda data: b"\n".join(
        line.replace(b"[", b"[9") if number == 2 else line
        for number, line in enumerate(data.split(b"\n")))),
    "not JSON": edited(lambda data: b"\n".join([b"{", b"x", b"y"]) + b"\n"),
    "numbers doubled, digests fixed, by another account": "another account",
    "numbers doubled, digests fixed, writable by its group": "group writable",
    "numbers doubled, digests fixed, hard-linked": "hard link",
    "a window missing": forged(lambda m, u: (m, {w: p for w, p in u.items() if w != "month"})),
    "a negative count": forged(lambda m, u: (m, with_vector(u, [-1, 0, 0, 0, 0, 1]))),
    "a float count": forged(lambda m, u: (m, with_vector(u, [1.5, 0, 0, 0, 0, 1]))),
    "a boolean count": forged(lambda m, u: (m, with_vector(u, [True, 0, 0, 0, 0, 1]))),
    "a short vector": forged(lambda m, u: (m, with_vector(u, [1, 0, 0, 0, 1]))),
    "a count as text": forged(lambda m, u: (m, with_vector(u, ["1", 0, 0, 0, 0, 1]))),
    "no accounts": forged(lambda m, u: (m, {w: dict(p, ann={}) for w, p in u.items()})),
    "a name the store cannot hold": forged(lambda m, u: (m, {
        w: dict(p, **{"../evil": {"phys": [1, 1, 1, 1, 1, 1]}}) for w, p in u.items()})),
    "an opted-out user": forged(lambda m, u: (m, {
        w: dict(p, kim={"phys": [1, 1, 1, 1, 1, 1]}) for w, p in u.items()})),
    "a measured sum below zero": forged(lambda m, u: ({
        w: {user: {a: [-1.0] + s[1:] for a, s in accounts.items()}
            for user, accounts in p.items()} for w, p in m.items()}, u)),
    "a measured sum too large": forged(lambda m, u: ({
        w: {user: {a: [s[0], 1e300] + s[2:] for a, s in accounts.items()}
            for user, accounts in p.items()} for w, p in m.items()}, u)),
    "measured sums one short": forged(lambda m, u: ({
        w: {user: {a: s[1:] for a, s in accounts.items()}
            for user, accounts in p.items()} for w, p in m.items()}, u)),
}


def plant_numbers(root, how):
    """Doubled numbers with matching digests, made untrustworthy by who wrote it: the
    forked child's account is another one, the file is group-writable, or hard-linked."""
    header, measured, usage, settled = read_summary(root)
    write_summary(root, header, measured, more(usage), settled,
                  mode=0o664 if how == "group writable" else 0o644)
    if how == "hard link":
        os.link(summary_path(root), summary_path(root) + ".kept")
    if how == "another account" and os.geteuid() == 0:
        os.chown(summary_path(root), 1, -1)


def another_account():
    """In the forked rebuild, summaries.py sees another account than the file's owner (what a
    test not run as root can do)."""
    import types

    from slurm_scoreboard.rank import summaries
    uid = os.geteuid()
    seen = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os)
                                    if not name.startswith("__")})
    seen.geteuid = lambda: uid + 1
    summaries.os = seen


@pytest.mark.parametrize("planting", sorted(PLANTED))
def test_a_damaged_stale_or_planted_summary_never_makes_a_board_wrong(ranked_root, planting):
    later = NOW + timedelta(minutes=10)
    write_optout(ranked_root, ["kim"])
    reduce_into(ranked_root, [job(700, "bo", "2025-08-31T10:00:00Z", account="chem",
                                  cluster="hammer")], later)
    rank(ranked_root, later)        # anvil's summary is current: the planting replaces it
    how = PLANTED[planting]
    if callable(how):
        how(ranked_root)
    else:
        plant_numbers(ranked_root, how)
    reduce_into(ranked_root, [job(701, "cy", "2025-08-31T11:00:00Z", account="bio",
                                  cluster="vise")], later)
    ran = run_forked(sb_rank.main, ["--root", ranked_root, "--now", iso(later),
                                    "--if-changed"],
                     setup=another_account if how == "another account" and os.geteuid()
                     else lambda: None)
    assert ran.code == 0, ran.stderr
    assert_like_a_full_rebuild(ranked_root, later)


def test_a_summary_from_before_the_last_poll_is_not_used(ranked_root):
    """A copy of an older summary put back (a backup restored, a planted one): its key names
    store files that are gone."""
    kept = summary_path(ranked_root) + ".old"
    shutil.copy(summary_path(ranked_root), kept)
    later = NOW + timedelta(minutes=10)
    reduce_into(ranked_root, [job(800, "eve", "2025-08-31T11:00:00Z", cpus=16, elapsed=36000,
                                  account="phys", cluster="anvil")], later)
    rank(ranked_root, later)
    os.replace(kept, summary_path(ranked_root))
    reduce_into(ranked_root, [job(801, "fay", "2025-08-31T11:30:00Z", cluster="vise")], later)
    rank(ranked_root, later, "--if-changed")
    assert_like_a_full_rebuild(ranked_root, later)


def test_the_summaries_are_kept_and_used(ranked_root):
    """Each cluster read cleanly has one, written only by this account, readable as the
    root's files are; a second rebuild with nothing changed writes no board."""
    for cluster in CLUSTERS:
        info = os.stat(summary_path(ranked_root, cluster))
        assert info.st_uid == os.geteuid() and not info.st_mode & 0o022
    summary = rank(ranked_root, NOW)
    assert summary["written"] == 0 and summary["boards"] == 4 * 5 * 2 * 11


@pytest.mark.parametrize("change", ["removed", "replaced", "edited in place"])
def test_a_board_changed_since_its_cluster_was_ranked_is_written_again(ranked_root, change):
    """A cluster's boards are left alone only while each is the file its rebuild wrote."""
    path = os.path.join(ranked_root, "leaderboards", "clusters", "anvil", "groups",
                        "alltime_jobs.json")
    if change == "removed":
        os.unlink(path)
    elif change == "replaced":
        with open(path + ".new", "wb") as handle:
            handle.write(b'{"asof":"2025-08-31T12:00:00Z","rows":[]}\n')
        os.replace(path + ".new", path)
    else:
        with open(path, "r+b") as handle:
            handle.seek(40)
            handle.write(b"0")
    later = NOW + timedelta(minutes=10)
    reduce_into(ranked_root, [job(900, "dee", "2025-08-31T11:00:00Z", cluster="vise")], later)
    rank(ranked_root, later, "--if-changed")
    assert_like_a_full_rebuild(ranked_root, later)


def test_a_busy_store_is_waited_for_once_and_left_out_named(ranked_root, tmp_path):
    """Its summary's keys and its read are taken under one hold of the store's shared lock:
    the rebuild waits for it once (--wait), then leaves the cluster out and exits 3."""
    log = str(tmp_path / "waits")

    def busy_hammer():
        from contextlib import contextmanager

        from slurm_scoreboard.errors import LockBusy
        from slurm_scoreboard.store import reading
        real = reading.shared_lock

        @contextmanager
        def shared_lock(path, timeout=60.0):
            if os.sep + "hammer" + os.sep in path:
                with open(log, "a") as handle:
                    handle.write(f"{timeout:g}\n")
                raise LockBusy(f"{path}: busy", path)
            with real(path, timeout):
                yield
        reading.shared_lock = shared_lock

    later = NOW + timedelta(minutes=10)
    reduce_into(ranked_root, [job(950, "ann", "2025-08-31T11:00:00Z", cluster="vise")], later)
    ran = run_forked(sb_rank.main, ["--root", ranked_root, "--now", iso(later), "--wait", "7"],
                     setup=busy_hammer)
    assert ran.code == 3
    assert ran.stderr.count(b"cluster hammer is left out") == 1
    with open(log) as handle:
        assert handle.read().split() == ["7"]


# -- the all-cluster sums --------------------------------------------------------------------

def together_path(root):
    return os.path.join(root, "leaderboards", ".cache", "all.json")


def rewrite_together(root, change, mode=0o644):
    """The all-cluster sums rewritten by `change(header, parts)`, their digests made to match
    (as a forger would)."""
    import hashlib
    with open(together_path(root), "rb") as handle:
        lines = handle.read().split(b"\n")[:-1]
    header = orjson.loads(lines[0])
    parts = dict(zip(("measured", "usage", "counts"), (orjson.loads(line)
                                                        for line in lines[1:])))
    header = change(header, parts) or header
    texts = [orjson.dumps(parts[name]) for name in ("measured", "usage", "counts")]
    header["digests"] = {name: hashlib.sha256(text).hexdigest()
                         for name, text in zip(("measured", "usage", "counts"), texts)}
    os.unlink(together_path(root))
    with open(together_path(root), "wb") as handle:
        handle.write(b"\n".join([orjson.dumps(header)] + texts) + b"\n")
    os.chmod(together_path(root), mode)


def doubled(header, parts):
    parts["usage"] = more(parts["usage"])


def doubled_elsewhere(header, parts):
    """Doubled sums of the users who have jobs on anvil and vise only: what a poll of hammer
    takes out and puts back never shows them."""
    parts["usage"] = {window: {user: (accounts if user in ("bo", "eve") else more(
        {"w": {user: accounts}})["w"][user]) for user, accounts in by_user.items()}
        for window, by_user in parts["usage"].items()}


def count_dropped(header, parts):
    """The counts of a user the poll of hammer changes, gone (their sums still there)."""
    for by_user in parts["counts"].values():
        by_user.pop("bo", None)


def count_of(value):
    def change(header, parts):
        for by_user in parts["counts"].values():
            for accounts in by_user.values():
                for account in accounts:
                    accounts[account] = [value]
    return change


def record_moved(header, parts):
    header["clusters"][0][2] = "0" * 64


def edited_together(change):
    def plant(root):
        with open(together_path(root), "rb") as handle:
            data = handle.read()
        with open(together_path(root), "wb") as handle:
            handle.write(change(data))
    return plant


PLANTED_SUMS = {
    "empty": edited_together(lambda data: b""),
    "cut short": edited_together(lambda data: data[:len(data) // 2]),
    "numbers changed, digest not": edited_together(lambda data: b"\n".join(
        line.replace(b"[", b"[9") if number == 2 else line
        for number, line in enumerate(data.split(b"\n")))),
    "sums changed, by another account": lambda root: (
        rewrite_together(root, doubled_elsewhere),
        os.geteuid() == 0 and os.chown(together_path(root), 1, -1)),
    "sums changed, writable by its group": lambda root: rewrite_together(
        root, doubled_elsewhere, 0o664),
    "sums changed, hard-linked": lambda root: (rewrite_together(root, doubled_elsewhere),
                                               os.link(together_path(root),
                                                       together_path(root) + ".kept")),
    "sums that do not hold the polled cluster's part": lambda root: rewrite_together(
        root, doubled),
    "an entry's count missing": lambda root: rewrite_together(root, count_dropped),
    "counts of zero": lambda root: rewrite_together(root, count_of(0)),
    "counts too high": lambda root: rewrite_together(root, count_of(9)),
    "a cluster's record moved": lambda root: rewrite_together(root, record_moved),
}


@pytest.mark.parametrize("planting", sorted(PLANTED_SUMS))
def test_damaged_or_planted_sums_never_make_a_board_wrong(ranked_root, planting):
    """Sums that do not check out are not used; sums that do not hold what a changed cluster
    held (doubled: more than that cluster's part where it is the only one) are merged again."""
    PLANTED_SUMS[planting](ranked_root)
    later = NOW + timedelta(minutes=10)
    reduce_into(ranked_root, [job(990, "ann", "2025-08-31T11:00:00Z", cpus=4, account="zoo",
                                  cluster="hammer")], later)
    ran = run_forked(sb_rank.main, ["--root", ranked_root, "--now", iso(later), "--if-changed"],
                     setup=another_account if "another account" in planting and os.geteuid()
                     else lambda: None)
    assert ran.code == 0, ran.stderr
    assert_like_a_full_rebuild(ranked_root, later)


def test_sums_changed_by_this_account_are_trusted_as_its_store_is(ranked_root):
    """What makes the tests above fail when a check is missing: sums the account running the
    rebuild rewrote, consistent and with matching digests, are used (as its store would be)."""
    rewrite_together(ranked_root, doubled_elsewhere)
    later = NOW + timedelta(minutes=10)
    reduce_into(ranked_root, [job(991, "bo", "2025-08-31T11:00:00Z", cluster="hammer")], later)
    rank(ranked_root, later, "--if-changed")
    with pytest.raises(AssertionError):
        assert_like_a_full_rebuild(ranked_root, later)


def kept_usage(root):
    """The all-cluster sums' usage part: window -> user -> account -> vector."""
    with open(together_path(root), "rb") as handle:
        return orjson.loads(handle.read().split(b"\n")[2])


def test_a_name_whose_last_usage_left_a_window_leaves_the_kept_sums(ranked_root):
    """Mutation (together._take_out): a user emptied of every account was kept in the sums as
    {} (the sums then held what no merge of the clusters holds)."""
    reduce_into(ranked_root, [job(900, "zed", iso(NOW - timedelta(days=6, hours=12)),
                                  cluster="anvil", account="phys")], NOW)
    rank(ranked_root, NOW)
    assert "zed" in kept_usage(ranked_root)["rolling-7d"]
    later = NOW + timedelta(days=1)
    rank(ranked_root, later)
    usage = kept_usage(ranked_root)
    assert "zed" not in usage["rolling-7d"] and "zed" in usage["rolling-30d"]
    assert_like_a_full_rebuild(ranked_root, later)
    with tempfile.TemporaryDirectory(prefix="sb-full-") as scratch:
        fresh = os.path.join(scratch, "root")
        shutil.copytree(ranked_root, fresh, symlinks=True)
        shutil.rmtree(os.path.join(fresh, "leaderboards", ".cache"))
        rank(fresh, later)
        assert kept_usage(fresh) == usage
