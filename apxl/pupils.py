"""Facts about a pupil that come from identifiers and dates of birth (domain.md section 6)."""

from __future__ import annotations

import datetime as dt
import re

from .dates import academic_year, last_friday_in_june

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"          # I, O and S are never used
_UPN = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")


def upn_problem(upn: str) -> str | None:
    """None for a valid UPN, else what is wrong with it, in words a school office understands."""
    text = upn.strip().upper()
    if len(text) != 13:
        return f"it has {len(text)} characters, not 13"
    if not _UPN.match(text):
        return "it should be a letter, 11 digits and a final digit or letter"
    last = text[12]
    if last.isalpha() and last not in UPN_LETTERS:
        return f"a temporary UPN cannot end in {last} (I, O and S are not used)"
    if text[0] not in UPN_LETTERS:
        return f"the check letter {text[0]} is never used (I, O and S are not used)"
    expected = upn_check_letter(text)
    if text[0] != expected:
        return f"its check letter is {text[0]} but the digits give {expected}: a digit or the letter was mistyped"
    return None


def upn_check_letter(upn: str) -> str:
    """Weights 2 to 13 on characters 2 to 13, sum mod 23; a temporary UPN's last letter counts its index."""
    total = 0
    for weight, ch in enumerate(upn[1:13], start=2):
        value = UPN_LETTERS.index(ch) if ch.isalpha() else int(ch)
        total += value * weight
    return UPN_LETTERS[total % 23]


def is_temporary_upn(upn: str) -> bool:
    return upn.strip()[-1:].isalpha()


def nc_year(dob: dt.date, on: dt.date) -> int:
    """National Curriculum year for the academic year of `on` (0 is Reception)."""
    return academic_year(on) - academic_year(dob) - 5


def compulsory_school_age(dob: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of compulsory school age.

    It starts on the prescribed day (31 December, 31 March or 31 August) on or after the 5th birthday,
    and ends on the last Friday in June of the school year in which the pupil turns 16.
    """
    fifth = _birthday(dob, 5)
    starts = min(d for d in (dt.date(fifth.year, 12, 31), dt.date(fifth.year, 3, 31), dt.date(fifth.year, 8, 31),
                             dt.date(fifth.year + 1, 3, 31), dt.date(fifth.year + 1, 8, 31)) if d >= fifth)
    sixteenth = _birthday(dob, 16)
    ends = last_friday_in_june(academic_year(sixteenth) + 1)
    return starts, ends


def _birthday(dob: dt.date, age: int) -> dt.date:
    try:
        return dob.replace(year=dob.year + age)
    except ValueError:            # 29 February
        return dt.date(dob.year + age, 3, 1)
