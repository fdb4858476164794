"""The workbook contract as data: sheets, fields, their types and aliases, from schemas/*.yaml.

This module only says *what* is expected; `apxl.cells` and `apxl.checks` decide how it is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from .resources import load_schema_file

SHEET_FILES = (
    "setup.yaml",
    "placements.yaml",
    "providers.yaml",
    "checklist.yaml",
    "timetable.yaml",
    "visits.yaml",
    "attendance.yaml",
    "term_dates.yaml",
    "explanations.yaml",
)

# What each optional sheet feeds, for the WB008 message ("the rules that need it were not run").
OPTIONAL_SHEET_RULES = {
    "Timetable": "timetable hours (HR005 to HR007; hours come from Placements instead)",
    "Visits": "visit checks (VI001 to VI005; PL010 only for past review dates; CL018 from the Checklist date only)",
    "Attendance": "attendance checks (AT001 to AT004)",
    "Term dates": "the school's own term dates (school days come from the policy's terms, else Monday to Friday)",
}

TYPE_WORDS = {
    "text": "text",
    "date": "a date",
    "hours": "a number of hours",
    "number": "a number",
    "integer": "a whole number",
    "time": "a time of day",
    "code": "one of the listed values",
    "yesno": "Yes or No",
    "ncyear": "a year group (R or 1 to 14)",
    "checkitem": "the date the item was done, or N/A",
}


def normalise_header(text: Any) -> str:
    """The form in which headers and aliases are compared: case, punctuation and spacing ignored."""
    if isinstance(text, str):
        return _normalise_text(text)      # headers repeat across sheets and files: each text once
    return _normalise(text)


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _normalise(text: Any) -> str:
    s = str(text).lower().replace("&", " and ")
    return " ".join(_NOT_ALNUM.sub(" ", s).split())


@lru_cache(maxsize=16384)
def _normalise_text(text: str) -> str:
    return _normalise(text)


@dataclass(frozen=True, eq=False)
class FieldSpec:
    name: str
    type: str = "text"
    required: bool = False
    unique: bool = False
    allowed: tuple[str, ...] = ()
    synonyms: dict[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    pattern_hint: str | None = None
    aliases: tuple[str, ...] = ()
    help: str = ""
    personal: bool = False
    required_when: Any = None         # "active", or {field: F, in: [...]} / {field: F, not_in: [...]}
    code: str | None = None           # checklist items: CL001 ...
    applies: str | None = None
    due: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def expected(self) -> str:
        if self.pattern_hint:
            return self.pattern_hint
        return TYPE_WORDS.get(self.type, self.type)


@dataclass(frozen=True)
class SheetSchema:
    name: str
    fields: tuple[FieldSpec, ...]
    required: bool = False
    key: str | None = None
    kind: str = "table"               # "table" or "keyvalue" (Setup)
    aliases: tuple[str, ...] = ()
    optional_finding: bool = True      # WB008 when an optional sheet is absent
    items: tuple[FieldSpec, ...] = ()  # Checklist items (also in `fields`)

    @property
    def field_map(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    def alias_index(self) -> dict[str, str]:
        """normalised header -> field name, canonical names winning over aliases."""
        return dict(shared_alias_index(self))


@cache
def shared_alias_index(schema: SheetSchema) -> dict[str, str]:
    """`SheetSchema.alias_index`, built once per process: callers must not change it."""
    index: dict[str, str] = {}
    for f in schema.fields:
        for alias in f.aliases:
            index.setdefault(normalise_header(alias), f.name)
    for f in schema.fields:
        index[normalise_header(f.name)] = f.name
    return index


def _field(raw: dict[str, Any], **extra: Any) -> FieldSpec:
    return FieldSpec(
        name=raw["name"],
        type=raw.get("type", extra.get("type", "text")),
        required=bool(raw.get("required", False)),
        unique=bool(raw.get("unique", False)),
        allowed=tuple(raw.get("allowed", ("Yes", "No") if raw.get("type") == "yesno" else ())),
        synonyms=dict(raw.get("synonyms", {})),
        min=raw.get("min"),
        max=raw.get("max"),
        pattern=raw.get("pattern"),
        pattern_hint=raw.get("pattern_hint"),
        aliases=tuple(raw.get("aliases", ())),
        help=raw.get("help", ""),
        personal=bool(raw.get("personal", False)),
        required_when=raw.get("required_when"),
        code=raw.get("code"),
        applies=raw.get("applies"),
        due=raw.get("due"),
    )


@cache
def sheet_schemas() -> dict[str, SheetSchema]:
    """Every sheet of the contract, in workbook order, keyed by canonical sheet name."""
    out: dict[str, SheetSchema] = {}
    for fname in SHEET_FILES:
        raw = load_schema_file(fname)
        fields = [_field(f) for f in raw.get("fields", ())]
        items = [_field(i, type="checkitem") for i in raw.get("items", ())]
        out[raw["sheet"]] = SheetSchema(
            name=raw["sheet"],
            fields=tuple(fields + items),
            required=bool(raw.get("required", False)),
            key=raw.get("key"),
            kind=raw.get("kind", "table"),
            aliases=tuple(raw.get("aliases", ())),
            optional_finding=bool(raw.get("optional_finding", True)),
            items=tuple(items),
        )
    return out


def personal_fields() -> dict[str, tuple[str, ...]]:
    """sheet -> the fields that hold pupil personal data (left out by --redact)."""
    return {
        name: tuple(f.name for f in s.fields if f.personal)
        for name, s in sheet_schemas().items()
        if any(f.personal for f in s.fields)
    }
