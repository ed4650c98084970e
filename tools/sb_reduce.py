"""sb-reduce: count new ended jobs into monthly rollups and per-user totals, crash-safely."""
from __future__ import annotations

import os
import sys
from collections import Counter
from contextlib import ExitStack, contextmanager
from typing import Dict, List, Optional, Sequence

import orjson

from slurm_scoreboard import cli

from slurm_scoreboard.core import layout, times

from slurm_scoreboard.errors import BloomCorrupt
from slurm_scoreboard.core.files import locked
from slurm_scoreboard.errors import LockBusy, UnsafePath
from slurm_scoreboard.errors import JournalCorrupt
from slurm_scoreboard.core.names import check_name, safe_text
from slurm_scoreboard.core.ndjson import read
from slurm_scoreboard.core.optout import OptOut
from slurm_scoreboard.ingest.records import check, latest_time, placement
from slurm_scoreboard.errors import SkipRecord
from slurm_scoreboard.store.reducer import Reducer, finish_interrupted, keep_old_rule
from slurm_scoreboard.errors import FewerJobs
from slurm_scoreboard.store.reducer import repair as reducer_repair
from slurm_scoreboard.store.repair import remedy
from slurm_scoreboard.store.store import ended_months
from slurm_scoreboard.errors import StoreCorrupt, TotalsOverflow
from slurm_scoreboard.store.usage import UsageWriter, entry_of, erase_users
from slurm_scoreboard import errors

PROG = "sb-reduce"
EXIT_FEWER = 6

