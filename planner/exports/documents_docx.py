"""The order's appendix in Word: the consultation graph as the ministry prints it.

Shape from the Kuzbass 2022 order (shared/seeds/004_…): the heading «График консультаций
для школ с низкими образовательными результатами <региона> представителями мобильных групп
в <год> году», then the table «Тема консультации | Дата и время проведения | Ответственный»
grouped by month, «Ответственный» written «Фамилия И. О., должность». Then the same plan by
school, and, when the plan dates roadmap activities, the roadmap table in the seeds' shape
(№ п/п, Описание действий, Дата реализации, Исполнители, Показатель реализации).

A4, Times New Roman 14 for text and 12 in tables, table header rows repeated on every page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Row

from models.domain import ActivityDates, Instance, Plan, Session
from planner.exports.documents_common import (
    appendix_title,
    date_text,
    month_title,
    municipality_name,
    quoted_title,
    responsible,
    school_name,
    school_order,
    session_when,
    session_where,
    sessions_by_month,
    topic_title,
)

FONT = "Times New Roman"
TEXT_PT = 14
TABLE_PT = 12
TABLE_STYLE = "Текст таблицы"
TABLE_STYLE_ID = "PlannerTableText"
"""The style id of TABLE_STYLE (ASCII, set explicitly so that paragraphs can refer to it directly)."""

GRAPH_HEADER = ("Тема консультации", "Дата и время проведения", "Ответственный")
GRAPH_WIDTHS_CM = (7.5, 3.6, 5.4)
SCHOOL_HEADER = ("№ п/п", "Школа", "Муниципальное образование", "Даты и темы консультаций")
SCHOOL_WIDTHS_CM = (1.2, 3.9, 3.9, 7.5)
ROADMAP_HEADER = (
    "№ п/п",
    "Описание действий",
    "Дата реализации",
    "Исполнители",
    "Показатель реализации",
)
ROADMAP_WIDTHS_CM = (1.2, 6.0, 2.8, 3.3, 3.2)
SCHOOLS_HEADING = "Консультации по школам"
ROADMAP_HEADING = "Мероприятия дорожной карты (план мероприятий)"
NO_SESSIONS = "консультации не запланированы"
MAX_NAMED_SCHOOLS = 3  # a session for more schools shows their number in the graph


def appendix_docx(instance: Instance, plan: Plan) -> bytes:
    """The appendix (.docx bytes): the graph by month, the graph by school, the roadmap."""
    doc = Document()
    _page_and_styles(doc)
    title = appendix_title(instance, plan)
    doc.core_properties.title = title
    doc.core_properties.language = "ru-RU"
    doc.core_properties.subject = instance.settings.region.name

    _paragraph(
        doc, "Приложение\nк дорожной карте (плану мероприятий)", align=WD_ALIGN_PARAGRAPH.RIGHT
    )
    _paragraph(
        doc, title, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_before=12, space_after=12
    )
    _graph_table(doc, instance, plan)

    _heading(doc, SCHOOLS_HEADING)
    _schools_table(doc, instance, plan)

    if plan.activities:
        _heading(doc, ROADMAP_HEADING)
        _roadmap_table(doc, instance, plan)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- the three tables --------------------------------------------------------------------


def _graph_table(doc: DocxDocument, instance: Instance, plan: Plan) -> None:
    """One heading row per month («Март 2022 года»), then that month's sessions by date."""
    table = _table(doc, GRAPH_HEADER, GRAPH_WIDTHS_CM)
    by_month = sessions_by_month(instance, plan)
    for month, sessions in by_month.items():
        row = table.add_row()
        _cant_split(row)
        merged = row.cells[0].merge(row.cells[-1])
        _cell_text(merged, month_title(month), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        for s in sessions:
            row = table.add_row()
            _cant_split(row)
            _cell_lines(
                row.cells[0],
                [quoted_title(topic_title(instance, s.topic)), for_schools(instance, s)],
            )
            _cell_lines(row.cells[1], [session_when(instance, s), session_where(instance, s)])
            _cell_text(row.cells[2], responsible(instance, s.consultant))
    if not by_month:
        row = table.add_row()
        merged = row.cells[0].merge(row.cells[-1])
        _cell_text(merged, "Консультаций в плане нет", align=WD_ALIGN_PARAGRAPH.CENTER)
    _apply_widths(table, GRAPH_WIDTHS_CM)


def for_schools(instance: Instance, s: Session) -> str:
    """Who the session is for: the schools' names, or their number when there are many."""
    if len(s.schools) <= MAX_NAMED_SCHOOLS:
        names = "; ".join(school_name(instance, x) for x in s.schools)
        return f"Для школы: {names}" if len(s.schools) == 1 else f"Для школ: {names}"
    return f"Для школ: {len(s.schools)} (см. «{SCHOOLS_HEADING}»)"


def school_lines(instance: Instance, plan: Plan, school_id: str) -> list[str]:
    """The per-school cell: one line per session, «<дата, время> — «<тема>» (<где>)»."""
    sessions = sorted(plan.sessions_of_school(school_id), key=lambda s: (s.start, s.topic))
    return [
        f"{session_when(instance, s)} — {quoted_title(topic_title(instance, s.topic))}"
        f" ({session_where(instance, s)})"
        for s in sessions
    ]


def _schools_table(doc: DocxDocument, instance: Instance, plan: Plan) -> None:
    table = _table(doc, SCHOOL_HEADER, SCHOOL_WIDTHS_CM)
    for n, sid in enumerate(school_order(instance), start=1):
        school = instance.schools[sid]
        row = table.add_row()
        _cell_text(row.cells[0], f"{n}.")
        _cell_text(row.cells[1], school.name)
        _cell_text(row.cells[2], municipality_name(instance, school.municipality))
        _cell_lines(row.cells[3], school_lines(instance, plan, sid) or [NO_SESSIONS])
    _apply_widths(table, SCHOOL_WIDTHS_CM)


def activity_date_text(start: date, end: date) -> str:
    """«25.02.2022» or «24.02.2022–15.03.2022», as the orders write it."""
    return date_text(start) if start == end else f"{date_text(start)}–{date_text(end)}"


def roadmap_order(instance: Instance, plan: Plan) -> list[ActivityDates]:
    """Dated activities in the roadmap file's order (as the order numbers them), unknown ids last."""
    position = {aid: i for i, aid in enumerate(instance.activities)}
    return sorted(plan.activities, key=lambda a: (position.get(a.id, len(position)), a.start, a.id))


def executors_text(responsible_cell: str) -> str:
    """The `responsible` cell («;»-list of executors) as the order prints it: comma-separated."""
    return ", ".join(x.strip() for x in responsible_cell.split(";") if x.strip())


def _roadmap_table(doc: DocxDocument, instance: Instance, plan: Plan) -> None:
    table = _table(doc, ROADMAP_HEADER, ROADMAP_WIDTHS_CM)
    for n, a in enumerate(roadmap_order(instance, plan), start=1):
        act = instance.activities.get(a.id)
        row = table.add_row()
        _cant_split(row)
        _cell_text(row.cells[0], f"{n}.")
        _cell_text(row.cells[1], act.title if act else a.id)
        _cell_text(row.cells[2], activity_date_text(a.start, a.end))
        _cell_text(row.cells[3], executors_text(act.responsible) if act else "")
        _cell_text(row.cells[4], act.indicator if act else "")
    _apply_widths(table, ROADMAP_WIDTHS_CM)


# --- page, styles and table plumbing -----------------------------------------------------


def _page_and_styles(doc: DocxDocument) -> None:
    """A4 portrait, the margins of Russian official papers, Times New Roman 14 / 12 in tables."""
    for section in doc.sections:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.left_margin, section.right_margin = Cm(3.0), Cm(1.5)
        section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    normal = doc.styles["Normal"]
    _set_font(normal, TEXT_PT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    table_style = doc.styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    table_style.style_id = TABLE_STYLE_ID
    table_style.base_style = normal
    _set_font(table_style, TABLE_PT)


def _set_font(style, size_pt: int) -> None:
    style.font.name = FONT
    style.font.size = Pt(size_pt)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "ru-RU")


def _heading(doc: DocxDocument, text: str) -> None:
    """The heading over a table after the first."""
    _paragraph(doc, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_before=18, space_after=12)


def _paragraph(
    doc: DocxDocument,
    text: str,
    *,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    space_before: int = 0,
    space_after: int = 0,
) -> None:
    p = doc.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_before = Pt(space_before)
    p.paragraph_format.space_after = Pt(space_after)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        run = p.add_run(line)
        run.bold = bold
        if i < len(lines) - 1:
            run.add_break()


def _table(doc: DocxDocument, header: Sequence[str], widths_cm: Sequence[float]) -> Table:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    head = table.rows[0]
    _repeat_as_header(head)
    _cant_split(head)
    for cell, text in zip(head.cells, header, strict=True):
        _cell_text(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    return table


def _cell_text(
    cell, text: str, *, bold: bool = False, align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT
) -> None:
    _cell_lines(cell, [text], bold=bold, align=align)


def _cell_lines(
    cell,
    lines: Sequence[str],
    *,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
) -> None:
    """One paragraph per line (python-docx reads them back joined by newlines)."""
    first = cell.paragraphs[0]
    for i, line in enumerate(lines):
        p = first if i == 0 else cell.add_paragraph()
        # The style by id on the XML: `p.style = name` looks the style up among all of
        # them for every paragraph (python-docx), which made this document take ~2 s.
        p._p.style = TABLE_STYLE_ID
        p.alignment = align
        run = p.add_run(line)
        run.bold = bold


def _repeat_as_header(row: _Row) -> None:
    """w:tblHeader: Word repeats this row at the top of every page the table runs onto."""
    _row_flag(row, "w:tblHeader")


def _cant_split(row: _Row) -> None:
    """w:cantSplit: a row is never broken across two pages."""
    _row_flag(row, "w:cantSplit")


def _row_flag(row: _Row, tag: str) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    if tr_pr.find(qn(tag)) is None:
        flag = OxmlElement(tag)
        flag.set(qn("w:val"), "true")
        tr_pr.append(flag)


def _apply_widths(table: Table, widths_cm: Sequence[float]) -> None:
    """Word takes widths from each cell, LibreOffice from the grid: set both."""
    for col, width in zip(table.columns, widths_cm, strict=True):
        col.width = Cm(width)
    for row in table.rows:
        col = 0
        for tc in row._tr.tc_lst:  # a merged cell spans several grid columns
            span = tc.grid_span
            tc.width = Cm(sum(widths_cm[col : col + span]))
            col += span
