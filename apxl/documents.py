"""`apxl documents` and `apxl ofsted-list`: their options and their running.

The CLI imports this module on every start to build its parser, so it imports nothing at its top level;
the documents themselves are made by apxl/placement_documents.py, imported when a command runs. Its
public names (`generate`, `ofsted_list`, `check_templates`, `english_date`, `KINDS`, `SAMPLES` ...) can
be imported from here too.
"""

from __future__ import annotations

import sys
from typing import Any


def __getattr__(name: str) -> Any:
    """`from apxl.documents import generate` etc.: the implementation's names, loaded on first use.

    Dunder names (the import system asks for `__path__`) are not there, and must not load anything.
    """
    if name.startswith("__"):
        raise AttributeError(name)
    from . import placement_documents

    try:
        return getattr(placement_documents, name)
    except AttributeError:
        raise AttributeError(f"module 'apxl.documents' has no attribute {name!r}") from None


# --- the command line --------------------------------------------------------------------------------------

def add_parsers(sub) -> None:
    """`apxl documents` and `apxl ofsted-list` on apxl's command line."""
    d = sub.add_parser("documents", help="fill placement documents and provider visit forms from a tracker")
    d.add_argument("file", metavar="FILE", nargs="?")
    d.add_argument("--out", metavar="DIR", help="the folder the documents go in (made if needed)")
    d.add_argument("--placement", metavar="ID", action="append", help="only this placement's documents (repeatable)")
    d.add_argument("--provider", metavar="ID", action="append", help="only this provider's forms (repeatable)")
    d.add_argument("--format", choices=("docx", "html"), default="docx")
    d.add_argument("--templates", metavar="DIR", help="your partnership's own templates (same file names as the samples)")
    d.add_argument("--check-templates", metavar="DIR", help="list split placeholders and unknown fields in DIR's templates")
    d.add_argument("--as-of", metavar="DATE", help="the date that decides which placements are in use")
    d.add_argument("--mapping", metavar="MAP.yaml", help="where a school's own tracker keeps each field")

    o = sub.add_parser("ofsted-list", help="the list of APs in use that Ofsted asks for at the planning call")
    o.add_argument("file", metavar="FILE")
    o.add_argument("--format", choices=("xlsx", "html"), help="default: from --output's extension, else xlsx")
    o.add_argument("--output", metavar="PATH", help="where to write it (default: FILE's name + -ofsted-list)")
    o.add_argument("--as-of", metavar="DATE", help="the date that decides which placements are in use")
    o.add_argument("--mapping", metavar="MAP.yaml", help="where a school's own tracker keeps each field")


def run_command(args) -> int:
    """Run `documents` or `ofsted-list`; print file names and missing fields only (never pupil data)."""
    from .errors import ApxlError
    from .placement_documents import generate

    if args.command == "ofsted-list":
        return _run_ofsted(args)
    if args.check_templates:
        return _run_check(args.check_templates)
    if not args.file:
        raise ApxlError("give the tracker FILE (or --check-templates DIR)")
    if not args.out:
        raise ApxlError("say where the documents go: --out DIR")
    outcome = generate(args.file, args.out, placements=args.placement, providers=args.provider, fmt=args.format,
                       templates=args.templates, as_of=args.as_of, mapping=args.mapping)
    for path in outcome.written:
        print(path)
    for name, missing in outcome.incomplete:
        print(f"apxl: {name}: not in the tracker: {', '.join(missing)}", file=sys.stderr)
    done = f"apxl: wrote {len(outcome.written)} documents to {args.out}"
    if outcome.incomplete:
        done += f"; {len(outcome.incomplete)} show values the tracker does not hold"
    print(done, file=sys.stderr)
    return outcome.exit_code


def _run_check(folder: str) -> int:
    from .placement_documents import check_templates

    problems, fields = check_templates(folder)
    for p in problems:
        print(f"{p.template}: {p.problem}")
    if any(p.problem.startswith("unknown field") for p in problems):
        print("fields apxl provides: " + ", ".join(fields))
    if problems:
        print(f"apxl: {len(problems)} problems in the templates in {folder}", file=sys.stderr)
        return 1
    print(f"apxl: the templates in {folder} are fine", file=sys.stderr)
    return 0


def _run_ofsted(args) -> int:
    from pathlib import Path

    from .placement_documents import ofsted_list

    fmt = args.format
    if fmt is None:
        fmt = "html" if args.output and Path(args.output).suffix.lower() in (".html", ".htm") else "xlsx"
    output = args.output or f"{Path(args.file).stem}-ofsted-list.{fmt}"
    path, missing = ofsted_list(args.file, output, fmt=fmt, as_of=args.as_of, mapping=args.mapping)
    print(path)
    if missing:
        print(f"apxl: {path.name}: not in the tracker: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0