EPILOG = """\
stats on stdout: {"processed", "new_jobs", "no_account", "months_changed", "users_changed",
"duplicates", "skipped", "users_erased"}. no_account: how many of the new jobs had no SLURM
account (they count for their users, in no group). Rerunning with the same input gives
new_jobs=0 and changes nothing.

measured usage (--usage): the daily step poll's records (sb-sacct --steps | sb-parse) keep,
per ended job with cpu_used_s, its CPU time used, peak MaxRSS and GPU utilisation in
clusters/<c>/agg/usage/YYYY-MM-DD.json, for sb-rank's efficiency boards; totals and Bloom files
are not touched (those jobs were counted by the allocation polls). Stats: {"processed",
"measured", "new_measured", "days_changed", "days_not_written", "skipped"}. A job read again
replaces its entry; only users the store counts are measured.

usage is counted on the days it happened: a job's CPU-core, wall and GPU seconds are spread
over the UTC days it ran (each month's rollup holds its share), its counts (jobs, failed jobs)
go to the day it ended. A store written before 0.3 counted everything on the end day;
--old-rule-months lists the months still on that rule, sb-backfill --resplit fetches them again;
--keep-old-rule M records a month that cannot be fetched again (slurmdbd purged it).

repairs (see sb-reduce(1), RECOVERY):
  --repair               recompute every user file and alltime.json from the monthly rollups
  --replace-month M      make the input the whole of month M (its rollup and Bloom file start
                         empty), then recompute the derived files; sb-backfill --redo-month M
                         fetches the month and runs this; refused (exit 6, nothing written)
                         when the input holds fewer of the month's jobs than it counted
                         (slurmdbd purged them?), unless --allow-fewer

exit status: 0 done, 1 error (a damaged store file, named with the command that repairs it;
unreadable input), 2 usage error, 3 another sb-reduce is writing this cluster, 6 a replaced
month came back with fewer jobs than it counted: nothing replaced.

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
    repairs = parser.add_mutually_exclusive_group()
    repairs.add_argument("--usage", action="store_true",
                         help="keep what the jobs used (step poll records) for the efficiency "
                              "boards, instead of counting them")
    repairs.add_argument("--repair", action="store_true",
                         help="rebuild the user files and alltime.json from the rollups "
                              "(no input)")
    repairs.add_argument("--replace-month", metavar="YYYY-MM",
                         help="the input replaces this month entirely")
    repairs.add_argument("--keep-old-rule", metavar="YYYY-MM",
                         help="record that this month stays counted on the day its jobs ended "
                              "(it cannot be fetched again): --old-rule-months and sb-rank stop "
                              "naming it (no input)")
    repairs.add_argument("--old-rule-months", action="store_true",
                         help="print the months whose usage the store still counts on the day "
                              "their jobs ended (the rule before 0.3), one a line (no input)")
    parser.add_argument("--allow-fewer", action="store_true",
                        help="with --replace-month: replace the month even when the input holds "
                             "fewer of its jobs than it counted (they are lost)")
    repairs.add_argument("--replace-users", metavar="NAME[,NAME...]",
                         help="the input is the whole history of these users: what was stored "
                              "of them is replaced (discovery)")
    return parser


def window_bound(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    try:
        return times.to_iso(times.parse_moment(text))
    except ValueError as err:
        raise errors.UsageError(str(err)) from None


class Run:
    """One sb-reduce run: the lock, the reducer, and what it saw."""

    def __init__(self, args, root: str):
        self.args = args
        self.root = root
        self.since = window_bound(args.since)
        self.until = window_bound(args.until)
        self.optout: Optional[OptOut] = None
        self.latest = latest_time(times.now())
        self.counts: Counter = Counter()
        self.skipped: Counter = Counter()
        self.reducer: Optional[Reducer] = None
        self.held = ExitStack()

    def warn(self, where: str, message: str) -> None:
        if not self.args.quiet:
            cli.warn(PROG, f"{where}: {safe_text(message)}")

    def take_lock(self, cluster: str) -> None:
        """The cluster's writer lock for the whole run; exit 3 when another holds it."""
        self.held.enter_context(writer_lock(self.root, cluster))

    def open(self, cluster: str) -> Reducer:
        """Take the cluster's lock (exit 3 if held) and finish any interrupted update."""
        self.take_lock(cluster)
        self.optout = OptOut(self.root, cluster, check_homes=True)
        reducer = Reducer(self.root, cluster, self.optout, self.since, self.until,
                          self.args.replace_month, self.replace_users(), self.args.allow_fewer)
        note = reducer.recover()
        if note:
            cli.warn(PROG, f"cluster {cluster}: {note}")
        return reducer

    def replace_users(self) -> List[str]:
        return self.args.replace_users.split(",") if self.args.replace_users else []

    # skip reasons counted in the stats but not reported line by line
    QUIET = ("not ended", "opted out", "outside window")

    def feed(self, lineno: int, record) -> None:
        self.counts["processed"] += 1
        try:
            check(record, self.latest)
            if not record["terminal"]:
                raise SkipRecord("not ended")
            cluster_flag = self.args.cluster or (self.reducer.cluster if self.reducer else None)
            self.take(record, placement(record, cluster_flag))
        except SkipRecord as err:
            self.skipped[err.reason] += 1
            if err.reason not in self.QUIET:
                self.warn(f"stdin:{lineno}", str(err))

    def take(self, record: dict, place) -> None:
        """Count one checked, ended record (SkipRecord when it is not counted)."""
        if self.reducer is None:
            self.reducer = self.open(place.cluster)
        if not self.reducer.add(record, place):
            self.counts["duplicates"] += 1

    def finish(self) -> dict:
        reducer = self.reducer
        erased: List[str] = []
        if reducer is not None:
            erased = reducer.find_opted_out()
            # their measured jobs first: should the run stop between the two, the next one
            # still finds them stored and erases again
            try:
                erase_users(self.root, reducer.cluster, erased, times.to_iso(times.now()))
            except (UnsafePath, OSError) as err:
                cli.warn(PROG, f"{safe_text(str(err))}: the measured jobs of users who opted out "
                               "cannot be erased there; remove what stands in its place")
            if reducer.needs_commit():
                reducer.commit(times.to_iso(times.now()))
            self.optout.save()
            self.tell_unreadable_homes()
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

    def tell_unreadable_homes(self) -> None:
        """Once a day per user (when their home is looked at): a home the poller may not read
        hides an opt-out marker, so say whose, and what works instead."""
        users = self.optout.unreadable_homes()
        if users:
            shown = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10
                                             else "")
            cli.warn(PROG, f"cannot look into the homes of {len(users)} users ({shown}): an "
                           "opt-out marker there is not seen; <root>/config/optout.txt works "
                           "for everyone")

    def close(self) -> None:
        self.held.close()


