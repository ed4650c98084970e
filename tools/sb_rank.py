"""sb-rank: leaderboards for every window, metric and scope, with Old School RuneScape levels."""
from __future__ import annotations

import os
import sys
from typing import List, Optional, Sequence

import orjson

from slurm_scoreboard import cli

from slurm_scoreboard.core import layout, times, windows, xp

from slurm_scoreboard.history import chronicle, competitions

from slurm_scoreboard.rank import efficiency, groupstats, rebuilds, tables

from slurm_scoreboard.boardfiles import BoardFiles

from slurm_scoreboard.errors import BoardError
from slurm_scoreboard.core.files import LOCK_WAIT_ENV, atomic_write, lock_wait, locked, makedirs, remove_temporaries
from slurm_scoreboard.errors import LockBusy, UnsafePath
from slurm_scoreboard.errors import JournalCorrupt
from slurm_scoreboard.core.names import check_name, safe_text
from slurm_scoreboard.core.ndjson import Writer
from slurm_scoreboard.core.optout import OptOut
from slurm_scoreboard.errors import StoreCorrupt
from slurm_scoreboard.store.usage import usage_dir
from slurm_scoreboard import boardfiles
from slurm_scoreboard.store import reading
from slurm_scoreboard.rank import standings
from slurm_scoreboard.view import players
from slurm_scoreboard import errors

PROG = "sb-rank"
EXIT_DAMAGED = 4
EXIT_UNKNOWN = 5

EPILOG = """\
modes:
  sb-rank --root R                               rebuild every board file
  sb-rank --window W --metric M [--groups] [--account A] [--cluster C]
                                                 one board's rows as NDJSON on stdout
  sb-rank --user NAME [--window W] [--cluster C] one user's personal hiscores (JSON), with
                                                 their rank inside each group and achievements
  sb-rank --compare NAME OTHER [--window W] [--cluster C]
                                                 two users side by side (JSON)

windows: alltime, rolling-7d, rolling-30d, rolling-365d, month (exact to the UTC day).
skills: clock_hours, elapsed_hours, gpu_clock_hours, gpu_elapsed_hours, jobs, overall (the
total level); XP rates: <root>/config/xp.json. failed_jobs is a board apart (no XP, no level,
not in overall): jobs that ended FAILED, OUT_OF_MEMORY or TIMEOUT, not the site's NODE_FAIL,
BOOT_FAIL or PREEMPTED.
efficiency boards (jobs the daily step poll measured, see sb-reduce --usage): cpu_used_hours,
cpu_efficiency, mem_efficiency, gpu_utilization (where SLURM records gres/gpuutil); the ratio
boards list users and groups whose jobs the board measures reach --min-cpu-hours (CPU hours
allocated; GPU hours for gpu_utilization).

exit status: 0 done, 1 error (a bad config file), 2 usage error, 3 a store stayed busy
(--wait seconds; the other clusters were ranked), 4 done, but damaged store files or clusters
were left out (each is named on stderr with the command that repairs it), 5 no such user,
account or cluster on the boards.

examples:
  sb-rank --window rolling-30d --metric gpu_clock_hours | head
  sb-rank -w month -m clock_hours -f csv -o rank,user,value > month.csv
"""


def build_parser():
    parser = cli.make_parser(PROG, "Rank users and groups across clusters and windows.", EPILOG,
                             root=True, cluster=True)
    parser.add_argument("--window", "-w", choices=windows.NAMES, help="one window")
    parser.add_argument("--metric", "-m", choices=boardfiles.BOARDS + efficiency.BOARDS,
                        help="one board")
    parser.add_argument("--groups", action="store_true", help="rank SLURM accounts, not users")
    parser.add_argument("--account", "-A", help="only what members charged to this account")
    parser.add_argument("--user", "-u", help="personal hiscores of this user (JSON)")
    parser.add_argument("--compare", nargs=2, metavar=("USER", "OTHER"),
                        help="two users side by side on every skill (JSON)")
    parser.add_argument("--now", help="rank as if it were this time (default $SLURM_SB_NOW or now)")
    parser.add_argument("--format", "-f", choices=tables.FORMATS, default="ndjson",
                        help="ndjson (default), csv or tsv (with a header line)")
    parser.add_argument("--columns", "-o", metavar="COL[,COL...]",
                        help="columns, as sacct -o: rank,user,value,level,virtual_level,xp "
                             "(groups: account,members; --user: metric)")
    parser.add_argument("--noheader", "-n", action="store_true",
                        help="no header line in csv or tsv")
    parser.add_argument("--if-changed", action="store_true",
                        help="rebuild only if what the boards are made of changed since the "
                             "last rebuild (or the UTC day did), and not while another rebuild "
                             "runs (what each poll asks)")
    parser.add_argument("--history-every", type=float, default=None, metavar="MINUTES",
                        help="rerun the history pass (achievements, records, competitions) "
                             "at most this often (default $SLURM_SB_HISTORY_EVERY, else 60; "
                             "0: every rebuild); a new UTC day or a config change reruns it")
    parser.add_argument("--min-cpu-hours", type=float, default=None, metavar="HOURS",
                        help="hours a user or group needs on the jobs an efficiency ratio board "
                             "measures to be on it: CPU hours allocated, GPU hours for "
                             "gpu_utilization (default $SLURM_SB_MIN_CPU_HOURS, "
                             "else min_cpu_hours of <root>/config/efficiency.json, else "
                             f"{efficiency.DEFAULT_MIN_CPU_HOURS:g})")
    parser.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                        help="how long to wait for a store being updated (default "
                             "$SLURM_SB_LOCK_WAIT, else 60)")
    return parser


