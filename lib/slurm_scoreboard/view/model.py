"""The viewer's state: the keys, what is selected, the pages open (no curses).

Every file is read through :class:`boardfiles.BoardFiles`, so users who opted out are on no
page, even before the next rebuild; a change of the opt-out list or cache reloads what is shown,
as a new board does, and closes the page of a user who just opted out. Nothing here draws: ``screens`` lays a :class:`ViewState` out as text, and the curses UI
(``tui``), the ANSI snapshot (``ansi``) and the Textual app (``textual_app``) show it. Every name
read from a board passes through :func:`clean` (control characters escaped, non-ASCII too when
asked) before it is shown.

The keys are the table :data:`KEYS` (key names, action, what it does); backends translate their
key codes into those names and call :meth:`ViewState.press`.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

from ..boardfiles import Board, BoardFiles, Index, Row, index_path, load_index, signature
from ..errors import BoardError, NotShown
from .display import clean, window_title
from .pages import TextPage, compare_page, competition_ids, competition_page, records_page
from .players import Marks, PlayerPage, Selection, chart_lines, player_page, read_board

MIN_WIDTH, MIN_HEIGHT = 40, 8      # smaller terminals get "terminal too small"

CHROME = 5                         # title, meta, headings, status and footer lines

PROMPT_LIMIT = 64

# (key names, action, what it does): the help screen, the man page and every backend use this.
KEYS = (
    (("TAB",), "next_metric", "next skill board (Overall, CPU-core hours, ...)"),
    (("BTAB",), "prev_metric", "previous skill board"),
    (("w",), "next_window", "next window (all time, 7, 30, 365 days, month)"),
    (("W",), "prev_window", "previous window"),
    (("g",), "next_cluster", "next cluster (all clusters, then each one)"),
    (("G",), "prev_cluster", "previous cluster"),
    (("a",), "toggle_kind", "users or groups (SLURM accounts)"),
    (("s",), "toggle_sort", "sort direction: top first or bottom first"),
    (("d",), "next_gains", "gained column: each name's gain in 7, 30, 365 days, the month; off"),
    (("f",), "filter", "filter: only names containing the text (empty clears)"),
    (("/",), "search", "search: jump to the first name containing the text"),
    (("n",), "search_next", "next search match"),
    (("N",), "search_prev", "previous search match"),
    (("j", "DOWN"), "down", "move down"),
    (("k", "UP"), "up", "move up"),
    (("PGDN",), "page_down", "page down"),
    (("PGUP",), "page_up", "page up"),
    (("HOME",), "home", "first row"),
    (("END",), "end", "last row"),
    (("ENTER",), "open", "personal hiscores of the selected name"),
    (("R",), "records", "records: most gained in a day, week and month"),
    (("c",), "competitions", "competitions (again: the next one)"),
    (("ESC",), "back", "back (help, personal page); on a board: clear filter and search"),
    (("r",), "reload", "re-read the board files now"),
    (("?",), "help", "this help"),
    (("q",), "quit", "quit"),
)

KEY_LABELS = {"TAB": "Tab", "BTAB": "Shift-Tab", "DOWN": "Down", "UP": "Up", "PGDN": "PgDn",
              "PGUP": "PgUp", "HOME": "Home", "END": "End", "ENTER": "Enter", "ESC": "Esc"}

ACTIONS = {key: action for keys, action, _ in KEYS for key in keys}

HELP_NOTES = ("Filter and search ignore case. Prompts: Enter applies, Esc cancels.",
              "Esc never quits; q quits from every screen. Files are re-read when they change.")

_MOVES = ("down", "up", "page_down", "page_up", "home", "end")

SCREEN_ACTIONS = {
    "help": frozenset(_MOVES + ("back", "help")),
    "player": frozenset(_MOVES + ("back", "help", "reload", "next_window", "prev_window",
                                  "next_cluster", "prev_cluster", "records", "competitions")),
    "text": frozenset(_MOVES + ("back", "help", "reload", "next_cluster", "prev_cluster",
                                "toggle_kind", "records", "competitions")),
}

SCOPE_ACTIONS = frozenset(("next_cluster", "prev_cluster", "toggle_kind"))



def help_lines() -> List[str]:
    lines = []
    for keys, _, what in KEYS:
        label = " ".join(KEY_LABELS.get(key, key) for key in keys)
        lines.append(f"  {label:<11} {what}")
    return lines + [""] + [f"  {note}" for note in HELP_NOTES]



class Prompt:
    """A line being typed at the bottom: a filter or a search."""

    def __init__(self, kind: str, text: str = ""):
        self.kind = kind
        self.text = text

    @property
    def label(self) -> str:
        return "Filter" if self.kind == "filter" else "Search"



def _cycle(items: Sequence[str], current: str, step: int) -> str:
    if not items:
        return current
    position = items.index(current) if current in items else -1
    return items[(position + step) % len(items)]



class ViewState:
    """What the viewer shows: the board chosen, its rows after filter and sort, the selection,
    which screen (board, help or a personal page) and the one-line message."""

    def __init__(self, root: str, index: Index, selection: Selection,
                 files: Optional[BoardFiles] = None, gained: Optional[str] = None):
        self.root = root
        self.files = files if files is not None else BoardFiles(root)
        self.index = index
        self.index_sig = signature(index_path(root))
        self.sel = selection
        self.board: Optional[Board] = None
        self.board_sig: Optional[tuple] = None
        self.gained = gained            # the window of the gained column (None: none)
        self.gains: Dict[str, Row] = {}
        self.problem = ""
        self.rows: List[Row] = []
        self.selected = 0
        self.top = 0
        self.page_size = 10
        self.filter = ""
        self.search = ""
        self.reverse = False
        self.screen = "board"
        self.back_to = "board"
        self.help_top = 0
        self.player: Optional[PlayerPage] = None
        self.player_sigs: Optional[list] = None
        self.text: Optional[TextPage] = None    # records, a competition, two users compared
        self.text_source: Optional[Callable[[], TextPage]] = None
        self.text_top = 0
        self.contest: Optional[str] = None
        self.prompt: Optional[Prompt] = None
        self.message = ""
        self.alert = False
        self.ascii_only = False     # pages of text made for a terminal without UTF-8
        self.load()

    # files

    @property
    def clusters(self) -> List[str]:
        return ["all"] + self.index.clusters

    def load(self, keep: Optional[str] = None, fallback: int = 0) -> None:
        """Read the selected board, keeping `keep` selected when it is on it."""
        self.board_sig = self._board_signature()
        try:
            self.board = read_board(self.files, self.sel)
            self.problem = "" if self.board is not None else "no data"
        except BoardError as err:
            self.board, self.problem = None, f"unreadable: {clean(str(err))}"
        self.gains = self._gains()
        self.refilter(keep, fallback)

    def _gains(self) -> Dict[str, Row]:
        """Each name's row on the gained column's board (none when it cannot be read)."""
        if self.gained is None:
            return {}
        try:
            board = read_board(self.files, self.sel._replace(window=self.gained))
        except BoardError as err:
            self.note(f"unreadable: {clean(str(err))}", alert=True)
            return {}
        return {row.name: row for row in board.rows} if board is not None else {}

    def marks(self) -> Marks:
        """The gained column and the movement markers of the board on screen."""
        return Marks(self.gained, self.gains,
                     self.board is not None and self.board.previous_ranks)

    def show_gains(self, window: Optional[str]) -> None:
        """The gained column of `window` (None: none)."""
        self.gained = window
        self.load(self.current_name(), self.selected)

    def refresh(self, force: bool = False) -> bool:
        """Re-read whatever changed on disk (everything when `force`); True if anything did."""
        changed = False
        sig = signature(index_path(self.root))
        if force or sig != self.index_sig:
            self.index_sig = sig
            try:
                self.index = load_index(self.root)
                changed = True
            except BoardError as err:
                self.note(clean(str(err)), alert=True)
        if force or self._board_signature() != self.board_sig:
            self.load(self.current_name(), self.selected)
            changed = True
        if self.screen == "player" and self.player is not None and \
                (force or self.player_sigs != self._player_signatures()):
            self.show_player(self.player.name)
            changed = True
        if self.screen == "text" and self.text_source is not None and (force or changed):
            self._rebuild_text(self.text_source)
        return changed

    def reload_if_changed(self) -> bool:
        """:meth:`refresh` as the interactive backends run it every few seconds: the status line
        says the files changed, unless the refresh had something to warn about (a page left)."""
        previous = (self.message, self.alert)
        self.message, self.alert = "", False
        changed = self.refresh()
        if not self.alert:
            if changed:
                self.note("files changed: reloaded")
            else:
                self.message, self.alert = previous
        return changed

    def _board_signature(self) -> tuple:
        """What changes when the selected board (or the gained column's) or the opt-out list and
        cache change."""
        gains = self.sel._replace(window=self.gained).path(self.root) if self.gained else ""
        return (signature(self.sel.path(self.root)), self.files.optout_signature(),
                signature(gains) if gains else None)

    def _player_signatures(self) -> list:
        return [signature(self.sel.path(self.root, m)) for m in self.boards] + \
            [self.files.optout_signature(), signature(self.sel.progress_path(self.root))]

    def page_of(self, name: str) -> PlayerPage:
        """The personal page of `name` in the selected scope; BoardError when a board cannot be
        read, or when `name` opted out since it was shown."""
        if self.sel.kind == "users" and name in self.files.opted_out():
            raise NotShown(f"{name} is no longer on the boards")
        return player_page(self.files, self.sel, self.index.metrics, name, self.index.efficiency,
                           self.index.asof[:7])

    def show_player(self, name: str) -> None:
        try:
            self.player = self.page_of(name)
        except BoardError as err:
            self.leave_page(err)
            return
        self.player_sigs = self._player_signatures()
        if self.screen != "player":
            self.text_top = 0
        self.screen = "player"

    def leave_page(self, err: BoardError) -> None:
        """Back to the board, saying why: what the page showed can no longer be read as it is
        (an unreadable file, a user who opted out), so it is not kept on screen."""
        if self.screen in ("player", "text"):
            self.screen = "board"
            self.player = self.text = self.text_source = None
        shown = clean(str(err))
        self.note(shown if isinstance(err, NotShown) else f"unreadable: {shown}", alert=True)

    def show_text(self, source: Callable[[], TextPage]) -> None:
        """A page of text (records, a competition, two users compared), rebuilt by `source`
        whenever the files change."""
        self.text_source, self.text_top = source, 0
        if self._rebuild_text(source):
            self.screen = "text"

    def _rebuild_text(self, source: Callable[[], TextPage]) -> bool:
        try:
            self.text = source()
            return True
        except BoardError as err:
            self.leave_page(err)
            return False

    def show_compare(self, first: str, second: str) -> None:
        self.show_text(lambda: compare_page(self.page_of(first), self.page_of(second),
                                            self.ascii_only))

    def set_ascii(self, ascii_only: bool) -> None:
        """Make pages of text for a terminal that shows only ASCII (or every character)."""
        if ascii_only != self.ascii_only:
            self.ascii_only = ascii_only
            if self.text_source is not None:
                self._rebuild_text(self.text_source)

    # rows

    def refilter(self, keep: Optional[str] = None, fallback: int = 0) -> None:
        rows = self.board.rows if self.board is not None else []
        if self.filter:
            needle = self.filter.lower()
            rows = [row for row in rows if needle in row.name.lower()]
        self.rows = rows[::-1] if self.reverse else rows
        found = self._find_name(keep) if keep is not None else None
        self.selected = found if found is not None else fallback
        self.clamp()

    def _find_name(self, name: str) -> Optional[int]:
        return next((i for i, row in enumerate(self.rows) if row.name == name), None)

    def current_name(self) -> Optional[str]:
        return self.rows[self.selected].name if self.rows else None

    def clamp(self) -> None:
        self.selected = max(0, min(self.selected, len(self.rows) - 1))

    def fit_view(self, height: int) -> None:
        """Scroll so the selection is inside a list `height` rows tall."""
        self.page_size = max(1, height)
        self.clamp()
        if self.selected < self.top:
            self.top = self.selected
        elif self.selected >= self.top + self.page_size:
            self.top = self.selected - self.page_size + 1
        self.top = max(0, min(self.top, len(self.rows) - self.page_size))
        self.help_top = max(0, min(self.help_top, len(help_lines()) - self.page_size))
        self.text_top = max(0, min(self.text_top, self.text_length() - self.page_size))

    def text_length(self) -> int:
        """Lines of the scrolling page on screen (a personal page or a page of text)."""
        if self.screen == "player" and self.player is not None:
            return len(self.player.lines) + len(chart_lines(self.player)) + \
                len(self.player.extra)
        return len(self.text.lines) if self.screen == "text" and self.text is not None else 0

    def find(self, text: str, start: int, step: int) -> Optional[int]:
        """Index of the next row (from `start`, wrapping) whose name contains `text`."""
        needle = text.lower()
        count = len(self.rows)
        for offset in range(count):
            position = (start + offset * step) % count
            if needle in self.rows[position].name.lower():
                return position
        return None

    def note(self, message: str, alert: bool = False) -> None:
        self.message, self.alert = message, alert

    # keys

    def press(self, key: str) -> bool:
        """Handle one key (a name from KEYS or a typed character); False means quit."""
        if self.prompt is not None:
            self.prompt_key(self.prompt, key)
            return True
        action = ACTIONS.get(key)
        if action is None:
            return True
        if action == "quit":
            return False
        allowed = SCREEN_ACTIONS.get(self.screen)
        if self.screen == "text" and action in SCOPE_ACTIONS and \
                not (self.text is not None and self.text.scoped):
            return True
        if allowed is None or action in allowed:
            self.note("")
            getattr(self, "do_" + action)()
        return True

    def prompt_key(self, prompt: Prompt, key: str) -> None:
        """A key typed into `prompt`, the line being typed."""
        if key == "ENTER":
            self.prompt = None
            if prompt.kind == "filter":
                self.apply_filter(prompt.text)
            else:
                self.apply_search(prompt.text)
        elif key == "ESC":
            self.prompt = None
        elif key == "BACKSPACE":
            prompt.text = prompt.text[:-1]
        elif len(key) == 1 and key.isprintable() and len(prompt.text) < PROMPT_LIMIT:
            prompt.text += key

    def apply_filter(self, text: str) -> None:
        self.filter = text
        self.refilter(self.current_name())
        if text:
            total = len(self.board.rows) if self.board else 0
            self.note(f"{len(self.rows):,} of {total:,} match")
        else:
            self.note("filter cleared")

    def apply_search(self, text: str) -> None:
        self.search = text
        if text:
            self._jump(0, 1)

    def _jump(self, start: int, step: int) -> None:
        found = self.find(self.search, start, step) if self.rows else None
        if found is None:
            self.note(f"no name contains '{clean(self.search)}'", alert=True)
        else:
            self.selected = found

    def _switch(self, **changes) -> None:
        self.sel = self.sel._replace(**changes)
        self.top = 0
        self.load(self.current_name())
        if self.screen == "player" and self.player is not None:
            self.show_player(self.player.name)
        elif self.screen == "text" and self.text_source is not None:
            self._rebuild_text(self.text_source)

    def do_next_metric(self):
        self._switch(metric=_cycle(self.boards, self.sel.metric, 1))

    def do_prev_metric(self):
        self._switch(metric=_cycle(self.boards, self.sel.metric, -1))

    @property
    def boards(self) -> List[str]:
        """What TAB cycles through: the skills, then the efficiency boards."""
        return self.index.metrics + self.index.efficiency

    def do_next_window(self):
        self._switch(window=_cycle(self.index.windows, self.sel.window, 1))

    def do_prev_window(self):
        self._switch(window=_cycle(self.index.windows, self.sel.window, -1))

    def do_next_cluster(self):
        self._switch(cluster=_cycle(self.clusters, self.sel.cluster, 1))

    def do_prev_cluster(self):
        self._switch(cluster=_cycle(self.clusters, self.sel.cluster, -1))

    def do_toggle_kind(self):
        self._switch(kind="groups" if self.sel.kind == "users" else "users")

    def do_next_gains(self):
        windows = [window for window in self.index.windows if window != "alltime"]
        following = _cycle(windows + [""], self.gained or "", 1)
        self.show_gains(following or None)
        self.note(f"gained column: {window_title(following).lower()}" if following else
                  "gained column off")

    def do_toggle_sort(self):
        self.reverse = not self.reverse
        self.refilter(self.current_name())

    def do_filter(self):
        self.prompt = Prompt("filter", self.filter)

    def do_search(self):
        self.prompt = Prompt("search")

    def do_search_next(self):
        if self.search:
            self._jump(self.selected + 1, 1)

    def do_search_prev(self):
        if self.search:
            self._jump(self.selected - 1, -1)

    def _move(self, delta: int) -> None:
        if self.screen == "help":
            self.help_top = max(0, self.help_top + delta)
        elif self.screen in ("player", "text"):
            self.text_top = max(0, self.text_top + delta)
        else:
            self.selected += delta
            self.clamp()

    def do_down(self):
        self._move(1)

    def do_up(self):
        self._move(-1)

    def do_page_down(self):
        self._move(self.page_size)

    def do_page_up(self):
        self._move(-self.page_size)

    def do_home(self):
        self._move(-len(self.rows) - len(help_lines()))

    def do_end(self):
        self._move(len(self.rows) + len(help_lines()))

    def do_open(self):
        if not self.rows:
            self.note("nothing selected", alert=True)
        else:
            self.show_player(self.rows[self.selected].name)

    def do_back(self):
        if self.screen == "help":
            self.screen = self.back_to
        elif self.screen in ("player", "text"):
            self.screen = "board"
        elif self.filter or self.search:
            self.search = ""
            self.apply_filter("")

    def do_records(self):
        self.show_text(lambda: records_page(self.files, self.sel, self.ascii_only))

    def do_competitions(self):
        ids = competition_ids(self.files)
        if not ids:
            self.note("no competitions (see config/competitions.json in sb-rank(1))", alert=True)
            return
        following = self.screen == "text" and self.contest in ids
        self.contest = ids[(ids.index(self.contest) + 1) % len(ids)] if following else ids[0]
        contest = self.contest
        self.show_text(lambda: competition_page(self.files, contest, self.ascii_only))
        if self.screen == "text":
            self.note(f"competition {ids.index(contest) + 1} of {len(ids)}")

    def do_reload(self):
        self.refresh(force=True)
        if not self.alert:
            self.note("reloaded")

    def do_help(self):
        if self.screen == "help":
            self.screen = self.back_to
        else:
            self.back_to, self.screen, self.help_top = self.screen, "help", 0
