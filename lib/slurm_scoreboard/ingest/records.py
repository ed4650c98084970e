"""Job records: the NDJSON objects sb-parse writes and every later tool reads.

One record per job allocation. Step lines (``.batch``, ``.extern``, ``.0``, ``.interactive``)
fold into their job; the components of a heterogeneous job (``123+0``, ``123+1``) fold into
one record for job ``123`` whose resources add up. Array tasks (``123_4``) are jobs of their own.

Schema (every key always present; ``null`` where the input does not say):

=================  ========  =====================================================================
key                type      meaning
=================  ========  =====================================================================
cluster            str       Cluster column, else sb-parse's ``--cluster``, else ``""``
job_id             str       job id without step: ``123``, ``123_4``, ``123_[1-5%2]``, ``123``
                             for a het job
job_id_raw         str|null  JobIDRaw of the job (the leader's for a het job)
key                str       dedupe key: ``<job_id>@<submit>`` (start when the input has no
                             Submit, end when it has neither); the same job gives the same
                             key at every poll, a reused job id a different one. The same job
                             read through layouts with different time columns gets different
                             keys: import one month in one layout
user               str       User
account            str       Account (the group charged), ``""`` when the input has none
state              str       base state (``CANCELLED by 42`` -> ``CANCELLED``)
terminal           bool      the job has ended (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...)
submit             str|null  ISO-8601 UTC (``2025-08-01T12:00:00Z``)
start              str|null  ISO-8601 UTC, null when the job never started
end                str|null  ISO-8601 UTC, null while the job has not ended
elapsed_s          int       wall seconds (ElapsedRaw, else Elapsed, else end - start)
cpus               int       allocated CPUs (AllocCPUS, else NCPUS; summed over het components)
nodes              int       allocated nodes (NNodes)
gpus               int       allocated GPUs (AllocTRES ``gres/gpu=N``, else the sum of typed
                             ``gres/gpu:T=N``)
mem_bytes          int|null  allocated memory (AllocTRES ``mem=``, else ReqMem resolved)
max_rss_bytes      int|null  peak MaxRSS over the job's steps, when step lines were read
cpu_seconds        int       sum over components of elapsed x CPUs
gpu_seconds        int       sum over components of elapsed x GPUs
cpu_used_s         int       only when the input has TotalCPU and the job's step lines: the CPU
                             time its steps used (the job line's TotalCPU, which sacct sums
                             over the steps, or the steps' own sum); absent otherwise (``sacct
                             -X`` prints 0 there), and when it passes the CPU time allocated
                             by more than :data:`CPU_USED_SLACK` (not a measure to trust)
gpu_util           int       only for a job with GPUs whose step lines carry TRESUsageInAve
                             ``gres/gpuutil`` (sites whose SLURM gathers GPU usage): the steps'
                             utilisation x their elapsed, summed, over the job's GPUs x its
                             elapsed, percent 0..100 (sacct sums it over the GPUs a step used;
                             a short busy step cannot make a long idle job look busy); absent
                             otherwise
=================  ========  =====================================================================

Nothing else from sacct is kept: no job names, scripts, paths or command lines. A record
without ``cpu_used_s`` or ``gpu_util`` is a record of the schema (the only keys that may be
absent).

Every tool checks each record it reads or writes once, with :func:`check`: every key present with
its type, integers (never booleans or floats) from 0 to the bounds below, ``cpu_seconds`` at most
``elapsed_s x cpus`` (and the same for GPUs), a known state that agrees with ``terminal``,
times that are real UTC instants from 1970 to a day past "now", and, for an ended job, times
that agree (submitted before it started, started before it ended, no longer elapsed than
between them; an hour of slack). A record that fails is skipped with the reason, never stored.

=================  =====================================================================
bound              value
=================  =====================================================================
elapsed_s          ten years (316,224,000 s)
cpus               16,777,216 (2^24)
nodes, gpus        1,048,576 (2^20)
mem_bytes,         1 EiB (2^60)
max_rss_bytes
text fields        200 characters
=================  =====================================================================
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import partial
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, cast

from ..core.memo import Memo
from ..core.names import check_name
from ..core.times import from_iso, iso_seconds, parse_sacct_time, to_iso
from ..errors import SkipRecord
from . import states, tres, units
from .fields import FREE_TEXT

_JOB_ID = re.compile(
    r"^(?P<base>\d+)(?P<array>_(?:\d+|\[[^\]]*\]))?(?:\+(?P<het>\d+))?(?:\.(?P<step>.+))?$")


# Reasons that come from the input's columns, not from one job: reported once, counted each time.
COLUMN_REASONS = frozenset({"no User column", "no End column"})


class JobId(NamedTuple):
    job: str        # the id a record carries: base plus array part
    het: Optional[int]
    step: Optional[str]


def parse_job_id(text: str) -> JobId:
    """The job, het component and step of a JobID (``123``, ``123_4+1.batch``); ValueError if
    it is none."""
    base, dot, step = text.partition(".")
    if base.isascii() and base.isdigit():       # the usual 123 and 123.batch, at once
        if not dot:
            return _job_id((base, None, None))
        if step and step.isascii() and step.isalnum():
            return _job_id((base, None, step))
    return _parse_job_id(text)


_job_id = partial(tuple.__new__, JobId)     # a JobId made without its Python-level __new__


def _parse_job_id(text: str) -> JobId:
    """:func:`parse_job_id`, every form."""
    match = _JOB_ID.match(text.strip())
    if not match:
        raise ValueError(f"bad JobID {text!r}")
    het = match.group("het")
    return JobId(match.group("base") + (match.group("array") or ""),
                 int(het) if het is not None else None, match.group("step"))


class Columns:
    """Positions of the columns records are built from; -1 where the input lacks one."""

    NAMES = ("jobid", "jobidraw", "cluster", "user", "account", "state", "elapsedraw", "elapsed",
             "alloccpus", "ncpus", "nnodes", "allocnodes", "reqmem", "alloctres", "submit",
             "start", "end", "maxrss", "totalcpu", "tresusageinave")
    # one position for each of NAMES, set in __init__
    jobid: int
    jobidraw: int
    cluster: int
    user: int
    account: int
    state: int
    elapsedraw: int
    elapsed: int
    alloccpus: int
    ncpus: int
    nnodes: int
    allocnodes: int
    reqmem: int
    alloctres: int
    submit: int
    start: int
    end: int
    maxrss: int
    totalcpu: int
    tresusageinave: int

    def __init__(self, names: Sequence[str], zone=None):
        self.names = list(names)
        self.zone = zone                # the zone naive stamps are in (None: UTC)
        self.count = len(names)
        position: Dict[str, int] = {}
        for index, name in enumerate(names):
            position.setdefault(name, index)
        for name in self.NAMES:
            setattr(self, name, position.get(name, -1))
        if self.alloccpus < 0:
            self.alloccpus = self.ncpus
        if self.nnodes < 0:
            self.nnodes = self.allocnodes
        if self.jobid < 0:
            self.jobid = self.jobidraw
        self.last_is_free_text = bool(names) and names[-1] in FREE_TEXT

    def missing_job_id(self) -> bool:
        return self.jobid < 0


def _get(row: Sequence[str], index: int) -> str:
    return row[index] if index >= 0 else ""


def _time(row: Sequence[str], index: int, column: str, zone=None) -> Optional[str]:
    try:
        return parse_sacct_time(row[index] if index >= 0 else "", zone)
    except ValueError as err:
        raise SkipRecord(f"bad {column}", str(err)) from None


def _count(row: Sequence[str], index: int, column: str) -> Optional[int]:
    try:
        return units.parse_count(row[index] if index >= 0 else "")
    except ValueError as err:
        raise SkipRecord(f"bad {column}", str(err)) from None


def _elapsed(row: Sequence[str], cols: Columns, start: Optional[str], end: Optional[str]) -> int:
    raw = _count(row, cols.elapsedraw, "ElapsedRaw")
    if raw is not None:
        return raw
    text = _get(row, cols.elapsed)
    if text:
        try:
            return units.parse_duration(text)
        except ValueError as err:
            raise SkipRecord("bad Elapsed", str(err)) from None
    if start and end:
        return max(0, int((from_iso(end) - from_iso(start)).total_seconds()))
    return 0


def used_cpu(row: Sequence[str], cols: Columns) -> Optional[float]:
    """TotalCPU of one line in seconds, with sacct's milliseconds (None when the input has no
    such column or the field is empty)."""
    text = _get(row, cols.totalcpu)
    if not text:
        return None
    try:
        return units.parse_seconds(text)
    except ValueError as err:
        raise SkipRecord("bad TotalCPU", str(err)) from None


def peak_rss(row: Sequence[str], cols: Columns) -> Optional[int]:
    """MaxRSS of one line in bytes (None when empty)."""
    try:
        return units.parse_size(_get(row, cols.maxrss))
    except ValueError as err:
        raise SkipRecord("bad MaxRSS", str(err)) from None


def step_gpu_busy(row: Sequence[str], cols: Columns) -> Optional[int]:
    """A step line's TRESUsageInAve ``gres/gpuutil`` times the step's elapsed seconds: its
    GPU-percent-seconds (None when SLURM recorded no utilisation)."""
    text = _get(row, cols.tresusageinave)
    if not text:
        return None
    try:
        util = tres.gpu_utilisation(tres.parse_tres(text))
    except ValueError as err:
        raise SkipRecord("bad TRESUsageInAve", str(err)) from None
    if util is None:
        return None
    start = _time(row, cols.start, "Start", cols.zone)
    return util * _elapsed(row, cols, start, _time(row, cols.end, "End", cols.zone))


def _memory(row: Sequence[str], cols: Columns, alloc: str, cpus: int,
            nodes: int) -> Optional[int]:
    """AllocTRES's memory, else ReqMem's (per CPU or node when it says so)."""
    try:
        memory = tres.memory_of[alloc]
        if memory is not None:
            return memory
        amount, scope = units.reqmem_of[row[cols.reqmem] if cols.reqmem >= 0 else ""]
    except ValueError as err:
        raise SkipRecord("bad memory", str(err)) from None
    if amount is None:
        return None
    if scope == "cpu":
        return amount * max(cpus, 1)
    if scope == "node":
        return amount * max(nodes, 1)
    return amount


class _Component(NamedTuple):
    elapsed: int
    cpus: int
    nodes: int
    gpus: int
    mem: Optional[int]


def _component(row: Sequence[str], cols: Columns, start: Optional[str],
               end: Optional[str]) -> _Component:
    cpus = _count(row, cols.alloccpus, "AllocCPUS") or 0
    nodes = _count(row, cols.nnodes, "NNodes") or 0
    alloc = row[cols.alloctres] if cols.alloctres >= 0 else ""
    try:
        gpus = tres.gpus_of[alloc]
    except ValueError as err:
        raise SkipRecord("bad AllocTRES", str(err)) from None
    return _Component(_elapsed(row, cols, start, end), cpus, nodes, gpus,
                      _memory(row, cols, alloc, cpus, nodes))


CPU_USED_SLACK = 1.05      # TotalCPU over 105% of the allocated CPU time (+ a minute) is noise


def fold_job(job: str, allocations: List[Sequence[str]], step_peak: Optional[int],
             cols: Columns, default_cluster: str, step_cpu: Optional[float] = None,
             step_gpu: Optional[int] = None) -> dict:
    """The record of one job from its allocation lines (one, or one per het component), the
    peak MaxRSS of its step lines, the sum of their TotalCPU and of their GPU-percent-seconds
    (:func:`step_gpu_busy`; None when no step line had one)."""
    if not allocations:
        raise SkipRecord("step lines without their job line")
    leader = allocations[0]
    user = _user_of(leader, cols)
    state = _state_of(leader, cols)
    terminal = state in states.TERMINAL
    zone = cols.zone
    submit = _time(leader, cols.submit, "Submit", zone)
    start = _time(leader, cols.start, "Start", zone)
    end = _time(leader, cols.end, "End", zone)
    if terminal and end is None:
        raise SkipRecord("no End column" if cols.end < 0 else "missing End")
    if len(allocations) == 1:           # no het components: the job line's own
        elapsed, cpus, nodes, gpus, memory = _component(leader, cols, start, end)
        cpu_seconds, gpu_seconds = elapsed * cpus, elapsed * gpus
    else:
        elapsed, cpus, nodes, gpus, cpu_seconds, gpu_seconds, memory = _summed(
            [_component(leader, cols, start, end)]
            + [_component(row, cols, _time(row, cols.start, "Start", zone),
                          _time(row, cols.end, "End", zone)) for row in allocations[1:]])
    peak = _peak_of(allocations, cols, step_peak) if cols.maxrss >= 0 else step_peak
    record = {
        "cluster": (leader[cols.cluster] if cols.cluster >= 0 else "") or default_cluster,
        "job_id": job,
        "job_id_raw": (leader[cols.jobidraw] if cols.jobidraw >= 0 else "") or None,
        "key": f"{job}@{submit or start or end or ''}",
        "user": user,
        "account": leader[cols.account] if cols.account >= 0 else "",
        "state": state,
        "terminal": terminal,
        "submit": submit,
        "start": start,
        "end": end,
        "elapsed_s": elapsed,
        "cpus": cpus,
        "nodes": nodes,
        "gpus": gpus,
        "mem_bytes": memory,
        "max_rss_bytes": peak,
        "cpu_seconds": cpu_seconds,
        "gpu_seconds": gpu_seconds,
    }
    used = _cpu_used(allocations, cols, step_cpu) if step_cpu is not None else None
    if used is not None and used <= cpu_seconds * CPU_USED_SLACK + 60:
        record["cpu_used_s"] = used
    if step_gpu is not None and gpus > 0 and elapsed > 0:
        record["gpu_util"] = min(100, round(step_gpu / (gpus * elapsed)))
    return record


def _user_of(leader: Sequence[str], cols: Columns) -> str:
    if cols.user < 0:
        raise SkipRecord("no User column")
    user = leader[cols.user]
    if not user:
        raise SkipRecord("missing User")
    return user


def _state_of(leader: Sequence[str], cols: Columns) -> str:
    state_text = leader[cols.state] if cols.state >= 0 else ""
    try:
        return states.state_of[state_text]
    except ValueError:
        raise SkipRecord("unknown state", repr(state_text)) from None


def _summed(components) -> Tuple[int, int, int, int, int, int, Optional[int]]:
    """A job's elapsed (its longest component), CPUs, nodes, GPUs, CPU and GPU seconds and
    memory (None when no component gave one) over its het components."""
    elapsed = cpus = nodes = gpus = cpu_seconds = gpu_seconds = 0
    memory: Optional[int] = None
    for part in components:
        elapsed = max(elapsed, part.elapsed)
        cpus += part.cpus
        nodes += part.nodes
        gpus += part.gpus
        cpu_seconds += part.elapsed * part.cpus
        gpu_seconds += part.elapsed * part.gpus
        if part.mem is not None:
            memory = part.mem + (memory or 0)
    return elapsed, cpus, nodes, gpus, cpu_seconds, gpu_seconds, memory


def _peak_of(allocations: List[Sequence[str]], cols: Columns,
             step_peak: Optional[int]) -> Optional[int]:
    """The highest MaxRSS of the job lines and its steps' peak."""
    peak = step_peak
    if cols.maxrss >= 0:
        for row in allocations:
            rss = peak_rss(row, cols)
            if rss is not None and (peak is None or rss > peak):
                peak = rss
    return peak


