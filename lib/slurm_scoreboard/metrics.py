"""What a job is worth on the boards: one vector of exact integers per job, summed everywhere.

=====================  ==========================================================================
metric                 per job
=====================  ==========================================================================
clock_seconds          elapsed x allocated CPUs (CPU-core seconds; clock_hours on the boards)
elapsed_seconds        elapsed wall seconds
gpu_clock_seconds      elapsed x allocated GPUs
gpu_elapsed_seconds    elapsed, for jobs with at least one GPU
failed_jobs            1 if it ended FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, DEADLINE
jobs                   1 if it ended and had started
=====================  ==========================================================================

Seconds are stored, never rounded; hours (``seconds / 3600``) are derived when files are written
and rounded only for display. A het job's components add up (sb-parse folds them) and count as
one job.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

from .states import is_failed

NAMES = ("clock_seconds", "elapsed_seconds", "gpu_clock_seconds", "gpu_elapsed_seconds",
         "failed_jobs", "jobs")
SIZE = len(NAMES)

# The seed's rollup fields: name in the file -> (index in the vector, divisor).
SEED_FIELDS = {
    "total_clock_hours": (0, 3600),
    "total_elapsed_hours": (1, 3600),
    "total_gpu_clock_hours": (2, 3600),
    "gpu_elapsed_hours": (3, 3600),
    "count_failed_jobs": (4, 1),
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
        1 if is_failed(record["state"]) else 0,
        1 if record["start"] else 0,
    ]


def add_into(total: Vector, delta: Sequence[int]) -> None:
    for index in range(SIZE):
        total[index] += delta[index]


def is_zero(vector: Sequence[int]) -> bool:
    return not any(vector)


def named(vector: Sequence[int]) -> Dict[str, int]:
    return dict(zip(NAMES, vector))


def from_named(values: Dict[str, int]) -> Vector:
    return [int(values.get(name, 0)) for name in NAMES]


def seed_fields(vector: Sequence[int]) -> Dict[str, float]:
    """The seed schema's hour and count fields, derived from the exact vector."""
    return {name: (vector[index] / divisor if divisor != 1 else vector[index])
            for name, (index, divisor) in SEED_FIELDS.items()}
