"""The benchmark's MIP baseline (HiGHS, the `bench` extra) states the same month-level
problem as the planner's CP-SAT model: on small classic instances both prove the same
coverage, each one's plan keeps the other's rules, and the MIP's proven optimum of the
classic terms lies between the planner's bound and its plan."""

from __future__ import annotations

import csv
import importlib.util
from collections import Counter

import pytest

from models.consultation import ConsultationModel
from models.solve import SolveOptions, _complete, solve_consultations
from models.validate import validate
from planner.inputs.validation import load_instance
from planner.tools import synthetic
from planner.tools.mip_baseline import ClassicMip

# find_spec, not importorskip: importing highspy here would fail beside OR-Tools (both ship
# a libhighs.so.1), which importorskip would turn into a silent skip.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("highspy") is None,
                                reason="highspy (pip install -e '.[bench]') is not installed")


def _rostov(tmp_path, n: int):
    return synthetic.make_instance(tmp_path / "rostov", n, seed=3, n_consultants=16, region="rostov",
                                   classic=True, curators=False)


def test_the_mip_and_the_planner_prove_the_same_classic_optimum(tmp_path):
    from planner.tools.mip_baseline import greedy_start, solve_isolated

    instance, _warnings = load_instance(_rostov(tmp_path, 10))
    mip, peak_mb = solve_isolated(instance, time_limit=60)
    assert mip.proven, mip.phases
    assert peak_mb > 0

    plan, report = solve_consultations(instance, SolveOptions(time_limit=60, workers=2, relative_gap=0))
    assert validate(instance, plan) == []
    # Coverage: the same optimum, priority by priority.
    assert report.phases[0].status == "OPTIMAL"
    assert report.phases[0].objective == mip.phases[0].objective == mip.coverage
    assert [plan.score[f"covered_priority_{p}"] for p in (1, 2, 3)] == \
        [mip.covered_by_priority.get(p, 0) for p in (1, 2, 3)]
    # The classic terms: no plan of the CP-SAT model beats the MIP's optimum (else the MIP
    # lacks a rule), and the MIP's optimum is no better than the CP-SAT bound allows (else
    # it has a rule the model lacks).
    assert plan.bound - 1e-6 <= mip.objective <= plan.objective + 1e-6
    if plan.status == "OPTIMAL":
        assert mip.objective == pytest.approx(plan.objective)
    # The MIP's figures are decoded from its solution: they add up to its objective.
    w = instance.settings.weights
    assert mip.objective == pytest.approx(w.travel_km * mip.travel_km + w.early_program * mip.early_program
                                          + w.max_load * mip.max_load + w.session * mip.sessions
                                          + w.attendance * mip.attendance)
    # A MIP start (the first-come greedy's plan) changes nothing but the search.
    started, _ = solve_isolated(instance, time_limit=60, start=greedy_start(instance))
    assert started.proven
    assert (started.coverage, started.objective) == (mip.coverage, pytest.approx(mip.objective))


def _scarce(folder):
    """Rules that bind: one session a school a month, one visit a consultant a month, two
    sessions a consultant a month, two topics a risk, four open months."""
    toml = folder / "instance.toml"
    toml.write_text(synthetic.set_toml_keys(toml.read_text(encoding="utf-8"), {
        "rules": {"school_max_sessions_per_month": 1, "max_onsite_per_month": 1, "min_topics_per_risk": 2},
        "horizon": {"blocked_months": ["2022-05", "2022-07", "2022-08", "2022-10", "2022-11", "2022-12"]},
    }), encoding="utf-8")
    with (folder / "consultants.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["max_per_month"] = "2"
    synthetic.write_csv(folder / "consultants.csv", list(rows[0]), rows)
    return folder


def test_each_ones_plan_keeps_the_others_rules_where_they_bind(tmp_path):
    from planner.tools.mip_baseline import solve_isolated

    instance, _warnings = load_instance(_scarce(_rostov(tmp_path, 12)))
    mip, _ = solve_isolated(instance, time_limit=60)
    assert mip.proven, mip.phases
    plan, report = solve_consultations(instance, SolveOptions(time_limit=10, workers=2))
    assert validate(instance, plan) == []
    assert report.phases[0].status == "OPTIMAL"
    assert report.phases[0].objective == mip.coverage
    assert plan.score["needs_covered"] == mip.needs_covered < plan.score["needs_total"]  # not all: scarce

    # The planner's month plan breaks no row of the MIP (it is not stricter than the model)…
    month = report.month_solution
    counts = Counter()
    for group in month.groups:
        counts[group.topic, group.consultant, group.month, group.municipality] += group.count
    rows = ClassicMip(instance)
    assert rows.violations(rows.values_of(month.attend, month.verify, counts)) == []
    # …and the MIP's plan is a plan of the CP-SAT model (it is not looser).
    cm = ConsultationModel(instance)
    values = {var.index: 0 for var in [*cm.attend.values(), *cm.verify.values(), *cm.count.values(),
                                       *cm.covered.values()]}
    for key in mip.attend:
        values[cm.attend[key].index] = 1
    for key in mip.verify:
        values[cm.verify[key].index] = 1
    for key, n in mip.counts:
        values[cm.count[key].index] = n
    for key, var in cm.covered.items():
        values[var.index] = int(sum(1 for (s, t, _m) in mip.attend if s == key[0]
                                    and key[1] in instance.topics[t].risks) >= 2)
    assert _complete(cm, values) is not None
