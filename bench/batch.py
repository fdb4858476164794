#!/usr/bin/env python3
"""apxl batch benchmark: `batch.py [--returns 150 600] [--placements 40] [--runs 5] [--out bench/results-batch.md]`.

Measures, in one run, on folders of returns made by make_tracker.py (one school each, its own School URN;
cached in bench/data/, git-ignored):

  time    the whole `python -m apxl batch DIR --format json --output F --as-of 2026-11-30` process against the
          floor: a process that imports pandas and reads every sheet of the same files into DataFrames with
          python-calamine (bar at the first --returns: at most 2x). Fresh processes, interleaved, one
          discarded warm-up round; medians of --runs.
  memory  the peak memory of the batch process tree (the parent and its worker processes together), as the
          largest sum of their proportional set sizes (PSS, /proc/PID/smaps_rollup, sampled every 20 ms:
          pages the forked workers share are counted once), at each --returns; and the same for the floor.
          It should grow with the placements held, not with a copy per worker per file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from run import child_env, generator_hash, log, machine, versions  # noqa: E402

AS_OF = "2026-11-30"
BAR = 2.0
FLOOR = """
import os, sys
import pandas as pd
from python_calamine import CalamineWorkbook
frames = 0
for folder, _, names in os.walk(sys.argv[1]):
    for name in sorted(names):
        if name.endswith(".xlsx"):
            book = CalamineWorkbook.from_path(os.path.join(folder, name))
            for sheet in book.sheet_names:
                rows = book.get_sheet_by_name(sheet).to_python()
                pd.DataFrame(rows[1:], columns=None)
                frames += 1
print(frames)
"""


def ensure_folder(py: str, returns: int, placements: int) -> Path:
    folder = HERE / "data" / f"batch_{returns}x{placements}"
    stamp = folder / ".gen"
    want = f"{generator_hash()} {returns} {placements}"
    if stamp.exists() and stamp.read_text().strip() == want:
        return folder
    log(f"generating {returns} returns of {placements} placements in {folder} ...")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    for k in range(returns):
        subprocess.run([py, str(HERE / "make_tracker.py"), str(placements), str(folder / f"school_{k:04d}.xlsx"),
                        "--seed", str(1000 + k), "--school", str(k), "--quiet"], check=True)
        (folder / f"school_{k:04d}.defects.json").unlink(missing_ok=True)
    stamp.write_text(want + "\n")
    return folder


def _tree(root: int) -> list[int]:
    """The process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total / 1024


def run(cmd: list[str], env: dict, sample: bool = False) -> tuple[float, float | None, int, str]:
    """Wall seconds, peak PSS of the process tree in MB (when sampled), exit code, stderr."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=str(REPO))
        peak = [0.0]
        if sample:
            def watch() -> None:
                while p.poll() is None:
                    peak[0] = max(peak[0], _pss_mb(_tree(p.pid)))
                    time.sleep(0.02)
            thread = threading.Thread(target=watch, daemon=True)
            thread.start()
        rc = p.wait()
        wall = time.perf_counter() - t0
        if sample:
            thread.join()
        err.seek(0)
        return wall, (peak[0] if sample else None), rc, err.read().decode(errors="replace")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--returns", type=int, nargs="+", default=[150, 600])
    ap.add_argument("--placements", type=int, default=40)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--jobs", type=int, help="passed to apxl batch --jobs (default: apxl's, one per CPU)")
    ap.add_argument("--out", type=Path, default=HERE / "results-batch.md")
    a = ap.parse_args(argv)
    py, env = sys.executable, child_env()
    lines = ["# apxl batch benchmark", "", f"`python bench/batch.py {' '.join(argv or sys.argv[1:])}`".rstrip(), "",
             machine(), "", versions(), "",
             "| Returns x placements | apxl batch (median s) | floor: import pandas + calamine read (median s) | "
             "ratio | bar | peak memory, apxl (MB, PSS of all processes) | peak memory, floor (MB) |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="apxl-batch-") as td:
        for i, returns in enumerate(a.returns):
            folder = ensure_folder(py, returns, a.placements)
            apxl = [py, "-m", "apxl", "batch", str(folder), "--format", "json", "--output", str(Path(td, "b.json")),
                    "--as-of", AS_OF] + (["--jobs", str(a.jobs)] if a.jobs else [])
            floor = [py, "-c", FLOOR, str(folder)]
            runs = a.runs if i == 0 else max(1, a.runs // 2)
            times: dict[str, list[float]] = {"apxl": [], "floor": []}
            for k in range(runs + 1):                       # round 0 warms the caches and is discarded
                for name, cmd in (("apxl", apxl), ("floor", floor)):
                    wall, _, rc, err = run(cmd, env)
                    if rc not in (0, 1):
                        log(f"{name} failed (exit {rc}): {err.strip()[-400:]}")
                        return 2
                    if k:
                        times[name].append(wall)
            peak = run(apxl, env, sample=True)[1]
            floor_peak = run(floor, env, sample=True)[1]
            med_a, med_f = statistics.median(times["apxl"]), statistics.median(times["floor"])
            ratio = med_a / med_f
            bar = f"≤ {BAR:g}x: {'met' if ratio <= BAR else 'NOT met'}" if i == 0 else "–"
            lines.append(f"| {returns} x {a.placements} | {med_a:.2f} | {med_f:.2f} | {ratio:.2f}x | {bar} | "
                         f"{peak:.0f} | {floor_peak:.0f} |")
            log(lines[-1])
    lines += ["", f"Medians of {a.runs} fresh processes at {a.returns[0]} returns ({max(1, a.runs // 2)} at the larger "
              "folders), interleaved after a discarded warm-up round; memory from one sampled run each.", ""]
    a.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
