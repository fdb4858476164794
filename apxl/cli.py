"""The `apxl` command: a thin layer over the library. Exit 0 no errors, 1 errors, 2 not checked."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="apxl", description="Check Alternative Provision placement trackers.")
    p.add_argument("--version", action="version", version=f"apxl {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    v = sub.add_parser("validate", help="check one workbook and report every finding")
    v.add_argument("file", metavar="FILE")
    v.add_argument("--as-of", metavar="DATE", help="the date to check against (default: Setup's Return date, else today)")
    v.add_argument("--format", choices=("text", "json"), default="text")
    v.add_argument("--output", metavar="PATH", help="write the report here instead of to the screen")
    v.add_argument("--mapping", metavar="MAP.yaml", help="where a school's own tracker keeps each field")
    v.add_argument("--policy", metavar="POLICY.yaml", help="override policy parameters")
    v.add_argument("--sheets", metavar="SHEET", nargs="+", help=argparse.SUPPRESS)
    v.add_argument("--redact", action="store_true", help="leave pupil names, UPNs and dates of birth out")
    v.add_argument("--annotate", metavar="OUT", help="also write a copy of FILE with the findings marked (.xlsx/.xlsm)")
    v.add_argument("--no-notes", action="store_true", help="with --annotate: highlights and Warnings sheet, no notes")
    v.add_argument("--in-place", action="store_true",
                   help="mark FILE itself (through a temporary file, keeping FILE.bak); refused while Excel has it open")

    c = sub.add_parser("clear", help="write a copy without apxl's marks (highlights, Warnings sheet)")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--output", metavar="OUT", help="where to write the cleared copy")
    c.add_argument("--in-place", action="store_true", help="clear FILE itself (keeping FILE.bak)")

    t = sub.add_parser("template", help="write the empty tracker template, built from apxl's schemas")
    t.add_argument("output", metavar="OUT.xlsx", help="where to write it (.xlsx; the .xlsm with buttons is not available yet)")

    u = sub.add_parser("upgrade", help="move a tracker's data into a copy of the current template")
    u.add_argument("old", metavar="OLD")
    u.add_argument("new", metavar="NEW.xlsx")
    u.add_argument("--mapping", metavar="MAP.yaml", help="where a school's own tracker keeps each field")

    r = sub.add_parser("rules", help="print the rule catalogue")
    r.add_argument("--format", choices=("text", "markdown", "json"), default="text")

    m = sub.add_parser("map", help="propose a mapping file for a school's own tracker")
    m.add_argument("file", metavar="FILE")
    m.add_argument("--output", metavar="MAP.yaml", help="write the proposal here (default: the screen)")

    _documents_parsers(sub)
    return p


def _documents_parsers(sub) -> None:
    """`apxl documents` and `apxl ofsted-list` (apxl/documents.py owns their options and their running)."""
    try:
        from .documents import add_parsers
    except ImportError:                 # the documents module is not there yet
        return
    add_parsers(sub)


def run() -> None:
    """The console script: run, flush, and leave without tearing the interpreter down.

    Freeing pandas, pandera and every finding at exit costs about 0.1 s, which a person pressing the
    Excel button waits for; the work is done and the output flushed, so the process ends at once.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:          # `apxl validate ... | head`: the reader went away
        code = code or 0
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .errors import ApxlError

    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "clear":
            return _clear(args)
        if args.command == "template":
            return _template(args)
        if args.command == "upgrade":
            return _upgrade(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "map":
            return _map(args)
        if args.command in ("documents", "ofsted-list"):
            from .documents import run_command

            return run_command(args)
    except ApxlError as exc:
        print(f"apxl: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("apxl: stopped", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"apxl: {getattr(args, 'file', '')}: too large to check in the memory available", file=sys.stderr)
        return 2
    return 2


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from .errors import ApxlError
    from .output import write_text_atomic

    try:
        write_text_atomic(output, text)
    except OSError as exc:
        raise ApxlError(f"{output}: cannot write the report ({exc.strerror or exc})") from None


def _mark_target(args: argparse.Namespace) -> str | None:
    """Where `validate --annotate/--in-place` writes, after the refusals that need no checking."""
    target = args.annotate
    if args.in_place:
        if target is not None and not _same(target, args.file):
            raise _error(f"--in-place marks {args.file} itself: leave out --annotate, or give --annotate {args.file}")
        target = args.file
    if target is None:
        return None
    _refuse(args.file, target, args.in_place)
    return target


def _same(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def _error(text: str):
    from .errors import ApxlError

    return ApxlError(text)


def _refuse(src: str, out: str, in_place: bool) -> None:
    from .annotate import UNSUPPORTED, lock_file

    if not os.path.exists(src):
        raise _error(f"{src}: no such file")
    if _same(src, out):
        if not in_place:
            raise _error(f"{out} is the input file: give another name, or --in-place to change it (keeping a .bak)")
        lock = lock_file(src)
        if lock is not None:
            raise _error(f"{src}: Excel has it open ({os.path.basename(lock)} beside it); close it in Excel first")
    elif os.path.exists(out) and lock_file(out) is not None:
        raise _error(f"{out}: Excel has it open ({os.path.basename(lock_file(out))} beside it); close it in Excel first")
    if src.lower().endswith(UNSUPPORTED):
        raise _error(f"{src}: apxl writes marks only into .xlsx and .xlsm files; save it as .xlsx in Excel first")


def _write_marked(action, src: str, out: str) -> None:
    """annotate/clear into `out`; over `src` itself, keep a backup first (the write is an atomic rename)."""
    if _same(src, out):
        import shutil

        try:
            shutil.copy2(src, src + ".bak")
        except OSError as exc:
            raise _error(f"{src}.bak: cannot keep a backup ({exc.strerror or exc})") from None
        action(src, src, in_place=True)
    else:
        action(src, out)


def _validate(args: argparse.Namespace) -> int:
    from .annotate import UNSUPPORTED
    from .engine import validate

    target: str | None = None
    no_copy = None
    if args.annotate or args.in_place:
        if args.file.lower().endswith(UNSUPPORTED):
            no_copy = _error(f"{args.file}: apxl writes marks only into .xlsx and .xlsm files, so no marked copy "
                             "was written; save it as .xlsx in Excel first")
        else:
            target = _mark_target(args)
    report = validate(args.file, as_of=args.as_of, mapping=args.mapping, policy=args.policy,
                      sheets=args.sheets, redact=args.redact)
    if args.format == "json":
        text = report.to_json() + "\n"
    else:
        from .render import to_text

        text = to_text(report)
    _write(text, args.output)
    if no_copy is not None:
        raise no_copy
    if target is not None:
        from functools import partial

        from .annotate import annotate

        try:
            _write_marked(partial(annotate, report=report, notes=not args.no_notes), args.file, target)
        except OSError as exc:
            raise _error(f"{target}: cannot write the marked copy ({exc.strerror or exc})") from None
    return report.exit_code


def _clear(args: argparse.Namespace) -> int:
    from .annotate import clear

    if args.output is None and not args.in_place:
        raise _error("say where the cleared copy goes: --output OUT, or --in-place to clear FILE itself")
    if args.output is not None and args.in_place and not _same(args.output, args.file):
        raise _error(f"--in-place clears {args.file} itself: leave out --output")
    out = args.file if args.in_place else args.output
    _refuse(args.file, out, args.in_place)
    try:
        _write_marked(clear, args.file, out)
    except OSError as exc:
        raise _error(f"{out}: cannot write the cleared copy ({exc.strerror or exc})") from None
    return 0


def _rules(args: argparse.Namespace) -> int:
    from .catalogue import catalogue

    rules = catalogue()
    if args.format == "json":
        import json

        text = json.dumps([{"code": r.code, "title": r.title, "severity": r.severity, "severities": r.severities,
                            "message": r.message, "source": r.source, "points_at": r.points_at}
                           for r in rules.values()], indent=2, ensure_ascii=False) + "\n"
    elif args.format == "markdown":
        from .catalogue import markdown

        text = markdown()
    else:
        lines = []
        for r in rules.values():
            sev = r.severity if not r.severities else ", ".join(f"{k}: {v}" for k, v in r.severities.items())
            lines.append(f"{r.code}  {sev:<8} {r.title}")
        text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    return 0


def _map(args: argparse.Namespace) -> int:
    from .propose import propose_mapping

    text = propose_mapping(args.file)
    _write(text, args.output)
    return 0


def _template(args: argparse.Namespace) -> int:
    from .template import build_template

    path = build_template(args.output)
    print(f"apxl: wrote the template to {path}", file=sys.stderr)
    if path.suffix.lower() == ".xlsm":
        from .template import module_path

        print(f"apxl: and {module_path(path)}, which its Check tracker button runs: keep the two together",
              file=sys.stderr)
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    from .upgrade import upgrade

    moved = upgrade(args.old, args.new, mapping=args.mapping)
    counts = ", ".join(f"{n} {sheet}" for sheet, n in moved.rows.items())
    print(f"apxl: wrote {args.new}: {counts}; {moved.setup} Setup values", file=sys.stderr)
    for sheet, headers in moved.left_behind.items():
        print(f"apxl: not moved from {sheet} (not in the template): {', '.join(headers)}", file=sys.stderr)
    return 0
