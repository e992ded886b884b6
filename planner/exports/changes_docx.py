"""The change report as a document a coordinator can send: `changes.docx`, beside `changes.md`.

What a replan changed, in Word (A4 landscape, the appendix's fonts and tables): the scenario and
the freeze date; the plan's key figures before and after; every changed session by date — what
happened, topic, when before and after, consultant, format and place («ВКС» or «выезд, <МО>»),
its schools by municipality, each municipality once and each school under its own («+» joined,
«−» dropped); the needs the change left unmet, with their reasons (`changes.md` also has the
changes by consultant, school and municipality). When the replan also computed the stable alternative
(`meta.replan.options`), both options side by side. Never an internal session id.
"""

from __future__ import annotations

import io

from docx import Document

from models.domain import VERIFICATION_NEED, Instance, Plan
from planner.exports.changes import (
    Change,
    moment_text,
    plan_changes,
    replan_options_price,
    replan_options_rows,
    schools_lines,
)
from planner.exports.documents_common import (
    date_text,
    key_figures,
    replan_scenario,
    risk_title,
)
from planner.exports.documents_docx import (
    LANDSCAPE_WIDTH_CM,
    Row,
    heading,
    page_and_styles,
    page_numbers,
    paragraph,
    set_properties,
    write_table,
)

CHANGES_FILE = "changes.docx"
FIGURES_HEADER = ("Показатель", "Было", "Стало")
FIGURES_WIDTHS_CM = (13.2, 6.0, 6.0)
CHANGES_HEADER = ("Изменение", "Тема", "Было", "Стало", "Консультант", "Формат и место",
                  "Школы (муниципальное образование)")
CHANGES_WIDTHS_CM = (2.3, 5.6, 2.3, 2.3, 2.9, 3.0, 6.8)
UNMET_HEADER = ("Школа (муниципальное образование)", "Потребность", "Причина")
UNMET_WIDTHS_CM = (7.0, 7.0, 11.2)


def changes_docx(instance: Instance, baseline: Plan, plan: Plan) -> bytes:
    """changes.docx (bytes) for a replanned `plan` of `baseline`."""
    doc = Document()
    page_and_styles(doc, landscape=True)
    title = f"Изменения графика консультаций: {replan_scenario(plan)}"
    set_properties(doc, instance, plan, title)
    page_numbers(doc)
    paragraph(doc, title, bold=True, space_after=6)
    meta = plan.meta.get("replan", {}) if isinstance(plan.meta, dict) else {}
    freeze = plan.freeze_before
    if freeze:
        paragraph(doc, f"Консультации до {date_text(freeze)} — история, они не меняются"
                       f" ({meta.get('history_sessions', 0)}). График изменён с {date_text(freeze)}.")
    changes = plan_changes(instance, plan, baseline)
    paragraph(doc, f"Итого: без изменений {meta.get('kept', 0)}, перенесено или изменено {meta.get('moved', 0)},"
                   f" отменено {meta.get('cancelled', 0)}, добавлено {meta.get('added', 0)}.", space_after=6)

    options = replan_options_rows(plan)
    if options:
        heading(doc, "Варианты перепланирования")
        if replan_options_price(plan):
            paragraph(doc, replan_options_price(plan), space_after=6)
        n = len(options[0][1])
        write_table(doc, ("Показатель", *options[0][1]), [Row([[label], *([c] for c in cells)])
                                                         for label, cells in options[1:]],
                    (9.2, *([16.0 / n] * n)), LANDSCAPE_WIDTH_CM)

    heading(doc, "Главные показатели: было и стало")
    before = {f.key: f for f in key_figures(instance, baseline)}
    write_table(doc, FIGURES_HEADER,
                [Row([[f.name], [before[f.key].value if f.key in before else "—"], [f.value]])
                 for f in key_figures(instance, plan)],
                FIGURES_WIDTHS_CM, LANDSCAPE_WIDTH_CM)

    heading(doc, "Изменённые консультации")
    if changes:
        paragraph(doc, "Школы — по муниципальным образованиям; «+» — школа добавлена, «−» — снята.",
                  space_after=6)
        write_table(doc, CHANGES_HEADER, [_change_row(c) for c in changes], CHANGES_WIDTHS_CM, LANDSCAPE_WIDTH_CM)
    else:
        paragraph(doc, "Изменений нет: опубликованный график остаётся в силе.")

    heading(doc, "Потребности")
    old_unmet = {(u.school, u.risk) for u in baseline.unmet}
    new_unmet = [u for u in plan.unmet if (u.school, u.risk) not in old_unmet]
    if new_unmet:
        rows = []
        for u in new_unmet:
            sch = instance.schools.get(u.school)
            label = f"{sch.name} ({instance.municipalities[sch.municipality].name})" \
                if sch and sch.municipality in instance.municipalities else u.school
            need = risk_title(instance, u.risk) if u.risk == VERIFICATION_NEED \
                else f"{u.risk} {risk_title(instance, u.risk)}"
            rows.append(Row([[label], [need], [u.reason]]))
        paragraph(doc, "Стали непокрытыми:", space_after=6)
        write_table(doc, UNMET_HEADER, rows, UNMET_WIDTHS_CM, LANDSCAPE_WIDTH_CM)
    else:
        paragraph(doc, "Новых непокрытых потребностей нет.")
    fixed = old_unmet - {(u.school, u.risk) for u in plan.unmet}
    if fixed:
        paragraph(doc, f"Стали покрытыми: {len(fixed)}.")

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _change_row(c: Change) -> Row:
    consultant = [c.consultant_after, f"(вместо {c.consultant_before})"] if c.consultant_changed \
        else [c.consultant]
    return Row([
        [c.title],
        [c.topic],
        [moment_text(c.before)],
        [moment_text(c.after)],
        consultant,
        [c.where],
        schools_lines(c) or ["—"],
    ])


