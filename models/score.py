"""A plan's figures recomputed from the plan alone (no solver): coverage and the soft terms."""

from __future__ import annotations

from collections import Counter, defaultdict

from models.calendar_days import month_of
from models.domain import VERIFICATION_NEED, Format, Instance, Plan, Stage
from models.programme import programme_measures


def attended_topics(plan: Plan) -> dict[str, dict[str, str]]:
    """School -> topic -> ISO start of the (first) session it attends on that topic."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for s in sorted(plan.sessions, key=lambda s: s.start):
        for school in s.schools:
            out[school].setdefault(s.topic, s.start.isoformat())
    return out


def needs(instance: Instance) -> list[tuple[str, str]]:
    """Every (school, risk) need, plus (school, 'verification') for unverified schools."""
    out = []
    for s in instance.schools.values():
        if s.withdrawn:
            continue
        if s.verified_on is None:
            out.append((s.id, VERIFICATION_NEED))
        out.extend((s.id, r) for r in s.risks)
    return out


def covered_needs(instance: Instance, plan: Plan) -> set[tuple[str, str]]:
    """Needs the plan meets: a risk by ≥ min_topics_per_risk attended topics addressing it,
    verification by an attended verification session."""
    k = instance.settings.rules.min_topics_per_risk
    attended = attended_topics(plan)
    out = set()
    for school, risk in needs(instance):
        topics = [instance.topics[t] for t in attended.get(school, {}) if t in instance.topics]
        if risk == VERIFICATION_NEED:
            if any(t.stage == Stage.VERIFICATION for t in topics):
                out.add((school, risk))
        elif sum(1 for t in topics if risk in t.risks) >= k:
            out.add((school, risk))
    return out


def consultant_load(plan: Plan) -> Counter:
    return Counter(s.consultant for s in plan.sessions)


def score_plan(instance: Instance, plan: Plan) -> dict[str, float]:
    """Named figures of a plan; `weighted_total` uses the instance's weights."""
    all_needs = needs(instance)
    covered = covered_needs(instance, plan)
    by_priority = {}
    for p in (1, 2, 3):
        mine = [n for n in all_needs if instance.schools[n[0]].priority == p]
        if mine:
            by_priority[p] = sum(1 for n in mine if n in covered)
    travel = sum(
        instance.round_trip_km(s.consultant, s.municipality)
        for s in plan.sessions
        if s.format == Format.ONSITE and s.municipality is not None
    )
    months = instance.calendar.open_months
    pos = {m: i for i, m in enumerate(months)}
    attended = attended_topics(plan)
    delay = 0
    for s in instance.schools.values():
        if s.priority != 1:
            continue
        for t in instance.topics.values():
            if t.stage == Stage.PROGRAM and set(t.risks) & set(s.risks):
                when = attended.get(s.id, {}).get(t.id)
                delay += pos.get(when[:7], len(months)) if when else 0
    load = consultant_load(plan)
    n_att = sum(len(s.schools) for s in plan.sessions)
    w = instance.settings.weights
    max_load = max(load.values(), default=0)
    weighted = (w.travel_km * travel + w.early_program * delay + w.max_load * max_load
                + w.session * len(plan.sessions) + w.attendance * n_att)
    programme = programme_measures(instance, plan)
    weighted += programme_weighted(instance, programme)
    return {
        "needs_total": len(all_needs),
        "needs_covered": len(covered),
        "coverage_share": round(len(covered) / len(all_needs), 4) if all_needs else 1.0,
        "covered_priority_1": by_priority.get(1, 0),
        "covered_priority_2": by_priority.get(2, 0),
        "covered_priority_3": by_priority.get(3, 0),
        "verifications_covered": sum(1 for n in covered if n[1] == VERIFICATION_NEED),
        "travel_km": travel,
        "early_program": delay,
        "max_load": max_load,
        "sessions": len(plan.sessions),
        "attendance": n_att,
        **programme,
        "weighted_total": weighted,
    }


def programme_weighted(instance: Instance, m: dict[str, float]) -> float:
    """The programme's terms of phase 2's objective (`ConsultationModel._programme_terms`),
    recomputed from the plan's measures: each only when its setting is on."""
    rules, w = instance.settings.rules, instance.settings.weights
    total = 0.0
    if w.relevant_attendance:
        total += (-w.relevant_attendance * m["relevant_attendance"] + w.onsite_visit * m["onsite_visits"]
                  + w.online_session * m["online_sessions"])
    if rules.hold_every_topic:
        total += w.unheld_topic * (m["topics_usable"] - m["topics_held"])
    if rules.max_gap_months > 0:
        total += w.gap_month * m["gap_months"] + w.month_peak * m["busiest_month_sessions"]
        if rules.verification_months > 0:
            total += w.late_verification * m["late_verification_months"]
    return total


def load_by_month(plan: Plan) -> dict[str, Counter]:
    out: dict[str, Counter] = defaultdict(Counter)
    for s in plan.sessions:
        out[s.consultant][month_of(s.start.date())] += 1
    return out
