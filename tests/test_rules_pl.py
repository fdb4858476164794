"""The PL rules (rules.md "PL: placements"): each fires where it should, points where it should, and no more.

Placements columns: B UPN, E Date of birth, F NC year, I Provider ID, L Start date, M Planned end date,
N Actual end date, O AP hours, P School hours, Q Attendance code, R Next review date, S Status,
T Part-time until. The as-at date is Monday 30/11/2026; no Term dates sheet, so school days are
weekdays less bank holidays.
"""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from conftest import ROOT

import apxl
from workbooks import checklist_row, found, headers, placement_row, provider_row, tracker, where, write_xlsx

D = dt.date
T = dt.time
AS_OF = D(2026, 11, 30)


def pl(pid: str, **over):
    """A placement row whose NC year agrees with its date of birth (born 01/05/2012: Year 10 in 2026/27)."""
    over.setdefault("NC year", 10)
    return placement_row(pid, **over)


def book(*rows, providers=None, **extra):
    return tracker(placements=list(rows), providers=providers,
                   checklist=[checklist_row(r[0]) for r in rows], **extra)


def run(workbook, as_of=AS_OF, policy=None):
    return apxl.validate(workbook, as_of=as_of, policy=policy)


def timetable(*rows):
    return [headers("Timetable")] + [list(r) for r in rows]


def full_week(pid, ap_days=("Mon", "Wed")):
    """10 sessions: AP 09:00-15:00 on ap_days, school 08:45-15:15 on the others."""
    return [(pid, d, "AP", T(9), T(15)) if d in ap_days else (pid, d, "School", T(8, 45), T(15, 15))
            for d in ("Mon", "Tue", "Wed", "Thu", "Fri")]


def visits(*rows):
    return [headers("Visits")] + [[d, prov, pid, kind, "Mrs J. Patel", "Good", "Y"] for d, prov, pid, kind in rows]


PROVIDERS = [provider_row("AP-01"),
             provider_row("AP-02", **{"Provider name": "Kestrel House School", "Registration": "Registered school",
                                      "URN": "148321", "LEBC audit status": "Not audited", "LEBC audit date": ""}),
             provider_row("AP-03", **{"Provider name": "Soarbrook College", "Registration": "FE college",
                                      "URN": "130745", "LEBC audit status": "Not audited", "LEBC audit date": ""})]


def test_default_rows_give_no_pl_finding():
    report = run(book(pl("P-001"), pl("P-002", UPN="V855123425001")))
    assert [f for f in report.findings if f.rule.startswith("PL")] == []


# --- PL001, PL002 ----------------------------------------------------------------------------

def test_upn_test_vectors():
    report = run(book(pl("P-001", UPN="B801200005001"), pl("P-002", UPN="V855123425001"),
                      pl("P-003", UPN="A801200005001"), pl("P-004", UPN="U85512342501A")))
    assert where(report, "PL001") == [("Placements", "B4", "P-003")]
    f = found(report, "PL001")[0]
    assert f.severity == "error" and f.value == "A801200005001"
    assert "check letter is A but the digits give B" in f.message
    # a temporary UPN is PL002 only
    assert where(report, "PL002") == [("Placements", "B5", "P-004")]
    assert found(report, "PL002")[0].severity == "warning"
    assert "temporary UPN" in found(report, "PL002")[0].message and "letter A" in found(report, "PL002")[0].message


@pytest.mark.parametrize("upn, words", [
    ("80120000500", "11 characters"),
    ("B80120000500X1", "14 characters"),
    ("B8012000050-1", "a letter, 11 digits"),
    ("I801200005001", "check letter I is never used"),
    ("U85512342501I", "cannot end in I"),
])
def test_malformed_upn_is_pl001_only(upn, words):
    report = run(book(pl("P-001", UPN=upn), pl("P-002", UPN=upn, **{"Start date": D(2026, 10, 1)})))
    assert where(report, "PL001") == [("Placements", "B2", "P-001"), ("Placements", "B3", "P-002")]
    assert words in found(report, "PL001")[0].message
    assert found(report, "PL002") == [] and found(report, "PL012") == []


