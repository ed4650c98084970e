"""The history pass's checkpoint: the pass's state at the start of a month, so that the next
pass starts there, not at the first day of the history, and costs what the months since cost.

It is kept at the start of the month before today's (:func:`target_month`): what a poll
changes is this month's or, for a job that ran across the month's start, the month before.
``leaderboards/history_checkpoint.json`` holds two lines, each JSON:

head   ``{"format", "version", "code", "month", "rates", "optout", "rollups",
       "achievements", "state"}``: what the state was made of. ``code`` is a digest of the
       source of the modules the pass runs; ``rollups`` lists every rollup of a month before
       ``month`` as ``[cluster, month, identity, sha256]``; ``achievements`` the first
       ``bytes`` of achievements.ndjson (the events dated before ``month``) with that file's
       identity and their sha256; ``state`` the second line's length and sha256; ``months``
       the bytes, identity and sha256 of ``leaderboards/history_months.ndjson``, written with
       it: every name's gains in each month before ``month`` (progress.py; one line a name,
       ``[scope, kind, name, months, sums]``), which the charts' files are made of.
state  ``{"totals", "leaders", "records", "competitions"}``: every name's cumulative totals
       (the achievements' XP and levels follow from them), who holds rank 1 on each all-time
       board, the records with the week in progress, and each competition's sums. Names, not
       rows: its size follows the number of users and groups, not the history's length.

A checkpoint is used only when it validates whole: its format, the code (version and source),
the XP rates and who opted out are this pass's; every rollup it names is there with the same
identity or the same bytes, and no other is (a new cluster counts from its first month on);
the achievements file still begins with its events; its state is the bytes the head names, of
the right shape (names checked as the store checks them, vectors in bounds, sums that agree
across scopes, days inside their months); the months file is the one it names (its identity,
or else its bytes) and its monthly gains add up to the totals, name by name; and every
competition configured now is in it or starts after its month. Anything else (a late job in an older month, a changed config, a
damaged or planted file) and the pass starts from the first day, and keeps a new checkpoint.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import re
import stat
from array import array
from functools import lru_cache
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import orjson

from .. import __version__
from ..boardfiles import KINDS
from ..core import layout
from ..core.files import atomic_write, identity, lexists, open_regular, read_bytes, remove_synced
from ..core.names import check_name
from ..core.ndjson import LINE_LIMIT, bounded_lines
from ..core.optout import OptOut
from ..core.windows import month_last_day
from ..errors import JournalCorrupt, StoreBusy, StoreCorrupt, UnsafePath
from ..store import reading
from ..store.metrics import METRICS
from ..store.store import is_account, is_vector, object_bytes
from . import history, progress
from .competitions import Competition, is_day
from .history import SKILLS, Key, Ledger, Months, Vector, monday_of, sunday_of, week_label
from .progress import Gains
from .recordbook import PERIODS, Best, RecordBook, Slot

FORMAT = 2                       # raised whenever what the state means changes
LIMIT = 1 << 31                  # bytes of a checkpoint; more was not written by sb-rank
HEX = re.compile(r"[0-9a-f]{64}")
HEAD = {"format", "version", "code", "month", "rates", "optout", "rollups", "achievements",
        "state", "months"}
# the modules whose source the state depends on: a site that updates the code within a version
# starts from the first day once
CODE = ("boardfiles", "core.xp", "core.windows", "store.metrics", "store.store",
        "store.reading", "history.history", "history.achievements", "history.recordbook",
        "history.competitions", "history.checkpoint", "history.chronicle", "history.progress")
STATE = {"totals", "leaders", "records", "competitions"}
Rollup = Tuple[str, str, str, str]           # cluster, month, identity, sha256
Definition = tuple                           # a competition: what its sums depend on
Sums = Tuple[Dict[str, Vector], Dict[str, Vector]]


class Refused(Exception):
    """Why a checkpoint cannot be used (the pass then starts from the first day)."""


class Inputs(NamedTuple):
    """What, besides the store, this pass's result depends on."""
    rates: Dict[str, float]
    optout: str
    clusters: List[str]          # those the pass reads (a state naming another is refused)
    target: str                  # the month a checkpoint is kept at


