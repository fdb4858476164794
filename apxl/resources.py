"""Where apxl's own data files live, and loading them fast.

schemas/ sits at the top of the repository and is installed as the package data `apxl/schemas`;
both layouts are looked up here so an editable and a normal install behave the same.

Parsing the YAML costs about 30 ms a run, a real share of the Excel button's start-up, so the parsed
files are kept in one JSON file in the user's cache folder, keyed by each file's size and modification
time; any change to a schema file, or a cache that cannot be read or written, falls back to the YAML.
"""

from __future__ import annotations

import json
import os
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


def _cache_file() -> Path | None:
    if os.environ.get("APXL_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "apxl" / "schemas.json"


@cache
def _parsed_cache() -> dict[str, Any]:
    path = _cache_file()
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{path}"


@cache
def load_schema_file(name: str) -> Any:
    """A schemas/ file, parsed (dates come back as ISO text: callers convert what they need)."""
    path = schemas_dir() / name
    stamp = _stamp(path)
    entry = _parsed_cache().get(name)
    if isinstance(entry, dict) and entry.get("stamp") == stamp:
        return entry["data"]
    data = json.loads(json.dumps(load_yaml_text(path.read_text(encoding="utf-8")), default=str))
    _remember(name, stamp, data)
    return data


def _remember(name: str, stamp: str, data: Any) -> None:
    path = _cache_file()
    if path is None:
        return
    cached = _parsed_cache()
    cached[name] = {"stamp": stamp, "data": data}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".schemas.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cached), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
