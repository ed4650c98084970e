"""sb-export --format html: the pages there are, their links, escaping of hostile names, the
optional records and competitions pages, and a site replaced whole (a reader never sees half of
one, whenever the writer is killed)."""
import base64
import fcntl
import hashlib
import json
import os
import posixpath
import re
import shutil
import signal
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import orjson
import pytest
from export_helpers import (
    HOSTILE,
    NOW,
    export,
    hours,
    opt_out,
    ranked_root,
    read_board,
    write_board,
)
from reduce_helpers import ENV, job, reduce, tool

HOSTILE_PAGE = "groups/~" + hashlib.sha256(HOSTILE.encode()).hexdigest()[:32] + ".html"


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    return ranked_root(tmp_path_factory.mktemp("root"))


@pytest.fixture(scope="module")
def site(ranked, tmp_path_factory):
    target = tmp_path_factory.mktemp("www") / "hiscores"
    done = export(ranked, "--format", "html", "--output", target)
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture
def root(ranked, tmp_path):
    return shutil.copytree(str(ranked), str(tmp_path / "root"))


def pages(folder):
    """{relative path: text} of every file of a site (through its symlink)."""
    found = {}
    for where, _, names in os.walk(str(folder)):
        for name in names:
            path = os.path.join(where, name)
            with open(path, encoding="utf-8") as handle:
                found[os.path.relpath(path, str(folder))] = handle.read()
    return found


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of one page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_every_board_player_and_group_has_a_page(site):
    found = pages(site)
    for path in ("index.html", "players.html", "groups.html", "boards/users/alltime/overall.html",
                 "boards/groups/rolling-30d/gpu_clock_hours.html",
                 "clusters/hammer/users/month/failed_jobs.html",
                 "clusters/anvil/groups/rolling-7d/jobs.html", "players/alice.html",
                 "players/erin.html", "groups/proj.html", "groups/chem.html", HOSTILE_PAGE):
        assert path in found, path
    assert len([p for p in found if p.startswith(("boards/", "clusters/"))]) == 3 * 2 * 5 * 7
    assert "records.html" in found and "competitions.html" in found   # sb-rank writes both


def test_every_link_stays_inside_the_site_and_reaches_a_page(site):
    found = pages(site)
    for path, text in found.items():
        elements = Elements(text)
        for tag, attrs in elements.tags:
            assert tag not in ("img", "link", "iframe", "object", "embed"), path
            assert tag != "script" or path == "search.html", path
            assert not any(name.startswith("on") or name == "src" for name in attrs), (path, tag)
            target = attrs.get("href", attrs.get("action") if tag == "form" else None)
            if target is None:
                continue
            parts = urlsplit(target)
            assert not parts.scheme and not parts.netloc and not parts.path.startswith("/")
            if not parts.path:
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path),
                                                       unquote(parts.path)))
            assert target in found, (path, attrs)
        assert "http:" not in text and "https:" not in text and "url(" not in text, path


def test_every_page_has_the_search_box_and_only_the_search_page_runs_a_script(site):
    found = pages(site)
    for path, text in found.items():
        forms = [attrs for tag, attrs in Elements(text).tags if tag == "form"]
        assert forms and forms[0]["method"] == "get", path
        assert posixpath.normpath(posixpath.join(posixpath.dirname(path), forms[0]["action"])) \
            == "search.html", path
        policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text)
        assert policy and "default-src 'none'" in policy.group(1), path
        scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
        allowed = re.findall(r"'sha256-([^']*)'", policy.group(1))
        assert [base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
                for s in scripts] == allowed, path
        assert bool(scripts) == (path == "search.html"), path


def board_part(text):
    """The text of a page's board table (a page may show names before it)."""
    return Elements(text[text.index('<table class="board">'):]).text


def week_part(text, heading):
    """The text of one section of the front page's week."""
    start = text.index(f"<h2>{heading}")
    return Elements(text[start:text.index("</section>", start)]).text


def test_the_front_page_is_the_all_time_overall_board(site, ranked):
    rows = read_board(ranked, "alltime", "overall")["rows"]
    names = [row["user"] for row in rows]
    assert names[0] == "alice"
    front = pages(site)["index.html"]
    assert [text for text in board_part(front) if text in names] == names
    assert "SlurmScoreboard Hiscores" in Elements(front).text


