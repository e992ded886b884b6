"""A start for the programme: sessions opened month by month where they gain the most.

With depth (`relevant_attendance`) the plan is no longer a small set cover: a school attends
up to its monthly limit, and the question is which topics are held in which month, by whom,
so that every school finds relevant ones each month and the sessions are full. CP-SAT from
scratch wanders on that (phase 2 of the month model has a weak LP); a good start lets it
polish instead of search.

The construction works month by month, in order. In each month it first gives the
verification visits (each unverified school in the earliest month its verifier has room,
the hand greedy's `_place`), then repeatedly opens the session that gains the most under
phase 2's own weights: the schools that may attend it (a free slot this month, the topic
useful, not yet attended, prerequisites and verification in earlier months), each worth
the relevant-attendance gain (less the attendance cost, less the early-programme delay),
a large bonus for a risk still uncovered, the gap weight for a school without a session
last month; less the session, its km, the visit day, a raised maximum load; plus, for a
topic not held yet, what holding it costs at its cheapest place (so it is held where that
is cheap), and in its last month the unheld-topic weight. A school takes a second session
in a month only while it keeps a topic for each month left (support lasts the year). Values
only fall as schools fill, so a lazy priority queue finds the best session each time.

Two constructions: the even one, and the depth-first one, whose visits go early to the
schools with the most topics to fit after them (`models.visitors.visit_months`'
`lost_slots`) and where a webinar in some schools' last month for its topic goes before
those they could still take later (`LAST_CHANCE`). `models.solve` starts from one of them
(`prefer_depth_first`): on large regions the depth-first one gains 2 %, on Kuzbass nothing,
and there it crowds September.

Every rule of the month model is kept (its index sets and count bounds are read from the
model itself, capacities from the greedy's bookkeeping), so the result is a feasible
hint; `ConsultationModel.values_from_groups` turns it into one.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping

from models.calendar_days import Month
from models.consultation import ConsultationModel, MonthSession
from models.domain import Format, Stage
from models.greedy import _Greedy
from models.visitors import visit_months

COVER_BONUS = 10_000
"""Value of meeting a school's uncovered risk: coverage comes first (phase 1)."""

HOLD_SLACK = 60
"""A topic not held yet is held as soon as a session of it costs at most this much more than
at its cheapest place (km and weights)."""

LAST_CHANCE = 1.0
"""In the depth-first construction, a webinar that pays on its own and is, for some of its
schools, their last month for that topic on their risks (a topic held only March–June)
gains this many relevant-attendance weights per such school in the order sessions are
opened: the other topics can wait, this one is lost (it never opens a session that does not
pay). On 1 000 open schools T20, held March–June, had 229 attendances against the
relaxation's 639: the earlier months' slots went to topics that could have waited; with it
600, construction −442 285 → −444 864 (300 open −134 105 → −134 999; Kuzbass −36 332 →
−36 298). 0.2 to 2 gave the same plans there."""


GUIDE = 0.16
"""With a guide (the relaxation's LP optimum, `RelaxationResult.lp_attend`: for each school
and topic 0 or 1, a few halves), a school's value for a topic moves by this many
relevant-attendance weights × (its LP value − ½): a tie-break between a school's topics
towards the choice the bound itself makes, not an order. On 1 000 open schools, from the
depth-first construction −445 144: 0.04 → −445 863, 0.08 → −445 823, 0.12 → −447 612,
0.16 → −448 647, 0.2 → −448 467, 0.24 → −448 385, 0.4 → −447 867, 1.0 → −446 481 (300 open
−133 682 → −134 144 at 0.16); on Kuzbass the guide made it worse (−36 313 → −35 415: its LP
is 14 % from the plans, no guide), so a guided plan is one more start, kept only when it is
better (`models.solve`)."""


