"""Annotated copies: apxl's marks written straight into the .xlsx/.xlsm zip package, and cleared again.

`annotate(src, out, report)` writes a copy of `src` with
- a conditional format per sheet with findings, one rule per severity, over exactly the finding cells
  (formula `"apxl"="apxl"`, always true, so apxl can recognise its own rules); the fills are dxf styles
  appended to xl/styles.xml, so the user's own cell styles are never touched;
- the Warnings sheet of workbook.md ("apxl Warnings" when the user already has a sheet called Warnings),
  marked as apxl's by the hidden defined name `_apxl_warnings`.
`clear(src, out)` removes exactly those marks. Every package part apxl does not need to change is copied
compressed-byte-for-byte; the parts it changes (sheet parts with findings, styles, workbook, its rels and
[Content_Types].xml) are edited as text, by inserting and removing apxl's own elements, so they keep
everything they held. Sheet parts are never parsed: only the text after </sheetData> is looked at.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape, unescape

from .errors import ApxlError
from .findings import Finding, Report

WARNINGS_NAME = "Warnings"
FALLBACK_NAME = "apxl Warnings"
PART = "xl/worksheets/apxlWarnings.xml"
REL_ID = "rIdApxlWarnings"
DEFINED = "_apxl_warnings"
STATE = "_apxl_state"
ALWAYS = '"apxl"="apxl"'

# error, warning, explained warning, info: (dxf fill colour, font colour)
CLASSES = ("error", "warning", "explained", "info")
_COLOURS = {"error": ("FFFFC7CE", "FF9C0006"), "warning": ("FFFFEB9C", "FF9C5700"),
            "explained": ("FFD9D9D9", "FF404040"), "info": ("FFDDEBF7", "FF1F4E78")}
_HIGHLIGHTS = "".join(f'<dxf><font><color rgb="{font}"/></font><fill><patternFill patternType="solid">'
                      f'<bgColor rgb="{fill}"/></patternFill></fill></dxf>' for fill, font in _COLOURS.values())
# the Warnings sheet's heading row: bold on a pale blue (a conditional format, like the highlights, so that
# apxl adds no cell style to the workbook)
_HEADING = '<dxf><font><b/></font><fill><patternFill patternType="solid"><bgColor rgb="FFDDEBF7"/></patternFill></fill></dxf>'
_DXFS = _HIGHLIGHTS + _HEADING
N_DXFS = len(CLASSES) + 1

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_WS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

# CT_Worksheet children that come after conditionalFormatting
_AFTER_CF = ("dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
             "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
             "drawing", "legacyDrawing", "legacyDrawingHF", "picture", "oleObjects", "controls",
             "webPublishItems", "tableParts", "extLst")
# CT_Workbook children that come after definedNames
_AFTER_DN = ("calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
             "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst")
# CT_Stylesheet children that come after dxfs
_AFTER_DXFS = ("tableStyles", "colors", "extLst")

_ATTR = re.compile(r'([\w:.-]+)\s*=\s*"([^"]*)"')
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
UNSUPPORTED = (".xls", ".xlsb", ".ods")


class AnnotateError(ApxlError):
    """The file cannot be annotated or cleared (a one-line reason)."""


@dataclass
class Result:
    """What annotate() or clear() did."""

    out: str
    sheet: str | None = None                       # the Warnings sheet's name (annotate)
    changed: list[str] = field(default_factory=list)    # parts whose text changed
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    marked_cells: int = 0
    noted: dict[str, int] = field(default_factory=dict)    # sheet -> cells given an apxl note


# ----------------------------------------------------------------------------------------------- zip


class _Package:
    """The parts of a zip package: read lazily, written back raw where unchanged."""

    def __init__(self, path: str) -> None:
        self.path = path
        low = path.lower()
        if low.endswith(UNSUPPORTED):
            raise AnnotateError(f"{path}: apxl writes marks only into .xlsx and .xlsm files; save it as .xlsx "
                                "in Excel first (the report itself works for this file)")
        from .limits import check_package

        if os.path.isfile(path):
            check_package(path)         # a bomb, a DTD or a damaged directory is refused before anything is inflated
        try:
            self.zf = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise AnnotateError(f"{path}: no such file") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise AnnotateError(f"{path}: not an .xlsx/.xlsm package ({exc})") from None
        self.infos = self.zf.infolist()
        self.by_lower = {i.filename.lower(): i.filename for i in self.infos}
        self.original: dict[str, bytes] = {}
        self.parts: dict[str, bytes] = {}      # name -> new bytes (changed or added)
        self.removed: set[str] = set()

    def name(self, part: str) -> str | None:
        """The part's name as stored (None when it is not in the package, or was taken out)."""
        name = self.by_lower.get(part.lower())
        if name is None and part in self.parts:
            name = part
        return None if name in self.removed else name

    def read(self, part: str) -> bytes:
        if part in self.parts:
            return self.parts[part]
        if part not in self.original:
            self.original[part] = self.zf.read(part)
        return self.original[part]

    def text(self, part: str) -> str:
        return self.read(part).decode("utf-8")

    def put(self, part: str, data: bytes | str) -> None:
        self.parts[part] = data.encode("utf-8") if isinstance(data, str) else data
        self.removed.discard(part)

    def remove(self, part: str) -> None:
        self.parts.pop(part, None)
        self.removed.add(part)

    def changes(self) -> tuple[list[str], list[str], list[str]]:
        existing = {i.filename for i in self.infos}
        changed = [n for n, d in self.parts.items() if n in existing and d != self.read_original(n)]
        added = [n for n in self.parts if n not in existing]
        removed = sorted(self.removed & existing)
        return changed, added, removed

    def read_original(self, part: str) -> bytes:
        if part not in self.original:
            self.original[part] = self.zf.read(part)
        return self.original[part]

    def write(self, out: str) -> None:
        existing = {i.filename for i in self.infos}
        stamp = self.infos[0].date_time if self.infos else (1980, 1, 1, 0, 0, 0)
        with open(self.path, "rb") as raw, zipfile.ZipFile(out, "w") as zout:
            for info in self.infos:
                name = info.filename
                if name in self.removed:
                    continue
                data = self.parts.get(name)
                if data is not None and data != self.read_original(name):
                    zi = zipfile.ZipInfo(name, info.date_time)
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = info.external_attr
                    zi.create_system = info.create_system
                    zout.writestr(zi, data, compresslevel=_level(data))
                else:
                    _copy_raw(raw, zout, info)
            for name, data in self.parts.items():
                if name not in existing:
                    zi = zipfile.ZipInfo(name, stamp)
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = 0o600 << 16
                    zout.writestr(zi, data, compresslevel=_level(data))

    def close(self) -> None:
        self.zf.close()


