"""One cluster in a rebuild: its usage and measured usage taken from its kept summary while
they hold (summaries.py), else read from its store, only the months and files that changed;
its boards written, or left alone while its summary vouches for them; its summary kept.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Union

import orjson

from .. import boardfiles
from ..core import layout
from ..core.windows import Window
from ..errors import StoreCorrupt, UnsafePath
from ..store import reading
from . import summaries
from .scope import Run, guarded, measured_of, write_boards, write_efficiency

KEPT = "kept"       # what Cluster.usage gives when its summary's usage holds (read on demand)
Found = Union[Dict[str, reading.Usage], str, None]


def usage_board_files(root: str, cluster: Optional[str], wanted: Sequence[Window]) -> List[str]:
    """Every usage board and group statistics file of a scope (None: all clusters)."""
    paths = []
    for window in wanted:
        for kind in boardfiles.KINDS:
            paths += [layout.board_path(root, window.name, metric, cluster, kind)
                      for metric in boardfiles.BOARDS]
        paths.append(layout.stats_path(root, window.name, cluster))
    return paths


def efficiency_board_files(root: str, cluster: Optional[str], wanted: Sequence[Window],
                           measured_boards: Sequence[str]) -> List[str]:
    """Every efficiency board of a scope (None: all clusters)."""
    return [layout.board_path(root, window.name, metric, cluster, kind)
            for window in wanted for kind in boardfiles.KINDS for metric in measured_boards]


def usage_set(run: Run, cluster: Optional[str]) -> dict:
    """A scope's usage boards as they are now: what they are made with besides the usage (the
    rates), and who each file is (summaries.board_identities)."""
    return {"settings": orjson.dumps(run.rates, option=orjson.OPT_SORT_KEYS).decode(),
            "files": summaries.board_identities(usage_board_files(run.root, cluster,
                                                                  run.wanted))}


def efficiency_set(run: Run, cluster: Optional[str], measured_boards: Sequence[str]) -> dict:
    """A scope's efficiency boards as they are now (as :func:`usage_set`)."""
    settings = {"rate": run.rates["cpu_used_hours"], "min_cpu_hours": run.min_hours,
                "boards": list(measured_boards)}
    return {"settings": orjson.dumps(settings, option=orjson.OPT_SORT_KEYS).decode(),
            "files": summaries.board_identities(efficiency_board_files(
                run.root, cluster, run.wanted, measured_boards))}


