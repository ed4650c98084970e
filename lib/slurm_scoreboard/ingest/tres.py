"""Trackable RESources strings (AllocTRES, ReqTRES, TRESUsageInAve):
``cpu=4,mem=16G,node=1,gres/gpu=2``."""
from __future__ import annotations

from typing import Dict, Optional

from ..core.memo import Memo
from .units import parse_size


def parse_tres(text: str) -> Dict[str, str]:
    """Name to raw value; empty text gives an empty dict. Malformed items raise ValueError."""
    result: Dict[str, str] = {}
    if not text:
        return result
    for item in text.split(","):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"bad TRES item {item!r}")
        result[name] = value
    return result


def gpu_count(tres: Dict[str, str]) -> int:
    """GPUs of an allocation, each counted once.

    The untyped ``gres/gpu=N`` is the total; typed ``gres/gpu:TYPE=N`` entries break it down
    and are only summed when the untyped entry is absent. ``gres/gpumem``/``gres/gpuutil`` are
    not GPUs.
    """
    if "gres/gpu" in tres:
        return _int_value(tres["gres/gpu"])
    return sum(_int_value(v) for k, v in tres.items() if k.startswith("gres/gpu:"))


def memory_bytes(tres: Dict[str, str]) -> Optional[int]:
    """The ``mem`` entry in bytes (sacct prints it with a unit, megabytes when it has none)."""
    value = tres.get("mem")
    if value is None:
        return None
    return parse_size(value, default_unit="M")


def allocated_gpus(text: str) -> int:
    """:func:`gpu_count` of an AllocTRES text."""
    return gpu_count(parse_tres(text))


def allocated_memory(text: str) -> Optional[int]:
    """:func:`memory_bytes` of an AllocTRES text."""
    return memory_bytes(parse_tres(text))


# a site's jobs share a few AllocTRES texts: each is read once
gpus_of: Memo[str, int] = Memo(allocated_gpus)
memory_of: Memo[str, Optional[int]] = Memo(allocated_memory)


def gpu_utilisation(tres: Dict[str, str]) -> Optional[int]:
    """``gres/gpuutil`` of a usage string (TRESUsageInAve): percent of one GPU, summed over the
    GPUs the tasks used (4 busy GPUs read 400); None when the site's SLURM records none."""
    value = tres.get("gres/gpuutil")
    if value is None or value == "":
        return None
    return _int_value(value)


def _int_value(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ValueError(f"bad TRES count {text!r}")
    return int(text)
