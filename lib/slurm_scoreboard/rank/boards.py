"""Leaderboards: usage per window gathered from every cluster's store, ranked, turned into XP.

Boards (one per metric, plus ``overall``), for each window, scope (all clusters merged, or one
cluster) and kind (users, or groups: SLURM accounts). A user's value in the merged scope is the
sum over clusters; a group's value is what its users charged to it. Opted-out users are left out
of every board and every group's sum.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..core import layout, xp
from ..store import metrics
from ..core.files import LockBusy, UnsafePath, locked, shared_lock
from ..store.journal import recover
from ..core.optout import OptOut
from ..store.store import (StoreCorrupt, day_rows, ended_months, is_account, is_vector, load_object,
                    user_entries)
from ..core.windows import Window

# Board metric -> (index in the metric vector, divisor turning it into the shown unit).
METRICS: Dict[str, Tuple[int, int]] = {
    "clock_hours": (0, 3600), "elapsed_hours": (1, 3600), "gpu_clock_hours": (2, 3600),
    "gpu_elapsed_hours": (3, 3600), "failed_jobs": (4, 1), "jobs": (5, 1)}
METRIC_TITLES = {
    "overall": "Overall", "clock_hours": "CPU-core hours", "elapsed_hours": "Wall hours",
    "gpu_clock_hours": "GPU hours", "gpu_elapsed_hours": "GPU wall hours",
    "failed_jobs": "Failed jobs", "jobs": "Jobs",
    "cpu_used_hours": "CPU hours used", "cpu_efficiency": "CPU efficiency",
    "mem_efficiency": "Memory efficiency", "gpu_utilization": "GPU utilisation"}
# The skills: XP, levels, part of Overall (the total level), achievements and records.
SKILLS = ("clock_hours", "elapsed_hours", "gpu_clock_hours", "gpu_elapsed_hours", "jobs")
# Boards apart: ranked, but no XP, no level, outside Overall, no achievements (failing is not a
# skill a site levels people up in).
APART = ("failed_jobs",)
# The efficiency boards (efficiency.py) whose value is a percent, with no levels.
RATIO_BOARDS = ("cpu_efficiency", "mem_efficiency", "gpu_utilization")
EFFICIENCY_BOARDS = ("cpu_used_hours",) + RATIO_BOARDS
LEVELLESS = APART + RATIO_BOARDS     # boards whose rows have no level and no XP
BOARDS = SKILLS + APART + ("overall",)      # in the order every view shows them
KINDS = ("users", "groups")

Vector = metrics.Vector
Usage = Dict[str, Dict[str, Vector]]          # user -> account -> vector
NO_ACCOUNT = ""          # what a job sacct shows without an account is charged to


def is_group(account: str) -> bool:
    """Whether an account makes a group: a job with no SLURM account counts for its user only,
    so there is never a nameless group."""
    return account != NO_ACCOUNT


Damage = Callable[[str, str], None]


class StoreBusy(Exception):
    """A cluster's store is being updated and did not settle in time."""


@contextmanager
def reading(root: str, cluster: str, timeout: float = 60.0) -> Iterator[None]:
    """Read a cluster's store without seeing half an update. The journal is looked for while the
    shared lock is held, so an update interrupted while this reader waited is finished (under the
    exclusive lock) before anything is read."""
    lock = layout.store_lock(root, cluster)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with shared_lock(lock, max(0.0, deadline - time.monotonic())):
                if not os.path.lexists(layout.journal_file(root, cluster)):
                    yield
                    return
            _finish_interrupted_update(root, cluster, max(0.0, deadline - time.monotonic()))
    except LockBusy:
        raise StoreBusy(f"cluster {cluster}: an update is being applied; try again") from None


def _finish_interrupted_update(root: str, cluster: str, timeout: float) -> None:
    try:
        with locked(layout.store_lock(root, cluster), timeout):
            recover(layout.cluster_dir(root, cluster), layout.state_dir(root, cluster),
                    layout.owned_dirs(root, cluster))
    except PermissionError:
        raise StoreCorrupt(f"cluster {cluster}: an interrupted update needs finishing and this "
                           "user may not write the store; run sb-reduce there") from None


def _add(usage: Usage, user: str, account: str, vector: Sequence[int]) -> None:
    accounts = usage.get(user)
    if accounts is None:
        accounts = usage[user] = {}
    total = accounts.get(account)
    if total is None:
        accounts[account] = list(vector)
    else:
        for index in range(metrics.SIZE):
            total[index] += vector[index]