def _level(data: bytes) -> int:
    """zlib's fastest level for big parts (a third of the time of level 6, a few percent larger)."""
    return 1 if len(data) > (256 << 10) else 6


def _copy_raw(raw, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy one member's compressed bytes as they are (no decompression, no recompression)."""
    raw.seek(info.header_offset)
    head = raw.read(30)
    if head[:4] != b"PK\x03\x04":
        raise AnnotateError(f"{info.filename}: damaged zip entry")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    raw.seek(info.header_offset + 30 + name_len + extra_len)
    data = raw.read(info.compress_size)
    zi = zipfile.ZipInfo(info.filename, info.date_time)
    zi.compress_type = info.compress_type
    zi.comment = info.comment
    strip = getattr(zipfile, "_strip_extra", None)      # the zip64 record is written afresh by FileHeader
    zi.extra = strip(info.extra, (1,)) if strip else info.extra
    zi.create_system = info.create_system
    zi.create_version = info.create_version
    zi.extract_version = info.extract_version
    zi.flag_bits = info.flag_bits & ~0x08        # sizes go in the local header: no data descriptor
    zi.volume = info.volume
    zi.internal_attr = info.internal_attr
    zi.external_attr = info.external_attr
    zi.CRC = info.CRC
    zi.compress_size = info.compress_size
    zi.file_size = info.file_size
    zip64 = info.file_size > zipfile.ZIP64_LIMIT or info.compress_size > zipfile.ZIP64_LIMIT
    fp = zout.fp
    fp.seek(zout.start_dir)
    zi.header_offset = fp.tell()
    fp.write(zi.FileHeader(zip64))
    fp.write(data)
    zout.start_dir = fp.tell()
    zout.filelist.append(zi)
    zout.NameToInfo[zi.filename] = zi
    zout._didModify = True


# ------------------------------------------------------------------------------------------ workbook


@dataclass
class _Sheet:
    name: str
    rid: str
    part: str | None
    element: str          # the <sheet .../> text in workbook.xml
    kind: str = "worksheet"   # worksheet, chartsheet, dialogsheet ...


def _attrs(text: str) -> dict[str, str]:
    return {k: unescape(v) for k, v in _ATTR.findall(text)}


def _prefix(xml: str, root: str) -> str:
    m = re.search(r"<(?:([A-Za-z_][\w.-]*):)?" + root + r"\b", xml)
    return (m.group(1) + ":") if m and m.group(1) else ""


class _Book:
    def __init__(self, pkg: _Package) -> None:
        self.pkg = pkg
        self.wb_part = pkg.name("xl/workbook.xml")
        self.rels_part = pkg.name("xl/_rels/workbook.xml.rels")
        self.ct_part = pkg.name("[Content_Types].xml")
        if not (self.wb_part and self.rels_part and self.ct_part):
            raise AnnotateError(f"{pkg.path}: not a spreadsheet package (no xl/workbook.xml)")

    def sheets(self) -> list[_Sheet]:
        wb = self.pkg.text(self.wb_part)
        targets: dict[str, str] = {}
        kinds: dict[str, str] = {}
        for raw in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", self.pkg.text(self.rels_part)):
            a = _attrs(raw)
            t = a.get("Target", "")
            path = t.lstrip("/") if t.startswith("/") else os.path.normpath(os.path.join("xl", t)).replace("\\", "/")
            targets[a.get("Id", "")] = self.pkg.name(path) or path
            kinds[a.get("Id", "")] = a.get("Type", "").rsplit("/", 1)[-1]
        out = []
        for m in re.finditer(r"<(?:\w+:)?sheet\b[^>]*?/>|<(?:\w+:)?sheet\b[^>]*>.*?</(?:\w+:)?sheet>", wb, re.S):
            raw = m.group(0)
            a = dict(_ATTR.findall(raw[: raw.find(">") + 1]))
            rid = next((v for k, v in a.items() if k.endswith(":id")), "")
            out.append(_Sheet(unescape(a.get("name", "")), rid, targets.get(rid), raw, kinds.get(rid, "")))
        return out

    def defined(self, name: str) -> re.Match | None:
        wb = self.pkg.text(self.wb_part)
        return re.search(r'<(?:\w+:)?definedName\b[^>]*\bname="' + re.escape(name) + r'"[^>]*>([^<]*)</(?:\w+:)?definedName>',
                         wb)


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _sheet_from_ref(ref: str) -> str:
    ref = unescape(ref).strip()
    if ref.startswith("'"):
        end = ref.rfind("'!")
        return ref[1:end].replace("''", "'") if end > 0 else ""
    return ref.split("!")[0]


# ----------------------------------------------------------------------------------------- clearing


_CF_BLOCK = re.compile(r"<(?:\w+:)?conditionalFormatting\b[^>]*>(?:(?!</(?:\w+:)?conditionalFormatting>).)*?"
                       r"<(?:\w+:)?formula>(?:\"apxl\"=\"apxl\"|&quot;apxl&quot;=&quot;apxl&quot;)</(?:\w+:)?formula>"
                       r"(?:(?!</(?:\w+:)?conditionalFormatting>).)*?</(?:\w+:)?conditionalFormatting>", re.S)
_CF_MARK = b'apxl"="apxl"'
_CF_MARK2 = b"apxl&quot;=&quot;apxl"


def _tail_start(data: bytes) -> int:
    """Where the text after the sheet's cells begins (after </sheetData> or <sheetData/>)."""
    end = data.rfind(b"sheetData>")
    if end < 0:
        m = re.search(rb"<(?:\w+:)?sheetData\s*/>", data)
        return m.end() if m else 0
    return end + len(b"sheetData>")


def _strip_cf(data: bytes) -> bytes:
    at = _tail_start(data)
    tail = data[at:]
    if _CF_MARK not in tail and _CF_MARK2 not in tail:
        return data
    text = tail.decode("utf-8")
    return data[:at] + _CF_BLOCK.sub("", text).encode("utf-8")


def _clear(pkg: _Package, book: _Book, result: Result) -> None:
    """Remove apxl's marks from the package in memory."""
    wb = pkg.text(book.wb_part)
    if "_apxl_" not in wb:
        return
    owned = book.defined(DEFINED)
    sheets = book.sheets()
    if owned is not None:
        name = _sheet_from_ref(owned.group(1))
        sheet = next((s for s in sheets if s.name == name), None)
        # the hidden name marks the sheet as apxl's, even after Excel has saved it under another part name
        if sheet is not None and sheet.part and pkg.name(sheet.part) and sheet.kind == "worksheet":
            wb = wb.replace(sheet.element, "", 1)
            rels = pkg.text(book.rels_part)
            rels = re.sub(r'<(?:\w+:)?Relationship\b[^>]*\bId="' + re.escape(sheet.rid) + r'"[^>]*/>', "", rels, count=1)
            pkg.put(book.rels_part, rels)
            ct = pkg.text(book.ct_part)
            ct = re.sub(r'<(?:\w+:)?Override\b[^>]*PartName="/' + re.escape(sheet.part) + r'"[^>]*/>', "", ct, count=1)
            pkg.put(book.ct_part, ct)
            pkg.remove(pkg.name(sheet.part) or sheet.part)
            if pkg.name(_rels_part(sheet.part)):
                pkg.remove(pkg.name(_rels_part(sheet.part)))
            sheets = [s for s in sheets if s is not sheet]
    state = book.defined(STATE)
    state_text = unescape(state.group(1)).strip().strip('"').replace('""', '"') if state else ""
    wb = re.sub(r'<(?:\w+:)?definedName\b[^>]*\bname="_apxl_[a-z]+"[^>]*>[^<]*</(?:\w+:)?definedName>', "", wb)
    state_text, _, names_form = state_text.partition("|names=")
    wb = re.sub(r"<(\w+:)?definedNames>\s*</(\w+:)?definedNames>", names_form.replace("\\", "\\\\"), wb)
    pkg.put(book.wb_part, wb)
    if state_text:
        _clear_dxfs(pkg, state_text)
    for s in sheets:
        if s.part and pkg.name(s.part):
            data = pkg.read(s.part)
            stripped = _strip_notes(pkg, book, pkg.name(s.part), _strip_cf(data))
            if stripped is not data:
                pkg.put(s.part, stripped)
    _clear_note_parts(pkg, book)
    _strip_merged_notes(pkg)


def _clear_dxfs(pkg: _Package, state: str) -> None:
    part = pkg.name("xl/styles.xml")
    if part is None:
        return
    form, _, original = state.partition(":")
    styles = pkg.text(part)
    m = re.search(r"<(\w+:)?dxfs\b([^>]*)>(.*?)</(?:\w+:)?dxfs>", styles, re.S)
    if m is None:
        return
    p = m.group(1) or ""
    body = m.group(3)
    for mine in (_DXFS, _HIGHLIGHTS):         # a copy marked before the Warnings heading had its own format
        ours = mine.replace("<", "<" + p).replace("<" + p + "/", "</" + p) if p else mine
        if body.endswith(ours):
            break
    else:
        return              # someone added dxfs after apxl's: leave them (the CF that used them is gone)
    added = N_DXFS if mine is _DXFS else len(CLASSES)
    body = body[: -len(ours)]
    if form == "absent":
        new = ""
    elif form == "empty":
        new = original
    else:
        count = re.search(r'\bcount="(\d+)"', m.group(2))
        attrs = m.group(2)
        if count:
            attrs = attrs.replace(count.group(0), f'count="{max(int(count.group(1)) - added, 0)}"', 1)
        new = f"<{p}dxfs{attrs}>{body}</{p}dxfs>"
    pkg.put(part, styles[: m.start()] + new + styles[m.end():])


# ---------------------------------------------------------------------------------------- marking


def _klass(f: Finding) -> str:
    if f.severity == "warning" and f.explained:
        return "explained"
    return f.severity if f.severity in CLASSES else "info"


def _insert_before(xml: str, start: int, names: tuple[str, ...], prefix: str, close_tag: str, text: str) -> str:
    """Insert `text` before the first of `names` (a top-level child) found after `start`, else before `close_tag`."""
    pattern = re.compile(r"<" + re.escape(prefix) + r"(?:" + "|".join(names) + r")[\s/>]")
    m = pattern.search(xml, start)
    at = m.start() if m else xml.rfind(close_tag)
    if at < 0:
        raise AnnotateError(f"cannot find where to write ({close_tag} missing)")
    return xml[:at] + text + xml[at:]


def _add_dxfs(pkg: _Package) -> tuple[int, str]:
    """Append apxl's dxfs; return the first one's id and the state needed to take them out again."""
    part = pkg.name("xl/styles.xml")
    if part is None:
        raise AnnotateError(f"{pkg.path}: the package has no styles part, so apxl cannot add its highlights")
    styles = pkg.text(part)
    p = _prefix(styles, "styleSheet")
    ours = _DXFS.replace("<", "<" + p).replace("<" + p + "/", "</" + p) if p else _DXFS
    m = re.search(r"<" + re.escape(p) + r"dxfs\b([^>]*)>(.*?)</" + re.escape(p) + r"dxfs>", styles, re.S)
    if m:
        first = len(re.findall(r"<" + re.escape(p) + r"dxf[\s>]", m.group(2)))
        attrs = m.group(1)
        count = re.search(r'\bcount="(\d+)"', attrs)
        if count:
            attrs = attrs.replace(count.group(0), f'count="{int(count.group(1)) + N_DXFS}"', 1)
        styles = styles[: m.start()] + f"<{p}dxfs{attrs}>{m.group(2)}{ours}</{p}dxfs>" + styles[m.end():]
        state = "open"
    else:
        m = re.search(r"<" + re.escape(p) + r"dxfs\b[^>]*/>", styles)
        new = f'<{p}dxfs count="{N_DXFS}">{ours}</{p}dxfs>'
        first = 0
        if m:
            state = "empty:" + m.group(0)
            styles = styles[: m.start()] + new + styles[m.end():]
        else:
            state = "absent"
            cell_styles = styles.find("cellStyles")
            styles = _insert_before(styles, max(cell_styles, 0), _AFTER_DXFS, p, f"</{p}styleSheet>", new)
    pkg.put(part, styles)
    return first, state


def _add_cf(data: bytes, klass_cells: dict[str, list[str]], first_dxf: int) -> bytes:
    at = _tail_start(data)
    tail = data[at:].decode("utf-8")
    head = data[:4096].decode("utf-8", "replace")
    p = _prefix(head, "worksheet")
    priorities = [int(x) for x in re.findall(r'\bpriority="(\d+)"', tail)]
    priority = max(priorities, default=0)
    blocks = []
    for i, klass in enumerate(CLASSES):
        cells = klass_cells.get(klass)
        if not cells:
            continue
        priority += 1
        blocks.append(f'<{p}conditionalFormatting sqref="{" ".join(cells)}"><{p}cfRule type="expression" '
                      f'dxfId="{first_dxf + i}" priority="{priority}"><{p}formula>{ALWAYS}</{p}formula>'
                      f"</{p}cfRule></{p}conditionalFormatting>")
    if not blocks:
        return data
    start = 0
    views = re.search(r"</" + re.escape(p) + r"customSheetViews>", tail)
    if views:
        start = views.end()
    tail = _insert_before(tail, start, _AFTER_CF, p, f"</{p}worksheet>", "".join(blocks))
    return data[:at] + tail.encode("utf-8")


def _cell_key(cell: str) -> tuple[int, int]:
    m = _CELL.match(cell)
    if not m:
        return (0, 0)
    n = 0
    for ch in m.group(1):
        n = n * 26 + ord(ch) - 64
    return (int(m.group(2)), n)


_NEEDS = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _esc(value) -> str:
    """Cell text as XML character data (characters XML cannot hold are dropped)."""
    text = "" if value is None else str(value)[:32767]      # Excel's most characters in a cell
    if _NEEDS.search(text) is None:
        return text
    return escape(_BAD_XML.sub("", text), quote=False)


_esc_cached = lru_cache(maxsize=4096)(_esc)


def _inline(ref: str, value) -> str:
    text = _esc(value)
    if text == "":
        return ""
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


_LABEL = {"error": "Error", "warning": "Warning", "explained": "Warning (explained)", "info": "Info"}
_HEADERS = ("Severity", "Rule", "Record", "Message", "Sheet", "Cell", "Field", "Value")
_WIDTHS = (18, 8, 14, 90, 14, 8, 26, 24)


def warnings_xml(report: Report, sheet_names: set[str], checked: str, strict: bool = False,
                 heading_dxf: int | None = None) -> str:
    """The Warnings sheet's worksheet part: a summary line, a header row, one row per finding."""
    s = report.summary
    summary = (f"apxl: {s['error']} errors, {s['warning']} warnings, {s['explained']} explained warnings, "
               f"{s['info']} info; as at {report.as_of}; policy {report.policy}; checked {checked}")
    rows = [f'<row r="1">{_inline("A1", summary)}</row>',
            '<row r="2">' + "".join(_inline(f"{chr(65 + i)}2", h) for i, h in enumerate(_HEADERS)) + "</row>"]
    links = []
    ordered = sorted(report.findings, key=Finding.sort_key)
    cached = _esc_cached
    for n, f in enumerate(ordered, start=3):
        values = (_LABEL[_klass(f)], cached(f.rule), _esc(f.record), _esc(f.message), cached(f.sheet),
                  cached(f.cell), cached(f.column), _esc(f.value))
        row = [f'<row r="{n}">']
        for letter, text in zip("ABCDEFGH", values):
            if text:
                row.append(f'<c r="{letter}{n}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
        row.append("</row>")
        rows.append("".join(row))
        if f.cell and f.sheet in sheet_names and _CELL.match(f.cell):
            loc = escape(f"{_quote_sheet(f.sheet)}!{f.cell}")
            links.append(f'<hyperlink ref="F{n}" location="{loc}" display="{values[5]}"/>')
    cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(_WIDTHS))
    last = 2 + len(ordered)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_STRICT_MAIN if strict else _NS_MAIN}" xmlns:r="{_STRICT_REL if strict else _NS_REL}">'
            f'<dimension ref="A1:H{last}"/>'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="2" topLeftCell="A3" activePane="bottomLeft" '
            'state="frozen"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            f"<cols>{cols}</cols>"
            f"<sheetData>{''.join(rows)}</sheetData>"
            + (f'<autoFilter ref="A2:H{last}"/>' if ordered else "")
            + (f'<conditionalFormatting sqref="A2:H2"><cfRule type="expression" dxfId="{heading_dxf}" priority="1">'
               f"<formula>{ALWAYS}</formula></cfRule></conditionalFormatting>" if heading_dxf is not None else "")
            + (f"<hyperlinks>{''.join(links)}</hyperlinks>" if links else "")
            + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            "</worksheet>")


