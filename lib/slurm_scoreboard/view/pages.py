"""sb-view's pages of text beside the boards: records, competitions and two users compared, read
from the files sb-rank writes through boardfiles (so without users who opted out). Every name
read from a file passes through ``clean`` (names may be anyone's) before it is put in a line;
``screens`` fits the lines to the terminal.
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple

from ..boardfiles import BoardFiles, name_field
from ..history.history import SKILLS
from ..history.recordbook import PERIODS, records_of
from .display import (
    PODIUM,
    clean,
    format_value,
    metric_title,
    spark_legend,
    sparkline,
    when,
    window_title,
)
from .players import PlayerPage, Selection

Span = Tuple[str, str]


class TextPage(NamedTuple):
    title: str
    meta: str
    heading: str
    lines: List[Span]           # (text, style), text already cleaned
    scoped: bool = False        # follows the cluster and kind chosen (g, a): the records
    listing: bool = True        # a list of rows --top may shorten (not the compare page)


def _number(value) -> Optional[float]:
    return value if type(value) in (int, float) else None


def _value(skill: str, value) -> str:
    number = _number(value)
    return "-" if number is None else format_value(skill, number)


def _field(value, name: str):
    """value[name] when value is an object as sb-rank writes them, else None."""
    return value.get(name) if isinstance(value, dict) else None


def _scope(selection: Selection) -> str:
    where = "all clusters" if selection.cluster == "all" else f"cluster {selection.cluster}"
    return f"{where}, {selection.kind}"


def records_page(files: BoardFiles, selection: Selection, ascii_only: bool = False) -> TextPage:
    """Per skill, the most gained in one day, week and month, with who and when."""
    document = files.records()
    heading = f"  {'Skill':<15} {'Period':<6} {'Name':<14} {'Gained':>13}  When"
    if document is None:
        return TextPage("Records", _scope(selection), heading,
                        [("  no records yet: sb-rank writes them with the boards", "dim")])
    field = name_field(selection.kind)
    rows = records_of(document, selection.cluster, selection.kind)
    lines: List[Span] = []
    for skill in SKILLS:
        for period in PERIODS:
            row = next((r for r in rows if r.get("skill") == skill and r.get("period") == period),
                       None)
            title = metric_title(skill) if period == "day" else ""
            if row is None:
                lines.append((f"  {title:<15} {period:<6} {'-':<14}", "dim"))
                continue
            name = clean(str(row.get(field, "")), ascii_only)
            label = clean(str(row.get("label", "")), True)
            if period == "week":
                label += (f" ({clean(str(row.get('first_day', '')), True)[5:]}.."
                          f"{clean(str(row.get('last_day', '')), True)[5:]})")
            lines.append((f"  {title:<15} {period:<6} {name:<14} "
                          f"{_value(skill, row.get('value')):>13}  {label}", "text"))
    asof = when(str(document.get("asof", "")))
    return TextPage("Records", f"{_scope(selection)}; as of {asof}", heading, lines, True)


def competition_ids(files: BoardFiles) -> List[str]:
    """The competitions of the last rebuild, in its order (ongoing first)."""
    return files.competition_ids()


def competition_page(files: BoardFiles, ident: str, ascii_only: bool = False) -> TextPage:
    document = files.competition(ident) or {}
    skills = [s for s in document.get("skills", []) if s in SKILLS] \
        if isinstance(document.get("skills"), list) else []
    title = clean(str(document.get("title", ident)), ascii_only)
    meta = (f"{clean(str(document.get('status', '?')), True)}, "
            f"{clean(str(document.get('from', '?')), True)} to "
            f"{clean(str(document.get('to', '?')), True)}, "
            f"{', '.join(metric_title(s) for s in skills)}"
            f"{_filters(document, ascii_only)}")
    columns = "".join(f" {metric_title(s)[:14]:>14}" for s in skills)
    heading = f"  {'Rank':>5} {'Name':<18} {'XP gained':>12} {'Levels':>6}{columns}"
    rows = document.get("rows")
    if not isinstance(rows, list):
        rows = []
    lines: List[Span] = []
    for row in rows:
        gained = row.get("skills") if isinstance(row.get("skills"), dict) else {}
        cells = "".join(f" {_value(s, _field(gained.get(s), 'gained')):>14}" for s in skills)
        rank = _number(row.get("rank"))
        style = PODIUM.get(rank or 0, "text")
        lines.append((f"  {int(rank or 0):>5,} {clean(str(row.get('user', '')), ascii_only):<18} "
                      f"{int(_number(row.get('xp_gained')) or 0):>12,} "
                      f"{int(_number(row.get('levels_gained')) or 0):>6,}{cells}", style))
    if not lines:
        lines = [("  no one has gained anything in it yet", "dim")]
    return TextPage(f"Competition: {title}", meta, heading, lines)


def _filters(document: dict, ascii_only: bool) -> str:
    """The cluster, accounts and users a competition is limited to, as a meta line's end."""
    parts = []
    if isinstance(document.get("cluster"), str) and document["cluster"] != "all":
        parts.append(f"cluster {clean(document['cluster'], ascii_only)}")
    for field in ("accounts", "users"):
        names = document.get(field)
        if isinstance(names, list) and names:
            shown = ", ".join(clean(str(name), ascii_only) for name in names[:5])
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            parts.append(f"{field} {shown}{more}")
    return "; only " + "; ".join(parts) if parts else ""


