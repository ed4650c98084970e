"""The site's charts say what sb-rank says: a store built by the real tools (sb-parse | sb-dedupe
| sb-reduce, the step poll's usage through sb-reduce --usage, sb-rank) from the demo's sample
history, exported with sb-export --format html; every number each chart carries (the data-
attributes of its bars and points, and the numbers in their <title> texts) is read back from the
page and compared with `sb-rank --user U --window month --now <a day of that month>` (the whole
month: its last day, or the boards' day for the month in progress), for players, and with the
month boards of `sb-rank --groups` for a group; a group's members' share of the month with
`sb-rank --account`. The chart functions' own edges (months without a gain, axis ticks) are
checked on their own at the end."""
import calendar
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reduce_helpers import ENV, tool

from slurm_scoreboard import boardfiles
from slurm_scoreboard.boardfiles import SKILLS
from slurm_scoreboard.core import xp
from slurm_scoreboard.export.site import charts

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
END = "2025-10-14"                      # the sample history's last day
NOW = "2025-10-15T06:00:00Z"            # the boards' time: October is the month in progress
CLUSTERS = ("hammer", "anvil", "gpuhub")


def run(name, args, stdin=b""):
    done = tool(name, [str(a) for a in args], stdin)
    assert done.returncode == 0, (name, done.stderr.decode()[-2000:])
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(root, site) of the sample year, ranked and exported as of NOW."""
    base = tmp_path_factory.mktemp("charts")
    root, history, steps = base / "root", base / "history", base / "steps"
    root.mkdir()
    generate = os.path.join(TOP, "demo", "generate.py")
    made = subprocess.run([sys.executable, generate, "--end", END, "--out", str(history),
                           "--steps", str(steps)], capture_output=True)
    assert made.returncode == 0, made.stderr
    for cluster in CLUSTERS:
        records = run("sb_parse", ["--quiet", "--tz", "UTC", history / f"{cluster}.txt"])
        fresh = run("sb_dedupe", ["--root", root, "--quiet"], records)
        run("sb_reduce", ["--root", root, "--quiet"], fresh)
        measured = run("sb_parse", ["--quiet", "--brief", "--tz", "UTC", steps / f"{cluster}.txt"])
        run("sb_reduce", ["--root", root, "--quiet", "--usage"], measured)
    run("sb_rank", ["--root", root, "--now", NOW])
    site = base / "site"
    run("sb_export", ["--root", root, "--format", "html", "--output", site])
    return root, site


class Chart(HTMLParser):
    """The bars, bar parts and points of a page's charts: their data- attributes and titles."""

    KINDS = {"rect": "parts", "g": "bars", "circle": "points"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.parts, self.bars, self.points = [], [], []
        self._open, self._title = [], False       # the elements with data- around, innermost last
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.KINDS and "data-month" in attrs:
            entry = dict(attrs, tag=tag, title="")
            getattr(self, self.KINDS[tag]).append(entry)
            self._open.append(entry)
        self._title = tag == "title"

    def handle_endtag(self, tag):
        if self._open and self._open[-1]["tag"] == tag:
            self._open.pop()
        self._title = False

    def handle_data(self, data):
        if self._title and self._open:
            self._open[-1]["title"] += data


def day_of(month):
    """The --now that covers the whole month (or, for the month in progress, the boards' now)."""
    if month == NOW[:7]:
        return NOW
    year, number = int(month[:4]), int(month[5:7])
    return f"{month}-{calendar.monthrange(year, number)[1]:02d}T12:00:00Z"


def personal(root, user, month):
    """{skill: (xp, value)} and the Overall XP sb-rank reports for the user's month."""
    page = json.loads(run("sb_rank", ["--root", root, "--user", user, "--window", "month",
                                      "--now", day_of(month)]))
    skills = {entry["metric"]: (entry["xp"], entry["value"]) for entry in page["skills"]
              if entry["metric"] in SKILLS}
    return skills, (page["overall"] or {}).get("xp", 0)


def group_month(root, account, month):
    skills = {}
    for metric in SKILLS + ("overall",):
        rows = [json.loads(line) for line in run("sb_rank", [
            "--root", root, "--groups", "--window", "month", "--metric", metric,
            "--now", day_of(month)]).splitlines()]
        row = next((r for r in rows if r["account"] == account), None)
        skills[metric] = (row["xp"], row["value"]) if row else (0, 0)
    overall = skills.pop("overall")[0]
    return skills, overall


def rates_of(root):
    with open(os.path.join(root, "leaderboards", "index.json"), "rb") as handle:
        return json.loads(handle.read())["rates"]


def check_chart(page, report, rates):
    """Every bar part, bar and point of `page` against `report(month)` -> (skills, overall):
    a bar is the month's XP, a point the XP of the value so far (as a board makes XP from its
    value: the last point is the all-time board's), Overall the skills' sum."""
    chart = Chart(page)
    months = sorted({point["data-month"] for point in chart.points})
    assert months and months == charts.month_span(months[0], NOW[:7])
    so_far = dict.fromkeys(SKILLS, 0.0)
    parts = {(p["data-month"], p["data-skill"]): p for p in chart.parts}
    bars = {bar["data-month"]: bar for bar in chart.bars}
    points = {(p["data-month"], p["data-skill"]): p for p in chart.points}
    for month in months:
        skills, overall = report(month)
        for skill in SKILLS:
            so_far[skill] += skills[skill][1]
        running = {skill: xp.xp_of(so_far[skill], rates[skill]) for skill in SKILLS}
        running["overall"] = sum(running.values())
        assert int(points[(month, "overall")]["data-xp"]) == running["overall"], month
        assert f"{running['overall']:,} XP in all" in points[(month, "overall")]["title"]
        assert int(bars[month]["data-xp"]) == overall, month
        assert f"+{overall:,} XP" in bars[month]["title"]
        for skill in SKILLS:
            gained, value = skills[skill]
            assert int(points[(month, skill)]["data-xp"]) == running[skill], (month, skill)
            part = parts.get((month, skill))
            if not gained and not value:
                assert part is None, (month, skill)
                continue
            assert int(part["data-xp"]) == gained, (month, skill)
            assert float(part["data-value"]) == pytest.approx(value, rel=1e-9, abs=1e-9)
            assert f"+{gained:,} XP" in part["title"], (month, skill)
    return months


def overall_rows(site, kind):
    text = (site / "boards" / kind / "alltime" / "overall.html").read_text()
    return re.findall(r'<td class="name"><a href="[^"]*">([^<]*)</a>', text)


def test_a_players_charts_are_what_sb_rank_reports_for_each_month(built):
    root, site = built
    users = overall_rows(site, "users")
    gpu = re.findall(r'<td class="name"><a href="[^"]*">([^<]*)</a>',
                     (site / "boards/users/alltime/gpu_clock_hours.html").read_text())
    for user in dict.fromkeys([users[0], gpu[0], users[len(users) // 2], users[-1]]):
        page = (site / "players" / f"{user}.html").read_text()
        months = check_chart(page, lambda month, user=user: personal(root, user, month),
                             rates_of(root))
        before = charts.month_span("2000-01", months[0])[-2]
        skills, overall = personal(root, user, before)
        assert overall == 0 and not any(xp for xp, _ in skills.values())   # nothing left out


def test_a_groups_chart_and_members_share_are_what_sb_rank_reports(built):
    root, site = built
    account = overall_rows(site, "groups")[0]
    page = (site / "groups" / f"{account}.html").read_text()
    check_chart(page, lambda month: group_month(root, account, month), rates_of(root))
    share = page[page.index("Members' share of this month"):]
    shown = re.findall(r'<td class="name"><a href="[^"]*">([^<]*)</a></td>'
                       r'<td class="num">([0-9,]+)</td>', share)
    rows = [json.loads(line) for line in run("sb_rank", [
        "--root", root, "--window", "month", "--metric", "overall", "--account", account,
        "--now", NOW]).splitlines()]
    expected = sorted(((r["user"], r["xp"]) for r in rows if r["xp"]), key=lambda r: (-r[1], r[0]))
    assert [(user, int(xp.replace(",", ""))) for user, xp in shown] == expected[:25]
    total = sum(xp for _, xp in expected)
    percents = re.findall(r"([0-9.]+)%</td>", share)
    assert [float(p) for p in percents] == [round(100 * xp / total, 1) for _, xp in expected[:25]]


# -- the charts' own edges -------------------------------------------------------------------

def entry(months, overall, jobs=None):
    jobs = jobs or [0] * len(months)
    zero = [0] * len(months)
    return {"name": "x", "months": months,
            "xp": {"overall": overall, "clock_hours": [o - j for o, j in zip(overall, jobs)],
                   "elapsed_hours": zero, "gpu_clock_hours": zero, "gpu_elapsed_hours": zero,
                   "jobs": jobs},
            "value": {"clock_hours": [(o - j) / 10 for o, j in zip(overall, jobs)],
                      "elapsed_hours": zero, "gpu_clock_hours": zero, "gpu_elapsed_hours": zero,
                      "jobs": [j // 100 for j in jobs]}}


def test_months_without_a_gain_are_empty_bars_and_flat_lines_up_to_the_boards_month():
    gains = charts.Gains(entry(["2024-11", "2025-02"], [500, 300], [100, 0]), "2025-04")
    assert gains.months == ["2024-11", "2024-12", "2025-01", "2025-02", "2025-03", "2025-04"]
    assert gains.xp["overall"] == [500, 0, 0, 300, 0, 0]
    assert gains.running("overall") == [500, 500, 500, 800, 800, 800]
    assert gains.running("jobs") == [100] * 6
    bars = Chart(charts.gains_chart(gains))
    assert [b["data-month"] for b in bars.bars] == gains.months
    assert [(p["data-month"], p["data-skill"]) for p in bars.parts] == [
        ("2024-11", "clock_hours"), ("2024-11", "jobs"), ("2025-02", "clock_hours")]
    points = Chart(charts.progress_chart(gains)).points
    assert len(points) == 6 * len(charts.LINES)


def test_the_bar_chart_shows_the_last_two_years_and_the_lines_everything():
    months = charts.month_span("2020-01", "2025-12")
    gains = charts.Gains(entry(months, list(range(1, 73))), "2025-12")
    assert [b["data-month"] for b in Chart(charts.gains_chart(gains)).bars] == months[-24:]
    points = Chart(charts.progress_chart(gains)).points
    assert {p["data-month"] for p in points} == set(months)
    assert max(int(p["data-xp"]) for p in points) == sum(range(1, 73))


@given(st.integers(0, 40), st.integers(1, 900), st.integers(1, 5))
def test_a_long_history_is_drawn_over_its_last_months_limit_months_its_totals_whole(
        skip, span, every):
    """However far back a (planted) first month is, a chart has at most MONTHS_LIMIT months,
    and each point's running total counts the months before them."""
    months = charts.month_span("1970-01", "2100-01")[skip:skip + span:every]
    gained = [1 + (n * 7919) % 1000 for n in range(len(months))]
    last = months[-1]
    rates = dict.fromkeys(SKILLS, 10.0)
    capped = charts.Gains(entry(months, gained), last, rates)
    limit = boardfiles.MONTHS_LIMIT
    whole = charts.month_span(months[0], last)
    assert capped.months == whole[-limit:]
    value = sum(gained) / 10
    assert capped.running("clock_hours")[-1] == capped.running("overall")[-1] == \
        xp.xp_of(value, 10.0)
    unrated = charts.Gains(entry(months, gained), last)
    assert unrated.running("overall")[-1] == unrated.running("clock_hours")[-1] == sum(gained)
    kept = [m for m in months if m >= capped.months[0]]
    before = sum(g for m, g in zip(months, gained) if m < capped.months[0]) / 10
    assert capped.running("clock_hours")[capped.months.index(kept[0])] == \
        xp.xp_of(before + gained[months.index(kept[0])] / 10, 10.0)


def test_a_planted_boards_time_in_the_future_draws_no_month_past_this_one(built, tmp_path):
    root, _ = built
    planted = tmp_path / "root"
    shutil.copytree(root, planted)
    index = planted / "leaderboards" / "index.json"
    document = json.loads(index.read_bytes())
    document["asof"] = "2999-12-31T23:00:00Z"
    index.write_text(json.dumps(document))
    site = tmp_path / "site"
    done = tool("sb_export", ["--root", str(planted), "--format", "html", "--output", str(site)],
                env=dict(ENV, SLURM_SB_NOW=NOW))
    assert done.returncode == 0, done.stderr
    user = overall_rows(site, "users")[0]
    page = (site / "players" / f"{user}.html").read_text()
    assert max(point["data-month"] for point in Chart(page).points) == NOW[:7]
    assert len(page) < 400_000


def test_axis_ticks_cover_the_highest_value_in_round_steps():
    for top in (1, 7, 99, 100, 101, 12_345, 199_999_999):
        marks = charts.ticks(top)
        assert marks[0] == 0 and marks[-1] >= top and 3 <= len(marks) <= 7 or top < 5
        step = marks[1]
        assert step / 10 ** (len(str(int(step))) - 1) in (1, 2, 5)


def test_axis_ticks_at_their_edges_by_hand():
    assert charts.ticks(0) == charts.ticks(-3) == [0, 1]         # an empty chart still has a scale
    assert charts.ticks(5) == [0, 1, 2, 3, 4, 5]                # five steps of one fit
    assert charts.ticks(5.5) == [0, 2, 4, 6]                    # past five: the next step
    assert charts.ticks(10) == [0, 2, 4, 6, 8, 10]
    assert charts.ticks(10.5) == [0, 5, 10, 15]


def test_axis_numbers_and_months_at_their_edges_by_hand():
    assert [charts.short_number(v) for v in (999, 1000, 1500, 999_949, 999_950, 10 ** 6,
                                             999_960_000, 10 ** 9, 1_250_000_000)] == \
        ["999", "1k", "1.5k", "999.9k", "1M", "1M", "1G", "1G", "1.2G"]
    assert charts.months_back("2026-01", 1) == "2025-12"
    assert charts.months_back("2026-12", 0) == "2026-12"
    assert charts.months_back("2026-12", 12) == "2025-12"
    assert charts.month_span("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert charts.month_span("2026-03", "2026-03") == ["2026-03"]
    assert charts.month_span("2026-03", "2026-02") == []


def test_the_plot_s_corners_and_a_label_at_the_right_edge():
    assert charts.y_of(0, 0) == charts.y_of(0, 10) == charts.HEIGHT - charts.BOTTOM
    assert charts.y_of(10, 10) == charts.TOP
    assert charts.x_of(0, 1) == charts.LEFT + (charts.WIDTH - charts.LEFT - charts.RIGHT) / 2
    text = "Sept."
    room = charts.FONT * 0.32 * len(text)
    at_edge = charts.WIDTH - 1 - room
    assert 'text-anchor="middle"' in charts.axis_label(at_edge, 5, text)
    assert charts.axis_label(at_edge + 0.5, 5, text).startswith(
        f'<text x="{charts.WIDTH - 1}" y="5" text-anchor="end">')


def test_the_last_gain_is_the_last_month_with_xp_and_numbers_sit_on_a_year_of_bars():
    months = charts.month_span("2024-01", "2024-12")
    gains = charts.Gains(entry(months, [5] * 11 + [0]), "2025-01")
    assert charts.last_gain(gains) == "2024-11"
    assert charts.last_gain(charts.Gains(entry(["2024-01"], [0]), "2024-03")) is None
    year = charts.Gains(entry(months, [1000] * 12), "2024-12")
    assert charts.gains_chart(year).count('font-size="12"') == 12      # a number over each bar
    more = charts.Gains(entry(charts.month_span("2024-01", "2025-01"), [1000] * 13), "2025-01")
    assert 'font-size="12"' not in charts.gains_chart(more)


def test_a_skill_with_a_value_but_no_xp_keeps_its_part_and_the_share_bar_is_clamped():
    gains = charts.Gains(entry(["2025-01"], [0], [0]), "2025-01")
    gains.value["clock_hours"][0] = 0.25
    assert [(p["data-skill"], p["data-xp"], p["data-value"])
            for p in Chart(charts.gains_chart(gains)).parts] == [("clock_hours", "0", "0.25")]
    assert 'width="100.00"' in charts.share_bar(1.5)
    assert 'width="0.00"' in charts.share_bar(-0.2)
    assert 'width="25.00"' in charts.share_bar(0.25)


def test_the_month_of_the_boards_is_charted_and_later_months_are_not():
    gains = charts.Gains(entry(["2025-01", "2025-03", "2025-04"], [1, 2, 4]), "2025-03")
    assert gains.months == ["2025-01", "2025-02", "2025-03"]
    assert gains.running("overall") == [1, 1, 3]
    empty = charts.Gains(entry(["2025-05"], [7]), "2025-03")
    assert empty.months == [] and empty.running("overall") == []


def test_a_players_efficiency_is_what_sb_rank_reports_in_every_window(built):
    root, site = built
    user = overall_rows(site, "users")[0]
    text = (site / "players" / f"{user}.html").read_text()
    table = text[text.index("<h2>Efficiency"):text.index("<h2>Every skill")]
    rows = re.findall(r"<tr><td>([^<]*)</td>(.*?)</tr>", table)
    assert [title for title, _ in rows] == ["CPU hours used", "CPU efficiency",
                                           "Memory efficiency", "GPU utilisation"]
    windows = ("alltime", "rolling-7d", "rolling-30d", "rolling-365d", "month")
    for (_, cells), metric in zip(rows, ("cpu_used_hours", "cpu_efficiency", "mem_efficiency",
                                         "gpu_utilization")):
        shown = re.findall(r'<td class="num">(.*?)</td>', cells)
        assert len(shown) == len(windows)
        for cell, window in zip(shown, windows):
            board = [json.loads(line) for line in run("sb_rank", [
                "--root", root, "--window", window, "--metric", metric, "--now", NOW
            ]).splitlines()]
            row = next((r for r in board if r["user"] == user), None)
            if row is None:
                assert cell == "-", (metric, window)
                continue
            value = f"{row['value']:,.1f}" + (" h" if metric == "cpu_used_hours" else "%")
            assert re.sub(r"<[^>]*>", "", cell) == f"{value} #{row['rank']:,}", (metric, window)


def test_the_month_axis_names_the_last_month_and_each_year_and_fits():
    plot = charts.WIDTH - charts.LEFT - charts.RIGHT
    for count in (1, 2, 5, 12, 13, 24, 40, 72, 121, 600):
        months = charts.month_span("2019-07", "2100-01")[:count]
        labels = re.findall(r'<text x="([0-9.]+)" y="([0-9.]+)" text-anchor="(middle|end)">'
                            r'([^<]+)</text>', charts.month_axis(months))
        names = [(float(x), anchor, text) for x, y, anchor, text in labels if not text.isdigit()]
        years = [text for _, _, _, text in labels if text.isdigit()]
        assert names[-1][2] == charts.MONTH_NAMES[int(months[-1][5:7]) - 1]
        # each year named once, under its first month named (a year with no month named, a
        # first half-year before a label's step, has none); the last is the boards' year
        assert years == sorted(set(years)) and years[-1] == months[-1][:4]
        if count <= 121:
            assert len(years) >= len({m[:4] for m in months}) - 1
        centred = [x for x, anchor, _ in names if anchor == "middle"]
        gaps = [b - a for a, b in zip(centred, centred[1:])]
        assert all(gap >= 34 for gap in gaps), (count, gaps)     # "2026" is 34 units wide
        assert {round(gap / plot * count) for gap in gaps} <= set(charts.LABEL_STEPS)
        for x, _, anchor, text in labels:           # nothing passes the chart's right edge
            right = float(x) if anchor == "end" else float(x) + charts.FONT * 0.32 * len(text)
            assert right <= charts.WIDTH - 1, (count, x, text)


def test_the_last_label_of_a_long_axis_ends_inside_the_chart():
    months = charts.month_span("2016-12", "2026-12")
    axis = charts.month_axis(months)
    assert axis.endswith(f'<text x="{charts.WIDTH - 1}" y="{charts.HEIGHT - charts.BOTTOM + 33}" '
                         'text-anchor="end">2026</text>')


def test_a_page_lists_the_newest_achievements_and_counts_the_rest(built):
    root, site = built
    user = overall_rows(site, "users")[0]
    with open(root / "leaderboards" / "achievements.ndjson", "rb") as handle:
        events = [json.loads(line) for line in handle
                  if b'"user":"%s"' % user.encode() in line]
    mine = [e for e in events if e["scope"] == "all" or e["event"] == "first_job"]
    assert len(mine) > 15
    text = (site / "players" / f"{user}.html").read_text()
    part = text[text.index("<h2>Achievements"):text.index("<h2>", text.index("<h2>Achievements") + 4)]
    days = [item.split(": ")[0] for item in re.findall(r"<li>([^<]*)</li>", part)]
    assert days == [e["day"] for e in mine[::-1][:15]]
    assert f"and {len(mine) - 15:,} earlier." in part
