"""The PR rules (rules.md "PR: providers"): each fires where it should, points where it should, and no more.

Providers columns: D Postcode, E Registration, F URN, H LEBC audit status, I LEBC audit date,
M Insurance expiry. The as-at date is Monday 30/11/2026. The default placement (P-001 at AP-01) runs
from 14/09/2026 to 12/02/2027.
"""

from __future__ import annotations

import datetime as dt

import pytest

import apxl
from workbooks import checklist_row, found, headers, placement_row, provider_row, tracker, where, write_xlsx

D = dt.date
AS_OF = D(2026, 11, 30)
ENDED = {"Actual end date": D(2026, 10, 30), "Status": "Ended", "Next review date": ""}
PLANNED = {"Start date": D(2027, 1, 4), "Status": "Planned"}
REGISTERED = {"Registration": "Registered school", "URN": "148321"}
COLLEGE = {"Registration": "FE college", "URN": "130745"}


def pl(pid: str, **over):
    over.setdefault("NC year", 10)
    return placement_row(pid, **over)


def book(*providers, placements=None, **extra):
    rows = placements if placements is not None else [pl("P-001")]
    return tracker(placements=rows, providers=list(providers) or None,
                   checklist=[checklist_row(r[0]) for r in rows], **extra)


def run(workbook, as_of=AS_OF, policy=None):
    return apxl.validate(workbook, as_of=as_of, policy=policy)


def test_default_rows_give_no_pr_finding():
    report = run(book())
    assert [f for f in report.findings if f.rule.startswith("PR")] == []


# --- PR001, PR002 ----------------------------------------------------------------------------

def test_failed_audit_with_an_active_or_planned_placement():
    providers = [provider_row("AP-01", **{"LEBC audit status": "Failed"}),
                 provider_row("AP-02", **{"Provider name": "Aspire Farm", "LEBC audit status": "Failed"}),
                 provider_row("AP-03", **{"Provider name": "Larkspur Boxing", "LEBC audit status": "Failed"}),
                 provider_row("AP-04", **{"Provider name": "Copper Kettle", "LEBC audit status": "Failed"})]
    placements = [pl("P-001"), pl("P-002", UPN="V855123425001", **PLANNED),
                  pl("P-003", **{"Provider ID": "AP-02", **PLANNED}),
                  pl("P-004", **{"Provider ID": "AP-03", **ENDED}),                     # ended: not counted
                  pl("P-005", **{"Provider ID": "AP-04", "Start date": "TBC"})]         # dates unknown
    report = run(book(*providers, placements=placements))
    assert where(report, "PR001") == [("Providers", "H2", "AP-01"), ("Providers", "H3", "AP-02")]
    f = found(report, "PR001")[0]
    assert f.severity == "error" and f.value == "Failed"
    assert "Meadow Farm Learning has LEBC audit status Failed and it has 2 active or planned placements (P-001, P-002)" in f.message
    assert "1 active or planned placement (P-003)" in found(report, "PR001")[1].message


def test_not_audited_or_pending_only_for_providers_the_policy_covers():
    providers = [provider_row("AP-01", **{"LEBC audit status": "Not audited", "LEBC audit date": ""}),
                 provider_row("AP-02", **{"LEBC audit status": "Pending"}),
                 provider_row("AP-03", **{"LEBC audit status": "Not audited", "LEBC audit date": "", **REGISTERED}),
                 provider_row("AP-04", **{"LEBC audit status": "Pending", **COLLEGE}),
                 provider_row("AP-05", **{"LEBC audit status": "Pending"})]                # no live placement
    placements = [pl("P-001"), pl("P-002", **{"Provider ID": "AP-02"}, UPN="V855123425001"),
                  pl("P-003", **{"Provider ID": "AP-03"}, UPN="U85512342501A"),
                  pl("P-004", **{"Provider ID": "AP-04", **PLANNED}),
                  pl("P-005", **{"Provider ID": "AP-05", **ENDED}, UPN="Q801200005002")]
    report = run(book(*providers, placements=placements))
    assert where(report, "PR002") == [("Providers", "H2", "AP-01"), ("Providers", "H3", "AP-02")]
    f = found(report, "PR002")[0]
    assert f.severity == "warning" and f.value == "Not audited"
    assert "is an unregistered provider with LEBC audit status Not audited" in f.message and "(P-001)" in f.message
    assert "LEBC audit status Pending" in found(report, "PR002")[1].message
    covered = run(book(*providers, placements=placements), policy={"audit_required_for": ["Unregistered", "FE college"]})
    assert where(covered, "PR002") == [("Providers", "H2", "AP-01"), ("Providers", "H3", "AP-02"),
                                       ("Providers", "H5", "AP-04")]


