"""Publish a plan's calendars to a CalDAV server (Radicale, Nextcloud, Yandex Calendar, ...).

One server calendar per party, exactly the calendars of `planner.exports.calendars.party_calendars`
and, when the plan has a roadmap, `planner.exports.roadmap_calendars.roadmap_calendars` (so the
server and the .ics files always agree). Events are matched by `UID`:

- an event the server lacks is created;
- an event whose content differs (ignoring DTSTAMP) is updated in place, at the same URL,
  with a `SEQUENCE` higher than the server's copy, so calendar programs take the change;
- an event of ours (it carries `X-PLANNER-ID`) that the plan no longer has is marked
  STATUS:CANCELLED with a raised SEQUENCE, as is a session the replan cancelled;
- anything else is left alone: publishing the same plan twice changes nothing, and a
  person's own events in these calendars are never touched.

A calendar that does not exist yet is created (MKCALENDAR) with the party's Russian name,
unless it would hold nothing but cancelled events. Errors (server unreachable, 401, 403,
...) stop the run with a Russian `InputError`; calendars after the failing one are not
touched.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote, urlsplit

from icalendar import STATUS, Calendar, Event

from models.domain import Instance, Plan
from models.problems import InputError, Problem
from planner.exports.calendars import (
    CANCELLED_PREFIX,
    MARKER,
    PRODID,
    PartyCalendar,
    _zone_years,
    party_calendars,
    plan_stamp,
    region_vtimezone,
)

Progress = Callable[[str], None]

IGNORED_IN_COMPARISON = ("DTSTAMP", "SEQUENCE", "LAST-MODIFIED", "CREATED")
"""Properties that do not make two versions of an event different (SEQUENCE is compared apart)."""
TIMEOUT_SECONDS = 30


@dataclass
class PublishReport:
    """What a publish run did, counted per event in each calendar."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0
    calendars_created: int = 0
    calendars_used: int = 0
    calendars_skipped: int = 0  # parties with nothing to publish and no calendar on the server
    calendar_urls: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (title, URL)

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.cancelled + self.calendars_created

    def summary(self) -> str:
        """The Russian summary the CLI prints."""
        lines = [
            (f"Календарей на сервере: {self.calendars_used} (создано новых: {self.calendars_created}; "
             f"пропущено пустых: {self.calendars_skipped})."),
            (f"События: создано {self.created}, изменено {self.updated}, отменено {self.cancelled}, "
             f"без изменений {self.unchanged}."),
        ]
        if not self.changes:
            lines.append("Сервер уже совпадал с планом: ничего не изменено.")
        return "\n".join(lines)


def publish_plan(
    instance: Instance,
    plan: Plan,
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    stamp: datetime | None = None,
    progress: Progress | None = None,
) -> PublishReport:
    """Put every party's events into its own calendar on the CalDAV server at `url`."""
    _check_url(url)
    stamp = stamp or plan_stamp(instance, plan)
    from planner.exports.roadmap_calendars import roadmap_calendars

    calendars = party_calendars(instance, plan, stamp=stamp) + roadmap_calendars(instance, plan, stamp=stamp)
    zone = region_vtimezone(instance.settings.region.timezone, *_zone_years(instance, plan))
    prefix = calendar_prefix(instance)
    report = PublishReport()

    import caldav  # imported here: the other commands do not pay for it
    from caldav.elements import dav

    with _remote(url, "подключение к серверу"):
        client = caldav.DAVClient(
            url=url, username=username, password=password,
            timeout=TIMEOUT_SECONDS, enable_rfc6764=False,
        )
    try:
        with _remote(url, "подключение к серверу"):
            principal = client.get_principal()
            existing = {_collection_id(c.url): c for c in principal.get_calendars()}

        for n, party in enumerate(calendars, 1):
            cal_id = f"{prefix}-{party.key}"
            server_cal = existing.get(cal_id)
            active = [ev for ev in party.events if ev.get("STATUS") != STATUS.CANCELLED]
            if server_cal is None and not active:  # nothing to show: no empty calendar
                report.calendars_skipped += 1
                continue
            before = (report.created, report.updated, report.cancelled)
            with _remote(url, f"календарь «{party.title}»"):
                if server_cal is None:
                    server_cal = principal.make_calendar(name=party.title, cal_id=cal_id)
                    report.calendars_created += 1
                elif (server_cal.get_display_name() or "") != party.title:
                    server_cal.set_properties([dav.DisplayName(party.title)])
                _sync_calendar(server_cal, party, zone, report)
            report.calendars_used += 1
            report.calendar_urls[party.key] = (party.title, str(server_cal.url))
            after = (report.created, report.updated, report.cancelled)
            if progress and after != before:
                d = [a - b for a, b in zip(after, before, strict=True)]
                progress(f"[{n}/{len(calendars)}] {party.title}: "
                         f"создано {d[0]}, изменено {d[1]}, отменено {d[2]}")
    finally:
        client.close()
    return report


