#!/usr/bin/env python3
"""apxl benchmark: `run.py [--quick] [--runs 5] [--out bench/results.md]`.

Measures in one run, on trackers made by make_tracker.py (cached in bench/data/, git-ignored):

  N = 40, 200, 1000     the whole process `python -m apxl validate FILE --format json --as-of 2026-11-30`
                        against a bare `python -c "import pandas, pandera.pandas"`   (bar: <= 1.5x)
  N = 10,000, 100,000   apxl.validate(FILE, as_of=...) in a fresh process, timing only the call,
                        against python-calamine reading every sheet into lists (the floor; bar <= 3.0x with every rule on);
                        apxl.validate(FILE, as_of=..., sheets=["Placements"]) against frictionless
                        validating Placements with the equivalent Table Schema (bar at 10,000: apxl
                        at least 4x faster); peak RSS at 100,000 (bar < 1 GiB); recall of the
                        planted defects.

Every measured run is a fresh process; runs of the steps compared with each other are interleaved
(round robin) after one discarded warm-up round. Medians and minima are over --runs runs; peak RSS is
the largest max RSS of those runs (/usr/bin/time -v when present, else the child's rusage from wait4).
Steps that cannot run yet (apxl without validate(), no CLI) are reported as "skipped" with the reason.
See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
AS_OF = "2026-11-30"
GNU_TIME = "/usr/bin/time"

FULL = {"cli": [40, 200, 1000], "inproc": [10_000, 100_000], "runs": 5}
QUICK = {"cli": [40, 1000], "inproc": [10_000], "runs": 3}
BARE_CODE = "import pandas, pandera.pandas"
BAR_CLI = 1.5          # apxl CLI process / bare import process
BAR_FLOOR = 3.0        # apxl.validate / calamine floor, every rule on (issue 3; the core alone was held to 2.5)
BAR_PEER = 4.0         # frictionless / apxl Placements-only, at PEER_BAR_N
PEER_BAR_N = 10_000
BAR_ANNOTATE = 1.0     # writing the annotated copy, given its findings / calamine floor, at ANNOTATE_BAR_N
ANNOTATE_BAR_N = 10_000
BAR_ANNOTATE_CLI = 2.0  # whole `apxl validate --annotate` process / bare import, at N = 1,000
BAR_RSS_MB = 1024.0    # peak RSS of apxl.validate at the largest in-process N (100,000 in a full run)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---- running one process and measuring it ------------------------------------------------------------
class Run:
    __slots__ = ("wall", "rss_mb", "rc", "stdout", "stderr", "result")

    def __init__(self, wall, rss_mb, rc, stdout, stderr):
        self.wall, self.rss_mb, self.rc, self.stdout, self.stderr = wall, rss_mb, rc, stdout, stderr
        self.result = None
        if stdout:
            last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
            if last.startswith("{"):
                try:
                    self.result = json.loads(last)
                except ValueError:
                    pass


def run_process(cmd: list[str], env: dict, timeout: float) -> Run:
    """Run cmd in a fresh process; wall time from outside, max RSS of that process."""
    with tempfile.TemporaryDirectory(prefix="apxl-bench-") as td:
        out_p, err_p, time_p = Path(td, "out"), Path(td, "err"), Path(td, "time")
        use_time = os.access(GNU_TIME, os.X_OK)
        full = [GNU_TIME, "-v", "-o", str(time_p)] + cmd if use_time else cmd
        with open(out_p, "wb") as fo, open(err_p, "wb") as fe:
            t0 = time.perf_counter()
            p = subprocess.Popen(full, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env,
                                 cwd=str(REPO), start_new_session=True)
            timer = threading.Timer(timeout, lambda: os.killpg(p.pid, signal.SIGKILL))
            timer.start()
            try:
                _, status, ru = os.wait4(p.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - t0
            p.returncode = rc = os.waitstatus_to_exitcode(status)
        rss_mb = None
        if use_time and time_p.exists():
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_p.read_text())
            if m:
                rss_mb = int(m.group(1)) / 1024
            # GNU time reports a killed child as "Command terminated by signal N" and exits 128+N
        if rss_mb is None and not use_time:
            rss_mb = ru.ru_maxrss / 1024              # Linux: kilobytes
        return Run(wall, rss_mb, rc, out_p.read_text(errors="replace"), err_p.read_text(errors="replace"))


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# ---- the trackers --------------------------------------------------------------------------------------
def generator_hash() -> str:
    return hashlib.sha256((HERE / "make_tracker.py").read_bytes()).hexdigest()[:12]


def ensure_tracker(py: str, data: Path, n: int, seed: int, gen_times: dict) -> Path:
    path = data / f"tracker_{n}_s{seed}.xlsx"
    stamp = data / f"tracker_{n}_s{seed}.gen"
    want = generator_hash()
    if path.exists() and stamp.exists() and stamp.read_text().strip() == want \
            and path.with_name(path.name[:-5] + ".defects.json").exists():
        return path
    log(f"generating {path.name} ...")
    t0 = time.perf_counter()
    subprocess.run([py, str(HERE / "make_tracker.py"), str(n), str(path), "--seed", str(seed), "--quiet"],
                   check=True)
    gen_times[n] = time.perf_counter() - t0
    stamp.write_text(want + "\n")
    return path


# ---- statistics and the table ------------------------------------------------------------------------
def fmt_s(x) -> str:
    if x is None:
        return "–"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_mb(x) -> str:
    return "–" if x is None else f"{x:.0f}"


class Stat:
    def __init__(self, runs: list[Run], key: str = "wall"):
        ok = [r for r in runs if r is not None]
        if key == "wall":
            vals = [r.wall for r in ok]
        else:
            vals = [r.result[key] for r in ok if r.result and key in r.result]
        self.n = len(vals)
        self.median = statistics.median(vals) if vals else None
        self.min = min(vals) if vals else None
        rss = [r.rss_mb for r in ok if r.rss_mb is not None]
        self.rss = max(rss) if rss else None
        self.rcs = sorted({r.rc for r in ok})
        self.last = ok[-1].result if ok and ok[-1].result else {}


ROWS: list[dict] = []


def row(n, what, stat: Stat | None = None, ratio="–", bar="–", verdict="–", notes=""):
    ROWS.append({"N": f"{n:,}" if isinstance(n, int) else n, "what": what,
                 "median": fmt_s(stat.median) if stat else "–", "min": fmt_s(stat.min) if stat else "–",
                 "runs": str(stat.n) if stat else "0", "rss": fmt_mb(stat.rss) if stat else "–",
                 "ratio": ratio, "bar": bar, "verdict": verdict, "notes": notes})


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def table_md() -> str:
    head = ["N", "what", "median s", "min s", "runs", "peak RSS MB", "ratio", "bar", "pass/fail", "notes"]
    keys = ["N", "what", "median", "min", "runs", "rss", "ratio", "bar", "verdict", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in ROWS:
        lines.append("| " + " | ".join(str(r[k]).replace("|", "\\|") for k in keys) + " |")
    return "\n".join(lines)


# ---- apxl availability ---------------------------------------------------------------------------------
def probe_library(py: str, env: dict) -> str | None:
    """None when apxl.validate can be called, else the reason it cannot."""
    code = ("import sys\ntry:\n import apxl\nexcept Exception as e:\n print(f'cannot import apxl: "
            "{type(e).__name__}: {e}'); sys.exit(3)\nif not callable(getattr(apxl, 'validate', None)):\n"
            " print('apxl has no validate() yet'); sys.exit(3)\n")
    p = subprocess.run([py, "-c", code], env=env, cwd=str(REPO), capture_output=True, text=True, timeout=120)
    if p.returncode == 0:
        return None
    return p.stdout.strip() or (p.stderr.strip().splitlines() or ["unknown error"])[-1]


def cli_cmd(py: str, path: Path, annotate: Path | None = None) -> list[str]:
    cmd = [py, "-m", "apxl", "validate", str(path), "--format", "json", "--as-of", AS_OF]
    return cmd + (["--annotate", str(annotate)] if annotate else [])


def probe_cli(py: str, env: dict, path: Path, timeout: float) -> str | None:
    r = run_process(cli_cmd(py, path), env, timeout)
    if cli_ok(r):
        return None
    tail = " ".join((r.stderr.strip() or r.stdout.strip()).splitlines()[-2:])[:300]
    what = "printed no JSON" if r.rc in (0, 1) else f"exited {r.rc}"
    return f"`python -m apxl validate --format json` {what}: {tail}"


def cli_ok(r: Run) -> bool:
    """A CLI run counts when it exits 0 (clean) or 1 (findings) and prints JSON."""
    if r.rc not in (0, 1):
        return False
    try:
        json.loads(r.stdout)
    except ValueError:
        return False
    return True


def findings_in_json(doc) -> list[dict]:
    """Every dict with a 'rule' key anywhere in the CLI's JSON (its shape is the CLI's business)."""
    found = []
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if "rule" in x and isinstance(x.get("rule"), str):
                found.append(x)
            else:
                stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return found


def cli_recall(stdout: str, path: Path) -> str:
    try:
        doc = json.loads(stdout)
    except ValueError:
        return "output is not JSON"
    defects = json.loads(path.with_name(path.name[:-5] + ".defects.json").read_text())["defects"]
    fs = findings_in_json(doc)
    got = set()
    for f in fs:
        cell = str(f.get("cell") or "")
        cell = cell.rsplit("!", 1)[-1].replace("$", "").upper()
        got.add((f.get("rule"), f.get("sheet"), cell))
    want = {(d["rule"], d["sheet"], d["cell"]) for d in defects}
    return f"{len(fs)} findings; recall {len(want & got)}/{len(want)}"


# ---- the measurements ----------------------------------------------------------------------------------
def measure_cli(py, env, files, runs, timeout, lib_reason):
    cli_reason = lib_reason
    if cli_reason is None:
        cli_reason = probe_cli(py, env, files[min(files)], timeout)
    bare = [py, "-c", BARE_CODE]
    for n in sorted(files):
        path = files[n]
        log(f"N={n}: process runs (bare import{'' if cli_reason else ' vs apxl CLI'}) x {runs} ...")
        run_process(bare, env, timeout)                       # warm-up, discarded
        if not cli_reason:
            run_process(cli_cmd(py, path), env, timeout)
        b_runs, a_runs, m_runs = [], [], []
        marked = Path(tempfile.gettempdir()) / f"apxl-bench-marked-{n}.xlsx"
        with_annotate = not cli_reason and n == 1000
        for _ in range(runs):
            b_runs.append(run_process(bare, env, timeout))
            if not cli_reason:
                a_runs.append(run_process(cli_cmd(py, path), env, timeout))
            if with_annotate:
                m_runs.append(run_process(cli_cmd(py, path, marked), env, timeout))
        b = Stat(b_runs)
        bad_b = [r.rc for r in b_runs if r.rc != 0]
        row(n, f"bare `python -c \"{BARE_CODE}\"` (process)", b, "1.00 (base)",
            notes=f"exit codes {sorted(set(bad_b))}!" if bad_b else "")
        if cli_reason:
            row(n, "apxl CLI `validate --format json` (process)", None, "–", f"≤ {BAR_CLI}×", "skipped",
                cli_reason)
            continue
        good = [r for r in a_runs if cli_ok(r)]
        bad = [r for r in a_runs if not cli_ok(r)]
        what = "apxl CLI `validate --format json` (process)"
        bad_note = ""
        if bad:
            bad_note = (f"{len(bad)} of {runs} runs BAD (exit {sorted({r.rc for r in bad})} or no JSON, "
                        "left out of the figures): "
                        + " ".join(bad[-1].stderr.strip().splitlines()[-1:])[:200])
        if not good:
            row(n, what, None, "–", f"≤ {BAR_CLI}×", "**FAIL**", bad_note)
            continue
        a = Stat(good)
        ratio = a.median / b.median
        note = f"exit {','.join(map(str, a.rcs))}; " + cli_recall(good[-1].stdout, path)
        row(n, what, a, f"{ratio:.2f}×", f"≤ {BAR_CLI}×", verdict(ratio <= BAR_CLI and not bad),
            note + ("; " + bad_note if bad_note else ""))
        if with_annotate:
            good_m = [r for r in m_runs if cli_ok(r)]
            what_m = "apxl CLI `validate --format json --annotate OUT` (process)"
            if not good_m:
                row(n, what_m, None, "–", f"≤ {BAR_ANNOTATE_CLI}×", "**FAIL**", "every run failed")
            else:
                m = Stat(good_m)
                ratio_m = m.median / b.median
                row(n, what_m, m, f"{ratio_m:.2f}×", f"≤ {BAR_ANNOTATE_CLI}×",
                    verdict(ratio_m <= BAR_ANNOTATE_CLI and len(good_m) == runs), f"exit {','.join(map(str, m.rcs))}")
            marked.unlink(missing_ok=True)


def step_cmd(py, step, path):
    return [py, str(HERE / "steps.py"), step, str(path)]


def measure_inproc(py, env, files, runs, timeout, lib_reason, warm_file):
    steps = ["floor", "frictionless"] + ([] if lib_reason else ["apxl", "apxl_placements", "annotate"])
    log(f"warm-up round of {', '.join(steps)} on {warm_file.name} ...")
    for s in steps:
        run_process(step_cmd(py, s, warm_file), env, timeout)
    largest = max(files)
    for n in sorted(files):
        path = files[n]
        log(f"N={n}: in-process steps {', '.join(steps)} x {runs} (round robin) ...")
        got = {s: [] for s in steps}
        errs = {s: "" for s in steps}
        for i in range(runs):
            for s in steps:
                r = run_process(step_cmd(py, s, path), env, timeout)
                if r.rc != 0:
                    msg = (r.result or {}).get("error") or r.stderr.strip()[-400:]
                    log(f"  {s} run {i + 1} exited {r.rc}: {msg}")
                    errs[s] = f"exit {r.rc}: " + " ".join(msg.strip().splitlines()[-1:])[:200]
                    r = None
                got[s].append(r)
        st = {s: Stat(got[s], "op_s") for s in steps}
        fl = st["floor"]
        row(n, "floor: python-calamine, all sheets → lists", fl, "1.00 (base)",
            notes=f"{fl.last.get('cells', '?'):,} cells in {fl.last.get('sheets', '?')} sheets"
            if fl.last else "failed")
        if lib_reason:
            for what in ("apxl.validate, all sheets", "apxl.validate, sheets=[\"Placements\"]"):
                row(n, what, None, "–", "–", "skipped", lib_reason)
        else:
            a = st["apxl"]
            if a.n and fl.n:
                ratio = a.median / fl.median
                row(n, "apxl.validate, all sheets (the call only)", a, f"{ratio:.2f}×", f"≤ {BAR_FLOOR}×",
                    verdict(ratio <= BAR_FLOOR and a.n == runs),
                    f"imports (untimed) {a.last.get('import_s', 0):.2f} s; {a.last.get('findings', '?'):,} findings; "
                    f"top rules {a.last.get('top_rules', {})}"
                    + (f"; {runs - a.n} run(s) FAILED: {errs['apxl']}" if a.n < runs else ""))
            else:
                row(n, "apxl.validate, all sheets (the call only)", None, "–", f"≤ {BAR_FLOOR}×", "**FAIL**",
                    "every run failed: " + errs["apxl"])
            p = st["apxl_placements"]
            row(n, "apxl.validate, sheets=[\"Placements\"]", p if p.n else None,
                f"{p.median / fl.median:.2f}× floor" if p.n and fl.n else "–", "–", "–" if p.n else "**FAIL**",
                f"{p.last.get('findings', '?')} findings" if p.n else "every run failed: " + errs["apxl_placements"])
            m = st["annotate"]
            bar_here = n == ANNOTATE_BAR_N
            if m.n and fl.n:
                ratio_m = m.median / fl.median
                row(n, "annotated copy written, given its findings (the call only)", m, f"{ratio_m:.2f}×",
                    f"≤ {BAR_ANNOTATE:g}×" if bar_here else "(info)",
                    verdict(ratio_m <= BAR_ANNOTATE and m.n == runs) if bar_here else "–",
                    f"{m.last.get('findings', '?'):,} findings marked; copy {m.last.get('out_mb', '?')} MB")
            else:
                row(n, "annotated copy written, given its findings (the call only)", None, "–",
                    f"≤ {BAR_ANNOTATE:g}×" if bar_here else "(info)", "**FAIL**" if bar_here else "–",
                    "every run failed: " + errs["annotate"])
        fr = st["frictionless"]
        if fr.n:
            frec = fr.last.get("recall", {})
            fnote = (f"{fr.last.get('errors', '?'):,} errors; recall {frec.get('found', '?')}/"
                     f"{frec.get('planted', '?')}")
        else:
            fnote = "every run failed: " + errs["frictionless"]
        if lib_reason or not fr.n or not st["apxl_placements"].n:
            row(n, "peer: frictionless, Placements, Table Schema", fr if fr.n else None, "–",
                f"apxl ≥ {BAR_PEER:g}× faster" if n == PEER_BAR_N else "(info)",
                "skipped" if lib_reason else ("**FAIL**" if not fr.n else "–"),
                fnote + ("; no apxl to compare: " + lib_reason if lib_reason else ""))
        else:
            speed = fr.median / st["apxl_placements"].median
            bar_here = n == PEER_BAR_N
            row(n, "peer: frictionless, Placements, Table Schema", fr, f"apxl {speed:.1f}× faster",
                f"≥ {BAR_PEER:g}×" if bar_here else "(info)",
                verdict(speed >= BAR_PEER) if bar_here else "–", fnote)
        if not lib_reason and st["apxl"].n:
            a = st["apxl"]
            rec = a.last.get("recall") or {}
            if n == largest:
                row(n, "peak RSS, apxl.validate all sheets", None, "–", f"< {BAR_RSS_MB:.0f} MB",
                    verdict(a.rss is not None and a.rss < BAR_RSS_MB),
                    f"{fmt_mb(a.rss)} MB (floor {fmt_mb(fl.rss)} MB, frictionless {fmt_mb(fr.rss)} MB)")
                ROWS[-1]["rss"] = fmt_mb(a.rss)
            if rec:
                missed = rec.get("missed_sample") or []
                kinds = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(rec.get("by_kind", {}).items()))
                row(n, "recall of planted defects, apxl.validate", None,
                    f"{rec['found']}/{rec['planted']}", "100%", verdict(rec["found"] == rec["planted"]),
                    f"by kind: {kinds}; extra CE findings on Placements: {a.last.get('extra_ce_placements', '?')}"
                    + (f"; missed e.g. {missed[:3]}" if missed else ""))


# ---- main ----------------------------------------------------------------------------------------------
def versions() -> str:
    vs = []
    for pkg in ("pandas", "pandera", "python-calamine", "frictionless", "xlsxwriter", "numpy", "pyarrow"):
        try:
            vs.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            if pkg == "pyarrow":
                vs.append("no pyarrow")
    return ", ".join(vs)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        m = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} CPU ({cpu}), {mem} RAM, {platform.system()} {platform.release()}"


def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip() or "no commit"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "apxl"], cwd=REPO, capture_output=True,
                               text=True).stdout.strip()
        return f"{head}{' + uncommitted changes in apxl/' if dirty else ''}"
    except OSError:
        return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke test: N {QUICK['cli']} and {QUICK['inproc']}, {QUICK['runs']} runs")
    ap.add_argument("--runs", type=int, help="runs per measured step (default 5; 3 with --quick)")
    ap.add_argument("--out", type=Path, default=HERE / "results.md", help="markdown file to write")
    ap.add_argument("--data", type=Path, default=HERE / "data", help="where the trackers go (cached)")
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    ap.add_argument("--cli-sizes", type=lambda s: [int(x) for x in s.split(",")],
                    help="override the N of the process measurements, e.g. 40,200,1000")
    ap.add_argument("--inproc-sizes", type=lambda s: [int(x) for x in s.split(",")],
                    help="override the N of the in-process measurements, e.g. 10000,100000")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before one run is killed")
    a = ap.parse_args(argv)

    cfg = QUICK if a.quick else FULL
    runs = a.runs or cfg["runs"]
    if runs < 5 and not a.quick:
        log(f"note: {runs} runs; the figures are meant as medians of at least 5")
    cli_sizes = a.cli_sizes or cfg["cli"]
    inproc_sizes = a.inproc_sizes or cfg["inproc"]
    a.data.mkdir(parents=True, exist_ok=True)
    env = child_env()
    started = dt.datetime.now()
    t_start = time.perf_counter()

    gen_times: dict[int, float] = {}
    files = {n: ensure_tracker(a.python, a.data, n, a.seed, gen_times) for n in sorted(set(cli_sizes + inproc_sizes))}

    lib_reason = probe_library(a.python, env)
    if lib_reason:
        log(f"apxl not measurable yet: {lib_reason}; measuring the rest")
    measure_cli(a.python, env, {n: files[n] for n in cli_sizes}, runs, a.timeout, lib_reason)
    warm = files[min(cli_sizes)] if cli_sizes else files[min(inproc_sizes)]
    measure_inproc(a.python, env, {n: files[n] for n in inproc_sizes}, runs, a.timeout, lib_reason, warm)

    fails = sum(r["verdict"] == "**FAIL**" for r in ROWS)
    skipped = sum(r["verdict"] == "skipped" for r in ROWS)
    sizes = ", ".join(f"{n:,}: {files[n].stat().st_size / 1e6:.2f} MB" for n in sorted(files))
    gen = ", ".join(f"{n:,}: {s:.1f} s" for n, s in sorted(gen_times.items())) or "all cached"
    md = [
        f"# apxl benchmark{' (--quick)' if a.quick else ''}",
        "",
        f"- when: {started:%Y-%m-%d %H:%M}, {time.perf_counter() - t_start:.0f} s in all; "
        f"machine: {machine()}",
        f"- python {platform.python_version()} ({a.python}); {versions()}",
        f"- apxl: git {git_state()}; {'validate() available' if not lib_reason else 'NOT measurable: ' + lib_reason}",
        f"- trackers: make_tracker.py seed {a.seed} (generator {generator_hash()}), in {a.data}: {sizes}; "
        f"generated this run: {gen}",
        f"- {runs} runs per step, each a fresh process, round robin after a discarded warm-up; "
        f"as-of {AS_OF}; peak RSS = largest max RSS of the runs"
        f" ({'/usr/bin/time -v' if os.access(GNU_TIME, os.X_OK) else 'wait4 rusage'})",
        f"- result: {fails} failing bar(s), {skipped} skipped",
        "",
        table_md(),
        "",
        "Ratios: process rows = apxl median / bare-import median; apxl.validate = call median / floor median; "
        "frictionless = frictionless median / apxl Placements-only median (how many times faster apxl is). "
        "See bench/README.md.",
        "",
    ]
    text = "\n".join(md)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {a.out}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
