#!/usr/bin/env python3
"""A partnership's folder of returns (workbooks/examples/partnership/returns/), for `apxl batch` and its tests.

Run `python workbooks/batch_examples.py` to rebuild it (deterministic bytes). What it holds:
- Meadow Farm Learning, typed three ways ("Meadow Farm Learning", "Meadow Farm Learning Ltd", "MEADOW FARM
  LEARNING", postcode with and without its space): 2 + 2 + 1 full-time pupils from three schools, none over
  the limit alone; together 5 at once from 05/10/2026: the registration test (HR003) only the batch sees.
- Riverside Riding Centre: Oakfield's looked-after full-time pupil and Beech's full-time pupil (HR002 for both).
- Hilltop Skills: 2 + 2 full-time pupils (HR004 across schools); `counts-rutland.csv` adds one from another
  area (`counts-rutland.csv`, beside the folder), which tips it over (HR003 with `--import-counts`).
- One UPN placed by Beech and by Cedar at once (XS001); Oakfield's older return `oakfield-first.xlsx` (XS007);
  `damaged.xlsx`, not a workbook (WB006); a provider named with an HTML script tag and a Provider ID that is a
  spreadsheet formula (the reports escape and neutralise them).
- `directory.xlsx` beside the folder: the partnership's provider directory (XS004, XS005 with `--directory`).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from rule_examples.common import (  # noqa: E402
    done_checklist_row,
    placement_row,
    provider_row,
    setup_rows,
    tracker,
    write_xlsx,
)

FOLDER = HERE / "examples" / "partnership" / "returns"
AS_OF = dt.date(2026, 11, 30)
SCRIPT = "<script>alert('apxl')</script> Learning Hub"
FORMULA = "=HYPERLINK(\"http://example.invalid\",\"x\")"


def _upn(digits: str) -> str:
    """A valid UPN for these 12 digits (its check letter computed as DfE defines it)."""
    from apxl.pupils import upn_check_letter

    return upn_check_letter("A" + digits) + digits


def _ft(pid: str, upn: str, provider: str, start: dt.date = dt.date(2026, 9, 14), **over: Any) -> list[Any]:
    """A full-time placement (25 hours a week at the provider, none at school)."""
    return placement_row(pid, UPN=upn, **{"Provider ID": provider, "Start date": start, "AP hours per week": 25,
                                          "School hours per week": 0, **over})


def _school(name: str, urn: str, placements: list[list[Any]], providers: list[list[Any]],
            return_date: dt.date = AS_OF) -> dict[str, list[list[Any]]]:
    book = tracker(placements=placements, providers=providers,
                   checklist=[done_checklist_row(p[0]) for p in placements])
    book["Setup"] = setup_rows(**{"School name": name, "School URN": urn, "Return date": return_date})
    return book


def returns() -> dict[str, dict[str, list[list[Any]]]]:
    """File name -> workbook (sheet -> rows)."""
    meadow = dict(Registration="Unregistered")
    oakfield_providers = [
        provider_row("MFL", **meadow, **{"Provider name": "Meadow Farm Learning", "Postcode": "LE13 0AA"}),
        provider_row("RRC", **{"Provider name": "Riverside Riding Centre", "Postcode": "LE7 9XY"}),
        provider_row("HTS", **{"Provider name": "Hilltop Skills", "Postcode": "LE12 5QQ",
                               "Directory ID": "D-HILL"}),
    ]
    oakfield = [
        _ft("OAK-01", _upn("801200001001"), "MFL"),
        _ft("OAK-02", _upn("801200001002"), "MFL", start=dt.date(2026, 10, 5)),
        _ft("OAK-03", _upn("801200001003"), "RRC", **{"Looked after": "Yes"}),
        _ft("OAK-04", _upn("801200001004"), "HTS"),
        _ft("OAK-05", _upn("801200001005"), "HTS"),
    ]
    beech_providers = [
        provider_row("P1", **{"Provider name": "Meadow Farm Learning Ltd", "Postcode": "le13 0aa",
                              "LEBC audit date": dt.date(2026, 3, 1)}),
        provider_row("P2", **{"Provider name": "Riverside Riding Centre", "Postcode": "LE7 9XY"}),
        provider_row("P3", **{"Provider name": "Hilltop Skills Limited", "Postcode": "LE12 5QQ"}),
        provider_row("P4", **{"Provider name": SCRIPT, "Postcode": "LE11 1AB"}),
    ]
    beech = [
        _ft("BEE-01", _upn("801200002001"), "P1"),
        _ft("BEE-02", _upn("801200002002"), "P1"),
        _ft("BEE-03", _upn("801200002003"), "P2"),
        _ft("BEE-04", _upn("801200002004"), "P3"),
        _ft("BEE-05", _upn("801200002005"), "P3"),
        placement_row("BEE-06", UPN=_upn("801200009009"), **{"Provider ID": "P4"}),
        placement_row("BEE-07", UPN=_upn("801200002007"), **{"Provider ID": FORMULA}),
    ]
    cedar_providers = [
        provider_row("M", **{"Provider name": "MEADOW FARM LEARNING", "Postcode": "LE130AA"}),
        provider_row("W", **{"Provider name": "Woodland Crafts CIC", "Postcode": "LE11 1AB"}),
    ]
    cedar = [
        _ft("CED-01", _upn("801200003001"), "M"),
        placement_row("CED-02", UPN=_upn("801200009009"), **{"Provider ID": "W", "Start date": dt.date(2026, 11, 2)}),
    ]
    first = _school("Oakfield Academy", "123456", oakfield[:2], oakfield_providers[:1],
                    return_date=dt.date(2026, 11, 20))
    return {
        "oakfield.xlsx": _school("Oakfield Academy", "123456", oakfield, oakfield_providers),
        "oakfield-first.xlsx": first,
        "beech.xlsx": _school("Beech School", "223456", beech, beech_providers),
        "cedar/cedar.xlsx": _school("Cedar College", "323456", cedar, cedar_providers),
    }


COUNTS = ("URN,Directory ID,Provider name,Postcode,Registration,From,To,Full-time pupils,"
          "Looked-after or EHC plan pupils\n"
          ",D-HILL,Hilltop Skills,LE12 5QQ,Unregistered,2026-09-01,2027-07-16,1,0\n")


def directory() -> dict[str, list[list[Any]]]:
    """The partnership's provider directory: Riverside's audit is newer than the schools typed (XS005); the
    Learning Hub and Woodland Crafts are not in it (XS004)."""
    from rule_examples.common import headers

    rows = [
        provider_row("D-MFL", **{"Provider name": "Meadow Farm Learning", "Postcode": "LE13 0AA",
                                 "Directory ID": "D-MFL"}),
        provider_row("D-HILL", **{"Provider name": "Hilltop Skills", "Postcode": "LE12 5QQ", "Directory ID": "D-HILL"}),
        provider_row("D-RRC", **{"Provider name": "Riverside Riding Centre", "Postcode": "LE7 9XY",
                                 "Directory ID": "D-RRC", "LEBC audit status": "Passed with actions",
                                 "LEBC audit date": dt.date(2026, 9, 1)}),
    ]
    return {"Providers": [headers("Providers")] + rows}


def build(folder: Path = FOLDER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, book in returns().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_xlsx(path, book)
    (folder / "damaged.xlsx").write_bytes(b"PK\x03\x04 this return was cut short in the e-mail")
    (folder / "~$beech.xlsx").write_bytes(b"\x00lock")                  # Excel's lock file: skipped
    (folder.parent / "counts-rutland.csv").write_text(COUNTS, encoding="utf-8")
    write_xlsx(folder.parent / "directory.xlsx", directory())
    return folder


if __name__ == "__main__":
    print(build())
