"""The files sb-rank writes under ``<root>/leaderboards``, read as every reader shows them.

This module is the one reader of those files (sb-view, sb-rank's queries from the files,
sb-export, sb-news): the index, the boards, the group statistics, records, competitions and
achievements. Everything read passes through the opt-out list first, so a user who opts out is
gone from every reader at its next read, before the next rebuild erases them from the files:

- their rows leave every user board, and the ranks left are closed up (1..n, ties sharing a
  rank, with :func:`boardfiles.shared_ranks`: the old ranks are the keys, so the ranks are the
  ones the next rebuild writes);
- their name leaves every group's member list, and the ranks inside the group are closed up;
  a group's numbers (its boards' values, levels and member count, the statistics' member
  count, averages and total XP) lose their usage only at the next rebuild, since a reader has
  no one's usage;
- a record they hold is left out (who comes next is only known to the next rebuild), their
  competition rows leave the standings (closed up), their achievements leave the feed, and an
  achievement naming them as the rank 1 someone took from them no longer names them.

Who opted out: ``config/optout.txt`` and the pollers' cache of home markers
(``state/optout_cache.json``; readers never look into a home, so a marker counts once a poller
looked, at most a day later), read again whenever either file changed. When either exists but
cannot be read, nothing is shown: :class:`OptOutUnreadable` names the file.

Board files are read whole (``BOARD_LIMIT``); a file that cannot be read raises
:class:`BoardError`. The other documents are optional: a missing one is None, an unreadable one
is None and named in :attr:`BoardFiles.problems`. Of the achievements, only the newest
``EVENTS_LIMIT`` bytes are read; a larger file is read in part, and said so in
:attr:`BoardFiles.events_note` (and to the reader's `warn`); a personal page gets its user's
newest ``EVENTS_SHOWN``.
"""
from __future__ import annotations

import bisect
import errno
import itertools
import os
import re
from collections import deque
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import (
    Callable,
    Dict,
    FrozenSet,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
)

import orjson

from . import boardfiles
from .core import layout, optout, times, windows
from .core.files import open_regular, read_bytes, read_json_text
from .core.layout import optout_file
from .core.names import PLAIN, safe_text
from .core.ndjson import LINE_LIMIT, Tail, bounded_lines
from .core.windows import Window
from .errors import BoardError, NoBoards, UnsafePath

# -- the format: boards, how they are ranked, their documents ---------------------------------

METRIC_TITLES = {
    "overall": "Overall", "clock_hours": "CPU-core hours", "elapsed_hours": "Wall hours",
    "gpu_clock_hours": "GPU hours", "gpu_elapsed_hours": "GPU wall hours",
    "failed_jobs": "Failed jobs", "jobs": "Jobs",
    "cpu_used_hours": "CPU hours used", "cpu_efficiency": "CPU efficiency",
    "mem_efficiency": "Memory efficiency", "gpu_utilization": "GPU utilisation"}


# The skills: XP, levels, part of Overall (the total level), achievements and records.
SKILLS = ("clock_hours", "elapsed_hours", "gpu_clock_hours", "gpu_elapsed_hours", "jobs")


# Boards apart: ranked, but no XP, no level, outside Overall, no achievements (failing is not a
# skill a site levels people up in).
APART = ("failed_jobs",)


# The efficiency boards (efficiency.py) whose value is a percent, with no levels.
RATIO_BOARDS = ("cpu_efficiency", "mem_efficiency", "gpu_utilization")


EFFICIENCY_BOARDS = ("cpu_used_hours",) + RATIO_BOARDS


LEVELLESS = APART + RATIO_BOARDS     # boards whose rows have no level and no XP


BOARDS = SKILLS + APART + ("overall",)      # in the order every view shows them


KINDS = ("users", "groups")


_NO_KEY = object()


def shared_ranks(keys: Sequence) -> List[int]:
    """The ranks of entries in board order, each entry's key what it is ranked on: an entry
    takes its position, or the rank of the one before when its key is the same (1, 2, 2, 4).
    Every board, group and competition is ranked so, and a reader that drops rows ranks what is
    left again with the old ranks as keys (boardfiles.py), which gives the same ranks."""
    ranks: List[int] = []
    previous: object = _NO_KEY
    for position, key in enumerate(keys, 1):
        if previous is _NO_KEY or key != previous:
            rank, previous = position, key
        ranks.append(rank)
    return ranks


def ranked(values: Dict[str, float], keep_zeros: bool = False) -> List[Tuple[int, str, float]]:
    """(rank, name, value), value descending, ties sharing a rank (1, 2, 2, 4) and ordered by
    name; zeros are left out unless `keep_zeros` (the efficiency boards list the idle)."""
    order = [(value, name) for name, value in values.items() if value > 0 or keep_zeros]
    order.sort(key=itemgetter(1))                   # by name, then (stable) by value, highest
    order.sort(key=itemgetter(0), reverse=True)     # first: (-value, name) order
    ranks = shared_ranks([value for value, _ in order])
    return [(rank, name, value) for rank, (value, name) in zip(ranks, order)]


def document(rows: List[dict], window: Window, metric: str, cluster: str, kind: str,
             asof: datetime, account: Optional[str] = None) -> dict:
    doc = {"asof": asof.strftime("%Y-%m-%dT%H:%M:%SZ"), "window": window.name, "metric": metric,
           "cluster": cluster, "kind": kind, "first_day": window.first_day,
           "last_day": window.last_day, "rows": rows}
    if account is not None:
        doc["account"] = account
    return doc


_PAGE_FIELDS = ("rank", "value", "xp", "level", "virtual_level")