def test_upn_case_and_spaces_are_ignored():
    report = run(book(pl("P-001", UPN=" b801200005001 ")))
    assert found(report, "PL001") == [] and found(report, "PL002") == []


# --- PL003 ---------------------------------------------------------------------------------------

def test_end_before_start_points_at_the_wrong_end_date():
    report = run(book(pl("P-001", **{"Planned end date": D(2026, 9, 13)}),
                      pl("P-002", **{"Actual end date": D(2026, 9, 1), "Status": "Ended"}),
                      pl("P-003", **{"Planned end date": D(2026, 9, 14), "Actual end date": D(2026, 9, 14),
                                     "Status": "Ended", "Next review date": ""})))
    assert where(report, "PL003") == [("Placements", "M2", "P-001"), ("Placements", "N3", "P-002")]
    f = found(report, "PL003")[0]
    assert f.severity == "error" and f.value == "2026-09-13"
    assert "Planned end date is 13/09/2026, before the Start date 14/09/2026" in f.message


# --- PL004, PL005 -------------------------------------------------------------------------------

def test_nc_year_against_the_date_of_birth():
    report = run(book(pl("P-001", **{"NC year": 9}),                                           # born 01/05/2012: Year 10
                      pl("P-002", **{"NC year": 9, "Date of birth": D(2012, 9, 1)}),           # 1 September: Year 9
                      pl("P-003", **{"NC year": "R", "Date of birth": D(2021, 9, 1)}),         # Reception
                      pl("P-004", **{"NC year": 9, "Start date": D(2026, 1, 5), "Planned end date": D(2026, 3, 27),
                                     "Actual end date": D(2026, 3, 27), "Status": "Ended", "Next review date": ""})))
    assert where(report, "PL004") == [("Placements", "F2", "P-001")]        # not P-004: it has ended
    f = found(report, "PL004")[0]
    assert f.severity == "warning" and f.value == "9"
    assert "born on 01/05/2012 is in Year 10 in 2026/27" in f.message


def test_pl004_leaves_out_a_failed_date_of_birth():
    report = run(book(pl("P-001", **{"NC year": 9, "Date of birth": "unknown"})))
    assert found(report, "PL004") == [] and found(report, "PL005") == []


def test_year_12_pupil_is_not_of_compulsory_school_age():
    report = run(book(pl("P-001", **{"Date of birth": D(2010, 5, 1), "NC year": 12}),
                      pl("P-002", **{"Date of birth": D(2011, 5, 1), "NC year": 11}),
                      pl("P-003", **{"Date of birth": D(2010, 9, 1), "NC year": 11})))   # Year 11 until June 2027
    assert where(report, "PL005") == [("Placements", "E2", "P-001")]
    f = found(report, "PL005")[0]
    assert f.severity == "info" and f.value == "2010-05-01"
    assert "compulsory school age ended on 26/06/2026" in f.message
    assert found(report, "PL004") == []


def test_pupil_below_compulsory_school_age():
    # 5 on 01/09/2026: compulsory school age starts on the next prescribed day, 31/12/2026
    report = run(book(pl("P-001", **{"Date of birth": D(2021, 9, 1), "NC year": "R"}),
                      pl("P-002", UPN="V855123425001", **{"Date of birth": D(2021, 8, 31), "NC year": 1})))
    assert where(report, "PL005") == [("Placements", "E2", "P-001")]
    assert "compulsory school age starts on 31/12/2026" in found(report, "PL005")[0].message


def test_year_11_pupil_starting_after_the_last_friday_in_june():
    report = run(book(pl("P-001", **{"Date of birth": D(2011, 5, 1), "NC year": 11, "Start date": D(2027, 6, 28),
                                     "Planned end date": D(2027, 7, 16), "Status": "Planned"})))
    assert where(report, "PL005") == [("Placements", "E2", "P-001")]
    assert "25/06/2027" in found(report, "PL005")[0].message


# --- PL006 ---------------------------------------------------------------------------------------

