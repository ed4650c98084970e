import pytest

from slurm_scoreboard.ingest.units import parse_count, parse_duration, parse_reqmem, parse_size

K, M, G, T = 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4


@pytest.mark.parametrize("text,expected", [
    ("4000K", 4000 * K), ("2200M", 2200 * M), ("72.50M", int(72.5 * M)), ("2T", 2 * T),
    ("0", 0), ("123456", 123456), ("104K", 104 * K), ("62.50G", int(62.5 * G)), ("", None),
    ("0.00M", 0),
])
def test_sizes_with_suffix_or_raw_bytes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["abc", "12Q", "-5K", "0.07Mnz"])
def test_bad_sizes_raise(text):
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize("text,expected", [
    ("4000Mc", (4000 * M, "cpu")), ("4Gn", (4 * G, "node")), ("0n", (0, "node")),
    ("2252800Kn", (2252800 * K, "node")), ("512000Kc", (512000 * K, "cpu")),
    ("32G", (32 * G, "job")), ("312.50G", (int(312.5 * G), "job")), ("100", (100 * M, "job")),
    ("", (None, "job")),
])
def test_reqmem_old_and_new_forms(text, expected):
    assert parse_reqmem(text) == expected


def test_reqmem_invalid_suffix_raises():
    with pytest.raises(ValueError):
        parse_reqmem("100Mcd")


@pytest.mark.parametrize("text,seconds", [
    ("00:00:05", 5), ("01:02:03", 3723), ("1-00:00:00", 86400), ("164-03:37:36", 14182656),
    ("12:34", 754), ("00:00.007", 0), ("05:01.500", 301), ("4-23:56:21", 431781),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "INVALID", "00:00:-02", "1-", "x-00:00:01", "1:2:3:4"])
def test_bad_durations_raise(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_counts():
    assert parse_count("8") == 8
    assert parse_count("") is None
    assert parse_count("0.00K") == 0
    assert parse_count("1.5K") == 1500
    with pytest.raises(ValueError):
        parse_count("eight")


# -- any text: a number or ValueError, never another exception, never a negative or huge number

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

from slurm_scoreboard.ingest.units import MAX_BYTES  # noqa: E402

SACCTISH = st.text(alphabet="0123456789.:-+eEKMGTPcnkb infaINFAN_\u0663\u00b2", max_size=24)


@settings(max_examples=600, deadline=None)
@given(st.one_of(SACCTISH, st.text(max_size=24)))
def test_every_unit_parser_gives_a_bounded_number_or_a_value_error(text):
    for parse in (parse_size, parse_duration, parse_count, lambda t: parse_reqmem(t)[0]):
        try:
            value = parse(text)
        except ValueError:
            continue
        assert value is None or (type(value) is int and value >= 0)
        if parse is parse_size:
            assert value is None or value <= MAX_BYTES


@pytest.mark.parametrize("text", ["1e400K", "inf", "infM", "nan", "1e5", "-0", "1_000K",
                                  "\u0663K", "99999999999999999999999999999999999P"])
def test_sizes_that_float_would_take_are_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)
