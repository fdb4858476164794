"""Pupil data stays on the machine and out of logs: no internet socket, no personal value on stderr,
and `--redact` leaves names, UPNs and dates of birth out of every report format."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import abuse
import pytest
from conftest import ROOT

from workbooks import placement_row, tracker, write_xlsx

# An audit hook that records (to a file) and refuses any internet socket, before apxl is imported; worker
# processes forked by `apxl batch` inherit it.
GUARD = r"""
import socket, sys
LOG = sys.argv.pop(1)
def hook(event, args):
    bad = event in ("socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
                    "socket.gethostbyaddr", "socket.sendto", "urllib.Request", "http.client.connect")
    if event == "socket.__new__" and len(args) > 1 and args[1] in (socket.AF_INET, socket.AF_INET6):
        bad = True
    if bad:
        with open(LOG, "a") as fh:
            fh.write(f"{event} {args!r}\n")
        raise RuntimeError(f"apxl test: network use refused ({event})")
sys.addaudithook(hook)
sys.argv = ["apxl"] + sys.argv[1:]
if sys.argv[1] == "--self-test":
    socket.create_connection(("127.0.0.1", 9), timeout=1)
from apxl.cli import main
sys.exit(main())
"""

SURNAMES = ["Quixotic-Fairweather", "Ottoline-Marchbanks", "Pemberton-Xylophane"]
FORENAMES = ["Zebedee", "Wilhelmina", "Thaddeus"]
UPNS = ["B801200005001", "Z123ZEBEDEE9", "K999988887777"]
DOBS = [dt.date(2011, 3, 17), "31/02/2011", dt.date(2012, 11, 23)]
PARENTS = ["Philippa Quixotic-Fairweather", "Montgomery Ottoline", ""]


def personal_strings() -> list[str]:
    out = SURNAMES + FORENAMES + UPNS + [p for p in PARENTS if p] + ["31/02/2011"]
    for d in DOBS:
        if isinstance(d, dt.date):
            out += [d.isoformat(), d.strftime("%d/%m/%Y"), f"{d.day} {d.strftime('%B %Y')}"]
    return out


def pupil_tracker(path: Path) -> Path:
    """Three pupils with distinctive names; findings that quote a UPN, a date of birth and a name."""
    rows = []
    for k in range(3):
        rows.append(placement_row(f"P-00{k + 1}", UPN=UPNS[k], Surname=SURNAMES[k], Forename=FORENAMES[k],
                                  **{"Date of birth": DOBS[k], "Parent or carer": PARENTS[k],
                                     "NC year": 10 if k != 2 else 3}))
    rows.append(placement_row("P-004", UPN=UPNS[0], Surname=SURNAMES[0], Forename=FORENAMES[0],
                              **{"Date of birth": DOBS[0]}))
    return write_xlsx(path, tracker(placements=rows))


def guarded(tmp: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", GUARD, str(tmp / "network.log"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_guard_catches_a_connection(tmp):
    res = guarded(tmp, "--self-test")
    assert res.returncode != 0 and "socket." in (tmp / "network.log").read_text()


def test_no_internet_socket_in_validate_batch_template_documents(tmp):
    book = pupil_tracker(tmp / "t.xlsx")
    folder = tmp / "returns"
    folder.mkdir()
    for k in range(5):
        write_xlsx(folder / f"school{k}.xlsx", tracker())
    xxe = tmp / "xxe.xlsx"
    parts = abuse._parts(["Placements"])
    parts["xl/worksheets/sheet1.xml"] = abuse.sheet_xml(
        abuse.header_row() + '<row r="2">' + abuse.inline("A2", "&x;") + "</row>",
        prolog='<!DOCTYPE worksheet [<!ENTITY x SYSTEM "http://127.0.0.1:9/apxl">]>')
    abuse.write_package(xxe, parts)
    runs = [
        ("validate", book, "--format", "json"),
        ("validate", book, "--format", "html", "--output", tmp / "r.html"),
        ("validate", book, "--format", "xlsx", "--output", tmp / "r.xlsx"),
        ("validate", book, "--annotate", tmp / "marked.xlsx"),
        ("validate", xxe),
        ("batch", folder, book, "--jobs", "2", "--format", "html", "--output", tmp / "b.html"),
        ("batch", folder, "--jobs", "2", "--format", "xlsx", "--output", tmp / "b.xlsx"),
        ("template", tmp / "template.xlsx"),
        ("documents", book, "--out", tmp / "docs", "--as-of", "2026-11-30"),
        ("documents", book, "--out", tmp / "docs_html", "--format", "html", "--as-of", "2026-11-30"),
        ("ofsted-list", book, "--output", tmp / "ofsted.xlsx", "--as-of", "2026-11-30"),
    ]
    for args in runs:
        res = guarded(tmp, *args)
        assert "Traceback" not in res.stderr, (args, res.stderr[-1500:])
        assert res.returncode in (0, 1, 2), (args, res.stderr[-500:])
        assert not (tmp / "network.log").exists(), (args, (tmp / "network.log").read_text())
    assert (tmp / "b.xlsx").exists() and (tmp / "template.xlsx").exists() and (tmp / "marked.xlsx").exists()


def _no_personal(text: str, where: str) -> None:
    leaked = [s for s in personal_strings() if s in text]
    assert not leaked, f"{where}: {leaked}"


def test_no_pupil_data_on_stderr(tmp):
    """Progress, summaries and one-line errors never carry a pupil's name, UPN or date of birth."""
    book = pupil_tracker(tmp / "t.xlsx")
    ro = tmp / "no-such-folder" / "deeper"
    runs = [
        ("validate", book),
        ("validate", book, "--format", "json", "--output", tmp / "r.json"),
        ("validate", book, "--annotate", tmp / "m.xlsx"),
        ("validate", book, "--annotate", ro / "m.xlsx"),
        ("validate", book, "--format", "xlsx", "--output", ro / "r.xlsx"),
        ("validate", book, "--in-place"),
        ("clear", book, "--in-place"),
        ("batch", book, "--format", "json", "--output", tmp / "b.json"),
        ("documents", book, "--out", tmp / "docs", "--as-of", "2026-11-30"),
        ("ofsted-list", book, "--output", tmp / "o.xlsx", "--as-of", "2026-11-30"),
        ("upgrade", book, tmp / "new.xlsx"),
        ("map", book),
    ]
    for args in runs:
        res = subprocess.run([sys.executable, "-m", "apxl", *map(str, args)], capture_output=True, text=True,
                             cwd=ROOT, timeout=300)
        assert "Traceback" not in res.stderr, (args, res.stderr[-800:])
        _no_personal(res.stderr, f"stderr of {args[0]} {args[2:] if len(args) > 2 else ''}")


