"""Bounded caches for parsers of values that repeat (ReqMem, AllocTRES, states, the hours of
time stamps): ``memo[text]`` is ``function(text)``, worked out the first time and then looked
up at the speed of a dict. Memory stays bounded: at most `size` answers (the cache is emptied
when full), and a text longer than `longest` (no value that repeats is) is worked out each
time, never kept. Exceptions are not kept: a bad value raises each time it is read."""
from __future__ import annotations

from typing import Callable, Dict, Generic, Hashable, Optional, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")

SIZE = 4096
LONGEST = 256


class Memo(Dict[Key, Value], Generic[Key, Value]):
    """`function`'s answers by argument (a text, or with `longest` None any hashable key)."""

    def __init__(self, function: Callable[[Key], Value], size: int = SIZE,
                 longest: Optional[int] = LONGEST) -> None:
        super().__init__()
        self.function = function
        self.size = size
        self.longest = longest

    def __missing__(self, key: Key) -> Value:
        value = self.function(key)
        if self.longest is None or len(key) <= self.longest:    # type: ignore[arg-type]
            if len(self) >= self.size:
                self.clear()
            self[key] = value
        return value
