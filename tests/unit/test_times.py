from datetime import datetime, timezone

import pytest

from slurm_scoreboard.core import times


def test_sacct_stamps_become_utc_iso_with_z():
    assert times.parse_sacct_time("2025-08-01T12:00:00") == "2025-08-01T12:00:00Z"
    assert times.parse_sacct_time("1690000000") == "2023-07-22T04:26:40Z"
    for unset in ("", "Unknown", "None", "0"):
        assert times.parse_sacct_time(unset) is None


@pytest.mark.parametrize("text", ["4 Sep 11:18", "2025-13-01T00:00:00", "yesterday"])
def test_unreadable_stamps_raise(text):
    with pytest.raises(ValueError):
        times.parse_sacct_time(text)


def test_now_can_be_pinned(monkeypatch):
    monkeypatch.setenv(times.NOW_ENV, "2024-02-29T23:59:59Z")
    assert times.now() == datetime(2024, 2, 29, 23, 59, 59, tzinfo=timezone.utc)


def test_months():
    start = times.parse_month("2024-12")
    assert times.next_month(start) == datetime(2025, 1, 1, tzinfo=timezone.utc)
    for text in ("2024-13", "2025-8", "9999-12", "0000-01", "2025-08 ", "2025-08\n"):
        with pytest.raises(ValueError):
            times.parse_month(text)


def test_days_and_instants_as_the_tools_write_them():
    assert times.parse_day("2024-02-29") == datetime(2024, 2, 29, tzinfo=timezone.utc)
    assert times.parse_utc("2999-12-31T23:59:59Z") == datetime(2999, 12, 31, 23, 59, 59,
                                                               tzinfo=timezone.utc)
    for text in ("2023-02-29", "1969-12-31", "3000-01-01", "2024-1-05", "2024-01-05\n", ""):
        with pytest.raises(ValueError):
            times.parse_day(text)
    for text in ("2024-02-28T24:00:00Z", "2016-12-31T23:59:60Z", "2024-06-15T12:00:00",
                 "2024-06-15 12:00:00Z", "1969-12-31T23:59:59Z", "2024-02-30T00:00:00Z"):
        with pytest.raises(ValueError):
            times.parse_utc(text)


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31T23:00:00", "garbage", "1969-12-31"])
def test_a_pinned_now_out_of_range_or_unreadable_is_a_clear_error(monkeypatch, text):
    monkeypatch.setenv(times.NOW_ENV, text)
    with pytest.raises(errors.BadNow, match="SLURM_SB_NOW"):
        times.now()
    with pytest.raises(ValueError):
        times.parse_moment(text)


def test_round_trip():
    moment = datetime(2025, 3, 1, 0, 0, 0, tzinfo=timezone.utc)
    assert times.from_iso(times.to_iso(moment)) == moment
    assert times.sacct_stamp(moment) == "2025-03-01T00:00:00"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

from slurm_scoreboard import errors


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(alphabet="0123456789-T: Z", max_size=22), st.text(max_size=22),
                 st.integers(min_value=0, max_value=10 ** 22).map(str)))
def test_any_stamp_is_iso_utc_or_none_or_a_value_error(text):
    try:
        value = times.parse_sacct_time(text)
    except ValueError:
        return
    assert value is None or (len(value) == 20 and value.endswith("Z") and value.isascii())


@pytest.mark.parametrize("text", ["99999999999999999999", "2025-08-01T12:00:0\u0665",
                                  "0000-01-01T00:00:00"])
def test_stamps_out_of_range_raise_value_error(text):
    with pytest.raises(ValueError):
        times.parse_sacct_time(text)


def test_naive_stamps_are_read_in_their_zone_with_the_documented_dst_rule():
    new_york = times.zone_named("America/New_York")
    assert times.parse_sacct_time("2025-07-01T12:00:00", new_york) == "2025-07-01T16:00:00Z"
    assert times.parse_sacct_time("2025-01-01T12:00:00", new_york) == "2025-01-01T17:00:00Z"
    # 01:30 happens twice on 2025-11-02: the first pass (still daylight time) is taken.
    assert times.parse_sacct_time("2025-11-02T01:30:00", new_york) == "2025-11-02T05:30:00Z"
    # 02:30 never happens on 2025-03-09: read with the offset before the change.
    assert times.parse_sacct_time("2025-03-09T02:30:00", new_york) == "2025-03-09T07:30:00Z"
    assert times.parse_sacct_time("1690000000", new_york) == "2023-07-22T04:26:40Z"
    assert times.zone_named("UTC") is None
    with pytest.raises(ValueError, match="unknown time zone"):
        times.zone_named("Mars/Olympus")


def test_the_local_zone_is_tz_or_the_machines(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert str(times.local_zone()) == "Europe/Berlin"
    monkeypatch.setenv("TZ", "UTC")
    assert times.local_zone() is None


@pytest.mark.parametrize("tz, zone", [("America/New_York", "America/New_York"),
                                      ("/usr/share/zoneinfo/Europe/Berlin", "Europe/Berlin"),
                                      ("CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlin"),
                                      ("EST+5", "Etc/GMT+5"),
                                      ("Australia/Lord_Howe", "Australia/Lord_Howe")])
def test_the_local_zone_is_the_c_librarys_and_reads_every_hour_as_zoneinfo_does(monkeypatch, tz,
                                                                                zone):
    """Whatever form $TZ takes (a name, a zone file's path, a POSIX rule), naive times are read
    as sacct printed them: every 15 minutes of 2025, both daylight-saving changes included,
    agree with the IANA zone's reading (first pass of a repeated hour, the offset before the
    change in a skipped one)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    monkeypatch.setenv("TZ", tz)
    local = times.local_zone()
    reference = ZoneInfo(zone)
    moment = datetime(2025, 1, 1)
    while moment.year == 2025:
        ours = times.to_iso(moment.replace(tzinfo=local))
        theirs = times.to_iso(moment.replace(tzinfo=reference))
        assert ours == theirs, (tz, moment)
        moment += timedelta(minutes=15)
    monkeypatch.setenv("TZ", "UTC")
    assert times.local_zone() is None
