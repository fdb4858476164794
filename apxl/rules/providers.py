"""The providers rules (rules.md). One pure function per rule, registered with @rule(CODE).

Provider rules look at the placements active or planned on the as-at date (Precise meanings); a
provider-level finding records the Provider ID, except PR004, which names one placement and records it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..findings import Finding
from ..layout import Table
from . import rule
from .base import add_months, at, blank, cached, days, few_texts, provider_rows, spans, texts, usable
from .placements import REGISTRATION_WORDS, day_text, isin

if TYPE_CHECKING:
    from ..engine import Context

DAY = np.timedelta64(1, "D")
POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}")     # domain.md section 6, after upper-casing
URN = re.compile(r"[0-9]{6}")
NAMED = 5                                                               # placements a message names


# --- helpers -----------------------------------------------------------------------------------

@dataclass
class Live:
    """The placements active or planned on the as-at date, grouped by the row of their provider."""

    order: np.ndarray          # placement rows, grouped by provider row
    offsets: np.ndarray        # provider j's placements: order[offsets[j]:offsets[j + 1]]

    def of(self, j: int) -> np.ndarray:
        return self.order[self.offsets[j]:self.offsets[j + 1]]

    def count(self) -> np.ndarray:
        return np.diff(self.offsets)


def live_by_provider(ctx: Context) -> Live | None:
    providers, sp, rows = ctx.tables.get("Providers"), spans(ctx), provider_rows(ctx)
    if providers is None or sp is None or rows is None:
        return None

    def make() -> Live:
        live = np.flatnonzero(sp.active_or_planned(ctx.as_of) & (rows >= 0))
        order = live[np.argsort(rows[live], kind="stable")]
        counts = np.bincount(rows[live], minlength=len(providers))
        return Live(order=order, offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))

    return cached(ctx, "pr_live", make)


def _names(providers: Table) -> np.ndarray:
    """Each provider's name as a message gives it (its Provider ID, or its row, when the name is unusable)."""
    names = texts(providers, "Provider name").copy()
    ids = texts(providers, "Provider ID")
    missing = np.flatnonzero(names == None)     # noqa: E711 - object column
    for j in missing:
        names[j] = ids[j] or f"The provider on row {providers.location(int(j))[2]}"
    return names


def _placements_words(ctx: Context, rows: np.ndarray) -> str:
    table = ctx.tables["Placements"]
    named = [table.record(int(i)) or f"row {table.location(int(i))[2]}" for i in rows[:NAMED]]
    more = f" and {rows.size - NAMED} more" if rows.size > NAMED else ""
    noun = "placement" if rows.size == 1 else "placements"
    return f"it has {rows.size} active or planned {noun} ({', '.join(named)}{more})"


def _audited(ctx: Context, providers: Table) -> np.ndarray:
    """Providers that *audit required for* covers (by their Registration)."""
    wanted = tuple(str(v).strip() for v in (ctx.policy.get("audit_required_for") or ()))
    return isin(texts(providers, "Registration"), wanted)


def _audit_ends(ctx: Context, providers: Table) -> tuple[np.ndarray, np.ndarray]:
    """Each provider's audit date and the last day it is valid (NaT where no usable audit date, or Not audited)."""
    date = days(providers, "LEBC audit date").copy()
    date[texts(providers, "LEBC audit status") == "Not audited"] = np.datetime64("NaT", "D")
    last = np.full(date.size, np.datetime64("NaT", "D"))
    ok = ~np.isnat(date)
    last[ok] = add_months(date[ok], int(ctx.policy.get("audit_validity_months"))) - DAY
    return date, last


# --- PR001, PR002: audit status ---------------------------------------------------------------

@rule("PR001")
def audit_failed(ctx: Context) -> Iterator[Finding]:
    providers, live = ctx.tables.get("Providers"), live_by_provider(ctx)
    if providers is None or live is None:
        return
    fire = (texts(providers, "LEBC audit status") == "Failed") & (live.count() > 0)
    names = _names(providers)
    for j in np.flatnonzero(fire):
        yield at("PR001", providers, j, "LEBC audit status", name=names[j],
                 placements=_placements_words(ctx, live.of(j)))


