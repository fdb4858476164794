"""The consolidated report (HTML and Excel): what a partnership officer reads, prints and filters.

Built by hand from BatchReport pieces, with hostile text in school names, messages and values: the page
must escape it and fetch nothing, the workbook must never hold a formula the officer did not write.
"""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from markupsafe import escape

import apxl
from apxl.batch import BatchReport, CrossFinding, ProviderView, Return, single
from apxl.catalogue import finding
from apxl.errors import ApxlError
from apxl.findings import Finding, Report
from apxl.reports import is_apxl_report, to_html, write_report, write_xlsx

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "<script>alert(1)</script>"
HOSTILE_VALUES = ('=HYPERLINK("http://x")', "+44 116", "@SUM(A1)", "-1")


def _batch() -> BatchReport:
    """Three returns (one with hostile text, one clean, one unreadable), two providers, one cross finding."""
    hostile = Report(file="returns/oakfield.xlsx", as_of="2026-11-30", template_version="1.0", findings=[
        finding("CE001", sheet="Placements", cell="C5", row=5, column="Surname", record="P-004", value=""),
        Finding(rule="CE002", severity="error", message=f"Start date holds {SCRIPT} and {HOSTILE_VALUES[0]}", sheet="Placements",
                cell="M3", row=3, column="Start date", record="P-002", value=HOSTILE_VALUES[0]),
        Finding(rule="PR003", severity="warning", message="Phone is +44 116", sheet="Providers", cell="F2", row=2,
                column="Phone", record="P-01", value=HOSTILE_VALUES[1]),
        Finding(rule="PR003", severity="warning", message="@SUM(A1) in the notes", sheet="Providers", cell="G2",
                row=2, column="Notes", record="P-01", value=HOSTILE_VALUES[2], explained=True),
        Finding(rule="CE004", severity="error", message="-1 is not allowed", sheet="Placements", cell="H4", row=4,
                column="Hours", record="P-003", value=HOSTILE_VALUES[3]),
    ])
    clean = Report(file="returns/beech.xlsx", as_of="2026-11-30", template_version="1.0")
    broken = Report(file="returns/broken.xlsx", as_of="2026-11-30", findings=[
        finding("WB006", file="returns/broken.xlsx", reason="it is not a zip file", fix="Save it again as .xlsx"),
    ])
    returns = [
        Return(file=hostile.file, report=hostile, school=f"Oakfield {SCRIPT} Academy", school_urn="123456",
               return_date="2026-11-20"),
        Return(file=clean.file, report=clean, school="Beech Hill School", return_date="2026-11-18", counted=False),
        Return(file=broken.file, report=broken, readable=False),
    ]
    cross = [CrossFinding(
        finding=Finding(rule="XS001", severity="error", record="P-01",
                        message="Green Farm had 6 full-time pupils on 02/11/2026 (limit 5) =cross"),
        files=("returns/oakfield.xlsx", "returns/beech.xlsx"))]
    providers = [
        ProviderView(name="Green Farm", postcode="LE1 1AA", urn="=1+1", registration="Unregistered", pupils=8,
                     full_time=6, peak=6, peak_date="2026-11-02", looked_after=1, audit_status="Passed",
                     audit_date="2026-01-10", audit_expiry="2027-01-10", last_visit="2026-10-01",
                     schools=["Oakfield", "Beech Hill School"], files=["returns/oakfield.xlsx"]),
        ProviderView(name=f"Tutor {SCRIPT}", pupils=2, full_time=1, peak=1, peak_date="2026-09-07",
                     schools=["Oakfield"]),
        ProviderView(name="The Bridge PRU", registration="Registered school", urn="134567", pupils=7, full_time=7,
                     peak=7, schools=["Beech Hill School"]),
    ]
    return BatchReport(returns=returns, findings=cross, providers=providers, as_of="2026-11-30",
                       directory="providers.xlsx", imported_from=["rutland-counts.json"])


def _all_findings(batch: BatchReport) -> list[Finding]:
    return [f for r in batch.returns for f in r.report.findings] + [c.finding for c in batch.findings]


# ---------------------------------------------------------------------------------------------------------
# HTML


@pytest.fixture(scope="module")
def html() -> str:
    return to_html(_batch())


def test_html_escapes_user_text(html):
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Oakfield &lt;script&gt;" in html


