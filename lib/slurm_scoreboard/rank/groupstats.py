"""Group statistics (Wise Old Man's group page, for SLURM accounts) and a user's rank inside each
of their groups.

A group's members, in a window and scope, are the users who charged anything to its account
there, and everything here counts what they charged to it (as the group boards and
``sb-rank --account`` do): their levels, their XP, their ranks among the members. Written by
sb-rank beside the group boards, ``groups/<window>_stats.json``::

    {"asof": "...", "window": "alltime", "cluster": "all",
     "groups": [{"account": "physics", "members": 12, "members_99": 1,
                 "average_levels": {"clock_hours": 41.5, ...}, "average_total_level": 180.3,
                 "total_xp": 12345678, "users": ["alice", ...],
                 "ranks": {"alice": {"clock_hours": 1, "jobs": null, ...}, ...},
                 "member_xp": {"alice": 1234567, ...}}]}

``member_xp`` is each member's XP (over the skills) from what they charged to the account, so
the site shows the members' share of the group's window.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from ..boardfiles import SKILLS, ranked
from ..core import xp
from ..store import metrics
from ..store.reading import Usage, is_group
from .standings import metric_values


def members_of(usage: Usage) -> Dict[str, List[str]]:
    """account -> its members (users with any usage charged to it), names sorted; no group for
    jobs without an account."""
    members: Dict[str, List[str]] = {}
    for user, accounts in usage.items():
        for account, vector in accounts.items():
            if is_group(account) and not metrics.is_zero(vector):
                members.setdefault(account, []).append(user)
    return {account: sorted(names) for account, names in sorted(members.items())}


def group_entry(account: str, names: List[str], charged: Dict[str, metrics.Vector],
                rates: Dict[str, float]) -> dict:
    """One group's statistics from what its members (`names`, `charged` to it) charged to it:
    each member's values, XP and levels per skill, and their ranks among the members."""
    levels: Dict[str, List[int]] = {}
    points: Dict[str, List[int]] = {}
    ranks: Dict[str, Dict[str, Optional[int]]] = {name: {} for name in names}
    vectors = {name: charged[name] for name in names}
    member_xp = dict.fromkeys(names, 0)
    for metric in SKILLS:
        values = metric_values(vectors, metric)
        earned = xp.xp_of_each(values, rates[metric])
        points[metric] = list(earned.values())
        for name, earned_xp in earned.items():
            member_xp[name] += earned_xp
        levels[metric] = [min(level, xp.MAX_LEVEL)
                          for level in xp.virtual_levels(earned).values()]
        found = {name: rank for rank, name, _ in ranked(values)}
        for name in names:
            ranks[name][metric] = found.get(name)
    totals = [sum(levels[m][i] for m in SKILLS) for i in range(len(names))]
    return {"account": account, "members": len(names),
            "members_99": sum(1 for i in range(len(names))
                              if any(levels[m][i] == xp.MAX_LEVEL for m in SKILLS)),
            "average_levels": {m: round(sum(v) / len(v), 2) for m, v in levels.items()},
            "average_total_level": round(sum(totals) / len(totals), 2),
            "total_xp": sum(sum(earned) for earned in points.values()),
            "users": names, "ranks": ranks, "member_xp": member_xp}


def charged_to(usage: Usage) -> Dict[str, Dict[str, metrics.Vector]]:
    """account -> user -> what the user charged to it (standings.user_vectors of each account,
    made in one pass over the usage)."""
    result: Dict[str, Dict[str, metrics.Vector]] = {}
    for user, accounts in usage.items():
        for account, vector in accounts.items():
            charged = result.get(account)
            if charged is None:
                charged = result[account] = {}
            charged[user] = vector
    return result


def group_stats(usage: Usage, rates: Dict[str, float]) -> List[dict]:
    """One entry per group, the highest total XP of its members first."""
    charged = charged_to(usage)
    groups = [group_entry(account, names, charged[account], rates)
              for account, names in members_of(usage).items()]
    groups.sort(key=lambda g: (-g["total_xp"], g["account"]))
    return groups


