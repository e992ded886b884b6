"""The programme's bound and start on large regions (issue 18, item 3):

- the relaxation keeps the verification visits' months (a school attends nothing before its
  visit; a consultant visits few schools a month): still a lower bound of the month-level
  optimum, and strictly tighter where the visits' months bind;
- the bound is the relaxation's LP, solved by HiGHS inside OR-Tools (`models.lp_bound`);
- the construction's visits are placed at once (`models.visitors.visit_months`), the early
  months to the schools with the most topics to fit after their visit, and in the last
  month a school may take its second session (nothing is left to keep a topic for).
"""

from __future__ import annotations

import random

import pytest
from ortools.sat.python import cp_model

import models.relaxation as relaxation
from helpers import write_instance
from models.construct import _Construct
from models.consultation import ConsultationModel
from models.lp_bound import lp_bound
from models.solve import SolveOptions, prefer_depth_first, solve_consultations
from models.validate import validate
from models.visitors import visit_months
from planner.inputs.validation import load_instance
from test_programme import MUNICIPALITIES, settings
from test_relaxation import exact
from test_solver_rules import consultant, school, topic

PROGRAMME = settings(hold="true", gap=1, relevant=50, extra_rules="verification_months = 1")


def relaxation_bound(inst, coverage: int, lp: bool = False) -> int:
    cm = ConsultationModel(inst)
    rel = relaxation.month_free_relaxation(cm, coverage, limit=30, workers=2, relative_gap=0.0, lp=lp)
    if not lp:
        assert rel.status == "OPTIMAL"
    return rel.bound


# --- the LP bound ---------------------------------------------------------------------------


def test_lp_bound_is_the_linear_relaxation_with_negated_literals():
    m = cp_model.CpModel()
    x = m.new_int_var(0, 10, "x")
    y, z = m.new_bool_var("y"), m.new_bool_var("z")
    m.add(2 * x + 3 * y >= 7)
    m.add_at_most_one([y, z.Not()])
    m.minimize(x + 5 * y + 2 * z.Not() + 1)
    # LP: y = 0, z = 1, x = 3.5 → 4.5; the integer optimum is 5 (x = 4).
    assert lp_bound(m.proto, 5) == pytest.approx(4.5)
    solver = cp_model.CpSolver()
    assert solver.solve(m) == cp_model.OPTIMAL and solver.objective_value == 5


def test_lp_bound_declines_what_it_cannot_relax():
    m = cp_model.CpModel()
    x, b = m.new_int_var(0, 10, "x"), m.new_bool_var("b")
    m.add(x >= 3).only_enforce_if(b)
    m.minimize(x - b)
    assert lp_bound(m.proto, 5) is None  # an enforced constraint: no LP of it here


# --- the relaxation with the visits' months --------------------------------------------------


def random_programme_instance(folder, seed: int):
    """3–5 schools of one curator who may visit one school a month (so the visits' months
    bind), two or three of them unverified; programme settings on."""
    rng = random.Random(seed)
    risks = ["R01", "R02", "R03"]
    topics = [topic("TV", stage="verification", fmt="onsite", capacity=1, risks="")]
    for i in range(1, 5):
        topics.append(topic(f"T{i}", stage=rng.choice(["program", "support"]), fmt=rng.choice(["online", "onsite"]),
                            capacity=rng.choice([2, 3]), risks=";".join(rng.sample(risks, rng.choice([1, 2])))))
    n = rng.choice([3, 4, 5])
    schools = [school(f"S{j}", risks=";".join(rng.sample(risks, 2)), priority=rng.choice([1, 2]),
                      verified_on="" if j <= rng.choice([2, 3]) else "2022-02-01") for j in range(1, n + 1)]
    consultants = [{**consultant("C1", topics="TV;T1;T2;T3;T4", max_per_month=3), "max_onsite_per_month": "1"}]
    return write_instance(folder, toml=PROGRAMME, municipalities=MUNICIPALITIES, topics=topics,
                          consultants=consultants, schools=schools)


@pytest.mark.parametrize("seed", range(3))
def test_programme_relaxation_and_its_lp_never_above_the_month_level_optimum(tmp_path, seed):
    inst, _ = load_instance(random_programme_instance(tmp_path / "inst", seed))
    plan, report = solve_consultations(inst, exact(relaxation=False))
    assert report.phases[0].status == "OPTIMAL" and report.phases[-2].status == "OPTIMAL"
    optimum, coverage = round(plan.objective), round(report.phases[0].objective)
    bound = relaxation_bound(inst, coverage)
    lp = relaxation_bound(inst, coverage, lp=True)
    assert lp <= bound <= optimum
    assert validate(inst, plan) == []


