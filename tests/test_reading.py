"""Reading every format into grids: the values, merged ranges, tables and error cells calamine alone misses."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import CORPUS

from apxl.reading import CellError, read_workbook

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside this checkout")


def first_column(path):
    wb = read_workbook(path)
    grid = next(iter(wb.sheets.values()))
    return [row[0] for row in grid.rows]


@pytest.mark.parametrize("name", ["date.xlsx", "date.xls", "date.xlsb", "date.ods", "date_1904.xlsx",
                                  "date_1904.xls", "date_1904.xlsb"])
def test_dates_read_the_same_in_every_format(name):
    values = first_column(CORPUS / name)
    assert values[0] in (dt.date(2021, 1, 1), dt.datetime(2021, 1, 1))
    assert values[1] in (dt.date(2021, 1, 2), dt.datetime(2021, 1, 1, 10, 10, 10))


@pytest.mark.parametrize("name", ["merge_cells.xlsx", "merge_cells.xls"])
def test_merged_ranges(name):
    grid = read_workbook(CORPUS / name).sheets["Sheet1"]
    assert (0, 0, 0, 1) in grid.merged and (1, 0, 3, 0) in grid.merged


def test_excel_tables_are_found():
    wb = read_workbook(CORPUS / "table-multiple.xlsx")
    tables = {t.name: t for g in wb.sheets.values() for t in g.tables}
    assert set(tables) == {"Inventory", "Pricing", "Sales_Bob", "Sales_Alice"}
    assert (tables["Inventory"].header_row, tables["Inventory"].first_col, tables["Inventory"].last_row) == (0, 0, 4)


def test_error_values_come_through_as_errors():
    grid = read_workbook(CORPUS / "errors.xlsx").sheets["Feuil1"]
    values = [row[0] for row in grid.rows]
    assert values == ["#DIV/0!", "#NAME?", "#VALUE!", "#NULL!", "#REF!", "#NUM!", "#N/A"]
    assert all(isinstance(v, CellError) for v in values)


def test_hidden_sheets_are_read_and_chart_sheets_left_out():
    wb = read_workbook(CORPUS / "any_sheets.xlsx")
    assert list(wb.sheets) == ["Visible", "Hidden", "VeryHidden"]
    assert wb.sheets["Visible"].visible and not wb.sheets["Hidden"].visible


def test_sheet_scan_finds_formulas_without_values_and_errors_with_any_prefix():
    from apxl.package import scan_sheet

    plain = (b'<worksheet><sheetData><row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1"><f>2+2</f></c>'
             b'<c r="C1" t="str"><f>""</f><v></v></c><c r="D1"><f t="shared" si="0"/><v></v></c>'
             b'<c r="E1" t="e"><f>NA()</f><v>#N/A</v></c></row></sheetData></worksheet>')
    peek = scan_sheet(plain)
    assert peek.formula_gaps == [(0, 1), (0, 3)]            # B1 and D1; A1, C1 (empty text) and E1 have values
    assert peek.errors == {(0, 4): "#N/A"}
    prefixed = plain.replace(b"<", b"<x:").replace(b"<x:/", b"</x:")
    assert scan_sheet(prefixed).formula_gaps == [(0, 1), (0, 3)]
    assert scan_sheet(b"<worksheet><sheetData/></worksheet>").formula_gaps == []
