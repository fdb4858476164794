#!/usr/bin/env python3
"""Generate the example trackers in workbooks/examples/.

    python workbooks/make_examples.py            # writes the three files below
    python workbooks/make_examples.py --check    # also prints the self-check summary

Outputs (deterministic: re-running gives byte-identical files):

- examples/clean.xlsx: the contract workbook (shared/spec/workbook.md) for Oakfield Academy, 2026/27,
  12 placements at 5 providers, every sheet of the contract. Checked against 2026-11-30 (the Setup
  Return date) it should give no finding at all under rules.md. The script re-checks the data it
  writes against its own reading of the rules (see `self_check`), under two readings of the Term
  dates fallback (see "Ambiguities" below), and refuses to write if anything is off.
- examples/defects.xlsx: the same workbook with planted cell-level defects, one each (PLANTED below).
- examples/defects.expected.json: the findings the defects must give, [{rule, sheet, cell, record}].
  A trap that must NOT give a finding: Checklist!M8 (P-007, "Off-site direction notice sent", an
  item that does not apply) holds "n/a" in lower case: that is N/A, valid text.

Everything here is invented: names, schools, providers, phone numbers (Ofcom's drama range
0116 496 0xxx) and e-mail domains (.example).
"""
from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter
import yaml
from xlsxwriter.utility import xl_rowcol_to_cell

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCHEMAS = REPO / "schemas"
OUT_DIR = HERE / "examples"

D = dt.date
T = dt.time
AS_AT = D(2026, 11, 30)                      # Setup "Return date"
CREATED = dt.datetime(2026, 11, 27, 9, 0, 0)  # workbook property: fixed so output is reproducible

# --------------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------------
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter(body12: str) -> str:
    """domain.md section 6: weights 2..13 on characters 2-13, sum mod 23."""
    total = sum(w * (int(c) if c.isdigit() else UPN_LETTERS.index(c))
                for w, c in zip(range(2, 14), body12))
    return UPN_LETTERS[total % 23]


def make_upn(body12: str) -> str:
    assert len(body12) == 12 and body12[:11].isdigit()
    return upn_check_letter(body12) + body12


assert make_upn("801200005001") == "B801200005001"   # python-stdnum test vector
assert make_upn("855123425001") == "V855123425001"   # domain.md test vector


def nc_year(dob: D, on: D) -> int:
    ay = lambda d: d.year if d.month >= 9 else d.year - 1   # noqa: E731
    return ay(on) - ay(dob) - 5


# --------------------------------------------------------------------------------------------------
# Calendar: Term dates sheet + England bank holidays
# --------------------------------------------------------------------------------------------------
TERM_ROWS = [  # From, To, Kind (the spring half-term is written as two Term rows on purpose)
    (D(2026, 9, 3), D(2026, 12, 18), "Term"),
    (D(2026, 10, 26), D(2026, 10, 30), "Closed"),
    (D(2027, 1, 5), D(2027, 2, 12), "Term"),
    (D(2027, 2, 22), D(2027, 3, 25), "Term"),
    (D(2027, 4, 12), D(2027, 7, 21), "Term"),
    (D(2027, 5, 31), D(2027, 6, 4), "Closed"),
]
BANK_HOLIDAYS = {
    D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 4), D(2026, 5, 25), D(2026, 8, 31),
    D(2026, 12, 25), D(2026, 12, 28), D(2027, 1, 1), D(2027, 3, 26), D(2027, 3, 29), D(2027, 5, 3),
    D(2027, 5, 31), D(2027, 8, 30), D(2027, 12, 27), D(2027, 12, 28),
}


class Calendar:
    """School days. `gaps` says what a weekday outside every Term row is:
    "closed" if it lies between the first and last Term rows (a holiday), else Mon-Fri;
    "fallback": always Mon-Fri (the literal reading of rules.md "Term dates")."""

    def __init__(self, gaps: str):
        self.gaps = gaps
        self.terms = [(a, b) for a, b, k in TERM_ROWS if k == "Term"]
        self.closed = [(a, b) for a, b, k in TERM_ROWS if k == "Closed"]
        self.first = min(a for a, _ in self.terms)
        self.last = max(b for _, b in self.terms)

    def is_school_day(self, d: D) -> bool:
        if d.weekday() >= 5 or d in BANK_HOLIDAYS:
            return False
        if any(a <= d <= b for a, b in self.closed):
            return False
        if any(a <= d <= b for a, b in self.terms):
            return True
        if self.gaps == "closed" and self.first <= d <= self.last:
            return False
        return True

    def between(self, a: D, b: D) -> int:
        """School days strictly after a, up to and including b."""
        n, d = 0, a
        while d < b:
            d += dt.timedelta(days=1)
            n += self.is_school_day(d)
        return n

    def clear_days(self, a: D, b: D) -> int:
        """School days strictly between a and b."""
        return self.between(a, b - dt.timedelta(days=1))

    def add(self, d: D, n: int) -> D:
        """The n-th school day after d (n > 0) or before d (n < 0)."""
        step = dt.timedelta(days=1 if n > 0 else -1)
        left = abs(n)
        while left:
            d += step
            left -= self.is_school_day(d)
        return d


CALENDARS = [Calendar("closed"), Calendar("fallback")]


def working_days_before(d: D, n: int) -> D:
    """For choosing realistic checklist dates only: staff work on weekdays in term time
    (the 2025/26 summer holiday and the half-terms are skipped)."""
    def working(x: D) -> bool:
        return (x.weekday() < 5 and x not in BANK_HOLIDAYS and not D(2026, 7, 23) <= x <= D(2026, 9, 2)
                and not any(a <= x <= b for a, b, k in TERM_ROWS if k == "Closed"))
    while n:
        d -= dt.timedelta(days=1)
        n -= working(d)
    return d


