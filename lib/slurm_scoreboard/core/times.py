"""UTC time: sacct timestamps in, ISO-8601 with ``Z`` out, and the shared notion of "now".

sacct prints ``YYYY-MM-DDTHH:MM:SS`` in its local time zone (``$TZ``, else the machine's), or
epoch seconds with ``SLURM_TIME_FORMAT=%s``, which is what sb-sacct asks for: epochs need no
zone. A naive stamp is read in the zone it was printed in (sb-parse's ``--tz``, by default the
local zone, as sacct's own). Daylight saving: an hour that happens twice (autumn) is read as its
first pass; a time in the hour skipped in spring is read with the offset before the change.
``SLURM_SB_NOW`` (or a tool's ``--now``) pins "now" so windows are reproducible.
"""
from __future__ import annotations

import os
import re
import time
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import BadNow
from .memo import Memo

NOW_ENV = "SLURM_SB_NOW"
UNSET = frozenset({"", "Unknown", "None", "N/A", "NONE", "UNKNOWN", "INVALID"})


_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
_EPOCH = re.compile(r"[0-9]{1,11}")


def parse_sacct_time(text: str, zone: Optional[tzinfo] = None) -> Optional[str]:
    """ISO-8601 UTC with Z from a sacct stamp (a naive one read in `zone`, UTC when None);
    None for Unknown/None/empty. Bad text: ValueError."""
    if len(text) == 19 and zone is None:
        if _utc_hour_is_real[text[:13]] and _clock_is_real[text[13:]]:
            return text + "Z"
    elif text.isascii() and text.isdigit() and len(text) <= 11 and text != "0" * len(text):
        return _epoch_iso(int(text))
    return _parse_sacct_time(text, zone)


# The fast paths of parse_sacct_time: a naive UTC stamp is real when its hour (YYYY-MM-DDTHH)
# and its minutes and seconds (:MM:SS) are (each told once, by the full parse, and kept); an
# epoch is printed from its day (kept) and a table of the minutes and seconds of an hour.

def _parses(stamp: str) -> bool:
    try:
        return _parse_sacct_time(stamp) == stamp + "Z"
    except ValueError:
        return False


_utc_hour_is_real: Memo[str, bool] = Memo(lambda hour: _parses(hour + ":00:00"), 1 << 14)
_clock_is_real: Memo[str, bool] = Memo(lambda clock: _parses("2000-01-01T00" + clock))


def _name_day(days: int) -> str:
    return date.fromordinal(_EPOCH_ORDINAL + days).isoformat()


# ``YYYY-MM-DD`` of the day `days` after 1970-01-01, each day's text made once
_day_named: Memo[int, str] = Memo(_name_day, longest=None)


_HOURS = tuple(f"T{hour:02d}:" for hour in range(24))
_MINUTES_SECONDS = tuple(f"{minute:02d}:{second:02d}Z" for minute in range(60)
                         for second in range(60))


def _epoch_iso(seconds: int) -> str:
    """:func:`to_iso` of an instant given in seconds since 1970 (0 to 11 digits' worth)."""
    days, rest = divmod(seconds, 86400)
    return _day_named[days] + _HOURS[rest // 3600] + _MINUTES_SECONDS[rest % 3600]


def _parse_sacct_time(text: str, zone: Optional[tzinfo] = None) -> Optional[str]:
    """:func:`parse_sacct_time`, every form."""
    if text in UNSET:
        return None
    if _STAMP.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"bad time {text!r}") from None
        if zone is None:
            return text + "Z"
        try:
            return to_iso(moment.replace(tzinfo=zone))
        except (OverflowError, ValueError):
            raise ValueError(f"bad time {text!r}: out of range") from None
    if _EPOCH.fullmatch(text):
        if int(text) == 0:
            return None
        try:
            return to_iso(datetime.fromtimestamp(int(text), tz=timezone.utc))
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"bad time {text!r}: out of range") from None
    raise ValueError(f"bad time {text!r}")


def zone_named(name: str) -> Optional[tzinfo]:
    """The zone called `name` (an IANA name such as Europe/Berlin, or UTC); None for UTC."""
    if name.strip().upper() in ("UTC", "UTC0", "Z", "GMT", ":UTC", "ETC/UTC"):
        return None
    try:
        return ZoneInfo(name.lstrip(":"))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Europe/Berlin)") \
            from None


