"""Every leaderboard file of a root, read for an export (sb-export): what a reader can see.

Only ``<root>/leaderboards`` is read, as sb-rank last wrote it: ``index.json`` names the
clusters, windows and skills, and each board is read whole when asked for. A user on the
current opt-out list (``config/optout.txt`` and the pollers' cache, never a home) is dropped from
every user board even before the next rebuild leaves them out. A board file that cannot be read
is named in :attr:`LeaderboardFiles.problems` and left out; a missing one is simply absent.
"""
from __future__ import annotations

import os
from typing import Iterator, List, NamedTuple, Optional

import orjson

from . import boards, view_model
from .files import UnsafePath, read_bytes
from .optout import OptOut

ALL = "all"                      # the scope of every cluster merged
DOCUMENT_LIMIT = 1 << 28         # an optional document (records, competitions) larger is refused


class Scoped(NamedTuple):
    """Which board: scope (``all`` or a cluster), kind (users or groups), window and skill."""
    scope: str
    kind: str
    window: str
    metric: str

    def path(self, root: str) -> str:
        cluster = None if self.scope == ALL else self.scope
        return boards.board_path(root, self.window, self.metric, cluster, self.kind)


class LeaderboardFiles:
    """The boards of one root, with opted-out users left out; NoBoards or BoardError (from
    view_model) when index.json is missing or unreadable."""

    def __init__(self, root: str, optout: Optional[OptOut] = None):
        self.root = root
        self.index = view_model.load_index(root)
        self.optout = optout if optout is not None else OptOut(root)
        self.problems: List[str] = []
        self.clusters = [name for name in self.index.clusters if name != ALL]
        if len(self.clusters) < len(self.index.clusters):
            self.problems.append(f"cluster {ALL!r}: its name is the one of every cluster "
                                 "merged, so its boards cannot be told apart")

    @property
    def scopes(self) -> List[str]:
        return [ALL] + self.clusters

    @property
    def metrics(self) -> List[str]:
        """Skills in the index's order: overall first."""
        return self.index.metrics

    def selections(self) -> Iterator[Scoped]:
        """Every board of the index: each scope, kind, window and skill, then each efficiency
        board."""
        for scope in self.scopes:
            for kind in boards.KINDS:
                for window in self.index.windows:
                    for metric in self.metrics + self.index.efficiency:
                        yield Scoped(scope, kind, window, metric)

    def board(self, which: Scoped) -> Optional[view_model.Board]:
        """The board's rows, one per name, without opted-out users; None when the file is
        missing or unreadable (then named in `problems`)."""
        try:
            board = view_model.load_board(which.path(self.root))
        except view_model.BoardError as err:
            self.problems.append(str(err))
            return None
        if board is None:
            return None
        return board._replace(rows=self._visible(board.rows, which.kind))

    def _visible(self, rows: List[view_model.Row], kind: str) -> List[view_model.Row]:
        """Rows of users not opted out, each name once (a planted board may repeat one, and no
        series may be written twice)."""
        seen = set()
        kept = []
        for row in rows:
            if row.name in seen or (kind == "users" and row.name in self.optout):
                continue
            seen.add(row.name)
            kept.append(row)
        return kept

    def document(self, name: str):
        """``leaderboards/<name>.json`` parsed (records, competitions), None when absent or
        unreadable (then named in `problems`)."""
        path = os.path.join(self.root, "leaderboards", name + ".json")
        try:
            return orjson.loads(read_bytes(path, DOCUMENT_LIMIT))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, UnsafePath) as err:
            reason = "not valid JSON" if isinstance(err, orjson.JSONDecodeError) else \
                getattr(err, "strerror", None) or str(err)
            self.problems.append(reason if reason.startswith(path) else f"{path}: {reason}")
            return None
