"""Reading a workbook into grids of values, one per sheet, each value at its Excel position.

A grid is a list of rows starting at A1, so grid[r][c] is the cell at row r+1, column c+1. Files are
read through python-calamine (.xlsx, .xlsm, .xls, .xlsb, .ods); an in-memory workbook (sheet name ->
grid, as the Excel button reads it through xlwings, or sheet name -> DataFrame) becomes the same
structure, so both give the same findings. The input file is only ever opened for reading.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import ApxlError, UnreadableWorkbook
from .limits import check_package, check_peek
from .package import SheetPeek, read_package, read_part, scan_sheet

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@contextmanager
def _native_stderr_silenced():
    """Keep a Rust panic's message (and backtrace, with RUST_BACKTRACE set) off the user's screen.

    calamine reports a panic to Python as an exception, which apxl turns into a one-line reason; the
    panic hook's own text goes straight to file descriptor 2, so it is pointed at /dev/null meanwhile.
    """
    global _DEVNULL
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        if _DEVNULL is None:        # opened once per process: a check silences each of a dozen reads
            _DEVNULL = os.open(os.devnull, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        os.dup2(_DEVNULL, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_DEVNULL: int | None = None


class CellError(str):
    """An Excel error value (#N/A, #REF! ...) found in a cell: text that is not data."""


@dataclass
class TableRange:
    """An Excel Table (ListObject): its header row and data rows, 0-based and inclusive."""

    name: str
    header_row: int
    first_col: int
    last_row: int
    last_col: int


@dataclass
class SheetContent:
    rows: list[list[Any]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)   # r0, c0, r1, c1 (0-based)
    formula_gaps: list[tuple[int, int]] = field(default_factory=list)       # 0-based (row, col)
    errors: dict[tuple[int, int], str] | None = None    # Excel error cells; None: not known (search the values)


@dataclass
class SheetGrid:
    """One sheet. Its content is read on first use, so sheets apxl does not need cost nothing."""

    name: str
    loader: Callable[[], SheetContent] | None = None
    tables: list[TableRange] = field(default_factory=list)
    visible: bool = True
    _content: SheetContent | None = None
    on_release: Callable[[], None] | None = None   # e.g. close the file the loader reads from

    @property
    def content(self) -> SheetContent:
        if self._content is None:
            self._content = self.loader() if self.loader else SheetContent(rows=[])
        return self._content

    @property
    def rows(self) -> list[list[Any]]:
        return self.content.rows

    def release(self) -> None:
        """Let go of the cell values once the tables hold what they need (keeps merges and formulas)."""
        if self._content is not None:
            self._content.rows = []
        if self.on_release is not None:
            self.on_release()

    @property
    def merged(self) -> list[tuple[int, int, int, int]]:
        return self.content.merged

    @property
    def formula_gaps(self) -> list[tuple[int, int]]:
        return self.content.formula_gaps


@dataclass
class Workbook:
    """The sheets of one workbook as grids, and what the file says about itself."""

    source: str
    format: str                                   # xlsx, xlsm, xls, xlsb, ods or memory
    sheets: dict[str, SheetGrid]
    defined_names: dict[str, str] = field(default_factory=dict)

    @property
    def template_version(self) -> str | None:
        raw = self.defined_names.get("apxl_template_version")
        return raw.strip('="') if raw else None


def from_memory(data: Mapping[str, Any], source: str = "<workbook>") -> Workbook:
    """An in-memory workbook: sheet name -> grid (list of rows from A1) or pandas DataFrame."""
    sheets: dict[str, SheetGrid] = {}
    for name, value in data.items():
        if hasattr(value, "columns") and hasattr(value, "itertuples"):
            rows = [list(value.columns)] + [list(r) for r in value.itertuples(index=False, name=None)]
        else:
            rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in (value or [])]
        rows = [[("" if _missing(v) else v) for v in r] for r in rows]
        sheets[str(name)] = SheetGrid(name=str(name), _content=SheetContent(rows=rows))
    return Workbook(source=source, format="memory", sheets=sheets)


