"""The apxl template: an empty tracker built from schemas/, for a school to fill in.

`build_template("tracker.xlsx")` writes the sheets of workbook.md in order (Start, Setup, the contract
sheets, Explanations), each with its canonical header row (bold, filled, frozen), a data validation on
every column (dropdowns from a hidden Lists sheet for enumerations and yes/no, dates, numbers and times
with their ranges, an input message with the field's help), number formats and widths. Validations use
Excel's Warning style, so a school can still type anything and apxl reports it.

The workbook carries two defined names: `apxl_template_version` (the TEMPLATE_VERSION it was built
from; WB007 tells a school whose tracker comes from an older one) and `apxl_template_sheets` (the sheets
apxl created, separated by "/", a character Excel does not allow in sheet names).

The bytes are deterministic (a fixed creation date; XlsxWriter fixes the zip timestamps), so the committed
workbooks/template.xlsx can be compared with a fresh build to catch a template gone stale against schemas/.

`build_template("tracker.xlsm")` writes the same workbook plus xlwings' standalone VBA project (xl/vbaProject.bin
of quickstart_standalone.xlsm in the pinned xlwings wheel, unchanged: xlwings.bas with RunPython, Dictionary.cls,
Module1.SampleCall) and two form buttons on the Start sheet: Check tracker runs SampleCall, which runs
`import tracker; tracker.main()`, so `tracker.py` (calling apxl.excel.check_caller) is written beside it; Clear
checks is wired to ApxlClearChecks, a macro that VBA project does not have yet (docs/excel.md: how to add it).
Nothing here has been run in Excel: see docs/excel.md, "What was and was not verified here".
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import io
import keyword
import os
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

from . import TEMPLATE_VERSION
from .errors import ApxlError
from .schema import FieldSpec, SheetSchema, sheet_schemas

VERSION_NAME = "apxl_template_version"
SHEETS_NAME = "apxl_template_sheets"
SHEET_SEPARATOR = "/"
START_SHEET = "Start"
LISTS_SHEET = "Lists"
DATA_ROWS = 1000                    # validations and formats cover Excel rows 2..DATA_ROWS
CREATED = dt.datetime(2026, 11, 1, 0, 0, 0)   # fixed, so the bytes of a build depend only on schemas/
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)
DATE_FORMAT = "dd/mm/yyyy"
TIME_FORMAT = "hh:mm"
NCYEAR_LIST = ("R", *(str(n) for n in range(1, 15)))

# The .xlsm: xlwings' own standalone VBA project, taken from the pinned wheel (pyproject.toml pins the same).
XLWINGS_VERSION = "0.37.8"
VBA_SOURCE = "quickstart_standalone.xlsm"   # in the xlwings package; its VBA has xlwings.bas and SampleCall
CHECK_BUTTON = "Check tracker"
CLEAR_BUTTON = "Clear checks"
CHECK_MACRO = "SampleCall"          # xlwings' macro: RunPython "import <workbook stem>; <stem>.main()"
CLEAR_MACRO = "ApxlClearChecks"     # not in xlwings' VBA project: docs/excel.md says how to add it in Excel
BUTTON_CELLS = {CHECK_BUTTON: "B2", CLEAR_BUTTON: "B5"}
MODULE_MARK = "# Written by `apxl template`"
_TAKEN_NAMES = frozenset({"apxl", "xlwings", "pandas", "pandera", "numpy", "yaml", "holidays", "python_calamine",
                          "openpyxl", "xlsxwriter", "pywintypes", "pythoncom", "win32com", "pywin32"})
MODULE_TEMPLATE = '''# Written by `apxl template` beside {stem}.xlsm: do not rename one without the other.
"""The Python side of the Check tracker button in {stem}.xlsm.

