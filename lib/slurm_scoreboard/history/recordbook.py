"""Records: per skill, the most one user (and one group) gained in one UTC day, one week
(Monday to Sunday) and one calendar month, over all clusters and on each cluster, with the dates.

A record is only broken by more: the first to reach a value keeps it. The week and the month in
progress count as they stand. Written by sb-rank with the boards (``leaderboards/records.json``)::

    {"asof": "...", "records": [{"scope": "all", "kind": "users", "skill": "clock_hours",
      "period": "week", "label": "2025-W31", "first_day": "2025-07-28", "last_day": "2025-08-03",
      "user": "alice", "value": 1234.5, "xp": 12345}]}
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from ..boardfiles import name_field
from ..core.windows import month_last_day
from ..core.xp import xp_of
from ..store import metrics
from ..store.metrics import METRICS, metric_value
from .history import SKILLS, Key, Observer, Row, Vector, monday_of, sunday_of, week_label

PERIODS = ("day", "week", "month")
Slot = Tuple[str, str, str, str]                # scope, kind, skill, period
Best = Tuple[float, str, str, str, str]         # value, name, label, first_day, last_day


class RecordBook(Observer):
    def __init__(self, rates: Dict[str, float]):
        self.rates = rates
        self.best: Dict[Slot, Best] = {}
        self.week: Optional[str] = None
        self.month: Optional[str] = None
        self.week_gains: Dict[Key, Vector] = {}
        self.month_gains: Dict[Key, Vector] = {}

    def day(self, day: str, rows: Sequence[Row], gains: Dict[Key, Vector],
            totals: Dict[Key, Vector]) -> None:
        if self.week != monday_of(day):
            self._settle_week()
            self.week = monday_of(day)
        if self.month != day[:7]:
            self._settle_month()
            self.month = day[:7]
        self._settle("day", day, day, day, gains)
        for key, gain in gains.items():
            for period in (self.week_gains, self.month_gains):
                total = period.get(key)
                if total is None:
                    period[key] = list(gain)
                else:
                    metrics.add_into(total, gain)

    def finish(self) -> None:
        self._settle_week()
        self._settle_month()

    def close_month(self) -> None:
        """Settle the month in progress now, as the next day (of a new month) would: a
        checkpoint taken at a month's start then keeps no month's gains."""
        self._settle_month()

    def _settle_week(self) -> None:
        if self.week is not None:
            self._settle("week", week_label(self.week), self.week, sunday_of(self.week),
                         self.week_gains)
        self.week_gains = {}

    def _settle_month(self) -> None:
        if self.month is not None:
            first = self.month + "-01"
            self._settle("month", self.month, first, month_last_day(self.month),
                         self.month_gains)
        self.month_gains = {}

    def _settle(self, period: str, label: str, first: str, last: str,
                gains: Dict[Key, Vector]) -> None:
        """Each skill's largest gain per scope and kind (the first name in order on a tie)
        against the record it may break."""
        for skill in SKILLS:
            index = METRICS[skill][0]
            top: Dict[Tuple[str, str], Tuple[int, str]] = {}
            for (scope, kind, name), gain in gains.items():
                amount = gain[index]
                if amount:
                    held = top.get((scope, kind))
                    if held is None or amount > held[0] or (amount == held[0] and
                                                            name < held[1]):
                        top[(scope, kind)] = (amount, name)
            for (scope, kind), (amount, name) in top.items():
                value = metric_value(gain_of(index, amount), skill)
                slot = (scope, kind, skill, period)
                current = self.best.get(slot)
                if current is None or value > current[0]:
                    self.best[slot] = (value, name, label, first, last)

    def document(self, asof: str) -> dict:
        rows = []
        for (scope, kind, skill, period), best in sorted(self.best.items(), key=_order):
            value, name, label, first, last = best
            rows.append({"scope": scope, "kind": kind, "skill": skill, "period": period,
                         "label": label, "first_day": first, "last_day": last,
                         name_field(kind): name, "value": value,
                         "xp": xp_of(value, self.rates[skill])})
        return {"asof": asof, "skills": list(SKILLS), "periods": list(PERIODS), "records": rows}


def gain_of(index: int, amount: int) -> Vector:
    """A vector holding `amount` at `index` (to read it as a board shows it)."""
    vector = metrics.zero()
    vector[index] = amount
    return vector


def _order(item) -> tuple:
    (scope, kind, skill, period), _ = item
    return (scope != "all", scope, kind, SKILLS.index(skill), PERIODS.index(period))


def records_of(document: dict, scope: str = "all", kind: str = "users") -> List[dict]:
    """The rows of one scope and kind from a records.json document, each checked to be a dict."""
    rows = document.get("records") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        return []
    return [row for row in rows if isinstance(row, dict) and row.get("scope") == scope
            and row.get("kind") == kind]
