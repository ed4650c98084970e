"""The aggregates on disk: monthly rollups, per-user all-time files, and the cluster's all-time
index, all written by sb-reduce in one journaled update.

Monthly rollup ``clusters/<c>/agg/rollups/monthly/YYYY-MM.json`` (jobs attributed to the UTC
month of their end)::

    {"asof": "2025-08-26T12:00:00Z", "month": "2025-08", "cluster": "hammer",
     "metrics": ["clock_seconds", "elapsed_seconds", "gpu_clock_seconds",
                 "gpu_elapsed_seconds", "failed_jobs", "jobs"],
     "users": [{"username": "alice",
                "total_clock_hours": 226.5, "total_elapsed_hours": 153.5,
                "total_gpu_clock_hours": 62.0, "gpu_elapsed_hours": 37.0,
                "count_failed_jobs": 2, "jobs": 9,
                "totals": [815400, 552600, 223200, 133200, 2, 9],
                "accounts": {"physics": [815400, 552600, 223200, 133200, 2, 9]}}],
     "days": [["alice", "2025-08-01", "physics", 815400, 552600, 223200, 133200, 2, 9]]}

The seed's fields (``total_*_hours``, ``count_failed_jobs``) are derived from ``totals``, the
exact integer vector in ``metrics`` order; ``accounts`` breaks it down by SLURM account, and the
flat ``days`` rows (user, UTC day, account, vector) by day, so windows are exact to the day and
groups can be ranked. Rows are flat so a reader that needs only the totals parses them cheaply.

User file ``clusters/<c>/agg/users/<user>.json``: one user's fields over all time, with
``months`` (month -> vector), ``first_end`` and ``last_end``.

All-time index ``clusters/<c>/agg/alltime.json``: every user's all-time ``totals`` and
``accounts`` in one file, so ranking reads one file per cluster instead of one per user.
"""
from __future__ import annotations

from typing import Dict, Iterator, Optional, Tuple

import orjson

from . import metrics
from .bloom import BloomCorrupt, BloomFilter
from .files import read_json

Vector = metrics.Vector


class StoreCorrupt(ValueError):
    """A store file that cannot be read; the message names it."""


def _vector(value, where: str) -> Vector:
    if not isinstance(value, list) or len(value) != metrics.SIZE:
        raise StoreCorrupt(f"{where}: bad metric vector")
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        raise StoreCorrupt(f"{where}: bad metric vector") from None


class UserUsage:
    """One user's usage in one month (or all time): totals, per account, per day and account."""

    def __init__(self) -> None:
        self.totals: Vector = metrics.zero()
        self.accounts: Dict[str, Vector] = {}
        self.days: Dict[Tuple[str, str], Vector] = {}

    def add(self, account: str, day: Optional[str], vector: Vector) -> None:
        metrics.add_into(self.totals, vector)
        metrics.add_into(self.accounts.setdefault(account, metrics.zero()), vector)
        if day is not None:
            metrics.add_into(self.days.setdefault((day, account), metrics.zero()), vector)

    def merge(self, other: "UserUsage", with_days: bool = True) -> None:
        metrics.add_into(self.totals, other.totals)
        for account, vector in other.accounts.items():
            metrics.add_into(self.accounts.setdefault(account, metrics.zero()), vector)
        if with_days:
            for cell, vector in other.days.items():
                metrics.add_into(self.days.setdefault(cell, metrics.zero()), vector)

    def to_json(self, username: str) -> dict:
        entry = {"username": username}
        entry.update(metrics.seed_fields(self.totals))
        entry["jobs"] = self.totals[5]
        entry["totals"] = self.totals
        entry["accounts"] = dict(sorted(self.accounts.items()))
        return entry

    def day_rows(self, username: str) -> Iterator[list]:
        for (day, account), vector in sorted(self.days.items()):
            yield [username, day, account] + vector

    @classmethod
    def from_json(cls, entry: dict, where: str) -> "UserUsage":
        usage = cls()
        try:
            usage.totals = _vector(entry["totals"], where)
            usage.accounts = {str(a): _vector(v, where) for a, v in entry["accounts"].items()}
        except (KeyError, AttributeError, TypeError):
            raise StoreCorrupt(f"{where}: malformed user entry") from None
        return usage


