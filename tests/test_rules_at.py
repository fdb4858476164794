"""The AT rules (rules.md "AT: attendance"): each fires where it should, points at its cell, and stays
quiet at the boundaries. The as-at date is Monday 30/11/2026; the Term dates sheet has a half-term week
from 26/10 to 30/10/2026 (no school day, so no Attendance row is needed for it)."""

from __future__ import annotations

import datetime as dt

import pytest

import apxl
from workbooks import checklist_row, headers, placement_row, tracker, write_xlsx

D = dt.date
WEEK = dt.timedelta(weeks=1)
AS_OF = D(2026, 11, 30)
HALF_TERM = D(2026, 10, 26)
FIRST_WEEK, LAST_WEEK = D(2026, 9, 14), D(2026, 11, 23)
TERMS = [headers("Term dates"), [D(2026, 9, 3), D(2026, 10, 23), "Term"], [D(2026, 11, 2), D(2026, 12, 18), "Term"]]


def weeks(first=FIRST_WEEK, last=LAST_WEEK, skip=(HALF_TERM,)):
    day = first
    while day <= last:
        if day not in skip:
            yield day
        day += WEEK


def full(pid="P-001", **kw):
    """A row for every school week from 14/09 to 23/11/2026, 8 sessions each, all attended and confirmed."""
    return [[pid, w, 8, 8, 8] for w in weeks(**kw)]


def book(attendance, placements=None, terms=True):
    placements = placements if placements is not None else [placement_row("P-001")]
    sheets = {"Attendance": [headers("Attendance")] + attendance}
    if terms:
        sheets["Term dates"] = TERMS
    return tracker(placements=placements, checklist=[checklist_row(r[0]) for r in placements], **sheets)


def at_findings(source, as_of=AS_OF, code=None):
    report = apxl.validate(source, as_of=as_of)
    return [f for f in report.findings if f.rule.startswith("AT") and (code is None or f.rule == code)]


def where(findings):
    return sorted((f.rule, f.sheet, f.cell) for f in findings)


# --- AT001 ------------------------------------------------------------------------------------

def test_a_full_record_gives_no_at_finding_and_the_half_term_week_is_not_required():
    assert at_findings(book(full())) == []


def test_at001_a_missing_ordinary_week(tmp):
    rows = full(skip=(HALF_TERM, D(2026, 10, 5)))
    found = at_findings(write_xlsx(tmp / "t.xlsx", book(rows)))
    assert where(found) == [("AT001", "Placements", "A2")]
    f = found[0]
    assert f.severity == "warning" and f.record == "P-001" and f.value == "1" and f.column == "Placement ID"
    assert "P-001 has no row on Attendance for 1 school week since it started on 14/09/2026" in f.message
    assert "week commencing 05/10/2026." in f.message
    assert "26/10/2026" not in f.message and "No term dates were known" not in f.message


def test_at001_one_finding_per_placement_listing_every_missing_week():
    rows = full(skip=(HALF_TERM, D(2026, 9, 14), D(2026, 10, 5), D(2026, 11, 23)))
    found = at_findings(book(rows), code="AT001")
    assert len(found) == 1 and found[0].value == "3"
    assert "weeks commencing 14/09/2026, 05/10/2026 and 23/11/2026" in found[0].message


def test_at001_without_term_dates_the_half_term_week_is_a_school_week_and_the_message_says_so():
    found = at_findings(book(full(), terms=False), code="AT001")
    assert where(found) == [("AT001", "Placements", "A2")]
    assert "week commencing 26/10/2026" in found[0].message
    assert "No term dates were known for 2026/27" in found[0].message


def test_at001_only_weeks_wholly_before_the_as_at_date():
    rows = full(last=D(2026, 11, 16))                   # no row for the week of 23/11/2026
    # as at Friday 27/11 that week is not wholly past; as at Saturday 28/11 it is
    assert at_findings(book(rows), as_of=D(2026, 11, 27), code="AT001") == []
    found = at_findings(book(rows), as_of=D(2026, 11, 28), code="AT001")
    assert where(found) == [("AT001", "Placements", "A2")] and "23/11/2026" in found[0].message


def test_at001_the_week_of_the_start_date_on_or_after_it():
    # started Thursday 17/09/2026: that week is needed; the week before it is not
    placement = [placement_row("P-001", **{"Start date": D(2026, 9, 17)})]
    assert at_findings(book(full(), placements=placement), code="AT001") == []
    found = at_findings(book(full(skip=(HALF_TERM, D(2026, 9, 14))), placements=placement), code="AT001")
    assert found and "week commencing 14/09/2026." in found[0].message


def test_at001_not_for_ended_or_planned_placements_nor_with_no_attendance_sheet():
    ended = [placement_row("P-001", **{"Actual end date": D(2026, 11, 20), "Status": "Ended"}),
             placement_row("P-002", **{"Start date": D(2027, 1, 11), "Status": "Planned"})]
    assert at_findings(book([], placements=ended), code="AT001") == []
    assert at_findings(tracker()) == []                  # no Attendance sheet: no AT finding at all


