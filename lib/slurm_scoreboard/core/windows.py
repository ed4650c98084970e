"""Leaderboard windows, exact to the UTC day, relative to a "now" that tests and replays can pin.

=============  ==========================================================================
window         usage of the UTC days
=============  ==========================================================================
alltime        any day
rolling-7d     the 7 UTC days ending today (today and the 6 before it)
rolling-30d    the 30 UTC days ending today
rolling-365d   the 365 UTC days ending today
month          the current calendar month, up to today
=============  ==========================================================================

Today is the UTC date of "now". What was used exactly N days before today is outside
``rolling-Nd``; what was used N-1 days before is inside. A job's hours count on the days it
ran, the job itself on the day it ended (metrics.day_shares).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple, Optional

NAMES = ("alltime", "rolling-7d", "rolling-30d", "rolling-365d", "month")
_ROLLING = {"rolling-7d": 7, "rolling-30d": 30, "rolling-365d": 365}


class Window(NamedTuple):
    name: str
    first_day: Optional[str]    # YYYY-MM-DD, None for alltime
    last_day: Optional[str]     # YYYY-MM-DD (today), None for alltime

    def covers_day(self, day: str) -> bool:
        if self.first_day is None or self.last_day is None:     # alltime
            return True
        return self.first_day <= day <= self.last_day

    def month_coverage(self, month: str) -> str:
        """'all', 'part' or 'none': how much of month YYYY-MM the window covers."""
        if self.first_day is None or self.last_day is None:     # alltime
            return "all"
        start, end = month + "-01", month_last_day(month)
        if end < self.first_day or start > self.last_day:
            return "none"
        if start >= self.first_day and end <= self.last_day:
            return "all"
        return "part"


def month_last_day(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    following = date(year + number // 12, number % 12 + 1, 1)
    return (following - timedelta(days=1)).isoformat()


def resolve(name: str, now: datetime) -> Window:
    today = now.date()
    if name == "alltime":
        return Window(name, None, None)
    if name == "month":
        return Window(name, today.replace(day=1).isoformat(), today.isoformat())
    if name in _ROLLING:
        first = today - timedelta(days=_ROLLING[name] - 1)
        return Window(name, first.isoformat(), today.isoformat())
    raise ValueError(f"unknown window {name!r} (known: {', '.join(NAMES)})")
