"""Linking consultations to the roadmap: a stage starts only after a roadmap activity.

Declared in `instance.toml`:

    [roadmap]
    stage_after = {program = "A12", monitoring = "A23"}

means: no consultation of a `program` topic before activity A12 has ended, none of a
`monitoring` topic before A23 has ended (the day after the activity's last day is the first
allowed day). The dates come from the roadmap schedule (`plan.activities`, i.e.
`schedule_roadmap(...).activities`), so the roadmap is scheduled before the consultations.

Enforcement, from coarse to exact:
- month level: `first_month_by_stage` — months before it get no sessions of the stage
  (`linked_instance` applies this to a copy of the instance by narrowing the topics'
  `months`, so the month model needs no change);
- day level: `first_day_by_stage` — in that first month, only days from this one on;
- check: `link_violations(instance, plan)` lists every session that breaks a link.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from models.calendar_days import Month, month_of, months_between
from models.domain import ActivityDates, Instance, Plan, Stage, Topic


def stage_links(instance: Instance) -> dict[Stage, str]:
    """Stage -> the activity its consultations must wait for (`[roadmap] stage_after`)."""
    return {Stage(stage): activity for stage, activity in instance.settings.roadmap.stage_after}


def first_day_by_stage(instance: Instance, activities: list[ActivityDates]) -> dict[Stage, date]:
    """Stage -> first day its consultations may be held on: the day after the activity ends.

    Stages whose activity has no dates in `activities` (roadmap not scheduled) are left out;
    call this with a schedule of the whole roadmap.
    """
    ends = {a.id: a.end for a in activities}
    return {stage: ends[act] + timedelta(days=1) for stage, act in stage_links(instance).items() if act in ends}


def first_month_by_stage(instance: Instance, activities: list[ActivityDates]) -> dict[Stage, Month]:
    """Stage -> first month (YYYY-MM) in which its consultations may be held."""
    return {stage: month_of(day) for stage, day in first_day_by_stage(instance, activities).items()}


def topic_first_day(instance: Instance, activities: list[ActivityDates], topic: Topic) -> date | None:
    """The first day a session of this topic may be held on, or None when its stage is not linked."""
    return first_day_by_stage(instance, activities).get(topic.stage)


def linked_instance(instance: Instance, activities: list[ActivityDates]) -> Instance:
    """A copy of the instance whose linked-stage topics are held only from the first allowed month.

    A topic with empty `months` (any open month) gets the horizon's months from the first
    allowed one; a topic with listed months keeps those not earlier. When none is left, the
    topic gets the month after the horizon, which is never open: the model then gives it no
    sessions and the plan reports the needs it would have met as unmet.
    """
    first = first_month_by_stage(instance, activities)
    if not first:
        return instance
    h = instance.settings.horizon
    horizon_months = months_between(h.start, h.end)
    never = month_of(h.end + timedelta(days=32 - h.end.day))
    topics = {}
    for tid, topic in instance.topics.items():
        month = first.get(topic.stage)
        if month is None:
            topics[tid] = topic
            continue
        allowed = tuple(m for m in (topic.months or horizon_months) if m >= month)
        topics[tid] = replace(topic, months=allowed or (never,))
    return replace(instance, topics=topics)


def link_violations(instance: Instance, plan: Plan) -> list[str]:
    """Every session of a linked stage held before the day its activity allows (Russian)."""
    first = first_day_by_stage(instance, plan.activities)
    links = stage_links(instance)
    out = []
    for s in plan.sessions:
        topic = instance.topics.get(s.topic)
        if topic is None or topic.stage not in first:
            continue
        if s.start.date() < first[topic.stage]:
            out.append(
                f"консультация {s.id} ({s.topic}, {s.start.date():%d.%m.%Y}) этапа «{topic.stage}»"
                f" раньше окончания мероприятия {links[topic.stage]} дорожной карты: можно не раньше"
                f" {first[topic.stage]:%d.%m.%Y}")
    return out
