"""Achievements, dated to the UTC day they happened (Wise Old Man's feed, for a cluster).

=============  ==============================================================================
event          when
=============  ==============================================================================
level          a user's or a group's level in a skill reaches 10, 20, ... 90 or 99
xp_cap         their XP in a skill reaches the 200,000,000 cap
total_level    their total level (Overall: the sum of the skills' levels) reaches 100, 200,
               300, 400, or every skill at 99 (495)
first_job      a user's first job on a cluster: the first day it ran there (its first hours,
               or, for a job of no length, the day it ended)
rank_1         a user or a group takes rank 1 on an all-time skill board (of all clusters, or
               of one); ties go to the name first in order, as on the boards
=============  ==============================================================================

The day is the one at whose end the cumulative total first crossed the threshold; a job's hours
count on the days it ran and the job itself on the day it ended, as everywhere in the store. Each event has an
``id`` that stays the same when later passes find it again (the cursor of sb-news keeps ids).
"""
from __future__ import annotations

import bisect
from typing import Dict, List, Optional, Protocol, Sequence, Tuple

import orjson

from ..boardfiles import METRIC_TITLES, name_field
from ..core import xp
from ..store.metrics import METRICS, metric_value
from .history import SKILLS, Key, Observer, Row, Vector
from .recordbook import gain_of

LEVEL_MILESTONES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 99)
TOTAL_MILESTONES = (100, 200, 300, 400, xp.MAX_LEVEL * len(SKILLS))
EVENTS = ("level", "xp_cap", "total_level", "first_job", "rank_1")
_LEVEL_XP = [xp.xp_for_level(level) for level in LEVEL_MILESTONES]


class Writer(Protocol):
    """Where the events go: a binary file, or something that counts what goes into one."""

    def write(self, data: bytes, /) -> int: ...


def reached_levels(before: int, after: int) -> List[int]:
    """The milestone levels crossed when XP went from `before` to `after`."""
    low, high = bisect.bisect_right(_LEVEL_XP, before), bisect.bisect_right(_LEVEL_XP, after)
    return list(LEVEL_MILESTONES[low:high])


def reached_totals(before: int, after: int) -> List[int]:
    low = bisect.bisect_right(TOTAL_MILESTONES, before)
    return list(TOTAL_MILESTONES[low:bisect.bisect_right(TOTAL_MILESTONES, after)])


def event_id(event: dict, mark: object = "") -> str:
    """What makes an event the same one in a later pass: who, where, what, and `mark` (the level
    or total-level milestone, the same whatever day a late job moves it to; for rank 1, which
    can be taken again after it was lost, the day it was taken: a job that re-dates the past can
    make a taking vanish or appear, and counting the takings would then give a later taking
    the id of one already printed, so it would never be told; by day, it is told again at
    worst)."""
    kind = event["kind"]
    return "/".join([event["event"], event["scope"], kind, event[name_field(kind)],
                     event.get("skill", ""), str(mark)])


