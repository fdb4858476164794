#!/usr/bin/env python3
"""Make a contract-shaped placement tracker for benchmarks: `make_tracker.py N OUT.xlsx [--seed S]`.

The workbook follows shared/spec/workbook.md and schemas/*.yaml exactly (canonical sheet names and
headers, in contract order): Setup, Placements (N rows), Providers (N/20), Checklist (one row per
placement, 20 item columns), Timetable (about 4 sessions per placement), Visits (N/5), Attendance (a few
weeks per placement), Term dates. The data is consistent with an as-at date of 2026-11-30 (academic year
2026/27) so that the cell rules (CE) find nothing but the planted defects; domain rules (PL, CL, HR, VI,
AT ...) may still fire on some rows, as they would on a real tracker.

About 2% of Placements rows (at least one) carry exactly one planted defect each; they are listed in
OUT.defects.json (next to OUT, `.xlsx` replaced by `.defects.json`) with the sheet, the A1 cell, the
header, the value written and the rule code a validator is expected to report:
  CE001 blank required cell, CE002 not a date ("TBC", "31/02/2026", "n/a" ...), CE004 not an allowed
  value (SEN status "X" ...), CE005 hours outside 0 to 40, CE006 a repeated Placement ID.

Written with xlsxwriter in constant_memory mode (rows streamed to disk, inline strings). The same N and
seed give a byte-identical file: the document's `created` property is fixed, xlsxwriter fixes the zip
entry timestamps, and every random choice comes from one seeded random.Random.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

AS_OF = dt.date(2026, 11, 30)
EPOCH = dt.date(1899, 12, 30)
EPOCH_ORD = EPOCH.toordinal()
CREATED = dt.datetime(2026, 11, 1, 9, 0, 0)
DEFAULT_SEED = 20261130
DEFECT_SHARE = 0.02

# ---- the contract (workbook.md / schemas/*.yaml) -------------------------------------------------
PLACEMENTS_HEADERS = [
    "Placement ID", "UPN", "Surname", "Forename", "Date of birth", "NC year", "SEN status",
    "Looked after", "Provider ID", "Placement basis", "Reason", "Start date", "Planned end date",
    "Actual end date", "AP hours per week", "School hours per week", "Attendance code",
    "Next review date", "Status", "Part-time until", "Parent or carer", "Parent address",
    "Reports to at provider", "Objectives",
]
PROVIDERS_HEADERS = [
    "Provider ID", "Provider name", "Address", "Postcode", "Registration", "URN", "Directory ID",
    "LEBC audit status", "LEBC audit date", "DSL name", "DSL phone", "Contact email", "Insurance expiry",
]
CHECKLIST_ITEMS = [
    "Registration status checked", "LEBC audit checked", "Safeguarding checks confirmed in writing",
    "Provider safeguarding policy seen", "Health and safety risk assessment seen", "Insurance seen",
    "Pre-placement visit", "Commissioning agreement signed", "Information shared with provider",
    "Pupil risk assessment", "Placement plan agreed", "Off-site direction notice sent",
    "Parent agreement recorded", "LA SEND team informed", "Virtual School informed",
    "Attendance reporting agreed", "Incident procedure agreed", "First monitoring visit",
    "Exit plan agreed", "End of placement review",
]
CHECKLIST_HEADERS = ["Placement ID"] + CHECKLIST_ITEMS
TIMETABLE_HEADERS = ["Placement ID", "Day", "Location", "Start time", "End time"]
VISITS_HEADERS = ["Visit date", "Provider ID", "Placement ID", "Visit type", "Visitor", "Outcome",
                  "Report on file"]
ATTENDANCE_HEADERS = ["Placement ID", "Week commencing", "Sessions expected", "Sessions attended",
                      "Sessions confirmed"]
TERM_HEADERS = ["From", "To", "Kind"]
SHEETS = ["Setup", "Placements", "Providers", "Checklist", "Timetable", "Visits", "Attendance",
          "Term dates"]

COL = {h: i for i, h in enumerate(PLACEMENTS_HEADERS)}
DATE_COLS = {"Date of birth", "Start date", "Planned end date", "Actual end date", "Next review date",
             "Part-time until"}
HOURS_COLS = {"AP hours per week", "School hours per week"}
REQUIRED = ["Placement ID", "UPN", "Surname", "Forename", "Date of birth", "NC year", "SEN status",
            "Looked after", "Provider ID", "Placement basis", "Start date", "Planned end date",
            "AP hours per week", "School hours per week", "Attendance code", "Status"]
BAD_DATE_TEXT = ["TBC", "31/02/2026", "tbc", "30/02/2027", "32/10/2026", "next week", "Sept",
                 "2026-13-01"]
BAD_DATE_TEXT_OPTIONAL = BAD_DATE_TEXT + ["n/a", "n/a"]   # "n/a" only where a blank would be fine
BAD_HOURS = [41, 45, 60, 99.5, -1, -2.5, 168]
BAD_ENUM = [("SEN status", "X"), ("SEN status", "S"), ("Placement basis", "Managed move"),
            ("Attendance code", "Z"), ("Status", "Pending"), ("Looked after", "Maybe")]

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
            "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
            "Wood", "Jackson", "Clarke", "Mistry", "Khan", "Hughes", "Edwards", "Turner", "Hill",
            "Moore", "Cooper", "Ward", "Morris", "King", "Harris", "Baker", "Lewis", "Parmar",
            "O'Brien", "Kowalski", "Begum", "Ahmed"]
FORENAMES = ["Oliver", "Amelia", "Harry", "Isla", "Jack", "Ava", "Charlie", "Mia", "George", "Ivy",
             "Noah", "Lily", "Leo", "Grace", "Alfie", "Freya", "Jacob", "Ella", "Riley", "Sophia",
             "Aarav", "Zara", "Kai", "Maya", "Tyler", "Chloe", "Mason", "Poppy", "Ethan", "Ruby"]
REASONS = ["Persistent disruptive behaviour", "Risk of permanent exclusion", "Anxiety and low attendance",
           "Vocational course", "Medical needs", "Social, emotional and mental health needs",
           "Reintegration after suspension", ""]
OBJECTIVES = ["Re-engage with learning and return to school full time",
              "Achieve a Level 1 vocational qualification", "Improve attendance to 90%",
              "Reduce incidents and prepare for reintegration", "Stabilise and assess needs"]
STREETS = ["High Street", "Station Road", "London Road", "Church Lane", "Mill Lane", "Park Road",
           "Victoria Street", "Main Street", "Granby Street", "Belgrave Gate"]
PROVIDER_WORDS = ["Meadow", "Oak", "Riverside", "Bridge", "Phoenix", "Horizon", "Beacon", "Harbour",
                  "Summit", "Willow", "Forest", "Charnwood", "Soar", "Wreake", "Bosworth"]
PROVIDER_KINDS = ["Learning", "Academy", "Centre", "Farm School", "Training", "Education CIC",
                  "Skills Hub", "Studios"]
VISITORS = ["A. Shah", "B. Collins", "C. Murphy", "D. Okafor", "E. Price", "F. Lamb"]
POSTCODE_END = "ABDEFGHJLNPQRSTUWXYZ"  # BS 7666: not C, I, K, M, O, V

# Term dates of the benchmark school (2026/27); the as-at date falls inside the second half-term.
TERMS = [
    (dt.date(2026, 9, 3), dt.date(2026, 10, 23), "Term"),
    (dt.date(2026, 11, 2), dt.date(2026, 12, 18), "Term"),
    (dt.date(2027, 1, 5), dt.date(2027, 2, 12), "Term"),
    (dt.date(2027, 2, 22), dt.date(2027, 3, 26), "Term"),
    (dt.date(2027, 4, 12), dt.date(2027, 5, 28), "Term"),
    (dt.date(2027, 6, 7), dt.date(2027, 7, 21), "Term"),
    (dt.date(2026, 9, 3), dt.date(2026, 9, 3), "Closed"),
    (dt.date(2027, 1, 5), dt.date(2027, 1, 5), "Closed"),
]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]


def serial(d: dt.date) -> int:
    """Excel serial day number of a date (1900 system)."""
    return (d - EPOCH).days


def col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


class StreamSheet(Worksheet):
    """A constant_memory worksheet that writes a whole row at a time.

    xlsxwriter's own write_number()/write_string() cost about 5 us a cell (a cell tuple, then the
    XML formatted a cell at a time); append_row() writes the same XML (inline strings, numbers as
    `{:.16G}`, the format's xf index in `s`) straight to the worksheet's constant_memory temp file
    and keeps the dimensions that xlsxwriter uses for `<dimension>`. Everything else (styles, panes,
    autofilter, the package) is xlsxwriter's. Rows must be appended in increasing order and the
    sheet must not also be written through the cell API.
    """

    def stream_setup(self, date_format, max_cols: int = 64) -> None:
        assert self.constant_memory, "StreamSheet needs Workbook(..., {'constant_memory': True})"
        self._letters = [col_letter(c) for c in range(max_cols)]
        self._s_date = f' s="{date_format._get_xf_index()}"'

    def append_row(self, r: int, values, num_styles=None, str_style: str = "") -> None:
        """Write zero-based row r: str -> inline string, date -> date serial (date format),
        int/float -> number (num_styles[c], e.g. a time format), None or "" -> no cell."""
        rn = str(r + 1)
        letters = self._letters
        s_date = self._s_date
        parts = [f'<row r="{rn}">']
        add = parts.append
        cmin = cmax = None
        for c, v in enumerate(values):
            if v is None:
                continue
            cls = v.__class__
            if cls is str:
                if not v:
                    continue
                if "&" in v or "<" in v or ">" in v:
                    v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                if v[0].isspace() or v[-1].isspace():
                    add(f'<c r="{letters[c]}{rn}"{str_style} t="inlineStr"><is>'
                        f'<t xml:space="preserve">{v}</t></is></c>')
                else:
                    add(f'<c r="{letters[c]}{rn}"{str_style} t="inlineStr"><is><t>{v}</t></is></c>')
            elif cls is dt.date:
                add(f'<c r="{letters[c]}{rn}"{s_date}><v>{v.toordinal() - EPOCH_ORD}</v></c>')
            elif cls is int and not num_styles:
                add(f'<c r="{letters[c]}{rn}"><v>{v}</v></c>')
            else:
                st = num_styles[c] if num_styles else ""
                add(f'<c r="{letters[c]}{rn}"{st}><v>{v:.16G}</v></c>')
            if cmin is None:
                cmin = c
            cmax = c
        if cmin is None:
            return
        add("</row>")
        self.row_data_fh.write("".join(parts))
        if self.dim_rowmin is None or r < self.dim_rowmin:
            self.dim_rowmin = r
        if self.dim_rowmax is None or r > self.dim_rowmax:
            self.dim_rowmax = r
        if self.dim_colmin is None or cmin < self.dim_colmin:
            self.dim_colmin = cmin
        if self.dim_colmax is None or cmax > self.dim_colmax:
            self.dim_colmax = cmax
        self.previous_row = r


def upn(body12: str) -> str:
    """A permanent UPN: check letter + 12 digits (weights 2..13 on characters 2..13, mod 23)."""
    total = sum(int(c) * w for c, w in zip(body12, range(2, 14)))
    return UPN_LETTERS[total % 23] + body12


def weekday_on_or_after(d: dt.date) -> dt.date:
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def defects_path(out: Path) -> Path:
    name = out.name[:-5] if out.name.lower().endswith(".xlsx") else out.name
    return out.with_name(name + ".defects.json")


# ---- the data ------------------------------------------------------------------------------------
def make_providers(rng: random.Random, n_prov: int) -> list[dict]:
    provs = []
    for j in range(n_prov):
        reg = rng.choices(["Registered school", "FE college", "Unregistered"], [60, 15, 25])[0]
        status = rng.choices(["Passed", "Passed with actions", "Pending"], [75, 20, 5])[0]
        word = PROVIDER_WORDS[j % len(PROVIDER_WORDS)]
        kind = PROVIDER_KINDS[(j // len(PROVIDER_WORDS)) % len(PROVIDER_KINDS)]
        pc = f"LE{rng.randint(1, 19)} {rng.randint(0, 9)}{rng.choice(POSTCODE_END)}{rng.choice(POSTCODE_END)}"
        provs.append({
            "Provider ID": f"AP{j + 1:04d}",
            "Provider name": f"{word} {kind} {j + 1}",
            "Address": f"{rng.randint(1, 200)} {rng.choice(STREETS)}, Leicester",
            "Postcode": pc,
            "Registration": reg,
            "URN": "" if reg == "Unregistered" else str(100000 + (j * 7919) % 900000),
            "Directory ID": f"LEBC-{j + 1:05d}",
            "LEBC audit status": status,
            "LEBC audit date": AS_OF - dt.timedelta(days=rng.randint(10, 200)),
            "DSL name": f"{rng.choice(FORENAMES)} {rng.choice(SURNAMES)}",
            "DSL phone": f"0116 {rng.randint(200, 499)} {rng.randint(1000, 9999)}",
            "Contact email": f"office{j + 1}@provider{j + 1}.example.org",
            "Insurance expiry": dt.date(2027, 8, 31),
        })
    return provs


def make_placement(rng: random.Random, i: int, provs: list[dict], school: int | None = None) -> dict:
    """One clean placement (consistent dates, hours, codes), with its timetable and checklist."""
    pid = f"P{i + 1:06d}"
    prov = provs[rng.randrange(len(provs))]
    nc = rng.choices([6, 7, 8, 9, 10, 11], [3, 8, 15, 22, 27, 25])[0]
    # Year Y in 2026/27: born 1 Sep (2020 - Y) to 31 Aug (2021 - Y).
    dob = dt.date(2021 - nc, 9, 1) + dt.timedelta(days=rng.randint(0, 364))   # NC year nc in 2026/27
    sen = rng.choices("NKE", [50, 35, 15])[0]
    lac = "Y" if rng.random() < 0.08 else "N"
    basis = rng.choices(["Off-site direction", "Agreed with parent", "LA arranged"], [60, 25, 15])[0]
    kind = rng.choices(["Active", "Ended", "Planned"], [70, 15, 15])[0]
    actual_end = None
    if kind == "Active":
        start = weekday_on_or_after(dt.date(2026, 9, 7) + dt.timedelta(days=rng.randint(0, 80)))
        planned_end = max(start + dt.timedelta(weeks=rng.randint(6, 12)),
                          AS_OF + dt.timedelta(days=rng.randint(7, 60)))
        review = AS_OF + dt.timedelta(days=rng.randint(1, 25))
    elif kind == "Ended":
        start = weekday_on_or_after(dt.date(2026, 9, 7) + dt.timedelta(days=rng.randint(0, 35)))
        actual_end = start + dt.timedelta(weeks=rng.randint(4, 6), days=4)
        planned_end = actual_end + dt.timedelta(weeks=rng.choice([0, 0, 1, 2]))
        review = None
    else:
        start = weekday_on_or_after(AS_OF + dt.timedelta(days=rng.randint(1, 45)))
        planned_end = start + dt.timedelta(weeks=rng.randint(6, 12))
        review = start + dt.timedelta(weeks=4)
    if actual_end is not None and actual_end > AS_OF:
        actual_end = AS_OF - dt.timedelta(days=1)

    # Timetable: one session a day on the first k weekdays; AP sessions first, then school.
    k = rng.choice([3, 4, 4, 4, 5])
    n_ap = rng.randint(1, min(3, k))
    ap_len = rng.choice([(540, 720), (570, 870), (540, 900)])  # 3 h, 5 h, 6 h (minutes from 00:00)
    sessions = []
    for d in range(k):
        if d < n_ap:
            sessions.append((DAYS[d], "AP", ap_len[0], ap_len[1]))
        else:
            sessions.append((DAYS[d], "School", 525, 915))  # 08:45 to 15:15
    ap_hours = n_ap * (ap_len[1] - ap_len[0]) / 60
    school_hours = (k - n_ap) * 6.5
    part_time = k < 5 or ap_len[1] - ap_len[0] < 300
    pt_until = None
    if part_time:
        pt_until = min(planned_end, AS_OF + dt.timedelta(days=rng.randint(7, 42)))
        if actual_end is not None:
            pt_until = actual_end
    if basis == "LA arranged":
        code = "K"
    elif prov["Registration"] == "Registered school" and rng.random() < 0.2:
        code = "D"
    else:
        code = "B"
    surname, forename = rng.choice(SURNAMES), rng.choice(FORENAMES)
    estab, serial_no = divmod(i, 1000)
    if school is not None:                      # each school's pupils have their own UPNs
        estab += (school + 1) * 10
    body = f"855{estab % 10000:04d}{(2014 - nc + 9) % 100:02d}{serial_no:03d}"
    row = {
        "Placement ID": pid,
        "UPN": upn(body),
        "Surname": surname,
        "Forename": forename,
        "Date of birth": dob,
        "NC year": nc,
        "SEN status": sen,
        "Looked after": lac,
        "Provider ID": prov["Provider ID"],
        "Placement basis": basis,
        "Reason": rng.choice(REASONS),
        "Start date": start,
        "Planned end date": planned_end,
        "Actual end date": actual_end,
        "AP hours per week": ap_hours,
        "School hours per week": school_hours,
        "Attendance code": code,
        "Next review date": review,
        "Status": kind,
        "Part-time until": pt_until,
        "Parent or carer": f"{rng.choice(['Mrs', 'Mr', 'Ms', 'Mx'])} {surname}",
        "Parent address": f"{rng.randint(1, 300)} {rng.choice(STREETS)}, Leicester LE{rng.randint(1, 19)}",
        "Reports to at provider": f"{rng.choice(FORENAMES)} {rng.choice(SURNAMES)}",
        "Objectives": rng.choice(OBJECTIVES),
    }

    # Checklist: the date each item was done; N/A for commissioner items of an LA-arranged placement.
    la = basis == "LA arranged"
    applies = [not la] * 11 + [
        basis == "Off-site direction",
        basis == "Agreed with parent",
        sen == "E" and not la,
        lac == "Y" and not la,
        True, True, True, True,
        kind == "Ended",
    ]
    items = []
    for n, ok in enumerate(applies):
        if not ok:
            items.append("N/A" if la and n < 15 else None)
            continue
        if n < 17:                      # before day 0 (the direction notice too)
            d = start - dt.timedelta(days=rng.randint(3, 20) + (4 if n == 11 else 0))
        elif n == 17:                   # first monitoring visit
            d = start + dt.timedelta(days=rng.randint(5, 14))
        elif n == 18:                   # exit plan
            d = start + dt.timedelta(days=rng.randint(1, 7))
        else:                           # end of placement review
            d = (actual_end or planned_end) + dt.timedelta(days=rng.randint(0, 5))
        items.append(d if d <= AS_OF else None)
    row["_items"] = items
    row["_sessions"] = sessions
    row["_n_ap"] = n_ap
    return row


def plant_defects(rng: random.Random, rows: list[dict]) -> list[dict]:
    n = len(rows)
    k = min(n, max(1, round(n * DEFECT_SHARE)))
    chosen = sorted(rng.sample(range(n), k))
    chosen_set = set(chosen)
    kinds = ["blank", "bad_date", "range", "enum", "duplicate"]
    defects = []
    used_dup_sources = set()
    for r in chosen:
        row = rows[r]
        kind = rng.choice(kinds)
        if kind == "duplicate":
            pool = [s for s in range(max(0, r - 500), r) if s not in chosen_set and s not in used_dup_sources]
            if not pool:
                kind = "enum"
        if kind == "blank":
            field = rng.choice(REQUIRED + (["Next review date"] if row["Status"] == "Active" else []))
            value, rule = None, "CE001"
        elif kind == "bad_date":
            field = rng.choice(sorted(DATE_COLS))
            optional = field in ("Actual end date", "Part-time until") or (
                field == "Next review date" and row["Status"] != "Active")
            value = rng.choice(BAD_DATE_TEXT_OPTIONAL if optional else BAD_DATE_TEXT)
            rule = "CE002"
        elif kind == "range":
            field = rng.choice(sorted(HOURS_COLS))
            value, rule = rng.choice(BAD_HOURS), "CE005"
        elif kind == "enum":
            field, value = rng.choice(BAD_ENUM)
            rule = "CE004"
        else:
            src = rng.choice(pool)
            used_dup_sources.add(src)
            field, value, rule = "Placement ID", rows[src]["Placement ID"], "CE006"
        row[field] = value
        excel_row = r + 2
        defects.append({
            "sheet": "Placements",
            "cell": f"{col_letter(COL[field])}{excel_row}",
            "row": excel_row,
            "column": field,
            "rule": rule,
            "kind": kind,
            "value": value,
        })
    return defects


# ---- writing -------------------------------------------------------------------------------------
def write_workbook(out: Path, n: int, seed: int, school: int | None = None) -> dict:
    rng = random.Random(seed)
    n_prov = max(1, n // 20)
    provs = make_providers(rng, n_prov)
    rows = [make_placement(rng, i, provs, school) for i in range(n)]
    clean_ids = [r["Placement ID"] for r in rows]       # before defects (Checklist etc. keep these)
    clean = [(r["Status"], r["Start date"], r["Actual end date"], r["Provider ID"]) for r in rows]
    defects = plant_defects(rng, rows)

    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "tmpdir": str(out.parent)})
    wb.set_properties({"title": f"apxl benchmark tracker N={n} seed={seed}", "author": "apxl bench",
                       "created": CREATED})
    f_date = wb.add_format({"num_format": "dd/mm/yyyy"})
    f_time = wb.add_format({"num_format": "hh:mm"})
    f_head = wb.add_format({"bold": True})
    s_head = f' s="{f_head._get_xf_index()}"'
    s_time = f' s="{f_time._get_xf_index()}"'
    ws = {}
    for name in SHEETS:
        ws[name] = w = wb.add_worksheet(name, worksheet_class=StreamSheet)
        w.stream_setup(f_date)
    counts = {}

    def header(sheet, headers):
        w = ws[sheet]
        w.append_row(0, headers, str_style=s_head)
        w.freeze_panes(1, 0)
        return w.append_row

    # Setup (key / value)
    w = ws["Setup"]
    w.set_column(0, 0, 18)
    w.set_column(1, 1, 40)
    name, urn = ("Bench Academy", "138001") if school is None else (f"Bench School {school}", str(140000 + school))
    setup = [("School name", name), ("School URN", urn), ("LAESTAB", "8554001"),
             ("Partnership", "Hinckley and Bosworth Partnership"), ("Academic year", "2026/27"),
             ("Return date", AS_OF), ("Session times", "08:45-12:15, 13:00-15:15")]
    w.append_row(0, ["Key", "Value"], str_style=s_head)
    for r, kv in enumerate(setup, start=1):
        w.append_row(r, kv)
    counts["Setup"] = len(setup)

    # Placements (the row as planted: defects included)
    put = header("Placements", PLACEMENTS_HEADERS)
    for r, row in enumerate(rows, start=1):
        put(r, [row[h] for h in PLACEMENTS_HEADERS])
    ws["Placements"].autofilter(0, 0, len(rows), len(PLACEMENTS_HEADERS) - 1)
    counts["Placements"] = len(rows)

    # Providers
    put = header("Providers", PROVIDERS_HEADERS)
    for r, p in enumerate(provs, start=1):
        put(r, [p[h] for h in PROVIDERS_HEADERS])
    counts["Providers"] = len(provs)

    # Checklist: one row per placement, under the placement's ID as generated (before defects)
    put = header("Checklist", CHECKLIST_HEADERS)
    for r, (pid, row) in enumerate(zip(clean_ids, rows), start=1):
        put(r, [pid] + row["_items"])
    counts["Checklist"] = len(rows)

    # Timetable: start and end times as fractions of a day, in a time format
    put = header("Timetable", TIMETABLE_HEADERS)
    tstyles = ["", "", "", s_time, s_time]
    r = 0
    for pid, row in zip(clean_ids, rows):
        for day, loc, t0, t1 in row["_sessions"]:
            r += 1
            put(r, [pid, day, loc, t0 / 1440, t1 / 1440], tstyles)
    counts["Timetable"] = r

    # Visits: one QA visit per provider, then monitoring visits and reviews of started placements.
    put = header("Visits", VISITS_HEADERS)
    n_visits = max(1, n // 5)
    visits = []
    for p in provs:
        if len(visits) >= n_visits:
            break
        visits.append([AS_OF - dt.timedelta(days=rng.randint(5, 80)), p["Provider ID"], None, "QA visit",
                       rng.choice(VISITORS), rng.choice(["Good", "Good", "Satisfactory"]), "Y"])
    started = [i for i, c in enumerate(clean) if c[1] <= AS_OF - dt.timedelta(days=7)]
    for i in sorted(rng.sample(started, min(len(started), n_visits - len(visits)))):
        status, start, actual_end, prov_id = clean[i]
        last = min(AS_OF, actual_end or AS_OF)
        vdate = min(last, start + dt.timedelta(days=rng.randint(5, max(5, (last - start).days))))
        visits.append([vdate, prov_id, clean_ids[i],
                       rng.choice(["Monitoring visit", "Monitoring visit", "Review meeting"]),
                       rng.choice(VISITORS), rng.choice(["Good", "Good", "Satisfactory"]),
                       rng.choice(["Y", "Yes", "Y"])])
    for r, v in enumerate(visits, start=1):
        put(r, v)
    counts["Visits"] = len(visits)

    # Attendance: the last few (up to 3) school weeks of each placement that has started.
    put = header("Attendance", ATTENDANCE_HEADERS)
    r = 0
    week = dt.timedelta(weeks=1)
    for pid, row, c in zip(clean_ids, rows, clean):
        status, start, actual_end, _ = c
        if start > AS_OF:
            continue
        last = min(AS_OF, actual_end or AS_OF)
        monday = last - dt.timedelta(days=last.weekday())
        first = start - dt.timedelta(days=start.weekday())
        weeks = []
        while monday >= first and len(weeks) < 3:
            weeks.append(monday)
            monday -= week
        expected = 2 * row["_n_ap"]
        for wk in reversed(weeks):
            r += 1
            attended = expected - (1 if rng.random() < 0.1 else 0)
            put(r, [pid, wk, expected, attended, attended])
    counts["Attendance"] = r

    # Term dates
    put = header("Term dates", TERM_HEADERS)
    for r, t in enumerate(TERMS, start=1):
        put(r, list(t))
    counts["Term dates"] = len(TERMS)

    wb.close()
    return {"n": n, "seed": seed, "as_of": AS_OF.isoformat(), "file": out.name, "rows": counts,
            "defects_planted": len(defects), "defects": defects}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="number of placements")
    ap.add_argument("out", type=Path, help="the .xlsx to write (defects go to OUT.defects.json)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    ap.add_argument("--school", type=int, help="a school number: its own School name and URN (batch benchmarks)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.n < 1:
        ap.error("N must be at least 1")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info = write_workbook(a.out, a.n, a.seed, a.school)
    secs = time.perf_counter() - t0
    dpath = defects_path(a.out)
    dpath.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    if not a.quiet:
        size = a.out.stat().st_size / 1e6
        print(f"{a.out}: {a.n} placements, {info['defects_planted']} planted defects, "
              f"{size:.2f} MB, {secs:.2f} s; defects in {dpath}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
