"""The history pass resumed from its checkpoint writes, byte for byte, what a pass from the
first day writes (hypothesis), over random runs of polls: jobs arriving on any recent day and
late ones in months before the checkpoint's, users opting out and in again, the competitions
changed, and time moving on across days, weeks and months. After each poll the pass runs on the
root that keeps its checkpoint and, from the first day, on a copy of its store that has none.

The checkpoint is used when nothing before its month changed, and never when something did;
one that does not validate (damaged, planted, of other inputs) is ignored and the pass starts
from the first day: its files are still exact.
"""
import hashlib
import os
import re
import shutil
from datetime import date, timedelta

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slurm_scoreboard.core import layout, xp
from slurm_scoreboard.core.optout import OptOut
from slurm_scoreboard.errors import UnsafePath
from slurm_scoreboard.history import checkpoint, chronicle, competitions, history

RATES = dict(xp.DEFAULT_RATES, **xp.MEASURED_RATES)
FIRST_NOW = date(2024, 3, 10)
CLUSTERS = ("hammer", "anvil")
USERS = ("ann", "bo", "cy", "dee")

wide = st.lists(st.integers(0, 400 * 3600), min_size=2, max_size=2).map(
    lambda pair: [pair[0] * 4, pair[1], 0, 0, 0, 1])
round_hours = st.sampled_from([0, 3600, 7200, 36000])
coarse = st.tuples(round_hours, round_hours, st.sampled_from([0, 3600]), st.integers(0, 1),
                   st.integers(0, 2)).map(lambda t: [t[0], t[1], t[2], t[2], t[3], t[4]])
# (cluster, user, account, days from now: up to ten weeks back, a day or two ahead, vector)
job_rows = st.lists(st.tuples(st.sampled_from(CLUSTERS), st.sampled_from(USERS),
                              st.sampled_from(["p", "q", ""]), st.integers(-70, 2),
                              st.one_of(coarse, wide)), min_size=1, max_size=5)
contest = st.tuples(st.integers(-60, 40), st.integers(0, 30),
                    st.sampled_from([None, "hammer"]), st.sampled_from([None, ["p"]]),
                    st.sampled_from([None, ["ann", "cy"]]))
configs = st.tuples(st.lists(contest, max_size=2), st.booleans())
steps = st.lists(st.one_of(st.tuples(st.just("jobs"), job_rows),
                           st.tuples(st.just("time"), st.integers(0, 40)),
                           st.tuples(st.just("optout"), st.sampled_from(USERS)),
                           st.tuples(st.just("config"), configs)), min_size=1, max_size=7)


def no_damage(path, message):
    raise AssertionError(f"{path}: {message}")


class Site:
    """A root whose store is written here (the day rows sb-reduce would write), with the
    opt-out list and the competitions."""

    def __init__(self, root):
        self.root = str(root)
        self.now = FIRST_NOW
        self.rows = {}                  # (cluster, month) -> (user, day, account) -> vector
        self.optout = set()
        self.config = None
        self.changed = set()            # months whose rollups changed since the last pass

    def add(self, cluster, user, account, offset, vector):
        day = (self.now + timedelta(days=offset)).isoformat()
        cells = self.rows.setdefault((cluster, day[:7]), {})
        total = cells.setdefault((user, day, account), [0] * len(vector))
        cells[(user, day, account)] = [a + b for a, b in zip(total, vector)]
        self._write_rollup(cluster, day[:7])

    def _write_rollup(self, cluster, month):
        folder = os.path.join(self.root, "clusters", cluster, "agg", "rollups", "monthly")
        os.makedirs(folder, exist_ok=True)
        days = [[user, day, account] + vector
                for (user, day, account), vector in sorted(self.rows[(cluster, month)].items())]
        path, data = os.path.join(folder, month + ".json"), orjson.dumps({"days": days})
        if os.path.exists(path):
            with open(path, "rb") as handle:
                if handle.read() == data:       # a job of nothing: the same bytes, no change
                    return
        with open(path, "wb") as handle:
            handle.write(data)
        self.changed.add(month)

    def toggle_optout(self, user):
        self.optout ^= {user}
        write(self.root, "config/optout.txt", "".join(f"{u}\n" for u in sorted(self.optout)))

    def set_config(self, config):
        entries, presets = config
        listed = []
        for number, (start, length, cluster, accounts, users) in enumerate(entries):
            first = self.now + timedelta(days=start)
            entry = {"id": f"c{number}", "skills": ["clock_hours", "jobs"],
                     "from": first.isoformat(),
                     "to": (first + timedelta(days=length)).isoformat()}
            for name, value in (("cluster", cluster), ("accounts", accounts), ("users", users)):
                if value is not None:
                    entry[name] = value
            listed.append(entry)
        self.config = {"competitions": listed, "presets": ["skill-of-the-week"] if presets else []}
        write(self.root, "config/competitions.json", orjson.dumps(self.config).decode())

    def today(self):
        return self.now.isoformat()

    def copy_store(self, target):
        """A root with this store and config, and nothing the pass wrote."""
        os.makedirs(target)
        for part in ("clusters", "config"):
            if os.path.isdir(os.path.join(self.root, part)):
                shutil.copytree(os.path.join(self.root, part), os.path.join(target, part))
        return target


