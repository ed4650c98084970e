"""sb-view's Textual backend: the same ViewState in a DataTable (needs the optional `textual`).

The table moves its own cursor (arrows, PgUp/PgDn, Home/End) and Enter opens the selected
name's personal hiscores; the other keys are the curses view's, passed to ViewState.press.
Filter and search prompts are the curses view's only.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from . import display, model, screens
from .model import ViewState

RELOAD_SECONDS = 2.0
WIDE = 200          # columns are laid out as if this wide; the table scrolls sideways

# (Textual key, sb-view key name, label in the footer; empty: not shown)
KEYS = (("tab", "TAB", "Skill"), ("shift+tab", "BTAB", ""), ("w", "w", "Window"), ("W", "W", ""),
        ("g", "g", "Cluster"), ("G", "G", ""), ("a", "a", "Users/groups"), ("s", "s", "Sort"),
        ("d", "d", "Gains"),
        ("r", "r", "Reload"), ("question_mark", "?", "Help"), ("escape", "ESC", "Back"),
        ("j", "j", ""), ("k", "k", ""), ("home", "HOME", ""), ("end", "END", ""),
        ("q", "q", "Quit"))


class HiscoresApp(App):
    """Title, scope, the table, a status line and the key footer."""

    CSS = """
    Screen { background: #000000; }
    #title { background: #875f00; color: #ffff00; text-style: bold; padding: 0 1; }
    #meta, #status { color: #d7af87; padding: 0 1; }
    DataTable { background: #000000; color: #ffd7af; height: 1fr; }
    DataTable > .datatable--header { background: #000000; color: #ffff00; text-style: bold; }
    DataTable > .datatable--cursor { background: #ffd700; color: #000000; }
    """
    BINDINGS = [Binding(key, f"press('{name}')", label, show=bool(label), priority=True)
                for key, name, label in KEYS]

    def __init__(self, state: ViewState):
        super().__init__()
        self.state = state
        # what the table holds, so moving the cursor keeps it
        self.shown: Optional[Tuple[object, ...]] = None

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        yield Static(id="meta", markup=False)
        yield DataTable(id="table", cursor_type="row")
        yield Static(id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(RELOAD_SECONDS, self.poll)
        self.redraw()

    def action_press(self, name: str) -> None:
        self.take_cursor()
        if not self.state.press(name):
            self.exit(0)
            return
        self.redraw()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.state.screen == "board":
            self.state.selected = event.cursor_row
            self.state.press("ENTER")
            self.redraw()

    def poll(self) -> None:
        self.take_cursor()
        if self.state.reload_if_changed():
            self.redraw()

    def take_cursor(self) -> None:
        if self.state.screen == "board":
            self.state.selected = self.query_one(DataTable).cursor_row

    def redraw(self) -> None:
        state = self.state
        table = self.query_one(DataTable)
        shown = (state.screen, state.sel, state.reverse, state.filter, id(state.board),
                 id(state.player), state.gained)
        if shown != self.shown:
            self.shown = shown
            table.clear(columns=True)
            self.fill(table)
        if state.screen == "board" and state.rows:
            table.move_cursor(row=state.selected)
        self.query_one("#title", Static).update(self.title_text())
        self.query_one("#meta", Static).update(self.meta_text())
        self.query_one("#status", Static).update(display.clean(state.message))

    def fill(self, table: DataTable) -> None:
        state = self.state
        if state.screen == "help":
            table.add_columns("Keys and actions")
            table.add_rows([Text(line)] for line in model.help_lines())
        elif state.screen == "player" and state.player is not None:
            columns = screens.player_columns(state.player, WIDE)[1:]
            _add(table, columns, [[screens.skill_cell(line, c.key) for c in columns]
                                  for line in state.player.lines])
        else:
            marks = state.marks()
            columns = screens.board_columns(state.board, state.sel, WIDE, marks)[1:]
            _add(table, columns, [[screens.row_cell(row, c.key, state.sel.metric, False, marks)
                                   for c in columns] for row in state.rows])

    def title_text(self) -> str:
        state = self.state
        if state.screen == "help":
            return "Hiscores: keys"
        if state.screen == "player" and state.player is not None:
            return f"{screens.player_title(state.player, False)}   " \
                f"as of {display.when(state.player.asof)}"
        asof = state.board.asof if state.board is not None else state.index.asof
        return f"{screens.board_title(state.sel)}   as of {display.when(asof)}"

    def meta_text(self) -> str:
        state = self.state
        if state.screen == "help":
            return "Esc or ? goes back"
        if state.screen == "player" and state.player is not None:
            return screens.scope_text(state.player.selection, WIDE)
        meta = screens.scope_text(state.sel, WIDE)
        return meta if state.rows else f"{meta}   ({screens.empty_text(state)})"


def _add(table: DataTable, columns: List[screens.Column], rows: List[List[str]]) -> None:
    """The columns, each as wide as its widest cell (given, not measured by the table as rows
    arrive, which could leave a column cut after the table was cleared), and the rows."""
    for index, column in enumerate(columns):
        widest = max((display.text_width(cells[index]) for cells in rows), default=0)
        table.add_column(column.title, width=max(widest, display.text_width(column.title)))
    table.add_rows([_cell(text, column) for text, column in zip(cells, columns)]
                   for cells in rows)


def _cell(text: str, column: screens.Column) -> Text:
    return Text(text, justify="left" if column.align == "<" else "right")


def run(state: ViewState) -> int:
    HiscoresApp(state).run()
    return 0
