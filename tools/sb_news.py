"""sb-news: the achievements feed (levels, 200M XP, total level, first jobs, rank 1), as NDJSON."""
from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

from slurm_scoreboard import cli, errors
from slurm_scoreboard.core import layout
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.history import feed
from slurm_scoreboard.history.competitions import is_day

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
    feed.run(root, feed.Options(args.cursor, args.format, args.all, args.since,
                                args.mark_seen, args.outbox, args.all_scopes),
             sys.stdout.buffer, cli.warner(PROG))
    return errors.EXIT_OK

def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