def calendar_prefix(instance: Instance) -> str:
    """The first part of every server calendar id: the instance name, made URL-safe."""
    name = instance.name or "plan"
    if re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        return name
    ascii_part = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "plan"
    return f"{ascii_part}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"


# --- one calendar -------------------------------------------------------------------------


def _sync_calendar(server_cal, party: PartyCalendar, zone, report: PublishReport) -> None:
    """Make the server calendar hold the party's events; count what changed."""
    on_server: dict[str, tuple[object, Event]] = {}
    for obj in server_cal.get_events():
        comp = obj.get_icalendar_component()
        on_server[str(comp.get("UID"))] = (obj, comp)

    wanted = {str(ev["UID"]): ev for ev in party.events}
    for uid, event in wanted.items():
        cancelled = event.get("STATUS") == STATUS.CANCELLED
        if uid not in on_server:
            if cancelled:  # never shown in this calendar: nothing to cancel
                continue
            server_cal.add_event(_object_text(event, zone), increase_seqno=False)
            report.created += 1
            continue
        obj, current = on_server[uid]
        new = next_version(event, current)
        if new is None:
            report.unchanged += 1
            continue
        obj.data = _object_text(new, zone)
        obj.save(increase_seqno=False)
        if cancelled and current.get("STATUS") != STATUS.CANCELLED:
            report.cancelled += 1
        else:
            report.updated += 1

    # Our events the plan no longer has in this calendar (dropped, or moved to another party).
    for uid, (obj, current) in on_server.items():
        if uid in wanted or MARKER not in current:
            continue
        if current.get("STATUS") == STATUS.CANCELLED:
            report.unchanged += 1
            continue
        obj.data = _object_text(cancelled_copy(current), zone)
        obj.save(increase_seqno=False)
        report.cancelled += 1


def next_version(wanted: Event, current: Event, fingerprint=None) -> Event | None:
    """The event to write over the published copy (a server's, or the last feed's), or None
    when that copy already says it.

    Content equal (by `fingerprint`, default `event_fingerprint`: DTSTAMP and SEQUENCE
    ignored) and the published SEQUENCE at least ours: nothing to do. Otherwise our event,
    with SEQUENCE above the published one when the content changed, so that calendar programs
    accept it as newer.
    """
    fingerprint = fingerprint or event_fingerprint
    ours, theirs = _sequence(wanted), _sequence(current)
    if fingerprint(wanted) == fingerprint(current):
        return None if ours <= theirs else wanted
    if ours > theirs:
        return wanted
    new = copy.deepcopy(wanted)
    new.pop("SEQUENCE", None)
    new.add("SEQUENCE", theirs + 1)
    return new


def cancelled_copy(current: Event) -> Event:
    """The server's event as STATUS:CANCELLED, SEQUENCE raised, reminders removed, SUMMARY
    starting «ОТМЕНЕНО: » (for programs that ignore STATUS)."""
    new = copy.deepcopy(current)
    new.subcomponents = [c for c in new.subcomponents if c.name != "VALARM"]
    seq = _sequence(current)
    for name in ("STATUS", "SEQUENCE"):
        new.pop(name, None)
    new.add("STATUS", STATUS.CANCELLED)
    new.add("SEQUENCE", seq + 1)
    summary = str(current.get("SUMMARY", ""))
    if not summary.startswith(CANCELLED_PREFIX):
        new.pop("SUMMARY", None)
        new.add("SUMMARY", CANCELLED_PREFIX + summary)
    description = str(current.get("DESCRIPTION", ""))
    if not description.startswith("ОТМЕНЕНО"):
        new.pop("DESCRIPTION", None)
        new.add("DESCRIPTION", "ОТМЕНЕНО: консультации больше нет в графике.\n" + description)
    return new