def events_of_the_file(root):
    with open(os.path.join(str(root), "leaderboards", "achievements.ndjson"), "rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def test_the_front_page_shows_the_week_gainers_and_the_newest_achievements(site, ranked):
    front = pages(site)["index.html"]
    week = read_board(ranked, "rolling-7d", "overall")["rows"]
    by_xp = sorted((r for r in week if r["xp"] > 0), key=lambda r: (-r["xp"], r["user"]))[:5]
    shown = week_part(front, "Top gainers")
    assert [t for t in shown if t in {r["user"] for r in week}] == [r["user"] for r in by_xp]
    assert [t for t in shown if t.replace(",", "").isdigit() and len(t) > 1] == \
        [f"{r['xp']:,}" for r in by_xp]
    newest = [e for e in events_of_the_file(ranked) if e["scope"] == "all"][-8:][::-1]
    assert len(newest) == 8
    items = re.findall(r"<li>(.*?)</li>", front[front.index("<h2>Newest achievements"):])[:8]
    for item, event in zip(items, newest):
        text = "".join(Elements(item).text)
        assert text.startswith(event["day"] + ": ") and event.get("user",
                                                                  event.get("account")) in text


def test_a_week_of_nothing_gained_lists_no_gainer(root, tmp_path):
    """zoe's only job this week failed before it started: a failed job, no XP in any skill.
    The week's gainers are who gained XP, not who is on the 7-day board."""
    done, _ = reduce(root, [job(40, "zoe", "2025-08-30T12:00:00Z", state="FAILED", start=None,
                                elapsed=0)])
    assert done.returncode == 0, done.stderr
    assert tool("sb_rank", ["--root", str(root), "--now", NOW]).returncode == 0
    week = {r["user"]: r["xp"] for r in read_board(root, "rolling-7d", "overall")["rows"]}
    assert week.get("zoe", 0) == 0
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target).returncode == 0
    shown = week_part(pages(target)["index.html"], "Top gainers")
    assert "zoe" not in shown and shown.count("alice") == 1


def test_the_front_page_shows_the_ongoing_competitions_first_five(root, tmp_path):
    leaderboards = os.path.join(root, "leaderboards")
    rows = [{"rank": rank, "user": user, "xp_gained": 100 - rank, "levels_gained": 1,
             "skills": {"jobs": {"gained": 10 - rank}}}
            for rank, user in enumerate(["erin", "bob", "alice", "carol", "dave", "zed"], 1)]
    documents = {
        "competitions": {"competitions": [
            {"id": "past", "title": "Last week's", "status": "finished"},
            {"id": "now", "title": "Skill of the week <b>", "status": "ongoing"}]},
        "competitions/past": {"id": "past", "title": "Last week's", "status": "finished",
                              "skills": ["jobs"], "rows": rows[::-1]},
        "competitions/now": {"id": "now", "title": "Skill of the week <b>", "status": "ongoing",
                             "skills": ["jobs"], "from": "2025-08-25", "to": "2025-08-31",
                             "rows": rows}}
    os.makedirs(os.path.join(leaderboards, "competitions"), exist_ok=True)
    for name, document in documents.items():
        with open(os.path.join(leaderboards, name + ".json"), "wb") as handle:
            handle.write(orjson.dumps(document))
    opt_out(root, "bob")
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target).returncode == 0
    front = pages(target)["index.html"]
    shown = week_part(front, "Skill of the week &lt;b&gt;")
    assert [t for t in shown if t in {"erin", "bob", "alice", "carol", "dave", "zed"}] == \
        ["erin", "alice", "carol", "dave", "zed"]         # bob opted out: ranks closed up
    assert "Last week's" not in "".join(Elements(front).text)
    assert "bob" not in "".join(Elements(front).text)


def test_a_hostile_account_is_text_everywhere_never_markup(site):
    found = pages(site)
    shown = HOSTILE.replace("\n", "\\n")     # control characters shown escaped, as in sb-view
    pages_with_it = [path for path, text in found.items() if shown in "".join(Elements(text).text)]
    assert HOSTILE_PAGE in pages_with_it
    assert "boards/groups/alltime/overall.html" in pages_with_it
    for path, text in found.items():
        assert "<img" not in text, path
        assert text.count("<script") == (2 if path == "search.html" else 0), path
    assert "&lt;img src=x onerror=alert(1)&gt;" in found[HOSTILE_PAGE]
    # in the search page's index: escaped JSON, which no HTML parser ends or reads as a tag
    block = re.search(r'<script type="application/json" id="sb-names">([^<]*)</script>',
                      found["search.html"])
    assert block and HOSTILE in [entry["n"] for entry in json.loads(block.group(1))]