def page_entry(metric: str, row: Optional[dict]) -> dict:
    """One line of a personal page from a board row (None: not on the board); a board apart
    has no XP and no level (null)."""
    if row is None:
        entry = {"metric": metric, "rank": None, "value": 0, "xp": 0, "level": 1,
                 "virtual_level": 1}
    else:
        entry = {"metric": metric, **{key: row.get(key) for key in _PAGE_FIELDS}}
    if metric in APART:
        entry.update(xp=None, level=None, virtual_level=None)
    return entry


def name_field(kind: str) -> str:
    """The field naming a user or a group in every file: ``user`` or ``account``."""
    return "account" if kind == "groups" else "user"


# -- files rewritten only when what they show changed -----------------------------------------

_ASOF = re.compile(rb'\{"asof":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"')
_ASOF_LENGTH = len(b'{"asof":"2025-01-01T00:00:00Z"')


def same_but_asof(old: bytes, new: bytes) -> bool:
    """Whether two documents' bytes differ at most in the time each starts with (a board, or
    a progress file's header line)."""
    if len(old) != len(new):
        return False
    if _ASOF.match(new) is None:
        return old == new
    return _ASOF.match(old) is not None and old[_ASOF_LENGTH:] == new[_ASOF_LENGTH:]


def holds_but_asof(path: str, data: bytes) -> bool:
    """Whether the file at `path` holds `data` but for its asof (a missing, unreadable or
    planted file does not): sb-rank then leaves it, and the time it last changed, alone."""
    try:
        old = read_bytes(path, len(data))
    except (OSError, UnsafePath, ValueError):
        return False
    return same_but_asof(old, data)


# -- the events of the feed (achievements.ndjson) ----------------------------------------------

EVENTS = ("level", "xp_cap", "total_level", "first_job", "rank_1")


def event_of(raw) -> Optional[dict]:
    """The event as the pass writes it, made again from the fields a reader knows (any other is
    left out), each checked as every reader needs it: a user, a cluster (the scope) or a
    previous rank 1 a plain name, the day a real one, a skill one of SKILLS, numbers numbers,
    and every other text as :func:`core.names.safe_text` would show it unchanged (no control,
    format or separator character: no escape sequence, no bidi override); None when one is
    not, or a field the event needs is missing. Every reader of achievements.ndjson (and of
    sb-news's outbox) sees events only through here."""
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS or raw.get("event") not in EVENTS:
        return None
    kind = raw["kind"]
    wanted = _EVENT_TEXTS + (name_field(kind),) + tuple(_EVENT_NUMBERS)
    event = {field: value for field, value in raw.items() if field in wanted}     # in its order
    needed = _EVENT_NEEDS[raw["event"]] + (name_field(kind),)
    if any(field not in event for field in needed) or \
            not all(_event_field_ok(field, value, kind) for field, value in event.items()):
        return None
    return event


def is_event(event) -> bool:
    """Whether `event` is one the pass writes (see :func:`event_of`)."""
    return event_of(event) is not None


_EVENT_TEXTS = ("id", "day", "scope", "kind", "event", "skill", "previous")
_EVENT_NUMBERS = {"level": (int,), "total_level": (int,), "xp": (int,), "jobs": (int,),
                  "value": (int, float)}
_EVENT_NEEDS = {"level": ("id", "day", "scope", "skill", "level"),
                "xp_cap": ("id", "day", "scope", "skill"),
                "total_level": ("id", "day", "scope", "total_level"),
                "first_job": ("id", "day", "scope"),
                "rank_1": ("id", "day", "scope", "skill")}


def _event_field_ok(field: str, value, kind: str) -> bool:
    if field in _EVENT_NUMBERS:
        return type(value) in _EVENT_NUMBERS[field]
    if field == "previous":          # who held rank 1 before: a name of the event's kind
        return value is None or _EVENT_CHECKS[name_field(kind)](value)
    return _EVENT_CHECKS[field](value)


def _is_plain(value) -> bool:
    return isinstance(value, str) and PLAIN.fullmatch(value) is not None and \
        value not in (".", "..")


def _is_day(value) -> bool:
    try:
        times.parse_day(value)
    except (TypeError, ValueError):
        return False
    return True


def _shown_as_is(value) -> bool:
    """Text that safe_text shows unchanged: printable, and not cut."""
    return isinstance(value, str) and safe_text(value) == value


_EVENT_CHECKS = {"id": _shown_as_is, "kind": _shown_as_is, "event": _shown_as_is,
                 "day": _is_day, "scope": lambda value: value == ALL or _is_plain(value),
                 "skill": lambda value: value in SKILLS, "user": _is_plain,
                 "account": _shown_as_is}


# -- progress files (history/progress.py writes them) -------------------------------------------

PROGRESS_FORMAT = "slurm-scoreboard-progress"
PROGRESS_VERSION = 1
_ACCOUNT_LIMIT = 200           # the longest account name the store keeps (records.MAX_TEXT)


def _progress_name(kind: str, name) -> bool:
    """A user's plain name, or a group's account as the store keeps it."""
    if not isinstance(name, str) or kind not in KINDS:
        return False
    if kind == "groups":
        return 0 < len(name) <= _ACCOUNT_LIMIT
    return PLAIN.fullmatch(name) is not None and name not in (".", "..")


def _progress_header_ok(header, scope: str, kind: str) -> bool:
    return isinstance(header, dict) and header.get("format") == PROGRESS_FORMAT and \
        header.get("version") == PROGRESS_VERSION and header.get("scope") == scope and \
        header.get("kind") == kind and isinstance(header.get("asof"), str)


def _counts(values, size: int, numbers: tuple) -> bool:
    """A list of `size` numbers of the given types, none below zero nor past any board's."""
    return isinstance(values, list) and len(values) == size and all(
        type(value) in numbers and 0 <= value <= _BIGGEST for value in values)


_BIGGEST = float(1 << 63)


MONTHS_LIMIT = 600      # months from a name's first gain to its last: 50 years, past any site


def _month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7])


