"""sb-view: the leaderboards in a terminal, like Old School RuneScape's hiscores."""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from typing import Optional, Sequence

from slurm_scoreboard import boardfiles, cli, errors
from slurm_scoreboard.core import windows
from slurm_scoreboard.core.names import printable, safe_text
from slurm_scoreboard.view import ansi, display, model, pages, players, screens

PROG = "sb-view"

TEXTUAL_HINT = ("the textual backend needs the 'textual' package: "
                "pip install 'slurm-scoreboard[textual]'")

EPILOG = """\
backends:
  curses (default)   interactive, htop-like; ? lists the keys, q quits
  ansi               print the board once and exit (also --snapshot); colour on a terminal
  textual            the same boards in a Textual app (pip install 'slurm-scoreboard[textual]')

Reads the files sb-rank writes under <root>/leaderboards and re-reads them when they change.
Users on <root>/config/optout.txt, or whose home marker a poller saw (state/optout_cache.json),
are left out of every page at once (ranks closed up), before the next rebuild erases them; a
list or cache that cannot be read stops sb-view (exit 1) rather than show them.

exit status: 0 done, 1 no leaderboards under the root or an unreadable file, 2 usage error
(also: no terminal for the interactive view, textual not installed), 5 --user or --compare
names no one on the boards, or --competition no competition.

examples:
  sb-view --root "$SLURM_SB_ROOT"
  sb-view --snapshot --window rolling-30d --metric gpu_clock_hours --top 10
  sb-view --snapshot --compare "$USER" alice
  sb-view --snapshot --records --cluster hammer
"""


def build_parser():
    parser = cli.make_parser(PROG, "Show the leaderboards: interactively, or printed once.",
                             EPILOG, root=True, cluster=True)
    parser.add_argument("--window", "-w", choices=windows.NAMES, default="alltime",
                        help="window to open on (default alltime)")
    parser.add_argument("--metric", "-m", choices=boardfiles.BOARDS + boardfiles.EFFICIENCY_BOARDS,
                        default="overall",
                        help="board to open on (default overall)")
    parser.add_argument("--groups", action="store_true", help="group (account) boards")
    parser.add_argument("--gained", choices=[w for w in windows.NAMES if w != "alltime"],
                        metavar="WINDOW",
                        help="beside each value, what the name gained in WINDOW (the d key)")
    parser.add_argument("--user", "-u", metavar="NAME",
                        help="open on this user's (or, with --groups, account's) personal page")
    parser.add_argument("--compare", nargs=2, metavar=("NAME", "OTHER"),
                        help="open on two users (or, with --groups, accounts) side by side")
    parser.add_argument("--records", action="store_true",
                        help="open on the records (most gained in a day, week and month)")
    parser.add_argument("--competition", metavar="ID", nargs="?", const="",
                        help="open on a competition (without ID: the first, ongoing first)")
    parser.add_argument("--backend", choices=("curses", "ansi", "textual"),
                        help="curses (default), ansi (print once) or textual")
    parser.add_argument("--snapshot", action="store_true", help="the same as --backend ansi")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colours: auto (a terminal without $NO_COLOR), always, never")
    parser.add_argument("--width", type=int, metavar="N",
                        help="snapshot width (default: the terminal's)")
    parser.add_argument("--top", type=int, default=20, metavar="N",
                        help="snapshot rows of a board, the records or a competition (default 20, 0 = all)")
    return parser


def check_args(args) -> None:
    cli.check_plain_names(args, "cluster")
    if args.width is not None and args.width < model.MIN_WIDTH:
        raise errors.UsageError(f"--width must be at least {model.MIN_WIDTH}")
    if args.top < 0:
        raise errors.UsageError("--top must be 0 (all) or more")
    opened = [name for name, given in (("--user", args.user), ("--compare", args.compare),
                                       ("--records", args.records),
                                       ("--competition", args.competition is not None)) if given]
    if len(opened) > 1:
        raise errors.UsageError(f"{opened[0]} and {opened[1]} each choose the page to open on")
    if args.competition:
        cli.check_plain_names(args, "competition")


