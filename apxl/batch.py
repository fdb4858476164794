"""A partnership's batch: a folder of returned workbooks in, one report object out.

`validate_many(paths)` finds every workbook under the paths, checks each (in worker processes when there
are many), then looks across schools (apxl.crossschool): providers matched between schools, the
registration test counted over every school's placements, the XS rules. The CLI's `apxl batch` and the
HTML, Excel and JSON reports (apxl.reports) all render the `BatchReport` it returns.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .findings import Finding, Report


@dataclass(frozen=True, slots=True)
class CrossFinding:
    """A finding about several returns at once (reported once for the batch), naming the files."""

    finding: Finding
    files: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "files": list(self.files)}


@dataclass
class Return:
    """One returned workbook: its report (None when unreadable) and who sent it."""

    file: str
    report: Report
    school: str | None = None            # Setup's School name
    school_urn: str | None = None        # Setup's School URN
    return_date: str | None = None       # Setup's Return date (ISO)
    readable: bool = True                # False: the report holds the one WB006 finding
    counted: bool = True                 # False: another return from the same school is newer (XS007)

    @property
    def label(self) -> str:
        """How the officer knows the school: its name, else the file name."""
        import os

        return self.school or os.path.basename(self.file)

    @property
    def status(self) -> str:
        """unreadable, errors, warnings or clean (no errors and no unexplained warnings)."""
        if not self.readable:
            return "unreadable"
        s = self.report.summary
        return "errors" if s["error"] else "warnings" if s["warning"] else "clean"

    def to_dict(self) -> dict[str, Any]:
        out = self.report.to_dict()
        extra = {"school": self.school, "school_urn": self.school_urn, "return_date": self.return_date,
                 "status": self.status, "counted": self.counted}
        return {"file": out.pop("file"), **extra, **out}


@dataclass
class ProviderView:
    """One AP setting across every return (providers matched by URN, Directory ID, name and postcode)."""

    name: str
    postcode: str | None = None
    urn: str | None = None
    directory_id: str | None = None
    registration: str | None = None      # believed: the directory's, else the schools'
    pupils: int = 0                      # distinct pupils (UPN) placed there, active or planned
    full_time: int = 0                   # of them, full-time (more than the full-time hours)
    peak: int = 0                        # most full-time pupils of compulsory school age there at once
    peak_date: str | None = None         # the first date of that peak (ISO)
    imported: int = 0                    # of the peak, pupils counted from imported counts (another area)
    looked_after: int = 0
    ehc_plan: int = 0
    audit_status: str | None = None      # believed: the directory's, else the latest audit date's
    audit_date: str | None = None        # ISO
    audit_expiry: str | None = None      # ISO: the audit date plus the policy's audit validity
    last_visit: str | None = None        # the latest QA visit any school recorded (ISO)
    schools: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    limit: int = 5                       # the registration pupil count (for the chart)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}  # type: ignore[attr-defined]


@dataclass
class BatchReport:
    """Every return's report, the findings only the combined view can raise, and the provider view."""

    returns: list[Return] = field(default_factory=list)
    findings: list[CrossFinding] = field(default_factory=list)
    providers: list[ProviderView] = field(default_factory=list)
    as_of: str | None = None             # given on the command line; else each return's own
    policy: str = "esa2008"
    imported_from: list[str] = field(default_factory=list)   # --import-counts files
    directory: str | None = None         # --directory file
    counts: list[dict[str, Any]] = field(default_factory=list)   # --export-counts rows (no pupil data)

    @property
    def headline(self) -> dict[str, int]:
        """returns checked, clean, with errors, unreadable (and with warnings only)."""
        status = Counter(r.status for r in self.returns)
        return {"checked": len(self.returns), "clean": status["clean"], "errors": status["errors"],
                "warnings": status["warnings"], "unreadable": status["unreadable"]}

    def rule_totals(self) -> list[dict[str, Any]]:
        """Per rule across every return: findings, returns with it, explained; cross-school ones too."""
        totals: dict[str, dict[str, Any]] = {}
        for r in self.returns:
            seen = set()
            for f in r.report.findings:
                t = totals.setdefault(f.rule, {"rule": f.rule, "severity": f.severity, "findings": 0,
                                               "returns": 0, "explained": 0, "batch": 0})
                t["findings"] += 1
                t["explained"] += int(f.explained)
                if f.rule not in seen:
                    seen.add(f.rule)
                    t["returns"] += 1
        for c in self.findings:
            f = c.finding
            t = totals.setdefault(f.rule, {"rule": f.rule, "severity": f.severity, "findings": 0, "returns": 0,
                                           "explained": 0, "batch": 0})
            t["batch"] += 1
        order = {"error": 0, "warning": 1, "info": 2}
        return sorted(totals.values(), key=lambda t: (order.get(t["severity"], 9), t["rule"]))

    @property
    def exit_code(self) -> int:
        """0 no return has errors, 1 some have, 2 nothing could be checked."""
        if not self.returns or not any(r.readable for r in self.returns):
            return 2
        errors = any(r.report.summary["error"] for r in self.returns if r.readable)
        errors = errors or any(c.finding.severity == "error" for c in self.findings)
        return 1 if errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {"workbooks": [r.to_dict() for r in self.returns], "findings": [c.to_dict() for c in self.findings]}

    def to_json(self) -> str:
        """The spec's batch JSON: {"workbooks": [...], "findings": [...]} (one finding per line)."""
        parts = [json.dumps(r.to_dict(), ensure_ascii=False) for r in self.returns]
        cross = [json.dumps(c.to_dict(), ensure_ascii=False) for c in self.findings]
        return ('{"workbooks": [\n' + ",\n".join(parts) + '\n],\n"findings": [\n' + ",\n".join(cross) + "\n]}")

    def summary_line(self) -> str:
        h = self.headline
        return (f"{h['checked']} returns checked: {h['clean']} clean, {h['errors']} with errors, "
                f"{h['warnings']} with warnings only, {h['unreadable']} unreadable; "
                f"{len(self.findings)} cross-school findings")