def add_months(d: D, months: int) -> D:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return D(y, m, min(d.day, calendar.monthrange(y, m)[1]))


# --------------------------------------------------------------------------------------------------
# Schemas (the header texts come from here; the script fails if a header is not known)
# --------------------------------------------------------------------------------------------------
def load_schema(name: str) -> dict:
    with open(SCHEMAS / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


CHECKLIST_SCHEMA = load_schema("checklist")
ITEMS = [(it["code"], it["name"]) for it in CHECKLIST_SCHEMA["items"]]
ITEM_NAME = dict(ITEMS)
assert [c for c, _ in ITEMS] == [f"CL{i:03d}" for i in range(1, 21)], "checklist.yaml items changed"


def schema_headers(name: str) -> dict[str, str]:
    """lower-cased header text -> canonical field name, for one schema file."""
    s = load_schema(name)
    out: dict[str, str] = {}
    for f in s.get("fields", []) + s.get("items", []):
        for h in [f["name"], *f.get("aliases", [])]:
            out.setdefault(h.strip().lower(), f["name"])
    return out


def check_headers(schema: str, headers: list[str]) -> None:
    known = schema_headers(schema)
    for h in headers:
        assert h.lower() in known, f"{schema}: header {h!r} is not a field name or alias"
    fields = [known[h.lower()] for h in headers]
    assert len(set(fields)) == len(fields), f"{schema}: two headers map to one field: {headers}"


# --------------------------------------------------------------------------------------------------
# The data (canonical headers, contract order)
# --------------------------------------------------------------------------------------------------
SETUP = [
    ("School name", "Oakfield Academy"),
    ("School URN", "149876"),
    ("LAESTAB", "8554123"),
    ("Partnership", "Soar Valley Partnership"),
    ("Academic year", "2026/27"),
    ("Return date", AS_AT),
    ("Session times", "08:45-12:15, 13:00-15:15"),
]

PROVIDER_HEADERS = ["Provider ID", "Provider name", "Address", "Postcode", "Registration", "URN",
                    "Directory ID", "LEBC audit status", "LEBC audit date", "DSL name", "DSL phone",
                    "Contact email", "Insurance expiry"]
PROVIDERS = [
    ["PRV-01", "Soarbrook College", "Meadow Lane Campus, Loughborough", "LE11 3QF", "FE college",
     "130745", "", "Not audited", None, "Ms H. Varley", "0116 496 0101",
     "safeguarding@soarbrook.example", D(2027, 8, 31)],
    ["PRV-02", "Kestrel House School", "Kestrel Lane, Syston", "LE7 1NX", "Registered school",
     "148321", "LEBC-0102", "Passed", D(2026, 10, 14), "Mr P. Ingram", "0116 496 0222",
     "office@kestrelhouse.example", D(2027, 9, 30)],
    ["PRV-03", "Hollyfield Farm Learning CIC", "Hollyfield Farm, Ridgeway Lane, Coalville", "LE67 9RD",
     "Unregistered", "", "LEBC-0231", "Passed", D(2026, 5, 18), "Mrs C. Ferris", "0116 496 0343",
     "hello@hollyfieldfarm.example", D(2027, 8, 31)],
    ["PRV-04", "Copper Kettle Motor Project", "Unit 4, Tanyard Estate, Ashby-de-la-Zouch", "LE65 2UX",
     "Unregistered", "", "LEBC-0188", "Passed", D(2026, 4, 22), "Mr R. Daventry", "0116 496 0454",
     "workshop@copperkettle.example", D(2027, 8, 31)],
    ["PRV-05", "Larkspur Boxing and Fitness CIC", "The Old Drill Hall, Station Street, Wigston",
     "LE18 4NW", "Unregistered", "", "LEBC-0317", "Passed", D(2026, 9, 21), "Ms T. Okafor",
     "0116 496 0565", "coach@larkspurboxing.example", D(2027, 12, 31)],
]
REGISTRATION = {p[0]: p[4] for p in PROVIDERS}

PLACEMENT_HEADERS = ["Placement ID", "UPN", "Surname", "Forename", "Date of birth", "NC year",
                     "SEN status", "Looked after", "Provider ID", "Placement basis", "Reason",
                     "Start date", "Planned end date", "Actual end date", "AP hours per week",
                     "School hours per week", "Attendance code", "Next review date", "Status",
                     "Part-time until", "Parent or carer", "Parent address", "Reports to at provider",
                     "Objectives"]


@dataclass
class Pupil:
    upn: str
    surname: str
    forename: str
    dob: D
    ncy: int
    sen: str
    lac: str
    parent: str
    address: str


PUPILS = {
    "kai": Pupil(make_upn("855210416017"), "Harrington", "Kai", D(2011, 11, 23), 10, "K", "N",
                 "Ms S. Harrington", "14 Wrenfield Close, Loughborough, LE11 4PX"),
    "ellie": Pupil(make_upn("855223117042"), "Brannigan", "Ellie-Mae", D(2013, 3, 14), 9, "N", "N",
                   "Mr and Mrs Brannigan", "3 Pippin Row, Shepshed, LE12 9QT"),
    "jaden": Pupil(make_upn("855310715008"), "Oduya", "Jaden", D(2011, 2, 8), 11, "E", "N",
                   "Mrs G. Oduya", "41 Larchmere Road, Loughborough, LE11 2HB"),
    "zoe": Pupil(make_upn("856201718023"), "Kowalczyk", "Zoë", D(2014, 6, 30), 8, "K", "Y",
                 "Leicestershire County Council (social worker: Ms A. Greer)",
                 "c/o Children and Family Services, County Hall, Glenfield"),
    "reece": Pupil(make_upn("855210416031"), "Thornbury", "Reece", D(2012, 1, 17), 10, "N", "N",
                   "Ms K. Thornbury", "8 Cobbler's Yard, Hathern, LE12 5LN"),
    "lacey": Pupil(make_upn("855230916012"), "Dunmore", "Lacey", D(2012, 4, 2), 10, "N", "N",
                   "Mr J. Dunmore", "22 Swallowdale Drive, Coalville, LE67 4WE"),
    "callum": Pupil(make_upn("855223115027"), "Pritchard-Hayes", "Callum", D(2010, 10, 2), 11, "K", "N",
                    "Mrs L. Pritchard-Hayes", "5 Oakmere Court, Loughborough, LE11 5TJ"),
    "maisie": Pupil(make_upn("855310717019"), "Ashworth", "Maisie", D(2013, 7, 21), 9, "E", "N",
                    "Ms R. Ashworth", "67 Brindle Lane, Quorn, LE12 8BD"),
    "daniel": Pupil(make_upn("856214015033"), "Adeyemi", "Daniel", D(2010, 12, 11), 11, "N", "N",
                    "Mr and Mrs Adeyemi", "12 Fieldfare Way, Loughborough, LE11 4GL"),
    "oliver": Pupil(make_upn("855201718006"), "Quennell", "Oliver", D(2014, 2, 25), 8, "K", "N",
                    "Mrs D. Quennell", "90 Hollowbrook Road, Sileby, LE12 7RN"),
    "jake": Pupil(make_upn("855230916045"), "Fenwick-Lowe", "Jake", D(2012, 5, 19), 10, "N", "N",
                  "Ms M. Fenwick", "2 Tanner's Walk, Coalville, LE67 3PY"),
    # only on the repeated-ID row of defects.xlsx
    "priya": Pupil(make_upn("855210415051"), "Sandhu", "Priya", D(2010, 10, 9), 11, "N", "N",
                   "Mr H. Sandhu", "17 Kingfisher Rise, Loughborough, LE11 3NU"),
}


@dataclass
class Placement:
    pid: str
    pupil: str
    provider: str
    basis: str
    reason: str
    start: D
    planned_end: D
    actual_end: D | None
    ap_hours: float
    school_hours: float
    code: str
    next_review: D | None
    status: str
    part_time_until: D | None
    reports_to: str
    objectives: str
    sessions: int            # AP sessions a week (for Attendance)
    prep_end: D              # the last of the before-day-0 checks
    notice: D | None = None  # CL012 (and CL014 for an EHC plan) for an off-site direction
    first_visit: D | None = None
    exit_plan: D | None = None
    end_review: D | None = None


OSD, AWP, LAA = "Off-site direction", "Agreed with parent", "LA arranged"

PLACEMENTS = [
    Placement("P-001", "kai", "PRV-03", OSD, "Persistent disruption in lessons; at risk of suspension",
              D(2026, 9, 14), D(2027, 2, 12), None, 12, 19.5, "B", D(2027, 1, 6), "Active", None,
              "Mrs C. Ferris", "Attend 95%; complete Level 1 land-based award; reintegrate to full timetable",
              4, D(2026, 7, 17), notice=D(2026, 9, 9), first_visit=D(2026, 9, 24)),
    Placement("P-002", "ellie", "PRV-03", AWP, "Anxiety-related absence; confidence building",
              D(2026, 9, 7), D(2026, 12, 18), None, 10, 20, "B", D(2026, 12, 16), "Active", None,
              "Mr O. Lamb", "Attendance above 90% at school and farm; return to full timetable in January",
              4, D(2026, 7, 16), first_visit=D(2026, 9, 17), exit_plan=D(2026, 11, 20)),
    Placement("P-003", "jaden", "PRV-04", OSD, "Disengagement; vocational pathway in EHC plan",
              D(2026, 10, 5), D(2027, 3, 19), None, 12.5, 19.5, "B", D(2026, 12, 16), "Active", None,
              "Mr R. Daventry", "Entry Level 3 vehicle maintenance; EHC plan outcomes 2 and 4",
              4, D(2026, 9, 25), notice=D(2026, 9, 28), first_visit=D(2026, 10, 15)),
    Placement("P-004", "zoe", "PRV-04", AWP, "Re-engagement after change of care placement",
              D(2026, 11, 9), D(2027, 2, 12), None, 12, 19.5, "B", D(2026, 12, 14), "Active", None,
              "Mr R. Daventry", "Settle into new home area; practical skills; PEP targets 1 to 3",
              4, D(2026, 11, 5), first_visit=D(2026, 11, 19)),
    Placement("P-005", "reece", "PRV-05", OSD, "Anger management; short part-time timetable",
              D(2026, 11, 2), D(2027, 1, 29), None, 2.5, 18.5, "B", D(2026, 12, 9), "Active",
              D(2026, 12, 18), "Ms T. Okafor", "Self-regulation programme; full timetable by January",
              1, D(2026, 10, 21), notice=D(2026, 10, 20), first_visit=D(2026, 11, 12)),
    Placement("P-006", "lacey", "PRV-04", AWP, "Short vocational taster",
              D(2026, 9, 7), D(2026, 10, 23), D(2026, 10, 23), 10, 20, "B", None, "Ended", None,
              "Mr R. Daventry", "Complete 7-week taster; decide on Year 11 option",
              4, D(2026, 7, 15), first_visit=D(2026, 9, 17), exit_plan=D(2026, 10, 7),
              end_review=D(2026, 11, 4)),
    Placement("P-007", "callum", "PRV-01", AWP, "Year 11 engineering pathway",
              D(2026, 9, 14), D(2027, 3, 25), None, 13, 19.5, "B", D(2027, 1, 6), "Active", None,
              "Mr F. Aziz (14-16 coordinator)", "Level 1 engineering; GCSE English and maths at school",
              4, D(2026, 7, 20), first_visit=D(2026, 9, 24)),
    Placement("P-008", "maisie", "PRV-02", OSD, "Needs in EHC plan not met in mainstream; assessment place",
              D(2026, 9, 7), D(2027, 7, 21), None, 32.5, 0, "D", D(2026, 12, 17), "Active", None,
              "Mrs N. Hale (head of centre)", "Assessment of need; annual review to name a setting",
              10, D(2026, 7, 14), notice=D(2026, 7, 10), first_visit=D(2026, 9, 17)),
    Placement("P-009", "daniel", "PRV-01", AWP, "Year 11 construction pathway",
              D(2026, 12, 7), D(2027, 3, 25), None, 13, 19.5, "B", D(2027, 1, 20), "Planned", None,
              "Mr F. Aziz (14-16 coordinator)", "Level 1 construction multi-skills",
              4, D(2026, 11, 27)),
    Placement("P-010", "oliver", "PRV-02", LAA, "Section 19 provision arranged by the LA",
              D(2026, 9, 7), D(2027, 7, 21), None, 32.5, 0, "K", D(2026, 12, 17), "Active", None,
              "Mrs N. Hale (head of centre)", "As set by the local authority",
              10, D(2026, 9, 4), first_visit=D(2026, 9, 18)),
    Placement("P-011", "jake", "PRV-03", OSD, "Persistent disruption; outdoor learning",
              D(2026, 9, 14), D(2027, 1, 29), D(2026, 11, 16), 12, 19.5, "B", None, "Ended", None,
              "Mrs C. Ferris", "Attendance above 90%; reduce behaviour points",
              4, D(2026, 7, 13), notice=D(2026, 9, 8), first_visit=D(2026, 9, 24),
              exit_plan=D(2026, 11, 12), end_review=D(2026, 11, 20)),
    Placement("P-012", "jake", "PRV-05", OSD, "Moved from Hollyfield Farm (same-day move)",
              D(2026, 11, 16), D(2027, 3, 19), None, 6, 26, "B", D(2026, 12, 18), "Active", None,
              "Ms T. Okafor", "Self-regulation through boxing; attendance above 90%",
              2, D(2026, 11, 11), notice=D(2026, 11, 10), first_visit=D(2026, 11, 26)),
]
BY_ID = {p.pid: p for p in PLACEMENTS}

# The row added to defects.xlsx: a new planned placement typed with the ID of the row above.
DUPLICATE = Placement("P-012", "priya", "PRV-01", AWP, "Year 11 health and social care pathway",
                      D(2027, 1, 11), D(2027, 3, 25), None, 6, 26, "B", D(2027, 2, 12), "Planned", None,
                      "Mr F. Aziz (14-16 coordinator)", "Level 1 health and social care", 2,
                      D(2026, 11, 27))

# before-day-0 items: working days before prep_end (0 = on prep_end)
PREP_OFFSET = {"CL001": 10, "CL002": 10, "CL003": 8, "CL004": 8, "CL005": 8, "CL006": 8, "CL007": 6,
               "CL008": 3, "CL009": 3, "CL010": 2, "CL011": 1, "CL013": 4, "CL014": 4, "CL015": 4,
               "CL016": 0, "CL017": 0}
CHECKLIST_OVERRIDES = {("P-006", "CL001"): D(2026, 9, 3)}   # re-checked on the first day of term


def applies(p: Placement, code: str) -> bool:
    pu = PUPILS[p.pupil]
    not_la = p.basis != LAA
    return {
        "CL002": not_la and REGISTRATION[p.provider] == "Unregistered",
        "CL012": p.basis == OSD,
        "CL013": p.basis == AWP,
        "CL014": not_la and pu.sen == "E",
        "CL015": not_la and pu.lac == "Y",
        "CL016": True, "CL017": True, "CL018": True, "CL019": True,
        "CL020": p.actual_end is not None and p.actual_end <= AS_AT,
    }.get(code, not_la)


def checklist_row(p: Placement) -> dict[str, object]:
    row: dict[str, object] = {}
    for code, _ in ITEMS:
        if code in PREP_OFFSET:
            value: object = working_days_before(p.prep_end, PREP_OFFSET[code])
            if code in ("CL012",):
                value = p.notice
            if code == "CL014" and p.basis == OSD:
                value = p.notice          # the LA gets the notice with the parent
        elif code == "CL012":
            value = p.notice
        elif code == "CL018":
            value = p.first_visit
        elif code == "CL019":
            value = p.exit_plan
        elif code == "CL020":
            value = p.end_review
        else:
            raise AssertionError(code)
        value = CHECKLIST_OVERRIDES.get((p.pid, code), value)
        if not applies(p, code):
            # N/A where a person would type it; blank elsewhere (both are fine)
            value = "N/A" if code in ("CL002", "CL012", "CL013", "CL015") or p.basis == LAA else None
        row[code] = value
    return row


# Timetable: (placement, day, location, start, end)
TIMETABLE = []
for _pid, _ap_days, _ap_times in [("P-001", ["Mon", "Wed"], (T(9, 0), T(15, 0))),
                                  ("P-007", ["Tue", "Thu"], (T(9, 0), T(15, 30))),
                                  ("P-012", ["Thu"], (T(9, 30), T(15, 30)))]:
    for _day in ["Mon", "Tue", "Wed", "Thu", "Fri"]:
        if _day in _ap_days:
            TIMETABLE.append((_pid, _day, "AP", *_ap_times))
        else:
            TIMETABLE.append((_pid, _day, "School", T(8, 45), T(15, 15)))

QA = "QA visit"
MON = "Monitoring visit"
REV = "Review meeting"
LEAD = "Mrs J. Patel (AP lead)"
PASTORAL = "Mr D. Holt (head of Year 10)"
QA_OFFICER = "Mr R. Whitlock (partnership QA officer)"
# Visit date, Provider ID, Placement ID, Visit type, Visitor, Outcome, Report on file
VISITS = [
    (D(2026, 3, 12), "PRV-01", None, QA, QA_OFFICER, "Good", "Y"),
    (D(2026, 5, 20), "PRV-02", None, QA, QA_OFFICER, "Good", "Y"),
    (D(2026, 6, 24), "PRV-04", None, QA, QA_OFFICER, "Satisfactory", "Y"),
    (D(2026, 7, 8), "PRV-03", None, QA, QA_OFFICER, "Good", "Y"),
    (D(2026, 9, 30), "PRV-05", None, QA, QA_OFFICER, "Good", "Yes"),
]
_later_monitoring = {"P-001": D(2026, 11, 12), "P-002": D(2026, 11, 5), "P-003": D(2026, 11, 19),
                     "P-007": D(2026, 11, 10), "P-008": D(2026, 11, 3), "P-010": D(2026, 11, 4)}
_reviews = {"P-001": [D(2026, 10, 19), D(2026, 11, 23)], "P-002": [D(2026, 10, 12), D(2026, 11, 16)],
            "P-003": [D(2026, 11, 16)], "P-006": [D(2026, 10, 12)],
            "P-007": [D(2026, 10, 21), D(2026, 11, 25)], "P-008": [D(2026, 10, 14), D(2026, 11, 18)],
            "P-010": [D(2026, 10, 14), D(2026, 11, 18)], "P-011": [D(2026, 10, 19)]}
for _p in PLACEMENTS:
    if _p.first_visit:
        VISITS.append((_p.first_visit, _p.provider, _p.pid, MON, LEAD, "Good", "Y"))
    if _p.pid in _later_monitoring:
        VISITS.append((_later_monitoring[_p.pid], _p.provider, _p.pid, MON, PASTORAL, "Satisfactory", "Y"))
    for _d in _reviews.get(_p.pid, []):
        VISITS.append((_d, _p.provider, _p.pid, REV, LEAD, "Good", "Y"))
VISITS.sort(key=lambda v: (v[0], v[1], v[2] or ""))

# Attendance: absences (week commencing -> sessions missed) by placement
ABSENCES = {"P-001": {D(2026, 9, 28): 1}, "P-002": {D(2026, 10, 5): 1, D(2026, 10, 19): 1},
            "P-003": {D(2026, 10, 12): 1}, "P-006": {D(2026, 9, 21): 1}, "P-008": {D(2026, 10, 5): 1,
            D(2026, 11, 16): 1}, "P-010": {D(2026, 9, 14): 2}, "P-011": {D(2026, 10, 5): 1}}


def attendance_rows() -> list[tuple]:
    cal = CALENDARS[0]
    rows = []
    for p in PLACEMENTS:
        end = min(p.actual_end or p.planned_end, AS_AT)
        wc = p.start - dt.timedelta(days=p.start.weekday())
        while wc + dt.timedelta(days=4) < AS_AT and wc <= end:
            days = [wc + dt.timedelta(days=i) for i in range(5)]
            open_days = [d for d in days if cal.is_school_day(d) and p.start <= d <= end]
            if open_days:
                # AP sessions fall on the pupil's AP days; in this data every week is a full week
                expected = p.sessions if len(open_days) == 5 else round(p.sessions * len(open_days) / 5)
                if p.pid == "P-011" and wc == D(2026, 11, 16):
                    expected = 0      # moved to Larkspur on the Monday: no sessions at the farm
                if expected:
                    missed = ABSENCES.get(p.pid, {}).get(wc, 0)
                    rows.append((p.pid, wc, expected, expected - missed, expected - missed))
            wc += dt.timedelta(days=7)
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


ATTENDANCE = attendance_rows()

EXPLANATION_HEADERS = ["Rule", "Record", "Explanation", "Explained by", "Date"]


# --------------------------------------------------------------------------------------------------
# Self-check: the clean data against this script's reading of rules.md
# --------------------------------------------------------------------------------------------------
def self_check(placements: list[Placement]) -> list[str]:
    problems: list[str] = []

    def bad(msg: str) -> None:
        problems.append(msg)

    prov = {p[0]: dict(zip(PROVIDER_HEADERS, p)) for p in PROVIDERS}
    ids = [p.pid for p in placements]
    if len(set(ids)) != len(ids):
        bad("duplicate Placement ID")

    def active_on(p: Placement, d: D) -> bool:
        return p.start <= d <= (p.actual_end or p.planned_end)

    live = [p for p in placements if active_on(p, AS_AT) or p.start > AS_AT]

    for p in placements:
        pu = PUPILS[p.pupil]
        reg = REGISTRATION[p.provider]
        upn = pu.upn
        if len(upn) != 13 or upn[0] != upn_check_letter(upn[1:]) or not upn[1:].isdigit():
            bad(f"{p.pid} PL001/PL002 UPN {upn}")
        if p.planned_end < p.start or (p.actual_end and p.actual_end < p.start):
            bad(f"{p.pid} PL003")
        if nc_year(pu.dob, AS_AT) != pu.ncy:
            bad(f"{p.pid} PL004 NC year {pu.ncy} vs {nc_year(pu.dob, AS_AT)}")
        if not 7 <= pu.ncy <= 11:
            bad(f"{p.pid} PL005 (not compulsory school age)")
        # PL007
        st = p.status
        if ((st == "Planned" and p.start <= AS_AT) or (st == "Active" and p.start > AS_AT)
                or (st in ("Active", "Planned") and p.actual_end and p.actual_end <= AS_AT)
                or (st == "Active" and p.planned_end < AS_AT and not p.actual_end)
                or (st == "Ended" and (not p.actual_end or p.actual_end > AS_AT))):
            bad(f"{p.pid} PL007 status {st}")
        if st != ("Ended" if p.actual_end else "Planned" if p.start > AS_AT else "Active"):
            bad(f"{p.pid} status/dates")
        # PL008 (typed hours; the timetabled ones cover every session, checked below)
        if p.ap_hours + p.school_hours < 25 and not (p.part_time_until and p.part_time_until > AS_AT):
            bad(f"{p.pid} PL008 part-time with no end")
        # PL009
        if (p.code == "K") != (p.basis == LAA) or (p.code == "D" and reg != "Registered school"):
            bad(f"{p.pid} PL009")
        # HR001, HR002, HR008 (no full-time pupil at an unregistered provider at all)
        if reg == "Unregistered":
            if p.ap_hours > 18:
                bad(f"{p.pid} HR001")
            if p.ap_hours >= p.school_hours or p.school_hours == 0:
                bad(f"{p.pid} HR008")
        if not 0 <= p.ap_hours <= 40 or not 0 <= p.school_hours <= 40:
            bad(f"{p.pid} CE005 hours")
        # PR004/PR009 for live placements
        pr = prov[p.provider]
        if p in live:
            if reg == "Unregistered":
                valid_to = add_months(pr["LEBC audit date"], 12) - dt.timedelta(days=1)
                if valid_to < p.planned_end:
                    bad(f"{p.pid} PR004 audit runs out {valid_to}")
            if pr["Insurance expiry"] and pr["Insurance expiry"] < p.planned_end:
                bad(f"{p.pid} PR009")
        # PL012
        for q in placements:
            if q is not p and PUPILS[q.pupil].upn == upn:
                a0, a1 = p.start, p.actual_end or p.planned_end
                b0, b1 = q.start, q.actual_end or q.planned_end
                if a0 <= b1 and b0 <= a1 and not (a1 == b0 or b1 == a0):
                    bad(f"{p.pid} PL012 with {q.pid}")

    # PR001-PR008
    for pid, pr in prov.items():
        if pr["Registration"] in ("Registered school", "FE college"):
            if not (pr["URN"].isdigit() and len(pr["URN"]) == 6):
                bad(f"{pid} PR006")
        elif pr["URN"]:
            bad(f"{pid} PR008")
        if pr["LEBC audit date"] and pr["LEBC audit date"] > AS_AT:
            bad(f"{pid} PR005")
        if pr["Registration"] == "Unregistered":
            if pr["LEBC audit status"] != "Passed":
                bad(f"{pid} PR001/PR002")
            if add_months(pr["LEBC audit date"], 12) - dt.timedelta(days=1) < AS_AT:
                bad(f"{pid} PR003")
        elif pr["LEBC audit status"] != "Not audited" and not pr["LEBC audit date"]:
            bad(f"{pid} CE001 audit date")
        # VI002/VI003
        if any(p.provider == pid for p in live):
            qa = sorted(v for v in VISITS if v[1] == pid and v[3] == QA)
            if not qa or add_months(qa[-1][0], 12) <= AS_AT:
                bad(f"{pid} VI002")
            elif qa[-1][5] in ("Inadequate", "Concern raised"):
                bad(f"{pid} VI003")
    # HR003/HR004: no full-time pupil at any unregistered provider on any date (checked above)

    # Timetable: HR005/HR006/HR007, PL008 coverage
    for pid in sorted({t[0] for t in TIMETABLE}):
        p = BY_ID[pid]
        rows = [t for t in TIMETABLE if t[0] == pid]

        def hrs(loc: str, rows: list = rows) -> float:
            return sum((dt.datetime.combine(AS_AT, e) - dt.datetime.combine(AS_AT, s)).seconds
                       for _, _, where, s, e in rows if where == loc) / 3600

        if abs(hrs("AP") - p.ap_hours) > 0.5 or abs(hrs("School") - p.school_hours) > 0.5:
            bad(f"{pid} HR005 timetable {hrs('AP')}/{hrs('School')}")
        for day in ["Mon", "Tue", "Wed", "Thu", "Fri"]:
            ses = sorted((s, e) for _, d, where, s, e in rows if d == day and where != "None")
            if not any(s < T(12) for s, _ in ses) or not any(e > T(13) for _, e in ses):
                bad(f"{pid} PL008 {day}")
            for (_, e1), (s2, _) in zip(ses, ses[1:], strict=False):
                if s2 < e1:
                    bad(f"{pid} HR006 {day}")
        for _, _, where, s, e in rows:
            if where == "AP" and (s < T(8) or e > T(18)):
                bad(f"{pid} HR007")

    # Visits: VI004, VI005
    for v in VISITS:
        if v[6] not in ("Y", "Yes"):
            bad(f"VI004 {v}")
        if v[1] not in prov or (v[2] and v[2] not in BY_ID):
            bad(f"VI005 {v}")

    for cal in CALENDARS:
        tag = f"[{cal.gaps}]"
        for p in placements:
            pu = PUPILS[p.pupil]
            row = checklist_row(p)
            last_review = max([v[0] for v in VISITS if v[2] == p.pid and v[3] == REV] + [p.start])
            # PL010 (active and planned placements)
            if p in live:
                if p.next_review is None or p.next_review <= AS_AT:
                    bad(f"{p.pid} PL010 {tag} next review {p.next_review}")
                elif cal.between(last_review, p.next_review) > 30:
                    bad(f"{p.pid} PL010 {tag} {cal.between(last_review, p.next_review)} school days "
                        f"after {last_review}")
            # VI001 (active placements)
            if active_on(p, AS_AT) and cal.between(p.start, AS_AT) >= 30:
                mon = [v[0] for v in VISITS if v[2] == p.pid and v[3] == MON and v[0] <= AS_AT]
                if not mon or cal.between(max(mon), AS_AT) >= 30:
                    bad(f"{p.pid} VI001 {tag}")
            # AT001-AT004 (active placements; AT002-AT004 on every row)
            if active_on(p, AS_AT):
                have = {r[1] for r in ATTENDANCE if r[0] == p.pid}
                wc = p.start - dt.timedelta(days=p.start.weekday())
                while wc + dt.timedelta(days=4) < AS_AT:
                    days = [wc + dt.timedelta(days=i) for i in range(5)]
                    if any(cal.is_school_day(d) for d in days) and wc not in have:
                        bad(f"{p.pid} AT001 {tag} week {wc}")
                    wc += dt.timedelta(days=7)
            last4 = [r for r in ATTENDANCE if r[0] == p.pid][-4:]     # every placement, to be safe
            if last4 and sum(r[3] for r in last4) < 0.9 * sum(r[2] for r in last4):
                bad(f"{p.pid} AT003")
            # Checklist
            for code, _ in ITEMS:
                v = row[code]
                if isinstance(v, D) and v > AS_AT:
                    bad(f"{p.pid} {code} dated after the as-at date")
                if not applies(p, code):
                    continue
                if code in ("CL001", "CL002", "CL003", "CL004", "CL005", "CL006", "CL007", "CL008",
                            "CL009", "CL010", "CL011", "CL013", "CL015", "CL016", "CL017"):
                    due = p.start
                elif code in ("CL012", "CL014") and p.basis == OSD:
                    due = None
                    if not isinstance(v, D) or cal.clear_days(v, p.start) < 2:
                        bad(f"{p.pid} {code} {tag} notice {v}: "
                            f"{cal.clear_days(v, p.start) if isinstance(v, D) else '-'} clear days")
                elif code == "CL014":
                    due = p.start
                elif code == "CL018":
                    due = cal.add(p.start, 20)
                    if any(x[2] == p.pid and x[3] == MON and x[0] <= AS_AT for x in VISITS):
                        v = v or AS_AT
                elif code == "CL019":
                    due = cal.add(p.planned_end, -10)
                elif code == "CL020":
                    due = cal.add(p.actual_end, 10)
                if due is None:
                    continue
                if isinstance(v, D):
                    if v > due:
                        bad(f"{p.pid} {code} {tag} done late: {v} > {due}")
                elif due <= AS_AT or cal.between(AS_AT, due) <= 12:
                    bad(f"{p.pid} {code} {tag} missing, due {due}")
    # CL021: every placement has a Checklist row (one per placement by construction)
    # AT002/AT004/CE005 on the rows
    for r in ATTENDANCE:
        if not (0 <= r[3] <= r[4] <= r[2] <= 10):
            bad(f"AT002/AT004 {r}")
    return problems


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------
class Book:
    def __init__(self, path: Path):
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                                  "strings_to_formulas": False,
                                                  "strings_to_urls": False})
        self.wb.set_properties({"title": "AP placement tracker 2026/27", "author": "apxl examples",
                                "company": "Oakfield Academy (fictional)", "created": CREATED})
        self.head = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                        "text_wrap": True, "valign": "top"})
        self.date = self.wb.add_format({"num_format": "dd/mm/yyyy"})
        self.time = self.wb.add_format({"num_format": "hh:mm"})
        self.hours = self.wb.add_format({"num_format": "0.0"})

    def sheet(self, name: str, headers: list[str], rows: list[list], widths: dict[int, float] | None = None):
        ws = self.wb.add_worksheet(name)
        for c, h in enumerate(headers):
            ws.write_string(0, c, h, self.head)
            ws.set_column(c, c, (widths or {}).get(c, max(12, min(40, len(h) + 2))))
        ws.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                self.cell(ws, r, c, v)
        return ws

    def cell(self, ws, r: int, c: int, v) -> None:
        if v is None or v == "":
            return
        if isinstance(v, dt.time):
            ws.write_datetime(r, c, v, self.time)
        elif isinstance(v, D):
            ws.write_datetime(r, c, v, self.date)
        elif isinstance(v, bool):
            raise TypeError("no booleans in the contract")
        elif isinstance(v, float):
            ws.write_number(r, c, v, self.hours)
        elif isinstance(v, int):
            ws.write_number(r, c, v)
        else:
            ws.write_string(r, c, str(v))

    def close(self) -> None:
        self.wb.close()


