# Written by `apxl template` beside template.xlsm: do not rename one without the other.
"""The Python side of the Check tracker button in template.xlsm.

The button runs xlwings' SampleCall macro (xlwings 0.37.8), which runs
`import template; template.main()` with the workbook's folder first on sys.path: that is why this file has
the workbook's name and sits beside it. Rename the workbook and the button looks for a module of the
new name; rename this file to match (or build a fresh template with `apxl template NEW.xlsm`).
"""

from apxl.excel import check_caller, clear_caller


def main() -> None:
    """Check tracker: check the workbook that pressed the button and mark what apxl finds."""
    check_caller()


def clear() -> None:
    """Clear checks: remove what Check tracker added (for a macro RunPython "import template; template.clear()")."""
    clear_caller()
