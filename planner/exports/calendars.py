"""Calendars: the plan as RFC 5545 files, one per party (shared/formats.md, "Calendars").

A pure exporter of (instance, plan): nothing here reads or writes files. Every calendar is
built with the `icalendar` library, never by hand, and the output is byte-for-byte
reproducible for the same plan:

- `UID` is uuid5 of the session id (`session_uid`), so a re-import or a CalDAV publish
  updates the event instead of duplicating it, across runs and replans;
- `DTSTAMP` is one fixed instant per plan (`plan_stamp`), never "now";
- events are ordered by start time, then id; files by name;
- `VTIMEZONE` covers whole years around the plan (`_zone_years`), so it does not depend on
  the day the export runs.

`party_calendars` is the shared model that both the files (`calendar_files`) and the CalDAV
publisher (`planner.caldav_publish`) use, so the two always carry the same events.

Extension points for the roadmap: `activity_events(instance, plan)` makes the all-day
events of roadmap activities (they go into `all.ics`); `calendar_bytes(...)` renders any
list of events as one file with the same conventions (e.g. a `roadmap.ics` or one file per
executor).
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import STATUS, TRANSP, Alarm, Calendar, Event, Timezone

from models.domain import FORMAT_TITLES, STAGE_TITLES, Format, Instance, Plan, Session, Stage

PRODID = "-//ШНОР 500+//Планировщик консультаций//RU"
SESSION_NAMESPACE = uuid.UUID("5b0f3c4e-8d1a-5e0b-9a57-2f6c1d9e7a10")
"""uuid5 namespace of session UIDs. Never change it: calendars that imported events match them by UID."""
ACTIVITY_NAMESPACE = uuid.UUID("9e4d2a61-3c7b-5f18-b0a2-6d5e8c4f1b27")
"""uuid5 namespace of roadmap activity UIDs."""
CALENDAR_NAMESPACE = uuid.UUID("1c8e6f30-47a2-5d9b-8e13-a4f0b7c2d956")
"""uuid5 namespace of the calendars' own UID (RFC 7986)."""

MARKER = "X-PLANNER-ID"
"""Our own property on every event we write (`session/<id>`, `activity/<id>`): the CalDAV
publisher touches only events that carry it, never a person's own events."""

ONLINE_LOCATION = "ВКС"
ALARM_BEFORE = timedelta(days=1)
STAMP_META_KEYS = ("created", "solved_at")
"""plan.meta keys whose ISO date-time, when present, is the `DTSTAMP` of every event."""

PARTY_KINDS = ("consultant", "school", "municipality")


@dataclass(frozen=True)
class PartyCalendar:
    """One calendar: a party's events, the file it goes to and its Russian title."""

    key: str  # "all", "consultant-C02", "school-SCH001", "municipality-M03" — the file stem
    kind: str  # "all" or one of PARTY_KINDS
    party: str  # the party's id ("" for "all")
    title: str  # X-WR-CALNAME / NAME, e.g. "Консультации: Бикбаева Л. А."
    events: tuple[Event, ...]

    @property
    def path(self) -> str:
        return f"calendars/{self.key}.ics"


# --- public API -------------------------------------------------------------------------


def calendar_files(
    instance: Instance,
    plan: Plan,
    *,
    stamp: datetime | None = None,
    include_activities: bool = True,
) -> dict[str, bytes]:
    """Every calendar of the plan: {"calendars/all.ics": ..., "calendars/consultant-<id>.ics": ...}.

    One file per consultant, school and municipality of the instance (a party without
    sessions gets an empty calendar, so a stale file from an earlier plan is overwritten),
    plus `all.ics`. `stamp` overrides the plan's `DTSTAMP` (see `plan_stamp`).
    """
    stamp = stamp or plan_stamp(instance, plan)
    calendars = party_calendars(instance, plan, stamp=stamp, include_activities=include_activities)
    rendered: dict[int, bytes] = {}  # each event's text, by id(event): the events live as long as `calendars`
    return {cal.path: calendar_bytes(instance, plan, cal.title, list(cal.events), key=cal.key, rendered=rendered)
            for cal in calendars}