def placement_row(p: Placement) -> list:
    pu = PUPILS[p.pupil]
    return [p.pid, pu.upn, pu.surname, pu.forename, pu.dob, pu.ncy, pu.sen, pu.lac, p.provider, p.basis,
            p.reason, p.start, p.planned_end, p.actual_end, float(p.ap_hours), float(p.school_hours),
            p.code, p.next_review, p.status, p.part_time_until, pu.parent, pu.address, p.reports_to,
            p.objectives]


# Planted defects: (sheet, Placement ID or None for an added row, header, value, rule)
PLANTED = [
    ("Placements", "P-004", "Surname", None, "CE001"),
    ("Placements", "P-003", "Next review date", "TBC", "CE002"),
    ("Placements", "P-001", "Actual end date", "n/a", "CE002"),
    ("Checklist", "P-006", ITEM_NAME["CL001"], "03/09/2026", "CE003"),
    ("Placements", "P-005", "AP hours per week", "2.5 hrs", "CE003"),
    ("Placements", "P-002", "SEN status", "X", "CE004"),
    ("Placements", "P-007", "Looked after", "maybe", "CE004"),
    ("Placements", "P-010", "AP hours per week", 45.0, "CE005"),
    ("Checklist", "P-008", ITEM_NAME["CL004"], "Y", "CE007"),
    ("Checklist", "P-007", ITEM_NAME["CL012"], "n/a", None),   # N/A in lower case: NOT a finding
]


