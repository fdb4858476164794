"""The mapping file: where a school's own tracker keeps each field, when aliases are not enough.

```yaml
sheets:
  Placements: AP Tracker            # a sheet name, or a list of sheets (one per term)
columns:
  Placements:
    AP hours per week: Hrs at AP    # the header text as it appears in the sheet
    UPN: {column: C}                # or the column letter
setup:                              # Setup values, for trackers without a Setup sheet
  School name: Oakfield Academy
  School URN: "123456"
  Academic year: 2026/27
```
`apxl map FILE` proposes one (with a confidence for each match) for a person to confirm.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import MappingError
from .schema import sheet_schemas


@dataclass
class ColumnChoice:
    header: str | None = None          # the header text as it appears
    letter: str | None = None          # or an Excel column letter


@dataclass
class Mapping:
    sheets: dict[str, list[str]] = field(default_factory=dict)              # contract sheet -> workbook sheets
    columns: dict[str, dict[str, ColumnChoice]] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


def load_mapping(path: str | os.PathLike[str] | None) -> Mapping:
    if path is None:
        return Mapping()
    from .resources import load_yaml_text

    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            raw = load_yaml_text(fh.read())
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file. Check the path, or make one with `apxl map TRACKER --output {path}`") from None
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc.strerror})") from None
    except Exception as exc:  # noqa: BLE001 - YAML syntax errors
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" near line {line + 1}" if line is not None else ""
        raise MappingError(f"{path}: the mapping file is not valid YAML{where}. Fix it, or make a new one with `apxl map`") from None
    return mapping_from_dict(raw or {}, path)


def mapping_from_dict(raw: Any, source: str = "mapping") -> Mapping:
    if not isinstance(raw, dict):
        raise MappingError(f"{source}: a mapping file holds `sheets:`, `columns:` and `setup:` sections")
    schemas = sheet_schemas()
    names = {k.lower(): k for k in schemas}
    unknown = set(raw) - {"sheets", "columns", "setup", "fields"}
    if unknown:
        raise MappingError(f"{source}: unknown section {sorted(unknown)[0]!r}; a mapping file holds `sheets:`, `columns:` and `setup:`")
    out = Mapping(source=source)

    def sheet_key(name: Any) -> str:
        key = names.get(str(name).strip().lower())
        if key is None:
            raise MappingError(f"{source}: {name!r} is not a sheet of the apxl contract (one of: {', '.join(schemas)})")
        return key

    for name, value in (raw.get("sheets") or {}).items():
        if isinstance(value, dict):
            value = value.get("sheets") or value.get("sheet")
        out.sheets[sheet_key(name)] = [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
    for name, fields in (raw.get("columns") or raw.get("fields") or {}).items():
        key = sheet_key(name)
        known = {f.name.lower(): f.name for f in schemas[key].fields}
        chosen: dict[str, ColumnChoice] = {}
        for fname, value in (fields or {}).items():
            fkey = known.get(str(fname).strip().lower())
            if fkey is None:
                raise MappingError(f"{source}: {fname!r} is not a field of the {key} sheet")
            if isinstance(value, dict):
                letter = value.get("column") or value.get("letter")
                if letter is not None and not re.fullmatch(r"[A-Za-z]{1,3}", str(letter)):
                    raise MappingError(f"{source}: column {letter!r} for {fkey} is not a column letter (like C)")
                chosen[fkey] = ColumnChoice(header=value.get("header"), letter=str(letter).upper() if letter else None)
            elif value is not None:
                chosen[fkey] = ColumnChoice(header=str(value))
        out.columns[key] = chosen
    setup_fields = {f.name.lower(): f.name for f in schemas["Setup"].fields}
    for key, value in (raw.get("setup") or {}).items():
        fkey = setup_fields.get(str(key).strip().lower())
        if fkey is None:
            raise MappingError(f"{source}: {key!r} is not a Setup value (one of: {', '.join(f.name for f in schemas['Setup'].fields)})")
        out.setup[fkey] = value
    return out