class LibcZone(tzinfo):
    """The local zone exactly as the C library (and so sacct) sees it: whatever $TZ holds (an
    IANA name, a path to a zone file, a POSIX rule such as ``CET-1CEST,M3.5.0,M10.5.0/3``) or
    /etc/localtime. A naive time is read with the same rule as ZoneInfo's: the first pass of an
    hour that happens twice, the offset before the change for an hour that is skipped."""

    def __init__(self, name: str = "") -> None:
        self.name = name or "/etc/localtime"

    def __str__(self) -> str:
        return self.name

    def utcoffset(self, moment: Optional[datetime]) -> timedelta:
        if moment is None:
            return timedelta(0)
        naive = int(moment.replace(tzinfo=timezone.utc).timestamp())
        return timedelta(seconds=_libc_offset(naive - naive % 60))

    def dst(self, moment: Optional[datetime]) -> timedelta:
        return timedelta(0)

    def tzname(self, moment: Optional[datetime]) -> str:
        return "local"


@lru_cache(maxsize=65536)
def _libc_offset(naive: int) -> int:
    """Seconds east of UTC for a local wall-clock time given as if it were UTC seconds."""
    before = time.localtime(naive - 43200).tm_gmtoff
    after = time.localtime(naive + 43200).tm_gmtoff
    for offset in (before, after):
        if time.localtime(naive - offset).tm_gmtoff == offset:
            return offset
    return before


def local_zone() -> Optional[tzinfo]:
    """The zone sacct prints naive times in when run here: $TZ, else /etc/localtime, as the C
    library reads them (None when that is UTC all year)."""
    time.tzset()
    _libc_offset.cache_clear()
    offsets = {time.localtime(moment).tm_gmtoff for moment in (978307200, 993945600)}
    if offsets == {0} and not time.daylight:
        return None
    return LibcZone(os.environ.get("TZ", ""))


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
_DAY = re.compile(_MONTH.pattern + r"-(0[1-9]|[12][0-9]|3[01])")
_UTC = re.compile(_DAY.pattern + r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z")
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)


def parse_month(text: str) -> datetime:
    """First instant of a ``YYYY-MM`` month (1970-01 to 2999-12, two-digit month)."""
    if not _MONTH.fullmatch(text):
        raise ValueError(f"bad month {text!r}: use YYYY-MM")
    return datetime(int(text[:4]), int(text[5:]), 1, tzinfo=timezone.utc)


def parse_day(text: str) -> datetime:
    """First instant of a real ``YYYY-MM-DD`` day from 1970 to 2999 (the pipelines'
    sb_valid_day)."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"bad day {text!r}: use YYYY-MM-DD")
    try:
        return datetime(int(text[:4]), int(text[5:7]), int(text[8:]), tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"bad day {text!r}: no such day") from None


def parse_utc(text: str) -> datetime:
    """A real ``YYYY-MM-DDTHH:MM:SSZ`` instant from 1970 to 2999, written as the tools write
    one (the pipelines' sb_valid_time)."""
    if not _UTC.fullmatch(text):
        raise ValueError(f"bad time {text!r}: use YYYY-MM-DDTHH:MM:SSZ")
    return parse_day(text[:10]).replace(hour=int(text[11:13]), minute=int(text[14:16]),
                                         second=int(text[17:19]))


def next_month(moment: datetime) -> datetime:
    """First instant of the month after the one holding `moment`."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


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
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=8192)
def day_seconds(day: str) -> int:
    """Seconds from 1970 to the start of a ``YYYY-MM-DD`` day (ValueError if no such day)."""
    return (date.fromisoformat(day).toordinal() - _EPOCH_ORDINAL) * 86400


def iso_seconds(value: str) -> int:
    """Seconds since 1970 of a ``YYYY-MM-DDTHH:MM:SSZ`` instant (ValueError if no such day):
    its hour's and its minutes and seconds' (the parts that repeat, each read once)."""
    return _hour_seconds[value[:13]] + _clock_seconds[value[14:19]]


def _seconds_to_hour(hour: str) -> int:
    """Seconds from 1970 to the start of the ``YYYY-MM-DDTHH`` hour."""
    return day_seconds(hour[:10]) + int(hour[11:13]) * 3600


def _seconds_into_hour(clock: str) -> int:
    """Seconds into the hour of ``MM:SS``."""
    return int(clock[:2]) * 60 + int(clock[3:5])


_hour_seconds: Memo[str, int] = Memo(_seconds_to_hour, 1 << 14)
_clock_seconds: Memo[str, int] = Memo(_seconds_into_hour)


def day_of_seconds(seconds: int) -> str:
    """The UTC day (``YYYY-MM-DD``) holding an instant given in seconds since 1970."""
    return _day_named[seconds // 86400]
