"""apxl.excel driven through xlwings' remote engine (`_book(xw, payload)`), as upstream xlwings tests on Linux.

Each example workbook becomes the payload Excel's VBA client would send (sheet names, used-range values
from A1, dates and times as ISO strings, defined names). `check(book)` must find what `apxl.validate`
finds in the file, and the actions it queues (`book.json()`), replayed into a model of the workbook,
must write the Warnings rows and fill exactly the finding cells; `clear` must undo them.

The remote engine is xlwings PRO code (PolyForm Noncommercial): it is unlocked here, in the tests only,
with XLWINGS_LICENSE_KEY=noncommercial. When it cannot be started the tests fail, they never skip.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import os
import re
from pathlib import Path

import openpyxl
import pytest

import apxl
from apxl import excel
from apxl.annotate import _klass

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "workbooks" / "examples").glob("*.xlsx"))
@pytest.fixture(scope="module")
def tracker_1000(tmp_path_factory):
    """The benchmark's 1,000-placement tracker, made by bench/make_tracker.py (the same bytes every time)."""
    import subprocess
    import sys

    path = tmp_path_factory.mktemp("bench") / "tracker_1000_s20261130.xlsx"
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_tracker.py"), "1000", str(path), "--seed", "20261130"],
                   check=True, capture_output=True, timeout=300)
    return path
CHECKED = "2026-11-29 12:00"
ACTION_BAR = 50


@pytest.fixture
def xw(monkeypatch):
    """xlwings with its remote engine unlocked (the key is set for this test only)."""
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    try:
        xlwings = importlib.import_module("xlwings")
    except ImportError as exc:                       # pragma: no cover - a broken environment
        pytest.fail(f"xlwings is not installed ({exc}): pip install -e . installs it")
    if "remote" not in [e.name for e in xlwings.engines]:
        # xlwings was imported earlier without the key: register the remote engine now that it is set
        try:
            from xlwings.pro import _xlremote
            xlwings.engines.add(xlwings.Engine(impl=_xlremote.engine))
        except Exception as exc:                      # pragma: no cover
            pytest.fail(f"xlwings' remote engine is unavailable ({type(exc).__name__}: {exc}); "
                        "it needs XLWINGS_LICENSE_KEY=noncommercial and xlwings' pro package")
    return xlwings


# --------------------------------------------------------------------------------------------- payloads


