"""Across schools: what no single school's return can show.

Each school names its providers with its own Provider IDs, so providers are matched between returns (and to
the partnership's directory) by URN, then Directory ID, then normalised name and postcode (workbook.md). Over
the matched providers the registration test (HR002 to HR004) is counted on every school's placements at once,
plus any counts imported from another area, and the XS rules compare what the schools say.

The worker that checks a return keeps only its `ReturnFacts` (a few fields per provider and placement, no
tables), so the batch holds what the cross-school step needs and nothing more.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .catalogue import finding
from .findings import Finding
from .identity import normalise_name, normalise_postcode
from .output import FORMULA_START, neutralise
from .rules.base import fmt_day, plural

if TYPE_CHECKING:
    from .batch import CrossFinding, ProviderView, Return
    from .engine import Context
    from .policy import Policy

Where = tuple[str, str | None, int]                # sheet, A1 cell, Excel row
ONE_DAY = dt.timedelta(days=1)
REGISTRATION_RULES = ("HR002", "HR003", "HR004")
SHOWN = 12                                         # names listed in one message before "and N more"


# --- what a return keeps for the cross-school step ----------------------------------------------------

@dataclass(slots=True)
class ProviderFacts:
    """One provider row of one return."""

    row: int
    pid: str | None
    name: str | None
    postcode: str | None
    urn: str | None
    directory_id: str | None
    registration: str | None
    audit_status: str | None
    audit_date: dt.date | None
    last_qa_visit: dt.date | None
    cells: dict[str, Where]


@dataclass(slots=True)
class PlacementFacts:
    """One placement of one return: who, where, when, and how many hours."""

    row: int
    record: str
    upn: str | None
    provider: int                    # position in ReturnFacts.providers, -1 when not on Providers
    provider_id: str | None          # as typed (may be a Directory ID)
    start: dt.date | None            # None unless both dates are known
    end: dt.date | None
    hours: float | None              # AP hours a week (the Timetable's, else typed)
    hours_value: str | None          # the value a finding at AP hours per week shows
    full_time: bool
    csa_first: dt.date | None        # compulsory school age: first and last day
    csa_last: dt.date | None
    looked_after: bool
    sen: str | None
    why: str                         # "is looked after and has an EHC plan", or "" when neither counts
    active_or_planned: bool
    hours_cell: Where
    upn_cell: Where


@dataclass
class ReturnFacts:
    """What the cross-school step needs of one return."""

    providers: list[ProviderFacts] = field(default_factory=list)
    placements: list[PlacementFacts] = field(default_factory=list)
    personal: set[str] = field(default_factory=set)      # names, UPNs, dates of birth: for --redact


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else value.astype("datetime64[D]").item()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _dates(values: Any) -> list[dt.date | None]:
    """`_date` of each value of a datetime64 array (NaT: None), in one conversion."""
    return np.asarray(values).astype("datetime64[D]").tolist()


def plain_text(value: Any) -> str | None:
    """A cell as trimmed text (a whole number stored as 123456.0 as 123456); None when blank."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def facts_of(ctx: Context, personal: set[str] | None = None) -> ReturnFacts:
    """Extract a return's providers and placements from the context its rules ran on."""
    from .rules.base import csa_bounds, days, provider_rows, spans, texts
    from .rules.hours import _hours, _hours_value, _limit, _record, _vulnerable_sen, _why

    out = ReturnFacts(personal=personal or set())
    providers, placements = ctx.tables.get("Providers"), ctx.tables.get("Placements")
    if providers is not None:
        cols = {f: texts(providers, f) for f in ("Provider ID", "Provider name", "Postcode", "Registration", "URN",
                                                 "Directory ID", "LEBC audit status")}
        audit = days(providers, "LEBC audit date")
        visits = _last_qa_visits(ctx, cols["Provider ID"])
        for i in range(len(providers)):
            cells = {f: providers.location(i, f) for f in ("Provider ID", "Registration", "URN", "LEBC audit status",
                                                           "LEBC audit date", "Provider name")}
            out.providers.append(ProviderFacts(
                row=i, pid=plain_text(cols["Provider ID"][i]), name=plain_text(cols["Provider name"][i]),
                postcode=plain_text(cols["Postcode"][i]), urn=plain_text(cols["URN"][i]),
                directory_id=plain_text(cols["Directory ID"][i]), registration=plain_text(cols["Registration"][i]),
                audit_status=plain_text(cols["LEBC audit status"][i]), audit_date=_date(audit[i]),
                last_qa_visit=visits[i], cells=cells))
    if placements is None or not len(placements):
        return out
    sp, hours, bounds, prow = spans(ctx), _hours(ctx), csa_bounds(ctx), provider_rows(ctx)
    if prow is None:
        prow = np.full(len(placements), -1, dtype=np.int64)
    limit = _limit(ctx)
    upn, pid = texts(placements, "UPN"), texts(placements, "Provider ID")
    looked_after = texts(placements, "Looked after") == "Yes"
    sen = texts(placements, "SEN status")
    vulnerable = np.isin(sen, _vulnerable_sen(ctx)) | looked_after
    why = _why(ctx, looked_after, sen)
    active = sp.active_or_planned(ctx.as_of) if sp is not None else np.zeros(len(placements), bool)
    first, last = bounds if bounds is not None else (np.full(len(placements), np.datetime64("NaT")),) * 2
    first, last = _dates(first), _dates(last)
    starts, ends = (_dates(sp.start), _dates(sp.end)) if sp is not None else ([None] * len(placements),) * 2
    raw_pid = placements.raw.get("Provider ID")
    for i in range(len(placements)):
        ap = hours.ap[i] if hours is not None else np.nan
        known = sp is not None and bool(sp.known[i])
        out.placements.append(PlacementFacts(
            row=i, record=_record(placements, i), upn=plain_text(upn[i]), provider=int(prow[i]),
            provider_id=plain_text(pid[i]) or (plain_text(raw_pid[i]) if raw_pid is not None else None),
            start=starts[i] if known else None, end=ends[i] if known else None,
            hours=None if np.isnan(ap) else float(ap), hours_value=_hours_value(hours, i) if hours is not None else None,
            full_time=bool(not np.isnan(ap) and ap > limit), csa_first=first[i], csa_last=last[i],
            looked_after=bool(looked_after[i]), sen=plain_text(sen[i]), why=why[i] if vulnerable[i] else "",
            active_or_planned=bool(active[i]), hours_cell=placements.location(i, "AP hours per week"),
            upn_cell=placements.location(i, "UPN")))
    return out


