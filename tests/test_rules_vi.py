"""The VI rules (rules.md "VI: visits"): each fires where it should, points at its cell, and stays quiet
at the boundaries. The as-at date is Monday 30/11/2026; the Term dates sheet has a half-term from 26/10
to 30/10/2026, so the last 30 school days before the as-at date start on 12/10/2026 (on weekdays alone,
on 19/10/2026)."""

from __future__ import annotations

import datetime as dt

import pytest

import apxl
from workbooks import checklist_row, headers, placement_row, provider_row, tracker, write_xlsx

D = dt.date
AS_OF = D(2026, 11, 30)
TERMS = [headers("Term dates"), [D(2026, 9, 3), D(2026, 10, 23), "Term"], [D(2026, 11, 2), D(2026, 12, 18), "Term"]]


def visit(day, provider="AP-01", placement=None, kind="Monitoring visit", outcome="Good", report="Yes",
          visitor="Mrs J. Patel"):
    return [day, provider, placement, kind, visitor, outcome, report]


QA_OK = visit(D(2026, 6, 1), kind="QA visit")          # keeps VI002 quiet for AP-01


def book(visits, placements=None, providers=None, terms=True, **extra):
    placements = placements if placements is not None else [placement_row("P-001")]
    sheets = dict(Visits=[headers("Visits")] + visits, **extra)
    if terms:
        sheets["Term dates"] = TERMS
    return tracker(placements=placements, providers=providers,
                   checklist=[checklist_row(row[0]) for row in placements], **sheets)


def vi(source, as_of=AS_OF, code=None):
    report = apxl.validate(source, as_of=as_of)
    return [f for f in report.findings if f.rule.startswith("VI") and (code is None or f.rule == code)]


def where(findings):
    return sorted((f.rule, f.sheet, f.cell) for f in findings)


# --- VI001 ------------------------------------------------------------------------------------

def test_vi001_fires_for_an_active_placement_with_no_monitoring_visit(tmp):
    path = write_xlsx(tmp / "t.xlsx", book([QA_OK]))
    found = vi(path)
    assert where(found) == [("VI001", "Placements", "A2")]
    f = found[0]
    assert f.severity == "warning" and f.record == "P-001" and f.column == "Placement ID"
    assert "No monitoring visit to P-001 at Meadow Farm Learning" in f.message
    assert "last 30 school days (6 school weeks) before 30/11/2026, that is since 12/10/2026" in f.message
    assert "none is recorded since it started on 14/09/2026" in f.message
    assert "No term dates were known" not in f.message


def test_vi001_just_inside_the_interval_counts_school_days_from_the_term_dates():
    # 12/10/2026 is the 30th school day before 30/11/2026 once the half-term week is left out
    assert vi(book([QA_OK, visit(D(2026, 10, 12), placement="P-001")]), code="VI001") == []


def test_vi001_just_outside_the_interval():
    found = vi(book([QA_OK, visit(D(2026, 10, 9), placement="P-001")]), code="VI001")
    assert where(found) == [("VI001", "Placements", "A2")]
    assert "the last one was on 09/10/2026" in found[0].message


def test_vi001_without_term_dates_counts_weekdays_and_says_so():
    found = vi(book([QA_OK, visit(D(2026, 10, 12), placement="P-001")], terms=False), code="VI001")
    assert where(found) == [("VI001", "Placements", "A2")]
    assert "since 19/10/2026" in found[0].message
    assert "No term dates were known for 2026/27" in found[0].message
    assert vi(book([QA_OK, visit(D(2026, 10, 19), placement="P-001")], terms=False), code="VI001") == []


def test_vi001_quiet_until_the_interval_has_passed_since_the_start():
    # started 19/10/2026: fewer than 30 school days before the as-at date, however they are counted
    rows = [placement_row("P-001", **{"Start date": D(2026, 10, 19)})]
    assert vi(book([QA_OK], placements=rows), code="VI001") == []
    # started on 12/10/2026, exactly 30 school days before: the visit is due
    rows = [placement_row("P-001", **{"Start date": D(2026, 10, 12)})]
    assert where(vi(book([QA_OK], placements=rows), code="VI001")) == [("VI001", "Placements", "A2")]


