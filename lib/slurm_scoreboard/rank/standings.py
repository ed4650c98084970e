"""Ranking one window's usage: each name's metric vector turned into values, XP and levels on
every board (the skills, overall and the boards apart), for users or groups (SLURM accounts:
what their users charged to them). Opted-out users were left out when the store was read.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..boardfiles import APART, SKILLS, page_entry, ranked, shared_ranks
from ..core import xp
from ..store import metrics
from ..store.metrics import METRICS
from ..store.reading import Usage, is_group

Vector = metrics.Vector


def user_vectors(usage: Usage, account: Optional[str] = None) -> Dict[str, Vector]:
    """user -> vector summed over their accounts (or only what they charged to `account`)."""
    result = {}
    for user, accounts in usage.items():
        if account is not None:
            if account in accounts:
                result[user] = accounts[account]
            continue
        total = metrics.zero()
        for vector in accounts.values():
            metrics.add_into(total, vector)
        result[user] = total
    return result


def group_vectors(usage: Usage) -> Tuple[Dict[str, Vector], Dict[str, int]]:
    """account -> vector summed over its users, and account -> number of users."""
    totals: Dict[str, Vector] = {}
    members: Dict[str, int] = {}
    for accounts in usage.values():
        for account, vector in accounts.items():
            if not is_group(account):
                continue
            if account not in totals:
                totals[account] = metrics.zero()
                members[account] = 0
            metrics.add_into(totals[account], vector)
            members[account] += 1
    return totals, members


def metric_values(vectors: Dict[str, Vector], metric: str) -> Dict[str, float]:
    """metrics.metric_value of every name's vector."""
    index, divisor = METRICS[metric]
    if divisor != 1:
        return {name: vector[index] / divisor for name, vector in vectors.items()}
    return {name: min(vector[index], metrics.LARGEST) for name, vector in vectors.items()}


class Standings:
    """Every board of one window, scope and kind, from each name's metric vector: values, XP
    and levels are computed once per name and skill and shared by the skill boards and overall;
    the boards apart (APART) have values and ranks only."""

    def __init__(self, vectors: Dict[str, Vector], rates: Dict[str, float], key: str = "user",
                 members: Optional[Dict[str, int]] = None):
        self.key = key
        self.members = members
        self.values: Dict[str, Dict[str, float]] = {}
        self.points: Dict[str, Dict[str, int]] = {}
        self.virtual: Dict[str, Dict[str, int]] = {}      # virtual levels
        for metric in METRICS:
            values = metric_values(vectors, metric)
            self.values[metric] = values
            if metric in SKILLS:
                self.points[metric] = xp.xp_of_each(values, rates[metric])
                self.virtual[metric] = xp.virtual_levels(self.points[metric])
        self.names = [name for name, vector in vectors.items() if not metrics.is_zero(vector)]

    def rows(self, metric: str) -> List[dict]:
        if metric == "overall":
            return self.overall_rows()
        if metric in APART:
            return self.apart_rows(metric)
        points, levels = self.points[metric], self.virtual[metric]
        rows = []
        for rank, name, value in ranked(self.values[metric]):
            virtual = levels[name]
            row = {"rank": rank, self.key: name, "value": value, "xp": points[name],
                   "level": min(virtual, xp.MAX_LEVEL), "virtual_level": virtual}
            if self.members is not None:
                row["members"] = self.members[name]
            rows.append(row)
        return rows

    def apart_rows(self, metric: str) -> List[dict]:
        """A board apart: rank and value, no XP and no level."""
        rows = []
        for rank, name, value in ranked(self.values[metric]):
            row = {"rank": rank, self.key: name, "value": value}
            if self.members is not None:
                row["members"] = self.members[name]
            rows.append(row)
        return rows

    def overall_rows(self) -> List[dict]:
        """Ranked by total level, then total XP, then name; everyone with any usage is listed."""
        entries = []
        for name in self.names:
            skills = {metric: min(self.virtual[metric][name], xp.MAX_LEVEL)
                      for metric in SKILLS}
            total_xp = sum(self.points[metric][name] for metric in SKILLS)
            entries.append((sum(skills.values()), total_xp, name, skills))
        entries.sort(key=lambda e: (-e[0], -e[1], e[2]))
        rows = []
        ranks = shared_ranks([(total_level, total_xp) for total_level, total_xp, _, _ in entries])
        for rank, (total_level, total_xp, name, skills) in zip(ranks, entries):
            row = {"rank": rank, self.key: name, "value": total_level, "level": total_level,
                   "xp": total_xp, "skills": skills}
            if self.members is not None:
                row["members"] = self.members[name]
            rows.append(row)
        return rows


def standings(usage: Usage, kind: str, rates: Dict[str, float],
              account: Optional[str] = None) -> Standings:
    if kind == "groups":
        vectors, members = group_vectors(usage)
        return Standings(vectors, rates, key="account", members=members)
    return Standings(user_vectors(usage, account), rates)


def board_rows(usage: Usage, kind: str, metric: str, rates: Dict[str, float],
               account: Optional[str] = None) -> List[dict]:
    return standings(usage, kind, rates, account).rows(metric)


def personal(usage: Usage, user: str, rates: Dict[str, float]) -> dict:
    """The game's personal hiscores: every skill's rank, value, level and XP, and the boards
    apart (rank and value); overall on top."""
    table = standings(usage, "users", rates)
    overall = next((row for row in table.overall_rows() if row["user"] == user), None)
    skills = [page_entry(metric, next((r for r in table.rows(metric) if r["user"] == user), None))
              for metric in SKILLS + APART]
    return {"user": user,
            "overall": overall and {k: overall[k] for k in ("rank", "level", "xp")},
            "skills": skills}
