"""The feed of achievements as sb-news gives it: the events a reader has not had under a cursor
(news.py), printed or added to an outbox sb-news-post posts from, or every event (--all,
--since) without a cursor. Users who opted out are left out, also from an outbox they were
added to before (boardfiles.BoardFiles.shown)."""
from __future__ import annotations

from typing import BinaryIO, Callable, List, NamedTuple, Optional

import orjson

from .. import boardfiles, errors
from ..boardfiles import BoardFiles
from ..core.files import atomic_write, locked, makedirs, read_bytes, remove_leftovers
from ..core.names import safe_text
from ..core.ndjson import Writer
from ..errors import UnsafePath
from . import achievements, news

Warn = Callable[[str], None]


class Options(NamedTuple):
    """What sb-news was asked."""
    cursor: str = "default"
    format: str = "ndjson"
    all: bool = False
    since: Optional[str] = None
    mark_seen: bool = False
    outbox: Optional[str] = None
    all_scopes: bool = False


def wanted(event: dict, options) -> bool:
    if options.since is not None and event["day"] < options.since:
        return False
    return options.all_scopes or event.get("scope") == "all" or event.get("event") == "first_job"


def line_of(event: dict, options) -> bytes:
    if options.format == "text":
        return text_of(event) + b"\n"
    return orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)


def text_of(event: dict) -> bytes:
    return safe_text(achievements.describe(event)).encode()


def outbox_line(event: dict, options) -> bytes:
    """An event as the outbox keeps it: with --format text its JSON, a tab and the text (what
    sb-news-post posts), so a later run still knows whose it is."""
    if options.format == "text":
        return orjson.dumps(event) + b"\t" + text_of(event) + b"\n"
    return line_of(event, options)


def emit(event: dict, out: Writer, options) -> None:
    out.write_line(line_of(event, options))


OUTBOX_LIMIT = 8 << 20     # bytes: sb-news-post reads it whole; more means no one posts them


class Outbox:
    """What is waiting in an outbox file (without the events of users who opted out since they
    were added), and the room left in it for new events."""

    def __init__(self, path: str, files: BoardFiles):
        self.path = path
        try:
            waiting = read_bytes(path, OUTBOX_LIMIT)
        except FileNotFoundError:
            waiting = b""
        except (OSError, UnsafePath, ValueError) as err:
            raise errors.ToolError(safe_text(f"{path}: {err}")) from None
        kept = [still_shown(line, files) for line in waiting.splitlines()]
        self.dropped = kept.count(None)
        self.before = b"".join(line + b"\n" for line in kept if line is not None)
        self.room = OUTBOX_LIMIT - len(self.before)
        self.added: List[bytes] = []
        self.full = False

    def take(self, line: bytes) -> bool:
        """Whether `line` fits (and is taken); once one does not, none more is taken."""
        if self.full or len(line) > self.room:
            self.full = True
            return False
        self.added.append(line)
        self.room -= len(line)
        return True

    def save(self) -> None:
        if self.added or self.dropped:
            atomic_write(self.path, self.before + b"".join(self.added))


def still_shown(line: bytes, files: BoardFiles) -> Optional[bytes]:
    """An outbox line as it may still be posted, made again from its event (any writer of the
    root can write the outbox: the text after the tab is never trusted): None when it holds no
    event (a planted line, or a text line of a version before 0.3) or one of a user who opted
    out since; the previous rank 1 left out when they did."""
    head, tab, _ = line.partition(b"\t")
    try:
        event = boardfiles.event_of(orjson.loads(head))
    except orjson.JSONDecodeError:
        return None
    if event is None:
        return None
    shown = files.shown(event)
    if shown is None:
        return None
    if tab:
        return orjson.dumps(shown) + b"\t" + text_of(shown)
    return orjson.dumps(shown)


def run(root: str, options: Options, stream: BinaryIO, warn: Warn) -> None:
    """The feed of `root` on `stream` (or into the outbox) as `options` ask."""
    files = BoardFiles(root, warn)
    events = (event for event in files.events() if wanted(event, options))
    if options.all or options.since:
        out = Writer(stream)
        for event in events:
            emit(event, out, options)
        return
    makedirs(news.folder(root))
    with locked(news.lock_file(root, options.cursor), 0):
        run_cursor(root, options, files, events, stream, warn)


def run_cursor(root: str, options: Options, files: BoardFiles, events, stream: BinaryIO,
               warn: Warn) -> None:
    """The events new under the cursor (whose lock is held), printed or taken into the outbox;
    then the cursor moves past them."""
    path = news.cursor_file(root, options.cursor)
    # what a killed run left half-written: every writer of the cursor holds its lock, and
    # the outbox is written by this cursor's runs and by sb-news-post after its sb-news
    for written in (path, options.outbox):
        if written:
            remove_leftovers(written)
    seen = news.load(path)
    outbox = Outbox(options.outbox, files) if options.outbox else None
    fresh = deliver(unseen(events, seen), options, outbox, Writer(stream))
    stream.flush()
    if outbox is not None:
        outbox.save()
        if outbox.full:
            warn(f"{options.outbox}: full ({OUTBOX_LIMIT >> 20} MiB); {len(fresh):,} events "
                 "taken, the rest wait for the next run")
    tell_cursor(options, seen, fresh, warn)
    if fresh:
        news.save(path, seen | fresh)


def unseen(events, seen: set):
    """(key, event) for each event not under the cursor yet, each key once."""
    given = set()
    for event in events:
        key = news.key_of(event["id"])
        if key not in seen and key not in given:
            given.add(key)
            yield key, event


def deliver(pending, options: Options, outbox: Optional[Outbox], out: Writer) -> set:
    """The keys of the events printed, taken into the outbox or (--mark-seen) only marked."""
    fresh = set()
    for key, event in pending:
        if outbox is not None:
            if not outbox.take(outbox_line(event, options)):
                break           # the rest stay new for the next run
        elif not options.mark_seen:
            emit(event, out, options)
        fresh.add(key)
    return fresh


def tell_cursor(options: Options, seen: set, fresh: set, warn: Warn) -> None:
    if options.mark_seen:
        warn(f"{len(fresh):,} events marked as seen under cursor {options.cursor}")
    elif not seen and len(fresh) > 100 and not options.outbox:
        warn(f"the first run of cursor {options.cursor} printed the whole history "
             f"({len(fresh):,} events); sb-news --mark-seen starts a cursor without it")
