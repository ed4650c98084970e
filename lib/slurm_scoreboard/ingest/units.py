"""sacct's units: sizes (K/M/G/T/P, raw bytes), ReqMem (old c/n suffixes and new forms), durations.

Every parser returns a plain number or raises ValueError with a short reason; callers decide
whether a bad value skips a line. Numbers are plain ASCII decimals (no sign, exponent, ``inf`` or
``nan``); a size above :data:`MAX_BYTES` is refused rather than stored.
"""
from __future__ import annotations

import re
from typing import Optional, Tuple

from ..core.memo import Memo

_MULTIPLIERS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4, "P": 1024 ** 5}
_DECIMAL = re.compile(r"[0-9]{1,30}(?:\.[0-9]{0,30})?")
_DIGITS = re.compile(r"[0-9]{1,30}")

MAX_BYTES = 1 << 60     # 1 EiB: more memory than any job has had


def _decimal(text: str, what: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"bad {what} {text!r}")
    return float(text)


def parse_size(text: str, default_unit: str = "") -> Optional[int]:
    """Bytes from a sacct size such as ``4000K``, ``72.50M``, ``2T`` or ``123456`` (raw bytes).

    Empty text gives None. ``default_unit`` applies when the value has no suffix.
    """
    if not text:
        return None
    whole = _whole_size(text, default_unit)
    return whole if whole is not None else _parse_size(text, default_unit)


EXACT = 1 << 53         # whole numbers up to here are exact as floats (and so are their sizes)
_UNITS = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4, "P": 1024 ** 5,
          "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}


def _whole_size(text: str, default_unit: str) -> Optional[int]:
    """The fast path of :func:`parse_size`: a whole number of at most 30 ASCII digits with a
    unit letter or none, no space, at most EXACT bytes (where float and int sums agree);
    None for anything else."""
    multiplier = _UNITS.get(text[-1])
    number = text[:-1] if multiplier else text
    if multiplier is None:
        multiplier = _MULTIPLIERS.get(default_unit)
    if multiplier is None or not (number.isascii() and number.isdigit() and len(number) <= 30):
        return None
    value = int(number) * multiplier
    return value if value <= EXACT else None


def _parse_size(text: str, default_unit: str = "") -> Optional[int]:
    """:func:`parse_size`, every form."""
    text = text.strip()
    if not text:
        return None
    unit = text[-1].upper()
    if unit in _MULTIPLIERS and unit != "":
        number = text[:-1]
    else:
        unit, number = default_unit, text
    value = _decimal(number, "size") * _MULTIPLIERS[unit]
    if value > MAX_BYTES:
        raise ValueError(f"size {text!r} is beyond any real memory")
    return int(round(value))


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


reqmem_of: Memo[str, Tuple[Optional[int], str]] = Memo(parse_reqmem)    # ReqMem values repeat


def parse_duration(text: str) -> int:
    """Whole seconds from sacct's ``[D-][HH:]MM:SS[.mmm]`` (Elapsed, Timelimit...), the fraction
    dropped."""
    return int(parse_seconds(text))


def parse_seconds(text: str) -> float:
    """Seconds from sacct's ``[D-][HH:]MM:SS[.mmm]``, with the fraction (TotalCPU)."""
    text = text.strip()
    days = 0
    rest = text
    if "-" in text:
        day_part, rest = text.split("-", 1)
        if not _DIGITS.fullmatch(day_part):
            raise ValueError(f"bad duration {text!r}")
        days = int(day_part)
    parts = rest.split(":")
    if not 2 <= len(parts) <= 3:
        raise ValueError(f"bad duration {text!r}")
    if not all(_DIGITS.fullmatch(p) for p in parts[:-1]) or not _DECIMAL.fullmatch(parts[-1]):
        raise ValueError(f"bad duration {text!r}")
    numbers = [int(p) for p in parts[:-1]] + [float(parts[-1])]
    if len(numbers) == 2:
        numbers.insert(0, 0)
    hours, minutes, seconds = numbers
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def parse_count(text: str) -> Optional[int]:
    """A non-negative integer field (AllocCPUS, NNodes, ElapsedRaw); empty gives None.

    sacct abbreviates large counts with a suffix in some columns (``0.00K`` ReqNodes); those are
    accepted and rounded.
    """
    if text.isascii() and text.isdigit() and len(text) <= 30:
        return int(text)
    return _parse_count(text)


def _parse_count(text: str) -> Optional[int]:
    """:func:`parse_count`, every form."""
    text = text.strip()
    if not text:
        return None
    if _DIGITS.fullmatch(text):
        return int(text)
    unit = text[-1].upper()
    if unit in "KMGTP" and _DECIMAL.fullmatch(text[:-1]):
        return int(round(float(text[:-1]) * 1000 ** "KMGTP".index(unit) * 1000))
    raise ValueError(f"bad count {text!r}")
