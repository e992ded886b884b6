"""The order's appendix in Word: the consultation graph as the ministry prints it.

Shape from the Kuzbass 2022 order (shared/seeds/004_…): top right «Приложение к Дорожной
карте (плану мероприятий), утверждённой приказом <кого> от <дата> № <номер>» (`[documents]`
settings), the heading «График консультаций для школ с низкими образовательными результатами
<региона> представителями мобильных групп в <год> году», then the table «Тема консультации |
Дата и время проведения | Ответственный» grouped by month, «Ответственный» written «Фамилия
И. О., должность».

The graph lists the whole programme by month, as the order does: one row per topic and
consultant in a month (its dates, format and place, its schools), and the verification visits
of a month summarised in one row (their schools and municipalities counted) instead of one
identical row per school.

By default the appendix is the graph only (`DEFAULT_SECTIONS`). Sections chosen by
`planner export docx --sections` add the verification visits one by one («visits»), the plan by
school («schools») and the dated roadmap («roadmap», grouped: one row per activity however many
times it recurs, rows in date order under month headings, the indicator marked when the
roadmap gives none).

A4 portrait, Times New Roman 14 for text and 12 in tables, page numbers in the footer. Every
table: its header row repeated on every page; no row split across pages; a month row kept
with the row after it; column widths chosen so that the longest word of a column fits (a narrow
column never breaks «Общеобразовательные» in the middle). Document properties: author the
region's working group (`[documents] author`), created the plan's `meta.created`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from models.calendar_days import Month, month_of
from models.domain import ActivityDates, Instance, Plan, Session
from planner.exports.calendars import plan_stamp
from planner.exports.documents_common import (
    appendix_title,
    approval_lines,
    date_text,
    document_author,
    is_verification,
    local_time,
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

TEXT_WIDTH_CM = 16.5
"""A4 (21 cm) less the margins of Russian official papers (3 cm left, 1.5 cm right)."""
LANDSCAPE_WIDTH_CM = 25.2
"""The same in landscape (29.7 cm less 4.5 cm)."""
CELL_MARGINS_CM = 0.4
"""Left and right cell margins together (Word's and LibreOffice's default, 0.19 cm each), rounded up."""

GRAPH_HEADER = ("Тема консультации", "Дата и время проведения", "Ответственный")
GRAPH_WIDTHS_CM = (6.8, 4.2, 5.5)
VISITS_HEADER = ("№ п/п", "Дата и время", "Школа", "Муниципальное образование", "Куратор")
VISITS_WIDTHS_CM = (1.3, 3.0, 4.6, 3.6, 4.0)
SCHOOL_HEADER = ("Дата и время", "Тема консультации", "Формат и место")
SCHOOL_WIDTHS_CM = (3.2, 9.3, 4.0)
ROADMAP_HEADER = (
    "№ п/п",
    "Описание действий",
    "Дата реализации",
    "Исполнители",
    "Показатель реализации",
)
ROADMAP_WIDTHS_CM = (1.3, 5.7, 2.9, 3.4, 3.2)

SECTIONS = ("graph", "visits", "schools", "roadmap")
"""What an appendix may hold, in the order it prints them (`planner export docx --sections`)."""
DEFAULT_SECTIONS = ("graph",)
"""The order's appendix is the graph alone."""
SECTION_TITLES = {
    "graph": "График консультаций по месяцам",
    "visits": "Визиты верификации рисковых профилей",
    "schools": "Консультации по школам",
    "roadmap": "Мероприятия дорожной карты (план мероприятий)",
}
NO_SESSIONS = "консультации не запланированы"
NO_INDICATOR = "не указан"
MAX_NAMED_SCHOOLS = 3  # a graph row for more schools gives their number
MAX_NAMED_CURATORS = 3  # a month's visits by more curators give their number


