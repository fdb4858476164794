"""School days, bank holidays, UPN check letters, NC years and compulsory school age (domain.md section 6)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from apxl.dates import CACHED_YEARS, SchoolCalendar, TermRow, _package_bank_holidays, bank_holidays
from apxl.pupils import compulsory_school_age, is_temporary_upn, nc_year, upn_problem

D = np.datetime64


def test_bank_holiday_cache_matches_the_holidays_package():
    assert bank_holidays(*CACHED_YEARS) == tuple(_package_bank_holidays(range(CACHED_YEARS[0], CACHED_YEARS[1] + 1)))
    assert dt.date(2026, 8, 31) in bank_holidays(2026, 2026)          # summer bank holiday, England


def terms_2026() -> list[TermRow]:
    return [TermRow(dt.date(2026, 9, 3), dt.date(2026, 10, 23), "Term"),
            TermRow(dt.date(2026, 11, 2), dt.date(2026, 12, 18), "Term"),
            TermRow(dt.date(2027, 1, 5), dt.date(2027, 3, 26), "Term"),
            TermRow(dt.date(2026, 11, 20), dt.date(2026, 11, 20), "Closed")]


def test_clear_school_days_before_a_monday_start():
    cal = SchoolCalendar(first_year=2025, last_year=2027)
    start = np.array([D("2026-09-14")])
    # rules.md: with 2 clear days and a start on Monday 14 September 2026, the notice is due by Wednesday 9th
    assert cal.add(cal.on_or_after(start), -3)[0] == D("2026-09-09")
    assert cal.clear_days_between(np.array([D("2026-09-09")]), start)[0] == 2
    assert cal.clear_days_between(np.array([D("2026-09-10")]), start)[0] == 1


def test_half_term_closure_and_bank_holiday_are_not_school_days():
    cal = SchoolCalendar(term_rows=terms_2026(), first_year=2025, last_year=2027)
    days = np.array([D("2026-10-26"), D("2026-11-02"), D("2026-11-20"), D("2026-12-25"), D("2026-12-21")])
    assert cal.is_school_day(days).tolist() == [False, True, False, False, False]
    # across half-term: Friday 23 October to Monday 2 November has no clear school day
    assert cal.clear_days_between(np.array([D("2026-10-23")]), np.array([D("2026-11-02")]))[0] == 0
    assert cal.source(dt.date(2026, 10, 1)) == "sheet" and cal.source(dt.date(2024, 10, 1)) == "weekdays"
    assert "2024/25" in cal.caveat(dt.date(2024, 10, 1))
    assert cal.caveat(dt.date(2026, 10, 1)) == ""


def test_half_term_as_two_terms_or_a_closed_range_gives_the_same_days():
    split = [TermRow(dt.date(2026, 9, 3), dt.date(2026, 10, 23), "Term"),
             TermRow(dt.date(2026, 11, 2), dt.date(2026, 12, 18), "Term")]
    closed = [TermRow(dt.date(2026, 9, 3), dt.date(2026, 12, 18), "Term"),
              TermRow(dt.date(2026, 10, 26), dt.date(2026, 10, 30), "Closed")]
    a = SchoolCalendar(term_rows=split, first_year=2025, last_year=2027)
    b = SchoolCalendar(term_rows=closed, first_year=2025, last_year=2027)
    span = np.arange(D("2026-09-01"), D("2027-01-01"))
    assert (a.is_school_day(span) == b.is_school_day(span)).all()


@pytest.mark.parametrize("upn,problem", [
    ("B801200005001", None), ("V855123425001", None), ("U85512342501A", None),
    ("A801200005001", "check letter"), ("B80120000500", "12 characters"), ("B80120000500I", "cannot end in I"),
    ("b801200005001", None),
])
def test_upn_vectors(upn, problem):
    got = upn_problem(upn)
    assert (got is None) if problem is None else (problem in got)


def test_temporary_upn():
    assert is_temporary_upn("U85512342501A") and not is_temporary_upn("B801200005001")


def test_nc_year_from_date_of_birth():
    # Bromley 2024/25: born 01/09/2012 to 31/08/2013 is Year 7
    assert nc_year(dt.date(2012, 9, 1), dt.date(2024, 11, 1)) == 7
    assert nc_year(dt.date(2013, 8, 31), dt.date(2024, 11, 1)) == 7
    assert nc_year(dt.date(2019, 12, 1), dt.date(2024, 11, 1)) == 0


def test_compulsory_school_age():
    first, last = compulsory_school_age(dt.date(2010, 10, 15))
    assert first == dt.date(2015, 12, 31)
    assert last == dt.date(2027, 6, 25)          # turns 16 in 2026/27: last Friday in June 2027
    assert compulsory_school_age(dt.date(2011, 8, 31))[1] == dt.date(2027, 6, 25)
    assert compulsory_school_age(dt.date(2011, 9, 1))[1] == dt.date(2028, 6, 30)


def test_policy_terms_apply_where_the_workbook_has_none():
    from apxl.policy import load_policy
    from apxl.rules.base import _as_date

    policy = load_policy("workbooks/examples/policy-example.yaml")
    terms = {int(k[:4]): [TermRow(_as_date(e["from"]), _as_date(e["to"]), e["kind"]) for e in v]
             for k, v in policy["terms"].items()}
    cal = SchoolCalendar(policy_terms=terms, first_year=2025, last_year=2027)
    assert cal.source(dt.date(2026, 10, 1)) == "policy"
    assert not cal.is_school_day(np.array([D("2026-10-28")]))[0]          # half-term in the policy's calendar
    # the workbook's own Term dates win for the years they cover
    own = SchoolCalendar(term_rows=[TermRow(dt.date(2026, 9, 1), dt.date(2026, 12, 20), "Term")],
                         policy_terms=terms, first_year=2025, last_year=2027)
    assert own.source(dt.date(2026, 10, 1)) == "sheet" and own.is_school_day(np.array([D("2026-10-28")]))[0]


def test_registration_law_packs():
    from apxl.policy import load_policy

    assert load_policy().law["vulnerable_sen"] == ["E"]
    wide = load_policy({"registration_law": "cwsa2026", "laws": {"cwsa2026": {"full_time_hours": 16}}})
    assert wide.name == "cwsa2026" and wide.law["vulnerable_sen"] == ["K", "E"] and wide.law["full_time_hours"] == 16


def test_vectorised_compulsory_school_age_matches_the_definition():
    """base.csa_bounds (numpy, all pupils at once) agrees with pupils.compulsory_school_age day by day."""
    from apxl.rules.base import csa_bounds
    from workbooks import placement_row, tracker

    births = [dt.date(2010, 1, 1) + dt.timedelta(days=k) for k in range(0, 2400, 7)] + \
             [dt.date(2012, 2, 29), dt.date(2011, 8, 31), dt.date(2011, 9, 1), dt.date(2010, 12, 31)]
    book = tracker(placements=[placement_row(f"P-{i}", **{"Date of birth": b}) for i, b in enumerate(births)])
    ctx = context_of(book, dt.date(2026, 11, 30))
    first, last = csa_bounds(ctx)
    for i, born in enumerate(births):
        assert (first[i].item(), last[i].item()) == compulsory_school_age(born), born


def context_of(book, as_of):
    """The rules' context for an in-memory workbook (tables located and parsed, no rules run)."""
    from apxl.checks import check_table
    from apxl.engine import Context
    from apxl.layout import locate
    from apxl.mapping import Mapping
    from apxl.policy import load_policy
    from apxl.reading import from_memory

    workbook = from_memory(book)
    layout = locate(workbook, Mapping())
    for table in layout.tables.values():
        check_table(table, as_of)
    return Context(workbook, layout, as_of, load_policy())
