"""The cell rules (CE001 to CE007) over one contract sheet: parse in bulk, then pandera.

`apxl.cells` parses each column and reports what is not of its type (CE002, CE003, CE007). The
remaining checks are a pandera DataFrameSchema built from schemas/ (lazy, so every failure is
collected): required values (CE001), allowed values (CE004), ranges (CE005) and uniqueness (CE006).
Cells that failed are marked unusable, so no later rule builds on a bad value (no cascades).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from .catalogue import finding
from .cells import Parsed, parse, quoted, shown
from .findings import Finding
from .layout import Table
from .schema import FieldSpec, SheetSchema


@cache
def pandera_schema(schema: SheetSchema):
    """The pandera DataFrameSchema for one contract sheet (built once per process)."""
    import pandera.pandas as pa

    columns = {}
    for spec in _checked_fields(schema):
        checks = []
        if spec.allowed:
            checks.append(pa.Check.isin(list(spec.allowed)))
        if spec.min is not None or spec.max is not None:
            checks.append(pa.Check.in_range(spec.min if spec.min is not None else -np.inf,
                                            spec.max if spec.max is not None else np.inf))
        if spec.unique:
            checks.append(pa.Check(lambda s: ~(s.duplicated(keep="first") & s.notna()), name="CE006"))
        columns[spec.name] = pa.Column(
            dtype=None, nullable=not spec.required, required=False, checks=checks, name=spec.name)
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name=schema.name)


def _may_fail(spec: FieldSpec, values: np.ndarray) -> bool:
    """Could any of this field's pandera checks fail on these values? (A cheap, conservative look.)"""
    missing = pd.isna(values)
    if spec.required and missing.any():
        return True
    present = values[~missing]
    if present.size == 0:
        return False
    if spec.allowed and not set(pd.unique(present)) <= set(spec.allowed):
        return True
    if spec.min is not None or spec.max is not None:
        low = -np.inf if spec.min is None else spec.min
        high = np.inf if spec.max is None else spec.max
        if np.nanmin(present) < low or np.nanmax(present) > high:
            return True
    if spec.unique and pd.Series(present).duplicated().any():
        return True
    return False


def _checked_fields(schema: SheetSchema) -> list[FieldSpec]:
    """The fields pandera has something to check on (a column with no rule costs time and finds nothing)."""
    return [f for f in schema.fields
            if f.required or f.allowed or f.unique or f.min is not None or f.max is not None]


def check_table(table: Table, as_of: dt.date) -> list[Finding]:
    """Parse every column of `table` and return its CE findings; fills table.parsed and table.usable."""
    schema = table.schema
    specs = schema.field_map
    findings: list[Finding] = []
    n = len(table)
    frame_data: dict[str, Any] = {}
    no_errors = np.zeros(n, dtype=bool)
    for fname, raw in table.raw.items():
        known = None if table.errors is None else table.errors.get(fname, no_errors)
        table.parsed[fname] = parse(raw, specs[fname], known)
    _set_records(table)
    for fname, parsed in table.parsed.items():
        spec = specs[fname]
        for issue in parsed.issues:
            findings.append(_cell_finding(table, issue.index, spec, issue.rule, **issue.params))
        values = parsed.values
        if parsed.failed.any():
            values = values.copy()
            values[parsed.failed] = np.datetime64("NaT") if values.dtype.kind == "M" else (np.nan if values.dtype.kind == "f" else None)
        frame_data[fname] = values
    if n == 0:
        for fname, parsed in table.parsed.items():
            table.usable[fname] = ~parsed.blank & ~parsed.failed
        return findings

    # pandera is given the columns where one of its checks can fail: a column with no blank, no value
    # outside its list or range and no repeat has nothing to report, and pandera's fixed cost per
    # column (about a millisecond) is most of a small tracker's check time.
    doubtful = {f.name for f in _checked_fields(schema) if f.name in frame_data and _may_fail(f, frame_data[f.name])}
    bad = {fname: p.failed.copy() for fname, p in table.parsed.items()}
    cases = None
    if doubtful:
        import pandera.errors as pe

        frame = pd.DataFrame({k: frame_data[k] for k in doubtful}, index=pd.RangeIndex(n), copy=False)
        try:
            pandera_schema(schema).validate(frame, lazy=True, inplace=True)
        except pe.SchemaErrors as errors:
            cases = errors.failure_cases
    if cases is not None and len(cases):
        findings.extend(_from_failure_cases(table, cases, bad, specs))
    findings.extend(_conditional_required(table, as_of))
    for fname, parsed in table.parsed.items():
        table.usable[fname] = ~parsed.blank & ~bad[fname]
    return findings


