"""What the pages show, arranged from (instance, plan): pure functions, no I/O.

The plan's `score` is shown key by key with the documents' labels (a key the labels do not
know yet is shown as it is), so new figures of the solver appear without a change here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from models.domain import VERIFICATION_NEED, Format, Instance, Plan, Session, Stage
from models.score import covered_needs, needs
from planner.web import app_services as svc

PRIORITY_TITLES = {1: "приоритет 1", 2: "приоритет 2", 3: "приоритет 3"}


# --- the instance --------------------------------------------------------------------------


def instance_summary(instance: Instance) -> dict[str, Any]:
    """The instance summary, as data (the API's `summary`; the page shows the same)."""
    cal = instance.calendar
    h = instance.settings.horizon
    schools = [s for s in instance.schools.values()]
    by_priority = Counter(s.priority for s in schools)
    formats = Counter(str(t.format) for t in instance.topics.values())
    risk_needs = Counter(code for s in schools for code in s.risks)
    unverified = sum(1 for s in schools if s.verified_on is None)
    return {
        "name": instance.name,
        "region": instance.settings.region.name,
        "timezone": instance.settings.region.timezone,
        "horizon": {"start": h.start.isoformat(), "end": h.end.isoformat()},
        "open_months": [{"month": m, "open_days": len(cal.open_days_by_month[m])} for m in cal.open_months],
        "municipalities": len(instance.municipalities),
        "schools": len(schools),
        "schools_by_priority": {str(p): by_priority[p] for p in sorted(by_priority)},
        "unverified": unverified,
        "consultants": len(instance.consultants),
        "topics": len(instance.topics),
        "topics_by_format": {k: formats[k] for k in sorted(formats)},
        "activities": len(instance.activities),
        "needs_per_risk": [
            {"risk": code, "title": risk.title, "schools": risk_needs[code],
             "topics": len(instance.topics_for_risk(code))}
            for code, risk in instance.risks.items() if risk_needs[code] or instance.topics_for_risk(code)
        ],
        "needs_total": sum(risk_needs.values()) + unverified,
    }


def problem_rows(problems: list[svc.Problem]) -> list[dict[str, Any]]:
    """Problems as the API's table: file, row, column, value, message."""
    return [{"file": p.file, "row": p.row, "column": p.column, "value": p.value, "message": p.message}
            for p in problems]


# --- the plan: status and figures ----------------------------------------------------------


def status_words(plan: Plan) -> dict[str, str]:
    """The solver's status as a person reads it: a headline and what it means for them."""
    gap = None
    if plan.objective is not None and plan.bound is not None and plan.objective:
        gap = max(0.0, (plan.objective - plan.bound) / abs(plan.objective))
    s = plan.status
    if s == "OPTIMAL":
        head = "Лучший план найден и доказан"
        text = ("Решатель доказал, что лучшего плана при этих данных и настройках нет"
                " (с точностью до 1 %).")
    elif s == "FEASIBLE":
        head = "Допустимый план: все правила соблюдены"
        text = "Решатель не успел доказать, что лучше нельзя"
        text += f" (до доказанной нижней оценки {100 * gap:.1f} %)." if gap is not None else "."
        text += " Больше времени на расчёт может дать план лучше."
    elif s == "INFEASIBLE":
        head = "План невозможен"
        text = "Правила и данные противоречат друг другу: ни один план их не соблюдает. Смотрите причины ниже."
    else:
        head = "План не найден"
        text = (f"Решатель не нашёл плана за отведённое время ({svc.STATUS_TITLES.get(s, s)})."
                " Увеличьте время расчёта.")
    return {"code": s, "head": head, "text": text}


def score_rows(instance: Instance, plan: Plan) -> list[tuple[str, str, str]]:
    """(key, label, value) for every figure of the plan's score, in the order it has them."""
    rows = []
    for key, value in svc.plan_score(instance, plan).items():
        rows.append((key, svc.score_label(key), figure(key, value)))
    return rows


def figure(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float) and key.endswith("share"):
        return f"{100 * value:.1f} %"
    if isinstance(value, float):
        return f"{value:,.0f}".replace(",", "\u00a0") if value.is_integer() or abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u00a0")
    if isinstance(value, dict | list):
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items())
        return ", ".join(map(str, value))
    return str(value)


