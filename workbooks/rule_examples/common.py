"""Helpers that build small contract workbooks (XlsxWriter, deterministic bytes): for tests and the rule examples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from apxl.schema import sheet_schemas

FIXED = dt.datetime(2026, 1, 1, 9, 0, 0)


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]], *, tables: dict[str, str] | None = None,
               merges: dict[str, list[str]] | None = None, formulas: dict[str, dict[str, str]] | None = None,
               options: dict[str, Any] | None = None) -> Path:
    """Write `sheets` (rows from A1) to an .xlsx; dates get a date format. Deterministic bytes. `options` are
    more XlsxWriter workbook options (e.g. `{"date_1904": True}`)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False, **(options or {})})
    wb.set_properties({"created": FIXED})
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    time_fmt = wb.add_format({"num_format": "hh:mm"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                if isinstance(v, dt.datetime):
                    ws.write_datetime(r, c, v, date_fmt)
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
                elif isinstance(v, dt.time):
                    ws.write_datetime(r, c, v, time_fmt)
                elif isinstance(v, str):
                    ws.write_string(r, c, v)
                else:
                    ws.write(r, c, v)
        for rng in (merges or {}).get(name, []):
            ws.merge_range(rng, "")
        for cell, formula in (formulas or {}).get(name, {}).items():
            ws.write_formula(cell, formula, None, "")
        if tables and name in tables:
            from xlsxwriter.utility import xl_cell_to_rowcol

            first, last = tables[name].split(":")
            r0, c0 = xl_cell_to_rowcol(first)
            _, c1 = xl_cell_to_rowcol(last)
            header = (rows[r0] + [""] * (c1 + 1))[c0:c1 + 1]
            ws.add_table(tables[name], {"columns": [{"header": str(h)} for h in header]})
    wb.close()
    return path


def headers(sheet: str) -> list[str]:
    return [f.name for f in sheet_schemas()[sheet].fields]


def placement_row(pid: str = "P-001", **over: Any) -> list[Any]:
    values = {
        "Placement ID": pid, "UPN": "B801200005001", "Surname": "Testpupil", "Forename": "Alex",
        "Date of birth": dt.date(2012, 5, 1), "NC year": 10, "SEN status": "N", "Looked after": "No",
        "Provider ID": "AP-01", "Placement basis": "Agreed with parent", "Reason": "",
        "Start date": dt.date(2026, 9, 14), "Planned end date": dt.date(2027, 2, 12), "Actual end date": "",
        "AP hours per week": 10, "School hours per week": 15, "Attendance code": "B",
        "Next review date": dt.date(2026, 12, 14), "Status": "Active", "Part-time until": "",
        "Parent or carer": "", "Parent address": "", "Reports to at provider": "", "Objectives": "",
    }
    values.update(over)
    return [values[h] for h in headers("Placements")]


def provider_row(pid: str = "AP-01", **over: Any) -> list[Any]:
    values = {
        "Provider ID": pid, "Provider name": "Meadow Farm Learning", "Address": "1 Farm Lane, Melton",
        "Postcode": "LE13 0AA", "Registration": "Unregistered", "URN": "", "Directory ID": "",
        "LEBC audit status": "Passed", "LEBC audit date": dt.date(2026, 6, 1), "DSL name": "Sam Keeper",
        "DSL phone": "01664 000000", "Contact email": "", "Insurance expiry": "",
    }
    values.update(over)
    return [values[h] for h in headers("Providers")]


def checklist_row(pid: str = "P-001", **over: Any) -> list[Any]:
    values = {h: "" for h in headers("Checklist")}
    values["Placement ID"] = pid
    values.update(over)
    return [values[h] for h in headers("Checklist")]


def done_checklist_row(pid: str = "P-001", **over: Any) -> list[Any]:
    """A Checklist row with every item done on time for the default placement (start 14/09/2026)."""
    done = {f.name: dt.date(2026, 9, 1) for f in sheet_schemas()["Checklist"].items}
    done.update({"First monitoring visit": dt.date(2026, 9, 25), "Off-site direction notice sent": "N/A",
                 "Exit plan agreed": "", "End of placement review": ""})
    done.update(over)
    return checklist_row(pid, **done)


def setup_rows(**over: Any) -> list[list[Any]]:
    values = {"School name": "Oakfield Academy", "School URN": "123456", "LAESTAB": "8554001",
              "Partnership": "Melton", "Academic year": "2026/27", "Return date": dt.date(2026, 11, 30),
              "Session times": "08:45-12:15, 13:00-15:15"}
    values.update(over)
    return [["Key", "Value"]] + [[k, v] for k, v in values.items()]


def tracker(placements: list[list[Any]] | None = None, providers: list[list[Any]] | None = None,
            checklist: list[list[Any]] | None = None, **extra: list[list[Any]]) -> dict[str, list[list[Any]]]:
    """A minimal contract workbook (sheet name -> rows) with one placement unless told otherwise."""
    book = {
        "Setup": setup_rows(),
        "Placements": [headers("Placements")] + (placements if placements is not None else [placement_row()]),
        "Providers": [headers("Providers")] + (providers if providers is not None else [provider_row()]),
        "Checklist": [headers("Checklist")] + (checklist if checklist is not None else [done_checklist_row()]),
    }
    book.update(extra)
    return book
