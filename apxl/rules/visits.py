"""The visits rules (rules.md VI001 to VI005): monitoring visits to each placement, QA visits to each
provider and what they found, reports on file, and visits that name an ID the workbook does not have.

No Visits sheet means no VI finding at all (WB008 says which checks were skipped). VI001 concerns
placements active on the as-at date; VI002 and VI003 providers with a placement active or planned on
it (rules.md, "Precise meanings"). A visit row whose date or type could not be read is never taken as
"no visit": a placement or provider with such a row gets no VI001 to VI003 finding until it is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..findings import Finding
from . import rule
from .base import (
    add_months,
    at,
    calendar,
    days,
    factorize,
    few_texts,
    fmt_day,
    plural,
    provider_rows,
    raw_text,
    spans,
    texts,
    usable,
)

if TYPE_CHECKING:
    from ..engine import Context
    from ..layout import Table

MONITORING, QA = "Monitoring visit", "QA visit"
BAD_OUTCOMES = ("Inadequate", "Concern raised")
LIST_AT_MOST = 10
NO_DAY = np.iinfo(np.int64).min
NAT = np.datetime64("NaT", "D")


# --- helpers (shared with attendance.py) ---------------------------------------------------------

def normalised(ids: np.ndarray) -> np.ndarray:
    """IDs as they are matched across sheets: trimmed, case ignored (None stays None)."""
    out = np.empty(len(ids), dtype=object)
    out[:] = [(str(v).strip().lower() or None) if v is not None else None for v in np.asarray(ids).tolist()]
    return out


def id_codes(*columns: np.ndarray) -> tuple[list[np.ndarray], int]:
    """One integer per distinct ID across the columns (-1 where blank or unusable), and how many there are."""
    sizes = [c.size for c in columns]
    joined = normalised(np.concatenate(columns)) if sum(sizes) else np.zeros(0, dtype=object)
    if few_texts(joined):
        codes = factorize(joined)
        count = int(codes.max()) + 1 if codes.size else 0
    else:
        codes, uniques = pd.factorize(joined, use_na_sentinel=True)
        codes, count = np.asarray(codes, dtype=np.int64), len(uniques)
    out, start = [], 0
    for size in sizes:
        out.append(codes[start:start + size])
        start += size
    return out, count


def listed(names: list[str], at_most: int = LIST_AT_MOST) -> str:
    """`P-001, P-002 and P-003`, or the first few and how many more (never cut short silently)."""
    if len(names) <= 1:
        return "".join(names)
    if len(names) <= at_most:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return ", ".join(names[:at_most]) + f" and {len(names) - at_most} more"


@lru_cache(maxsize=4096)
def day_number_text(day: int) -> str:
    return fmt_day(np.datetime64(day, "D"))


day_text = fmt_day


def _has(table: Table | None, *fields: str) -> bool:
    return table is not None and all(table.has(f) for f in fields)


def _shown(table: Table, i: int, field: str) -> str:
    return raw_text(table, int(i), field).strip()


def provider_names(ctx: Context) -> np.ndarray:
    """Each provider row's name (else its Provider ID), computed once."""
    store = ctx.__dict__.setdefault("_cache", {})
    if "vi_provider_names" not in store:
        providers = ctx.tables.get("Providers")
        n = 0 if providers is None else len(providers)
        blank = np.full(n, None, dtype=object)
        names = texts(providers, "Provider name") if _has(providers, "Provider name") else blank
        ids = texts(providers, "Provider ID") if _has(providers, "Provider ID") else blank
        names = np.array([name or pid or "the provider" for name, pid in zip(names.tolist(), ids.tolist(), strict=True)],
                         dtype=object)
        store["vi_provider_names"] = names
    return store["vi_provider_names"]


def _provider_name(ctx: Context, placement: int, provider: int) -> str:
    if provider >= 0:
        return str(provider_names(ctx)[provider])
    return _shown(ctx.tables["Placements"], placement, "Provider ID") or "the provider"


# --- VI001 ------------------------------------------------------------------------------------