def test_a_planted_user_name_gets_no_page_and_no_row(root, tmp_path):
    document = read_board(root, "alltime", "overall")
    document["rows"][0]["user"] = "../../../etc/x<b>"
    write_board(root, document, "alltime", "overall")
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target).returncode == 0
    planted = "players/~" + hashlib.sha256(b"../../../etc/x<b>").hexdigest()[:32] + ".html"
    found = pages(target)
    assert planted not in found and not any("etc/x" in text for text in found.values())
    assert sorted(os.listdir(tmp_path)) == sorted([".site.lock", "root", "site",
                                                   os.readlink(target)])


def test_top_limits_the_rows_of_a_board_page(root, tmp_path):
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target, "--top", 2).returncode == 0
    text = pages(target)["boards/users/alltime/jobs.html"]
    assert text.count("<tr") == 1 + 2
    assert "Top 2 of 5 shown." in text


def test_a_players_page_holds_every_skill_of_every_window(site, ranked):
    text = pages(site)["players/alice.html"]
    cells = Elements(text).text
    for title in ("All time", "Last 7 days", "Last 30 days", "Last 365 days", "This month",
                  "CPU-core hours", "Jobs", "Clusters", "anvil", "hammer"):
        assert title in cells, title
    clock = read_board(ranked, "alltime", "clock_hours")["rows"][0]
    assert clock["user"] == "alice" and f"{clock['value']:,.1f} h" in cells
    assert f"{clock['xp']:,}" in cells


def test_an_opted_out_user_has_no_page_and_no_row(root, tmp_path):
    opt_out(root, "bob")
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target).returncode == 0
    found = pages(target)
    assert "players/bob.html" not in found and "players/alice.html" in found
    assert not any("bob" in "".join(Elements(text).text) for text in found.values())


def test_records_and_competitions_pages_show_what_sb_rank_wrote(root, tmp_path):
    records = {"asof": NOW, "records": [
        {"scope": "all", "kind": "users", "skill": "clock_hours", "period": "day",
         "label": "2025-08-30", "user": "alice", "value": 160.0},
        {"scope": "all", "kind": "users", "skill": "jobs", "period": "week",
         "label": "2025-W35", "user": "bob", "value": 3},
        {"scope": "all", "kind": "groups", "skill": "jobs", "period": "month",
         "label": "2025-08<b>", "account": "chem<i>", "value": 9},
        "a <i>stray</i> string", 42, None, {"scope": ["x"]}]}
    competitions = {"asof": NOW, "competitions": [
        {"id": "sotw", "title": "Skill of the week <script>", "skills": ["jobs"],
         "from": "2025-08-25", "to": "2025-08-31", "status": "ongoing", "cluster": "all"},
        {"id": "../etc/passwd", "title": "planted"}, "junk"]}
    standings = {"id": "sotw", "title": "Skill of the week <script>", "skills": ["jobs"],
                 "from": "2025-08-25", "to": "2025-08-31", "status": "ongoing",
                 "rows": [{"rank": 1, "user": "erin", "xp_gained": 700, "levels_gained": 2,
                           "skills": {"jobs": {"gained": 7}}},
                          {"rank": 2, "user": "bob", "xp_gained": 100, "levels_gained": 0,
                           "skills": {"jobs": {"gained": [1]}}}]}
    os.makedirs(os.path.join(root, "leaderboards", "competitions"), exist_ok=True)
    for name, document in (("records", records), ("competitions", competitions),
                           ("competitions/sotw", standings)):
        with open(os.path.join(root, "leaderboards", name + ".json"), "wb") as handle:
            handle.write(orjson.dumps(document))
    opt_out(root, "bob")
    target = tmp_path / "site"
    done = export(root, "--format", "html", "--output", target)
    assert done.returncode == 0, done.stderr
    found = pages(target)
    record_text = "".join(Elements(found["records.html"]).text)
    assert "alice" in record_text and "2025-08-30" in record_text and "160.0 h" in record_text
    assert "chem<i>" in record_text and "2025-08<b>" in record_text
    assert "bob" not in record_text
    contest_text = "".join(Elements(found["competitions.html"]).text)
    assert "Skill of the week <script>" in contest_text and "erin" in contest_text
    assert "700" in contest_text and "bob" not in contest_text and "planted" not in contest_text
    assert "<b>" not in found["records.html"] and "<i>" not in found["records.html"]
    assert "<script" not in found["competitions.html"]
    assert 'href="records.html"' in found["index.html"]


