"""Seen-sets: scalable Bloom filters hashed with mmh3, one file per cluster and month of job end.

A filter is a chain of layers. The first holds `capacity` keys at a false-positive rate of
``P0 = 5e-10``; when a layer is full, a new one twice as large with half the rate is chained on,
so the chain's rate stays below ``P0 / (1 - 1/2) = 1e-9`` however many keys arrive.
Positions come from one 128-bit mmh3 hash split into two 64-bit halves (double hashing:
``h1 + i * h2 mod m``, computed as a walk of step ``h2 mod m`` from ``h1 mod m``: the same bits).

The keys one run adds are set when the filter is written (:class:`BloomFilter`), into one
layer sized for them, so a month read in one go costs about 5.8 MB per million keys. A month's
first layer is sized from the month before (:func:`capacity_after`), so a month that grows poll
by poll rarely chains at all.

File format (little-endian)::

    magic     8 bytes  b"SBBLOOM\\0"
    version   u32      1
    layers    u32
    per layer:
      capacity  u64    keys the layer is sized for
      bits      u64    m, a multiple of 8
      hashes    u32    k
      items     u64    keys added to the layer
      bitmap    m/8 bytes
    checksum  32 bytes SHA-256 of everything before it

A file whose magic, version, sizes or checksum do not match raises :class:`BloomCorrupt`; it is
never read as if it were empty.
"""
from __future__ import annotations

import hashlib
import math
import os
import signal
import struct
from array import array
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import mmh3

from ..core.files import write_all
from ..errors import BloomCorrupt

MAGIC = b"SBBLOOM\0"
VERSION = 1
P0 = 5e-10
GROWTH = 2
DEFAULT_CAPACITY = 50_000
_HEADER = struct.Struct("<8sII")
_LAYER = struct.Struct("<QQIQ")
_MASK64 = (1 << 64) - 1
_BIT = tuple(1 << i for i in range(8))
MIN_CAPACITY = DEFAULT_CAPACITY   # smaller layers lose double hashing its 1e-9 (measured)
HEADROOM = 1.05          # a layer sized from a count holds a twentieth more


