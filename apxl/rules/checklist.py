"""The checklist rules (rules.md "CL"). One pure function per rule, registered with @rule(CODE).

Each item of the placement checklist is a column on Checklist holding the date it was done (or N/A).
When an item applies and when it is due come from schemas/checklist.yaml (`applies`, `due`); the
functions below turn each key into a vectorised mask or due date over the placements. A Checklist row
is matched to its placement by Placement ID (a single-sheet tracker's checklist is the placements'
own rows). Findings point at the item's cell on that placement's Checklist row.

States (schemas/catalogue/CL.yaml): `due_soon` (missing, due within *checklist notice* school days),
`overdue` (missing, due date passed; a before-day-0 item once the placement has started), `late`
(dated after its due date), `future` (dated after the as-at date: not done yet). CL014 for an
off-site direction is `late_notice` (an error, as CL012's `late`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..findings import Finding
from ..layout import Table
from ..schema import FieldSpec, sheet_schemas
from . import rule
from .base import NAT, at, cached, calendar, days, provider_rows, texts
from .base import fmt_day as _fmt_day

if TYPE_CHECKING:
    from ..engine import Context

DAY = np.timedelta64(1, "D")
OSD, AWP, LAA = "Off-site direction", "Agreed with parent", "LA arranged"
# rules.md CL020: "within 10 school days after the Actual end date" (not a policy parameter yet; a
# policy file's `end_review_school_days` would override it once schemas/policy.yaml names it)
END_REVIEW_SCHOOL_DAYS = 10
fmt_day = lru_cache(maxsize=4096)(_fmt_day)     # a few hundred distinct dates make most messages


@cache
def _items() -> dict[str, FieldSpec]:
    return {f.code: f for f in sheet_schemas()["Checklist"].items if f.code}


# --- what every item rule shares ------------------------------------------------------------

@dataclass
class _Facts:
    """The placements and their Checklist rows, and the placement facts the items look at."""

    placements: Table
    checklist: Table
    row: np.ndarray            # per placement: its Checklist row, -1 when none
    lonely: np.ndarray         # placements with no Checklist row (CL021)
    orphans: np.ndarray        # Checklist rows with no placement (CL021)
    start: np.ndarray          # datetime64[D], NaT when unusable
    planned: np.ndarray
    actual: np.ndarray
    basis: np.ndarray          # object: the code, None when unusable
    sen: np.ndarray
    looked_after: np.ndarray
    registration: np.ndarray   # the provider's Registration, None when unknown
    provider: np.ndarray       # the provider's name, "" when unknown
    first_visit: np.ndarray    # the first Monitoring visit on or before the as-at date, NaT when none


def _norm(values: np.ndarray) -> np.ndarray:
    """IDs as compared: trimmed, case ignored; None where unusable (an object array: no pandas per call)."""
    keyed = [None if v is None else (str(v).strip().casefold() or None) for v in np.asarray(values, dtype=object).tolist()]
    out = np.empty(len(keyed), dtype=object)
    out[:] = keyed
    return out


def _facts(ctx: Context) -> _Facts | None:
    placements, checklist = ctx.tables.get("Placements"), ctx.tables.get("Checklist")
    if placements is None or checklist is None:
        return None
    return cached(ctx, "checklist_facts", lambda: _make_facts(ctx, placements, checklist))


def _make_facts(ctx: Context, placements: Table, checklist: Table) -> _Facts:
    n = len(placements)
    if "Placement ID" in placements.raw:
        pids = _norm(texts(placements, "Placement ID"))
    else:   # a tracker with no Placement ID column: its record is UPN and Start date
        pids = _norm(np.asarray(placements.records if placements.records is not None else [None] * n, dtype=object))
    if checklist.derived_from:   # a single-sheet tracker: the same rows as the placements
        row = np.arange(n, dtype=np.int64)
        lonely = np.zeros(n, dtype=bool)
        orphans = np.zeros(len(checklist), dtype=bool)
    else:
        cids = _norm(texts(checklist, "Placement ID"))
        pair = _pair_few if n + len(checklist) <= _FEW else _pair_many
        row, lonely, orphans = pair(pids, cids)
    start, planned = days(placements, "Start date"), days(placements, "Planned end date")
    actual = days(placements, "Actual end date")
    registration = np.full(n, None, dtype=object)
    provider = np.full(n, "", dtype=object)
    rows = provider_rows(ctx)
    providers = ctx.tables.get("Providers")
    if rows is not None and providers is not None and len(providers):
        found = rows >= 0
        at_row = np.where(found, rows, 0)
        registration = np.where(found, texts(providers, "Registration")[at_row], None)
        names = texts(providers, "Provider name")[at_row]
        provider = np.where(found & (names != None), names, "")  # noqa: E711 - elementwise
    return _Facts(
        placements=placements, checklist=checklist, row=row, lonely=lonely, orphans=orphans,
        start=start, planned=planned, actual=actual,
        basis=texts(placements, "Placement basis"), sen=texts(placements, "SEN status"),
        looked_after=texts(placements, "Looked after"), registration=registration, provider=provider,
        first_visit=_first_monitoring_visits(ctx, pids),
    )


_FEW = 1024          # up to this many rows, dicts beat pandas' fixed cost per call


def _pair_many(pid_values: np.ndarray, cid_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per placement its Checklist row (-1: none), the placements with no row, the rows with no placement."""
    pids, cids = pd.Series(pid_values, dtype=object), pd.Series(cid_values, dtype=object)
    # a repeated Placement ID is CE006; which placement its Checklist row belongs to cannot be told, so no
    # placement with that ID is paired (the CL rules then judge none of them, whatever the rows' order)
    p_first = (pids.notna() & ~pids.duplicated(keep=False)).to_numpy()
    c_first = (cids.notna() & ~cids.duplicated(keep="first")).to_numpy()
    c_rows = np.flatnonzero(c_first)
    pos = pd.Index(cids[c_first].to_numpy(dtype=object)).get_indexer(pids.where(p_first).to_numpy(dtype=object))
    pos = np.where(p_first, pos, -1)
    row = np.where(pos >= 0, c_rows[np.maximum(pos, 0)] if c_rows.size else -1, -1).astype(np.int64)
    lonely = p_first & (pos < 0)
    known = pids[pids.notna()].drop_duplicates()
    back = pd.Index(known.to_numpy(dtype=object)).get_indexer(cids.where(c_first).to_numpy(dtype=object))
    orphans = c_first & (back < 0)
    return row, lonely, orphans


