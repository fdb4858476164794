"""validate(): a workbook in, a report of findings out. The CLI and the Excel button both call this."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

import numpy as np

from .catalogue import finding
from .cells import parse, quoted, shown
from .checks import check_tables
from .errors import ApxlError
from .findings import Finding, Report
from .layout import Layout, Table, locate
from .mapping import Mapping, load_mapping, mapping_from_dict
from .policy import Policy, load_policy
from .reading import Workbook, from_memory, read_workbook
from .schema import personal_fields, sheet_schemas


class Context:
    """Everything a rule may look at: the located tables, Setup values, as-at date and policy, the Return
    date Setup gives, and the Directory IDs of the partnership's provider directory (PL006 knows them too)."""

    def __init__(self, workbook: Workbook, layout: Layout, as_of: dt.date, policy: Policy,
                 return_date: dt.date | None = None, directory_ids: frozenset[str] = frozenset()) -> None:
        self.workbook = workbook
        self.layout = layout
        self.tables = layout.tables
        self.setup = layout.setup
        self.as_of = as_of
        self.policy = policy
        self.return_date = return_date
        self.directory_ids = directory_ids        # trimmed, lower case


def validate(
    source: str | os.PathLike[str] | MappingABC[str, Any] | Workbook,
    *,
    as_of: dt.date | str | None = None,
    mapping: str | os.PathLike[str] | MappingABC[str, Any] | Mapping | None = None,
    policy: str | os.PathLike[str] | MappingABC[str, Any] | None = None,
    sheets: Iterable[str] | None = None,
    redact: bool = False,
) -> Report:
    """Check one workbook and return its findings.

    `source` is a path to .xlsx/.xlsm/.xls/.xlsb/.ods, or an in-memory workbook: a mapping of sheet
    name to a grid of cell values (rows from A1) or to a pandas DataFrame. `as_of` defaults to the
    Setup sheet's Return date, else today. `sheets` limits the check to some contract sheets.
    Raises `apxl.ApxlError` (with a one-line reason) when the workbook cannot be checked at all.
    """
    report, _ = check(source, as_of=as_of, mapping=mapping, policy=policy, sheets=sheets, redact=redact)
    return report


def check(
    source: str | os.PathLike[str] | MappingABC[str, Any] | Workbook,
    *,
    as_of: dt.date | str | None = None,
    mapping: str | os.PathLike[str] | MappingABC[str, Any] | Mapping | None = None,
    policy: str | os.PathLike[str] | MappingABC[str, Any] | Policy | None = None,
    sheets: Iterable[str] | None = None,
    redact: bool = False,
    directory_ids: Iterable[str] = (),
) -> tuple[Report, Context]:
    """`validate`, also giving the context the rules saw (the batch looks across schools with it).

    `directory_ids` are the Directory IDs of the partnership's provider directory: a placement whose Provider ID
    is one of them is not PL006."""
    workbook = _open(source)
    the_mapping = _mapping(mapping)
    the_policy = policy if isinstance(policy, Policy) else load_policy(policy)
    located = _locate(workbook, as_of=as_of, mapping=the_mapping, sheets=sheets, opened=workbook is not source)
    located.findings.extend(check_tables([located.tables], [located.day])[0])
    return _finish(located, the_policy, redact=redact, directory_ids=directory_ids)


def check_many(
    sources: list[str | os.PathLike[str] | MappingABC[str, Any] | Workbook],
    *,
    as_of: dt.date | str | None = None,
    policy: Policy | None = None,
    redact: bool = False,
    directory_ids: Iterable[str] = (),
) -> list[tuple[Report, Context] | Exception]:
    """`check` for many workbooks at once, each one's result (or the exception it raised) in order.

    The cell checks run over every workbook's tables together (each contract column parsed, and each of
    pandera's checks run, once for all of them, with a key per workbook where a check compares rows):
    a small return costs a few milliseconds of fixed cost per column and check, which this pays once.
    The findings are the same as checking each workbook on its own; should the checks together fail,
    each workbook is checked on its own, so one bad file cannot take the others with it.
    """
    the_policy = policy if isinstance(policy, Policy) else load_policy(policy)
    ids = frozenset(directory_ids)
    located: list[_Located | Exception] = []
    for source in sources:
        try:
            workbook = _open(source)
            located.append(_locate(workbook, as_of=as_of, mapping=Mapping(), opened=workbook is not source))
        except Exception as exc:  # noqa: BLE001 - each workbook's own error, given back in its place
            located.append(exc)
    readable = [item for item in located if isinstance(item, _Located)]
    try:
        together = check_tables([item.tables for item in readable], [item.day for item in readable])
    except Exception:  # noqa: BLE001 - checked one by one instead: the culprit alone gets its error
        return [_one(source, as_of, the_policy, redact, ids) for source in sources]
    for item, found in zip(readable, together):
        item.findings.extend(found)
    out: list[tuple[Report, Context] | Exception] = []
    for item in located:
        if isinstance(item, Exception):
            out.append(item)
            continue
        try:
            out.append(_finish(item, the_policy, redact=redact, directory_ids=ids))
        except Exception as exc:  # noqa: BLE001
            out.append(exc)
    return out


