"""The files a rebuild keeps between rebuilds, so that a poll's rebuild costs what the poll
changed: each cluster's window summaries (``leaderboards/.cache/clusters/<cluster>.json``,
used by clusters.py) and the all-cluster sums (``leaderboards/.cache/all.json``,
together.py).

A cluster's summary is what its boards and its part of the all-cluster boards are made of, in
three parts, each with the key it was made under: its measured usage per window
(efficiency.py's ``collect_cluster``; key: the usage days, :func:`measured_key`), its usage
per window (store/reading.py's ``collect_cluster``; key: the all-time index and every monthly
rollup) and its settled months, what every month but the newest adds to each dated window
(key: those months, and the newest one's name; :func:`usage_keys`). A key sums up the identity
(inode, size, change and modify times) of each of those files, the windows (the UTC day), who
opted out, and the code. Beside them the header records each set of the cluster's boards
(usage, efficiency) as written: its settings (the rates; the efficiency bar and which
efficiency boards exist) and the identity of each file after it was written.

A cluster's file is four lines: the header (``format``, ``cluster``, ``keys``, ``boards``,
``digests``: the SHA-256 of each other line), then the measured usage
(``{window: {user: {account: sums}}}``), the usage and the settled months
(``{window: {user: {account: vector}}}``). It is written after every board of its cluster, so a
rebuild killed at any point leaves either a summary whose keys or board identities no longer
hold, or boards and a summary that agree. The sums' file is the header (``format``,
``clusters``: each with the keys of its parts the sums hold, ``boards``: the all-cluster
efficiency boards, ``digests``), the measured sums, the usage sums and, per entry, how many
clusters have it.

A file is trusted only as the account running the rebuild wrote it: owned by that account,
with no write bit for anyone else (even in group mode, where the root's other files have one)
and no other name (a hard link). A file another writer of the root planted, or could still
change, is ignored; so is a part that is damaged or stale in any way (a header, key or digest
that does not hold; a value that is not a count or a sum; a name the store could not hold; an
opted-out user): the store is read instead. Nothing read from a file becomes a path.
"""
from __future__ import annotations

import functools
import hashlib
import os
import stat
from itertools import chain
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import orjson

from .. import __version__
from ..core import layout
from ..core.files import atomic_write, identity, open_file, writer_only_mode
from ..core.optout import OptOut
from ..core.windows import Window
from ..errors import UnsafePath
from ..store import metrics
from ..store.store import is_account, is_plain
from ..store.usage import usage_days
from . import efficiency

FORMAT = 2
LIMIT = 1 << 31          # bytes: a summary of millions of users; anything bigger is damage
BIGGEST_COUNT = 1 << 63  # a usage vector's sums (orjson writes 64-bit integers)
BIGGEST_SUM = 1e250      # a measured sum (bytes x seconds); no sum of such values overflows
PARTS = ("measured", "usage", "settled")      # the file's lines after its header, in order

ByWindow = Dict[str, dict]       # window name -> user -> account -> vector or sums
Months = List[Tuple[str, str]]   # (month, path) of a cluster's rollups, oldest first


class Header(NamedTuple):
    """A summary file's first line, checked: the keys each part was made under, what the
    cluster's boards were written with, and each part's digest."""
    line: bytes
    keys: Dict[str, str]
    boards: dict
    digests: Dict[str, str]


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """The version and the source of every module of the package: a summary made by other
    code is never used, even between two commits of one version."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256(__version__.encode())
    for folder, subfolders, names in os.walk(top):
        subfolders.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    digest.update(name.encode() + b"\0" + handle.read() + b"\0")
    return digest.hexdigest()


def _key(cluster: str, wanted: Sequence[Window], optout: OptOut, identities: List[str]) -> str:
    names = "\n".join(sorted(optout.everyone()))
    parts = [code_digest(), str(FORMAT), cluster, hashlib.sha256(names.encode()).hexdigest()]
    parts += [f"{window.name}:{window.first_day}:{window.last_day}" for window in wanted]
    return hashlib.sha256("\n".join(parts + identities).encode()).hexdigest()


def _identities(files: Sequence[Tuple[str, str]]) -> List[str]:
    return [f"{name}={identity(path)}" for name, path in files]


def measured_key(root: str, cluster: str, wanted: Sequence[Window], optout: OptOut) -> str:
    """What the measured part read now would be made from (the usage days, which their
    writer replaces whole, so no lock is needed), summed up."""
    folder = layout.usage_dir(root, cluster)
    return _key(cluster, wanted, optout,
                [identity(folder)] + _identities(usage_days(root, cluster)))


def usage_keys(root: str, cluster: str, wanted: Sequence[Window], optout: OptOut,
               months: Months) -> Dict[str, str]:
    """What the usage part, and the settled part (every month but the newest), read now
    would be made from; the caller holds the store's shared lock (reading.reading)."""
    settled = _identities(months[:-1]) + [f"newest={months[-1][0] if months else ''}"]
    alltime = [("alltime", layout.alltime_file(root, cluster))]
    return {"usage": _key(cluster, wanted, optout, _identities(alltime + list(months))),
            "settled": _key(cluster, wanted, optout, settled)}