def resolve_now(args):
    try:
        return times.parse_moment(args.now) if args.now else times.now()
    except ValueError as err:
        raise errors.UsageError(str(err)) from None


class UnknownName(Exception):
    """A user, account or cluster that is on no board: a typo, usually."""


def check_args(args) -> None:
    cli.check_plain_names(args, "cluster", "user")
    for name in args.compare or ():
        try:
            check_name("user", name)
        except ValueError as err:
            raise errors.UsageError(str(err)) from None
    if args.compare and (args.user or args.metric or args.groups or args.account or
                         args.format != "ndjson" or args.columns or args.if_changed):
        raise errors.UsageError("--compare shows two users on every skill as JSON; it takes "
                             "only --window, --cluster and --now")
    if args.compare:
        return
    if args.cluster and not (args.window or args.user):
        raise errors.UsageError("--cluster narrows --window/--metric or --user; a rebuild writes "
                             "the boards of every cluster")
    if (args.format != "ndjson" or args.columns or args.noheader) and \
            not (args.window or args.user):
        raise errors.UsageError("--format, -o and --noheader shape --window/--metric or --user "
                             "output")
    if args.if_changed and (args.window or args.user or args.metric):
        raise errors.UsageError("--if-changed goes with a rebuild (no --window, --metric, --user)")
    one_board = args.window or args.metric
    if args.user and (args.metric or args.groups or args.account):
        raise errors.UsageError("--user shows every skill; it takes only --window and --cluster")
    if not args.user and one_board and not (args.window and args.metric):
        raise errors.UsageError("one board needs both --window and --metric")
    if (args.groups or args.account) and not (args.window and args.metric):
        raise errors.UsageError("--groups and --account need --window and --metric")
    if args.groups and args.account:
        raise errors.UsageError("--account narrows a user board; it excludes --groups")
    if args.account and args.metric in efficiency.BOARDS:
        raise errors.UsageError("--account narrows the usage boards, not the efficiency boards "
                             "(try --groups)")


class Damage:
    """Damaged store files met while reading: each is reported once, and the run exits 4."""

    def __init__(self) -> None:
        self.paths: list = []
        self.busy: list = []
        self.errors: list = []

    def __call__(self, path: str, message: str) -> None:
        if path not in self.paths:
            self.paths.append(path)
            text = message if message.startswith(path) else f"{path}: {message}"
            cli.warn(PROG, safe_text(text))

    def error(self, message: str) -> None:
        """A config error that leaves the boards written and the run's status 1."""
        self.errors.append(message)
        cli.warn(PROG, safe_text(message))

    def exit_code(self) -> int:
        if self.busy:
            return errors.EXIT_LOCKED
        if self.errors:
            return errors.EXIT_ERROR
        return EXIT_DAMAGED if self.paths else errors.EXIT_OK


