"""The classic month-level problem as a MIP, solved by HiGHS: the benchmark's baseline.

The classic problem is the planner's with the programme's settings off
(`hold_every_topic = false`, `max_gap_months = 0`, `relevant_attendance = 0`): first the
most coverage, lexicographically by priority, then, with coverage fixed, the least of the
classic terms (travel km, early programme, the largest load, sessions, attendances).

The formulation is written here on its own, from the index sets of `models.index.Index`,
with the same variables and rules as the CP-SAT month model (`models.consultation`):

- ``attend[s,t,m]`` (0/1), ``verify[s,t,c,m]`` (0/1), ``count[t,c,m,mun]`` (integer),
  ``covered[s,r]`` (0/1), created exactly where that model creates them;
- session capacity per (topic, month, municipality for onsite topics), and ``attend ≤ Σ
  count`` for a tighter LP; a verification visit's sessions per (topic, consultant, month,
  municipality);
- a consultant's sessions a month ≤ max_per_month; their minutes fit their free days,
  an overnight visit costing one more day beyond the days whose evening before is free
  anyway (``evenings ≥ Σ overnight − F``); onsite visits a month ≤ ``Index.onsite_room``;
  sessions over the year ≤ max_total;
- a school's sessions a month ≤ min(school_max_sessions_per_month, open days); a topic at
  most once, one verification visit; prerequisites (and the verification visit, for the
  topics that come after it) in a strictly earlier month; ``k × covered ≤ Σ attend``.

Two HiGHS solves, each to proven optimality unless its time limit stops it first (then its
gap is reported): coverage (maximised), then the classic terms with ``coverage ≥`` the
first optimum, started from the first solve's solution. `highspy` is an optional
dependency (the `bench` extra): nothing else in the planner imports this module.

    python -m planner.tools.mip_baseline INSTANCE [--time-limit S]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from models.calendar_days import Month
from models.domain import Instance, Stage
from models.index import Index

Key = tuple


@dataclass
class MipPhase:
    name: str
    status: str  # HiGHS's model status: "Optimal", "Time limit reached", …
    objective: float | None
    bound: float | None
    gap: float | None  # HiGHS's relative MIP gap (0 when proven)
    seconds: float


@dataclass
class MipResult:
    """What the two solves found, and the classic figures of the month-level optimum."""

    variables: int
    rows: int
    build_seconds: float
    phases: list[MipPhase] = field(default_factory=list)
    seconds: float = 0.0  # build + both solves
    coverage: int | None = None  # the lexicographic coverage value (`coverage_weights`)
    covered_by_priority: dict[int, int] = field(default_factory=dict)  # needs met (risks and visits)
    needs_covered: int | None = None
    travel_km: int | None = None
    early_program: int | None = None
    max_load: int | None = None
    sessions: int | None = None
    attendance: int | None = None
    objective: float | None = None  # phase 2's weighted sum of the classic terms
    proven: bool = False  # both phases optimal
    # The month-level plan found: attendances (school, topic, month), visits (school, topic,
    # consultant, month) and session counts ((topic, consultant, month, municipality), n).
    attend: list[tuple] = field(default_factory=list)
    verify: list[tuple] = field(default_factory=list)
    counts: list[tuple] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("attend", "verify", "counts")}


def coverage_weights(instance: Instance) -> dict[int, int]:
    """One priority-p need outweighs all needs of lower priorities (as the CP-SAT model's)."""
    needs: dict[int, int] = defaultdict(int)
    for s in instance.schools.values():
        needs[s.priority] += len(s.risks) + (1 if s.verified_on is None else 0)
    weights, w = {}, 1
    for p in (3, 2, 1):
        weights[p] = w
        w *= needs[p] + 1
    return weights


class _Matrix:
    """Columns and rows of a MIP, collected row-wise for one `passModel`."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[bool] = []
        self.starts: list[int] = [0]
        self.index: list[int] = []
        self.value: list[float] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []

    def var(self, lower: float, upper: float, integer: bool = True) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(integer)
        return len(self.lower) - 1

    def row(self, terms, lower: float = -math.inf, upper: float = math.inf) -> None:
        """Σ coef × x over `terms` ((column, coef) pairs; a column twice adds up) in [lower, upper]."""
        merged: dict[int, float] = {}
        for col, coef in terms:
            merged[col] = merged.get(col, 0.0) + coef
        for col, coef in merged.items():
            if coef:
                self.index.append(col)
                self.value.append(coef)
        self.starts.append(len(self.index))
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    def fix(self, col: int, value: float) -> None:
        self.lower[col] = self.upper[col] = value


class ClassicMip:
    """The month-level classic problem of one instance (module docstring)."""

    def __init__(self, instance: Instance, linking: bool = True):
        self.inst = instance
        self.linking = linking  # attend ≤ Σ count rows (redundant, for the LP bound)
        self.ix = Index(instance)
        self.mx = _Matrix()
        self.attend: dict[tuple[str, str, Month], int] = {}
        self.verify: dict[tuple[str, str, str, Month], int] = {}
        self.count: dict[tuple[str, str, Month, str | None], int] = {}
        self.covered: dict[tuple[str, str], int] = {}
        # Helper columns and how a plan determines them (`values_of`): running totals
        # (column → the earlier total's column, the new columns), evenings (column →
        # overnight columns, free evenings).
        self.running: dict[int, tuple[int | None, list[int]]] = {}
        self.evenings: dict[int, tuple[list[int], int]] = {}
        self._variables()
        self._rules()

    # --- where variables exist (models.consultation._make_variables) -------------------

    def _mun(self, school: str, topic: str) -> str | None:
        return self.inst.schools[school].municipality if self.ix.is_onsite(self.inst.topics[topic]) else None

    def _variables(self) -> None:
        inst, ix, mx = self.inst, self.ix, self.mx
        for s in inst.schools.values():
            for t_id in ix.useful_topics[s.id]:
                topic = inst.topics[t_id]
                if not ix.fits_day(topic):
                    continue
                for month in ix.attend_months(s, topic):
                    self.attend[s.id, t_id, month] = mx.var(0, 1)
            if ix.needs_verification(s):
                for topic in inst.verification_topics:
                    if not ix.fits_day(topic):
                        continue
                    for c in ix.verifiers(s, topic):
                        for month in ix.topic_months[topic.id]:
                            if ix.free_days[c].get(month):
                                self.verify[s.id, topic.id, c, month] = mx.var(0, 1)
        demand: dict[tuple[str, Month, str | None], int] = defaultdict(int)
        for (s, t, month) in self.attend:
            demand[t, month, self._mun(s, t)] += 1
        for (t, month, mun), n in demand.items():
            for c in ix.available_deliverers(t, month):
                self._new_count(t, c, month, mun, n)
        vdemand: dict[tuple[str, str, Month, str], int] = defaultdict(int)
        for (s, t, c, month) in self.verify:
            vdemand[t, c, month, inst.schools[s].municipality] += 1
        for (t, c, month, mun), n in vdemand.items():
            self._new_count(t, c, month, mun, n)

    def _new_count(self, t: str, c: str, month: Month, mun: str | None, n_schools: int) -> None:
        ix, consultant, topic = self.ix, self.inst.consultants[c], self.inst.topics[t]
        days = ix.free_days[c][month]
        ub = min(consultant.max_per_month, len(days), math.ceil(n_schools / topic.capacity))
        if mun is not None and ix.is_onsite(topic):
            ub = min(ub, ix.onsite_room(c, days))
        if consultant.max_total is not None:
            ub = min(ub, consultant.max_total)
        if ub > 0:
            self.count[t, c, month, mun] = self.mx.var(0, ub)

    # --- the rules (models.consultation.add_constraints, plain solve) ------------------

    def _onsite(self, t: str, mun: str | None) -> bool:
        return mun is not None and self.ix.is_onsite(self.inst.topics[t])

    def session_minutes(self, t: str, mun: str | None) -> int:
        ix = self.ix
        if self._onsite(t, mun):
            return ix.day_minutes + ix.break_min
        return self.inst.topics[t].duration_min + ix.break_min

    def travel_km(self, t: str, c: str, mun: str | None) -> int:
        return self.inst.round_trip_km(c, mun) if self._onsite(t, mun) else 0

    def _rules(self) -> None:
        inst, ix, mx = self.inst, self.ix, self.mx
        is_verification = {t: topic.stage == Stage.VERIFICATION for t, topic in inst.topics.items()}

        # Session capacity.
        groups: dict[tuple[str, Month, str | None], list[int]] = defaultdict(list)
        for (s, t, month), col in self.attend.items():
            groups[t, month, self._mun(s, t)].append(col)
        counts: dict[tuple[str, Month, str | None], list[int]] = defaultdict(list)
        for (t, _c, month, mun), col in self.count.items():
            if not is_verification[t]:
                counts[t, month, mun].append(col)
        for key, cols in groups.items():
            cap = inst.topics[key[0]].capacity
            total = counts.get(key, [])
            mx.row([(x, 1) for x in cols] + [(n, -cap) for n in total], upper=0)
            if self.linking and cap > 1 and len(cols) > 1:
                for x in cols:
                    mx.row([(x, 1)] + [(n, -1) for n in total], upper=0)
        vgroups: dict[tuple[str, str, Month, str], list[int]] = defaultdict(list)
        for (s, t, c, month), col in self.verify.items():
            vgroups[t, c, month, inst.schools[s].municipality].append(col)
        for (t, c, month, mun), cols in vgroups.items():
            n = self.count.get((t, c, month, mun))
            cap = inst.topics[t].capacity
            tail = [(n, -cap)] if n is not None else []
            # A capacity-1 visit is its session (a surplus session only costs: lossless).
            mx.row([(x, 1) for x in cols] + tail, lower=0 if cap == 1 and n is not None else -math.inf, upper=0)

        # A consultant's month: sessions, minutes of the free days (with the evenings before
        # overnight visits), onsite visits; and the year's total.
        per_cm: dict[tuple[str, Month], list[tuple[str, str | None, int]]] = defaultdict(list)
        per_c: dict[str, list[int]] = defaultdict(list)
        for (t, c, month, mun), col in self.count.items():
            per_cm[c, month].append((t, mun, col))
            per_c[c].append(col)
        full_day = ix.day_minutes + ix.break_min
        for (c, month), items in per_cm.items():
            consultant = inst.consultants[c]
            mx.row([(col, 1) for _t, _m, col in items], upper=consultant.max_per_month)
            days = ix.free_days[c].get(month, ())
            used = [(col, self.session_minutes(t, mun)) for t, mun, col in items]
            overnight = [col for t, mun, col in items if ix.overnight(t, c, mun)]
            if overnight:
                extra = mx.var(0, len(days))
                cheap = ix.evening_free_days(c, days)
                mx.row([(extra, 1)] + [(col, -1) for col in overnight], lower=-cheap)
                self.evenings[extra] = (overnight, cheap)
                used.append((extra, full_day))
            mx.row(used, upper=len(days) * full_day)
            onsite = [col for t, mun, col in items if self._onsite(t, mun)]
            room = ix.onsite_room(c, days)
            if onsite and (len(onsite) > 1 or room < 1):
                mx.row([(col, 1) for col in onsite], upper=room)
        for c, cols in per_c.items():
            total = inst.consultants[c].max_total
            if total is not None:
                mx.row([(col, 1) for col in cols], upper=total)

        # A school's month; a topic once; one verification visit.
        per_sm: dict[tuple[str, Month], list[int]] = defaultdict(list)
        per_st: dict[tuple[str, str], list[int]] = defaultdict(list)
        for (s, t, month), col in self.attend.items():
            per_sm[s, month].append(col)
            per_st[s, t].append(col)
        visits_of: dict[str, list[tuple[int, str, int]]] = defaultdict(list)  # (month pos, topic, col)
        for (s, t, _c, month), col in self.verify.items():
            per_sm[s, month].append(col)
            per_st[s, "verification"].append(col)
            visits_of[s].append((ix.month_pos[month], t, col))
        limit = inst.settings.rules.school_max_sessions_per_month
        for (_s, month), cols in per_sm.items():
            cap = min(limit, len(ix.school_days.get(month, ())))
            if len(cols) > cap:
                mx.row([(col, 1) for col in cols], upper=cap)
        for cols in per_st.values():
            if len(cols) > 1:
                mx.row([(col, 1) for col in cols], upper=1)

        # Prerequisites strictly earlier; the verification visit first: attend[s,t,m] ≤ the
        # school's attendances of the prerequisite (visits) in months before m. That sum is a
        # column of its own, a running total over the months (`_before`), so that each such
        # row has two entries instead of one per earlier visit or attendance: the same rule,
        # with ~1/10 of the matrix on 300 schools.
        months_of: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        for (s, t, month), col in self.attend.items():
            months_of[s, t].append((ix.month_pos[month], col))
        any_visit: dict[str, list[tuple[int, int]]] = defaultdict(list)
        topic_visit: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        for s, items in visits_of.items():
            for (p, t, col) in items:
                any_visit[s].append((p, col))
                topic_visit[s, t].append((p, col))
        chains: dict[tuple, list[int | None]] = {}
        for (s, t, month), col in self.attend.items():
            school, topic, pos = inst.schools[s], inst.topics[t], ix.month_pos[month]
            for req in topic.requires:
                if is_verification[req]:
                    if school.verified_on is not None:
                        continue
                    self._at_most(col, self._before(chains, ("visit", s, req), topic_visit.get((s, req), []), pos))
                else:
                    self._at_most(col, self._before(chains, ("attend", s, req), months_of.get((s, req), []), pos))
            if school.verified_on is None and ix.needs_after_verification(topic):
                self._at_most(col, self._before(chains, ("visit", s), any_visit.get(s, []), pos))

        # Coverage: k × covered[s,r] ≤ Σ attend of the topics addressing r.
        k = inst.settings.rules.min_topics_per_risk
        per_sr: dict[tuple[str, str], list[int]] = defaultdict(list)
        for (s, t, _m), col in self.attend.items():
            for r in inst.topics[t].risks:
                per_sr[s, r].append(col)
        for s in inst.schools.values():
            for r in s.risks:
                cols = per_sr.get((s.id, r), [])
                if len(cols) < k:
                    continue
                cov = self.covered[s.id, r] = mx.var(0, 1)
                mx.row([(cov, k)] + [(col, -1) for col in cols], upper=0)

    def _before(self, chains: dict, key: tuple, items: list[tuple[int, int]], pos: int) -> int | None:
        """The column holding Σ of `items` ((month position, column) pairs) over positions
        < pos, or None when none is earlier. Built once per key: before[p] = before[p-1] +
        Σ items at p-1, one (continuous, implied 0/1) column per position that has any."""
        chain = chains.get(key)
        if chain is None:
            mx, n = self.mx, len(self.ix.months)
            at: dict[int, list[int]] = defaultdict(list)
            for p, col in items:
                at[p].append(col)
            chain = [None] * (n + 1)
            for p in range(1, n + 1):
                prev, new = chain[p - 1], at.get(p - 1, [])
                if not new:
                    chain[p] = prev
                    continue
                col = mx.var(0, 1, integer=False)
                mx.row([(col, 1)] + ([(prev, -1)] if prev is not None else []) + [(x, -1) for x in new],
                       lower=0, upper=0)
                self.running[col] = (prev, new)
                chain[p] = col
            chains[key] = chain
        return chain[pos]

    def _at_most(self, col: int, before: int | None) -> None:
        """attend ≤ before (0 when nothing is earlier)."""
        if before is None:
            self.mx.fix(col, 0)
        else:
            self.mx.row([(col, 1), (before, -1)], upper=0)

    # --- objectives ------------------------------------------------------------------

    def upper_bound(self) -> int:
        """Coverage if every need that has a column were met."""
        w, schools = coverage_weights(self.inst), self.inst.schools
        return (sum(w[schools[s].priority] for (s, _r) in self.covered)
                + sum(w[schools[s].priority] for s in {key[0] for key in self.verify}))

    def start_values(self, groups) -> dict[int, float]:
        """Columns of a month-level plan given as (topic, consultant, month, municipality,
        count, schools) tuples (the first-come greedy's groups): a partial MIP start."""
        out: dict[int, float] = {}
        verification = {t for t, topic in self.inst.topics.items() if topic.stage == Stage.VERIFICATION}
        for (t, c, month, mun, n, schools) in groups:
            col = self.count.get((t, c, month, mun))
            if col is not None:
                out[col] = out.get(col, 0) + n
            for s in schools:
                col = self.verify.get((s, t, c, month)) if t in verification else self.attend.get((s, t, month))
                if col is not None:
                    out[col] = 1
        for col in [*self.attend.values(), *self.verify.values()]:
            out.setdefault(col, 0)
        return out

    def values_of(self, attend, verify, counts: dict) -> dict[int, float]:
        """Every column's value for a month-level plan (attendances, visits, session counts
        by key), helpers included: to check a plan of another model against these rows."""
        mx = self.mx
        values = {i: 0.0 for i in range(len(mx.lower))}
        for key in attend:
            values[self.attend[key]] = 1
        for key in verify:
            values[self.verify[key]] = 1
        for key, n in counts.items():
            values[self.count[key]] = n
        for col in sorted(self.running):  # a total's earlier total has a smaller column
            prev, new = self.running[col]
            values[col] = (values[prev] if prev is not None else 0) + sum(values[x] for x in new)
        for col, (overnight, cheap) in self.evenings.items():
            values[col] = max(0, sum(values[x] for x in overnight) - cheap)
        k = self.inst.settings.rules.min_topics_per_risk
        taken: dict[tuple[str, str], int] = defaultdict(int)
        for (s, t, _m) in attend:
            for r in self.inst.topics[t].risks:
                taken[s, r] += 1
        for (s, r), col in self.covered.items():
            values[col] = 1 if taken[s, r] >= k else 0
        return values

    def violations(self, values: dict[int, float]) -> list[str]:
        """The rows and bounds these column values break (empty: a plan of this MIP)."""
        mx, out = self.mx, []
        for i, (lo, hi) in enumerate(zip(mx.lower, mx.upper)):
            if not lo - 1e-9 <= values[i] <= hi + 1e-9:
                out.append(f"column {i}: {values[i]} outside [{lo}, {hi}]")
        for r, (lo, hi) in enumerate(zip(mx.row_lower, mx.row_upper)):
            a, b = mx.starts[r], mx.starts[r + 1]
            total = sum(values[mx.index[j]] * mx.value[j] for j in range(a, b))
            if not lo - 1e-9 <= total <= hi + 1e-9:
                out.append(f"row {r}: {total} outside [{lo}, {hi}]")
        return out

    def coverage_of(self, values: dict[int, float]) -> int:
        """The coverage value of a month-level plan (column → value): its needs met, weighted."""
        k, w, inst = self.inst.settings.rules.min_topics_per_risk, coverage_weights(self.inst), self.inst
        taken: dict[tuple[str, str], int] = defaultdict(int)
        for (s, t, _m), col in self.attend.items():
            if values.get(col, 0) > 0.5:
                for r in inst.topics[t].risks:
                    taken[s, r] += 1
        total = sum(w[inst.schools[s].priority] for (s, r) in self.covered if taken[s, r] >= k)
        visited = {s for (s, _t, _c, _m), col in self.verify.items() if values.get(col, 0) > 0.5}
        return total + sum(w[inst.schools[s].priority] for s in visited)

    def coverage_costs(self) -> dict[int, float]:
        w = coverage_weights(self.inst)
        cost: dict[int, float] = {}
        for (s, _r), col in self.covered.items():
            cost[col] = w[self.inst.schools[s].priority]
        for (s, _t, _c, _m), col in self.verify.items():
            cost[col] = w[self.inst.schools[s].priority]
        return cost

    def early_pairs(self) -> set[tuple[str, str]]:
        inst = self.inst
        return {(s.id, t) for s in inst.schools.values() if s.priority == 1 for t in self.ix.useful_topics[s.id]
                if inst.topics[t].stage == Stage.PROGRAM and set(inst.topics[t].risks) & set(s.risks)}

    def classic_costs(self, max_load: int) -> dict[int, float]:
        """Phase 2's weighted classic terms as column costs (`max_load` is its own column)."""
        w = self.inst.settings.weights
        cost: dict[int, float] = defaultdict(float)
        for (t, c, _m, mun), col in self.count.items():
            cost[col] += w.travel_km * self.travel_km(t, c, mun) + w.session
        early = self.early_pairs()
        for (s, t, month), col in self.attend.items():
            cost[col] += w.attendance + (w.early_program * self.ix.month_pos[month] if (s, t) in early else 0)
        cost[max_load] += w.max_load
        return cost


def solve_classic(instance: Instance, time_limit: float = 60.0, threads: int | None = None,
                  log: bool = False, linking: bool = True, options: dict | None = None,
                  start: list[tuple] | None = None) -> MipResult:
    """Build the MIP and solve its two phases with HiGHS (module docstring). `time_limit`
    applies to each phase. `start`: a month-level plan as (topic, consultant, month,
    municipality, count, schools) tuples, given to HiGHS as a partial MIP start of phase 1
    (the benchmark gives the first-come greedy, the planner's own start)."""
    import highspy
    import numpy as np

    t0 = time.monotonic()
    mip = ClassicMip(instance, linking)
    mx = mip.mx
    # The largest load: L ≥ Σ_{t,m,mun} count[t,c,m,mun] for every consultant.
    load = mx.var(0, 100_000)
    per_c: dict[str, list[int]] = defaultdict(list)
    for (_t, c, _m, _mun), col in mip.count.items():
        per_c[c].append(col)
    for cols in per_c.values():
        mx.row([(load, 1)] + [(col, -1) for col in cols], lower=0)
    n = len(mx.lower)

    h = highspy.Highs()
    h.setOptionValue("output_flag", log)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 0.0)  # proven optimum (the objectives are integral)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    for name, value in (options or {}).items():
        h.setOptionValue(name, value)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(mx.row_lower)
    cover = mip.coverage_costs()
    lp.col_cost_ = np.array([cover.get(i, 0.0) for i in range(n)], dtype=np.double)
    lp.col_lower_ = np.array(mx.lower, dtype=np.double)
    lp.col_upper_ = np.array(mx.upper, dtype=np.double)
    lp.row_lower_ = np.array(mx.row_lower, dtype=np.double)
    lp.row_upper_ = np.array(mx.row_upper, dtype=np.double)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(mx.starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(mx.index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(mx.value, dtype=np.double)
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in mx.integer]
    lp.sense_ = highspy.ObjSense.kMaximize
    h.passModel(lp)
    result = MipResult(variables=n, rows=len(mx.row_lower), build_seconds=round(time.monotonic() - t0, 2))

    def run(name: str) -> MipPhase:
        t = time.monotonic()
        h.run()
        info = h.getInfo()
        status = h.modelStatusToString(h.getModelStatus())
        found = info.primal_solution_status == 2  # kSolutionStatusFeasible
        phase = MipPhase(name, status, info.objective_function_value if found else None,
                         info.mip_dual_bound if found else None, info.mip_gap if found else None,
                         round(time.monotonic() - t, 2))
        result.phases.append(phase)
        return phase

    upper = mip.upper_bound()
    given = mip.start_values(start) if start is not None else None
    if given is not None and mip.coverage_of(given) >= upper:
        # The start meets every need that has a column: phase 1 is proven without a search
        # (as in the planner, which skips its phase 1 then).
        p1 = MipPhase("coverage", "Optimal", float(upper), float(upper), 0.0, 0.0)
        result.phases.append(p1)
        best1, hint = upper, given
    else:
        if given is not None:
            cols = sorted(given)
            h.setSolution(len(cols), np.array(cols, dtype=np.int32), np.array([given[c] for c in cols]))
        p1 = run("coverage")
        if p1.objective is None:
            result.seconds = round(time.monotonic() - t0, 2)
            return result
        best1 = round(p1.objective)
        values = h.getSolution().col_value
        hint = {i: values[i] for i in range(n)}

    # Phase 2: coverage kept at its optimum, the classic terms minimised from phase 1's plan.
    if best1 >= upper:
        # Every need met: stated need by need (lossless, and it propagates).
        for col in mip.covered.values():
            h.changeColBounds(col, 1.0, 1.0)
        visits: dict[str, list[int]] = defaultdict(list)
        for (s, _t, _c, _m), col in mip.verify.items():
            visits[s].append(col)
        for cols in visits.values():
            h.addRow(1.0, 1.0, len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))
    else:
        cover_cols = sorted(cover)
        h.addRow(float(best1) - 0.5, highspy.kHighsInf, len(cover_cols), np.array(cover_cols, dtype=np.int32),
                 np.array([cover[c] for c in cover_cols], dtype=np.double))
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    costs = mip.classic_costs(load)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array([costs.get(i, 0.0) for i in range(n)],
                                                                dtype=np.double))
    cols = sorted(hint)
    h.setSolution(len(cols), np.array(cols, dtype=np.int32), np.array([hint[c] for c in cols], dtype=np.double))
    p2 = run("classic")
    result.seconds = round(time.monotonic() - t0, 2)
    if p2.objective is None:
        return result
    values = h.getSolution().col_value
    result.objective = p2.objective
    result.proven = p1.status == "Optimal" and p2.status == "Optimal"
    _figures(mip, values, load, result)
    return result


