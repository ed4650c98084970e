"""The players' and groups' pages, and the lists of them."""
from __future__ import annotations

import html

from ...boardfiles import LEVELLESS
from ...view.display import format_value, metric_title, window_title
from ..leaderboard_files import ALL, Scoped
from .base import SiteBase
from .markup import KIND_TITLES, MEMBER_FOLDERS, board_file, esc, link, member_file


class MemberPages(SiteBase):

    def member_list(self, kind: str) -> bytes:
        here = f"{MEMBER_FOLDERS[kind]}.html"
        rows = sorted(self.members[kind].values(), key=lambda r: (r.name.casefold(), r.name))
        body = "".join(f'<tr><td class="name">{link(here, member_file(kind, r.name), esc(r.name))}'
                       f'</td><td class="num">{r.rank:,}</td><td class="num">{r.level:,}</td></tr>'
                       for r in rows)
        what = "player" if kind == "users" else "group (SLURM account)"
        table = (f"<table><caption>Every {what} on the all-time Overall board</caption><thead><tr>"
                 f'<th>Name</th><th class="num">Overall rank</th><th class="num">Total level</th>'
                 f"</tr></thead><tbody>{body}</tbody></table>") if rows else \
            '<p class="note">No one on the boards yet.</p>'
        return self.frame(here, KIND_TITLES[kind], f"<h1>{KIND_TITLES[kind]}</h1>{table}", kind)

    def member_page(self, kind: str, name: str) -> bytes:
        here = member_file(kind, name)
        windows = self.files.index.windows
        jump = " ".join(f'<a href="#w-{html.escape(w)}">{html.escape(window_title(w))}</a>'
                        for w in windows)
        sections = "".join(self.member_window(here, kind, name, w) for w in windows)
        what = "Personal scores for" if kind == "users" else "Group scores for"
        members = self.members[kind][name].members
        extra = f'<p class="note">{members:,} member{"" if members == 1 else "s"}</p>' \
            if members is not None else ""
        body = (f"<h1>{what} {esc(name)}</h1>{extra}{self.membership(here, kind, name)}"
                f'<div class="pick"><span class="label">Window:</span> {jump}</div>'
                f"{sections}{self.member_clusters(here, kind, name)}")
        return self.frame(here, f"{what} {esc(name)}", body)

    def membership(self, here: str, kind: str, name: str) -> str:
        """A group's members and statistics (all time, all clusters), or a user's groups."""
        if kind == "groups":
            group = self.groups.get(name)
            if group is None:
                return ""
            users = [u for u in group.get("users", []) if isinstance(u, str)]
            listed = ", ".join(self.name_cell(here, "users", u) for u in users)
            averages = group.get("average_total_level")
            stats = (f"{self.number(group.get('members_99'))} with a 99; the average member's "
                     f"total level {averages:,.1f}. " if type(averages) in (int, float) else "")
            return f'<p class="note">{stats}Members: {listed or "-"}</p>'
        mine = [account for account, group in sorted(self.groups.items())
                if isinstance(group.get("users"), list) and name in group["users"]]
        if not mine:
            return ""
        listed = ", ".join(self.name_cell(here, "groups", account) for account in mine)
        return f'<p class="note">Groups: {listed}</p>'

    def member_window(self, here: str, kind: str, name: str, window: str) -> str:
        rows = []
        for metric in self.files.metrics + self.files.index.efficiency:
            row = self.merged.get((kind, window, metric), {}).get(name)
            target = board_file(Scoped(ALL, kind, window, metric))
            skill = link(here, target, html.escape(metric_title(metric)))
            levelled = metric != "overall" and metric not in LEVELLESS
            if row is None:
                cells = '<td class="num rank">-</td><td class="num">1</td>' \
                        '<td class="num xp">0</td><td class="num"></td>' \
                    if levelled else \
                    '<td class="num rank">-</td><td class="num"></td><td class="num xp"></td>' \
                    '<td class="num"></td>'
            else:
                value = "" if metric == "overall" else format_value(metric, row.value)
                level, points = (f"{row.level:,}", f"{row.xp:,}") \
                    if metric not in LEVELLESS else ("", "")
                cells = (f'<td class="num rank">{row.rank:,}</td><td class="num">{level}'
                         f'</td><td class="num xp">{points}</td><td class="num">{value}</td>')
            rows.append(f"<tr><td>{skill}</td>{cells}</tr>")
        return (f'<h2 id="w-{html.escape(window)}">{html.escape(window_title(window))}</h2>'
                f'<table><thead><tr><th>Skill</th><th class="num">Rank</th>'
                f'<th class="num">Level</th><th class="num xp">XP</th><th class="num">Value</th>'
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")

    def member_clusters(self, here: str, kind: str, name: str) -> str:
        rows = []
        for cluster in self.files.clusters:
            row = self.cluster_overall.get((kind, cluster), {}).get(name)
            if row is not None:
                target = board_file(Scoped(cluster, kind, "alltime", "overall"))
                rows.append(f"<tr><td>{link(here, target, esc(cluster))}</td>"
                            f'<td class="num">{row.rank:,}</td><td class="num">{row.level:,}</td>'
                            f'<td class="num xp">{row.xp:,}</td></tr>')
        if not rows:
            return ""
        return ('<h2>Clusters</h2><table><caption>All time, Overall</caption><thead><tr>'
                '<th>Cluster</th><th class="num">Rank</th><th class="num">Total level</th>'
                f'<th class="num xp">XP</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
