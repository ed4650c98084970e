"""sb-reduce's work: count each new ended job once into the month of its end, then commit every
changed file of the cluster in one journaled update (see journal.py)."""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Dict, Iterable, List, Optional, Set, Tuple

from . import layout, metrics, times
from .bloom import BloomFilter
from .files import lexists, locked
from .journal import JournalCorrupt, Transaction, discard, recover
from .names import check_name
from .optout import OptOut
from .records import Placement, SkipRecord
from .repair import forget_users, stage_derived, stored_users, totals_from_rollups
from .store import (MAX_TOTAL, UserTotals, UserUsage, alltime_bytes, load_alltime, load_bloom,
                    load_rollup, rollup_bytes)


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
                usage[user].widen(self.first_end[user], self.last_end[user])
            usage[user].add(account, day, vector)
        return usage


class Reducer:
    """Feed placed records; `commit` writes the cluster's changed files as one update."""

    def __init__(self, root: str, cluster: str, optout: OptOut, since: Optional[str] = None,
                 until: Optional[str] = None, replace_month: Optional[str] = None,
                 replace_users: Iterable[str] = ()):
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
        self.no_account = 0            # counted jobs without a SLURM account: in no group
        self.replace_month = replace_month
        if replace_month:
            self.blooms[replace_month] = BloomFilter()
            self.months[replace_month] = MonthDelta()
        self.replace_users: Set[str] = set(replace_users)
        self.replaced_keys: Set[str] = set()
        self.erase: List[str] = []
        self.headroom: Dict[str, metrics.Vector] = {}
        self._stored: Optional[Dict[str, dict]] = None

    def recover(self) -> str:
        with locked(layout.store_lock(self.root, self.cluster)):
            return recover(self.base, self.state, layout.owned_dirs(self.root, self.cluster))

    def bloom(self, month: str) -> BloomFilter:
        if month not in self.blooms:
            before = times.to_iso(times.parse_month(month) - timedelta(days=1))[:7]
            self.blooms[month] = load_bloom(layout.bloom_file(self.root, self.cluster, month),
                                            layout.bloom_file(self.root, self.cluster, before))
        return self.blooms[month]

    def add(self, record: dict, place: Placement) -> bool:
        """Count one ended record (passed by records.check); False if it was seen before.
        SkipRecord if it cannot be counted."""
        if (self.since and record["end"] < self.since) or (self.until and record["end"] >= self.until):
            raise SkipRecord("outside window")
        user = record["user"]
        try:
            check_name("user", user)
        except ValueError as err:
            raise SkipRecord("bad user name", str(err)) from None
        if user in self.optout:
            raise SkipRecord("opted out")
        account = record["account"]
        vector = metrics.of_record(record)
        room = self._room(user)
        if any(value > left for value, left in zip(vector, room)):
            raise SkipRecord("out of range", f"{user}'s totals would pass {MAX_TOTAL}")
        if user in self.replace_users:
            if place.key in self.replaced_keys:
                return False
            self.replaced_keys.add(place.key)
            self.bloom(place.month).add(place.key)
        elif not self.bloom(place.month).add(place.key):
            return False
        for index, value in enumerate(vector):
            room[index] -= value
        delta = self.months.setdefault(place.month, MonthDelta())
        delta.new_jobs += 1
        self.new_jobs += 1
        if not account:
            self.no_account += 1
        if not metrics.is_zero(vector):
            delta.add(user, place.day, account, vector, record["end"])
        return True

    def _room(self, user: str) -> metrics.Vector:
        """How much each of the user's totals may still grow before MAX_TOTAL (so one user's
        absurd records are skipped, and can never block everyone else's)."""
        room = self.headroom.get(user)
        if room is None:
            if self._stored is None:
                self._stored = load_alltime(layout.alltime_file(self.root, self.cluster))
            entry = self._stored.get(user)
            totals = entry["totals"] if entry and user not in self.replace_users \
                else metrics.zero()
            room = self.headroom[user] = [MAX_TOTAL - value for value in totals]
        return room

    def changed_users(self) -> List[str]:
        return sorted({user for delta in self.months.values() for user in delta.first_end})

    def find_opted_out(self) -> List[str]:
        """Users stored on this cluster who opted out since (their homes looked at again when
        the answer is a day old): the commit erases them."""
        stored = set(stored_users(self.root, self.cluster))
        stored.update(load_alltime(layout.alltime_file(self.root, self.cluster)))
        self.optout.refresh(sorted(stored))
        self.erase = self.optout.among(stored)
        return self.erase

    def needs_commit(self) -> bool:
        return bool(self.new_jobs or self.replace_month or self.replace_users or self.erase)

    def commit(self, asof: str) -> None:
        """Stage every changed rollup, user file and Bloom file, then commit them together. A
        replaced month starts empty; erased and replaced users are taken out of every month;
        in those cases the derived files are summed again from every month."""
        transaction = Transaction(self.base, self.state)
        try:
            if self.replace_month or self.replace_users or self.erase:
                self._stage_rewrite(transaction, asof)
            else:
                self._stage_added(transaction, asof)
        except BaseException:
            transaction.abort()
            raise
        with locked(layout.store_lock(self.root, self.cluster)):
            transaction.commit()
        if self.erase:
            forget_users(self.root, self.cluster, self.erase)

    def _stage_added(self, transaction: Transaction, asof: str) -> None:
        """The usual update: this run's months added to their rollups and users."""
        per_user: Dict[str, List[Tuple[str, UserUsage]]] = {}
        for month, delta in sorted(self.months.items()):
            path = layout.rollup_file(self.root, self.cluster, month)
            added = delta.users()
            if added:
                users = load_rollup(path, month)
                for user, usage in added.items():
                    users.setdefault(user, UserUsage()).merge(usage)
                    per_user.setdefault(user, []).append((month, usage))
                transaction.stage(path, rollup_bytes(month, self.cluster, users, asof))
            transaction.stage(layout.bloom_file(self.root, self.cluster, month),
                              self.blooms[month].to_bytes())
        if per_user:
            self._stage_user_totals(transaction, per_user, asof)

    def _stage_rewrite(self, transaction: Transaction, asof: str) -> None:
        """Every month without the erased and replaced users (the replaced month from nothing),
        plus this run's records; then every derived file from the months."""
        dropped = set(self.erase) | self.replace_users
        months: Dict[str, Dict[str, UserUsage]] = {}
        for month, path in layout.rollup_paths(self.root, self.cluster):
            if layout.MONTH_NAME.fullmatch(month) and month != self.replace_month:
                months[month] = load_rollup(path, month)
        for month in sorted(set(months) | set(self.months)):
            path = layout.rollup_file(self.root, self.cluster, month)
            users = months.setdefault(month, {})
            removed = [user for user in users if user in dropped]
            for user in removed:
                del users[user]
            delta = self.months.get(month)
            for user, usage in (delta.users() if delta else {}).items():
                users.setdefault(user, UserUsage()).merge(usage)
            if users and (removed or delta):
                transaction.stage(path, rollup_bytes(month, self.cluster, users, asof))
            elif not users and os.path.lexists(path):
                transaction.remove(path)
            bloom = layout.bloom_file(self.root, self.cluster, month)
            if delta and self.blooms[month].items:
                transaction.stage(bloom, self.blooms[month].to_bytes())
            elif delta and lexists(bloom):
                transaction.remove(bloom)
        totals, _ = totals_from_rollups(self.root, self.cluster, months)
        stage_derived(transaction, self.root, self.cluster, totals, asof)

    def _stage_user_totals(self, transaction: Transaction,
                           per_user: Dict[str, List[Tuple[str, UserUsage]]], asof: str) -> None:
        """Add this run's months to each changed user's file and to the all-time index."""
        alltime_path = layout.alltime_file(self.root, self.cluster)
        alltime = load_alltime(alltime_path)
        for user, months in sorted(per_user.items()):
            path = layout.user_file(self.root, self.cluster, user)
            totals = UserTotals.load(path)
            for month, usage in months:
                totals.add_month(month, usage)
            transaction.stage(path, totals.to_bytes(user, self.cluster, asof))
            alltime[user] = totals.entry(user)
        transaction.stage(alltime_path, alltime_bytes(self.cluster, alltime, asof))


def repair(root: str, cluster: str, asof: str) -> dict:
    """Recompute every user file and the all-time index of a cluster from its rollups, as one
    update. An unreadable journal (its update cannot be finished) is discarded first."""
    base, state = layout.cluster_dir(root, cluster), layout.state_dir(root, cluster)
    owned = layout.owned_dirs(root, cluster)
    with locked(layout.store_lock(root, cluster)):
        try:
            note = recover(base, state, owned)
        except JournalCorrupt as err:
            note = f"{err}; discarded it and its staged files"
            discard(base, state, owned)
    totals, ignored = totals_from_rollups(root, cluster, {})
    transaction = Transaction(base, state)
    try:
        removed = stage_derived(transaction, root, cluster, totals, asof)
    except BaseException:
        transaction.abort()
        raise
    with locked(layout.store_lock(root, cluster)):
        transaction.commit()
    return {"cluster": cluster, "users": len(totals), "user_files_removed": removed,
            "recovered": note, "ignored": ignored}
