"""rules-pr.xlsx: one provider per PR rule, each with the placement that makes it fire on the as-at date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from apxl.pupils import upn_check_letter

from .common import checklist_row, placement_row, provider_row, tracker, write_xlsx

D = dt.date
AS_OF = D(2026, 11, 30)
CODES = ("PR001", "PR002", "PR003", "PR004", "PR005", "PR006", "PR007", "PR008", "PR009")


def upn(serial: int) -> str:
    body = f"855123426{serial:03d}"
    return upn_check_letter("X" + body) + body


def build(path: Path) -> Path:
    providers = [
        provider_row("AP-01", **{"Provider name": "Aspire Farm", "LEBC audit status": "Failed"}),       # PR001
        provider_row("AP-02", **{"Provider name": "Bramble Kitchen", "LEBC audit status": "Not audited",
                                 "LEBC audit date": ""}),                                                # PR002
        provider_row("AP-03", **{"Provider name": "Copper Kettle Motor Project",
                                 "LEBC audit date": D(2025, 6, 2)}),                                     # PR003
        provider_row("AP-04", **{"Provider name": "Dovecote Riding"}),                                   # PR004
        provider_row("AP-05", **{"Provider name": "Elmtree Workshop", "LEBC audit date": D(2026, 12, 15)}),  # PR005
        provider_row("AP-06", **{"Provider name": "Fernhill School", "Registration": "Registered school",
                                 "LEBC audit status": "Not audited", "LEBC audit date": ""}),            # PR006
        provider_row("AP-07", **{"Provider name": "Greenway Boxing", "Postcode": "LE13"}),                # PR007
        provider_row("AP-08", **{"Provider name": "Hollyfield Farm", "URN": "123456"}),                  # PR008
        provider_row("AP-09", **{"Provider name": "Ivy Lane Studio", "Insurance expiry": D(2026, 10, 31)}),  # PR009
    ]
    placements = [placement_row(f"P-{k:03d}", UPN=upn(k), **{"NC year": 10, "Provider ID": f"AP-{k:02d}"})
                  for k in range(1, 10)]
    placements[3] = placement_row("P-004", UPN=upn(4), **{"NC year": 10, "Provider ID": "AP-04",
                                                          "Planned end date": D(2027, 7, 16)})
    book = tracker(placements=placements, providers=providers, checklist=[checklist_row(p[0]) for p in placements])
    return write_xlsx(path, book)
