"""The hours rules (rules.md "HR: hours and the registration test"). One pure function per rule.

HR rules concern placements at Unregistered providers (not registered schools, not FE colleges) of
pupils of compulsory school age (from the date of birth). Hours are the Timetable's where a placement
has Timetable rows (AP sessions at the provider, School sessions at school), else the typed hours.

HR002 to HR004 sweep each provider's full-time placements over time: every placement is an interval
of days [first, stop) with a +1 event at `first` and a -1 event at `stop`; sorting the events of all
providers (provider, day, -1 before +1) and taking one cumulative sum gives the number of full-time
pupils there at once after each event (each provider's events sum to 0, so one cumsum serves them all).
A placement's last day is `stop - 1` except where it is also another's first day (a same-day move is
not an overlap, rules.md); a pupil's days stop after the last Friday in June of the year they turn 16.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..findings import Finding
from . import rule
from .base import (
    at,
    cached,
    csa_bounds,
    few_texts,
    fmt_day,
    fmt_hours,
    numbers,
    of_compulsory_age,
    provider_rows,
    spans,
    texts,
)

if TYPE_CHECKING:
    from ..engine import Context
    from ..layout import Table

DAY = np.timedelta64(1, "D")
SHOWN = 12                     # placements named in one message before "and N more"
DIFFERENCE = 0.5               # HR005: hours the Timetable and Placements may differ by
DAY_NAMES = {"Mon": "Monday", "Tue": "Tuesday", "Wed": "Wednesday", "Thu": "Thursday", "Fri": "Friday"}
LAW = {
    "esa2008": "Education Act 1996 s.463; Education and Skills Act 2008 s.92",
    "cwsa2026": "Education and Skills Act 2008 s.92 as replaced by the Children's Wellbeing and Schools Act 2026 s.43",
}


# --- what the HR rules share (computed once per validation, cached on the context) --------------------

@dataclass
class Scope:
    """Per placement: the provider, whether it is Unregistered, and its name for messages."""

    provider: np.ndarray        # row on Providers, -1 when unknown
    unregistered: np.ndarray    # bool
    name: np.ndarray            # object: the provider's name (else its ID)


def _scope(ctx: Context) -> Scope | None:
    placements, providers = ctx.tables.get("Placements"), ctx.tables.get("Providers")
    prow = provider_rows(ctx)
    if placements is None or providers is None or prow is None:
        return None

    def make() -> Scope:
        registration = texts(providers, "Registration")
        names = texts(providers, "Provider name")
        ids = texts(providers, "Provider ID")
        names = np.where(pd.isna(names), ids, names)
        known = prow >= 0
        safe = np.where(known, prow, 0)
        unregistered = known & (registration[safe] == "Unregistered") if len(providers) else np.zeros(len(prow), bool)
        name = names[safe] if len(providers) else np.full(len(prow), None, dtype=object)
        return Scope(provider=prow, unregistered=np.asarray(unregistered, dtype=bool), name=name)

    return cached(ctx, "hr_scope", make)


@dataclass
class Hours:
    """Per placement: the hours the HR rules use, and the Timetable's own figures."""

    ap: np.ndarray              # hours a week at the provider (Timetable, else typed); NaN when unknown
    school: np.ndarray          # hours a week at school, likewise
    timetabled: np.ndarray      # the placement has Timetable rows
    owner: np.ndarray           # per Timetable row: its placement's row, -1 when none matches
    session: np.ndarray         # per Timetable row: day, location and both times usable, end after start


