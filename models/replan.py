"""What-if replanning: keep the past, move as little as possible of the rest.

Given the (changed) instance, a baseline plan and a freeze date F:
- sessions that start before F are history: pinned exactly (id, time, consultant, schools);
  so are the later sessions named in `held` (pinned or edited by hand);
- the month-level model gets the history as fixed values, new sessions only from F on,
  and the `changed_sessions` / `changed_schools` penalties against the baseline's later
  sessions (weights in `[weights]`: a changed or cancelled session costs
  `changed_session`, each school whose attendance differs costs `changed_school`); coverage
  still comes first, then few changes together with the usual terms;
- the search (`models.solve`): a local repair of the baseline (schools the change did not
  touch held as they were, the touched ones re-planned: coverage, then the objective); a
  repair proven optimal is the answer, else it starts the full search (phase 2);
- dates prefer each surviving session's baseline day; a surviving session keeps its id.
  One whose time, municipality or schools changed gets `sequence + 1`; a baseline session
  with no successor goes to `plan.cancelled` with `sequence + 1`.

"Sessions changed" (reported and benchmarked) counts, against the baseline's sessions from F
on: those moved or with other schools, those cancelled, and those newly added.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from models.calendar_days import month_of
from models.consultation import ModelOptions
from models.dates import Pending
from models.domain import VERIFICATION_NEED, Instance, Plan, Session, Stage, Unmet
from models.programme import explain_programme
from models.score import score_plan
from models.solve import SolveOptions, solve_consultations
from models.unmet import explain_unmet
from models.validate import validate


@dataclass
class ChangeSummary:
    kept: int
    moved: int  # same id, other date/time or schools
    cancelled: int
    added: int

    @property
    def changed(self) -> int:
        return self.moved + self.cancelled + self.added


def _key(s: Session) -> tuple:
    return (s.topic, s.consultant, month_of(s.start.date()), s.municipality)


def _month_level(instance: Instance, sessions: list[Session]) -> tuple[dict[tuple, int], set, set]:
    """Sessions as the month-level model sees them: counts per (topic, consultant, month,
    municipality), attendances (school, topic, month) and verification visits
    (school, topic, consultant, month)."""
    counts: dict[tuple, int] = defaultdict(int)
    attend, verify = set(), set()
    for s in sessions:
        counts[_key(s)] += 1
        m = month_of(s.start.date())
        topic = instance.topics.get(s.topic)
        for school in s.schools:
            if topic is not None and topic.stage == Stage.VERIFICATION:
                verify.add((school, s.topic, s.consultant, m))
            else:
                attend.add((school, s.topic, m))
    return dict(counts), attend, verify


def replan(instance: Instance, baseline: Plan, freeze: date, opts: SolveOptions | None = None,
           scenario_name: str = "", topic_first_day: dict[str, date] | None = None,
           stable: bool = False, held: frozenset[str] | set[str] = frozenset()) -> Plan:
    """`instance` is the changed one (with its roadmap links applied, if any). `stable`: the
    stable option (`ModelOptions.no_new_sessions`): nothing added, the most coverage that the
    baseline's own sessions still give, then the fewest changes. `held`: ids of baseline
    sessions after the freeze that are kept exactly as they are, like history (sessions a
    person pinned or edited by hand)."""
    opts = opts or SolveOptions()
    history = [s for s in baseline.sessions if s.start.date() < freeze or s.id in held]
    future = [s for s in baseline.sessions if s.start.date() >= freeze and s.id not in held]

    frozen_counts, frozen_attend, frozen_verify = _month_level(instance, history)
    base_counts, base_attend, base_verify = _month_level(instance, future)
    options = ModelOptions(
        frozen_counts=frozen_counts, frozen_attend=frozen_attend, frozen_verify=frozen_verify,
        first_free_month=month_of(freeze), free_from=freeze,
        baseline_counts=base_counts, baseline_attend=base_attend, baseline_verify=base_verify,
        no_new_sessions=stable,
    )

    plan, report = solve_consultations(instance, opts, options, pinned=history, preferred=lambda pending: continue_baseline(future, pending),
                                       hint_plan=baseline, topic_first_day=topic_first_day, keep_schools_of=future)
    if report.month_solution is None and future:
        # Nothing found in the time (a loaded machine, a short limit): the plan used to keep
        # only the history, every later session cancelled. Keep what still fits instead.
        plan = _fallback(instance, baseline, freeze, plan)
    plan = finish_replan(instance, baseline, plan, freeze, scenario_name)
    plan.meta["replan"]["option"] = "stability" if stable else "coverage"
    if held:
        plan.meta["replan"]["held"] = sorted(s.id for s in history if s.id in held)
    if stable:
        plan.unmet = [_stable_reason(instance, baseline, plan, u, freeze) for u in plan.unmet]
    return plan


FALLBACK_NOTE = ("решатель не нашёл нового плана за отведённое время: оставлено то, что из базового плана ещё"
                 " возможно; увеличьте --time-limit, чтобы закрыть больше потребностей")


def keep_what_still_fits(instance: Instance, baseline: Plan, freeze: date) -> list[Session]:
    """The baseline's sessions that the changed instance still allows: history as it was;
    later sessions that break a rule dropped, and schools that break one taken out of theirs
    (a school's rule: its monthly limit, a prerequisite, …), one round of the validator at a
    time, until no later session breaks a rule. The fallback of a replan whose search found
    nothing in its time: the plan then still holds everything that can be held."""
    sessions = list(baseline.sessions)
    for _ in range(len(sessions) + 1):
        probe = Plan(baseline.instance, "FEASIBLE", None, None, 0.0, sessions, [],
                     meta={"replan": {"freeze_before": freeze.isoformat()}})
        by_id = {s.id: s for s in sessions}
        drop: set[str] = set()
        strip: dict[str, set[str]] = defaultdict(set)
        for v in validate(instance, probe):
            s = by_id.get(v.session or "")
            if s is None or s.start.date() < freeze:
                continue
            if v.school is not None and v.school in s.schools and len(s.schools) > 1:
                strip[s.id].add(v.school)
            else:
                drop.add(s.id)
        if not drop and not strip:
            return sessions
        sessions = [s if s.id not in strip else dataclasses.replace(
                        s, schools=tuple(x for x in s.schools if x not in strip[s.id]))
                    for s in sessions if s.id not in drop]
    return sessions


def _fallback(instance: Instance, baseline: Plan, freeze: date, failed: Plan) -> Plan:
    """The replan's answer when its search found nothing: `keep_what_still_fits`, explained."""
    plan = Plan(instance.name, "FEASIBLE", None, None, failed.solve_seconds,
                keep_what_still_fits(instance, baseline, freeze), [], meta=dict(failed.meta))
    plan.meta["fallback"] = FALLBACK_NOTE
    plan.unmet = explain_unmet(instance, plan, free_from=freeze)
    plan.score = score_plan(instance, plan)
    plan.objective = float(plan.score["weighted_total"])
    return plan


DATA_REASONS = {"no_topic", "no_consultant", "too_few_topics", "no_open_month", "no_month_after_prerequisite",
                "no_verification_topic", "no_verifier", "verifier_unavailable", "no_month_after_verification"}
"""Unmet codes that say the data allows no plan at all: kept as they are in the stable option."""


def _stable_reason(instance: Instance, baseline: Plan, plan: Plan, u: Unmet, freeze: date) -> Unmet:
    """In the stable option a need the data could still meet is unmet because nothing is added:
    say which of the baseline's sessions met it and is gone."""
    if u.code in DATA_REASONS:
        return u
    kept = {s.id: s for s in plan.sessions}

    def lost(s: Session) -> bool:
        topic = instance.topics.get(s.topic)
        return (topic is not None and s.start.date() >= freeze and u.school in s.schools
                and (s.id not in kept or u.school not in kept[s.id].schools)
                and (u.risk in topic.risks or (u.risk == VERIFICATION_NEED and topic.stage == Stage.VERIFICATION)))

    def who(c: str) -> str:
        return instance.consultants[c].name if c in instance.consultants else c

    gone = [s for s in baseline.sessions if lost(s)]
    what = "; ".join(f"{s.topic} у {who(s.consultant)} {s.start:%d.%m.%Y}" for s in gone[:3])
    because = f"консультация базового плана ({what}) отменена или школа снята с неё, а " if gone else ""
    return Unmet(u.school, u.risk, f"стабильный вариант: {because}новых консультаций этот вариант не добавляет,"
                                   " а в оставшихся нет места или подходящего месяца", "stable_no_new_session")


@dataclass
class ReplanOptions:
    """A replan's two answers when keeping every need covered is expensive: `coverage` (every
    need that can be met is met, whatever it costs) and `stability` (nothing added: the
    baseline's own sessions, the needs they no longer meet named), and why the price of the
    first is high (`price`, Russian, empty when it is not and `stability` was not computed)."""

    coverage: Plan
    stability: Plan | None
    price: list[str]


PRICE_TRAVEL = 1.2
"""The coverage option is expensive when its travel exceeds the baseline's by this factor…"""
PRICE_SESSIONS = 0.10
"""… or it adds more than this share of the baseline's sessions after the freeze…"""
PRICE_LOAD = 1.5
"""… or some consultant's sessions after the freeze grow by this factor (and by 3 or more)."""


def coverage_price(baseline: Plan, plan: Plan, freeze: date) -> list[str]:
    """Why keeping every need covered costs far more than the baseline (Russian; empty when it
    does not): travel, sessions added, one person's load."""
    out = []
    base_km, km = baseline.score.get("travel_km", 0), plan.score.get("travel_km", 0)
    if base_km and km > PRICE_TRAVEL * base_km:
        out.append(f"поездки {km:,.0f} км против {base_km:,.0f} в базовом плане (×{km / base_km:.1f})"
                   .replace(",", "\u00a0"))
    later = [s for s in baseline.sessions if s.start.date() >= freeze]
    added = int(plan.meta.get("replan", {}).get("added", 0)) if isinstance(plan.meta, dict) else 0
    if later and added > PRICE_SESSIONS * len(later):
        out.append(f"добавлено {added} консультаций к {len(later)} после даты заморозки")
    before = Counter(s.consultant for s in later)
    after = Counter(s.consultant for s in plan.sessions if s.start.date() >= freeze)
    for c, n in sorted(after.items()):
        was = before.get(c, 0)
        if n >= was + 3 and n > PRICE_LOAD * was:
            out.append(f"у консультанта {c} {n} консультаций после даты заморозки вместо {was}")
    return out


def replan_options(instance: Instance, baseline: Plan, freeze: date, opts: SolveOptions | None = None,
                   scenario_name: str = "", topic_first_day: dict[str, date] | None = None,
                   stable_share: float = 0.4, held: frozenset[str] | set[str] = frozenset()) -> ReplanOptions:
    """The coverage option, and, when its price is high (`coverage_price`), the stable one too
    (it gets `stable_share` of the time limit; the coverage option the rest). `held`: see `replan`."""
    opts = opts or SolveOptions()
    first = dataclasses.replace(opts, time_limit=opts.time_limit * (1 - stable_share))
    plan = replan(instance, baseline, freeze, first, scenario_name, topic_first_day, held=held)
    price = coverage_price(baseline, plan, freeze)
    if not price:
        return ReplanOptions(plan, None, [])
    say = opts.progress or (lambda _m: None)
    say("Покрытие всех потребностей обходится дорого: " + "; ".join(price) + ". Считаю стабильный вариант…")
    second = dataclasses.replace(opts, time_limit=max(2.0, opts.time_limit * stable_share))
    stable = replan(instance, baseline, freeze, second, scenario_name, topic_first_day, stable=True, held=held)
    return ReplanOptions(plan, stable, price)


def continue_baseline(future: list[Session], pending: list[Pending]) -> None:
    """Which session of the baseline's `future` each pending one continues: its id is kept
    (the calendar event is updated, not cancelled and created anew). First the one of the
    same topic, consultant, month and place with the most schools in common, whose day is
    then preferred; then, for a session moved to another month, the unclaimed one of its
    topic, consultant and place with which it shares at least half of that one's schools."""
    unclaimed = list(future)
    for p in pending:
        same = [s for s in unclaimed if _key(s) == (p.topic, p.consultant, p.month, p.municipality)]
        if same:
            best = max(same, key=lambda s: (len(set(s.schools) & set(p.schools)), -abs(s.start.day)))
            unclaimed.remove(best)
            p.preferred_day, p.keep_id = best.start.date(), best.id
    for p in pending:
        if p.keep_id is not None:
            continue
        moved = [s for s in unclaimed if (s.topic, s.consultant, s.municipality) == (p.topic, p.consultant,
                                                                                      p.municipality)
                 and 2 * len(set(s.schools) & set(p.schools)) >= len(s.schools)]
        if moved:
            best = max(moved, key=lambda s: (len(set(s.schools) & set(p.schools)), s.start))
            unclaimed.remove(best)
            p.keep_id = best.id


def finish_replan(instance: Instance, baseline: Plan, plan: Plan, freeze: date, scenario_name: str = "") -> Plan:
    """Ids, SEQUENCE and cancellations against the baseline; the change list in `meta`."""
    base_by_id = {s.id: s for s in baseline.sessions}
    future_ids = {s.id for s in baseline.sessions if s.start.date() >= freeze}
    sessions, seen = [], set()
    changes: list[dict] = []
    summary = ChangeSummary(0, 0, 0, 0)
    used: set[str] = set()
    # Sessions carrying a baseline id first, so that they keep it.
    for s in sorted(plan.sessions, key=lambda s: s.id not in base_by_id):
        if s.id in used:  # a new session landing on a kept one's original slot: keep ids unique
            n = 2
            while f"{s.id}-{n}" in used or f"{s.id}-{n}" in base_by_id:
                n += 1
            s = dataclasses.replace(s, id=f"{s.id}-{n}")
        used.add(s.id)
        old = base_by_id.get(s.id)
        if old is None:
            sessions.append(s)
            summary.added += 1 if s.start.date() >= freeze else 0
            changes.append(change_record("added", s, None))
            continue
        seen.add(s.id)
        same = (old.start, old.end, old.schools, old.municipality, old.consultant, old.topic) == \
               (s.start, s.end, s.schools, s.municipality, s.consultant, s.topic)
        if same:
            sessions.append(dataclasses.replace(s, sequence=old.sequence))
            if s.id in future_ids:
                summary.kept += 1
        else:
            sessions.append(dataclasses.replace(s, sequence=old.sequence + 1))
            summary.moved += 1
            changes.append(change_record("moved", s, old))
    cancelled = [c for c in baseline.cancelled if c.id not in seen]
    for old in baseline.sessions:
        if old.id in future_ids and old.id not in seen:
            cancelled.append(dataclasses.replace(old, sequence=old.sequence + 1))
            summary.cancelled += 1
            changes.append(change_record("cancelled", None, old))
    plan.sessions = sorted(sessions, key=lambda s: (s.start, s.consultant, s.topic))
    plan.cancelled = sorted(cancelled, key=lambda s: (s.start, s.id))
    plan.unheld_topics, plan.support_gaps = explain_programme(instance, plan, free_from=freeze)
    plan.score = score_plan(instance, plan)
    plan.meta.update({
        "replan": {
            "scenario": scenario_name,
            "freeze_before": freeze.isoformat(),
            "baseline_sessions": len(baseline.sessions),
            "history_sessions": sum(1 for s in baseline.sessions if s.start.date() < freeze),
            "kept": summary.kept, "moved": summary.moved, "cancelled": summary.cancelled,
            "added": summary.added, "sessions_changed": summary.changed,
        },
        "changes": changes,
    })
    return plan


def change_record(kind: str, new: Session | None, old: Session | None) -> dict:
    """One entry of `meta.changes`: a session added, moved (or its schools changed) or cancelled."""
    ref = new or old
    assert ref is not None
    return {
        "kind": kind,
        "session": ref.id,
        "topic": ref.topic,
        "consultant": ref.consultant,
        "old_consultant": old.consultant if old else None,
        "old_start": old.start.isoformat() if old else None,
        "new_start": new.start.isoformat() if new else None,
        "old_schools": list(old.schools) if old else [],
        "schools": list(new.schools) if new else [],
        "municipality": ref.municipality,
    }


def sessions_changed(baseline: Plan, plan: Plan, freeze: date) -> int:
    """Changed sessions of `plan` against `baseline` from the freeze date on, by content
    (topic, consultant, start, end, schools), whatever their ids: used to compare a replan
    with a from-scratch re-solve on equal terms."""
    def sig(s: Session) -> tuple:
        return (s.topic, s.consultant, s.start, s.end, s.municipality, tuple(sorted(s.schools)))
    old = [sig(s) for s in baseline.sessions if s.start.date() >= freeze]
    new = [sig(s) for s in plan.sessions if s.start.date() >= freeze]
    pool = defaultdict(int)
    for x in old:
        pool[x] += 1
    common = 0
    for x in new:
        if pool[x] > 0:
            pool[x] -= 1
            common += 1
    return (len(old) - common) + (len(new) - common)
