"""The board pages: one per scope, kind, window and skill, with the pickers to the others."""
from __future__ import annotations

import html
from typing import Optional

from ...boardfiles import LEVELLESS, Board, Row
from ...view import players
from ...view.display import format_value, metric_title, value_heading, window_title
from ..leaderboard_files import Scoped
from .base import SiteBase
from .markup import KIND_TITLES, board_file, days_of, esc, link, member_file, scope_title


class BoardPages(SiteBase):

    def board_page(self, here: str, which: Scoped, board: Optional[Board],
                   before: str = "") -> bytes:
        """A board's page; `before` is shown above the board (the front page's week)."""
        title = f"{html.escape(metric_title(which.metric))} hiscores"
        pickers = self.pickers(here, which)
        skills = self.board_list(here, which, self.files.metrics)
        measured = self.files.index.efficiency
        if measured:
            skills += f"</ul><h2>Efficiency</h2><ul>{self.board_list(here, which, measured)}"
        caption = (f"{html.escape(window_title(which.window))}{days_of(board)} &middot; "
                   f"{scope_title(which.scope)} &middot; {KIND_TITLES[which.kind]}")
        body = (f"<h1>{title}</h1>{before}{pickers}<div class=\"layout\">"
                f"<aside class=\"skills\"><h2>Skills</h2><ul>{skills}</ul></aside>"
                f"<section class=\"content\">{self.board_table(here, which, board, caption)}"
                f"</section></div>")
        section = "hiscores" if which.kind == "users" else "groups"
        return self.frame(here, f"{title}, {html.escape(window_title(which.window))}", body,
                          section)

    def board_list(self, here: str, which: Scoped, metrics) -> str:
        return "".join("<li>" + link(here, board_file(which._replace(metric=m)),
                                     html.escape(metric_title(m)), m == which.metric) + "</li>"
                       for m in metrics)

    def pickers(self, here: str, which: Scoped) -> str:
        rows = [("Cluster", [(scope_title(s), which._replace(scope=s), s == which.scope)
                             for s in self.files.scopes]),
                ("Board", [(KIND_TITLES[k], which._replace(kind=k), k == which.kind)
                           for k in ("users", "groups")]),
                ("Window", [(html.escape(window_title(w)), which._replace(window=w),
                             w == which.window) for w in self.files.index.windows])]
        return "".join(
            f'<div class="pick"><span class="label">{label}:</span> '
            + " ".join(link(here, board_file(target), text, current)
                       for text, target, current in choices) + "</div>"
            for label, choices in rows)

    def board_table(self, here: str, which: Scoped, board: Optional[Board], caption: str) -> str:
        if board is None:
            return '<p class="note">No board here: sb-rank has not written it, or it cannot be ' \
                'read.</p>'
        overall = which.metric == "overall"
        heads = ['<th class="num rank">Rank</th>', "<th>Name</th>"]
        if which.metric not in LEVELLESS:
            heads += [f'<th class="num">{"Total level" if overall else "Level"}</th>',
                      '<th class="num xp">XP</th>']
        if not overall:
            heads.append(f'<th class="num">{html.escape(value_heading(which.metric))}</th>')
        if which.kind == "groups":
            heads.append('<th class="num">Members</th>')
        body = "".join(self.board_row(here, which, row) for row in board.rows[:self.top])
        shown = min(len(board.rows), self.top)
        if board.rows:
            note = f"Top {shown:,} of {len(board.rows):,} shown."
            if board.min_cpu_hours:
                note += (f" Listed from {board.min_cpu_hours:g} CPU hours allocated to the jobs "
                         "this board measures.")
        else:
            empty = players.empty_board_text(board)
            note = html.escape(empty[:1].upper() + empty[1:]) + "."
        return (f'<table class="board"><caption>{caption}</caption><thead><tr>{"".join(heads)}'
                f'</tr></thead><tbody>{body}</tbody></table><p class="note">{note}</p>')

    def board_row(self, here: str, which: Scoped, row: Row) -> str:
        name = esc(row.name)
        if row.name in self.members[which.kind]:
            name = link(here, member_file(which.kind, row.name), name)
        cells = [f'<td class="num rank">{row.rank:,}</td>', f'<td class="name">{name}</td>']
        if which.metric not in LEVELLESS:
            cells += [f'<td class="num">{row.level:,}</td>', f'<td class="num xp">{row.xp:,}</td>']
        if which.metric != "overall":
            cells.append(f'<td class="num">{format_value(which.metric, row.value)}</td>')
        if which.kind == "groups":
            members = "" if row.members is None else f"{row.members:,}"
            cells.append(f'<td class="num">{members}</td>')
        top3 = f' class="r{row.rank}"' if 1 <= row.rank <= 3 else ""
        return f"<tr{top3}>{''.join(cells)}</tr>"