def test_visit_months_make_the_bound_tighter_where_they_bind(tmp_path, monkeypatch):
    # Two unverified schools of one curator who visits one school a month; March–April; the
    # second visit must wait for April, so that school attends nothing (its topics need the
    # visit first). Summed over the months the relaxation lets both attend T1 in April.
    toml = PROGRAMME.replace("end = 2022-06-30", "end = 2022-04-30")
    folder = write_instance(
        tmp_path / "inst", toml=toml, municipalities=MUNICIPALITIES,
        topics=[topic("TV", stage="verification", fmt="onsite", capacity=1, risks=""), topic("T1", capacity=5)],
        consultants=[{**consultant("C1", topics="TV;T1"), "max_onsite_per_month": "1"}],
        schools=[school("S1", verified_on=""), school("S2", verified_on="")])
    inst, _ = load_instance(folder)
    plan, report = solve_consultations(inst, exact(relaxation=False))
    assert report.phases[-2].status == "OPTIMAL"
    assert plan.score["relevant_attendance"] == 1  # one school verified in March attends T1 in April
    coverage = round(report.phases[0].objective)
    tight = relaxation_bound(inst, coverage)
    monkeypatch.setattr(relaxation, "_visit_months", lambda cm: False)
    summed = relaxation_bound(inst, coverage)
    optimum = round(plan.objective)  # CP-SAT reports the integral objective as a float
    assert summed < tight <= optimum
    assert tight == optimum  # here the months of the visits are all the months do


# --- the construction -----------------------------------------------------------------------


def test_visits_are_placed_at_once_not_first_come(tmp_path):
    # C1 may visit one school a month, C2 too. S1 may be visited by either, S2 only by C1.
    # First come (S1 first, the first visitor by id) would give C1's March to S1 and leave S2
    # for April; placed at once, both are visited in March.
    folder = write_instance(
        tmp_path / "inst", toml=PROGRAMME, municipalities=MUNICIPALITIES,
        topics=[topic("TV", stage="verification", fmt="onsite", capacity=1, risks=""), topic("T1")],
        consultants=[{**consultant("C1", topics="TV;T1"), "max_onsite_per_month": "1"},
                     {**consultant("C2", topics="TV", municipality="M2"), "max_onsite_per_month": "1"}],
        schools=[school("S1", verified_on="", curator=""), school("S2", municipality="M2", verified_on="", curator="")])
    text = (folder / "instance.toml").read_text(encoding="utf-8")
    (folder / "instance.toml").write_text(text.replace("[rules]\n", "[rules]\nvisitor_candidates = 2\n"),
                                          encoding="utf-8")
    inst, _ = load_instance(folder)
    cm = ConsultationModel(inst)
    # S2 lies in M2; make C1 its only possible visitor by taking C2's key away.
    keys = [k for k in cm.verify if not (k[0] == "S2" and k[2] == "C2")]
    assigned = visit_months(inst, cm.ix, keys)
    assert assigned == {"S1": ("TV", "C2", "2022-03"), "S2": ("TV", "C1", "2022-03")}


def test_early_visits_go_to_the_schools_with_most_to_fit_after_them(tmp_path):
    # C1 visits one school a month, March–June. S1 has six online topics on its risks, all
    # after its visit: visited in March it has April–June's 6 slots for them, in April only 4.
    # S2 has one topic, which fits whenever it is visited. So the depth-first construction's
    # flow gives S1 March, S2 April; the even one's (the same cost a month for every school)
    # leaves the tie to the flow: March to S2.
    topics = [topic("TV", stage="verification", fmt="onsite", capacity=1, risks="")]
    topics += [topic(f"T{i}", risks="R03" if i == 1 else "R05") for i in range(1, 7)]
    folder = write_instance(
        tmp_path / "inst", toml=PROGRAMME, municipalities=MUNICIPALITIES, topics=topics,
        consultants=[{**consultant("C1", topics="TV;" + ";".join(f"T{i}" for i in range(1, 7))),
                      "max_onsite_per_month": "1"}],
        schools=[school("S1", verified_on="", risks="R03;R05"), school("S2", verified_on="", risks="R03")])
    inst, _ = load_instance(folder)
    cm = ConsultationModel(inst)
    assigned = visit_months(inst, cm.ix, list(cm.verify), lost_slots=True)
    assert assigned == {"S1": ("TV", "C1", "2022-03"), "S2": ("TV", "C1", "2022-04")}
    assert visit_months(inst, cm.ix, list(cm.verify)) == {"S1": ("TV", "C1", "2022-04"),
                                                          "S2": ("TV", "C1", "2022-03")}


