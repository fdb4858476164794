"""Explanations: EX001 (an error explained on an active placement), EX002 (matches nothing), EX003 (incomplete)."""

from __future__ import annotations

import datetime as dt

from .common import checklist_row, headers, placement_row, tracker, write_xlsx

AS_OF = dt.date(2026, 11, 30)
CODES = ("EX001", "EX002", "EX003")
WHEN = dt.date(2026, 11, 20)


def build(path):
    placements = [placement_row("P-001", Surname=""),                               # CE001, an error
                  placement_row("P-002", **{"AP hours per week": "10 hrs"})]        # CE003, a warning
    book = tracker(placements=placements, checklist=[checklist_row("P-001"), checklist_row("P-002")],
                   Explanations=[headers("Explanations"),
                                 ["CE001", "P-001", "The surname will follow", "J. Lead", WHEN],     # EX001
                                 ["CE003", "P-002", "Typed by the provider", "J. Lead", WHEN],       # explains
                                 ["CE003", "P-099", "An old placement", "J. Lead", WHEN],            # EX002
                                 ["CE003", "P-002", "", "", ""]])                                    # EX003
    return write_xlsx(path, book)