The button runs xlwings' SampleCall macro (xlwings {xlwings}), which runs
`import {stem}; {stem}.main()` with the workbook's folder first on sys.path: that is why this file has
the workbook's name and sits beside it. Rename the workbook and the button looks for a module of the
new name; rename this file to match (or build a fresh template with `apxl template NEW.xlsm`).
"""

from apxl.excel import check_caller, clear_caller


def main() -> None:
    """Check tracker: check the workbook that pressed the button and mark what apxl finds."""
    check_caller()


def clear() -> None:
    """Clear checks: remove what Check tracker added (for a macro RunPython "import {stem}; {stem}.clear()")."""
    clear_caller()
'''

# What each template version changed, newest last. WB007 quotes the entries newer than a workbook's.
TEMPLATE_HISTORY: tuple[tuple[str, str], ...] = (
    ("1.0", "the first template built from apxl's schemas: the sheets Start, Setup, Placements, Providers, "
            "Checklist (20 items), Timetable, Visits, Attendance, Term dates and Explanations, with dropdowns, "
            "date and number checks and help on every column"),
)

_HEADER_FILL = "#DDEBF7"
_TITLE_MAX = 32                     # Excel's limit on an input message title
_MESSAGE_MAX = 255                  # Excel's limit on an input message


def template_sheets() -> list[str]:
    """Every sheet the template has, in order (the hidden Lists sheet last)."""
    return [START_SHEET, *sheet_schemas(), LISTS_SHEET]


def version_key(version: str) -> tuple[int, ...] | None:
    """The parts of a dotted version ("1.0" gives (1, 0)); None for any other text."""
    text = version.strip()
    if not re.fullmatch(r"\d+(\.\d+)*", text):
        return None
    return tuple(int(p) for p in text.split("."))


def changes_since(version: str) -> str:
    """What the template versions after `version` changed, one sentence."""
    old = version_key(version) or ()
    newer = [(v, text) for v, text in TEMPLATE_HISTORY if (version_key(v) or ()) > old]
    if not newer:
        return ""
    return "Changes since then: " + "; ".join(f"{v}: {text}" for v, text in newer) + "."


def build_template(path: str | os.PathLike[str], *, version: str = TEMPLATE_VERSION) -> Path:
    """Write the template to `path` (atomically) and return the path.

    OUT.xlsx is the plain template. OUT.xlsm is the same workbook plus xlwings' standalone VBA project and
    the Check tracker and Clear checks buttons on the Start sheet; `<stem>.py` is written beside it, because
    the Check tracker button (xlwings' SampleCall) runs `import <stem>; <stem>.main()`.

    Raises ApxlError with a one-line reason for another suffix, an .xlsm whose name cannot be imported as a
    Python module, a module file beside it that apxl did not write, a missing or different xlwings, or a path
    that cannot be written. `version` is for tests: a template "from an older version".
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".xlsx", ".xlsm"):
        raise ApxlError(f"{target}: the template is an Excel workbook: give a path ending in .xlsx "
                        "(or .xlsm for the one with the Check tracker button)")
    directory = target.parent if str(target.parent) else Path(".")
    if suffix == ".xlsx":
        data = template_bytes(version=version)
        _check_directory(target, directory)
        _write_atomic(target, data)
        return target

    module = module_path(target)
    data = template_bytes(version=version, macros=True)
    _check_directory(target, directory)
    text = module_text(target.stem)
    if module.exists() and not _ours(module):
        raise ApxlError(f"{target}: {module.name} beside it was not written by apxl, and the Check tracker button "
                        f"would import it: choose another name for the workbook or move {module.name}")
    existed = module.exists()
    _write_atomic(module, text.encode("utf-8"))
    try:
        _write_atomic(target, data)
    except BaseException:
        if not existed:
            _unlink(str(module))
        raise
    return target


