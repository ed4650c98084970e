"""Where everything lives under a scoreboard root: the one owner of every path (the README's
storage layout, and what grew since).

:data:`PATHS` names each file and folder by a template relative to the root; the functions
below fill it in, and ``pipelines/lib/paths.sh`` (generated from the same table by
``pipelines/lib/generate_paths.py``; a test checks it is current and that both sides agree) gives
the shell pipelines the same paths. Every name that becomes part of a path (a cluster, a user, a
cursor) is checked by :func:`names.check_name` first.
"""
from __future__ import annotations

import fnmatch
import os
import re
from typing import Dict, List, Optional, Tuple

from .files import list_folder
from .names import check_name

TOP_FOLDERS = ("clusters", "leaderboards", "config")

# name -> template relative to the root ({cluster}, {user}, {month}, {day}, {cursor}, {ident},
# {window}, {metric}, {kind} are filled in; each is a plain name, checked before it is used)
PATHS: Dict[str, str] = {
    # config/: the site's, written by hand or by sb-probe
    "sharing_config": "config/sharing.json",
    "optout_list": "config/optout.txt",
    "xp_config": "config/xp.json",
    "efficiency_config": "config/efficiency.json",
    "competitions_config": "config/competitions.json",
    # state/: the root's own
    "optout_cache": "state/optout_cache.json",
    "sacct_rate_local": "state/sacct_rate.json",
    "news_dir": "state/news",
    "news_cursor": "state/news/{cursor}.seen",
    "news_lock": "state/news/{cursor}.lock",
    "news_outbox": "state/news/{cursor}.outbox",
    "news_post_lock": "state/news/{cursor}.post.lock",
    # clusters/<c>/agg/: the store (sb-reduce)
    "cluster_dir": "clusters/{cluster}",
    "agg_dir": "clusters/{cluster}/agg",
    "rollup_dir": "clusters/{cluster}/agg/rollups/monthly",
    "rollup_file": "clusters/{cluster}/agg/rollups/monthly/{month}.json",
    "users_dir": "clusters/{cluster}/agg/users",
    "user_file": "clusters/{cluster}/agg/users/{user}.json",
    "alltime_file": "clusters/{cluster}/agg/alltime.json",
    "day_rule_file": "clusters/{cluster}/agg/day_rule.json",
    "usage_dir": "clusters/{cluster}/agg/usage",
    "usage_file": "clusters/{cluster}/agg/usage/{day}.json",
    # clusters/<c>/state/: the pollers' and the store's state
    "state_dir": "clusters/{cluster}/state",
    "seen_dir": "clusters/{cluster}/state/seen",
    "bloom_file": "clusters/{cluster}/state/seen/{month}.bloom",
    "journal_file": "clusters/{cluster}/state/journal.json",
    "reduce_lock": "clusters/{cluster}/state/reduce.lock",
    "store_lock": "clusters/{cluster}/state/store.lock",
    "sacct_rate": "clusters/{cluster}/state/sacct_rate.json",
    "poll_cursor": "clusters/{cluster}/state/poll_cursor.json",
    "poll_status": "clusters/{cluster}/state/poll_status.json",
    "poll_lock": "clusters/{cluster}/state/poll.lock",
    "resplit_lock": "clusters/{cluster}/state/resplit.lock",
    "daemon_lock": "clusters/{cluster}/state/daemon.lock",
    "daemon_heartbeat": "clusters/{cluster}/state/daemon_heartbeat.json",
    "steps_state": "clusters/{cluster}/state/usage.json",
    "sweep_state": "clusters/{cluster}/state/sweep.json",
    "known_users": "clusters/{cluster}/state/known_users.txt",
    "discovery_deferred": "clusters/{cluster}/state/discovery_deferred.tsv",
    # leaderboards/: what sb-rank writes
    "leaderboards": "leaderboards",
    "index_file": "leaderboards/index.json",
    "rebuild_record": "leaderboards/rebuild.json",
    "rebuild_lock": "leaderboards/rebuild.lock",
    "summary_dir": "leaderboards/.cache",
    "summary_file": "leaderboards/.cache/clusters/{cluster}.json",
    "summary_together": "leaderboards/.cache/all.json",
    "history_record": "leaderboards/history.json",
    "history_checkpoint": "leaderboards/history_checkpoint.json",
    "history_months": "leaderboards/history_months.ndjson",
    "achievements_file": "leaderboards/achievements.ndjson",
    "records_file": "leaderboards/records.json",
    "competitions_file": "leaderboards/competitions.json",
    "competition_dir": "leaderboards/competitions",
    "competition_file": "leaderboards/competitions/{ident}.json",
    "progress_dir": "leaderboards/progress",
    "progress_all": "leaderboards/progress/all_{kind}.ndjson",
    "progress_cluster": "leaderboards/progress/cluster-{cluster}_{kind}.ndjson",
}
_CHECKED = {"cluster": "cluster", "user": "user", "cursor": "cursor", "ident": "competition"}


def path(root: str, name: str, **fields: str) -> str:
    """The path of `name` (:data:`PATHS`) under `root`, its fields filled in (cluster, user and
    cursor names checked first)."""
    for key, kind in _CHECKED.items():
        if key in fields:
            check_name(kind, fields[key])
    return os.path.join(root, *PATHS[name].format(**fields).split("/"))


def cluster_dir(root: str, cluster: str) -> str:
    return path(root, "cluster_dir", cluster=cluster)


