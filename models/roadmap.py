"""The roadmap (дорожная карта) as a small CP-SAT scheduling model, with its critical path.

Time is counted in calendar days from the first day of the roadmap *period*: the horizon,
widened to every date that `roadmap.csv` names (a roadmap starts with orders and
appointments well before the first consultation). A day is a *working day* when the
production calendar of the region's country says so (`holidays`: public holidays and
transferred days off are closed, working Saturdays are open) and it is not one of
`[roadmap] days_off` (regional holidays such as Цаган Сар).

An activity of `d` working days occupies its start day and the following working days
until `d` of them are counted; `last` is its last day and its exclusive end is
`e = last + 1`. A milestone (`d = 0`) happens on its start day and `e = start`, so a
successor may follow it on the same day. A successor starts on or after `e`.

Hard rules, one method each, called in order from `RoadmapModel.add_constraints()`:
- `_inside_window`: start ∈ {working days t of [lo, hi] with last(t) ≤ hi} (the start's domain);
- `_fixed_dates`: start = fixed (a fixed date is a fact: it may even be a day off);
- `_working_day_durations`: (start, e) ∈ {(t, e(t))}: the span is d *working* days;
- `_after_predecessors`: start_j ≥ e_i for every i in after(j);
- `_executor_concurrency`: Σ_{i of executor X running on day t} 1 ≤ limit(X) for every t
  (milestones take no time and are not counted).

Objective: minimise `weight_finish · F + weight_delay · Σ_i (start_i − first allowed start_i)`
with F ≥ e_i for every activity: finish early, and keep each activity near its window's start.

Before the solver runs, a forward pass over the dependency DAG (earliest starts with
working-day durations, i.e. the longest path) finds every window or fixed date that no
schedule can meet and explains it in Russian, naming the chain of predecessors that needs
the time. After the solve, a backward pass gives each activity's latest start and so its
slack (резерв) in working days; the critical path is the chain of zero-slack activities,
each starting right after its predecessor ends, that ends on the roadmap's last day.
"""

from __future__ import annotations

import bisect
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import holidays as holidays_lib
import networkx as nx
from ortools.sat.python import cp_model

from models.calendar_days import DateRange
from models.domain import Activity, ActivityDates, Instance
from models.problems import Problem
from models.settings import RoadmapSettings
from models.words import plural

ROADMAP_FILE = "roadmap.csv"
SOLVED = ("OPTIMAL", "FEASIBLE")
WEEKDAYS = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")


def executors_of(activity: Activity) -> list[str]:
    """The executors (исполнители) of an activity: its `responsible` cell split on «;»."""
    return [x.strip() for x in activity.responsible.split(";") if x.strip()]


def ru_date(day: date) -> str:
    return f"{day:%d.%m.%Y}"


# --- the time axis -------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkingDays:
    """Working days of the production calendar over [start, start + length)."""

    start: date
    length: int
    country: str = "RU"
    days_off: tuple[DateRange, ...] = ()

    @cached_property
    def _calendar(self) -> holidays_lib.HolidayBase:
        years = range(self.start.year, self.day(self.length).year + 1)
        return holidays_lib.country_holidays(self.country, years=years, language="ru")

    def day(self, t: int) -> date:
        return self.start + timedelta(days=t)

    def index(self, day: date) -> int:
        return (day - self.start).days

    def is_working_date(self, day: date) -> bool:
        if any(day in r for r in self.days_off):
            return False
        return bool(self._calendar.is_working_day(day))

    def closed_reason(self, day: date) -> str | None:
        """Why `day` is not a working day (Russian), or None."""
        if self.is_working_date(day):
            return None
        for r in self.days_off:
            if day in r:
                return "дополнительный нерабочий день из [roadmap] days_off"
        name = self._calendar.get(day)
        return f"нерабочий день: {name}" if name else f"выходной день, {WEEKDAYS[day.weekday()]}"

    @cached_property
    def working(self) -> tuple[bool, ...]:
        return tuple(self.is_working_date(self.day(t)) for t in range(self.length))

    @cached_property
    def _working_indices(self) -> tuple[int, ...]:
        return tuple(t for t, ok in enumerate(self.working) if ok)

    @cached_property
    def _count_before(self) -> tuple[int, ...]:
        """count_before[t] = number of working days in [0, t)."""
        out, n = [0], 0
        for ok in self.working:
            n += ok
            out.append(n)
        return tuple(out)

    def last(self, t: int, duration: int) -> int | None:
        """Last day of an activity of `duration` working days started on day t (None: off the axis).

        Day t counts as the first day even when it is not a working day (only a fixed date may
        be one); a milestone's last day is its start.
        """
        if duration == 0 or (duration == 1 and not self.working[t]):
            return t
        # Working day number count_before[t+1] − 1 is t itself (or the last one before a day
        # off); the activity's last day is duration − 1 working days further on.
        k = self._count_before[t + 1] + duration - 2
        return self._working_indices[k] if k < len(self._working_indices) else None

    def end(self, t: int, duration: int) -> int | None:
        """Exclusive end e: successors start on or after it."""
        last = self.last(t, duration)
        if last is None:
            return None
        return last if duration == 0 else last + 1

    def first_working_at_or_after(self, t: int) -> int | None:
        k = bisect.bisect_left(self._working_indices, t)
        return self._working_indices[k] if k < len(self._working_indices) else None

    def working_between(self, a: int, b: int) -> int:
        """Working days in (a, b]: how many working days a start can move from a to b."""
        if b <= a:
            return 0
        return self._count_before[b + 1] - self._count_before[a + 1]