def _hours(ctx: Context) -> Hours | None:
    placements = ctx.tables.get("Placements")
    if placements is None:
        return None

    def make() -> Hours:
        n = len(placements)
        typed_ap, typed_school = numbers(placements, "AP hours per week"), numbers(placements, "School hours per week")
        timetable = ctx.tables.get("Timetable")
        if timetable is None or len(timetable) == 0:
            return Hours(typed_ap, typed_school, np.zeros(n, bool), np.zeros(0, np.int64), np.zeros(0, bool))
        owner = _match(texts(placements, "Placement ID"), texts(timetable, "Placement ID"))
        start, end = numbers(timetable, "Start time"), numbers(timetable, "End time")
        where, day = texts(timetable, "Location"), texts(timetable, "Day")
        session = (owner >= 0) & ~pd.isna(day) & ~pd.isna(where) & ~np.isnan(start) & ~np.isnan(end)
        session &= np.where(session, end > start, False)
        minutes = np.where(session, end - start, 0.0)
        mine = owner >= 0
        rows = np.bincount(owner[mine], minlength=n)
        unusable = np.bincount(owner[mine & ~session], minlength=n)
        timetabled = rows > 0
        known = timetabled & (unusable == 0)      # no cascades: a session that failed leaves the sum unknown
        tt_ap = np.bincount(owner[session & (where == "AP")], weights=minutes[session & (where == "AP")], minlength=n) / 60
        tt_school = np.bincount(owner[session & (where == "School")], weights=minutes[session & (where == "School")],
                                minlength=n) / 60
        ap = np.where(timetabled, np.where(known, tt_ap, np.nan), typed_ap)
        school = np.where(timetabled, np.where(known, tt_school, np.nan), typed_school)
        return Hours(ap, school, timetabled, owner, session)

    return cached(ctx, "hr_hours", make)


