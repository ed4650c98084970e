"""The charts of the player and group pages, as inline SVG (no script, no font: the page's own):

- XP over time: each month's total so far, Overall and each skill, a line each;
- XP gained each month: a bar a month, cut into the skills' parts.

Both come from one progress entry (boardfiles: months with a gain, and each skill's XP and value
gained in each), over every month from the first gain to the month of the boards: a month with
no gain is a bar of nothing and a flat step of the lines. Every bar part and point carries its
numbers twice: in its SVG ``<title>`` (a browser shows it on hover or a long press) and in
``data-`` attributes (``data-month``, ``data-skill``, ``data-xp``, for a bar part also
``data-value``, the skill's own measure), which the tests read back. A chart scales to its
figure (a viewBox and width 100%), so it fits a phone.
"""
from __future__ import annotations

import html
import itertools
import math
from typing import Dict, List, Optional, Sequence, Tuple

from ...boardfiles import MONTHS_LIMIT, SKILLS
from ...core import xp
from ...view.display import format_value, metric_title

WIDTH, HEIGHT = 400, 230
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 14, 38          # the plot's margins in the viewBox
FONT = 14
LAST_BARS = 24          # the bar chart shows at most the last two years
LABEL_STEPS = (1, 2, 3, 4, 6, 12, 24, 60, 120)     # months between two labels of the month axis
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
               "Dec")
COLOURS = {"overall": "#5a2d0c", "clock_hours": "#1f6f8b", "elapsed_hours": "#b07a00",
           "gpu_clock_hours": "#2e7d32", "gpu_elapsed_hours": "#7b1fa2", "jobs": "#c0392b"}
LINES = ("overall",) + SKILLS


def month_span(first: str, last: str) -> List[str]:
    """Every month from `first` to `last` (YYYY-MM), both included."""
    year, month = int(first[:4]), int(first[5:7])
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def month_title(month: str) -> str:
    return f"{MONTH_NAMES[int(month[5:7]) - 1]} {month[:4]}"


UNITS = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def short_number(value: float) -> str:
    """950, 1.2k, 35k, 1.5M: an axis label, one decimal at most (what would read 1000k reads
    1M, and 1000M 1G)."""
    for index, (size, suffix) in enumerate(UNITS):
        if value >= size:
            shown = f"{value / size:.1f}".rstrip("0").rstrip(".")
            if shown == "1000" and index:
                return "1" + UNITS[index - 1][1]
            return shown + suffix
    return f"{value:g}"


def ticks(top: float) -> List[float]:
    """Round numbers from 0 to at least `top` for the value axis, 3 to 6 of them (0 and 1 for
    a chart of nothing)."""
    if top <= 0:
        return [0, 1]
    step, factors = 1.0, itertools.cycle((2, 2.5, 2))       # 1, 2, 5, 10, 20, 50, ...
    while top / step > 5:
        step *= next(factors)
    return [step * i for i in range(math.ceil(top / step) + 1)]


def months_back(month: str, count: int) -> str:
    """The month `count` months before `month` (YYYY-MM)."""
    number = int(month[:4]) * 12 + int(month[5:7]) - 1 - count
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


