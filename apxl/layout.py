"""Finding the contract's sheets and columns in a workbook, whatever shape a school keeps it in.

For each contract sheet this finds the workbook sheet(s) that hold it (the mapping file, then the sheet
name or an alias, then the headers it carries), the header row within the first 20 rows (or an Excel
Table's header), the column of each field (canonical header, alias, or the mapping), and the data rows
below it, blank rows skipped. Every value keeps its position, so findings point at the cells of the
file as it is. A single-sheet tracker gives its Providers and Checklist from the same rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .catalogue import finding
from .findings import Finding
from .mapping import Mapping
from .reading import SheetGrid, Workbook
from .schema import OPTIONAL_SHEET_RULES, SheetSchema, normalise_header, shared_alias_index, sheet_schemas

HEADER_SEARCH_ROWS = 20
APXL_SHEETS = {"warnings", "apxl warnings", "start", "lists", "apxl lists"}


@lru_cache(maxsize=1024)
def col_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """0-based row and column -> A1 reference."""
    return f"{col_letter(col)}{row + 1}"


@dataclass
class Source:
    """Where one block of a contract sheet's rows lives in the workbook."""

    sheet: str
    header_row: int                        # 0-based
    columns: dict[str, int]                # field -> 0-based column
    headers: dict[str, str]                # field -> header text as seen


@dataclass
class Table:
    """One contract sheet's rows: raw values per field, and each row's place in the workbook."""

    schema: SheetSchema
    sources: list[Source]
    src: np.ndarray                        # index into sources, per row
    rows: np.ndarray                       # 0-based grid row, per row
    raw: dict[str, np.ndarray]             # field -> raw cell values (object array)
    derived_from: str | None = None        # a single-sheet tracker: the sheet it came from
    records: np.ndarray | None = None      # the record each row concerns (Placement ID ...)
    errors: dict[str, np.ndarray] | None = None   # field -> Excel error cells; None: not known
    parsed: dict[str, Any] = field(default_factory=dict)
    usable: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.schema.name

    def __len__(self) -> int:
        return int(self.rows.size)

    def has(self, field_name: str) -> bool:
        return field_name in self.raw

    def location(self, i: int, field_name: str | None = None) -> tuple[str, str | None, int]:
        """(sheet, A1 cell or None, Excel row) of row i's cell in `field_name`."""
        source = self.sources[int(self.src[i])]
        row = int(self.rows[i])
        col = source.columns.get(field_name) if field_name else None
        return source.sheet, (a1(row, col) if col is not None else None), row + 1

    def record(self, i: int) -> str | None:
        return None if self.records is None else self.records[i]


@dataclass
class SetupValue:
    value: Any
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None


@dataclass
class Layout:
    tables: dict[str, Table] = field(default_factory=dict)
    setup: dict[str, SetupValue] = field(default_factory=dict)
    setup_found: bool = False
    findings: list[Finding] = field(default_factory=list)
    missing_items: list[str] = field(default_factory=list)


# --- header matching ----------------------------------------------------------------------------

def _header_index(schema: SheetSchema, mapping: Mapping) -> dict[str, str]:
    """normalised header -> field (read only: the schema's index is shared unless the mapping adds to it)."""
    chosen = [(fname, choice.header) for fname, choice in mapping.columns.get(schema.name, {}).items() if choice.header]
    if not chosen:
        return shared_alias_index(schema)
    index = schema.alias_index()
    for fname, header in chosen:
        index[normalise_header(header)] = fname
    return index


def _match(text: Any, index: dict[str, str]) -> str | None:
    if not isinstance(text, str):
        return None
    for key in _header_keys(text):
        hit = index.get(key)
        if hit is not None:
            return hit
    return None


@lru_cache(maxsize=16384)
def _header_keys(text: str) -> tuple[str, ...]:
    """The keys a header cell is looked up by, in order: as written, without a bracketed note, without
    a trailing "required". Each distinct header text is worked out once per process."""
    if not text.strip():
        return ()
    key = normalise_header(text)
    keys = [key]
    if "(" in text:
        keys.append(normalise_header(re.sub(r"\(.*?\)", " ", text)))
    if key.endswith(" required"):
        keys.append(key[: -len(" required")])
    return tuple(keys)


def _row_matches(row: list[Any], index: dict[str, str], lo: int = 0, hi: int | None = None) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for c in range(lo, min(len(row), hi if hi is not None else len(row))):
        text = row[c]
        if not isinstance(text, str):        # (_match, inlined: every cell of the first rows comes here)
            continue
        for key in _header_keys(text):
            fname = index.get(key)
            if fname is not None:
                if fname:
                    found.setdefault(fname, []).append(c)
                break
    return found