def collect(root, cluster, wanted, optout, wait, damage):
    """window name -> usage of one cluster; None when the cluster cannot be read at all (an
    unreadable journal, a planted symlink, a store that stays busy): it is named on stderr and
    left out, and every other cluster is still ranked."""
    try:
        return reading.collect_cluster(root, cluster, wanted, optout, wait, damage)
    except JournalCorrupt as err:
        damage(layout.journal_file(root, cluster),
               f"{err}; the interrupted update cannot be finished: run sb-reduce --cluster "
               f"{cluster} --repair (see sb-reduce(1), RECOVERY); cluster {cluster} is left out")
    except (StoreCorrupt, UnsafePath) as err:
        damage(layout.cluster_dir(root, cluster), f"{err}; cluster {cluster} is left out")
    except errors.StoreBusy as err:
        damage.busy.append(cluster)
        damage(layout.cluster_dir(root, cluster), f"{err}; cluster {cluster} is left out")
    return None


def scoped_usage(root, cluster, wanted, optout, wait, damage):
    """window name -> usage for one cluster, or all clusters merged."""
    if cluster:
        if cluster not in layout.clusters(root):
            raise errors.ToolError(f"no cluster {cluster} under {root} (known: "
                                f"{', '.join(layout.clusters(root)) or 'none yet'})",
                                EXIT_UNKNOWN)
        usage = collect(root, cluster, wanted, optout, wait, damage)
        if usage is None:
            raise errors.ToolError(f"cluster {cluster} cannot be read now", damage.exit_code())
        return usage
    merged = {window.name: {} for window in wanted}
    for name in layout.clusters(root):
        for window_name, usage in (collect(root, name, wanted, optout, wait, damage)
                                   or {}).items():
            reading.merge_into(merged[window_name], usage)
    return merged


def write_boards(root, usage_by_window, wanted, rates, now, cluster=None) -> int:
    count = 0
    for window in wanted:
        usage = usage_by_window[window.name]
        for kind in boardfiles.KINDS:
            table = standings.standings(usage, kind, rates)
            for metric in boardfiles.BOARDS:
                doc = boardfiles.document(table.rows(metric), window, metric, cluster or "all", kind,
                                      now)
                atomic_write(layout.board_path(root, window.name, metric, cluster, kind),
                             orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))
                count += 1
        doc = {"asof": times.to_iso(now), "window": window.name, "cluster": cluster or "all",
               "groups": groupstats.group_stats(usage, rates)}
        atomic_write(layout.stats_path(root, window.name, cluster),
                     orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))
    return count


def write_efficiency(root, measured_by_window, wanted, rates, now, min_hours, measured_boards,
                     cluster=None) -> int:
    """The efficiency boards of one scope (efficiency.py)."""
    count = 0
    for window in wanted:
        measured = measured_by_window[window.name]
        for kind in boardfiles.KINDS:
            for metric in measured_boards:
                rows = efficiency.board_rows(measured, kind, metric, rates["cpu_used_hours"],
                                             min_hours)
                doc = boardfiles.document(rows, window, metric, cluster or "all", kind, now)
                if metric in efficiency.RATIOS:
                    doc["min_cpu_hours"] = min_hours
                atomic_write(layout.board_path(root, window.name, metric, cluster, kind),
                             orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))
                count += 1
    return count


def collect_measured(root, names, wanted, optout, damage) -> dict:
    """cluster -> window name -> measured usage (the step poll's usage files)."""
    result = {}
    for name in names:
        try:
            result[name] = efficiency.collect_cluster(root, name, wanted, optout, damage)
        except (StoreCorrupt, UnsafePath) as err:
            damage(usage_dir(root, name), f"{err}; its measured jobs are left out")
    return result


def rebuild_efficiency(root, names, wanted, rates, now, optout, damage, min_hours):
    """Every scope's efficiency boards: (the names of the boards written, how many files); none
    before the step poll measured a job, so a site without it sees no empty boards."""
    measured = collect_measured(root, names, wanted, optout, damage)
    merged = {window.name: {} for window in wanted}
    for by_window in measured.values():
        for window_name, part in by_window.items():
            efficiency.merge_into(merged[window_name], part)
    written = efficiency.written(merged["alltime"])
    count = 0
    if written:
        for name, by_window in measured.items():
            count += write_efficiency(root, by_window, wanted, rates, now, min_hours, written,
                                      name)
        count += write_efficiency(root, merged, wanted, rates, now, min_hours, written)
    return list(written), count