# --- PR003 to PR005 -------------------------------------------------------------------------------

def test_audit_valid_to_the_as_at_date_and_a_day_short():
    # 01/12/2025 + 12 months - 1 day = 30/11/2026 (the as-at date): still valid
    providers = [provider_row("AP-01", **{"LEBC audit date": D(2025, 12, 1)}),
                 provider_row("AP-02", **{"Provider name": "Aspire Farm", "LEBC audit date": D(2025, 11, 30)})]
    placements = [pl("P-001", **{"Planned end date": D(2026, 11, 30)}),
                  pl("P-002", UPN="V855123425001", **{"Provider ID": "AP-02"})]
    report = run(book(*providers, placements=placements))
    assert where(report, "PR003") == [("Providers", "I3", "AP-02")]
    f = found(report, "PR003")[0]
    assert f.severity == "error" and f.value == "2025-11-30"
    assert ("The LEBC audit of Aspire Farm ran out on 29/11/2026 (audit date 30/11/2025 + 12 months), before the "
            "as-at date 30/11/2026, and it has 1 active or planned placement (P-002)") in f.message
    # out of date already: PR003, not also PR004
    assert found(report, "PR004") == []
    assert found(run(book(*providers, placements=placements), policy={"audit_validity_months": 24}), "PR003") == []


def test_out_of_date_audit_needs_a_live_placement_and_a_covered_provider():
    old = {"LEBC audit date": D(2024, 9, 1)}
    providers = [provider_row("AP-01", **old), provider_row("AP-02", **old, **REGISTERED),
                 provider_row("AP-03", **old, **COLLEGE), provider_row("AP-04", **old)]
    placements = [pl("P-001", **ENDED), pl("P-002", **{"Provider ID": "AP-02"}, UPN="V855123425001"),
                  pl("P-003", **{"Provider ID": "AP-03"}, UPN="U85512342501A")]
    report = run(book(*providers, placements=placements))
    assert found(report, "PR003") == [] and found(report, "PR004") == [] and found(report, "PR002") == []


def test_audit_that_runs_out_before_a_planned_end_date():
    # audit 01/06/2026: last valid day 31/05/2027
    providers = [provider_row("AP-01"), provider_row("AP-02", **REGISTERED), provider_row("AP-03", **COLLEGE)]
    placements = [pl("P-001", **{"Planned end date": D(2027, 5, 31)}),
                  pl("P-002", UPN="V855123425001", **{"Planned end date": D(2027, 6, 1)}),
                  pl("P-003", UPN="U85512342501A", **{"Planned end date": D(2027, 7, 16), **PLANNED}),
                  pl("P-004", UPN="Q801200005002", **{"Planned end date": D(2027, 7, 16), "Provider ID": "AP-02"}),
                  pl("P-005", UPN="Q801200005002", **{"Planned end date": D(2027, 7, 16), "Provider ID": "AP-03",
                                                       "Start date": D(2027, 7, 16), "Status": "Planned"})]
    report = run(book(*providers, placements=placements))
    assert where(report, "PR004") == [("Providers", "I2", "P-002"), ("Providers", "I2", "P-003")]
    f = found(report, "PR004")[0]
    assert f.severity == "warning" and f.value == "2026-06-01"
    assert ("runs out on 31/05/2027 (audit date 01/06/2026 + 12 months), before the Planned end date 01/06/2027 "
            "of placement P-002") in f.message


