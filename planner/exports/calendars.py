"""Calendars: the plan as RFC 5545 files, one per party (shared/formats.md, "Calendars").

A pure exporter of (instance, plan): nothing here reads or writes files. Every calendar is
built with the `icalendar` library, never by hand, and the output is byte-for-byte
reproducible for the same plan:

- `UID` is uuid5 of the region and the session id (`session_uid`), so a re-import or a
  CalDAV publish updates the event instead of duplicating it, across runs and replans, and
  two regions that number their sessions alike never share a UID;
- `DTSTAMP` and `LAST-MODIFIED` are one fixed instant per plan (`plan_stamp`: when the plan
  was made, `meta.created`), never "now"; a replan's events are newer than the baseline's;
- a party that had a session in an earlier version of the plan and no longer has it (a school
  taken out of a session that still happens) finds it cancelled in its own calendar
  (`dropped_parties`), with a text that says what happened for it;
- events are ordered by start time, then id; files by name;
- `VTIMEZONE` covers whole years around the plan (`_zone_years`), so it does not depend on
  the day the export runs.

`party_calendars` is the shared model that both the files (`calendar_files`) and the CalDAV
publisher (`planner.calendar_sync.caldav_publish`) use, so the two always carry the same events.

Extension points for the roadmap: `activity_events(instance, plan)` makes the all-day
events of roadmap activities (they go into `roadmap.ics` and the executors' calendars,
`planner.exports.roadmap_calendars`, never into `all.ics`); `calendar_bytes(...)` renders any list
of events as one file with the same conventions.
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
"""uuid5 namespace of session UIDs (of "<region>/<session id>", see `uid_scope`). Never change
it: calendars that imported events match them by UID."""
ACTIVITY_NAMESPACE = uuid.UUID("9e4d2a61-3c7b-5f18-b0a2-6d5e8c4f1b27")
"""uuid5 namespace of roadmap activity UIDs (of "<region>/<activity id>")."""
CALENDAR_NAMESPACE = uuid.UUID("1c8e6f30-47a2-5d9b-8e13-a4f0b7c2d956")
"""uuid5 namespace of the calendars' own UID (RFC 7986)."""

MARKER = "X-PLANNER-ID"
"""Our own property on every event we write (`session/<id>`, `activity/<id>`): the CalDAV
publisher touches only events that carry it, never a person's own events."""

ONLINE_LOCATION = "ВКС"
CANCELLED_PREFIX = "ОТМЕНЕНО: "
"""The start of a cancelled event's SUMMARY: programs that ignore STATUS (Outlook importing a
file, some web calendars) still show it as cancelled."""
SUMMARY_MAX = 120
"""Longest SUMMARY of a roadmap activity (orders' titles run to 400+ characters; the whole
title is in DESCRIPTION)."""
ALARM_BEFORE = timedelta(days=1)
STAMP_META_KEYS = ("created", "solved_at")
"""plan.meta keys whose ISO date-time, when present, is the `DTSTAMP` of every event."""

PARTY_KINDS = ("consultant", "school", "municipality")
DROPPED_META_KEY = "dropped_parties"
"""plan.meta: session id -> {kind: [party ids]} of the parties that had the session in an
earlier version of the plan and no longer have it (`carry_calendar_history`)."""
ACTIVITY_SEQUENCE_META_KEY = "activity_sequence"
"""plan.meta: activity id -> its SEQUENCE, raised by a replan that moves the activity."""


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
) -> dict[str, bytes]:
    """Every calendar of the plan: {"calendars/all.ics": ..., "calendars/consultant-<id>.ics": ...}.

    One file per consultant, school and municipality of the instance (a party without
    sessions gets an empty calendar, so a stale file from an earlier plan is overwritten),
    plus `all.ics`. `stamp` overrides the plan's `DTSTAMP` (see `plan_stamp`). The roadmap's
    calendars are `planner.exports.roadmap_calendars.roadmap_calendar_files`.
    """
    stamp = stamp or plan_stamp(instance, plan)
    calendars = party_calendars(instance, plan, stamp=stamp)
    rendered: dict[int, bytes] = {}  # each event's text, by id(event): the events live as long as `calendars`
    return {cal.path: calendar_bytes(instance, plan, cal.title, list(cal.events), key=cal.key, rendered=rendered)
            for cal in calendars}


