"""What a writer of the root can plant in the files every reader reads, and what it costs them.

- achievements.ndjson: every reader (sb-rank --user, sb-news, sb-view, the OnDemand widget
  through sb-rank) reads only its newest ``EVENTS_LIMIT`` bytes, however large the file (a
  sparse 50 GB one costs the planter nothing), and says when it left older events out; what is
  read is counted in bytes (/proc/self/io), never timed.
- board files and the other documents (group statistics, records, competitions): one larger
  than ``BOARD_LIMIT`` (more than a board of 100,000 users reaches) is refused unread, and one
  with holes (a sparse file: its holes read as NUL bytes) at the first chunk holding one, so a
  planted sparse gigabyte costs a reader a MiB, not two gigabytes of memory; sb-rank says so in
  one line and exits 1, as sb-rank(1) has it for an unreadable board.
- the events themselves: every reader sees them through boardfiles.event_of, which keeps the
  fields a reader knows and checks each (names plain, days real, skills known, every other text
  as safe_text shows it unchanged), so no control, format (bidi) or line separator character
  in any field, and no field a reader does not know, reaches sb-news, sb-rank --user, sb-view
  or the widget; as properties over the Unicode categories Cc, Cf, Zl and Zp.
"""
import os
import shutil
import subprocess
import sys
import unicodedata
from unittest import mock

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reduce_helpers import job, reduce, tool

from slurm_scoreboard import boardfiles
from slurm_scoreboard.boardfiles import BOARD_LIMIT, EVENTS_LIMIT, BoardFiles, event_of
from slurm_scoreboard.core import files
from slurm_scoreboard.core.ndjson import Tail
from slurm_scoreboard.errors import BoardError

NOW = "2024-03-05T12:00:00Z"
MiB = 1 << 20


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    """alice with a month of CPU hours on hammer, ranked: her achievements written."""
    root = tmp_path_factory.mktemp("root")
    done, _ = reduce(root, [job(1, "alice", "2024-02-01T10:00:00Z", cpus=1,
                                elapsed=200 * 3600)])
    assert done.returncode == 0, done.stderr
    done = tool("sb_rank", ["--root", str(root), "--now", NOW, "--history-every", "0"])
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def root(ranked, tmp_path):
    """A copy of the ranked root whose achievements a test may plant."""
    return shutil.copytree(ranked, tmp_path / "root", symlinks=True)


def feed_path(root):
    return os.path.join(str(root), "leaderboards", "achievements.ndjson")


def read_bytes_so_far():
    """Bytes this process has read through read(2) and its kin (rchar of /proc/self/io)."""
    with open("/proc/self/io") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("rchar:"))


# -- the tail, as a property: the whole lines of the last `limit` bytes, nothing more read ------

@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
       limit=st.integers(min_value=1, max_value=600), last_newline=st.booleans())
def test_the_tail_is_the_whole_lines_of_the_last_bytes_and_reads_no_more(tmp_path_factory, lines,
                                                                         limit, last_newline):
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    path = tmp_path_factory.mktemp("tail") / "file"
    path.write_bytes(data)
    start = max(0, len(data) - limit)
    window = data[start:]
    if start and data[start - 1:start] != b"\n":
        window = window.partition(b"\n")[2]          # the line the start cuts is left out
    expected = window.split(b"\n")[:-1] + \
        ([window.rpartition(b"\n")[2]] if not window.endswith(b"\n") and window else [])
    with open(path, "rb") as handle:
        tail = Tail(handle, limit)
        assert list(tail.lines()) == expected
        assert tail.cut == (len(data) > limit)
        assert handle.tell() <= len(data) and tail.left >= 0


def test_a_file_that_grows_while_it_is_read_is_read_no_further_than_the_limit(tmp_path):
    path = tmp_path / "file"
    path.write_bytes(b"a\n" * 10)
    with open(path, "rb") as handle:
        tail = Tail(handle, 20)
        with open(path, "ab") as more:
            more.write(b"b\n" * 10)
        assert list(tail.lines()) == [b"a"] * 10
        assert tail.cut


# -- achievements.ndjson planted huge ------------------------------------------------------------

def plant_sparse(root, size, tail=b""):
    """A sparse file of `size` bytes of holes, then `tail` (real lines, the newest events)."""
    path = feed_path(root)
    with open(path, "r+b") as handle:
        handle.truncate(0)
        handle.truncate(size)
        handle.seek(size)
        handle.write(tail)
    return path


