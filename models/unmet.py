"""Why a need stays unmet: a reason a person can act on, derived from the data and the plan.

Checked in order, first match wins:
no topic for the risk → nobody delivers one → too few topics for min_topics_per_risk →
no open month with a free deliverer → no month left after the topic's prerequisites →
the school was never verified (and topics must come after verification) → a session could
not be put on a date → every deliverer is full in every month the topic could be held →
the school is at its monthly limit in every such month → the rest: the capacity went to
needs of higher priority or of other schools.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from models.calendar_days import month_of
from models.domain import VERIFICATION_NEED, Format, Instance, Plan, Stage, Unmet
from models.index import Index
from models.score import covered_needs, needs


def explain_unmet(instance: Instance, plan: Plan, ix: Index | None = None,
                  unplaced_schools: set[str] | None = None, free_from: date | None = None) -> list[Unmet]:
    """`unplaced_schools`: schools of sessions the date phase could not place; `free_from`: a
    replan's freeze date (only days from it on could still take a session)."""
    ix = ix or Index(instance)
    covered = covered_needs(instance, plan)
    per_cm = Counter((s.consultant, month_of(s.start.date())) for s in plan.sessions)
    per_c = Counter(s.consultant for s in plan.sessions)
    per_sm = Counter((school, month_of(s.start.date())) for s in plan.sessions for school in s.schools)
    unplaced_schools = unplaced_schools or set()
    verified_in_plan = {school for (school, r) in covered if r == VERIFICATION_NEED}
    out = []
    for school_id, risk in needs(instance):
        if (school_id, risk) in covered:
            continue
        school = instance.schools[school_id]
        ctx = _Ctx(instance, ix, plan, per_cm, per_c, per_sm, free_from)
        if risk == VERIFICATION_NEED:
            code, reason = ctx.verification_reason(school)
        else:
            code, reason = ctx.risk_reason(school, risk, verified_in_plan, unplaced_schools)
        out.append(Unmet(school_id, risk, reason, code))
    return out