def progress_entry(raw, kind: str) -> Optional[dict]:
    """A progress line as sb-rank writes it, checked (a name of the kind; months ascending;
    for each skill in SKILLS its XP and value per month, and the overall XP), with only the
    fields this reader knows; None for anything else."""
    if not isinstance(raw, dict) or not _progress_name(kind, raw.get("name")):
        return None
    months, points, values = raw.get("months"), raw.get("xp"), raw.get("value")
    if not isinstance(months, list) or not all(
            isinstance(month, str) and layout.MONTH_NAME.fullmatch(month) for month in months) \
            or any(a >= b for a, b in zip(months, months[1:])) \
            or (months and _month_number(months[-1]) - _month_number(months[0]) >= MONTHS_LIMIT):
        return None
    if not isinstance(points, dict) or not isinstance(values, dict):
        return None
    size = len(months)
    if not all(_counts(points.get(skill), size, (int,)) for skill in ("overall",) + SKILLS) or \
            not all(_counts(values.get(skill), size, (int, float)) for skill in SKILLS):
        return None
    return {"name": raw["name"], "months": months,
            "xp": {skill: points[skill] for skill in ("overall",) + SKILLS},
            "value": {skill: values[skill] for skill in SKILLS}}


def _json_lines(handle) -> Iterator[object]:
    """The parsed lines of an NDJSON file, each at most LINE_LIMIT bytes and BOARD_LIMIT in
    all (what is past it is not read); a line that is not JSON is None."""
    left = BOARD_LIMIT
    for line in bounded_lines(handle, LINE_LIMIT):
        left -= LINE_LIMIT + 1 if line is None else len(line) + 1
        if left < 0:
            return
        if line is None:
            yield None
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError:
            yield None


# -- group statistics files ----------------------------------------------------------------

def groups_from_stats(document) -> List[dict]:
    """The group entries of a stats file as sb-rank wrote it (entries of another shape are left
    out: the file is read by accounts that may not trust it)."""
    groups = document.get("groups") if isinstance(document, dict) else None
    return [dict(group, users=_names_in(group.get("users")))
            for group in (groups[:ROW_LIMIT] if isinstance(groups, list) else [])
            if isinstance(group, dict) and _row_field_ok("account", group.get("account"))
            and _whole(group.get("members"), _ROW_WHOLE["members"])]


def _names_in(value) -> List[str]:
    """The plain names of a member list as read (anything that is not one: no names)."""
    return [name for name in value[:ROW_LIMIT] if _is_plain(name)] \
        if isinstance(value, list) else []


def ranks_in_groups(user: str, groups: List[dict]) -> List[dict]:
    """For each group `user` belongs to: its size and the user's rank among its members on every
    skill (None where the user charged nothing of it), from group_stats entries."""
    found = []
    for group in sorted(groups, key=lambda g: str(g.get("account"))):
        ranks = group.get("ranks")
        mine = ranks.get(user) if isinstance(ranks, dict) else None
        if not isinstance(mine, dict):
            continue
        found.append({"account": group.get("account"), "members": group.get("members"),
                      "ranks": {m: r if _is_rank(r) else None
                                for m, r in ((m, mine.get(m)) for m in SKILLS)}})
        if len(found) == GROUPS_SHOWN:
            break
    return found


# The most groups a personal page lists (by account name): more accounts than a real user is
# ever in, and a planted statistics file of tiny groups cannot make a page of megabytes.
GROUPS_SHOWN = 200


ALL = "all"                      # the scope of every cluster merged
# The most rows a board may have: twice the 100,000 users (or groups) of the largest site the
# tools are made for. A board with more is refused, and so is one with more values than such a
# board holds (VALUE_LIMIT, counted before parsing: a planted file of empty lists or tiny
# entries costs a reader memory by the value, 1.5 GB for 48 MiB of "[],").
ROW_LIMIT = 200_000
# A row holds at most 13 values (overall's: 6 fields, 5 skills in their own object, 1 for its
# place in the list; a group's, with members, 14): 16 a row leaves room.
VALUE_LIMIT = 16 * ROW_LIMIT
# The largest board sb-rank writes: ROW_LIMIT rows of at most 240 bytes (a 64-character name
# at most, overall's skills, group rows' members: "rank":200000,"account":<64>,"value":
# <20>,"level":630,"xp":<13>,"skills":{5 x 24},"members":<8>) is 48 MB; 64 MiB leaves room, and
# a file over it is refused unread (read_text refuses a sparse one at its first hole).
BOARD_LIMIT = 64 << 20
DOCUMENT_LIMIT = BOARD_LIMIT     # the other documents (group statistics, records, competitions)
# Bytes of achievements.ndjson a reader reads, from its end (the newest events): about 350,000
# events, a few thousand users' whole history, read in well under a second; a larger site's
# readers see its newest events and say the rest was left out.
EVENTS_LIMIT = 64 << 20
# The achievements a personal page (sb-rank --user, sb-view's pages, the widget) lists: its
# user's newest, so a feed planted with thousands of a victim's events makes no page of
# megabytes. They are looked for among the newest MATCHING_LINES lines that name the user at
# all (their own events, and others' that name them as the rank 1 before): a real user has a
# few hundred, and a planted feed costs a reader no more parses than these.
EVENTS_SHOWN = 50
MATCHING_LINES = 10_000


class Index(NamedTuple):
    asof: str
    clusters: List[str]
    windows: List[str]
    metrics: List[str]          # overall first
    efficiency: List[str] = []  # the efficiency boards sb-rank wrote (efficiency.py)
    rates: Dict[str, float] = {}    # each skill's XP a unit (xp.json), as sb-rank used them


class Row(NamedTuple):
    rank: int
    name: str
    level: int
    xp: int
    value: float
    members: Optional[int] = None
    skills: Optional[Dict[str, int]] = None
    previous_rank: Optional[int] = None     # at the end of the previous UTC day


