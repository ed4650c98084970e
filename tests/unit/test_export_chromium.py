"""The static site in a real headless Chromium (Debian's chromium package), served by Python's
http.server on loopback as the README publishes it (and from file://): the DOM holds the top
user and shows a hostile account name as text, never as an element, the search finds pages by
the start of a name, and screenshots are taken at desktop (1280x800) and phone (390x844) sizes.
$SB_SCREENSHOTS keeps the screenshots in that folder.

What only a script in the page could tell (where the URL went after a search, how wide the
page is laid out) a probe page of the test's server finds out: it loads the site's page in a
frame filling the window, acts on it (fills and sends the search form), and writes what it saw
into its own DOM for --dump-dom. The site's pages themselves run no script of the test's.

Without chromium the tests are skipped, except under CI=true, where that is a failure."""
import hashlib
import html
import json
import os
import re
import shutil
import struct
import subprocess
import threading
import zlib
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from export_helpers import HOSTILE, NOW, export, ranked_root
from reduce_helpers import ndjson, tool
from test_efficiency import measured

from slurm_scoreboard.export.site import charts

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
HOSTILE_PAGE = "groups/~" + hashlib.sha256(HOSTILE.encode()).hexdigest()[:32] + ".html"


@pytest.fixture(scope="module")
def chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium not found; CI must have it (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not found (apt-get install chromium)")
    return found


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# The probe: `page` (a path of the site) in a frame of the window's size (in pixels: headless
# Chromium lays a window narrower than 500 pixels out at 500, but a frame at its own width, as
# a phone's browser does; a screenshot is taken at the size asked); at each load of the
# frame it notes the frame's URL, first heading, layout width and charts' boxes, then does the
# next of `steps` (a search: fill the first search form with the text and send it).
PROBE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<pre id="seen"></pre><iframe id="frame" style="position:fixed;top:0;left:0;border:0;
width:%(width)dpx;height:%(height)dpx"></iframe><script>
var steps = %(steps)s, seen = [], frame = document.getElementById("frame");
frame.onload = function () {
  var w = frame.contentWindow, d = frame.contentDocument, heading = d.querySelector("h1");
  function boxes(selector) {
    return Array.prototype.map.call(d.querySelectorAll(selector), function (element) {
      var box = element.getBoundingClientRect();
      return [box.left, box.top + w.scrollY, box.width, box.height];
    });
  }
  seen.push({url: w.location.href, h1: heading ? heading.textContent : null,
             scrollWidth: d.documentElement.scrollWidth, innerWidth: w.innerWidth,
             charts: boxes("svg.chart"), weeks: boxes("div.week"),
             images: d.querySelectorAll("img").length});
  document.getElementById("seen").textContent = JSON.stringify(seen);
  var step = steps.shift();
  if (step !== undefined) {
    var form = d.querySelector("form.search");
    form.querySelector("input").value = step;
    form.submit();
  }
};
frame.src = %(page)s;
</script></body></html>"""


class SiteHandler(QuietHandler):
    """The site's files, and /probe?page=P&step=TEXT... (see PROBE)."""

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path != "/probe":
            return super().do_GET()
        query = parse_qs(parts.query)
        page = "/" + query["page"][0]
        body = PROBE % {"steps": json.dumps(query.get("step", [])), "page": json.dumps(page),
                        "width": int(query["width"][0]), "height": int(query["height"][0])}
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def measure(root):
    """What the daily step poll measured of alice's and bob's jobs on hammer, ranked again: the
    pages get their efficiency table (the widest of a player's page)."""
    records = [measured(1, "alice", "2025-08-30T00:00:00Z", cpus=4, elapsed=40 * 3600,
                        mem=8 << 30, rss=3 << 30),
               measured(3, "bob", "2025-08-20T00:00:00Z", cpus=1, elapsed=6 * 3600, gpus=2,
                        util=61.5, mem=2 << 30, rss=1 << 30)]
    done = tool("sb_reduce", ["--root", str(root), "--cluster", "hammer", "--usage", "-q"],
                ndjson(records))
    assert done.returncode == 0, done.stderr
    done = tool("sb_rank", ["--root", str(root), "--now", NOW])
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A freshly exported site's folder."""
    root = ranked_root(tmp_path_factory.mktemp("root"))
    measure(root)
    site = tmp_path_factory.mktemp("www") / "hiscores"
    done = export(root, "--format", "html", "--output", site)
    assert done.returncode == 0, done.stderr
    return site


@pytest.fixture(scope="module")
def served(site):
    """The base URL of the site served on loopback."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SiteHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def probe(chromium, profile, served, page, *steps, size=(1280, 800)):
    """What the probe page saw at each load of `page`'s frame (see PROBE)."""
    url = served + f"probe?width={size[0]}&height={size[1]}&page=" + quote(page) + \
        "".join("&step=" + quote(s) for s in steps)
    text = browse(chromium, profile, url, "--dump-dom", "--virtual-time-budget=10000",
                  f"--window-size={size[0]},{size[1]}")
    found = re.search(r'<pre id="seen">(.*?)</pre>', text, re.S)
    assert found, text[-2000:]
    return json.loads(html.unescape(found.group(1)))


def browse(chromium, profile, url, *options):
    """Chromium's DOM or screenshot of `url`, its profile and home (crash reports, dconf) in
    the test's folder, not the running user's."""
    home = os.path.join(str(profile), "home")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
               XDG_CACHE_HOME=os.path.join(home, ".cache"))
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                           f"--user-data-dir={profile}", *options, url],
                          capture_output=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode()


