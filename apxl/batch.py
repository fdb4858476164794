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
