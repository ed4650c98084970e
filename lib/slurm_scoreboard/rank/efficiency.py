"""Efficiency boards: who uses what they are allocated, from the measured usage (usage.py).

=================  =========================================================================
board              value
=================  =========================================================================
cpu_used_hours     CPU hours the jobs' steps used (TotalCPU), a skill with XP and levels
cpu_efficiency     100 x CPU time used / CPU time allocated (elapsed x AllocCPUS), percent
mem_efficiency     100 x peak MaxRSS / memory requested per node, each job weighted by its
                   requested memory x elapsed, percent; a job that used more than it requested
                   (where memory is not enforced) counts requested / used: missing the size
                   either way scores below 100
gpu_utilization    TRESUsageInAve ``gres/gpuutil`` x elapsed of the steps over the job's GPU
                   time (records.py), weighted by GPU hours, percent; written only where
                   SLURM records it
=================  =========================================================================

Only jobs the daily step poll measured count (jobs that ended before it first ran do not), each
spread over the days it ran as on the usage boards (a window counts the share of a job's hours
that fell inside it; the jobs a board measures are counted on the day they ended). The
three ratio boards list a user or group only once the jobs each board measures (every measured
job; those with a memory request and a MaxRSS; those with a GPU utilisation) reach the bar in
the window: :data:`DEFAULT_MIN_CPU_HOURS` hours (``--min-cpu-hours``), CPU hours allocated for
the CPU and memory boards, GPU hours for the GPU board, so that one tiny job cannot top them;
they list zeros (the idle are the point), best first. MaxRSS is the
largest task's, so jobs of many tasks a node read low on memory.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from .. import boardfiles, errors
from ..core import layout, xp
from ..core.files import read_config
from ..core.optout import OptOut
from ..core.times import day_seconds
from ..core.windows import Window
from ..errors import StoreCorrupt
from ..store import reading
from ..store.metrics import DAY
from ..store.usage import UNSPREAD, Entry, load_day, usage_days

BOARDS = boardfiles.EFFICIENCY_BOARDS
RATIOS = boardfiles.RATIO_BOARDS
DEFAULT_MIN_CPU_HOURS = 10.0

# The sums kept per (user, account): the index of each in a Sums list. CPU_MEM and JOBS_MEM are
# the CPU seconds allocated to, and the number of, the jobs the memory board measures; GPU and
# JOBS_GPU the GPU seconds and jobs the GPU board measures.
JOBS, CPU, USED, MEM, RSS, GPU, GPU_BUSY, CPU_MEM, JOBS_MEM, JOBS_GPU = range(10)
SUMS = 10
# Each ratio board: (the sum its bar is on, its name in a row, the jobs it measures).
BASIS = {"cpu_efficiency": (CPU, "cpu_hours", JOBS),
         "mem_efficiency": (CPU_MEM, "cpu_hours", JOBS_MEM),
         "gpu_utilization": (GPU, "gpu_hours", JOBS_GPU)}
Sums = List[float]
Measured = Dict[str, Dict[str, Sums]]      # user -> account -> sums


MAX_MIN_CPU_HOURS = 1e9


def config_file(root: str) -> str:
    return layout.path(root, "efficiency_config")


def min_cpu_hours(root: str, given: Optional[float] = None) -> float:
    """The bar of the efficiency boards: `given` (an option or the environment), else the
    root's config (:func:`configured_min_cpu_hours`), so a rebuild and every query of the root
    agree without a flag."""
    if given is None:
        return configured_min_cpu_hours(root)
    if not 0 <= given <= MAX_MIN_CPU_HOURS:
        raise errors.UsageError("--min-cpu-hours: hours from 0 to 1e9")
    return given


def configured_min_cpu_hours(root: str) -> float:
    """``min_cpu_hours`` of ``<root>/config/efficiency.json``, the default without one;
    errors.ConfigError when it is not ``{"min_cpu_hours": hours}`` with hours from 0 to 1e9."""
    path = config_file(root)
    absent = object()
    config = read_config(path, absent)
    if config is absent:
        return DEFAULT_MIN_CPU_HOURS
    hours = config.get("min_cpu_hours") if type(config) is dict and set(config) <= \
        {"min_cpu_hours"} else None
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or \
            not 0 <= hours <= MAX_MIN_CPU_HOURS:
        raise errors.ConfigError(f'{path}: expected {{"min_cpu_hours": hours from 0 to 1e9}}')
    return float(hours)


def _sums() -> Sums:
    return [0] * SUMS


def fit(used: float, requested: float) -> float:
    """How well a job's memory request fitted its peak: used / requested up to 1, and
    requested / used beyond (over-use is not rewarded)."""
    share = used / requested
    return share if share <= 1 else 1 / share


def sums_of(entry: Entry) -> Sums:
    """What one measured job adds to its user's sums."""
    _user, _day, _account, cpu, used, elapsed, nodes, mem, rss, gpu, util = entry[:UNSPREAD]
    sums = _sums()
    sums[JOBS] += 1
    sums[CPU] += cpu
    sums[USED] += min(used, cpu)
    if mem and rss is not None:
        per_node = mem / max(nodes, 1)
        weight = per_node * elapsed
        sums[MEM] += weight
        sums[RSS] += weight * fit(rss, per_node)
        sums[CPU_MEM] += cpu
        sums[JOBS_MEM] += 1
    if util is not None and gpu:
        sums[GPU] += gpu
        sums[GPU_BUSY] += gpu * util / 100
        sums[JOBS_GPU] += 1
    return sums