def choose_backend(args) -> str:
    if args.snapshot and args.backend not in (None, "ansi"):
        raise errors.UsageError(f"--snapshot is --backend ansi; it excludes --backend {args.backend}")
    backend = "ansi" if args.snapshot else (args.backend or "curses")
    if backend == "textual" and importlib.util.find_spec("textual") is None:
        raise errors.UsageError(TEXTUAL_HINT)
    return backend


def open_state(root: str, args) -> model.ViewState:
    try:
        index = boardfiles.load_index(root)
    except errors.BoardError as err:
        raise errors.ToolError(str(err)) from None
    cluster = args.cluster or "all"
    if cluster != "all" and cluster not in index.clusters:
        known = ", ".join(index.clusters) or "none"
        raise errors.ToolError(f"no cluster {cluster} in the leaderboards (known: {known})")
    kind = "groups" if args.groups else "users"
    state = model.ViewState(root, index, players.Selection(args.window, args.metric,
                                                                   cluster, kind),
                            gained=args.gained)
    for name in args.compare or ([args.user] if args.user else []):
        if not is_on_the_boards(state, name, cluster, kind):
            what = "account" if args.groups else "user"
            raise errors.ToolError(f"no {what} {printable(name)} on the boards of this scope "
                                f"(cluster {cluster})", errors.EXIT_UNKNOWN_NAME)
    if args.user:
        state.show_player(args.user)
    elif args.compare:
        state.show_compare(*args.compare)
    elif args.records:
        state.do_records()
    elif args.competition is not None:
        open_competition(state, args.competition)
    if state.alert:
        raise errors.ToolError(state.message)
    return state


def is_on_the_boards(state: model.ViewState, name: str, cluster: str, kind: str) -> bool:
    """Whether `name` is on the scope's all-time Overall board; an unreadable board is an
    error naming it (exit 1), as on the boards themselves."""
    try:
        return state.files.known(name, cluster, kind)
    except errors.BoardError as err:
        raise errors.ToolError(safe_text(str(err))) from None


def open_competition(state: model.ViewState, ident: str) -> None:
    ids = pages.competition_ids(state.files)
    if ident and ident not in ids:
        raise errors.ToolError(f"no competition {ident} on the boards (known: "
                            f"{', '.join(ids) or 'none'})", errors.EXIT_UNKNOWN_NAME)
    if not ids:
        raise errors.ToolError("no competitions on the boards (see config/competitions.json in "
                            "sb-rank(1))", errors.EXIT_UNKNOWN_NAME)
    state.contest = ids[ids.index(ident) - 1] if ident else None
    state.screen = "text" if ident else state.screen
    state.do_competitions()


def snapshot(state: model.ViewState, args) -> int:
    color = ansi.want_color(args.color, sys.stdout, os.environ)
    width = args.width or max(shutil.get_terminal_size().columns, model.MIN_WIDTH)
    state.set_ascii(not color or not display.locale_is_utf8())
    lines = screens.snapshot_lines(state, width, args.top, state.ascii_only)
    sys.stdout.write(ansi.render(lines, ansi.color_depth(os.environ) if color else 0))
    if state.board is None and state.problem.startswith("unreadable"):
        cli.warn(PROG, state.problem)
        return errors.EXIT_ERROR
    return errors.EXIT_OK


def interactive(state: model.ViewState, args) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise errors.UsageError("the interactive view needs a terminal; use --snapshot to print")
    from slurm_scoreboard.view import tui
    try:
        return tui.run(state, use_color=args.color == "always" or
                       (args.color == "auto" and not os.environ.get("NO_COLOR")))
    except tui.curses.error as err:
        raise errors.ToolError(f"cannot drive this terminal ({err}); use --snapshot") from None


def body(args) -> int:
    check_args(args)
    root = cli.open_root(args)
    backend = choose_backend(args)
    state = open_state(root, args)
    if backend == "ansi":
        return snapshot(state, args)
    if backend == "textual":
        from slurm_scoreboard.view import textual_app
        return textual_app.run(state)
    return interactive(state, args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