def _figures(mip: ClassicMip, values, load: int, result: MipResult) -> None:
    """The classic figures of a solution, recomputed from its attendance and sessions (as
    `models.score` does for a dated plan)."""
    inst, ix = mip.inst, mip.ix
    on = {key for key, col in mip.attend.items() if values[col] > 0.5}
    visited = {s for (s, _t, _c, _m), col in mip.verify.items() if values[col] > 0.5}
    k = inst.settings.rules.min_topics_per_risk
    taken: dict[str, set[str]] = defaultdict(set)
    for (s, t, _m) in on:
        taken[s].add(t)
    w = coverage_weights(inst)
    by_p: dict[int, int] = defaultdict(int)
    for s in inst.schools.values():
        if s.withdrawn:
            continue
        met = sum(1 for r in s.risks if sum(1 for t in taken[s.id] if r in inst.topics[t].risks) >= k)
        met += 1 if s.id in visited else 0
        by_p[s.priority] += met
    result.covered_by_priority = dict(sorted(by_p.items()))
    result.needs_covered = sum(by_p.values())
    result.coverage = sum(w[p] * n for p, n in by_p.items())
    counts = {key: round(values[col]) for key, col in mip.count.items() if values[col] > 0.5}
    result.attend = sorted(on)
    result.verify = sorted(key for key, col in mip.verify.items() if values[col] > 0.5)
    result.counts = sorted(counts.items(), key=str)
    result.travel_km = sum(n * mip.travel_km(t, c, mun) for (t, c, _m, mun), n in counts.items())
    result.sessions = sum(counts.values())
    per_c: dict[str, int] = defaultdict(int)
    for (_t, c, _m, _mun), n in counts.items():
        per_c[c] += n
    result.max_load = max(per_c.values(), default=0)
    result.attendance = len(on)
    early = mip.early_pairs()
    result.early_program = sum(ix.month_pos[m] for (s, t, m) in on if (s, t) in early)


