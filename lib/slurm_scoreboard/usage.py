"""Measured usage: what jobs really used of what they were allocated, from the daily step poll.

``sacct -X`` (what every poll reads) prints no CPU time used; only step lines carry TotalCPU,
MaxRSS and TRESUsageInAve, and they cost slurmdbd several times more rows. So a daily step
poll (``sb-sacct --steps | sb-parse | sb-reduce --usage``) keeps, for each ended job that has
``cpu_used_s``, one entry in the file of the month it ended:

    clusters/<c>/agg/usage/YYYY-MM.json
    {"month": "YYYY-MM", "cluster": c, "asof": ..., "fields": [...FIELDS],
     "jobs": {"<record key>": [user, day, account, cpu_seconds, cpu_used_s, elapsed_s, nodes,
                               mem_bytes|null, max_rss_bytes|null, gpu_seconds, gpu_util|null]}}

Entries are keyed by the job's record key, so a job read by two polls is kept once (the later
reading wins); each month is one file written atomically, so a kill at any instant leaves either
the old file or the new one. Opted-out users are never written and are dropped from a month
when it is next written. Only numbers and usernames are kept.
"""
from __future__ import annotations

import os
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import orjson

from . import layout
from .files import atomic_file, list_folder, locked
from .records import MAX_BYTES, MAX_CPUS, MAX_ELAPSED, MAX_GPUS, MAX_NODES, Placement
from .store import StoreCorrupt, days_of, is_account, is_plain, load_object

FIELDS = ("user", "day", "account", "cpu_seconds", "cpu_used_s", "elapsed_s", "nodes",
          "mem_bytes", "max_rss_bytes", "gpu_seconds", "gpu_util")
Entry = list

_MAX_CPU_SECONDS = MAX_ELAPSED * MAX_CPUS
_MAX_GPU_SECONDS = MAX_ELAPSED * MAX_GPUS


def usage_dir(root: str, cluster: str) -> str:
    return os.path.join(layout.cluster_dir(root, cluster), "agg", "usage")


def usage_file(root: str, cluster: str, month: str) -> str:
    return os.path.join(usage_dir(root, cluster), month + ".json")


def usage_months(root: str, cluster: str) -> List[Tuple[str, str]]:
    """(month, path) of a cluster's usage files, oldest first (names of real months only)."""
    folder = usage_dir(root, cluster)
    found = []
    for name in sorted(list_folder(folder)):
        if name.endswith(".json") and layout.MONTH_NAME.fullmatch(name[:-5]):
            found.append((name[:-5], os.path.join(folder, name)))
    return found


def entry_of(record: dict, place: Placement) -> Optional[Entry]:
    """The usage entry of a checked, ended job record; None when it carries no measure."""
    if "cpu_used_s" not in record:
        return None
    return [record["user"], place.day, record["account"], record["cpu_seconds"],
            record["cpu_used_s"], record["elapsed_s"], record["nodes"], record["mem_bytes"],
            record["max_rss_bytes"], record["gpu_seconds"], record.get("gpu_util")]


def _count(value, bound: int) -> bool:
    return type(value) is int and 0 <= value <= bound


def _size(value) -> bool:
    return value is None or _count(value, MAX_BYTES)


def is_entry(entry, month: str) -> bool:
    """An entry as :func:`entry_of` writes them, for a real day of `month`."""
    if type(entry) is not list or len(entry) != len(FIELDS):
        return False
    user, day, account, cpu, used, elapsed, nodes, mem, rss, gpu, util = entry
    return (is_plain(user) and type(day) is str and day in days_of(month) and is_account(account)
            and _count(cpu, _MAX_CPU_SECONDS) and _count(used, _MAX_CPU_SECONDS)
            and _count(elapsed, MAX_ELAPSED) and _count(nodes, MAX_NODES) and _size(mem)
            and _size(rss) and _count(gpu, _MAX_GPU_SECONDS)
            and (util is None or _count(util, 100)))


def load_month(path: str, month: str) -> Dict[str, Entry]:
    """key -> entry of one usage file (empty when it does not exist); StoreCorrupt when it is
    not one sb-reduce wrote."""
    data = load_object(path)
    if data is None:
        return {}
    jobs = data.get("jobs")
    if data.get("month") != month or type(jobs) is not dict:
        raise StoreCorrupt(f"{path}: not a usage file of {month}")
    for key, entry in jobs.items():
        if not is_entry(entry, month):
            raise StoreCorrupt(f"{path}: malformed entry {key[:80]!r}")
    return jobs


def write_month(path: str, month: str, cluster: str, jobs: Dict[str, Entry], asof: str) -> None:
    with atomic_file(path) as out:
        out.write(orjson.dumps({"month": month, "cluster": cluster, "asof": asof,
                                "fields": list(FIELDS), "jobs": jobs},
                               option=orjson.OPT_APPEND_NEWLINE))


FLUSH_AT = 100_000      # entries held before they are merged into their files


class UsageWriter:
    """Gather entries per month and merge them into the month's file (a later reading of a job
    replaces the earlier one); at most :data:`FLUSH_AT` entries are held between merges."""

    def __init__(self, root: str, cluster: str, asof: str,
                 opted_out: Callable[[str], bool] = lambda user: False):
        self.root = root
        self.cluster = cluster
        self.asof = asof
        self.opted_out = opted_out
        self.pending: Dict[str, Dict[str, Entry]] = {}
        self.held = 0
        self.added: Dict[str, int] = {}

    def add(self, key: str, month: str, entry: Entry) -> None:
        self.pending.setdefault(month, {})[key] = entry
        self.held += 1
        if self.held >= FLUSH_AT:
            self.commit()

    def commit(self) -> Dict[str, int]:
        """Write every month with entries held; opted-out users leave it. Returns month ->
        entries that were not in its file before, over every commit."""
        for month, entries in sorted(self.pending.items()):
            path = usage_file(self.root, self.cluster, month)
            # the store lock: a reader finishing another writer's interrupted update sweeps
            # temporary files under agg/, so never while one of ours is being written
            with locked(layout.store_lock(self.root, self.cluster)):
                jobs = load_month(path, month)
                before = len(jobs)
                jobs.update(entries)
                jobs = {key: entry for key, entry in jobs.items()
                        if not self.opted_out(entry[0])}
                self.added[month] = self.added.get(month, 0) + max(0, len(jobs) - before)
                write_month(path, month, self.cluster, jobs, self.asof)
        self.pending.clear()
        self.held = 0
        return self.added


def entries_in(jobs: Dict[str, Entry], first_day: Optional[str],
               last_day: Optional[str]) -> Iterator[Entry]:
    """The entries of jobs that ended from `first_day` to `last_day` (None: no bound)."""
    for entry in jobs.values():
        if (first_day is None or entry[1] >= first_day) and \
                (last_day is None or entry[1] <= last_day):
            yield entry
