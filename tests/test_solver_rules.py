"""The solver, one rule family at a time, on 1–3-school instances where the rule binds.

Each test states the exact outcome the rule forces (and why, in a comment), and ends by
checking the plan with the independent validator.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpers import BASE_TOML, CONSULTANTS, MUNICIPALITIES, TOPICS, starve, write_instance
from models.calendar_days import month_of
from models.domain import Format, Instance, Plan, Session
from models.solve import SolveOptions, solve_consultations
from models.validate import validate
from planner.inputs.validation import load_instance

TV, T1 = TOPICS  # TV: verification, onsite, 120 min, cap 1; T1: program, online, 90 min, cap 10, R03
C1 = CONSULTANTS[0]  # at M1, delivers TV;T1, 4 a month


def topic(id, stage="program", fmt="online", duration=90, capacity=10, risks="R03", requires="", months=""):
    return {"id": id, "title": f"Тема {id}", "risks": risks, "stage": stage, "format": fmt,
            "duration_min": str(duration), "capacity": str(capacity), "requires": requires, "months": months}


def consultant(id, topics="TV;T1", max_per_month=4, max_total="", unavailable="", municipality="M1"):
    return {**C1, "id": id, "name": f"Консультант {id}", "topics": topics, "max_per_month": str(max_per_month),
            "max_total": str(max_total), "unavailable": unavailable, "municipality": municipality}


def school(id, municipality="M1", risks="R03", priority=2, verified_on="2022-02-01", curator="C1"):
    return {"id": id, "name": f"Школа {id}", "municipality": municipality, "risks": risks,
            "priority": str(priority), "verified_on": verified_on, "curator": curator}


def horizon(start: str, end: str, rules: str = "") -> str:
    toml = BASE_TOML.replace("start = 2022-03-01", f"start = {start}").replace("end = 2022-06-30", f"end = {end}")
    return toml + rules


def solve(tmp_path, **tables) -> tuple[Instance, Plan]:
    folder = write_instance(tmp_path / "inst", **tables)
    inst, _warnings = load_instance(folder)
    plan, _report = solve_consultations(inst, SolveOptions(time_limit=10, workers=2, seed=0))
    return inst, plan


def of_topic(plan: Plan, topic_id: str):
    return [s for s in plan.sessions if s.topic == topic_id]


def unmet_codes(plan: Plan) -> Counter:
    return Counter((u.school, u.risk, u.code) for u in plan.unmet)


# --- capacity and format -----------------------------------------------------------------


def test_capacity_three_schools_two_per_session(tmp_path):
    # 3 schools need T1, a session holds 2: ceil(3/2) = 2 sessions, and the per-session
    # penalty rules out a third one.
    inst, plan = solve(tmp_path, topics=[TV, {**T1, "capacity": "2"}],
                       schools=[school("S1", priority=1), school("S2"), school("S3")])
    assert len(plan.sessions) == 2
    assert sorted(len(s.schools) for s in plan.sessions) == [1, 2]
    assert sorted(x for s in plan.sessions for x in s.schools) == ["S1", "S2", "S3"]
    assert plan.unmet == []
    assert validate(inst, plan) == []


def test_onsite_session_serves_one_municipality(tmp_path):
    # An onsite topic with room for 10 still needs one visit per municipality: S1 in M1 and
    # S2 in M2 get a session each. M2 is ~64 km away (83 min from 07:00), so both start at 10:00.
    onsite = {**T1, "format": "onsite", "duration_min": "120"}
    inst, plan = solve(tmp_path, topics=[TV, onsite], schools=[school("S1", "M1"), school("S2", "M2")])
    assert sorted((s.municipality, s.schools) for s in plan.sessions) == [("M1", ("S1",)), ("M2", ("S2",))]
    assert all(s.format == "onsite" for s in plan.sessions)
    assert {s.start.strftime("%H:%M") for s in plan.sessions} == {"10:00"}
    assert plan.unmet == []
    assert validate(inst, plan) == []


# --- consultant limits ---------------------------------------------------------------------


def test_consultant_month_limit_binds(tmp_path):
    # One month (March), T1 holds 1 school, C1 gives 1 session a month: one school is served,
    # the other is unmet because the only consultant is full.
    inst, plan = solve(tmp_path, toml=horizon("2022-03-01", "2022-03-31"),
                       topics=[TV, {**T1, "capacity": "1"}], consultants=[consultant("C1", max_per_month=1)],
                       schools=[school("S1", priority=1), school("S2")])
    assert [(s.topic, s.schools) for s in plan.sessions] == [("T1", ("S1",))]
    assert unmet_codes(plan) == Counter({("S2", "R03", "consultants_full"): 1})
    assert validate(inst, plan) == []


def test_consultant_total_limit_binds(tmp_path):
    # Four months, 4 sessions a month, but max_total = 2: two of three schools are served;
    # the priority-3 school is the one left, as full consultants.
    inst, plan = solve(tmp_path, topics=[TV, {**T1, "capacity": "1"}],
                       consultants=[consultant("C1", max_per_month=4, max_total=2)],
                       schools=[school("S1", priority=3), school("S2", priority=1), school("S3", priority=2)])
    assert len(plan.sessions) == 2
    assert sorted(x for s in plan.sessions for x in s.schools) == ["S2", "S3"]
    assert unmet_codes(plan) == Counter({("S1", "R03", "consultants_full"): 1})
    assert validate(inst, plan) == []


def test_consultant_unavailable_months_and_ranges(tmp_path):
    # C1 is away in March and until 20 May. S1 is priority 1, so its program topic is pulled
    # to the earliest month C1 can give it: May, on or after Monday 23 May.
    inst, plan = solve(tmp_path, consultants=[consultant("C1", unavailable="2022-03;2022-04-01..2022-05-20")],
                       schools=[school("S1", priority=1)])
    assert len(plan.sessions) == 1
    (s,) = plan.sessions
    assert month_of(s.day) == "2022-05"
    assert date(2022, 5, 23) <= s.day <= date(2022, 5, 31)
    assert plan.unmet == []
    assert validate(inst, plan) == []


def test_consultant_unavailable_everywhere_is_unmet_with_reason(tmp_path):
    # The only deliverer is away for the whole horizon: no session, and a reason that says so.
    inst, plan = solve(tmp_path, consultants=[consultant("C1", unavailable="2022-03-01..2022-06-30")])
    assert plan.sessions == []
    assert unmet_codes(plan) == Counter({("S1", "R03", "no_open_month"): 1})
    assert validate(inst, plan) == []


# --- calendar ------------------------------------------------------------------------------


def test_topic_only_in_its_months(tmp_path):
    # T1 may be held only in May; the priority-1 school would otherwise take it in March.
    inst, plan = solve(tmp_path, topics=[TV, {**T1, "months": "2022-05"}], schools=[school("S1", priority=1)])
    assert [month_of(s.day) for s in plan.sessions] == ["2022-05"]
    assert validate(inst, plan) == []


def test_holidays_around_8_march(tmp_path):
    # Horizon Mon 7 – Fri 11 March 2022: the 7th (transferred day off) and the 8th are
    # holidays, so 9, 10, 11 March are the open days. An onsite visit takes the consultant's
    # whole day and two visits never fall on consecutive days (a rest day between), so the
    # one consultant visits on the 9th and the 11th (never the 7th or 8th); two of the three
    # priority-1 schools get a visit, and the rest are unmet because the consultant is full.
    onsite = {**T1, "format": "onsite", "duration_min": "120", "capacity": "1"}
    inst, plan = solve(tmp_path, toml=horizon("2022-03-07", "2022-03-11"), topics=[TV, onsite],
                       schools=[school("S1", priority=1), school("S2", priority=1), school("S3", priority=1),
                                school("S4", priority=3)])
    assert sorted(s.day for s in plan.sessions) == [date(2022, 3, 9), date(2022, 3, 11)]
    visited = sorted(x for s in plan.sessions for x in s.schools)
    assert len(visited) == 2 and set(visited) <= {"S1", "S2", "S3"}
    unmet = {u.school: u.code for u in plan.unmet}
    assert set(unmet) == {"S1", "S2", "S3", "S4"} - set(visited)
    assert set(unmet.values()) == {"consultants_full"}
    assert validate(inst, plan) == []


def test_blocked_months_and_vacations_are_never_used(tmp_path):
    # March and April blocked; 1–3 May are holidays and 4–31 May a vacation, so May has no
    # open day either: the priority-1 school's program topic goes to June, the first open month.
    toml = BASE_TOML.replace('blocked_months = []\nvacations = []',
                             'blocked_months = ["2022-03", "2022-04"]\nvacations = [["2022-05-04", "2022-05-31"]]')
    inst, plan = solve(tmp_path, toml=toml, schools=[school("S1", priority=1)])
    assert [month_of(s.day) for s in plan.sessions] == ["2022-06"]
    assert validate(inst, plan) == []


# --- schools -------------------------------------------------------------------------------


def test_school_monthly_limit(tmp_path):
    # One month; S1 has three risks, each with its own topic, but attends at most 2 sessions
    # a month: 2 risks covered, the third unmet because the school is at its limit.
    topics = [TV, topic("T1", risks="R03"), topic("T2", risks="R05"), topic("T3", risks="R06")]
    inst, plan = solve(tmp_path, toml=horizon("2022-03-01", "2022-03-31"), topics=topics,
                       consultants=[consultant("C1", topics="TV;T1;T2;T3")],
                       schools=[school("S1", risks="R03;R05;R06", priority=1)])
    assert len(plan.sessions) == 2
    assert len({s.day for s in plan.sessions}) == 2  # never two the same day
    assert [(u.school, u.code) for u in plan.unmet] == [("S1", "school_full")]
    assert validate(inst, plan) == []


def test_prerequisite_in_an_earlier_month(tmp_path):
    # T2 requires T1. At month level "strictly earlier" means an earlier month: T1 in March
    # (priority 1: as early as possible), T2 in April.
    topics = [TV, topic("T1", risks="R03"), topic("T2", stage="support", risks="R05", requires="T1")]
    inst, plan = solve(tmp_path, toml=horizon("2022-03-01", "2022-04-30"), topics=topics,
                       consultants=[consultant("C1", topics="TV;T1;T2")],
                       schools=[school("S1", risks="R03;R05", priority=1)])
    months = {s.topic: month_of(s.day) for s in plan.sessions}
    assert months == {"T1": "2022-03", "T2": "2022-04"}
    assert plan.unmet == []
    assert validate(inst, plan) == []


def test_prerequisite_without_an_earlier_month_is_unmet(tmp_path):
    # Only March: T2 cannot follow T1 in an earlier month, so R05 stays unmet, and the reason
    # names the prerequisite (not a capacity trade-off: C1 has room to spare).
    topics = [TV, topic("T1", risks="R03"), topic("T2", stage="support", risks="R05", requires="T1")]
    inst, plan = solve(tmp_path, toml=horizon("2022-03-01", "2022-03-31"), topics=topics,
                       consultants=[consultant("C1", topics="TV;T1;T2")],
                       schools=[school("S1", risks="R03;R05", priority=1)])
    assert [s.topic for s in plan.sessions] == ["T1"]
    assert unmet_codes(plan) == Counter({("S1", "R05", "no_month_after_prerequisite"): 1})
    assert "T1" in plan.unmet[0].reason
    assert validate(inst, plan) == []


def test_verification_first_and_by_the_curator(tmp_path):
    # S1 is not verified; its curator is C2, though C1 also delivers TV. The visit is C2's,
    # onsite in S1's municipality, in March; the program topic T1 comes in a later month.
    consultants = [consultant("C1", topics="TV;T1"), consultant("C2", topics="TV")]
    inst, plan = solve(tmp_path, toml=horizon("2022-03-01", "2022-04-30"), consultants=consultants,
                       schools=[school("S1", municipality="M2", priority=1, verified_on="", curator="C2")])
    got = sorted((s.topic, s.consultant, month_of(s.day), s.municipality, s.schools) for s in plan.sessions)
    assert got == [("T1", "C1", "2022-04", None, ("S1",)), ("TV", "C2", "2022-03", "M2", ("S1",))]
    assert plan.unmet == []
    assert validate(inst, plan) == []


def test_verification_takes_the_only_month(tmp_path):
    # Only March: the curator's visit happens, the program topic has no later month.
    inst, plan = solve(tmp_path, toml=horizon("2022-03-01", "2022-03-31"),
                       schools=[school("S1", priority=1, verified_on="")])
    assert [(s.topic, s.consultant) for s in plan.sessions] == [("TV", "C1")]
    assert unmet_codes(plan) == Counter({("S1", "R03", "no_month_after_verification"): 1})
    assert validate(inst, plan) == []


def test_school_without_curator_is_verified_by_a_nearest_visitor(tmp_path):
    # S1 (in M2) has no curator. C1 lives in M1 (~128 km round trip), C2 in M2 (0 km),
    # C3 in M3 (far). With visitor_candidates = 1 only C2 may visit; with C2 away all year
    # nobody may (reason: the visitors are unavailable), though C1 and C3 are free.
    munis = [*MUNICIPALITIES, {"id": "M3", "name": "Дальний округ", "lat": "57.67", "lon": "86.0"}]
    consultants = [consultant("C1", topics="TV;T1"), consultant("C2", topics="TV", municipality="M2"),
                   consultant("C3", topics="TV", municipality="M3")]
    one = horizon("2022-03-01", "2022-04-30", "visitor_candidates = 1\n")
    schools = [school("S1", municipality="M2", priority=1, verified_on="", curator="")]
    inst, plan = solve(tmp_path / "a", toml=one, municipalities=munis, consultants=consultants, schools=schools)
    assert inst.nearest_visitors("S1", "TV") == ["C2"]
    assert [(s.topic, s.consultant, s.municipality) for s in of_topic(plan, "TV")] == [("TV", "C2", "M2")]
    assert plan.unmet == []
    assert validate(inst, plan) == []
    away = [consultants[0], {**consultants[1], "unavailable": "2022-03-01..2022-04-30"}, consultants[2]]
    inst, plan = solve(tmp_path / "b", toml=one, municipalities=munis, consultants=away, schools=schools)
    assert of_topic(plan, "TV") == []
    assert ("S1", "verification", "verifier_unavailable") in unmet_codes(plan)
    assert validate(inst, plan) == []
    # visitor_candidates = 2: the next nearest, C1, makes the visit instead.
    two = horizon("2022-03-01", "2022-04-30", "visitor_candidates = 2\n")
    inst, plan = solve(tmp_path / "c", toml=two, municipalities=munis, consultants=away, schools=schools)
    assert inst.nearest_visitors("S1", "TV") == ["C2", "C1"]
    assert [(s.consultant, s.municipality) for s in of_topic(plan, "TV")] == [("C1", "M2")]
    assert validate(inst, plan) == []


# --- travel --------------------------------------------------------------------------------

FAR = [*MUNICIPALITIES,
       {"id": "M3", "name": "Дальний округ", "lat": "57.67", "lon": "86.0"},        # 296.89 km from M1
       {"id": "M4", "name": "Очень дальний округ", "lat": "59.5", "lon": "86.0"}]   # 500.38 km from M1


def test_travel_sets_the_start_time(tmp_path):
    # M1 → M3: 296.89 km × 1.3 / 60 km/h = 385.96 → 386 min; 07:00 + 6:26 = 13:26, rounded up
    # to the half hour: the visit starts at 13:30 and ends at 15:30.
    onsite = {**T1, "format": "onsite", "duration_min": "120"}
    inst, plan = solve(tmp_path, municipalities=FAR, topics=[TV, onsite],
                       schools=[school("S1", "M3", priority=1)])
    assert [(s.municipality, s.start.strftime("%H:%M"), s.end.strftime("%H:%M")) for s in plan.sessions] == [
        ("M3", "13:30", "15:30")]
    assert validate(inst, plan) == []


def test_travel_no_room_to_round_starts_at_the_arrival(tmp_path):
    # A 274-min visit to M3: arrival 13:26, so it ends at 18:00 sharp; rounded to 13:30 it
    # would end at 18:04. The same-day trip works, so the visit starts at 13:26 (starting at
    # 10:00 after a night away is not what the travel rule allows, and the validator says so).
    onsite = {**T1, "format": "onsite", "duration_min": "274"}
    inst, plan = solve(tmp_path, municipalities=FAR, topics=[TV, onsite],
                       schools=[school("S1", "M3", priority=1)])
    assert [(s.start.strftime("%H:%M"), s.end.strftime("%H:%M")) for s in plan.sessions] == [("13:26", "18:00")]
    assert validate(inst, plan) == []


def test_travel_overnight_leaves_the_previous_day_free(tmp_path):
    # M1 → M4: 500.38 km → 651 min; 07:00 + 10:51 = 17:51 leaves no room for 120 min, so the
    # consultant travels the evening before and starts at 10:00. With two cap-1 visits there
    # and a second school in M1 (online), no session of C1 may fall on the day before a visit.
    onsite = {**T1, "format": "onsite", "duration_min": "120", "capacity": "1"}
    online = topic("T2", risks="R05", capacity=1, duration=60)
    inst, plan = solve(tmp_path, toml=horizon("2022-03-01", "2022-03-31"), municipalities=FAR,
                       topics=[TV, onsite, online], consultants=[consultant("C1", topics="TV;T1;T2", max_per_month=6)],
                       schools=[school("S1", "M4", priority=1), school("S2", "M4", priority=1),
                                school("S3", "M1", risks="R05", priority=1)])
    visits = [s for s in plan.sessions if s.municipality == "M4"]
    assert len(visits) == 2 and len(plan.sessions) == 3
    assert {s.start.strftime("%H:%M") for s in visits} == {"10:00"}
    busy = {s.day for s in plan.sessions}
    for v in visits:
        assert v.day - timedelta(days=1) not in busy
    assert plan.unmet == []
    assert validate(inst, plan) == []


# --- objective -----------------------------------------------------------------------------


def test_scarce_capacity_goes_to_priority_1(tmp_path):
    # One session in the whole horizon (max_total = 1, cap 1): the priority-1 school gets it,
    # though it comes second in the file.
    inst, plan = solve(tmp_path, topics=[TV, {**T1, "capacity": "1"}],
                       consultants=[consultant("C1", max_total=1)],
                       schools=[school("S1", priority=3), school("S2", priority=1)])
    assert [s.schools for s in plan.sessions] == [("S2",)]
    assert [(u.school, u.risk) for u in plan.unmet] == [("S1", "R03")]
    assert validate(inst, plan) == []


def test_min_topics_per_risk_two(tmp_path):
    # min_topics_per_risk = 2 and three topics address R03: exactly two are attended (a third
    # would only cost a session); R05 has a single topic, so it cannot be covered. (Priority 2:
    # for a priority-1 school the early_program term rewards attending every program topic.)
    toml = BASE_TOML.replace("min_topics_per_risk = 1", "min_topics_per_risk = 2")
    topics = [TV, topic("T1"), topic("T2"), topic("T3"), topic("T5", risks="R05")]
    inst, plan = solve(tmp_path, toml=toml, topics=topics, consultants=[consultant("C1", topics="TV;T1;T2;T3;T5")],
                       schools=[school("S1", risks="R03;R05")])
    attended = sorted(s.topic for s in plan.sessions)
    assert len(attended) == 2 and set(attended) <= {"T1", "T2", "T3"}
    assert unmet_codes(plan) == Counter({("S1", "R05", "too_few_topics"): 1})
    assert validate(inst, plan) == []


@pytest.mark.parametrize("k", [1, 2])
def test_min_topics_per_risk_counts(tmp_path, k):
    # The number of distinct R03 topics attended is exactly k (priority 2, see above).
    toml = BASE_TOML.replace("min_topics_per_risk = 1", f"min_topics_per_risk = {k}")
    topics = [TV, topic("T1"), topic("T2"), topic("T3")]
    inst, plan = solve(tmp_path, toml=toml, topics=topics, consultants=[consultant("C1", topics="TV;T1;T2;T3")],
                       schools=[school("S1")])
    assert len({s.topic for s in plan.sessions}) == k
    assert plan.unmet == []
    assert validate(inst, plan) == []


def _overnight_instance(tmp_path, n_schools=2):
    onsite = {**T1, "format": "onsite", "duration_min": "120", "capacity": "1"}
    schools = [school(f"S{i}", "M4", priority=1) for i in range(1, n_schools + 1)]
    folder = write_instance(tmp_path / "inst", toml=horizon("2022-03-09", "2022-03-11"), municipalities=FAR,
                            topics=[TV, onsite], schools=schools)
    return load_instance(folder)[0]


def test_a_third_overnight_visit_does_not_fit(tmp_path):
    # Three schools in M4, three open days 9–11 March: only the 9th has a free evening before
    # (the 8th is a holiday); 1 + 2 + 2 = 5 > 3 days, so at most two visits (9th and 11th),
    # and the third school's need is unmet with a reason.
    inst = _overnight_instance(tmp_path, n_schools=3)
    plan, _report = solve_consultations(inst, SolveOptions(time_limit=10, workers=2, seed=0))
    assert validate(inst, plan) == []
    assert sorted(s.day for s in plan.sessions) == [date(2022, 3, 9), date(2022, 3, 11)]
    assert len(plan.unmet) == 1 and plan.unmet[0].risk == "R03" and plan.unmet[0].reason


def test_two_overnight_visits_in_three_days_are_valid(tmp_path):
    # 9–11 March 2022, 8 March a holiday: C1 travels on the evening of the 8th, visits S1 in M4
    # on the 9th, travels on the evening of the 10th and visits S2 on the 11th. Every rule holds.
    inst = _overnight_instance(tmp_path)
    tz = ZoneInfo(inst.settings.region.timezone)
    visits = [Session(f"s-{d}", "T1", "C1", datetime(2022, 3, d, 10, 0, tzinfo=tz),
                      datetime(2022, 3, d, 12, 0, tzinfo=tz), Format.ONSITE, "M4", (sch,))
              for d, sch in ((9, "S1"), (11, "S2"))]
    assert validate(inst, Plan("x", "OPTIMAL", 0.0, 0.0, 0.0, visits, [])) == []


def test_solver_uses_closed_days_for_overnight_travel(tmp_path):
    # The month model charges an overnight visit one open day, plus its evening before
    # unless that evening follows a day off: 9 March follows the 8 March holiday, so two
    # visits (9th and 11th) fit in the three open days 9–11 March (it once allowed only one).
    inst = _overnight_instance(tmp_path)
    plan, _report = solve_consultations(inst, SolveOptions(time_limit=10, workers=2, seed=0))
    assert validate(inst, plan) == []
    assert sorted(s.day for s in plan.sessions) == [date(2022, 3, 9), date(2022, 3, 11)]
    assert plan.unmet == []


def test_visitor_candidates_must_not_be_negative(tmp_path):
    from models.problems import InputError

    folder = write_instance(tmp_path / "inst", toml=BASE_TOML + "visitor_candidates = -1\n")
    with pytest.raises(InputError) as exc:
        load_instance(folder)
    rendered = [p.render() for p in exc.value.problems]
    assert any("rules.visitor_candidates" in r and "-1" in r and "отрицательным" in r for r in rendered), rendered


def test_dates_without_time_still_place_every_session(tmp_path, monkeypatch):
    # The date phase's search given no time (a loaded machine, a short limit) found nothing,
    # and every session used to be dropped: a plan with none, called feasible. The first-fit
    # placement by the same day rules is the answer then.

    starve(monkeypatch, "placed[")  # the date phase only
    onsite = {**T1, "format": "onsite", "duration_min": "120", "capacity": "1"}
    inst, plan = solve(tmp_path, topics=[TV, onsite, topic("T2")], consultants=[consultant("C1", topics="TV;T1;T2")],
                       schools=[school("S1", priority=1), school("S2"), school("S3", verified_on="")])
    dates = next(p for p in plan.meta["phases"] if p["name"] == "dates")
    assert dates["status"] == "FIRST_FIT" and dates["objective"] == 0.0  # nothing left unplaced
    assert len(plan.sessions) == 2 and plan.unmet == []  # the visit to S3 and the webinar for all three
    assert validate(inst, plan) == []
