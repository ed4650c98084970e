"""pollstatus: the state files are checked field by field, and the report shows only plain text."""
import os
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reduce_helpers import ENV, tool

from slurm_scoreboard.core.times import to_iso
from slurm_scoreboard.errors import Damaged
from slurm_scoreboard.poll import pollstatus

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)
GOOD_POLL = {"cluster": "hammer", "started": "2025-06-15T11:50:00Z",
             "ended": "2025-06-15T11:50:09Z", "ok": False, "exit": 1,
             "last_success": "2025-06-15T11:40:08Z",
             "last_error": {"at": "2025-06-15T11:50:09Z", "step": "sb-incremental",
                            "message": "sb-sacct: sacct timed out after 600 s"},
             "steps": [{"step": "incremental", "ok": False, "exit": 1, "seconds": 600.2},
                       {"step": "boards", "ok": True, "exit": 0, "seconds": 1.5}]}
GOOD_CURSOR = {"cluster": "hammer", "backfill_start": "2024-06-01", "backfill_next": "2025-06",
               "caught_up": True, "incremental_since": "2025-06-15T11:40:00Z",
               "updated": "2025-06-15T11:40:08Z"}

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12)


def state(tmp_path, cluster="hammer", **files):
    folder = tmp_path / "clusters" / cluster / "state"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / f"{name}.json").write_bytes(data if isinstance(data, bytes) else orjson.dumps(data))
    return folder


def test_a_good_status_reads_back_with_lag_next_step_and_last_error(tmp_path):
    state(tmp_path, poll_cursor=GOOD_CURSOR, poll_status=GOOD_POLL)
    status = pollstatus.cluster_status(str(tmp_path), "hammer", NOW)
    assert status["damaged"] == []
    assert status["lag_seconds"] == 20 * 60
    assert status["last_poll"]["last_error"]["step"] == "sb-incremental"
    assert not pollstatus.healthy(status)
    lines = pollstatus.render([status], NOW)
    assert lines[0] == "hammer: up to date to 2025-06-15T11:40:00Z (20 min behind)"
    assert lines[1] == "  last poll     2025-06-15T11:50:09Z FAILED (exit 1) in incremental, 601.7 s"
    assert "  last error    2025-06-15T11:50:09Z in sb-incremental: sb-sacct: sacct timed out after 600 s" in lines


def test_backfill_progress_and_next_step_count_months_from_the_start():
    cursor = {"backfill_start": "2024-06-15", "backfill_next": "2024-09", "caught_up": False,
              "incremental_since": None}
    assert pollstatus.next_step(cursor, NOW) == "backfill 2024-09 (month 4 of 12)"
    assert pollstatus.next_step(None, NOW).startswith("the first poll starts the backfill")
    cursor["backfill_next"] = "2025-06"
    assert pollstatus.next_step(cursor, NOW).startswith("backfill: marks it caught up")


def test_the_last_month_of_a_backfill_is_its_last_step_and_then_it_is_caught_up():
    cursor = {"backfill_start": "2024-06-15", "backfill_next": "2025-05", "caught_up": False,
              "incremental_since": None}
    assert pollstatus.next_step(cursor, NOW) == "backfill 2025-05 (month 12 of 12)"


# each field of the cursor just inside and just outside what the pipelines accept (NOW is
# 2025-06-15T12:00:00Z; the backfill may run up to the month 62 days from now)
@pytest.mark.parametrize("change, good", [
    ({"backfill_start": "2025-06-15"}, True), ({"backfill_start": "2025-06-16"}, False),
    ({"backfill_next": "2025-08"}, True), ({"backfill_next": "2025-09"}, False),
    ({"backfill_next": "2024-06"}, True), ({"backfill_next": "2024-05"}, False),
    ({"incremental_since": "2024-06-01T00:00:00Z"}, True),
    ({"incremental_since": "2024-05-31T23:59:59Z"}, False)])
def test_each_cursor_field_at_its_edge(tmp_path, change, good):
    folder = state(tmp_path, poll_cursor={**GOOD_CURSOR, **change})
    path = str(folder / "poll_cursor.json")
    if good:
        assert pollstatus.read_cursor(path, NOW)["backfill_start"] == \
            change.get("backfill_start", GOOD_CURSOR["backfill_start"])
    else:
        with pytest.raises(Damaged, match=str(folder)):
            pollstatus.read_cursor(path, NOW)