def single(report: Report) -> BatchReport:
    """One workbook's report in the batch shape, so `apxl validate --format html|xlsx` renders it the same way."""
    return BatchReport(returns=[Return(file=report.file, report=report)], as_of=report.as_of, policy=report.policy)


# --- finding the returns ----------------------------------------------------------------------------------

EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


def find_workbooks(paths: list[str], skip: list[str] | None = None) -> list[str]:
    """Every workbook under `paths` (recursively), sorted, without Excel's lock files (`~$`), LibreOffice's
    (`.~lock`), temporary files, hidden files, apxl's own reports and the folders in `skip` (where annotated
    copies and reports are written)."""
    import os

    from .errors import ApxlError

    skip_dirs = [os.path.abspath(s) for s in skip or []]
    found: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)              # named on the command line: always checked
            continue
        if not os.path.isdir(path):
            raise ApxlError(f"{path}: no such file or folder")
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and os.path.abspath(os.path.join(folder, d)) not in skip_dirs)
            for name in sorted(files):
                if _is_return(folder, name):
                    found.append(os.path.join(folder, name))
    seen, out = set(), []
    for f in found:
        key = os.path.realpath(f)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _is_return(folder: str, name: str) -> bool:
    import os

    lower = name.lower()
    if not lower.endswith(EXTENSIONS) or name.startswith(("~$", ".~lock", ".", "~")) or lower.endswith(".tmp"):
        return False
    try:
        from .reports import is_apxl_report
    except ImportError:
        return True
    return not is_apxl_report(os.path.join(folder, name))


# --- checking them --------------------------------------------------------------------------------------

@dataclass
class _Settings:
    as_of: str | None
    policy: Any
    redact: bool
    directory: Any = None


_SETTINGS: _Settings | None = None          # set before the workers fork, so they need not be sent it


def _check_returns(paths: list[str]) -> list[tuple[Return, Any]]:
    """Check some returns together (in a worker; apxl.engine.check_many): for each, its report and the facts
    the cross-school step needs, or WB006."""
    from .engine import check_many

    settings = _SETTINGS
    assert settings is not None
    results = check_many(paths, as_of=settings.as_of, policy=settings.policy,
                         directory_ids=settings.directory.by_id if settings.directory else ())
    return [_returned(path, result, settings) for path, result in zip(paths, results)]