class Dom(HTMLParser):
    """The tags of a serialised DOM, each with its text, and the table rows' cells."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.rows, self.headings, self.texts = [], [], [], []
        self._where = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "h1"):
            self._where = tag

    def handle_endtag(self, tag):
        if tag in ("td", "h1"):
            self._where = None

    def handle_data(self, data):
        self.texts.append(data)
        if self._where == "td" and self.rows:
            self.rows[-1].append(data)
        elif self._where == "h1":
            self.headings.append(data)


def png_size(path):
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def png_pixels(path):
    """(width, height, rows): each row a list of RGB bytes (8-bit RGB or RGBA PNG)."""
    with open(path, "rb") as handle:
        data = handle.read()
    chunks, at, head = [], 8, None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IHDR":
            head = struct.unpack(">IIBB", data[at + 8:at + 18])
        elif kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + length])
        at += 12 + length
    width, height, depth, colour = head
    assert depth == 8 and colour in (2, 6), head
    size = 3 if colour == 2 else 4
    raw, stride, rows, above = zlib.decompress(b"".join(chunks)), width * size, [], None
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        previous = above or bytearray(stride)
        for x in range(stride):
            a = line[x - size] if x >= size else 0
            b, c = previous[x], previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([bytes(line[i:i + 3]) for i in range(0, stride, size)])
        above = line
    return width, height, rows


def pixels_in(path, left, top, width, height):
    """The RGB bytes of the pixels of a box of a screenshot."""
    _, _, rows = png_pixels(path)
    return [pixel for row in rows[int(top):int(top + height)]
            for pixel in row[int(left):int(left + width)]]


def png_colours(path):
    """How many byte values the image's pixels use (a blank page uses very few)."""
    with open(path, "rb") as handle:
        data = handle.read()
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + length])
        at += 12 + length
    return len(set(zlib.decompress(b"".join(chunks))))


def test_the_front_page_shows_the_top_user_first(chromium, served, tmp_path):
    dom = Dom(browse(chromium, tmp_path / "profile", served + "index.html", "--dump-dom"))
    ranked = [cells for cells in dom.rows if cells]
    assert ranked[0][:2] == ["1", "alice"]
    assert "Overall hiscores" in dom.headings
    assert "script" not in dom.tags and "img" not in dom.tags