class Achievements(Observer):
    """Writes the events of every day, in order, each with its ``id``, to `out` as NDJSON (a
    long history makes millions: none is kept in memory)."""

    def __init__(self, rates: Dict[str, float], out: Writer):
        self.rates = rates
        self.out = out
        self.count = 0
        self.points: Dict[Key, Tuple[List[int], List[int]]] = {}   # XP and level per skill
        self.leaders: Dict[Tuple[str, str, int], str] = {}
        self.skills = [(i, skill, METRICS[skill], rates[skill]) for i, skill in enumerate(SKILLS)]

    def day(self, day: str, rows: Sequence[Row], gains: Dict[Key, Vector],
            totals: Dict[Key, Vector]) -> None:
        for key, gain in gains.items():
            before = totals.get(key)
            after = list(gain) if before is None else [a + b for a, b in zip(before, gain)]
            self._crossed(day, key, before, gain, after)
        self._new_leaders(day, gains, totals)

    def emit(self, event: dict, mark: object = "") -> None:
        event["id"] = event_id(event, mark)
        self.out.write(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
        self.count += 1

    def _crossed(self, day: str, key: Key, before: Optional[Vector], gain: Vector,
                 after: Vector) -> None:
        scope, kind, name = key
        base = {"day": day, "scope": scope, "kind": kind, name_field(kind): name}
        if kind == "users" and scope != "all" and not ran(before) and ran(after):
            self.emit(dict(base, event="first_job", jobs=after[_JOBS]))
        old_points, old_levels = self.points.get(key) or self._standing(before)
        changed: Optional[Tuple[List[int], List[int]]] = None     # XP and levels, once one moves
        for position, skill, (index, _), rate in self.skills:
            if not gain[index]:
                continue
            points = xp.xp_of(metric_value(after, skill), rate)
            if points == old_points[position]:
                continue
            if changed is None:
                changed = (list(old_points), list(old_levels))
            new_points, new_levels = changed
            new_points[position] = points
            new_levels[position] = self._skill_crossed(base, skill, old_points[position], points,
                                                       old_levels[position], after)
        if changed is None:
            return
        self.points[key] = changed
        new_points, new_levels = changed
        if new_levels != old_levels:
            total_after = sum(new_levels)
            for milestone in reached_totals(sum(old_levels), total_after):
                self.emit(dict(base, event="total_level", total_level=milestone,
                               level=total_after, xp=sum(new_points)), milestone)

    def _standing(self, totals: Optional[Vector]) -> Tuple[List[int], List[int]]:
        """The XP and level in each skill at `totals`: what ``points`` holds for a name once it
        gained XP, and what a pass resumed from a checkpoint (which keeps the totals, not the
        points) finds for a name it meets again (XP only grows, so the level is the XP's)."""
        if totals is None:
            return _NO_POINTS, _NO_LEVELS
        points = [xp.xp_of(metric_value(totals, skill), rate) for _, skill, _, rate in self.skills]
        return points, [xp.level(value) for value in points]

    def _skill_crossed(self, base: dict, skill: str, old: int, points: int, old_level: int,
                       after: Vector) -> int:
        """The level events of one skill's XP going from `old` to `points`; its new level."""
        level_now = old_level
        if old_level < xp.MAX_LEVEL and points >= xp.XP_TABLE[old_level]:
            level_now = xp.level(points)       # XP_TABLE[L]: level L + 1's XP
            value = metric_value(after, skill)
            for level in reached_levels(old, points):
                self.emit(dict(base, event="level", skill=skill, level=level, xp=points,
                               value=value), level)
        if old < xp.MAX_XP <= points:
            self.emit(dict(base, event="xp_cap", skill=skill, xp=points,
                           value=metric_value(after, skill)))
        return level_now

    def _new_leaders(self, day: str, gains: Dict[Key, Vector],
                     totals: Dict[Key, Vector]) -> None:
        """Rank 1 of every all-time board a gain may have changed, as at the end of `day`:
        only a name that gained in a skill can overtake its leader."""
        def current(key: Key, index: int) -> int:
            total, gain = totals.get(key), gains.get(key)
            return (total[index] if total else 0) + (gain[index] if gain else 0)

        for position, skill, (index, _), _ in self.skills:
            best: Dict[Tuple[str, str], Tuple[int, str]] = {}
            for (scope, kind, name), gain in gains.items():
                if gain[index]:
                    value = current((scope, kind, name), index)
                    held = best.get((scope, kind))
                    if held is None or (-value, name) < (-held[0], held[1]):
                        best[(scope, kind)] = (value, name)
            for (scope, kind), (value, name) in best.items():
                board = (scope, kind, position)
                leader = self.leaders.get(board)
                if leader is not None and (leader == name or
                                           (-current((scope, kind, leader), index), leader)
                                           < (-value, name)):
                    continue
                self.leaders[board] = name
                self.emit({"day": day, "scope": scope, "kind": kind, name_field(kind): name,
                           "event": "rank_1", "skill": skill,
                           "value": metric_value(gain_of(index, value), skill),
                           "previous": leader}, day)


_NO_POINTS = [0] * len(SKILLS)
_NO_LEVELS = [1] * len(SKILLS)
_JOBS = METRICS["jobs"][0]
_ELAPSED = METRICS["elapsed_hours"][0]


def ran(vector: Optional[Vector]) -> bool:
    """Whether these totals hold a job that ran: its hours, or a job that ended."""
    return vector is not None and (vector[_ELAPSED] > 0 or vector[_JOBS] > 0)


def describe(event: dict) -> str:
    """One line a person reads (for mail and chat): names are the caller's to escape."""
    who = event.get("user") or f"group {event.get('account')}"
    where = "all clusters" if event["scope"] == "all" else event["scope"]
    kind = event["event"]
    skill = METRIC_TITLES.get(str(event.get("skill")), str(event.get("skill")))
    if kind == "level":
        return f"{event['day']}: {who} reached level {event['level']} in {skill} ({where})"
    if kind == "xp_cap":
        return f"{event['day']}: {who} reached 200M XP in {skill} ({where})"
    if kind == "total_level":
        return f"{event['day']}: {who} reached total level {event['total_level']} ({where})"
    if kind == "first_job":
        return f"{event['day']}: {who} ran a first job on {where}"
    taken = f" from {event['previous']}" if event.get("previous") else ""
    return f"{event['day']}: {who} took rank 1 in {skill}{taken} ({where})"
