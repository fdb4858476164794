#!/usr/bin/env python3
"""Seconds per document of `apxl documents` for a tracker of N placements, against the floor.

`python bench/documents.py [--placements 150] [--runs 5]`

The command is timed in-process (`apxl.documents.generate`: reading and checking the workbook, building
each document's values, rendering and writing every .docx). The floor is what no filling can avoid:
rendering the bare sample template of each document kind (docxtpl, an empty context) and saving it, as
many times and in the same mix of kinds as the command wrote. Runs alternate between the two; the medians
of `--runs` runs are printed with their ratio. The bar is a ratio of at most 2 (exit 1 above it).
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from apxl.documents import KINDS, SAMPLES, generate  # noqa: E402

BAR = 2.0


def make_tracker(n: int, folder: Path) -> Path:
    """The benchmark tracker of n placements (bench/make_tracker.py, seeded: the same workbook every time)."""
    out = folder / f"tracker_{n}.xlsx"
    subprocess.run([sys.executable, str(HERE / "make_tracker.py"), str(n), str(out)], check=True,
                   capture_output=True)
    return out


def time_command(tracker: Path, out: Path) -> tuple[float, list[str]]:
    """One run of the command; the seconds and the kind of each document written."""
    start = time.perf_counter()
    outcome = generate(tracker, out, fmt="docx")
    seconds = time.perf_counter() - start
    kinds = [next(k.name for k in KINDS if p.stem.endswith(k.name)) for p in outcome.written]
    return seconds, kinds


def time_floor(kinds: list[str], out: Path) -> float:
    """Render each kind's bare sample with an empty context and save it, once per document the command wrote."""
    from docxtpl import DocxTemplate
    from jinja2 import ChainableUndefined, Environment

    env = Environment(undefined=ChainableUndefined)      # an empty context: every placeholder renders blank
    samples = {k.name: (SAMPLES / f"{k.name}.docx").read_bytes() for k in KINDS}
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i, kind in enumerate(kinds):
        doc = DocxTemplate(io.BytesIO(samples[kind]))
        doc.render({}, jinja_env=env)
        doc.save(str(out / f"{i}-{kind}.docx"))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--placements", type=int, default=150)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tracker = make_tracker(args.placements, folder)
        command, floor = [], []
        kinds: list[str] = []
        for run in range(args.runs):
            seconds, kinds = time_command(tracker, folder / f"docs{run}")
            command.append(seconds)
            floor.append(time_floor(kinds, folder / f"floor{run}"))
    n = len(kinds)
    per_doc, per_floor = statistics.median(command) / n, statistics.median(floor) / n
    ratio = per_doc / per_floor
    mix = ", ".join(f"{kinds.count(k.name)} {k.name}" for k in KINDS)
    print(f"apxl documents: {args.placements} placements, {n} documents ({mix}); medians of {args.runs} runs")
    print(f"  command: {statistics.median(command):.2f} s, {per_doc * 1000:.1f} ms per document")
    print(f"  floor (bare sample rendered and saved): {statistics.median(floor):.2f} s, "
          f"{per_floor * 1000:.1f} ms per document")
    print(f"  ratio: {ratio:.2f} (bar: at most {BAR:g}) {'ok' if ratio <= BAR else 'FAIL'}")
    return 0 if ratio <= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
