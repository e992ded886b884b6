"""The LP bound of a CP-SAT model, solved by HiGHS (bundled with OR-Tools' model_builder).

The programme's month-free relaxation (`models.relaxation`) is a bound, not a plan: its
linear relaxation is what the bound needs, and CP-SAT proves it slowly on large models (on
1 000 open schools, with the visits' months kept, its 8 workers on 2 cores had not reached
the LP's value after 40 s; HiGHS solves the LP in 5–10 s). Any LP optimum of a model's
linear relaxation bounds its integer optimum, so the bound stays valid.

No new dependency: OR-Tools ships HiGHS. (The standalone `highspy` cannot share a process
with OR-Tools, see `planner.tools.mip_baseline`; this is OR-Tools' own copy.)
"""

from __future__ import annotations

import math

import numpy as np
from ortools.linear_solver.python import model_builder as mb

INF = 2**62  # CP-SAT's domains use ±2^63−1 for "no bound"


def linear_relaxation(proto) -> mb.Model:
    """The LP of a CP-SAT model proto: every variable continuous within its domain's hull,
    linear constraints within their domains' hulls, at-most-one and exactly-one as sums of
    literals. Other constraint kinds are not expected here (ValueError)."""
    model = mb.Model()
    helper = model.helper
    n = len(proto.variables)
    lower, upper = np.empty(n), np.empty(n)
    for i, var in enumerate(proto.variables):
        domain = var.domain
        lower[i], upper[i] = domain[0], domain[len(domain) - 1]
    indices = helper.add_var_array_with_bounds(lower, upper, np.zeros(n, dtype=bool), "x")
    xs = [model.var_from_index(int(i)) for i in indices]

    def terms(refs, coeffs) -> tuple[list, list, float]:
        """(variables, coefficients, constant) of Σ coeff × literal; a negated literal
        ¬x = 1 − x."""
        vars_, cs, const = [], [], 0.0
        for ref, c in zip(refs, coeffs):
            if ref >= 0:
                vars_.append(xs[ref])
                cs.append(c)
            else:
                vars_.append(xs[-ref - 1])
                cs.append(-c)
                const += c
        return vars_, cs, const

    for ct in proto.constraints:
        if len(ct.enforcement_literal):
            raise ValueError("enforced constraint")
        if ct.has_linear():
            vars_, cs, const = terms(ct.linear.vars, ct.linear.coeffs)
            domain = ct.linear.domain
            lo, hi = domain[0], domain[len(domain) - 1]
        elif ct.has_at_most_one() or ct.has_exactly_one():
            literals = ct.at_most_one.literals if ct.has_at_most_one() else ct.exactly_one.literals
            vars_, cs, const = terms(literals, [1.0] * len(literals))
            lo, hi = (-INF - 1 if ct.has_at_most_one() else 1), 1
        else:
            raise ValueError("constraint kind")
        k = helper.add_linear_constraint()
        helper.set_constraint_lower_bound(k, -math.inf if lo <= -INF else lo - const)
        helper.set_constraint_upper_bound(k, math.inf if hi >= INF else hi - const)
        helper.add_terms_to_constraint(k, vars_, cs)
    objective = proto.objective
    refs = list(objective.vars)
    vars_, cs, const = terms(refs, objective.coeffs)
    helper.set_objective_coefficients([v.index for v in vars_], cs)
    helper.set_objective_offset(objective.offset + const)
    return model


def lp_bound(proto, seconds: float) -> float | None:
    """The optimum of the linear relaxation of a CP-SAT minimisation (`linear_relaxation`):
    a lower bound of its integer optimum; None when HiGHS does not prove it in time."""
    solved = lp_solution(proto, seconds)
    return None if solved is None else solved[0]


def lp_solution(proto, seconds: float) -> tuple[float, np.ndarray] | None:
    """`lp_bound` and the LP optimum's values (one per variable of `proto`, by index); None
    when HiGHS does not prove it in time."""
    if proto.objective.scaling_factor not in (0.0, 1.0):
        return None
    try:
        model = linear_relaxation(proto)
    except ValueError:
        return None
    solver = mb.Solver("highs")
    solver.enable_output(False)
    solver.set_solver_specific_parameters("output_flag=false")  # no banner on the console
    solver.set_time_limit_in_seconds(max(0.5, seconds))
    status = solver.solve(model)
    if status != mb.SolveStatus.OPTIMAL:
        return None
    return float(solver.objective_value), solver.values(model.get_variables()).to_numpy()