def party_calendars(
    instance: Instance,
    plan: Plan,
    *,
    stamp: datetime | None = None,
) -> list[PartyCalendar]:
    """The calendars of the plan, "all" first, then consultants, schools, municipalities by id.

    A party's calendar holds every session it takes part in (`session_parties`), every
    cancelled session (plan.cancelled) it took part in, as STATUS:CANCELLED, and, also as
    STATUS:CANCELLED, every session it was dropped from while the session goes on for others
    (`dropped_parties`). `all.ics` holds the sessions only (the roadmap has its own calendars).
    """
    stamp = _utc(stamp) if stamp else plan_stamp(instance, plan)
    active = {s.id for s in plan.sessions}
    dropped = dropped_parties(instance, plan)
    entries = [(s, False) for s in plan.sessions]
    entries += [(s, True) for s in plan.cancelled if s.id not in active]  # a session is never both
    entries.sort(key=lambda e: (e[0].start, e[0].id, e[1]))
    # (the parties whose calendars hold the event, the event, whether it goes into all.ics)
    events: list[tuple[dict[str, set[str]], Event, bool]] = []
    for s, cancelled in entries:
        belongs = session_parties(instance, s)
        gone = dropped.get(s.id, {})
        if cancelled:  # cancelled for everyone, also for those dropped from it earlier
            for kind in PARTY_KINDS:
                belongs[kind] |= gone.get(kind, set())
        events.append((belongs, session_event(instance, s, stamp=stamp, cancelled=cancelled), True))
        if not cancelled:
            for kind in PARTY_KINDS:
                for party in sorted(gone.get(kind, set()) - belongs[kind]):
                    only = {k: ({party} if k == kind else set()) for k in PARTY_KINDS}
                    events.append((only, session_event(instance, s, stamp=stamp, cancelled=True,
                                                       dropped=(kind, party)), False))

    region = instance.settings.region.name or instance.name
    all_events = tuple(ev for _, ev, in_all in events if in_all)
    calendars = [PartyCalendar("all", "all", "", f"Все консультации: {region}", all_events)]
    for kind in PARTY_KINDS:
        # Every party of the instance (an empty calendar overwrites a stale one), and any party
        # a plan names that the instance no longer has, so no session is left out of its files.
        parties = set(_parties_of_kind(instance, kind)).union(*(p[kind] for p, _, _ in events))
        for party in sorted(parties):
            mine = tuple(ev for belongs, ev, _ in events if party in belongs[kind])
            calendars.append(PartyCalendar(
                f"{kind}-{safe_file_part(party)}", kind, party, party_title(instance, kind, party), mine))
    return calendars


def uid_scope(instance: Instance) -> str:
    """What makes UIDs unique across regions: the region's name (`[region] name`), else the
    instance's name. Session ids come from topic, consultant and start, and two regions may
    number C01/T01 alike; the region's name stays when a folder is copied or renamed."""
    return instance.settings.region.name.strip() or instance.name


def session_uid(instance: Instance, session_id: str) -> str:
    """The stable `UID` of a session: uuid5 of «<region>/<session id>» (the same in every plan
    of the region that keeps the id)."""
    return str(uuid.uuid5(SESSION_NAMESPACE, f"{uid_scope(instance)}/{session_id}"))


def activity_uid(instance: Instance, activity_id: str) -> str:
    return str(uuid.uuid5(ACTIVITY_NAMESPACE, f"{uid_scope(instance)}/{activity_id}"))


