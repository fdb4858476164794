"""Reading every format into grids: the values, merged ranges, tables and error cells calamine alone misses."""

from __future__ import annotations

import datetime as dt

import pytest

from apxl.reading import CellError, read_workbook
from conftest import CORPUS

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
