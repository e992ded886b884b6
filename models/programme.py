"""The programme a working group checks: its measures and its exceptions, from the plan alone.

Measures (`programme_measures`, part of `plan.score`): topics held of those some school can
use; consultations other than verification per open month and the busiest month's share;
open months without any; the longest support gap of a school (open months in a row without a
consultation after its verification) and how many schools go longer than `max_gap_months`;
late verification visits; relevant consultations (a school attending a topic that addresses
one of its risks) in all and per school; the most onsite visits of one consultant in a month.

Exceptions (`explain_programme` → `plan.unheld_topics`, `plan.support_gaps`): every usable
topic the plan does not hold and every school left without support too long, each with a
reason a person can act on, checked in order (first match wins) like `models.unmet`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from models.calendar_days import Month, month_first_day, month_of
from models.domain import Format, Instance, Plan, Stage, SupportGap, UnheldTopic
from models.index import Index

GAP, LATE = "gap", "late_verification"


# --- what the plan does ------------------------------------------------------------------


def held_topics(plan: Plan) -> set[str]:
    return {s.topic for s in plan.sessions}


def session_months(instance: Instance, plan: Plan) -> dict[str, set[Month]]:
    """School -> months in which it attends any consultation (verification included)."""
    out: dict[str, set[Month]] = defaultdict(set)
    for s in plan.sessions:
        for school in s.schools:
            out[school].add(month_of(s.start.date()))
    return out


def verification_month(instance: Instance, plan: Plan) -> dict[str, Month]:
    """School -> the month of its (first) verification visit in the plan."""
    out: dict[str, Month] = {}
    for s in sorted(plan.sessions, key=lambda s: s.start):
        topic = instance.topics.get(s.topic)
        if topic is not None and topic.stage == Stage.VERIFICATION:
            for school in s.schools:
                out.setdefault(school, month_of(s.start.date()))
    return out


def first_visit_month(ix: Index, school: str, free_from: date | None = None) -> Month | None:
    """The first open month the school's verification visit could be in: a verification
    topic's month in which one of its verifiers has a free day (from the freeze on, in a
    replan). The month model's `late_verification` term counts from the same month."""
    inst = ix.inst
    sch = inst.schools[school]
    months = []
    for topic in inst.verification_topics:
        for c in ix.verifiers(sch, topic):
            for m in ix.topic_months[topic.id]:
                days = ix.free_days[c].get(m, ())
                if any(free_from is None or d >= free_from for d in days):
                    months.append(m)
    return min(months) if months else None


def support_runs(instance: Instance, plan: Plan, ix: Index | None = None,
                 free_from: date | None = None) -> dict[str, list[tuple[str, tuple[Month, ...]]]]:
    """School -> its stretches without support: ("gap", months) for each run of more than
    `max_gap_months` open months in a row without a consultation after its verification
    month (after `verified_on`'s month, for a school verified before the plan), and
    ("late_verification", months waited) for a visit later than its first
    `verification_months` possible months. Empty when `max_gap_months` is 0."""
    rules = instance.settings.rules
    g = rules.max_gap_months
    if g <= 0:
        return {}
    ix = ix or Index(instance)
    months = ix.months
    attended = session_months(instance, plan)
    visited = verification_month(instance, plan)
    out: dict[str, list[tuple[str, tuple[Month, ...]]]] = defaultdict(list)
    for sch in instance.schools.values():
        if sch.withdrawn:
            continue
        if sch.verified_on is not None:
            after = [m for m in months if month_first_day(m) > sch.verified_on]
        elif sch.id in visited:
            after = [m for m in months if m > visited[sch.id]]
            k = rules.verification_months
            first = first_visit_month(ix, sch.id, free_from)
            history = free_from is not None and visited[sch.id] < month_of(free_from)
            if k > 0 and first is not None and not history and first in ix.month_pos:
                late = ix.month_pos.get(visited[sch.id], 0) - ix.month_pos[first] - k + 1
                if late > 0:
                    waited = tuple(m for m in months if first <= m < visited[sch.id])
                    out[sch.id].append((LATE, waited))
        else:
            continue  # never verified: an unmet need of its own, no support to count
        run: list[Month] = []
        for m in after + [None]:
            if m is not None and m not in attended.get(sch.id, set()):
                run.append(m)
                continue
            if len(run) > g:
                out[sch.id].append((GAP, tuple(run)))
            run = []
    return dict(out)


def late_months(instance: Instance, plan: Plan, runs: dict[str, list[tuple[str, tuple[Month, ...]]]],
                ix: Index) -> int:
    """Σ over late visits of the months beyond the first `verification_months` possible ones."""
    k = instance.settings.rules.verification_months
    return sum(max(0, len(months) - k + 1) for items in runs.values() for kind, months in items if kind == LATE)


