"""What every sb-* tool shares: common flags, error-to-exit-code mapping, quiet broken pipes.

A tool builds its parser with :func:`make_parser`, adds its own arguments, and hands its body to
:func:`run`. The body returns an exit code or raises an error of :mod:`errors`; ``run`` prints
its message as ``<tool>: <message>`` on stderr (control characters escaped) and returns its code,
the one place errors become exit codes. Tracebacks only appear with ``--debug``.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Callable, Optional, Sequence

import orjson

from . import __version__, errors
from .core import files, sharing
from .core.names import check_name, safe_text
from .errors import EXIT_ERROR, EXIT_OK, ToolError, UsageError

MESSAGE_LIMIT = 2000       # characters of an error message shown (the rest cut)

ROOT_ENV = "SLURM_SB_ROOT"


class Terminated(BaseException):
    """SIGTERM arrived: unwind, so every half-written temporary file is removed on the way out."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated(signum)


# The flags of the tools that stream records (sb-parse, sb-dedupe, sb-reduce): name -> (flags,
# help); a tool names the ones it takes.
STREAM_FLAGS = {
    "stdin": (("--stdin",), "read stdin (the default; accepted as in version 0.1's one-liner)"),
    "quiet": (("--quiet", "-q"), "nothing on stderr but errors: no skipped lines, no summary"),
    "brief": (("--brief",), "one line at the end, only when something was skipped: the counts "
                            "and the first reason (for the logs of unattended polls)"),
    "unbuffered": (("--unbuffered", "-u"), "flush every record (for a long-lived pipe)"),
}


def make_parser(prog: str, description: str, epilog: str = "", root: bool = False,
                cluster: bool = False, stream: Sequence[str] = ()) -> argparse.ArgumentParser:
    """An ArgumentParser with the flags every tool shares; `root`/`cluster` add those two,
    `stream` the named :data:`STREAM_FLAGS`."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    if root:
        parser.add_argument("--root", default=os.environ.get(ROOT_ENV),
                            help=f"scoreboard root folder (default: ${ROOT_ENV})")
    if cluster:
        parser.add_argument("--cluster", "-M", default=None, help="cluster name")
    for name in stream:
        flags, text = STREAM_FLAGS[name]
        parser.add_argument(*flags, action="store_true", help=text)
    parser.add_argument("--version", action="version",
                        version=f"{prog} (slurm-scoreboard) {__version__}")
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


def option_or_env(value, variable: str, default, kind: Callable = str):
    """The option's value if given, else the environment variable's, else the default."""
    if value is not None:
        return value
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"bad ${variable} {text!r}") from None


def usage_checked(check: Callable, *values):
    """check(*values), its ValueError a usage error (a bad option value)."""
    try:
        return check(*values)
    except ValueError as err:
        raise UsageError(str(err)) from None


def check_plain_names(args: argparse.Namespace, *kinds: str) -> None:
    """Usage error unless each given option among `kinds` (cluster, user...) is a plain name."""
    for kind in kinds:
        value = getattr(args, kind, None)
        if value:
            usage_checked(check_name, kind, value)


def require_root(args: argparse.Namespace) -> str:
    if not args.root:
        raise UsageError(f"no root folder: pass --root or set ${ROOT_ENV}")
    return args.root


def may_write(root: str) -> bool:
    """Whether this account is one of the root's writers (so may lock its store)."""
    try:
        return sharing.is_writer(root, sharing.load(root))
    except errors.SharingError:
        return False


def open_root(args: argparse.Namespace, write: bool = False, create: bool = False) -> str:
    """The root of --root, declared to files.py with its sharing modes. A writer must be allowed
    to write it (sharing.check_writer); only `create` (sb-probe) may make a missing root."""
    root = require_root(args)
    if not create and not os.path.isdir(root):
        raise ToolError(f"no scoreboard root at {root}: create it with sb-probe --root {root}")
    try:
        mode = sharing.load(root) if os.path.isdir(root) else sharing.Sharing()
        if write and os.path.isdir(root):
            sharing.check_writer(root, mode)
    except errors.SharingError as err:
        raise ToolError(str(err)) from None
    except PermissionError:
        raise ToolError(f"{root} cannot be read by this account: it is shared with its "
                        f"group ({sharing.group_of(root)}) only") from None
    files.use_root(root, mode.modes())
    return root


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except OSError:
        pass


def warn(prog: str, message: str) -> None:
    sys.stderr.write(f"{prog}: {message}\n")


def warner(prog: str) -> Callable[[str], None]:
    """What a tool hands the library to warn with: one line, its untrusted text escaped."""
    return lambda message: warn(prog, safe_text(message))


def _standard_streams(prog: str) -> None:
    """Standard input and error the tool was started without (``<&-``, ``2>&-``) become
    /dev/null: an empty input, messages dropped, and no file the tool opens later takes their
    descriptor (what it wrote to stderr would land in a store file). Without standard output it
    exits 2 before any work, as argparse does for a usage error."""
    for fd, name, mode in ((0, "stdin", "r"), (2, "stderr", "w")):
        if getattr(sys, name) is None:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
            setattr(sys, name, open(fd, mode, closefd=False))
    if sys.stdout is None:
        warn(prog, "standard output is closed (>&-): send it to /dev/null instead")
        sys.exit(errors.EXIT_USAGE)


def run(prog: str, parser: argparse.ArgumentParser, body: Callable[[argparse.Namespace], int],
        argv: Optional[Sequence[str]] = None) -> int:
    """Parse argv, run body, and turn every way it can end into an exit code."""
    _standard_streams(prog)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        code = body(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        warn(prog, "interrupted")
        return 130
    except Terminated:
        warn(prog, "terminated")
        return 143
    except ToolError as err:
        if args.debug:
            raise
        warn(prog, safe_text(str(err), MESSAGE_LIMIT))
        return err.code
    except (MemoryError, orjson.JSONEncodeError) as err:
        if args.debug:
            raise
        warn(prog, _unwritten(err))
        return EXIT_ERROR
    except OSError as err:
        if args.debug:
            raise
        where = f"{err.filename}: " if isinstance(err.filename, str) else ""
        warn(prog, safe_text(f"{where}{err.strerror or err}"))
        return EXIT_ERROR


def _unwritten(err: Exception) -> str:
    """Why an answer could not be made: memory, or a value orjson cannot write (one no reader
    should have let through, such as lists nested hundreds deep)."""
    if isinstance(err, MemoryError):
        return "out of memory (a store file far larger than any the tools write?)"
    return safe_text(f"cannot write the answer as JSON: {err}", MESSAGE_LIMIT)


def refuse_terminal_stdin(stream) -> None:
    """Refuse to wait for typed input when nothing was piped in and no file was named."""
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if interactive:
        raise UsageError("no input: pipe sacct output in or name a file (see --help)")
