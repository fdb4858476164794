#!/usr/bin/env python3
"""Make apxl's SAMPLE document templates (.docx for docxtpl and .html for jinja2) from one description.

`python workbooks/documents/make_samples.py [OUT_DIR]` (default: this folder). The same description gives
both formats, so the Word and HTML samples say the same thing. Each placeholder is written as one run, so
Word has not split it; the .docx bytes are the same on every run (fixed dates in the document properties
and in the zip entries), so the committed files only change when this script does.

These are samples: the five Leicestershire partnerships' own documents were not available. A partnership
replaces them with its own files of the same names (`apxl documents --templates DIR`).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

BANNER = "Sample template shipped with apxl: replace with your partnership's own"
FIXED = dt.datetime(2026, 1, 1, 9, 0, 0, tzinfo=dt.UTC)
BLANK = "……………………………………"
BOX = "☐"


# --- the description: blocks, shared by both formats --------------------------------------------------

@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str
    bold: bool = False


@dataclass
class Fields:
    """A two-column table: label | value (a placeholder, or a line to fill in by hand)."""

    rows: list[tuple[str, str]]


@dataclass
class Loop:
    """A table with one row per item of a list: `for var in items`, one placeholder per column."""

    headers: list[str]
    var: str
    items: str
    cells: list[str]


@dataclass
class Ticks:
    """A checklist: a box, then the item."""

    items: list[str]


def field(path: str) -> str:
    return "{{ " + path + " }}"


def _signatures(who_school: str, who_provider: str) -> Fields:
    return Fields([("Signed for " + who_school, BLANK), ("Name and role", BLANK), ("Date", BLANK),
                   ("Signed for " + who_provider, BLANK), ("Name and role", BLANK), ("Date", BLANK)])


PROVIDER_FIELDS = [
    ("Provider", field("provider.name")),
    ("Address of the provision", field("provider.address")),
    ("Registration", field("provider.registration")),
    ("URN", field("provider.urn")),
    ("Designated safeguarding lead", field("provider.dsl_name")),
    ("DSL telephone", field("provider.dsl_phone")),
    ("Contact email", field("provider.contact_email")),
    ("LEBC audit", field("provider.audit_status") + ", " + field("provider.audit_date")
     + " (current until " + field("provider.audit_expires") + ")"),
    ("Insurance expires", field("provider.insurance_expiry")),
]

PUPIL_FIELDS = [
    ("Pupil", field("pupil.name")),
    ("Date of birth", field("pupil.date_of_birth")),
    ("UPN", field("pupil.upn")),
    ("Year group", field("pupil.nc_year")),
    ("Special educational needs", field("pupil.sen_status")),
    ("Looked after", field("pupil.looked_after")),
]

TIMETABLE = Loop(["Day", "Where", "Start", "End"], "s", "placement.sessions",
                 ["s.day", "s.location", "s.start", "s.end"])

COMMISSIONING = [
    Heading("Commissioning agreement for alternative provision"),
    Para("Placement " + field("placement.id") + " · prepared " + field("document.prepared_on")),
    Heading("1. The parties", 2),
    Fields([("Commissioning school", field("school.name")), ("School URN", field("school.urn")),
            ("Partnership", field("school.partnership"))] + PROVIDER_FIELDS),
    Heading("2. The pupil", 2),
    Fields(PUPIL_FIELDS),
    Heading("3. The placement", 2),
    Fields([("Basis", field("placement.basis")), ("Reason", field("placement.reason")),
            ("Objectives", field("placement.objectives")), ("Start date", field("placement.start_date")),
            ("Target end date", field("placement.planned_end_date")),
            ("School days in the placement", field("placement.school_days")),
            ("Hours a week at the provider", field("placement.ap_hours")),
            ("Hours a week at school", field("placement.school_hours")),
            ("Hours a week in all", field("placement.total_hours")),
            ("Part-time timetable until", field("placement.part_time_until")),
            ("Attendance code the school records", field("placement.attendance_code")),
            ("The pupil reports to", field("placement.reports_to"))]),
    Heading("Timetable", 3),
    TIMETABLE,
    Heading("4. What each side does", 2),
    Para("The school remains responsible for the pupil's safeguarding and education while the pupil is at the "
         "provider (Keeping children safe in education). The school's DSL and the provider's DSL share "
         "concerns the same day."),
    Para("The provider records attendance every session, tells the school of any absence by 10:00 on the day, "
         "and confirms the week's attendance to the school each week."),
    Para("The provider confirms in writing that its staff have the safeguarding checks the school requires "
         "(enhanced DBS, single central record) and keeps its safeguarding, health and safety and insurance "
         "documents current."),
    Para("The provider tells the school at once of any incident, injury, suspension or change to the timetable."),
    Heading("5. Review and ending", 2),
    Fields([("Next review", field("placement.next_review_date")),
            ("Reviews held", field("placement.review_dates")),
            ("Exit plan agreed", field("placement.exit_plan_agreed"))]),
    Heading("6. Signatures", 2),
    _signatures("the school", "the provider"),
]

PLAN = [
    Heading("Placement plan"),
    Para("Placement " + field("placement.id") + " · prepared " + field("document.prepared_on")),
    Fields(PUPIL_FIELDS[:4] + [("Provider", field("provider.name")), ("Address of the provision", field("provider.address")),
                               ("Basis", field("placement.basis"))]),
    Heading("Why the pupil attends", 2),
    Para(field("placement.reason")),
    Heading("Objectives", 2),
    Para(field("placement.objectives")),
    Fields([("Baseline at the start (to complete)", BLANK), ("How progress is measured (to complete)", BLANK)]),
    Heading("Timetable", 2),
    TIMETABLE,
    Fields([("Hours a week at the provider", field("placement.ap_hours")),
            ("Hours a week at school", field("placement.school_hours")),
            ("Hours a week in all", field("placement.total_hours")),
            ("Part-time timetable until", field("placement.part_time_until")),
            ("Attendance so far", field("placement.attendance"))]),
    Heading("Reviews", 2),
    Fields([("Reviews held", field("placement.review_dates")),
            ("Next review", field("placement.next_review_date"))]),
    Heading("Target end date and exit plan", 2),
    Fields([("Start date", field("placement.start_date")),
            ("Target end date", field("placement.planned_end_date")),
            ("Exit plan agreed", field("placement.exit_plan_agreed")),
            ("Next step after the placement (to complete)", BLANK),
            ("Ready to return when (to complete)", BLANK)]),
    _signatures("the school", "the provider"),
]

NOTICE = [
    Heading("Notice that your child must attend off-site provision"),
    Para("Education Act 2002, section 29A; The Education (Educational Provision for Improving Behaviour) "
         "Regulations 2010, regulation 3"),
    Fields([("To", field("placement.parent")), ("Address", field("placement.parent_address")),
            ("Date of this notice", field("document.prepared_on")),
            ("To reach you by", field("placement.notice_due_by"))]),
    Para("The governing body of " + field("school.name") + " requires " + field("pupil.name")
         + " (date of birth " + field("pupil.date_of_birth") + ") to attend educational provision away from the "
         "school, to improve their behaviour, as set out below."),
    Heading("Where", 2),
    Fields([("Provision", field("provider.name")), ("Address of the provision", field("provider.address")),
            ("On the first day, report to", field("placement.reports_to"))]),
    Heading("For how long", 2),
    Fields([("First day", field("placement.start_date")), ("Last day", field("placement.planned_end_date")),
            ("Number of school days", field("placement.school_days"))]),
    Heading("Why, and what it is for", 2),
    Fields([("Reasons", field("placement.reason")), ("Objectives", field("placement.objectives"))]),
    Heading("Session times at the provision", 2),
    Loop(["Day", "Times"], "s", "placement.ap_sessions", ["s.day", "s.times"]),
    Fields([("School session times", field("school.session_times"))]),
    Heading("Reviews", 2),
    Para("The school will review the placement with you. The next review is on " + field("placement.next_review_date")
         + ". You may ask in writing for a review at any time; the school will hold one as soon as reasonably "
         "practicable unless one took place in the previous 10 weeks."),
    Fields([("Signed for the governing body", BLANK), ("Name and role", BLANK)]),
]

QA_VISIT = [
    Heading("QA visit form"),
    Para("Provider " + field("provider.id") + " · prepared " + field("document.prepared_on") + " for "
         + field("school.name") + ", " + field("school.partnership")),
    Heading("1. Visit details", 2),
    Fields([("Provider", field("provider.name")), ("Site address", field("provider.address")),
            ("Date of visit", BLANK), ("Visitor", BLANK), ("Last QA visit", field("provider.last_qa_visit"))]),
    Loop(["Pupils placed", "Year", "Placement", "Sessions at the provider", "Seen?"], "p", "provider.pupils",
         ["p.name", "p.nc_year", "p.placement_id", "p.sessions", ""]),
    Heading("2. Registration and legal status", 2),
    Fields([("Registration", field("provider.registration")), ("URN", field("provider.urn")),
            ("Pupils placed by the school", field("provider.pupil_count")),
            ("Of them, more than 18 hours a week", field("provider.full_time_count")),
            ("Looked after", field("provider.looked_after_count")), ("With an EHC plan", field("provider.ehcp_count")),
            ("LEBC audit", field("provider.audit_status") + ", " + field("provider.audit_date")),
            ("Pupils from other schools, hours (ask)", BLANK)]),
    Heading("3. Safeguarding and welfare", 2),
    Fields([("DSL", field("provider.dsl_name") + ", " + field("provider.dsl_phone")),
            ("Single central record and DBS checks seen", BLANK), ("Safeguarding policy (date)", BLANK),
            ("Site security", BLANK), ("Physical intervention", BLANK)]),
    Heading("4. Health and safety", 2),
    Fields([("Insurance expires", field("provider.insurance_expiry")), ("Risk assessments", BLANK),
            ("First aid", BLANK), ("Fire", BLANK)]),
    Heading("5. Attendance and punctuality", 2),
    Loop(["Pupil", "Attendance recorded"], "p", "provider.pupils", ["p.name", "p.attendance"]),
    Fields([("Registers and absence reporting", BLANK)]),
    Heading("6. Admissions, induction and individual plans", 2),
    Fields([("Baseline and objectives in place", BLANK)]),
    Heading("7. Quality of education", 2),
    Fields([("Curriculum, English and maths, accreditation", BLANK)]),
    Heading("8. Behaviour and personal development", 2),
    Fields([("Findings", BLANK)]),
    Heading("9. Pupil voice", 2),
    Fields([("What pupils said", BLANK)]),
    Heading("10. Progress against placement objectives", 2),
    Loop(["Pupil", "Objectives", "Progress seen"], "p", "provider.pupils", ["p.name", "p.objectives", ""]),
    Heading("11. Communication with school and parents", 2),
    Fields([("Contact email", field("provider.contact_email")), ("How the provider reports to the school", BLANK)]),
    Heading("12. Strengths, actions, overall judgement, next visit date", 2),
    Fields([("Strengths", BLANK), ("Actions", BLANK), ("Overall judgement", BLANK), ("Next visit date", BLANK)]),
]

MONITORING = [
    Heading("Monitoring visit checklist"),
    Para("For school staff visiting pupils at " + field("provider.name") + " · prepared " + field("document.prepared_on")),
    Fields([("Address", field("provider.address")), ("Provider's DSL", field("provider.dsl_name")),
            ("DSL telephone", field("provider.dsl_phone")), ("Date of visit", BLANK), ("Visitor", BLANK)]),
    Loop(["Pupil", "Placement", "Reports to", "Sessions", "Last monitoring visit"], "p", "provider.pupils",
         ["p.name", "p.placement_id", "p.reports_to", "p.sessions", "p.last_monitoring_visit"]),
    Heading("At the visit", 2),
    Ticks(["Signed in; identity checked by the provider",
           "Each pupil seen in person, at the activity on the timetable",
           "Today's register checked: the pupils present are marked present",
           "Attendance since the last visit matches what the provider confirmed to the school",
           "Pupil asked how it is going (pupil voice recorded below)",
           "Work or progress towards the objectives seen",
           "Member of staff the pupil reports to spoken to",
           "No safeguarding concern; or a concern passed to the school's DSL today",
           "Any incident, injury or suspension since the last visit recorded"]),
    Fields([("Pupil voice", BLANK), ("Notes and actions", BLANK), ("Signed", BLANK)]),
]

SAMPLES = {
    "commissioning-agreement": COMMISSIONING,
    "placement-plan": PLAN,
    "parent-notice": NOTICE,
    "qa-visit": QA_VISIT,
    "monitoring-checklist": MONITORING,
}


# --- Word ------------------------------------------------------------------------------------------------

def docx_bytes(blocks: list) -> bytes:
    """A .docx of the blocks: every placeholder in a run of its own text (never split)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(10.5)
    banner = doc.add_paragraph()
    banner.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = banner.add_run(BANNER)
    run.bold = True
    run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    for block in blocks:
        if isinstance(block, Heading):
            doc.add_heading(block.text, level=block.level)
        elif isinstance(block, Para):
            doc.add_paragraph().add_run(block.text).bold = block.bold
        elif isinstance(block, Fields):
            table = doc.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            for label, value in block.rows:
                cells = table.add_row().cells
                cells[0].paragraphs[0].add_run(label).bold = True
                cells[1].paragraphs[0].add_run(value)
        elif isinstance(block, Loop):
            table = doc.add_table(rows=1, cols=len(block.headers))
            table.style = "Table Grid"
            for cell, h in zip(table.rows[0].cells, block.headers):
                cell.paragraphs[0].add_run(h).bold = True
            table.add_row().cells[0].paragraphs[0].add_run("{%tr for " + block.var + " in " + block.items + " %}")
            row = table.add_row().cells
            for cell, path in zip(row, block.cells):
                if path:
                    cell.paragraphs[0].add_run(field(path))
            table.add_row().cells[0].paragraphs[0].add_run("{%tr endfor %}")
        elif isinstance(block, Ticks):
            for item in block.items:
                doc.add_paragraph().add_run(f"{BOX}  {item}")
        if isinstance(block, Fields | Loop):
            doc.add_paragraph()          # Word runs adjacent tables together
    props = doc.core_properties
    props.author = props.last_modified_by = "apxl"
    props.title = BANNER
    props.created = props.modified = FIXED
    props.revision = 1
    buffer = io.BytesIO()
    doc.save(buffer)
    return _fixed_zip(buffer.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same package with fixed entry timestamps: the same description always gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


# --- HTML ------------------------------------------------------------------------------------------------

CSS = """body{font-family:Arial,sans-serif;font-size:11pt;max-width:50em;margin:2em auto;color:#111}
.banner{color:#c00000;font-weight:bold;text-align:center;border:2px solid #c00000;padding:.4em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{border:1px solid #888;padding:4px 6px;
text-align:left;vertical-align:top}td.label{font-weight:bold;width:35%}ul.ticks{list-style:none;padding:0}"""


def html_text(title: str, blocks: list) -> str:
    """The same blocks as an HTML page for jinja2 (autoescaped by apxl when it renders)."""
    out = ["<!DOCTYPE html>", '<html lang="en-GB"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}: {{{{ document.reference }}}}</title>", f"<style>{CSS}</style></head><body>",
           f'<p class="banner">{html.escape(BANNER)}</p>']
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            out.append(f"<p>{block.text}</p>")
        elif isinstance(block, Fields):
            out.append("<table>")
            out += [f'<tr><td class="label">{html.escape(k)}</td><td>{v}</td></tr>' for k, v in block.rows]
            out.append("</table>")
        elif isinstance(block, Loop):
            out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in block.headers) + "</tr>")
            out.append("{% for " + block.var + " in " + block.items + " %}<tr>"
                       + "".join(f"<td>{field(c) if c else ''}</td>" for c in block.cells) + "</tr>{% endfor %}")
            out.append("</table>")
        elif isinstance(block, Ticks):
            out.append('<ul class="ticks">' + "".join(f"<li>{BOX} {html.escape(i)}</li>" for i in block.items) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    for name, blocks in SAMPLES.items():
        (folder / f"{name}.docx").write_bytes(docx_bytes(blocks))
        title = blocks[0].text
        (folder / f"{name}.html").write_text(html_text(title, blocks), encoding="utf-8")
    print(f"wrote {len(SAMPLES)} sample templates (.docx and .html) to {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
