"""The CL rules (rules.md "CL": the placement checklist): when each item applies, when it is due, and the
boundaries of the off-site direction notice (weekends, bank holidays, half-terms)."""

from __future__ import annotations

import datetime as dt

import pytest

import apxl
from workbooks import checklist_row, headers, placement_row, provider_row, tracker, write_xlsx

D = dt.date
AS_OF = D(2026, 11, 30)
START = D(2026, 9, 14)                    # Monday; the default placement's Start date
ITEMS = headers("Checklist")[1:]          # CL001 ... CL020, columns B ... U
NAME = {f"CL{k:03d}": name for k, name in enumerate(ITEMS, start=1)}
COLUMN = {f"CL{k:03d}": chr(ord("A") + k) for k in range(1, 21)}
BEFORE_START = ["CL001", "CL002", "CL003", "CL004", "CL005", "CL006", "CL007", "CL008", "CL009", "CL010",
                "CL011", "CL013", "CL016", "CL017"]
NO_TERMS = "No term dates were known for 2026/27"


def done(pid: str = "P-001", **over) -> list:
    """A Checklist row with every item that applies to the default placement done on time."""
    values = {NAME[c]: D(2026, 9, 10) for c in BEFORE_START}
    values[NAME["CL012"]] = "N/A"
    values[NAME["CL018"]] = D(2026, 9, 25)
    values.update({NAME.get(k, k): v for k, v in over.items()})
    return checklist_row(pid, **values)


def cl(report, code=None, record=None):
    return [f for f in report.findings if f.rule.startswith("CL") and (code is None or f.rule == code)
            and (record is None or f.record == record)]


def only(report, code, record=None):
    hits = cl(report, code, record)
    assert len(hits) == 1, [(f.rule, f.cell, f.message) for f in cl(report)]
    return hits[0]


def run(placements=None, checklist=None, as_of=AS_OF, **kw):
    return apxl.validate(tracker(placements=placements, checklist=checklist, **kw), as_of=as_of)


def term_dates(closed: bool = False) -> list[list]:
    """2026/27 with the autumn half-term (26 to 30 October) as a gap between two Term rows, or a Closed row."""
    rows = [["From", "To", "Kind"]]
    if closed:
        rows += [[D(2026, 9, 2), D(2026, 12, 18), "Term"], [D(2026, 10, 26), D(2026, 10, 30), "Closed"]]
    else:
        rows += [[D(2026, 9, 2), D(2026, 10, 23), "Term"], [D(2026, 11, 2), D(2026, 12, 18), "Term"]]
    rows += [[D(2027, 1, 5), D(2027, 3, 26), "Term"], [D(2027, 4, 12), D(2027, 7, 21), "Term"]]
    return rows


# --- a complete checklist is clean ------------------------------------------------------------

def test_a_checklist_done_on_time_gives_no_cl_finding():
    report = run(checklist=[done()])
    assert cl(report) == []


def test_the_file_and_the_in_memory_workbook_agree(tmp):
    book = tracker(checklist=[done(CL001=D(2026, 9, 15), CL003="", CL007="N/A")])
    from_file = apxl.validate(write_xlsx(tmp / "t.xlsx", book), as_of=AS_OF)
    from_memory = apxl.validate(book, as_of=AS_OF)
    key = lambda r: [(f.rule, f.severity, f.cell, f.record, f.value, f.message) for f in cl(r)]  # noqa: E731
    assert key(from_file) == key(from_memory) and len(key(from_file)) == 3


# --- every rule: a case that fires and one that does not ----------------------------------------

PLACEMENT_FOR = {
    "CL012": {"Placement basis": "Off-site direction"},
    "CL014": {"SEN status": "E"},
    "CL015": {"Looked after": "Yes"},
    "CL019": {"Planned end date": D(2026, 11, 20), "Status": "Active"},
    "CL020": {"Actual end date": D(2026, 11, 6), "Status": "Ended"},
}
ON_TIME = {"CL012": D(2026, 9, 9), "CL014": D(2026, 9, 10), "CL015": D(2026, 9, 10), "CL019": D(2026, 11, 6),
           "CL020": D(2026, 11, 20)}
