"""sb-view's screens as text: columns that fit the width, styled lines, and the colour palettes.

A screen is a list of lines; a line is a list of ``(text, style)`` spans exactly ``width``
columns wide, and each style names an entry of :data:`PALETTE_256`, :data:`PALETTE_8` and
:data:`MONO`. The backends (``tui``, ``ansi``, ``textual_app``) only paint these lines.
"""
from __future__ import annotations

from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ..boardfiles import Board, Row
from .display import (
    NO_LEVELS,
    PERCENT,
    PODIUM,
    SKILL_ABBREVIATIONS,
    Line,
    clean,
    cut,
    fit,
    format_value,
    gain_heading,
    metric_title,
    move_text,
    sparkline,
    text_width,
    value_heading,
    when,
    window_title,
)
from .model import CHROME, MIN_HEIGHT, MIN_WIDTH, ViewState, help_lines
from .players import (
    Marks,
    PlayerPage,
    Selection,
    SkillLine,
    chart_lines,
    empty_board_text,
)

NO_MARKS = Marks()

# -- columns -----------------------------------------------------------------------------------

class Column(NamedTuple):
    key: str
    title: str
    width: int
    align: str = ">"
    gap: int = 2


def _fit_columns(fixed: List[Column], name: Column, extra: List[Tuple[Column, int]],
                 width: int) -> List[Column]:
    """The columns for `width`: `name` takes what is left; an extra column (with the name width
    it needs beside it) is dropped, neediest and rightmost first, while the name lacks room."""
    kept = list(extra)
    while True:
        columns = fixed + [column for column, _ in kept]
        room = width - name.gap - sum(c.width + c.gap for c in columns)
        victims = [(need, i) for i, (_, need) in enumerate(kept) if need > room]
        if not victims:
            break
        del kept[max(victims)[1]]
    return fixed + [name._replace(width=max(1, room))] + [c for c, _ in kept]


def _skills_text(levels: Iterable[object]) -> str:
    return " ".join(f"{level:>4}" for level in levels)


def board_columns(board: Optional[Board], selection: Selection, width: int,
                  marks: Marks = NO_MARKS) -> List[Column]:
    """Rank, the movement since the previous day (when known), Name, Level, XP and Value
    (overall: each skill's level), the gained column (when chosen), fitted to `width`."""
    rows = board.rows if board else []
    most_rank = max((row.rank for row in rows), default=0)
    most_xp = max((row.xp for row in rows), default=0)
    fixed = [Column("mark", "", 1, "<", 0), Column("rank", "Rank", max(4, len(f"{most_rank:,}")),
                                                   ">", 1)]
    if marks.moves:
        fixed.append(Column("move", "Move", max([4] + [
            len(move_text(row.rank, row.previous_rank)[0]) for row in rows]), "<", 1))
    extra = [(Column("level", "Level", 5), 0),
             (Column("xp", "XP", max(10, len(f"{most_xp:,}"))), 10)]
    if selection.metric in NO_LEVELS:
        extra = []          # a ratio board (a percent) or a board apart: no levels
    if selection.metric == "overall":
        title = _skills_text(SKILL_ABBREVIATIONS.values())
        extra.append((Column("skills", title, len(title)), 16))
    else:
        most = max((row.value for row in rows), default=0)
        heading = value_heading(selection.metric)
        extra.append((Column("value", heading,
                             max(9, len(heading), len(format_value(selection.metric, most)))), 10))
    if marks.gained is not None and selection.metric not in PERCENT:
        heading = gain_heading(marks.gained)
        extra.append((Column("gained", heading, max([len(heading)] + [
            len(gained_text(marks, row.name, selection.metric)) for row in rows])), 12))
    if selection.kind == "groups":
        extra.append((Column("members", "Members", 7), 12))
    return _fit_columns(fixed, Column("name", "Name", 0, "<"), extra, width)


