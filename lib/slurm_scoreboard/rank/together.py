"""The all-cluster boards' sums, kept between rebuilds (``leaderboards/.cache/all.json``).

Merging every cluster's usage at each rebuild costs what the whole site holds, whatever the
poll changed. So the sums are kept beside the clusters' summaries (summaries.py), with the key
of each cluster's part they hold and, per user and account, how many clusters have it. While
every cluster's summary file holds the very part the sums hold, a rebuild takes the sums,
subtracts what a changed cluster's file held and adds what it holds now (counts: exact), and
subtracts what a cluster it cannot read held; anything else (a cluster added, a file that does
not check out, sums that do not contain what is to be taken out) merges every cluster's usage
again. The measured sums are floats, whose last bits depend on the order they were added in:
they are taken whole only while every cluster's measured part is the one they hold, and summed
again in the clusters' order otherwise. Written after the all-cluster boards, trusted and
checked as the clusters' summaries are.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from ..store import reading
from . import summaries
from .clusters import Cluster, Found
from .scope import Run, collect, merged_measured

Counts = Dict[str, Dict[str, Dict[str, List[int]]]]   # window -> user -> account -> [clusters]


class Sums:
    """The all-cluster usage being brought up to date, cluster by cluster, and the measured
    sums; :meth:`save` keeps them."""

    def __init__(self, run: Run, clusters: Sequence[Cluster]) -> None:
        self.run = run
        self.names = [cluster.name for cluster in clusters]
        self.lines = summaries.together_lines(run.root)
        self.header = summaries.together_header(self.lines)
        self.failed = False
        self.measured_from: set = set()
        self.measured_kept = False          # the measured sums are the file's
        opened = self._open(clusters) if self._usage_holds(clusters) else None
        self.incremental = opened is not None
        self.usage: Dict[str, reading.Usage] = {window.name: {} for window in run.wanted}
        self.counts: Counts = {window.name: {} for window in run.wanted}
        if opened is not None:
            self.usage, self.counts = opened

    def _usage_holds(self, clusters: Sequence[Cluster]) -> bool:
        """Whether every cluster's summary file holds the usage part the sums hold."""
        if self.header is None or [record[0] for record in self.header.records] != self.names:
            return False
        return all(record[2] is not None and cluster.header is not None
                   and cluster.header.keys["usage"] == record[2]
                   for record, cluster in zip(self.header.records, clusters))

    def _open(self, clusters: Sequence[Cluster]) -> Optional[tuple]:
        """(usage, counts) of the file, checked whole and against each other; None when they
        do not check out."""
        if self.lines is None or self.header is None:
            return None
        wanted, optout = self.run.wanted, self.run.optout
        usage = summaries.together_part(self.lines, self.header, "usage", wanted, optout)
        if usage is None:
            return None
        counts = summaries.together_part(self.lines, self.header, "counts", wanted, optout)
        if counts is None or not all(_same_entries(usage[name], counts[name])
                                     for name in usage):
            return None
        return usage, counts

    def measured(self, clusters: Sequence[Cluster]) -> dict:
        """window name -> the measured sums of `clusters`, in their order: the file's while
        it holds exactly theirs, else summed again."""
        records = [(cluster.name, cluster.keys.get("measured")) for cluster in clusters]
        if self.lines is not None and self.header is not None and \
                all(key is not None for _, key in records) and \
                [record[:2] for record in self.header.records] == records:
            kept = summaries.together_part(self.lines, self.header, "measured",
                                           self.run.wanted, self.run.optout)
            if kept is not None:
                self.measured_from = {cluster.name for cluster in clusters}
                self.measured_kept = True
                return kept
        self.measured_kept = False
        parts = [(cluster.name, cluster.measured(self.run)) for cluster in clusters]
        self.measured_from = {name for name, part in parts if part is not None}
        return merged_measured([part for _, part in parts if part is not None], self.run.wanted)

    # -- bringing the usage up to date ----------------------------------------------------------

    def take(self, cluster: Cluster, found: Found) -> Found:
        """Add a cluster that could be read; what it found, read when it had to be."""
        if self.incremental and not self.failed:
            if cluster.holds("usage"):
                return found                     # the sums hold this very part
            if not self._subtract(cluster.old_usage(self.run)):
                self.failed = True
                return found
        usage = cluster.kept_usage(self.run) if isinstance(found, str) else found
        if usage is not None and not self.failed:
            _add(self.usage, self.counts, usage)
        return usage

    def leave_out(self, cluster: Cluster) -> None:
        """A cluster that could not be read: out of the sums, as out of the boards."""
        if self.incremental and not self.failed and \
                not self._subtract(cluster.old_usage(self.run)):
            self.failed = True

    def _subtract(self, usage: Optional[Dict[str, reading.Usage]]) -> bool:
        """Take `usage` out of the sums; False (nothing changed) when they do not hold it."""
        if usage is None or not all(_holds(self.usage[name], self.counts[name], part)
                                    for name, part in usage.items()):
            return False
        for name, part in usage.items():
            _take_out(self.usage[name], self.counts[name], part)
        return True

    def finish(self, readable: Sequence[Cluster]) -> Dict[str, reading.Usage]:
        """The all-cluster usage; every readable cluster's store read again and merged when
        the sums could not be kept up to date (the file did not add up)."""
        if self.failed:
            self.usage = {window.name: {} for window in self.run.wanted}
            self.counts = {window.name: {} for window in self.run.wanted}
            run = self.run
            for cluster in readable:
                usage = collect(run.root, cluster.name, run.wanted, run.optout, run.wait,
                                run.damage)
                _add(self.usage, self.counts, usage or {})
        return self.usage

    def efficiency_holds(self, boards: dict) -> bool:
        """Whether the all-cluster efficiency boards are what the file vouches for: made from
        the measured sums it holds, with these settings, and untouched since."""
        return self.measured_kept and self.header is not None and self.header.boards == boards

    def save(self, clusters: Sequence[Cluster], readable: Sequence[Cluster],
             measured: dict, boards: dict) -> None:
        """Keep the sums, each cluster recorded with the keys of what they hold of it, and
        the all-cluster efficiency boards written from the measured sums."""
        included = {cluster.name for cluster in readable if cluster.clean}
        records = [(cluster.name,
                    cluster.keys.get("measured") if cluster.name in self.measured_from and
                    cluster.name in included else None,
                    cluster.keys.get("usage") if cluster.name in included else None)
                   for cluster in clusters]
        lines = {"measured": summaries.line(measured), "usage": summaries.line(self.usage),
                 "counts": summaries.line(self.counts)}
        if all(line is not None for line in lines.values()):
            summaries.save_together(self.run.root, records, boards,
                                    lines)   # type: ignore[arg-type]