@pytest.mark.parametrize("size", [EVENTS_LIMIT - 1, EVENTS_LIMIT, EVENTS_LIMIT + 1, 50 << 30])
def test_a_planted_sparse_feed_of_any_size_costs_a_reader_the_limit_at_most(root, size):
    path = plant_sparse(root, size)
    told = []
    files = BoardFiles(str(root), told.append)
    before = read_bytes_so_far()
    assert list(files.events()) == []
    assert read_bytes_so_far() - before <= EVENTS_LIMIT + MiB
    cut = size > EVENTS_LIMIT
    assert (files.events_note is not None) == cut
    if cut:
        assert told == [files.events_note]
        assert files.events_note.startswith(f"{path}: only its newest 64 MiB are read")
        assert "older achievements are left out" in files.events_note


def test_the_newest_events_after_a_planted_sparse_prefix_are_still_read(ranked, root):
    real = open(feed_path(ranked), "rb").read()
    plant_sparse(root, 50 << 30, b"\n" + real)
    files = BoardFiles(str(root))
    assert [orjson.dumps(event) + b"\n" for event in files.events()] == \
        [orjson.dumps(orjson.loads(line)) + b"\n" for line in real.splitlines()]
    assert files.events_of("alice") and files.events_note is not None


def test_a_feed_within_the_limit_is_read_whole_and_nothing_is_said(ranked):
    files = BoardFiles(str(ranked))
    assert len(list(files.events())) == len(open(feed_path(ranked), "rb").read().splitlines())
    assert files.events_note is None


@pytest.mark.parametrize("plant_one", [os.mkdir, os.mkfifo,
                                       lambda path: os.symlink("/dev/zero", path)],
                         ids=["folder", "fifo", "symlink"])
def test_a_folder_fifo_or_symlink_where_the_feed_belongs_gives_no_events(root, plant_one):
    assert list(BoardFiles(str(root)).events())
    os.unlink(feed_path(root))
    plant_one(feed_path(root))
    files = BoardFiles(str(root))
    assert list(files.events()) == [] and files.events_of("alice") == []
    assert files.events_note is None


def test_every_reader_answers_from_a_planted_50_gb_feed_and_says_what_it_left_out(ranked, root):
    real = open(feed_path(ranked), "rb").read()
    path = plant_sparse(root, 50 << 30, b"\n" + real)
    said = f"{path}: only its newest 64 MiB are read"
    page = tool("sb_rank", ["--root", str(root), "--now", NOW, "--user", "alice"])
    assert page.returncode == 0, page.stderr
    assert orjson.loads(page.stdout)["achievements"]
    assert page.stderr.decode().startswith(f"sb-rank: {said}")
    assert len(page.stderr.splitlines()) == 1
    news = tool("sb_news", ["--root", str(root), "--all", "--all-scopes"])
    assert news.returncode == 0, news.stderr
    assert len(news.stdout.splitlines()) == len(real.splitlines())
    assert news.stderr.decode().startswith(f"sb-news: {said}")
    view = tool("sb_view", ["--root", str(root), "--snapshot", "--user", "alice", "--width",
                            "300"])
    assert view.returncode == 0, view.stderr
    assert "only its newest 64 MiB are read" in view.stdout.decode()



# -- board files and documents planted huge or sparse -------------------------------------------

@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), limit=st.integers(min_value=0, max_value=300),
       chunk=st.integers(min_value=1, max_value=64))
@example(data=b"x" * 10, limit=10, chunk=3)         # exactly the limit: read
@example(data=b"x" * 10, limit=10, chunk=10)
@example(data=b"x" * 11, limit=10, chunk=10)        # a byte over: refused
def test_read_text_gives_a_text_file_within_the_limit_and_refuses_anything_else(
        tmp_path_factory, data, limit, chunk):
    path = tmp_path_factory.mktemp("text") / "file"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "TEXT_CHUNK", chunk)
        if len(data) <= limit and b"\0" not in data:
            assert files.read_text(str(path), limit) == data
        else:
            with pytest.raises(ValueError, match="larger than|holds NUL bytes"):
                files.read_text(str(path), limit)


def board_path(root, name="alltime_overall.json"):
    return os.path.join(str(root), "leaderboards", name)


def plant(path, size, head=b""):
    """`head`, then holes up to `size` bytes (a sparse file)."""
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)


PLANTS = {
    "1 GiB of holes": (1 << 30, b""),
    "one byte over the limit": (BOARD_LIMIT + 1, b""),
    "holes under the limit": (BOARD_LIMIT - 1, b""),
    "a board's start, then holes": (64 * MiB, b'{"asof":"2024-03-05T12:00:00Z","rows":[{"ra'),
}


