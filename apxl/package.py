"""A cheap look inside an .xlsx/.xlsm package for what python-calamine does not expose.

calamine gives values but not formulas, and reads error cells (#N/A, #REF! ...) as blank. This
module finds, per worksheet part, the formula cells that carry no saved value (WB004) and the error
cells with their error text, and reads the workbook's defined names (the template version). It
never parses a whole sheet into a tree: it scans the raw XML for the few elements it needs.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from html import unescape

_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_CELL_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\b")
_CELL_CLOSE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c>")
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v>([^<]*)</")
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_ERROR_CELL = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*\bt="e"[^>]*>')
_SHEET = re.compile(r"<(?:\w+:)?sheet\b([^>]*)/?>")
_ATTR = re.compile(r'([\w:]+)="([^"]*)"')
_REL = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)/?>")
_DEFINED = re.compile(r"<(?:\w+:)?definedName\b([^>]*)>([^<]*)</", re.S)

# Parts larger than this are not scanned for formulas (issue: keep the look cheap and bounded).
MAX_PART_BYTES = 512 * 1024 * 1024


@dataclass
class SheetPeek:
    formula_gaps: list[tuple[int, int]] = field(default_factory=list)   # 0-based (row, col)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)    # 0-based (row, col) -> "#N/A"


@dataclass
class PackagePeek:
    sheet_parts: dict[str, str] = field(default_factory=dict)           # sheet name -> part path
    defined_names: dict[str, str] = field(default_factory=dict)
    has_tables: bool = False


def col_index(letters: bytes | str) -> int:
    n = 0
    for ch in letters if isinstance(letters, str) else letters.decode():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _attrs(text: str) -> dict[str, str]:
    return {k.split(":")[-1] if k.startswith("r:") or ":" in k else k: unescape(v) for k, v in _ATTR.findall(text)}


def read_package(zf: zipfile.ZipFile) -> PackagePeek:
    peek = PackagePeek()
    names = {n.lower(): n for n in zf.namelist()}
    peek.has_tables = any(n.startswith("xl/tables/") for n in names)
    wb_part = names.get("xl/workbook.xml")
    if wb_part is None:
        return peek
    wb_xml = zf.read(wb_part).decode("utf-8", "replace")
    rels_part = names.get("xl/_rels/workbook.xml.rels")
    targets: dict[str, str] = {}
    if rels_part:
        for raw in _REL.findall(zf.read(rels_part).decode("utf-8", "replace")):
            a = _attrs(raw)
            target = a.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[a.get("Id", "")] = names.get(path.lower(), path)
    for raw in _SHEET.findall(wb_xml):
        a = _attrs(raw)
        rid = next((v for k, v in _ATTR.findall(raw) if k.endswith(":id")), None)
        if "name" in a and rid in targets:
            peek.sheet_parts[a["name"]] = targets[rid]
    for raw_attrs, text in _DEFINED.findall(wb_xml):
        a = _attrs(raw_attrs)
        if "name" in a:
            peek.defined_names[a["name"]] = unescape(text).strip()
    return peek


def scan_sheet(data: bytes) -> SheetPeek:
    """Formula cells without a saved value, and error cells, in one worksheet part's XML."""
    out = SheetPeek()
    if len(data) > MAX_PART_BYTES:
        return out
    root = re.search(rb"<([A-Za-z_][\w.-]*:)?worksheet\b", data[:4096])
    tag = b"<" + (root.group(1) if root and root.group(1) else b"") + b"f"
    if tag in data and _FORMULA.search(data):
        for m in _FORMULA.finditer(data):
            open_at = data.rfind(b"<", 0, m.start())
            head_end = data.find(b">", open_at)
            head = data[open_at:head_end]
            ref = _REF.search(head)
            if ref is None or not _CELL_OPEN.match(head):
                continue  # an <f> outside a cell
            close = _CELL_CLOSE.search(data, m.end())
            body = data[m.end(): close.start() if close else len(data)]
            value = _VALUE.search(body)
            t = _TYPE.search(head)
            has_value = value is not None and (value.group(1) != b"" or (t is not None and t.group(1) == b"str"))
            if not has_value:
                out.formula_gaps.append((int(ref.group(2)) - 1, col_index(ref.group(1))))
    if b't="e"' in data:
        for m in _ERROR_CELL.finditer(data):
            ref = _REF.search(m.group(0))
            value = _VALUE.search(data, m.end(), m.end() + 4096)
            if ref and value:
                out.errors[(int(ref.group(2)) - 1, col_index(ref.group(1)))] = value.group(1).decode("utf-8", "replace")
    return out
