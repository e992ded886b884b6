"""The typed domain: a validated instance and a plan. Plain data, no I/O, no solver.

Ids are kept exactly as the working group wrote them, so every output names the
same schools, consultants and topics as their spreadsheets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property

from models.calendar_days import DateRange, Month, WorkCalendar
from models.settings import Settings

VERIFICATION_NEED = "verification"
"""The `risk` value of an unmet need that is a missing verification visit."""


class Stage(StrEnum):
    VERIFICATION = "verification"
    PROGRAM = "program"
    SUPPORT = "support"
    MONITORING = "monitoring"


class Format(StrEnum):
    ONSITE = "onsite"
    ONLINE = "online"


STAGE_TITLES = {
    Stage.VERIFICATION: "верификация рискового профиля",
    Stage.PROGRAM: "разработка программ",
    Stage.SUPPORT: "сопровождение",
    Stage.MONITORING: "мониторинг",
}
FORMAT_TITLES = {Format.ONSITE: "выездная", Format.ONLINE: "онлайн (ВКС)"}


@dataclass(frozen=True)
class Municipality:
    id: str
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Risk:
    id: str
    title: str


@dataclass(frozen=True)
class School:
    id: str
    name: str
    municipality: str
    risks: tuple[str, ...]
    priority: int = 2
    verified_on: date | None = None
    curator: str | None = None
    withdrawn: bool = False  # left the programme (a replan scenario): no further sessions or needs


@dataclass(frozen=True)
class Consultant:
    id: str
    name: str
    position: str
    municipality: str
    topics: tuple[str, ...]
    max_per_month: int
    max_total: int | None = None
    unavailable: tuple[DateRange, ...] = ()
    max_onsite_per_month: int | None = None  # None: the settings' rules.max_onsite_per_month


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    risks: tuple[str, ...]
    stage: Stage
    format: Format
    duration_min: int
    capacity: int
    requires: tuple[str, ...] = ()
    months: tuple[Month, ...] = ()


@dataclass(frozen=True)
class Activity:
    """A roadmap activity (мероприятие дорожной карты)."""

    id: str
    title: str
    responsible: str = ""
    indicator: str = ""
    earliest: date | None = None
    latest: date | None = None
    duration_days: int = 0
    after: tuple[str, ...] = ()
    fixed: date | None = None
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Instance:
    """A validated instance: every reference resolves, every value is in range."""

    name: str
    settings: Settings
    municipalities: dict[str, Municipality]
    risks: dict[str, Risk]
    schools: dict[str, School]
    consultants: dict[str, Consultant]
    topics: dict[str, Topic]
    activities: dict[str, Activity] = field(default_factory=dict)

    @cached_property
    def calendar(self) -> WorkCalendar:
        h = self.settings.horizon
        return WorkCalendar(
            start=h.start,
            end=h.end,
            country=self.settings.region.holidays,
            blocked_months=h.blocked_months,
            vacations=h.vacations,
        )

    @cached_property
    def school_labels(self) -> dict[str, str]:
        """How people read a school in a list: its name, with the municipality added when
        another school has the same name («МБОУ «СОШ № 1»» exists in many towns), and the
        id added when even that is ambiguous."""
        by_name: dict[str, list[str]] = {}
        for sid, sch in self.schools.items():
            by_name.setdefault(sch.name, []).append(sid)
        labels: dict[str, str] = {}
        for name, ids in by_name.items():
            if len(ids) == 1:
                labels[ids[0]] = name
                continue
            muns = [self.schools[sid].municipality for sid in ids]
            for sid, mun in zip(ids, muns, strict=True):
                m = self.municipalities.get(mun)
                label = f"{name}, {m.name if m else mun}"
                labels[sid] = label if muns.count(mun) == 1 else f"{label} ({sid})"
        return labels

    def school_label(self, school: str) -> str:
        """`school_labels[school]`, or the id itself for a school the instance does not know."""
        return self.school_labels.get(school, school)

    def nearest_visitors(self, school: str, topic: str) -> list[str]:
        """Consultants who deliver `topic`, nearest to the school first (round trip, then id),
        cut to `rules.visitor_candidates` when that is set: who may verify a school that has
        no curator."""
        sch = self.schools[school]
        ranked = sorted((c for c in self.consultants.values() if topic in c.topics),
                        key=lambda c: (self.round_trip_km(c.id, sch.municipality), c.id))
        k = self.settings.rules.visitor_candidates
        return [c.id for c in (ranked[:k] if k else ranked)]

    @cached_property
    def _distances(self) -> dict[tuple[str, str], float]:
        return {}

    def distance_km(self, a: str, b: str) -> float:
        """Great-circle distance between two municipalities' centres, km (computed once a pair)."""
        d = self._distances.get((a, b))
        if d is None:
            d = self._distances[a, b] = self._distances[b, a] = haversine_km(self.municipalities[a],
                                                                               self.municipalities[b])
        return d

    def round_trip_km(self, consultant: str, municipality: str) -> int:
        """Round trip from the consultant's home centre to a municipality, whole km."""
        home = self.consultants[consultant].municipality
        return round(2 * self.distance_km(home, municipality))  # distances are cached

    def topics_for_risk(self, risk: str) -> list[Topic]:
        return [t for t in self.topics.values() if risk in t.risks]

    def deliverers(self, topic: str) -> list[Consultant]:
        return [c for c in self.consultants.values() if topic in c.topics]

    @property
    def verification_topics(self) -> list[Topic]:
        return [t for t in self.topics.values() if t.stage == Stage.VERIFICATION]