def _same_entries(usage: reading.Usage, counts: dict) -> bool:
    return usage.keys() == counts.keys() and all(
        accounts.keys() == counts[user].keys() for user, accounts in usage.items())


def _add(sums: Dict[str, reading.Usage], counts: Counts,
         usage: Dict[str, reading.Usage]) -> None:
    for name, part in usage.items():
        reading.merge_into(sums[name], part)
        mine = counts[name]
        for user, accounts in part.items():
            held = mine.get(user)
            if held is None:
                held = mine[user] = {}
            for account in accounts:
                number = held.get(account)
                if number is None:
                    held[account] = [1]
                else:
                    number[0] += 1


def _holds(sums: reading.Usage, counts: dict, part: reading.Usage) -> bool:
    """Whether the sums hold `part`: each of its entries there, no smaller, and the whole
    of it where it is the only cluster's."""
    for user, accounts in part.items():
        held, number = sums.get(user, {}), counts.get(user, {})
        for account, vector in accounts.items():
            total, clusters = held.get(account), number.get(account)
            if total is None or clusters is None:
                return False
            if total != vector if clusters[0] == 1 else \
                    any(have < take for have, take in zip(total, vector)):
                return False
    return True


def _take_out(sums: reading.Usage, counts: dict, part: reading.Usage) -> None:
    for user, accounts in part.items():
        held, number = sums[user], counts[user]
        for account, vector in accounts.items():
            if number[account][0] == 1:
                del held[account], number[account]
            else:
                number[account][0] -= 1
                total = held[account]
                for index, value in enumerate(vector):
                    total[index] -= value
        if not held:
            del sums[user], counts[user]