class Board(NamedTuple):
    asof: str
    first_day: Optional[str]
    last_day: Optional[str]
    rows: List[Row]
    min_cpu_hours: Optional[float] = None    # an efficiency ratio board's entry bar
    previous_ranks: bool = False             # its rows' previous_rank are known


def index_path(root: str) -> str:
    return layout.path(root, "index_file")


def signature(path: str) -> Optional[tuple]:
    """What changes when a file is replaced or edited (inode, mtime, ctime, size); None when it
    is missing."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size)


def _read_json(path: str, limit: int = BOARD_LIMIT):
    try:
        return orjson.loads(read_json_text(path, limit, VALUE_LIMIT))
    except UnsafePath as err:
        raise OSError(errno.ELOOP, str(err)) from None


def _reason(err: Exception) -> str:
    if isinstance(err, OSError):
        return err.strerror or str(err)
    if isinstance(err, orjson.JSONDecodeError):
        return "not valid JSON"
    return str(err)


def _unreadable(path: str, err: Exception) -> str:
    """Why `path` cannot be read, naming it once."""
    reason = _reason(err)
    return reason if reason.startswith(f"{path}: ") else f"{path}: {reason}"


# Most clusters an index may name: a real site has a handful; each one multiplies the pages
# sb-export writes (2 kinds x 5 windows x 11 boards), so a planted list of thousands cannot.
CLUSTER_LIMIT = 64


def _plain_names(items, known: Optional[Sequence[str]] = None,
                 limit: int = CLUSTER_LIMIT) -> List[str]:
    """The first `limit` distinct plain names (safe in a path) of a list, in its order, only those
    in `known` when given; anything else is dropped. Linear in the list's length."""
    result: List[str] = []
    seen: Set[str] = set()
    for item in items if isinstance(items, list) else []:
        if len(result) >= limit:
            break
        if not isinstance(item, str) or item in seen or (known is not None and item not in known):
            continue
        seen.add(item)
        if _is_plain(item):
            result.append(item)
    return result


def _ranked_clusters(root: str, names: List[str]) -> List[str]:
    """The clusters of the index sb-rank ranked: their all-time Overall board is there."""
    return [name for name in names if os.path.isfile(layout.board_path(root, "alltime", "overall",
                                                                        name))]


def load_index(root: str) -> Index:
    """What sb-rank last wrote: clusters, windows, skills (no one's name is in it)."""
    path = index_path(root)
    try:
        data = _read_json(path)
    except FileNotFoundError:
        shown = safe_text(root)
        raise NoBoards(f"no leaderboards under {shown}: run sb-rank --root {shown} "
                       "(after sb-reduce)") from None
    except (OSError, ValueError) as err:
        raise BoardError(_unreadable(path, err)) from None
    if not isinstance(data, dict):
        raise BoardError(f"{path}: not an sb-rank index")
    metric_names = _plain_names(data.get("metrics"), BOARDS) or list(boardfiles.BOARDS)
    ordered = [m for m in metric_names if m == "overall"] + \
        [m for m in metric_names if m != "overall"]
    measured = _plain_names(data.get("efficiency"), EFFICIENCY_BOARDS)
    return Index(checked_asof(data.get("asof")),
                 _ranked_clusters(root, _plain_names(data.get("clusters"))),
                 _plain_names(data.get("windows"), windows.NAMES) or list(windows.NAMES), ordered,
                 measured, _rates(data.get("rates")))


def _rates(given) -> Dict[str, float]:
    """The index's XP rates: a positive finite number for a skill, anything else left out."""
    if not isinstance(given, dict):
        return {}
    return {skill: float(rate) for skill, rate in given.items()
            if skill in SKILLS and type(rate) in (int, float) and 0 < rate < 1e9}