class UsageRun(Run):
    """sb-reduce --usage: measured jobs into the usage files (usage.py), nothing counted."""

    def __init__(self, args, root: str):
        super().__init__(args, root)
        self.known: Dict[str, bool] = {}

    def open(self, cluster: str):
        self.take_lock(cluster)
        # as a counting run does: the users an interrupted update adds are counted, and what a
        # killed run (this one's usage files too) left half-written is removed
        note = finish_interrupted(self.root, check_name("cluster", cluster))
        if note:
            cli.warn(PROG, f"cluster {cluster}: {note}")
        self.optout = OptOut(self.root, cluster, check_homes=True)
        # a month's other users are dropped by the list and the pollers' cache: no home is
        # looked into for them
        listed = OptOut(self.root)
        return UsageWriter(self.root, check_name("cluster", cluster), times.to_iso(times.now()),
                           lambda user: user in listed,
                           lambda text: cli.warn(PROG, safe_text(text)))

    def counted(self, user: str) -> bool:
        """Whether the store counts `user` on this cluster: only such users are measured, so
        that erasing a user who opted out (which looks at the counted ones) reaches all."""
        known = self.known.get(user)
        if known is None:
            known = self.known[user] = os.path.lexists(
                layout.user_file(self.root, self.reducer.cluster, user))
        return known

    QUIET = Run.QUIET + ("not measured", "not counted")

    def take(self, record: dict, place) -> None:
        """Keep the measure of one checked, ended record (SkipRecord when it is not kept)."""
        if self.since and record["end"] < self.since or \
                self.until and record["end"] >= self.until:
            raise SkipRecord("outside window")
        try:
            check_name("user", record["user"])
        except ValueError as err:
            raise SkipRecord("bad user name", str(err)) from None
        if self.reducer is None:
            self.reducer = self.open(place.cluster)
        if record["user"] in self.optout:
            raise SkipRecord("opted out")
        entry = entry_of(record, place)
        if entry is None:
            raise SkipRecord("not measured")
        if not self.counted(record["user"]):
            raise SkipRecord("not counted")
        self.reducer.add(place.key, place.day, entry)
        self.counts["measured"] += 1

    def finish(self) -> dict:
        added = self.reducer.commit() if self.reducer is not None else {}
        if self.optout is not None:
            self.optout.save()
        unwritten = self.reducer.unwritten if self.reducer is not None else []
        return {"processed": self.counts["processed"], "measured": self.counts["measured"],
                "new_measured": sum(added.values()), "days_changed": sorted(added),
                "days_not_written": unwritten, "skipped": dict(sorted(self.skipped.items()))}