@rule("VI001")
def monitoring_visit_overdue(ctx: Context) -> Iterator[Finding]:
    """An active placement with no Monitoring visit in the last monitoring interval of school days."""
    visits, placements, sp = ctx.tables.get("Visits"), ctx.tables.get("Placements"), spans(ctx)
    weeks = ctx.policy.get("monitoring_interval_school_weeks")
    if (sp is None or not weeks or not _has(visits, "Visit date", "Placement ID", "Visit type")
            or not _has(placements, "Placement ID")):
        return
    cal = calendar(ctx)
    as_of = np.datetime64(ctx.as_of, "D")
    school_days = int(weeks) * 5
    since = cal.add(np.array([as_of]), -school_days)[0]      # the first of the last N school days
    pids = texts(placements, "Placement ID")
    # once N school days have passed since the start (the first visit before that is CL018's business)
    due = sp.active_on(as_of) & (sp.start <= since) & (pids != None)  # noqa: E711
    if not due.any():
        return
    (pcode, vcode), n = id_codes(pids, texts(visits, "Placement ID"))
    vdate = days(visits, "Visit date")
    vtype = texts(visits, "Visit type")
    counted = (vcode >= 0) & (vtype == MONITORING) & ~np.isnat(vdate) & (vdate <= as_of)
    last = np.full(n + 1, NO_DAY, dtype=np.int64)
    np.maximum.at(last, vcode[counted], vdate[counted].astype(np.int64))
    # a row that might be a monitoring visit inside the window, but its type or date could not be read
    maybe_monitoring = (vtype == MONITORING) | ~usable(visits, "Visit type")
    maybe_inside = np.isnat(vdate) | ((vdate >= since) & (vdate <= as_of))
    unknown = np.zeros(n + 1, dtype=bool)
    unknown[vcode[(vcode >= 0) & maybe_monitoring & maybe_inside & ~counted]] = True
    fire = due & ~unknown[pcode] & (last[pcode] < since.astype(np.int64))
    rows = provider_rows(ctx)
    caveat = cal.caveat(since.item(), ctx.as_of)
    since_text, as_of_text = fmt_day(since), fmt_day(ctx.as_of)
    idx = np.flatnonzero(fire)
    last_seen = last[pcode[idx]].tolist()
    started = sp.start[idx].astype(np.int64).tolist()
    provider_of = rows[idx].tolist() if rows is not None else [-1] * idx.size
    for i, seen_day, start_day, provider in zip(idx.tolist(), last_seen, started, provider_of, strict=True):
        if seen_day == NO_DAY:
            seen = f"none is recorded since it started on {day_number_text(start_day)}"
        else:
            seen = f"the last one was on {day_number_text(seen_day)}"
        yield at("VI001", placements, i, "Placement ID", placement=_shown(placements, i, "Placement ID"),
                 provider=_provider_name(ctx, i, provider), days=school_days, weeks=int(weeks), since=since_text,
                 as_of=as_of_text, seen=seen, caveat=caveat)


# --- VI002, VI003 -----------------------------------------------------------------------------

