"""Where things live under a scoreboard root (the seed README's storage layout).

    <root>/
      config/optout.txt                      users who opted out, one a line
      leaderboards/<window>_<metric>.json    boards over all clusters
      clusters/<c>/agg/rollups/monthly/YYYY-MM.json
      clusters/<c>/agg/users/<user>.json
      clusters/<c>/agg/alltime.json          every user's all-time totals, one file
      clusters/<c>/state/poll_cursor.json
      clusters/<c>/state/seen/YYYY-MM.bloom
      clusters/<c>/state/sacct_rate.json     sb-sacct's shared call log (rate limit)
      clusters/<c>/state/reduce.lock         held by the one sb-reduce writing the cluster
      clusters/<c>/state/store.lock          exclusive while files change, shared while read
      clusters/<c>/state/journal.json        present only while an update is being applied

Every name that becomes part of a path is checked by :func:`names.check_name` first.
"""
from __future__ import annotations

import os

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


def users_dir(root: str, cluster: str) -> str:
    return os.path.join(cluster_dir(root, cluster), "agg", "users")


def user_file(root: str, cluster: str, user: str) -> str:
    return os.path.join(users_dir(root, cluster), check_name("user", user) + ".json")


def alltime_file(root: str, cluster: str) -> str:
    return os.path.join(cluster_dir(root, cluster), "agg", "alltime.json")


def reduce_lock(root: str, cluster: str) -> str:
    """Held (exclusive) by the one sb-reduce of a cluster for its whole run."""
    return os.path.join(state_dir(root, cluster), "reduce.lock")


def owned_dirs(root: str, cluster: str) -> list:
    """The folders only sb-reduce writes (swept of leftovers when an update is recovered)."""
    return [os.path.join(cluster_dir(root, cluster), "agg"), seen_dir(root, cluster)]


def journal_file(root: str, cluster: str) -> str:
    return os.path.join(state_dir(root, cluster), "journal.json")


def clusters(root: str) -> list:
    """Names of the clusters under a root that are plain names (others are ignored)."""
    folder = os.path.join(root, "clusters")
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    result = []
    for name in names:
        try:
            check_name("cluster", name)
        except ValueError:
            continue
        if os.path.isdir(os.path.join(folder, name)):
            result.append(name)
    return result


def store_lock(root: str, cluster: str) -> str:
    """Exclusive while an update is applied or recovered; shared while a reader reads."""
    return os.path.join(state_dir(root, cluster), "store.lock")


def sacct_rate_file(root: str, cluster: str) -> str:
    return os.path.join(state_dir(root, cluster), "sacct_rate.json")


def optout_file(root: str) -> str:
    return os.path.join(root, "config", "optout.txt")


def default_state_root() -> str:
    """Where sb-sacct keeps its call log when no root is given."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return os.path.join(base, "slurm-scoreboard")