def number(value, default=0):
    """`value` when it is a number (not a bool), else `default`: fields of files anyone may
    have written."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return value


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def checked_asof(value) -> str:
    """When the boards were made, as sb-rank writes it (a real ``YYYY-MM-DDTHH:MM:SSZ`` UTC
    instant); "" (not known) for anything else, so no planted text is shown as a time."""
    try:
        times.parse_utc(value)
    except (TypeError, ValueError):
        return ""
    return value


def row_name(raw) -> Optional[str]:
    """The user or account a board row is about; None for anything that is not a row."""
    name = raw.get("user", raw.get("account")) if isinstance(raw, dict) else None
    return name if isinstance(name, str) else None


# The fields of a board row (rank.standings, rank.efficiency) and what each may hold: whole
# numbers in their range, numbers (not bools, finite) from 0 up to a bound no site reaches.
_ROW_WHOLE = {"rank": ROW_LIMIT, "previous_rank": ROW_LIMIT, "level": 10_000,
              "virtual_level": 10_000, "xp": 10 ** 12,
              "members": 10 ** 7, "jobs": 10 ** 12}
_ROW_NUMBERS = {"value": 1e15, "cpu_hours": 1e15, "gpu_hours": 1e15}
_ROW_NEEDS = ("rank", "value")


def _is_rank(value) -> bool:
    return type(value) is int and 1 <= value <= ROW_LIMIT


def _whole(value, most: int) -> bool:
    return type(value) is int and 0 <= value <= most


def _amount(value, most: float) -> bool:
    return type(value) in (int, float) and 0 <= value <= most     # NaN fails both


def _row_field_ok(field: str, value) -> bool:
    if field in _ROW_WHOLE:
        return _whole(value, _ROW_WHOLE[field])
    if field in _ROW_NUMBERS:
        return _amount(value, _ROW_NUMBERS[field])
    if field == "user":                 # the store keeps only plain user names
        return _is_plain(value)
    if field == "account":              # an account is sacct's text: shown, never a path
        return bool(value) and _shown_as_is(value)
    return isinstance(value, dict) and len(value) <= len(SKILLS) and all(   # skills
        skill in SKILLS and _whole(level, _ROW_WHOLE["level"]) for skill, level in value.items())


_ROW_FIELDS = frozenset(_ROW_WHOLE) | frozenset(_ROW_NUMBERS) | {"user", "account", "skills"}


def checked_row(raw) -> Optional[dict]:
    """A board row made again from the fields sb-rank writes (any other is left out, in the
    row's order), each checked: a plain user name (or else an account), numbers of the
    right kind in their range, an account text shown as is (no control, format or separator
    character); None when a field is wrong or one the row needs is missing. Every
    reader of a board (sb-rank --from-files, --user, sb-view, sb-export, the widget) sees its
    rows only through here."""
    if not isinstance(raw, dict) or ("user" in raw) == ("account" in raw):
        return None
    row = {field: value for field, value in raw.items() if field in _ROW_FIELDS}
    if any(field not in row for field in _ROW_NEEDS) or \
            not all(_row_field_ok(field, value) for field, value in row.items()):
        return None
    return row


def parse_row(raw) -> Optional[Row]:
    """A board row as sb-rank writes it (:func:`checked_row`); None for anything that is not
    one."""
    raw = checked_row(raw)
    if raw is None:
        return None
    name = raw.get("user", raw.get("account"))
    skills = raw.get("skills")
    if isinstance(skills, dict):
        skills = {k: int(number(v, 1)) for k, v in skills.items() if isinstance(k, str)}
    else:
        skills = None
    members = raw.get("members")
    return Row(int(number(raw.get("rank"))), name, int(number(raw.get("level"), 1)),
               int(number(raw.get("xp"))), number(raw.get("value")),
               int(members) if number(members, None) is not None else None, skills,
               previous_rank(raw))


def _hidden(name, hidden: FrozenSet[str]) -> bool:
    """Whether `name` is a user who opted out (anything but a name is not one)."""
    return isinstance(name, str) and name in hidden


def visible_rows(rows: Sequence, hidden: FrozenSet[str], gone: Sequence = ()) -> List[dict]:
    """A board's (or a competition's) rows without the names in `hidden`, each name once (a
    planted file may repeat one) and anything that is not a row left out, the ranks closed up
    (and the previous day's ranks, :func:`previous_rank`, by the hidden names ranked above,
    on the board or among those `gone` from it, :func:`gone_ranks`)."""
    seen = set()
    kept = []
    above: List[int] = [rank for name, rank in gone if name in hidden]
    for row in rows[:ROW_LIMIT]:
        name = row_name(row)
        if name is None or name in seen:
            continue
        seen.add(name)
        if name in hidden:
            above += [rank for rank in (previous_rank(row),) if rank is not None]
        else:
            kept.append(row)
    ranks = boardfiles.shared_ranks([row.get("rank") for row in kept])
    shown = [dict(row, rank=rank) for rank, row in zip(ranks, kept)]
    if above:
        above.sort()
        for row in shown:
            before = previous_rank(row)
            if before is not None:
                row["previous_rank"] = before - bisect.bisect_left(above, before)
    return shown


def previous_rank(row) -> Optional[int]:
    """A row's rank at the end of the previous UTC day (sb-rank keeps it, see
    :func:`moved_since_yesterday`); None when it was not on the board then, or not known."""
    rank = row.get("previous_rank") if isinstance(row, dict) else None
    return rank if type(rank) is int and rank >= 1 else None


def gone_ranks(document: dict) -> List[Tuple[str, int]]:
    """A board's ``previous_gone``: the names on it when the day began that are not on it
    now, with their ranks then (checked: pairs of a name and a rank, at most ROW_LIMIT)."""
    pairs = document.get("previous_gone")
    if not isinstance(pairs, list):
        return []
    return [(pair[0], pair[1]) for pair in pairs[:ROW_LIMIT]
            if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
            and type(pair[1]) is int and 1 <= pair[1] <= ROW_LIMIT]


def moved_since_yesterday(document: dict, old: Optional[bytes], hidden: FrozenSet[str]) -> None:
    """Give a board document being written the ranks at the end of the previous UTC day: each
    row's ``previous_rank`` (left out for a name not on the board then),
    ``"previous_ranks": true`` and ``previous_gone`` (the names on it then that are not on it
    now, with their ranks: a later rebuild of the day may bring one back), when an earlier
    board file is there (`old`, its bytes). A file of an earlier day holds them as its rows'
    ranks; one written today already, as its rows' ``previous_rank`` and its
    ``previous_gone`` (carried over, so every rebuild of a day compares with the same day).
    Names in `hidden` (users who opted out) are left out of them, the ranks closed up."""
    try:
        before = orjson.loads(old) if old else None
    except orjson.JSONDecodeError:
        return
    if not isinstance(before, dict) or not isinstance(before.get("rows"), list):
        return
    asof = before.get("asof")
    hidden = hidden if document.get("kind") == "users" else frozenset()
    ranks: Dict[Optional[str], object] = {}
    if not isinstance(asof, str) or asof[:10] < str(document.get("asof"))[:10]:
        ranks = {row_name(row): row.get("rank") for row in visible_rows(before["rows"], hidden)}
    elif before.get("previous_ranks") is True:
        pairs = [(row_name(row), previous_rank(row)) for row in before["rows"][:ROW_LIMIT]]
        ranks.update(_closed_up([(name, rank) for name, rank in pairs
                                 if name is not None and rank is not None] + gone_ranks(before),
                                hidden))
    else:
        return
    document["previous_ranks"] = True
    shown = set()
    for row in document["rows"]:
        name = row_name(row)
        shown.add(name)
        rank = ranks.get(name)
        if type(rank) is int and rank >= 1:
            row["previous_rank"] = rank
    document["previous_gone"] = sorted(
        [name, rank] for name, rank in ranks.items()
        if name not in shown and isinstance(name, str) and type(rank) is int and rank >= 1)


def _closed_up(pairs: Sequence[Tuple[str, int]], hidden: FrozenSet[str]) -> Dict[str, int]:
    """(name, rank) pairs without the names in `hidden`, each rank less the hidden above it."""
    above = sorted(rank for name, rank in pairs if name in hidden)
    closed: Dict[str, int] = {}
    for name, rank in pairs:
        if name not in hidden and name not in closed:      # a planted repeat: the first
            closed[name] = rank - bisect.bisect_left(above, rank)
    return closed


def closed_group_ranks(ranks: Dict[str, dict], hidden: FrozenSet[str]) -> Dict[str, dict]:
    """A group's ranks of its members (user -> skill -> rank or None) without the users in
    `hidden`, each skill's ranks closed up."""
    kept = {user: {metric: mine.get(metric) for metric in SKILLS if metric in mine}
            for user, mine in ranks.items()
            if isinstance(mine, dict) and user not in hidden}
    for metric in SKILLS:           # only the skills: each a sort of the members, no more
        placed = sorted((mine[metric], user) for user, mine in kept.items()
                        if type(mine.get(metric)) is int)
        for rank, (_, user) in zip(boardfiles.shared_ranks([old for old, _ in placed]), placed):
            kept[user][metric] = rank
    return kept


