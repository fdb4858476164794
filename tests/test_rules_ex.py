"""Explanations (EX001 to EX003): matched by rule and record, never by cell."""

from __future__ import annotations

import datetime as dt

import apxl
from workbooks import checklist_row, headers, placement_row, tracker

AS_OF = dt.date(2026, 11, 30)
WHEN = dt.date(2026, 11, 20)


def book(placements, explanations):
    ids = [row[0] for row in placements]
    return tracker(placements=placements, checklist=[checklist_row(i) for i in ids],
                   Explanations=[headers("Explanations")] + explanations)


def pick(report, rule, record=None):
    return [f for f in report.findings if f.rule == rule and (record is None or f.record == record)]


def test_an_explained_warning_is_reported_as_explained_and_counted_apart():
    rows = [placement_row("P-1", **{"AP hours per week": "10 hrs"}), placement_row("P-2", **{"AP hours per week": "9 hrs"})]
    report = apxl.validate(book(rows, [["CE003", "P-1", "Provider's own timetable", "J. Lead", WHEN]]), as_of=AS_OF)
    (p1,) = pick(report, "CE003", "P-1")
    (p2,) = pick(report, "CE003", "P-2")
    assert p1.explained and not p2.explained
    assert report.summary["explained"] >= 1
    assert not pick(report, "EX002") and not pick(report, "EX003")


def test_an_explanation_survives_sorting_the_rows():
    rows = [placement_row("P-1", **{"AP hours per week": "10 hrs"}), placement_row("P-2")]
    explanation = [["ce003", " p-1 ", "Provider's own timetable", "J. Lead", WHEN]]   # case and spaces ignored
    before = apxl.validate(book(rows, explanation), as_of=AS_OF)
    after = apxl.validate(book(rows[::-1], explanation), as_of=AS_OF)
    explained = lambda r: sorted((f.rule, f.record) for f in r.findings if f.explained)  # noqa: E731
    assert explained(before) == explained(after) == [("CE003", "P-1")]
    assert pick(before, "CE003")[0].cell != pick(after, "CE003")[0].cell     # it moved, and stayed explained


def test_an_error_on_an_active_placement_cannot_be_explained():
    rows = [placement_row("P-1", Surname="")]
    report = apxl.validate(book(rows, [["CE001", "P-1", "Will fix", "J. Lead", WHEN]]), as_of=AS_OF)
    assert not pick(report, "CE001", "P-1")[0].explained
    (ex,) = pick(report, "EX001")
    assert (ex.sheet, ex.cell, ex.severity) == ("Explanations", "A2", "warning")
    assert "has not ended" in ex.message


def test_an_error_on_an_ended_placement_can_be_explained():
    rows = [placement_row("P-1", Surname="", Status="Ended", **{"Actual end date": dt.date(2026, 11, 6),
                                                                "Next review date": ""})]
    report = apxl.validate(book(rows, [["CE001", "P-1", "Pupil left; name not kept", "J. Lead", WHEN]]), as_of=AS_OF)
    assert pick(report, "CE001", "P-1")[0].explained
    assert not pick(report, "EX001")


def test_an_explanation_that_matches_nothing():
    report = apxl.validate(book([placement_row("P-1")], [["CE003", "P-9", "Old", "J. Lead", WHEN]]), as_of=AS_OF)
    (ex,) = pick(report, "EX002")
    assert ex.severity == "info" and ex.cell == "A2" and "P-9" in ex.message


def test_an_incomplete_explanation_explains_nothing_and_its_blanks_are_not_ce001():
    rows = [placement_row("P-1", **{"AP hours per week": "10 hrs"})]
    report = apxl.validate(book(rows, [["CE003", "P-1", "Provider's own timetable", "", ""]]), as_of=AS_OF)
    assert not pick(report, "CE003", "P-1")[0].explained
    (ex,) = pick(report, "EX003")
    assert ex.cell == "A2" and "name and date" in ex.message
    assert not [f for f in report.findings if f.sheet == "Explanations" and f.rule.startswith("CE")]