def rebuild(root, rates, optout, now, wait, damage, history_every=3600.0,
            min_hours=efficiency.DEFAULT_MIN_CPU_HOURS) -> dict:
    wanted = [windows.resolve(name, now) for name in windows.NAMES]
    try:
        contests = competitions.load(layout.competitions_config(root), times.to_iso(now)[:10],
                                     lambda message: cli.warn(PROG, safe_text(message)))
    except errors.ConfigError as err:
        damage.error(f"{err}; the competitions are not updated (the rest is)")
        contests = None
    merged = {window.name: {} for window in wanted}
    names = layout.clusters(root)
    readable = []
    count = 0
    for name in names:
        usage = collect(root, name, wanted, optout, wait, damage)
        if usage is None:
            continue
        readable.append(name)
        note = reading.old_rule_note(root, name)
        if note:
            cli.warn(PROG, safe_text(note))
        count += write_boards(root, usage, wanted, rates, now, name)
        for window_name, part in usage.items():
            reading.merge_into(merged[window_name], part)
        del usage
    count += write_boards(root, merged, wanted, rates, now)
    del merged
    measured_boards, written = rebuild_efficiency(root, readable, wanted, rates, now, optout,
                                                  damage, min_hours)
    count += written
    if chronicle.due(root, now, history_every):
        for warning in chronicle.write(root, readable, rates, optout, contests,
                                       times.to_iso(now), wait, damage):
            cli.warn(PROG, safe_text(warning))
        chronicle.remember(root, now)
    index = {"asof": times.to_iso(now), "clusters": names, "windows": list(windows.NAMES),
             "metrics": list(boardfiles.BOARDS), "kinds": list(boardfiles.KINDS), "rates": rates,
             "efficiency": measured_boards, "min_cpu_hours": min_hours}
    atomic_write(os.path.join(root, "leaderboards", "index.json"),
                 orjson.dumps(index, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_INDENT_2))
    return {"asof": times.to_iso(now), "boards": count, "clusters": names}


def history_minutes(args) -> float:
    minutes = cli.option_or_env(args.history_every, "SLURM_SB_HISTORY_EVERY", 60.0, float)
    if not 0 <= minutes <= 10080:
        raise errors.UsageError("--history-every: minutes from 0 to 10080 (a week)")
    return minutes


def min_cpu_hours(args, root) -> float:
    """--min-cpu-hours, else $SLURM_SB_MIN_CPU_HOURS, else <root>/config/efficiency.json, else
    the default: the rebuild and every query of the root agree without a flag."""
    hours = cli.option_or_env(args.min_cpu_hours, "SLURM_SB_MIN_CPU_HOURS", None, float)
    if hours is None:
        return efficiency.configured_min_cpu_hours(root)
    if not 0 <= hours <= efficiency.MAX_MIN_CPU_HOURS:
        raise errors.UsageError("--min-cpu-hours: hours from 0 to 1e9")
    return hours


def rebuild_bar(args, root, damage) -> float:
    """The bar of a rebuild; a bad config/efficiency.json is reported (exit 1) and the default
    used, so the boards never freeze on it."""
    try:
        return min_cpu_hours(args, root)
    except errors.ConfigError as err:
        damage.error(f"{err}; the efficiency boards use the default bar, "
                     f"{efficiency.DEFAULT_MIN_CPU_HOURS:g} CPU hours")
        return efficiency.DEFAULT_MIN_CPU_HOURS


def rebuild_once(root, rates, optout, now, args, damage) -> dict:
    """A rebuild under the root's rebuild lock; with --if-changed, none while another runs or
    when nothing it reads changed since the last clean one (see rebuilds.py), the efficiency
    bar in force included."""
    bar = rebuild_bar(args, root, damage)
    current = rebuilds.signature(root, now, rebuilds.bar_setting(bar))
    if args.if_changed:
        asof = rebuilds.unchanged(root, current)
        if asof:
            return {"asof": asof, "boards": 0, "clusters": layout.clusters(root),
                    "skipped": "unchanged"}
    makedirs(os.path.dirname(rebuilds.lock_path(root)))
    try:
        with locked(rebuilds.lock_path(root), 0 if args.if_changed else args.wait):
            # what a killed rebuild left half-written; only rebuilds write these files, and
            # never without this lock
            remove_temporaries(layout.leaderboards(root), (".json", ".ndjson"))
            summary = rebuild(root, rates, optout, now, args.wait, damage,
                              60 * history_minutes(args), bar)
            if damage.exit_code() == errors.EXIT_OK:
                rebuilds.remember(root, current, summary["asof"])
    except LockBusy:
        if not args.if_changed:
            raise
        return {"asof": None, "boards": 0, "clusters": layout.clusters(root),
                "skipped": "another rebuild is running"}
    return summary


