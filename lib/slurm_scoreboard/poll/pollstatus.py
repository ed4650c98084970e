"""Where each cluster's polling stands: cursor, last poll, last success and error, daemon, lag.

Read from the files the pipelines write in ``clusters/<c>/state/`` (``poll_cursor.json``,
``poll_status.json``, ``daemon_heartbeat.json``). Any writer of the root could have put anything
there, so every field is checked before it is used or shown; a file that fails is named as
damaged, never trusted.
"""
from __future__ import annotations

import os
import re
import socket
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

from slurm_scoreboard.core import files, layout
from slurm_scoreboard.core.names import check_name
from slurm_scoreboard.core.ndjson import flat_object
from slurm_scoreboard.core.times import parse_day, parse_month, parse_utc, to_iso
from slurm_scoreboard.store.store import day_rule, parse_object

from .. import errors
from ..errors import Damaged, StoreCorrupt

STATE_LIMIT = 1 << 16                      # the pipelines write a few hundred bytes
DAEMON_GRACE = timedelta(seconds=3600 + 120)   # a tick may run an hour before its heartbeat
POLL_LIMIT = timedelta(seconds=3600 + 60)      # sb-poll's watchdog stops a poll by then
STALE = timedelta(days=1)                      # data further behind means polls do not work

_STEP = re.compile(r"[a-z][a-z -]{0,39}")
_MESSAGE = re.compile(r'[ !#-\[\]-~]{0,300}')     # sb_plain_text's: no quotes, no backslashes
_HOST = re.compile(r"[A-Za-z0-9._-]{0,64}")


def clusters_polled(root: str) -> List[str]:
    """Clusters with a state folder (polled at least once), plain names only, sorted."""
    result = []
    for name in sorted(files.list_folder(os.path.join(root, "clusters"))):
        try:
            check_name("cluster", name)
        except ValueError:
            continue
        state = layout.state_dir(root, name)
        if os.path.isdir(state) and not os.path.islink(state):
            result.append(name)
    return result


def _read(path: str) -> Optional[bytes]:
    """A state file's bytes, None when there is none (Damaged when it cannot be read)."""
    try:
        return files.read_bytes(path, STATE_LIMIT)
    except FileNotFoundError:
        return None
    except (errors.UnsafePath, ValueError) as err:
        raise Damaged(str(err)) from None
    except OSError as err:
        raise Damaged(f"{path}: {err.strerror or err}") from None


def _load(path: str) -> Optional[dict]:
    return parse_object(_read(path), path, Damaged)


def _time(data: dict, key: str, path: str, optional: bool = False) -> Optional[datetime]:
    value = data.get(key)
    if value is None and optional:
        return None
    try:
        return parse_utc(value if type(value) is str else "")
    except ValueError:
        raise Damaged(f"{path}: {key} is not a UTC time from 1970 to 2999") from None


def _flag(data: dict, key: str, path: str) -> bool:
    value = data.get(key)
    if type(value) is not bool:
        raise Damaged(f"{path}: {key} is not true or false")
    return value


def _code(data: dict, key: str, path: str, optional: bool = False) -> Optional[int]:
    value = data.get(key)
    if value is None and optional:
        return None
    if type(value) is not int or not 0 <= value <= 255:
        raise Damaged(f"{path}: {key} is not an exit status")
    return value


def _text(value, pattern: re.Pattern, what: str, path: str) -> str:
    if type(value) is not str or not pattern.fullmatch(value):
        raise Damaged(f"{path}: {what} is not plain text")
    return value


def read_cursor(path: str, now: datetime) -> Optional[dict]:
    """The cursor's checked fields, or None before the first poll. The checks are those every
    pipeline makes before it uses the cursor (common.sh's sb_cursor_check, sb-incremental(1)),
    so --status never shows as valid a cursor the poll refuses."""
    raw = _read(path)
    if raw is None:
        return None
    try:
        if b"\n" in raw.rstrip(b"\n"):
            raise ValueError("more than one line")
        data = flat_object(raw)
    except ValueError:
        raise Damaged(f"{path}: not the one-line JSON object the pipelines write") from None
    start, following = _backfill_span(data, path, now)
    caught_up = _flag(data, "caught_up", path)
    since = _time(data, "incremental_since", path, optional=not caught_up)
    if since is not None and since < parse_day(start):
        raise Damaged(f"{path}: incremental_since is before the backfill start")
    return {"backfill_start": start, "backfill_next": following, "caught_up": caught_up,
            "incremental_since": since}