def test_audit_date_in_the_future():
    providers = [provider_row("AP-01", **{"LEBC audit date": D(2026, 12, 1)}),
                 provider_row("AP-02", **{"LEBC audit date": AS_OF})]
    report = run(book(*providers))
    assert where(report, "PR005") == [("Providers", "I2", "AP-01")]
    f = found(report, "PR005")[0]
    assert f.severity == "warning" and "01/12/2026 is after the as-at date 30/11/2026" in f.message


# --- PR006 to PR008 -------------------------------------------------------------------------------

@pytest.mark.parametrize("registration, urn, fires, words", [
    ("Registered school", "", True, "its URN is blank"),
    ("Registered school", "12345", True, "is 12345, not 6 digits"),
    ("FE college", "EY123456", True, "is EY123456, not 6 digits"),
    ("Registered school", "148321", False, ""),
    ("Registered school", 148321, False, ""),
    ("FE college", " 130745 ", False, ""),
    ("Unregistered", "", False, ""),
])
def test_urn_of_a_registered_school_or_college(registration, urn, fires, words):
    report = run(book(provider_row("AP-01", Registration=registration, URN=urn)))
    if not fires:
        assert found(report, "PR006") == []
        return
    assert where(report, "PR006") == [("Providers", "F2", "AP-01")]
    f = found(report, "PR006")[0]
    assert f.severity == "error" and words in f.message and "Get Information about Schools" in f.message


@pytest.mark.parametrize("postcode, fires", [
    ("LE13 0AA", False), ("le13 0aa", False), ("LE130AA", False), ("M1 1AE", False), ("EC1A 1BB", False),
    ("LE13", True), ("LE13 OAA", True), ("12345", True), ("LE13  0AA", True), ("LEE13 0AA", True),
])
def test_postcode(postcode, fires):
    report = run(book(provider_row("AP-01", Postcode=postcode)))
    if not fires:
        assert found(report, "PR007") == []
        return
    assert where(report, "PR007") == [("Providers", "D2", "AP-01")]
    f = found(report, "PR007")[0]
    assert f.severity == "error" and f.value == postcode and "is not a valid UK postcode" in f.message
    assert f.message.startswith(f"Postcode {' '.join(postcode.split())} ")
    assert ("more than one space" in f.message) == (postcode == "LE13  0AA")


def test_urn_given_for_an_unregistered_provider():
    report = run(book(provider_row("AP-01", URN="123456"), provider_row("AP-02", **REGISTERED)))
    assert where(report, "PR008") == [("Providers", "F2", "AP-01")]
    f = found(report, "PR008")[0]
    assert f.severity == "warning" and f.value == "123456"
    assert "Meadow Farm Learning is recorded as Unregistered but has URN 123456" in f.message


# --- PR009 ---------------------------------------------------------------------------------------

