"""The players' and groups' pages, and the lists of them.

A page leads with the charts of its progress (charts.py: XP over time and XP gained each
month, all clusters), then the achievements with their days, the records held, a player's
groups and rank in each (a group's members' share of this month), the efficiency boards, every
skill in every window, and all-time Overall on each cluster.
"""
from __future__ import annotations

import html
from typing import Dict, List, Optional

from ...boardfiles import ALL, LEVELLESS, number, ranks_in_groups
from ...core import times
from ...core.layout import MONTH_NAME
from ...view.display import SKILL_ABBREVIATIONS, format_value, metric_title, window_title
from ...view.players import achievement_what
from ..leaderboard_files import Scoped
from . import charts
from .base import SiteBase
from .documents import RECORD_PERIODS, RECORD_SKILLS
from .markup import KIND_TITLES, MEMBER_FOLDERS, board_file, esc, link, member_file

MEMBERS_SHOWN = 25          # a group's members in the share of the month
PERIOD_TITLES = {"day": "Most in a day", "week": "In a week", "month": "In a month"}


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

    def member_page(self, kind: str, name: str, progress: Optional[dict] = None) -> bytes:
        """A player's or group's page; `progress` is their progress entry (boardfiles)."""
        here = member_file(kind, name)
        what = "Personal scores for" if kind == "users" else "Group scores for"
        members = self.members[kind][name].members
        extra = f'<p class="note">{members:,} member{"" if members == 1 else "s"}</p>' \
            if members is not None else ""
        sections = [self.progress_section(progress), self.achievements(kind, name),
                    self.records_held(kind, name)]
        sections.append(self.group_ranks(here, name) if kind == "users"
                        else self.month_share(here, name))
        sections += [self.efficiency(here, kind, name), self.windows(here, kind, name),
                     self.member_clusters(here, kind, name)]
        body = (f"<h1>{what} {esc(name)}</h1>{extra}{self.membership(here, kind, name)}"
                + "".join(sections))
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

    # -- the charts, achievements, records, groups -----------------------------------------------

    def progress_section(self, progress: Optional[dict]) -> str:
        if progress is None or not progress["months"]:
            return '<h2>Progress</h2><p class="note">No month with a gain yet.</p>'
        gains = charts.Gains(progress, self.last_month(progress), self.files.index.rates)
        return ('<h2>Progress</h2><div class="charts">'
                + charts.figure("XP over time (all clusters)", charts.progress_chart(gains),
                                charts.legend()) + self.monthly_gains(gains) + "</div>")

    @staticmethod
    def monthly_gains(gains: charts.Gains) -> str:
        """The bar chart of the last two years, or a note when nothing was gained in them."""
        last = charts.last_gain(gains)
        if last is None or last < gains.months[-min(charts.LAST_BARS, len(gains.months))]:
            since = f" (the last gain: {charts.month_title(last)})" if last else ""
            return f'<p class="note">No XP gained in the last two years{since}.</p>'
        return charts.figure("XP gained each month, by skill", charts.gains_chart(gains),
                             charts.legend(charts.SKILLS))

    def last_month(self, progress: dict) -> str:
        """The boards' month (the charts run to it; a planted later month is not drawn), or
        the last month gained in when the boards' time is not known; never past this month
        (a planted time of the boards in year 2999 would draw every month until then)."""
        asof = self.files.index.asof
        month = asof[:7] if MONTH_NAME.fullmatch(asof[:7]) else progress["months"][-1]
        return min(month, times.to_iso(times.now())[:7])

    def achievements(self, kind: str, name: str) -> str:
        shown = list(reversed(self.achieved.get((kind, name), ())))
        if not shown:
            return ""
        items = "".join(f"<li>{esc(str(event.get('day')))}: "
                        f"{html.escape(achievement_what(event))}</li>" for event in shown)
        more = self.achievement_counts[(kind, name)] - len(shown)
        note = f'<li class="note">and {more:,} earlier.</li>' if more > 0 else ""
        return f'<div class="history"><h2>Achievements</h2><ul class="found feed">{items}{note}' \
            '</ul></div>'

    def records_held(self, kind: str, name: str) -> str:
        """The records (most gained in a day, week, month) this player or group holds."""
        document = self.documents.get("records")
        rows = document.get("records") if isinstance(document, dict) else None
        field = "user" if kind == "users" else "account"
        held = [r for r in (rows if isinstance(rows, list) else [])
                if isinstance(r, dict) and r.get("kind") == kind and r.get(field) == name
                and r.get("skill") in RECORD_SKILLS and r.get("period") in RECORD_PERIODS]
        if not held:
            return ""
        body = "".join(self.record_row(row) for row in held)
        return ('<div class="history"><h2>Records held</h2><table><thead><tr><th>Skill</th>'
                '<th>Record</th><th class="num">Value</th><th>When</th><th>Where</th></tr>'
                f"</thead><tbody>{body}</tbody></table></div>")

    @staticmethod
    def record_row(row: dict) -> str:
        value = number(row.get("value"), None)
        shown = "-" if value is None else format_value(row["skill"], value)
        scope = row.get("scope")
        where = "All clusters" if scope == ALL else esc(str(scope))
        return (f"<tr><td>{html.escape(metric_title(row['skill']))}</td>"
                f"<td>{PERIOD_TITLES[row['period']]}</td><td class=\"num\">{shown}</td>"
                f"<td>{esc(str(row.get('label', '')))}</td><td>{where}</td></tr>")

    def group_ranks(self, here: str, name: str) -> str:
        """A player's rank among the members of each of their groups, per skill (all time)."""
        found = ranks_in_groups(name, list(self.groups.values()))
        if not found:
            return ""
        heads = "".join(f'<th class="num">{html.escape(SKILL_ABBREVIATIONS[s])}</th>'
                        for s in RECORD_SKILLS)
        body = "".join(
            f'<tr><td class="name">{self.name_cell(here, "groups", group["account"])}</td>'
            f'<td class="num">{self.member_count(group)}</td>'
            + "".join(f'<td class="num">{self.number(group["ranks"][s])}</td>'
                      for s in RECORD_SKILLS) + "</tr>"
            for group in found)
        return ('<h2>Rank in each group</h2><table><caption>All time, all clusters: the rank '
                'among the members, by what each charged to the group</caption><thead><tr>'
                f'<th>Group</th><th class="num">Members</th>{heads}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    def member_count(self, group: dict) -> str:
        """A group's members as read (without anyone who opted out since the rebuild)."""
        users = self.groups.get(group["account"], {}).get("users")
        return f"{len(users):,}" if isinstance(users, list) else self.number(group["members"])

    def month_share(self, here: str, name: str) -> str:
        """A group's members' share of this month's XP (what each charged to it)."""
        group = self.month_groups.get(name)
        points = group.get("member_xp", {}) if group else {}
        total = sum(points.values())
        if not total:
            return ('<h2>Members\' share of this month</h2><p class="note">No one has charged '
                    'anything to the group this month.</p>')
        ranked = sorted(points.items(), key=lambda item: (-item[1], item[0]))
        body = "".join(
            f'<tr><td class="name">{self.name_cell(here, "users", user)}</td>'
            f'<td class="num">{xp:,}</td><td class="num share">{charts.share_bar(xp / total)} '
            f'{100 * xp / total:.1f}%</td></tr>' for user, xp in ranked[:MEMBERS_SHOWN])
        more = len(ranked) - MEMBERS_SHOWN
        note = f'<p class="note">and {more:,} more.</p>' if more > 0 else ""
        return ('<h2>Members\' share of this month</h2><table><caption>XP gained this month, '
                f"all clusters ({total:,} XP: each member's own, added up)</caption>"
                '<thead><tr><th>Member</th><th class="num">XP</th><th class="num">Share</th>'
                '</tr></thead>'
                f"<tbody>{body}</tbody></table>{note}{self.idle_members(here, name, points)}")

    def idle_members(self, here: str, name: str, points: Dict[str, int]) -> str:
        """The group's members (all time) who charged nothing to it this month, as a note."""
        members = self.groups.get(name, {}).get("users")
        charged = {user for user, xp in points.items() if xp}
        idle = sorted({user for user in members if isinstance(user, str)} - charged) \
            if isinstance(members, list) else []
        if not idle:
            return ""
        shown = ", ".join(self.name_cell(here, "users", user) for user in idle[:MEMBERS_SHOWN])
        more = f" and {len(idle) - MEMBERS_SHOWN:,} more" if len(idle) > MEMBERS_SHOWN else ""
        noun = "member" if len(idle) == 1 else "members"
        return (f'<p class="note">{len(idle):,} {noun} charged nothing to it this month: '
                f"{shown}{more}.</p>")

    # -- the boards ------------------------------------------------------------------------------

    def efficiency(self, here: str, kind: str, name: str) -> str:
        """The efficiency boards (measured usage) in every window: value and rank."""
        measured = self.files.index.efficiency
        if not measured:
            return ""
        windows = self.files.index.windows
        heads = "".join(f'<th class="num">{html.escape(window_title(w))}</th>' for w in windows)
        body = "".join(
            f"<tr><td>{html.escape(metric_title(metric))}</td>"
            + "".join(f'<td class="num">{self.efficiency_cell(here, kind, name, w, metric)}</td>'
                      for w in windows) + "</tr>"
            for metric in measured)
        return ('<h2>Efficiency</h2><div class="wide"><table><caption>What the jobs used of '
                'what they were given (the daily step poll), all clusters: value and rank'
                f"</caption><thead><tr><th>Board</th>{heads}</tr></thead><tbody>{body}</tbody>"
                "</table></div>")

    def efficiency_cell(self, here: str, kind: str, name: str, window: str, metric: str) -> str:
        row = self.merged.get((kind, window, metric), {}).get(name)
        if row is None:
            return "-"
        target = board_file(Scoped(ALL, kind, window, metric))
        return f"{format_value(metric, row.value)} " + \
            link(here, target, f'<span class="note">#{row.rank:,}</span>')

    def windows(self, here: str, kind: str, name: str) -> str:
        windows = self.files.index.windows
        jump = " ".join(f'<a href="#w-{html.escape(w)}">{html.escape(window_title(w))}</a>'
                        for w in windows)
        return (f'<h2>Every skill</h2><div class="pick"><span class="label">Window:</span> '
                f'{jump}</div>' + "".join(self.member_window(here, kind, name, w)
                                          for w in windows))

    def member_window(self, here: str, kind: str, name: str, window: str) -> str:
        rows: List[str] = []
        for metric in self.files.metrics:
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
        return (f'<h3 id="w-{html.escape(window)}">{html.escape(window_title(window))}</h3>'
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
