"""apxl.validate on workbooks: every WB and CE rule fires where it should and nowhere else."""

from __future__ import annotations

import datetime as dt

import pytest

import apxl
from workbooks import checklist_row, headers, placement_row, provider_row, setup_rows, tracker, write_xlsx

AS_OF = dt.date(2026, 11, 30)
CELL_RULES = ("WB", "CE")


def cell_findings(report, families=CELL_RULES):
    return [f for f in report.findings if f.rule.startswith(families) and f.rule != "WB008"]


def keyed(report, families=CELL_RULES):
    return sorted((f.rule, f.sheet, f.cell) for f in cell_findings(report, families))


def test_clean_contract_workbook_has_no_cell_findings(tmp):
    path = write_xlsx(tmp / "t.xlsx", tracker())
    report = apxl.validate(path, as_of=AS_OF)
    assert keyed(report) == []
    # optional sheets absent: one WB008 each, saying which checks were skipped
    wb008 = [f for f in report.findings if f.rule == "WB008"]
    assert len(wb008) == 4 and all(f.cell is None and f.severity == "info" for f in wb008)
    assert any("Timetable" in f.message and "HR005" in f.message for f in wb008)


def test_file_and_in_memory_workbook_give_the_same_findings(tmp):
    book = tracker(placements=[placement_row("P-1", **{"Start date": "03/09/2026", "SEN status": "x"}),
                               placement_row("P-1", Surname="", **{"AP hours per week": 45})])
    path = write_xlsx(tmp / "t.xlsx", book)
    from_file = apxl.validate(path, as_of=AS_OF)
    from_memory = apxl.validate(book, as_of=AS_OF)
    strip = lambda r: [(f.rule, f.sheet, f.cell, f.record, f.value, f.message) for f in r.findings]  # noqa: E731
    assert strip(from_file) == strip(from_memory)
    assert len(from_file.findings) > 4


def test_each_cell_rule_points_at_its_cell_with_record_and_message(tmp):
    rows = [
        placement_row("P-1", Surname=""),                                   # CE001 C2
        placement_row("P-2", **{"Start date": "TBC"}),                       # CE002 L3
        placement_row("P-3", **{"Start date": "03/09/2026"}),                # CE003 L4
        placement_row("P-4", **{"SEN status": "X"}),                         # CE004 G5
        placement_row("P-5", **{"AP hours per week": 45}),                   # CE005 O6
        placement_row("P-1"),                                                # CE006 A7
        placement_row("P-7", **{"Actual end date": "n/a"}),                  # CE002 N8 ("n/a" is not lost)
    ]
    book = tracker(placements=rows, checklist=[checklist_row(f"P-{i}") for i in range(1, 8)]
                   + [checklist_row("P-8", **{"Pre-placement visit": "Y", "Insurance seen": "N/A"})])
    report = apxl.validate(write_xlsx(tmp / "t.xlsx", book), as_of=AS_OF)
    got = {(f.rule, f.sheet, f.cell): f for f in cell_findings(report)}
    assert set(got) == {
        ("CE001", "Placements", "C2"), ("CE002", "Placements", "L3"), ("CE003", "Placements", "L4"),
        ("CE004", "Placements", "G5"), ("CE005", "Placements", "O6"), ("CE006", "Placements", "A7"),
        ("CE002", "Placements", "N8"), ("CE007", "Checklist", "H9"),
    }
    assert got[("CE001", "Placements", "C2")].record == "P-1"
    assert got[("CE001", "Placements", "C2")].message.startswith("Surname is blank")
    assert got[("CE002", "Placements", "L3")].value == "TBC" and got[("CE002", "Placements", "L3")].severity == "error"
    assert "3 September 2026" in got[("CE003", "Placements", "L4")].message
    assert got[("CE003", "Placements", "L4")].severity == "warning"
    assert "N, K, E" in got[("CE004", "Placements", "G5")].message
    assert "0 to 40" in got[("CE005", "Placements", "O6")].message and got[("CE005", "Placements", "O6")].value == "45"
    assert "first appears in A2" in got[("CE006", "Placements", "A7")].message
    assert got[("CE002", "Placements", "N8")].value == "n/a"
    assert got[("CE007", "Checklist", "H9")].record == "P-8" and got[("CE007", "Checklist", "H9")].column == "Pre-placement visit"
    assert all(f.row == int(f.cell[1:]) for f in got.values())