def _add(total: Sums, sums: Sums) -> None:
    for index, value in enumerate(sums):
        total[index] += value


def add_sums(measured: Measured, user: str, account: str, sums: Sums) -> None:
    total = measured.setdefault(user, {}).get(account)
    if total is None:
        measured[user][account] = list(sums)
    else:
        _add(total, sums)


def add_entry(measured: Measured, entry: Entry) -> None:
    add_sums(measured, entry[0], entry[2], sums_of(entry))


def merge_into(target: Measured, source: Measured) -> None:
    for user, accounts in source.items():
        for account, sums in accounts.items():
            add_sums(target, user, account, sums)


COUNTS = (JOBS, JOBS_MEM, JOBS_GPU)     # counted on the day a job ended; the rest spread


def share_of(entry: Entry, window: Window) -> float:
    """How much of a measured job's usage falls in `window`: its seconds there over all its
    seconds (as the usage boards' day rows spread it); all or nothing, by its day, for an entry
    without a span or a job that never ran."""
    if window.first_day is None:
        return 1.0
    span = entry[UNSPREAD:]
    if not span or span[1] <= span[0]:
        return 1.0 if window.covers_day(entry[1]) else 0.0
    first, last = span
    opens, closes = day_seconds(window.first_day), day_seconds(window.last_day) + DAY
    inside = min(last, closes) - max(first, opens)
    return max(inside, 0) / (last - first)


def scaled(sums: Sums, share: float, ended_inside: bool) -> Sums:
    """`sums` for the part of a job inside a window: its usage times `share`, its counts only
    when it ended inside."""
    return [(value if ended_inside else 0) if index in COUNTS else value * share
            for index, value in enumerate(sums)]


def collect_cluster(root: str, cluster: str, wanted: Sequence[Window], optout: OptOut,
                    on_damage) -> Dict[str, Measured]:
    """window name -> measured usage of one cluster, each job's usage spread over the days it
    ran as on the usage boards; a damaged usage file is reported to `on_damage(path, message)`
    and left out."""
    result: Dict[str, Measured] = {window.name: {} for window in wanted}
    for day, path in usage_days(root, cluster):
        reaching = [w for w in wanted if w.first_day is None or w.first_day <= day]
        if not reaching:
            continue
        try:
            jobs = load_day(path, day)
        except StoreCorrupt as err:
            on_damage(path, f"{err}; its measured jobs are left out (the step poll replaces "
                            f"it when it measures {day} again; or remove it)")
            continue
        for entry in jobs.values():
            if entry[0] not in optout:
                _add_to_windows(result, reaching, entry, day)
    return result