def party_calendars(
    instance: Instance,
    plan: Plan,
    *,
    stamp: datetime | None = None,
    include_activities: bool = True,
) -> list[PartyCalendar]:
    """The calendars of the plan, "all" first, then consultants, schools, municipalities by id.

    A party's calendar holds every session it takes part in (`session_parties`), and every
    cancelled session (plan.cancelled) it took part in, as STATUS:CANCELLED.
    """
    stamp = _utc(stamp) if stamp else plan_stamp(instance, plan)
    active = {s.id for s in plan.sessions}
    entries = [(s, False) for s in plan.sessions]
    entries += [(s, True) for s in plan.cancelled if s.id not in active]  # a session is never both
    entries.sort(key=lambda e: (e[0].start, e[0].id, e[1]))
    events = [(session_parties(instance, s), session_event(instance, s, stamp=stamp, cancelled=c))
              for s, c in entries]

    region = instance.settings.region.name or instance.name
    all_events = [ev for _, ev in events]
    if include_activities:
        all_events += activity_events(instance, plan, stamp=stamp)
    calendars = [PartyCalendar("all", "all", "", f"Все консультации: {region}", tuple(all_events))]
    for kind in PARTY_KINDS:
        # Every party of the instance (an empty calendar overwrites a stale one), and any party
        # a plan names that the instance no longer has, so no session is left out of its files.
        parties = set(_parties_of_kind(instance, kind)).union(*(p[kind] for p, _ in events))
        for party in sorted(parties):
            mine = tuple(ev for belongs, ev in events if party in belongs[kind])
            calendars.append(PartyCalendar(
                f"{kind}-{safe_file_part(party)}", kind, party, party_title(instance, kind, party), mine))
    return calendars


def session_uid(session_id: str) -> str:
    """The stable `UID` of a session: uuid5 of its id (the same in every plan that keeps the id)."""
    return str(uuid.uuid5(SESSION_NAMESPACE, session_id))


def activity_uid(activity_id: str) -> str:
    return str(uuid.uuid5(ACTIVITY_NAMESPACE, activity_id))


