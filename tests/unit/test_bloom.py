import pytest

from slurm_scoreboard import bloom
from slurm_scoreboard.bloom import BloomCorrupt, BloomFilter


def test_added_keys_are_always_found_and_others_not():
    bf = BloomFilter(capacity=1000)
    keys = [f"{i}@2025-08-01T00:00:{i % 60:02d}Z" for i in range(1000)]
    assert all(bf.add(key) for key in keys)
    assert all(key in bf for key in keys)
    assert not any(f"other-{i}" in bf for i in range(20000))
    assert bf.items == 1000


def test_adding_twice_reports_seen():
    bf = BloomFilter(capacity=10)
    assert bf.add("1@x") is True
    assert bf.add("1@x") is False
    assert bf.items == 1


def test_sized_for_one_in_a_billion_at_capacity():
    bf = BloomFilter(capacity=2000)
    for i in range(2000):
        bf.add(f"job{i}")
    assert bf.false_positive_rate() <= 1e-9
    layer = bf.layers[0]
    assert layer.hashes == 31 and layer.bits >= 2000 * 44


def test_grows_with_new_layers_instead_of_losing_accuracy():
    bf = BloomFilter(capacity=500)
    for i in range(3000):
        bf.add(f"job{i}")
    assert len(bf.layers) == 3          # 500 + 1000 + 2000
    assert [layer.capacity for layer in bf.layers] == [500, 1000, 2000]
    assert bf.false_positive_rate() <= 1e-9
    assert all(f"job{i}" in bf for i in range(3000))
    assert not any(f"x{i}" in bf for i in range(20000))


def test_bytes_round_trip_keeps_everything():
    bf = BloomFilter(capacity=100)
    for i in range(250):
        bf.add(f"k{i}")
    copy = BloomFilter.from_bytes(bf.to_bytes())
    assert copy.items == 250 and len(copy.layers) == len(bf.layers)
    assert all(f"k{i}" in copy for i in range(250))
    assert copy.to_bytes() == bf.to_bytes()


@pytest.mark.parametrize("damage", [
    lambda b: b[:-1],                                    # truncated by one byte
    lambda b: b[: len(b) // 2],                          # truncated in the middle
    lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:],   # one bit flipped in the bitmap
    lambda b: b"NOTBLOOM" + b[8:],                       # another format
    lambda b: b"",                                       # empty file
])
def test_damaged_files_are_refused(damage):
    bf = BloomFilter(capacity=100)
    bf.add("a")
    with pytest.raises(BloomCorrupt):
        BloomFilter.from_bytes(damage(bf.to_bytes()))


def test_version_is_checked():
    data = bytearray(BloomFilter(capacity=10).to_bytes())
    data[8] = 99
    with pytest.raises(BloomCorrupt, match="version|checksum"):
        BloomFilter.from_bytes(bytes(data))


def test_stats_report_capacity_fill_and_rate():
    bf = BloomFilter(capacity=100)
    for i in range(50):
        bf.add(str(i))
    stats = bf.stats()
    assert stats["capacity"] == 100 and stats["items"] == 50 and stats["layers"] == 1
    assert 0 < stats["fill"][0] < 0.5
    assert stats["false_positive_rate"] < bloom.P0


def _forge(layers):
    """A Bloom file with the given (capacity, bits, hashes, items, bitmap) layers and a valid
    checksum, as anyone with write access could make one."""
    import hashlib
    import struct
    body = struct.pack("<8sII", b"SBBLOOM\0", 1, len(layers))
    for capacity, bits, hashes, items, bitmap in layers:
        body += struct.pack("<QQIQ", capacity, bits, hashes, items) + bitmap
    return body + hashlib.sha256(body).digest()


@pytest.mark.parametrize("layer", [
    (0, 64, 3, 0, bytes(8)),                           # capacity 0: modulo by zero
    (2 ** 64 - 1, 64, 3, 2 ** 64 - 1, bytes(8)),       # absurd capacity
    (10, 64, 2 ** 32 - 1, 0, bytes(8)),                # billions of probes: a hang
    (1000, 8000, 7, 10, b"\xff" * 1000),               # saturated: every key "seen"
    (10, 64, 3, 11, bytes(8)),                         # more keys than its capacity
])
def test_a_forged_file_with_a_good_checksum_is_refused(layer):
    with pytest.raises(BloomCorrupt):
        BloomFilter.from_bytes(_forge([layer]))
