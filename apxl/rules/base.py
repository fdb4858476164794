"""What the rules share: typed columns, placement date spans, the provider of each placement, the
school calendar and compulsory school age, each computed once per validation and cached on the context.

Every helper is vectorised (numpy arrays over the rows of a table); a rule loops only over the rows
that make findings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalogue import finding
from ..cells import shown
from ..dates import SchoolCalendar, TermRow, academic_year, last_friday_in_june
from ..findings import Finding
from ..layout import Table

if TYPE_CHECKING:
    from ..engine import Context

NAT = np.datetime64("NaT", "D")
DAY = np.timedelta64(1, "D")


def cached(owner: Any, key: str, make):
    """`make()`, worked out once per validation context (or table) and kept on it."""
    store = owner.__dict__.setdefault("_cache", {})
    if key not in store:
        store[key] = make()
    return store[key]


# --- small tables: plain Python where pandas' fixed cost per call would dominate -------------------
#
# Each helper gives exactly what its pandas spelling gives, for object columns of text and None (what
# `texts` returns); callers keep the pandas spelling for long columns and for anything else.

FEW = 1024            # up to this many values


def texts_only(values: Any) -> bool:
    """Every value is text or None (the columns the plain-Python paths are for)."""
    return all(v is None or type(v) is str for v in values)


def few_texts(*columns: Any) -> bool:
    return sum(len(c) for c in columns) <= FEW and all(texts_only(c) for c in columns)


def map_to_float(values: Any, mapping: dict[str, float]) -> np.ndarray:
    """`pd.Series(values, dtype=object).map(mapping).to_numpy(dtype=float, na_value=np.nan)` (text or None)."""
    return np.array([mapping.get(v, np.nan) if v is not None else np.nan for v in values], dtype=float).reshape(len(values))


def factorize(values: Any) -> np.ndarray:
    """`pd.factorize(values)[0]` as int64: codes in order of first appearance, -1 for None (text or None)."""
    codes: dict[str, int] = {}
    return np.array([-1 if v is None else codes.setdefault(v, len(codes)) for v in values],
                    dtype=np.int64).reshape(len(values))


# --- columns ---------------------------------------------------------------------------------

def usable(table: Table, field: str) -> np.ndarray:
    """Rows whose `field` holds a value of its type (not blank, not already reported)."""
    mask = table.usable.get(field)
    return mask if mask is not None else np.zeros(len(table), dtype=bool)


def days(table: Table, field: str) -> np.ndarray:
    """A date column as datetime64[D], NaT where blank or unusable (read only: copy to change it)."""
    return _column(table, "days", field)


def numbers(table: Table, field: str) -> np.ndarray:
    """A number column as float, NaN where blank or unusable (read only: copy to change it)."""
    return _column(table, "numbers", field)


def texts(table: Table, field: str) -> np.ndarray:
    """A text/code column as objects, None where blank or unusable (read only: copy to change it)."""
    return _column(table, "texts", field)


def _column(table: Table, kind: str, field: str) -> np.ndarray:
    """A typed column, read only, so no rule can change what the others see. A small table keeps it for the
    validation: the rules ask for the same few columns a hundred times, and on a small return the copying
    and masking cost more than the rules' own work (a large table's memory counts for more)."""
    if len(table) > KEEP_TYPED_ROWS:
        return _typed(table, kind, field)
    return cached(table, f"{kind}:{field}", lambda: _typed(table, kind, field))


KEEP_TYPED_ROWS = 4096     # tables up to this many rows keep their typed columns for the validation

# kind -> (what an absent or unusable cell holds, the column's dtype)
_TYPED = {"days": (NAT, "datetime64[D]"), "numbers": (np.nan, float), "texts": (None, object)}


def _typed(table: Table, kind: str, field: str) -> np.ndarray:
    missing, dtype = _TYPED[kind]
    parsed = table.parsed.get(field)
    if parsed is None:
        out = np.full(len(table), missing, dtype=dtype)
    else:
        out = np.array(parsed.values, dtype=dtype)          # a copy, in the column's type
        out[~usable(table, field)] = missing
    out.setflags(write=False)
    return out


def raw_text(table: Table, i: int, field: str) -> str:
    raw = table.raw.get(field)
    return "" if raw is None else shown(raw[i])


def at(code: str, table: Table, i: int, field: str | None, *, state: str | None = None,
       value: str | None = None, record: str | None = None, **params: Any) -> Finding:
    """A finding of rule `code` at row i's `field` cell (value: the cell as shown, unless given)."""
    sheet, cell, row = table.location(int(i), field)
    if value is None:
        value = raw_text(table, int(i), field) if field else None
    return finding(code, state=state, sheet=sheet, cell=cell, row=row, column=field,
                   record=record if record is not None else table.record(int(i)), value=value, **params)