def _add_warnings(pkg: _Package, book: _Book, report: Report, checked: str, state: str,
                  heading_dxf: int | None = None) -> str:
    sheets = book.sheets()
    names = {s.name for s in sheets}
    worksheets = {s.name for s in sheets if s.kind == "worksheet"}
    lower = {n.lower() for n in names}
    title = WARNINGS_NAME if WARNINGS_NAME.lower() not in lower else FALLBACK_NAME
    k = 2
    while title.lower() in lower:
        title = f"{FALLBACK_NAME} {k}"
        k += 1
    if pkg.name(PART) and pkg.name(PART) not in pkg.removed:
        raise AnnotateError(f"{pkg.path}: already holds a part named {PART} that apxl did not make")
    strict = _STRICT_MAIN in pkg.text(book.wb_part)[:4096]
    ns_rel = _STRICT_REL if strict else _NS_REL
    pkg.put(PART, warnings_xml(report, worksheets, checked, strict, heading_dxf))

    ct = pkg.text(book.ct_part)
    p = _prefix(ct, "Types")
    ct = ct.replace(f"</{p}Types>", f'<{p}Override PartName="/{PART}" ContentType="{_WS_CT}"/></{p}Types>', 1)
    pkg.put(book.ct_part, ct)

    rels = pkg.text(book.rels_part)
    p = _prefix(rels, "Relationships")
    rid = REL_ID
    while f'Id="{rid}"' in rels:
        rid += "x"
    rels = rels.replace(f"</{p}Relationships>",
                        f'<{p}Relationship Id="{rid}" Type="{ns_rel + "/worksheet" if strict else _WS_TYPE}" Target="worksheets/{PART.rsplit("/", 1)[1]}"/>'
                        f"</{p}Relationships>", 1)
    pkg.put(book.rels_part, rels)

    wb = pkg.text(book.wb_part)
    p = _prefix(wb, "workbook")
    ids = [int(x) for x in re.findall(r'<(?:\w+:)?sheet\b[^>]*\bsheetId="(\d+)"', wb)]
    rel_prefix = re.search(r'xmlns:(\w+)="' + re.escape(ns_rel) + '"', wb[: wb.find(">", wb.find("workbook")) + 1])
    rattr = f'{rel_prefix.group(1)}:id="{rid}"' if rel_prefix else f'xmlns:apxlr="{ns_rel}" apxlr:id="{rid}"'
    element = f'<{p}sheet name="{escape(title)}" sheetId="{max(ids, default=0) + 1}" {rattr}/>'
    close = wb.find(f"</{p}sheets>")
    if close < 0:
        raise AnnotateError(f"{pkg.path}: the workbook part lists no sheets")
    wb = wb[:close] + element + wb[close:]
    empty = re.search(r"<" + re.escape(p) + r"definedNames\s*/>", wb)
    if empty:
        state += "|names=" + empty.group(0)
    names_xml = (f'<{p}definedName name="{DEFINED}" hidden="1">{escape(_quote_sheet(title), quote=False)}!$A$1</{p}definedName>'
                 f'<{p}definedName name="{STATE}" hidden="1">{escape(chr(34) + state.replace(chr(34), 2 * chr(34)) + chr(34), quote=False)}'
                 f"</{p}definedName>")
    close = wb.find(f"</{p}definedNames>")
    if empty:
        wb = wb[: empty.start()] + f"<{p}definedNames>{names_xml}</{p}definedNames>" + wb[empty.end():]
    elif close >= 0:
        wb = wb[:close] + names_xml + wb[close:]
    else:
        start = wb.find(f"</{p}sheets>")
        # definedNames goes after sheets, functionGroups and externalReferences, before the first _AFTER_DN child
        after = max(start, wb.rfind(f"</{p}externalReferences>"), wb.rfind(f"</{p}functionGroups>"))
        wb = _insert_before(wb, after, _AFTER_DN, p, f"</{p}workbook>", f"<{p}definedNames>{names_xml}</{p}definedNames>")
    pkg.put(book.wb_part, wb)
    return title