def dropped_parties(instance: Instance, plan: Plan) -> dict[str, dict[str, set[str]]]:
    """Session id -> {kind: party ids} that had the session in an earlier version of the plan
    and no longer have it, while the session itself goes on (or is cancelled).

    The plan's own record (meta "dropped_parties", kept across replans by
    `carry_calendar_history`) when it has one; else what its last replan's `meta.changes` say
    (a plan replanned before the record existed). Parties still in the session are never in it.
    """
    meta = plan.meta if isinstance(plan.meta, dict) else {}
    current = {s.id: session_parties(instance, s) for s in (*plan.cancelled, *plan.sessions)}
    out: dict[str, dict[str, set[str]]] = {}
    record = meta.get(DROPPED_META_KEY)
    if isinstance(record, dict):
        for sid, kinds in record.items():
            if isinstance(kinds, dict) and sid in current:
                out[str(sid)] = {k: {str(p) for p in kinds.get(k) or ()} for k in PARTY_KINDS}
    else:
        for ch in meta.get("changes") or ():
            if not isinstance(ch, dict) or ch.get("kind") != "moved" or ch.get("session") not in current:
                continue
            old = _parties(instance, ch.get("old_consultant") or ch.get("consultant"),
                           ch.get("old_schools") or (), ch.get("municipality"))
            out[ch["session"]] = old
    for sid in list(out):
        out[sid] = {k: out[sid].get(k, set()) - current[sid][k] for k in PARTY_KINDS}
        out[sid] = {k: v for k, v in out[sid].items() if v}
        if not out[sid]:
            del out[sid]
    return out


def carry_calendar_history(instance: Instance, baseline: Plan, plan: Plan) -> None:
    """Record in a replanned `plan` what its calendars must keep telling people who imported
    the baseline's: who was dropped from each session (meta "dropped_parties", the baseline's
    record carried on, minus a party that is back) and each roadmap activity's SEQUENCE (meta
    "activity_sequence", raised for an activity whose dates moved)."""
    before = {s.id: s for s in baseline.sessions}
    earlier = dropped_parties(instance, baseline)
    record: dict[str, dict[str, list[str]]] = {}
    for s in (*plan.cancelled, *plan.sessions):
        had = {k: set(earlier.get(s.id, {}).get(k, set())) for k in PARTY_KINDS}
        if s.id in before:
            for kind, parties in session_parties(instance, before[s.id]).items():
                had[kind] |= parties
        now = session_parties(instance, s)
        gone = {k: sorted(had[k] - now[k]) for k in PARTY_KINDS if had[k] - now[k]}
        if gone:
            record[s.id] = gone
    plan.meta[DROPPED_META_KEY] = dict(sorted(record.items()))
    old_dates = {a.id: (a.start, a.end) for a in baseline.activities}
    old_seq = _activity_sequences(baseline)
    plan.meta[ACTIVITY_SEQUENCE_META_KEY] = {
        a.id: old_seq.get(a.id, 0) + (1 if a.id in old_dates and old_dates[a.id] != (a.start, a.end) else 0)
        for a in sorted(plan.activities, key=lambda a: a.id)
    }


def _activity_sequences(plan: Plan) -> dict[str, int]:
    meta = plan.meta if isinstance(plan.meta, dict) else {}
    record = meta.get(ACTIVITY_SEQUENCE_META_KEY)
    out = {}
    if isinstance(record, dict):
        for key, value in record.items():
            try:
                out[str(key)] = int(value)
            except (TypeError, ValueError):
                continue
    return out


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
    return _parties(instance, session.consultant, session.schools, session.municipality)


