"""Every field of a file a writer of the root can plant stays text wherever it is shown.

records.json, competitions.json (also as the page of a competition whose standings file is
missing), competitions/<id>.json, the group statistics and the board rows are read by accounts
that did not write them. Each field of each (the cluster, accounts,
status, labels, ids, titles, users, numbers) is planted with each hostile string (escape
sequences, BEL, newlines, markup, quotes, 10,000 characters, C1 controls and a bidi override,
bytes that are not UTF-8) and, as a property, with any JSON value of any type; then:

- the static site (sb-export --format html): every page holds no control character and no
  markup but the site's own (tags and attributes of a known set), and the planted text is shown,
  escaped, where the field is shown;
- the TUI (sb-view --snapshot: the records, a competition, a player's and a group's page): no
  control character reaches the terminal;
- OpenMetrics (sb-export --format openmetrics): still parsed by the OpenMetrics and the
  Prometheus parsers, no control character;
- none of them raises; a file that is not JSON (not UTF-8) is named as left out.

The renderers run in-process on one root, each planted file restored after its case; one test
per hostile string runs the real commands.
"""
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import orjson
import pytest
from export_helpers import NOW, hours
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus_text
from reduce_helpers import ENV, job, reduce, tool

from slurm_scoreboard import errors
from slurm_scoreboard.core.names import safe_text
from slurm_scoreboard.export import openmetrics, site
from slurm_scoreboard.export.leaderboard_files import LeaderboardFiles
from slurm_scoreboard.view import ansi, display, screens
from slurm_scoreboard_tools import sb_view

NOT_UTF8 = "\ufdd0not-utf-8\ufdd0"       # replaced by raw bytes once the file is serialised
RAW_NOT_UTF8 = b"\xff\xfe\xc3\x28\x1b[2J"
HOSTILE = {
    "ESC": "\x1b[31mred\x1b[0m\x1b]0;retitled\x07\x1b[2J",
    "BEL": "ding\x07\x07",
    "newline": "one\ntwo\r\nthree",
    "script": "<script>alert(1)</script>",
    "quotes": "x\"y'z\"><img src=x onerror=alert(2)>&amp;",
    "10,000 characters": "W" * 9995 + "<b>&\x1b.",
    "C1 and bidi": "\x9b31m\u202eevil\x00nul\x7f",
    "not UTF-8": NOT_UTF8,
}
CONTESTS = [{"id": "aug", "title": "August", "skills": ["clock_hours", "jobs"],
             "from": "2025-08-01", "to": "2025-08-31", "cluster": "hammer",
             "accounts": ["proj", "chem"]},
            {"id": "trio", "title": "Trio", "skills": ["jobs"], "from": "2025-08-01",
             "to": "2025-08-31", "users": ["alice", "bob", "carol"]}]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """One cluster, three users in two accounts, two competitions, ranked."""
    root = tmp_path_factory.mktemp("planted")
    os.makedirs(root / "config")
    (root / "config" / "competitions.json").write_bytes(orjson.dumps({"competitions": CONTESTS}))
    jobs = [job(1, "alice", "2025-08-30T00:00:00Z", **hours(40, 4)),
            job(2, "alice", "2025-08-04T00:00:00Z", account="chem", **hours(3)),
            job(3, "bob", "2025-08-20T00:00:00Z", gpus=2, **hours(6)),
            job(4, "carol", "2025-08-29T00:00:00Z", state="FAILED", account="chem", **hours(3))]
    done, _ = reduce(root, jobs)
    assert done.returncode == 0, done.stderr
    done = tool("sb_rank", ["--root", str(root), "--now", NOW])
    assert done.returncode == 0, done.stderr
    return str(root)


# -- the fields ----------------------------------------------------------------------------------

RECORD = {"scope": "all", "kind": "users", "skill": "clock_hours", "period": "week"}
GROUP_RECORD = {"scope": "all", "kind": "groups", "skill": "clock_hours", "period": "day"}
AUG = {"id": "aug"}
PROJ = {"account": "proj"}
STATS = "groups/alltime_stats.json"

