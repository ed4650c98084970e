import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slurm_scoreboard.errors import BloomCorrupt
from slurm_scoreboard.store import bloom
from slurm_scoreboard.store.bloom import BloomFilter


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
    """Each run fills the room left in the last layer, then chains one layer sized for the
    rest, at half the rate of the one before, so the chain stays under 1e-9."""
    data = BloomFilter(capacity=60_000).to_bytes()
    for run in range(3):
        bf = BloomFilter.from_bytes(data)
        for i in range(50_000):
            assert bf.add(f"job{run}-{i}")
        data = bf.to_bytes()
    bf = BloomFilter.from_bytes(data)
    assert [layer.capacity for layer in bf.layers] == [60_000, 50_000, 50_000]
    assert [layer.items for layer in bf.layers] == [60_000, 50_000, 40_000]
    assert [layer.hashes for layer in bf.layers] == [31, 32, 33]
    assert bf.false_positive_rate() <= 1e-9
    assert all(f"job{run}-{i}" in bf for run in range(3) for i in range(50_000))
    assert not any(f"x{i}" in bf for i in range(100_000))


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


def old_main_file(keys, capacity=50_000):
    """The bytes the previous main wrote for `keys`: its own double-hashing loop, kept here as
    the reference, so files already on disk are read the same by today's code."""
    import hashlib
    import math
    import struct

    import mmh3
    bits = math.ceil(capacity * -math.log(bloom.P0) / (math.log(2) ** 2) / 8) * 8
    hashes = max(1, math.ceil(-math.log2(bloom.P0)))
    bitmap = bytearray(bits // 8)
    for key in keys:
        value = mmh3.hash128(key, 0, signed=False)
        h1, h2 = value & ((1 << 64) - 1), (value >> 64) | 1
        for i in range(hashes):
            position = (h1 + i * h2) % bits
            bitmap[position >> 3] |= 1 << (position & 7)
    body = struct.pack("<8sII", b"SBBLOOM\0", 1, 1) + \
        struct.pack("<QQIQ", capacity, bits, hashes, len(keys)) + bytes(bitmap)
    return body + hashlib.sha256(body).digest()


def test_the_fast_probe_walk_sets_the_bits_the_previous_main_set():
    keys = [f"{9000 + i}@2025-0{1 + i % 9}-11T0{i % 10}:00:00Z" for i in range(3000)]
    written = old_main_file(keys)
    today = BloomFilter(capacity=50_000)
    for key in keys:
        today.add(key)
    assert today.to_bytes() == written
    loaded = BloomFilter.from_bytes(written)
    assert all(key in loaded for key in keys) and not loaded.add(keys[17])


def test_a_month_read_in_one_go_is_written_as_one_right_sized_layer():
    keys = [f"{i}@2025-08-01T00:00:00Z" for i in range(400_000)]
    grown = BloomFilter()
    for key in keys:
        assert grown.add(key)
    data = grown.to_bytes()
    again = BloomFilter.from_bytes(data)
    assert len(again.layers) == 1 and again.items == len(keys)
    assert len(data) <= 6e6 * len(keys) / 1e6                # at most 6 MB per million keys
    assert again.false_positive_rate() <= 1e-9
    assert all(key in again for key in keys)
    assert not any(f"{i}@2025-09-01T00:00:00Z" in again for i in range(400_000))


def test_a_full_layer_read_from_a_file_is_kept_and_this_runs_keys_go_to_one_new_layer():
    old_keys = [f"old{i}" for i in range(50_000)]
    loaded = BloomFilter.from_bytes(old_main_file(old_keys))      # full: 50,000 of 50,000
    new_keys = [f"new{i}" for i in range(160_000)]
    assert all(loaded.add(key) for key in new_keys)
    kept = bytes(loaded.layers[0].bitmap)
    final = BloomFilter.from_bytes(loaded.to_bytes())
    assert len(final.layers) == 2 and bytes(final.layers[0].bitmap) == kept
    assert final.items == 210_000 and all(key in final for key in old_keys + new_keys)
    assert final.false_positive_rate() <= 1e-9


def test_a_new_month_is_sized_from_the_month_before():
    assert bloom.capacity_after(0) == bloom.DEFAULT_CAPACITY
    assert bloom.capacity_after(1_000_000) == 1_050_000
    before = BloomFilter(capacity=1_000)
    for i in range(70_000):
        before.add(str(i))
    data = before.to_bytes()
    assert bloom.items_in(data) == 70_000
    for garbage in (b"", b"SBBLOOM\0", data[:40], b"x" * 100):
        assert bloom.items_in(garbage) == 0


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(st.text(min_size=1, max_size=12), max_size=300), max_size=5),
       capacity=st.integers(min_value=1, max_value=200))
def test_no_key_is_ever_lost_across_runs_saves_and_compactions(batches, capacity):
    """A key `add` accepted is found ever after (a key it refused was a duplicate or, in these
    tiny layers, a false positive: never counted, so it cannot be counted twice either)."""
    data = BloomFilter(capacity=capacity).to_bytes()
    accepted = set()
    for batch in batches:
        run = BloomFilter.from_bytes(data)
        for key in batch:
            if run.add(key):
                assert key not in accepted
                accepted.add(key)
        data = run.to_bytes()
        reread = BloomFilter.from_bytes(data)
        assert all(key in reread for key in accepted)
        assert reread.items == len(accepted)


def test_a_planted_previous_month_cannot_size_a_new_month_beyond_reason(tmp_path):
    """A header alone (no bitmap) claims nothing; an honest big month is capped at MAX_HINT."""
    from slurm_scoreboard.store import bloom, store
    forged = bloom._HEADER.pack(bloom.MAGIC, bloom.VERSION, 1) + \
        bloom._LAYER.pack(1 << 40, 8, 1, (1 << 64) - 1)
    assert bloom.items_in(forged) == 0
    path = tmp_path / "2024-01.bloom"
    path.write_bytes(forged)
    february = store.load_bloom(str(tmp_path / "2024-02.bloom"), str(path))
    assert february.items == 0 and february._first_capacity == bloom.DEFAULT_CAPACITY
    assert bloom.capacity_after(10 ** 12) == int(bloom.MAX_HINT * bloom.HEADROOM)
