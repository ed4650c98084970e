"""The modes and group of everything the tools create, in every sharing mode, whatever the
process umask, without the real cluster: a root set to single-owner or group mode (readers all
or the group) by sb-probe, then the whole flow run under a umask that takes every bit away
(0077) and one that takes none (0000): sb-reduce (store, Bloom files, locks, staged files),
sb-reduce --usage, sb-rank (boards, index, history, achievements, records, competitions),
sb-news (cursors and the outbox), sb-export (the site, OpenMetrics files). Every folder, file
and lock of the root must then have the root's mode and group; every file renamed into place
has them already as it is renamed (a temporary file never shows another mode), but for the
summaries a rebuild keeps (no one else may write them, in group mode too); what sb-export
publishes outside the root is readable by all and never given the writers' group.
"""
import os
import stat

import orjson
import pytest
from crash_helpers import SyncSpy, run_forked
from hypothesis import given, settings
from hypothesis import strategies as st
from reduce_helpers import job, ndjson, writers_group

from slurm_scoreboard.core import files
from slurm_scoreboard.core.sharing import Sharing
from slurm_scoreboard_tools import sb_export, sb_news, sb_probe, sb_rank, sb_reduce

NOW = "2025-08-31T12:00:00Z"


GROUP, GID = writers_group()
SHARINGS = {
    "single-owner": ([], Sharing()),
    "single-owner, group readers": (["--readers", "group"], Sharing(readers="group")),
    "group": (["--group", GROUP], Sharing("group", GROUP, GID)),
    "group, group readers": (["--group", GROUP, "--readers", "group"],
                             Sharing("group", GROUP, GID, "group")),
}


def test_the_modes_are_the_documented_ones():
    """README, "Sharing a root": single-owner files 0644, folders 0755, locks 0600; group mode
    files 0664, folders 2775 (setgid), locks 0660; group readers: no bit for others."""
    table = {name: sharing.modes()[:3] for name, (_, sharing) in SHARINGS.items()}
    assert table == {"single-owner": (0o644, 0o755, 0o600),
                     "single-owner, group readers": (0o640, 0o750, 0o600),
                     "group": (0o664, 0o2775, 0o660),
                     "group, group readers": (0o660, 0o2770, 0o660)}


def stubs(folder):
    """sacct, squeue and scontrol as a healthy site's (sb-probe asks them)."""
    os.makedirs(folder)
    for name, body in (("sacct", "printf 'alice\\nbob\\n'"), ("squeue", "exit 0"),
                       ("scontrol", "printf 'AccountingStorageTRES = cpu,mem,gres/gpu\\n'")):
        path = os.path.join(folder, name)
        with open(path, "w") as handle:
            handle.write(f"#!/bin/sh\n{body}\n")
        os.chmod(path, 0o755)
    return f"{folder}:/usr/bin:/bin"


def records():
    jobs = [job(i, ("alice", "bob", "carol")[i % 3], f"2025-08-{1 + i % 28:02d}T10:00:00Z",
                cpus=1 + i % 4, elapsed=3600 * (1 + i % 5), account=("phys", "chem")[i % 2])
            for i in range(1, 13)]
    for record in jobs[:6]:
        record.update(cpu_used_s=record["cpu_seconds"] // 2, max_rss_bytes=1 << 29,
                      mem_bytes=1 << 30)
    return jobs


class Flow:
    """Every writer run once on a root, each in a forked child under `umask`, with the
    renames recorded."""

    def __init__(self, tmp_path, umask):
        self.tmp = tmp_path
        self.umask = umask
        self.renames = []
        self.count = 0

    def run(self, main, *argv, stdin=b"", env=None, code=0):
        self.count += 1
        spy = SyncSpy(str(self.tmp / f"events-{self.count}.json"))
        ran = run_forked(main, [str(arg) for arg in argv], stdin,
                         env=dict({"SLURM_SB_NOW": NOW}, **(env or {})), umask=self.umask,
                         setup=spy.install, teardown=spy.save)
        assert ran.code == code, (main.__module__, ran.stderr)
        self.renames += [event for event in SyncSpy.load(spy.log) if event[0] == "rename"]
        return ran


