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
    v.add_argument("--format", choices=("text", "json", "html", "xlsx"), default="text")
    v.add_argument("--output", metavar="PATH", help="write the report here instead of to the screen")
    v.add_argument("--mapping", metavar="MAP.yaml", help="where a school's own tracker keeps each field")
    v.add_argument("--policy", metavar="POLICY.yaml", help="override policy parameters")
    v.add_argument("--directory", metavar="PROVIDERS.xlsx", help="the partnership's provider directory (XS004, XS005)")
    v.add_argument("--sheets", metavar="SHEET", nargs="+", help=argparse.SUPPRESS)
    v.add_argument("--redact", action="store_true", help="leave pupil names, UPNs and dates of birth out")
    v.add_argument("--annotate", metavar="OUT", help="also write a copy of FILE with the findings marked (.xlsx/.xlsm)")
    v.add_argument("--no-notes", action="store_true", help="with --annotate: highlights and Warnings sheet, no notes")
    v.add_argument("--in-place", action="store_true",
                   help="mark FILE itself (through a temporary file, keeping FILE.bak); refused while Excel has it open")

    b = sub.add_parser("batch", help="check a folder of returned workbooks and look across schools")
    b.add_argument("paths", nargs="+", metavar="PATH", help="workbooks, or folders searched for them")
    b.add_argument("--as-of", metavar="DATE", help="the date to check against (default: each return's Return date)")
    b.add_argument("--format", choices=("text", "json", "html", "xlsx"), default="text")
    b.add_argument("--output", metavar="PATH", help="write the report here instead of to the screen")
    b.add_argument("--annotate-dir", metavar="DIR", help="write a marked copy of each .xlsx/.xlsm return here")
    b.add_argument("--jobs", metavar="N", type=int, help="worker processes (default: one per CPU)")
    b.add_argument("--redact", action="store_true", help="leave pupil names, UPNs and dates of birth out")
    b.add_argument("--directory", metavar="PROVIDERS.xlsx", help="the partnership's provider directory")
    b.add_argument("--policy", metavar="POLICY.yaml", help="override policy parameters")
    b.add_argument("--export-counts", metavar="F.csv", help="write per-provider counts (no pupil data) for another area")
    b.add_argument("--import-counts", metavar="F.csv", action="append", help="add another area's counts (repeatable)")

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
    from . import process
    from .errors import ApxlError

    process.OWNED = True
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "clear":
            return _clear(args)
        if args.command == "batch":
            return _batch(args)
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

        from .output import replacing

        try:                            # the backup too is whole or absent: copied aside, then renamed
            with replacing(src + ".bak", ".bak.tmp") as tmp:
                shutil.copy2(src, tmp)
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
    if args.format == "xlsx" and not args.output:
        raise _error("--format xlsx needs --output FILE.xlsx")
    if args.directory:
        report = _validate_with_directory(args)
    else:
        report = validate(args.file, as_of=args.as_of, mapping=args.mapping, policy=args.policy,
                          sheets=args.sheets, redact=args.redact)
    if args.format in ("html", "xlsx"):
        from .batch import single
        from .reports import write_report

        write_report(single(report), args.format, args.output)
    else:
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


def _validate_with_directory(args: argparse.Namespace):
    """`validate --directory`: the workbook's providers against the partnership's directory (XS004, XS005), and a
    Provider ID that is a Directory ID is no PL006."""
    from .crossschool import directory_findings_for, facts_of, load_directory
    from .engine import _personal_values, check
    from .findings import Finding

    directory = load_directory(args.directory)
    report, ctx = check(args.file, as_of=args.as_of, mapping=args.mapping, policy=args.policy, sheets=args.sheets,
                        directory_ids=directory.by_id)
    report.findings = sorted(report.findings + directory_findings_for(facts_of(ctx), directory), key=Finding.sort_key)
    return report.redacted(_personal_values(ctx.layout)) if args.redact else report


def _batch(args: argparse.Namespace) -> int:
    import gc

    gc.disable()        # a short-lived process that builds and keeps its objects: the collector finds nothing
    from .batch import validate_many

    if args.format == "xlsx" and not args.output:
        raise _error("--format xlsx needs --output FILE.xlsx")
    if args.jobs is not None and args.jobs < 1:
        raise _error("--jobs must be 1 or more")
    skip = [d for d in (args.annotate_dir,) if d]
    bar = _progress()
    try:
        batch = validate_many(args.paths, as_of=args.as_of, policy=args.policy, redact=args.redact,
                              directory=args.directory, import_counts=args.import_counts, jobs=args.jobs,
                              skip=skip, progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    if args.format in ("html", "xlsx"):
        from .reports import write_report

        write_report(batch, args.format, args.output)
    elif args.format == "json":
        _write(batch.to_json() + "\n", args.output)
    else:
        from .render import batch_to_text

        _write(batch_to_text(batch), args.output)
    if args.export_counts:
        from .crossschool import write_counts

        try:
            write_counts(batch.counts, args.export_counts)
        except OSError as exc:
            raise _error(f"{args.export_counts}: cannot write the counts ({exc.strerror or exc})") from None
    if args.annotate_dir:
        _annotate_returns(batch, args.paths, args.annotate_dir)
    print(f"apxl: {batch.summary_line()}", file=sys.stderr)
    return batch.exit_code


class _Bar:
    """A one-line progress bar on a terminal's stderr, redrawn at most ten times a second and wiped at the end."""

    WIDTH = 30

    def __init__(self) -> None:
        self.last = 0.0
        self.drawn = 0

    def update(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        filled = self.WIDTH * done // max(total, 1)
        line = f"apxl: checking returns [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}"
        sys.stderr.write("\r" + line)
        sys.stderr.flush()
        self.drawn = len(line)

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\r" + " " * self.drawn + "\r")
            sys.stderr.flush()


def _progress() -> _Bar | None:
    return _Bar() if sys.stderr.isatty() else None


def _annotate_returns(batch, roots: list[str], folder: str) -> None:
    """A marked copy of each readable .xlsx/.xlsm return under `folder`, keeping the folders below the roots."""
    from .annotate import UNSUPPORTED, annotate
    from .errors import ApxlError

    bases = [os.path.abspath(r if os.path.isdir(r) else os.path.dirname(r) or ".") for r in roots]
    written = 0
    for r in batch.returns:
        if not r.readable:
            continue
        if r.file.lower().endswith(UNSUPPORTED):
            print(f"apxl: {r.file}: not marked (apxl marks only .xlsx and .xlsm files)", file=sys.stderr)
            continue
        here = os.path.abspath(r.file)
        base = next((b for b in bases if here.startswith(b + os.sep)), os.path.dirname(here))
        out = os.path.join(folder, os.path.relpath(here, base))
        try:
            os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
            annotate(r.file, out, report=r.report)
            written += 1
        except (OSError, ApxlError) as exc:
            print(f"apxl: {r.file}: no marked copy ({getattr(exc, 'strerror', None) or exc})", file=sys.stderr)
    print(f"apxl: wrote {written} marked copies to {folder}", file=sys.stderr)


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