def _last_qa_visits(ctx: Context, provider_ids: np.ndarray) -> list[dt.date | None]:
    """Per provider row, the latest QA visit on Visits (None when none was recorded)."""
    from .rules.base import days, texts

    latest: dict[str, dt.date] = {}
    visits = ctx.tables.get("Visits")
    if visits is not None and len(visits):
        when, kind, pid = days(visits, "Visit date"), texts(visits, "Visit type"), texts(visits, "Provider ID")
        for d, k, p in zip(when, kind, pid):
            day = _date(d)
            if day is None or p is None or k != "QA visit":
                continue
            key = str(p).strip().lower()
            if key not in latest or day > latest[key]:
                latest[key] = day
    return [latest.get(str(p).strip().lower()) if p is not None else None for p in provider_ids]


# --- providers matched across returns and to the directory -------------------------------------------

@dataclass
class DirectoryEntry:
    directory_id: str
    name: str | None
    postcode: str | None
    urn: str | None
    registration: str | None
    audit_status: str | None
    audit_date: dt.date | None


@dataclass
class Directory:
    """The partnership's provider directory (`--directory`): believed over what a school typed."""

    file: str
    entries: list[DirectoryEntry]

    def __post_init__(self) -> None:
        self.by_urn: dict[str, int] = {}
        self.by_id: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for k, e in enumerate(self.entries):
            if e.urn:
                self.by_urn.setdefault(e.urn, k)
            self.by_id.setdefault(e.directory_id.strip().lower(), k)
            key = _name_key(e.name, e.postcode)
            if key:
                self.by_name.setdefault(key, k)

    def match(self, urn: str | None, directory_id: str | None, name: str | None, postcode: str | None) -> int:
        """The entry a school's provider is: by URN, then Directory ID, then name and postcode; -1 if none."""
        if urn and urn in self.by_urn:
            return self.by_urn[urn]
        if directory_id and directory_id.strip().lower() in self.by_id:
            return self.by_id[directory_id.strip().lower()]
        key = _name_key(name, postcode)
        return self.by_name.get(key, -1) if key else -1


def load_directory(path: str) -> Directory:
    """Read the directory workbook's Providers sheet (Directory ID required and unique: the first one counts)."""
    from .engine import check
    from .errors import ApxlError
    from .rules.base import days, texts

    _, ctx = check(path, sheets=["Providers"])
    table = ctx.tables.get("Providers")
    if table is None or "Directory ID" not in table.raw:
        raise ApxlError(f"{path}: the provider directory needs a Providers sheet with a Directory ID column")
    cols = {f: texts(table, f) for f in ("Directory ID", "Provider name", "Postcode", "URN", "Registration",
                                         "LEBC audit status")}
    audit = days(table, "LEBC audit date")
    entries, seen = [], set()
    for i in range(len(table)):
        did = plain_text(cols["Directory ID"][i])
        if not did or did.lower() in seen:
            continue
        seen.add(did.lower())
        entries.append(DirectoryEntry(did, plain_text(cols["Provider name"][i]), plain_text(cols["Postcode"][i]),
                                      plain_text(cols["URN"][i]), plain_text(cols["Registration"][i]),
                                      plain_text(cols["LEBC audit status"][i]), _date(audit[i])))
    if not entries:
        raise ApxlError(f"{path}: the provider directory has no row with a Directory ID")
    return Directory(path, entries)


def show_postcode(postcode: str | None) -> str | None:
    """A postcode as Royal Mail writes it (LE13 0AA), whatever the spacing and case typed."""
    code = normalise_postcode(postcode)
    return f"{code[:-3]} {code[-3:]}" if len(code) >= 5 else (code or None)


def _name_key(name: str | None, postcode: str | None) -> str | None:
    n, p = normalise_name(name), normalise_postcode(postcode)
    return f"{n}|{p}" if n and p else None


@dataclass
class Entity:
    """One AP setting as the batch sees it: the provider rows of every return that name it."""

    members: list[tuple[int, int]] = field(default_factory=list)      # (return, provider position)
    entry: DirectoryEntry | None = None
    keys: set[str] = field(default_factory=set)

    def facts(self, facts: list[ReturnFacts | None]) -> list[ProviderFacts]:
        return [facts[r].providers[p] for r, p in self.members]  # type: ignore[union-attr]

    def name(self, facts: list[ReturnFacts | None]) -> str:
        if self.entry is not None and self.entry.name:
            return self.entry.name
        names = Counter(p.name for p in self.facts(facts) if p.name)
        if not names:
            return self.entry.directory_id if self.entry else "a provider"
        return min(names, key=lambda n: (-names[n], n.isupper(), len(n), n))   # commonest; then not in capitals, shortest

    def postcode(self, facts: list[ReturnFacts | None]) -> str | None:
        if self.entry is not None and self.entry.postcode:
            return show_postcode(self.entry.postcode)
        codes = Counter(show_postcode(p.postcode) for p in self.facts(facts) if p.postcode)
        return codes.most_common(1)[0][0] if codes else None

    def registration(self, facts: list[ReturnFacts | None]) -> str | None:
        """The directory's, else Unregistered when any school says so (a child's safety errs that way)."""
        if self.entry is not None and self.entry.registration:
            return self.entry.registration
        said = [p.registration for p in self.facts(facts) if p.registration]
        if "Unregistered" in said:
            return "Unregistered"
        return Counter(said).most_common(1)[0][0] if said else None