@rule("PR002")
def audit_missing(ctx: Context) -> Iterator[Finding]:
    providers, live = ctx.tables.get("Providers"), live_by_provider(ctx)
    if providers is None or live is None:
        return
    status = texts(providers, "LEBC audit status")
    fire = isin(status, ("Not audited", "Pending")) & _audited(ctx, providers) & (live.count() > 0)
    registration = texts(providers, "Registration")
    names = _names(providers)
    for j in np.flatnonzero(fire):
        yield at("PR002", providers, j, "LEBC audit status", name=names[j], shown=status[j],
                 registration=REGISTRATION_WORDS.get(registration[j], registration[j]),
                 placements=_placements_words(ctx, live.of(j)))


# --- PR003 to PR005: audit date ---------------------------------------------------------------

@rule("PR003")
def audit_out_of_date(ctx: Context) -> Iterator[Finding]:
    providers, live = ctx.tables.get("Providers"), live_by_provider(ctx)
    if providers is None or live is None:
        return
    date, last = _audit_ends(ctx, providers)
    fire = _audited(ctx, providers) & (live.count() > 0) & ~np.isnat(last)
    fire[fire] = last[fire] < np.datetime64(ctx.as_of, "D")
    months = int(ctx.policy.get("audit_validity_months"))
    names = _names(providers)
    for j in np.flatnonzero(fire):
        yield at("PR003", providers, j, "LEBC audit date", name=names[j], last=day_text(last[j]),
                 date=day_text(date[j]), months=months, as_of=day_text(ctx.as_of),
                 placements=_placements_words(ctx, live.of(j)))


@rule("PR004")
def audit_runs_out(ctx: Context) -> Iterator[Finding]:
    providers, live = ctx.tables.get("Providers"), live_by_provider(ctx)
    placements = ctx.tables.get("Placements")
    if providers is None or live is None or placements is None:
        return
    date, last = _audit_ends(ctx, providers)
    # an audit already out of date on the as-at date is PR003
    check = _audited(ctx, providers) & (live.count() > 0) & ~np.isnat(last)
    check[check] = last[check] >= np.datetime64(ctx.as_of, "D")
    planned = days(placements, "Planned end date")
    months = int(ctx.policy.get("audit_validity_months"))
    names = _names(providers)
    for j in np.flatnonzero(check):
        mine = live.of(j)
        ends = planned[mine]
        late = mine[~np.isnat(ends) & (ends > last[j])]
        for i in late:
            yield at("PR004", providers, j, "LEBC audit date", record=placements.record(int(i)),
                     name=names[j], last=day_text(last[j]), date=day_text(date[j]), months=months,
                     end=day_text(planned[i]), placement=placements.record(int(i)) or f"on row {placements.location(int(i))[2]}")


@rule("PR005")
def audit_in_future(ctx: Context) -> Iterator[Finding]:
    providers = ctx.tables.get("Providers")
    if providers is None:
        return
    date = days(providers, "LEBC audit date")
    fire = ~np.isnat(date)
    fire[fire] = date[fire] > np.datetime64(ctx.as_of, "D")
    for j in np.flatnonzero(fire):
        yield at("PR005", providers, j, "LEBC audit date", date=day_text(date[j]), as_of=day_text(ctx.as_of))


# --- PR006 to PR008: identifiers -------------------------------------------------------------

def _matches(values: np.ndarray, pattern: re.Pattern[str], upper: bool = False) -> np.ndarray:
    if few_texts(values):     # as below, by `re` itself (what pandas' str.fullmatch runs on these)
        plain = _plain(pattern.pattern)
        return np.array([v is not None and plain.fullmatch(v.strip().upper() if upper else v.strip()) is not None
                         for v in values.tolist()], dtype=bool).reshape(len(values))
    text = pd.Series(values, dtype=object)
    given = text.notna().to_numpy(dtype=bool)
    out = np.zeros(len(values), dtype=bool)
    if given.any():
        s = text[given].astype(str).str.strip()
        if upper:
            s = s.str.upper()
        out[given] = s.str.fullmatch(pattern.pattern).fillna(False).to_numpy(dtype=bool)
    return out


