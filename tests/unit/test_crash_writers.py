"""SIGKILL every writer outside the store at each of its write points, rerun, and check nothing
is lost, nothing half-written stays, and the files are the ones an uninterrupted run writes:

- sb-rank's rebuild (boards, group statistics, index.json, rebuild.json, history.json,
  achievements.ndjson, records.json, the competitions, the progress files, the history
  checkpoint and its months file, the summaries and sums in .cache/):
  after a kill and a rerun (as a poll reruns it, with --if-changed) every file under
  leaderboards/ equals what an uninterrupted rebuild writes, modes included, no temporary file
  is left, and every summary kept holds what the store holds now; so too for the rebuild
  after a poll of one cluster, which uses the other clusters' summaries; the history pass's
  checkpoint holds the same state at the same month (its head names files by identity) when
  the rebuild moved it to a new month as when it resumed from it;
- sb-news: every new event is printed (or added to the outbox) at least once, none is lost,
  and the cursor ends complete;
- sb-export --format html: after a kill at any point the symlink serves the old site or the
  new one, whole; a rerun leaves only the new one;
- sb-reduce --usage: the usage files after a kill and a rerun are the uninterrupted run's.

The kills come from files.fault_point() (see DEVELOPERS.md, "Crash-safety tests"), in a forked
child of the test process (crash_helpers.run_forked). A second part checks the order of the
syncs, which no SIGKILL can see (the page cache survives it) but a power cut can: a file is
fsynced before it is renamed into place, its folder after, and a site's every page and folder
before the symlink swap.
"""
import os
import pathlib
import re
import shutil

import orjson
import pytest
from crash_helpers import (
    SyncSpy,
    differences,
    fast_folder,
    linked_copy,
    remove_fast_folders,
    representative_points,
    run_forked,
    snapshot,
    write_points,
)
from reduce_helpers import job, ndjson, reduce

from slurm_scoreboard.core import layout
from slurm_scoreboard.export import sitedir
from slurm_scoreboard.history import checkpoint, chronicle
from slurm_scoreboard.rank import efficiency, rebuilds
from slurm_scoreboard.store import bloom
from slurm_scoreboard_tools import sb_export, sb_news, sb_rank, sb_reduce

NOW = "2025-08-31T12:00:00Z"
BEFORE = "2025-08-30T12:00:00Z"     # the last rebuild: yesterday, so the history pass is due
RANK_ENV = {"SLURM_SB_NOW": NOW}


@pytest.fixture(scope="module", autouse=True)
def fast_folders_removed():
    yield
    remove_fast_folders()


def write_config(root, competitions):
    os.makedirs(os.path.join(str(root), "config"), exist_ok=True)
    with open(os.path.join(str(root), "config", "competitions.json"), "wb") as handle:
        handle.write(orjson.dumps({"competitions": competitions,
                                   "presets": ["skill-of-the-week"]}))


def contest(ident, skills, **limits):
    return dict({"id": ident, "title": ident.title(), "skills": skills, "from": "2025-08-01",
                 "to": "2025-08-31"}, **limits)


def users_jobs(first_id, count, day_offset):
    return [job(first_id + i, ("alice", "bob", "carol", "dave")[i % 4],
                f"2025-08-{1 + (i * 3 + day_offset) % 30:02d}T{6 + i % 12:02d}:00:00Z",
                cpus=1 + i % 4, elapsed=1800 * (1 + i % 7), gpus=int(i % 3 == 0),
                account=("phys", "chem")[i % 2], state=("COMPLETED", "FAILED")[i % 5 == 0])
            for i in range(count)]


# -- sb-rank's rebuild -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rebuild_base(tmp_path_factory):
    """A root ranked yesterday, then given new jobs and a changed competition: the next
    rebuild rewrites every board, reruns the history pass and removes a competition's file."""
    root = fast_folder(tmp_path_factory, "rebuild") / "root"
    root.mkdir()
    write_config(root, [contest("gone", ["jobs"])])
    done, stats = reduce(root, users_jobs(1, 16, 0))
    assert done.returncode == 0 and stats["new_jobs"] == 16, done.stderr
    ran = run_forked(sb_rank.main, ["--root", str(root)], env={"SLURM_SB_NOW": BEFORE})
    assert ran.code == 0, ran.stderr
    done, stats = reduce(root, users_jobs(100, 12, 1))
    assert done.returncode == 0 and stats["new_jobs"] == 12, done.stderr
    write_config(root, [contest("august", ["clock_hours", "jobs"], accounts=["phys"])])
    return root


