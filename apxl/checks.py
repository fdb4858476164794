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
from .cells import Issue, Parsed, parse, quoted, shown
from .findings import Finding
from .layout import Table
from .reading import CellError
from .schema import FieldSpec, SheetSchema


@cache
def register_backends() -> None:
    """Register pandera's pandas backends once, before the first check (and before the batch's workers fork,
    so they share them).

    pandera registers them at its first validation and, when the `hypothesis` package is installed,
    imports it for its data-synthesis strategies: 0.2-0.3 s, more than checking a small tracker, paid in
    every batch worker. In apxl's own processes (apxl.process.OWNED) hypothesis is hidden from that import, so pandera
    takes its "hypothesis not installed" path; a script's process, or one that has already imported
    hypothesis, is left as pandera makes it.
    """
    import sys

    import pandera.pandas as pa

    from .process import OWNED

    hide = OWNED and "hypothesis" not in sys.modules
    if hide:
        sys.modules["hypothesis"] = None  # type: ignore[assignment]  # `import hypothesis` raises ImportError
    try:
        pa.SeriesSchema.register_default_backends(pd.Series)
        pa.DataFrameSchema.register_default_backends(pd.DataFrame)
    finally:
        if hide and sys.modules.get("hypothesis", 0) is None:
            del sys.modules["hypothesis"]


@cache
def pandera_schema(schema: SheetSchema):
    """The pandera DataFrameSchema for one contract sheet (built once per process)."""
    import pandera.pandas as pa

    register_backends()

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


def _pandera_cases(schema: SheetSchema, fname: str, series: pd.Series, checks: list[str],
                   keyed: pd.Series | None = None) -> dict[str, list] | None:
    """Run pandera's `checks` of one column, one at a time: failure cases as {column, check, index}.

    `keyed` is the column given to the check that compares rows (CE006): its values paired with their
    table's number when several tables' columns are checked together.
    None when pandera answers in a form this does not know (then the caller runs the column's schema).
    """
    import pandera.errors as pe

    one = _one_check_schemas(schema)
    cases: dict[str, list] = {"column": [], "check": [], "index": []}
    for name in checks:
        try:
            one[(fname, name)].validate(keyed if name == "CE006" and keyed is not None else series,
                                        lazy=False, inplace=True)
        except pe.SchemaError as error:
            failed = error.failure_cases
            if not isinstance(failed, pd.DataFrame) or "index" not in failed:
                return None
            index = failed["index"].tolist()
            cases["column"] += [fname] * len(index)
            cases["check"] += [name] * len(index)
            cases["index"] += index
    return cases