def _missing(value: Any) -> bool:
    """None, NaN, NaT and pd.NA: what a DataFrame or xlwings gives for an empty cell."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def _sniff(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except IsADirectoryError:
        raise ApxlError(f"{path} is a folder, not a workbook: give the path of one file (or use apxl batch)") from None
    except PermissionError:
        raise ApxlError(f"{path} cannot be opened: permission denied. Check you can open it, or copy it somewhere you can") from None
    if not head:
        raise UnreadableWorkbook(path, "the file is empty (0 bytes)", "Ask for the workbook to be sent again")
    if head.startswith(b"PK"):
        return "zip"
    if head == _OLE_MAGIC:
        return "ole"
    return "other"


def _classify(path: str, exc: BaseException, kind: str) -> UnreadableWorkbook:
    name = type(exc).__name__
    text = str(exc)
    if name == "PasswordError" or "password" in text.lower():
        return UnreadableWorkbook(path, "it is password-protected (encrypted)",
                                  "Save a copy without the password and check that copy")
    if kind == "ole" and path.lower().endswith((".xlsx", ".xlsm")):
        return UnreadableWorkbook(path, "it is encrypted or is an old-format file named as .xlsx",
                                  "Remove the password or save it again from Excel as .xlsx")
    if kind == "other":
        return UnreadableWorkbook(path, "it is not a spreadsheet (perhaps a CSV or text file renamed)",
                                  "Open it in Excel and save it as .xlsx")
    error_value = re.search(r"(?i)unsupported cell error value '?(#[A-Z_/0!?]+)", text)
    if error_value:     # Excel 365's newer error values (#SPILL!, #CALC! ...), which the reader does not know
        return UnreadableWorkbook(path, f"a cell holds the Excel error {error_value.group(1)}, which apxl's reader "
                                  "cannot read", "Fix or clear the formulas that show it (Find: "
                                  f"{error_value.group(1)}), save, and check again")
    if "decode" in text.lower() and ("utf-8" in text.lower() or "utf8" in text.lower()):
        return UnreadableWorkbook(path, "some of its text is not in a character encoding Excel writes (not UTF-8)",
                                  "Open it in Excel and save it again as .xlsx")
    if kind == "zip":
        return UnreadableWorkbook(path, "it is damaged or is not an Excel workbook (the zip package is incomplete or corrupt)",
                                  "Open it in Excel, repair it if asked, and save it again")
    return UnreadableWorkbook(path, f"it is damaged or in a form apxl cannot read ({name})",
                              "Open it in Excel and save it again as .xlsx")


def read_workbook(path: str | os.PathLike[str]) -> Workbook:
    """Open a spreadsheet file for reading; sheets are read when first used."""
    import python_calamine as pc

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ApxlError(f"{path}: no such file. Check the path and try again")
    kind = _sniff(path)
    parts = _Parts(path)
    if kind == "zip":           # sizes, ratio and DTDs from the central directory, before anything is inflated
        parts.zf = check_package(path, keep=True)
    suffix = os.path.splitext(path)[1].lower()
    fmt = {"zip": suffix.lstrip(".") if suffix in (".xlsx", ".xlsm", ".xlsb", ".ods") else "xlsx", "ole": "xls"}.get(kind, suffix.lstrip("."))
    package = None
    if kind == "zip" and fmt in ("xlsx", "xlsm"):
        try:
            package = read_package(parts.open())
        except (zipfile.BadZipFile, OSError, KeyError, ValueError):
            package = None
            parts.close()
    if package is None:
        parts.close()
    # Ask calamine for Excel Tables only where the package has table parts (it panics on some others).
    with_tables = package is not None and package.has_tables
    try:
        with _native_stderr_silenced():
            book = pc.CalamineWorkbook.from_path(path, load_tables=with_tables)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine raises its own errors, and a Rust panic is a BaseException
        if not with_tables:
            raise _classify(path, exc, kind) from None
        try:
            with _native_stderr_silenced():
                book = pc.CalamineWorkbook.from_path(path)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc2:  # noqa: BLE001
            raise _classify(path, exc2, kind) from None
        with_tables = False

    sheet_parts = package.sheet_parts if package else {}

    def loader_for(name: str) -> Callable[[], SheetContent]:
        def load() -> SheetContent:
            # the sheet's XML is scanned (and let go) before calamine builds its values: a lower peak
            peek = _peek_part(parts, sheet_parts[name]) if name in sheet_parts else None
            if peek is not None:    # calamine builds the used range densely: refuse one too big first
                check_peek(path, name, peek, sheet_parts[name], package.shared_strings if package else None)
            try:
                with _native_stderr_silenced():
                    sheet = book.get_sheet_by_name(name)
                    rows = sheet.to_python(skip_empty_area=False)
                    merged = sheet.merged_cell_ranges if fmt in ("xlsx", "xlsm", "xls") else None
                    del sheet
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - calamine errors and panics
                raise _classify(path, exc, kind) from None
            content = SheetContent(rows=rows, merged=[(a[0], a[1], b[0], b[1]) for a, b in (merged or [])])
            if name in sheet_parts:
                if peek is not None:
                    content.formula_gaps = peek.formula_gaps
                    content.errors = {}
                    for (r, c), text in peek.errors.items():
                        if r < len(rows) and c < len(rows[r]):
                            rows[r][c] = CellError(text)
                            content.errors[(r, c)] = text
            return content
        return load

    sheets: dict[str, SheetGrid] = {}
    try:
        metadata = book.sheets_metadata
    except BaseException as exc:  # noqa: BLE001
        raise _classify(path, exc, kind) from None
    for meta in metadata:
        if meta.typ == pc.SheetTypeEnum.ChartSheet:
            continue
        sheets[meta.name] = SheetGrid(name=meta.name, loader=loader_for(meta.name),
                                      visible=meta.visible == pc.SheetVisibleEnum.Visible, on_release=parts.close)

    try:
        for tname in (book.table_names or ()) if with_tables else ():
            t = book.get_table_by_name(tname)
            if t.sheet in sheets:
                sheets[t.sheet].tables.append(TableRange(tname, t.start[0] - 1, t.start[1], t.end[0], t.end[1]))
    except BaseException:  # noqa: BLE001 - no tables, or a format without them
        pass
    return Workbook(source=path, format=fmt, sheets=sheets, defined_names=package.defined_names if package else {})


class _Parts:
    """The file's zip package, opened once for the package and every sheet's scan (not once a sheet),
    and closed when the workbook's values are released (opened again should a sheet be read later)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.zf: zipfile.ZipFile | None = None

    def open(self) -> zipfile.ZipFile:
        if self.zf is None:
            self.zf = zipfile.ZipFile(self.path)
        return self.zf

    def close(self) -> None:
        if self.zf is not None:
            zf, self.zf = self.zf, None
            zf.close()


def _peek_part(parts: _Parts, part: str) -> SheetPeek | None:
    try:
        return scan_sheet(read_part(parts.open(), part))
    except zipfile.BadZipFile:     # zipfile stops at the declared size and checks the CRC: calamine would not
        raise UnreadableWorkbook(parts.path, f"{part} unpacks to more or other than its zip directory says "
                                 "(damaged, or a zip bomb)", "Open it in Excel, repair it if asked, and save it "
                                 "again") from None
    except (KeyError, OSError, ValueError, NotImplementedError):
        return None
