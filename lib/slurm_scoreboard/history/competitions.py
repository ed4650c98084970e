"""Competitions: named windows ranked on what was gained inside them (Wise Old Man's "skill of
the week", over one skill or several).

``<root>/config/competitions.json``::

    {"competitions": [
       {"id": "gpu-august", "title": "GPU August", "skills": ["gpu_clock_hours"],
        "from": "2025-08-01", "to": "2025-08-31",
        "cluster": "hammer", "accounts": ["physics"], "users": ["alice", "bob"]}],
     "presets": ["skill-of-the-week"], "skill_of_the_week_skills": ["clock_hours", "jobs"]}

``cluster``, ``accounts`` and ``users`` are optional: without them every cluster, account and
user counts. With ``accounts`` only what was charged to those accounts counts (XP and levels
alike); with ``users`` only those users take part, and each is listed even with nothing gained.
Several skills rank on the XP gained, summed; "levels gained" sums each skill's levels at the end
minus at the start. The ``skill-of-the-week`` preset adds last, this and next ISO week (Monday to
Sunday, UTC) and the four weeks before (their winners), the skill rotating week by week through
``skill_of_the_week_skills`` (default: every skill; failed jobs are a board apart, not a skill).
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..boardfiles import METRIC_TITLES, shared_ranks
from ..core import xp
from ..core.files import read_config
from ..core.names import PLAIN
from ..errors import ConfigError
from ..store import metrics
from ..store.metrics import metric_value
from .history import SKILLS, Key, Observer, Row, Vector, monday_of, skill_xp, sunday_of, week_label

PRESETS = ("skill-of-the-week",)
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_TITLE = 200
MAX_COMPETITIONS = 200         # each is fed every day row of the history pass
MAX_NAMES = 2000               # users or accounts one competition may list
MAX_CONFIG = 1 << 20           # bytes of competitions.json
STATUSES = ("ongoing", "upcoming", "finished")
RETIRED = xp.RETIRED_RATES     # skills of configs before 0.3 that are boards apart now


class Competition:
    """One competition's definition and, once the pass is over, its standings."""

    def __init__(self, ident: str, title: str, skills: Sequence[str], first: str, last: str,
                 cluster: Optional[str] = None, accounts: Optional[Sequence[str]] = None,
                 users: Optional[Sequence[str]] = None):
        self.ident, self.title, self.skills = ident, title, list(skills)
        self.first, self.last, self.cluster = first, last, cluster
        self.accounts = set(accounts) if accounts is not None else None
        self.users = set(users) if users is not None else None
        self.before: Dict[str, Vector] = {}
        self.during: Dict[str, Vector] = {}

    def takes(self, cluster: str, user: str, account: str) -> bool:
        return ((self.cluster is None or cluster == self.cluster)
                and (self.accounts is None or account in self.accounts)
                and (self.users is None or user in self.users))

    def add(self, day: str, cluster: str, user: str, account: str, vector) -> None:
        if day > self.last or not self.takes(cluster, user, account):
            return
        into = self.before if day < self.first else self.during
        total = into.get(user)
        if total is None:
            into[user] = list(vector)
        else:
            metrics.add_into(total, vector)

    def status(self, today: str) -> str:
        if today < self.first:
            return "upcoming"
        return "finished" if today > self.last else "ongoing"

    def standings(self, rates: Dict[str, float]) -> List[dict]:
        """Rows ranked by XP gained (ties share a rank, then by name)."""
        names = set(self.users) if self.users is not None else set(self.during)
        entries = [self._entry(name, rates) for name in names]
        if self.users is None:
            entries = [entry for entry in entries if entry["xp_gained"] > 0]
        entries.sort(key=lambda e: (-e["xp_gained"], e["user"]))
        ranks = shared_ranks([entry["xp_gained"] for entry in entries])
        return [dict(rank=rank, **entry) for rank, entry in zip(ranks, entries)]

    def _entry(self, name: str, rates: Dict[str, float]) -> dict:
        start = self.before.get(name) or metrics.zero()
        gained = self.during.get(name) or metrics.zero()
        end = [a + b for a, b in zip(start, gained)]
        skills, total_xp, total_levels = {}, 0, 0
        for skill in self.skills:
            start_xp, end_xp = skill_xp(start, skill, rates), skill_xp(end, skill, rates)
            levels = xp.level(end_xp) - xp.level(start_xp)
            skills[skill] = {"gained": metric_value(gained, skill), "xp": end_xp - start_xp,
                             "start_level": xp.level(start_xp), "end_level": xp.level(end_xp)}
            total_xp += end_xp - start_xp
            total_levels += levels
        return {"user": name, "xp_gained": total_xp, "levels_gained": total_levels,
                "skills": skills}

    def summary(self, today: str) -> dict:
        summary = {"id": self.ident, "title": self.title, "skills": self.skills,
                   "from": self.first, "to": self.last, "status": self.status(today),
                   "cluster": self.cluster or "all"}
        if self.accounts is not None:
            summary["accounts"] = sorted(self.accounts)
        if self.users is not None:
            summary["users"] = sorted(self.users)
        return summary

    def document(self, rates: Dict[str, float], today: str, asof: str) -> dict:
        return dict(self.summary(today), asof=asof, rows=self.standings(rates))