def test_conditional_required_values(tmp):
    providers = [provider_row("AP-01", **{"LEBC audit date": ""}),
                 provider_row("AP-02", **{"LEBC audit status": "Not audited", "LEBC audit date": ""})]
    placements = [placement_row("P-1", **{"Next review date": ""}),                   # active: required
                  placement_row("P-2", **{"Next review date": "", "Start date": dt.date(2027, 1, 4)}),  # planned
                  # ended, but its Actual end date is not a date: CE002 only, no CE001 built on it
                  placement_row("P-3", **{"Next review date": "", "Actual end date": "n/a", "Status": "Ended"})]
    report = apxl.validate(tracker(placements=placements, providers=providers,
                                   checklist=[checklist_row(f"P-{i}") for i in (1, 2, 3)]), as_of=AS_OF)
    assert keyed(report) == [("CE001", "Placements", "R2"), ("CE001", "Providers", "I2"), ("CE002", "Placements", "N4")]


def test_header_below_a_title_block_and_blank_rows_inside_the_data(tmp):
    book = tracker(placements=[placement_row("P-1"), [""] * 24, placement_row("P-2", Surname="")],
                   checklist=[checklist_row("P-1"), checklist_row("P-2")])
    book["Placements"] = [["Oakfield Academy: AP placements"], ["Autumn term 2026"], []] + book["Placements"]
    report = apxl.validate(write_xlsx(tmp / "t.xlsx", book), as_of=AS_OF)
    # header on row 4, P-1 on row 5, a blank row 6 skipped, P-2 on row 7
    assert keyed(report) == [("CE001", "Placements", "C7")]
    assert cell_findings(report)[0].row == 7 and cell_findings(report)[0].record == "P-2"


def test_excel_table_is_read_by_its_range(tmp):
    book = tracker(placements=[placement_row("P-1", Surname="")])
    table_rows = book["Placements"]
    # title in A1, notes beside the table in column AB, the Table at B3
    book["Placements"] = [["AP placements"], [], [""] + table_rows[0] + ["", "", "Notes"],
                          [""] + table_rows[1] + ["", "", "see file"]]
    last = chr(ord("A") + 24)  # 24 fields from B
    write_xlsx(tmp / "t.xlsx", book, tables={"Placements": f"B3:{last}4"})
    report = apxl.validate(tmp / "t.xlsx", as_of=AS_OF)
    assert keyed(report) == [("CE001", "Placements", "D4")]


def test_merged_cells_in_the_data_but_not_in_the_header(tmp):
    book = tracker(placements=[placement_row("P-1"), placement_row("P-2")],
                   checklist=[checklist_row("P-1"), checklist_row("P-2")])
    book["Placements"] = [["Pupil details"] + [""] * 23] + book["Placements"]
    path = write_xlsx(tmp / "t.xlsx", book, merges={"Placements": ["A1:E1", "F3:F4"]})
    report = apxl.validate(path, as_of=AS_OF)
    wb005 = [f for f in report.findings if f.rule == "WB005"]
    assert [(f.sheet, f.cell) for f in wb005] == [("Placements", "F3")]
    assert "F3:F4" in wb005[0].message


def test_formula_without_a_saved_value(tmp):
    import openpyxl

    path = write_xlsx(tmp / "t.xlsx", tracker())
    wb = openpyxl.load_workbook(path)
    wb["Placements"]["O2"] = "=5+5"          # openpyxl saves formulas with no cached value
    wb.save(path)
    report = apxl.validate(path, as_of=AS_OF)
    wb004 = [(f.sheet, f.cell, f.column) for f in report.findings if f.rule == "WB004"]
    assert wb004 == [("Placements", "O2", "AP hours per week")]