def write(root, relative, text):
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def history_pass(root, today):
    """The pass as sb-rank's rebuild runs it, on the clusters there are."""
    contests = competitions.load(layout.competitions_config(root), today)
    return chronicle.run(root, layout.clusters(root), RATES, OptOut(root), contests,
                         today + "T12:00:00Z", 5.0, no_damage)


def written(root):
    """relative path -> bytes of every file the pass wrote but the checkpoint (a progress
    file's asof, the time its lines last changed, left out)."""
    top = layout.leaderboards(root)
    found = {}
    for folder, _, names in os.walk(top):
        for name in names:
            path = os.path.join(folder, name)
            if path != checkpoint.path(root):
                with open(path, "rb") as handle:
                    data = handle.read()
                if folder == layout.path(root, "progress_dir"):
                    data = ASOF.sub(b'{"asof":"-"', data, count=1)
                found[os.path.relpath(path, top)] = data
    return found


ASOF = re.compile(rb'^\{"asof":"[^"]*"')


def checkpoint_lines(root):
    with open(checkpoint.path(root), "rb") as handle:
        head, state = handle.read().split(b"\n")[:2]
    return orjson.loads(head), state


def assert_as_from_the_first_day(site, scratch, rewritten_now):
    """The files of the site's pass are those of a pass from the first day; its checkpoint's
    state is the one that pass keeps (when it was `rewritten_now`; else it may lack a
    competition added since that starts after its month)."""
    reference = site.copy_store(os.path.join(scratch, f"reference-{len(os.listdir(scratch))}"))
    outcome = history_pass(reference, site.today())
    assert outcome.resumed is None and outcome.refused == "no checkpoint"
    assert written(site.root) == written(reference)
    (head, line), (_, from_first) = checkpoint_lines(site.root), checkpoint_lines(reference)
    assert head["month"] == checkpoint.target_month(site.today())
    if rewritten_now:
        assert line == from_first
    else:       # kept by an earlier pass, whose competitions (the preset weeks) were not all
        state, wanted = orjson.loads(line), orjson.loads(from_first)    # this pass's
        assert {k: v for k, v in state.items() if k != "competitions"} == \
            {k: v for k, v in wanted.items() if k != "competitions"}
        sums = {repr(contest[:6]): contest[6:] for contest in wanted["competitions"]}
        assert all(sums.get(repr(contest[:6]), contest[6:]) == contest[6:]
                   for contest in state["competitions"])
    shutil.rmtree(reference)