# -------------------------------------------------------------------------------------------- notes

NOTES_REL = "rIdApxlNotes"
VML_REL = "rIdApxlVml"
_NOTES_DIR = "xl/comments/apxlNotes"
_VML_DIR = "xl/drawings/apxlNotes"
_COMMENTS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_VML_CT = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_EMPTY_RELS = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_REL_NS}"></Relationships>'
_AFTER_LEGACY = ("legacyDrawingHF", "picture", "oleObjects", "controls", "webPublishItems", "tableParts", "extLst")
_LEGACY = re.compile(r'<(?:\w+:)?legacyDrawing\b[^>]*"' + VML_REL + r'"[^>]*/>')


def _rels_part(sheet_part: str) -> str:
    folder, base = sheet_part.rsplit("/", 1)
    return f"{folder}/_rels/{base}.rels"


def _strip_notes(pkg: _Package, book: _Book, part: str, data: bytes) -> bytes:
    """Take apxl's notes off one sheet: its legacyDrawing, relationships and (elsewhere) parts."""
    at = _tail_start(data)
    if VML_REL.encode() not in data[at:]:
        return data
    data = data[:at] + _LEGACY.sub("", data[at:].decode("utf-8")).encode("utf-8")
    rels_name = pkg.name(_rels_part(part))
    if rels_name:
        rels = re.sub(r'<(?:\w+:)?Relationship\b[^>]*\bId="(?:' + NOTES_REL + "|" + VML_REL + r')"[^>]*/>', "",
                      pkg.text(rels_name))
        if rels == _EMPTY_RELS:
            pkg.remove(rels_name)
        else:
            pkg.put(rels_name, rels)
    return data


