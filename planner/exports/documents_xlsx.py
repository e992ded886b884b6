"""The plan as an Excel workbook the working group filters, sorts and prints.

Sheets: «График» (one row per session), «Школы» (one row per school × session, with the
school's risks the topic addresses), «Рисковые профили» (one row per school), «Консультанты»
(load per month against `max_per_month`), «Непокрытые риски» (unmet needs
with their reasons), «Отступления от программы» (topics not held, schools left without
support too long, with their reasons), «Итоги» (the plan's figures and the programme's
measures in the working group's words, coverage per risk factor), and «Изменения» when the
plan is a replan. Header rows are frozen and filtered, columns sized, long texts wrapped; dates,
times and months are real Excel values (in the region's time zone), so they sort; risk codes
come with their titles; an empty sheet says «нет». Every sheet prints on A4 landscape, fit to
the page's width, its header row repeated on every page.

No text ever becomes a formula: every text cell is stored as a string (never `=…`), and
text beginning with `=`, `+`, `-`, `@` is also marked quote-prefixed, so Excel shows it as
typed — a school named `=HYPERLINK(…)` stays that name (CSV/Excel injection).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from models.calendar_days import month_first_day
from models.domain import Instance, Plan, Session
from planner.exports.calendars import plan_stamp
from planner.exports.changes import plan_changes, schools_lines
from planner.exports.documents_common import (
    TOTALS,
    consultant_month_load,
    document_author,
    format_title,
    local_time,
    month_short,
    municipality_name,
    plan_score,
    programme_exceptions,
    programme_figures,
    risk_coverage,
    risk_title,
    school_name,
    school_order,
    score_label,
    session_month,
    sessions_in_order,
    status_title,
    topic_stage,
    topic_title,
)

SHEET_GRAPH = "График"
SHEET_SCHOOLS = "Школы"
SHEET_PROFILES = "Рисковые профили"
SHEET_CONSULTANTS = "Консультанты"
SHEET_UNMET = "Непокрытые риски"
SHEET_PROGRAMME = "Отступления от программы"
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
)
GRAPH_PRINTED = 11
"""«График» prints its first columns, to «Число школ»: the list of schools and the codes are
for the screen and for filtering (each school's consultations print on «Школы»)."""
SCHOOL_COLUMNS = (
    "Код школы",
    "Школа",
    "Муниципальное образование",
    "Приоритет",
    *SESSION_COLUMNS,
    "Консультант",
    "Риски школы, которые закрывает тема",
    "Код темы",
)
PROFILE_COLUMNS = (
    "Код школы",
    "Школа",
    "Муниципальное образование",
    "Приоритет",
    "Рисковый профиль",
    "Консультаций за период",
    "Из них по своим рискам",
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
PROGRAMME_COLUMNS = (
    "Отступление",
    "Тема или школа",
    "Муниципальное образование",
    "Месяцы",
    "Причина",
    "Код причины",
)
CHANGE_COLUMNS = (
    "Изменение",
    "Тема",
    "Было: дата и время",
    "Стало: дата и время",
    "Консультант был",
    "Консультант стал",
    "Формат и место",
    "Школы (муниципальное образование)",
    "Подробности",
)

DATE_FORMAT = "DD.MM.YYYY"
TIME_FORMAT = "HH:MM"
MONTH_FORMAT = "[$-419]MMMM YYYY"
"""A month as its first day, shown «Март 2022» whatever the reader's Excel language ([$-419] = ru-RU)."""
MAX_WIDTH = 60
WRAP_WIDTH = 30
"""A wrapped column is at most this wide (characters) unless its sheet says; long texts take more lines."""
LINE_PT = 15
"""The height of one line of text (Calibri 11), points."""
NONE = "нет"
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
    _profiles_sheet(wb.create_sheet(SHEET_PROFILES), instance, plan)
    _consultants_sheet(wb.create_sheet(SHEET_CONSULTANTS), instance, plan)
    _unmet_sheet(wb.create_sheet(SHEET_UNMET), instance, plan)
    _programme_sheet(wb.create_sheet(SHEET_PROGRAMME), instance, plan)
    _totals_sheet(wb.create_sheet(SHEET_TOTALS), instance, plan)
    changes = plan_changes(instance, plan)
    if changes:
        _changes_sheet(wb.create_sheet(SHEET_CHANGES), instance, plan)
    for ws in wb.worksheets:
        _print_setup(ws)
    wb.properties.title = f"План консультаций: {instance.settings.region.name}"
    wb.properties.language = "ru-RU"
    wb.properties.creator = document_author(instance)
    wb.properties.lastModifiedBy = document_author(instance)
    wb.properties.created = plan_stamp(instance, plan).replace(tzinfo=None)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _print_setup(ws: Worksheet) -> None:
    """A4 landscape, fit to the page's width (as many pages down as it takes), the header row
    repeated on every page, narrow margins, page numbers in the footer."""
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.gridLines = True
    ws.oddFooter.center.text = "&P / &N"
    ws.oddHeader.center.text = "&A"


# --- the sheets --------------------------------------------------------------------------


def _graph_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    rows = []
    for s in sessions_in_order(plan):
        c = instance.consultants.get(s.consultant)
        rows.append(
            [
                month_first_day(session_month(instance, s)),
                *_session_cells(instance, s),
                municipality_name(instance, s.municipality),
                c.name if c else s.consultant,
                c.position if c else "",
                len(s.schools),
                "; ".join(school_name(instance, x) for x in s.schools),
                s.topic,
                s.consultant,
            ]
        )
    _table(ws, GRAPH_COLUMNS, rows, wrap={"Тема консультации": 36, "Этап": 16, "Должность": 28,
                                          "Муниципальное образование (выезд)": 24, "Консультант": 18})
    ws.print_area = f"A1:{get_column_letter(GRAPH_PRINTED)}{max(2, len(rows) + 1)}"
    for r in range(2, len(rows) + 2):
        ws.cell(r, 1).number_format = MONTH_FORMAT
    ws.column_dimensions["A"].width = 16  # «сентябрь 2022» (a date too narrow shows as ####)


def _schools_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    """One row per school and consultation; which of the school's risks the topic addresses."""
    rows = []
    for sid in school_order(instance):
        school = instance.schools[sid]
        for s in sorted(plan.sessions_of_school(sid), key=lambda s: (s.start, s.topic, s.id)):
            c = instance.consultants.get(s.consultant)
            topic = instance.topics.get(s.topic)
            addressed = [r for r in school.risks if topic is not None and r in topic.risks]
            rows.append(
                [
                    sid,
                    school.name,
                    municipality_name(instance, school.municipality),
                    school.priority,
                    *_session_cells(instance, s),
                    c.name if c else s.consultant,
                    "\n".join(f"{r} {risk_title(instance, r)}" for r in addressed),
                    s.topic,
                ]
            )
    _table(ws, SCHOOL_COLUMNS, rows, wrap={"Школа": 24, "Муниципальное образование": 22, "Тема консультации": 40,
                                           "Этап": 16, "Консультант": 18,
                                           "Риски школы, которые закрывает тема": 40})


def _profiles_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    """One row per school: its risk profile, each risk with its title; its consultations."""
    rows = []
    for sid in school_order(instance):
        school = instance.schools[sid]
        sessions = plan.sessions_of_school(sid)
        relevant = sum(1 for s in sessions if s.topic in instance.topics
                       and set(instance.topics[s.topic].risks) & set(school.risks))
        rows.append([
            sid,
            school.name,
            municipality_name(instance, school.municipality),
            school.priority,
            "\n".join(f"{r} {risk_title(instance, r)}" for r in school.risks),
            len(sessions),
            relevant,
        ])
    _table(ws, PROFILE_COLUMNS, rows, wrap={"Школа": 30, "Муниципальное образование": 26, "Рисковый профиль": 70,
                                            "Консультаций за период": 14, "Из них по своим рискам": 14})


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
    _table(ws, header, rows, wrap={"Консультант": 18, "Должность": 30, "Муниципальное образование": 22})
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
    _table(ws, UNMET_COLUMNS, rows, wrap={"Школа": 30, "Муниципальное образование": 24, "Риск": 40,
                                          "Причина": 50})


def _programme_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    """Topics not held and schools left without support too long, each with its reason."""
    rows = [[e.kind, e.subject, e.municipality, e.months, e.reason, e.code]
            for e in programme_exceptions(instance, plan)]
    _table(ws, PROGRAMME_COLUMNS, rows, wrap={"Тема или школа": 40, "Муниципальное образование": 24,
                                              "Месяцы": 24, "Причина": 60})


def _totals_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    """The plan's figures and the programme's measures in the working group's words; then
    coverage per risk factor."""
    h = instance.settings.horizon
    rows: list[list[Any]] = [
        ["Регион", instance.settings.region.name],
        ["Начало периода", h.start],
        ["Конец периода", h.end],
        ["План", status_title(plan.status)],
    ]
    score = plan_score(instance, plan)
    for key in TOTALS:
        value = score.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append([score_label(key), value])
    rows.append(["Непокрытых потребностей", len(plan.unmet)])
    rows += [[f.label, f.value] for f in programme_figures(instance, plan)]
    changes = plan_changes(instance, plan)
    if changes:
        rows.append(["Изменений относительно прежнего плана", len(changes)])
    _table(ws, ("Показатель", "Значение"), rows, wrap={"Показатель": 70, "Значение": 50})
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
        ws.row_dimensions[top + i].height = LINE_PT * _lines(label, 70)
        _put(ws.cell(top + i, 2), rc.needed)
        _put(ws.cell(top + i, 3), rc.covered)
        share = ws.cell(top + i, 4)
        share.value = rc.covered / rc.needed if rc.needed else 1.0
        share.number_format = "0.0%"


def _changes_sheet(ws: Worksheet, instance: Instance, plan: Plan) -> None:
    """What a replan changed: real dates and times before and after, the consultant before and
    after, format and place, the schools one a line with their municipality; no internal ids."""
    rows = []
    for c in plan_changes(instance, plan):
        rows.append([
            c.title,
            c.topic,
            c.before.replace(tzinfo=None) if c.before else None,
            c.after.replace(tzinfo=None) if c.after else None,
            c.consultant_before,
            c.consultant_after if c.consultant_changed or c.kind == "added" else "",
            c.where,
            "\n".join(schools_lines(c)),
            c.details,
        ])
    _table(ws, CHANGE_COLUMNS, rows, wrap={"Тема": 36, "Формат и место": 24, "Школы (муниципальное образование)": 50,
                                           "Подробности": 30, "Консультант был": 18, "Консультант стал": 18})


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
    wrap: Mapping[str, int] | set[str] = frozenset(),
) -> None:  # type: ignore[assignment]
    """Header in row 1 (bold, frozen, filtered), then the rows; columns sized to their text, a
    wrapped one (`wrap`: column → width, or a set of columns at WRAP_WIDTH) at most that wide,
    its rows as tall as their lines (a spreadsheet program does not grow them by itself, and a
    printed row would hide the rest); no rows: «нет» under the header."""
    limits = dict(wrap) if isinstance(wrap, Mapping) else dict.fromkeys(wrap, WRAP_WIDTH)
    for col, text in enumerate(header, start=1):
        _header_cell(ws.cell(1, col), text)
    widths = [min(len(h) + 2, limits.get(h, MAX_WIDTH)) for h in header]
    kept = list(rows)
    for n, row in enumerate(kept, start=2):
        for col, value in enumerate(row, start=1):
            cell = ws.cell(n, col)
            _put(cell, value)
            cell.alignment = _WRAP if header[col - 1] in limits else _TOP
            widths[col - 1] = max(widths[col - 1], min(limits.get(header[col - 1], MAX_WIDTH), _display_len(value)))
    if not kept:
        _put(ws.cell(2, 1), NONE)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(MAX_WIDTH, max(8, width + 1))
    ws.row_dimensions[1].height = LINE_PT * max(_lines(h, widths[k]) for k, h in enumerate(header))
    for n, row in enumerate(kept, start=2):
        lines = max((_lines(v, widths[k]) for k, v in enumerate(row) if header[k] in limits), default=1)
        if lines > 1:
            ws.row_dimensions[n].height = LINE_PT * lines
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(2, len(kept) + 1)}"


def _lines(value: Any, width: int) -> int:
    """How many lines a wrapped cell of `width` characters takes (words kept whole)."""
    if value is None or isinstance(value, (int, float, date, time)):
        return 1
    total = 0
    for para in str(value).split("\n"):
        line, count = 0, 1
        for word in para.split():
            if line and line + 1 + len(word) > width:
                count += 1
                line = len(word)
            else:
                line += (1 if line else 0) + len(word)
        total += count
    return max(1, total)


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