def _json_value(v):
    """A cell value as Excel's VBA client sends it (Range.Value through its JSON converter)."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%dT00:00:00.000Z")
    if isinstance(v, dt.time):
        return "1899-12-30T" + v.strftime("%H:%M:%S") + ".000Z"     # a time is a Date on day zero
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    return str(v)


def payload_from_file(path: Path, version: str) -> dict:
    wb = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    for ws in wb.worksheets:
        values = [[_json_value(v) for v in row]
                  for row in ws.iter_rows(min_row=1, min_col=1, max_row=ws.max_row, max_col=ws.max_column,
                                          values_only=True)]
        sheets.append({"name": ws.title, "values": values or [[]], "pictures": [], "tables": [],
                       "visibility": "Visible" if ws.sheet_state == "visible" else "Hidden"})
    names = []
    for name, dn in wb.defined_names.items():
        text = dn.attr_text if dn.attr_text.startswith("=") else "=" + dn.attr_text
        names.append({"name": name, "sheet_index": None, "address": None, "book_scope": True,
                      "scope_sheet_name": None, "scope_sheet_index": None, "refers_to": text})
    wb.close()
    return {"client": "VBA", "version": version,
            "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
            "names": names, "sheets": sheets}


# --------------------------------------------------------------------------------------------- replaying


def _letters(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


class Model:
    """What the VBA/Office.js client would do with the queued actions, on a model of the workbook."""

    SUPPORTED = {"setValues", "setRangeColor", "setRangeColors", "addSheet", "sheetDelete", "setSheetVisibility"}

    def __init__(self, payload: dict) -> None:
        self.order = [s["name"] for s in payload["sheets"]]
        self.values: dict[str, dict[str, object]] = {}
        self.hidden = {s["name"] for s in payload["sheets"] if s.get("visibility", "Visible") != "Visible"}
        self.fills: dict[tuple[str, str], str | None] = {}
        for s in payload["sheets"]:
            cells = {}
            for r, row in enumerate(s["values"], start=1):
                for c, v in enumerate(row, start=1):
                    if v != "" and v is not None:
                        cells[f"{_letters(c)}{r}"] = v
            self.values[s["name"]] = cells

    def replay(self, actions: list[dict]) -> None:
        for a in actions:
            func = a["func"]
            assert func in self.SUPPORTED, f"unexpected action {func}"
            if func == "addSheet":
                pos, name = a["args"]
                self.order.insert(pos, name)
                self.values[name] = {}
                continue
            sheet = self.order[a["sheet_position"]]
            if func == "sheetDelete":
                self.order.remove(sheet)
                del self.values[sheet]
                self.hidden.discard(sheet)
                self.fills = {k: v for k, v in self.fills.items() if k[0] != sheet}
            elif func == "setSheetVisibility":
                (self.hidden.add if a["args"][0] != "Visible" else self.hidden.discard)(sheet)
            elif func == "setValues":
                for i, row in enumerate(a["values"]):
                    for j, v in enumerate(row):
                        ref = f"{_letters(a['start_column'] + j + 1)}{a['start_row'] + i + 1}"
                        if v == "" or v is None:
                            self.values[sheet].pop(ref, None)
                        else:
                            self.values[sheet][ref] = v
            elif func == "setRangeColor":
                for i in range(a["row_count"]):
                    for j in range(a["column_count"]):
                        self._fill(sheet, a["start_row"] + i, a["start_column"] + j, a["args"][0])
            elif func == "setRangeColors":
                matrix = a["args"][0]
                assert len(matrix) == a["row_count"] and all(len(r) == a["column_count"] for r in matrix)
                for i, row in enumerate(matrix):
                    for j, colour in enumerate(row):
                        if colour != "keep":
                            self._fill(sheet, a["start_row"] + i, a["start_column"] + j, colour)

    def _fill(self, sheet: str, row0: int, col0: int, colour: str | None) -> None:
        key = (sheet, f"{_letters(col0 + 1)}{row0 + 1}")
        if colour is None:
            self.fills.pop(key, None)
        else:
            self.fills[key] = colour.upper()

    def payload(self, version: str, name: str) -> dict:
        """The payload the client would send for the workbook as it now is."""
        sheets = []
        for sheet in self.order:
            cells = self.values[sheet]
            keys = [excel._cell_key(c) for c in cells]
            nrows = max((r for r, _ in keys), default=0)
            ncols = max((c for _, c in keys), default=0)
            grid = [[""] * ncols for _ in range(nrows)]
            for ref, v in cells.items():
                r, c = excel._cell_key(ref)
                grid[r - 1][c - 1] = v
            sheets.append({"name": sheet, "values": grid or [[]], "pictures": [], "tables": [],
                           "visibility": "Hidden" if sheet in self.hidden else "Visible"})
        return {"client": "VBA", "version": version,
                "book": {"name": name, "active_sheet_index": 0, "selection": "A1"}, "names": [], "sheets": sheets}


def _book(xw, payload: dict):
    """A remote-engine Book of a copy of `payload` (the engine edits the payload it is given)."""
    return xw.Book(json=copy.deepcopy(payload))


def _key(report) -> list[tuple]:
    return sorted((f.rule, f.sheet, f.cell, f.record) for f in report.findings)


def _expected_fills(report, sheet_names) -> dict[tuple[str, str], str]:
    rank = {"error": 0, "warning": 1, "explained": 2, "info": 3}
    best: dict[tuple[str, str], str] = {}
    for f in report.findings:
        if f.sheet in sheet_names and f.cell and re.match(r"^\$?[A-Z]{1,3}\$?\d+$", f.cell):
            key = (f.sheet, f.cell.replace("$", ""))
            if key not in best or rank[_klass(f)] < rank[best[key]]:
                best[key] = _klass(f)
    return {k: excel.COLOURS[v].upper() for k, v in best.items()}


# --------------------------------------------------------------------------------------------- tests


def test_remote_engine_is_there(xw):
    assert "remote" in [e.name for e in xw.engines], "xlwings' remote engine did not start"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_check_matches_validate_and_marks_the_finding_cells(xw, path):
    payload = payload_from_file(path, xw.__version__)
    book = _book(xw, payload)
    report = excel.check(book, checked=CHECKED)
    expected = apxl.validate(path)
    assert _key(report) == _key(expected)

    model = Model(payload)
    actions = book.json()["actions"]
    model.replay(actions)
    original = [s["name"] for s in payload["sheets"]]
    assert model.fills == _expected_fills(expected, set(original))

    # the Warnings sheet: one setValues call, summary, header, one row per finding linking to its cell
    assert model.order[:len(original)] == original
    warnings, record = model.order[len(original):]
    assert warnings == ("Warnings" if "warnings" not in {n.lower() for n in original} else "apxl Warnings")
    assert sum(1 for a in actions if a["func"] == "setValues" and model.order[a["sheet_position"]] == warnings) <= 1
    cells = model.values[warnings]
    assert cells["A1"].startswith("apxl: ")
    assert [cells[f"{c}2"] for c in "ABCDEFGH"] == excel.HEADERS
    assert f"A{len(expected.findings) + 3}" not in cells
    links = {}
    for n in range(3, len(expected.findings) + 3):
        assert cells[f"B{n}"]
        m = re.match(r"""^=HYPERLINK\("#'((?:[^']|'')+)'!([A-Z]+\d+)","([A-Z]+\d+)"\)$""", str(cells.get(f"F{n}", "")))
        if m:
            links[(m.group(1).replace("''", "'"), m.group(2))] = True
    linked = {(f.sheet, f.cell) for f in expected.findings if (f.sheet, f.cell) in _expected_fills(expected, set(original))}
    assert set(links) == linked
    # apxl's record: hidden, listing exactly the filled cells
    assert record in model.hidden
    rec = model.values[record]
    assert rec["A1"] == excel.MARK and rec["C1"] == warnings
    recorded = {(rec[f"A{r}"], rec[f"B{r}"]) for r in range(2, len(model.fills) + 2)}
    assert recorded == set(model.fills)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_clear_undoes_check_and_check_twice_is_check_once(xw, path):
    payload = payload_from_file(path, xw.__version__)
    book = _book(xw, payload)
    excel.check(book, checked=CHECKED)
    checked = Model(payload)
    checked.replay(book.json()["actions"])

    # the user presses Check tracker again: the same marks
    again = _book(xw, checked.payload(xw.__version__, path.name))
    excel.check(again, checked=CHECKED)
    twice = Model(checked.payload(xw.__version__, path.name))
    twice.replay(again.json()["actions"])
    assert twice.order == checked.order and twice.fills == checked.fills and twice.values == checked.values
    assert twice.hidden == checked.hidden

    # then Clear checks: back to the original sheets, values and (no) fills
    book2 = _book(xw, checked.payload(xw.__version__, path.name))
    assert excel.clear(book2) is True
    cleared = Model(checked.payload(xw.__version__, path.name))
    cleared.replay(book2.json()["actions"])
    fresh = Model(payload)
    assert cleared.order == fresh.order
    assert cleared.values == fresh.values
    assert cleared.fills == fresh.fills == {}
    assert cleared.hidden == fresh.hidden

    # nothing to clear on the original
    assert excel.clear(_book(xw, payload)) is False


def test_a_users_own_warnings_sheet_is_left_alone(xw):
    path = ROOT / "workbooks" / "examples" / "defects.xlsx"
    payload = payload_from_file(path, xw.__version__)
    payload["sheets"].append({"name": "Warnings", "values": [["my own notes"]], "pictures": [], "tables": []})
    book = _book(xw, payload)
    excel.check(book, checked=CHECKED)
    model = Model(payload)
    model.replay(book.json()["actions"])
    assert model.values["Warnings"] == {"A1": "my own notes"}
    assert "apxl Warnings" in model.order
    book2 = _book(xw, model.payload(xw.__version__, path.name))
    excel.clear(book2)
    model.replay(book2.json()["actions"])
    assert "Warnings" in model.order and "apxl Warnings" not in model.order
    assert model.values["Warnings"] == {"A1": "my own notes"}


def test_the_1000_placement_tracker_queues_at_most_50_actions(xw, tracker_1000):
    TRACKER_1000 = tracker_1000  # noqa: N806
    payload = payload_from_file(TRACKER_1000, xw.__version__)
    book = _book(xw, payload)
    report = excel.check(book, checked=CHECKED)
    expected = apxl.validate(TRACKER_1000)
    assert _key(report) == _key(expected)
    actions = book.json()["actions"]
    assert len(actions) <= ACTION_BAR, f"{len(actions)} actions queued"
    model = Model(payload)
    model.replay(actions)
    assert model.fills == _expected_fills(expected, {s["name"] for s in payload["sheets"]})

    book2 = _book(xw, model.payload(xw.__version__, TRACKER_1000.name))
    excel.clear(book2)
    assert len(book2.json()["actions"]) <= ACTION_BAR
    model.replay(book2.json()["actions"])
    assert model.fills == {} and model.order == [s["name"] for s in payload["sheets"]]


def test_multi_area_addresses_are_chunked_under_255_characters():
    cells = [f"{_letters(c)}{r}" for r in range(1, 400) for c in (1, 5)]
    chunks = excel._chunks(cells)
    assert all(len(c) <= excel.ADDRESS_LIMIT for c in chunks)
    assert ",".join(chunks).split(",") == cells


def test_bands_keep_each_set_colors_call_under_the_xlwings_limit():
    cells = {(r, c): "#FFC7CE" for r in range(1, 3001) for c in (1, 20)}
    bands = excel._bands(cells)
    assert sum(len(b) for b in bands) == len(cells)
    for b in bands:
        rows = [r for r, _ in b]
        cols = [c for _, c in b]
        assert (max(rows) - min(rows) + 1) * (max(cols) - min(cols) + 1) <= excel.SET_COLORS_LIMIT


def test_the_core_does_not_import_xlwings():
    import subprocess
    import sys

    code = "import apxl, apxl.excel, sys; apxl.validate; print('xlwings' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "XLWINGS_LICENSE_KEY"})
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ the desktop (COM) path, on a stand-in book


class _Cell:
    def __init__(self, row: int, column: int) -> None:
        self.row, self.column = row, column


class _FakeRange:
    """The part of xlwings' Range that apxl.excel uses, with Excel's multi-area addresses."""

    def __init__(self, sheet: _FakeSheet, cells: list[tuple[int, int]], shape: tuple[int, int]) -> None:
        self.sheet, self.cells, self.shape = sheet, cells, shape

    def options(self, **_):
        return self

    @property
    def last_cell(self):
        return _Cell(*self.cells[-1])

    @property
    def value(self):
        r0, c0 = self.cells[0]
        rows, cols = self.shape
        grid = [[self.sheet.data.get((r0 + i, c0 + j)) for j in range(cols)] for i in range(rows)]
        return grid if (rows, cols) != (1, 1) else grid[0][0]

    @value.setter
    def value(self, rows):
        self.sheet.book.calls.append("value")
        r0, c0 = self.cells[0]
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self.sheet.data[(r0 + i, c0 + j)] = v

    @property
    def color(self):
        assert len(self.cells) == 1
        self.sheet.book.calls.append("read color")
        return self.sheet.fills.get(self.cells[0])

    @color.setter
    def color(self, colour):
        self.sheet.book.calls.append("color")
        for cell in self.cells:
            if colour is None:
                self.sheet.fills.pop(cell, None)
            else:
                h = colour.lstrip("#")
                self.sheet.fills[cell] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


class _FakeSheet:
    def __init__(self, book, name, data=None):
        self.book, self.name, self.data, self.fills, self.visible = book, name, dict(data or {}), {}, True

    @property
    def used_range(self):
        keys = [k for k, v in self.data.items() if v not in (None, "")] or [(1, 1)]
        return _FakeRange(self, [(max(r for r, _ in keys), max(c for _, c in keys))], (1, 1))

    def range(self, a, b=None):
        if isinstance(a, tuple):
            b = b or a
            return _FakeRange(self, [a, b], (b[0] - a[0] + 1, b[1] - a[1] + 1))
        assert len(a) <= excel.ADDRESS_LIMIT, "an address Excel refuses"
        cells = [excel._cell_key(part) for part in a.split(",")]
        return _FakeRange(self, cells, (1, 1) if len(cells) == 1 else (0, 0))

    def delete(self):
        self.book.sheet_list.remove(self)


class _FakeSheets:
    def __init__(self, book):
        self.book = book

    def __iter__(self):
        return iter(list(self.book.sheet_list))

    def __len__(self):
        return len(self.book.sheet_list)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.book.sheet_list[key]
        return next(s for s in self.book.sheet_list if s.name == key)

    def add(self, name, before=None, after=None):
        sheet = _FakeSheet(self.book, name)
        self.book.sheet_list.insert(self.book.sheet_list.index(after) + 1, sheet)
        return sheet


class _FakeBook:
    class app:
        class engine:
            name = "excel"

    def __init__(self, path: Path):
        self.name, self.calls, self.names, self.sheet_list = path.name, [], [], []
        wb = openpyxl.load_workbook(path, data_only=True)
        for ws in wb.worksheets:
            data = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row if c.value is not None}
            self.sheet_list.append(_FakeSheet(self, ws.title, data))
        self.sheets = _FakeSheets(self)


def test_the_desktop_path_colours_by_multi_area_address_and_clear_restores_the_users_fills():
    path = ROOT / "workbooks" / "examples" / "rules-pl.xlsx"
    book = _FakeBook(path)
    expected = apxl.validate(path)
    fills = _expected_fills(expected, {s.name for s in book.sheet_list})
    own = sorted(fills)[0]                           # a finding cell the user had filled themselves
    book.sheets[own[0]].fills[excel._cell_key(own[1])] = (0, 176, 80)
    before = {s.name: (dict(s.data), dict(s.fills)) for s in book.sheet_list}

    report = excel.check(book, checked=CHECKED)
    assert _key(report) == _key(expected)
    painted = {(s.name, f"{_letters(c)}{r}"): "#{:02X}{:02X}{:02X}".format(*rgb)
               for s in book.sheet_list for (r, c), rgb in s.fills.items()}
    assert painted == fills
    colour_calls = book.calls.count("color")
    assert colour_calls < len(fills) / 5, "fills are not grouped into multi-area ranges"
    warnings = book.sheets["Warnings"]
    assert warnings.data[(2, 1)] == "Severity" and warnings.data[(3, 6)].startswith("=HYPERLINK(")
    record = next(s for s in book.sheet_list if s.data.get((1, 1)) == excel.MARK)
    assert record.visible is False

    assert excel.clear(book) is True
    assert {s.name: (s.data, s.fills) for s in book.sheet_list} == before