def solve_isolated(instance: Instance, time_limit: float = 60.0, threads: int | None = None,
                   log: bool = False, linking: bool = True, options: dict | None = None,
                   start: list[tuple] | None = None) -> tuple[MipResult, float]:
    """`solve_classic` in a fresh interpreter; returns its result and that process's peak MB.

    highspy and OR-Tools cannot share a process: both ship a `libhighs.so.1` of their own
    version, and the one loaded first breaks the other's import. Loading an instance
    imports OR-Tools, so the MIP runs in a child (`python -m planner.tools.mip_baseline
    --child`) that gets the loaded instance pickled and imports no OR-Tools."""
    import pickle
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        given, got = Path(tmp) / "in.pickle", Path(tmp) / "out.pickle"
        given.write_bytes(pickle.dumps((instance, time_limit, threads, log, linking, options, start)))
        proc = subprocess.run([sys.executable, "-m", "planner.tools.mip_baseline", "--child", str(given), str(got)],
                              stdin=subprocess.DEVNULL, stdout=None if log else subprocess.DEVNULL)
        if proc.returncode != 0 or not got.exists():
            raise RuntimeError(f"the MIP baseline's process failed (exit {proc.returncode})")
        return pickle.loads(got.read_bytes())


def _child(given: str, got: str) -> None:
    import pickle
    import resource
    from pathlib import Path

    # Through the module's own name: run as `-m`, this file is __main__, and the parent could
    # not unpickle a __main__.MipResult.
    from planner.tools import mip_baseline

    instance, time_limit, threads, log, linking, options, start = pickle.loads(Path(given).read_bytes())
    result = mip_baseline.solve_classic(instance, time_limit, threads, log, linking, options, start)
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    Path(got).write_bytes(pickle.dumps((result, peak)))


