"""Russian summaries of an instance for `planner check`."""

from __future__ import annotations

from collections import Counter

from models.domain import Format, Instance, Stage
from models.problems import Problem, render_all


def instance_summary(instance: Instance, warnings: list[Problem]) -> str:
    cal = instance.calendar
    h = instance.settings.horizon
    schools = list(instance.schools.values())
    unverified = sum(1 for s in schools if s.verified_on is None)
    by_priority = Counter(s.priority for s in schools)
    topics = list(instance.topics.values())
    formats = Counter(t.format for t in topics)
    stages = Counter(t.stage for t in topics)
    needs = Counter(code for s in schools for code in s.risks)
    lines = [
        f"Экземпляр «{instance.name}»: {instance.settings.region.name or 'регион не указан'}",
        f"  Период: {h.start:%d.%m.%Y} – {h.end:%d.%m.%Y}, часовой пояс {instance.settings.region.timezone}",
        f"  Открытые месяцы ({len(cal.open_months)}): " + ", ".join(
            f"{m} ({len(cal.open_days_by_month[m])} раб. дн.)" for m in cal.open_months),
        f"  Муниципалитетов: {len(instance.municipalities)}",
        f"  Школ: {len(schools)} (приоритет 1: {by_priority[1]}, 2: {by_priority[2]}, 3: {by_priority[3]});"
        f" без верификации профиля: {unverified}",
        f"  Консультантов: {len(instance.consultants)}",
        f"  Тем: {len(topics)} (выездных {formats[Format.ONSITE]}, онлайн {formats[Format.ONLINE]};"
        f" верификация {stages[Stage.VERIFICATION]}, программы {stages[Stage.PROGRAM]},"
        f" сопровождение {stages[Stage.SUPPORT]}, мониторинг {stages[Stage.MONITORING]})",
    ]
    if instance.activities:
        lines.append(f"  Мероприятий дорожной карты: {len(instance.activities)}")
    lines.append("  Потребности по рисковым направлениям (школ с риском / тем по риску):")
    for code, risk in instance.risks.items():
        if needs[code] or instance.topics_for_risk(code):
            lines.append(
                f"    {code} {risk.title}: {needs[code]} / {len(instance.topics_for_risk(code))}"
            )
    lines.append(f"  Всего потребностей: {sum(needs.values())} рисков + {unverified} верификаций")
    if warnings:
        lines.append(render_all(warnings))
    else:
        lines.append("Предупреждений нет.")
    return "\n".join(lines)