def board_identities(paths: Sequence[str]) -> List[str]:
    """Who each board file is now: a board replaced or removed since it was written moves it."""
    return [identity(path) for path in paths]


# -- the file -----------------------------------------------------------------------------------

def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def save(root: str, cluster: str, keys: Dict[str, str], boards: dict,
         lines: Dict[str, bytes]) -> None:
    """Write the cluster's summary file (after its boards): each part's line (:func:`line`)
    with the key it was made under."""
    header = orjson.dumps({"format": FORMAT, "cluster": cluster, "keys": keys,
                           "boards": boards,
                           "digests": {part: _digest(lines[part]) for part in PARTS}})
    atomic_write(layout.summary_file(root, cluster),
                 b"\n".join([header] + [lines[part] for part in PARTS]) + b"\n",
                 mode=writer_only_mode())


def line(part: ByWindow) -> Optional[bytes]:
    """A part as its line of the file; None when it cannot be written as JSON (a sum past
    64 bits): the summary is then not kept, and the next rebuild reads the store."""
    try:
        return orjson.dumps(part)
    except orjson.JSONEncodeError:
        return None


def read_lines(path: str, parts: int) -> Optional[List[bytes]]:
    """A summary file's header and `parts` lines, when it is one this account wrote
    (:func:`_ours`) and has that many."""
    try:
        fd = open_file(path)
    except (OSError, UnsafePath):
        return None
    with os.fdopen(fd, "rb") as handle:
        if not _ours(os.fstat(fd)):
            return None
        data = handle.read(LIMIT + 1)
    lines = data.split(b"\n")
    return lines[:-1] if len(lines) == parts + 2 and lines[-1] == b"" else None


def cluster_lines(root: str, cluster: str) -> Optional[List[bytes]]:
    return read_lines(layout.summary_file(root, cluster), len(PARTS))


def _ours(info: os.stat_result) -> bool:
    """A regular file this account owns, that no one else may write (its mode) or reach by
    another name (a hard link): one its rebuilds wrote, not one another writer of the root
    planted or can still change."""
    return (stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & 0o022 and info.st_nlink == 1 and info.st_size <= LIMIT)


def _parsed(line: bytes) -> object:
    """A kept file's line, parsed (None when it is not JSON)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


def header_of(lines: Optional[List[bytes]], cluster: str) -> Optional[Header]:
    """The file's header, when it is whole and of this cluster."""
    if not lines:
        return None
    header = _parsed(lines[0])
    if type(header) is not dict or set(header) != {"format", "cluster", "keys", "boards",
                                                   "digests"}:
        return None
    if header["format"] != FORMAT or header["cluster"] != cluster:
        return None
    keys, digests = header["keys"], header["digests"]
    if not (_texts(keys) and _texts(digests) and _boards_record(header["boards"])):
        return None
    return Header(lines[0], keys, header["boards"], digests)


def _texts(value) -> bool:
    return type(value) is dict and set(value) == set(PARTS) and \
        all(type(text) is str for text in value.values())


BOARD_SETS = ("usage", "efficiency")     # a cluster's boards, each set vouched for apart


def _boards_record(boards) -> bool:
    """{"usage": set, "efficiency": set}, each set {"settings": text, "files": [identity]}."""
    return type(boards) is dict and set(boards) == set(BOARD_SETS) and \
        all(_board_set(record) for record in boards.values())


def _board_set(record) -> bool:
    return (type(record) is dict and set(record) == {"settings", "files"}
            and type(record["settings"]) is str and type(record["files"]) is list
            and all(type(entry) is str for entry in record["files"]))


def raw_part(lines: Optional[List[bytes]], header: Header, name: str) -> Optional[bytes]:
    """Part `name`'s line as the file holds it, when its digest is the header's (to keep it
    as it is, unread)."""
    if not lines or lines[0] != header.line:
        return None
    text = lines[1 + PARTS.index(name)]
    return text if _digest(text) == header.digests[name] else None


def part(lines: List[bytes], header: Header, name: str, windows: Sequence[Window],
         optout: OptOut) -> Optional[ByWindow]:
    """Part `name` of a cluster's summary file whose header is `header`, checked whole (its
    digest, its windows, every value and name); None when it does not hold."""
    if name == "measured":
        return _checked(lines, header.line, header.digests[name], 1, windows, optout,
                        efficiency.SUMS, _sums)
    return _checked(lines, header.line, header.digests[name], 1 + PARTS.index(name), windows,
                    optout, metrics.SIZE, _counts)


def _checked(lines: List[bytes], header_line: bytes, digest: str, index: int,
             windows: Sequence[Window], optout: OptOut, size: int,
             valid: Callable[[list], bool]) -> Optional[ByWindow]:
    text = lines[index]
    if lines[0] != header_line or _digest(text) != digest:
        return None
    return _part(text, windows, optout, size, valid)