def test_unknown_provider_is_pl006_only():
    report = run(book(pl("P-001", **{"Provider ID": "AP-99", "Attendance code": "D"}),
                      pl("P-002", UPN="V855123425001", **{"Provider ID": " ap-01 "})))
    assert where(report, "PL006") == [("Placements", "I2", "P-001")]
    f = found(report, "PL006")[0]
    assert f.severity == "error" and f.value == "AP-99" and "AP-99 is not on the Providers sheet" in f.message
    assert [f.rule for f in report.findings if f.rule.startswith(("PL", "PR")) and f.rule != "PL006"] == []


# --- PL007 ---------------------------------------------------------------------------------------

STATUS_CASES = [
    # (Status, Start, Planned end, Actual end, fires, telling words)
    ("Planned", D(2026, 11, 30), D(2027, 2, 12), "", True, "has started"),
    ("Planned", D(2026, 12, 1), D(2027, 2, 12), "", False, ""),
    ("Active", D(2026, 12, 1), D(2027, 2, 12), "", True, "has not started yet"),
    ("Active", D(2026, 11, 30), D(2027, 2, 12), "", False, ""),
    ("Active", D(2026, 9, 14), D(2027, 2, 12), D(2026, 11, 30), True, "so the placement has ended"),
    ("Planned", D(2026, 9, 14), D(2027, 2, 12), D(2026, 11, 2), True, "so the placement has ended"),
    ("Active", D(2026, 9, 14), D(2027, 2, 12), D(2026, 12, 1), False, ""),
    ("Active", D(2026, 9, 14), D(2026, 11, 29), "", True, "Planned end date 29/11/2026 has passed"),
    ("Active", D(2026, 9, 14), D(2026, 11, 30), "", False, ""),
    ("Ended", D(2026, 9, 14), D(2026, 11, 27), "", True, "there is no Actual end date"),
    ("Ended", D(2026, 9, 14), D(2027, 2, 12), D(2026, 12, 1), True, "has not ended yet"),
    ("Ended", D(2026, 9, 14), D(2027, 2, 12), D(2026, 11, 30), False, ""),
    ("Ended", D(2026, 9, 14), D(2027, 2, 12), "n/a", False, ""),       # unreadable end: CE002 only
]


@pytest.mark.parametrize("status, start, planned, actual, fires, words", STATUS_CASES)
def test_status_against_the_dates(status, start, planned, actual, fires, words):
    report = run(book(pl("P-001", Status=status, **{"Start date": start, "Planned end date": planned,
                                                    "Actual end date": actual})))
    if not fires:
        assert found(report, "PL007") == []
        return
    assert where(report, "PL007") == [("Placements", "S2", "P-001")]
    f = found(report, "PL007")[0]
    assert f.severity == "warning" and f.value == status
    assert f.message.startswith(f"Status is {status}, but ") and words in f.message and "30/11/2026" in f.message


# --- PL008 ---------------------------------------------------------------------------------------

def test_part_time_from_typed_hours_without_a_timetable():
    report = run(book(pl("P-001", **{"AP hours per week": 10, "School hours per week": 12}),
                      pl("P-002", **{"AP hours per week": 10, "School hours per week": 12,
                                     "Part-time until": D(2026, 12, 18)}),               # in the future
                      pl("P-003", **{"AP hours per week": 10, "School hours per week": 12,
                                     "Part-time until": D(2026, 11, 27)}),               # passed
                      pl("P-004", **{"AP hours per week": 10, "School hours per week": 12,
                                     "Part-time until": AS_OF}),                         # today: not passed
                      pl("P-005", **{"AP hours per week": 12.5, "School hours per week": 12.5}),   # 25: full
                      pl("P-006", **{"AP hours per week": 10, "School hours per week": 12,
                                     "Part-time until": "soon"}),                        # CE002 only
                      pl("P-007", **{"AP hours per week": 10, "School hours per week": 12, "Status": "Ended",
                                     "Actual end date": D(2026, 10, 30)})))              # ended
    assert where(report, "PL008") == [("Placements", "P2", "P-001"), ("Placements", "P4", "P-003")]
    first, passed = found(report, "PL008")
    assert first.severity == "warning" and first.value == "22"
    assert "AP hours 10 + School hours 12 = 22 hours a week, less than the 25 hours" in first.message
    assert "there is no Part-time until date" in first.message
    assert "Part-time until date 27/11/2026 has passed" in passed.message