DUE_WORDS = {
    "CL012": "was due by 09/09/2026 (2 clear school days before the Start date 14/09/2026)",
    "CL018": "was due by 12/10/2026 (within 20 school days of the Start date 14/09/2026)",
    "CL019": "was due by 06/11/2026 (10 school days before the Planned end date 20/11/2026)",
    "CL020": "was due by 20/11/2026 (within 10 school days after the Actual end date 06/11/2026)",
}


@pytest.mark.parametrize("code", [f"CL{k:03d}" for k in range(1, 21)])
def test_each_item_fires_when_missing_and_overdue_and_not_when_done(code):
    placement = placement_row("P-001", **PLACEMENT_FOR.get(code, {}))
    missing = run(placements=[placement], checklist=[done(**{code: ""})])
    f = only(missing, code)
    assert (f.sheet, f.cell, f.record, f.column) == ("Checklist", f"{COLUMN[code]}2", "P-001", NAME[code])
    assert f.severity == "error" and f.value == ""
    assert f.message.startswith(f"{NAME[code]} is blank")
    if code in DUE_WORDS:
        assert DUE_WORDS[code] in f.message and NO_TERMS in f.message      # school days were counted
    else:
        assert "the placement started on 14/09/2026: it was due on or before the Start date 14/09/2026" in f.message
        assert NO_TERMS not in f.message                                    # nothing was counted
    assert [g.rule for g in cl(missing)] == [code]
    on_time = run(placements=[placement], checklist=[done(**{code: ON_TIME.get(code, D(2026, 9, 10))})])
    assert cl(on_time) == []


def test_cl021_a_placement_with_no_checklist_row_and_a_row_with_no_placement():
    report = run(placements=[placement_row("P-001"), placement_row("P-002")],
                 checklist=[done("P-001"), done("P-009")])
    found = sorted((f.sheet, f.cell, f.record, f.severity) for f in cl(report))
    assert found == [("Checklist", "A3", "P-009", "error"), ("Placements", "A3", "P-002", "error")]
    lonely = next(f for f in cl(report) if f.sheet == "Placements")
    assert "Placement P-002 has no row on the Checklist sheet" in lonely.message
    orphan = next(f for f in cl(report) if f.sheet == "Checklist")
    assert "no placement on the Placements sheet has that ID" in orphan.message
    # P-002's blank items give nothing else (no cascade); P-001 and its row match: nothing
    assert not [f for f in cl(report) if f.rule != "CL021"]


def test_cl021_matches_ids_whatever_their_case_or_spaces_and_not_on_a_single_sheet():
    report = run(placements=[placement_row("P-001")], checklist=[done(" p-001 ")])
    assert cl(report) == []
    assert cl(run(checklist=[done()])) == []


# --- the off-site direction notice: clear school days ---------------------------------------------

def osd(start=START, **over):
    return placement_row("P-001", **{"Placement basis": "Off-site direction", "Start date": start, **over})


def notice(day, start=START, as_of=AS_OF, **extra):
    return run(placements=[osd(start)], checklist=[done(CL012=day, CL001=start, CL002=start, CL003=start,
                                                         CL004=start, CL005=start, CL006=start, CL007=start,
                                                         CL008=start, CL009=start, CL010=start, CL011=start,
                                                         CL013="", CL016=start, CL017=start)],
               as_of=as_of, **extra)


def test_notice_across_a_weekend_two_clear_days_is_fine_one_is_an_error():
    assert cl(notice(D(2026, 9, 9))) == []                  # Wed: Thu and Fri are clear
    f = only(notice(D(2026, 9, 10)), "CL012")               # Thu: only Fri is clear
    assert f.severity == "error" and f.cell == "M2" and f.value == "2026-09-10"
    assert "is dated 10/09/2026, after its due date: it was due by 09/09/2026" in f.message
    assert "only 1 clear school day passed between it and the Start date" in f.message
    assert NO_TERMS in f.message
    assert "error" == only(notice(D(2026, 9, 11)), "CL012").severity           # Fri: none clear


