"""Limits on what apxl will unpack and read from one workbook, checked before anything large is inflated.

Trackers arrive by e-mail from a hundred schools, so a file can be hostile as well as broken: a zip bomb
(a small file that unpacks to gigabytes), an XML "billion laughs" or external entity, a sheet whose used
range runs to XFD1048576 (python-calamine builds the range densely, so that one cell asks for 17 billion
cells and the process aborts), or one 32,767-character shared string referenced by 100,000 cells (each
cell gets its own copy). Each limit below is a setting with a default far above a real tracker (the
100,000-placement benchmark unpacks to 350 MB, its largest part to 116 MB, its largest sheet to 2.4
million cells); when one is hit, the file gets a one-line `UnreadableWorkbook` naming the limit and the
environment variable that raises it, and in a batch a WB006 finding.

| variable | default | what |
|---|---|---|
| APXL_MAX_PART_MB | 256 | uncompressed size of one part (a sheet's XML, the shared strings ...) |
| APXL_MAX_PACKAGE_MB | 1024 | uncompressed size of all the parts together |
| APXL_MAX_RATIO | 200 | compression ratio of a part over APXL_RATIO_FROM_MB (real sheets: 5 to 20) |
| APXL_RATIO_FROM_MB | 4 | parts smaller than this may have any ratio |
| APXL_MAX_PARTS | 10000 | entries in the zip's central directory |
| APXL_MAX_CELLS | 12000000 | rows x columns of one sheet's used range (cells holding a value) |
| APXL_MAX_TEXT_MB | 256 | text one sheet's shared-string cells bring in (each cell holds its own copy) |

This module must stay cheap to import (the CLI's start-up): the standard library only, no pandas.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache

from .errors import UnreadableWorkbook

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The limits in force (see the module docstring for what each one bounds)."""

    part_mb: int = 256
    package_mb: int = 1024
    ratio: int = 200
    ratio_from_mb: int = 4
    parts: int = 10_000
    cells: int = 12_000_000
    text_mb: int = 256


_ENV = {"part_mb": "APXL_MAX_PART_MB", "package_mb": "APXL_MAX_PACKAGE_MB", "ratio": "APXL_MAX_RATIO",
        "ratio_from_mb": "APXL_RATIO_FROM_MB", "parts": "APXL_MAX_PARTS", "cells": "APXL_MAX_CELLS",
        "text_mb": "APXL_MAX_TEXT_MB"}


def current() -> Limits:
    """The defaults, overridden by any APXL_MAX_* environment variable holding a positive whole number.

    Read on every call (not cached) so a test or a wrapper script can change them between files; a value
    that is not a positive number is ignored rather than turned into an error that stops every check.
    """
    return _limits(tuple(os.environ.get(var, "") for var in _ENV.values()))


@lru_cache(maxsize=16)
def _limits(settings: tuple[str, ...]) -> Limits:
    """The Limits for these APXL_MAX_* values (worked out once per set of values: a check asks often)."""
    values = {}
    for key, setting in zip(_ENV, settings):
        raw = setting.strip().replace("_", "").replace(",", "")
        if raw.isdigit() and int(raw) > 0:
            values[key] = int(raw)
    return Limits(**values)


