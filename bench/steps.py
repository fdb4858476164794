#!/usr/bin/env python3
"""One benchmark step in this (fresh) process: `steps.py STEP FILE.xlsx`.

Imports are timed first, then exactly one operation (the "op") is timed with time.perf_counter.
The last line on stdout is a JSON object: step, import_s, op_s and step-specific extras (finding
counts, recall of the planted defects in FILE's .defects.json). Exit codes: 0 done; 3 the step
cannot run yet (e.g. apxl has no `validate`), with the reason in "error"; anything else is a crash.

Steps:
  floor            python-calamine: every sheet of FILE into Python lists (the speed floor)
  frictionless     frictionless validates the Placements sheet against a Table Schema built from
                   schemas/placements.yaml (types, required, unique, enums, ranges, UPN pattern)
  apxl             apxl.validate(FILE, as_of=2026-11-30): every sheet, every rule
  apxl_placements  apxl.validate(FILE, as_of=2026-11-30, sheets=["Placements"])
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 30)
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EXIT_UNAVAILABLE = 3


def defects_of(path: Path) -> list[dict]:
    name = path.name[:-5] if path.name.lower().endswith(".xlsx") else path.name
    p = path.with_name(name + ".defects.json")
    if not p.exists():
        return []
    return json.loads(p.read_text(encoding="utf-8"))["defects"]


def norm_cell(cell) -> str:
    """'Placements!$C$12' / '$C$12' / 'c12' -> 'C12'."""
    if cell is None:
        return ""
    s = str(cell)
    if "!" in s:
        s = s.rsplit("!", 1)[1]
    return s.replace("$", "").strip().upper()


def recall(found: set, defects: list[dict]) -> dict:
    want = {(d["rule"], d["sheet"], d["cell"]) for d in defects}
    hit = want & found
    missed = sorted(want - hit, key=lambda t: (t[1], int("".join(ch for ch in t[2] if ch.isdigit()) or 0)))
    by_kind: dict[str, list[int]] = {}
    for d in defects:
        k = by_kind.setdefault(d["kind"] + ("(n/a)" if d["value"] == "n/a" else ""), [0, 0])
        k[1] += 1
        k[0] += (d["rule"], d["sheet"], d["cell"]) in found
    return {"planted": len(want), "found": len(hit), "missed_sample": [list(m) for m in missed[:10]],
            "by_kind": by_kind}


def col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def out(result: dict, code: int = 0) -> None:
    print(json.dumps(result, default=str))
    sys.stdout.flush()
    sys.exit(code)


# ---- floor -----------------------------------------------------------------------------------------
def step_floor(path: Path) -> dict:
    t0 = time.perf_counter()
    from python_calamine import CalamineWorkbook
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    wb = CalamineWorkbook.from_path(str(path))
    cells = 0
    rows = 0
    for name in wb.sheet_names:
        data = wb.get_sheet_by_name(name).to_python()
        rows += len(data)
        cells += sum(len(r) for r in data)
    op_s = time.perf_counter() - t0
    return {"import_s": import_s, "op_s": op_s, "sheets": len(wb.sheet_names), "rows": rows,
            "cells": cells}


# ---- frictionless (the peer) -------------------------------------------------------------------------
YESNO = ["Y", "Yes", "N", "No", "TRUE", "FALSE", "y", "yes", "n", "no", "true", "false", "YES", "NO"]


def table_schema() -> dict:
    """The closest Table Schema to apxl's Placements cell rules, from schemas/placements.yaml."""
    import yaml

    spec = yaml.safe_load((REPO / "schemas" / "placements.yaml").read_text(encoding="utf-8"))
    fields = []
    for f in spec["fields"]:
        t = f["type"]
        cons: dict = {}
        if f.get("required"):
            cons["required"] = True
        if f.get("unique"):
            cons["unique"] = True
        if t == "date":
            fd = {"type": "date", "format": "%d/%m/%Y"}        # real dates, or day-first text
        elif t == "hours":
            fd = {"type": "number"}
            cons.update(minimum=f.get("min", 0), maximum=f.get("max", 40))
        elif t == "ncyear":
            fd = {"type": "integer"}                          # Table Schema cannot say "or R"
            cons.update(minimum=1, maximum=14)
        elif t == "code":
            fd = {"type": "string"}
            cons["enum"] = list(f["allowed"])
        elif t == "yesno":
            fd = {"type": "string"}
            cons["enum"] = YESNO
        else:
            fd = {"type": "string"}
            if f["name"] == "UPN":
                cons["pattern"] = "[A-Z][0-9]{11}[0-9A-Z]"
        fd["name"] = f["name"]
        if cons:
            fd["constraints"] = cons
        fields.append(fd)
    return {"fields": fields}


# frictionless error -> the apxl rule a person would expect for the same cell
def _rule_of(err_type: str, note: str, field: str) -> str:
    if err_type == "type-error":
        return "CE002"
    if err_type == "unique-error":
        return "CE006"
    if err_type == "constraint-error":
        if '"required"' in note:
            return "CE001"
        if '"enum"' in note:
            return "CE004"
        if '"minimum"' in note or '"maximum"' in note:
            return "CE005"
        if '"pattern"' in note:
            return "PL001" if field == "UPN" else "CE004"
    return err_type


