"""Board files written only when what they show changed, with the ranks of the previous day.

A rebuild makes every board of a scope it ranks again, but a document that is the file's but
for its ``asof`` leaves the file as it is: its bytes, and its ``asof``, the time of the rebuild
that last changed it. ``index.json``'s ``asof`` is the last rebuild's, which found every board
current.

Each board's rows carry their rank at the end of the previous UTC day (``previous_rank``,
boardfiles.moved_since_yesterday: from the file being replaced), which sb-view shows as a
movement marker; a board that stays the same all day keeps its file.
"""
from __future__ import annotations

from typing import FrozenSet, Optional

import orjson

from ..boardfiles import BOARD_LIMIT, moved_since_yesterday, same_but_asof
from ..core.files import atomic_write, read_bytes
from ..errors import UnsafePath


class BoardWriter:
    """Writes the files of a rebuild, each only when it changed; counts the boards made
    (written, found current, or left alone with their cluster) and the boards written.
    `hidden`: the users who opted out, left out of the previous day's ranks."""

    def __init__(self, hidden: FrozenSet[str] = frozenset()) -> None:
        self.boards = 0
        self.written = 0
        self.hidden = hidden

    def write(self, path: str, document: dict, board: bool = True) -> None:
        old = _old(path)
        if board:
            moved_since_yesterday(document, old, self.hidden)
        data = orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
        self.boards += board
        if old is None or not same_but_asof(old, data):
            atomic_write(path, data)
            self.written += board

    def left_alone(self, boards: int) -> None:
        """`boards` boards whose rows cannot have changed, neither made nor read."""
        self.boards += boards


def _old(path: str) -> Optional[bytes]:
    """The file being replaced (None: missing, unreadable or planted)."""
    try:
        return read_bytes(path, BOARD_LIMIT)
    except (OSError, UnsafePath, ValueError):
        return None
