"""From month-level session groups to dated sessions: a second, small CP-SAT model.

Each session of a month goes on one of its consultant's free open days of that month.
Hard rules per day (the month-level model already guarantees everything across months):
- a consultant's day holds either one onsite visit (it takes the whole day, travel
  included; a visit that needs the evening before also takes the previous calendar
  day) or online sessions that fit one after another with breaks:
  Σ_online (duration + break) + (L + break) × [onsite or travel] ≤ L + break;
- a school attends at most one session a day (so never two at once);
- two onsite visits of one consultant are never on consecutive calendar days.
A session that cannot be placed is left out (the plan then reports its schools' needs
as unmet with the reason); the objective places every session it can, then spreads a
consultant's sessions evenly over the month.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from models.calendar_days import Month, month_of
from models.consultation import MonthSession
from models.domain import Format, Instance, Session, Stage
from models.index import Index, OnsiteTiming


@dataclass
class Pending:
    """One session to put on a day."""

    topic: str
    consultant: str
    month: Month
    municipality: str | None
    schools: tuple[str, ...]
    timing: OnsiteTiming | None  # None for online
    duration: int
    preferred_day: date | None = None
    keep_id: str | None = None


@dataclass
class DatePlacement:
    sessions: list[Session]
    unplaced: list[Pending]
    status: str
    seconds: float
    pinned: list[Session] = field(default_factory=list)


def expand_groups(inst: Instance, ix: Index, groups: list[MonthSession]) -> list[Pending]:
    """Split each group's schools over its `count` sessions as evenly as possible."""
    out: list[Pending] = []
    for g in groups:
        n = min(g.count, len(g.schools))
        if n <= 0:
            continue
        out += [_pending(inst, ix, g.topic, g.consultant, g.month, g.municipality, g.schools[i::n])
                for i in range(n)]
    return out


def _pending(inst: Instance, ix: Index, topic_id: str, consultant: str, month: Month, place: str | None,
             schools: list[str]) -> Pending:
    """One session to date: an onsite one with its travel timing, an online one without a place."""
    topic = inst.topics[topic_id]
    timing = ix.onsite_timing(consultant, place, topic.duration_min) if topic.format == Format.ONSITE else None
    return Pending(topic_id, consultant, month, place if timing else None, tuple(sorted(schools)), timing,
                   topic.duration_min)