def _add_to_windows(result: Dict[str, Measured], windows: Sequence[Window], entry: Entry,
                    day: str) -> None:
    sums = sums_of(entry)          # once, whatever the windows it counts in
    for window in windows:
        share = share_of(entry, window)
        ended_inside = window.covers_day(day)
        if share >= 1.0 and ended_inside:
            add_sums(result[window.name], entry[0], entry[2], sums)
        elif share > 0 or ended_inside:
            add_sums(result[window.name], entry[0], entry[2], scaled(sums, share, ended_inside))


def user_sums(measured: Measured) -> Dict[str, Sums]:
    result = {}
    for user, accounts in measured.items():
        total = _sums()
        for sums in accounts.values():
            _add(total, sums)
        result[user] = total
    return result


def group_sums(measured: Measured) -> Dict[str, Sums]:
    result: Dict[str, Sums] = {}
    for accounts in measured.values():
        for account, sums in accounts.items():
            if reading.is_group(account):
                _add(result.setdefault(account, _sums()), sums)
    return result


def members_of(measured: Measured) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for accounts in measured.values():
        for account in accounts:
            if reading.is_group(account):
                counts[account] = counts.get(account, 0) + 1
    return counts


# Each ratio board's percent: 100 x sums[part] / sums[whole].
PARTS = {"cpu_efficiency": (USED, CPU), "mem_efficiency": (RSS, MEM),
         "gpu_utilization": (GPU_BUSY, GPU)}


def ratio(sums: Sums, board: str) -> Optional[float]:
    """The board's percent for these sums, None when they hold nothing it measures."""
    part, whole = PARTS[board]
    if sums[whole] <= 0:
        return None
    return round(100.0 * sums[part] / sums[whole], 2)


Totals = Tuple[Dict[str, Sums], Optional[Dict[str, int]]]


def totals_of(measured: Measured, kind: str) -> Totals:
    """name -> sums of a board's rows (users, or groups), and each group's members (None for
    users): what every efficiency board of a window and kind is ranked on."""
    if kind == "groups":
        return group_sums(measured), members_of(measured)
    return user_sums(measured), None


def board_rows(measured: Measured, kind: str, board: str, rate: float,
               min_cpu_hours: float, totals: Optional[Totals] = None) -> List[dict]:
    """The rows of one efficiency board (`totals`: totals_of(measured, kind), when known)."""
    key = "account" if kind == "groups" else "user"
    by_name, members = totals or totals_of(measured, kind)
    rows: List[dict] = []
    if board == "cpu_used_hours":
        for rank, name, value in boardfiles.ranked({n: s[USED] / 3600 for n, s in by_name.items()}):
            earned = xp.xp_of(value, rate)
            virtual = xp.virtual_level(earned)
            rows.append({"rank": rank, key: name, "value": value, "xp": earned,
                         "level": min(virtual, xp.MAX_LEVEL), "virtual_level": virtual,
                         "jobs": int(by_name[name][JOBS])})
    else:
        basis, hours, jobs = BASIS[board]
        values: Dict[str, float] = {}
        for name, sums in by_name.items():
            percent = ratio(sums, board)
            if percent is not None and sums[basis] / 3600 >= min_cpu_hours:
                values[name] = percent
        for rank, name, value in boardfiles.ranked(values, keep_zeros=True):
            sums = by_name[name]
            rows.append({"rank": rank, key: name, "value": value,
                         hours: round(sums[basis] / 3600, 2), "jobs": int(sums[jobs])})
    if members is not None:
        for row in rows:
            row["members"] = members[row["account"]]
    return rows


def has_gpu_measure(measured: Measured) -> bool:
    return any(sums[GPU] > 0 for accounts in measured.values() for sums in accounts.values())


def written(measured: Measured) -> tuple:
    """The boards a rebuild writes for this measured usage: none before anything was measured,
    GPU utilisation only where SLURM recorded it."""
    if not measured:
        return ()
    return BOARDS if has_gpu_measure(measured) else BOARDS[:-1]


def personal(measured: Measured, user: str, rate: float, min_cpu_hours: float) -> List[dict]:
    """A user's rank and value on each efficiency board (None where they are not listed)."""
    result = []
    for board in written(measured):
        row = next((r for r in board_rows(measured, "users", board, rate, min_cpu_hours)
                    if r["user"] == user), None)
        result.append({"metric": board, "rank": row and row["rank"],
                       "value": row and row["value"]})
    return result
