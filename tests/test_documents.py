"""The appendix (.docx), the workbook (.xlsx) and the report (.html), read back and compared
with the plan they were built from. The plan is hand-built (tests/documents_samples.py), so
every expected row is written out here independently of the code under test."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, time

import docx
import openpyxl
import pytest
from docx.shared import Cm, Pt

from documents_samples import (
    HTML_NAME,
    INJECTION_NAME,
    PLUS_POSITION,
    replanned,
    sample_instance,
    sample_plan,
)
from helpers import run_cli
from planner.cli import main
from planner.exports.documents import document_files
from planner.exports.documents_common import appendix_title, region_genitive
from planner.exports.documents_docx import appendix_docx
from planner.exports.documents_xlsx import plan_xlsx
from planner.exports.plan_io import plan_json_text
from planner.exports.report_html import SECTIONS, report_html

W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    return sample_instance(tmp_path_factory.mktemp("tiny") / "tiny")


@pytest.fixture(scope="module")
def plan():
    return sample_plan()


def when(s) -> str:
    return f"{s.start:%d.%m.%Y}, {s.start:%H:%M}–{s.end:%H:%M}"


def by_start(plan):
    return sorted(plan.sessions, key=lambda s: s.start)


# --- the Word appendix ---------------------------------------------------------------------


def test_appendix_heading_names_region_in_genitive_and_year(instance, plan):
    d = docx.Document(io.BytesIO(appendix_docx(instance, plan)))
    texts = [p.text for p in d.paragraphs]
    assert (
        "График консультаций для школ с низкими образовательными результатами Тестового региона "
        "представителями мобильных групп в 2022 году"
    ) in texts


@pytest.mark.parametrize(
    ("name", "genitive"),
    [
        ("Кемеровская область – Кузбасс", "Кемеровской области – Кузбасса"),
        ("Ростовская область", "Ростовской области"),
        ("Республика Калмыкия", "Республики Калмыкия"),
        ("Краснодарский край", "Краснодарского края"),
    ],
)
def test_region_genitive_of_the_seed_regions(name, genitive):
    assert region_genitive(name) == genitive


def cells(table) -> list[list[str]]:
    """Rows below the header as text (the no-break space of «№ 1» read as a space)."""
    return [[c.text.replace("\u00a0", " ") for c in row.cells] for row in table.rows[1:]]


def test_appendix_graph_table_is_the_plan_by_month(instance, plan):
    """Month heading rows, then the month's verification visits in one row, then one row per
    topic and consultant: topic «…» and its schools, dates with time and place, «Фамилия И. О.,
    должность»; every session once."""
    d = docx.Document(io.BytesIO(appendix_docx(instance, plan)))
    graph = d.tables[0]
    assert [c.text for c in graph.rows[0].cells] == [
        "Тема консультации",
        "Дата и время проведения",
        "Ответственный",
    ]
    s1, s2, s3, s4 = by_start(plan)  # 15.03, 12.04, 20.04, 17.05
    assert cells(graph) == [
        ["Март 2022 года"] * 3,
        [
            "Верификация рискового профиля: визиты кураторов в школы\nшкол: 1, муниципальных образований: 1",
            "15.03.2022\nвыезд в школы",
            "Неверова Н. С., зам. директора «Крапивинская СОШ»",
        ],
        ["Апрель 2022 года"] * 3,
        [
            f"«Рисковый профиль для формирования направлений»\nДля школ:\nМБОУ «СОШ № 1»\n{INJECTION_NAME}\n"
            f"{HTML_NAME}",
            "12.04.2022\n10:00–11:30, ВКС",
            "Неверова Н. С., зам. директора «Крапивинская СОШ»",
        ],
        [
            "Дискуссионная площадка «Модель поддержки»\nДля школы: " + INJECTION_NAME,
            "20.04.2022\n14:00–15:00, выезд: Крапивинский муниципальный округ",
            f"Бикбаева Л. А., {PLUS_POSITION}",
        ],
        ["Май 2022 года"] * 3,
        [
            "«Рисковый профиль для формирования направлений»\nДля школы: МБОУ «СОШ № 1»",
            "17.05.2022\n10:00–11:30, ВКС",
            f"Бикбаева Л. А., {PLUS_POSITION}",
        ],
    ]
    assert when(s2) == "12.04.2022, 10:00–11:30" and when(s3).startswith("20.04.2022") and s4.start.month == 5
    assert s1.topic == "TV"


ALL_SECTIONS = ("graph", "visits", "schools", "roadmap")


def test_appendix_school_section_lists_each_school_with_its_dates(instance, plan):
    d = docx.Document(io.BytesIO(appendix_docx(instance, plan, ("schools",))))
    schools = d.tables[0]
    assert [c.text for c in schools.rows[0].cells] == ["Дата и время", "Тема консультации", "Формат и место"]
    # Schools by municipality name: «Город А» before «Крапивинский …»; a heading row each.
    assert cells(schools) == [
        ["1. МБОУ «СОШ № 1» — Город А"] * 3,
        ["12.04.2022, 10:00–11:30", "«Рисковый профиль для формирования направлений»", "ВКС"],
        ["17.05.2022, 10:00–11:30", "«Рисковый профиль для формирования направлений»", "ВКС"],
        # «<img…» sorts before «=HYPERLINK…» (natural_key: by the characters' order).
        [f"2. {HTML_NAME} — Крапивинский муниципальный округ"] * 3,
        ["15.03.2022, 10:00–12:00", "«Верификация рискового профиля»", "выезд: Крапивинский муниципальный округ"],
        ["12.04.2022, 10:00–11:30", "«Рисковый профиль для формирования направлений»", "ВКС"],
        [f"3. {INJECTION_NAME} — Крапивинский муниципальный округ"] * 3,
        ["12.04.2022, 10:00–11:30", "«Рисковый профиль для формирования направлений»", "ВКС"],
        ["20.04.2022, 14:00–15:00", "Дискуссионная площадка «Модель поддержки»",
         "выезд: Крапивинский муниципальный округ"],
    ]


def test_appendix_roadmap_section_in_the_seed_shape(instance, plan):
    d = docx.Document(io.BytesIO(appendix_docx(instance, plan, ("roadmap",))))
    roadmap = d.tables[0]
    assert [c.text for c in roadmap.rows[0].cells] == [
        "№ п/п", "Описание действий", "Дата реализации", "Исполнители", "Показатель реализации"]
    assert cells(roadmap) == [
        ["Март 2022 года"] * 5,
        ["1.", "Назначение кураторов школ", "01.03.2022", "Министерство образования", "Приказ"],
        [
            "2.",
            "Верификация рисковых профилей",
            "02.03.2022–16.03.2022",
            "КРИПКиПРО, МОУО",
            "Протоколы верификации",
        ],
    ]


def test_appendix_without_roadmap_dates_has_no_roadmap_table(instance):
    d = docx.Document(io.BytesIO(appendix_docx(instance, sample_plan(activities=False), ALL_SECTIONS)))
    assert len(d.tables) == 3
    with_roadmap = docx.Document(io.BytesIO(appendix_docx(instance, sample_plan(), ALL_SECTIONS)))
    assert len(with_roadmap.tables) == 4


def test_appendix_page_fonts_and_repeated_headers(instance, plan):
    d = docx.Document(io.BytesIO(appendix_docx(instance, plan)))
    section = d.sections[0]
    assert abs(section.page_width - Cm(21.0)) < Cm(0.01) and abs(
        section.page_height - Cm(29.7)
    ) < Cm(0.01)
    normal = d.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(14)
    cell_par = d.tables[0].rows[2].cells[0].paragraphs[0]
    assert cell_par.style.font.size == Pt(12) and cell_par.style.font.name == "Times New Roman"
    for table in d.tables:
        first = table.rows[0]._tr
        assert first.trPr is not None and first.trPr.find(f"{W_NS}tblHeader") is not None
        # Only the header repeats; body rows do not.
        assert all(
            r._tr.trPr is None or r._tr.trPr.find(f"{W_NS}tblHeader") is None
            for r in table.rows[1:]
        )


# --- the Excel workbook --------------------------------------------------------------------


def _workbook(instance, plan):
    return openpyxl.load_workbook(io.BytesIO(plan_xlsx(instance, plan)))


def _records(ws):
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_workbook_sheets_headers_frozen_and_filtered(instance, plan):
    wb = _workbook(instance, plan)
    assert wb.sheetnames == ["График", "Школы", "Рисковые профили", "Консультанты", "Непокрытые риски",
                             "Отступления от программы", "Итоги"]
    for name in ("График", "Школы", "Рисковые профили", "Консультанты", "Непокрытые риски",
                 "Отступления от программы"):
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
    graph = wb["График"]
    title_col = next(c.column_letter for c in graph[1] if c.value == "Тема консультации")
    assert graph.column_dimensions[title_col].width > 30


def test_workbook_graph_sheet_has_one_row_per_session_with_real_dates(instance, plan):
    wb = _workbook(instance, plan)
    ws = wb["График"]
    recs = _records(ws)
    for r, s in zip(recs, by_start(plan), strict=True):
        assert r["Дата"] == datetime(s.start.year, s.start.month, s.start.day)
        assert r["Начало"] == time(s.start.hour, s.start.minute)
        assert r["Окончание"] == time(s.end.hour, s.end.minute)
        assert r["Тема консультации"] == instance.topics[s.topic].title
        assert r["Консультант"] == instance.consultants[s.consultant].name
        assert r["Число школ"] == len(s.schools)
        assert r["Школы"] == "; ".join(instance.schools[x].name for x in s.schools)
    date_cell = ws.cell(2, 2)
    assert date_cell.is_date and date_cell.number_format == "DD.MM.YYYY"
    assert ws.cell(2, 3).number_format == "HH:MM"
    assert [r["Дата"].month for r in recs] == [3, 4, 4, 5]
    assert recs[0]["Формат"] == "выездная"
    assert recs[1]["Формат"] == "онлайн (ВКС)"


def test_workbook_schools_sheet_has_one_row_per_school_and_session(instance, plan):
    recs = _records(_workbook(instance, plan)["Школы"])
    assert sorted((r["Код школы"], r["Дата"].date(), r["Код темы"]) for r in recs) == sorted(
        (school, s.start.date(), s.topic) for s in plan.sessions for school in s.schools
    )
    s1_rows = [r for r in recs if r["Код школы"] == "S1"]
    assert [r["Дата"].date() for r in s1_rows] == [date(2022, 4, 12), date(2022, 5, 17)]
    assert {r["Школа"] for r in recs if r["Код школы"] == "S2"} == {INJECTION_NAME}


def test_workbook_consultant_load_per_month(instance, plan):
    recs = {r["Код"]: r for r in _records(_workbook(instance, plan)["Консультанты"])}
    assert (
        recs["C1"]["Март 2022"] == 1
        and recs["C1"]["Апрель 2022"] == 1
        and recs["C1"]["Май 2022"] == 0
    )
    assert recs["C2"]["Апрель 2022"] == 1 and recs["C2"]["Май 2022"] == 1
    assert recs["C1"]["Всего"] == 2 and recs["C1"]["Не больше в месяц"] == 2
    assert (
        recs["C2"]["Не больше за период"] == 10
        and recs["C1"]["Не больше за период"] == "не ограничено"
    )


def test_workbook_unmet_and_totals(instance, plan):
    wb = _workbook(instance, plan)
    unmet = _records(wb["Непокрытые риски"])
    assert unmet == [
        {
            "Код школы": "S2",
            "Школа": INJECTION_NAME,
            "Муниципальное образование": "Крапивинский муниципальный округ",
            "Приоритет": 2,
            "Код риска": "R05",
            "Риск": "Несформированность внутришкольной системы повышения квалификации",
            "Причина": "ни одна тема не закрывает этот риск",
            "Код причины": "no_topic",
        }
    ]
    totals = {r[0]: r[1] for r in wb["Итоги"].iter_rows(values_only=True) if r[0]}
    # Needs: S1 R03; S2 R01, R05; S3 R10 + verification = 5; all but S2/R05 met.
    assert totals["Потребностей всего (риски школ и верификации)"] == 5
    assert totals["Потребностей закрыто"] == 4
    assert totals["Консультаций"] == 4
    assert totals["Непокрытых потребностей"] == 1
    assert totals["План"].startswith("оптимальный")


def test_workbook_never_writes_a_formula(instance, plan):
    """A school named =HYPERLINK(…) and a position starting with «+» stay text (CSV/Excel injection)."""
    data = plan_xlsx(instance, plan)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value == INJECTION_NAME]
    assert len(cells) >= 3  # «График», «Школы», «Непокрытые риски»
    assert all(c.data_type == "s" for c in cells)
    plus = [c for ws in wb for row in ws.iter_rows() for c in row if c.value == PLUS_POSITION]
    assert plus and all(c.data_type == "s" for c in plus)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert "<f>" not in z.read(name).decode("utf-8") and "<f " not in z.read(name).decode(
                "utf-8"
            )
        styles = z.read("xl/styles.xml").decode("utf-8")
        assert 'quotePrefix="1"' in styles


def test_workbook_changes_sheet_only_for_a_replan(instance, plan):
    """«Изменения»: «Было»/«Стало» real dates and times, the consultant before and after, the
    format and place, the schools one a line each with its municipality, no internal ids."""
    assert "Изменения" not in _workbook(instance, plan).sheetnames
    ws = _workbook(instance, replanned(plan))["Изменения"]
    recs = _records(ws)
    # The cancelled session is both in meta["changes"] and in plan.cancelled: listed once.
    assert [r["Изменение"] for r in recs] == ["перенесена", "добавлена", "отменена"]
    moved, added, cancelled = recs
    assert moved["Было: дата и время"] == datetime(2022, 5, 10, 10, 0)
    assert moved["Стало: дата и время"] == datetime(2022, 5, 17, 10, 0)
    assert ws.cell(2, 3).is_date and ws.cell(2, 3).number_format == "DD.MM.YYYY HH:MM"
    assert (moved["Консультант был"], moved["Консультант стал"]) == ("Неверова Н. С.", "Бикбаева Л. А.")
    assert moved["Тема"] == "«Рисковый профиль для формирования направлений»"
    assert moved["Формат и место"] == "ВКС"
    # One line per municipality, the municipality once: «<МО>: <школа>; <школа>»; «−» dropped.
    assert moved["Школы (муниципальное образование)"].split("\n") == [
        "Город А: МБОУ «СОШ № 1»",
        f"− Крапивинский муниципальный округ: {HTML_NAME}",
    ]
    assert moved["Подробности"] == "why: консультант недоступен"
    assert added["Было: дата и время"] is None and added["Стало: дата и время"] == datetime(2022, 4, 20, 14, 0)
    assert added["Формат и место"] == "выезд, Крапивинский муниципальный округ"
    assert cancelled["Было: дата и время"] == datetime(2022, 5, 25, 10, 0)
    assert cancelled["Стало: дата и время"] is None
    assert cancelled["Школы (муниципальное образование)"] == f"Крапивинский муниципальный округ: {INJECTION_NAME}"
    assert cancelled["Формат и место"] == "выезд, Крапивинский муниципальный округ"
    assert ws.cell(2, 8).alignment.wrap_text
    # No internal session id anywhere in the workbook.
    wb = _workbook(instance, replanned(plan))
    ids = {s.id for s in plan.sessions} | {"s-9"}
    assert not [c.value for sheet in wb for row in sheet.iter_rows() for c in row if c.value in ids]


# --- the HTML report (structure; the browser test opens it) ----------------------------------


def test_report_is_self_contained_and_has_every_section(instance, plan):
    page = report_html(instance, plan).decode("utf-8")
    ids = re.findall(r'<section id="([a-z-]+)">', page)
    assert ids == ["summary", "timeline", "schools", "coverage", "load", "travel", "unmet", "programme"]
    for sid in ids:
        assert f"<h2>{SECTIONS[sid]}</h2>" in page
    assert "<script src=" not in page and "<link " not in page  # nothing to fetch
    assert "plotly.js v" in page  # the library itself is inside
    assert 'lang="ru"' in page


def test_report_escapes_instance_texts(instance, plan):
    page = report_html(instance, plan).decode("utf-8")
    assert '<img src=x onerror="window.__pwned=1">' not in page
    assert "&lt;img src=x" in page  # the unmet table names S2; the heatmap labels S3


def test_report_unmet_table_lists_each_unmet_need(instance, plan):
    page = report_html(instance, plan).decode("utf-8")
    table = re.search(r'<table class="data" id="unmet-table">(.*?)</table>', page, re.DOTALL).group(
        1
    )
    assert table.count("<tr>") == 1 + len(plan.unmet)
    assert "ни одна тема не закрывает этот риск" in table
    coverage = re.search(
        r'<table class="data" id="coverage-table">(.*?)</table>', page, re.DOTALL
    ).group(1)
    # R05 is needed by one school and met by none.
    assert re.search(
        r"<td>R05</td><td>[^<]+</td><td class=\"num\">1</td><td class=\"num\">0</td>", coverage
    )


def test_report_changes_section_only_for_a_replan(instance, plan):
    assert 'id="changes"' not in report_html(instance, plan).decode("utf-8")
    page = report_html(instance, replanned(plan)).decode("utf-8")
    table = re.search(
        r'<table class="data" id="changes-table">(.*?)</table>', page, re.DOTALL
    ).group(1)
    assert table.count("<tr>") == 1 + 3
    assert "перенесена" in table and "добавлена" in table and "отменена" in table
    assert "10.05.2022, 10:00" in table and "Бикбаева Л. А. (вместо Неверова Н. С.)" in table


def test_report_says_so_when_a_replan_changed_nothing(instance, plan):
    from dataclasses import replace

    page = report_html(instance, replace(plan, meta={"changes": []})).decode("utf-8")
    assert '<section id="changes">' in page
    assert "Изменений нет: опубликованный график остаётся в силе." in page


def test_an_empty_plan_still_gives_all_three_documents(instance):
    """A solve that found nothing (INFEASIBLE) is still a plan people must be able to read."""
    from models.domain import Plan, Unmet

    empty = Plan("tiny", "INFEASIBLE", None, None, 1.0, [], [Unmet("S1", "R03", "нет решения")])
    files = document_files(instance, empty)
    d = docx.Document(io.BytesIO(files["appendix.docx"]))
    assert [c.text for c in d.tables[0].rows[1].cells] == ["Консультаций в плане нет"] * 3
    wb = openpyxl.load_workbook(io.BytesIO(files["plan.xlsx"]))
    assert [c.value for c in wb["График"][2]][:1] == ["нет"] and wb["Непокрытые риски"].max_row == 2
    page = files["report.html"].decode("utf-8")
    assert "Консультаций в плане нет." in page and "решения нет" in page


# --- the commands --------------------------------------------------------------------------


def test_document_files_are_the_three_documents(instance, plan):
    files = document_files(instance, plan)
    assert sorted(files) == ["appendix.docx", "plan.xlsx", "report.html"]
    assert files["appendix.docx"][:2] == b"PK" and files["plan.xlsx"][:2] == b"PK"
    assert files["report.html"].startswith(b"<!DOCTYPE html>")


def test_outputs_built_in_forked_processes_equal_those_built_in_turn(instance, plan, monkeypatch):
    """output_files builds the three documents in forked processes; where it cannot fork it
    builds them here. Both give the same files: byte for byte, and for the Word and Excel
    zips every part but the zip's timestamps and the creation time in docProps/core.xml."""
    import planner.workflows.solving as pipeline

    forked = pipeline.output_files(instance, plan)
    monkeypatch.setattr(pipeline, "_fork_pool", lambda workers: None)
    in_turn = pipeline.output_files(instance, plan)
    assert sorted(forked) == sorted(in_turn)
    assert {"appendix.docx", "plan.xlsx", "report.html", "plan.json", "calendars/all.ics"} <= set(forked)
    zips = ("appendix.docx", "plan.xlsx")
    assert {k: v for k, v in forked.items() if k not in zips} == {k: v for k, v in in_turn.items() if k not in zips}

    def parts(data: bytes) -> dict[str, bytes]:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}

    for name in zips:
        assert parts(forked[name]) == parts(in_turn[name]), name
    assert docx.Document(io.BytesIO(forked["appendix.docx"])).tables