def test_html_lists_every_finding_message(html):
    for f in _all_findings(_batch()):
        assert str(escape(f.message)) in html, f.message


def test_html_links_only_inside_the_page(html):
    refs = re.findall(r"""(?:href|src|action|xlink:href)\s*=\s*["']?([^"'\s>]*)""", html, flags=re.I)
    assert refs, "the schools table links to each return's section"
    assert all(ref.startswith("#") for ref in refs), refs
    assert "@import" not in html and "url(" not in html
    # the only URL text is the user's, escaped inside a message, never markup
    urls = [m.start() for m in re.finditer(r"https?://", html)]
    assert urls, "the hostile message is shown"
    assert all(html[u - len("=HYPERLINK(&#34;"):u] == "=HYPERLINK(&#34;" for u in urls)


def test_html_has_a_section_per_return_linked_from_the_schools_table(html):
    for i in (1, 2, 3):
        assert f'id="return-{i}"' in html
        assert f'href="#return-{i}"' in html


def test_html_headline_and_dates(html):
    assert "3</b> returns checked" in html
    assert "1</b> with errors" in html and "1</b> unreadable" in html
    assert "As at 30/11/2026" in html
    assert "20/11/2026" in html            # return date
    assert "02/11/2026" in html            # the peak's date
    assert "2026-11-" not in html          # no ISO dates shown
    assert "providers.xlsx" in html and "rutland-counts.json" in html
    assert "Superseded" in html


def test_html_unreadable_return_shows_wb006_message(html):
    section = html.split('id="return-3"', 1)[1]
    assert "returns/broken.xlsx could not be read: it is not a zip file" in section.split("</section>", 1)[0]


def test_html_rule_totals_use_catalogue_titles(html):
    from apxl.catalogue import catalogue

    assert catalogue()["CE001"].title in html
    rules_section = html.split('id="rules"', 1)[1].split("</section>", 1)[0]
    for code in ("CE001", "CE002", "CE004", "PR003", "WB006", "XS001"):
        assert f">{code}<" in rules_section


def test_svg_chart_one_bar_per_provider_and_marks_the_over_limit_one(html):
    svg = html[html.index("<svg"):html.index("</svg>")]
    bars = re.findall(r'<rect class="(bar[^"]*)"', svg)
    assert bars == ["bar over", "bar", "bar registered"]    # a registered school is not held to the limit
    assert "<title" in svg and "<desc" in svg and 'role="img"' in svg
    assert "6 (at or over limit)" in svg           # a text label, not colour alone
    assert svg.count('class="limit"') == 3
    assert svg.count("(at or over limit)") == 1
    assert 'aria-label="Green Farm: peak 6 full-time pupils, limit 5, at or over the limit"' in svg


def test_html_is_self_contained_and_printable(html):
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert "@media print" in html and "break-before: page" in html


def test_html_renders_a_large_batch_quickly():
    """150 returns of 80 findings: 12,000 rows, none capped, in well under the batch's own time."""
    returns = []
    for i in range(150):
        findings = [Finding(rule="CE001", severity="error" if j % 2 else "warning", message=f"m{i}-{j}",
                            sheet="Placements", cell=f"C{j + 2}", row=j + 2, record=f"P-{j}") for j in range(80)]
        report = Report(file=f"r{i}.xlsx", as_of="2026-11-30", findings=findings)
        returns.append(Return(file=report.file, report=report, school=f"School {i}"))
    batch = BatchReport(returns=returns)
    start = time.perf_counter()
    page = to_html(batch)
    elapsed = time.perf_counter() - start
    assert page.count('<td class="msg">m') == 12_000
    assert elapsed < 3, elapsed


# ---------------------------------------------------------------------------------------------------------
# Excel