def module_path(workbook: str | os.PathLike[str]) -> Path:
    """The Python module the .xlsm's Check tracker button imports: `<stem>.py` beside the workbook.

    Raises ApxlError when the stem is not a name Python can import (spaces, "(1)", a leading digit, a keyword)
    or would hide a module Python or apxl needs (the workbook's folder comes first on sys.path under RunPython).
    """
    target = Path(workbook)
    stem = target.stem
    if not stem.isidentifier() or keyword.iskeyword(stem) or not stem.isascii():
        raise ApxlError(f"{target}: the Check tracker button imports a Python module named like the workbook, so "
                        "the name must be letters, digits and underscores, not starting with a digit "
                        "(for example ap_tracker.xlsm)")
    if stem in sys.stdlib_module_names or stem.lower() in _TAKEN_NAMES:
        raise ApxlError(f"{target}: a module named {stem} beside the workbook would hide the Python module "
                        f"of that name; choose another name (for example ap_tracker.xlsm)")
    return target.with_suffix(".py")


def module_text(stem: str) -> str:
    """The module written beside OUT.xlsm (the same text for the same stem)."""
    return MODULE_TEMPLATE.format(stem=stem, xlwings=XLWINGS_VERSION)


def _ours(module: Path) -> bool:
    try:
        with open(module, encoding="utf-8", errors="replace") as fh:
            return fh.readline().startswith(MODULE_MARK)
    except OSError:
        return False


def _check_directory(target: Path, directory: Path) -> None:
    if not directory.is_dir():
        raise ApxlError(f"{target}: the folder {directory} does not exist")


