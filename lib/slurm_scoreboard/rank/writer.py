"""Board files written only when what they show changed.

A rebuild makes every board of a scope it ranks again, but a document that is the file's but
for its ``asof`` leaves the file as it is: its bytes, and its ``asof``, the time of the rebuild
that last changed it. ``index.json``'s ``asof`` is the last rebuild's, which found every board
current.
"""
from __future__ import annotations

import re

import orjson

from ..core.files import atomic_write, read_bytes
from ..errors import UnsafePath

_ASOF = re.compile(rb'\{"asof":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"')
_ASOF_LENGTH = len(b'{"asof":"2025-01-01T00:00:00Z"')


def same_but_asof(old: bytes, new: bytes) -> bool:
    """Whether two documents' bytes differ at most in the time each starts with."""
    if len(old) != len(new):
        return False
    if _ASOF.match(new) is None:
        return old == new
    return _ASOF.match(old) is not None and old[_ASOF_LENGTH:] == new[_ASOF_LENGTH:]


def unchanged(path: str, data: bytes) -> bool:
    """Whether the file at `path` holds `data` but for its asof (a missing, unreadable or
    planted file does not)."""
    try:
        old = read_bytes(path, len(data))
    except (OSError, UnsafePath, ValueError):
        return False
    return same_but_asof(old, data)


class BoardWriter:
    """Writes the files of a rebuild, each only when it changed; counts the boards made
    (written, found current, or left alone with their cluster) and the boards written."""

    def __init__(self) -> None:
        self.boards = 0
        self.written = 0

    def write(self, path: str, document: dict, board: bool = True) -> None:
        data = orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
        self.boards += board
        if not unchanged(path, data):
            atomic_write(path, data)
            self.written += board

    def left_alone(self, boards: int) -> None:
        """`boards` boards whose rows cannot have changed, neither made nor read."""
        self.boards += boards
