"""A folder of files replaced whole: a reader (a web server) sees the old site or the new one,
never a mix, whenever the writer is killed.

``DIR`` is a relative symlink to the current generation, a hidden folder beside it::

    DIR -> .DIR.gen-<pid>-<ns>      the site readers see
    .DIR.gen-<pid>-<ns>/            every file of one export, fsynced before the swap
    .DIR.lock                       held while a generation is written and swapped in

A new generation is written and synced, then a new symlink is renamed over ``DIR`` (one atomic
rename), then every other generation is removed, leftovers of killed runs included. The first
export may replace a missing ``DIR`` or an empty folder; anything else is refused. So is a
parent folder other accounts may write without the sticky bit: one of them could swap a
generation folder for a symlink while it is written and have the pages written elsewhere.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import time
from typing import Iterable, List, Set, Tuple

from ..core import files
from ..errors import NotASite

GENERATION = ".gen-"
_GENERATION_END = re.compile(r"[0-9]+-[0-9]+")


def publish(target: str, pages: Iterable[Tuple[str, bytes]], wait: float) -> int:
    """Write `pages` ((relative path, bytes)) as the new contents of `target`; the number of
    files written. Waits up to `wait` seconds for another writer of `target` (LockBusy)."""
    parent, name = os.path.split(os.path.abspath(target))
    if not name:
        raise NotASite(f"{target}: name a folder to hold the site, not the file system's root")
    files.makedirs(parent)
    _check_parent(parent)
    with files.locked(os.path.join(parent, f".{name}.lock"), wait):
        _make_replaceable(parent, name)
        generation = f".{name}{GENERATION}{os.getpid()}-{time.time_ns()}"
        try:
            count = _write_generation(os.path.join(parent, generation), pages)
            _swap(parent, name, generation)
        except BaseException:
            _remove_tree(os.path.join(parent, generation))
            raise
        _remove_old_generations(parent, name, generation)
    return count


def current_generation(target: str) -> str:
    """The generation folder `target` points to ('' when it points to none of ours)."""
    try:
        link = os.readlink(target)
    except (FileNotFoundError, OSError):
        return ""
    name = os.path.basename(os.path.abspath(target))
    return link if _is_generation(link, name) else ""


def _is_generation(entry: str, name: str) -> bool:
    """A generation of site `name` (not of a site whose name merely starts the same way)."""
    prefix = f".{name}{GENERATION}"
    return entry.startswith(prefix) and _GENERATION_END.fullmatch(entry[len(prefix):]) is not None


def _check_parent(parent: str) -> None:
    info = os.stat(parent)
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
        raise NotASite(f"{parent} may be written by other accounts (mode "
                       f"{stat.S_IMODE(info.st_mode):04o}): one of them could redirect the "
                       "site's files; publish it in a folder only this account writes (the "
                       "site itself is readable by all), or one with the sticky bit (chmod +t)")


def _make_replaceable(parent: str, name: str) -> None:
    path = os.path.join(parent, name)
    if os.path.islink(path):
        if not current_generation(path):
            raise NotASite(f"{path} is a symlink sb-export did not make; remove it or name "
                           "another folder")
        return
    if os.path.isdir(path):
        if os.listdir(path):
            raise NotASite(f"{path} is a folder sb-export did not write; name a new or empty "
                           "folder (the site is published as a symlink there)")
        files.fault_point()
        os.rmdir(path)
    elif os.path.lexists(path):
        raise NotASite(f"{path} is a file; name a new or empty folder")


def _write_generation(folder: str, pages: Iterable[Tuple[str, bytes]]) -> int:
    made: Set[str] = set()
    written: List[str] = []
    _make_folder(folder, made)
    for relative, data in pages:
        path = os.path.join(folder, relative)
        _make_folder(os.path.dirname(path), made)
        files.write_synced(path, data, sync=False)
        written.append(path)
    files.fsync_files(written)
    for path in sorted(made, key=len, reverse=True):
        files.fsync_dir(path)
    return len(written)


def _make_folder(path: str, made: Set[str]) -> None:
    """Create a folder of the site (parents first), readable by a web server: outside a root
    it gets the folder mode whatever the umask."""
    if path in made:
        return
    parent = os.path.dirname(path)
    if parent and parent not in made and not os.path.isdir(parent):
        _make_folder(parent, made)
    files.makedirs(path)
    if files.below_root(path) is None:
        os.chmod(path, files.modes().folder)
    made.add(path)


def _swap(parent: str, name: str, generation: str) -> None:
    """Point `name` at `generation` with one rename of a fresh symlink."""
    link = f".{name}.link-{os.getpid()}"
    with files.folder(parent) as fd:
        try:
            files.fault_point()
            os.symlink(generation, link, dir_fd=fd)
            files.fault_point()
            os.rename(link, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(link, dir_fd=fd)
            except OSError:
                pass
            raise
        files.fault_point()
        os.fsync(fd)


def _remove_old_generations(parent: str, name: str, keep: str) -> None:
    """Every generation but `keep`, and symlinks a killed swap left, are removed."""
    for entry in os.listdir(parent):
        path = os.path.join(parent, entry)
        if _is_generation(entry, name) and entry != keep:
            files.fault_point()
            _remove_tree(path)
        elif entry.startswith(f".{name}.link-") and os.path.islink(path):
            files.fault_point()
            os.unlink(path)


def _remove_tree(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