def _write_atomic(target: Path, data: bytes) -> None:
    from .output import replacing

    try:
        with replacing(str(target)) as tmp, open(tmp, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise ApxlError(f"{target}: cannot write the template ({exc.strerror or exc})") from None


def vba_project() -> bytes:
    """xl/vbaProject.bin of quickstart_standalone.xlsm in the installed xlwings, which must be XLWINGS_VERSION.

    That VBA project holds xlwings.bas (RunPython, BSD-3), Dictionary.cls (MIT) and Module1.SampleCall; the
    Python side of RunPython must be the same xlwings version, hence the pin.
    """
    try:
        installed = importlib.metadata.version("xlwings")
    except importlib.metadata.PackageNotFoundError:
        raise ApxlError(f"the .xlsm template needs xlwings {XLWINGS_VERSION}: "
                        f"pip install xlwings=={XLWINGS_VERSION}") from None
    if installed != XLWINGS_VERSION:
        raise ApxlError(f"the .xlsm template carries the VBA of xlwings {XLWINGS_VERSION}, which must match the "
                        f"Python side, but xlwings {installed} is installed: pip install xlwings=={XLWINGS_VERSION}")
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise ApxlError(f"cannot find the xlwings package: pip install xlwings=={XLWINGS_VERSION}")
    source = Path(next(iter(spec.submodule_search_locations))) / VBA_SOURCE
    try:
        with zipfile.ZipFile(source) as zf:
            return zf.read("xl/vbaProject.bin")
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ApxlError(f"cannot read xl/vbaProject.bin from {source} ({exc})") from None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def template_bytes(*, version: str = TEMPLATE_VERSION, macros: bool = False) -> bytes:
    """The template .xlsx as bytes (the same bytes for the same schemas/ and version).

    With `macros`, the .xlsm: the same workbook plus xlwings' VBA project and the two buttons on Start.
    """
    try:
        import xlsxwriter
    except ImportError:
        raise ApxlError("building the template needs XlsxWriter: pip install XlsxWriter") from None
    vba = vba_project() if macros else None

    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({
        "title": "AP placement tracker",
        "subject": "Pupils placed in Alternative Provision",
        "author": "apxl",
        "comments": f"apxl template {version}",
        "created": CREATED,
    })
    if vba is not None:
        wb.add_vba_project(io.BytesIO(vba), is_stream=True)
    styles = _Styles(wb)
    schemas = sheet_schemas()
    lists = _ListRegistry(schemas)

    start = _start_sheet(wb, styles, version)
    if vba is not None:
        _buttons(start)
    for schema in schemas.values():
        if schema.kind == "keyvalue":
            _keyvalue_sheet(wb, styles, schema, lists)
        else:
            _table_sheet(wb, styles, schema, lists)
    _lists_sheet(wb, styles, lists)

    wb.define_name(VERSION_NAME, f'="{version}"')
    wb.define_name(SHEETS_NAME, '="' + SHEET_SEPARATOR.join(template_sheets()) + '"')
    wb.close()
    return buffer.getvalue()


class _Styles:
    def __init__(self, wb: Any) -> None:
        self.header = wb.add_format({"bold": True, "bg_color": _HEADER_FILL, "border": 1, "text_wrap": False,
                                     "valign": "top"})
        self.key = wb.add_format({"bold": True})
        self.date = wb.add_format({"num_format": DATE_FORMAT})
        self.time = wb.add_format({"num_format": TIME_FORMAT})
        self.text = wb.add_format({"num_format": "@"})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.heading = wb.add_format({"bold": True})

    def column(self, spec: FieldSpec) -> Any:
        if spec.type in ("date", "checkitem"):
            return self.date
        if spec.type == "time":
            return self.time
        if spec.type == "text":
            return self.text          # keeps leading zeros (phone numbers, URNs) and long UPNs as typed
        return None


class _ListRegistry:
    """Every enumeration, once: a column on the Lists sheet and a workbook name for it."""

    def __init__(self, schemas: dict[str, SheetSchema]) -> None:
        self.lists: dict[str, tuple[str, tuple[Any, ...]]] = {}    # name -> (title, values)
        self.by_field: dict[tuple[str, str], str] = {}
        for schema in schemas.values():
            for spec in schema.fields:
                values = _list_values(spec)
                if values is None:
                    continue
                if spec.type == "yesno":
                    name, title = "apxl_list_yesno", "Yes/No"
                elif spec.type == "ncyear":
                    name, title = "apxl_list_ncyear", "NC year"
                else:
                    name = "apxl_list_" + re.sub(r"[^0-9A-Za-z]+", "_", f"{schema.name} {spec.name}").strip("_")
                    title = f"{schema.name}: {spec.name}"
                self.lists.setdefault(name, (title, values))
                self.by_field[(schema.name, spec.name)] = name

    def name_for(self, sheet: str, field: str) -> str | None:
        return self.by_field.get((sheet, field))


def _list_values(spec: FieldSpec) -> tuple[Any, ...] | None:
    if spec.type == "yesno":
        return ("Yes", "No")
    if spec.type == "ncyear":
        return tuple(v if not v.isdigit() else int(v) for v in (spec.allowed or NCYEAR_LIST))
    if spec.type == "code" and spec.allowed:
        return tuple(spec.allowed)
    return None


def _col(n: int) -> str:
    from .layout import col_letter

    return col_letter(n)


def _width(text: str) -> float:
    return max(10.0, min(60.0, len(text) * 1.1 + 3))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _help(spec: FieldSpec) -> str:
    """One or two sentences for the input message: the field's help, else what it expects."""
    if spec.required:
        need = "Required"
    elif spec.required_when is None:
        need = "Optional"
    elif spec.required_when == "active":
        need = "Required while the placement is active"
    elif isinstance(spec.required_when, dict) and "not_in" in spec.required_when:
        need = f"Required unless {spec.required_when.get('field')} is {' or '.join(spec.required_when['not_in'])}"
    elif isinstance(spec.required_when, dict) and "in" in spec.required_when:
        need = f"Required when {spec.required_when.get('field')} is {' or '.join(spec.required_when['in'])}"
    else:
        need = "Sometimes required"
    if spec.type == "checkitem":
        base = "The date this was done (dd/mm/yyyy), or N/A when it does not apply."
        if spec.code:
            base += f" Checked by rule {spec.code}."
        return _clip(base, _MESSAGE_MAX)
    if spec.help:
        text = spec.help
    elif spec.type == "code" and spec.allowed:
        text = "One of: " + ", ".join(spec.allowed) + "."
    elif spec.type == "date":
        text = "A date, dd/mm/yyyy."
    elif spec.type == "time":
        text = "A time of day, hh:mm."
    else:
        text = spec.expected[:1].upper() + spec.expected[1:] + "."
    if spec.type in ("hours", "number", "integer") and spec.min is not None and spec.max is not None \
            and f"{spec.min:g}" not in text:
        text += f" From {spec.min:g} to {spec.max:g}."
    if not spec.required and "required" in text.lower():
        return _clip(text, _MESSAGE_MAX)       # the help already says when it is required
    return _clip(f"{need}. {text}", _MESSAGE_MAX)


def _validation(spec: FieldSpec, lists: _ListRegistry, sheet: str, cell: str) -> dict[str, Any]:
    """The XlsxWriter data validation of one column (or Setup value cell)."""
    v: dict[str, Any]
    expected = spec.expected
    list_name = lists.name_for(sheet, spec.name)
    if list_name is not None:
        v = {"validate": "list", "source": f"={list_name}"}
        expected = "one of the values in the list"
    elif spec.type in ("date",):
        v = {"validate": "date", "criteria": "between", "minimum": FIRST_DATE, "maximum": LAST_DATE}
        expected = "a date (dd/mm/yyyy)"
    elif spec.type == "time":
        v = {"validate": "time", "criteria": "between", "minimum": dt.time(0, 0), "maximum": dt.time(23, 59, 59)}
        expected = "a time of day (hh:mm)"
    elif spec.type in ("hours", "number", "integer"):
        kind = "integer" if spec.type == "integer" else "decimal"
        if spec.min is not None and spec.max is not None:
            v = {"validate": kind, "criteria": "between", "minimum": spec.min, "maximum": spec.max}
            expected = f"{expected} from {spec.min:g} to {spec.max:g}"
        elif spec.min is not None:
            v = {"validate": kind, "criteria": ">=", "value": spec.min}
        elif spec.max is not None:
            v = {"validate": kind, "criteria": "<=", "value": spec.max}
        else:
            v = {"validate": kind, "criteria": "between", "minimum": -1e300, "maximum": 1e300}
    elif spec.type == "checkitem":
        v = {"validate": "custom", "value": f'=OR(ISNUMBER({cell}),UPPER(TRIM({cell}))="N/A")'}
        expected = "a date (dd/mm/yyyy) or N/A"
    elif spec.pattern and (m := re.fullmatch(r"\^\[0-9\]\{(\d+)\}\$", spec.pattern)):
        v = {"validate": "length", "criteria": "==", "value": int(m.group(1))}
    else:
        v = {"validate": "any"}
    v["input_title"] = _clip(spec.name, _TITLE_MAX)
    v["input_message"] = _help(spec) if len(spec.name) <= _TITLE_MAX else _clip(f"{spec.name}: {_help(spec)}", _MESSAGE_MAX)
    if v["validate"] != "any":
        v["error_type"] = "warning"
        v["error_title"] = _clip(f"{spec.name}: check this", _TITLE_MAX)
        v["error_message"] = _clip(f"apxl expects {expected} here. You can keep what you typed; "
                                   "apxl will report it when the tracker is checked.", _MESSAGE_MAX)
    return v


def _table_sheet(wb: Any, styles: _Styles, schema: SheetSchema, lists: _ListRegistry) -> None:
    ws = wb.add_worksheet(schema.name)
    for c, spec in enumerate(schema.fields):
        ws.write_string(0, c, spec.name, styles.header)
        ws.set_column(c, c, _width(spec.name), styles.column(spec))
        letter = _col(c)
        ws.data_validation(1, c, DATA_ROWS - 1, c, _validation(spec, lists, schema.name, f"{letter}2"))
    ws.freeze_panes(1, 0)


def _keyvalue_sheet(wb: Any, styles: _Styles, schema: SheetSchema, lists: _ListRegistry) -> None:
    ws = wb.add_worksheet(schema.name)
    ws.write_string(0, 0, "Key", styles.header)
    ws.write_string(0, 1, "Value", styles.header)
    ws.write_string(0, 2, "Help", styles.header)
    ws.set_column(0, 0, max(_width(s.name) for s in schema.fields))
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 70)
    for r, spec in enumerate(schema.fields, start=1):
        ws.write_string(r, 0, spec.name, styles.key)
        fmt = styles.column(spec)
        ws.write_blank(r, 1, None, fmt)
        ws.write_string(r, 2, _help(spec))
        ws.data_validation(r, 1, r, 1, _validation(spec, lists, schema.name, f"B{r + 1}"))
    ws.freeze_panes(1, 0)


