"""Hostile and broken workbooks, generated into a folder: the abuse cases of docs/reliability.md.

    python tests/abuse.py OUT_DIR            # writes every case, prints name, size and what apxl should do

`make_all(folder)` returns {file name: Case}. Each case says what apxl must do with it: "error" (exit 2,
one line on stderr naming the file, containing `reason`) or "report" (findings, exit 0 or 1). Big
members (the zip bombs, 50,000 shared strings of 32,767 characters) are written as one compressed block
repeated, so a 1.6 GB part costs a second to make and a megabyte or two of disk.
"""

from __future__ import annotations

import shutil
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apxl.layout import col_letter  # noqa: E402

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")
NEW_ERRORS = ("#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")


@dataclass(frozen=True)
class Case:
    """What apxl must do with one abuse file."""

    expect: str                 # "error": exit 2 and one line; "report": exit 0 or 1
    reason: str = ""            # a piece of the one-line error (lower case), when expect == "error"
    what: str = ""              # the abuse, for docs/reliability.md


# ----------------------------------------------------------------------------------- package builders


def _content_types(sheets: int, shared: bool = False) -> str:
    over = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT_SHEET}"/>'
                   for i in range(1, sheets + 1))
    if shared:
        over += ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                 'officedocument.spreadsheetml.sharedStrings+xml"/>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + over + "</Types>")


def _parts(sheet_names: list[str], shared: bool = False, workbook_pr: str = "") -> dict[str, str]:
    """The parts of a minimal package around sheets named `sheet_names` (sheet XML not included)."""
    sheets = "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(sheet_names, 1))
    rels = "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, len(sheet_names) + 1))
    if shared:
        rels += f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    return {
        "[Content_Types].xml": _content_types(len(sheet_names), shared),
        "_rels/.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
                        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
                        "</Relationships>"),
        "xl/workbook.xml": (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
                            f"{workbook_pr}<sheets>{sheets}</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
                                       f"{rels}</Relationships>"),
    }


def sheet_xml(cells: str, prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}"><sheetData>{cells}'
            "</sheetData></worksheet>")


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row(sheet: str = "Placements") -> str:
    from workbooks import headers

    return '<row r="1">' + "".join(inline(f"{col_letter(i)}1", h) for i, h in enumerate(headers(sheet))) + "</row>"