# The fields of a board file around its rows (boardfiles.document, efficiency's bar).
_DOCUMENT_TEXTS = ("window", "metric", "cluster", "kind", "account")


def _checked_document(data: dict, rows: List[dict]) -> dict:
    """A board file made again from what sb-rank writes: its time a real instant ("" if not),
    its days real ones (None if not), its words plain names, its bar a number; other fields
    are left out."""
    document = {"asof": checked_asof(data.get("asof")),
                "first_day": data.get("first_day") if _is_day(data.get("first_day")) else None,
                "last_day": data.get("last_day") if _is_day(data.get("last_day")) else None}
    document.update((field, data[field]) for field in _DOCUMENT_TEXTS
                    if _is_plain(data.get(field)))
    if _amount(data.get("min_cpu_hours"), _ROW_NUMBERS["value"]):
        document["min_cpu_hours"] = data["min_cpu_hours"]
    if data.get("previous_ranks") is True:
        document["previous_ranks"] = True
    document["rows"] = rows
    return document


def member_points(points, hidden: FrozenSet[str], members) -> Dict[str, int]:
    """A group's members' XP (user -> XP charged to the group) as read: only the group's
    members (`members`, its users list), with XP in a row's bound, none who opted out."""
    if not isinstance(points, dict) or not isinstance(members, list):
        return {}
    listed = set(members)
    return {user: value for user, value in points.items()
            if user in listed and _is_plain(user) and _whole(value, _ROW_WHOLE["xp"])
            and user not in hidden}


def _shown_event(event: dict, hidden: FrozenSet[str]) -> Optional[dict]:
    if event.get("kind") != "users":
        return event
    if _hidden(event.get("user"), hidden):
        return None
    if _hidden(event.get("previous"), hidden):
        return dict(event, previous=None)
    return event


def _event_in(line: bytes) -> Optional[dict]:
    """The event a line of achievements.ndjson holds (:func:`boardfiles.event_of`), or None."""
    try:
        return boardfiles.event_of(orjson.loads(line))
    except orjson.JSONDecodeError:
        return None


def _is_event_of(event: dict, name: str, kind: str, scope: str) -> bool:
    """Whether `event` is `name`'s (a user or group of `kind`) on `scope` ("all": the merged
    scope's events and the first job on each cluster)."""
    return event.get("kind") == kind and event.get(name_field(kind)) == name and \
        (event.get("scope") == scope or (scope == ALL and event.get("event") == "first_job"))


def _scope_cluster(scope: Optional[str]) -> Optional[str]:
    return None if scope in (None, ALL) else scope