def leaderboards(root):
    return os.path.join(str(root), "leaderboards")


BOOKKEEPING = ("rebuild.json", "history.json", "history_checkpoint.json")


def rebuilt_files(root):
    """Every file a rebuild writes but its bookkeeping and the summaries (which name the store
    files of their copy of the root: checkpoint_state and assert_summaries_hold check them)."""
    return snapshot(leaderboards(root), skip=lambda relative: relative in BOOKKEEPING or
                    relative.startswith(".cache" + os.sep))


def assert_summaries_hold(root, now=NOW):
    """Each cluster's kept summary is valid now (its keys those of the store as it is) and
    holds what its store holds, and the cluster's boards are the files it vouches for: a
    rerun left none that would make a later rebuild leave a wrong board alone."""
    from slurm_scoreboard.core import times, windows
    from slurm_scoreboard.core.optout import OptOut
    from slurm_scoreboard.rank import clusters, summaries
    from slurm_scoreboard.store import reading
    root, moment = str(root), times.parse_moment(now)
    wanted = [windows.resolve(name, moment) for name in windows.NAMES]
    dated = [window for window in wanted if window.first_day is not None]
    optout = OptOut(root)

    def damaged(path, message):
        raise AssertionError(message)
    records, usage, measured = [], [], []
    for cluster in layout.clusters(root):
        lines = summaries.cluster_lines(root, cluster)
        header = summaries.header_of(lines, cluster)
        assert header is not None, cluster
        keys = {"measured": summaries.measured_key(root, cluster, wanted, optout)}
        with reading.reading(root, cluster, 10):
            months = reading.rollup_months(root, cluster, damaged)
            keys.update(summaries.usage_keys(root, cluster, wanted, optout, months))
            settled = reading.months_usage(months[:-1], dated, optout, damaged)
        assert header.keys == keys, cluster
        assert summaries.part(lines, header, "measured", wanted, optout) == \
            efficiency.collect_cluster(root, cluster, wanted, optout, damaged), cluster
        assert summaries.part(lines, header, "usage", wanted, optout) == \
            reading.collect_cluster(root, cluster, wanted, optout, 10, damaged), cluster
        assert summaries.part(lines, header, "settled", dated, optout) == settled, cluster
        with open(layout.path(root, "index_file"), "rb") as handle:
            measured_boards = orjson.loads(handle.read())["efficiency"]
        assert header.boards["usage"]["files"] == summaries.board_identities(
            clusters.usage_board_files(root, cluster, wanted)), cluster
        assert header.boards["efficiency"]["files"] == summaries.board_identities(
            clusters.efficiency_board_files(root, cluster, wanted, measured_boards)), cluster
        records.append((cluster, keys["measured"], keys["usage"]))
        usage.append(reading.collect_cluster(root, cluster, wanted, optout, 10, damaged))
        measured.append(efficiency.collect_cluster(root, cluster, wanted, optout, damaged))
    assert_sums_hold(root, wanted, optout, records, usage, measured)


def assert_sums_hold(root, wanted, optout, records, usage, measured):
    """The all-cluster sums hold what every cluster's store holds, merged, and how many
    clusters have each entry, under each cluster's keys now."""
    from slurm_scoreboard.rank import scope, summaries
    from slurm_scoreboard.store import reading
    lines = summaries.together_lines(root)
    header = summaries.together_header(lines)
    assert header is not None and header.records == records
    merged = {window.name: {} for window in wanted}
    counts = {window.name: {} for window in wanted}
    for part in usage:
        for name, by_user in part.items():
            reading.merge_into(merged[name], by_user)
            for user, accounts in by_user.items():
                for account in accounts:
                    held = counts[name].setdefault(user, {}).setdefault(account, [0])
                    held[0] += 1
    assert summaries.together_part(lines, header, "usage", wanted, optout) == merged
    assert summaries.together_part(lines, header, "counts", wanted, optout) == counts
    assert summaries.together_part(lines, header, "measured", wanted, optout) == \
        scope.merged_measured(measured, wanted)


