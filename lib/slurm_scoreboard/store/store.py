"""The aggregates on disk: monthly rollups, per-user all-time files, and the cluster's all-time
index, all written by sb-reduce in one journaled update.

Monthly rollup ``clusters/<c>/agg/rollups/monthly/YYYY-MM.json`` (the usage of the month's UTC
days, and the counts of the jobs that ended in it: metrics.day_shares)::

    {"asof": "2025-08-26T12:00:00Z", "month": "2025-08", "cluster": "hammer",
     "metrics": ["clock_seconds", "elapsed_seconds", "gpu_clock_seconds",
                 "gpu_elapsed_seconds", "failed_jobs", "jobs"],
     "users": [{"username": "alice",
                "total_clock_hours": 226.5, "total_elapsed_hours": 153.5,
                "total_gpu_clock_hours": 62.0, "gpu_elapsed_hours": 37.0,
                "count_failed_jobs": 2, "jobs": 9,
                "totals": [815400, 552600, 223200, 133200, 2, 9],
                "accounts": {"physics": [815400, 552600, 223200, 133200, 2, 9]}}],
     "days": [["alice", "2025-08-01", "physics", 815400, 552600, 223200, 133200, 2, 9]],
     "carried": {"2025-09": [["alice", "2025-08-31", "physics", 3600, 3600, 0, 0, 0, 0]]},
     "spilled": {"2025-07": [["alice", "2025-07-31", "physics", 7200, 7200, 0, 0, 0, 0]]}}

The README's fields (``total_*_hours``, ``count_failed_jobs``) are derived from ``totals``, the
exact integer vector in ``metrics`` order; ``accounts`` breaks it down by SLURM account, and the
flat ``days`` rows (user, UTC day, account, vector) by day, so windows are exact to the day and
groups can be ranked. Rows are flat so a reader that needs only the totals parses them cheaply.
``carried`` and ``spilled`` are the ledgers of jobs that ran across months (:class:`Rollup`):
readers sum ``days`` and never need them.

User file ``clusters/<c>/agg/users/<user>.json``: one user's fields over all time, with
``months`` (month -> vector), ``first_end`` and ``last_end``.

All-time index ``clusters/<c>/agg/alltime.json``: every user's all-time ``totals`` and
``accounts`` in one file, so ranking reads one file per cluster instead of one per user.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from itertools import chain
from operator import add
from typing import Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Type

import orjson

from ..core import layout
from ..core.files import read_bytes
from ..core.layout import MONTH_NAME as _MONTH_NAME
from ..core.names import PLAIN as _PLAIN
from ..errors import BloomCorrupt, StoreCorrupt, TotalsOverflow, UnsafePath
from ..ingest.records import MAX_TEXT
from . import metrics
from .bloom import DEFAULT_CAPACITY, BloomFilter, capacity_after, items_in

Vector = metrics.Vector


# Every stored number is an exact integer from 0 to 2^53: exact as a double too (jq, a web
# page), and a thousand clusters' sums still fit a signed 64-bit integer. sb-reduce skips a
# record that would push one of its user's totals past it (reducer.py).
MAX_TOTAL = 1 << 53


def is_vector(value) -> bool:
    """A metric vector as stored: SIZE integers from 0 to MAX_TOTAL (booleans are not)."""
    return (type(value) is list and len(value) == metrics.SIZE
            and all(type(v) is int and 0 <= v <= MAX_TOTAL for v in value))


def _vector(value, where: str) -> Vector:
    if not is_vector(value):
        raise StoreCorrupt(f"{where}: bad metric vector")
    return list(value)


def check_totals(vector: Vector, where: str) -> Vector:
    if max(vector) > MAX_TOTAL:
        raise TotalsOverflow(f"{where}: a total would exceed {MAX_TOTAL}; refusing the update")
    return vector


class UserUsage:
    """One user's usage in one month (or all time): totals, per account, per day and account,
    and the span of their job ends."""

    def __init__(self) -> None:
        self.totals: Vector = metrics.zero()
        self.accounts: Dict[str, Vector] = {}
        self.days: Dict[Tuple[str, str], Vector] = {}
        self.first_end: Optional[str] = None
        self.last_end: Optional[str] = None

    def add(self, account: str, day: Optional[str], vector: Vector) -> None:
        metrics.add_into(self.totals, vector)
        metrics.add_into(self.accounts.setdefault(account, metrics.zero()), vector)
        if day is not None:
            metrics.add_into(self.days.setdefault((day, account), metrics.zero()), vector)

    def widen(self, first_end: Optional[str], last_end: Optional[str]) -> None:
        """Stretch the span of job ends to cover [first_end, last_end]."""
        if first_end and (self.first_end is None or first_end < self.first_end):
            self.first_end = first_end
        if last_end and (self.last_end is None or last_end > self.last_end):
            self.last_end = last_end

    def merge(self, other: "UserUsage", with_days: bool = True) -> None:
        metrics.add_into(self.totals, other.totals)
        for account, vector in other.accounts.items():
            metrics.add_into(self.accounts.setdefault(account, metrics.zero()), vector)
        if with_days:
            for cell, vector in other.days.items():
                metrics.add_into(self.days.setdefault(cell, metrics.zero()), vector)
        self.widen(other.first_end, other.last_end)

    def to_json(self, username: str) -> dict:
        entry: Dict[str, object] = {"username": username}   # and the hour fields, by name
        check_totals(self.totals, username)
        entry.update(metrics.hour_fields(self.totals))
        entry["jobs"] = self.totals[metrics.JOBS]
        entry["totals"] = self.totals
        entry["accounts"] = dict(sorted(self.accounts.items()))
        entry["first_end"] = self.first_end
        entry["last_end"] = self.last_end
        return entry

    def day_rows(self, username: str) -> List[list]:
        return [[username, day, account, *vector]
                for (day, account), vector in sorted(self.days.items())]

    def span_from_days(self) -> None:
        """A span for entries written before spans were stored: the first and last day's edges."""
        if self.days and self.first_end is None:
            days = [day for day, _ in self.days]
            self.widen(min(days) + "T00:00:00Z", max(days) + "T23:59:59Z")

    @classmethod
    def from_json(cls, entry: dict, where: str) -> "UserUsage":
        usage = cls()
        if type(entry) is not dict or type(entry.get("accounts")) is not dict:
            raise StoreCorrupt(f"{where}: malformed user entry")
        usage.totals = _vector(entry.get("totals"), where)
        if not all(is_account(account) for account in entry["accounts"]):
            raise StoreCorrupt(f"{where}: malformed account name")
        usage.accounts = {a: _vector(v, where) for a, v in entry["accounts"].items()}
        usage.first_end = _end(entry.get("first_end"), where)
        usage.last_end = _end(entry.get("last_end"), where)
        return usage


