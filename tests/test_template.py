"""The template: built from schemas/, committed in workbooks/, validated clean, and WB007 for older versions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

import apxl
from apxl import TEMPLATE_VERSION
from apxl.errors import ApxlError
from apxl.schema import sheet_schemas
from apxl.template import (
    DATA_ROWS,
    LISTS_SHEET,
    SHEETS_NAME,
    VERSION_NAME,
    build_template,
    template_bytes,
    template_sheets,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbooks" / "template.xlsx"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("template") / "template.xlsx")


@pytest.fixture(scope="module")
def book(built: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(built)


def validations(ws) -> dict[str, object]:
    """sqref -> data validation, for one worksheet."""
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


def column(ws, index: int):
    """The <col> entry covering a 1-based column (openpyxl keeps a run of equal columns under its first)."""
    for dim in ws.column_dimensions.values():
        if dim.min is not None and dim.min <= index <= dim.max:
            return dim
    raise AssertionError(f"{ws.title}: no width or format for column {get_column_letter(index)}")


def list_values(book, name: str) -> list[str]:
    dn = book.defined_names[name]
    (sheet, ref), = dn.destinations
    return [str(c.value) for (c,) in book[sheet][ref.replace("$", "")]]


def test_sheets_in_order_with_lists_hidden(book):
    assert book.sheetnames == ["Start", *sheet_schemas(), LISTS_SHEET] == template_sheets()
    assert book.sheetnames[:11] == ["Start", "Setup", "Placements", "Providers", "Checklist", "Timetable",
                                    "Visits", "Attendance", "Term dates", "Explanations", "Lists"]
    assert book[LISTS_SHEET].sheet_state == "hidden"
    assert all(book[n].sheet_state == "visible" for n in book.sheetnames if n != LISTS_SHEET)
    assert book.active.title == "Start"


def test_headers_frozen_bold_and_filled(book):
    for name, schema in sheet_schemas().items():
        ws = book[name]
        assert ws.freeze_panes == "A2", name
        if schema.kind == "keyvalue":
            keys = [ws.cell(r, 1).value for r in range(2, 2 + len(schema.fields))]
            assert keys == [f.name for f in schema.fields]
            continue
        header = [c.value for c in ws[1]]
        assert header == [f.name for f in schema.fields], name
        for c in ws[1]:
            assert c.font.b and c.fill.fgColor.rgb not in (None, "00000000"), (name, c.coordinate)
        for i, f in enumerate(schema.fields, start=1):
            width = column(ws, i).width
            assert width >= len(f.name), (name, f.name, width)


def test_checklist_carries_every_item_in_order(book):
    items = sheet_schemas()["Checklist"].items
    assert len(items) == 20
    assert [c.value for c in book["Checklist"][1]] == ["Placement ID", *(i.name for i in items)]


def test_every_column_has_its_validation(book):
    for name, schema in sheet_schemas().items():
        if schema.kind == "keyvalue":
            continue
        dvs = validations(book[name])
        assert len(dvs) == len(schema.fields), name
        for i, f in enumerate(schema.fields, start=1):
            col = get_column_letter(i)
            dv = dvs[f"{col}2:{col}{DATA_ROWS}"]
            assert len(dv.promptTitle) <= 32 and dv.prompt and len(dv.prompt) <= 255, (name, f.name)
            assert dv.promptTitle == f.name or (dv.promptTitle.endswith("…") and dv.prompt.startswith(f.name))
            assert dv.showInputMessage
            if f.type in ("code", "yesno", "ncyear"):
                assert dv.type == "list" and dv.errorStyle == "warning", (name, f.name)
                values = list_values(book, dv.formula1)
                if f.type == "yesno":
                    assert values == ["Yes", "No"]
                elif f.type == "ncyear":
                    assert values == ["R", *(str(n) for n in range(1, 15))]
                else:
                    assert values == list(f.allowed), (name, f.name)
            elif f.type == "date":
                assert dv.type == "date" and dv.operator in (None, "between") and dv.errorStyle == "warning"
                assert (dv.formula1, dv.formula2) == ("36526", "73415")        # 2000-01-01 .. 2100-12-31
                assert column(book[name], i).number_format == "dd/mm/yyyy"
            elif f.type == "time":
                assert dv.type == "time" and dv.errorStyle == "warning"
                assert column(book[name], i).number_format == "hh:mm"
            elif f.type in ("hours", "number"):
                assert dv.type == "decimal" and float(dv.formula1) == f.min and float(dv.formula2) == f.max
            elif f.type == "integer":
                assert dv.type == "whole" and float(dv.formula1) == f.min and float(dv.formula2) == f.max
            elif f.type == "checkitem":
                assert dv.type == "custom" and "N/A" in dv.formula1 and f"ISNUMBER({col}2)" in dv.formula1
                assert "N/A" in dv.prompt
                assert column(book[name], i).number_format == "dd/mm/yyyy"
            else:
                assert dv.type is None, (name, f.name)          # text: an input message only


def test_specific_columns(book):
    dvs = validations(book["Placements"])
    assert dvs[f"G2:G{DATA_ROWS}"].formula1 == "apxl_list_Placements_SEN_status"
    assert dvs[f"H2:H{DATA_ROWS}"].formula1 == "apxl_list_yesno"
    assert dvs[f"O2:O{DATA_ROWS}"].type == "decimal"                   # AP hours per week 0..40
    assert (dvs[f"O2:O{DATA_ROWS}"].formula1, dvs[f"O2:O{DATA_ROWS}"].formula2) == ("0", "40")
    assert validations(book["Attendance"])[f"C2:C{DATA_ROWS}"].type == "whole"
    assert list_values(book, validations(book["Timetable"])[f"B2:B{DATA_ROWS}"].formula1) == \
        ["Mon", "Tue", "Wed", "Thu", "Fri"]


def test_setup_values(book):
    ws = book["Setup"]
    fields = sheet_schemas()["Setup"].fields
    dvs = validations(ws)
    for r, f in enumerate(fields, start=2):
        dv = dvs[f"B{r}"]
        assert dv.promptTitle == f.name
        if f.type == "date":
            assert dv.type == "date" and ws[f"B{r}"].number_format == "dd/mm/yyyy"
    urn = next(r for r, f in enumerate(fields, start=2) if f.name == "School URN")
    assert dvs[f"B{urn}"].type == "textLength" and dvs[f"B{urn}"].formula1 == "6"


def test_defined_names(book):
    assert book.defined_names[VERSION_NAME].attr_text == f'"{TEMPLATE_VERSION}"'
    assert book.defined_names[SHEETS_NAME].attr_text.strip('"').split("/") == template_sheets()


def test_start_sheet_says_what_to_do(book):
    text = "\n".join(str(c.value) for (c,) in book["Start"].iter_rows(max_col=1) if c.value)
    for words in ("Setup", "Providers", "Placements", "Checklist", "apxl validate", "Check tracker",
                  "Explanations", "apxl writes nothing else here"):
        assert words in text


def test_committed_template_is_fresh():
    """Fails when schemas/ (or the template code) changed without `python -m apxl.template workbooks/template.xlsx`."""
    assert COMMITTED.is_file(), "workbooks/template.xlsx is missing: python -m apxl.template workbooks/template.xlsx"
    assert COMMITTED.read_bytes() == template_bytes(), \
        "workbooks/template.xlsx is stale: rebuild it with python -m apxl.template workbooks/template.xlsx"


def test_build_is_deterministic():
    assert template_bytes() == template_bytes()


def test_template_validates_clean_but_for_setup_blanks(built):
    report = apxl.validate(built, as_of=dt.date(2026, 11, 30))
    assert report.template_version == TEMPLATE_VERSION
    rules = [f.rule for f in report.findings]
    assert not {"WB001", "WB002", "WB003", "WB007"} & set(rules)
    ce = sorted((f.rule, f.sheet, f.column) for f in report.findings if f.rule.startswith("CE"))
    required = [f.name for f in sheet_schemas()["Setup"].fields if f.required]
    assert ce == sorted(("CE001", "Setup", name) for name in required)


def test_committed_template_validates_the_same(built):
    a = apxl.validate(built, as_of=dt.date(2026, 11, 30))
    b = apxl.validate(COMMITTED, as_of=dt.date(2026, 11, 30))
    assert [(f.rule, f.cell) for f in a.findings] == [(f.rule, f.cell) for f in b.findings]


def test_older_template_gets_one_wb007(tmp):
    path = build_template(tmp / "old.xlsx", version="0.9")
    report = apxl.validate(path, as_of=dt.date(2026, 11, 30))
    assert report.template_version == "0.9"
    wb007 = [f for f in report.findings if f.rule == "WB007"]
    assert len(wb007) == 1
    (f,) = wb007
    assert f.severity == "warning" and f.cell is None and f.sheet is None and f.row is None
    assert "0.9" in f.message and TEMPLATE_VERSION in f.message
    assert "Changes since then: 1.0:" in f.message          # what changed
    assert "apxl upgrade" in f.message                      # how to upgrade


@pytest.mark.parametrize("version", [TEMPLATE_VERSION, "9.0", "not a version"])
def test_current_newer_or_unreadable_version_gets_no_wb007(tmp, version):
    path = build_template(tmp / "t.xlsx", version=version)
    assert not [f for f in apxl.validate(path, as_of=dt.date(2026, 11, 30)).findings if f.rule == "WB007"]


def test_own_tracker_without_version_gets_no_wb007(tmp):
    from workbooks import tracker, write_xlsx

    path = write_xlsx(tmp / "own.xlsx", tracker())
    report = apxl.validate(path, as_of=dt.date(2026, 11, 30))
    assert report.template_version is None
    assert not [f for f in report.findings if f.rule == "WB007"]
    memory = apxl.validate({"Setup": [["School name", "X"]]}, as_of=dt.date(2026, 11, 30))
    assert not [f for f in memory.findings if f.rule == "WB007"]


@pytest.mark.parametrize("name, words", [("t.xlsm", ".xlsm template"), ("t.csv", "ending in .xlsx"),
                                         ("missing/t.xlsx", "does not exist")])
def test_bad_paths_give_one_line_reasons(tmp, name, words):
    with pytest.raises(ApxlError) as err:
        build_template(tmp / name)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert not list(tmp.glob("**/*.xlsx")) and not list(tmp.glob("**/.apxl-*"))


def test_filled_template_checks_like_a_plain_tracker(tmp, built):
    """A school types a clean tracker into the template: apxl finds what it finds in the same data without it
    (the template's optional sheets are there, empty, so the plain tracker has them too)."""
    from workbooks import headers, tracker, write_xlsx

    data = tracker(**{name: [headers(name)] for name in ("Timetable", "Visits", "Attendance", "Term dates",
                                                          "Explanations")})
    plain = apxl.validate(write_xlsx(tmp / "plain.xlsx", data), as_of=dt.date(2026, 11, 30))
    book = openpyxl.load_workbook(built)
    setup = {row[0]: row[1] for row in data["Setup"][1:]}
    for r in range(2, book["Setup"].max_row + 1):
        key = book["Setup"].cell(r, 1).value
        if key in setup:
            book["Setup"].cell(r, 2).value = setup[key]
    for name in ("Placements", "Providers", "Checklist"):
        assert [c.value for c in book[name][1]] == data[name][0]
        for r, row in enumerate(data[name][1:], start=2):
            for c, value in enumerate(row, start=1):
                book[name].cell(r, c).value = None if value == "" else value
    book.save(tmp / "filled.xlsx")
    filled = apxl.validate(tmp / "filled.xlsx", as_of=dt.date(2026, 11, 30))

    def key(report):
        return sorted((f.rule, f.sheet, f.cell, f.message) for f in report.findings if f.rule != "WB008")

    assert key(filled) == key(plain)
    assert filled.template_version == TEMPLATE_VERSION


def _cli_has_template() -> bool:
    from apxl import cli

    sub = next(a for a in cli._parser()._actions if a.dest == "command")
    return "template" in sub.choices


@pytest.mark.skipif(not _cli_has_template(), reason="`apxl template` is not wired into apxl/cli.py yet")
def test_cli_template(tmp, capsys):
    from apxl.cli import main

    out = tmp / "tracker.xlsx"
    assert main(["template", str(out)]) == 0
    assert out.read_bytes() == template_bytes()
    for bad, words in ((tmp / "t.xlsm", ".xlsm"), (tmp / "t.txt", ".xlsx"), (tmp / "no" / "t.xlsx", "does not exist")):
        capsys.readouterr()
        assert main(["template", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("apxl: ") and words in err and err.count("\n") == 1
