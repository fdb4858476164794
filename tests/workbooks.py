"""Test helpers that build workbooks: the same ones the rule examples use (workbooks/rule_examples/common.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workbooks"))

from rule_examples.common import *  # noqa: E402,F403
from rule_examples.common import (  # noqa: E402,F401
    FIXED,
    checklist_row,
    done_checklist_row,
    headers,
    placement_row,
    provider_row,
    setup_rows,
    tracker,
    write_xlsx,
)


def found(report, code):
    """The findings of one rule."""
    return [f for f in report.findings if f.rule == code]


def where(report, code):
    """Where one rule's findings point: (sheet, cell, record), sorted."""
    return sorted((f.sheet, f.cell, f.record) for f in found(report, code))
