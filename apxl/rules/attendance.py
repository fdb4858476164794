"""The attendance rules (rules.md AT001 to AT004): a row on Attendance for every school week of an active
placement, sessions attended only when expected and confirmed by the provider, and the attendance rate
over the last 4 recorded weeks.

No Attendance sheet means no AT finding (WB008 says which checks were skipped). A Week commencing that
is not a Monday is taken as the week it falls in. A row whose week or counts could not be read is never
taken as "no attendance": AT001 and AT003 say nothing for its placement until it is fixed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..dates import academic_year
from ..findings import Finding
from . import rule
from .base import at, calendar, days, fmt_day, numbers, plural, spans, texts, usable
from .visits import day_number_text, day_text, id_codes, listed

if TYPE_CHECKING:
    from ..engine import Context

LIST_WEEKS_AT_MOST = 12
MONDAY = 4                       # 1970-01-05, day 4 of the epoch, was a Monday
ROUNDING = 1e-9
_EPOCH = dt.date(1970, 1, 1)                  # attended / expected exactly at the threshold is not below it


def week_of(day: np.ndarray) -> np.ndarray:
    """The number of the Monday-to-Sunday week each date falls in."""
    return np.floor_divide(np.asarray(day, dtype="datetime64[D]").astype(np.int64) - MONDAY, 7)


def monday_of(week: np.ndarray) -> np.ndarray:
    return (np.asarray(week, dtype=np.int64) * 7 + MONDAY).astype("datetime64[D]")


def _has(table, *fields: str) -> bool:
    return table is not None and all(table.has(f) for f in fields)


# --- AT001 ------------------------------------------------------------------------------------

@rule("AT001")
def weeks_without_attendance(ctx: Context) -> Iterator[Finding]:
    """An active placement with school weeks since its start that have no Attendance row."""
    attendance, placements, sp = ctx.tables.get("Attendance"), ctx.tables.get("Placements"), spans(ctx)
    if sp is None or not _has(attendance, "Placement ID", "Week commencing") or not _has(placements, "Placement ID"):
        return
    as_of = np.datetime64(ctx.as_of, "D")
    # the last week wholly before the as-at date: its Friday is before it
    last_week = int(week_of(as_of)) - (0 if ctx.as_of.weekday() >= 5 else 1)
    (pcode, acode), n = id_codes(texts(placements, "Placement ID"), texts(attendance, "Placement ID"))
    week = days(attendance, "Week commencing")
    # a row of the placement whose week could not be read might be any week: say nothing for it
    unreadable = np.zeros(n + 1, dtype=bool)
    unreadable[acode[(acode >= 0) & np.isnat(week)]] = True
    first = np.where(sp.known, week_of(np.where(sp.known, sp.start, as_of)), last_week + 1)
    candidates = np.flatnonzero(sp.active_on(as_of) & (pcode >= 0) & ~unreadable[pcode] & (first <= last_week))
    if not candidates.size:
        return

    cal = calendar(ctx)
    w0 = int(first[candidates].min())
    span = last_week - w0 + 1
    mondays = monday_of(np.arange(w0, last_week + 1))
    school_week = cal.count(mondays, mondays + np.timedelta64(5, "D")) > 0
    # every (placement, week) pair from the week of its start to the last week wholly past
    lengths = last_week - first[candidates] + 1
    owner = np.repeat(candidates, lengths)
    offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    w = np.repeat(first[candidates] - w0, lengths) + offset
    needed = school_week[w]
    # the week of the Start date counts only for its school days from the start on
    starts = sp.start[candidates]
    needed[offset == 0] = cal.count(starts, monday_of(first[candidates]) + np.timedelta64(5, "D")) > 0
    keys = pcode[owner] * (span + 1) + w
    rows = (acode >= 0) & ~np.isnat(week)
    aw = week_of(np.where(rows, week, as_of)) - w0
    rows &= (aw >= 0) & (aw < span)
    have = np.unique(acode[rows] * (span + 1) + aw[rows])
    missing = needed & ~np.isin(keys, have)
    if not missing.any():
        return

    owner, w = owner[missing], w[missing]
    cuts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]).tolist()
    labels = {int(k): day_text(mondays[k]) for k in np.unique(w)}
    missing_weeks = w.tolist()
    owners = owner[cuts].tolist()
    start_days = sp.start[owners].astype(np.int64).tolist()
    caveats: dict[int, str] = {}
    ay_now = academic_year(ctx.as_of)
    for i, start_day, a, b in zip(owners, start_days, cuts, cuts[1:] + [len(missing_weeks)], strict=True):
        weeks = missing_weeks[a:b]
        start = _EPOCH + dt.timedelta(days=start_day)
        ay = academic_year(start)
        if ay not in caveats:
            caveats[ay] = cal.caveat(*[dt.date(y, 9, 1) for y in range(ay, ay_now + 1)], start, ctx.as_of)
        shown = [labels[k] for k in weeks[:LIST_WEEKS_AT_MOST]]
        more = len(weeks) - len(shown)
        listing = (listed(shown) if not more
                   else ", ".join(shown) + f" and {more} more, the last on {labels[weeks[-1]]}")
        yield at("AT001", placements, i, "Placement ID", value=str(len(weeks)), placement=_placement(placements, i),
                 start=day_number_text(start_day), count=plural(len(weeks), "school week"),
                 weeks=("week commencing " if len(weeks) == 1 else "weeks commencing ") + listing,
                 caveat=caveats[ay])


def _placement(placements, i: int) -> str:
    return placements.record(int(i)) or f"the placement on row {placements.location(int(i))[2]}"


# --- AT002, AT004 -----------------------------------------------------------------------------

def _counts(attendance) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    week = days(attendance, "Week commencing") if attendance.has("Week commencing") else None
    if week is None:
        week = np.full(len(attendance), np.datetime64("NaT", "D"))
    return (week, *(numbers(attendance, f) if attendance.has(f) else np.full(len(attendance), np.nan)
                    for f in ("Sessions expected", "Sessions attended", "Sessions confirmed")))


def _row_words(attendance, i: int, week: np.ndarray) -> dict[str, str]:
    when = f"the week commencing {fmt_day(week[i])}" if not np.isnat(week[i]) else "this week"
    return {"placement": attendance.record(int(i)) or "this placement", "week": when}


@rule("AT002")
def attended_but_not_confirmed(ctx: Context) -> Iterator[Finding]:
    """More sessions attended than the provider confirmed."""
    attendance = ctx.tables.get("Attendance")
    if attendance is None:
        return
    week, _, attended, confirmed = _counts(attendance)
    for i in np.flatnonzero(attended > confirmed):
        yield at("AT002", attendance, i, "Sessions attended", attended=f"{attended[i]:g}",
                 confirmed=f"{confirmed[i]:g}", unconfirmed=plural(int(attended[i] - confirmed[i]), "session"),
                 **_row_words(attendance, i, week))


@rule("AT004")
def attended_more_than_expected(ctx: Context) -> Iterator[Finding]:
    """More sessions attended than expected."""
    attendance = ctx.tables.get("Attendance")
    if attendance is None:
        return
    week, expected, attended, _ = _counts(attendance)
    for i in np.flatnonzero(attended > expected):
        yield at("AT004", attendance, i, "Sessions attended", attended=f"{attended[i]:g}",
                 expected=f"{expected[i]:g}", **_row_words(attendance, i, week))


# --- AT003 ------------------------------------------------------------------------------------

@rule("AT003")
def low_attendance(ctx: Context) -> Iterator[Finding]:
    """Over the last 4 recorded weeks of a placement, attended / expected below the threshold."""
    attendance = ctx.tables.get("Attendance")
    threshold = ctx.policy.get("attendance_threshold")
    if threshold is None or not _has(attendance, "Placement ID", "Week commencing", "Sessions expected",
                                     "Sessions attended"):
        return
    threshold = float(threshold)
    as_of = np.datetime64(ctx.as_of, "D")
    (code,), n = id_codes(texts(attendance, "Placement ID"))
    week, expected, attended, _ = _counts(attendance)
    # the weeks recorded so far; a row whose week cannot be read blocks its placement (it may be recent)
    blocked = np.zeros(n + 1, dtype=bool)
    blocked[code[(code >= 0) & np.isnat(week)]] = True
    rows = np.flatnonzero((code >= 0) & ~np.isnat(week) & (week <= as_of))
    if not rows.size:
        return
    wk = week_of(week[rows])
    # by placement, latest week first, and within a week the lowest row on the sheet first
    order = rows[np.lexsort((-rows, -wk, code[rows]))]
    wk = week_of(week[order])
    wk_of_row = np.zeros(len(attendance), dtype=np.int64)
    wk_of_row[order] = wk
    c = code[order]
    new_placement = np.r_[True, c[1:] != c[:-1]]
    new_week = new_placement | np.r_[True, wk[1:] != wk[:-1]]
    counted = np.cumsum(new_week)
    rank = counted - np.maximum.accumulate(np.where(new_placement, counted, 0)) + 1
    last4 = order[rank <= 4]
    c4 = code[last4]
    readable = usable(attendance, "Sessions expected")[last4] & usable(attendance, "Sessions attended")[last4]
    blocked[c4[~readable]] = True
    exp_sum = np.bincount(c4, weights=np.nan_to_num(expected[last4]), minlength=n)
    att_sum = np.bincount(c4, weights=np.nan_to_num(attended[last4]), minlength=n)
    four = rank <= 4
    n_weeks = np.bincount(c[four & new_week], minlength=n)
    earliest_week = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest_week, c[four], wk[four])
    latest = order[new_placement]                      # the latest row of each placement
    k = code[latest]
    rate = att_sum[k] / np.where(exp_sum[k] > 0, exp_sum[k], 1)
    fire = ~blocked[k] & (exp_sum[k] > 0) & (rate < threshold - ROUNDING)
    limit = f"{threshold * 100:g}%"
    for i, kk, r in zip(latest[fire].tolist(), k[fire].tolist(), rate[fire].tolist(), strict=True):
        shown = f"{math.floor(r * 1000) / 10:g}%"
        yield at("AT003", attendance, i, "Sessions attended", value=shown, placement=attendance.record(i),
                 weeks=plural(int(n_weeks[kk]), "recorded week"),
                 first=day_number_text(int(earliest_week[kk]) * 7 + MONDAY), last=day_number_text(int(wk_of_row[i]) * 7 + MONDAY),
                 attended=f"{att_sum[kk]:g}", expected=f"{exp_sum[kk]:g}", rate=shown, threshold=limit)
