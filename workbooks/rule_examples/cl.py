"""The placement checklist: every CL rule fires.

As at Monday 30/11/2026, no Term dates sheet (school days are Monday to Friday less bank holidays; the
messages that counted school days say so).
- P-001 (agreed with the parent, EHC plan, looked after; started 14/09/2026, planned to end 04/12/2026):
  Registration status checked blank (CL001 overdue), LEBC audit checked N/A although the provider is
  unregistered (CL002), safeguarding confirmation dated the day after the start (CL003 late), safeguarding
  policy dated 01/12/2026, after the as-at date (CL004 future); CL013 to CL019 blank (overdue; the exit
  plan was due 20/11/2026).
- P-002 (off-site direction, EHC plan; starts Monday 14/09/2026): the notice and the LA SEND team's copy
  went on Thursday 10/09/2026, one clear school day before the start, not two (CL012 and CL014, errors).
- P-003 ended on 06/11/2026 and has no end of placement review (CL020, due 20/11/2026).
- P-004 starts on 07/12/2026: its items CL005 to CL011 are still blank (due soon, 5 school days away:
  warnings).
- P-005 has no Checklist row, and the Checklist has a row for P-099, which is no placement (CL021).
- P-006 is LA arranged: its commissioner items (CL001 to CL015) are blank and give nothing.
"""

from __future__ import annotations

import datetime as dt

from .common import checklist_row, headers, placement_row, tracker, write_xlsx

AS_OF = dt.date(2026, 11, 30)
CODES = tuple(f"CL{k:03d}" for k in range(1, 22))

D = dt.date
ITEMS = headers("Checklist")[1:]
NAME = {f"CL{k:03d}": name for k, name in enumerate(ITEMS, start=1)}
PREP = ["CL001", "CL002", "CL003", "CL004", "CL005", "CL006", "CL007", "CL008", "CL009", "CL010", "CL011",
        "CL016", "CL017"]


def items(**codes) -> dict:
    return {NAME[code]: value for code, value in codes.items()}


def prepared(day: dt.date, *extra: str) -> dict:
    """Every before-day-0 item (and the extra codes) done on `day`."""
    return items(**{code: day for code in (*PREP, *extra)})


def pupil(pid: str, **over):
    """A placement of a Year 10 pupil (born 01/05/2012)."""
    return placement_row(pid, **{"NC year": 10, **over})


def build(path):
    sept = D(2026, 9, 8)
    placements = [
        pupil("P-001", **{"SEN status": "E", "Looked after": "Yes", "Planned end date": D(2026, 12, 4)}),
        pupil("P-002", UPN="Q801200005002", **{"SEN status": "E", "Placement basis": "Off-site direction"}),
        pupil("P-003", UPN="E801200005003", **{"Start date": D(2026, 9, 7), "Actual end date": D(2026, 11, 6),
                                                       "Status": "Ended", "Next review date": ""}),
        pupil("P-004", UPN="U801200005004", **{"Start date": D(2026, 12, 7), "Planned end date": D(2027, 3, 26),
                                                       "Status": "Planned", "Next review date": D(2027, 1, 18)}),
        pupil("P-005", UPN="H801200005005"),
        pupil("P-006", UPN="X801200005006", **{"Placement basis": "LA arranged", "Attendance code": "K"}),
    ]
    checklist = [
        checklist_row("P-001", **{**prepared(sept), **items(CL001="", CL002="N/A", CL003=D(2026, 9, 15),
                                                             CL004=D(2026, 12, 1), CL016="", CL017="")}),
        checklist_row("P-002", **{**prepared(sept), **items(CL012=D(2026, 9, 10), CL014=D(2026, 9, 10),
                                                             CL013="N/A", CL018=D(2026, 9, 24))}),
        checklist_row("P-003", **{**prepared(D(2026, 9, 2), "CL013"), **items(CL018=D(2026, 9, 21),
                                                                              CL019=D(2026, 10, 23))}),
        checklist_row("P-004", **{**prepared(D(2026, 11, 27), "CL013"), **items(CL005="", CL006="", CL007="", CL008="",
                                                                                  CL009="", CL010="", CL011="")}),
        checklist_row("P-099", **prepared(sept, "CL013")),
        checklist_row("P-006", **items(CL016=sept, CL017=sept, CL018=D(2026, 9, 24))),
    ]
    write_xlsx(path, tracker(placements=placements, checklist=checklist))