class _Union:
    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, x: Any) -> Any:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: Any, b: Any) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def match_providers(facts: list[ReturnFacts | None], counted: list[bool], directory: Directory | None
                    ) -> tuple[list[Entity], dict[tuple[int, int], int]]:
    """Group every counted return's provider rows into settings. Returns the settings and (return, provider
    position) -> setting. A provider the directory knows is that entry's; the rest are joined by URN,
    Directory ID, or normalised name and postcode."""
    union = _Union()
    entry_of: dict[tuple[int, int], int] = {}
    for r, f in enumerate(facts):
        if f is None or not counted[r]:
            continue
        for p, prov in enumerate(f.providers):
            node = (r, p)
            union.find(node)
            k = directory.match(prov.urn, prov.directory_id, prov.name, prov.postcode) if directory else -1
            if k >= 0:
                entry_of[node] = k
                union.join(("dir", k), node)
                continue
            for key in _keys(prov):
                union.join(("key", key), node)
    groups: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for node in list(union.parent):
        if isinstance(node[0], int):
            groups[union.find(node)].append(node)
    entities: list[Entity] = []
    where: dict[tuple[int, int], int] = {}
    for nodes in groups.values():
        nodes.sort()
        entry = next((directory.entries[entry_of[n]] for n in nodes if n in entry_of), None) if directory else None
        entity = Entity(members=nodes, entry=entry)
        for n in nodes:
            where[n] = len(entities)
        entities.append(entity)
    if directory is not None:           # placements whose Provider ID is a Directory ID (no row on Providers)
        of_entry = {id(e.entry): i for i, e in enumerate(entities) if e.entry is not None}
        for r, f in enumerate(facts):
            if f is None or not counted[r]:
                continue
            for pl in f.placements:
                if pl.provider < 0 and pl.provider_id and pl.provider_id.strip().lower() in directory.by_id:
                    k = directory.by_id[pl.provider_id.strip().lower()]
                    idx = of_entry.get(id(directory.entries[k]))
                    if idx is None:
                        idx = of_entry[id(directory.entries[k])] = len(entities)
                        entities.append(Entity(members=[], entry=directory.entries[k]))
                    where[(r, -1 - pl.row)] = idx
    return entities, where


def _keys(prov: ProviderFacts) -> list[str]:
    keys = []
    if prov.urn:
        keys.append(f"urn:{prov.urn}")
    if prov.directory_id:
        keys.append(f"dir:{prov.directory_id.strip().lower()}")
    name = _name_key(prov.name, prov.postcode)
    if name:
        keys.append(f"name:{name}")
    return keys


def entity_of_placement(where: dict[tuple[int, int], int], r: int, pl: PlacementFacts) -> int:
    if pl.provider >= 0:
        return where.get((r, pl.provider), -1)
    return where.get((r, -1 - pl.row), -1)


# --- counts from another area ---------------------------------------------------------------------------

COUNT_COLUMNS = ("URN", "Directory ID", "Provider name", "Postcode", "Registration", "From", "To",
                 "Full-time pupils", "Looked-after or EHC plan pupils")


@dataclass
class ImportedCount:
    urn: str | None
    directory_id: str | None
    name: str | None
    postcode: str | None
    registration: str | None
    first: dt.date
    last: dt.date
    full_time: int
    vulnerable: int
    source: str


def read_counts(path: str) -> list[ImportedCount]:
    """Another area's counts (written by `--export-counts`): one row per provider and stretch of dates."""
    import csv

    from .errors import ApxlError

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ApxlError(f"{path}: cannot read the counts file ({getattr(exc, 'strerror', None) or exc})") from None
    missing = [c for c in ("From", "To", "Full-time pupils") if rows and c not in rows[0]]
    if missing:
        raise ApxlError(f"{path}: not a counts file written by `apxl batch --export-counts` (no {missing[0]} column)")
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            first = dt.date.fromisoformat(row["From"].strip())
            last = dt.date.fromisoformat(row["To"].strip())
            full_time = int(row["Full-time pupils"] or 0)
            vulnerable = int(row.get("Looked-after or EHC plan pupils") or 0)
        except (ValueError, AttributeError):
            raise ApxlError(f"{path}: row {n} is not a count (From and To as YYYY-MM-DD, whole numbers)") from None

        def cell(name: str, row: dict[str, str] = row) -> str | None:
            return plain_text(_unneutralise(row.get(name)))

        out.append(ImportedCount(cell("URN"), cell("Directory ID"), cell("Provider name"), cell("Postcode"),
                                 cell("Registration"), first, last, full_time, vulnerable, os.path.basename(path)))
    return out


def _unneutralise(text: str | None) -> str | None:
    if text and text[0] == "'" and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


# --- the sweep: how many at once, on which days -----------------------------------------------------------

@dataclass
class Interval:
    entity: int
    first: dt.date          # inclusive
    stop: dt.date           # exclusive
    weight: int = 1
    ret: int = -1           # the return (-1: imported)
    placement: int = -1     # position in that return's placements
    upn: str | None = None
    source: str = ""        # imported: the counts file


def _intervals(facts: list[ReturnFacts | None], counted: list[bool], where: dict, window: dt.date,
               vulnerable_only: bool = False) -> list[Interval]:
    """Full-time placements of pupils of compulsory school age as [first, stop) days (as hours.py counts them:
    a placement's end date is the day it stops, so a same-day move is not counted twice)."""
    out = []
    for r, f in enumerate(facts):
        if f is None or not counted[r]:
            continue
        for j, pl in enumerate(f.placements):
            if not pl.full_time or pl.start is None or pl.end is None or pl.csa_first is None or pl.csa_last is None:
                continue
            if vulnerable_only and not pl.why:
                continue
            e = entity_of_placement(where, r, pl)
            if e < 0:
                continue
            stop = pl.end if pl.end > pl.start else pl.start + ONE_DAY
            first = max(pl.start, window, pl.csa_first)
            stop = min(stop, pl.csa_last + ONE_DAY)
            if first < stop:
                out.append(Interval(e, first, stop, 1, r, j, pl.upn))
    return out


