"""The appendix is what goes into the order (issue: «an appendix fit for an order»).

Read back with python-docx and checked against what a printed order needs: the heading names the
approving order; the graph alone by default, the other sections on request; page numbers; month
rows kept with the next row; no row split across pages; no word broken in a narrow column
(measured with Times New Roman's own letter widths, tests/font_metrics.py); the roadmap grouped,
dated in order, its indicator never blank; real document properties.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import docx
import pytest

from documents_samples import ROADMAP, at, sample_instance, sample_plan
from font_metrics import BOLD, REGULAR
from helpers import KUZBASS, run_cli
from models.domain import ActivityDates, Format, Plan, Session, Stage
from planner.exports.documents_docx import appendix_docx
from planner.exports.plan_io import plan_json_text
from planner.inputs.validation import load_instance

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ALL_SECTIONS = ("graph", "visits", "schools", "roadmap")
ORDER_TOML = """
[documents]
order_number = "3872"
order_date = 2021-12-30
approved_by = "Министерства образования Тестового региона"
"""
CREATED = "2022-02-20T09:30:00+07:00"


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    return sample_instance(tmp_path_factory.mktemp("tiny") / "tiny", toml_extra=ORDER_TOML)


def read(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def text(cell_or_par) -> str:
    return cell_or_par.text.replace("\u00a0", " ")


# --- the heading, the sections, the page --------------------------------------------------


def test_heading_names_the_approving_order(instance, tmp_path):
    d = read(appendix_docx(instance, sample_plan()))
    top = text(d.paragraphs[0]).split("\n")
    assert top == [
        "Приложение",
        "к Дорожной карте (плану мероприятий),",
        "утверждённой приказом",
        "Министерства образования Тестового региона",
        "от 30.12.2021 № 3872",
    ]
    assert d.paragraphs[0].alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT
    # Without [documents]: blanks to fill in by hand, never a made-up number.
    plain = sample_instance(tmp_path / "plain")
    lines = text(read(appendix_docx(plain, sample_plan())).paragraphs[0]).split("\n")
    assert lines[-1] == "от «___» __________ 20___ г. № ______"
    assert "Министерства" not in " ".join(lines)


def test_the_appendix_is_the_graph_alone_and_sections_come_on_request(instance, tmp_path):
    plan = sample_plan()
    d = read(appendix_docx(instance, plan))
    assert len(d.tables) == 1
    assert [text(c) for c in d.tables[0].rows[0].cells] == ["Тема консультации", "Дата и время проведения",
                                                            "Ответственный"]
    # The command: --sections chooses; an unknown section is a Russian error, exit 2.
    folder = tmp_path / "inst"
    sample_instance(folder, toml_extra=ORDER_TOML)
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(plan_json_text(plan), encoding="utf-8")
    r = run_cli("export", "docx", str(plan_path), "--instance", str(folder), "--sections",
                "graph,visits,schools,roadmap")
    assert r.returncode == 0, r.stderr
    full = docx.Document(tmp_path / "appendix.docx")
    assert [text(t.rows[0].cells[0]) for t in full.tables] == ["Тема консультации", "№ п/п", "Дата и время",
                                                             "№ п/п"]
    headings = [text(p) for p in full.paragraphs if p.runs and p.runs[0].bold]
    assert "Консультации по школам" in headings and "Мероприятия дорожной карты (план мероприятий)" in headings
    r = run_cli("export", "docx", str(plan_path), "--instance", str(folder), "--sections", "graph,школы")
    assert r.returncode == 2 and "--sections" in r.stderr and "Traceback" not in r.stderr


def test_page_numbers_in_the_footer(instance):
    d = read(appendix_docx(instance, sample_plan()))
    footer = d.sections[0].footer._element
    simple = [f.get(f"{W}instr") for f in footer.iter(f"{W}fldSimple")]
    codes = [t.text for t in footer.iter(f"{W}instrText")]
    assert any(c and c.strip().split()[0] == "PAGE" for c in simple + codes)
    assert not d.sections[0].footer.is_linked_to_previous


def _rows(table):
    return table._tbl.tr_lst


def _flag(tr, tag: str) -> bool:
    return tr.trPr is not None and tr.trPr.find(f"{W}{tag}") is not None


def _is_month_row(tr) -> bool:
    cells = tr.tc_lst
    return len(cells) == 1 and re.fullmatch(r"[А-Я][а-я]+ \d{4} года",
                                            "".join(t.text or "" for t in cells[0].iter(f"{W}t"))) is not None


def test_rows_never_split_and_month_rows_keep_with_the_next(instance):
    d = read(appendix_docx(instance, sample_plan(), ALL_SECTIONS))
    months = 0
    for table in d.tables:
        rows = _rows(table)
        assert _flag(rows[0], "tblHeader") and not any(_flag(tr, "tblHeader") for tr in rows[1:])
        assert all(_flag(tr, "cantSplit") for tr in rows), "a row may break across pages"
        for tr in rows:
            if _is_month_row(tr):
                months += 1
                pars = tr.tc_lst[0].p_lst
                assert all(p.pPr is not None and p.pPr.find(f"{W}keepNext") is not None for p in pars)
    assert months >= 3 + 1 + 1  # the graph's March–May, the visits' March, the roadmap's March


# --- the graph: the programme by month ------------------------------------------------------


def test_a_months_verification_visits_are_one_row(instance):
    """Three visits in March (two municipalities) are one row that counts them, not three
    identical rows; the month's topics follow, one row per topic and consultant."""
    day = date(2022, 3, 1)
    visits = [
        Session(f"v{i}", "TV", "C1", at(day + timedelta(days=k), 10), at(day + timedelta(days=k), 12),
                Format.ONSITE, mun, (school,))
        for i, (k, school, mun) in enumerate([(0, "S1", "M1"), (7, "S2", "M2"), (14, "S3", "M2")])
    ]
    t1 = [Session(f"t{k}", "T1", "C2", at(day + timedelta(days=k), 14), at(day + timedelta(days=k), 15, 30),
                  Format.ONLINE, None, schools) for k, schools in ((20, ("S1", "S2")), (22, ("S3",)))]
    plan = Plan("tiny", "OPTIMAL", 0.0, 0.0, 0.1, visits + t1, [])
    graph = read(appendix_docx(instance, plan)).tables[0]
    got = [[text(c) for c in row.cells] for row in graph.rows[1:]]
    assert got[0] == ["Март 2022 года"] * 3
    assert got[1] == [
        "Верификация рискового профиля: визиты кураторов в школы\nшкол: 3, муниципальных образований: 2",
        "01.03–15.03.2022\nвыезд в школы",
        "Неверова Н. С., зам. директора «Крапивинская СОШ»",
    ]
    assert got[2][0].split("\n") == ["«Рисковый профиль для формирования направлений»", "Для школ:",
                                     "МБОУ «СОШ № 1»", '=HYPERLINK("http://x","y")',
                                     '<img src=x onerror="window.__pwned=1"> «ООШ № 7»']
    assert got[2][1].split("\n") == ["21.03.2022", "14:00–15:30, ВКС", "23.03.2022", "14:00–15:30, ВКС"]
    assert len(got) == 3


