"""The Open OnDemand dashboard widget (packaging/ondemand/_slurm_scoreboard.html.erb), rendered by
Ruby's own ERB as the dashboard renders a partial, as the user, over the demo's root: the user's
ranks, levels and this week's XP come from sb-rank --user --from-files (so a store an update
holds keeps no one waiting), skill titles, the time of the boards and the newest achievement
read as the tools write them, the link leads to the user's page of an sb-export'ed site
published the way OnDemand publishes static files (its public folder), hostile names stay text
(escaped as safe_text escapes them, then as HTML), an opted-out or unknown user sees one
friendly line, a root being updated another, both calls share one 10-second deadline, and
nothing under the root changes.
Then headless Chromium shows the fragment in Bootstrap (Debian's libjs-bootstrap4, as OnDemand
styles its dashboard): the DOM and a screenshot ($SB_SCREENSHOTS keeps it).

Without ruby (or chromium, bootstrap) the tests are skipped, except under CI=true."""
import fcntl
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from datetime import datetime
from functools import partial
from html.parser import HTMLParser
from http.server import ThreadingHTTPServer

import orjson
import pytest
from export_helpers import HOSTILE, export, opt_out, ranked_root
from hypothesis import given, settings
from hypothesis import strategies as st
from test_export_chromium import Dom, QuietHandler, browse, png_colours, png_size

from slurm_scoreboard.boardfiles import METRIC_TITLES
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.history.achievements import describe

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARTIAL = os.path.join(TOP, "packaging", "ondemand", "_slurm_scoreboard.html.erb")
LAYOUT = os.path.join(TOP, "packaging", "ondemand", "slurm_scoreboard.yml")
BOOTSTRAP = "/usr/share/javascript/bootstrap4/css/bootstrap.min.css"
# what the dashboard does with a partial: ERB with Rails' h() (ERB::Util's escaping)
RENDER = "require 'erb'; include ERB::Util; print ERB.new(File.read(ARGV[0])).result(binding)"
SITE_URL = "/public/hiscores/"


def need(path, what):
    if path and os.path.exists(path):
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} not found; CI must have it (.ci/run installs it)")
    pytest.skip(f"{what} not found")


@pytest.fixture(scope="module")
def ruby():
    return need(shutil.which("ruby"), "ruby (apt-get install ruby)")