# -- the all-cluster summary ---------------------------------------------------------------------

TOGETHER = ("measured", "usage", "counts")     # its lines after the header
Record = Tuple[str, Optional[str], Optional[str]]    # cluster, measured key, usage key


class Together(NamedTuple):
    """The all-cluster summary's header, checked: each cluster with the keys of the parts of
    it the sums hold (None: left out), and each part's digest."""
    line: bytes
    records: List[Record]
    digests: Dict[str, str]
    boards: dict            # the all-cluster efficiency boards: {"settings", "files"}


def together_lines(root: str) -> Optional[List[bytes]]:
    return read_lines(layout.path(root, "summary_together"), len(TOGETHER))


def together_header(lines: Optional[List[bytes]]) -> Optional[Together]:
    if not lines:
        return None
    header = _parsed(lines[0])
    if type(header) is not dict or set(header) != {"format", "clusters", "digests", "boards"} \
            or header["format"] != FORMAT or not _records(header["clusters"]):
        return None
    digests = header["digests"]
    if type(digests) is not dict or set(digests) != set(TOGETHER) or \
            not all(type(text) is str for text in digests.values()) or \
            not _board_set(header["boards"]):
        return None
    return Together(lines[0], [tuple(record) for record in header["clusters"]], digests,
                    header["boards"])


def _records(records) -> bool:
    return type(records) is list and all(
        type(record) is list and len(record) == 3 and type(record[0]) is str
        and all(key is None or type(key) is str for key in record[1:]) for record in records)


def together_part(lines: List[bytes], header: Together, name: str, windows: Sequence[Window],
                  optout: OptOut) -> Optional[ByWindow]:
    """Part `name` of the all-cluster summary, checked whole; the counts are [n], n the
    clusters that have the entry (1 to their number)."""
    index = 1 + TOGETHER.index(name)
    if name == "measured":
        return _checked(lines, header.line, header.digests[name], index, windows, optout,
                        efficiency.SUMS, _sums)
    if name == "usage":
        return _checked(lines, header.line, header.digests[name], index, windows, optout,
                        metrics.SIZE, _counts)
    clusters = len(header.records)
    return _checked(lines, header.line, header.digests[name], index, windows, optout, 1,
                    lambda numbers: not set(map(type, numbers)) - {int} and
                    (not numbers or (min(numbers) >= 1 and max(numbers) <= clusters)))


def save_together(root: str, records: List[Record], boards: dict,
                  lines: Dict[str, bytes]) -> None:
    """Write the all-cluster summary (after the all-cluster boards)."""
    header = orjson.dumps({"format": FORMAT, "clusters": records, "boards": boards,
                           "digests": {part: _digest(lines[part]) for part in TOGETHER}})
    atomic_write(layout.path(root, "summary_together"),
                 b"\n".join([header] + [lines[part] for part in TOGETHER]) + b"\n",
                 mode=writer_only_mode())


# -- checking a part whole ----------------------------------------------------------------------

def _part(line: bytes, wanted: Sequence[Window], optout: OptOut,
          size: int, valid: Callable[[list], bool]) -> Optional[ByWindow]:
    """{window: {user: {account: value}}} with every window wanted, every value a list of
    `size` numbers that are `valid`, and every name one the store could hold and not opted
    out; None otherwise."""
    try:
        part = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(part) is not dict or list(part) != [window.name for window in wanted]:
        return None
    users: set = set()
    accounts: set = set()
    for by_user in part.values():
        if type(by_user) is not dict or not _values(list(by_user.values()), size, valid,
                                                    accounts):
            return None
        users.update(by_user)
    if not all(is_plain(user) and user not in optout for user in users):
        return None
    return part if all(map(is_account, accounts)) else None


def _values(by_account: list, size: int, valid: Callable[[list], bool], accounts: set) -> bool:
    """Every user's {account: value} of a window: none empty, each value `size` numbers,
    `valid` (checked a window at a time: in C, not number by number in Python)."""
    if set(map(type, by_account)) - {dict} or not all(by_account):
        return False
    values = [value for charged in by_account for value in charged.values()]
    if set(map(type, values)) - {list} or set(map(len, values)) - {size}:
        return False
    accounts.update(chain.from_iterable(by_account))
    return valid(list(chain.from_iterable(values)))


def _counts(numbers: list) -> bool:
    """A usage vector's numbers: counts (int, not bool) that orjson can write."""
    return not set(map(type, numbers)) - {int} and \
        (not numbers or (min(numbers) >= 0 and max(numbers) < BIGGEST_COUNT))


def _sums(numbers: list) -> bool:
    """Measured sums (efficiency.py): counts and finite sums, none below zero."""
    return not set(map(type, numbers)) - {int, float} and \
        (not numbers or (min(numbers) >= 0 and max(numbers) <= BIGGEST_SUM))