class _Layer:
    __slots__ = ("capacity", "bits", "hashes", "items", "bitmap")

    def __init__(self, capacity: int, rate: float, bits: int = 0, hashes: int = 0,
                 items: int = 0, bitmap: Optional[bytearray] = None):
        self.capacity = capacity
        if not bits:
            bits = math.ceil(capacity * -math.log(rate) / (math.log(2) ** 2) / 8) * 8
            hashes = max(1, math.ceil(-math.log2(rate)))
        self.bits = bits
        self.hashes = hashes
        self.items = items
        self.bitmap = bitmap if bitmap is not None else bytearray(bits // 8)

    def contains(self, h1: int, h2: int) -> bool:
        bits, bitmap, bit = self.bits, self.bitmap, _BIT
        position, step = h1 % bits, h2 % bits
        for _ in range(self.hashes):
            if not bitmap[position >> 3] & bit[position & 7]:
                return False
            position += step
            if position >= bits:
                position -= bits
        return True

    def add(self, h1: int, h2: int) -> None:
        bits, bitmap, bit = self.bits, self.bitmap, _BIT
        position, step = h1 % bits, h2 % bits
        for _ in range(self.hashes):
            bitmap[position >> 3] |= bit[position & 7]
            position += step
            if position >= bits:
                position -= bits
        self.items += 1

    def add_all(self, pairs: array, first: int, stop: int) -> None:
        """:meth:`add` the keys ``first`` to ``stop`` of `pairs` (h1, h2, h1, h2...): the same
        bits, set a walk at a time (positions ``h1 + i * h2 mod m``)."""
        bits, bitmap, bit, hashes = self.bits, self.bitmap, _BIT, self.hashes
        for index in range(2 * first, 2 * stop, 2):
            start, step = pairs[index] % bits, pairs[index + 1] % bits
            for position in range(start, start + hashes * step, step):
                if position >= bits:
                    position %= bits
                bitmap[position >> 3] |= bit[position & 7]
        self.items += stop - first

    def fill(self) -> float:
        """Fraction of bits set."""
        number = int.from_bytes(self.bitmap, "little")
        ones = number.bit_count() if hasattr(number, "bit_count") else bin(number).count("1")
        return ones / self.bits

    def false_positive_rate(self) -> float:
        return self.fill() ** self.hashes


def key_hash(key: str):
    """(h1, h2): the two 64-bit halves of the key's 128-bit mmh3 hash (h2 odd)."""
    value = mmh3.hash128(key, 0, signed=False)
    return value & _MASK64, (value >> 64) | 1



MAX_HASHES = 64
MAX_FILL = 0.75


def _check_layer(layer: _Layer) -> None:
    """BloomCorrupt unless a layer is one this module could have written: sizes that agree,
    at most 64 probes, no more keys than it was sized for, and not saturated (a layer at its
    capacity is about half full; a saturated one would call every new job seen)."""
    if not (1 <= layer.capacity <= 1 << 40 and 8 <= layer.bits <= 64 * layer.capacity + 64
            and 1 <= layer.hashes <= MAX_HASHES and layer.items <= layer.capacity):
        raise BloomCorrupt("a layer whose sizes do not agree")
    if layer.fill() > MAX_FILL:
        raise BloomCorrupt(f"a layer {layer.fill():.0%} full: it would call every job seen")


MAX_HINT = 20_000_000     # keys a month is sized for at most from the month before; more chain


def capacity_after(items: int) -> int:
    """The first layer's capacity for a month after one that held `items` keys (at most
    MAX_HINT: the hint comes from a file any writer of the root could have planted)."""
    return max(DEFAULT_CAPACITY, math.ceil(min(items, MAX_HINT) * HEADROOM))


def items_in(data: bytes) -> int:
    """How many keys a Bloom file's layers say they hold (0 when it cannot tell): a size hint,
    read from the layer headers without checking the file, but only from layers whose bitmap
    is there and has room for them (a header alone claims nothing)."""
    try:
        magic, version, count = _HEADER.unpack_from(data, 0)
        offset, items = _HEADER.size, 0
        for _ in range(count if magic == MAGIC and version == VERSION else 0):
            _, bits, _, layer_items = _LAYER.unpack_from(data, offset)
            offset += _LAYER.size + bits // 8
            if offset > len(data) or layer_items * 8 > bits:
                return 0
            items += layer_items
        return items
    except struct.error:
        return 0


class KeptKeys:
    """Keys by their hash (h1, h2): each in the order it came, 16 bytes, and its h1 once more
    in a bucket chosen by its top bits, 8 bytes, to tell whether a key came already (a set of
    them would take about 70 bytes a key: 70 MB for a month of a million jobs). A filter's
    keys of this run wait here until it is written."""

    BUCKETS = 1 << 16
    _SHIFT = 64 - 16

    def __init__(self) -> None:
        self.pairs = array("Q")
        self.buckets: List[Optional[bytearray]] = [None] * self.BUCKETS

    def __len__(self) -> int:
        return len(self.pairs) // 2

    def __contains__(self, h1: int) -> bool:
        bucket = self.buckets[h1 >> self._SHIFT]
        return bucket is not None and _holds(bucket, h1.to_bytes(8, "little"))

    def add(self, h1: int, h2: int) -> bool:
        """Keep a key (its hash); False when it was kept already."""
        index = h1 >> self._SHIFT
        bucket = self.buckets[index]
        entry = h1.to_bytes(8, "little")
        if bucket is None:
            bucket = self.buckets[index] = bytearray()
        elif entry in bucket and _holds(bucket, entry):     # found at all, then at a key's place
            return False
        bucket += entry
        self.pairs.append(h1)
        self.pairs.append(h2)
        return True


def _holds(bucket: bytearray, entry: bytes) -> bool:
    """Whether the 8-byte `entry` is one of the bucket's (a match across two is none)."""
    at = bucket.find(entry)
    while at >= 0 and at % 8:
        at = bucket.find(entry, at + 1)
    return at >= 0


class BloomFilter:
    """A chain of layers; `add` returns False when the key was (probably) there already.

    Keys added in this run are kept aside (:class:`KeptKeys`) and written into the bitmaps
    once, when the filter is written: into the room left in the last layer read from the file,
    and the rest into one new layer sized for them. So each key is hashed once and set once,
    and a month read in one go is one right-sized layer whatever its first layer's size.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self.layers: List[_Layer] = []
        self._first_capacity = capacity
        self._pending = KeptKeys()

    def __contains__(self, key: str) -> bool:
        return self.has(*key_hash(key))

    def has(self, h1: int, h2: int) -> bool:
        """Whether the key of hash (h1, h2) (:func:`key_hash`) was added."""
        for layer in self.layers:
            if layer.contains(h1, h2):
                return True
        return h1 in self._pending

    def add(self, key: str) -> bool:
        h1, h2 = key_hash(key)
        for layer in self.layers:
            if layer.contains(h1, h2):
                return False
        return self._pending.add(h1, h2)

    def add_hashed(self, h1: int, h2: int) -> bool:
        """:meth:`add` of the key whose :func:`key_hash` is (h1, h2)."""
        for layer in self.layers:
            if layer.contains(h1, h2):
                return False
        return self._pending.add(h1, h2)

    def _settle(self) -> None:
        """Set the bits of the keys kept aside (see the class's docstring)."""
        pending, count = self._pending.pairs, len(self._pending)
        self._pending = KeptKeys()      # their buckets go before the new layer's bitmap comes
        index = 0
        if self.layers:
            last = self.layers[-1]
            while index < count and last.items < last.capacity:
                last.add(pending[2 * index], pending[2 * index + 1])
                index += 1
        if index < count or not self.layers:
            wanted = math.ceil((count - index) * HEADROOM)
            capacity = max(MIN_CAPACITY, wanted) if self.layers else \
                max(self._first_capacity, wanted)
            layer = _Layer(capacity, P0 / GROWTH ** len(self.layers))
            layer.add_all(pending, index, count)
            self.layers.append(layer)

    @property
    def items(self) -> int:
        return sum(layer.items for layer in self.layers) + len(self._pending)

    @property
    def capacity(self) -> int:
        return sum(layer.capacity for layer in self.layers)

    def false_positive_rate(self) -> float:
        """Estimated chance that an unseen key is reported seen, from the bits actually set."""
        self._settle()
        miss = 1.0
        for layer in self.layers:
            miss *= 1.0 - layer.false_positive_rate()
        return 1.0 - miss

    def stats(self) -> Dict[str, object]:
        self._settle()
        return {
            "layers": len(self.layers),
            "capacity": self.capacity,
            "items": self.items,
            "bits": sum(layer.bits for layer in self.layers),
            "fill": [round(layer.fill(), 6) for layer in self.layers],
            "false_positive_rate": self.false_positive_rate(),
        }

    # -- bytes -------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The file's bytes (the bitmaps copied once, into them)."""
        return b"".join(self.parts())

    def parts(self) -> List[bytes]:
        """The file's bytes in pieces, the bitmaps themselves among them (not copied)."""
        self._settle()
        parts: List[bytes] = [_HEADER.pack(MAGIC, VERSION, len(self.layers))]
        for layer in self.layers:
            parts.append(_LAYER.pack(layer.capacity, layer.bits, layer.hashes, layer.items))
            parts.append(layer.bitmap)      # type: ignore[arg-type]
        checksum = hashlib.sha256()
        for part in parts:
            checksum.update(part)
        parts.append(checksum.digest())
        return parts

    @classmethod
    def from_bytes(cls, data: bytes) -> "BloomFilter":
        if len(data) < _HEADER.size + 32:
            raise BloomCorrupt("too short to be a Bloom file (truncated?)")
        body, checksum = data[:-32], data[-32:]
        magic, version, count = _HEADER.unpack_from(body, 0)
        if magic != MAGIC:
            raise BloomCorrupt("not a Bloom file (bad magic)")
        if version != VERSION:
            raise BloomCorrupt(f"unsupported Bloom file version {version}")
        if hashlib.sha256(body).digest() != checksum:
            raise BloomCorrupt("checksum mismatch (truncated or altered)")
        offset = _HEADER.size
        layers = []
        for _ in range(count):
            if offset + _LAYER.size > len(body):
                raise BloomCorrupt("layer header beyond the end of the file")
            capacity, bits, hashes, items = _LAYER.unpack_from(body, offset)
            offset += _LAYER.size
            size = bits // 8
            if bits % 8 or offset + size > len(body):
                raise BloomCorrupt("bad layer size")
            layer = _Layer(capacity, P0, bits, hashes, items, bytearray(body[offset:offset + size]))
            _check_layer(layer)
            layers.append(layer)
            offset += size
        if offset != len(body) or not layers:
            raise BloomCorrupt("unexpected length")
        bloom = cls(layers[-1].capacity)
        bloom.layers = layers
        return bloom


FORK_FROM = 20_000      # new keys worth a child (a fork costs milliseconds; 20,000 keys ~50 ms)
_LENGTH = struct.Struct("<Q")


class BytesAside:
    """The files' bytes of some filters (:meth:`BloomFilter.to_bytes`), made in a forked child
    while this process writes the commit's other files: setting 31 bits of each new key is the
    largest part of a commit, and the machine's other core is idle by then. Few keys, a fork
    that fails and a child that does not answer whole get their bytes made here: the same
    bytes. The child holds no descriptor but its pipe (not the writer lock: a rerun after a
    kill finds it free) and dies with this process."""

    def __init__(self, filters: Dict[str, BloomFilter]):
        self.filters = filters
        self.child: Optional[Tuple[int, int]] = None
        if sum(len(bloom._pending) for bloom in filters.values()) >= FORK_FROM:
            self.child = _fork_making(filters)

    def result(self) -> Mapping[str, Union[bytes, memoryview]]:
        """name -> the bytes of each filter (made here as each is looked up)."""
        answer = self._answer() if self.child is not None else None
        if answer is not None:
            return answer
        return _MadeHere(self.filters)

    def _answer(self) -> Optional[Dict[str, memoryview]]:
        """The child's bytes of every filter (None unless it made all and exited 0)."""
        assert self.child is not None
        pid, fd = self.child
        self.child = None
        ended = False
        try:
            data = bytearray()
            while True:
                block = os.read(fd, 1 << 20)
                if not block:
                    break
                data += block
            ended = True
        finally:
            os.close(fd)
            status = _reaped(pid, kill=not ended)   # stopped if this ends otherwise (a TERM)
        return _unframed(data, list(self.filters)) if status == 0 else None

    def close(self) -> None:
        """Stop a child whose answer is no longer wanted (the commit failed)."""
        if self.child is not None:
            pid, fd = self.child
            self.child = None
            os.close(fd)
            _reaped(pid, kill=True)


class _MadeHere(Mapping[str, bytes]):
    """Each filter's bytes, made when looked up and not kept: a commit staging one file after
    the other holds one file's bytes at a time, not every month's at once (an input of jobs
    ending in 670 months made sb-reduce's peak a third larger)."""

    def __init__(self, filters: Dict[str, BloomFilter]):
        self.filters = filters

    def __getitem__(self, name: str) -> bytes:
        return self.filters[name].to_bytes()

    def __iter__(self) -> Iterator[str]:
        return iter(self.filters)

    def __len__(self) -> int:
        return len(self.filters)


def _fork_making(filters: Dict[str, BloomFilter]) -> Optional[Tuple[int, int]]:
    """(pid, read descriptor) of a child writing each filter's length and bytes to a pipe; None
    when SIGCHLD is ignored (a disposition exec passes on: ``trap '' CHLD`` in a shell above
    sb-reduce): the kernel would reap the child, and its exit status could not be told."""
    if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
        return None
    set_death_signal = _death_signal_setter()
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:
        try:
            _leave_parent(write_fd, parent, set_death_signal)
        except BaseException:
            os._exit(1)
        _make_in_child(filters, write_fd)
    os.close(write_fd)
    return pid, read_fd


_PR_SET_PDEATHSIG = 1


def _death_signal_setter() -> Callable[[], object]:
    """A call of prctl(PR_SET_PDEATHSIG, SIGKILL), looked up before the fork (importing ctypes
    takes the child milliseconds it would spend holding its parent's descriptors, the writer
    lock among them); one that does nothing where there is no prctl."""
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return lambda: None
    return lambda: prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def _leave_parent(fd: int, parent: int, set_death_signal: Callable[[], object]) -> None:
    """The child's first steps: it keeps no descriptor but its pipe's end `fd` (not the writer
    lock: a rerun after a kill finds it free), dies of SIGINT and SIGTERM, and dies the moment
    `parent` does: a child setting a month's bits meets its broken pipe only seconds later (1
    to 3 s at 400,000 keys), holding the killed run's memory and a core its rerun wants."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    _close_all_but(fd)
    set_death_signal()
    if os.getppid() != parent:      # it died before the death signal was set
        os._exit(1)


def _make_in_child(filters: Dict[str, BloomFilter], fd: int) -> None:
    """The child's whole life once it left its parent: answer, then leave without running the
    parent's exit code."""
    code = 1
    try:
        # every filter's bits first: the parent reads the answer only once its own files are
        # written, so a filter made after the first write would be made while it waits
        made = [bloom.parts() for bloom in filters.values()]
        for parts in made:
            write_all(fd, _LENGTH.pack(sum(map(len, parts))))
            for part in parts:
                write_all(fd, part)
        code = 0
    finally:
        os._exit(code)


def _close_all_but(fd: int) -> None:
    """Close every descriptor but `fd`, up to the highest one open: where the kernel or libc has
    no close_range (RHEL 8), os.closerange is a close() a number, and the limit it went up to
    can be 2^30 (about a minute)."""
    try:
        highest = max(int(name) for name in os.listdir("/proc/self/fd"))
    except (OSError, ValueError):
        highest = os.sysconf("SC_OPEN_MAX")
    os.closerange(0, fd)
    os.closerange(fd + 1, max(fd, highest) + 1)


def _reaped(pid: int, kill: bool) -> int:
    """The child's exit status once it has ended (killed first when `kill`); -1 if killed, or
    if it was reaped without us (SIGCHLD ignored since the fork: its status is lost)."""
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return -1
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1


def _unframed(data: bytearray, names: List[str]) -> Optional[Dict[str, memoryview]]:
    """Each name's bytes from the child's length-prefixed answer, not copied (None unless it
    is whole)."""
    made: Dict[str, memoryview] = {}
    offset = 0
    for name in names:
        if offset + _LENGTH.size > len(data):
            return None
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        if offset + length > len(data):
            return None
        made[name] = memoryview(data)[offset:offset + length]
        offset += length
    return made if offset == len(data) else None