def test_notice_before_a_start_after_the_august_bank_holiday():
    start = D(2026, 9, 1)                                   # Tuesday; Monday 31 August is a bank holiday
    assert cl(notice(D(2026, 8, 26), start)) == []          # Wed: Thu 27 and Fri 28 are clear
    f = only(notice(D(2026, 8, 27), start), "CL012")        # Thu: only Fri 28 (the Monday is not a school day)
    assert f.severity == "error" and "it was due by 26/08/2026" in f.message
    assert "only 1 clear school day" in f.message


@pytest.mark.parametrize("closed", [False, True], ids=["two-term-rows", "closed-row"])
def test_notice_before_a_start_after_half_term_from_the_term_dates_sheet(closed):
    start = D(2026, 11, 2)                                  # Monday after the autumn half-term
    terms = {"Term dates": term_dates(closed)}
    assert cl(notice(D(2026, 10, 21), start, **terms)) == []          # Wed: Thu 22 and Fri 23 clear
    f = only(notice(D(2026, 10, 22), start, **terms), "CL012")        # Thu: only Fri 23
    assert f.severity == "error" and "it was due by 21/10/2026" in f.message
    assert "only 1 clear school day" in f.message and "No term dates" not in f.message
    half_term = only(notice(D(2026, 10, 28), start, **terms), "CL012")  # in the half-term: none clear
    assert "only 0 clear school days" in half_term.message
    # without the Term dates sheet the half-term is not known: Thu 29 and Fri 30 count, so it is fine
    assert cl(notice(D(2026, 10, 28), start)) == []


def test_the_notice_days_come_from_the_policy():
    book = tracker(placements=[osd()], checklist=[done(CL012=D(2026, 9, 9))])
    assert cl(apxl.validate(book, as_of=AS_OF)) == []
    f = only(apxl.validate(book, as_of=AS_OF, policy={"direction_notice_school_days": 3}), "CL012")
    assert "it was due by 08/09/2026 (3 clear school days before" in f.message


def test_a_missing_notice_is_due_soon_then_overdue_on_the_day_after_its_due_date():
    soon = only(notice("", as_of=D(2026, 9, 9)), "CL012")
    assert soon.severity == "warning" and "it is due by 09/09/2026" in soon.message
    assert "0 school days after the as-at date 09/09/2026" in soon.message
    late = only(notice("", as_of=D(2026, 9, 10)), "CL012")
    assert late.severity == "error" and "it was due by 09/09/2026" in late.message


def test_cl014_for_an_off_site_direction_has_the_notice_deadline_and_late_is_an_error():
    sen = {"SEN status": "E"}
    on_time = run(placements=[osd(**sen)], checklist=[done(CL012=D(2026, 9, 9), CL014=D(2026, 9, 9))])
    assert cl(on_time) == []
    f = only(run(placements=[osd(**sen)], checklist=[done(CL012=D(2026, 9, 9), CL014=D(2026, 9, 10))]), "CL014")
    assert f.severity == "error" and f.cell == "O2"
    assert "2 clear school days before the Start date 14/09/2026, as for the parent's notice" in f.message
    # not a direction: before day 0, and late is a warning
    agreed = placement_row("P-001", **sen)
    assert cl(run(placements=[agreed], checklist=[done(CL014=D(2026, 9, 14))])) == []
    g = only(run(placements=[agreed], checklist=[done(CL014=D(2026, 9, 15))]), "CL014")
    assert g.severity == "warning" and "it was due on or before the Start date 14/09/2026" in g.message


# --- who the items apply to -----------------------------------------------------------------------

