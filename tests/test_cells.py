"""Parsing cell values: what each type accepts, warns about (CE003, CE007) and rejects (CE002)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from apxl.cells import parse
from apxl.reading import CellError
from apxl.schema import FieldSpec


def run(values, type_, **kw):
    return parse(np.array(values, dtype=object), FieldSpec(name="F", type=type_, **kw))


def test_day_first_text_date_is_read_with_a_warning():
    p = run(["03/09/2026", dt.date(2026, 9, 4), ""], "date")
    assert str(p.values[0])[:10] == "2026-09-03"          # 3 September, not 9 March
    assert str(p.values[1])[:10] == "2026-09-04"
    assert [(i.index, i.rule) for i in p.issues] == [(0, "CE003")]
    assert "3 September 2026" in p.issues[0].params["read_as"]
    assert p.blank.tolist() == [False, False, True]


@pytest.mark.parametrize("text", ["TBC", "31/02/2026", "n/a", "N/A", "NA", "none"])
def test_unreadable_dates_are_reported_not_lost(text):
    p = run([text], "date")
    assert [i.rule for i in p.issues] == ["CE002"]
    assert p.failed[0] and not p.blank[0]
    assert f'"{text}"' in p.issues[0].params["shown"]


def test_excel_error_value_is_named():
    p = run([CellError("#N/A")], "date")
    assert p.issues[0].rule == "CE002" and "#N/A" in p.issues[0].params["shown"]
    t = run([CellError("#REF!")], "text")
    assert t.issues[0].rule == "CE002" and t.values[0] is None


@pytest.mark.parametrize("raw,hours,rule", [
    (12.5, 12.5, None), (10, 10.0, None), ("2.5 hrs", 2.5, "CE003"), ("12", 12.0, "CE003"),
    ("3h", 3.0, "CE003"), (dt.timedelta(hours=2, minutes=30), 2.5, None), ("lots", None, "CE002"),
])
def test_hours(raw, hours, rule):
    p = run([raw], "hours")
    assert [i.rule for i in p.issues] == ([rule] if rule else [])
    if hours is None:
        assert np.isnan(p.values[0])
    else:
        assert p.values[0] == pytest.approx(hours)


@pytest.mark.parametrize("raw,expected", [
    ("Y", "Yes"), ("yes", "Yes"), (" YES ", "Yes"), ("N", "No"), ("no", "No"), ("TRUE", "Yes"),
    ("false", "No"), (True, "Yes"), (False, "No"), ("maybe", "maybe"),
])
def test_yes_no_spellings(raw, expected):
    assert run([raw], "yesno").values[0] == expected


def test_codes_are_case_insensitive_and_trimmed():
    p = run([" e ", "k", "Off-site  direction"], "code", allowed=("N", "K", "E", "Off-site direction"))
    assert p.values.tolist() == ["E", "K", "Off-site direction"]


def test_checklist_item_na_tick_and_date():
    p = run(["N/A", "n/a", "Y", "✓", dt.date(2026, 9, 1), "", "soon"], "checkitem")
    assert p.marks["na"].tolist() == [True, True, False, False, False, False, False]
    assert p.marks["ticked"].tolist() == [False, False, True, True, False, False, False]
    assert [(i.index, i.rule) for i in p.issues] == [(2, "CE007"), (3, "CE007"), (6, "CE002")]


def test_time_of_day():
    p = run([dt.time(9, 15), "13:30", "1pm", 0.5, "later"], "time")
    assert p.values[:4].tolist() == [555, 810, 780, 720]
    assert [(i.index, i.rule) for i in p.issues] == [(1, "CE003"), (2, "CE003"), (4, "CE002")]


def test_integer_rejects_fractions():
    p = run([3, 2.5, "4"], "integer")
    assert [(i.index, i.rule) for i in p.issues] == [(2, "CE003"), (1, "CE002")]


def test_nc_year_forms():
    p = run(["Year 7", 9.0, "R", "Y11", "reception"], "ncyear")
    assert p.values.tolist() == ["7", "9", "R", "11", "R"]