def _one(source: Any, as_of: Any, policy: Policy, redact: bool, ids: frozenset[str]) -> tuple[Report, Context] | Exception:
    try:
        return check(source, as_of=as_of, policy=policy, redact=redact, directory_ids=ids)
    except Exception as exc:  # noqa: BLE001
        return exc


@dataclass
class _Located:
    """A workbook whose contract sheets are found and whose Setup is checked, ready for the cell checks."""

    workbook: Workbook
    layout: Layout
    findings: list[Finding]        # so far: the layout's, the template version's and Setup's
    return_date: dt.date | None
    day: dt.date                   # the as-at date its checks use

    @property
    def tables(self) -> list[Table]:
        return list(self.layout.tables.values())


def _locate(workbook: Workbook, *, as_of: dt.date | str | None, mapping: Mapping,
            sheets: Iterable[str] | None = None, opened: bool) -> _Located:
    """Find the workbook's contract sheets and check its Setup (everything before the cell checks).

    `opened`: apxl opened the file, so its grids are let go once the tables hold their values."""
    only = set(sheets) if sheets is not None else None
    if only is not None:
        unknown = only - set(sheet_schemas())
        if unknown:
            raise ApxlError(f"unknown sheet {sorted(unknown)[0]!r}: choose from {', '.join(sheet_schemas())}")
    layout = locate(workbook, mapping, only)
    if opened:
        for grid in workbook.sheets.values():
            grid.release()          # a workbook we opened: the tables now hold every value the checks need
    findings: list[Finding] = list(layout.findings)
    findings.extend(_template_version_findings(workbook))

    setup_findings, return_date = _check_setup(layout)
    findings.extend(setup_findings)
    return _Located(workbook, layout, findings, return_date, _as_of(as_of, return_date))


def _finish(located: _Located, policy: Policy, *, redact: bool, directory_ids: Iterable[str]) -> tuple[Report, Context]:
    """The cross-sheet rules and explanations over a workbook whose cells are checked: its report."""
    layout, day = located.layout, located.day
    findings = _with_records(located.findings, layout)
    context = Context(located.workbook, layout, day, policy, located.return_date,
                      frozenset(str(d).strip().lower() for d in directory_ids))
    from .rules import run_rules

    findings.extend(run_rules(context))
    from .rules.explanations import apply_explanations

    findings = apply_explanations(context, findings)
    findings.sort(key=Finding.sort_key)
    report = Report(
        file=located.workbook.source,
        as_of=day.isoformat(),
        findings=findings,
        template_version=located.workbook.template_version,
        policy=policy.name,
    )
    return (report.redacted(_personal_values(layout)) if redact else report), context


# --- WB007: a workbook made from an older apxl template -----------------------------------------------


def _template_version_findings(workbook: Workbook) -> list[Finding]:
    """One WB007 when the workbook's `apxl_template_version` is older than the current template.

    A school's own tracker (no version) and a version apxl cannot read or does not know as older get nothing.
    """
    version = workbook.template_version
    if not version:
        return []
    from . import TEMPLATE_VERSION
    from .template import changes_since, version_key

    old, current = version_key(version), version_key(TEMPLATE_VERSION)
    if old is None or current is None or old >= current:
        return []
    return [finding("WB007", version=version, current=TEMPLATE_VERSION, changes=changes_since(version),
                    file=os.path.basename(workbook.source) or "tracker.xlsx")]


# ------------------------------------------------------------------------------------------------------


