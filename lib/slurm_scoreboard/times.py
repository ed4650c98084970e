"""UTC time: sacct timestamps in, ISO-8601 with ``Z`` out, and the shared notion of "now".

sacct is run with ``TZ=UTC``, so its ``YYYY-MM-DDTHH:MM:SS`` stamps are UTC; logs made with
``SLURM_TIME_FORMAT=%s`` carry epoch seconds. ``SLURM_SB_NOW`` (or a tool's ``--now``) pins "now"
so windows are reproducible.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Optional

NOW_ENV = "SLURM_SB_NOW"
UNSET = frozenset({"", "Unknown", "None", "N/A", "NONE", "UNKNOWN", "INVALID"})


_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
_EPOCH = re.compile(r"[0-9]{1,11}")


def parse_sacct_time(text: str) -> Optional[str]:
    """ISO-8601 UTC with Z from a sacct stamp; None for Unknown/None/empty. Bad text: ValueError."""
    if text in UNSET:
        return None
    if _STAMP.fullmatch(text):
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"bad time {text!r}") from None
        return text + "Z"
    if _EPOCH.fullmatch(text):
        if int(text) == 0:
            return None
        try:
            return to_iso(datetime.fromtimestamp(int(text), tz=timezone.utc))
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"bad time {text!r}: out of range") from None
    raise ValueError(f"bad time {text!r}")


def to_iso(moment: datetime) -> str:
    """``2025-08-26T20:00:00Z`` (whole seconds, UTC)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    """Inverse of :func:`to_iso`; also accepts a bare date or a stamp without Z (taken as UTC)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1]
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def parse_moment(text: str) -> datetime:
    """A user-given time: ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM[:SS][Z]`` or ``now``, from 1970
    to 2999. ValueError if not."""
    if text.strip().lower() == "now":
        return now()
    try:
        moment = from_iso(text)
    except (ValueError, OverflowError):
        raise ValueError(f"bad time {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"bad time {text!r}: not between 1970 and 2999")
    return moment


_MONTH = re.compile(r"(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])")
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)


def parse_month(text: str) -> datetime:
    """First instant of a ``YYYY-MM`` month (1970-01 to 2999-12, two-digit month)."""
    if not _MONTH.fullmatch(text):
        raise ValueError(f"bad month {text!r}: use YYYY-MM")
    return datetime(int(text[:4]), int(text[5:]), 1, tzinfo=timezone.utc)


def next_month(moment: datetime) -> datetime:
    """First instant of the month after the one holding `moment`."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


class BadNow(ValueError):
    """$SLURM_SB_NOW holds no usable time."""


def now() -> datetime:
    """The current time, or the one pinned by $SLURM_SB_NOW (BadNow when that is unusable)."""
    pinned = os.environ.get(NOW_ENV)
    if pinned and pinned.strip().lower() != "now":
        try:
            return parse_moment(pinned)
        except ValueError as err:
            raise BadNow(f"${NOW_ENV}: {err}") from None
    return datetime.now(timezone.utc).replace(microsecond=0)


def sacct_stamp(moment: datetime) -> str:
    """The form sacct's -S/-E accept: ``YYYY-MM-DDTHH:MM:SS`` (UTC, as sacct runs with TZ=UTC)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


ONE_SECOND = timedelta(seconds=1)
