"""Opt-out: a user who creates ``~/.slurm_scoreboard_optout``, or is listed in
``<root>/config/optout.txt`` (one name a line, ``#`` comments), is never stored or shown."""
from __future__ import annotations

import os
import pwd
from typing import Dict, Optional, Set

from .layout import optout_file

HOME_MARKER = ".slurm_scoreboard_optout"


def read_list(path: str) -> Set[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return set()
    return {line.split("#", 1)[0].strip() for line in lines} - {""}


def home_of(user: str) -> Optional[str]:
    try:
        return pwd.getpwnam(user).pw_dir
    except (KeyError, UnicodeEncodeError):
        return None


class OptOut:
    """Answers "has this user opted out?", reading each home marker once per run."""

    def __init__(self, root: str):
        self.listed = read_list(optout_file(root))
        self._homes: Dict[str, bool] = {}

    def __contains__(self, user: str) -> bool:
        if user in self.listed:
            return True
        if user not in self._homes:
            home = home_of(user)
            self._homes[user] = bool(home) and os.path.exists(os.path.join(home, HOME_MARKER))
        return self._homes[user]
