"""Files on disk are the database: atomic writes (temp file, fsync, rename), advisory locks, and
the rules of a shared root.

A tool declares its scoreboard root with :func:`use_root` (cli does it for ``--root``). Below the
root nothing is trusted, since every writer of a shared root can plant anything there:

- no symlink is followed: each folder below the root is opened component by component with
  ``O_NOFOLLOW``, each file with ``O_NOFOLLOW``, and every name is then used relative to its
  folder's descriptor, so a folder swapped for a symlink half-way cannot redirect a write;
  a symlink where a tool reads or writes is refused (:class:`UnsafePath`);
- temporary and staged files are created ``O_CREAT|O_EXCL|O_NOFOLLOW`` and renamed within their
  folder;
- new files, folders and lock files get the root's modes (:class:`Modes`, from its sharing
  mode) and group whatever the caller's umask.

Paths outside the root (a file named on the command line) are opened as usual.
"""
from __future__ import annotations

import atexit
import errno
import fcntl
import itertools
import os
import signal
import stat
import time
from contextlib import contextmanager
from typing import (
    TYPE_CHECKING,
    BinaryIO,
    Dict,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Tuple,
    Union,
)

import orjson

from ..errors import ConfigError, LockBusy, UnsafePath

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

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


def _report_fault_points(count_file: str) -> None:
    with open(count_file, "w") as handle:
        handle.write(f"{_points_reached}\n")


if _FAULT_COUNT_FILE:
    atexit.register(_report_fault_points, _FAULT_COUNT_FILE)


class Modes(NamedTuple):
    """Permission bits of what a tool creates under the root, and the group it belongs to."""
    file: int = 0o644
    folder: int = 0o755
    lock: int = 0o600
    group: Optional[int] = None


_root: Optional[str] = None
_modes = Modes()
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def use_root(root: str, modes: Optional[Modes] = None) -> None:
    """Treat everything below `root` as untrusted, and create files there with `modes`."""
    global _root, _modes
    _root = os.path.abspath(root)
    _modes = modes or Modes()


def modes() -> Modes:
    return _modes


def below_root(path: str) -> Optional[List[str]]:
    """The components of `path` below the root, or None when it is not below it."""
    if _root is None:
        return None
    absolute = os.path.abspath(path)
    if absolute == _root:
        return []
    if not absolute.startswith(_root.rstrip(os.sep) + os.sep):
        return None
    return absolute[len(_root.rstrip(os.sep)) + 1:].split(os.sep)


def _refuse(path: str) -> UnsafePath:
    return UnsafePath(f"{path}: a symlink, or a file where a folder belongs; refusing to follow "
                      "it (see Sharing a root in the README)")


def _adopt(fd: int, mode: int) -> None:
    """Give a new file or folder the root's mode and group, whatever the umask."""
    os.fchmod(fd, mode)
    if _modes.group is not None and os.fstat(fd).st_gid != _modes.group:
        os.fchown(fd, -1, _modes.group)


_NEW_FOLDER = 0o700     # a folder's mode from its mkdir until it gets the root's


def _finish_folder(fd: int) -> None:
    """A folder of ours still in its creation mode (a writer was killed between creating it
    and giving it the root's mode and group) gets them now, as if it had just been made."""
    if _modes.folder == _NEW_FOLDER:
        return
    info = os.fstat(fd)
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) == _NEW_FOLDER:
        fault_point()
        _adopt(fd, _modes.folder)


def _make_above(root: str) -> None:
    """The missing folders above a root being made, each 0755 whatever the umask (a umask of 0
    made them 0777: anyone could have moved the root aside and put their own in its place)."""
    missing = []
    path = os.path.dirname(os.path.abspath(root))
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o755)
        except FileExistsError:
            continue            # made meanwhile by another: left as its maker made it
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.fchmod(fd, 0o755)
        finally:
            os.close(fd)