def _distinct_pupils(intervals: list[Interval]) -> list[Interval]:
    """One pupil placed twice at one setting (by two schools, say) counts once a day: merge their days."""
    merged: list[Interval] = []
    by_pupil: dict[tuple[int, str], list[Interval]] = defaultdict(list)
    for iv in intervals:
        if iv.upn and iv.ret >= 0:
            by_pupil[(iv.entity, iv.upn)].append(iv)
        else:
            merged.append(iv)
    for ivs in by_pupil.values():
        ivs.sort(key=lambda iv: iv.first)
        cur = replace(ivs[0])
        for iv in ivs[1:]:
            if iv.first < cur.stop:
                cur.stop = max(cur.stop, iv.stop)
            else:
                merged.append(cur)
                cur = replace(iv)
        merged.append(cur)
    return merged


def _levels(intervals: list[Interval]) -> dict[int, list[tuple[dt.date, int]]]:
    """Per setting, the number at once from each change day on: [(day, level), ...] in day order."""
    events: dict[int, Counter] = defaultdict(Counter)
    for iv in intervals:
        events[iv.entity][iv.first] += iv.weight
        events[iv.entity][iv.stop] -= iv.weight
    out = {}
    for entity, deltas in events.items():
        level, steps = 0, []
        for day in sorted(deltas):
            level += deltas[day]
            steps.append((day, level))
        out[entity] = steps
    return out


def _peak(steps: list[tuple[dt.date, int]]) -> tuple[int, dt.date | None]:
    best, when = 0, None
    for day, level in steps:
        if level > best:
            best, when = level, day
    return best, when


def _stretches(steps: list[tuple[dt.date, int]], limit: int) -> list[tuple[dt.date, dt.date]]:
    """The [from, to) days on which the level is at least `limit`."""
    out, start = [], None
    for day, level in steps:
        if level >= limit and start is None:
            start = day
        elif level < limit and start is not None:
            out.append((start, day))
            start = None
    return out


# --- the cross-school step ---------------------------------------------------------------------------

@dataclass
class Outcome:
    """What the cross-school step adds: findings for the batch, findings per return, the provider view."""

    cross: list[CrossFinding] = field(default_factory=list)
    per_return: dict[int, list[Finding]] = field(default_factory=lambda: defaultdict(list))
    replaces: set[int] = field(default_factory=set)          # returns whose own HR002-HR004 are recounted
    providers: list[ProviderView] = field(default_factory=list)
    counts: list[dict[str, Any]] = field(default_factory=list)   # for --export-counts


def _list(items: list[str]) -> str:
    if len(items) <= SHOWN:
        return ", ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"{', '.join(items[:SHOWN])} and {len(items) - SHOWN} more"


def cross_school(returns: list[Return], facts: list[ReturnFacts | None], policy: Policy, as_of: dt.date,
                 directory: Directory | None = None, imported: list[ImportedCount] | None = None) -> Outcome:
    """Everything the combined view raises (rules.md HR002-HR004 in a batch, XS001-XS007)."""
    from .batch import CrossFinding

    out = Outcome()
    _xs007(returns, out)
    counted = [r.counted and r.readable and facts[k] is not None for k, r in enumerate(returns)]
    entities, where = match_providers(facts, counted, directory)
    imported = imported or []
    imported_at = _place_imported(imported, entities, facts, directory)
    year = as_of.year if as_of.month >= 9 else as_of.year - 1
    window = dt.date(year, 9, 1)
    ctx = _Words(policy)

    full_time = _intervals(facts, counted, where, window)
    counting = _distinct_pupils(full_time)
    for count, e in imported_at:
        if count.full_time:
            counting.append(Interval(e, max(count.first, window), count.last + ONE_DAY, count.full_time,
                                     source=count.source))
    levels = _levels(counting)

    vulnerable = _distinct_pupils([iv for iv in full_time if facts[iv.ret].placements[iv.placement].why])
    for count, e in imported_at:
        if count.vulnerable:
            vulnerable.append(Interval(e, max(count.first, window), count.last + ONE_DAY, count.vulnerable,
                                       source=count.source))
    vulnerable_levels = _levels(vulnerable)

    by_entity: dict[int, list[Interval]] = defaultdict(list)
    for iv in full_time:
        by_entity[iv.entity].append(iv)
    for k in range(len(returns)):
        if counted[k]:
            out.replaces.add(k)
    for e, entity in enumerate(entities):
        if entity.registration(facts) != "Unregistered":
            continue
        name = entity.name(facts)
        _registration_count(e, name, levels.get(e, []), by_entity[e], imported_at, returns, facts, ctx, out)
        _vulnerable_breach(e, name, vulnerable_levels.get(e, []), by_entity[e], vulnerable, returns, facts, ctx, out)

    _xs001(returns, facts, counted, out)
    if directory is None:
        _xs002(entities, returns, facts, out)
    else:
        _directory_findings(entities, returns, facts, counted, directory, out)
    _xs006(entities, returns, facts, out)
    views = _provider_view(entities, returns, facts, counted, where, levels, counting, ctx, as_of, policy)
    out.providers = [view for view, _ in views]
    for view, e in views:
        if view.pupils or view.peak:
            peak_when = f" (from {fmt_day(dt.date.fromisoformat(view.peak_date))})" if view.peak_date else ""
            extra = f", of whom {view.imported} counted by another area" if view.imported else ""
            words = dict(provider=view.name, pupils=plural(view.pupils, "pupil"),
                         schools_count=plural(len(view.schools), "school"), schools=_list(view.schools),
                         full_time=str(view.full_time), peak=str(view.peak), peak_when=peak_when, imported=extra)
            f = finding("XS003", batch=True, record=view.name, value=str(view.peak), **words)
            out.cross.append(CrossFinding(f, tuple(view.files)))
            for r, p in entities[e].members:             # and in each school's report, at its own provider row
                prov = facts[r].providers[p]
                sheet, cell, row = prov.cells["Provider ID"]
                out.per_return[r].append(finding("XS003", sheet=sheet, cell=cell, row=row, column="Provider ID",
                                                 record=prov.pid, value=str(view.peak), **words))
    out.counts = _counts(entities, facts, counting, vulnerable)
    return out


