"""Achievements, dated to the UTC day they happened (Wise Old Man's feed, for a cluster).

=============  ==============================================================================
event          when
=============  ==============================================================================
level          a user's or a group's level in a skill reaches 10, 20, ... 90 or 99
xp_cap         their XP in a skill reaches the 200,000,000 cap
total_level    their total level (Overall: the sum of the skills' levels) reaches 100, 200,
               ... 500, or every skill at 99
first_job      a user's first job that ended on a cluster
rank_1         a user or a group takes rank 1 on an all-time skill board (of all clusters, or
               of one); ties go to the name first in order, as on the boards
=============  ==============================================================================

The day is the one at whose end the cumulative total first crossed the threshold, so a job
spanning midnight counts on the day it ended, as everywhere in the store. Each event has an
``id`` that stays the same when later passes find it again (the cursor of sb-news keeps ids).
"""
from __future__ import annotations

import bisect
from typing import Dict, List, Optional, Sequence, Tuple

from . import xp
from .history import SKILLS, Key, Observer, Row, Vector, name_field, skill_xp
from .boards import metric_value

LEVEL_MILESTONES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 99)
TOTAL_MILESTONES = (100, 200, 300, 400, 500, xp.MAX_LEVEL * len(SKILLS))
EVENTS = ("level", "xp_cap", "total_level", "first_job", "rank_1")
_LEVEL_XP = [xp.xp_for_level(level) for level in LEVEL_MILESTONES]


def reached_levels(before: int, after: int) -> List[int]:
    """The milestone levels crossed when XP went from `before` to `after`."""
    low, high = bisect.bisect_right(_LEVEL_XP, before), bisect.bisect_right(_LEVEL_XP, after)
    return list(LEVEL_MILESTONES[low:high])


def reached_totals(before: int, after: int) -> List[int]:
    low = bisect.bisect_right(TOTAL_MILESTONES, before)
    return list(TOTAL_MILESTONES[low:bisect.bisect_right(TOTAL_MILESTONES, after)])


def event_id(event: dict) -> str:
    """What makes an event the same one in a later pass (its day may move with late jobs,
    except for rank 1, which can be taken more than once)."""
    kind = event["kind"]
    parts = [event["event"], event["scope"], kind, event[name_field(kind)],
             event.get("skill", ""), str(event.get("level", event.get("total_level", "")))]
    if event["event"] == "rank_1":
        parts.append(event["day"])
    return "/".join(parts)


class Achievements(Observer):
    """Collects the events of every day, in order (each with its ``id``)."""

    def __init__(self, rates: Dict[str, float]):
        self.rates = rates
        self.events: List[dict] = []
        self.leaders: Dict[Tuple[str, str, str], Tuple[str, float]] = {}

    def day(self, day: str, rows: Sequence[Row], gains: Dict[Key, Vector],
            totals: Dict[Key, Vector]) -> None:
        found: List[dict] = []
        for key, gain in gains.items():
            before = totals.get(key)
            after = list(gain) if before is None else [a + b for a, b in zip(before, gain)]
            found += self._crossed(day, key, before, after)
        found += self._new_leaders(day, gains, totals)
        for event in found:
            event["id"] = event_id(event)
        self.events += found

    def _crossed(self, day: str, key: Key, before: Optional[Vector], after: Vector) -> List[dict]:
        scope, kind, name = key
        base = {"day": day, "scope": scope, "kind": kind, name_field(kind): name}
        found = []
        total_before = total_after = xp_before_all = xp_after_all = 0
        for skill in SKILLS:
            old = skill_xp(before, skill, self.rates) if before else 0
            new = skill_xp(after, skill, self.rates)
            total_before += xp.level(old)
            total_after += xp.level(new)
            xp_before_all += old
            xp_after_all += new
            if new == old:
                continue
            value = metric_value(after, skill)
            for level in reached_levels(old, new):
                found.append(dict(base, event="level", skill=skill, level=level, xp=new,
                                  value=value))
            if old < xp.MAX_XP <= new:
                found.append(dict(base, event="xp_cap", skill=skill, xp=new, value=value))
        for milestone in reached_totals(total_before, total_after):
            found.append(dict(base, event="total_level", total_level=milestone,
                              level=total_after, xp=xp_after_all))
        jobs = SKILLS.index("jobs")
        if kind == "users" and scope != "all" and (before is None or before[jobs] == 0) \
                and after[jobs] > 0:
            found.append(dict(base, event="first_job", jobs=after[jobs]))
        return found

    def _new_leaders(self, day: str, gains: Dict[Key, Vector],
                     totals: Dict[Key, Vector]) -> List[dict]:
        """Rank 1 of every all-time board a gain may have changed, as at the end of `day`."""
        def current(key: Key) -> Vector:
            total, gain = totals.get(key), gains.get(key)
            if total is None:
                return gain
            return total if gain is None else [a + b for a, b in zip(total, gain)]

        found = []
        for skill in SKILLS:
            best: Dict[Tuple[str, str], Tuple[float, str]] = {}
            for key in gains:
                scope, kind, name = key
                value = metric_value(current(key), skill)
                held = best.get((scope, kind))
                if value > 0 and (held is None or (-value, name) < (-held[0], held[1])):
                    best[(scope, kind)] = (value, name)
            for (scope, kind), (value, name) in best.items():
                board = (scope, kind, skill)
                leader = self.leaders.get(board)
                if leader is not None:
                    leader_value = metric_value(current((scope, kind, leader[0])), skill)
                    if leader[0] == name or (-leader_value, leader[0]) < (-value, name):
                        continue
                self.leaders[board] = (name, value)
                found.append({"day": day, "scope": scope, "kind": kind, name_field(kind): name,
                              "event": "rank_1", "skill": skill, "value": value,
                              "previous": leader[0] if leader else None})
        return found


def describe(event: dict) -> str:
    """One line a person reads (for mail and chat): names are the caller's to escape."""
    who = event.get("user") or f"group {event.get('account')}"
    where = "all clusters" if event["scope"] == "all" else event["scope"]
    kind = event["event"]
    if kind == "level":
        return f"{event['day']}: {who} reached level {event['level']} {event['skill']} ({where})"
    if kind == "xp_cap":
        return f"{event['day']}: {who} reached 200M XP in {event['skill']} ({where})"
    if kind == "total_level":
        return f"{event['day']}: {who} reached total level {event['total_level']} ({where})"
    if kind == "first_job":
        return f"{event['day']}: {who} ran a first job on {where}"
    return f"{event['day']}: {who} took rank 1 in {event['skill']} ({where})"