def state_dir(root: str, cluster: str) -> str:
    return path(root, "state_dir", cluster=cluster)


def seen_dir(root: str, cluster: str) -> str:
    return path(root, "seen_dir", cluster=cluster)


def bloom_file(root: str, cluster: str, month: str) -> str:
    return path(root, "bloom_file", cluster=cluster, month=month)


def rollup_dir(root: str, cluster: str) -> str:
    return path(root, "rollup_dir", cluster=cluster)


def rollup_file(root: str, cluster: str, month: str) -> str:
    return path(root, "rollup_file", cluster=cluster, month=month)


MONTH_NAME = re.compile(r"(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])")


def rollup_paths(root: str, cluster: str) -> List[Tuple[str, str]]:
    """(name, path) of every file that looks like a monthly rollup, oldest first; whether the
    name is a real month (:data:`MONTH_NAME`) is for the caller to check."""
    folder = rollup_dir(root, cluster)
    names = fnmatch.filter(list_folder(folder), "[0-9][0-9][0-9][0-9]-[0-9][0-9].json")
    return [(name[:-5], os.path.join(folder, name)) for name in sorted(names)]


def users_dir(root: str, cluster: str) -> str:
    return path(root, "users_dir", cluster=cluster)


def user_file(root: str, cluster: str, user: str) -> str:
    return path(root, "user_file", cluster=cluster, user=user)


def alltime_file(root: str, cluster: str) -> str:
    return path(root, "alltime_file", cluster=cluster)


def day_rule_file(root: str, cluster: str) -> str:
    """Which days the cluster's day rows put usage on (store.load_day_rule)."""
    return path(root, "day_rule_file", cluster=cluster)


def usage_dir(root: str, cluster: str) -> str:
    return path(root, "usage_dir", cluster=cluster)


def usage_file(root: str, cluster: str, day: str) -> str:
    return path(root, "usage_file", cluster=cluster, day=day)


def reduce_lock(root: str, cluster: str) -> str:
    """Held (exclusive) by the one sb-reduce of a cluster for its whole run."""
    return path(root, "reduce_lock", cluster=cluster)


def owned_dirs(root: str, cluster: str) -> list:
    """The folders only sb-reduce writes (swept of leftovers when an update is recovered)."""
    return [path(root, "agg_dir", cluster=cluster), seen_dir(root, cluster)]


def journal_file(root: str, cluster: str) -> str:
    return path(root, "journal_file", cluster=cluster)


def store_lock(root: str, cluster: str) -> str:
    """Exclusive while an update is applied or recovered; shared while a reader reads."""
    return path(root, "store_lock", cluster=cluster)


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
        stored = (path(root, "agg_dir", cluster=name), seen_dir(root, name))
        if any(os.path.isdir(found) and not os.path.islink(found) for found in stored):
            result.append(name)
    return result


def sacct_rate_file(root: str, cluster: Optional[str]) -> str:
    """sb-sacct's call log for a cluster; calls without --cluster (the local cluster) are logged
    under the root's own state folder, so they create no cluster."""
    if not cluster:
        return path(root, "sacct_rate_local")
    return path(root, "sacct_rate", cluster=cluster)


def optout_file(root: str) -> str:
    return path(root, "optout_list")


def default_state_root() -> str:
    """Where sb-sacct keeps its call log when no root is given."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return os.path.join(base, "slurm-scoreboard")


# -- leaderboards/: what sb-rank writes ---------------------------------------------------

def leaderboards(root: str) -> str:
    return path(root, "leaderboards")


def achievements_file(root: str) -> str:
    return path(root, "achievements_file")


def records_file(root: str) -> str:
    return path(root, "records_file")


def competitions_file(root: str) -> str:
    return path(root, "competitions_file")


def competition_dir(root: str) -> str:
    return path(root, "competition_dir")


def competition_file(root: str, ident: str) -> str:
    return path(root, "competition_file", ident=ident)


def competitions_config(root: str) -> str:
    return path(root, "competitions_config")


def summary_file(root: str, cluster: str) -> str:
    """A cluster's window summaries, kept between rebuilds (rank/summaries.py)."""
    return path(root, "summary_file", cluster=cluster)


PROGRESS_KINDS = ("users", "groups")


def progress_file(root: str, scope: str, kind: str) -> str:
    """What one scope's users or groups gained each month (history/progress.py): scope "all"
    (every cluster merged) or a cluster's name."""
    if kind not in PROGRESS_KINDS:
        raise ValueError(f"no progress file of {kind!r}")
    if scope == "all":
        return path(root, "progress_all", kind=kind)
    return path(root, "progress_cluster", cluster=scope, kind=kind)


def history_record(root: str) -> str:
    return path(root, "history_record")


def board_path(root: str, window: str, metric: str, cluster: Optional[str] = None,
               kind: str = "users") -> str:
    """leaderboards/[clusters/<c>/][groups/]<window>_<metric>.json"""
    parts = [root, "leaderboards"]
    if cluster:
        parts += ["clusters", check_name("cluster", cluster)]
    if kind == "groups":
        parts.append("groups")
    return os.path.join(*parts, f"{window}_{metric}.json")


def stats_path(root: str, window: str, cluster: Optional[str] = None) -> str:
    """leaderboards/[clusters/<c>/]groups/<window>_stats.json (groupstats.py)"""
    return os.path.join(os.path.dirname(board_path(root, window, "jobs", cluster, "groups")),
                        f"{window}_stats.json")
