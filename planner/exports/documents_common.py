"""What the appendix, the workbook and the report say, and how: Russian texts shared by all three.

Pure functions of (instance, plan): no I/O. Every lookup is tolerant (an id the instance does
not know is shown as the id), so a document never fails half-way; `plan_mismatches` is where a
plan made from another instance is caught, before anything is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.calendar_days import Month, month_of, months_between
from models.domain import (
    FORMAT_TITLES,
    STAGE_TITLES,
    VERIFICATION_NEED,
    Format,
    Instance,
    Plan,
    Session,
    Stage,
)
from models.problems import Problem
from models.score import covered_needs, needs, score_plan

MONTHS_NOMINATIVE = (
    "Январь",
    "Февраль",
    "Март",
    "Апрель",
    "Май",
    "Июнь",
    "Июль",
    "Август",
    "Сентябрь",
    "Октябрь",
    "Ноябрь",
    "Декабрь",
)

STATUS_TITLES = {
    "OPTIMAL": "оптимальный (лучше плана нет)",
    "FEASIBLE": "допустимый (лучший найденный за отведённое время)",
    "INFEASIBLE": "решения нет: ограничения несовместимы",
    "MODEL_INVALID": "ошибка модели",
    "UNKNOWN": "решение не найдено за отведённое время",
}

SCORE_LABELS = {
    "needs_total": "Потребностей всего (риски школ и верификации)",
    "needs_covered": "Потребностей закрыто",
    "coverage_share": "Доля закрытых потребностей",
    "covered_priority_1": "Закрыто потребностей школ приоритета 1",
    "covered_priority_2": "Закрыто потребностей школ приоритета 2",
    "covered_priority_3": "Закрыто потребностей школ приоритета 3",
    "verifications_covered": "Проведено верификаций рисковых профилей",
    "travel_km": "Пробег на выездные консультации, км (туда и обратно)",
    "early_program": "Задержка программ у школ приоритета 1, месяцев (сумма)",
    "max_load": "Наибольшая нагрузка одного консультанта, консультаций",
    "sessions": "Консультаций",
    "attendance": "Участий школ в консультациях",
    "weighted_total": "Взвешенная сумма штрафов (чем меньше, тем лучше)",
    "changes": "Изменено консультаций относительно прежнего плана",
    "changed": "Изменено консультаций относительно прежнего плана",
}

TOTALS = (
    "needs_total",
    "needs_covered",
    "coverage_share",
    "covered_priority_1",
    "covered_priority_2",
    "covered_priority_3",
    "verifications_covered",
    "sessions",
    "attendance",
    "travel_km",
    "max_load",
)
"""The figures of a plan a working group reads (`SCORE_LABELS`), in this order; the solver's own
terms (its objective, the weighted total, the sum of delays) stay out of the documents."""

# --- words and dates ---------------------------------------------------------------------


def month_title(month: Month) -> str:
    """``'2022-03'`` → ``'Март 2022 года'`` (as the order writes month headings)."""
    return f"{MONTHS_NOMINATIVE[int(month[5:7]) - 1]} {month[:4]} года"


def month_short(month: Month) -> str:
    """``'2022-03'`` → ``'Март 2022'``."""
    return f"{MONTHS_NOMINATIVE[int(month[5:7]) - 1]} {month[:4]}"


def date_text(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def local_time(instance: Instance, moment: datetime) -> datetime:
    """A plan time in the region's zone (plan times are already local; this makes sure)."""
    try:
        return moment.astimezone(ZoneInfo(instance.settings.region.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment


def session_when(instance: Instance, s: Session) -> str:
    """``'15.03.2022, 10:00–11:30'`` in the region's time."""
    start, end = local_time(instance, s.start), local_time(instance, s.end)
    return f"{date_text(start.date())}, {start:%H:%M}–{end:%H:%M}"


def session_month(instance: Instance, s: Session) -> Month:
    return month_of(local_time(instance, s.start).date())


def session_where(instance: Instance, s: Session) -> str:
    """``'ВКС'`` for an online session, ``'выезд: <municipality>'`` for an onsite one."""
    if s.format == Format.ONLINE:
        return "ВКС"
    return f"выезд: {municipality_name(instance, s.municipality)}" if s.municipality else "выезд"


def quoted_title(title: str) -> str:
    """A topic title as the order prints it: in «», unless it already carries its own quotes."""
    title = title.strip()
    return title if "«" in title or title.startswith('"') else f"«{title}»"


def topic_title(instance: Instance, topic_id: str) -> str:
    t = instance.topics.get(topic_id)
    return t.title if t else topic_id


def topic_stage(instance: Instance, topic_id: str) -> str:
    t = instance.topics.get(topic_id)
    return STAGE_TITLES.get(t.stage, str(t.stage)) if t else ""


def consultant_name(instance: Instance, consultant_id: str) -> str:
    c = instance.consultants.get(consultant_id)
    return c.name if c else consultant_id


def responsible(instance: Instance, consultant_id: str) -> str:
    """«Фамилия И. О., должность», as the order's «Ответственный» column."""
    c = instance.consultants.get(consultant_id)
    if c is None:
        return consultant_id
    return f"{c.name}, {c.position}" if c.position.strip() else c.name


def school_name(instance: Instance, school_id: str) -> str:
    """The school as a list shows it (municipality added when the name is not unique)."""
    return instance.school_label(school_id)


def municipality_name(instance: Instance, municipality_id: str | None) -> str:
    if not municipality_id:
        return ""
    m = instance.municipalities.get(municipality_id)
    return m.name if m else municipality_id


def risk_title(instance: Instance, risk: str) -> str:
    if risk == VERIFICATION_NEED:
        return "Верификация рискового профиля куратором"
    r = instance.risks.get(risk)
    return r.title if r else risk


def format_title(fmt: Format | str) -> str:
    try:
        return FORMAT_TITLES[Format(fmt)]
    except ValueError:
        return str(fmt)


def status_title(status: str) -> str:
    return STATUS_TITLES.get(status, status)


def score_label(key: str) -> str:
    return SCORE_LABELS.get(key, key)


# Region names in the genitive, for «… с низкими образовательными результатами <региона>».
# Only regular endings of Russian region names; a word it does not know stays as written.
_GENITIVE_WORDS = {
    "область": "области",
    "край": "края",
    "округ": "округа",
    "республика": "Республики",
    "кузбасс": "Кузбасса",
    "югра": "Югры",
    "город": "города",
    "автономная": "автономной",
    "регион": "региона",
}
_TITLE_WORDS = ("Республика", "город", "г.")


def region_genitive(name: str) -> str:
    """``'Кемеровская область – Кузбасс'`` → ``'Кемеровской области – Кузбасса'``.

    ``'Республика Калмыкия'`` → ``'Республики Калмыкия'`` (the official style keeps the
    republic's own name as it is); ``'Ростовская область'`` → ``'Ростовской области'``.
    """
    words = name.split()
    out: list[str] = []
    keep_next = False
    for word in words:
        if keep_next and word[:1].isupper():
            out.append(word)
            keep_next = False
            continue
        keep_next = word in _TITLE_WORDS
        out.append(_genitive_word(word))
    return " ".join(out)


def _genitive_word(word: str) -> str:
    low = word.lower()
    if low in _GENITIVE_WORDS:
        new = _GENITIVE_WORDS[low]
        return new if new[:1].isupper() else (new.capitalize() if word[:1].isupper() else new)
    if re.fullmatch(r"[А-ЯЁа-яё-]+(ская|цкая|ная)", word):
        return word[:-2] + "ой"
    if re.fullmatch(r"[А-ЯЁа-яё-]+(ский|цкий|ный|ый)", word):
        return word[:-2] + "ого"
    return word


def order_date_text(value: str) -> str:
    """`[documents] order_date` as the order prints it: an ISO date (also a workbook's
    «2021-12-30 00:00:00») becomes «30.12.2021»; any other text stays as written."""
    text = value.strip()
    try:
        return date_text(date.fromisoformat(text[:10]))
    except ValueError:
        return text


def approval_lines(instance: Instance) -> list[str]:
    """The appendix's top-right block, as the order prints it: «Приложение / к Дорожной карте
    (плану мероприятий), / утверждённой приказом / <кого> / от <дата> № <номер>». Without
    `[documents]` settings the date and number are blanks to fill in by hand."""
    doc = instance.settings.documents
    day = order_date_text(doc.order_date) if doc.order_date.strip() else "«___» __________ 20___ г."
    number = doc.order_number.strip() or "______"
    lines = ["Приложение", "к Дорожной карте (плану мероприятий),", "утверждённой приказом"]
    if doc.approved_by.strip():
        lines.append(doc.approved_by.strip())
    lines.append(f"от {day} № {number}")
    return lines


def document_author(instance: Instance) -> str:
    """Who the documents are from: `[documents] author`, else the region's working group."""
    doc = instance.settings.documents
    if doc.author.strip():
        return doc.author.strip()
    region = instance.settings.region.name.strip()
    return f"Региональная рабочая группа {region_genitive(region)}" if region else "Региональная рабочая группа"


def plan_years(instance: Instance) -> str:
    """``'2022 году'`` or ``'2022–2023 годах'``: the years of the planning horizon."""
    h = instance.settings.horizon
    first, last = h.start.year, h.end.year
    return f"{first} году" if first == last else f"{first}–{last} годах"


def appendix_title(instance: Instance, plan: Plan) -> str:
    region = region_genitive(instance.settings.region.name)
    return (
        "График консультаций для школ с низкими образовательными результатами "
        f"{region} представителями мобильных групп в {plan_years(instance)}"
    )


# --- the plan, arranged ------------------------------------------------------------------


def sessions_in_order(plan: Plan) -> list[Session]:
    """Sessions by start, then consultant and topic: the order every document lists them in."""
    return sorted(plan.sessions, key=lambda s: (s.start, s.consultant, s.topic, s.id))


def sessions_by_month(instance: Instance, plan: Plan) -> dict[Month, list[Session]]:
    out: dict[Month, list[Session]] = {}
    for s in sessions_in_order(plan):
        out.setdefault(session_month(instance, s), []).append(s)
    return out


def plan_months(instance: Instance, plan: Plan) -> list[Month]:
    """Open months of the horizon, plus any month a session falls in (history, edits)."""
    months = set(instance.calendar.open_months) | {
        session_month(instance, s) for s in plan.sessions
    }
    return sorted(months)


def horizon_months(instance: Instance) -> list[Month]:
    h = instance.settings.horizon
    return months_between(h.start, h.end)


def natural_key(text: str) -> tuple:
    """Sort key that reads numbers as numbers: «СОШ № 2» before «СОШ № 10»."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text))


def school_order(instance: Instance) -> list[str]:
    """Schools by municipality name, then school name (numbers as numbers): how a region
    reads its list."""
    return sorted(
        instance.schools,
        key=lambda sid: (
            municipality_name(instance, instance.schools[sid].municipality),
            natural_key(instance.schools[sid].name),
            sid,
        ),
    )


def plan_score(instance: Instance, plan: Plan) -> dict[str, Any]:
    """The plan's named figures: recomputed from the plan, overlaid by what the plan stored."""
    score: dict[str, Any] = dict(score_plan(instance, plan))
    score.update(plan.score or {})
    return score


def stage_of(instance: Instance, topic_id: str) -> Stage | None:
    t = instance.topics.get(topic_id)
    return t.stage if t else None


def plan_mismatches(instance: Instance, plan: Plan, display: str = "plan.json") -> list[Problem]:
    """Ids in the plan that the instance does not know: the plan was made from another instance."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()

    def unknown(column: str, value: str, what: str) -> None:
        if (column, value) not in seen:
            seen.add((column, value))
            problems.append(
                Problem(
                    display,
                    f"в экземпляре нет {what}; план построен для другого экземпляра?",
                    column=column,
                    value=value,
                )
            )

    for s in plan.sessions:
        if s.topic not in instance.topics:
            unknown("topic", s.topic, "такой темы")
        if s.consultant not in instance.consultants:
            unknown("consultant", s.consultant, "такого консультанта")
        if s.municipality and s.municipality not in instance.municipalities:
            unknown("municipality", s.municipality, "такого муниципального образования")
        for school in s.schools:
            if school not in instance.schools:
                unknown("school", school, "такой школы")
    for u in plan.unmet:
        if u.school not in instance.schools:
            unknown("school", u.school, "такой школы")
    for a in plan.activities:
        if a.id not in instance.activities:
            unknown("activity", a.id, "такого мероприятия дорожной карты")
    return problems


# --- figures shared by the workbook and the report ---------------------------------------


@dataclass(frozen=True)
class RiskCoverage:
    risk: str
    title: str
    needed: int
    covered: int


def risk_coverage(instance: Instance, plan: Plan) -> list[RiskCoverage]:
    """Per risk factor (and verification): how many schools need it and how many the plan meets."""
    all_needs = needs(instance)
    covered = covered_needs(instance, plan)
    order = [VERIFICATION_NEED, *instance.risks]
    order += sorted({r for _s, r in all_needs} - set(order))
    out = []
    for risk in order:
        needed = sum(1 for n in all_needs if n[1] == risk)
        if needed == 0 and risk == VERIFICATION_NEED:
            continue
        out.append(
            RiskCoverage(
                risk, risk_title(instance, risk), needed, sum(1 for n in covered if n[1] == risk)
            )
        )
    return out


def consultant_month_load(instance: Instance, plan: Plan) -> dict[str, dict[Month, int]]:
    """Consultant -> month -> sessions (every consultant of the instance, zeros included)."""
    months = plan_months(instance, plan)
    out: dict[str, dict[Month, int]] = {c: dict.fromkeys(months, 0) for c in instance.consultants}
    for s in plan.sessions:
        row = out.setdefault(s.consultant, dict.fromkeys(months, 0))
        m = session_month(instance, s)
        row[m] = row.get(m, 0) + 1
    return out


# --- the programme: its measures and its exceptions, in the working group's words --------


@dataclass(frozen=True)
class ProgrammeFigure:
    """One measure of the programme (models/programme.py) as a person reads it."""

    key: str
    label: str
    value: int | float | str


def is_verification(instance: Instance, s: Session) -> bool:
    t = instance.topics.get(s.topic)
    return t is not None and t.stage == Stage.VERIFICATION


def month_support(instance: Instance, plan: Plan) -> list[tuple[Month, int, int, int]]:
    """Per month of the plan: (month, consultations other than verification, verification
    visits, schools that attend at least one consultation that month)."""
    rows = []
    by_month = sessions_by_month(instance, plan)
    for m in plan_months(instance, plan):
        sessions = by_month.get(m, [])
        visits = sum(1 for s in sessions if is_verification(instance, s))
        schools = {x for s in sessions for x in s.schools}
        rows.append((m, len(sessions) - visits, visits, len(schools)))
    return rows


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def decimal_text(value: float, digits: int = 1) -> str:
    """``12.52`` → ``'12,5'`` (the Russian decimal comma; whole numbers without one)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return text.replace(".", ",")


def programme_figures(instance: Instance, plan: Plan) -> list[ProgrammeFigure]:
    """The measures a working group checks (issue «programme»), in its words: topics held of
    those the schools can use, consultations per open month, the longest gap of a school,
    relevant consultations per school, the most onsite visits of one consultant in a month,
    and the exceptions' counts."""
    score = plan_score(instance, plan)
    open_months = set(instance.calendar.open_months)
    per_month = [n for m, n, _v, _s in month_support(instance, plan) if m in open_months]
    gap_limit = instance.settings.rules.max_gap_months
    figures = [
        ProgrammeFigure(
            "topics_held",
            "Темы программы: проведено из тех, что нужны школам",
            f"{int(_number(score.get('topics_held')))} из {int(_number(score.get('topics_usable')))}",
        ),
        ProgrammeFigure(
            "sessions_per_month",
            "Консультаций в месяц, кроме верификации (открытые месяцы)",
            f"от {min(per_month)} до {max(per_month)}" if per_month else "—",
        ),
        ProgrammeFigure(
            "longest_gap",
            "Самый долгий перерыв у школы после верификации, открытых месяцев подряд",
            int(_number(score.get("longest_gap"))),
        ),
        ProgrammeFigure(
            "relevant_per_school",
            "Консультаций по своим рискам на одну школу, в среднем",
            decimal_text(_number(score.get("relevant_per_school"))),
        ),
        ProgrammeFigure(
            "max_onsite_per_month",
            "Больше всего выездов одного консультанта в месяц",
            int(_number(score.get("max_onsite_per_month"))),
        ),
        ProgrammeFigure("unheld_topics", "Тем программы не проведено", len(plan.unheld_topics)),
    ]
    if gap_limit > 0:
        figures.append(
            ProgrammeFigure(
                "support_gaps",
                f"Школ с перерывом дольше {gap_limit} мес. или с поздней верификацией",
                len({g.school for g in plan.support_gaps}),
            )
        )
    return figures


GAP_KINDS = {
    "gap": "перерыв в консультациях",
    "late_verification": "поздний визит верификации",
}


@dataclass(frozen=True)
class ProgrammeException:
    """A topic not held or a school left without support too long, with its reason."""

    kind: str
    subject: str
    municipality: str
    months: str
    reason: str
    code: str


def months_text(months: tuple[str, ...] | list[str]) -> str:
    """``('2022-05', '2022-06')`` → ``'май 2022, июнь 2022'``."""
    return ", ".join(month_short(m).lower() if len(m) == 7 else m for m in months)


def programme_exceptions(instance: Instance, plan: Plan) -> list[ProgrammeException]:
    """`plan.unheld_topics` then `plan.support_gaps` (schools in the list's order)."""
    rows = [
        ProgrammeException(
            "тема не проведена", quoted_title(topic_title(instance, u.topic)), "", "", u.reason, u.code
        )
        for u in plan.unheld_topics
    ]
    order = {sid: i for i, sid in enumerate(school_order(instance))}
    for g in sorted(plan.support_gaps, key=lambda g: (order.get(g.school, len(order)), g.months)):
        school = instance.schools.get(g.school)
        rows.append(
            ProgrammeException(
                GAP_KINDS.get(g.kind, g.kind),
                school.name if school else g.school,
                municipality_name(instance, school.municipality) if school else "",
                months_text(g.months),
                g.reason,
                g.code,
            )
        )
    return rows


# --- key figures: the report's cards, and what a replan compares with its baseline -------


@dataclass(frozen=True)
class KeyFigure:
    """A figure as the report's card shows it: its value in words, what it counts, and
    `tone` "ok" / "bad" / "" (green, red or plain)."""

    key: str
    value: str
    label: str
    tone: str = ""
    name: str = ""
    """What it counts, as a table's row names it (the same for every plan)."""


BASELINE_FIGURES = "baseline_figures"
"""The plan.meta key where a replan keeps its baseline's key figures ({key: value}), so that
every document of the replan can set each figure against the baseline's."""


def key_figures(instance: Instance, plan: Plan) -> list[KeyFigure]:
    """The plan at a glance: sessions, schools reached, coverage (verifications included), unmet needs,
    travel, consultants, the largest load, and the programme's measures (`programme_figures`)."""
    score = plan_score(instance, plan)
    onsite = sum(1 for s in plan.sessions if s.format == Format.ONSITE)
    reached = {school for s in plan.sessions for school in s.schools}
    used = {s.consultant for s in plan.sessions}
    needed, covered = int(_number(score.get("needs_total"))), int(_number(score.get("needs_covered")))
    share = covered / needed if needed else 1.0
    programme = {f.key: f for f in programme_figures(instance, plan)}
    topics = programme["topics_held"]
    held, usable = (int(x) for x in str(topics.value).split(" из ")) if " из " in str(topics.value) else (0, 0)
    return [
        KeyFigure("sessions", str(len(plan.sessions)),
                  f"консультаций (выездных {onsite}, онлайн {len(plan.sessions) - onsite})", name="Консультаций"),
        KeyFigure("schools", f"{len(reached & set(instance.schools))} из {len(instance.schools)}",
                  "школ получают консультации", name="Школ получают консультации"),
        KeyFigure("coverage", f"{decimal_text(100 * share)}%",
                  f"потребностей закрыто: {covered} из {needed} (риски школ и верификации,"
                  f" из них верификаций {int(_number(score.get('verifications_covered')))})",
                  "ok" if covered == needed else "", name="Потребностей закрыто (риски школ и верификации)"),
        KeyFigure("unmet", str(len(plan.unmet)), "непокрытых потребностей", "bad" if plan.unmet else "ok",
                  name="Непокрытых потребностей"),
        KeyFigure("topics", str(topics.value), "тем программы проведено (из нужных школам)",
                  "ok" if held == usable else "bad", name="Тем программы проведено (из нужных школам)"),
        KeyFigure("per-month", str(programme["sessions_per_month"].value),
                  "консультаций в месяц, кроме верификации", name="Консультаций в месяц, кроме верификации"),
        KeyFigure("gap", f"{programme['longest_gap'].value} мес.",
                  "самый долгий перерыв у школы после верификации",
                  name="Самый долгий перерыв у школы после верификации"),
        KeyFigure("relevant", str(programme["relevant_per_school"].value),
                  "консультаций по своим рискам на школу, в среднем",
                  name="Консультаций по своим рискам на школу, в среднем"),
        KeyFigure("travel", f"{int(_number(score.get('travel_km'))):,}".replace(",", "\u00a0"),
                  "км в дороге на выезды (туда и обратно)", name="Поездки на выезды, км (туда и обратно)"),
        KeyFigure("onsite-month", str(programme["max_onsite_per_month"].value),
                  "выездов одного консультанта в месяц, больше всего",
                  name="Больше всего выездов одного консультанта в месяц"),
        KeyFigure("consultants", f"{len(used)} из {len(instance.consultants)}", "консультантов задействовано",
                  name="Консультантов задействовано"),
        KeyFigure("max-load", str(int(_number(score.get("max_load")))), "консультаций у самого загруженного",
                  name="Консультаций у самого загруженного консультанта"),
    ]


def baseline_figures(plan: Plan) -> dict[str, str]:
    """A replan's record of its baseline's key figures (`BASELINE_FIGURES`), else {}."""
    meta = plan.meta if isinstance(plan.meta, dict) else {}
    got = meta.get(BASELINE_FIGURES)
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}


def replan_scenario(plan: Plan) -> str:
    """The scenario a replan followed, in words («перепланирование» when it had no name)."""
    meta = plan.meta.get("replan") if isinstance(plan.meta, dict) else None
    name = meta.get("scenario") if isinstance(meta, dict) else ""
    return str(name) if name else "перепланирование"


def is_replan(plan: Plan) -> bool:
    meta = plan.meta if isinstance(plan.meta, dict) else {}
    return "replan" in meta or "changes" in meta or bool(plan.cancelled)