def _cpu_used(allocations: List[Sequence[str]], cols: Columns,
              step_cpu: Optional[float]) -> Optional[int]:
    """CPU time the job's steps used: the job lines' TotalCPU (sacct's sum over the steps) or
    the steps' own sum, whichever is larger; None without step lines (-X prints 0)."""
    if step_cpu is None:
        return None
    total = 0.0
    for row in allocations:
        try:
            total += used_cpu(row, cols) or 0
        except SkipRecord:
            return None         # an unreadable TotalCPU: the measure is unknown, the job kept
    return round(max(total, step_cpu))


MAX_ELAPSED = 10 * 366 * 86400
MAX_CPUS = 1 << 24
MAX_NODES = MAX_GPUS = 1 << 20
MAX_BYTES = units.MAX_BYTES
MAX_TEXT = 200
EARLIEST = "1970-01-01T00:00:00Z"
FUTURE_SLACK = timedelta(days=1)
SLACK = 3600             # seconds two clocks or a rounding may disagree by

_SIZES = ("mem_bytes", "max_rss_bytes")
_TEXTS = ("cluster", "job_id", "key", "user", "account", "state")
_ISO = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z")


def latest_time(now: datetime) -> str:
    """The latest instant a record may carry: a day past `now` (clocks drift, jobs do not end
    in the future)."""
    return to_iso(now + FUTURE_SLACK)


