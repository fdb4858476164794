"""The placements rules (rules.md). One pure function per rule, registered with @rule(CODE).

Every rule works on whole columns (numpy); a Python loop runs only over the rows that make findings.
No cascades: a value that failed a cell rule is never used, a placement whose dates are unknown is left
out, an unknown Provider ID is PL006 only and a malformed UPN is PL001 only.

Helpers of this module that other families may want too (kept here, not in base.py):
`match_ids` (rows of one sheet named by the IDs of another), `timetable_summary` (per placement:
sessions covered, days at the provider, Timetable hours at the provider) and `provider_values`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..dates import academic_year
from ..findings import Finding
from ..layout import Table
from ..pupils import UPN_LETTERS, upn_problem
from . import rule
from .base import (
    at,
    blank,
    cached,
    calendar,
    csa_bounds,
    days,
    factorize,
    few_texts,
    fmt_day,
    fmt_hours,
    map_to_float,
    numbers,
    of_compulsory_age,
    provider_rows,
    spans,
    texts,
    usable,
)

if TYPE_CHECKING:
    from ..engine import Context

DAY = np.timedelta64(1, "D")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
MORNING_BEFORE = 12 * 60        # a session starting before 12:00 covers the morning
AFTERNOON_AFTER = 13 * 60       # a session ending after 13:00 covers the afternoon
_POPCOUNT = np.array([bin(i).count("1") for i in range(1024)], dtype=np.int64)
REGISTRATION_WORDS = {"Registered school": "a registered school", "FE college": "an FE college",
                      "Unregistered": "an unregistered provider"}


# --- helpers ---------------------------------------------------------------------------------

def _placements(ctx: Context) -> Table | None:
    return ctx.tables.get("Placements")


def match_ids(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each value of `wanted`, the row of `ids` holding the same ID (the first such row), else -1.

    IDs are compared as typed first (they are trimmed already), then, for the few that miss, ignoring
    case, as provider_rows does.
    """
    if len(ids) + len(wanted) <= _FEW and _texts_only(ids) and _texts_only(wanted):
        return _match_few(ids, wanted)
    out = np.full(len(wanted), -1, dtype=np.int64)
    known = pd.Series(ids, dtype=object)
    first = (known.notna() & ~known.duplicated()).to_numpy()
    rows = np.flatnonzero(first)
    if rows.size == 0 or len(wanted) == 0:
        return out
    pos = pd.Index(np.asarray(ids, dtype=object)[first]).get_indexer(np.asarray(wanted, dtype=object))
    out[pos >= 0] = rows[pos[pos >= 0]]
    miss = np.flatnonzero((pos < 0) & pd.Series(wanted, dtype=object).notna().to_numpy())
    if miss.size:
        lower = known.str.lower()
        first = (lower.notna() & ~lower.duplicated()).to_numpy()
        rows = np.flatnonzero(first)
        pos = pd.Index(lower[first].to_numpy()).get_indexer(
            pd.Series(np.asarray(wanted, dtype=object)[miss], dtype=object).str.lower().to_numpy())
        out[miss[pos >= 0]] = rows[pos[pos >= 0]]
    return out


_FEW = 1024          # up to this many values, dicts and sets beat pandas' fixed cost per call


def _texts_only(values) -> bool:
    return all(v is None or type(v) is str for v in values)