def _returned(path: str, result: Any, settings: _Settings) -> tuple[Return, Any]:
    from .crossschool import facts_of, plain_text
    from .engine import _personal_values
    from .errors import ApxlError, UnreadableWorkbook

    if isinstance(result, UnreadableWorkbook):
        return _unreadable(path, result.reason, result.fix), None
    if isinstance(result, ApxlError):
        return _unreadable(path, str(result).removeprefix(f"{path}: "), ""), None
    if isinstance(result, MemoryError):
        return _unreadable(path, "it is too large to check in the memory available", ""), None
    if isinstance(result, Exception):    # one bad return must not stop the other schools' checks
        return _unreadable(path, f"apxl could not check it ({type(result).__name__})",
                           "Please report this to the apxl maintainers with the file if you can"), None
    report, ctx = result
    personal = _personal_values(ctx.layout) if settings.redact else set()
    facts = facts_of(ctx, personal)

    def setup(key: str) -> str | None:
        item = ctx.setup.get(key)
        return plain_text(item.value) if item is not None else None

    return Return(file=path, report=report, school=setup("School name"), school_urn=setup("School URN"),
                  return_date=ctx.return_date.isoformat() if ctx.return_date else None), facts


def _unreadable(path: str, reason: str, fix: str) -> Return:
    import os

    from .catalogue import finding

    f = finding("WB006", file=os.path.basename(path), reason=reason.rstrip("."), fix=(fix.rstrip(".") + ".") if fix else "")
    return Return(file=path, report=Report(file=path, as_of="", findings=[f]), readable=False, counted=False)


def _warm() -> None:
    """Import and build what every check needs once, before the workers fork (they share it)."""
    import apxl.rules as rules
    from apxl.checks import pandera_schema, register_backends

    register_backends()
    from apxl.schema import sheet_schemas

    for schema in sheet_schemas().values():
        pandera_schema(schema)
    import importlib

    for module in rules._MODULES + ("explanations",):
        importlib.import_module(f"apxl.rules.{module}")


def validate_many(paths: list[str] | str, *, as_of: str | None = None, policy: Any = None, redact: bool = False,
                  directory: str | None = None, import_counts: list[str] | None = None, jobs: int | None = None,
                  skip: list[str] | None = None, progress: Any = None) -> BatchReport:
    """Check every workbook under `paths` and look across them: the report a partnership officer reads.

    Unreadable files become a WB006 return and the rest go on. `jobs` worker processes check the returns
    (default: one per CPU; small batches run in this process). `progress(done, total)` is called as returns
    are checked.
    """
    import datetime as dt
    import os

    from .crossschool import cross_school, load_directory, read_counts
    from .engine import parse_day
    from .errors import ApxlError
    from .policy import load_policy

    global _SETTINGS
    if isinstance(paths, (str, os.PathLike)):
        paths = [str(paths)]
    files = find_workbooks(list(paths), skip)
    if not files:
        raise ApxlError(f"no workbooks (.xlsx, .xlsm, .xls, .xlsb, .ods) found under {', '.join(map(str, paths))}")
    the_policy = load_policy(policy)
    the_directory = load_directory(directory) if directory else None
    imported = [c for f in import_counts or [] for c in read_counts(f)]
    day = parse_day(as_of).isoformat() if isinstance(as_of, str) else (as_of.isoformat() if as_of else None)
    _SETTINGS = _Settings(as_of=day, policy=the_policy, redact=redact, directory=the_directory)
    results = _run(files, jobs, progress)

    returns = [r for r, _ in results]
    facts = [f for _, f in results]
    batch_day = dt.date.fromisoformat(day) if day else max(
        (dt.date.fromisoformat(r.report.as_of) for r in returns if r.readable and r.report.as_of), default=dt.date.today())
    outcome = cross_school(returns, facts, the_policy, batch_day, the_directory, imported)
    for k, r in enumerate(returns):
        _merge(r, outcome, k)
    batch = BatchReport(returns=returns, findings=outcome.cross, providers=outcome.providers, as_of=day,
                        policy=the_policy.name, imported_from=list(import_counts or []),
                        directory=directory)
    batch.counts = outcome.counts
    if redact:
        _redact(batch, facts)
    return batch


