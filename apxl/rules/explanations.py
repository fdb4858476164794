"""Explanations: a person explains a warning on the Explanations sheet (rule, record, reason, who, date).

An explanation is matched by rule code and record (the Placement ID or Provider ID), never by cell, so it
survives sorting the rows and checking again. Errors can be explained only on a placement whose Actual end
date has passed (EX001); an explanation with no matching finding is EX002; an incomplete one is EX003.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..findings import Finding
from .base import at, days, texts, usable

if TYPE_CHECKING:
    from ..engine import Context

_PARTS = (("Rule", "rule"), ("Record", "record"), ("Explanation", "explanation"), ("Explained by", "name"),
          ("Date", "date"))


def _key(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


def apply_explanations(ctx: Context, findings: list[Finding]) -> list[Finding]:
    """Mark explained findings; add EX001 to EX003 for the Explanations rows."""
    table = ctx.tables.get("Explanations")
    if table is None or len(table) == 0:
        return findings
    rules, records = texts(table, "Rule"), texts(table, "Record")
    reasons, names = texts(table, "Explanation"), texts(table, "Explained by")
    dates = days(table, "Date")
    placement_ids, ended = _placements(ctx)
    by_key: dict[tuple[str, str], list[int]] = {}
    for k, f in enumerate(findings):
        if f.record is not None and f.severity in ("warning", "error"):
            by_key.setdefault((_key(f.rule), _key(f.record)), []).append(k)
    out = list(findings)
    extra: list[Finding] = []
    for i in range(len(table)):
        missing = [word for (field, word), value in zip(_PARTS, (rules[i], records[i], reasons[i], names[i], dates[i]))
                   if value is None or (isinstance(value, np.datetime64) and np.isnat(value))]
        if "Date" in table.raw and not usable(table, "Date")[i] and "date" not in missing:
            missing.append("date")
        rule_text = rules[i] or ""
        if missing:
            extra.append(at("EX003", table, i, "Rule", missing=_words(missing), value=rule_text))
            continue
        matched = by_key.get((_key(rules[i]), _key(records[i])), [])
        if not matched:
            extra.append(at("EX002", table, i, "Rule", rule=str(rules[i]).upper(), record=records[i], value=rule_text))
            continue
        refused = False
        for k in matched:
            f = out[k]
            if f.severity == "error" and _key(f.record) not in ended:
                refused = True
                continue
            out[k] = replace(f, explained=True)
        if refused:
            why = "This placement has not ended. " if _key(records[i]) in placement_ids else \
                "It is not about a placement. "
            extra.append(at("EX001", table, i, "Rule", rule=str(rules[i]).upper(), record=records[i], why=why,
                            value=rule_text))
    return out + extra


def _placements(ctx: Context) -> tuple[set[str], set[str]]:
    """Every Placement ID, and those whose Actual end date is on or before the as-at date."""
    table = ctx.tables.get("Placements")
    if table is None:
        return set(), set()
    ids = table.records if table.records is not None else texts(table, "Placement ID")
    actual = days(table, "Actual end date")
    done = ~np.isnat(actual) & (actual <= np.datetime64(ctx.as_of, "D"))
    return ({_key(p) for p in ids if p is not None},
            {_key(ids[i]) for i in np.flatnonzero(done) if ids[i] is not None})


def _words(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
