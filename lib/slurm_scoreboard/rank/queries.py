"""What sb-rank answers besides a rebuild: one board, a user's personal hiscores, two users side
by side. A writer of the root gets them from the store (as of now); a reader, who may not lock
the store, from the board files the last rebuild wrote (:class:`boardfiles.BoardFiles`, so
without users who opted out since).
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

from .. import boardfiles, errors
from ..boardfiles import BoardFiles
from ..core import layout, times, windows
from ..core.optout import OptOut
from ..core.windows import Window
from . import efficiency, groupstats, standings
from .rebuild import Damage, collect_measured, scoped_usage


class Query(NamedTuple):
    """What was asked: the board (window, metric, kind, account) or the names of the pages,
    and where (cluster: None for all)."""
    window: Optional[str]
    metric: Optional[str] = None
    groups: bool = False
    account: Optional[str] = None
    names: Sequence[str] = ()
    cluster: Optional[str] = None
    wait: float = 60.0
    min_cpu_hours: Optional[float] = None

    @property
    def kind(self) -> str:
        return "groups" if self.groups else "users"

    def board_metric(self) -> str:
        """The metric of a query for one board; UsageError without one (sb-rank checks it)."""
        if self.metric is None:
            raise errors.UsageError("one board needs both --window and --metric")
        return self.metric


# -- from the store (writers) ------------------------------------------------------------------

def user_pages(root: str, query: Query, now: datetime, rates: Dict[str, float], optout: OptOut,
               damage: Damage) -> List[dict]:
    """The personal hiscores of each name in `query.names`, in its window (all time by
    default); UnknownName when one is on no all-time board of the scope (a typo, or someone
    never stored)."""
    window = windows.resolve(query.window or "alltime", now)
    wanted = [window] if window.name == "alltime" else [window, windows.resolve("alltime", now)]
    usage = scoped_usage(root, query.cluster, wanted, optout, query.wait, damage)
    groups = groupstats.group_stats(usage[window.name], rates)
    measured = scoped_measured(root, query.cluster, window, optout, damage)
    bar = efficiency.min_cpu_hours(root, query.min_cpu_hours)
    files = BoardFiles(root, damage.warn)
    pages = []
    for user in query.names:
        if user not in usage["alltime"]:
            not_there_or_busy(damage, f"user {user}")
            raise errors.UnknownName(f"no user {user} on the boards of "
                                     f"{query.cluster or 'any cluster'} (a typo, a user never "
                                     "stored, or one who opted out)")
        page = standings.personal(usage[window.name], user, rates)
        page.update({"window": window.name, "cluster": query.cluster or boardfiles.ALL,
                     "asof": times.to_iso(now)})
        add_history(page, files, query.cluster, groups)
        page["efficiency"] = efficiency.personal(measured, user, rates["cpu_used_hours"], bar)
        pages.append(page)
    return pages


def not_there_or_busy(damage: Damage, who: str) -> None:
    """A name not found while a cluster's store was left out busy may be on it: StoreBusy (try
    again later), not "no such name"."""
    if damage.busy:
        raise errors.StoreBusy(f"{who} is on no board of the clusters read, and "
                               f"{', '.join(damage.busy)} stayed busy: try again (or "
                               "--from-files: the board files of the last rebuild)")


def scoped_measured(root: str, cluster: Optional[str], window: Window, optout: OptOut,
                    damage: Damage) -> dict:
    """The measured usage (usage files) of one cluster, or all clusters merged, in `window`."""
    merged: dict = {}
    names = [cluster] if cluster else layout.clusters(root)
    for by_window in collect_measured(root, names, [window], optout, damage).values():
        efficiency.merge_into(merged, by_window[window.name])
    return merged


def board_of(root: str, query: Query, now: datetime, rates: Dict[str, float], optout: OptOut,
             damage: Damage) -> List[dict]:
    """One board's rows computed now from the store."""
    window = windows.resolve(query.window or "alltime", now)
    metric = query.board_metric()
    if metric in efficiency.BOARDS:
        return efficiency_board(root, query, window, rates, optout, damage)
    usage = scoped_usage(root, query.cluster, [window], optout, query.wait, damage)[window.name]
    if query.account and not any(query.account in accounts for accounts in usage.values()):
        not_there_or_busy(damage, f"account {query.account}")
        raise errors.UnknownName(f"no account {query.account} in window {window.name} on "
                                 f"{query.cluster or 'any cluster'}")
    return standings.board_rows(usage, query.kind, metric, rates, query.account)


