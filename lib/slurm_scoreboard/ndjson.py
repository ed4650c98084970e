"""NDJSON in and out with orjson: one object a line, bytes streams, optional per-record flush."""
from __future__ import annotations

from typing import BinaryIO, Callable, Iterator, Optional, Tuple

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


LINE_LIMIT = 1 << 24     # 16 MiB: a longer line is no record, and is not held in memory


def bounded_lines(stream: BinaryIO, limit: int) -> Iterator[Optional[bytes]]:
    """The stream's lines, each None instead when longer than `limit` bytes (what is read
    of it is dropped as it is read, so memory stays bounded)."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(limit)
        yield None


def read(stream: BinaryIO, source: str, on_problem: Callable[[str, int, str], None],
         limit: int = LINE_LIMIT) -> Iterator[Tuple[int, object]]:
    """(line number, parsed object) for every non-blank line; bad JSON goes to on_problem."""
    for lineno, line in enumerate(bounded_lines(stream, limit), 1):
        if line is None:
            on_problem(source, lineno, f"longer than {limit} bytes")
            continue
        if not line.strip():
            continue
        try:
            yield lineno, orjson.loads(line)
        except orjson.JSONDecodeError as err:
            on_problem(source, lineno, f"not JSON ({err.msg})")
