"""What every user and group gained each UTC month, for charts (sb-view's sparklines, the
site's player pages): the history pass's :class:`Progress` keeps each name's gains per month,
and :func:`write` puts them beside the boards, one file per scope and kind::

    leaderboards/progress/all_<kind>.ndjson                every cluster merged
    leaderboards/progress/cluster-<cluster>_<kind>.ndjson  one cluster

A header line, then one line per name that ever gained in a skill there, sorted by name::

    {"asof": "...Z", "format": "slurm-scoreboard-progress", "version": 1, "scope": "all",
     "kind": "users", "skills": ["clock_hours", ...]}
    {"name": "alice", "months": ["2025-11", "2025-12"],
     "xp": {"overall": [..], "clock_hours": [..], ...}, "value": {"clock_hours": [..], ...}}

``months`` lists the months with a gain in a skill, oldest first; each list is aligned with it:
the value gained in that month (usage counted on the days it happened, opted-out users left out
and groups summed without them, as on the boards) and its XP, ``xp_of`` of that value (so the
``month`` board at any time in that month, or at its end for a past month, gives the same
numbers); ``overall`` is the sum of the skills' XP. A file is rewritten only when its lines
changed (its ``asof`` is the time they last did); a cluster no longer ranked loses its files.

A pass resumed from the checkpoint gets the months before the checkpoint's month back from the
file kept with it (checkpoint.py: ``leaderboards/history_months.ndjson``, named by the
checkpoint and checked against the totals it adds up to), so a poll's pass reads no rollup it
did not read before.
"""
from __future__ import annotations

import os
from array import array
from itertools import chain
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import orjson

from ..boardfiles import KINDS, holds_but_asof
from ..core import layout, xp
from ..core.files import atomic_write, list_folder, makedirs, remove_synced
from ..core.ndjson import joined
from ..store.metrics import LARGEST, METRICS
from .history import SKILLS, Key, Observer, Row, Vector

FORMAT = "slurm-scoreboard-progress"
VERSION = 1
INDICES = tuple(METRICS[skill][0] for skill in SKILLS)
WIDTH = len(SKILLS)
Gains = Tuple[List[str], array]          # the months (oldest first), WIDTH sums for each


class Progress(Observer):
    """Each key's gains in every skill, per UTC month (kept as the pass goes, a key's months
    in one flat array of integers: a site's every name times every month it ran)."""

    def __init__(self, kept: Optional[Dict[Key, Gains]] = None) -> None:
        self.gains: Dict[Key, Gains] = {} if kept is None else kept

    def day(self, day: str, rows: Sequence[Row], gains: Dict[Key, Vector],
            totals: Dict[Key, Vector]) -> None:
        month = day[:7]
        for key, gain in gains.items():
            entry = self.gains.get(key)
            if entry is None:
                entry = self.gains[key] = ([], array("q"))
            months, sums = entry
            if not months or months[-1] != month:
                months.append(month)
                sums.extend([0] * WIDTH)
            base = len(sums) - WIDTH
            for offset, index in enumerate(INDICES):
                if gain[index]:
                    _add(sums, base + offset, gain[index])


def _add(sums: array, at: int, amount: int) -> None:
    """Add to one sum, held at the largest a board shows (a crafted store's sums only)."""
    try:
        sums[at] += amount
    except OverflowError:
        sums[at] = LARGEST


def encode(gains: Dict[Key, Gains]) -> bytes:
    """The gains as the checkpoint's months file keeps them: a line a name,
    ``[scope, kind, name, months, sums]``."""
    return joined(orjson.dumps([*key, months, sums.tolist()], option=orjson.OPT_APPEND_NEWLINE)
                  for key, (months, sums) in gains.items())


def totals_of(sums: list) -> Optional[List[int]]:
    """What a name's monthly sums (as :func:`encode` lists them) add up to in each skill; None
    when one is not a count an array holds."""
    if set(map(type, sums)) - {int} or (sums and not 0 <= min(sums) <= max(sums) <= LARGEST):
        return None
    return [sum(sums[offset::WIDTH]) for offset in range(WIDTH)]


# -- the files -----------------------------------------------------------------------------------

def line(name: str, months: Sequence[str], sums: Sequence[int],
         rates: Dict[str, float]) -> Optional[bytes]:
    """One name's line (None when no month has a gain in a skill)."""
    kept = [(month, sums[at * WIDTH:(at + 1) * WIDTH]) for at, month in enumerate(months)
            if any(sums[at * WIDTH:(at + 1) * WIDTH])]
    if not kept:
        return None
    values = {skill: [_value(skill, part[offset]) for _, part in kept]
              for offset, skill in enumerate(SKILLS)}
    points = {skill: [xp.xp_of(value, rates[skill]) for value in values[skill]]
              for skill in SKILLS}
    overall = [sum(column) for column in zip(*points.values())]
    return orjson.dumps({"name": name, "months": [month for month, _ in kept],
                         "xp": {"overall": overall, **points}, "value": values},
                        option=orjson.OPT_APPEND_NEWLINE)


def _value(skill: str, amount: int) -> float:
    """The skill's value of a month's sum, as a board shows it (metrics.metric_value)."""
    divisor = METRICS[skill][1]
    return amount / divisor if divisor != 1 else min(amount, LARGEST)


def header(asof: str, scope: str, kind: str) -> bytes:
    return orjson.dumps({"asof": asof, "format": FORMAT, "version": VERSION, "scope": scope,
                         "kind": kind, "skills": list(SKILLS)}, option=orjson.OPT_APPEND_NEWLINE)


def document(gains: Dict[Key, Gains], scope: str, kind: str, rates: Dict[str, float],
             asof: str) -> bytes:
    """One scope's and kind's file, whole."""
    names = sorted((key[2], entry) for key, entry in gains.items()
                   if key[0] == scope and key[1] == kind)
    lines = (line(name, months, sums, rates) for name, (months, sums) in names)
    return joined(chain([header(asof, scope, kind)], (text for text in lines if text is not None)))


def write(root: str, gains: Dict[Key, Gains], clusters: Iterable[str],
          rates: Dict[str, float], asof: str) -> None:
    """Every scope's and kind's file (those whose lines changed), and no file of a cluster
    not in `clusters`."""
    makedirs(layout.path(root, "progress_dir"))
    scopes = ["all"] + list(clusters)
    for scope in scopes:
        for kind in KINDS:
            path = layout.progress_file(root, scope, kind)
            data = document(gains, scope, kind, rates, asof)
            if not holds_but_asof(path, data):
                atomic_write(path, data)
    _remove_others(root, {os.path.basename(layout.progress_file(root, scope, kind))
                          for scope in scopes for kind in KINDS})


def _remove_others(root: str, kept: set) -> None:
    folder = layout.path(root, "progress_dir")
    for name in list_folder(folder):
        if name.endswith(".ndjson") and name not in kept:
            remove_synced(os.path.join(folder, name))
