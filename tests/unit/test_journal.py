import os

import pytest

from slurm_scoreboard.core import files
from slurm_scoreboard.errors import JournalCorrupt
from slurm_scoreboard.store import journal
from slurm_scoreboard.store.journal import JOURNAL, Transaction, recover, staged_path


def setup_dirs(tmp_path):
    base = tmp_path / "c"
    (base / "agg").mkdir(parents=True)
    (base / "state").mkdir()
    return str(base), str(base / "state"), [str(base / "agg")]


def test_commit_replaces_every_file_and_removes_the_journal(tmp_path):
    base, state, owned = setup_dirs(tmp_path)
    (tmp_path / "c" / "agg" / "a.json").write_text("old")
    tx = Transaction(base, state)
    tx.stage(os.path.join(base, "agg", "a.json"), b"new-a")
    tx.stage(os.path.join(base, "agg", "b.json"), b"new-b")
    tx.commit()
    assert (tmp_path / "c" / "agg" / "a.json").read_text() == "new-a"
    assert (tmp_path / "c" / "agg" / "b.json").read_text() == "new-b"
    assert not os.path.exists(os.path.join(state, JOURNAL))
    assert sorted(os.listdir(os.path.join(base, "agg"))) == ["a.json", "b.json"]


def test_staged_files_without_a_journal_are_discarded(tmp_path):
    base, state, owned = setup_dirs(tmp_path)
    target = os.path.join(base, "agg", "a.json")
    with open(target, "w") as handle:
        handle.write("old")
    with open(staged_path(target), "w") as handle:
        handle.write("half")
    with open(os.path.join(base, "agg", ".tmp-x.a.json"), "w") as handle:
        handle.write("half")
    assert "discarded" in recover(base, state, owned)
    assert os.listdir(os.path.join(base, "agg")) == ["a.json"]
    assert open(target).read() == "old"


def test_a_journal_is_finished_even_halfway_through(tmp_path):
    base, state, owned = setup_dirs(tmp_path)
    a, b = os.path.join(base, "agg", "a.json"), os.path.join(base, "agg", "b.json")
    with open(a, "w") as handle:
        handle.write("new-a")          # a was already renamed before the crash
    with open(staged_path(b), "w") as handle:
        handle.write("new-b")          # b was not
    with open(os.path.join(state, JOURNAL), "w") as handle:
        handle.write('{"version":1,"files":[["agg/.a.json.sbtx","agg/a.json"],'
                     '["agg/.b.json.sbtx","agg/b.json"]]}')
    assert "finished" in recover(base, state, owned)
    assert open(a).read() == "new-a" and open(b).read() == "new-b"
    assert not os.path.exists(os.path.join(state, JOURNAL))
    assert recover(base, state, owned) == ""


def test_unreadable_journal_is_an_error_not_a_guess(tmp_path):
    base, state, owned = setup_dirs(tmp_path)
    with open(os.path.join(state, JOURNAL), "w") as handle:
        handle.write("{garbage")
    with pytest.raises(JournalCorrupt):
        recover(base, state, owned)


def interrupted_while_writing(monkeypatch):
    """Ctrl-C (or SIGTERM, which sb-reduce raises as an exception) once the staged file is
    created, before its bytes are written."""
    def interrupt(fd, data):
        raise KeyboardInterrupt
    monkeypatch.setattr(files, "write_all", interrupt)


def interrupted_once_written(monkeypatch):
    """... or once it is written, before stage() returns."""
    real = journal.write_synced

    def interrupt(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt
    monkeypatch.setattr(journal, "write_synced", interrupt)


@pytest.mark.parametrize("interrupted", [interrupted_while_writing, interrupted_once_written])
def test_an_update_interrupted_while_a_file_is_staged_leaves_no_staged_file(
        tmp_path, monkeypatch, interrupted):
    base, state, owned = setup_dirs(tmp_path)
    tx = Transaction(base, state)
    tx.stage(os.path.join(base, "agg", "a.json"), b"new-a")
    interrupted(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        tx.stage(os.path.join(base, "agg", "b.json"), b"new-b")
    tx.abort()
    assert os.listdir(os.path.join(base, "agg")) == []


def test_an_abort_removes_every_staged_file_it_can_whatever_stands_at_one(tmp_path):
    """A folder planted at a staged name fails that stage; the abort still removes the files
    staged before and after it, and leaves the folder for recover() to sweep."""
    base, state, owned = setup_dirs(tmp_path)
    tx = Transaction(base, state)
    folder = os.path.join(base, "agg")
    tx.stage(os.path.join(folder, "a.json"), b"new-a")
    os.mkdir(os.path.join(folder, ".b.json.sbtx"))
    with pytest.raises(OSError):
        tx.stage(os.path.join(folder, "b.json"), b"new-b")
    tx.stage(os.path.join(folder, "c.json"), b"new-c")
    tx.abort()
    assert os.listdir(folder) == [".b.json.sbtx"]
