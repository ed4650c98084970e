"""sacct text to job records, one line at a time.

Reads what ``sacct -P``/``-p`` prints (any ``--delimiter``, with or without a header) and the
fixed-width table plain ``sacct`` prints. Columns come from, in order: ``fields`` given by the
caller, a header line, or the field count of sb-sacct's and version 0.1's one-liner orders. Lines of
one job arrive together (allocation, then its steps), so only the job being read is held in
memory.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Callable, Iterator, List, Optional, Sequence, Set, Tuple

from ..core import times
from ..core.ndjson import line_blocks
from ..errors import LayoutUnknown, SkipRecord
from . import fields as fieldlists
from .fields import FREE_TEXT
from .records import (
    COLUMN_REASONS,
    Columns,
    JobId,
    check,
    fold_job,
    latest_time,
    parse_job_id,
    peak_rss,
    step_gpu_busy,
    used_cpu,
)

LINE_LIMIT = 1 << 20     # 1 MiB: no sacct line is longer (a job's text columns are not kept)

# Delimiters that real sites pass to sacct --delimiter; recognised without being named.
KNOWN_DELIMITERS = ("^|^", ";|;", "\u2603")

Problem = Callable[[str, int, str], None]


class ParseStats:
    def __init__(self) -> None:
        self.lines = 0
        self.records = 0
        self.skipped: Counter = Counter()

    def summary(self) -> str:
        text = f"{self.lines} lines, {self.records} records, {sum(self.skipped.values())} skipped"
        if self.skipped:
            text += " (" + ", ".join(f"{reason}: {n}" for reason, n in
                                     sorted(self.skipped.items())) + ")"
        return text


GUESS_TRIES = 5          # lines of a layout guessed from the field count that must fit
# Fixed-width output cuts a value at its column's width and marks the cut with a "+".
TRUNCATION_FIX = ("sacct without -P cut a value at its column's width (a trailing +); run "
                  "sacct -P (or --parsable2), or widen the column in sacct -o")


class _Job:
    """The lines of the job being read."""

    __slots__ = ("job", "lineno", "allocations", "het_seen", "step_peak", "step_cpu",
                 "step_gpu", "cut")

    def __init__(self, job: str, lineno: int):
        self.job = job
        self.lineno = lineno
        self.allocations: List[Sequence[str]] = []
        self.het_seen: Set[Optional[int]] = set()
        self.step_peak: Optional[int] = None
        self.step_cpu: Optional[float] = None   # TotalCPU summed over its step lines
        self.step_gpu: Optional[int] = None     # gres/gpuutil x elapsed, summed over its steps
        self.cut = False               # one of its lines was cut by a column width


class SacctParser:
    """Feed lines; get records. Problems go to `on_problem(source, lineno, message)`."""

    def __init__(self, fields: Optional[List[str]] = None, delimiter: Optional[str] = None,
                 cluster: str = "", on_problem: Optional[Problem] = None,
                 latest: Optional[str] = None, zone=None):
        self.latest = latest or latest_time(times.now())
        self.zone = zone
        self.given_fields = fields
        self.given_delimiter = delimiter
        self.cluster = cluster
        self.on_problem = on_problem or (lambda source, lineno, message: None)
        self.stats = ParseStats()
        self._reset_source("")

    def _reset_source(self, source: str) -> None:
        self.source = source
        self.delimiter = self.given_delimiter
        self.cols: Optional[Columns] = (Columns(self.given_fields, self.zone)
                                        if self.given_fields else None)
        self.header: Optional[str] = None
        self.spans: Optional[List[Tuple[int, Optional[int]]]] = None
        self.pending_header: Optional[Tuple[str, List[str]]] = None
        self.job: Optional[_Job] = None
        self.guessed = 0               # the field count the columns were guessed from
        self.misfits = 0               # lines of a guessed layout that did not fit
        self.fitting = 0               # lines whose JobID was read
        self.truncated: Counter = Counter()
        self.cut_job: Optional[str] = None      # the job of the last line cut by a width

    # -- input -----------------------------------------------------------------------------
    def parse(self, lines, source: str) -> Iterator[dict]:
        """Records from one source: a binary stream (read with a bound on the line length) or
        any iterable of lines; read lazily."""
        self._reset_source(source)
        if hasattr(lines, "readline"):
            yield from self._parse_stream(lines)
        else:
            for lineno, raw in enumerate(lines, 1):
                record = self._feed_raw(raw, lineno)
                if record is not None:
                    yield record
        yield from self.finish()

    def _parse_stream(self, stream) -> Iterator[dict]:
        """The records of a binary stream's lines, read a block at a time."""
        lineno = 0
        for block in line_blocks(stream, LINE_LIMIT):
            for raw in block:
                lineno += 1
                if raw is None:
                    self._feed_raw(raw, lineno)
                    continue
                record = self._feed_line(raw.decode("utf-8", "replace").rstrip("\r\n"), lineno)
                if record is not None:
                    yield record

    def _feed_raw(self, raw, lineno: int) -> Optional[dict]:
        """One line as read (bytes, text, or None for a line past the limit)."""
        if raw is None:
            self.stats.lines += 1
            self.stats.skipped["line too long"] += 1
            self._problem(lineno, f"longer than {LINE_LIMIT} bytes; skipped")
            return None
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return self._feed_line(line.rstrip("\r\n"), lineno)

    def feed(self, line: str, lineno: int) -> Iterator[dict]:
        record = self._feed_line(line, lineno)
        if record is not None:
            yield record

    def _feed_line(self, line: str, lineno: int) -> Optional[dict]:
        """The record a line completes (the job before it, when it starts another), if any."""
        self.stats.lines += 1
        if self._passes_over(line):
            return None
        cols = self.cols
        if cols is None or (self.spans is None and self._is_header(line)):
            # another header: the job read so far is whole, and read in the old columns
            record = None if cols is None else self._flush()
            if self._detect_columns(line, lineno) or self.cols is None:
                return record
            cols = self.cols
        row = line.split(self.delimiter) if self.spans is None else None
        if row is None or len(row) != cols.count:       # fixed width, or a field count to fix
            row = self._split(line, lineno)
            if row is None:
                return None
        return self._add_row(row, lineno)

    def _passes_over(self, line: str) -> bool:
        """A line that holds no job: blank, a comment, the dashed rule under a plain sacct
        header (taken), or the header again (the delimiter is guessed from the first line)."""
        text = line.lstrip()
        if not text or text[0] == "#":
            return True
        if self.delimiter is None:
            self.delimiter = _guess_delimiter(line)
        if self.pending_header is not None and \
                self._take_fixed_width_rule(line, self.pending_header):
            return True
        return self.header is not None and line == self.header

    def finish(self) -> Iterator[dict]:
        self.pending_header = None
        record = self._flush()
        if record is not None:
            yield record

    def _taint(self, row: List[str]) -> None:
        """The job of a cut line is not counted at all: its other lines (a heterogeneous job's
        other components, its steps) would make a record that misses the cut part."""
        try:
            self.cut_job = parse_job_id(row[self._columns().jobid]).job
        except (ValueError, TypeError, IndexError):
            self.cut_job = None
        if self.job is not None and self.job.job == self.cut_job:
            self.job.cut = True

    def _truncated(self, lineno: int, columns: List[str]) -> None:
        """A line whose values were cut is skipped (a cut number is no number), counted, and
        explained once with the fix."""
        first = not self.truncated
        for column in columns:
            self.truncated[column] += 1
        self.stats.skipped["truncated value"] += 1
        if first:
            self._problem(lineno, f"{', '.join(columns)} cut: {TRUNCATION_FIX}"
                          f" ({columns[0]}%80 here)")

    # -- columns -------------------------------------------------------------------------------
    def _columns(self) -> Columns:
        """The columns, once known: feed reads no row before they are."""
        assert self.cols is not None
        return self.cols

    def _known_delimiter(self) -> str:
        """The delimiter, once known: feed guesses it from the first line it reads."""
        assert self.delimiter is not None
        return self.delimiter

    def _is_header(self, line: str) -> bool:
        if line[:1].isdigit():          # a job id, never a column name
            return False
        first = line.split(self.delimiter, 1)[0].strip().lower()
        return first in fieldlists.KNOWN and fieldlists.as_header(line.split(self.delimiter)) is not None

    def _detect_columns(self, line: str, lineno: int) -> bool:
        """Take columns from a header, or from the field count. True if the line was consumed."""
        delimiter = self._known_delimiter()
        names = fieldlists.as_header(line.split(delimiter))
        if names is not None:
            if self.given_fields is None:
                self.cols = Columns(names, self.zone)
            self.header = line
            return True
        if delimiter not in line:
            words = line.split()
            names = fieldlists.as_header(words)
            if names is not None and len(words) > 1:
                self.pending_header = (line, names)
                self._pending_lineno = lineno
                return True
        count = len(line.split(delimiter))
        names = fieldlists.by_count(count)
        if names is None and line.endswith(delimiter):
            count -= 1
            names = fieldlists.by_count(count)
        if names is None and self.cols is None:
            if count == 1 and re.search(r"\S {2,}\S", line.strip()):
                raise LayoutUnknown(f"{self.source}:{lineno}: this looks like plain sacct's "
                                    "fixed-width table without its header: run sacct -P (or "
                                    "--parsable2), or keep the header and its dashed line")
            raise LayoutUnknown(f"{self.source}:{lineno}: cannot tell the columns of a "
                                f"{count}-field line with no header: give --fields (the "
                                "list given to sacct -o) or --format, or keep sacct's header")
        if names is not None and self.cols is None:
            self.cols = Columns(names, self.zone)
            self.guessed = count
        return False

    def _take_fixed_width_rule(self, line: str, pending: Tuple[str, List[str]]) -> bool:
        """The dashed line under a plain sacct header (`pending`) fixes the column spans."""
        header, names = pending
        self.pending_header = None
        if set(line) <= {"-", " "} and "-" in line:
            spans: List[Tuple[int, Optional[int]]] = []
            start: Optional[int] = None
            for index, char in enumerate(line + " "):
                if char == "-" and start is None:
                    start = index
                elif char == " " and start is not None:
                    spans.append((start, index))
                    start = None
            if len(spans) == len(names):
                spans[-1] = (spans[-1][0], None)
                self.spans = spans
                if self.given_fields is None:
                    self.cols = Columns(names, self.zone)
                self.header = header
                return True
        self._problem(self._pending_lineno, "a header of names without the dashed rule below it")
        return False

    def _split(self, line: str, lineno: int) -> Optional[List[str]]:
        cols = self._columns()
        if self.spans is not None:
            if set(line) <= {"-", " "}:
                return None
            row = [line[a:b].strip() if b is not None else line[a:].strip()
                   for a, b in self.spans]
            cut = [cols.names[i] for i, value in enumerate(row)
                   if value.endswith("+") and cols.names[i] not in ("state",)
                   and cols.names[i] not in FREE_TEXT]
            if cut:
                self._truncated(lineno, cut)
                self._taint(row)
                return None
            return row
        delimiter = self._known_delimiter()
        parts = line.split(delimiter)
        expected = cols.count
        if len(parts) == expected:
            return parts
        if len(parts) == expected + 1 and parts[-1] == "":
            return parts[:-1]
        if len(parts) > expected and cols.last_is_free_text:
            return parts[:expected - 1] + [delimiter.join(parts[expected - 1:])]
        self._problem(lineno, f"expected {expected} fields, got {len(parts)}")
        self.stats.skipped["wrong field count"] += 1
        return None

    # -- jobs ------------------------------------------------------------------------------------
    def _add_row(self, row: List[str], lineno: int) -> Optional[dict]:
        """Add a split line to its job; the record of the job before it when it starts
        another."""
        cols = self._columns()
        if cols.missing_job_id():
            self._problem(lineno, "no JobID column")
            self.stats.skipped["no JobID column"] += 1
            return None
        try:
            job_id = parse_job_id(row[cols.jobid])
        except ValueError as err:
            self._problem(lineno, str(err))
            self.stats.skipped["bad JobID"] += 1
            return None
        self.fitting += 1
        job = self.job
        record = None
        if job_id.step is not None:
            if job is None or job.job != job_id.job:
                record = self._flush()
                job = self.job = self._new_job(job_id.job, lineno)
            self._add_step(job, row, lineno)
            return record
        if job is None or not _joins_het(job, job_id):
            record = self._flush()
            job = self.job = self._new_job(job_id.job, lineno)
        job.allocations.append(row)
        job.het_seen.add(job_id.het)
        return record

    def _add_step(self, job: _Job, row: List[str], lineno: int) -> None:
        """A step line's peak MaxRSS, TotalCPU and GPU-percent-seconds into its job; a value
        that cannot be read is reported and left out (the job is kept). A column the input
        lacks gives nothing."""
        cols = self.cols
        if cols is None:        # never: a line is split into columns before it gets here
            return
        rss = self._step_value(peak_rss, row, lineno) if cols.maxrss >= 0 else None
        if rss is not None and (job.step_peak is None or rss > job.step_peak):
            job.step_peak = rss
        used = self._step_value(used_cpu, row, lineno) if cols.totalcpu >= 0 else None
        if used is not None:
            job.step_cpu = (job.step_cpu or 0) + used
        busy = self._step_value(step_gpu_busy, row, lineno) if cols.tresusageinave >= 0 \
            else None
        if busy is not None:
            job.step_gpu = (job.step_gpu or 0) + busy

    def _step_value(self, read, row: List[str], lineno: int):
        try:
            return read(row, self.cols)
        except SkipRecord as err:
            self._problem(lineno, str(err))
            return None

    def _new_job(self, job: str, lineno: int) -> _Job:
        new = _Job(job, lineno)
        new.cut = job == self.cut_job
        return new

    def _flush(self) -> Optional[dict]:
        """The record of the job read so far (None when it is skipped, or there is none)."""
        job, self.job = self.job, None
        if job is None or job.cut:
            return None
        try:
            record = fold_job(job.job, job.allocations, job.step_peak, self._columns(),
                              self.cluster, job.step_cpu, job.step_gpu)
            check(record, self.latest)
        except SkipRecord as err:
            if err.reason not in COLUMN_REASONS:
                self._problem(job.lineno, f"job {job.job}: {err}")
            elif not self.stats.skipped[err.reason]:
                self._problem(job.lineno, f"{err}: every job of this input is skipped")
            self.stats.skipped[err.reason] += 1
            return None
        self.stats.records += 1
        return record

    def _problem(self, lineno: int, message: str) -> None:
        if self.guessed and not self.fitting:
            self.misfits += 1
            if self.misfits >= GUESS_TRIES:
                raise LayoutUnknown(
                    f"{self.source}: the first {GUESS_TRIES} lines do not fit the "
                    f"{self.guessed} columns guessed from their count "
                    f"({','.join(self._columns().names)}): give --fields (the list given to "
                    f"sacct -o) or keep sacct's header; last problem: line {lineno}: {message}")
        self.on_problem(self.source, lineno, message)


def _joins_het(job: _Job, job_id: JobId) -> bool:
    """Whether the allocation line of `job_id` is another het component of `job`."""
    return bool(job.job == job_id.job and job.allocations and job_id.het is not None
                and job_id.het not in job.het_seen)


def _guess_delimiter(line: str) -> str:
    for delimiter in KNOWN_DELIMITERS:
        if delimiter in line:
            return delimiter
    return "|"