def fmt_day(day: Any) -> str:
    """A date as a school office writes it: 14/09/2026 (fast for numpy dates: findings format many)."""
    if day is None:
        return ""
    if isinstance(day, np.datetime64):
        text = str(day.astype("datetime64[D]"))
        return "" if text == "NaT" else f"{text[8:10]}/{text[5:7]}/{text[:4]}"
    return day.strftime("%d/%m/%Y")


def add_months(day: np.ndarray, months: int) -> np.ndarray:
    """Each date plus whole calendar months (31 January + 1 month is 28 or 29 February). No NaT."""
    month = day.astype("datetime64[M]")
    into = day - month.astype("datetime64[D]")
    target = month + months
    last = (target + 1).astype("datetime64[D]") - DAY
    return np.minimum(target.astype("datetime64[D]") + into, last)


def plural(n: int, one: str, many: str | None = None) -> str:
    """"1 session", "3 sessions" (`many` where the plural is not one + "s")."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def fmt_hours(value: float) -> str:
    return f"{value:g}"


# --- placements ------------------------------------------------------------------------------

@dataclass
class Spans:
    """Each placement's first and last day (Actual end date, else Planned end date)."""

    start: np.ndarray          # datetime64[D], NaT when unknown
    end: np.ndarray            # datetime64[D], NaT when unknown
    known: np.ndarray          # both dates usable and end >= start

    def active_on(self, day: dt.date | np.datetime64) -> np.ndarray:
        d = np.datetime64(day, "D")
        return self.known & (self.start <= d) & (d <= self.end)

    def planned(self, as_of: dt.date) -> np.ndarray:
        return self.known & (self.start > np.datetime64(as_of, "D"))

    def active_or_planned(self, as_of: dt.date) -> np.ndarray:
        return self.known & (self.end >= np.datetime64(as_of, "D"))


def spans(ctx: Context) -> Spans | None:
    table = ctx.tables.get("Placements")
    if table is None:
        return None

    def make() -> Spans:
        start = days(table, "Start date")
        planned = days(table, "Planned end date")
        actual = days(table, "Actual end date")
        actual_failed = ~usable(table, "Actual end date") & ~blank(table, "Actual end date")
        end = np.where(np.isnat(actual), planned, actual)
        known = ~np.isnat(start) & ~np.isnat(end) & ~actual_failed
        known &= np.where(known, end >= start, False)
        return Spans(start=start, end=end, known=known)

    return cached(ctx, "spans", make)


def blank(table: Table, field: str) -> np.ndarray:
    """Rows whose `field` cell is empty (all rows when the column is absent)."""
    parsed = table.parsed.get(field)
    return parsed.blank if parsed is not None else np.ones(len(table), dtype=bool)


def provider_rows(ctx: Context) -> np.ndarray | None:
    """For each placement, the row of its provider on Providers (-1 when not found or unusable)."""
    placements, providers = ctx.tables.get("Placements"), ctx.tables.get("Providers")
    if placements is None or providers is None:
        return None

    def make() -> np.ndarray:
        ids = texts(providers, "Provider ID")
        index: dict[str, int] = {}
        for i, pid in enumerate(ids.tolist()):
            if pid is not None:
                index.setdefault(str(pid).strip().lower(), i)
        wanted = texts(placements, "Provider ID")
        return np.array([index.get(str(p).strip().lower(), -1) if p is not None else -1 for p in wanted.tolist()],
                        dtype=np.int64)

    return cached(ctx, "provider_rows", make)


# --- calendar and ages -----------------------------------------------------------------------

