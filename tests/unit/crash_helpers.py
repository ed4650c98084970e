"""Helpers for the crash tests: a tool run in a forked child of the test process (killed at one
of its write points, or not), trees compared file by file, hard-linked copies of a root.

A forked child starts with every module already imported, so a run costs only the tool's own
work, and a test can afford to kill a tool at every one of its write points. The child sets
``files._FAULT_AT`` (what $SLURM_SB_FAULT_AT sets at import), so files.fault_point() sends it
SIGKILL at the Nth point, exactly as in a tool started with the variable; it reports how many
points it passed. Its descriptors 0, 1 and 2 are files, and what it printed before it was
killed is what a pipe would have received (Python's unflushed buffer dies with it).

By default the child's os.fsync does nothing: a SIGKILL loses nothing the page cache holds, so
a kill test does not need the disk to be synced. Whether each file is synced before it is
renamed into place is what the sync-order tests check (test_crash_writers.py, SyncSpy).
"""
import io
import os
import shutil
import signal
import stat
import sys
import tempfile
import traceback
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from slurm_scoreboard.core import files


class Ran(NamedTuple):
    code: int           # the exit status, or -N when signal N ended it
    stdout: bytes
    stderr: bytes
    points: int         # write points passed (files.fault_point calls)

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL


def run_forked(main: Callable[[Sequence[str]], int], argv: Sequence[str], stdin: bytes = b"",
               fault_at: int = 0, env: Optional[Dict[str, str]] = None, sync: bool = False,
               umask: Optional[int] = None, setup: Callable[[], None] = lambda: None,
               teardown: Callable[[], None] = lambda: None) -> Ran:
    """main(argv) in a forked child; with `fault_at` N it is killed at its Nth write point.
    `setup` runs in the child first, `teardown` last (unless it was killed)."""
    with tempfile.TemporaryDirectory(prefix="sb-fork-") as scratch:
        paths = [os.path.join(scratch, name) for name in ("in", "out", "err", "points")]
        with open(paths[0], "wb") as handle:
            handle.write(stdin)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(main, argv, paths, fault_at, env, sync, umask, setup, teardown)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        out, err = (_read(path) for path in paths[1:3])
        points = _read(paths[3])
    return Ran(code, out, err, int(points) if points else -1)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return b""