def _match_few(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """`match_ids` for a few text IDs (None where unusable), by dicts: the same answer."""
    exact: dict[str, int] = {}
    for r, v in enumerate(ids):
        if v is not None and v not in exact:
            exact[v] = r
    lower: dict[str, int] | None = None
    out = np.full(len(wanted), -1, dtype=np.int64)
    for k, w in enumerate(wanted):
        if w is None:
            continue
        r = exact.get(w, -1)
        if r < 0 and exact:
            if lower is None:
                lower = {}
                for j, v in enumerate(ids):
                    if v is not None and v.lower() not in lower:
                        lower[v.lower()] = j
            r = lower.get(w.lower(), -1)
        out[k] = r
    return out


def provider_values(ctx: Context, field: str) -> np.ndarray:
    """Per placement, `field` of its provider on Providers (None when the provider or the value is unknown)."""
    placements, providers = ctx.tables.get("Placements"), ctx.tables.get("Providers")
    n = len(placements) if placements is not None else 0
    rows = provider_rows(ctx)
    out = np.full(n, None, dtype=object)
    if rows is None or providers is None or len(providers) == 0:
        return out
    values = texts(providers, field)
    known = rows >= 0
    out[known] = values[rows[known]]
    return out


def _upn_lookup() -> np.ndarray:
    lut = np.full(256, -1, dtype=np.int64)
    lut[48:58] = np.arange(10)
    for k, ch in enumerate(UPN_LETTERS):
        lut[ord(ch)] = k
    return lut


_UPN_VALUE = _upn_lookup()
_UPN_FORM = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]")
_UPN_LETTER_CODES = np.frombuffer(UPN_LETTERS.encode("ascii"), dtype=np.uint8)


@dataclass
class UpnState:
    given: np.ndarray          # a usable UPN was typed
    valid: np.ndarray          # ... and it is a valid UPN (permanent or temporary)
    temporary: np.ndarray      # ... valid and temporary (ends in a letter)
    key: np.ndarray            # the UPN upper-cased, for matching (None where not valid)


def upn_state(ctx: Context) -> UpnState | None:
    """Each placement's UPN checked in bulk (weights 2 to 13 on characters 2 to 13, mod 23)."""
    table = _placements(ctx)
    if table is None:
        return None

    def make() -> UpnState:
        n = len(table)
        values = texts(table, "UPN")
        given = usable(table, "UPN").copy()
        valid = np.zeros(n, dtype=bool)
        temporary = np.zeros(n, dtype=bool)
        key = np.full(n, None, dtype=object)
        rows = np.flatnonzero(given)
        if rows.size:
            if few_texts(values[rows]):
                text = np.array([v.strip().upper() for v in values[rows].tolist()] + [None], dtype=object)[:-1]
                form = np.array([_UPN_FORM.fullmatch(v) is not None for v in text.tolist()], dtype=bool).reshape(text.size)
            else:
                text = pd.Series(values[rows], dtype=object).astype(str).str.strip().str.upper()
                form = text.str.fullmatch(_UPN_FORM.pattern).fillna(False).to_numpy(dtype=bool)
            if form.any():
                upns = text[form] if isinstance(text, np.ndarray) else text[form].to_numpy(dtype=object)
                codes = np.frombuffer("".join(upns).encode("ascii"), dtype=np.uint8).reshape(-1, 13)
                value = _UPN_VALUE[codes]
                total = (value[:, 1:13] * np.arange(2, 14)).sum(axis=1)
                good = (value[:, 12] >= 0) & (codes[:, 0] == _UPN_LETTER_CODES[total % 23])
                hit = rows[form][good]
                valid[hit] = True
                temporary[hit] = codes[good, 12] >= 65
                key[hit] = upns[good]
        return UpnState(given=given, valid=valid, temporary=temporary, key=key)

    return cached(ctx, "pl_upn", make)


@dataclass
class TimetableSummary:
    has_rows: np.ndarray       # the placement has Timetable rows
    unknown: np.ndarray        # ... and one of them has an unusable Day, Location or time (not judged)
    covered: np.ndarray        # bit mask of the 10 weekly sessions covered by School, AP or Other
    ap_days: np.ndarray        # bit mask of the weekdays with an AP session
    ap_hours: np.ndarray       # hours a week at the provider (AP sessions)