def _lists_sheet(wb: Any, styles: _Styles, lists: _ListRegistry) -> None:
    ws = wb.add_worksheet(LISTS_SHEET)
    for c, (name, (title, values)) in enumerate(lists.lists.items()):
        ws.write_string(0, c, title, styles.header)
        for r, value in enumerate(values, start=1):
            if isinstance(value, int):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value))
        ws.set_column(c, c, _width(max([title, *map(str, values)], key=len)))
        letter = _col(c)
        wb.define_name(name, f"={LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}")
    ws.hide()


START_TEXT: tuple[tuple[str, str], ...] = (        # one short line a row: no wrapping, no row heights to guess
    ("title", "AP placement tracker"),
    ("", "This workbook records the pupils your school places in Alternative Provision (AP):"),
    ("", "each placement, the providers you use, the checks done before and during each placement,"),
    ("", "timetables, visits and attendance. apxl checks it against the law, the statutory guidance"),
    ("", "and the partnership's policy."),
    ("heading", "How to fill it in"),
    ("", "1. Setup: your school's name, URN, LAESTAB, partnership, academic year and return date."),
    ("", "2. Providers: one row per AP setting you use (registration, LEBC audit, safeguarding lead)."),
    ("", "3. Placements: one row per placement of one pupil at one provider."),
    ("", "4. Checklist: one row per placement; under each item, the date it was done, or N/A."),
    ("", "5. Timetable, Visits, Attendance, Term dates: fill them in as they happen."),
    ("", "Select a cell to see what goes in it; the dropdowns hold the values apxl understands."),
    ("", "Type dates as dd/mm/yyyy. Do not rename the sheets or the headers in row 1."),
    ("heading", "How to check it"),
    ("", "On a computer with apxl:   apxl validate tracker.xlsx"),
    ("", "or, in the macro-enabled .xlsm version, press Check tracker (Clear checks removes the marks)."),
    ("", "Each finding names the sheet, the cell and what to do about it."),
    ("heading", "Explanations"),
    ("", "When a warning is right for a good reason, add a row on the Explanations sheet: the rule code,"),
    ("", "the Placement ID or Provider ID, your explanation, who explained it and the date."),
    ("", "apxl then lists that warning as explained."),
    ("heading", "This sheet"),
    ("", "apxl writes nothing else here. Its results go on a Warnings sheet that it adds and removes."),
)


def _buttons(ws: Any) -> None:
    """Check tracker and Clear checks, form buttons (VML) on the Start sheet, right of the instructions."""
    for caption, macro in ((CHECK_BUTTON, CHECK_MACRO), (CLEAR_BUTTON, CLEAR_MACRO)):
        ws.insert_button(BUTTON_CELLS[caption], {"macro": macro, "caption": caption, "width": 150, "height": 36,
                                                 "x_offset": 12})


def _start_sheet(wb: Any, styles: _Styles, version: str) -> Any:
    ws = wb.add_worksheet(START_SHEET)
    ws.set_column(0, 0, 95)
    row = 0
    for kind, text in START_TEXT:
        if kind == "heading":
            row += 1
        fmt = {"title": styles.title, "heading": styles.heading}.get(kind)
        if fmt is None:
            ws.write_string(row, 0, text)
        else:
            ws.write_string(row, 0, text, fmt)
        row += 1
    ws.write_string(row + 1, 0, f"apxl template {version}")
    ws.activate()
    return ws


if __name__ == "__main__":          # python -m apxl.template workbooks/template.xlsx (or .xlsm)
    print(build_template(sys.argv[1] if len(sys.argv) > 1 else "workbooks/template.xlsx"))
