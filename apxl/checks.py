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
    # each column's checks one by one too, as Series schemas: pandera reports one failing check of one
    # column in a quarter of the time it takes through the frame (no layers of failure-case collation),
    # and check_table runs only the checks that can fail
    one: dict[tuple[str, str], Any] = {}
    for name, column in columns.items():
        if not column.nullable:
            one[(name, NOT_NULLABLE)] = pa.SeriesSchema(dtype=None, nullable=False, name=name, coerce=False)
        for check in column.checks:
            one[(name, check.name)] = pa.SeriesSchema(dtype=None, nullable=True, checks=[check], name=name, coerce=False)
    _ONE_CHECK_SCHEMAS[schema] = one
    _SERIES_SCHEMAS[schema] = {
        name: pa.SeriesSchema(dtype=None, nullable=column.nullable, checks=column.checks, name=name, coerce=False)
        for name, column in columns.items()}
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name=schema.name)


NOT_NULLABLE = "not_nullable"
_SERIES_SCHEMAS: dict[SheetSchema, dict[str, Any]] = {}
_ONE_CHECK_SCHEMAS: dict[SheetSchema, dict[tuple[str, str], Any]] = {}


def _series_schemas(schema: SheetSchema) -> dict[str, Any]:
    """field -> the pandera SeriesSchema of that column of `pandera_schema(schema)` (built with it)."""
    pandera_schema(schema)
    return _SERIES_SCHEMAS[schema]


def _one_check_schemas(schema: SheetSchema) -> dict[tuple[str, str], Any]:
    """(field, pandera check name or not_nullable) -> a SeriesSchema holding that one check (built with it)."""
    pandera_schema(schema)
    return _ONE_CHECK_SCHEMAS[schema]


def _pandera_cases(schema: SheetSchema, fname: str, series: pd.Series, checks: list[str]) -> dict[str, list] | None:
    """Run pandera's `checks` of one column, one at a time: failure cases as {column, check, index}.

    None when pandera answers in a form this does not know (then the caller runs the column's schema).
    """
    import pandera.errors as pe

    one = _one_check_schemas(schema)
    cases: dict[str, list] = {"column": [], "check": [], "index": []}
    for name in checks:
        try:
            one[(fname, name)].validate(series, lazy=False, inplace=True)
        except pe.SchemaError as error:
            failed = error.failure_cases
            if not isinstance(failed, pd.DataFrame) or "index" not in failed:
                return None
            index = failed["index"].tolist()
            cases["column"] += [fname] * len(index)
            cases["check"] += [name] * len(index)
            cases["index"] += index
    return cases


def _may_fail(spec: FieldSpec, values: np.ndarray, failed: np.ndarray | None = None) -> bool:
    """Could any of this field's pandera checks fail on these values? (A cheap, conservative look.)"""
    return bool(_may_fail_checks(spec, values, failed))


def _may_fail_checks(spec: FieldSpec, values: np.ndarray, failed: np.ndarray | None = None) -> list[str]:
    """The pandera checks of this field that fail on these values (not_nullable, isin, in_range, CE006).

    A cell that failed to parse is missing to pandera, but its not_nullable failure is never reported
    (the cell already has its CE002), so such cells alone are no reason to run pandera.
    """
    out: list[str] = []
    kind = values.dtype.kind
    missing = np.isnan(values) if kind == "f" else np.isnat(values) if kind == "M" else pd.isna(values)
    if spec.required and (missing.any() if failed is None else (missing & ~failed).any()):
        out.append(NOT_NULLABLE)
    present = values[~missing]
    if present.size == 0:
        return out
    small = present.size <= _SMALL and kind == "O"
    if spec.allowed and not (set(present.tolist()) if small else set(pd.unique(present))) <= set(spec.allowed):
        out.append("isin")
    if spec.min is not None or spec.max is not None:
        low = -np.inf if spec.min is None else spec.min
        high = np.inf if spec.max is None else spec.max
        if np.nanmin(present) < low or np.nanmax(present) > high:
            out.append("in_range")
    if spec.unique and (len(set(present.tolist())) < present.size if small else pd.Series(present).duplicated().any()):
        out.append("CE006")
    return out


_SMALL = 512          # up to this many values, a set beats pandas' fixed cost per call


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
    doubtful = {f.name: _may_fail_checks(f, frame_data[f.name], table.parsed[f.name].failed)
                for f in _checked_fields(schema) if f.name in frame_data}
    bad = {fname: p.failed.copy() for fname, p in table.parsed.items()}
    index = pd.RangeIndex(n)
    for fname in sorted(f for f, checks in doubtful.items() if checks):
        series = pd.Series(frame_data[fname], index=index, name=fname, copy=False)
        cases = _pandera_cases(schema, fname, series, doubtful[fname])
        if cases is None:      # the column's whole schema, lazily, as pandera reports it
            import pandera.errors as pe

            try:
                _series_schemas(schema)[fname].validate(series, lazy=True, inplace=True)
            except pe.SchemaErrors as errors:
                cases = errors.failure_cases
        if cases is not None and len(cases["index"]):
            findings.extend(_from_failure_cases(table, cases, bad, specs))
    findings.extend(_conditional_required(table, as_of))
    for fname, parsed in table.parsed.items():
        table.usable[fname] = ~parsed.blank & ~bad[fname]
    return findings


def _from_failure_cases(table: Table, cases: Any, bad: dict[str, np.ndarray],
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
