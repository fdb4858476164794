"""apxl: check Alternative Provision placement trackers against the law, the guidance and the contract.

    import apxl
    report = apxl.validate("tracker.xlsx", as_of="2026-11-30")
    report.findings, report.summary, report.to_frame(), report.to_json()

Heavy modules (pandas, pandera) are imported on first use, so `import apxl` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
TEMPLATE_VERSION = "1.0"

__all__ = ["validate", "validate_many", "Finding", "Report", "ApxlError", "UnreadableWorkbook", "rules", "__version__"]

if TYPE_CHECKING:
    from .batch import validate_many
    from .engine import validate
    from .errors import ApxlError, UnreadableWorkbook
    from .findings import Finding, Report


def __getattr__(name: str) -> Any:
    if name == "validate":
        from .engine import validate

        return validate
    if name == "validate_many":
        from .batch import validate_many

        return validate_many
    if name in ("Finding", "Report"):
        from . import findings

        return getattr(findings, name)
    if name in ("ApxlError", "UnreadableWorkbook"):
        from . import errors

        return getattr(errors, name)
    if name == "catalogue":
        from .catalogue import catalogue

        return catalogue
    raise AttributeError(f"module 'apxl' has no attribute {name!r}")
