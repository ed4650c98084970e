"""NDJSON in and out with orjson: one object a line, bytes streams, optional per-record flush;
and the flat objects that are the only JSON the pipelines read."""
from __future__ import annotations

import fcntl
import json
import os
import re
import stat
import sys
from typing import BinaryIO, Callable, Iterable, Iterator, List, Optional, Protocol, Tuple

import orjson

_OPTIONS = orjson.OPT_APPEND_NEWLINE


PIPE_SIZE = 1 << 20      # what a pipe between two tools holds (Linux gives 64 KiB)


def pipe_commands() -> Optional[Tuple[int, int]]:
    """fcntl's (F_GETPIPE_SZ, F_SETPIPE_SZ), by Linux's numbers where Python does not name them
    (before 3.10: RHEL 9's python3); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    return getattr(fcntl, "F_GETPIPE_SZ", 1032), getattr(fcntl, "F_SETPIPE_SZ", 1031)


def widen_pipe(stream) -> None:
    """Let a pipe the stream is an end of hold PIPE_SIZE bytes, so the tools on either side
    run while the other works instead of taking turns every 64 KiB (the ingest pipe took a
    fifth longer). Anything else, a pipe that is larger already, or one the kernel will not
    widen (the account's pipe memory is used up) is left as it is."""
    commands = pipe_commands()
    try:
        fd = stream.fileno()
        if commands and stat.S_ISFIFO(os.fstat(fd).st_mode) and \
                fcntl.fcntl(fd, commands[0]) < PIPE_SIZE:
            fcntl.fcntl(fd, commands[1], PIPE_SIZE)
    except (AttributeError, ValueError, OSError):
        pass


class Writer:
    """Writes one JSON object per line to a binary stream."""

    def __init__(self, stream: BinaryIO, flush_each: bool = False):
        widen_pipe(stream)
        self.stream = stream
        self.flush_each = flush_each
        self.count = 0

    def write(self, obj) -> None:
        self.stream.write(orjson.dumps(obj, option=_OPTIONS))
        self.count += 1
        if self.flush_each:
            self.stream.flush()

    def write_line(self, line: bytes) -> None:
        """A line that already holds one JSON object (a newline is added when it has none)."""
        self.stream.write(line if line.endswith(b"\n") else line + b"\n")
        self.count += 1
        if self.flush_each:
            self.stream.flush()


class BatchWriter(Writer):
    """A :class:`Writer` that hands the stream 64 KiB at a time, so the reader of a pipe is woken
    once a batch instead of every 8 KiB; :meth:`flush` hands over the rest (call it when done,
    also after an error). With `flush_each` every line goes at once, as a Writer's."""

    BATCH = 1 << 16

    def __init__(self, stream: BinaryIO, flush_each: bool = False):
        super().__init__(stream, flush_each)
        self.batch = bytearray()

    def write(self, obj) -> None:
        self.write_line(orjson.dumps(obj, option=_OPTIONS))

    def write_line(self, line: bytes) -> None:
        if self.flush_each:
            super().write_line(line)
            return
        self.batch += line
        if not line.endswith(b"\n"):
            self.batch += b"\n"
        self.count += 1
        if len(self.batch) >= self.BATCH:
            self.stream.write(self.batch)
            self.batch.clear()

    def flush(self) -> None:
        if self.batch:
            self.stream.write(self.batch)
            self.batch.clear()
        self.stream.flush()


LINE_LIMIT = 1 << 24     # 16 MiB: a longer line is no record, and is not held in memory


BLOCK = 1 << 16          # bytes read at a time (what a pipe holds: a line is passed on as it comes)


class Readable(Protocol):
    """What bounded_lines reads from: a binary stream, or a Tail of one."""

    def read(self, size: int = -1, /) -> bytes: ...


def joined(pieces: Iterable[bytes]) -> bytes:
    """The pieces one after another, each let go once copied: b"".join holds every piece until
    it is done, and each small result of orjson.dumps holds kilobytes (a 60-byte line 4 KiB),
    so joining a line per name of a big site took gigabytes."""
    out = bytearray()
    for piece in pieces:
        out += piece
    return bytes(out)


def bounded_lines(stream: Readable, limit: int) -> Iterator[Optional[bytes]]:
    """The stream's lines (without their newline), each None instead when longer than `limit`
    bytes (what is read of it is dropped as it is read, so memory stays bounded)."""
    for block in line_blocks(stream, limit):
        yield from block


def line_blocks(stream: Readable, limit: int) -> Iterator[List[Optional[bytes]]]:
    """:func:`bounded_lines` a block at a time: the lines that each read of the stream ends,
    read with ``read1`` where the stream has it (a pipe's lines come as they are written)."""
    widen_pipe(stream)
    read = getattr(stream, "read1", None) or stream.read
    head: List[bytes] = []      # the start of a line that no block has ended yet
    size = 0                    # its length; past the limit it is dropped (head emptied)
    while True:
        block = read(BLOCK)
        if not block:
            break
        parts = block.split(b"\n")
        last = parts.pop()
        if parts:
            lines = _bounded(parts, limit)
            if size:
                first = lines[0]
                lines[0] = b"".join(head) + first \
                    if first is not None and size + len(first) <= limit else None
            head, size = [], 0
            yield lines
        size += len(last)
        if last and size <= limit:
            head.append(last)
        elif size > limit:
            head, size = [], limit + 1
    if size:
        yield [b"".join(head) if size <= limit else None]


def _bounded(lines: List[bytes], limit: int) -> List[Optional[bytes]]:
    """`lines`, each longer than `limit` replaced by None."""
    if max(map(len, lines)) <= limit:
        return lines        # type: ignore[return-value]
    return [line if len(line) <= limit else None for line in lines]


class Tail:
    """The lines of the last `limit` bytes of an open file (a line cut by the start is left
    out): at most `limit` bytes are read however large the file is or grows while it is read
    (a planted sparse file costs no more than a real one); `cut` once more was left unread."""

    def __init__(self, handle: BinaryIO, limit: int):
        self.handle = handle
        self.limit = limit
        self.size = os.fstat(handle.fileno()).st_size
        self.cut = self.size > limit
        self.left = limit

    def lines(self) -> Iterator[bytes]:
        """Every whole line of the tail (one over LINE_LIMIT is left out)."""
        skip = self._start()
        for line in bounded_lines(self, LINE_LIMIT):
            if skip:
                skip = False
                continue
            if line is not None:
                yield line     # a line cut by the end (a file that grew) is no JSON
        if self.left == 0 and self.handle.read(1):
            self.cut = True

    def _start(self) -> bool:
        """Move to where the tail starts; whether a cut line is there to be skipped."""
        start = self.size - self.limit
        if start <= 0:
            return False
        self.handle.seek(start - 1)
        return self.handle.read(1) != b"\n"

    def read(self, size: int = -1, /) -> bytes:
        """At most `size` bytes, never past the limit."""
        data = self.handle.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data


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
        if not line or line.isspace():
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
