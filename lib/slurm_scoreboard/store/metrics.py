"""What a job is worth on the boards: one vector of exact integers per job, summed everywhere.

=====================  ==========================================================================
metric                 per job
=====================  ==========================================================================
clock_seconds          elapsed x allocated CPUs (CPU-core seconds; clock_hours on the boards)
elapsed_seconds        elapsed wall seconds
gpu_clock_seconds      elapsed x allocated GPUs
gpu_elapsed_seconds    elapsed, for jobs with at least one GPU
failed_jobs            1 if it ended FAILED, TIMEOUT or OUT_OF_MEMORY (states.FAILED: the user's
                       failures; NODE_FAIL, BOOT_FAIL and PREEMPTED are the site's doing)
jobs                   1 if it ended and had started
=====================  ==========================================================================

Seconds are stored, never rounded; hours (``seconds / 3600``) are derived when files are written
and rounded only for display. A het job's components add up (sb-parse folds them) and count as
one job.

Usage is counted on the days it happened (as sreport and XDMoD count it): :func:`day_shares`
cuts the seconds (the first :data:`TIMED` metrics) over the UTC days the job ran, in proportion
to its seconds in each day, in exact integers that add up to the whole; the counts stay on the
day it ended.
"""
from __future__ import annotations

from operator import add, sub
from typing import Dict, List, Sequence, Tuple

from ..core.times import day_of_seconds, iso_seconds
from ..ingest.states import FAILED as FAILED_STATES

NAMES = ("clock_seconds", "elapsed_seconds", "gpu_clock_seconds", "gpu_elapsed_seconds",
         "failed_jobs", "jobs")
SIZE = len(NAMES)
TIMED = 4           # the first TIMED metrics are seconds, spread over the days a job ran
DAY = 86400
# A job that ran (Elapsed) more than this much shorter than from its start to its end was
# suspended, or has a start sacct got wrong: its usage is put in the last Elapsed seconds before
# its end, so a bogus start cannot spread a job over decades of day rows.
SUSPENDED_SLACK = DAY

# Every position in the vector comes from NAMES: adding a metric moves the ones after it.
CLOCK, ELAPSED, GPU_CLOCK, GPU_ELAPSED, FAILED, JOBS = (
    NAMES.index(name) for name in ("clock_seconds", "elapsed_seconds", "gpu_clock_seconds",
                                   "gpu_elapsed_seconds", "failed_jobs", "jobs"))

# The hour and count fields of the store's files (the README's schema): name in the file ->
# (index in the vector, divisor).
HOUR_FIELDS = {
    "total_clock_hours": (CLOCK, 3600),
    "total_elapsed_hours": (ELAPSED, 3600),
    "total_gpu_clock_hours": (GPU_CLOCK, 3600),
    "gpu_elapsed_hours": (GPU_ELAPSED, 3600),
    "count_failed_jobs": (FAILED, 1),
}

Vector = List[int]


def zero() -> Vector:
    return [0] * SIZE


def of_record(record: dict) -> Vector:
    """The metric vector of one ended job record (checked by records.check)."""
    elapsed = record["elapsed_s"]
    return [
        record["cpu_seconds"],
        elapsed,
        record["gpu_seconds"],
        elapsed if record["gpus"] > 0 else 0,
        1 if record["state"] in FAILED_STATES else 0,
        1 if record["start"] else 0,
    ]


def add_into(total: Vector, delta: Sequence[int]) -> None:
    """Add `delta` into `total`, metric by metric."""
    if len(total) == SIZE == len(delta):
        total[:] = map(add, total, delta)
        return
    for index in range(SIZE):
        total[index] += delta[index]


def is_zero(vector: Sequence[int]) -> bool:
    return not any(vector)


def named(vector: Sequence[int]) -> Dict[str, int]:
    return dict(zip(NAMES, vector))


def from_named(values: Dict[str, int]) -> Vector:
    return [int(values.get(name, 0)) for name in NAMES]


def hour_fields(vector: Sequence[int]) -> Dict[str, float]:
    """The store files' hour and count fields, derived from the exact vector."""
    return {name: (vector[index] / divisor if divisor != 1 else vector[index])
            for name, (index, divisor) in HOUR_FIELDS.items()}