def test_export_commands_write_beside_the_plan_and_into_out(tmp_path, plan, capsys):
    folder = tmp_path / "inst"
    instance = sample_instance(folder)
    plan_path = tmp_path / "run" / "plan.json"
    plan_path.parent.mkdir()
    plan_path.write_text(plan_json_text(plan), encoding="utf-8")

    assert main(["export", "docx", str(plan_path), "--instance", str(folder)]) == 0
    assert main(["export", "xlsx", str(plan_path), "--instance", str(folder)]) == 0
    assert (
        main(["report", str(plan_path), "--instance", str(folder), "--out", str(tmp_path / "rep")])
        == 0
    )
    assert "Записано" in capsys.readouterr().out
    d = docx.Document(plan_path.parent / "appendix.docx")
    assert appendix_title(instance, plan) in [p.text for p in d.paragraphs]
    wb = openpyxl.load_workbook(plan_path.parent / "plan.xlsx")
    assert wb["График"].max_row == 1 + len(plan.sessions)  # one row per session
    assert (tmp_path / "rep" / "report.html").read_bytes().startswith(b"<!DOCTYPE html>")
    assert not (plan_path.parent / "report.html").exists()


def test_export_of_a_plan_from_another_instance_is_a_russian_input_error(tmp_path, plan):
    folder = tmp_path / "inst"
    sample_instance(folder)
    other = replace_topic(plan, "T99")
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(plan_json_text(other), encoding="utf-8")
    result = run_cli("export", "docx", str(plan_path), "--instance", str(folder))
    assert result.returncode == 2, result.stderr
    assert "в экземпляре нет такой темы" in result.stderr and "T99" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "appendix.docx").exists()


