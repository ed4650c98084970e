"""sb-dedupe: pass on only the ended jobs not seen before (Bloom files per cluster and month)."""
from __future__ import annotations

import glob
import os
import sys
from collections import Counter
from typing import Dict, Optional, Sequence, Tuple

from slurm_scoreboard import cli

from slurm_scoreboard.core import layout, times
from slurm_scoreboard.store.bloom import BloomFilter, key_hash
from slurm_scoreboard.errors import BloomCorrupt
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.core.ndjson import Writer, read_lines
from slurm_scoreboard.store.recent import RECENT_KEYS, RecentKeys
from slurm_scoreboard.ingest.records import check, latest_time, placement
from slurm_scoreboard.errors import SkipRecord
from slurm_scoreboard.store.store import load_bloom
from slurm_scoreboard import errors

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
    out = Writer(sys.stdout.buffer)
    damaged = 0
    for name in [cluster] if cluster else layout.clusters(root):
        for path in sorted(glob.glob(os.path.join(layout.seen_dir(root, name), "*.bloom"))):
            month = os.path.basename(path)[:-6]
            try:
                bloom = load_bloom(path)
            except BloomCorrupt as err:
                damaged += 1
                cli.warn(PROG, f"{safe_text(str(err))}; sb-backfill --cluster {name} "
                               f"--redo-month {safe_text(month)} rebuilds it")
                continue
            entry = {"cluster": name, "month": month, "file": path,
                     "bytes": os.path.getsize(path)}
            entry.update(bloom.stats())
            out.write(entry)
    return errors.EXIT_ERROR if damaged else errors.EXIT_OK


def body(args) -> int:
    cli.check_plain_names(args, "cluster")
    root = cli.open_root(args)
    if args.stats:
        return print_stats(root, args.cluster)
    cli.refuse_terminal_stdin(sys.stdin)
    blooms: Dict[Tuple[str, str], BloomFilter] = {}
    latest = latest_time(times.now())
    counts: Counter = Counter()
    out = Writer(sys.stdout.buffer, args.unbuffered)

    first = []

    def tell(text: str) -> None:
        if args.brief or args.quiet:
            first[:] = first or [text]
        else:
            cli.warn(PROG, text)

    def problem(source: str, lineno: int, message: str) -> None:
        counts["bad line"] += 1
        tell(f"{source}:{lineno}: {message}")

    passed = RecentKeys(RECENT_KEYS)
    for lineno, record, line in read_lines(sys.stdin.buffer, "stdin", problem):
        counts["read"] += 1
        try:
            check(record, latest)
            if not record["terminal"]:
                counts["held"] += 1
                continue
            place = placement(record, args.cluster)
        except SkipRecord as err:
            counts["skipped"] += 1
            tell(f"stdin:{lineno}: {safe_text(str(err))}")
            continue
        slot = (place.cluster, place.month)
        if slot not in blooms:
            try:
                blooms[slot] = load_bloom(layout.bloom_file(root, *slot))
            except BloomCorrupt as err:
                raise errors.ToolError(f"{err}; refusing to guess what was counted "
                                    f"(sb-backfill --cluster {slot[0]} --redo-month {slot[1]} "
                                    "rebuilds it)") from None
        h1, h2 = key_hash(place.key)
        if blooms[slot].has(h1, h2) or not passed.add((slot, h1)):
            counts["seen"] += 1
        else:
            out.write_line(line)
            counts["new"] += 1
    summary = (f"{counts['read']} records, {counts['new']} new, {counts['seen']} seen before, "
               f"{counts['held']} not ended (held back), "
               f"{counts['skipped'] + counts['bad line']} skipped")
    if args.brief and first and not args.quiet:
        cli.warn(PROG, f"{summary}; first: {first[0]}")
    elif not args.quiet and not args.brief:
        cli.warn(PROG, summary)
    return errors.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
