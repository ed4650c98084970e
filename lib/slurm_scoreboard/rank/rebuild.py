"""The rebuild: every board of every window, scope and kind from each cluster's store, the
efficiency boards from the usage files, the history pass when it is due, and the index; under
the root's rebuild lock, skipped when nothing it reads changed (rebuilds.py).

Damaged store files are reported (:class:`Damage`) and left out, so one bad file never freezes
the boards: every other cluster and month is still ranked.
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import orjson

from .. import boardfiles, errors
from ..core import layout, times, windows, xp
from ..core.files import atomic_write, locked, makedirs, remove_temporaries
from ..core.optout import OptOut
from ..core.windows import Window
from ..errors import JournalCorrupt, LockBusy, StoreCorrupt, UnsafePath
from ..history import chronicle, competitions
from ..store import reading
from . import efficiency, groupstats, rebuilds, standings

Warn = Callable[[str], None]


class Damage:
    """Damaged store files met while reading: each is reported once (to `warn`), and the run
    exits 4; a config error leaves the boards written and the run's status 1."""

    def __init__(self, warn: Warn) -> None:
        self.warn = warn
        self.paths: list = []
        self.busy: list = []
        self.errors: list = []

    def __call__(self, path: str, message: str) -> None:
        if path not in self.paths:
            self.paths.append(path)
            self.warn(message if message.startswith(path) else f"{path}: {message}")

    def error(self, message: str) -> None:
        self.errors.append(message)
        self.warn(message)

    def exit_code(self) -> int:
        if self.busy:
            return errors.EXIT_LOCKED
        if self.errors:
            return errors.EXIT_ERROR
        return errors.EXIT_DAMAGED if self.paths else errors.EXIT_OK


def collect(root: str, cluster: str, wanted: Sequence[Window], optout: OptOut, wait: float,
            damage: Damage) -> Optional[Dict[str, reading.Usage]]:
    """window name -> usage of one cluster; None when the cluster cannot be read at all (an
    unreadable journal, a planted symlink, a store that stays busy): it is named and left out,
    and every other cluster is still ranked."""
    try:
        return reading.collect_cluster(root, cluster, wanted, optout, wait, damage)
    except JournalCorrupt as err:
        damage(layout.journal_file(root, cluster),
               f"{err}; the interrupted update cannot be finished: run sb-reduce --cluster "
               f"{cluster} --repair (see sb-reduce(1), RECOVERY); cluster {cluster} is left out")
    except (StoreCorrupt, UnsafePath) as err:
        damage(layout.cluster_dir(root, cluster), f"{err}; cluster {cluster} is left out")
    except errors.StoreBusy as err:
        damage.busy.append(cluster)
        damage(layout.cluster_dir(root, cluster), f"{err}; cluster {cluster} is left out")
    return None


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


def _write(path: str, document: dict) -> None:
    atomic_write(path, orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE))


def write_boards(root: str, usage_by_window: Dict[str, reading.Usage], wanted: Sequence[Window],
                 rates: Dict[str, float], now: datetime, cluster: Optional[str] = None) -> int:
    """Every board and the group statistics of one scope; how many boards were written."""
    count = 0
    for window in wanted:
        usage = usage_by_window[window.name]
        for kind in boardfiles.KINDS:
            table = standings.standings(usage, kind, rates)
            for metric in boardfiles.BOARDS:
                _write(layout.board_path(root, window.name, metric, cluster, kind),
                       boardfiles.document(table.rows(metric), window, metric,
                                           cluster or boardfiles.ALL, kind, now))
                count += 1
        _write(layout.stats_path(root, window.name, cluster),
               {"asof": times.to_iso(now), "window": window.name,
                "cluster": cluster or boardfiles.ALL,
                "groups": groupstats.group_stats(usage, rates)})
    return count


def write_efficiency(root: str, measured_by_window: dict, wanted: Sequence[Window],
                     rates: Dict[str, float], now: datetime, min_hours: float,
                     measured_boards: Sequence[str], cluster: Optional[str] = None) -> int:
    """The efficiency boards of one scope (efficiency.py)."""
    count = 0
    for window in wanted:
        measured = measured_by_window[window.name]
        for kind in boardfiles.KINDS:
            for metric in measured_boards:
                rows = efficiency.board_rows(measured, kind, metric, rates["cpu_used_hours"],
                                             min_hours)
                doc = boardfiles.document(rows, window, metric, cluster or boardfiles.ALL,
                                          kind, now)
                if metric in efficiency.RATIOS:
                    doc["min_cpu_hours"] = min_hours
                _write(layout.board_path(root, window.name, metric, cluster, kind), doc)
                count += 1
    return count


def collect_measured(root: str, names: Sequence[str], wanted: Sequence[Window], optout: OptOut,
                     damage: Damage) -> dict:
    """cluster -> window name -> measured usage (the step poll's usage files)."""
    result = {}
    for name in names:
        try:
            result[name] = efficiency.collect_cluster(root, name, wanted, optout, damage)
        except (StoreCorrupt, UnsafePath) as err:
            damage(layout.usage_dir(root, name), f"{err}; its measured jobs are left out")
    return result


def rebuild_efficiency(root: str, names: Sequence[str], wanted: Sequence[Window],
                       rates: Dict[str, float], now: datetime, optout: OptOut, damage: Damage,
                       min_hours: float) -> Tuple[List[str], int]:
    """Every scope's efficiency boards: (the names of the boards written, how many files); none
    before the step poll measured a job, so a site without it sees no empty boards."""
    measured = collect_measured(root, names, wanted, optout, damage)
    merged: dict = {window.name: {} for window in wanted}
    for by_window in measured.values():
        for window_name, part in by_window.items():
            efficiency.merge_into(merged[window_name], part)
    written = efficiency.written(merged["alltime"])
    count = 0
    if written:
        for name, by_window in measured.items():
            count += write_efficiency(root, by_window, wanted, rates, now, min_hours, written,
                                      name)
        count += write_efficiency(root, merged, wanted, rates, now, min_hours, written)
    return list(written), count


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
    """Every board file, and the history pass when it is due; the summary sb-rank prints."""
    wanted = [windows.resolve(name, now) for name in windows.NAMES]
    contests = load_competitions(root, now, damage)
    merged: Dict[str, reading.Usage] = {window.name: {} for window in wanted}
    names = layout.clusters(root)
    readable = []
    count = 0
    for name in names:
        usage = collect(root, name, wanted, optout, wait, damage)
        if usage is None:
            continue
        readable.append(name)
        note = reading.old_rule_note(root, name)
        if note:
            damage.warn(note)
        count += write_boards(root, usage, wanted, rates, now, name)
        for window_name, part in usage.items():
            reading.merge_into(merged[window_name], part)
        del usage
    count += write_boards(root, merged, wanted, rates, now)
    del merged
    measured_boards, written = rebuild_efficiency(root, readable, wanted, rates, now, optout,
                                                  damage, min_hours)
    count += written
    if chronicle.due(root, now, history_every):
        for warning in chronicle.write(root, readable, rates, optout, contests,
                                       times.to_iso(now), wait, damage):
            damage.warn(warning)
        chronicle.remember(root, now)
    index = {"asof": times.to_iso(now), "clusters": names, "windows": list(windows.NAMES),
             "metrics": list(boardfiles.BOARDS), "kinds": list(boardfiles.KINDS), "rates": rates,
             "efficiency": measured_boards, "min_cpu_hours": min_hours}
    atomic_write(boardfiles.index_path(root),
                 orjson.dumps(index, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_INDENT_2))
    return {"asof": times.to_iso(now), "boards": count, "clusters": names}


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
