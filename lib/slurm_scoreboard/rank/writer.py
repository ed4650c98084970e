"""Board files written only when what they show changed.

A rebuild makes every board of a scope it ranks again, but a document that is the file's but
for its ``asof`` leaves the file as it is: its bytes, and its ``asof``, the time of the rebuild
that last changed it. ``index.json``'s ``asof`` is the last rebuild's, which found every board
current.
"""
from __future__ import annotations

import orjson

from ..boardfiles import holds_but_asof
from ..core.files import atomic_write


class BoardWriter:
    """Writes the files of a rebuild, each only when it changed; counts the boards made
    (written, found current, or left alone with their cluster) and the boards written."""

    def __init__(self) -> None:
        self.boards = 0
        self.written = 0

    def write(self, path: str, document: dict, board: bool = True) -> None:
        data = orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
        self.boards += board
        if not holds_but_asof(path, data):
            atomic_write(path, data)
            self.written += board

    def left_alone(self, boards: int) -> None:
        """`boards` boards whose rows cannot have changed, neither made nor read."""
        self.boards += boards
