"""The template: built from schemas/, committed in workbooks/, validated clean, and WB007 for older versions."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

import apxl
from apxl import TEMPLATE_VERSION
from apxl.errors import ApxlError
from apxl.schema import sheet_schemas
from apxl.template import (
    CHECK_MACRO,
    CLEAR_MACRO,
    DATA_ROWS,
    LISTS_SHEET,
    SHEETS_NAME,
    VERSION_NAME,
    XLWINGS_VERSION,
    build_template,
    module_text,
    template_bytes,
    template_sheets,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbooks" / "template.xlsx"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("template") / "template.xlsx")


@pytest.fixture(scope="module")
def book(built: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(built)


def validations(ws) -> dict[str, object]:
    """sqref -> data validation, for one worksheet."""
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


def column(ws, index: int):
    """The <col> entry covering a 1-based column (openpyxl keeps a run of equal columns under its first)."""
    for dim in ws.column_dimensions.values():
        if dim.min is not None and dim.min <= index <= dim.max:
            return dim
    raise AssertionError(f"{ws.title}: no width or format for column {get_column_letter(index)}")


def list_values(book, name: str) -> list[str]:
    dn = book.defined_names[name]
    (sheet, ref), = dn.destinations
    return [str(c.value) for (c,) in book[sheet][ref.replace("$", "")]]


def test_sheets_in_order_with_lists_hidden(book):
    assert book.sheetnames == ["Start", *sheet_schemas(), LISTS_SHEET] == template_sheets()
    assert book.sheetnames[:11] == ["Start", "Setup", "Placements", "Providers", "Checklist", "Timetable",
                                    "Visits", "Attendance", "Term dates", "Explanations", "Lists"]
    assert book[LISTS_SHEET].sheet_state == "hidden"
    assert all(book[n].sheet_state == "visible" for n in book.sheetnames if n != LISTS_SHEET)
    assert book.active.title == "Start"


def test_headers_frozen_bold_and_filled(book):
    for name, schema in sheet_schemas().items():
        ws = book[name]
        assert ws.freeze_panes == "A2", name
        if schema.kind == "keyvalue":
            keys = [ws.cell(r, 1).value for r in range(2, 2 + len(schema.fields))]
            assert keys == [f.name for f in schema.fields]
            continue
        header = [c.value for c in ws[1]]
        assert header == [f.name for f in schema.fields], name
        for c in ws[1]:
            assert c.font.b and c.fill.fgColor.rgb not in (None, "00000000"), (name, c.coordinate)
        for i, f in enumerate(schema.fields, start=1):
            width = column(ws, i).width
            assert width >= len(f.name), (name, f.name, width)


def test_checklist_carries_every_item_in_order(book):
    items = sheet_schemas()["Checklist"].items
    assert len(items) == 20
    assert [c.value for c in book["Checklist"][1]] == ["Placement ID", *(i.name for i in items)]


def test_every_column_has_its_validation(book):
    for name, schema in sheet_schemas().items():
        if schema.kind == "keyvalue":
            continue
        dvs = validations(book[name])
        assert len(dvs) == len(schema.fields), name
        for i, f in enumerate(schema.fields, start=1):
            col = get_column_letter(i)
            dv = dvs[f"{col}2:{col}{DATA_ROWS}"]
            assert len(dv.promptTitle) <= 32 and dv.prompt and len(dv.prompt) <= 255, (name, f.name)
            assert dv.promptTitle == f.name or (dv.promptTitle.endswith("…") and dv.prompt.startswith(f.name))
            assert dv.showInputMessage
            if f.type in ("code", "yesno", "ncyear"):
                assert dv.type == "list" and dv.errorStyle == "warning", (name, f.name)
                values = list_values(book, dv.formula1)
                if f.type == "yesno":
                    assert values == ["Yes", "No"]
                elif f.type == "ncyear":
                    assert values == ["R", *(str(n) for n in range(1, 15))]
                else:
                    assert values == list(f.allowed), (name, f.name)
            elif f.type == "date":
                assert dv.type == "date" and dv.operator in (None, "between") and dv.errorStyle == "warning"
                assert (dv.formula1, dv.formula2) == ("36526", "73415")        # 2000-01-01 .. 2100-12-31
                assert column(book[name], i).number_format == "dd/mm/yyyy"
            elif f.type == "time":
                assert dv.type == "time" and dv.errorStyle == "warning"
                assert column(book[name], i).number_format == "hh:mm"
            elif f.type in ("hours", "number"):
                assert dv.type == "decimal" and float(dv.formula1) == f.min and float(dv.formula2) == f.max
            elif f.type == "integer":
                assert dv.type == "whole" and float(dv.formula1) == f.min and float(dv.formula2) == f.max
            elif f.type == "checkitem":
                assert dv.type == "custom" and "N/A" in dv.formula1 and f"ISNUMBER({col}2)" in dv.formula1
                assert "N/A" in dv.prompt
                assert column(book[name], i).number_format == "dd/mm/yyyy"
            else:
                assert dv.type is None, (name, f.name)          # text: an input message only


def test_specific_columns(book):
    dvs = validations(book["Placements"])
    assert dvs[f"G2:G{DATA_ROWS}"].formula1 == "apxl_list_Placements_SEN_status"
    assert dvs[f"H2:H{DATA_ROWS}"].formula1 == "apxl_list_yesno"
    assert dvs[f"O2:O{DATA_ROWS}"].type == "decimal"                   # AP hours per week 0..40
    assert (dvs[f"O2:O{DATA_ROWS}"].formula1, dvs[f"O2:O{DATA_ROWS}"].formula2) == ("0", "40")
    assert validations(book["Attendance"])[f"C2:C{DATA_ROWS}"].type == "whole"
    assert list_values(book, validations(book["Timetable"])[f"B2:B{DATA_ROWS}"].formula1) == \
        ["Mon", "Tue", "Wed", "Thu", "Fri"]


def test_setup_values(book):
    ws = book["Setup"]
    fields = sheet_schemas()["Setup"].fields
    dvs = validations(ws)
    for r, f in enumerate(fields, start=2):
        dv = dvs[f"B{r}"]
        assert dv.promptTitle == f.name
        if f.type == "date":
            assert dv.type == "date" and ws[f"B{r}"].number_format == "dd/mm/yyyy"
    urn = next(r for r, f in enumerate(fields, start=2) if f.name == "School URN")
    assert dvs[f"B{urn}"].type == "textLength" and dvs[f"B{urn}"].formula1 == "6"


def test_defined_names(book):
    assert book.defined_names[VERSION_NAME].attr_text == f'"{TEMPLATE_VERSION}"'
    assert book.defined_names[SHEETS_NAME].attr_text.strip('"').split("/") == template_sheets()


def test_start_sheet_says_what_to_do(book):
    text = "\n".join(str(c.value) for (c,) in book["Start"].iter_rows(max_col=1) if c.value)
    for words in ("Setup", "Providers", "Placements", "Checklist", "apxl validate", "Check tracker",
                  "Explanations", "apxl writes nothing else here"):
        assert words in text


def test_committed_template_is_fresh():
    """Fails when schemas/ (or the template code) changed without `python -m apxl.template workbooks/template.xlsx`."""
    assert COMMITTED.is_file(), "workbooks/template.xlsx is missing: python -m apxl.template workbooks/template.xlsx"
    assert COMMITTED.read_bytes() == template_bytes(), \
        "workbooks/template.xlsx is stale: rebuild it with python -m apxl.template workbooks/template.xlsx"


def test_build_is_deterministic():
    assert template_bytes() == template_bytes()


def test_template_validates_clean_but_for_setup_blanks(built):
    report = apxl.validate(built, as_of=dt.date(2026, 11, 30))
    assert report.template_version == TEMPLATE_VERSION
    rules = [f.rule for f in report.findings]
    assert not {"WB001", "WB002", "WB003", "WB007"} & set(rules)
    ce = sorted((f.rule, f.sheet, f.column) for f in report.findings if f.rule.startswith("CE"))
    required = [f.name for f in sheet_schemas()["Setup"].fields if f.required]
    assert ce == sorted(("CE001", "Setup", name) for name in required)


def test_committed_template_validates_the_same(built):
    a = apxl.validate(built, as_of=dt.date(2026, 11, 30))
    b = apxl.validate(COMMITTED, as_of=dt.date(2026, 11, 30))
    assert [(f.rule, f.cell) for f in a.findings] == [(f.rule, f.cell) for f in b.findings]


def test_older_template_gets_one_wb007(tmp):
    path = build_template(tmp / "old.xlsx", version="0.9")
    report = apxl.validate(path, as_of=dt.date(2026, 11, 30))
    assert report.template_version == "0.9"
    wb007 = [f for f in report.findings if f.rule == "WB007"]
    assert len(wb007) == 1
    (f,) = wb007
    assert f.severity == "warning" and f.cell is None and f.sheet is None and f.row is None
    assert "0.9" in f.message and TEMPLATE_VERSION in f.message
    assert "Changes since then: 1.0:" in f.message          # what changed
    assert "apxl upgrade" in f.message                      # how to upgrade


@pytest.mark.parametrize("version", [TEMPLATE_VERSION, "9.0", "not a version"])
def test_current_newer_or_unreadable_version_gets_no_wb007(tmp, version):
    path = build_template(tmp / "t.xlsx", version=version)
    assert not [f for f in apxl.validate(path, as_of=dt.date(2026, 11, 30)).findings if f.rule == "WB007"]


def test_own_tracker_without_version_gets_no_wb007(tmp):
    from workbooks import tracker, write_xlsx

    path = write_xlsx(tmp / "own.xlsx", tracker())
    report = apxl.validate(path, as_of=dt.date(2026, 11, 30))
    assert report.template_version is None
    assert not [f for f in report.findings if f.rule == "WB007"]
    memory = apxl.validate({"Setup": [["School name", "X"]]}, as_of=dt.date(2026, 11, 30))
    assert not [f for f in memory.findings if f.rule == "WB007"]


@pytest.mark.parametrize("name, words", [("t.csv", "ending in .xlsx"), ("t.xlsb", "ending in .xlsx"),
                                         ("missing/t.xlsx", "does not exist"), ("missing/t.xlsm", "does not exist"),
                                         ("my tracker.xlsm", "letters, digits and underscores"),
                                         ("tracker (1).xlsm", "letters, digits and underscores"),
                                         ("2026_tracker.xlsm", "not starting with a digit"),
                                         ("class.xlsm", "letters, digits and underscores"),
                                         ("string.xlsm", "would hide the Python module"),
                                         ("xlwings.xlsm", "would hide the Python module"),
                                         ("apxl.xlsm", "would hide the Python module")])
def test_bad_paths_give_one_line_reasons(tmp, name, words):
    with pytest.raises(ApxlError) as err:
        build_template(tmp / name)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert not [p for p in tmp.glob("**/*") if p.is_file()]


def test_filled_template_checks_like_a_plain_tracker(tmp, built):
    """A school types a clean tracker into the template: apxl finds what it finds in the same data without it
    (the template's optional sheets are there, empty, so the plain tracker has them too)."""
    from workbooks import headers, tracker, write_xlsx

    data = tracker(**{name: [headers(name)] for name in ("Timetable", "Visits", "Attendance", "Term dates",
                                                          "Explanations")})
    plain = apxl.validate(write_xlsx(tmp / "plain.xlsx", data), as_of=dt.date(2026, 11, 30))
    book = openpyxl.load_workbook(built)
    setup = {row[0]: row[1] for row in data["Setup"][1:]}
    for r in range(2, book["Setup"].max_row + 1):
        key = book["Setup"].cell(r, 1).value
        if key in setup:
            book["Setup"].cell(r, 2).value = setup[key]
    for name in ("Placements", "Providers", "Checklist"):
        assert [c.value for c in book[name][1]] == data[name][0]
        for r, row in enumerate(data[name][1:], start=2):
            for c, value in enumerate(row, start=1):
                book[name].cell(r, c).value = None if value == "" else value
    book.save(tmp / "filled.xlsx")
    filled = apxl.validate(tmp / "filled.xlsx", as_of=dt.date(2026, 11, 30))

    def key(report):
        return sorted((f.rule, f.sheet, f.cell, f.message) for f in report.findings if f.rule != "WB008")

    assert key(filled) == key(plain)
    assert filled.template_version == TEMPLATE_VERSION


def _cli_has_template() -> bool:
    from apxl import cli

    sub = next(a for a in cli._parser()._actions if a.dest == "command")
    return "template" in sub.choices


@pytest.mark.skipif(not _cli_has_template(), reason="`apxl template` is not wired into apxl/cli.py yet")
def test_cli_template(tmp, capsys):
    from apxl.cli import main

    out = tmp / "tracker.xlsx"
    assert main(["template", str(out)]) == 0
    assert out.read_bytes() == template_bytes()
    macro = tmp / "ap_tracker.xlsm"
    assert main(["template", str(macro)]) == 0
    assert macro.read_bytes() == template_bytes(macros=True)
    assert (tmp / "ap_tracker.py").read_text(encoding="utf-8") == module_text("ap_tracker")
    for bad, words in ((tmp / "t.txt", ".xlsx"), (tmp / "no" / "t.xlsx", "does not exist"),
                       (tmp / "my tracker.xlsm", "Python module")):
        capsys.readouterr()
        assert main(["template", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("apxl: ") and words in err and err.count("\n") == 1


# The macro-enabled template: the same workbook plus xlwings' VBA project and the two buttons on Start.

COMMITTED_XLSM = ROOT / "workbooks" / "template.xlsm"
COMMITTED_MODULE = ROOT / "workbooks" / "template.py"
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
VML_X = "{urn:schemas-microsoft-com:office:excel}"


@pytest.fixture(scope="module")
def built_xlsm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("xlsm") / "ap_tracker.xlsm")


def wheel_vba_project() -> bytes:
    """xl/vbaProject.bin of the installed xlwings' quickstart_standalone.xlsm, found independently of apxl."""
    import importlib.util
    import zipfile

    spec = importlib.util.find_spec("xlwings")
    assert spec is not None, f"xlwings is not installed: pip install xlwings=={XLWINGS_VERSION}"
    package = Path(next(iter(spec.submodule_search_locations)))
    with zipfile.ZipFile(package / "quickstart_standalone.xlsm") as zf:
        return zf.read("xl/vbaProject.bin")


def parts(path: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rels(parts_: dict[str, bytes], name: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target) of a part's .rels."""
    import posixpath
    import xml.etree.ElementTree as ET

    folder, base = posixpath.split(name)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    if rels_name not in parts_:
        return {}
    out = {}
    for r in ET.fromstring(parts_[rels_name]).iter(f"{PKG_REL_NS}Relationship"):
        out[r.get("Id")] = (r.get("Type").rsplit("/", 1)[-1], posixpath.normpath(posixpath.join(folder, r.get("Target"))))
    return out


def sheet_parts(parts_: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> its worksheet part, read from xl/workbook.xml and its relationships."""
    import xml.etree.ElementTree as ET

    wb_rels = rels(parts_, "xl/workbook.xml")
    root = ET.fromstring(parts_["xl/workbook.xml"])
    return {s.get("name"): wb_rels[s.get(f"{REL_NS}id")][1] for s in root.iter(f"{MAIN_NS}sheet")}


def buttons(parts_: dict[str, bytes], sheet_part: str) -> list[tuple[str, str]]:
    """(caption, macro) of every form button in a worksheet's legacy (VML) drawing."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(parts_[sheet_part])
    drawing = root.find(f"{MAIN_NS}legacyDrawing")
    if drawing is None:
        return []
    kind, vml = rels(parts_, sheet_part)[drawing.get(f"{REL_NS}id")]
    assert kind == "vmlDrawing"
    out = []
    for shape in ET.fromstring(parts_[vml]).iter("{urn:schemas-microsoft-com:vml}shape"):
        data = shape.find(f"{VML_X}ClientData")
        if data is None or data.get("ObjectType") != "Button":
            continue
        caption = "".join(shape.find("{urn:schemas-microsoft-com:vml}textbox").itertext()).strip()
        out.append((caption, data.findtext(f"{VML_X}FmlaMacro")))
    return out


# A reader for the VBA source in a vbaProject.bin (an OLE compound file whose module sources are compressed with
# MS-OVBA 2.4.1), so the test needs no oletools. It gives the same text as olevba 0.60.2 for xlwings 0.37.8's.

def cfb_streams(data: bytes) -> dict[str, bytes]:
    """Every stream of an OLE compound file by its name (a VBA project's stream names are unique)."""
    assert data[:8] == bytes.fromhex("D0CF11E0A1B11AE1"), "not an OLE compound file"
    sector = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    mini = 1 << struct.unpack_from("<H", data, 0x20)[0]
    first_dir, cutoff, first_minifat, n_minifat = struct.unpack_from("<I4xIII", data, 0x30)
    difat = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < 0xFFFFFFFA]
    assert struct.unpack_from("<I", data, 0x48)[0] == 0, "DIFAT sectors beyond the header are not read"

    def read(s: int) -> bytes:
        return data[(s + 1) * sector:(s + 2) * sector]

    fat = [v for s in difat for v in struct.unpack(f"<{sector // 4}I", read(s))]

    def chain(start: int) -> bytes:
        out, s = bytearray(), start
        while s < 0xFFFFFFFA:
            out += read(s)
            s = fat[s]
        return bytes(out)

    directory = chain(first_dir)
    entries = []
    for off in range(0, len(directory), 128):
        e = directory[off:off + 128]
        n = struct.unpack_from("<H", e, 64)[0]
        kind = e[66]
        start, size = struct.unpack_from("<IQ", e, 116)
        entries.append((e[:max(n - 2, 0)].decode("utf-16-le"), kind, start, size))
    root = next(e for e in entries if e[1] == 5)
    ministream = chain(root[2])
    minifat = list(struct.unpack(f"<{len(chain(first_minifat)) // 4}I", chain(first_minifat))) if n_minifat else []
    streams = {}
    for name, kind, start, size in entries:
        if kind != 2:
            continue
        if size < cutoff:
            out, s = bytearray(), start
            while s < 0xFFFFFFFA:
                out += ministream[s * mini:(s + 1) * mini]
                s = minifat[s]
            streams[name] = bytes(out[:size])
        else:
            streams[name] = chain(start)[:size]
    return streams


def decompress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 decompression of a CompressedContainer."""
    assert data[0] == 1, "not a compressed VBA container"
    out, pos = bytearray(), 1
    while pos < len(data):
        header = struct.unpack_from("<H", data, pos)[0]
        end = min(pos + (header & 0x0FFF) + 3, len(data))
        pos += 2
        start = len(out)
        if not header & 0x8000:
            out += data[pos:pos + 4096]
            pos += 4096
            continue
        while pos < end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if not flags >> bit & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", data, pos)[0]
                pos += 2
                bits = max((len(out) - start - 1).bit_length(), 4)
                offset, length = (token >> (16 - bits)) + 1, (token & (0xFFFF >> bits)) + 3
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def vba_modules(vba_project: bytes) -> dict[str, str]:
    """Module name -> VBA source, from a vbaProject.bin."""
    streams = cfb_streams(vba_project)
    d = decompress(streams["dir"])
    pos, modules, name, stream = 0, {}, None, None
    while pos < len(d):
        rid, size = struct.unpack_from("<HI", d, pos)
        pos += 6
        if rid == 0x0009:                       # PROJECTVERSION: its size says 4, but 6 bytes follow
            size = 6
        body = d[pos:pos + size]
        pos += size
        if rid == 0x0019:
            name = body.decode("latin-1")
        elif rid == 0x001A:
            stream = body.decode("latin-1")
        elif rid == 0x0031:
            offset = struct.unpack("<I", body)[0]
            modules[name] = decompress(streams[stream][offset:]).decode("cp1252")
    return modules


def test_pinned_xlwings_is_installed_and_pinned_in_pyproject():
    import importlib.metadata
    import tomllib

    assert importlib.metadata.version("xlwings") == XLWINGS_VERSION
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for extra in ("excel", "test"):
        assert f"xlwings=={XLWINGS_VERSION}" in project["optional-dependencies"][extra], extra


def test_xlsm_carries_the_wheels_vba_project_unchanged(built_xlsm):
    p = parts(built_xlsm)
    assert p["xl/vbaProject.bin"] == wheel_vba_project()
    assert ("vbaProject", "xl/vbaProject.bin") in rels(p, "xl/workbook.xml").values()


def test_vba_project_has_sample_call_and_run_python_of_the_pinned_version(built_xlsm):
    """The VBA source inside vbaProject.bin (read by the small reader above, checked against oletools' olevba by
    hand): SampleCall imports the workbook's stem and calls main(); xlwings.bas is the pinned version."""
    modules = vba_modules(parts(built_xlsm)["xl/vbaProject.bin"])
    assert set(modules) == {"ThisWorkbook", "Sheet1", "Sheet2", "Module1", "xlwings", "Dictionary"}
    assert "Sub SampleCall()" in modules["Module1"]
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in modules["Module1"]
    assert "ApxlClearChecks" not in "".join(modules.values())          # docs/excel.md: add it in Excel
    assert f'XLWINGS_VERSION As String = "{XLWINGS_VERSION}"' in modules["xlwings"]
    assert "Public Function RunPython(PythonCommand As String)" in modules["xlwings"]
    assert "xlwings is distributed under a BSD 3-clause license." in modules["xlwings"]
    assert "@license: MIT" in modules["Dictionary"]


def test_third_party_notices_carry_the_licences():
    import importlib.metadata

    notices = (ROOT / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    dist = importlib.metadata.distribution("xlwings")
    licence = next(f for f in dist.files if f.name == "LICENSE.txt").read_text(encoding="utf-8")
    assert licence.strip() in notices
    assert f"xlwings {XLWINGS_VERSION}" in notices
    assert "Dictionary v1.4.1" in notices and "Permission is hereby granted" in notices


def test_xlsm_has_macro_enabled_content_types(built_xlsm):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(parts(built_xlsm)["[Content_Types].xml"])
    overrides = {o.get("PartName"): o.get("ContentType") for o in root.iter(f"{CT_NS}Override")}
    defaults = {d.get("Extension"): d.get("ContentType") for d in root.iter(f"{CT_NS}Default")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    assert defaults["bin"] == "application/vnd.ms-office.vbaProject"
    assert defaults["vml"] == "application/vnd.openxmlformats-officedocument.vmlDrawing"
    plain = ET.fromstring(parts(COMMITTED)["[Content_Types].xml"])
    assert {o.get("PartName"): o.get("ContentType") for o in plain.iter(f"{CT_NS}Override")}["/xl/workbook.xml"] \
        == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def test_xlsm_codenames_match_the_vba_document_modules(built_xlsm):
    """The VBA project has ThisWorkbook, Sheet1 and Sheet2: the workbook and sheets carry those code names."""
    p = parts(built_xlsm)
    assert b'<workbookPr codeName="ThisWorkbook"' in p["xl/workbook.xml"]
    sheets = sheet_parts(p)
    assert b'<sheetPr codeName="Sheet1"/>' in p[sheets["Start"]]
    assert b'<sheetPr codeName="Sheet2"/>' in p[sheets["Setup"]]


def test_xlsm_has_the_two_buttons_on_start_only(built_xlsm):
    p = parts(built_xlsm)
    sheets = sheet_parts(p)
    assert buttons(p, sheets["Start"]) == [("Check tracker", f"[0]!{CHECK_MACRO}"),
                                          ("Clear checks", f"[0]!{CLEAR_MACRO}")]
    assert CHECK_MACRO == "SampleCall"          # xlwings' macro: import <workbook stem>; <stem>.main()
    for name, part in sheets.items():
        if name != "Start":
            assert buttons(p, part) == [] and b"legacyDrawing" not in p[part], name


def test_xlsm_is_the_xlsx_plus_vba_and_buttons(built_xlsm):
    """Part by part: the .xlsm equals the .xlsx template but for the VBA project, the buttons' drawing and the
    code names XlsxWriter adds for it (and the content types and relationships that list them)."""
    import re

    x, m = parts(COMMITTED), parts(built_xlsm)
    assert set(m) - set(x) == {"xl/vbaProject.bin", "xl/drawings/vmlDrawing1.vml", "xl/worksheets/_rels/sheet1.xml.rels"}
    assert set(x) <= set(m)
    start = sheet_parts(m)["Start"]
    for name, data in x.items():
        other = m[name]
        if name.startswith("xl/worksheets/sheet"):
            other = re.sub(rb'<sheetPr codeName="Sheet\d+"/>', b"", other)
            if name == start:
                other = other.replace(b'<legacyDrawing r:id="rId1"/>', b"")
        elif name == "xl/workbook.xml":
            other = re.sub(rb' codeName="[^"]*"', b"", other)
        elif name == "[Content_Types].xml":
            other = other.replace(b'<Default Extension="vml" ContentType="application/vnd.openxmlformats-'
                                  b'officedocument.vmlDrawing"/><Default Extension="bin" ContentType='
                                  b'"application/vnd.ms-office.vbaProject"/>', b"")
            other = other.replace(b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                                  b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
        elif name == "xl/_rels/workbook.xml.rels":
            other = re.sub(rb'<Relationship Id="rId\d+" Type="http://schemas.microsoft.com/office/2006/'
                           rb'relationships/vbaProject" Target="vbaProject.bin"/>', b"", other)
        assert other == data, name


def test_xlsm_workbook_content_equals_the_xlsx(built_xlsm, book):
    """The same sheets, cells, headers, validations, formats, frozen panes and defined names (read by openpyxl)."""
    xlsm = openpyxl.load_workbook(built_xlsm)
    assert xlsm.sheetnames == book.sheetnames
    assert {n: dn.attr_text for n, dn in xlsm.defined_names.items()} == \
        {n: dn.attr_text for n, dn in book.defined_names.items()}
    assert xlsm.defined_names[VERSION_NAME].attr_text == f'"{TEMPLATE_VERSION}"'
    for name in book.sheetnames:
        a, b = book[name], xlsm[name]
        assert [[c.value for c in row] for row in a.iter_rows()] == [[c.value for c in row] for row in b.iter_rows()]
        assert (a.freeze_panes, a.sheet_state) == (b.freeze_panes, b.sheet_state), name

        def dvs(ws):
            return sorted((str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2, dv.prompt, dv.promptTitle,
                           dv.errorStyle, dv.error) for dv in ws.data_validations.dataValidation)

        assert dvs(a) == dvs(b), name
        assert {k: (d.width, d.number_format) for k, d in a.column_dimensions.items()} == \
            {k: (d.width, d.number_format) for k, d in b.column_dimensions.items()}, name


def test_xlsm_validates_like_the_xlsx(built, built_xlsm):
    a = apxl.validate(built, as_of=dt.date(2026, 11, 30))
    b = apxl.validate(built_xlsm, as_of=dt.date(2026, 11, 30))
    assert b.template_version == TEMPLATE_VERSION
    assert [(f.rule, f.cell, f.message) for f in a.findings] == [(f.rule, f.cell, f.message) for f in b.findings]


def test_module_beside_the_xlsm_calls_apxl_excel(built_xlsm, monkeypatch):
    """SampleCall runs `import ap_tracker; ap_tracker.main()`: main() must call apxl.excel.check_caller()."""
    import ast
    import importlib.util
    import sys
    import types

    module = built_xlsm.with_suffix(".py")
    text = module.read_text(encoding="utf-8")
    assert text == module_text("ap_tracker")
    tree = ast.parse(text)
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert [(n.module, sorted(a.name for a in n.names)) for n in imports] == \
        [("apxl.excel", ["check_caller", "clear_caller"])]
    calls: list[str] = []
    fake = types.ModuleType("apxl.excel")
    fake.check_caller = lambda: calls.append("check")
    fake.clear_caller = lambda: calls.append("clear")
    monkeypatch.setitem(sys.modules, "apxl.excel", fake)
    spec = importlib.util.spec_from_file_location("ap_tracker", module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    loaded.main()
    loaded.clear()
    assert calls == ["check", "clear"]


def test_module_file_apxl_did_not_write_is_kept(tmp):
    own = tmp / "ap_tracker.py"
    own.write_text("print('mine')\n", encoding="utf-8")
    with pytest.raises(ApxlError) as err:
        build_template(tmp / "ap_tracker.xlsm")
    assert "was not written by apxl" in str(err.value) and "\n" not in str(err.value)
    assert own.read_text(encoding="utf-8") == "print('mine')\n"
    assert not (tmp / "ap_tracker.xlsm").exists()
    own.write_text(module_text("ap_tracker") + "# an older apxl's module\n", encoding="utf-8")
    build_template(tmp / "ap_tracker.xlsm")                 # apxl's own module: rebuilt
    assert own.read_text(encoding="utf-8") == module_text("ap_tracker")


def test_xlsm_needs_the_pinned_xlwings(tmp, monkeypatch):
    import importlib.metadata

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.30.0" if name == "xlwings" else real(name))
    with pytest.raises(ApxlError) as err:
        build_template(tmp / "ap_tracker.xlsm")
    assert "0.30.0" in str(err.value) and f"xlwings=={XLWINGS_VERSION}" in str(err.value)
    assert not list(tmp.iterdir())
    build_template(tmp / "plain.xlsx")                      # the .xlsx does not need xlwings


def test_xlsm_build_is_deterministic():
    assert template_bytes(macros=True) == template_bytes(macros=True)


def test_committed_xlsm_template_is_fresh():
    """Fails when schemas/, the template code or the pinned xlwings changed without
    `python -m apxl.template workbooks/template.xlsm` (which also writes workbooks/template.py)."""
    assert COMMITTED_XLSM.is_file(), "workbooks/template.xlsm is missing: python -m apxl.template workbooks/template.xlsm"
    assert COMMITTED_XLSM.read_bytes() == template_bytes(macros=True), \
        "workbooks/template.xlsm is stale: rebuild it with python -m apxl.template workbooks/template.xlsm"
    assert COMMITTED_MODULE.read_text(encoding="utf-8") == module_text("template"), \
        "workbooks/template.py is stale: rebuild with python -m apxl.template workbooks/template.xlsm"


def test_committed_module_imports_the_real_entry_points():
    """workbooks/template.py against the real apxl.excel: the names SampleCall's main() relies on exist."""
    import importlib.util

    import apxl.excel

    spec = importlib.util.spec_from_file_location("apxl_committed_template_module", COMMITTED_MODULE)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    assert loaded.check_caller is apxl.excel.check_caller and loaded.clear_caller is apxl.excel.clear_caller
    assert callable(loaded.main) and callable(loaded.clear)


def test_libreoffice_reads_the_buttons_and_finds_sample_call(tmp):
    """An independent reader: LibreOffice (which `.ci/run` installs; the test fails, never skips, without it)
    converts the .xlsm to .ods. Both buttons come through as form buttons, and Check tracker is bound to
    Module1.SampleCall, which LibreOffice found in the VBA project; Clear checks has no macro to bind to yet.
    This is not Excel: it says nothing about Excel's repair check or RunPython."""
    import re
    import shutil
    import subprocess
    import zipfile

    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is needed: apt-get install -y libreoffice-calc"
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp / 'profile'}", "--headless", "--convert-to", "ods",
                    "--outdir", str(tmp), str(COMMITTED_XLSM)], check=True, capture_output=True, timeout=180)
    with zipfile.ZipFile(tmp / "template.ods") as zf:
        content = zf.read("content.xml").decode("utf-8")
    labels = re.findall(r'<form:button [^>]*form:label="([^"]*)"', content)
    assert labels == ["Check tracker", "Clear checks"]
    macros = re.findall(r'xlink:href="vnd\.sun\.star\.script:([^?"]*)', content)
    assert macros == ["VBAProject.Module1.SampleCall"]
