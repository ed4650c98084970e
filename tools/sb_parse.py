"""sb-parse: raw sacct text on stdin (or files) to NDJSON job records on stdout."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from slurm_scoreboard import cli, errors
from slurm_scoreboard.core import times
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.core.ndjson import BatchWriter, Writer
from slurm_scoreboard.errors import LayoutUnknown
from slurm_scoreboard.ingest import fields
from slurm_scoreboard.ingest.parser import SacctParser

PROG = "sb-parse"

EPILOG = """\
columns, in order of precedence: --fields/--format, a header line, or the field count of
sb-sacct's 16-field order (18 with --steps: TotalCPU and TRESUsageInAve last), the README
one-liner's 14-field order (JobID,User,Account,State,...) and version 0.1's 13-field one (the same
without Account: its jobs are in no group). When the columns cannot be told, or the first 5
lines do not fit the order guessed from their count, sb-parse stops with one line (exit 1):
give --fields.
presets for --format: sb-sacct, sb-sacct-steps, readme-account (the README's sacct one-liner,
with Account), readme-oneliner (version 0.1's, without Account; "seed" is an old name for it),
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


def columns_of(args) -> Optional[list]:
    """The columns --fields or --format name (None: told from the input)."""
    try:
        if args.fields:
            return fields.parse_field_list(args.fields)
        return fields.preset(args.preset) if args.preset else None
    except ValueError as err:
        raise errors.UsageError(str(err)) from None


def zone_of(args):
    """The zone naive times were printed in: --tz, else this machine's."""
    try:
        return times.zone_named(args.tz) if args.tz else times.local_zone()
    except ValueError as err:
        raise errors.UsageError(str(err)) from None


class Problems:
    """Bad lines: fatal under --strict, the first kept under --brief, else each warned."""

    def __init__(self, args) -> None:
        self.args = args
        self.first = ""

    def report(self, source: str, lineno: int, message: str) -> None:
        where = f"{source}:{lineno}: {message}"
        if self.args.strict:
            raise errors.StrictFailure(where)
        if self.args.brief:
            self.first = self.first or where
        elif not self.args.quiet:
            cli.warn(PROG, where)

    def summarize(self, stats) -> None:
        if self.args.quiet:
            return
        if not self.args.brief:
            cli.warn(PROG, stats.summary())
        elif stats.skipped:
            cli.warn(PROG, f"{stats.summary()}; first: {safe_text(self.first) if self.first else '-'}")


def parse_files(parser: SacctParser, names: Sequence[str], out: Writer) -> None:
    """Each file in turn ("-" is stdin), its records written as they are folded."""
    for name in names:
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


def body(args) -> int:
    columns = columns_of(args)
    if args.delimiter == "":
        raise errors.UsageError("empty --delimiter")
    problems = Problems(args)
    parser = SacctParser(columns, args.delimiter, args.cluster or "", problems.report,
                         zone=zone_of(args))
    if not args.files:
        cli.refuse_terminal_stdin(sys.stdin)
    out = BatchWriter(sys.stdout.buffer, args.unbuffered)
    try:
        parse_files(parser, args.files or ["-"], out)
    finally:
        out.flush()
    problems.summarize(parser.stats)
    return errors.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
