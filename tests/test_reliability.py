"""Hostile and broken files (tests/abuse.py, the wild corpus): a finding or one line, bounded memory, no traceback.

Each file goes through the real command in a fresh process; a small runner process waits for it and reports
its peak resident memory (getrusage of its one child), which must stay under 1 GiB.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import abuse
import pytest
from conftest import CORPUS, ROOT

from apxl.layout import col_letter
from workbooks import tracker, write_xlsx

GIB_KB = 1024 * 1024
RUNNER = r"""
import json, resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=600)
print(json.dumps({"rc": r.returncode, "out": r.stdout, "err": r.stderr,
                  "kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def run_measured(*args: str, env: dict[str, str] | None = None) -> dict:
    """Run `python -m apxl ARGS` in a fresh process: exit code, output, and its peak RSS in KB."""
    res = subprocess.run([sys.executable, "-c", RUNNER, sys.executable, "-m", "apxl", *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT, timeout=900, env={**os.environ, **(env or {})})
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def abuse_files(tmp_path_factory) -> tuple[Path, dict[str, abuse.Case]]:
    folder = tmp_path_factory.mktemp("abuse")
    return folder, abuse.make_all(folder, CORPUS if CORPUS.is_dir() else None)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_abuse_file_gets_a_report_or_one_line_and_stays_under_1_gib(abuse_files):
    folder, cases = abuse_files
    assert len(cases) >= 28
    problems = []
    for name, case in cases.items():
        path = folder / name
        before = sha(path)
        r = run_measured("validate", path, "--as-of", "2026-11-30", "--format", "json")
        lines = r["err"].strip().splitlines()
        if "Traceback" in r["err"] + r["out"] or "panicked" in r["err"]:
            problems.append(f"{name}: traceback or panic: {r['err'][-300:]}")
        if r["kb"] >= GIB_KB:
            problems.append(f"{name}: peak {r['kb'] // 1024} MB")
        if sha(path) != before:
            problems.append(f"{name}: the input changed")
        if r["rc"] == 2:
            if len(lines) != 1 or name not in lines[0] or not lines[0].startswith("apxl: "):
                problems.append(f"{name}: not one line naming the file: {lines}")
            if case.expect == "report":
                problems.append(f"{name}: expected a report, got {lines}")
            elif case.reason and case.reason not in lines[0].lower():
                problems.append(f"{name}: the reason does not say {case.reason!r}: {lines}")
        elif r["rc"] in (0, 1):
            if case.expect == "error":
                problems.append(f"{name}: expected a one-line error, got exit {r['rc']}")
            json.loads(r["out"])
        else:
            problems.append(f"{name}: exit {r['rc']} (killed?) {r['err'][-300:]}")
    assert not problems, "\n".join(problems)


def test_clear_on_every_abuse_file_gives_a_copy_or_one_line(abuse_files, tmp):
    """The write-back side: `apxl clear` reads the package apxl would mark; no traceback, under 1 GiB."""
    folder, cases = abuse_files
    problems = []
    for name in cases:
        out = tmp / f"cleared-{name}"
        r = run_measured("clear", folder / name, "--output", out)
        lines = r["err"].strip().splitlines()
        if "Traceback" in r["err"] or r["kb"] >= GIB_KB or r["rc"] not in (0, 2):
            problems.append(f"{name}: exit {r['rc']}, {r['kb'] // 1024} MB: {r['err'][-300:]}")
        elif r["rc"] == 2 and (len(lines) != 1 or name not in lines[0]):
            problems.append(f"{name}: not one line naming the file: {lines}")
        elif r["rc"] == 0 and not zipfile.ZipFile(out).namelist():
            problems.append(f"{name}: an empty copy")
    assert not problems, "\n".join(problems)


def test_a_batch_of_every_abuse_file_finishes_with_wb006_for_the_unreadable(abuse_files, tmp):
    folder, cases = abuse_files
    good = write_xlsx(folder / "zz_good.xlsx", tracker())
    try:
        r = run_measured("batch", folder, "--jobs", "2", "--format", "json", "--output", tmp / "b.json",
                         "--as-of", "2026-11-30")
    finally:
        good.unlink()
    assert "Traceback" not in r["err"] and r["kb"] < GIB_KB, r["err"][-2000:]
    assert r["rc"] in (0, 1), r["err"][-2000:]
    books = {Path(w["file"]).name: w for w in json.loads((tmp / "b.json").read_text())["workbooks"]}
    assert books["zz_good.xlsx"]["status"] != "unreadable"
    for name, case in cases.items():
        assert name in books, name
        if case.expect == "error":
            assert books[name]["status"] == "unreadable", name
            wb006 = [f for f in books[name]["findings"] if f["rule"] == "WB006"]
            assert len(wb006) == 1 and name in wb006[0]["message"], (name, books[name]["findings"][:2])


def test_a_batch_does_not_inflate_a_bomb_while_looking_for_its_own_reports(tmp):
    folder = tmp / "returns"
    folder.mkdir()
    abuse.custom_properties_bomb(folder)
    r = run_measured("batch", folder, "--format", "json", "--output", tmp / "b.json")
    assert r["kb"] < GIB_KB, f"peak {r['kb'] // 1024} MB"
    assert r["rc"] == 2 and "Traceback" not in r["err"]


def test_a_limit_is_a_setting_named_in_the_message(tmp):
    path = write_xlsx(tmp / "t.xlsx", tracker())
    r = run_measured("validate", path, env={"APXL_MAX_CELLS": "40"})
    assert r["rc"] == 2 and "APXL_MAX_CELLS" in r["err"] and len(r["err"].strip().splitlines()) == 1
    assert run_measured("validate", path, env={"APXL_MAX_CELLS": "1000"})["rc"] in (0, 1)
    r = run_measured("validate", path, env={"APXL_MAX_PART_MB": "1", "APXL_RATIO_FROM_MB": "1",
                                            "APXL_MAX_RATIO": "1"})
    assert r["rc"] in (0, 1), r["err"]          # every part is under 1 MB: the ratio does not apply
    assert run_measured("validate", path, env={"APXL_MAX_PARTS": "3"})["rc"] == 2


def test_limits_read_the_central_directory_only(abuse_files):
    from apxl import limits
    from apxl.errors import UnreadableWorkbook

    folder, _ = abuse_files
    assert limits.declared_entries(str(folder / "many_parts.xlsx")) == 12_013
    with pytest.raises(UnreadableWorkbook, match="APXL_MAX_PART_MB"):
        limits.check_package(str(folder / "zip_bomb.xlsx"))
    assert limits.has_dtd(b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]><x/>')
    assert limits.has_dtd('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x><x/>'.encode("utf-16"))
    assert not limits.has_dtd(b'<?xml version="1.0"?><x><!-- <!DOCTYPE in a comment is text --></x>')


def test_1904_dates_read_as_the_same_days_as_1900(abuse_files):
    import apxl

    folder, _ = abuse_files
    a = apxl.validate(folder / "dates_1900.xlsx", as_of="2026-11-30")
    b = apxl.validate(folder / "dates_1904.xlsx", as_of="2026-11-30")
    strip = lambda r: [(f.rule, f.cell, f.value) for f in r.findings]  # noqa: E731
    assert strip(a) == strip(b) and a.summary["error"] == 0


def test_every_excel_error_in_every_column_is_a_finding_at_its_cell(abuse_files):
    import apxl
    from workbooks import headers

    folder, _ = abuse_files
    report = apxl.validate(folder / "error_values.xlsx", as_of="2026-11-30")
    quoted = {(f.cell, err) for f in report.findings for err in abuse.ERRORS if err in f.message}
    expected = {(f"{col_letter(c)}{r}", err) for r, err in enumerate(abuse.ERRORS, start=2)
                for c in range(len(headers("Placements")))}
    assert expected <= quoted, sorted(expected - quoted)[:5]


def test_a_file_excel_has_open_is_read_but_not_marked_in_place(tmp):
    path = write_xlsx(tmp / "t.xlsx", tracker())
    (tmp / "~$t.xlsx").write_bytes(b"\x0bExcel user" + b" " * 150)
    before = sha(path)
    assert run_measured("validate", path)["rc"] in (0, 1)
    r = run_measured("validate", path, "--in-place")
    assert r["rc"] == 2 and "Excel has it open" in r["err"] and len(r["err"].strip().splitlines()) == 1
    assert sha(path) == before and not (tmp / "t.xlsx.bak").exists()


def test_a_file_another_program_has_locked_gives_one_line(tmp, monkeypatch, capsys):
    """On Windows, Excel's lock makes opening the file fail with a permission error: simulated here."""
    import builtins

    from apxl import cli

    path = write_xlsx(tmp / "t.xlsx", tracker())
    real_open = builtins.open

    def locked(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", locked)
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "permission denied" in err[0], err


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside this checkout")
def test_the_wild_corpus_stays_under_1_gib_and_never_aborts():
    """Every corpus file in one process (so the peak covers each), and through `batch` with workers."""
    script = r"""
import os, resource, sys
import apxl
from apxl.errors import ApxlError
for name in sorted(os.listdir(sys.argv[1])):
    if not name.endswith(".md"):
        try:
            apxl.validate(os.path.join(sys.argv[1], name), as_of="2026-11-30")
        except ApxlError:
            pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    res = subprocess.run([sys.executable, "-c", script, str(CORPUS)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert int(res.stdout.split()[-1]) < GIB_KB


def test_newer_excel_errors_and_text_not_in_utf8_get_their_own_reasons(abuse_files):
    folder, _ = abuse_files
    for name, words in (("error_values_365.xlsx", "holds the Excel error #"),
                        ("non_utf8_shared_strings.xlsx", "not in a character encoding Excel writes (not UTF-8)")):
        r = subprocess.run([sys.executable, "-m", "apxl", "validate", str(folder / name)], capture_output=True,
                           text=True)
        assert r.returncode == 2 and words in r.stderr and "damaged" not in r.stderr, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
