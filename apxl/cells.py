"""Turning raw cell values into typed columns, reporting what does not parse (CE002, CE003, CE007).

Every column is parsed in bulk: real dates and numbers go straight through, and only the cells that
hold text are looked at one by one, so a column of 100,000 dates with one "TBC" in it costs no more
than a clean one. Text such as "n/a" is never turned into a blank: it reaches the checks as text.
The enumerations are normalised here (case and spacing ignored) and checked by pandera (apxl.checks).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .reading import CellError
from .schema import FieldSpec

_NA_TEXT = {"n/a", "na", "n.a.", "n.a", "not applicable", "not needed", "not required"}
_TICKS = {"y", "yes", "✓", "✔", "☑", "✅", "x", "true", "done", "tick", "ticked", "complete", "completed", "√"}
_YES = {"y", "yes", "true"}
_NO = {"n", "no", "false"}
_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d %B %Y", "%d %b %Y",
                 "%d-%b-%Y", "%d-%b-%y", "%d %B %y", "%d %b %y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")
_HOURS_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:h|hr|hrs|hour|hours)?\s*(?:per\s*week|/\s*w(?:ee)?k|a\s*week|pw|p/w)?\s*$", re.I)
_HM_TEXT = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*(am|pm)?\s*$", re.I)
_H_AMPM = re.compile(r"^\s*(\d{1,2})\s*(am|pm)\s*$", re.I)
_NUMBER_TEXT = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?\s*$")
_NCYEAR_TEXT = re.compile(r"^\s*(?:(?:nc\s*)?(?:year|yr|y)\s*)?(\d{1,2})\s*$", re.I)
_SMALL = 512          # up to this many values, plain Python beats pandas' fixed cost per call


@dataclass
class Issue:
    """A cell-level problem found while parsing: row position, rule code, message parameters."""

    index: int
    rule: str
    params: dict[str, str]


@dataclass
class Parsed:
    values: Any                        # numpy/pandas array of typed values (NaT/NaN/None where unusable)
    blank: np.ndarray                  # the cell is empty
    failed: np.ndarray                 # the cell holds something unusable (already reported)
    issues: list[Issue] = field(default_factory=list)
    marks: dict[str, np.ndarray] = field(default_factory=dict)   # checklist: "na", "ticked"


def shown(value: Any) -> str:
    """What a cell shows, as text (dates as ISO), for findings' `value` and messages."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes" if not value.second and not value.microsecond else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        minutes = int(round(value.total_seconds() / 60))
        return f"{minutes // 60}:{minutes % 60:02d}"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat(sep=" ")
    return str(value)


def quoted(value: Any) -> str:
    text = shown(value)
    if isinstance(value, str):
        return f'"{text.strip()}"' if text.strip() else "only spaces"
    return text