def _whole(record: dict, key: str, bound: int) -> int:
    value = record.get(key)
    if type(value) is not int:
        raise SkipRecord("bad record", f"{key} is not an integer")
    if not 0 <= value <= bound:
        raise SkipRecord("out of range", f"{key} {value} is not between 0 and {bound}")
    return value


def _instant(record: dict, key: str, latest: str) -> Optional[int]:
    """The instant's seconds since 1970 (None when absent); SkipRecord unless a real UTC time
    between 1970 and `latest`."""
    value = record.get(key)
    if value is None:
        return None
    if type(value) is not str or not _ISO.fullmatch(value):
        raise SkipRecord("bad record", f"{key} is not a UTC time")
    try:
        seconds = iso_seconds(value)
    except ValueError:
        raise SkipRecord("bad record", f"{key} {value} is not a real date") from None
    if not EARLIEST <= value <= latest:
        raise SkipRecord("out of range", f"{key} {value} is not between 1970 and {latest}")
    return seconds


def _consistent(record: dict, elapsed: int, submit: Optional[int], start: Optional[int],
                end: int) -> None:
    """An ended job's times and elapsed time agree (within SLACK, for clocks and rounding): it
    was submitted before it started and started before it ended, and it ran no longer than from
    its start to its end."""
    if start is None:
        return
    ran = end - start
    if ran < -SLACK or elapsed > ran + SLACK:
        raise SkipRecord("inconsistent", f"elapsed {elapsed} s does not fit between its start "
                                         f"{record['start']} and end {record['end']}")
    if submit is not None and start < submit - SLACK:
        raise SkipRecord("inconsistent", f"started {record['start']} before it was submitted "
                                         f"{record['submit']}")


