"""Writing files safely, and text that is safe to write.

Every file apxl writes (reports, marked copies, templates, backups, counts) goes to a temporary file beside
its target and is renamed over it only once complete, so a crash half-way never leaves a half-written file
under the name asked for. Every text cell apxl exports is neutralised, so that no spreadsheet runs it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Text a spreadsheet would read as a formula, made inert with a leading single quote.

    Tab and carriage return count too: some programs strip them before parsing. The apostrophe is part of the
    stored text on purpose: Excel's own quote-prefix style would hide it and drop it again on export to CSV.
    """
    return "'" + text if text.startswith(FORMULA_START) else text


@contextmanager
def replacing(path: str, suffix: str = ".tmp") -> Iterator[str]:
    """A temporary path beside `path` to write to: renamed over `path` when the block ends, removed when it fails.

    The new file gets `path`'s permissions when it exists, else those of any new file (mkstemp's are private).
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".apxl-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: str, text: str) -> None:
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
