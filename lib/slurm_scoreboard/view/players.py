"""What a view shows of one name, read from the board files through
:class:`boardfiles.BoardFiles` (so never a user who opted out): the selection of a board, a
player's personal hiscores with their rank in each group, their efficiency and achievements.
Nothing here draws."""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..boardfiles import Board, BoardFiles, Row, number, ranks_in_groups
from ..core import layout
from ..errors import BoardError, OptOutUnreadable
from .display import (
    NO_LEVELS,
    SKILL_ABBREVIATIONS,
    Span,
    clean,
    format_value,
    metric_title,
    spark_legend,
)


class Selection(NamedTuple):
    window: str
    metric: str
    cluster: str                # "all" or a cluster of the index
    kind: str                   # "users" or "groups"

    def path(self, root: str, metric: Optional[str] = None) -> str:
        cluster = None if self.cluster == "all" else self.cluster
        return layout.board_path(root, self.window, metric or self.metric, cluster, self.kind)

    def progress_path(self, root: str) -> str:
        """The scope's progress file (what its names gained each month)."""
        return layout.progress_file(root, self.cluster, self.kind)



class Marks(NamedTuple):
    """What a board's rows show beside their own numbers: each name's row on the board of
    the `gained` window (None: no gained column), and whether the board knows the ranks of
    the previous UTC day (a movement marker then)."""
    gained: Optional[str] = None
    gains: Dict[str, Row] = {}
    moves: bool = False


def read_board(files: BoardFiles, selection: Selection, metric: Optional[str] = None
               ) -> Optional[Board]:
    """The selection's board (or its scope's board of `metric`), as boardfiles reads it."""
    return files.board(selection.window, metric or selection.metric, selection.cluster,
                       selection.kind)



def empty_board_text(board: Optional[Board]) -> str:
    """Why a board lists no one: nobody yet, or nobody over an efficiency board's bar."""
    if board is not None and board.min_cpu_hours:
        return (f"no one with {board.min_cpu_hours:g} CPU hours of measured jobs yet (the "
                "bar: sb-rank --min-cpu-hours, config/efficiency.json)")
    return "no one on this board yet"



class SkillLine(NamedTuple):
    metric: str
    rank: Optional[int]         # None: not on that board
    level: Optional[int]        # None on a board apart (failed jobs)
    xp: Optional[int]
    value: Optional[float]      # None for overall
    monthly: Tuple[int, ...] = ()     # XP gained in each of the page's months (no XP: empty)



class PlayerPage(NamedTuple):
    name: str
    selection: Selection
    asof: str
    lines: List[SkillLine]      # overall first
    extra: Tuple[Span, ...] = ()    # rank in each group, achievements: (text, style), cleaned
    months: Tuple[str, ...] = ()    # the months of the lines' monthly XP (none: no progress file)



def player_page(files: BoardFiles, selection: Selection, metrics: Sequence[str], name: str,
                measured: Sequence[str] = (), month: str = "") -> PlayerPage:
    """Every skill's rank, level, XP and value of `name`, read from the scope's board files,
    the XP they gained in each of the 12 months up to `month` (the progress file), and their
    place on each efficiency board in `measured`."""
    found: Dict[str, Optional[Row]] = {}
    asof = ""
    for metric in metrics:
        board = read_board(files, selection, metric)
        if board is not None:
            asof = asof or board.asof
            found[metric] = next((row for row in board.rows if row.name == name), None)
    skills = [_skill_line(metric, found.get(metric)) for metric in metrics if metric != "overall"]
    overall = found.get("overall")
    if overall is not None:
        top = SkillLine("overall", overall.rank, overall.level, overall.xp, None)
    else:
        top = SkillLine("overall", None, sum(s.level or 0 for s in skills),
                        sum(s.xp or 0 for s in skills), None)
    extra = tuple(efficiency_lines(files, selection, measured, name) +
                  group_lines(files, selection, name) + achievement_lines(files, selection, name))
    months, monthly = monthly_xp(files, selection, name, month)
    lines = [line._replace(monthly=monthly.get(line.metric, ())) for line in [top] + skills]
    return PlayerPage(name, selection, asof, lines, extra, months)


CHART_MONTHS = 12


def chart_lines(page: PlayerPage, ascii_only: bool = False, shown: bool = True) -> List[Span]:
    """The lines under the skills that say what the sparklines show, or (not `shown`: the
    terminal is too narrow for them) where to see them; none without a progress file."""
    if not page.months:
        return []
    if not shown:
        return [("", "text"), ("  Monthly XP: a wider terminal shows it", "dim")]
    return [("", "text"), (f"  Monthly XP, {page.months[0]} to {page.months[-1]}; "
                           f"{spark_legend(ascii_only)}", "dim")]


def last_months(month: str, count: int = CHART_MONTHS) -> Tuple[str, ...]:
    """The `count` months up to `month` (YYYY-MM), oldest first; none for what is no month."""
    if not layout.MONTH_NAME.fullmatch(month):
        return ()
    year, number = int(month[:4]), int(month[5:7])
    found = []
    for back in range(count - 1, -1, -1):
        at = year * 12 + number - 1 - back
        found.append(f"{at // 12:04d}-{at % 12 + 1:02d}")
    return tuple(found)


