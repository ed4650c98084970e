"""The boards as a static web site in the look of Old School RuneScape's hiscores.

Plain HTML with its CSS inline: no script, no font, image or anything else loaded from
anywhere (a Content-Security-Policy in every page says so to the browser too), and every link
relative, so the folder works from ``file://``, under any web server and any URL prefix::

    index.html                                  the front page: Overall, all time, all clusters
    boards/<users|groups>/<window>/<skill>.html every cluster merged
    clusters/<c>/<users|groups>/<window>/<skill>.html
    players.html, players/<user>.html           everyone on the all-time Overall board
    groups.html, groups/<account>.html          every account on it
    records.html, competitions.html             when sb-rank wrote records.json, competitions.json

A board page shows its first `top` rows. A user's page shows every skill in every window for all
clusters merged, and their all-time Overall on each cluster. Names are untrusted: in text they
are escaped (control characters too, as sb-view shows them), in URLs percent-encoded, and a
name that is not a plain name (letters, digits, ``_ . @ -``) gets a page named by its SHA-256,
so no name can reach outside the site's folder. Every file is read through boardfiles.py: a user
who opted out is on no page, not even before the next rebuild.
"""
from __future__ import annotations

import hashlib
import html
from typing import Dict, Iterator, Optional, Tuple
from urllib.parse import quote

from ..boardfiles import LEVELLESS, SKILLS, Board, Row
from ..core.names import check_name
from ..view import display, players
from ..view.display import format_value, metric_title, value_heading, when, window_title
from .leaderboard_files import ALL, LeaderboardFiles, Scoped

KIND_TITLES = {"users": "Players", "groups": "Groups"}
MEMBER_FOLDERS = {"users": "players", "groups": "groups"}
DOCUMENTS = (("records", "Records"), ("competitions", "Competitions"))
RECORD_SKILLS = SKILLS
RECORD_PERIODS = ("day", "week", "month")

CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")

CSS = """
*{box-sizing:border-box}
body{margin:0;color:#2e2416;background:#1c1710 linear-gradient(#2e2418,#100d08) fixed;
font:15px/1.4 Georgia,"Times New Roman",serif}
header{background:#3e3122;border-bottom:3px solid #0f0c08;padding:.7rem 1rem .4rem;
text-align:center}
header a.title{color:#ffcf3f;font-size:1.7rem;font-weight:bold;text-decoration:none;
text-shadow:2px 2px 0 #000;letter-spacing:.03em}
nav.top{display:flex;flex-wrap:wrap;justify-content:center;gap:.2rem 1.4rem;padding:.45rem;
background:#2b2217;border-bottom:2px solid #0f0c08}
nav.top a{color:#ffcf3f;text-decoration:none}
nav.top a[aria-current]{text-decoration:underline}
main{max-width:66rem;margin:1rem auto;padding:1rem 1.3rem;border:3px solid #5d4a33;
border-radius:4px;box-shadow:0 0 0 3px #0f0c08,0 8px 22px #000;
background:#d8ccb4 radial-gradient(ellipse at center,#e8e0cc 0%,#d8ccb4 65%,#c4b08c 100%)}
h1{margin:.1rem 0 .7rem;color:#3e2a12;font-size:1.5rem;text-align:center;overflow-wrap:anywhere}
h2{color:#3e2a12;font-size:1.15rem;border-bottom:1px solid #8c7552;margin:1.2rem 0 .45rem}
a{color:#5a2d0c}
a:hover{color:#9a5a1a}
.pick{display:flex;flex-wrap:wrap;gap:.25rem .35rem;align-items:baseline;margin:.3rem 0}
.pick .label{font-weight:bold;min-width:5.5rem}
.pick a,.pick strong{padding:.1rem .45rem;border:1px solid #8c7552;border-radius:3px;
background:#e9e0c9;text-decoration:none}
.pick strong,.skills strong{background:#5d4a33;color:#ffcf3f}
.layout{display:flex;gap:1rem;align-items:flex-start;margin-top:.7rem}
.skills{flex:0 0 11.5rem;padding:.4rem;background:#c9b898;border:2px solid #5d4a33;
border-radius:3px}
.skills h2{margin:.1rem 0 .3rem;font-size:1rem;border:0}
.skills ul{list-style:none;margin:0;padding:0}
.skills a,.skills strong{display:block;padding:.25rem .45rem;text-decoration:none;
border-bottom:1px solid #b09c78}
.content{flex:1 1 auto;min-width:0;width:100%}
table{width:100%;border-collapse:collapse;background:#e2dbc8;border:2px solid #5d4a33;
margin-bottom:.6rem}
caption{font-weight:bold;padding:.3rem;color:#3e2a12}
th{background:#5d4a33;color:#ffcf3f;padding:.35rem .5rem;text-align:left;font-weight:bold}
td{padding:.3rem .5rem;border-top:1px solid #b8a684;vertical-align:top}
tbody tr:nth-child(even){background:#d5c9ad}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.rank{width:4.5rem}
.name{overflow-wrap:anywhere}
tr.r1 .rank{color:#9a7000;font-weight:bold}
tr.r2 .rank{color:#5f5f5f;font-weight:bold}
tr.r3 .rank{color:#8c4f1f;font-weight:bold}
table.kv th{width:30%}
.note{color:#5b4a33;font-size:.9rem;text-align:center}
td .note{white-space:nowrap}
footer{color:#c9b898;text-align:center;font-size:.8rem;padding:.3rem 1rem 1.5rem}
@media (max-width:700px){
body{font-size:14px}
main{margin:.4rem;padding:.6rem .5rem}
.layout{flex-direction:column}
.skills{flex:none;width:100%}
.skills ul{display:flex;flex-wrap:wrap;gap:.25rem}
.skills a,.skills strong{border:1px solid #8c7552;border-radius:3px;padding:.15rem .4rem}
.pick .label{min-width:0;width:100%}
td,th{padding:.25rem .3rem}
}
@media (max-width:480px){.xp{display:none}}
"""