def expand_groups_keeping(inst: Instance, ix: Index, groups: list[MonthSession],
                          baseline: list[Session]) -> list[Pending]:
    """Replanning: `expand_groups`, but each baseline session keeps its schools where it can.

    The schools of a (topic, month, place) — of a (topic, consultant, month, place) for
    verification visits — are pooled over its consultants' sessions (the month model fixes
    how many each consultant holds, not which schools go to which). `expand_groups` deals
    them out in turn, so one school more or less reshuffles every session of the group:
    each then counts as changed, gets a new SEQUENCE and notifies all its schools. Here a
    baseline session of the group whose consultant still has a session there keeps those of
    its schools that still attend (up to the capacity); the other schools go into the
    group's remaining sessions (evenly), and only when those are used up into the room left
    in kept ones. Every session stays within capacity and each consultant within the month
    model's count, so every rule the month model checked still holds."""
    verification = {t for t, topic in inst.topics.items() if topic.stage == Stage.VERIFICATION}

    def key(topic: str, consultant: str, month: Month, place: str | None) -> tuple:
        return (topic, month, place) + ((consultant,) if topic in verification else ())

    slots: dict[tuple, list[str]] = defaultdict(list)  # key -> one consultant per session
    pooled: dict[tuple, list[str]] = defaultdict(list)
    for g in groups:
        k = key(g.topic, g.consultant, g.month, g.municipality)
        slots[k] += [g.consultant] * g.count
        pooled[k] += g.schools
    before: dict[tuple, list[Session]] = defaultdict(list)
    for s in baseline:
        topic = inst.topics.get(s.topic)
        if topic is not None:
            place = s.municipality if topic.format == Format.ONSITE else None
            before[key(s.topic, s.consultant, month_of(s.start.date()), place)].append(s)

    out: list[Pending] = []
    for k in sorted(slots, key=str):
        topic = inst.topics[k[0]]
        cap = topic.capacity
        left = set(pooled[k])
        free = list(slots[k])
        sessions: list[tuple[str, list[str]]] = []
        for old in sorted(before.get(k, []), key=lambda s: (s.start, s.id)):
            kept = [x for x in old.schools if x in left][:cap]
            if kept and old.consultant in free:
                free.remove(old.consultant)
                left -= set(kept)
                sessions.append((old.consultant, kept))
        rest = sorted(left)
        opened = free[: min(len(free), -(-len(rest) // cap))]
        if opened:
            take = rest[: len(opened) * cap]
            rest = rest[len(take):]
            sessions += [(c, take[i:: len(opened)]) for i, c in enumerate(opened)]
        for _c, members in sessions:
            room = cap - len(members)
            members += rest[:room]
            rest = rest[room:]
        assert not rest, f"{k}: more schools than the sessions hold"
        out += [_pending(inst, ix, topic.id, c, k[1], k[2], members) for c, members in sessions]
    return out


def session_id(topic: str, consultant: str, start_iso: str) -> str:
    digest = hashlib.sha1(f"{topic}|{consultant}|{start_iso}".encode()).hexdigest()
    return f"s-{digest[:8]}"


def place_on_days(
    inst: Instance,
    ix: Index,
    pending: list[Pending],
    pinned: list[Session] | None = None,
    time_limit: float = 30.0,
    workers: int = 8,
    seed: int = 0,
    not_before: date | None = None,
    topic_first_day: dict[str, date] | None = None,
) -> DatePlacement:
    """Choose a day for each pending session; `pinned` sessions keep their day and time;
    new sessions go on `not_before` or later (a replan's freeze date)."""
    pinned = pinned or []
    model = cp_model.CpModel()
    consultants = inst.consultants
    x: dict[tuple[int, date], cp_model.IntVar] = {}
    costs: dict[tuple[int, date], int] = {}
    placed: list[cp_model.IntVar] = []
    cost_terms = []

    pinned_minutes: dict[tuple[str, date], int] = defaultdict(int)
    pinned_school_days: set[tuple[str, date]] = set()
    full = ix.day_minutes + ix.break_min
    for s in pinned:
        day = s.start.date()
        if s.format == Format.ONSITE:
            pinned_minutes[s.consultant, day] += full
            timing = ix.onsite_timing(s.consultant, s.municipality, inst.topics[s.topic].duration_min)
            if timing.overnight:
                pinned_minutes[s.consultant, day - timedelta(days=1)] += full
        else:
            pinned_minutes[s.consultant, day] += inst.topics[s.topic].duration_min + ix.break_min
        for school in s.schools:
            pinned_school_days.add((school, day))

    by_cm: dict[tuple[str, Month], list[int]] = defaultdict(list)
    for i, p in enumerate(pending):
        by_cm[p.consultant, p.month].append(i)

    for (c, month), idxs in by_cm.items():
        free = [d for d in ix.free_days[c].get(month, ()) if not_before is None or d >= not_before]
        if topic_first_day:
            # Roadmap links: a linked stage's sessions only after its activity (day level).
            firsts = {pending[i].topic: topic_first_day.get(pending[i].topic) for i in idxs}
        else:
            firsts = {}
        consultant = consultants[c]
        for k, i in enumerate(idxs):
            p = pending[i]
            target = (k + 0.5) * len(free) / max(1, len(idxs))
            vars_ = []
            for pos, day in enumerate(free):
                if firsts.get(p.topic) is not None and day < firsts[p.topic]:
                    continue
                if p.timing is not None and p.timing.overnight:
                    if ix.unavailable_on(consultant, day - timedelta(days=1)):
                        continue
                if any((s, day) in pinned_school_days for s in p.schools):
                    continue
                var = model.new_bool_var(f"x[{i},{day}]")
                x[i, day] = var
                vars_.append(var)
                if p.preferred_day is not None:
                    cost = 0 if day == p.preferred_day else 50 + abs((day - p.preferred_day).days)
                else:
                    cost = int(abs(pos + 0.5 - target))
                costs[i, day] = cost
                if cost:
                    cost_terms.append(cost * var)
            ok = model.new_bool_var(f"placed[{i}]")
            model.add(sum(vars_) == ok)
            placed.append(ok)

    # Consultant-day capacity.
    load: dict[tuple[str, date], list] = defaultdict(list)
    for (i, day), var in x.items():
        p = pending[i]
        if p.timing is not None:
            load[p.consultant, day].append(full * var)
            if p.timing.overnight:
                load[p.consultant, day - timedelta(days=1)].append(full * var)
        else:
            load[p.consultant, day].append((p.duration + ix.break_min) * var)
    for (c, day), terms in load.items():
        model.add(sum(terms) + pinned_minutes.get((c, day), 0) <= full)

    # A rest day between two onsite visits of one consultant: never on consecutive days (so
    # nobody is sent on a visit a day; the month model counts the room, Index.onsite_room).
    visits: dict[tuple[str, date], list] = defaultdict(list)
    for (i, day), var in x.items():
        if pending[i].timing is not None:
            visits[pending[i].consultant, day].append(var)
    pinned_visits = {(s.consultant, s.start.date()) for s in pinned if s.format == Format.ONSITE}
    for (c, day), vars_ in visits.items():
        if (c, day - timedelta(days=1)) in pinned_visits or (c, day + timedelta(days=1)) in pinned_visits:
            for var in vars_:
                model.add(var == 0)
        following = visits.get((c, day + timedelta(days=1)))
        if following:
            model.add(sum(vars_) + sum(following) <= 1)

    # School-day: at most one session.
    per_school_day: dict[tuple[str, date], list] = defaultdict(list)
    for (i, day), var in x.items():
        for s in pending[i].schools:
            per_school_day[s, day].append(var)
    for vars_ in per_school_day.values():
        if len(vars_) > 1:
            model.add_at_most_one(vars_)

    big = 10_000
    model.minimize(big * sum(1 - v for v in placed) + sum(cost_terms))
    # A first-fit placement by the same day rules: the search starts from it, and it is the
    # answer when the search finds nothing in its time (a loaded machine, a short limit: every
    # session used to be dropped then, and the plan held none).
    days_of: dict[int, list[date]] = defaultdict(list)
    for (i, day) in x:
        days_of[i].append(day)
    first_fit = _first_fit(pending, days_of, costs, full, ix.break_min, pinned_minutes, pinned_school_days,
                           pinned_visits)
    for (i, day), var in x.items():
        model.add_hint(var, int(first_fit.get(i) == day))
    for i, ok in enumerate(placed):
        model.add_hint(ok, int(i in first_fit))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(1.0, time_limit)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    status_name = solver.status_name(status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = {i: day for (i, day), var in x.items() if solver.boolean_value(var)}
    else:
        chosen, status_name = first_fit, "FIRST_FIT"
    tz = ZoneInfo(inst.settings.region.timezone)
    sessions: list[Session] = []
    unplaced: list[Pending] = []
    online_by_cd: dict[tuple[str, date], list[int]] = defaultdict(list)
    for i, p in enumerate(pending):
        if i not in chosen:
            unplaced.append(p)
        elif p.timing is None:
            online_by_cd[p.consultant, chosen[i]].append(i)
        else:
            start, end = ix.session_times(chosen[i], p.timing.start_min, p.duration, tz)
            sessions.append(_session(p, start, end))
    for (c, day), idxs in online_by_cd.items():
        # Pinned online sessions of that day keep their times; new ones fill the gaps.
        busy = sorted(
            (s.start.hour * 60 + s.start.minute, s.end.hour * 60 + s.end.minute)
            for s in pinned if s.consultant == c and s.start.date() == day
        )
        clock = ix.day_start
        for i in sorted(idxs, key=lambda i: (pending[i].topic, pending[i].schools)):
            p = pending[i]
            clock = _first_gap(clock, p.duration, busy, ix.break_min)
            start, end = ix.session_times(day, clock, p.duration, tz)
            sessions.append(_session(p, start, end))
            busy.append((clock, clock + p.duration))
            busy.sort()
            clock += p.duration + ix.break_min
    sessions.sort(key=lambda s: (s.start, s.consultant, s.topic))
    return DatePlacement(sessions, unplaced, status_name, solver.wall_time, pinned)


def _first_fit(pending: list[Pending], days_of: dict[int, list[date]], costs: dict[tuple[int, date], int],
               full: int, break_min: int, pinned_minutes: dict[tuple[str, date], int],
               pinned_school_days: set[tuple[str, date]], pinned_visits: set[tuple[str, date]]) -> dict[int, date]:
    """Each session on the first of its allowed days (cheapest first) that keeps every day
    rule of `place_on_days`: the consultant's day (an onsite visit takes it whole, and the day
    before when overnight; online sessions their minutes and the break), a school once a day,
    no two visits of one consultant on consecutive days. Visits and the most constrained
    sessions first."""
    load: dict[tuple[str, date], int] = defaultdict(int, pinned_minutes)
    school_days = set(pinned_school_days)
    visits = set(pinned_visits)
    chosen: dict[int, date] = {}
    one = timedelta(days=1)
    for i in sorted(days_of, key=lambda i: (pending[i].timing is None, len(days_of[i]), i)):
        p, c = pending[i], pending[i].consultant
        for day in sorted(days_of[i], key=lambda d: (costs.get((i, d), 0), d)):
            if p.timing is not None:
                if (c, day - one) in visits or (c, day + one) in visits:
                    continue
                need = [(day, full)] + ([(day - one, full)] if p.timing.overnight else [])
            else:
                need = [(day, p.duration + break_min)]
            if any(load[c, d] + m > full for d, m in need) or any((s, day) in school_days for s in p.schools):
                continue
            for d, m in need:
                load[c, d] += m
            school_days |= {(s, day) for s in p.schools}
            if p.timing is not None:
                visits.add((c, day))
            chosen[i] = day
            break
    return chosen


def _first_gap(clock: int, duration: int, busy: list[tuple[int, int]], brk: int) -> int:
    for b_start, b_end in busy:
        if clock + duration + brk <= b_start or clock >= b_end + brk:
            continue
        clock = max(clock, b_end + brk)
    return clock


def _session(p: Pending, start, end) -> Session:
    sid = p.keep_id or session_id(p.topic, p.consultant, start.isoformat())
    fmt = Format.ONSITE if p.timing is not None else Format.ONLINE
    return Session(sid, p.topic, p.consultant, start, end, fmt, p.municipality, p.schools)