def test_an_unreadable_records_file_is_named_and_the_site_still_written(root, tmp_path):
    with open(os.path.join(root, "leaderboards", "records.json"), "w") as handle:
        handle.write("{not json")
    target = tmp_path / "site"
    done = export(root, "--format", "html", "--output", target)
    assert done.returncode == 4
    assert done.stderr.decode().strip() == \
        f"sb-export: {root}/leaderboards/records.json: not valid JSON; left out"
    assert "index.html" in pages(target) and "records.html" not in pages(target)


def test_an_unreadable_board_is_named_left_out_and_exits_4(root, tmp_path):
    with open(os.path.join(root, "leaderboards", "month_jobs.json"), "w") as handle:
        handle.write("[]")
    target = tmp_path / "site"
    done = export(root, "--format", "html", "--output", target)
    assert done.returncode == 4
    assert "month_jobs.json: not an sb-rank board; left out" in done.stderr.decode()
    assert "No board here" in pages(target)["boards/users/month/jobs.html"]


def generations(folder):
    parent, name = os.path.split(str(folder))
    return sorted(entry for entry in os.listdir(parent) if entry.startswith(f".{name}.gen-"))


def test_a_new_export_swaps_the_whole_site_and_removes_the_old_one(root, tmp_path):
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target, "--top", 1).returncode == 0
    first = os.readlink(target)
    assert generations(target) == [first]
    assert export(root, "--format", "html", "--output", target, "--top", 2).returncode == 0
    second = os.readlink(target)
    assert second != first and generations(target) == [second]
    assert oct(os.stat(target / "players" / "alice.html").st_mode & 0o777) == "0o644"
    assert oct(os.stat(target / "players").st_mode & 0o777) == "0o755"