def key_figures(instance: Instance, plan: Plan) -> list[tuple[str, str, str]]:
    """(id, label, value): what a working group reads first."""
    covered = covered_needs(instance, plan)
    all_needs = needs(instance)
    onsite = sum(1 for s in plan.sessions if s.format == Format.ONSITE)
    reached = {school for s in plan.sessions for school in s.schools}
    share = f"{100 * len(covered) / len(all_needs):.0f} %" if all_needs else "—"
    return [
        ("sessions", "Консультаций", str(len(plan.sessions))),
        ("formats", "Выездных / онлайн", f"{onsite} / {len(plan.sessions) - onsite}"),
        ("schools", "Школ охвачено", f"{len(reached)} из {len(instance.schools)}"),
        ("coverage", "Потребности закрыты", f"{len(covered)} из {len(all_needs)} ({share})"),
        ("unmet", "Непокрытых потребностей", str(len(plan.unmet))),
    ]


def programme(instance: Instance, plan: Plan) -> dict[str, Any]:
    """The programme measures: topics held of those some school can use, sessions per open
    month (verification visits apart), topics not held."""
    needed_risks = {r for s in instance.schools.values() for r in s.risks}
    any_unverified = any(s.verified_on is None for s in instance.schools.values())
    usable = [t for t in instance.topics.values()
              if set(t.risks) & needed_risks or (t.stage == Stage.VERIFICATION and any_unverified)]
    held = {s.topic for s in plan.sessions}
    months = svc.plan_months(instance, plan)
    per_month = Counter(svc.session_month(instance, s) for s in plan.sessions
                        if _stage(instance, s.topic) != Stage.VERIFICATION)
    verif = Counter(svc.session_month(instance, s) for s in plan.sessions
                    if _stage(instance, s.topic) == Stage.VERIFICATION)
    return {
        "held": sum(1 for t in usable if t.id in held),
        "usable": len(usable),
        "not_held": [(t.id, t.title) for t in usable if t.id not in held],
        "months": [(svc.month_short(m), per_month.get(m, 0), verif.get(m, 0)) for m in months],
    }


def _stage(instance: Instance, topic: str) -> Stage | None:
    t = instance.topics.get(topic)
    return t.stage if t else None


# --- filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    municipality: str = ""
    consultant: str = ""
    school: str = ""
    unknown: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, instance: Instance, municipality: str | None, consultant: str | None,
              school: str | None) -> Filters:
        """Keep only ids the instance knows (an unknown one is reported, not applied)."""
        unknown = []
        m = (municipality or "").strip()
        c = (consultant or "").strip()
        s = (school or "").strip()
        if m and m not in instance.municipalities:
            unknown.append(f"муниципалитет «{m}»")
            m = ""
        if c and c not in instance.consultants:
            unknown.append(f"консультант «{c}»")
            c = ""
        if s and s not in instance.schools:
            unknown.append(f"школа «{s}»")
            s = ""
        return cls(m, c, s, tuple(unknown))

    @property
    def active(self) -> bool:
        return bool(self.municipality or self.consultant or self.school)

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in (("municipality", self.municipality), ("consultant", self.consultant),
                                            ("school", self.school)) if v})

    def school_ok(self, instance: Instance, school: str) -> bool:
        sch = instance.schools.get(school)
        if self.school and school != self.school:
            return False
        return not (self.municipality and (sch is None or sch.municipality != self.municipality))

    def session_ok(self, instance: Instance, s: Session) -> bool:
        if self.consultant and s.consultant != self.consultant:
            return False
        if self.school and self.school not in s.schools:
            return False
        return not (self.municipality and s.municipality != self.municipality and not any(
            instance.schools.get(x) and instance.schools[x].municipality == self.municipality for x in s.schools))

    def schools_shown(self, instance: Instance, plan: Plan) -> list[str]:
        """Schools for the per-school views: the filter's, and with a consultant only those
        the consultant's sessions reach."""
        ids = [sid for sid in svc.school_order(instance) if self.school_ok(instance, sid)]
        if self.consultant:
            theirs = {x for s in plan.sessions if s.consultant == self.consultant for x in s.schools}
            ids = [sid for sid in ids if sid in theirs]
        return ids