def test_part_time_hours_come_from_the_policy():
    rows = pl("P-001", **{"AP hours per week": 12.5, "School hours per week": 12.5})
    assert found(run(book(rows)), "PL008") == []
    assert where(run(book(rows), policy={"part_time_hours": 30}), "PL008") == [("Placements", "P2", "P-001")]


def test_part_time_from_the_timetable_sessions():
    typed = {"AP hours per week": 10, "School hours per week": 12}       # below 25, but the Timetable decides
    week = full_week("P-001")
    fri_morning_only = full_week("P-002")[:4] + [("P-002", "Fri", "School", T(8, 45), T(12, 0))]
    noon_start = [("P-003", "Mon", "AP", T(12, 0), T(15, 0))] + full_week("P-003")[1:]
    ends_at_one = full_week("P-004")[:1] + [("P-004", "Tue", "School", T(8, 45), T(13, 0))] + full_week("P-004")[2:]
    none_session = full_week("P-005")[:4] + [("P-005", "Fri", "None", T(8, 45), T(15, 15))]
    split_day = full_week("P-006")[:4] + [("P-006", "Fri", "Other", T(9, 0), T(11, 0)),
                                           ("P-006", "Fri", "School", T(13, 0), T(15, 0))]
    future = full_week("P-007")[:4]
    report = run(book(pl("P-001", **typed), pl("P-002", **typed), pl("P-003", **typed), pl("P-004", **typed),
                      pl("P-005", **typed), pl("P-006", **typed),
                      pl("P-007", **typed, **{"Part-time until": D(2027, 1, 29)}),
                      pl("P-008", **typed),                               # no Timetable rows: typed hours
                      Timetable=timetable(*week, *fri_morning_only, *noon_start, *ends_at_one, *none_session,
                                          *split_day, *future)))
    assert where(report, "PL008") == [("Placements", f"P{r}", f"P-00{r - 1}") for r in (3, 4, 5, 6, 9)]
    got = {f.record: f for f in found(report, "PL008")}
    assert got["P-002"].value == "9" and "covers 9 of the 10 weekly sessions" in got["P-002"].message
    assert "(no School, AP or Other session on Fri afternoon)" in got["P-002"].message
    assert "Mon morning)" in got["P-003"].message
    assert "Tue afternoon)" in got["P-004"].message
    assert "Fri morning, Fri afternoon)" in got["P-005"].message
    assert got["P-008"].value == "22" and "AP hours 10 + School hours 12" in got["P-008"].message


def test_timetable_with_an_unreadable_time_is_not_judged():
    rows = full_week("P-001")[:4] + [("P-001", "Fri", "School", "lunch", T(15, 15))]
    report = run(book(pl("P-001", **{"AP hours per week": 10, "School hours per week": 12}),
                      Timetable=timetable(*rows)))
    assert found(report, "PL008") == []
    assert any(f.rule == "CE002" and f.sheet == "Timetable" for f in report.findings)


# --- PL009 ---------------------------------------------------------------------------------------

CODE_CASES = [
    # (code, basis, provider, fires, telling words)
    ("K", "LA arranged", "AP-01", False, ""),
    ("K", "LA arranged", "AP-02", False, ""),
    ("K", "Agreed with parent", "AP-01", True, "code K is only for provision the local authority arranges"),
    ("K", "Off-site direction", "AP-02", True, "placement basis is Off-site direction"),
    ("B", "LA arranged", "AP-01", True, "recorded with code K"),
    ("D", "LA arranged", "AP-02", True, "recorded with code K"),
    ("D", "Agreed with parent", "AP-02", False, ""),
    ("D", "Off-site direction", "AP-01", True, "Meadow Farm Learning is an unregistered provider, not a registered school"),
    ("D", "Agreed with parent", "AP-03", True, "Soarbrook College is an FE college, not a registered school"),
    ("B", "Agreed with parent", "AP-01", False, ""),
    ("B", "Off-site direction", "AP-02", False, ""),
    ("B", "Agreed with parent", "AP-03", False, ""),
]