# --- narrow columns: no word broken in the middle ---------------------------------------------

CELL_MARGINS_CM = 2 * 0.19  # Word's and LibreOffice's default left + right cell margins
BREAK = re.compile(r"[ \t\n]+|(?<=[-–—/])")  # where a line may break (a no-break space may not)


def word_cm(word: str, size_pt: float, bold: bool) -> float:
    table = BOLD if bold else REGULAR
    return sum(table.get(ch, 1000) for ch in word) / 1000 * size_pt * 2.54 / 72


@pytest.fixture(scope="module")
def kuzbass_everything():
    """Kuzbass's real names (consultants' positions, municipalities, the roadmap's executors
    and indicators) in a hand-built plan: a session of every consultant, visits, every activity."""
    instance, _warnings = load_instance(KUZBASS)
    sessions = []
    day = date(2022, 3, 9)
    for k, (cid, c) in enumerate(instance.consultants.items()):
        topic = instance.topics[next(t for t in c.topics if instance.topics[t].stage != Stage.VERIFICATION)]
        when = day + timedelta(days=k)
        if topic.format == "onsite":
            mun = c.municipality
            schools = tuple(s.id for s in instance.schools.values() if s.municipality == mun)[:3] or \
                (next(iter(instance.schools)),)
            mun = instance.schools[schools[0]].municipality
            sessions.append(Session(f"s{k}", topic.id, cid, at(when, 10), at(when, 13), Format.ONSITE, mun, schools))
        else:
            schools = tuple(list(instance.schools)[k : k + 2 + k % 5])
            sessions.append(Session(f"s{k}", topic.id, cid, at(when, 10), at(when, 11, 30), Format.ONLINE, None,
                                    schools))
    for k, school in enumerate(list(instance.schools.values())[:8]):
        cid = school.curator or "C01"
        sessions.append(Session(f"v{k}", "TV", cid, at(day, 10), at(day, 13), Format.ONSITE, school.municipality,
                                (school.id,)))
    first = date(2022, 1, 10)
    activities = [ActivityDates(aid, first + timedelta(days=3 * k), first + timedelta(days=3 * k + 2), 0, False)
                  for k, aid in enumerate(instance.activities)]
    return instance, Plan("kuzbass-2022", "OPTIMAL", 0.0, 0.0, 0.1, sessions, [], activities)


