"""How records are recognised: providers by URN or normalised name and postcode, placements by ID."""

from __future__ import annotations

import re

_NAME_NOISE = re.compile(r"\b(ltd|limited|cic|plc|llp|the)\b")


def normalise_name(name: object) -> str:
    """Case, spaces, punctuation, `&`/`and`, `Ltd`/`Limited`/`CIC` ignored (workbook.md)."""
    s = str(name or "").lower().replace("&", " and ")
    s = re.sub(r"[^0-9a-z ]+", " ", s)
    s = _NAME_NOISE.sub(" ", s)
    s = re.sub(r"\band\b", " ", s)
    return "".join(s.split())


def normalise_postcode(postcode: object) -> str:
    return "".join(str(postcode or "").upper().split())


def provider_key(urn: object, name: object, postcode: object) -> str:
    """The identity of a provider where there is no Provider ID: its URN, else name and postcode."""
    urn_text = str(urn or "").strip()
    if urn_text.endswith(".0"):
        urn_text = urn_text[:-2]
    if urn_text:
        return f"urn:{urn_text}"
    return f"name:{normalise_name(name)}|{normalise_postcode(postcode)}"