def test_only_a_missing_or_empty_folder_becomes_a_site(root, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(root, "--format", "html", "--output", empty).returncode == 0
    assert os.path.islink(empty)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep")
    done = export(root, "--format", "html", "--output", busy)
    assert done.returncode == 1
    assert done.stderr.decode() == (f"sb-export: {busy} is a folder sb-export did not write; name "
                                    "a new or empty folder (the site is published as a symlink "
                                    "there)\n")
    assert os.listdir(busy) == ["mine.txt"] and generations(busy) == []


def test_a_second_writer_of_the_same_folder_exits_3(root, tmp_path):
    target = tmp_path / "site"
    with open(tmp_path / ".site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = export(root, "--format", "html", "--output", target,
                      env=dict(ENV, SLURM_SB_LOCK_WAIT="0"))
    assert done.returncode == 3
    assert ".site.lock is held" in done.stderr.decode()
    assert not os.path.lexists(target)


def test_a_killed_export_leaves_the_old_site_or_the_new_one_whole(root, tmp_path):
    target = tmp_path / "site"
    old_args = ("--format", "html", "--output", target, "--top", 1)
    new_args = ("--format", "html", "--output", target, "--top", 2)
    assert export(root, *new_args).returncode == 0
    new = pages(target)
    shutil.rmtree(tmp_path / os.readlink(target))
    os.unlink(target)
    counter = tmp_path / "points"
    assert export(root, *old_args).returncode == 0
    old = pages(target)
    assert old != new
    counting = dict(ENV, SLURM_SB_FAULT_COUNT=str(counter))
    assert export(root, *new_args, env=counting).returncode == 0
    points = int(counter.read_text())
    chosen = sorted(set(range(1, points, max(1, points // 12))) | set(range(points - 8, points + 1)))
    for point in chosen:
        assert export(root, *old_args).returncode == 0
        done = export(root, *new_args, env=dict(ENV, SLURM_SB_FAULT_AT=str(point)))
        assert done.returncode == -signal.SIGKILL, point
        assert pages(target) in (old, new), point
    assert export(root, *new_args).returncode == 0
    assert pages(target) == new
    leftovers = [e for e in os.listdir(tmp_path) if e.startswith(".site.") and e != ".site.lock"]
    assert leftovers == [os.readlink(target)]


def test_planted_record_and_standing_shapes_and_late_opt_outs_do_not_break_the_pages(root,
                                                                                      tmp_path):
    leaderboards = os.path.join(root, "leaderboards")
    os.makedirs(os.path.join(leaderboards, "competitions"), exist_ok=True)
    planted = {
        "records": {"records": [{"scope": "all", "kind": "users", "skill": "jobs",
                                 "period": "day", "user": ["x"]},
                                {"scope": "all", "kind": "users", "skill": ["jobs"]}]},
        "competitions": {"competitions": [{"id": "c1", "title": "C1"}]},
        "competitions/c1": {"id": "c1", "title": "C1", "skills": ["jobs"],
                            "users": ["alice", "optme"],
                            "rows": [{"rank": 1, "user": {}}, {"rank": 2, "user": "optme"},
                                     {"rank": 3, "user": "alice", "xp_gained": 5}]}}
    for name, document in planted.items():
        with open(os.path.join(leaderboards, name + ".json"), "wb") as handle:
            handle.write(orjson.dumps(document))
    opt_out(root, "optme")
    target = tmp_path / "site"
    done = export(root, "--format", "html", "--output", target)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    found = pages(target)
    assert "optme" not in found["competitions.html"] and "alice" in found["competitions.html"]


def test_a_parent_others_may_write_is_refused_and_a_sibling_site_is_never_removed(root,
                                                                                  tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o2775)
    done = export(root, "--format", "html", "--output", shared / "site")
    assert done.returncode == 1 and b"chmod +t" in done.stderr
    assert not (shared / "site").exists()
    own = tmp_path / "own"
    own.mkdir()
    assert export(root, "--format", "html", "--output", own / "hs.gen-2").returncode == 0
    assert export(root, "--format", "html", "--output", own / "hs").returncode == 0
    assert (own / "hs.gen-2" / "index.html").is_file() and (own / "hs" / "index.html").is_file()


def test_a_group_page_lists_its_members_and_a_player_page_their_groups(root, tmp_path):
    opt_out(root, "bob")
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target).returncode == 0
    found = pages(target)
    proj = "".join(Elements(found["groups/proj.html"]).text)
    assert "Members:" in proj and "alice" in proj and "bob" not in proj
    assert 'href="../players/alice.html"' in found["groups/proj.html"]
    carol = "".join(Elements(found["players/carol.html"]).text)
    assert "Groups:" in carol and "chem" in carol


def test_a_window_board_says_the_days_it_covers(site):
    found = pages(site)
    text = "".join(Elements(found["boards/users/rolling-30d/clock_hours.html"]).text)
    assert "Last 30 days (2025-08-02 to 2025-08-31)" in text
    assert "(" not in "".join(Elements(found["boards/users/alltime/clock_hours.html"]).text
                              ).split("All time")[1][:3]


def headings(text):
    return re.findall(r"<h2[^>]*>([^<]*)</h2>", text)


def test_a_players_page_leads_with_the_charts_then_achievements_records_and_groups(site, ranked):
    text = pages(site)["players/alice.html"]
    assert headings(text) == ["Progress", "Achievements", "Records held", "Rank in each group",
                              "Every skill", "Clusters"]
    assert text.index('<svg class="chart"') < text.index("<h2>Achievements")
    mine = [e for e in events_of_the_file(ranked) if e.get("user") == "alice"
            and (e["scope"] == "all" or e["event"] == "first_job")][::-1]
    listed = re.findall(r"<li>([^<]*)</li>", text[text.index("<h2>Achievements"):
                                                  text.index("<h2>Records held")])
    assert [item.split(": ")[0] for item in listed] == [e["day"] for e in mine][:15]
    with open(os.path.join(str(ranked), "leaderboards", "records.json"), "rb") as handle:
        held = [r for r in orjson.loads(handle.read())["records"] if r.get("user") == "alice"]
    records = text[text.index("<h2>Records held"):text.index("<h2>Rank in each group")]
    assert held and records.count("<tr>") == 1 + len(held)
    with open(os.path.join(str(ranked), "leaderboards", "groups", "alltime_stats.json"),
              "rb") as handle:
        proj = next(g for g in orjson.loads(handle.read())["groups"] if g["account"] == "proj")
    ranks = text[text.index("<h2>Rank in each group"):text.index("<h2>Every skill")]
    cells = [c for c in Elements(ranks).text if c.strip()]
    row = cells[cells.index("proj"):]
    assert row[1:7] == [str(proj["members"])] + [
        "-" if proj["ranks"]["alice"][s] is None else str(proj["ranks"]["alice"][s])
        for s in ("clock_hours", "elapsed_hours", "gpu_clock_hours", "gpu_elapsed_hours",
                  "jobs")]


def test_a_groups_page_shows_the_members_share_of_the_month(site, ranked):
    text = pages(site)["groups/proj.html"]
    assert headings(text)[:4] == ["Progress", "Achievements", "Records held",
                                  "Members' share of this month"]
    with open(os.path.join(str(ranked), "leaderboards", "groups", "month_stats.json"),
              "rb") as handle:
        proj = next(g for g in orjson.loads(handle.read())["groups"] if g["account"] == "proj")
    share = text[text.index("Members' share"):text.index("<h2>Every skill")]
    shown = re.findall(r'">([a-z]+)</a></td><td class="num">([0-9,]+)</td>', share)
    assert shown == sorted(((u, f"{x:,}") for u, x in proj["member_xp"].items() if x),
                           key=lambda item: -int(item[1].replace(",", "")))


def test_members_who_charged_nothing_this_month_are_named_under_the_share(root, tmp_path):
    done, _ = reduce(root, [job(40, "gus", "2025-06-03T00:00:00Z", **hours(2)),
                            job(41, "hal", "2025-07-03T00:00:00Z", **hours(1))])
    assert done.returncode == 0, done.stderr
    assert tool("sb_rank", ["--root", root, "--now", NOW]).returncode == 0
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target).returncode == 0
    share = pages(target)["groups/proj.html"]
    share = share[share.index("Members' share"):share.index("<h2>Every skill")]
    note = re.search(r'<p class="note">([0-9,]+) members? charged nothing to it this month: '
                     r'(.*?)\.</p>', share)
    assert note and note.group(1) == "2"
    assert re.findall(r'<a href="\.\./players/([a-z]+)\.html">', note.group(2)) == ["gus", "hal"]
    listed = re.findall(r'">([a-z]+)</a></td><td class="num">', share)
    assert listed and not {"gus", "hal"} & set(listed)


def test_a_player_without_a_gain_in_two_years_gets_a_note_not_an_empty_bar_chart(root,
                                                                                 tmp_path):
    done, _ = reduce(root, [job(42, "olga", "2023-01-10T00:00:00Z", **hours(3))])
    assert done.returncode == 0, done.stderr
    assert tool("sb_rank", ["--root", root, "--now", NOW]).returncode == 0
    target = tmp_path / "site"
    assert export(root, "--format", "html", "--output", target).returncode == 0
    site = pages(target)
    olga = site["players/olga.html"]
    assert '<p class="note">No XP gained in the last two years (the last gain: Jan 2023).</p>' \
        in olga
    assert olga.count('<svg class="chart"') == 1 and 'data-month="2023-01"' in olga
    assert site["players/alice.html"].count('<svg class="chart"') == 2


def test_without_progress_files_the_pages_say_so_and_are_written(root, tmp_path):
    shutil.rmtree(os.path.join(root, "leaderboards", "progress"))
    target = tmp_path / "site"
    done = export(root, "--format", "html", "--output", target)
    assert done.returncode == 0, done.stderr
    text = pages(target)["players/alice.html"]
    assert "No month with a gain yet." in text and '<svg class="chart"' not in text


def test_a_member_who_gained_no_xp_this_month_is_named_idle():
    """A member whose only job of the month failed before it started is in the month's group
    statistics with 0 XP: they charged nothing worth a point, and the note names them."""
    from types import SimpleNamespace

    from slurm_scoreboard.export.site import members
    page = SimpleNamespace(groups={"phys": {"users": ["ann", "bo", "cy"]}},
                           name_cell=lambda here, kind, name: name)
    note = members.MemberPages.idle_members(page, "groups/phys.html", "phys",
                                            {"ann": 120, "bo": 0})
    assert note == '<p class="note">2 members charged nothing to it this month: bo, cy.</p>'


def test_a_page_says_how_many_achievements_are_earlier_only_when_some_are():
    from types import SimpleNamespace

    from slurm_scoreboard.export.site import members
    events = [{"day": f"2025-08-0{n}", "event": "first_job", "scope": f"c{n}",
               "kind": "users", "user": "ann"} for n in (1, 2)]
    for total, note in ((2, ""), (5, '<li class="note">and 3 earlier.</li>')):
        page = SimpleNamespace(achieved={("users", "ann"): events},
                               achievement_counts={("users", "ann"): total})
        text = members.MemberPages.achievements(page, "users", "ann")
        assert text.count("<li>") == 2 and text.endswith("</li></ul></div>")
        assert ("earlier" in text) is bool(note) and note in text
