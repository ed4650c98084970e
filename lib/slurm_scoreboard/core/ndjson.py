"""NDJSON in and out with orjson: one object a line, bytes streams, optional per-record flush;
and the flat objects that are the only JSON the pipelines read."""
from __future__ import annotations

import json
import re
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
        self.write_line(orjson.dumps(obj, option=_OPTIONS))

    def write_line(self, line: bytes) -> None:
        """A line that already holds one JSON object (a newline is added when it has none)."""
        self.stream.write(line if line.endswith(b"\n") else line + b"\n")
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
    for lineno, parsed, _ in read_lines(stream, source, on_problem, limit):
        yield lineno, parsed


def read_lines(stream: BinaryIO, source: str, on_problem: Callable[[str, int, str], None],
               limit: int = LINE_LIMIT) -> Iterator[Tuple[int, object, bytes]]:
    """(line number, parsed object, the line itself) for every non-blank line, so a filter can
    pass a line on as it came instead of serialising it again."""
    for lineno, line in enumerate(bounded_lines(stream, limit), 1):
        if line is None:
            on_problem(source, lineno, f"longer than {limit} bytes")
            continue
        if not line.strip():
            continue
        try:
            yield lineno, orjson.loads(line), line
        except orjson.JSONDecodeError as err:
            on_problem(source, lineno, f"not JSON ({err.msg})")


_SPACE = rb"[ \t\n\r]*"
_TEXT = rb'"[ !#-\[\]-~]*"'
_VALUE = (rb"(?:" + _TEXT + rb"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
          rb"|true|false|null)")
_PAIR = _SPACE + _TEXT + _SPACE + rb":" + _SPACE + _VALUE + _SPACE
_FLAT = re.compile(_SPACE + rb"\{(?:" + _PAIR + rb"(?:," + _PAIR + rb")*|" + _SPACE + rb")\}"
                   + _SPACE)
_KEY = re.compile(rb'"([^"]*)"' + _SPACE + rb":")


def flat_object(data: bytes) -> dict:
    """A JSON object of plain values, each key once: strings of printable ASCII without quotes
    or backslashes (so no escapes), numbers, true, false, null. The only JSON the pipelines
    read (common.sh's sb_flat_json), so a field they read is the one a tool reads; ValueError
    for anything else."""
    if not _FLAT.fullmatch(data):
        raise ValueError("not a JSON object of plain values")
    keys = _KEY.findall(data)
    if len(keys) != len(set(keys)):
        raise ValueError("a key given twice")
    return json.loads(data)