def replace_topic(plan, topic):
    from dataclasses import replace

    return replace(
        plan, sessions=[replace(s, topic=topic) if s.id == "s-1" else s for s in plan.sessions]
    )


def test_school_names_sort_with_numbers_as_numbers():
    from planner.exports.documents_common import natural_key

    names = ["МБОУ «СОШ № 10»", "МБОУ «СОШ № 2»", "мбоу «сош № 1»", "МБОУ «ООШ № 3»"]
    # Case-insensitive; «ООШ» before «СОШ»; 1 < 2 < 10 (as strings «10» came before «2»).
    assert sorted(names, key=natural_key) == ["МБОУ «ООШ № 3»", "мбоу «сош № 1»", "МБОУ «СОШ № 2»", "МБОУ «СОШ № 10»"]


# --- the workbook prints, and reads in the working group's words (issue 15, items 9-10) -------


def test_every_sheet_prints_landscape_fit_to_width_with_its_header_repeated(instance, plan):
    wb = _workbook(instance, replanned(plan))
    assert "Изменения" in wb.sheetnames
    for ws in wb:
        setup = ws.page_setup
        assert setup.orientation == "landscape", ws.title
        assert int(setup.paperSize) == 9, ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert int(setup.fitToWidth) == 1 and int(setup.fitToHeight) == 0, ws.title  # as many pages down as needed
        assert ws.print_title_rows == "$1:$1", ws.title
    # A wrapped row is as tall as its lines (a spreadsheet program does not grow it when it
    # opens the file, and the printed row would hide the rest).
    changes = wb["Изменения"]
    moved = next(r for r in range(2, changes.max_row + 1) if changes.cell(r, 1).value == "перенесена")
    assert changes.row_dimensions[moved].height >= 15 * 2
    # «График» prints to «Число школ»: the long list of schools is for the screen.
    graph = wb["График"]
    last = [c.value for c in graph[1]].index("Число школ") + 1
    assert graph.print_area == f"'График'!$A$1:${graph.cell(1, last).column_letter}${graph.max_row}"


