"""The plan as an Excel workbook the working group filters and sorts.

Sheets: «График» (one row per session), «Школы» (one row per school × session),
«Консультанты» (load per month against `max_per_month`), «Непокрытые риски» (unmet needs
with their reasons), «Итоги» (the score breakdown and coverage per risk factor), and
«Изменения» when the plan is a replan. Header rows are frozen and filtered, columns sized,
dates and times are real Excel dates and times (in the region's time zone).

No text ever becomes a formula: every text cell is stored as a string (never `=…`), and
text beginning with `=`, `+`, `-`, `@` is also marked quote-prefixed, so Excel shows it as
typed — a school named `=HYPERLINK(…)` stays that name (CSV/Excel injection).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from models.domain import Instance, Plan, Session
from planner.exports.documents_common import (
    change_rows,
    consultant_month_load,
    format_title,
    local_time,
    month_short,
    municipality_name,
    plan_score,
    risk_coverage,
    risk_title,
    school_name,
    school_order,
    score_label,
    sessions_in_order,
    status_title,
    topic_stage,
    topic_title,
)

SHEET_GRAPH = "График"
SHEET_SCHOOLS = "Школы"
SHEET_CONSULTANTS = "Консультанты"
SHEET_UNMET = "Непокрытые риски"
SHEET_TOTALS = "Итоги"
SHEET_CHANGES = "Изменения"

SESSION_COLUMNS = (  # the same cells in «График» and «Школы»: `_session_cells`
    "Дата",
    "Начало",
    "Окончание",
    "Тема консультации",
    "Этап",
    "Формат",
)
GRAPH_COLUMNS = (
    "Месяц",
    *SESSION_COLUMNS,
    "Муниципальное образование (выезд)",
    "Консультант",
    "Должность",
    "Число школ",
    "Школы",
    "Код темы",
    "Код консультанта",
    "Код консультации",
)
SCHOOL_COLUMNS = (
    "Код школы",
    "Школа",
    "Муниципальное образование",
    "Приоритет",
    "Рисковый профиль",
    *SESSION_COLUMNS,
    "Консультант",
    "Код темы",
    "Код консультации",
)
UNMET_COLUMNS = (
    "Код школы",
    "Школа",
    "Муниципальное образование",
    "Приоритет",
    "Код риска",
    "Риск",
    "Причина",
    "Код причины",
)
CHANGE_COLUMNS = (
    "Изменение",
    "Код консультации",
    "Тема",
    "Консультант",
    "Было",
    "Стало",
    "Школы",
    "Подробности",
)

DATE_FORMAT = "DD.MM.YYYY"
TIME_FORMAT = "HH:MM"
MAX_WIDTH = 60
FORMULA_STARTS = ("=", "+", "-", "@")

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
_FULL_FILL = PatternFill("solid", fgColor="FFE9A8")  # the consultant's month is full
_OVER_FILL = PatternFill("solid", fgColor="F4B6B6")  # more than max_per_month: a broken plan
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")


def plan_xlsx(instance: Instance, plan: Plan) -> bytes:
    """The workbook (.xlsx bytes)."""
    wb = Workbook()
    wb.remove(wb.active)
    _graph_sheet(wb.create_sheet(SHEET_GRAPH), instance, plan)
    _schools_sheet(wb.create_sheet(SHEET_SCHOOLS), instance, plan)
    _consultants_sheet(wb.create_sheet(SHEET_CONSULTANTS), instance, plan)
    _unmet_sheet(wb.create_sheet(SHEET_UNMET), instance, plan)
    _totals_sheet(wb.create_sheet(SHEET_TOTALS), instance, plan)
    changes = change_rows(instance, plan)
    if changes:
        ws = wb.create_sheet(SHEET_CHANGES)
        _table(
            ws,
            CHANGE_COLUMNS,
            [
                [c.kind, c.session, c.topic, c.consultant, c.before, c.after, c.schools, c.details]
                for c in changes
            ],
        )
    wb.properties.title = f"План консультаций: {instance.settings.region.name}"
    wb.properties.language = "ru-RU"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- the sheets --------------------------------------------------------------------------


def _graph_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    rows = []
    for s in sessions_in_order(plan):
        start = local_time(instance, s.start)
        c = instance.consultants.get(s.consultant)
        rows.append(
            [
                month_short(f"{start.year:04d}-{start.month:02d}"),
                *_session_cells(instance, s),
                municipality_name(instance, s.municipality),
                c.name if c else s.consultant,
                c.position if c else "",
                len(s.schools),
                "; ".join(school_name(instance, x) for x in s.schools),
                s.topic,
                s.consultant,
                s.id,
            ]
        )
    _table(ws, GRAPH_COLUMNS, rows, wrap={"Тема консультации", "Школы", "Должность"})


def _schools_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    rows = []
    for sid in school_order(instance):
        school = instance.schools[sid]
        for s in sorted(plan.sessions_of_school(sid), key=lambda s: (s.start, s.topic, s.id)):
            c = instance.consultants.get(s.consultant)
            rows.append(
                [
                    sid,
                    school.name,
                    municipality_name(instance, school.municipality),
                    school.priority,
                    "; ".join(school.risks),
                    *_session_cells(instance, s),
                    c.name if c else s.consultant,
                    s.topic,
                    s.id,
                ]
            )
    _table(ws, SCHOOL_COLUMNS, rows, wrap={"Тема консультации"})


def _consultants_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    """Sessions per consultant and month; a full month amber, an overfull one red."""
    load = consultant_month_load(instance, plan)
    months = sorted({m for row in load.values() for m in row})
    header = [
        "Код",
        "Консультант",
        "Должность",
        "Муниципальное образование",
        "Не больше в месяц",
        *(month_short(m) for m in months),
        "Всего",
        "Не больше за период",
    ]
    rows = []
    for cid, per_month in load.items():
        c = instance.consultants.get(cid)
        rows.append(
            [
                cid,
                c.name if c else cid,
                c.position if c else "",
                municipality_name(instance, c.municipality) if c else "",
                c.max_per_month if c else None,
                *(per_month.get(m, 0) for m in months),
                sum(per_month.values()),
                c.max_total if c and c.max_total is not None else "не ограничено",
            ]
        )
    _table(ws, header, rows, wrap={"Должность"})
    first_month_col = 6
    for r, (cid, per_month) in enumerate(load.items(), start=2):
        c = instance.consultants.get(cid)
        if c is None:
            continue
        for k, m in enumerate(months):
            n = per_month.get(m, 0)
            if n > c.max_per_month:
                ws.cell(r, first_month_col + k).fill = _OVER_FILL
            elif n == c.max_per_month and n > 0:
                ws.cell(r, first_month_col + k).fill = _FULL_FILL


def _unmet_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    rows = []
    for u in plan.unmet:
        school = instance.schools.get(u.school)
        rows.append(
            [
                u.school,
                school_name(instance, u.school),
                municipality_name(instance, school.municipality) if school else "",
                school.priority if school else None,
                u.risk,
                risk_title(instance, u.risk),
                u.reason,
                u.code,
            ]
        )
    _table(ws, UNMET_COLUMNS, rows, wrap={"Риск", "Причина"})


def _totals_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    h = instance.settings.horizon
    rows: list[list[Any]] = [
        ["Экземпляр", plan.instance or instance.name],
        ["Регион", instance.settings.region.name],
        ["Начало периода", h.start],
        ["Конец периода", h.end],
        ["Статус решателя", status_title(plan.status)],
        ["Целевая функция", plan.objective],
        ["Граница целевой функции", plan.bound],
        ["Время решения, с", plan.solve_seconds],
    ]
    score = plan_score(instance, plan)
    for key, value in score.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append([score_label(key), value])
    rows.append(["Непокрытых потребностей", len(plan.unmet)])
    changes = change_rows(instance, plan)
    if changes:
        rows.append(["Изменений относительно прежнего плана", len(changes)])
    _table(ws, ("Показатель", "Значение"), rows, wrap={"Показатель"})
    for r, row in enumerate(rows, start=2):
        if row[0] == score_label("coverage_share"):
            ws.cell(r, 2).number_format = "0.0%"

    # Coverage per risk factor, below the figures.
    top = len(rows) + 3
    cov_header = ("Фактор риска", "Нужно школам", "Закрыто", "Доля")
    for col, text in enumerate(cov_header, start=1):
        _header_cell(ws.cell(top, col), text)
    for i, rc in enumerate(risk_coverage(instance, plan), start=1):
        label = rc.title if rc.risk == "verification" else f"{rc.risk} {rc.title}"
        _put(ws.cell(top + i, 1), label)
        ws.cell(top + i, 1).alignment = _WRAP
        _put(ws.cell(top + i, 2), rc.needed)
        _put(ws.cell(top + i, 3), rc.covered)
        share = ws.cell(top + i, 4)
        share.value = rc.covered / rc.needed if rc.needed else 1.0
        share.number_format = "0.0%"


# --- cells and tables ----------------------------------------------------------------------


def _session_cells(instance: Instance, s: Session) -> list:
    """The cells of SESSION_COLUMNS: date, start, end (local), topic, stage, format."""
    start, end = local_time(instance, s.start), local_time(instance, s.end)
    return [
        start.date(),
        _clock(start),
        _clock(end),
        topic_title(instance, s.topic),
        topic_stage(instance, s.topic),
        format_title(s.format),
    ]


def _clock(moment: datetime) -> time:
    return time(moment.hour, moment.minute)


def _table(
    ws: Worksheet,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    wrap: set[str] = frozenset(),
) -> None:  # type: ignore[assignment]
    """Header in row 1 (bold, frozen, filtered), then the rows; columns sized to their text."""
    for col, text in enumerate(header, start=1):
        _header_cell(ws.cell(1, col), text)
    widths = [len(h) + 2 for h in header]
    n = 0
    for n, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            cell = ws.cell(n, col)
            _put(cell, value)
            cell.alignment = _WRAP if header[col - 1] in wrap else _TOP
            widths[col - 1] = max(widths[col - 1], _display_len(value))
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(MAX_WIDTH, max(8, width + 1))
    ws.freeze_panes = "A2"
    last = max(n, 1)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{last}"


def _header_cell(cell: Cell, text: str) -> None:
    _put(cell, text)
    cell.font = _HEADER_FONT
    cell.fill = _HEADER_FILL
    cell.alignment = Alignment(wrap_text=True, vertical="center")


def _put(cell: Cell, value: Any) -> None:
    """A value as Excel should hold it: dates as dates, numbers as numbers, text as text."""
    if value is None:
        cell.value = None
    elif isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = f"{DATE_FORMAT} {TIME_FORMAT}"
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, time):
        cell.value = value
        cell.number_format = TIME_FORMAT
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.value = value
    else:
        _put_text(cell, str(value))


def _put_text(cell: Cell, text: str) -> None:
    """Text stored as a string, never as a formula, whatever it starts with."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.value = text
    cell.data_type = "s"  # openpyxl makes any text starting with "=" a formula; undo that
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True  # Excel shows it as typed, and keeps it text when edited


def _display_len(value: Any) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, time):
        return 5
    text = "" if value is None else str(value)
    return max((len(line) for line in text.split("\n")), default=0)