class State(NamedTuple):
    totals: Dict[Key, Vector]
    leaders: Dict[Tuple[str, str, int], str]
    best: Dict[Slot, Best]
    week: Optional[str]
    month: Optional[str]
    week_gains: Dict[Key, Vector]
    competitions: Dict[Definition, Sums]
    progress: Dict[Key, Gains]


class Found(NamedTuple):
    """A checkpoint that validated: its month, the rollups before it (identities as they are
    now), the achievements prefix it names and its state."""
    month: str
    rollups: List[Rollup]
    achievements: dict
    state: State


class Snapshot(NamedTuple):
    """What a pass captured at the start of `month`, to write once the achievements are."""
    month: str
    state: bytes
    achievements: Tuple[int, str]             # bytes, sha256
    rollups: List[Rollup]
    months: bytes                             # the months file (progress.encode)


def path(root: str) -> str:
    return layout.path(root, "history_checkpoint")


def months_path(root: str) -> str:
    return layout.path(root, "history_months")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the version and of the source of the modules in :data:`CODE`."""
    digest = hashlib.sha256(__version__.encode())
    for name in CODE:
        source = getattr(importlib.import_module(f"{__package__.rpartition('.')[0]}.{name}"),
                         "__file__", None)
        try:
            with open(source or "", "rb") as handle:
                digest.update(handle.read())
        except OSError:
            digest.update(b"-")
    return digest.hexdigest()


def target_month(today: str) -> str:
    """The month before `today`'s (YYYY-MM): where the checkpoint is kept."""
    year, month = int(today[:4]), int(today[5:7])
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


def optout_digest(optout: OptOut) -> str:
    return hashlib.sha256("\n".join(sorted(optout.everyone())).encode()).hexdigest()


def definition(contest: Competition) -> Definition:
    """What a competition's sums depend on (its title and skills only rank them)."""
    return (contest.ident, contest.first, contest.last, contest.cluster,
            None if contest.accounts is None else sorted(contest.accounts),
            None if contest.users is None else sorted(contest.users))


# -- writing -------------------------------------------------------------------------------------

def encode_state(totals: Dict[Key, Vector], leaders: Dict[Tuple[str, str, int], str],
                 book: RecordBook, contests: Sequence[Competition]) -> bytes:
    """The state line (the record book's month must be settled: RecordBook.close_month)."""
    best = [[*slot, *held] for slot, held in sorted(book.best.items())]   # settled in any order
    return orjson.dumps({
        "totals": [[*key, vector] for key, vector in totals.items()],
        "leaders": [[scope, kind, SKILLS[position], name]
                    for (scope, kind, position), name in leaders.items()],
        "records": {"best": best, "week": book.week, "month": book.month,
                    "week_gains": [[*key, vector] for key, vector in book.week_gains.items()]},
        "competitions": [[*definition(contest), list(contest.before.items()),
                          list(contest.during.items())] for contest in contests]})


def write(root: str, inputs: Inputs, snapshot: Snapshot) -> None:
    """The checkpoint of `snapshot`, once the achievements file it names is in place; the
    months file first (a pass killed between the two finds a checkpoint that does not name
    it, and starts from the first day)."""
    achievements = layout.achievements_file(root)
    atomic_write(months_path(root), snapshot.months)
    head = {"format": FORMAT, "version": __version__, "code": code_digest(),
            "month": snapshot.month, "rates": inputs.rates, "optout": inputs.optout,
            "rollups": snapshot.rollups,
            "achievements": {"bytes": snapshot.achievements[0],
                             "identity": identity(achievements),
                             "sha256": snapshot.achievements[1]},
            "state": {"bytes": len(snapshot.state),
                      "sha256": hashlib.sha256(snapshot.state).hexdigest()},
            "months": {"bytes": len(snapshot.months), "identity": identity(months_path(root)),
                       "sha256": hashlib.sha256(snapshot.months).hexdigest()}}
    atomic_write(path(root), orjson.dumps(head, option=orjson.OPT_APPEND_NEWLINE)
                 + snapshot.state + b"\n")


def remove(root: str) -> None:
    """No checkpoint (one the pass could not use, when it kept none in its place)."""
    for where in (path(root), months_path(root)):
        if lexists(where):
            remove_synced(where)


# -- reading -------------------------------------------------------------------------------------