@pytest.mark.parametrize("code, basis, provider, fires, words", CODE_CASES)
def test_attendance_code_against_basis_and_provider(code, basis, provider, fires, words):
    report = run(book(pl("P-001", **{"Attendance code": code, "Placement basis": basis, "Provider ID": provider}),
                      providers=PROVIDERS))
    if not fires:
        assert found(report, "PL009") == []
        return
    assert where(report, "PL009") == [("Placements", "Q2", "P-001")]
    f = found(report, "PL009")[0]
    assert f.severity == "error" and f.value == code
    assert f.message.startswith(f"Attendance code is {code}, but ") and words in f.message


# --- PL010 ---------------------------------------------------------------------------------------

def test_review_date_without_visits_fires_only_when_past():
    report = run(book(pl("P-001", **{"Next review date": D(2026, 11, 27)}),
                      pl("P-002", **{"Next review date": AS_OF}),
                      pl("P-003", **{"Next review date": D(2027, 6, 1)}),        # far off, but no record of reviews
                      pl("P-004", **{"Next review date": D(2026, 10, 1), "Actual end date": D(2026, 10, 30),
                                     "Status": "Ended"})))                        # ended: not looked at
    assert where(report, "PL010") == [("Placements", "R2", "P-001")]
    f = found(report, "PL010")[0]
    assert f.severity == "warning" and f.value == "2026-11-27"
    assert "before the as-at date 30/11/2026" in f.message


def test_review_interval_after_the_last_review_meeting():
    # last review Monday 02/11/2026; 6 school weeks = 30 school days later is Monday 14/12/2026
    report = run(book(pl("P-001", **{"Next review date": D(2026, 12, 14)}),
                      pl("P-002", **{"Next review date": D(2026, 12, 15)}),
                      pl("P-003", **{"Next review date": D(2026, 12, 15)}),
                      Visits=visits((D(2026, 10, 5), "AP-01", "P-001", "Review meeting"),
                                    (D(2026, 11, 2), "AP-01", "P-001", "Review meeting"),
                                    (D(2026, 11, 2), "AP-01", "P-002", "Review meeting"),
                                    (D(2026, 11, 23), "AP-01", "P-002", "Monitoring visit"),
                                    (D(2026, 11, 16), "AP-01", "P-003", "Review meeting"))))
    assert where(report, "PL010") == [("Placements", "R3", "P-002")]
    f = found(report, "PL010")[0]
    assert "Review meeting on 02/11/2026" in f.message and "due by 14/12/2026" in f.message
    assert "No term dates were known for 2026/27" in f.message


def test_review_interval_from_the_start_date_and_the_policy():
    # planned from Monday 04/01/2027 with no Review meeting yet: due within 30 school days, by 15/02/2027
    planned = {"Start date": D(2027, 1, 4), "Planned end date": D(2027, 3, 26), "Status": "Planned"}
    vis = visits((D(2026, 11, 2), "AP-01", "P-009", "Review meeting"))
    report = run(book(pl("P-001", **planned, **{"Next review date": D(2027, 2, 15)}),
                      pl("P-002", **planned, **{"Next review date": D(2027, 2, 16)}), Visits=vis))
    assert where(report, "PL010") == [("Placements", "R3", "P-002")]
    assert "the Start date 04/01/2027" in found(report, "PL010")[0].message
    # 4 school weeks: 20 school days, by 01/02/2027
    report = run(book(pl("P-001", **planned, **{"Next review date": D(2027, 2, 1)}),
                      pl("P-002", **planned, **{"Next review date": D(2027, 2, 2)}), Visits=vis),
                 policy={"review_interval_school_weeks": 4})
    assert where(report, "PL010") == [("Placements", "R3", "P-002")]
    assert "4 school weeks (20 school days)" in found(report, "PL010")[0].message