class Gains:
    """One entry's gains over every month of the charts (at most MONTHS_LIMIT, the last ones;
    what came before is in the first month's running total), zero where it gained nothing."""

    def __init__(self, entry: dict, last_month: str, rates: Optional[Dict[str, float]] = None):
        self.rates = rates or {}
        given = [month for month in entry["months"] if month <= last_month]
        first = max(given[0], months_back(last_month, MONTHS_LIMIT - 1)) if given else last_month
        self.months = month_span(first, last_month) if given else []
        where = {month: at for at, month in enumerate(given)}
        earlier = [at for at, month in enumerate(given) if month < first]
        self.xp: Dict[str, List[int]] = {}
        self.value: Dict[str, List[float]] = {}
        self.xp_before = {skill: sum(entry["xp"][skill][at] for at in earlier) for skill in LINES}
        self.value_before = {skill: sum(entry["value"][skill][at] for at in earlier)
                             for skill in SKILLS}
        for skill in LINES:
            self.xp[skill] = [entry["xp"][skill][where[m]] if m in where else 0
                              for m in self.months]
        for skill in SKILLS:
            self.value[skill] = [entry["value"][skill][where[m]] if m in where else 0
                                 for m in self.months]

    def running(self, skill: str) -> List[int]:
        """Each month's XP so far: the XP of the value so far (as sb-rank makes a board's XP
        from its value, so the last point is the all-time board's), Overall the skills' sum;
        without the skill's rate, the months' XP added up."""
        if skill == "overall" and all(name in self.rates for name in SKILLS):
            return [sum(column) for column in zip(*(self.running(name) for name in SKILLS))]
        if skill not in self.rates:
            return list(itertools.accumulate(self.xp[skill], initial=self.xp_before[skill]))[1:]
        return [xp.xp_of(value, self.rates[skill]) for value in
                itertools.accumulate(self.value[skill], initial=self.value_before[skill])][1:]


def svg(label: str, body: str, height: int = HEIGHT) -> str:
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'aria-label="{html.escape(label, quote=True)}" font-family="Georgia,serif" '
            f'font-size="{FONT}">{body}</svg>')


def value_axis(top: float) -> Tuple[str, float]:
    """The grid lines and labels of the value axis, and the value at the plot's top."""
    marks = ticks(top)
    highest = marks[-1]
    parts = []
    for mark in marks:
        y = y_of(mark, highest)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#b8a684" stroke-width="1"/>'
                     f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{short_number(mark)}</text>')
    return "".join(parts), highest


def y_of(value: float, highest: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return HEIGHT - BOTTOM - (value / highest * plot if highest else 0)


def x_of(index: int, count: int) -> float:
    """The middle of month `index` of `count` across the plot."""
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return LEFT + slot * (index + 0.5)


def month_axis(months: Sequence[str]) -> str:
    """Month names under the plot (thinned to fit, counted back from the last month, which is
    always named), and the year under the first name shown of each year."""
    count = len(months)
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    every = next(step for step in LABEL_STEPS if step * slot >= 34 or step == LABEL_STEPS[-1])
    shown = sorted(range(count - 1, -1, -every))                # a label takes 34 units
    parts, year = [], ""
    for index in shown:
        month, x = months[index], x_of(index, count)
        parts.append(axis_label(x, HEIGHT - BOTTOM + 17, MONTH_NAMES[int(month[5:7]) - 1]))
        if month[:4] != year:
            year = month[:4]
            parts.append(axis_label(x, HEIGHT - BOTTOM + 33, year))
    return "".join(parts)


def axis_label(x: float, y: float, text: str) -> str:
    """A label centred under `x`, or ending at the chart's right edge when it would pass it."""
    if x + FONT * 0.32 * len(text) > WIDTH - 1:
        return f'<text x="{WIDTH - 1}" y="{y}" text-anchor="end">{text}</text>'
    return f'<text x="{x:.1f}" y="{y}" text-anchor="middle">{text}</text>'


def progress_chart(gains: Gains) -> str:
    """XP over time: a line and a point a month for Overall and each skill."""
    running = {skill: gains.running(skill) for skill in LINES}
    grid, highest = value_axis(max(running["overall"], default=0))
    count = len(gains.months)
    parts = [grid]
    for skill in reversed(LINES):           # Overall drawn last, on top
        points = [(x_of(i, count), y_of(total, highest)) for i, total in enumerate(running[skill])]
        width = 3 if skill == "overall" else 1.6
        parts.append(f'<polyline fill="none" stroke="{COLOURS[skill]}" stroke-width="{width}" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        parts.extend(point(gains, skill, index, total, x, y)
                     for index, (total, (x, y)) in enumerate(zip(running[skill], points)))
    parts.append(month_axis(gains.months))
    return svg("XP over time, Overall and each skill", "".join(parts))


def point(gains: Gains, skill: str, index: int, total: int, x: float, y: float) -> str:
    month = gains.months[index]
    gained = gains.xp[skill][index]
    title = (f"{month_title(month)}, {metric_title(skill)}: {total:,} XP in all "
             f"(+{gained:,} that month)")
    radius = 3.2 if skill == "overall" else 2.4
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{COLOURS[skill]}" '
            f'data-month="{month}" data-skill="{skill}" data-xp="{total}">'
            f"<title>{html.escape(title)}</title></circle>")


