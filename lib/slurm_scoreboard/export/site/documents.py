"""The records and competitions pages, from what sb-rank's history pass wrote."""
from __future__ import annotations

import html
from typing import List

from ...boardfiles import SKILLS
from ...core.names import check_name
from ...view.display import format_value, metric_title
from ..leaderboard_files import ALL
from .base import SiteBase
from .markup import KIND_TITLES, esc, scope_title

RECORD_SKILLS = SKILLS
RECORD_PERIODS = ("day", "week", "month")


def competition_rows(contest: dict) -> List[dict]:
    """A competition's standings rows that name a user (a planted file may hold anything)."""
    listed = contest.get("rows")
    return [r for r in (listed if isinstance(listed, list) else [])
            if isinstance(r, dict) and isinstance(r.get("user"), str)]


def contest_skills(contest: dict) -> List[str]:
    skills = contest.get("skills")
    return [s for s in skills if s in RECORD_SKILLS] if isinstance(skills, list) else []


def gained(skill: str, cell) -> str:
    value = cell.get("gained") if isinstance(cell, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return format_value(skill, value)


class DocumentPages(SiteBase):

    def document_page(self, name: str, title: str) -> bytes:
        render = self.records_body if name == "records" else self.competitions_body
        return self.frame(f"{name}.html", title, f"<h1>{title}</h1>{render(f'{name}.html')}",
                          name)

    def records_body(self, here: str) -> str:
        """Per scope and kind, each skill's most gained in a day, a week and a month."""
        document = self.documents["records"]
        rows = document.get("records") if isinstance(document, dict) else None
        rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
        parts = []
        for scope in [ALL] + list(self.files.clusters):
            for kind in ("users", "groups"):
                field = "user" if kind == "users" else "account"
                mine = {(r.get("skill"), r.get("period")): r for r in rows
                        if r.get("scope") == scope and r.get("kind") == kind
                        and r.get("skill") in RECORD_SKILLS
                        and r.get("period") in RECORD_PERIODS}
                if mine:
                    parts.append(self.records_table(here, scope, kind, field, mine))
        return "".join(parts) or '<p class="note">No records yet.</p>'

    def records_table(self, here: str, scope: str, kind: str, field: str, mine: dict) -> str:
        body = []
        for skill in RECORD_SKILLS:
            cells = []
            for period in RECORD_PERIODS:
                row = mine.get((skill, period))
                if row is None:
                    cells.append("<td>-</td>")
                    continue
                value = row.get("value")
                shown = format_value(skill, value) if type(value) in (int, float) else "-"
                cells.append(f'<td>{self.name_cell(here, kind, row.get(field))}<br>'
                             f'<span class="num">{shown}</span> '
                             f'<span class="note">{esc(str(row.get("label", "")))}</span></td>')
            body.append(f"<tr><th>{html.escape(metric_title(skill))}</th>{''.join(cells)}</tr>")
        caption = f"{scope_title(scope)}, {KIND_TITLES[kind].lower()}"
        return (f"<table><caption>{caption}</caption><thead><tr><th>Skill</th>"
                "<th>Most in a day</th><th>In a week</th><th>In a month</th></tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")

    def competitions_body(self, here: str) -> str:
        """Every competition (ongoing first), with its standings' first rows."""
        parts = [self.competition_section(here, contest, self.top)
                 for contest in self.standings()]
        return "".join(parts) or '<p class="note">No competitions (see config/competitions.json ' \
            'in sb-rank(1)).</p>'

    def standings(self) -> List[dict]:
        """Every competition of competitions.json in its order (ongoing first), as its own
        standings file gives it (or as the list does, without one)."""
        document = self.documents.get("competitions")
        entries = document.get("competitions") if isinstance(document, dict) else None
        found = []
        for entry in entries if isinstance(entries, list) else []:
            ident = entry.get("id") if isinstance(entry, dict) else None
            try:
                check_name("competition", ident)
            except ValueError:
                continue
            standings = self.files.competition(ident)
            found.append(standings if isinstance(standings, dict) else entry)
        return found

    def competition_section(self, here: str, contest: dict, top: int, level: int = 2) -> str:
        """A competition's title, what it counts and its first `top` rows."""
        skills = contest_skills(contest)
        heads = "".join(f'<th class="num">{html.escape(metric_title(s))}</th>' for s in skills)
        body = []
        for row in competition_rows(contest)[:top]:
            skills_gained, listed_rank = row.get("skills"), row.get("rank")
            mine = skills_gained if isinstance(skills_gained, dict) else {}
            cells = "".join(f'<td class="num">{gained(s, mine.get(s))}</td>' for s in skills)
            rank = listed_rank if type(listed_rank) is int else 0
            podium = f' class="r{rank}"' if 1 <= rank <= 3 else ""
            body.append(f'<tr{podium}>'
                        f'<td class="num rank">{rank:,}</td>'
                        f'<td class="name">{self.name_cell(here, "users", row.get("user"))}</td>'
                        f'<td class="num xp">{self.number(row.get("xp_gained"))}</td>'
                        f'<td class="num">{self.number(row.get("levels_gained"))}</td>{cells}</tr>')
        table = (f'<table><thead><tr><th class="num rank">Rank</th><th>Name</th>'
                 f'<th class="num xp">XP gained</th><th class="num">Levels</th>{heads}</tr>'
                 f"</thead><tbody>{''.join(body)}</tbody></table>" if body
                 else '<p class="note">No one has gained anything in it yet.</p>')
        return (f"<h{level}>{esc(str(contest.get('title', '')))}</h{level}>"
                f"<p>{self.contest_terms(contest, skills)}</p>{table}")

    @staticmethod
    def contest_terms(contest: dict, skills: List[str]) -> str:
        """Its status, days and skills, and whom it is limited to."""
        facts = [str(contest.get(key, "?")) for key in ("status", "from", "to")]
        meta = (f"{esc(facts[0])}, {esc(facts[1])} to {esc(facts[2])}: "
                f"{', '.join(html.escape(metric_title(s)) for s in skills)}")
        for field in ("cluster", "accounts", "users"):
            value = contest.get(field)
            if isinstance(value, str) and value != ALL:
                meta += f"; cluster {esc(value)}"
            elif isinstance(value, list) and value:
                shown = [str(v) for v in value]
                meta += f"; only {field} {esc(', '.join(shown[:10]))}"
        return meta
