"""Where apxl's own data files live, and loading them fast.

schemas/ sits at the top of the repository and is installed as the package data `apxl/schemas`;
both layouts are looked up here so an editable and a normal install behave the same.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent


@cache
def schemas_dir() -> Path:
    for candidate in (_HERE / "schemas", _HERE.parent / "schemas"):
        if (candidate / "placements.yaml").is_file():
            return candidate
    raise FileNotFoundError("apxl's schemas/ folder is missing from this installation")


def load_yaml_text(text: str) -> Any:
    """Parse YAML with PyYAML's C loader when it is there (several times faster than the pure one)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


@cache
def load_schema_file(name: str) -> Any:
    return load_yaml_text((schemas_dir() / name).read_text(encoding="utf-8"))
