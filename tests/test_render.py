"""Looking at the annotated copy as a person would: LibreOffice opens it, draws it to PDF, and the
highlight is on the finding's cell. Needs LibreOffice and poppler (`.ci/run` installs them): the test
fails, never skips, when they are missing."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import apxl
from apxl.annotate import annotate
from workbooks import placement_row, tracker, write_xlsx

ERROR_FILL = (0xFF, 0xC7, 0xCE)          # apxl's error highlight (apxl/annotate.py)


def tools() -> tuple[str, str]:
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    assert soffice and pdftoppm, "LibreOffice and poppler are needed: apt-get install -y libreoffice-calc poppler-utils"
    return soffice, pdftoppm


def render(path: Path, folder: Path) -> list[tuple[int, int, bytes]]:
    """Every page of the workbook as (width, height, RGB bytes), through LibreOffice and pdftoppm."""
    soffice, pdftoppm = tools()
    profile = folder / "profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(folder), str(path)], check=True, capture_output=True, timeout=180)
    pdf = folder / (path.stem + ".pdf")
    subprocess.run([pdftoppm, "-r", "50", "-png", str(pdf), str(folder / path.stem)], check=True, timeout=120)
    return [_png(p) for p in sorted(folder.glob(f"{path.stem}-*.png"))]


def _png(path: Path) -> tuple[int, int, bytes]:
    """A small PNG reader (8-bit RGB, as pdftoppm writes), so the test needs no imaging library."""
    data, pos, idat = path.read_bytes(), 8, b""
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 2)
        elif kind == b"IDAT":
            idat += body
    raw, stride, out, prev, i = zlib.decompress(idat), width * 3, bytearray(), bytearray(width * 3), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prev = line
    return width, height, bytes(out)


def highlighted(page: tuple[int, int, bytes]) -> list[tuple[int, int]]:
    width, _, px = page
    return [((k // 3) % width, (k // 3) // width) for k in range(0, len(px), 3)
            if abs(px[k] - ERROR_FILL[0]) < 6 and abs(px[k + 1] - ERROR_FILL[1]) < 8 and abs(px[k + 2] - ERROR_FILL[2]) < 8]


def test_the_highlight_is_drawn_on_the_finding_cell_and_every_sheet_loads(tmp):
    centres = {}
    for blank in ("Surname", "Date of birth"):
        folder = tmp / blank.replace(" ", "_")
        folder.mkdir()
        original = write_xlsx(folder / "original.xlsx", tracker(placements=[placement_row("P-001", **{blank: ""})]))
        report = apxl.validate(original, as_of="2026-11-30")
        assert [f.column for f in report.findings if f.severity == "error"] == [blank]
        marked = folder / "marked.xlsx"
        annotate(original, marked, report, checked="2026-11-30 09:00")
        before, after = render(original, folder), render(marked, folder)
        assert len(after) > len(before)                       # the Warnings sheet is drawn too
        assert not any(highlighted(p) for p in before)        # nothing red in the original
        red = [(n, highlighted(p)) for n, p in enumerate(after)]
        pages = [n for n, pixels in red if pixels]
        assert pages == [1], pages                            # page 2: the Placements sheet (Setup is page 1)
        xs = [x for x, _ in red[1][1]]
        centres[blank] = sum(xs) / len(xs)
    # Surname is column C and Date of birth column E: the highlight moves right with the finding
    assert centres["Date of birth"] > centres["Surname"] + 20