@settings(max_examples=60, deadline=None)
@given(steps)
@example([("time", 0), ("jobs", [("hammer", "ann", "p", -40, [0, 0, 0, 0, 0, 0])])])  # same bytes
def test_a_pass_from_the_checkpoint_writes_what_a_pass_from_the_first_day_writes(
        tmp_path_factory, run):
    scratch = str(tmp_path_factory.mktemp("checkpoint"))
    site = Site(os.path.join(scratch, "root"))
    site.add("hammer", "ann", "p", -40, [7200, 7200, 0, 0, 0, 1])
    kept = None                          # the month of the checkpoint the last pass left
    for kind, value in run:
        optout, config = set(site.optout), site.config
        if kind == "jobs":
            for row in value:
                site.add(*row)
        elif kind == "time":
            site.now += timedelta(days=value)
        elif kind == "optout":
            site.toggle_optout(value)
        else:
            site.set_config(value)
        outcome = history_pass(site.root, site.today())
        target = checkpoint.target_month(site.today())
        late = kept is not None and any(month < kept for month in site.changed)
        if late or site.optout != optout:
            assert outcome.resumed is None, (kind, outcome)          # never from stale state
        elif kept is not None and config == site.config:
            assert outcome.resumed == kept, (kind, outcome)          # used when it holds
        assert outcome.kept == (None if outcome.resumed == target else target)
        assert_as_from_the_first_day(site, scratch, outcome.kept is not None)
        kept, site.changed = target, set()


# -- what a resumed pass reads ---------------------------------------------------------------

def grown_site(tmp_path, months=6):
    """A site with a job for each user on two days of each month, up to FIRST_NOW."""
    site = Site(tmp_path / "root")
    for back in range(months * 30, 0, -15):
        for number, user in enumerate(USERS):
            site.add(CLUSTERS[number % 2], user, "pq"[number % 2], -back,
                     [3600 * (number + 1), 3600, 0, 0, 0, 1])
    return site


def test_after_a_poll_the_pass_reads_only_the_months_from_the_checkpoint_on(
        tmp_path, monkeypatch):
    site = grown_site(tmp_path)
    first = history_pass(site.root, site.today())
    assert (first.resumed, first.kept) == (None, "2024-02")
    read = []
    month_rows = history._month_rows

    def spy(root, cluster, path, month, *args):
        read.append(month)
        return month_rows(root, cluster, path, month, *args)

    monkeypatch.setattr(history, "_month_rows", spy)
    site.add("hammer", "bo", "p", 0, [3600, 3600, 0, 0, 0, 1])           # a poll: today
    site.add("anvil", "cy", "q", -12, [3600, 3600, 0, 0, 0, 1])          # and last month
    again = history_pass(site.root, site.today())
    assert (again.resumed, again.kept) == ("2024-02", None)
    assert sorted(set(read)) == ["2024-02", "2024-03"]
    read.clear()
    site.add("hammer", "bo", "p", -50, [3600, 3600, 0, 0, 0, 1])         # a late job: January
    late = history_pass(site.root, site.today())
    assert (late.resumed, late.kept) == (None, "2024-02")
    assert "rollup hammer/2024-01 changed" in late.refused
    assert min(read) < "2024-01"


def test_a_new_month_resumes_from_the_old_checkpoint_and_keeps_one_a_month_later(tmp_path):
    site = grown_site(tmp_path)
    history_pass(site.root, site.today())
    site.now = date(2024, 4, 2)
    site.add("anvil", "dee", "q", 0, [3600, 3600, 0, 0, 0, 1])
    outcome = history_pass(site.root, site.today())
    assert (outcome.resumed, outcome.kept) == ("2024-02", "2024-03")
    assert checkpoint_lines(site.root)[0]["month"] == "2024-03"


def test_the_checkpoint_holds_names_not_days(tmp_path):
    """Twice the history for the same names: a state of about the same size."""
    sizes = []
    for months in (6, 12):
        site = grown_site(tmp_path / str(months), months)
        history_pass(site.root, site.today())
        sizes.append(len(checkpoint_lines(site.root)[1]))
    assert sizes[1] < 1.2 * sizes[0]


# -- checkpoints that do not validate ----------------------------------------------------------

