"""What every part of a rebuild shares: the damage it met, its settings (:class:`Run`), one
scope's boards written, and one cluster's store read without one bad file stopping the rest.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, TypeVar

from .. import boardfiles, errors
from ..core import layout, times
from ..core.optout import OptOut
from ..core.windows import Window
from ..errors import JournalCorrupt, StoreCorrupt, UnsafePath
from ..store import reading
from . import efficiency, groupstats, standings
from .writer import BoardWriter

Warn = Callable[[str], None]
T = TypeVar("T")


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

    def count(self) -> int:
        """How many damaged files and busy clusters were met so far."""
        return len(self.paths) + len(self.busy)

    def exit_code(self) -> int:
        if self.busy:
            return errors.EXIT_LOCKED
        if self.errors:
            return errors.EXIT_ERROR
        return errors.EXIT_DAMAGED if self.paths else errors.EXIT_OK


class Run(NamedTuple):
    """What every board of one rebuild is made with, and where its files go."""
    root: str
    wanted: List[Window]
    rates: Dict[str, float]
    now: datetime
    min_hours: float
    optout: OptOut
    wait: float
    damage: Damage
    writer: BoardWriter

    def dated(self) -> List[Window]:
        """The windows of a few days (all but alltime): what the monthly rollups make."""
        return [window for window in self.wanted if window.first_day is not None]


def write_boards(run: Run, usage_by_window: Dict[str, reading.Usage],
                 cluster: Optional[str] = None) -> None:
    """Every board and the group statistics of one scope."""
    for window in run.wanted:
        usage = usage_by_window[window.name]
        for kind in boardfiles.KINDS:
            table = standings.standings(usage, kind, run.rates)
            for metric in boardfiles.BOARDS:
                run.writer.write(layout.board_path(run.root, window.name, metric, cluster, kind),
                                 boardfiles.document(table.rows(metric), window, metric,
                                                     cluster or boardfiles.ALL, kind, run.now))
        run.writer.write(layout.stats_path(run.root, window.name, cluster),
                         {"asof": times.to_iso(run.now), "window": window.name,
                          "cluster": cluster or boardfiles.ALL,
                          "groups": groupstats.group_stats(usage, run.rates)}, board=False)


def write_efficiency(run: Run, measured_by_window: dict, measured_boards: Sequence[str],
                     cluster: Optional[str] = None) -> None:
    """The efficiency boards of one scope (efficiency.py)."""
    for window in run.wanted:
        measured = measured_by_window[window.name]
        for kind in boardfiles.KINDS:
            totals = efficiency.totals_of(measured, kind)
            for metric in measured_boards:
                rows = efficiency.board_rows(measured, kind, metric,
                                             run.rates["cpu_used_hours"], run.min_hours, totals)
                doc = boardfiles.document(rows, window, metric, cluster or boardfiles.ALL,
                                          kind, run.now)
                if metric in efficiency.RATIOS:
                    doc["min_cpu_hours"] = run.min_hours
                run.writer.write(layout.board_path(run.root, window.name, metric, cluster,
                                                   kind), doc)


def collect(root: str, cluster: str, wanted: Sequence[Window], optout: OptOut, wait: float,
            damage: Damage) -> Optional[Dict[str, reading.Usage]]:
    """window name -> usage of one cluster; None when the cluster cannot be read at all (an
    unreadable journal, a planted symlink, a store that stays busy): it is named and left out,
    and every other cluster is still ranked."""
    return guarded(root, cluster, damage,
                   lambda: reading.collect_cluster(root, cluster, wanted, optout, wait, damage))


def guarded(root: str, cluster: str, damage: Damage, read: Callable[[], T]) -> Optional[T]:
    """What `read` (of one cluster's store) returns; None, the cluster named, when it cannot
    be read at all (see :func:`collect`)."""
    try:
        return read()
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


def measured_of(root: str, name: str, wanted: Sequence[Window], optout: OptOut,
                damage: Damage) -> Optional[dict]:
    """window name -> one cluster's measured usage; None when its usage folder cannot be read
    (named, and its measured jobs left out)."""
    try:
        return efficiency.collect_cluster(root, name, wanted, optout, damage)
    except (StoreCorrupt, UnsafePath) as err:
        damage(layout.usage_dir(root, name), f"{err}; its measured jobs are left out")
    return None


def merged_measured(parts: Sequence[dict], wanted: Sequence[Window]) -> dict:
    """window name -> the measured usage of every cluster in `parts`, summed in their order
    (the sums are floats: the order makes the last bits)."""
    merged: dict = {window.name: {} for window in wanted}
    for by_window in parts:
        for window_name, part in by_window.items():
            efficiency.merge_into(merged[window_name], part)
    return merged