def player_columns(page: PlayerPage, width: int) -> List[Column]:
    """Skill, Rank, Level, XP and Value, as wide as the page's numbers need."""
    def widest(key: str, least: int) -> int:
        return max([least] + [len(skill_cell(line, key)) for line in page.lines])

    fixed = [Column("mark", "", 1, "<", 0)]
    extra = [(Column("rank", "Rank", widest("rank", 6)), 0),
             (Column("level", "Level", widest("level", 5)), 0),
             (Column("xp", "XP", widest("xp", 10)), 12),
             (Column("value", "Value", widest("value", 9)), 14)]
    if page.months:
        extra.append((Column("spark", "Monthly XP", len(page.months), "<"), 15))
    return _fit_columns(fixed, Column("skill", "Skill", 0, "<", 1), extra, width)


def gained_text(marks: Marks, name: str, metric: str) -> str:
    """What `name` gained in the gained column's window: the value, or on overall the XP."""
    row = marks.gains.get(name)
    if row is None:
        return ""
    if metric == "overall":
        return f"+{row.xp:,}"
    return "+" + format_value(metric, row.value)


def row_cell(row: Row, key: str, metric: str, ascii_only: bool,
             marks: Marks = NO_MARKS) -> str:
    if key == "rank":
        return f"{row.rank:,}"
    if key == "move":
        return move_text(row.rank, row.previous_rank, ascii_only)[0]
    if key == "gained":
        return gained_text(marks, row.name, metric)
    if key == "name":
        return clean(row.name, ascii_only)
    if key == "level":
        return f"{row.level:,}"
    if key == "xp":
        return f"{row.xp:,}"
    if key == "value":
        return format_value(metric, row.value)
    if key == "members":
        return "" if row.members is None else f"{row.members:,}"
    if key == "skills":
        skills = row.skills or {}
        return _skills_text(skills.get(m, "") for m in SKILL_ABBREVIATIONS)
    return ""


def skill_cell(line: SkillLine, key: str, ascii_only: bool = False) -> str:
    if key == "skill":
        return metric_title(line.metric)
    if key == "spark":
        return sparkline(line.monthly, max(line.monthly, default=0), ascii_only) \
            if line.monthly else ""
    if key == "rank":
        return "-" if line.rank is None else f"{line.rank:,}"
    if key == "level":
        return "" if line.level is None else f"{line.level:,}"
    if key == "xp":
        return "" if line.xp is None else f"{line.xp:,}"
    if key == "value":
        return "" if line.value is None else format_value(line.metric, line.value)
    return ""


# -- lines -------------------------------------------------------------------------------------

def pad(line: Line, width: int, style: str) -> Line:
    """`line` cut or filled with `style` spaces to exactly `width` columns."""
    out: Line = []
    used = 0
    for text, span_style in line:
        room = width - used
        if room <= 0:
            break
        size = text_width(text)
        if size > room:
            text = cut(text, room)
            size = text_width(text)
        out.append((text, span_style))
        used += size
    if used < width:
        out.append((" " * (width - used), style))
    return out


def bar(left: str, right: str, width: int, style: str) -> Line:
    """One line with `left` at the start and `right` at the end, if both fit."""
    if right and text_width(left) + text_width(right) + 3 <= width:
        middle = width - text_width(left) - text_width(right) - 2
        return [(" " + left + " " * middle + right + " ", style)]
    return [(fit(" " + left, width), style)]


def table_line(cells: Sequence[str], styles: Sequence[str], columns: Sequence[Column],
               width: int, gap_style: str) -> Line:
    line: Line = []
    for text, style, column in zip(cells, styles, columns):
        if column.gap:
            line.append((" " * column.gap, gap_style))
        line.append((fit(text, column.width, column.align), style))
    return pad(line, width, gap_style)


def heading_line(columns: Sequence[Column], width: int) -> Line:
    return table_line([c.title for c in columns], ["heading"] * len(columns), columns, width,
                      "heading")


def row_line(row: Row, columns: Sequence[Column], metric: str, width: int, selected: bool,
             ascii_only: bool, marks: Marks = NO_MARKS) -> Line:
    podium = PODIUM.get(row.rank)
    cells, styles = [], []
    for column in columns:
        if column.key == "mark":
            cells.append(">" if selected else "")
        else:
            cells.append(row_cell(row, column.key, metric, ascii_only, marks))
        if selected:
            styles.append("selected")
        elif podium and column.key in ("rank", "name"):
            styles.append(podium)
        elif column.key == "move":
            styles.append(move_text(row.rank, row.previous_rank)[1])
        else:
            styles.append("text")
    return table_line(cells, styles, columns, width, "selected" if selected else "text")


