"""Write workbooks/examples/rules-<family>.xlsx: for each rule family, a workbook in which every rule fires.

    python workbooks/make_rule_examples.py [--out DIR]

Each family's module in workbooks/rule_examples/ builds its workbook (deterministic bytes) and names the
as-at date and the codes it must fire (AS_OF, CODES); tests/test_rule_examples.py checks them rule by rule.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FAMILIES = ("pl", "pr", "hr", "cl", "vi", "at", "ex")


def modules():
    for family in FAMILIES:
        try:
            yield family, importlib.import_module(f"rule_examples.{family}")
        except ModuleNotFoundError:
            continue


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "examples")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for family, module in modules():
        path = args.out / f"rules-{family}.xlsx"
        module.build(path)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
