"""Multi-file updates that survive a crash at any instant: a redo journal.

An update (the rollups, user files and Bloom files one sb-reduce run changes) is committed in
four steps:

1. stage: each new file is written and fsynced beside its target as ``.<name>.sbtx``;
2. commit: the list of (staged, target) pairs is written atomically to ``state/journal.json``,
   the commit point;
3. apply: every staged file is renamed over its target, and the folders fsynced;
4. the journal is removed.

:func:`recover` runs before anything reads or writes the store: with a journal present it redoes
step 3 (a rename whose staged file is gone has already happened) and removes the journal;
without one, staged files are leftovers of an update that never committed and are deleted. So
after a crash the store holds either the whole update or none of it.
"""
from __future__ import annotations

import os
from typing import List, Tuple

import orjson

from .files import atomic_write, fsync_dir, read_json, remove_synced, replace_synced, write_synced

JOURNAL = "journal.json"
STAGED_SUFFIX = ".sbtx"


class JournalCorrupt(ValueError):
    pass


def staged_path(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, "." + name + STAGED_SUFFIX)


class Transaction:
    """Collect new file contents under `base` (a cluster folder); `commit` makes them all visible."""

    def __init__(self, base: str, state_dir: str):
        self.base = base
        self.journal_path = os.path.join(state_dir, JOURNAL)
        self.pairs: List[Tuple[str, str]] = []

    def stage(self, path: str, data: bytes) -> None:
        temp = staged_path(path)
        write_synced(temp, data)
        self.pairs.append((os.path.relpath(temp, self.base), os.path.relpath(path, self.base)))

    def commit(self) -> None:
        if not self.pairs:
            return
        for folder in sorted({os.path.dirname(os.path.join(self.base, t)) for t, _ in self.pairs}):
            fsync_dir(folder)
        atomic_write(self.journal_path, orjson.dumps({"version": 1, "files": self.pairs}))
        _apply(self.base, self.pairs)
        remove_synced(self.journal_path)
        self.pairs = []


def _apply(base: str, pairs) -> None:
    folders = set()
    for temp, target in pairs:
        temp_path, target_path = os.path.join(base, temp), os.path.join(base, target)
        if os.path.exists(temp_path):
            replace_synced(temp_path, target_path)
        folders.add(os.path.dirname(target_path))
    for folder in sorted(folders):
        fsync_dir(folder)


def recover(base: str, state_dir: str, owned: List[str]) -> str:
    """Finish or discard an interrupted update under `base`; returns what was done ('' if none).

    `owned` are the folders only the journal's writer writes (swept of staged and temporary
    files); the state folder itself is shared with other tools and only loses journal temps.
    """
    journal_path = os.path.join(state_dir, JOURNAL)
    done = ""
    try:
        journal = read_json(journal_path)
    except orjson.JSONDecodeError:
        raise JournalCorrupt(f"{journal_path}: unreadable journal") from None
    if journal is not None:
        pairs = journal.get("files") if isinstance(journal, dict) else None
        if not isinstance(pairs, list):
            raise JournalCorrupt(f"{journal_path}: unreadable journal")
        _apply(base, pairs)
        remove_synced(journal_path)
        done = f"finished an interrupted update of {len(pairs)} files"
    leftovers = sum(_sweep(folder) for folder in owned) + _sweep(state_dir, JOURNAL, walk=False)
    if leftovers and not done:
        done = f"discarded {leftovers} files of an update that never committed"
    return done


def _is_leftover(name: str, only: str = "") -> bool:
    if only:
        return name.startswith(".tmp-") and name.endswith("." + only)
    return name.startswith(".") and (name.endswith(STAGED_SUFFIX) or name.startswith(".tmp-"))


def _sweep(top: str, only: str = "", walk: bool = True) -> int:
    """Remove staged and half-written temporary files under `top`."""
    count = 0
    tree = os.walk(top) if walk else [(top, [], os.listdir(top) if os.path.isdir(top) else [])]
    for folder, _, names in tree:
        for name in names:
            if _is_leftover(name, only):
                remove_synced(os.path.join(folder, name))
                count += 1
    return count