def from_board_files(root, args) -> int:
    """What a reader (an account that may not write the root, so may not lock its store) gets:
    the rows of the board files the last rebuild wrote, without users who opted out since
    (boardfiles.py)."""
    if args.account:
        raise errors.ToolError("--account reads the store, which only the root's writers may "
                            "lock; readers get the board files (try --groups)")
    window = args.window or "alltime"
    try:
        files = BoardFiles(root)
        if args.user or args.compare:
            emit_pages([page_from_files(files, window, args, name) for name in names_of(args)],
                       args)
            return errors.EXIT_OK
        kind = "groups" if args.groups else "users"
        document = files.required_board(window, args.metric, args.cluster, kind)
    except BoardError as err:
        raise errors.ToolError(safe_text(str(err))) from None
    emit_rows(document["rows"], args)
    return errors.EXIT_OK


def names_of(args) -> List[str]:
    return list(args.compare) if args.compare else [args.user]


def page_from_files(files: BoardFiles, window, args, user) -> dict:
    page = files.personal(window, args.cluster, user)
    if not files.known(user, args.cluster):
        raise errors.ToolError(f"no user {safe_text(user)} on the boards", EXIT_UNKNOWN)
    add_history(page, files, args, files.group_stats(window, args.cluster))
    page["efficiency"] = efficiency_from_files(files, window, args.cluster, user)
    return page


def efficiency_from_files(files: BoardFiles, window, cluster, user) -> List[dict]:
    """The user's rank and value on each efficiency board the last rebuild wrote."""
    try:
        measured = boardfiles.load_index(files.root).efficiency
    except errors.BoardError:
        return []
    selection = players.Selection(window, "", cluster or "all", "users")
    return [{"metric": metric, "rank": row and row.rank, "value": row and row.value}
            for metric, row in players.efficiency_rows(files, selection, measured, user)]


def user_pages(root, args, now, rates, optout, damage) -> List[dict]:
    """The personal hiscores of --user (or each --compare name) in --window (alltime by
    default); UnknownName when one is on no all-time board of the scope (a typo, or someone
    never stored)."""
    window = windows.resolve(args.window or "alltime", now)
    wanted = [window] if window.name == "alltime" else [window, windows.resolve("alltime", now)]
    usage = scoped_usage(root, args.cluster, wanted, optout, args.wait, damage)
    groups = groupstats.group_stats(usage[window.name], rates)
    measured = scoped_measured(root, args.cluster, window, optout, damage)
    bar = min_cpu_hours(args, root)
    files = BoardFiles(root)
    pages = []
    for user in names_of(args):
        if user not in usage["alltime"]:
            raise UnknownName(f"no user {user} on the boards of {args.cluster or 'any cluster'}"
                              " (a typo, a user never stored, or one who opted out)")
        page = standings.personal(usage[window.name], user, rates)
        page.update({"window": window.name, "cluster": args.cluster or "all",
                     "asof": times.to_iso(now)})
        add_history(page, files, args, groups)
        page["efficiency"] = efficiency.personal(measured, user, rates["cpu_used_hours"], bar)
        pages.append(page)
    return pages


def scoped_measured(root, cluster, window, optout, damage) -> dict:
    """The measured usage (usage files) of one cluster, or all clusters merged, in `window`."""
    merged: dict = {}
    names = [cluster] if cluster else layout.clusters(root)
    for by_window in collect_measured(root, names, [window], optout, damage).values():
        efficiency.merge_into(merged, by_window[window.name])
    return merged


def add_history(page: dict, files: BoardFiles, args, groups: List[dict]) -> None:
    """The user's rank inside each of their groups (on what they charged to it), and their
    achievements with dates."""
    page["groups"] = boardfiles.ranks_in_groups(page["user"], groups)
    page["achievements"] = files.events_of(page["user"], "users", args.cluster)


def emit_pages(pages: List[dict], args) -> None:
    if len(pages) == 1:
        emit_page(pages[0], args)
    else:
        sys.stdout.buffer.write(orjson.dumps(comparison(*pages),
                                             option=orjson.OPT_APPEND_NEWLINE))