class Cluster:
    """One cluster in a rebuild: its summary file's header (one this account wrote, whole),
    the keys its parts would have now, which parts were taken from the file, the lines to keep
    of each, and whether it was read without damage (only then is its summary kept)."""

    def __init__(self, run: Run, name: str) -> None:
        self.name = name
        self.clean = True
        self.keys: Dict[str, str] = {}
        self.lines: Dict[str, Optional[bytes]] = {}
        self.kept: set = set()
        self.header = summaries.header_of(summaries.cluster_lines(run.root, name), name)
        self._measured: Optional[dict] = None
        self._measured_read = False
        try:
            self.keys["measured"] = summaries.measured_key(run.root, name, run.wanted,
                                                           run.optout)
        except (StoreCorrupt, UnsafePath, OSError):
            pass                                  # the read that follows names why

    def holds(self, part: str) -> bool:
        """Whether the summary file's `part` was made from what the store holds now."""
        return self.header is not None and self.header.keys[part] == self.keys.get(part)

    def _kept(self, run: Run, part: str, windows: Sequence[Window]) -> Optional[dict]:
        """Part `part` of the summary file, when it holds and checks out whole."""
        if not self.holds(part):
            return None
        lines = summaries.cluster_lines(run.root, self.name)
        if not lines or self.header is None:
            return None
        found = summaries.part(lines, self.header, part, windows, run.optout)
        if found is not None:
            self.lines[part] = lines[1 + summaries.PARTS.index(part)]
            self.kept.add(part)
            if part == "usage":          # the settled months, kept as they are with it
                self.lines["settled"] = lines[1 + summaries.PARTS.index("settled")]
        return found

    def _watched(self, run: Run, read: Callable):
        """What `read` returns; the cluster is not clean when it reported damage."""
        before = run.damage.count()
        result = read()
        self.clean = self.clean and run.damage.count() == before
        return result

    def measured(self, run: Run) -> Optional[dict]:
        """window name -> measured usage: the summary's, else the usage files' (None: they
        cannot be read); read once, when first asked for."""
        if not self._measured_read:
            self._measured_read = True
            self._measured = self._kept(run, "measured", run.wanted)
            if self._measured is None:
                self._measured = self._watched(run, lambda: measured_of(
                    run.root, self.name, run.wanted, run.optout, run.damage))
        return self._measured

    def usage(self, run: Run) -> Found:
        """window name -> usage, under the store's lock: KEPT when the summary's holds (read
        by :meth:`kept_usage` when needed), else the store's, its settled months (all but the
        newest) from the summary while they hold; None when the store cannot be read."""
        return self._watched(run, lambda: guarded(run.root, self.name, run.damage,
                                                  lambda: self._usage_now(run)))

    def _usage_now(self, run: Run) -> Union[Dict[str, reading.Usage], str]:
        with reading.reading(run.root, self.name, run.wait):
            months = reading.rollup_months(run.root, self.name, run.damage)
            self.keys.update(summaries.usage_keys(run.root, self.name, run.wanted, run.optout,
                                                  months))
            if self.holds("usage"):
                return KEPT
            return self._from_store(run, months, self._kept(run, "settled", run.dated()))

    def kept_usage(self, run: Run) -> Optional[Dict[str, reading.Usage]]:
        """The summary's usage that :meth:`usage` found holding; the store's when the file
        does not check out after all."""
        usage = self._kept(run, "usage", run.wanted)
        if usage is not None:
            return usage
        self.header = None
        found = self.usage(run)
        return None if isinstance(found, str) else found

    def old_usage(self, run: Run) -> Optional[Dict[str, reading.Usage]]:
        """The usage the summary file holds, whatever its key (what the all-cluster summary
        may hold of this cluster)."""
        lines = summaries.cluster_lines(run.root, self.name)
        return summaries.part(lines, self.header, "usage", run.wanted, run.optout) \
            if lines and self.header else None

    def _from_store(self, run: Run, months: summaries.Months,
                    settled: Optional[dict]) -> Dict[str, reading.Usage]:
        """The all-time index and the newest month read, added to the settled months (read
        too, when `settled` is None); every month when the index is damaged."""
        dated = run.dated()
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

    def write(self, run: Run, found: Found,
              measured_boards: Sequence[str]) -> Optional[Dict[str, reading.Usage]]:
        """The cluster's boards, each set (usage, efficiency) left alone while the summary
        vouches for it: made from what the store holds now, with these settings, and every
        file untouched since; then its summary kept. The usage it had (None: not read)."""
        record = self.header.boards if self.header is not None else {}
        usage = found if isinstance(found, dict) else None
        usage_alone = self.holds("usage") and record.get("usage") == usage_set(run, self.name)
        if usage_alone:
            run.writer.left_alone(len(run.wanted) * len(boardfiles.KINDS) *
                                  len(boardfiles.BOARDS))
        else:
            usage = usage or self.kept_usage(run)
            if usage is None:
                return None
            write_boards(run, usage, self.name)
        if self.holds("measured") and record.get("efficiency") == efficiency_set(
                run, self.name, measured_boards):
            run.writer.left_alone(len(run.wanted) * len(boardfiles.KINDS) *
                                  len(measured_boards))
            if usage_alone:
                return usage
        else:
            measured = self.measured(run)
            if measured is not None and measured_boards:
                write_efficiency(run, measured, measured_boards, self.name)
        self.save(run, usage, measured_boards)
        return usage

    def _line(self, run: Run, part: str,
              usage: Optional[Dict[str, reading.Usage]]) -> Optional[bytes]:
        """Part `part`'s line to keep: as read, as the file holds it while it holds, or made
        now."""
        if self.lines.get(part) is not None:
            return self.lines[part]
        if self.holds(part) and self.header is not None:
            raw = summaries.raw_part(summaries.cluster_lines(run.root, self.name), self.header,
                                     part)
            if raw is not None:
                return raw
        if part == "measured":
            measured = self.measured(run)
            return summaries.line(measured) if measured is not None else None
        if part == "usage":
            usage = usage or self.kept_usage(run)
            return summaries.line(usage) if usage is not None else None
        return None

    def save(self, run: Run, usage: Optional[Dict[str, reading.Usage]],
             measured_boards: Sequence[str]) -> None:
        """The cluster's summary, when it was read whole and clean."""
        if set(self.keys) != set(summaries.PARTS):
            return
        lines = {part: self._line(run, part, usage) for part in summaries.PARTS}
        if self.clean and all(line is not None for line in lines.values()):
            summaries.save(run.root, self.name, self.keys,
                           {"usage": usage_set(run, self.name),
                            "efficiency": efficiency_set(run, self.name, measured_boards)},
                           lines)   # type: ignore[arg-type]