# --- the problem on the axis --------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """One activity on the axis: window [lo, hi] (day indices), duration, fixed start."""

    id: str
    row: int
    lo: int
    hi: int
    duration: int
    fixed: int | None
    after: tuple[str, ...]
    executors: tuple[str, ...]
    lo_given: bool
    hi_given: bool


@dataclass
class RoadmapProblem:
    """The roadmap of an instance, on its time axis. Pure data and the passes over the DAG."""

    instance: Instance
    axis: WorkingDays
    timings: dict[str, Timing]
    graph: nx.DiGraph
    order: list[str]  # a topological order

    @classmethod
    def of(cls, instance: Instance) -> RoadmapProblem:
        acts = instance.activities
        h = instance.settings.horizon
        named = [d for a in acts.values() for d in (a.earliest, a.latest, a.fixed) if d is not None]
        start = min([h.start, *named])
        end = max([h.end, *named])
        total = sum(a.duration_days for a in acts.values())
        length = (end - start).days + 1 + 2 * total + 60  # room for fixed starts near the end
        rm = instance.settings.roadmap
        axis = WorkingDays(start, length, instance.settings.region.holidays, rm.days_off)
        timings: dict[str, Timing] = {}
        for row, a in enumerate(acts.values(), start=2):
            own = [d for d in (a.latest, a.fixed) if d is not None]
            lo = a.earliest or min([h.start, *own])
            own = [d for d in (a.earliest, a.fixed) if d is not None]
            hi = a.latest or max([h.end, *own])
            timings[a.id] = Timing(
                a.id, row, axis.index(lo), axis.index(hi), a.duration_days,
                axis.index(a.fixed) if a.fixed else None, a.after, tuple(executors_of(a)),
                a.earliest is not None, a.latest is not None,
            )
        graph = nx.DiGraph()
        graph.add_nodes_from(acts)
        for a in acts.values():
            for dep in a.after:
                if dep in acts:
                    graph.add_edge(dep, a.id)
        if not nx.is_directed_acyclic_graph(graph):
            raise ValueError("roadmap dependencies have a cycle (validation should have refused it)")
        order = list(nx.lexicographical_topological_sort(graph, key=list(acts).index))
        return cls(instance, axis, timings, graph, order)

    def day(self, t: int) -> date:
        return self.axis.day(t)

    @cached_property
    def allowed_starts(self) -> dict[str, list[int]]:
        """Start days each activity may take: its window, working days, ending inside the window."""
        out: dict[str, list[int]] = {}
        for a in self.timings.values():
            if a.fixed is not None:
                out[a.id] = [a.fixed]
                continue
            starts = []
            for t in range(max(a.lo, 0), a.hi + 1):
                if not self.axis.working[t]:
                    continue
                last = self.axis.last(t, a.duration)
                if last is not None and last <= a.hi:
                    starts.append(t)
            out[a.id] = starts
        return out

    def first_start(self, a: Timing, bound: int) -> int | None:
        """The earliest start ≥ bound, ignoring the window's end (for the forward pass)."""
        if a.fixed is not None:
            return a.fixed
        return self.axis.first_working_at_or_after(max(bound, a.lo))

    # --- forward pass: earliest starts and the chains that push them --------------------

    @cached_property
    def forward(self) -> tuple[dict[str, int], dict[str, int], dict[str, str | None]]:
        """(earliest start, its exclusive end, the predecessor that pushed it or None).

        The longest path over the DAG with working-day durations, windows' starts and fixed
        dates; upper bounds (window ends) are not applied, so a violation shows how far off
        it is. Without executor limits this schedule is feasible iff no violation is found.
        """
        es: dict[str, int] = {}
        ef: dict[str, int] = {}
        pushed_by: dict[str, str | None] = {}
        for aid in self.order:
            a = self.timings[aid]
            bound, source = a.lo, None
            for p in self.graph.predecessors(aid):
                if ef[p] > bound:
                    bound, source = ef[p], p
            if a.fixed is not None:
                start, source = a.fixed, None  # a fixed date starts its own chain
            else:
                start = self.first_start(a, bound)
                if start is None:  # cannot happen with the axis margin; keep the bound
                    start = bound
            es[aid] = start
            pushed_by[aid] = source
            end = self.axis.end(start, a.duration)
            ef[aid] = end if end is not None else self.axis.length
        return es, ef, pushed_by

    def chain(self, aid: str) -> list[str]:
        """The predecessors that push `aid`'s earliest start, first to last (for a fixed
        activity: those that push the day it could start on, were it not fixed)."""
        _, _, pushed_by = self.forward
        out: list[str] = []
        cur = self._bound(aid)[0]
        while cur is not None:
            out.append(cur)
            cur = pushed_by[cur]
        return out[::-1]

    def violations(self) -> list[Problem]:
        """Every window end or fixed date that no schedule can meet, explained (root causes only)."""
        es, _, _ = self.forward
        bad: dict[str, str] = {}
        for aid in self.order:
            a = self.timings[aid]
            _, bound = self._bound(aid)
            if a.fixed is not None and bound > a.fixed:
                bad[aid] = "fixed"
            elif self.last_of(aid, es[aid]) > a.hi:
                bad[aid] = "latest"
        problems = []
        for aid in self.order:
            if aid not in bad or any(c in bad for c in self.chain(aid)):
                continue  # a consequence of an earlier violation on its chain
            problems.append(self._explain(aid, bad[aid]))
        return problems

    def _bound(self, aid: str) -> tuple[str | None, int]:
        _, ef, _ = self.forward
        a = self.timings[aid]
        bound, source = a.lo, None
        for p in self.graph.predecessors(aid):
            if ef[p] > bound:
                bound, source = ef[p], p
        return source, bound

    def last_of(self, aid: str, start: int) -> int:
        """Last day of activity `aid` started on `start` (past the axis: its length)."""
        last = self.axis.last(start, self.timings[aid].duration)
        return last if last is not None else self.axis.length

    def _explain(self, aid: str, kind: str) -> Problem:
        es, _, _ = self.forward
        a = self.timings[aid]
        chain = self.chain(aid)
        days = f"{a.duration} раб. дн."
        if chain:
            tail = chain[-1]
            need = ru_date(self.day(self.last_of(tail, es[tail])))
            steps = []
            for k, c in enumerate(chain):
                ct = self.timings[c]
                step = f"{c} {date_span(self.day(es[c]), self.day(self.last_of(c, es[c])))}, {ct.duration} раб. дн."
                if k == 0:
                    step += (", дата зафиксирована" if ct.fixed is not None
                             else f", не раньше {ru_date(self.day(ct.lo))}")
                steps.append(step)
            detail = f" ({'; '.join(steps)})"
            arrow = " → ".join(chain)
            if kind == "fixed":
                message = (f"{aid} зафиксировано на {ru_date(self.day(a.fixed))}, но предшествующие"
                           f" {arrow} требуют времени до {need}{detail}")
                return Problem(ROADMAP_FILE, message, a.row, "fixed", ru_date(self.day(a.fixed)))
            latest = ru_date(self.day(a.hi))
            start = es[aid]
            message = (f"{aid} должно закончиться не позже {latest}"
                       f"{'' if a.hi_given else ' (конец горизонта)'}, но предшествующие {arrow}"
                       f" требуют времени до {need}{detail}: {aid} ({days}) начнётся не раньше"
                       f" {ru_date(self.day(start))} и закончится не раньше"
                       f" {ru_date(self.day(self.last_of(aid, start)))}")
            return Problem(ROADMAP_FILE, message, a.row, "latest", latest if a.hi_given else None)
        # The activity's own window (or fixed date) is too short for it.
        window = f"{ru_date(self.day(a.lo))}–{ru_date(self.day(a.hi))}"
        if a.fixed is not None:
            message = (f"{aid} зафиксировано на {ru_date(self.day(a.fixed))} и длится {days}: оно"
                       f" закончится {ru_date(self.day(self.last_of(aid, a.fixed)))}, позже конца"
                       f" окна {ru_date(self.day(a.hi))}")
            return Problem(ROADMAP_FILE, message, a.row, "duration_days", str(a.duration))
        n = sum(1 for t in range(max(a.lo, 0), a.hi + 1) if self.axis.working[t])
        message = f"{aid} длится {days}, но в его окне {window} рабочих дней только {n}"
        return Problem(ROADMAP_FILE, message, a.row, "duration_days", str(a.duration))

    # --- backward pass: latest starts, slack --------------------------------------------

    def latest_starts(self, finish_day: int | None = None) -> dict[str, int | None]:
        """Latest start of each activity keeping every window, dependency and (if given) the
        roadmap's last day `finish_day`; executor limits are not taken into account."""
        ls: dict[str, int | None] = {}
        for aid in reversed(self.order):
            a = self.timings[aid]
            limit_last = a.hi if finish_day is None else min(a.hi, finish_day)
            limit_end = min((ls[s] for s in self.graph.successors(aid) if ls[s] is not None),
                            default=None)
            if any(ls[s] is None for s in self.graph.successors(aid)):
                ls[aid] = None
                continue
            if a.fixed is not None:
                ls[aid] = a.fixed
                continue
            found = None
            for t in reversed(self.allowed_starts[aid]):
                last = self.last_of(aid, t)
                end = self.axis.end(t, a.duration)
                if last <= limit_last and (limit_end is None or (end is not None and end <= limit_end)):
                    found = t
                    break
            ls[aid] = found
        return ls

    def executor_limits(self, settings: RoadmapSettings) -> dict[str, int]:
        """Executors with a finite limit that binds (more timed activities than the limit)."""
        counts: dict[str, int] = defaultdict(int)
        for a in self.timings.values():
            if a.duration > 0:
                for x in a.executors:
                    counts[x] += 1
        out = {}
        for x, n in counts.items():
            limit = settings.limit_of(x)
            if limit > 0 and n > limit:
                out[x] = limit
        return out