def _match(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of `wanted`, the row of the first equal ID in `ids` (trimmed, any case), else -1."""
    if few_texts(ids, wanted):
        return _match_few(ids, wanted)
    have = pd.Series(ids, dtype=object)
    have = have[have.notna() & ~have.duplicated()]
    if not len(have) or not len(wanted):
        return np.full(len(wanted), -1, dtype=np.int64)
    hit = pd.Index(have.to_numpy()).get_indexer(np.asarray(wanted, dtype=object))
    out = np.where(hit >= 0, have.index.to_numpy()[np.maximum(hit, 0)], -1).astype(np.int64)
    missed = np.flatnonzero((out < 0) & ~pd.isna(wanted))
    if missed.size:                                 # what does not match as typed: trimmed, any case
        keys = have.astype(str).str.strip().str.lower()
        keys = keys[~keys.duplicated()]
        wanted_keys = pd.Series(np.asarray(wanted, dtype=object)[missed]).astype(str).str.strip().str.lower()
        hit = pd.Index(keys.to_numpy()).get_indexer(wanted_keys.to_numpy())
        out[missed] = np.where(hit >= 0, keys.index.to_numpy()[np.maximum(hit, 0)], -1)
    return out


def _match_few(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """`_match` by dicts, for a few IDs of text or None: the same answer."""
    exact: dict[str, int] = {}
    for r, v in enumerate(ids.tolist()):
        if v is not None and v not in exact:
            exact[v] = r
    out = np.full(len(wanted), -1, dtype=np.int64)
    if not exact:
        return out
    loose: dict[str, int] | None = None
    for k, w in enumerate(wanted.tolist()):
        if w is None:
            continue
        r = exact.get(w, -1)
        if r < 0:
            if loose is None:
                loose = {}
                for v, row in exact.items():
                    loose.setdefault(v.strip().lower(), row)
            r = loose.get(w.strip().lower(), -1)
        out[k] = r
    return out


def _limit(ctx: Context) -> float:
    """Full-time means more than this many hours a week: the registration-law pack's, else the policy's."""
    return float(ctx.policy.law["full_time_hours"])


def _vulnerable_sen(ctx: Context) -> list[str]:
    """The SEN statuses that make one full-time pupil enough (E under esa2008; K and E under cwsa2026)."""
    return list(ctx.policy.law["vulnerable_sen"])


def _law(ctx: Context) -> str:
    return str(ctx.policy.get("registration_law") or "esa2008")


def _who(ctx: Context) -> str:
    return "looked after or with special educational needs" if "K" in _vulnerable_sen(ctx) \
        else "looked after or with an EHC plan"


def _common(ctx: Context) -> dict[str, str]:
    vulnerable = int(ctx.policy.get("registration_vulnerable_count", 1))
    return {"limit": fmt_hours(_limit(ctx)), "count": str(int(ctx.policy.get("registration_pupil_count", 5))),
            "vulnerable_count": str(vulnerable), "who": _who(ctx),
            "vulnerable_pupils": f"{vulnerable} pupil{'' if vulnerable == 1 else 's'}"}


def _judged_now(ctx: Context) -> np.ndarray:
    """HR001 and HR008: unregistered provider, active or planned on the as-at date, compulsory school age then
    (on the Start date for a planned placement)."""
    sp, scope = spans(ctx), _scope(ctx)
    if sp is None or scope is None:
        return np.zeros(0, dtype=bool)
    today = np.datetime64(ctx.as_of, "D")
    judge = np.where(sp.start > today, sp.start, today)
    return scope.unregistered & sp.active_or_planned(ctx.as_of) & of_compulsory_age(ctx, judge)


def _in_scope(ctx: Context) -> np.ndarray:
    """HR005 to HR007: unregistered provider, and the pupil of compulsory school age on some day of the placement."""
    sp, scope, bounds = spans(ctx), _scope(ctx), csa_bounds(ctx)
    if sp is None or scope is None or bounds is None:
        return np.zeros(0, dtype=bool)
    first, last = bounds
    ok = sp.known & ~np.isnat(first)
    return scope.unregistered & ok & np.where(ok, (first <= sp.end) & (sp.start <= last), False)


def _record(table: Table, i: int) -> str:
    rec = table.record(int(i))
    return str(rec) if rec is not None else f"row {table.location(int(i))[2]}"


def _names(records: list[str]) -> str:
    if not records:
        return "no other placement"
    if len(records) <= SHOWN:
        return ", ".join(records)
    return f"{', '.join(records[:SHOWN])} and {len(records) - SHOWN} more"


def _hours_from(hours: Hours, i: int) -> str:
    return " (from the Timetable)" if hours.timetabled[i] else ""


def _hours_value(hours: Hours, i: int) -> str | None:
    """The value of a finding at AP hours per week: the Timetable's figure, else the cell as shown."""
    return fmt_hours(round(float(hours.ap[i]), 2)) if hours.timetabled[i] else None


# --- the sweep ----------------------------------------------------------------------------------------

@dataclass
class Sweep:
    """Full-time placements of compulsory-age pupils at unregistered providers, as day intervals [first, stop)."""

    rows: np.ndarray            # placement rows taking part
    group: np.ndarray           # their provider row
    first: np.ndarray           # int days since 1970, inclusive
    stop: np.ndarray            # int days, exclusive


def _candidates(ctx: Context) -> Sweep | None:
    """Every full-time placement at an unregistered provider, on the days from 1 September of the as-at date's
    academic year on when its pupil is of compulsory school age."""
    sp, scope, hours, bounds = spans(ctx), _scope(ctx), _hours(ctx), csa_bounds(ctx)
    if sp is None or scope is None or hours is None or bounds is None:
        return None

    def make() -> Sweep:
        csa_first, csa_last = bounds
        full_time = np.where(np.isnan(hours.ap), False, hours.ap > _limit(ctx))
        year = ctx.as_of.year if ctx.as_of.month >= 9 else ctx.as_of.year - 1
        window = np.datetime64(dt.date(year, 9, 1), "D")
        pick = scope.unregistered & sp.known & full_time & ~np.isnat(csa_first)
        rows = np.flatnonzero(pick)
        start, end = sp.start[rows], sp.end[rows]
        stop = np.where(end > start, end, start + DAY)                   # a one-day placement counts on its day
        first = np.maximum(np.maximum(start, window), csa_first[rows])
        stop = np.minimum(stop, csa_last[rows] + DAY)                    # counts on the last Friday in June, not after
        keep = first < stop
        rows = rows[keep]
        return Sweep(rows=rows, group=scope.provider[rows], first=first[keep].astype(np.int64),
                     stop=stop[keep].astype(np.int64))

    return cached(ctx, "hr_sweep", make)


def _events(group: np.ndarray, first: np.ndarray, stop: np.ndarray):
    """Sorted events (provider, day; -1 before +1 on a day) and the number at once after each."""
    n = group.size
    g = np.concatenate([group, group]).astype(np.int64)
    t = np.concatenate([first, stop]).astype(np.int64)
    up = np.r_[np.ones(n, np.int64), np.zeros(n, np.int64)]
    base, span = int(t.min()), int(t.max() - t.min()) + 1
    order = np.argsort((g * span + (t - base)) * 2 + up)               # one int64 key: provider, day, -1 first
    g, t, up = g[order], t[order], up[order]
    return g, t, np.cumsum(2 * up - 1)


def _peaks(sweep: Sweep):
    """Per provider the peak number at once and the first day of it; per placement of the sweep whether it is
    there on that day. Returns (groups, peak, day, member)."""
    group, first, stop = sweep.group, sweep.first, sweep.stop
    if group.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    g, t, level = _events(group, first, stop)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    peak = np.maximum.reduceat(level, starts)
    groups = g[starts]
    at_peak = np.flatnonzero(level == np.repeat(peak, np.diff(np.r_[starts, g.size])))
    hit = g[at_peak]                                                 # sorted: the first time per provider
    day = t[at_peak[np.r_[True, hit[1:] != hit[:-1]]]]
    k = np.searchsorted(groups, group)
    member = (first <= day[k]) & (day[k] < stop)
    return groups, peak, day, member


def _day(days: int) -> str:
    return fmt_day(np.datetime64(int(days), "D"))


def _by_provider(groups: np.ndarray) -> dict[int, np.ndarray]:
    """Positions of each provider's entries in `groups`."""
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1]]) if groups.size else np.zeros(0, int)
    parts = np.split(order, bounds[1:])
    return {int(groups[p[0]]): p for p in parts if p.size}