def rollup_months(root: str, cluster: str, on_damage: Damage) -> List[Tuple[str, str]]:
    """(month, path) of a cluster's rollups, oldest first; a file named like no real month is
    reported and left out."""
    found = []
    for month, path in layout.rollup_paths(root, cluster):
        if layout.MONTH_NAME.fullmatch(month):
            found.append((month, path))
        else:
            on_damage(path, "not a month sb-reduce writes; left out")
    return found


def collect_cluster(root: str, cluster: str, wanted: Sequence[Window], optout: OptOut,
                    wait: float = 60.0, on_damage: Optional[Damage] = None) -> Dict[str, Usage]:
    """window name -> usage of one cluster, read under the store's shared lock.

    A damaged file is reported to `on_damage(path, message)` and left out: a month's rollup is
    missing from the windows it covers; a damaged all-time index is replaced by the sum of the
    rollups. Without `on_damage`, damage raises StoreCorrupt.
    """
    report = on_damage or _raise_damage
    result: Dict[str, Usage] = {window.name: {} for window in wanted}
    with reading(root, cluster, wait):
        months = rollup_months(root, cluster, report)
        dated = [window for window in wanted if window.first_day is not None]
        if "alltime" in result:
            path = layout.alltime_file(root, cluster)
            try:
                _add_alltime(result["alltime"], path, optout)
            except StoreCorrupt as err:
                report(path, f"{err}; summing the monthly rollups instead ({remedy(path)})")
                result["alltime"] = {}
                dated.append(Window("alltime", None, None))
        for month, path in months:
            coverage = [(window, window.month_coverage(month)) for window in dated]
            covers = {cover for _, cover in coverage}
            if covers == {"none"}:
                continue
            try:
                data = load_object(path) or {"users": [], "days": []}
                entries = _entries(data, path) if "all" in covers else []
                rows = day_rows(data, path, month) if "part" in covers else []
            except StoreCorrupt as err:
                report(path, f"{err}; this month is left out ({remedy(path)})")
                continue
            for window, cover in coverage:
                if cover == "all":
                    _add_entries(result[window.name], entries, optout)
                elif cover == "part":
                    _add_days(result[window.name], rows, window, optout)
    return result


def old_rule_note(root: str, cluster: str) -> Optional[str]:
    """What to tell about a cluster whose store still counts some months' usage on the day jobs
    ended (the rule before 0.3): which months, and the command that fetches them again."""
    try:
        months = ended_months(root, cluster)
    except (StoreCorrupt, UnsafePath) as err:
        return f"{err}; cannot tell which months count usage on the days it happened"
    if not months:
        return None
    span = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
    return (f"cluster {cluster}: {len(months)} month{'s' if len(months) > 1 else ''} ({span}) "
            "count usage on the day jobs ended, as stores before 0.3 did, not on the days it "
            "happened (windows, records and achievements there are dated by job ends); "
            f"sb-backfill --cluster {cluster} --resplit fetches them again")


def _raise_damage(path: str, message: str) -> None:
    raise StoreCorrupt(message if message.startswith(path) else f"{path}: {message}")


def remedy(path: str) -> str:
    """The command that repairs a damaged store file."""
    name = os.path.basename(path)
    if layout.MONTH_NAME.fullmatch(name[:7]) and (name.endswith(".json") or name.endswith(".bloom")):
        return f"sb-backfill --redo-month {name[:7]} repairs it"
    return "sb-reduce --repair rebuilds it from the rollups"


def _add_alltime(usage: Usage, path: str, optout: OptOut) -> None:
    _add_entries(usage, _entries(load_object(path) or {"users": []}, path), optout)


def _entries(data: dict, path: str) -> List[Tuple[str, Dict[str, Vector]]]:
    """(username, accounts) of every entry of a rollup or all-time file, each vector checked."""
    result = []
    for entry in user_entries(data, path):
        accounts = entry.get("accounts")
        if type(accounts) is not dict or not all(is_vector(v) and is_account(a)
                                                 for a, v in accounts.items()):
            raise StoreCorrupt(f"{path}: malformed user entry {entry['username']!r}")
        result.append((entry["username"], accounts))
    return result


def _add_entries(usage: Usage, entries, optout: OptOut) -> None:
    for user, accounts in entries:
        if user not in optout:
            for account, vector in accounts.items():
                _add(usage, user, account, vector)


def _add_days(usage: Usage, rows: list, window: Window, optout: OptOut) -> None:
    first, last = window.first_day, window.last_day
    for row in rows:
        if first <= row[1] <= last and row[0] not in optout:
            _add(usage, row[0], row[2], row[3:])


