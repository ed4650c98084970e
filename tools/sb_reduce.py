"""sb-reduce: count new ended jobs into monthly rollups and per-user totals, crash-safely."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

import orjson

from slurm_scoreboard import cli, errors
from slurm_scoreboard.core import times
from slurm_scoreboard.core.names import check_name, safe_text
from slurm_scoreboard.store import runs
from slurm_scoreboard.store.store import ended_months

PROG = "sb-reduce"

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
                             EPILOG, root=True, cluster=True, stream=("stdin", "quiet"))
    parser.add_argument("--since", help="only count jobs that ended at or after this time")
    parser.add_argument("--until", help="only count jobs that ended before this time")
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
    repairs.add_argument("--summarize", action="store_true",
                         help="read sb-reduce's own stats lines on stdin (of one run or many) "
                              "and print their sum as one line of words: new_jobs N users N "
                              "no_account N measured N days N (no store is read)")
    parser.add_argument("--allow-fewer", action="store_true",
                        help="with --replace-month: replace the month even when the input holds "
                             "fewer of its jobs than it counted (they are lost)")
    repairs.add_argument("--replace-users", metavar="NAME[,NAME...]",
                         help="the input is the whole history of these users: what was stored "
                              "of them is replaced (discovery)")
    return parser


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
        cli.usage_checked(times.parse_month, args.keep_old_rule)
    for name in args.replace_users.split(",") if args.replace_users else ():
        cli.usage_checked(check_name, "user", name)
    if args.replace_month:
        set_month_window(args)


def set_month_window(args) -> None:
    """--replace-month's window: the month, whole."""
    if args.since or args.until:
        raise errors.UsageError("--replace-month sets the window itself; drop --since/--until")
    start = cli.usage_checked(times.parse_month, args.replace_month)
    args.since, args.until = times.to_iso(start), times.to_iso(times.next_month(start))


def options_of(args) -> runs.Options:
    return runs.Options(args.cluster, args.since, args.until, args.quiet, args.usage,
                        args.replace_month,
                        args.replace_users.split(",") if args.replace_users else (),
                        args.allow_fewer)


def warn(message: str) -> None:
    cli.warn(PROG, safe_text(message))


def emit(document) -> None:
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE))


def body(args) -> int:
    if args.summarize:
        sys.stdout.write(runs.summary_line(runs.summarize(sys.stdin.buffer)))
        return errors.EXIT_OK
    cli.check_plain_names(args, "cluster")
    check_repair_args(args)
    root = cli.open_root(args, write=True)
    try:
        if args.repair:
            emit(runs.repair(root, args.cluster, warn))
        elif args.old_rule_months:
            sys.stdout.buffer.write("".join(m + "\n" for m in ended_months(root, args.cluster))
                                    .encode())
        elif args.keep_old_rule:
            runs.keep(root, args.cluster, args.keep_old_rule, warn)
        else:
            cli.refuse_terminal_stdin(sys.stdin)
            emit(runs.reduce_stream(root, options_of(args), sys.stdin.buffer, warn))
        return errors.EXIT_OK
    except errors.FewerJobs as err:
        raise errors.FewerJobs(f"{err} (sb-backfill --redo-month M --allow-fewer replaces it "
                               "anyway)") from None
    except (errors.BloomCorrupt, errors.StoreCorrupt, errors.JournalCorrupt,
            errors.TotalsOverflow) as err:
        raise errors.ToolError(f"{err}; nothing was written ({runs.remedy_of(err)})") from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