# --- the CP-SAT model ---------------------------------------------------------------------


class RoadmapModel:
    """Variables, constraints (one method per rule) and objective of the roadmap schedule."""

    def __init__(self, problem: RoadmapProblem, limits: dict[str, int]):
        self.p = problem
        self.limits = limits
        self.model = cp_model.CpModel()
        self.start: dict[str, cp_model.IntVar] = {}
        self.end: dict[str, cp_model.IntVar] = {}
        self.interval: dict[str, cp_model.IntervalVar] = {}
        self._make_variables()
        self.add_constraints()
        self._objective()

    def _make_variables(self) -> None:
        self.m = self.model
        for aid, a in self.p.timings.items():
            starts = self.p.allowed_starts[aid]
            ends = sorted({self.p.axis.end(t, a.duration) for t in starts})
            self.start[aid] = self.m.new_int_var_from_domain(cp_model.Domain.from_values(starts), f"start[{aid}]")
            self.end[aid] = self.m.new_int_var_from_domain(cp_model.Domain.from_values(ends), f"end[{aid}]")

    def add_constraints(self) -> None:
        """Every hard rule, in order (the window rule is the start variables' domain)."""
        self._fixed_dates()
        self._working_day_durations()
        self._after_predecessors()
        self._executor_concurrency()

    def _fixed_dates(self) -> None:
        """Hard: start_i = fixed_i (already the only value of its domain; stated for clarity)."""
        for aid, a in self.p.timings.items():
            if a.fixed is not None:
                self.m.add(self.start[aid] == a.fixed)

    def _working_day_durations(self) -> None:
        """Hard: (start_i, e_i) ∈ {(t, e(t))}, e(t) = day after the d_i-th working day from t."""
        for aid, a in self.p.timings.items():
            if a.duration == 0:
                self.m.add(self.end[aid] == self.start[aid])
            else:
                pairs = [(t, self.p.axis.end(t, a.duration)) for t in self.p.allowed_starts[aid]]
                self.m.add_allowed_assignments([self.start[aid], self.end[aid]], pairs)
            spans = [self.p.axis.end(t, a.duration) - t for t in self.p.allowed_starts[aid]]
            size = self.m.new_int_var(min(spans), max(spans), f"span[{aid}]")
            self.interval[aid] = self.m.new_interval_var(self.start[aid], size, self.end[aid], f"run[{aid}]")

    def _after_predecessors(self) -> None:
        """Hard: start_j ≥ e_i for every dependency i → j."""
        for i, j in self.p.graph.edges:
            self.m.add(self.start[j] >= self.end[i])

    def _executor_concurrency(self) -> None:
        """Hard: for each executor X, Σ over its timed activities running on a day ≤ limit(X)."""
        for executor, limit in sorted(self.limits.items()):
            runs = [self.interval[a.id] for a in self.p.timings.values()
                    if a.duration > 0 and executor in a.executors]
            if len(runs) > limit:
                self.m.add_cumulative(runs, [1] * len(runs), limit)

    def _objective(self) -> None:
        """Minimise weight_finish · F + weight_delay · Σ (start_i − first allowed start_i), F ≥ e_i."""
        rm = self.p.instance.settings.roadmap
        self.finish = self.m.new_int_var(0, self.p.axis.length, "finish")
        for aid in self.p.timings:
            self.m.add(self.finish >= self.end[aid])
        delay = sum(self.start[aid] - self.p.allowed_starts[aid][0] for aid in self.p.timings)
        self.m.minimize(rm.weight_finish * self.finish + rm.weight_delay * delay)
        es, _, _ = self.p.forward
        for aid, t in es.items():
            if t in self.p.allowed_starts[aid]:
                self.m.add_hint(self.start[aid], t)


