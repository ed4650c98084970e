"""Behaviour a mutation round showed untested: each test here fails with the mutation named in
its docstring applied (checked one by one)."""
import orjson

from slurm_scoreboard.core.optout import OptOut
from slurm_scoreboard.history import checkpoint, history


def test_the_checkpoint_month_of_a_january_day_is_the_december_before():
    """Mutation: (year, 12) for January kept the year."""
    assert checkpoint.target_month("2026-01-01") == "2025-12"
    assert checkpoint.target_month("2026-01-31") == "2025-12"
    assert checkpoint.target_month("2026-03-15") == "2026-02"


def test_a_week_is_labelled_with_its_iso_year_across_new_year():
    """Mutation: the day's calendar year instead of the ISO week's year."""
    assert history.week_label("2024-12-30") == "2025-W01"     # a Monday of 2025's week 1
    assert history.week_label("2021-01-03") == "2020-W53"     # a Sunday of 2020's week 53
    assert history.week_label("2025-07-31") == "2025-W31"


def test_a_marker_seen_on_one_cluster_opts_the_user_out_everywhere(tmp_path):
    """Mutation: all() for any() over a user's answers (one cluster's poller saw the marker,
    another's could not)."""
    optout = OptOut(str(tmp_path))
    optout.checked = {"ann": {"hammer": [1, False], "anvil": [2, True]},
                      "bob": {"hammer": [1, False]}}
    assert optout.everyone() == {"ann"}


def test_a_reader_leaves_out_a_user_whose_marker_one_cluster_saw(tmp_path):
    """Mutation: all() for any() in opted_out() (what every reader of the boards applies)."""
    import os

    import orjson

    from slurm_scoreboard.core import layout, optout
    path = layout.path(str(tmp_path), "optout_cache")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(orjson.dumps({"version": 1, "checked": {
            "ann": {"hammer": [1, False], "anvil": [2, True]}, "bob": {"hammer": [1, False]}}}))
    assert optout.opted_out(str(tmp_path)) == {"ann"}


def test_a_job_whose_span_is_exactly_elapsed_plus_the_slack_keeps_its_start():
    """Mutation (metrics.span_of): >= for > in the suspended-job test, which moved the start of
    a job exactly one day longer than its elapsed time to its end."""
    from slurm_scoreboard.core.times import iso_seconds
    from slurm_scoreboard.store import metrics
    record = {"start": "2025-08-01T00:00:00Z", "end": "2025-08-02T01:00:00Z", "elapsed_s": 3600}
    assert metrics.span_of(record) == (iso_seconds(record["start"]), iso_seconds(record["end"]))
    record["end"] = "2025-08-02T01:00:01Z"
    assert metrics.span_of(record) == (iso_seconds(record["end"]) - 3600,
                                       iso_seconds(record["end"]))


def test_a_day_rule_with_only_kept_months_is_still_the_old_rule():
    """Mutation (store.day_rule_bytes): the old rule named only when months are to be fetched
    again, so a cluster whose old months are all kept read as on the new rule."""
    from slurm_scoreboard.store import store
    kept = orjson.loads(store.day_rule_bytes("hammer", store.DayRule([], ["2024-05"]),
                                             "2024-06-01T00:00:00Z"))
    new = orjson.loads(store.day_rule_bytes("hammer", store.DayRule([], []),
                                            "2024-06-01T00:00:00Z"))
    assert kept["rule"] == store.OLD_DAY_RULE != new["rule"] == store.DAY_RULE


def test_an_outbox_takes_a_line_that_fills_it_exactly(tmp_path):
    """Mutation (feed.Outbox.take): >= for >, which refused the event that fits to the byte."""
    from slurm_scoreboard.history import feed
    assert feed.Outbox(str(tmp_path / "outbox"), None).take(b"x" * feed.OUTBOX_LIMIT)
    assert not feed.Outbox(str(tmp_path / "outbox"), None).take(b"x" * (feed.OUTBOX_LIMIT + 1))


def test_group_sharing_gives_lock_files_the_lock_mode(tmp_path):
    """Mutation (sharing._file_mode): every file the file mode, which would let other users
    read (and in owner mode hold) the locks."""
    import grp
    import os

    from slurm_scoreboard.core import sharing
    (tmp_path / "boards.json").write_bytes(b"{}")
    (tmp_path / "poll.lock").write_bytes(b"")
    group = grp.getgrgid(os.getgid()).gr_name
    assert sharing.apply(str(tmp_path), sharing.Sharing("group", group, os.getgid())) == []
    assert os.stat(tmp_path / "boards.json").st_mode & 0o7777 == 0o664
    assert os.stat(tmp_path / "poll.lock").st_mode & 0o7777 == 0o660