def _with_records(findings: list[Finding], layout: Layout) -> list[Finding]:
    """Name the record on layout findings (WB004, WB005) that point into a row of data."""
    from dataclasses import replace

    if not any(f.rule in ("WB004", "WB005") and f.record is None and f.row for f in findings):
        return findings
    where: dict[tuple[str, int], str] = {}
    for table in layout.tables.values():
        if table.records is None or table.derived_from:
            continue
        for i in range(len(table)):
            sheet, _, row = table.location(i)
            if table.records[i] is not None:
                where.setdefault((sheet, row), table.records[i])
    if not where:
        return findings
    return [replace(f, record=where.get((f.sheet, f.row))) if f.record is None and f.rule in ("WB004", "WB005") and f.row
            else f for f in findings]


def _open(source: Any) -> Workbook:
    if isinstance(source, Workbook):
        return source
    if isinstance(source, MappingABC):
        return from_memory(source)
    if isinstance(source, (str, os.PathLike)):
        return read_workbook(source)
    raise ApxlError(f"cannot validate a {type(source).__name__}: give a file path or a mapping of sheet name to rows")


def _mapping(mapping: Any) -> Mapping:
    if mapping is None:
        return Mapping()
    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, MappingABC):
        return mapping_from_dict(dict(mapping))
    return load_mapping(mapping)


def _as_of(as_of: dt.date | str | None, return_date: dt.date | None) -> dt.date:
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    if isinstance(as_of, str):
        return parse_day(as_of)
    return return_date or dt.date.today()


def parse_day(text: str) -> dt.date:
    """A date given on the command line: ISO (2026-11-30) or day-first (30/11/2026)."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ApxlError(f"{text!r} is not a date: give it as YYYY-MM-DD, like 2026-11-30")


_SETUP_PATTERNS = {
    "School URN": (re.compile(r"^\d{6}$"), "6 digits"),
    "LAESTAB": (re.compile(r"^\d{7}$"), "7 digits (3-digit LA code + 4-digit establishment number)"),
    "Academic year": (re.compile(r"^20\d{2}/\d{2}$"), "an academic year like 2026/27"),
}


def _check_setup(layout: Layout) -> tuple[list[Finding], dt.date | None]:
    """Setup values: required keys present, and each of its type (keys are matched in column A)."""
    schema = sheet_schemas()["Setup"]
    out: list[Finding] = []
    return_date = None
    if not layout.setup and not layout.setup_found:
        return out, None
    for spec in schema.fields:
        item = layout.setup.get(spec.name)
        where = dict(sheet=item.sheet, cell=item.cell, row=item.row) if item else {}
        if item is None:
            if spec.required:
                out.append(finding("WB002", sheet="Setup", column=spec.name, what="row (a key in column A)",
                                   aliases=", ".join(spec.aliases[:6]) or "none"))
            continue
        parsed = parse(np.array([item.value], dtype=object), spec)
        value = shown(item.value)
        for issue in parsed.issues:
            out.append(finding(issue.rule, column=spec.name, value=value, **where, **issue.params))
        if parsed.blank[0]:
            if spec.required:
                out.append(finding("CE001", column=spec.name, value="", field_help=f"{spec.help} " if spec.help else "", **where))
            continue
        if parsed.failed[0]:
            continue
        if spec.name in _SETUP_PATTERNS:
            pattern, words = _SETUP_PATTERNS[spec.name]
            text = str(parsed.values[0])
            if not pattern.match(text):
                out.append(finding("CE002", column=spec.name, value=value, expected=words, shown=quoted(item.value),
                                   fix=f"Enter {words}.", **where))
        if spec.name == "Return date":
            return_date = parsed.values[0].astype("datetime64[D]").item()
    return out, return_date


def _personal_values(layout: Layout) -> set[str]:
    """Every pupil name, UPN and date of birth in the workbook, for --redact."""
    values: set[str] = set()
    for sheet, fields in personal_fields().items():
        table = layout.tables.get(sheet)
        if table is None:
            continue
        for fname in fields:
            if fname not in table.raw:
                continue
            for v in table.raw[fname].tolist():
                text = shown(v).strip()
                if text:
                    values.add(text)
                    if isinstance(v, (dt.date, dt.datetime)):
                        d = v if not isinstance(v, dt.datetime) else v.date()
                        values.update({d.strftime("%d/%m/%Y"), f"{d.day} {d.strftime('%B %Y')}"})
    return values
