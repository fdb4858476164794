"""Faults while writing: a process killed half-way, two writers at once, a read-only or full output folder.

A user relies on three things: the tracker they gave is never left damaged, a file under the name apxl was
asked to write is either absent, the old one, or a complete new one, and a folder apxl cannot write to gives
one line saying so (exit 2), not a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

from workbooks import tracker, write_xlsx


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def complete_zip(path: Path) -> bool:
    """A whole zip package: every part inflates to its CRC."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def apxl_cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "apxl", *map(str, args)]


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A 10,000-placement tracker (bench/make_tracker.py): its check and annotation take a few seconds."""
    path = tmp_path_factory.mktemp("big") / "tracker.xlsx"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "make_tracker.py"), "10000", str(path)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return path


def _kill_when(proc: subprocess.Popen, folder: Path, moment: str) -> bool:
    """SIGKILL `proc` at `moment`: "early" (0.5 s in), "write" (as its temporary file appears) or "write+"
    (40 ms later). Returns False when the process ended first."""
    deadline = time.monotonic() + 120
    if moment == "early":
        time.sleep(0.5)
    else:
        while time.monotonic() < deadline and proc.poll() is None:
            if any(n.startswith(".apxl-") for n in os.listdir(folder)):
                break
            time.sleep(0.002)
        if moment == "write+":
            time.sleep(0.04)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return True


@pytest.mark.parametrize("moment", ["early", "write", "write+"])
def test_killed_during_in_place_leaves_the_original_or_the_whole_marked_file(big, tmp, moment):
    path = tmp / "tracker.xlsx"
    shutil.copy(big, path)
    before = sha(path)
    proc = subprocess.Popen(apxl_cmd("validate", path, "--in-place", "--format", "json", "--output",
                                     tmp / "r.json"), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = _kill_when(proc, tmp, moment)
    if killed:
        # the rename is the last step: either it happened (a complete marked file) or the original is there
        assert sha(path) == before or complete_zip(path), moment
    else:
        assert proc.returncode in (0, 1) and complete_zip(path)
    bak = tmp / "tracker.xlsx.bak"
    if bak.exists():
        assert sha(bak) == before, "the backup is not the original"
    assert killed or moment == "write+", "the run finished before the kill: the test proves nothing"


@pytest.mark.parametrize("moment", ["early", "write", "write+"])
def test_killed_during_annotate_leaves_no_half_written_copy(big, tmp, moment):
    out = tmp / "marked.xlsx"
    before = sha(big)
    proc = subprocess.Popen(apxl_cmd("validate", big, "--annotate", out, "--format", "json", "--output",
                                     tmp / "r.json"), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = _kill_when(proc, tmp, moment)
    assert sha(big) == before
    assert not out.exists() or complete_zip(out), moment
    if killed and moment != "write+":
        assert not out.exists()


def test_two_writers_of_one_output_leave_one_complete_output(tmp):
    """Two processes annotate different findings into the same path at once: the result is one of the two."""
    src = write_xlsx(tmp / "t.xlsx", tracker())
    script = ("import sys, apxl\nfrom apxl.annotate import annotate\n"
              "r = apxl.validate(sys.argv[1], as_of='2026-11-30')\n"
              "if sys.argv[3] == 'none':\n    r.findings = []\n"
              "annotate(sys.argv[1], sys.argv[2], r, checked='2026-11-30 09:00', notes=sys.argv[3] == 'notes')\n")
    refs = {}
    for kind in ("notes", "none"):
        subprocess.run([sys.executable, "-c", script, src, tmp / f"ref_{kind}.xlsx", kind], check=True, timeout=120)
        refs[kind] = sha(tmp / f"ref_{kind}.xlsx")
    assert refs["notes"] != refs["none"]
    out = tmp / "out.xlsx"
    for _ in range(4):
        procs = [subprocess.Popen([sys.executable, "-c", script, src, out, kind]) for kind in ("notes", "none")]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        assert sha(out) in refs.values()
    assert not [n for n in os.listdir(tmp) if n.startswith(".apxl-")]


# ------------------------------------------------------------------------------------ folders apxl cannot write


def _one_line_exit_2(res: subprocess.CompletedProcess, name: str) -> None:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and len(lines) == 1 and lines[0].startswith("apxl: "), res.stderr
    assert name in lines[0], lines


@pytest.fixture
def small_mount(tmp):
    """A 64 KiB tmpfs (a full disk) mounted at tmp/full; a read-only one at tmp/ro. Needs root to mount."""
    full, ro = tmp / "full", tmp / "ro"
    full.mkdir()
    ro.mkdir()
    mounted = []
    try:
        for where, opts in ((full, "size=64k"), (ro, "size=64k,ro")):
            res = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True)
            if res.returncode != 0:
                pytest.skip("cannot mount a tmpfs here (not root): the in-process tests below cover the same errors")
            mounted.append(where)
        _fill(full / "filler")
        yield full, ro
    finally:
        for where in mounted:
            subprocess.run(["umount", str(where)], capture_output=True)


def _fill(path: Path) -> None:
    """Write until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 1024)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_full_and_read_only_folders_give_one_line(small_mount, tmp):
    full, ro = small_mount
    src = write_xlsx(tmp / "t.xlsx", tracker(placements=[]))
    before = sha(src)
    for folder in (full, ro):
        for args, name in (
            (("validate", src, "--annotate", folder / "m.xlsx"), "m.xlsx"),
            (("validate", src, "--format", "json", "--output", folder / "r.json"), "r.json"),
            (("validate", src, "--format", "html", "--output", folder / "r.html"), "r.html"),
            (("batch", src, "--format", "json", "--output", folder / "b.json"), "b.json"),
            (("template", folder / "tpl.xlsx"), "tpl.xlsx"),
            (("clear", src, "--output", folder / "c.xlsx"), "c.xlsx"),
        ):
            res = subprocess.run(apxl_cmd(*args), capture_output=True, text=True, cwd=ROOT, timeout=120)
            _one_line_exit_2(res, name)
            assert not (folder / name).exists()
        assert not [n for n in os.listdir(folder) if n.startswith(".apxl-")]
    assert sha(src) == before


