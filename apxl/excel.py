"""The Excel entry points: check and clear a workbook that is open in Excel, through xlwings.

`check(book)` reads every sheet through xlwings (so unsaved edits are what gets checked), validates the
grids with `apxl.validate`, and writes back in few calls: a Warnings sheet (one `range.value` call, each
row's Cell a HYPERLINK formula to the finding's cell), a fill per severity on the finding cells, and a
hidden record sheet holding the cells apxl filled and their original fills, so that `clear(book)` can
undo exactly that. `check_caller()` / `clear_caller()` are the RunPython wrappers.

Only the public xlwings API is used; xlwings itself is imported lazily (the core never imports it).
Notes are not written here: the VBA client of xlwings' remote engine cannot replay them, so notes live in
the annotated copy (`apxl validate FILE --annotate OUT`).

How the fills are written depends on the engine:
- desktop Excel (COM/AppleScript): one `sheet.range("A1,C5,...").color = ...` per colour and chunk of
  multi-area addresses (each address string under Excel's 255 characters); original colours are read
  cell by cell first;
- the remote engine (`xw.Book(json=...)`, xlwings Server/Lite): its actions are rectangles (a multi-area
  address silently becomes its first cell), so each sheet gets one `range.set_colors(matrix)` over the
  bounding box of its finding cells, `...` (keep) elsewhere. The remote engine cannot read a colour
  synchronously, so the original fills are recorded as None and clear sets those cells back to no fill.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .findings import Finding, Report

WARNINGS_NAME = "Warnings"
FALLBACK_NAME = "apxl Warnings"
RECORD_NAME = "apxl"
MARK = "apxl record"
RECORD_VERSION = 1
ADDRESS_LIMIT = 255          # Excel's longest address string for one Range
SET_COLORS_LIMIT = 10_000    # xlwings' most cells in one Range.set_colors call

# severity class -> fill (the annotated copy's colours)
COLOURS = {"error": "#FFC7CE", "warning": "#FFEB9C", "explained": "#D9D9D9", "info": "#DDEBF7"}
_RANK = {"error": 0, "warning": 1, "explained": 2, "info": 3}
_LABEL = {"error": "Error", "warning": "Warning", "explained": "Warning (explained)", "info": "Info"}
HEADERS = ["Severity", "Rule", "Record", "Message", "Sheet", "Cell", "Field", "Value"]
_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")


# ------------------------------------------------------------------------------------------ entry points


def check(book: Any, *, as_of: dt.date | str | None = None, checked: str | None = None) -> Report:
    """Check an open workbook and mark it: Warnings sheet, fills by severity, and apxl's record.

    Marks of an earlier check are undone first, so checking twice gives the same marks as once.
    Returns the report (the findings `apxl.validate` gives for the same workbook).
    """
    from .engine import validate
    from .reading import from_memory

    record = _read_record(book)
    if record is not None:
        _undo(book, record)
    grids = read_grids(book)
    workbook = from_memory(grids, source=str(getattr(book, "name", "<workbook>")))
    workbook.defined_names = _defined_names(book)
    report = validate(workbook, as_of=as_of)

    names = {s.name for s in book.sheets}
    marks: dict[str, dict[str, str]] = {}           # sheet -> cell -> severity class
    for f in report.findings:
        if f.sheet in names and f.cell and _CELL.match(f.cell):
            cell = f.cell.replace("$", "")
            klass = _klass(f)
            old = marks.setdefault(f.sheet, {}).get(cell)
            if old is None or _RANK[klass] < _RANK[old]:
                marks[f.sheet][cell] = klass

    originals = _read_colours(book, marks)
    title = _free_name(book, WARNINGS_NAME, FALLBACK_NAME)
    when = checked or dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    warnings = book.sheets.add(title, after=book.sheets[len(book.sheets) - 1])
    rows = warnings_rows(report, names, when)
    warnings.range("A1").value = rows

    for sheet_name, cells in marks.items():
        _paint(book.sheets[sheet_name], {cell: COLOURS[k] for cell, k in cells.items()})

    record_rows: list[list[Any]] = [[MARK, RECORD_VERSION, title, when]]
    for sheet_name, cells in marks.items():
        for cell, klass in cells.items():
            original = originals.get((sheet_name, cell))
            record_rows.append([sheet_name, cell, klass, original or ""])
    record_sheet = book.sheets.add(_free_name(book, RECORD_NAME, RECORD_NAME + " record"),
                                   after=book.sheets[len(book.sheets) - 1])
    record_sheet.range("A1").value = [[str(v) for v in r] for r in record_rows]
    record_sheet.visible = False
    return report


def clear(book: Any) -> bool:
    """Remove exactly what `check` added: its Warnings sheet, its fills (originals restored), its record.

    Returns False when the workbook holds no apxl record (nothing to clear).
    """
    record = _read_record(book)
    if record is None:
        return False
    _undo(book, record)
    return True


def check_caller() -> None:
    """RunPython entry point of the Check tracker button."""
    import xlwings as xw

    from . import process

    process.OWNED = True
    check(xw.Book.caller())


def clear_caller() -> None:
    """RunPython entry point of the Clear checks button."""
    import xlwings as xw

    from . import process

    process.OWNED = True
    clear(xw.Book.caller())


# ------------------------------------------------------------------------------------------ reading


def read_grids(book: Any, skip: set[str] | None = None) -> dict[str, list[list[Any]]]:
    """Every sheet's values from A1 to its last used cell, one read per sheet (apxl's own sheets left out)."""
    grids: dict[str, list[list[Any]]] = {}
    for sheet in book.sheets:
        if skip and sheet.name in skip:
            continue
        last = sheet.used_range.last_cell
        rows = sheet.range((1, 1), (last.row, last.column)).options(ndim=2, err_to_str=True).value or []
        grids[sheet.name] = [[_value(v) for v in row] for row in rows]
    return grids


_EXCEL_DAY_ZERO = dt.date(1899, 12, 30)
_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!", "#SPILL!", "#CALC!",
           "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"}


def _value(v: Any) -> Any:
    """A cell value as the file reader gives it: times of day as time, error values as CellError."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.replace(tzinfo=None)
        if v.date() == _EXCEL_DAY_ZERO:          # a time of day: Excel's serial 0.x
            return v.time()
        return v
    if isinstance(v, str) and v in _ERRORS:
        from .reading import CellError

        return CellError(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _defined_names(book: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = list(book.names)
    except Exception:          # an engine without names: nothing to learn from them
        return out
    for n in names:
        try:
            out[n.name] = str(n.refers_to)
        except Exception:
            continue
    return out


def _read_record(book: Any) -> dict[str, Any] | None:
    """apxl's record sheet, found by its mark in A1: its name, the Warnings sheet's, and the marked cells."""
    for sheet in book.sheets:
        first = sheet.range("A1").value
        if first != MARK:
            continue
        last = sheet.used_range.last_cell
        rows = sheet.range((1, 1), (last.row, max(last.column, 4))).options(ndim=2).value
        head = rows[0]
        cells = []
        for r in rows[1:]:
            if not r or not r[0]:
                continue
            original = r[3] if len(r) > 3 and r[3] not in (None, "") else None
            cells.append((str(r[0]), str(r[1]), str(r[2]), original))
        return {"sheet": sheet.name, "warnings": str(head[2]) if head[2] else None, "cells": cells}
    return None


def _read_colours(book: Any, marks: dict[str, dict[str, str]]) -> dict[tuple[str, str], str | None]:
    """The fills the finding cells have now; None for all when the engine cannot read a colour."""
    out: dict[tuple[str, str], str | None] = {}
    if _is_remote(book):
        return out                 # the remote engine raises NotImplementedError on a synchronous .color read
    for sheet_name, cells in marks.items():
        sheet = book.sheets[sheet_name]
        for cell in cells:
            try:
                colour = sheet.range(cell).color
            except NotImplementedError:
                return {}
            out[(sheet_name, cell)] = _hex(colour)
    return out


def _hex(colour: Any) -> str | None:
    if colour is None:
        return None
    if isinstance(colour, str):
        return colour if colour.startswith("#") else "#" + colour
    if isinstance(colour, int):
        colour = (colour & 0xFF, (colour >> 8) & 0xFF, (colour >> 16) & 0xFF)     # Excel's BGR integer
    r, g, b = colour
    return f"#{r:02X}{g:02X}{b:02X}"


# ------------------------------------------------------------------------------------------ writing


def warnings_rows(report: Report, sheet_names: set[str], checked: str) -> list[list[Any]]:
    """The Warnings sheet as rows from A1: summary line, header, one row per finding (Cell links to it)."""
    s = report.summary
    summary = (f"apxl: {s['error']} errors, {s['warning']} warnings, {s['explained']} explained warnings, "
               f"{s['info']} info; as at {report.as_of}; policy {report.policy}; checked {checked}")
    rows: list[list[Any]] = [[summary] + [""] * 7, list(HEADERS)]
    for f in sorted(report.findings, key=Finding.sort_key):
        cell: Any = _text(f.cell)
        if f.cell and f.sheet in sheet_names and _CELL.match(f.cell):
            target = "#" + _quote_sheet(f.sheet) + "!" + f.cell.replace("$", "")
            cell = f'=HYPERLINK("{target.replace(chr(34), chr(34) * 2)}","{f.cell}")'
        rows.append([_LABEL[_klass(f)], _text(f.rule), _text(f.record), _text(f.message), _text(f.sheet), cell,
                     _text(f.column), _text(f.value)])
    return rows


def _text(value: Any) -> str:
    """A value written as text: Excel would take a leading = + - @ as a formula, so it gets an apostrophe."""
    from .output import neutralise

    return neutralise("" if value is None else str(value)[:32767])


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _klass(f: Finding) -> str:
    if f.severity == "warning" and f.explained:
        return "explained"
    return f.severity if f.severity in _RANK else "info"


def _is_remote(book: Any) -> bool:
    try:
        return book.app.engine.name == "remote"
    except Exception:
        return False


def _free_name(book: Any, wanted: str, fallback: str) -> str:
    taken = {s.name.casefold() for s in book.sheets}
    if wanted.casefold() not in taken:
        return wanted
    title, k = fallback, 2
    while title.casefold() in taken:
        title = f"{fallback} {k}"
        k += 1
    return title


def _cell_key(cell: str) -> tuple[int, int]:
    m = _CELL.match(cell)
    assert m is not None
    n = 0
    for ch in m.group(1):
        n = n * 26 + ord(ch) - 64
    return int(m.group(2)), n


def _paint(sheet: Any, fills: dict[str, str | None]) -> None:
    """Set each cell's fill (None: no fill) in as few calls as the engine allows."""
    if not fills:
        return
    if _is_remote(sheet.book):
        for band in _bands({_cell_key(cell): colour for cell, colour in fills.items()}):
            r0 = min(r for r, _ in band)
            r1 = max(r for r, _ in band)
            c0 = min(c for _, c in band)
            c1 = max(c for _, c in band)
            matrix: list[list[Any]] = [[...] * (c1 - c0 + 1) for _ in range(r1 - r0 + 1)]
            for (r, c), colour in band.items():
                matrix[r - r0][c - c0] = colour
            sheet.range((r0, c0), (r1, c1)).set_colors(matrix)
        return
    by_colour: dict[str | None, list[str]] = {}
    for cell, colour in fills.items():
        by_colour.setdefault(colour, []).append(cell)
    for colour, cells in by_colour.items():
        for address in _chunks(sorted(cells, key=_cell_key)):
            sheet.range(address).color = colour


def _bands(cells: dict[tuple[int, int], str | None], limit: int = SET_COLORS_LIMIT) -> list[dict[tuple[int, int], str | None]]:
    """Split cells into bands of whole rows whose bounding boxes hold at most `limit` cells each."""
    bands: list[dict[tuple[int, int], str | None]] = []
    by_row: dict[int, list[tuple[int, int]]] = {}
    for key in cells:
        by_row.setdefault(key[0], []).append(key)
    band: dict[tuple[int, int], str | None] = {}
    top = c0 = c1 = 0
    for row in sorted(by_row):
        cols = [c for _, c in by_row[row]]
        lo, hi = (min(c0, *cols), max(c1, *cols)) if band else (min(cols), max(cols))
        if band and (row - top + 1) * (hi - lo + 1) > limit:
            bands.append(band)
            band = {}
            lo, hi = min(cols), max(cols)
        if not band:
            top = row
        c0, c1 = lo, hi
        for key in by_row[row]:
            band[key] = cells[key]
    if band:
        bands.append(band)
    return bands


def _chunks(cells: list[str], limit: int = ADDRESS_LIMIT) -> list[str]:
    """Comma-joined multi-area addresses, each at most `limit` characters."""
    out: list[str] = []
    current = ""
    for cell in cells:
        candidate = cell if not current else current + "," + cell
        if len(candidate) > limit and current:
            out.append(current)
            current = cell
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def _undo(book: Any, record: dict[str, Any]) -> None:
    """Restore the recorded fills and delete the Warnings and record sheets check added."""
    names = {s.name for s in book.sheets}
    by_sheet: dict[str, dict[str, str | None]] = {}
    for sheet_name, cell, _, original in record["cells"]:
        if sheet_name in names and _CELL.match(cell):
            by_sheet.setdefault(sheet_name, {})[cell] = original
    for sheet_name, fills in by_sheet.items():
        _paint(book.sheets[sheet_name], fills)
    for name in (record["warnings"], record["sheet"]):
        if name and name in {s.name for s in book.sheets}:
            book.sheets[name].delete()