def test_no_word_is_wider_than_its_column(kuzbass_everything):
    """Every word of every cell (at its font size, bold where bold) fits its column less the
    cell margins, so neither Word nor LibreOffice breaks it («Общеобразоват|ельные»)."""
    instance, plan = kuzbass_everything
    d = read(appendix_docx(instance, plan, ALL_SECTIONS))
    assert len(d.tables) == 4
    too_wide = []
    for table in d.tables:
        for row in table.rows:
            for tc in row._tr.tc_lst:
                width_cm = tc.width.cm
                for p in tc.p_lst:
                    for r in p.r_lst:
                        bold = r.rPr is not None and r.rPr.find(f"{W}b") is not None and \
                            r.rPr.find(f"{W}b").get(f"{W}val") not in ("0", "false")
                        for word in BREAK.split(r.text or ""):
                            if word and word_cm(word, 12, bold) > width_cm - CELL_MARGINS_CM:
                                too_wide.append((word, round(word_cm(word, 12, bold), 2), round(width_cm, 2)))
    assert too_wide == []
    # The columns still fill the text width (16.5 cm: A4 less 3 cm and 1.5 cm margins).
    for table in d.tables:
        widths = [tc.width.cm for tc in table.rows[1]._tr.tc_lst] if len(table.rows[1]._tr.tc_lst) > 1 else \
            [tc.width.cm for tc in table.rows[0]._tr.tc_lst]
        assert sum(widths) == pytest.approx(16.5, abs=0.05)


# --- the roadmap -------------------------------------------------------------------------------

ROADMAP_MIXED = [
    *ROADMAP,
    # Out of the file's order by date, a repeat of the same activity, and no indicator.
    {**ROADMAP[1], "id": "A03", "after": "", "fixed": "2022-05-20", "duration_days": "0"},
    {"id": "A04", "title": "Семинар для кураторов", "responsible": "КРИПКиПРО", "indicator": "",
     "earliest": "", "latest": "", "duration_days": "0", "after": "", "fixed": "2022-04-05"},
]


def test_roadmap_grouped_in_date_order_with_the_indicator_marked(tmp_path):
    instance = sample_instance(tmp_path / "rm", roadmap=ROADMAP_MIXED)
    plan = sample_plan(activities=False)
    plan.activities = [
        ActivityDates("A04", date(2022, 4, 5), date(2022, 4, 5), 0, False),
        ActivityDates("A03", date(2022, 5, 20), date(2022, 5, 20), 0, False),
        ActivityDates("A02", date(2022, 3, 2), date(2022, 3, 16), 0, True),
        ActivityDates("A01", date(2022, 3, 1), date(2022, 3, 1), 0, True),
    ]
    d = read(appendix_docx(instance, plan, ("roadmap",)))
    assert len(d.tables) == 1
    got = [[text(c) for c in row.cells] for row in d.tables[0].rows[1:]]
    assert got == [
        ["Март 2022 года"] * 5,
        ["1.", "Назначение кураторов школ", "01.03.2022", "Министерство образования", "Приказ"],
        # A02 and its repeat A03: one item with both dates.
        ["2.", "Верификация рисковых профилей", "02.03.2022–16.03.2022\n20.05.2022", "КРИПКиПРО, МОУО",
         "Протоколы верификации"],
        ["Апрель 2022 года"] * 5,
        ["3.", "Семинар для кураторов", "05.04.2022", "КРИПКиПРО", "не указан"],
    ]


# --- properties --------------------------------------------------------------------------------


def test_document_properties_name_the_working_group_and_the_plans_date(instance, tmp_path):
    plan = sample_plan()
    plan.meta["created"] = CREATED
    props = read(appendix_docx(instance, plan)).core_properties
    assert props.author == "Региональная рабочая группа Тестового региона"
    assert props.last_modified_by == props.author
    created = props.created if props.created.tzinfo else props.created.replace(tzinfo=UTC)
    assert created == datetime.fromisoformat(CREATED)
    assert "python-docx" not in (props.comments + props.author + props.last_modified_by)
    assert props.title.startswith("График консультаций")
    # `[documents] author` names someone else.
    other = sample_instance(tmp_path / "author", toml_extra='\n[documents]\nauthor = "Рабочая группа «500+»"\n')
    assert read(appendix_docx(other, plan)).core_properties.author == "Рабочая группа «500+»"


def test_kuzbass_instance_names_its_order():
    instance, _warnings = load_instance(KUZBASS)
    d = read(appendix_docx(instance, Plan("kuzbass-2022", "OPTIMAL", 0.0, 0.0, 0.1, [], [])))
    assert text(d.paragraphs[0]).split("\n")[-2:] == ["Министерства образования Кузбасса", "от 30.12.2021 № 3872"]
