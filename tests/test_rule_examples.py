"""workbooks/examples/rules-<family>.xlsx: every rule of the family fires there; clean.xlsx stays clean."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

import apxl

sys.path.insert(0, str(ROOT / "workbooks"))
import make_rule_examples  # noqa: E402

EXAMPLES = ROOT / "workbooks" / "examples"
FAMILIES = dict(make_rule_examples.modules())


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_rule_of_the_family_fires(family):
    module = FAMILIES[family]
    report = apxl.validate(EXAMPLES / f"rules-{family}.xlsx", as_of=module.AS_OF, policy=getattr(module, "POLICY", None))
    fired = {f.rule for f in report.findings}
    missing = sorted(set(module.CODES) - fired)
    assert not missing, f"rules that did not fire in rules-{family}.xlsx: {missing}"


def test_the_clean_example_stays_clean():
    report = apxl.validate(EXAMPLES / "clean.xlsx")
    assert [(f.rule, f.sheet, f.cell, f.message) for f in report.findings] == []


def test_rule_examples_are_what_the_script_makes(tmp):
    res = subprocess.run([sys.executable, str(ROOT / "workbooks" / "make_rule_examples.py"), "--out", str(tmp)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    for made in tmp.glob("rules-*.xlsx"):
        assert made.read_bytes() == (EXAMPLES / made.name).read_bytes(), made.name


def test_every_rule_of_the_spec_is_in_the_catalogue_and_an_example():
    """Every code of rules.md's PL, PR, HR, CL, VI, AT and EX tables has a record and fires in an example."""
    import re

    from apxl.catalogue import catalogue

    spec = ROOT.parent / "shared" / "spec" / "rules.md"
    if not spec.is_file():
        pytest.skip("the spec is not beside this checkout")
    codes = set(re.findall(r"^\| ((?:WB|CE|PL|PR|HR|CL|VI|AT|EX)\d{3}) \|", spec.read_text(), re.M))
    assert len(codes) == 77          # WB 8, CE 7, PL 12, PR 9, HR 8, CL 21, VI 5, AT 4, EX 3
    assert sorted(codes - set(catalogue())) == []
    in_examples = {code for module in FAMILIES.values() for code in module.CODES}
    domain = {c for c in codes if c[:2] in ("PL", "PR", "HR", "CL", "VI", "AT", "EX")}
    assert sorted(domain - in_examples) == []