def _backfill_span(data: dict, path: str, now: datetime) -> Tuple[str, str]:
    """The cursor's backfill_start (a real day, not after today) and backfill_next (a real
    month, from the start's to the one 62 days from now)."""
    start, following = data.get("backfill_start"), data.get("backfill_next")
    start = start if isinstance(start, str) else ""
    following = following if isinstance(following, str) else ""
    try:
        first = parse_day(start)
    except ValueError:
        raise Damaged(f"{path}: backfill_start is not a real day from 1970 to 2999") from None
    if first > now:
        raise Damaged(f"{path}: backfill_start is after today")
    try:
        parse_month(following)
    except ValueError:
        raise Damaged(f"{path}: backfill_next is not a real month from 1970 to 2999") from None
    if not start[:7] <= following <= to_iso(now + timedelta(days=62))[:7]:
        raise Damaged(f"{path}: backfill_next is before the backfill start or over two months "
                      "from now")
    return start, following


def read_poll(path: str) -> Optional[dict]:
    """The last poll's checked outcome (poll_status.json), or None before the first poll."""
    data = _load(path)
    if data is None:
        return None
    error = data.get("last_error")
    if error is not None:
        if not isinstance(error, dict) or set(error) != {"at", "step", "message"}:
            raise Damaged(f"{path}: last_error is not an object of at, step and message")
        error = {"at": _time(error, "at", path),
                 "step": _text(error.get("step"), _STEP, "last_error.step", path),
                 "message": _text(error.get("message"), _MESSAGE, "last_error.message", path)}
    steps = data.get("steps")
    if not isinstance(steps, list) or len(steps) > 10:
        raise Damaged(f"{path}: steps is not a short list")
    checked = []
    for step in steps:
        if not isinstance(step, dict):
            raise Damaged(f"{path}: a step is not an object")
        seconds = step.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or \
                not 0 <= seconds < 1e7:
            raise Damaged(f"{path}: a step's seconds is not a duration")
        checked.append({"step": _text(step.get("step"), _STEP, "a step's name", path),
                        "ok": _flag(step, "ok", path), "exit": _code(step, "exit", path),
                        "seconds": float(seconds)})
    running = data.get("running", False)
    if type(running) is not bool:
        raise Damaged(f"{path}: running is not true or false")
    return {"host": _text(data.get("host", ""), _HOST, "host", path), "running": running,
            "started": _time(data, "started", path),
            "progress": _time(data, "progress", path, optional=True),
            "ended": _time(data, "ended", path, optional=running),
            "ok": None if running else _flag(data, "ok", path),
            "exit": _code(data, "exit", path, optional=running),
            "last_success": _time(data, "last_success", path, optional=True),
            "last_error": error, "steps": checked}


def read_daemon(path: str) -> Optional[dict]:
    """The daemon's last heartbeat, or None when no daemon ever ran for the cluster."""
    data = _load(path)
    if data is None:
        return None
    result = data.get("last_result")
    pid = data.get("pid")
    if pid is not None and (type(pid) is not int or not 1 <= pid < 1 << 31):
        raise Damaged(f"{path}: pid is not a process id")
    return {"time": _time(data, "time", path),
            "last_result": _text(result, _STEP, "last_result", path),
            "next_run": _time(data, "next_run", path, optional=True),
            "pid": pid, "host": _text(data.get("host", ""), _HOST, "host", path)}


def daemon_gone(daemon: Optional[dict]) -> bool:
    """A daemon that did not stop cleanly and whose process is gone from this host."""
    if not daemon or daemon["last_result"] == "stopped" or not daemon["pid"]:
        return False
    if daemon["host"] != socket.gethostname():
        return False
    try:
        os.kill(daemon["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def months_between(first: str, last: str) -> int:
    """How many months from the month of `first` (YYYY-MM...) to that of `last`."""
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7])


