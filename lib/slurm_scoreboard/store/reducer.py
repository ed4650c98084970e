"""sb-reduce's work: count each new ended job once (deduplicated in the Bloom file of the month
of its end), its usage on the days it ran and its counts on the day it ended, then commit every
changed file of the cluster in one journaled update (see journal.py)."""
from __future__ import annotations

import os
from datetime import timedelta
from operator import add, le, sub
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ..core import layout, times
from ..core.files import atomic_write, keep_folders, lexists, locked
from ..core.names import check_name
from ..core.optout import OptOut
from ..errors import BloomCorrupt, FewerJobs, JournalCorrupt, SkipRecord, StoreCorrupt, UnsafePath
from ..ingest.records import Placement
from . import metrics
from .bloom import BloomFilter, BytesAside, KeptKeys, key_hash
from .journal import Transaction, discard, recover
from .repair import forget_users, stage_derived, stored_users, totals_from_rollups
from .store import (
    MAX_TOTAL,
    Cell,
    DayRule,
    Ledger,
    Rollup,
    UserTotals,
    UserUsage,
    add_to_ledger,
    alltime_bytes,
    carried_into,
    day_rule,
    day_rule_bytes,
    load_alltime,
    load_bloom,
    load_month,
    rollup_parts,
)


class MonthDelta:
    """What this run adds to one month: a vector per user and (day, account), the ledgers of
    jobs that ran across months (store.Rollup), and the span of job ends per user. Totals and
    per-account sums are built from the day rows once, at commit."""

    def __init__(self) -> None:
        self.days: Dict[str, Dict[Tuple[str, str], metrics.Vector]] = {}
        self.carried: Dict[str, Ledger] = {}
        self.spilled: Dict[str, Ledger] = {}
        self.first_end: Dict[str, str] = {}
        self.last_end: Dict[str, str] = {}
        self.new_jobs = 0

    def add(self, cell: Cell, vector: metrics.Vector, source: Optional[str] = None) -> None:
        """Add a day's share; `source` is the later month the job ended in, if any."""
        user, day, account = cell
        add_to_ledger(self.rows_of(user), (day, account), vector)     # type: ignore[arg-type]
        if source is not None:
            add_to_ledger(self.carried.setdefault(source, {}), cell, vector)

    def rows_of(self, user: str) -> Dict[Tuple[str, str], metrics.Vector]:
        """The user's day rows ((day, account) -> vector), made on first use."""
        rows = self.days.get(user)
        if rows is None:
            rows = self.days[user] = {}
        return rows

    def spill(self, month: str, cell: Cell, vector: metrics.Vector) -> None:
        """Note a share this month's job used in the earlier `month`."""
        add_to_ledger(self.spilled.setdefault(month, {}), cell, vector)

    def ended(self, user: str, end: str) -> None:
        """Stretch the user's span of job ends to `end`."""
        if end < self.first_end.get(user, "~"):
            self.first_end[user] = end
        if end > self.last_end.get(user, ""):
            self.last_end[user] = end

    def rollup(self) -> Rollup:
        """This delta as a rollup, once: its day rows move into the rollup (a month of a
        million jobs is not held twice), each user's sums made a column at a time."""
        rollup = Rollup()
        days, self.days = self.days, {}
        for user, rows in days.items():
            usage = rollup.users[user] = UserUsage()
            usage.widen(self.first_end.get(user), self.last_end.get(user))
            by_account: Dict[str, List[metrics.Vector]] = {}
            for (_, account), vector in rows.items():
                by_account.setdefault(account, []).append(vector)
            usage.accounts = {account: [sum(column) for column in zip(*vectors)]
                              for account, vectors in by_account.items()}
            usage.totals = [sum(column) for column in zip(*usage.accounts.values())]
            usage.days = rows
        rollup.carried = self.carried
        rollup.spilled = self.spilled
        return rollup