def plan_stamp(instance: Instance, plan: Plan) -> datetime:
    """The one `DTSTAMP` of a plan's events, in UTC, never "now" (reproducible output).

    The plan's own creation time (meta "created" or "solved_at", ISO) when it has one; else
    midnight UTC of the horizon's first day. A replan's changes are carried by `SEQUENCE`,
    which calendar programs compare first.
    """
    meta = plan.meta if isinstance(plan.meta, dict) else {}
    for key in STAMP_META_KEYS:
        value = meta.get(key)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            return _utc(parsed)
    return datetime.combine(instance.settings.horizon.start, time(0), tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    """DTSTAMP must be UTC (RFC 5545): a naive time is taken as UTC; whole seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def session_parties(instance: Instance, session: Session) -> dict[str, set[str]]:
    """Who a session belongs to: its consultant, its schools, and its municipalities.

    A municipality's calendar holds the sessions held in it (onsite) and every session one of
    its schools attends (online ones too): the municipal coordinator follows all of them.
    """
    municipalities = {session.municipality} if session.municipality else set()
    for school in session.schools:
        if school in instance.schools:
            municipalities.add(instance.schools[school].municipality)
    return {
        "consultant": {session.consultant},
        "school": set(session.schools),
        "municipality": municipalities,
    }


def party_title(instance: Instance, kind: str, party: str) -> str:
    """The Russian calendar name of a party: «Консультации: Бикбаева Л. А.».

    A name that two parties of the same kind share (schools «СОШ № 5» in two towns) gets the
    school's municipality, else the id, so that every calendar in a person's list is told apart.
    """
    items = {
        "consultant": instance.consultants,
        "school": instance.schools,
        "municipality": instance.municipalities,
    }[kind]
    item = items.get(party)
    if item is None:
        return f"Консультации: {party}"
    same_name = [i for i in items.values() if i.name == item.name]
    if len(same_name) == 1:
        return f"Консультации: {item.name}"
    if kind == "school":
        place = _municipality_name(instance, item.municipality)
        if sum(1 for i in same_name if i.municipality == item.municipality) == 1:
            return f"Консультации: {item.name}, {place}"
        return f"Консультации: {item.name}, {place} ({party})"
    return f"Консультации: {item.name} ({party})"


def session_event(instance: Instance, session: Session, *, stamp: datetime, cancelled: bool = False) -> Event:
    """One VEVENT for one session (STATUS:CANCELLED for a session a replan removed)."""
    zone = region_zone(instance)
    topic = instance.topics.get(session.topic)
    event = Event.new(
        uid=session_uid(session.id),
        stamp=_utc(stamp),
        start=_local(session.start, zone),
        end=_local(session.end, zone),
        sequence=session.sequence,
        summary=topic.title if topic else session.topic,
        location=session_location(instance, session),
        description=session_description(instance, session, cancelled=cancelled),
        categories=session_categories(instance, session),
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
    )
    event.add(MARKER, f"session/{session.id}")
    if session.format == Format.ONSITE and not cancelled:
        event.add_component(Alarm.new_display(
            description=f"Завтра выездная консультация: {event['SUMMARY']} ({event['LOCATION']})",
            trigger=-ALARM_BEFORE,
        ))
    return event


def activity_events(instance: Instance, plan: Plan, *, stamp: datetime | None = None) -> list[Event]:
    """All-day events of the plan's roadmap activities (мероприятия дорожной карты), by start.

    The extension point for the roadmap: `calendar_files` puts these into `all.ics`; a
    `roadmap.ics` or per-executor files can be made with `calendar_bytes(...)` from them.
    Activities the instance does not describe are skipped. DTEND is exclusive (RFC 5545).
    """
    if not plan.activities or not instance.activities:
        return []
    stamp = _utc(stamp) if stamp else plan_stamp(instance, plan)
    events = []
    for dates in sorted(plan.activities, key=lambda a: (a.start, a.id)):
        activity = instance.activities.get(dates.id)
        if activity is None:
            continue
        lines = ["Мероприятие дорожной карты" + (" (контрольная точка)" if activity.duration_days == 0 else "")]
        if activity.responsible:
            lines.append(f"Ответственный: {activity.responsible}")
        if activity.indicator:
            lines.append(f"Показатель реализации: {activity.indicator}")
        if dates.critical:
            lines.append("На критическом пути: задержка сдвигает всю дорожную карту.")
        elif dates.slack_days is not None:
            lines.append(f"Резерв: {dates.slack_days} раб. дн.")
        lines.append(f"Мероприятие в плане: {activity.id}")
        event = Event.new(
            uid=activity_uid(activity.id),
            stamp=stamp,
            start=dates.start,
            end=dates.end + timedelta(days=1),
            summary=activity.title,
            description="\n".join(lines),
            categories=["мероприятие дорожной карты"],
            transparency=TRANSP.TRANSPARENT,
        )
        event.add(MARKER, f"activity/{activity.id}")
        events.append(event)
    return events


def calendar_bytes(instance: Instance, plan: Plan, title: str, events: list[Event], *, key: str,
                   rendered: dict[int, bytes] | None = None) -> bytes:
    """One .ics file: the events, the region's VTIMEZONE, NAME / X-WR-CALNAME = `title`.

    `key` names the calendar (e.g. "all", "roadmap"); with the instance name it makes the
    calendar's stable UID. `rendered` (id(event) → its text) lets calendars that share
    events render each once: a session is in all.ics and in the calendars of its consultant,
    schools and municipality, and icalendar's line folding was most of the export's time.
    The bytes are the same either way.
    """
    cal = Calendar.new(
        prodid=PRODID,
        name=title,
        uid=str(uuid.uuid5(CALENDAR_NAMESPACE, f"{instance.name}/{key}")),
        calscale="GREGORIAN",
    )
    cal.add("X-WR-TIMEZONE", instance.settings.region.timezone)
    # The region's VTIMEZONE goes into every file, even an empty one (it still says which zone
    # its times are in); it is computed once per zone and span, as that is the slow part.
    first, last = _zone_years(instance, plan)
    cal.add_component(region_vtimezone(instance.settings.region.timezone, first, last))
    for event in events:
        cal.add_component(event)
    cal.add_missing_timezones(first_date=first, last_date=last)  # any other zone an event uses
    if rendered is None:
        return cal.to_ical()
    # A component's text is BEGIN, its properties, its subcomponents' texts, END: render the
    # calendar without subcomponents and put theirs (events from the cache) before its END.
    parts, shared = [], {id(e) for e in events}
    for component in cal.subcomponents:
        if id(component) in shared:
            if id(component) not in rendered:
                rendered[id(component)] = component.to_ical()
            parts.append(rendered[id(component)])
        else:
            parts.append(component.to_ical())
    cal.subcomponents = []
    head = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    return head[: -len(end)] + b"".join(parts) + end


# --- the texts of one event ---------------------------------------------------------------


def session_location(instance: Instance, session: Session) -> str:
    """«ВКС» for online; for onsite: «<муниципалитет>: <школа>; <школа>»."""
    if session.format == Format.ONLINE:
        return ONLINE_LOCATION
    schools = "; ".join(_school_name(instance, s) for s in session.schools)
    place = _municipality_name(instance, session.municipality) if session.municipality else ""
    return ": ".join(p for p in (place, schools) if p) or "выезд"


def session_categories(instance: Instance, session: Session) -> list[str]:
    topic = instance.topics.get(session.topic)
    out = [STAGE_TITLES[topic.stage]] if topic else []
    return out + [FORMAT_TITLES[session.format]]


def addressed_risks(instance: Instance, session: Session) -> dict[str, list[str]]:
    """For each school of the session, the risks of its profile that the topic addresses."""
    topic = instance.topics.get(session.topic)
    topic_risks = topic.risks if topic else ()
    out = {}
    for school in session.schools:
        profile = instance.schools[school].risks if school in instance.schools else ()
        out[school] = [r for r in topic_risks if r in profile]
    return out


def consultant_line(instance: Instance, consultant_id: str) -> str:
    """«Фамилия И. О., должность»."""
    c = instance.consultants.get(consultant_id)
    if c is None:
        return consultant_id
    return f"{c.name}, {c.position}" if c.position else c.name


def session_description(instance: Instance, session: Session, *, cancelled: bool = False) -> str:
    """The Russian DESCRIPTION: consultant, topic, format, schools and the risks addressed."""
    topic = instance.topics.get(session.topic)
    lines = []
    if cancelled:
        lines.append("ОТМЕНЕНО: консультация исключена из графика при перепланировании.")
    lines.append(f"Консультант: {consultant_line(instance, session.consultant)}")
    lines.append(f"Тема ({session.topic}): {topic.title if topic else session.topic}")
    if topic:
        lines.append(f"Этап: {STAGE_TITLES[topic.stage]}")
    fmt = FORMAT_TITLES[session.format]
    if session.format == Format.ONSITE and session.municipality:
        fmt += f", {_municipality_name(instance, session.municipality)}"
    lines.append(f"Формат: {fmt}")
    per_school = addressed_risks(instance, session)
    lines.append(f"Школы ({len(session.schools)}):")
    for school in session.schools:
        sch = instance.schools.get(school)
        where = f" ({_municipality_name(instance, sch.municipality)})" if sch else ""
        risks = f": {', '.join(per_school[school])}" if per_school[school] else ""
        name = sch.name if sch else school  # the municipality follows anyway
        lines.append(f"— {name}{where}{risks}")
    risks = sorted({r for codes in per_school.values() for r in codes})
    if risks:
        lines.append("Риски, с которыми работает консультация:")
        for code in risks:
            risk = instance.risks.get(code)
            lines.append(f"— {code}: {risk.title}" if risk else f"— {code}")
    elif topic and topic.stage == Stage.VERIFICATION:
        lines.append("Цель: верификация рискового профиля школы.")
    lines.append(f"Консультация в плане: {session.id}")
    return "\n".join(lines)


# --- helpers ------------------------------------------------------------------------------


def region_zone(instance: Instance) -> ZoneInfo:
    return ZoneInfo(instance.settings.region.timezone)


def safe_file_part(party_id: str) -> str:
    """An id as a file-name part: kept as is when safe, else unsafe characters → "_" + a short hash.

    Ids in the contract have no spaces or ";", so this only guards against "/" and the like.
    """
    if re.fullmatch(r"[\w.-]+", party_id) and not party_id.startswith("."):
        return party_id
    digest = hashlib.sha1(party_id.encode("utf-8")).hexdigest()[:8]
    return re.sub(r"[^\w.-]", "_", party_id).lstrip(".") + "-" + digest


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A plan time as the same instant in the region's zone (a naive time is taken as local)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def _zone_years(instance: Instance, plan: Plan) -> tuple[date, date]:
    """The whole years the plan spans (horizon and every event), for VTIMEZONE transitions."""
    days = [instance.settings.horizon.start, instance.settings.horizon.end]
    days += [s.start.date() for s in (*plan.sessions, *plan.cancelled)]
    days += [s.end.date() for s in (*plan.sessions, *plan.cancelled)]
    days += [a.end for a in plan.activities]
    return date(min(days).year, 1, 1), date(max(days).year + 1, 1, 1)


@functools.lru_cache(maxsize=8)
def region_vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """The VTIMEZONE of a zone with its transitions between `first` and `last` (cached).

    Limiting it to the plan's years keeps the files small and independent of tzdata changes
    to other years. The component is shared by the files of one export; nothing mutates it.
    """
    return Timezone.from_tzinfo(ZoneInfo(tzid), tzid, first_date=first, last_date=last)


def _parties_of_kind(instance: Instance, kind: str) -> list[str]:
    return list({
        "consultant": instance.consultants,
        "school": instance.schools,
        "municipality": instance.municipalities,
    }[kind])


def _school_name(instance: Instance, school: str) -> str:
    return instance.school_label(school)


def _municipality_name(instance: Instance, municipality: str) -> str:
    mun = instance.municipalities.get(municipality)
    return mun.name if mun else municipality
