"""The files sb-rank writes from one history pass, beside the boards:

    leaderboards/achievements.ndjson        every achievement, oldest day first (sb-news reads it)
    leaderboards/records.json               records per skill, period, kind and scope
    leaderboards/competitions.json          every competition: id, title, skills, days, status
    leaderboards/competitions/<id>.json     one competition's standings
    leaderboards/progress/*.ndjson          each name's gains per month (progress.py)

Each is written atomically; a competition no longer configured loses its file. Readers read
them through boardfiles.py, which leaves out users who opted out since they were written.

The pass starts from its checkpoint (``leaderboards/history_checkpoint.json``, checkpoint.py:
its state at the start of the month before today's) when that validates, so after a poll it
reads one month and a part, not the whole history; it starts from the first day otherwise (a
late job in an older month, a new XP rate, someone opting out or in, another version), and
keeps a new checkpoint as it passes that month's start. Either way it writes the same files.
So a rebuild runs it every time by default; ``every`` (sb-rank --history-every) can still
space the passes out (:func:`due`): at most once per ``every`` seconds, and at once on a new
UTC day, after a change of the XP rates, the competitions or who opted out, or when a file is
missing. ``leaderboards/history.json`` records the last pass.
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import Callable, Dict, List, NamedTuple, Optional

import orjson

from ..core import layout, times
from ..core.files import (
    atomic_file,
    atomic_write,
    identity,
    list_folder,
    makedirs,
    read_bytes,
    unlink_synced,
)
from ..core.optout import OptOut, opted_out
from ..errors import OptOutUnreadable, UnsafePath
from . import checkpoint, competitions, history, progress
from .achievements import Achievements
from .recordbook import RecordBook

Damage = Callable[[str, str], None]


def _inputs(root: str) -> str:
    """What, besides the store, the pass's result depends on."""
    return "|".join([identity(layout.path(root, name))
                     for name in ("xp_config", "competitions_config")] + [opted_out_digest(root)])


def opted_out_digest(root: str) -> str:
    """A digest of who has opted out (the list and the home markers the pollers saw): it moves
    when someone opts in or out, not each time a poller looks at a home again."""
    try:
        names = opted_out(root)
    except OptOutUnreadable:
        return "-"
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()


def due(root: str, now: datetime, every: float) -> bool:
    """Whether a rebuild at `now` runs the history pass (see the module's doc)."""
    record = _read_record(layout.history_record(root)) or {}
    asof = record.get("asof")
    if not isinstance(asof, str) or asof[:10] != times.to_iso(now)[:10] or \
            record.get("inputs") != _inputs(root):
        return True
    if not all(os.path.isfile(path) for path in (
            layout.achievements_file(root), layout.records_file(root),
            layout.competitions_file(root), layout.progress_file(root, "all", "users"))):
        return True
    try:
        elapsed = (now - times.from_iso(asof)).total_seconds()
    except ValueError:
        return True
    return not 0 <= elapsed < every


def remember(root: str, now: datetime) -> None:
    atomic_write(layout.history_record(root), _dump({"asof": times.to_iso(now), "inputs": _inputs(root)}))


def _dump(document) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)


class Outcome(NamedTuple):
    """What one pass did: its warnings, the month it resumed from (None: the first day) or
    why it could not, and the month of the checkpoint it kept (None: none written)."""
    warnings: List[str]
    resumed: Optional[str]
    refused: str
    kept: Optional[str]


def write(root: str, clusters: List[str], rates: Dict[str, float], optout: OptOut,
          contests: Optional[List[competitions.Competition]], asof: str, wait: float,
          on_damage: Damage) -> List[str]:
    """One pass over the `clusters`, and every file above written (the competitions' only when
    `contests` is not None: a config that could not be read leaves them as they were); the
    warnings about competitions that name what the store never saw (typos, usually)."""
    return run(root, clusters, rates, optout, contests, asof, wait, on_damage).warnings


