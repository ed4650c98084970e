"""sacct's units: sizes (K/M/G/T/P, raw bytes), ReqMem (old c/n suffixes and new forms), durations.

Every parser returns a plain number or raises ValueError with a short reason; callers decide
whether a bad value skips a line.
"""
from __future__ import annotations

from typing import Optional, Tuple

_MULTIPLIERS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4, "P": 1024 ** 5}


def parse_size(text: str, default_unit: str = "") -> Optional[int]:
    """Bytes from a sacct size such as ``4000K``, ``72.50M``, ``2T`` or ``123456`` (raw bytes).

    Empty text gives None. ``default_unit`` applies when the value has no suffix.
    """
    text = text.strip()
    if not text:
        return None
    unit = text[-1].upper()
    if unit in _MULTIPLIERS and unit != "":
        number = text[:-1]
    else:
        unit, number = default_unit, text
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"bad size {text!r}") from None
    if value < 0 or value != value:
        raise ValueError(f"bad size {text!r}")
    return int(round(value * _MULTIPLIERS[unit]))


def parse_reqmem(text: str) -> Tuple[Optional[int], str]:
    """(bytes, scope) from ReqMem; scope is 'cpu' (old ``c``), 'node' (old ``n``) or 'job'.

    Before Slurm 21.08 ReqMem carried ``c`` (per allocated CPU) or ``n`` (per node); since then it
    is printed without a suffix. Numbers without a unit are megabytes, as sbatch's ``--mem``.
    """
    text = text.strip()
    if not text:
        return None, "job"
    scope = "job"
    last = text[-1]
    if last in "cn":
        scope = "cpu" if last == "c" else "node"
        text = text[:-1]
    return parse_size(text, default_unit="M"), scope


def parse_duration(text: str) -> int:
    """Seconds from sacct's ``[D-][HH:]MM:SS[.mmm]`` (Elapsed, TotalCPU, Timelimit...)."""
    text = text.strip()
    days = 0
    rest = text
    if "-" in text:
        day_part, rest = text.split("-", 1)
        if not day_part.isdigit():
            raise ValueError(f"bad duration {text!r}")
        days = int(day_part)
    parts = rest.split(":")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise ValueError(f"bad duration {text!r}")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"bad duration {text!r}") from None
    if any(n < 0 for n in numbers):
        raise ValueError(f"bad duration {text!r}")
    if len(numbers) == 2:
        numbers.insert(0, 0.0)
    hours, minutes, seconds = numbers
    return int(days * 86400 + hours * 3600 + minutes * 60 + seconds)


def parse_count(text: str) -> Optional[int]:
    """A non-negative integer field (AllocCPUS, NNodes, ElapsedRaw); empty gives None.

    sacct abbreviates large counts with a suffix in some columns (``0.00K`` ReqNodes); those are
    accepted and rounded.
    """
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    unit = text[-1].upper()
    if unit in "KMGTP":
        try:
            return int(round(float(text[:-1]) * 1000 ** "KMGTP".index(unit) * 1000))
        except ValueError:
            pass
    raise ValueError(f"bad count {text!r}")
