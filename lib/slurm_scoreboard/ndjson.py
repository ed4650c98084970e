"""NDJSON in and out with orjson: one object a line, bytes streams, optional per-record flush."""
from __future__ import annotations

from typing import BinaryIO, Callable, Iterator, Tuple

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


def read(stream: BinaryIO, source: str, on_problem: Callable[[str, int, str], None]
         ) -> Iterator[Tuple[int, object]]:
    """(line number, parsed object) for every non-blank line; bad JSON goes to on_problem."""
    for lineno, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield lineno, orjson.loads(line)
        except orjson.JSONDecodeError as err:
            on_problem(source, lineno, f"not JSON ({err.msg})")