def filter_options(instance: Instance) -> dict[str, list[tuple[str, str]]]:
    return {
        "municipality": sorted(((m.id, m.name) for m in instance.municipalities.values()),
                               key=lambda x: svc.natural_key(x[1])),
        "consultant": sorted(((c.id, c.name) for c in instance.consultants.values()),
                             key=lambda x: svc.natural_key(x[1])),
        "school": [(sid, svc.school_name(instance, sid)) for sid in svc.school_order(instance)],
    }


# --- the plan views ------------------------------------------------------------------------


@dataclass
class GraphRow:
    topic: str
    when: str
    where: str
    responsible: str
    format: str
    schools: list[str]
    session: str


def month_graph(instance: Instance, plan: Plan, f: Filters) -> list[tuple[str, list[GraphRow]]]:
    """The order's appendix: month headings, under each the sessions (topic, date and time,
    responsible), plus where and which schools."""
    out = []
    for month, sessions in svc.sessions_by_month(instance, plan).items():
        rows = [GraphRow(svc.quoted_title(svc.topic_title(instance, s.topic)), svc.session_when(instance, s),
                         svc.session_where(instance, s), svc.responsible(instance, s.consultant),
                         str(s.format), [svc.school_name(instance, x) for x in s.schools], s.id)
                for s in sessions if f.session_ok(instance, s)]
        if rows:
            out.append((svc.month_title(month), rows))
    return out


@dataclass
class Mark:
    day: str
    format: str
    title: str


@dataclass
class TimelineRow:
    id: str
    name: str
    total: int
    cells: list[list[Mark]]


def consultant_timeline(instance: Instance, plan: Plan, f: Filters) -> tuple[list[str], list[TimelineRow]]:
    """Each consultant: their sessions month by month (day of month, onsite or online)."""
    months = svc.plan_months(instance, plan)
    by: dict[str, dict[str, list[Mark]]] = defaultdict(lambda: defaultdict(list))
    for s in sorted(plan.sessions, key=lambda s: s.start):
        if not f.session_ok(instance, s):
            continue
        start = s.start
        by[s.consultant][svc.session_month(instance, s)].append(
            Mark(f"{start:%d}", str(s.format),
                 f"{svc.session_when(instance, s)} — {svc.topic_title(instance, s.topic)}"
                 f" ({svc.session_where(instance, s)}; школ: {len(s.schools)})"))
    ids = [c for c in instance.consultants if (not f.consultant or c == f.consultant)]
    if f.active and not f.consultant:
        ids = [c for c in ids if c in by]
    rows = [TimelineRow(c, svc.consultant_name(instance, c), sum(len(v) for v in by[c].values()),
                        [by[c].get(m, []) for m in months]) for c in ids]
    return [svc.month_short(m) for m in months], rows


@dataclass
class SchoolRow:
    id: str
    name: str
    municipality: str
    total: int
    cells: list[list[Mark]]


def school_months(instance: Instance, plan: Plan, f: Filters) -> tuple[list[str], list[SchoolRow]]:
    """School × month: the topics each school attends each month."""
    months = svc.plan_months(instance, plan)
    by: dict[str, dict[str, list[Mark]]] = defaultdict(lambda: defaultdict(list))
    for s in sorted(plan.sessions, key=lambda s: s.start):
        if f.consultant and s.consultant != f.consultant:
            continue
        for school in s.schools:
            by[school][svc.session_month(instance, s)].append(
                Mark(s.topic, str(s.format), f"{svc.session_when(instance, s)} — "
                     f"{svc.topic_title(instance, s.topic)} ({svc.consultant_name(instance, s.consultant)})"))
    rows = []
    for sid in f.schools_shown(instance, plan):
        sch = instance.schools[sid]
        name, town = svc.school_name(instance, sid), svc.municipality_name(instance, sch.municipality)
        rows.append(SchoolRow(sid, name, "" if town in name else town,
                              sum(len(v) for v in by[sid].values()), [by[sid].get(m, []) for m in months]))
    return [svc.month_short(m) for m in months], rows


