"""Where things live under a scoreboard root (the seed README's storage layout).

    <root>/
      config/optout.txt                      users who opted out, one a line
      leaderboards/<window>_<metric>.json    boards over all clusters
      clusters/<c>/agg/rollups/monthly/YYYY-MM.json
      clusters/<c>/agg/users/<user>.json
      clusters/<c>/agg/alltime.json          every user's all-time totals, one file
      clusters/<c>/agg/day_rule.json         the months still counted on the day jobs ended
      clusters/<c>/state/poll_cursor.json
      clusters/<c>/state/seen/YYYY-MM.bloom
      clusters/<c>/state/sacct_rate.json     sb-sacct's shared call log (rate limit)
      clusters/<c>/state/reduce.lock         held by the one sb-reduce writing the cluster
      clusters/<c>/state/store.lock          exclusive while files change, shared while read
      clusters/<c>/state/journal.json        present only while an update is being applied
      state/sacct_rate.json                  sb-sacct's call log for calls without --cluster

Every name that becomes part of a path is checked by :func:`names.check_name` first.
"""
from __future__ import annotations

import fnmatch
import os
import re
from typing import List, Optional, Tuple

from .files import list_folder
from .names import check_name

TOP_FOLDERS = ("clusters", "leaderboards", "config")


def cluster_dir(root: str, cluster: str) -> str:
    return os.path.join(root, "clusters", check_name("cluster", cluster))


def state_dir(root: str, cluster: str) -> str:
    return os.path.join(cluster_dir(root, cluster), "state")


def seen_dir(root: str, cluster: str) -> str:
    return os.path.join(state_dir(root, cluster), "seen")


def bloom_file(root: str, cluster: str, month: str) -> str:
    return os.path.join(seen_dir(root, cluster), month + ".bloom")


def rollup_dir(root: str, cluster: str) -> str:
    return os.path.join(cluster_dir(root, cluster), "agg", "rollups", "monthly")


def rollup_file(root: str, cluster: str, month: str) -> str:
    return os.path.join(rollup_dir(root, cluster), month + ".json")


MONTH_NAME = re.compile(r"(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])")


def rollup_paths(root: str, cluster: str) -> List[Tuple[str, str]]:
    """(name, path) of every file that looks like a monthly rollup, oldest first; whether the
    name is a real month (:data:`MONTH_NAME`) is for the caller to check."""
    folder = rollup_dir(root, cluster)
    names = fnmatch.filter(list_folder(folder), "[0-9][0-9][0-9][0-9]-[0-9][0-9].json")
    return [(name[:-5], os.path.join(folder, name)) for name in sorted(names)]


def users_dir(root: str, cluster: str) -> str:
    return os.path.join(cluster_dir(root, cluster), "agg", "users")


def user_file(root: str, cluster: str, user: str) -> str:
    return os.path.join(users_dir(root, cluster), check_name("user", user) + ".json")


def alltime_file(root: str, cluster: str) -> str:
    return os.path.join(cluster_dir(root, cluster), "agg", "alltime.json")


def day_rule_file(root: str, cluster: str) -> str:
    """Which days the cluster's day rows put usage on (store.load_day_rule)."""
    return os.path.join(cluster_dir(root, cluster), "agg", "day_rule.json")


def reduce_lock(root: str, cluster: str) -> str:
    """Held (exclusive) by the one sb-reduce of a cluster for its whole run."""
    return os.path.join(state_dir(root, cluster), "reduce.lock")


def owned_dirs(root: str, cluster: str) -> list:
    """The folders only sb-reduce writes (swept of leftovers when an update is recovered)."""
    return [os.path.join(cluster_dir(root, cluster), "agg"), seen_dir(root, cluster)]


def journal_file(root: str, cluster: str) -> str:
    return os.path.join(state_dir(root, cluster), "journal.json")


def clusters(root: str) -> list:
    """The clusters under a root with records stored (a folder that only holds a poller's state,
    such as a mistyped --cluster's, is not one); names that are not plain are ignored."""
    folder = os.path.join(root, "clusters")
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    result = []
    for name in names:
        try:
            check_name("cluster", name)
        except ValueError:
            continue
        stored = (os.path.join(folder, name, "agg"), seen_dir(root, name))
        if any(os.path.isdir(path) and not os.path.islink(path) for path in stored):
            result.append(name)
    return result


def store_lock(root: str, cluster: str) -> str:
    """Exclusive while an update is applied or recovered; shared while a reader reads."""
    return os.path.join(state_dir(root, cluster), "store.lock")


def sacct_rate_file(root: str, cluster: Optional[str]) -> str:
    """sb-sacct's call log for a cluster; calls without --cluster (the local cluster) are logged
    under the root's own state folder, so they create no cluster."""
    if not cluster:
        return os.path.join(root, "state", "sacct_rate.json")
    return os.path.join(state_dir(root, cluster), "sacct_rate.json")


def optout_file(root: str) -> str:
    return os.path.join(root, "config", "optout.txt")


def default_state_root() -> str:
    """Where sb-sacct keeps its call log when no root is given."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return os.path.join(base, "slurm-scoreboard")


# -- leaderboards/: what sb-rank writes ---------------------------------------------------

def leaderboards(root: str) -> str:
    return os.path.join(root, "leaderboards")


def achievements_file(root: str) -> str:
    return os.path.join(leaderboards(root), "achievements.ndjson")


def records_file(root: str) -> str:
    return os.path.join(leaderboards(root), "records.json")


def competitions_file(root: str) -> str:
    return os.path.join(leaderboards(root), "competitions.json")


def competition_dir(root: str) -> str:
    return os.path.join(leaderboards(root), "competitions")


def competition_file(root: str, ident: str) -> str:
    return os.path.join(competition_dir(root), ident + ".json")


def competitions_config(root: str) -> str:
    return os.path.join(root, "config", "competitions.json")


def history_record(root: str) -> str:
    return os.path.join(leaderboards(root), "history.json")


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
