"""The rebuild: every board of every window, scope and kind from each cluster's store, the
efficiency boards from the usage files, the history pass when it is due, and the index; under
the root's rebuild lock, skipped when nothing it reads changed (rebuilds.py).

Damaged store files are reported (:class:`Damage`) and left out, so one bad file never freezes
the boards: every other cluster and month is still ranked.
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, TypeVar

import orjson

from .. import boardfiles, errors
from ..core import layout, times, windows, xp
from ..core.files import atomic_write, locked, makedirs, remove_temporaries
from ..core.optout import OptOut
from ..core.windows import Window
from ..errors import JournalCorrupt, LockBusy, StoreCorrupt, UnsafePath
from ..history import chronicle, competitions
from ..store import reading
from . import efficiency, groupstats, rebuilds, standings, summaries
from .writer import BoardWriter

EXIT_DAMAGED = 4          # done, but damaged store files or clusters were left out

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
        return EXIT_DAMAGED if self.paths else errors.EXIT_OK


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
        for window_name, usage in (collect(root, name, wanted, optout, wait, damage)
                                   or {}).items():
            reading.merge_into(merged[window_name], usage)
    return merged


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


def collect_measured(root: str, names: Sequence[str], wanted: Sequence[Window], optout: OptOut,
                     damage: Damage) -> dict:
    """cluster -> window name -> measured usage (the step poll's usage files)."""
    result = {}
    for name in names:
        measured = measured_of(root, name, wanted, optout, damage)
        if measured is not None:
            result[name] = measured
    return result


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


# -- one cluster: its summary (the store's, or the one kept from the last rebuild) and boards

class Cluster:
    """One cluster in a rebuild: its summary file's header (one this account wrote, whole),
    the keys its parts would have now, which parts were taken from the file, the lines to keep
    of each, its measured usage, and whether it was read without damage (only then is its
    summary kept)."""

    def __init__(self, run: Run, name: str) -> None:
        self.name = name
        self.clean = True
        self.keys: Dict[str, str] = {}
        self.lines: Dict[str, Optional[bytes]] = {}
        self.kept: set = set()
        lines = summaries.read_lines(run.root, name)
        self.header = summaries.header_of(lines, name)
        self.measured: Optional[dict] = self._measured(run, lines)

    def _holds(self, part: str) -> bool:
        """Whether the summary file's `part` was made from what the store holds now."""
        return self.header is not None and self.header.keys[part] == self.keys.get(part)

    def _kept(self, run: Run, lines, part: str, windows: Sequence[Window]) -> Optional[dict]:
        """Part `part` of the summary file, when it holds and checks out whole."""
        if not lines or self.header is None or not self._holds(part):
            return None
        found = summaries.part(lines, self.header, part, windows, run.optout)
        if found is not None:
            self.lines[part] = lines[1 + summaries.PARTS.index(part)]
        return found

    def _watched(self, run: Run, read: Callable):
        """What `read` returns; the cluster is not clean when it reported damage."""
        before = run.damage.count()
        result = read()
        self.clean = self.clean and run.damage.count() == before
        return result

    def _measured(self, run: Run, lines) -> Optional[dict]:
        """window name -> measured usage: the summary's, else the usage files' (None: they
        cannot be read)."""
        try:
            self.keys["measured"] = summaries.measured_key(run.root, self.name, run.wanted,
                                                           run.optout)
        except (StoreCorrupt, UnsafePath, OSError):
            pass                                  # the read that follows names why
        measured = self._kept(run, lines, "measured", run.wanted)
        if measured is not None:
            self.kept.add("measured")
            return measured
        return self._watched(run, lambda: measured_of(run.root, self.name, run.wanted,
                                                      run.optout, run.damage))

    def usage(self, run: Run) -> Optional[Dict[str, reading.Usage]]:
        """window name -> usage (None: the store cannot be read), under the store's lock: the
        summary's while it holds; else the store's, its settled months (all but the newest)
        from the summary while they hold."""
        return self._watched(run, lambda: guarded(run.root, self.name, run.damage,
                                                  lambda: self._usage_now(run)))

    def _usage_now(self, run: Run) -> Dict[str, reading.Usage]:
        with reading.reading(run.root, self.name, run.wait):
            months = reading.rollup_months(run.root, self.name, run.damage)
            self.keys.update(summaries.usage_keys(run.root, self.name, run.wanted, run.optout,
                                                  months))
            lines = summaries.read_lines(run.root, self.name) if self.header else None
            usage = self._kept(run, lines, "usage", run.wanted)
            if usage is not None:
                self.kept.add("usage")
                self.lines["settled"] = lines[1 + summaries.PARTS.index("settled")]
                return usage
            dated = [window for window in run.wanted if window.first_day is not None]
            return self._from_store(run, months, dated, self._kept(run, lines, "settled",
                                                                   dated))

    def _from_store(self, run: Run, months: summaries.Months, dated: List[Window],
                    settled: Optional[dict]) -> Dict[str, reading.Usage]:
        """The all-time index and the newest month read, added to the settled months (read
        too, when `settled` is None); every month when the index is damaged."""
        alltime = reading.alltime_usage(run.root, self.name, run.optout, run.damage)
        if alltime is None:
            usage = reading.months_usage(months, dated + [reading.ALLTIME], run.optout,
                                         run.damage)
        else:
            if settled is None:
                settled = reading.months_usage(months[:-1], dated, run.optout, run.damage)
                self.lines["settled"] = summaries.line(settled)
            newest = reading.months_usage(months[-1:], dated, run.optout, run.damage)
            for window in dated:
                reading.merge_into(settled[window.name], newest[window.name])
            usage = dict(settled, alltime=alltime)
        return {window.name: usage[window.name] for window in run.wanted}

    def write(self, run: Run, usage: Dict[str, reading.Usage], measured_boards: Sequence[str]):
        """The cluster's boards, unless its summary holds whole and says they were made from
        it with these settings and are untouched since; then its summary kept."""
        settings = board_settings(run, measured_boards)
        paths = board_files(run.root, self.name, run.wanted, measured_boards)
        boards = {"settings": settings, "files": summaries.board_identities(paths)}
        if self.kept == {"measured", "usage"} and self.header is not None and \
                self.header.boards == boards:
            run.writer.left_alone(len(paths) - len(run.wanted))
            return
        write_boards(run, usage, self.name)
        if self.measured is not None and measured_boards:
            write_efficiency(run, self.measured, measured_boards, self.name)
        self.save(run, usage, {"settings": settings,
                               "files": summaries.board_identities(paths)})

    def save(self, run: Run, usage: Dict[str, reading.Usage], boards: dict) -> None:
        """The cluster's summary, when it was read whole and clean."""
        if not self.clean or self.measured is None or set(self.keys) != set(summaries.PARTS):
            return
        lines = dict(self.lines)
        if "measured" not in self.kept:
            lines["measured"] = summaries.line(self.measured)
        if "usage" not in self.kept:
            lines["usage"] = summaries.line(usage)
        if all(lines.get(part) is not None for part in summaries.PARTS):
            summaries.save(run.root, self.name, self.keys, boards, lines)


def board_files(root: str, cluster: str, wanted: Sequence[Window],
                measured_boards: Sequence[str]) -> List[str]:
    """Every file of a cluster's boards: what its kept summary records the identity of."""
    paths = []
    for window in wanted:
        for kind in boardfiles.KINDS:
            paths += [layout.board_path(root, window.name, metric, cluster, kind)
                      for metric in tuple(boardfiles.BOARDS) + tuple(measured_boards)]
        paths.append(layout.stats_path(root, window.name, cluster))
    return paths


def board_settings(run: Run, measured_boards: Sequence[str]) -> str:
    """What a cluster's boards are made with besides its summary."""
    return orjson.dumps({"rates": run.rates, "min_cpu_hours": run.min_hours,
                         "efficiency": list(measured_boards)},
                        option=orjson.OPT_SORT_KEYS).decode()


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
              min_hours, optout, wait, damage, BoardWriter())
    contests = load_competitions(root, now, damage)
    names = layout.clusters(root)
    clusters = [Cluster(run, name) for name in names]
    measured = [cluster.measured for cluster in clusters if cluster.measured is not None]
    merged_by_window = merged_measured(measured, run.wanted)
    first_guess = efficiency.written(merged_by_window["alltime"])
    readable = rank_clusters(run, clusters, first_guess)
    measured_readable = [cluster.measured for cluster in readable
                         if cluster.measured is not None]
    if len(measured_readable) != len(measured):
        merged_by_window = merged_measured(measured_readable, run.wanted)
    measured_boards = efficiency.written(merged_by_window["alltime"])
    if measured_boards != first_guess:      # a cluster became unreadable meanwhile
        for cluster in readable:
            if cluster.measured is not None:
                write_efficiency(run, cluster.measured, measured_boards, cluster.name)
    if measured_boards:
        write_efficiency(run, merged_by_window, measured_boards)
    del merged_by_window
    history(run, [cluster.name for cluster in readable], contests, history_every)
    index = {"asof": times.to_iso(now), "clusters": names, "windows": list(windows.NAMES),
             "metrics": list(boardfiles.BOARDS), "kinds": list(boardfiles.KINDS), "rates": rates,
             "efficiency": list(measured_boards), "min_cpu_hours": min_hours}
    atomic_write(boardfiles.index_path(root),
                 orjson.dumps(index, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_INDENT_2))
    return {"asof": times.to_iso(now), "boards": run.writer.boards,
            "written": run.writer.written, "clusters": names}


def rank_clusters(run: Run, clusters: Sequence[Cluster],
                  measured_boards: Sequence[str]) -> List[Cluster]:
    """Each cluster's boards, then the all-cluster usage boards merged from their summaries;
    the clusters that could be read."""
    merged: Dict[str, reading.Usage] = {window.name: {} for window in run.wanted}
    readable = []
    for cluster in clusters:
        usage = cluster.usage(run)
        if usage is None:
            continue
        readable.append(cluster)
        note = reading.old_rule_note(run.root, cluster.name)
        if note:
            run.damage.warn(note)
        cluster.write(run, usage, measured_boards)
        cluster.lines = {}
        for window_name, part in usage.items():
            reading.merge_into(merged[window_name], part)
        del usage
    write_boards(run, merged)
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
