"""Files on disk are the database: atomic writes (temp file, fsync, rename) and advisory locks."""
from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from contextlib import contextmanager
from typing import Iterator

import orjson


def atomic_write(path: str, data: bytes) -> None:
    """Replace `path` with `data` so a reader sees the old file or the new one, never a mix."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="." + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fsync_dir(folder)


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