def test_workbook_months_are_dates_risks_have_titles_totals_in_words(instance, plan):
    wb = _workbook(instance, plan)
    graph = wb["График"]
    month = graph.cell(2, 1)
    assert month.is_date and month.value == datetime(2022, 3, 1) and "MMMM" in month.number_format
    # Risk codes with their titles: the school's risks the session's topic addresses, and the profiles.
    schools = _records(wb["Школы"])
    s1 = next(r for r in schools if r["Код школы"] == "S1")
    assert s1["Риски школы, которые закрывает тема"] == "R03 " + instance.risks["R03"].title
    profiles = {r["Код школы"]: r for r in _records(wb["Рисковые профили"])}
    assert profiles["S2"]["Рисковый профиль"].split("\n") == [
        "R01 " + instance.risks["R01"].title, "R05 " + instance.risks["R05"].title]
    assert (profiles["S1"]["Консультаций за период"], profiles["S1"]["Из них по своим рискам"]) == (2, 2)
    # «Итоги»: no solver's objective beside another total; the programme's measures in words.
    totals = {r[0]: r[1] for r in wb["Итоги"].iter_rows(values_only=True) if r[0]}
    assert not [k for k in totals if "целев" in k.lower() or "штраф" in k.lower() or "Граница" in k]
    assert totals["Темы программы: проведено из тех, что нужны школам"] == "3 из 3"
    assert totals["Консультаций в месяц, кроме верификации (открытые месяцы)"] == "от 0 до 2"
    assert totals["Больше всего выездов одного консультанта в месяц"] == 1