def checkpoint_state(root):
    """The month of the history pass's checkpoint and its state line (its head names files by
    identity, which differs from copy to copy)."""
    with open(checkpoint.path(str(root)), "rb") as handle:
        head, state = handle.read().split(b"\n")[:2]
    return orjson.loads(head)["month"], state


def assert_bookkeeping_is_a_clean_rebuilds(root):
    """rebuild.json says the last clean rebuild read what is there now (so the next poll's
    --if-changed skips), history.json that the history pass ran now, with today's inputs."""
    bar = rebuilds.bar_setting(efficiency.DEFAULT_MIN_CPU_HOURS)
    assert rebuilds.unchanged(str(root), rebuilds.signature(str(root), _now(), bar)) == NOW
    with open(layout.history_record(str(root)), "rb") as handle:
        assert orjson.loads(handle.read()) == {"asof": NOW, "inputs": chronicle._inputs(str(root))}


def _now():
    from slurm_scoreboard.core import times
    return times.parse_moment(NOW)


def rank_if_changed(root, fault_at=0):
    return run_forked(sb_rank.main, ["--root", str(root), "--if-changed"], env=RANK_ENV,
                      fault_at=fault_at)


@pytest.fixture(scope="module")
def rebuild_reference(rebuild_base, tmp_path_factory):
    root = linked_copy(rebuild_base, fast_folder(tmp_path_factory, "reference") / "root")
    ran = rank_if_changed(root)
    assert ran.code == 0, ran.stderr
    assert_bookkeeping_is_a_clean_rebuilds(root)
    assert not os.path.exists(os.path.join(leaderboards(root), "competitions", "gone.json"))
    return rebuilt_files(root), ran.points, root, checkpoint_state(root)


def leaderboard_kind(path):
    """The kind of a file sb-rank writes: its path without the cluster, window, skill and
    competition named."""
    path = re.sub(r"/clusters/[^/]+", "/clusters/C", path)
    path = re.sub(r"/progress/(all|cluster-[^/]+)_(users|groups)\.ndjson$",
                  "/progress/S_K.ndjson", path)
    path = re.sub(r"(alltime|rolling-[0-9]+d|month)_stats\.json$", "W_stats.json", path)
    path = re.sub(r"(alltime|rolling-[0-9]+d|month)_[a-z_]+\.json$", "W_M.json", path)
    return re.sub(r"/competitions/[^/]+\.json$", "/competitions/ID.json", path)


def test_a_rebuild_killed_at_any_write_point_then_rerun_writes_what_an_uninterrupted_one_does(
        rebuild_base, rebuild_reference):
    reference, count, _, kept = rebuild_reference
    base_before = snapshot(rebuild_base)
    probe = linked_copy(rebuild_base, rebuild_base.parent / "probe")
    points = write_points(sb_rank.main, ["--root", probe, "--if-changed"], env=RANK_ENV)
    assert len(points) == count > 500
    kinds = {leaderboard_kind(path) for _, path in points}
    assert {"/leaderboards/clusters/C/groups/W_stats.json", "/leaderboards/W_M.json",
            "/leaderboards/history.json", "/leaderboards/rebuild.json",
            "/leaderboards/competitions/ID.json", "/leaderboards/.cache/clusters/C",
            "/leaderboards/.cache/all.json", "/leaderboards/progress/S_K.ndjson"} <= \
        {kind[len(probe):] for kind in kinds}
    for point in representative_points(points, leaderboard_kind):
        root = linked_copy(rebuild_base, rebuild_base.parent / f"kill-{point}")
        assert rank_if_changed(root, point).killed, point
        ran = rank_if_changed(root)
        assert ran.code == 0, (point, ran.stderr)
        assert differences(rebuilt_files(root), reference) == {}, point
        assert checkpoint_state(root) == kept, point
        assert_bookkeeping_is_a_clean_rebuilds(root)
        assert_summaries_hold(root)
        shutil.rmtree(root)
    assert snapshot(rebuild_base) == base_before      # the hard links were never written through


