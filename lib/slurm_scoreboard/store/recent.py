"""The keys a filter met lately: a set whose oldest keys are forgotten, so memory stays flat."""
from __future__ import annotations

from collections import deque

RECENT_KEYS = 200_000      # keys of this input remembered, so a job twice in one fetch passes once


class RecentKeys:
    """The last `limit` keys seen, in a set with a queue that forgets the oldest: memory stays
    flat however long the input. A duplicate further apart than that (rare: sacct's windows do
    not overlap) passes on, and sb-reduce, which checks every key, counts it once."""

    def __init__(self, limit: int):
        self.limit = limit
        self.keys: set = set()
        self.order: deque = deque()

    def add(self, key) -> bool:
        """False when `key` is among the recent keys; else remember it and return True."""
        if key in self.keys:
            return False
        self.keys.add(key)
        self.order.append(key)
        if len(self.order) > self.limit:
            self.keys.discard(self.order.popleft())
        return True
