"""School by school: each school's topics and months chosen again, the sessions held.

The programme's plans lose most against the bound inside the schools' years: every session
is placed, but a school could take a free seat of another month if it moved one of its
topics, and the construction, opening sessions month by month, never looks back. Here each
school in turn (a random order) gets its best year among the seats the other schools leave:
a small exact model of its own attendances, every rule of the month model that concerns
them kept. What it gains is its own: relevant attendances, the early programme, no
support gaps. A session left empty is closed (the costliest consultant's first).

Measured on 1 000 open schools (the guided depth-first construction, −448 647, the bound
−459 899): one pass −452 557 (+3 910) in 6–8 s, a second pass ~+100 more. On Kuzbass one
pass takes ~0.6 s.

Only for a plain solve: a replan's frozen history and fixed attendances are not modelled
here (`reassign_schools` declines them).
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict

from ortools.sat.python import cp_model

from models.calendar_days import Month
from models.consultation import ConsultationModel
from models.domain import Stage

SCALE = 100
"""A school's own objective is its gain × SCALE, plus 1 for each attendance it keeps: of
equal years, the one it has (fewer changes, the same seats left for the schools after it)."""


class _SmallModel(cp_model.CpModel):
    """A CpModel without the pre-PEP 8 aliases OR-Tools adds to each new model (~2.5 ms a
    model, a sixth of a school's re-choice on Kuzbass); nothing here uses them."""

    def _add_pre_pep8_methods(self) -> None:
        pass


class _Schools:
    def __init__(self, cm: ConsultationModel, values: dict[int, int]):
        self.cm, self.inst, self.ix = cm, cm.inst, cm.ix
        inst, ix = self.inst, self.ix
        w, rules = inst.settings.weights, inst.settings.rules
        self.w, self.k, self.g = w, rules.min_topics_per_risk, rules.max_gap_months
        self.cap_of = {m: min(rules.school_max_sessions_per_month, len(ix.school_days.get(m, ())))
                       for m in ix.months}
        self.early = cm.early_pairs()
        self.keys: dict[str, list[tuple[str, str, Month]]] = defaultdict(list)
        for key in cm.attend:
            self.keys[key[0]].append(key)
        self.seats: Counter = Counter()
        for (t, c, m, mun), var in cm.count.items():
            if inst.topics[t].stage != Stage.VERIFICATION:
                self.seats[t, m, mun] += values.get(var.index, 0) * inst.topics[t].capacity
        self.used: Counter = Counter()
        self.topic_total: Counter = Counter()
        self.mine: dict[str, set[tuple[str, Month]]] = defaultdict(set)
        for (s, t, m), var in cm.attend.items():
            if values.get(var.index, 0):
                self._add(s, t, m)
        self.visit: dict[str, tuple[str, Month]] = {}
        for (s, t, _c, m), var in cm.verify.items():
            if values.get(var.index, 0):
                self.visit[s] = (t, m)
        self.covered = {key for key, var in cm.covered.items() if values.get(var.index, 0)}
        self.windows = self._support_windows()

    def _add(self, s: str, t: str, m: Month) -> None:
        self.mine[s].add((t, m))
        self.used[t, m, self.cm._mun(s, t)] += 1
        self.topic_total[t] += 1

    def _remove(self, s: str, t: str, m: Month) -> None:
        self.mine[s].discard((t, m))
        self.used[t, m, self.cm._mun(s, t)] -= 1
        self.topic_total[t] -= 1

    def value(self, s: str, t: str, m: Month) -> int:
        """Phase 2's weights on one attendance of the school."""
        w = self.w
        gain = (w.relevant_attendance if self.ix.relevant(s, t) else 0) - w.attendance
        if (s, t) in self.early:
            gain -= w.early_program * self.ix.month_pos[m]
        return gain

    def _allowed(self, s: str, t: str, m: Month) -> bool:
        """A free seat (or the school's own), and the visit before it where one is needed."""
        inst, ix = self.inst, self.ix
        own = 1 if (t, m) in self.mine[s] else 0
        if self.seats[t, m, self.cm._mun(s, t)] - self.used[t, m, self.cm._mun(s, t)] + own <= 0:
            return False
        if inst.schools[s].verified_on is not None:
            return True
        visit = self.visit.get(s)
        topic = inst.topics[t]
        if ix.needs_after_verification(topic) and (visit is None or visit[1] >= m):
            return False
        return all(visit is not None and visit[0] == req and visit[1] < m
                   for req in topic.requires if inst.topics[req].stage == Stage.VERIFICATION)

    def _support_windows(self) -> dict[str, list[list[Month]]]:
        """Each school's support windows (`ConsultationModel._support_gaps`: g+1 open months in
        a row from a month it is verified before) that its visit, held here, does not fill."""
        if self.g <= 0:
            return {}
        months, out = self.ix.months, {}
        for s, before in self.cm.verified_before().items():
            visit = self.visit.get(s)
            out[s] = [months[i:i + self.g + 1] for i in range(len(months) - self.g)
                      if (visit is not None and self.ix.month_pos[visit[1]] < i
                          or isinstance(before[i][1], int) and before[i][1])
                      and (visit is None or visit[1] not in months[i:i + self.g + 1])]
        return out

    def reopt(self, s: str) -> int:
        """The school's best year with the other schools' seats held; applied when it gains.
        Returns the gain (0 if none)."""
        inst = self.inst
        model = _SmallModel()
        x = {(t, m): model.new_bool_var(f"{t},{m}") for (_s, t, m) in self.keys[s] if self._allowed(s, t, m)}
        if not x:
            return 0
        by_topic: dict[str, list] = defaultdict(list)
        by_month: dict[Month, list] = defaultdict(list)
        for (t, m), var in x.items():
            by_topic[t].append((m, var))
            by_month[m].append(var)
        for vars_ in by_topic.values():
            model.add_at_most_one(var for _m, var in vars_)
        visit = self.visit.get(s)
        for m, vars_ in by_month.items():
            model.add(sum(vars_) <= self.cap_of[m] - (1 if visit is not None and visit[1] == m else 0))
        for (t, m), var in x.items():
            for req in inst.topics[t].requires:
                if inst.topics[req].stage != Stage.VERIFICATION:
                    model.add(var <= sum(v for (m2, v) in by_topic.get(req, []) if m2 < m))
        for r in inst.schools[s].risks:
            if (s, r) in self.covered:
                model.add(sum(var for (t, _m), var in x.items() if r in inst.topics[t].risks) >= self.k)
        for (t, _m) in self.mine[s]:
            if self.topic_total[t] == 1:  # its only attendee: the topic stays held
                model.add(sum(var for _m2, var in by_topic[t]) >= 1)
        gaps = []
        for window in self.windows.get(s, ()):
            gap = model.new_bool_var("gap")
            model.add(sum(var for (_t, m), var in x.items() if m in window) + gap >= 1)
            gaps.append(gap)
        model.maximize(sum((SCALE * self.value(s, t, m) + ((t, m) in self.mine[s])) * var for (t, m), var in x.items())
                       - SCALE * self.w.gap_month * sum(gaps))
        for (t, m), var in x.items():
            model.add_hint(var, (t, m) in self.mine[s])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 1.0
        # A school's model is tiny and solved at once; presolving it doubled the time (Kuzbass:
        # 1.06 s a pass with presolve, 0.63 s without, the same gain).
        solver.parameters.cp_model_presolve = False
        if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return 0
        chosen = {key for key, var in x.items() if solver.value(var)}
        old = self._year_value(s, self.mine[s])
        new = self._year_value(s, chosen)
        if new <= old:
            return 0
        for t, m in list(self.mine[s]):
            self._remove(s, t, m)
        for t, m in chosen:
            self._add(s, t, m)
        return new - old

    def _year_value(self, s: str, year: set[tuple[str, Month]]) -> int:
        months = {m for _t, m in year}
        gaps = sum(1 for window in self.windows.get(s, ()) if not months & set(window))
        return sum(self.value(s, t, m) for t, m in year) - self.w.gap_month * gaps


def reassign_schools(cm: ConsultationModel, values: dict[int, int], deadline: float, seed: int = 0,
                     passes: int = 2) -> tuple[dict[int, int], int] | None:
    """One or more passes of `_Schools.reopt` over every school in a random order (by
    `seed`), until a pass gains nothing or `deadline` (time.monotonic()). Returns the plan's
    month-level values (attendances re-chosen, sessions left empty closed) and the schools'
    total gain, or None when there is nothing to do (a replan's history: not modelled)."""
    opt = cm.opt
    if opt.frozen_attend or opt.frozen_verify or opt.frozen_counts:
        return None
    schools = _Schools(cm, values)
    order = sorted(cm.inst.schools)
    rng = random.Random(seed)
    total = 0
    for _ in range(passes):
        rng.shuffle(order)
        gained = 0
        for s in order:
            if time.monotonic() >= deadline:
                break
            gained += schools.reopt(s)
        total += gained
        if not gained or time.monotonic() >= deadline:
            break
    if not total:
        return None
    out = dict(values)
    for (s, t, m), var in cm.attend.items():
        out[var.index] = 1 if (t, m) in schools.mine[s] else 0
    # Sessions no longer needed: as many as the attendances fill, the farthest closed first.
    held: dict[tuple, list] = defaultdict(list)
    for key, var in cm.count.items():
        t, c, m, mun = key
        if cm.inst.topics[t].stage != Stage.VERIFICATION and out.get(var.index, 0):
            held[t, m, mun].append((cm.travel_km(t, c, mun), key, var))
    for (t, m, mun), entries in held.items():
        need = math.ceil(schools.used[t, m, mun] / cm.inst.topics[t].capacity)
        have = sum(out[var.index] for _km, _key, var in entries)
        for _km, _key, var in sorted(entries, key=lambda e: (-e[0], e[1])):
            drop = min(have - need, out[var.index])
            if drop <= 0:
                break
            out[var.index] -= drop
            have -= drop
    return out, total
