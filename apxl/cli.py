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

    r = sub.add_parser("rules", help="print the rule catalogue")
    r.add_argument("--format", choices=("text", "markdown", "json"), default="text")

    m = sub.add_parser("map", help="propose a mapping file for a school's own tracker")
    m.add_argument("file", metavar="FILE")
    m.add_argument("--output", metavar="MAP.yaml", help="write the proposal here (default: the screen)")
    return p


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
        if args.command == "rules":
            return _rules(args)
        if args.command == "map":
            return _map(args)
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


def _validate(args: argparse.Namespace) -> int:
    from .engine import validate

    report = validate(args.file, as_of=args.as_of, mapping=args.mapping, policy=args.policy,
                      sheets=args.sheets, redact=args.redact)
    if args.format == "json":
        text = report.to_json() + "\n"
    else:
        from .render import to_text

        text = to_text(report)
    _write(text, args.output)
    return report.exit_code


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
