"""A cheap look inside an .xlsx/.xlsm package for what python-calamine does not expose.

calamine gives values but not formulas, and reads error cells (#N/A, #REF! ...) as blank. This
module finds, per worksheet part, the formula cells that carry no saved value (WB004) and the error
cells with their error text, and reads the workbook's defined names (the template version). It
never parses a whole sheet into a tree: it scans the raw XML for the few elements it needs.

It also measures what python-calamine is about to build, so apxl.limits can refuse it first: the used
range of the cells holding a value (calamine allocates rows x columns densely) and the shared-string
cells (each gets its own copy of the string). No XML part with a DTD is scanned: entities are never
expanded (apxl.limits refuses the package before this module sees it; the check here is the backstop).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
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
    rows: int = 0              # used range of the cells holding a value: an upper bound on calamine's height
    cols: int = 0              # ... and on its width
    shared_cells: int = 0      # cells of type "s" (shared string), an upper bound


@dataclass
class PackagePeek:
    sheet_parts: dict[str, str] = field(default_factory=dict)           # sheet name -> part path
    defined_names: dict[str, str] = field(default_factory=dict)
    has_tables: bool = False
    shared_strings: str | None = None                                   # the shared-strings part, if any


class UnsafeXml(ValueError):
    """An XML part declares a DTD or entities: apxl never parses it (no entity is ever expanded)."""


def _refuse_dtd(data: bytes, part: str) -> None:
    from .limits import has_dtd, xml_prolog

    head = data[:4096]          # a DTD can only come before the root element, which is usually near the start
    if xml_prolog(head) is None:
        head = data[:65536]
    if b"<!" in head and has_dtd(head):
        raise UnsafeXml(f"{part} declares an XML DTD or entities")


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
    wb_data = zf.read(wb_part)
    _refuse_dtd(wb_data, wb_part)
    wb_xml = wb_data.decode("utf-8", "replace")
    rels_part = names.get("xl/_rels/workbook.xml.rels")
    targets: dict[str, str] = {}
    if rels_part:
        rels_data = zf.read(rels_part)
        _refuse_dtd(rels_data, rels_part)
        for raw in _REL.findall(rels_data.decode("utf-8", "replace")):
            a = _attrs(raw)
            target = a.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[a.get("Id", "")] = names.get(path.lower(), path)
            if a.get("Type", "").endswith("/sharedStrings"):
                peek.shared_strings = targets[a.get("Id", "")]
    if peek.shared_strings is None and "xl/sharedstrings.xml" in names:
        peek.shared_strings = names["xl/sharedstrings.xml"]
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


def read_part(zf: zipfile.ZipFile, name: str) -> bytes:
    """A part's bytes, inflating no more than the zip directory declares (zipfile's own `read` inflates a
    lying member to the end before its CRC check fails: gigabytes from a megabyte)."""
    info = zf.getinfo(name)
    try:
        with zf.open(info) as fh:
            data = fh.read(info.file_size)      # at the declared size zipfile checks the CRC: a liar fails here
            if fh.read(1):
                raise zipfile.BadZipFile(f"{name} is longer than its zip directory says")
    except (zlib.error, EOFError) as exc:       # corrupt deflate data: the same to the reader as a bad CRC
        raise zipfile.BadZipFile(f"{name}: {exc}") from None
    return data


@lru_cache(maxsize=16)
def _literal(text: bytes) -> re.Pattern[bytes]:
    """`text in data` as a compiled pattern: re finds a literal in a sheet's XML about twice as fast as `in`
    does (whose search slows on the many "<" of XML)."""
    return re.compile(re.escape(text))


def scan_sheet(data: bytes) -> SheetPeek:
    """Formula cells without a saved value, and error cells, in one worksheet part's XML."""
    out = SheetPeek()
    if len(data) > MAX_PART_BYTES:
        return out
    _refuse_dtd(data, "the sheet")
    from .limits import cells_limit

    out.rows, out.cols = value_extent(data, cells_limit())
    out.shared_cells = data.count(b't="s"')
    root = re.search(rb"<([A-Za-z_][\w.-]*:)?worksheet\b", data[:4096])
    tag = b"<" + (root.group(1) if root and root.group(1) else b"") + b"f"
    if _literal(tag).search(data) and _FORMULA.search(data):
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
    if _literal(b't="e"').search(data):
        for m in _ERROR_CELL.finditer(data):
            ref = _REF.search(m.group(0))
            value = _VALUE.search(data, m.end(), m.end() + 4096)
            if ref and value:
                out.errors[(int(ref.group(2)) - 1, col_index(ref.group(1)))] = value.group(1).decode("utf-8", "replace")
    return out