def run(root: str, clusters: List[str], rates: Dict[str, float], optout: OptOut,
        contests: Optional[List[competitions.Competition]], asof: str, wait: float,
        on_damage: Damage) -> Outcome:
    """:func:`write`, from the checkpoint when one validates (checkpoint.py), keeping a new one
    when it passes the start of the month before today's."""
    today = asof[:10]
    for contest in contests or []:
        if contest.users is not None:
            contest.users = {user for user in contest.users if user not in optout}
    months = history.cluster_months(root, clusters, on_damage)
    inputs = checkpoint.Inputs(dict(rates), checkpoint.optout_digest(optout), list(clusters),
                               checkpoint.target_month(today))
    found, refused = checkpoint.read(root, inputs, months, contests or [], wait)
    with atomic_file(layout.achievements_file(root)) as out:
        walk = _Walk(rates, contests or [], out, inputs.target)
        if not walk.start(root, found):
            out.seek(0)
            out.truncate()
            found, refused = None, "the achievements before its month changed"
            walk = _Walk(rates, contests or [], out, inputs.target)
            walk.start(root, None)
        batches = (batch for batch in history.day_batches(
            root, clusters, optout, on_damage, wait, since=found.month if found else None,
            months=months, ledger=walk.ledger) if batch[0] <= today)
        totals = walk.days(batches)
    atomic_write(layout.records_file(root), _dump(walk.book.document(asof)))
    progress.write(root, walk.progress.gains, clusters, rates, asof)
    warnings = []
    if contests is not None:
        _write_competitions(root, competitions.ordered(contests, today), rates, today, asof)
        warnings = [warning for contest in contests
                    for warning in competitions.unknown_names(contest, clusters, totals)]
    if walk.snapshot is not None:
        checkpoint.write(root, inputs, walk.snapshot)
    elif found is None:
        checkpoint.remove(root)     # of other inputs: who opted out, say; none kept this time
    return Outcome(warnings, found.month if found else None, refused,
                   walk.snapshot.month if walk.snapshot else None)


class _Walk:
    """One pass over the days, from a checkpoint or from the first day, that captures a new
    checkpoint at the start of the `target` month as it passes it (unless it started there)."""

    def __init__(self, rates: Dict[str, float], contests: List[competitions.Competition],
                 out, target: str):
        self.out = out
        self.target = target
        self.contests = contests
        self.feed = Achievements(rates, out)
        self.book = RecordBook(rates)
        self.progress = progress.Progress()
        self.walk = history.Pass([self.feed, self.book, competitions.Competitions(contests),
                                  self.progress])
        self.ledger: Optional[history.Ledger] = None
        self.tally: Optional[checkpoint.Tally] = None
        self.rollups: List[checkpoint.Rollup] = []
        self.snapshot: Optional[checkpoint.Snapshot] = None

    def start(self, root: str, found: Optional[checkpoint.Found]) -> bool:
        """From `found` (its achievements copied, its state restored) or, when None, from the
        first day; False when the achievements file no longer begins with found's events."""
        if found is None or found.month < self.target:
            self.tally = checkpoint.Tally(self.out)
            self.feed.out = self.tally
            self.ledger = history.Ledger(self.target)
        if found is None:
            return True
        if not checkpoint.copy_prefix(root, found.achievements, self.feed.out):
            return False
        state = found.state
        self.walk.totals = state.totals
        self.feed.leaders = state.leaders
        self.book.best, self.book.week, self.book.month = state.best, state.week, state.month
        self.book.week_gains = state.week_gains
        self.progress.gains = state.progress
        for contest in self.contests:
            contest.before, contest.during = checkpoint.sums_of(contest, state)
        self.rollups = list(found.rollups)
        return True

    def days(self, batches) -> Dict[history.Key, history.Vector]:
        """Every day of `batches` fed, the checkpoint captured on the way; the totals."""
        first = self.target + "-01"
        for day, rows in batches:
            if self.ledger is not None and day >= first:
                self._capture()
            self.walk.feed(day, rows)
        if self.ledger is not None:
            self._capture()
        return self.walk.finish()

    def _capture(self) -> None:
        """The state now, at the start of the target month (none when a month before it could
        not be read: the state would lack it while the rollup itself is unchanged)."""
        ledger, tally = self.ledger, self.tally
        assert ledger is not None and tally is not None
        self.ledger = None
        self.feed.out = self.out
        prefix = tally.stop()
        if ledger.damaged:
            return
        self.book.close_month()
        state = checkpoint.encode_state(self.walk.totals, self.feed.leaders, self.book,
                                        self.contests)
        self.snapshot = checkpoint.Snapshot(self.target, state, prefix,
                                            self.rollups + ledger.rollups,
                                            progress.encode(self.progress.gains))


def _write_competitions(root: str, contests: List[competitions.Competition],
                        rates: Dict[str, float], today: str, asof: str) -> None:
    makedirs(layout.competition_dir(root))
    for contest in contests:
        atomic_write(layout.competition_file(root, contest.ident),
                     _dump(contest.document(rates, today, asof)))
    atomic_write(layout.competitions_file(root), _dump(
        {"asof": asof, "competitions": [contest.summary(today) for contest in contests]}))
    _remove_unlisted(root, {contest.ident for contest in contests})


def _remove_unlisted(root: str, kept) -> None:
    for name in list_folder(layout.competition_dir(root)):
        if name.endswith(".json") and name[:-5] not in kept:
            unlink_synced(os.path.join(layout.competition_dir(root), name))


def _read_record(path: str) -> Optional[dict]:
    """The record of the last pass (history.json), or None when missing or not one."""
    try:
        document = orjson.loads(read_bytes(path))
    except (OSError, UnsafePath, ValueError):
        return None
    return document if isinstance(document, dict) else None