def comparison(first: dict, second: dict) -> dict:
    """Two personal pages side by side: per skill both rows and the XP gap (first - second)."""
    fields = ("rank", "value", "level", "xp")
    skills = []
    for one, other in zip(first["skills"], second["skills"]):
        skills.append({"metric": one["metric"],
                       "values": [{k: one.get(k) for k in fields}, {k: other.get(k) for k in fields}],
                       "xp_gap": (one.get("xp") or 0) - (other.get("xp") or 0)})
    overall = [page["overall"] or {"rank": None, "level": sum(s["level"] or 0 for s in
                                                              page["skills"]), "xp": 0}
               for page in (first, second)]
    return {"users": [first["user"], second["user"]], "window": first["window"],
            "cluster": first["cluster"], "asof": first["asof"], "overall": overall,
            "xp_gap": (overall[0].get("xp") or 0) - (overall[1].get("xp") or 0),
            "skills": skills}


def board_of(root, args, now, rates, optout, damage) -> List[dict]:
    window = windows.resolve(args.window, now)
    if args.metric in efficiency.BOARDS:
        return efficiency_board(root, args, window, rates, optout, damage)
    usage = scoped_usage(root, args.cluster, [window], optout, args.wait, damage)[window.name]
    if args.account and not any(args.account in accounts for accounts in usage.values()):
        raise UnknownName(f"no account {args.account} in window {window.name} on "
                          f"{args.cluster or 'any cluster'}")
    kind = "groups" if args.groups else "users"
    return standings.board_rows(usage, kind, args.metric, rates, args.account)


def efficiency_board(root, args, window, rates, optout, damage) -> List[dict]:
    """One efficiency board computed now from the usage files of the scope."""
    if args.cluster and args.cluster not in layout.clusters(root):
        raise errors.ToolError(f"no cluster {args.cluster} under {root}", EXIT_UNKNOWN)
    merged = scoped_measured(root, args.cluster, window, optout, damage)
    kind = "groups" if args.groups else "users"
    bar = min_cpu_hours(args, root)
    rows = efficiency.board_rows(merged, kind, args.metric, rates["cpu_used_hours"], bar)
    if not rows and args.metric in efficiency.RATIOS and merged:
        cli.warn(PROG, f"no one with {bar:g} CPU hours of measured jobs on this board in "
                       f"{window.name} (the bar: --min-cpu-hours, config/efficiency.json)")
    elif not merged:
        cli.warn(PROG, "no measured jobs here: the daily step poll of sb-poll measures them "
                       "(see sb-rank(1), Efficiency boards)")
    return rows


def emit_page(page: dict, args) -> None:
    """A personal page: one JSON object, or with --format csv|tsv one row per skill (overall
    first)."""
    if args.format == "ndjson":
        sys.stdout.buffer.write(orjson.dumps(page, option=orjson.OPT_APPEND_NEWLINE))
        return
    rows = [dict(page["overall"] or {}, metric="overall")] + page["skills"]
    tables.write(rows, sys.stdout.buffer, args.format, columns(args, tables.SKILL_COLUMNS),
                 not args.noheader)


def emit_rows(rows: List[dict], args) -> None:
    available = tables.board_columns(args.metric, args.groups)
    if args.format == "ndjson" and args.columns is None:
        out = Writer(sys.stdout.buffer)
        for row in rows:
            out.write(row)
        return
    tables.write(rows, sys.stdout.buffer, args.format, columns(args, available),
                 not args.noheader)


def columns(args, available) -> List[str]:
    try:
        return tables.parse_columns(args.columns, available)
    except ValueError as err:
        raise errors.UsageError(f"-o: {err}") from None


def body(args) -> int:
    check_args(args)
    if args.wait is None:
        args.wait = lock_wait() if os.environ.get(LOCK_WAIT_ENV) else 60.0
    query = bool(args.window or args.user or args.compare)
    root = cli.open_root(args, write=not query)
    if query and not cli.may_write(root):
        return from_board_files(root, args)
    now = resolve_now(args)
    damage = Damage()
    try:
        rates = xp.load_rates(os.path.join(root, "config", "xp.json"))
        optout = OptOut(root)
        if args.user or args.compare:
            emit_pages(user_pages(root, args, now, rates, optout, damage), args)
        elif args.window:
            emit_rows(board_of(root, args, now, rates, optout, damage), args)
        else:
            summary = rebuild_once(root, rates, optout, now, args, damage)
            sys.stdout.buffer.write(orjson.dumps(summary, option=orjson.OPT_APPEND_NEWLINE))
        return damage.exit_code()
    except (errors.ConfigError, errors.ConfigError) as err:
        raise errors.ToolError(safe_text(str(err))) from None
    except UnknownName as err:
        raise errors.ToolError(safe_text(str(err)), EXIT_UNKNOWN) from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
