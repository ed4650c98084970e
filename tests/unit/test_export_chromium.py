"""The static site in a real headless Chromium (Debian's chromium package), served by Python's
http.server on loopback as the README publishes it: the DOM holds the top user and shows a
hostile account name as text, never as an element, and screenshots are taken at desktop
(1280x800) and phone (390x844) sizes. $SB_SCREENSHOTS keeps the screenshots in that folder.

Without chromium the tests are skipped, except under CI=true, where that is a failure."""
import hashlib
import os
import shutil
import struct
import subprocess
import threading
import zlib
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from export_helpers import HOSTILE, export, ranked_root

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


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The base URL of a freshly exported site served on loopback."""
    root = ranked_root(tmp_path_factory.mktemp("root"))
    site = tmp_path_factory.mktemp("www") / "hiscores"
    done = export(root, "--format", "html", "--output", site)
    assert done.returncode == 0, done.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def browse(chromium, profile, url, *options):
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                           f"--user-data-dir={profile}", *options, url],
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode()


class Dom(HTMLParser):
    """The tags of a serialised DOM, each with its text, and the table rows' cells."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.rows, self.headings = [], [], []
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
        if self._where == "td" and self.rows:
            self.rows[-1].append(data)
        elif self._where == "h1":
            self.headings.append(data)


def png_size(path):
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


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


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("page", ["index.html", HOSTILE_PAGE])
def test_screenshots_at_desktop_and_phone_sizes(chromium, served, tmp_path, size, page):
    width, height = SIZES[size]
    folder = os.environ.get("SB_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    name = "front" if page == "index.html" else "hostile-group"
    shot = os.path.join(folder, f"{name}-{size}-{width}x{height}.png")
    browse(chromium, tmp_path / "profile", served + page, f"--screenshot={shot}",
           f"--window-size={width},{height}")
    assert png_size(shot) == (width, height)
    assert png_colours(shot) > 50