def calendar(ctx: Context) -> SchoolCalendar:
    """The school calendar: Term dates sheet, else the policy's terms, else weekdays; less bank holidays."""

    def make() -> SchoolCalendar:
        rows: list[TermRow] = []
        terms = ctx.tables.get("Term dates")
        if terms is not None:
            starts, ends, kinds = days(terms, "From"), days(terms, "To"), texts(terms, "Kind")
            for a, b, k in zip(starts, ends, kinds):
                if not np.isnat(a) and not np.isnat(b) and b >= a and k in ("Term", "Closed"):
                    rows.append(TermRow(a.item(), b.item(), k))
        policy_terms: dict[int, list[TermRow]] = {}
        for label, entries in (ctx.policy.get("terms") or {}).items():
            year = int(str(label)[:4])
            policy_terms[year] = [TermRow(_as_date(e["from"]), _as_date(e["to"]), e.get("kind", "Term"))
                                  for e in entries or ()]
        years = [ctx.as_of.year]
        sp = spans(ctx)
        if sp is not None and sp.known.any():
            years += [int(str(sp.start[sp.known].min())[:4]), int(str(sp.end[sp.known].max())[:4])]
        first, last = min(years) - 1, max(years) + 1
        return _school_calendar(tuple(rows), tuple((y, tuple(r)) for y, r in policy_terms.items()),
                                max(first, 1990), min(last, 2100))

    return cached(ctx, "calendar", make)


@lru_cache(maxsize=64)
def _school_calendar(rows: tuple[TermRow, ...], policy_terms: tuple[tuple[int, tuple[TermRow, ...]], ...],
                     first_year: int, last_year: int) -> SchoolCalendar:
    """One calendar per distinct set of terms and years, shared by the validations that have them (the
    rules only read it): a partnership's returns mostly share the policy's terms."""
    return SchoolCalendar(term_rows=list(rows), policy_terms={y: list(r) for y, r in policy_terms},
                          first_year=first_year, last_year=last_year)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def csa_bounds(ctx: Context) -> tuple[np.ndarray, np.ndarray] | None:
    """Each pupil's first and last day of compulsory school age (NaT when the date of birth is unusable)."""
    table = ctx.tables.get("Placements")
    if table is None:
        return None

    def make() -> tuple[np.ndarray, np.ndarray]:
        dob = days(table, "Date of birth")
        ok = ~np.isnat(dob)
        first = np.full(dob.size, NAT)
        last = np.full(dob.size, NAT)
        if ok.any():
            born = dob[ok]
            month_start = born.astype("datetime64[M]")
            years = born.astype("datetime64[Y]").astype(np.int64) + 1970
            months = month_start.astype(np.int64) % 12 + 1
            # the 5th birthday (29 February -> 1 March in a common year), then the first prescribed day
            # (31 March, 31 August, 31 December) on or after it
            fifth = (month_start + np.timedelta64(60, "M")).astype("datetime64[D]") + (born - month_start.astype("datetime64[D]"))
            year_start = fifth.astype("datetime64[Y]").astype("datetime64[M]")
            candidates = np.stack([(year_start + np.timedelta64(k, "M")).astype("datetime64[D]") - DAY
                                   for k in (3, 8, 12, 15)])          # 31/3, 31/8, 31/12, 31/3 next year
            candidates = np.where(candidates >= fifth, candidates, np.datetime64("9999-12-31"))
            first[ok] = candidates.min(axis=0)
            # the last Friday in June of the school year in which the pupil turns 16
            leave_year = np.where(months >= 9, years, years - 1) + 17
            unique = np.unique(leave_year)
            fridays = np.array([np.datetime64(last_friday_in_june(int(y))) for y in unique], dtype="datetime64[D]")
            last[ok] = fridays[np.searchsorted(unique, leave_year)]
        return first, last

    return cached(ctx, "csa", make)


def of_compulsory_age(ctx: Context, on: np.ndarray) -> np.ndarray:
    """Per placement: is the pupil of compulsory school age on the given date(s)? False when unknown."""
    bounds = csa_bounds(ctx)
    if bounds is None:
        return np.zeros(0, dtype=bool)
    first, last = bounds
    on = np.asarray(on, dtype="datetime64[D]")
    return ~np.isnat(first) & ~np.isnat(on) & (first <= on) & (on <= last)


def academic_year_of(day: dt.date) -> int:
    return academic_year(day)
