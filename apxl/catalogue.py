"""The rule catalogue: one record per rule, read from schemas/catalogue/ (one YAML file per family).

The checks build findings through `finding()`, so the code, severity and message wording of every
finding come from the same record that `apxl rules` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from .findings import Finding
from .resources import load_schema_file

FAMILIES = ("WB", "CE", "PL", "PR", "HR", "CL", "VI", "AT", "EX", "XS")


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    title: str
    severity: str                      # the default (or only) severity
    severities: dict[str, str]         # severity per state, where it depends on the state
    message: str                       # a str.format template
    source: str
    points_at: str

    @property
    def family(self) -> str:
        return self.code[:2]


@cache
def catalogue() -> dict[str, Rule]:
    raw: dict[str, dict[str, Any]] = {}
    for family in FAMILIES:
        try:
            raw.update(load_schema_file(f"catalogue/{family}.yaml") or {})
        except FileNotFoundError:
            continue
    rules = {}
    for code, rec in raw.items():
        severities = dict(rec.get("severities") or {})
        severity = rec.get("severity") or next(iter(severities.values()))
        rules[code] = Rule(
            code=code,
            title=rec["title"],
            severity=severity,
            severities=severities,
            message=rec["message"],
            source=rec.get("source", ""),
            points_at=rec.get("points_at", ""),
        )
    return rules


class _Blank(dict):
    """Format parameters that render a missing key as empty rather than raising."""

    def __missing__(self, key: str) -> str:
        return ""


def finding(
    code: str,
    *,
    state: str | None = None,
    sheet: str | None = None,
    cell: str | None = None,
    row: int | None = None,
    column: str | None = None,
    record: str | None = None,
    value: str | None = None,
    **params: Any,
) -> Finding:
    """Make a finding of rule `code`, its message filled from the catalogue template."""
    rule = catalogue()[code]
    severity = rule.severities.get(state, rule.severity) if state else rule.severity
    fmt = _Blank(params)
    fmt.setdefault("sheet", sheet or "")
    fmt.setdefault("cell", cell or "")
    fmt.setdefault("field", column or "")
    fmt.setdefault("record", record or "")
    message = " ".join(rule.message.format_map(fmt).split())
    return Finding(
        rule=code,
        severity=severity,
        message=message,
        sheet=sheet,
        cell=cell,
        row=row,
        column=column,
        record=record,
        value=value,
    )
