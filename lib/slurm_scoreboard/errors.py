"""Every error the tools report, and the exit code it maps to: one place (pipx's constants.py).

Each class says what went wrong in one line for the user (its message) and carries the exit code
a tool ends with (``code``); :func:`cli.run` maps them all in one place, and a tool whose man
page gives one its own code raises it with that code (``ToolError(message, code)``). Classes
that stood for a bad value before keep ``ValueError`` among their bases.

=====  ========================================================================================
code   meaning
=====  ========================================================================================
0      done
1      an error: a damaged file (named, with the command that repairs it), unreadable input
2      a usage error (an option, a name, a time)
3      try again later: a lock or a store another holds, the sacct rate limit
4, 5   tool-specific (each tool's man page, EXIT STATUS)
6      sb-reduce: a replaced month came back with fewer jobs than it counted
=====  ========================================================================================
"""
from __future__ import annotations

from typing import Optional

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_UNKNOWN_NAME = 5          # sb-rank, sb-view, sb-probe: no such user, account or cluster
EXIT_DAMAGED = 4               # sb-rank, sb-export: done, but damaged files were left out
EXIT_NO_SACCT = 4              # sb-sacct: no sacct command
EXIT_TIMEOUT = 5               # sb-sacct: sacct ran past its timeout
# sb-probe's report keeps version 0.1's codes
PROBE_NO_SACCT, PROBE_ROOT, PROBE_OTHER = 2, 3, 4
EXIT_FEWER = 6                 # sb-reduce --replace-month: fewer jobs than the month counted


class ToolError(Exception):
    """An error with a one-line message for the user and the exit code it maps to."""

    code = EXIT_ERROR

    def __init__(self, message: str = "", code: Optional[int] = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(ToolError):
    """A bad option, name or time: exit 2."""

    code = EXIT_USAGE


class Busy(ToolError):
    """Another process holds what this run needs: try again later (exit 3)."""

    code = EXIT_LOCKED


# -- the root's files ------------------------------------------------------------------------

class UnsafePath(ToolError):
    """A symlink, or a file where a folder belongs, below the root: refused, never followed."""


class LockBusy(Busy):
    """Another process held the lock for longer than the caller would wait."""

    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.path = path


class SharingError(ToolError):
    """A root this account may not write, or a sharing config that cannot be used."""


class Damaged(ToolError, ValueError):
    """A file under the root that does not hold what the tools write; the message names it."""


class StoreCorrupt(Damaged):
    """A store file that cannot be read; the message names it."""


class BloomCorrupt(Damaged):
    """The bytes are not a valid Bloom file (truncated, altered, or another format)."""


class JournalCorrupt(Damaged):
    """The redo journal of an interrupted update cannot be read or applied."""


class CursorCorrupt(Damaged):
    """An sb-news cursor file that is not what sb-news writes."""


class TotalsOverflow(ToolError, ValueError):
    """An update would push a total past the store's largest number; nothing is written."""


class FewerJobs(ToolError, ValueError):
    """A replaced month came back with fewer jobs than it counted: nothing is replaced."""

    code = EXIT_FEWER


class StoreBusy(Busy):
    """A cluster's store is being updated and did not settle in time."""


class ConfigError(ToolError, ValueError):
    """A config file of the root (xp.json, competitions.json, efficiency.json) that cannot be
    used; the message names it."""


# -- the board files -------------------------------------------------------------------------

class BoardError(ToolError):
    """A board or index file that cannot be read or is not what sb-rank writes."""


class NoBoards(BoardError):
    """The root has no leaderboards/index.json: sb-rank has not run there."""


class OptOutUnreadable(BoardError):
    """The opt-out list or cache exists but cannot be read: nothing is shown or stored as if
    no one had opted out (privacy first)."""


class NotShown(BoardError):
    """A name whose page was open left the boards (opted out since)."""


class UnknownName(ToolError):
    """A user, account or cluster that is on no board: a typo, usually."""

    code = EXIT_UNKNOWN_NAME


class NotASite(ToolError):
    """sb-export's folder exists and is not a site it wrote."""


# -- sacct and its input ---------------------------------------------------------------------

class SacctFailed(ToolError):
    """sacct exited non-zero; the message is its first line of stderr."""


class SacctTimeout(ToolError):
    """sacct ran longer than the timeout and was stopped."""


class SacctMissing(ToolError):
    """No sacct on PATH."""


class UnknownCluster(UsageError):
    """slurmdbd knows no cluster of that name; the message names those it knows."""


class RateLimited(Busy):
    """The sacct rate limit is reached; `wait` is how many seconds until a call is allowed."""

    def __init__(self, wait: float):
        super().__init__(f"rate limit reached; next call allowed in {wait:.0f} s")
        self.wait = wait


class LayoutUnknown(ToolError):
    """The columns of the input cannot be told (no header, no known field count), or the
    layout guessed from the field count does not fit its first lines: one message, and stop."""


class BadNow(UsageError, ValueError):
    """$SLURM_SB_NOW holds no usable time."""


class SkipRecord(ValueError):
    """A job or line that cannot become a record: `reason` is its summary category. Not a tool
    error: the record is skipped and counted, and the run goes on."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class StrictFailure(ToolError):
    """sb-parse --strict: the first bad line (exit 1)."""
