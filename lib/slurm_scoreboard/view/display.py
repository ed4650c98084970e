"""Text for people: names cleaned before they are shown (control characters escaped, non-ASCII
too when asked), widths of what a terminal draws, values, times and titles as every view (the
TUI, the ANSI snapshot, the site) writes them."""
from __future__ import annotations

import unicodedata
from typing import Dict, List, Tuple

from ..boardfiles import LEVELLESS, METRIC_TITLES, RATIO_BOARDS, checked_asof
from ..core.names import safe_text

Span = Tuple[str, str]

Line = List[Span]

SKILL_ABBREVIATIONS = {       # the skills of Overall, in its order
    "clock_hours": "CPU", "elapsed_hours": "Wall", "gpu_clock_hours": "GPU",
    "gpu_elapsed_hours": "GPUw", "jobs": "Jobs"}

WINDOW_TITLES = {
    "alltime": "All time", "rolling-7d": "Last 7 days", "rolling-30d": "Last 30 days",
    "rolling-365d": "Last 365 days", "month": "This month"}

HOURS = frozenset(("clock_hours", "elapsed_hours", "gpu_clock_hours", "gpu_elapsed_hours",
                   "cpu_used_hours"))

PERCENT = frozenset(RATIO_BOARDS)

NO_LEVELS = frozenset(LEVELLESS)     # boards whose rows have no level and no XP

VALUE_HEADINGS = {"failed_jobs": "Failed", "jobs": "Jobs"}

PODIUM: Dict[float, str] = {1: "rank1", 2: "rank2", 3: "rank3"}     # the styles of the first ranks
NAME_LIMIT = 200                   # longer names are cut before they are even measured



def clean(text: str, ascii_only: bool = False) -> str:
    """Untrusted text made safe to print: control characters escaped (and non-ASCII, if asked)."""
    shown = safe_text(text, NAME_LIMIT)
    if ascii_only and not shown.isascii():
        shown = "".join(c if c.isascii() else ascii(c)[1:-1] for c in shown)
    return shown



def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1



def text_width(text: str) -> int:
    """Terminal columns `text` takes (wide characters count two)."""
    return len(text) if text.isascii() else sum(map(_char_width, text))



def cut(text: str, width: int) -> str:
    if text.isascii():
        return text[:width]
    out, used = [], 0
    for char in text:
        used += _char_width(char)
        if used > width:
            break
        out.append(char)
    return "".join(out)



def fit(text: str, width: int, align: str = "<") -> str:
    """`text` padded to exactly `width` columns, or cut with a ``~`` where it was too long."""
    if width <= 0:
        return ""
    if text_width(text) > width:
        text = cut(text, width - 1) + "~"
    pad = " " * (width - text_width(text))
    return pad + text if align == ">" else text + pad



def value_heading(metric: str) -> str:
    """The heading of a board's value column."""
    if metric in PERCENT:
        return "Percent"
    return "Hours" if metric in HOURS else VALUE_HEADINGS.get(metric, "Value")



def format_value(metric: str, value: float) -> str:
    """Hours with one decimal and an ``h``, percents with one decimal and a ``%``, counts as
    whole numbers; thousands separated."""
    if metric in HOURS:
        return f"{value:,.1f} h"
    if metric in PERCENT:
        return f"{value:,.1f}%"
    return f"{int(value):,}"



def when(asof: str) -> str:
    """``2025-08-31T12:00:00Z`` as ``2025-08-31 12:00 UTC``; "" for anything that is not a real
    UTC instant (boardfiles.checked_asof: no planted text is shown as a time)."""
    asof = checked_asof(asof)
    return f"{asof[:10]} {asof[11:16]} UTC" if asof else ""



def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric)



def window_title(window: str) -> str:
    return WINDOW_TITLES.get(window, window)