def test_an_empty_sheet_says_no(instance, plan):
    from dataclasses import replace

    wb = _workbook(instance, replace(plan, unmet=[]))
    for name in ("Непокрытые риски", "Отступления от программы"):
        assert wb[name].max_row == 2 and wb[name].cell(2, 1).value == "нет", name


def test_programme_exceptions_are_listed_with_their_reasons(instance, plan):
    """Topics not held and support gaps, like unmet needs: in the workbook and the report."""
    from dataclasses import replace

    from models.domain import SupportGap, UnheldTopic

    odd = replace(plan, unheld_topics=[UnheldTopic("T2", "консультант недоступен во все месяцы темы",
                                                   "consultant_unavailable")],
                  support_gaps=[SupportGap("S1", "gap", ("2022-05", "2022-06"), "школа заполнена", "schools_full")])
    recs = _records(_workbook(instance, odd)["Отступления от программы"])
    assert recs == [
        {"Отступление": "тема не проведена", "Тема или школа": "Дискуссионная площадка «Модель поддержки»",
         "Муниципальное образование": None, "Месяцы": None,
         "Причина": "консультант недоступен во все месяцы темы", "Код причины": "consultant_unavailable"},
        {"Отступление": "перерыв в консультациях", "Тема или школа": "МБОУ «СОШ № 1»",
         "Муниципальное образование": "Город А", "Месяцы": "май 2022, июнь 2022",
         "Причина": "школа заполнена", "Код причины": "schools_full"},
    ]
    page = report_html(instance, odd).decode("utf-8")
    table = re.search(r'<table class="data" id="programme-table">(.*?)</table>', page, re.DOTALL).group(1)
    assert table.count("<tr>") == 1 + 2 and "консультант недоступен во все месяцы темы" in table
    assert 'id="programme-none"' in report_html(instance, plan).decode("utf-8")


