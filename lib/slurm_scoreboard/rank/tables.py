"""Board rows for people and spreadsheets: NDJSON, CSV or TSV, with the columns chosen the way
sacct's ``-o`` chooses them (``-o rank,user,value``)."""
from __future__ import annotations

import csv
import io
from typing import BinaryIO, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import orjson

from ..boardfiles import APART, RATIO_BOARDS
from ..core.names import safe_text
from ..errors import UsageError
from . import queries

FORMATS = ("ndjson", "csv", "tsv")
USER_COLUMNS = ("rank", "user", "value", "level", "virtual_level", "xp")
GROUP_COLUMNS = ("rank", "account", "members", "value", "level", "virtual_level", "xp")
# The efficiency ratio boards (efficiency.py): a percent, and what it was measured on.
RATIO_COLUMNS = ("rank", "user", "value", "cpu_hours", "jobs")
GROUP_RATIO_COLUMNS = ("rank", "account", "members", "value", "cpu_hours", "jobs")


_LEVELS = ("level", "virtual_level", "xp")


def board_columns(metric: str, groups: bool) -> Tuple[str, ...]:
    """The columns one board's rows have: a ratio board's percent and what it was measured on
    (GPU hours for the GPU board), no levels on a board apart, no virtual level on overall."""
    if metric in RATIO_BOARDS:
        columns: Tuple[str, ...] = GROUP_RATIO_COLUMNS if groups else RATIO_COLUMNS
        if metric == "gpu_utilization":
            return tuple("gpu_hours" if c == "cpu_hours" else c for c in columns)
        return columns
    columns = GROUP_COLUMNS if groups else USER_COLUMNS
    if metric in APART:
        return tuple(c for c in columns if c not in _LEVELS)
    if metric == "overall":
        return tuple(c for c in columns if c != "virtual_level")
    return columns
SKILL_COLUMNS = ("metric", "rank", "value", "level", "virtual_level", "xp")


def parse_columns(text: Optional[str], available: Sequence[str]) -> List[str]:
    """The columns named in ``a,b,c`` (case-insensitive), all of `available` when None;
    ValueError naming the ones that do not exist."""
    if text is None:
        return list(available)
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if not names or unknown:
        raise ValueError(f"unknown column {', '.join(unknown) or '(none given)'} "
                         f"(known: {','.join(available)})")
    return names


def _cell(value) -> str:
    """A cell as text; names are untrusted, so control characters are escaped."""
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value, limit=1000)
    return repr(value) if isinstance(value, float) else str(value)


def write(rows: Iterable[dict], out: BinaryIO, fmt: str, columns: Sequence[str],
          header: bool = True) -> None:
    """Write `rows` (dicts) to the binary stream `out`, one line each."""
    if fmt == "ndjson":
        for row in rows:
            out.write(orjson.dumps({key: row.get(key) for key in columns},
                                   option=orjson.OPT_APPEND_NEWLINE))
        return
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, delimiter="," if fmt == "csv" else "\t", lineterminator="\n",
                        quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key in columns])
    text.detach()


class Shape(NamedTuple):
    """How rows are written: the format, the columns asked for (``-o``; None: all) and whether
    csv and tsv start with a header line."""
    format: str = "ndjson"
    columns: Optional[str] = None
    header: bool = True

    def chosen(self, available: Sequence[str]) -> List[str]:
        try:
            return parse_columns(self.columns, available)
        except ValueError as err:
            raise UsageError(f"-o: {err}") from None


def write_board(rows: List[dict], out: BinaryIO, metric: str, groups: bool, shape: Shape) -> None:
    """One board's rows: NDJSON as the board file holds them, or the columns asked for."""
    if shape.format == "ndjson" and shape.columns is None:
        for row in rows:
            out.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
        return
    write(rows, out, shape.format, shape.chosen(board_columns(metric, groups)), shape.header)


def write_page(page: dict, out: BinaryIO, shape: Shape) -> None:
    """A personal page: one JSON object, or with csv or tsv one row per skill (overall
    first)."""
    if shape.format == "ndjson":
        out.write(orjson.dumps(page, option=orjson.OPT_APPEND_NEWLINE))
        return
    rows = [dict(page["overall"] or {}, metric="overall")] + page["skills"]
    write(rows, out, shape.format, shape.chosen(SKILL_COLUMNS), shape.header)


def write_answer(answer, out: BinaryIO, query: "queries.Query", shape: Shape) -> None:
    """What sb-rank was asked, on `out`: a board's rows, a personal page, or two pages side by
    side (two names: --compare)."""
    if not query.names:
        write_board(answer, out, query.board_metric(), query.groups, shape)
    elif len(query.names) > 1:
        out.write(orjson.dumps(queries.comparison(*answer), option=orjson.OPT_APPEND_NEWLINE))
    else:
        write_page(answer[0], out, shape)
