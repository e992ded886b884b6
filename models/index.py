"""What can happen where: the index sets every model and every explanation is built on.

Pure functions of the instance: which months each consultant is free in (with the
free days), which topics are useful to each school, in which months a school may
attend a topic, and the travel-time rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

from models.calendar_days import Month, month_first_day
from models.domain import Consultant, Format, Instance, School, Stage, Topic


def hhmm(text: str) -> int:
    """'10:30' -> minutes after midnight."""
    h, m = text.split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class OnsiteTiming:
    """When an onsite visit can start, by the travel-time rule.

    Travel time one way = distance between centres × road_factor / travel_speed_kmh.
    The consultant leaves home at `depart` at the earliest; the visit starts at
    max(day_start, depart + travel), rounded up to the next 30 minutes (not rounded
    when only the exact arrival time lets it end by day_end). When the visit would
    end after day_end even so, the consultant travels the evening before
    (`overnight`): the previous calendar day must be free of their sessions and
    they must be available on it, and the visit starts at day_start. An onsite visit
    takes the consultant's whole working day: nothing else that day.
    """

    start_min: int
    overnight: bool
    travel_min: int


class Index:
    """Index sets of one instance (see module docstring)."""

    def __init__(self, instance: Instance):
        self.inst = instance
        cal = instance.calendar
        self.months: list[Month] = cal.open_months
        self.month_pos: dict[Month, int] = {m: i for i, m in enumerate(self.months)}
        self.school_days: dict[Month, tuple[date, ...]] = cal.open_days_by_month
        timing = instance.settings.timing
        self.day_start = hhmm(timing.day_start)
        self.day_end = hhmm(timing.day_end)
        self.depart = hhmm(timing.depart)
        self.break_min = timing.break_min

    @property
    def day_minutes(self) -> int:
        return self.day_end - self.day_start

    # --- consultants -------------------------------------------------------------------

    @cached_property
    def free_days(self) -> dict[str, dict[Month, tuple[date, ...]]]:
        """Consultant -> month -> the open days they are available on."""
        cal = self.inst.calendar
        return {c.id: cal.days_free_of(c.unavailable) for c in self.inst.consultants.values()}

    def unavailable_on(self, consultant: Consultant, day: date) -> bool:
        return any(day in r for r in consultant.unavailable)

    @cached_property
    def _free_day_sets(self) -> dict[str, frozenset[date]]:
        """Consultant -> all their open days (free_days without the months)."""
        return {c: frozenset(d for ds in months.values() for d in ds) for c, months in self.free_days.items()}

    def evening_free_days(self, consultant: str, days) -> int:
        """How many of these open days of the consultant follow a day that is not one of their
        open days (a weekend, a holiday, a blocked month's day) and on which they are not
        unavailable: an overnight visit on such a day travels the evening before at no cost
        of an open day. Every other overnight visit costs two open days."""
        free = self._free_day_sets[consultant]
        c = self.inst.consultants[consultant]
        return sum(1 for d in days
                   if (prev := d - timedelta(days=1)) not in free and not self.unavailable_on(c, prev))

    def onsite_cap(self, consultant: str) -> int | None:
        """A consultant's onsite visits per month at most (None: no limit): their own
        `max_onsite_per_month`, else the setting of the same name (0 = none)."""
        c = self.inst.consultants[consultant]
        cap = c.max_onsite_per_month if c.max_onsite_per_month is not None \
            else self.inst.settings.rules.max_onsite_per_month
        return cap or None

    def onsite_room(self, consultant: str, days) -> int:
        """How many onsite visits fit these open days of the consultant: at most `onsite_cap`,
        and never two on consecutive calendar days (a rest day between visits, so nobody is
        sent on a visit a day): the most days of `days` no two of which are adjacent."""
        key = (consultant, tuple(days))
        room = self._rooms.get(key)
        if room is None:
            room = self._rooms[key] = self._onsite_room(consultant, key[1])
        return room

    def month_onsite_room(self, consultant: str, month: Month) -> int:
        """`onsite_room` of all the consultant's free days of the month."""
        return self.onsite_room(consultant, self.free_days[consultant].get(month, ()))

    def visit_room(self, consultant: str, month: Month) -> int:
        """Verification visits the consultant can make in the month on their own: its onsite
        room, and no more than `max_per_month` sessions (a visit is a session)."""
        return min(self.month_onsite_room(consultant, month), self.inst.consultants[consultant].max_per_month)

    @cached_property
    def _rooms(self) -> dict[tuple, int]:
        return {}

    def _onsite_room(self, consultant: str, days) -> int:
        room, last = 0, None
        for d in sorted(days):
            if last is None or (d - last).days > 1:
                room, last = room + 1, d
        cap = self.onsite_cap(consultant)
        return room if cap is None else min(room, cap)

    @cached_property
    def topic_months(self) -> dict[str, list[Month]]:
        """Topic -> open months it may be held in."""
        return {
            t.id: [m for m in self.months if not t.months or m in t.months]
            for t in self.inst.topics.values()
        }

    @cached_property
    def deliverers(self) -> dict[str, list[str]]:
        return {t: [c.id for c in self.inst.deliverers(t)] for t in self.inst.topics}

    def available_deliverers(self, topic: str, month: Month) -> list[str]:
        if month not in self.topic_months[topic]:
            return []
        return [c for c in self.deliverers[topic] if self.free_days[c].get(month)]

    # --- schools -----------------------------------------------------------------------

    def verifiers(self, school: School, topic: Topic) -> list[str]:
        """Who may give this school its verification visit on this topic."""
        if school.curator is not None:
            return [school.curator] if topic.id in self.inst.consultants[school.curator].topics else []
        return self.inst.nearest_visitors(school.id, topic.id)

    def needs_verification(self, school: School) -> bool:
        return school.verified_on is None and not school.withdrawn

    @cached_property
    def useful_topics(self) -> dict[str, list[str]]:
        """School -> non-verification topics that address one of its risks, plus their prerequisites."""
        out: dict[str, list[str]] = {}
        topics = self.inst.topics
        for s in self.inst.schools.values():
            chosen: list[str] = []
            if s.withdrawn:
                out[s.id] = chosen
                continue
            stack = [t.id for t in topics.values()
                     if t.stage != Stage.VERIFICATION and set(t.risks) & set(s.risks)]
            while stack:
                t = stack.pop(0)
                if t in chosen or topics[t].stage == Stage.VERIFICATION:
                    continue
                chosen.append(t)
                stack.extend(topics[t].requires)
            out[s.id] = sorted(chosen, key=list(topics).index)
        return out

    @cached_property
    def usable_topics(self) -> list[str]:
        """Topics some school can use (the programme a region holds): a topic useful to a
        school (one of its risks, or a prerequisite of such), and the verification topics
        when some school still needs its visit. In catalogue order."""
        used = {t for topics in self.useful_topics.values() for t in topics}
        if any(self.needs_verification(s) for s in self.inst.schools.values()):
            used |= {t.id for t in self.inst.verification_topics}
        return [t for t in self.inst.topics if t in used]

    def relevant(self, school: str, topic: str) -> bool:
        """Does the topic address one of the school's risks (an attendance that counts as depth)?"""
        return bool(set(self.inst.topics[topic].risks) & set(self.inst.schools[school].risks))

    def needs_after_verification(self, topic: Topic) -> bool:
        """Must this topic come after the school's verification?"""
        if topic.stage == Stage.VERIFICATION:
            return False
        if self.inst.settings.rules.verification_first or topic.stage == Stage.PROGRAM:
            return True
        return any(self.inst.topics[r].stage == Stage.VERIFICATION for r in topic.requires)

    def attend_months(self, school: School, topic: Topic) -> list[Month]:
        """Months in which the school could attend the topic, before any other school's choice."""
        months = [m for m in self.topic_months[topic.id] if self.available_deliverers(topic.id, m)]
        if self.needs_after_verification(topic):
            if school.verified_on is None:
                months = months[1:] if months and months[0] == self.months[0] else months
            else:
                months = [m for m in months if month_first_day(m) > school.verified_on]
        return months

    # --- travel ------------------------------------------------------------------------

    def travel_minutes(self, consultant: str, municipality: str) -> int:
        home = self.inst.consultants[consultant].municipality
        km = self.inst.distance_km(home, municipality) * self.inst.settings.timing.road_factor
        return math.ceil(km / self.inst.settings.timing.travel_speed_kmh * 60)

    def onsite_timing(self, consultant: str, municipality: str, duration: int) -> OnsiteTiming:
        key = (consultant, municipality, duration)
        timing = self._timings.get(key)
        if timing is None:
            timing = self._timings[key] = self._onsite_timing(consultant, municipality, duration)
        return timing

    @cached_property
    def _timings(self) -> dict[tuple[str, str, int], OnsiteTiming]:
        return {}

    def _onsite_timing(self, consultant: str, municipality: str, duration: int) -> OnsiteTiming:
        travel = self.travel_minutes(consultant, municipality)
        earliest = max(self.day_start, self.depart + travel)
        start = -(-earliest // 30) * 30
        if start + duration <= self.day_end:
            return OnsiteTiming(start, False, travel)
        if earliest + duration <= self.day_end:
            # Rounding would push the end past day_end, but the visit fits from the arrival
            # itself: the same-day trip still works, so no night away (the validator agrees).
            return OnsiteTiming(earliest, False, travel)
        return OnsiteTiming(self.day_start, True, travel)

    def session_times(self, day: date, start_min: int, duration: int, tz) -> tuple[datetime, datetime]:
        start = datetime.combine(day, time(start_min // 60, start_min % 60), tzinfo=tz)
        return start, start + timedelta(minutes=duration)

    def fits_day(self, topic: Topic) -> bool:
        return topic.duration_min <= self.day_minutes

    def is_onsite(self, topic: Topic) -> bool:
        return topic.format == Format.ONSITE

    def overnight(self, topic: str, consultant: str, municipality: str | None) -> bool:
        """Does a session of this topic by this consultant in this municipality (None: online)
        make them travel the evening before (the travel-time rule, `onsite_timing`)?"""
        t = self.inst.topics[topic]
        return municipality is not None and self.is_onsite(t) and \
            self.onsite_timing(consultant, municipality, t.duration_min).overnight