@pytest.mark.parametrize("plant_name", PLANTS)
def test_a_planted_board_is_refused_in_one_line_having_read_a_mib_at_most(root, plant_name):
    size, head = PLANTS[plant_name]
    path = board_path(root)
    plant(path, size, head)
    before = read_bytes_so_far()
    with pytest.raises(BoardError) as raised:
        BoardFiles(str(root)).board_document("alltime", "overall")
    assert read_bytes_so_far() - before <= 2 * MiB
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and message.count(path) == 1 and "\n" not in message
    too_large = f"larger than {BOARD_LIMIT >> 20} MiB, which no file the tools write reaches"
    assert (too_large if size > BOARD_LIMIT else "holds NUL bytes") in message


DOCUMENTS = {"records.json": lambda files: files.records(),
             "competitions.json": lambda files: files.competitions(),
             "groups/alltime_stats.json": lambda files: files.group_stats("alltime") or None}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_a_planted_sparse_document_is_named_as_left_out_having_read_a_mib_at_most(root, name):
    path = board_path(root, name)
    plant(path, 1 << 30)
    files = BoardFiles(str(root))
    before = read_bytes_so_far()
    assert DOCUMENTS[name](files) is None
    assert read_bytes_so_far() - before <= 2 * MiB
    assert [problem for problem in files.problems if problem.startswith(f"{path}: larger than")]


# sb-rank's main, then its own peak RSS (VmHWM: the high-water mark of its memory since exec;
# ru_maxrss would start from the forking test process's size)
MEASURED = """
import sys
from slurm_scoreboard_tools import sb_rank
code = sb_rank.main(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
sys.stderr.write(f"VmHWM {peak}\\n")
sys.exit(code)
"""