def timetable_summary(ctx: Context) -> TimetableSummary | None:
    """Per placement, what its Timetable rows give (None when there is no Timetable sheet)."""
    table, timetable = _placements(ctx), ctx.tables.get("Timetable")
    if table is None or timetable is None:
        return None

    def make() -> TimetableSummary:
        n = len(table)
        idx = match_ids(texts(table, "Placement ID"), texts(timetable, "Placement ID"))
        mine = idx >= 0
        day_text, weekday = texts(timetable, "Day"), {d: i for i, d in enumerate(WEEKDAYS)}
        day = (map_to_float(day_text, weekday) if few_texts(day_text) else
               pd.Series(day_text, dtype=object).map(weekday).to_numpy(dtype=float, na_value=np.nan))
        where = texts(timetable, "Location")
        start, end = numbers(timetable, "Start time"), numbers(timetable, "End time")
        good = mine & ~np.isnan(day) & usable(timetable, "Location") & ~np.isnan(start) & ~np.isnan(end)
        has_rows = np.zeros(n, dtype=bool)
        has_rows[idx[mine]] = True
        unknown = np.zeros(n, dtype=bool)
        unknown[idx[mine & ~good]] = True
        d = np.where(good, day, 0).astype(np.int64)
        educated = good & isin(where, ("School", "AP", "Other"))
        bits = (np.where(start < MORNING_BEFORE, 1 << (2 * d), 0) | np.where(end > AFTERNOON_AFTER, 1 << (2 * d + 1), 0))
        covered = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(covered, idx[educated], bits[educated])
        ap = good & (where == "AP")
        ap_days = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(ap_days, idx[ap], (1 << d)[ap])
        ap_hours = np.zeros(n, dtype=float)
        np.add.at(ap_hours, idx[ap], np.maximum(end - start, 0)[ap] / 60)
        return TimetableSummary(has_rows=has_rows, unknown=unknown, covered=covered, ap_days=ap_days,
                                ap_hours=ap_hours)

    return cached(ctx, "pl_timetable", make)


def isin(values: np.ndarray, options: tuple[str, ...]) -> np.ndarray:
    """values in options, for object columns that hold None."""
    if len(values) <= _FEW and _texts_only(values):
        wanted = set(options)
        return np.array([v is not None and v in wanted for v in values], dtype=bool).reshape(len(values))
    return pd.Series(values, dtype=object).isin(options).to_numpy(dtype=bool)


day_text = fmt_day       # the name the PL and PR rules use


def _as_of(ctx: Context) -> np.datetime64:
    return np.datetime64(ctx.as_of, "D")


def _date(day: np.datetime64) -> dt.date:
    return day.astype("datetime64[D]").item()


def _year_words(nc: int) -> str:
    if nc == 0:
        return "Reception"
    if nc < 0:
        return "nursery (below Reception)"
    return f"Year {nc}"


# --- PL001, PL002: the UPN -------------------------------------------------------------------

@rule("PL001")
def upn_not_valid(ctx: Context) -> Iterator[Finding]:
    table, state = _placements(ctx), upn_state(ctx)
    if table is None or state is None:
        return
    values = texts(table, "UPN")
    for i in np.flatnonzero(state.given & ~state.valid):
        text = str(values[i])
        problem = upn_problem(text) or "its check letter does not match its digits"
        yield at("PL001", table, i, "UPN", shown=text, problem=problem)


@rule("PL002")
def upn_temporary(ctx: Context) -> Iterator[Finding]:
    table, state = _placements(ctx), upn_state(ctx)
    if table is None or state is None:
        return
    values = texts(table, "UPN")
    for i in np.flatnonzero(state.temporary):
        text = str(values[i]).strip()
        yield at("PL002", table, i, "UPN", shown=text, letter=text[-1:].upper())


# --- PL003: end before start -----------------------------------------------------------------

@rule("PL003")
def ends_before_start(ctx: Context) -> Iterator[Finding]:
    table = _placements(ctx)
    if table is None:
        return
    start = days(table, "Start date")
    for field in ("Planned end date", "Actual end date"):
        end = days(table, field)
        bad = ~np.isnat(start) & ~np.isnat(end)
        bad[bad] = end[bad] < start[bad]
        for i in np.flatnonzero(bad):
            yield at("PL003", table, i, field, end=day_text(end[i]), start=day_text(start[i]))


# --- PL004, PL005: year group and age --------------------------------------------------------