def _clear_note_parts(pkg: _Package, book: _Book) -> None:
    ours = [i.filename for i in pkg.infos if i.filename.startswith((_NOTES_DIR, _VML_DIR))]
    if not ours:
        return
    ct = pkg.text(book.ct_part)
    for name in ours:
        pkg.remove(name)
        ct = re.sub(r'<(?:\w+:)?Override\b[^>]*PartName="/' + re.escape(name) + r'"[^>]*/>', "", ct, count=1)
    pkg.put(book.ct_part, ct)


def _shape(sid: int, row: int, col: int, z: int, alt: str = "") -> str:
    return (f'<v:shape id="_x0000_s{sid}" type="#_x0000_t202"{alt} style="position:absolute;margin-left:59.25pt;'
            f'margin-top:1.5pt;width:216pt;height:90pt;z-index:{z};visibility:hidden" fillcolor="#ffffe1" '
            'o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left">'
            '</div></v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{col + 1}, 15, {max(row - 1, 0)}, 10, {col + 4}, 15, {row + 5}, 4</x:Anchor>"
            f"<x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>")


def _vml(cells: list[tuple[int, int]], data_id: int) -> str:
    blocks = len(cells) // 1024 + 1
    idmap = ",".join(str(data_id + k) for k in range(blocks))
    shapes = [_shape(data_id * 1024 + n, row, col, n) for n, (row, col) in enumerate(cells, start=1)]
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{idmap}"/></o:shapelayout>'
            '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
            '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
            + "".join(shapes) + "</xml>")


