"""NDJSON in and out with orjson: one object a line, bytes streams, optional per-record flush."""
from __future__ import annotations

from typing import BinaryIO

import orjson

_OPTIONS = orjson.OPT_APPEND_NEWLINE


class Writer:
    """Writes one JSON object per line to a binary stream."""

    def __init__(self, stream: BinaryIO, flush_each: bool = False):
        self.stream = stream
        self.flush_each = flush_each
        self.count = 0

    def write(self, obj) -> None:
        self.stream.write(orjson.dumps(obj, option=_OPTIONS))
        self.count += 1
        if self.flush_each:
            self.stream.flush()