def merge_into(target: Usage, source: Usage) -> None:
    for user, accounts in source.items():
        for account, vector in accounts.items():
            _add(target, user, account, vector)


# -- values ------------------------------------------------------------------------------------

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


LARGEST = (1 << 63) - 1    # what a board shows at most (sums of crafted stores can pass it)


def metric_value(vector: Sequence[int], metric: str) -> float:
    index, divisor = METRICS[metric]
    return vector[index] / divisor if divisor != 1 else min(vector[index], LARGEST)


_NO_KEY = object()


def shared_ranks(keys: Sequence) -> List[int]:
    """The ranks of entries in board order, each entry's key what it is ranked on: an entry
    takes its position, or the rank of the one before when its key is the same (1, 2, 2, 4).
    Every board, group and competition is ranked so, and a reader that drops rows ranks what is
    left again with the old ranks as keys (boardfiles.py), which gives the same ranks."""
    ranks: List[int] = []
    previous: object = _NO_KEY
    for position, key in enumerate(keys, 1):
        if previous is _NO_KEY or key != previous:
            rank, previous = position, key
        ranks.append(rank)
    return ranks


def ranked(values: Dict[str, float], keep_zeros: bool = False) -> List[Tuple[int, str, float]]:
    """(rank, name, value), value descending, ties sharing a rank (1, 2, 2, 4) and ordered by
    name; zeros are left out unless `keep_zeros` (the efficiency boards list the idle)."""
    order = sorted(((v, n) for n, v in values.items() if v > 0 or keep_zeros),
                   key=lambda p: (-p[0], p[1]))
    ranks = shared_ranks([value for value, _ in order])
    return [(rank, name, value) for rank, (value, name) in zip(ranks, order)]


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
        for metric in METRICS:
            values = {name: metric_value(vector, metric) for name, vector in vectors.items()}
            self.values[metric] = values
            if metric in SKILLS:
                rate = rates[metric]
                self.points[metric] = {name: xp.xp_of(value, rate)
                                       for name, value in values.items()}
        self.names = [name for name, vector in vectors.items() if not metrics.is_zero(vector)]

    def rows(self, metric: str) -> List[dict]:
        if metric == "overall":
            return self.overall_rows()
        if metric in APART:
            return self.apart_rows(metric)
        points = self.points[metric]
        rows = []
        for rank, name, value in ranked(self.values[metric]):
            earned = points[name]
            virtual = xp.virtual_level(earned)
            row = {"rank": rank, self.key: name, "value": value, "xp": earned,
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
            skills = {metric: xp.level(self.points[metric][name]) for metric in SKILLS}
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


def document(rows: List[dict], window: Window, metric: str, cluster: str, kind: str,
             asof: datetime, account: Optional[str] = None) -> dict:
    doc = {"asof": asof.strftime("%Y-%m-%dT%H:%M:%SZ"), "window": window.name, "metric": metric,
           "cluster": cluster, "kind": kind, "first_day": window.first_day,
           "last_day": window.last_day, "rows": rows}
    if account is not None:
        doc["account"] = account
    return doc


def board_path(root: str, window: str, metric: str, cluster: Optional[str] = None,
               kind: str = "users") -> str:
    """leaderboards/[clusters/<c>/][groups/]<window>_<metric>.json"""
    parts = [root, "leaderboards"]
    if cluster:
        parts += ["clusters", cluster]
    if kind == "groups":
        parts.append("groups")
    return os.path.join(*parts, f"{window}_{metric}.json")


def stats_path(root: str, window: str, cluster: Optional[str] = None) -> str:
    """leaderboards/[clusters/<c>/]groups/<window>_stats.json (groupstats.py)"""
    return os.path.join(os.path.dirname(board_path(root, window, "jobs", cluster, "groups")),
                        f"{window}_stats.json")


_PAGE_FIELDS = ("rank", "value", "xp", "level", "virtual_level")


def page_entry(metric: str, row: Optional[dict]) -> dict:
    """One line of a personal page from a board row (None: not on the board); a board apart
    has no XP and no level (null)."""
    if row is None:
        entry = {"metric": metric, "rank": None, "value": 0, "xp": 0, "level": 1,
                 "virtual_level": 1}
    else:
        entry = {"metric": metric, **{key: row.get(key) for key in _PAGE_FIELDS}}
    if metric in APART:
        entry.update(xp=None, level=None, virtual_level=None)
    return entry


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