@pytest.fixture(scope="module")
def xlsx(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "batch.xlsx"
    write_xlsx(_batch(), str(path))
    return path


def test_xlsx_sheets_are_excel_tables(xlsx):
    wb = openpyxl.load_workbook(xlsx)
    for name in ("Schools", "Providers", "Findings", "Rules"):
        ws = wb[name]
        assert list(ws.tables) == [name]
        assert ws.freeze_panes == "A2"
        assert ws.tables[name].ref.startswith("A1:")


def test_xlsx_has_every_finding(xlsx):
    batch = _batch()
    ws = openpyxl.load_workbook(xlsx)["Findings"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["File", "School", "Rule"]
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]
    assert len(rows) == len(_all_findings(batch))
    assert ws.tables["Findings"].ref == f"A1:N{len(rows) + 1}"
    cross = [r for r in rows if r["File"] == "(batch)"]
    assert len(cross) == 1 and cross[0]["Files"] == "returns/oakfield.xlsx; returns/beech.xlsx"
    assert {r["Row"] for r in rows if r["Rule"] == "CE001"} == {5}   # a number, not text


def test_xlsx_neutralises_formula_text(xlsx):
    wb = openpyxl.load_workbook(xlsx)
    seen = set()
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), (ws.title, cell.coordinate)
                    if cell.value.startswith("'"):
                        seen.add(cell.value)
    for value in HOSTILE_VALUES:
        assert "'" + value in seen
    assert "'=1+1" in seen                                   # a provider's URN
    assert "'-1 is not allowed" in seen                      # a message
    with zipfile.ZipFile(xlsx) as package:
        sheets = [n for n in package.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in package.read(n) for n in sheets)


def test_xlsx_dates_and_numbers_are_typed(xlsx):
    import datetime as dt

    wb = openpyxl.load_workbook(xlsx)
    schools = wb["Schools"]
    header = [c.value for c in schools[1]]
    first = {h: c.value for h, c in zip(header, schools[2])}
    assert first["Return date"] == dt.datetime(2026, 11, 20)
    assert schools.cell(2, header.index("Return date") + 1).number_format == "dd/mm/yyyy"
    assert first["Errors"] == 3 and first["Warnings"] == 1 and first["Explained"] == 1
    assert first["School"] == f"Oakfield {SCRIPT} Academy"
    second = {h: c.value for h, c in zip(header, schools[3])}
    assert second["Counted"] == "Superseded"
    providers = wb["Providers"]
    header = [c.value for c in providers[1]]
    farm = {h: c.value for h, c in zip(header, providers[2])}
    assert farm["Peak full-time pupils"] == 6 and farm["At or over limit"] == "Yes"
    assert farm["Audit expiry"] == dt.datetime(2027, 1, 10)
    bridge = {h: c.value for h, c in zip(header, providers[4])}
    assert bridge["Peak full-time pupils"] == 7 and bridge["At or over limit"] == "n/a (registered)"
    rules = wb["Rules"]
    totals = {row[0].value: [c.value for c in row] for row in rules.iter_rows(min_row=2)}
    assert totals["PR003"][3:] == [2, 1, 1, 0]
    assert totals["XS001"][3:] == [0, 0, 0, 1]


def test_is_apxl_report(xlsx, tmp_path):
    assert is_apxl_report(str(xlsx))
    assert not is_apxl_report(str(ROOT / "workbooks/examples/clean.xlsx"))
    junk = tmp_path / "notes.xlsx"
    junk.write_text("not a workbook")
    assert not is_apxl_report(str(junk))
    assert not is_apxl_report(str(tmp_path / "missing.xlsx"))


# ---------------------------------------------------------------------------------------------------------
# the CLI's entry and a real workbook


def test_write_report_xlsx_needs_an_output():
    with pytest.raises(ApxlError, match="--format xlsx needs --output FILE.xlsx"):
        write_report(_batch(), "xlsx", None)


def test_write_report_html_to_stdout_and_file(tmp_path, capsys):
    write_report(_batch(), "html", None)
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    target = tmp_path / "report.html"
    write_report(_batch(), "html", str(target))
    assert "&lt;script&gt;" in target.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]          # no temporary file left


def test_write_report_xlsx_replaces_atomically(tmp_path):
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"old")
    write_report(_batch(), "xlsx", str(target))
    assert is_apxl_report(str(target))
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_write_report_unwritable_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(ApxlError, match="cannot write the report"):
        write_report(_batch(), "xlsx", str(tmp_path / "no-such-folder" / "report.xlsx"))


def test_single_report_of_the_defects_example_renders_both_forms(tmp_path):
    report = apxl.validate(str(ROOT / "workbooks/examples/defects.xlsx"))
    batch = single(report)
    page = to_html(batch)
    assert report.findings
    for f in report.findings:
        assert str(escape(f.message)) in page
    assert 'id="return-1"' in page
    path = tmp_path / "defects-report.xlsx"
    write_xlsx(batch, str(path))
    ws = openpyxl.load_workbook(path)["Findings"]
    assert ws.max_row - 1 == len(report.findings)