def next_step(cursor: Optional[dict], now: datetime) -> str:
    if cursor is None:
        return ("the first poll starts the backfill (at --backfill-start, by default the 1st "
                "of the month a year ago)")
    if cursor["caught_up"]:
        return (f"incremental, jobs that ended since {to_iso(cursor['incremental_since'])} "
                "(less the overlap)")
    current = to_iso(now)[:7]
    total = months_between(cursor["backfill_start"], current)
    number = months_between(cursor["backfill_start"], cursor["backfill_next"]) + 1
    if number > total:
        return "backfill: marks it caught up, then incremental polls"
    return f"backfill {cursor['backfill_next']} (month {number} of {total})"


def poll_state(root: str, cluster: str, poll: Optional[dict], now: datetime) -> Optional[str]:
    """``done``, ``running``, or ``interrupted`` (started, never finished: the watchdog, a
    kill, a reboot); None before the first poll. A poll started on this host is running while
    it holds the poll lock; one started elsewhere is given the watchdog's hour, counted from its
    last sign of progress (a --until-caught-up run writes one after each month)."""
    if poll is None:
        return None
    if not poll["running"]:
        return "done"
    if files.lock_holders(layout.path(root, "poll_lock", cluster=cluster)):
        return "running"
    last_sign = poll["progress"] or poll["started"]
    if poll["host"] == socket.gethostname() or now - last_sign > POLL_LIMIT:
        return "interrupted"
    return "running"


def steps_through(path: str) -> Optional[str]:
    """The last day the daily step poll measured (state/usage.json), None when it has not run
    or the file says nothing sb-poll writes."""
    try:
        data = files.read_json(path, limit=4096)
    except (ValueError, OSError, errors.UnsafePath):
        return None
    day = data.get("through") if isinstance(data, dict) else None
    try:
        parse_day(day if isinstance(day, str) else "")
    except ValueError:
        return None
    return day


def cluster_status(root: str, cluster: str, now: datetime) -> dict:
    """Everything known about one cluster's polling; damaged files are listed in 'damaged'."""
    damaged = []
    found = {}
    for key, reader, name, remedy in (
            ("cursor", lambda path: read_cursor(path, now), "poll_cursor",
             "polls fail until it is fixed; sb-poll's log names the remedy"),
            ("poll", read_poll, "poll_status",
             "the next poll rewrites it; if it stays damaged, remove it"),
            ("daemon", read_daemon, "daemon_heartbeat",
             "the daemon's next tick rewrites it; if it stays damaged, remove it")):
        try:
            found[key] = reader(layout.path(root, name, cluster=cluster))
        except Damaged as err:
            damaged.append(f"{err} ({remedy})")
            found[key] = None
    cursor, poll, daemon = found["cursor"], found["poll"], found["daemon"]
    try:
        ended = day_rule(root, cluster).ended
    except (StoreCorrupt, errors.UnsafePath) as err:
        damaged.append(f"{err} (sb-reduce --cluster {cluster} --repair writes it again)")
        ended = []
    lag = None
    if cursor and cursor["caught_up"]:
        lag = _seconds(now, cursor["incremental_since"])
    return {"cluster": cluster, "cursor": cursor, "last_poll": poll,
            "poll_state": poll_state(root, cluster, poll, now), "daemon": daemon,
            "daemon_gone": daemon_gone(daemon),
            "daemon_overdue": bool(daemon and daemon["last_result"] != "stopped"
                                   and daemon["next_run"] is not None
                                   and now > daemon["next_run"] + DAEMON_GRACE),
            "lag_seconds": lag, "stale": lag is not None and lag > STALE.total_seconds(),
            "next_step": next_step(cursor, now), "damaged": damaged,
            "steps_measured_through": steps_through(layout.path(root, "steps_state",
                                                                cluster=cluster)),
            "old_rule_months": ended}


def problems(status: dict) -> List[str]:
    """Why this cluster's polling needs a look (nothing when it is fine)."""
    found = list(status["damaged"])
    poll, daemon = status["last_poll"], status["daemon"]
    if status["poll_state"] == "interrupted":
        found.append("the last poll was stopped before its end")
    elif status["poll_state"] == "done" and not poll["ok"]:
        found.append("the last poll failed")
    if daemon and daemon["last_result"] in ("timeout", "error"):
        found.append(f"the daemon's last tick: {daemon['last_result']}")
    if status["daemon_gone"]:
        found.append("the daemon's process is gone (killed, or the node rebooted)")
    elif status["daemon_overdue"]:
        found.append("the daemon is overdue")
    if status["stale"]:
        found.append("the data is over a day behind")
    return found