def _end(value, where: str) -> Optional[str]:
    if value is not None and (type(value) is not str or len(value) != 20):
        raise StoreCorrupt(f"{where}: malformed first_end or last_end")
    return value


def load_object(path: str, limit: Optional[int] = None) -> Optional[dict]:
    return parse_object(object_bytes(path, limit), path)


def object_bytes(path: str, limit: Optional[int] = None) -> Optional[bytes]:
    """A store file's bytes (None when it does not exist); StoreCorrupt when it cannot be read."""
    try:
        return read_bytes(path, limit)
    except FileNotFoundError:
        return None
    except (UnsafePath, ValueError) as err:
        raise StoreCorrupt(str(err)) from None
    except OSError as err:
        raise StoreCorrupt(f"{path}: {err.strerror or err}") from None


def parse_object(data: Optional[bytes], path: str,
                 error: Type[Exception] = StoreCorrupt) -> Optional[dict]:
    """A store file's JSON object from its bytes (None stays None); `error` names the file
    when it is not one."""
    if data is None:
        return None
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise error(f"{path}: not valid JSON") from None
    if not isinstance(parsed, dict):
        raise error(f"{path}: not a JSON object")
    return parsed


def is_plain(name) -> bool:
    """A username as sb-reduce stores them (names.check_name's plain names)."""
    return type(name) is str and _PLAIN.fullmatch(name) is not None and name not in (".", "..")