def efficiency_board(root: str, query: Query, window: Window, rates: Dict[str, float],
                     optout: OptOut, damage: Damage) -> List[dict]:
    """One efficiency board computed now from the usage files of the scope; an empty one says
    why (to damage.warn)."""
    if query.cluster and query.cluster not in layout.clusters(root):
        raise errors.UnknownName(f"no cluster {query.cluster} under {root}")
    merged = scoped_measured(root, query.cluster, window, optout, damage)
    bar = efficiency.min_cpu_hours(root, query.min_cpu_hours)
    metric = query.board_metric()
    rows = efficiency.board_rows(merged, query.kind, metric, rates["cpu_used_hours"], bar)
    if not rows and metric in efficiency.RATIOS and merged:
        damage.warn(f"no one with {bar:g} CPU hours of measured jobs on this board in "
                    f"{window.name} (the bar: --min-cpu-hours, config/efficiency.json)")
    elif not merged:
        damage.warn("no measured jobs here: the daily step poll of sb-poll measures them "
                    "(see sb-rank(1), Efficiency boards)")
    return rows


# -- from the board files (readers) -----------------------------------------------------------

def from_files(root: str, query: Query, warn: Callable[[str], None]) -> List[dict]:
    """What a reader gets: the pages of the names asked, or one board, from the board files."""
    return pages_from_files(root, query, warn) if query.names else board_from_files(root, query)


def board_from_files(root: str, query: Query) -> List[dict]:
    """One board's rows as the last rebuild wrote them, without users who opted out since."""
    if query.account:
        raise errors.ToolError("--account reads the store, which only the root's writers may "
                               "lock; readers get the board files (try --groups)")
    files = BoardFiles(root)
    return files.required_board(query.window or "alltime", query.board_metric(), query.cluster,
                                query.kind)["rows"]


def pages_from_files(root: str, query: Query,
                     warn: Optional[Callable[[str], None]] = None) -> List[dict]:
    """The personal hiscores of each name in `query.names`, from the board files."""
    files = BoardFiles(root, warn)
    window = query.window or "alltime"
    pages = []
    for user in query.names:
        page = files.personal(window, query.cluster, user)
        if not files.known(user, query.cluster):
            raise errors.UnknownName(f"no user {user} on the boards")
        add_history(page, files, query.cluster, files.group_stats(window, query.cluster))
        page["efficiency"] = efficiency_from_files(files, window, query.cluster, user)
        pages.append(page)
    return pages


def efficiency_from_files(files: BoardFiles, window: str, cluster: Optional[str],
                          user: str) -> List[dict]:
    """The user's rank and value on each efficiency board the last rebuild wrote."""
    try:
        measured = boardfiles.load_index(files.root).efficiency
    except errors.BoardError:
        return []
    found = []
    for metric in measured:
        try:
            row = files.row_of(user, window, metric, cluster or boardfiles.ALL)
        except errors.BoardError:
            continue
        found.append({"metric": metric, "rank": row and row.rank, "value": row and row.value})
    return found


# -- both ---------------------------------------------------------------------------------------

def add_history(page: dict, files: BoardFiles, cluster: Optional[str],
                groups: List[dict]) -> None:
    """The user's rank inside each of their groups (on what they charged to it), and their
    achievements with dates."""
    page["groups"] = boardfiles.ranks_in_groups(page["user"], groups)
    page["achievements"] = files.events_of(page["user"], "users", cluster)


def comparison(first: dict, second: dict) -> dict:
    """Two personal pages side by side: per skill both rows and the XP gap (first - second)."""
    fields = ("rank", "value", "level", "xp")
    skills = []
    for one, other in zip(first["skills"], second["skills"]):
        skills.append({"metric": one["metric"],
                       "values": [{k: one.get(k) for k in fields},
                                  {k: other.get(k) for k in fields}],
                       "xp_gap": (one.get("xp") or 0) - (other.get("xp") or 0)})
    overall = [page["overall"] or {"rank": None, "level": sum(s["level"] or 0 for s in
                                                              page["skills"]), "xp": 0}
               for page in (first, second)]
    return {"users": [first["user"], second["user"]], "window": first["window"],
            "cluster": first["cluster"], "asof": first["asof"], "overall": overall,
            "xp_gap": (overall[0].get("xp") or 0) - (overall[1].get("xp") or 0),
            "skills": skills}
