"""The files sb-rank writes from one history pass, beside the boards:

    leaderboards/achievements.ndjson        every achievement, oldest day first (sb-news reads it)
    leaderboards/records.json               records per skill, period, kind and scope
    leaderboards/competitions.json          every competition: id, title, skills, days, status
    leaderboards/competitions/<id>.json     one competition's standings

Each is written atomically; a competition no longer configured loses its file. Readers read
them through boardfiles.py, which leaves out users who opted out since they were written.

The pass reads every day row of the whole history, so a rebuild runs it only when it is due
(:func:`due`):
at most once per ``every`` seconds (an hour by default), and at once on a new UTC day, after a
change of the XP rates, the competitions or who opted out, or when a file is missing.
``leaderboards/history.json`` records the last pass.
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import Callable, Dict, List, Optional

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
from . import competitions, history
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
    if not all(os.path.isfile(path) for path in (layout.achievements_file(root), layout.records_file(root),
                                                  layout.competitions_file(root))):
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


def write(root: str, clusters: List[str], rates: Dict[str, float], optout: OptOut,
          contests: Optional[List[competitions.Competition]], asof: str, wait: float,
          on_damage: Damage) -> List[str]:
    """One pass over the `clusters`, and every file above written (the competitions' only when
    `contests` is not None: a config that could not be read leaves them as they were); the
    warnings about competitions that name what the store never saw (typos, usually)."""
    today = asof[:10]
    for contest in contests or []:
        if contest.users is not None:
            contest.users = {user for user in contest.users if user not in optout}
    book = RecordBook(rates)
    batches = (batch for batch in history.day_batches(root, clusters, optout,
                                                      on_damage, wait) if batch[0] <= today)
    with atomic_file(layout.achievements_file(root)) as out:
        totals = history.run(batches, [Achievements(rates, out), book,
                                       competitions.Competitions(contests or [])])
    atomic_write(layout.records_file(root), _dump(book.document(asof)))
    if contests is None:
        return []
    _write_competitions(root, competitions.ordered(contests, today), rates, today, asof)
    return [warning for contest in contests
            for warning in competitions.unknown_names(contest, clusters, totals)]


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