# --- the rules ----------------------------------------------------------------------------------------

@rule("HR001")
def full_time_at_unregistered(ctx: Context) -> list[Finding]:
    table, hours, scope = ctx.tables.get("Placements"), _hours(ctx), _scope(ctx)
    if table is None or hours is None or scope is None:
        return []
    limit = _limit(ctx)
    fire = _judged_now(ctx) & np.where(np.isnan(hours.ap), False, hours.ap > limit)
    common = _common(ctx)
    return [at("HR001", table, i, "AP hours per week", value=_hours_value(hours, i),
               hours=fmt_hours(round(float(hours.ap[i]), 2)), provider=scope.name[i],
               hours_from=_hours_from(hours, i), record=_record(table, i), **common)
            for i in np.flatnonzero(fire)]


@rule("HR002")
def vulnerable_full_time_pupil(ctx: Context) -> list[Finding]:
    table, sweep, scope, hours = ctx.tables.get("Placements"), _candidates(ctx), _scope(ctx), _hours(ctx)
    if table is None or sweep is None or scope is None or hours is None or sweep.rows.size == 0:
        return []
    looked_after = texts(table, "Looked after")[sweep.rows] == "Yes"
    sen = texts(table, "SEN status")[sweep.rows]
    needs = np.isin(sen, _vulnerable_sen(ctx))
    vulnerable = np.flatnonzero(looked_after | needs)
    if vulnerable.size == 0:
        return []
    group, first, stop = sweep.group[vulnerable], sweep.first[vulnerable], sweep.stop[vulnerable]
    ok, when = _first_breach(group, first, stop, int(ctx.policy.get("registration_vulnerable_count", 1)))
    why = _why(ctx, looked_after[vulnerable], sen[vulnerable])
    rows = sweep.rows[vulnerable]
    common = _common(ctx)
    law = LAW.get(_law(ctx), LAW["esa2008"])
    per_provider = _by_provider(group)
    out = []
    for j in np.flatnonzero(ok):
        i = int(rows[j])
        mates = per_provider[int(group[j])]
        mates = mates[(first[mates] <= when[j]) & (when[j] < stop[mates]) & (mates != j)]
        record = _record(table, i)
        hrs = fmt_hours(round(float(hours.ap[i]), 2))
        what = f"{record} is a full-time pupil of compulsory school age ({hrs} hours a week) who {why[j]}"
        if mates.size:
            others = _names([_record(table, int(rows[m])) for m in mates])
            what += f", and so {'is' if mates.size == 1 else 'are'} {others}"
        out.append(at("HR002", table, i, "AP hours per week", value=_hours_value(hours, i), record=record,
                      provider=scope.name[i], date=_day(when[j]), what=what, law=law, **common))
    return out


