"""Visits: every VI rule fires.

As at Monday 30/11/2026, with the school's Term dates (half-term 26/10 to 30/10/2026), the last 30 school
days (6 school weeks) began on 12/10/2026. P-001 at Meadow Farm Learning (AP-01) was last seen on
09/10/2026 (VI001); P-002 there was seen on 12/10/2026, just inside (no finding). Meadow Farm's latest QA
visit (30/09/2026) was Inadequate, after a Good one in March (VI003). River Skills (AP-02) last had a QA
visit on 30/11/2025, 12 months ago (VI002). One monitoring visit has no report on file (VI004); one visit
names a provider and a placement that are not on the workbook (VI005, twice).
"""

from __future__ import annotations

import datetime as dt

from .common import checklist_row, headers, placement_row, provider_row, tracker, write_xlsx

AS_OF = dt.date(2026, 11, 30)
CODES = ("VI001", "VI002", "VI003", "VI004", "VI005")
D = dt.date
QA, MON = "QA visit", "Monitoring visit"
OFFICER, LEAD = "Mr R. Whitlock (partnership QA officer)", "Mrs J. Patel (AP lead)"


def build(path):
    providers = [provider_row("AP-01"),
                 provider_row("AP-02", **{"Provider name": "River Skills", "Postcode": "LE13 1AA"})]
    placements = [placement_row("P-001"),
                  placement_row("P-002", **{"UPN": "A801200005002"}),
                  placement_row("P-003", **{"Provider ID": "AP-02", "UPN": "B801200005003"})]
    visits = [headers("Visits"),
              [D(2025, 11, 30), "AP-02", None, QA, OFFICER, "Good", "Yes"],            # VI002: 12 months ago
              [D(2026, 3, 12), "AP-01", None, QA, OFFICER, "Good", "Yes"],
              [D(2026, 9, 30), "AP-01", None, QA, OFFICER, "Inadequate", "Yes"],       # VI003
              [D(2026, 10, 9), "AP-01", "P-001", MON, LEAD, "Good", "Yes"],            # VI001: just outside
              [D(2026, 10, 12), "AP-01", "P-002", MON, LEAD, "Good", "Yes"],           # just inside
              [D(2026, 11, 2), "AP-02", "P-003", MON, LEAD, "Satisfactory", "No"],     # VI004
              [D(2026, 11, 3), "AP-09", "P-099", MON, LEAD, "Good", "Yes"]]            # VI005 (both IDs)
    terms = [headers("Term dates"), [D(2026, 9, 3), D(2026, 10, 23), "Term"],
             [D(2026, 11, 2), D(2026, 12, 18), "Term"]]
    book = tracker(placements=placements, providers=providers,
                   checklist=[checklist_row(row[0]) for row in placements],
                   Visits=visits, **{"Term dates": terms})
    return write_xlsx(path, book)
