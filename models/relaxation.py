"""The month-free relaxation of phase 2: a lower bound, and a start for the real model.

Sum every month-level variable over its months: attend[s,t,·] → a[s,t], verify[s,t,c,·]
→ v[s,t,c], count[t,c,·,mun] → n[t,c,mun]. Every month-level rule, summed over the
months, still holds for these sums (session capacity, a school's topic at most once,
prerequisites and verification taken at all, a consultant's `max_total` and their free
days in the whole year), so any plan of the month-level model maps to a solution of this
smaller model with the same travel, sessions, attendance and maximum load, and an
early_program no smaller than Σ a[s,t] × (earliest month index that (s, t) could have).
Its optimum is therefore a valid lower bound on phase 2's objective: the bound the
month-level LP cannot prove by itself (notes: a month-level LP leaves a gap of ~5 %
because it cannot round the number of webinars up).

With the programme's depth on, the verification visits keep their months (v[s,t,c,m],
`_visit_month_rules`): a school attends nothing before its visit and a consultant visits
few schools a month, which the sums alone did not see. Its bound is then the LP of this
model, solved by HiGHS (`models.lp_bound`), which proves it faster than CP-SAT on large
regions.

It is also a good start: its school → topic choice, laid out over months by the full
model (`fixed_choice`), is usually optimal or nearly so.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from models.consultation import ConsultationModel
from models.cp_domains import fixed_domains, status_name
from models.domain import Stage
from models.lp_bound import lp_solution

LARGE = 20_000  # relaxation variables from which fewer workers are used (memory)


@dataclass
class RelaxationResult:
    status: str
    objective: float | None
    bound: int | None  # a valid lower bound on phase 2's objective
    seconds: float
    variables: int
    attend: set[tuple[str, str]] = field(default_factory=set)  # (school, topic)
    verify: set[tuple[str, str, str]] = field(default_factory=set)  # (school, topic, consultant)
    # The LP optimum's a[s,t] (0..1, nearly all 0 or 1) when the bound is the LP alone: the
    # depth-first construction's guide (`models.construct.GUIDE`).
    lp_attend: dict[tuple[str, str], float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.objective is not None


def month_free_relaxation(cm: ConsultationModel, coverage_at_least: int, limit: float, workers: int,
                          seed: int = 0, relative_gap: float = 0.005,
                          on_bound: Callable[[int], None] | None = None,
                          hint: dict[int, int] | None = None, lp: bool = False) -> RelaxationResult:
    """Build and solve the month-free relaxation (module docstring) of phase 2 of `cm`.
    `hint`: a month-level plan of `cm` (variable index → value), summed over its months
    as the relaxation's start. `lp`: only its linear relaxation's bound (HiGHS,
    `models.lp_bound`), no plan; CP-SAT when HiGHS does not prove it in time."""
    inst, ix = cm.inst, cm.ix
    w = inst.settings.weights
    m = cp_model.CpModel()
    a = {key: m.new_bool_var(f"a[{key}]") for key in dict.fromkeys((s, t) for (s, t, _m) in cm.attend)}
    # Verification visits keep their month when the programme weighs months (`_visit_months`);
    # else they are summed over the months like the rest: v[s,t,c].
    by_month = _visit_months(cm)
    v = {key: m.new_bool_var(f"v[{key}]") for key in
         (cm.verify if by_month else dict.fromkeys((s, t, c) for (s, t, c, _m) in cm.verify))}
    upper: dict[tuple[str, str, str | None], int] = defaultdict(int)
    for (t, c, _m, mun), var in cm.count.items():
        upper[t, c, mun] += cm.count_ub[t, c, _m, mun]
    n = {key: m.new_int_var(0, ub, f"n[{key}]") for key, ub in upper.items()}

    # Session capacity (one municipality per onsite group), summed over months.
    groups: dict[tuple[str, str | None], list] = defaultdict(list)
    for (s, t), var in a.items():
        groups[t, cm._mun(s, t)].append(var)
    sessions_of: dict[tuple[str, str | None], list] = defaultdict(list)
    for (t, c, mun), var in n.items():
        if inst.topics[t].stage != Stage.VERIFICATION:
            sessions_of[t, mun].append(var)
    for key, vars_ in groups.items():
        total = sum(sessions_of.get(key, []))
        m.add(sum(vars_) <= inst.topics[key[0]].capacity * total)
        for var in vars_:
            m.add(var <= total)
    visits: dict[tuple[str, str, str], list] = defaultdict(list)
    for (s, t, c, *_month), var in v.items():
        visits[t, c, inst.schools[s].municipality].append(var)
    for (t, c, mun), vars_ in visits.items():
        count = n.get((t, c, mun))
        if count is not None and inst.topics[t].capacity == 1:
            # One school a visit: the visits are the sessions (more would only cost). An
            # equality lets the search move a visit to another consultant in one step.
            m.add(sum(vars_) == count)
            continue
        m.add(sum(vars_) <= (inst.topics[t].capacity * count if count is not None else 0))

    # Consultants: max_total, max_per_month over the year, minutes of the free days.
    per_c: dict[str, list] = defaultdict(list)
    minutes: dict[str, list] = defaultdict(list)
    overnight: dict[str, list] = defaultdict(list)
    for (t, c, mun), var in n.items():
        per_c[c].append(var)
        minutes[c].append(cm.session_minutes(t, c, mun) * var)
        if ix.overnight(t, c, mun):
            overnight[c].append(var)
    full_day = ix.day_minutes + ix.break_min
    evenings: dict[int, tuple[list, int]] = {}  # evenings[c] → its overnight counts, free evenings
    onsite: dict[str, list] = defaultdict(list)
    for (t, c, mun), var in n.items():
        if mun is not None and ix.is_onsite(inst.topics[t]):
            onsite[c].append(var)
    for c, vars_ in per_c.items():
        consultant = inst.consultants[c]
        free = ix.free_days[c]
        if consultant.max_total is not None:
            m.add(sum(vars_) <= consultant.max_total)
        m.add(sum(vars_) <= consultant.max_per_month * sum(1 for days in free.values() if days))
        if onsite.get(c):  # the month rule's onsite room, summed over the year
            m.add(sum(onsite[c]) <= sum(ix.onsite_room(c, days) for days in free.values()))
        all_days = [d for days in free.values() for d in days]
        used = sum(minutes[c])
        if overnight.get(c):
            # The month model's evenings, summed over the year (a relaxation of it).
            extra = m.new_int_var(0, len(all_days), f"evenings[{c}]")
            cheap = ix.evening_free_days(c, all_days)
            m.add(extra >= sum(overnight[c]) - cheap)
            evenings[extra.index] = (overnight[c], cheap)
            used += full_day * extra
        m.add(used <= full_day * len(all_days))

    # A school: one verification visit; prerequisites and verification taken (order dropped).
    visits_of: dict[str, list] = defaultdict(list)
    visits_of_topic: dict[tuple[str, str], list] = defaultdict(list)
    for (s, t, c, *_month), var in v.items():
        visits_of[s].append(var)
        visits_of_topic[s, t].append(var)
    for vars_ in visits_of.values():
        m.add_at_most_one(vars_)
    for (s, t), var in a.items():
        school = inst.schools[s]
        for req in inst.topics[t].requires:
            if inst.topics[req].stage == Stage.VERIFICATION:
                if school.verified_on is None:
                    m.add(var <= sum(visits_of_topic.get((s, req), [])))
            else:
                m.add(var <= a.get((s, req), 0))
        if school.verified_on is None and ix.needs_after_verification(inst.topics[t]):
            m.add(var <= sum(visits_of.get(s, [])))

    # A school's monthly limit, summed over the months it could attend in (verification visits
    # in the months they could be in; other topics in theirs).
    per_month = inst.settings.rules.school_max_sessions_per_month
    cap_of = {month: min(per_month, len(ix.school_days.get(month, ()))) for month in ix.months}
    attend_months: dict[str, set] = defaultdict(set)
    visit_months: dict[str, set] = defaultdict(set)
    for (s, _t, month) in cm.attend:
        attend_months[s].add(month)
    for (s, _t, _c, month) in cm.verify:
        visit_months[s].add(month)
    topics_of: dict[str, list] = defaultdict(list)
    for (s, t), var in a.items():
        topics_of[s].append(var)
    for s, vars_ in topics_of.items():
        m.add(sum(vars_) <= sum(cap_of[x] for x in attend_months[s]))
        if visits_of.get(s):
            m.add(sum(vars_) + sum(visits_of[s]) <= sum(cap_of[x] for x in attend_months[s] | visit_months[s]))

    if by_month:
        _visit_month_rules(cm, m, a, v, cap_of, attend_months)

    # Coverage at least phase 1's.
    k = inst.settings.rules.min_topics_per_risk
    weight = cm.coverage_weights()
    per_sr: dict[tuple[str, str], list] = defaultdict(list)
    for (s, t), var in a.items():
        for r in inst.topics[t].risks:
            per_sr[s, r].append(var)
    coverage = []
    full = coverage_at_least >= cm.coverage_upper_bound()
    for (s, r) in cm.covered:
        if full:
            # Every need must be met: stated need by need, which propagates (the weighted
            # sum alone left CP-SAT's search at 2× the optimum's travel on 300 open schools).
            m.add(sum(per_sr[s, r]) >= k)
            continue
        cov = m.new_bool_var(f"covered[{s},{r}]")
        m.add(k * cov <= sum(per_sr[s, r]))
        coverage.append(weight[inst.schools[s].priority] * cov)
    for s, vars_ in visits_of.items():
        if full:
            m.add(sum(vars_) == 1)
            continue
        coverage.extend(weight[inst.schools[s].priority] * x for x in vars_)
    if coverage:
        m.add(sum(coverage) >= coverage_at_least)

    # Objective: phase 2's terms, early_program at each pair's earliest possible month.
    first_visit: dict[str, int] = {}
    for (s, _t, _c, month) in cm.verify:
        first_visit[s] = min(first_visit.get(s, 10**6), ix.month_pos[month])
    earliest: dict[tuple[str, str], int] = {}
    for (s, t, month) in cm.attend:
        pos = ix.month_pos[month]
        if inst.schools[s].verified_on is None and ix.needs_after_verification(inst.topics[t]):
            pos = max(pos, first_visit.get(s, -1) + 1)
        earliest[s, t] = min(earliest.get((s, t), 10**6), pos)
    early = sum(earliest[key] * a[key] for key in cm.early_pairs() if key in a)
    travel = sum(km * var for (t, c, mun), var in n.items() if (km := cm.travel_km(t, c, mun)))
    max_load = m.new_int_var(0, 100_000, "max_load")
    for vars_ in per_c.values():
        m.add(max_load >= sum(vars_))
    objective = (w.travel_km * travel + w.early_program * early + w.max_load * max_load
                 + w.session * sum(n.values()) + w.attendance * sum(a.values()))
    objective += _programme_bound_terms(cm, m, a, v, n)
    if by_month and inst.settings.rules.max_gap_months > 0 and inst.settings.rules.verification_months > 0:
        late = cm.verification_lateness(inst.settings.rules.verification_months)
        objective += w.late_verification * sum(months * v[key] for key, months in late.items() if key in v)
    m.minimize(objective)
    if hint is not None:
        _hint_summed(cm, m, hint, a, v, n, evenings, (max_load, list(per_c.values())))

    lp_value, t_lp = None, time.monotonic()
    if lp:
        solved = lp_solution(m.proto, limit)
        if solved is not None:
            value, x = solved
            # Integral objective: the bound rounds up (less HiGHS's relative tolerance).
            lp_value = math.ceil(value - 1e-6 * max(1.0, abs(value)))
            if len(m.proto.variables) >= LARGE or limit - (time.monotonic() - t_lp) < 0.5:
                return RelaxationResult("LP", None, lp_value, round(time.monotonic() - t_lp, 2),
                                        len(m.proto.variables),
                                        lp_attend={key: float(x[var.index]) for key, var in a.items()})
            # A small relaxation: CP-SAT's search proves more than the LP in the time left
            # (on Kuzbass −40 880 in 5 s against the LP's −42 048); the better bound is kept.
            if on_bound is not None:
                on_bound(lp_value)
        limit = max(0.5, limit - (time.monotonic() - t_lp))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.5, limit)
    # Memory guard: each full CP-SAT worker holds its own copy of the model and LP; on a
    # 1,000-school relaxation 8 workers peak at ~2.2 GB, 6 at ~1.3 GB with the same bound.
    solver.parameters.num_workers = workers if len(m.proto.variables) < LARGE else min(workers, 6)
    solver.parameters.random_seed = seed
    solver.parameters.relative_gap_limit = relative_gap
    if on_bound is not None:  # each better bound as it is proven (progress for people)
        floor = -math.inf if lp_value is None else lp_value  # the LP's bound already proven
        solver.best_bound_callback = lambda value: on_bound(max(math.ceil(value - 1e-6), floor))
    t0 = time.monotonic()
    status = solver.solve(m)
    seconds = round(time.monotonic() - t0, 2)
    name = status_name(solver, status)
    # The objective is integral, so the bound rounds up (and is an int: a model constraint).
    # A search stopped before it proved anything (UNKNOWN: on 1 000 schools, in presolve)
    # reports a "bound" of 0, which bounds nothing: no bound then.
    proven = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    bound = math.ceil(solver.best_objective_bound - 1e-6) if proven else None
    if lp_value is not None:
        bound = lp_value if bound is None else max(bound, lp_value)
        seconds = round(time.monotonic() - t_lp, 2)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return RelaxationResult(name, None, bound, seconds, len(m.proto.variables))
    return RelaxationResult(
        name, solver.objective_value, bound, seconds,
        len(m.proto.variables),
        attend={key for key, var in a.items() if solver.value(var)},
        verify={key[:3] for key, var in v.items() if solver.value(var)},
    )


def _hint_summed(cm: ConsultationModel, m: cp_model.CpModel, values: dict[int, int], a: dict, v: dict,
                 n: dict, evenings: dict[int, tuple[list, int]], load: tuple) -> None:
    """Hint the relaxation with a month-level plan summed over its months: its decisions and
    the classic helpers (each consultant's evenings, the largest load), a complete hint
    CP-SAT need not complete itself (on 300 schools at a 10 s limit, completing a partial
    one sometimes took all of the relaxation's 1.6 s)."""
    sums: dict[int, int] = defaultdict(int)
    for (s, t, _m), var in cm.attend.items():
        sums[a[s, t].index] = max(sums[a[s, t].index], values.get(var.index, 0))
    for (s, t, c, _m), var in cm.verify.items():
        x = v[s, t, c, _m] if (s, t, c, _m) in v else v[s, t, c]
        sums[x.index] = max(sums[x.index], values.get(var.index, 0))
    for (t, c, _m, mun), var in cm.count.items():
        sums[n[t, c, mun].index] += values.get(var.index, 0)
    for index, (overnight, cheap) in evenings.items():
        sums[index] = max(0, sum(sums[x.index] for x in overnight) - cheap)
    max_load, per_c = load
    sums[max_load.index] = max((sum(sums[x.index] for x in vars_) for vars_ in per_c), default=0)
    for index, value in sums.items():
        m.proto.solution_hint.vars.append(index)
        m.proto.solution_hint.values.append(value)


def _visit_months(cm: ConsultationModel) -> bool:
    """Does the relaxation keep the verification visits' months? When the programme weighs
    months (depth or late visits): a school attends nothing before its visit, and
    consultants' visits are few a month, so on 1 000 open schools half the visits could not
    be in the first month, which the month-free sums did not see (the bound counted 14
    consultations for every school visited, whatever its month)."""
    w, rules = cm.inst.settings.weights, cm.inst.settings.rules
    return bool(cm.verify) and (w.relevant_attendance > 0
                                or (rules.max_gap_months > 0 and rules.verification_months > 0))


def _visit_month_rules(cm: ConsultationModel, m: cp_model.CpModel, a: dict, v: dict, cap_of: dict,
                       attend_months: dict) -> None:
    """The month rules of verification visits (v keyed by month, `_visit_months`):
    - each consultant's visits of a month fit that month's onsite room and monthly limit;
    - a school not yet verified attends its topics that come after verification only in the
      open months after its visit: at most the monthly limits of those months (for each
      possible visit month, the months after it in which it could attend)."""
    inst, ix = cm.inst, cm.ix
    per_cm: dict[tuple[str, str], list] = defaultdict(list)
    for (s, t, c, month), var in v.items():
        if ix.is_onsite(inst.topics[t]):
            per_cm[c, month].append(var)
    for (c, month), vars_ in per_cm.items():
        room = ix.visit_room(c, month)
        if len(vars_) > room:
            m.add(sum(vars_) <= room)
    after: dict[str, list] = defaultdict(list)
    for (s, t), var in a.items():
        if inst.schools[s].verified_on is None and ix.needs_after_verification(inst.topics[t]):
            after[s].append(var)
    visits: dict[str, list] = defaultdict(list)
    for (s, t, c, month), var in v.items():
        visits[s].append((month, var))
    for s, vars_ in after.items():
        slots = [(sum(cap_of[x] for x in attend_months[s] if x > month), var) for month, var in visits.get(s, [])]
        m.add(sum(vars_) <= sum(k * var for k, var in slots if k))


def _programme_bound_terms(cm: ConsultationModel, m: cp_model.CpModel, a: dict, v: dict, n: dict):
    """The programme's terms (`ConsultationModel._programme_terms`), summed over the months:
    the same relevant-attendance gain and held topics; the busiest month holds at least the
    average month's sessions; gaps and late visits are bounded by 0 (no term)."""
    inst, ix = cm.inst, cm.ix
    rules, w = inst.settings.rules, inst.settings.weights
    terms = []
    if w.relevant_attendance:
        terms.append(-w.relevant_attendance * sum(var for (s, t), var in a.items() if ix.relevant(s, t)))
        terms.append(w.onsite_visit * sum(var for (t, c, mun), var in n.items()
                                          if mun is not None and ix.is_onsite(inst.topics[t])))
        terms.append(w.online_session * sum(var for (t, c, mun), var in n.items()
                                            if not ix.is_onsite(inst.topics[t])))
    if rules.hold_every_topic:
        by_topic: dict[str, list] = defaultdict(list)
        for (s, t), var in a.items():
            by_topic[t].append(var)
        for (s, t, c, *_month), var in v.items():
            by_topic[t].append(var)
        for t in ix.usable_topics:
            if by_topic.get(t):
                held = m.new_bool_var(f"held[{t}]")
                m.add(held <= sum(by_topic[t]))
                terms.append(w.unheld_topic * (1 - held))
    if rules.max_gap_months > 0:
        months = {month for (_t, _c, month, _mun) in cm.count}
        sessions = [var for (t, c, mun), var in n.items() if inst.topics[t].stage != Stage.VERIFICATION]
        if months and sessions:
            peak = m.new_int_var(0, 100_000, "month_peak")
            m.add(len(months) * peak >= sum(sessions))
            terms.append(w.month_peak * peak)
    return sum(terms)


def fixed_choice(cm: ConsultationModel, relaxation: RelaxationResult):
    """Context: phase 2's model restricted to the relaxation's choice. Attendance of a
    (school, topic) pair the relaxation did not choose, and verification visits by other
    verifiers, are fixed to 0; months, sessions and consultants stay free."""
    closed = {var.index: 0 for (s, t, _m), var in cm.attend.items() if (s, t) not in relaxation.attend}
    closed.update({var.index: 0 for (s, t, c, _m), var in cm.verify.items() if (s, t, c) not in relaxation.verify})
    return fixed_domains(cm.model, closed)