def load_object(path: str) -> Optional[dict]:
    try:
        data = read_json(path)
    except orjson.JSONDecodeError:
        raise StoreCorrupt(f"{path}: not valid JSON") from None
    if data is not None and not isinstance(data, dict):
        raise StoreCorrupt(f"{path}: not a JSON object")
    return data


def _users(data: dict, path: str) -> Dict[str, UserUsage]:
    try:
        return {str(entry["username"]): UserUsage.from_json(entry, path) for entry in data["users"]}
    except (KeyError, TypeError):
        raise StoreCorrupt(f"{path}: malformed user list") from None


def load_rollup(path: str) -> Dict[str, UserUsage]:
    """username -> usage (with days) for one month; empty when the file does not exist."""
    data = load_object(path)
    if data is None:
        return {}
    users = _users(data, path)
    try:
        for row in data["days"]:
            usage = users[row[0]]
            usage.days[(row[1], row[2])] = _vector(row[3:], path)
    except (KeyError, TypeError, IndexError):
        raise StoreCorrupt(f"{path}: malformed day rows") from None
    return users


def rollup_bytes(month: str, cluster: str, users: Dict[str, UserUsage], asof: str) -> bytes:
    names = sorted(users)
    document = {"asof": asof, "month": month, "cluster": cluster,
                "metrics": list(metrics.NAMES),
                "users": [users[name].to_json(name) for name in names],
                "days": [row for name in names for row in users[name].day_rows(name)]}
    return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)


class UserTotals:
    """A user's all-time file: usage per account, per month, and the span of their jobs."""

    def __init__(self) -> None:
        self.usage = UserUsage()
        self.months: Dict[str, Vector] = {}
        self.first_end: Optional[str] = None
        self.last_end: Optional[str] = None

    def add_month(self, month: str, usage: UserUsage, first_end: str, last_end: str) -> None:
        self.usage.merge(usage, with_days=False)
        metrics.add_into(self.months.setdefault(month, metrics.zero()), usage.totals)
        self.first_end = min(filter(None, (self.first_end, first_end)))
        self.last_end = max(filter(None, (self.last_end, last_end)))

    def entry(self, username: str) -> dict:
        entry = self.usage.to_json(username)
        entry["first_end"] = self.first_end
        entry["last_end"] = self.last_end
        return entry

    def to_bytes(self, username: str, cluster: str, asof: str) -> bytes:
        document = {"asof": asof, "cluster": cluster, "metrics": list(metrics.NAMES)}
        document.update(self.entry(username))
        document["months"] = dict(sorted(self.months.items()))
        return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def load(cls, path: str) -> "UserTotals":
        totals = cls()
        data = load_object(path)
        if data is None:
            return totals
        totals.usage = UserUsage.from_json(data, path)
        try:
            totals.months = {str(m): _vector(v, path) for m, v in data["months"].items()}
        except (KeyError, AttributeError):
            raise StoreCorrupt(f"{path}: malformed user file") from None
        totals.first_end = data.get("first_end")
        totals.last_end = data.get("last_end")
        return totals


def load_alltime(path: str) -> Dict[str, dict]:
    """username -> all-time entry (totals, accounts, first_end, last_end) of one cluster."""
    data = load_object(path)
    if data is None:
        return {}
    try:
        return {str(entry["username"]): entry for entry in data["users"]}
    except (KeyError, TypeError):
        raise StoreCorrupt(f"{path}: malformed user list") from None


def alltime_bytes(cluster: str, entries: Dict[str, dict], asof: str) -> bytes:
    document = {"asof": asof, "cluster": cluster, "metrics": list(metrics.NAMES),
                "users": [entries[name] for name in sorted(entries)]}
    return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)


def load_bloom(path: str) -> BloomFilter:
    """The seen-set of one month; a new empty one when the file does not exist."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return BloomFilter()
    try:
        return BloomFilter.from_bytes(data)
    except BloomCorrupt as err:
        raise BloomCorrupt(f"{path}: {err}") from None
