"""sb-view's snapshot: the screen's lines printed once, with ANSI SGR colours or as plain text.

Colour is used when asked (``always``), or (``auto``) when ``FORCE_COLOR`` is set (and not
``0``), or when the stream is a terminal, ``NO_COLOR`` is unset or empty and ``TERM`` is not
``dumb``. Text keeps the terminal's own colours; only the title, footer and selection bars
carry a background. The 256-colour palette is used when ``TERM``
says ``256color`` or ``COLORTERM`` says ``truecolor``/``24bit``, else the basic eight. Plain
output is ASCII only (non-ASCII escaped like control characters), safe for cron mail.
"""
from __future__ import annotations

from typing import List, Mapping, Sequence

from .display import Line
from .screens import PALETTE_8, PALETTE_256

RESET = "\x1b[0m"


def want_color(choice: str, stream, env: Mapping[str, str]) -> bool:
    """always, never, or (auto) a terminal without NO_COLOR; FORCE_COLOR (not "0") makes auto
    colour even into a pipe or a file."""
    if choice in ("always", "never"):
        return choice == "always"
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return terminal and not env.get("NO_COLOR") and env.get("TERM", "") != "dumb"


def color_depth(env: Mapping[str, str]) -> int:
    """256 when the terminal says it has them, else 8."""
    if "256color" in env.get("TERM", "") or env.get("COLORTERM") in ("truecolor", "24bit"):
        return 256
    return 8


def sgr(style: str, depth: int) -> str:
    """The escape sequence that starts text in `style`."""
    fg, bg, bold = (PALETTE_256 if depth == 256 else PALETTE_8)[style]
    codes = ["1"] if bold else []
    if depth == 256:
        codes += ([f"38;5;{fg}"] if fg >= 0 else []) + ([f"48;5;{bg}"] if bg >= 0 else [])
    else:
        codes += ([f"3{fg}"] if fg >= 0 else []) + ([f"4{bg}"] if bg >= 0 else [])
    return f"\x1b[{';'.join(codes)}m" if codes else ""


def render_line(line: Line, depth: int) -> str:
    """One line: colour changes only where the style does, reset at the end."""
    if not depth:
        return "".join(text for text, _ in line).rstrip()
    out: List[str] = []
    current = None
    for text, style in line:
        if style != current:
            out.append(sgr(style, depth) if current is None else RESET + sgr(style, depth))
            current = style
        out.append(text)
    return "".join(out) + RESET


def render(lines: Sequence[Line], depth: int) -> str:
    """Text of the lines; `depth` 256 or 8 colours, 0 for plain."""
    return "".join(render_line(line, depth) + "\n" for line in lines)