def is_account(name) -> bool:
    return type(name) is str and len(name) <= MAX_TEXT


def user_entries(data: dict, path: str) -> List[dict]:
    """The ``users`` list of a rollup or all-time file, each entry with a plain ``username``
    (a name that could not have been stored is damage, not a player)."""
    entries = data.get("users")
    if type(entries) is not list or not all(
            type(entry) is dict and is_plain(entry.get("username")) for entry in entries):
        raise StoreCorrupt(f"{path}: malformed user list")
    return entries


def _users(data: dict, path: str) -> Dict[str, UserUsage]:
    return {entry["username"]: UserUsage.from_json(entry, path)
            for entry in user_entries(data, path)}


@lru_cache(maxsize=64)
def days_of(month: str) -> FrozenSet[str]:
    """Every day of month YYYY-MM, as YYYY-MM-DD (none for a name that is no month)."""
    try:
        first = date(int(month[:4]), int(month[5:7]), 1)
    except ValueError:
        return frozenset()
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return frozenset((first + timedelta(days=n)).isoformat()
                     for n in range((following - first).days))


def is_day_row(row, month: str) -> bool:
    """``[user, a real YYYY-MM-DD of month, account, *vector]`` with text where text belongs."""
    return (type(row) is list and len(row) == 3 + metrics.SIZE and is_plain(row[0])
            and type(row[1]) is str and row[1] in days_of(month)
            and is_account(row[2]) and is_vector(row[3:]))


def day_rows(data: dict, path: str, month: str) -> list:
    rows = data.get("days", [])
    if type(rows) is not list or not all(is_day_row(row, month) for row in rows):
        raise StoreCorrupt(f"{path}: malformed day rows")
    return rows


Cell = Tuple[str, str, str]      # user, day, account
Ledger = Dict[Cell, Vector]


def add_to_ledger(ledger: Ledger, cell: Cell, vector: Sequence[int]) -> None:
    total = ledger.get(cell)
    if total is None:
        ledger[cell] = list(vector)
    elif len(total) == len(vector) == metrics.SIZE:
        total[:] = map(add, total, vector)
    else:
        metrics.add_into(total, vector)


