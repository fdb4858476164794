"""School days, as the law counts them: the days the school is open.

A school day is a weekday inside a term of the academic year, less closure days and England's bank
holidays. The terms come from the workbook's Term dates sheet for the academic years it covers, else
from the policy's term calendar, else every weekday counts (and a finding that counted school days
says so). Counting is vectorised with numpy's business-day calendar, so a due date for every
placement costs one call, not a loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

DAY = np.timedelta64(1, "D")


def academic_year(day: dt.date) -> int:
    """The year the academic year starts in: 1 September to 31 August."""
    return day.year if day.month >= 9 else day.year - 1


def year_label(start_year: int) -> str:
    return f"{start_year}/{(start_year + 1) % 100:02d}"


CACHED_YEARS = (2010, 2040)


@cache
def bank_holidays(first_year: int, last_year: int) -> tuple[dt.date, ...]:
    """England's bank holidays, as the `holidays` package gives them.

    The years 2010 to 2040 are read from schemas/bank_holidays.yaml, which `refresh_bank_holidays()`
    writes from the package (a test fails when the two differ): asking the package costs about 0.15 s
    of start-up, too much for the Excel button. Other years ask the package itself.
    """
    from .resources import load_schema_file

    cached_days = {dt.date.fromisoformat(str(d)) for d in load_schema_file("bank_holidays.yaml")["days"]}
    days = {d for d in cached_days if first_year <= d.year <= last_year}
    outside = [y for y in range(first_year, last_year + 1) if not CACHED_YEARS[0] <= y <= CACHED_YEARS[1]]
    if outside:
        days |= set(_package_bank_holidays(outside))
    return tuple(sorted(days))


def _package_bank_holidays(years: Iterable[int]) -> list[dt.date]:
    import holidays

    return sorted(holidays.country_holidays("GB", subdiv="ENG", years=list(years)))


def refresh_bank_holidays(path: str | None = None) -> str:
    """Write schemas/bank_holidays.yaml from the `holidays` package (run when the package is upgraded)."""
    from importlib.metadata import version

    from .resources import schemas_dir

    days = _package_bank_holidays(range(CACHED_YEARS[0], CACHED_YEARS[1] + 1))
    text = ("# England's bank holidays " + f"{CACHED_YEARS[0]} to {CACHED_YEARS[1]}, from the holidays package "
            f"{version('holidays')} (written by apxl.dates.refresh_bank_holidays; a test checks it).\n"
            "days:\n" + "".join(f"  - {d.isoformat()}\n" for d in days))
    target = path or str(schemas_dir() / "bank_holidays.yaml")
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(text)
    return target


@dataclass(frozen=True)
class TermRow:
    start: dt.date
    end: dt.date
    kind: str          # "Term" or "Closed"


@dataclass
class SchoolCalendar:
    """Which days are school days, for the years a validation looks at."""

    term_rows: list[TermRow] = field(default_factory=list)                    # the workbook's Term dates
    policy_terms: dict[int, list[TermRow]] = field(default_factory=dict)      # academic year -> rows
    first_year: int = 2020
    last_year: int = 2030

    def __post_init__(self) -> None:
        self.sheet_years = {academic_year(r.start) for r in self.term_rows if r.kind == "Term"}
        self.policy_years = {y for y, rows in self.policy_terms.items() if any(r.kind == "Term" for r in rows)}
        closed: set[dt.date] = set(bank_holidays(self.first_year, self.last_year + 1))
        for year in range(self.first_year, self.last_year + 1):
            rows = self._rows_for(year)
            if not rows:
                continue
            open_days = _days_in(r for r in rows if r.kind == "Term")
            closed |= _days_in(r for r in rows if r.kind == "Closed")
            start, end = dt.date(year, 9, 1), dt.date(year + 1, 8, 31)
            closed |= {d for d in _span(start, end) if d.weekday() < 5 and d not in open_days}
        self.closed_days = closed
        self.busdays = np.busdaycalendar(weekmask="1111100", holidays=np.array(sorted(closed), dtype="datetime64[D]"))

    def _rows_for(self, year: int) -> list[TermRow]:
        if year in self.sheet_years:
            return [r for r in self.term_rows if academic_year(r.start) == year or academic_year(r.end) == year]
        return self.policy_terms.get(year, [])

    def source(self, day: dt.date) -> str:
        """'sheet', 'policy' or 'weekdays': where the school days around `day` come from."""
        year = academic_year(day)
        if year in self.sheet_years:
            return "sheet"
        if year in self.policy_years:
            return "policy"
        return "weekdays"

    def caveat(self, *days: dt.date) -> str:
        """The note a finding adds when it counted school days without knowing the terms."""
        unknown = sorted({year_label(academic_year(d)) for d in days if d and self.source(d) == "weekdays"})
        if not unknown:
            return ""
        return (f" (No term dates were known for {', '.join(unknown)}, so every weekday except bank holidays "
                "counted as a school day: add the Term dates sheet to allow for holidays.)")

    # --- vectorised counting (arrays of datetime64[D]; NaT is not allowed: mask first) -----------

    def is_school_day(self, days: np.ndarray) -> np.ndarray:
        return np.is_busday(days, busdaycal=self.busdays)

    def clear_days_between(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """School days strictly between two dates."""
        return np.maximum(np.busday_count(first + DAY, last, busdaycal=self.busdays), 0)

    def on_or_after(self, days: np.ndarray) -> np.ndarray:
        """The first school day on or after each date."""
        return np.busday_offset(days, 0, roll="forward", busdaycal=self.busdays)

    def add(self, days: np.ndarray, n: int | np.ndarray) -> np.ndarray:
        """The n-th school day after each date (n may be negative: before it)."""
        roll = "backward" if np.all(np.asarray(n) >= 0) else "forward"
        return np.busday_offset(days, n, roll=roll, busdaycal=self.busdays)

    def count(self, first: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """School days in [first, stop)."""
        return np.busday_count(first, stop, busdaycal=self.busdays)


def _span(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def _days_in(rows: Iterable[TermRow]) -> set[dt.date]:
    out: set[dt.date] = set()
    for r in rows:
        out.update(_span(r.start, r.end))
    return out


def to_days(values: np.ndarray) -> np.ndarray:
    """datetime64 of any unit -> datetime64[D] (NaT stays NaT)."""
    return np.asarray(values).astype("datetime64[D]")


def last_friday_in_june(year: int) -> dt.date:
    day = dt.date(year, 6, 30)
    return day - dt.timedelta(days=(day.weekday() - 4) % 7)