def run_every_writer(tmp_path, umask, sharing_args):
    root, outside = tmp_path / "root", tmp_path / "www"
    os.makedirs(root / "config")
    os.makedirs(outside)
    with open(root / "config" / "competitions.json", "wb") as handle:
        handle.write(orjson.dumps({"competitions": [
            {"id": "aug", "title": "August", "skills": ["jobs"], "from": "2025-08-01",
             "to": "2025-08-31"}], "presets": ["skill-of-the-week"]}))
    # what the admin made by hand has the modes the docs ask of it, whatever the test's umask
    for path, mode in ((root, 0o755), (root / "config", 0o755), (outside, 0o755),
                       (root / "config" / "competitions.json", 0o644)):
        os.chmod(path, mode)
    flow = Flow(tmp_path, umask)
    flow.run(sb_probe.main, "--root", root, *sharing_args,
             env={"PATH": stubs(str(tmp_path / "stubs"))})
    flow.run(sb_reduce.main, "--root", root, stdin=ndjson(records()))
    flow.run(sb_reduce.main, "--root", root, "--cluster", "hammer", "--usage",
             stdin=ndjson(records()[:6]))
    flow.run(sb_rank.main, "--root", root)
    flow.run(sb_news.main, "--root", root, "--cursor", "mail")
    flow.run(sb_news.main, "--root", root, "--cursor", "chat", "--format", "text", "--outbox",
             root / "state" / "news" / "chat.outbox")
    flow.run(sb_export.main, "--root", root, "--format", "html", "--output", outside / "site")
    for output in (outside / "x.prom", root / "metrics" / "x.prom"):
        flow.run(sb_export.main, "--root", root, "--format", "openmetrics", "--output", output)
    return root, outside, flow


def every_entry(top):
    """(path, lstat) of everything under `top`, `top` itself included."""
    yield str(top), os.lstat(top)
    for folder, folders, names in os.walk(top):
        for name in folders + names:
            path = os.path.join(folder, name)
            yield path, os.lstat(path)


def summary(path):
    """A cluster's kept summary (rank/summaries.py): only the account that wrote it may write
    it, even in group mode, since a rebuild trusts no other's."""
    return os.sep + os.path.join("leaderboards", ".cache", "") in path


def wanted_mode(info, path, modes):
    if stat.S_ISDIR(info.st_mode):
        return modes.folder
    if summary(path):
        return modes.file & ~0o022
    return modes.lock if path.endswith(".lock") else modes.file


KINDS = {"data file": "clusters/hammer/agg/alltime.json",
         "Bloom file": "clusters/hammer/state/seen/2025-08.bloom",
         "usage file": "clusters/hammer/agg/usage/2025-08-02.json",
         "folder": "clusters/hammer/agg/usage",
         "lock file": "clusters/hammer/state/store.lock",
         "board": "leaderboards/clusters/hammer/groups/month_jobs.json",
         "index": "leaderboards/index.json", "rebuild record": "leaderboards/rebuild.json",
         "history record": "leaderboards/history.json",
         "achievements": "leaderboards/achievements.ndjson",
         "records": "leaderboards/records.json",
         "competition": "leaderboards/competitions/aug.json",
         "rebuild lock": "leaderboards/rebuild.lock", "news cursor": "state/news/mail.seen",
         "news lock": "state/news/chat.lock", "outbox": "state/news/chat.outbox",
         "opt-out list": "config/optout.txt", "sharing config": "config/sharing.json",
         "metrics inside the root": "metrics/x.prom",
         "summary kept by a rebuild": "leaderboards/.cache/clusters/hammer.json",
         "all-cluster sums kept by a rebuild": "leaderboards/.cache/all.json"}