def _comment_items(notes: dict[str, list[Finding]], author: int = 0) -> str:
    items = []
    for cell, found in notes.items():
        body = "\n".join(f"{f.rule}: {f.message}" for f in found)
        items.append(f'<comment ref="{cell}" authorId="{author}"><text>'
                     '<r><rPr><b/><sz val="9"/><rFont val="Tahoma"/></rPr><t xml:space="preserve">apxl:</t></r>'
                     '<r><rPr><sz val="9"/><rFont val="Tahoma"/></rPr>'
                     f'<t xml:space="preserve">\n{_esc(body)}</t></r></text></comment>')
    return "".join(items)


_APXL_ALT = ' alt="apxl"'
_APXL_AUTHOR = "<author>apxl</author>"


def _target(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return os.path.normpath(os.path.join(folder, target)).replace("\\", "/")


def _merge_notes(pkg: _Package, part: str, rels: str, tail: str, notes: dict[str, list[Finding]]) -> int:
    """Add apxl's notes to a sheet's own notes parts, leaving every cell that has a note of its own alone.

    Returns how many cells got a note (0 when the parts are not in the shape apxl knows how to extend).
    """
    legacy = re.search(r'<(?:\w+:)?legacyDrawing\b[^>]*?:id="([^"]+)"', tail)
    by_id = {a.get("Id"): a for a in (_attrs(r) for r in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels))}
    comments_rel = next((a for a in by_id.values() if a.get("Type", "").endswith("/comments")), None)
    if legacy is None or comments_rel is None or legacy.group(1) not in by_id:
        return 0
    folder = part.rsplit("/", 1)[0]
    cpart = pkg.name(_target(folder, comments_rel.get("Target", "")))
    vpart = pkg.name(_target(folder, by_id[legacy.group(1)].get("Target", "")))
    if cpart is None or vpart is None:
        return 0
    comments, vml = pkg.text(cpart), pkg.read(vpart).decode("utf-8", "replace")
    if not comments.startswith("<") and not comments.startswith("\ufeff<") and "<?xml" not in comments[:10]:
        return 0
    if "</authors>" not in comments or "</commentList>" not in comments or _APXL_AUTHOR in comments \
            or "</xml>" not in vml or 'id="_x0000_t202"' not in vml or _APXL_ALT in vml:
        return 0
    taken = set(re.findall(r'<comment\b[^>]*\bref="([^"]+)"', comments))
    todo = {c: fs for c, fs in notes.items() if c not in taken}
    if not todo:
        return 0
    idmap = re.search(r'idmap\b[^>]*\bdata="([\d,\s]+)"', vml)
    if idmap is None:
        return 0
    used = {int(x) for x in re.findall(r'_x0000_s(\d+)', vml)}
    free = [b * 1024 + n for b in (int(x) for x in re.findall(r"\d+", idmap.group(1))) for n in range(1, 1024)
            if b * 1024 + n not in used]
    if len(free) < len(todo):
        return 0
    author = len(re.findall(r"<author\b", comments[: comments.index("</authors>")]))
    at = comments.index("</authors>")
    comments = comments[:at] + _APXL_AUTHOR + comments[at:]
    at = comments.rindex("</commentList>")
    comments = comments[:at] + _comment_items(todo, author) + comments[at:]
    shapes = "".join(_shape(free[n], k[0] - 1, k[1] - 1, 1000 + n, _APXL_ALT)
                     for n, k in enumerate(map(_cell_key, todo)))
    at = vml.rindex("</xml>")
    pkg.put(cpart, comments)
    pkg.put(vpart, vml[:at] + shapes + vml[at:])
    return len(todo)


