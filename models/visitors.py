"""Who visits which school: a start for the classic problem's optimiser.

When schools have no curator yet, each one's verification visit may go to any of its
`visitor_candidates` nearest consultants, and in the classic problem those visits are
nearly all of the plan's travel (every other need can usually be met online). The
first-come greedy gives each school the first candidate by id with room, which on 300
open Rostov-like schools drove more than twice the km of the nearest candidates.

`visitor_order` solves the visits alone as a small assignment (one visitor per unverified
school among its candidates; each consultant's visits within their onsite room and
`max_total` over the year; least weighted km plus the largest number of visits at the
max_load weight) and returns each school's candidates with the assigned one first, then
by km. The greedy built with that order (`models.greedy.greedy_groups`) is a start, not a
bound: months, the school's other topics and the consultant's other sessions are left to
the greedy and then to the solver.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from models.domain import Format, Instance
from models.index import Index


def needs_choice(instance: Instance, ix: Index) -> bool:
    """Does some school still to be visited have more than one possible visitor?"""
    return any(len(ix.verifiers(s, t)) > 1 for s in instance.schools.values() if ix.needs_verification(s)
               for t in instance.verification_topics)


def visitor_order(instance: Instance, ix: Index, seconds: float = 2.0, workers: int = 2,
                  seed: int = 0) -> dict[str, list[str]] | None:
    """School -> its possible visitors, the assigned one first (module docstring); None if
    no assignment was found in time."""
    w = instance.settings.weights
    model = cp_model.CpModel()
    km: dict[tuple[str, str], int] = {}
    chosen: dict[tuple[str, str], cp_model.IntVar] = {}
    per_c: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    candidates: dict[str, list[str]] = {}
    for s in instance.schools.values():
        if not ix.needs_verification(s):
            continue
        visitors = list(dict.fromkeys(c for t in instance.verification_topics for c in ix.verifiers(s, t)))
        if not visitors:
            continue
        candidates[s.id] = visitors
        row = []
        for c in visitors:
            var = chosen[s.id, c] = model.new_bool_var(f"visit[{s.id},{c}]")
            km[s.id, c] = instance.round_trip_km(c, s.municipality)
            per_c[c].append(var)
            row.append(var)
        model.add_at_most_one(row)  # at most: a consultant with no room leaves the school to the greedy
    load = model.new_int_var(0, len(candidates), "most_visits")
    for c, vars_ in per_c.items():
        consultant = instance.consultants[c]
        room = sum(ix.onsite_room(c, days) for days in ix.free_days[c].values())
        if consultant.max_total is not None:
            room = min(room, consultant.max_total)
        model.add(sum(vars_) <= room)
        model.add(load >= sum(vars_))
    unvisited = len(candidates) - sum(chosen.values())
    # An unvisited school costs more than any trip: the visits first, then km and load.
    big = 1 + w.travel_km * 2 * max(km.values(), default=0) + w.max_load * len(candidates)
    model.minimize(big * unvisited + w.travel_km * sum(k * chosen[key] for key, k in km.items()) + w.max_load * load)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    order = {}
    for s, visitors in candidates.items():
        by_km = sorted(visitors, key=lambda c: (km[s, c], c))
        first = [c for c in visitors if solver.value(chosen[s, c])]
        order[s] = first + [c for c in by_km if c not in first]
    return order


LOST_SLOT_WEIGHT = 2
"""Weight of an attendance a late visit leaves no slot for, in relevant-attendance weights,
in the depth-first construction (`visit_months`' `lost_slots`). Measured on the
constructions (1000-open, 300-open, 100-open, synthetic 300, Kuzbass, Kalmykia): 2 was best
or equal on every one; 1 lost on 100-open and Kalmykia, 3 on 1000-open and Kalmykia."""


def _slots_lost(instance: Instance, ix: Index, keys) -> dict[tuple[str, str], int]:
    """(school, month) → how many of the school's online topics on its risks that must come
    after its visit would find no slot if it were visited in that month: those topics less
    the school's monthly limits of the months after it (0 when they all fit). Onsite topics
    are not counted: a school rarely fills a slot with one (it needs a group of its
    municipality that month); counting them at 0.1 or 0.3 each did worse."""
    limit = instance.settings.rules.school_max_sessions_per_month
    cap = {m: min(limit, len(ix.school_days.get(m, ()))) for m in ix.months}
    after = {m: sum(cap[x] for x in ix.months if ix.month_pos[x] > ix.month_pos[m]) for m in ix.months}
    topics: dict[str, int] = {}
    out: dict[tuple[str, str], int] = {}
    for (s, _t, _c, month) in keys:
        if s not in topics:
            topics[s] = sum(1 for t in ix.useful_topics[s]
                            if instance.topics[t].format == Format.ONLINE and ix.relevant(s, t)
                            and ix.needs_after_verification(instance.topics[t]))
        out[s, month] = max(0, topics[s] - after.get(month, 0))
    return out


def visit_months(instance: Instance, ix: Index, keys, lost_slots: bool = False) -> dict[str, tuple[str, str, str]]:
    """The programme's verification visits as one assignment: school -> its visit (topic,
    consultant, month), one of `keys` (the month model's verify keys); a school the
    consultants' room leaves without one is not in the result.

    A school may attend nothing before its visit, so each month a visit comes later weighs a
    month of consultations (`school_max_sessions_per_month` relevant attendances) and the
    late-verification weight, from the first month on (the same for every school, so only
    against km does it matter where `verification_months` would start it). With
    `lost_slots` (the depth-first construction) a visit month also weighs the school's
    online topics on its risks that the months after it cannot hold (`_slots_lost`, each at
    LOST_SLOT_WEIGHT × the relevant-attendance weight): the early months go to the schools
    with the most topics to fit after their visit. The hand method's first-come order (each
    school in turn the earliest month its first visitor by id has room) filled the nearest
    consultants' first month and left the rest for later. Here every visit is placed at
    once, as a min-cost flow (OR-Tools' network simplex: exact and deterministic,
    milliseconds on 600 schools): school → (consultant, month) within `Index.visit_room` →
    consultant within `max_total`; as many schools visited as possible, then the least
    weighted (months, lost slots, km)."""
    w, rules = instance.settings.weights, instance.settings.rules
    month_cost = w.late_verification + rules.school_max_sessions_per_month * max(w.relevant_attendance, 1)
    lost = _slots_lost(instance, ix, keys) if lost_slots else {}
    slot_cost = LOST_SLOT_WEIGHT * max(w.relevant_attendance, 1)
    cost = {key: month_cost * ix.month_pos[key[3]] + slot_cost * lost.get((key[0], key[3]), 0)
            + w.travel_km * instance.round_trip_km(key[2], instance.schools[key[0]].municipality)
            for key in keys}
    if not cost:
        return {}
    nodes: dict[tuple, int] = {}

    def node(name: tuple) -> int:
        return nodes.setdefault(name, len(nodes))

    flow = min_cost_flow.SimpleMinCostFlow()
    sink = node(("sink",))
    unvisited = 1 + 2 * max(cost.values())  # any visit beats none
    schools = sorted({key[0] for key in cost})
    for s in schools:
        flow.set_node_supply(node(("school", s)), 1)
        flow.add_arc_with_capacity_and_unit_cost(node(("school", s)), sink, 1, unvisited)
    flow.set_node_supply(sink, -len(schools))
    arcs: dict[int, tuple] = {}
    ordered = sorted(cost)  # arcs in the keys' order: the network simplex breaks ties by arc order
    for key in ordered:
        s, _t, c, month = key
        arcs[flow.add_arc_with_capacity_and_unit_cost(node(("school", s)), node(("month", c, month)), 1,
                                                      cost[key])] = key
    months = dict.fromkeys((key[2], key[3]) for key in ordered)
    for (c, month) in months:
        flow.add_arc_with_capacity_and_unit_cost(node(("month", c, month)), node(("consultant", c)),
                                                 ix.visit_room(c, month), 0)
    for c in dict.fromkeys(c for (c, _month) in months):
        total = instance.consultants[c].max_total
        flow.add_arc_with_capacity_and_unit_cost(node(("consultant", c)), sink,
                                                 total if total is not None else len(schools), 0)
    if flow.solve() != flow.OPTIMAL:
        return {}
    return {key[0]: key[1:] for arc, key in arcs.items() if flow.flow(arc)}
