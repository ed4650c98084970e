"""The aggregates on disk: monthly rollups and per-user all-time files of one cluster.

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
                "accounts": {"physics": [...]},
                "days": {"2025-08-01": {"physics": [...]}}}]}

The seed's fields (``total_*_hours``, ``count_failed_jobs``) are derived from ``totals``, the
exact integer vector in ``metrics`` order; ``accounts`` breaks it down by SLURM account and
``days`` by UTC day and account, so windows are exact to the day and groups can be ranked.

User file ``clusters/<c>/agg/users/<user>.json``: the same fields over all time, with ``months``
(month -> vector), ``first_end`` and ``last_end``.
"""
from __future__ import annotations

from typing import Dict, Optional

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
    return [int(v) for v in value]


class UserUsage:
    """One user's usage in one month (or all time): totals, per account, per day and account."""

    def __init__(self) -> None:
        self.totals: Vector = metrics.zero()
        self.accounts: Dict[str, Vector] = {}
        self.days: Dict[str, Dict[str, Vector]] = {}

    def add(self, account: str, day: Optional[str], vector: Vector) -> None:
        metrics.add_into(self.totals, vector)
        metrics.add_into(self.accounts.setdefault(account, metrics.zero()), vector)
        if day is not None:
            metrics.add_into(self.days.setdefault(day, {}).setdefault(account, metrics.zero()),
                             vector)

    def merge(self, other: "UserUsage", with_days: bool = True) -> None:
        metrics.add_into(self.totals, other.totals)
        for account, vector in other.accounts.items():
            metrics.add_into(self.accounts.setdefault(account, metrics.zero()), vector)
        if not with_days:
            return
        for day, accounts in other.days.items():
            for account, vector in accounts.items():
                metrics.add_into(self.days.setdefault(day, {}).setdefault(account, metrics.zero()),
                                 vector)

    def to_json(self, username: str, with_days: bool) -> dict:
        entry = {"username": username}
        entry.update(metrics.seed_fields(self.totals))
        entry["jobs"] = self.totals[5]
        entry["totals"] = self.totals
        entry["accounts"] = dict(sorted(self.accounts.items()))
        if with_days:
            entry["days"] = {day: dict(sorted(accts.items()))
                             for day, accts in sorted(self.days.items())}
        return entry

    @classmethod
    def from_json(cls, entry: dict, where: str) -> "UserUsage":
        usage = cls()
        try:
            usage.totals = _vector(entry["totals"], where)
            usage.accounts = {str(a): _vector(v, where) for a, v in entry["accounts"].items()}
            usage.days = {str(d): {str(a): _vector(v, where) for a, v in accts.items()}
                          for d, accts in entry.get("days", {}).items()}
        except (KeyError, AttributeError, TypeError, ValueError) as err:
            if isinstance(err, StoreCorrupt):
                raise
            raise StoreCorrupt(f"{where}: malformed user entry") from None
        return usage


def _load(path: str) -> Optional[dict]:
    try:
        data = read_json(path)
    except orjson.JSONDecodeError:
        raise StoreCorrupt(f"{path}: not valid JSON") from None
    if data is not None and not isinstance(data, dict):
        raise StoreCorrupt(f"{path}: not a JSON object")
    return data


def load_rollup(path: str) -> Dict[str, UserUsage]:
    """username -> usage for one month; empty when the file does not exist."""
    data = _load(path)
    if data is None:
        return {}
    try:
        return {entry["username"]: UserUsage.from_json(entry, path) for entry in data["users"]}
    except (KeyError, TypeError):
        raise StoreCorrupt(f"{path}: malformed rollup") from None


def rollup_bytes(month: str, cluster: str, users: Dict[str, UserUsage], asof: str) -> bytes:
    document = {"asof": asof, "month": month, "cluster": cluster,
                "metrics": list(metrics.NAMES),
                "users": [users[name].to_json(name, with_days=True) for name in sorted(users)]}
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

    def to_bytes(self, username: str, cluster: str, asof: str) -> bytes:
        document = {"asof": asof, "cluster": cluster, "metrics": list(metrics.NAMES)}
        document.update(self.usage.to_json(username, with_days=False))
        document["months"] = dict(sorted(self.months.items()))
        document["first_end"] = self.first_end
        document["last_end"] = self.last_end
        return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def load(cls, path: str) -> "UserTotals":
        totals = cls()
        data = _load(path)
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
