"""validate(instance, plan): every rule a plan breaks, checked without the solver.

This module deliberately shares nothing with the CP-SAT models (`models/index.py`,
`models/consultation.py`, `models/dates.py`): it re-reads the rules from the instance
and the plan alone, so that a bug in the model cannot hide itself. Each rule family is
one function named after the rule; `validate` calls them in order.

A violation names its rule (a stable code used by tests), the session or school it
concerns, and says in Russian what is wrong.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from models.calendar_days import month_of
from models.domain import VERIFICATION_NEED, Format, Instance, Plan, Session, Stage


@dataclass(frozen=True)
class Violation:
    rule: str  # stable code, e.g. "consultant_topic"
    message: str  # Russian, for people
    session: str | None = None
    school: str | None = None

    def render(self) -> str:
        where = f"[{self.session}] " if self.session else ""
        return f"{self.rule}: {where}{self.message}"


def validate(instance: Instance, plan: Plan) -> list[Violation]:
    """Every broken rule of `plan` against `instance` (empty list = the plan is valid)."""
    checks = (
        _known_ids,
        _unique_session_ids,
        _consultant_delivers_topic,
        _consultant_available,
        _topic_in_its_months,
        _open_days_only,
        _times_within_working_day,
        _session_capacity,
        _format_and_municipality,
        _consultant_monthly_and_total_limits,
        _school_monthly_limit,
        _school_one_session_a_day,
        _consultant_never_double_booked,
        _onsite_travel_rule,
        _onsite_visits_limited,
        _topic_at_most_once_per_school,
        _prerequisites_strictly_earlier,
        _verification_by_curator_and_first,
        _unmet_is_complete_and_true,
        _programme_exceptions_complete_and_true,
    )
    out: list[Violation] = []
    zoned = _assume_region_zone(instance, plan)
    for check in checks:
        out.extend(check(instance, plan if check is _times_within_working_day else zoned))
    return out


def _assume_region_zone(instance: Instance, plan: Plan) -> Plan:
    """`plan` with every time that lacks a zone read as the region's local time.

    A time without a zone is itself a violation (`times`, checked on the plan as given);
    the other checks compare and sort times, which would fail on a mix of naive and aware
    datetimes, so they see this copy.
    """
    if all(s.start.tzinfo is not None and s.end.tzinfo is not None for s in plan.sessions):
        return plan
    zone = ZoneInfo(instance.settings.region.timezone)

    def fix(t: datetime) -> datetime:
        return t if t.tzinfo is not None else t.replace(tzinfo=zone)

    return replace(plan, sessions=[replace(s, start=fix(s.start), end=fix(s.end)) for s in plan.sessions])


# --- helpers -----------------------------------------------------------------------------


def _sessions(instance: Instance, plan: Plan) -> Iterator[Session]:
    """Sessions whose topic and consultant exist (unknown ids are reported once, elsewhere)."""
    for s in plan.sessions:
        if s.topic in instance.topics and s.consultant in instance.consultants:
            yield s


def _is_history(s: Session, freeze: date | None) -> bool:
    """A session held before a replan's freeze date is fact: limits a scenario changed
    afterwards (a topic's months, its capacity, a consultant's limits) apply from the
    freeze on and do not make the past a violation. Every other rule still applies to it."""
    return freeze is not None and s.start.date() < freeze


def _hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _minutes(t: datetime) -> int:
    return t.hour * 60 + t.minute


def _d(day: date) -> str:
    return day.strftime("%d.%m.%Y")


# --- rule families -----------------------------------------------------------------------


def _known_ids(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: every id in a session exists in the instance; a session has at least one school."""
    for s in plan.sessions:
        if s.topic not in instance.topics:
            yield Violation("unknown_id", f"неизвестная тема «{s.topic}»", s.id)
        if s.consultant not in instance.consultants:
            yield Violation("unknown_id", f"неизвестный консультант «{s.consultant}»", s.id)
        if s.municipality is not None and s.municipality not in instance.municipalities:
            yield Violation("unknown_id", f"неизвестный муниципалитет «{s.municipality}»", s.id)
        for school in s.schools:
            if school not in instance.schools:
                yield Violation("unknown_id", f"неизвестная школа «{school}»", s.id, school)
        if not s.schools:
            yield Violation("session_capacity", "консультация без единой школы", s.id)


