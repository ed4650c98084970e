"""Opt-out: a user listed in ``<root>/config/optout.txt`` (one name a line, ``#`` comments), or
whose home holds ``~/.slurm_scoreboard_optout``, is never stored or shown, and what was stored
of them before is erased at the next poll (see reducer.py).

Homes are automounted at many sites and a home server can hang, so only a poller looks at the
markers (``OptOut(..., check_homes=True)`` in sb-reduce): at most once a day per user and
cluster, each look in a child process with a timeout (a look that hangs ends the looking for
that run, nothing more). The answers are cached in ``<root>/state/optout_cache.json``, the one
file besides optout.txt that may name opted-out users::

    {"version": 1, "checked": {"alice": {"hammer": [1764144000, true]}}}

Readers (sb-view, sb-rank, sb-export, sb-news: see boardfiles.py) use the list and the cache
only and never touch a home, so a marker takes effect once a poller looked (within a day),
a line of the list at the next read. A user counts as opted out when listed, or when any
cluster's poller saw their marker. A list or cache that exists but cannot be read stops every
tool that would use it (:class:`OptOutUnreadable`): nothing is shown or stored as if no one had
opted out.
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from typing import IO, Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple, cast

import orjson

from ..errors import OptOutUnreadable, UnsafePath
from . import layout, times
from .files import atomic_write_json, locked, read_bytes, read_json_text, remove_leftovers
from .layout import optout_file
from .names import check_name

HOME_MARKER = ".slurm_scoreboard_optout"
MAX_AGE = 86400            # a cached answer is good for a day
LOOK_TIMEOUT = 2.0         # seconds one look at a home may take
REFRESH_BUDGET = 15.0      # seconds a run spends re-checking the homes of stored users

# The child that looks: one username a line in; "1" (marker), "0" (none, or no such user) or
# "?" (the home cannot be read by the poller, so a marker there cannot be seen) out.
_LOOKER = f"""
import os, pwd, sys
for line in sys.stdin:
    try:
        home = pwd.getpwnam(line.strip()).pw_dir
    except (KeyError, UnicodeEncodeError):
        print("0", flush=True)
        continue
    try:
        os.lstat(os.path.join(home, {HOME_MARKER!r}))
        print("1", flush=True)
    except FileNotFoundError:
        print("0", flush=True)
    except OSError:
        print("?", flush=True)
"""


LIST_LIMIT = 1 << 24       # bytes of optout.txt
# The pollers' cache holds one answer per user and cluster: the largest site (100,000 users) on
# 8 clusters gives 800,000, each 4 values ({cluster: [time, bool]} and its place) and at most
# about 100 bytes (a 64-character cluster name, a time, a bool; a 64-character user name once
# per user): 3.2 million values in 82 MB. A cache over these is refused before it is parsed
# (one of tiny entries would cost a reader memory by the value: 790 MB for 32 MiB).
CACHE_ANSWERS = 800_000
CACHE_VALUES = 4 * CACHE_ANSWERS
CACHE_LIMIT = 96 << 20     # bytes of optout_cache.json


def _why(err: Exception) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    if isinstance(err, UnsafePath):
        return "a symlink, or not a regular file"
    return str(err)


def read_list(path: str) -> Set[str]:
    try:
        text = read_bytes(path, LIST_LIMIT).decode("utf-8-sig", "replace")
    except FileNotFoundError:
        return set()
    except (OSError, UnsafePath, ValueError) as err:
        raise OptOutUnreadable(f"{path} cannot be read ({_why(err)}); refusing to go on without "
                               "the opt-out list: make it a text file everyone using the root "
                               "may read (sb-probe --root ROOT checks it)") from None
    return {line.split("#", 1)[0].strip(_BLANK) for line in text.splitlines()} - {""}


# What editors put around a name: spaces, a BOM (Windows Notepad), zero-width spaces.
_BLANK = " \t\r\n\v\f\ufeff\u200b\u200c\u200d\u2060\u00a0"


def cache_file(root: str) -> str:
    return layout.path(root, "optout_cache")


def _checked(data) -> Dict[str, Dict[str, list]]:
    """The cache's entries that have the right shape (anything else is dropped)."""
    checked = data.get("checked") if type(data) is dict else None
    result: Dict[str, Dict[str, list]] = {}
    for user, clusters in (checked.items() if type(checked) is dict else ()):
        if type(clusters) is not dict:
            continue
        good = {cluster: entry for cluster, entry in clusters.items()
                if type(entry) is list and len(entry) == 2 and type(entry[0]) in (int, float)
                and type(entry[1]) is bool}
        if good:
            result[user] = good
    return result