def _pair_few(pids: np.ndarray, cids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_pair_many` by dicts, for a few rows: the same answer."""
    pids, cids = pids.tolist(), cids.tolist()
    c_first: dict[str, int] = {}
    for j, c in enumerate(cids):
        if c is not None and c not in c_first:
            c_first[c] = j
    row = np.full(len(pids), -1, dtype=np.int64)
    lonely = np.zeros(len(pids), dtype=bool)
    seen: set[str] = set()
    repeated = {p for p in pids if p is not None and (p in seen or seen.add(p))}
    seen = set()
    for i, p in enumerate(pids):
        if p is None or p in seen:
            continue
        seen.add(p)
        if p in repeated:
            continue
        j = c_first.get(p, -1)
        row[i] = j
        lonely[i] = j < 0
    orphans = np.zeros(len(cids), dtype=bool)
    for c, j in c_first.items():
        orphans[j] = c not in seen
    return row, lonely, orphans


def _first_monitoring_visits(ctx: Context, pids: np.ndarray) -> np.ndarray:
    """Per placement, its first Monitoring visit on Visits dated on or before the as-at date."""
    out = np.full(len(pids), NAT)
    visits = ctx.tables.get("Visits")
    if visits is None or not len(visits) or "Placement ID" not in visits.raw:
        return out
    when = days(visits, "Visit date")
    ids = _norm(texts(visits, "Placement ID"))
    ok = ((texts(visits, "Visit type") == "Monitoring visit") & ~np.isnat(when)
          & (when <= np.datetime64(ctx.as_of, "D")) & pd.notna(ids))
    if not ok.any():
        return out
    if len(pids) + int(ok.sum()) <= _FEW:      # the earliest visit of each ID, by a dict: as the groupby below
        earliest: dict[str, np.datetime64] = {}
        for key, day in zip(ids[ok].tolist(), when[ok]):
            if key not in earliest or day < earliest[key]:
                earliest[key] = day
        for i, key in enumerate(pids.tolist()):
            if key is not None and key in earliest:
                out[i] = earliest[key]
        return out
    first = pd.Series(when[ok]).groupby(ids[ok]).min()
    hit = pd.Index(first.index).get_indexer(pids)
    values = first.to_numpy().astype("datetime64[D]")
    found = (hit >= 0) & pd.notna(pids)
    out[found] = values[hit[found]]
    return out


# --- when an item applies (checklist.yaml `applies`): a mask of the placements it surely applies to,
# and the words that say why (for the N/A message). Unknown facts (a cell that failed) apply to none.

def _not_la(f: _Facts) -> np.ndarray:
    return (f.basis != None) & (f.basis != LAA)  # noqa: E711 - elementwise


def _audit_covers(ctx: Context, f: _Facts) -> np.ndarray:
    wanted = list(ctx.policy.get("audit_required_for") or [])
    return _not_la(f) & np.isin(f.registration.astype(str), wanted) & (f.registration != None)  # noqa: E711


def _ended(ctx: Context, f: _Facts) -> np.ndarray:
    return ~np.isnat(f.actual) & (f.actual <= np.datetime64(ctx.as_of, "D"))


APPLIES: dict[str, Callable[[Context, _Facts], np.ndarray]] = {
    "always": lambda ctx, f: np.ones(f.row.size, dtype=bool),
    "not_la_arranged": lambda ctx, f: _not_la(f),
    "not_la_arranged_audited": _audit_covers,
    "off_site_direction": lambda ctx, f: f.basis == OSD,
    "agreed_with_parent": lambda ctx, f: f.basis == AWP,
    "ehc_plan_not_la_arranged": lambda ctx, f: _not_la(f) & (f.sen == "E"),
    "looked_after_not_la_arranged": lambda ctx, f: _not_la(f) & (f.looked_after == "Yes"),
    "ended": _ended,
}


def _why_applies(key: str, f: _Facts, i: int) -> str:
    basis = f.basis[i]
    if key == "not_la_arranged":
        return f"the placement basis is {basis}, not LA arranged"
    if key == "not_la_arranged_audited":
        who = f.provider[i] or "the provider"
        return f"the placement basis is {basis} and {who} is {f.registration[i]}, which the LEBC audit covers"
    if key in ("off_site_direction", "agreed_with_parent"):
        return f"the placement basis is {basis}"
    if key == "ehc_plan_not_la_arranged":
        return f"the pupil has an EHC plan (SEN status E) and the basis is {basis}"
    if key == "looked_after_not_la_arranged":
        return f"the pupil is looked after and the basis is {basis}"
    if key == "ended":
        return f"the placement ended on {fmt_day(f.actual[i])}"
    return "it applies to every placement"


# --- when an item is due (checklist.yaml `due`) -----------------------------------------------

@dataclass
class _Due:
    day: np.ndarray            # datetime64[D]: done on or before it is on time; NaT: unknown
    from_start: np.ndarray     # a before-day-0 item: overdue once the placement has started
    counted: np.ndarray        # the due date was counted in school days (the caveat applies)
    strict: np.ndarray         # done late is an error (the off-site direction notice)
    words: Callable[[int], str]   # how the due date was set, for row i


def _school_days(ctx: Context, anchor: np.ndarray, n: int, ok: np.ndarray) -> np.ndarray:
    """The n-th school day after (n > 0) or before (n < 0) each anchor date; NaT where not ok."""
    out = np.full(anchor.size, NAT)
    ok = ok & ~np.isnat(anchor)
    if ok.any():
        out[ok] = calendar(ctx).add(anchor[ok], n) if n else anchor[ok]
    return out


def _before_start(ctx: Context, f: _Facts) -> _Due:
    yes, no = np.ones(f.row.size, dtype=bool), np.zeros(f.row.size, dtype=bool)
    return _Due(f.start, yes, no, no, lambda i: f"on or before the Start date {fmt_day(f.start[i])}")


def _direction_notice(ctx: Context, f: _Facts) -> _Due:
    """Notice with n clear school days (strictly between notice and start): due the day before the n-th
    school day before the start (n = 2, start Monday 14/09/2026: by Wednesday 09/09/2026)."""
    n = int(ctx.policy.get("direction_notice_school_days"))
    ok = ~np.isnat(f.start)
    day = _school_days(ctx, f.start, -n, ok) - DAY if n > 0 else f.start - DAY
    yes, no = np.ones(f.row.size, dtype=bool), np.zeros(f.row.size, dtype=bool)
    return _Due(day, no, yes if n > 0 else no, yes,
                lambda i: f"{_count(n, 'clear school day')} before the Start date {fmt_day(f.start[i])}")


def _before_start_or_direction_notice(ctx: Context, f: _Facts) -> _Due:
    plain, notice = _before_start(ctx, f), _direction_notice(ctx, f)
    osd = f.basis == OSD
    return _Due(np.where(osd, notice.day, plain.day), np.where(osd, notice.from_start, plain.from_start),
                np.where(osd, notice.counted, plain.counted), osd,
                lambda i: notice.words(i) + ", as for the parent's notice" if osd[i] else plain.words(i))


def _first_visit(ctx: Context, f: _Facts) -> _Due:
    n = int(ctx.policy.get("first_visit_school_days"))
    no, yes = np.zeros(f.row.size, dtype=bool), np.ones(f.row.size, dtype=bool)
    return _Due(_school_days(ctx, f.start, n, yes), no, yes, no,
                lambda i: f"within {_count(n, 'school day')} of the Start date {fmt_day(f.start[i])}")


def _consistent(f: _Facts, end: np.ndarray) -> np.ndarray:
    """An end date that can be used: the Start date known and not after it (else PL003 only)."""
    return ~np.isnat(end) & ~np.isnat(f.start) & np.where(~np.isnat(end) & ~np.isnat(f.start), end >= f.start, False)


def _exit_plan(ctx: Context, f: _Facts) -> _Due:
    n = int(ctx.policy.get("exit_plan_school_days"))
    no, yes = np.zeros(f.row.size, dtype=bool), np.ones(f.row.size, dtype=bool)
    return _Due(_school_days(ctx, f.planned, -n, _consistent(f, f.planned)), no, yes, no,
                lambda i: f"{_count(n, 'school day')} before the Planned end date {fmt_day(f.planned[i])}")


def _end_review(ctx: Context, f: _Facts) -> _Due:
    n = int(ctx.policy.get("end_review_school_days", END_REVIEW_SCHOOL_DAYS))
    no, yes = np.zeros(f.row.size, dtype=bool), np.ones(f.row.size, dtype=bool)
    return _Due(_school_days(ctx, f.actual, n, _consistent(f, f.actual)), no, yes, no,
                lambda i: f"within {_count(n, 'school day')} after the Actual end date {fmt_day(f.actual[i])}")


DUE: dict[str, Callable[[Context, _Facts], _Due]] = {
    "before_start": _before_start,
    "direction_notice": _direction_notice,
    "before_start_or_direction_notice": _before_start_or_direction_notice,
    "first_visit": _first_visit,
    "exit_plan": _exit_plan,
    "end_review": _end_review,
}


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")


# --- one item ---------------------------------------------------------------------------------

@dataclass
class _ItemState:
    """One item's findings to make: the placements it flags (future, late, overdue or due soon) and, for
    each of them, what the message needs (kept only for those, so a large tracker holds little)."""

    flagged: np.ndarray        # placement positions
    done: np.ndarray           # the date it was done (a Monitoring visit's for the first visit), NaT if none
    na: np.ndarray             # N/A on a placement it applies to
    by_visit: np.ndarray       # done by the first Monitoring visit on Visits
    future: np.ndarray
    late: np.ndarray
    overdue: np.ndarray
    away: np.ndarray           # school days from the as-at date to the due date (pending items)
    due: _Due


def _states(ctx: Context) -> dict[str, _ItemState]:
    """Every checklist item's state, worked out together: twenty items of one small return cost one pass
    of array operations rather than twenty. Items the Checklist has no column for are left out."""
    return cached(ctx, "checklist_states", lambda: _make_states(ctx))


_CELLS_AT_ONCE = 1_000_000     # items x placements worked out in one pass at most (a large tracker: in groups)


def _make_states(ctx: Context) -> dict[str, _ItemState]:
    f = _facts(ctx)
    if f is None or not len(f.checklist):
        return {}
    specs = [(code, spec) for code, spec in _items().items() if spec.name in f.checklist.parsed]
    per_pass = max(1, _CELLS_AT_ONCE // max(1, f.row.size))
    states: dict[str, _ItemState] = {}
    for a in range(0, len(specs), per_pass):
        states.update(_item_states(ctx, f, specs[a:a + per_pass]))
    return states


def _item_states(ctx: Context, f: _Facts, specs: list[tuple[str, FieldSpec]]) -> dict[str, _ItemState]:
    table = f.checklist
    m = len(table)
    no_mark = np.zeros(m, dtype=bool)
    cell_day = np.stack([days(table, spec.name) for _, spec in specs])                       # items x rows
    na_cell = np.stack([table.parsed[spec.name].marks.get("na", no_mark) for _, spec in specs])
    missing_cell = np.stack([table.parsed[spec.name].blank for _, spec in specs]) | na_cell  # a tick: CE only
    has_row = f.row >= 0
    g = np.where(has_row, f.row, 0)
    done = np.where(has_row, cell_day[:, g], NAT)                                           # items x placements
    del cell_day
    missing = has_row & missing_cell[:, g]
    na = has_row & na_cell[:, g]
    by_visit = np.zeros(done.shape, dtype=bool)
    visit_items = np.array([spec.due == "first_visit" for _, spec in specs])
    if visit_items.any():      # a Monitoring visit on Visits counts as done on its date
        visit = f.first_visit
        d = done[visit_items]
        usable_cell = ~np.isnat(d) | missing[visit_items]
        by_visit[visit_items] = has_row & usable_cell & ~np.isnat(visit) & (np.isnat(d) | (visit < d))
        done[visit_items] = np.where(by_visit[visit_items], visit, d)
        missing &= ~by_visit

    # items share a handful of due and applies keys: each is worked out once per validation
    dues = [cached(ctx, f"checklist_due:{spec.due}", lambda spec=spec: DUE[spec.due](ctx, f)) for _, spec in specs]
    due_day = np.stack([due.day for due in dues])
    from_start = np.stack([due.from_start for due in dues])
    applies = has_row & np.stack([cached(ctx, f"checklist_applies:{spec.applies}",
                                         lambda spec=spec: APPLIES[spec.applies](ctx, f)) for _, spec in specs])
    live = applies & ~np.isnat(due_day)            # the due date is known (no cascade from a date that failed)
    as_of = np.datetime64(ctx.as_of, "D")
    future = applies & ~np.isnat(done) & (done > as_of)     # not done yet, whenever it is due
    late = live & ~np.isnat(done) & ~future & (done > due_day)
    missing &= live
    overdue = missing & np.where(from_start, as_of >= due_day, as_of > due_day)
    pending = missing & ~overdue
    away = np.zeros(done.shape, dtype=np.int64)
    if pending.any():
        away[pending] = calendar(ctx).count(np.full(int(pending.sum()), as_of + DAY), due_day[pending] + DAY)
    soon = pending & (away <= int(ctx.policy.get("checklist_notice_school_days")))
    flag = future | late | overdue | soon
    out: dict[str, _ItemState] = {}
    for k, (code, _) in enumerate(specs):
        at_ = np.flatnonzero(flag[k])
        out[code] = _ItemState(at_, done[k, at_], na[k, at_], by_visit[k, at_], future[k, at_], late[k, at_],
                               overdue[k, at_], away[k, at_], dues[k])
    return out


def _item(ctx: Context, code: str) -> Iterator[Finding]:
    f = _facts(ctx)
    spec = _items().get(code)
    state_of = _states(ctx).get(code)
    if f is None or spec is None or state_of is None:
        return      # no Checklist, or no column for this item: not tracked (WB008 says so)
    table, name, due = f.checklist, spec.name, state_of.due
    as_of = np.datetime64(ctx.as_of, "D")

    cal = calendar(ctx)
    notice_days = int(ctx.policy.get("direction_notice_school_days"))
    for pos, i in enumerate(state_of.flagged.tolist()):
        j = int(f.row[i])
        when, deadline = state_of.done[pos], due.day[i]
        future, late, overdue = state_of.future[pos], state_of.late[pos], state_of.overdue[pos]
        na, by_visit, away = state_of.na[pos], state_of.by_visit[pos], state_of.away[pos]
        caveat_days = [deadline, _anchor(spec.due, f, i)] if due.counted[i] else []
        params: dict[str, Any] = dict(notice_days=notice_days, visit_days=ctx.policy.get("first_visit_school_days"),
                                      review_days=ctx.policy.get("end_review_school_days", END_REVIEW_SCHOOL_DAYS))
        value = None
        if future:
            state = "future"
            seen = f"is dated {fmt_day(when)}, after the as-at date {fmt_day(as_of)}: it has not been done yet"
            fix = "Enter the date it was done once it has been done, and leave the cell blank until then."
            caveat_days = []
        elif late:
            state = "late_notice" if code == "CL014" and due.strict[i] else "late"
            source = (f"is met by the first Monitoring visit on the Visits sheet, on {fmt_day(when)}" if by_visit
                      else f"is dated {fmt_day(when)}")
            seen = f"{source}, after its due date: " + (
                f"it was due {due.words(i)}" if due.from_start[i] else f"it was due by {fmt_day(deadline)} ({due.words(i)})")
            if by_visit:
                value = str(when)
            if due.strict[i]:
                clear = int(cal.clear_days_between(np.array([when]), np.array([f.start[i]]))[0])
                seen += (f", but only {_count(clear, 'clear school day')} passed between it and the Start date"
                         if when < f.start[i] else ", but it was given on or after the Start date")
                fix = (f"The law needs written notice at least {_count(notice_days, 'clear school day')} before the "
                       "first day: give the notice again and move the start to a date that allows for it, or correct "
                       "the date if it was typed wrong.")
            else:
                fix = ("Explain the delay on the Explanations sheet, or correct the date if it was typed wrong.")
        else:
            state = "overdue" if overdue else "due_soon"
            what = (f"is N/A, but N/A is not allowed for this placement ({_why_applies(spec.applies, f, i)}), "
                    "so it counts as not done") if na else "is blank"
            if due.from_start[i] and overdue:
                seen = f"{what}, and the placement started on {fmt_day(f.start[i])}: it was due {due.words(i)}"
            elif overdue:
                seen = f"{what}: it was due by {fmt_day(deadline)} ({due.words(i)})"
            else:
                by = due.words(i) if due.from_start[i] else f"by {fmt_day(deadline)} ({due.words(i)})"
                seen = f"{what}: it is due {by}, {_count(int(away), 'school day')} after the as-at date {fmt_day(as_of)}"
                caveat_days = [deadline, as_of, *caveat_days]
            fix = _fix_missing(code, due.strict[i], overdue, na)
        params.update(seen=seen, fix=fix, caveat=_caveat(ctx, tuple(caveat_days)) if caveat_days else "")
        yield at(code, table, j, name, state=state, value=value, **params)


def _fix_missing(code: str, strict: bool, overdue: bool, na: bool) -> str:
    if strict and overdue:
        return ("Without that notice the direction has no lawful start: give written notice now, let the pupil "
                "attend only once the clear school days have passed, and enter the date the notice was given.")
    if strict:
        return "Give the written notice in time and enter the date it was given."
    if na:
        return "Do it and enter the date it was done (N/A is only for an item that does not apply)."
    if code == "CL018":
        return "Visit the pupil at the setting and enter the date (or add the Monitoring visit to the Visits sheet)."
    return ("Do it now and enter the date it was done." if overdue
            else "Do it in time and enter the date it was done.")


def _anchor(due_key: str, f: _Facts, i: int) -> np.datetime64:
    if due_key == "exit_plan":
        return f.planned[i]
    if due_key == "end_review":
        return f.actual[i]
    return f.start[i]


def _caveat(ctx: Context, dates: tuple) -> str:
    """calendar(ctx).caveat for these dates (remembered: most findings share a few date pairs)."""
    memo = cached(ctx, "checklist_caveats", dict)
    if dates not in memo:
        memo[dates] = calendar(ctx).caveat(*[None if np.isnat(d) else d.astype("datetime64[D]").item() for d in dates])
    return memo[dates]


def _register(code: str) -> None:
    rule(code)(lambda ctx: list(_item(ctx, code)))


for _code in (f"CL{k:03d}" for k in range(1, 21)):
    _register(_code)


# --- CL021: the Checklist rows and the placements match one to one -----------------------------

@rule("CL021")
def cl021_checklist_row_matches_a_placement(ctx: Context) -> Iterator[Finding]:
    f = _facts(ctx)
    if f is None or f.checklist.derived_from:
        return
    for i in np.flatnonzero(f.lonely):
        pid = str(f.placements.record(int(i)) or "")
        yield at("CL021", f.placements, int(i), "Placement ID" if "Placement ID" in f.placements.raw else None,
                 problem=f"Placement {pid} has no row on the Checklist sheet, so none of its checklist items "
                         "(CL001 to CL020) could be checked.",
                 fix=f"Add a Checklist row with Placement ID {pid} and the date each item was done.")
    for j in np.flatnonzero(f.orphans):
        pid = str(f.checklist.record(int(j)) or "")
        yield at("CL021", f.checklist, int(j), "Placement ID",
                 problem=f"This Checklist row is for Placement ID {pid}, but no placement on the Placements "
                         "sheet has that ID, so its dates were not checked.",
                 fix="Correct the ID to the placement's, or delete the row if that placement was removed.")