@dataclass
class CoverageRow:
    risk: str
    title: str
    needed: int
    covered: int

    @property
    def percent(self) -> int:
        return round(100 * self.covered / self.needed) if self.needed else 100


def coverage(instance: Instance, plan: Plan, f: Filters) -> list[CoverageRow]:
    """Per risk factor (and verification): schools that need it, and how many the plan meets,
    over the schools the filter shows."""
    shown = set(f.schools_shown(instance, plan))
    all_needs = [n for n in needs(instance) if n[0] in shown]
    covered = {n for n in covered_needs(instance, plan) if n[0] in shown}
    order = [VERIFICATION_NEED, *instance.risks]
    rows = []
    for risk in order:
        needed = sum(1 for n in all_needs if n[1] == risk)
        if needed:
            rows.append(CoverageRow(risk, svc.risk_title(instance, risk), needed,
                                    sum(1 for n in covered if n[1] == risk)))
    return rows


@dataclass
class UnmetRow:
    school: str
    municipality: str
    need: str
    reason: str


def unmet(instance: Instance, plan: Plan, f: Filters) -> tuple[list[UnmetRow], list[tuple[str, int]]]:
    """Unmet needs of the shown schools with their reasons, and how many per reason."""
    shown = set(f.schools_shown(instance, plan)) if f.active else None
    rows = []
    for u in plan.unmet:
        if shown is not None and u.school not in shown:
            continue
        sch = instance.schools.get(u.school)
        rows.append(UnmetRow(svc.school_name(instance, u.school),
                             svc.municipality_name(instance, sch.municipality if sch else None),
                             svc.risk_title(instance, u.risk), u.reason))
    reasons = Counter(r.reason for r in rows).most_common()
    return rows, reasons


# --- downloads -----------------------------------------------------------------------------


def calendar_parties(instance: Instance, files: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Each party's calendar file that the plan has: kind → [(file name, who)]."""
    out: dict[str, list[tuple[str, str]]] = {"all": [], "consultant": [], "school": [], "municipality": [],
                                             "other": []}
    named: dict[str, tuple[str, str]] = {"all.ics": ("all", "Все консультации")}
    for c in instance.consultants.values():
        named[f"consultant-{svc.safe_file_part(c.id)}.ics"] = ("consultant", c.name)
    for sid in svc.school_order(instance):
        named[f"school-{svc.safe_file_part(sid)}.ics"] = ("school", svc.school_name(instance, sid))
    for m in sorted(instance.municipalities.values(), key=lambda m: svc.natural_key(m.name)):
        named[f"municipality-{svc.safe_file_part(m.id)}.ics"] = ("municipality", m.name)
    for name, (kind, who) in named.items():
        if name in files:
            out[kind].append((name, who))
    for name in sorted(files - set(named)):
        out["other"].append((name, name.removesuffix(".ics")))
    return out


# --- versions ------------------------------------------------------------------------------


def edit_texts(instance: Instance, plan: Plan, ops: list[dict]) -> list[str]:
    """Each edit by hand in words."""
    sessions = {s.id: s for s in (*plan.sessions, *plan.cancelled)}
    out = []
    for op in ops:
        s = sessions.get(op.get("session", ""))
        what = (f"«{svc.topic_title(instance, s.topic)}», {svc.session_when(instance, s)}" if s
                else f"консультация {op.get('session')}")
        if op.get("op") == "pin":
            out.append(f"Закреплена: {what}")
        elif op.get("op") == "move":
            parts = []
            if op.get("date"):
                parts.append(f"на {op['date'][8:10]}.{op['date'][5:7]}.{op['date'][:4]}")
            if op.get("consultant"):
                parts.append(f"ведёт {svc.consultant_name(instance, op['consultant'])}")
            out.append(f"Перенесена: {what} — " + ", ".join(parts))
        elif op.get("op") == "remove_school":
            out.append(f"Снята школа {svc.school_name(instance, op.get('school', ''))}: {what}")
        else:
            out.append(f"Правка: {op}")
    return out
