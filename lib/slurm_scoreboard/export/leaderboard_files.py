"""Every board of a root, walked for an export (sb-export): which boards the index lists, and
which files could not be read. Every file is read by :class:`boardfiles.BoardFiles`, so users
who opted out are left out of every board, group, record and competition (ranks closed up)
even before the next rebuild erases them.

A board file that cannot be read is named in ``problems`` and left out; a missing one is simply
absent.
"""
from __future__ import annotations

from typing import Iterator, List, NamedTuple, Optional

from .. import boardfiles
from ..boardfiles import ALL, Board, BoardFiles, load_index
from ..errors import BoardError, OptOutUnreadable


class Scoped(NamedTuple):
    """Which board: scope (``all`` or a cluster), kind (users or groups), window and skill."""
    scope: str
    kind: str
    window: str
    metric: str


class LeaderboardFiles(BoardFiles):
    """The boards of one root as an export shows them; NoBoards or BoardError (boardfiles) when
    index.json is missing or unreadable, OptOutUnreadable when the opt-out list or cache is."""

    def __init__(self, root: str):
        super().__init__(root)
        self.index = load_index(root)
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
            for kind in boardfiles.KINDS:
                for window in self.index.windows:
                    for metric in self.metrics + self.index.efficiency:
                        yield Scoped(scope, kind, window, metric)

    def scoped_board(self, which: Scoped) -> Optional[Board]:
        """The board's rows (one per name, no opted-out user, ranks closed up); None when the
        file is missing or unreadable (then named in `problems`)."""
        try:
            return self.board(which.window, which.metric, which.scope, which.kind)
        except BoardError as err:
            if isinstance(err, OptOutUnreadable):
                raise               # no export shows the boards as if no one opted out
            self._problem(str(err))
            return None