def test_an_la_arranged_placement_has_no_cl001_to_cl015():
    la = placement_row("P-001", **{"Placement basis": "LA arranged", "Attendance code": "K", "SEN status": "E",
                                   "Looked after": "Yes"})
    report = run(placements=[la], checklist=[checklist_row("P-001", **{NAME["CL018"]: D(2026, 9, 25)})])
    assert sorted(f.rule for f in cl(report)) == ["CL016", "CL017"]


def test_cl002_only_where_the_policy_wants_an_audit():
    registered = provider_row("AP-01", Registration="Registered school", URN="123456")
    assert cl(run(providers=[registered], checklist=[done(CL002="")])) == []
    assert only(run(checklist=[done(CL002="")]), "CL002").cell == "C2"
    covered = apxl.validate(tracker(providers=[registered], checklist=[done(CL002="")]), as_of=AS_OF,
                            policy={"audit_required_for": ["Unregistered", "Registered school"]})
    assert only(covered, "CL002").severity == "error"


def test_items_for_the_basis_the_plan_and_care():
    assert cl(run(checklist=[done(CL013="")]))[0].rule == "CL013"           # Agreed with parent
    direction = osd()
    assert cl(run(placements=[direction], checklist=[done(CL012=D(2026, 9, 9), CL013="")])) == []
    assert cl(run(checklist=[done(CL014="", CL015="")])) == []              # no EHC plan, not looked after


def test_cl020_applies_once_the_actual_end_date_is_reached():
    ends = placement_row("P-001", **{"Actual end date": D(2026, 12, 4), "Status": "Active"})
    assert cl(run(placements=[ends], checklist=[done()], as_of=D(2026, 12, 3))) == []   # ends after the as-at date
    # on its last day the review becomes due: by 18/12/2026, 10 school days away (within the notice)
    f = only(run(placements=[ends], checklist=[done()], as_of=D(2026, 12, 4)), "CL020")
    assert f.severity == "warning" and "it is due by 18/12/2026 (within 10 school days after" in f.message
    assert "10 school days after the as-at date 04/12/2026" in f.message
    assert only(run(placements=[ends], checklist=[done()], as_of=D(2026, 12, 21)), "CL020").severity == "error"
    assert cl(run(placements=[ends], checklist=[done(CL020=D(2026, 12, 18))], as_of=D(2026, 12, 21))) == []


# --- missing: not yet due, due soon, overdue ------------------------------------------------------

@pytest.mark.parametrize("as_of, expected", [
    (D(2026, 8, 27), None),          # Fri 28 + 10 school days to the start: 11 away
    (D(2026, 8, 28), "warning"),     # Mon 31 August is a bank holiday: 10 away
    (D(2026, 9, 11), "warning"),     # the Friday before
    (D(2026, 9, 14), "error"),       # the Start date itself: overdue
])
def test_a_missing_before_day_0_item_by_the_as_at_date(as_of, expected):
    report = run(checklist=[done(CL001="")], as_of=as_of)
    got = cl(report, "CL001")
    assert [f.severity for f in got] == ([expected] if expected else [])
    if expected == "warning":
        assert "it is due on or before the Start date 14/09/2026, " in got[0].message
        assert "No term dates were known for" in got[0].message


def test_the_notice_period_comes_from_the_policy():
    book = tracker(checklist=[done(CL001="")])
    assert cl(apxl.validate(book, as_of=D(2026, 8, 27)), "CL001") == []
    assert cl(apxl.validate(book, as_of=D(2026, 8, 27), policy={"checklist_notice_school_days": 11}), "CL001")


def test_cl018_and_cl019_not_yet_due_due_soon_and_overdue():
    assert cl(run(checklist=[done(CL018="")], as_of=D(2026, 9, 15))) == []      # 19 school days away
    soon = only(run(checklist=[done(CL018="")], as_of=D(2026, 9, 28)), "CL018")
    assert soon.severity == "warning" and "10 school days after the as-at date" in soon.message
    assert only(run(checklist=[done(CL018="")], as_of=D(2026, 10, 13)), "CL018").severity == "error"
    assert cl(run(checklist=[done(CL018="")], as_of=D(2026, 10, 12))) != []     # on its due date: still soon
    assert only(run(checklist=[done(CL018="")], as_of=D(2026, 10, 12)), "CL018").severity == "warning"
    # the exit plan for a placement ending 12/02/2027 is due 29/01/2027: nothing in November
    assert cl(run(checklist=[done()]), "CL019") == []
    exit_soon = only(run(checklist=[done()], as_of=D(2027, 1, 18)), "CL019")
    assert exit_soon.severity == "warning" and "it is due by 29/01/2027" in exit_soon.message


