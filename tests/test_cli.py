"""The `apxl` command as a user runs it: exit codes, formats, bad input, the input left untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT

from workbooks import placement_row, tracker, write_xlsx


def apxl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apxl", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_exit_codes_and_json_contract(tmp):
    clean = write_xlsx(tmp / "clean.xlsx", tracker())
    bad = write_xlsx(tmp / "bad.xlsx", tracker(placements=[placement_row("P-001", Surname="")]))
    ok = apxl("validate", clean, "--format", "json", "--as-of", "2026-11-30")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["file"].endswith("clean.xlsx") and data["as_of"] == "2026-11-30" and data["policy"] == "esa2008"
    assert data["summary"]["error"] == 0
    res = apxl("validate", bad, "--format", "json", "--as-of", "2026-11-30")
    assert res.returncode == 1
    f = next(x for x in json.loads(res.stdout)["findings"] if x["rule"] == "CE001")
    assert f == {"rule": "CE001", "severity": "error", "sheet": "Placements", "cell": "C2", "row": 2,
                 "column": "Surname", "record": "P-001", "value": "", "message": f["message"], "explained": False}


def test_text_lists_errors_first_grouped_by_rule(tmp):
    book = tracker(placements=[placement_row("P-001", Surname="", Forename="", **{"Start date": "03/09/2026"})])
    res = apxl("validate", write_xlsx(tmp / "t.xlsx", book), "--as-of", "2026-11-30")
    out = res.stdout
    assert res.returncode == 1
    assert out.index("Errors (2)") < out.index("Warnings (1)") < out.index("Information (4)")
    assert "  CE001 A required value is blank (2)" in out
    assert "Placements!C2 [P-001]: Surname is blank" in out


def test_output_file(tmp):
    path = write_xlsx(tmp / "t.xlsx", tracker())
    res = apxl("validate", path, "--format", "json", "--output", tmp / "out.json", "--as-of", "2026-11-30")
    assert res.returncode == 0 and res.stdout == ""
    assert json.loads((tmp / "out.json").read_text())["summary"]["error"] == 0


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    files = {}
    (tmp / "empty.xlsx").write_bytes(b"")
    files["empty"] = tmp / "empty.xlsx"
    (tmp / "text.xlsx").write_text("UPN,Surname\nB801200005001,Doe\n")
    files["text"] = tmp / "text.xlsx"
    good = write_xlsx(tmp / "good.xlsx", tracker())
    data = good.read_bytes()
    (tmp / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    files["truncated"] = tmp / "truncated.xlsx"
    files["no sheets"] = write_xlsx(tmp / "other.xlsx", {"Budget": [["Item", "Cost"], ["Pens", 3]]})
    files["headers only"] = write_xlsx(tmp / "headers.xlsx", tracker(placements=[], providers=[], checklist=[]))
    return files


def test_bad_input_gives_a_finding_or_one_line_reason(tmp):
    for kind, path in _bad_inputs(tmp).items():
        before = fingerprint(path)
        res = apxl("validate", path)
        assert res.returncode in (0, 1, 2), kind
        assert "Traceback" not in res.stderr + res.stdout, kind
        if res.returncode == 2:
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and str(path.name) in lines[0], (kind, res.stderr)
        assert fingerprint(path) == before, kind
    assert apxl("validate", tmp / "empty.xlsx").stderr.strip().endswith("the file is empty (0 bytes). Ask for the workbook to be sent again")
    assert "not a spreadsheet" in apxl("validate", tmp / "text.xlsx").stderr
    assert apxl("validate", tmp / "other.xlsx").returncode == 1
    missing = apxl("validate", tmp / "nope.xlsx")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    folder = apxl("validate", tmp)
    assert folder.returncode == 2 and "folder" in folder.stderr
    bad_date = apxl("validate", tmp / "good.xlsx", "--as-of", "tomorrow")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def test_input_is_never_written_renamed_or_locked(tmp):
    path = write_xlsx(tmp / "t.xlsx", tracker(placements=[placement_row("P-001", Surname="")]))
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    before = fingerprint(path)
    listing = sorted(p.name for p in tmp.iterdir())
    for fmt in ("text", "json"):
        assert apxl("validate", path, "--format", fmt).returncode == 1
    assert fingerprint(path) == before
    assert sorted(p.name for p in tmp.iterdir()) == listing     # no lock or temporary file left beside it


def test_rules_catalogue():
    res = apxl("rules", "--format", "json")
    rules = {r["code"]: r for r in json.loads(res.stdout)}
    for code in ("WB001", "WB002", "WB003", "WB004", "WB005", "WB006", "WB008",
                 "CE001", "CE002", "CE003", "CE004", "CE005", "CE006", "CE007"):
        assert rules[code]["severity"] in ("error", "warning", "info") and rules[code]["message"]
    md = apxl("rules", "--format", "markdown").stdout
    assert md.startswith("# apxl rules") and "| CE007 | warning |" in md


def test_docs_rules_md_is_the_generated_catalogue():
    """docs/rules.md is `apxl rules --format markdown`: regenerate it when the catalogue changes."""
    md = apxl("rules", "--format", "markdown").stdout
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == md, \
        "docs/rules.md is stale: run `apxl rules --format markdown > docs/rules.md`"


def test_map_proposes_a_mapping_that_validate_reads_back(tmp):
    book = tracker()
    header, row = book["Placements"]
    header = {"AP hours per week": "Hrs @ AP", "Surname": "Surnme"}.get
    book["Pupils at AP"] = [[header(h, h) for h in book["Placements"][0]], row]
    del book["Placements"]
    path = write_xlsx(tmp / "own.xlsx", book)
    res = apxl("map", path, "--output", tmp / "map.yaml")
    assert res.returncode == 0, res.stderr
    text = (tmp / "map.yaml").read_text()
    assert "Placements: Pupils at AP" in text
    assert "Surname: {column: C}   # Surnme (confidence 0." in text      # a near match, to confirm
    assert "confidence 1.00" in text
    # the hours header "Hrs @ AP" normalises to the alias "Hrs at AP"
    assert "AP hours per week: {column: O}" in text
    checked = apxl("validate", path, "--mapping", tmp / "map.yaml", "--as-of", "2026-11-30", "--format", "json")
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["summary"]["error"] == 0


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside this checkout")
def test_every_corpus_file_gets_a_report_or_a_clear_error():
    """Every file of ../shared/corpus/wild: findings (exit 0/1) or one line naming the file (exit 2)."""
    script = r"""