@pytest.fixture(scope="module")
def bindir(tmp_path_factory):
    """A folder with an sb-rank that runs this checkout's code, as SLURM_SB_BIN names one."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "sb-rank"
    script.write_text(f"#!/bin/sh\nPYTHONPATH='{TOP}/lib:{TOP}' exec '{sys.executable}' "
                      "-m slurm_scoreboard_tools.sb_rank \"$@\"\n")
    script.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory, bindir):
    """The demo's root (demo/run.sh: a year of three clusters), made once for these tests."""
    demo = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, DEMO_ROOT=str(demo),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    done = subprocess.run([os.path.join(TOP, "demo", "run.sh")], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return demo / "root"


def render(ruby, bindir, root, user, site=SITE_URL, **extra):
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "USER": user,
           "SLURM_SB_BIN": str(bindir), "SLURM_SB_SITE_URL": site, **extra}
    if root is not None:
        env["SLURM_SB_ROOT"] = str(root)
    done = subprocess.run([ruby, "-e", RENDER, PARTIAL], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def personal(bindir, root, user, window):
    done = subprocess.run([str(bindir / "sb-rank"), "--root", str(root), "--user", user,
                           "--window", window, "--from-files"], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    return orjson.loads(done.stdout)


class Widget(HTMLParser):
    """The rendered fragment: its tags, table rows (cells' text), paragraphs by class, links,
    the header's small print."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.rows, self.paragraphs, self.links, self.small = [], [], {}, [], []
        self._cell = self._paragraph = self._small = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "small":
            self._small = ""
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "p":
            self._paragraph = attrs.get("class", "").split()[-1]
            self.paragraphs.setdefault(self._paragraph, []).append("")
        elif tag == "a":
            self.links.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "small" and self._small is not None:
            self.small.append(self._small)
            self._small = None
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(self._cell.strip())
            self._cell = None
        elif tag == "p":
            self._paragraph = None

    def handle_data(self, data):
        if self._small is not None:
            self._small += data
        if self._cell is not None:
            self._cell += data
        if self._paragraph is not None:
            self.paragraphs[self._paragraph][-1] += data


def thousands(number):
    return f"+{int(number or 0):,} XP"


def tree_state(root):
    """Every file under the root with its size, mtime and content hash."""
    state = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            with open(path, "rb") as handle:
                state[path] = (info.st_size, info.st_mtime_ns,
                               hashlib.sha256(handle.read()).hexdigest())
    return state


def test_the_user_sees_ranks_levels_and_this_weeks_xp_as_sb_rank_gives_them(ruby, bindir,
                                                                          demo_root):
    widget = Widget(render(ruby, bindir, demo_root, "isa"))
    alltime = personal(bindir, demo_root, "isa", "alltime")
    week = personal(bindir, demo_root, "isa", "rolling-7d")
    gains = {skill["metric"]: skill["xp"] for skill in week["skills"]}
    expected = [["Skill", "Rank", "Level", "Last 7 days"],
                ["Overall", str(alltime["overall"]["rank"]), str(alltime["overall"]["level"]),
                 thousands(week["overall"]["xp"])]]
    expected += [[METRIC_TITLES[skill["metric"]], str(skill["rank"]), str(skill["level"]),
                  thousands(gains.get(skill["metric"]))]
                 for skill in alltime["skills"] if skill["level"] is not None]
    assert widget.rows == expected
    assert len(expected) > 3 and any(row[3] != "+0 XP" for row in expected[1:])


def test_the_newest_achievement_reads_as_sb_news_tells_it(ruby, bindir, demo_root):
    widget = Widget(render(ruby, bindir, demo_root, "isa"))
    events = personal(bindir, demo_root, "isa", "alltime")["achievements"]
    newest = max(events, key=lambda event: event["day"])
    told = describe(newest).replace(f"{newest['day']}: isa ", "")
    assert widget.paragraphs["slurm-scoreboard-achievement"] == [
        f"Newest achievement, {newest['day']}: you {told}."]


def test_each_group_line_names_the_users_best_rank_in_it(ruby, bindir, demo_root):
    widget = Widget(render(ruby, bindir, demo_root, "isa"))
    expected = []
    for group in personal(bindir, demo_root, "isa", "alltime")["groups"][:3]:
        ranks = [(rank, skill) for skill, rank in group["ranks"].items() if rank is not None]
        best = min(ranks, key=lambda pair: pair[0]) if ranks else None
        expected.append(f"Group {group['account']}" +
                        (f": rank {best[0]} in {METRIC_TITLES[best[1]]}" if best else ""))
    assert widget.paragraphs["slurm-scoreboard-group"] == expected and expected


def test_the_link_leads_to_the_users_page_of_the_site_in_ondemands_public_folder(
        ruby, bindir, demo_root, tmp_path):
    public = tmp_path / "var" / "www" / "ood" / "public"
    public.mkdir(parents=True)
    done = export(demo_root, "--format", "html", "--output", public / "hiscores")
    assert done.returncode == 0, done.stderr
    widget = Widget(render(ruby, bindir, demo_root, "isa"))
    assert widget.links == [SITE_URL + "players/isa.html"]
    # OnDemand's Apache: Alias "/public" "/var/www/ood/public", Options FollowSymLinks (the
    # site's folder is a symlink to its newest copy); served here from the folder above it
    handler = partial(QuietHandler, directory=str(public.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}{widget.links[0]}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.status == 200
            page = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "<h1>" in page and "isa" in page


def test_an_opted_out_or_unknown_user_sees_one_friendly_line(ruby, bindir, demo_root,
                                                             tmp_path):
    root = tmp_path / "root"
    shutil.copytree(demo_root, root, symlinks=True)
    opt_out(root, "isa")
    for user in ("isa", "nobody-here"):
        widget = Widget(render(ruby, bindir, root, user))
        assert widget.rows == [] and widget.links == []
        assert widget.paragraphs["slurm-scoreboard-none"][0].startswith(
            f"No hiscores for {user} yet")


def test_no_root_or_no_sb_rank_says_the_hiscores_are_unavailable(ruby, bindir, demo_root,
                                                                  tmp_path):
    for widget in (Widget(render(ruby, bindir, None, "isa")),
                   Widget(render(ruby, tmp_path, demo_root, "isa"))):
        assert widget.rows == []
        assert widget.paragraphs["slurm-scoreboard-none"] == [
            "The hiscores are not available right now."]


def test_hostile_names_and_urls_stay_text(ruby, bindir, tmp_path):
    root = ranked_root(tmp_path)
    text = render(ruby, bindir, root, "dave")
    widget = Widget(text)
    shown = safe_text(HOSTILE)             # its newline as \n, as on a terminal
    assert widget.paragraphs["slurm-scoreboard-group"][0] == f"Group {shown}: rank 1 in CPU-core hours"
    assert "img" not in widget.tags and "script" not in widget.tags
    assert html.escape(shown, quote=True).replace("&#x27;", "&#39;") in text
    hostile_user = Widget(render(ruby, bindir, root, "<script>alert(1)</script>"))
    assert "script" not in hostile_user.tags
    assert hostile_user.paragraphs["slurm-scoreboard-none"][0].startswith(
        "No hiscores for <script>alert(1)</script> yet")
    for site in ("javascript:alert(1)//", '/x"><script>alert(1)</script>', "data:text/html,x"):
        assert Widget(render(ruby, bindir, root, "dave", site=site)).links == []


def test_rendering_only_reads_the_root(ruby, bindir, demo_root):
    before = tree_state(demo_root)
    render(ruby, bindir, demo_root, "isa")
    render(ruby, bindir, demo_root, "nobody-here")
    assert tree_state(demo_root) == before


def test_the_layout_snippet_places_the_widget_by_its_partials_name():
    with open(LAYOUT) as handle:
        text = handle.read()
    name = os.path.basename(PARTIAL)[1:].split(".")[0]
    assert text.startswith("# /etc/ood/config/ondemand.d/")
    assert "dashboard_layout:" in text and f"- {name}\n" in text


def test_chromium_shows_the_fragment_in_bootstrap(ruby, bindir, demo_root, tmp_path):
    chromium = need(shutil.which("chromium") or shutil.which("chromium-browser"),
                    "chromium (apt-get install chromium)")
    css = need(BOOTSTRAP, "Bootstrap 4 (apt-get install libjs-bootstrap4)")
    with open(css) as handle:
        style = handle.read()
    fragment = render(ruby, bindir, demo_root, "isa")
    page = tmp_path / "dashboard.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><style>{style}</style>"
                    "</head><body><div class='container-fluid mt-3'><div class='row'>"
                    f"<div class='col-8'></div><div class='col-4'>{fragment}</div>"
                    "</div></div></body></html>")
    dom = Dom(browse(chromium, tmp_path / "profile", page.as_uri(), "--dump-dom"))
    assert "script" not in dom.tags and "table" in dom.tags
    assert [row[:1] for row in dom.rows if row][0] == ["Overall"]
    folder = os.environ.get("SB_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    shot = os.path.join(folder, "ondemand-widget-1280x800.png")
    browse(chromium, tmp_path / "profile", page.as_uri(), f"--screenshot={shot}",
           "--window-size=1280,800")
    assert png_size(shot) == (1280, 800)
    assert png_colours(shot) > 50


def test_an_unprivileged_user_renders_it_from_a_root_they_may_only_read(ruby, demo_root):
    """As the dashboard does: as the user (here nobody, with the test cluster's tools every
    account can run, $SB_USERS_BIN), over a root they may read but not write."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the widget as another user")
    tools = os.environ.get("SB_USERS_BIN")
    need(tools and os.path.exists(os.path.join(tools, "sb-rank")),
         "$SB_USERS_BIN (tools every account can run: tests/run.sh as root sets it)")
    folder = tempfile.mkdtemp(prefix="sb-widget.", dir="/tmp")
    try:
        os.chmod(folder, 0o755)
        root = os.path.join(folder, "root")
        shutil.copytree(demo_root, root, symlinks=True)
        partial = shutil.copy(PARTIAL, folder)
        subprocess.run(["chmod", "-R", "a+rX,go-w", folder], check=True)
        before = tree_state(root)
        shown = {}
        for user in ("isa", "nobody"):
            done = subprocess.run(
                ["runuser", "-u", "nobody", "--", "env", "-i", "PATH=/usr/bin:/bin",
                 f"USER={user}", f"SLURM_SB_ROOT={root}", f"SLURM_SB_BIN={tools}",
                 f"SLURM_SB_SITE_URL={SITE_URL}", ruby, "-e", RENDER, partial],
                capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            shown[user] = Widget(done.stdout)
        assert [row[0] for row in shown["isa"].rows][:2] == ["Skill", "Overall"]
        assert shown["nobody"].paragraphs["slurm-scoreboard-none"][0].startswith(
            "No hiscores for nobody yet")
        assert tree_state(root) == before
    finally:
        shutil.rmtree(folder)


def human_time(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y-%m-%d %H:%M UTC")


def test_the_time_of_the_boards_reads_as_a_person_reads_it(ruby, bindir, demo_root):
    widget = Widget(render(ruby, bindir, demo_root, "isa"))
    asof = personal(bindir, demo_root, "isa", "alltime")["asof"]
    assert widget.small == [f"as of {human_time(asof)}"]
    assert re.fullmatch(r"as of \d{4}-\d\d-\d\d \d\d:\d\d UTC", widget.small[0])


def test_a_store_held_by_an_update_keeps_no_one_waiting(ruby, bindir, demo_root, tmp_path):
    """The tests run as the root's owner, a writer, who without --from-files reads the store
    under its lock: held here by an update that never ends, as sb-reduce would hold it."""
    root = tmp_path / "root"
    shutil.copytree(demo_root, root, symlinks=True)
    held = []
    try:
        for cluster in os.listdir(root / "clusters"):
            handle = open(root / "clusters" / cluster / "state" / "store.lock", "a")
            fcntl.flock(handle, fcntl.LOCK_EX)
            held.append(handle)
        widget = Widget(render(ruby, bindir, root, "isa"))
    finally:
        for handle in held:
            handle.close()
    assert held and [row[0] for row in widget.rows][:2] == ["Skill", "Overall"]
    assert widget.rows == Widget(render(ruby, bindir, demo_root, "isa")).rows


FAKE = """#!{python}
import os, sys, time
with open(os.path.join(os.path.dirname(sys.argv[0]), "calls.log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
{body}
"""


def fake_sb_rank(folder, body):
    """A folder whose sb-rank logs what it was asked (calls.log beside it), then runs `body`."""
    folder.mkdir(exist_ok=True)
    script = folder / "sb-rank"
    script.write_text(FAKE.format(python=sys.executable, body=body))
    script.chmod(0o755)
    return folder


def calls(folder):
    return (folder / "calls.log").read_text().splitlines()


def test_a_root_being_updated_says_so_in_one_line(ruby, tmp_path):
    folder = fake_sb_rank(tmp_path / "bin", "sys.stderr.write('sb-rank: busy\\n'); sys.exit(3)")
    widget = Widget(render(ruby, folder, tmp_path, "isa"))
    assert widget.rows == [] and widget.links == []
    assert widget.paragraphs["slurm-scoreboard-none"] == [
        "The hiscores are being updated: they are back in a minute."]
    assert calls(folder) == [f"--root {tmp_path} --user isa --window alltime --from-files"]


def test_both_calls_end_by_one_deadline_of_ten_seconds(ruby, bindir, demo_root, tmp_path):
    """Each call takes 6 seconds: the first answers, the second has what is left of the 10
    (4) and is stopped, so the week's column says it does not know (with a 10-second timeout
    each, both answered after 12)."""
    page = tmp_path / "page.json"
    page.write_text(orjson.dumps(personal(bindir, demo_root, "isa", "alltime")).decode())
    folder = fake_sb_rank(tmp_path / "bin", f"time.sleep(6)\nsys.stdout.write(open({str(page)!r}).read())\n"
                                            "open(sys.argv[0] + '.done', 'a').write('done\\n')")
    widget = Widget(render(ruby, folder, demo_root, "isa"))
    assert [call.split()[-2] for call in calls(folder)] == ["alltime", "rolling-7d"]
    assert (folder / "sb-rank.done").read_text() == "done\n"          # the first call only
    assert widget.rows[1][:3] == ["Overall", str(orjson.loads(page.read_text())["overall"]["rank"]),
                                  str(orjson.loads(page.read_text())["overall"]["level"])]
    assert {row[3] for row in widget.rows[1:]} == {"-"}


def test_a_time_that_is_no_time_is_not_shown(ruby, bindir, demo_root, tmp_path):
    page = personal(bindir, demo_root, "isa", "alltime")
    for asof in ("\u202e2026-12-06T07:00:00Z", "soon", None, 12):
        (tmp_path / "page.json").write_text(orjson.dumps(dict(page, asof=asof)).decode())
        folder = fake_sb_rank(tmp_path / "bin", "sys.stdout.write(open("
                              f"{str(tmp_path / 'page.json')!r}).read())")
        widget = Widget(render(ruby, folder, demo_root, "isa"))
        assert widget.small == [] and widget.rows[1][0] == "Overall"


def sb_safe_in_ruby(ruby, texts):
    """The widget's own sb_safe (cut out of the partial) applied to each text, by Ruby."""
    with open(PARTIAL) as handle:
        source = re.search(r"^  sb_safe = lambda do \|value\|\n.*?^  end\n", handle.read(),
                           re.M | re.S).group(0)
    program = "require 'json'\n" + source + \
        "print JSON.generate(JSON.parse(STDIN.read).map { |text| sb_safe.call(text) })"
    done = subprocess.run([ruby, "-e", program], input=orjson.dumps(texts), capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return orjson.loads(done.stdout)


# printable text of characters Ruby's Unicode (13.0) and Python's (14.0) agree on, and any
# control, format, separator or other non-printable character
AGREED = st.characters(categories=("L", "M", "N", "P", "S", "Zs"), max_codepoint=0x5ff)
UNPRINTABLE = st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Zs", "Co"))


@settings(max_examples=25, deadline=None)
@given(texts=st.lists(st.text(AGREED | UNPRINTABLE, max_size=30) |
                      st.text(AGREED, min_size=395, max_size=410), min_size=1, max_size=40))
def test_the_widget_escapes_text_as_safe_text_does(ruby, texts):
    assert sb_safe_in_ruby(ruby, texts) == [safe_text(text) for text in texts]


# -- an answer that is not what sb-rank writes: each number a "-", the card still there ---------

NO_COUNTS = [{"x": 1}, [1, 2], True, -123456, "9e99", 1.5e300, 10 ** 16, None]


def answering(tmp_path, page):
    """A folder whose sb-rank prints `page` (bytes) for every window."""
    (tmp_path / "page.json").write_bytes(page)
    return fake_sb_rank(tmp_path / "bin", "sys.stdout.buffer.write(open("
                        f"{str(tmp_path / 'page.json')!r}, 'rb').read())")


@pytest.mark.parametrize("value", NO_COUNTS, ids=repr)
def test_a_rank_level_or_xp_that_is_no_count_shows_a_dash(ruby, bindir, demo_root, tmp_path,
                                                          value):
    page = personal(bindir, demo_root, "isa", "alltime")
    skills = [dict(skill, rank=value, xp=value, level=value if value is not None else 1)
              for skill in page["skills"] if skill["level"] is not None]
    groups = [dict(group, ranks={skill: value for skill in group["ranks"]})
              for group in page["groups"]]
    planted = dict(page, overall={"rank": value, "level": value, "xp": value}, skills=skills,
                   groups=groups)
    widget = Widget(render(ruby, answering(tmp_path, orjson.dumps(planted)), demo_root, "isa"))
    assert widget.rows[1:] == [["Overall", "-", "-", "-"]] + \
        [[METRIC_TITLES[skill["metric"]], "-", "-" if value is not None else "1", "-"]
         for skill in skills]
    assert widget.paragraphs["slurm-scoreboard-group"] == [
        f"Group {group['account']}" for group in groups[:3]]
    assert "slurm-scoreboard-none" not in widget.paragraphs


def test_counts_as_sb_rank_writes_them_are_shown_whole(ruby, bindir, demo_root, tmp_path):
    page = personal(bindir, demo_root, "isa", "alltime")
    planted = dict(page, overall={"rank": 0, "level": 12.0, "xp": 10 ** 15 - 1})
    widget = Widget(render(ruby, answering(tmp_path, orjson.dumps(planted)), demo_root, "isa"))
    assert widget.rows[1] == ["Overall", "0", "12", f"+{10 ** 15 - 1:,} XP"]


UNAVAILABLE = {"slurm-scoreboard-none": ["The hiscores are not available right now."]}


@pytest.mark.parametrize("planted, rows, paragraphs", [
    (b"[1, 2]", [], UNAVAILABLE),
    (b'{"overall": [1, 2], "skills": {"a": 1}, "groups": "x", "achievements": [3]}',
     [["Skill", "Rank", "Level", "Last 7 days"], ["Overall", "-", "-", "-"]], {}),
    (b'{"skills": [{"metric": "\xff_x", "level": 1}]}', [], UNAVAILABLE),   # Ruby's tr raises
], ids=["a list", "fields of another shape", "text not UTF-8"])
def test_an_answer_the_card_cannot_be_made_of_says_the_hiscores_are_unavailable(
        ruby, tmp_path, planted, rows, paragraphs):
    widget = Widget(render(ruby, answering(tmp_path, planted), tmp_path, "isa"))
    assert (widget.rows, widget.paragraphs) == (rows, paragraphs)