def read(root: str, inputs: Inputs, months: Months, contests: Sequence[Competition],
         wait: float = 60.0) -> Tuple[Optional[Found], str]:
    """The checkpoint when it validates whole (see the module's doc), else None and why."""
    try:
        data = read_bytes(path(root), LIMIT)
    except FileNotFoundError:
        return None, "no checkpoint"
    except (OSError, UnsafePath, ValueError) as err:
        return None, f"unreadable: {err}"
    try:
        head, line = _split(data)
        _check_inputs(head, inputs)
        rollups = _check_rollups(root, head["rollups"], head["month"], months, wait)
        state = _state(line, head, inputs.clusters)
        state = state._replace(progress=_months(root, head["months"], state.totals,
                                                inputs.clusters, head["month"]))
        _check_competitions(state, head["month"], contests)
    except Refused as why:
        return None, str(why)
    return Found(head["month"], rollups, head["achievements"], state), ""


def _split(data: bytes) -> Tuple[dict, bytes]:
    """The head, checked, and the state line it vouches for."""
    first, _, rest = data.partition(b"\n")
    try:
        head = orjson.loads(first)
    except ValueError:
        raise Refused("its head is not JSON") from None
    if type(head) is not dict or set(head) != HEAD:
        raise Refused("its head is not a checkpoint's")
    state = head["state"]
    if type(state) is not dict or set(state) != {"bytes", "sha256"} or \
            rest != _sized(rest, state["bytes"]) + b"\n" or \
            hashlib.sha256(rest[:-1]).hexdigest() != state["sha256"]:
        raise Refused("its state is not the one its head names")
    return head, rest[:-1]


def _sized(rest: bytes, size) -> bytes:
    if type(size) is not int or not 0 <= size < len(rest):
        raise Refused("its state is not the one its head names")
    return rest[:size]


def _check_inputs(head: dict, inputs: Inputs) -> None:
    if head["format"] != FORMAT or head["version"] != __version__ or \
            head["code"] != code_digest():
        raise Refused("written by other code")
    month = head["month"]
    if type(month) is not str or not layout.MONTH_NAME.fullmatch(month) or \
            month > inputs.target:
        raise Refused("not a month this pass can start from")
    for name in ("rates", "optout"):
        if head[name] != getattr(inputs, name):
            raise Refused(f"the {name} changed")
    achievements = head["achievements"]
    if type(achievements) is not dict or set(achievements) != {"bytes", "identity", "sha256"} \
            or type(achievements["bytes"]) is not int or not 0 <= achievements["bytes"] < LIMIT \
            or type(achievements["identity"]) is not str \
            or type(achievements["sha256"]) is not str or not HEX.fullmatch(achievements["sha256"]):
        raise Refused("malformed achievements")


def _check_rollups(root: str, recorded, month: str, months: Months, wait: float
                   ) -> List[Rollup]:
    """The rollups before `month` as they are now, when they are the ones the state was made
    of (the same identity, or else the same bytes), no more, no fewer; each cluster's looked at
    under its store lock, as the pass reads them (an interrupted update finished first)."""
    if type(recorded) is not list or not all(
            type(entry) is list and len(entry) == 4 and all(type(part) is str for part in entry)
            for entry in recorded):
        raise Refused("malformed rollups")
    known = {(cluster, name): (seen, digest) for cluster, name, seen, digest in recorded}
    current: Dict[str, List[Tuple[str, str]]] = {}
    for name, sources in months.items():
        for cluster, where in sources:
            if name < month:
                current.setdefault(cluster, []).append((name, where))
    if len(known) != len(recorded) or set(known) != {
            (cluster, name) for cluster, found in current.items() for name, _ in found}:
        raise Refused("the rollups before its month are not the ones it was made of")
    rollups = []
    for cluster, found in current.items():
        try:
            with reading.reading(root, cluster, wait):
                rollups += [_same_rollup(cluster, name, where, *known[(cluster, name)])
                            for name, where in found]
        except (StoreBusy, StoreCorrupt, UnsafePath, JournalCorrupt) as err:
            raise Refused(f"cluster {cluster} cannot be read now: {err}") from None
    return rollups


def _same_rollup(cluster: str, month: str, where: str, seen: str, digest: str) -> Rollup:
    now = identity(where)
    if now == seen:
        return (cluster, month, now, digest)
    try:
        same = history.digest(object_bytes(where)) == digest
    except StoreCorrupt:
        same = False
    if not same:
        raise Refused(f"rollup {cluster}/{month} changed")
    return (cluster, month, now, digest)


