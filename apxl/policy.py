"""Policy: the numbers behind the rules (schemas/policy.yaml), overridable per partnership."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApxlError
from .resources import load_schema_file, load_yaml_text


@dataclass
class Policy:
    name: str
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    @property
    def law(self) -> dict[str, Any]:
        """The registration-law pack in force: vulnerable SEN codes, full-time hours, the 'most education' test."""
        pack = dict(self.values["laws"][self.values["registration_law"]])
        if pack.get("full_time_hours") is None:
            pack["full_time_hours"] = self.values["full_time_hours"]
        return pack


def load_policy(source: str | os.PathLike[str] | Mapping[str, Any] | None = None) -> Policy:
    values = dict(load_schema_file("policy.yaml"))
    if source is not None:
        if isinstance(source, Mapping):
            override = dict(source)
        else:
            path = os.fspath(source)
            try:
                with open(path, encoding="utf-8") as fh:
                    override = load_yaml_text(fh.read()) or {}
            except FileNotFoundError:
                raise ApxlError(f"{path}: no such policy file. Check the path") from None
            except OSError as exc:
                raise ApxlError(f"{path}: cannot read the policy file ({exc.strerror})") from None
            except Exception:  # noqa: BLE001 - YAML syntax
                raise ApxlError(f"{path}: the policy file is not valid YAML. Fix it and try again") from None
            if not isinstance(override, dict):
                raise ApxlError(f"{path}: a policy file holds `parameter: value` lines, like `full_time_hours: 18`")
        unknown = set(override) - set(values)
        if unknown:
            raise ApxlError(f"unknown policy parameter {sorted(unknown)[0]!r}; known: {', '.join(sorted(values))}")
        if "laws" in override:   # a pack given in part keeps the rest of its defaults
            merged = {name: dict(pack) for name, pack in values["laws"].items()}
            for name, pack in (override["laws"] or {}).items():
                merged.setdefault(name, {}).update(pack or {})
            override["laws"] = merged
        values.update(override)
        if "name" not in override and "registration_law" in override:
            values["name"] = override["registration_law"]
        if values.get("registration_law") not in values["laws"]:
            raise ApxlError(f"registration_law {values.get('registration_law')!r} is not one of: {', '.join(values['laws'])}")
    return Policy(name=str(values.get("name") or values.get("registration_law")), values=values)