def run_measured(args):
    """(exit status, stdout, stderr without the last line, peak RSS in KiB) of sb-rank."""
    done = subprocess.run([sys.executable, "-c", MEASURED, *args], capture_output=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    *err, last = done.stderr.splitlines(keepends=True)
    assert last.startswith(b"VmHWM "), done.stderr
    return done.returncode, done.stdout, b"".join(err), int(last.split()[1])


@pytest.mark.parametrize("plant_name", PLANTS)
def test_sb_rank_user_refuses_a_planted_board_in_one_line_in_little_memory(root, plant_name):
    size, head = PLANTS[plant_name]
    path = board_path(root)
    plant(path, size, head)
    code, out, err, peak = run_measured(["--root", str(root), "--user", "alice", "--from-files"])
    assert (code, out) == (1, b"")
    assert err.decode().startswith(f"sb-rank: {path}: ") and len(err.splitlines()) == 1
    assert peak < 100 * 1024, peak        # KiB; the whole gigabyte cost two before


# -- every field of every event checked the same way by every reader ----------------------------

BAD = ("Cc", "Cf", "Zl", "Zp")
TEMPLATES = [
    {"day": "2024-02-01", "scope": "hammer", "kind": "users", "user": "alice",
     "event": "first_job", "jobs": 1, "id": "first_job/hammer/users/alice//"},
    {"day": "2024-02-02", "scope": "all", "kind": "users", "user": "alice", "event": "level",
     "skill": "clock_hours", "level": 10, "xp": 1200, "value": 120.5,
     "id": "level/all/users/alice/clock_hours/10"},
    {"day": "2024-02-03", "scope": "all", "kind": "users", "user": "alice", "event": "xp_cap",
     "skill": "jobs", "xp": 200000000, "value": 2000000, "id": "xp_cap/all/users/alice/jobs/"},
    {"day": "2024-02-04", "scope": "all", "kind": "users", "user": "alice",
     "event": "total_level", "total_level": 100, "level": 104, "xp": 90000,
     "id": "total_level/all/users/alice//100"},
    {"day": "2024-02-05", "scope": "hammer", "kind": "users", "user": "alice", "event": "rank_1",
     "skill": "jobs", "value": 3, "previous": "bob",
     "id": "rank_1/hammer/users/alice/jobs/2024-02-05"},
    {"day": "2024-02-06", "scope": "all", "kind": "groups", "account": "proj x", "event": "rank_1",
     "skill": "jobs", "value": 3, "previous": None,
     "id": "rank_1/all/groups/proj x/jobs/2024-02-06"},
]


def has_bad(value):
    """Whether any text in `value` (a JSON value) holds a character of the BAD categories."""
    if isinstance(value, str):
        return any(unicodedata.category(char) in BAD for char in value)
    if isinstance(value, dict):
        return any(has_bad(key) or has_bad(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_bad(item) for item in value)
    return False


def text_fields(event):
    return [field for field, value in event.items() if isinstance(value, str)]


def test_the_pass_s_events_are_read_as_written(ranked):
    lines = open(feed_path(ranked), "rb").read().splitlines()
    assert lines and [orjson.dumps(event_of(orjson.loads(line))) for line in lines] == lines
    assert all(event_of(template) == template for template in TEMPLATES)


@settings(max_examples=300, deadline=None)
@given(template=st.sampled_from(TEMPLATES), data=st.data())
def test_a_control_format_or_separator_character_in_any_text_field_leaves_the_event_out(
        template, data):
    field = data.draw(st.sampled_from(text_fields(template)))
    bad = data.draw(st.characters(categories=BAD))
    text = template[field]
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    assert event_of(dict(template, **{field: text[:at] + bad + text[at:]})) is None


ANY_TEXT = st.text(st.characters(categories=BAD + ("Ll", "Nd", "Pd", "Zs")), max_size=12)
ANY_VALUE = st.none() | st.booleans() | st.integers(-(1 << 63), (1 << 64) - 1) | st.floats(allow_nan=False) | ANY_TEXT | \
    st.lists(ANY_TEXT, max_size=2)


@st.composite
def planted_events(draw):
    """A template with any field set to any value, and maybe a field no reader knows."""
    event = dict(draw(st.sampled_from(TEMPLATES)))
    event[draw(st.sampled_from(list(event)))] = draw(ANY_VALUE)
    if draw(st.booleans()):
        event[draw(ANY_TEXT)] = draw(ANY_VALUE)
    return event


@settings(max_examples=150, deadline=None)
@given(events=st.lists(planted_events(), max_size=8))
def test_every_reader_gets_only_known_fields_with_no_such_character(tmp_path_factory, events):
    from slurm_scoreboard.history import feed
    root = tmp_path_factory.mktemp("feed")
    (root / "leaderboards").mkdir()
    lines = [orjson.dumps(event) for event in events]
    (root / "leaderboards" / "achievements.ndjson").write_bytes(b"".join(l + b"\n" for l in lines))
    files = BoardFiles(str(root))
    read = list(files.events())
    outbox = [feed.still_shown(line + b"\t" + b"planted text", files) for line in lines]
    for event in read + [orjson.loads(line.partition(b"\t")[0]) for line in outbox if line]:
        assert not has_bad(event)
        assert set(event) <= {"id", "day", "scope", "kind", "user", "account", "event", "skill",
                              "previous", "level", "total_level", "xp", "jobs", "value"}
    kept = [event_of(orjson.loads(line)) for line in lines]      # as the file holds it (inf: null)
    assert read == [event for event in kept if event is not None]
    assert all(not has_bad(part.decode()) for line in outbox if line
               for part in line.split(b"\t"))       # its JSON, the tab, the text posted


def test_the_commands_show_no_planted_control_or_bidi_character(ranked, root):
    planted = [dict(TEMPLATES[1], day="2024-02-02\u202e"), dict(TEMPLATES[1], scope="all\u2066"),
               dict(TEMPLATES[1], skill="jobs\u200f"), dict(TEMPLATES[1], id="level\u202e/x"),
               dict(TEMPLATES[4], previous="bob\u2028"), dict(TEMPLATES[0], user="alice\x1b[2J"),
               dict(TEMPLATES[5], account="proj\u202e"),
               dict(TEMPLATES[3], day="2024-03-01", note="\u202eevil\x1b]0;x\x07")]
    with open(feed_path(root), "ab") as handle:
        handle.write(b"".join(orjson.dumps(event) + b"\n" for event in planted))
    runs = {"sb-news": ["sb_news", "--all", "--all-scopes"],
            "sb-news text": ["sb_news", "--all", "--all-scopes", "--format", "text"],
            "sb-rank": ["sb_rank", "--user", "alice", "--from-files"],
            "sb-view": ["sb_view", "--snapshot", "--user", "alice", "--color", "never",
                        "--width", "200"]}
    for name, (module, *args) in runs.items():
        done = tool(module, ["--root", str(root)] + args)
        assert done.returncode == 0, (name, done.stderr)
        shown = done.stdout.decode()
        assert not has_bad(shown.replace("\n", "")), name
        assert "evil" not in shown and "note" not in shown, name
    news = tool("sb_news", ["--root", str(root), "--all-scopes", "--since", "2024-03-01"])
    assert [orjson.loads(line) for line in news.stdout.splitlines()] == [
        dict(TEMPLATES[3], day="2024-03-01")]


# -- a feed planted with many events of one user, or of another ---------------------------------

def level_event(user, number, scope="all"):
    """A level event of `user` on `scope`, the `number`th (its day and level grow with it)."""
    day = f"{2000 + number // 300:04d}-{1 + number // 25 % 12:02d}-{1 + number % 25:02d}"
    return {"day": day, "scope": scope, "kind": "users", "user": user, "event": "level",
            "skill": "jobs", "level": 1 + number % 9000, "xp": number, "value": number,
            "id": f"level/{scope}/users/{user}/jobs/{number}"}


def test_a_page_lists_the_newest_50_achievements_of_a_feed_planted_with_thousands(root):
    victims = [level_event("alice", number) for number in range(3000)]
    others = [level_event("mallory", number) for number in range(30000)]
    lines = [orjson.dumps(event) for event in others[:15000] + victims + others[15000:]]
    with open(feed_path(root), "wb") as feed:
        feed.write(b"\n".join(lines) + b"\n")
    page = tool("sb_rank", ["--root", str(root), "--now", NOW, "--user", "alice",
                            "--from-files"])
    assert page.returncode == 0, page.stderr
    assert orjson.loads(page.stdout)["achievements"] == victims[-50:]
    view = tool("sb_view", ["--root", str(root), "--snapshot", "--user", "alice", "--width",
                            "300"])
    assert view.returncode == 0, view.stderr
    shown = [line for line in view.stdout.decode().splitlines() if "(all clusters)" in line]
    assert len(shown) == 50 and victims[-1]["day"] in shown[0]


def plain_events_of(lines, name, kind, scope, hidden=frozenset()):
    """What events_of gives, as the plain reader has it: every line parsed, the user's (or
    group's) events on the scope, opted-out users' left out, the newest EVENTS_SHOWN."""
    found = []
    for line in lines:
        try:
            event = event_of(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
        if event is None or event.get("kind") != kind or \
                event.get("user" if kind == "users" else "account") != name:
            continue
        if event["scope"] == scope or (scope == "all" and event["event"] == "first_job"):
            if kind == "users" and event.get("previous") in hidden:    # a group's: an account
                event = dict(event, previous=None)
            found.append(event)
    return found[-boardfiles.EVENTS_SHOWN:] if boardfiles.EVENTS_SHOWN else []


NAMES = ["alice", "bob", "alice.x", "proj x"]


@st.composite
def feed_lines(draw):
    """An event of a template with its names, scope and day drawn, or a line that is none."""
    event = dict(draw(st.sampled_from(TEMPLATES)))
    field = "user" if event["kind"] == "users" else "account"
    event[field] = draw(st.sampled_from(NAMES))
    event["scope"] = draw(st.sampled_from(["all", "hammer", "alice"]))
    if "previous" in event:
        event["previous"] = draw(st.sampled_from(NAMES[:3] + [None]))
    event["id"] = f"{event['id']}/{draw(st.integers(0, 99))}"
    line = orjson.dumps(event)
    return draw(st.sampled_from([line, line, line, line[:-1], b"", b'"alice"']))


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(feed_lines(), max_size=40), shown=st.integers(min_value=0, max_value=6),
       name=st.sampled_from(NAMES), kind=st.sampled_from(["users", "groups"]),
       scope=st.sampled_from(["all", "hammer", None]), optout=st.booleans())
@example(lines=[orjson.dumps({"day": "2024-02-06", "scope": "all", "kind": "groups",
                              "account": "bob", "event": "rank_1", "skill": "jobs", "value": 3,
                              "previous": "alice", "id": "rank_1/all/groups/bob/jobs/2024-02-06"})],
         shown=5, name="bob", kind="groups", scope="all", optout=True)     # alice: an account
def test_events_of_is_the_plain_reader_s_newest(tmp_path_factory, lines, shown, name, kind,
                                                scope, optout):
    root = tmp_path_factory.mktemp("feed")
    (root / "leaderboards").mkdir()
    (root / "leaderboards" / "achievements.ndjson").write_bytes(b"\n".join(lines))
    hidden = frozenset(["alice"] if optout else [])
    if optout:
        (root / "config").mkdir()
        (root / "config" / "optout.txt").write_text("alice\n")
    with mock.patch.object(boardfiles, "EVENTS_SHOWN", shown):
        expected = [] if kind == "users" and name in hidden else \
            plain_events_of(lines, name, kind, scope or "all", hidden)
        assert BoardFiles(str(root)).events_of(name, kind, scope) == expected