# ------------------------------------------------------------------------------ what calamine will build

_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_ROW_NUMBER = re.compile(rb'\br="([0-9]{1,7})"')
_REF_AT = re.compile(rb'r="([A-Z]{1,3})([0-9]{1,7})"')
_ANY_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')


def _above(t: int) -> bytes:
    """A regex for a decimal number (no leading zero) greater than t."""
    s = str(t)
    alts = [b"[1-9][0-9]{%d,}" % len(s)]
    for i, ch in enumerate(s):
        if ch != "9":
            alts.append(s[:i].encode() + b"[%d-9]" % (int(ch) + 1) + (b"[0-9]{%d}" % (len(s) - i - 1)))
    return b"(?:" + b"|".join(alts) + b")"


def _holds_value(data: bytes, end: int) -> bool:
    """Whether the cell whose r="..." ends at `end` has content (calamine leaves out `<c .../>` and `<c ...></c>`)."""
    close = data.find(b">", end)
    if close < 0 or data[close - 1: close] == b"/":
        return False
    return not data[close + 1: close + 5].lstrip().startswith(b"</")


def _extent(data: bytes, matches) -> tuple[int, int]:
    rows = cols = 0
    for m in matches:
        ref = m if m.lastindex else _REF_AT.match(data, m.start())
        if ref is None:
            continue
        r, c = int(ref.group(2)), col_index(ref.group(1)) + 1
        if (r > rows or c > cols) and _holds_value(data, ref.end()):
            rows, cols = max(rows, r), max(cols, c)
    return rows, cols


def _last_row(data: bytes) -> int:
    """The number of the sheet's last row element (rows come in order); every row element counted when
    that one has no number (calamine numbers such rows one after another)."""
    at = max(data.rfind(b"<row "), data.rfind(b":row "))
    if at >= 0:
        m = _ROW_NUMBER.search(data, at, data.find(b">", at) + 1)
        if m:
            return int(m.group(1))
    return len(_ROW_TAG.findall(data)) if b"row" in data else 0


def value_extent(data: bytes, limit: int) -> tuple[int, int]:
    """(rows, columns) of the range of cells holding a value: an upper bound from one quick scan.

    Rows: the last row element's number, or further the rows of cells numbered beyond it; columns: 26
    unless a cell has a two- or three-letter column. When that bound is over `limit` cells, every cell
    reference is read to get the exact figure (a sheet formatted to row 1,048,576 holds few values).
    Cells without a reference are placed one after another by calamine and are bounded by the part size.
    """
    last = max(_last_row(data), 1)
    far = re.compile(rb'r="[A-Z](?:[A-Z]|' + _above(last) + rb'")')
    rows, cols = last, 26
    if far.search(data):
        far_rows, far_cols = _extent(data, far.finditer(data))
        rows, cols = max(rows, far_rows), max(cols, far_cols)
    if rows * cols <= limit:
        return rows, cols
    return _extent(data, _ANY_REF.finditer(data))


def shared_text(data: bytes, sizes: tuple[int, ...] | list[int]) -> int:
    """The bytes of shared-string text the sheet's "s" cells bring in (each cell gets its own copy)."""
    total = 0
    n = len(sizes)
    for m in re.finditer(rb'<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*\bt="s"[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?v>\s*([0-9]{1,10})',
                         data):
        k = int(m.group(1))
        if k < n:
            total += sizes[k]
    return total
