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
from typing import Iterator, Optional

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
    unlink_synced(path)
    fsync_dir(os.path.dirname(path) or ".")


def unlink_synced(path: str) -> None:
    """Remove a file (the folder is fsynced by the caller)."""
    fault_point()
    os.unlink(path)


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


LOCK_WAIT_ENV = "SLURM_SB_LOCK_WAIT"
DEFAULT_LOCK_WAIT = 120.0


class LockBusy(Exception):
    """Another process held the lock for longer than the caller would wait."""


def lock_wait() -> float:
    """Seconds a writer waits for a lock: $SLURM_SB_LOCK_WAIT, else 120."""
    try:
        value = float(os.environ.get(LOCK_WAIT_ENV) or DEFAULT_LOCK_WAIT)
    except ValueError:
        return DEFAULT_LOCK_WAIT
    return value if value >= 0 and value == value else DEFAULT_LOCK_WAIT


def _flock(fd: int, operation: int, timeout: float, path: str) -> None:
    """flock(2) `fd`, retrying until `timeout` seconds have passed; LockBusy then."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
        if time.monotonic() >= deadline:
            raise LockBusy(path)
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


@contextmanager
def locked(path: str, timeout: Optional[float] = None) -> Iterator[None]:
    """Hold an exclusive flock(2) on `path` (created if missing), waiting at most `timeout`
    seconds (default :func:`lock_wait`; 0: not at all), else LockBusy."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
        _flock(fd, fcntl.LOCK_EX, lock_wait() if timeout is None else timeout, path)
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
        _flock(fd, fcntl.LOCK_SH, timeout, path)
        yield
    finally:
        os.close(fd)