def rewritten(root, change_head=None, change_state=None):
    """The checkpoint with its head or state changed, the head's digest of the state made
    right again: only the checks of what it says can refuse it."""
    head, line = checkpoint_lines(root)
    state = orjson.loads(line)
    if change_state:
        change_state(state)
    line = orjson.dumps(state)
    head["state"] = {"bytes": len(line), "sha256": hashlib.sha256(line).hexdigest()}
    if change_head:
        change_head(head)
    with open(checkpoint.path(root), "wb") as handle:
        handle.write(orjson.dumps(head) + b"\n" + line + b"\n")


def first_total(state, scope="hammer"):
    return next(entry for entry in state["totals"] if entry[0] == scope)


def setitem(where, key, value):
    where[key] = value


PLANTED = {
    "a user name that is a path": lambda s: setitem(first_total(s), 2, "../../etc"),
    "a name with a terminal escape": lambda s: setitem(first_total(s, "all"), 2, "a\x1b[2J"),
    "an unknown cluster": lambda s: setitem(first_total(s), 0, "nowhere"),
    "a negative total": lambda s: setitem(first_total(s)[3], 0, -1),
    "a vector too short": lambda s: setitem(first_total(s), 3, [1, 2]),
    "a total that is not a number": lambda s: setitem(first_total(s)[3], 0, "1"),
    "totals that do not add up": lambda s: setitem(first_total(s)[3], 5,
                                                   first_total(s)[3][5] + 1),
    "a name given twice": lambda s: s["totals"].append(list(first_total(s))),
    "a leader with nothing": lambda s: setitem(s["leaders"][0], 2, "gpu_clock_hours"),
    "a leader who is no one": lambda s: setitem(s["leaders"][0], 3, "nobody"),
    "a record of a week that is not one": lambda s: setitem(s["records"]["best"][0], 8,
                                                          "2024-01-01"),
    "a record of a later month": lambda s: s["records"]["best"].append(
        ["all", "users", "jobs", "month", 5, "ann", "2024-03", "2024-03-01", "2024-03-31"]),
    "a week that is no Monday": lambda s: setitem(s["records"], "week", "2024-02-27"),
    "week gains beyond the totals": lambda s: s["records"]["week_gains"].append(
        [*first_total(s)[:3], [10 ** 15] * 6]),
    "a competition id that is a path": lambda s: s["competitions"].append(
        ["../x", "2024-01-01", "2024-01-02", None, None, None, [], []]),
    "an unknown field": lambda s: setitem(s, "more", 1),
    "totals that are no list": lambda s: setitem(s, "totals", {}),
}
HEADS = {
    "another format": lambda h: setitem(h, "format", checkpoint.FORMAT + 1),
    "another version": lambda h: setitem(h, "version", "0.0.1"),
    "other code": lambda h: setitem(h, "code", "0" * 64),
    "a month after the target": lambda h: setitem(h, "month", "2024-03"),
    "a month that is none": lambda h: setitem(h, "month", "2024-13"),
    "other rates": lambda h: setitem(h["rates"], "jobs", 1.0),
    "other clusters": lambda h: setitem(h, "clusters", ["hammer"]),
    "a rollup it never read": lambda h: h["rollups"].pop(),
    "a rollup's other bytes": lambda h: setitem(h["rollups"][0], 2, "-")
    or setitem(h["rollups"][0], 3, "0" * 64),
    "achievements it did not write": lambda h: setitem(h["achievements"], "identity", "-")
    or setitem(h["achievements"], "sha256", "0" * 64),
    "more achievements than there are": lambda h: setitem(h["achievements"], "bytes", 1 << 30),
    "a state of another size": lambda h: setitem(h["state"], "bytes", 3),
    "months it did not write": lambda h: setitem(h["months"], "identity", "-")
    or setitem(h["months"], "sha256", "0" * 64),
    "months of another size": lambda h: setitem(h["months"], "bytes", 7),
    "months that are not described": lambda h: setitem(h, "months", None),
}