# --- the result -------------------------------------------------------------------------


@dataclass
class RoadmapResult:
    """A scheduled roadmap, or why there is none. "No schedule" is a status, not an exception."""

    status: str
    activities: list[ActivityDates] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    critical_path: list[str] = field(default_factory=list)
    objective: float | None = None
    bound: float | None = None
    solve_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in SOLVED

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def start(self) -> date | None:
        return min((a.start for a in self.activities), default=None)

    @property
    def finish(self) -> date | None:
        return max((a.end for a in self.activities), default=None)

    def dates(self) -> dict[str, ActivityDates]:
        return {a.id: a for a in self.activities}


def schedule_roadmap(instance: Instance, time_limit: float | None = None) -> RoadmapResult:
    """Date the roadmap of `instance`: CP-SAT over working days, then slack and critical path.

    Returns status `OPTIMAL` / `FEASIBLE` with every activity dated, or `INFEASIBLE` with
    Russian problems naming the activities, chains and executors that cannot fit (or
    `UNKNOWN` when the time limit ran out first). An instance without a roadmap gives
    `OPTIMAL` with nothing to date.
    """
    t0 = time.perf_counter()
    if not instance.activities:
        return RoadmapResult("OPTIMAL", objective=0.0, bound=0.0)
    p = RoadmapProblem.of(instance)
    warnings = _fixed_day_warnings(p)
    infeasible = p.violations()
    if infeasible:
        return RoadmapResult("INFEASIBLE", problems=infeasible + warnings,
                             solve_seconds=time.perf_counter() - t0)
    rm = instance.settings.roadmap
    limits = p.executor_limits(rm)
    model = RoadmapModel(p, limits)
    solver = _solver(time_limit if time_limit is not None else rm.time_limit_s)
    status = solver.solve(model.model)
    name = solver.status_name(status)
    if name not in SOLVED:
        problems = _explain_executors(p, limits, rm) if name == "INFEASIBLE" else [Problem(
            ROADMAP_FILE, "решатель не нашёл расписание дорожной карты за отведённое время:"
            " увеличьте [roadmap] time_limit_s")]
        return RoadmapResult(name, problems=problems + warnings, solve_seconds=time.perf_counter() - t0)
    starts = {aid: solver.value(model.start[aid]) for aid in p.timings}
    activities, path = dated_with_slack(p, starts)
    return RoadmapResult(
        name, activities, warnings, path,
        objective=solver.objective_value, bound=solver.best_objective_bound,
        solve_seconds=time.perf_counter() - t0,
    )


