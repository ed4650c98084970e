"""sb-parse: raw sacct text on stdin (or files) to NDJSON job records on stdout."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from slurm_scoreboard import cli

from slurm_scoreboard.core import times

from slurm_scoreboard.ingest import fields
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.core.ndjson import Writer
from slurm_scoreboard.ingest.parser import SacctParser
from slurm_scoreboard.errors import LayoutUnknown
from slurm_scoreboard import errors

PROG = "sb-parse"

EPILOG = """\
columns, in order of precedence: --fields/--format, a header line, or the field count of
sb-sacct's 16-field order (18 with --steps: TotalCPU and TRESUsageInAve last), the README
one-liner's 14-field order (JobID,User,Account,State,...) and the seed's 13-field one (the same
without Account: its jobs are in no group). When the columns cannot be told, or the first 5
lines do not fit the order guessed from their count, sb-parse stops with one line (exit 1):
give --fields.
presets for --format: sb-sacct, sb-sacct-steps, readme-account (the README's sacct one-liner,
with Account), readme-oneliner (the seed's, without Account; "seed" is an old name for it),
xdmod (Open XDMoD's 26-field shredder log).
fixed-width input (plain sacct): a value sacct cut at its column's width (a trailing +) is
never read as a number; the line is skipped, counted, and the fix (-P) named once.

exit status: 0 done (skipped lines are reported, not fatal), 1 a bad line under --strict, an
unreadable file, or columns that cannot be told, 2 usage error.

example:
  TZ=UTC sacct -a -n -P -X -S 2025-08-01 -o JobID,User,Account,State,ElapsedRaw,AllocCPUS,\\
    NNodes,ReqMem,MaxRSS,AveRSS,AllocTRES,Submit,Start,End | sb-parse --cluster hammer | head
"""


def build_parser():
    parser = cli.make_parser(PROG, "Turn sacct -P output into NDJSON job records (steps folded "
                             "into their job).", EPILOG, cluster=True,
                             stream=("stdin", "quiet", "brief", "unbuffered"))
    parser.add_argument("files", nargs="*", help="sacct output files (default: stdin)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--fields", "-o", help="column names, as given to sacct -o")
    group.add_argument("--format", dest="preset", help="a named column list: "
                       + ", ".join(fields.PRESETS))
    parser.add_argument("--delimiter", "-d", help="field delimiter (default: |, or ^|^, ;|; or "
                        "\u2603 when the input uses one)")
    parser.add_argument("--tz", metavar="ZONE",
                        help="the time zone naive times were printed in (default: this "
                             "machine's, $TZ, as sacct's own; UTC for sb-sacct's epochs)")
    parser.add_argument("--strict", action="store_true", help="exit 1 at the first bad line")
    return parser


class StrictFailure(errors.ToolError):
    pass


def body(args) -> int:
    try:
        columns = (fields.parse_field_list(args.fields) if args.fields
                   else fields.preset(args.preset) if args.preset else None)
    except ValueError as err:
        raise errors.UsageError(str(err)) from None
    if args.delimiter == "":
        raise errors.UsageError("empty --delimiter")

    first = []

    def report(source: str, lineno: int, message: str) -> None:
        if args.strict:
            raise StrictFailure(f"{source}:{lineno}: {message}")
        if args.brief:
            first[:] = first or [f"{source}:{lineno}: {message}"]
        elif not args.quiet:
            cli.warn(PROG, f"{source}:{lineno}: {message}")

    try:
        zone = times.zone_named(args.tz) if args.tz else times.local_zone()
    except ValueError as err:
        raise errors.UsageError(str(err)) from None
    parser = SacctParser(columns, args.delimiter, args.cluster or "", report, zone=zone)
    out = Writer(sys.stdout.buffer, args.unbuffered)
    if not args.files:
        cli.refuse_terminal_stdin(sys.stdin)
    for name in args.files or ["-"]:
        if name == "-":
            stream, source = sys.stdin.buffer, "stdin"
        else:
            stream, source = open(name, "rb"), name
        with stream:
            try:
                for record in parser.parse(stream, source):
                    out.write(record)
            except LayoutUnknown as err:
                raise errors.ToolError(safe_text(str(err))) from None
    if args.brief and parser.stats.skipped and not args.quiet:
        cli.warn(PROG, f"{parser.stats.summary()}; first: {safe_text(first[0]) if first else '-'}")
    elif not args.quiet and not args.brief:
        cli.warn(PROG, parser.stats.summary())
    return errors.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