def load_cache(root: str) -> Dict[str, Dict[str, list]]:
    """The home markers the pollers saw ({} before any poller looked); OptOutUnreadable when the
    file cannot be read or is not a cache, since the users it names would then show."""
    path = cache_file(root)
    try:
        data = orjson.loads(read_json_text(path, CACHE_LIMIT, CACHE_VALUES))
    except FileNotFoundError:
        return {}
    except (OSError, UnsafePath) as err:
        raise OptOutUnreadable(f"{path} cannot be read ({_why(err)}); refusing to go on without "
                               "the home markers the pollers saw: give it the mode of the "
                               "root's other files (sb-probe --root ROOT checks it)") from None
    except ValueError:
        data = None                 # not JSON
    if type(data) is not dict or type(data.get("checked", {})) is not dict:
        raise OptOutUnreadable(f"{path}: not the pollers' opt-out cache; refusing to go on "
                               "without the home markers it held: remove it, and the pollers "
                               "look at every home again (users who opted out by a home marker "
                               "show until then)")
    return _checked(data)


def opted_out(root: str) -> Set[str]:
    """Everyone a reader leaves out: the listed users, and those whose marker any cluster's
    poller saw (OptOutUnreadable when the list or the cache cannot be read)."""
    return read_list(optout_file(root)) | marked(load_cache(root))


def marked(checked: Dict[str, Dict[str, list]]) -> Set[str]:
    """The users whose marker a poller saw, by its cached answers (:func:`load_cache`)."""
    return {user for user, answers in checked.items()
            if any(answer[1] for answer in answers.values())}


class HomeLooker:
    """Looks for the marker in users' homes through one child process, with a timeout."""

    # names written at a time: at most a page, what the smallest pipe holds (the kernel gives a
    # user past pipe-user-pages-soft pipes of one page), so a write never waits on a child that
    # hangs; the child has read every name before (it answered them)
    BATCH_BYTES = 4096

    def __init__(self, timeout: float = LOOK_TIMEOUT, command: Optional[List[str]] = None,
                 env: Optional[Dict[str, str]] = None):
        self.timeout = timeout
        self.command = command or [sys.executable, "-c", _LOOKER]
        self.env = env
        self.child: Optional[subprocess.Popen[str]] = None
        self.broken = False
        self.unreadable: List[str] = []
        self._read = b""        # answers read from the child and not yet taken

    def look(self, user: str) -> Optional[bool]:
        """True or False, or None when the look could not be made (hung or failed); a home
        the poller may not read answers False and is remembered in `unreadable`."""
        return self.look_many([user])[0]

    def look_many(self, users: List[str], deadline: Optional[float] = None
                  ) -> List[Optional[bool]]:
        """:meth:`look` of each user, the names written to the child a batch at a time (one
        wait for a batch's answers, not one for each name); no answer is waited for past
        `deadline` (a time.monotonic()), where the looking ends."""
        answers: List[Optional[bool]] = []
        for batch in _batches(users, self.BATCH_BYTES):
            answers += self._look_batch(batch, deadline)
        return answers

    def _look_batch(self, users: List[str], deadline: Optional[float]) -> List[Optional[bool]]:
        lines = self._ask(users, deadline) if not self.broken else []
        answers: List[Optional[bool]] = []
        for user, line in zip(users, lines):
            if line == b"?":
                self.unreadable.append(user)
            answers.append(line == b"1")
        if len(lines) < len(users):
            self.give_up()
        return answers + [None] * (len(users) - len(lines))

    def _ask(self, users: List[str], deadline: Optional[float]) -> List[bytes]:
        """The child's answers to `users`, as many as came, each in time (a hung home, or a
        child that died or said anything but 0, 1 or ?, ends them)."""
        try:
            if self.child is None:
                self.child = subprocess.Popen(self.command, text=True, env=self.env,
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL)
            to_child, from_child = _pipes(self.child)
            to_child.write("".join(user + "\n" for user in users))
            to_child.flush()
            return self._answers(from_child.fileno(), len(users), deadline)
        except OSError:
            return []

    def _answers(self, fd: int, wanted: int, deadline: Optional[float]) -> List[bytes]:
        lines: List[bytes] = []
        while len(lines) < wanted:
            if b"\n" not in self._read:
                wait = self.timeout if deadline is None else \
                    min(self.timeout, deadline - time.monotonic())
                ready, _, _ = select.select([fd], [], [], wait) if wait > 0 else ([], [], [])
                chunk = os.read(fd, 1 << 16) if ready else b""
                if not chunk:
                    break
                self._read += chunk
                continue
            line, self._read = self._read.split(b"\n", 1)
            answer = line.strip()
            if answer not in (b"0", b"1", b"?"):
                break
            lines.append(answer)
        return lines

    def give_up(self) -> None:
        self.broken = True
        if self.child is not None:
            self.child.kill()
            self.child = None

    def close(self) -> None:
        if self.child is not None and not self.broken:
            _pipes(self.child)[0].close()
            self.child.wait()
            self.child = None


def _batches(users: List[str], most: int) -> Iterator[List[str]]:
    """`users` cut into runs of at most `most` bytes a line each (a longer name alone)."""
    batch: List[str] = []
    size = 0
    for user in users:
        length = len(user.encode("utf-8", "surrogateescape")) + 1
        if batch and size + length > most:
            yield batch
            batch, size = [], 0
        batch.append(user)
        size += length
    if batch:
        yield batch