def skill_line(line: SkillLine, columns: Sequence[Column], width: int,
               ascii_only: bool = False) -> Line:
    overall = line.metric == "overall"
    podium = PODIUM.get(line.rank or 0)
    styles = []
    for column in columns:
        if column.key == "rank" and podium:
            styles.append(podium)
        elif column.key == "spark":
            styles.append("spark")
        else:
            styles.append("heading" if overall else "text")
    return table_line([skill_cell(line, c.key, ascii_only) for c in columns], styles, columns,
                      width, "text")


def footer_line(hints: Sequence[Tuple[str, str]], width: int) -> Line:
    """Key hints in order while they fit, the last one (quit) always."""
    def size(hint):
        return len(hint[0]) + len(hint[1]) + 3

    line: Line = [(" ", "footer")]
    used = 1 + size(hints[-1])
    for hint in hints[:-1]:
        if used + size(hint) > width:
            break
        line += [(hint[0], "key"), (f" {hint[1]}  ", "footer")]
        used += size(hint)
    line += [(hints[-1][0], "key"), (f" {hints[-1][1]}  ", "footer")]
    return pad(line, width, "footer")


def scope_text(selection: Selection, width: int) -> str:
    """Window, cluster and kind; without the labels when `width` is tight."""
    cluster = "all clusters" if selection.cluster == "all" else selection.cluster
    window = window_title(selection.window)
    text = f"Window: {window}   Cluster: {cluster}   Kind: {selection.kind}"
    if len(text) + 2 <= width:
        return text
    return f"{window} | {cluster} | {selection.kind}"


def days_text(board: Optional[Board]) -> str:
    if board is None or not board.first_day or not board.last_day:
        return ""
    return clean(f"{board.first_day} to {board.last_day}", True)


# -- screens -----------------------------------------------------------------------------------

BOARD_HINTS = (("?", "help"), ("Tab", "skill"), ("w", "window"), ("g", "cluster"),
               ("a", "groups"), ("Enter", "player"), ("R", "records"), ("c", "contests"),
               ("f", "filter"), ("/", "search"), ("s", "sort"), ("d", "gains"), ("q", "quit"))
PLAYER_HINTS = (("Esc", "back"), ("w", "window"), ("g", "cluster"), ("?", "help"), ("q", "quit"))
HELP_HINTS = (("Esc", "back"), ("j/k", "scroll"), ("q", "quit"))
TEXT_HINTS = (("Esc", "back"), ("j/k", "scroll"), ("g", "cluster"), ("a", "groups"),
              ("R", "records"), ("c", "competitions"), ("q", "quit"))
PAGE_HINTS = (("Esc", "back"), ("j/k", "scroll"), ("R", "records"), ("c", "competitions"),
              ("q", "quit"))


def board_title(selection: Selection) -> str:
    prefix = "Group hiscores" if selection.kind == "groups" else "Hiscores"
    return f"{prefix}: {metric_title(selection.metric)}"


def player_title(page: PlayerPage, ascii_only: bool) -> str:
    prefix = "Group hiscores" if page.selection.kind == "groups" else "Personal hiscores"
    return f"{prefix}: {clean(page.name, ascii_only)}"


def too_small(width: int, height: int) -> List[Line]:
    words = fit(f"terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT})", max(width, 0))
    return [[(words, "alert")]] + [[(" " * max(width, 0), "text")] for _ in range(height - 1)]