def programme_measures(instance: Instance, plan: Plan, ix: Index | None = None) -> dict[str, float]:
    """The programme's figures of a plan (module docstring)."""
    ix = ix or Index(instance)
    rules = instance.settings.rules
    usable = ix.usable_topics
    held = held_topics(plan)
    thematic = [s for s in plan.sessions if s.topic in instance.topics
                and instance.topics[s.topic].stage != Stage.VERIFICATION]
    per_month = Counter(month_of(s.start.date()) for s in thematic)
    busiest = max(per_month.values(), default=0)
    runs = support_runs(instance, plan, ix, plan.freeze_before)
    longest = _longest_gaps(instance, plan, ix)
    g = rules.max_gap_months
    relevant = sum(1 for s in thematic for school in s.schools
                   if school in instance.schools and ix.relevant(school, s.topic))
    schools = [s for s in instance.schools.values() if not s.withdrawn]
    onsite = Counter((s.consultant, month_of(s.start.date())) for s in plan.sessions if s.format == Format.ONSITE)
    return {
        "topics_usable": len(usable),
        "topics_held": sum(1 for t in usable if t in held),
        "programme_sessions": len(thematic),
        "busiest_month_sessions": busiest,
        "busiest_month_share": round(busiest / len(thematic), 4) if thematic else 0.0,
        "open_months_without_sessions": sum(1 for m in ix.months if not per_month.get(m)),
        "longest_gap": max(longest.values(), default=0),
        "schools_with_gaps": sum(1 for items in runs.values() if any(kind == GAP for kind, _m in items)),
        "gap_months": sum(len(m) - g for items in runs.values() for kind, m in items if kind == GAP),
        "late_verifications": sum(1 for items in runs.values() if any(kind == LATE for kind, _m in items)),
        "late_verification_months": late_months(instance, plan, runs, ix),
        "relevant_attendance": relevant,
        "relevant_per_school": round(relevant / len(schools), 2) if schools else 0.0,
        "max_onsite_per_month": max(onsite.values(), default=0),
        "onsite_visits": sum(onsite.values()),
        "online_sessions": sum(1 for s in plan.sessions if s.format == Format.ONLINE),
        "idle_consultants": len(_idle_consultants(instance, thematic, usable)),
    }


def _idle_consultants(instance: Instance, thematic, usable) -> list[str]:
    """Consultants who deliver a usable topic other than verification and lead no session of
    one (the programme's fair share: every member of the mobile group takes part)."""
    leading = {s.consultant for s in thematic}
    return [c.id for c in instance.consultants.values() if c.id not in leading
            and any(t in usable and instance.topics[t].stage != Stage.VERIFICATION for t in c.topics
                    if t in instance.topics)]


def _longest_gaps(instance: Instance, plan: Plan, ix: Index) -> dict[str, int]:
    """School -> its longest run of open months without a consultation after its
    verification (whatever `max_gap_months` says)."""
    attended = session_months(instance, plan)
    visited = verification_month(instance, plan)
    out = {}
    for sch in instance.schools.values():
        if sch.withdrawn:
            continue
        if sch.verified_on is not None:
            after = [m for m in ix.months if month_first_day(m) > sch.verified_on]
        elif sch.id in visited:
            after = [m for m in ix.months if m > visited[sch.id]]
        else:
            continue
        best = run = 0
        for m in after:
            run = 0 if m in attended.get(sch.id, set()) else run + 1
            best = max(best, run)
        out[sch.id] = best
    return out


# --- why -----------------------------------------------------------------------------------


def explain_programme(instance: Instance, plan: Plan, ix: Index | None = None,
                      free_from: date | None = None) -> tuple[list[UnheldTopic], list[SupportGap]]:
    """The programme's exceptions of `plan`, each with its reason (module docstring)."""
    ix = ix or Index(instance)
    ctx = _Why(instance, plan, ix, free_from)
    unheld = []
    if instance.settings.rules.hold_every_topic:
        held = held_topics(plan)
        unheld = [UnheldTopic(t, *reversed(ctx.unheld_reason(t))) for t in ix.usable_topics if t not in held]
    gaps = []
    for school, items in sorted(support_runs(instance, plan, ix, free_from).items()):
        for kind, months in items:
            code, reason = ctx.late_reason(school, months) if kind == LATE else ctx.gap_reason(school, months)
            gaps.append(SupportGap(school, kind, months, reason, code))
    return unheld, gaps


