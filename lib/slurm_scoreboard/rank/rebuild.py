"""The rebuild: every board of every window, scope and kind from each cluster's store, the
efficiency boards from the usage files, the history pass when it is due, and the index; under
the root's rebuild lock, skipped when nothing it reads changed (rebuilds.py).

A rebuild costs what changed since the last one: a cluster whose summary still holds is not
read and its boards are left alone (clusters.py), the all-cluster boards come from the kept
sums brought up to date (together.py), and a board is written only when what it shows changed
(writer.py). Damaged store files are reported (:class:`Damage`) and left out, so one bad file
never freezes the boards: every other cluster and month is still ranked.
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Dict, List, Optional, Sequence

import orjson

from .. import boardfiles, errors
from ..core import layout, times, windows, xp
from ..core.files import atomic_write, locked, makedirs, remove_temporaries
from ..core.optout import OptOut
from ..core.windows import Window
from ..errors import LockBusy
from ..history import chronicle, competitions
from ..store import reading
from . import efficiency, rebuilds
from .clusters import Cluster, efficiency_set
from .scope import (
    Damage,
    Run,
    collect,
    measured_of,
    write_boards,
    write_efficiency,
)
from .together import Sums
from .writer import BoardWriter

__all__ = ["Damage", "collect", "collect_measured", "scoped_usage", "rebuild",
           "rebuild_once"]


def scoped_usage(root: str, cluster: Optional[str], wanted: Sequence[Window], optout: OptOut,
                 wait: float, damage: Damage) -> Dict[str, reading.Usage]:
    """window name -> usage for one cluster, or all clusters merged."""
    if cluster:
        if cluster not in layout.clusters(root):
            raise errors.UnknownName(f"no cluster {cluster} under {root} (known: "
                                     f"{', '.join(layout.clusters(root)) or 'none yet'})")
        usage = collect(root, cluster, wanted, optout, wait, damage)
        if usage is None:
            raise errors.ToolError(f"cluster {cluster} cannot be read now", damage.exit_code())
        return usage
    merged: Dict[str, reading.Usage] = {window.name: {} for window in wanted}
    for name in layout.clusters(root):
        for window_name, cluster_usage in (collect(root, name, wanted, optout, wait, damage)
                                           or {}).items():
            reading.merge_into(merged[window_name], cluster_usage)
    return merged


def collect_measured(root: str, names: Sequence[str], wanted: Sequence[Window], optout: OptOut,
                     damage: Damage) -> dict:
    """cluster -> window name -> measured usage (the step poll's usage files)."""
    result = {}
    for name in names:
        measured = measured_of(root, name, wanted, optout, damage)
        if measured is not None:
            result[name] = measured
    return result


def load_competitions(root: str, now: datetime, damage: Damage):
    """The competitions of the root's config; None (and a reported error) when it cannot be
    used: the competitions' files then stay as they were, the rest is rebuilt."""
    try:
        return competitions.load(layout.competitions_config(root), times.to_iso(now)[:10],
                                 damage.warn)
    except errors.ConfigError as err:
        damage.error(f"{err}; the competitions are not updated (the rest is)")
        return None


def rebuild(root: str, rates: Dict[str, float], optout: OptOut, now: datetime, wait: float,
            damage: Damage, history_every: float = 3600.0,
            min_hours: float = efficiency.DEFAULT_MIN_CPU_HOURS) -> dict:
    """Every board file (those whose rows changed written), and the history pass when it is
    due; the summary sb-rank prints."""
    run = Run(root, [windows.resolve(name, now) for name in windows.NAMES], rates, now,
              min_hours, optout, wait, damage, BoardWriter(frozenset(optout.everyone())))
    contests = load_competitions(root, now, damage)
    names = layout.clusters(root)
    clusters = [Cluster(run, name) for name in names]
    sums = Sums(run, clusters)
    measured = sums.measured(clusters)
    first_guess = efficiency.written(measured["alltime"])
    readable = rank_clusters(run, clusters, sums, first_guess)
    if len(readable) != len(clusters):
        measured = sums.measured(readable)
    measured_boards = efficiency.written(measured["alltime"])
    if measured_boards != first_guess:      # a cluster could not be read after all
        for cluster in readable:
            part = cluster.measured(run)
            if part is not None:
                write_efficiency(run, part, measured_boards, cluster.name)
    if sums.efficiency_holds(efficiency_set(run, None, measured_boards)):
        run.writer.left_alone(len(run.wanted) * len(boardfiles.KINDS) * len(measured_boards))
    elif measured_boards:
        write_efficiency(run, measured, measured_boards)
    sums.save(clusters, readable, measured, efficiency_set(run, None, measured_boards))
    del measured, sums
    history(run, [cluster.name for cluster in readable], contests, history_every)
    index = {"asof": times.to_iso(now), "clusters": names, "windows": list(windows.NAMES),
             "metrics": list(boardfiles.BOARDS), "kinds": list(boardfiles.KINDS), "rates": rates,
             "efficiency": list(measured_boards), "min_cpu_hours": min_hours}
    atomic_write(boardfiles.index_path(root),
                 orjson.dumps(index, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_INDENT_2))
    return {"asof": times.to_iso(now), "boards": run.writer.boards,
            "written": run.writer.written, "clusters": names}


def rank_clusters(run: Run, clusters: Sequence[Cluster], sums: Sums,
                  measured_boards: Sequence[str]) -> List[Cluster]:
    """Each cluster's boards, then the all-cluster usage boards from the sums brought up to
    date; the clusters that could be read."""
    readable = []
    for cluster in clusters:
        found = cluster.usage(run)
        if found is not None:
            found = sums.take(cluster, found)
        if found is None:
            sums.leave_out(cluster)
            continue
        readable.append(cluster)
        note = reading.old_rule_note(run.root, cluster.name)
        if note:
            run.damage.warn(note)
        cluster.write(run, found, measured_boards)
        cluster.lines = {}
    write_boards(run, sums.finish(readable))
    return readable


def history(run: Run, names: List[str], contests, history_every: float) -> None:
    """The history pass (history/chronicle.py), when it is due."""
    if chronicle.due(run.root, run.now, history_every):
        for warning in chronicle.write(run.root, names, run.rates, run.optout, contests,
                                       times.to_iso(run.now), run.wait, run.damage):
            run.damage.warn(warning)
        chronicle.remember(run.root, run.now)


def rebuild_bar(root: str, given: Optional[float], damage: Damage) -> float:
    """The efficiency bar of a rebuild (efficiency.min_cpu_hours); a bad
    config/efficiency.json is reported (exit 1) and the default used, so the boards never
    freeze on it."""
    try:
        return efficiency.min_cpu_hours(root, given)
    except xp.ConfigError as err:
        damage.error(f"{err}; the efficiency boards use the default bar, "
                     f"{efficiency.DEFAULT_MIN_CPU_HOURS:g} CPU hours")
        return efficiency.DEFAULT_MIN_CPU_HOURS


def rebuild_once(root: str, rates: Dict[str, float], optout: OptOut, now: datetime,
                 damage: Damage, wait: float, if_changed: bool = False,
                 history_every: float = 3600.0, bar: Optional[float] = None) -> dict:
    """A rebuild under the root's rebuild lock; with `if_changed`, none while another runs or
    when nothing it reads changed since the last clean one (see rebuilds.py), the efficiency
    bar in force included."""
    bar = rebuild_bar(root, bar, damage)
    current = rebuilds.signature(root, now, rebuilds.bar_setting(bar))
    if if_changed:
        asof = rebuilds.unchanged(root, current)
        if asof:
            return {"asof": asof, "boards": 0, "clusters": layout.clusters(root),
                    "skipped": "unchanged"}
    makedirs(os.path.dirname(rebuilds.lock_path(root)))
    try:
        with locked(rebuilds.lock_path(root), 0 if if_changed else wait):
            # what a killed rebuild left half-written; only rebuilds write these files, and
            # never without this lock
            remove_temporaries(layout.leaderboards(root), (".json", ".ndjson"))
            summary = rebuild(root, rates, optout, now, wait, damage, history_every, bar)
            if damage.exit_code() == errors.EXIT_OK:
                rebuilds.remember(root, current, summary["asof"])
    except LockBusy:
        if not if_changed:
            raise
        return {"asof": None, "boards": 0, "clusters": layout.clusters(root),
                "skipped": "another rebuild is running"}
    return summary
