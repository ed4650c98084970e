"""Reading a cluster's store for the boards: every window's usage per user and account, from the
all-time index and the monthly rollups, under the store's shared lock (a reader never sees half
an update), opted-out users left out. What a job with no SLURM account is charged to makes no
group (:func:`is_group`).
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..core import layout
from ..core.files import locked, shared_lock
from ..core.optout import OptOut
from ..core.windows import Window
from ..errors import LockBusy, StoreBusy, StoreCorrupt, UnsafePath
from . import metrics
from .journal import recover
from .repair import remedy
from .store import day_rows, ended_months, is_account, is_vector, load_object, user_entries

Vector = metrics.Vector
Usage = Dict[str, Dict[str, Vector]]          # user -> account -> vector


NO_ACCOUNT = ""          # what a job sacct shows without an account is charged to


def is_group(account: str) -> bool:
    """Whether an account makes a group: a job with no SLURM account counts for its user only,
    so there is never a nameless group."""
    return account != NO_ACCOUNT


Damage = Callable[[str, str], None]


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
    with reading(root, cluster, wait):
        months = rollup_months(root, cluster, report)
        dated = [window for window in wanted if window.first_day is not None]
        result: Dict[str, Usage] = {}
        if any(window.name == "alltime" for window in wanted):
            alltime = alltime_usage(root, cluster, optout, report)
            if alltime is None:
                dated.append(ALLTIME)
            else:
                result["alltime"] = alltime
        result.update(months_usage(months, dated, optout, report))
    return {window.name: result[window.name] for window in wanted}


ALLTIME = Window("alltime", None, None)


def alltime_usage(root: str, cluster: str, optout: OptOut, report: Damage) -> Optional[Usage]:
    """The all-time window from the all-time index; None when it is damaged (reported: the
    rollups' sum stands in). The caller reads under :func:`reading`."""
    path = layout.alltime_file(root, cluster)
    usage: Usage = {}
    try:
        _add_alltime(usage, path, optout)
    except StoreCorrupt as err:
        report(path, f"{err}; summing the monthly rollups instead ({remedy(path)})")
        return None
    return usage


def months_usage(months: Sequence[Tuple[str, str]], dated: Sequence[Window], optout: OptOut,
                 report: Damage) -> Dict[str, Usage]:
    """window name -> what the rollups of `months` ((month, path), as rollup_months gives
    them) add to each of the `dated` windows; a damaged rollup is reported and left out. The
    caller reads under :func:`reading`."""
    result: Dict[str, Usage] = {window.name: {} for window in dated}
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