# -- the state, checked --------------------------------------------------------------------------

def _state(line: bytes, head: dict, clusters: List[str]) -> State:
    try:
        state = orjson.loads(line)
    except ValueError:
        raise Refused("its state is not JSON") from None
    if type(state) is not dict or set(state) != STATE:
        raise Refused("its state is not a checkpoint's")
    month = head["month"]
    totals = _vectors(state["totals"], clusters)
    _check_scopes(totals)
    records = state["records"]
    if type(records) is not dict or set(records) != {"best", "week", "month", "week_gains"}:
        raise Refused("malformed records")
    week, book_month = records["week"], records["month"]
    week_gains = _vectors(records["week_gains"], clusters)
    _check_book(week, book_month, week_gains, totals, month)
    return State(totals, _leaders(state["leaders"], totals, clusters),
                 _best(records["best"], clusters, month), week, book_month, week_gains,
                 _competitions(state["competitions"], month, clusters), {})


def _name_ok(kind: str, name) -> bool:
    """A user's name as check_name takes it, or an account's as the store keeps it."""
    if kind == "groups":
        return is_account(name) and reading.is_group(name)
    return _plain("user", name)


def _plain(kind: str, name) -> bool:
    try:
        check_name(kind, name)
    except ValueError:
        return False
    return True


def _key(scope, kind, name, clusters: List[str]) -> Key:
    if not (scope == "all" or scope in clusters) or kind not in KINDS or \
            not _name_ok(kind, name):
        raise Refused("a name or scope no pass gives")
    return (scope, kind, name)


def _vectors(entries, clusters: List[str]) -> Dict[Key, Vector]:
    """[[scope, kind, name, vector], ...] -> key -> vector, each checked, none twice."""
    if type(entries) is not list or not all(
            type(entry) is list and len(entry) == 4 and is_vector(entry[3]) for entry in entries):
        raise Refused("malformed totals")
    found = {_key(scope, kind, name, clusters): vector for scope, kind, name, vector in entries}
    if len(found) != len(entries):
        raise Refused("a name given twice")
    return found


def _check_scopes(totals: Dict[Key, Vector]) -> None:
    """Each name's totals over all clusters are the sum of its totals on each."""
    summed: Dict[Key, Vector] = {}
    for (scope, kind, name), vector in totals.items():
        if scope != "all":
            into = summed.setdefault(("all", kind, name), [0] * len(vector))
            for index, value in enumerate(vector):
                into[index] += value
    if summed != {key: vector for key, vector in totals.items() if key[0] == "all"}:
        raise Refused("totals that do not add up across clusters")


def _check_book(week, month, week_gains: Dict[Key, Vector], totals: Dict[Key, Vector],
                start: str) -> None:
    """The week in progress: a Monday before the checkpoint's month, its gains within the
    totals; the month before settled (only its name is kept)."""
    first = start + "-01"
    if week is not None and not (is_day(week) and monday_of(week) == week and week < first):
        raise Refused("malformed week")
    if month is not None and not (type(month) is str and layout.MONTH_NAME.fullmatch(month)
                                  and month < start):
        raise Refused("malformed month")
    if week_gains and week is None:
        raise Refused("gains of no week")
    for key, gain in week_gains.items():
        total = totals.get(key)
        if total is None or any(g > t for g, t in zip(gain, total)):
            raise Refused("week gains beyond the totals")


def _months(root: str, spec, totals: Dict[Key, Vector], clusters: List[str], start: str
            ) -> Dict[Key, Gains]:
    """The months file the head names (its identity, or else its digest), read a line at a
    time: every name of the totals once, with its months before `start` and its monthly sums
    adding up to its totals."""
    if type(spec) is not dict or set(spec) != {"bytes", "identity", "sha256"} or \
            type(spec["bytes"]) is not int or type(spec["identity"]) is not str:
        raise Refused("malformed months")
    where = months_path(root)
    check = identity(where) != spec["identity"]
    try:
        fd, _size = open_regular(where, None)
    except (OSError, UnsafePath):
        raise Refused("its months file cannot be read") from None
    with os.fdopen(fd, "rb") as handle:
        _check_months_file(os.fstat(fd), spec["bytes"])
        digest, size, gains = hashlib.sha256(), 0, {}
        for line in bounded_lines(handle, LINE_LIMIT):
            if line is None:
                raise Refused("a line of its months file is too long")
            size += len(line) + 1              # bounded_lines gives a line without its newline
            if check:
                digest.update(line + b"\n")
            key, entry = _month_line(line, totals, clusters, start)
            if key in gains:
                raise Refused("a name given twice")
            gains[key] = entry
    if size != spec["bytes"] or (check and digest.hexdigest() != spec["sha256"]):
        raise Refused("its months file is not the one it names")
    if set(gains) != set(totals):
        raise Refused("monthly gains that are not the totals'")
    return gains