def test_excel_error_values_are_reported_not_read_as_blank(tmp):
    import openpyxl

    path = write_xlsx(tmp / "t.xlsx", tracker())
    wb = openpyxl.load_workbook(path)
    wb.save(path)
    # a cached #N/A result in the Start date cell
    import zipfile

    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = "xl/worksheets/sheet2.xml"
    xml = parts[sheet].decode()
    import re

    xml = re.sub(r'<c r="L2"[^>]*>.*?</c>', '<c r="L2" t="e"><f>NA()</f><v>#N/A</v></c>', xml, count=1)
    parts[sheet] = xml.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in parts.items():
            zf.writestr(n, b)
    report = apxl.validate(path, as_of=AS_OF)
    ce = [(f.rule, f.cell, f.value) for f in cell_findings(report)]
    assert ce == [("CE002", "L2", "#N/A")]


def test_two_columns_for_one_field(tmp):
    book = tracker()
    book["Placements"] = [row + [v] for row, v in zip(book["Placements"], ["Hrs at AP", 12])]
    report = apxl.validate(book, as_of=AS_OF)
    wb003 = [f for f in report.findings if f.rule == "WB003"]
    assert [(f.cell, f.column) for f in wb003] == [("Y1", "AP hours per week")]
    assert "O1" in wb003[0].message


def test_missing_sheets_and_columns():
    book = tracker()
    del book["Checklist"]
    book["Placements"] = [r[:5] for r in book["Placements"]]
    report = apxl.validate(book, as_of=AS_OF)
    assert [(f.rule, f.cell) for f in report.findings if f.rule == "WB001"] == [("WB001", None)]
    assert "Checklist" in next(f for f in report.findings if f.rule == "WB001").message
    wb002 = sorted(f.column for f in report.findings if f.rule == "WB002")
    assert wb002 == sorted(h for h in headers("Placements")[5:] if h in {
        "NC year", "SEN status", "Looked after", "Provider ID", "Placement basis", "Start date",
        "Planned end date", "AP hours per week", "School hours per week", "Attendance code", "Status"})
    assert report.exit_code == 1


def test_only_headers_gives_no_cell_findings():
    report = apxl.validate(tracker(placements=[], providers=[], checklist=[]), as_of=AS_OF)
    assert keyed(report) == []


def test_setup_values_and_return_date_as_the_as_at_date():
    book = tracker()
    book["Setup"] = setup_rows(**{"School URN": 123456.0, "Return date": dt.date(2026, 10, 1)})
    report = apxl.validate(book)
    assert report.as_of == "2026-10-01"
    assert keyed(report) == []
    book["Setup"] = setup_rows(**{"School URN": "12345", "Academic year": "2026-2027", "School name": ""})
    bad = apxl.validate(book, as_of=AS_OF)
    assert keyed(bad) == [("CE001", "Setup", "B2"), ("CE002", "Setup", "B3"), ("CE002", "Setup", "B6")]


def test_aliases_and_other_column_order():
    book = tracker()
    aliases = {"AP hours per week": "Hrs at AP", "Date of birth": "DOB", "NC year": "Year group",
               "SEN status": "SEN", "Looked after": "LAC"}
    header, row = book["Placements"]
    pairs = list(zip([aliases.get(h, h) for h in header], row))[::-1]   # reversed column order
    book["Placements"] = [[h for h, _ in pairs], [v for _, v in pairs]]
    assert keyed(apxl.validate(book, as_of=AS_OF)) == []


