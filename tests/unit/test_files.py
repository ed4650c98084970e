import os
import stat

import pytest

from slurm_scoreboard import files
from slurm_scoreboard.cli import Terminated


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
        with pytest.raises(files.LockBusy):
            with files.shared_lock(lock, timeout=0.2):
                pass
    with files.shared_lock(lock, timeout=0.2):
        with files.shared_lock(lock, timeout=0.2):
            pass
