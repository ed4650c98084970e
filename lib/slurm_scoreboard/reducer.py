"""sb-reduce's work: count each new ended job once into the month of its end, then commit every
changed file of the cluster in one journaled update (see journal.py)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from . import layout, metrics
from .bloom import BloomFilter
from .files import locked
from .journal import Transaction, recover
from .names import check_name
from .optout import OptOut
from .records import Placement, SkipRecord
from .store import (UserTotals, UserUsage, alltime_bytes, load_alltime, load_bloom, load_rollup,
                    rollup_bytes)


class MonthDelta:
    """What this run adds to one month: a vector per (user, day, account), and the span of job
    ends per user. Totals and per-account sums are built from the cells once, at commit."""

    def __init__(self) -> None:
        self.cells: Dict[Tuple[str, str, str], metrics.Vector] = {}
        self.first_end: Dict[str, str] = {}
        self.last_end: Dict[str, str] = {}
        self.new_jobs = 0

    def add(self, user: str, day: str, account: str, vector: metrics.Vector, end: str) -> None:
        cell = self.cells.get((user, day, account))
        if cell is None:
            self.cells[(user, day, account)] = vector
        else:
            metrics.add_into(cell, vector)
        if end < self.first_end.get(user, "~"):
            self.first_end[user] = end
        if end > self.last_end.get(user, ""):
            self.last_end[user] = end

    def users(self) -> Dict[str, UserUsage]:
        usage: Dict[str, UserUsage] = {}
        for (user, day, account), vector in self.cells.items():
            if user not in usage:
                usage[user] = UserUsage()
            usage[user].add(account, day, vector)
        return usage


class Reducer:
    """Feed placed records; `commit` writes the cluster's changed files as one update."""

    def __init__(self, root: str, cluster: str, optout: OptOut, since: Optional[str] = None,
                 until: Optional[str] = None):
        self.root = root
        self.cluster = check_name("cluster", cluster)
        self.base = layout.cluster_dir(root, cluster)
        self.state = layout.state_dir(root, cluster)
        self.optout = optout
        self.since = since
        self.until = until
        self.blooms: Dict[str, BloomFilter] = {}
        self.months: Dict[str, MonthDelta] = {}
        self.new_jobs = 0

    def recover(self) -> str:
        with locked(layout.store_lock(self.root, self.cluster)):
            return recover(self.base, self.state, layout.owned_dirs(self.root, self.cluster))

    def bloom(self, month: str) -> BloomFilter:
        if month not in self.blooms:
            self.blooms[month] = load_bloom(layout.bloom_file(self.root, self.cluster, month))
        return self.blooms[month]

    def add(self, record: dict, place: Placement) -> bool:
        """Count one record; False if it was seen before. SkipRecord if it cannot be counted."""
        if not record.get("terminal"):
            raise SkipRecord("not ended")
        if (self.since and record["end"] < self.since) or (self.until and record["end"] >= self.until):
            raise SkipRecord("outside window")
        user = record.get("user")
        if not isinstance(user, str):
            raise SkipRecord("bad record", "no user")
        try:
            check_name("user", user)
        except ValueError as err:
            raise SkipRecord("bad user name", str(err)) from None
        if user in self.optout:
            raise SkipRecord("opted out")
        account = record.get("account") or ""
        if not isinstance(account, str):
            raise SkipRecord("bad record", "account is not text")
        vector = metrics.of_record(record)
        if not self.bloom(place.month).add(place.key):
            return False
        delta = self.months.setdefault(place.month, MonthDelta())
        delta.new_jobs += 1
        self.new_jobs += 1
        if not metrics.is_zero(vector):
            delta.add(user, place.day, account, vector, record["end"])
        return True

    def changed_users(self) -> List[str]:
        return sorted({user for delta in self.months.values() for user in delta.first_end})

    def commit(self, asof: str) -> None:
        """Stage every changed rollup, user file and Bloom file, then commit them together."""
        transaction = Transaction(self.base, self.state)
        per_user: Dict[str, List[Tuple[str, UserUsage]]] = {}
        for month, delta in sorted(self.months.items()):
            path = layout.rollup_file(self.root, self.cluster, month)
            added = delta.users()
            if added:
                users = load_rollup(path)
                for user, usage in added.items():
                    users.setdefault(user, UserUsage()).merge(usage)
                    per_user.setdefault(user, []).append((month, usage))
                transaction.stage(path, rollup_bytes(month, self.cluster, users, asof))
            transaction.stage(layout.bloom_file(self.root, self.cluster, month),
                              self.blooms[month].to_bytes())
        alltime_path = layout.alltime_file(self.root, self.cluster)
        alltime = load_alltime(alltime_path) if per_user else {}
        for user, months in sorted(per_user.items()):
            path = layout.user_file(self.root, self.cluster, user)
            totals = UserTotals.load(path)
            for month, usage in months:
                delta = self.months[month]
                totals.add_month(month, usage, delta.first_end[user], delta.last_end[user])
            transaction.stage(path, totals.to_bytes(user, self.cluster, asof))
            alltime[user] = totals.entry(user)
        if per_user:
            transaction.stage(alltime_path, alltime_bytes(self.cluster, alltime, asof))
        with locked(layout.store_lock(self.root, self.cluster)):
            transaction.commit()