# --- dates: late, future --------------------------------------------------------------------------

def test_a_late_date_is_a_warning_and_a_future_date_an_error():
    late = only(run(checklist=[done(CL001=D(2026, 9, 15))]), "CL001")
    assert (late.severity, late.cell, late.value) == ("warning", "B2", "2026-09-15")
    assert "is dated 15/09/2026, after its due date: it was due on or before the Start date 14/09/2026" in late.message
    assert "Explanations sheet" in late.message
    future = only(run(checklist=[done(CL001=D(2026, 12, 1))]), "CL001")
    assert (future.severity, future.value) == ("error", "2026-12-01")
    assert "after the as-at date 30/11/2026: it has not been done yet" in future.message
    on_day_0 = run(checklist=[done(CL001=START)])
    assert cl(on_day_0) == []                                                  # on the Start date: on time
    # a future date on an item not yet due is still "not done yet"
    assert only(run(checklist=[done(CL019=D(2027, 1, 10))]), "CL019").severity == "error"


def test_a_date_read_from_text_is_used():
    f = only(run(checklist=[done(CL001="15/09/2026")]), "CL001")
    assert f.severity == "warning" and f.value == "15/09/2026"


# --- N/A, ticks and unreadable values ---------------------------------------------------------------

def test_na_on_an_item_that_applies_counts_as_missing():
    f = only(run(checklist=[done(CL001="N/A")]), "CL001")
    assert f.severity == "error" and f.value == "N/A"
    assert ("is N/A, but N/A is not allowed for this placement (the placement basis is Agreed with parent, "
            "not LA arranged), so it counts as not done") in f.message
    # not yet due: nothing yet, as for a blank
    assert cl(run(checklist=[done(CL019="n/a")])) == []
    soon = only(run(checklist=[done(CL019="n/a")], as_of=D(2027, 1, 18)), "CL019")
    assert soon.severity == "warning" and "it applies to every placement" in soon.message


def test_na_or_a_date_on_an_item_that_does_not_apply_is_not_a_finding():
    report = run(checklist=[done(CL012="N/A", CL014="n/a", CL015=D(2026, 12, 25), CL020=D(2026, 9, 1))])
    assert cl(report) == []


def test_a_tick_without_a_date_is_ce007_only_and_an_unreadable_value_ce002_only():
    report = run(checklist=[done(CL001="Y", CL003="soon")])
    assert cl(report) == []
    assert {(f.rule, f.cell) for f in report.findings if f.rule.startswith("CE")} == {("CE007", "B2"),
                                                                                     ("CE002", "D2")}


def test_no_cascade_from_an_unusable_start_date_or_basis():
    no_start = placement_row("P-001", **{"Start date": "TBC"})
    assert cl(run(placements=[no_start], checklist=[checklist_row("P-001")])) == []
    bad_basis = placement_row("P-001", **{"Placement basis": "School"})
    assert sorted(f.rule for f in cl(run(placements=[bad_basis], checklist=[done(CL016="", CL013="")]))) == ["CL016"]


# --- CL018 and the Visits sheet -------------------------------------------------------------------

VISITS_HEADER = ["Visit date", "Provider ID", "Placement ID", "Visit type", "Visitor", "Outcome", "Report on file"]


def visit(day, kind="Monitoring visit", pid="P-001"):
    return [day, "AP-01", pid, kind, "J. Patel", "Good", "Yes"]


