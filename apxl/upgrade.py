"""`apxl upgrade OLD NEW`: a school's data moved into a fresh copy of the current template.

OLD is read the way `apxl validate` reads any tracker (an older template, or a school's own workbook
with a mapping file), and every value lands under the current template's header for its field, row by
row, in the order the school kept them; columns the contract does not know are left behind and named.
NEW is the current template built from schemas/ and then filled with openpyxl: the file loaded and saved
is apxl's own template, never the school's, so nothing of theirs can be dropped by the round trip.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ApxlError
from .layout import locate
from .mapping import load_mapping
from .reading import CellError, read_workbook
from .schema import sheet_schemas

DATE_FORMAT = "dd/mm/yyyy"
TIME_FORMAT = "hh:mm"


@dataclass
class Moved:
    rows: dict[str, int] = field(default_factory=dict)          # contract sheet -> data rows moved
    setup: int = 0                                              # Setup values moved
    left_behind: dict[str, list[str]] = field(default_factory=dict)  # workbook sheet -> headers not moved


def upgrade(old: str | os.PathLike[str], new: str | os.PathLike[str], *, mapping: str | None = None) -> Moved:
    """Write NEW: the current template holding OLD's data. Refuses to write over OLD."""
    old_path, new_path = Path(old), Path(new)
    if new_path.suffix.lower() != ".xlsx":
        raise ApxlError(f"{new}: write the upgraded tracker as .xlsx (the macro-enabled template comes from `apxl template`)")
    if new_path.exists() and old_path.exists() and os.path.samefile(old_path, new_path):
        raise ApxlError(f"{new}: that is the workbook being upgraded: give a new file name")
    workbook = read_workbook(old_path)
    layout = locate(workbook, load_mapping(mapping))
    from .template import build_template

    build_template(new_path)
    import openpyxl

    book = openpyxl.load_workbook(new_path)
    moved = Moved()
    schemas = sheet_schemas()
    for name, table in layout.tables.items():
        ws = book[name]
        header = [c.value for c in ws[1]]
        columns = {h: i + 1 for i, h in enumerate(header) if h}
        fields = [f.name for f in schemas[name].fields if f.name in table.raw and f.name in columns]
        for i in range(len(table)):
            for fname in fields:
                _put(ws.cell(row=i + 2, column=columns[fname]), table.raw[fname][i])
        moved.rows[name] = len(table)
        for source in table.sources:
            grid = workbook.sheets[source.sheet]
            row = grid.rows[source.header_row] if source.header_row < len(grid.rows) else []
            used = set(source.columns.values())
            extra = [str(v).strip() for c, v in enumerate(row) if c not in used and str(v).strip()]
            if extra and not table.derived_from:
                moved.left_behind.setdefault(source.sheet, []).extend(extra)
    setup = book["Setup"]
    rows = {setup.cell(row=r, column=1).value: r for r in range(2, setup.max_row + 1)}
    for key, item in layout.setup.items():
        if key in rows:
            _put(setup.cell(row=rows[key], column=2), item.value)
            moved.setup += 1
    book.save(new_path)
    return moved


def _put(cell: Any, value: Any) -> None:
    if value is None or value == "" or isinstance(value, CellError):
        return
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    cell.value = value
    if isinstance(value, (dt.date, dt.datetime)):
        cell.number_format = DATE_FORMAT
    elif isinstance(value, dt.time):
        cell.number_format = TIME_FORMAT