@pytest.mark.parametrize("now, following, good", [
    (datetime(2025, 6, 30, 12, tzinfo=timezone.utc), "2025-08", True),     # +62 d: Aug 31
    (datetime(2025, 6, 30, 12, tzinfo=timezone.utc), "2025-09", False),
    (datetime(2025, 7, 1, 0, tzinfo=timezone.utc), "2025-09", True),       # +62 d: Sep 1
    (datetime(2025, 7, 1, 0, tzinfo=timezone.utc), "2025-10", False)])
def test_the_backfill_may_run_to_the_month_62_days_from_now_and_no_further(tmp_path, now,
                                                                            following, good):
    """Around a month's end, where 61, 62 and 63 days from now fall in different months."""
    folder = state(tmp_path, poll_cursor={**GOOD_CURSOR, "backfill_next": following})
    path = str(folder / "poll_cursor.json")
    if good:
        assert pollstatus.read_cursor(path, now)["backfill_next"] == following
    else:
        with pytest.raises(Damaged, match="over two months from now"):
            pollstatus.read_cursor(path, now)


@pytest.mark.parametrize("pid, good", [(1, True), (0, False), ((1 << 31) - 1, True),
                                       (1 << 31, False), (True, False), (None, True)])
def test_a_heartbeat_s_pid_is_a_process_id(tmp_path, pid, good):
    beat = {"time": at(60), "last_result": "ok", "next_run": at(-3600), "pid": pid}
    folder = state(tmp_path, daemon_heartbeat=beat)
    path = str(folder / "daemon_heartbeat.json")
    if good:
        assert pollstatus.read_daemon(path)["pid"] == pid
    else:
        with pytest.raises(Damaged, match="pid"):
            pollstatus.read_daemon(path)


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (59, "59 s"), (60, "1 min"),
                                           (3600, "1 h"), (3660, "1 h 1 min"),
                                           (47 * 3600, "47 h"), (49 * 3600, "2 d 1 h"),
                                           (10 * 86400, "10 d")])
def test_durations_read_like_a_person_would_say_them(seconds, text):
    assert pollstatus.duration(seconds) == text


@pytest.mark.parametrize("change", [
    {"ok": "yes"}, {"exit": 256}, {"exit": -1}, {"started": "2025-06-15 11:50:00"},
    {"ended": "2025-02-30T00:00:00Z"}, {"steps": [{"step": "x", "ok": True, "exit": 0,
                                                    "seconds": float("1e308")}]},
    {"steps": [{"step": "x", "ok": True, "exit": 0, "seconds": True}]},
    {"steps": [{}] * 11}, {"last_error": {"at": "2025-06-15T11:50:09Z", "step": "x",
                                          "message": "\x1b[2J"}},
    {"last_error": {"at": "2025-06-15T11:50:09Z", "step": "../../x", "message": ""}},
    {"last_error": "boom"}, {"last_success": 17}])
def test_each_bad_field_names_the_file_as_damaged(tmp_path, change):
    folder = state(tmp_path, poll_status={**GOOD_POLL, **change})
    with pytest.raises(Damaged, match=str(folder)):
        pollstatus.read_poll(str(folder / "poll_status.json"))


@settings(max_examples=300, deadline=None)
@given(poll=st.dictionaries(st.sampled_from(sorted(GOOD_POLL)), JSON_VALUES, max_size=8),
       cursor=st.dictionaries(st.sampled_from(sorted(GOOD_CURSOR)), JSON_VALUES, max_size=6),
       raw=st.binary(max_size=64))
def test_any_content_is_read_or_named_damaged_and_the_report_stays_printable(tmp_path_factory, poll, cursor, raw):
    root = tmp_path_factory.mktemp("root")
    state(root, poll_status={**GOOD_POLL, **poll}, poll_cursor={**GOOD_CURSOR, **cursor},
          daemon_heartbeat=raw)
    status = pollstatus.cluster_status(str(root), "hammer", NOW)
    text = "\n".join(pollstatus.render([status], NOW))
    assert text.isascii() and all(char == "\n" or char.isprintable() for char in text)
    orjson.dumps(pollstatus.as_json(status))
    for key, name in (("daemon", "daemon_heartbeat"), ("last_poll", "poll_status"),
                      ("cursor", "poll_cursor")):
        named = [problem for problem in status["damaged"] if f"/{name}.json" in problem]
        assert (status[key] is None) == bool(named), (key, status)


