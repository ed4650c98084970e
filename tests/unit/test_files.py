import os
import stat

import pytest

from slurm_scoreboard import errors
from slurm_scoreboard.cli import Terminated
from slurm_scoreboard.core import files


def test_atomic_write_replaces_and_honours_the_umask(tmp_path):
    path = tmp_path / "board.json"
    path.write_text("old")
    previous = os.umask(0o022)
    try:
        files.atomic_write(str(path), b"new")
    finally:
        os.umask(previous)
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644     # readable by the other users of a root
    assert os.listdir(tmp_path) == ["board.json"]


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def interrupted(fd):
        raise Terminated(15)
    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(Terminated):
        files.atomic_write(str(tmp_path / "board.json"), b"new")
    assert os.listdir(tmp_path) == []


def test_shared_lock_waits_for_a_writer_then_gives_up(tmp_path):
    lock = str(tmp_path / "store.lock")
    with files.locked(lock):
        with pytest.raises(errors.LockBusy):
            with files.shared_lock(lock, timeout=0.2):
                pass
    with files.shared_lock(lock, timeout=0.2):
        with files.shared_lock(lock, timeout=0.2):
            pass


# -- a shared root: nothing below it is followed, modes whatever the umask --------------------

@pytest.fixture
def shared(tmp_path):
    """A root in use, and a folder outside it that a planted symlink points to."""
    root, outside = tmp_path / "root", tmp_path / "home-of-a"
    root.mkdir()
    outside.mkdir()
    (outside / ".bashrc").write_text("mine")
    files.use_root(str(root))
    yield root, outside
    files.use_root(str(tmp_path / "unused"))


def test_a_symlinked_folder_anywhere_below_the_root_is_refused(shared):
    root, outside = shared
    (root / "clusters").mkdir()
    os.symlink(outside, root / "clusters" / "hammer")
    for path in ("clusters/hammer/agg/users/a.json", "clusters/hammer/x.json"):
        with pytest.raises(errors.UnsafePath, match="refusing to follow"):
            files.atomic_write(str(root / path), b"x")
    with pytest.raises(errors.UnsafePath):
        files.read_json(str(root / "clusters" / "hammer" / ".bashrc"))
    with pytest.raises(errors.UnsafePath):
        with files.locked(str(root / "clusters" / "hammer" / "state" / "store.lock")):
            pass
    assert sorted(os.listdir(outside)) == [".bashrc"]


def test_a_planted_file_symlink_is_replaced_or_refused_never_followed(shared):
    root, outside = shared
    target = outside / ".bashrc"
    os.symlink(target, root / "board.json")
    files.atomic_write(str(root / "board.json"), b"new")      # replaces the link itself
    assert not os.path.islink(root / "board.json") and (root / "board.json").read_text() == "new"
    os.symlink(target, root / ".a.json.sbtx")
    files.write_synced(str(root / ".a.json.sbtx"), b"staged")   # a leftover is removed first
    assert (root / ".a.json.sbtx").read_text() == "staged"
    os.symlink(target, root / "staged")
    with pytest.raises(errors.UnsafePath, match="not a regular file"):
        files.replace_synced(str(root / "staged"), str(root / "a.json"))
    os.symlink(target, root / "store.lock")
    with pytest.raises(errors.UnsafePath):
        with files.locked(str(root / "store.lock"), timeout=0):
            pass
    with pytest.raises(errors.UnsafePath):
        files.read_json(str(root / "store.lock"))
    assert target.read_text() == "mine"


def test_modes_are_the_roots_whatever_the_umask(shared):
    root, _ = shared
    group = os.getgid() if os.geteuid() != 0 else 100
    files.use_root(str(root), files.Modes(file=0o664, folder=0o2775, lock=0o660, group=group))
    previous = os.umask(0o077)
    try:
        files.atomic_write(str(root / "clusters" / "c" / "agg" / "a.json"), b"x")
        files.write_synced(str(root / "clusters" / "c" / "agg" / ".b.json.sbtx"), b"x")
        with files.locked(str(root / "clusters" / "c" / "state" / "store.lock")):
            pass
    finally:
        os.umask(previous)
    for path, mode in (("clusters", 0o2775), ("clusters/c/agg", 0o2775),
                       ("clusters/c/agg/a.json", 0o664), ("clusters/c/agg/.b.json.sbtx", 0o664),
                       ("clusters/c/state/store.lock", 0o660)):
        info = os.stat(root / path)
        assert stat.S_IMODE(info.st_mode) == mode, path
        assert info.st_gid == group, path


def test_a_lock_held_too_long_names_its_holder(shared):
    root, _ = shared
    import subprocess
    import sys
    lock = root / "store.lock"
    holder = subprocess.Popen([sys.executable, "-c", f"""
import fcntl, os, time
from slurm_scoreboard import errors
fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_SH)
print("held", flush=True)
time.sleep(30)
"""], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(errors.LockBusy) as info:
            with files.locked(str(lock), timeout=0.3):
                pass
        assert f"pid {holder.pid}" in str(info.value) and "gave up after 0.3 s" in str(info.value)
    finally:
        holder.kill()
        holder.wait()


def test_leftovers_of_a_killed_writer_are_removed_beside_their_file(shared):
    root, _ = shared
    for name in (".tmp-1-0.cache.json", ".tmp-2-5.cache.json", ".tmp-3-0.other.json"):
        (root / name).write_text("half")
    assert files.remove_leftovers(str(root / "cache.json")) == 2
    assert sorted(os.listdir(root)) == [".tmp-3-0.other.json"]


def test_a_folder_planted_where_a_file_is_written_is_named_and_left_alone(tmp_path):
    planted = tmp_path / "progress.ndjson"
    planted.mkdir()
    (planted / "x").write_bytes(b"kept")
    with pytest.raises(files.UnsafePath, match=f"{planted}: a folder where a file belongs"):
        files.atomic_write(str(planted), b"new")
    assert (planted / "x").read_bytes() == b"kept"
    assert sorted(os.listdir(tmp_path)) == ["progress.ndjson"]          # no temporary file left


def test_sb_rank_names_a_folder_planted_where_its_file_belongs(tmp_path):
    from reduce_helpers import job, reduce, tool
    root = tmp_path
    assert reduce(root, [job(1, "ann", "2025-08-01T00:00:00Z")])[0].returncode == 0
    planted = root / "leaderboards" / "progress" / "all_users.ndjson"
    planted.mkdir(parents=True)
    done = tool("sb_rank", ["--root", str(root)])
    assert done.returncode == 1
    assert done.stderr.decode().strip() == \
        f"sb-rank: {planted}: a folder where a file belongs (remove it)"


@pytest.mark.parametrize("text, seconds", [("0", 0.0), ("2.5", 2.5), ("", 120.0), ("-1", 120.0),
                                           ("nan", 120.0), ("soon", 120.0)])
def test_a_lock_wait_of_zero_means_do_not_wait_and_nonsense_the_default(monkeypatch, text,
                                                                        seconds):
    monkeypatch.setenv(files.LOCK_WAIT_ENV, text)
    assert files.lock_wait() == seconds