def _solver(time_limit: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    # One worker and a deterministic time limit: the same roadmap always gets the same dates
    # (calendar files are compared byte for byte). Roadmaps are small; this is fast.
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.max_deterministic_time = time_limit
    return solver


def dated_with_slack(p: RoadmapProblem, starts: dict[str, int]) -> tuple[list[ActivityDates], list[str]]:
    """Dates, slack (working days) and critical flags of a schedule, and its critical path.

    Slack of i = working days between its start and its latest start, where the latest start
    keeps every window, every successor's latest start and the roadmap's last day (classic
    total float, with windows; executor limits are not counted). A fixed activity has no
    slack. `critical` marks the activities of the critical path (`critical_path`).
    """
    last = {aid: p.last_of(aid, t) for aid, t in starts.items()}
    finish_day = max(last.values())
    ls = p.latest_starts(finish_day)
    slack = {}
    for aid, t in starts.items():
        late = ls[aid] if ls[aid] is not None and ls[aid] >= t else t
        slack[aid] = p.axis.working_between(t, late) if p.timings[aid].fixed is None else 0
    zero = {aid for aid, s in slack.items() if s == 0}
    path = critical_path(p, starts, last, zero, finish_day)
    dates = [
        ActivityDates(aid, p.day(starts[aid]), p.day(last[aid]), slack[aid], aid in path)
        for aid in p.timings
    ]
    return dates, path


def critical_path(
    p: RoadmapProblem, starts: dict[str, int], last: dict[str, int], critical: set[str], finish_day: int
) -> list[str]:
    """The longest chain of critical activities, each starting at the first allowed day after
    its predecessor ends, that ends on the roadmap's last day (ties: the earlier in the file)."""
    tight = nx.DiGraph()
    tight.add_nodes_from(critical)
    for i, j in p.graph.edges:
        if i in critical and j in critical:
            end_i = p.axis.end(starts[i], p.timings[i].duration)
            first = next((t for t in p.allowed_starts[j] if t >= end_i), None)
            if first == starts[j]:
                tight.add_edge(i, j)
    weight = {aid: p.timings[aid].duration for aid in critical}
    best: dict[str, tuple[int, int]] = {}
    back: dict[str, str | None] = {}
    rank = {aid: k for k, aid in enumerate(p.timings)}
    for aid in p.order:
        if aid not in critical:
            continue
        preds = sorted(tight.predecessors(aid), key=lambda x: (best[x], -rank[x]), reverse=True)
        prev = preds[0] if preds else None
        length, count = best[prev] if prev else (0, 0)
        best[aid] = (length + weight[aid], count + 1)
        back[aid] = prev
    ends = [aid for aid in critical if last[aid] == finish_day]
    if not ends:
        return []
    node: str | None = max(ends, key=lambda x: (best[x], -rank[x]))
    path = []
    while node is not None:
        path.append(node)
        node = back[node]
    return path[::-1]


def _fixed_day_warnings(p: RoadmapProblem) -> list[Problem]:
    out = []
    for a in p.timings.values():
        if a.fixed is not None:
            reason = p.axis.closed_reason(p.day(a.fixed))
            if reason:
                out.append(Problem(
                    ROADMAP_FILE, f"фиксированная дата {a.id} приходится на нерабочий день ({reason});"
                    " мероприятие оставлено на этой дате", a.row, "fixed", p.day(a.fixed).isoformat(),
                    "warning"))
    return out


def _explain_executors(p: RoadmapProblem, limits: dict[str, int], rm: RoadmapSettings) -> list[Problem]:
    """Why executor limits make the roadmap infeasible (windows and dependencies alone fit).

    First, days on which more of an executor's activities *must* run than its limit allows
    (each activity must cover the days from its latest start to its earliest end). Else the
    executors whose limit alone makes the schedule infeasible.
    """
    _, ef, _ = p.forward
    ls = p.latest_starts()
    out: list[Problem] = []
    for executor, limit in sorted(limits.items()):
        busy: dict[int, list[str]] = defaultdict(list)
        for a in p.timings.values():
            if a.duration == 0 or executor not in a.executors or ls[a.id] is None:
                continue
            for t in range(ls[a.id], ef[a.id]):
                busy[t].append(a.id)
        over = [(t, ids) for t, ids in sorted(busy.items()) if len(ids) > limit]
        if over:
            t, ids = max(over, key=lambda x: (len(x[1]), -x[0]))
            days = [d for d, i in over if i == ids]
            span = ru_date(p.day(days[0])) + (f"–{ru_date(p.day(days[-1]))}" if len(days) > 1 else "")
            out.append(Problem(
                ROADMAP_FILE,
                f"исполнитель «{executor}» может вести одновременно не больше {limit}"
                f" {plural(limit, 'мероприятия', 'мероприятий', 'мероприятий')} ({_limit_setting(executor, rm)}), но {', '.join(ids)} обязаны идти одновременно"
                f" {span}: их окна и зависимости не дают их развести. Увеличьте предел или"
                " раздвиньте окна", column="responsible", value=executor))
    if out:
        return out
    for executor, limit in sorted(limits.items()):
        alone = RoadmapModel(p, {executor: limit})
        status = _solver(rm.time_limit_s).solve(alone.model)
        if status == cp_model.INFEASIBLE:
            ids = [a.id for a in p.timings.values() if a.duration > 0 and executor in a.executors]
            out.append(Problem(
                ROADMAP_FILE,
                f"мероприятия исполнителя «{executor}» ({', '.join(ids)}) не помещаются в свои окна,"
                f" если вести одновременно не больше {limit} ({_limit_setting(executor, rm)})."
                " Увеличьте предел или раздвиньте окна", column="responsible", value=executor))
    if not out:
        out.append(Problem(
            ROADMAP_FILE, "пределы одновременных мероприятий нескольких исполнителей вместе не дают"
            " составить расписание: увеличьте [roadmap] executor_limit или раздвиньте окна"))
    return out


def _activities_count(n: int) -> str:
    """«1 мероприятие», «52 мероприятия», «25 мероприятий»."""
    return f"{n} {plural(n, 'мероприятие', 'мероприятия', 'мероприятий')}"


def _limit_setting(executor: str, rm: RoadmapSettings) -> str:
    if executor in dict(rm.executor_limits):
        return "[roadmap] executor_limits"
    return "[roadmap] executor_limit"


# --- texts for people -------------------------------------------------------------------


_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
    strict=True,
))