def screen(state: ViewState, width: int, height: int, ascii_only: bool = False) -> List[Line]:
    """The whole screen: `height` lines of `width` columns (scrolls `state` to its selection)."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return too_small(width, height)
    size = height - CHROME
    state.fit_view(size)
    if state.screen == "help":
        head, body, hints = _help_parts(state, width, size)
    elif state.screen == "player" and state.player is not None:
        head, body, hints = _player_parts(state.player, width, ascii_only)
        body = body[state.text_top:]
    elif state.screen == "text" and state.text is not None:
        head, body, hints = _text_parts(state.text, width)
        body = body[state.text_top:]
    else:
        head, body, hints = _board_parts(state, width, size, ascii_only)
    body = body[:size] + [[(" " * width, "text")]] * (size - len(body))
    return head + body + [status_line(state, width), footer_line(hints, width)]


def _board_parts(state: ViewState, width: int, size: int, ascii_only: bool):
    sel, board = state.sel, state.board
    asof = board.asof if board is not None else state.index.asof
    marks = state.marks()
    columns = board_columns(board, sel, width, marks)
    head = [bar(board_title(sel), f"as of {when(asof)}", width, "title"),
            bar(scope_text(sel, width), days_text(board), width, "meta"),
            heading_line(columns, width)]
    shown = state.rows[state.top:state.top + size]
    body = [row_line(row, columns, sel.metric, width, state.top + i == state.selected,
                     ascii_only, marks) for i, row in enumerate(shown)]
    if not body:
        body = [[(fit("  " + empty_text(state), width), "alert" if state.board is None and
                  state.problem != "no data" else "dim")]]
    hints = [(key, "users" if key == "a" and sel.kind == "groups" else label)
             for key, label in BOARD_HINTS]
    return head, body, hints


def empty_text(state: ViewState) -> str:
    if state.problem:
        return state.problem
    if state.filter:
        return f"no names contain '{clean(state.filter)}'"
    return empty_board_text(state.board)


def _player_parts(page: PlayerPage, width: int, ascii_only: bool):
    columns = player_columns(page, width)
    head = [bar(player_title(page, ascii_only), f"as of {when(page.asof)}", width, "title"),
            bar(scope_text(page.selection, width), "", width, "meta"),
            heading_line(columns, width)]
    body = [skill_line(line, columns, width, ascii_only) for line in page.lines]
    shown = any(column.key == "spark" for column in columns)
    body += [pad([(fit(text, width), style)], width, style)
             for text, style in chart_lines(page, ascii_only, shown)]
    body += [pad([(fit(clean(text, ascii_only), width), style)], width, style)
             for text, style in page.extra]
    return head, body, PLAYER_HINTS


def _text_parts(page, width: int):
    """A page of text (pages.TextPage): its lines were cleaned when it was made."""
    head = [bar(page.title, "", width, "title"), bar(page.meta, "", width, "meta"),
            pad([(fit(page.heading, width), "heading")], width, "heading")]
    body = [pad([(fit(text, width), style)], width, style) for text, style in page.lines]
    return head, body, TEXT_HINTS if page.scoped else PAGE_HINTS


def _help_parts(state: ViewState, width: int, size: int):
    head = [bar("Hiscores: keys", "sb-view", width, "title"),
            bar("Esc or ? goes back", "", width, "meta"),
            pad([("  Key         Action", "heading")], width, "heading")]
    body = [pad([(line, "text")], width, "text")
            for line in help_lines()[state.help_top:state.help_top + size]]
    return head, body, HELP_HINTS


def status_line(state: ViewState, width: int) -> Line:
    if state.prompt is not None:
        return pad([(f" {state.prompt.label}: {clean(state.prompt.text)}", "status")], width,
                   "status")
    left = " "
    if state.screen == "board":
        left += f"{state.selected + 1 if state.rows else 0:,}/{len(state.rows):,}"
        if state.filter:
            left += f"  filter '{clean(state.filter)}'"
        if state.reverse:
            left += "  bottom first"
    message = clean(state.message)
    if message and text_width(left) + text_width(message) + 3 <= width:
        gap = width - text_width(left) - text_width(message) - 1
        return [(left + " " * gap, "status"), (message, "alert" if state.alert else "status"),
                (" ", "status")]
    if message:
        return pad([(" " + message, "alert" if state.alert else "status")], width, "status")
    return pad([(left, "status")], width, "status")


def prompt_cursor(state: ViewState, width: int, height: int) -> Optional[Tuple[int, int]]:
    """(row, column) for the cursor while a prompt is being typed."""
    if state.prompt is None or width < MIN_WIDTH or height < MIN_HEIGHT:
        return None
    column = text_width(f" {state.prompt.label}: {clean(state.prompt.text)}")
    return height - 2, min(column, width - 1)


def snapshot_lines(state: ViewState, width: int, top: int, ascii_only: bool) -> List[Line]:
    """A board (or the personal page on screen) for printing once: no selection, no keys."""
    rule = [("-" * width, "rule")]
    if state.screen == "text" and state.text is not None:
        head, body, _ = _text_parts(state.text, width)
        lines = head[:2] + [rule] + head[2:]
        if not (state.text.listing and top and len(body) > top):
            return lines + body
        return lines + body[:top] + [rule, [(fit(f" {top:,} of {len(body):,} lines shown "
                                                 "(--top 0 shows all)", width), "meta")]]
    if state.screen == "player" and state.player is not None:
        head, body, _ = _player_parts(state.player, width, ascii_only)
        return head[:2] + [rule] + head[2:] + body
    sel = state.sel
    shown = state.rows if top == 0 else state.rows[:top]
    marks = state.marks()
    columns = board_columns(state.board, sel, width, marks)
    asof = state.board.asof if state.board is not None else state.index.asof
    lines = [bar(board_title(sel), f"as of {when(asof)}", width, "title"),
             bar(scope_text(sel, width), days_text(state.board), width, "meta"), rule,
             heading_line(columns, width)]
    lines += [row_line(row, columns, sel.metric, width, False, ascii_only, marks)
              for row in shown]
    return lines + [rule, [(fit(" " + summary_text(state, len(shown)), width), "meta")]]


def summary_text(state: ViewState, shown: int) -> str:
    if not state.rows:
        return empty_text(state)
    total = len(state.rows)
    noun = state.sel.kind if total != 1 else state.sel.kind[:-1]
    if shown < total:
        return f"{shown:,} of {total:,} {noun} shown (--top 0 shows all)"
    return f"{total:,} {noun}"


# -- colours -----------------------------------------------------------------------------------

# style -> (foreground, background, bold): Old School RuneScape's yellow and orange on black,
# parchment text and brown bars, in the xterm 256-colour set and in the basic eight.
# (foreground, background, bold); -1 is the terminal's own colour, so text stays readable on
# dark and light terminals alike and only the bars carry a background of their own.
PALETTE_256 = {
    "title": (226, 94, True), "meta": (-1, -1, False), "heading": (-1, -1, True),
    "text": (-1, -1, False), "dim": (137, -1, False), "rank1": (178, -1, True),
    "rank2": (245, -1, True), "rank3": (130, -1, True), "selected": (16, 220, True),
    "status": (-1, -1, False), "alert": (160, -1, True), "footer": (16, 180, False),
    "key": (52, 180, True), "rule": (94, -1, False), "spark": (178, -1, False),
    "up": (34, -1, True), "down": (160, -1, False), "new": (226, -1, True)}
PALETTE_8 = {
    "title": (0, 3, False), "meta": (-1, -1, False), "heading": (-1, -1, True),
    "text": (-1, -1, False), "dim": (-1, -1, False), "rank1": (3, -1, True),
    "rank2": (3, -1, True), "rank3": (3, -1, True), "selected": (0, 3, False),
    "status": (-1, -1, False), "alert": (1, -1, True), "footer": (0, 7, False),
    "key": (1, 7, True), "rule": (3, -1, False), "spark": (3, -1, False),
    "up": (2, -1, True), "down": (1, -1, False), "new": (3, -1, True)}
# Without colours only attributes: what stands out, and how (the sparklines and the movement
# markers read without colour: heights, arrows and words).
MONO = {"title": "reverse", "heading": "bold", "rank1": "bold", "rank2": "bold", "rank3": "bold",
        "selected": "reverse", "alert": "bold", "footer": "reverse", "key": "bold reverse",
        "up": "bold", "new": "bold"}
