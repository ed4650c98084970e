"""sb-dedupe's filter: ended job records not counted before pass, the rest are counted and
dropped (the store's Bloom files per cluster and month, read only; sb-reduce writes them)."""
from __future__ import annotations

import glob
import os
from collections import Counter
from datetime import datetime
from typing import BinaryIO, Callable, Dict, Iterator, Optional, Tuple

from ..core import layout
from ..core.names import safe_text
from ..core.ndjson import Writer, read_lines
from ..errors import BloomCorrupt, SkipRecord, ToolError
from ..ingest.records import check, latest_time, placement
from .bloom import BloomFilter, key_hash
from .recent import RECENT_KEYS, RecentKeys
from .store import load_bloom

Slot = Tuple[str, str]


class Dedupe:
    """Pass on the lines of records not seen before; `tell` hears each skipped line."""

    def __init__(self, root: str, cluster: Optional[str], now: datetime,
                 tell: Callable[[str], None]) -> None:
        self.root = root
        self.cluster = cluster
        self.latest = latest_time(now)
        self.tell = tell
        self.counts: Counter = Counter()
        self.blooms: Dict[Slot, BloomFilter] = {}
        self.slots: Dict[Slot, Slot] = {}
        self.passed = RecentKeys(RECENT_KEYS)

    def run(self, stream: BinaryIO, out: Writer) -> None:
        for lineno, record, line in read_lines(stream, "stdin", self._bad_line):
            self.counts["read"] += 1
            try:
                if self._is_new(record):
                    out.write_line(line)
            except SkipRecord as err:
                self.counts["skipped"] += 1
                self.tell(f"stdin:{lineno}: {safe_text(str(err))}")

    def _bad_line(self, source: str, lineno: int, message: str) -> None:
        self.counts["bad line"] += 1
        self.tell(f"{source}:{lineno}: {message}")

    def _is_new(self, parsed: object) -> bool:
        """Counts the record as held, seen or new; SkipRecord for one that is not a job."""
        record = check(parsed, self.latest)
        if not record["terminal"]:
            self.counts["held"] += 1
            return False
        place = placement(record, self.cluster)
        slot = (place.cluster, place.month)
        slot = self.slots.setdefault(slot, slot)   # one tuple a slot kept, not one a record
        h1, h2 = key_hash(place.key)
        if self._bloom(slot).has(h1, h2) or not self.passed.add((slot, h1)):
            self.counts["seen"] += 1
            return False
        self.counts["new"] += 1
        return True

    def _bloom(self, slot: Slot) -> BloomFilter:
        if slot not in self.blooms:
            try:
                self.blooms[slot] = load_bloom(layout.bloom_file(self.root, *slot))
            except BloomCorrupt as err:
                raise ToolError(f"{err}; refusing to guess what was counted "
                                f"(sb-backfill --cluster {slot[0]} --redo-month {slot[1]} "
                                "rebuilds it)") from None
        return self.blooms[slot]

    def summary(self) -> str:
        counts = self.counts
        return (f"{counts['read']} records, {counts['new']} new, {counts['seen']} seen before, "
                f"{counts['held']} not ended (held back), "
                f"{counts['skipped'] + counts['bad line']} skipped")


def bloom_stats(root: str, clusters, damaged: Callable[[str, str, str], None]) -> Iterator[dict]:
    """Each Bloom file's capacity, fill and false-positive rate; `damaged(cluster, month,
    error)` hears of each file that cannot be read."""
    for name in clusters:
        for path in sorted(glob.glob(os.path.join(layout.seen_dir(root, name), "*.bloom"))):
            month = os.path.basename(path)[:-6]
            try:
                bloom = load_bloom(path)
            except BloomCorrupt as err:
                damaged(name, month, str(err))
                continue
            entry = {"cluster": name, "month": month, "file": path,
                     "bytes": os.path.getsize(path)}
            entry.update(bloom.stats())
            yield entry