class Rollup:
    """One month's rollup: each user's usage in the month (their totals, per account, per day
    and account), and two ledgers of jobs that ran across months, so a month can be replaced
    exactly: ``carried`` (later end month -> cell -> vector), what jobs that ended in a later
    month used in this one (part of the users' usage here), and ``spilled`` (earlier month ->
    cell -> vector), what this month's jobs used in an earlier one (part of the usage there).
    Each crossing is written in both months, so either file alone can be fetched again."""

    def __init__(self) -> None:
        self.users: Dict[str, UserUsage] = {}
        self.carried: Dict[str, Ledger] = {}
        self.spilled: Dict[str, Ledger] = {}
        self.has_ledgers = True     # False for a file a writer before 0.3 wrote (or rewrote)

    def add(self, user: str, day: str, account: str, vector: Sequence[int],
            source: Optional[str] = None) -> None:
        """Add a day's vector; `source` is the later month the job ended in, if any."""
        usage = self.users.get(user)
        if usage is None:
            usage = self.users[user] = UserUsage()
        usage.add(account, day, list(vector))
        if source is not None:
            add_to_ledger(self.carried.setdefault(source, {}), (user, day, account), vector)

    def merge(self, other: "Rollup") -> None:
        """Add `other` in; what only it holds (a user, a ledger) is taken over, not copied
        (`other` is not used again)."""
        for user, usage in other.users.items():
            mine = self.users.get(user)
            if mine is None:
                self.users[user] = usage
            else:
                mine.merge(usage)
        for ledgers, theirs in ((self.carried, other.carried), (self.spilled, other.spilled)):
            for month, cells in theirs.items():
                ledger = ledgers.get(month)
                if ledger is None:
                    ledgers[month] = cells
                    continue
                for cell, vector in cells.items():
                    add_to_ledger(ledger, cell, vector)

    def drop_users(self, users) -> bool:
        """Take `users` out entirely; whether any was there."""
        gone = [user for user in self.users if user in users]
        for user in gone:
            del self.users[user]
        for ledgers in (self.carried, self.spilled):
            for month in list(ledgers):
                cells = {c: v for c, v in ledgers[month].items() if c[0] not in users}
                if cells:
                    ledgers[month] = cells
                else:
                    del ledgers[month]
        return bool(gone)

    def drop_carried(self, source: str, where: str, cells: Optional[Ledger] = None) -> bool:
        """Take out what jobs that ended in month `source` used here: `cells` (the source
        month's own ``spilled`` ledger for this month, when it has one) or this month's
        ``carried`` ledger of it; whether there was any."""
        carried = self.carried.pop(source, None)
        cells = carried if cells is None else cells
        if not cells:
            return bool(carried)
        for (user, day, account), vector in cells.items():
            self._subtract(user, day, account, vector, where)
        return True

    def carried_only(self) -> "Rollup":
        """This month without the jobs that ended in it: only what later jobs used here."""
        kept = Rollup()
        for source, cells in self.carried.items():
            for (user, day, account), vector in cells.items():
                kept.add(user, day, account, vector, source)
        return kept

    def _subtract(self, user: str, day: str, account: str, vector: Vector, where: str) -> None:
        usage = self.users.get(user)
        cell = usage.days.get((day, account)) if usage else None
        if usage is None or cell is None or any(have < take for have, take in zip(cell, vector)):
            raise StoreCorrupt(f"{where}: carried rows that its day rows do not hold")
        for target in (cell, usage.totals, usage.accounts[account]):
            for index in range(metrics.SIZE):
                target[index] -= vector[index]
        if metrics.is_zero(cell):
            del usage.days[(day, account)]
        if metrics.is_zero(usage.accounts[account]):
            del usage.accounts[account]
        if not usage.days and metrics.is_zero(usage.totals):
            del self.users[user]


def carried_into(month: str, later: Dict[str, Rollup]) -> Rollup:
    """What the jobs of the `later` months' rollups used in `month`, from their ``spilled``
    ledgers: the carried part of a month whose own file is damaged."""
    rebuilt = Rollup()
    for source, rollup in later.items():
        for (user, day, account), vector in rollup.spilled.get(month, {}).items():
            rebuilt.add(user, day, account, vector, source)
    return rebuilt


def _ledgers(data: dict, key: str, path: str, month: str, later: bool) -> Dict[str, Ledger]:
    """A rollup's ``carried`` (later months, rows of this month's days) or ``spilled``
    (earlier months, rows of their days) ledgers; none in a rollup written before usage was
    spread over the days a job ran."""
    found = data.get(key, {})
    if type(found) is not dict:
        raise StoreCorrupt(f"{path}: malformed {key} rows")
    result: Dict[str, Ledger] = {}
    for other, rows in found.items():
        if type(other) is not str or _MONTH_NAME.fullmatch(other) is None or \
                (other <= month if later else other >= month) or type(rows) is not list or \
                not all(is_day_row(row, month if later else other) for row in rows):
            raise StoreCorrupt(f"{path}: malformed {key} rows")
        result[other] = {(row[0], row[1], row[2]): list(row[3:]) for row in rows}
    return result


def load_month(path: str, month: str) -> Rollup:
    """One month's rollup (empty when the file does not exist)."""
    rollup = Rollup()
    data = load_object(path)
    if data is None:
        return rollup
    users = _users(data, path)
    for row in day_rows(data, path, month):
        usage = users.get(row[0])
        if usage is None:
            raise StoreCorrupt(f"{path}: a day row of {row[0]!r}, who has no entry")
        usage.days[(row[1], row[2])] = row[3:]
    rollup.carried = _ledgers(data, "carried", path, month, later=True)
    rollup.spilled = _ledgers(data, "spilled", path, month, later=False)
    rollup.has_ledgers = "carried" in data and "spilled" in data
    if not rollup.has_ledgers:
        for usage in users.values():
            usage.span_from_days()
    rollup.users = users
    return rollup