def test_only_plain_cluster_folders_with_a_state_folder_are_listed(tmp_path):
    state(tmp_path, "hammer")
    state(tmp_path, "anvil")
    (tmp_path / "clusters" / "typo").mkdir()
    (tmp_path / "clusters" / "bad name").mkdir()
    (tmp_path / "clusters" / "bad name" / "state").mkdir()
    os.symlink(tmp_path / "clusters" / "anvil" / "state", tmp_path / "clusters" / "typo" / "state")
    assert pollstatus.clusters_polled(str(tmp_path)) == ["anvil", "hammer"]


@pytest.mark.parametrize("usage, shown", [
    ({"through": "2025-06-14"}, "2025-06-14"),
    ({"through": "2025-13-40"}, None),
    ({"through": "\x1b[2J"}, None),
    (b"[1, 2", None),
])
def test_the_last_day_the_step_poll_measured_is_shown_when_it_is_one(tmp_path, usage, shown):
    state(tmp_path, poll_cursor=GOOD_CURSOR, poll_status=GOOD_POLL, usage=usage)
    status = pollstatus.cluster_status(str(tmp_path), "hammer", NOW)
    assert status["steps_measured_through"] == shown
    lines = pollstatus.render([status], NOW)
    step = [line for line in lines if line.startswith("  step poll")]
    assert step == ([f"  step poll     jobs measured through {shown} (efficiency boards)"]
                    if shown else [])


def test_a_long_catch_up_run_elsewhere_is_running_while_it_shows_progress(tmp_path):
    """A poll on another host is taken as stopped after the watchdog's hour; a --until-caught-up
    run may last many hours, so its hour counts from its last progress (after each month)."""
    running = {**GOOD_POLL, "host": "another-login-node", "running": True,
               "started": "2025-06-15T07:00:00Z", "ended": None, "ok": None, "exit": None}
    state(tmp_path, poll_cursor=GOOD_CURSOR, poll_status=running)
    poll = pollstatus.read_poll(str(tmp_path / "clusters/hammer/state/poll_status.json"))
    assert pollstatus.poll_state(str(tmp_path), "hammer", poll, NOW) == "interrupted"
    state(tmp_path, poll_status={**running, "progress": "2025-06-15T11:45:00Z"})
    poll = pollstatus.read_poll(str(tmp_path / "clusters/hammer/state/poll_status.json"))
    assert pollstatus.poll_state(str(tmp_path), "hammer", poll, NOW) == "running"
    state(tmp_path, poll_status={**running, "progress": "2025-06-15T10:45:00Z"})
    poll = pollstatus.read_poll(str(tmp_path / "clusters/hammer/state/poll_status.json"))
    assert pollstatus.poll_state(str(tmp_path), "hammer", poll, NOW) == "interrupted"
    state(tmp_path, poll_status={**running, "progress": "yesterday"})
    with pytest.raises(Damaged, match="progress is not a UTC time"):
        pollstatus.read_poll(str(tmp_path / "clusters/hammer/state/poll_status.json"))


# -- freshness: each threshold just under, at, and just over ------------------------------------
# The thresholds, as the docs give them: data over a day (86,400 s) behind is stale; a daemon's
# next run is overdue once the tick it runs (an hour, its watchdog) and two minutes of grace are
# over (3,720 s); a poll started on another host is taken as stopped once the watchdog's hour
# and a minute pass after its last sign of progress (3,660 s).

def at(seconds_before):
    return to_iso(NOW - timedelta(seconds=seconds_before))


@pytest.mark.parametrize("behind, stale", [(86399, False), (86400, False), (86401, True)])
def test_data_is_stale_only_once_it_is_over_a_day_behind(tmp_path, behind, stale):
    state(tmp_path, poll_cursor={**GOOD_CURSOR, "incremental_since": at(behind)},
          poll_status={**GOOD_POLL, "ok": True, "exit": 0, "last_error": None})
    status = pollstatus.cluster_status(str(tmp_path), "hammer", NOW)
    assert status["lag_seconds"] == behind
    assert status["stale"] is stale
    assert ("the data is over a day behind" in pollstatus.problems(status)) is stale
    assert pollstatus.healthy(status) is not stale
    assert any(line.startswith("  STALE") for line in pollstatus.render([status], NOW)) is stale