@lru_cache(maxsize=64)
def _plain(pattern: str) -> re.Pattern[str]:
    """The pattern as pandas' str.fullmatch compiles it from its text (no flags)."""
    return re.compile(pattern)


@rule("PR006")
def urn_missing(ctx: Context) -> Iterator[Finding]:
    providers = ctx.tables.get("Providers")
    if providers is None:
        return
    registration = texts(providers, "Registration")
    urn = texts(providers, "URN")
    failed = ~usable(providers, "URN") & ~_blank(providers, "URN")
    fire = isin(registration, ("Registered school", "FE college")) & ~_matches(urn, URN) & ~failed
    names = _names(providers)
    for j in np.flatnonzero(fire):
        words = "is blank" if urn[j] is None else f"is {urn[j]}, not 6 digits"
        yield at("PR006", providers, j, "URN", name=names[j], urn=words,
                 registration=REGISTRATION_WORDS[registration[j]])


@rule("PR007")
def postcode_not_valid(ctx: Context) -> Iterator[Finding]:
    providers = ctx.tables.get("Providers")
    if providers is None:
        return
    postcode = texts(providers, "Postcode")
    fire = (postcode != None) & ~_matches(postcode, POSTCODE, upper=True)     # noqa: E711 - object column
    for j in np.flatnonzero(fire):
        text = str(postcode[j])
        squeezed = POSTCODE.fullmatch(" ".join(text.upper().split())) is not None
        hint = ": it has more than one space inside it" if squeezed else ""
        yield at("PR007", providers, j, "Postcode", shown=text, hint=hint)


@rule("PR008")
def urn_for_unregistered(ctx: Context) -> Iterator[Finding]:
    providers = ctx.tables.get("Providers")
    if providers is None:
        return
    urn = texts(providers, "URN")
    fire = (texts(providers, "Registration") == "Unregistered") & (urn != None)     # noqa: E711 - object column
    names = _names(providers)
    for j in np.flatnonzero(fire):
        yield at("PR008", providers, j, "URN", name=names[j], shown=urn[j])


_blank = blank


# --- PR009: insurance --------------------------------------------------------------------------

@rule("PR009")
def insurance(ctx: Context) -> Iterator[Finding]:
    providers, live, placements = ctx.tables.get("Providers"), live_by_provider(ctx), ctx.tables.get("Placements")
    if providers is None or live is None or placements is None or not providers.has("Insurance expiry"):
        return
    expiry = days(providers, "Insurance expiry")
    check = ~np.isnat(expiry) & (live.count() > 0)
    if not check.any():
        return
    today = np.datetime64(ctx.as_of, "D")
    planned = days(placements, "Planned end date")
    names = _names(providers)
    for j in np.flatnonzero(check):
        name = names[j]
        mine = live.of(j)
        if expiry[j] < today:
            seen = (f"The insurance of {name} expired on {day_text(expiry[j])}, before the as-at date "
                    f"{day_text(ctx.as_of)}, and {_placements_words(ctx, mine)}")
        else:
            ends = planned[mine]
            late = mine[~np.isnat(ends) & (ends > expiry[j])]
            if late.size == 0:
                continue
            named = ", ".join(f"{placements.record(int(i)) or 'row ' + str(placements.location(int(i))[2])} "
                              f"({day_text(planned[i])})" for i in late[:NAMED])
            more = f" and {late.size - NAMED} more" if late.size > NAMED else ""
            noun = "placement" if late.size == 1 else "placements"
            seen = (f"The insurance of {name} expires on {day_text(expiry[j])}, before the Planned end date of "
                    f"{late.size} {noun} there: {named}{more}")
        yield at("PR009", providers, j, "Insurance expiry", name=name, seen=seen)
