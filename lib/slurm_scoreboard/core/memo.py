"""Bounded caches for parsers of values that repeat (ReqMem, AllocTRES, states, the hours of
time stamps): a function of one text keeps its answers for the last texts it was given, so a
value read a million times is parsed once. Memory stays bounded: at most `size` answers, and a
text longer than `longest` (no value that repeats is) is parsed each time, never kept.
Exceptions are not kept: a bad value raises each time it is read."""
from __future__ import annotations

from functools import lru_cache, wraps
from typing import Callable, TypeVar

Result = TypeVar("Result")

SIZE = 4096
LONGEST = 256


def memoised(size: int = SIZE, longest: int = LONGEST
             ) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """A decorator for a pure function of a text (and hashable further arguments); the plain
    function stays reachable as ``.uncached`` (the property tests compare the two)."""
    def wrap(function: Callable[..., Result]) -> Callable[..., Result]:
        remembered = lru_cache(maxsize=size)(function)

        @wraps(function)
        def call(text: str, *rest) -> Result:
            if len(text) <= longest:
                return remembered(text, *rest)
            return function(text, *rest)
        call.uncached = function            # type: ignore[attr-defined]
        call.cache_clear = remembered.cache_clear   # type: ignore[attr-defined]
        return call
    return wrap