def healthy(status: dict) -> bool:
    return not problems(status)


def _seconds(now: datetime, then: datetime) -> int:
    return max(0, int((now - then).total_seconds()))


def duration(seconds: int) -> str:
    """``45 s``, ``12 min``, ``3 h 20 min``, ``2 d 4 h``."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _where(status: dict, now: datetime) -> str:
    cursor = status["cursor"]
    if cursor is None:
        return "not polled yet"
    if cursor["caught_up"]:
        return (f"up to date to {to_iso(cursor['incremental_since'])} "
                f"({duration(status['lag_seconds'])} behind)")
    total = months_between(cursor["backfill_start"], to_iso(now))
    done = months_between(cursor["backfill_start"], cursor["backfill_next"])
    return f"backfilling from {cursor['backfill_start']}: {done} of {total} months done"


def _poll_line(poll: dict, state: str, now: datetime) -> str:
    if state == "running":
        return f"running since {to_iso(poll['started'])} ({duration(_seconds(now, poll['started']))})"
    if state == "interrupted":
        return (f"{to_iso(poll['started'])} STOPPED before its end (the watchdog, a kill or a "
                "reboot; the next poll resumes)")
    seconds = sum(step["seconds"] for step in poll["steps"])
    outcome = "ok" if poll["ok"] else f"FAILED (exit {poll['exit']})"
    failed = [step["step"] for step in poll["steps"] if not step["ok"]]
    detail = f" in {', '.join(failed)}" if failed else ""
    return f"{to_iso(poll['ended'])} {outcome}{detail}, {seconds:.1f} s"


def _daemon_line(status: dict) -> str:
    daemon = status["daemon"]
    line = f"last tick {to_iso(daemon['time'])} ({daemon['last_result']})"
    if daemon["pid"]:
        line += f", pid {daemon['pid']}" + (f" on {daemon['host']}" if daemon["host"] else "")
    if daemon["last_result"] == "stopped":
        return line
    if status["daemon_gone"]:
        return line + ": GONE (killed, or the node rebooted): start it again"
    if daemon["next_run"] is not None:
        line += f", next run {to_iso(daemon['next_run'])}"
        if status["daemon_overdue"]:
            line += " OVERDUE: is the daemon still running?"
    return line


def _old_rule_line(status: dict) -> str:
    months = status["old_rule_months"]
    span = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
    return (f"{len(months)} month{'s' if len(months) > 1 else ''} ({span}) count usage on the "
            f"day jobs ended (before 0.3): sb-backfill --cluster {status['cluster']} --resplit")


def render(statuses: List[dict], now: datetime) -> List[str]:
    """The human report: a block of labelled lines per cluster."""
    lines = []
    for status in statuses:
        lines.append(f"{status['cluster']}: {_where(status, now)}")
        poll = status["last_poll"]
        rows = [("last poll", _poll_line(poll, status["poll_state"], now) if poll
                 else "none recorded yet")]
        if poll:
            success = poll["last_success"]
            rows.append(("last success", to_iso(success) if success else "never"))
            error = poll["last_error"]
            if error:
                rows.append(("last error", f"{to_iso(error['at'])} in {error['step']}: "
                                           f"{error['message'] or '(no message)'}"))
        rows.append(("next step", status["next_step"]))
        if status.get("steps_measured_through"):
            rows.append(("step poll", f"jobs measured through {status['steps_measured_through']}"
                                      " (efficiency boards)"))
        if status.get("old_rule_months"):
            rows.append(("day rule", _old_rule_line(status)))
        if status["daemon"]:
            rows.append(("daemon", _daemon_line(status)))
        for problem in status["damaged"]:
            rows.append(("DAMAGED", problem))
        if status["stale"]:
            rows.append(("STALE", "over a day behind: are the polls running and succeeding?"))
        lines.extend(f"  {label:<14}{text}" for label, text in rows)
    return lines


def as_json(status: dict) -> dict:
    """The status with its times as ISO text and its problems listed, for --json."""
    def plain(value):
        if isinstance(value, datetime):
            return to_iso(value)
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value
    return {**plain(status), "problems": problems(status)}
