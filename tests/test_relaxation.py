"""The month-free relaxation (models/relaxation.py): a true lower bound, and a good start.

- its optimum never exceeds the month-level optimum (checked exactly on small instances);
- where months bind, it is strictly lower, by exactly what the months cost;
- the helpers that fix variables for one solve leave the model as it was.
"""

from __future__ import annotations

import random

import pytest
from ortools.sat.python import cp_model

from helpers import BASE_TOML, starve, write_instance
from models.consultation import ConsultationModel
from models.cp_domains import allows, fixed_domains
from models.relaxation import month_free_relaxation
from models.solve import SolveOptions, solve_consultations
from models.validate import validate
from planner.inputs.validation import load_instance
from test_solver_rules import consultant, school, topic


def exact(**kw) -> SolveOptions:
    return SolveOptions(time_limit=60, workers=2, seed=0, relative_gap=0.0, **kw)


def relaxation_optimum(inst, coverage: float | None = None) -> float:
    """The relaxation's optimum at phase 1's coverage (default: every coverable need)."""
    cm = ConsultationModel(inst)
    coverage = cm.coverage_upper_bound() if coverage is None else round(coverage)
    rel = month_free_relaxation(cm, coverage, limit=30, workers=2, relative_gap=0.0)
    assert rel.status == "OPTIMAL"
    assert rel.objective == rel.bound
    return rel.objective


def test_months_binding_make_the_relaxation_strictly_lower(tmp_path):
    # One priority-1 school needs two programme topics (R03, R04); it may attend one session
    # a month; the horizon is March and April. The month-level optimum must put one topic in
    # April: early_program = 0 + 1. Everything else is the same in both models:
    # 2 sessions × 20 + 2 attendances × 2 + max load 2 × 40 = 124, plus 10 × 1 for April.
    toml = BASE_TOML.replace("end = 2022-06-30", "end = 2022-04-30").replace(
        "school_max_sessions_per_month = 2", "school_max_sessions_per_month = 1")
    folder = write_instance(
        tmp_path / "inst", toml=toml,
        topics=[topic("TV", stage="verification", fmt="onsite", capacity=1, risks=""),
                topic("P1", risks="R03"), topic("P2", risks="R04")],
        consultants=[consultant("C1", topics="TV;P1;P2")],
        schools=[school("S1", risks="R03;R04", priority=1)],
    )
    inst, _ = load_instance(folder)
    assert relaxation_optimum(inst) == 124
    plan, _ = solve_consultations(inst, exact(relaxation=False))
    assert plan.status == "OPTIMAL" and plan.objective == 134
    plan, report = solve_consultations(inst, exact())
    names = [p.name for p in report.phases]
    assert names[:3] == ["coverage", "relaxation", "fixed_choice"]
    assert report.phases[1].bound == 124
    assert plan.objective == 134 and plan.bound == 134
    assert validate(inst, plan) == []


def random_instance(folder, seed: int):
    """4–6 schools in two municipalities, 4 topics (online and onsite, one with a
    prerequisite), two consultants; risks, priorities and verification drawn at random."""
    rng = random.Random(seed)
    risks = ["R01", "R02", "R03", "R04"]
    topics = [topic("TV", stage="verification", fmt="onsite", capacity=1, risks="")]
    for i in range(1, 5):
        fmt = rng.choice(["online", "onsite"])
        topics.append(topic(f"T{i}", stage=rng.choice(["program", "support"]), fmt=fmt,
                            capacity=rng.choice([1, 2, 3]), risks=";".join(rng.sample(risks, rng.choice([1, 2]))),
                            requires="T1" if i == 4 else ""))
    consultants = [consultant("C1", topics="TV;T1;T2;T4", max_per_month=rng.choice([2, 3])),
                   consultant("C2", topics="TV;T2;T3;T4", max_per_month=rng.choice([2, 3]), municipality="M2")]
    schools = [school(f"S{j}", municipality=rng.choice(["M1", "M2"]), risks=";".join(rng.sample(risks, 2)),
                      priority=rng.choice([1, 2]), verified_on=rng.choice(["", "2022-02-01"]),
                      curator=rng.choice(["C1", "C2"]))
               for j in range(1, rng.choice([4, 5, 6]) + 1)]
    return write_instance(folder, topics=topics, consultants=consultants, schools=schools)


@pytest.mark.parametrize("seed", range(6))
def test_relaxation_never_above_the_month_level_optimum(tmp_path, seed):
    inst, _ = load_instance(random_instance(tmp_path / "inst", seed))
    plan, report = solve_consultations(inst, exact(relaxation=False))
    assert report.phases[0].status == "OPTIMAL"
    assert report.phases[-2].name == "soft" and report.phases[-2].status == "OPTIMAL"
    lower = relaxation_optimum(inst, report.phases[0].objective)
    print(seed, lower, plan.objective)
    assert lower <= plan.objective
    # With the relaxation on, the proven bound is the same optimum, never above it.
    plan2, _ = solve_consultations(inst, exact())
    assert plan2.objective == plan.objective
    assert plan2.bound <= plan2.objective
    assert validate(inst, plan2) == []


def test_fixed_domains_restores_the_model():
    model = cp_model.CpModel()
    x = model.new_int_var(0, 5, "x")
    y = model.new_int_var(0, 5, "y")
    model.add(x + y == 4)
    model.maximize(y)
    solver = cp_model.CpSolver()
    with fixed_domains(model, {x.index: 3}):
        assert solver.solve(model) == cp_model.OPTIMAL
        assert (solver.value(x), solver.value(y)) == (3, 1)
    assert list(model.proto.variables[x.index].domain) == [0, 5]
    assert solver.solve(model) == cp_model.OPTIMAL and solver.value(y) == 4
    # A value outside the domain is refused, not silently allowed.
    assert not allows(model, x.index, 6)
    with pytest.raises(ValueError):
        with fixed_domains(model, {x.index: 6}):
            pass
    assert list(model.proto.variables[x.index].domain) == [0, 5]


def test_a_relaxation_without_a_solution_gives_no_bound(tmp_path, monkeypatch):
    # When the relaxation is stopped before it proves anything (UNKNOWN), CP-SAT reports a
    # "bound" of 0 that bounds nothing (seen on 1 000 schools: a plan of -431 612 then read as
    # proven optimal). No bound then; the full search proves the plan by itself.
    starve(monkeypatch, "a[")  # the relaxation only
    inst, _ = load_instance(random_instance(tmp_path / "inst", 5))
    plan, report = solve_consultations(inst, exact())
    relaxation = next(p for p in report.phases if p.name == "relaxation")
    assert relaxation.status == "UNKNOWN" and relaxation.objective is None
    assert relaxation.bound is None
    assert plan.status == "OPTIMAL" and validate(inst, plan) == []