# A competition whose standings file is missing is shown from its entry in competitions.json
# (sb-rank writes no rows there; a planted entry may have some).
SUMMARY = "competitions.json, no standings"
SUMMARY_ROW = {"rank": 1, "user": "alice", "xp_gained": 5, "levels_gained": 1,
               "skills": {"clock_hours": {"gained": 1.5}}}

class IfPrintable(str):
    """The page where an account shows when safe_text shows it as it is; one with a control,
    format or separator character (or too long) is left out by every reader."""


# (file under leaderboards/, path of the field: keys, indexes, or a dict naming the list item
# whose fields it matches; the page where the planted text must show when it is text)
FIELDS = [
    ("records.json", ["asof"], None),
    ("records.json", ["records"], None),
    ("records.json", ["records", RECORD], None),
    *[("records.json", ["records", RECORD, field], None)
      for field in ("scope", "kind", "skill", "period", "first_day", "last_day", "value", "xp")],
    ("records.json", ["records", RECORD, "user"], "records.html"),
    ("records.json", ["records", RECORD, "label"], "records.html"),
    ("records.json", ["records", GROUP_RECORD, "account"], "records.html"),
    ("competitions.json", ["asof"], None),
    ("competitions.json", ["competitions"], None),
    ("competitions.json", ["competitions", AUG], None),
    *[("competitions.json", ["competitions", AUG, field], None)
      for field in ("id", "title", "skills", "from", "to", "status", "cluster", "accounts",
                    "users")],
    ("competitions.json", ["competitions", AUG, "accounts", 0], None),
    *[("competitions/aug.json", [field], None)
      for field in ("id", "skills", "asof", "rows", "accounts", "users")],
    *[("competitions/aug.json", [field], "competitions.html")
      for field in ("title", "status", "from", "to", "cluster")],
    ("competitions/aug.json", ["accounts", 0], "competitions.html"),
    ("competitions/aug.json", ["skills", 0], None),
    ("competitions/aug.json", ["rows", 0], None),
    *[("competitions/aug.json", ["rows", 0, field], None)
      for field in ("rank", "xp_gained", "levels_gained", "skills")],
    ("competitions/aug.json", ["rows", 0, "user"], "competitions.html"),
    *[("competitions/aug.json", ["rows", 0, "skills", "clock_hours", field], None)
      for field in ("gained", "xp", "start_level", "end_level")],
    ("competitions/trio.json", ["users", 0], "competitions.html"),
    *[(SUMMARY, ["competitions", AUG, field], None)
      for field in ("skills", "rows", "accounts", "users")],
    *[(SUMMARY, ["competitions", AUG, field], "competitions.html")
      for field in ("title", "status", "from", "to", "cluster")],
    (SUMMARY, ["competitions", AUG, "accounts", 0], "competitions.html"),
    (SUMMARY, ["competitions", AUG, "rows", 0], None),
    *[(SUMMARY, ["competitions", AUG, "rows", 0, field], None)
      for field in ("rank", "xp_gained", "levels_gained", "skills")],
    (SUMMARY, ["competitions", AUG, "rows", 0, "user"], "competitions.html"),
    (SUMMARY, ["competitions", AUG, "rows", 0, "skills", "clock_hours", "gained"], None),
    *[(STATS, [field], None) for field in ("asof", "window", "cluster", "groups")],
    (STATS, ["groups", PROJ], None),
    *[(STATS, ["groups", PROJ, field], None)
      for field in ("members", "members_99", "average_levels", "average_total_level",
                    "total_xp", "users", "ranks", "member_xp")],
    (STATS, ["groups", PROJ, "account"], IfPrintable("players/alice.html")),
    (STATS, ["groups", PROJ, "users", 0], None),
    (STATS, ["groups", PROJ, "average_levels", "clock_hours"], None),
    (STATS, ["groups", PROJ, "ranks", "alice"], None),
    (STATS, ["groups", PROJ, "ranks", "alice", "clock_hours"], None),
    (STATS, ["groups", PROJ, "member_xp", "alice"], None),
    ("alltime_jobs.json", ["rows", 0, "user"], None),
    *[("alltime_jobs.json", ["rows", 0, field], None)
      for field in ("rank", "value", "xp", "level")],
    ("groups/alltime_jobs.json", ["rows", 0, "account"],
     IfPrintable("boards/groups/alltime/jobs.html")),
    ("groups/alltime_jobs.json", ["rows", 0, "members"], None),
]