@pytest.mark.parametrize("late, overdue", [(3719, False), (3720, False), (3721, True)])
def test_a_daemon_is_overdue_only_once_its_tick_and_the_grace_are_over(tmp_path, late, overdue):
    beat = {"time": at(late + 600), "last_result": "ok", "next_run": at(late)}
    state(tmp_path, poll_cursor=GOOD_CURSOR, daemon_heartbeat=beat)
    status = pollstatus.cluster_status(str(tmp_path), "hammer", NOW)
    assert status["daemon_overdue"] is overdue
    assert ("the daemon is overdue" in pollstatus.problems(status)) is overdue
    assert ("OVERDUE" in "\n".join(pollstatus.render([status], NOW))) is overdue
    # a daemon that stopped cleanly is never overdue
    state(tmp_path, daemon_heartbeat={**beat, "last_result": "stopped"})
    assert not pollstatus.cluster_status(str(tmp_path), "hammer", NOW)["daemon_overdue"]


@pytest.mark.parametrize("quiet, shown", [(3659, "running"), (3660, "running"),
                                          (3661, "interrupted")])
def test_a_poll_elsewhere_is_stopped_only_once_the_watchdog_s_hour_passed_its_progress(
        tmp_path, quiet, shown):
    running = {**GOOD_POLL, "host": "another-login-node", "running": True, "ended": None,
               "ok": None, "exit": None, "started": at(quiet + 7200), "progress": at(quiet)}
    state(tmp_path, poll_cursor=GOOD_CURSOR, poll_status=running)
    status = pollstatus.cluster_status(str(tmp_path), "hammer", NOW)
    assert status["poll_state"] == shown
    assert ("the last poll was stopped before its end" in pollstatus.problems(status)) is \
        (shown == "interrupted")


@pytest.mark.parametrize("behind, code", [(86399, 0), (86400, 0), (86401, 1)])
def test_sb_probe_polls_exits_1_only_once_the_data_is_over_a_day_behind(tmp_path, behind, code):
    state(tmp_path, poll_cursor={**GOOD_CURSOR, "incremental_since": at(behind)},
          poll_status={**GOOD_POLL, "ok": True, "exit": 0, "last_error": None})
    env = dict(ENV, SLURM_SB_NOW="2025-06-15T12:00:00Z")
    done = tool("sb_probe", ["--root", str(tmp_path), "--polls", "--json"], env=env)
    assert done.returncode == code, done.stderr
    report = orjson.loads(done.stdout)
    assert (report["lag_seconds"], report["stale"]) == (behind, bool(code))
    text = tool("sb_probe", ["--root", str(tmp_path), "--polls"], env=env)
    assert text.returncode == code and (b"STALE" in text.stdout) is bool(code)


def test_the_status_names_months_on_the_old_day_rule_and_a_damaged_rule(tmp_path):
    from reduce_helpers import job, reduce

    from slurm_scoreboard.core.times import from_iso
    from slurm_scoreboard.poll import pollstatus
    root = tmp_path
    done, _ = reduce(root, [job(1, "ann", "2025-07-02T10:00:00Z"),
                            job(2, "ann", "2025-08-02T10:00:00Z")])
    assert done.returncode == 0
    now = from_iso("2025-08-10T00:00:00Z")
    rule = root / "clusters" / "hammer" / "agg" / "day_rule.json"
    assert pollstatus.cluster_status(str(root), "hammer", now)["old_rule_months"] == []
    rule.unlink()
    status = pollstatus.cluster_status(str(root), "hammer", now)
    assert status["old_rule_months"] == ["2025-07", "2025-08"] and pollstatus.healthy(status)
    text = "\n".join(pollstatus.render([status], now))
    assert "2 months (2025-07 to 2025-08) count usage on the day jobs ended" in text
    assert "sb-backfill --cluster hammer --resplit" in text
    rule.write_text('{"ended_months": 7}')
    status = pollstatus.cluster_status(str(root), "hammer", now)
    assert not pollstatus.healthy(status) and "--repair" in " ".join(status["damaged"])
