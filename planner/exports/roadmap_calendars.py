"""Roadmap calendars: `calendars/roadmap.ics` and one `calendars/executor-<slug>.ics` per executor.

A pure exporter of (instance, plan), built on the calendar module's extension point
(`planner.calendars.activity_events` / `calendar_bytes`), so an activity has the same
all-day VEVENT — the same UID (uuid5 of the activity id), DTSTAMP and texts — in `all.ics`,
in `roadmap.ics` and in its executors' files: a calendar program that imports several of
them keeps one event.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from models.domain import Instance, Plan
from models.roadmap import executors_of, slug
from planner.exports.calendars import activity_events, calendar_bytes, plan_stamp


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


def roadmap_calendar_files(instance: Instance, plan: Plan, *, stamp: datetime | None = None) -> dict[str, bytes]:
    """{"calendars/roadmap.ics": …, "calendars/executor-<slug>.ics": …} for the plan's activities.

    Every executor of the instance's roadmap gets a file (an empty one when the plan dates
    none of its activities, so a stale file is overwritten). Nothing when the instance has no
    roadmap.
    """
    if not instance.activities:
        return {}
    stamp = stamp or plan_stamp(instance, plan)
    region = instance.settings.region.name or instance.name
    files = {
        "calendars/roadmap.ics": calendar_bytes(
            instance, plan, f"Дорожная карта: {region}", activity_events(instance, plan, stamp=stamp),
            key="roadmap"),
    }
    for executor, name in executor_slugs(instance).items():
        mine = [a for a in plan.activities
                if a.id in instance.activities and executor in executors_of(instance.activities[a.id])]
        events = activity_events(instance, replace(plan, activities=mine), stamp=stamp)
        files[f"calendars/executor-{name}.ics"] = calendar_bytes(
            instance, plan, f"Дорожная карта, исполнитель: {executor}", events, key=f"executor-{name}")
    return files