def _strip_merged_notes(pkg: _Package) -> None:
    """Take apxl's notes out of the user's own notes parts (added there by _merge_notes)."""
    for info in pkg.infos:
        name = info.filename
        if name in pkg.removed or name.startswith((_NOTES_DIR, _VML_DIR)):
            continue
        low = name.lower()
        if low.endswith(".vml"):
            data = pkg.read(name)
            if _APXL_ALT.encode() in data:
                text = data.decode("utf-8", "replace")
                pkg.put(name, re.sub(r'<v:shape [^>]*' + _APXL_ALT + r'[^>]*>.*?</v:shape>', "", text, flags=re.S))
        elif "comments" in low and low.endswith(".xml"):
            data = pkg.read(name)
            if _APXL_AUTHOR.encode() + b"</authors>" in data:
                text = data.decode("utf-8")
                author = len(re.findall(r"<author\b", text[: text.index(_APXL_AUTHOR)]))
                text = text.replace(_APXL_AUTHOR + "</authors>", "</authors>", 1)
                text = re.sub(r'<comment\b[^>]*\bauthorId="' + str(author) + r'"[^>]*>.*?</comment>', "", text,
                              flags=re.S)
                pkg.put(name, text)


def _comments(notes: dict[str, list[Finding]], strict: bool) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<comments xmlns="{_STRICT_MAIN if strict else _NS_MAIN}"><authors><author>apxl</author></authors>'
            f"<commentList>{_comment_items(notes)}</commentList></comments>")


def _next_idmap(pkg: _Package) -> int:
    """A VML shape-id block no other drawing in the workbook uses."""
    used = [0]
    for info in pkg.infos:
        if info.filename.lower().endswith(".vml") and info.filename not in pkg.removed:
            m = re.search(rb'idmap[^>]*data="([\d,\s]+)"', pkg.read(info.filename)[:4096])
            if m:
                used += [int(x) for x in re.findall(rb"\d+", m.group(1))]
    return max(used) + 1


def _add_notes(pkg: _Package, book: _Book, part: str, data: bytes, found: list[Finding], number: int,
               data_id: int) -> tuple[bytes, int]:
    """Notes signed apxl on the finding cells of one sheet; skipped where the sheet has notes of its own."""
    rels_name = pkg.name(_rels_part(part))
    rels = pkg.text(rels_name) if rels_name else None
    at = _tail_start(data)
    tail = data[at:].decode("utf-8")
    notes: dict[str, list[Finding]] = {}
    for f in found:
        notes.setdefault(f.cell.replace("$", ""), []).append(f)
    cells = sorted(notes, key=_cell_key)
    notes = {c: notes[c] for c in cells}
    if re.search(r"<(?:\w+:)?legacyDrawing\b", tail) or (rels and "/comments\"" in rels):
        # the sheet has notes of its own: apxl's go beside them, never on a cell that has one
        return data, _merge_notes(pkg, part, rels or "", tail, notes)
    strict = _STRICT_MAIN in data[:4096].decode("utf-8", "replace")
    comments_part = f"{_NOTES_DIR}{number}.xml"
    vml_part = f"{_VML_DIR}{number}.vml"
    pkg.put(comments_part, _comments(notes, strict))
    positions = [(k[0] - 1, k[1] - 1) for k in map(_cell_key, cells)]
    pkg.put(vml_part, _vml(positions, data_id))
    ct = pkg.text(book.ct_part)
    p = _prefix(ct, "Types")
    ct = ct.replace(f"</{p}Types>", f'<{p}Override PartName="/{comments_part}" ContentType="{_COMMENTS_CT}"/>'
                    f'<{p}Override PartName="/{vml_part}" ContentType="{_VML_CT}"/></{p}Types>', 1)
    pkg.put(book.ct_part, ct)
    ns = _STRICT_REL if strict else "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    new_rels = (f'<Relationship Id="{NOTES_REL}" Type="{ns}/comments" Target="../comments/apxlNotes{number}.xml"/>'
                f'<Relationship Id="{VML_REL}" Type="{ns}/vmlDrawing" Target="../drawings/apxlNotes{number}.vml"/>')
    if rels is None:
        rels_name = _rels_part(part)
        rels = _EMPTY_RELS
    p = _prefix(rels, "Relationships")
    if p:
        new_rels = new_rels.replace("<Relationship ", f"<{p}Relationship ")
    pkg.put(rels_name, rels.replace(f"</{p}Relationships>", new_rels + f"</{p}Relationships>", 1))
    head = data[:4096].decode("utf-8", "replace")
    wp = _prefix(head, "worksheet")
    rp = re.search(r'xmlns:(\w+)="' + re.escape(ns) + '"', head[: head.find(">", head.find("worksheet")) + 1])
    rattr = f'{rp.group(1)}:id="{VML_REL}"' if rp else f'xmlns:apxlr="{ns}" apxlr:id="{VML_REL}"'
    start = 0
    views = re.search(r"</" + re.escape(wp) + r"customSheetViews>", tail)
    if views:
        start = views.end()
    tail = _insert_before(tail, start, _AFTER_LEGACY, wp, f"</{wp}worksheet>", f"<{wp}legacyDrawing {rattr}/>")
    return data[:at] + tail.encode("utf-8"), len(cells)