def test_review_interval_already_passed_says_the_review_is_overdue():
    # started 14/09/2026, never reviewed: due by 26/10/2026, before the as-at date
    report = run(book(pl("P-001", **{"Next review date": D(2026, 12, 14)}), Visits=visits()))
    assert where(report, "PL010") == [("Placements", "R2", "P-001")]
    f = found(report, "PL010")[0]
    assert "due by 26/10/2026" in f.message and "The review is overdue: hold it now" in f.message


def test_review_meeting_with_an_unreadable_date_leaves_the_interval_unjudged():
    report = run(book(pl("P-001", **{"Next review date": D(2027, 6, 1)}),
                      Visits=visits(("last week", "AP-01", "P-001", "Review meeting"))))
    assert found(report, "PL010") == []


# --- PL011 ---------------------------------------------------------------------------------------

def test_time_limits_are_off_by_default():
    report = run(book(pl("P-001", **{"AP hours per week": 25, "Planned end date": D(2027, 7, 16)})))
    assert found(report, "PL011") == []


def test_full_time_placement_longer_than_max_placement_weeks():
    full = {"AP hours per week": 20, "School hours per week": 10}
    policy = {"max_placement_weeks": 12}
    report = run(book(pl("P-001", **full, **{"Planned end date": D(2026, 12, 6)}),     # 84 days: 12 weeks
                      pl("P-002", **full, **{"Planned end date": D(2026, 12, 7)}),     # 85 days
                      pl("P-003", **full, **{"Planned end date": D(2027, 3, 1), "Provider ID": "AP-02",
                                             "Attendance code": "B"}),                  # registered school
                      pl("P-004", **{"AP hours per week": 18, "School hours per week": 12,
                                     "Planned end date": D(2027, 3, 1)}),               # 18 h is not full-time
                      providers=PROVIDERS), policy=policy)
    assert where(report, "PL011") == [("Placements", "M3", "P-002")]
    f = found(report, "PL011")[0]
    assert f.severity == "warning" and f.value == "12.1"
    assert "from 14/09/2026 to 07/12/2026: 12.1 weeks, longer than the 12 weeks" in f.message
    assert "Plan it to end by 06/12/2026" in f.message


def test_part_time_placement_on_more_than_max_part_time_days():
    three = full_week("P-001", ap_days=("Mon", "Wed", "Fri"))        # 18 h at the provider: part-time
    two = full_week("P-002", ap_days=("Mon", "Wed"))
    rows = [pl("P-001", **{"AP hours per week": 18, "School hours per week": 13}),
            pl("P-002", **{"AP hours per week": 12, "School hours per week": 19.5}),
            pl("P-003", **{"AP hours per week": 12, "School hours per week": 19.5})]    # no Timetable rows
    report = run(book(*rows, Timetable=timetable(*three, *two)), policy={"max_part_time_days": 2})
    assert where(report, "PL011") == [("Placements", "M2", "P-001")]
    f = found(report, "PL011")[0]
    assert f.value == "3" and "on 3 days a week (Mon, Wed, Fri), more than the 2 days" in f.message
    assert found(run(book(*rows, Timetable=timetable(*three, *two))), "PL011") == []


# --- PL012 ---------------------------------------------------------------------------------------

def test_same_day_move_is_not_an_overlap_and_one_day_more_is():
    move = [pl("P-001", **{"Planned end date": D(2026, 11, 16)}),
            pl("P-002", **{"Start date": D(2026, 11, 16), "Planned end date": D(2027, 3, 19)})]
    assert found(run(book(*move)), "PL012") == []
    late = [pl("P-001", **{"Planned end date": D(2026, 11, 17)}),
            pl("P-002", **{"Start date": D(2026, 11, 16), "Planned end date": D(2027, 3, 19)}),
            pl("P-003", UPN="V855123425001", **{"Start date": D(2026, 11, 16)})]      # another pupil
    report = run(book(*late))
    assert where(report, "PL012") == [("Placements", "B2", "P-001"), ("Placements", "B3", "P-002")]
    first, second = found(report, "PL012")
    assert first.severity == "warning" and first.value == "B801200005001"
    assert "also has placement P-002 (16/11/2026 to 19/03/2027)" in first.message
    assert "also has placement P-001 (14/09/2026 to 17/11/2026)" in second.message