def write_package(path: Path, parts: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def write_with_big_member(path: Path, parts: dict[str, str | bytes], name: str, head: bytes, block: bytes,
                          repeats: int, tail: bytes, declared_size: int | None = None) -> Path:
    """A package whose member `name` is head + block * repeats + tail, deflated without holding it.

    The block is compressed once, ending on a full flush (so it refers to nothing before it), and that
    compressed run is written `repeats` times. `declared_size` makes the zip directory lie about the
    member's uncompressed size (a bomb that claims to be small).
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    comp_block = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    last = comp.compress(tail) + comp.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc) & 0xFFFFFFFF
    size = len(head) + len(block) * repeats + len(tail)
    csize = len(first) + len(comp_block) * repeats + len(last)
    if size >= 0xFFFFFFFF or csize >= 0xFFFFFFFF:
        raise ValueError("keep big members under 4 GiB (no zip64 here)")
    shown = size if declared_size is None else declared_size
    write_package(path, parts)
    with open(path, "r+b") as fh:
        with zipfile.ZipFile(fh) as zf:
            count = len(zf.infolist()) + 1
            offset = zf.start_dir           # a zip just written: its members end where the directory starts
        fh.seek(offset)
        directory = fh.read()
        records = directory[: directory.rfind(b"PK\x05\x06")]
        fh.seek(offset)
        fh.truncate()
        encoded = name.encode()
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, csize, shown, len(encoded), 0)
        fh.write(local + encoded + first)
        for _ in range(repeats):
            fh.write(comp_block)
        fh.write(last)
        central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, csize, shown,
                              len(encoded), 0, 0, 0, 0, 0o600 << 16, offset)
        start = fh.tell()
        fh.write(records + central + encoded)
        dir_size = len(records) + len(central) + len(encoded)
        fh.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, dir_size, start, 0))
    return path


# ------------------------------------------------------------------------------------------- the cases


def _good_tracker(path: Path, **options) -> Path:
    """A clean tracker; `options` are XlsxWriter workbook options (e.g. date_1904)."""
    from workbooks import tracker, write_xlsx

    return write_xlsx(path, tracker(), options=options)

def _zip_bombs(folder: Path) -> dict[str, Case]:
    parts = _parts(["Placements"])
    head = sheet_xml("").split("</sheetData>")[0].encode()
    tail = b"</sheetData></worksheet>"
    block = b" " * (1 << 20)
    write_with_big_member(folder / "zip_bomb.xlsx", parts, "xl/worksheets/sheet1.xml", head, block, 1024, tail)
    write_with_big_member(folder / "zip_bomb_ratio.xlsx", parts, "xl/worksheets/sheet1.xml", head, block, 64, tail)
    write_with_big_member(folder / "zip_bomb_lying.xlsx", parts, "xl/worksheets/sheet1.xml", head, block, 1024,
                          tail, declared_size=4096)
    return {
        "zip_bomb.xlsx": Case("error", "apxl_max_part_mb", "a 1 MB file whose sheet unpacks to 1 GiB"),
        "zip_bomb_ratio.xlsx": Case("error", "apxl_max_ratio", "a sheet of 64 MiB that compresses 1,000 to 1"),
        "zip_bomb_lying.xlsx": Case("error", "", "a 1 GiB sheet whose zip directory says 4 KB"),
    }


def _shared_strings(folder: Path) -> dict[str, Case]:
    parts = _parts(["Placements"], shared=True)
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>{r - 1}</v></c></row>' for r in range(1, 101))
    parts["xl/worksheets/sheet1.xml"] = sheet_xml(rows)
    head = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="50000" uniqueCount="50000">'.encode()
    block = b"<si><t>" + b"x" * 32767 + b"</t></si>"
    write_with_big_member(folder / "shared_strings_50k.xlsx", parts, "xl/sharedStrings.xml", head, block, 50_000,
                          b"</sst>")
    one = dict(_parts(["Placements"], shared=True))
    one["xl/sharedStrings.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="1" '
                                   f'uniqueCount="1"><si><t>{"x" * 32767}</t></si></sst>')
    one["xl/worksheets/sheet1.xml"] = sheet_xml(
        "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>' for r in range(1, 30_001)))
    write_package(folder / "shared_string_amplified.xlsx", one)
    latin = dict(_parts(["Placements"], shared=True))
    latin["xl/sharedStrings.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="2" '
                                     'uniqueCount="2"><si><t>Placement ID</t></si><si><t>Zo\xeb Bront\xeb</t></si>'
                                     "</sst>").encode("latin-1")
    latin["xl/worksheets/sheet1.xml"] = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
                                                  '<row r="2"><c r="A2" t="s"><v>1</v></c></row>')
    write_package(folder / "non_utf8_shared_strings.xlsx", latin)
    return {
        "shared_strings_50k.xlsx": Case("error", "apxl_max_part_mb",
                                        "50,000 shared strings of 32,767 characters (1.6 GB unpacked)"),
        "shared_string_amplified.xlsx": Case("error", "apxl_max_text_mb",
                                             "one 32,767-character shared string in 30,000 cells (156 KB file)"),
        "non_utf8_shared_strings.xlsx": Case("any", "", "shared strings in Latin-1 bytes, declared UTF-8"),
    }


def _entities(folder: Path) -> dict[str, Case]:
    lol = ('<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>")
    laughs = dict(_parts(["Placements"], shared=True))
    laughs["xl/sharedStrings.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?>{lol}<sst xmlns="{MAIN}" count="1" '
                                      'uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    laughs["xl/worksheets/sheet1.xml"] = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    write_package(folder / "billion_laughs.xlsx", laughs)
    xxe = dict(_parts(["Placements"]))
    xxe["xl/workbook.xml"] = xxe["xl/workbook.xml"].replace(
        "?><workbook", '?><!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><workbook')
    xxe["xl/worksheets/sheet1.xml"] = sheet_xml(header_row())
    write_package(folder / "xxe_file.xlsx", xxe)
    net = dict(_parts(["Placements"]))
    net["xl/worksheets/sheet1.xml"] = sheet_xml(
        header_row() + '<row r="2">' + inline("A2", "&xxe;") + "</row>",
        prolog='<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/apxl-xxe">]>')
    write_package(folder / "xxe_network.xlsx", net)
    return {
        "billion_laughs.xlsx": Case("error", "dtd", "nested entities in the shared strings (a billion laughs)"),
        "xxe_file.xlsx": Case("error", "dtd", "an external entity reading /etc/passwd in workbook.xml"),
        "xxe_network.xlsx": Case("error", "dtd", "an external entity fetching a URL in a sheet"),
    }


def _ranges(folder: Path) -> dict[str, Case]:
    out: dict[str, Case] = {}

    def one(name: str, extra: str, expect: str, reason: str, what: str) -> None:
        parts = _parts(["Placements"])
        parts["xl/worksheets/sheet1.xml"] = sheet_xml(header_row() + extra)
        write_package(folder / name, parts)
        out[name] = Case(expect, reason, what)

    one("rows_1048576.xlsx", '<row r="1048576"><c r="X1048576"><v>1</v></c></row>', "error", "apxl_max_cells",
        "Placements used to row 1,048,576 (a value in X1048576): 25 million cells")
    one("cols_16384.xlsx", '<row r="2"><c r="XFD2"><v>1</v></c></row>', "report", "",
        "a value in column XFD (16,384 columns used)")
    one("corner_XFD1048576.xlsx", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', "error", "apxl_max_cells",
        "a value in XFD1048576: 17 billion cells (calamine aborted the process before the limit)")
    one("formatted_to_bottom.xlsx", '<row r="1048576" s="1" customFormat="1">'
        + "".join(f'<c r="{col_letter(c)}1048576" s="1"/>' for c in range(16384)) + "</row>", "report", "",
        "every cell of row 1,048,576 formatted but empty (Excel's used range to XFD1048576)")
    tall = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, 1_048_577))
    one("rows_1048576_one_column.xlsx", tall, "error", "apxl_max_cells",
        "1,048,575 rows with a value in column A under the 24 headers (a million rows really used)")
    return out


def _packages(folder: Path) -> dict[str, Case]:
    good = _good_tracker(folder / "_good.xlsx")
    data = good.read_bytes()
    (folder / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    (folder / "truncated_directory.xlsx").write_bytes(data[:-10])
    with zipfile.ZipFile(good) as zin:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
    missing = {k: v for k, v in members.items() if k != "xl/worksheets/sheet2.xml"}
    write_package(folder / "missing_sheet_part.xlsx", missing)
    write_package(folder / "missing_workbook_part.xlsx", {k: v for k, v in members.items() if k != "xl/workbook.xml"})
    wrong = dict(members)
    wrong["[Content_Types].xml"] = members["[Content_Types].xml"].replace(CT_SHEET.encode(), b"image/png")
    write_package(folder / "wrong_content_types.xlsx", wrong)
    write_package(folder / "no_content_types.xlsx", {k: v for k, v in members.items() if k != "[Content_Types].xml"})
    (folder / "really_csv.xlsx").write_text("Placement ID,UPN,Surname\nP-001,B801200005001,Testpupil\n")
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "random_bytes.xlsx").write_bytes(bytes(range(256)) * 64)
    with zipfile.ZipFile(folder / "many_parts.xlsx", "w", zipfile.ZIP_STORED) as zf:
        for name, value in members.items():
            zf.writestr(name, value)
        for i in range(12_000):
            zf.writestr(f"customXml/item{i}.bin", b"")
    (folder / "zip_version.xlsx").write_bytes(_patch_directory(data, "xl/workbook.xml", 6, struct.pack("<H", 89)))
    (folder / "part_past_end.xlsx").write_bytes(_patch_directory(data, "xl/worksheets/sheet3.xml", 20,
                                                                 struct.pack("<I", 0x7FFF0000)))
    for part, out in (("xl/workbook.xml", "corrupt_deflate_workbook.xlsx"),
                      ("xl/worksheets/sheet2.xml", "corrupt_deflate_sheet.xlsx")):
        (folder / out).write_bytes(_corrupt_member(data, part))
    good.unlink()
    return {
        "zip_version.xlsx": Case("error", "cannot read", "a directory entry needing zip version 8.9 (fuzz: a "
                                 "NotImplementedError traceback)"),
        "part_past_end.xlsx": Case("error", "past the end", "a directory entry whose data runs 2 GB past the end "
                                   "of the file (fuzz: MemoryError in the write-back)"),
        "corrupt_deflate_workbook.xlsx": Case("error", "damaged", "xl/workbook.xml's deflate data corrupted "
                                              "(found by bench/fuzz.py: a zlib.error traceback)"),
        "corrupt_deflate_sheet.xlsx": Case("error", "", "the Placements sheet's deflate data corrupted (fuzz)"),
        "truncated.xlsx": Case("error", "damaged", "a tracker cut off half-way"),
        "truncated_directory.xlsx": Case("error", "", "a tracker missing the end of its zip directory"),
        "missing_sheet_part.xlsx": Case("any", "", "the Placements sheet's part taken out of the zip"),
        "missing_workbook_part.xlsx": Case("any", "", "xl/workbook.xml taken out of the zip"),
        "wrong_content_types.xlsx": Case("any", "", "every sheet declared as image/png in [Content_Types].xml"),
        "no_content_types.xlsx": Case("any", "", "no [Content_Types].xml"),
        "really_csv.xlsx": Case("error", "not a spreadsheet", "a CSV file named .xlsx"),
        "empty.xlsx": Case("error", "empty", "0 bytes"),
        "random_bytes.xlsx": Case("error", "not a spreadsheet", "16 KB of bytes that are no format at all"),
        "many_parts.xlsx": Case("error", "apxl_max_parts", "a zip of 12,000 parts"),
    }


def _patch_directory(data: bytes, part: str, offset: int, value: bytes) -> bytes:
    """The zip with `value` written at `offset` into `part`'s central-directory record."""
    at = data.rfind(b"PK\x05\x06")
    start = struct.unpack("<I", data[at + 16: at + 20])[0]
    pos = start
    while data[pos: pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack("<HHH", data[pos + 28: pos + 34])
        if data[pos + 46: pos + 46 + n].decode() == part:
            return data[: pos + offset] + value + data[pos + offset + len(value):]
        pos += 46 + n + m + k
    raise KeyError(part)


def _corrupt_member(data: bytes, part: str) -> bytes:
    """The zip with bytes in the middle of one member's compressed data overwritten (sizes and CRC kept)."""
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
        info = zf.getinfo(part)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    at = start + info.compress_size // 3
    return data[:at] + b"\xff" * 6 + data[at + 6:]


def _values(folder: Path) -> dict[str, Case]:
    from workbooks import headers

    _good_tracker(folder / "dates_1904.xlsx", date_1904=True)
    _good_tracker(folder / "dates_1900.xlsx")
    names = headers("Placements")
    rows = [header_row()]
    for r, err in enumerate(ERRORS, start=2):
        rows.append(f'<row r="{r}">' + "".join(f'<c r="{col_letter(c)}{r}" t="e"><v>{err}</v></c>'
                                               for c in range(len(names))) + "</row>")
    parts = _parts(["Placements"])
    parts["xl/worksheets/sheet1.xml"] = sheet_xml("".join(rows))
    write_package(folder / "error_values.xlsx", parts)
    modern = _parts(["Placements"])
    modern["xl/worksheets/sheet1.xml"] = sheet_xml(header_row() + '<row r="2">' + "".join(
        f'<c r="{col_letter(c)}2" t="e"><v>{err}</v></c>' for c, err in enumerate(NEW_ERRORS)) + "</row>")
    write_package(folder / "error_values_365.xlsx", modern)
    return {
        "dates_1904.xlsx": Case("report", "", "a tracker saved with the 1904 date system"),
        "dates_1900.xlsx": Case("report", "", "the same tracker in the 1900 date system (to compare)"),
        "error_values.xlsx": Case("report", "", "every classic Excel error value (#N/A, #REF! ...) in every "
                                  "Placements column"),
        "error_values_365.xlsx": Case("error", "", "Excel 365's newer errors (#SPILL!, #CALC! ...) in cells"),
    }


def custom_properties_bomb(folder: Path) -> Path:
    """A tracker whose docProps/custom.xml unpacks to 640 MiB (a 0.7 MB file): `apxl batch` reads that part to
    tell its own reports from returns, before any limit is checked. Kept out of make_all (see its test)."""
    parts = _parts(["Placements"])
    parts["xl/worksheets/sheet1.xml"] = sheet_xml(header_row())
    return write_with_big_member(folder / "custom_properties_bomb.xlsx", parts, "docProps/custom.xml",
                                 b'<?xml version="1.0"?><Properties>', b" " * (1 << 20), 640, b"</Properties>")


def make_all(folder: Path, corpus: Path | None = None) -> dict[str, Case]:
    """Write every abuse file into `folder`; a few come from the wild corpus when it is there."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Case] = {}
    for make in (_zip_bombs, _shared_strings, _entities, _ranges, _packages, _values):
        cases.update(make(folder))
    if corpus is not None and corpus.is_dir():
        shutil.copy(corpus / "any_sheets.xls", folder / "really_xls.xlsx")
        cases["really_xls.xlsx"] = Case("any", "", "an old .xls (BIFF8) file named .xlsx")
        shutil.copy(corpus / "pass_protected.xlsx", folder / "encrypted.xlsx")
        cases["encrypted.xlsx"] = Case("error", "password", "a password-protected (encrypted) workbook")
    return cases


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "abuse")
    corpus_dir = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "wild"
    for file, case in make_all(out, corpus_dir).items():
        print(f"{file:34} {(out / file).stat().st_size:>12,}  {case.expect:6} {case.what}")