def test_an_excel_report_on_a_full_disk_gives_one_line(small_mount, tmp):
    full, ro = small_mount
    src = write_xlsx(tmp / "t.xlsx", tracker(placements=[]))
    for folder in (ro, full):
        for args, name in ((("validate", src, "--format", "xlsx", "--output", folder / "r.xlsx"), "r.xlsx"),
                           (("batch", src, "--format", "xlsx", "--output", folder / "b.xlsx"), "b.xlsx")):
            res = subprocess.run(apxl_cmd(*args), capture_output=True, text=True, cwd=ROOT, timeout=120)
            _one_line_exit_2(res, name)
            assert not (folder / name).exists()


def test_in_place_on_a_full_disk_keeps_the_original(tmp):
    """--in-place when the folder fills up half-way: simulated by a write that fails with ENOSPC."""
    src = write_xlsx(tmp / "t.xlsx", tracker(placements=[]))
    before = sha(src)
    script = ("import errno, zipfile, sys\nfrom apxl import cli\nreal = zipfile.ZipFile.writestr\n"
              "def full(self, *a, **k):\n    raise OSError(errno.ENOSPC, 'No space left on device')\n"
              "zipfile.ZipFile.writestr = full\nsys.exit(cli.main(sys.argv[1:]))\n")
    res = subprocess.run([sys.executable, "-c", script, "validate", str(src), "--in-place"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    _one_line_exit_2(res, "t.xlsx")
    assert "No space left on device" in res.stderr
    assert sha(src) == before
    assert not [n for n in os.listdir(tmp) if n.startswith(".apxl-")]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_report_writes_that_fail_give_one_line_in_process(tmp, code, capsys, monkeypatch):
    """The same errors without a mount: the temporary file cannot be made (full, read-only, no permission)."""
    import tempfile

    from apxl import cli

    src = write_xlsx(tmp / "t.xlsx", tracker(placements=[]))

    def refuse(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    for args, name in ((["--format", "json", "--output", str(tmp / "r.json")], "r.json"),
                       (["--annotate", str(tmp / "m.xlsx")], "m.xlsx")):
        assert cli.main(["validate", str(src), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and name in err[0] and os.strerror(code) in err[0], err
        assert not (tmp / name).exists()