def field_id(field):
    document, path, _ = field
    parts = [next(iter(p.values())) if isinstance(p, dict) else str(p) for p in path]
    return f"{document}:{'.'.join(parts)}"


def locate(container, step):
    """The key or index `step` names in `container` (a dict step: the first list item whose
    fields it matches)."""
    if isinstance(step, dict):
        return next(i for i, item in enumerate(container)
                    if isinstance(item, dict) and all(item.get(k) == v for k, v in step.items()))
    return step


def planted_bytes(original: bytes, paths, value, summary=False) -> bytes:
    """The file with the field at each of `paths` set to `value` (in a competitions.json whose
    entry of aug has rows, for SUMMARY)."""
    document = orjson.loads(original)
    if summary:
        entry = document["competitions"][locate(document["competitions"], AUG)]
        entry["rows"] = [orjson.loads(orjson.dumps(SUMMARY_ROW))]
    for path in paths:
        container = document
        for step in path[:-1]:
            container = container[locate(container, step)]
        container[locate(container, path[-1])] = value
    data = orjson.dumps(document)
    return data.replace(NOT_UTF8.encode(), RAW_NOT_UTF8)


class Planted:
    """Fields (each a path) of a root's file set to a value, the file restored afterwards."""

    def __init__(self, root, document, paths, value):
        self.summary = document == SUMMARY
        self.file = os.path.join(root, "leaderboards",
                                 "competitions.json" if self.summary else document)
        self.standings = os.path.join(root, "leaderboards", "competitions", "aug.json")
        self.paths, self.value = paths, value

    def __enter__(self):
        with open(self.file, "rb") as handle:
            self.original = handle.read()
        planted = planted_bytes(self.original, self.paths, self.value, self.summary)
        with open(self.file, "wb") as handle:
            handle.write(planted)
        if self.summary:
            os.rename(self.standings, self.standings + ".away")
        return self

    def __exit__(self, *exc):
        with open(self.file, "wb") as handle:
            handle.write(self.original)
        if self.summary:
            os.rename(self.standings + ".away", self.standings)


# -- what every output must be -------------------------------------------------------------------

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TAGS = {"html", "head", "meta", "title", "style", "body", "header", "a", "nav", "main", "h1",
        "h2", "div", "span", "strong", "aside", "ul", "li", "section", "table", "caption",
        "thead", "tbody", "tr", "th", "td", "p", "footer", "br", "form", "input", "button",
        "h3", "figure", "figcaption", "svg", "g", "line", "polyline", "circle", "rect", "text"}
ATTRIBUTES = {"href", "class", "id", "aria-current", "lang", "charset", "name", "content",
              "http-equiv", "role", "method", "action", "type", "maxlength", "autocomplete",
              "placeholder", "aria-label", "autofocus",
              # the charts' SVG
              "viewbox", "width", "height", "font-family", "font-size", "aria-hidden", "x", "y",
              "x1", "x2", "y1", "y2", "cx", "cy", "r", "points", "fill", "stroke",
              "stroke-width", "text-anchor", "preserveaspectratio", "data-month", "data-skill",
              "data-xp", "data-value"}
SCRIPTS = {"search.html": 2}      # the search page's index (a data block) and its own script


class Page(HTMLParser):
    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.text = set(), set(), []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data):
        self.text.append(data)


def assert_no_control_character(text, where):
    found = CONTROL.search(text)
    assert found is None, f"{where}: {found.group()!r} at {found.start()}"


