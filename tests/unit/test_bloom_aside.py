"""bloom.BytesAside: a commit's Bloom files made by a forked child while sb-reduce writes the
other files. The bytes are the ones made in-process whatever happens to the child; the child
holds nothing of its parent's (a kill of sb-reduce leaves no lock held); a killed commit
(the child's answer still wanted or not) leaves exact totals after a rerun."""
import fcntl
import os
import shutil
import signal
import threading
import time

import pytest
from crash_helpers import run_forked
from reduce_helpers import job, ndjson
from test_crash_safety import BATCH_A, BATCH_B, assert_exact

from slurm_scoreboard.store import bloom
from slurm_scoreboard.store.bloom import BloomFilter, BytesAside
from slurm_scoreboard_tools import sb_reduce


def filters():
    """Two of each: a fresh filter, one read from a file with keys added, one with none."""
    old = BloomFilter(capacity=50_000)
    for number in range(300):
        old.add(f"{number}@2025-07-01T00:00:00Z")
    saved = old.to_bytes()

    def made():
        fresh = BloomFilter(capacity=60_000)
        for number in range(2_000):
            fresh.add(f"{number}@2025-08-02T00:00:00Z")
        grown = BloomFilter.from_bytes(saved)
        for number in range(1_000):
            grown.add(f"{number}@2025-09-02T00:00:00Z")
        return {"2025-08": fresh, "2025-09": grown, "2025-07": BloomFilter.from_bytes(saved)}
    return made(), made()


@pytest.fixture
def forked(monkeypatch):
    monkeypatch.setattr(bloom, "FORK_FROM", 1)


def in_process(twins):
    return {name: twin.to_bytes() for name, twin in twins.items()}


def test_the_child_makes_the_bytes_made_in_process(forked):
    mine, twins = filters()
    aside = BytesAside(mine)
    assert aside.child is not None
    assert aside.result() == in_process(twins)
    assert aside.child is None
    assert all(len(mine[name]._pending) for name in ("2025-08", "2025-09"))   # not settled here


def test_the_child_sets_every_filters_bits_before_it_writes(forked, monkeypatch):
    """A write waits once the pipe is full (64 KiB): a child that wrote one filter before
    setting the next one's bits left them to be set after the parent's other files, as if
    there were no child (a commit of several months)."""
    mine, twins = filters()
    real = bloom.write_all

    def checked(fd, data):
        if any(len(each._pending) for each in mine.values()):
            raise AssertionError("a filter written before every filter's bits were set")
        real(fd, data)
    monkeypatch.setattr(bloom, "write_all", checked)
    assert BytesAside(mine)._answer() == in_process(twins)


def test_few_keys_are_made_in_process_without_a_child(monkeypatch):
    monkeypatch.setattr(bloom, "FORK_FROM", 3_001)       # 2,000 + 1,000 new keys
    mine, twins = filters()
    aside = BytesAside(mine)
    assert aside.child is None
    assert aside.result() == in_process(twins)
    monkeypatch.setattr(bloom, "FORK_FROM", 3_000)
    assert BytesAside(filters()[0]).child is not None


def test_bytes_made_here_are_made_a_file_at_a_time(monkeypatch):
    """Staged one after the other, the files' bytes made in-process are never all held at once
    (nor is a filter's made before it is wanted)."""
    monkeypatch.setattr(bloom, "FORK_FROM", 10 ** 9)
    mine, twins = filters()
    waiting = {name: len(bloom._pending) for name, bloom in mine.items()}
    assert sorted(waiting.values()) == [0, 1_000, 2_000]
    names = list(mine)
    for index, (name, data) in enumerate(BytesAside(mine).result().items()):
        assert data == twins[name].to_bytes()
        assert [len(mine[later]._pending) for later in names[index + 1:]] == \
            [waiting[later] for later in names[index + 1:]]
    assert all(not len(bloom._pending) for bloom in mine.values())


def test_a_fork_that_fails_leaves_the_bytes_to_this_process(forked, monkeypatch):
    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")
    monkeypatch.setattr(bloom.os, "fork", no_fork)
    mine, twins = filters()
    aside = BytesAside(mine)
    assert aside.child is None
    assert aside.result() == in_process(twins)


def exits_after(answer):
    """A child that writes `answer(filters)` and exits 0 (as a child cut short would not)."""
    def child(filters, fd):
        os.write(fd, answer(filters))
        os._exit(0)
    return child


@pytest.mark.parametrize("answer", [
    lambda filters: b"",                                    # nothing
    lambda filters: bloom._LENGTH.pack(100) + b"x" * 99,    # a length it does not keep
    lambda filters: bloom._LENGTH.pack(1)[:5],              # a length cut short
    lambda filters: b"".join(bloom._LENGTH.pack(1) + b"x" for _ in range(len(filters) + 1)),
])
def test_an_answer_that_is_not_whole_is_not_used(forked, monkeypatch, answer):
    monkeypatch.setattr(bloom, "_make_in_child", exits_after(answer))
    mine, twins = filters()
    assert BytesAside(mine).result() == in_process(twins)