def test_vi001_only_a_monitoring_visit_to_that_placement_on_or_before_the_as_at_date_counts():
    rows = [placement_row("P-001"), placement_row("P-002")]
    visits = [QA_OK,
              visit(D(2026, 11, 2), placement="P-002"),                          # another placement's
              visit(D(2026, 11, 3), placement="P-001", kind="Review meeting"),    # not a monitoring visit
              visit(D(2026, 12, 1), placement="P-001")]                           # after the as-at date
    assert where(vi(book(visits, placements=rows), code="VI001")) == [("VI001", "Placements", "A2")]


def test_vi001_not_for_ended_placements_nor_when_a_visit_cannot_be_read():
    ended = [placement_row("P-001", **{"Actual end date": D(2026, 11, 20), "Status": "Ended"})]
    assert vi(book([QA_OK], placements=ended), code="VI001") == []
    # a visit to P-001 whose type is not one of the allowed values is CE004 only: no VI001 built on it
    assert vi(book([QA_OK, visit(D(2026, 11, 2), placement="P-001", kind="Monitoring")]), code="VI001") == []
    assert vi(book([QA_OK, visit("TBC", placement="P-001")]), code="VI001") == []


def test_no_visits_sheet_means_no_vi_finding():
    bad = tracker(placements=[placement_row("P-001", **{"Provider ID": "AP-01"})])
    assert vi(bad) == []


# --- VI002 ------------------------------------------------------------------------------------

def test_vi002_fires_when_the_last_qa_visit_is_12_months_old(tmp):
    visits = [visit(D(2025, 11, 30), kind="QA visit"), visit(D(2026, 11, 2), placement="P-001")]
    found = vi(write_xlsx(tmp / "t.xlsx", book(visits)), code="VI002")
    assert where(found) == [("VI002", "Providers", "A2")]
    f = found[0]
    assert f.severity == "warning" and f.record == "AP-01" and f.value == "AP-01"
    assert "Meadow Farm Learning (AP-01) has 1 placement running or planned (P-001)" in f.message
    assert "its last QA visit was on 30/11/2025, more than 12 months before 30/11/2026" in f.message


def test_vi002_quiet_within_12_months_and_for_providers_not_in_use():
    visits = [visit(D(2025, 12, 1), kind="QA visit"), visit(D(2026, 11, 2), placement="P-001")]
    assert vi(book(visits), code="VI002") == []
    # AP-02 has no QA visit at all, but its only placement ended before the as-at date
    rows = [placement_row("P-001"), placement_row("P-002", **{"Provider ID": "AP-02", "Status": "Ended",
                                                              "Actual end date": D(2026, 10, 9)})]
    providers = [provider_row("AP-01"), provider_row("AP-02", **{"Provider name": "Larkspur Boxing"})]
    assert vi(book(visits, placements=rows, providers=providers), code="VI002") == []


def test_vi002_a_provider_with_no_qa_visit_and_a_planned_placement():
    rows = [placement_row("P-001", **{"Start date": D(2027, 1, 11), "Status": "Planned"})]
    found = vi(book([], placements=rows), code="VI002")
    assert where(found) == [("VI002", "Providers", "A2")]
    assert "no QA visit to it is recorded on Visits" in found[0].message


# --- VI003 ------------------------------------------------------------------------------------

def test_vi003_fires_when_the_latest_qa_visit_is_inadequate(tmp):
    visits = [visit(D(2026, 3, 1), kind="QA visit", outcome="Good"),
              visit(D(2026, 9, 30), kind="QA visit", outcome="Inadequate", visitor="Mr R. Whitlock"),
              visit(D(2026, 11, 2), placement="P-001")]
    found = vi(write_xlsx(tmp / "t.xlsx", book(visits)), code="VI003")
    assert where(found) == [("VI003", "Visits", "F3")]
    f = found[0]
    assert f.severity == "error" and f.record == "AP-01" and f.value == "Inadequate" and f.column == "Outcome"
    assert "The latest QA visit to Meadow Farm Learning (AP-01), on 30/09/2026 by Mr R. Whitlock" in f.message
    assert "has the outcome Inadequate" in f.message and "(P-001)" in f.message