_NC_NUMBER = {"R": 0, **{str(k): k for k in range(1, 15)}}


@rule("PL004")
def nc_year_mismatch(ctx: Context) -> Iterator[Finding]:
    table, sp = _placements(ctx), spans(ctx)
    if table is None or sp is None:
        return
    dob = days(table, "Date of birth")
    nc_text = texts(table, "NC year")
    nc = (map_to_float(nc_text, _NC_NUMBER) if few_texts(nc_text) else
          pd.Series(nc_text, dtype=object).map(_NC_NUMBER).to_numpy(dtype=float, na_value=np.nan))
    check = sp.active_or_planned(ctx.as_of) & ~np.isnat(dob) & ~np.isnan(nc)
    if not check.any():
        return
    year = ctx.as_of.year if ctx.as_of.month >= 9 else ctx.as_of.year - 1
    births = dob[check]
    birth_year = births.astype("datetime64[Y]").astype(np.int64) + 1970
    birth_month = births.astype("datetime64[M]").astype(np.int64) % 12 + 1
    expected = np.zeros(len(table), dtype=np.int64)
    expected[check] = year - np.where(birth_month >= 9, birth_year, birth_year - 1) - 5
    wrong = check.copy()
    wrong[check] = expected[check] != nc[check]
    shown = texts(table, "NC year")
    as_of = day_text(ctx.as_of)
    label = f"{year}/{(year + 1) % 100:02d}"
    for i in np.flatnonzero(wrong):
        yield at("PL004", table, i, "NC year", shown=shown[i], dob=day_text(dob[i]),
                 expected=_year_words(int(expected[i])), year=label, as_of=as_of)


@rule("PL005")
def not_compulsory_age(ctx: Context) -> Iterator[Finding]:
    table, bounds = _placements(ctx), csa_bounds(ctx)
    if table is None or bounds is None:
        return
    first, last = bounds
    start = days(table, "Start date")
    known = ~np.isnat(first) & ~np.isnat(start)
    outside = known & ~of_compulsory_age(ctx, start)
    dob = days(table, "Date of birth")
    for i in np.flatnonzero(outside):
        if start[i] > last[i]:
            why = (f"compulsory school age ended on {day_text(last[i])}, the last Friday in June of the school "
                   "year in which the pupil turned 16")
        else:
            why = f"compulsory school age starts on {day_text(first[i])}"
        yield at("PL005", table, i, "Date of birth", dob=day_text(dob[i]), start=day_text(start[i]), why=why)


# --- PL006: unknown provider ------------------------------------------------------------------

@rule("PL006")
def provider_not_found(ctx: Context) -> Iterator[Finding]:
    table, rows = _placements(ctx), provider_rows(ctx)
    if table is None or rows is None:
        return
    ids = texts(table, "Provider ID")
    missing = (rows < 0) & usable(table, "Provider ID")
    if ctx.directory_ids:           # nor in the provider directory given (rules.md)
        missing &= np.array([str(p).strip().lower() not in ctx.directory_ids for p in ids.tolist()], dtype=bool)
    for i in np.flatnonzero(missing):
        yield at("PL006", table, i, "Provider ID", shown=ids[i])


# --- PL007: Status against the dates ----------------------------------------------------------