def finish_interrupted(root: str, cluster: str) -> str:
    """Finish (or discard) the update a killed sb-reduce of `cluster` left, and remove the
    temporary files it left in the store; what was done ('' if nothing). The caller holds the
    cluster's reduce lock."""
    with locked(layout.store_lock(root, cluster)):
        return recover(layout.cluster_dir(root, cluster), layout.state_dir(root, cluster),
                       layout.owned_dirs(root, cluster))


class Reducer:
    """Feed placed records; `commit` writes the cluster's changed files as one update."""

    def __init__(self, root: str, cluster: str, optout: OptOut, since: Optional[str] = None,
                 until: Optional[str] = None, replace_month: Optional[str] = None,
                 replace_users: Iterable[str] = (), allow_fewer: bool = False):
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
        self.allow_fewer = allow_fewer
        self.counted_before: Optional[int] = None     # jobs the replaced month counted
        self.opted_out_skipped = 0                    # its jobs of users who opted out since
        if replace_month:
            self.counted_before = self._counted(replace_month)
            self.blooms[replace_month] = BloomFilter()
            self.months[replace_month] = MonthDelta()
        self.countable: Set[str] = set()       # users whose name and opt-out were looked at
        self.replace_users: Set[str] = set(replace_users)
        self.replaced_keys = KeptKeys()        # their keys' hashes, 24 bytes a key
        self.erase: List[str] = []
        self.headroom: Dict[str, metrics.Vector] = {}
        self._stored: Optional[Dict[str, dict]] = None

    def _counted(self, month: str) -> Optional[int]:
        """The jobs the month's Bloom file counted (None when it cannot be read)."""
        try:
            return load_bloom(layout.bloom_file(self.root, self.cluster, month)).items
        except (BloomCorrupt, UnsafePath, OSError):
            return None

    def recover(self) -> str:
        return finish_interrupted(self.root, self.cluster)

    def bloom(self, month: str) -> BloomFilter:
        if month not in self.blooms:
            before = times.to_iso(times.parse_month(month) - timedelta(days=1))[:7]
            self.blooms[month] = load_bloom(layout.bloom_file(self.root, self.cluster, month),
                                            layout.bloom_file(self.root, self.cluster, before))
        return self.blooms[month]

    def add(self, record: dict, place: Placement) -> bool:
        """Count one ended record (passed by records.check); False if it was seen before.
        SkipRecord if it cannot be counted."""
        user = self._countable_user(record, place)
        vector = metrics.of_record(record)
        room = self.headroom.get(user) or self._room(user)
        if not all(map(le, vector, room)):
            raise SkipRecord("out of range", f"{user}'s totals would pass {MAX_TOTAL}")
        if not self._first_sight(user, place):
            return False
        room[:] = map(sub, room, vector)
        own = self.months.get(place.month) or self._delta(place.month)
        own.new_jobs += 1
        self.new_jobs += 1
        if not record["account"]:
            self.no_account += 1
        self._add_shares(record, vector, place, own)
        return True

    def _delta(self, month: str) -> MonthDelta:
        """What this run adds to `month` (made on first use)."""
        delta = self.months.get(month)
        if delta is None:
            delta = self.months[month] = MonthDelta()
        return delta

    def _countable_user(self, record: dict, place: Placement) -> str:
        """The record's user; SkipRecord outside the window, for a bad name or an opt-out."""
        end = record["end"]
        if (self.since and end < self.since) or (self.until and end >= self.until):
            raise SkipRecord("outside window")
        user = record["user"]
        if user in self.countable:
            return user
        try:
            check_name("user", user)
        except ValueError as err:
            raise SkipRecord("bad user name", str(err)) from None
        if user in self.optout:
            if place.month == self.replace_month:
                self.opted_out_skipped += 1
            raise SkipRecord("opted out")
        self.countable.add(user)
        return user

    def _first_sight(self, user: str, place: Placement) -> bool:
        """Whether the job is counted now (its key added to the month's Bloom filter, or to
        the replaced keys of a user whose history is replaced), not seen before."""
        if user in self.replace_users:
            h1, h2 = key_hash(place.key)
            if not self.replaced_keys.add(h1, h2):
                return False
            self.bloom(place.month).add_hashed(h1, h2)
            return True
        return self.bloom(place.month).add(place.key)

    def _add_shares(self, record: dict, vector: metrics.Vector, place: Placement,
                    own: "MonthDelta") -> None:
        """The job's usage (its metric `vector`) on each day it ran, into the rollup of that
        day's month; a share in another month than the end's is also kept in the end month's
        ledger (spilled)."""
        user, account = record["user"], record["account"]
        shares = metrics.shares_of(record, vector)
        if not shares:
            return
        own.ended(user, record["end"])
        rows = own.rows_of(user)
        for day, share in shares:
            month = day[:7]
            if month == place.month:        # most shares: into the end month's day rows
                total = rows.get((day, account))
                if total is None:
                    rows[day, account] = share      # a new list (metrics.shares_of)
                else:
                    total[:] = map(add, total, share)
            else:
                self._delta(month).add((user, day, account), share, place.month)
                own.spill(month, (user, day, account), share)

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
        with keep_folders():
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
        """The usual update: this run's months added to their rollups and users (the Bloom
        files' bits set meanwhile by a child, bloom.BytesAside)."""
        aside = BytesAside({month: self.blooms[month] for month in sorted(self.months)
                            if month in self.blooms})
        try:
            per_user: Dict[str, List[Tuple[str, UserUsage]]] = {}
            rule = day_rule(self.root, self.cluster, lenient=True)
            unruled = not lexists(layout.day_rule_file(self.root, self.cluster))
            for month, delta in sorted(self.months.items()):
                added = delta.rollup()
                if added.users:
                    path = layout.rollup_file(self.root, self.cluster, month)
                    rollup = load_month(path, month)
                    if not rollup.has_ledgers and month not in rule.ended + rule.kept:
                        rule.ended.append(month)    # a writer before 0.3 rewrote it: mixed now
                        unruled = True
                    rollup.merge(added)
                    for user, usage in added.users.items():
                        per_user.setdefault(user, []).append((month, usage))
                    transaction.stage(path, rollup_parts(month, self.cluster, rollup, asof))
            if unruled:
                self._stage_day_rule(transaction, rule, asof)
            if per_user:
                self._stage_user_totals(transaction, per_user, asof)
            for month, data in aside.result().items():
                transaction.stage(layout.bloom_file(self.root, self.cluster, month), data)
        finally:
            aside.close()

    def _stage_rewrite(self, transaction: Transaction, asof: str) -> None:
        """Every month without the erased and replaced users, and without the jobs that ended
        in the replaced month (its own rows, and what they carried into earlier months), plus
        this run's records; then every derived file from the months."""
        dropped = set(self.erase) | self.replace_users
        rule = day_rule(self.root, self.cluster, lenient=True)
        months, spilled = self._load_months(rule)
        if self.replace_month:
            self._check_not_fewer(self.replace_month)
            rule = DayRule([m for m in rule.ended if m != self.replace_month],
                           [m for m in rule.kept if m != self.replace_month])
        for month in sorted(set(months) | set(self.months)):
            path = layout.rollup_file(self.root, self.cluster, month)
            rollup = months.setdefault(month, Rollup())
            changed = rollup.drop_users(dropped) or month == self.replace_month
            if self.replace_month and month < self.replace_month:
                changed = rollup.drop_carried(self.replace_month, path,
                                              spilled.get(month, {}) if spilled is not None
                                              else None) or changed
            delta = self.months.get(month)
            if delta is not None:
                rollup.merge(delta.rollup())
                changed = True
            if rollup.users and changed:
                transaction.stage(path, rollup_parts(month, self.cluster, rollup, asof))
            elif not rollup.users and os.path.lexists(path):
                transaction.remove(path)
            bloom = layout.bloom_file(self.root, self.cluster, month)
            if month in self.blooms and self.blooms[month].items:
                transaction.stage(bloom, self.blooms[month].to_bytes())
            elif month in self.blooms and lexists(bloom):
                transaction.remove(bloom)
        self._stage_day_rule(transaction, rule, asof)
        totals, _ = totals_from_rollups(self.root, self.cluster, months)
        stage_derived(transaction, self.root, self.cluster, totals, asof)

    def _load_months(self, rule: DayRule) -> Tuple[Dict[str, Rollup], Optional[Dict[str, Ledger]]]:
        """Every month's rollup, and what the replaced month's jobs used in earlier months (its
        own ``spilled`` ledger; None when its file is damaged or was written before 0.3: the
        earlier months' ``carried`` ledgers then say it). The replaced month holds only what
        later jobs used in it (from its own file, or from the later months' ledgers when its
        file is damaged). A month a writer before 0.3 rewrote lost its ledgers: it joins the
        months on the old rule."""
        months: Dict[str, Rollup] = {}
        for month, path in layout.rollup_paths(self.root, self.cluster):
            if not layout.MONTH_NAME.fullmatch(month):
                continue
            try:
                months[month] = load_month(path, month)
            except StoreCorrupt:
                if month != self.replace_month:
                    raise
                continue
            if not months[month].has_ledgers and month not in rule.ended + rule.kept:
                rule.ended.append(month)
        spilled = None
        if self.replace_month:
            own = months.get(self.replace_month)
            if own is not None and own.has_ledgers:
                spilled = own.spilled
            months[self.replace_month] = own.carried_only() if own is not None else \
                carried_into(self.replace_month, {m: r for m, r in months.items()
                                                  if m > self.replace_month})
        return months, spilled

    def _check_not_fewer(self, month: str) -> None:
        """A replaced month must come back with every job it counted: fewer means slurmdbd no
        longer has them (purged, PurgeJobAfter), and replacing would lose them for good."""
        before = self.counted_before
        after = self.blooms[month].items + self.opted_out_skipped
        if before is not None and after < before and not self.allow_fewer:
            raise FewerJobs(f"month {month}: the input holds {after:,} of the "
                            f"{before:,} jobs the store counted for it (slurmdbd may have "
                            "purged the others: PurgeJobAfter); nothing was replaced")

    def _stage_day_rule(self, transaction: Transaction, rule: DayRule, asof: str) -> None:
        transaction.stage(layout.day_rule_file(self.root, self.cluster),
                          day_rule_bytes(self.cluster, rule, asof))

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
    update, and write its day rule again (a damaged one names every month as on the old rule:
    what cannot be told is fetched again, never mixed). An unreadable journal (its update
    cannot be finished) is discarded first."""
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
        transaction.stage(layout.day_rule_file(root, cluster),
                          day_rule_bytes(cluster, day_rule(root, cluster, lenient=True), asof))
    except BaseException:
        transaction.abort()
        raise
    with locked(layout.store_lock(root, cluster)):
        transaction.commit()
    return {"cluster": cluster, "users": len(totals), "user_files_removed": removed,
            "recovered": note, "ignored": ignored}


def keep_old_rule(root: str, cluster: str, month: str, asof: str) -> bool:
    """Record that `month` stays on the old day rule for good (slurmdbd no longer has all its
    jobs, or it is older than the backfill start); False when it was not on the old rule."""
    with locked(layout.store_lock(root, cluster)):
        rule = day_rule(root, cluster, lenient=True)
        if month not in rule.ended:
            return False
        rule.kept.append(month)
        atomic_write(layout.day_rule_file(root, cluster), day_rule_bytes(cluster, rule, asof))
    return True