class Competitions(Observer):
    """Feeds every competition the rows of the days up to its end."""

    def __init__(self, competitions: Sequence[Competition]):
        self.competitions = list(competitions)

    def day(self, day: str, rows: Sequence[Row], gains: Dict[Key, Vector],
            totals: Dict[Key, Vector]) -> None:
        for competition in self.competitions:
            if day <= competition.last:
                for cluster, user, account, vector in rows:
                    competition.add(day, cluster, user, account, vector)


# -- configuration -----------------------------------------------------------------------------

ROTATION = SKILLS
PAST_WEEKS = 4


def skill_of_the_week(monday: str, rotation: Sequence[str] = ROTATION) -> Competition:
    skill = rotation[(date.fromisoformat(monday).toordinal() // 7) % len(rotation)]
    label = week_label(monday)
    return Competition(f"sotw-{label}", f"Skill of the week {label}: {METRIC_TITLES[skill]}",
                       [skill], monday, sunday_of(monday))


def preset_weeks(today: str, rotation: Sequence[str] = ROTATION) -> List[Competition]:
    """The skill of the week of this week, the next and the four before."""
    monday = date.fromisoformat(monday_of(today))
    return [skill_of_the_week((monday + timedelta(days=7 * step)).isoformat(), rotation)
            for step in range(-PAST_WEEKS, 2)]


def is_day(value) -> bool:
    """A calendar day written YYYY-MM-DD."""
    if type(value) is not str or not DAY.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _day(value, where: str) -> str:
    if not is_day(value):
        raise ConfigError(f"{where}: expected a calendar day YYYY-MM-DD")
    return value


def _names(value, where: str) -> Optional[List[str]]:
    if value is None:
        return None
    if type(value) is not list or not value or len(value) > MAX_NAMES or not all(
            type(name) is str and PLAIN.fullmatch(name) for name in value):
        raise ConfigError(f"{where}: expected a list of 1 to {MAX_NAMES} plain names")
    return value


Warn = Callable[[str], None]


def without_retired(skills, where: str, warn: Warn):
    """A config's list of skills without those that are no longer skills (failed_jobs, a board
    apart since 0.3), each named once to `warn`: a config written before still works."""
    if type(skills) is not list:
        return skills
    retired = [skill for skill in skills if skill in RETIRED]
    for skill in retired:
        warn(f"{where}: {skill} is no longer a skill (a board apart, with no XP); left out")
    return [skill for skill in skills if skill not in RETIRED]


def _competition(entry, where: str, warn: Warn) -> Optional[Competition]:
    if type(entry) is not dict:
        raise ConfigError(f"{where}: expected an object")
    known = {"id", "title", "skills", "from", "to", "cluster", "accounts", "users"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")
    ident = entry.get("id")
    if type(ident) is not str or not PLAIN.fullmatch(ident) or ident.startswith("sotw-"):
        raise ConfigError(f"{where}.id: expected a plain name (letters, digits, _ . @ -), "
                          "not starting with sotw-")
    title = entry.get("title", ident)
    if type(title) is not str or not title.isprintable() or len(title) > MAX_TITLE:
        raise ConfigError(f"{where}.title: expected printable text of at most {MAX_TITLE} "
                          "characters")
    listed = entry.get("skills")
    skills = without_retired(listed, f"{where}.skills", warn)
    if listed and skills == []:
        warn(f"{where}: no skill left; competition {ident} is skipped")
        return None
    if type(skills) is not list or not skills or not all(s in SKILLS for s in skills) or \
            len(set(skills)) != len(skills):
        raise ConfigError(f"{where}.skills: expected a list of distinct skills from "
                          f"{', '.join(SKILLS)}")
    first, last = _day(entry.get("from"), f"{where}.from"), _day(entry.get("to"), f"{where}.to")
    if last < first:
        raise ConfigError(f"{where}: 'to' ({last}) is before 'from' ({first})")
    cluster = entry.get("cluster")
    if cluster is not None and (type(cluster) is not str or not PLAIN.fullmatch(cluster)):
        raise ConfigError(f"{where}.cluster: expected a cluster name")
    return Competition(ident, title, skills, first, last, cluster,
                       _names(entry.get("accounts"), f"{where}.accounts"),
                       _names(entry.get("users"), f"{where}.users"))


def _lists_of(config: dict, path: str) -> Tuple[list, list]:
    """The config's competitions and presets, checked."""
    entries = config.get("competitions", [])
    presets = config.get("presets", [])
    if type(entries) is not list or len(entries) > MAX_COMPETITIONS:
        raise ConfigError(f"{path}: competitions must be a list of at most {MAX_COMPETITIONS}")
    if type(presets) is not list or not all(p in PRESETS for p in presets):
        raise ConfigError(f"{path}: presets must be a list of {', '.join(PRESETS)}")
    return entries, presets


def load(path: str, today: str, warn: Warn = lambda message: None) -> List[Competition]:
    """The competitions of the config file (none when it does not exist), presets included;
    what a config written before 0.3 names that is no longer a skill is left out and told to
    `warn` (a competition left with no skill is skipped)."""
    config = read_config(path, None, MAX_CONFIG)
    if config is None:
        return []
    if type(config) is not dict or \
            not set(config) <= {"competitions", "presets", "skill_of_the_week_skills"}:
        raise ConfigError(f"{path}: expected {{\"competitions\": [...], \"presets\": [...], "
                          "\"skill_of_the_week_skills\": [...]}")
    entries, presets = _lists_of(config, path)
    found = [contest for i, entry in enumerate(entries)
             for contest in [_competition(entry, f"{path}: competitions[{i}]", warn)] if contest]
    idents = [competition.ident for competition in found]
    if len(set(idents)) != len(idents):
        raise ConfigError(f"{path}: two competitions share the id "
                          f"{next(i for i in idents if idents.count(i) > 1)}")
    rotation = without_retired(config.get("skill_of_the_week_skills", list(ROTATION)),
                               f"{path}: skill_of_the_week_skills", warn)
    if type(rotation) not in (list, tuple) or not rotation or \
            not all(skill in SKILLS for skill in rotation) or len(set(rotation)) != len(rotation):
        raise ConfigError(f"{path}: skill_of_the_week_skills must be a list of distinct skills "
                          f"from {', '.join(SKILLS)}")
    if "skill-of-the-week" in presets:
        found += preset_weeks(today, rotation)
    return found


def unknown_names(contest: Competition, clusters: Sequence[str], totals) -> List[str]:
    """What a competition names that the store has never seen: a typo, usually (the
    competition still runs, empty of them)."""
    found = []
    if contest.cluster is not None and contest.cluster not in clusters:
        found.append(f"competition {contest.ident}: no cluster {contest.cluster} in the store")
    for kind, names in (("users", contest.users), ("groups", contest.accounts)):
        missing = sorted(name for name in names or () if ("all", kind, name) not in totals)
        if missing:
            what = "user" if kind == "users" else "account"
            found.append(f"competition {contest.ident}: no {what} {', '.join(missing)} in the "
                         "store")
    return found


def ordered(competitions: Sequence[Competition], today: str) -> List[Competition]:
    """Ongoing first, then upcoming (soonest first), then finished (latest first)."""
    def key(competition: Competition):
        status = competition.status(today)
        if status == "finished":
            return (2, _negated(competition.last), competition.ident)
        return (STATUSES.index(status), competition.first, competition.ident)
    return sorted(competitions, key=key)


def _negated(day: str) -> int:
    return -date.fromisoformat(day).toordinal()