def _run(files: list[str], jobs: int | None, progress: Any) -> list[tuple[Return, Any]]:
    """Check the files in order: in this process for a few, else in forked worker processes.

    A worker that dies (a reader crash, the memory killer) loses only its own file: the files it had not
    finished are checked again one by one, each in a fresh worker, and the one that kills its worker
    becomes a WB006 return.
    """
    import multiprocessing
    import os

    jobs = jobs or os.cpu_count() or 1
    jobs = max(1, min(jobs, len(files)))
    results: dict[int, tuple[Return, Any]] = {}

    def done(k: int, result: tuple[Return, Any]) -> None:
        results[k] = result
        if progress:
            progress(len(results), len(files))

    if jobs == 1 or len(files) < 4 or "fork" not in multiprocessing.get_all_start_methods():
        for chunk in _chunks(files, _TOGETHER):
            for k, result in zip(chunk, _check_returns([files[k] for k in chunk])):
                done(k, result)
        return [results[k] for k in range(len(files))]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _warm()
    import gc

    gc.freeze()                 # what the imports built is shared with the workers: the collector leaves it be
    context = multiprocessing.get_context("fork")
    chunks = _chunks(files, _TOGETHER, jobs)
    threshold = gc.get_threshold()
    gc.set_threshold(*_WORKER_GC)   # the results bring in thousands of findings: collect less often meanwhile
    try:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_start) as pool:
            for chunk, chunk_results in zip(chunks, pool.map(_check_returns, [[files[k] for k in c] for c in chunks])):
                for k, result in zip(chunk, chunk_results):
                    done(k, result)
    except BrokenProcessPool:
        for k, f in enumerate(files):
            if k in results:
                continue
            try:
                with ProcessPoolExecutor(1, mp_context=context) as alone:
                    done(k, alone.submit(_check_returns, [f]).result()[0])
            except BrokenProcessPool:
                done(k, (_unreadable(f, "apxl's reader stopped on it (the worker process ended)",
                                     "Open it in Excel and save it again as .xlsx"), None))
    finally:
        gc.set_threshold(*threshold)
    return [results[k] for k in range(len(files))]


_TOGETHER = 8                  # returns checked together at most
_TOGETHER_BYTES = 1 << 20      # ... and at most this much of them on disk: a large return goes alone


def _chunks(files: list[str], size: int, workers: int = 1) -> list[list[int]]:
    """The files' positions in runs checked together (apxl.engine.check_many): small returns share the fixed
    costs of a check; a run is short enough that every worker stays busy to the end and progress moves
    (with several workers the runs shorten towards the end, so none waits long for the last), and a return
    over a quarter of the byte budget is checked alone, so a worker never holds several large workbooks."""
    import os

    chunks: list[list[int]] = []
    run: list[int] = []
    held = 0
    limit = size
    for k, f in enumerate(files):
        try:
            nbytes = os.path.getsize(f)
        except OSError:
            nbytes = 0
        if run and (len(run) >= limit or held + nbytes > _TOGETHER_BYTES or nbytes > _TOGETHER_BYTES // 4):
            chunks.append(run)
            run, held = [], 0
        if not run and workers > 1:
            limit = min(size, max(1, (len(files) - k) // (2 * workers)))
        run.append(k)
        held += nbytes
        if nbytes > _TOGETHER_BYTES // 4:
            chunks.append(run)
            run, held = [], 0
    if run:
        chunks.append(run)
    return chunks


def _worker_start() -> None:
    """A worker checks one small workbook after another: the cyclic garbage collector, run every few hundred
    allocations by default, costs a tenth of its time there; every few thousand is plenty (each return's
    objects are let go when it is done)."""
    import gc

    gc.set_threshold(*_WORKER_GC)
    gc.enable()


_WORKER_GC = (20_000, 20, 20)


def _merge(r: Return, outcome: Any, k: int) -> None:
    """Put the cross-school findings that concern a return into its report (its own HR002-HR004 are
    recounted over every school: they are replaced, keeping their explanations)."""
    from dataclasses import replace

    from .crossschool import REGISTRATION_RULES

    added = outcome.per_return.get(k, [])
    if k not in outcome.replaces and not added:
        return
    findings = r.report.findings
    if k in outcome.replaces:
        explained = {(f.rule, f.record) for f in findings if f.rule in REGISTRATION_RULES and f.explained}
        findings = [f for f in findings if f.rule not in REGISTRATION_RULES]
        added = [replace(f, explained=True) if (f.rule, f.record) in explained and f.severity == "warning" else f
                 for f in added]
    r.report.findings = sorted(findings + list(added), key=Finding.sort_key)


def _redact(batch: BatchReport, facts: list[Any]) -> None:
    everyone: set[str] = set()
    for f in facts:
        if f is not None:
            everyone |= f.personal
    for r, f in zip(batch.returns, facts):
        if f is not None and f.personal:
            r.report = r.report.redacted(everyone)
    if everyone:
        scrub = Report(file="", as_of="", findings=[c.finding for c in batch.findings]).redacted(everyone)
        batch.findings = [CrossFinding(f, c.files) for f, c in zip(scrub.findings, batch.findings)]