def test_insurance_expired_or_running_out():
    providers = [provider_row("AP-01", **{"Insurance expiry": D(2026, 11, 29)}),                    # passed
                 provider_row("AP-02", **{"Provider name": "Aspire Farm", "Insurance expiry": D(2027, 1, 31)}),
                 provider_row("AP-03", **{"Insurance expiry": D(2027, 2, 12)}),                     # = planned end
                 provider_row("AP-04", **{"Insurance expiry": ""}),                                 # not given
                 provider_row("AP-05", **{"Insurance expiry": D(2026, 1, 31)}),                     # nothing live
                 provider_row("AP-06", **{"Insurance expiry": AS_OF})]                              # to the last day
    placements = [pl("P-001"),
                  pl("P-002", UPN="V855123425001", **{"Provider ID": "AP-02"}),
                  pl("P-003", UPN="U85512342501A", **{"Provider ID": "AP-03"}),
                  pl("P-004", UPN="Q801200005002", **{"Provider ID": "AP-04"}),
                  pl("P-005", UPN="Q801200005002", **{"Provider ID": "AP-05", **ENDED}),
                  pl("P-006", UPN="Q801200005002", **{"Provider ID": "AP-06", "Planned end date": AS_OF,
                                                       "Start date": D(2026, 11, 2)})]
    report = run(book(*providers, placements=placements))
    assert where(report, "PR009") == [("Providers", "M2", "AP-01"), ("Providers", "M3", "AP-02")]
    expired, short = found(report, "PR009")
    assert expired.severity == "warning" and expired.value == "2026-11-29"
    assert "expired on 29/11/2026, before the as-at date 30/11/2026" in expired.message and "(P-001)" in expired.message
    assert "expires on 31/01/2027, before the Planned end date of 1 placement there: P-002 (12/02/2027)" in short.message


def test_insurance_only_when_the_column_is_used():
    cols = [h for h in headers("Providers") if h != "Insurance expiry"]
    workbook = book(placements=[pl("P-001")])
    workbook["Providers"] = [cols, provider_row("AP-01")[:len(cols)]]
    report = run(workbook)
    assert found(report, "PR009") == [] and [f for f in report.findings if f.rule.startswith(("WB00", "CE"))
                                              and f.rule != "WB008"] == []


# --- across the family ----------------------------------------------------------------------------

def test_fe_college_and_registered_school_give_no_audit_findings():
    stale = {"LEBC audit status": "Pending", "LEBC audit date": D(2025, 1, 6)}
    providers = [provider_row("AP-01", **stale, **COLLEGE), provider_row("AP-02", **stale, **REGISTERED)]
    placements = [pl("P-001", **{"Planned end date": D(2027, 7, 16)}),
                  pl("P-002", UPN="V855123425001", **{"Provider ID": "AP-02", "Planned end date": D(2027, 7, 16)})]
    report = run(book(*providers, placements=placements))
    assert [f.rule for f in report.findings if f.rule in ("PR002", "PR003", "PR004")] == []


def test_single_sheet_tracker_points_at_the_first_row_naming_the_provider(tmp):
    cols = ["UPN", "Surname", "Forename", "Date of birth", "NC year", "SEN status", "Looked after", "Provider name",
            "Postcode", "Registration", "URN", "LEBC audit status", "LEBC audit date", "Placement basis",
            "Start date", "Planned end date", "AP hours per week", "School hours per week", "Attendance code",
            "Next review date", "Status", "DSL name", "DSL phone"]
    base = ["B801200005001", "Testpupil", "Alex", D(2012, 5, 1), 10, "N", "No", "Meadow Farm Learning", "LE13 0AA",
            "Unregistered", "", "Failed", D(2026, 6, 1), "Agreed with parent", D(2026, 9, 14), D(2027, 2, 12), 10,
            15, "B", D(2026, 12, 14), "Active", "Sam Keeper", "01664 000000"]
    other = list(base)
    other[0] = "V855123425001"
    report = run({"AP tracker": [cols, base, other]}, policy=None)
    pr001 = found(report, "PR001")
    assert [(f.sheet, f.cell) for f in pr001] == [("AP tracker", "L2")]
    assert "2 active or planned placements" in pr001[0].message


def test_file_and_memory_give_the_same_pr_findings(tmp):
    workbook = book(provider_row("AP-01", Postcode="LE13", URN="1234", **{"LEBC audit status": "Failed"}))
    path = write_xlsx(tmp / "t.xlsx", workbook)
    strip = lambda r: [(f.rule, f.cell, f.record, f.value, f.message) for f in r.findings if f.rule.startswith("PR")]  # noqa: E731
    assert strip(run(path)) == strip(run(workbook)) and len(strip(run(workbook))) == 3
