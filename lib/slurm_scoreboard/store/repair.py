"""Rebuilding a cluster's derived files from its monthly rollups, and forgetting users.

Every user file (``agg/users/<user>.json``) and the all-time index (``agg/alltime.json``) are
sums over the months, so they can always be recomputed from the rollups: ``sb-reduce --repair``
does it after damage, and ``sb-reduce --replace-month`` does it after swapping one month. A user
file of a user who has no month left is removed. Rollups whose name is no real month are left
alone (and named); a damaged rollup stops the repair, since it can only be fetched again
(``sb-backfill --redo-month``).
"""
from __future__ import annotations

import os
from typing import Dict, List, Tuple

from ..core import layout
from ..core.files import atomic_write, read_bytes
from ..core.names import check_name
from ..errors import UnsafePath
from .journal import Transaction
from .store import Rollup, UserTotals, alltime_bytes, load_month


def totals_from_rollups(root: str, cluster: str, replaced: Dict[str, Rollup]
                        ) -> Tuple[Dict[str, UserTotals], List[str]]:
    """user -> all-time totals over every month (the `replaced` months taken from memory, not
    from disk), and the files that were left out because they are named like no real month."""
    totals: Dict[str, UserTotals] = {}
    ignored = []
    months = dict(replaced)
    for month, path in layout.rollup_paths(root, cluster):
        if not layout.MONTH_NAME.fullmatch(month):
            ignored.append(path)
        elif month not in months:
            months[month] = load_month(path, month)
    for month in sorted(months):
        for user, usage in months[month].users.items():
            totals.setdefault(user, UserTotals()).add_month(month, usage)
    return totals, ignored


def stage_derived(transaction: Transaction, root: str, cluster: str,
                  totals: Dict[str, UserTotals], asof: str) -> int:
    """Stage every user file and the all-time index from `totals`, and the removal of user files
    of anyone else; returns how many user files are removed."""
    entries = {}
    for user in sorted(totals):
        transaction.stage(layout.user_file(root, cluster, user),
                          totals[user].to_bytes(user, cluster, asof))
        entries[user] = totals[user].entry(user)
    transaction.stage(layout.alltime_file(root, cluster), alltime_bytes(cluster, entries, asof))
    removed = 0
    for user in stored_users(root, cluster):
        if user not in totals:
            transaction.remove(layout.user_file(root, cluster, user))
            removed += 1
    return removed


def stored_users(root: str, cluster: str) -> List[str]:
    """Users with a file under agg/users (names that are not plain are not user files)."""
    try:
        names = os.listdir(layout.users_dir(root, cluster))
    except FileNotFoundError:
        return []
    users = []
    for name in names:
        if name.endswith(".json"):
            try:
                users.append(check_name("user", name[:-5]))
            except ValueError:
                continue
    return sorted(users)


def forget_users(root: str, cluster: str, users: List[str]) -> None:
    """Take erased users out of the cluster's discovery lists (state/known_users.txt,
    state/discovery_deferred.tsv), so no file but the opt-out's own keeps their names. A user
    who opts back in is new again: discovery fetches their whole history."""
    gone = set(users)
    for name in ("known_users", "discovery_deferred"):
        path = layout.path(root, name, cluster=cluster)
        try:
            lines = read_bytes(path, 1 << 26).decode("utf-8", "replace").splitlines()
        except (FileNotFoundError, UnsafePath, ValueError):
            continue
        kept = [line for line in lines if line.split("\t", 1)[0] not in gone]
        if len(kept) != len(lines):
            atomic_write(path, "".join(line + "\n" for line in kept).encode())


def remedy(path: str) -> str:
    """The command that repairs a damaged store file."""
    name = os.path.basename(path)
    if layout.MONTH_NAME.fullmatch(name[:7]) and (name.endswith(".json") or name.endswith(".bloom")):
        return f"sb-backfill --redo-month {name[:7]} repairs it"
    return "sb-reduce --repair rebuilds it from the rollups"
