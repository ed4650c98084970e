"""Multi-file updates that survive a crash at any instant: a redo journal.

An update (the rollups, user files and Bloom files one sb-reduce run changes, and the files it
removes) is committed in four steps:

1. stage: each new file is written beside its target as ``.<name>.sbtx`` and handed to
   threads that fsync it while the next ones are written; all of them are synced before
   step 2;
2. commit: the list of (staged, target) pairs and of files to remove is written atomically to
   ``state/journal.json``, the commit point;
3. apply: every staged file is renamed over its target, every file to remove is removed, and the
   folders fsynced;
4. the journal is removed.

:func:`recover` runs before anything reads or writes the store: with a journal present it redoes
step 3 (a rename whose staged file is gone has already happened, a removal whose file is gone
too) and removes the journal; without one, staged files are leftovers of an update that never
committed and are deleted. So after a crash the store holds either the whole update or none of
it. The journal lives in a shared folder, so none of its paths is trusted: each must name a file
inside the cluster's own store folders.
"""
from __future__ import annotations

import os
import stat
from typing import Iterable, List, Tuple, Union

import orjson

from ..core.files import (
    Syncer,
    atomic_write,
    folder,
    fsync_dir,
    lexists,
    read_json,
    remove_synced,
    replace_synced,
    unlink_synced,
    write_synced,
)
from ..errors import JournalCorrupt, UnsafePath

JOURNAL = "journal.json"
STAGED_SUFFIX = ".sbtx"


def staged_path(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, "." + name + STAGED_SUFFIX)


class Transaction:
    """Collect new file contents and removals under `base` (a cluster folder); `commit` makes
    them all happen, or none."""

    def __init__(self, base: str, state_dir: str):
        self.base = base
        self.journal_path = os.path.join(state_dir, JOURNAL)
        self.pairs: List[Tuple[str, str]] = []
        self.removals: List[str] = []
        self.syncer = Syncer()

    def stage(self, path: str, data: Union[bytes, memoryview, Iterable[bytes]]) -> None:
        """Write `data` (bytes, or its pieces in order) beside `path`, to replace it at commit."""
        temp = staged_path(path)
        # named before it exists: a signal while it is written leaves abort() its name to remove
        self.pairs.append((os.path.relpath(temp, self.base), os.path.relpath(path, self.base)))
        write_synced(temp, data, sync=False)
        self.syncer.add(temp)

    def remove(self, path: str) -> None:
        self.removals.append(os.path.relpath(path, self.base))

    def abort(self) -> None:
        """Remove what was staged: the update will not happen (a store file it needed turned
        out damaged, say), and no staged file should linger for the next run to discard."""
        self.syncer.close()
        for temp, _ in self.pairs:
            try:
                unlink_synced(os.path.join(self.base, temp))
            except (OSError, UnsafePath):   # gone, never made, or a folder planted: the next
                pass                        # run's recover() sweeps what is left
        self.pairs, self.removals = [], []

    def commit(self) -> None:
        self.syncer.wait()
        if not self.pairs and not self.removals:
            return
        for touched in sorted({os.path.dirname(os.path.join(self.base, t)) for t, _ in self.pairs}):
            fsync_dir(touched)
        atomic_write(self.journal_path, orjson.dumps(
            {"version": 2, "files": self.pairs, "remove": self.removals}))
        _apply(self.base, self.pairs, self.removals)
        remove_synced(self.journal_path)
        self.pairs, self.removals = [], []


def _apply(base: str, pairs, removals) -> None:
    folders = set()
    for temp, target in pairs:
        temp_path, target_path = os.path.join(base, temp), os.path.join(base, target)
        if lexists(temp_path):
            replace_synced(temp_path, target_path)
        folders.add(os.path.dirname(target_path))
    for target in removals:
        target_path = os.path.join(base, target)
        if lexists(target_path):
            unlink_synced(target_path)
        folders.add(os.path.dirname(target_path))
    for touched in sorted(folders):
        if os.path.isdir(touched):
            fsync_dir(touched)


