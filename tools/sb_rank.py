"""sb-rank: leaderboards for every window, metric and scope, with Old School RuneScape levels."""
from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

import orjson

from slurm_scoreboard import boardfiles, cli, errors
from slurm_scoreboard.core import layout, times, windows, xp
from slurm_scoreboard.core.files import LOCK_WAIT_ENV, lock_wait
from slurm_scoreboard.core.names import check_name
from slurm_scoreboard.core.optout import OptOut
from slurm_scoreboard.rank import efficiency, queries, rebuild, tables

PROG = "sb-rank"
WARN = cli.warner(PROG)

EPILOG = """\
modes:
  sb-rank --root R                               rebuild every board file
  sb-rank --window W --metric M [--groups] [--account A] [--cluster C]
                                                 one board's rows as NDJSON on stdout
  sb-rank --user NAME [--window W] [--cluster C] one user's personal hiscores (JSON), with
                                                 their rank inside each group and achievements
  sb-rank --compare NAME OTHER [--window W] [--cluster C]
                                                 two users side by side (JSON)
  --from-files with any of these: the board files of the last rebuild, as readers get them

windows: alltime, rolling-7d, rolling-30d, rolling-365d, month (exact to the UTC day).
skills: clock_hours, elapsed_hours, gpu_clock_hours, gpu_elapsed_hours, jobs, overall (the
total level); XP rates: <root>/config/xp.json. failed_jobs is a board apart (no XP, no level,
not in overall): jobs that ended FAILED, OUT_OF_MEMORY or TIMEOUT, not the site's NODE_FAIL,
BOOT_FAIL or PREEMPTED.
efficiency boards (jobs the daily step poll measured, see sb-reduce --usage): cpu_used_hours,
cpu_efficiency, mem_efficiency, gpu_utilization (where SLURM records gres/gpuutil); the ratio
boards list users and groups whose jobs the board measures reach --min-cpu-hours (CPU hours
allocated; GPU hours for gpu_utilization).

exit status: 0 done, 1 error (a bad config file), 2 usage error, 3 a store stayed busy
(--wait seconds; the other clusters were ranked), 4 done, but damaged store files or clusters
were left out (each is named on stderr with the command that repairs it), 5 no such user,
account or cluster on the boards.

examples:
  sb-rank --window rolling-30d --metric gpu_clock_hours | head
  sb-rank -w month -m clock_hours -f csv -o rank,user,value > month.csv
"""


def build_parser():
    parser = cli.make_parser(PROG, "Rank users and groups across clusters and windows.", EPILOG,
                             root=True, cluster=True)
    parser.add_argument("--window", "-w", choices=windows.NAMES, help="one window")
    parser.add_argument("--metric", "-m", choices=boardfiles.BOARDS + efficiency.BOARDS,
                        help="one board")
    parser.add_argument("--groups", action="store_true", help="rank SLURM accounts, not users")
    parser.add_argument("--account", "-A", help="only what members charged to this account")
    parser.add_argument("--user", "-u", help="personal hiscores of this user (JSON)")
    parser.add_argument("--compare", nargs=2, metavar=("USER", "OTHER"),
                        help="two users side by side on every skill (JSON)")
    parser.add_argument("--now", help="rank as if it were this time (default $SLURM_SB_NOW or now); the "
                        "rolling and month windows end on it, all time counts everything")
    parser.add_argument("--format", "-f", choices=tables.FORMATS, default="ndjson",
                        help="ndjson (default), csv or tsv (with a header line)")
    parser.add_argument("--columns", "-o", metavar="COL[,COL...]",
                        help="columns, as sacct -o: rank,user,value,level,virtual_level,xp "
                             "(groups: account,members; --user: metric)")
    parser.add_argument("--noheader", "-n", action="store_true",
                        help="no header line in csv or tsv")
    parser.add_argument("--if-changed", action="store_true",
                        help="rebuild only if what the boards are made of changed since the "
                             "last rebuild (or the UTC day did), and not while another rebuild "
                             "runs (what each poll asks)")
    parser.add_argument("--history-every", type=float, default=None, metavar="MINUTES",
                        help="rerun the history pass (achievements, records, competitions) "
                             "at most this often (default $SLURM_SB_HISTORY_EVERY, else 0: "
                             "every rebuild); a new UTC day or a config change reruns it")
    parser.add_argument("--min-cpu-hours", type=float, default=None, metavar="HOURS",
                        help="hours a user or group needs on the jobs an efficiency ratio board "
                             "measures to be on it: CPU hours allocated, GPU hours for "
                             "gpu_utilization (default $SLURM_SB_MIN_CPU_HOURS, "
                             "else min_cpu_hours of <root>/config/efficiency.json, else "
                             f"{efficiency.DEFAULT_MIN_CPU_HOURS:g})")
    parser.add_argument("--from-files", action="store_true",
                        help="answer from the board files the last rebuild wrote, as readers "
                             "get it (no store lock)")
    parser.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                        help="how long to wait for a store being updated (default "
                             "$SLURM_SB_LOCK_WAIT, else 60)")
    return parser


