"""sb-dedupe: pass on only the ended jobs not seen before (Bloom files per cluster and month)."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from slurm_scoreboard import cli, errors
from slurm_scoreboard.core import layout, times
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.core.ndjson import BatchWriter, Writer
from slurm_scoreboard.store.dedupe import Dedupe, bloom_stats

PROG = "sb-dedupe"

EPILOG = """\
records of jobs that have not ended (RUNNING, PENDING, REQUEUED...) are held back: a job counts
once, when it has ended. sb-dedupe only reads the Bloom files; sb-reduce writes them.

exit status: 0 done, 1 a corrupt Bloom file (it stops there) or unreadable input,
2 usage error.

example:
  sb-parse < raw.txt | sb-dedupe --cluster hammer --root "$SLURM_SB_ROOT" | sb-reduce ...
"""


def build_parser():
    parser = cli.make_parser(PROG, "Drop job records already counted, and jobs that have not "
                             "ended.", EPILOG, root=True, cluster=True,
                             stream=("stdin", "quiet", "brief", "unbuffered"))
    parser.add_argument("--stats", action="store_true",
                        help="print each Bloom file's capacity, fill and false-positive rate "
                             "(NDJSON) instead of filtering")
    return parser


def print_stats(root: str, cluster: Optional[str]) -> int:
    """One JSON object per Bloom file; a damaged one is named on stderr (exit 1 at the end)."""
    damaged = []

    def tell_damaged(name: str, month: str, error: str) -> None:
        damaged.append(month)
        cli.warn(PROG, f"{safe_text(error)}; sb-backfill --cluster {name} "
                       f"--redo-month {safe_text(month)} rebuilds it")

    out = Writer(sys.stdout.buffer)
    for entry in bloom_stats(root, [cluster] if cluster else layout.clusters(root), tell_damaged):
        out.write(entry)
    return errors.EXIT_ERROR if damaged else errors.EXIT_OK


def body(args) -> int:
    cli.check_plain_names(args, "cluster")
    root = cli.open_root(args)
    if args.stats:
        return print_stats(root, args.cluster)
    cli.refuse_terminal_stdin(sys.stdin)
    first = []

    def tell(text: str) -> None:
        if args.brief or args.quiet:
            first[:] = first or [text]
        else:
            cli.warn(PROG, text)

    dedupe = Dedupe(root, args.cluster, times.now(), tell)
    out = BatchWriter(sys.stdout.buffer, args.unbuffered)
    try:
        dedupe.run(sys.stdin.buffer, out)
    finally:
        out.flush()
    if args.brief and first and not args.quiet:
        cli.warn(PROG, f"{dedupe.summary()}; first: {first[0]}")
    elif not args.quiet and not args.brief:
        cli.warn(PROG, dedupe.summary())
    return errors.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