class _Words:
    """The registration law's numbers and words, as the HR rules of one school use them."""

    def __init__(self, policy: Policy) -> None:
        law = policy.law
        self.limit = float(law["full_time_hours"])
        self.count = int(policy.get("registration_pupil_count", 5))
        self.vulnerable_count = int(policy.get("registration_vulnerable_count", 1))
        self.sen = list(law["vulnerable_sen"])
        from .rules.hours import LAW

        self.law = LAW.get(str(policy.get("registration_law") or "esa2008"), LAW["esa2008"])
        self.who = ("looked after or with special educational needs" if "K" in self.sen
                    else "looked after or with an EHC plan")

    def common(self) -> dict[str, str]:
        v = self.vulnerable_count
        return {"limit": f"{self.limit:g}", "count": str(self.count), "vulnerable_count": str(v), "who": self.who,
                "vulnerable_pupils": f"{v} pupil{'' if v == 1 else 's'}"}


def _place_imported(imported: list[ImportedCount], entities: list[Entity], facts: list[ReturnFacts | None],
                    directory: Directory | None) -> list[tuple[ImportedCount, int]]:
    """Each imported count's setting among the batch's (matched by URN, Directory ID, name and postcode);
    a setting no school here uses is added, so the officer still sees it."""
    index: dict[str, int] = {}
    for e, entity in enumerate(entities):
        for prov in entity.facts(facts):
            for key in _keys(prov):
                index.setdefault(key, e)
        if entity.entry is not None:
            for key in _entry_keys(entity.entry):
                index.setdefault(key, e)
    out = []
    for count in imported:
        keys = _keys(ProviderFacts(0, None, count.name, count.postcode, count.urn, count.directory_id,
                                   count.registration, None, None, None, {}))
        e = next((index[k] for k in keys if k in index), -1)
        if e < 0:
            entry = None
            if directory is not None:
                k = directory.match(count.urn, count.directory_id, count.name, count.postcode)
                entry = directory.entries[k] if k >= 0 else None
            entry = entry or DirectoryEntry(count.directory_id or "", count.name, count.postcode, count.urn,
                                            count.registration, None, None)
            entities.append(Entity(members=[], entry=entry))
            e = len(entities) - 1
            for key in keys:
                index.setdefault(key, e)
        out.append((count, e))
    return out


def _entry_keys(entry: DirectoryEntry) -> list[str]:
    return _keys(ProviderFacts(0, None, entry.name, entry.postcode, entry.urn, entry.directory_id or None,
                               entry.registration, None, None, None, {}))


def _school_shares(members: list[Interval], returns: list[Return], but: int | None = None) -> list[tuple[str, int]]:
    shares = Counter(returns[iv.ret].label for iv in members if iv.ret >= 0 and iv.ret != but)
    return sorted(shares.items())


def _imported_share(imported_at: list[tuple[ImportedCount, int]], e: int, day: dt.date, vulnerable: bool = False
                    ) -> list[tuple[str, int]]:
    shares: Counter = Counter()
    for count, ent in imported_at:
        if ent == e and count.first <= day <= count.last:
            n = count.vulnerable if vulnerable else count.full_time
            if n:
                shares[count.source] += n
    return sorted(shares.items())


def _registration_count(e: int, name: str, steps: list, members: list[Interval], imported_at: list,
                        returns: list[Return], facts: list[ReturnFacts | None], words: _Words, out: Outcome) -> None:
    """HR003 and HR004 over every school's full-time placements at one setting (and imported counts)."""
    from .batch import CrossFinding

    peak, day = _peak(steps)
    if day is None or peak < max(words.count - 1, 1):
        return
    code = "HR003" if peak >= words.count else "HR004"
    at_peak = [iv for iv in members if iv.first <= day < iv.stop]
    from_elsewhere = _imported_share(imported_at, e, day)
    by_school = _school_shares(at_peak, returns)
    share = [f"{plural(n, 'pupil')} of {school}" for school, n in by_school]
    share += [f"{n} counted by another area ({src})" for src, n in from_elsewhere]
    files = tuple(sorted({returns[iv.ret].file for iv in at_peak}))
    common = words.common()
    f = finding(code, batch=True, record=name, value=str(peak), provider=name, peak=str(peak), date=fmt_day(day),
                share=_list(share), **common)
    out.cross.append(CrossFinding(f, files))
    for iv in at_peak:
        pl = facts[iv.ret].placements[iv.placement]
        own = [facts[iv.ret].placements[o.placement].record for o in at_peak if o.ret == iv.ret and o is not iv]
        others = list(own)
        elsewhere = _school_shares(at_peak, returns, but=iv.ret)
        if elsewhere:
            n = sum(k for _, k in elsewhere)
            others.append(f"{plural(n, 'full-time pupil')} in other schools' returns "
                          f"({_list([f'{s} {k}' for s, k in elsewhere])})")
        for src, n in from_elsewhere:
            others.append(f"{n} counted by another area ({src})")
        sheet, cell, row = pl.hours_cell
        out.per_return[iv.ret].append(finding(
            code, sheet=sheet, cell=cell, row=row, column="AP hours per week", record=pl.record, value=str(peak),
            provider=name, peak=str(peak), date=fmt_day(day), others=_list(others) or "no other placement", **common))


