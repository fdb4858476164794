"""The fast paths of a small tracker's check give what the general ones give."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from apxl import cells

TEXTS = ["03/09/2026", "3/9/2026", "03/09/26", "31/02/2026", "32/10/2026", "2026-09-03", "2026-9-3",
         "2026/09/03", "2026-09-03T00:00:00", "2026-09-03 10:15:00", "03-09-2026", "03.09.2026",
         "3 September 2026", "3 Sept 2026", "3 sep 2026", "03-Sep-2026", "03-Sep-26", "3 September 26",
         "03/09/2026 10:15", "03/09/2026 10:15:30", "TBC", "n/a", "", " 03/09/2026", "03/09/2026 ",
         "0001-01-01", "9999-12-31", "03/09/10000", "1/1/1", "29/02/2025", "29/02/2024", "12/13/2026",
         "2026-13-01", "3rd September 2026", "03/09/2026x", "٠٣/٠٩/٢٠٢٦"]


def test_strptime_texts_is_pandas_to_datetime():
    texts = np.array(TEXTS, dtype=object)
    for fmt in cells._DATE_FORMATS:
        expected = pd.to_datetime(pd.Series(texts, dtype=object), format=fmt, errors="coerce").to_numpy(dtype="datetime64[us]")
        got = cells.strptime_texts(texts, fmt)
        assert got.dtype == expected.dtype
        assert np.array_equal(got, expected, equal_nan=True), fmt


def test_strptime_texts_one_at_a_time_is_all_at_once():
    texts = np.array(TEXTS, dtype=object)
    for fmt in cells._DATE_FORMATS:
        together = cells.strptime_texts(texts, fmt)
        alone = np.concatenate([cells.strptime_texts(texts[i:i + 1], fmt) for i in range(texts.size)])
        assert np.array_equal(together, alone, equal_nan=True), fmt


def test_text_dates_unchanged_by_order():
    forward = cells._text_dates(TEXTS)
    backward = cells._text_dates(TEXTS[::-1])[::-1]
    for a, b in itertools.zip_longest(forward, backward):
        assert (a is pd.NaT and b is pd.NaT) or a == b


def test_session_overlaps_loop_is_the_pandas_way():
    from apxl.rules import hours

    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(1, 60))
        owner = rng.integers(0, 4, n).astype(np.int64)
        day = np.array([None if rng.random() < 0.1 else str(rng.choice(["Mon", "Tue", "Wed", "Fri"]))
                        for _ in range(n)], dtype=object)
        begin = rng.integers(8, 12, n).astype(np.int64) * 3600 + rng.choice([0, 1800], n)
        finish = begin + rng.integers(0, 4, n).astype(np.int64) * 1800
        few = hours._overlaps_few(owner, day, begin, finish, n)
        many = hours._overlaps_many(owner, day, begin, finish, n)
        assert np.array_equal(few[0], many[0]) and np.array_equal(few[1], many[1]), trial


def _id_columns(rng, n):
    pool = ["P1", "p1", "P2", "P3", "p3 ", "AP-7", "ap-7", "X", "", "Ä1", "ä1", "ß", "SS"]
    return np.array([None if rng.random() < 0.15 else str(rng.choice(pool)) for _ in range(n)], dtype=object)


def test_match_ids_few_is_the_pandas_way():
    from apxl.rules import placements

    rng = np.random.default_rng(11)
    for trial in range(300):
        ids, wanted = _id_columns(rng, int(rng.integers(0, 25))), _id_columns(rng, int(rng.integers(0, 25)))
        few = placements._match_few(ids, wanted)
        saved = placements._FEW
        placements._FEW = -1
        try:
            many = placements.match_ids(ids, wanted)
        finally:
            placements._FEW = saved
        assert np.array_equal(few, many), (trial, ids, wanted)


def test_isin_few_is_the_pandas_way():
    from apxl.rules import placements

    rng = np.random.default_rng(12)
    for trial in range(100):
        values = _id_columns(rng, int(rng.integers(0, 25)))
        options = tuple(rng.choice(["P1", "p1", "X", "", "SS"], 2))
        few = placements.isin(values, options)
        expected = pd.Series(values, dtype=object).isin(options).to_numpy(dtype=bool)
        assert few.dtype == bool and np.array_equal(few, expected), trial


def test_checklist_pairing_few_is_the_pandas_way():
    from apxl.rules import checklist

    rng = np.random.default_rng(13)
    for trial in range(300):
        pids = checklist._norm(_id_columns(rng, int(rng.integers(0, 20))))
        cids = checklist._norm(_id_columns(rng, int(rng.integers(0, 20))))
        few, many = checklist._pair_few(pids, cids), checklist._pair_many(pids, cids)
        for a, b in zip(few, many):
            assert a.dtype == b.dtype and np.array_equal(a, b), trial


def _with_pandas(module, name, value, fn, *args):
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        return fn(*args)
    finally:
        setattr(module, name, saved)


def test_rule_helpers_few_are_the_pandas_way():
    import re

    from apxl.rules import base, hours, providers, visits

    rng = np.random.default_rng(14)
    never = lambda *columns: False  # noqa: E731 - forces the pandas spelling
    for trial in range(200):
        ids, wanted = _id_columns(rng, int(rng.integers(0, 20))), _id_columns(rng, int(rng.integers(0, 20)))
        expected = _with_pandas(hours, "few_texts", never, hours._match, ids, wanted)
        assert np.array_equal(hours._match(ids, wanted), expected), trial
        codes = base.factorize(ids)
        assert np.array_equal(codes, pd.factorize(ids)[0].astype(np.int64)), trial
        assert np.array_equal(base.map_to_float(ids, {"P1": 1, "X": 2}),
                              pd.Series(ids, dtype=object).map({"P1": 1, "X": 2}).to_numpy(dtype=float, na_value=np.nan),
                              equal_nan=True), trial
        got = visits.id_codes(ids, wanted)
        many = _with_pandas(visits, "few_texts", never, visits.id_codes, ids, wanted)
        assert got[1] == many[1] and all(np.array_equal(a, b) for a, b in zip(got[0], many[0])), trial
        for pattern, upper in ((re.compile(r"[0-9]{1}"), False), (re.compile(r"[A-Z]{1,2}[0-9]?"), True)):
            fast = providers._matches(ids, pattern, upper)
            slow = _with_pandas(providers, "few_texts", never, providers._matches, ids, pattern, upper)
            assert np.array_equal(fast, slow), trial


def test_text_dates_one_at_a_time_is_all_at_once():
    together = cells._parse_text_dates(TEXTS)
    for text, date in zip(TEXTS, together):
        alone = cells._parse_text_dates([text])[0]
        assert (alone is pd.NaT and date is pd.NaT) or alone == date, text
    cells._TEXT_DATES.clear()
    first = cells._text_dates(TEXTS)
    again = cells._text_dates(TEXTS[::-1])[::-1]
    assert [str(d) for d in first] == [str(d) for d in again] == [str(d) for d in together]


def test_pandera_one_check_at_a_time_is_the_frame_schema():
    import pandera.errors as pe

    from apxl import checks
    from apxl.schema import sheet_schemas

    rng = np.random.default_rng(15)
    for schema in sheet_schemas().values():
        for spec in checks._checked_fields(schema):
            for trial in range(12):
                n = int(rng.integers(1, 30))
                if spec.min is not None or spec.max is not None:
                    values = rng.choice([np.nan, -1.0, 0.0, 5.0, 12.5, 39.0, 40.0, 41.0, 1e6], n)
                else:
                    pool = [None, "A", "a", "B", "Yes", "No", "P-1", "P-2", *spec.allowed[:4]]
                    values = np.array([pool[int(k)] for k in rng.integers(0, len(pool), n)], dtype=object)
                frame = pd.DataFrame({spec.name: values}, index=pd.RangeIndex(n))
                expected = set()
                try:
                    checks.pandera_schema(schema).validate(frame, lazy=True)
                except pe.SchemaErrors as errors:
                    cases = errors.failure_cases
                    expected = {(c, str(k).split("(")[0], int(i)) for c, k, i in zip(cases["column"], cases["check"], cases["index"])}
                series = pd.Series(values, index=pd.RangeIndex(n), name=spec.name)
                wanted = checks._may_fail_checks(spec, values)
                got = checks._pandera_cases(schema, spec.name, series, wanted)
                assert got is not None
                found = {(c, k, int(i)) for c, k, i in zip(got["column"], got["check"], got["index"])}
                assert found == expected, (schema.name, spec.name, trial)