def appendix_docx(instance: Instance, plan: Plan, sections: Iterable[str] = DEFAULT_SECTIONS) -> bytes:
    """The appendix (.docx bytes): the `sections` asked for (`SECTIONS`; the roadmap only
    when the plan dates activities)."""
    chosen = [s for s in SECTIONS if s in set(sections) and (s != "roadmap" or plan.activities)]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown appendix sections {sorted(unknown)}")
    doc = Document()
    page_and_styles(doc)
    title = appendix_title(instance, plan)
    set_properties(doc, instance, plan, title)
    page_numbers(doc)

    if "graph" in chosen:
        paragraph(doc, "\n".join(approval_lines(instance)), align=WD_ALIGN_PARAGRAPH.RIGHT)
    paragraph(doc, title, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_before=12, space_after=12)
    for section in chosen:
        if section != "graph":
            heading(doc, SECTION_TITLES[section])
        if section == "graph":
            write_table(doc, GRAPH_HEADER, graph_rows(instance, plan, chosen), GRAPH_WIDTHS_CM)
        elif section == "visits":
            write_table(doc, VISITS_HEADER, visit_rows(instance, plan), VISITS_WIDTHS_CM)
        elif section == "schools":
            write_table(doc, SCHOOL_HEADER, school_rows(instance, plan), SCHOOL_WIDTHS_CM)
        elif section == "roadmap":
            write_table(doc, ROADMAP_HEADER, roadmap_rows(instance, plan), ROADMAP_WIDTHS_CM)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- the tables' contents ------------------------------------------------------------------


@dataclass
class Row:
    """One table row: each cell a list of lines (one paragraph each). A `heading` row is one
    cell across the table, bold and centred, kept on the page of the row after it."""

    cells: list[list[str]]
    heading: bool = False
    bold: bool = False
    keep_with_next: bool = False


def heading_row(text: str) -> Row:
    return Row([[text]], heading=True, bold=True, keep_with_next=True)


def graph_rows(instance: Instance, plan: Plan, sections: Sequence[str] = DEFAULT_SECTIONS) -> list[Row]:
    """Per month: its heading, then the verification visits summarised (one row per
    verification topic), then one row per topic and consultant, by first date."""
    rows: list[Row] = []
    for month, sessions in sessions_by_month(instance, plan).items():
        rows.append(heading_row(month_title(month)))
        visits: dict[str, list[Session]] = {}
        groups: dict[tuple[str, str], list[Session]] = {}
        for s in sessions:
            if is_verification(instance, s):
                visits.setdefault(s.topic, []).append(s)
            else:
                groups.setdefault((s.topic, s.consultant), []).append(s)
        for topic, group in visits.items():
            rows.append(_visits_row(instance, topic, group, "visits" in sections))
        for (topic, consultant), group in groups.items():
            rows.append(
                Row(
                    [
                        [quoted_title(topic_title(instance, topic)), *for_schools(instance, group, sections)],
                        [line for s in group for line in session_lines(instance, s)],
                        [responsible(instance, consultant)],
                    ]
                )
            )
    if len(rows) == 0:
        rows.append(Row([["Консультаций в плане нет"]], heading=True))
    return rows


def session_lines(instance: Instance, s: Session) -> list[str]:
    """A session in the graph's date column: «15.03.2022», «10:00–11:30, ВКС» (or «выезд: <МО>»)."""
    start, end = local_time(instance, s.start), local_time(instance, s.end)
    return [date_text(start.date()), f"{start:%H:%M}–{end:%H:%M}, {session_where(instance, s)}"]


def _visits_row(instance: Instance, topic: str, group: list[Session], listed: bool) -> Row:
    """A month's verification visits in one row: how many schools in how many
    municipalities, from which day to which, by whom."""
    schools = list(dict.fromkeys(x for s in group for x in s.schools))
    places = {s.municipality for s in group if s.municipality}
    first, last = (local_time(instance, s.start).date() for s in (group[0], group[-1]))
    days = date_text(first) if first == last else f"{first:%d.%m}–{date_text(last)}"
    what = [
        f"{topic_title(instance, topic)}: визиты кураторов в школы",
        f"школ: {len(schools)}, муниципальных образований: {len(places)}",
    ]
    if listed:
        what.append(f"(по школам — в разделе «{SECTION_TITLES['visits']}»)")
    curators = list(dict.fromkeys(s.consultant for s in group))
    if len(curators) <= MAX_NAMED_CURATORS:
        who = [responsible(instance, c) for c in curators]
    else:
        who = [f"Кураторы школ из членов мобильных групп ({len(curators)} чел.)"]
    return Row([what, [days, "выезд в школы"], who])


def for_schools(
    instance: Instance, group: Sequence[Session], sections: Sequence[str] = DEFAULT_SECTIONS
) -> list[str]:
    """Who a graph row is for, as lines: «Для школы: <школа>», or «Для школ:» and one school a
    line, or their number when there are many."""
    schools = list(dict.fromkeys(x for s in group for x in s.schools))
    if len(schools) == 1:
        return [f"Для школы: {school_name(instance, schools[0])}"]
    if len(schools) <= MAX_NAMED_SCHOOLS:
        return ["Для школ:", *(school_name(instance, x) for x in schools)]
    more = f" (см. «{SECTION_TITLES['schools']}»)" if "schools" in sections else ""
    return [f"Для школ: {len(schools)}{more}"]