def _vulnerable_breach(e: int, name: str, steps: list, members: list[Interval], vulnerable: list[Interval],
                       returns: list[Return], facts: list[ReturnFacts | None], words: _Words, out: Outcome) -> None:
    """HR002: on the days a setting has a full-time pupil who is looked after or has an EHC plan (any school's,
    or counted by another area), every school's full-time placement there is told."""
    from .batch import CrossFinding

    stretches = _stretches(steps, max(words.vulnerable_count, 1))
    if not stretches:
        return
    start = stretches[0][0]
    theirs = [iv for iv in vulnerable if iv.entity == e and iv.first < stretches[0][1] and start < iv.stop]
    schools = sorted({returns[iv.ret].label for iv in theirs if iv.ret >= 0})
    sources = sorted({iv.source for iv in theirs if iv.ret < 0})
    told: list[Interval] = []
    common = words.common()
    for iv in members:
        hit = next(((a, b) for a, b in stretches if iv.first < b and a < iv.stop), None)
        if hit is None:
            continue
        told.append(iv)
        pl = facts[iv.ret].placements[iv.placement]
        when = max(iv.first, hit[0])
        hrs = f"{pl.hours:g}" if pl.hours is not None else ""
        if pl.why:
            what = f"{pl.record} is a full-time pupil of compulsory school age ({hrs} hours a week) who {pl.why}"
        else:
            by = [s for s in schools if s != returns[iv.ret].label] or ["this school"]
            by += [f"another area ({s})" for s in sources]
            what = (f"a full-time pupil of compulsory school age {words.who} placed by {_list(by)} is there, and "
                    f"{pl.record} ({hrs} hours a week) is full-time there too")
        sheet, cell, row = pl.hours_cell
        out.per_return[iv.ret].append(finding(
            "HR002", sheet=sheet, cell=cell, row=row, column="AP hours per week", record=pl.record,
            value=pl.hours_value, provider=name, date=fmt_day(when), what=what, law=words.law, **common))
    if not told and not sources:
        return
    n_vulnerable = sum(iv.weight for iv in theirs)
    by = schools + [f"another area ({s})" for s in sources]
    what = (f"{plural(n_vulnerable, 'full-time pupil')} of compulsory school age {words.who} "
            f"(placed by {_list(by)}), among {plural(len({(iv.ret, iv.placement) for iv in told}), 'full-time pupil')}"
            f" of {_list(sorted({returns[iv.ret].label for iv in told}))} there")
    files = tuple(sorted({returns[iv.ret].file for iv in told}))
    f = finding("HR002", batch=True, record=name, value=str(n_vulnerable), provider=name, date=fmt_day(start),
                what=what, law=words.law, schools=_list(sorted({returns[iv.ret].label for iv in told})) or "the schools",
                **common)
    out.cross.append(CrossFinding(f, files))


def _overlap(a: PlacementFacts, b: PlacementFacts) -> dt.date | None:
    """The first shared day of two placements (a same-day move is not an overlap), else None."""
    if a.start is None or b.start is None or a.end is None or b.end is None:
        return None
    if a.start <= b.end and b.start <= a.end and a.end != b.start and b.end != a.start:
        return max(a.start, b.start)
    return None


def _xs001(returns: list[Return], facts: list[ReturnFacts | None], counted: list[bool], out: Outcome) -> None:
    """One UPN in two schools' returns with overlapping placements."""
    from .batch import CrossFinding

    by_upn: dict[str, list[tuple[int, PlacementFacts]]] = defaultdict(list)
    for r, f in enumerate(facts):
        if f is None or not counted[r]:
            continue
        for pl in f.placements:
            if pl.upn and pl.start is not None:
                by_upn[pl.upn.upper()].append((r, pl))
    for items in by_upn.values():
        if len({r for r, _ in items}) < 2:
            continue
        for i, (ra, a) in enumerate(items):
            for rb, b in items[i + 1:]:
                if ra == rb:
                    continue
                day = _overlap(a, b)
                if day is None:
                    continue
                params = dict(upn=a.upn, from_day=fmt_day(day))
                for (r, me), (o, other) in (((ra, a), (rb, b)), ((rb, b), (ra, a))):
                    sheet, cell, row = me.upn_cell
                    out.per_return[r].append(finding(
                        "XS001", sheet=sheet, cell=cell, row=row, column="UPN", record=me.record, value=me.upn,
                        start=fmt_day(me.start), end=fmt_day(me.end), other_school=returns[o].label,
                        other_record=other.record, other_start=fmt_day(other.start), other_end=fmt_day(other.end),
                        other_file=os.path.basename(returns[o].file), **params))
                f = finding("XS001", batch=True, record=a.upn, value=a.upn, school=returns[ra].label,
                            file=os.path.basename(returns[ra].file), start=fmt_day(a.start), end=fmt_day(a.end),
                            other_school=returns[rb].label, other_record=b.record, other_start=fmt_day(b.start),
                            other_end=fmt_day(b.end), other_file=os.path.basename(returns[rb].file),
                            first_record=a.record, **params)
                out.cross.append(CrossFinding(f, (returns[ra].file, returns[rb].file)))


def _audit(p: ProviderFacts) -> tuple[str | None, dt.date | None]:
    return p.audit_status, p.audit_date


def _xs002(entities: list[Entity], returns: list[Return], facts: list[ReturnFacts | None], out: Outcome) -> None:
    """A setting whose audit status or date differs between returns: the later audit date is believed."""
    from .batch import CrossFinding

    for entity in entities:
        rows = [(r, facts[r].providers[p]) for r, p in entity.members]
        if len({r for r, _ in rows}) < 2 or len({_audit(p) for _, p in rows}) < 2:
            continue
        believed = max((p for _, p in rows), key=lambda p: (p.audit_date or dt.date.min, p.audit_status or ""))
        name = entity.name(facts)
        details = [f"{returns[r].label}: {p.audit_status or 'no status'} on {fmt_day(p.audit_date) or 'no date'}"
                   for r, p in rows]
        files = tuple(sorted({returns[r].file for r, _ in rows}))
        f = finding("XS002", batch=True, record=name, provider=name, details="; ".join(details),
                    believed_status=believed.audit_status or "no status", believed_date=fmt_day(believed.audit_date))
        out.cross.append(CrossFinding(f, files))
        for r, p in rows:
            if _audit(p) == _audit(believed):
                continue
            other = next(returns[o].label for o, q in rows if q is believed)
            sheet, cell, row = p.cells.get("LEBC audit date") or p.cells["Provider ID"]
            out.per_return[r].append(finding(
                "XS002", sheet=sheet, cell=cell, row=row, column="LEBC audit date", record=p.pid,
                value=p.audit_date.isoformat() if p.audit_date else None, provider=name,
                status=p.audit_status or "no status", date=fmt_day(p.audit_date) or "no date", other_school=other,
                other_status=believed.audit_status or "no status", other_date=fmt_day(believed.audit_date),
                believed_status=believed.audit_status or "no status", believed_date=fmt_day(believed.audit_date)))