@pytest.mark.parametrize("umask", [0o077, 0o000], ids=["umask 0077", "umask 0000"])
@pytest.mark.parametrize("name", SHARINGS)
def test_everything_a_writer_creates_has_the_roots_mode_and_group_whatever_the_umask(
        tmp_path, name, umask):
    sharing_args, sharing = SHARINGS[name]
    modes = sharing.modes()
    root, outside, flow = run_every_writer(tmp_path, umask, sharing_args)
    for relative in KINDS.values():     # the flow made every kind (sb-probe writes no config
        if sharing_args or relative != "config/sharing.json":    # for the default mode)
            assert os.path.lexists(root / relative), relative
    wrong = {}
    for path, info in every_entry(root):
        if stat.S_ISLNK(info.st_mode):
            continue
        mode = wanted_mode(info, path, modes)
        if stat.S_IMODE(info.st_mode) != mode or modes.group not in (None, info.st_gid):
            wrong[os.path.relpath(path, root)] = f"{stat.S_IMODE(info.st_mode):04o} gid " \
                                                 f"{info.st_gid}, not {mode:04o}"
    assert wrong == {}
    inside = [event for event in flow.renames if event[7].startswith(str(root))]
    assert len(inside) > 50
    for event in inside:           # temporary and staged files, as they are renamed in
        if not event[2]:
            mode = modes.file & ~0o022 if summary(event[7] + os.sep) else modes.file
            assert (event[5], modes.group in (None, event[6])) == (mode, True), event[4]


@pytest.mark.parametrize("umask", [0o077, 0o000], ids=["umask 0077", "umask 0000"])
@pytest.mark.parametrize("name", ["group", "group, group readers"])
def test_what_sb_export_publishes_outside_the_root_is_readable_by_all_not_the_groups(
        tmp_path, name, umask):
    _, outside, flow = run_every_writer(tmp_path, umask, SHARINGS[name][0])
    site = outside / os.readlink(outside / "site")
    published = [(path, info) for path, info in every_entry(site)] + \
        [(str(outside / "x.prom"), os.lstat(outside / "x.prom"))]
    assert len(published) > 100
    for path, info in published:
        assert stat.S_IMODE(info.st_mode) == (0o755 if stat.S_ISDIR(info.st_mode) else 0o644), \
            path
        assert info.st_gid == os.getegid(), path
    assert stat.S_IMODE(os.lstat(outside / ".site.lock").st_mode) == 0o600
    renamed = [event for event in flow.renames if event[7] == str(outside) and not event[2]]
    assert renamed and all(event[5] == 0o644 for event in renamed)


# -- the primitives, as a property ---------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(umask=st.integers(0, 0o77), name=st.sampled_from(sorted(SHARINGS)),
       depth=st.integers(1, 3))
def test_every_primitive_gives_the_roots_modes_for_any_umask(tmp_path_factory, umask, name,
                                                            depth):
    """atomic_write, write_synced (staged files), makedirs, a lock, and a folder a killed
    writer left in its creation mode: the root's modes and group whatever the umask takes from
    the group and others (one that takes the owner's own bits leaves an account unable to open
    the folders it makes, root excepted)."""
    modes = SHARINGS[name][1].modes()
    root = tmp_path_factory.mktemp("primitives")
    files.use_root(str(root), modes)
    folder = os.path.join(str(root), *[f"d{level}" for level in range(depth)])
    interrupted = os.path.join(str(root), "interrupted")
    os.mkdir(interrupted, 0o700)              # as open_folder leaves one when killed
    os.chmod(interrupted, 0o700)
    previous = os.umask(umask)
    try:
        files.atomic_write(os.path.join(folder, "a.json"), b"{}")
        files.write_synced(os.path.join(folder, ".b.json.sbtx"), b"{}")
        files.makedirs(os.path.join(folder, "empty"))
        with files.locked(os.path.join(folder, "x.lock"), 0):
            pass
        files.atomic_write(os.path.join(interrupted, "c.json"), b"{}")
    finally:
        os.umask(previous)
        files.use_root(os.devnull + "-unused")
    for path, info in every_entry(root):
        if path == str(root):
            continue
        assert stat.S_IMODE(info.st_mode) == wanted_mode(info, path, modes), path
        assert modes.group in (None, info.st_gid), path