def _check_months_file(info: os.stat_result, size: int) -> None:
    """A regular file of the size the head names: a planted (sparse) one is not read through."""
    if not stat.S_ISREG(info.st_mode):
        raise Refused("its months file cannot be read")
    if info.st_size != size:
        raise Refused("its months file is not the one it names")


def _month_line(line: bytes, totals: Dict[Key, Vector], clusters: List[str], start: str
                ) -> Tuple[Key, Gains]:
    """[scope, kind, name, months, sums]: its months ascending and before `start`, its sums
    (progress.WIDTH a month) adding up to the name's totals."""
    try:
        entry = orjson.loads(line)
    except ValueError:
        raise Refused("its months file is not JSON") from None
    if type(entry) is not list or len(entry) != 5:
        raise Refused("malformed months")
    scope, kind, name, months, sums = entry
    key = _key(scope, kind, name, clusters)
    if not _months_before(months, start) or type(sums) is not list or \
            len(sums) != len(months) * progress.WIDTH or key not in totals or \
            progress.totals_of(sums) != [totals[key][index] for index in progress.INDICES]:
        raise Refused("monthly gains that are not the totals'")
    return key, (months, array("q", sums))


def _months_before(months, start: str) -> bool:
    """Month names, each after the one before it and before `start`."""
    return type(months) is list and all(
        type(month) is str and layout.MONTH_NAME.fullmatch(month) and month < start
        for month in months) and all(a < b for a, b in zip(months, months[1:]))


def _leaders(entries, totals: Dict[Key, Vector], clusters: List[str]
             ) -> Dict[Tuple[str, str, int], str]:
    """[[scope, kind, skill, name], ...]: each a name with something in that skill."""
    if type(entries) is not list or not all(type(entry) is list and len(entry) == 4
                                            and entry[2] in SKILLS for entry in entries):
        raise Refused("malformed leaders")
    leaders = {}
    for scope, kind, skill, name in entries:
        key = _key(scope, kind, name, clusters)
        index = METRICS[skill][0]
        if key not in totals or totals[key][index] <= 0:
            raise Refused("a leader with nothing to lead with")
        leaders[(scope, kind, SKILLS.index(skill))] = name
    if len(leaders) != len(entries):
        raise Refused("a board led twice")
    return leaders


def _best(entries, clusters: List[str], start: str) -> Dict[Slot, Best]:
    """[[scope, kind, skill, period, value, name, label, first, last], ...], each period
    whole and over before `start`."""
    if type(entries) is not list or not all(type(entry) is list and len(entry) == 9
                                            for entry in entries):
        raise Refused("malformed records")
    best: Dict[Slot, Best] = {}
    for scope, kind, skill, period, value, name, label, first, last in entries:
        _key(scope, kind, name, clusters)
        if skill not in SKILLS or period not in PERIODS or not _is_amount(value) or \
                not _is_period(period, label, first, last) or last >= start + "-01":
            raise Refused("malformed record")
        best[(scope, kind, skill, period)] = (value, name, label, first, last)
    if len(best) != len(entries):
        raise Refused("a record held twice")
    return best


def _is_amount(value) -> bool:
    return type(value) in (int, float) and 0 < value <= (1 << 53)


def _is_period(period: str, label, first, last) -> bool:
    """Whether label, first and last day are those of one day, ISO week or month."""
    if not is_day(first):
        return False
    if period == "day":
        return label == first == last
    if period == "week":
        return monday_of(first) == first and label == week_label(first) and \
            last == sunday_of(first)
    return first[8:] == "01" and label == first[:7] and last == month_last_day(label)