def haversine_km(a: Municipality, b: Municipality) -> float:
    r = 6371.0
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


# --- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """One consultation: a topic, by one consultant, at one time, for some schools."""

    id: str
    topic: str
    consultant: str
    start: datetime
    end: datetime
    format: Format
    municipality: str | None
    schools: tuple[str, ...]
    sequence: int = 0  # iCalendar SEQUENCE: raised each time a replan changes the session

    @property
    def day(self) -> date:
        return self.start.date()


@dataclass(frozen=True)
class Unmet:
    school: str
    risk: str
    reason: str
    code: str = ""


@dataclass(frozen=True)
class UnheldTopic:
    """A topic of the programme (useful to some school) that the plan does not hold."""

    topic: str
    reason: str
    code: str = ""


@dataclass(frozen=True)
class SupportGap:
    """A school left without support longer than the rules allow: `kind` "gap" (open months
    without a consultation after its verification, more than `max_gap_months` in a row) or
    "late_verification" (its visit after its first `verification_months` possible months;
    `months` are the months it waited)."""

    school: str
    kind: str
    months: tuple[str, ...]
    reason: str
    code: str = ""


@dataclass(frozen=True)
class ActivityDates:
    id: str
    start: date
    end: date
    slack_days: int | None = None
    critical: bool | None = None


@dataclass
class Plan:
    """A plan as `plan.json` holds it (see shared/formats.md)."""

    instance: str
    status: str
    objective: float | None
    bound: float | None
    solve_seconds: float
    sessions: list[Session]
    unmet: list[Unmet]
    activities: list[ActivityDates] = field(default_factory=list)
    score: dict[str, float] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)
    # Sessions of the baseline that a replan removed: calendars write them as STATUS:CANCELLED
    # with their `sequence` already raised.
    cancelled: list[Session] = field(default_factory=list)
    # The programme's exceptions, each with its reason (like `unmet`): topics not held,
    # schools left without support too long.
    unheld_topics: list[UnheldTopic] = field(default_factory=list)
    support_gaps: list[SupportGap] = field(default_factory=list)

    @property
    def freeze_before(self) -> date | None:
        """A replanned plan's freeze date (`meta.replan.freeze_before`; sessions before it are
        history), else None (also when the recorded value is not a date)."""
        r = self.meta.get("replan") if isinstance(self.meta, dict) else None
        if isinstance(r, dict) and r.get("freeze_before"):
            try:
                return date.fromisoformat(str(r["freeze_before"]))
            except ValueError:
                return None
        return None

    def sessions_of_school(self, school: str) -> list[Session]:
        return [s for s in self.sessions if school in s.schools]