def test_a_child_that_fails_is_not_believed(forked, monkeypatch):
    def fails(filters, fd):
        os.write(fd, b"".join(bloom._LENGTH.pack(1) + b"x" for _ in filters))
        os._exit(1)
    monkeypatch.setattr(bloom, "_make_in_child", fails)
    mine, twins = filters()
    assert BytesAside(mine).result() == in_process(twins)


def test_a_child_killed_by_a_signal_is_not_believed(forked, monkeypatch):
    def killed(filters, fd):
        os.write(fd, b"".join(bloom._LENGTH.pack(1) + b"x" for _ in filters))
        os.kill(os.getpid(), signal.SIGKILL)
    monkeypatch.setattr(bloom, "_make_in_child", killed)
    mine, twins = filters()
    assert BytesAside(mine).result() == in_process(twins)


@pytest.fixture
def sigchld_ignored():
    """SIGCHLD ignored, as a shell's ``trap '' CHLD`` passes it on to sb-reduce through exec."""
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGCHLD, previous)


def test_an_ignored_sigchld_leaves_the_bytes_to_this_process(forked, sigchld_ignored):
    mine, twins = filters()
    aside = BytesAside(mine)
    assert aside.child is None
    assert aside.result() == in_process(twins)


@pytest.mark.parametrize("wanted", [True, False])
def test_a_child_the_kernel_reaped_is_not_believed_nor_waited_for(forked, wanted):
    mine, twins = filters()
    aside = BytesAside(mine)
    assert aside.child is not None
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)     # from now on it reaps it
    try:
        if wanted:
            assert aside.result() == in_process(twins)
        else:
            aside.close()
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert aside.child is None


def test_a_commit_under_an_ignored_sigchld_writes_what_it_writes_alone(tmp_path):
    def ignoring_sigchld():
        lower_fork_from()
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    records = [job(number, f"user{number % 7}", f"2025-08-{1 + number % 28:02d}T06:00:00Z")
               for number in range(500)]
    alone, ignoring = tmp_path / "alone", tmp_path / "ignoring"
    for root, setup in ((alone, lambda: None), (ignoring, ignoring_sigchld)):
        root.mkdir()
        ran = run_forked(sb_reduce.main, ["--root", str(root), "--cluster", "hammer"],
                         ndjson(records), env={"SLURM_SB_NOW": "2026-01-01T00:00:00Z"},
                         setup=setup)
        assert ran.code == 0, ran.stderr
    assert store_files(ignoring) == store_files(alone)


def store_files(root):
    """Every file of the store, by its path under the root."""
    files = {}
    for folder, _, names in os.walk(root / "clusters"):
        for name in names:
            if not name.endswith(".lock"):
                with open(os.path.join(folder, name), "rb") as handle:
                    files[os.path.relpath(os.path.join(folder, name), root)] = handle.read()
    return files


def test_the_child_holds_no_lock_of_its_parent_and_close_stops_it(forked, monkeypatch, tmp_path):
    lock_path = tmp_path / "reduce.lock"
    lock = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    monkeypatch.setattr(BloomFilter, "parts", slow_outside(os.getpid()))
    aside = BytesAside(filters()[0])
    pid = aside.child[0]
    held = held_by(pid)
    assert len(held) == 1 and lock not in held       # its pipe's end only, once it closed the rest
    os.close(lock)                       # the lock is free unless the child kept a copy
    other = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(other)
    aside.close()
    assert aside.child is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)      # reaped
    aside.close()                        # twice: nothing left to stop


def test_a_child_dies_with_its_parent(forked):
    """sb-reduce killed outright (SIGKILL, the OOM killer) while its child sets bits: the child
    goes with it, not when it would next write (a month's bits take seconds)."""
    report_read, report_write = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(report_read)
            BloomFilter.parts = slow_outside(os.getpid())     # this forked process's own
            aside = BytesAside(filters()[0])
            os.write(report_write, str(aside.child[0]).encode())
            time.sleep(60)
        finally:
            os._exit(1)
    os.close(report_write)
    child = int(os.read(report_read, 32))
    os.close(report_read)
    try:
        os.kill(middle, signal.SIGKILL)
        os.waitpid(middle, 0)
        assert gone(child)
    finally:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_commit_stopped_while_it_waits_for_the_answer_stops_the_child(forked, monkeypatch):
    """A TERM (or Ctrl-C) while sb-reduce reads the answer ends it at once: the child is
    killed, not waited for while it sets the rest of its bits."""
    class Stopped(Exception):
        pass
    monkeypatch.setattr(BloomFilter, "parts", slow_outside(os.getpid()))
    aside = BytesAside(filters()[0])
    _, fd = aside.child
    real_read, real_waitpid, statuses = os.read, os.waitpid, []

    def read(where, size):
        if where == fd:
            raise Stopped
        return real_read(where, size)

    def waitpid(pid, options):
        reaped = real_waitpid(pid, options)
        statuses.append(reaped[1])
        return reaped
    monkeypatch.setattr(bloom.os, "read", read)
    monkeypatch.setattr(bloom.os, "waitpid", waitpid)
    with pytest.raises(Stopped):
        aside.result()
    assert len(statuses) == 1 and os.WIFSIGNALED(statuses[0])
    assert os.WTERMSIG(statuses[0]) == signal.SIGKILL