def site_of(root):
    """path -> text of every page sb-export --format html writes, and what it left out."""
    files = LeaderboardFiles(root)
    pages = {path: data.decode("utf-8") for path, data in site.Site(files, 100).pages()}
    return pages, files.problems


def assert_site_is_text(pages, value, shown_in, unchanged=None):
    """No control character and no markup of its own in any page (those the same as in
    `unchanged`, checked already, are skipped); the value shown where it is shown."""
    for path, text in pages.items():
        if unchanged is not None and unchanged.get(path) == text:
            continue
        assert_no_control_character(text, path)
        page = Page(text)
        assert text.count("<script") == SCRIPTS.get(path, 0), path
        assert page.tags - {"script"} <= TAGS, (path, page.tags - TAGS)
        assert page.attributes <= ATTRIBUTES, (path, page.attributes - ATTRIBUTES)
    if isinstance(shown_in, IfPrintable) and isinstance(value, str) and \
            safe_text(value) != value:
        assert site.esc(value) not in pages.get(shown_in, ""), shown_in
        return
    if shown_in and isinstance(value, str) and value != NOT_UTF8:
        shown = site.esc(value)                      # cleaned and cut as names are shown
        assert shown_in in pages and shown in pages[shown_in], shown_in
        assert display.clean(value) in "".join(Page(pages[shown_in]).text), shown_in


VIEWS = {"records": ["--records"], "group records": ["--records", "--groups"],
         "competition": ["--competition", "aug"], "player": ["--user", "alice"],
         "group": ["--groups", "--user", "proj"]}


def view_text(root, args):
    """sb-view --snapshot's text of a page, as printed with colour (non-ASCII kept) and
    without; a clean refusal (no such competition, after a planted id) is one line."""
    parsed = sb_view.build_parser().parse_args(["--root", root, "--snapshot", *args])
    try:
        state = sb_view.open_state(root, parsed)
    except errors.ToolError as err:
        return str(err)
    return "".join(ansi.render(screens.snapshot_lines(state, 120, 0, ascii_only), 0)
                   for ascii_only in (False, True))


def metrics_of(root):
    return openmetrics.exposition(LeaderboardFiles(root), 100)


def assert_metrics_are_text(text):
    assert_no_control_character(text.replace("\n", ""), "openmetrics")
    for parse in (parse_om, parse_prometheus_text):
        assert sum(len(family.samples) for family in parse(text)) > 10


@pytest.fixture(scope="module")
def unplanted(root):
    """The site and the metrics before anything is planted, checked once: a case checks only
    what its planted field changed."""
    pages, problems = site_of(root)
    assert problems == [] and len(pages) > 100
    assert_site_is_text(pages, None, None)
    metrics = metrics_of(root)
    assert_metrics_are_text(metrics)
    return pages, metrics


def assert_every_output_is_text(root, unplanted, value, shown_in):
    pages, problems = site_of(root)
    assert_site_is_text(pages, value, shown_in, unplanted[0])
    for problem in problems:
        assert_no_control_character(problem, "a problem named")
    for name, args in VIEWS.items():
        assert_no_control_character(view_text(root, args).replace("\n", ""), name)
    metrics = metrics_of(root)
    if metrics != unplanted[1]:
        assert_metrics_are_text(metrics)
    return problems


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", FIELDS, ids=[field_id(f) for f in FIELDS])
def test_a_planted_field_stays_text_in_the_site_the_tui_and_openmetrics(root, unplanted, field,
                                                                        hostile):
    document, path, shown_in = field
    with Planted(root, document, [path], hostile):
        problems = assert_every_output_is_text(root, unplanted, hostile, shown_in)
    if hostile == NOT_UTF8 and not document.startswith(("alltime_", "groups/alltime_jobs")):
        named = "competitions.json" if document == SUMMARY else document
        assert any(named in problem for problem in problems)      # named as left out


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 64 - 1) |
    st.floats(allow_nan=False, allow_infinity=False) |
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) |
    st.sampled_from(list(HOSTILE.values())),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=8)


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(FIELDS), value=JSON)
def test_any_value_of_any_type_in_any_field_is_shown_as_text_or_left_out(root, unplanted, field,
                                                                         value):
    document, path, _ = field
    with Planted(root, document, [path], value):
        assert_every_output_is_text(root, unplanted, value, None)