def visit_rows(instance: Instance, plan: Plan) -> list[Row]:
    """Every verification visit: date and time, school, municipality, curator; by month."""
    rows: list[Row] = []
    n = 0
    for month, sessions in sessions_by_month(instance, plan).items():
        visits = [s for s in sessions if is_verification(instance, s)]
        if not visits:
            continue
        rows.append(heading_row(month_title(month)))
        for s in visits:
            for school in s.schools:
                n += 1
                sch = instance.schools.get(school)
                rows.append(
                    Row(
                        [
                            [f"{n}."],
                            [session_when(instance, s)],
                            [sch.name if sch else school],
                            [municipality_name(instance, sch.municipality if sch else s.municipality)],
                            [responsible(instance, s.consultant)],
                        ]
                    )
                )
    if not rows:
        rows.append(Row([["Визитов верификации в плане нет"]], heading=True))
    return rows


def school_rows(instance: Instance, plan: Plan) -> list[Row]:
    """Per school (by municipality, then name): a heading row «N. <школа> — <муниципальное
    образование>» kept with its first consultation, then one row per consultation: date and
    time, topic, format and place. Short rows: a school's list may run onto the next page,
    a row never does."""
    rows = []
    for n, sid in enumerate(school_order(instance), start=1):
        school = instance.schools[sid]
        rows.append(heading_row(f"{n}. {school.name} — {municipality_name(instance, school.municipality)}"))
        sessions = sorted(plan.sessions_of_school(sid), key=lambda s: (s.start, s.topic))
        for s in sessions:
            rows.append(
                Row(
                    [
                        [session_when(instance, s)],
                        [quoted_title(topic_title(instance, s.topic))],
                        [session_where(instance, s)],
                    ]
                )
            )
        if not sessions:
            rows.append(Row([[NO_SESSIONS]], heading=True))
    return rows


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


@dataclass
class RoadmapItem:
    """One row of the roadmap table: an activity with every date it happens on (an activity
    the roadmap repeats — same description, executors and indicator — is one item)."""

    title: str
    executors: str
    indicator: str
    dates: list[tuple[date, date]] = field(default_factory=list)


def roadmap_items(instance: Instance, plan: Plan) -> list[RoadmapItem]:
    """The dated activities grouped (repeats in one item) and in date order (first date, then
    the roadmap file's order)."""
    items: dict[tuple[str, str, str], RoadmapItem] = {}
    for a in roadmap_order(instance, plan):
        act = instance.activities.get(a.id)
        title = act.title if act else a.id
        executors = executors_text(act.responsible) if act else ""
        indicator = act.indicator.strip() if act else ""
        item = items.setdefault((title, executors, indicator), RoadmapItem(title, executors, indicator))
        item.dates.append((a.start, a.end))
    ordered = list(items.values())
    for item in ordered:
        item.dates.sort()
    return sorted(ordered, key=lambda i: i.dates[0])  # stable: the file's order within a day


def roadmap_rows(instance: Instance, plan: Plan) -> list[Row]:
    """Under a heading per month of the first date: «№, описание, даты, исполнители, показатель»."""
    rows: list[Row] = []
    month: Month | None = None
    for n, item in enumerate(roadmap_items(instance, plan), start=1):
        first = month_of(item.dates[0][0])
        if first != month:
            month = first
            rows.append(heading_row(month_title(first)))
        rows.append(
            Row(
                [
                    [f"{n}."],
                    [item.title],
                    [activity_date_text(a, b) for a, b in item.dates],
                    [item.executors],
                    [item.indicator or NO_INDICATOR],
                ]
            )
        )
    return rows


# --- column widths: the longest word of a column fits ----------------------------------------

