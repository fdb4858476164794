"""HR rules (rules.md "HR: hours and the registration test"): each fires where it should, and nowhere else.

Placements columns: A Placement ID ... E Date of birth, G SEN status, H Looked after, I Provider ID,
L Start date, M Planned end date, N Actual end date, O AP hours per week, P School hours per week.
Timetable columns: A Placement ID, B Day, C Location, D Start time, E End time.
The default placement_row: born 1 May 2012 (compulsory school age until 30 June 2028), at AP-01
(Meadow Farm Learning, Unregistered) from 14/09/2026 to 12/02/2027, 10 h at the provider, 15 h at school.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

import apxl
from apxl.rules import hours as hr
from workbooks import checklist_row, headers, placement_row, provider_row, tracker

AS_OF = dt.date(2026, 11, 30)
D = dt.date
T = dt.time
FULL = {"AP hours per week": 25, "School hours per week": 5}        # full-time at the provider


def book(placements, providers=None, **extra):
    ids = [row[0] for row in placements]
    return tracker(placements=placements, providers=providers, checklist=[checklist_row(p) for p in ids], **extra)


def hr_findings(report, code=None):
    return [f for f in report.findings if f.rule.startswith("HR") and (code is None or f.rule == code)]


def run(placements, providers=None, as_of=AS_OF, policy=None, **extra):
    return apxl.validate(book(placements, providers, **extra), as_of=as_of, policy=policy)


def codes(report):
    return sorted({f.rule for f in hr_findings(report)})


def timetable(*rows):
    return [headers("Timetable")] + [list(r) for r in rows]


def full_time(pid, **over):
    return placement_row(pid, **{**FULL, **over})


# --- HR001 ------------------------------------------------------------------------------------------

def test_hr001_fires_above_18_hours_not_at_18():
    report = run([placement_row("P-1", **{"AP hours per week": 18}),
                  placement_row("P-2", **{"AP hours per week": 18.25})])
    found = hr_findings(report, "HR001")
    assert [(f.sheet, f.cell, f.record, f.severity) for f in found] == [("Placements", "O3", "P-2", "warning")]
    msg = found[0].message
    assert "P-2 has 18.25 hours a week at Meadow Farm Learning" in msg
    assert "more than 18 hours a week" in msg and "Education Act 1996 s.463" in msg
    assert found[0].value == "18.25"


def test_hr001_follows_the_policy_threshold():
    report = run([placement_row("P-1", **{"AP hours per week": 18.25})], policy={"full_time_hours": 20})
    assert hr_findings(report, "HR001") == []
    report = run([placement_row("P-1", **{"AP hours per week": 16})], policy={"full_time_hours": 15})
    assert [f.record for f in hr_findings(report, "HR001")] == ["P-1"]


def test_hr001_active_or_planned_only_and_age_on_the_start_date_of_a_planned_placement():
    # born 1 October 2010: compulsory school age until Friday 25 June 2027
    rows = [
        full_time("P-ENDED", **{"Start date": D(2026, 9, 1), "Planned end date": D(2026, 10, 16),
                                "Actual end date": D(2026, 10, 16), "Status": "Ended"}),
        full_time("P-LATER", **{"Date of birth": D(2010, 10, 1), "Start date": D(2027, 9, 6),
                                "Planned end date": D(2027, 12, 17), "Status": "Planned"}),
        full_time("P-NOW", **{"Date of birth": D(2010, 10, 1)}),
    ]
    assert [f.record for f in hr_findings(run(rows), "HR001")] == ["P-NOW"]


# --- who and where: unregistered providers, compulsory school age ----------------------------------

def test_registered_school_and_fe_college_get_no_hr_finding():
    providers = [provider_row("AP-01"),
                 provider_row("RS-01", **{"Provider name": "Hill School", "Registration": "Registered school",
                                          "URN": "123457"}),
                 provider_row("FE-01", **{"Provider name": "Melton College", "Registration": "FE college",
                                          "URN": "130001"})]
    rows = [full_time(f"P-{p}{k}", **{"Provider ID": p, "Looked after": "Yes", "SEN status": "E"})
            for p in ("RS-01", "FE-01") for k in range(5)]
    rows.append(placement_row("P-OK"))
    tt = timetable(("P-RS-010", "Mon", "AP", T(7, 0), T(12, 0)), ("P-RS-010", "Mon", "School", T(11, 0), T(15, 0)))
    report = run(rows, providers, Timetable=tt)
    assert hr_findings(report) == []


def test_year_12_pupil_with_an_ehc_plan_full_time_at_an_unregistered_provider_gets_no_hr_finding():
    # born 1 October 2009: compulsory school age ended on Friday 26 June 2026
    rows = [full_time("P-Y12", **{"Date of birth": D(2009, 10, 1), "NC year": 12, "SEN status": "E"})]
    assert hr_findings(run(rows)) == []
    rows = [full_time("P-Y11", **{"Date of birth": D(2010, 10, 1), "NC year": 11, "SEN status": "E"})]
    assert codes(run(rows)) == ["HR001", "HR002", "HR008"]


def test_no_cascades_unknown_dates_provider_or_birth_date():
    rows = [full_time("P-1", **{"Start date": "TBC", "Looked after": "Yes"}),
            full_time("P-2", **{"Provider ID": "AP-99", "Looked after": "Yes"}),
            full_time("P-3", **{"Date of birth": "soon", "Looked after": "Yes"}),
            full_time("P-4", **{"AP hours per week": 45, "Looked after": "Yes"}),
            full_time("P-5", **{"Actual end date": "n/a", "Looked after": "Yes"})]
    assert hr_findings(run(rows)) == []


# --- HR002 ------------------------------------------------------------------------------------------

def test_hr002_looked_after_or_ehc_plan_full_time_is_an_error():
    rows = [full_time("P-LAC", **{"Looked after": "Yes"}),
            full_time("P-EHC", **{"SEN status": "E", "Start date": D(2026, 10, 5)}),
            full_time("P-K", **{"SEN status": "K"}),                                 # SEN support: not under esa2008
            placement_row("P-PT", **{"Looked after": "Yes", "AP hours per week": 18})]  # not full-time
    found = {f.record: f for f in hr_findings(run(rows), "HR002")}
    assert sorted(found) == ["P-EHC", "P-LAC"]
    lac = found["P-LAC"]
    assert (lac.sheet, lac.cell, lac.severity) == ("Placements", "O2", "error")
    assert lac.message.startswith("On these returns Meadow Farm Learning meets the registration test from 14/09/2026")
    assert "P-LAC is a full-time pupil of compulsory school age (25 hours a week) who is looked after" in lac.message
    assert "apxl sees only the workbooks it was given" in lac.message
    ehc = found["P-EHC"]
    assert ehc.cell == "O3" and "from 05/10/2026" in ehc.message and "has an EHC plan" in ehc.message
    assert "and so is P-LAC" in ehc.message


def test_hr002_under_cwsa2026_any_sen_counts():
    rows = [full_time("P-K", **{"SEN status": "K"}), full_time("P-N", **{"SEN status": "N"})]
    assert hr_findings(run(rows), "HR002") == []
    found = hr_findings(run(rows, policy={"registration_law": "cwsa2026"}), "HR002")
    assert [(f.record, f.cell) for f in found] == [("P-K", "O2")]
    assert "special educational needs" in found[0].message and "2026 s.43" in found[0].message


def test_hr002_counts_from_1_september_of_the_academic_year():
    rows = [full_time("P-SUMMER", **{"Looked after": "Yes", "Start date": D(2026, 4, 20),
                                     "Planned end date": D(2026, 7, 17), "Actual end date": D(2026, 7, 17),
                                     "Status": "Ended"}),
            full_time("P-SEPT", **{"Looked after": "Yes", "Start date": D(2026, 6, 1),
                                   "Planned end date": D(2026, 9, 10), "Actual end date": D(2026, 9, 10),
                                   "Status": "Ended"})]
    found = hr_findings(run(rows), "HR002")
    assert [f.record for f in found] == ["P-SEPT"]
    assert "from 01/09/2026" in found[0].message


def test_hr002_a_planned_placement_counts_on_its_days():
    rows = [full_time("P-NEXT", **{"Looked after": "Yes", "Start date": D(2027, 1, 11),
                                   "Planned end date": D(2027, 3, 26), "Status": "Planned"})]
    found = hr_findings(run(rows), "HR002")
    assert [f.record for f in found] == ["P-NEXT"] and "from 11/01/2027" in found[0].message


# --- HR003 and HR004: the sweep ----------------------------------------------------------------------

def test_hr003_five_full_time_pupils_at_once():
    rows = [full_time(f"P-{k}", **{"Start date": D(2026, 9, 14 + k)}) for k in range(1, 6)]
    rows.append(placement_row("P-PT"))                                                   # 10 h: not counted
    found = hr_findings(run(rows), "HR003")
    assert [(f.cell, f.record, f.severity) for f in found] == [(f"O{k + 1}", f"P-{k}", "error") for k in range(1, 6)]
    first = found[0]
    assert first.message.startswith("On these returns Meadow Farm Learning meets the registration test from 19/09/2026: "
                                    "5 full-time pupils of compulsory school age at once (P-1 with P-2, P-3, P-4, P-5)")
    assert "apxl sees only the workbooks it was given" in first.message
    assert "(P-3 with P-1, P-2, P-4, P-5)" in found[2].message
    assert first.value == "5"
    assert hr_findings(run(rows), "HR004") == []


def test_hr004_four_full_time_pupils_at_once():
    rows = [full_time(f"P-{k}") for k in range(1, 5)] + [placement_row("P-PT", **{"AP hours per week": 18})]
    report = run(rows)
    assert hr_findings(report, "HR003") == []
    found = hr_findings(report, "HR004")
    assert [(f.cell, f.record, f.severity) for f in found] == [(f"O{k + 1}", f"P-{k}", "warning") for k in range(1, 5)]
    assert "one pupil short of the registration test on 14/09/2026: 4 full-time pupils" in found[0].message
    assert "(P-1 with P-2, P-3, P-4)" in found[0].message


def test_five_rows_that_never_overlap_are_not_five_at_once():
    terms = [(D(2026, 9, 1), D(2026, 10, 16)), (D(2026, 10, 26), D(2026, 12, 18)), (D(2027, 1, 4), D(2027, 2, 12)),
             (D(2027, 2, 22), D(2027, 3, 31)), (D(2027, 4, 19), D(2027, 5, 21))]
    rows = [full_time(f"P-{k}", **{"Start date": a, "Planned end date": b, "Status": "Active" if a <= AS_OF else "Planned"})
            for k, (a, b) in enumerate(terms, 1)]
    report = run(rows)
    assert hr_findings(report, "HR003") == [] and hr_findings(report, "HR004") == []


def test_a_same_day_move_is_counted_once():
    # P-4 ends on 16/10/2026 and P-5 starts that day: still 4 at once, not 5
    rows = [full_time(f"P-{k}") for k in range(1, 4)]
    rows.append(full_time("P-4", **{"Planned end date": D(2026, 10, 16), "Actual end date": D(2026, 10, 16),
                                    "Status": "Ended"}))
    rows.append(full_time("P-5", **{"Start date": D(2026, 10, 16)}))
    report = run(rows)
    assert hr_findings(report, "HR003") == []
    found = hr_findings(report, "HR004")
    assert [f.record for f in found] == ["P-1", "P-2", "P-3", "P-4"]          # the first day of the peak: 14/09/2026
    # one more day of overlap and it is five at once, from the day P-5 starts
    rows[3] = full_time("P-4", **{"Planned end date": D(2026, 10, 17), "Actual end date": D(2026, 10, 17),
                                  "Status": "Ended"})
    found = hr_findings(run(rows), "HR003")
    assert [f.record for f in found] == ["P-1", "P-2", "P-3", "P-4", "P-5"]
    assert "from 16/10/2026" in found[0].message


def test_a_pupil_counts_until_the_last_friday_in_june_of_the_year_they_turn_16():
    # P-OLD: born 1 October 2010, compulsory school age until Friday 25 June 2027
    old = full_time("P-OLD", **{"Date of birth": D(2010, 10, 1), "NC year": 11, "Planned end date": D(2027, 7, 16)})
    on_the_day = [full_time(f"P-{k}", **{"Start date": D(2027, 6, 25), "Planned end date": D(2027, 7, 16),
                                         "Status": "Planned"}) for k in range(1, 5)]
    found = hr_findings(run([old] + on_the_day), "HR003")
    assert sorted(f.record for f in found) == ["P-1", "P-2", "P-3", "P-4", "P-OLD"]
    assert "from 25/06/2027" in found[0].message
    after = [full_time(f"P-{k}", **{"Start date": D(2027, 6, 28), "Planned end date": D(2027, 7, 16),
                                    "Status": "Planned"}) for k in range(1, 5)]
    report = run([old] + after)
    assert hr_findings(report, "HR003") == []
    assert sorted(f.record for f in hr_findings(report, "HR004")) == ["P-1", "P-2", "P-3", "P-4"]


def test_providers_are_counted_apart_and_by_policy():
    providers = [provider_row("AP-01"), provider_row("AP-02", **{"Provider name": "River Skills", "Postcode": "LE13 1AA"})]
    rows = [full_time(f"P-A{k}") for k in range(3)] + [full_time(f"P-B{k}", **{"Provider ID": "AP-02"}) for k in range(3)]
    report = run(rows, providers)
    assert codes(report) == ["HR001", "HR008"]
    report = run(rows, providers, policy={"registration_pupil_count": 3})
    found = hr_findings(report, "HR003")
    assert len(found) == 6
    assert {f.message.split(" meets")[0] for f in found} == {"On these returns Meadow Farm Learning",
                                                              "On these returns River Skills"}


def test_timetable_hours_override_the_typed_hours():
    # typed 10 h, timetabled 5 x 09:00-13:00 = 20 h at the provider: full-time
    tt = timetable(*[(f"P-{k}", day, "AP", T(9, 0), T(13, 0)) for k in range(1, 6)
                     for day in ("Mon", "Tue", "Wed", "Thu", "Fri")])
    rows = [placement_row(f"P-{k}") for k in range(1, 6)]
    report = run(rows, Timetable=tt)
    assert [f.record for f in hr_findings(report, "HR003")] == ["P-1", "P-2", "P-3", "P-4", "P-5"]
    hr001 = hr_findings(report, "HR001")
    assert len(hr001) == 5 and hr001[0].value == "20" and "(from the Timetable)" in hr001[0].message
    # typed 25 h, timetabled 3 x 09:00-15:00 = 18 h: not full-time
    tt = timetable(*[("P-1", day, "AP", T(9, 0), T(15, 0)) for day in ("Mon", "Tue", "Wed")])
    report = run([full_time("P-1", **{"Looked after": "Yes"})], Timetable=tt)
    assert hr_findings(report, "HR001") == [] and hr_findings(report, "HR002") == []


def test_a_timetable_with_an_unreadable_time_leaves_the_hours_unknown():
    tt = timetable(("P-1", "Mon", "AP", T(9, 0), T(15, 0)), ("P-1", "Tue", "AP", "soon", T(15, 0)))
    report = run([full_time("P-1", **{"Looked after": "Yes"})], Timetable=tt)
    assert codes(report) == []


# --- HR005 to HR007: the Timetable -------------------------------------------------------------------

def test_hr005_timetable_differs_from_typed_hours_by_more_than_half_an_hour():
    days = ("Mon", "Tue", "Wed", "Thu", "Fri")
    tt = timetable(*[("P-1", d, "AP", T(9, 0), T(11, 0)) for d in days],               # 10 h = typed 10
                   *[("P-1", d, "School", T(11, 0), T(14, 0)) for d in days],          # 15 h = typed 15
                   *[("P-2", d, "AP", T(9, 0), T(11, 6)) for d in days],               # 10.5 h vs 10: within 0.5
                   *[("P-2", d, "School", T(11, 6), T(14, 6)) for d in days],
                   *[("P-3", d, "AP", T(9, 0), T(11, 9)) for d in days],               # 10.75 h vs 10
                   *[("P-3", d, "School", T(11, 9), T(14, 9)) for d in days],
                   *[("P-4", d, "AP", T(9, 0), T(11, 0)) for d in days],
                   *[("P-4", d, "School", T(11, 0), T(13, 0)) for d in days])          # school 10 h vs 15
    rows = [placement_row(f"P-{k}") for k in range(1, 5)]
    found = hr_findings(run(rows, Timetable=tt), "HR005")
    assert [(f.cell, f.record, f.value, f.severity) for f in found] == [("O4", "P-3", "10.75", "warning"),
                                                                          ("P5", "P-4", "10", "warning")]
    assert "The Timetable gives P-3 10.75 hours a week at the provider, but AP hours per week says 10" in found[0].message
    assert "at school, but School hours per week says 15" in found[1].message


def test_hr006_sessions_of_one_placement_that_overlap_on_a_day():
    tt = timetable(("P-1", "Mon", "AP", T(9, 0), T(12, 0)),
                   ("P-1", "Mon", "School", T(11, 30), T(14, 0)),       # overlaps the Monday AP session: row 3
                   ("P-1", "Tue", "AP", T(9, 0), T(12, 0)),
                   ("P-1", "Tue", "School", T(12, 0), T(14, 0)),        # touches: no overlap
                   ("P-1", "Wed", "AP", T(9, 0), T(12, 0)),
                   ("P-2", "Wed", "AP", T(10, 0), T(12, 0)),            # another placement: no overlap
                   ("P-1", "Thursday", "AP", T(9, 0), T(15, 0)),
                   ("P-1", "Thu", "School", T(10, 0), T(11, 0)),        # inside the long one: row 9
                   ("P-1", "Thu", "Other", T(13, 0), T(14, 0)))         # still inside it: row 10
    rows = [placement_row("P-1"), placement_row("P-2")]
    found = hr_findings(run(rows, Timetable=tt), "HR006")
    assert [(f.sheet, f.cell, f.record, f.severity) for f in found] == [
        ("Timetable", "D3", "P-1", "error"), ("Timetable", "D9", "P-1", "error"), ("Timetable", "D10", "P-1", "error")]
    assert found[0].message.startswith("On Monday the School session 11:30 to 14:00 of P-1 overlaps the AP session "
                                       "09:00 to 12:00 in row 2 of the Timetable")
    assert "in row 8 of the Timetable" in found[2].message


def test_hr007_a_session_at_the_provider_outside_the_day():
    tt = timetable(("P-1", "Mon", "AP", T(7, 30), T(12, 0)),            # starts before 08:00
                   ("P-1", "Tue", "AP", T(8, 0), T(18, 0)),             # the whole window: fine
                   ("P-1", "Wed", "AP", T(14, 0), T(18, 30)),           # ends after 18:00
                   ("P-1", "Thu", "School", T(7, 0), T(9, 0)))          # at school: not this rule
    found = hr_findings(run([placement_row("P-1")], Timetable=tt), "HR007")
    assert [(f.cell, f.record, f.severity) for f in found] == [("D2", "P-1", "warning"), ("D4", "P-1", "warning")]
    assert "on Monday from 07:30 to 12:00, which starts before the daytime window 08:00 to 18:00" in found[0].message
    assert "ends after" in found[1].message
    found = hr_findings(run([placement_row("P-1")], Timetable=tt, policy={"daytime": ["07:00", "19:00"]}), "HR007")
    assert found == []


def test_timetable_rules_keep_to_unregistered_providers_and_compulsory_age():
    tt = timetable(("P-1", "Mon", "AP", T(7, 0), T(12, 0)), ("P-1", "Mon", "School", T(11, 0), T(17, 0)))
    assert codes(run([placement_row("P-1")], Timetable=tt)) == ["HR005", "HR006", "HR007"]
    providers = [provider_row("AP-01", **{"Registration": "Registered school", "URN": "123457"})]
    assert codes(run([placement_row("P-1")], providers, Timetable=tt)) == []
    assert codes(run([placement_row("P-1", **{"Date of birth": D(2009, 10, 1), "NC year": 12})], Timetable=tt)) == []


# --- HR008 ------------------------------------------------------------------------------------------

def test_hr008_the_provider_gives_most_of_the_education():
    rows = [placement_row("P-MORE", **{"AP hours per week": 15, "School hours per week": 10}),
            placement_row("P-LESS", **{"AP hours per week": 10, "School hours per week": 15}),
            placement_row("P-EVEN", **{"AP hours per week": 12, "School hours per week": 12}),
            placement_row("P-NONE", **{"AP hours per week": 5, "School hours per week": 0}),
            placement_row("P-ZERO", **{"AP hours per week": 0, "School hours per week": 0})]
    found = hr_findings(run(rows), "HR008")
    assert [(f.cell, f.record, f.severity) for f in found] == [("O2", "P-MORE", "warning"), ("O4", "P-EVEN", "warning"),
                                                               ("O5", "P-NONE", "warning")]
    assert found[0].message.startswith("P-MORE has 15 hours a week at Meadow Farm Learning and 10 at school")
    assert "all, or substantially all" in found[0].message


# --- the sweep itself --------------------------------------------------------------------------------

def brute_peaks(group, first, stop):
    out = {}
    for g in np.unique(group):
        mine = group == g
        days = np.arange(first[mine].min(), stop[mine].max())
        counts = [int(((first[mine] <= d) & (d < stop[mine])).sum()) for d in days]
        peak = max(counts)
        out[int(g)] = (peak, int(days[counts.index(peak)]))
    return out


def test_the_sweep_agrees_with_counting_day_by_day():
    rng = np.random.default_rng(7)
    n = 400
    group = rng.integers(0, 12, n)
    first = rng.integers(0, 200, n)
    stop = first + rng.integers(1, 60, n)
    sweep = hr.Sweep(rows=np.arange(n), group=group, first=first, stop=stop)
    groups, peak, day, member = hr._peaks(sweep)
    expected = brute_peaks(group, first, stop)
    assert {int(g): (int(p), int(d)) for g, p, d in zip(groups, peak, day)} == expected
    for g, (p, _) in expected.items():
        assert int(member[group == g].sum()) == p
    ok, when = hr._first_breach(group, first, stop, 3)
    for j in range(n):
        mine = group == group[j]
        days = [d for d in range(first[j], stop[j]) if ((first[mine] <= d) & (d < stop[mine])).sum() >= 3]
        assert bool(ok[j]) == bool(days)
        if days:
            assert when[j] == days[0]


def test_the_sweep_takes_well_under_a_second_for_100000_placements():
    rng = np.random.default_rng(1)
    n = 100_000
    group = rng.integers(0, 5_000, n)
    first = rng.integers(20_000, 20_400, n)
    stop = first + rng.integers(1, 200, n)
    sweep = hr.Sweep(rows=np.arange(n), group=group, first=first, stop=stop)
    began = time.perf_counter()
    hr._peaks(sweep)
    hr._first_breach(group, first, stop, 1)
    assert time.perf_counter() - began < 0.5


@pytest.mark.parametrize("law,expected", [("esa2008", ["P-E"]), ("cwsa2026", ["P-E", "P-K"])])
def test_hr002_law_choice_in_a_policy(law, expected):
    rows = [full_time("P-E", **{"SEN status": "E"}), full_time("P-K", **{"SEN status": "K"})]
    assert [f.record for f in hr_findings(run(rows, policy={"registration_law": law}), "HR002")] == expected


def test_timetable_rows_find_their_placement_trimmed_and_in_any_case():
    tt = timetable(*[(" p-1 ", day, "AP", T(9, 0), T(13, 0)) for day in ("Mon", "Tue", "Wed", "Thu", "Fri")])
    found = hr_findings(run([placement_row("P-1")], Timetable=tt), "HR001")
    assert [(f.record, f.value) for f in found] == [("P-1", "20")]
