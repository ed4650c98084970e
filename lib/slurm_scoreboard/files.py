"""Files on disk are the database: atomic writes (temp file, fsync, rename) and advisory locks."""
from __future__ import annotations

import atexit
import errno
import fcntl
import os
import signal
import itertools
import time
from contextlib import contextmanager
from typing import Iterator

import orjson

# Fault injection for the crash-safety tests: $SLURM_SB_FAULT_AT=N kills the process with SIGKILL
# at its Nth write point; $SLURM_SB_FAULT_COUNT names a file that receives the number of write
# points a run went through. Neither is set in normal use.
_FAULT_AT = int(os.environ.get("SLURM_SB_FAULT_AT") or 0)
_FAULT_COUNT_FILE = os.environ.get("SLURM_SB_FAULT_COUNT")
_points_reached = 0
_temp_numbers = itertools.count()


def fault_point() -> None:
    """Mark a write point: a place where a crash leaves the disk in a distinct state."""
    global _points_reached
    _points_reached += 1
    if _points_reached == _FAULT_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def _report_fault_points() -> None:
    with open(_FAULT_COUNT_FILE, "w") as handle:
        handle.write(f"{_points_reached}\n")


if _FAULT_COUNT_FILE:
    atexit.register(_report_fault_points)


def atomic_write(path: str, data: bytes) -> None:
    """Replace `path` with `data` so a reader sees the old file or the new one, never a mix.

    The new file gets the usual mode (0666 less the umask), so a shared root stays readable by
    everyone the umask allows. The temporary file is named before it is created, so an
    interruption at any point (a SIGTERM turned into an exception) can remove it.
    """
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fault_point()
    temp = os.path.join(folder, f".tmp-{os.getpid()}-{next(_temp_numbers)}.{os.path.basename(path)}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            fault_point()
            handle.flush()
            os.fsync(handle.fileno())
        fault_point()
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fault_point()
    fsync_dir(folder)


def write_synced(path: str, data: bytes) -> None:
    """Write a whole file in place and fsync it (for staged files no reader looks at yet)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fault_point()
    with open(path, "wb") as handle:
        handle.write(data)
        fault_point()
        handle.flush()
        os.fsync(handle.fileno())


def replace_synced(source: str, target: str) -> None:
    fault_point()
    os.replace(source, target)


def remove_synced(path: str) -> None:
    fault_point()
    os.unlink(path)
    fsync_dir(os.path.dirname(path) or ".")


def atomic_write_json(path: str, obj) -> None:
    atomic_write(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))


def read_json(path: str, default=None):
    """The parsed file, or `default` when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return orjson.loads(handle.read())
    except FileNotFoundError:
        return default


def fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LockBusy(Exception):
    """Another process holds the lock."""


@contextmanager
def locked(path: str, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive flock(2) on `path` (created if missing); LockBusy if not `wait`."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise LockBusy(path) from None
            raise
        yield
    finally:
        os.close(fd)


@contextmanager
def shared_lock(path: str, timeout: float = 60.0) -> Iterator[None]:
    """Hold a shared flock(2) on `path` for reading; nothing to hold if the file does not exist.

    Waits up to `timeout` seconds for a writer to finish, then raises LockBusy.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield
        return
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if time.monotonic() >= deadline:
                    raise LockBusy(path) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