def test_vi003_concern_raised_also_fires():
    visits = [visit(D(2026, 9, 30), kind="QA visit", outcome="Concern raised"), visit(D(2026, 11, 2), placement="P-001")]
    assert where(vi(book(visits), code="VI003")) == [("VI003", "Visits", "F2")]


def test_vi003_quiet_when_an_older_qa_visit_was_inadequate_but_the_latest_is_good():
    visits = [visit(D(2026, 9, 30), kind="QA visit", outcome="Good"),      # listed first, but the latest
              visit(D(2026, 3, 1), kind="QA visit", outcome="Inadequate"),
              visit(D(2026, 11, 2), placement="P-001", outcome="Inadequate")]   # a monitoring visit: not QA
    assert vi(book(visits), code="VI003") == []


def test_vi003_only_for_providers_in_use_and_qa_visits_up_to_the_as_at_date():
    visits = [visit(D(2026, 9, 30), kind="QA visit", outcome="Good"),
              visit(D(2026, 12, 3), kind="QA visit", outcome="Inadequate"),  # after the as-at date
              visit(D(2026, 11, 2), placement="P-001")]
    assert vi(book(visits), code="VI003") == []
    ended = [placement_row("P-001", **{"Actual end date": D(2026, 11, 20), "Status": "Ended"})]
    visits = [visit(D(2026, 9, 30), kind="QA visit", outcome="Inadequate")]
    assert vi(book(visits, placements=ended), code="VI003") == []


# --- VI004 ------------------------------------------------------------------------------------

def test_vi004_fires_for_a_visit_with_no_report_on_file(tmp):
    visits = [QA_OK, visit(D(2026, 11, 2), placement="P-001", report="N")]
    found = vi(write_xlsx(tmp / "t.xlsx", book(visits)), code="VI004")
    assert where(found) == [("VI004", "Visits", "G3")]
    f = found[0]
    assert f.severity == "warning" and f.record == "P-001" and f.value == "N"
    assert "no report on file for the Monitoring visit on 02/11/2026 to P-001 at AP-01" in f.message
    assert "change Report on file to Yes" in f.message


def test_vi004_quiet_when_the_report_is_on_file():
    assert vi(book([QA_OK, visit(D(2026, 11, 2), placement="P-001", report="Y")]), code="VI004") == []


# --- VI005 ------------------------------------------------------------------------------------

def test_vi005_a_bad_provider_id_and_a_bad_placement_id(tmp):
    visits = [QA_OK,
              visit(D(2026, 11, 2), provider="AP-99", placement="P-001"),   # bad provider
              visit(D(2026, 11, 3), placement="P-077"),                     # bad placement
              visit(D(2026, 11, 4), provider="AP-98", placement="P-078")]   # both bad: two findings
    found = vi(write_xlsx(tmp / "t.xlsx", book(visits)), code="VI005")
    assert where(found) == [("VI005", "Visits", "B3"), ("VI005", "Visits", "B5"),
                            ("VI005", "Visits", "C4"), ("VI005", "Visits", "C5")]
    by_cell = {f.cell: f for f in found}
    assert all(f.severity == "error" for f in found)
    assert by_cell["B3"].value == "AP-99" and by_cell["B3"].column == "Provider ID"
    assert "Provider ID AP-99" in by_cell["B3"].message and "not on the Providers sheet" in by_cell["B3"].message
    assert by_cell["C4"].value == "P-077" and by_cell["C4"].record == "P-077"
    assert "Placement ID P-077" in by_cell["C4"].message and "not on the Placements sheet" in by_cell["C4"].message


def test_vi005_quiet_for_ids_that_exist_whatever_their_case_and_for_blank_placement_ids():
    visits = [QA_OK, visit(D(2026, 11, 2), provider=" ap-01", placement="p-001 ")]
    assert vi(book(visits), code="VI005") == []


@pytest.mark.parametrize("code", ["VI001", "VI002", "VI003", "VI004", "VI005"])
def test_every_vi_rule_is_in_the_catalogue(code):
    from apxl.catalogue import catalogue

    rec = catalogue()[code]
    assert rec.title and rec.message and rec.source and rec.points_at