def check(record: object, latest: str) -> dict:
    """`record` when it is a job record of the schema with every value in bounds; SkipRecord
    otherwise (a record that plainly passes is vouched for in one pass; any other is checked
    step by step, so it gets the first reason found)."""
    if _plainly_valid(record, latest):
        return cast(dict, record)
    return _check_fully(record, latest)


def _check_fully(record: object, latest: str) -> dict:
    """:func:`check` step by step, raising the first reason found."""
    job = _check_texts(record)
    _check_values(job, latest)
    return job


def _check_values(record: dict, latest: str) -> None:
    """SkipRecord unless the record's states, times and numbers agree and are in bounds."""
    state, terminal = record["state"], record.get("terminal")
    if not states.is_known(state) or terminal is not states.is_terminal(state):
        raise SkipRecord("bad record", "state and terminal disagree")
    submit = _instant(record, "submit", latest)
    start = _instant(record, "start", latest)
    end = _instant(record, "end", latest)
    if terminal and end is None:
        raise SkipRecord("bad record", "an ended job without an end time")
    elapsed = _whole(record, "elapsed_s", MAX_ELAPSED)
    cpus = _whole(record, "cpus", MAX_CPUS)
    _whole(record, "nodes", MAX_NODES)
    gpus = _whole(record, "gpus", MAX_GPUS)
    if terminal and end is not None:      # an ended job has an end (checked above)
        _consistent(record, elapsed, submit, start, end)
    for key in _SIZES:
        if record.get(key) is not None:
            _whole(record, key, MAX_BYTES)
    _check_seconds(record, elapsed, cpus, gpus)