class _Why:
    def __init__(self, inst: Instance, plan: Plan, ix: Index, free_from: date | None):
        self.inst, self.plan, self.ix, self.free_from = inst, plan, ix, free_from
        self.per_cm = Counter((s.consultant, month_of(s.start.date())) for s in plan.sessions)
        self.per_c = Counter(s.consultant for s in plan.sessions)
        self.per_sm = Counter((school, month_of(s.start.date())) for s in plan.sessions for school in s.schools)
        self.onsite_cm = Counter((s.consultant, month_of(s.start.date())) for s in plan.sessions
                                 if s.format == Format.ONSITE)
        self.after = f" после даты заморозки {free_from:%d.%m.%Y}" if free_from else ""
        self.attended: dict[str, set[str]] = defaultdict(set)
        for s in plan.sessions:
            for school in s.schools:
                self.attended[school].add(s.topic)

    def _open(self, month: Month) -> bool:
        return self.free_from is None or month >= month_of(self.free_from)

    def _free(self, c: str, month: Month) -> bool:
        return any(self.free_from is None or d >= self.free_from for d in self.ix.free_days[c].get(month, ()))

    def _full(self, c: str, month: Month) -> bool:
        cons = self.inst.consultants[c]
        if cons.max_total is not None and self.per_c[c] >= cons.max_total:
            return True
        return self.per_cm[c, month] >= min(cons.max_per_month, len(self.ix.free_days[c].get(month, ())))

    def _names(self, ids) -> str:
        return ", ".join(f"{c} ({self.inst.consultants[c].name})" for c in ids)

    def unheld_reason(self, t: str) -> tuple[str, str]:
        inst, ix = self.inst, self.ix
        topic = inst.topics[t]
        who = ix.deliverers[t]
        if not who:
            return "no_consultant", "тему не ведёт ни один консультант: добавьте её консультанту в consultants"
        months = [m for m in ix.topic_months[t] if self._open(m)]
        if not months:
            shown = ", ".join(topic.months) if topic.months else "любой"
            return "no_open_month", f"у темы нет открытого месяца{self.after} (месяцы темы: {shown})"
        free = [(c, m) for c in who for m in months if self._free(c, m)]
        if not free:
            return "consultant_unavailable", (f"{'консультант' if len(who) == 1 else 'консультанты'}"
                                              f" {self._names(who)} недоступен(ы) во все месяцы темы{self.after}")
        schools = [s for s in inst.schools.values() if t in ix.useful_topics[s.id]]
        if topic.stage == Stage.VERIFICATION:
            schools = [s for s in inst.schools.values() if ix.needs_verification(s)]
        reachable = [s for s in schools if any(self._open(m) for m in ix.attend_months(s, topic))]
        if not reachable:
            need = (" после визита верификации" if ix.needs_after_verification(topic) else "") + \
                   (f" и после тем {', '.join(topic.requires)}" if topic.requires else "")
            return "no_school_month", (f"ни одна из {len(schools)} школ, которым тема полезна, не может её посетить:"
                                       f" тема идёт только{need}, а подходящего месяца с консультантом нет")
        if all(self._full(c, m) for c, m in free):
            return "consultants_full", (f"{self._names(who)} загружен(ы) полностью во все месяцы темы"
                                        " (max_per_month / max_total)")
        limit = inst.settings.rules.school_max_sessions_per_month
        if all(self.per_sm[s.id, m] >= limit for s in reachable for m in ix.attend_months(s, topic)
               if self._open(m)):
            return "schools_full", (f"все {len(reachable)} школ(ы), которым тема полезна, уже посещают максимум"
                                    f" консультаций ({limit}) в каждом месяце темы")
        return "capacity_tradeoff", ("тема не поместилась: консультанты и школы заняты темами, которые закрывают"
                                     " больше потребностей; увеличьте max_per_month консультанта или проведите"
                                     " тему вместо другой")

    def gap_reason(self, school: str, months: tuple[Month, ...]) -> tuple[str, str]:
        inst, ix = self.inst, self.ix
        sch = inst.schools[school]
        span = f"{months[0]}–{months[-1]}" if len(months) > 1 else months[0]
        left = [t for t in ix.useful_topics[school] if t not in self.attended[school]]
        if not left:
            n = len(ix.useful_topics[school])
            return "few_topics", (f"школа уже посещает все {n} полезные ей темы — для месяцев {span} тем по её"
                                  " рискам больше нет; добавьте темы по её рискам")
        fit = [t for t in left if set(ix.attend_months(sch, inst.topics[t])) & set(months)]
        if not fit:
            return "no_topic_in_months", (f"в месяцах {span} не проводится ни одна из оставшихся полезных школе тем"
                                          f" ({', '.join(left)}): месяцы тем или доступность консультантов")
        limit = inst.settings.rules.school_max_sessions_per_month
        return "capacity_tradeoff", (f"в месяцах {span} консультанты по оставшимся темам школы ({', '.join(fit)})"
                                     f" заняты; места ушли другим школам (до {limit} консультаций в месяц)")

    def late_reason(self, school: str, waited: tuple[Month, ...]) -> tuple[str, str]:
        inst, ix = self.inst, self.ix
        sch = inst.schools[school]
        k = inst.settings.rules.verification_months
        early = waited[:k]
        verifiers = sorted({c for t in inst.verification_topics for c in ix.verifiers(sch, t)})
        who = f"куратор {self._names(verifiers)}" if sch.curator else f"консультанты {self._names(verifiers)}"
        if not any(self._free(c, m) for c in verifiers for m in early):
            return "verifier_unavailable", f"{who} недоступен в первые {k} мес. ({', '.join(early)})"
        if all(self.onsite_cm[c, m] >= ix.month_onsite_room(c, m) or self._full(c, m)
               for c in verifiers for m in early):
            return "verifier_full", (f"{who}: в первые {k} мес. все выезды заняты (не больше"
                                     f" {ix.onsite_cap(verifiers[0]) or '—'} выездов в месяц, max_onsite_per_month)")
        return "capacity_tradeoff", (f"визит верификации позже первых {k} мес.: день консультанта занят"
                                     " консультациями, закрывающими больше потребностей")
