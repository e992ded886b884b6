"""The consultation graph as a CP-SAT model, at month level.

Variables (aggregated, as in shared/notes-modelling.md):
- ``attend[s, t, m]``: school s attends topic t in month m (bool);
- ``verify[s, t, c, m]``: school s gets its verification visit on topic t from consultant c
  in month m (bool; c is the school's curator when it has one);
- ``count[t, c, m, mun]``: how many sessions of topic t consultant c holds in month m, in
  municipality mun for an onsite topic (``mun = None`` for online) (int);
- ``covered[s, r]``: risk r of school s is covered (bool).

Hard rules, one method each, called in order from `add_constraints()`. Rules that decide
*where a variable may exist* (a consultant delivers only their topics, a topic only in its
months, nothing in closed months, consultants' unavailable months) are applied when the
variables are created (see `_make_variables`) and checked again on the final plan by
`models.validate`.

Objective, two phases: (1) maximise coverage, priority-1 needs strictly first; (2) with
coverage fixed at its optimum, minimise the weighted sum of the named soft terms.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from ortools.sat.python import cp_model, cp_model_helper

from models.calendar_days import Month, month_first_day, month_of
from models.domain import Instance, Plan, Stage
from models.index import Index
from models.programme import first_visit_month

Key = tuple  # index tuples of the variable dictionaries


@dataclass
class ModelOptions:
    """Variations of the model used by the baselines and by replanning."""

    # Reference evaluation: exact number of sessions per (topic, consultant, month) for
    # non-verification topics; topics absent from the map get no sessions at all.
    fixed_counts: dict[tuple[str, str, Month], int] | None = None
    # Replanning: (topic, consultant, month, municipality) -> sessions already fixed.
    frozen_counts: dict[tuple[str, str, Month, str | None], int] = field(default_factory=dict)
    # Replanning: attendance already fixed (school, topic, month) / verification visits.
    frozen_attend: set[tuple[str, str, Month]] = field(default_factory=set)
    frozen_verify: set[tuple[str, str, str, Month]] = field(default_factory=set)
    # Replanning: months before this one are history (no new sessions).
    first_free_month: Month | None = None
    # Replanning: new sessions only on this day or later (the freeze date; may be mid-month).
    free_from: date | None = None
    # Replanning: baseline counts and attendance, for the "changed" penalty and the hint.
    baseline_counts: dict[tuple[str, str, Month, str | None], int] | None = None
    baseline_attend: set[tuple[str, str, Month]] | None = None
    baseline_verify: set[tuple[str, str, str, Month]] | None = None
    # Replanning, the stable option: no session beyond the baseline's (each count at most the
    # baseline's after the freeze), so nothing is added and no trip is new.
    no_new_sessions: bool = False


@dataclass
class MonthSession:
    """Sessions of one (topic, consultant, month, municipality), with their schools."""

    topic: str
    consultant: str
    month: Month
    municipality: str | None
    count: int
    schools: list[str]


@dataclass
class MonthSolution:
    groups: list[MonthSession]
    attend: set[tuple[str, str, Month]]
    verify: set[tuple[str, str, str, Month]]
    covered: set[tuple[str, str]]


class ConsultationModel:
    """Builds the month-level model. `solve` lives in models.solve."""

    def __init__(self, instance: Instance, options: ModelOptions | None = None):
        self.inst = instance
        self.opt = options or ModelOptions()
        self.ix = Index(instance)
        self.model = cp_model.CpModel()
        self.attend: dict[tuple[str, str, Month], cp_model.IntVar] = {}
        self.verify: dict[tuple[str, str, str, Month], cp_model.IntVar] = {}
        self.count: dict[tuple[str, str, Month, str | None], cp_model.IntVar] = {}
        # Each count's upper bound as created (reading it back from the proto is slow).
        self.count_ub: dict[tuple[str, str, Month, str | None], int] = {}
        self.covered: dict[tuple[str, str], cp_model.IntVar] = {}
        # The objective's helper variables, each with what its best value is made of once the
        # decisions are known (`objective_of`): ("max", sums), ("min1", sum), ("deficit",
        # sum, need).
        self.derived: dict[int, tuple] = {}
        self._flat: tuple | None = None  # the last objective flattened (`objective_of`)
        self._decision_set: set[int] | None = None
        self._make_variables()
        self.add_constraints()

    # --- variables ---------------------------------------------------------------------

    def _month_allowed(self, month: Month) -> bool:
        first = self.opt.first_free_month
        return first is None or month >= first

    def _make_variables(self) -> None:
        """Create only variables that can help (notes: "create attendance only where it can help").

        Encodes: a consultant delivers only their topics; a topic only in its `months`;
        only open months (not blocked, with working days left after holidays and vacations);
        a consultant only in months where they have a free day; prerequisite months.
        """
        inst, ix, m = self.inst, self.ix, self.model
        for s in inst.schools.values():
            for t_id in ix.useful_topics[s.id]:
                topic = inst.topics[t_id]
                if not ix.fits_day(topic):
                    continue
                for month in ix.attend_months(s, topic):
                    frozen = (s.id, t_id, month) in self.opt.frozen_attend
                    if not self._month_allowed(month) and not frozen:
                        continue
                    self.attend[s.id, t_id, month] = m.new_bool_var(f"attend[{s.id},{t_id},{month}]")
            if ix.needs_verification(s):
                for topic in inst.verification_topics:
                    if not ix.fits_day(topic):
                        continue
                    for c in ix.verifiers(s, topic):
                        for month in ix.topic_months[topic.id]:
                            frozen = (s.id, topic.id, c, month) in self.opt.frozen_verify
                            if not ix.free_days[c].get(month):
                                continue
                            if not self._month_allowed(month) and not frozen:
                                continue
                            self.verify[s.id, topic.id, c, month] = m.new_bool_var(
                                f"verify[{s.id},{topic.id},{c},{month}]")
        # Replanning: history is fact. An attendance or visit before the freeze keeps its
        # variable (fixed to 1 in _frozen_history) even when a scenario has since closed its
        # month to the topic or the topic stopped being useful to the school.
        for (s_id, t_id, month) in self.opt.frozen_attend:
            if (s_id, t_id, month) not in self.attend and s_id in inst.schools and t_id in inst.topics:
                self.attend[s_id, t_id, month] = m.new_bool_var(f"attend[{s_id},{t_id},{month}]")
        for (s_id, t_id, c, month) in self.opt.frozen_verify:
            if (s_id, t_id, c, month) not in self.verify and s_id in inst.schools and t_id in inst.topics:
                self.verify[s_id, t_id, c, month] = m.new_bool_var(f"verify[{s_id},{t_id},{c},{month}]")
        # Session counts where some attendance could use them.
        demand: dict[tuple[str, Month, str | None], int] = defaultdict(int)
        for (s, t, month) in self.attend:
            demand[t, month, self._mun(s, t)] += 1
        for (t, month, mun), n_schools in demand.items():
            topic = inst.topics[t]
            for c in ix.available_deliverers(t, month):
                self._new_count(t, c, month, mun, n_schools, topic.capacity)
        vdemand: dict[tuple[str, str, Month, str], int] = defaultdict(int)
        for (s, t, c, month) in self.verify:
            vdemand[t, c, month, inst.schools[s].municipality] += 1
        for (t, c, month, mun), n_schools in vdemand.items():
            self._new_count(t, c, month, mun, n_schools, inst.topics[t].capacity)
        for key, n in self.opt.frozen_counts.items():
            if key not in self.count:
                t, c, month, mun = key
                self.count[key] = m.new_int_var(n, n, f"count[{t},{c},{month},{mun}]")
                self.count_ub[key] = n

    def _days_from_cut(self, c: str, month: Month) -> tuple[date, ...]:
        """The consultant's free open days of the month on which new sessions may go (a
        replan: from the freeze date on)."""
        days = self.ix.free_days[c].get(month, ())
        cut = self.opt.free_from
        return days if cut is None else tuple(d for d in days if d >= cut)

    def _mun(self, school: str, topic: str) -> str | None:
        if self.ix.is_onsite(self.inst.topics[topic]):
            return self.inst.schools[school].municipality
        return None

    def _new_count(self, t: str, c: str, month: Month, mun: str | None, n_schools: int, cap: int) -> None:
        consultant = self.inst.consultants[c]
        frozen = self.opt.frozen_counts.get((t, c, month, mun), 0)
        if not self._month_allowed(month):
            if frozen:
                self.count[t, c, month, mun] = self.model.new_int_var(frozen, frozen, f"count[{t},{c},{month},{mun}]")
                self.count_ub[t, c, month, mun] = frozen
            return
        ub = min(consultant.max_per_month, len(self.ix.free_days[c][month]), math.ceil(n_schools / cap))
        if mun is not None and self.ix.is_onsite(self.inst.topics[t]):
            ub = min(ub, self.ix.onsite_room(c, self._days_from_cut(c, month)) + frozen)
        if consultant.max_total is not None:
            ub = min(ub, consultant.max_total)
        if self.opt.no_new_sessions:
            ub = min(ub, frozen + (self.opt.baseline_counts or {}).get((t, c, month, mun), 0))
        ub = max(ub, frozen)
        if ub <= 0:
            return
        self.count[t, c, month, mun] = self.model.new_int_var(frozen, ub, f"count[{t},{c},{month},{mun}]")
        self.count_ub[t, c, month, mun] = ub

    # --- hard rules --------------------------------------------------------------------

    def add_constraints(self) -> None:
        """Every hard rule of the month level, in one ordered place."""
        self._fixed_sessions()
        self._frozen_history()
        self._session_capacity()
        self._consultant_monthly_capacity()
        self._consultant_onsite_limit()
        self._consultant_total_capacity()
        self._school_monthly_limit()
        self._topic_at_most_once_per_school()
        self._prerequisites_strictly_earlier()
        self._verification_first()
        self._coverage_definition()

    def _fixed_sessions(self) -> None:
        """Reference evaluation: Σ_mun count[t,c,m,mun] = fixed[t,c,m] for non-verification topics."""
        fixed = self.opt.fixed_counts
        if fixed is None:
            return
        by_tcm: dict[tuple[str, str, Month], list] = defaultdict(list)
        for (t, c, month, mun), var in self.count.items():
            if self.inst.topics[t].stage != Stage.VERIFICATION:
                by_tcm[t, c, month].append(var)
        for key, vars_ in by_tcm.items():
            self.model.add(sum(vars_) <= fixed.get(key, 0))

    def _frozen_history(self) -> None:
        """Replanning: attendance and visits before the freeze are fixed to 1."""
        for key in self.opt.frozen_attend:
            if key in self.attend:
                self.model.add(self.attend[key] == 1)
        for key in self.opt.frozen_verify:
            if key in self.verify:
                self.model.add(self.verify[key] == 1)

    def _session_capacity(self) -> None:
        """Σ_{s in group} attend[s,t,m] ≤ capacity_t × Σ_c count[t,c,m,mun]; onsite groups are one municipality.

        Verification visits: Σ_{s in mun} verify[s,t,c,m] ≤ capacity_t × count[t,c,m,mun].
        """
        inst = self.inst
        groups: dict[tuple[str, Month, str | None], list] = defaultdict(list)
        new_in: dict[tuple[str, Month, str | None], list] = defaultdict(list)  # not frozen history
        for (s, t, month), var in self.attend.items():
            groups[t, month, self._mun(s, t)].append(var)
            if (s, t, month) not in self.opt.frozen_attend:
                new_in[t, month, self._mun(s, t)].append(var)
        counts: dict[tuple[str, Month, str | None], list] = defaultdict(list)
        for (t, c, month, mun), var in self.count.items():
            if inst.topics[t].stage != Stage.VERIFICATION:
                counts[t, month, mun].append(var)
        frozen_n: dict[tuple[str, Month, str | None], int] = defaultdict(int)
        for (t, c, month, mun), n in self.opt.frozen_counts.items():
            if inst.topics[t].stage != Stage.VERIFICATION:
                frozen_n[t, month, mun] += n
        for key, vars_ in groups.items():
            cap = inst.topics[key[0]].capacity
            total = sum(counts.get(key, []))
            if frozen_n.get(key):
                # Replanning: history sessions are full as they were (even above a capacity a
                # scenario has lowered since); new schools need new sessions.
                self.model.add(sum(new_in.get(key, [])) <= cap * (total - frozen_n[key]))
            else:
                self.model.add(sum(vars_) <= cap * total)
            if cap > 1 and len(vars_) > 1:
                # Redundant, for a tight LP bound: any one school attending needs a session.
                for var in vars_:
                    self.model.add(var <= total)
        vgroups: dict[tuple[str, str, Month, str], list] = defaultdict(list)
        for (s, t, c, month), var in self.verify.items():
            if (s, t, c, month) not in self.opt.frozen_verify:  # history visits are fact
                vgroups[t, c, month, inst.schools[s].municipality].append(var)
        for (t, c, month, mun), vars_ in vgroups.items():
            count = self.count.get((t, c, month, mun))
            cap = inst.topics[t].capacity
            frozen = self.opt.frozen_counts.get((t, c, month, mun), 0)
            self.model.add(sum(vars_) <= (cap * (count - frozen) if count is not None else 0))

    def _consultant_monthly_capacity(self) -> None:
        """Σ count[·,c,m,·] ≤ max_per_month(c); and the sessions fit the consultant's free days:

        Σ_onsite count × (L + b) + Σ_online count × (dur + b) + E × (L + b) ≤ free_days(c,m) × (L + b),
        E ≥ Σ_overnight count − F(c,m), E ≥ 0,
        where L is the working day in minutes, b the break, an overnight visit is one whose
        travel-time rule makes the consultant travel the evening before, and F(c,m) counts
        the free days whose day before is not an open day of the consultant (a Monday, the
        day after a holiday): there the evening costs nothing, elsewhere it costs a day.
        """
        ix, inst = self.ix, self.inst
        per_cm: dict[tuple[str, Month], list] = defaultdict(list)
        minutes: dict[tuple[str, Month], list] = defaultdict(list)
        full_day = ix.day_minutes + ix.break_min
        overnight: dict[tuple[str, Month], list] = defaultdict(list)
        for (t, c, month, mun), var in self.count.items():
            per_cm[c, month].append(var)
            minutes[c, month].append(self.session_minutes(t, c, mun) * var)
            if ix.overnight(t, c, mun):
                overnight[c, month].append(var)
        # Replanning from a mid-month freeze date: only days from it on are free for new
        # sessions; the frozen history of that month brings its own minutes along.
        frozen_n: dict[tuple[str, Month], int] = defaultdict(int)
        frozen_minutes: dict[tuple[str, Month], int] = defaultdict(int)
        frozen_overnight: dict[tuple[str, Month], int] = defaultdict(int)
        cut = self.opt.free_from
        for (t, c, month, mun), n in self.opt.frozen_counts.items():
            frozen_n[c, month] += n
            frozen_minutes[c, month] += n * self.session_minutes(t, c, mun)
            if ix.overnight(t, c, mun):
                frozen_overnight[c, month] += n
        for (c, month), vars_ in per_cm.items():
            # History is fact: a limit lowered below it only stops new sessions.
            self.model.add(sum(vars_) <= max(inst.consultants[c].max_per_month, frozen_n[c, month]))
            days = ix.free_days[c].get(month, ())
            if cut is not None:
                days = tuple(d for d in days if d >= cut)
            room = len(days) * full_day
            cheap = ix.evening_free_days(c, days)
            if cut is not None and month <= month_of(cut):
                room += frozen_minutes[c, month]
                cheap += frozen_overnight[c, month]  # held: their evenings are history too
            used = sum(minutes[c, month])
            if overnight.get((c, month)):
                # Overnight visits beyond the days whose evening before is free anyway each
                # cost one more open day (the evening before).
                extra = self.model.new_int_var(0, len(days) + frozen_overnight[c, month],
                                               f"evenings[{c},{month}]")
                self.model.add(extra >= sum(overnight[c, month]) - cheap)
                used += full_day * extra
            self.model.add(used <= room)

    def _consultant_onsite_limit(self) -> None:
        """Σ_onsite count[·,c,m,mun] ≤ frozen(c,m) + room(c,m): a consultant's onsite visits in
        a month are at most `max_onsite_per_month` (theirs, else the setting) and fit their
        free days with a rest day between two visits (`Index.onsite_room`); a replan's history
        visits of the month count as they were."""
        ix = self.ix
        onsite: dict[tuple[str, Month], list] = defaultdict(list)
        for (t, c, month, mun), var in self.count.items():
            if mun is not None and ix.is_onsite(self.inst.topics[t]):
                onsite[c, month].append(var)
        frozen: dict[tuple[str, Month], int] = defaultdict(int)
        for (t, c, month, mun), n in self.opt.frozen_counts.items():
            if mun is not None and ix.is_onsite(self.inst.topics[t]):
                frozen[c, month] += n
        for (c, month), vars_ in onsite.items():
            if not self._month_allowed(month):
                continue
            room = ix.onsite_room(c, self._days_from_cut(c, month))
            cap = ix.onsite_cap(c)
            if cap is not None:
                room = min(room, max(0, cap - frozen[c, month]))
            if len(vars_) > 1 or room < frozen[c, month] + 1:
                self.model.add(sum(vars_) <= frozen[c, month] + room)

    def session_minutes(self, t: str, c: str, mun: str | None) -> int:
        """Minutes of the consultant's month one session takes on its own day (an onsite visit
        takes the whole day; the evening before of an overnight visit is counted apart, see
        _consultant_monthly_capacity)."""
        ix, topic = self.ix, self.inst.topics[t]
        if mun is not None and ix.is_onsite(topic):
            return ix.day_minutes + ix.break_min
        return topic.duration_min + ix.break_min

    def _consultant_total_capacity(self) -> None:
        """Σ count[·,c,·,·] ≤ max_total(c) when set."""
        per_c: dict[str, list] = defaultdict(list)
        for (t, c, month, mun), var in self.count.items():
            per_c[c].append(var)
        frozen_n: dict[str, int] = defaultdict(int)
        for (t, c, month, mun), n in self.opt.frozen_counts.items():
            frozen_n[c] += n
        for c, vars_ in per_c.items():
            total = self.inst.consultants[c].max_total
            if total is not None:
                # History is fact: a limit lowered below it only stops new sessions.
                self.model.add(sum(vars_) <= max(total, frozen_n[c]))

    def _school_monthly_limit(self) -> None:
        """Σ_t attend[s,t,m] + Σ verify[s,·,·,m] ≤ min(school_max_sessions_per_month, open days in m)."""
        per_sm: dict[tuple[str, Month], list] = defaultdict(list)
        for (s, t, month), var in self.attend.items():
            per_sm[s, month].append(var)
        for (s, t, c, month), var in self.verify.items():
            per_sm[s, month].append(var)
        limit = self.inst.settings.rules.school_max_sessions_per_month
        for (s, month), vars_ in per_sm.items():
            days = len(self.ix.school_days.get(month, ()))
            if len(vars_) > min(limit, days):
                self.model.add(sum(vars_) <= min(limit, days))

    def _topic_at_most_once_per_school(self) -> None:
        """Σ_m attend[s,t,m] ≤ 1; a school gets at most one verification visit."""
        per_st: dict[tuple[str, str], list] = defaultdict(list)
        for (s, t, month), var in self.attend.items():
            per_st[s, t].append(var)
        for (s, t, c, month), var in self.verify.items():
            per_st[s, "verification"].append(var)
        for vars_ in per_st.values():
            if len(vars_) > 1:
                self.model.add_at_most_one(vars_)

    def _verif_before(self, school: str, month: Month, topic: str | None = None) -> list:
        return [v for (s, t, c, m2), v in self.verify.items()
                if s == school and m2 < month and (topic is None or t == topic)]

    def _prerequisites_strictly_earlier(self) -> None:
        """attend[s,t,m] ≤ Σ_{m' < m} attend[s,req,m'] for each req of t (verification: verify or verified_on)."""
        inst = self.inst
        by_st: dict[tuple[str, str], list[tuple[Month, cp_model.IntVar]]] = defaultdict(list)
        for (s, t, month), var in self.attend.items():
            by_st[s, t].append((month, var))
        vby_s: dict[str, list[tuple[Month, str, cp_model.IntVar]]] = defaultdict(list)
        for (s, t, c, month), var in self.verify.items():
            vby_s[s].append((month, t, var))
        for (s, t, month), var in self.attend.items():
            school = inst.schools[s]
            for req in inst.topics[t].requires:
                if inst.topics[req].stage == Stage.VERIFICATION:
                    if school.verified_on is not None:
                        continue  # attend_months() already keeps t after verified_on
                    earlier = [v for (m2, t2, v) in vby_s[s] if m2 < month and t2 == req]
                else:
                    earlier = [v for (m2, v) in by_st[s, req] if m2 < month]
                if not earlier:
                    self.model.add(var == 0)
                else:
                    self.model.add(var <= sum(earlier))

    def _verification_first(self) -> None:
        """Unverified school: attend[s,t,m] ≤ Σ_{m' < m} verify[s,·,·,m'] for t after verification.

        With `verification_first` (default) this is every non-verification topic, else
        `program` topics only.
        """
        inst, ix = self.inst, self.ix
        vby_s: dict[str, list[tuple[Month, cp_model.IntVar]]] = defaultdict(list)
        for (s, t, c, month), var in self.verify.items():
            vby_s[s].append((month, var))
        for (s, t, month), var in self.attend.items():
            if inst.schools[s].verified_on is not None or not ix.needs_after_verification(inst.topics[t]):
                continue
            earlier = [v for (m2, v) in vby_s[s] if m2 < month]
            if not earlier:
                self.model.add(var == 0)
            else:
                self.model.add(var <= sum(earlier))

    def _coverage_definition(self) -> None:
        """min_topics_per_risk × covered[s,r] ≤ Σ_{t addresses r} Σ_m attend[s,t,m]."""
        inst = self.inst
        k = inst.settings.rules.min_topics_per_risk
        per_sr: dict[tuple[str, str], list] = defaultdict(list)
        for (s, t, month), var in self.attend.items():
            for r in inst.topics[t].risks:
                per_sr[s, r].append(var)
        for s in inst.schools.values():
            for r in s.risks:
                vars_ = per_sr.get((s.id, r), [])
                if len(vars_) < k:
                    continue  # cannot be covered: reported as unmet with its reason
                cov = self.model.new_bool_var(f"covered[{s.id},{r}]")
                self.covered[s.id, r] = cov
                self.model.add(k * cov <= sum(vars_))

    # --- objective terms ---------------------------------------------------------------

    def verification_done(self, school: str) -> list:
        return [v for (s, t, c, m), v in self.verify.items() if s == school]

    def coverage_weights(self) -> dict[int, int]:
        """Lexicographic weights: one priority-p need outweighs all needs of lower priorities."""
        needs = defaultdict(int)
        for s in self.inst.schools.values():
            needs[s.priority] += len(s.risks) + (1 if s.verified_on is None else 0)
        weights: dict[int, int] = {}
        w = 1
        for p in (3, 2, 1):
            weights[p] = w
            w = w * (needs[p] + 1)
        return weights

    def values_from_plan(self, plan: Plan) -> tuple[dict[int, int], int]:
        """Month-level values of a dated plan (variable index -> value) and its coverage value."""
        return self.values_from_groups(
            MonthSession(s.topic, s.consultant, month_of(s.start.date()), s.municipality, 1, list(s.schools))
            for s in plan.sessions
        )

    def values_from_groups(self, groups) -> tuple[dict[int, int], int]:
        """Month-level values of session groups (variable index -> value) and their coverage value.

        Used to hint the solver with another plan: the greedy baseline, or the baseline of
        a replan. Parts of the plan the model has no variable for are left out.
        """
        inst, k = self.inst, self.inst.settings.rules.min_topics_per_risk
        values: dict[int, int] = {v.index: 0 for v in
                                  [*self.attend.values(), *self.verify.values(), *self.covered.values()]}
        counts: dict[tuple, int] = defaultdict(int)
        attended: dict[str, set[str]] = defaultdict(set)
        for sess in groups:
            month = sess.month
            topic = inst.topics.get(sess.topic)
            if topic is None:
                continue
            counts[sess.topic, sess.consultant, month, sess.municipality] += sess.count
            for school in sess.schools:
                attended[school].add(sess.topic)
                var = (self.verify.get((school, sess.topic, sess.consultant, month))
                       if topic.stage == Stage.VERIFICATION else self.attend.get((school, sess.topic, month)))
                if var is not None:
                    values[var.index] = 1
        for key, var in self.count.items():
            values[var.index] = min(counts.get(key, 0), self.count_ub[key])
        w = self.coverage_weights()
        coverage = 0
        for (s, r), var in self.covered.items():
            if sum(1 for t in attended.get(s, ()) if r in inst.topics[t].risks) >= k:
                values[var.index] = 1
                coverage += w[inst.schools[s].priority]
        for (s, t, c, m), var in self.verify.items():
            if values[var.index]:
                coverage += w[inst.schools[s].priority]
        return values, coverage

    def coverage_upper_bound(self) -> int:
        """Coverage if every need with a variable were met (no plan can do better)."""
        w = self.coverage_weights()
        ub = sum(w[self.inst.schools[s].priority] for (s, _r) in self.covered)
        ub += sum(w[self.inst.schools[s].priority] for s in {k[0] for k in self.verify})
        return ub

    def coverage_expr(self) -> cp_model.LinearExpr:
        w = self.coverage_weights()
        terms = []
        by_school = defaultdict(list)
        for (s, t, c, m), v in self.verify.items():
            by_school[s].append(v)
        for (s, r), var in self.covered.items():
            terms.append(w[self.inst.schools[s].priority] * var)
        for s, vars_ in by_school.items():
            terms.extend(w[self.inst.schools[s].priority] * v for v in vars_)
        return sum(terms)

    def soft_terms(self) -> dict[str, tuple[cp_model.LinearExpr, int]]:
        """Named soft terms of phase 2: name -> (expression, weight). A gain has a negative
        weight. Call once: it creates variables.

        The classic terms (travel, early programme, the largest load, sessions, attendances)
        always; the programme's when their settings are on (`_programme_terms`)."""
        inst, ix = self.inst, self.ix
        weights = inst.settings.weights
        travel = sum(km * var for (t, c, month, mun), var in self.count.items()
                     if (km := self.travel_km(t, c, mun)))
        # early = month index (0 = first open month) of each programme topic attended by a
        # priority-1 school; topics not attended add nothing (coverage, fixed in phase 2,
        # decides those)
        early_pairs = self.early_pairs()
        delay_terms = [ix.month_pos[m] * v for (s, t, m), v in self.attend.items() if (s, t) in early_pairs]
        early = sum(delay_terms)
        per_c: dict[str, list] = defaultdict(list)
        for (t, c, month, mun), var in self.count.items():
            per_c[c].append(var)
        self.max_load = self.model.new_int_var(0, 100_000, "max_load")
        for vars_ in per_c.values():
            self.model.add(self.max_load >= sum(vars_))
        self.derived[self.max_load.index] = ("max", list(per_c.values()))
        sessions = sum(self.count.values())
        attendance = sum(self.attend.values())
        terms = {
            "travel_km": (travel, weights.travel_km),
            "early_program": (early, weights.early_program),
            "max_load": (self.max_load, weights.max_load),
            "sessions": (sessions, weights.session),
            "attendance": (attendance, weights.attendance),
        }
        terms.update(self._programme_terms())
        return terms

    # --- the programme (issue: a plan the working group would approve) -----------------

    def _programme_terms(self) -> dict[str, tuple[cp_model.LinearExpr, int]]:
        """The programme's soft terms, each only when its setting is on:

        - relevant_attendance (a gain): Σ attend[s,t,m] over topics addressing a risk of s;
          with it, onsite_visits: Σ onsite count (a visit takes the consultant's whole day,
          weighed against the gain of the schools in it) and online_sessions: Σ online count
          (a webinar for one school does not pay);
        - unheld_topics (`hold_every_topic`): Σ_t (1 − held[t]) over usable topics that have
          a variable, held[t] ≤ Σ attend[·,t,·] (Σ verify[·,t,·,·] for verification);
        - gap_months (`max_gap_months` = g > 0): Σ gap[s,i] with, for each window of g+1
          consecutive open months i..i+g after the school's verification month,
          Σ_{m in window} sessions(s,m) + gap[s,i] ≥ verified_before(s,i);
        - month_peak (g > 0): peak ≥ Σ non-verification sessions of each open month;
        - late_verification (g > 0, `verification_months` = k > 0): Σ verify[s,·,·,m] ×
          max(0, pos(m) − (first month the school could be visited) − k + 1).
        """
        inst, ix = self.inst, self.ix
        rules, w = inst.settings.rules, inst.settings.weights
        out: dict[str, tuple[cp_model.LinearExpr, int]] = {}
        if w.relevant_attendance:
            out["relevant_attendance"] = (sum(v for (s, t, _m), v in self.attend.items() if ix.relevant(s, t)),
                                          -w.relevant_attendance)
            out["onsite_visits"] = (sum(v for (t, c, m, mun), v in self.count.items()
                                        if mun is not None and ix.is_onsite(inst.topics[t])), w.onsite_visit)
            out["online_sessions"] = (sum(v for (t, c, m, mun), v in self.count.items()
                                          if not ix.is_onsite(inst.topics[t])), w.online_session)
        if rules.hold_every_topic:
            self.held = self._held_topics()
            never = sum(1 for t in ix.usable_topics if t not in self.held)  # cannot be held at all
            out["unheld_topics"] = (sum(1 - v for v in self.held.values()) + never, w.unheld_topic)
        g = rules.max_gap_months
        if g > 0:
            self.gap_slack = self._support_gaps(g)
            out["gap_months"] = (sum(self.gap_slack.values()), w.gap_month)
            self.peak = self.model.new_int_var(0, 100_000, "month_peak")
            monthly = list(self.thematic_counts_by_month().values())
            for vars_ in monthly:
                self.model.add(self.peak >= sum(vars_))
            self.derived[self.peak.index] = ("max", monthly)
            out["month_peak"] = (self.peak, w.month_peak)
            if rules.verification_months > 0:
                out["late_verification"] = (self._late_verification(rules.verification_months), w.late_verification)
        return out

    def objective_of(self, objective, values: dict[int, int]) -> float | None:
        """The value of `objective` (phase 2's, built from `soft_terms`) for the month-level
        decisions `values` (variable index → value, 0 where absent), its helpers at their
        best (`derived`): what `models.solve._complete` finds with CP-SAT, without loading
        the model (on 1 000 schools 10 s a plan). Feasibility is not checked. None when the
        objective has a variable that is neither a decision nor a known helper (a replan's
        change terms)."""
        if self._flat is None or self._flat[0] is not objective:
            flat = cp_model_helper.FlatIntExpr(objective)
            self._flat = (objective, flat.offset, [(v.index, c) for v, c in zip(flat.vars, flat.coeffs)])
        _expr, offset, terms = self._flat
        decisions = self._decisions()

        def val(expr) -> int:
            if isinstance(expr, int):
                return expr
            if isinstance(expr, list):
                return sum(values.get(v.index, 0) for v in expr)
            flat = cp_model_helper.FlatIntExpr(expr)
            return flat.offset + sum(c * values.get(v.index, 0) for v, c in zip(flat.vars, flat.coeffs))

        total = float(offset)
        for i, coeff in terms:
            if i in decisions:
                total += coeff * values.get(i, 0)
                continue
            rule = self.derived.get(i)
            if rule is None:
                return None
            if rule[0] == "max":
                best = max((val(vars_) for vars_ in rule[1]), default=0)
            elif rule[0] == "min1":
                best = min(1, val(rule[1]))
            else:  # deficit: Σ inside + gap ≥ need
                best = max(0, val(rule[2]) - val(rule[1]))
            total += coeff * max(best, 0)
        return total

    def _decisions(self) -> set[int]:
        if self._decision_set is None:
            self._decision_set = {v.index for group in (self.attend, self.verify, self.count, self.covered)
                                  for v in group.values()}
        return self._decision_set

    def thematic_counts_by_month(self) -> dict[Month, list[cp_model.IntVar]]:
        """Each month's session counts other than verification (the month peak's sums)."""
        per_month: dict[Month, list[cp_model.IntVar]] = defaultdict(list)
        for (t, _c, month, _mun), var in self.count.items():
            if self.inst.topics[t].stage != Stage.VERIFICATION:
                per_month[month].append(var)
        return per_month

    def _held_topics(self) -> dict[str, cp_model.IntVar]:
        """held[t] ≤ Σ attendances of t (visits, for a verification topic), for every usable
        topic that has any; a usable topic without one cannot be held (reported with its
        reason, `models.programme`)."""
        by_topic: dict[str, list] = defaultdict(list)
        for (s, t, m), v in self.attend.items():
            by_topic[t].append(v)
        for (s, t, c, m), v in self.verify.items():
            by_topic[t].append(v)
        held = {}
        for t in self.ix.usable_topics:
            if by_topic.get(t):
                held[t] = self.model.new_bool_var(f"held[{t}]")
                self.model.add(held[t] <= sum(by_topic[t]))
                self.derived[held[t].index] = ("min1", by_topic[t])
        return held

    def verified_before(self) -> dict[str, list[tuple[int, object]]]:
        """School -> for each open month position i, whether the school is verified in a month
        before i: 1 (a constant) for a school verified before the horizon or before month i,
        else the sum of its visits in earlier months (0 or 1). Withdrawn schools are left out."""
        ix = self.ix
        visits: dict[str, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
        for (s, t, c, m), v in self.verify.items():
            visits[s].append((ix.month_pos[m], v))
        out: dict[str, list[tuple[int, object]]] = {}
        for sch in self.inst.schools.values():
            if sch.withdrawn:
                continue
            row = []
            for i, month in enumerate(ix.months):
                if sch.verified_on is not None:
                    row.append((i, 1 if month_first_day(month) > sch.verified_on else 0))
                else:
                    earlier = [v for (pos, v) in visits.get(sch.id, []) if pos < i]
                    row.append((i, sum(earlier) if earlier else 0))
            out[sch.id] = row
        return out

    def _support_gaps(self, g: int) -> dict[tuple[str, int], cp_model.IntVar]:
        """gap[s,i] for each window i..i+g of open months: see `_programme_terms`."""
        ix = self.ix
        months = ix.months
        per_sm: dict[tuple[str, int], list] = defaultdict(list)
        for (s, t, m), v in self.attend.items():
            per_sm[s, ix.month_pos[m]].append(v)
        for (s, t, c, m), v in self.verify.items():
            per_sm[s, ix.month_pos[m]].append(v)
        slack: dict[tuple[str, int], cp_model.IntVar] = {}
        for school, before in self.verified_before().items():
            for i in range(len(months) - g):
                need = before[i][1]
                if isinstance(need, int) and need == 0:
                    continue
                inside = [v for j in range(i, i + g + 1) for v in per_sm.get((school, j), [])]
                gap = self.model.new_bool_var(f"gap[{school},{months[i]}]")
                slack[school, i] = gap
                self.model.add(sum(inside) + gap >= need)
                self.derived[gap.index] = ("deficit", inside, need)
        return slack

    def _late_verification(self, k: int) -> cp_model.LinearExpr:
        """Months each verification visit comes after the school's k-th possible month
        (`verification_lateness`)."""
        return sum(late * self.verify[key] for key, late in self.verification_lateness(k).items())

    def verification_lateness(self, k: int) -> dict[tuple[str, str, str, Month], int]:
        """Verify key -> months that visit would come after the school's k-th possible month
        (`models.programme.first_visit_month`), for the visits that would be late (history
        visits are not counted)."""
        ix = self.ix
        first: dict[str, int] = {}
        for s in {key[0] for key in self.verify}:
            month = first_visit_month(ix, s, self.opt.free_from)
            if month is not None:
                first[s] = ix.month_pos[month]
        return {(s, t, c, m): late for (s, t, c, m) in self.verify
                if s in first and (s, t, c, m) not in self.opt.frozen_verify
                and (late := ix.month_pos[m] - first[s] - k + 1) > 0}

    def travel_km(self, t: str, c: str, mun: str | None) -> int:
        """Round-trip km one session costs (onsite only)."""
        if mun is None or not self.ix.is_onsite(self.inst.topics[t]):
            return 0
        return self.inst.round_trip_km(c, mun)

    def early_pairs(self) -> set[tuple[str, str]]:
        """(school, topic) pairs the early_program term counts: programme topics for a
        risk of a priority-1 school."""
        inst = self.inst
        return {
            (s.id, t) for s in inst.schools.values() if s.priority == 1
            for t in self.ix.useful_topics[s.id]
            if inst.topics[t].stage == Stage.PROGRAM and set(inst.topics[t].risks) & set(s.risks)
        }

    def change_terms(self) -> dict[str, tuple[cp_model.LinearExpr, int]]:
        """Replanning: sessions and school attendances that differ from the baseline.
        Call once: it creates variables."""
        opt = self.opt
        if opt.baseline_counts is None:
            return {}
        weights = self.inst.settings.weights
        m = self.model
        changed_sessions = []
        keys = set(opt.baseline_counts) | set(self.count)
        for key in sorted(keys, key=str):
            # A count holds the frozen history of its month too (a mid-month freeze): compare
            # like with like, else keeping a later session would look like a change.
            base = opt.baseline_counts.get(key, 0) + opt.frozen_counts.get(key, 0)
            var = self.count.get(key)
            if var is None:
                if base:
                    changed_sessions.append(base)
                continue
            diff = m.new_int_var(0, 10_000, f"diff[{key}]")
            m.add(diff >= var - base)
            m.add(diff >= base - var)
            changed_sessions.append(diff)
        changed_schools = []
        base_att = opt.baseline_attend or set()
        # A baseline session whose schools change is changed too (its event is updated for
        # the consultant and every school in it): one per (topic, month, place) of the
        # baseline whose schools differ — `expand_groups_keeping` then puts a joining school
        # into a new session of the group if there is one, else into one kept session.
        base_groups = {(t, m, self._mun(s, t)) for (s, t, m) in base_att if s in self.inst.schools}
        lost = {(t, m, self._mun(s, t)) for (s, t, m) in base_att
                if s in self.inst.schools and (s, t, m) not in self.attend}
        differs: dict[tuple, list] = defaultdict(list)
        for key, var in self.attend.items():
            if key in opt.frozen_attend:  # history: fixed, never a change
                continue
            diff = 1 - var if key in base_att else var
            changed_schools.append(diff)
            group = (key[1], key[2], self._mun(key[0], key[1]))
            if group in base_groups:
                differs[group].append(diff)
        changed_schools.extend(1 for key in base_att if key not in self.attend)
        for group in sorted(base_groups, key=str):
            if group in lost:
                changed_sessions.append(1)  # a school of it can no longer attend: changed anyway
            elif differs.get(group):
                flag = m.new_bool_var(f"group_changed[{group}]")
                for diff in differs[group]:
                    m.add(flag >= diff)
                changed_sessions.append(flag)
        base_ver = opt.baseline_verify or set()
        for key, var in self.verify.items():
            if key in opt.frozen_verify:
                continue
            changed_schools.append(1 - var if key in base_ver else var)
        changed_schools.extend(1 for key in base_ver if key not in self.verify)
        return {
            "changed_sessions": (sum(changed_sessions), weights.changed_session),
            "changed_schools": (sum(changed_schools), weights.changed_school),
        }

    # --- reading a solution ------------------------------------------------------------

    def read(self, value) -> MonthSolution:
        """Turn solver values into session groups (`value` maps a variable to its value)."""
        inst = self.inst
        # Frozen history is not read back: it stays as the pinned sessions it came from.
        attend = {k for k, v in self.attend.items() if value(v) and k not in self.opt.frozen_attend}
        verify = {k for k, v in self.verify.items() if value(v) and k not in self.opt.frozen_verify}
        covered = {k for k, v in self.covered.items() if value(v)}
        groups: list[MonthSession] = []
        schools_of: dict[tuple[str, Month, str | None], list[str]] = defaultdict(list)
        for (s, t, month) in sorted(attend):
            schools_of[t, month, self._mun(s, t)].append(s)
        vschools: dict[tuple[str, str, Month, str], list[str]] = defaultdict(list)
        for (s, t, c, month) in sorted(verify):
            vschools[t, c, month, inst.schools[s].municipality].append(s)
        # Split each (topic, month, municipality) group's schools over the consultants' sessions.
        by_group: dict[tuple[str, Month, str | None], list[tuple[str, int]]] = defaultdict(list)
        for (t, c, month, mun), var in sorted(self.count.items(), key=lambda kv: str(kv[0])):
            n = int(value(var)) - self.opt.frozen_counts.get((t, c, month, mun), 0)
            if n <= 0:
                continue
            if inst.topics[t].stage == Stage.VERIFICATION:
                groups.append(MonthSession(t, c, month, mun, n, vschools.get((t, c, month, mun), [])))
            else:
                by_group[t, month, mun].append((c, n))
        for (t, month, mun), parts in by_group.items():
            schools = list(schools_of.get((t, month, mun), []))
            cap = inst.topics[t].capacity
            for c, n in parts:
                take = min(len(schools), n * cap)
                groups.append(MonthSession(t, c, month, mun, n, schools[:take]))
                schools = schools[take:]
        return MonthSolution(groups, attend, verify, covered)
