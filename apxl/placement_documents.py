"""Placement documents, visit forms and the Ofsted list of APs in use, filled from the tracker
(the work behind `apxl documents` and `apxl ofsted-list`; apxl/documents.py is their command line).

`apxl documents FILE --out DIR` writes, per placement, a commissioning agreement, a placement plan and
(for an off-site direction) the notice to the parent or carer that SI 2010/1156 reg 3(4) requires; per
provider, a QA visit form and a monitoring-visit checklist. `apxl ofsted-list FILE` writes the list of
APs in use that Ofsted asks for at the planning call.

Templates are .docx (jinja2 through docxtpl) or .html (jinja2), looked up by name in `--templates DIR`,
else in the samples under workbooks/documents/. A value the tracker does not hold never prints as a
blank: it prints as "[not in the tracker: Parent address]" and the run lists it at the end and exits 1.

Imported only when a document is made: apxl/documents.py, which the CLI imports on every start, keeps
the parser and leaves this module (and its dataclasses, jinja2, docxtpl) until a command needs it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ApxlError
from .output import neutralise

SAMPLES = Path(__file__).resolve().parents[1] / "workbooks" / "documents"
OFF_SITE = "Off-site direction"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
DAY_NAMES = {"Mon": "Monday", "Tue": "Tuesday", "Wed": "Wednesday", "Thu": "Thursday", "Fri": "Friday"}
FULL_TIME_HOURS = 18.0          # the registration test's full-time line (domain.md, checklist item 2)


# --- the value that is not there ---------------------------------------------------------------------

class _Recorder:
    """The document being rendered collects here the fields it printed as missing.

    A value only counts as missing when the template prints it, so a partnership's own template that
    leaves a field out is not reported for it.
    """

    current: dict[str, None] | None = None


RECORDER = _Recorder()


@dataclass(frozen=True)
class Missing:
    """A field the tracker does not hold: prints visibly and is recorded for the end-of-run list."""

    label: str

    def __str__(self) -> str:
        if RECORDER.current is not None:
            RECORDER.current.setdefault(self.label, None)
        return f"[not in the tracker: {self.label}]"

    def __bool__(self) -> bool:       # `{% if parent %}` in a template is still told the truth
        return False


Text = str | Missing


# --- what a template can name ---------------------------------------------------------------------------

@dataclass
class School:
    name: Text
    urn: Text
    laestab: Text
    partnership: Text
    academic_year: Text
    session_times: Text


@dataclass
class Pupil:
    name: Text
    forename: Text
    surname: Text
    upn: Text
    date_of_birth: Text
    nc_year: Text
    sen_status: Text
    looked_after: Text


@dataclass
class Session:
    """One timetabled session: `times` is "09:00 to 12:00"."""

    day: Text
    location: Text
    start: Text
    end: Text
    times: Text


@dataclass
class Visit:
    date: Text
    type: Text
    visitor: Text
    outcome: Text
    report_on_file: Text


@dataclass
class Placement:
    id: str
    basis: Text
    off_site_direction: bool
    reason: Text
    objectives: Text
    status: Text
    start_date: Text
    planned_end_date: Text
    actual_end_date: Text
    school_days: Text
    ap_days_a_week: Text
    ap_hours: Text
    school_hours: Text
    total_hours: Text
    attendance_code: Text
    part_time_until: Text
    next_review_date: Text
    review_dates: Text
    reviews: list[Visit]
    monitoring_visits: list[Visit]
    notice_due_by: Text
    notice_sent: Text
    agreement_signed: Text
    plan_agreed: Text
    exit_plan_agreed: Text
    reports_to: Text
    parent: Text
    parent_address: Text
    sessions: list[Session]
    ap_sessions: list[Session]
    attendance: Text


@dataclass
class ProviderPupil:
    """A pupil placed at the provider, as the visit forms list them."""

    name: Text
    placement_id: str
    nc_year: Text
    sen_status: Text
    looked_after: Text
    start_date: Text
    planned_end_date: Text
    ap_hours: Text
    reason: Text
    objectives: Text
    reports_to: Text
    attendance: Text
    sessions: Text
    last_monitoring_visit: Text


@dataclass
class Provider:
    id: Text
    name: Text
    address: Text
    postcode: Text
    registration: Text
    urn: Text
    directory_id: Text
    audit_status: Text
    audit_date: Text
    audit_expires: Text
    dsl_name: Text
    dsl_phone: Text
    contact_email: Text
    insurance_expiry: Text
    pupils: list[ProviderPupil]
    pupil_count: str
    full_time_count: str
    looked_after_count: str
    ehcp_count: str
    last_qa_visit: Text
    visits: list[Visit]


@dataclass
class Document:
    kind: str
    title: str
    reference: str
    prepared_on: str


@dataclass(frozen=True)
class Kind:
    """A document kind: its template name, its title, and whether it is made per placement or per provider."""

    name: str
    title: str
    per: str                        # "placement" or "provider"
    off_site_only: bool = False

    def roots(self) -> dict[str, type]:
        if self.per == "placement":
            return {"school": School, "pupil": Pupil, "placement": Placement, "provider": Provider,
                    "document": Document}
        return {"school": School, "provider": Provider, "document": Document}


KINDS = (
    Kind("commissioning-agreement", "Commissioning agreement", "placement"),
    Kind("placement-plan", "Placement plan", "placement"),
    Kind("parent-notice", "Off-site direction: notice to the parent or carer", "placement", off_site_only=True),
    Kind("qa-visit", "QA visit form", "provider"),
    Kind("monitoring-checklist", "Monitoring visit checklist", "provider"),
)


def known_fields(roots: dict[str, type]) -> list[str]:
    """Every dotted name a template may use under these roots (`placement.sessions[].day` for loop items)."""
    out: list[str] = []

    def walk(prefix: str, cls: type) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            path = f"{prefix}.{f.name}"
            out.append(path)
            hint = hints[f.name]
            if typing.get_origin(hint) is list:
                item = typing.get_args(hint)[0]
                out.append(path + "[]")
                if dataclasses.is_dataclass(item):
                    walk(path + "[]", item)
            elif dataclasses.is_dataclass(hint):
                walk(path, hint)

    for root, cls in roots.items():
        out.append(root)
        walk(root, cls)
    return out


# --- formatting -----------------------------------------------------------------------------------------

def english_date(day: dt.date | None) -> str:
    """3 September 2026: how dates read in a letter to a parent (no locale, no leading zero)."""
    return "" if day is None else f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def clock(minutes: float) -> str:
    """Minutes after midnight (how the tracker's times are parsed) as 09:05."""
    m = int(round(minutes))
    return f"{m // 60:02d}:{m % 60:02d}"


def hours_text(value: float) -> str:
    return f"{value:g}"


def safe_name(ident: str) -> str:
    """A file name part from a tracker ID: no path separators, no leading dots, never empty."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", ident.strip()).strip("._-")[:80]
    return name or "unnamed"


# --- reading the tracker into documents ------------------------------------------------------------------

@dataclass
class Row:
    """Typed access to one table's row i, with the label each field prints under when it is blank."""

    values: dict[str, Any]

    def text(self, name: str, label: str | None = None) -> Text:
        v = self.values.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            return Missing(label or name)
        return str(v).strip()

    def raw(self, name: str) -> Any:
        v = self.values.get(name)
        return None if isinstance(v, str) and not v.strip() else v

    def date(self, name: str, label: str | None = None) -> Text:
        v = self.values.get(name)
        return Missing(label or name) if v is None else english_date(v)

    def number(self, name: str, label: str | None = None) -> Text:
        v = self.values.get(name)
        return Missing(label or name) if v is None else hours_text(v)


def _columns(table) -> dict[str, list[Any]]:
    """Every field of a table as a Python list: dates as dt.date, numbers as float, text; None when unusable."""
    import numpy as np

    from .rules.base import days, numbers, texts

    out: dict[str, list[Any]] = {}
    for name, parsed in table.parsed.items():
        kind = np.asarray(parsed.values).dtype.kind
        if kind == "M":
            out[name] = [None if np.isnat(d) else d.item() for d in days(table, name)]
        elif kind in "fiu":
            out[name] = [None if np.isnan(x) else float(x) for x in numbers(table, name)]
        else:
            out[name] = texts(table, name).tolist()
    return out


def _rows(table) -> list[Row]:
    if table is None:
        return []
    cols = _columns(table)
    return [Row({k: v[i] for k, v in cols.items()}) for i in range(len(table))]


def _key(value: Any) -> str | None:
    return None if value is None else str(value).strip().lower()


@dataclass
class Tracker:
    """The workbook read once, indexed the way the documents look things up."""

    as_of: dt.date
    school: School
    placements: list[Row]
    providers: list[Row]
    provider_of: list[int]                   # per placement: its row on Providers, -1 unknown
    in_use: list[bool]                       # per placement: active or planned on the as-at date
    school_days: list[int | None]            # per placement: school days from start to planned end
    notice_due: list[dt.date | None]         # per placement: 2 school days before the start
    sessions: dict[str, list[Row]]
    visits_by_placement: dict[str, list[Row]]
    visits_by_provider: dict[str, list[Row]]
    checklist: dict[str, Row]
    attendance: dict[str, tuple[float, float, float, int]]


def read_tracker(source: Any, *, as_of: Any = None, mapping: Any = None) -> Tracker:
    """Check the workbook (for its typed tables) and index what the documents need."""
    import numpy as np

    from .engine import check
    from .rules.base import calendar, days, provider_rows, spans

    _, ctx = check(source, as_of=as_of, mapping=mapping)
    placements = ctx.tables.get("Placements")
    if placements is None:
        raise ApxlError(f"{_source_name(source)}: no Placements sheet, so there is nothing to fill documents from")
    setup = {k: v.value for k, v in ctx.setup.items()}
    school = School(*(_setup_text(setup, k) for k in ("School name", "School URN", "LAESTAB", "Partnership",
                                                         "Academic year", "Session times")))
    rows = _rows(placements)
    prov_rows = provider_rows(ctx)
    provider_of = [-1] * len(rows) if prov_rows is None else [int(x) for x in prov_rows]
    sp = spans(ctx)
    in_use = [bool(x) for x in sp.active_or_planned(ctx.as_of)]
    for i, r in enumerate(rows):                 # dates unknown: believe Status
        if not sp.known[i] and r.raw("Status") != "Ended":
            in_use[i] = True
    cal = calendar(ctx)
    school_days: list[int | None] = [None] * len(rows)
    notice_due: list[dt.date | None] = [None] * len(rows)
    planned = days(placements, "Planned end date")
    ok = sp.known & ~np.isnat(planned) & (planned >= sp.start)
    if ok.any():
        start = sp.start[ok]
        counts = cal.count(start, planned[ok] + np.timedelta64(1, "D"))
        due = cal.add(cal.on_or_after(start), -2)
        for j, i in enumerate(np.flatnonzero(ok)):
            school_days[i] = int(counts[j])
            notice_due[i] = due[j].item()
    return Tracker(
        as_of=ctx.as_of, school=school, placements=rows, providers=_rows(ctx.tables.get("Providers")),
        provider_of=provider_of, in_use=in_use, school_days=school_days, notice_due=notice_due,
        sessions=_group(_rows(ctx.tables.get("Timetable")), "Placement ID"),
        visits_by_placement=_group(_rows(ctx.tables.get("Visits")), "Placement ID"),
        visits_by_provider=_group(_rows(ctx.tables.get("Visits")), "Provider ID"),
        checklist=_checklist(ctx, rows), attendance=_attendance(ctx.tables.get("Attendance")),
    )


def _source_name(source: Any) -> str:
    return str(source) if isinstance(source, str | Path) else "the workbook"


def _setup_text(setup: dict[str, Any], key: str) -> Text:
    v = setup.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        return Missing(key)
    if isinstance(v, dt.date):
        return english_date(v)
    return str(v).strip()


def _group(rows: list[Row], name: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        k = _key(r.raw(name))
        if k is not None:
            out.setdefault(k, []).append(r)
    return out


def _checklist(ctx, placements: list[Row]) -> dict[str, Row]:
    """Checklist rows by Placement ID (a single-sheet tracker's checklist sits on the placement's own row)."""
    table = ctx.tables.get("Checklist")
    if table is None:
        return {}
    rows = _rows(table)
    if table.derived_from:
        return {k: r for p, r in zip(placements, rows) if (k := _key(p.raw("Placement ID"))) is not None}
    return {k: r for r in rows if (k := _key(r.raw("Placement ID"))) is not None}


def _attendance(table) -> dict[str, tuple[float, float, float, int]]:
    """Per placement: sessions expected, attended, confirmed, and the number of weeks recorded."""
    out: dict[str, tuple[float, float, float, int]] = {}
    for r in _rows(table):
        k = _key(r.raw("Placement ID"))
        if k is None:
            continue
        e, a, c, w = out.get(k, (0.0, 0.0, 0.0, 0))
        out[k] = (e + (r.raw("Sessions expected") or 0), a + (r.raw("Sessions attended") or 0),
                  c + (r.raw("Sessions confirmed") or 0), w + 1)
    return out


# --- building each document's context ---------------------------------------------------------------------

SEN = {"N": "No special educational needs", "K": "SEN support", "E": "EHC plan"}


def _pupil(r: Row) -> Pupil:
    fore, sur = r.text("Forename"), r.text("Surname")
    name: Text = next((x for x in (fore, sur) if isinstance(x, Missing)), f"{fore} {sur}")
    return Pupil(name=name, forename=fore, surname=sur, upn=r.text("UPN"), date_of_birth=r.date("Date of birth"),
                 nc_year=r.text("NC year"), sen_status=_sen(r), looked_after=r.text("Looked after"))


def _sen(r: Row) -> Text:
    return SEN.get(r.raw("SEN status") or "", Missing("SEN status"))


def _sessions(t: Tracker, pid: str | None) -> list[Session]:
    rows = t.sessions.get(_key(pid) or "", [])
    order = sorted(rows, key=lambda s: (DAYS.index(s.raw("Day")) if s.raw("Day") in DAYS else 9,
                                        s.raw("Start time") or 0))
    out = []
    for s in order:
        start = clock(s.raw("Start time")) if s.raw("Start time") is not None else Missing("Start time")
        end = clock(s.raw("End time")) if s.raw("End time") is not None else Missing("End time")
        day = s.raw("Day")
        out.append(Session(day=DAY_NAMES.get(day, day) if day else Missing("Day"), location=s.text("Location"),
                           start=start, end=end, times=f"{start} to {end}"))
    return out


def _no_timetable() -> list[Session]:
    """The timetable table's one row when the Timetable sheet has no sessions for the placement."""
    gap = Missing("Timetable")
    return [Session(day=gap, location="", start="", end="", times=gap)]


def _visit(v: Row) -> Visit:
    return Visit(date=v.date("Visit date"), type=v.text("Visit type"), visitor=v.text("Visitor"),
                 outcome=v.text("Outcome"), report_on_file=v.text("Report on file"))


def _visits(rows: list[Row], kind: str) -> list[Visit]:
    chosen = sorted((v for v in rows if v.raw("Visit type") == kind), key=lambda v: v.raw("Visit date") or dt.date.min)
    return [_visit(v) for v in chosen]


def _attendance_text(t: Tracker, pid: str | None) -> str:
    got = t.attendance.get(_key(pid) or "")
    if not got:
        return "no weeks recorded on the Attendance sheet yet"
    e, a, c, w = got
    weeks = "week" if w == 1 else "weeks"
    return f"attended {a:g} of {e:g} sessions, {c:g} confirmed by the provider ({w} {weeks} recorded)"


def placement_context(t: Tracker, i: int, kind: Kind) -> dict[str, Any]:
    """What a placement document can print: school, pupil, placement, provider, document."""
    r = t.placements[i]
    pid = str(r.raw("Placement ID") or f"row {i + 2}")
    key = _key(pid) or ""
    sessions = _sessions(t, pid)
    ap_sessions = [s for s in sessions if s.location == "AP"]
    check = t.checklist.get(key, Row({}))
    reviews = _visits(t.visits_by_placement.get(key, []), "Review meeting")
    ap, school = r.raw("AP hours per week"), r.raw("School hours per week")
    basis = r.raw("Placement basis")
    placement = Placement(
        id=pid, basis=r.text("Placement basis"), off_site_direction=basis == OFF_SITE,
        reason=r.text("Reason"), objectives=r.text("Objectives"), status=r.text("Status"),
        start_date=r.date("Start date"), planned_end_date=r.date("Planned end date"),
        actual_end_date=english_date(r.raw("Actual end date")) or "not ended",
        school_days=str(t.school_days[i]) if t.school_days[i] is not None else Missing("Start date and Planned end date"),
        ap_days_a_week=str(len({s.day for s in ap_sessions})) if ap_sessions else Missing("Timetable"),
        ap_hours=r.number("AP hours per week"), school_hours=r.number("School hours per week"),
        total_hours=hours_text(ap + school) if ap is not None and school is not None else Missing("AP hours per week"),
        attendance_code=r.text("Attendance code"),
        part_time_until=english_date(r.raw("Part-time until")) or "no part-time timetable recorded",
        next_review_date=r.date("Next review date"),
        review_dates="; ".join(f"{v.date} ({v.outcome})" for v in reviews) or "none held yet",
        reviews=reviews, monitoring_visits=_visits(t.visits_by_placement.get(key, []), "Monitoring visit"),
        notice_due_by=english_date(t.notice_due[i]) or Missing("Start date"),
        notice_sent=_done(check, "Off-site direction notice sent"),
        agreement_signed=_done(check, "Commissioning agreement signed"),
        plan_agreed=_done(check, "Placement plan agreed"), exit_plan_agreed=_done(check, "Exit plan agreed"),
        reports_to=r.text("Reports to at provider"), parent=r.text("Parent or carer"),
        parent_address=r.text("Parent address"), sessions=sessions or _no_timetable(),
        ap_sessions=ap_sessions or _no_timetable(), attendance=_attendance_text(t, pid),
    )
    prow = t.provider_of[i]
    provider = provider_context(t, prow, r.raw("Provider ID")) if prow >= 0 else _unknown_provider(r.raw("Provider ID"))
    return {"school": t.school, "pupil": _pupil(r), "placement": placement, "provider": provider,
            "document": Document(kind=kind.name, title=kind.title, reference=pid,
                                 prepared_on=english_date(t.as_of))}


def _done(check: Row, item: str) -> str:
    v = check.values.get(item)
    return english_date(v) if isinstance(v, dt.date) else "not yet recorded"


def _unknown_provider(pid: Any) -> Provider:
    """A placement whose Provider ID is not on Providers: every provider field prints as missing."""
    gap = Missing
    return Provider(
        id=str(pid) if pid else gap("Provider ID"), name=gap("Provider name"), address=gap("Provider address"),
        postcode=gap("Provider postcode"), registration=gap("Registration"), urn=gap("Provider URN"),
        directory_id=gap("Directory ID"), audit_status=gap("LEBC audit status"), audit_date=gap("LEBC audit date"),
        audit_expires=gap("LEBC audit date"), dsl_name=gap("DSL name"), dsl_phone=gap("DSL phone"),
        contact_email=gap("Contact email"), insurance_expiry=gap("Insurance expiry"), pupils=[], pupil_count="0",
        full_time_count="0", looked_after_count="0", ehcp_count="0", last_qa_visit=gap("Provider on Providers"),
        visits=[])


def provider_context(t: Tracker, j: int, wanted_id: Any = None) -> Provider:
    """The provider on Providers row j, with the pupils placed there (active or planned) and its visits."""
    p = t.providers[j]
    key = _key(p.raw("Provider ID")) or ""
    mine = [i for i, row in enumerate(t.provider_of) if row == j and t.in_use[i]]
    pupils = [_provider_pupil(t, i) for i in mine]
    hours = [t.placements[i].raw("AP hours per week") or 0 for i in mine]
    registration = p.raw("Registration")
    urn: Text = p.text("URN", "Provider URN")
    if registration == "Unregistered" and isinstance(urn, Missing):
        urn = "none (not a registered school)"
    audit = p.raw("LEBC audit date")
    audit_date: Text = p.date("LEBC audit date")
    if audit is None and p.raw("LEBC audit status") == "Not audited":
        audit_date = "none (not audited)"
    qa = _visits(t.visits_by_provider.get(key, []), "QA visit")
    street, postcode = p.raw("Address"), p.raw("Postcode")
    address: Text = ", ".join(str(x).strip() for x in (street, postcode) if x) if street else Missing("Provider address")
    return Provider(
        id=p.text("Provider ID"), name=p.text("Provider name"), address=address,
        postcode=p.text("Postcode", "Provider postcode"), registration=p.text("Registration"), urn=urn,
        directory_id=p.text("Directory ID") if p.raw("Directory ID") else "none",
        audit_status=p.text("LEBC audit status"), audit_date=audit_date,
        audit_expires=english_date(_plus_year(audit)) if audit else audit_date,
        dsl_name=p.text("DSL name"), dsl_phone=p.text("DSL phone"), contact_email=p.text("Contact email"),
        insurance_expiry=p.date("Insurance expiry"), pupils=pupils, pupil_count=str(len(mine)),
        full_time_count=str(sum(h > FULL_TIME_HOURS for h in hours)),
        looked_after_count=str(sum(t.placements[i].raw("Looked after") == "Yes" for i in mine)),
        ehcp_count=str(sum(t.placements[i].raw("SEN status") == "E" for i in mine)),
        last_qa_visit=f"{qa[-1].date} by {qa[-1].visitor} ({qa[-1].outcome})" if qa else "no QA visit recorded",
        visits=qa,
    )


def _plus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:                  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _provider_pupil(t: Tracker, i: int) -> ProviderPupil:
    r = t.placements[i]
    pid = str(r.raw("Placement ID") or f"row {i + 2}")
    sessions = [s for s in _sessions(t, pid) if s.location == "AP"]
    monitoring = _visits(t.visits_by_placement.get(_key(pid) or "", []), "Monitoring visit")
    return ProviderPupil(
        name=_pupil(r).name, placement_id=pid, nc_year=r.text("NC year"),
        sen_status=_sen(r), looked_after=r.text("Looked after"),
        start_date=r.date("Start date"), planned_end_date=r.date("Planned end date"),
        ap_hours=r.number("AP hours per week"), reason=r.text("Reason"), objectives=r.text("Objectives"),
        reports_to=r.text("Reports to at provider"), attendance=_attendance_text(t, pid),
        sessions="; ".join(f"{s.day} {s.times}" for s in sessions) or "no sessions at the provider on the Timetable",
        last_monitoring_visit=f"{monitoring[-1].date} by {monitoring[-1].visitor}" if monitoring else "none yet",
    )


def provider_document_context(t: Tracker, j: int, kind: Kind) -> dict[str, Any]:
    provider = provider_context(t, j)
    return {"school": t.school, "provider": provider,
            "document": Document(kind=kind.name, title=kind.title, reference=str(provider.id),
                                 prepared_on=english_date(t.as_of))}


# --- rendering ---------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What a run wrote, and the documents that print a value the tracker does not hold."""

    written: list[Path] = field(default_factory=list)
    incomplete: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.incomplete else 0


def _undefined_class():
    """Undefined names print visibly (a typo in a partnership's template must not leave a blank)."""
    from jinja2 import Undefined

    class Visible(Undefined):
        __slots__ = ()

        def __str__(self) -> str:
            label = f"unknown field {self._undefined_name}" if self._undefined_name else "unknown field"
            if RECORDER.current is not None:
                RECORDER.current.setdefault(label, None)
            return f"[{label}]"

    return Visible


@dataclass
class Renderer:
    """One output format's templates, loaded once per run."""

    fmt: str
    templates: Path | None
    _cache: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def template_path(self, kind: Kind) -> Path:
        name = f"{kind.name}.{self.fmt}"
        if self.templates is not None:
            own = self.templates / name
            if own.is_file():
                return own
            self.notes.append(f"apxl: {self.templates} has no {name}: the sample template was used")
        sample = SAMPLES / name
        if not sample.is_file():
            raise ApxlError(f"the sample template {name} is not installed (it lives in apxl's source repository, "
                            "workbooks/documents/): give --templates DIR with your own")
        return sample

    def render(self, kind: Kind, context: dict[str, Any], out: Path) -> list[str]:
        """Write one document; the fields it printed as missing, in the order printed."""
        import zipfile

        from jinja2 import TemplateError

        RECORDER.current = {}
        try:
            if self.fmt == "docx":
                self._docx(kind, context, out)
            else:
                self._html(kind, context, out)
            return list(RECORDER.current)
        except TemplateError as exc:
            raise ApxlError(f"{self.template_path(kind)}: the template cannot be filled ({exc}); "
                            "apxl documents --check-templates DIR says where") from None
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise ApxlError(f"{self.template_path(kind)}: not a usable Word template ({exc})") from None
        except OSError as exc:
            raise ApxlError(f"{out}: cannot write the document ({exc.strerror or exc})") from None
        finally:
            RECORDER.current = None

    def _docx(self, kind: Kind, context: dict[str, Any], out: Path) -> None:
        import io

        from docxtpl import DocxTemplate
        from jinja2 import Environment

        if kind.name not in self._cache:
            self._cache[kind.name] = self.template_path(kind).read_bytes()
            self._cache["env"] = Environment(autoescape=True, undefined=_undefined_class())
        doc = DocxTemplate(io.BytesIO(self._cache[kind.name]))
        doc.render(context, jinja_env=self._cache["env"], autoescape=True)
        doc.save(str(out))

    def _html(self, kind: Kind, context: dict[str, Any], out: Path) -> None:
        if kind.name not in self._cache:
            from jinja2 import Environment

            env = Environment(autoescape=True, undefined=_undefined_class())
            self._cache[kind.name] = env.from_string(self.template_path(kind).read_text(encoding="utf-8"))
        out.write_text(self._cache[kind.name].render(context), encoding="utf-8")


def _need_docxtpl() -> None:
    try:
        import docxtpl  # noqa: F401
    except ImportError:
        raise ApxlError("Word documents need docxtpl: install apxl[documents] (or use --format html)") from None


def _out_dir(out: str | Path) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ApxlError(f"{out}: not a folder; --out names the folder the documents go in")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ApxlError(f"{out}: cannot make the folder ({exc.strerror or exc})") from None
    return path.resolve()


class _Names:
    """File names in the output folder from IDs: sanitised, unique within the run, never outside the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def __call__(self, ident: str, kind: Kind, fmt: str) -> Path:
        stem = f"{safe_name(ident)}-{kind.name}"
        name, n = f"{stem}.{fmt}", 2
        while name.lower() in self.used:
            name, n = f"{stem}-{n}.{fmt}", n + 1
        self.used.add(name.lower())
        path = (self.folder / name).resolve()
        if path.parent != self.folder:
            raise ApxlError(f"{ident}: cannot make a file name inside {self.folder} from this ID")
        return path


def _select(t: Tracker, placements: list[str] | None, providers: list[str] | None) -> tuple[list[int], list[int]]:
    """Which placements and providers get documents: those asked for, else every one in use."""
    p_index = {_key(r.raw("Placement ID")): i for i, r in reversed(list(enumerate(t.placements)))}
    v_index = {_key(r.raw("Provider ID")): j for j, r in reversed(list(enumerate(t.providers)))}
    if not placements and not providers:
        chosen = [i for i, use in enumerate(t.in_use) if use]
        return chosen, sorted({t.provider_of[i] for i in chosen if t.provider_of[i] >= 0})
    out_p, out_v = [], []
    for pid in placements or ():
        if _key(pid) not in p_index:
            raise ApxlError(f"no placement {pid} on the Placements sheet")
        out_p.append(p_index[_key(pid)])
    for pid in providers or ():
        if _key(pid) not in v_index:
            raise ApxlError(f"no provider {pid} on the Providers sheet")
        out_v.append(v_index[_key(pid)])
    return out_p, out_v


def generate(source: Any, out: str | Path, *, placements: list[str] | None = None,
             providers: list[str] | None = None, fmt: str = "docx", templates: str | Path | None = None,
             as_of: Any = None, mapping: Any = None) -> Outcome:
    """Fill every document for the chosen placements and providers into folder `out`.

    `source` is whatever `apxl.validate` accepts (a path or an in-memory workbook).
    """
    if fmt not in ("docx", "html"):
        raise ApxlError(f"unknown document format {fmt!r}: choose docx or html")
    if fmt == "docx":
        _need_docxtpl()
    if templates is not None and not Path(templates).is_dir():
        raise ApxlError(f"{templates}: no such folder of templates")
    tracker = read_tracker(source, as_of=as_of, mapping=mapping)
    chosen_p, chosen_v = _select(tracker, placements, providers)
    folder = _out_dir(out)
    renderer = Renderer(fmt, Path(templates) if templates is not None else None)
    names = _Names(folder)
    outcome = Outcome()

    def write(kind: Kind, ident: str, context: dict[str, Any]) -> None:
        path = names(ident, kind, fmt)
        missing = renderer.render(kind, context, path)
        outcome.written.append(path)
        if missing:
            outcome.incomplete.append((path.name, missing))

    for i in chosen_p:
        pid = str(tracker.placements[i].raw("Placement ID") or f"row {i + 2}")
        for kind in KINDS:
            if kind.per != "placement" or (kind.off_site_only and tracker.placements[i].raw("Placement basis") != OFF_SITE):
                continue
            write(kind, pid, placement_context(tracker, i, kind))
    for j in chosen_v:
        vid = str(tracker.providers[j].raw("Provider ID") or f"row {j + 2}")
        for kind in KINDS:
            if kind.per == "provider":
                write(kind, vid, provider_document_context(tracker, j, kind))
    for note in dict.fromkeys(renderer.notes):
        print(note, file=sys.stderr)
    return outcome


# --- checking a partnership's templates ------------------------------------------------------------------

TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@dataclass
class TemplateProblem:
    template: str
    problem: str


def _docx_paragraphs(path: Path) -> list[list[str]]:
    """Each paragraph of the body, headers and footers as the texts of its runs."""
    import zipfile

    from lxml import etree

    out: list[list[str]] = []
    # a template is a file from elsewhere: no entities, no network, no part larger than a document can be
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        with zipfile.ZipFile(path) as z:
            parts = [n for n in z.namelist() if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", n)]
            for part in sorted(parts, key=lambda n: (n != "word/document.xml", n)):
                info = z.getinfo(part)
                if info.file_size > 64 * 1024 * 1024:
                    raise ApxlError(f"{path}: {part} is larger than a document template can be "
                                    f"({info.file_size // (1024 * 1024)} MB)")
                with z.open(info) as fh:
                    root = etree.fromstring(fh.read(info.file_size + 1), parser)
                for p in root.iter(f"{W}p"):
                    runs = ["".join(t.text or "" for t in r.iter(f"{W}t")) for r in p.iter(f"{W}r")]
                    out.append([x for x in runs if x])
    except (zipfile.BadZipFile, OSError, etree.XMLSyntaxError) as exc:
        raise ApxlError(f"{path}: not a Word .docx file ({exc})") from None
    return out


def _split_tags(paragraphs: list[list[str]]) -> list[str]:
    """Placeholders whose characters sit in more than one run: Word split them while they were typed."""
    found = []
    for runs in paragraphs:
        text = "".join(runs)
        if "{" not in text:
            continue
        bounds, pos = [], 0
        for r in runs:
            pos += len(r)
            bounds.append(pos)
        for m in TAG.finditer(text):
            if any(m.start() < b < m.end() for b in bounds):
                found.append(m.group(0))
        rest = TAG.sub("", text)
        for opener in ("{{", "{%"):
            if opener in rest:
                found.append(rest[rest.index(opener):][:40] + " (not closed in the same paragraph)")
    return found


def _normalise_docxtpl(text: str) -> str:
    """docxtpl's own tags ({%tr for ...%}, {{r x}}) as plain jinja, for parsing."""
    text = re.sub(r"\{%-?\s*(tr|tc|p|r)\s", "{% ", text)
    return re.sub(r"\{\{-?\s*(r|p)\s", "{{ ", text)


def _names_used(source: str) -> list[str]:
    """The dotted names a jinja template reads (`placement.sessions[].day` inside a loop over sessions)."""
    from jinja2 import Environment, nodes

    tree = Environment().parse(source)
    out: list[str] = []
    skip = {"loop", "range", "dict", "lipsum", "cycler", "joiner", "namespace", "caller", "varargs", "kwargs"}

    def path(node, bound) -> str | None:
        if isinstance(node, nodes.Name):
            return bound.get(node.name, node.name)
        if isinstance(node, nodes.Getattr):
            base = path(node.node, bound)
            return None if base is None else f"{base}.{node.attr}"
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            base = path(node.node, bound)
            return None if base is None else f"{base}.{node.arg.value}"
        return None

    def targets(node) -> list[str]:
        if isinstance(node, nodes.Name):
            return [node.name]
        if isinstance(node, nodes.Tuple):
            return [n for item in node.items for n in targets(item)]
        return []

    def visit(node, bound: dict[str, str]) -> None:
        if isinstance(node, nodes.For):
            it = path(node.iter, bound)
            if it is not None:
                out.append(it)
            else:
                visit(node.iter, bound)
            inner = dict(bound)
            for name in targets(node.target):
                inner[name] = f"{it}[]" if it is not None else "~"
            for child in [*node.body, *node.else_, *([node.test] if node.test else [])]:
                visit(child, inner)
            return
        if isinstance(node, nodes.Assign | nodes.AssignBlock):
            for name in targets(node.target):
                bound[name] = "~"
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            p = path(node, bound)
            if p is not None:
                out.append(p)
                return
        for child in node.iter_child_nodes():
            visit(child, bound)

    visit(tree, {})
    return [p for p in out if not p.startswith("~") and p.split(".")[0] not in skip]


def _unknown(used: list[str], known: set[str], leaves: set[str]) -> list[str]:
    """Names that are neither a field nor something read off a field's value (`pupil.name.upper`)."""
    bad = []
    for p in dict.fromkeys(used):
        parts = p.split(".")
        prefixes = [".".join(parts[:k]) for k in range(1, len(parts) + 1)]
        if p in known or any(x in leaves for x in prefixes[:-1]):
            continue
        bad.append(p)
    return bad


def check_templates(folder: str | Path) -> tuple[list[TemplateProblem], list[str]]:
    """Problems in a folder of templates, and the fields apxl provides (for the message)."""
    from jinja2 import TemplateSyntaxError

    base = Path(folder)
    if not base.is_dir():
        raise ApxlError(f"{folder}: no such folder of templates")
    files = sorted(p for p in base.iterdir() if p.suffix.lower() in (".docx", ".html") and not p.name.startswith("~$"))
    if not files:
        raise ApxlError(f"{folder}: no .docx or .html templates in it")
    problems: list[TemplateProblem] = []
    by_name = {k.name: k for k in KINDS}
    every: dict[str, type] = {}
    for k in KINDS:
        every.update(k.roots())
    for path in files:
        kind = by_name.get(path.stem)
        roots = kind.roots() if kind else every
        known = set(known_fields(roots))
        leaves = {k for k in known if not any(x.startswith(k + ".") for x in known)}
        if path.suffix.lower() == ".docx":
            paragraphs = _docx_paragraphs(path)
            for tag in _split_tags(paragraphs):
                problems.append(TemplateProblem(path.name, f"placeholder split across runs by Word: {tag} "
                                                           "(select it, delete it and type it again in one go)"))
            source = _normalise_docxtpl("\n".join("".join(runs) for runs in paragraphs))
        else:
            source = path.read_text(encoding="utf-8", errors="replace")
        try:
            used = _names_used(source)
        except TemplateSyntaxError as exc:
            problems.append(TemplateProblem(path.name, f"template syntax error on line {exc.lineno}: {exc.message}"))
            continue
        for name in _unknown(used, known, leaves):
            problems.append(TemplateProblem(path.name, f"unknown field {name}"))
    return problems, known_fields(every)


# --- the Ofsted list ---------------------------------------------------------------------------------------

@dataclass
class OfstedRow:
    """One AP in use: what Ofsted asks for at the planning call. Per-pupil cells hold one line per pupil."""

    provider_id: Text
    name: Text
    address: Text
    registration: Text
    urn: Text
    pupil_count: int
    pupils: list[str]
    reasons: list[str]
    start_dates: list[str]
    hours: list[str]


def ofsted_rows(t: Tracker) -> tuple[list[OfstedRow], list[str]]:
    """One row per provider with a pupil placed (active or planned), in Providers order; the fields missing."""
    RECORDER.current = {}
    try:
        groups: dict[Any, list[int]] = {}
        for i, use in enumerate(t.in_use):
            if use:
                row = t.provider_of[i]
                groups.setdefault(row if row >= 0 else ("?", _key(t.placements[i].raw("Provider ID"))), []).append(i)
        rows = []
        for key in sorted(groups, key=lambda k: (isinstance(k, tuple), str(k))):
            mine = groups[key]
            p = provider_context(t, key) if isinstance(key, int) else _unknown_provider(
                t.placements[mine[0]].raw("Provider ID"))
            pupils = [_provider_pupil(t, i) for i in mine]
            rows.append(OfstedRow(
                provider_id=p.id, name=p.name, address=p.address, registration=p.registration,
                urn=p.urn if p.registration in ("Registered school", "FE college") or isinstance(p.registration, Missing)
                else "none (not registered)",
                pupil_count=len(mine), pupils=[f"{x.name} (Year {x.nc_year}, {x.placement_id})" for x in pupils],
                reasons=[str(x.reason) for x in pupils], start_dates=[str(x.start_date) for x in pupils],
                hours=[str(x.ap_hours) for x in pupils]))
        for r in rows:                      # print every field once so that the missing ones are recorded
            for v in (r.provider_id, r.name, r.address, r.registration, r.urn):
                str(v)
        return rows, list(RECORDER.current)
    finally:
        RECORDER.current = None


OFSTED_HEADERS = ("Provider ID", "Provider", "Address", "Registration", "URN", "Pupils", "Pupil (year, placement)",
                  "Why they attend", "Start date", "Hours a week at the AP")


def write_ofsted_xlsx(rows: list[OfstedRow], title: str, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    ws = wb.add_worksheet("APs in use")
    bold = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    ws.write_string(0, 0, neutralise(title), wb.add_format({"bold": True, "font_size": 13}))
    for c, h in enumerate(OFSTED_HEADERS):
        ws.write_string(2, c, h, bold)
    for r, row in enumerate(rows, start=3):
        cells = [str(row.provider_id), str(row.name), str(row.address), str(row.registration), str(row.urn),
                 row.pupil_count, "\n".join(row.pupils), "\n".join(row.reasons), "\n".join(row.start_dates),
                 "\n".join(row.hours)]
        for c, v in enumerate(cells):
            if isinstance(v, int):
                ws.write_number(r, c, v, wrap)
            else:
                ws.write_string(r, c, neutralise(v), wrap)
    for c, width in enumerate((12, 28, 34, 18, 10, 8, 34, 44, 18, 12)):
        ws.set_column(c, c, width)
    ws.freeze_panes(3, 2)
    ws.autofilter(2, 0, 2 + len(rows), len(OFSTED_HEADERS) - 1)
    wb.close()


OFSTED_HTML = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:Arial,sans-serif;margin:2em}table{border-collapse:collapse}
th,td{border:1px solid #999;padding:4px 6px;vertical-align:top;text-align:left}th{background:#ddebf7}</style>
</head><body><h1>{{ title }}</h1>
<table><thead><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.provider_id }}</td><td>{{ r.name }}</td><td>{{ r.address }}</td>
<td>{{ r.registration }}</td><td>{{ r.urn }}</td><td>{{ r.pupil_count }}</td>
{% for cell in (r.pupils, r.reasons, r.start_dates, r.hours) %}<td>{% for line in cell %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>{% endfor %}
</tr>{% endfor %}</tbody></table></body></html>
"""


def write_ofsted_html(rows: list[OfstedRow], title: str, path: Path) -> None:
    from jinja2 import Environment

    text = Environment(autoescape=True).from_string(OFSTED_HTML).render(title=title, headers=OFSTED_HEADERS, rows=rows)
    path.write_text(text, encoding="utf-8")


def ofsted_list(source: Any, output: str | Path, *, fmt: str = "xlsx", as_of: Any = None,
                mapping: Any = None) -> tuple[Path, list[str]]:
    """Write the list of APs in use; returns the path and the fields it shows as missing."""
    t = read_tracker(source, as_of=as_of, mapping=mapping)
    rows, missing = ofsted_rows(t)
    title = f"Alternative provision in use at {t.school.name} (URN {t.school.urn}) on {english_date(t.as_of)}"
    path = Path(output)
    try:
        (write_ofsted_xlsx if fmt == "xlsx" else write_ofsted_html)(rows, title, path)
    except OSError as exc:
        raise ApxlError(f"{output}: cannot write the list ({exc.strerror or exc})") from None
    return path, missing