def _too_big(path: str, what: str, var: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(path, f"it is too large to check safely: {what}",
                              f"If the file is genuine, set {var} higher and run apxl again")


def _mb(n: int) -> str:
    return f"{n / MB:,.0f} MB" if n >= MB else f"{n:,} bytes"


# ------------------------------------------------------------------------------------ the zip package


def declared_entries(path: str) -> int | None:
    """How many entries the zip's end-of-central-directory record declares (None: no readable record).

    Read from the file's last 64 KiB before `zipfile` builds one ZipInfo per entry, so a directory of
    millions of entries is refused without building them.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            start = max(0, size - (65535 + 22))
            fh.seek(start)
            tail = fh.read()
            at = tail.rfind(b"PK\x05\x06")
            if at < 0 or len(tail) < at + 22:
                return None
            entries = struct.unpack("<H", tail[at + 10: at + 12])[0]
            if entries != 0xFFFF or at < 20 or tail[at - 20: at - 16] != b"PK\x06\x07":
                return entries
            offset = struct.unpack("<Q", tail[at - 12: at - 4])[0]       # the zip64 end record
            if offset >= size:
                return None
            fh.seek(offset)
            record = fh.read(56)
            if len(record) < 56 or record[:4] != b"PK\x06\x06":
                return None
            return struct.unpack("<Q", record[32:40])[0]
    except OSError:
        return None


def check_package(path: str, *, keep: bool = False) -> zipfile.ZipFile | None:
    """Refuse a zip package whose central directory promises more than the limits allow, or whose XML
    parts declare a DTD or unpack to more than the directory says; of a sheet, only the first few KiB are
    inflated here (apxl.package reads each sheet whole, checked, before calamine does).

    A package `zipfile` cannot open is left alone: the reader's own error says it is damaged. With `keep`,
    the open package is given back for the reader to go on with (it closes it); else it is closed.
    """
    lim = current()
    entries = declared_entries(path)
    if entries is not None and entries > lim.parts:
        raise _too_big(path, f"its zip package lists {entries:,} parts, over apxl's limit of {lim.parts:,}",
                       _ENV["parts"])
    try:
        zf = zipfile.ZipFile(path)
    except (NotImplementedError, EOFError) as exc:     # found by bench/fuzz.py: the reader let these through
        raise UnreadableWorkbook(path, f"its zip package is damaged or uses a form apxl cannot read ({exc})",
                                 "Open it in Excel, repair it if asked, and save it again as .xlsx") from None
    except (zipfile.BadZipFile, OSError, ValueError):
        return None             # the reader's own message: damaged, not a workbook
    try:
        infos = zf.infolist()
        check_sizes(path, infos, lim)
        check_bounds(path, infos)
        check_parts(path, zf, infos)
    except BaseException:
        zf.close()
        raise
    if keep:
        return zf
    zf.close()
    return None


def check_sizes(path: str, infos: list[zipfile.ZipInfo], lim: Limits | None = None) -> None:
    """The sizes the central directory declares against the part, package and ratio limits."""
    lim = lim or current()
    if len(infos) > lim.parts:
        raise _too_big(path, f"its zip package lists {len(infos):,} parts, over apxl's limit of {lim.parts:,}",
                       _ENV["parts"])
    total = 0
    for info in infos:
        size = info.file_size
        total += size
        if size > lim.part_mb * MB:
            raise _too_big(path, f"{info.filename} would unpack to {_mb(size)}, over apxl's limit of "
                           f"{lim.part_mb:,} MB for one part", _ENV["part_mb"])
        if size > lim.ratio_from_mb * MB and size > lim.ratio * max(info.compress_size, 1):
            ratio = size / max(info.compress_size, 1)
            raise _too_big(path, f"{info.filename} would unpack {ratio:,.0f} times larger ({_mb(size)}), over "
                           f"apxl's limit of {lim.ratio:,} times (a zip bomb?)", _ENV["ratio"])
    if total > lim.package_mb * MB:
        raise _too_big(path, f"its parts would unpack to {_mb(total)}, over apxl's limit of "
                       f"{lim.package_mb:,} MB for a workbook", _ENV["package_mb"])


def check_bounds(path: str, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse a directory entry whose data would run past the end of the file: a damaged or cut-short zip
    (found by bench/fuzz.py: the write-back read such a part's claimed size, gigabytes, in one go)."""
    size = os.path.getsize(path)
    for info in infos:
        if info.header_offset + 30 + info.compress_size > size:
            raise UnreadableWorkbook(path, f"{info.filename} runs past the end of the file (the zip package is "
                                     "damaged or cut short)", "Ask for the workbook to be sent again, or open it "
                                     "in Excel, repair it if asked, and save it again")


_XML_SUFFIXES = (".xml", ".rels", ".vml")
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DTD = (b"<!DOCTYPE", b"<!ENTITY")


def xml_prolog(head: bytes) -> bytes | None:
    """The bytes before an XML document's root element, as UTF-8 (None: the root is not in `head`)."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        enc = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-16-le" if head[0] == 0x3C else "utf-16-be")
        head = head[: len(head) // 2 * 2].decode(enc, "replace").encode("utf-8")
    m = _ROOT_START.search(head)
    return head[: m.start()] if m else None


def has_dtd(head: bytes) -> bool:
    """True when an XML document's prolog declares a DTD or entities (which apxl never expands)."""
    prolog = xml_prolog(head)
    text = head if prolog is None else prolog
    return any(marker in text for marker in _DTD)


def check_parts(path: str, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Each XML part, opened once: refused if it declares a DTD (entity expansion, "billion laughs", and
    external entities, a part that reads /etc/passwd or a URL, are never wanted in a spreadsheet, and Excel
    never writes one); and each part calamine reads whole at opening (everything but the sheets, which
    apxl.package reads first) inflated a MiB at a time to its end, to catch one that unpacks to more than
    the directory says: zipfile stops at the declared size and checks the CRC, where calamine would
    inflate a lying bomb to the end. Of a sheet only the prolog is inflated (4 KiB, up to 64 KiB when the
    root element comes later).
    """
    for info in infos:
        low = info.filename.lower()
        if not low.endswith(_XML_SUFFIXES):
            continue
        whole = not ("worksheets/" in low and not low.endswith(".rels"))
        if not whole:
            if info.file_size:
                _refuse_if_dtd(path, info, _head(zf, info))
            continue
        try:
            with zf.open(info) as fh:
                if info.file_size:
                    _refuse_if_dtd(path, info, _prolog_of(fh))
                while fh.read(1 << 20):
                    pass
        except UnreadableWorkbook:
            raise
        except zipfile.BadZipFile:
            raise UnreadableWorkbook(path, f"{info.filename} unpacks to more or other than its zip directory says "
                                     "(damaged, or a zip bomb)", "Open it in Excel, repair it if asked, and save "
                                     "it again") from None
        except (zlib.error, EOFError):
            raise UnreadableWorkbook(path, f"{info.filename} is damaged (its compressed data is corrupt)",
                                     "Open it in Excel, repair it if asked, and save it again") from None
        except NotImplementedError as exc:       # a zip version or method Python's zipfile (and Excel) never use
            raise UnreadableWorkbook(path, f"{info.filename} is stored in a way apxl cannot read ({exc})",
                                     "Open it in Excel and save it again as .xlsx") from None
        except Exception:  # noqa: BLE001 - encrypted or unsupported member: calamine's own error says so
            continue


def _refuse_if_dtd(path: str, info: zipfile.ZipInfo, head: bytes | None) -> None:
    if head is not None and has_dtd(head):
        raise UnreadableWorkbook(path, f"{info.filename} declares an XML DTD or entities, which apxl refuses "
                                 "(they can expand to gigabytes or read other files)",
                                 "Open it in Excel and save it again as .xlsx; if it came by e-mail, "
                                 "check with the sender")


def _prolog_of(fh) -> bytes:
    """The first 4 KiB of an open part, read on (up to 64 KiB) until its root element begins."""
    head = fh.read(4096)
    while xml_prolog(head) is None and len(head) < 65536:
        more = fh.read(16384)
        if not more:
            break
        head += more
    return head


def _head(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    try:
        with zf.open(info) as fh:
            return _prolog_of(fh)
    except Exception:  # noqa: BLE001 - encrypted, damaged or unsupported member: the reader reports it
        return None


# ------------------------------------------------------------------------------------------- one sheet


def check_sheet(path: str, sheet: str, rows: int, cols: int, text: int = 0) -> None:
    """Refuse a sheet whose used range (rows x columns of cells holding a value) or shared-string text
    is over the limits, before python-calamine builds it (a dense range: one far cell costs them all)."""
    lim = current()
    if rows * cols > lim.cells:
        raise _too_big(path, f"sheet {sheet!r} uses {rows:,} rows x {cols:,} columns ({rows * cols:,} cells), over "
                       f"apxl's limit of {lim.cells:,} cells for a sheet", _ENV["cells"])
    if text > lim.text_mb * MB:
        raise _too_big(path, f"sheet {sheet!r} repeats shared text {_mb(text)} long in all, over apxl's limit of "
                       f"{lim.text_mb:,} MB", _ENV["text_mb"])


def cells_limit() -> int:
    """The cell limit in force (apxl.package uses it to decide whether a quick bound is enough)."""
    return current().cells


def check_peek(path: str, sheet: str, peek, part: str, shared_part: str | None) -> None:
    """The sheet limits for an .xlsx/.xlsm sheet apxl.package has scanned, before calamine reads it.

    The shared-string text is bounded by (shared-string cells) x (longest shared string) first; only when
    that is over the limit are the cells' own indexes read to add up exactly what they bring in.
    """
    text = 0
    if peek.shared_cells and shared_part:
        try:
            stamp = os.stat(path)
            sizes = shared_string_sizes(path, (stamp.st_size, stamp.st_mtime_ns), shared_part)
            if sizes and peek.shared_cells * max(sizes) > current().text_mb * MB:
                from .package import read_part, shared_text

                with zipfile.ZipFile(path) as zf:
                    text = shared_text(read_part(zf, part), sizes)
        except (OSError, KeyError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, RuntimeError):
            text = 0            # an unreadable part: calamine's own error says so
    check_sheet(path, sheet, peek.rows, peek.cols, text)


@lru_cache(maxsize=8)
def shared_string_sizes(path: str, stamp: tuple[int, int], part: str) -> tuple[int, ...]:
    """The size in bytes of each shared string (an upper bound on its characters), read once per file."""
    from .package import read_part

    with zipfile.ZipFile(path) as zf:
        data = read_part(zf, part)
    starts = [m.start() for m in re.finditer(rb"<(?:\w+:)?si\b", data)]
    starts.append(len(data))
    return tuple(b - a for a, b in zip(starts, starts[1:]))
