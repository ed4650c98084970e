"""Group statistics (Wise Old Man's group page, for SLURM accounts) and a user's rank inside each
of their groups.

A group's members, in a window and scope, are the users who charged anything to its account
there. Written by sb-rank beside the group boards, ``groups/<window>_stats.json``::

    {"asof": "...", "window": "alltime", "cluster": "all",
     "groups": [{"account": "physics", "members": 12, "members_99": 1,
                 "average_levels": {"clock_hours": 41.5, ...}, "average_total_level": 180.3,
                 "total_xp": 12345678, "users": ["alice", ...]}]}
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from . import metrics, xp
from .boards import METRICS, Standings, Usage, ranked


def members_of(usage: Usage) -> Dict[str, List[str]]:
    """account -> its members (users with any usage charged to it), names sorted."""
    members: Dict[str, List[str]] = {}
    for user, accounts in usage.items():
        for account, vector in accounts.items():
            if not metrics.is_zero(vector):
                members.setdefault(account, []).append(user)
    return {account: sorted(names) for account, names in sorted(members.items())}


def group_stats(usage: Usage, users: Standings) -> List[dict]:
    """One entry per group, the highest total XP of its members first."""
    groups = []
    for account, names in members_of(usage).items():
        levels = {metric: [xp.level(users.points[metric][name]) for name in names]
                  for metric in METRICS}
        totals = [sum(levels[metric][i] for metric in METRICS) for i in range(len(names))]
        groups.append({
            "account": account, "members": len(names),
            "members_99": sum(1 for i in range(len(names))
                              if any(levels[m][i] == xp.MAX_LEVEL for m in METRICS)),
            "average_levels": {m: round(sum(v) / len(v), 2) for m, v in levels.items()},
            "average_total_level": round(sum(totals) / len(totals), 2),
            "total_xp": sum(users.points[m][name] for m in METRICS for name in names),
            "users": names})
    groups.sort(key=lambda g: (-g["total_xp"], g["account"]))
    return groups


def ranks_in_groups(user: str, members: Dict[str, Sequence[str]],
                    values: Dict[str, Dict[str, float]]) -> List[dict]:
    """For each group `user` belongs to: its size and the user's rank among its members on every
    skill (None where the user has nothing), from metric -> name -> value."""
    found = []
    for account, names in sorted(members.items()):
        if user not in names:
            continue
        ranks: Dict[str, Optional[int]] = {}
        for metric in METRICS:
            board = values.get(metric, {})
            order = ranked({name: board.get(name, 0) for name in names})
            ranks[metric] = next((rank for rank, name, _ in order if name == user), None)
        found.append({"account": account, "members": len(names), "ranks": ranks})
    return found


def members_from_stats(document) -> Dict[str, List[str]]:
    """account -> members, from a stats file as sb-rank wrote it (entries of another shape are
    left out: the file is read by accounts that may not trust it)."""
    groups = document.get("groups") if isinstance(document, dict) else None
    members: Dict[str, List[str]] = {}
    for group in groups if isinstance(groups, list) else []:
        if isinstance(group, dict) and isinstance(group.get("account"), str) and \
                isinstance(group.get("users"), list):
            members[group["account"]] = [u for u in group["users"] if isinstance(u, str)]
    return members
