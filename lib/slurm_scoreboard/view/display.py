"""Text for people: names cleaned before they are shown (control characters escaped, non-ASCII
too when asked), widths of what a terminal draws, values, times and titles as every view (the
TUI, the ANSI snapshot, the site) writes them."""
from __future__ import annotations

import locale
import unicodedata
from typing import Dict, List, Optional, Sequence, Tuple

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



def locale_is_utf8() -> bool:
    """Whether the locale's character set is UTF-8: its codeset, not Python's output encoding,
    which Python's UTF-8 mode makes UTF-8 under LC_ALL=C while the terminal there may show ASCII
    only (anything else would be blanks or mojibake)."""
    return "utf8" in locale.nl_langinfo(locale.CODESET).lower().replace("-", "")


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


GAIN_LABELS = {"rolling-7d": "7d", "rolling-30d": "30d", "rolling-365d": "365d",
               "month": "month"}


def gain_heading(window: str) -> str:
    """The heading of a board's gained column (what each name gained in `window`)."""
    return f"{GAIN_LABELS.get(window, window)} gain"


# -- sparklines and movement: shapes and words, never colour alone ----------------------------

SPARK = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"   # one eighth to a full block
SPARK_NONE = "\u00b7"                                                  # a middle dot
ASCII_SPARK = "_-=+*#%@"
ASCII_SPARK_NONE = "."


def sparkline(values: Sequence[int], top: int, ascii_only: bool = False) -> str:
    """One character a value: nothing (a dot) or one of eight heights, the highest for `top`
    (the best of what is compared), any gain at least the lowest; ASCII when asked."""
    levels, none = (ASCII_SPARK, ASCII_SPARK_NONE) if ascii_only else (SPARK, SPARK_NONE)
    if top <= 0:
        return none * len(values)
    return "".join(none if value <= 0 else
                   levels[min(len(levels), -(-value * len(levels) // top)) - 1]
                   for value in values)


def spark_legend(ascii_only: bool, best: str = "the best month") -> str:
    """What the heights mean, in the characters used."""
    levels, none = (ASCII_SPARK, ASCII_SPARK_NONE) if ascii_only else (SPARK, SPARK_NONE)
    return f"{levels[0]} to {levels[-1]}: up to {best}, {none} none"


def move_text(rank: int, previous: Optional[int], ascii_only: bool = False) -> Span:
    """A row's movement since the previous UTC day, and its style: up or down so many places
    (an arrow, or ^ and v in ASCII), new (not on the board then), or nothing."""
    if previous is None:
        return "new", "new"
    if previous == rank:
        return "", "text"
    up, down = ("^", "v") if ascii_only else ("\u25b2", "\u25bc")
    if previous > rank:
        return f"{up}{previous - rank:,}", "up"
    return f"{down}{rank - previous:,}", "down"
