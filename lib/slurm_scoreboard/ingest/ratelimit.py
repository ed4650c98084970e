"""A sliding-window limit on sacct calls, shared by every process that uses the same state file.

The state file holds the times of the calls made in the last window; it is read and rewritten
under an flock(2) on a sibling ``.lock`` file, so concurrent pollers (cron, daemon, a user at a
shell) see one another's calls.
"""
from __future__ import annotations

import os
import stat
import time
from typing import Callable, List

from ..core.files import atomic_write_json, folder, locked, read_json, remove_leftovers
from ..errors import RateLimited

WINDOW_SECONDS = 60.0


def _move_aside(path: str) -> None:
    """A folder planted where the state file belongs is renamed out of the way (a symlink is
    simply replaced by the write that follows), within its own folder's descriptor."""
    parent, name = os.path.split(path)
    with folder(parent or ".", create=True) as fd:
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            os.rename(name, f"{name}.not-a-file-{int(time.time())}", src_dir_fd=fd,
                      dst_dir_fd=fd)


class RateLimiter:
    def __init__(self, state_path: str, per_window: int, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        if per_window < 1:
            raise ValueError("the rate limit must allow at least one call")
        self.state_path = state_path
        self.lock_path = state_path + ".lock"
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self.sleep = sleep

    def try_acquire(self) -> None:
        """Record one call now, or raise RateLimited without recording anything."""
        with locked(self.lock_path):
            now = self.clock()
            calls = self._recent(now)
            if len(calls) >= self.per_window:
                raise RateLimited(max(0.0, calls[0] + self.window - now))
            calls.append(now)
            remove_leftovers(self.state_path)
            _move_aside(self.state_path)
            atomic_write_json(self.state_path, {"window_seconds": self.window, "calls": calls})

    def acquire(self, wait: bool = True, on_wait: Callable[[float], None] = lambda s: None) -> None:
        """Record one call, sleeping until the window allows it (or raising if not `wait`)."""
        while True:
            try:
                self.try_acquire()
                return
            except RateLimited as limited:
                if not wait:
                    raise
                on_wait(limited.wait)
                self.sleep(limited.wait + 0.05)

    def _recent(self, now: float) -> List[float]:
        """The calls of the last window. A damaged or foreign state file counts as no calls (it
        is rewritten, so repaired, by the call being recorded), and a call stamped in the future
        (a clock that jumped back) is not believed."""
        try:
            state = read_json(self.state_path, default={})
        except (ValueError, OSError):
            state = {}
        calls = state.get("calls") if type(state) is dict else None
        if type(calls) is not list:
            return []
        recent = sorted(t for t in calls
                        if type(t) in (int, float) and now - self.window < t <= now)
        return recent[-self.per_window:]