def esc(text: str) -> str:
    """Untrusted text for HTML: control characters escaped as sb-view shows them, then quoted."""
    return html.escape(display.clean(text))


def href(here: str, target: str) -> str:
    """The relative, percent-encoded and quoted URL of site file `target` from page `here`."""
    return html.escape(quote(relative(here, target)), quote=True)


def relative(here: str, target: str) -> str:
    """The path of site file `target` from the folder of page `here` (both relative to the
    site, ``/``-separated, without ``..``)."""
    folders = here.split("/")[:-1]
    parts = target.split("/")
    common = 0
    while common < min(len(folders), len(parts) - 1) and folders[common] == parts[common]:
        common += 1
    return "/".join([".."] * (len(folders) - common) + parts[common:])


def link(here: str, target: str, label_html: str, current: bool = False) -> str:
    if current:
        return f'<strong aria-current="page">{label_html}</strong>'
    return f'<a href="{href(here, target)}">{label_html}</a>'


def nav_link(here: str, target: str, label: str, current: bool) -> str:
    """A link of the top bar; the section being shown is marked, and still a link."""
    mark = ' aria-current="page"' if current else ""
    return f'<a href="{href(here, target)}"{mark}>{html.escape(label)}</a>'


def board_file(which: Scoped) -> str:
    base = "boards" if which.scope == ALL else f"clusters/{check_name('cluster', which.scope)}"
    return f"{base}/{which.kind}/{check_name('window', which.window)}/" \
           f"{check_name('skill', which.metric)}.html"


def member_file(kind: str, name: str) -> str:
    """players/<name>.html for a plain name, else players/~<sha256>.html (never outside)."""
    try:
        stem = check_name("name", name)
    except ValueError:
        stem = "~" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{MEMBER_FOLDERS[kind]}/{stem}.html"


def member_board(kind: str) -> Scoped:
    """The board whose names get a page: all-time Overall, every cluster merged."""
    return Scoped(ALL, kind, "alltime", "overall")


FRONT = member_board("users")


def scope_title(scope: str) -> str:
    return "All clusters" if scope == ALL else f"Cluster {esc(scope)}"