def test_a_hostile_account_is_shown_as_text_not_run(chromium, served, tmp_path):
    dom = Dom(browse(chromium, tmp_path / "profile", served + HOSTILE_PAGE, "--dump-dom"))
    assert dom.headings == ["Group scores for " + HOSTILE.replace("\n", "\\n")]
    assert "img" not in dom.tags and "script" not in dom.tags
    board = Dom(browse(chromium, tmp_path / "profile",
                       served + "boards/groups/alltime/overall.html", "--dump-dom"))
    assert "img" not in board.tags and "script" not in board.tags
    assert any(HOSTILE.replace("\n", "\\n") in cells for cells in board.rows)


SHOTS = {"front": "index.html", "player": "players/alice.html", "group": "groups/proj.html",
         "hostile-group": HOSTILE_PAGE}
CHART_COLOURS = {bytes.fromhex(colour[1:]) for colour in charts.COLOURS.values()}


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("name", sorted(SHOTS))
def test_screenshots_at_desktop_and_phone_sizes(chromium, served, site, tmp_path, size, name):
    """Nothing is wider than the window; a player's or group's page shows its charts in the
    first screen (pixels of the charts' colours inside the first chart's box), the front page
    its week."""
    width, height = SIZES[size]
    (seen,) = probe(chromium, tmp_path / "profile", served, SHOTS[name], size=(width, height))
    assert seen["innerWidth"] == width
    assert seen["scrollWidth"] <= seen["innerWidth"], seen
    if name in ("player", "group"):                 # the widest table scrolls in its place
        page = (site / SHOTS[name]).read_text()
        assert '<h2>Efficiency</h2><div class="wide"><table>' in page
    folder = os.environ.get("SB_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    shot = os.path.join(folder, f"{name}-{size}-{width}x{height}.png")
    browse(chromium, tmp_path / "profile", served + SHOTS[name], f"--screenshot={shot}",
           f"--window-size={width},{height}")
    assert png_size(shot) == (width, height)
    assert png_colours(shot) > 50
    if name == "front":
        (left, top, box_width, box_height), = seen["weeks"]
        assert top < height and box_width > width / 2 and box_height > 50
        return
    assert len(seen["charts"]) == 2
    left, top, box_width, box_height = seen["charts"][0]
    assert box_width >= min(300, width - 60) and box_height > 100 and top < height - 100
    inside = pixels_in(shot, left, top, box_width, min(box_height, height - top))
    assert sum(1 for pixel in inside if pixel in CHART_COLOURS) > 30


def test_a_search_from_any_page_goes_to_the_page_of_the_one_name_it_starts(chromium, served,
                                                                            tmp_path):
    seen = probe(chromium, tmp_path / "profile", served, HOSTILE_PAGE, "al")
    assert seen[-1]["url"] == served + "players/alice.html"
    assert seen[-1]["h1"] == "Personal scores for alice"
    assert seen[0]["url"] == served + HOSTILE_PAGE          # sent from there, by its form
    seen = probe(chromium, tmp_path / "profile", served, "players/alice.html", "EV")
    assert seen[-1]["url"] == served + HOSTILE_PAGE and seen[-1]["images"] == 0


def test_a_search_several_names_start_lists_them_as_text(chromium, served, tmp_path):
    dom = Dom(browse(chromium, tmp_path / "profile", served + "search.html?q=e", "--dump-dom",
                     "--virtual-time-budget=5000"))
    assert dom.headings == ["Find a player or group"]
    listed = [text for text in dom.texts if text in ("erin", HOSTILE.replace("\n", "\\n"))]
    assert listed == ["erin", HOSTILE.replace("\n", "\\n")]
    assert "img" not in dom.tags and dom.tags.count("script") == 2     # the page's own two


def test_the_search_works_from_file_urls_too(chromium, site, tmp_path):
    page = (site / "search.html").resolve().as_uri()
    dom = Dom(browse(chromium, tmp_path / "profile", page + "?q=Alice", "--dump-dom",
                     "--virtual-time-budget=5000"))
    assert dom.headings == ["Personal scores for alice"]
    dom = Dom(browse(chromium, tmp_path / "profile", page + "?q=nobody", "--dump-dom",
                     "--virtual-time-budget=5000"))
    assert "No player or group name starts with that." in dom.texts