def months_jobs(first_id, days):
    """Jobs of the four users, ending on each of `days` (YYYY-MM-DD)."""
    return [job(first_id + i, ("alice", "bob", "carol", "dave")[i % 4],
                f"{day}T{6 + i % 12:02d}:00:00Z", cpus=1 + i % 4, elapsed=1800 * (1 + i % 7),
                account=("phys", "chem")[i % 2])
            for i, day in enumerate(day for day in days for _ in range(3))]


LAST_MONTH = "2025-07-20T12:00:00Z"   # a rebuild last month: the history's checkpoint at June


@pytest.fixture(scope="module")
def checkpoint_base(tmp_path_factory):
    """A root with months of history, ranked last month (its history checkpoint at June), then
    given jobs in July and August: the next rebuild starts the history pass at June and moves
    the checkpoint to July."""
    root = fast_folder(tmp_path_factory, "checkpoint") / "root"
    root.mkdir()
    write_config(root, [dict(contest("may", ["jobs"], accounts=["phys"]),
                             **{"from": "2025-05-05", "to": "2025-06-20"})])
    done, _ = reduce(root, months_jobs(1, ["2025-04-28", "2025-05-03", "2025-05-30",
                                           "2025-06-02", "2025-06-29", "2025-07-01"]))
    assert done.returncode == 0, done.stderr
    ran = run_forked(sb_rank.main, ["--root", str(root)], env={"SLURM_SB_NOW": LAST_MONTH})
    assert ran.code == 0 and checkpoint_state(root)[0] == "2025-06", ran.stderr
    done, _ = reduce(root, months_jobs(100, ["2025-07-25", "2025-08-01", "2025-08-30"]))
    assert done.returncode == 0, done.stderr
    return root


HISTORY_FILES = ("achievements.ndjson", "records.json", "competitions", "history",
                 "history_checkpoint.json", "history_months.ndjson", "progress")


def test_a_rebuild_that_moves_the_history_checkpoint_killed_at_any_of_its_points_is_exact(
        checkpoint_base):
    reference = linked_copy(checkpoint_base, checkpoint_base.parent / "reference")
    moved = checkpoint_state(reference)
    assert rank_if_changed(reference).code == 0
    assert checkpoint_state(reference)[0] == "2025-07" != moved[0]
    want, kept = rebuilt_files(reference), checkpoint_state(reference)
    probe = linked_copy(checkpoint_base, checkpoint_base.parent / "probe")
    points = write_points(sb_rank.main, ["--root", probe, "--if-changed"], env=RANK_ENV)
    history = [point for point in representative_points(points, leaderboard_kind)
               if os.path.relpath(points[point - 1][1], leaderboards(probe)).startswith(
                   HISTORY_FILES)]
    killed_in = {os.path.relpath(points[point - 1][1], leaderboards(probe)) for point in history}
    assert {"history_checkpoint.json", "history_months.ndjson"} <= killed_in and \
        any(path.startswith("progress" + os.sep) for path in killed_in)
    for point in history:
        root = linked_copy(checkpoint_base, checkpoint_base.parent / f"kill-{point}")
        assert rank_if_changed(root, point).killed, point
        ran = rank_if_changed(root)
        assert ran.code == 0, (point, ran.stderr)
        assert differences(rebuilt_files(root), want) == {}, point
        assert checkpoint_state(root) == kept, point
        assert_bookkeeping_is_a_clean_rebuilds(root)
        shutil.rmtree(root)


POLLED = "2025-08-31T11:50:00Z"       # the rebuild before the poll, today


@pytest.fixture(scope="module")
def poll_base(tmp_path_factory):
    """Two clusters with jobs, not ranked yet: each run ranks it at POLLED (its summaries
    then hold), polls hammer, and rebuilds at NOW with anvil's summary."""
    root = fast_folder(tmp_path_factory, "poll") / "root"
    root.mkdir()
    for cluster, first in (("hammer", 1), ("anvil", 50)):
        records = [dict(record, cluster=cluster) for record in users_jobs(first, 16, first)]
        done, stats = reduce(root, records, "--cluster", cluster)
        assert done.returncode == 0 and stats["new_jobs"] == 16, done.stderr
    return root