def _from_failure_cases(table: Table, cases: pd.DataFrame, bad: dict[str, np.ndarray],
                        specs: dict[str, FieldSpec]) -> list[Finding]:
    out: list[Finding] = []
    first_seen: dict[str, dict[Any, int]] = {}
    for column, check_name, index in zip(cases["column"], cases["check"], cases["index"]):
        check = _RULE_OF_CHECK.get(str(check_name).split("(")[0], check_name)
        if index is None or (isinstance(index, float) and np.isnan(index)) or column not in specs:
            continue
        i = int(index)
        spec = specs[column]
        parsed: Parsed = table.parsed[column]
        raw = table.raw[column][i]
        if check == "not_nullable":
            if parsed.failed[i]:
                continue  # already reported as CE002: not a second finding for the same cell
            out.append(_cell_finding(table, i, spec, "CE001", field_help=_help(spec)))
        elif check == "CE004":
            bad[column][i] = True
            out.append(_cell_finding(table, i, spec, "CE004", shown=quoted(raw), allowed=", ".join(spec.allowed)))
        elif check == "CE005":
            bad[column][i] = True
            out.append(_cell_finding(table, i, spec, "CE005", shown=shown(raw), low=_num(spec.min), high=_num(spec.max)))
        elif check == "CE006":
            if column not in first_seen:
                first_seen[column] = _first_positions(parsed.values)
            j = first_seen[column].get(parsed.values[i], i)
            _, first_cell, _ = table.location(j, column)
            sheet, _, _ = table.location(j, column)
            where = first_cell if sheet == table.location(i, column)[0] else f"{sheet}!{first_cell}"
            out.append(_cell_finding(table, i, spec, "CE006", shown=quoted(raw), first_cell=where))
    return out


# pandera's check names -> the cell rule each stands for
_RULE_OF_CHECK = {"isin": "CE004", "in_range": "CE005", "CE006": "CE006", "not_nullable": "not_nullable"}


def _first_positions(values: np.ndarray) -> dict[Any, int]:
    """value -> the row position where it first appears (for CE006's "first appears in")."""
    series = pd.Series(values, dtype=object)
    first = series[~series.duplicated(keep="first") & series.notna()]
    return dict(zip(first.to_numpy(), first.index.to_numpy()))


def _conditional_required(table: Table, as_of: dt.date) -> list[Finding]:
    out: list[Finding] = []
    for spec in table.schema.fields:
        cond = spec.required_when
        if not cond or spec.name not in table.parsed:
            continue
        parsed = table.parsed[spec.name]
        need = _condition_mask(table, cond, as_of)
        if need is None:
            continue
        for i in np.flatnonzero(need & parsed.blank):
            out.append(_cell_finding(table, int(i), spec, "CE001", field_help=_help(spec)))
    return out


def _condition_mask(table: Table, cond: Any, as_of: dt.date) -> np.ndarray | None:
    if cond == "active":
        start, planned, actual = (table.parsed.get(f) for f in ("Start date", "Planned end date", "Actual end date"))
        if start is None or planned is None:
            return None
        today = np.datetime64(as_of, "us")
        end = planned.values
        known = ~start.failed & ~planned.failed
        if actual is not None:
            end = np.where(~np.isnat(actual.values), actual.values, end)
            known &= ~actual.failed            # no cascades: an end date that is not a date decides nothing
        return known & (start.values <= today) & (today <= end)
    other = table.parsed.get(cond.get("field"))
    if other is None:
        return None
    values = other.values
    if "in" in cond:
        return np.isin(values, cond["in"]) & ~other.failed
    if "not_in" in cond:
        return ~np.isin(values, cond["not_in"]) & ~other.blank & ~other.failed
    return None


def _help(spec: FieldSpec) -> str:
    return f"{spec.help} " if spec.help else ""


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _cell_finding(table: Table, i: int, spec: FieldSpec, rule: str, **params: Any) -> Finding:
    sheet, cell, row = table.location(i, spec.name)
    raw = table.raw[spec.name][i] if spec.name in table.raw else ""
    return finding(rule, sheet=sheet, cell=cell, row=row, column=spec.name, record=table.record(i),
                   value=shown(raw), **params)


def _set_records(table: Table) -> None:
    """The record each row concerns: its key (Placement ID ...), else UPN and Start date."""
    if table.derived_from and table.records is not None:
        return
    n = len(table)
    key = table.schema.key
    records = np.full(n, None, dtype=object)
    if key and key in table.parsed:
        p = table.parsed[key]
        ok = ~p.blank & ~p.failed
        records[ok] = p.values[ok]
    if table.name == "Placements":
        upn, start = table.parsed.get("UPN"), table.parsed.get("Start date")
        missing = np.flatnonzero(pd.isna(records))
        for i in missing:
            parts = []
            if upn is not None and upn.values[i]:
                parts.append(str(upn.values[i]))
            if start is not None and not np.isnat(start.values[i]):
                parts.append(str(start.values[i])[:10])
            records[i] = " ".join(parts) or None
    if table.name == "Visits":
        provider = table.parsed.get("Provider ID")
        if provider is not None:
            missing = pd.isna(records) & ~provider.blank
            records[missing] = provider.values[missing]
    if table.name == "Explanations" and "Record" in table.parsed:
        rec = table.parsed["Record"]
        records = np.where(rec.blank, None, rec.values)
    table.records = records