# ------------------------------------------------------------------------------------------ public


def _check_paths(src: str, out: str, in_place: bool) -> None:
    if not os.path.exists(src):
        raise AnnotateError(f"{src}: no such file")
    if not in_place and os.path.exists(out) and os.path.samefile(src, out):
        raise AnnotateError(f"{out}: is the input file; give another name, or --in-place to change it (with a backup)")


def _finish(pkg: _Package, out: str, result: Result) -> Result:
    from .output import replacing

    result.changed, result.added, result.removed = pkg.changes()
    try:
        with replacing(out, os.path.splitext(out)[1] or ".xlsx") as tmp:
            pkg.write(tmp)
            pkg.close()             # the source closed before the rename: in place, it is the same file
    finally:
        pkg.close()
    return result


def annotate(src: str | os.PathLike[str], out: str | os.PathLike[str], report: Report | None = None, *,
             checked: str | None = None, in_place: bool = False, notes: bool = True) -> Result:
    """Write `out`: a copy of `src` with apxl's highlights and Warnings sheet for `report` (validated if None).

    Marks from an earlier annotation are replaced, so annotating twice gives the same file as once.
    `checked` is the time shown on the Warnings sheet (default: now, to the minute). With `notes`, each
    finding cell also gets a note signed apxl (rule and message), except on sheets with notes of their own.
    """
    src, out = os.fspath(src), os.fspath(out)
    _check_paths(src, out, in_place)
    pkg = _Package(src)
    try:
        book = _Book(pkg)
        if report is None:
            from .engine import validate

            report = validate(src)
        result = Result(out=out)
        _clear(pkg, book, result)
        sheets = {s.name: s for s in book.sheets()}
        by_sheet: dict[str, dict[str, set[str]]] = {}
        on_sheet: dict[str, list[Finding]] = {}
        for f in report.findings:
            if f.sheet in sheets and f.cell and _CELL.match(f.cell) and sheets[f.sheet].part \
                    and sheets[f.sheet].kind == "worksheet":
                by_sheet.setdefault(f.sheet, {}).setdefault(_klass(f), set()).add(f.cell.replace("$", ""))
                on_sheet.setdefault(f.sheet, []).append(f)
        data_id = _next_idmap(pkg) if notes and by_sheet else 0
        first, state, heading = 0, "", None
        if by_sheet or pkg.name("xl/styles.xml"):       # the Warnings heading's format needs a styles part too
            first, state = _add_dxfs(pkg)
            heading = first + len(CLASSES)
        for name, klasses in by_sheet.items():
            part = pkg.name(sheets[name].part)
            if part is None:
                continue
            cells = {k: sorted(v, key=_cell_key) for k, v in klasses.items()}
            result.marked_cells += len(set().union(*klasses.values()))
            data = _add_cf(pkg.read(part), cells, first)
            if notes:
                data, n = _add_notes(pkg, book, part, data, on_sheet[name], len(result.noted) + 1, data_id)
                if n:
                    result.noted[name] = n
                    data_id += n // 1024 + 1
            pkg.put(part, data)
        when = checked or dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        result.sheet = _add_warnings(pkg, book, report, when, state, heading)
    except BaseException as exc:
        raise _failed(pkg, src, "annotate", exc) from None
    return _finish(pkg, out, result)


def clear(src: str | os.PathLike[str], out: str | os.PathLike[str], *, in_place: bool = False) -> Result:
    """Write `out`: a copy of `src` without anything apxl added (highlights, Warnings sheet, names)."""
    src, out = os.fspath(src), os.fspath(out)
    _check_paths(src, out, in_place)
    pkg = _Package(src)
    try:
        book = _Book(pkg)
        result = Result(out=out)
        _clear(pkg, book, result)
    except BaseException as exc:
        raise _failed(pkg, src, "clear", exc) from None
    return _finish(pkg, out, result)


def _failed(pkg: _Package, src: str, verb: str, exc: BaseException) -> BaseException:
    """Close the package; a damaged part becomes a one-line AnnotateError, anything else goes on as it was."""
    pkg.close()
    if isinstance(exc, (UnicodeDecodeError, KeyError, zipfile.BadZipFile, zlib.error)):
        return AnnotateError(f"{src}: cannot {verb} this package ({exc.__class__.__name__}: {exc})")
    return exc


def lock_file(path: str) -> str | None:
    """Excel's owner file (~$name) beside `path`, when Excel holds the workbook open."""
    directory, base = os.path.split(os.path.abspath(path))
    for candidate in ("~$" + base, "~$" + base[2:]):
        lock = os.path.join(directory, candidate)
        if os.path.exists(lock):
            return lock
    return None
