"""Findings and reports: the values every check produces and every output renders."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

SEVERITIES = ("error", "warning", "info")
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or fact) about one cell, row, sheet or workbook.

    `cell`, `row` and `column` are None only for a finding about a whole sheet or workbook; `row` is
    the Excel row number a person sees; `column` is the field's name (the contract header).
    """

    rule: str
    severity: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None
    column: str | None = None
    record: str | None = None
    value: str | None = None
    explained: bool = False

    def sort_key(self) -> tuple:
        """Errors first, then warnings, explained warnings, info; then by rule, sheet and place."""
        rank = _SEVERITY_RANK.get(self.severity, 9)
        if self.severity == "warning" and self.explained:
            rank = 1.5
        return (rank, self.rule, self.sheet or "", self.row or 0, _column_number(self.cell), self.record or "")

    def __reduce__(self) -> tuple:
        """Pickled as its fields in order (a batch worker sends thousands to the parent): about a quarter
        less time each way than the generic form of a slotted dataclass."""
        return (Finding, (self.rule, self.severity, self.message, self.sheet, self.cell, self.row, self.column,
                          self.record, self.value, self.explained))

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "sheet": self.sheet, "cell": self.cell,
                "row": self.row, "column": self.column, "record": self.record, "value": self.value,
                "message": self.message, "explained": self.explained}


def _column_number(cell: str | None) -> int:
    return _letters_number(cell.rstrip("0123456789")) if cell else 0


@lru_cache(maxsize=4096)
def _letters_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch.upper()) - 64)
    return n


@dataclass
class Report:
    """The findings for one workbook, and what they were checked against."""

    file: str
    as_of: str
    findings: list[Finding] = field(default_factory=list)
    template_version: str | None = None
    policy: str = "esa2008"

    @property
    def summary(self) -> dict[str, int]:
        """Counts by severity; `warning` counts unexplained warnings, `explained` the rest."""
        counts = {"error": 0, "warning": 0, "info": 0, "explained": 0}
        for f in self.findings:
            if f.explained:
                counts["explained"] += 1
            elif f.severity in counts:
                counts[f.severity] += 1
        return counts

    @property
    def clean(self) -> bool:
        """No errors and no unexplained warnings."""
        s = self.summary
        return s["error"] == 0 and s["warning"] == 0

    @property
    def exit_code(self) -> int:
        return 1 if self.summary["error"] else 0

    def rule_counts(self) -> Counter:
        return Counter(f.rule for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "as_of": self.as_of,
            "template_version": self.template_version,
            "policy": self.policy,
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        """The JSON of the spec, one finding per line (json's C encoder: fast for thousands of findings)."""
        head = {k: v for k, v in self.to_dict().items() if k != "findings"}
        lines = [json.dumps(f.to_dict(), ensure_ascii=False) for f in self.findings]
        text = json.dumps(head, ensure_ascii=False)[:-1]
        if not lines:
            return text + ', "findings": []}'
        return text + ', "findings": [\n  ' + ",\n  ".join(lines) + "\n]}"

    def to_frame(self):
        """The findings as a pandas DataFrame, one row per finding, in report order."""
        import pandas as pd

        columns = [f.name for f in Finding.__dataclass_fields__.values()]  # type: ignore[attr-defined]
        return pd.DataFrame([f.to_dict() for f in self.findings], columns=columns)

    def redacted(self, personal: set[str]) -> Report:
        """A copy with every personal value (names, UPNs, dates of birth) replaced in every field."""
        if not personal:
            return self
        import re

        needles = sorted((p for p in personal if p), key=len, reverse=True)
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, needles)) + r")(?!\w)")

        def scrub(text: str | None) -> str | None:
            return pattern.sub("[redacted]", text) if text else text

        return replace(
            self,
            findings=[
                replace(f, message=scrub(f.message) or "", value=scrub(f.value), record=scrub(f.record))
                for f in self.findings
            ],
        )