# --- the report: school labels, a replan's report (issue 15, items 13-14) ----------------------


def test_report_names_the_municipality_once_per_school(tmp_path):
    """Two schools share a name: the label carries the municipality once, never «…, М — М»."""
    from dataclasses import replace

    inst = sample_instance(tmp_path / "same")
    schools = {**inst.schools, "S3": replace(inst.schools["S3"], name="МБОУ «СОШ № 1»")}
    inst = replace(inst, schools=schools)
    page = report_html(inst, sample_plan()).decode("utf-8")
    assert "Город А — Город А" not in page and "округ — Крапивинский" not in page
    assert "МБОУ «СОШ № 1», Крапивинский муниципальный округ, Крапивинский" not in page
    import json as _json

    data = _json.loads(re.search(r'Plotly.newPlot\(\s*"fig-schools",\s*(\[.*?\]),\s*\{', page, re.DOTALL).group(1))
    labels = data[0]["y"]
    assert labels == ["МБОУ «СОШ № 1», Город А", INJECTION_NAME,
                      "МБОУ «СОШ № 1», Крапивинский муниципальный округ"]
    assert all(label.count("Город А") + label.count("Крапивинский") <= 1 for label in labels)


def test_a_replans_report_names_scenario_freeze_and_sets_figures_against_the_baseline(instance, plan):
    from dataclasses import replace

    base = replanned(plan)
    meta = {**base.meta, "replan": {"scenario": "Неверова Н. С. недоступна с мая", "freeze_before": "2022-05-01"},
            "baseline_figures": {"sessions": "5", "unmet": "1", "travel": "128"}}
    page = report_html(instance, replace(base, meta=meta)).decode("utf-8")
    line = re.search(r'<p class="replan" id="replan-scenario">(.*?)</p>', page, re.DOTALL).group(1)
    assert "«Неверова Н. С. недоступна с мая»" in line and "01.05.2022" in line
    sessions = re.search(r'id="figure-sessions">(.*?)</div></div>', page, re.DOTALL).group(1)
    assert '<div class="value">4</div>' in sessions and "было: 5" in sessions
    unmet = re.search(r'id="figure-unmet">(.*?)</div></div>', page, re.DOTALL).group(1)
    assert "как было" in unmet
    table = re.search(r'<table class="data" id="changes-table">(.*?)</table>', page, re.DOTALL).group(1)
    for sid in ("s-4", "s-3", "s-9"):
        assert sid not in table  # no internal ids
    assert "и ещё" not in page
    assert "Город А: МБОУ «СОШ № 1»" in table and "Крапивинский муниципальный округ: " in table
