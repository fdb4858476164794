"""Attendance: every AT rule fires.

As at Monday 30/11/2026, with the school's Term dates (half-term 26/10 to 30/10/2026: no row needed).
P-001 has no row for the week of 05/10/2026 (AT001); P-002 attended 31 of 40 expected sessions over its
last 4 recorded weeks (AT003), 1 of them not confirmed by the provider (AT002); P-003 is recorded as
attending 9 sessions in a week when 8 were expected (AT004).
"""

from __future__ import annotations

import datetime as dt

from .common import checklist_row, headers, placement_row, tracker, write_xlsx

AS_OF = dt.date(2026, 11, 30)
CODES = ("AT001", "AT002", "AT003", "AT004")
D = dt.date
HALF_TERM = D(2026, 10, 26)
FIRST_WEEK, LAST_WEEK = D(2026, 9, 14), D(2026, 11, 23)


def school_weeks(first=FIRST_WEEK, last=LAST_WEEK):
    day = first
    while day <= last:
        if day != HALF_TERM:
            yield day
        day += dt.timedelta(weeks=1)


def build(path):
    placements = [placement_row("P-001"),
                  placement_row("P-002", **{"UPN": "A801200005002"}),
                  placement_row("P-003", **{"UPN": "B801200005003"})]
    rows = [headers("Attendance")]
    rows += [["P-001", w, 8, 8, 8] for w in school_weeks() if w != D(2026, 10, 5)]                # AT001
    last4 = {D(2026, 11, 2): (10, 8, 8), D(2026, 11, 9): (10, 7, 7), D(2026, 11, 16): (10, 8, 8),
             D(2026, 11, 23): (10, 8, 7)}                                                          # AT003, AT002
    rows += [["P-002", w, *last4.get(w, (10, 10, 10))] for w in school_weeks()]
    rows += [["P-003", w, 8, *((9, 9) if w == D(2026, 11, 16) else (8, 8))] for w in school_weeks()]        # AT004
    terms = [headers("Term dates"), [D(2026, 9, 3), D(2026, 10, 23), "Term"],
             [D(2026, 11, 2), D(2026, 12, 18), "Term"]]
    book = tracker(placements=placements, checklist=[checklist_row(row[0]) for row in placements],
                   Attendance=rows, **{"Term dates": terms})
    return write_xlsx(path, book)