# Advance widths of Times New Roman in hundredths of an em, rounded up (Liberation Serif, which
# LibreOffice prints in its place, has the same widths): regular and bold, for _GLYPHS in order.
# A character not listed counts as UNKNOWN_EM, wider than any letter here.
_GLYPHS = (
    'абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ'
    'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 «»"\'()[]-–—,.;:!?№/%+=@&*_<>'
)
_REGULAR = """
    45 51 48 42 51 45 45 70 40 54 54 49 50 64 54 50 54 50 45 44 50 65 50 54 51 78 78 52 68 46 43 75
    46 73 58 67 58 69 62 62 90 51 73 73 67 68 89 73 73 73 56 67 62 71 80 73 73 65 101 101 71 88 58
    67 103 67 45 50 45 50 45 34 50 50 28 28 50 28 78 50 50 50 50 34 39 28 50 50 73 50 50 45 73 67
    67 73 62 56 73 73 34 39 73 62 89 73 73 56 73 67 56 62 73 73 95 73 73 62 50 50 50 50 50 50 50 50
    50 50 25 50 50 41 19 34 34 34 34 34 50 100 25 25 28 28 34 45 96 28 84 57 57 93 78 50 50 57 57
"""
_BOLD = """
    50 50 55 46 51 45 45 73 41 58 58 58 57 69 58 50 58 56 45 50 50 70 50 58 57 85 85 59 79 53 44 77
    55 73 67 67 64 69 67 67 99 53 78 78 73 75 95 78 78 78 62 73 67 74 86 73 78 74 110 110 77 99 67
    68 113 73 50 56 45 56 45 34 50 56 28 34 56 28 84 56 50 56 56 45 39 34 56 50 73 50 50 45 73 67
    73 73 67 62 78 78 39 50 78 67 95 73 78 62 78 73 56 67 73 73 100 73 73 67 50 50 50 50 50 50 50
    50 50 50 25 50 50 56 28 34 34 34 34 34 50 100 25 25 34 34 34 50 101 28 100 57 57 94 84 50 50 57
    57
"""
WIDTHS_EM = {
    False: dict(zip(_GLYPHS, (int(w) / 100 for w in _REGULAR.split()), strict=True)),
    True: dict(zip(_GLYPHS, (int(w) / 100 for w in _BOLD.split()), strict=True)),
}
UNKNOWN_EM = 1.0
_BREAKS = re.compile(r"[ \t\n]+|(?<=[-–—/])")
"""Where a line may break: at a space (not a no-break one), after a hyphen, a dash or a slash."""
_NUMBER_SIGN = re.compile(r"№ (?=\d)")


def printed(line: str) -> str:
    """A line as the document prints it: «№ 27» joined by a no-break space, never split."""
    return _NUMBER_SIGN.sub("№\u00a0", line)


def text_width_cm(text: str, size_pt: float, bold: bool = False) -> float:
    """The printed width of `text` in Times New Roman (no kerning: never narrower than this)."""
    widths = WIDTHS_EM[bold]
    return sum(widths.get(ch, UNKNOWN_EM) for ch in text) * size_pt * 2.54 / 72


def longest_word_cm(lines: Iterable[str], size_pt: float, bold: bool = False) -> float:
    return max(
        (text_width_cm(w, size_pt, bold) for line in lines for w in _BREAKS.split(printed(line)) if w),
        default=0.0,
    )


def fit_widths(
    header: Sequence[str], rows: Sequence[Row], preferred: Sequence[float], total: float = TEXT_WIDTH_CM
) -> list[float]:
    """Column widths summing to `total`: each at least its longest word plus the cell margins,
    the rest shared in proportion to `preferred`."""
    need = [longest_word_cm([h], TABLE_PT, bold=True) + CELL_MARGINS_CM for h in header]
    for row in rows:
        if row.heading:
            continue
        for k, lines in enumerate(row.cells):
            need[k] = max(need[k], longest_word_cm(lines, TABLE_PT, row.bold) + CELL_MARGINS_CM)
    widths = [max(p, n) for p, n in zip(preferred, need, strict=True)]
    excess = sum(widths) - total
    while excess > 1e-6:
        slack = [w - n for w, n in zip(widths, need, strict=True)]
        room = sum(s for s in slack if s > 0)
        if room <= 1e-6:
            break  # even the words alone are wider than the page: keep them whole
        take = min(excess, room)
        widths = [w - take * s / room if s > 0 else w for w, s in zip(widths, slack, strict=True)]
        excess -= take
    return [round(w, 2) for w in widths]


# --- page, styles and table plumbing -----------------------------------------------------


def set_properties(doc: DocxDocument, instance: Instance, plan: Plan, title: str) -> None:
    """Real document properties: the working group as author, the plan's date as created."""
    props = doc.core_properties
    author = document_author(instance)
    stamp = plan_stamp(instance, plan)
    props.title = title
    props.subject = instance.settings.region.name
    props.author = author
    props.last_modified_by = author
    props.created = stamp
    props.modified = stamp
    props.comments = ""
    props.language = "ru-RU"
    props.revision = 1