def load_rollup(path: str, month: str) -> Dict[str, UserUsage]:
    """username -> usage (with days) for one month; empty when the file does not exist."""
    return load_month(path, month).users


def _ledger_rows(ledgers: Dict[str, Ledger]) -> Dict[str, list]:
    return {month: [[*cell, *vector] for cell, vector in sorted(cells.items())]
            for month, cells in sorted(ledgers.items()) if cells}


def rollup_bytes(month: str, cluster: str, rollup: Rollup, asof: str) -> bytes:
    return b"".join(rollup_parts(month, cluster, rollup, asof))


def rollup_parts(month: str, cluster: str, rollup: Rollup, asof: str) -> Iterator[bytes]:
    """:func:`rollup_bytes` a piece at a time, the day rows one user's at a time (a month of a
    million jobs is written without holding its file twice); the user entries, whose totals
    are checked (TotalsOverflow), are made before the first piece."""
    users = rollup.users
    names = sorted(users)
    head = orjson.dumps({"asof": asof, "month": month, "cluster": cluster,
                         "metrics": list(metrics.NAMES),
                         "users": [users[name].to_json(name) for name in names]})
    return chain((head[:-1] + b',"days":[',), _day_row_parts(users, names),
                 _rollup_tail(rollup))


def _day_row_parts(users: Dict[str, UserUsage], names: List[str]) -> Iterator[bytes]:
    """The rollup's day rows as the inside of a JSON list, one user's rows at a time."""
    first = True
    for name in names:
        rows = users[name].day_rows(name)
        if rows:
            inside = orjson.dumps(rows)[1:-1]
            yield inside if first else b"," + inside
            first = False


def _rollup_tail(rollup: Rollup) -> Iterator[bytes]:
    yield (b'],"carried":' + orjson.dumps(_ledger_rows(rollup.carried)) + b',"spilled":'
           + orjson.dumps(_ledger_rows(rollup.spilled)) + b"}\n")


class UserTotals:
    """A user's all-time file: usage per account, per month, and the span of their jobs."""

    def __init__(self) -> None:
        self.usage = UserUsage()
        self.months: Dict[str, Vector] = {}

    def add_month(self, month: str, usage: UserUsage) -> None:
        self.usage.merge(usage, with_days=False)
        metrics.add_into(self.months.setdefault(month, metrics.zero()), usage.totals)

    def entry(self, username: str) -> dict:
        return self.usage.to_json(username)

    def to_bytes(self, username: str, cluster: str, asof: str) -> bytes:
        document: Dict[str, object] = {"asof": asof, "cluster": cluster,
                                       "metrics": list(metrics.NAMES)}
        document.update(self.entry(username))
        document["months"] = {month: check_totals(vector, username)
                              for month, vector in sorted(self.months.items())}
        return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def load(cls, path: str) -> "UserTotals":
        totals = cls()
        data = load_object(path)
        if data is None:
            return totals
        totals.usage = UserUsage.from_json(data, path)
        months = data.get("months")
        if type(months) is not dict:
            raise StoreCorrupt(f"{path}: malformed user file")
        totals.months = {m: _vector(v, path) for m, v in months.items()}
        return totals


def load_alltime(path: str) -> Dict[str, dict]:
    """username -> all-time entry (totals, accounts, first_end, last_end) of one cluster, every
    vector checked."""
    data = load_object(path)
    if data is None:
        return {}
    entries = {}
    for entry in user_entries(data, path):
        UserUsage.from_json(entry, path)
        entries[entry["username"]] = entry
    return entries


