"""rules-pl.xlsx: one placement (or pair) per PL rule, each firing on the as-at date.

PL011 is off unless the policy sets max_placement_weeks or max_part_time_days, so the workbook is to be
checked with POLICY (tests/test_rules_pl.py does): under it every code of CODES fires; under the default
policy every code but PL011.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from apxl.pupils import upn_check_letter

from .common import checklist_row, placement_row, provider_row, tracker, write_xlsx

D = dt.date
AS_OF = D(2026, 11, 30)
CODES = ("PL001", "PL002", "PL003", "PL004", "PL005", "PL006", "PL007", "PL008", "PL009", "PL010", "PL011",
         "PL012")
POLICY = {"max_placement_weeks": 12, "max_part_time_days": 2}      # PL011 is off by default


def upn(serial: int) -> str:
    body = f"855123425{serial:03d}"
    return upn_check_letter("X" + body) + body


def row(pid: str, serial: int, **over):
    """A placement that gives no PL finding unless `over` plants one (born 01/05/2012: Year 10)."""
    values = {"UPN": upn(serial), "NC year": 10}
    values.update(over)
    return placement_row(pid, **values)


def build(path: Path) -> Path:
    placements = [
        row("P-001", 1, UPN="A801200005001"),                                            # PL001 wrong check letter
        row("P-002", 2, UPN="U85512342501A"),                                            # PL002 temporary UPN
        row("P-003", 3, **{"Planned end date": D(2026, 9, 11)}),                         # PL003 ends before start
        row("P-004", 4, **{"NC year": 9}),                                               # PL004 Year 10 by birth
        row("P-005", 5, **{"Date of birth": D(2010, 5, 1), "NC year": 12}),              # PL005 Year 12
        row("P-006", 6, **{"Provider ID": "AP-99"}),                                     # PL006 unknown provider
        row("P-007", 7, Status="Planned"),                                               # PL007 has started
        row("P-008", 8, **{"AP hours per week": 10, "School hours per week": 12}),       # PL008 22 h, no end date
        row("P-009", 9, **{"Attendance code": "K"}),                                     # PL009 K, not LA arranged
        row("P-010", 10, **{"Next review date": D(2026, 11, 20)}),                       # PL010 review overdue
        row("P-011", 11, **{"AP hours per week": 20, "School hours per week": 10}),      # PL011 (POLICY) 22 weeks
        row("P-012", 12, **{"Planned end date": D(2026, 11, 20), "Actual end date": D(2026, 11, 20),
                            "Status": "Ended", "Next review date": ""}),                 # PL012 with P-013
        row("P-013", 12, **{"Start date": D(2026, 11, 16), "Planned end date": D(2027, 3, 19)}),
    ]
    book = tracker(placements=placements, providers=[provider_row("AP-01")],
                   checklist=[checklist_row(p[0]) for p in placements])
    return write_xlsx(path, book)