def last_gain(gains: Gains) -> Optional[str]:
    """The last month with any XP gained, None when there is none."""
    return next((month for month, total in zip(reversed(gains.months),
                                               reversed(gains.xp["overall"])) if total), None)


def gains_chart(gains: Gains) -> str:
    """XP gained each month (the last LAST_BARS): a bar a month, a part a skill."""
    months = gains.months[-LAST_BARS:]
    first = len(gains.months) - len(months)
    totals = gains.xp["overall"][first:]
    grid, highest = value_axis(max(totals, default=0))
    count = len(months)
    width = min(36.0, (WIDTH - LEFT - RIGHT) / max(count, 1) * 0.7)
    parts = [grid]
    for index in range(count):
        parts.append(bar(gains, first + index, x_of(index, count) - width / 2, width, highest))
        if count <= 12 and totals[index]:
            parts.append(f'<text x="{x_of(index, count):.1f}" '
                         f'y="{y_of(totals[index], highest) - 3:.1f}" text-anchor="middle" '
                         f'font-size="{FONT - 2}">{short_number(totals[index])}</text>')
    parts.append(month_axis(months))
    return svg("XP gained each month, by skill", "".join(parts))


def bar(gains: Gains, at: int, left: float, width: float, highest: float) -> str:
    """One month's bar: the skills' parts stacked, each with its title and numbers."""
    month = gains.months[at]
    total = gains.xp["overall"][at]
    parts = [f'<g data-month="{month}" data-xp="{total}"><title>{month_title(month)}: '
             f'+{total:,} XP</title>']
    below = 0
    for skill in SKILLS:
        gained, value = gains.xp[skill][at], gains.value[skill][at]
        if not gained and not value:
            continue
        top, bottom = y_of(below + gained, highest), y_of(below, highest)
        title = (f"{month_title(month)}, {metric_title(skill)}: +{gained:,} XP "
                 f"({format_value(skill, value)})")
        parts.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" '
                     f'height="{bottom - top:.1f}" fill="{COLOURS[skill]}" data-month="{month}" '
                     f'data-skill="{skill}" data-xp="{gained}" data-value="{value!r}">'
                     f"<title>{html.escape(title)}</title></rect>")
        below += gained
    return "".join(parts) + "</g>"


def legend(skills: Sequence[str] = LINES) -> str:
    """The colours' key, as text of the page (it wraps on a phone)."""
    items = "".join(f'<li><svg class="key" viewBox="0 0 10 10" width="10" height="10" '
                    f'aria-hidden="true"><rect width="10" height="10" '
                    f'fill="{COLOURS[skill]}"/></svg>{html.escape(metric_title(skill))}</li>'
                    for skill in skills)
    return f'<ul class="legend">{items}</ul>'


def figure(caption: str, chart: str, key: str = "") -> str:
    return (f'<figure class="chart">{chart}{key}<figcaption>{html.escape(caption)}'
            "</figcaption></figure>")


def share_bar(share: float) -> str:
    """A member's share of the group's month as a small bar (0..1)."""
    width = max(0.0, min(1.0, share)) * 100
    return (f'<svg class="share" viewBox="0 0 100 10" preserveAspectRatio="none" '
            f'aria-hidden="true"><rect width="100" height="10" fill="#c9b898"/>'
            f'<rect width="{width:.2f}" height="10" fill="{COLOURS["overall"]}"/></svg>')