def rewritten_months(root, change):
    """The months file with its lines changed, and the head naming it as it is now (its
    identity, size and digest): only the checks of what it says can refuse it."""
    where = checkpoint.months_path(root)
    with open(where, "rb") as handle:
        lines = [orjson.loads(line) for line in handle]
    lines = change(lines)
    data = b"".join((line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n"
                    for line in lines)
    with open(where, "wb") as handle:
        handle.write(data)
    rewritten(root, change_head=lambda head: setitem(head, "months", {
        "bytes": len(data), "identity": layout_identity(where),
        "sha256": hashlib.sha256(data).hexdigest()}))


def layout_identity(path):
    from slurm_scoreboard.core.files import identity
    return identity(path)


def first_month_line(lines, scope="hammer"):
    return next(line for line in lines if line[0] == scope and len(line[3]) > 1)


def changed(lines, change):
    change(lines)
    return lines


MONTHS = {
    "gains that do not add up": lambda ls: changed(
        ls, lambda ls: first_month_line(ls)[4].__setitem__(0, first_month_line(ls)[4][0] + 1)),
    "a month of the checkpoint's": lambda ls: changed(
        ls, lambda ls: first_month_line(ls)[3].__setitem__(-1, "2024-02")),
    "months out of order": lambda ls: changed(
        ls, lambda ls: first_month_line(ls)[3].reverse()),
    "a name left out": lambda ls: ls[1:],
    "a name given twice": lambda ls: ls + ls[:1],
    "a name that is a path": lambda ls: changed(
        ls, lambda ls: first_month_line(ls).__setitem__(2, "../../etc")),
    "a negative gain": lambda ls: changed(
        ls, lambda ls: first_month_line(ls)[4].__setitem__(0, -1)),
    "a line that is not JSON": lambda ls: ls[:-1] + [b"[1, 2"],
    "a line that is no list": lambda ls: ls[:-1] + [{"scope": "all"}],
}


@pytest.fixture(scope="module")
def planted_base(tmp_path_factory):
    """A site whose checkpoint is at February, with competitions in it, and a poll since."""
    site = grown_site(tmp_path_factory.mktemp("planted"))
    site.set_config(([(-30, 10, None, ["p"], None)], True))
    assert history_pass(site.root, site.today()).kept == "2024-02"
    site.add("hammer", "bo", "p", 0, [3600, 3600, 0, 0, 0, 1])
    reference = site.copy_store(str(tmp_path_factory.mktemp("reference") / "root"))
    history_pass(reference, site.today())
    return site, written(reference)


def planted_copy(planted_base, tmp_path):
    site, reference = planted_base
    copy = os.path.join(str(tmp_path), "root")
    shutil.copytree(site.root, copy)
    return site, reference, copy


@pytest.mark.parametrize("change", sorted(PLANTED))
def test_a_planted_state_is_refused_and_the_pass_starts_from_the_first_day(
        planted_base, tmp_path, change):
    site, reference, root = planted_copy(planted_base, tmp_path)
    rewritten(root, change_state=PLANTED[change])
    outcome = history_pass(root, site.today())
    assert outcome.resumed is None and outcome.refused, change
    assert written(root) == reference


@pytest.mark.parametrize("change", sorted(HEADS))
def test_a_head_that_does_not_hold_is_refused_and_the_pass_starts_from_the_first_day(
        planted_base, tmp_path, change):
    site, reference, root = planted_copy(planted_base, tmp_path)
    rewritten(root, change_head=HEADS[change])
    outcome = history_pass(root, site.today())
    assert outcome.resumed is None and outcome.refused, change
    assert written(root) == reference


@pytest.mark.parametrize("change", sorted(MONTHS))
def test_planted_monthly_gains_are_refused_and_the_pass_starts_from_the_first_day(
        planted_base, tmp_path, change):
    site, reference, root = planted_copy(planted_base, tmp_path)
    rewritten_months(root, MONTHS[change])
    outcome = history_pass(root, site.today())
    assert outcome.resumed is None and outcome.refused, change
    assert written(root) == reference


def test_monthly_gains_rewritten_as_they_were_are_used(planted_base, tmp_path):
    """The checks of the months file refuse what does not hold, not a file written anew."""
    site, reference, root = planted_copy(planted_base, tmp_path)
    rewritten_months(root, lambda lines: lines)
    outcome = history_pass(root, site.today())
    assert (outcome.resumed, outcome.refused) == ("2024-02", "")
    assert written(root) == reference


@pytest.mark.parametrize("what", ["missing", "symlink", "folder"])
def test_a_months_file_that_is_no_file_is_refused(planted_base, tmp_path, what):
    site, reference, root = planted_copy(planted_base, tmp_path)
    where = checkpoint.months_path(root)
    os.unlink(where)
    if what == "symlink":
        os.symlink(os.path.join(root, "leaderboards", "records.json"), where)
    elif what == "folder":
        os.mkdir(where)
    if what == "folder":            # refused, and written over as no other file is
        with pytest.raises(UnsafePath, match="a folder where a file belongs"):
            history_pass(root, site.today())
        return
    outcome = history_pass(root, site.today())
    assert outcome.resumed is None and "months" in outcome.refused
    assert written(root) == reference


def test_an_untouched_copy_resumes(planted_base, tmp_path):
    """The copy's files all have new identities: the checkpoint holds by their bytes."""
    site, reference, root = planted_copy(planted_base, tmp_path)
    outcome = history_pass(root, site.today())
    assert (outcome.resumed, outcome.refused) == ("2024-02", "")
    assert written(root) == reference


@pytest.mark.parametrize("what", ["symlink", "folder", "empty", "huge"])
def test_a_checkpoint_that_is_no_file_is_refused(planted_base, tmp_path, what):
    site, reference, root = planted_copy(planted_base, tmp_path)
    where = checkpoint.path(root)
    os.unlink(where)
    if what == "symlink":
        os.symlink(os.path.join(root, "leaderboards", "records.json"), where)
    elif what == "folder":
        os.mkdir(where)
    else:
        with open(where, "wb") as handle:
            handle.truncate(0 if what == "empty" else checkpoint.LIMIT + 1)
    if what == "folder":            # read as none, and written over as no other file is
        with pytest.raises(UnsafePath, match="a folder where a file belongs"):
            history_pass(root, site.today())
    else:
        outcome = history_pass(root, site.today())
        assert outcome.resumed is None and outcome.refused
    assert written(root) == reference


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_damaged_checkpoint_never_changes_what_the_pass_writes(planted_base, tmp_path_factory,
                                                                data):
    """Bytes changed, cut or added anywhere: refused, or (an identity's bytes, which only spare
    a digest) used and still exact."""
    site, reference = planted_base
    root = os.path.join(str(tmp_path_factory.mktemp("damaged")), "root")
    shutil.copytree(site.root, root)
    with open(checkpoint.path(root), "rb") as handle:
        content = bytearray(handle.read())
    where = data.draw(st.integers(0, len(content) - 1))
    how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    if how == "flip":
        content[where] ^= data.draw(st.integers(1, 255))
    elif how == "cut":
        del content[where:]
    else:
        content[where:where] = data.draw(st.binary(min_size=1, max_size=8))
    with open(checkpoint.path(root), "wb") as handle:
        handle.write(bytes(content))
    history_pass(root, site.today())
    assert written(root) == reference
    shutil.rmtree(root)


def test_achievements_changed_before_the_checkpoint_s_month_are_written_again(
        planted_base, tmp_path):
    site, reference, root = planted_copy(planted_base, tmp_path)
    path = layout.achievements_file(root)
    with open(path, "r+b") as handle:
        handle.write(b"[")
    outcome = history_pass(root, site.today())
    assert outcome.resumed is None and "achievements" in outcome.refused
    assert written(root) == reference


@pytest.mark.parametrize("what", ["symlink", "fifo", "shorter"])
def test_achievements_that_are_no_longer_the_file_it_names_are_written_again(
        planted_base, tmp_path, what):
    site, reference, root = planted_copy(planted_base, tmp_path)
    path = layout.achievements_file(root)
    if what == "shorter":
        with open(path, "r+b") as handle:
            handle.truncate(10)
    else:
        os.unlink(path)
        if what == "symlink":       # to a file that begins with the same bytes
            shutil.copy(os.path.join(site.root, "leaderboards", "achievements.ndjson"),
                        str(tmp_path / "elsewhere"))
            os.symlink(str(tmp_path / "elsewhere"), path)
        else:
            os.mkfifo(path)
    outcome = history_pass(root, site.today())
    assert outcome.resumed is None and "achievements" in outcome.refused
    assert written(root) == reference


def test_a_pass_that_cannot_keep_a_checkpoint_leaves_none_of_other_inputs(tmp_path):
    """A month before the checkpoint's that cannot be read keeps the pass from keeping one; the
    one it could not use (it holds a user who opted out since) is removed, not left behind."""
    site = grown_site(tmp_path)
    assert history_pass(site.root, site.today()).kept == "2024-02"
    site.toggle_optout("ann")
    with open(os.path.join(site.root, "clusters", "hammer", "agg", "rollups", "monthly",
                           "2023-12.json"), "wb") as handle:
        handle.write(b"{not json")
    damaged = []
    outcome = chronicle.run(site.root, layout.clusters(site.root), RATES, OptOut(site.root),
                            [], site.today() + "T12:00:00Z", 5.0,
                            lambda path, message: damaged.append(path))
    assert [os.path.basename(path) for path in damaged] == ["2023-12.json"]
    assert (outcome.resumed, outcome.kept) == (None, None) and "optout" in outcome.refused
    assert not os.path.lexists(checkpoint.path(site.root))
    assert all(b'"ann"' not in data for data in written(site.root).values())


def test_a_checkpoint_is_kept_and_used_when_a_day_falls_on_its_months_first(tmp_path):
    """Mutation (chronicle._Walk.days): capturing only after the first of the target month, so
    that first day's rows went into the state and the checkpoint was refused."""
    site = Site(tmp_path / "root")
    site.add("hammer", "ann", "p", -60, [7200, 3600, 0, 0, 0, 1])       # 2024-01-10
    site.add("hammer", "ann", "p", -38, [3600, 3600, 0, 0, 0, 1])       # 2024-02-01
    first = history_pass(site.root, site.today())
    assert (first.resumed, first.kept) == (None, "2024-02")
    again = history_pass(site.root, site.today())
    assert (again.resumed, again.refused) == ("2024-02", "")


def test_a_competition_added_that_starts_on_the_checkpoints_first_day_keeps_it_usable(tmp_path):
    """Mutation (checkpoint.derivable): > for >=, which refused the checkpoint for a new
    competition starting on its month's first day, though its sums are the totals there."""
    site = Site(tmp_path / "root")
    site.add("hammer", "ann", "p", -60, [7200, 3600, 0, 0, 0, 1])       # 2024-01-10
    site.add("hammer", "bo", "q", -30, [3600, 3600, 0, 0, 0, 1])        # 2024-02-09
    assert history_pass(site.root, site.today()).kept == "2024-02"
    site.set_config(([(-38, 20, None, None, None)], False))            # from 2024-02-01
    again = history_pass(site.root, site.today())
    assert (again.resumed, again.refused) == ("2024-02", "")
    site.set_config(([(-39, 20, None, None, None)], False))            # from 2024-01-31
    late = history_pass(site.root, site.today())
    assert late.resumed is None and "competition c0 is not in it" in late.refused


def test_the_checkpoint_names_the_months_file_written_before_it(tmp_path):
    """Mutation (checkpoint.write): the months file written after the checkpoint, whose head
    then named the identity of the file before (every next pass digested it whole)."""
    from slurm_scoreboard.core.files import identity
    site = grown_site(tmp_path)
    history_pass(site.root, site.today())
    head, _ = checkpoint_lines(site.root)
    assert head["months"]["identity"] == identity(checkpoint.months_path(site.root))
    with open(checkpoint.months_path(site.root), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == head["months"]["sha256"]