def step_frictionless(path: Path) -> dict:
    t0 = time.perf_counter()
    import frictionless
    from frictionless import Resource, Schema, formats
    import_s = time.perf_counter() - t0
    schema_d = table_schema()
    names = [f["name"] for f in schema_d["fields"]]
    t0 = time.perf_counter()
    resource = Resource(path=path.name, basepath=str(path.parent), format="xlsx",
                        control=formats.ExcelControl(sheet="Placements"),
                        schema=Schema.from_descriptor(schema_d))
    report = resource.validate(limit_errors=10**9)
    op_s = time.perf_counter() - t0
    found = set()
    n_err = 0
    task = report.tasks[0]
    for e in task.errors:
        n_err += 1
        fnum = getattr(e, "field_number", None)
        rnum = getattr(e, "row_number", None)
        if not fnum or not rnum:
            continue
        field = names[fnum - 1]
        found.add((_rule_of(e.type, getattr(e, "note", "") or "", field), "Placements",
                   f"{col_letter(fnum - 1)}{rnum}"))
    res = {"import_s": import_s, "op_s": op_s, "errors": n_err, "valid": report.valid,
           "warnings": list(task.warnings)[:3], "frictionless": frictionless.__version__}
    defects = defects_of(path)
    if defects:
        res["recall"] = recall(found, defects)
    return res


# ---- apxl ------------------------------------------------------------------------------------------
# apxl imports its heavy dependencies on first use; "time just the call, after imports" means these
# are imported before the timed call (the process rows of run.py measure the whole cost).
PREIMPORT = ["numpy", "pandas", "pandera.pandas", "python_calamine", "yaml"]


def preimport(apxl) -> None:
    import importlib
    import pkgutil

    for mod in PREIMPORT:
        try:
            importlib.import_module(mod)
        except ImportError:
            pass
    for info in pkgutil.walk_packages(getattr(apxl, "__path__", []), "apxl."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - a module being written may not import; validate() will say
            pass


def _apxl(path: Path, sheets) -> dict:
    t0 = time.perf_counter()
    try:
        import apxl
    except Exception as exc:  # noqa: BLE001 - report any import failure as "not available"
        out({"error": f"cannot import apxl: {type(exc).__name__}: {exc}"}, EXIT_UNAVAILABLE)
    if not callable(getattr(apxl, "validate", None)):
        out({"error": f"apxl ({getattr(apxl, '__file__', '?')}) has no validate() yet"}, EXIT_UNAVAILABLE)
    preimport(apxl)
    import_s = time.perf_counter() - t0
    kwargs = {"as_of": AS_OF}
    if sheets is not None:
        kwargs["sheets"] = sheets
    t0 = time.perf_counter()
    report = apxl.validate(str(path), **kwargs)
    op_s = time.perf_counter() - t0
    findings = list(report.findings)
    found = set()
    by_rule: dict[str, int] = {}
    for f in findings:
        rule = getattr(f, "rule", None)
        by_rule[rule] = by_rule.get(rule, 0) + 1
        found.add((rule, getattr(f, "sheet", None), norm_cell(getattr(f, "cell", None))))
    res = {"import_s": import_s, "op_s": op_s, "findings": len(findings),
           "top_rules": dict(sorted(by_rule.items(), key=lambda kv: -kv[1])[:8])}
    defects = defects_of(path)
    if defects:
        res["recall"] = recall(found, defects)
        planted = {(d["rule"], d["sheet"], d["cell"]) for d in defects}
        res["extra_ce_placements"] = sum(1 for t in found if t[1] == "Placements"
                                         and str(t[0]).startswith("CE") and t not in planted)
    return res


def step_apxl(path: Path) -> dict:
    return _apxl(path, None)


def step_apxl_placements(path: Path) -> dict:
    return _apxl(path, ["Placements"])


def step_annotate(path: Path) -> dict:
    """Write the annotated copy of `path`, given its findings (validation is done first and not timed)."""
    import tempfile

    import apxl
    from apxl.annotate import annotate

    preimport(apxl)
    report = apxl.validate(str(path), as_of=AS_OF)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / ("marked" + path.suffix)
        t0 = time.perf_counter()
        annotate(path, out, report, checked="2026-11-30 09:00")
        op_s = time.perf_counter() - t0
        size = out.stat().st_size
    return {"op_s": op_s, "findings": len(report.findings), "out_mb": round(size / 1e6, 2)}


STEPS = {"floor": step_floor, "frictionless": step_frictionless, "apxl": step_apxl,
         "apxl_placements": step_apxl_placements, "annotate": step_annotate}


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in STEPS:
        sys.exit(f"usage: steps.py {{{','.join(STEPS)}}} FILE.xlsx")
    step, path = sys.argv[1], Path(sys.argv[2]).resolve()
    sys.path.insert(0, str(HERE))
    if str(REPO) not in sys.path:
        sys.path.insert(1, str(REPO))
    res = STEPS[step](path)
    res.update(step=step, file=path.name, pid=os.getpid())
    out(res)


if __name__ == "__main__":
    main()
