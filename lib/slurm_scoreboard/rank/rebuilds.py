"""When a rebuild of every board can be skipped: nothing it reads changed since the last one.

A rebuild reads each cluster's all-time totals, monthly rollups and usage files, the XP rates, the
competitions and the opt-out list and cache; rolling and monthly windows move with the UTC day. The signature of a
rebuild is a hash of the identity (inode, size, change time) of each of those files and
folders, the day, the code's version and the settings the caller gives (the efficiency bar in
force, which a flag or the environment may set); the last rebuild that wrote every board cleanly
records it in ``leaderboards/rebuild.json``. A rebuild asked to run only if something changed
(``sb-rank --if-changed``, what each poll asks) compares the two; and it skips when another
rebuild is running (``leaderboards/rebuild.lock``): the next poll of any cluster rebuilds with
what this one added.
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import Optional

import orjson

from .. import __version__
from ..core import layout
from ..core.files import atomic_write, identity, read_json
from ..core.optout import cache_file
from ..core.times import to_iso
from ..errors import UnsafePath


def record_path(root: str) -> str:
    return layout.path(root, "rebuild_record")


def lock_path(root: str) -> str:
    return layout.path(root, "rebuild_lock")


def bar_setting(min_cpu_hours: float) -> str:
    """The efficiency bar in force, as a setting of :func:`signature` (it comes from a flag or
    the environment as well as from a file)."""
    return f"min_cpu_hours={min_cpu_hours!r}"


def signature(root: str, now: datetime, *settings: str) -> str:
    """What a rebuild at `now` with `settings` would read, summed up."""
    parts = [__version__, to_iso(now)[:10], *settings]
    for name in layout.clusters(root):
        agg = os.path.join(layout.cluster_dir(root, name), "agg")
        parts += [name, identity(layout.alltime_file(root, name)),
                  identity(layout.rollup_dir(root, name)), identity(agg),
                  identity(os.path.join(agg, "usage"))]
    parts += [identity(layout.path(root, "xp_config")),
              identity(layout.path(root, "efficiency_config")),
              identity(layout.path(root, "competitions_config")),
              identity(layout.optout_file(root)), identity(cache_file(root))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def unchanged(root: str, current: str) -> Optional[str]:
    """The last clean rebuild's time when its signature is `current` and its index is there."""
    try:
        record = read_json(record_path(root))
    except (ValueError, OSError, UnsafePath):
        return None
    if not isinstance(record, dict) or record.get("signature") != current:
        return None
    if not os.path.isfile(layout.path(root, "index_file")):
        return None
    asof = record.get("asof")
    return asof if isinstance(asof, str) and len(asof) == 20 else None


def remember(root: str, current: str, asof: str) -> None:
    atomic_write(record_path(root), orjson.dumps({"signature": current, "asof": asof},
                                                 option=orjson.OPT_APPEND_NEWLINE))