@rule("PL007")
def status_disagrees(ctx: Context) -> Iterator[Finding]:
    table = _placements(ctx)
    if table is None:
        return
    today = _as_of(ctx)
    status = texts(table, "Status")
    start, planned, actual = days(table, "Start date"), days(table, "Planned end date"), days(table, "Actual end date")
    actual_blank = _blank(table, "Actual end date")
    # an end date before the Start date is PL003 only: it says nothing about the Status
    planned_ok = ~np.isnat(planned) & (np.isnat(start) | (planned >= start))
    actual_ok = ~np.isnat(actual) & (np.isnat(start) | (actual >= start))
    has_start = ~np.isnat(start)
    is_planned, is_active, is_ended = status == "Planned", status == "Active", status == "Ended"
    cases = [
        ((is_planned | is_active) & actual_ok & (actual <= today), "ended"),
        (is_planned & has_start & (start <= today), "started"),
        (is_active & has_start & (start > today), "not_started"),
        (is_active & actual_blank & planned_ok & (planned < today), "overdue"),
        (is_ended & actual_blank, "no_end"),
        (is_ended & actual_ok & (actual > today), "ends_later"),
    ]
    reason = np.full(len(table), "", dtype=object)
    for mask, name in reversed(cases):
        reason[mask] = name
    as_of = day_text(ctx.as_of)
    for i in np.flatnonzero(reason != ""):
        seen, fix = _status_words(str(reason[i]), start[i], planned[i], actual[i])
        yield at("PL007", table, i, "Status", shown=status[i], seen=seen, fix=fix, as_of=as_of)


def _status_words(reason: str, start, planned, actual) -> tuple[str, str]:
    if reason == "ended":
        return (f"the Actual end date {day_text(actual)} is on or before the as-at date, so the placement has ended",
                "Change Status to Ended, or clear the Actual end date if the placement has not ended.")
    if reason == "started":
        return (f"the Start date {day_text(start)} is on or before the as-at date, so the placement has started",
                "Change Status to Active (or to Ended, with the Actual end date, if it has finished), "
                "or correct the Start date.")
    if reason == "not_started":
        return (f"the Start date {day_text(start)} is after the as-at date, so the placement has not started yet",
                "Change Status to Planned, or correct the Start date.")
    if reason == "overdue":
        return (f"its Planned end date {day_text(planned)} has passed and there is no Actual end date",
                "If the placement has ended, enter the Actual end date and change Status to Ended; "
                "if it goes on, move the Planned end date on.")
    if reason == "no_end":
        return ("there is no Actual end date",
                "Enter the date the placement ended in Actual end date, or change Status if it has not ended.")
    return (f"the Actual end date {day_text(actual)} is after the as-at date, so the placement has not ended yet",
            "Change Status to Active, or correct the Actual end date.")


# --- PL008: part-time with no end in sight ----------------------------------------------------

@rule("PL008")
def part_time_open_ended(ctx: Context) -> Iterator[Finding]:
    table, sp = _placements(ctx), spans(ctx)
    if table is None or sp is None:
        return
    today = _as_of(ctx)
    until = days(table, "Part-time until")
    until_given = usable(table, "Part-time until")
    until_failed = ~until_given & ~_blank(table, "Part-time until")
    open_ended = ~until_failed & (~until_given | (until < today))
    live = sp.active_or_planned(ctx.as_of) & open_ended
    if not live.any():
        return
    tt = timetable_summary(ctx)
    by_timetable = tt.has_rows if tt is not None else np.zeros(len(table), dtype=bool)
    short_tt = np.zeros(len(table), dtype=bool)
    if tt is not None:
        short_tt = tt.has_rows & ~tt.unknown & (_POPCOUNT[tt.covered] < 10)
    ap, school = numbers(table, "AP hours per week"), numbers(table, "School hours per week")
    full_week = float(ctx.policy.get("part_time_hours"))
    total = ap + school
    short_typed = ~by_timetable & ~np.isnan(total)
    short_typed[short_typed] = total[short_typed] < full_week
    fire = live & (short_tt | short_typed)
    for i in np.flatnonzero(fire):
        if short_tt[i]:
            got = int(_POPCOUNT[tt.covered[i]])
            seen = (f"The Timetable covers {got} of the 10 weekly sessions (no School, AP or Other session on "
                    f"{_missing_sessions(int(tt.covered[i]))})")
            value = str(got)
        else:
            seen = (f"AP hours {fmt_hours(ap[i])} + School hours {fmt_hours(school[i])} = {fmt_hours(total[i])} hours "
                    f"a week, less than the {fmt_hours(full_week)} hours of a full week of 10 sessions")
            value = fmt_hours(total[i])
        gone = "there is no Part-time until date" if not until_given[i] else \
            f"its Part-time until date {day_text(until[i])} has passed"
        yield at("PL008", table, i, "School hours per week", value=value, seen=seen, until=gone)


