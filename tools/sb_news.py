"""sb-news: the achievements feed (levels, 200M XP, total level, first jobs, rank 1), as NDJSON."""
from __future__ import annotations

import os
import sys
from typing import List, Optional, Sequence

import orjson

from slurm_scoreboard import cli

from slurm_scoreboard.history import achievements, news
from slurm_scoreboard.core.files import atomic_write, locked, makedirs, read_bytes, remove_leftovers
from slurm_scoreboard.errors import UnsafePath
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.core.ndjson import Writer
from slurm_scoreboard.boardfiles import BoardFiles
from slurm_scoreboard.history.competitions import is_day
from slurm_scoreboard import boardfiles
from slurm_scoreboard.core import layout
from slurm_scoreboard import errors

PROG = "sb-news"

EPILOG = """\
Events come from leaderboards/achievements.ndjson, which every sb-rank rebuild (every poll)
writes from the day rows of the store: each is dated to the UTC day it happened, also for a
backfilled history. By default only events not printed before under the cursor (--cursor NAME,
kept in <root>/state/news/NAME.seen) are printed, and the cursor moves once they were all
written out; --all and --since print without reading or moving it. Users on
<root>/config/optout.txt, or whose home marker a poller saw, never appear, from the moment they
opted out: their events are not printed, not added to an outbox, and those waiting in the
outbox leave it unposted (a list or cache that cannot be read stops sb-news, exit 1).

exit status: 0 done (also when nothing was new), 1 error (no achievements file yet: run sb-rank
first; a damaged cursor), 2 usage error, 3 another sb-news is using this cursor.

examples:
  sb-news --mark-seen            # once, after the backfill caught up: no history in the mail
  sb-news --format text | mail -E -s "Hiscores news" hpc-users@example.org
  SLURM_SB_WEBHOOK_URL=https://chat.example.org/hooks/xyz sb-news-post    # a chat webhook
  sb-news --since 2025-08-01 --all-scopes | jq -r 'select(.event=="rank_1")'
"""


def build_parser():
    parser = cli.make_parser(PROG, "Print new achievements (NDJSON, one event a line).", EPILOG,
                             root=True)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true",
                       help="every event of the whole history (the cursor is not used)")
    which.add_argument("--since", metavar="DAY",
                       help="every event dated DAY (YYYY-MM-DD) or later (the cursor is not used)")
    which.add_argument("--mark-seen", action="store_true",
                       help="print nothing; every event so far counts as printed")
    parser.add_argument("--cursor", default="default", metavar="NAME",
                        help="whose feed this is (one cursor per reader: mail, chat...)")
    parser.add_argument("--format", "-f", choices=("ndjson", "text"), default="ndjson",
                        help="ndjson (default) or text: one sentence an event")
    parser.add_argument("--outbox", metavar="FILE",
                        help="add the new events to FILE (atomically, before the cursor moves) "
                             "instead of printing them: what sb-news-post sends from (with "
                             "--format text each line is the event's JSON, a tab, the text)")
    parser.add_argument("--all-scopes", action="store_true",
                        help="also every cluster's own events (default: all clusters merged, "
                             "and first jobs on each cluster)")
    return parser


def check_args(args) -> None:
    if args.since is not None and not is_day(args.since):
        raise errors.UsageError(f"--since: expected a day YYYY-MM-DD, not {safe_text(args.since)}")
    cli.check_plain_names(args, "cursor")
    if args.outbox and (args.all or args.since or args.mark_seen):
        raise errors.UsageError("--outbox takes the new events under the cursor; it excludes "
                             "--all, --since and --mark-seen")


def wanted(event: dict, args) -> bool:
    if args.since is not None and event["day"] < args.since:
        return False
    return args.all_scopes or event.get("scope") == "all" or event.get("event") == "first_job"


def line_of(event: dict, args) -> bytes:
    if args.format == "text":
        return text_of(event) + b"\n"
    return orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)


def text_of(event: dict) -> bytes:
    return safe_text(achievements.describe(event)).encode()


def outbox_line(event: dict, args) -> bytes:
    """An event as the outbox keeps it: with --format text its JSON, a tab and the text (what
    sb-news-post posts), so a later run still knows whose it is."""
    if args.format == "text":
        return orjson.dumps(event) + b"\t" + text_of(event) + b"\n"
    return line_of(event, args)


def emit(event: dict, out: Writer, args) -> None:
    out.write_line(line_of(event, args))


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
    """An outbox line as it may still be posted: None when its event is of a user who opted out
    since, rewritten when it names a previous rank 1 who did; a line without an event's JSON (a
    text line of an older version) is kept as it is."""
    head, tab, _ = line.partition(b"\t")
    try:
        event = orjson.loads(head)
    except orjson.JSONDecodeError:
        return line
    if not boardfiles.is_event(event):
        return line
    shown = files.shown(event)
    if shown is None:
        return None
    if shown is event:
        return line
    if tab:
        return orjson.dumps(shown) + b"\t" + text_of(shown)
    return orjson.dumps(shown)


def open_root(args) -> str:
    """The root; a cursor is kept under it, so only its writers use one: a reader is told how to
    read the feed without one."""
    try:
        return cli.open_root(args, write=not (args.all or args.since))
    except errors.ToolError as err:
        if args.all or args.since:
            raise
        raise errors.ToolError(f"{err} (a cursor is kept under the root; to read the feed without "
                            "one: sb-news --all, or --since YYYY-MM-DD)", err.code) from None


def body(args) -> int:
    check_args(args)
    root = open_root(args)
    if not os.path.exists(layout.achievements_file(root)):
        raise errors.ToolError(f"no {layout.achievements_file(root)} yet: sb-rank --root "
                            f"{root} writes it with the boards")
    files = BoardFiles(root)
    out = Writer(sys.stdout.buffer)
    events = (event for event in files.events() if wanted(event, args))
    if args.all or args.since:
        for event in events:
            emit(event, out, args)
        return errors.EXIT_OK
    makedirs(news.folder(root))
    with locked(news.lock_file(root, args.cursor), 0):
        path = news.cursor_file(root, args.cursor)
        # what a killed run left half-written: every writer of the cursor holds its lock, and
        # the outbox is written by this cursor's runs and by sb-news-post after its sb-news
        for written in (path, args.outbox):
            if written:
                remove_leftovers(written)
        try:
            seen = news.load(path)
        except errors.CursorCorrupt as err:
            raise errors.ToolError(safe_text(str(err))) from None
        fresh = set()
        outbox = Outbox(args.outbox, files) if args.outbox else None
        for event in events:
            key = news.key_of(event["id"])
            if key in seen or key in fresh:
                continue
            if outbox is not None:
                if not outbox.take(outbox_line(event, args)):
                    break           # the rest stay new for the next run
            elif not args.mark_seen:
                emit(event, out, args)
            fresh.add(key)
        sys.stdout.buffer.flush()
        if outbox is not None:
            outbox.save()
            if outbox.full:
                cli.warn(PROG, f"{args.outbox}: full ({OUTBOX_LIMIT >> 20} MiB); "
                               f"{len(fresh):,} events taken, the rest wait for the next run")
        if args.mark_seen:
            cli.warn(PROG, f"{len(fresh):,} events marked as seen under cursor {args.cursor}")
        elif not seen and len(fresh) > 100 and not args.outbox:
            cli.warn(PROG, f"the first run of cursor {args.cursor} printed the whole history "
                           f"({len(fresh):,} events); sb-news --mark-seen starts a cursor "
                           "without it")
        if fresh:
            news.save(path, seen | fresh)
    return errors.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