def slug(text: str) -> str:
    """ASCII file-name part of a Russian text: «ГКУ «КЦМКО»» → "gku-ktsmko"."""
    out = "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())
    out = re.sub(r"[^a-z0-9]+", "-", out).strip("-")
    return out[:60].rstrip("-") or "executor"


def date_span(start: date, end: date) -> str:
    """«28.01.2022» or «15.03.2022–31.03.2022», as the orders write it."""
    return ru_date(start) if start == end else f"{ru_date(start)}–{ru_date(end)}"


def roadmap_summary_lines(instance: Instance, result: RoadmapResult) -> list[str]:
    """Russian lines for a summary: span, critical path, slack of the rest."""
    if not instance.activities:
        return []
    if not result.ok:
        return [f"Дорожная карта: расписания нет ({result.status})"] + [
            f"  {p.render()}" for p in result.errors]
    dates = result.dates()
    zero = [a.id for a in result.activities if a.slack_days == 0]
    lines = [
        (f"Дорожная карта: {_activities_count(len(result.activities))},"
         f" {date_span(result.start, result.finish)} ({result.status})"),
        "  Критический путь: " + (" → ".join(
            f"{aid} ({date_span(dates[aid].start, dates[aid].end)})" for aid in result.critical_path)
            or "нет"),
        f"  Без резерва (любая задержка срывает срок или окно): {', '.join(zero) or 'нет'}",
    ]
    loose = sorted((a for a in result.activities if a.slack_days), key=lambda a: (a.slack_days or 0, a.id))
    if loose:
        lines.append("  Резерв, раб. дн.: " + ", ".join(f"{a.id} {a.slack_days}" for a in loose))
    return lines