# -- the fast path: one pass over a record that passes; anything else is left to _check_fully,
# so a record it does not vouch for gets the same reason as before

def _hour_start(prefix: str) -> Optional[int]:
    """Seconds since 1970 of the ``YYYY-MM-DDTHH`` hour that starts a time :data:`_ISO`
    allows, on a real day (None if not)."""
    stamp = prefix + ":00:00Z"
    if not _ISO.fullmatch(stamp):
        return None
    try:
        return iso_seconds(stamp)
    except ValueError:
        return None


_CLOCK_END = re.compile(r":[0-5][0-9]:[0-5][0-9]Z")     # what _ISO allows after the hour


def _into_hour(suffix: str) -> Optional[int]:
    """Seconds into its hour of the ``:MM:SSZ`` that ends a time :data:`_ISO` allows."""
    if not _CLOCK_END.fullmatch(suffix):
        return None
    return int(suffix[1:3]) * 60 + int(suffix[4:6])


# the hours and the minutes-seconds of record times repeat: each is read once
_hour_starts: Memo[str, Optional[int]] = Memo(_hour_start, 1 << 14)
_into_hours: Memo[str, Optional[int]] = Memo(_into_hour)


def _seconds_of(value, latest: str) -> Optional[int]:
    """The seconds since 1970 of a time that plainly passes :func:`_instant` (its hour and
    its minutes and seconds, the values that repeat, each read once); None for anything else
    (an absent time included: the caller tells them apart)."""
    if type(value) is not str or len(value) != 20 or not EARLIEST <= value <= latest:
        return None
    hour = _hour_starts[value[:13]]
    rest = _into_hours[value[13:]]
    return None if hour is None or rest is None else hour + rest