def test_the_findings_do_quote_them_without_redact(tmp):
    """The tracker really gives findings that quote personal values (so the redaction tests can fail)."""
    import apxl

    report = apxl.validate(pupil_tracker(tmp / "t.xlsx"), as_of="2026-11-30")
    text = report.to_json()
    assert "Z123ZEBEDEE9" in text and "31/02/2011" in text


def _xlsx_text(path: Path) -> str:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            out += [str(v) for v in row if v is not None]
    wb.close()
    return "\n".join(out)


def _redacted(tmp, command: str, source, fmt: str) -> str:
    """Run `apxl COMMAND SOURCE --redact --format FMT` into a file: the file's text (stderr checked too)."""
    out = tmp / f"{command}.{ 'txt' if fmt == 'text' else fmt}"
    res = subprocess.run([sys.executable, "-m", "apxl", command, str(source), "--redact", "--format", fmt,
                          "--output", str(out), "--as-of", "2026-11-30"], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert res.returncode in (0, 1), res.stderr
    _no_personal(res.stderr, "stderr")
    return _xlsx_text(out) if fmt == "xlsx" else out.read_text()


@pytest.mark.parametrize("fmt", ["text", "json", "html", "xlsx"])
def test_redact_covers_every_validate_format(tmp, fmt):
    text = _redacted(tmp, "validate", pupil_tracker(tmp / "t.xlsx"), fmt)
    assert "P-002" in text               # the report is there, with its records
    _no_personal(text, f"validate --redact --format {fmt}")


@pytest.mark.parametrize("fmt", ["text", "json", "html", "xlsx"])
def test_redact_covers_every_batch_format(tmp, fmt):
    folder = tmp / "returns"
    folder.mkdir()
    pupil_tracker(folder / "a.xlsx")
    pupil_tracker(folder / "b.xlsx")
    text = _redacted(tmp, "batch", folder, fmt)
    assert "P-002" in text or fmt == "text"      # the text summary lists rules and providers, not records
    _no_personal(text, f"batch --redact --format {fmt}")
    if fmt == "json":
        json.loads(text)