class _Construct(_Greedy):
    def __init__(self, cm: ConsultationModel, depth_first: bool = False,
                 guide: Mapping[tuple[str, str], float] | None = None):
        super().__init__(cm.inst, cm.ix)
        self.cm = cm
        self.depth_first = depth_first
        self.guide = guide
        inst, ix = self.inst, self.ix
        self.w = inst.settings.weights
        self.k = inst.settings.rules.min_topics_per_risk
        self.limit = inst.settings.rules.school_max_sessions_per_month
        self.pos = ix.month_pos
        self.ub = cm.count_ub
        self.opened: dict[tuple, int] = defaultdict(int)
        self.opened_tcm: dict[tuple, int] = defaultdict(int)
        # (topic, month, place) -> schools with an attendance variable there
        self.pool: dict[tuple[str, Month, str | None], list[str]] = defaultdict(list)
        self.school_topics: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for (s, t, m) in cm.attend:
            self.pool[t, m, cm._mun(s, t)].append(s)
            self.school_topics[s][t].append(ix.month_pos[m])
        self.early = cm.early_pairs()
        self.covered: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.held: set[str] = set()
        self.usable = set(ix.usable_topics) if inst.settings.rules.hold_every_topic else set()
        # the months each usable topic could still be held in (for the unheld bonus)
        self.topic_months: dict[str, set[int]] = defaultdict(set)
        for (t, m, _mun) in self.pool:
            self.topic_months[t].add(self.pos[m])
        if cm.opt.fixed_counts is not None:  # the reference graph: a topic only in its sessions' months
            held_in: dict[str, set[int]] = defaultdict(set)
            for (t, _c, m), n in cm.opt.fixed_counts.items():
                if n > 0 and m in self.pos:
                    held_in[t].add(self.pos[m])
            for t in self.topic_months:
                if inst.topics[t].stage != Stage.VERIFICATION:
                    self.topic_months[t] &= held_in.get(t, set())
        self._left: dict[tuple[str, Month], int] = {}
        self._hold_cost: dict[str, float] = {}
        for (t, m, mun) in self.pool:
            cost = self.w.session
            if mun is not None:
                cost += min((self.w.travel_km * self.inst.round_trip_km(c, mun) for c in ix.deliverers[t]),
                            default=0) + (self.w.onsite_visit if self.w.relevant_attendance else 0)
            elif self.w.relevant_attendance:
                cost += self.w.online_session
            self._hold_cost[t] = min(self._hold_cost.get(t, cost), cost)
        self.max_load = 0
        self.month_cap = {m: min(self.limit, len(ix.school_days.get(m, ()))) for m in ix.months}
        self.unverified = {s.id for s in inst.schools.values() if s.verified_on is None}
        # topic -> (must come after the school's verification, its non-verification prerequisites)
        self.topic_rules = {
            t.id: (ix.needs_after_verification(t)
                   or any(inst.topics[r].stage == Stage.VERIFICATION for r in t.requires),
                   tuple(r for r in t.requires if inst.topics[r].stage != Stage.VERIFICATION))
            for t in inst.topics.values()}
        self.urgent = True  # coverage and gap bonuses count (see run)

    # --- values -------------------------------------------------------------------------

    def _school_value(self, s: str, t: str, month: Month) -> float:
        ix, w = self.ix, self.w
        value = (w.relevant_attendance if ix.relevant(s, t) else 0) - w.attendance
        if self.guide is not None:
            value += GUIDE * w.relevant_attendance * (self.guide.get((s, t), 0.0) - 0.5)
        if (s, t) in self.early:
            value -= w.early_program * self.pos[month]
        for r in set(self.inst.topics[t].risks) & set(self.inst.schools[s].risks):
            if self.covered[s][r] < self.k:
                value += COVER_BONUS
        if not self.urgent:
            return value
        p = self.pos[month]
        if self.inst.settings.rules.max_gap_months > 0 and p > 0 and self._supported_since(s, p) \
                and not self.school_month[s, month] and not self.school_month[s, self.ix.months[p - 1]]:
            value += w.gap_month
        return value

    def _paced(self, s: str, month: Month) -> bool:
        """May the school take one more session this month and still keep an online topic for
        each month left (support lasts the year without a trip for one school)? Its first
        session of a month always may."""
        if not self.school_month[s, month] or not self.inst.settings.rules.max_gap_months:
            return True
        p = self.pos[month]
        months_left = len(self.ix.months) - 1 - p
        if months_left == 0:
            return True  # the last month: nothing left to keep a topic for
        left = self._left.get((s, month))
        if left is None:
            left = sum(1 for t, months in self.school_topics[s].items() if t not in self.attended[s]
                       and self.inst.topics[t].format == Format.ONLINE and any(q > p for q in months))
            self._left[s, month] = left
        return left > months_left

    def _last_chance(self, s: str, t: str, month: Month) -> bool:
        """Is this month the school's last for topic t, one on its risks (`LAST_CHANCE`)?
        Programme topics of priority-1 schools are left out: their earliness is weighed."""
        p = self.pos[month]
        return ((s, t) not in self.early and self.ix.relevant(s, t)
                and not any(q > p for q in self.school_topics[s][t]))

    def _supported_since(self, s: str, p: int) -> bool:
        """Is the school past its verification (so a month without a session is a gap)?"""
        sch = self.inst.schools[s]
        if sch.verified_on is not None:
            return True
        return s in self.verified_pos and self.verified_pos[s] < p - 1

    def _eligible(self, s: str, t: str, month: Month) -> bool:
        attended = self.attended[s]
        if t in attended or self.school_month[s, month] >= self.month_cap[month]:
            return False
        if not self._paced(s, month):
            return False
        p = self.pos[month]
        after_visit, requires = self.topic_rules[t]
        if after_visit and s in self.unverified and self.verified_pos.get(s, 10**6) >= p:
            return False
        return all(attended.get(req, 10**6) < p for req in requires)

    def _consultant(self, t: str, month: Month, mun: str | None) -> tuple[str, float] | None:
        """The consultant who would hold a new session here at the least cost, and that cost."""
        best = None
        fixed = self.cm.opt.fixed_counts
        for c in self.ix.available_deliverers(t, month):
            key = (t, c, month, mun)
            if key not in self.ub or self.opened[key] >= self.ub[key]:
                continue
            if fixed is not None and self.opened_tcm[t, c, month] >= fixed.get((t, c, month), 0):
                continue  # the reference graph's sessions, no more (`ModelOptions.fixed_counts`)
            if not self._consultant_has_room(t, c, month, mun):
                continue
            cost = self.w.max_load if self.total[c] + 1 > self.max_load else 0.0
            if mun is not None:
                cost += self.w.travel_km * self.inst.round_trip_km(c, mun)
                if self.w.relevant_attendance:
                    cost += self.w.onsite_visit
            elif self.w.relevant_attendance:
                cost += self.w.online_session
            cost += 0.01 * self.total[c]  # ties: the less loaded
            if best is None or cost < best[1]:
                best = (c, cost)
        return best

    def _candidate(self, t: str, month: Month, mun: str | None) -> tuple[float, str, list[str]] | None:
        """(value, consultant, schools) of opening one more session of t in this month and place."""
        who = self._consultant(t, month, mun)
        if who is None:
            return None
        c, cost = who
        cap = self.inst.topics[t].capacity
        values = sorted(((self._school_value(s, t, month), s) for s in self.pool[t, month, mun]
                         if self._eligible(s, t, month)), reverse=True)
        chosen = [(v, s) for v, s in values[:cap] if v > 0]
        if not chosen:
            return None
        value = sum(v for v, _s in chosen) - cost - self.w.session
        if value > 0 and self.depth_first and self.inst.topics[t].format == Format.ONLINE:
            value += LAST_CHANCE * self.w.relevant_attendance * sum(1 for _v, s in chosen
                                                                   if self._last_chance(s, t, month))
        if t in self.usable and t not in self.held:
            # Held first at (or near) its cheapest place, else in its last month at any price
            # (up to the unheld-topic weight); elsewhere it is worth what holding it costs.
            last = self.pos[month] >= max(self.topic_months[t])
            cheap = cost + self.w.session <= self._hold_cost[t] + HOLD_SLACK
            value += self.w.unheld_topic if last or cheap else self._hold_cost[t] + 1
        return value, c, [s for _v, s in chosen]

    # --- building -----------------------------------------------------------------------

    def _take(self, t: str, c: str, month: Month, mun: str | None, schools: list[str]) -> None:
        self._open(t, c, month, mun, schools[0])
        self.sessions[t, c, month, mun][-1] = list(schools)
        self.opened[t, c, month, mun] += 1
        self.opened_tcm[t, c, month] += 1
        self.max_load = max(self.max_load, self.total[c])
        self.held.add(t)
        for s in schools:
            self._attend_one(s, t, month)

    def _verifications(self) -> None:
        """Each unverified school's visit: the assignment of `models.visitors.visit_months`
        (every visit placed at once, early and near) where the consultant still has room,
        else the earliest month its verifier has room (the hand greedy's `_place`)."""
        inst, ix = self.inst, self.ix
        assigned = visit_months(inst, ix, self.cm.verify, lost_slots=self.depth_first)
        for s in sorted(inst.schools.values(), key=lambda s: (s.priority, s.id)):
            if not ix.needs_verification(s):
                continue
            if s.id in assigned:
                t, c, month = assigned[s.id]
                if self.school_month[s.id, month] < self.month_cap[month] \
                        and self._consultant_has_room(t, c, month, s.municipality):
                    self._open(t, c, month, s.municipality, s.id)
                    self.school_month[s.id, month] += 1
                    self.verified_pos[s.id] = self.pos[month]
                    self.held.add(t)
                    continue
            for topic in inst.verification_topics:
                allowed = [c for c in ix.verifiers(s, topic)
                           if any(k[:3] == (s.id, topic.id, c) for k in self._verify_keys[s.id])]
                pos = self._place(s, topic.id, -1, verifiers=allowed)
                if pos is not None:
                    self.verified_pos[s.id] = pos
                    self.held.add(topic.id)
                    break

    def _open_best(self, month: Month) -> None:
        """Open, one at a time, the session of the month that gains the most, while one gains."""
        places = [(t, mun) for (t, m, mun) in self.pool if m == month]
        heap: list[tuple[float, int, str, str | None]] = []
        for n, (t, mun) in enumerate(places):
            cand = self._candidate(t, month, mun)
            if cand is not None and cand[0] > 0:
                heapq.heappush(heap, (-cand[0], n, t, mun))
        while heap:
            _neg, n, t, mun = heapq.heappop(heap)
            cand = self._candidate(t, month, mun)
            if cand is None or cand[0] <= 0:
                continue
            if heap and cand[0] < -heap[0][0]:
                heapq.heappush(heap, (-cand[0], n, t, mun))  # stale: look again later
                continue
            value, c, schools = cand
            self._take(t, c, month, mun, schools)
            heapq.heappush(heap, (-value, n, t, mun))  # another session here may pay too

    def _join_month(self, month: Month) -> None:
        """Schools with a free slot take the free seats of this month's sessions, best first."""
        for (t, c, m, mun), lists in self.sessions.items():
            if m != month or self.inst.topics[t].stage == Stage.VERIFICATION:
                continue
            cap = self.inst.topics[t].capacity
            for members in lists:
                room = cap - len(members)
                if room <= 0:
                    continue
                values = sorted(((self._school_value(s, t, m), s) for s in self.pool[t, m, mun]
                                 if self._eligible(s, t, m)), reverse=True)
                for v, s in values[:room]:
                    if v <= 0:
                        break
                    members.append(s)
                    self._attend_one(s, t, m)

    def _join_free_seats(self) -> None:
        """Last, month by month with pacing no longer needed: schools with a free slot join
        sessions that still have seats (no cost but the attendance), then sessions that pay
        for themselves are opened for the slots still free (without the coverage-era gap
        bonus: a gap is judged on the finished months now). On 1 000 open schools the second
        step filled slots the pacing had kept for later months: +2 100 in the objective."""
        pace, self._paced = self._paced, lambda _s, _m: True  # type: ignore[method-assign]
        urgent, self.urgent = self.urgent, False
        try:
            for month in self.ix.months:
                self._join_month(month)
                self._open_best(month)
        finally:
            self._paced = pace  # type: ignore[method-assign]
            self.urgent = urgent

    def _attend_one(self, s: str, t: str, month: Month) -> None:
        self._left.pop((s, month), None)
        self.school_month[s, month] += 1
        self.attended[s][t] = self.pos[month]
        for r in self.inst.topics[t].risks:
            self.covered[s][r] += 1

    def run(self) -> list[MonthSession]:  # type: ignore[override]
        self._verify_keys: dict[str, list[tuple]] = defaultdict(list)
        for key in self.cm.verify:
            self._verify_keys[key[0]].append(key)
        self._verifications()
        for month in self.ix.months:
            # Sessions that pay on their own first (full webinars, visits near home, a risk
            # still uncovered); then schools that still need this month's contact join those
            # sessions' free seats, and only then small sessions are opened for them.
            self.urgent = False
            self._open_best(month)
            self.urgent = True
            self._join_month(month)
            self._open_best(month)
        self._join_free_seats()
        groups = []
        for (t, c, month, mun), lists in self.sessions.items():
            members = sorted(s for lst in lists for s in lst)
            groups.append(MonthSession(t, c, month, mun, len(lists), members))
        return groups


def construct_groups(cm: ConsultationModel, depth_first: bool = False,
                     guide: Mapping[tuple[str, str], float] | None = None) -> list[MonthSession]:
    """The programme's constructive start for the month model `cm` (module docstring);
    `depth_first`: the visits by the topics each school has to fit after them
    (`models.visitors.visit_months`' `lost_slots`) and the last-chance webinars first;
    `guide`: (school, topic) → the relaxation LP's value, a tie-break (`GUIDE`)."""
    return _Construct(cm, depth_first, guide).run()


def is_programme(cm: ConsultationModel) -> bool:
    """Does phase 2 reward depth (so the plan is a programme, not a set cover)?"""
    return cm.inst.settings.weights.relevant_attendance > 0