import sys, os, json, hashlib
import apxl
from apxl.errors import ApxlError
out = []
for name in sorted(os.listdir(sys.argv[1])):
    path = os.path.join(sys.argv[1], name)
    if name.endswith(".md"):
        continue
    before = hashlib.sha256(open(path, "rb").read()).hexdigest()
    try:
        r = apxl.validate(path, as_of="2026-11-30")
        res = ["report", len(r.findings)]
    except ApxlError as e:
        res = ["error", str(e)]
    after = hashlib.sha256(open(path, "rb").read()).hexdigest()
    out.append([name, res, before == after])
print(json.dumps(out))
"""
    res = subprocess.run([sys.executable, "-c", script, str(CORPUS)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    results = json.loads(res.stdout)
    assert len(results) >= 130
    for name, (kind, detail), untouched in results:
        assert untouched, name
        if kind == "error":
            assert name in detail and "\n" not in detail, name
    errors = {name for name, (kind, _), _ in results if kind == "error"}
    assert {"pass_protected.xlsx", "pass_protected.ods", "too_small.xls"} <= errors
    assert "merge_cells.xlsx" not in errors and "date_1904.xlsx" not in errors


def test_corpus_cli_sample_no_traceback():
    if not CORPUS.is_dir():
        pytest.skip("no corpus")
    for name in ("pass_protected.xlsx", "minimal_package.xlsx", "issue_666_panic.xlsb", "OOM_alloc.xls", "vba.xlsm"):
        res = apxl("validate", CORPUS / name)
        assert res.returncode in (0, 1, 2) and "Traceback" not in res.stderr and "panicked" not in res.stderr, name
        if res.returncode == 2:
            assert len(res.stderr.strip().splitlines()) == 1


def test_every_readme_example_runs(tmp):
    """Each `apxl ...` line of the README's examples runs as shown (exit 0 or 1, never 2)."""
    import re

    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    commands = [line.split("#")[0].split() for block in blocks for line in block.splitlines() if line.startswith("apxl ")]
    assert len(commands) >= 9
    for words in commands:
        # outputs the examples write (files not in the repository) go to a temporary folder
        writes = ("--output", "--out", "--annotate", "--annotate-dir", "--export-counts")
        args = [str(tmp / w) if (w.endswith((".json", ".yaml", ".xlsx", ".html", ".csv"))
                                 or (n and words[n] in writes)) and not (ROOT / w).exists() else w
                for n, w in enumerate(words[1:], start=0)]
        res = apxl(*args)
        assert res.returncode in (0, 1), (words, res.stderr)
        assert "Traceback" not in res.stderr


def test_policy_file_is_named_in_the_json(tmp):
    res = apxl("validate", "workbooks/examples/clean.xlsx", "--format", "json", "--policy",
               "workbooks/examples/policy-example.yaml")
    assert json.loads(res.stdout)["policy"] == "cwsa2026"
    (tmp / "bad.yaml").write_text("shoe_size: 9\n")
    bad = apxl("validate", "workbooks/examples/clean.xlsx", "--policy", tmp / "bad.yaml")
    assert bad.returncode == 2 and "shoe_size" in bad.stderr


def test_map_finds_a_sheet_of_unfamiliar_headers(tmp):
    """Headers too far from the aliases to be used unconfirmed are still proposed, with low confidence."""
    from workbooks import headers as contract_headers

    odd = {h: f"Pupil's {h.lower()}" for h in contract_headers("Placements")}
    book = tracker()
    book["Kids"] = [[odd[h] for h in book["Placements"][0]], book["Placements"][1]]
    del book["Placements"]
    path = write_xlsx(tmp / "odd.xlsx", book)
    text = apxl("map", path).stdout
    assert "Placements: Kids" in text
    assert "confidence 0." in text


def test_a_written_report_is_an_ordinary_file(tmp):
    """Reports are written through a private temporary file, but end up with the permissions of any new file."""
    mask = os.umask(0)
    os.umask(mask)
    out = tmp / "report.json"
    apxl("validate", "workbooks/examples/clean.xlsx", "--format", "json", "--output", out)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
