"""The baseline the optimiser is measured against: a first-come greedy, as done by hand.

Schools in priority order (then by id); for each school, its verification visit first
(by its curator), then each risk in turn: the first topic addressing it (prerequisites
first) goes into the earliest month where the school still has a free slot and either
a session of that topic already planned there has a seat (same municipality when
onsite), or a consultant who delivers it still has room: the first such consultant in
the list (by id), as the issue defines the hand method ("topics in order, consultant in
order, fill schools first come"); a school without a curator likewise gets the first of
its allowed visitors (`visitor_candidates`) with room. Dates come from the same date
placement as the optimiser's, so both plans are checked by the same `validate`.

Every hard rule of the month level is kept: topic months, consultant availability,
max_per_month, max_total and free days (travel days included), the school monthly
limit, prerequisites and verification strictly earlier, capacity, one municipality
per onsite session, a consultant's onsite visits per month (`Index.onsite_room`).
"""

from __future__ import annotations

import time
from collections import defaultdict

from models.calendar_days import Month, month_first_day
from models.consultation import MonthSession
from models.dates import expand_groups, place_on_days
from models.domain import Format, Instance, Plan, School, Stage
from models.index import Index
from models.programme import explain_programme
from models.score import score_plan
from models.unmet import explain_unmet


class _Greedy:
    def __init__(self, inst: Instance, ix: Index | None = None, visitor_order: dict[str, list[str]] | None = None):
        self.inst, self.ix = inst, ix or Index(inst)
        # The optimiser's start only (never the hand method): school -> its visitors in the
        # order to try them, each in its earliest month with room, instead of the first by id
        # with room in the earliest month.
        self.visitor_order = visitor_order
        self.full_day = self.ix.day_minutes + self.ix.break_min
        self.used_sessions: dict[tuple[str, Month], int] = defaultdict(int)
        self.used_minutes: dict[tuple[str, Month], int] = defaultdict(int)
        self.overnights: dict[tuple[str, Month], int] = defaultdict(int)
        self.onsite: dict[tuple[str, Month], int] = defaultdict(int)
        self.total: dict[str, int] = defaultdict(int)
        self.school_month: dict[tuple[str, Month], int] = defaultdict(int)
        self.attended: dict[str, dict[str, int]] = defaultdict(dict)  # school -> topic -> month pos
        self.verified_pos: dict[str, int] = {}
        # (topic, consultant, month, municipality) -> list of sessions, each a list of schools
        self.sessions: dict[tuple[str, str, Month, str | None], list[list[str]]] = defaultdict(list)

    # --- capacity -----------------------------------------------------------------------

    def _cost_minutes(self, topic: str, c: str, month: Month, mun: str | None) -> int:
        """Minutes of the consultant's month this session takes: an onsite visit its day, an
        overnight one also the evening before unless the month's free evenings (days after a
        day off) are not used up yet (the month model's rule)."""
        t = self.inst.topics[topic]
        if t.format == Format.ONSITE and mun is not None:
            days = 1
            if self.ix.overnight(topic, c, mun):
                free_evenings = self.ix.evening_free_days(c, self.ix.free_days[c].get(month, ()))
                days += 1 if self.overnights[c, month] >= free_evenings else 0
            return days * self.full_day
        return t.duration_min + self.ix.break_min

    def _consultant_has_room(self, topic: str, c: str, month: Month, mun: str | None) -> bool:
        cons = self.inst.consultants[c]
        if self.used_sessions[c, month] >= cons.max_per_month:
            return False
        if cons.max_total is not None and self.total[c] >= cons.max_total:
            return False
        days = self.ix.free_days[c].get(month, ())
        if mun is not None and self.inst.topics[topic].format == Format.ONSITE \
                and self.onsite[c, month] >= self.ix.onsite_room(c, days):
            return False
        return self.used_minutes[c, month] + self._cost_minutes(topic, c, month, mun) <= len(days) * self.full_day

    def _open(self, topic: str, c: str, month: Month, mun: str | None, school: str) -> None:
        self.used_sessions[c, month] += 1
        self.used_minutes[c, month] += self._cost_minutes(topic, c, month, mun)
        if self.ix.overnight(topic, c, mun):
            self.overnights[c, month] += 1
        if mun is not None and self.inst.topics[topic].format == Format.ONSITE:
            self.onsite[c, month] += 1
        self.total[c] += 1
        self.sessions[topic, c, month, mun].append([school])

    # --- scheduling one school --------------------------------------------------------

    def _place(self, school: School, topic: str, after: int, verifiers: list[str] | None = None) -> int | None:
        """Put `school` into a session of `topic` in the earliest month after position
        `after`; returns the month position or None."""
        inst, ix = self.inst, self.ix
        t = inst.topics[topic]
        mun = school.municipality if t.format == Format.ONSITE else None
        limit = inst.settings.rules.school_max_sessions_per_month
        for month in ix.topic_months[topic]:
            pos = ix.month_pos[month]
            if pos <= after or self.school_month[school.id, month] >= limit:
                continue
            if verifiers is None:
                # join a planned session with a free seat
                for (t2, c, m2, mun2), lists in self.sessions.items():
                    if t2 != topic or m2 != month or mun2 != mun:
                        continue
                    for members in lists:
                        if len(members) < t.capacity:
                            members.append(school.id)
                            self.school_month[school.id, month] += 1
                            return pos
            candidates = verifiers if verifiers is not None else ix.deliverers[topic]
            candidates = [c for c in candidates if ix.free_days[c].get(month)
                          and self._consultant_has_room(topic, c, month, mun)]
            if not candidates:
                continue
            c = min(candidates)  # the hand method: the first consultant in the list with room
            self._open(topic, c, month, mun, school.id)
            self.school_month[school.id, month] += 1
            return pos
        return None

    def _attend(self, school: School, topic: str, depth: int = 0) -> int | None:
        """Attend `topic` with its prerequisites first; returns the month position or None."""
        if topic in self.attended[school.id]:
            return self.attended[school.id][topic]
        t = self.inst.topics[topic]
        if t.stage == Stage.VERIFICATION:
            return self.verified_pos.get(school.id)
        if depth > len(self.inst.topics):
            return None
        after = -1
        for r in t.requires:
            pos = self._attend(school, r, depth + 1)
            if pos is None:
                return None
            after = max(after, pos)
        if self.ix.needs_after_verification(t) and school.verified_on is None:
            pos = self.verified_pos.get(school.id)
            if pos is None:
                return None
            after = max(after, pos)
        elif self.ix.needs_after_verification(t) and school.verified_on is not None:
            # only months starting after the verification date
            after = max(after, max((self.ix.month_pos[m] for m in self.ix.months
                                    if month_first_day(m) <= school.verified_on), default=-1))
        pos = self._place(school, topic, after)
        if pos is not None:
            self.attended[school.id][topic] = pos
        return pos

    def run(self) -> list[MonthSession]:
        inst, ix = self.inst, self.ix
        k = inst.settings.rules.min_topics_per_risk
        schools = sorted(inst.schools.values(), key=lambda s: (s.priority, s.id))
        for s in schools:
            if s.withdrawn:
                continue
            if s.verified_on is None:
                for topic in inst.verification_topics:
                    verifiers = ix.verifiers(s, topic)
                    if self.visitor_order is not None and s.id in self.visitor_order:
                        order = self.visitor_order[s.id]
                        pos = None
                        for c in [c for c in order if c in verifiers] + [c for c in verifiers if c not in order]:
                            pos = self._place(s, topic.id, -1, verifiers=[c])
                            if pos is not None:
                                break
                    else:
                        pos = self._place(s, topic.id, -1, verifiers=verifiers)
                    if pos is not None:
                        self.verified_pos[s.id] = pos
                        break
            for risk in s.risks:
                got = sum(1 for t in self.attended[s.id] if risk in inst.topics[t].risks)
                for topic in inst.topics_for_risk(risk):
                    if got >= k:
                        break
                    if topic.stage == Stage.VERIFICATION or topic.id in self.attended[s.id]:
                        continue
                    if self._attend(s, topic.id) is not None:
                        got += 1
        groups = []
        for (t, c, month, mun), lists in self.sessions.items():
            for members in lists:
                groups.append(MonthSession(t, c, month, mun, 1, sorted(members)))
        return groups


