"""Annotated copies written straight into the zip package: nothing lost, idempotent, cleared exactly."""

from __future__ import annotations

import hashlib
import re
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
import python_calamine
from conftest import CORPUS, ROOT

from apxl.annotate import AnnotateError, annotate, clear
from apxl.engine import validate
from apxl.errors import ApxlError
from apxl.findings import Finding, Report

# the examples, and the built templates once they are committed in workbooks/
EXAMPLES = sorted((ROOT / "workbooks" / "examples").glob("*.xlsx")) + sorted(
    p for p in (ROOT / "workbooks").glob("*") if p.suffix in (".xlsx", ".xlsm"))
WILD = sorted(p for p in CORPUS.glob("*") if p.suffix in (".xlsx", ".xlsm")) if CORPUS.is_dir() else []
CHECKED = "2026-11-30 09:00"
_APXL_CF = re.compile(r'<(?:\w+:)?conditionalFormatting sqref="([^"]*)"><(?:\w+:)?cfRule type="expression" '
                      r'dxfId="(\d+)" priority="\d+"><(?:\w+:)?formula>"apxl"="apxl"</')


def raw(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's compressed bytes as stored."""
    fp = zf.fp
    fp.seek(info.header_offset)
    head = fp.read(30)
    n, m = struct.unpack("<HH", head[26:30])
    fp.seek(info.header_offset + 30 + n + m)
    return fp.read(info.compress_size)


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def sheet_parts(path: Path) -> dict[str, str]:
    """Worksheet name -> part (chart sheets left out: they have no cells to mark)."""
    from apxl.package import read_package

    with zipfile.ZipFile(path) as zf:
        names = {n.lower(): n for n in zf.namelist()}
        out = {}
        for sheet, part in read_package(zf).sheet_parts.items():
            real = names.get(part.lower())
            if real and re.search(rb"<(?:\w+:)?worksheet\b", zf.read(real)[:4096]):
                out[sheet] = real
        return out


def synthetic(path: Path) -> Report:
    """Findings of every kind on every sheet of a workbook apxl finds nothing on (the wild corpus)."""
    findings = []
    for sheet in sheet_parts(path):
        findings += [
            Finding("CE001", "error", "=HYPERLINK(\"x\") is not data", sheet=sheet, cell="A1", row=1, value="=1+1"),
            Finding("CE002", "error", "another on the same cell", sheet=sheet, cell="A1", row=1),
            Finding("CE003", "warning", "+warning <&> \x01", sheet=sheet, cell="B2", row=2, record="P-1"),
            Finding("EX001", "warning", "explained", sheet=sheet, cell="C3", row=3, explained=True),
            Finding("PL001", "info", "@info", sheet=sheet, cell="AA10", row=10, column="Field"),
        ]
    findings.append(Finding("WB001", "warning", "about the workbook"))
    findings.sort(key=Finding.sort_key)
    return Report(file=str(path), as_of="2026-11-30", findings=findings)


def check_copy(src: Path, out: Path, report: Report) -> None:
    """(a) untouched parts byte-identical, (b) readable, Warnings rows, links and highlights right,
    (c) annotate twice = once, (d) clear gives back the original parts, (e) input untouched."""
    before = fingerprint(src)
    result = annotate(src, out, report, checked=CHECKED)
    assert fingerprint(src) == before

    names = sheet_parts(src)
    marked = {f.sheet for f in report.findings if f.cell and f.sheet in names}
    allowed = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml"}
    allowed |= {names[s] for s in marked}
    allowed |= {names[s].rsplit("/", 1)[0] + "/_rels/" + names[s].rsplit("/", 1)[1] + ".rels" for s in marked}
    user_notes = {n for n in result.changed if n.endswith(".vml") or re.search(r"comments\d*\.xml$", n)}
    assert set(result.changed) - user_notes <= allowed, set(result.changed) - allowed
    assert result.removed == []
    assert "xl/worksheets/apxlWarnings.xml" in result.added
    assert all(a.startswith(("xl/worksheets/", "xl/comments/apxlNotes", "xl/drawings/apxlNotes")) for a in result.added)

    with zipfile.ZipFile(src) as zo, zipfile.ZipFile(out) as za:
        new = {i.filename: i for i in za.infolist()}
        for name in result.changed + result.added:          # every part apxl wrote is well-formed XML
            ElementTree.fromstring(za.read(name))
        for info in zo.infolist():
            assert info.filename in new
            if info.filename not in result.changed:
                assert raw(za, new[info.filename]) == raw(zo, info), info.filename
                assert za.read(info.filename) == zo.read(info.filename)
        assert za.testzip() is None
        # the highlights: one apxl block per severity over exactly the finding cells
        for sheet in marked:
            text = za.read(names[sheet]).decode("utf-8")
            blocks = _APXL_CF.findall(text)
            got = {c for sqref, _ in blocks for c in sqref.split()}
            want = {f.cell for f in report.findings if f.sheet == sheet and f.cell}
            assert got == want
            assert len(blocks) == len({sqref for sqref, _ in blocks})
            # everything the part held is still there, in order
            old = zo.read(names[sheet]).decode("utf-8")
            stripped = text
            for m in re.finditer(r"<(?:\w+:)?conditionalFormatting sqref=\"[^\"]*\">.*?</(?:\w+:)?conditionalFormatting>", text):
                if '"apxl"="apxl"' in m.group(0):
                    stripped = stripped.replace(m.group(0), "", 1)
            stripped = re.sub(r'<(?:\w+:)?legacyDrawing [^>]*"rIdApxlVml"/>', "", stripped)
            assert stripped == old
        styles = za.read("xl/styles.xml").decode("utf-8") if marked else ""
        if marked:
            assert styles.count('"FFFFC7CE"') >= 1

    # calamine and openpyxl read it; the Warnings sheet lists every finding with a link to its cell
    wb = python_calamine.CalamineWorkbook.from_path(str(out))
    assert result.sheet in wb.sheet_names
    rows = wb.get_sheet_by_name(result.sheet).to_python()
    assert rows[0][0].startswith("apxl: ")
    assert rows[1][:8] == ["Severity", "Rule", "Record", "Message", "Sheet", "Cell", "Field", "Value"]
    listed = [(r[1], r[4], r[5]) for r in rows[2:]]
    assert listed == [(f.rule, f.sheet or "", f.cell or "") for f in sorted(report.findings, key=Finding.sort_key)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loads = set(openpyxl.load_workbook(src).sheetnames) == set(
                python_calamine.CalamineWorkbook.from_path(str(src)).sheet_names)
        with zipfile.ZipFile(src) as zo:     # openpyxl reads dxfs only beside cell styles
            loads = loads and b"cellXfs" in zo.read("xl/styles.xml")
    except Exception:
        loads = False           # some wild files do not load in openpyxl to begin with
    if loads:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(out)
        ws = book[result.sheet]
        for n, f in enumerate(sorted(report.findings, key=Finding.sort_key), start=3):
            link = ws.cell(n, 6).hyperlink
            if f.cell and f.sheet in names:
                assert link is not None and link.location == "'" + f.sheet.replace("'", "''") + "'!" + f.cell
            else:
                assert link is None
            assert ws.cell(n, 4).data_type == "s"      # text, never a formula
        for sheet in marked:
            got = set()
            for cf in book[sheet].conditional_formatting:
                if any(r.formula == ['"apxl"="apxl"'] for r in cf.rules):
                    got |= {str(c) for rng in cf.sqref.ranges for c in [rng.coord]}
            assert got == {f.cell for f in report.findings if f.sheet == sheet and f.cell}

    # (c) annotating the annotated copy changes nothing
    again = out.with_name(out.stem + ".again" + out.suffix)
    second = annotate(out, again, report, checked=CHECKED)
    assert parts(again) == parts(out)
    assert second.changed == [] and second.added == [] and second.removed == []

    # (d) clear gives back the original, part by part
    cleared = out.with_name(out.stem + ".cleared" + out.suffix)
    before_out = fingerprint(out)
    clear(out, cleared)
    assert fingerprint(out) == before_out
    assert list(parts(cleared)) == list(parts(src))
    assert parts(cleared) == parts(src)
    # and clearing a file apxl never marked changes no part at all
    plain = out.with_name(out.stem + ".plain" + out.suffix)
    assert clear(src, plain).changed == []
    assert parts(plain) == parts(src)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples(path, tmp):
    report = validate(path)
    check_copy(path, tmp / ("marked" + path.suffix), report)


def _readable(path: Path) -> bool:
    try:
        validate(path)
    except ApxlError:
        return False
    return True


@pytest.mark.parametrize("path", WILD, ids=lambda p: p.name)
def test_wild(path, tmp):
    if not _readable(path):
        # an encrypted or damaged file: no copy is made, and the reason is one line naming the file
        out = tmp / ("marked" + path.suffix)
        with pytest.raises(ApxlError) as caught:
            validate(path)
        assert path.name in str(caught.value) and "\n" not in str(caught.value) and not out.exists()
        return
    report = synthetic(path)
    out = tmp / ("marked" + path.suffix)
    try:
        annotate(path, out, report, checked=CHECKED)
    except AnnotateError as exc:
        # packages without xl/workbook.xml (non-standard part names): a one-line refusal, no copy
        assert "\n" not in str(exc) and not out.exists()
        return
    out.unlink()
    check_copy(path, out, report)
    check_copy(path, tmp / ("real" + path.suffix), validate(path))


def test_wild_corpus_is_there():
    assert len(WILD) > 50


def _user_workbook(path: Path) -> Path:
    """A workbook with the user's own Warnings sheet, conditional formats (dxfs), validations and notes."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Placements")
    ws.write_row(0, 0, ["Placement ID", "Surname"])
    ws.write_row(1, 0, ["P-001", "Smith"])
    red = wb.add_format({"bg_color": "#FF0000"})
    ws.conditional_format("A2:A100", {"type": "cell", "criteria": "==", "value": '"x"', "format": red})
    ws.data_validation("B2:B100", {"validate": "length", "criteria": "<", "value": 50})
    ws.write_comment("B2", "the user's own note")
    ws.autofilter("A1:B2")
    ws.set_landscape()
    mine = wb.add_worksheet("Warnings")
    mine.write(0, 0, "the user's own sheet")
    wb.define_name("Mine", "=Placements!$A$1")
    wb.close()
    return path


def test_user_warnings_sheet_and_formats_are_kept(tmp):
    src = _user_workbook(tmp / "user.xlsx")
    report = Report(file=str(src), as_of="2026-11-30", findings=[
        Finding("CE001", "error", "blank", sheet="Placements", cell="B2", row=2),
        Finding("CE003", "warning", "text", sheet="Placements", cell="A2", row=2),
        Finding("CE003", "info", "not a sheet", sheet="Nowhere", cell="A2", row=2)])
    out = tmp / "out.xlsx"
    result = annotate(src, out, report, checked=CHECKED)
    assert result.sheet == "apxl Warnings"
    book = openpyxl.load_workbook(out)
    assert book["Warnings"]["A1"].value == "the user's own sheet"
    assert book["Placements"]["B2"].comment.text.startswith("the user's own note")
    # the sheet has notes of its own: apxl's go beside them, never on the cell with the user's note
    assert result.noted == {"Placements": 1}
    assert book["Placements"]["A2"].comment.author == "apxl" and "CE003: text" in book["Placements"]["A2"].comment.text
    assert "CE001" not in book["Placements"]["B2"].comment.text
    assert "_apxl_warnings" in book.defined_names and "Mine" in book.defined_names
    styles = zipfile.ZipFile(out).read("xl/styles.xml").decode()
    assert re.search(r'<dxfs count="6">', styles)          # the user's one, four highlights, the Warnings heading
    heading = re.findall(r"<dxf>.*?</dxf>", styles)[5]
    assert "<b/>" in heading
    warnings = zipfile.ZipFile(out).read("xl/worksheets/apxlWarnings.xml").decode()
    assert re.search(r'<conditionalFormatting sqref="A2:H2"><cfRule type="expression" dxfId="5"', warnings)
    check_copy(src, tmp / "checked.xlsx", report)


def test_notes(tmp):
    src = ROOT / "workbooks" / "examples" / "defects.xlsx"
    report = validate(src)
    result = annotate(src, tmp / "n.xlsx", report, checked=CHECKED)
    assert result.noted == {"Placements": 7, "Checklist": 2} or sum(result.noted.values()) == len(
        {(f.sheet, f.cell) for f in report.findings if f.cell})
    book = openpyxl.load_workbook(tmp / "n.xlsx")
    note = book["Placements"]["C5"].comment
    assert note.author == "apxl" and "CE001: Surname is blank" in note.text
    plain = annotate(src, tmp / "plain.xlsx", report, checked=CHECKED, notes=False)
    assert plain.noted == {} and not any("apxlNotes" in n for n in parts(tmp / "plain.xlsx"))


def test_refusals(tmp):
    src = ROOT / "workbooks" / "examples" / "defects.xlsx"
    with pytest.raises(AnnotateError, match="input file"):
        annotate(src, src, validate(src))
    for name in ("date.xls", "date.xlsb", "date.ods"):
        if (CORPUS / name).exists():
            with pytest.raises(AnnotateError, match="only into .xlsx"):
                annotate(CORPUS / name, tmp / "x.xlsx", Report(file=name, as_of="2026-11-30"))
            with pytest.raises(AnnotateError, match="only into .xlsx"):
                clear(CORPUS / name, tmp / "x.xlsx")
    assert not (tmp / "x.xlsx").exists()


# ------------------------------------------------------------------------------------------------ CLI


def apxl(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apxl", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def test_cli_annotate_and_clear(tmp):
    src = tmp / "defects.xlsx"
    src.write_bytes((ROOT / "workbooks" / "examples" / "defects.xlsx").read_bytes())
    before = fingerprint(src)
    out = tmp / "marked.xlsx"
    run = apxl("validate", src, "--annotate", out, "--format", "json")
    assert run.returncode == 1 and '"findings"' in run.stdout
    assert fingerprint(src) == before and out.exists()
    assert "Warnings" in python_calamine.CalamineWorkbook.from_path(str(out)).sheet_names

    refused = apxl("validate", src, "--annotate", src)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "--in-place" in refused.stderr
    assert fingerprint(src) == before

    cleared = tmp / "cleared.xlsx"
    run = apxl("clear", out, "--output", cleared)
    assert run.returncode == 0, run.stderr
    assert parts(cleared) == parts(src)
    assert apxl("clear", out).returncode == 2
    assert apxl("clear", out, "--output", out).returncode == 2
    assert apxl("clear", tmp / "missing.xlsx", "--output", cleared).returncode == 2

    (tmp / "~$cleared.xlsx").write_bytes(b"owner")           # the copy's target is open in Excel
    before_out = fingerprint(cleared)
    run = apxl("clear", out, "--output", cleared)
    assert run.returncode == 2 and "Excel has it open" in run.stderr and fingerprint(cleared) == before_out

    clean = tmp / "clean.xlsx"
    clean.write_bytes((ROOT / "workbooks" / "examples" / "clean.xlsx").read_bytes())
    assert apxl("validate", clean, "--annotate", tmp / "clean.marked.xlsx").returncode == 0


def test_cli_in_place_and_lock(tmp):
    src = tmp / "defects.xlsx"
    original = (ROOT / "workbooks" / "examples" / "defects.xlsx").read_bytes()
    src.write_bytes(original)
    lock = tmp / "~$defects.xlsx"
    lock.write_bytes(b"owner")
    for args in (("validate", src, "--in-place"), ("clear", src, "--in-place")):
        run = apxl(*args)
        assert run.returncode == 2 and "Excel has it open" in run.stderr and run.stderr.count("\n") == 1
    assert src.read_bytes() == original and not (tmp / "defects.xlsx.bak").exists()
    lock.unlink()

    run = apxl("validate", src, "--in-place")
    assert run.returncode == 1, run.stderr
    assert (tmp / "defects.xlsx.bak").read_bytes() == original
    assert "Warnings" in python_calamine.CalamineWorkbook.from_path(str(src)).sheet_names
    assert sorted(p.name for p in tmp.iterdir()) == ["defects.xlsx", "defects.xlsx.bak"]   # no temporary left
    run = apxl("clear", src, "--in-place")
    assert run.returncode == 0, run.stderr
    assert parts(src) == parts(ROOT / "workbooks" / "examples" / "defects.xlsx")


@pytest.mark.parametrize("name", ["date.xls", "date.xlsb", "date.ods"])
def test_cli_other_formats(name, tmp):
    path = CORPUS / name
    if not path.exists():
        pytest.skip("corpus file missing")
    out = tmp / "x.xlsx"
    run = apxl("validate", path, "--annotate", out, "--format", "json")
    assert run.returncode == 2 and '"findings"' in run.stdout        # the report is still written
    assert run.stderr.count("\n") == 1 and "only into .xlsx" in run.stderr and not out.exists()
    run = apxl("clear", path, "--output", out)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and not out.exists()