def _first_breach(group: np.ndarray, first: np.ndarray, stop: np.ndarray, limit: int):
    """Per placement [first, stop) at provider `group`: is it there on a day its provider has `limit` or more at
    once, and the first such day. Returns (ok, day)."""
    if group.size == 0:
        return np.zeros(0, bool), first
    g, t, level = _events(group, first, stop)
    # the stretches of days [seg_from, seg_to) on which a provider has `limit` or more at once
    nxt = np.r_[t[1:], t[-1]]
    same = np.r_[g[1:] == g[:-1], False]
    breach = same & (level >= max(limit, 1)) & (nxt > t)
    seg_g, seg_from, seg_to = g[breach], t[breach], nxt[breach]
    if seg_g.size == 0:
        return np.zeros(group.size, bool), first
    # the stretches are sorted by (provider, day) and do not overlap: one searchsorted over (provider, day)
    # keys finds each placement's first stretch ending after its first day
    base = int(min(first.min(), seg_from.min()))
    span = int(max(stop.max(), seg_to.max())) - base + 2
    k = np.searchsorted(seg_g * span + (seg_to - base), group * span + (first - base), side="right")
    ok = k < seg_g.size
    k = np.where(ok, k, 0)
    ok &= (seg_g[k] == group) & (seg_from[k] < stop)
    return ok, np.maximum(first, seg_from[k])


def _why(ctx: Context, looked_after: np.ndarray, sen: np.ndarray) -> list[str]:
    out = []
    for lac, s in zip(looked_after.tolist(), sen.tolist()):
        parts = ["is looked after"] if lac else []
        if s == "E":
            parts.append("has an EHC plan")
        elif s == "K" and "K" in _vulnerable_sen(ctx):
            parts.append("has special educational needs (SEN support)")
        out.append(" and ".join(parts))
    return out


def _registration_count(ctx: Context, code: str) -> list[Finding]:
    """HR003 (peak >= registration_pupil_count) and HR004 (peak == that count - 1)."""
    table, sweep, scope, hours = ctx.tables.get("Placements"), _candidates(ctx), _scope(ctx), _hours(ctx)
    if table is None or sweep is None or scope is None or hours is None or sweep.rows.size == 0:
        return []
    count = int(ctx.policy.get("registration_pupil_count", 5))
    groups, peak, day, member = _peaks(sweep)
    firing = peak >= count if code == "HR003" else (peak == count - 1) & (peak >= 1)
    k = np.searchsorted(groups, sweep.group)
    chosen = np.flatnonzero(member & firing[k])
    if chosen.size == 0:
        return []
    common = _common(ctx)
    records = {int(j): _record(table, int(sweep.rows[j])) for j in chosen}
    per_provider = _by_provider(sweep.group[chosen])
    out = []
    for g, positions in per_provider.items():
        at_once = chosen[positions]
        gi = int(np.searchsorted(groups, g))
        names = [records[int(j)] for j in at_once]
        for n, j in enumerate(at_once):
            i = int(sweep.rows[j])
            out.append(at(code, table, i, "AP hours per week", value=str(int(peak[gi])), record=names[n],
                          provider=scope.name[i], peak=str(int(peak[gi])), date=_day(day[gi]),
                          others=_names(names[:n] + names[n + 1:]), **common))
    return out


