"""What every part of the site shares while it is written: the boards read so far (by name),
the groups' statistics, the optional documents, and the page frame."""
from __future__ import annotations

from collections import deque
from typing import Deque, Dict, List, Optional, Tuple

from ...boardfiles import ALL, Board, Row, name_field
from ...view.display import when
from ..leaderboard_files import LeaderboardFiles
from .markup import DOCUMENTS, SEARCH_PAGE, esc, frame, link, member_file

NEWEST = 8                  # achievements the front page shows
ACHIEVEMENTS_SHOWN = 15     # on a player's or group's page (the newest; a count says the rest)


class SiteBase:
    """The state the pages are written from: boards are read one at a time, and what the
    player, group and front pages need of them is kept here."""

    def __init__(self, files: LeaderboardFiles, top: int):
        self.files = files
        self.top = top
        self.asof = when(files.index.asof) if files.index.asof else "never"
        self.documents: Dict[str, object] = {}
        self.front: Optional[Board] = None
        self.merged: Dict[Tuple[str, str, str], Dict[str, Row]] = {}   # (kind, window, skill)
        self.cluster_overall: Dict[Tuple[str, str], Dict[str, Row]] = {}   # (kind, cluster)
        self.members: Dict[str, Dict[str, Row]] = {"users": {}, "groups": {}}
        self.groups: Dict[str, dict] = {}      # account -> its all-time statistics
        self.month_groups: Dict[str, dict] = {}    # account -> its statistics this month
        self.newest: Deque[dict] = deque(maxlen=NEWEST)     # the newest achievements
        # (kind, name) -> their newest achievements over all clusters, and how many they have
        self.achieved: Dict[Tuple[str, str], Deque[dict]] = {}
        self.achievement_counts: Dict[Tuple[str, str], int] = {}

    def read_achievements(self) -> None:
        """One pass over the feed: everyone's achievements over all clusters (the merged
        scope's, and the first job on each cluster), the newest ACHIEVEMENTS_SHOWN of each kept
        (a big site's feed is not held whole), and the newest few of all."""
        for event in self.files.events():
            if event.get("scope") != ALL and event.get("event") != "first_job":
                continue
            key = (event["kind"], event[name_field(event["kind"])])
            if key not in self.achieved:
                self.achieved[key] = deque(maxlen=ACHIEVEMENTS_SHOWN)
                self.achievement_counts[key] = 0
            self.achieved[key].append(event)
            self.achievement_counts[key] += 1
            if event.get("scope") == ALL:
                self.newest.append(event)

    def frame(self, here: str, title: str, body: str, section: str = "",
              script: str = "") -> bytes:
        nav: List[Tuple[str, str, str]] = [
            ("Hiscores", "index.html", "hiscores"), ("Players", "players.html", "users"),
            ("Groups", "groups.html", "groups")]
        nav += [(label, f"{name}.html", name) for name, label in DOCUMENTS
                if name in self.documents]
        nav.append(("Search", SEARCH_PAGE, "search"))
        return frame(here, title, body, nav, section, self.asof, script)

    def name_cell(self, here: str, kind: str, name) -> str:
        """A name as text, a link to its page when it has one ('-' for anything but a name)."""
        if not isinstance(name, str):
            return "-"
        shown = esc(name)
        return link(here, member_file(kind, name), shown) if name in self.members[kind] else shown

    @staticmethod
    def number(value) -> str:
        return f"{value:,}" if type(value) is int else "-"