class Site:
    """Every page of the site, rendered from the board files one board at a time."""

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

    def pages(self) -> Iterator[Tuple[str, bytes]]:
        """(relative path, bytes) of every file of the site."""
        for name, document in (("records", self.files.records()),
                               ("competitions", self.files.competitions())):
            if document is not None:
                self.documents[name] = document
        self.groups = {group["account"]: group for group in self.files.group_stats("alltime")}
        for which in sorted(self.files.selections(), key=lambda w: w != member_board(w.kind)):
            board = self.files.scoped_board(which)
            self._remember(which, board)
            yield board_file(which), self.board_page(board_file(which), which, board)
        yield "index.html", self.board_page("index.html", FRONT, self.front)
        for kind in ("users", "groups"):
            yield f"{MEMBER_FOLDERS[kind]}.html", self.member_list(kind)
            for name in self.members[kind]:
                yield member_file(kind, name), self.member_page(kind, name)
        for name, title in DOCUMENTS:
            if name in self.documents:
                yield f"{name}.html", self.document_page(name, title)

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

    # -- frame ---------------------------------------------------------------------------------

    def frame(self, here: str, title: str, body: str, section: str = "") -> bytes:
        nav = [("Hiscores", "index.html", "hiscores"), ("Players", "players.html", "users"),
               ("Groups", "groups.html", "groups")]
        nav += [(label, f"{name}.html", name) for name, label in DOCUMENTS
                if name in self.documents]
        links = " ".join(nav_link(here, target, label, key == section)
                         for label, target, key in nav)
        text = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
                f'<title>{title} - SlurmScoreboard</title><style>{CSS}</style></head><body>'
                f'<header><a class="title" href="{href(here, "index.html")}">'
                f'SlurmScoreboard Hiscores</a></header><nav class="top">{links}</nav>'
                f'<main>{body}</main><footer>Boards made {html.escape(self.asof)} by sb-rank; '
                f'page written by sb-export.</footer></body></html>\n')
        return text.encode("utf-8", "replace")

    # -- boards --------------------------------------------------------------------------------

    def board_page(self, here: str, which: Scoped, board: Optional[Board]) -> bytes:
        title = f"{html.escape(metric_title(which.metric))} hiscores"
        pickers = self.pickers(here, which)
        skills = self.board_list(here, which, self.files.metrics)
        measured = self.files.index.efficiency
        if measured:
            skills += f"</ul><h2>Efficiency</h2><ul>{self.board_list(here, which, measured)}"
        caption = (f"{html.escape(window_title(which.window))}{days_of(board)} &middot; "
                   f"{scope_title(which.scope)} &middot; {KIND_TITLES[which.kind]}")
        body = (f"<h1>{title}</h1>{pickers}<div class=\"layout\"><aside class=\"skills\">"
                f"<h2>Skills</h2><ul>{skills}</ul></aside><section class=\"content\">"
                f"{self.board_table(here, which, board, caption)}</section></div>")
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
        return (f"<table><caption>{caption}</caption><thead><tr>{''.join(heads)}</tr></thead>"
                f'<tbody>{body}</tbody></table><p class="note">{note}</p>')

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

    # -- players and groups --------------------------------------------------------------------

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

    # -- records and competitions --------------------------------------------------------------

    def document_page(self, name: str, title: str) -> bytes:
        render = self.records_body if name == "records" else self.competitions_body
        return self.frame(f"{name}.html", title, f"<h1>{title}</h1>{render(f'{name}.html')}",
                          name)

    def name_cell(self, here: str, kind: str, name) -> str:
        if not isinstance(name, str):
            return "-"
        shown = esc(name)
        return link(here, member_file(kind, name), shown) if name in self.members[kind] else shown

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
        document = self.documents["competitions"]
        entries = document.get("competitions") if isinstance(document, dict) else None
        parts = []
        for entry in entries if isinstance(entries, list) else []:
            ident = entry.get("id") if isinstance(entry, dict) else None
            try:
                check_name("competition", ident)
            except ValueError:
                continue
            standings = self.files.competition(ident)
            parts.append(self.competition_section(here, standings if isinstance(standings, dict)
                                                  else entry))
        return "".join(parts) or '<p class="note">No competitions (see config/competitions.json ' \
            'in sb-rank(1)).</p>'

    def competition_section(self, here: str, contest: dict) -> str:
        skills = [s for s in contest.get("skills", []) if s in RECORD_SKILLS] \
            if isinstance(contest.get("skills"), list) else []
        facts = [str(contest.get(key, "?")) for key in ("status", "from", "to")]
        meta = (f"{esc(facts[0])}, {esc(facts[1])} to {esc(facts[2])}: "
                f"{', '.join(html.escape(metric_title(s)) for s in skills)}")
        for field in ("cluster", "accounts", "users"):
            value = contest.get(field)
            if isinstance(value, str) and value != ALL:
                meta += f"; cluster {esc(value)}"
            elif isinstance(value, list) and value:
                shown = [str(v) for v in value]
                meta += f"; only {field} {esc(', '.join(shown[:10]))}" if shown else ""
        listed = contest.get("rows")
        rows = [r for r in (listed if isinstance(listed, list) else [])
                if isinstance(r, dict) and isinstance(r.get("user"), str)]
        heads = "".join(f'<th class="num">{html.escape(metric_title(s))}</th>' for s in skills)
        body = []
        for row in rows[:self.top]:
            skills_gained, listed_rank = row.get("skills"), row.get("rank")
            gained = skills_gained if isinstance(skills_gained, dict) else {}
            cells = "".join(f'<td class="num">{self.gained(s, gained.get(s))}</td>'
                            for s in skills)
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
        return f"<h2>{esc(str(contest.get('title', '')))}</h2><p>{meta}</p>{table}"

    @staticmethod
    def number(value) -> str:
        return f"{value:,}" if type(value) is int else "-"

    @staticmethod
    def gained(skill: str, cell) -> str:
        value = cell.get("gained") if isinstance(cell, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "-"
        return format_value(skill, value)


def days_of(board: Optional[Board]) -> str:
    """The UTC days a window's board covers, as it says them (nothing for all time)."""
    if board is None or not board.first_day or not board.last_day:
        return ""
    return f" ({esc(board.first_day)} to {esc(board.last_day)})"