def build(path: Path, defects: bool) -> list[dict]:
    """Write one workbook; return the expected findings (empty for the clean one)."""
    expected: list[dict] = []
    placement_rows = [placement_row(p) for p in PLACEMENTS]
    checklist_headers = ["Placement ID"] + [name for _, name in ITEMS]
    checklist_rows = [[p.pid] + [checklist_row(p)[c] for c, _ in ITEMS] for p in PLACEMENTS]
    if defects:
        placement_rows.append(placement_row(DUPLICATE))
        first = xl_rowcol_to_cell(1 + [p.pid for p in PLACEMENTS].index(DUPLICATE.pid), 0)
        expected.append({"rule": "CE006", "sheet": "Placements",
                         "cell": xl_rowcol_to_cell(len(placement_rows), 0), "record": DUPLICATE.pid,
                         "first": first})
        for sheet, pid, header, value, rule in PLANTED:
            rows, headers = ((placement_rows, PLACEMENT_HEADERS) if sheet == "Placements"
                             else (checklist_rows, checklist_headers))
            r = [row[0] for row in rows].index(pid)
            c = headers.index(header)
            if rule == "CE003":   # readable text: it must mean what the clean workbook holds
                want = rows[r][c]
                assert (isinstance(want, D) and want.strftime("%d/%m/%Y") == value) or \
                    (isinstance(want, float) and f"{want:g} hrs" == value), (pid, header, want, value)
            rows[r][c] = value
            if rule:
                expected.append({"rule": rule, "sheet": sheet, "cell": xl_rowcol_to_cell(r + 1, c),
                                 "record": pid})

    book = Book(path)
    ws = book.sheet("Setup", ["Key", "Value"], [list(kv) for kv in SETUP], {0: 18, 1: 30})
    book.sheet("Placements", PLACEMENT_HEADERS, placement_rows,
               {0: 13, 1: 15, 10: 30, 20: 26, 21: 36, 22: 24, 23: 50})
    book.sheet("Providers", PROVIDER_HEADERS, PROVIDERS, {1: 30, 2: 40, 9: 16, 10: 15, 11: 30})
    ws = book.sheet("Checklist", checklist_headers, checklist_rows, {0: 13})
    ws.set_row(0, 45)
    book.sheet("Timetable", ["Placement ID", "Day", "Location", "Start time", "End time"],
               [list(t) for t in TIMETABLE])
    book.sheet("Visits", ["Visit date", "Provider ID", "Placement ID", "Visit type", "Visitor",
                          "Outcome", "Report on file"], [list(v) for v in VISITS], {4: 38})
    book.sheet("Attendance", ["Placement ID", "Week commencing", "Sessions expected",
                              "Sessions attended", "Sessions confirmed"], [list(a) for a in ATTENDANCE])
    book.sheet("Term dates", ["From", "To", "Kind"], [list(t) for t in TERM_ROWS])
    book.sheet("Explanations", EXPLANATION_HEADERS, [], {2: 50})
    book.close()
    return expected


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="print the self-check summary")
    ap.add_argument("--out", type=Path, default=None, help="write here instead of workbooks/examples/")
    args = ap.parse_args()
    global OUT_DIR
    if args.out is not None:
        OUT_DIR = args.out

    check_headers("placements", PLACEMENT_HEADERS)
    check_headers("providers", PROVIDER_HEADERS)
    check_headers("checklist", ["Placement ID"] + [n for _, n in ITEMS])
    check_headers("timetable", ["Placement ID", "Day", "Location", "Start time", "End time"])
    check_headers("visits", ["Visit date", "Provider ID", "Placement ID", "Visit type", "Visitor",
                             "Outcome", "Report on file"])
    check_headers("attendance", ["Placement ID", "Week commencing", "Sessions expected",
                                 "Sessions attended", "Sessions confirmed"])
    check_headers("term_dates", ["From", "To", "Kind"])
    check_headers("explanations", EXPLANATION_HEADERS)
    check_headers("setup", [k for k, _ in SETUP])

    problems = self_check(PLACEMENTS)
    if problems:
        print("clean data is not clean:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    if args.check:
        print(f"self-check: {len(PLACEMENTS)} placements, {len(PROVIDERS)} providers, "
              f"{len(VISITS)} visits, {len(ATTENDANCE)} attendance rows, {len(TIMETABLE)} sessions: "
              f"no findings under either Term dates reading")

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    build(OUT_DIR / "clean.xlsx", defects=False)
    expected = build(OUT_DIR / "defects.xlsx", defects=True)
    order = {"Placements": 0, "Checklist": 1}
    expected.sort(key=lambda f: (order[f["sheet"]], int("".join(ch for ch in f["cell"] if ch.isdigit())),
                                 len(f["cell"]), f["cell"]))
    with open(OUT_DIR / "defects.expected.json", "w", encoding="utf-8", newline="\n") as fh:
        json.dump(expected, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    for name in ("clean.xlsx", "defects.xlsx", "defects.expected.json"):
        print(OUT_DIR / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
