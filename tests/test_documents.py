"""apxl documents and apxl ofsted-list: every document kind filled from the tracker, missing values shown
and listed, templates checked, the Ofsted list's rows, and LibreOffice able to open what is written."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest
from conftest import ROOT

from apxl import documents
from apxl.documents import english_date, generate, ofsted_list
from apxl.errors import ApxlError
from workbooks import headers, placement_row, provider_row, tracker, write_xlsx

AS_OF = "2026-11-30"
ADDRESS = "1 Farm Lane, Melton, LE13 0AA"
FULL = dict(
    Forename="Alex", Surname="Testpupil", **{"Placement basis": "Off-site direction", "Attendance code": "B"},
    Reason="Persistent disruption in lessons",
    Objectives="Attend 95%; Level 1 award",
    **{"Parent or carer": "Ms J. Testparent", "Parent address": "2 Home Road, Melton, LE13 1BB",
       "Reports to at provider": "Mrs C. Ferris"},
)

PROVIDER = {"Contact email": "office@meadow.example", "Insurance expiry": dt.date(2027, 8, 31)}


def provider(pid: str = "AP-01", **over) -> list:
    return provider_row(pid, **{**PROVIDER, **over})


def session(pid: str, day: str, where: str, start: tuple[int, int], end: tuple[int, int]) -> list:
    values = {"Placement ID": pid, "Day": day, "Location": where, "Start time": dt.time(*start),
              "End time": dt.time(*end)}
    return [values[h] for h in headers("Timetable")]


def book(*placements: list, providers: list | None = None) -> dict:
    rows = list(placements) or [placement_row("P-001", **FULL)]
    ids = [r[0] for r in rows]
    timetable = [headers("Timetable")]
    for pid in ids:
        timetable += [session(pid, "Mon", "AP", (9, 0), (15, 0)), session(pid, "Tue", "School", (8, 45), (15, 15))]
    return tracker(placements=rows, providers=providers or [provider()], checklist=[], Timetable=timetable)


def text_of(path: Path) -> str:
    """Every paragraph of a .docx, tables (and tables in tables) included, one per line."""
    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]

    def tables(ts):
        for t in ts:
            for row in t.rows:
                for cell in row.cells:
                    lines.extend(p.text for p in cell.paragraphs)
                    tables(cell.tables)

    tables(document.tables)
    return "\n".join(lines)


def apxl(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apxl", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=180)


# --- every document kind, filled ---------------------------------------------------------------------------

def test_every_document_kind_is_filled_from_the_tracker(tmp):
    outcome = generate(book(), tmp / "out", as_of=AS_OF)
    names = sorted(p.name for p in outcome.written)
    assert names == ["AP-01-monitoring-checklist.docx", "AP-01-qa-visit.docx", "P-001-commissioning-agreement.docx",
                     "P-001-parent-notice.docx", "P-001-placement-plan.docx"]
    assert outcome.incomplete == [] and outcome.exit_code == 0
    texts = {p.name: text_of(p) for p in outcome.written}
    for name, text in texts.items():
        assert "Sample template shipped with apxl" in text, name
        assert ADDRESS in text, name
        assert "{{" not in text and "{%" not in text and "[not in the tracker" not in text, name
        assert "30 November 2026" in text, name                    # prepared on the as-at date
    for name in ("P-001-commissioning-agreement.docx", "P-001-placement-plan.docx", "P-001-parent-notice.docx"):
        text = texts[name]
        assert "Alex Testpupil" in text and "14 September 2026" in text and "12 February 2027" in text, name
        assert "Persistent disruption in lessons" in text and "Attend 95%; Level 1 award" in text, name
    plan = texts["P-001-placement-plan.docx"]
    assert "Monday\nAP\n09:00\n15:00" in plan and "Tuesday\nSchool\n08:45\n15:15" in plan
    assert "14 December 2026" in plan                             # the next review date
    notice = texts["P-001-parent-notice.docx"]
    # reg 3(4): the address, who the pupil reports to, the number of days, reasons and objectives, session times
    assert "Ms J. Testparent" in notice and "2 Home Road, Melton, LE13 1BB" in notice
    assert "On the first day, report to\nMrs C. Ferris" in notice
    assert "Number of school days\n" in notice and "Monday\n09:00 to 15:00" in notice
    assert "Tuesday" not in notice.split("Session times at the provision")[1].split("School session times")[0]
    assert "08:45-12:15, 13:00-15:15" in notice                  # the school's sessions, from Setup
    assert "10 September 2026" in notice                          # two school days before the first day
    qa = texts["AP-01-qa-visit.docx"]
    for heading in ("1. Visit details", "2. Registration and legal status", "3. Safeguarding and welfare",
                    "9. Pupil voice", "12. Strengths, actions, overall judgement, next visit date"):
        assert heading in qa
    assert "Meadow Farm Learning" in qa and "Sam Keeper" in qa and "Alex Testpupil" in qa and "1 June 2026" in qa
    checklist = texts["AP-01-monitoring-checklist.docx"]
    assert "Alex Testpupil\nP-001\nMrs C. Ferris\nMonday 09:00 to 15:00" in checklist


def test_number_of_days_counts_school_days(tmp):
    one_week = placement_row("P-001", **FULL, **{"Start date": dt.date(2026, 9, 14),
                                                  "Planned end date": dt.date(2026, 9, 18)})
    outcome = generate(book(one_week), tmp, as_of=AS_OF, placements=["P-001"])
    notice = text_of(tmp / "P-001-parent-notice.docx")
    assert outcome.exit_code == 0 and "Number of school days\n5" in notice


def test_dates_read_in_english_style():
    assert english_date(dt.date(2026, 9, 3)) == "3 September 2026"
    assert english_date(dt.date(2027, 2, 12)) == "12 February 2027"


def test_no_notice_unless_off_site_direction(tmp):
    agreed = placement_row("P-001", **{**FULL, "Placement basis": "Agreed with parent"})
    outcome = generate(book(agreed), tmp, as_of=AS_OF)
    assert not (tmp / "P-001-parent-notice.docx").exists() and (tmp / "P-001-placement-plan.docx").exists()
    assert outcome.exit_code == 0


# --- missing values are shown and listed ----------------------------------------------------------------

def test_missing_parent_address_is_visible_listed_and_exits_1(tmp):
    wb = write_xlsx(tmp / "t.xlsx", book(placement_row("P-001", **FULL),
                                         placement_row("P-002", **{**FULL, "Parent address": ""})))
    res = apxl("documents", wb, "--out", tmp / "out", "--as-of", AS_OF)
    assert res.returncode == 1, res.stderr
    notice = text_of(tmp / "out" / "P-002-parent-notice.docx")
    assert "[not in the tracker: Parent address]" in notice
    assert "[not in the tracker" not in text_of(tmp / "out" / "P-001-parent-notice.docx")
    assert "apxl: P-002-parent-notice.docx: not in the tracker: Parent address" in res.stderr.splitlines()
    assert "P-001-parent-notice" not in res.stderr
    # nothing but file names on stdout, and no pupil data anywhere on the screen
    assert all(Path(line).parent == (tmp / "out").resolve() for line in res.stdout.splitlines())
    assert len(res.stdout.splitlines()) == 8
    for secret in ("Testpupil", "Alex", "Home Road", "Testparent", "B801200005001"):
        assert secret not in res.stdout + res.stderr


def test_unknown_provider_prints_every_provider_field_as_missing(tmp):
    lost = placement_row("P-001", **{**FULL, "Provider ID": "AP-99"})
    outcome = generate(book(lost), tmp, as_of=AS_OF, placements=["P-001"])
    assert outcome.exit_code == 1
    missing = dict(outcome.incomplete)["P-001-parent-notice.docx"]
    assert "Provider address" in missing and "Provider name" in missing
    assert "[not in the tracker: Provider address]" in text_of(tmp / "P-001-parent-notice.docx")


def test_no_timetable_shows_the_gap(tmp):
    wb = tracker(placements=[placement_row("P-001", **FULL)], providers=[provider()], checklist=[])
    outcome = generate(wb, tmp, as_of=AS_OF, placements=["P-001"])
    assert ("P-001-parent-notice.docx", ["Timetable"]) in outcome.incomplete
    assert "[not in the tracker: Timetable]" in text_of(tmp / "P-001-placement-plan.docx")


# --- choosing documents, names, formats --------------------------------------------------------------------

def test_placement_and_provider_select_their_documents(tmp):
    wb = write_xlsx(tmp / "t.xlsx", book(placement_row("P-001", **FULL), placement_row("P-002", **FULL)))
    res = apxl("documents", wb, "--out", tmp / "a", "--placement", "P-002", "--as-of", AS_OF)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp / "a").iterdir()) == [
        "P-002-commissioning-agreement.docx", "P-002-parent-notice.docx", "P-002-placement-plan.docx"]
    res = apxl("documents", wb, "--out", tmp / "b", "--provider", "ap-01", "--as-of", AS_OF)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp / "b").iterdir()) == ["AP-01-monitoring-checklist.docx", "AP-01-qa-visit.docx"]
    assert "Alex Testpupil" in text_of(tmp / "b" / "AP-01-qa-visit.docx")
    res = apxl("documents", wb, "--out", tmp / "c", "--placement", "P-404")
    assert res.returncode == 2 and res.stderr.strip() == "apxl: no placement P-404 on the Placements sheet"


def test_file_names_from_ids_stay_inside_the_folder(tmp):
    outcome = generate(book(placement_row("../../evil", **FULL), placement_row("..\\x/..", **FULL)),
                       tmp / "out", as_of=AS_OF)
    for path in outcome.written:
        assert path.parent == (tmp / "out").resolve() and "/" not in path.name and "\\" not in path.name
    assert {p.name for p in outcome.written} >= {"evil-parent-notice.docx", "x-parent-notice.docx"}
    assert not any(tmp.parent.glob("evil*"))


def test_html_documents_are_escaped(tmp):
    hostile = provider("AP-01", **{"Provider name": "<script>alert(1)</script>"})
    outcome = generate(book(providers=[hostile]), tmp, fmt="html", as_of=AS_OF)
    assert outcome.exit_code == 0 and len(outcome.written) == 5
    for path in outcome.written:
        page = path.read_text(encoding="utf-8")
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "Sample template shipped with apxl" in page
    assert "Alex Testpupil" in (tmp / "P-001-parent-notice.html").read_text()


def test_own_templates_replace_the_samples_and_unknown_fields_show(tmp):
    own = tmp / "own"
    own.mkdir()
    (own / "parent-notice.html").write_text("Our notice for {{ pupil.name }} ({{ pupil.shoe_size }})")
    outcome = generate(book(), tmp / "out", fmt="html", templates=own, as_of=AS_OF, placements=["P-001"])
    page = (tmp / "out" / "P-001-parent-notice.html").read_text()
    assert page == "Our notice for Alex Testpupil ([unknown field shoe_size])"
    assert ("P-001-parent-notice.html", ["unknown field shoe_size"]) in outcome.incomplete
    assert "Sample template" in (tmp / "out" / "P-001-placement-plan.html").read_text()   # not in own: the sample


def test_word_documents_need_docxtpl(tmp, monkeypatch):
    monkeypatch.setitem(sys.modules, "docxtpl", None)
    with pytest.raises(ApxlError, match=r"install apxl\[documents\]"):
        generate(book(), tmp, as_of=AS_OF)
    assert generate(book(), tmp, fmt="html", as_of=AS_OF).exit_code == 0


def test_the_example_tracker(tmp):
    res = apxl("documents", ROOT / "workbooks" / "examples" / "clean.xlsx", "--out", tmp, "--format", "html")
    assert res.returncode == 1                       # some of its placements have no Timetable rows
    written = sorted(p.name for p in tmp.iterdir())
    assert "P-001-parent-notice.html" in written and "PRV-03-qa-visit.html" in written
    assert "P-006-placement-plan.html" not in written    # ended before the as-at date
    assert all(line.startswith("apxl: ") for line in res.stderr.splitlines())


# --- checking templates -------------------------------------------------------------------------------------

def test_check_templates_passes_the_samples():
    res = apxl("documents", "--check-templates", ROOT / "workbooks" / "documents")
    assert res.returncode == 0, res.stdout + res.stderr


def test_check_templates_finds_split_and_unknown_placeholders(tmp):
    document = docx.Document()
    split = document.add_paragraph()
    split.add_run("Dear {{ placement.")
    split.add_run("parent }},").bold = True
    document.add_paragraph().add_run("Shoe size: {{ pupil.shoe_size }}")
    document.add_paragraph().add_run("{{ provider.address }} {{ pupil.name|upper }} {{ pupil.name.upper() }}")
    document.save(str(tmp / "parent-notice.docx"))
    (tmp / "qa-visit.html").write_text("{% for p in provider.pupils %}{{ p.name }}{{ p.nickname }}{% endfor %}"
                                       "{{ pupil.name }}")
    res = apxl("documents", "--check-templates", tmp)
    assert res.returncode == 1
    out = res.stdout
    assert "parent-notice.docx: placeholder split across runs by Word: {{ placement.parent }}" in out
    assert "parent-notice.docx: unknown field pupil.shoe_size" in out
    assert "qa-visit.html: unknown field provider.pupils[].nickname" in out
    assert "qa-visit.html: unknown field pupil" in out          # a provider form has no pupil
    assert "provider.address" not in out.split("fields apxl provides")[0]
    assert "fields apxl provides: " in out and "placement.reports_to" in out


def test_check_templates_reads_docxtpl_row_tags(tmp):
    shutil.copy(ROOT / "workbooks" / "documents" / "qa-visit.docx", tmp / "qa-visit.docx")
    problems, fields = documents.check_templates(tmp)
    assert problems == [] and "provider.pupils[].attendance" in fields


# --- the Ofsted list ----------------------------------------------------------------------------------------

def ofsted_book() -> dict:
    hostile = "=cmd|' /C calc'!A0"
    return book(
        placement_row("P-001", **FULL),
        placement_row("P-002", **{**FULL, "Provider ID": "AP-02", "AP hours per week": 12.5}),
        placement_row("P-003", **{**FULL, "Provider ID": "AP-03", "Status": "Ended",
                                  "Actual end date": dt.date(2026, 10, 23)}),
        providers=[provider("AP-01"),
                   provider("AP-02", **{"Provider name": hostile, "Registration": "Registered school",
                                            "URN": "123457", "Address": "<script>x</script>"}),
                   provider("AP-03", **{"Provider name": "Not in use"})])


def test_ofsted_list_xlsx_rows_are_the_providers_in_use(tmp):
    wb = write_xlsx(tmp / "t.xlsx", ofsted_book())
    res = apxl("ofsted-list", wb, "--output", tmp / "list.xlsx", "--as-of", AS_OF)
    assert res.returncode == 0, res.stderr
    ws = openpyxl.load_workbook(tmp / "list.xlsx").active
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if any(r)]
    assert [r[0] for r in rows] == ["AP-01", "AP-02"]
    assert rows[0][1:6] == ("Meadow Farm Learning", ADDRESS, "Unregistered", "none (not registered)", 1)
    assert rows[0][6] == "Alex Testpupil (Year 10, P-001)" and rows[0][7] == "Persistent disruption in lessons"
    assert rows[0][8] == "14 September 2026" and rows[0][9] == "10"
    assert rows[1][1] == "'=cmd|' /C calc'!A0" and ws["B5"].data_type == "s"     # neutralised, not a formula
    assert rows[1][4] == "123457" and rows[1][9] == "12.5"
    assert ws["A1"].value.startswith("Alternative provision in use at Oakfield Academy (URN 123456)")


def test_ofsted_list_html_is_escaped(tmp):
    path, missing = ofsted_list(ofsted_book(), tmp / "list.html", fmt="html", as_of=AS_OF)
    page = path.read_text(encoding="utf-8")
    assert missing == []
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert page.count("<tr><td>AP-0") == 2 and "Not in use" not in page
    assert "=cmd|&#39; /C calc&#39;!A0" in page


def test_ofsted_list_default_name_and_format(tmp):
    wb = write_xlsx(tmp / "school.xlsx", ofsted_book())
    res = apxl("ofsted-list", wb, "--output", tmp / "x.html")
    assert res.returncode == 0 and (tmp / "x.html").read_text().startswith("<!DOCTYPE html>")
    res = apxl("ofsted-list", wb, cwd=tmp)
    assert res.returncode == 0 and res.stdout.strip() == "school-ofsted-list.xlsx" and (tmp / res.stdout.strip()).exists()
    res = apxl("ofsted-list", tmp / "nothing.xlsx")
    assert res.returncode == 2 and res.stderr.startswith("apxl: ")


# --- LibreOffice opens what apxl writes ------------------------------------------------------------------------

def test_libreoffice_converts_each_kind_to_pdf(tmp):
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    assert soffice, "LibreOffice (soffice) is needed: apt-get install -y libreoffice-writer"
    assert pdftotext, "pdftotext is needed: apt-get install -y poppler-utils"
    outcome = generate(book(), tmp / "docs", as_of=AS_OF)
    assert len(outcome.written) == 5
    profile = (tmp / "profile").as_uri()
    res = subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                          "--outdir", str(tmp / "pdf"), *map(str, outcome.written)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    expected = {"commissioning-agreement": "Alex Testpupil", "placement-plan": "Attend 95%",
                "parent-notice": "Mrs C. Ferris", "qa-visit": "Meadow Farm Learning",
                "monitoring-checklist": "Sam Keeper"}
    for path in outcome.written:
        pdf = tmp / "pdf" / (path.stem + ".pdf")
        assert pdf.exists() and pdf.stat().st_size > 1000, f"{path.name}: no PDF; is libreoffice-writer installed? {res.stderr}"
        text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        kind = path.stem.split("-", 2)[-1]
        assert expected[kind] in text and "Sample template shipped with apxl" in text, path.name
        if path.name.startswith("P-001"):
            assert "14 September 2026" in text, path.name


def test_a_broken_template_is_a_one_line_error(tmp):
    own = tmp / "own"
    own.mkdir()
    document = docx.Document()
    document.add_paragraph().add_run("{% if pupil.name %}never closed")
    document.save(str(own / "placement-plan.docx"))
    (own / "commissioning-agreement.docx").write_bytes(b"not a zip")
    wb = write_xlsx(tmp / "t.xlsx", book())
    res = apxl("documents", wb, "--out", tmp / "out", "--templates", own, "--placement", "P-001")
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1, res.stderr
    assert "commissioning-agreement.docx: not a usable Word template" in res.stderr
    (own / "commissioning-agreement.docx").unlink()
    res = apxl("documents", wb, "--out", tmp / "out", "--templates", own, "--placement", "P-001")
    assert res.returncode == 2 and "placement-plan.docx: the template cannot be filled" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    res = apxl("documents", "--check-templates", own)
    assert res.returncode == 1 and "placement-plan.docx: template syntax error" in res.stdout