@rule("HR003")
def registration_pupil_count(ctx: Context) -> list[Finding]:
    return _registration_count(ctx, "HR003")


@rule("HR004")
def one_short_of_registration(ctx: Context) -> list[Finding]:
    return _registration_count(ctx, "HR004")


@rule("HR005")
def timetable_differs(ctx: Context) -> list[Finding]:
    table, hours = ctx.tables.get("Placements"), _hours(ctx)
    if table is None or hours is None or not hours.timetabled.any():
        return []
    scope = _in_scope(ctx)
    if scope.size != len(table):
        return []
    out = []
    for fname, figure, where in (("AP hours per week", hours.ap, "at the provider"),
                                 ("School hours per week", hours.school, "at school")):
        typed = numbers(table, fname)
        gap = np.abs(figure - typed)
        fire = scope & hours.timetabled & np.where(np.isnan(gap), False, gap > DIFFERENCE + 1e-9)
        for i in np.flatnonzero(fire):
            out.append(at("HR005", table, i, fname, value=fmt_hours(round(float(figure[i]), 2)),
                          record=_record(table, i), timetable=fmt_hours(round(float(figure[i]), 2)), where=where,
                          typed=fmt_hours(float(typed[i])), diff=fmt_hours(round(float(gap[i]), 2))))
    return out


def _sessions(ctx: Context):
    """The usable Timetable sessions of placements in scope: (table, rows, owner, day, location, start, end)."""
    timetable, hours = ctx.tables.get("Timetable"), _hours(ctx)
    if timetable is None or hours is None or hours.owner.size == 0:
        return None
    scope = _in_scope(ctx)
    if scope.size == 0:
        return None
    owner = hours.owner
    rows = np.flatnonzero(hours.session & scope[np.maximum(owner, 0)] & (owner >= 0))
    return (timetable, rows, owner[rows], texts(timetable, "Day")[rows], texts(timetable, "Location")[rows],
            numbers(timetable, "Start time")[rows], numbers(timetable, "End time")[rows])


def _hm(minutes: float) -> str:
    m = int(round(float(minutes)))
    return f"{m // 60:02d}:{m % 60:02d}"


_FEW_SESSIONS = 2000     # up to this many sessions a plain loop beats pandas' fixed cost per call


