"""The progress files (history/progress.py, read through boardfiles.BoardFiles.progress):

- for random histories on two clusters (jobs that run across a month's start, on no account,
  failing, with GPUs; users who opted out), each month's value and XP of every user and group
  in every scope equal what the month board at the end of that month (or now, for this
  month) gives them, and the months listed are exactly those they gained something in;
- a rebuild after a poll resumes the history pass from its checkpoint (it reads no month
  before it) and writes the progress files a full rebuild of a fresh copy writes;
- a reader gets only lines it can trust: the file's own kind and scope, checked names,
  numbers of the right shape; opted-out users at once.
"""
import os
import shutil
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from crash_helpers import run_forked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reduce_helpers import job, ndjson

from slurm_scoreboard import boardfiles
from slurm_scoreboard.boardfiles import SKILLS, BoardFiles
from slurm_scoreboard.core import layout, windows, xp
from slurm_scoreboard.core.optout import OptOut
from slurm_scoreboard.core.windows import month_last_day
from slurm_scoreboard.rank import standings
from slurm_scoreboard.rank.rebuild import scoped_usage
from slurm_scoreboard.rank.scope import Damage
from slurm_scoreboard_tools import sb_rank, sb_reduce

CLUSTERS = ("hammer", "anvil")
USERS = ("ann", "bo", "cy")
NOW = datetime(2025, 5, 10, 12, 0, tzinfo=timezone.utc)
FIRST = datetime(2025, 2, 20, tzinfo=timezone.utc)
RATES = xp.load_rates(None)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def a_job(draw):
    """A job that ended between FIRST and NOW, some running across a month's start."""
    if draw(st.booleans()):     # ends early on the 1st of a month, started the day before
        month = draw(st.sampled_from(["2025-03", "2025-04", "2025-05"]))
        end = datetime.fromisoformat(f"{month}-01T00:00:00+00:00") + \
            timedelta(seconds=draw(st.integers(1, 7200)))
    else:
        end = FIRST + timedelta(seconds=draw(st.integers(0, int((NOW - FIRST).total_seconds()))))
    return {"cluster": draw(st.sampled_from(CLUSTERS)), "user": draw(st.sampled_from(USERS)),
            "account": draw(st.sampled_from(["phys", "chem", ""])), "end": iso(end),
            "elapsed": draw(st.sampled_from([0, 600, 3600, 5 * 3600, 30 * 3600, 80 * 3600])),
            "cpus": draw(st.integers(1, 16)), "gpus": draw(st.sampled_from([0, 0, 1, 4])),
            "state": draw(st.sampled_from(["COMPLETED", "COMPLETED", "FAILED"]))}


def reduce_jobs(root, jobs, first_id=1):
    records = [job(first_id + number, spec["user"], spec["end"], cpus=spec["cpus"],
                   elapsed=spec["elapsed"], gpus=spec["gpus"], state=spec["state"],
                   account=spec["account"], cluster=spec["cluster"])
               for number, spec in enumerate(jobs)]
    for cluster in CLUSTERS:
        mine = [record for record in records if record["cluster"] == cluster]
        if mine:
            ran = run_forked(sb_reduce.main, ["--root", root, "--cluster", cluster, "-q"],
                             stdin=ndjson(mine), env={"SLURM_SB_NOW": iso(NOW)})
            assert ran.code == 0, ran.stderr


def rank(root, now, *args, setup=lambda: None):
    ran = run_forked(sb_rank.main, ["--root", root, "--now", iso(now)] + list(args),
                     setup=setup)
    assert ran.code == 0, ran.stderr
    return ran


def write_optout(root, users):
    os.makedirs(os.path.join(root, "config"), exist_ok=True)
    with open(os.path.join(root, "config", "optout.txt"), "w") as handle:
        handle.write("".join(f"{user}\n" for user in sorted(users)))


def month_board(root, scope, kind, month):
    """name -> metric -> (value, xp) on the month board at the end of `month` (now, for
    this month), as sb-rank ranks it from the store."""
    last = datetime.fromisoformat(month_last_day(month) + "T23:59:59+00:00")
    window = windows.resolve("month", min(last, NOW))
    usage = scoped_usage(root, None if scope == "all" else scope, [window], OptOut(root), 5.0,
                         Damage(lambda text: pytest.fail(text)))[window.name]
    table = standings.standings(usage, kind, RATES)
    shown = {}
    for metric in SKILLS + ("overall",):
        for row in table.rows(metric):
            entry = shown.setdefault(row[boardfiles.name_field(kind)], {})
            entry[metric] = (row["value"], row["xp"])
    return shown


