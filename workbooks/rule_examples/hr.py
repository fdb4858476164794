"""Hours and the registration test: every HR rule fires.

Meadow Farm Learning (AP-01, Unregistered) has 5 full-time pupils at once (HR003), one of them looked after
(HR002); River Skills (AP-02, Unregistered) has 4 (HR004); Hill School (RS-01, a registered school) has 5
full-time pupils too and gets no HR finding. P-010 at River Skills has a Timetable that differs from its
typed hours (HR005), two sessions that overlap (HR006) and a session before 08:00 (HR007); P-011 gets most
of its education at the provider without being full-time (HR008). Every full-time pupil is HR001.
"""

from __future__ import annotations

import datetime as dt

from .common import checklist_row, headers, placement_row, provider_row, tracker, write_xlsx

AS_OF = dt.date(2026, 11, 30)
CODES = ("HR001", "HR002", "HR003", "HR004", "HR005", "HR006", "HR007", "HR008")
FULL = {"AP hours per week": 22.5, "School hours per week": 5}
T = dt.time


def build(path):
    providers = [provider_row("AP-01"),
                 provider_row("AP-02", **{"Provider name": "River Skills", "Postcode": "LE13 1AA"}),
                 provider_row("RS-01", **{"Provider name": "Hill School", "Postcode": "LE13 2AA",
                                          "Registration": "Registered school", "URN": "123457"})]
    placements = [
        placement_row("P-001", **FULL, **{"Looked after": "Yes"}),                         # HR001, HR002, HR003
        *[placement_row(f"P-00{k}", **FULL, **{"Start date": dt.date(2026, 9, 14 + k)}) for k in range(2, 6)],
        *[placement_row(f"P-00{k}", **FULL, **{"Provider ID": "AP-02"}) for k in range(6, 10)],  # HR004
        placement_row("P-010", **{"Provider ID": "AP-02"}),                                  # HR005 to HR007
        placement_row("P-011", **{"AP hours per week": 15, "School hours per week": 12.5}),  # HR008
        *[placement_row(f"P-02{k}", **FULL, **{"Provider ID": "RS-01", "SEN status": "E"}) for k in range(5)],
    ]
    days = ("Mon", "Tue", "Wed", "Thu", "Fri")
    timetable = [headers("Timetable"),
                 *[["P-010", d, "AP", T(9, 0), T(12, 0)] for d in days],                  # 15 h, typed 10: HR005
                 *[["P-010", d, "School", T(13, 0), T(16, 0)] for d in days],
                 ["P-010", "Mon", "Other", T(11, 30), T(13, 0)],                            # overlaps: HR006
                 ["P-010", "Tue", "AP", T(7, 30), T(8, 30)]]                                # before 08:00: HR007
    book = tracker(placements=placements, providers=providers,
                   checklist=[checklist_row(row[0]) for row in placements], Timetable=timetable)
    return write_xlsx(path, book)
