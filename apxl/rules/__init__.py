"""The cross-sheet rules: one small pure function per rule, registered by its catalogue code.

A rule takes the validation context (tables, Setup, as-at date, policy) and yields findings. The
domain families (PL, PR, HR, CL, VI, AT, EX) live in modules beside this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..findings import Finding

if TYPE_CHECKING:
    from ..engine import Context

RuleFunction = Callable[["Context"], Iterable[Finding]]
REGISTRY: dict[str, RuleFunction] = {}
_MODULES: tuple[str, ...] = ("placements", "providers", "hours", "checklist", "visits", "attendance")


def rule(code: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule function under its catalogue code."""

    def register(fn: RuleFunction) -> RuleFunction:
        REGISTRY[code] = fn
        return fn

    return register


def run_rules(context: Context) -> list[Finding]:
    import importlib

    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")
    out: list[Finding] = []
    for fn in REGISTRY.values():
        out.extend(fn(context))
    return out
