"""`apxl map`: propose a mapping file from the headers a school's tracker already has.

Each field gets its best-matching column with a confidence from 0 to 1: 1.0 for the contract's own
header, 0.9 for a known alias, less for a near match (difflib), so a person can confirm or correct
it. The proposal is YAML that `--mapping` reads back unchanged.
"""

from __future__ import annotations

import difflib
import os
from typing import Any

from .layout import HEADER_SEARCH_ROWS, a1, col_letter, locate
from .mapping import Mapping
from .reading import read_workbook
from .schema import SheetSchema, normalise_header, sheet_schemas

NEAR_MATCH = 0.75


def score_header(header: Any, spec_names: tuple[str, ...], canonical: str) -> float:
    """How sure we are that `header` is this field: 1.0 canonical, 0.9 alias, else a near match."""
    if not isinstance(header, str) or not header.strip():
        return 0.0
    key = normalise_header(header)
    if key == normalise_header(canonical):
        return 1.0
    if key in {normalise_header(a) for a in spec_names}:
        return 0.9
    best = max((difflib.SequenceMatcher(None, key, normalise_header(a)).ratio() for a in spec_names), default=0.0)
    return round(best * 0.8, 2) if best >= NEAR_MATCH else 0.0


def propose(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The proposed mapping as a dict: sheets, columns (with confidences) and empty Setup values."""
    workbook = read_workbook(path)
    layout = locate(workbook, Mapping())
    proposal: dict[str, Any] = {"sheets": {}, "columns": {}}
    for name, schema in sheet_schemas().items():
        if schema.kind == "keyvalue":
            continue
        table = layout.tables.get(name)
        if table is None:
            if not schema.required:
                continue
            guess = _fuzzy_sheet(workbook, schema, used={s.sheet for t in layout.tables.values() for s in t.sources})
            if guess is None:
                continue
            sheet, hrow = guess
            header = workbook.sheets[sheet].rows[hrow]
            proposal["sheets"][name] = {"sheet": sheet, "header_row": hrow + 1, "derived": False}
            proposal["columns"][name] = _columns(schema, header, hrow, {})
            continue
        source = table.sources[0]
        grid = workbook.sheets[source.sheet]
        header = grid.rows[source.header_row] if source.header_row < len(grid.rows) else []
        proposal["sheets"][name] = {
            "sheet": [s.sheet for s in table.sources] if len(table.sources) > 1 else source.sheet,
            "header_row": source.header_row + 1,
            "derived": bool(table.derived_from),
        }
        proposal["columns"][name] = _columns(schema, header, source.header_row, source.columns)
    if not layout.setup_found:
        proposal["setup"] = {f.name: None for f in sheet_schemas()["Setup"].fields if f.required}
    return proposal


def _fuzzy_sheet(workbook, schema: SheetSchema, used: set[str]) -> tuple[str, int] | None:
    """The sheet and header row whose headers look most like this contract sheet's (near matches count)."""
    best, best_score = None, 1.5          # at least two fields that look alike
    for name, grid in workbook.sheets.items():
        if name in used:
            continue
        for r, row in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
            texts = [c for c in row if isinstance(c, str) and c.strip()]
            if len(texts) < 2:
                continue
            score = sum(max((score_header(t, spec.names, spec.name) for t in texts), default=0.0) for spec in schema.fields)
            if score > best_score:
                best, best_score = (name, r), score
    return best


def _columns(schema: SheetSchema, header: list[Any], hrow: int, found: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in schema.fields:
        best_col, best = None, 0.0
        if spec.name in found:
            best_col = found[spec.name]
            best = score_header(header[best_col], spec.names, spec.name)
        else:
            for c, text in enumerate(header):
                if c in found.values():
                    continue
                s = score_header(text, spec.names, spec.name)
                if s > best:
                    best_col, best = c, s
        if best_col is None or best == 0.0:
            out[spec.name] = {"header": None, "column": None, "confidence": 0.0}
        else:
            out[spec.name] = {"header": str(header[best_col]), "column": col_letter(best_col),
                              "confidence": best, "cell": a1(hrow, best_col)}
    return out


def propose_mapping(path: str | os.PathLike[str]) -> str:
    """The proposal as YAML text with a note on how to confirm it."""
    import yaml

    proposal = propose(path)
    lines = [
        f"# apxl mapping proposed for {os.path.basename(os.fspath(path))}",
        "# Check every line: confidence 1.0 is the contract's own header, 0.9 a known alias, less a near match.",
        "# Correct any column that is wrong (header text or column letter), fill in the setup values,",
        f"# then check with: apxl validate TRACKER --mapping THIS_FILE (headers are searched in the first {HEADER_SEARCH_ROWS} rows).",
    ]
    body = {"sheets": {k: v["sheet"] for k, v in proposal["sheets"].items() if not v["derived"]},
            "columns": {sheet: {f: ({"column": m["column"]} if m["column"] else None)
                                for f, m in cols.items()}
                        for sheet, cols in proposal["columns"].items()}}
    text = "\n".join(lines) + "\n" + yaml.safe_dump({"sheets": body["sheets"]}, sort_keys=False, allow_unicode=True)
    text += "columns:\n"
    for sheet, cols in proposal["columns"].items():
        text += f"  {sheet}:\n"
        for fname, m in cols.items():
            if m["column"]:
                text += f"    {_q(fname)}: {{column: {m['column']}}}   # {_q(m['header'])} (confidence {m['confidence']:.2f})\n"
            else:
                text += f"    # {fname}: not found (confidence 0.00): give its column letter or header\n"
    if "setup" in proposal:
        text += "setup:   # this tracker has no Setup sheet: fill these in\n"
        for key in proposal["setup"]:
            text += f"  {key}: \n"
    return text


def _q(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False) if any(ch in text for ch in ":#{}[],&*?|<>=!%@`'\"") else text