def _directory_findings(entities: list[Entity], returns: list[Return], facts: list[ReturnFacts | None],
                        counted: list[bool], directory: Directory, out: Outcome) -> None:
    """XS004 (not in the directory) and XS005 (disagrees with it) for every counted return's providers."""
    from .batch import CrossFinding

    for entity in entities:
        rows = [(r, facts[r].providers[p]) for r, p in entity.members]
        if not rows:
            continue
        name = entity.name(facts)
        if entity.entry is None:
            for r, p in rows:
                out.per_return[r].append(_xs004(p, directory))
            schools = _list(sorted({returns[r].label for r, _ in rows}))
            postcode = entity.postcode(facts) or "no postcode"
            f = finding("XS004", batch=True, record=name, provider=name, postcode=postcode, schools=schools,
                        directory=os.path.basename(directory.file))
            out.cross.append(CrossFinding(f, tuple(sorted({returns[r].file for r, _ in rows}))))
            continue
        disagree: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for r, p in rows:
            for fname, typed, listed in _disagreements(p, entity.entry):
                out.per_return[r].append(_xs005(p, name, fname, typed, listed, directory))
                disagree[(fname, typed, listed)].append(r)
        for (fname, typed, listed), rs in disagree.items():
            f = finding("XS005", batch=True, record=name, provider=name, field=fname, typed=typed, listed=listed,
                        schools=_list(sorted({returns[r].label for r in rs})),
                        directory=os.path.basename(directory.file))
            out.cross.append(CrossFinding(f, tuple(sorted({returns[r].file for r in rs}))))


def directory_findings_for(facts: ReturnFacts, directory: Directory) -> list[Finding]:
    """XS004 and XS005 for one workbook checked with `apxl validate --directory`."""
    out: list[Finding] = []
    for p in facts.providers:
        k = directory.match(p.urn, p.directory_id, p.name, p.postcode)
        if k < 0:
            out.append(_xs004(p, directory))
            continue
        for fname, typed, listed in _disagreements(p, directory.entries[k]):
            out.append(_xs005(p, p.name or p.pid or "a provider", fname, typed, listed, directory))
    return out


def _xs004(p: ProviderFacts, directory: Directory) -> Finding:
    sheet, cell, row = p.cells["Provider ID"]
    return finding("XS004", sheet=sheet, cell=cell, row=row, column="Provider ID", record=p.pid, value=p.pid,
                   provider=p.name or p.pid or "This provider", postcode=p.postcode or "no postcode",
                   directory=os.path.basename(directory.file))


def _xs005(p: ProviderFacts, name: str, fname: str, typed: str, listed: str, directory: Directory) -> Finding:
    sheet, cell, row = p.cells.get(fname) or p.cells["Provider ID"]
    value = p.audit_date.isoformat() if fname == "LEBC audit date" and p.audit_date else typed
    return finding("XS005", sheet=sheet, cell=cell, row=row, column=fname, record=p.pid, value=value, provider=name,
                   field=fname, typed=typed, listed=listed, directory=os.path.basename(directory.file))


def _disagreements(p: ProviderFacts, entry: DirectoryEntry) -> list[tuple[str, str, str]]:
    out = []
    for fname, typed, listed in (("Registration", p.registration, entry.registration), ("URN", p.urn, entry.urn),
                                 ("LEBC audit status", p.audit_status, entry.audit_status),
                                 ("LEBC audit date", fmt_day(p.audit_date), fmt_day(entry.audit_date))):
        if listed and (typed or "").strip().lower() != listed.strip().lower():
            out.append((fname, typed or "nothing", listed))
    return out


def _xs006(entities: list[Entity], returns: list[Return], facts: list[ReturnFacts | None], out: Outcome) -> None:
    """Settings at one postcode with different names: possibly one setting, for the officer to confirm."""
    from .batch import CrossFinding

    by_postcode: dict[str, list[int]] = defaultdict(list)
    for e, entity in enumerate(entities):
        codes = {normalise_postcode(p.postcode) for p in entity.facts(facts) if p.postcode}
        if entity.entry is not None and entity.entry.postcode:
            codes.add(normalise_postcode(entity.entry.postcode))
        for code in codes:
            if code:
                by_postcode[code].append(e)
    for code, es in by_postcode.items():
        if len(es) < 2:
            continue
        names = {normalise_name(name): name for name in (entities[e].name(facts) for e in es)}
        if len(names) < 2:
            continue
        members = [m for e in es for m in entities[e].members]
        shown = show_postcode(code) or code
        f = finding("XS006", batch=True, record=code, value=shown, names=_list(sorted(names.values())), postcode=shown,
                    schools=_list(sorted({returns[r].label for r, _ in members})) or "no school")
        out.cross.append(CrossFinding(f, tuple(sorted({returns[r].file for r, _ in members}))))


def _xs007(returns: list[Return], out: Outcome) -> None:
    """Two returns from one School URN: the latest Return date counts; the other is named and left out."""
    from .batch import CrossFinding

    by_urn: dict[str, list[int]] = defaultdict(list)
    for k, r in enumerate(returns):
        if r.readable and r.school_urn:
            by_urn[r.school_urn].append(k)
    for urn, ks in by_urn.items():
        if len(ks) < 2:
            continue
        latest = max(ks, key=lambda k: (returns[k].return_date or "", returns[k].file))
        keep = returns[latest]
        for k in ks:
            if k == latest:
                continue
            returns[k].counted = False
            out.per_return[k].append(finding(
                "XS007", sheet="Setup", record=urn, value=returns[k].return_date, file=os.path.basename(returns[k].file),
                date=_iso_to_uk(returns[k].return_date), other_file=os.path.basename(keep.file),
                other_date=_iso_to_uk(keep.return_date), urn=urn, counted=os.path.basename(keep.file)))
        others = [os.path.basename(returns[k].file) for k in ks if k != latest]
        f = finding("XS007", batch=True, record=urn, value=urn, urn=urn,
                    files=_list([os.path.basename(returns[k].file) for k in ks]), counted=os.path.basename(keep.file),
                    date=_iso_to_uk(keep.return_date), others=_list(others), were="was" if len(others) == 1 else "were")
        out.cross.append(CrossFinding(f, tuple(returns[k].file for k in ks)))


