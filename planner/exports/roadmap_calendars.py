"""Roadmap calendars: `calendars/roadmap.ics` and one `calendars/executor-<slug>.ics` per executor.

A pure exporter of (instance, plan), built on the calendar module's extension point
(`planner.exports.calendars.activity_events` / `calendar_bytes`), so an activity has the same
all-day VEVENT — the same UID (uuid5 of the region and the activity id), DTSTAMP, SEQUENCE
and texts — in `roadmap.ics` and in its executors' files: a calendar program that imports
several of them keeps one event. Activities never go into the consultations' `all.ics`.
`roadmap_calendars` is the model that both the files and the CalDAV publisher use.
"""

from __future__ import annotations

from datetime import datetime

from models.domain import Instance, Plan
from models.roadmap import executors_of, slug
from planner.exports.calendars import PartyCalendar, activity_events, calendar_bytes, plan_stamp


def executor_slugs(instance: Instance) -> dict[str, str]:
    """Executor text -> its ASCII file-name part, unique (a clash gets "-2", "-3", …)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for activity in instance.activities.values():
        for executor in executors_of(activity):
            if executor in out:
                continue
            base = slug(executor)
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            out[executor] = name
            taken.add(name)
    return out


def roadmap_calendars(instance: Instance, plan: Plan, *, stamp: datetime | None = None) -> list[PartyCalendar]:
    """The roadmap's calendars: "roadmap" (every activity), then one per executor.

    Every executor of the instance's roadmap gets one (empty when the plan dates none of its
    activities, so a stale file is overwritten). None when the instance has no roadmap.
    """
    if not instance.activities:
        return []
    stamp = stamp or plan_stamp(instance, plan)
    region = instance.settings.region.name or instance.name
    events = activity_events(instance, plan, stamp=stamp)
    calendars = [PartyCalendar("roadmap", "roadmap", "", f"Дорожная карта: {region}", tuple(events))]
    for executor, name in executor_slugs(instance).items():
        mine = {f"activity/{a.id}" for a in instance.activities.values() if executor in executors_of(a)}
        calendars.append(PartyCalendar(
            f"executor-{name}", "executor", executor, f"Дорожная карта, исполнитель: {executor}",
            tuple(e for e in events if str(e["X-PLANNER-ID"]) in mine)))
    return calendars


def roadmap_calendar_files(instance: Instance, plan: Plan, *, stamp: datetime | None = None) -> dict[str, bytes]:
    """{"calendars/roadmap.ics": …, "calendars/executor-<slug>.ics": …} for the plan's activities
    (`roadmap_calendars`); nothing when the instance has no roadmap."""
    rendered: dict[int, bytes] = {}
    return {cal.path: calendar_bytes(instance, plan, cal.title, list(cal.events), key=cal.key, rendered=rendered)
            for cal in roadmap_calendars(instance, plan, stamp=stamp)}