def _may_fail_checks(spec: FieldSpec, values: np.ndarray, failed: np.ndarray | None = None,
                     owner: np.ndarray | None = None) -> list[str]:
    """The pandera checks of this field that fail on these values (not_nullable, isin, in_range, CE006).

    A cell that failed to parse is missing to pandera, but its not_nullable failure is never reported
    (the cell already has its CE002), so such cells alone are no reason to run pandera. `owner` numbers
    each value's table when several are checked together: a value repeats only within its own table.
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
    if spec.unique:
        distinct = present if owner is None else _keyed(values, owner)[~missing]
        if len(set(distinct.tolist())) < distinct.size if small else pd.Series(distinct).duplicated().any():
            out.append("CE006")
    return out


_SMALL = 512          # up to this many values, a set beats pandas' fixed cost per call


def _checked_fields(schema: SheetSchema) -> list[FieldSpec]:
    """The fields pandera has something to check on (a column with no rule costs time and finds nothing)."""
    return [f for f in schema.fields
            if f.required or f.allowed or f.unique or f.min is not None or f.max is not None]


def check_table(table: Table, as_of: dt.date) -> list[Finding]:
    """Parse every column of `table` and return its CE findings; fills table.parsed and table.usable."""
    return check_tables([[table]], [as_of])[0]


def check_tables(workbooks: list[list[Table]], days: list[dt.date]) -> list[list[Finding]]:
    """The cell checks of many workbooks' tables at once: each workbook's CE findings, in order.

    `workbooks[k]` are workbook k's tables in the order they were located, `days[k]` its as-at date. Each
    contract column is parsed once for every workbook that has it, and each pandera check runs once over
    them all (rows keyed by their table where the check compares rows, CE006), so many small returns pay
    the fixed cost of a parse or a check once; every finding is the one checking its workbook alone gives.
    Fills each table's parsed values, records and usable cells.
    """
    tables = [t for group in workbooks for t in group]
    _parse_together(tables)
    found: dict[int, list[Finding]] = {id(t): [] for t in tables}
    bad: dict[int, dict[str, np.ndarray]] = {}
    frames: dict[int, dict[str, Any]] = {}
    for group in workbooks:
        placements = next((t for t in group if t.name == "Placements"), None)
        for table in group:
            if table.derived_from and table.name == "Checklist" and placements is not None:
                table.records = placements.records      # the same rows as the placements they sit on
            frames[id(table)] = _cell_issues(table, found[id(table)])
            bad[id(table)] = {fname: p.failed.copy() for fname, p in table.parsed.items()}
    checked = [t for t in tables if len(t)]
    by_sheet: dict[SheetSchema, list[Table]] = {}
    for table in checked:
        by_sheet.setdefault(table.schema, []).append(table)
    for schema, members in by_sheet.items():
        _pandera_together(schema, members, frames, bad, found)
    for group, day in zip(workbooks, days):
        for table in group:
            if len(table):
                found[id(table)].extend(_conditional_required(table, day))
            for fname, parsed in table.parsed.items():
                table.usable[fname] = ~parsed.blank & ~bad[id(table)][fname]
    return [[f for table in group for f in found[id(table)]] for group in workbooks]


def _parse_together(tables: list[Table]) -> None:
    """Parse each contract column once for all the tables of one sheet that have it; table.parsed filled."""
    columns: dict[tuple[SheetSchema, str], list[Table]] = {}
    for table in tables:
        for fname in table.raw:
            columns.setdefault((table.schema, fname), []).append(table)
    sizes = {id(t): len(t) for t in tables}
    for (schema, fname), members in columns.items():
        spec = schema.field_map[fname]
        if len(members) == 1:
            table = members[0]
            known = None if table.errors is None else table.errors.get(fname, np.zeros(len(table), dtype=bool))
            table.parsed[fname] = parse(table.raw[fname], spec, known)
            continue
        raw = np.concatenate([t.raw[fname] for t in members])
        offsets = np.cumsum([0] + [sizes[id(t)] for t in members])
        known = np.zeros(int(offsets[-1]), dtype=bool)
        for k, t in enumerate(members):
            if t.errors is None or fname in t.errors:
                known[offsets[k]:offsets[k + 1]] = _error_cells(t, fname)
        whole = parse(raw, spec, known)
        issues: list[list[Issue]] = [[] for _ in members]
        if whole.issues:
            owners = np.searchsorted(offsets, [i.index for i in whole.issues], side="right") - 1
            for issue, k in zip(whole.issues, owners.tolist()):
                issues[k].append(Issue(issue.index - int(offsets[k]), issue.rule, issue.params))
        for k, table in enumerate(members):
            a, b = int(offsets[k]), int(offsets[k + 1])
            # views: each table's own slice of the columns parsed together (they do not overlap)
            table.parsed[fname] = Parsed(values=whole.values[a:b], blank=whole.blank[a:b], failed=whole.failed[a:b],
                                         issues=issues[k], marks={m: v[a:b] for m, v in whole.marks.items()})


def _error_cells(table: Table, fname: str) -> np.ndarray:
    """The cells of a column that hold an Excel error value (looked for when the reader did not say)."""
    if table.errors is not None:
        return table.errors.get(fname, np.zeros(len(table), dtype=bool))
    return np.fromiter((isinstance(v, CellError) for v in table.raw[fname]), dtype=bool, count=len(table))


def _cell_issues(table: Table, out: list[Finding]) -> dict[str, Any]:
    """The parse's findings of a table (CE002, CE003, CE007) and its columns as pandera sees them (a cell
    that failed to parse is missing to it); records set first, as the findings name them."""
    specs = table.schema.field_map
    _set_records(table)
    frame_data: dict[str, Any] = {}
    for fname, parsed in table.parsed.items():
        spec = specs[fname]
        for issue in parsed.issues:
            out.append(_cell_finding(table, issue.index, spec, issue.rule, **issue.params))
        values = parsed.values
        if parsed.failed.any():
            values = values.copy()
            values[parsed.failed] = np.datetime64("NaT") if values.dtype.kind == "M" else (np.nan if values.dtype.kind == "f" else None)
        frame_data[fname] = values
    return frame_data


def _pandera_together(schema: SheetSchema, members: list[Table], frames: dict[int, dict[str, Any]],
                      bad: dict[int, dict[str, np.ndarray]], found: dict[int, list[Finding]]) -> None:
    """pandera's checks (CE001, CE004, CE005, CE006) of one sheet's tables, a column of them all at a time.

    pandera is given the columns where one of its checks can fail: a column with no blank, no value
    outside its list or range and no repeat has nothing to report, and pandera's fixed cost per column
    (about a millisecond) is most of a small tracker's check time.
    """
    specs = schema.field_map
    for spec in sorted(_checked_fields(schema), key=lambda f: f.name):
        fname = spec.name
        tables = [t for t in members if fname in frames[id(t)]]
        if not tables:
            continue
        values = _joined([frames[id(t)][fname] for t in tables])
        failed = _joined([t.parsed[fname].failed for t in tables])
        sizes = [len(t) for t in tables]
        owner = np.repeat(np.arange(len(tables)), sizes) if len(tables) > 1 else None
        checks = _may_fail_checks(spec, values, failed, owner)
        if not checks:
            continue
        index = pd.RangeIndex(values.size)
        series = pd.Series(values, index=index, name=fname, copy=False)
        keyed = (pd.Series(_keyed(values, owner), index=index, name=fname, copy=False)
                 if owner is not None and "CE006" in checks else series)
        cases = _pandera_cases(schema, fname, series, checks, keyed)
        offsets = np.cumsum([0] + sizes)
        if cases is None:       # each table's column through its whole schema, lazily, as pandera reports it
            for table in tables:
                cases = _whole_column(schema, fname, frames[id(table)][fname])
                if cases is not None and len(cases["index"]):
                    found[id(table)].extend(_from_failure_cases(table, cases, bad[id(table)], specs))
            continue
        if not len(cases["index"]):
            continue
        per_table: list[dict[str, list]] = [{"column": [], "check": [], "index": []} for _ in tables]
        owners = np.searchsorted(offsets, np.asarray(cases["index"], dtype=np.int64), side="right") - 1
        for column, check, i, k in zip(cases["column"], cases["check"], cases["index"], owners.tolist()):
            part = per_table[k]
            part["column"].append(column)
            part["check"].append(check)
            part["index"].append(int(i) - int(offsets[k]))
        for table, part in zip(tables, per_table):
            if part["index"]:
                found[id(table)].extend(_from_failure_cases(table, part, bad[id(table)], specs))


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _keyed(values: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Each present value paired with its table's number (missing stays None): repeats are counted within a
    table only, as checking each table alone counts them."""
    kind = values.dtype.kind
    missing = np.isnan(values) if kind == "f" else np.isnat(values) if kind == "M" else pd.isna(values)
    out = np.full(values.size, None, dtype=object)
    present = np.flatnonzero(~missing)
    out[present] = list(zip(owner[present].tolist(), values[present].tolist()))
    return out


def _whole_column(schema: SheetSchema, fname: str, values: np.ndarray) -> Any:
    """One column through its whole pandera schema, lazily: failure cases as pandera reports them."""
    import pandera.errors as pe

    series = pd.Series(values, index=pd.RangeIndex(values.size), name=fname, copy=False)
    try:
        _series_schemas(schema)[fname].validate(series, lazy=True, inplace=True)
    except pe.SchemaErrors as errors:
        return errors.failure_cases
    return None


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