def test_at001_a_week_commencing_that_is_not_a_monday_counts_for_its_week():
    rows = full(skip=(HALF_TERM, D(2026, 10, 5))) + [["P-001", D(2026, 10, 7), 8, 8, 8]]     # a Wednesday
    assert at_findings(book(rows)) == []


def test_at001_a_week_that_cannot_be_read_is_not_taken_as_missing():
    rows = full(skip=(HALF_TERM, D(2026, 10, 5))) + [["P-001", "w/c 5 Oct", 8, 8, 8]]
    assert at_findings(book(rows), code="AT001") == []


# --- AT002 ------------------------------------------------------------------------------------

def test_at002_sessions_attended_but_not_confirmed(tmp):
    rows = full()
    rows[2] = ["P-001", D(2026, 9, 28), 8, 8, 6]
    found = at_findings(write_xlsx(tmp / "t.xlsx", book(rows)))
    assert where(found) == [("AT002", "Attendance", "D4")]
    f = found[0]
    assert f.severity == "warning" and f.record == "P-001" and f.value == "8" and f.column == "Sessions attended"
    assert "week commencing 28/09/2026 P-001 is recorded as attending 8 sessions" in f.message
    assert "confirmed only 6" in f.message and "2 sessions" in f.message


def test_at002_quiet_when_every_attended_session_is_confirmed():
    rows = full()
    rows[2] = ["P-001", D(2026, 9, 28), 8, 6, 8]       # more confirmed than attended is not AT002
    assert at_findings(book(rows), code="AT002") == []


# --- AT003 ------------------------------------------------------------------------------------

def last_four(attended, first_weeks_attended=8):
    rows = full()
    for row in rows[:-4]:
        row[3] = row[4] = first_weeks_attended
    for row, a in zip(rows[-4:], attended, strict=True):
        row[2], row[3], row[4] = 10, a, a
    return rows


def test_at003_exactly_at_the_threshold_is_not_a_finding():
    assert at_findings(book(last_four([9, 9, 9, 9])), code="AT003") == []      # 36 of 40 = 90%


def test_at003_below_the_threshold(tmp):
    found = at_findings(write_xlsx(tmp / "t.xlsx", book(last_four([9, 9, 9, 8]))))   # 35 of 40
    assert where(found) == [("AT003", "Attendance", "D11")]                  # the latest week's row
    f = found[0]
    assert f.severity == "warning" and f.record == "P-001" and f.value == "87.5%"
    assert "last 4 recorded weeks on Attendance (weeks commencing 02/11/2026 to 23/11/2026)" in f.message
    assert "attended 35 of 40 expected sessions (87.5%), below the 90%" in f.message


def test_at003_only_the_last_four_recorded_weeks_count_and_a_policy_changes_the_threshold():
    # poor attendance earlier on does not count once the last four weeks are good
    assert at_findings(book(last_four([10, 10, 10, 10], first_weeks_attended=0)), code="AT003") == []
    report = apxl.validate(book(last_four([9, 9, 9, 8])), as_of=AS_OF, policy={"attendance_threshold": 0.85})
    assert [f for f in report.findings if f.rule == "AT003"] == []


def test_at003_skipped_when_no_session_was_expected():
    rows = [["P-001", w, 0, 0, 0] for w in weeks()]
    assert at_findings(book(rows), code="AT003") == []


# --- AT004 ------------------------------------------------------------------------------------

def test_at004_more_sessions_attended_than_expected(tmp):
    rows = full()
    rows[0] = ["P-001", D(2026, 9, 14), 6, 7, 7]
    found = at_findings(write_xlsx(tmp / "t.xlsx", book(rows)))
    assert where(found) == [("AT004", "Attendance", "D2")]
    f = found[0]
    assert f.severity == "error" and f.record == "P-001" and f.value == "7"
    assert "attending 7 sessions, but only 6 were expected" in f.message


def test_at004_quiet_at_equal_counts_and_for_a_count_out_of_range():
    rows = full()
    rows[0] = ["P-001", D(2026, 9, 14), 8, 11, 8]      # 11 is CE005 only: no AT002, AT003 or AT004 from it
    report = apxl.validate(book(rows), as_of=AS_OF)
    assert [(f.rule, f.cell) for f in report.findings if f.rule in ("CE005",) or f.rule.startswith("AT")] == [
        ("CE005", "D2")]


@pytest.mark.parametrize("code", ["AT001", "AT002", "AT003", "AT004"])
def test_every_at_rule_is_in_the_catalogue(code):
    from apxl.catalogue import catalogue

    rec = catalogue()[code]
    assert rec.title and rec.message and rec.source and rec.points_at
