"""The programme's rule families (a plan the working group would approve), one at a time.

Part A: the independent validator on hand-made plans, for each family a plan that keeps it
and the smallest change that breaks it (the exact set of rule codes is asserted).
Part B: the solver on 1–3-school instances where the rule binds, each switched on alone
(the other programme settings off), with the exact outcome and the validator at the end.
Part C: with the three contract settings off the model is the classic problem.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from helpers import BASE_TOML, MUNICIPALITIES, write_instance
from models.calendar_days import month_of
from models.consultation import ConsultationModel
from models.domain import Format, Instance, Plan, Session, SupportGap, UnheldTopic
from models.programme import explain_programme, programme_measures
from models.solve import SolveOptions, solve_consultations
from models.validate import validate
from planner.inputs.validation import load_instance

TZ = ZoneInfo("Asia/Novokuznetsk")


def settings(*, hold="false", gap=0, relevant=0, extra_rules: str = "", extra_weights: str = "",
             start="2022-03-01", end="2022-06-30") -> str:
    """BASE_TOML (the classic problem) with the programme's settings as given."""
    toml = BASE_TOML.replace("start = 2022-03-01", f"start = {start}").replace("end = 2022-06-30", f"end = {end}")
    toml = toml.replace("relevant_attendance = 0", f"relevant_attendance = {relevant}\n{extra_weights}")
    return toml.replace("hold_every_topic = false\nmax_gap_months = 0",
                        f"hold_every_topic = {hold}\nmax_gap_months = {gap}\n{extra_rules}")


def topic(id, stage="support", fmt="online", duration=90, capacity=10, risks="R03", requires="", months=""):
    return {"id": id, "title": f"Тема {id}", "risks": risks, "stage": stage, "format": fmt,
            "duration_min": str(duration), "capacity": str(capacity), "requires": requires, "months": months}


TV = topic("TV", stage="verification", fmt="onsite", duration=120, capacity=1, risks="")


def consultant(id, topics="TV;T1;T2", max_per_month=6, unavailable="", onsite=""):
    return {"id": id, "name": f"Консультант {id}", "position": "методист", "municipality": "M1", "topics": topics,
            "max_per_month": str(max_per_month), "max_total": "", "unavailable": unavailable,
            "max_onsite_per_month": onsite}


def school(id, risks="R03", priority=2, verified_on="2022-02-01", curator="C1"):
    return {"id": id, "name": f"Школа {id}", "municipality": "M1", "risks": risks, "priority": str(priority),
            "verified_on": verified_on, "curator": curator}


def load(tmp_path, toml: str, topics, consultants, schools) -> Instance:
    folder = write_instance(tmp_path / "inst", toml=toml, municipalities=MUNICIPALITIES, topics=topics,
                            consultants=consultants, schools=schools)
    instance, _warnings = load_instance(folder)
    return instance


def solve(instance: Instance) -> Plan:
    plan, _report = solve_consultations(instance, SolveOptions(time_limit=10, workers=2, seed=0))
    return plan


def months_of(plan: Plan, school: str) -> list[str]:
    return sorted(month_of(s.day) for s in plan.sessions if school in s.schools)


# --- A. the validator ------------------------------------------------------------------------


