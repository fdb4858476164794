"""Reports as text for a person at a terminal: errors first, grouped by rule with counts."""

from __future__ import annotations

from itertools import groupby

from .catalogue import catalogue
from .findings import Report

_HEADINGS = (("error", False, "Errors"), ("warning", False, "Warnings"), ("warning", True, "Explained warnings"),
             ("info", False, "Information"))


def to_text(report: Report) -> str:
    s = report.summary
    lines = [
        f"{report.file}: {s['error']} errors, {s['warning']} warnings, {s['explained']} explained, {s['info']} info "
        f"(as at {report.as_of}; policy {report.policy}"
        + (f"; template {report.template_version}" if report.template_version else "") + ")"
    ]
    rules = catalogue()
    for severity, explained, heading in _HEADINGS:
        group = [f for f in report.findings if f.severity == severity and f.explained == explained]
        if not group:
            continue
        lines.append("")
        lines.append(f"{heading} ({len(group)})")
        group.sort(key=lambda f: f.rule)
        for code, items in groupby(group, key=lambda f: f.rule):
            items = list(items)
            title = rules[code].title if code in rules else ""
            lines.append(f"  {code} {title} ({len(items)})")
            for f in items:
                where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "workbook")
                record = f" [{f.record}]" if f.record else ""
                lines.append(f"    {where}{record}: {f.message}")
    if not report.findings:
        lines.append("No problems found.")
    return "\n".join(lines) + "\n"


def batch_to_text(batch) -> str:
    """A batch for a terminal: the headline, one line per return, the cross-school findings, the providers."""
    import os

    lines = [batch.summary_line(), "", "Returns"]
    for r in batch.returns:
        s = r.report.summary
        counted = "" if r.counted or not r.readable else " (superseded: not counted across schools)"
        lines.append(f"  {r.status:<10} {r.label}: {s['error']} errors, {s['warning']} warnings, "
                     f"{s['explained']} explained ({os.path.basename(r.file)}){counted}")
        if not r.readable:
            lines.append(f"             {r.report.findings[0].message}")
    if batch.findings:
        lines += ["", f"Across schools ({len(batch.findings)})"]
        for c in batch.findings:
            lines.append(f"  {c.finding.rule} {c.finding.severity}: {c.finding.message}")
    if batch.providers:
        lines += ["", "Providers (peak full-time pupils at once)"]
        for p in batch.providers:
            when = f" on {p.peak_date}" if p.peak_date else ""
            lines.append(f"  {p.peak:>3}{when}  {p.name} ({p.registration or 'registration unknown'}; "
                         f"{_n(p.pupils, 'pupil')} from {_n(len(p.schools), 'school')})")
    return "\n".join(lines) + "\n"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
