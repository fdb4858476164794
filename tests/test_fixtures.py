"""The example workbooks and the school-shaped trackers: made by scripts, and checked as they say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

import apxl

TRACKERS = ROOT / "tests" / "fixtures" / "trackers"
EXAMPLES = ROOT / "workbooks" / "examples"


def cell_level(report):
    return sorted((f.rule, f.sheet, f.cell, f.record, f.value) for f in report.findings
                  if f.rule.startswith(("CE", "WB")) and f.cell is not None)


@pytest.mark.parametrize("name", sorted(p.stem for p in TRACKERS.glob("*.xlsx")))
def test_tracker_shapes(name):
    spec = json.loads((TRACKERS / f"{name}.expected.json").read_text())
    mapping = TRACKERS / spec["mapping"] if spec.get("mapping") else None
    report = apxl.validate(TRACKERS / f"{name}.xlsx", as_of=spec["as_of"], mapping=mapping)
    expected = sorted((f["rule"], f["sheet"], f["cell"], f["record"], f.get("value", _value(report, f)))
                      for f in spec["findings"])
    assert cell_level(report) == expected
    no_cell = sorted(f.rule for f in report.findings if f.rule.startswith("WB") and f.cell is None)
    assert no_cell == sorted(w["rule"] for w in spec["workbook_findings"])
    assert "WB001" not in no_cell and "WB002" not in no_cell


def _value(report, f):
    hit = [x for x in report.findings if (x.rule, x.sheet, x.cell) == (f["rule"], f["sheet"], f["cell"])]
    return hit[0].value if hit else None


def test_examples():
    clean = apxl.validate(EXAMPLES / "clean.xlsx")
    assert clean.findings == [] and clean.as_of == "2026-11-30"
    defects = apxl.validate(EXAMPLES / "defects.xlsx")
    expected = sorted((f["rule"], f["sheet"], f["cell"], f["record"])
                      for f in json.loads((EXAMPLES / "defects.expected.json").read_text()))
    assert sorted((f.rule, f.sheet, f.cell, f.record) for f in defects.findings) == expected


@pytest.mark.parametrize("script,folder,pattern", [
    ("tests/fixtures/make_trackers.py", TRACKERS, "*"),
    ("workbooks/make_examples.py", EXAMPLES, "*"),
])
def test_generated_files_are_what_the_scripts_make(tmp, script, folder, pattern):
    """No hand-edited binaries: re-running the generator gives the committed bytes."""
    res = subprocess.run([sys.executable, str(ROOT / script), "--out", str(tmp)], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    made = {p.name: p.read_bytes() for p in tmp.glob(pattern)}
    committed = {p.name: p.read_bytes() for p in folder.glob(pattern)
                 if p.name in made or (p.suffix == ".xlsx" and not p.name.startswith("rules-"))}
    assert set(committed) <= set(made)
    for name, data in committed.items():
        assert made[name] == data, name


def test_fixture_paths_exist():
    assert len(list(TRACKERS.glob("*.xlsx"))) == 6
    assert Path(EXAMPLES / "clean.xlsx").is_file()


@pytest.mark.parametrize("suffix", ["ods", "xls"])
def test_read_only_formats_give_the_same_findings(suffix):
    """The example with defects, saved by LibreOffice (tests/fixtures/make_formats.sh)."""
    original = apxl.validate(EXAMPLES / "defects.xlsx")
    other = apxl.validate(ROOT / "tests" / "fixtures" / "formats" / f"defects.{suffix}")
    strip = lambda r: sorted((f.rule, f.sheet, f.cell, f.record, f.value, f.message) for f in r.findings)  # noqa: E731
    assert strip(other) == strip(original)
