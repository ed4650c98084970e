"""The whole site, page by page: every board first (what the other pages need of them is kept
as they are read), then the front page, the players' and groups' lists and pages, records,
competitions and the search page."""
from __future__ import annotations

from typing import Iterator, Optional, Tuple

from ...boardfiles import Board
from ..leaderboard_files import ALL, Scoped
from . import search
from .boards import BoardPages
from .front import ThisWeek
from .markup import (
    DOCUMENTS,
    FRONT,
    MEMBER_FOLDERS,
    SEARCH_PAGE,
    board_file,
    member_board,
    member_file,
)
from .members import MemberPages


class Site(BoardPages, MemberPages, ThisWeek):
    """Every page of the site, rendered from the board files one board at a time."""

    def pages(self) -> Iterator[Tuple[str, bytes]]:
        """(relative path, bytes) of every file of the site."""
        for name, document in (("records", self.files.records()),
                               ("competitions", self.files.competitions())):
            if document is not None:
                self.documents[name] = document
        self.groups = {group["account"]: group for group in self.files.group_stats("alltime")}
        if "month" in self.files.index.windows:
            self.month_groups = {group["account"]: group
                                 for group in self.files.group_stats("month")}
        self.read_achievements()
        for which in sorted(self.files.selections(), key=lambda w: w != member_board(w.kind)):
            board = self.files.scoped_board(which)
            self._remember(which, board)
            yield board_file(which), self.board_page(board_file(which), which, board)
        yield "index.html", self.board_page("index.html", FRONT, self.front,
                                            self.this_week("index.html"))
        for kind in ("users", "groups"):
            yield f"{MEMBER_FOLDERS[kind]}.html", self.member_list(kind)
            for name, progress in self.with_progress(kind):
                yield member_file(kind, name), self.member_page(kind, name, progress)
        for name, title in DOCUMENTS:
            if name in self.documents:
                yield f"{name}.html", self.document_page(name, title)
        yield SEARCH_PAGE, self.frame(SEARCH_PAGE, "Search", search.body(self.members), "search",
                                      search.SCRIPT)

    def with_progress(self, kind: str) -> Iterator[Tuple[str, Optional[dict]]]:
        """Every player (or group) with a page, in name order, with their progress entry: the
        progress file (sorted by name too) is read once, a line at a time, beside them."""
        entries = self.files.progress_lines(ALL, kind)
        pending = next(entries, None)
        for name in sorted(self.members[kind]):
            while pending is not None and pending["name"] < name:
                pending = next(entries, None)
            yield name, pending if pending is not None and pending["name"] == name else None

    def _remember(self, which: Scoped, board: Optional[Board]) -> None:
        """Keep what the personal and group pages need: the merged boards' rows by name, each
        cluster's all-time Overall, and the front page's board."""
        rows = {row.name: row for row in board.rows} if board else {}
        if which == FRONT:
            self.front = board
        if which.scope == ALL:
            self.merged[which[1:]] = rows
            if which == member_board(which.kind):
                self.members[which.kind] = rows
        elif which.window == "alltime" and which.metric == "overall":
            self.cluster_overall[(which.kind, which.scope)] = rows
