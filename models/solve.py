"""Solve: month-level phase 1 (coverage) → phase 2 (soft terms) → dates → a `Plan`.

"No solution" is a status, never an exception. Progress (best objective, bound,
elapsed) goes to the `progress` callable, in Russian.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date

from ortools.sat.python import cp_model

from models.construct import construct_groups, is_programme
from models.consultation import ConsultationModel, ModelOptions, MonthSolution
from models.cp_domains import Neighbourhoods, fixed_domains, narrowed_domains, status_name
from models.dates import Pending, expand_groups, expand_groups_keeping, place_on_days
from models.domain import Instance, Plan, Session, Stage
from models.greedy import greedy_groups
from models.programme import explain_programme
from models.reassign import reassign_schools
from models.relaxation import fixed_choice, month_free_relaxation
from models.score import score_plan
from models.unmet import explain_unmet
from models.visitors import needs_choice, visitor_order

Progress = Callable[[str], None]


@dataclass
class SolveOptions:
    time_limit: float = 60.0  # whole solve, seconds
    workers: int = 8
    seed: int = 0
    progress: Progress | None = None
    phase1_share: float = 0.4  # of the time limit, at most, for coverage
    dates_limit: float = 20.0  # seconds at most for the date phase
    # Phase 2 stops once its proven relative gap is this small (0 = prove optimality).
    relative_gap: float = 0.01
    # Phase 2a/2b: the month-free relaxation (bound and start); plain solves only.
    relaxation: bool = True
    # Replanning: the local repair (its two searches) ends by this share of the time limit;
    # the full search (phase 2) gets what is left, if the repair is not proven and that is
    # at least MIN_FULL_SEARCH.
    repair_share: float = 0.75


@dataclass
class PhaseResult:
    name: str
    status: str
    objective: float | None
    bound: float | None
    seconds: float
    variables: int = 0
    constraints: int = 0


@dataclass
class SolveReport:
    phases: list[PhaseResult] = field(default_factory=list)
    month_solution: MonthSolution | None = None
    unplaced: list[Pending] = field(default_factory=list)


class _Progress(cp_model.CpSolverSolutionCallback):
    """Best objective and bound, about once a second."""

    def __init__(self, label: str, report: Progress | None, t0: float):
        super().__init__()
        self.label, self.report, self.t0 = label, report, t0
        self.last = -10.0

    def on_solution_callback(self) -> None:
        now = time.monotonic() - self.t0
        if self.report is None or now - self.last < 1.0:
            return
        self.last = now
        self.report(f"  {self.label}: лучшее {num(self.objective_value)}, граница {num(self.best_objective_bound)},"
                    f" {now:.1f} с")


def num(value: float | None) -> str:
    """12345.0 -> '12 345' (Russian digit grouping)."""
    return "—" if value is None else f"{value:,.0f}".replace(",", "\u00a0")


POST_SECONDS_PER_VARIABLE = 2e-5
"""Seconds per variable of the month model kept for the plan's checks after the dates
(unmet needs, the programme's report, the score): they took 4.0–4.4 s on 1 000 open schools
(264 k variables; this keeps 5.3 s) and ran past a 120 s limit until they were kept back;
0.47 s on Kuzbass."""

MIN_FULL_SEARCH = 1.0
"""Seconds below which a replan does not start the full search after its repair: presolving
the full Kuzbass model alone takes ~0.6 s on 2 workers."""

LARGE_FULL_MODEL = 50_000
"""Variables of the full month model above which a plain solve stops after phase 2b (the
relaxation's choice laid out over months) instead of searching the full model (2c): memory."""


REPAIR_SUBSOLVERS = ("max_lp",)
"""The repair's full-problem search when it has at most 2 workers. CP-SAT's default for 2
workers is `default_lp` plus LNS, which never moves the bound of the repair's model and
improved slowly; `max_lp` (the full LP relaxation) proved the repair optimal on Kuzbass
dropouts in 0.5–2 s on 2 workers, where the default was still 20–40 % above it after 1.5 s.
Above 2 workers CP-SAT's own portfolio already includes max_lp."""


def _solver(limit: float, opts: SolveOptions, subsolvers: tuple[str, ...] = ()) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.5, limit)
    solver.parameters.num_workers = opts.workers
    solver.parameters.random_seed = opts.seed
    # One presolve round instead of three: on Kuzbass that is ~1 s less per solve, which a
    # 5-second replan (four solves) cannot spare; the search itself is not slower.
    solver.parameters.max_presolve_iterations = 1
    if subsolvers and opts.workers <= 2:
        solver.parameters.subsolvers.extend(subsolvers)
    return solver


def solve_consultations(
    instance: Instance,
    opts: SolveOptions | None = None,
    model_options: ModelOptions | None = None,
    pinned: list[Session] | None = None,
    preferred: Callable[[list[Pending]], None] | None = None,
    hint_plan: Plan | None = None,
    topic_first_day: dict[str, date] | None = None,
    keep_schools_of: list[Session] | None = None,
) -> tuple[Plan, SolveReport]:
    """Plan the consultation graph. `pinned` sessions (replanning history) are kept as they are;
    `preferred` (a replan) sets each pending session's preferred day and kept id;
    the sessions in `keep_schools_of` (a replan's baseline after the freeze) keep their
    schools where the new month plan allows (`expand_groups_keeping`)."""
    opts = opts or SolveOptions()
    say = opts.progress or (lambda _msg: None)
    t0 = time.monotonic()
    report = SolveReport()

    say("Строю модель…")
    cm = ConsultationModel(instance, model_options)
    model = cm.model
    n_vars = len(model.proto.variables)
    say(f"  переменных: {n_vars}, ограничений: {len(model.proto.constraints)}")

    # A ready plan to start from: the replan's baseline, or the first-come greedy.
    coverage = cm.coverage_expr()
    hint_source, candidate, cand_cov = "phase 1", None, -1
    depth_first: tuple[dict[int, int], int] | None = None
    if hint_plan is not None:
        candidate, cand_cov = cm.values_from_plan(hint_plan)
        hint_source = "baseline"
    elif is_programme(cm):
        candidate, cand_cov = cm.values_from_groups(construct_groups(cm))
        hint_source = "construction"
        depth_first = cm.values_from_groups(construct_groups(cm, depth_first=True))  # weighed below
    elif model_options is None or model_options.fixed_counts is None:
        candidate, cand_cov = cm.values_from_groups(greedy_groups(instance))
        hint_source = "greedy"
        if model_options is None and needs_choice(instance, cm.ix):
            # The classic problem with visitors to choose: the greedy with each school's visit
            # given to its visitor of a km-optimal assignment (`models.visitors`) is a far
            # better start (on 300 open schools: the least possible km against 2.3×); kept
            # when it covers as much.
            order = visitor_order(instance, cm.ix, workers=min(opts.workers, 2), seed=opts.seed)
            if order is not None:
                assigned, assigned_cov = cm.values_from_groups(greedy_groups(instance, order))
                if assigned_cov >= cand_cov:
                    candidate, cand_cov, hint_source = assigned, assigned_cov, "greedy, visitors assigned"
    upper = cm.coverage_upper_bound()
    repaired: Repair | None = None
    # Phase 2's terms (built now: the replan repair below minimises them too).
    terms = cm.soft_terms()
    changes = cm.change_terms()  # replanning only: sessions/schools changed vs the baseline
    terms.update(changes)
    objective = sum(weight * expr for expr, weight in terms.values())
    if hint_plan is not None and candidate is not None:
        # A replan repairs the baseline first, keeping its sessions where they still may be,
        # so that what follows starts from few changes. (A baseline that still fits comes back
        # as it is: nothing is touched. Asking CP-SAT whether it fits first cost 0.24 s.)
        # The repair's searches end by its share of the limit; its last search (the fewest
        # changes) may run on to the dates' reserve: nothing else uses that time when it ends late.
        repaired = _repair(cm, candidate, coverage, objective, upper, opts, t0 + opts.repair_share * opts.time_limit,
                           report, t0 + opts.time_limit - min(opts.dates_limit, 0.15 * opts.time_limit),
                           changes.get("changed_schools", (None, 0))[0])
        if repaired is not None:
            candidate, cand_cov = repaired.values, repaired.coverage
            hint_source = "repaired baseline"
            say(f"  базовый план починен: покрытие {num(cand_cov)} из {num(upper)}")

    # Phase 1: coverage, priority-1 needs first. Skipped when the candidate already covers
    # every need that has a variable at all (the trivial upper bound) and is feasible.
    # (A repaired baseline is a solution of this very model: feasible by construction.)
    cand_objective = None
    if candidate is not None and hint_source != "repaired baseline":
        # The start completed (helpers and all); with two constructions, the one the rule picks
        # (`prefer_depth_first`, weighed without loading the model), the other if the chosen
        # one breaks a rule (it should not). None: phase 1 starts afresh.
        order = [(candidate, cand_cov)]
        if depth_first is not None and depth_first[1] >= cand_cov:
            even_value, depth_value = _value_of(cm, objective, candidate), _value_of(cm, objective, depth_first[0])
            first = (even_value is not None and depth_value is not None
                     and _depth_first_kept(cm, (candidate, even_value), (depth_first[0], depth_value), say))
            order = [depth_first, *order] if first else [*order, depth_first]
        candidate = None
        for values, cov in order:
            completed = _complete(cm, values, objective)
            if completed is not None:
                (candidate, cand_objective), cand_cov = completed, cov
                break
        if cand_objective is not None and hint_source == "construction":
            say(f"  построен начальный план: {num(cand_objective)}")  # the web's «лучшее значение» from now
    if candidate is not None and cand_cov >= upper:
        say("Фаза 1: покрытие максимально уже у начального плана (все покрываемые потребности закрыты)")
        p1 = PhaseResult("coverage", "OPTIMAL", float(upper), float(upper), 0.0, n_vars,
                         len(model.proto.constraints))
        report.phases.append(p1)
        best1, hint = upper, candidate
    else:
        model.maximize(coverage)
        if candidate is not None:
            for var in _all_vars(cm):
                model.add_hint(var, candidate.get(var.index, 0))
        solver = _solver(opts.time_limit * opts.phase1_share, opts)
        say("Фаза 1: максимальное покрытие рисков…")
        status = solver.solve(model, _Progress("фаза 1", opts.progress, t0))
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        p1 = PhaseResult("coverage", solver.status_name(status), solver.objective_value if found else None,
                         solver.best_objective_bound, solver.wall_time, n_vars, len(model.proto.constraints))
        report.phases.append(p1)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            plan = Plan(instance.name, p1.status, None, None, round(time.monotonic() - t0, 2),
                        list(pinned or []), [])
            plan.unmet = explain_unmet(instance, plan, cm.ix, free_from=cm.opt.free_from)
            return plan, report
        best1 = round(p1.objective)
        hint = dict(enumerate(solver.response_proto.solution))  # complete: helpers included
        if candidate is not None and cand_cov >= best1:
            # Phase 1's solution is arbitrary in everything but coverage; a plan that covers as
            # much and was built with travel and earliness in mind starts phase 2 far better.
            hint = candidate
        else:
            hint_source = "phase 1"

    # Phase 2: coverage fixed at its optimum, then the weighted soft terms.
    model.add(coverage >= best1)
    _pin_full_classes(cm, hint)
    model.minimize(objective)

    def time_left() -> float:
        """Seconds of the time limit left for phase 2, the date phase's share and the plan's
        checks (`POST_SECONDS_PER_VARIABLE`) kept back."""
        return (opts.time_limit - (time.monotonic() - t0) - min(opts.dates_limit, 0.15 * opts.time_limit)
                - POST_SECONDS_PER_VARIABLE * n_vars)

    # Phase 2a/2b (plain solve only): the month-free relaxation proves a lower bound and
    # picks schools' topics; the full model then lays that choice out over the months.
    lower, start, polished = None, None, False
    reference = model_options is not None and model_options.fixed_counts is not None
    if (model_options is None or reference) and opts.relaxation and is_programme(cm):
        # The programme: the relaxation proves the bound; its choice is no start (laying out
        # 15 topics a school over months is the hard part), the construction is. (For the
        # reference graph's evaluation it is a valid, looser bound: that model has fewer
        # sessions to choose from.)
        lower, guide = _relaxation_bound(cm, best1, max(1.0, time_left()), opts, say, report)
        if hint is not candidate or cand_objective is None:
            # Phase 1 covered more than the construction (or it broke a rule): start from
            # phase 1's plan (hinted with the construction, so mostly the same).
            completed = _complete(cm, hint, objective)
            hint, cand_objective = completed if completed is not None else (hint, None)
        if cand_objective is not None:
            # Starts, best first: (month-level values, objective, complete already?).
            starts = [(hint, cand_objective, True)]
            if guide and hint is candidate:
                # A third start: the depth-first construction guided by the bound's LP.
                guided, guided_cov = cm.values_from_groups(construct_groups(cm, depth_first=True, guide=guide))
                value = _value_of(cm, objective, guided) if guided_cov >= cand_cov else None
                if value is not None and _start_kept(cm, (hint, cand_objective), (guided, value), say,
                                                     "по подсказке нижней оценки"):
                    starts.insert(0, (guided, value, False))
                    say(f"  план: {num(value)}")
            # Each school's year re-chosen with the sessions held (`models.reassign`).
            moved = _reassign(cm, starts[0][0], starts[0][1], objective,
                              time.monotonic() + REASSIGN_SHARE * time_left(), opts, say, report)
            if moved is not None:
                starts.insert(0, (*moved, False))
            for values, value, complete in starts:  # completed (one model load), else the next
                done = (values, value) if complete else _complete(cm, values, objective)
                if done is not None:
                    hint, cand_objective = done
                    break
            # Then the plan is polished topic by topic until the time is up: the answer.
            hint, value = _polish(cm, hint, cand_objective, objective, coverage, best1,
                                  time.monotonic() + time_left(), opts, say, report, lower)
            start, polished = (value, hint), True
    elif model_options is None and opts.relaxation:
        lower, start = _relaxed_start(cm, best1, max(1.0, time_left()), opts, say, report,
                                      hint if hint is candidate else None)
        if start is not None:
            hint, hint_source = start[1], "relaxation"
        if cand_objective is not None and hint is candidate and (start is None or cand_objective < start[0]):
            # The start itself beats 2b's layout of the relaxation's choice: it is the plan.
            start = (cand_objective, candidate)
    elif hint_source == "repaired baseline" and repaired is not None:
        start = (repaired.objective, hint)  # the plan in hand: phase 2 must beat it
    _set_hint(cm, hint)

    # Memory: phase 2c solves the full model on every worker. On 300 schools without curators
    # (79 k variables) it peaked at 2.1–2.3 GB with 8 workers and 1.6 GB with 2, against
    # < 0.8 GB in 2a/2b, and it improved on 2b's plan by nothing in those runs; on 1 000
    # schools (250 k) it would not fit 2 GiB. Above this size 2b's plan is the answer.
    too_large = len(model.proto.variables) > LARGE_FULL_MODEL
    if start is not None and (polished or lower is not None and (gap(start[0], lower) <= opts.relative_gap
                                                                 or too_large)):
        if lower is not None and gap(start[0], lower) <= opts.relative_gap:
            say(f"  разрыв с нижней оценкой {100 * gap(start[0], lower):.2f}% — план доказанно близок к лучшему")
        elif polished:
            say(f"  разрыв с нижней оценкой {100 * gap(start[0], lower):.2f}%" if lower is not None
                else "  нижняя оценка не доказана за отведённое время: разрыв неизвестен")
        else:
            say(f"  разрыв с нижней оценкой {100 * gap(start[0], lower):.2f}%; модель велика для полного поиска"
                f" ({len(model.proto.variables)} переменных) — беру этот план")
        proven = lower is not None and start[0] <= lower
        p2 = PhaseResult("soft", "OPTIMAL" if proven else "FEASIBLE", start[0],
                         float(lower) if lower is not None else None, 0.0,
                         len(model.proto.variables), len(model.proto.constraints))
        month = cm.read(lambda v: hint.get(v.index, 0))
    elif start is not None and lower is None and repaired is not None and (
            repaired.proven or time_left() < MIN_FULL_SEARCH):
        # A replan's repair is the answer when it is proven the fewest changes for the touched
        # schools with every other school held (in 16 Kuzbass dropouts the full search never
        # improved on such a repair), or when a full search would be too short to do more
        # than presolve.
        say("Фаза 2: починка доказанно лучшая при прочих школах как были — полный поиск не нужен"
            if repaired.proven else
            f"Фаза 2: на полный поиск осталось {max(0.0, time_left()):.1f} с — беру починенный план")
        p2 = PhaseResult("soft", "FEASIBLE", start[0], None, 0.0, len(model.proto.variables),
                         len(model.proto.constraints))
        month = cm.read(lambda v: hint.get(v.index, 0))
    else:
        if lower is not None:
            model.add(objective >= lower)  # valid (the relaxation's bound); helps the search prove it
        solver = _solver(max(1.0, time_left()), opts)
        solver.parameters.relative_gap_limit = opts.relative_gap
        say("Фаза 2: поездки, ранний старт программ, равномерная нагрузка…")
        status2 = solver.solve(model, _Progress("фаза 2", opts.progress, t0))
        ok2 = status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        name2 = status_name(solver, status2)
        # The best of both bounds; never 0 in place of a missing one (the programme's gains make
        # objectives negative: 0 once showed as «граница 0, разрыв 100 %» on a replan).
        bound2 = (solver.best_objective_bound if lower is None else max(solver.best_objective_bound, lower)) \
            if ok2 else None
        if ok2 and (start is None or solver.objective_value <= start[0]):
            p2 = PhaseResult("soft", name2, solver.objective_value, bound2, solver.wall_time,
                             len(model.proto.variables), len(model.proto.constraints))
            month = cm.read(solver.value)
        else:  # keep the best plan in hand (the laid-out relaxation, or phase 1's): feasible
            kept = start[0] if start is not None else None
            p2 = PhaseResult("soft", "FEASIBLE" if kept is not None else name2, kept,
                             bound2 if bound2 is not None else (float(lower) if lower is not None else None),
                             solver.wall_time, len(model.proto.variables), len(model.proto.constraints))
            month = cm.read(lambda v: hint.get(v.index, 0))
    report.phases.append(p2)
    report.month_solution = month

    # Dates.
    say("Расставляю даты и время…")
    if keep_schools_of is None:
        pending = expand_groups(instance, cm.ix, month.groups)
    else:
        pending = expand_groups_keeping(instance, cm.ix, month.groups, keep_schools_of)
    if preferred is not None:
        preferred(pending)  # a replan: the baseline session each continues (day, id)
    remaining = max(2.0, opts.time_limit - (time.monotonic() - t0) - POST_SECONDS_PER_VARIABLE * n_vars)
    placement = place_on_days(instance, cm.ix, pending, pinned, min(opts.dates_limit, remaining),
                              opts.workers, opts.seed, cm.opt.free_from, topic_first_day)
    report.unplaced = placement.unplaced
    report.phases.append(PhaseResult("dates", placement.status, float(len(placement.unplaced)), 0.0,
                                     placement.seconds))
    if placement.unplaced:
        say(f"  не удалось поставить в календарь консультаций: {len(placement.unplaced)}")

    sessions = sorted(list(pinned or []) + placement.sessions, key=lambda s: (s.start, s.consultant, s.topic))
    optimal = p1.status == "OPTIMAL" and p2.status == "OPTIMAL" and not placement.unplaced
    plan = Plan(
        instance=instance.name,
        status="OPTIMAL" if optimal else ("FEASIBLE" if p2.objective is not None or p1.status else p2.status),
        objective=p2.objective,
        bound=p2.bound,
        solve_seconds=round(time.monotonic() - t0, 2),
        sessions=sessions,
        unmet=[],
    )
    plan.unmet = explain_unmet(instance, plan, cm.ix, {school for p in report.unplaced for school in p.schools},
                              cm.opt.free_from)
    plan.unheld_topics, plan.support_gaps = explain_programme(instance, plan, cm.ix, cm.opt.free_from)
    plan.score = score_plan(instance, plan)
    plan.meta = {
        "phases": [p.__dict__ for p in report.phases],
        "coverage_objective": p1.objective,
        "phase2_hint": hint_source,
        "coverage_bound": p1.bound,
        "weights": {name: w for name, (_e, w) in terms.items()},
        "workers": opts.workers,
        "seed": opts.seed,
        "time_limit": opts.time_limit,
    }
    return plan, report


def _relaxed_start(cm: ConsultationModel, best1: int, budget: float, opts: SolveOptions, say: Progress,
                   report: SolveReport, start: dict[int, int] | None = None
                   ) -> tuple[int | None, tuple[float, dict[int, int]] | None]:
    """Phase 2a (the month-free relaxation: a lower bound) and 2b (its choice laid out over
    the months). Returns the bound and (objective, values) of the laid-out plan, if any.
    `start`: a complete plan of the full model (the greedy's) that hints both."""
    say("Фаза 2а: нижняя оценка без месяцев (какие темы кому нужны)…")
    # The relaxation gets most of the time; more when no full search (2c) follows it.
    share = 0.8 if len(cm.model.proto.variables) > LARGE_FULL_MODEL else 0.6
    rel = month_free_relaxation(cm, best1, share * budget, opts.workers, opts.seed, opts.relative_gap / 2,
                                hint=start)
    report.phases.append(PhaseResult("relaxation", rel.status, rel.objective, rel.bound, rel.seconds,
                                     rel.variables))
    say(f"  нижняя оценка {num(rel.bound)}, {rel.seconds:.1f} с")
    if not rel.ok:
        return rel.bound, None
    say("Фаза 2б: раскладываю выбранные темы по месяцам…")
    # Solved to optimality (within its time): the choice fixed, this is small and fast
    # (~0.2 s on Kuzbass), and a gap-limited stop here once kept a layout 0.4 % worse than
    # its optimum, which pushed the plan over the 1 % gap and phase 2c then ran to the limit.
    solver = _solver(max(1.0, min(0.3 * budget, budget - rel.seconds)), opts)
    if start is not None:
        _set_hint(cm, start)
    with fixed_choice(cm, rel):
        status = solver.solve(cm.model)
    cm.model.clear_hints()
    ok = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    report.phases.append(PhaseResult("fixed_choice", solver.status_name(status),
                                     solver.objective_value if ok else None,
                                     solver.best_objective_bound if ok else None, solver.wall_time))
    if not ok:
        say("  не разложилось по месяцам — ищу в полной модели")
        return rel.bound, None
    say(f"  план: {num(solver.objective_value)}, {solver.wall_time:.1f} с")
    return rel.bound, (solver.objective_value, {v.index: solver.value(v) for v in _all_vars(cm)})


POLISH_TOPICS = 3
"""Topics a neighbourhood of the programme's polish frees (their months, sessions, schools)."""
POLISH_SECONDS = 0.5
"""Seconds at most for one neighbourhood of the polish."""
POLISH_SECONDS_PER_VARIABLE = 1.5e-5
"""Above LARGE_FULL_MODEL a neighbourhood frees one topic and gets this many seconds per
variable of the full model (4 s on 1 000 open schools, 1.2 s on 300): each solve loads and
presolves the whole model, and on 1 000 schools 40 neighbourhoods of 3 topics at 0.5 s found
nothing better than the construction, where 15 of one topic at 4 s gained 2.6 % (gap
24.6 % → 21.4 %)."""


POLISH_LARGE_MIN = 3
"""Neighbourhoods' time (`_polish_neighbourhood`) a large model's polish needs at least to
start."""


def _polish_neighbourhood(variables: int) -> tuple[int, float]:
    """(topics freed, seconds) of one polish neighbourhood for a model of this size."""
    if variables > LARGE_FULL_MODEL:
        return 1, max(POLISH_SECONDS, POLISH_SECONDS_PER_VARIABLE * variables)
    return POLISH_TOPICS, POLISH_SECONDS


def _polish(cm: ConsultationModel, values: dict[int, int], value: float, objective, coverage, best1: int,
            deadline: float, opts: SolveOptions, say: Progress, report: SolveReport,
            bound: float | None = None) -> tuple[dict[int, int], float]:
    """The programme's phase 2c: a large-neighbourhood search on the constructed plan. Each
    neighbourhood frees every attendance and session count of POLISH_TOPICS random topics
    (other than verification; one topic on large models, `_polish_neighbourhood`) in every
    month and holds the rest of the plan; CP-SAT re-times and re-fills those topics best (at
    most POLISH_SECONDS, more on large models), and a plan no worse is
    kept. On Kuzbass this gained 3–7 % in 8 s, where CP-SAT's own search on the full model
    did not improve on the construction in 10 s. Returns the best values and objective."""
    model, lower = cm.model, bound
    by_topic: dict[str, set[int]] = defaultdict(set)
    for (s, t, m), var in cm.attend.items():
        by_topic[t].add(var.index)
    for (t, c, m, mun), var in cm.count.items():
        by_topic[t].add(var.index)
    topics = sorted(t for t in by_topic if cm.inst.topics[t].stage != Stage.VERIFICATION)
    n_topics, seconds = _polish_neighbourhood(len(model.proto.variables))
    if not topics or time.monotonic() >= deadline:
        return values, value
    if len(model.proto.variables) > LARGE_FULL_MODEL and deadline - time.monotonic() < POLISH_LARGE_MIN * seconds:
        # Fixing every decision in place alone takes ~7 s on 1 000 schools: with room for
        # fewer neighbourhoods than this, the polish would gain nothing (measured: 0 in 7 s).
        say(f"Фаза 2в: на улучшение по темам осталось {max(0.0, deadline - time.monotonic()):.1f} с — мало,"
            " беру план как есть")
        return values, value
    say("Фаза 2в: улучшаю план по темам…")
    rng = random.Random(opts.seed)
    model.add(coverage >= best1)
    model.minimize(objective)
    decisions = [v.index for v in _all_vars(cm)]
    nb = Neighbourhoods(model, decisions, values)
    t0, tried, start, shown = time.monotonic(), 0, value, -1.0
    try:
        while (left := deadline - time.monotonic()) > 0.1:
            tried += 1
            group = rng.sample(topics, min(n_topics, len(topics)))
            nb.move(set().union(*(by_topic[t] for t in group)), values)
            _set_hint(cm, values)
            solver = _solver(min(seconds, left), opts)
            solver.parameters.max_time_in_seconds = min(seconds, left)
            status = solver.solve(model)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value <= value:
                values, value = dict(enumerate(solver.response_proto.solution)), solver.objective_value
            if time.monotonic() - shown >= 1.0:  # the same line as _Progress, about once a second
                shown = time.monotonic()
                say(f"  фаза 2в: лучшее {num(value)}, граница {num(lower)}, {shown - t0:.1f} с")
    finally:
        nb.restore()
        model.clear_hints()
    report.phases.append(PhaseResult("polish", "FEASIBLE", value, None, round(time.monotonic() - t0, 2)))
    say(f"  план: {num(value)} (было {num(start)}), окрестностей {tried}, {time.monotonic() - t0:.1f} с")
    return values, value


REASSIGN_SHARE = 0.5
"""Share of the time left before the polish that the school-by-school pass may take at most
(on 1 000 open schools a pass takes ~8 s of the ~26 s left, and a second one gains ~0.02 %)."""


def _reassign(cm: ConsultationModel, values: dict[int, int], value: float, objective, deadline: float,
              opts: SolveOptions, say: Progress, report: SolveReport) -> tuple[dict[int, int], float] | None:
    """Phase 2в's first step (`models.reassign`): each school's topics and months chosen again,
    the sessions held. Returns the better plan's month-level values and objective, or None."""
    say("Фаза 2в: каждой школе — лучшие темы и месяцы среди мест в проводимых консультациях…")
    t0 = time.monotonic()
    moved = reassign_schools(cm, values, deadline, opts.seed)
    new = _value_of(cm, objective, moved[0]) if moved is not None else None
    seconds = round(time.monotonic() - t0, 2)
    if moved is None or new is None or new >= value:
        say(f"  лучше не стало, {seconds:.1f} с")
        return None
    report.phases.append(PhaseResult("schools", "FEASIBLE", new, None, seconds))
    say(f"  план: {num(new)} (было {num(value)}), {seconds:.1f} с")
    return moved[0], new


def _value_of(cm: ConsultationModel, objective, values: dict[int, int]) -> float | None:
    """The objective's value for month-level decisions (`ConsultationModel.objective_of`;
    CP-SAT's completion where that cannot evaluate it), None if they break a rule there."""
    value = cm.objective_of(objective, values)
    if value is None:
        completed = _complete(cm, values, objective)
        value = completed[1] if completed is not None else None
    return value


PROGRAMME_BOUND_MIN = 2.0
"""Seconds the programme's relaxation gets at least: its LP bound takes ~1 s on Kuzbass."""
PROGRAMME_BOUND_SHARE = 0.35
"""Share of phase 2's time the programme's relaxation gets for its bound (the rest polishes
the constructed plan in the full model)."""


def _relaxation_bound(cm: ConsultationModel, best1: int, budget: float, opts: SolveOptions, say: Progress,
                      report: SolveReport) -> tuple[int | None, dict[tuple[str, str], float]]:
    """Phase 2a alone (the programme): the month-free relaxation's lower bound, and its LP's
    (school, topic) values when the bound is the LP alone (else empty)."""
    say("Фаза 2а: нижняя оценка без месяцев…")
    t0, last = time.monotonic(), [-1.0]

    def on_bound(value: int) -> None:
        now = time.monotonic() - t0
        if now - last[0] >= 1.0:  # about once a second
            last[0] = now
            say(f"  фаза 2а: граница {num(value)}, {now:.1f} с")

    rel = month_free_relaxation(cm, best1, max(PROGRAMME_BOUND_MIN, PROGRAMME_BOUND_SHARE * budget), opts.workers,
                                opts.seed, opts.relative_gap / 2, on_bound, lp=True)
    report.phases.append(PhaseResult("relaxation", rel.status, rel.objective, rel.bound, rel.seconds,
                                     rel.variables))
    say(f"  нижняя оценка {num(rel.bound)}, {rel.seconds:.1f} с")
    return rel.bound, rel.lp_attend


def _set_hint(cm: ConsultationModel, values: dict[int, int]) -> None:
    """Hint the model with `values` (variable index → value): every month-level decision
    (0 where absent) and whatever helper variables `values` also holds (a full solution of
    an earlier step), so that CP-SAT need not complete the hint itself."""
    model = cm.model
    model.clear_hints()
    index = {v.index for v in _all_vars(cm)} | set(values)
    hint = model.proto.solution_hint
    order = sorted(index)
    hint.vars.extend(order)
    hint.values.extend(values.get(i, 0) for i in order)


@dataclass
class Repair:
    values: dict[int, int]  # every variable of the model
    coverage: int
    objective: float
    proven: bool  # both searches optimal: the fewest changes with every untouched school held


def _repair(cm: ConsultationModel, baseline: dict[int, int], coverage, objective, upper: int, opts: SolveOptions,
            deadline: float, report: SolveReport | None = None, last: float | None = None,
            changed=None) -> Repair | None:
    """Replanning, a local repair of the baseline: what the change touched is re-planned,
    the rest is held. Held: every school the change did not touch keeps its attendances and
    visits exactly, and every baseline session that still may be held stays (counts at
    least the baseline's). Touched: schools that lost an attendance or a visit (a session
    gone, a month closed) or have a need the baseline does not meet (new risks, a new
    school); at first they too keep the baseline sessions they still can, and may only add.
    Each neighbourhood gets two small searches, all done by `deadline`: the most coverage (a third of the
    time, at least 1 s), then (coverage kept, a constraint that stays: phase 2 requires at
    least as much) phase 2's own objective — changes, travel, sessions, … On Kuzbass
    dropouts this second search is usually proven optimal in 0.1–2 s (`REPAIR_SUBSOLVERS`),
    and the full search after it did not improve on it in any of 16 dropouts (5 s each), so
    a replan gives the repair most of its time (`SolveOptions.repair_share`).
    If a neighbourhood cannot cover every coverable need, or nothing fits it, the next
    one is searched from its result: touched schools free, then only the untouched schools
    held. Returns the repair with the most coverage, or None if none is found (e.g. a
    lowered capacity under a held school): phase 1 then starts afresh. The fewest-changes
    search may run until `last` (default `deadline`): it starts from the coverage search's
    plan, which is arbitrary in everything but coverage, and on a loaded machine 1.2 s of it
    once left 52 sessions moved where 1.9 s left 6 (Kuzbass, C12 away from June). `changed`
    (the schools' changes against the baseline) breaks the coverage search's ties, so that its
    plan, the next search's start, keeps what it can: when that search found nothing in its
    time, the coverage search's plan had been the answer with 7.8 million against 36 thousand."""
    opt = cm.opt
    touched: set[str] = set()
    for (s, t, m) in opt.baseline_attend or ():
        var = cm.attend.get((s, t, m))
        if var is None or not baseline.get(var.index, 0):
            touched.add(s)
    for (s, t, c, m) in opt.baseline_verify or ():
        var = cm.verify.get((s, t, c, m))
        if var is None or not baseline.get(var.index, 0):
            touched.add(s)
    touched |= _schools_short(cm, baseline)
    schools_held: dict[int, tuple[int, int]] = {}
    for key, var in [*cm.attend.items(), *cm.verify.items()]:
        if key[0] not in touched:
            value = baseline.get(var.index, 0)
            schools_held[var.index] = (value, value)
    counts_held: dict[int, tuple[int, int]] = {}
    for key, var in cm.count.items():
        base = baseline.get(var.index, 0)
        if base > 0:
            hi = cm.count_ub[key]
            counts_held[var.index] = (min(base, hi), hi)
    # Touched schools keep their baseline sessions that still exist: usually the fewest
    # changes only add to them. On a C07 dropout (most of Kuzbass's schools touched) this
    # proved the same optimum in 0.9–1.1 s that the freer search needed 2.5–2.7 s for.
    kept: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    for key, var in [*cm.attend.items(), *cm.verify.items()]:
        if key[0] in touched and baseline.get(var.index, 0):
            kept[key[0]][var.index] = (1, 1)

    def holding(free: set[str] | None) -> dict[int, tuple[int, int]]:
        """Untouched schools and baseline sessions held, and the touched schools' kept
        sessions except those of `free` (None: every touched school free)."""
        ranges = {**schools_held, **counts_held}
        if free is not None:
            for school, held in kept.items():
                if school not in free:
                    ranges.update(held)
        return ranges

    # Wider neighbourhoods when a narrower one leaves a coverable need, or its held sessions
    # no longer fit together (a consultant away for part of a month has fewer days in it):
    # first only the touched schools left short are set free (a school must drop a session
    # to fit a new one; freeing every touched school at once left the search too little
    # time on large dropouts), then every touched school, then only untouched ones are held.
    # Each wider search starts from the narrower one's result; none is searched twice.
    tiers: list = [lambda _found: holding(set()),
                   lambda found: holding(_schools_short(cm, found.values) if found is not None else None),
                   lambda _found: holding(None), lambda _found: schools_held]
    best: Repair | None = None
    start, searched = baseline, []
    for n, tier in enumerate(tiers, 1):
        ranges = tier(best)
        if ranges in searched:
            continue
        searched.append(ranges)
        found = _repair_search(cm, ranges, start, coverage, objective, opts, deadline, report,
                               upper if n < len(tiers) else None, last, changed)
        if found == "infeasible":
            continue
        if found is None:  # out of time
            break
        assert isinstance(found, Repair)
        if best is None or found.coverage >= best.coverage:  # a wider one searched on from it
            best, start = found, found.values
        if found.coverage >= upper:
            break
    return best


def _schools_short(cm: ConsultationModel, values: dict[int, int]) -> set[str]:
    """Schools with a coverable need or a verification visit that `values` do not meet."""
    short = {s for (s, _r), var in cm.covered.items() if not values.get(var.index, 0)}
    visits: dict[str, list] = defaultdict(list)
    for (s, _t, _c, _m), var in cm.verify.items():
        visits[s].append(var)
    short |= {s for s, vars_ in visits.items() if not any(values.get(v.index, 0) for v in vars_)}
    return short


REPAIR_STEPS = ("coverage", "objective")
"""The repair's two searches in order: the most coverage, then phase 2's objective with that
coverage kept. (A test runs the first alone: its plan is what a replan is left with when
the second finds nothing in its time.)"""


def _repair_search(cm: ConsultationModel, ranges: dict[int, tuple[int, int]], start: dict[int, int], coverage,
                   objective, opts: SolveOptions, deadline: float, report: SolveReport | None,
                   widen_below: int | None = None, last: float | None = None,
                   changed=None) -> Repair | None | str:
    """The repair's two searches with `ranges` held, from the hint `start`; "infeasible" if
    nothing fits them, None if nothing was found in time. If the most coverage is below
    `widen_below`, a wider neighbourhood follows: the second search is left to it."""
    model = cm.model
    hint, best, value, proven = start, -1, 0.0, True
    with ExitStack() as stack:
        try:
            stack.enter_context(narrowed_domains(model, ranges))
        except ValueError:  # a held value the changed model no longer allows
            return "infeasible"
        for step in REPAIR_STEPS:
            if step == "coverage":
                if changed is None:
                    model.maximize(coverage)
                else:  # coverage first; of equal coverage, the fewest schools changed
                    model.maximize((len(cm.attend) + len(cm.verify) + 1) * coverage - changed)
            else:
                model.add(coverage >= best)
                model.minimize(objective)
            _set_hint(cm, hint)
            # Coverage is quick (0.1–0.6 s on Kuzbass); the fewest changes get the rest, and
            # at least 1 s even past the deadline: presolve comes before CP-SAT even looks at
            # the hint, and a search stopped in presolve left only the coverage step's plan,
            # arbitrary in everything else (62 sessions changed instead of 14, once).
            end = deadline if step == "coverage" or last is None else max(deadline, last)
            left = end - time.monotonic()
            limit = max(1.0, left / 3) if step == "coverage" else max(1.0, left)
            solver = _solver(limit, opts, REPAIR_SUBSOLVERS)
            status = solver.solve(model)
            ok = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            if report is not None:
                report.phases.append(PhaseResult(f"repair_{step}", status_name(solver, status),
                                                 solver.objective_value if ok else None,
                                                 solver.best_objective_bound if ok else None, solver.wall_time))
            if status == cp_model.INFEASIBLE and step == "coverage":
                model.clear_hints()
                model.clear_objective()
                return "infeasible"
            proven = proven and status == cp_model.OPTIMAL
            if not ok:
                break
            # Every variable, the objective's helpers included: a complete hint for the next step.
            hint = dict(enumerate(solver.response_proto.solution))
            best = round(solver.value(coverage))
            if step == "coverage" and status != cp_model.OPTIMAL and changed is not None:
                proven = False  # its coverage may not be the most: the next search keeps it at least
            value = solver.value(objective)  # of the whole solution, whichever step found it
            if step == "coverage" and widen_below is not None and best < widen_below:
                proven = False
                break
    model.clear_hints()
    model.clear_objective()
    if hint is start:
        return None
    return Repair(hint, best, value, proven)


def _pin_full_classes(cm: ConsultationModel, values: dict[int, int]) -> None:
    """Where phase 1 met every coverable need of a priority class, pin those needs to met.

    Lossless (any optimum of phase 1 meets all of them too) and it propagates far better
    than the weighted sum alone.
    """
    inst = cm.inst
    verify_by_school: dict[str, list] = {}
    for (s, _t, _c, _m), v in cm.verify.items():
        verify_by_school.setdefault(s, []).append(v)
    for p in (1, 2, 3):
        covs = [v for (s, _r), v in cm.covered.items() if inst.schools[s].priority == p]
        vers = [vs for s, vs in verify_by_school.items() if inst.schools[s].priority == p]
        if all(values.get(v.index, 0) for v in covs) and all(
            any(values.get(v.index, 0) for v in vs) for vs in vers
        ):
            for v in covs:
                cm.model.add(v == 1)
            for vs in vers:
                cm.model.add(sum(vs) == 1)


def _complete(cm: ConsultationModel, values: dict[int, int], objective=None) -> tuple[dict[int, int], float] | None:
    """The full solution (every variable, the objective's helpers included) that agrees with
    this assignment of the month-level decisions, or None if it breaks a rule. One solve
    with every decision fixed: CP-SAT then starts from a complete hint instead of having to
    complete one itself (on the programme it found nothing in 10 s from an incomplete one).
    With `objective`, the helpers take their best values for it; returns the values and the
    objective's value (0 without one)."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 30.0
    solver.parameters.num_workers = 1
    fixed = {var.index: values.get(var.index, 0) for var in _all_vars(cm)}
    if objective is not None:
        cm.model.minimize(objective)
    try:
        with fixed_domains(cm.model, fixed):
            status = solver.solve(cm.model)
    except ValueError:  # a value outside its variable's domain (raised before any change)
        return None
    finally:
        cm.model.clear_objective()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return dict(enumerate(solver.response_proto.solution)), solver.objective_value if objective is not None else 0.0


DEPTH_FIRST_MARGIN = 0.005
"""The depth-first construction is the start when it is better and its busiest month no
busier than the even construction's, or when it is better by more than this share of the
objective. Measured (construction objectives): 1 000 open schools −434 577 → −445 144
(2.4 %), 300 open −132 421 → −134 999 (1.9 %); on Kuzbass within 0.01 %, but its September
held 22 sessions against 17, and the polished plans' busiest month came out at 18–23 %
against 16–18 % (the order's hand graph: 22 %)."""


def prefer_depth_first(even_objective: float, even_busiest: int, depth_objective: float,
                       depth_busiest: int) -> bool:
    """The rule of `DEPTH_FIRST_MARGIN` on the two constructions' objectives (minimised)
    and busiest months' sessions."""
    if depth_objective >= even_objective:
        return False
    return depth_busiest <= even_busiest or even_objective - depth_objective > DEPTH_FIRST_MARGIN * abs(even_objective)


def _busiest_month(cm: ConsultationModel, values: dict[int, int]) -> int:
    """Sessions (other than verification) in the plan's busiest month."""
    return max((sum(values.get(v.index, 0) for v in vars_) for vars_ in cm.thematic_counts_by_month().values()),
               default=0)


def _depth_first_kept(cm: ConsultationModel, even: tuple[dict[int, int], float],
                      depth: tuple[dict[int, int], float], say: Progress) -> bool:
    """Start from the depth-first construction rather than the even one
    (`DEPTH_FIRST_MARGIN`)?"""
    kept, peaks = _by_the_rule(cm, even, depth)
    say(f"  начальные планы: ровный {num(even[1])} (в самом загруженном месяце {peaks[0]} консультаций),"
        f" глубокий {num(depth[1])} ({peaks[1]}); беру {'глубокий' if kept else 'ровный'}")
    return kept


def _start_kept(cm: ConsultationModel, current: tuple[dict[int, int], float],
                other: tuple[dict[int, int], float], say: Progress, name: str) -> bool:
    """Start from `other` (a plan built after the choice of `_depth_first_kept`) rather than
    the current start? The same rule."""
    kept, peaks = _by_the_rule(cm, current, other)
    say(f"  начальный план {name}: {num(other[1])} ({peaks[1]} консультаций в самом загруженном месяце)"
        f" против {num(current[1])} ({peaks[0]}); {'беру его' if kept else 'оставляю прежний'}")
    return kept


def _by_the_rule(cm: ConsultationModel, current: tuple[dict[int, int], float],
                 other: tuple[dict[int, int], float]) -> tuple[bool, tuple[int, int]]:
    """`prefer_depth_first` on two (values, objective) plans, and their busiest months."""
    peaks = _busiest_month(cm, current[0]), _busiest_month(cm, other[0])
    return prefer_depth_first(current[1], peaks[0], other[1], peaks[1]), peaks


def _all_vars(cm: ConsultationModel) -> list[cp_model.IntVar]:
    return [*cm.attend.values(), *cm.verify.values(), *cm.count.values(), *cm.covered.values()]


def gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap of a minimisation, 0.0 when proven."""
    if objective is None or bound is None:
        return None
    if abs(objective) < 1e-9:
        return 0.0 if abs(bound) < 1e-9 else 1.0
    return max(0.0, (objective - bound) / abs(objective))