def test_mapping_file_names_sheet_columns_and_setup(tmp):
    book = tracker()
    del book["Setup"]
    header, row = book["Placements"]
    header = ["Weird hours col" if h == "AP hours per week" else h for h in header]
    book["Our pupils"] = [header, row]
    del book["Placements"]
    (tmp / "map.yaml").write_text(
        "sheets:\n  Placements: Our pupils\ncolumns:\n  Placements:\n    AP hours per week: Weird hours col\n"
        "setup:\n  School name: Oakfield\n  School URN: '123456'\n  Academic year: 2026/27\n")
    report = apxl.validate(book, as_of=AS_OF, mapping=tmp / "map.yaml")
    assert keyed(report) == []
    bad = tmp / "bad.yaml"
    bad.write_text("columns:\n  Placements:\n    Shoe size: X\n")
    with pytest.raises(apxl.ApxlError, match="Shoe size"):
        apxl.validate(book, mapping=bad)


def test_sheet_per_term_is_read_as_one_placements_table():
    book = tracker(checklist=[checklist_row("P-1"), checklist_row("P-2")])
    header = book["Placements"][0]
    del book["Placements"]
    book["Autumn 2026"] = [header, placement_row("P-1")]
    book["Spring 2027"] = [header, placement_row("P-2", Surname="")]
    report = apxl.validate(book, as_of=AS_OF)
    assert keyed(report) == [("CE001", "Spring 2027", "C2")]


def test_single_sheet_tracker_with_ticks():
    header = ["UPN", "Surname", "Forename", "DOB", "Year group", "SEN", "LAC", "Provider", "Postcode",
              "Registration", "LEBC audit status", "LEBC audit date", "DSL name", "DSL phone", "Basis", "Start",
              "End date", "Hrs at AP", "School hours", "Attendance code", "Next review", "Status",
              "Pre-placement visit", "Insurance seen"]
    row = ["B801200005001", "Doe", "Jo", dt.date(2012, 5, 1), 9, "N", "N", "Meadow Farm", "LE13 0AA",
           "Unregistered", "Passed", dt.date(2026, 6, 1), "Sam", "0116", "Agreed with parent",
           dt.date(2026, 9, 14), dt.date(2027, 2, 1), 10, 15, "B", dt.date(2026, 12, 1), "Active", "Y", "✓"]
    row2 = list(row)
    row2[0], row2[22] = "V855123425001", dt.date(2026, 9, 1)
    book = {"AP Tracker": [["Oakfield AP tracker 2026/27"], header, row, row2]}
    report = apxl.validate(book, as_of=AS_OF, mapping={"setup": {"School name": "Oakfield", "School URN": "123456",
                                                                  "Academic year": "2026/27"}})
    assert keyed(report) == [("CE007", "AP Tracker", "W3"), ("CE007", "AP Tracker", "X3"), ("CE007", "AP Tracker", "X4")]
    ce007 = next(f for f in report.findings if f.rule == "CE007")
    assert ce007.record == "B801200005001 2026-09-14"
    # items with no column: one WB008 saying they are not tracked
    wb008 = [f for f in report.findings if f.rule == "WB008" and "not tracked" in f.message]
    assert len(wb008) == 1 and "Registration status checked (CL001)" in wb008[0].message
    assert "WB001" not in {f.rule for f in report.findings}


def test_redact_removes_names_upns_and_dates_of_birth():
    book = tracker(placements=[placement_row("P-1", UPN="B801200005001", Surname="Zebedee",
                                             **{"Date of birth": "not known"})])
    report = apxl.validate(book, as_of=AS_OF, redact=True)
    text = report.to_json()
    assert "not known" not in text and "[redacted]" in text
    plain = apxl.validate(book, as_of=AS_OF).to_json()
    assert "not known" in plain


def test_report_outputs():
    report = apxl.validate(tracker(placements=[placement_row("P-001", Surname="")]), as_of=AS_OF)
    frame = report.to_frame()
    assert list(frame.columns) == ["rule", "severity", "message", "sheet", "cell", "row", "column", "record", "value",
                                   "explained"]
    assert (frame["rule"] == "CE001").sum() == 1
    import json

    data = json.loads(report.to_json())
    assert set(data) == {"file", "as_of", "template_version", "policy", "summary", "findings"}
    assert data["summary"] == {"error": 1, "warning": 0, "info": 4, "explained": 0}
    assert data["policy"] == "esa2008" and data["as_of"] == "2026-11-30"
