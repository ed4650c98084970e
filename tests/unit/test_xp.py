import pytest

from slurm_scoreboard import errors
from slurm_scoreboard.core import xp


@pytest.mark.parametrize("level,needed", [(1, 0), (2, 83), (10, 1154), (50, 101333),
                                          (92, 6517253), (99, 13034431), (126, 188884740)])
def test_the_game_table_at_known_levels(level, needed):
    assert xp.xp_for_level(level) == needed


def test_levels_stop_at_99_and_virtual_levels_at_126():
    assert xp.level(13034430) == 98 and xp.level(13034431) == 99
    assert xp.level(200_000_000) == 99 and xp.virtual_level(200_000_000) == 126
    assert xp.virtual_level(14391160) == 100 and xp.level(14391160) == 99
    assert xp.level(0) == 1 and xp.level(82) == 1 and xp.level(83) == 2


def test_xp_is_capped_at_200m():
    assert xp.xp_of(1e12, 10) == xp.MAX_XP
    assert xp.xp_of(1.99, 10) == 19


def test_rates_from_config(tmp_path):
    path = tmp_path / "xp.json"
    assert xp.load_rates(str(path)) == dict(xp.DEFAULT_RATES, cpu_used_hours=10.0)
    path.write_text('{"rates": {"jobs": 1, "clock_hours": 2.5}}')
    rates = xp.load_rates(str(path))
    assert rates["jobs"] == 1 and rates["clock_hours"] == 2.5
    assert rates["gpu_clock_hours"] == xp.DEFAULT_RATES["gpu_clock_hours"]


@pytest.mark.parametrize("text", ['{"rates": {"cooking": 1}}', '{"rates": {"jobs": -1}}',
                                  '{"rates": []}', '{broken', '{"rates": {"jobs": true}}'])
def test_bad_config_is_refused(tmp_path, text):
    path = tmp_path / "xp.json"
    path.write_text(text)
    with pytest.raises(errors.ConfigError):
        xp.load_rates(str(path))


def test_default_rates_put_a_heavy_user_in_the_90s():
    # A heavy user: 1M core-hours, 100k GPU-hours, 100k jobs in all time.
    for skill, value in (("clock_hours", 1e6), ("gpu_clock_hours", 1e5), ("jobs", 1e5)):
        assert 90 <= xp.level(xp.xp_of(value, xp.DEFAULT_RATES[skill])) <= 99
