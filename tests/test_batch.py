"""The partnership batch: a folder of returns, the registration test across schools, the XS rules.

The returns are workbooks/batch_examples.py's (rebuilt into a temporary folder for each test module): each
school alone is under the registration limit at Meadow Farm Learning, typed three ways; together they are
over it. See that module's docstring for every case it holds.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import apxl
from apxl.batch import find_workbooks, validate_many
from workbooks import done_checklist_row, placement_row, provider_row, tracker, write_xlsx  # tests/workbooks.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workbooks"))
from batch_examples import FORMULA, SCRIPT, build, returns  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APXL = [sys.executable, "-m", "apxl"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("returns") / "returns")


@pytest.fixture(scope="module")
def batch(folder):
    return validate_many([str(folder)], jobs=1)


def _return(batch, name: str):
    return next(r for r in batch.returns if r.file.endswith(name))


def _found(report, rule: str) -> list:
    return [f for f in report.findings if f.rule == rule]


def _cross(batch, rule: str) -> list:
    return [c for c in batch.findings if c.finding.rule == rule]


# --- the registration test across schools ----------------------------------------------------------------

def test_each_school_alone_is_under_the_limit_at_meadow_farm(folder):
    for name in ("oakfield.xlsx", "beech.xlsx", "cedar/cedar.xlsx"):
        report = apxl.validate(folder / name)
        assert not [f for f in report.findings if f.rule in ("HR003", "HR004") and "Meadow" in f.message.title()], name


def test_the_breach_only_the_batch_sees_is_reported_once_and_to_every_school(batch):
    meadow = [c for c in _cross(batch, "HR003") if "meadow" in c.finding.record.lower()]
    assert len(meadow) == 1
    f = meadow[0].finding
    assert f.severity == "error" and f.value == "5"
    assert "from 05/10/2026" in f.message
    assert "2 pupils of Beech School, 1 pupil of Cedar College and 2 pupils of Oakfield Academy" in f.message
    assert sorted(os.path.basename(p) for p in meadow[0].files) == ["beech.xlsx", "cedar.xlsx", "oakfield.xlsx"]
    # each school's own report: its placements in the peak, at their AP hours per week cells
    expected = {"oakfield.xlsx": {"OAK-01", "OAK-02"}, "beech.xlsx": {"BEE-01", "BEE-02"}, "cedar.xlsx": {"CED-01"}}
    for name, records in expected.items():
        mine = [g for g in _found(_return(batch, name).report, "HR003") if "Meadow" in g.message]
        assert {g.record for g in mine} == records, name
        assert all(g.column == "AP hours per week" and g.cell.startswith("O") for g in mine)
    cedar = next(g for g in _found(_return(batch, "cedar.xlsx").report, "HR003") if "Meadow" in g.message)
    assert "4 full-time pupils in other schools' returns (Beech School 2, Oakfield Academy 2)" in cedar.message
    # never another school's pupils by name or record
    assert "Testpupil" not in cedar.message and "BEE-01" not in cedar.message and "OAK-01" not in cedar.message


def test_the_provider_typed_three_ways_is_one_setting(batch):
    meadow = [p for p in batch.providers if "meadow" in p.name.lower()]
    assert len(meadow) == 1
    view = meadow[0]
    assert (view.pupils, view.full_time, view.peak, view.peak_date) == (5, 5, 5, "2026-10-05")
    assert view.postcode == "LE13 0AA" and view.registration == "Unregistered"
    assert sorted(view.schools) == ["Beech School", "Cedar College", "Oakfield Academy"]


def test_a_looked_after_full_time_pupil_at_a_shared_provider_concerns_both_schools(batch):
    oak = [f for f in _found(_return(batch, "oakfield.xlsx").report, "HR002") if "Riverside" in f.message]
    beech = [f for f in _found(_return(batch, "beech.xlsx").report, "HR002") if "Riverside" in f.message]
    assert [f.record for f in oak] == ["OAK-03"] and "who is looked after" in oak[0].message
    assert [f.record for f in beech] == ["BEE-03"]
    assert "placed by Oakfield Academy" in beech[0].message and "BEE-03 (25 hours a week)" in beech[0].message
    assert [c.finding.record for c in _cross(batch, "HR002")] == ["Riverside Riding Centre"]


def test_beech_alone_has_no_registration_finding_at_riverside(folder):
    report = apxl.validate(folder / "beech.xlsx")
    assert not [f for f in report.findings if f.rule == "HR002"]


def test_four_across_schools_is_one_short_and_imported_counts_tip_it_over(folder, batch):
    hill = [c for c in batch.findings if c.finding.record.startswith("Hilltop")]
    assert [c.finding.rule for c in hill if c.finding.rule.startswith("HR")] == ["HR004"]
    counts = folder.parent / "counts-rutland.csv"
    tipped = validate_many([str(folder)], jobs=1, import_counts=[str(counts)])
    hr = [c.finding for c in tipped.findings if c.finding.record.startswith("Hilltop") and c.finding.rule[:2] == "HR"]
    assert [f.rule for f in hr] == ["HR003"]
    assert "1 counted by another area (counts-rutland.csv)" in hr[0].message
    mine = [f for f in _found(_return(tipped, "oakfield.xlsx").report, "HR003") if "Hilltop" in f.message]
    assert {f.record for f in mine} == {"OAK-04", "OAK-05"}
    assert "1 counted by another area (counts-rutland.csv)" in mine[0].message
    view = next(p for p in tipped.providers if p.name.startswith("Hilltop"))
    assert (view.peak, view.imported) == (5, 1)


def test_exported_counts_hold_no_pupil_data_and_read_back(folder, tmp_path):
    out = tmp_path / "counts.csv"
    code = subprocess.run(APXL + ["batch", str(folder), "--export-counts", str(out), "--format", "json",
                                  "--output", str(tmp_path / "b.json")], capture_output=True, text=True).returncode
    assert code == 1
    text = out.read_text(encoding="utf-8")
    for pupil in ("80120000", "Testpupil", "Alex", "2012-05-01", "OAK-01"):
        assert pupil not in text
    rows = list(csv.DictReader(text.splitlines()))
    meadow = [r for r in rows if "meadow" in r["Provider name"].lower()]
    assert [(r["From"], r["To"], r["Full-time pupils"]) for r in meadow] == [
        ("2026-09-14", "2026-10-04", "4"), ("2026-10-05", "2027-02-11", "5")]
    riverside = next(r for r in rows if r["Provider name"] == "Riverside Riding Centre")
    assert riverside["Looked-after or EHC plan pupils"] == "1"
    # another area's batch that has only Cedar: the exported counts make its one pupil part of a breach
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(folder / "cedar" / "cedar.xlsx", other / "cedar.xlsx")
    alone = validate_many([str(other)], jobs=1)
    assert not [c for c in alone.findings if c.finding.rule == "HR003"]
    only_theirs = tmp_path / "theirs.csv"
    only_theirs.write_text("\n".join([text.splitlines()[0]] + [line for line in text.splitlines()[1:]
                                                               if "Cedar" not in line]) + "\n", encoding="utf-8")
    joined = validate_many([str(other)], jobs=1, import_counts=[str(only_theirs)])
    assert [c.finding.rule for c in joined.findings if c.finding.rule == "HR003"] == ["HR003"]


def test_bad_counts_file_is_a_clear_error(tmp_path, folder):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(apxl.ApxlError, match="not a counts file"):
        validate_many([str(folder)], jobs=1, import_counts=[str(bad)])


# --- XS rules ---------------------------------------------------------------------------------------------

def test_xs001_one_pupil_placed_by_two_schools(batch):
    cross = _cross(batch, "XS001")
    assert len(cross) == 1
    assert sorted(os.path.basename(f) for f in cross[0].files) == ["beech.xlsx", "cedar.xlsx"]
    assert "BEE-06" in cross[0].finding.message and "CED-02" in cross[0].finding.message
    beech = _found(_return(batch, "beech.xlsx").report, "XS001")
    cedar = _found(_return(batch, "cedar.xlsx").report, "XS001")
    assert [(f.cell, f.record, f.value) for f in beech] == [("B7", "BEE-06", "H801200009009")]
    assert [(f.cell, f.record) for f in cedar] == [("B3", "CED-02")]
    assert "overlap from 02/11/2026" in cedar[0].message and "Beech School" in cedar[0].message


def test_xs001_not_for_a_same_day_move_between_schools(tmp_path):
    a = tracker(placements=[placement_row("A-1", UPN="H801200001001", **{"Planned end date": dt.date(2026, 10, 1)})])
    b = tracker(placements=[placement_row("B-1", UPN="H801200001001", **{"Start date": dt.date(2026, 10, 1)})])
    b["Setup"] = [["Key", "Value"], ["School name", "Other School"], ["School URN", "999999"]]
    write_xlsx(tmp_path / "a.xlsx", a)
    write_xlsx(tmp_path / "b.xlsx", b)
    assert not _cross(validate_many([str(tmp_path)], jobs=1), "XS001")


def test_xs002_schools_disagree_about_an_audit(batch):
    cross = _cross(batch, "XS002")
    assert len(cross) == 1 and "Passed on 01/06/2026" in cross[0].finding.message
    beech = _found(_return(batch, "beech.xlsx").report, "XS002")
    assert [(f.cell, f.record, f.value) for f in beech] == [("I2", "P1", "2026-03-01")]
    assert not _found(_return(batch, "oakfield.xlsx").report, "XS002")      # it holds the believed audit


def test_xs003_per_provider_and_xs006_same_postcode(batch):
    assert len(_cross(batch, "XS003")) == len(batch.providers) == 5
    cedar = _found(_return(batch, "cedar.xlsx").report, "XS003")
    meadow = next(f for f in cedar if f.record == "M")
    assert (meadow.sheet, meadow.cell, meadow.severity) == ("Providers", "A2", "info")
    assert "5 pupils from 3 schools (Beech School, Cedar College and Oakfield Academy)" in meadow.message
    xs006 = _cross(batch, "XS006")
    assert len(xs006) == 1 and "LE11 1AB" in xs006[0].finding.message and "Woodland Crafts CIC" in xs006[0].finding.message


def test_xs007_the_older_return_is_named_and_not_counted(batch):
    first, latest = _return(batch, "oakfield-first.xlsx"), _return(batch, "oakfield.xlsx")
    assert (first.counted, latest.counted) == (False, True)
    xs = _found(first.report, "XS007")
    assert len(xs) == 1 and "oakfield.xlsx" in xs[0].message and "20/11/2026" in xs[0].message
    assert not _found(latest.report, "XS007")
    assert len(_cross(batch, "XS007")) == 1
    # not counted twice: Oakfield has two pupils in Meadow Farm's peak, not four
    meadow = next(c for c in _cross(batch, "HR003") if "meadow" in c.finding.record.lower())
    assert "2 pupils of Oakfield Academy" in meadow.finding.message


def test_the_directory_is_believed(folder):
    directory = folder.parent / "directory.xlsx"
    batch = validate_many([str(folder)], jobs=1, directory=str(directory))
    beech = _return(batch, "beech.xlsx").report
    xs004 = _found(beech, "XS004")
    assert [(f.cell, f.record) for f in xs004] == [("A5", "P4")]          # the Learning Hub is not listed
    xs005 = [(f.cell, f.column, f.value) for f in _found(beech, "XS005")]
    assert ("H3", "LEBC audit status", "Passed") in xs005 and ("I3", "LEBC audit date", "2026-06-01") in xs005
    assert not _cross(batch, "XS002")                                   # the directory settles the audit
    view = next(p for p in batch.providers if p.name == "Riverside Riding Centre")
    assert (view.audit_status, view.audit_date, view.audit_expiry) == ("Passed with actions", "2026-09-01", "2027-09-01")
    assert view.directory_id == "D-RRC"


def test_a_directory_id_as_provider_id_is_no_pl006(tmp_path, folder):
    book = tracker(placements=[placement_row("P-001", **{"Provider ID": "D-RRC"})], providers=[provider_row("X")])
    path = write_xlsx(tmp_path / "school.xlsx", book)
    assert _found(apxl.validate(path), "PL006")
    out = subprocess.run(APXL + ["validate", str(path), "--directory", str(folder.parent / "directory.xlsx"),
                                 "--format", "json"], capture_output=True, text=True)
    data = json.loads(out.stdout)
    rules = [f["rule"] for f in data["findings"]]
    assert "PL006" not in rules and "XS004" not in rules      # X is Meadow Farm Learning, listed as D-MFL
    # the rule itself knows the directory's IDs (any case, spaces trimmed), so a batch gets the same
    from apxl.engine import check

    assert not _found(check(book, directory_ids=[" d-rrc "])[0], "PL006")
    assert _found(check(book, directory_ids=["D-OTHER"])[0], "PL006")


# --- the run itself ---------------------------------------------------------------------------------------

def test_unreadable_file_in_the_middle_is_a_wb006_return_and_the_rest_go_on(batch):
    damaged = _return(batch, "damaged.xlsx")
    assert damaged.status == "unreadable" and not damaged.counted
    assert [f.rule for f in damaged.report.findings] == ["WB006"]
    assert "damaged.xlsx could not be read" in damaged.report.findings[0].message
    assert [r.status for r in batch.returns].count("errors") == 3
    assert batch.headline == {"checked": 5, "clean": 0, "errors": 3, "warnings": 1, "unreadable": 1}


def test_lock_files_and_annotated_copies_and_reports_are_skipped(folder, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(folder, root)
    (root / "marked").mkdir()
    shutil.copy(root / "beech.xlsx", root / "marked" / "beech.xlsx")
    (root / ".~lock.beech.xlsx#").write_text("x")
    found = [os.path.relpath(p, root) for p in find_workbooks([str(root)], skip=[str(root / "marked")])]
    assert found == ["beech.xlsx", "damaged.xlsx", "oakfield-first.xlsx", "oakfield.xlsx", "cedar/cedar.xlsx"]


def test_two_workers_give_the_same_report_as_one(folder):
    one = validate_many([str(folder)], jobs=1).to_json()
    two = validate_many([str(folder)], jobs=2).to_json()
    assert one == two


def test_json_is_the_spec_shape_and_exit_codes(folder, tmp_path):
    out = subprocess.run(APXL + ["batch", str(folder), "--format", "json"], capture_output=True, text=True)
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert set(data) == {"workbooks", "findings"}
    assert len(data["workbooks"]) == 5 and all("files" in f for f in data["findings"])
    beech = next(w for w in data["workbooks"] if w["file"].endswith("beech.xlsx"))
    assert beech["school"] == "Beech School" and beech["summary"]["error"] >= 1
    assert any(f["value"] == FORMULA for f in beech["findings"])            # JSON keeps the text as typed
    assert any(SCRIPT in f["message"] for f in data["findings"])
    assert "5 returns checked" in out.stderr
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    shutil.copy(folder / "damaged.xlsx", only_bad / "damaged.xlsx")
    assert subprocess.run(APXL + ["batch", str(only_bad)], capture_output=True).returncode == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    gone = subprocess.run(APXL + ["batch", str(empty)], capture_output=True, text=True)
    assert gone.returncode == 2 and "no workbooks" in gone.stderr and "Traceback" not in gone.stderr


def test_redact_leaves_pupils_out_of_every_output(folder, tmp_path):
    batch = validate_many([str(folder)], jobs=1, redact=True)
    text = batch.to_json()
    for pupil in ("H801200009009", "H801200001001", "Testpupil"):
        assert pupil not in text
    assert "BEE-06" in text                                 # records keep their Placement IDs


def test_annotated_copies_carry_the_cross_school_findings(folder, tmp_path):
    out = tmp_path / "marked"
    run = subprocess.run(APXL + ["batch", str(folder), "--annotate-dir", str(out), "--format", "json",
                                 "--output", str(tmp_path / "b.json")], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert sorted(os.path.relpath(p, out) for p in map(str, out.rglob("*.xlsx"))) == [
        "beech.xlsx", "cedar/cedar.xlsx", "oakfield-first.xlsx", "oakfield.xlsx"]
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(out / "cedar" / "cedar.xlsx")).get_sheet_by_name("Warnings").to_python()
    text = " ".join(str(c) for row in rows for c in row)
    assert "HR003" in text and "XS001" in text
    assert (folder / "cedar" / "cedar.xlsx").read_bytes() == build_bytes("cedar/cedar.xlsx", tmp_path)


def build_bytes(name: str, tmp_path: Path) -> bytes:
    """The bytes the example return had when written (the batch never changes an input)."""
    path = tmp_path / "fresh" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_xlsx(path, returns()[name]).read_bytes()


def test_the_committed_example_folder_is_what_the_script_makes(tmp_path):
    from batch_examples import FOLDER

    fresh = build(tmp_path / "partnership" / "returns")
    made = sorted(p.relative_to(fresh.parent) for p in fresh.parent.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(FOLDER.parent) for p in FOLDER.parent.rglob("*") if p.is_file())
    assert made == committed
    for rel in made:
        assert (fresh.parent / rel).read_bytes() == (FOLDER.parent / rel).read_bytes(), rel


def test_library_takes_a_single_path_too(folder):
    batch = apxl.validate_many(str(folder / "beech.xlsx"))
    assert [os.path.basename(r.file) for r in batch.returns] == ["beech.xlsx"]
    assert batch.exit_code == 1


def test_a_school_alone_with_a_checklist_row_per_placement(tmp_path):
    """A clean two-school batch: nothing across schools but the provider view."""
    for n, (school, urn) in enumerate((("One School", "100001"), ("Two School", "100002"))):
        book = tracker(placements=[placement_row(f"P-{n}", UPN=f"A80120000{n}001")],
                       checklist=[done_checklist_row(f"P-{n}")])
        book["Setup"] = [["Key", "Value"], ["School name", school], ["School URN", urn]]
        write_xlsx(tmp_path / f"s{n}.xlsx", book)
    batch = validate_many([str(tmp_path)], jobs=1)
    assert {c.finding.rule for c in batch.findings} == {"XS003"}
    assert batch.providers[0].pupils == 2 and batch.providers[0].peak == 0


def test_html_and_excel_reports_escape_and_neutralise(folder, tmp_path):
    html = tmp_path / "batch.html"
    xlsx = tmp_path / "batch.xlsx"
    for fmt, out in (("html", html), ("xlsx", xlsx)):
        run = subprocess.run(APXL + ["batch", str(folder), "--format", fmt, "--output", str(out)],
                             capture_output=True, text=True)
        assert run.returncode == 1, run.stderr
    page = html.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;apxl&#39;)&lt;/script&gt;" in page
    assert "Meadow Farm Learning" in page and "05/10/2026" in page and 'id="return-' in page
    import openpyxl

    wb = openpyxl.load_workbook(xlsx)
    assert {"Schools", "Providers", "Findings", "Rules"} <= set(wb.sheetnames)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c for c in cells if c.data_type == "f"]
    assert [c.value for c in cells if c.value.startswith(("=", "+", "-", "@"))] == []
    assert any(c.value == "'" + FORMULA for c in cells)                   # the Provider ID typed as a formula
    assert any(SCRIPT in c.value for c in cells)
    # the report is not taken for a return when it sits in the folder
    shutil.copy(xlsx, folder / "report.xlsx")
    try:
        assert all(not p.endswith("report.xlsx") for p in find_workbooks([str(folder)]))
    finally:
        os.unlink(folder / "report.xlsx")


def test_validate_renders_one_workbook_as_html_and_excel(tmp_path):
    defects = ROOT / "workbooks" / "examples" / "defects.xlsx"
    out = subprocess.run(APXL + ["validate", str(defects), "--format", "html"], capture_output=True, text=True)
    assert out.returncode == 1 and "<html" in out.stdout.lower()
    assert all(f.message.replace("'", "&#39;").replace('"', "&#34;") in out.stdout or f.message in out.stdout
               for f in apxl.validate(defects).findings if "<" not in f.message and "&" not in f.message)
    refused = subprocess.run(APXL + ["validate", str(defects), "--format", "xlsx"], capture_output=True, text=True)
    assert refused.returncode == 2 and "--output" in refused.stderr


def _crash_on_some(paths: list[str]):
    """A reader that kills its worker process on one file (what a native crash or the memory killer does)."""
    if any(p.endswith("crash.xlsx") for p in paths):
        os._exit(70)
    from apxl.batch import _check_returns_real

    return _check_returns_real(paths)


def test_a_worker_that_dies_loses_only_its_own_file(folder, tmp_path, monkeypatch):
    import apxl.batch as batch_module

    root = tmp_path / "r"
    shutil.copytree(folder, root)
    shutil.copy(root / "beech.xlsx", root / "crash.xlsx")
    monkeypatch.setattr(batch_module, "_check_returns_real", batch_module._check_returns, raising=False)
    monkeypatch.setattr(batch_module, "_check_returns", _crash_on_some)
    batch = validate_many([str(root)], jobs=2)
    crashed = _return(batch, "crash.xlsx")
    assert crashed.status == "unreadable" and "stopped on it" in crashed.report.findings[0].message
    assert _return(batch, "beech.xlsx").status == "errors"
    assert len(batch.returns) == 6 and [r.status for r in batch.returns].count("unreadable") == 2


# --- returns checked together (apxl.engine.check_many) ----------------------------------------------------

def _alone_and_together(sources: list) -> tuple[list, list]:
    from apxl.engine import check, check_many

    alone = [check(s, as_of="2026-11-30")[0].to_json() for s in sources]
    together = [r[0].to_json() for r in check_many(sources, as_of="2026-11-30")]
    return alone, together


def test_returns_checked_together_find_what_each_finds_alone(folder):
    sources = [str(p) for p in sorted(folder.rglob("*.xlsx")) if p.name != "damaged.xlsx" and not p.name.startswith("~$")]
    sources += [str(p) for p in sorted((ROOT / "workbooks" / "examples").glob("*.xls*"))]
    alone, together = _alone_and_together(sources)
    assert len(sources) > 10 and together == alone


def test_a_placement_id_repeats_only_within_its_own_return():
    once = tracker([placement_row("P-001"), placement_row("P-002", UPN="A801200005001")])
    twice = tracker([placement_row("P-001"), placement_row("P-001", UPN="A801200005001")])
    from apxl.engine import check_many

    results = check_many([once, dict(once), twice], as_of="2026-11-30")
    ce006 = [[(f.sheet, f.cell, f.record) for f in r[0].findings if f.rule == "CE006"] for r in results]
    assert ce006[0] == [] and ce006[1] == []             # the same IDs in two returns are no repeat
    assert ce006[2] == [("Placements", "A3", "P-001")]   # the repeat within one return is
    alone, together = _alone_and_together([once, twice])
    assert together == alone


def test_one_bad_return_among_those_checked_together_is_its_own_error(folder, tmp_path):
    from apxl.engine import check_many
    from apxl.errors import UnreadableWorkbook

    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    good = str(folder / "beech.xlsx")
    results = check_many([good, str(bad), good], as_of="2026-11-30")
    assert isinstance(results[1], UnreadableWorkbook)
    assert results[0][0].to_json() == results[2][0].to_json() == apxl.validate(good, as_of="2026-11-30").to_json()


def test_small_returns_go_together_and_a_large_one_alone(tmp_path):
    from apxl.batch import _TOGETHER_BYTES, _chunks

    files = []
    for k, size in enumerate([10, 10, _TOGETHER_BYTES // 2, 10, 10, 10, 10]):
        path = tmp_path / f"{k}.xlsx"
        path.write_bytes(b"x" * size)
        files.append(str(path))
    assert _chunks(files, 3) == [[0, 1], [2], [3, 4, 5], [6]]


def test_runs_shorten_towards_the_end_with_several_workers(tmp_path):
    from apxl.batch import _chunks

    files = []
    for k in range(40):
        path = tmp_path / f"{k}.xlsx"
        path.write_bytes(b"x")
        files.append(str(path))
    runs = _chunks(files, 8, workers=2)
    assert [k for run in runs for k in run] == list(range(40))
    sizes = [len(run) for run in runs]
    assert sizes[0] == 8 and sizes == sorted(sizes, reverse=True) and sizes[-1] == 1


def test_progress_bar_on_a_terminal_only(folder):
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(APXL + ["batch", str(folder), "--format", "json", "--output", os.devnull],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait()
    os.close(master)
    text = seen.decode(errors="replace")
    assert "apxl: checking returns [" in text and "5/5" in text
    assert "5 returns checked" in text
    quiet = subprocess.run(APXL + ["batch", str(folder), "--format", "json", "--output", os.devnull],
                           capture_output=True, text=True)
    assert "checking returns" not in quiet.stderr and "5 returns checked" in quiet.stderr


def test_should_the_checks_together_fail_each_return_is_checked_alone(folder, monkeypatch):
    import apxl.engine as engine

    real = engine.check_tables

    def fails_together(workbooks, days):
        if len(workbooks) > 1:
            raise RuntimeError("together")
        return real(workbooks, days)

    monkeypatch.setattr(engine, "check_tables", fails_together)
    sources = [str(folder / "beech.xlsx"), str(folder / "oakfield.xlsx")]
    results = engine.check_many(sources, as_of="2026-11-30")
    assert [r[0].to_json() for r in results] == [apxl.validate(s, as_of="2026-11-30").to_json() for s in sources]


def test_a_finding_sent_from_a_worker_arrives_whole():
    import pickle

    report = apxl.validate(ROOT / "workbooks" / "examples" / "rules-ex.xlsx", as_of="2026-11-30")
    explained = [f for f in report.findings if f.explained]
    assert explained and any(f.cell and f.record and f.value for f in report.findings)
    back = pickle.loads(pickle.dumps(report.findings))
    assert back == report.findings and [f for f in back if f.explained] == explained
    assert [f.to_dict() for f in back] == [f.to_dict() for f in report.findings]