def blank_mask(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empty cells ('' or text of spaces only), and the positions of the other text cells."""
    mask = values == ""
    strs = _str_positions(values, ~mask)
    if strs.size:
        sub = values[strs]
        spaces = {u for u in (set(sub.tolist()) if sub.size <= _SMALL else pd.unique(sub)) if u.isspace()}
        if spaces:
            space = pd.Series(sub).isin(spaces).to_numpy()
            mask[strs[space]] = True
            strs = strs[~space]
    return mask, strs


def _str_positions(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    idx = among.nonzero()[0]
    if idx.size == 0:
        return idx
    sub = values[idx]
    kind = pd.api.types.infer_dtype(sub, skipna=False)
    if kind == "string":
        return idx
    if kind in ("date", "datetime", "floating", "integer", "mixed-integer-float", "boolean", "time", "timedelta"):
        return idx[:0]
    is_str = np.fromiter((isinstance(v, str) for v in sub), dtype=bool, count=sub.size)
    return idx[is_str]


def parse(values: np.ndarray, spec: FieldSpec, errors: np.ndarray | None = None) -> Parsed:
    """Parse one column of raw cell values according to its field's type.

    `errors` marks the cells that hold an Excel error value (#N/A ...); when it is not given, the
    values are searched for them.
    """
    values = np.asarray(values, dtype=object)
    if errors is None:
        errors = np.fromiter((isinstance(v, CellError) for v in values), dtype=bool, count=values.size)
    error_at = np.flatnonzero(errors)
    shown_error = {int(i): str(values[i]) for i in error_at}
    if error_at.size:
        values = values.copy()
        values[error_at] = ""
    blank, strs = blank_mask(values)
    parser = _PARSERS.get(spec.type, _parse_text)
    out = parser(values, blank, spec, strs)
    for i, text in shown_error.items():
        out.blank[i] = False
        out.failed[i] = True
        out.issues.append(Issue(i, "CE002", {"expected": spec.expected, "shown": f"the Excel error {text}",
                                             "fix": "Fix the formula, or type the value."}))
    return out


def _fail(out: Parsed, i: int, spec: FieldSpec, raw: Any, fix: str, rule: str = "CE002") -> None:
    out.failed[i] = True
    if isinstance(raw, CellError):
        fix = "Fix the formula or type the value."
        what = f"the Excel error {raw}"
    else:
        what = quoted(raw)
    out.issues.append(Issue(i, rule, {"expected": spec.expected, "shown": what, "fix": fix}))


def _readable(out: Parsed, i: int, raw: Any, read_as: str, fix: str) -> None:
    out.issues.append(Issue(i, "CE003", {"shown": quoted(raw), "read_as": read_as, "fix": fix}))


# --- dates -------------------------------------------------------------------------------------

try:  # the parser pd.to_datetime(texts, format=...) runs, without its ~0.1 ms of wrapping per call
    from pandas._libs.tslibs.strptime import array_strptime as _array_strptime
except ImportError:  # pragma: no cover - another pandas
    _array_strptime = None


def strptime_texts(texts: np.ndarray, fmt: str) -> np.ndarray:
    """`pd.to_datetime(texts, format=fmt, errors="coerce")` as datetime64[us] (texts: an object array of str)."""
    if _array_strptime is not None:
        try:
            result, tz = _array_strptime(texts, fmt, exact=True, errors="coerce", utc=False)
        except TypeError:  # pragma: no cover - its signature changed: go the public way
            pass
        else:
            if tz is None and result.dtype.kind == "M":
                return result.astype("datetime64[us]")
    return pd.to_datetime(pd.Series(texts, dtype=object), format=fmt, errors="coerce").to_numpy(dtype="datetime64[us]")


_TEXT_DATES: dict[str, Any] = {}     # stripped text -> its date (each text's date depends on the text alone)


def _text_dates(texts: list[str]) -> list[Any]:
    """Day-first text dates, as England writes them (03/09/2026 is 3 September 2026); NaT if not a date.

    Each distinct text is worked out once per process: the same few typed dates recur across returns.
    """
    keys = [t.strip() for t in texts]
    distinct = list(dict.fromkeys(keys))
    new = [k for k in distinct if k not in _TEXT_DATES]
    if new:
        if len(_TEXT_DATES) + len(new) > 50_000:
            _TEXT_DATES.clear()
            new = distinct
        _TEXT_DATES.update(zip(new, _parse_text_dates(new)))
    return [_TEXT_DATES[k] for k in keys]


def _parse_text_dates(texts: list[str]) -> list[Any]:
    result = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[us]")
    todo = np.array([t.strip() for t in texts], dtype=object)
    pending = np.array([any(ch.isdigit() for ch in t) for t in todo], dtype=bool)
    for fmt in _DATE_FORMATS:
        if not pending.any():
            break
        idx = pending.nonzero()[0]
        parsed = strptime_texts(todo[idx], fmt)
        ok = ~np.isnat(parsed)
        result[idx[ok]] = parsed[ok]
        pending[idx[ok]] = False
    return [pd.Timestamp(v) if not np.isnat(v) else pd.NaT for v in result]


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _dates_to_us(sub: np.ndarray) -> np.ndarray:
    """`pd.to_datetime(sub)` as datetime64[us], for an object array of dates, datetimes and Timestamps.

    A short column of plain dates (what calamine gives for a date cell) goes by day numbers instead.
    """
    if sub.size <= _SMALL and all(type(v) is dt.date for v in sub):
        ordinals = np.fromiter((v.toordinal() for v in sub), dtype=np.int64, count=sub.size)
        return (ordinals - _EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[us]")
    return pd.to_datetime(sub).to_numpy(dtype="datetime64[us]")


def _parse_date(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray, *, checklist: bool = False) -> Parsed:
    n = values.size
    out = Parsed(values=None, blank=blank, failed=np.zeros(n, dtype=bool))
    result = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    filled = (~blank).nonzero()[0]
    if filled.size:
        sub = values[filled]
        kind = pd.api.types.infer_dtype(sub, skipna=False)
        if kind in ("date", "datetime"):
            result[filled] = _dates_to_us(sub)
        else:
            not_text = ~blank
            not_text[strs] = False
            rest = not_text.nonzero()[0]                   # filled cells that are not text
            if rest.size and pd.api.types.infer_dtype(values[rest], skipna=False) in ("date", "datetime"):
                is_date = np.ones(rest.size, dtype=bool)
            else:
                is_date = np.fromiter((isinstance(v, (dt.date, pd.Timestamp)) for v in values[rest]), dtype=bool,
                                      count=rest.size)
            dates = rest[is_date]
            if dates.size:
                result[dates] = _dates_to_us(values[dates])
            other = np.zeros(n, dtype=bool)
            other[strs] = True
            other[rest[~is_date]] = True
            others = other.nonzero()[0]                    # text, and what is neither text nor a date
            if others.size:
                _date_others(values, others, result, out, spec, checklist)
    out.values = result.astype("datetime64[us]")
    if checklist:
        out.marks.setdefault("na", np.zeros(n, dtype=bool))
        out.marks.setdefault("ticked", np.zeros(n, dtype=bool))
    return out


def _date_others(values, others, result, out: Parsed, spec: FieldSpec, checklist: bool) -> None:
    if checklist:
        na = out.marks.setdefault("na", np.zeros(values.size, dtype=bool))
        ticked = out.marks.setdefault("ticked", np.zeros(values.size, dtype=bool))
    texts: dict[str, list[int]] = {}
    for i in others:
        raw = values[i]
        if isinstance(raw, str) and not isinstance(raw, CellError):
            texts.setdefault(raw, []).append(int(i))
        elif checklist and isinstance(raw, bool) and raw:
            ticked[i] = True
            out.issues.append(Issue(int(i), "CE007", {"shown": quoted(raw)}))
        else:
            fix = "Enter a date, like 03/09/2026."
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                fix = "It is a number, not a date: format the cell as a date or type the date again."
            _fail(out, int(i), spec, raw, fix)
    if not texts:
        return
    # each distinct text once: a column of 20,000 "N/A"s is one look-up
    candidates = []
    for raw, where in texts.items():
        key = " ".join(raw.strip().lower().split())
        if checklist and key in _NA_TEXT:
            na[where] = True
        elif checklist and key in _TICKS:
            ticked[where] = True
            out.issues.extend(Issue(i, "CE007", {"shown": quoted(raw)}) for i in where)
        else:
            candidates.append(raw)
    if not candidates:
        return
    fix = "Enter a date, like 03/09/2026." + (" Write N/A if the item does not apply." if checklist else "")
    for raw, when in zip(candidates, _text_dates(candidates)):
        where = texts[raw]
        if when is pd.NaT:
            for i in where:
                _fail(out, i, spec, raw, fix)
            continue
        result[where] = np.datetime64(when.to_datetime64(), "us")
        for i in where:
            _readable(out, i, raw, f"{when.day} {when.strftime('%B %Y')}",
                      "Re-enter it as a date (or format the column as Date) so Excel stores a real date.")


def _parse_checkitem(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray):
    return _parse_date(values, blank, spec, strs, checklist=True)


# --- numbers and hours -----------------------------------------------------------------------

def _numeric(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, *, hours: bool, integer: bool) -> Parsed:
    n = values.size
    out = Parsed(values=None, blank=blank, failed=np.zeros(n, dtype=bool))
    result = np.full(n, np.nan)
    filled = (~blank).nonzero()[0]
    if filled.size:
        sub = values[filled]
        kind = pd.api.types.infer_dtype(sub, skipna=False)
        if kind in ("floating", "integer", "mixed-integer-float"):
            result[filled] = sub.astype(float)
        else:
            for i in filled:
                raw = values[i]
                if isinstance(raw, bool) or isinstance(raw, CellError):
                    _fail(out, i, spec, raw, "Enter a number.")
                elif isinstance(raw, (int, float)):
                    result[i] = float(raw)
                elif hours and isinstance(raw, dt.timedelta):
                    result[i] = raw.total_seconds() / 3600
                elif hours and isinstance(raw, dt.time):
                    result[i] = raw.hour + raw.minute / 60 + raw.second / 3600
                elif isinstance(raw, str):
                    number = _number_from_text(raw, hours)
                    if number is None:
                        _fail(out, i, spec, raw, "Enter a number of hours, like 12.5." if hours else "Enter a number.")
                    else:
                        result[i] = number
                        _readable(out, i, raw, shown(number),
                                  "Type the number alone (the column is hours a week) so Excel stores a number." if hours
                                  else "Type the number alone so Excel stores a number.")
                else:
                    _fail(out, i, spec, raw, "Enter a number.")
    if integer:
        frac = filled[~np.isnan(result[filled]) & (result[filled] != np.round(result[filled]))]
        for i in frac:
            result[i] = np.nan
            _fail(out, int(i), spec, values[i], "Enter a whole number.")
    out.values = result
    return out


def _number_from_text(text: str, hours: bool) -> float | None:
    if _NUMBER_TEXT.match(text):
        return float(text)
    if hours:
        m = _HOURS_TEXT.match(text)
        if m:
            return float(m.group(1))
        m = _HM_TEXT.match(text)
        if m and not m.group(3):
            return int(m.group(1)) + int(m.group(2)) / 60
    return None


def _parse_hours(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray):
    return _numeric(values, blank, spec, hours=True, integer=False)


def _parse_number(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray):
    return _numeric(values, blank, spec, hours=False, integer=False)


def _parse_integer(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray):
    return _numeric(values, blank, spec, hours=False, integer=True)


# --- times of day ------------------------------------------------------------------------------

def _parse_time(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray) -> Parsed:
    """Times as minutes after midnight."""
    n = values.size
    out = Parsed(values=None, blank=blank, failed=np.zeros(n, dtype=bool))
    result = np.full(n, np.nan)
    filled = (~blank).nonzero()[0]
    if filled.size and pd.api.types.infer_dtype(values[filled], skipna=False) == "time":
        result[filled] = [t.hour * 60 + t.minute + t.second / 60 for t in values[filled]]
        out.values = result
        return out
    for i in filled:
        raw = values[i]
        if isinstance(raw, dt.time):
            result[i] = raw.hour * 60 + raw.minute + raw.second / 60
        elif isinstance(raw, dt.timedelta) and raw.total_seconds() < 86400:
            result[i] = raw.total_seconds() / 60
        elif isinstance(raw, dt.datetime) and raw.date() in (dt.date(1899, 12, 30), dt.date(1899, 12, 31), dt.date(1900, 1, 1), dt.date(1904, 1, 1)):
            result[i] = raw.hour * 60 + raw.minute + raw.second / 60
        elif isinstance(raw, float) and not isinstance(raw, bool) and 0 <= raw < 1:
            result[i] = round(raw * 1440, 4)
        elif isinstance(raw, str) and not isinstance(raw, CellError):
            minutes = _time_from_text(raw)
            if minutes is None:
                _fail(out, i, spec, raw, "Enter a time of day, like 09:15.")
            else:
                result[i] = minutes
                _readable(out, i, raw, f"{int(minutes) // 60:02d}:{int(minutes) % 60:02d}",
                          "Re-enter it as a time (like 09:15) so Excel stores a time.")
        else:
            _fail(out, i, spec, raw, "Enter a time of day, like 09:15.")
    out.values = result
    return out


def _time_from_text(text: str) -> float | None:
    m = _HM_TEXT.match(text)
    hour = minute = None
    if m:
        hour, minute, ampm = int(m.group(1)), int(m.group(2)), (m.group(3) or "").lower()
    else:
        m = _H_AMPM.match(text)
        if m:
            hour, minute, ampm = int(m.group(1)), 0, m.group(2).lower()
    if hour is None or minute is None or minute > 59:
        return None
    if ampm == "pm" and hour < 12:
        hour += 12
    if ampm == "am" and hour == 12:
        hour = 0
    if hour > 23:
        return None
    return hour * 60 + minute


# --- text, codes, yes/no, year groups ----------------------------------------------------------

def _as_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw.strip()
    return shown(raw)


def _parse_text(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray) -> Parsed:
    n = values.size
    out = Parsed(values=None, blank=blank, failed=np.zeros(n, dtype=bool))
    result = np.full(n, None, dtype=object)
    filled = (~blank).nonzero()[0]
    if filled.size:
        sub = values[filled]
        if strs.size == filled.size:
            result[filled] = [v.strip() for v in sub]
        else:
            result[filled] = [_as_text(v) for v in sub]
    out.values = result
    return out


def _lookup(spec: FieldSpec) -> dict[str, str]:
    table = {" ".join(a.lower().split()): a for a in spec.allowed}
    for k, v in spec.synonyms.items():
        table[" ".join(k.lower().split())] = v
    return table


def _map_distinct(out: Parsed, normalise) -> Parsed:
    """Apply `normalise` to each distinct text once (code columns hold a handful of values)."""
    ok = (~out.blank & ~out.failed).nonzero()[0]
    if ok.size > _SMALL:
        sub = pd.Series(out.values[ok], dtype=object)
        mapping = {u: normalise(u) for u in sub.unique()}
        out.values[ok] = sub.map(mapping).to_numpy(dtype=object)
    elif ok.size:
        done: dict[Any, Any] = {}
        mapped = []
        for v in out.values[ok].tolist():
            if v not in done:
                done[v] = normalise(v)
            mapped.append(done[v])
        out.values[ok] = mapped
    return out


def _parse_code(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray) -> Parsed:
    table = _lookup(spec)
    return _map_distinct(_parse_text(values, blank, spec, strs), lambda v: table.get(" ".join(str(v).lower().split()), v))


def _yes_no(value: str) -> str:
    key = str(value).strip().lower()
    return "Yes" if key in _YES else "No" if key in _NO else value


def _parse_yesno(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray) -> Parsed:
    return _map_distinct(_parse_text(values, blank, spec, strs), _yes_no)


def _nc_year(text: str) -> str:
    text = str(text).strip()
    if text.lower() in ("r", "rec", "reception", "year r", "yr r", "nc r"):
        return "R"
    m = _NCYEAR_TEXT.match(text)
    return str(int(m.group(1))) if m else text


def _parse_ncyear(values: np.ndarray, blank: np.ndarray, spec: FieldSpec, strs: np.ndarray) -> Parsed:
    return _map_distinct(_parse_text(values, blank, spec, strs), _nc_year)


_PARSERS = {
    "date": _parse_date,
    "checkitem": _parse_checkitem,
    "hours": _parse_hours,
    "number": _parse_number,
    "integer": _parse_integer,
    "time": _parse_time,
    "text": _parse_text,
    "code": _parse_code,
    "yesno": _parse_yesno,
    "ncyear": _parse_ncyear,
}
