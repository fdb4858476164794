"""The partnership's consolidated report: one BatchReport as an HTML page to read and print, or an Excel
workbook to filter.

Both forms show the same things: the headline, one row per school, totals per rule, the provider view
across schools and every finding (nothing capped). The page is one self-contained file (inline CSS, no
scripts, nothing fetched), every value escaped by jinja2's autoescape; the workbook's text cells are
written as strings only, and those that a spreadsheet could read as a formula are neutralised
(`_neutral`). jinja2 and XlsxWriter are imported inside the functions so `import apxl` stays quick.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from typing import Any

from .batch import BatchReport, ProviderView
from .errors import ApxlError
from .findings import Finding
from .output import neutralise

REPORT_PROPERTY = "apxl_report"       # the custom document property that marks a workbook as our report
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_STATUS_TEXT = {"errors": "Errors", "warnings": "Warnings only", "clean": "Clean", "unreadable": "Unreadable"}
_STATUS_ORDER = {"unreadable": 0, "errors": 1, "warnings": 2, "clean": 3}


# ---------------------------------------------------------------------------------------------------------
# shared helpers


def uk_date(value: str | None) -> str:
    """An ISO date as an officer reads it (30/11/2026); anything else unchanged, None as blank."""
    if not value:
        return ""
    m = _ISO_DATE.match(value[:10]) if len(value) >= 10 else None
    return f"{m.group(3)}/{m.group(2)}/{m.group(1)}" if m else value


def _where(f: Finding) -> str:
    """Where a finding points, as a person looks for it: Sheet!A1, the sheet, or the workbook."""
    if f.sheet and f.cell:
        return f"{f.sheet}!{f.cell}"
    return f.sheet or "workbook"


@cache
def _titles() -> dict[str, str]:
    """Rule code -> title, from the catalogue (the same records `apxl rules` prints)."""
    from .catalogue import catalogue

    return {code: rule.title for code, rule in catalogue().items()}


_REGISTERED = ("Registered school", "FE college")


def _registered(p: ProviderView) -> bool:
    """A registered school or FE college: the registration test does not apply to it."""
    return p.registration in _REGISTERED


def _over_limit(p: ProviderView) -> bool:
    """A setting not known to be registered whose peak full-time pupils reach the limit ("5 or more")."""
    return not _registered(p) and p.peak >= p.limit


def _limit_text(p: ProviderView) -> str:
    """The Excel column "At or over limit": Yes, No, or why the limit does not apply."""
    if _registered(p):
        return "n/a (registered)"
    return "Yes" if _over_limit(p) else "No"


def _as_of_text(batch: BatchReport) -> str:
    """The as-at date: the command line's, else each return's own (listed when they differ)."""
    if batch.as_of:
        return uk_date(batch.as_of)
    dates = sorted({r.report.as_of for r in batch.returns if r.report.as_of})
    return ", ".join(uk_date(d) for d in dates) or "not given"


# ---------------------------------------------------------------------------------------------------------
# HTML


@cache
def _template():
    """The compiled page template (compiled once per process: a batch may render several reports)."""
    from importlib.resources import files

    import jinja2

    source = files("apxl").joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return env.from_string(source)


def to_html(batch: BatchReport) -> str:
    """The consolidated report as one self-contained HTML page (every value escaped by autoescape)."""
    import apxl

    titles = _titles()
    returns = _return_rows(batch, titles)
    anchors = {r.file: f"return-{i}" for i, r in enumerate(batch.returns, 1)}
    context = {
        "version": apxl.__version__,
        "headline": batch.headline,
        "as_of": _as_of_text(batch),
        "policy": batch.policy,
        "directory": batch.directory,
        "imported_from": batch.imported_from,
        "cross_count": len(batch.findings),
        "finding_count": sum(len(r.report.findings) for r in batch.returns) + len(batch.findings),
        "returns": returns,
        "rules": [{**t, "title": titles.get(t["rule"], "")} for t in batch.rule_totals()],
        "providers": [_provider_row(p) for p in batch.providers],
        "chart": _chart(batch.providers),
        "cross": [_cross_row(c.finding, c.files, anchors, titles) for c in batch.findings],
    }
    return _template().render(**context)


def _return_rows(batch: BatchReport, titles: dict[str, str]) -> list[dict[str, Any]]:
    """Per return: the schools-table row and its findings as plain tuples (12,000 rows render fast)."""
    rows = []
    for i, r in enumerate(batch.returns, 1):
        s = r.report.summary
        findings = sorted(r.report.findings, key=Finding.sort_key)
        rows.append({
            "anchor": f"return-{i}", "label": r.label, "school": r.school or "", "urn": r.school_urn or "",
            "file": r.file, "template_version": r.report.template_version or "", "status": r.status,
            "status_text": _STATUS_TEXT.get(r.status, r.status), "errors": s["error"], "warnings": s["warning"],
            "explained": s["explained"], "info": s["info"], "return_date": uk_date(r.return_date),
            "as_of": uk_date(r.report.as_of), "counted": r.counted, "readable": r.readable,
            "unreadable_message": "" if r.readable else " ".join(f.message for f in r.report.findings),
            "findings": [(f.rule, titles.get(f.rule, ""), f.severity, _where(f), f.record or "", f.message,
                          f.explained) for f in findings],
        })
    return rows


def _provider_row(p: ProviderView) -> dict[str, Any]:
    return {
        "name": p.name, "postcode": p.postcode or "", "urn": p.urn or "", "directory_id": p.directory_id or "",
        "registration": p.registration or "", "pupils": p.pupils, "full_time": p.full_time, "peak": p.peak,
        "peak_date": uk_date(p.peak_date), "imported": p.imported, "looked_after": p.looked_after,
        "ehc_plan": p.ehc_plan, "audit_status": p.audit_status or "", "audit_expiry": uk_date(p.audit_expiry),
        "audit_date": uk_date(p.audit_date), "last_visit": uk_date(p.last_visit), "schools": p.schools,
        "limit": p.limit, "over": _over_limit(p), "registered": _registered(p),
    }


def _cross_row(f: Finding, files: tuple[str, ...], anchors: dict[str, str], titles: dict[str, str]) -> dict:
    """A cross-school finding; each file linked to its return's section when it is one of the batch's."""
    return {"rule": f.rule, "title": titles.get(f.rule, ""), "severity": f.severity, "message": f.message,
            "record": f.record or "", "files": [(name, anchors.get(name)) for name in files]}


_CHART_LABEL_W = 270      # px for the provider names left of the bars
_CHART_BAR_W = 560        # px for the longest bar
_CHART_ROW_H = 26
_CHART_TOP = 30


def _chart(providers: list[ProviderView]) -> dict[str, Any]:
    """Geometry of the peak-against-limit bar chart (numbers only; the template escapes every text)."""
    if not providers:
        return {"bars": [], "width": 0, "height": 0}
    top = max(max(p.peak for p in providers), max(p.limit for p in providers)) + 1
    scale = _CHART_BAR_W / top
    bars = []
    for i, p in enumerate(providers):
        y = _CHART_TOP + i * _CHART_ROW_H
        over = _over_limit(p)
        name = p.name if len(p.name) <= 38 else p.name[:36] + "…"
        bars.append({
            "name": name, "full_name": p.name, "peak": p.peak, "limit": p.limit, "over": over,
            "registered": _registered(p),
            "y": y, "text_y": y + _CHART_ROW_H / 2 + 4, "bar_y": y + 4, "bar_h": _CHART_ROW_H - 8,
            "w": round(p.peak * scale, 1), "limit_x": round(_CHART_LABEL_W + p.limit * scale, 1),
            "value_x": round(_CHART_LABEL_W + p.peak * scale + 6, 1),
        })
    limits = {p.limit for p in providers}
    return {
        "bars": bars, "x0": _CHART_LABEL_W, "width": _CHART_LABEL_W + _CHART_BAR_W + 200,
        "height": _CHART_TOP + len(providers) * _CHART_ROW_H + 10,
        "limit": limits.pop() if len(limits) == 1 else None,
        "limit_x": bars[0]["limit_x"], "over_count": sum(b["over"] for b in bars),
    }


# ---------------------------------------------------------------------------------------------------------
# Excel


def _date_value(value: str | None):
    """An ISO date string as a datetime.date for a real Excel date; None when it is not one."""
    import datetime as dt

    if not value or not _ISO_DATE.match(value[:10]):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


# column kinds: "text", "number", "date"
_SCHOOL_COLUMNS = (("School", "text"), ("School URN", "text"), ("File", "text"), ("Template version", "text"),
                   ("Status", "text"), ("Errors", "number"), ("Warnings", "number"), ("Explained", "number"),
                   ("Info", "number"), ("Return date", "date"), ("As at", "date"), ("Counted", "text"),
                   ("Findings", "number"))
_PROVIDER_COLUMNS = (("Provider", "text"), ("Postcode", "text"), ("URN", "text"), ("Directory ID", "text"),
                     ("Registration", "text"), ("Pupils", "number"), ("Full-time pupils", "number"),
                     ("Peak full-time pupils", "number"), ("Peak date", "date"), ("Imported (of peak)", "number"),
                     ("Limit", "number"), ("At or over limit", "text"), ("Looked after", "number"),
                     ("EHC plan", "number"), ("Audit status", "text"), ("Audit date", "date"),
                     ("Audit expiry", "date"), ("Last QA visit", "date"), ("Schools", "text"), ("Files", "text"))
_FINDING_COLUMNS = (("File", "text"), ("School", "text"), ("Rule", "text"), ("Rule title", "text"),
                    ("Severity", "text"), ("Sheet", "text"), ("Cell", "text"), ("Row", "number"),
                    ("Column", "text"), ("Record", "text"), ("Value", "text"), ("Message", "text"),
                    ("Explained", "text"), ("Files", "text"))
_RULE_COLUMNS = (("Rule", "text"), ("Title", "text"), ("Severity", "text"), ("Findings", "number"),
                 ("Returns with it", "number"), ("Explained", "number"), ("Batch-level", "number"))
_MAX_WIDTH = {"Message": 90, "Value": 30, "Rule title": 40, "Title": 50, "Files": 50, "Schools": 50}


def write_xlsx(batch: BatchReport, path: str) -> None:
    """The consolidated report as a workbook of filterable Excel Tables, written atomically to `path`.

    Sheets: Summary (the headline), Schools, Providers, Findings (every finding, the cross-school ones
    with file "(batch)" and their files joined by "; "), Rules. A custom document property marks the file
    as an apxl report, so a batch scanning a folder can skip it (`is_apxl_report`).
    """
    from .output import replacing

    with replacing(path, ".xlsx") as tmp:
        _build_workbook(batch, tmp)


def _build_workbook(batch: BatchReport, path: str) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_urls": False,
                                    "strings_to_numbers": False})
    wb.set_custom_property(REPORT_PROPERTY, "batch")
    wb.set_properties({"title": "apxl partnership report", "comments": "Written by apxl; safe to re-run."})
    formats = {"date": wb.add_format({"num_format": "dd/mm/yyyy"}), "bold": wb.add_format({"bold": True})}
    titles = _titles()
    _summary_sheet(wb, batch, formats)
    _table_sheet(wb, "Schools", _SCHOOL_COLUMNS, _school_values(batch), formats)
    _table_sheet(wb, "Providers", _PROVIDER_COLUMNS, _provider_values(batch), formats)
    _table_sheet(wb, "Findings", _FINDING_COLUMNS, _finding_values(batch, titles), formats)
    rules = [(t["rule"], titles.get(t["rule"], ""), t["severity"], t["findings"], t["returns"], t["explained"],
              t["batch"]) for t in batch.rule_totals()]
    _table_sheet(wb, "Rules", _RULE_COLUMNS, rules, formats)
    from xlsxwriter.exceptions import FileCreateError

    try:
        wb.close()
    except FileCreateError as exc:            # xlsxwriter wraps the OSError (a full disk, a read-only folder)
        raise exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc)) from None


def _summary_sheet(wb, batch: BatchReport, formats: dict) -> None:
    """The headline as label/value pairs: what the officer sees first on opening the workbook."""
    ws = wb.add_worksheet("Summary")
    h = batch.headline
    rows: list[tuple[str, Any]] = [
        ("apxl partnership report", ""), ("As at", _as_of_text(batch)), ("Policy", batch.policy),
        ("Returns checked", h["checked"]), ("Clean", h["clean"]), ("With errors", h["errors"]),
        ("With warnings only", h["warnings"]), ("Unreadable", h["unreadable"]),
        ("Cross-school findings", len(batch.findings)), ("Providers", len(batch.providers)),
        ("Providers at or over the limit", sum(_over_limit(p) for p in batch.providers)),
    ]
    if batch.directory:
        rows.append(("Provider directory", batch.directory))
    if batch.imported_from:
        rows.append(("Imported counts", "; ".join(batch.imported_from)))
    for i, (label, value) in enumerate(rows):
        ws.write_string(i, 0, label, formats["bold"])
        if isinstance(value, int):
            ws.write_number(i, 1, value)
        elif value:
            ws.write_string(i, 1, neutralise(str(value)))
    ws.set_column(0, 0, 32)
    ws.set_column(1, 1, 60)


def _school_values(batch: BatchReport) -> list[tuple]:
    out = []
    for r in batch.returns:
        s = r.report.summary
        out.append((r.school or "", r.school_urn or "", r.file, r.report.template_version or "",
                    _STATUS_TEXT.get(r.status, r.status), s["error"], s["warning"], s["explained"], s["info"],
                    r.return_date, r.report.as_of, "Not read" if not r.readable else ("Counted" if r.counted else "Superseded"),
                    len(r.report.findings)))
    return out


def _provider_values(batch: BatchReport) -> list[tuple]:
    return [(p.name, p.postcode or "", p.urn or "", p.directory_id or "", p.registration or "", p.pupils,
             p.full_time, p.peak, p.peak_date, p.imported, p.limit, _limit_text(p),
             p.looked_after, p.ehc_plan, p.audit_status or "", p.audit_date, p.audit_expiry, p.last_visit,
             "; ".join(p.schools), "; ".join(p.files)) for p in batch.providers]


def _finding_values(batch: BatchReport, titles: dict[str, str]) -> list[tuple]:
    """Every finding of every return in report order, then the cross-school ones (file "(batch)")."""
    out = []
    for r in batch.returns:
        school = r.school or ""
        for f in sorted(r.report.findings, key=Finding.sort_key):
            out.append((r.file, school, f.rule, titles.get(f.rule, ""), f.severity, f.sheet or "", f.cell or "",
                        f.row, f.column or "", f.record or "", f.value or "", f.message,
                        "Yes" if f.explained else "No", ""))
    for c in batch.findings:
        f = c.finding
        out.append(("(batch)", "", f.rule, titles.get(f.rule, ""), f.severity, f.sheet or "", f.cell or "", f.row,
                    f.column or "", f.record or "", f.value or "", f.message, "Yes" if f.explained else "No",
                    "; ".join(c.files)))
    return out


def _table_sheet(wb, name: str, columns: tuple, rows: list[tuple], formats: dict) -> None:
    """One sheet holding one Excel Table: header, typed cells, frozen header, widths that fit the data."""
    ws = wb.add_worksheet(name)
    last_row = max(len(rows), 1)                 # a table needs one data row, even an empty one
    ws.add_table(0, 0, last_row, len(columns) - 1, {
        "name": name, "style": "Table Style Medium 2",
        "columns": [{"header": header} for header, _ in columns],
    })
    kinds = [kind for _, kind in columns]
    date_format = formats["date"]
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            _write_cell(ws, r, c, kinds[c], value, date_format)
    ws.freeze_panes(1, 0)
    for c, (header, kind) in enumerate(columns):
        ws.set_column(c, c, _width(header, kind, [row[c] for row in rows[:300]]))


def _write_cell(ws, r: int, c: int, kind: str, value: Any, date_format) -> None:
    """A cell of the right type: numbers as numbers, ISO dates as Excel dates, all text neutralised."""
    if value is None or value == "":
        return
    if kind == "number" and isinstance(value, int | float):
        ws.write_number(r, c, value)
        return
    if kind == "date":
        day = _date_value(value)
        if day is not None:
            ws.write_datetime(r, c, day, date_format)
            return
    ws.write_string(r, c, neutralise(str(value)))


def _width(header: str, kind: str, sample: list[Any]) -> float:
    """A column wide enough for its header and most values (a sample: fast for 12,000 rows)."""
    if kind == "date":
        return max(12, len(header) + 4)
    longest = max((len(str(v)) for v in sample if v is not None), default=0)
    return min(max(len(header) + 4, longest + 2, 8), _MAX_WIDTH.get(header, 40))


def is_apxl_report(path: str) -> bool:
    """True when `path` is a workbook apxl wrote as a report (its custom property); False for anything else.

    Cheap: reads one small part of the zip package, not the workbook; never raises.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as package:
            if "docProps/custom.xml" not in package.namelist():
                return False
            with package.open("docProps/custom.xml") as part:
                xml = part.read(64 * 1024)      # a property list is small: never inflate a large part whole
    except Exception:
        return False
    return f'name="{REPORT_PROPERTY}"'.encode() in xml


# ---------------------------------------------------------------------------------------------------------
# the CLI's entry


def write_report(batch: BatchReport, fmt: str, path: str | None) -> None:
    """`--format html|xlsx [--output PATH]`: HTML to the screen or a file; Excel needs a file."""
    if fmt == "html":
        text = to_html(batch)
        if path is None:
            sys.stdout.write(text)
            return
        from .output import write_text_atomic

        _guarded(path, write_text_atomic, path, text)
    elif fmt == "xlsx":
        if not path:
            raise ApxlError("--format xlsx needs --output FILE.xlsx")
        _guarded(path, write_xlsx, batch, path)
    else:
        raise ApxlError(f"unknown report format {fmt!r}: use html or xlsx")


def _guarded(path: str, write, *args: Any) -> None:
    """A failed write as the one-line error the CLI prints (exit 2), not a traceback."""
    try:
        write(*args)
    except OSError as exc:
        raise ApxlError(f"{path}: cannot write the report ({exc.strerror or exc})") from None


__all__ = ["to_html", "write_xlsx", "write_report", "is_apxl_report", "uk_date"]
