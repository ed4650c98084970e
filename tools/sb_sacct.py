"""sb-sacct: the one tool that talks to slurmdbd. Rate-limited, time-limited sacct -P output."""
from __future__ import annotations

import os
import shlex
import sys
from datetime import timedelta
from typing import Optional, Sequence

from slurm_scoreboard import cli, errors
from slurm_scoreboard.core import layout, times
from slurm_scoreboard.core.names import check_name
from slurm_scoreboard.errors import RateLimited
from slurm_scoreboard.ingest import sacct
from slurm_scoreboard.ingest.ratelimit import RateLimiter

PROG = "sb-sacct"

EPILOG = """\
window: --month YYYY-MM, or --since/--until (YYYY-MM-DD[THH:MM[:SS]], UTC); by default today
since 00:00 UTC. Jobs are selected by the time they ended (--all-states: any job active in the
window). The window is half-open: [since, until).

before a cluster's first call (no call log for it yet), sacctmgr is asked which clusters
slurmdbd knows: a name it does not know is a usage error (exit 2) and creates nothing; when
sacctmgr is missing, fails or names none, the call goes on.

exit status: 0 success, 1 sacct failed, 2 usage error (also: a --cluster slurmdbd does not
know), 3 rate limit reached with --no-wait, 4 sacct not found, 5 sacct timed out (killed).

example:
  sb-sacct --root "$SLURM_SB_ROOT" --cluster hammer --month 2025-08 --chunk week | sb-parse
"""


def build_parser():
    parser = cli.make_parser(PROG, "Fetch accounting records with sacct, gently: allocations "
                             "only, rate-limited per cluster, with a timeout.", EPILOG,
                             root=True, cluster=True)
    parser.add_argument("--since", "-S", help="start of the window (inclusive)")
    parser.add_argument("--until", "-E", help="end of the window (exclusive; default now)")
    parser.add_argument("--month", help="the whole month YYYY-MM")
    parser.add_argument("--chunk", choices=sacct.CHUNKS, default="none",
                        help="split the window into one sacct call per day, week or month")
    parser.add_argument("--user", "-u", metavar="NAME[,NAME...]",
                        help="only these users' jobs (at most 200 names)")
    parser.add_argument("--steps", action="store_true",
                        help="also fetch step lines (MaxRSS, TotalCPU, GPU utilisation: the "
                             "daily step poll's efficiency data); heavier for slurmdbd")
    parser.add_argument("--all-states", action="store_true",
                        help="jobs in any state during the window, not only those that ended")
    parser.add_argument("--max-calls-per-minute", type=int, default=None, metavar="N",
                        help="rate limit per cluster (default $SLURM_SB_SACCT_PER_MIN or 2)")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit 3 instead of waiting when the rate limit is reached")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="kill a sacct call after this long (default "
                             "$SLURM_SB_SACCT_TIMEOUT or 300)")
    parser.add_argument("--dry-run", action="store_true", help="print the sacct command(s) only")
    return parser


def resolve_window(args):
    try:
        if args.month:
            if args.since or args.until:
                raise errors.UsageError("--month excludes --since/--until")
            since = times.parse_month(args.month)
            return since, times.next_month(since)
        until = times.parse_moment(args.until) if args.until else times.now()
        if args.since:
            since = times.parse_moment(args.since)
        else:
            since = until.replace(hour=0, minute=0, second=0, microsecond=0)
            if since == until:
                since -= timedelta(days=1)
    except ValueError as err:
        raise errors.UsageError(str(err)) from None
    if since >= until:
        raise errors.UsageError("empty window: --since must be before --until")
    return since, until


def calls_per_minute(args) -> int:
    value = cli.option_or_env(args.max_calls_per_minute, "SLURM_SB_SACCT_PER_MIN", 2, int)
    if value < 1:
        raise errors.UsageError("the rate limit must allow at least one call a minute")
    return value


def timeout_seconds(args) -> float:
    value = cli.option_or_env(args.timeout, "SLURM_SB_SACCT_TIMEOUT", 300.0, float)
    if value <= 0:
        raise errors.UsageError("--timeout must be positive")
    return value


def check_users(text: Optional[str]) -> None:
    if text is None:
        return
    names = text.split(",")
    if len(names) > 200:
        raise errors.UsageError("--user takes at most 200 names a call")
    for name in names:
        try:
            check_name("user", name)
        except ValueError as err:
            raise errors.UsageError(str(err)) from None


def check_first_use(cluster: str) -> None:
    """Before a cluster's first call (no call log for it yet), a name slurmdbd does not know is
    a usage error, and nothing is created for it (a typo would otherwise fetch nothing, and
    look healthy)."""
    try:
        sacct.check_cluster_known(cluster)
    except errors.UnknownCluster as err:
        raise errors.UsageError(str(err)) from None


def body(args) -> int:
    cli.check_plain_names(args, "cluster")
    check_users(args.user)
    timeout = timeout_seconds(args)
    windows = list(sacct.split_window(*resolve_window(args), args.chunk))
    commands = [sacct.build_command(w, args.steps, args.user, args.cluster, args.all_states)
                for w in windows]
    if args.dry_run:
        for command in commands:
            sys.stdout.write("TZ=UTC SLURM_TIME_FORMAT=%s " + shlex.join(command) + "\n")
        return errors.EXIT_OK
    root = cli.open_root(args, write=True) if args.root else layout.default_state_root()
    rate_file = layout.sacct_rate_file(root, args.cluster)
    if args.cluster and not os.path.lexists(rate_file):
        check_first_use(args.cluster)
    limiter = RateLimiter(rate_file, calls_per_minute(args))
    out = sys.stdout.buffer
    for command in commands:
        try:
            limiter.acquire(wait=not args.no_wait, on_wait=lambda s: s >= 1 and cli.warn(
                PROG, f"rate limit: waiting {s:.0f} s"))
            sacct.run_to(command, out, timeout)
        except RateLimited as err:
            raise errors.ToolError(str(err), errors.EXIT_LOCKED) from None
        except errors.SacctMissing as err:
            raise errors.ToolError(str(err), errors.EXIT_NO_SACCT) from None
        except errors.SacctTimeout as err:
            raise errors.ToolError(str(err), errors.EXIT_TIMEOUT) from None
        except errors.SacctFailed as err:
            raise errors.ToolError(str(err), errors.EXIT_ERROR) from None
        out.flush()
    return errors.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
