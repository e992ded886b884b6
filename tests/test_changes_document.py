"""The change report as a document a coordinator can send (changes.docx, issue 15 item 15).

Read back with python-docx: each changed session with its format and place («ВКС» or «выезд,
<МО>»), its schools grouped under their own municipality, no internal id; the key figures
before and after; the two options of a replan side by side when the replan recorded them. And
`planner replan` writes it beside changes.md.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace

import docx
import pytest

from documents_samples import HTML_NAME, INJECTION_NAME, replanned, sample_instance, sample_plan
from helpers import run_cli
from models.solve import SolveOptions, solve_consultations
from planner.exports.changes_docx import CHANGES_HEADER, changes_docx
from planner.exports.plan_io import plan_json_text, read_plan
from planner.exports.report_html import report_html

SCENARIO = "Неверова Н. С. недоступна с мая"


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    return sample_instance(tmp_path_factory.mktemp("tiny") / "tiny")


def replan_of(plan):
    base = replanned(plan)
    meta = {**base.meta, "replan": {"scenario": SCENARIO, "freeze_before": "2022-05-01", "history_sessions": 3,
                                    "kept": 0, "moved": 1, "cancelled": 1, "added": 1}}
    return replace(base, meta=meta)


def texts(table) -> list[list[str]]:
    return [[c.text.replace("\u00a0", " ") for c in row.cells] for row in table.rows]


def test_changes_document_gives_format_place_and_schools_by_municipality(instance):
    baseline = sample_plan()
    d = docx.Document(io.BytesIO(changes_docx(instance, baseline, replan_of(baseline))))
    paragraphs = [p.text for p in d.paragraphs]
    assert paragraphs[0] == f"Изменения графика консультаций: {SCENARIO}"
    assert any("Консультации до 01.05.2022 — история" in p for p in paragraphs)
    section = d.sections[0]
    assert section.page_width > section.page_height  # landscape: seven columns
    changes = next(t for t in d.tables if tuple(c.text for c in t.rows[0].cells) == CHANGES_HEADER)
    rows = {r[0]: r for r in texts(changes)[1:]}
    assert set(rows) == {"перенесена", "добавлена", "отменена"}
    moved, added, cancelled = rows["перенесена"], rows["добавлена"], rows["отменена"]
    assert moved[1:6] == ["«Рисковый профиль для формирования направлений»", "10.05.2022, 10:00",
                          "17.05.2022, 10:00", "Бикбаева Л. А.\n(вместо Неверова Н. С.)", "ВКС"]
    # Each municipality once, its schools after it: no school left to guess whose town follows.
    assert moved[6].split("\n") == ["Город А: МБОУ «СОШ № 1»", f"− Крапивинский муниципальный округ: {HTML_NAME}"]
    assert added[5] == "выезд, Крапивинский муниципальный округ"
    assert added[6] == f"Крапивинский муниципальный округ: {INJECTION_NAME}"
    assert cancelled[2:6] == ["25.05.2022, 10:00", "—", "Неверова Н. С.", "выезд, Крапивинский муниципальный округ"]
    everything = "\n".join(paragraphs + [c for t in d.tables for r in texts(t) for c in r])
    assert not re.search(r"\bs-\d\b", everything)  # no internal session id
    # Key figures, before and after.
    figures = next(t for t in d.tables if [c.text for c in t.rows[0].cells] == ["Показатель", "Было", "Стало"])
    got = {r[0]: (r[1], r[2]) for r in texts(figures)[1:]}
    assert got["Консультаций"] == ("4", "4") and got["Непокрытых потребностей"] == ("1", "1")


def test_changes_document_shows_both_options_when_the_replan_recorded_them(instance):
    baseline = sample_plan()
    plan = replan_of(baseline)
    plan.meta["replan"]["options"] = {
        "chosen": "coverage", "price": ["консультаций 169 вместо 164"],
        "coverage": {"coverage_share": 1.0, "unmet": 0, "travel_km": 9318, "sessions": 169, "topics_held": 45,
                     "topics_usable": 45},
        "stability": {"coverage_share": 0.98, "unmet": 4, "travel_km": 3900, "sessions": 150, "topics_held": 43,
                      "topics_usable": 45},
    }
    d = docx.Document(io.BytesIO(changes_docx(instance, baseline, plan)))
    options = next(t for t in d.tables if t.rows[0].cells[0].text == "Показатель"
                   and "покрытие всех потребностей — выбран" in t.rows[0].cells[1].text)
    got = {r[0]: r[1:] for r in texts(options)[1:]}
    assert got["Непокрытых потребностей"] == ["0", "4"]
    assert got["Поездки, км"] == ["9 318", "3 900"]
    assert got["Тем программы проведено"] == ["45 из 45", "43 из 45"]
    assert any(p.text == "Сохранить покрытие всех потребностей обходится дорого: консультаций 169 вместо 164."
               for p in d.paragraphs)
    # The report shows them too.
    page = report_html(instance, plan).decode("utf-8")
    table = re.search(r'<table class="data" id="options-table">(.*?)</table>', page, re.DOTALL).group(1)
    assert "покрытие всех потребностей — выбран" in table and "43 из 45" in table


def test_planner_replan_writes_changes_docx_beside_changes_md(tmp_path):
    folder = tmp_path / "inst"
    instance = sample_instance(folder)
    baseline, _report = solve_consultations(instance, SolveOptions(time_limit=5, workers=1, seed=0))
    base_path = tmp_path / "base" / "plan.json"
    base_path.parent.mkdir()
    base_path.write_text(plan_json_text(baseline), encoding="utf-8")
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'name = "{SCENARIO}"\nfreeze_before = 2022-04-01\n\n[[consultant_unavailable]]\n'
                        'consultant = "C2"\nfrom = 2022-04-01\nto = 2022-06-30\n', encoding="utf-8")
    out = tmp_path / "replan"
    r = run_cli("replan", str(folder), "--baseline", str(base_path), "--scenario", str(scenario), "--out", str(out),
                "--time-limit", "4", "--workers", "2", "--no-calendars")
    assert r.returncode == 0, r.stderr
    assert (out / "changes.md").is_file() and (out / "changes.docx").is_file()
    assert "changes.docx" in r.stdout
    plan = read_plan(out / "plan.json")
    d = docx.Document(out / "changes.docx")
    assert d.paragraphs[0].text == f"Изменения графика консультаций: {SCENARIO}"
    changed = plan.meta["changes"]
    assert changed  # C2's sessions from April on had to change
    tables = [t for t in d.tables if tuple(c.text for c in t.rows[0].cells) == CHANGES_HEADER]
    assert len(tables) == 1 and len(tables[0].rows) - 1 == len(changed)
    for row in texts(tables[0])[1:]:
        assert row[5] == "ВКС" or row[5].startswith("выезд, "), row
    # Its key figures against the baseline's, recorded in the plan for every document.
    assert plan.meta["baseline_figures"]["sessions"] == str(len(baseline.sessions))