def _iso_to_uk(text: str | None) -> str:
    if not text:
        return "none"
    try:
        return fmt_day(dt.date.fromisoformat(text))
    except ValueError:
        return text


def _provider_view(entities: list[Entity], returns: list[Return], facts: list[ReturnFacts | None],
                   counted: list[bool], where: dict, levels: dict, counting: list[Interval], words: _Words,
                   as_of: dt.date, policy: Policy) -> list[tuple[ProviderView, int]]:
    from .batch import ProviderView
    from .rules.base import add_months

    months = int(policy.get("audit_validity_months", 12))
    pupils: dict[int, dict[str, PlacementFacts]] = defaultdict(dict)
    schools: dict[int, set[int]] = defaultdict(set)
    for r, f in enumerate(facts):
        if f is None or not counted[r]:
            continue
        for pl in f.placements:
            e = entity_of_placement(where, r, pl)
            if e < 0:
                continue
            schools[e].add(r)
            if pl.active_or_planned:
                pupils[e].setdefault(pl.upn.upper() if pl.upn else f"{r}:{pl.record}", pl)
    for e, entity in enumerate(entities):
        for r, _ in entity.members:
            schools[e].add(r)
    views = []
    from_elsewhere: dict[int, list[Interval]] = defaultdict(list)      # imported counts, by setting
    for iv in counting:
        if iv.ret < 0:
            from_elsewhere[iv.entity].append(iv)
    for e, entity in enumerate(entities):
        rows = entity.facts(facts)
        peak, day = _peak(levels.get(e, []))
        imported = sum(iv.weight for iv in from_elsewhere.get(e, ()) if day is not None and iv.first <= day < iv.stop)
        if entity.entry is not None and entity.entry.audit_status:
            status, date = entity.entry.audit_status, entity.entry.audit_date
        else:
            best = max(rows, key=lambda p: (p.audit_date or dt.date.min, p.audit_status or ""), default=None)
            status, date = (best.audit_status, best.audit_date) if best else (None, None)
        expiry = None
        if date is not None:
            expiry = add_months(np.array([np.datetime64(date, "D")]), months)[0].astype("datetime64[D]").item()
        visits = [p.last_qa_visit for p in rows if p.last_qa_visit]
        mine = pupils[e].values()
        rs = sorted(schools[e], key=lambda r: returns[r].label)
        views.append((ProviderView(
            name=entity.name(facts), postcode=entity.postcode(facts),
            urn=(entity.entry.urn if entity.entry and entity.entry.urn else next((p.urn for p in rows if p.urn), None)),
            directory_id=(entity.entry.directory_id if entity.entry else
                          next((p.directory_id for p in rows if p.directory_id), None)) or None,
            registration=entity.registration(facts), pupils=len(pupils[e]),
            full_time=sum(1 for pl in mine if pl.full_time), peak=peak,
            peak_date=day.isoformat() if day else None, imported=imported,
            looked_after=sum(1 for pl in mine if pl.looked_after), ehc_plan=sum(1 for pl in mine if pl.sen == "E"),
            audit_status=status, audit_date=date.isoformat() if date else None,
            audit_expiry=expiry.isoformat() if expiry else None,
            last_visit=max(visits).isoformat() if visits else None,
            schools=[returns[r].label for r in rs], files=[returns[r].file for r in rs], limit=words.count), e))
    views.sort(key=lambda pair: (-pair[0].peak, pair[0].name.lower()))
    return views


def _counts(entities: list[Entity], facts: list[ReturnFacts | None], counting: list[Interval],
            vulnerable: list[Interval]) -> list[dict[str, Any]]:
    """The rows of `--export-counts`: per setting and stretch of days, how many full-time pupils of compulsory
    school age (and of them looked after or with an EHC plan) this area's schools place there. Imported counts
    are not exported again (each area exports its own pupils)."""
    own = _levels([iv for iv in counting if iv.ret >= 0])
    own_vulnerable = _levels([iv for iv in vulnerable if iv.ret >= 0])
    rows = []
    for e, entity in enumerate(entities):
        steps = own.get(e)
        if not steps:
            continue
        prov = entity.facts(facts)
        entry = entity.entry
        ident = {
            "URN": (entry.urn if entry and entry.urn else next((p.urn for p in prov if p.urn), "")) or "",
            "Directory ID": (entry.directory_id if entry else next((p.directory_id for p in prov if p.directory_id), ""))
            or "",
            "Provider name": entity.name(facts), "Postcode": entity.postcode(facts) or "",
            "Registration": entity.registration(facts) or "",
        }
        changes = sorted({d for d, _ in steps} | {d for d, _ in own_vulnerable.get(e, [])})
        for a, b in zip(changes, changes[1:]):
            n = _level_on(steps, a)
            v = _level_on(own_vulnerable.get(e, []), a)
            if n or v:
                rows.append({**ident, "From": a.isoformat(), "To": (b - ONE_DAY).isoformat(),
                             "Full-time pupils": n, "Looked-after or EHC plan pupils": v})
    return rows


def _level_on(steps: list[tuple[dt.date, int]], day: dt.date) -> int:
    level = 0
    for d, n in steps:
        if d > day:
            break
        level = n
    return level


def write_counts(rows: list[dict[str, Any]], path: str) -> None:
    """`--export-counts`: a CSV of counts, no pupil data; text that starts with =, +, - or @ neutralised."""
    import csv
    import io

    from .output import write_text_atomic

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COUNT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()})
    write_text_atomic(path, buf.getvalue())