def _pipes(child: subprocess.Popen[str]) -> Tuple[IO[str], IO[str]]:
    """The looking child's stdin and stdout."""
    assert child.stdin is not None and child.stdout is not None    # HomeLooker makes both pipes
    return child.stdin, child.stdout


class OptOut:
    """Answers "has this user opted out?". With `check_homes` (a poller of `cluster`), a user
    whose cached answer for this cluster is missing or a day old has their home looked at.
    One run (one instance) asks once per user and keeps the answer."""

    def __init__(self, root: str, cluster: Optional[str] = None, check_homes: bool = False,
                 clock: Optional[Callable[[], float]] = None,
                 looker: Optional[HomeLooker] = None):
        self.root = root
        self.listed = read_list(optout_file(root))
        self.checked = load_cache(root)
        self.cluster = cluster
        self.polled = cluster if check_homes else None      # the cluster whose homes it looks at
        self.clock = clock or (lambda: times.now().timestamp())
        self.looker = looker or HomeLooker()
        self.changed = False
        self.answers: Dict[str, bool] = {}       # this run's answers, asked once per user

    def __contains__(self, user: str) -> bool:
        answer = self.answers.get(user)
        if answer is None:
            answer = self.answers[user] = self._answer(user)
        return answer

    def _answer(self, user: str) -> bool:
        if user in self.listed:
            return True
        if self.polled is not None and self._stale(user, self.polled):
            self._look(user, self.polled)
        return any(entry[1] for entry in self.checked.get(user, {}).values())

    def _stale(self, user: str, cluster: str) -> bool:
        entry = self.checked.get(user, {}).get(cluster)
        return entry is None or not 0 <= self.clock() - entry[0] < MAX_AGE

    def _look(self, user: str, cluster: str) -> None:
        self._keep(user, cluster, self.looker.look(user))

    def _keep(self, user: str, cluster: str, answer: Optional[bool]) -> None:
        """Cache a look's answer (None: the look failed, nothing is kept)."""
        self.answers.pop(user, None)
        if answer is not None:
            self.checked.setdefault(user, {})[cluster] = [int(self.clock()), answer]
            self.changed = True

    def _look_all(self, users: List[str], cluster: str,
                  deadline: Optional[float] = None) -> None:
        for user, answer in zip(users, self.looker.look_many(users, deadline)):
            self._keep(user, cluster, answer)

    def _stale_among(self, users: Iterable[str]) -> List[str]:
        """The users (each once, in order) whose homes a poller would look at now."""
        polled = self.polled
        if polled is None:
            return []
        return [user for user in dict.fromkeys(users)
                if user not in self.listed and self._stale(user, polled)]

    def prefetch(self, users: Iterable[str]) -> None:
        """Look at once at the homes of those of `users` (plain names) this run will ask
        about and has no fresh answer for: one wait for them all, not one for each."""
        if self.polled is None or self.looker.broken:
            return
        wanted = self._stale_among(user for user in users
                                   if user not in self.answers and _plain(user))
        if wanted:
            self._look_all(wanted, self.polled)

    def refresh(self, users: Iterable[str], budget: float = REFRESH_BUDGET) -> None:
        """Look again at the homes of `users` whose answers are stale, within `budget` seconds
        (no answer is waited for past them: the looking ends there, for this run)."""
        stale = self._stale_among(users)
        if stale and budget > 0 and not self.looker.broken:
            self._look_all(stale, cast(str, self.polled), time.monotonic() + budget)

    def unreadable_homes(self) -> List[str]:
        """Users whose home this run could not look into (their marker cannot be seen)."""
        return sorted(set(getattr(self.looker, "unreadable", [])))

    def everyone(self) -> Set[str]:
        """Every user this instance leaves out as it stands: those listed, and those whose
        marker a poller saw."""
        return set(self.listed) | marked(self.checked)

    def among(self, users: Iterable[str]) -> List[str]:
        """The users of `users` who opted out by the list or by an answer at hand, sorted: no
        home is looked at (:meth:`refresh` does that, within its budget)."""
        return sorted(set(users) & self.everyone())

    def save(self) -> None:
        """Write this run's answers into the cache, merged with what other pollers wrote."""
        self.looker.close()
        if not self.changed:
            return
        path = cache_file(self.root)
        with locked(path + ".lock"):
            remove_leftovers(path)
            merged = load_cache(self.root)
            for user, clusters in self.checked.items():
                if self.cluster in clusters and _plain(user):
                    merged.setdefault(user, {})[self.cluster] = clusters[self.cluster]
            atomic_write_json(path, {"version": 1, "checked": merged})
        self.changed = False


def _plain(user: str) -> bool:
    try:
        check_name("user", user)
        return True
    except ValueError:
        return False