def open_folder(path: str, create: bool = False) -> int:
    """A descriptor of the folder `path`; below the root, walked without following symlinks
    (and created with the root's modes when `create`)."""
    parts = below_root(path)
    root = _root
    if parts is None or root is None:      # below_root finds parts only below a root
        if create:
            os.makedirs(path, exist_ok=True)
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    made_root = create and not os.path.isdir(root)
    if made_root:
        _make_above(root)
        os.makedirs(root, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if made_root:
            _adopt(fd, _modes.folder)       # the root's modes, not the umask's (0 made it 0777)
        for index, part in enumerate(parts):
            try:
                child, made = _open_child(fd, part, create, path)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _refuse(os.path.join(root, *parts[:index + 1])) from None
                raise
            os.close(fd)
            fd = child
            if create and not made:
                _finish_folder(fd)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _open_child(fd: int, part: str, create: bool, path: str) -> Tuple[int, bool]:
    """The folder `part` in the folder `fd`, not through a symlink, and whether it was made
    here (with the root's modes) because it was missing and `create` was asked."""
    try:
        return os.open(part, _FOLDER_FLAGS, dir_fd=fd), False
    except FileNotFoundError:
        if not create:
            raise FileNotFoundError(errno.ENOENT, "no such folder", path) from None
    try:
        fault_point()
        os.mkdir(part, _NEW_FOLDER, dir_fd=fd)
    except FileExistsError:
        return os.open(part, _FOLDER_FLAGS, dir_fd=fd), False
    child = os.open(part, _FOLDER_FLAGS, dir_fd=fd)
    try:
        fault_point()
        _adopt(child, _modes.folder)
    except BaseException:
        os.close(child)
        raise
    return child, True


_kept: Optional[Dict[str, int]] = None     # path -> descriptor, inside a keep_folders() block


@contextmanager
def keep_folders() -> Iterator[None]:
    """Inside the block, a folder is walked to (below the root: part by part, never through a
    symlink) the first time it is used, and its descriptor is used again until the block ends:
    an update of two thousand user files walks to their folder once, not five times a file.
    For a block that removes no folder it uses."""
    global _kept
    if _kept is not None:
        yield
        return
    _kept = {}
    try:
        yield
    finally:
        kept, _kept = _kept, None
        for fd in kept.values():
            os.close(fd)


@contextmanager
def folder(path: str, create: bool = False) -> Iterator[int]:
    kept = _kept
    if kept is not None:
        fd = kept.get(path)
        if fd is None:
            opened = open_folder(path, create)
            fd = kept.setdefault(path, opened)      # threads: the first one opened is kept
            if fd != opened:
                os.close(opened)
        yield fd
        return
    fd = open_folder(path, create)
    try:
        yield fd
    finally:
        os.close(fd)


def makedirs(path: str) -> None:
    """Create `path` and its parents (below the root: safely, with the root's modes)."""
    os.close(open_folder(path, create=True))


def open_file(path: str) -> int:
    """A read descriptor of `path`, never through a symlink below the root."""
    parent, name = os.path.split(path)
    with folder(parent or ".") as dfd:
        try:
            return os.open(name, _FILE_READ, dir_fd=dfd)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise _refuse(path) from None
            if err.filename is None:
                err.filename = path
            raise


def list_folder(path: str) -> List[str]:
    """The names in a folder ([] when it does not exist); below the root, reached without
    following symlinks (UnsafePath when a file or symlink stands where it belongs)."""
    try:
        with folder(path) as fd:
            return os.listdir(fd)
    except FileNotFoundError:
        return []


READ_LIMIT = 1 << 32     # 4 GiB: a store file bigger than this was not written by a tool


def read_bytes(path: str, limit: Optional[int] = None) -> bytes:
    """The file's bytes (at most `limit`, READ_LIMIT by default: a bigger file is an error, not
    a memory hog; a huge sparse file planted by someone is refused before it is read)."""
    limit = READ_LIMIT if limit is None else limit
    fd, size = open_regular(path, limit)
    with os.fdopen(fd, "rb") as handle:
        data = _read_at_most(handle, size, limit)
    if len(data) > limit:
        raise ValueError(too_large(path, limit))
    return data


TEXT_CHUNK = 1 << 20


def read_text(path: str, limit: int) -> bytes:
    """The bytes of a text file (JSON: no NUL byte in it), at most `limit`, read a MiB at a
    time: a NUL byte refuses it at the chunk that holds it, so a planted sparse file (its holes
    read as NULs) costs a chunk, not its size, whatever st_blocks says."""
    fd, _size = open_regular(path, limit)
    parts, length = [], 0
    with os.fdopen(fd, "rb") as handle:
        while length <= limit:
            chunk = handle.read(min(TEXT_CHUNK, limit + 1 - length))
            if not chunk:
                break
            if b"\0" in chunk:
                raise ValueError(f"{path}: holds NUL bytes (a sparse or binary file), so it is no "
                                 "text a tool wrote")
            parts.append(chunk)
            length += len(chunk)
    if length > limit:
        raise ValueError(too_large(path, limit))
    return b"".join(parts)


def json_values(raw: bytes) -> int:
    """At most how many values the JSON text `raw` holds, counted without parsing it (what
    parsing would cost): each value but the first of a list or object follows a comma, and each
    list or object opens with a bracket (a comma inside a string only counts one too many)."""
    return raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1


def read_json_text(path: str, limit: int, values: int) -> bytes:
    """:func:`read_text`, and ValueError when it holds more than `values` values (see
    :func:`json_values`): a planted file of tiny values cannot cost more to parse than the
    largest file the tools write."""
    raw = read_text(path, limit)
    if json_values(raw) > values:
        raise ValueError(f"{path}: more than {values:,} values, which no file the tools write "
                         "holds")
    return raw


def too_large(path: str, limit: int) -> str:
    shown = f"{limit >> 20} MiB" if limit >= 1 << 20 and not limit % (1 << 20) else f"{limit} bytes"
    return f"{path}: larger than {shown}, which no file the tools write reaches"


def open_regular(path: str, limit: Optional[int]) -> Tuple[int, int]:
    """A read descriptor of the regular file `path` and its size; UnsafePath for anything else
    (a planted folder, FIFO or device), ValueError when it is larger than `limit` (None: any
    size; nothing read)."""
    fd = open_file(path)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafePath(f"{path}: not a regular file")
    if limit is not None and info.st_size > limit:
        os.close(fd)
        raise ValueError(too_large(path, limit))
    return fd, info.st_size


def _read_at_most(handle, size: int, limit: int) -> bytes:
    """The file's bytes, or `limit` + 1 of them when it grew past `limit` since its size was
    taken (a read sized for the limit itself would reserve 4 GiB each time)."""
    data = handle.read(size + 1)
    if len(data) <= size:
        return data
    parts, length = [data], len(data)
    while length <= limit:
        chunk = handle.read(min(1 << 20, limit + 1 - length))
        if not chunk:
            break
        parts.append(chunk)
        length += len(chunk)
    return b"".join(parts)


def atomic_write(path: str, data: bytes, temp_suffix: str = "",
                 mode: Optional[int] = None) -> None:
    """Replace `path` with `data` so a reader sees the old file or the new one, never a mix.

    The new file gets the root's file mode (:func:`modes`; 0644 outside a root), so a shared
    root stays readable by its readers, or `mode` (with the root's group). The temporary file is
    named before it is created, so an interruption at any point (a SIGTERM turned into an
    exception) can remove it; `temp_suffix` ends its name, for readers that pick files by
    suffix (node_exporter reads every ``*.prom``).
    """
    with atomic_file(path, temp_suffix, mode) as handle:
        handle.write(data)


def writer_only_mode() -> int:
    """The root's file mode without the group's and others' write bits: a file that only the
    account that wrote it may change (rank/summaries.py trusts no other)."""
    return _modes.file & ~0o022


@contextmanager
def atomic_file(path: str, temp_suffix: str = "",
                mode: Optional[int] = None) -> Iterator[BinaryIO]:
    """:func:`atomic_write` for content written a piece at a time: `path` is replaced when the
    block ends without an exception, and left as it was otherwise."""
    parent, name = os.path.split(path)
    with folder(parent or ".", create=True) as dfd:
        fault_point()
        temp = f".tmp-{os.getpid()}-{next(_temp_numbers)}.{name}{temp_suffix}"
        try:
            fd = os.open(temp, _FILE_NEW, 0o600, dir_fd=dfd)
            with os.fdopen(fd, "wb") as handle:
                yield handle
                fault_point()
                handle.flush()
                _adopt(handle.fileno(), _modes.file if mode is None else mode)
                os.fsync(handle.fileno())
            fault_point()
            try:
                os.rename(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except IsADirectoryError:
                raise UnsafePath(f"{path}: a folder where a file belongs (remove it)") from None
        except BaseException:
            try:
                os.unlink(temp, dir_fd=dfd)
            except OSError:
                pass
            raise
        fault_point()
        os.fsync(dfd)


def write_synced(path: str, data: Union[bytes, memoryview, Iterable[bytes]],
                 sync: bool = True) -> None:
    """Write a new file in place and fsync it (for staged files no reader looks at yet); what
    was there before, a leftover or a planted symlink, is removed first, never followed. With
    `sync` False the caller fsyncs it later (:func:`fsync_files`), before anything relies on it.
    `data` is the bytes, or their pieces in order (written as they come)."""
    parent, name = os.path.split(path)
    with folder(parent or ".", create=True) as dfd:
        fault_point()
        try:
            os.unlink(name, dir_fd=dfd)
        except FileNotFoundError:
            pass
        fd = os.open(name, _FILE_NEW, 0o600, dir_fd=dfd)
        try:
            for part in (data,) if isinstance(data, (bytes, bytearray, memoryview)) else data:
                write_all(fd, part)
            fault_point()
            _adopt(fd, _modes.file)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)


def write_all(fd: int, data: Union[bytes, memoryview]) -> None:
    """os.write until all of `data` is written (no file object for a file written once)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


SYNC_THREADS = 8


def fsync_file(path: str) -> None:
    """fsync a file, opened without following a symlink."""
    fd = open_file(path)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_files(paths: List[str]) -> None:
    """fsync many files at once (threads: the disk takes them together instead of one by one),
    each opened without following a symlink; one after the other when no thread can be started
    (the account is at its process limit: ulimit -u, systemd's TasksMax)."""
    if len(paths) >= 2:
        from concurrent.futures import ThreadPoolExecutor
        try:
            with ThreadPoolExecutor(max_workers=SYNC_THREADS) as pool:
                list(pool.map(fsync_file, paths))
            return
        except RuntimeError:            # "can't start new thread"
            pass
    for path in paths:
        fsync_file(path)


class Syncer:
    """fsyncs files in the background as they are handed over (threads, as
    :func:`fsync_files`), so the disk works while the next files are made; :meth:`wait`
    returns once every one is synced (raising the first failure). Once a thread cannot be
    started (a process limit), the files handed over after are synced as they come."""

    def __init__(self) -> None:
        self.pool: Optional["ThreadPoolExecutor"] = None
        self.pending: list = []
        self.in_place = False

    def add(self, path: str) -> None:
        if self.in_place:
            fsync_file(path)
            return
        try:
            pool = self.pool
            if pool is None:
                from concurrent.futures import ThreadPoolExecutor
                pool = self.pool = ThreadPoolExecutor(max_workers=SYNC_THREADS)
            self.pending.append(pool.submit(fsync_file, path))
        except RuntimeError:            # "can't start new thread"
            self.in_place = True
            fsync_file(path)

    def wait(self) -> None:
        try:
            for future in self.pending:
                future.result()
        finally:
            self.close()

    def close(self) -> None:
        """Wait for the syncs under way (their outcome no longer matters) and stop."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        self.pool, self.pending = None, []


def replace_synced(source: str, target: str) -> None:
    """Rename `source` over `target`, both in one folder; `source` must be a regular file."""
    parent = os.path.dirname(target)
    if os.path.dirname(source) != parent:
        raise UnsafePath(f"{source}: not beside {target}")
    with folder(parent or ".") as dfd:
        name = os.path.basename(source)
        if not stat.S_ISREG(os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode):
            raise UnsafePath(f"{source}: not a regular file")
        fault_point()
        os.rename(name, os.path.basename(target), src_dir_fd=dfd, dst_dir_fd=dfd)


def remove_synced(path: str) -> None:
    unlink_synced(path)
    fsync_dir(os.path.dirname(path) or ".")


def unlink_synced(path: str) -> None:
    """Remove a file, or a symlink itself (the folder is fsynced by the caller)."""
    with folder(os.path.dirname(path) or ".") as dfd:
        fault_point()
        os.unlink(os.path.basename(path), dir_fd=dfd)


def lexists(path: str) -> bool:
    """Whether `path` names anything (a symlink included), looked up without following any."""
    try:
        with folder(os.path.dirname(path) or ".") as dfd:
            os.stat(os.path.basename(path), dir_fd=dfd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def remove_leftovers(path: str) -> int:
    """Remove the temporary files a killed writer of `path` left beside it; call it while
    holding the lock every writer of `path` holds, so none of them is still being written."""
    parent, name = os.path.split(path)
    count = 0
    try:
        with folder(parent or ".") as dfd:
            for entry in os.listdir(dfd):
                if entry.startswith(".tmp-") and entry.endswith("." + name):
                    fault_point()
                    os.unlink(entry, dir_fd=dfd)
                    count += 1
    except FileNotFoundError:
        pass
    return count


def remove_temporaries(top: str, suffixes: Tuple[str, ...]) -> int:
    """Remove the temporary files killed writers left anywhere in the tree `top` (those of
    files ending in one of `suffixes`); call it while holding the lock every writer of those
    files holds. Folders are walked without following symlinks."""
    count = 0
    for path, _, names in os.walk(top):
        temporaries = [name for name in names
                       if name.startswith(".tmp-") and name.endswith(suffixes)]
        if not temporaries:
            continue
        with folder(path) as dfd:
            for name in temporaries:
                fault_point()
                os.unlink(name, dir_fd=dfd)
                count += 1
    return count


def atomic_write_json(path: str, obj) -> None:
    atomic_write(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))


def read_json(path: str, default=None, limit: Optional[int] = None):
    """The parsed file, or `default` when it does not exist (larger than `limit`: ValueError)."""
    try:
        return orjson.loads(read_bytes(path, limit))
    except FileNotFoundError:
        return default


CONFIG_LIMIT = 1 << 20     # bytes of a site's config file: a planted huge one is refused


def read_config(path: str, default=None, limit: int = CONFIG_LIMIT):
    """A site's JSON config file, `default` when it does not exist; ConfigError naming the
    file when it is not JSON, is bigger than `limit`, or cannot be read."""
    try:
        data = read_bytes(path, limit)
    except FileNotFoundError:
        return default
    except ValueError as err:
        raise ConfigError(str(err)) from None
    except (OSError, UnsafePath) as err:
        raise ConfigError(f"{path}: cannot be read ({err})") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from None


def fsync_dir(path: str) -> None:
    with folder(path) as fd:
        os.fsync(fd)


LOCK_WAIT_ENV = "SLURM_SB_LOCK_WAIT"
DEFAULT_LOCK_WAIT = 120.0


def lock_wait() -> float:
    """Seconds a writer waits for a lock: $SLURM_SB_LOCK_WAIT, else 120."""
    try:
        value = float(os.environ.get(LOCK_WAIT_ENV) or DEFAULT_LOCK_WAIT)
    except ValueError:
        return DEFAULT_LOCK_WAIT
    return value if value >= 0 and value == value else DEFAULT_LOCK_WAIT


def held_message(path: str, waited: float) -> str:
    """Who holds the lock on `path` and how long this run waited for it."""
    holders = lock_holders(path)
    who = f" by {', '.join(holders)}" if holders else ""
    return f"{path} is held{who}; gave up after {waited:g} s"


def lock_holders(path: str) -> List[str]:
    """Who holds an flock on `path`, as "pid N (user U)", from /proc/locks when it tells."""
    try:
        info = os.stat(path, follow_symlinks=False)
        with open("/proc/locks") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    holders = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted \
                and fields[4].isdigit():
            holders.append(_describe(int(fields[4])))
    return sorted(set(holders))


def _describe(pid: int) -> str:
    try:
        import pwd
        user = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    except (OSError, KeyError):
        return f"pid {pid}"
    return f"pid {pid} (user {user})"


def _flock(fd: int, operation: int, timeout: float, path: str) -> None:
    """flock(2) `fd`, retrying until `timeout` seconds have passed; LockBusy then."""
    start = time.monotonic()
    pause = 0.02
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
        waited = time.monotonic() - start
        if waited >= timeout:
            raise LockBusy(held_message(path, timeout), path)
        time.sleep(min(pause, max(0.0, timeout - waited)))
        pause = min(pause * 2, 0.5)


def _open_lock(path: str, flags: int) -> int:
    parent, name = os.path.split(path)
    with folder(parent or ".", create=bool(flags & os.O_CREAT)) as dfd:
        if flags & os.O_CREAT:
            fault_point()
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, _modes.lock,
                         dir_fd=dfd)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise _refuse(path) from None
            if err.filename is None:
                err.filename = path
            raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafePath(f"{path}: not a regular file; refusing it as a lock")
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != _modes.lock:
        fault_point()
        _adopt(fd, _modes.lock)
    return fd


@contextmanager
def locked(path: str, timeout: Optional[float] = None) -> Iterator[None]:
    """Hold an exclusive flock(2) on `path` (created if missing, readable only by the writers),
    waiting at most `timeout` seconds (default :func:`lock_wait`; 0: not at all), else LockBusy
    naming the holder."""
    fd = _open_lock(path, os.O_RDWR | os.O_CREAT)
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
        fd = _open_lock(path, os.O_RDONLY)
    except FileNotFoundError:
        yield
        return
    try:
        _flock(fd, fcntl.LOCK_SH, timeout, path)
        yield
    finally:
        os.close(fd)


def identity(path: str) -> str:
    """Who a file or folder is now (inode, size, change and modify times; "-" when missing): it
    moves whenever the file is replaced or written."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return "-"
    return f"{info.st_ino}:{info.st_size}:{info.st_ctime_ns}:{info.st_mtime_ns}"