def _competitions(entries, start: str, clusters: List[str]) -> Dict[Definition, Sums]:
    if type(entries) is not list or not all(type(entry) is list and len(entry) == 8
                                            for entry in entries):
        raise Refused("malformed competitions")
    found = {}
    for entry in entries:
        contest = _definition(entry[:6])
        users = contest[5]
        before, during = (_sums(part, users) for part in entry[6:])
        if during and contest[1] >= start + "-01":
            raise Refused("a competition with sums of days it has not had")
        found[tuple(_hashable(part) for part in contest)] = (before, during)
    if len(found) != len(entries):
        raise Refused("a competition given twice")
    return found


def _hashable(part):
    return tuple(part) if type(part) is list else part


def _definition(entry: list) -> list:
    ident, first, last, cluster, accounts, users = entry
    if not _plain("competition", ident) or not is_day(first) or not is_day(last) or \
            last < first or not (cluster is None or _plain("cluster", cluster)):
        raise Refused("malformed competition")
    for names in (accounts, users):
        if names is not None and (type(names) is not list or names != sorted(set(names)) or
                                  not all(_plain("user", name) for name in names)):
            raise Refused("malformed competition")
    return entry


def _sums(entries, users: Optional[list]) -> Dict[str, Vector]:
    if type(entries) is not list or not all(
            type(entry) is list and len(entry) == 2 and _plain("user", entry[0])
            and (users is None or entry[0] in users) and is_vector(entry[1])
            for entry in entries):
        raise Refused("malformed competition sums")
    sums = dict(entries)
    if len(sums) != len(entries):
        raise Refused("a user summed twice")
    return sums


def _check_competitions(state: State, month: str, contests: Sequence[Competition]) -> None:
    """Every competition configured now is one the checkpoint summed, or starts after its
    month and takes every account (its sums are then the totals)."""
    for contest in contests:
        key = tuple(_hashable(part) for part in definition(contest))
        if key not in state.competitions and not derivable(contest, month):
            raise Refused(f"competition {contest.ident} is not in it")


def derivable(contest: Competition, month: str) -> bool:
    return contest.first >= month + "-01" and contest.accounts is None


def sums_of(contest: Competition, state: State) -> Sums:
    """A competition's sums at the checkpoint: kept, or (one that starts later and takes every
    account) the totals of the users it takes, in its cluster or all of them."""
    key = tuple(_hashable(part) for part in definition(contest))
    kept = state.competitions.get(key)
    if kept is not None:
        return ({user: list(v) for user, v in kept[0].items()},
                {user: list(v) for user, v in kept[1].items()})
    scope = contest.cluster or "all"
    return ({name: list(vector) for (where, kind, name), vector in state.totals.items()
             if where == scope and kind == "users"
             and (contest.users is None or name in contest.users)}, {})


# -- the achievements written before the checkpoint's month -------------------------------------

CHUNK = 1 << 20


def copy_prefix(root: str, spec: dict, out) -> bool:
    """Copy the first spec["bytes"] of achievements.ndjson to `out`; whether they are the
    checkpoint's (trusted while the file's identity is the one recorded, else digested)."""
    where = layout.achievements_file(root)
    check = identity(where) != spec["identity"]
    try:
        fd, _size = open_regular(where, None)
    except (OSError, UnsafePath):
        return False
    with os.fdopen(fd, "rb") as handle:
        return _copied(handle, spec, out, check)


def _copied(handle, spec: dict, out, check: bool) -> bool:
    digest = hashlib.sha256()
    left = spec["bytes"]
    while left:
        chunk = handle.read(min(CHUNK, left))
        if not chunk:
            return False
        out.write(chunk)
        if check:
            digest.update(chunk)
        left -= len(chunk)
    return not check or digest.hexdigest() == spec["sha256"]


class Tally:
    """A file being written, counting its bytes and, until `stop`, their digest."""

    def __init__(self, out) -> None:
        self.out = out
        self.size = 0
        self.digest: Optional["hashlib._Hash"] = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.digest is not None:
            self.digest.update(data)
        return self.out.write(data)

    def stop(self) -> Tuple[int, str]:
        """The bytes so far and their digest; no more digesting."""
        assert self.digest is not None
        done = (self.size, self.digest.hexdigest())
        self.digest = None
        return done


def ledger_of(found: Optional[Found], target: str) -> Optional[Ledger]:
    """What the pass notes of the rollups it reads: the ones before the target month, when it
    will keep a checkpoint there."""
    if found is not None and found.month == target:
        return None
    return Ledger(target)