class BoardFiles:
    """The files under ``<root>/leaderboards`` as readers may see them (see the module's doc).
    Creating one reads the opt-out list, so a reader that may not read it stops at once."""

    def __init__(self, root: str, warn: Optional[Callable[[str], None]] = None):
        self.root = root
        self.warn = warn
        self.problems: List[str] = []
        self.events_note: Optional[str] = None    # the last read of the achievements was cut
        self._told: Set[str] = set()
        self._hidden: FrozenSet[str] = frozenset()
        self._hidden_signature: Optional[tuple] = None
        self.opted_out()

    # -- who opted out -------------------------------------------------------------------------

    def optout_signature(self) -> tuple:
        """What changes when the opt-out list or the pollers' cache changes."""
        return (signature(optout_file(self.root)), signature(optout.cache_file(self.root)))

    def opted_out(self) -> FrozenSet[str]:
        """Every user left out now: the list, and the markers the pollers saw; read again when
        either file changed."""
        current = self.optout_signature()
        if current != self._hidden_signature:
            self._hidden_signature = None
            self._hidden = frozenset(optout.opted_out(self.root))
            self._hidden_signature = current
        return self._hidden

    def _hidden_in(self, kind: str) -> FrozenSet[str]:
        return self.opted_out() if kind == "users" else frozenset()

    # -- boards --------------------------------------------------------------------------------

    def board_path(self, window: str, metric: str, scope: Optional[str] = ALL,
                   kind: str = "users") -> str:
        return layout.board_path(self.root, window, metric, _scope_cluster(scope), kind)

    def board_document(self, window: str, metric: str, scope: Optional[str] = ALL,
                       kind: str = "users") -> Optional[dict]:
        """A board file as sb-rank wrote it, its rows without opted-out users (ranks closed
        up); None when there is no such file, BoardError when it cannot be read."""
        path = self.board_path(window, metric, scope, kind)
        try:
            data = _read_json(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise BoardError(_unreadable(path, err)) from None
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise BoardError(f"{path}: not an sb-rank board")
        if len(data["rows"]) > ROW_LIMIT:
            raise BoardError(f"{path}: more than {ROW_LIMIT:,} rows, which no board sb-rank "
                             "writes holds")
        rows = [row for row in map(checked_row, data["rows"]) if row is not None]
        return _checked_document(data, rows=visible_rows(rows, self._hidden_in(kind),
                                                         gone_ranks(data)))

    def board(self, window: str, metric: str, scope: Optional[str] = ALL,
              kind: str = "users") -> Optional[Board]:
        """:meth:`board_document` as a Board of Rows."""
        data = self.board_document(window, metric, scope, kind)
        if data is None:
            return None
        # visible_rows kept only rows with a name, and parse_row reads every such row
        rows = [row for row in map(parse_row, data["rows"]) if row is not None]
        return Board(data["asof"], data["first_day"], data["last_day"], rows,
                     number(data.get("min_cpu_hours"), None), data.get("previous_ranks") is True)

    def row_of(self, name: str, window: str, metric: str, scope: Optional[str] = ALL,
               kind: str = "users") -> Optional[Row]:
        """`name`'s row on one board (None when not on it, or the board is missing)."""
        board = self.board(window, metric, scope, kind)
        return next((row for row in board.rows if row.name == name), None) if board else None

    def known(self, name: str, scope: Optional[str] = ALL, kind: str = "users") -> bool:
        """Whether `name` is on the all-time Overall board of the scope: everyone with anything
        stored there is, no one who opted out."""
        return self.row_of(name, "alltime", "overall", scope, kind) is not None

    def required_board(self, window: str, metric: str, scope: Optional[str] = ALL,
                       kind: str = "users") -> dict:
        """:meth:`board_document`, and a BoardError naming the file when it is missing."""
        data = self.board_document(window, metric, scope, kind)
        if data is None:
            raise BoardError(f"no board {self.board_path(window, metric, scope, kind)}: sb-rank "
                             "has not written it yet")
        return data

    def personal(self, window: str, scope: Optional[str], user: str) -> dict:
        """The personal hiscores of `user` (every skill's rank, value, XP and level; overall on
        top), as sb-rank --user prints them; BoardError when a board is missing."""
        skills = []
        for metric in boardfiles.SKILLS + boardfiles.APART:
            board = self.required_board(window, metric, scope)
            skills.append(boardfiles.page_entry(
                metric, next((r for r in board["rows"] if r.get("user") == user), None)))
        overall = self.required_board(window, "overall", scope)
        mine = next((r for r in overall["rows"] if r.get("user") == user), None)
        return {"user": user, "overall": mine and {k: mine.get(k) for k in ("rank", "level", "xp")},
                "skills": skills, "window": window, "cluster": scope or ALL,
                "asof": overall["asof"]}

    # -- the other documents -------------------------------------------------------------------

    def _document(self, path: str) -> Optional[dict]:
        """An optional JSON object file; None when missing, or unreadable (then named in
        `problems`)."""
        try:
            data = _read_json(path, DOCUMENT_LIMIT)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            self._problem(_unreadable(path, err))
            return None
        if not isinstance(data, dict):
            self._problem(f"{path}: not what sb-rank writes")
            return None
        return data

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def group_stats(self, window: str, scope: Optional[str] = ALL) -> List[dict]:
        """The groups' statistics (groupstats.py), each group's member list, ranks and members'
        XP (``member_xp``, {} when the file has none) without opted-out users; its counts and
        totals as the last rebuild wrote them."""
        document = self._document(layout.stats_path(self.root, window, _scope_cluster(scope)))
        hidden = self.opted_out()
        groups = []
        for group in groups_from_stats(document):
            users, ranks = group.get("users"), group.get("ranks")
            if isinstance(users, list):
                group = dict(group, users=[user for user in users if not _hidden(user, hidden)])
            if isinstance(ranks, dict):
                group = dict(group, ranks=closed_group_ranks(ranks, hidden))
            group = dict(group, member_xp=member_points(group.get("member_xp"), hidden,
                                                        group.get("users")))
            groups.append(group)
        return groups

    def records(self) -> Optional[dict]:
        """records.json without the records opted-out users hold (every row a dict)."""
        document = self._document(layout.records_file(self.root))
        if document is None:
            return None
        rows = document.get("records")
        hidden = self.opted_out()
        return dict(document, records=[
            row for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, dict) and not (row.get("kind") == "users" and
                                              _hidden(row.get("user"), hidden))])

    def competitions(self) -> Optional[dict]:
        """competitions.json, each competition's list of users without opted-out ones."""
        document = self._document(layout.competitions_file(self.root))
        if document is None:
            return None
        entries = document.get("competitions")
        return dict(document, competitions=[
            self._without_users(entry) if isinstance(entry, dict) else entry
            for entry in (entries if isinstance(entries, list) else [])])

    def competition_ids(self) -> List[str]:
        """The competitions of the last rebuild, in its order (ongoing first)."""
        entries = (self.competitions() or {}).get("competitions", [])
        return [entry["id"] for entry in entries if isinstance(entry, dict) and
                isinstance(entry.get("id"), str) and PLAIN.fullmatch(entry["id"])]

    def competition(self, ident: object) -> Optional[dict]:
        """One competition's standings without opted-out users (ranks closed up); None for a
        name that is not plain, or a file that is missing or unreadable."""
        if not isinstance(ident, str) or not PLAIN.fullmatch(ident):
            return None
        document = self._document(layout.competition_file(self.root, ident))
        if document is None:
            return None
        rows = document.get("rows")
        if isinstance(rows, list):
            document = dict(document, rows=visible_rows(rows, self.opted_out()))
        return self._without_users(document)

    def _without_users(self, document: dict) -> dict:
        users = document.get("users")
        if not isinstance(users, list):
            return document
        hidden = self.opted_out()
        return dict(document, users=[user for user in users if not _hidden(user, hidden)])

    # -- achievements --------------------------------------------------------------------------

    def events(self) -> Iterator[dict]:
        """The achievements the last rebuild wrote, oldest first and a line at a time, without
        those of opted-out users; nothing before the first rebuild."""
        hidden = self.opted_out()
        for event in self._raw_events():
            shown = _shown_event(event, hidden)
            if shown is not None:
                yield shown

    def shown(self, event: dict) -> Optional[dict]:
        """The event as a reader may show it: None when it is an opted-out user's, and without
        the name of a previous rank 1 who opted out."""
        return _shown_event(event, self.opted_out())

    def events_of(self, name: str, kind: str = "users",
                  scope: Optional[str] = None) -> List[dict]:
        """One user's (or group's) newest EVENTS_SHOWN achievements, oldest first, on one
        cluster (`scope`), or over all clusters (scope None or "all": the merged scope's events
        and the first job on each cluster). Only lines holding the name as sb-rank writes it (a
        JSON string) are kept, the newest MATCHING_LINES of them, and parsed newest first until
        EVENTS_SHOWN are found: a planted feed of other users' events costs a scan of its bytes,
        one of the user's own a few dozen parses, and neither a page of megabytes."""
        needle = orjson.dumps(name)
        matching = deque((line for line in self._event_lines() if needle in line),
                         maxlen=MATCHING_LINES)
        hidden = self.opted_out()
        found: List[dict] = []
        while matching and len(found) < EVENTS_SHOWN:
            event = _event_in(matching.pop())
            if event is not None and _is_event_of(event, name, kind, scope or ALL):
                shown = _shown_event(event, hidden)
                if shown is not None:
                    found.append(shown)
        found.reverse()
        return found

    # -- progress: each name's gains per month (history/progress.py) ---------------------------

    def progress(self, scope: Optional[str], kind: str, name: str) -> Optional[dict]:
        """`name`'s line of the scope's progress file (:func:`progress_entry`: months, and each
        skill's XP and value gained in each); None when it has none, the file is missing or
        unreadable (then named in `problems`), or the name is a user who opted out."""
        if not _progress_name(kind, name) or _hidden(name, self._hidden_in(kind)):
            return None
        for entry in self._progress_entries(scope, kind):
            if entry["name"] == name:
                return entry
            if entry["name"] > name:        # the file is sorted by name
                break
        return None

    def progress_lines(self, scope: Optional[str] = ALL, kind: str = "users") -> Iterator[dict]:
        """Every name's line of the scope's progress file, read a line at a time, without
        opted-out users and lines that are not one."""
        hidden = self._hidden_in(kind)
        for entry in self._progress_entries(scope, kind):
            if entry["name"] not in hidden:
                yield entry

    def progress_header(self, scope: Optional[str] = ALL, kind: str = "users"
                        ) -> Optional[dict]:
        """The progress file's header (asof: when its lines last changed), None without one."""
        with self._progress_file(scope, kind) as lines:
            header = None if lines is None else next(lines, None)
        return header if isinstance(header, dict) else None

    def _progress_entries(self, scope: Optional[str], kind: str) -> Iterator[dict]:
        with self._progress_file(scope, kind) as lines:
            if lines is None or next(lines, None) is None:
                return
            for raw in lines:
                entry = progress_entry(raw, kind)
                if entry is not None:
                    yield entry

    @contextmanager
    def _progress_file(self, scope: Optional[str], kind: str
                       ) -> Iterator[Optional[Iterator[object]]]:
        """The file's parsed lines after a checked header (None: missing or unreadable; a
        header that is not one is named in `problems`), BOARD_LIMIT bytes at most."""
        try:
            path = layout.progress_file(self.root, scope or ALL, kind)
            fd, _size = open_regular(path, BOARD_LIMIT)
        except FileNotFoundError:
            yield None
            return
        except (OSError, UnsafePath, ValueError) as err:
            self._problem(f"progress of {safe_text(str(scope))}: {_reason(err)}")
            yield None
            return
        with os.fdopen(fd, "rb") as handle:
            lines = _json_lines(handle)
            header = next(lines, None)
            if not _progress_header_ok(header, scope or ALL, kind):
                self._problem(f"{path}: not a progress file sb-rank writes")
                yield None
                return
            yield itertools.chain([header], lines)

    def _raw_events(self) -> Iterator[dict]:
        for line in self._event_lines():
            event = _event_in(line)
            if event is not None:
                yield event

    def _event_lines(self) -> Iterator[bytes]:
        """The lines of the newest EVENTS_LIMIT bytes of achievements.ndjson, oldest first
        (none when it is missing, or not a regular file)."""
        path = layout.achievements_file(self.root)
        self.events_note = None
        try:
            fd, _size = open_regular(path, None)
        except (OSError, UnsafePath):
            return      # missing, or a planted symlink or folder: no news until the next pass
        with os.fdopen(fd, "rb") as handle:
            tail = Tail(handle, EVENTS_LIMIT)
            self._tell_cut(path, tail)
            yield from tail.lines()
            self._tell_cut(path, tail)

    def _tell_cut(self, path: str, tail: Tail) -> None:
        """When the achievements were read only in part: say so in `events_note` and, once, to
        `warn`."""
        if not tail.cut:
            return
        self.events_note = (f"{path}: only its newest {EVENTS_LIMIT >> 20} MiB are read (it holds "
                            f"{max(tail.size, EVENTS_LIMIT + 1):,} bytes or more): older "
                            "achievements are left out")
        if self.warn is not None and self.events_note not in self._told:
            self._told.add(self.events_note)
            self.warn(self.events_note)
