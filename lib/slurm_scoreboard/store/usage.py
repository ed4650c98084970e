"""Measured usage: what jobs really used of what they were allocated, from the daily step poll.

``sacct -X`` (what every poll reads) prints no CPU time used; only step lines carry TotalCPU,
MaxRSS and TRESUsageInAve, and they cost slurmdbd several times more rows. So a daily step
poll (``sb-sacct --steps | sb-parse | sb-reduce --usage``) keeps, for each ended job that has
``cpu_used_s``, one entry in the file of the UTC day it ended:

    clusters/<c>/agg/usage/YYYY-MM-DD.json
    {"day": "YYYY-MM-DD", "cluster": c, "asof": ..., "fields": [...FIELDS],
     "jobs": {"<record key>": [user, day, account, cpu_seconds, cpu_used_s, elapsed_s, nodes,
                               mem_bytes|null, max_rss_bytes|null, gpu_seconds, gpu_util|null,
                               first_s, last_s]}}

``first_s`` and ``last_s`` are the seconds since 1970 the job's usage is spread over
(metrics.span_of), so the efficiency boards count each window's share of it, as the usage
boards do; entries written before them (11 fields) count whole on their day.

Entries are keyed by the job's record key, so a job read by two polls is kept once (the later
reading wins); each day is one file written atomically, so a kill at any instant leaves either
the old file or the new one, and a writer or reader holds one day's jobs at a time. A day file
that cannot be read (damaged, or planted by a writer of the root) is replaced by what the next
reading of that day brings. Opted-out users are never written and are erased from every day
(:func:`erase_users`). Only numbers and usernames are kept.
"""
from __future__ import annotations

import os
import re
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import orjson

from ..core import layout
from ..core.files import atomic_write, list_folder, locked
from ..core.times import day_seconds
from ..errors import StoreCorrupt, UnsafePath
from ..ingest.records import MAX_BYTES, MAX_CPUS, MAX_ELAPSED, MAX_GPUS, MAX_NODES, Placement
from .metrics import DAY, SUSPENDED_SLACK, span_of
from .store import days_of, is_account, is_plain, load_object

FIELDS = ("user", "day", "account", "cpu_seconds", "cpu_used_s", "elapsed_s", "nodes",
          "mem_bytes", "max_rss_bytes", "gpu_seconds", "gpu_util", "first_s", "last_s")
UNSPREAD = len(FIELDS) - 2      # the fields of an entry written before spans were kept
Entry = list
Jobs = Dict[str, Entry]

_MAX_CPU_SECONDS = MAX_ELAPSED * MAX_CPUS
_MAX_GPU_SECONDS = MAX_ELAPSED * MAX_GPUS
_DAY_NAME = re.compile(r"([0-9]{4}-[0-9]{2})-[0-9]{2}")


def usage_days(root: str, cluster: str) -> List[Tuple[str, str]]:
    """(day, path) of a cluster's usage files, oldest first (names of real days only)."""
    folder = layout.usage_dir(root, cluster)
    found = []
    for name in sorted(list_folder(folder)):
        day = name[:-5]
        matched = _DAY_NAME.fullmatch(day) if name.endswith(".json") else None
        if matched and day in days_of(matched.group(1)):
            found.append((day, os.path.join(folder, name)))
    return found


def entry_of(record: dict, place: Placement) -> Optional[Entry]:
    """The usage entry of a checked, ended job record; None when it carries no measure."""
    if "cpu_used_s" not in record:
        return None
    first, last = span_of(record)
    return [record["user"], place.day, record["account"], record["cpu_seconds"],
            record["cpu_used_s"], record["elapsed_s"], record["nodes"], record["mem_bytes"],
            record["max_rss_bytes"], record["gpu_seconds"], record.get("gpu_util"), first, last]


def _count(value, bound: int) -> bool:
    return type(value) is int and 0 <= value <= bound


def _size(value) -> bool:
    return value is None or _count(value, MAX_BYTES)


def is_entry(entry, day: str) -> bool:
    """An entry as :func:`entry_of` writes them, for `day`."""
    if type(entry) is not list or len(entry) not in (len(FIELDS), UNSPREAD):
        return False
    user, when, account, cpu, used, elapsed, nodes, mem, rss, gpu, util = entry[:UNSPREAD]
    return (is_plain(user) and when == day and is_account(account)
            and _count(cpu, _MAX_CPU_SECONDS) and _count(used, _MAX_CPU_SECONDS)
            and _count(elapsed, MAX_ELAPSED) and _count(nodes, MAX_NODES) and _size(mem)
            and _size(rss) and _count(gpu, _MAX_GPU_SECONDS)
            and (util is None or _count(util, 100)) and _is_span(entry[UNSPREAD:], day))


