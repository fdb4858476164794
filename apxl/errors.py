"""Errors a user can act on.

Every failure that reaches the command line is an `ApxlError` with a one-line message that names the
file and what to do; the CLI prints it and exits 2, never a traceback.
"""

from __future__ import annotations


class ApxlError(Exception):
    """A problem the user must fix before apxl can do its job (one line, no traceback)."""


class UnreadableWorkbook(ApxlError):
    """The file cannot be read as a spreadsheet (rule WB006).

    `reason` says what is wrong and `fix` what the user can do; batch runs turn it into a WB006
    finding, a single `apxl validate` into exit status 2.
    """

    def __init__(self, file: str, reason: str, fix: str = "") -> None:
        self.file = file
        self.reason = reason
        self.fix = fix
        super().__init__(f"{file}: {reason}" + (f". {fix}" if fix else ""))


class MappingError(ApxlError):
    """The mapping or policy file cannot be used as given."""
