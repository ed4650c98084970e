"""sb-news's cursor: which achievements a reader of the feed has been given already.

``<root>/state/news/<name>.seen`` holds the 64-bit mmh3 hash of every event id printed under
that cursor name, sorted (a header line, then 8 bytes a hash, little-endian). It is replaced
atomically only after the events were written out in full, so a run killed at any instant
prints an event again at worst (at least once), never loses one. ``<name>.lock`` keeps two runs
of the same cursor from printing the same events twice.
"""
from __future__ import annotations

import sys
from array import array
from typing import Iterable, Set

import mmh3

from ..core import layout
from ..core.files import atomic_write, read_bytes
from ..errors import CursorCorrupt, UnsafePath

HEADER = b"SBNEWS1\n"


def folder(root: str) -> str:
    return layout.path(root, "news_dir")


def cursor_file(root: str, name: str) -> str:
    return layout.path(root, "news_cursor", cursor=name)


def lock_file(root: str, name: str) -> str:
    return layout.path(root, "news_lock", cursor=name)


def key_of(event_id: str) -> int:
    return mmh3.hash64(event_id.encode(), signed=False)[0]


CURSOR_LIMIT = 64 << 20    # bytes: 8 million events; a bigger (planted) cursor is refused


def load(path: str) -> Set[int]:
    """The hashes under a cursor; empty when it was never written."""
    try:
        data = read_bytes(path, CURSOR_LIMIT)
    except FileNotFoundError:
        return set()
    except (OSError, UnsafePath, ValueError) as err:
        raise CursorCorrupt(f"{path}: {err}") from None
    body = data[len(HEADER):]
    if not data.startswith(HEADER) or len(body) % 8:
        raise CursorCorrupt(f"{path}: not an sb-news cursor (remove it to start over: every "
                            "event is then new)")
    keys = array("Q")
    keys.frombytes(body)
    if sys.byteorder != "little":
        keys.byteswap()
    return set(keys)


def save(path: str, keys: Iterable[int]) -> None:
    ordered = array("Q", sorted(keys))
    if sys.byteorder != "little":
        ordered.byteswap()
    atomic_write(path, HEADER + ordered.tobytes())