def _is_span(span: list, day: str) -> bool:
    """No span (an entry written before spans were kept), or one that ends on `day` and lasts
    no longer than a job may (records.MAX_ELAPSED, and the slack of metrics.span_of)."""
    if not span:
        return True
    first, last = span
    start = day_seconds(day)
    return (type(first) is int and type(last) is int and start <= last <= start + DAY
            and 0 <= last - first <= MAX_ELAPSED + SUSPENDED_SLACK)


DAY_LIMIT = 1 << 28     # 256 MiB: a day of two million jobs; a bigger file is damage


def load_day(path: str, day: str) -> Jobs:
    """key -> entry of one usage file (empty when it does not exist); StoreCorrupt when it is
    not one sb-reduce wrote (or larger than :data:`DAY_LIMIT`: never read into memory)."""
    data = load_object(path, DAY_LIMIT)
    if data is None:
        return {}
    jobs = data.get("jobs")
    if data.get("day") != day or type(jobs) is not dict:
        raise StoreCorrupt(f"{path}: not a usage file of {day}")
    for key, entry in jobs.items():
        if not is_entry(entry, day):
            raise StoreCorrupt(f"{path}: malformed entry {key[:80]!r}")
    return jobs


def write_day(path: str, day: str, cluster: str, jobs: Jobs, asof: str) -> None:
    atomic_write(path, orjson.dumps({"day": day, "cluster": cluster, "asof": asof,
                                     "fields": list(FIELDS), "jobs": jobs},
                                    option=orjson.OPT_APPEND_NEWLINE))


FLUSH_AT = 100_000      # entries held before they are merged into their files

Warn = Callable[[str], None]


class UsageWriter:
    """Gather entries per day and merge them into the day's file (a later reading of a job
    replaces the earlier one); at most :data:`FLUSH_AT` entries are held between merges."""

    def __init__(self, root: str, cluster: str, asof: str,
                 opted_out: Callable[[str], bool] = lambda user: False,
                 warn: Warn = lambda message: None):
        self.root = root
        self.cluster = cluster
        self.asof = asof
        self.opted_out = opted_out
        self.warn = warn
        self.pending: Dict[str, Jobs] = {}
        self.held = 0
        self.added: Dict[str, int] = {}
        self.unwritten: List[str] = []

    def add(self, key: str, day: str, entry: Entry) -> None:
        self.pending.setdefault(day, {})[key] = entry
        self.held += 1
        if self.held >= FLUSH_AT:
            self.commit()

    def commit(self) -> Dict[str, int]:
        """Write every day with entries held; opted-out users leave it. Returns day -> entries
        that were not in its file before, over every commit."""
        for day, entries in sorted(self.pending.items()):
            path = layout.usage_file(self.root, self.cluster, day)
            # the store lock: a reader finishing another writer's interrupted update sweeps
            # temporary files under agg/, so never while one of ours is being written
            with locked(layout.store_lock(self.root, self.cluster)):
                try:
                    jobs = load_day(path, day)
                except StoreCorrupt as err:
                    self.warn(f"{err}; replaced by the jobs of this input (what it held "
                              "cannot be read)")
                    jobs = {}
                before = len(jobs)
                jobs.update(entries)
                jobs = {key: entry for key, entry in jobs.items()
                        if not self.opted_out(entry[0])}
                try:
                    write_day(path, day, self.cluster, jobs, self.asof)
                except (OSError, UnsafePath) as err:
                    self.warn(f"{path}: cannot be written ({getattr(err, 'strerror', None) or err}"
                              f"); the jobs of {day} are not kept: remove what stands there")
                    self.unwritten.append(day)
                    continue
                self.added[day] = self.added.get(day, 0) + max(0, len(jobs) - before)
        self.pending.clear()
        self.held = 0
        return self.added


def erase_users(root: str, cluster: str, users: Iterable[str], asof: str) -> int:
    """Take `users` (who opted out) out of every usage file of the cluster; returns the number
    of files rewritten. A file that cannot be read is left as it is: nothing reads it."""
    gone = set(users)
    rewritten = 0
    if not gone:
        return 0
    for day, path in usage_days(root, cluster):
        with locked(layout.store_lock(root, cluster)):
            try:
                jobs = load_day(path, day)
            except StoreCorrupt:
                continue
            kept = {key: entry for key, entry in jobs.items() if entry[0] not in gone}
            if len(kept) < len(jobs):
                write_day(path, day, cluster, kept, asof)
                rewritten += 1
    return rewritten