def check_repair_args(args) -> None:
    no_input = args.repair or args.old_rule_months or args.keep_old_rule
    if no_input and (args.since or args.until):
        raise errors.UsageError("--repair, --old-rule-months and --keep-old-rule read no input: "
                             "they take no --since or --until")
    if (no_input or args.replace_month or args.replace_users) and not args.cluster:
        raise errors.UsageError("--repair, --replace-month, --replace-users, --old-rule-months and "
                             "--keep-old-rule need --cluster")
    if args.allow_fewer and not args.replace_month:
        raise errors.UsageError("--allow-fewer goes with --replace-month")
    if args.keep_old_rule:
        try:
            times.parse_month(args.keep_old_rule)
        except ValueError as err:
            raise errors.UsageError(str(err)) from None
    for name in (args.replace_users or "").split(",") if args.replace_users else ():
        try:
            check_name("user", name)
        except ValueError as err:
            raise errors.UsageError(str(err)) from None
    if args.replace_month:
        if args.since or args.until:
            raise errors.UsageError("--replace-month sets the window itself; drop --since/--until")
        try:
            start = times.parse_month(args.replace_month)
        except ValueError as err:
            raise errors.UsageError(str(err)) from None
        args.since, args.until = times.to_iso(start), times.to_iso(times.next_month(start))


@contextmanager
def writer_lock(root: str, cluster: str):
    """The cluster's writer lock; exit 3 when another sb-reduce holds it."""
    try:
        with locked(layout.reduce_lock(root, cluster), timeout=0):
            yield
    except LockBusy:
        raise errors.ToolError(f"another sb-reduce is writing cluster {cluster}",
                            errors.EXIT_LOCKED) from None


def keep(args, root: str) -> int:
    with writer_lock(root, args.cluster):
        kept = keep_old_rule(root, args.cluster, args.keep_old_rule, times.to_iso(times.now()))
    if not kept:
        cli.warn(PROG, f"cluster {args.cluster}: {args.keep_old_rule} is not among the months "
                       "to fetch again; nothing changed")
    return errors.EXIT_OK


def repair(args, root: str) -> int:
    with writer_lock(root, args.cluster):
        result = reducer_repair(root, args.cluster, times.to_iso(times.now()))
    if result["recovered"]:
        cli.warn(PROG, f"cluster {args.cluster}: {safe_text(result['recovered'])}")
    for path in result["ignored"]:
        cli.warn(PROG, f"{safe_text(path)}: not a month; left out of the totals")
    sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE))
    return errors.EXIT_OK


def body(args) -> int:
    cli.check_plain_names(args, "cluster")
    check_repair_args(args)
    root = cli.open_root(args, write=True)
    try:
        if args.repair:
            return repair(args, root)
        if args.old_rule_months:
            months = ended_months(root, args.cluster)
            sys.stdout.buffer.write("".join(month + "\n" for month in months).encode())
            return errors.EXIT_OK
        if args.keep_old_rule:
            return keep(args, root)
        cli.refuse_terminal_stdin(sys.stdin)
        return reduce_input(args, root)
    except FewerJobs as err:
        raise errors.ToolError(f"{err} (sb-backfill --redo-month M --allow-fewer replaces it "
                            "anyway)", EXIT_FEWER) from None
    except (BloomCorrupt, StoreCorrupt, JournalCorrupt, TotalsOverflow) as err:
        raise errors.ToolError(f"{safe_text(str(err))}; nothing was written "
                            f"({remedy_of(err)})") from None


def remedy_of(err: Exception) -> str:
    if isinstance(err, TotalsOverflow):
        return "the input holds impossible numbers; check where it came from"
    if isinstance(err, JournalCorrupt):
        return "sb-reduce --repair discards it and rebuilds the totals; see RECOVERY in sb-reduce(1)"
    path = str(err).split(": ", 1)[0]
    return remedy(path)


def reduce_input(args, root: str) -> int:
    run = UsageRun(args, root) if args.usage else Run(args, root)
    try:
        if args.cluster:
            run.reducer = run.open(args.cluster)

        def bad_line(source: str, lineno: int, message: str) -> None:
            run.skipped["bad line"] += 1
            run.warn(f"{source}:{lineno}", message)

        for lineno, record in read(sys.stdin.buffer, "stdin", bad_line):
            run.feed(lineno, record)
        stats = run.finish()
    finally:
        run.close()
    sys.stdout.buffer.write(orjson.dumps(stats, option=orjson.OPT_APPEND_NEWLINE))
    return errors.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