# -- the root itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0, 0o002, 0o077])
def test_sb_probe_makes_a_missing_root_with_its_modes_whatever_the_umask(tmp_path, umask):
    """A umask of 0 made the root and the folders above it 0777: anyone could have replaced
    config/ or leaderboards/, or moved the root aside and put their own in its place."""
    os.chmod(tmp_path, 0o755)
    root = tmp_path / "site" / "srv" / "sb"
    ran = run_forked(sb_probe.main, ["--root", str(root)], umask=umask,
                     env={"PATH": stubs(str(tmp_path / "stubs"))})
    assert ran.code == 0, ran.stderr
    for path in (tmp_path / "site", tmp_path / "site" / "srv", root, root / "config",
                 root / "leaderboards", root / "clusters"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o755, path
    assert b"Root exposure: OK" in ran.stdout


@pytest.mark.parametrize("where, mode, exposed", [
    ("sb", 0o777, True), ("sb", 0o1777, True), ("sb/leaderboards", 0o777, True),
    ("sb/config", 0o1777, True), ("sb/config", 0o757, True), ("sb/clusters", 0o775, False),
    ("sb", 0o755, False), ("", 0o777, True), ("", 0o1777, False), ("", 0o775, False)])
def test_sb_probe_fails_a_root_anyone_may_replace_or_add_to(tmp_path, where, mode, exposed):
    """The root and its top folders: no one else may write them, sticky bit or not (anyone
    could add a config/xp.json). The folders above: not without the sticky bit (anyone could
    move the root aside), as /tmp has it."""
    os.chmod(tmp_path, 0o755)
    top = tmp_path / "top"
    root = top / "sb"
    path = str(tmp_path / "stubs")
    assert run_forked(sb_probe.main, ["--root", str(root)], env={"PATH": stubs(path)}).code == 0
    os.chmod(top / where, mode)
    ran = run_forked(sb_probe.main, ["--root", str(root)], env={"PATH": path + ":/usr/bin:/bin"})
    named = f"{os.path.join(str(top), where).rstrip(os.sep)} may be written by everyone"
    assert (ran.code, named.encode() in ran.stdout) == ((4, True) if exposed else (0, False))
    assert (b"Root exposure: FAIL" in ran.stdout) is exposed


def test_sb_probe_fails_a_symlinked_root_into_an_open_folder_and_a_symlinked_top(tmp_path):
    os.chmod(tmp_path, 0o755)
    path = str(tmp_path / "stubs")
    env = {"PATH": stubs(path)}
    (tmp_path / "open").mkdir()
    os.chmod(tmp_path / "open", 0o777)
    assert run_forked(sb_probe.main, ["--root", str(tmp_path / "open" / "sb")], env=env).code == 4
    os.symlink(tmp_path / "open" / "sb", tmp_path / "sb")
    ran = run_forked(sb_probe.main, ["--root", str(tmp_path / "sb")], env=env)
    assert ran.code == 4 and f"{tmp_path / 'open'} may be written by everyone".encode() \
        in ran.stdout
    os.chmod(tmp_path / "open", 0o755)
    assert run_forked(sb_probe.main, ["--root", str(tmp_path / "sb")], env=env).code == 0
    os.rename(tmp_path / "open" / "sb" / "leaderboards", tmp_path / "boards")
    os.symlink(tmp_path / "boards", tmp_path / "open" / "sb" / "leaderboards")
    ran = run_forked(sb_probe.main, ["--root", str(tmp_path / "sb")], env=env)
    assert ran.code != 0 and b"leaderboards is a symlink" in ran.stdout
