"""sb-view's interactive screen: a ViewState drawn with curses, htop-like.

Keys are read with a timeout, so the board files are checked for changes every
``RELOAD_SECONDS`` even when nobody types; a resize (KEY_RESIZE) redraws at the new size.
"""
from __future__ import annotations

import curses
import locale
import os
import time
from typing import Dict, Optional

from . import display, screens
from .model import ViewState

RELOAD_SECONDS = 2.0

SPECIAL_KEYS = {
    curses.KEY_DOWN: "DOWN", curses.KEY_UP: "UP", curses.KEY_NPAGE: "PGDN",
    curses.KEY_PPAGE: "PGUP", curses.KEY_HOME: "HOME", curses.KEY_END: "END",
    curses.KEY_FIND: "HOME", curses.KEY_SELECT: "END", curses.KEY_ENTER: "ENTER",
    curses.KEY_BTAB: "BTAB", curses.KEY_BACKSPACE: "BACKSPACE", curses.KEY_RESIZE: "RESIZE",
    curses.KEY_F1: "?"}
CHAR_KEYS = {"\t": "TAB", "\n": "ENTER", "\r": "ENTER", "\x7f": "BACKSPACE", "\x08": "BACKSPACE"}
# Sequences some terminals send that their terminfo entry does not list (tmux's Home is ESC [1~
# while xterm's entry says ESC OH): read after ESC, so they are one key and not four.
ESCAPES = {"[1~": "HOME", "[7~": "HOME", "[H": "HOME", "OH": "HOME", "[4~": "END", "[8~": "END",
           "[F": "END", "OF": "END", "[5~": "PGUP", "[6~": "PGDN", "[A": "UP", "OA": "UP",
           "[B": "DOWN", "OB": "DOWN", "[Z": "BTAB"}
FOLLOW_MS = 30


class Styles:
    """curses attributes for each style: the 256- or 8-colour palette, or bold/reverse only."""

    def __init__(self, use_color: bool):
        self.attrs: Dict[str, int] = {}
        default_colors = False
        if curses.has_colors():
            try:
                curses.use_default_colors()     # the terminal's own colours, not white on black
                default_colors = True
            except curses.error:
                pass
        if use_color and curses.has_colors() and default_colors:
            palette = screens.PALETTE_256 if curses.COLORS >= 256 else screens.PALETTE_8
            if curses.COLOR_PAIRS > len(palette):
                try:
                    self._colors(palette)
                except curses.error:
                    self.attrs = {}
        if not self.attrs:
            self._mono()

    def _colors(self, palette) -> None:
        for number, (style, (fg, bg, bold)) in enumerate(palette.items(), 1):
            curses.init_pair(number, fg, bg)
            self.attrs[style] = curses.color_pair(number) | (curses.A_BOLD if bold else 0)

    def _mono(self) -> None:
        for style in screens.PALETTE_8:
            words = screens.MONO.get(style, "")
            self.attrs[style] = (curses.A_BOLD if "bold" in words else 0) | \
                (curses.A_REVERSE if "reverse" in words else 0)

    def __getitem__(self, style: str) -> int:
        return self.attrs.get(style, 0)


def read_key(window) -> Optional[str]:
    """The next key as a name from model.KEYS or a typed character; None on timeout or
    for a key sb-view does not know."""
    try:
        key = window.get_wch()
    except curses.error:
        return None
    if isinstance(key, int):
        return SPECIAL_KEYS.get(key)
    if key == "\x1b":
        return _escape(window)
    return CHAR_KEYS.get(key, key)


def _escape(window) -> Optional[str]:
    """ESC alone, or the key of the escape sequence that follows it at once."""
    sequence = ""
    window.timeout(FOLLOW_MS)
    try:
        while len(sequence) < 8:
            char = window.get_wch()
            if isinstance(char, int):
                curses.ungetch(char)            # ESC, then a key of its own
                break
            if not sequence and char not in "[O":
                curses.unget_wch(char)
                break
            sequence += char
            if len(sequence) > 1 and (char.isalpha() or char == "~"):
                break
    except curses.error:
        pass
    finally:
        window.timeout(int(RELOAD_SECONDS * 1000))
    return ESCAPES.get(sequence) if sequence else "ESC"


def _put(window, y: int, x: int, text: str, attr: int) -> None:
    try:
        window.addstr(y, x, text, attr)
    except curses.error:
        pass        # the bottom-right cell, or a terminal shrinking under us


def _cursor(visible: bool) -> None:
    try:
        curses.curs_set(1 if visible else 0)
    except curses.error:
        pass


def draw(window, state: ViewState, styles: Styles, ascii_only: bool) -> None:
    height, width = window.getmaxyx()
    window.erase()
    for y, line in enumerate(screens.screen(state, width, height, ascii_only)[:height]):
        x = 0
        for text, style in line:
            _put(window, y, x, text, styles[style])
            x += display.text_width(text)
    cursor = screens.prompt_cursor(state, width, height)
    _cursor(cursor is not None)
    if cursor is not None:
        window.move(*cursor)
    window.refresh()


def _loop(window, state: ViewState, use_color: bool, ascii_only: bool) -> None:
    styles = Styles(use_color)
    window.bkgd(" ", styles["text"])
    window.keypad(True)
    window.timeout(int(RELOAD_SECONDS * 1000))
    checked = time.monotonic()
    while True:
        draw(window, state, styles, ascii_only)
        key = read_key(window)
        if key is not None and key != "RESIZE" and not state.press(key):
            return
        if time.monotonic() - checked >= RELOAD_SECONDS:
            checked = time.monotonic()
            state.reload_if_changed()


def run(state: ViewState, use_color: bool = True) -> int:
    """Show `state` until q; 0."""
    os.environ.setdefault("ESCDELAY", "25")
    for name in ("LINES", "COLUMNS"):       # exported, they would pin the size through resizes
        os.environ.pop(name, None)
    locale.setlocale(locale.LC_ALL, "")
    ascii_only = not display.locale_is_utf8()
    state.set_ascii(ascii_only)
    curses.wrapper(_loop, state, use_color, ascii_only)
    return 0