def _parties(instance: Instance, consultant: str | None, schools, municipality: str | None) -> dict[str, set[str]]:
    municipalities = {municipality} if municipality else set()
    for school in schools:
        if school in instance.schools:
            municipalities.add(instance.schools[school].municipality)
    return {
        "consultant": {consultant} if consultant else set(),
        "school": set(schools),
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


def session_event(instance: Instance, session: Session, *, stamp: datetime, cancelled: bool = False,
                  dropped: tuple[str, str] | None = None) -> Event:
    """One VEVENT for one session: STATUS:CANCELLED for a session a replan removed, or, with
    `dropped` = (kind, party id), the cancelled copy for a party dropped from a session that
    goes on (its SEQUENCE is the session's, raised by the replan that dropped the party)."""
    zone = region_zone(instance)
    topic = instance.topics.get(session.topic)
    title = topic.title if topic else session.topic
    stamp = _utc(stamp)
    event = Event.new(
        uid=session_uid(instance, session.id),
        stamp=stamp,
        last_modified=stamp,
        start=_local(session.start, zone),
        end=_local(session.end, zone),
        sequence=session.sequence,
        summary=CANCELLED_PREFIX + title if cancelled else title,
        location=session_location(instance, session),
        description=session_description(instance, session, cancelled=cancelled, dropped=dropped),
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

    The roadmap's calendars (`planner.exports.roadmap_calendars`) are made of these. Like a session,
    an activity carries STATUS and SEQUENCE (raised by a replan that moved it, meta
    "activity_sequence"). Activities the instance does not describe are skipped. DTEND is
    exclusive (RFC 5545). SUMMARY is the title, cut at `SUMMARY_MAX` characters.
    """
    if not plan.activities or not instance.activities:
        return []
    stamp = _utc(stamp) if stamp else plan_stamp(instance, plan)
    sequences = _activity_sequences(plan)
    events = []
    for dates in sorted(plan.activities, key=lambda a: (a.start, a.id)):
        activity = instance.activities.get(dates.id)
        if activity is None:
            continue
        lines = ["Мероприятие дорожной карты" + (" (контрольная точка)" if activity.duration_days == 0 else "")]
        summary = _short(activity.title, SUMMARY_MAX)
        if summary != activity.title:
            lines.append(f"Описание действий: {activity.title}")
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
            uid=activity_uid(instance, activity.id),
            stamp=stamp,
            last_modified=stamp,
            start=dates.start,
            end=dates.end + timedelta(days=1),
            sequence=sequences.get(activity.id, 0),
            status=STATUS.CONFIRMED,
            summary=summary,
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
    """«ВКС» for online; for onsite: «<муниципалитет>: <школа>, <школа>», the municipality
    once (all schools of a visit are in it; a school's name gets its id only when another
    school of the same municipality has the same name)."""
    if session.format == Format.ONLINE:
        return ONLINE_LOCATION
    schools = ", ".join(_local_school_name(instance, s) for s in session.schools)
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


def session_description(instance: Instance, session: Session, *, cancelled: bool = False,
                        dropped: tuple[str, str] | None = None) -> str:
    """The Russian DESCRIPTION: consultant, topic, format, schools and the risks addressed;
    first, for a cancelled event, what happened (for the whole session, or for the party
    `dropped` = (kind, id) taken out of a session that goes on)."""
    topic = instance.topics.get(session.topic)
    lines = []
    if dropped is not None:
        lines.append(dropped_text(instance, session, *dropped))
    elif cancelled:
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


def dropped_text(instance: Instance, session: Session, kind: str, party: str) -> str:
    """What a party dropped from a session that still happens reads first."""
    if kind == "school":
        return (f"ОТМЕНЕНО для школы {instance.school_label(party)}: школа снята с консультации при "
                "перепланировании; консультация состоится для других школ.")
    if kind == "municipality":
        return (f"ОТМЕНЕНО для муниципалитета «{_municipality_name(instance, party)}»: его школы сняты "
                "с консультации при перепланировании; консультация состоится для других школ.")
    name = instance.consultants[party].name if party in instance.consultants else party
    return (f"ОТМЕНЕНО для консультанта {name}: при перепланировании консультацию передали другому "
            f"консультанту ({consultant_line(instance, session.consultant)}).")


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


def _local_school_name(instance: Instance, school: str) -> str:
    """A school's name where its municipality is already said: the id is added only when
    another school of the same municipality has the same name."""
    sch = instance.schools.get(school)
    if sch is None:
        return school
    twins = [s for s in instance.schools.values() if s.name == sch.name and s.municipality == sch.municipality]
    return sch.name if len(twins) == 1 else f"{sch.name} ({school})"


def _short(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with «…»."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:—-") + "…"


def _municipality_name(instance: Instance, municipality: str) -> str:
    mun = instance.municipalities.get(municipality)
    return mun.name if mun else municipality