def compare_page(first: PlayerPage, second: PlayerPage, ascii_only: bool = False) -> TextPage:
    """Two personal pages side by side: level, value and rank of each, and the XP gap."""
    names = [clean(page.name, ascii_only) for page in (first, second)]
    heading = (f"  {'Skill':<15} {names[0][:21]:>21} {names[1][:21]:>21} {'XP gap':>13}")
    lines: List[Span] = [(f"  {'':<15} {'level / value / rank':>21} "
                          f"{'level / value / rank':>21}", "dim")]
    for one, other in zip(first.lines, second.lines):
        cells = []
        for line in (one, other):
            value = "" if line.value is None else format_value(line.metric, line.value)
            rank = "-" if line.rank is None else f"{line.rank:,}"
            level = "-" if line.level is None else f"{line.level:,}"
            cells.append(f"{level} / {value or '-'} / {rank}")
        gap = (one.xp or 0) - (other.xp or 0)
        style = "rank1" if gap > 0 else ("dim" if gap == 0 else "text")
        shown = "-" if one.xp is None and other.xp is None else f"{gap:+,}"
        lines.append((f"  {metric_title(one.metric):<15} {cells[0]:>21} {cells[1]:>21} "
                      f"{shown:>13}", style))
    meta = f"{window_title(first.selection.window)}, {_scope(first.selection)}"
    lines += monthly_lines(first, second, names, ascii_only)
    return TextPage(f"Compare: {names[0]} and {names[1]}", meta, heading, lines, listing=False)


def monthly_lines(first: PlayerPage, second: PlayerPage, names: List[str],
                  ascii_only: bool) -> List[Span]:
    """Each skill's sparklines of the two, one above the other, on one scale (the best month
    of either); none when a progress file is missing."""
    if not first.months or first.months != second.months:
        return []
    lines: List[Span] = [("", "text"), (f"  Monthly XP, {first.months[0]} to "
                                        f"{first.months[-1]}; "
                                        f"{spark_legend(ascii_only, 'the best of the two')}",
                                        "dim")]
    for one, other in zip(first.lines, second.lines):
        if not one.monthly or not other.monthly:
            continue
        top = max(one.monthly + other.monthly)
        for number, (line, name) in enumerate(((one, names[0]), (other, names[1]))):
            title = metric_title(line.metric) if number == 0 else ""
            lines.append((f"  {title:<15} {name[:14]:<14} "
                          f"{sparkline(line.monthly, top, ascii_only)}", "text"))
    return lines