def progress_by_month(files, scope, kind):
    """name -> month -> metric -> (value, xp) from the progress file (overall: (None, xp))."""
    found = {}
    for entry in files.progress_lines(scope, kind):
        assert files.progress(scope, kind, entry["name"]) == entry
        for at, month in enumerate(entry["months"]):
            cell = found.setdefault(entry["name"], {}).setdefault(month, {})
            for skill in SKILLS:
                cell[skill] = (entry["value"][skill][at], entry["xp"][skill][at])
            cell["overall"] = (None, entry["xp"]["overall"][at])
    return found


MONTHS = ("2025-02", "2025-03", "2025-04", "2025-05")


@settings(max_examples=int(os.environ.get("SB_PROGRESS_EXAMPLES", "20")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(a_job(), min_size=1, max_size=12), st.frozensets(st.sampled_from(USERS),
                                                                  max_size=1))
def test_each_month_of_the_progress_files_is_the_month_board_of_that_month(
        tmp_path_factory, jobs, opted_out):
    root = str(tmp_path_factory.mktemp("progress") / "root")
    os.makedirs(root)
    reduce_jobs(root, jobs)
    write_optout(root, opted_out)
    rank(root, NOW)
    files = BoardFiles(root)
    for scope in ("all",) + tuple(layout.clusters(root)):
        for kind in boardfiles.KINDS:
            progress = progress_by_month(files, scope, kind)
            assert not set(progress) & (opted_out if kind == "users" else set())
            for month in MONTHS:
                board = month_board(root, scope, kind, month)
                gained = {name: months[month] for name, months in progress.items()
                          if month in months}
                assert set(gained) == {name for name, metrics in board.items()
                                       if set(metrics) - {"overall"}}, (scope, kind, month)
                for name, cell in gained.items():
                    for metric in SKILLS:
                        assert cell[metric] == board[name].get(metric, (0, 0)), \
                            (scope, kind, month, name, metric)
                    assert cell["overall"][1] == board[name]["overall"][1]


# -- a poll's rebuild ----------------------------------------------------------------------------

def progress_files(root):
    folder = layout.path(root, "progress_dir")
    found = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as handle:
            head, _, rest = handle.read().partition(b"\n")
        found[name] = (dict(orjson.loads(head), asof=None), rest)
    return found


def months_read(log):
    """A forked child's setup that logs every month the history pass reads."""
    def setup():
        from slurm_scoreboard.history import history
        real = history._month_rows

        def logged(root, cluster, path, month, *args):
            with open(log, "a") as handle:
                handle.write(month + "\n")
            return real(root, cluster, path, month, *args)
        history._month_rows = logged
    return setup


def test_a_rebuild_after_a_poll_resumes_and_writes_what_a_full_rebuild_writes(tmp_path):
    root = str(tmp_path / "root")
    os.makedirs(root)
    history = [{"cluster": CLUSTERS[n % 2], "user": USERS[n % 3], "account": "phys",
                "end": iso(FIRST + timedelta(days=4 * n, hours=n)), "elapsed": 3600 * (1 + n),
                "cpus": 2, "gpus": n % 2, "state": "COMPLETED"} for n in range(20)]
    reduce_jobs(root, history)
    rank(root, NOW - timedelta(hours=2))
    poll = [dict(history[0], end=iso(NOW - timedelta(hours=1)), elapsed=40 * 3600),
            dict(history[1], end="2025-04-30T23:00:00Z", account="chem")]
    reduce_jobs(root, poll, first_id=100)
    log = str(tmp_path / "read")
    rank(root, NOW, "--if-changed", setup=months_read(log))
    with open(log) as handle:
        assert sorted(set(handle.read().split())) == ["2025-04", "2025-05"]
    fresh = str(tmp_path / "fresh")
    shutil.copytree(os.path.join(root, "clusters"), os.path.join(fresh, "clusters"))
    rank(fresh, NOW)
    assert progress_files(root) == progress_files(fresh)
    files = BoardFiles(root)
    assert files.progress("all", "groups", "chem")["months"] == ["2025-04"]


def test_a_poll_leaves_the_progress_files_of_other_clusters_alone(tmp_path):
    root = str(tmp_path / "root")
    os.makedirs(root)
    base = {"user": "ann", "account": "phys", "elapsed": 3600, "cpus": 2, "gpus": 0,
            "state": "COMPLETED"}
    reduce_jobs(root, [dict(base, cluster=cluster, end="2025-05-02T10:00:00Z")
                       for cluster in CLUSTERS])
    rank(root, NOW - timedelta(hours=1))
    folder = layout.path(root, "progress_dir")
    before = {name: os.stat(os.path.join(folder, name)).st_ino for name in os.listdir(folder)}
    reduce_jobs(root, [dict(base, cluster="hammer", end="2025-05-09T10:00:00Z")], 10)
    rank(root, NOW, "--if-changed")
    after = {name: os.stat(os.path.join(folder, name)).st_ino for name in os.listdir(folder)}
    assert {name for name in after if after[name] != before[name]} == {
        "all_users.ndjson", "all_groups.ndjson", "cluster-hammer_users.ndjson",
        "cluster-hammer_groups.ndjson"}
    header = BoardFiles(root).progress_header("anvil", "users")
    assert header["asof"] == iso(NOW - timedelta(hours=1))
    assert BoardFiles(root).progress_header("all", "users")["asof"] == iso(NOW)


# -- what a reader trusts ------------------------------------------------------------------------

def plant(root, scope, kind, lines, header=None):
    path = layout.progress_file(root, scope, kind)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    head = header if header is not None else {
        "asof": "2025-05-10T12:00:00Z", "format": "slurm-scoreboard-progress", "version": 1,
        "scope": scope, "kind": kind, "skills": list(SKILLS)}
    with open(path, "wb") as handle:
        handle.write(b"".join(
            (line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n"
            for line in [head] + lines))


def a_line(name, months=("2025-04",), **changes):
    size = len(months)
    line = {"name": name, "months": list(months),
            "xp": {skill: [10] * size for skill in ("overall",) + SKILLS},
            "value": {skill: [1.5] * size for skill in SKILLS}}
    line.update(changes)
    return line


BAD_LINES = {
    "a name that is a path": a_line("../../etc"),
    "a name with an escape": a_line("a\x1b[2J"),
    "no name": a_line(None),
    "months out of order": a_line("x", months=("2025-04", "2025-03")),
    "a month that is none": a_line("x", months=("2025-13",)),
    "lists of other lengths": a_line("x", xp={skill: [1, 2] for skill in ("overall",) + SKILLS}),
    "a skill missing": a_line("x", value={"jobs": [1]}),
    "a negative value": a_line("x", value={skill: [-1] for skill in SKILLS}),
    "XP that is text": a_line("x", xp={skill: ["9"] for skill in ("overall",) + SKILLS}),
    "XP that is a bool": a_line("x", xp={skill: [True] for skill in ("overall",) + SKILLS}),
    "a value past any board": a_line("x", value={skill: [1e300] for skill in SKILLS}),
    "not an object": ["x"],
}


@pytest.mark.parametrize("what", sorted(BAD_LINES))
def test_a_line_that_is_not_one_is_left_out_and_the_others_read(tmp_path, what):
    root = str(tmp_path)
    bad = BAD_LINES[what]
    plant(root, "all", "users", [a_line("a"), bad, b"{not json", a_line("zz")])
    files = BoardFiles(root)
    assert [entry["name"] for entry in files.progress_lines("all", "users")] == ["a", "zz"]
    if isinstance(bad, dict) and isinstance(bad.get("name"), str):
        assert files.progress("all", "users", bad["name"]) is None


def test_a_group_named_anything_the_store_keeps_is_read(tmp_path):
    root = str(tmp_path)
    plant(root, "hammer", "groups", [a_line("my lab\x1b[31m")])
    files = BoardFiles(root)
    assert files.progress("hammer", "groups", "my lab\x1b[31m")["value"]["jobs"] == [1.5]
    assert files.progress("hammer", "users", "my lab\x1b[31m") is None


def test_a_header_of_another_file_or_format_gives_nothing_and_is_named(tmp_path):
    root = str(tmp_path)
    plant(root, "all", "users", [a_line("a")], header={"format": "slurm-scoreboard-progress",
                                                       "version": 1, "scope": "all",
                                                       "kind": "groups", "asof": "x"})
    files = BoardFiles(root)
    assert files.progress("all", "users", "a") is None
    assert list(files.progress_lines("all", "users")) == []
    assert files.problems and "not a progress file" in files.problems[0]
    plant(root, "all", "users", [a_line("a")], header={"format": "other", "version": 1})
    assert BoardFiles(root).progress_header("all", "users") is None


def test_an_opted_out_user_is_gone_at_once_and_groups_stay(tmp_path):
    root = str(tmp_path)
    plant(root, "all", "users", [a_line("ann"), a_line("bo")])
    plant(root, "all", "groups", [a_line("phys")])
    files = BoardFiles(root)
    assert files.progress("all", "users", "ann") is not None
    write_optout(root, {"ann"})
    assert files.progress("all", "users", "ann") is None
    assert [entry["name"] for entry in files.progress_lines("all", "users")] == ["bo"]
    assert files.progress("all", "groups", "phys") is not None


def test_a_missing_file_or_a_symlink_gives_nothing(tmp_path):
    root = str(tmp_path)
    files = BoardFiles(root)
    assert files.progress("all", "users", "ann") is None and not files.problems
    plant(root, "all", "groups", [a_line("ann")])
    os.symlink(layout.progress_file(root, "all", "groups"),
               layout.progress_file(root, "all", "users"))
    assert files.progress("all", "users", "ann") is None
    assert files.problems
    assert files.progress("../x", "users", "ann") is None
    assert files.progress("all", "nobody", "ann") is None


@pytest.mark.parametrize("plant_one", [os.mkdir, os.mkfifo], ids=["folder", "fifo"])
def test_a_folder_or_fifo_where_a_progress_file_belongs_is_named_not_read(tmp_path, plant_one):
    root = str(tmp_path)
    plant(root, "all", "groups", [a_line("phys")])
    plant_one(layout.progress_file(root, "all", "users"))
    files = BoardFiles(root)
    assert files.progress("all", "users", "ann") is None
    assert list(files.progress_lines("all", "users")) == []
    assert files.problems and "not a regular file" in files.problems[0]
    assert files.progress("all", "groups", "phys") is not None


def test_a_progress_file_over_the_board_limit_is_named_not_read(tmp_path, monkeypatch):
    root = str(tmp_path)
    plant(root, "all", "users", [a_line("ann")])
    size = os.path.getsize(layout.progress_file(root, "all", "users"))
    monkeypatch.setattr(boardfiles, "BOARD_LIMIT", size)
    assert BoardFiles(root).progress("all", "users", "ann") is not None
    monkeypatch.setattr(boardfiles, "BOARD_LIMIT", size - 1)
    files = BoardFiles(root)
    assert files.progress("all", "users", "ann") is None
    assert files.problems and "larger than" in files.problems[0]


def test_a_line_too_long_is_skipped_not_held(tmp_path, monkeypatch):
    root = str(tmp_path)
    monkeypatch.setattr(boardfiles, "LINE_LIMIT", 400)
    plant(root, "all", "users", [a_line("a", months=[f"20{y:02d}-01" for y in range(10, 40)]),
                                 a_line("b")])
    assert [entry["name"] for entry in BoardFiles(root).progress_lines("all", "users")] == ["b"]


def test_the_months_file_and_a_progress_file_are_made_in_memory_about_their_size():
    """A line per name of a big site: joining orjson's results with b"".join held each (a few
    kilobytes apiece, whatever its length) until the end, 534 MB for an 11 MB months file of
    32,000 names; 20 clusters x 20,000 users made a rebuild's peak 7.5 GB. Counted by
    tracemalloc (what was allocated, not timed)."""
    import tracemalloc
    from array import array

    from slurm_scoreboard.history import progress
    gains = {(("all", "hammer")[i % 2], "users", f"user{i:05d}"):
             ([f"2026-{m:02d}" for m in range(1, 13)], array("q", range(72)))
             for i in range(20000)}
    rates = dict.fromkeys(SKILLS, 10.0)
    tracemalloc.start()
    try:
        made = progress.encode(gains)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        document = progress.document(gains, "all", "users", rates, "2026-12-01T00:00:00Z")
        document_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert made.count(b"\n") == len(gains) and document.count(b"\n") == 1 + len(gains) // 2
    assert peak < 3 * len(made) + (4 << 20), (peak, len(made))
    assert document_peak < 3 * len(document) + (4 << 20), (document_peak, len(document))