def page_and_styles(doc: DocxDocument, landscape: bool = False) -> None:
    """A4 (portrait, or landscape with `landscape`), the margins of Russian official papers
    (text 16.5 cm wide; 25.2 cm in landscape), Times New Roman 14 / 12 in tables."""
    for section in doc.sections:
        section.page_width, section.page_height = (Cm(29.7), Cm(21.0)) if landscape else (Cm(21.0), Cm(29.7))
        if landscape:
            section.orientation = WD_ORIENT.LANDSCAPE
        section.left_margin, section.right_margin = Cm(3.0), Cm(1.5)
        section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
        section.footer_distance = Cm(1.0)
    normal = doc.styles["Normal"]
    _set_font(normal, TEXT_PT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    table_style = doc.styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    table_style.style_id = TABLE_STYLE_ID
    table_style.base_style = normal
    _set_font(table_style, TABLE_PT)


def page_numbers(doc: DocxDocument) -> None:
    """The page number, centred in the footer of every page (a PAGE field)."""
    for section in doc.sections:
        p = section.footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p._p.style = TABLE_STYLE_ID
        field_ = OxmlElement("w:fldSimple")
        field_.set(qn("w:instr"), "PAGE")
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "1"
        run.append(text)
        field_.append(run)
        p._p.append(field_)


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


def heading(doc: DocxDocument, text: str) -> None:
    """The heading over a table after the first, kept on the page of the table."""
    p = paragraph(doc, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_before=18, space_after=12)
    p.paragraph_format.keep_with_next = True


def paragraph(
    doc: DocxDocument,
    text: str,
    *,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    space_before: int = 0,
    space_after: int = 0,
):
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
    return p


def write_table(
    doc: DocxDocument,
    header: Sequence[str],
    rows: Sequence[Row],
    preferred: Sequence[float],
    total: float = TEXT_WIDTH_CM,
) -> None:
    """Header row (repeated on every page), then the rows; no row splits across pages, a
    heading row keeps with the next; widths from `fit_widths`, summing to `total`."""
    widths = fit_widths(header, rows, preferred, total)
    table = doc.add_table(rows=1, cols=len(header))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    head = table.rows[0]
    _row_flag(head._tr, "w:tblHeader")
    _row_flag(head._tr, "w:cantSplit")
    for cell, text in zip(head.cells, header, strict=True):
        _cell_lines(cell._tc, [text], bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for row in rows:
        tr = table.add_row()._tr
        _row_flag(tr, "w:cantSplit")
        tcs = tr.tc_lst
        if row.heading:
            tcs[0].grid_span = len(header)  # one cell across the table
            for tc in tcs[1:]:
                tr.remove(tc)
            _cell_lines(tcs[0], row.cells[0], bold=row.bold, align=WD_ALIGN_PARAGRAPH.CENTER,
                        keep_next=row.keep_with_next)
            continue
        for tc, lines in zip(tcs, row.cells, strict=True):
            _cell_lines(tc, lines, bold=row.bold)
    _apply_widths(table, widths)


def _cell_lines(
    tc,
    lines: Sequence[str],
    *,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    keep_next: bool = False,
) -> None:
    """One paragraph per line (python-docx reads them back joined by newlines). Written on the
    XML: python-docx's cell and style lookups made the by-school table take seconds."""
    first = tc.p_lst[0]
    for i, line in enumerate(lines):
        p = first if i == 0 else tc.add_p()
        p.style = TABLE_STYLE_ID
        if keep_next:
            p.get_or_add_pPr().keepNext_val = True
        if align != WD_ALIGN_PARAGRAPH.LEFT:
            p.alignment = align
        r = p.add_r()
        if bold:
            r.get_or_add_rPr().get_or_add_b()
        r.text = printed(line)


def _row_flag(tr, tag: str) -> None:
    """w:tblHeader (Word repeats the row on every page), w:cantSplit (never broken across pages)."""
    tr_pr = tr.get_or_add_trPr()
    if tr_pr.find(qn(tag)) is None:
        flag = OxmlElement(tag)
        flag.set(qn("w:val"), "true")
        tr_pr.append(flag)


def _apply_widths(table, widths_cm: Sequence[float]) -> None:
    """Word takes widths from each cell, LibreOffice from the grid: set both."""
    grid = table._tbl.tblGrid
    for col, width in zip(grid.gridCol_lst, widths_cm, strict=True):
        col.w = Cm(width)
    for tr in table._tbl.tr_lst:
        col = 0
        for tc in tr.tc_lst:  # a merged cell spans several grid columns
            span = tc.grid_span
            tc.width = Cm(sum(widths_cm[col : col + span]))
            col += span