def slow_outside(parent):
    """BloomFilter.parts that takes a minute anywhere but in `parent` (in its children)."""
    real = BloomFilter.parts

    def slow(self):
        if os.getpid() != parent:
            time.sleep(60)
        return real(self)
    return slow


def gone(pid):
    """Whether a process is gone (or dead and not yet reaped), looked at until it is."""
    for _ in range(500):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    return False


def test_the_child_closes_only_what_is_open(forked, monkeypatch):
    """Without close_range (RHEL 8's kernel and libc) os.closerange is a close() a number: the
    child asks for no more than the highest descriptor open, whatever the limit (2^30 in some
    containers), and still holds nothing but its pipe."""
    spare = os.dup2(0, 900)
    real = os.closerange

    def one_by_one(low, high):
        if high - low > 4096:
            raise AssertionError(f"{high - low:,} descriptors closed one by one")
        real(low, high)
    monkeypatch.setattr(os, "sysconf", lambda name: 1 << 30)
    monkeypatch.setattr(os, "closerange", one_by_one)
    try:
        mine, twins = filters()
        aside = BytesAside(mine)
        held = held_by(aside.child[0])
        assert aside._answer() == in_process(twins) and len(held) == 1 and spare not in held
    finally:
        os.close(spare)


def held_by(pid):
    """The descriptors a child holds once it has closed what it was given (read from /proc
    until the set settles: the child closes them right after the fork)."""
    for _ in range(500):
        held = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
        if len(held) <= 1:
            return held
        time.sleep(0.01)
    return held


def lower_fork_from():
    bloom.FORK_FROM = 1


def reduce_forked(root, records, fault_at=0):
    return run_forked(sb_reduce.main, ["--root", str(root), "--cluster", "hammer"],
                      ndjson(records), fault_at=fault_at, setup=lower_fork_from)


def test_a_commit_whose_bloom_files_a_child_makes_killed_at_any_write_point_is_exact(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    assert reduce_forked(base, BATCH_A).code == 0
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    points = reduce_forked(probe, BATCH_B).points
    assert_exact(probe)
    assert points > 20
    for point in range(1, points + 1):
        root = tmp_path / f"kill-{point}"
        shutil.copytree(base, root)
        assert reduce_forked(root, BATCH_B, fault_at=point).killed, point
        rerun = reduce_forked(root, BATCH_B)
        assert rerun.code == 0, (point, rerun.stderr)
        assert_exact(root)
        shutil.rmtree(root)


def test_the_store_a_child_helped_write_is_the_one_written_alone(tmp_path):
    records = [job(number, f"user{number % 7}", f"2025-08-{1 + number % 28:02d}T06:00:00Z")
               for number in range(500)]
    alone, helped = tmp_path / "alone", tmp_path / "helped"
    for root in (alone, helped):
        root.mkdir()
    assert run_forked(sb_reduce.main, ["--root", str(alone), "--cluster", "hammer"],
                      ndjson(records), env={"SLURM_SB_NOW": "2026-01-01T00:00:00Z"}).code == 0
    assert run_forked(sb_reduce.main, ["--root", str(helped), "--cluster", "hammer"],
                      ndjson(records), env={"SLURM_SB_NOW": "2026-01-01T00:00:00Z"},
                      setup=lower_fork_from).code == 0
    seen = os.path.join("clusters", "hammer", "state", "seen", "2025-08.bloom")
    with open(alone / seen, "rb") as one, open(helped / seen, "rb") as other:
        assert one.read() == other.read()


def at_a_process_limit():
    """What an account at its process limit (ulimit -u, systemd's TasksMax) meets: no fork,
    no new thread."""
    def refused(*args, **kwargs):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    def no_thread(self):
        raise RuntimeError("can't start new thread")
    lower_fork_from()
    os.fork = refused
    threading.Thread.start = no_thread


def test_a_commit_at_a_process_limit_is_exact(tmp_path):
    for batch in (BATCH_A, BATCH_B):
        ran = run_forked(sb_reduce.main, ["--root", str(tmp_path), "--cluster", "hammer"],
                         ndjson(batch), setup=at_a_process_limit)
        assert ran.code == 0, ran.stderr
    assert_exact(tmp_path)