def _missing_sessions(covered: int) -> str:
    names = []
    for d, day in enumerate(WEEKDAYS):
        for half, part in ((0, "morning"), (1, "afternoon")):
            if not covered & (1 << (2 * d + half)):
                names.append(f"{day} {part}")
    return ", ".join(names)


_blank = blank


# --- PL009: the attendance code ----------------------------------------------------------------

@rule("PL009")
def attendance_code_misfit(ctx: Context) -> Iterator[Finding]:
    table = _placements(ctx)
    if table is None:
        return
    code, basis = texts(table, "Attendance code"), texts(table, "Placement basis")
    registration = provider_values(ctx, "Registration")
    la = basis == "LA arranged"
    k_not_la = (code == "K") & usable(table, "Placement basis") & ~la
    la_not_k = la & isin(code, ("B", "D"))
    d_not_school = (code == "D") & isin(registration, ("FE college", "Unregistered"))
    names = provider_values(ctx, "Provider name")
    for i in np.flatnonzero(k_not_la | la_not_k | d_not_school):
        if k_not_la[i]:
            seen = (f"the placement basis is {basis[i]}: code K is only for provision the local authority arranges")
            fix = ("Use B for a placement the school arranged (D if the pupil is dual registered at another "
                   "registered school), or correct the basis if the LA arranged it.")
        elif la_not_k[i]:
            seen = "the placement basis is LA arranged: provision the local authority arranges is recorded with code K"
            fix = "Use K, or correct the basis if the school arranged the placement."
        else:
            seen = (f"{names[i] or 'the provider'} is {REGISTRATION_WORDS[registration[i]]}, not a registered school: "
                    "code D (dual registration) is only for a pupil also on the roll of another school")
            fix = "Use B for a placement the school arranged."
        yield at("PL009", table, i, "Attendance code", shown=code[i], seen=seen, fix=fix)


# --- PL010: the next review -----------------------------------------------------------------

@rule("PL010")
def review_date(ctx: Context) -> Iterator[Finding]:
    table, sp = _placements(ctx), spans(ctx)
    if table is None or sp is None:
        return
    today = _as_of(ctx)
    n = len(table)
    nxt = days(table, "Next review date")
    check = sp.active_or_planned(ctx.as_of) & ~np.isnat(nxt)
    past = check.copy()
    past[check] = nxt[check] < today
    late = np.zeros(n, dtype=bool)
    last = sp.start.copy()
    from_visit = np.zeros(n, dtype=bool)
    limit = np.full(n, np.datetime64("NaT", "D"))
    interval = int(ctx.policy.get("review_interval_school_weeks")) * 5
    visits = ctx.tables.get("Visits")
    if visits is not None:
        idx = match_ids(texts(table, "Placement ID"), texts(visits, "Placement ID"))
        kind, when = texts(visits, "Visit type"), days(visits, "Visit date")
        mine = idx >= 0
        review = mine & (kind == "Review meeting")
        unknown = np.zeros(n, dtype=bool)
        unknown[idx[mine & (~usable(visits, "Visit type") | (review & np.isnat(when)))]] = True
        dated = review & ~np.isnat(when)
        latest = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(latest, idx[dated], when[dated].astype(np.int64))
        from_visit = latest > np.where(np.isnat(last), np.iinfo(np.int64).min, last.astype(np.int64))
        last[from_visit] = latest[from_visit].astype("datetime64[D]")
        late = check & ~past & ~unknown & ~np.isnat(last)
        if late.any():
            cal = calendar(ctx)
            limit[late] = cal.add(last[late], interval)
            late[late] = nxt[late] > limit[late]
    as_of = day_text(ctx.as_of)
    weeks = ctx.policy.get("review_interval_school_weeks")
    caveats: dict[tuple[int, int], str] = {}
    for i in np.flatnonzero(past | late):
        if past[i]:
            seen = f"that is before the as-at date {as_of}, so the review is overdue or its date was not updated"
            fix, caveat = "Hold the review, record it on Visits as a Review meeting, and enter the date of the next one.", ""
        else:
            since = (f"the Review meeting on {day_text(last[i])} (Visits)" if from_visit[i]
                     else f"the Start date {day_text(last[i])} (no Review meeting on Visits yet)")
            due = day_text(limit[i])
            seen = (f"more than {weeks} school weeks ({interval} school days) after the last review, {since}, "
                    f"which makes the review due by {due}")
            if limit[i] < today:
                fix = (f"The review is overdue: hold it now, record it on Visits as a Review meeting, and set the "
                       f"Next review date at most {weeks} school weeks after it.")
            else:
                fix = f"Review the placement by {due} and move the Next review date to that date or earlier."
            first, then = _date(last[i]), _date(limit[i])
            key = (academic_year(first), academic_year(then))
            if key not in caveats:
                caveats[key] = calendar(ctx).caveat(first, then)
            caveat = caveats[key]
        yield at("PL010", table, i, "Next review date", next=day_text(nxt[i]), seen=seen, fix=fix, caveat=caveat)