def test_a_checkpoint_record_ending_on_its_months_first_is_refused():
    """Mutation (checkpoint._best): > for >=, which let a record end inside the checkpoint's
    own month."""
    import pytest
    entry = ["all", "users", "clock_hours", "day", 5.0, "ann", "2024-02-01", "2024-02-01",
             "2024-02-01"]
    with pytest.raises(checkpoint.Refused):
        checkpoint._best([entry], ["hammer"], "2024-02")
    earlier = entry[:6] + ["2024-01-31"] * 3
    assert checkpoint._best([earlier], ["hammer"], "2024-02")


# -- the second round's survivors ---------------------------------------------------------------

def test_an_answer_dated_in_the_future_is_looked_at_again(tmp_path):
    """Mutation (OptOut._stale): only the upper bound of an answer's age, so an answer from a
    clock that was ahead (or planted with a date to come) was trusted for good."""
    from test_optout import CountingLooker

    from slurm_scoreboard.core import optout as module
    now = 1_000_000.0
    out = OptOut(str(tmp_path), "hammer", check_homes=True, clock=lambda: now,
                 looker=CountingLooker({"ann": True}))
    out.checked = {"ann": {"hammer": [int(now) + 3600, False]},
                   "bo": {"hammer": [int(now) - module.MAX_AGE + 60, False]}}
    assert "ann" in out and "bo" not in out
    assert out.looker.looks == ["ann"]


def test_the_last_month_of_a_backfill_is_still_a_backfill_step():
    """Mutation (pollstatus.next_step): >= for >, which said "caught up" one month early."""
    from datetime import datetime, timezone

    from slurm_scoreboard.poll import pollstatus
    now = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)
    cursor = {"backfill_start": "2024-06-15", "backfill_next": "2025-05", "caught_up": False,
              "incremental_since": None}
    assert pollstatus.next_step(cursor, now) == "backfill 2025-05 (month 12 of 12)"
    cursor["backfill_next"] = "2025-06"
    assert pollstatus.next_step(cursor, now).startswith("backfill: marks it caught up")


def test_a_cursor_ahead_of_the_clock_is_zero_behind_not_negative(tmp_path):
    """Mutation (pollstatus._seconds): no floor at 0, so a poller whose clock ran ahead showed
    a negative lag ("-300 s behind")."""
    from datetime import datetime, timezone

    from test_pollstatus import GOOD_CURSOR, GOOD_POLL, state

    from slurm_scoreboard.poll import pollstatus
    now = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)
    state(tmp_path, poll_cursor=dict(GOOD_CURSOR, incremental_since="2025-06-15T12:05:00Z"),
          poll_status=GOOD_POLL)
    status = pollstatus.cluster_status(str(tmp_path), "hammer", now)
    assert status["lag_seconds"] == 0 and not status["stale"]
    assert pollstatus.render([status], now)[0] == \
        "hammer: up to date to 2025-06-15T12:05:00Z (0 s behind)"


def test_the_search_index_is_in_the_order_of_names_whatever_their_case():
    """Mutation (search.entries): the plain sort, which put every capitalised name before
    every lower-case one."""
    from slurm_scoreboard.export.site import search
    members = {"users": {"bob": None, "Carl": None, "alice": None}, "groups": {"Bio": None}}
    assert [entry["n"] for entry in search.entries(members)] == ["alice", "Bio", "bob", "Carl"]


# -- the third round's survivors ----------------------------------------------------------------

def test_records_of_one_kind_leave_the_other_out():
    """Mutation (recordbook.records_of): no filter on the kind, so a group's record showed
    among the users' (and the reverse)."""
    from slurm_scoreboard.history.recordbook import records_of
    document = {"records": [{"scope": "all", "kind": "users", "user": "ann"},
                            {"scope": "all", "kind": "groups", "account": "phys"},
                            {"scope": "hammer", "kind": "users", "user": "bo"}, "junk"]}
    assert records_of(document, "all", "users") == [document["records"][0]]
    assert records_of(document, "all", "groups") == [document["records"][1]]
    assert records_of(document, "hammer", "users") == [document["records"][2]]