# -- the commands --------------------------------------------------------------------------------

BUNDLE = [("records.json", ["records", RECORD, "user"]),
          ("records.json", ["records", RECORD, "label"]),
          ("competitions/aug.json", ["title"]), ("competitions/aug.json", ["status"]),
          ("competitions.json", ["competitions", AUG, "cluster"]),
          (STATS, ["groups", PROJ, "users", 0]),
          ("alltime_overall.json", ["rows", 0, "user"])]


def command(args):
    return subprocess.run([sys.executable, "-m"] + args, capture_output=True,
                          env=dict(ENV, PYTHONIOENCODING="utf-8"))


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_commands_show_planted_text_as_text_and_say_what_they_left_out(root, hostile,
                                                                          tmp_path):
    copy = shutil.copytree(root, str(tmp_path / "root"))
    for document in {document for document, _ in BUNDLE}:
        Planted(copy, document, [path for name, path in BUNDLE if name == document],
                hostile).__enter__()
    runs = {
        "html": (["slurm_scoreboard_tools.sb_export", "--root", copy, "--format", "html",
                  "--output", str(tmp_path / "site")], (0, 4)),
        "openmetrics": (["slurm_scoreboard_tools.sb_export", "--root", copy, "--format",
                         "openmetrics"], (0, 4)),
        **{name: (["slurm_scoreboard_tools.sb_view", "--root", copy, "--snapshot", "--width",
                   "100", "--color", color, *VIEWS[name]], (0, 1, 5))
           for name, color in (("records", "always"), ("competition", "never"),
                               ("player", "always"))},
    }
    for name, (args, codes) in runs.items():
        done = command(args)
        assert done.returncode in codes, (name, done.stderr)
        err = done.stderr.decode("utf-8")
        assert "Traceback" not in err and all(line.startswith(("sb-export: ", "sb-view: "))
                                             for line in err.splitlines()), (name, err)
        out = done.stdout.decode("utf-8")
        if "--color" in args and args[args.index("--color") + 1] == "always":
            out = re.sub("\x1b\\[[0-9;]*m", "", out)     # the view's own colours
        assert_no_control_character(out.replace("\n", "") + err.replace("\n", ""), name)
    pages = {}
    for folder, _, names in os.walk(tmp_path / "site"):
        for name in names:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                pages[name] = handle.read()
    assert_site_is_text(pages, hostile, None)


@pytest.mark.parametrize("users", [None, 7, "alice", {"a": 1}, [None, 3, "bob"]])
def test_a_group_s_member_list_that_is_not_a_list_of_names_is_read_as_its_names(root, unplanted,
                                                                                users):
    # found by the property above: "users": null in a planted statistics file crashed the site
    with Planted(root, STATS, [["groups", PROJ, "users"]], users):
        assert_every_output_is_text(root, unplanted, "", None)


@pytest.mark.parametrize("name", ["xp.json", "efficiency.json", "competitions.json"])
def test_a_planted_huge_config_is_refused_in_one_line_without_reading_it(tmp_path, name):
    """A sparse gigabyte costs the planter nothing: it is refused by its size, never read."""
    import resource

    from slurm_scoreboard.core.files import read_config
    from slurm_scoreboard.errors import ConfigError
    path = tmp_path / name
    with open(path, "wb") as handle:
        handle.truncate(1 << 30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigError, match="larger than"):
        read_config(str(path))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024   # KiB


def test_a_planted_huge_news_cursor_is_refused(tmp_path):
    from slurm_scoreboard.errors import CursorCorrupt
    from slurm_scoreboard.history import news
    path = tmp_path / "x.seen"
    with open(path, "wb") as handle:
        handle.truncate(1 << 30)
    with pytest.raises(CursorCorrupt, match="larger than"):
        news.load(str(path))
