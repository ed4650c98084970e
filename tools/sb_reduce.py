"""sb-reduce: count new ended jobs into monthly rollups and per-user totals, crash-safely."""
from __future__ import annotations

import sys
from collections import Counter
from contextlib import ExitStack
from typing import Optional, Sequence

import orjson

from slurm_scoreboard import cli, layout, times
from slurm_scoreboard.bloom import BloomCorrupt
from slurm_scoreboard.files import LockBusy, locked
from slurm_scoreboard.journal import JournalCorrupt
from slurm_scoreboard.names import safe_text
from slurm_scoreboard.ndjson import read
from slurm_scoreboard.optout import OptOut
from slurm_scoreboard.records import SkipRecord, placement
from slurm_scoreboard.reducer import Reducer
from slurm_scoreboard.store import StoreCorrupt

PROG = "sb-reduce"

EPILOG = """\
stats on stdout: {"processed", "new_jobs", "months_changed", "users_changed", "skipped"}.
Rerunning with the same input gives new_jobs=0 and changes nothing.

exit status: 0 done, 1 error (corrupt store file, unreadable input), 2 usage error,
3 another sb-reduce is writing this cluster.

example:
  sb-parse --stdin < raw.txt | sb-reduce --cluster hammer --root "$SLURM_SB_ROOT" \\
      --since 2025-08-01 --until 2025-09-01 --stdin
"""


def build_parser():
    parser = cli.make_parser(PROG, "Add new ended jobs to the cluster's monthly rollups, "
                             "per-user totals and Bloom files, as one crash-safe update.",
                             EPILOG, root=True, cluster=True)
    parser.add_argument("--stdin", action="store_true", help="read stdin (the default)")
    parser.add_argument("--since", help="only count jobs that ended at or after this time")
    parser.add_argument("--until", help="only count jobs that ended before this time")
    parser.add_argument("--quiet", "-q", action="store_true", help="do not report skipped records")
    return parser


def window_bound(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    try:
        return times.to_iso(times.parse_moment(text))
    except ValueError as err:
        raise cli.UsageError(str(err)) from None


class Run:
    """One sb-reduce run: the lock, the reducer, and what it saw."""

    def __init__(self, args, root: str):
        self.args = args
        self.root = root
        self.since = window_bound(args.since)
        self.until = window_bound(args.until)
        self.optout = OptOut(root)
        self.counts: Counter = Counter()
        self.skipped: Counter = Counter()
        self.reducer: Optional[Reducer] = None
        self.held = ExitStack()

    def warn(self, where: str, message: str) -> None:
        if not self.args.quiet:
            cli.warn(PROG, f"{where}: {safe_text(message)}")

    def open(self, cluster: str) -> Reducer:
        """Take the cluster's lock (exit 3 if held) and finish any interrupted update."""
        try:
            self.held.enter_context(locked(layout.reduce_lock(self.root, cluster), wait=False))
        except LockBusy:
            raise cli.ToolError(f"another sb-reduce is writing cluster {cluster}",
                                cli.EXIT_LOCKED) from None
        reducer = Reducer(self.root, cluster, self.optout, self.since, self.until)
        note = reducer.recover()
        if note:
            cli.warn(PROG, f"cluster {cluster}: {note}")
        return reducer

    def feed(self, lineno: int, record) -> None:
        self.counts["processed"] += 1
        try:
            cluster_flag = self.args.cluster or (self.reducer.cluster if self.reducer else None)
            place = placement(record, cluster_flag)
            if self.reducer is None:
                self.reducer = self.open(place.cluster)
            if not self.reducer.add(record, place):
                self.counts["duplicates"] += 1
        except SkipRecord as err:
            self.skipped[err.reason] += 1
            if err.reason not in ("not ended", "opted out", "outside window"):
                self.warn(f"stdin:{lineno}", str(err))

    def finish(self) -> dict:
        reducer = self.reducer
        if reducer is not None and reducer.new_jobs:
            reducer.commit(times.to_iso(times.now()))
        return {
            "processed": self.counts["processed"],
            "new_jobs": reducer.new_jobs if reducer else 0,
            "months_changed": sorted(reducer.months) if reducer else [],
            "users_changed": reducer.changed_users() if reducer else [],
            "duplicates": self.counts["duplicates"],
            "skipped": dict(sorted(self.skipped.items())),
        }

    def close(self) -> None:
        self.held.close()


def body(args) -> int:
    root = cli.require_root(args)
    cli.check_plain_names(args, "cluster")
    cli.refuse_terminal_stdin(sys.stdin)
    run = Run(args, root)
    try:
        if args.cluster:
            run.reducer = run.open(args.cluster)

        def bad_line(source: str, lineno: int, message: str) -> None:
            run.skipped["bad line"] += 1
            run.warn(f"{source}:{lineno}", message)

        for lineno, record in read(sys.stdin.buffer, "stdin", bad_line):
            run.feed(lineno, record)
        stats = run.finish()
    except (BloomCorrupt, StoreCorrupt, JournalCorrupt) as err:
        raise cli.ToolError(f"{err}; nothing was written") from None
    finally:
        run.close()
    sys.stdout.buffer.write(orjson.dumps(stats, option=orjson.OPT_APPEND_NEWLINE))
    return cli.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