def _unique_session_ids(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: session ids are unique (they become calendar UIDs)."""
    for ident, n in Counter(s.id for s in plan.sessions).items():
        if n > 1:
            yield Violation("unique_ids", f"идентификатор консультации повторяется {n} раз(а)", ident)


def _consultant_delivers_topic(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: topic ∈ consultant.topics."""
    for s in _sessions(instance, plan):
        c = instance.consultants[s.consultant]
        if s.topic not in c.topics:
            yield Violation("consultant_topic", f"{c.name} не ведёт тему {s.topic}", s.id)


def _consultant_available(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: the session day is in none of the consultant's `unavailable` ranges."""
    for s in _sessions(instance, plan):
        c = instance.consultants[s.consultant]
        if any(s.start.date() in r for r in c.unavailable):
            yield Violation("consultant_unavailable", f"{c.name} недоступен(на) {_d(s.start.date())}", s.id)


def _topic_in_its_months(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: month(start) ∈ topic.months when the topic lists months."""
    freeze = plan.freeze_before
    for s in _sessions(instance, plan):
        t = instance.topics[s.topic]
        if t.months and month_of(s.start.date()) not in t.months and not _is_history(s, freeze):
            yield Violation("topic_month", f"тема {t.id} не проводится в {month_of(s.start.date())}"
                                           f" (разрешено: {', '.join(t.months)})", s.id)


def _open_days_only(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: the day is in the horizon, a weekday, not a holiday, not blocked, not in vacations."""
    cal = instance.calendar
    for s in plan.sessions:
        reason = cal.closed_reason(s.start.date())
        if reason is not None:
            yield Violation("open_day", f"{_d(s.start.date())}: {reason}", s.id)


def _times_within_working_day(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: end − start = duration; day_start ≤ start, end ≤ day_end; times in the region's zone."""
    timing = instance.settings.timing
    lo, hi = _hhmm(timing.day_start), _hhmm(timing.day_end)
    zone = ZoneInfo(instance.settings.region.timezone)
    for s in _sessions(instance, plan):
        t = instance.topics[s.topic]
        if s.start.tzinfo is None or s.end.tzinfo is None:
            yield Violation("times", "время без часового пояса", s.id)
            continue
        if s.end - s.start != timedelta(minutes=t.duration_min):
            yield Violation("times", f"длительность {int((s.end - s.start).total_seconds() // 60)} мин,"
                                     f" а у темы {t.duration_min} мин", s.id)
        expected = s.start.astimezone(zone).utcoffset()
        if s.start.utcoffset() != expected:
            yield Violation("times", f"смещение {s.start.utcoffset()} не совпадает с поясом региона"
                                     f" {instance.settings.region.timezone} ({expected})", s.id)
        local_start, local_end = s.start.astimezone(zone), s.end.astimezone(zone)
        if local_start.date() != local_end.date() or _minutes(local_start) < lo or _minutes(local_end) > hi:
            yield Violation("times", f"{local_start:%H:%M}–{local_end:%H:%M} вне рабочего дня"
                                     f" {timing.day_start}–{timing.day_end}", s.id)


def _session_capacity(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: |schools| ≤ topic.capacity."""
    freeze = plan.freeze_before
    for s in _sessions(instance, plan):
        t = instance.topics[s.topic]
        if len(s.schools) > t.capacity and not _is_history(s, freeze):
            yield Violation("session_capacity", f"школ {len(s.schools)}, а вместимость темы {t.capacity}", s.id)


def _format_and_municipality(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: format = topic.format; onsite → all schools in the session's municipality; online → none."""
    for s in _sessions(instance, plan):
        t = instance.topics[s.topic]
        if s.format != t.format:
            yield Violation("format", f"формат {s.format}, а у темы {t.format}", s.id)
        if t.format == Format.ONSITE:
            if s.municipality is None:
                yield Violation("format", "у выездной консультации не указан муниципалитет", s.id)
                continue
            for school in s.schools:
                sch = instance.schools.get(school)
                if sch is not None and sch.municipality != s.municipality:
                    yield Violation("onsite_one_municipality",
                                    f"школа {school} из {sch.municipality}, а выезд в {s.municipality}", s.id, school)
        elif s.municipality is not None:
            yield Violation("format", "у онлайн-консультации указан муниципалитет", s.id)


def _consultant_monthly_and_total_limits(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: sessions per consultant per month ≤ max_per_month; in the horizon ≤ max_total.

    After a replan the history counts as it was: a limit lowered below it is broken only by
    a session from the freeze on (count > max(limit, history count))."""
    freeze = plan.freeze_before
    per_month = Counter((s.consultant, month_of(s.start.date())) for s in _sessions(instance, plan))
    past_month = Counter((s.consultant, month_of(s.start.date())) for s in _sessions(instance, plan)
                         if _is_history(s, freeze))
    for (cid, month), n in sorted(per_month.items()):
        c = instance.consultants[cid]
        if n > max(c.max_per_month, past_month[cid, month]):
            yield Violation("consultant_month_limit", f"{c.name}: {n} консультаций в {month},"
                                                      f" предел {c.max_per_month}")
    total = Counter(s.consultant for s in _sessions(instance, plan))
    past = Counter(s.consultant for s in _sessions(instance, plan) if _is_history(s, freeze))
    for cid, n in sorted(total.items()):
        c = instance.consultants[cid]
        if c.max_total is not None and n > max(c.max_total, past[cid]):
            yield Violation("consultant_total_limit", f"{c.name}: {n} консультаций за период, предел {c.max_total}")


def _school_monthly_limit(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: sessions a school attends per month ≤ school_max_sessions_per_month."""
    limit = instance.settings.rules.school_max_sessions_per_month
    per = Counter((school, month_of(s.start.date())) for s in plan.sessions for school in s.schools)
    for (school, month), n in sorted(per.items()):
        if n > limit:
            yield Violation("school_month_limit", f"школа {school}: {n} консультаций в {month}, предел {limit}",
                            school=school)


def _school_one_session_a_day(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: a school attends at most one session a day (so never two at once)."""
    per = Counter((school, s.start.date()) for s in plan.sessions for school in s.schools)
    for (school, day), n in sorted(per.items()):
        if n > 1:
            yield Violation("school_same_day", f"школа {school}: {n} консультации {_d(day)}", school=school)


def _consultant_never_double_booked(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: a consultant's sessions never overlap (with `break_min` between online ones),
    and an onsite visit is the only session of its day."""
    gap = timedelta(minutes=instance.settings.timing.break_min)
    by_day: dict[tuple[str, date], list[Session]] = defaultdict(list)
    for s in _sessions(instance, plan):
        by_day[(s.consultant, s.start.date())].append(s)
    for (cid, day), items in sorted(by_day.items()):
        name = instance.consultants[cid].name
        if len(items) > 1 and any(s.format == Format.ONSITE for s in items):
            yield Violation("consultant_overlap", f"{name}: выезд {_d(day)} и ещё консультации в тот же день",
                            items[0].id)
            continue
        items.sort(key=lambda s: s.start)
        for a, b in zip(items, items[1:]):
            if b.start < a.end + gap:
                yield Violation("consultant_overlap",
                                f"{name}: {a.start:%H:%M}–{a.end:%H:%M} и {b.start:%H:%M} {_d(day)} без перерыва"
                                f" {instance.settings.timing.break_min} мин", b.id)


def _onsite_travel_rule(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: an onsite visit leaves time to travel.

    travel = distance(home, municipality) × road_factor / travel_speed_kmh. The visit starts
    no earlier than depart + travel (and day_start); when that would not fit the day, the
    consultant travels the evening before: the previous day holds none of their sessions
    and they are available on it, and the visit may start at day_start.
    """
    timing = instance.settings.timing
    depart, lo, hi = _hhmm(timing.depart), _hhmm(timing.day_start), _hhmm(timing.day_end)
    busy_days = {(s.consultant, s.start.date()) for s in _sessions(instance, plan)}
    zone = ZoneInfo(instance.settings.region.timezone)
    for s in _sessions(instance, plan):
        if s.format != Format.ONSITE or s.municipality not in instance.municipalities:
            continue
        c = instance.consultants[s.consultant]
        km = instance.distance_km(c.municipality, s.municipality) * timing.road_factor
        travel = math.ceil(km / timing.travel_speed_kmh * 60)
        start = s.start.astimezone(zone)
        duration = instance.topics[s.topic].duration_min
        earliest = max(lo, depart + travel)
        if _minutes(start) >= earliest:
            continue
        if earliest + duration <= hi:
            yield Violation("travel", f"{c.name} не успевает доехать: в пути {travel} мин, выезд не раньше"
                                      f" {timing.depart}, а начало в {start:%H:%M}", s.id)
            continue
        before = start.date() - timedelta(days=1)
        if (s.consultant, before) in busy_days or any(before in r for r in c.unavailable):
            yield Violation("travel", f"{c.name} должен(на) выехать накануне ({_d(before)}),"
                                      f" но в этот день занят(а) или недоступен(на)", s.id)


def _onsite_visits_limited(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: a consultant's onsite visits in a month ≤ their `max_onsite_per_month` (else the
    setting; 0 = no limit), and never two on consecutive calendar days (a rest day between).
    A replan's history counts as it was: only a visit from the freeze on breaks either."""
    freeze = plan.freeze_before
    visits = sorted((s for s in _sessions(instance, plan) if s.format == Format.ONSITE), key=lambda s: s.start)
    per_month: dict[tuple[str, str], list[Session]] = defaultdict(list)
    for s in visits:
        per_month[s.consultant, month_of(s.start.date())].append(s)
    for (cid, month), items in sorted(per_month.items()):
        c = instance.consultants[cid]
        cap = c.max_onsite_per_month if c.max_onsite_per_month is not None \
            else instance.settings.rules.max_onsite_per_month
        past = sum(1 for s in items if _is_history(s, freeze))
        if cap and len(items) > max(cap, past):
            yield Violation("onsite_month_limit", f"{c.name}: {len(items)} выездов в {month}, предел {cap}",
                            items[-1].id)
    by_consultant: dict[str, list[Session]] = defaultdict(list)
    for s in visits:
        by_consultant[s.consultant].append(s)
    for cid, items in by_consultant.items():
        for a, b in zip(items, items[1:]):
            if (b.start.date() - a.start.date()).days == 1 and not (_is_history(a, freeze) and _is_history(b, freeze)):
                yield Violation("onsite_rest_day", f"{instance.consultants[cid].name}: выезды {_d(a.start.date())}"
                                                   f" и {_d(b.start.date())} подряд, без дня между ними", b.id)


def _topic_at_most_once_per_school(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: a school attends each topic at most once (a verified school counts as having
    attended every verification topic)."""
    per = Counter((school, s.topic) for s in plan.sessions for school in s.schools)
    for (school, topic), n in sorted(per.items()):
        if n > 1:
            yield Violation("topic_twice", f"школа {school} посещает тему {topic} {n} раз(а)", school=school)
    for s in _sessions(instance, plan):
        if instance.topics[s.topic].stage != Stage.VERIFICATION:
            continue
        for school in s.schools:
            sch = instance.schools.get(school)
            if sch is not None and sch.verified_on is not None:
                yield Violation("topic_twice", f"школа {school} уже верифицирована {_d(sch.verified_on)},"
                                               f" а снова получает верификацию", s.id, school)


def _first_dates(instance: Instance, plan: Plan) -> dict[str, dict[str, date]]:
    """School -> topic -> the day it (first) attends it; verified schools get every
    verification topic on their verified_on date."""
    out: dict[str, dict[str, date]] = defaultdict(dict)
    for s in sorted(plan.sessions, key=lambda s: s.start):
        for school in s.schools:
            out[school].setdefault(s.topic, s.start.date())
    for sch in instance.schools.values():
        if sch.verified_on is not None:
            for t in instance.verification_topics:
                out[sch.id].setdefault(t.id, sch.verified_on)
    return out


def _prerequisites_strictly_earlier(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: for every attended topic t and r ∈ t.requires, the school attended r on an earlier day."""
    firsts = _first_dates(instance, plan)
    for s in _sessions(instance, plan):
        t = instance.topics[s.topic]
        for school in s.schools:
            for r in t.requires:
                when = firsts.get(school, {}).get(r)
                if when is None or when >= s.start.date():
                    shown = "не посещала" if when is None else f"посещает {_d(when)}"
                    yield Violation("prerequisite", f"школа {school}: тема {t.id} требует раньше тему {r},"
                                                    f" а её школа {shown}", s.id, school)


def _nearest(instance: Instance, school: str, topic: str) -> list[str]:
    """The `visitor_candidates` nearest deliverers of the topic (round trip from their home
    centre to the school's, then id); all of them when the setting is 0. Computed here from
    the coordinates, not taken from the model."""
    home = instance.schools[school].municipality
    ranked = sorted((c for c in instance.consultants.values() if topic in c.topics),
                    key=lambda c: (round(2 * _km(instance, c.municipality, home)), c.id))
    k = instance.settings.rules.visitor_candidates
    return [c.id for c in (ranked[:k] if k else ranked)]


def _km(instance: Instance, a: str, b: str) -> float:
    """Great-circle distance between two municipalities' centres (haversine), km."""
    ma, mb = instance.municipalities[a], instance.municipalities[b]
    p1, p2 = math.radians(ma.lat), math.radians(mb.lat)
    dp, dl = p2 - p1, math.radians(mb.lon - ma.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _verification_by_curator_and_first(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Hard: an unverified school's verification is given by its curator (when set), else by
    one of the `visitor_candidates` nearest deliverers, and comes strictly before any
    `program` topic (before every other topic when verification_first)."""
    first_all = instance.settings.rules.verification_first
    verify_day: dict[str, date] = {}
    for s in sorted(_sessions(instance, plan), key=lambda s: s.start):
        if instance.topics[s.topic].stage != Stage.VERIFICATION:
            continue
        for school in s.schools:
            sch = instance.schools.get(school)
            if sch is None:
                continue
            verify_day.setdefault(school, s.start.date())
            if sch.curator is not None and s.consultant != sch.curator:
                yield Violation("verification_curator", f"школу {school} верифицирует {s.consultant},"
                                                        f" а её куратор {sch.curator}", s.id, school)
            elif sch.curator is None and s.consultant not in (near := _nearest(instance, school, s.topic)):
                yield Violation("verification_curator", f"школу {school} без куратора верифицирует {s.consultant},"
                                                        f" а не один из ближайших: {', '.join(near)}"
                                                        f" (visitor_candidates = "
                                                        f"{instance.settings.rules.visitor_candidates})", s.id, school)
    for s in _sessions(instance, plan):
        stage = instance.topics[s.topic].stage
        if stage == Stage.VERIFICATION or not (first_all or stage == Stage.PROGRAM):
            continue
        for school in s.schools:
            sch = instance.schools.get(school)
            if sch is None or sch.verified_on is not None:
                continue
            day = verify_day.get(school)
            if day is None or day >= s.start.date():
                shown = "нет" if day is None else _d(day)
                yield Violation("verification_first", f"школа {school}: тема {s.topic} до верификации"
                                                      f" (верификация: {shown})", s.id, school)


def _unmet_is_complete_and_true(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """Every need the plan does not meet is in `unmet` with a reason; nothing met is listed."""
    k = instance.settings.rules.min_topics_per_risk
    firsts = _first_dates(instance, plan)
    listed = {(u.school, u.risk): u for u in plan.unmet}
    for sch in instance.schools.values():
        if sch.withdrawn:
            continue  # left the programme: no needs any more
        attended = [instance.topics[t] for t in firsts.get(sch.id, {}) if t in instance.topics]
        needs: list[tuple[str, bool]] = []
        if sch.verified_on is None:
            did = any(t.stage == Stage.VERIFICATION for t in attended if t.id in
                      {s.topic for s in plan.sessions if sch.id in s.schools})
            needs.append((VERIFICATION_NEED, did))
        for r in sch.risks:
            needs.append((r, sum(1 for t in attended if r in t.risks) >= k))
        for risk, met in needs:
            u = listed.pop((sch.id, risk), None)
            if not met and u is None:
                yield Violation("unmet_missing", f"школа {sch.id}: потребность {risk} не закрыта и не указана"
                                                 " в unmet", school=sch.id)
            elif met and u is not None:
                yield Violation("unmet_wrong", f"школа {sch.id}: потребность {risk} закрыта, но указана в unmet",
                                school=sch.id)
            elif u is not None and not u.reason.strip():
                yield Violation("unmet_reason", f"школа {sch.id}: у непокрытой потребности {risk} нет причины",
                                school=sch.id)
    for (school, risk) in listed:
        yield Violation("unmet_wrong", f"в unmet указана несуществующая потребность {school}/{risk}", school=school)


def _usable_topics(instance: Instance) -> set[str]:
    """Topics some school can use: addressing one of its risks (not verification), their
    prerequisites (recursively), and the verification topics while a school is unverified."""
    topics = instance.topics
    schools = [s for s in instance.schools.values() if not s.withdrawn]
    out: set[str] = set()
    stack = [t.id for t in topics.values() if t.stage != Stage.VERIFICATION
             and any(set(t.risks) & set(s.risks) for s in schools)]
    while stack:
        t = stack.pop()
        if t in out or t not in topics or topics[t].stage == Stage.VERIFICATION:
            continue
        out.add(t)
        stack.extend(topics[t].requires)
    if any(s.verified_on is None for s in schools):
        out |= {t.id for t in topics.values() if t.stage == Stage.VERIFICATION}
    return out


def _first_possible_visit(instance: Instance, school: str, freeze: date | None) -> str | None:
    """The first open month (from the freeze on) in which a verification topic may be held
    and one of the school's verifiers has an open day they are available on."""
    sch = instance.schools[school]
    cal = instance.calendar
    best = None
    for t in instance.topics.values():
        if t.stage != Stage.VERIFICATION:
            continue
        who = [sch.curator] if sch.curator is not None else _nearest(instance, school, t.id)
        for cid in who:
            c = instance.consultants.get(cid)
            if c is None or t.id not in c.topics:
                continue
            for month, days in cal.open_days_by_month.items():
                if t.months and month not in t.months:
                    continue
                if any((freeze is None or d >= freeze) and not any(d in r for r in c.unavailable) for d in days):
                    best = month if best is None or month < best else best
                    break
    return best


def _support_exceptions(instance: Instance, plan: Plan) -> set[tuple[str, str, tuple[str, ...]]]:
    """(school, kind, months) of every stretch the rules do not allow: a run of more than
    `max_gap_months` open months without a consultation after the school's verification, and
    a verification visit later than its first `verification_months` possible months."""
    rules = instance.settings.rules
    g = rules.max_gap_months
    if g <= 0:
        return set()
    freeze = plan.freeze_before
    months = instance.calendar.open_months
    attended: dict[str, set[str]] = defaultdict(set)
    visited: dict[str, str] = {}
    for s in sorted(_sessions(instance, plan), key=lambda s: s.start):
        m = month_of(s.start.date())
        for school in s.schools:
            attended[school].add(m)
            if instance.topics[s.topic].stage == Stage.VERIFICATION:
                visited.setdefault(school, m)
    out = set()
    for sch in instance.schools.values():
        if sch.withdrawn:
            continue
        if sch.verified_on is not None:
            after = [m for m in months if date.fromisoformat(m + "-01") > sch.verified_on]
        elif sch.id in visited:
            after = [m for m in months if m > visited[sch.id]]
            first = _first_possible_visit(instance, sch.id, freeze)
            history = freeze is not None and visited[sch.id] < month_of(freeze)
            if rules.verification_months > 0 and first is not None and not history:
                waited = tuple(m for m in months if first <= m < visited[sch.id])
                if len(waited) >= rules.verification_months:
                    out.add((sch.id, "late_verification", waited))
        else:
            continue
        run: list[str] = []
        for m in after + [None]:
            if m is not None and m not in attended[sch.id]:
                run.append(m)
                continue
            if len(run) > g:
                out.add((sch.id, "gap", tuple(run)))
            run = []
    return out


def _programme_exceptions_complete_and_true(instance: Instance, plan: Plan) -> Iterator[Violation]:
    """The programme's exceptions are listed, each with a reason, and only those:
    with `hold_every_topic`, every usable topic the plan does not hold is in `unheld_topics`;
    every support gap beyond `max_gap_months` and every late verification visit is in
    `support_gaps` (see `_support_exceptions`)."""
    if instance.settings.rules.hold_every_topic:
        held = {s.topic for s in plan.sessions}
        should = {t for t in _usable_topics(instance) if t not in held}
    else:
        should = set()
    listed = {u.topic: u for u in plan.unheld_topics}
    for t in sorted(should):
        u = listed.pop(t, None)
        if u is None:
            yield Violation("unheld_missing", f"тема {t} полезна школам, но не проводится и не указана"
                                              " в unheld_topics")
        elif not u.reason.strip():
            yield Violation("unheld_reason", f"у непроведённой темы {t} нет причины")
    for t in sorted(listed):
        yield Violation("unheld_wrong", f"тема {t} указана в unheld_topics, но она проводится или не нужна школам")
    gaps = _support_exceptions(instance, plan)
    given = {(g.school, g.kind, tuple(g.months)): g for g in plan.support_gaps}
    for key in sorted(gaps):
        g = given.pop(key, None)
        school, kind, months = key
        what = "опоздание визита верификации" if kind == "late_verification" else "перерыв в сопровождении"
        if g is None:
            yield Violation("support_gap_missing", f"школа {school}: {what} ({', '.join(months)}) не указан(о)"
                                                   " в support_gaps", school=school)
        elif not g.reason.strip():
            yield Violation("support_gap_reason", f"школа {school}: у отступления ({what}) нет причины",
                            school=school)
    for school, kind, months in sorted(given):
        yield Violation("support_gap_wrong", f"школа {school}: в support_gaps указано {kind} ({', '.join(months)}),"
                                             " которого в плане нет", school=school)