def june_three_topics(tmp_path, toml: str) -> ConsultationModel:
    """Three verified schools, three online topics on their risks, one consultant; `toml`
    opens June only, two sessions a school."""
    folder = write_instance(
        tmp_path / "inst", toml=toml, municipalities=MUNICIPALITIES,
        topics=[topic("TV", stage="verification", fmt="onsite", capacity=1, risks=""),
                topic("T1"), topic("T2"), topic("T3")],
        consultants=[consultant("C1", topics="TV;T1;T2;T3")],
        schools=[school(f"S{i}") for i in (1, 2, 3)])
    inst, _ = load_instance(folder)
    return ConsultationModel(inst)


def test_the_last_month_takes_a_second_session(tmp_path):
    # A verified school with three relevant online topics and one month (June): two
    # sessions that month, its monthly limit. Keeping a topic for a later month (the pacing
    # rule) must not stop the second, since no month is left.
    cm = june_three_topics(tmp_path, PROGRAMME.replace("start = 2022-03-01", "start = 2022-06-01"))
    construct = _Construct(cm)
    construct.run()
    assert all(construct.school_month[s, "2022-06"] == 2 for s in ("S1", "S2", "S3"))


def _last_chance_instance(tmp_path):
    """March–April, two sessions a month. S1 and S2 have four online topics on their risks,
    one of them (TA, for S1 and S2 only) held only in March; S3 has three."""
    toml = PROGRAMME.replace("end = 2022-06-30", "end = 2022-04-30")
    folder = write_instance(
        tmp_path / "inst", toml=toml, municipalities=MUNICIPALITIES,
        topics=[topic("TV", stage="verification", fmt="onsite", capacity=1, risks=""),
                topic("T1", stage="support", risks="R03;R05"), topic("T2", stage="support"),
                topic("T3", stage="support"), topic("TA", stage="support", months="2022-03", risks="R05")],
        consultants=[consultant("C1", topics="TV;T1;T2;T3;TA")],
        schools=[school("S1", risks="R03;R05"), school("S2", risks="R03;R05"), school("S3")])
    inst, _ = load_instance(folder)
    return inst


def test_a_webinar_in_its_last_month_goes_first(tmp_path):
    # `_last_chance_instance`: every topic fits only if March takes TA. The depth-first
    # construction gives the last chance priority; the even one takes T1 and T2 in March (a
    # session of three schools is worth more than one of two) and TA is lost.
    inst = _last_chance_instance(tmp_path)
    construct = _Construct(ConsultationModel(inst), depth_first=True)
    construct.run()
    for s in ("S1", "S2"):
        assert construct.attended[s] == {"T1": 0, "TA": 0, "T2": 1, "T3": 1}  # month positions
    assert sorted(construct.attended["S3"]) == ["T1", "T2", "T3"]
    even = _Construct(ConsultationModel(inst))
    even.run()
    assert all("TA" not in even.attended[s] for s in ("S1", "S2"))


def test_the_depth_first_start_only_where_it_gains_clearly_or_keeps_the_year_even():
    # Objectives are minimised; the busiest month counts sessions other than verification.
    assert prefer_depth_first(-1000.0, 17, -1001.0, 17)        # better, no busier
    assert prefer_depth_first(-1000.0, 17, -1001.0, 12)        # better and even more even
    assert not prefer_depth_first(-1000.0, 17, -1004.0, 22)    # 0.4 % better, five more in one month
    assert prefer_depth_first(-1000.0, 17, -1006.0, 22)        # 0.6 % better: above the margin
    assert not prefer_depth_first(-1000.0, 17, -1000.0, 12)    # no better: the even one stays
    assert not prefer_depth_first(-1000.0, 17, -990.0, 12)


def test_the_solve_weighs_both_constructions(tmp_path):
    # The plain solve builds the even and the depth-first start and says which it took.
    inst = _last_chance_instance(tmp_path)
    said: list[str] = []
    plan, _report = solve_consultations(inst, SolveOptions(time_limit=5, workers=2, progress=said.append))
    lines = [m for m in said if "начальные планы" in m]
    assert len(lines) == 1 and lines[0].endswith("беру глубокий")  # it holds TA: better, no busier
    assert {s for x in plan.sessions if x.topic == "TA" for s in x.schools} == {"S1", "S2"}