def _texts_plainly_valid(record: dict) -> bool:
    for key in _TEXTS:
        value = record.get(key)
        if type(value) is not str or len(value) > MAX_TEXT:
            return False
    raw = record.get("job_id_raw")
    return bool(record["job_id"] and record["key"]) and (
        raw is None or type(raw) is str and len(raw) <= MAX_TEXT)


def _times_plainly_valid(record: dict, latest: str, terminal: bool, elapsed: int) -> bool:
    """The times are real, in range, and (for an ended job) agree with each other and the
    elapsed time."""
    submit, start, end = record.get("submit"), record.get("start"), record.get("end")
    submitted = _seconds_of(submit, latest)
    started = _seconds_of(start, latest)
    ended = _seconds_of(end, latest)
    if (submitted is None and submit is not None) or (started is None and start is not None) \
            or (ended is None and (end is not None or terminal)):
        return False
    if not terminal or started is None or ended is None:
        return True
    return -SLACK <= ended - started and elapsed <= ended - started + SLACK and (
        submitted is None or started >= submitted - SLACK)


def _counts_plainly_valid(record: dict) -> bool:
    """elapsed, CPUs, nodes, GPUs, sizes and seconds: integers within their bounds."""
    get = record.get
    elapsed, cpus, gpus, cpu_seconds, gpu_seconds = (
        get("elapsed_s"), get("cpus"), get("gpus"), get("cpu_seconds"), get("gpu_seconds"))
    nodes, memory, peak = get("nodes"), get("mem_bytes"), get("max_rss_bytes")
    if not (type(elapsed) is int and type(cpus) is int and type(gpus) is int
            and type(nodes) is int and type(cpu_seconds) is int and type(gpu_seconds) is int
            and (memory is None or type(memory) is int)
            and (peak is None or type(peak) is int)):
        return False
    return (0 <= elapsed <= MAX_ELAPSED and 0 <= cpus <= MAX_CPUS and 0 <= nodes <= MAX_NODES
            and 0 <= gpus <= MAX_GPUS and 0 <= cpu_seconds <= elapsed * cpus
            and 0 <= gpu_seconds <= elapsed * gpus
            and (memory is None or 0 <= memory <= MAX_BYTES)
            and (peak is None or 0 <= peak <= MAX_BYTES))


