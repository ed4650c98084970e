"""sb-news: the achievements feed (levels, 200M XP, total level, first jobs, rank 1), as NDJSON."""
from __future__ import annotations

import os
import sys
from typing import List, Optional, Sequence

import orjson

from slurm_scoreboard import achievements, chronicle, cli, news
from slurm_scoreboard.files import UnsafePath, atomic_write, locked, makedirs, read_bytes
from slurm_scoreboard.names import safe_text
from slurm_scoreboard.ndjson import Writer
from slurm_scoreboard.optout import OptOut
from slurm_scoreboard.competitions import is_day

PROG = "sb-news"

EPILOG = """\
Events come from leaderboards/achievements.ndjson, which every sb-rank rebuild (every poll)
writes from the day rows of the store: each is dated to the UTC day it happened, also for a
backfilled history. By default only events not printed before under the cursor (--cursor NAME,
kept in <root>/state/news/NAME.seen) are printed, and the cursor moves once they were all
written out; --all and --since print without reading or moving it. Opted-out users never
appear.

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
                             "instead of printing them: what sb-news-post sends from")
    parser.add_argument("--all-scopes", action="store_true",
                        help="also every cluster's own events (default: all clusters merged, "
                             "and first jobs on each cluster)")
    return parser


def check_args(args) -> None:
    if args.since is not None and not is_day(args.since):
        raise cli.UsageError(f"--since: expected a day YYYY-MM-DD, not {safe_text(args.since)}")
    cli.check_plain_names(args, "cursor")
    if args.outbox and (args.all or args.since or args.mark_seen):
        raise cli.UsageError("--outbox takes the new events under the cursor; it excludes "
                             "--all, --since and --mark-seen")


def wanted(event: dict, args, optout: OptOut) -> bool:
    if event.get("kind") == "users" and event.get("user") in optout:
        return False
    if args.since is not None and event["day"] < args.since:
        return False
    return args.all_scopes or event.get("scope") == "all" or event.get("event") == "first_job"


def line_of(event: dict, args) -> bytes:
    if args.format == "text":
        return safe_text(achievements.describe(event)).encode() + b"\n"
    return orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)


def emit(event: dict, out: Writer, args) -> None:
    out.write_line(line_of(event, args))


OUTBOX_LIMIT = 8 << 20     # bytes: sb-news-post reads it whole; more means no one posts them


class Outbox:
    """What is waiting in an outbox file, and the room left in it for new events."""

    def __init__(self, path: str):
        self.path = path
        try:
            self.before = read_bytes(path, OUTBOX_LIMIT)
        except FileNotFoundError:
            self.before = b""
        except (OSError, UnsafePath, ValueError) as err:
            raise cli.ToolError(safe_text(f"{path}: {err}")) from None
        if self.before and not self.before.endswith(b"\n"):
            self.before += b"\n"
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
        if self.added:
            atomic_write(self.path, self.before + b"".join(self.added))


def body(args) -> int:
    check_args(args)
    root = cli.open_root(args, write=not (args.all or args.since))
    if not os.path.exists(chronicle.achievements_file(root)):
        raise cli.ToolError(f"no {chronicle.achievements_file(root)} yet: sb-rank --root "
                            f"{root} writes it with the boards")
    optout = OptOut(root)
    out = Writer(sys.stdout.buffer)
    events = (chronicle.scrub(event, optout) for event in chronicle.read_events(root)
              if wanted(event, args, optout))
    if args.all or args.since:
        for event in events:
            emit(event, out, args)
        return cli.EXIT_OK
    makedirs(news.folder(root))
    with locked(news.lock_file(root, args.cursor), 0):
        path = news.cursor_file(root, args.cursor)
        try:
            seen = news.load(path)
        except news.CursorCorrupt as err:
            raise cli.ToolError(safe_text(str(err))) from None
        fresh = set()
        outbox = Outbox(args.outbox) if args.outbox else None
        for event in events:
            key = news.key_of(event["id"])
            if key in seen or key in fresh:
                continue
            if outbox is not None:
                if not outbox.take(line_of(event, args)):
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
    return cli.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