def check_args(args) -> None:
    cli.check_plain_names(args, "cluster", "user")
    if args.compare:
        check_compare_args(args)
        return
    check_shape_args(args)
    check_board_args(args)


def check_compare_args(args) -> None:
    for name in args.compare:
        cli.usage_checked(check_name, "user", name)
    if (args.user or args.metric or args.groups or args.account or args.format != "ndjson" or
            args.columns or args.if_changed):
        raise errors.UsageError("--compare shows two users on every skill as JSON; it takes "
                                "only --window, --cluster and --now")


def check_shape_args(args) -> None:
    """--cluster, --format, -o, --noheader and --if-changed against a rebuild or a query."""
    query = args.window or args.user
    if args.cluster and not query:
        raise errors.UsageError("--cluster narrows --window/--metric or --user; a rebuild writes "
                                "the boards of every cluster")
    if (args.format != "ndjson" or args.columns or args.noheader) and not query:
        raise errors.UsageError("--format, -o and --noheader shape --window/--metric or --user "
                                "output")
    if args.if_changed and (query or args.metric):
        raise errors.UsageError("--if-changed goes with a rebuild (no --window, --metric, --user)")
    if args.from_files and (not query or args.account):
        raise errors.UsageError("--from-files answers --user or --window/--metric, not --account")


def check_board_args(args) -> None:
    """--user, --window/--metric, --groups and --account together."""
    both = args.window and args.metric
    if args.user and (args.metric or args.groups or args.account):
        raise errors.UsageError("--user shows every skill; it takes only --window and --cluster")
    if not args.user and (args.window or args.metric) and not both:
        raise errors.UsageError("one board needs both --window and --metric")
    if (args.groups or args.account) and not both:
        raise errors.UsageError("--groups and --account need --window and --metric")
    if args.groups and args.account:
        raise errors.UsageError("--account narrows a user board; it excludes --groups")
    if args.account and args.metric in efficiency.BOARDS:
        raise errors.UsageError("--account narrows the usage boards, not the efficiency boards "
                                "(try --groups)")


def query_of(args) -> queries.Query:
    names = list(args.compare) if args.compare else ([args.user] if args.user else [])
    return queries.Query(args.window, args.metric, args.groups, args.account, names,
                         args.cluster, args.wait, min_cpu_hours(args))


def min_cpu_hours(args) -> Optional[float]:
    return cli.option_or_env(args.min_cpu_hours, "SLURM_SB_MIN_CPU_HOURS", None, float)


def history_seconds(args) -> float:
    minutes = cli.option_or_env(args.history_every, "SLURM_SB_HISTORY_EVERY", 0.0, float)
    if not 0 <= minutes <= 10080:
        raise errors.UsageError("--history-every: minutes from 0 to 10080 (a week)")
    return 60 * minutes


def emit(answer, args) -> None:
    shape = tables.Shape(args.format, args.columns, not args.noheader)
    tables.write_answer(answer, sys.stdout.buffer, query_of(args), shape)


def body(args) -> int:
    check_args(args)
    if args.wait is None:
        args.wait = lock_wait() if os.environ.get(LOCK_WAIT_ENV) else 60.0
    asked = bool(args.window or args.user or args.compare)
    root = cli.open_root(args, write=not asked)
    if asked and (args.from_files or not cli.may_write(root)):
        # a reader (who may not lock the store) gets the board files the last rebuild wrote
        emit(queries.from_files(root, query_of(args), WARN), args)
        return errors.EXIT_OK
    try:
        now = times.parse_moment(args.now) if args.now else times.now()
    except ValueError as err:
        raise errors.UsageError(str(err)) from None
    damage = rebuild.Damage(WARN)
    rates = xp.load_rates(layout.path(root, "xp_config"))
    optout = OptOut(root)
    if args.user or args.compare:
        emit(queries.user_pages(root, query_of(args), now, rates, optout, damage), args)
    elif args.window:
        emit(queries.board_of(root, query_of(args), now, rates, optout, damage), args)
    else:
        summary = rebuild.rebuild_once(root, rates, optout, now, damage, args.wait,
                                       args.if_changed, history_seconds(args),
                                       min_cpu_hours(args))
        sys.stdout.buffer.write(orjson.dumps(summary, option=orjson.OPT_APPEND_NEWLINE))
    return damage.exit_code()


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
