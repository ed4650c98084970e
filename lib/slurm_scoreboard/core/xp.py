"""Old School RuneScape experience: each metric is a skill, XP = value x the skill's rate (capped
at 200,000,000), and levels follow the game's curve

    XP(L) = floor( 1/4 * sum_{l=1}^{L-1} floor(l + 300 * 2^(l/7)) )

so level 2 needs 83 XP, 92 needs 6,517,253 and 99 needs 13,034,431. Levels stop at 99; the
virtual level beside it goes on to 126. Rates live in ``<root>/config/xp.json``
(``{"rates": {"clock_hours": 10, ...}}``, each from 0 to 1,000,000); the defaults put a site's
heaviest users in the 90s.
"""
from __future__ import annotations

import bisect
import math
from typing import Dict, List, Optional

from ..errors import ConfigError
from .files import read_config

MAX_XP = 200_000_000
MAX_LEVEL = 99
MAX_VIRTUAL_LEVEL = 126
MAX_RATE = 1_000_000.0   # XP per unit: one CPU-hour could then give 1M XP

# XP per unit of each skill: 99 at ~1.3M core-hours, ~130k wall or GPU hours, 130k jobs. Failed
# jobs are ranked on a board apart, with no XP: a hiscores does not level people up for failing.
DEFAULT_RATES: Dict[str, float] = {
    "clock_hours": 10.0,
    "elapsed_hours": 100.0,
    "gpu_clock_hours": 100.0,
    "gpu_elapsed_hours": 200.0,
    "jobs": 100.0,
}
# Rates an older config may still give, for boards that no longer have XP: ignored.
RETIRED_RATES = ("failed_jobs",)
SKILLS = tuple(DEFAULT_RATES)
# Skills of the efficiency boards (efficiency.py): measured by the daily step poll, so not part
# of the total level (a site without the step poll would cap everyone's total below others').
MEASURED_RATES: Dict[str, float] = {"cpu_used_hours": 10.0}


def _table() -> List[int]:
    """XP needed for levels 1..126 (index 0 is level 1)."""
    table, points = [0], 0.0
    for level in range(1, MAX_VIRTUAL_LEVEL):
        points += math.floor(level + 300 * 2 ** (level / 7))
        table.append(math.floor(points / 4))
    return table


XP_TABLE = _table()


def xp_for_level(level: int) -> int:
    return XP_TABLE[level - 1]


def virtual_level(xp: int) -> int:
    """The level on the full curve (1..126)."""
    return bisect.bisect_right(XP_TABLE, xp)


def level(xp: int) -> int:
    """The displayed level (1..99)."""
    return min(virtual_level(xp), MAX_LEVEL)


def xp_of(value: float, rate: float) -> int:
    """XP for `value` units at `rate` XP a unit, capped at MAX_XP."""
    points = value * rate
    return MAX_XP if points >= MAX_XP else int(points)


def xp_of_each(values: Dict[str, float], rate: float) -> Dict[str, int]:
    """:func:`xp_of` of every value (a rebuild makes it for every name, skill and window)."""
    return {name: MAX_XP if value * rate >= MAX_XP else int(value * rate)
            for name, value in values.items()}


def virtual_levels(points: Dict[str, int]) -> Dict[str, int]:
    """:func:`virtual_level` of every name's XP."""
    table = XP_TABLE
    return {name: bisect.bisect_right(table, earned) for name, earned in points.items()}


def load_rates(path: Optional[str]) -> Dict[str, float]:
    """The default rates, overridden by the ``rates`` of the config file when it exists."""
    rates = dict(DEFAULT_RATES, **MEASURED_RATES)
    if not path:
        return rates
    config = read_config(path)
    if config is None:
        return rates
    given = config.get("rates", {}) if isinstance(config, dict) else None
    if not isinstance(given, dict):
        raise ConfigError(f"{path}: expected {{\"rates\": {{skill: number}}}}")
    for skill, rate in given.items():
        if skill in RETIRED_RATES:
            continue
        if skill not in rates:
            raise ConfigError(f"{path}: unknown skill {skill!r} (known: "
                              f"{', '.join(SKILLS + tuple(MEASURED_RATES))})")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or \
                not 0 <= rate <= MAX_RATE:
            raise ConfigError(f"{path}: rate of {skill} must be a number from 0 to "
                              f"{MAX_RATE:,.0f} (XP per unit)")
        rates[skill] = float(rate)
    return rates