class _ProviderVisits:
    """Providers with a placement active or planned on the as-at date, and their QA visits."""

    def __init__(self, ctx: Context) -> None:
        self.ok = False
        visits, providers, placements, sp = (ctx.tables.get("Visits"), ctx.tables.get("Providers"),
                                             ctx.tables.get("Placements"), spans(ctx))
        rows = provider_rows(ctx)
        if (sp is None or rows is None or not _has(visits, "Visit date", "Provider ID", "Visit type")
                or not _has(providers, "Provider ID")):
            return
        self.ok = True
        self.visits, self.providers, self.placements = visits, providers, placements
        as_of = np.datetime64(ctx.as_of, "D")
        live = sp.active_or_planned(ctx.as_of) & (rows >= 0)
        self.live_placements = np.flatnonzero(live)
        self.in_use = np.zeros(len(providers), dtype=bool)
        self.in_use[rows[live]] = True
        # each visit's provider row (the first row with that ID, as provider_rows does)
        (pcode, vcode), n = id_codes(texts(providers, "Provider ID"), texts(visits, "Provider ID"))
        first = np.full(n + 1, -1, dtype=np.int64)
        known = pcode >= 0
        codes, where = np.unique(pcode[known], return_index=True)
        first[codes] = np.flatnonzero(known)[where]
        vrow = np.where(vcode >= 0, first[vcode], -1)
        vdate = days(visits, "Visit date")
        vtype = texts(visits, "Visit type")
        qa = (vrow >= 0) & (vtype == QA) & ~np.isnat(vdate) & (vdate <= as_of)
        # the latest QA visit of each provider: by Visit date, then the lowest row on the sheet
        self.latest = np.full(len(providers), -1, dtype=np.int64)
        idx = np.flatnonzero(qa)
        if idx.size:
            order = idx[np.lexsort((idx, vdate[idx], vrow[idx]))]
            last_of = np.r_[vrow[order][1:] != vrow[order][:-1], True]
            self.latest[vrow[order][last_of]] = order[last_of]
        self.latest_day = np.r_[vdate, NAT][np.where(self.latest >= 0, self.latest, len(visits))]
        # a row that might be a QA visit on or before the as-at date, but its type or date could not be read
        maybe_qa = (vtype == QA) | ~usable(visits, "Visit type")
        maybe_before = np.isnat(vdate) | (vdate <= as_of)
        self.unknown = np.zeros(len(providers), dtype=bool)
        self.unknown[vrow[(vrow >= 0) & maybe_qa & maybe_before & ~qa]] = True
        self.rows = rows
        self.names = provider_names(ctx)
        self._by_provider: dict[int, list[str]] | None = None

    def placements_at(self, provider: int) -> list[str]:
        if self._by_provider is None:
            live = self.live_placements
            order = live[np.argsort(self.rows[live], kind="stable")]
            keys = self.rows[order]
            cuts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            self._by_provider = {int(keys[c]): [self._name(int(i)) for i in part]
                                 for c, part in zip(cuts, np.split(order, cuts[1:]), strict=True)}
        return self._by_provider.get(provider, [])

    def _name(self, i: int) -> str:
        return self.placements.record(i) or _shown(self.placements, i, "Placement ID") or f"row {i + 2}"

    def provider_name(self, r: int) -> str:
        return str(self.names[r])

    def in_use_words(self, r: int) -> str:
        names = self.placements_at(r)
        return f"{plural(len(names), 'placement')} running or planned ({listed(names)})"


def _provider_visits(ctx: Context) -> _ProviderVisits:
    store = ctx.__dict__.setdefault("_cache", {})
    if "vi_provider_visits" not in store:
        store["vi_provider_visits"] = _ProviderVisits(ctx)
    return store["vi_provider_visits"]


@rule("VI002")
def qa_visit_overdue(ctx: Context) -> Iterator[Finding]:
    """A provider in use with no QA visit in the last QA interval months."""
    months = ctx.policy.get("qa_interval_months")
    pv = _provider_visits(ctx)
    if not pv.ok or not months:
        return
    as_of = np.datetime64(ctx.as_of, "D")
    has_qa = ~np.isnat(pv.latest_day)
    runs_to = np.where(has_qa, add_months(np.where(has_qa, pv.latest_day, as_of), int(months)), as_of)
    fire = pv.in_use & ~pv.unknown & (~has_qa | (runs_to <= as_of))
    for r in np.flatnonzero(fire):
        if has_qa[r]:
            seen = (f"its last QA visit was on {fmt_day(pv.latest_day[r])}, more than {plural(int(months), 'month')} "
                    f"before {fmt_day(ctx.as_of)}")
        else:
            seen = f"no QA visit to it is recorded on Visits up to {fmt_day(ctx.as_of)}"
        yield at("VI002", pv.providers, r, "Provider ID", provider=pv.provider_name(r),
                 pid=_shown(pv.providers, r, "Provider ID"), in_use=pv.in_use_words(r), seen=seen,
                 months=plural(int(months), "month"))