def recover(base: str, state_dir: str, owned: List[str]) -> str:
    """Finish or discard an interrupted update under `base`; returns what was done ('' if none).

    `owned` are the folders only the journal's writer writes (swept of staged and temporary
    files); the state folder itself is shared with other tools and only loses journal temps.
    """
    journal_path = os.path.join(state_dir, JOURNAL)
    done = ""
    try:
        journal = read_json(journal_path)
    except (ValueError, OSError, UnsafePath):
        raise JournalCorrupt(f"{journal_path}: unreadable journal") from None
    if journal is not None:
        pairs, removals = _checked(journal, journal_path, base, owned)
        try:
            _apply(base, pairs, removals)
        except (OSError, UnsafePath) as err:
            raise JournalCorrupt(f"{journal_path}: its update cannot be applied ({err})") from None
        remove_synced(journal_path)
        done = f"finished an interrupted update of {len(pairs) + len(removals)} files"
    leftovers = sum(_sweep(folder) for folder in owned) + _sweep(state_dir, JOURNAL, walk=False)
    if leftovers and not done:
        done = f"discarded {leftovers} files of an update that never committed"
    return done


def discard(base: str, state_dir: str, owned: List[str]) -> None:
    """Remove an unreadable journal (a folder planted in its place too) and every staged file:
    its update is abandoned."""
    journal_path = os.path.join(state_dir, JOURNAL)
    with folder(state_dir) as state_fd:
        try:
            info = os.stat(JOURNAL, dir_fd=state_fd, follow_symlinks=False)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            _remove_tree(state_fd, JOURNAL)
        elif info is not None:
            remove_synced(journal_path)
    for top in owned:
        _sweep(top)
    _sweep(state_dir, JOURNAL, walk=False)


def _remove_tree(parent_fd: int, name: str) -> None:
    """Remove a folder planted under `name` and everything in it, through descriptors (never
    following a symlink, even one swapped in while this runs)."""
    for _, folders, names, fd in os.fwalk(name, topdown=False, dir_fd=parent_fd,
                                          follow_symlinks=False):
        for entry in names:
            os.unlink(entry, dir_fd=fd)
        for entry in folders:
            try:
                os.rmdir(entry, dir_fd=fd)
            except NotADirectoryError:
                os.unlink(entry, dir_fd=fd)
    os.rmdir(name, dir_fd=parent_fd)


def _checked(journal, journal_path: str, base: str, owned: List[str]
             ) -> Tuple[List[Tuple[str, str]], List[str]]:
    """The journal's (staged, target) pairs and removals, each a relative path to a file in one
    of the `owned` folders (a staged file beside its target); JournalCorrupt for anything else
    (the journal is read from a shared folder: its paths are not trusted)."""
    pairs = journal.get("files") if type(journal) is dict else None
    removals = journal.get("remove", []) if type(journal) is dict else None
    if type(pairs) is not list or type(removals) is not list:
        raise JournalCorrupt(f"{journal_path}: unreadable journal")
    checked = []
    for pair in pairs:
        if (type(pair) is not list or len(pair) != 2 or not all(type(p) is str for p in pair)
                or not _inside_owned(base, pair[1], owned)
                or pair[0] != os.path.relpath(staged_path(os.path.join(base, pair[1])), base)):
            raise JournalCorrupt(f"{journal_path}: an entry that is not a store file: "
                                 f"{str(pair)[:120]!r}")
        checked.append((pair[0], pair[1]))
    for target in removals:
        if type(target) is not str or not _inside_owned(base, target, owned):
            raise JournalCorrupt(f"{journal_path}: a removal that is not a store file: "
                                 f"{str(target)[:120]!r}")
    return checked, removals


STORE_SUFFIXES = (".json", ".bloom")


def _inside_owned(base: str, relative: str, owned: List[str]) -> bool:
    """`relative` names a store file (a .json or .bloom, never a folder) in an owned folder."""
    parts = relative.split("/")
    if os.path.isabs(relative) or any(part in ("", ".", "..") for part in parts) \
            or not parts[-1].endswith(STORE_SUFFIXES) or parts[-1].startswith("."):
        return False
    parent = os.path.dirname(os.path.join(base, relative))
    return any(parent == top or parent.startswith(top + os.sep) for top in owned)


def _is_leftover(name: str, only: str = "") -> bool:
    if only:
        return name.startswith(".tmp-") and name.endswith("." + only)
    return name.startswith(".") and (name.endswith(STAGED_SUFFIX) or name.startswith(".tmp-"))


def _sweep(top: str, only: str = "", walk: bool = True) -> int:
    """Remove staged and half-written temporary files under `top`."""
    count = 0
    tree = os.walk(top) if walk else [(top, [], os.listdir(top) if os.path.isdir(top) else [])]
    for where, _, names in tree:
        for name in names:
            if _is_leftover(name, only):
                remove_synced(os.path.join(where, name))
                count += 1
    return count
