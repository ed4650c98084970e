"""The front page's week, above the all-time Overall board: who gained the most XP in the last
7 days (the rolling-7d Overall board, all clusters), the newest achievements, and the ongoing
competition's first five."""
from __future__ import annotations

import html
from typing import List, Optional

from ...view.players import achievement_what
from .documents import DocumentPages
from .markup import esc, href

SHOWN = 5                   # gainers and competition rows on the front page
WEEK = ("users", "rolling-7d", "overall")


class ThisWeek(DocumentPages):

    def this_week(self, here: str) -> str:
        parts = [self.gainers(here), self.newest_achievements(here), self.ongoing(here)]
        return '<div class="week">' + "".join(f"<section>{part}</section>" for part in parts
                                              if part) + "</div>"

    def gainers(self, here: str) -> str:
        """The first by XP gained in the last 7 days (all skills, every cluster)."""
        if WEEK not in self.merged:
            return ""
        rows = sorted(self.merged[WEEK].values(), key=lambda r: (-r.xp, r.name))[:SHOWN]
        body = "".join(f'<tr><td class="num rank">{place}</td>'
                       f'<td class="name">{self.name_cell(here, "users", row.name)}</td>'
                       f'<td class="num">{row.xp:,}</td></tr>'
                       for place, row in enumerate(rows, 1) if row.xp > 0)
        table = (f'<table><thead><tr><th class="num rank">#</th><th>Name</th>'
                 f'<th class="num">XP gained</th></tr></thead><tbody>{body}</tbody></table>'
                 if body else '<p class="note">No one gained anything in the last 7 days.</p>')
        return f"<h2>Top gainers, last 7 days</h2>{table}"

    def newest_achievements(self, here: str) -> str:
        if not self.newest:
            return ""
        items = "".join(f"<li>{esc(str(event.get('day')))}: {self.achiever(here, event)} "
                        f"{html.escape(achievement_what(event))}</li>"
                        for event in reversed(self.newest))
        return f'<h2>Newest achievements</h2><ul class="found feed">{items}</ul>'

    def achiever(self, here: str, event: dict) -> str:
        kind = event.get("kind", "users")
        name = event.get("user") if kind == "users" else event.get("account")
        shown = self.name_cell(here, kind, name)
        return shown if kind == "users" else f"group {shown}"

    def ongoing(self, here: str) -> str:
        """The first ongoing competition (competitions.json lists them first), its top five."""
        contest = self.ongoing_competition()
        if contest is None:
            return ""
        return self.competition_section(here, contest, SHOWN) + \
            f'<p class="note"><a href="{href(here, "competitions.html")}">Every competition</a></p>'

    def ongoing_competition(self) -> Optional[dict]:
        found: List[dict] = [c for c in self.standings() if c.get("status") == "ongoing"]
        return found[0] if found else None
