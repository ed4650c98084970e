"""Untrusted names (clusters, users, accounts) checked before they become part of a path."""
from __future__ import annotations

import re

PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")


def check_name(kind: str, text: object) -> str:
    """`text` if it is a plain name usable as a file name; ValueError naming `kind` otherwise."""
    if not isinstance(text, str) or not PLAIN.fullmatch(text) or text in (".", ".."):
        raise ValueError(f"refusing {kind} name {printable(text)}: not a plain name "
                         "(letters, digits, _ . @ -; at most 64 characters)")
    return text


def printable(text: object, limit: int = 80) -> str:
    """A quoted form of untrusted text that is safe on a terminal (control characters escaped)."""
    as_text = text if isinstance(text, str) else repr(text)
    shown = as_text if len(as_text) <= limit else as_text[:limit] + "..."
    return ascii(shown) if not shown.isprintable() else repr(shown)


def safe_text(text: str, limit: int = 400) -> str:
    """`text` with control and other non-printable characters escaped (``\\x1b``), cut at `limit`."""
    shown = text if len(text) <= limit else text[:limit] + "..."
    if shown.isprintable():
        return shown
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in shown)