class _Ctx:
    def __init__(self, inst: Instance, ix: Index, plan: Plan, per_cm: Counter, per_c: Counter, per_sm: Counter,
                 free_from: date | None = None):
        self.inst, self.ix = inst, ix
        self.per_cm, self.per_c, self.per_sm = per_cm, per_c, per_sm
        self.onsite_cm = Counter((s.consultant, month_of(s.start.date())) for s in plan.sessions
                                 if s.format == Format.ONSITE)
        self.free_from = free_from
        # «after the freeze»: said in a replan, where the months before it are history.
        self.after = f" после даты заморозки {free_from:%d.%m.%Y}" if free_from else ""

    def _still_open(self, month: str) -> bool:
        """A month that can still take a session (in a replan: one reaching past the freeze)."""
        return self.free_from is None or month >= month_of(self.free_from)

    def _free_in(self, c: str, month: str) -> bool:
        """The consultant has a free day in the month (from the freeze on, in a replan)."""
        days = self.ix.free_days[c].get(month, ())
        return any(self.free_from is None or d >= self.free_from for d in days)

    def _full(self, c: str, month: str, onsite: bool = False) -> bool:
        """Has the consultant no room left in the month (sessions, `max_total`; for an onsite
        topic also their onsite visits: `max_onsite_per_month` and a rest day between)?"""
        if onsite and self.onsite_cm[c, month] >= self.ix.month_onsite_room(c, month):
            return True
        cons = self.inst.consultants[c]
        if cons.max_total is not None and self.per_c[c] >= cons.max_total:
            return True
        return self.per_cm[c, month] >= min(cons.max_per_month, len(self.ix.free_days[c].get(month, ())))

    def _names(self, ids: list[str]) -> str:
        return ", ".join(f"{c} ({self.inst.consultants[c].name})" for c in ids)

    def _earliest_month(self, school, topic_id: str, seen: frozenset[str] = frozenset()) -> str | None:
        """The earliest month the school could attend the topic with each (non-verification)
        prerequisite, recursively, in a strictly earlier month; None when there is none.
        Capacity is ignored: this is about the calendar and the data alone."""
        inst = self.inst
        if topic_id in seen:
            return None
        months = self.ix.attend_months(school, inst.topics[topic_id])
        for req in inst.topics[topic_id].requires:
            if inst.topics[req].stage == Stage.VERIFICATION:
                continue  # attend_months() already keeps the topic after verification
            before = self._earliest_month(school, req, seen | {topic_id})
            if before is None:
                return None
            months = [m for m in months if m > before]
        return months[0] if months else None

    def verification_reason(self, school) -> tuple[str, str]:
        inst, ix = self.inst, self.ix
        vtopics = inst.verification_topics
        if not vtopics:
            return "no_verification_topic", "нет темы этапа verification: визит куратора некому запланировать"
        verifiers = sorted({c for t in vtopics for c in ix.verifiers(school, t)})
        if not verifiers:
            return "no_verifier", (f"куратор {school.curator} не ведёт тему верификации" if school.curator
                                   else "тему верификации не ведёт ни один консультант")
        months = [m for t in vtopics for m in ix.topic_months[t.id]]
        free = [(c, m) for c in verifiers for m in months if self._free_in(c, m)]
        if not free:
            who = f"куратор {self._names(verifiers)}" if school.curator else \
                f"консультанты по верификации ({self._names(verifiers)})"
            return "verifier_unavailable", f"{who} недоступен во все открытые месяцы{self.after}"
        if all(self._full(c, m, onsite=True) for c, m in free):
            return "verifier_full", (f"{'куратор' if school.curator else 'консультанты'} {self._names(verifiers)}"
                                     " загружен(ы) полностью во все открытые месяцы")
        return "capacity_tradeoff", ("не хватило ёмкости: визиты куратора в первую очередь получили школы"
                                     " более высокого приоритета; увеличьте max_per_month куратора или назначьте другого")

    def risk_reason(self, school, risk: str, verified_in_plan: set[str],
                    unplaced_schools: set[str]) -> tuple[str, str]:
        inst, ix = self.inst, self.ix
        k = inst.settings.rules.min_topics_per_risk
        title = inst.risks[risk].title if risk in inst.risks else risk
        topics = [t for t in inst.topics_for_risk(risk) if t.stage != Stage.VERIFICATION]
        if not topics:
            return "no_topic", f"ни одна тема не закрывает риск {risk} «{title}»: добавьте тему в topics"
        delivered = [t for t in topics if ix.deliverers[t.id]]
        if not delivered:
            ids = ", ".join(t.id for t in topics)
            return "no_consultant", f"темы по риску {risk} ({ids}) не ведёт ни один консультант"
        if len(delivered) < k:
            return "too_few_topics", (f"по риску {risk} только {len(delivered)} тем(ы), а нужно"
                                      f" min_topics_per_risk = {k}")
        options = {t.id: [m for m in ix.attend_months(school, t) if self._still_open(m)] for t in delivered}
        if not any(options.values()):
            if school.verified_on is None and inst.settings.rules.verification_first:
                return "no_month_after_verification", (
                    f"после визита куратора не остаётся открытого месяца с консультантом по риску {risk}")
            return "no_open_month", (f"нет открытого месяца{self.after}, в котором свободен консультант по темам"
                                     f" риска {risk} ({', '.join(options)})")
        reachable = [t for t in delivered if self._earliest_month(school, t.id) is not None]
        blocked = [t for t in delivered if t not in reachable and options[t.id] and t.requires]
        if len(reachable) < k and blocked:
            reqs = sorted({r for t in blocked for r in t.requires})
            return "no_month_after_prerequisite", (
                f"темы по риску {risk} требуют раньше посетить {', '.join(reqs)}, но более раннего открытого"
                " месяца с консультантом для них нет: расширьте горизонт, месяцы тем или доступность консультантов")
        if school.verified_on is None and school.id not in verified_in_plan:
            if inst.settings.rules.verification_first or all(ix.needs_after_verification(t) for t in delivered):
                return "not_verified", ("школа не получила визит куратора (верификацию), а темы начинаются"
                                        " только после него — см. потребность «verification»")
        if school.id in unplaced_schools:
            return "no_date", ("консультацию не удалось поставить на конкретный день: у консультанта или школы"
                               " нет свободного рабочего дня в этом месяце")
        pairs = [(t, m, c) for t, months in options.items() for m in months
                 for c in ix.available_deliverers(t, m) if self._free_in(c, m)]
        if pairs and all(self._full(c, m, onsite=inst.topics[t].format == Format.ONSITE) for t, m, c in pairs):
            who = sorted({c for _t, _m, c in pairs})
            return "consultants_full", (f"консультант(ы) по риску {risk} — {self._names(who)} — загружен(ы)"
                                        " полностью во все подходящие месяцы (max_per_month / max_total,"
                                        " для выездных — max_onsite_per_month и день между выездами)")
        limit = inst.settings.rules.school_max_sessions_per_month
        months = sorted({m for _t, m, _c in pairs})
        if months and all(self.per_sm[school.id, m] >= limit for m in months):
            return "school_full", (f"школа уже посещает максимум ({limit}) консультаций в каждом подходящем месяце"
                                   " (school_max_sessions_per_month)")
        return "capacity_tradeoff", ("ёмкости консультантов не хватило на все потребности: приоритет получили"
                                     " школы более высокого приоритета и другие риски; увеличьте max_per_month"
                                     " или добавьте консультанта по этим темам")