def polled_copy(base, target):
    """A copy of `base` ranked at POLLED, then given a poll of hammer (the same one each time:
    made in this copy, so the summaries' store identities are its own)."""
    root = linked_copy(base, target)
    assert run_forked(sb_rank.main, ["--root", root], env={"SLURM_SB_NOW": POLLED}).code == 0
    records = [dict(record, cluster="hammer") for record in users_jobs(200, 3, 5)]
    ran = run_forked(sb_reduce.main, ["--root", root, "--cluster", "hammer"], ndjson(records),
                     env=RANK_ENV)
    assert ran.code == 0, ran.stderr
    return root


def test_a_rebuild_after_a_poll_killed_at_any_write_point_then_rerun_is_exact(poll_base):
    """What a poll's rebuild writes (hammer's changed boards and summary, the all-cluster
    boards merged with anvil's kept summary, the index), killed at each write point: the
    rerun leaves what an uninterrupted one does, and summaries that hold."""
    reference_root = polled_copy(poll_base, poll_base.parent / "poll-reference")
    ran = rank_if_changed(reference_root)
    assert ran.code == 0 and orjson.loads(ran.stdout)["written"] > 0, ran.stderr
    reference = rebuilt_files(reference_root)
    assert_summaries_hold(reference_root)
    probe = polled_copy(poll_base, poll_base.parent / "poll-probe")
    points = write_points(sb_rank.main, ["--root", probe, "--if-changed"], env=RANK_ENV)
    assert len(points) == ran.points
    kinds = {leaderboard_kind(path)[len(probe):] for _, path in points}
    assert {"/leaderboards/.cache/clusters/C", "/leaderboards/.cache/all.json"} <= kinds and \
        not any("anvil" in path for _, path in points)     # anvil's boards are left alone
    for point in representative_points(points, leaderboard_kind):
        root = polled_copy(poll_base, poll_base.parent / f"poll-kill-{point}")
        assert rank_if_changed(root, point).killed, point
        rerun = rank_if_changed(root)
        assert rerun.code == 0, (point, rerun.stderr)
        assert differences(rebuilt_files(root), reference) == {}, point
        assert_summaries_hold(root)
        shutil.rmtree(root)


# -- sb-news: the cursor, stdout and the outbox --------------------------------------------------

@pytest.fixture(scope="module")
def news_base(tmp_path_factory):
    """A root whose cursors mail (printing) and chat (to an outbox, since emptied: posted)
    took yesterday's events; a rebuild today found more. Its copy `fresh` has no cursor yet
    (not even the folder)."""
    folder = fast_folder(tmp_path_factory, "news")
    root = folder / "root"
    root.mkdir()
    done, _ = reduce(root, users_jobs(1, 16, 0))
    assert done.returncode == 0, done.stderr
    assert run_forked(sb_rank.main, ["--root", str(root)], env={"SLURM_SB_NOW": BEFORE}).code == 0
    fresh = pathlib.Path(linked_copy(root, folder / "fresh"))
    for which in NEWS_ARGS:
        assert news(root, which).code == 0
    os.unlink(os.path.join(str(root), OUTBOX))
    done, _ = reduce(root, users_jobs(100, 12, 1))
    assert done.returncode == 0, done.stderr
    for copy in (root, fresh):
        assert run_forked(sb_rank.main, ["--root", str(copy)], env=RANK_ENV).code == 0
    return {"taken": root, "fresh": fresh}


OUTBOX = os.path.join("state", "news", "chat.outbox")
NEWS_ARGS = {"mail": ["--cursor", "mail"],
             "chat": ["--cursor", "chat", "--format", "text", "--outbox", OUTBOX]}


def news(root, which, fault_at=0):
    args = [arg if arg != OUTBOX else os.path.join(str(root), OUTBOX)
            for arg in NEWS_ARGS[which]]
    return run_forked(sb_news.main, ["--root", str(root)] + args, fault_at=fault_at)


def event_ids(lines: bytes):
    """The id of each event printed (or each outbox line: its JSON, a tab, its text)."""
    ids = []
    for line in lines.splitlines(keepends=True):
        assert line.endswith(b"\n"), line            # never half a line
        head, tab, text = line.rstrip(b"\n").partition(b"\t")
        event = orjson.loads(head)
        if tab:
            assert text and b"\x1b" not in text
        ids.append(event["id"])
    return ids


