"""What every page of the site shares: its frame (header, search box, navigation, footer), the
CSS, the Content-Security-Policy, escaping, links and the file each page is written to."""
from __future__ import annotations

import base64
import hashlib
import html
from typing import Optional, Sequence, Tuple
from urllib.parse import quote

from ...boardfiles import Board
from ...core.names import check_name
from ...view import display
from ..leaderboard_files import ALL, Scoped

KIND_TITLES = {"users": "Players", "groups": "Groups"}
MEMBER_FOLDERS = {"users": "players", "groups": "groups"}
DOCUMENTS = (("records", "Records"), ("competitions", "Competitions"))
SEARCH_PAGE = "search.html"

CSS = """
*{box-sizing:border-box}
body{margin:0;color:#2e2416;background:#1c1710 linear-gradient(#2e2418,#100d08) fixed;
font:15px/1.4 Georgia,"Times New Roman",serif}
header{background:#3e3122;border-bottom:3px solid #0f0c08;padding:.7rem 1rem .4rem;
text-align:center}
header a.title{color:#ffcf3f;font-size:1.7rem;font-weight:bold;text-decoration:none;
text-shadow:2px 2px 0 #000;letter-spacing:.03em}
nav.top{display:flex;flex-wrap:wrap;justify-content:center;align-items:center;gap:.2rem 1.4rem;
padding:.45rem;background:#2b2217;border-bottom:2px solid #0f0c08}
nav.top a{color:#ffcf3f;text-decoration:none}
nav.top a[aria-current]{text-decoration:underline}
form.search{display:flex;gap:.25rem;margin:0;min-width:0}
form.search input{width:11rem;min-width:0;flex:1 1 auto;font:inherit;padding:.1rem .35rem;
border:1px solid #8c7552;border-radius:3px;background:#e9e0c9;color:#2e2416}
form.search button{font:inherit;padding:.1rem .5rem;border:1px solid #8c7552;border-radius:3px;
background:#5d4a33;color:#ffcf3f}
main{max-width:66rem;margin:1rem auto;padding:1rem 1.3rem;border:3px solid #5d4a33;
border-radius:4px;box-shadow:0 0 0 3px #0f0c08,0 8px 22px #000;
background:#d8ccb4 radial-gradient(ellipse at center,#e8e0cc 0%,#d8ccb4 65%,#c4b08c 100%)}
h1{margin:.1rem 0 .7rem;color:#3e2a12;font-size:1.5rem;text-align:center;overflow-wrap:anywhere}
h2{color:#3e2a12;font-size:1.15rem;border-bottom:1px solid #8c7552;margin:1.2rem 0 .45rem;
overflow-wrap:anywhere}
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
.wide{overflow-x:auto;margin-bottom:.6rem}
.wide table{margin-bottom:0}
.note{color:#5b4a33;font-size:.9rem;text-align:center;overflow-wrap:anywhere}
td .note{white-space:nowrap}
.week{display:flex;flex-wrap:wrap;gap:.8rem;margin:.4rem 0 1rem}
.week section{flex:1 1 16rem;min-width:0}
.week h2{margin-top:.2rem}
ul.found{list-style:none;padding:0;margin:.5rem 0}
ul.found li{padding:.25rem .45rem;border-bottom:1px solid #b09c78;overflow-wrap:anywhere}
.charts{display:flex;flex-wrap:wrap;gap:.8rem;margin:.4rem 0 1rem}
figure.chart{flex:1 1 22rem;min-width:0;margin:0;padding:.4rem;background:#e2dbc8;
border:2px solid #5d4a33;border-radius:3px}
svg.chart{display:block;width:100%;height:auto;max-width:40rem;margin:0 auto}
figure.chart figcaption{font-weight:bold;color:#3e2a12;text-align:center}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem .9rem;justify-content:center;
margin:.3rem 0;padding:0;font-size:.9rem}
svg.key{width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-.05rem}
svg.share{width:5rem;height:.7rem;vertical-align:-.05rem}
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
nav.top{gap:.2rem .9rem}
form.search{width:100%;justify-content:center}
}
@media (max-width:480px){.xp{display:none}}
"""


def csp(script: str = "") -> str:
    """The page's policy: nothing loaded from anywhere, forms only to the site itself, and no
    script but `script` (allowed by its SHA-256, so no other inline script ever runs)."""
    policy = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
              "form-action 'self'")
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        policy += f"; script-src 'sha256-{digest}'"
    return policy


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


def days_of(board: Optional[Board]) -> str:
    """The UTC days a window's board covers, as it says them (nothing for all time)."""
    if board is None or not board.first_day or not board.last_day:
        return ""
    return f" ({esc(board.first_day)} to {esc(board.last_day)})"


def search_box(here: str, query: str = "") -> str:
    """The search form of every page: a plain GET to the search page, which works without
    script too (it then lists the players and groups pages)."""
    value = f' value="{html.escape(query, quote=True)}"' if query else ""
    return (f'<form class="search" role="search" method="get" '
            f'action="{href(here, SEARCH_PAGE)}"><input type="search" name="q"{value} '
            'maxlength="200" autocomplete="off" placeholder="Player or group" '
            'aria-label="Find a player or group by the start of the name">'
            '<button type="submit">Search</button></form>')


def frame(here: str, title: str, body: str, nav: Sequence[Tuple[str, str, str]],
          section: str, asof: str, script: str = "") -> bytes:
    """A whole page: `nav` is (label, target, section key) of the top bar's links, `script`
    the one inline script the page may run (none but the search page's)."""
    links = " ".join(nav_link(here, target, label, key == section) for label, target, key in nav)
    run = f"<script>{script}</script>" if script else ""
    text = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp(script)}">'
            f'<title>{title} - SlurmScoreboard</title><style>{CSS}</style></head><body>'
            f'<header><a class="title" href="{href(here, "index.html")}">'
            f'SlurmScoreboard Hiscores</a></header><nav class="top">{links}'
            f'{search_box(here)}</nav><main>{body}</main><footer>Boards made '
            f'{html.escape(asof)} by sb-rank; page written by sb-export.</footer>{run}'
            '</body></html>\n')
    return text.encode("utf-8", "replace")
