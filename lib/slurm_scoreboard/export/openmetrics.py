"""The boards as an OpenMetrics text exposition, for Prometheus and Grafana.

Every family is a gauge; each sample is one row of one board::

    slurm_scoreboard_user_value{user="alice",skill="clock_hours",window="month",slurm_cluster="all"} 123.4
    slurm_scoreboard_user_level{...} 15
    slurm_scoreboard_user_rank{...} 1
    slurm_scoreboard_group_value{account="chem",skill=...,window=...,slurm_cluster=...} 890.5
    slurm_scoreboard_group_level{...}, slurm_scoreboard_group_rank{...}
    slurm_scoreboard_asof_timestamp_seconds 1756641600      (when sb-rank made the boards)

``slurm_cluster="all"`` is every cluster merged. The value is the skill's hours (``*_hours``), its
count (``jobs``, ``failed_jobs``), for ``overall`` the total level, and for the efficiency boards
(``cpu_efficiency``, ``mem_efficiency``, ``gpu_utilization``: no level gauge) a percent. Only the
first `top` rows of each board are written, so a root with C clusters, W windows and S boards
(overall and the efficiency boards counted, at most 11) gives at most
``2 kinds x 3 gauges x top x (C + 1) x W x S + 1`` series: 132,001 for three clusters at the
default 100 (5 windows, 11 boards).

The text is also valid Prometheus text format 0.0.4 (gauges only, no timestamps, no UNIT lines,
``# EOF`` a comment there), which is what node_exporter's textfile collector parses.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional

from ..boardfiles import LEVELLESS
from ..core import times
from .leaderboard_files import LeaderboardFiles

PREFIX = "slurm_scoreboard"
KIND_NAMES = {"users": ("user", "user"), "groups": ("group", "account")}   # family, label
GAUGES = (
    ("value", "the skill's value on the board: hours for the *_hours skills, a count for jobs "
              "and failed_jobs, the total level for overall, a percent for the efficiency "
              "boards"),
    ("level", "the level in the skill (the total level for overall)"),
    ("rank", "the rank on the board (1 is the top; ties share a rank)"),
)
ASOF = f"{PREFIX}_asof_timestamp_seconds"


def escape_label(value: str) -> str:
    """A label value as the spec quotes it (backslash, double quote and newline escaped), with
    every other control or non-printable character written as sb-view and the site show it
    (``\\x1b``, text): the spec has no escape for them, and whoever reads the file or
    node_exporter's page in a terminal would otherwise have them obeyed."""
    shown = value if value.isprintable() else "".join(
        char if char.isprintable() or char == "\n" else ascii(char)[1:-1] for char in value)
    return shown.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(value) -> str:
    """A sample value: integers as they are, other numbers in Python's shortest round trip."""
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value.is_integer() and abs(value) < 2 ** 53:
        return str(int(value))
    return repr(float(value))


def series_bound(top: int, clusters: int, windows: int, skills: int) -> int:
    """The most series an exposition can hold (the documented cardinality bound)."""
    return len(KIND_NAMES) * len(GAUGES) * top * (clusters + 1) * windows * skills + 1


def exposition(files: LeaderboardFiles, top: int) -> str:
    """The whole exposition, ``# EOF`` and a newline last."""
    samples: Dict[str, List[str]] = {f"{PREFIX}_{family}_{gauge}": []
                                     for family, _ in KIND_NAMES.values() for gauge, _ in GAUGES}
    for which in files.selections():
        board = files.scoped_board(which)
        if board is None:
            continue
        family, label = KIND_NAMES[which.kind]
        scope = f'skill="{escape_label(which.metric)}",window="{escape_label(which.window)}",' \
                f'slurm_cluster="{escape_label(which.scope)}"'
        gauges = ("value", "rank") if which.metric in LEVELLESS else ("value", "level", "rank")
        for row in board.rows[:top]:
            labels = f'{{{label}="{escape_label(row.name)}",{scope}}}'
            for gauge in gauges:           # a Row's field of the gauge's name
                samples[f"{PREFIX}_{family}_{gauge}"].append(
                    f"{PREFIX}_{family}_{gauge}{labels} {number(getattr(row, gauge))}")
    lines: List[str] = []
    for family, label in KIND_NAMES.values():
        for gauge, meaning in GAUGES:
            name = f"{PREFIX}_{family}_{gauge}"
            lines += [f"# TYPE {name} gauge",
                      f"# HELP {name} Per {label}, skill, window and cluster: {meaning}."]
            lines += samples[name]
    asof = asof_seconds(files.index.asof)
    if asof is not None:
        lines += [f"# TYPE {ASOF} gauge",
                  f"# HELP {ASOF} When sb-rank made the boards (seconds since 1970, UTC).",
                  f"{ASOF} {asof}"]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def asof_seconds(asof: str) -> Optional[int]:
    """Seconds since 1970 of the index's ``asof``; None when it is not a time."""
    try:
        return int(times.from_iso(asof).timestamp())
    except (ValueError, OverflowError):
        return None