def monthly_xp(files: BoardFiles, selection: Selection, name: str, month: str
               ) -> Tuple[Tuple[str, ...], Dict[str, Tuple[int, ...]]]:
    """The months up to `month` and, for overall and each skill, the XP `name` gained in each
    (the scope's progress file); no months when there is no progress file."""
    months = last_months(month)
    if not months or files.progress_header(selection.cluster, selection.kind) is None:
        return (), {}
    entry = files.progress(selection.cluster, selection.kind, name) or \
        {"months": [], "xp": {}}
    at = {month: index for index, month in enumerate(entry["months"])}
    return months, {metric: tuple(points[at[month]] if month in at else 0 for month in months)
                    for metric, points in entry["xp"].items()}



def efficiency_rows(files: BoardFiles, selection: Selection, measured: Sequence[str],
                    name: str) -> List[Tuple[str, Optional[Row]]]:
    """(board, `name`'s row or None) on each efficiency board in `measured` that is there and
    can be read."""
    found = []
    for metric in measured:
        try:
            board = read_board(files, selection, metric)
        except OptOutUnreadable:
            raise
        except BoardError:
            continue
        if board is not None:
            found.append((metric, next((r for r in board.rows if r.name == name), None)))
    return found



def efficiency_lines(files: BoardFiles, selection: Selection, measured: Sequence[str],
                     name: str) -> List[Span]:
    """`name`'s rank and value on each efficiency board (from the daily step poll)."""
    lines: List[Span] = []
    for metric, row in efficiency_rows(files, selection, measured, name):
        shown = "-" if row is None else f"rank {row.rank:,}  {format_value(metric, row.value)}"
        lines.append((f"  {metric_title(metric):<20} {shown}", "text"))
    return [("", "text"), ("  Efficiency (measured jobs)", "heading")] + lines if lines else []



def group_lines(files: BoardFiles, selection: Selection, name: str) -> List[Span]:
    """A user's rank among the members of each of their groups, a line per group; a group's
    statistics on its own page."""
    groups = files.group_stats(selection.window, selection.cluster)
    if selection.kind == "groups":
        return group_stats_lines(next((g for g in groups if g["account"] == name), None))
    found = ranks_in_groups(name, groups)
    if not found:
        return []
    lines: List[Span] = [("", "text"), ("  Rank in group", "heading")]
    for group in found:
        ranks = "  ".join(f"{SKILL_ABBREVIATIONS[m]} {'-' if r is None else r}"
                          for m, r in group["ranks"].items() if m in SKILL_ABBREVIATIONS)
        members = group["members"]
        lines.append((f"  {clean(group['account'])} ({members:,} member"
                      f"{'' if members == 1 else 's'}): {ranks}", "text"))
    return lines



def group_stats_lines(group: Optional[dict]) -> List[Span]:
    """Members, members with a 99, the average member's levels and total XP of one group."""
    if group is None:
        return []
    averages = group.get("average_levels")
    if not isinstance(averages, dict):
        averages = {}
    levels = "  ".join(f"{SKILL_ABBREVIATIONS[m]} {number(averages.get(m)):.1f}"
                       for m in SKILL_ABBREVIATIONS)
    return [("", "text"), ("  Group statistics", "heading"),
            (f"  Members {int(number(group.get('members'))):,}, with a 99: "
             f"{int(number(group.get('members_99'))):,}, total XP of the members: "
             f"{int(number(group.get('total_xp'))):,}", "text"),
            (f"  Average member's levels: {levels}  (total "
             f"{number(group.get('average_total_level')):.1f})", "text")]



def achievement_text(event: dict) -> str:
    return f"  {clean(str(event.get('day')), True)}  {achievement_what(event)}"



def achievement_what(event: dict) -> str:
    """What an achievement is, and where (``Level 50 Jobs (all clusters)``), cleaned."""
    where = "all clusters" if event.get("scope") == "all" else clean(str(event.get("scope")))
    kind, skill = event.get("event"), metric_title(str(event.get("skill", "")))
    if kind == "level":
        text = f"Level {clean(str(event.get('level')))} {skill}"
    elif kind == "xp_cap":
        text = f"200M XP {skill}"
    elif kind == "total_level":
        text = f"Total level {clean(str(event.get('total_level')))}"
    elif kind == "first_job":
        text = "First job"
    else:
        text = f"Rank 1 {skill}"
    return f"{text} ({where})"



def achievement_lines(files: BoardFiles, selection: Selection, name: str) -> List[Span]:
    """The achievements of the page's user or group, newest first (and, when the feed was read
    only in part, that older ones are left out)."""
    events = files.events_of(name, selection.kind, selection.cluster)
    note = files.events_note
    if not events and not note:
        return []
    return [("", "text"), ("  Achievements", "heading")] + \
        [(achievement_text(event), "text") for event in reversed(events)] + \
        ([(f"  ({clean(note)})", "text")] if note else [])



def _skill_line(metric: str, row: Optional[Row]) -> SkillLine:
    if metric in NO_LEVELS:
        return SkillLine(metric, row and row.rank, None, None, row.value if row else 0)
    if row is None:
        return SkillLine(metric, None, 1, 0, 0)
    return SkillLine(metric, row.rank, row.level, row.xp, row.value)