def _overlaps_many(owner, day, begin, finish, n):
    """Each session that starts before the latest end of an earlier session of the same pupil and day
    (sorted by start, end): its position, and that latest end packed with the earlier one's position."""
    frame = pd.DataFrame({"owner": owner, "day": day, "start": begin, "end": finish, "pos": np.arange(n)})
    frame = frame.sort_values(["owner", "day", "start", "end", "pos"], kind="stable")
    frame["packed"] = frame["end"] * n + frame["pos"]
    keys = [frame["owner"], frame["day"]]
    frame["before"] = frame.groupby(keys)["packed"].cummax()
    frame["before"] = frame.groupby(keys)["before"].shift(1)
    seen = frame["before"].notna()
    before = frame["before"].fillna(0).to_numpy(dtype=np.int64)
    hit = seen.to_numpy() & (frame["start"].to_numpy() < before // n)
    return frame["pos"].to_numpy()[hit], before[hit]


def _overlaps_few(owner, day, begin, finish, n):
    """`_overlaps_many` as a loop, the same to the last bit: the sort puts a blank day last (pandas' order),
    a blank day is in no group (groupby drops it), and the running latest end goes through a float as
    pandas' shift turns it into one."""
    packed = (finish * n + np.arange(n)).tolist()
    owners, days_, starts = np.asarray(owner).tolist(), list(day), begin.tolist()
    ends = finish.tolist()
    order = sorted(range(n), key=lambda k: (owners[k], days_[k] is None, "" if days_[k] is None else days_[k],
                                            starts[k], ends[k], k))
    positions, befores = [], []
    group: tuple | None = None
    running = 0
    for k in order:
        if days_[k] is None:
            group = None
            continue
        key = (owners[k], days_[k])
        if key != group:
            group, running = key, packed[k]
            continue
        before = int(np.float64(running))
        if starts[k] < before // n:
            positions.append(k)
            befores.append(before)
        running = max(running, packed[k])
    return np.asarray(positions, dtype=np.int64), np.asarray(befores, dtype=np.int64)


@rule("HR006")
def sessions_overlap(ctx: Context) -> list[Finding]:
    got = _sessions(ctx)
    if got is None or got[1].size == 0:
        return []
    timetable, rows, owner, day, where, start, end = got
    # seconds, so that the latest end before each session and its position pack into one exact integer
    begin, finish = np.round(start * 60).astype(np.int64), np.round(end * 60).astype(np.int64)
    n = rows.size
    few = n <= _FEW_SESSIONS and all(d is None or type(d) is str for d in day.tolist())
    positions, befores = (_overlaps_few if few else _overlaps_many)(owner, day, begin, finish, n)
    out = []
    for pos, packed in zip(positions, befores):
        other = int(packed % n)
        i, o = int(rows[pos]), int(rows[other])
        out.append(at("HR006", timetable, i, "Start time", day=DAY_NAMES.get(str(day[pos]), str(day[pos])),
                      location=str(where[pos]), start=_hm(start[pos]), end=_hm(end[pos]),
                      other_location=str(where[other]), other_start=_hm(start[other]), other_end=_hm(end[other]),
                      other_row=str(timetable.location(o)[2])))
    return out


def _clock(text: str, default: float) -> float:
    try:
        hours, minutes = str(text).split(":")[:2]
        return int(hours) * 60 + int(minutes)
    except (ValueError, TypeError):
        return default


@rule("HR007")
def session_outside_the_day(ctx: Context) -> list[Finding]:
    got = _sessions(ctx)
    if got is None or got[1].size == 0:
        return []
    timetable, rows, owner, day, where, start, end = got
    window = ctx.policy.get("daytime") or ["08:00", "18:00"]
    first, last = _clock(window[0], 8 * 60), _clock(window[1], 18 * 60)
    early, late = start < first, end > last
    out = []
    for j in np.flatnonzero((where == "AP") & (early | late)):
        how = "starts before and ends after" if early[j] and late[j] else "starts before" if early[j] else "ends after"
        out.append(at("HR007", timetable, int(rows[j]), "Start time", day=DAY_NAMES.get(str(day[j]), str(day[j])),
                      start=_hm(start[j]), end=_hm(end[j]), how=how, first=_hm(first), last=_hm(last)))
    return out


@rule("HR008")
def most_education_at_provider(ctx: Context) -> list[Finding]:
    table, hours, scope = ctx.tables.get("Placements"), _hours(ctx), _scope(ctx)
    if table is None or hours is None or scope is None:
        return []
    ap, school = hours.ap, hours.school
    known = ~np.isnan(ap) & ~np.isnan(school)
    most = np.where(known, (ap > 0) & ((ap >= school) | (school == 0)), False)
    fire = _judged_now(ctx) & most
    return [at("HR008", table, i, "AP hours per week", value=_hours_value(hours, i), record=_record(table, i),
               ap=fmt_hours(round(float(ap[i]), 2)), school=fmt_hours(round(float(school[i]), 2)),
               provider=scope.name[i], hours_from=_hours_from(hours, i))
            for i in np.flatnonzero(fire)]