# --- PL011: the proposed time limits (off unless the policy sets them) -------------------------

@rule("PL011")
def time_limits(ctx: Context) -> Iterator[Finding]:
    table, sp = _placements(ctx), spans(ctx)
    max_weeks, max_days = ctx.policy.get("max_placement_weeks"), ctx.policy.get("max_part_time_days")
    if table is None or sp is None or (max_weeks is None and max_days is None):
        return
    n = len(table)
    unregistered = provider_values(ctx, "Registration") == "Unregistered"
    live = sp.active_or_planned(ctx.as_of) & unregistered
    if not live.any():
        return
    full_time = float(ctx.policy.law["full_time_hours"])
    tt = timetable_summary(ctx)
    hours = numbers(table, "AP hours per week")
    by_timetable = np.zeros(n, dtype=bool)
    if tt is not None:
        by_timetable = tt.has_rows & ~tt.unknown
        hours = np.where(tt.has_rows, np.where(tt.unknown, np.nan, tt.ap_hours), hours)
    known = ~np.isnan(hours)
    full = known & (hours > full_time)
    start, planned = days(table, "Start date"), days(table, "Planned end date")
    length = np.zeros(n, dtype=np.int64)
    dated = ~np.isnat(start) & ~np.isnat(planned)
    length[dated] = (planned[dated] - start[dated]).astype(np.int64) + 1
    too_long = np.zeros(n, dtype=bool)
    if max_weeks is not None:
        too_long = live & full & dated & (length > float(max_weeks) * 7)
    too_many = np.zeros(n, dtype=bool)
    if max_days is not None and tt is not None:
        too_many = live & known & ~full & by_timetable & (_POPCOUNT[tt.ap_days] > int(max_days))
    names = provider_values(ctx, "Provider name")
    for i in np.flatnonzero(too_long | too_many):
        name = names[i] or "the provider"
        if too_long[i]:
            weeks = length[i] / 7
            shown = f"{weeks:.0f}" if weeks.is_integer() else f"{weeks:.1f}"
            by = start[i] + int(round(float(max_weeks) * 7)) * DAY - DAY
            seen = (f"This full-time placement ({fmt_hours(hours[i])} hours a week at {name}, an unregistered provider) "
                    f"is planned from {day_text(start[i])} to {day_text(planned[i])}: {shown} weeks, longer than the "
                    f"{fmt_hours(float(max_weeks))} weeks the partnership's policy allows a full-time placement at an "
                    "unregistered provider.")
            fix = (f"Plan it to end by {day_text(by)}, reduce the hours at the provider to {fmt_hours(full_time)} or "
                   "fewer a week, or move the pupil to a registered setting.")
            value = shown
        else:
            got = int(_POPCOUNT[tt.ap_days[i]])
            on = ", ".join(d for k, d in enumerate(WEEKDAYS) if tt.ap_days[i] & (1 << k))
            seen = (f"This part-time placement at {name}, an unregistered provider, has sessions there on {got} days a "
                    f"week ({on}), more than the {max_days} days the partnership's policy allows a part-time "
                    "placement at an unregistered provider.")
            fix = f"Reduce the days at the provider to {max_days} or fewer, with the rest of the week at school."
            value = str(got)
        yield at("PL011", table, i, "Planned end date", value=value, seen=seen, fix=fix)