def greedy_groups(instance: Instance, visitor_order: dict[str, list[str]] | None = None) -> list[MonthSession]:
    """The greedy's month-level sessions (used as a solver hint too). With `visitor_order`
    (school -> its visitors, best first) a school's visit goes to the first of them with room
    in some month: a start for the optimiser (`models.visitors`), not the hand method."""
    return _Greedy(instance, visitor_order=visitor_order).run()


def greedy_plan(instance: Instance, workers: int = 2) -> Plan:
    """The first-come greedy plan, dated and scored like the optimiser's."""
    t0 = time.monotonic()
    g = _Greedy(instance)
    groups = g.run()
    pending = expand_groups(instance, g.ix, groups)
    placement = place_on_days(instance, g.ix, pending, None, 20.0, workers, 0)
    sessions = sorted(placement.sessions, key=lambda s: (s.start, s.consultant, s.topic))
    plan = Plan(instance.name, "GREEDY", None, None, 0.0, sessions, [])
    plan.unmet = explain_unmet(instance, plan, g.ix)
    plan.unheld_topics, plan.support_gaps = explain_programme(instance, plan, g.ix)
    plan.score = score_plan(instance, plan)
    plan.objective = float(plan.score["weighted_total"])
    plan.solve_seconds = round(time.monotonic() - t0, 2)
    plan.meta = {"method": "greedy", "unplaced": len(placement.unplaced)}
    return plan
