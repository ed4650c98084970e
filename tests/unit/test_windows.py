from datetime import datetime, timezone

import pytest

from slurm_scoreboard.core import windows

NOW = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)     # a leap year, just after February


def test_rolling_windows_end_today_and_count_today():
    w30 = windows.resolve("rolling-30d", NOW)
    assert (w30.first_day, w30.last_day) == ("2024-02-01", "2024-03-01")   # February has 29 days
    assert w30.covers_day("2024-02-01") and not w30.covers_day("2024-01-31")   # 29 vs 30 days ago
    w7 = windows.resolve("rolling-7d", NOW)
    assert w7.first_day == "2024-02-24"
    w365 = windows.resolve("rolling-365d", NOW)
    assert w365.first_day == "2023-03-03"                 # 2024 has a 29 February


def test_calendar_month_window():
    month = windows.resolve("month", NOW)
    assert (month.first_day, month.last_day) == ("2024-03-01", "2024-03-01")
    assert not month.covers_day("2024-02-29")


def test_month_coverage():
    w30 = windows.resolve("rolling-30d", NOW)
    assert w30.month_coverage("2024-02") == "all"
    assert w30.month_coverage("2024-03") == "part"       # only its first day so far
    assert w30.month_coverage("2024-01") == "none"
    w7 = windows.resolve("rolling-7d", NOW)
    assert w7.month_coverage("2024-02") == "part"
    assert windows.resolve("alltime", NOW).month_coverage("1999-01") == "all"


def test_unknown_window():
    with pytest.raises(ValueError):
        windows.resolve("rolling-2d", NOW)