def _best_header(rows: list[list[Any]], index: dict[str, str], search: int = HEADER_SEARCH_ROWS) -> tuple[int, dict[str, list[int]]]:
    best_row, best = -1, {}
    most = len(set(index.values()))          # a row naming every field cannot be beaten: stop there
    for r in range(min(search, len(rows))):
        found = _row_matches(rows[r], index)
        if len(found) > len(best):
            best_row, best = r, found
            if len(best) >= most:
                break
    return best_row, best


def _enough(schema: SheetSchema, matched: dict[str, list[int]], by_name: bool) -> bool:
    if by_name:
        return len(matched) >= 1
    required = [f.name for f in schema.fields if f.required]
    return len(matched) >= max(3, (len(required) + 2) // 3)


def _sheet_names(schema: SheetSchema) -> set[str]:
    return {normalise_header(n) for n in (schema.name, *schema.aliases)}


# --- locating ----------------------------------------------------------------------------------

def locate(workbook: Workbook, mapping: Mapping, only: set[str] | None = None) -> Layout:
    """Find every contract sheet in the workbook; report what is missing or ambiguous (WB rules)."""
    layout = Layout()
    schemas = sheet_schemas()
    wanted = [s for s in schemas.values() if only is None or s.name in only]
    sheets = workbook.sheets
    claimed: set[str] = set()
    plan: dict[str, list[str]] = {}

    # 1. the mapping file, 2. the sheet's name or an alias
    for schema in wanted:
        if schema.name in mapping.sheets:
            for name in mapping.sheets[schema.name]:
                if name not in sheets:
                    hit = next((s for s in sheets if s.strip().lower() == name.strip().lower()), None)
                    if hit is None:
                        from .errors import MappingError

                        raise MappingError(f"{mapping.source}: the mapping names sheet {name!r} for {schema.name}, but the workbook has no such sheet (it has: {', '.join(sheets)})")
                    name = hit
                plan.setdefault(schema.name, []).append(name)
                claimed.add(name)
    for by_alias in (False, True):
        for schema in wanted:
            if schema.name in plan:
                continue
            names = {normalise_header(schema.name)} if not by_alias else _sheet_names(schema)
            for sname in sheets:
                if sname not in claimed and normalise_header(sname) in names:
                    plan[schema.name] = [sname]
                    claimed.add(sname)
                    break

    # 3. by the headers it carries (a school's own tracker: "AP Tracker", "Autumn 2026" ...)
    for schema in wanted:
        if schema.name in plan or schema.kind != "table" or schema.name == "Explanations":
            continue
        index = _header_index(schema, mapping)
        hits = []
        for sname, grid in sheets.items():
            if sname in claimed or normalise_header(sname) in APXL_SHEETS:
                continue
            _, matched = _best_header(grid.rows, index)
            if _enough(schema, matched, by_name=False):
                hits.append(sname)
        if schema.name == "Placements":
            plan[schema.name] = hits           # a sheet per term: every sheet of placements
            claimed.update(hits)
        elif hits:
            plan[schema.name] = hits[:1]
            claimed.add(hits[0])

    for schema in wanted:
        names = plan.get(schema.name) or []
        if schema.kind == "keyvalue":
            _locate_setup(layout, sheets[names[0]] if names else None, schema, mapping)
            continue
        if names:
            table = _build_table(layout, schema, [sheets[n] for n in names], mapping)
            layout.tables[schema.name] = table
    _derive_from_single_sheet(layout, sheets, mapping, wanted)
    _missing_sheets(layout, wanted, mapping)
    return layout


def _build_table(layout: Layout, schema: SheetSchema, grids: list[SheetGrid], mapping: Mapping,
                 *, header_row: int | None = None, exclude: set[int] | None = None,
                 allow_cols: set[int] | None = None) -> Table:
    index = _header_index(schema, mapping)
    sources: list[Source] = []
    src_parts: list[np.ndarray] = []
    row_parts: list[np.ndarray] = []
    value_parts: dict[str, list[np.ndarray]] = {f.name: [] for f in schema.fields}
    error_parts: dict[str, list[np.ndarray]] = {}
    errors_known = all(g.content.errors is not None for g in grids)
    for grid in grids:
        rows = grid.rows
        table_range = None
        if grid.tables and header_row is None:
            scored = [(len(_row_matches(rows[t.header_row], index, t.first_col, t.last_col + 1)), t)
                      for t in grid.tables if 0 <= t.header_row < len(rows)]
            scored = [s for s in scored if s[0] > 0]
            if scored:
                table_range = max(scored, key=lambda s: s[0])[1]
        if table_range is not None:
            hrow = table_range.header_row
            matched = _row_matches(rows[hrow], index, table_range.first_col, table_range.last_col + 1)
            last = min(table_range.last_row, len(rows) - 1)
            lo, hi = table_range.first_col, table_range.last_col + 1
        else:
            hrow, matched = (header_row, _row_matches(rows[header_row], index)) if header_row is not None else _best_header(rows, index)
            last = len(rows) - 1
            lo, hi = 0, None
        if hrow < 0:
            hrow, matched = 0, {}
        if exclude:
            matched = {f: [c for c in cols if c not in exclude or (allow_cols and c in allow_cols)] for f, cols in matched.items()}
            matched = {f: cols for f, cols in matched.items() if cols}
        columns, headers = _choose_columns(layout, schema, grid, hrow, matched, mapping)
        source = Source(sheet=grid.name, header_row=hrow, columns=columns, headers=headers)
        sources.append(source)
        block_first = hrow + 1
        block = _block(rows, block_first, min(last, len(rows) - 1) + 1)
        data_rows = _data_rows(rows, block_first, last, lo, hi, block)
        src_parts.append(np.full(data_rows.size, len(sources) - 1, dtype=np.int32))
        row_parts.append(data_rows)
        for fname in value_parts:
            col = columns.get(fname)
            if col is None:
                value_parts[fname].append(None)  # type: ignore[arg-type]
            elif block is not None and col < block.shape[1]:
                value_parts[fname].append(block[data_rows - block_first, col])
            else:
                value_parts[fname].append(_column(rows, data_rows, col))
        if grid.content.errors:
            by_col: dict[int, list[int]] = {}
            for r, c in grid.content.errors:
                by_col.setdefault(c, []).append(r)
            for fname, col in columns.items():
                if col in by_col:
                    error_parts.setdefault(fname, []).append((len(sources) - 1, np.isin(data_rows, by_col[col])))
        _merged_and_formulas(layout, grid, hrow, last, lo, hi, columns)
    present = {f for f, parts in value_parts.items() if any(p is not None for p in parts)}
    raw: dict[str, np.ndarray] = {}
    for fname in present:
        parts = [p if p is not None else np.full(r.size, "", dtype=object) for p, r in zip(value_parts[fname], row_parts)]
        raw[fname] = np.concatenate(parts) if len(parts) > 1 else parts[0]
    errors = None
    if errors_known:
        errors = {}
        offsets = np.cumsum([0] + [r.size for r in row_parts])
        for fname, parts in error_parts.items():
            mask = np.zeros(int(offsets[-1]), dtype=bool)
            for k, part in parts:
                mask[offsets[k]:offsets[k + 1]] = part
            errors[fname] = mask
    for source in sources:
        for f in schema.fields:
            if f.required and f.name not in source.columns and not _optional_key(schema, f.name):
                layout.findings.append(finding(
                    "WB002", sheet=source.sheet, column=f.name, what="column",
                    where=f"looked in header row {source.header_row + 1}; ",
                    aliases=", ".join(f.aliases[:6]) or "none"))
    return Table(
        schema=schema,
        sources=sources,
        src=np.concatenate(src_parts) if src_parts else np.zeros(0, dtype=np.int32),
        rows=np.concatenate(row_parts) if row_parts else np.zeros(0, dtype=np.int64),
        raw=raw,
        errors=errors,
    )


def _optional_key(schema: SheetSchema, fname: str) -> bool:
    # A school's own tracker may have no Placement ID: the record is then UPN + Start date.
    return schema.name == "Placements" and fname == "Placement ID"


def _choose_columns(layout: Layout, schema: SheetSchema, grid: SheetGrid, hrow: int,
                    matched: dict[str, list[int]], mapping: Mapping) -> tuple[dict[str, int], dict[str, str]]:
    rows = grid.rows
    header = rows[hrow] if 0 <= hrow < len(rows) else []
    columns: dict[str, int] = {}
    chosen = mapping.columns.get(schema.name, {})
    for fname, choice in chosen.items():
        if choice.letter:
            from .package import col_index

            columns[fname] = col_index(choice.letter)
    canon = {f.name: normalise_header(f.name) for f in schema.fields}
    for fname, cols in matched.items():
        if fname in columns:
            continue
        # the canonical header wins over an alias; otherwise the first column
        exact = [c for c in cols if normalise_header(header[c]) == canon[fname]]
        use = exact[0] if exact else cols[0]
        columns[fname] = use
        for other in cols:
            if other != use:
                layout.findings.append(finding(
                    "WB003", sheet=grid.name, cell=a1(hrow, other), row=hrow + 1, column=fname,
                    value=str(header[other]), first_cell=a1(hrow, use), first_header=str(header[use]),
                    header=str(header[other])))
    headers = {f: (str(header[c]) if c < len(header) else "") for f, c in columns.items()}
    return columns, headers


def _data_rows(rows: list[list[Any]], first: int, last: int, lo: int, hi: int | None,
               block: np.ndarray | None) -> np.ndarray:
    """Rows below the header that hold anything (blank rows inside the data are skipped)."""
    last = min(last, len(rows) - 1)
    if last < first:
        return np.zeros(0, dtype=np.int64)
    if block is not None:
        block = block[: last + 1 - first]
        cells = block[:, lo:hi] if (lo or hi is not None) else block
        filled = (cells != "") & ~pd.isna(cells)
        keep = np.flatnonzero(filled.any(axis=1))
        if keep.size:
            # a row whose only content is a few cells of spaces is blank too (a row with more is data)
            for k in np.flatnonzero(filled[keep].sum(axis=1) <= 3):
                row = cells[keep[k]]
                if all(v == "" or v is None or (isinstance(v, str) and not v.strip()) for v in row):
                    keep[k] = -1
            keep = keep[keep >= 0]
        return keep + first
    keep = []
    for r in range(first, last + 1):
        row = rows[r]
        cells = row[lo:hi] if (lo or hi is not None) else row
        for v in cells:
            if v != "" and v is not None and not (isinstance(v, str) and not v.strip()):
                keep.append(r)
                break
    return np.asarray(keep, dtype=np.int64)


def _block(rows: list[list[Any]], first: int, stop: int) -> np.ndarray | None:
    """rows[first:stop] as a 2-D object array when the rows are of equal length (as calamine gives them)."""
    part = rows[first:stop]
    width = len(part[0]) if part else 0
    if not width or any(len(r) != width for r in part):
        return None
    block = np.empty((len(part), width), dtype=object)
    block[:] = part
    return block


def _column(rows: list[list[Any]], data_rows: np.ndarray, col: int) -> np.ndarray:
    out = np.empty(data_rows.size, dtype=object)
    out[:] = [rows[r][col] if col < len(rows[r]) else "" for r in data_rows.tolist()]
    return out


def _merged_and_formulas(layout: Layout, grid: SheetGrid, hrow: int, last: int, lo: int, hi: int | None,
                         columns: dict[str, int]) -> None:
    if not columns:
        return
    used = set(columns.values())
    right = hi - 1 if hi is not None else max(used)
    left = lo if lo else min(used)
    for r0, c0, r1, c1 in grid.merged:
        if r0 > hrow and r0 <= last and c1 >= left and c0 <= right and (r1 > r0 or c1 > c0):
            layout.findings.append(finding(
                "WB005", sheet=grid.name, cell=a1(r0, c0), row=r0 + 1,
                column=_field_at(columns, c0), range=f"{a1(r0, c0)}:{a1(r1, c1)}"))
    for r, c in grid.formula_gaps:
        if r > hrow and r <= last and c in used:
            layout.findings.append(finding(
                "WB004", sheet=grid.name, cell=a1(r, c), row=r + 1, column=_field_at(columns, c)))


def _field_at(columns: dict[str, int], col: int) -> str | None:
    return next((f for f, c in columns.items() if c == col), None)


# --- Setup -------------------------------------------------------------------------------------

def _locate_setup(layout: Layout, grid: SheetGrid | None, schema: SheetSchema, mapping: Mapping) -> None:
    for key, value in mapping.setup.items():
        layout.setup[key] = SetupValue(value=value)
    if grid is None:
        return
    layout.setup_found = True
    index = _header_index(schema, mapping)
    for r, row in enumerate(grid.rows):
        if not row:
            continue
        fname = _match(row[0], index)
        if fname and fname not in layout.setup:
            value = row[1] if len(row) > 1 else ""
            layout.setup[fname] = SetupValue(value=value, sheet=grid.name, cell=a1(r, 1), row=r + 1)
    for r, c in grid.formula_gaps:
        if c == 1:
            layout.findings.append(finding("WB004", sheet=grid.name, cell=a1(r, c), row=r + 1))


# --- single-sheet trackers -----------------------------------------------------------------------

def _derive_from_single_sheet(layout: Layout, sheets: dict[str, SheetGrid], mapping: Mapping,
                              wanted: list[SheetSchema]) -> None:
    placements = layout.tables.get("Placements")
    if placements is None or not placements.sources:
        return
    names = {s.name for s in wanted}
    schemas = sheet_schemas()
    grids = [sheets[s.sheet] for s in placements.sources]
    hrow = placements.sources[0].header_row
    used = set(placements.sources[0].columns.values())
    provider_col = placements.sources[0].columns.get("Provider ID")
    if "Providers" in names and "Providers" not in layout.tables:
        allow = {provider_col} if provider_col is not None else None
        table = _build_table(Layout(), schemas["Providers"], grids, mapping, header_row=hrow, exclude=used, allow_cols=allow)
        if "Provider name" in table.raw or "URN" in table.raw:
            _providers_from_rows(layout, placements, table, grids[0].name)
    if "Checklist" in names and "Checklist" not in layout.tables:
        checklist = schemas["Checklist"]
        table = _build_table(Layout(), checklist, grids, mapping, header_row=hrow, exclude=used)
        items = [f.name for f in checklist.items if f.name in table.raw]
        if items:
            table.raw.pop("Placement ID", None)
            table.derived_from = grids[0].name
            layout.tables["Checklist"] = table
            layout.missing_items = [f.name for f in checklist.items if f.name not in table.raw]


def _providers_from_rows(layout: Layout, placements: Table, table: Table, sheet: str) -> None:
    """One provider per distinct URN, else normalised name and postcode; it points at its first row."""
    from .identity import provider_key

    n = len(table)
    blank = np.full(n, "", dtype=object)
    urn, name, postcode = (table.raw.get(f, blank) for f in ("URN", "Provider name", "Postcode"))
    first: dict[str, int] = {}
    ids = np.empty(n, dtype=object)
    display: dict[str, str] = {}
    taken: set[str] = set()
    for i in range(n):
        key = provider_key(_text(urn[i]), _text(name[i]), _text(postcode[i]))
        if key not in first:
            first[key] = i
            label = _text(name[i]) or _text(urn[i]) or f"Provider on row {int(table.rows[i]) + 1}"
            if label in taken:
                label = f"{label} ({_text(postcode[i]) or _text(urn[i])})"
            taken.add(label)
            display[key] = label
        ids[i] = display[key]
    keep = np.asarray(sorted(first.values()), dtype=np.int64)
    table.raw = {f: v[keep] for f, v in table.raw.items()}
    if table.errors is not None:
        table.errors = {f: m[keep] for f, m in table.errors.items()}
    table.raw["Provider ID"] = ids[keep]
    table.rows, table.src = table.rows[keep], table.src[keep]
    table.derived_from = sheet
    layout.tables["Providers"] = table
    placements.raw["Provider ID"] = ids
    layout.findings[:] = [f for f in layout.findings
                          if not (f.rule == "WB002" and f.column == "Provider ID" and f.sheet in {s.sheet for s in placements.sources})]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _missing_sheets(layout: Layout, wanted: list[SheetSchema], mapping: Mapping) -> None:
    for schema in wanted:
        if schema.name in layout.tables or (schema.kind == "keyvalue" and (layout.setup_found or mapping.setup)):
            continue
        if schema.required:
            layout.findings.append(finding(
                "WB001", column=None, field=schema.name, aliases=", ".join(schema.aliases[:4]) or "none"))
        elif schema.optional_finding:
            layout.findings.append(finding(
                "WB008", field=schema.name, absent=f"There is no {schema.name} sheet",
                skipped=OPTIONAL_SHEET_RULES.get(schema.name, "none"),
                fix=f"Add the {schema.name} sheet from the apxl template to have them checked."))
    if layout.missing_items:
        items = {f.name: f.code for f in sheet_schemas()["Checklist"].items}
        layout.findings.append(finding(
            "WB008", field="Checklist", absent="The tracker has no column for "
            + ", ".join(f"{n} ({items[n]})" for n in layout.missing_items),
            skipped="those checklist items are not tracked",
            fix="Add a column for each item, holding the date it was done, to have them checked."))