def at(day: str, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(date.fromisoformat(day), time(h, m), tzinfo=TZ)


def online(sid: str, topic_id: str, day: str, schools: tuple[str, ...]) -> Session:
    return Session(sid, topic_id, "C1", at(day, "10:00"), at(day, "11:30"), Format.ONLINE, None, schools)


def visit(sid: str, day: str, school_id: str) -> Session:
    return Session(sid, "TV", "C1", at(day, "10:00"), at(day, "12:00"), Format.ONSITE, "M1", (school_id,))


@pytest.fixture(scope="module")
def programme_instance(tmp_path_factory) -> Instance:
    """S1 verified, S2 not (curator C1); T1–T4 address R03; Mar–Jun, monthly contact."""
    return load(tmp_path_factory.mktemp("prog"), settings(hold="true", gap=1, relevant=50),
                [TV, topic("T1"), topic("T2"), topic("T3"), topic("T4")],
                [consultant("C1", topics="TV;T1;T2;T3;T4")],
                [school("S1"), school("S2", verified_on="")])


def good_sessions() -> list[Session]:
    """Every topic held, S1 supported every month, S2 visited in March then supported."""
    return [
        visit("v2", "2022-03-02", "S2"),
        online("a", "T1", "2022-03-10", ("S1",)),
        online("b", "T2", "2022-04-12", ("S1", "S2")),
        online("c", "T3", "2022-05-12", ("S1", "S2")),
        online("d", "T1", "2022-06-14", ("S2",)),
        online("e", "T4", "2022-06-16", ("S1",)),
    ]


def plan_of(sessions: list[Session], unheld=(), gaps=()) -> Plan:
    return Plan("prog", "OPTIMAL", 0.0, 0.0, 0.0, sessions, [], unheld_topics=list(unheld), support_gaps=list(gaps))


def codes(instance: Instance, plan: Plan) -> set[str]:
    return {v.rule for v in validate(instance, plan)}


def test_programme_plan_keeps_every_rule(programme_instance):
    assert validate(programme_instance, plan_of(good_sessions())) == []


def _without(sid: str) -> list[Session]:
    return [s for s in good_sessions() if s.id != sid]


def _june_only_for_s2() -> list[Session]:
    # S2's April and May sessions go: after its March visit it waits April and May (2 > 1).
    return [s for s in good_sessions() if s.id not in ("b", "c")] + [
        online("b", "T2", "2022-04-12", ("S1",)), online("c", "T3", "2022-05-12", ("S1",))]


def _late_visit() -> list[Session]:
    # S2 is visited only in May: its first possible month is March, verification_months = 2.
    return [s for s in good_sessions() if s.id not in ("v2", "b", "c", "d")] + [
        online("b", "T2", "2022-04-12", ("S1",)), visit("v2", "2022-05-04", "S2"),
        online("c", "T3", "2022-05-12", ("S1",)), online("d", "T1", "2022-06-14", ("S2",))]


S2_GAP = SupportGap("S2", "gap", ("2022-04", "2022-05"), "нет тем", "few_topics")
S2_LATE = SupportGap("S2", "late_verification", ("2022-03", "2022-04"), "куратор занят", "verifier_full")

BREAKING = [
    ("a usable topic not held and not listed", _without("c"), (), (), {"unheld_missing"}),
    ("a held topic listed as not held", good_sessions(), [UnheldTopic("T1", "нет консультанта")], (),
     {"unheld_wrong"}),
    ("a topic not held listed without a reason", _without("c"), [UnheldTopic("T3", " ")], (), {"unheld_reason"}),
    ("a gap of two months not listed", _june_only_for_s2(), (), (), {"support_gap_missing"}),
    ("a gap listed that the plan does not have", good_sessions(), (), [S2_GAP], {"support_gap_wrong"}),
    ("a gap listed without a reason", _june_only_for_s2(), (), [dataclasses.replace(S2_GAP, reason="")],
     {"support_gap_reason"}),
    ("a late verification not listed", _late_visit(), (), (), {"support_gap_missing"}),
]


@pytest.mark.parametrize(("sessions", "unheld", "gaps", "expected"), [c[1:] for c in BREAKING],
                         ids=[c[0] for c in BREAKING])
def test_one_change_breaks_exactly_one_programme_rule(programme_instance, sessions, unheld, gaps, expected):
    assert codes(programme_instance, plan_of(sessions, unheld, gaps)) == expected


KEEPING = [
    ("a topic not held, listed with its reason", _without("c"), [UnheldTopic("T3", "не поместилась")], ()),
    ("a gap of two months, listed with its reason", _june_only_for_s2(), (), [S2_GAP]),
    ("a late verification, listed with its reason", _late_visit(), (), [S2_LATE]),
]


@pytest.mark.parametrize(("sessions", "unheld", "gaps"), [c[1:] for c in KEEPING], ids=[c[0] for c in KEEPING])
def test_listed_exception_keeps_every_rule(programme_instance, sessions, unheld, gaps):
    assert validate(programme_instance, plan_of(sessions, unheld, gaps)) == []


def test_programme_rules_off_ask_for_nothing(tmp_path):
    # The classic problem: a topic not held and a long gap are nobody's business.
    instance = load(tmp_path, settings(), [TV, topic("T1"), topic("T2"), topic("T3")],
                    [consultant("C1", topics="TV;T1;T2;T3")], [school("S1"), school("S2", verified_on="")])
    sessions = [visit("v2", "2022-03-02", "S2"), online("a", "T1", "2022-03-10", ("S1",)),
                online("d", "T1", "2022-06-14", ("S2",))]
    assert validate(instance, plan_of(sessions)) == []


# --- B. the solver, one family at a time ------------------------------------------------------


def test_hold_every_topic_holds_a_topic_coverage_does_not_need(tmp_path):
    # One school, one risk, two topics for it: coverage needs one; the programme holds both.
    tables = dict(topics=[TV, topic("T1"), topic("T2")], consultants=[consultant("C1")], schools=[school("S1")])
    classic = solve(load(tmp_path / "a", settings(), **tables))
    assert len(classic.sessions) == 1 and classic.unheld_topics == []
    instance = load(tmp_path / "b", settings(hold="true"), **tables)
    plan = solve(instance)
    assert sorted(s.topic for s in plan.sessions) == ["T1", "T2"]
    assert plan.unheld_topics == [] and plan.score["topics_held"] == plan.score["topics_usable"] == 2
    assert validate(instance, plan) == []


def test_a_topic_that_cannot_be_held_is_listed_with_its_reason(tmp_path):
    # T2's only consultant is away the whole horizon: it cannot be held, and the plan says why.
    instance = load(tmp_path, settings(hold="true"), [TV, topic("T1"), topic("T2")],
                    [consultant("C1", topics="TV;T1"),
                     consultant("C2", topics="T2", unavailable="2022-03-01..2022-06-30")],
                    [school("S1")])
    plan = solve(instance)
    assert [s.topic for s in plan.sessions] == ["T1"]
    assert [(u.topic, u.code) for u in plan.unheld_topics] == [("T2", "consultant_unavailable")]
    assert "C2" in plan.unheld_topics[0].reason
    assert validate(instance, plan) == []


def test_depth_gives_a_school_every_relevant_topic_its_months_allow(tmp_path):
    # Three topics for S1's risk, two open months, two sessions a month: with the gain the
    # school attends all three; without it (classic) only what coverage needs. (One school
    # alone: each session costs 20, a webinar's time 30, its attendance 2 and the busiest
    # consultant's load 40, so the gain must exceed 92 to pay for it; with 20 schools in a
    # webinar 50 is plenty.)
    tables = dict(topics=[TV, topic("T1"), topic("T2"), topic("T3")],
                  consultants=[consultant("C1", topics="TV;T1;T2;T3")], schools=[school("S1")])
    horizon = dict(start="2022-03-01", end="2022-04-30")
    classic = solve(load(tmp_path / "a", settings(**horizon), **tables))
    assert classic.score["relevant_attendance"] == 1
    instance = load(tmp_path / "b", settings(relevant=150, **horizon), **tables)
    plan = solve(instance)
    assert sorted(s.topic for s in plan.sessions) == ["T1", "T2", "T3"]
    assert plan.score["relevant_attendance"] == 3
    assert validate(instance, plan) == []


def test_depth_stops_at_the_monthly_limit(tmp_path):
    # One open month, one session a month: the gain cannot buy a second consultation.
    instance = load(tmp_path, settings(relevant=50, start="2022-04-01", end="2022-04-30").replace(
        "school_max_sessions_per_month = 2", "school_max_sessions_per_month = 1"),
        [TV, topic("T1"), topic("T2"), topic("T3")], [consultant("C1", topics="TV;T1;T2;T3")], [school("S1")])
    plan = solve(instance)
    assert len(plan.sessions) == 1
    assert validate(instance, plan) == []


def test_support_gap_rule_gives_contact_every_other_month(tmp_path):
    # Four open months, four topics for S1's risk: coverage needs one session; with monthly
    # contact (max_gap_months = 1) no two months in a row are without a consultation.
    tables = dict(topics=[TV, topic("T1"), topic("T2"), topic("T3"), topic("T4")],
                  consultants=[consultant("C1", topics="TV;T1;T2;T3;T4")], schools=[school("S1")])
    classic = solve(load(tmp_path / "a", settings(), **tables))
    assert len(classic.sessions) == 1
    instance = load(tmp_path / "b", settings(gap=1), **tables)
    plan = solve(instance)
    months = months_of(plan, "S1")
    open_months = ["2022-03", "2022-04", "2022-05", "2022-06"]
    for a, b in zip(open_months, open_months[1:]):
        assert a in months or b in months, months
    assert plan.score["longest_gap"] <= 1 and plan.support_gaps == []
    assert validate(instance, plan) == []


def test_a_gap_the_school_cannot_avoid_is_listed_with_its_reason(tmp_path):
    # S1 can use one topic only: after it, three months without anything to attend.
    instance = load(tmp_path, settings(gap=1), [TV, topic("T1")], [consultant("C1", topics="TV;T1")],
                    [school("S1")])
    plan = solve(instance)
    assert len(plan.sessions) == 1
    assert [(g.school, g.kind, g.code) for g in plan.support_gaps] == [("S1", "gap", "few_topics")]
    assert validate(instance, plan) == []


def test_verification_early_unless_the_curator_cannot(tmp_path):
    # Three unverified schools of one curator, verification within the first two months.
    # Two visits a month: March and April hold all three. One a month: the third waits until
    # May and is listed as late because the curator is full.
    def run(folder, onsite):
        instance = load(folder, settings(gap=1, extra_rules="verification_months = 2"), [TV, topic("T1")],
                        [consultant("C1", topics="TV;T1", onsite=str(onsite))],
                        [school(f"S{i}", verified_on="") for i in (1, 2, 3)])
        return instance, solve(instance)

    instance, plan = run(tmp_path / "two", 2)
    visits = sorted(month_of(s.day) for s in plan.sessions if s.topic == "TV")
    assert len(visits) == 3 and visits[-1] <= "2022-04"
    assert not [g for g in plan.support_gaps if g.kind == "late_verification"]
    assert validate(instance, plan) == []
    instance, plan = run(tmp_path / "one", 1)
    visits = sorted(month_of(s.day) for s in plan.sessions if s.topic == "TV")
    assert visits == ["2022-03", "2022-04", "2022-05"]
    late = [g for g in plan.support_gaps if g.kind == "late_verification"]
    assert [(g.months, g.code) for g in late] == [(("2022-03", "2022-04"), "verifier_full")]
    assert validate(instance, plan) == []


def test_onsite_visits_per_month_are_limited(tmp_path):
    # March only, three schools to verify, their curator may make two visits a month: the
    # third visit is unmet, and the reason names the full consultant.
    instance = load(tmp_path, settings(start="2022-03-01", end="2022-03-31"), [TV, topic("T1")],
                    [consultant("C1", topics="TV;T1", onsite="2")],
                    [school(f"S{i}", verified_on="", risks="") for i in (1, 2, 3)])
    plan = solve(instance)
    assert len([s for s in plan.sessions if s.topic == "TV"]) == 2
    assert [(u.risk, u.code) for u in plan.unmet] == [("verification", "verifier_full")]
    assert plan.score["max_onsite_per_month"] == 2
    assert validate(instance, plan) == []


def test_sessions_are_spread_over_the_months(tmp_path):
    # Four topics for S1, two months, up to four a month: with the spread term the busiest
    # month holds two, not four. (The gain pays for a one-school session: see above.)
    instance = load(tmp_path, settings(gap=1, relevant=150, start="2022-03-01", end="2022-04-30").replace(
        "school_max_sessions_per_month = 2", "school_max_sessions_per_month = 4"),
        [TV, topic("T1"), topic("T2"), topic("T3"), topic("T4")],
        [consultant("C1", topics="TV;T1;T2;T3;T4")], [school("S1")])
    plan = solve(instance)
    assert Counter(month_of(s.day) for s in plan.sessions) == {"2022-03": 2, "2022-04": 2}
    assert plan.score["busiest_month_sessions"] == 2
    assert validate(instance, plan) == []


def test_measures_and_exceptions_come_from_the_plan_alone(programme_instance):
    plan = plan_of(_june_only_for_s2())
    m = programme_measures(programme_instance, plan)
    assert (m["topics_usable"], m["topics_held"]) == (5, 5)
    assert m["longest_gap"] == 2 and m["schools_with_gaps"] == 1
    assert m["relevant_attendance"] == 5  # S1: T1, T2, T3, T4; S2: T1 in June
    unheld, gaps = explain_programme(programme_instance, plan)
    assert unheld == [] and [(g.school, g.months) for g in gaps] == [("S2", ("2022-04", "2022-05"))]


# --- C. the classic problem ----------------------------------------------------------------------


def test_three_settings_off_give_the_classic_objective(tmp_path):
    instance = load(tmp_path, settings(), [TV, topic("T1")], [consultant("C1", topics="TV;T1")], [school("S1")])
    cm = ConsultationModel(instance)
    assert set(cm.soft_terms()) == {"travel_km", "early_program", "max_load", "sessions", "attendance"}
    on = load(tmp_path / "on", settings(hold="true", gap=1, relevant=50), [TV, topic("T1")],
              [consultant("C1", topics="TV;T1")], [school("S1")])
    assert set(ConsultationModel(on).soft_terms()) >= {"relevant_attendance", "unheld_topics", "gap_months",
                                                        "month_peak", "late_verification", "onsite_visits"}


def test_the_polish_frees_one_topic_for_longer_on_large_models():
    # Each neighbourhood solve loads the whole model: on a large one three topics in 0.5 s
    # found nothing (models/solve.py), so it frees one topic and gets time by size.
    from models.solve import LARGE_FULL_MODEL, POLISH_SECONDS, POLISH_TOPICS, _polish_neighbourhood
    assert _polish_neighbourhood(23_000) == (POLISH_TOPICS, POLISH_SECONDS)
    topics, seconds = _polish_neighbourhood(264_000)
    assert topics == 1 and 3.0 <= seconds <= 5.0
    assert _polish_neighbourhood(LARGE_FULL_MODEL + 1)[0] == 1
    assert _polish_neighbourhood(LARGE_FULL_MODEL + 1)[1] >= POLISH_SECONDS


def test_a_full_search_without_a_relaxation_reports_its_own_bound_below_a_negative_objective(tmp_path):
    # The programme's gains can make the objective negative; with no relaxation bound the full
    # search's bound is reported as it is (it used to be clamped to 0: above the plan).
    inst = load(tmp_path, settings(hold="true", gap=1, relevant=2000),
                [TV, topic("T1"), topic("T2"), topic("T3"), topic("T4")],
                [consultant("C1", topics="TV;T1;T2;T3;T4")],
                [school("S1"), school("S2", verified_on="")])
    plan, _report = solve_consultations(inst, SolveOptions(time_limit=5, workers=1, relaxation=False))
    assert plan.objective is not None and plan.objective < 0
    assert plan.bound is not None and plan.bound <= plan.objective