def test_a_progress_line_with_a_month_twice_is_left_out():
    """Mutation (boardfiles.progress_entry): > for >=, which took a line whose months repeat
    (each month's numbers must be one)."""
    from slurm_scoreboard.boardfiles import SKILLS, progress_entry
    def line(months):
        zeros = [1] * len(months)
        return {"name": "ann", "months": months,
                "xp": {skill: zeros for skill in ("overall",) + SKILLS},
                "value": {skill: zeros for skill in SKILLS}}
    assert progress_entry(line(["2025-01", "2025-02"]), "users") is not None
    assert progress_entry(line(["2025-01", "2025-01"]), "users") is None
    assert progress_entry(line(["2025-02", "2025-01"]), "users") is None


def test_axis_numbers_switch_unit_at_a_round_thousand():
    """Mutation (charts.short_number): > for >=, which wrote 1000 for 1k."""
    from slurm_scoreboard.export.site import charts
    assert [charts.short_number(v) for v in (999, 1000, 1500, 10 ** 6, 10 ** 9)] == \
        ["999", "1k", "1.5k", "1M", "1G"]


def test_a_user_and_a_group_of_one_name_are_listed_group_first_whatever_the_order_read():
    """Mutation (search.entries): no tie-break on the kind, so the order of the index followed
    the order the names were read in."""
    from slurm_scoreboard.export.site import search
    for users, groups in (({"chaff": None}, {"chaff": None, "bio": None}),
                          ({"chaff": None, "ann": None}, {"chaff": None})):
        kinds = [(entry["n"], entry["k"]) for entry in search.entries(
            {"users": users, "groups": groups}) if entry["n"] == "chaff"]
        assert kinds == [("chaff", "group"), ("chaff", "player")]
    flipped = [(e["n"], e["k"]) for e in search.entries({"groups": {"chaff": None},
                                                         "users": {"chaff": None}})]
    assert flipped == [("chaff", "group"), ("chaff", "player")]


def test_a_cached_answer_that_is_not_true_or_false_is_dropped(tmp_path):
    """Mutation (optout._checked): any second field taken, so a planted "yes" (or 1) in the
    pollers' cache opted a user out, or 0 kept one in, without a look."""
    import os

    from slurm_scoreboard.core import layout, optout
    path = layout.path(str(tmp_path), "optout_cache")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(orjson.dumps({"version": 1, "checked": {
            "ann": {"hammer": [1, "yes"]}, "bo": {"hammer": [1, 1]},
            "cy": {"hammer": [1, True]}}}))
    assert optout.load_cache(str(tmp_path)) == {"cy": {"hammer": [1, True]}}
    assert optout.opted_out(str(tmp_path)) == {"cy"}


def test_a_writer_whose_primary_group_is_the_roots_is_a_member(monkeypatch):
    """Mutation (sharing._listed_in): only the group's member list, which leaves out users
    whose primary group it is (/etc/group does not list them)."""
    import grp
    import pwd
    from types import SimpleNamespace

    from slurm_scoreboard.core import sharing
    group = grp.struct_group(("sbwriters", "x", 4242, []))
    users = {1001: pwd.struct_passwd(("ann", "x", 1001, 4242, "", "/home/ann", "/bin/sh")),
             1002: pwd.struct_passwd(("bo", "x", 1002, 100, "", "/home/bo", "/bin/sh"))}
    monkeypatch.setattr(sharing, "grp", SimpleNamespace(getgrnam=lambda name: group))
    monkeypatch.setattr(sharing, "pwd", SimpleNamespace(getpwuid=lambda uid: users[uid]))
    assert sharing._listed_in("sbwriters", 1001)
    assert not sharing._listed_in("sbwriters", 1002)


def test_the_idle_members_note_says_and_more_only_when_there_are_more():
    """Mutation (members.idle_members): >= for >, which ended a note of exactly MEMBERS_SHOWN
    names with "and 0 more"."""
    from types import SimpleNamespace

    from slurm_scoreboard.export.site import members
    for count, tail in ((members.MEMBERS_SHOWN, ""), (members.MEMBERS_SHOWN + 2, " and 2 more")):
        names = [f"u{number:03d}" for number in range(count)]
        page = SimpleNamespace(groups={"phys": {"users": names}},
                               name_cell=lambda here, kind, name: name)
        note = members.MemberPages.idle_members(page, "groups/phys.html", "phys", {})
        shown = ", ".join(names[:members.MEMBERS_SHOWN])
        assert note == (f'<p class="note">{count:,} members charged nothing to it this month: '
                        f"{shown}{tail}.</p>")
