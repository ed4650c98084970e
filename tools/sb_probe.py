"""sb-probe: is this machine and account ready to run the scoreboard?"""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from slurm_scoreboard import cli, probe

PROG = "sb-probe"

EPILOG = """\
exit status: 0 all required checks passed, 2 sacct missing, 3 root not writable,
4 other failure (squeue missing, sacct -a unusable or hiding other users' jobs).

example:
  sb-probe --root /depot/scoreboard
"""


def build_parser():
    parser = cli.make_parser(PROG, "Check the environment: root folder (created if missing), "
                             "SLURM commands, job visibility, GPU accounting.", EPILOG,
                             root=True, cluster=True)
    parser.add_argument("--max-calls-per-minute", type=int, default=2, metavar="N",
                        help="the sacct rate limit to report (default 2)")
    return parser


def body(args) -> int:
    root = cli.require_root(args)
    cli.check_plain_names(args, "cluster")
    lines, code = probe.report(root, args.max_calls_per_minute, args.cluster)
    sys.stdout.write("\n".join(lines) + "\n")
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
