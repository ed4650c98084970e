"""Where things live under a scoreboard root (the seed README's storage layout).

    <root>/
      config/optout.txt                      users who opted out, one a line
      leaderboards/<window>_<metric>.json    boards over all clusters
      clusters/<c>/agg/rollups/monthly/YYYY-MM.json
      clusters/<c>/agg/users/<user>.json
      clusters/<c>/state/poll_cursor.json
      clusters/<c>/state/seen/YYYY-MM.bloom
      clusters/<c>/state/sacct_rate.json     sb-sacct's shared call log (rate limit)

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


def sacct_rate_file(root: str, cluster: str) -> str:
    return os.path.join(state_dir(root, cluster), "sacct_rate.json")


def optout_file(root: str) -> str:
    return os.path.join(root, "config", "optout.txt")


def default_state_root() -> str:
    """Where sb-sacct keeps its call log when no root is given."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return os.path.join(base, "slurm-scoreboard")
