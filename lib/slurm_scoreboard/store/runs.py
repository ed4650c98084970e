"""One sb-reduce run: the records of a stream checked, counted into the cluster's store (or,
with --usage, their measures kept in the usage files), under the cluster's writer lock, with
the stats it prints; and the repairs that read no input. See reducer.py for the update itself.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import Counter
from contextlib import ExitStack, contextmanager
from typing import (
    BinaryIO,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypeVar,
    Union,
)

import orjson

from .. import errors
from ..core import layout, times
from ..core.files import locked
from ..core.names import check_name
from ..core.ndjson import read_lines
from ..core.optout import OptOut
from ..errors import JournalCorrupt, LockBusy, SkipRecord, TotalsOverflow, UnsafePath
from ..ingest.records import Placement, check, latest_time, placement
from .reducer import Reducer, finish_interrupted, keep_old_rule
from .reducer import repair as repair_store
from .repair import remedy
from .usage import UsageWriter, entry_of, erase_users

Warn = Callable[[str], None]


class Options(NamedTuple):
    """What a run was asked (sb-reduce's options)."""
    cluster: Optional[str] = None
    since: Optional[str] = None
    until: Optional[str] = None
    quiet: bool = False
    usage: bool = False
    replace_month: Optional[str] = None
    replace_users: Sequence[str] = ()
    allow_fewer: bool = False


def window_bound(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    try:
        return times.to_iso(times.parse_moment(text))
    except ValueError as err:
        raise errors.UsageError(str(err)) from None



@contextmanager
def writer_lock(root: str, cluster: str):
    """The cluster's writer lock; exit 3 when another sb-reduce holds it."""
    try:
        with locked(layout.reduce_lock(root, cluster), timeout=0):
            yield
    except LockBusy:
        raise errors.Busy(f"another sb-reduce is writing cluster {cluster}") from None


Sink = TypeVar("Sink", Reducer, UsageWriter)


class _Run(ABC, Generic[Sink]):
    """What a counting and a measuring run share: the lock, the sink the records go into (a
    Reducer, or a UsageWriter), and what the run saw."""

    def __init__(self, options: "Options", root: str, warn: Warn):
        self.options = options
        self.root = root
        self.say = warn
        self.since = window_bound(options.since)
        self.until = window_bound(options.until)
        self.latest = latest_time(times.now())
        self.counts: Counter = Counter()
        self.skipped: Counter = Counter()
        self.sink: Optional[Sink] = None
        self.held = ExitStack()

    def warn(self, where: str, message: str) -> None:
        """A skipped record, where it was (unless --quiet)."""
        if not self.options.quiet:
            self.say(f"{where}: {message}")

    def take_lock(self, cluster: str) -> None:
        """The cluster's writer lock for the whole run; exit 3 when another holds it."""
        self.held.enter_context(writer_lock(self.root, cluster))

    @abstractmethod
    def open(self, cluster: str) -> Sink:
        """Take the cluster's lock (exit 3 if held) and make the sink."""

    def opened(self, cluster: str) -> Sink:
        """The sink, opened for `cluster` (--cluster, or the first record's)."""
        if self.sink is None:
            self.sink = self.open(cluster)
        return self.sink

    def prepare(self, records: Sequence[object]) -> None:
        """Look at once at the homes of the users of `records` (a block read ahead) that the
        run will ask about: one wait for the block, not one for each new user."""
        optout = self.home_checks()
        if optout is not None:
            optout.prefetch(record["user"] for record in records
                            if type(record) is dict and record.get("terminal") is True
                            and type(record.get("user")) is str)

    @abstractmethod
    def home_checks(self) -> Optional[OptOut]:
        """The opt-outs that look into homes (None before the sink is open)."""

    # skip reasons counted in the stats but not reported line by line
    QUIET: Tuple[str, ...] = ("not ended", "opted out", "outside window")

    def feed(self, lineno: int, record) -> None:
        self.counts["processed"] += 1
        try:
            check(record, self.latest)
            if not record["terminal"]:
                raise SkipRecord("not ended")
            cluster_flag = self.options.cluster or (self.sink.cluster if self.sink else None)
            self.take(record, placement(record, cluster_flag))
        except SkipRecord as err:
            self.skipped[err.reason] += 1
            if err.reason not in self.QUIET:
                self.warn(f"stdin:{lineno}", str(err))

    @abstractmethod
    def take(self, record: dict, place: Placement) -> None:
        """Put one checked, ended record into the sink (SkipRecord when it is not taken)."""

    @abstractmethod
    def finish(self) -> dict:
        """Write what the sink holds; the run's stats."""

    def close(self) -> None:
        self.held.close()


class Run(_Run[Reducer]):
    """One sb-reduce run: the records counted into the store."""

    def open(self, cluster: str) -> Reducer:
        """Take the cluster's lock (exit 3 if held) and finish any interrupted update."""
        self.take_lock(cluster)
        optout = OptOut(self.root, cluster, check_homes=True)
        reducer = Reducer(self.root, cluster, optout, self.since, self.until,
                          self.options.replace_month, self.options.replace_users,
                          self.options.allow_fewer)
        note = reducer.recover()
        if note:
            self.say(f"cluster {cluster}: {note}")
        return reducer

    def home_checks(self) -> Optional[OptOut]:
        return self.sink.optout if self.sink is not None else None

    def take(self, record: dict, place: Placement) -> None:
        """Count one checked, ended record (SkipRecord when it is not counted)."""
        if not self.opened(place.cluster).add(record, place):
            self.counts["duplicates"] += 1

    def finish(self) -> dict:
        reducer = self.sink
        erased: List[str] = []
        if reducer is not None:
            erased = reducer.find_opted_out()
            # their measured jobs first: should the run stop between the two, the next one
            # still finds them stored and erases again
            try:
                erase_users(self.root, reducer.cluster, erased, times.to_iso(times.now()))
            except (UnsafePath, OSError) as err:
                self.say(f"{err}: the measured jobs of users who opted out cannot be erased "
                         "there; remove what stands in its place")
            if reducer.needs_commit():
                reducer.commit(times.to_iso(times.now()))
            reducer.optout.save()
            self.tell_unreadable_homes(reducer.optout)
        return {
            "processed": self.counts["processed"],
            "new_jobs": reducer.new_jobs if reducer else 0,
            "no_account": reducer.no_account if reducer else 0,
            "months_changed": sorted(reducer.months) if reducer else [],
            "users_changed": reducer.changed_users() if reducer else [],
            "duplicates": self.counts["duplicates"],
            "skipped": dict(sorted(self.skipped.items())),
            "users_erased": len(erased),
        }

    def tell_unreadable_homes(self, optout: OptOut) -> None:
        """Once a day per user (when their home is looked at): a home the poller may not read
        hides an opt-out marker, so say whose, and what works instead."""
        users = optout.unreadable_homes()
        if users:
            shown = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10
                                             else "")
            self.say(f"cannot look into the homes of {len(users)} users ({shown}): an "
                     "opt-out marker there is not seen; <root>/config/optout.txt works for "
                     "everyone")


class UsageRun(_Run[UsageWriter]):
    """sb-reduce --usage: measured jobs into the usage files (usage.py), nothing counted."""

    def __init__(self, options: "Options", root: str, warn: Warn):
        super().__init__(options, root, warn)
        self.optout: Optional[OptOut] = None
        self.known: Dict[str, bool] = {}

    def open(self, cluster: str) -> UsageWriter:
        self.take_lock(cluster)
        # as a counting run does: the users an interrupted update adds are counted, and what a
        # killed run (this one's usage files too) left half-written is removed
        note = finish_interrupted(self.root, check_name("cluster", cluster))
        if note:
            self.say(f"cluster {cluster}: {note}")
        self.optout = OptOut(self.root, cluster, check_homes=True)
        # a month's other users are dropped by the list and the pollers' cache: no home is
        # looked into for them
        listed = OptOut(self.root)
        return UsageWriter(self.root, check_name("cluster", cluster), times.to_iso(times.now()),
                           lambda user: user in listed, self.say)

    def home_checks(self) -> Optional[OptOut]:
        return self.optout

    def counted(self, cluster: str, user: str) -> bool:
        """Whether the store counts `user` on `cluster`: only such users are measured, so that
        erasing a user who opted out (which looks at the counted ones) reaches all."""
        known = self.known.get(user)
        if known is None:
            known = self.known[user] = os.path.lexists(
                layout.user_file(self.root, cluster, user))
        return known

    QUIET = _Run.QUIET + ("not measured", "not counted")

    def take(self, record: dict, place: Placement) -> None:
        """Keep the measure of one checked, ended record (SkipRecord when it is not kept)."""
        if self.since and record["end"] < self.since or \
                self.until and record["end"] >= self.until:
            raise SkipRecord("outside window")
        try:
            check_name("user", record["user"])
        except ValueError as err:
            raise SkipRecord("bad user name", str(err)) from None
        writer = self.opened(place.cluster)
        assert self.optout is not None      # open() made it with the writer
        if record["user"] in self.optout:
            raise SkipRecord("opted out")
        entry = entry_of(record, place)
        if entry is None:
            raise SkipRecord("not measured")
        if not self.counted(writer.cluster, record["user"]):
            raise SkipRecord("not counted")
        writer.add(place.key, place.day, entry)
        self.counts["measured"] += 1

    def finish(self) -> dict:
        added: Dict[str, int] = self.sink.commit() if self.sink is not None else {}
        if self.optout is not None:
            self.optout.save()
        unwritten = self.sink.unwritten if self.sink is not None else []
        return {"processed": self.counts["processed"], "measured": self.counts["measured"],
                "new_measured": sum(added.values()), "days_changed": sorted(added),
                "days_not_written": unwritten, "skipped": dict(sorted(self.skipped.items()))}


# records read ahead (once the cluster's sink is open), so their new users' homes are looked
# at together: at most this many, and at most LOOKAHEAD_BYTES of their lines (a record is a
# few hundred bytes; a line may be 16 MiB, and 512 of them must not be held at once)
LOOKAHEAD = 512
LOOKAHEAD_BYTES = 1 << 20


def blocks(lines: Iterator[Tuple[int, object, bytes]], most: Callable[[], int]
           ) -> Iterator[List[Tuple[int, object]]]:
    """(line number, record) of `lines` a block at a time: `most()` records at most (asked
    as each block starts, once the one before was taken), and at most LOOKAHEAD_BYTES of their
    lines but for a block's first."""
    block: List[Tuple[int, object]] = []
    size, limit = 0, most()
    for lineno, record, line in lines:
        block.append((lineno, record))
        size += len(line)
        if len(block) >= limit or size >= LOOKAHEAD_BYTES:
            yield block
            block, size, limit = [], 0, most()
    if block:
        yield block


def reduce_stream(root: str, options: Options, stream: BinaryIO, warn: Warn) -> dict:
    """Count (or, with `options.usage`, measure) the NDJSON records of `stream` into the store of
    the cluster; the stats."""
    run: Union[Run, UsageRun] = UsageRun(options, root, warn) if options.usage else \
        Run(options, root, warn)
    try:
        if options.cluster:
            run.opened(options.cluster)

        def bad_line(source: str, lineno: int, message: str) -> None:
            run.skipped["bad line"] += 1
            run.warn(f"{source}:{lineno}", message)

        lines = read_lines(stream, "stdin", bad_line)
        for block in blocks(lines, lambda: LOOKAHEAD if run.sink is not None else 1):
            run.prepare([record for _, record in block])
            for lineno, record in block:
                run.feed(lineno, record)
        return run.finish()
    finally:
        run.close()


def keep(root: str, cluster: str, month: str, warn: Warn) -> None:
    """Record that `month` stays on the old day rule for good."""
    with writer_lock(root, cluster):
        kept = keep_old_rule(root, cluster, month, times.to_iso(times.now()))
    if not kept:
        warn(f"cluster {cluster}: {month} is not among the months to fetch again; nothing "
             "changed")


def repair(root: str, cluster: str, warn: Warn) -> dict:
    """The derived files of a cluster summed again from its rollups (reducer.repair)."""
    with writer_lock(root, cluster):
        result = repair_store(root, cluster, times.to_iso(times.now()))
    if result["recovered"]:
        warn(f"cluster {cluster}: {result['recovered']}")
    for path in result["ignored"]:
        warn(f"{path}: not a month; left out of the totals")
    return result


SUMMARY = ("new_jobs", "users", "no_account", "measured", "days")


def summarize(stream: BinaryIO) -> Dict[str, int]:
    """The sum of sb-reduce's stats lines (of one or many runs) as sb-poll reports them: new
    jobs, the users changed (each once), jobs without an account, jobs measured, and days
    measured (the --usage lines); a line that is not a stats object counts for nothing."""
    totals = dict.fromkeys(SUMMARY, 0)
    users: Set[str] = set()
    for line in stream:
        try:
            stats = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if type(stats) is not dict:
            continue
        for field in ("new_jobs", "no_account", "measured"):
            value = stats.get(field)
            if type(value) is int and value > 0:
                totals[field] += value
        changed = stats.get("users_changed")
        if type(changed) is list:
            users.update(name for name in changed if type(name) is str)
        if "measured" in stats:
            totals["days"] += 1
    totals["users"] = len(users)
    return totals


def summary_line(totals: Dict[str, int]) -> str:
    """`new_jobs N users N no_account N measured N days N`: for `read` in a shell."""
    return " ".join(f"{field} {totals[field]}" for field in SUMMARY) + "\n"


def remedy_of(err: Exception) -> str:
    """What to do about an error that stopped a run before it wrote anything."""
    if isinstance(err, TotalsOverflow):
        return "the input holds impossible numbers; check where it came from"
    if isinstance(err, JournalCorrupt):
        return "sb-reduce --repair discards it and rebuilds the totals; see RECOVERY in sb-reduce(1)"
    path = str(err).split(": ", 1)[0]
    return remedy(path)