@rule("VI003")
def qa_visit_found_problems(ctx: Context) -> Iterator[Finding]:
    """The latest QA visit of a provider in use found it Inadequate or raised a concern."""
    pv = _provider_visits(ctx)
    if not pv.ok or not pv.visits.has("Outcome"):
        return
    outcome = np.r_[texts(pv.visits, "Outcome"), None]          # padded: -1 (no QA visit) reads None
    fire = pv.in_use & ~pv.unknown & np.isin(outcome[pv.latest], BAD_OUTCOMES)
    for r in np.flatnonzero(fire):
        v = int(pv.latest[r])
        visitor = _shown(pv.visits, v, "Visitor") if pv.visits.has("Visitor") else ""
        yield at("VI003", pv.visits, v, "Outcome", record=pv.providers.record(int(r)) or None,
                 provider=pv.provider_name(r), pid=_shown(pv.providers, r, "Provider ID"),
                 date=fmt_day(pv.latest_day[r]), by=f" by {visitor}" if visitor else "",
                 outcome=outcome[v], in_use=pv.in_use_words(r))


# --- VI004, VI005 -----------------------------------------------------------------------------

class _VisitWords:
    """`the Monitoring visit on 24/09/2026 to P-001 at AP-01 by Mrs J. Patel`, for any visit row."""

    def __init__(self, visits: Table) -> None:
        self.visits = visits
        self.kind = texts(visits, "Visit type") if visits.has("Visit type") else np.full(len(visits), None)
        self.when = days(visits, "Visit date") if visits.has("Visit date") else np.full(len(visits), NAT)

    def __call__(self, i: int) -> str:
        return _visit_words(self.visits, i, self.kind[i], self.when[i])


def _visit_words(visits: Table, i: int, kind: str | None, when: np.datetime64) -> str:
    parts = [f"the {kind or 'visit'}"]
    if not np.isnat(when):
        parts.append(f"on {fmt_day(when)}")
    placement = _shown(visits, i, "Placement ID") if visits.has("Placement ID") else ""
    provider = _shown(visits, i, "Provider ID") if visits.has("Provider ID") else ""
    if placement:
        parts.append(f"to {placement}")
    if provider:
        parts.append(f"at {provider}")
    visitor = _shown(visits, i, "Visitor") if visits.has("Visitor") else ""
    if visitor:
        parts.append(f"by {visitor}")
    return " ".join(parts)


@rule("VI004")
def visit_report_not_on_file(ctx: Context) -> Iterator[Finding]:
    """A visit with Report on file = No."""
    visits = ctx.tables.get("Visits")
    if not _has(visits, "Report on file"):
        return
    words = _VisitWords(visits)
    for i in np.flatnonzero(texts(visits, "Report on file") == "No"):
        yield at("VI004", visits, i, "Report on file", visit=words(i))


@rule("VI005")
def visit_names_unknown_id(ctx: Context) -> Iterator[Finding]:
    """A visit names a Provider ID or Placement ID that is not on Providers or Placements."""
    visits = ctx.tables.get("Visits")
    if visits is None:
        return
    words = _VisitWords(visits)
    for field, sheet, what in (("Provider ID", "Providers", "provider"), ("Placement ID", "Placements", "placement")):
        other = ctx.tables.get(sheet)
        if not _has(visits, field) or not _has(other, field):
            continue
        known = set(normalised(texts(other, field)).tolist()) - {None}
        wanted = normalised(texts(visits, field))
        if few_texts(wanted):
            listed_ = np.array([w in known for w in wanted.tolist()], dtype=bool).reshape(wanted.size)
        else:
            listed_ = pd.Series(wanted, dtype=object).isin(known).to_numpy()
        bad = (wanted != None) & ~listed_  # noqa: E711
        for i in np.flatnonzero(bad):
            yield at("VI005", visits, i, field, id=_shown(visits, i, field), sheet_named=sheet, what=what,
                     visit=words(i))
