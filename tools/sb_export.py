"""sb-export: the boards as OpenMetrics for Prometheus, or as a static hiscores web site."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from slurm_scoreboard import cli, errors
from slurm_scoreboard.core import files
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.export import openmetrics, site, sitedir
from slurm_scoreboard.export.leaderboard_files import LeaderboardFiles

PROG = "sb-export"
FORMATS = ("openmetrics", "html")
PARTIAL_SUFFIX = ".part"       # a temporary file node_exporter's textfile collector skips

EPILOG = """\
formats:
  openmetrics   OpenMetrics text (gauges value, level, rank per user or group, skill, window
                and cluster; the first --top rows of each board), on stdout or written
                atomically to --output FILE: name it *.prom in node_exporter's textfile folder
  html          a static site in the look of the OSRS hiscores into --output DIR (required):
                a board per skill, window and cluster, a page per player and group led by
                charts of their progress, the front page's week, a search box on every page;
                DIR is replaced whole (a symlink to a fresh folder), so a web server never
                shows half

Reads <root>/leaderboards (what sb-rank wrote) and who opted out (config/optout.txt and the
pollers' state/optout_cache.json): an opted-out user is on no board, page, group list, record
or competition from the next export on, before the next rebuild erases them (ranks closed up;
group totals lose their usage at that rebuild). A list or cache that cannot be read stops the
export (exit 1).

exit status: 0 done, 1 error (no leaderboards, DIR not a site sb-export wrote, a write failed),
2 usage error, 3 another sb-export is writing DIR, 4 written, but unreadable board, records or
competitions files were left out (each named on stderr).

examples:
  sb-export --format openmetrics --output /var/lib/node_exporter/textfile/slurm_scoreboard.prom
  sb-export --format html --output /srv/www/hiscores && python3 -m http.server -d /srv/www/hiscores
"""


def build_parser():
    parser = cli.make_parser(PROG, "Export the leaderboards: OpenMetrics, or a static web site.",
                             EPILOG, root=True)
    parser.add_argument("--format", "-f", choices=FORMATS, required=True,
                        help="openmetrics or html")
    parser.add_argument("--output", "-o", metavar="PATH",
                        help="the .prom file (openmetrics; default or -: stdout) or the site's "
                             "folder (html; required)")
    parser.add_argument("--top", type=int, default=100, metavar="N",
                        help="rows of each board exported (default 100; bounds the series)")
    return parser


def check_args(args) -> None:
    if args.top < 1:
        raise errors.UsageError("--top must be 1 or more (it bounds what is exported)")
    if args.format == "html" and not args.output:
        raise errors.UsageError("--format html needs --output DIR (the site's folder)")
    if args.output == "":
        raise errors.UsageError("--output is empty")
    if args.output == "-":
        if args.format == "html":
            raise errors.UsageError("--format html writes a folder, not standard output")
        args.output = None


def load(root: str) -> LeaderboardFiles:
    try:
        return LeaderboardFiles(root)
    except errors.BoardError as err:
        raise errors.ToolError(str(err)) from None


def publish_for_readers(root: str, output: str) -> None:
    """A file written outside the root is for publishing: world-readable (files 0644, folders
    0755) whatever the root's sharing, and never chowned to the root's group."""
    if files.below_root(output) is None:
        files.use_root(root)


def export_openmetrics(boards: LeaderboardFiles, args) -> None:
    text = openmetrics.exposition(boards, args.top)
    if args.output is None:
        if sys.stdout.isatty():     # a name's control characters shown, never obeyed
            text = "\n".join(safe_text(line, len(line)) for line in text.split("\n"))
        sys.stdout.buffer.write(text.encode("utf-8", "replace"))
        return
    files.atomic_write(args.output, text.encode("utf-8", "replace"), temp_suffix=PARTIAL_SUFFIX)


def export_html(boards: LeaderboardFiles, args) -> None:
    pages = site.Site(boards, args.top).pages()
    try:
        sitedir.publish(args.output, pages, files.lock_wait())
    except errors.NotASite as err:
        raise errors.ToolError(safe_text(str(err))) from None


def body(args) -> int:
    check_args(args)
    root = cli.open_root(args)
    boards = load(root)
    if args.output:
        publish_for_readers(root, args.output)
    if args.format == "openmetrics":
        export_openmetrics(boards, args)
    else:
        export_html(boards, args)
    for problem in boards.problems:
        cli.warn(PROG, safe_text(f"{problem}; left out"))
    return errors.EXIT_DAMAGED if boards.problems else errors.EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