def outbox_of(root):
    try:
        with open(os.path.join(str(root), OUTBOX), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return b""


def delivered(root, which, ran):
    """What a reader got from one run: the lines printed, or the outbox as it is."""
    return ran.stdout if which == "mail" else outbox_of(root)


def news_files(root):
    """state/ and state/news/ with everything in them but the outbox, and the state folder's
    other entries (the folders are the run's when it made them)."""
    return snapshot(os.path.join(str(root), "state"),
                    skip=lambda relative: relative == os.path.join("news", "chat.outbox"))


@pytest.mark.parametrize("which", ["mail", "chat"])
@pytest.mark.parametrize("state", ["taken", "fresh"])
def test_news_killed_at_any_write_point_gives_every_event_at_least_once_and_loses_none(
        news_base, which, state):
    base = news_base[state]
    reference = linked_copy(base, base.parent / f"ref-{which}-{state}")
    ran = news(reference, which)
    assert ran.code == 0, ran.stderr
    wanted = event_ids(delivered(reference, which, ran))
    assert len(wanted) == len(set(wanted)) > 5
    assert news(reference, which).stdout == b"" and event_ids(outbox_of(reference)) == \
        (wanted if which == "chat" else [])                   # nothing new the second time
    cursor = news_files(reference)
    points = ran.points
    assert points >= (7 if state == "fresh" else 5)
    for point in range(1, points + 1):
        root = linked_copy(base, base.parent / f"kill-{which}-{state}-{point}")
        killed = news(root, which, point)
        assert killed.killed, point
        got = event_ids(killed.stdout)
        rerun = news(root, which)
        assert rerun.code == 0, (point, rerun.stderr)
        got += event_ids(delivered(root, which, rerun))
        assert set(got) == set(wanted), point                 # each at least once, none lost
        assert len(event_ids(rerun.stdout)) == len(set(event_ids(rerun.stdout))), point
        assert differences(news_files(root), cursor) == {}, point
        waiting = outbox_of(root)
        again = news(root, which)
        assert again.stdout == b"" and outbox_of(root) == waiting, point
        shutil.rmtree(root)


# -- sb-export --format html: the site swapped whole --------------------------------------------

def site_pages(target):
    """relative path -> bytes of every file the site's symlink serves."""
    return {relative: entry.data for relative, entry in snapshot(target).items()
            if entry.kind == "file"}


def export_site(root, target, fault_at=0):
    return run_forked(sb_export.main, ["--root", str(root), "--format", "html", "--output",
                                       str(target)], fault_at=fault_at)


def site_kind(path):
    """A page of the generation being written is one kind whatever page it is; the other
    files (the symlink, the generations) are named without the pid and time in their names."""
    if f"{sitedir.GENERATION}" in path and path.endswith(".html"):
        return "page"
    return re.sub(r"[0-9]+", "N", path)


def test_a_site_killed_at_any_write_point_is_the_old_or_the_new_one_whole(
        rebuild_base, rebuild_reference, tmp_path_factory):
    """The old site is yesterday's boards, the new one today's: a kill at any point leaves the
    symlink serving one of them, whole; a rerun serves the new one and removes the rest."""
    new_root = rebuild_reference[2]
    folder = fast_folder(tmp_path_factory, "site")
    pristine = folder / "old"
    pristine.mkdir()
    assert export_site(rebuild_base, pristine / "site").code == 0
    old = site_pages(pristine / "site")
    probe = pathlib.Path(linked_copy(pristine, folder / "probe"))
    points = write_points(sb_export.main, ["--root", new_root, "--format", "html", "--output",
                                           str(probe / "site")])
    new = site_pages(probe / "site")
    assert old != new and len(points) > 100
    for point in representative_points(points, site_kind):
        parent = pathlib.Path(linked_copy(pristine, folder / f"kill-{point}"))
        target = parent / "site"
        assert export_site(new_root, target, point).killed, point
        assert os.path.islink(target) and sitedir.current_generation(str(target)), point
        assert site_pages(target) in (old, new), point
        assert export_site(new_root, target).code == 0, point
        assert site_pages(target) == new, point
        assert sorted(os.listdir(parent)) == sorted([".site.lock", "site", os.readlink(target)])
        shutil.rmtree(parent)


# -- sb-reduce --usage: the usage files ----------------------------------------------------------

def measured(job_id, user, end, cpus=2, elapsed=7200):
    """A step-poll record (sb-sacct --steps | sb-parse): the CPU time the steps used."""
    record = job(job_id, user, end, cpus=cpus, elapsed=elapsed, account="phys")
    record.update(cpu_used_s=elapsed * cpus // 3, max_rss_bytes=1 << 30, mem_bytes=2 << 30)
    return record


FIRST_STEPS = [measured(1 + i, ("alice", "bob")[i % 2], f"2025-08-0{1 + i % 3}T0{i}:00:00Z")
               for i in range(6)]
LATER_STEPS = (FIRST_STEPS[2:4] +       # read again: kept once
               [measured(50 + i, ("alice", "bob", "carol")[i % 3],
                         f"2025-08-0{2 + i % 4}T1{i}:00:00Z", cpus=1 + i) for i in range(8)])
USAGE_ENV = {"SLURM_SB_NOW": NOW}


def usage_run(root, records, fault_at=0):
    return run_forked(sb_reduce.main, ["--root", str(root), "--cluster", "hammer", "--usage"],
                      stdin=ndjson(records), env=USAGE_ENV, fault_at=fault_at)


def usage_files(root):
    """agg/ without what the step poll does not write, and the cluster's state/ without
    locks: the usage folder and its day files, and what a killed run could leave."""
    return snapshot(os.path.join(str(root), "clusters", "hammer"),
                    skip=lambda relative: relative.startswith(("agg/rollups", "agg/users",
                                                               "state/seen"))
                    or relative.endswith(".lock") or relative in ("agg/alltime.json",
                                                                  "agg/day_rule.json"))


@pytest.fixture(scope="module")
def usage_base(tmp_path_factory):
    """A store that counts every job of the step poll's records (only counted users are
    measured), and a first step poll's usage files."""
    root = fast_folder(tmp_path_factory, "usage") / "root"
    root.mkdir()
    done, _ = reduce(root, FIRST_STEPS + LATER_STEPS[2:])
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.parametrize("first", [True, False], ids=["first step poll", "a later one"])
def test_usage_files_killed_at_any_write_point_then_rerun_are_the_uninterrupted_run_s(
        usage_base, first):
    base = pathlib.Path(linked_copy(usage_base, usage_base.parent / f"base-{first}"))
    if not first:
        assert usage_run(base, FIRST_STEPS).code == 0
    records = FIRST_STEPS if first else LATER_STEPS
    reference = linked_copy(base, base.parent / f"ref-{first}")
    ran = usage_run(reference, records)
    assert ran.code == 0, ran.stderr
    measured_days = orjson.loads(ran.stdout)["days_changed"]
    assert len(measured_days) >= 3, ran.stdout
    want = usage_files(reference)
    for point in range(1, ran.points + 1):
        root = linked_copy(base, base.parent / f"kill-{first}-{point}")
        assert usage_run(root, records, point).killed, point
        rerun = usage_run(root, records)
        assert rerun.code == 0, (point, rerun.stderr)
        assert differences(usage_files(root), want) == {}, point
        shutil.rmtree(root)


# -- the order of the syncs ----------------------------------------------------------------------

def spied(tmp_path, main, argv, stdin=b"", env=None):
    """The fsyncs, renames and removals of one uninterrupted run, in order."""
    spy = SyncSpy(str(tmp_path / "events.json"))
    ran = run_forked(main, [str(arg) for arg in argv], stdin, env=env, setup=spy.install,
                     teardown=spy.save)
    assert ran.code == 0, ran.stderr
    return SyncSpy.load(spy.log)


def assert_synced_before_and_after_each_rename(events):
    """A file is fsynced before it is renamed into place (else a power cut can leave the new
    name on an empty or half-written file), and its folder after (else the rename itself can
    be lost, after the files it replaced were relied on)."""
    synced = set()
    renames = 0
    for index, event in enumerate(events):
        if event[0] == "fsync":
            synced.add(event[1])
        elif event[0] == "rename":
            source, is_link, folder, name = event[1:5]
            renames += 1
            assert is_link or source in synced, f"{name}: renamed into place before its fsync"
            assert ("fsync", folder) in events[index + 1:], \
                f"{name}: its folder is not fsynced after the rename"
    assert renames


def identity(path):
    info = os.lstat(path)
    return (info.st_dev, info.st_ino)


def assert_site_synced_before_the_swap(events, target):
    """Every page and folder of the new generation is fsynced before the symlink is swapped,
    and the swap's folder after it, before any old generation is removed."""
    generation = os.path.join(os.path.dirname(target), os.readlink(target))
    everything = {generation: identity(generation)}
    for folder, folders, names in os.walk(generation):
        for name in folders + names:
            everything[os.path.join(folder, name)] = identity(os.path.join(folder, name))
    swap = next(index for index, event in enumerate(events)
                if event[0] == "rename" and event[2] and event[4] == os.path.basename(target))
    synced = {event[1] for event in events[:swap] if event[0] == "fsync"}
    assert [path for path, inode in everything.items() if inode not in synced] == []
    after = events[swap + 1:]
    removed = next((index for index, event in enumerate(after) if event[0] == "remove"),
                   len(after))
    assert removed < len(after)                 # the old generation was removed
    assert ("fsync", identity(os.path.dirname(target))) in after[:removed]


def test_every_file_of_every_writer_is_synced_before_its_rename_and_its_folder_after(
        rebuild_base, news_base, usage_base, tmp_path):
    copy = pathlib.Path(linked_copy(rebuild_base, rebuild_base.parent / "spied"))
    runs = {
        "sb-reduce": (sb_reduce.main, ["--root", copy], ndjson(users_jobs(300, 6, 2))),
        "sb-rank": (sb_rank.main, ["--root", copy], b""),
        "sb-export openmetrics": (sb_export.main, ["--root", copy, "--format", "openmetrics",
                                                   "--output", tmp_path / "x.prom"], b""),
    }
    for main, argv, stdin in runs.values():
        assert_synced_before_and_after_each_rename(spied(tmp_path, main, argv, stdin, RANK_ENV))
    news_root = linked_copy(news_base["taken"], news_base["taken"].parent / "spied")
    for which in NEWS_ARGS:
        args = [arg if arg != OUTBOX else os.path.join(news_root, OUTBOX)
                for arg in NEWS_ARGS[which]]
        assert_synced_before_and_after_each_rename(
            spied(tmp_path, sb_news.main, ["--root", news_root] + args))
    usage_root = linked_copy(usage_base, usage_base.parent / "spied")
    assert_synced_before_and_after_each_rename(spied(
        tmp_path, sb_reduce.main, ["--root", usage_root, "--cluster", "hammer", "--usage"],
        ndjson(FIRST_STEPS), USAGE_ENV))


def test_the_bloom_files_sb_reduces_child_makes_are_synced_like_its_other_files(tmp_path):
    """Bloom files whose bytes a forked child made (bloom.BytesAside) are staged by sb-reduce
    itself: synced before their rename, their folder after, as every file of the commit."""
    root = tmp_path / "root"
    root.mkdir()
    spy = SyncSpy(str(tmp_path / "events.json"))

    def forking_spy():
        bloom.FORK_FROM = 1
        spy.install()
    ran = run_forked(sb_reduce.main, ["--root", str(root), "--cluster", "hammer"],
                     ndjson(users_jobs(300, 60, 2)),
                     setup=forking_spy, teardown=spy.save)
    assert ran.code == 0, ran.stderr
    events = SyncSpy.load(spy.log)
    assert_synced_before_and_after_each_rename(events)
    assert [event[4] for event in events if event[0] == "rename" and
            event[4].endswith(".bloom")] == ["2025-08.bloom"]


def test_a_site_is_synced_whole_before_the_swap_and_the_swap_before_the_old_site_goes(
        rebuild_base, tmp_path):
    target = tmp_path / "www" / "site"
    assert export_site(rebuild_base, target).code == 0
    events = spied(tmp_path, sb_export.main, ["--root", rebuild_base, "--format", "html",
                                              "--output", target, "--top", "3"])
    assert_site_synced_before_the_swap(events, str(target))