def _child(main, argv, paths, fault_at, env, sync, umask, setup, teardown) -> None:
    code = 70
    try:
        os.environ.update(env or {})
        if umask is not None:
            os.umask(umask)
        for fd, path, flags in ((0, paths[0], os.O_RDONLY),
                                (1, paths[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (2, paths[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)))
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
        if not sync:
            os.fsync = lambda fd: None
        files._FAULT_AT = fault_at
        files._points_reached = 0
        setup()
        code = main(list(argv))
        sys.stdout.flush()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 71
    finally:
        try:
            teardown()
            sys.stdout.flush()
            sys.stderr.flush()
            with open(paths[3], "w") as handle:
                handle.write(str(files._points_reached))
        finally:
            os._exit(code)


def write_points(main, argv, env=None, stdin=b"") -> List[Tuple[str, str]]:
    """(function, path) of each write point an uninterrupted run passes, in order: the function
    that called files.fault_point() and the file or folder it was about to change."""
    with tempfile.TemporaryDirectory(prefix="sb-points-") as scratch:
        log = os.path.join(scratch, "points")

        def record() -> None:
            frame = sys._getframe(1)
            where = next((frame.f_locals[name] for name in ("path", "target", "name")
                          if isinstance(frame.f_locals.get(name), str)), "")
            with open(log, "a") as handle:
                handle.write(f"{frame.f_code.co_name}\t{where}\n")

        def setup() -> None:
            files.fault_point = record

        ran = run_forked(main, argv, stdin, env=env, setup=setup)
        assert ran.code in (0, 4), ran.stderr
        with open(log) as handle:
            return [tuple(line.rstrip("\n").split("\t", 1)) for line in handle]


ALL_POINTS = os.environ.get("SB_CRASH_ALL_POINTS") == "1"


def representative_points(points: Sequence[Tuple[str, str]],
                          kind_of: Callable[[str], str]) -> List[int]:
    """The write points (1-based) a kill test takes: the first and the last of each kind (the
    function, the kind of file `kind_of` names, and the point's place among those of one
    call), so every distinct step of every kind of file is killed at least once; the same step
    of a loop over boards or pages is the same code on the same kind of file. Every point when
    $SB_CRASH_ALL_POINTS is 1."""
    if ALL_POINTS:
        return list(range(1, len(points) + 1))
    first: Dict[tuple, int] = {}
    last: Dict[tuple, int] = {}
    step = 0
    for number, (function, path) in enumerate(points, 1):
        step = step + 1 if number > 1 and points[number - 2] == (function, path) else 0
        key = (function, kind_of(path), step)
        first.setdefault(key, number)
        last[key] = number
    return sorted(set(first.values()) | set(last.values()))


class SyncSpy:
    """Installed in a forked child (its `install` as run_forked's setup, `save` as teardown):
    records in order every fsync (of which file), rename (of what, into which folder, the
    renamed file's mode and group as it is renamed into place) and removal the tool makes,
    with the real fsync skipped; `load` reads them in the parent.
    Files are named by (st_dev, st_ino), so a file is the same whatever it is called."""

    def __init__(self, log: str):
        self.log = log
        self.events: list = []

    def install(self) -> None:
        real_rename, real_unlink, real_rmdir = os.rename, os.unlink, os.rmdir

        def identity(info):
            return [info.st_dev, info.st_ino]

        def folder_of(path, dir_fd):
            if dir_fd is not None:
                return identity(os.fstat(dir_fd))
            return identity(os.stat(os.path.dirname(os.path.abspath(path))))

        def fsync(fd):
            self.events.append(["fsync", identity(os.fstat(fd))])

        def rename(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
            info = os.stat(src, dir_fd=src_dir_fd, follow_symlinks=False)
            where = os.path.realpath(f"/proc/self/fd/{dst_dir_fd}") if dst_dir_fd is not None \
                else os.path.dirname(os.path.abspath(dst))
            self.events.append(["rename", identity(info), stat.S_ISLNK(info.st_mode),
                                folder_of(dst, dst_dir_fd), os.fsdecode(dst),
                                stat.S_IMODE(info.st_mode), info.st_gid, where])
            return real_rename(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

        def removal(real):
            def remove(path, *, dir_fd=None):
                self.events.append(["remove", folder_of(path, dir_fd), os.fsdecode(path)])
                return real(path, dir_fd=dir_fd)
            return remove

        os.fsync, os.rename = fsync, rename
        os.unlink, os.rmdir = removal(real_unlink), removal(real_rmdir)

    def save(self) -> None:
        import json
        with open(self.log, "w") as handle:
            json.dump(self.events, handle)

    @staticmethod
    def load(log: str) -> list:
        import json
        with open(log) as handle:
            return [tuple(tuple(part) if isinstance(part, list) else part for part in event)
                    for event in json.load(handle)]


def linked_copy(source, target) -> str:
    """A copy of the tree `source` whose files are hard links (a root's files are only ever
    replaced by a rename, never written in place, so the copy's writes never reach `source`)."""
    return shutil.copytree(str(source), str(target), copy_function=os.link, symlinks=True)


class Entry(NamedTuple):
    kind: str           # "file", "folder" or "link"
    mode: int
    data: bytes         # a file's bytes, a link's target


def snapshot(top, skip: Callable[[str], bool] = lambda relative: False) -> Dict[str, Entry]:
    """relative path -> Entry of everything under `top` (symlinks not followed)."""
    found = {}
    top = str(top)
    for folder, folders, names in os.walk(top):
        for name in folders + names:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, top)
            if skip(relative):
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = Entry("link", 0, os.readlink(path).encode())
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = Entry("folder", stat.S_IMODE(info.st_mode), b"")
            else:
                with open(path, "rb") as handle:
                    found[relative] = Entry("file", stat.S_IMODE(info.st_mode), handle.read())
    return found


def differences(got: Dict[str, Entry], want: Dict[str, Entry]) -> Dict[str, str]:
    """What differs between two snapshots, by path (empty when they are the same)."""
    found = {}
    for path in sorted(set(got) | set(want)):
        if path not in want:
            found[path] = "not written by an uninterrupted run"
        elif path not in got:
            found[path] = "missing"
        elif got[path].kind != want[path].kind:
            found[path] = f"a {got[path].kind}, not a {want[path].kind}"
        elif got[path].mode != want[path].mode:
            found[path] = f"mode {got[path].mode:04o}, not {want[path].mode:04o}"
        elif got[path].data != want[path].data:
            found[path] = "other content"
    return found


SHM = "/dev/shm"


def fast_folder(factory, name: str):
    """A new folder for trees copied and rebuilt hundreds of times: on tmpfs when the machine
    has one (the kill tests then wait on no disk), else under pytest's temporary folder."""
    import pathlib
    if os.path.isdir(SHM) and os.access(SHM, os.W_OK):
        folder = pathlib.Path(tempfile.mkdtemp(prefix=f"sb-{name}-", dir=SHM))
        _made.append(str(folder))
        return folder
    return factory.mktemp(name)


_made = []


def remove_fast_folders() -> None:
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
    _made.clear()
