"""`apxl upgrade OLD NEW`: the data moves into a copy of the current template, and nothing is lost silently."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

import apxl
from apxl.upgrade import upgrade

EXAMPLES = ROOT / "workbooks" / "examples"


def facts(report):
    return sorted((f.rule, f.sheet, f.column, f.record, f.value) for f in report.findings)


def test_the_data_and_its_findings_survive_the_move(tmp):
    old = EXAMPLES / "defects.xlsx"
    before = old.read_bytes()
    moved = upgrade(old, tmp / "new.xlsx")
    assert moved.rows["Placements"] == 13 and moved.setup == 7
    new = apxl.validate(tmp / "new.xlsx")
    assert new.template_version == apxl.TEMPLATE_VERSION
    assert facts(new) == facts(apxl.validate(old))         # the same problems, still there to be fixed
    assert old.read_bytes() == before


def test_an_older_template_loses_its_wb007(tmp):
    import openpyxl

    from apxl.template import build_template

    old = build_template(tmp / "old.xlsx", version="0.9")
    book = openpyxl.load_workbook(old)
    book["Providers"]["A2"] = "AP-01"
    book["Providers"]["B2"] = "Meadow Farm Learning"
    book.save(old)
    assert "WB007" in {f.rule for f in apxl.validate(old).findings}
    upgrade(old, tmp / "new.xlsx")
    report = apxl.validate(tmp / "new.xlsx")
    assert "WB007" not in {f.rule for f in report.findings}
    assert [f.record for f in report.findings if f.sheet == "Providers" and f.rule == "CE001"][0] == "AP-01"


def test_columns_the_template_does_not_have_are_named_and_refusals_are_one_line(tmp):
    res = subprocess.run([sys.executable, "-m", "apxl", "upgrade", str(ROOT / "tests" / "fixtures" / "trackers" / "free_text.xlsx"),
                          str(tmp / "new.xlsx")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "not moved from Placements (not in the template): Notes, Comments" in res.stderr
    over = subprocess.run([sys.executable, "-m", "apxl", "upgrade", str(tmp / "new.xlsx"), str(tmp / "new.xlsx")],
                          capture_output=True, text=True, timeout=120)
    assert over.returncode == 2 and len(over.stderr.strip().splitlines()) == 1 and "new file name" in over.stderr
    with pytest.raises(apxl.ApxlError, match="as .xlsx"):
        upgrade(EXAMPLES / "defects.xlsx", tmp / "new.xlsm")