# --- PL012: overlapping placements of one pupil ------------------------------------------------

@rule("PL012")
def overlapping_placements(ctx: Context) -> Iterator[Finding]:
    """Two placements of one UPN overlap: they share a day, unless one ends on the day the other starts.

    Placements i and j overlap when s_j < e_i and s_i < e_j. For each placement the number of others
    it overlaps is counted with two binary searches per UPN group (O(n log n), whatever the data), and
    only the placements that overlap something are looked at one by one, to name the others.
    """
    table, sp, state = _placements(ctx), spans(ctx), upn_state(ctx)
    if table is None or sp is None or state is None:
        return
    rows = np.flatnonzero(state.valid & sp.known)
    if rows.size < 2:
        return
    keys = state.key[rows]
    group = factorize(keys) if few_texts(keys) else pd.factorize(pd.Series(keys, dtype=object))[0].astype(np.int64)
    base = sp.start[rows].astype(np.int64).min() - 1
    start = sp.start[rows].astype(np.int64) - base            # 1 ... span, small positive integers
    end = sp.end[rows].astype(np.int64) - base
    order = np.lexsort((start, group))
    g, s, e, r = group[order], start[order], end[order], rows[order]
    wide = np.int64(1) << 32
    starts_key = g * wide + s                                   # sorted
    ends_key = np.sort(g * wide + e)
    first = np.searchsorted(starts_key, g * wide, "left")       # where each group begins
    began_before_my_end = np.searchsorted(starts_key, g * wide + e, "left") - first     # s_j < e_i
    ended_by_my_start = np.searchsorted(ends_key, g * wide + s, "right") - first        # e_j <= s_i
    one_day = s == e
    # per placement, how many one-day placements of its group start on its start day
    _, at_day = np.unique(g * wide + s, return_inverse=True)
    same_day = np.bincount(at_day.reshape(-1), weights=one_day, minlength=1).astype(np.int64)[at_day.reshape(-1)]
    count = began_before_my_end - (ended_by_my_start - np.where(one_day, same_day, 0)) - (s < e)
    upns = texts(table, "UPN")
    for k in np.flatnonzero(count > 0):
        i = int(r[k])
        others = [int(r[j]) for j in _overlapping(k, g, s, e, limit=NAMED_OVERLAPS)]
        named = [f"placement {table.record(j) or 'on row ' + str(table.location(j)[2])} "
                 f"({day_text(sp.start[j])} to {day_text(sp.end[j])})" for j in others]
        more = int(count[k]) - len(named)
        text = "; ".join(named) + (f"; and {more} more placement{'s' if more != 1 else ''}" if more > 0 else "")
        yield at("PL012", table, i, "UPN", upn=str(upns[i]).strip(), others=text,
                 start=day_text(sp.start[i]), end=day_text(sp.end[i]))


NAMED_OVERLAPS = 5


def _overlapping(k: int, g: np.ndarray, s: np.ndarray, e: np.ndarray, limit: int) -> list[int]:
    """Up to `limit` positions (in the sorted order) of placements that overlap position k."""
    found: list[int] = []
    j = k - 1
    while j >= 0 and g[j] == g[k] and len(found) < limit:       # earlier starts: overlap if they end after s_k
        if e[j] > s[k] and s[j] < e[k]:
            found.append(j)
        j -= 1
    j = k + 1
    while j < g.size and g[j] == g[k] and s[j] < e[k] and len(found) < limit:
        if s[k] < e[j]:
            found.append(j)
        j += 1
    return sorted(found)
