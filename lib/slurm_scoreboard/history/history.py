"""What happened when: one pass over every cluster's day rows, oldest UTC day first, for the
things the boards cannot show (achievements, records, competitions).

Each day's rows (cluster, user, account, vector) are what the monthly rollups keep, so a
backfilled history is dated as exactly as a polled one, and a late job that changes an earlier
day changes what the next pass finds. Opted-out users' rows are left out before anything sees
them, as on the boards (groups are summed without them too).

Names are counted four ways at once: each kind (a user, a group: a SLURM account) in each scope
(over all clusters, ``all``, and on each cluster). A :data:`Key` is ``(scope, kind, name)``.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, timedelta
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .. import boardfiles, errors
from ..core import xp
from ..core.files import identity
from ..core.optout import OptOut
from ..errors import JournalCorrupt, StoreCorrupt, UnsafePath
from ..store import metrics, reading, repair
from ..store.store import day_rows, object_bytes, parse_object

Vector = metrics.Vector
Row = Tuple[str, str, str, Sequence[int]]     # cluster, user, account, vector
Key = Tuple[str, str, str]                    # scope ("all" or a cluster), kind, name
Damage = Callable[[str, str], None]
SKILLS = boardfiles.SKILLS


def cluster_months(root: str, clusters: Sequence[str], on_damage: Damage
                   ) -> Dict[str, List[Tuple[str, str]]]:
    """month -> [(cluster, rollup path)] over every cluster, months oldest first."""
    found: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
    for cluster in clusters:
        for month, path in reading.rollup_months(root, cluster, on_damage):
            found[month].append((cluster, path))
    return dict(sorted(found.items()))


class Ledger:
    """What a pass read of the months before `month`: each rollup's identity and the digest of
    its bytes (what a checkpoint at `month` is made of); `damaged` when one was left out."""

    def __init__(self, month: str):
        self.month = month
        self.rollups: List[Tuple[str, str, str, str]] = []    # cluster, month, identity, digest
        self.damaged = False

    def wants(self, month: str) -> bool:
        return month < self.month


def digest(data: Optional[bytes]) -> str:
    """The digest of a file's bytes ("-" for a file that is not there)."""
    return "-" if data is None else hashlib.sha256(data).hexdigest()


def _month_rows(root: str, cluster: str, path: str, month: str, wait: float,
                on_damage: Damage, ledger: Optional[Ledger] = None) -> list:
    """The day rows of one rollup, read under the cluster's store lock; [] when damaged. With a
    `ledger` that wants the month, what was read is noted in it."""
    keep = ledger is not None and ledger.wants(month)
    try:
        with reading.reading(root, cluster, wait):
            seen = identity(path) if keep else ""
            data = object_bytes(path)
            rows = day_rows(parse_object(data, path) or {}, path, month)
        if ledger is not None and keep:
            ledger.rollups.append((cluster, month, seen, digest(data)))
        return rows
    except (StoreCorrupt, UnsafePath, JournalCorrupt) as err:
        on_damage(path, f"{err}; this month is left out of records and achievements "
                        f"({repair.remedy(path)})")
    except errors.StoreBusy as err:
        on_damage(path, f"{err}; this month is left out of records and achievements")
    if ledger is not None and keep:
        ledger.damaged = True
    return []


Months = Dict[str, List[Tuple[str, str]]]


def day_batches(root: str, clusters: Sequence[str], optout: OptOut, on_damage: Damage,
                wait: float = 60.0, since: Optional[str] = None, months: Optional[Months] = None,
                ledger: Optional[Ledger] = None) -> Iterator[Tuple[str, List[Row]]]:
    """(day, rows of every cluster that day), oldest day first; one month held at a time.
    `since`: from that month on; `months`: the clusters' rollups (:func:`cluster_months`)
    when the caller listed them already; `ledger`: notes what was read (:class:`Ledger`)."""
    if months is None:
        months = cluster_months(root, clusters, on_damage)
    for month, sources in months.items():
        if since is not None and month < since:
            continue
        by_day: Dict[str, List[Row]] = defaultdict(list)
        for cluster, path in sources:
            for row in _month_rows(root, cluster, path, month, wait, on_damage, ledger):
                if row[0] not in optout:
                    by_day[row[1]].append((cluster, row[0], row[2], row[3:]))
        for day in sorted(by_day):
            yield day, by_day[day]


def keys_of(cluster: str, user: str, account: str) -> Tuple[Key, ...]:
    """The keys a row counts for: its user's, and its group's unless it has no account."""
    if not reading.is_group(account):
        return (("all", "users", user), (cluster, "users", user))
    return (("all", "users", user), (cluster, "users", user),
            ("all", "groups", account), (cluster, "groups", account))


def gains_of(rows: Sequence[Row]) -> Dict[Key, Vector]:
    """What every user and group gained in each scope from one day's rows."""
    gains: Dict[Key, Vector] = {}
    for cluster, user, account, vector in rows:
        for key in keys_of(cluster, user, account):
            total = gains.get(key)
            if total is None:
                gains[key] = list(vector)
            else:
                metrics.add_into(total, vector)
    return gains


def skill_xp(vector: Sequence[int], skill: str, rates: Dict[str, float]) -> int:
    return xp.xp_of(metrics.metric_value(vector, skill), rates[skill])


def monday_of(day: str) -> str:
    moment = date.fromisoformat(day)
    return (moment - timedelta(days=moment.weekday())).isoformat()


def sunday_of(day: str) -> str:
    return (date.fromisoformat(monday_of(day)) + timedelta(days=6)).isoformat()


def week_label(day: str) -> str:
    """ISO week of a day, e.g. 2025-W31 (weeks run Monday to Sunday, UTC)."""
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


class Observer:
    """Something the pass tells about every day, in order."""

    def day(self, day: str, rows: Sequence[Row], gains: Dict[Key, Vector],
            totals: Dict[Key, Vector]) -> None:
        """`gains`: what each key gained on `day`; `totals`: cumulative before it (read only)."""

    def finish(self) -> None:
        """Called once after the last day."""


class Pass:
    """The pass itself: every day fed to every observer in order, the cumulative totals kept
    (a checkpoint gives them back to resume from, with the observers' own state)."""

    def __init__(self, observers: Sequence[Observer], totals: Optional[Dict[Key, Vector]] = None):
        self.observers = observers
        self.totals: Dict[Key, Vector] = {} if totals is None else totals

    def feed(self, day: str, rows: Sequence[Row]) -> None:
        gains = gains_of(rows)
        for observer in self.observers:
            observer.day(day, rows, gains, self.totals)
        for key, gain in gains.items():
            total = self.totals.get(key)
            if total is None:
                self.totals[key] = list(gain)
            else:
                metrics.add_into(total, gain)

    def finish(self) -> Dict[Key, Vector]:
        for observer in self.observers:
            observer.finish()
        return self.totals


def run(batches, observers: Sequence[Observer]) -> Dict[Key, Vector]:
    """Feed every day to every observer; the cumulative totals at the end."""
    walk = Pass(observers)
    for day, rows in batches:
        walk.feed(day, rows)
    return walk.finish()