def test_overlap_uses_the_actual_end_date_and_names_every_other_placement():
    rows = [pl("P-001", **{"Planned end date": D(2027, 2, 12), "Actual end date": D(2026, 10, 1), "Status": "Ended"}),
            pl("P-002", **{"Start date": D(2026, 10, 1)}),
            pl("P-003", **{"Start date": D(2026, 10, 5), "Planned end date": D(2026, 10, 9),
                           "Actual end date": D(2026, 10, 9), "Status": "Ended"}),
            pl("P-004", UPN="U85512342501A", **{"Start date": D(2026, 9, 1)}),
            pl("P-005", UPN="u85512342501a", **{"Start date": D(2026, 10, 1)})]
    report = run(book(*rows))
    got = {f.record: f.message for f in found(report, "PL012")}
    assert sorted(got) == ["P-002", "P-003", "P-004", "P-005"]
    assert "also has placement P-003" in got["P-002"] and "P-001" not in got["P-002"]
    assert "P-002" in got["P-003"]
    assert "P-005" in got["P-004"] and "P-004" in got["P-005"]


def test_a_one_day_placement_on_the_start_day_of_another_is_not_an_overlap():
    # it ends on the day the other starts (rules.md: the one exception to sharing a day)
    rows = [pl("P-001"), pl("P-002", **{"Planned end date": D(2026, 9, 14), "Actual end date": D(2026, 9, 14),
                                        "Status": "Ended", "Next review date": ""})]
    assert found(run(book(*rows)), "PL012") == []
    rows[1] = pl("P-002", **{"Start date": D(2026, 9, 15), "Planned end date": D(2026, 9, 15),
                             "Actual end date": D(2026, 9, 15), "Status": "Ended", "Next review date": ""})
    assert where(run(book(*rows)), "PL012") == [("Placements", "B2", "P-001"), ("Placements", "B3", "P-002")]


def test_unknown_dates_give_no_overlap():
    rows = [pl("P-001"), pl("P-002", **{"Start date": "TBC"})]
    assert found(run(book(*rows)), "PL012") == []


# --- the example workbook ----------------------------------------------------------------------

def test_the_example_fires_every_pl_rule_under_its_policy():
    sys.path.insert(0, str(ROOT / "workbooks"))
    from rule_examples import pl as example

    path = ROOT / "workbooks" / "examples" / "rules-pl.xlsx"
    with_policy = {f.rule for f in apxl.validate(path, as_of=example.AS_OF, policy=example.POLICY).findings}
    assert set(example.CODES) <= with_policy
    default = {f.rule for f in apxl.validate(path, as_of=example.AS_OF).findings}
    assert set(example.CODES) - default == {"PL011"}


def test_file_and_memory_give_the_same_pl_findings(tmp):
    rows = [pl("P-001", UPN="A801200005001"), pl("P-002", Status="Planned"),
            pl("P-003", UPN="V855123425001", **{"AP hours per week": 5, "School hours per week": 5})]
    memory = run(book(*rows))
    path = write_xlsx(tmp / "t.xlsx", book(*rows))
    strip = lambda r: [(f.rule, f.cell, f.record, f.value, f.message) for f in r.findings if f.rule.startswith("PL")]  # noqa: E731
    assert strip(run(path)) == strip(memory) and len(strip(memory)) == 3


def test_many_placements_of_one_upn_are_counted_and_named_in_part():
    """A UPN copied down a whole column: every placement overlaps the rest, and says how many."""
    rows = [pl(f"P-{i:03d}", **{"Start date": D(2026, 9, 1) + dt.timedelta(days=i % 30)}) for i in range(300)]
    report = run(book(*rows))
    hits = found(report, "PL012")
    assert len(hits) == 300
    assert all(f.message.count("placement P-") == 5 and "and 294 more placements" in f.message for f in hits)