def _measures_plainly_valid(record: dict) -> bool:
    """The optional measured CPU time and GPU use within the allocation."""
    if "cpu_used_s" in record:
        used = record["cpu_used_s"]
        if type(used) is not int or not 0 <= used <= int(
                record["cpu_seconds"] * CPU_USED_SLACK) + 60:
            return False
    if "gpu_util" in record:
        util = record["gpu_util"]
        return type(util) is int and 0 <= util <= (100 if record["gpus"] else 0)
    return True


def _plainly_valid(record, latest: str) -> bool:
    """Whether :func:`check` passes `record` (False: let :func:`_check_fully` decide, and
    name the reason)."""
    if type(record) is not dict or not _texts_plainly_valid(record):
        return False
    state, terminal = record["state"], record.get("terminal")
    if not states.is_known(state) or terminal is not states.is_terminal(state) \
            or not _counts_plainly_valid(record):
        return False
    return _times_plainly_valid(record, latest, terminal, record["elapsed_s"]) and (
        ("cpu_used_s" not in record and "gpu_util" not in record)
        or _measures_plainly_valid(record))


def _check_texts(record: object) -> dict:
    """`record` when it is an object whose text fields are text; SkipRecord otherwise."""
    if type(record) is not dict:
        raise SkipRecord("not a record", "expected a JSON object")
    for key in _TEXTS:
        value = record.get(key)
        if type(value) is not str or len(value) > MAX_TEXT:
            raise SkipRecord("bad record", f"{key} is not text")
    if not record["job_id"] or not record["key"]:
        raise SkipRecord("bad record", "empty job_id or key")
    raw = record.get("job_id_raw")
    if raw is not None and (type(raw) is not str or len(raw) > MAX_TEXT):
        raise SkipRecord("bad record", "job_id_raw is not text")
    return record


def _check_seconds(record: dict, elapsed: int, cpus: int, gpus: int) -> None:
    """The CPU and GPU seconds (and the measured CPU time and GPU use) within the allocation."""
    cpu_seconds = _whole(record, "cpu_seconds", elapsed * cpus)
    _whole(record, "gpu_seconds", elapsed * gpus)
    if "cpu_used_s" in record:
        _whole(record, "cpu_used_s", int(cpu_seconds * CPU_USED_SLACK) + 60)
    if "gpu_util" in record:
        _whole(record, "gpu_util", 100 if gpus else 0)


class Placement(NamedTuple):
    """Where an ended job record lands in the store."""
    cluster: str
    key: str
    month: str      # YYYY-MM of its end (UTC)
    day: str        # YYYY-MM-DD of its end


def placement(record: dict, cluster_flag: Optional[str]) -> Placement:
    """Where an ended record (already passed by :func:`check`) belongs; SkipRecord if nowhere.

    The record's own cluster wins; `cluster_flag` fills it when empty, and a record of another
    cluster than the flag's is refused.
    """
    cluster = record["cluster"] or cluster_flag or ""
    if not cluster:
        raise SkipRecord("no cluster", "give --cluster or a Cluster column")
    if cluster_flag and cluster != cluster_flag:
        raise SkipRecord("other cluster", f"{cluster!r} is not {cluster_flag!r}")
    try:
        _plain_clusters[cluster]
    except ValueError as err:
        raise SkipRecord("bad cluster name", str(err)) from None
    end = record["end"]
    return _placed((cluster, record["key"], end[:7], end[:10]))


_placed = partial(tuple.__new__, Placement)     # without its Python-level __new__
_plain_clusters: Memo[str, str] = Memo(lambda name: check_name("cluster", name), 64)