def event_fingerprint(event: Event) -> tuple[str, ...]:
    """The event's content lines, unfolded and sorted, without DTSTAMP, SEQUENCE and the like.

    Two versions with the same fingerprint mean the same thing to a calendar program, however
    a server re-folded or re-ordered the lines.
    """
    lines = []
    for line in event.content_lines():
        text = str(line)
        name = re.split(r"[;:]", text, maxsplit=1)[0].upper()
        if text and name not in IGNORED_IN_COMPARISON:
            lines.append(text)
    return tuple(sorted(lines))


def _sequence(event: Event) -> int:
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _object_text(event: Event, zone) -> str:
    """One calendar object resource: the zone and the event (what a CalDAV PUT carries)."""
    cal = Calendar.new(prodid=PRODID, uid=str(event["UID"]))
    cal.add_component(zone)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical().decode("utf-8")


def _collection_id(url: object) -> str:
    path = urlsplit(str(url)).path.rstrip("/")
    return unquote(path.rsplit("/", 1)[-1])


# --- errors in Russian --------------------------------------------------------------------


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError([Problem(
            "--caldav", "нужен полный адрес CalDAV-сервера, начинающийся с http:// или https://",
            value=url,
        )])


@contextmanager
def _remote(url: str, what: str) -> Iterator[None]:
    """Turn the CalDAV and network errors of one step into a Russian InputError."""
    from caldav.lib import error as dav_error

    try:
        yield
    except InputError:
        raise
    except dav_error.AuthorizationError as exc:
        if exc.status == 403 or "403" in str(exc.reason):
            message = (f"{what}: сервер запретил запись (403 Forbidden). У этого пользователя нет "
                       "права изменять календари по этому адресу; проверьте адрес и права доступа.")
        else:
            message = (f"{what}: сервер не принял имя пользователя или пароль (401 Unauthorized). "
                       "Проверьте --user и файл пароля (--password-file).")
        raise InputError([Problem(url, message)]) from None
    except dav_error.NotFoundError:
        raise InputError([Problem(url, f"{what}: адрес не найден на сервере (404). "
                                       "Проверьте адрес CalDAV (--caldav).")]) from None
    except dav_error.DAVError as exc:
        raise InputError([Problem(url, f"{what}: сервер календарей вернул ошибку: {exc.reason}")]) from None
    except Exception as exc:
        if isinstance(exc, OSError) or _is_network_error(exc):
            raise InputError([Problem(url, f"{what}: сервер календарей {urlsplit(url).netloc} недоступен "
                                           f"({_network_reason(exc)}). Проверьте адрес, сеть и что "
                                           "сервер запущен.")]) from None
        raise


def _is_network_error(exc: Exception) -> bool:
    """A connection/timeout error of the HTTP library caldav uses (niquests or requests)."""
    for mod in ("niquests", "requests"):
        try:
            exceptions = __import__(f"{mod}.exceptions", fromlist=["RequestException"])
        except ImportError:
            continue
        if isinstance(exc, exceptions.RequestException):
            return True
    return False


def _network_reason(exc: BaseException) -> str:
    """A short Russian reason for a network failure (the library's text is long and English)."""
    text = f"{type(exc).__name__} {exc}".lower()
    if "refused" in text:
        return "соединение отклонено: по этому адресу и порту никто не слушает"
    if "timeout" in text or "timed out" in text:
        return "сервер не ответил вовремя"
    if "resolve" in text or "getaddrinfo" in text or "name or service" in text:
        return "имя сервера не найдено"
    if "ssl" in text or "certificate" in text:
        return "ошибка защищённого соединения (TLS)"
    return type(exc).__name__