def alltime_bytes(cluster: str, entries: Dict[str, dict], asof: str) -> bytes:
    document = {"asof": asof, "cluster": cluster, "metrics": list(metrics.NAMES),
                "users": [entries[name] for name in sorted(entries)]}
    return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)


HINT_READ_LIMIT = 256 << 20    # a previous month's Bloom file read for its size hint at most


def _items_before(path: str) -> int:
    try:
        return items_in(read_bytes(path, HINT_READ_LIMIT))
    except (OSError, UnsafePath, ValueError):
        return 0


def load_bloom(path: str, before: Optional[str] = None) -> BloomFilter:
    """The seen-set of one month; a new empty one when the file does not exist, sized from the
    month `before` (the path of the previous month's file) when that one exists."""
    try:
        data = read_bytes(path)
    except FileNotFoundError:
        return BloomFilter(capacity_after(_items_before(before)) if before else DEFAULT_CAPACITY)
    except (UnsafePath, ValueError) as err:
        raise BloomCorrupt(str(err)) from None
    try:
        return BloomFilter.from_bytes(data)
    except BloomCorrupt as err:
        raise BloomCorrupt(f"{path}: {err}") from None


# Which days a store's day rows put a job's usage on: "ran" (spread over the UTC days the job
# ran, since 0.3) or "ended" (all of it on the day it ended, before). A cluster's rule file
# lists the months whose own jobs are still counted on the old rule (``ended_months``: they
# leave it when fetched again, sb-backfill --resplit) and those that stay so because they cannot
# be fetched again (``kept_months``: slurmdbd purged their jobs, or they are older than the
# backfill start). A store without the file is a store written before it: every month it
# holds is on the old rule.
DAY_RULE = "ran"
OLD_DAY_RULE = "ended"


class DayRule(NamedTuple):
    ended: List[str]        # to fetch again
    kept: List[str]         # on the old rule for good


def _months_field(data: dict, key: str, path: str) -> List[str]:
    months = data.get(key, [])
    if type(months) is not list or not all(
            type(m) is str and _MONTH_NAME.fullmatch(m) for m in months):
        raise StoreCorrupt(f"{path}: malformed day rule")
    return sorted(set(months))


def load_day_rule(path: str, months: List[str]) -> DayRule:
    """The months of a cluster on the old rule: the rule file's lists, or every one of
    `months` (the cluster's rollups) when there is no rule file."""
    data = load_object(path)
    if data is None:
        return DayRule(sorted(months), [])
    if "ended_months" not in data:
        raise StoreCorrupt(f"{path}: malformed day rule")
    kept = _months_field(data, "kept_months", path)
    return DayRule([m for m in _months_field(data, "ended_months", path) if m not in kept], kept)


def _rollup_months(root: str, cluster: str) -> List[str]:
    return [month for month, _ in layout.rollup_paths(root, cluster)
            if _MONTH_NAME.fullmatch(month)]


def day_rule(root: str, cluster: str, lenient: bool = False) -> DayRule:
    """The cluster's day rule; with `lenient`, a damaged rule file counts as the old rule for
    every month (a writer rewrites it so: what it cannot tell is fetched again, never mixed)."""
    months = _rollup_months(root, cluster)
    try:
        return load_day_rule(layout.day_rule_file(root, cluster), months)
    except StoreCorrupt:
        if not lenient:
            raise
        return DayRule(sorted(months), [])


def ended_months(root: str, cluster: str) -> List[str]:
    """The months of a cluster whose jobs are counted on the day they ended (the old rule) and
    can be fetched again: what ``sb-backfill --resplit`` does."""
    return day_rule(root, cluster).ended


def day_rule_bytes(cluster: str, rule: DayRule, asof: str) -> bytes:
    kept = sorted(set(rule.kept))
    ended = sorted(set(rule.ended) - set(kept))
    return orjson.dumps({"asof": asof, "cluster": cluster,
                         "rule": OLD_DAY_RULE if ended or kept else DAY_RULE,
                         "ended_months": ended, "kept_months": kept},
                        option=orjson.OPT_APPEND_NEWLINE)