def test_cl018_is_satisfied_by_a_monitoring_visit_row():
    rows = [VISITS_HEADER, visit(D(2026, 9, 24))]
    assert cl(run(checklist=[done(CL018="")], Visits=rows)) == []
    # a QA visit or another placement's visit does not count
    other = [VISITS_HEADER, visit(D(2026, 9, 24), kind="QA visit"), visit(D(2026, 9, 24), pid="P-002")]
    assert only(run(checklist=[done(CL018="")], Visits=other), "CL018").severity == "error"


def test_a_late_monitoring_visit_is_late_and_an_earlier_visit_beats_a_late_date():
    late = only(run(checklist=[done(CL018="")], Visits=[VISITS_HEADER, visit(D(2026, 10, 20))]), "CL018")
    assert late.severity == "warning" and late.value == "2026-10-20"
    assert "met by the first Monitoring visit on the Visits sheet, on 20/10/2026" in late.message
    early = run(checklist=[done(CL018=D(2026, 10, 20))], Visits=[VISITS_HEADER, visit(D(2026, 9, 24))])
    assert cl(early) == []
    # a visit dated after the as-at date is not done yet
    planned = run(checklist=[done(CL018="")], Visits=[VISITS_HEADER, visit(D(2026, 12, 3))])
    assert only(planned, "CL018").severity == "error"


# --- single-sheet trackers --------------------------------------------------------------------------

def test_single_sheet_tracker_checks_the_item_columns_it_has():
    header = ["Placement ID", "UPN", "Surname", "Forename", "DOB", "Year group", "SEN", "LAC", "Provider",
              "Postcode", "Registration", "LEBC audit status", "LEBC audit date", "DSL name", "DSL phone", "Basis",
              "Start", "End date", "Hrs at AP", "School hours", "Attendance code", "Next review", "Status",
              "Pre-placement visit", "Insurance seen"]
    row = ["P-1", "B801200005001", "Doe", "Jo", D(2012, 5, 1), 10, "N", "N", "Meadow Farm", "LE13 0AA",
           "Unregistered", "Passed", D(2026, 6, 1), "Sam", "0116", "Agreed with parent", START, D(2027, 2, 1),
           10, 15, "B", D(2026, 12, 1), "Active", D(2026, 9, 1), ""]
    row2 = list(row)
    row2[0], row2[1], row2[23], row2[24] = "P-2", "V855123425001", D(2026, 9, 15), D(2026, 9, 2)
    book = {"AP Tracker": [["Oakfield AP tracker 2026/27"], header, row, row2]}
    report = apxl.validate(book, as_of=AS_OF, mapping={"setup": {"School name": "Oakfield", "School URN": "123456",
                                                                  "Academic year": "2026/27"}})
    found = sorted((f.rule, f.sheet, f.cell, f.record, f.severity) for f in cl(report))
    assert found == [("CL006", "AP Tracker", "Y3", "P-1", "error"), ("CL007", "AP Tracker", "X4", "P-2", "warning")]


# --- speed: vectorised over the placements ----------------------------------------------------------

def test_many_placements_are_checked_quickly():
    import time

    n = 3000
    placements = [placement_row(f"P-{i:05d}", UPN=f"X{i:012d}") for i in range(n)]
    checklist = [done(f"P-{i:05d}", CL001="" if i % 2 else D(2026, 9, 15)) for i in range(n)]
    book = tracker(placements=placements, checklist=checklist)
    t0 = time.perf_counter()
    report = apxl.validate(book, as_of=AS_OF)
    assert len(cl(report, "CL001")) == n
    assert time.perf_counter() - t0 < 20


def test_a_future_date_is_not_done_yet_even_when_the_due_date_is_unknown():
    no_start = placement_row("P-001", **{"Start date": "TBC"})
    report = run(placements=[no_start], checklist=[checklist_row("P-001", **{NAME["CL016"]: D(2026, 12, 2)})])
    assert [(f.rule, f.severity, f.cell) for f in cl(report)] == [("CL016", "error", "Q2")]