def span_of(record: dict) -> Tuple[int, int]:
    """The seconds since 1970 ``[first, last)`` a job's usage is spread over: from its start to
    its end, or the last Elapsed seconds before its end (see :data:`SUSPENDED_SLACK`); empty
    (first == last) when it never started."""
    last = iso_seconds(record["end"])
    if not record["start"]:
        return last, last
    first = min(iso_seconds(record["start"]), last)
    if last - first > record["elapsed_s"] + SUSPENDED_SLACK:
        first = last - record["elapsed_s"]
    return first, last


def split_seconds(values: Sequence[int], first: int, last: int) -> List[Tuple[str, List[int]]]:
    """(UTC day, share) of each day `values` were spent over ``[first, last)``, each share in
    proportion to the day's seconds, as exact integers that add up to `values` (each cut is
    floor(value x seconds so far / all seconds), so nothing drifts); days with nothing left out.
    An empty span puts everything on the day of `last`."""
    total = last - first
    if total <= 0:
        return [(day_of_seconds(last), list(values))] if any(values) else []
    first_day, last_day = first // DAY, (last - 1) // DAY
    if first_day == last_day:       # one day: all of it
        return [(day_of_seconds(first), list(values))] if any(values) else []
    before = [value * ((first_day + 1) * DAY - first) // total for value in values]
    shares = [(day_of_seconds(first), before)] if any(before) else []
    for day in range(first_day + 1, last_day):
        upto = [value * ((day + 1) * DAY - first) // total for value in values]
        share = list(map(sub, upto, before))
        if any(share):
            shares.append((day_of_seconds(day * DAY), share))
        before = upto
    share = list(map(sub, values, before))
    if any(share):
        shares.append((day_of_seconds(last_day * DAY), share))
    return shares


def day_shares(record: dict) -> List[Tuple[str, Vector]]:
    """The vector of one ended job record cut into (UTC day, vector), oldest day first: its
    seconds over the days it ran, its counts on the day it ended. They add up to
    :func:`of_record` exactly; days with nothing are left out."""
    return shares_of(record, of_record(record))


def shares_of(record: dict, vector: Vector) -> List[Tuple[str, Vector]]:
    """:func:`day_shares` of a record whose :func:`of_record` vector is known (each share a
    new list). A job that started on the day it ended, before hour 24, or never started, is
    all on that day: told from the texts alone (what :func:`spread_shares` gives it too)."""
    end, start = record["end"], record["start"]
    if end[11:13] < "24" and (not start or start[:10] == end[:10] and start <= end):
        return [(end[:10], list(vector))] if any(vector) else []
    return spread_shares(record, vector)


def spread_shares(record: dict, vector: Vector) -> List[Tuple[str, Vector]]:
    """:func:`shares_of` worked out from the job's span in seconds, whatever its days."""
    first, last = span_of(record)
    if first // DAY == last // DAY:         # all of it on one day: the one it ended
        day = day_of_seconds(last)
        if day == record["end"][:10]:
            return [(day, list(vector))] if any(vector) else []
    shares = split_seconds(vector[:TIMED] + _NO_COUNTS, first, last)    # counts come after
    counts = vector[TIMED:]
    if not any(counts):
        return shares
    end_day = record["end"][:10]
    if shares and shares[-1][0] == end_day:             # the counts join the last day's share
        shares[-1][1][TIMED:] = counts
    elif not shares or shares[-1][0] < end_day:         # or follow it
        shares.append((end_day, [0] * TIMED + counts))
    else:                                               # an hour past 23 (checks allow 29)
        days = dict(shares)
        days.setdefault(end_day, zero())[TIMED:] = counts
        shares = sorted(days.items())
    return shares


_NO_COUNTS = [0] * (SIZE - TIMED)


# Board metric -> (index in the metric vector, divisor turning it into the shown unit).
METRICS: Dict[str, Tuple[int, int]] = {
    "clock_hours": (CLOCK, 3600), "elapsed_hours": (ELAPSED, 3600),
    "gpu_clock_hours": (GPU_CLOCK, 3600), "gpu_elapsed_hours": (GPU_ELAPSED, 3600),
    "failed_jobs": (FAILED, 1), "jobs": (JOBS, 1)}

LARGEST = (1 << 63) - 1    # what a board shows at most (sums of crafted stores can pass it)


def metric_value(vector: Sequence[int], metric: str) -> float:
    index, divisor = METRICS[metric]
    return vector[index] / divisor if divisor != 1 else min(vector[index], LARGEST)