def greedy_start(instance: Instance) -> list[tuple]:
    """The first-come greedy's month-level plan as plain tuples (imports OR-Tools: call it
    in the parent process, never in the MIP's)."""
    from models.greedy import greedy_groups

    return [(g.topic, g.consultant, g.month, g.municipality, g.count, tuple(g.schools))
            for g in greedy_groups(instance)]


def _option(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, {"true": True, "false": False}.get(value, value)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2])
        return 0
    from models.problems import InputError
    from planner.inputs.validation import load_instance

    parser = argparse.ArgumentParser(prog="python -m planner.tools.mip_baseline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instance")
    parser.add_argument("--time-limit", type=float, default=60.0, help="per phase, s")
    parser.add_argument("--log", action="store_true", help="HiGHS's own log")
    parser.add_argument("--no-linking", action="store_true", help="without the redundant attend ≤ Σ count rows")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="a HiGHS option")
    parser.add_argument("--greedy-start", action="store_true", help="the first-come greedy's plan as a MIP start")
    args = parser.parse_args(argv)
    try:
        instance, _warnings = load_instance(args.instance)
    except InputError as error:
        print(str(error), file=sys.stderr)
        return 2
    start = greedy_start(instance) if args.greedy_start else None
    result, peak_mb = solve_isolated(instance, args.time_limit, log=args.log, linking=not args.no_linking,
                                     options=dict(_option(o) for o in args.option), start=start)
    print(json.dumps({**result.as_dict(), "peak_mb": peak_mb}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
