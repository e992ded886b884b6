"""The working group's guide (docs/руководство.md) and the pointers to it.

Every section the program points to is a heading of the guide (with the anchor GitHub and the
web page give it); the guide's own links and pictures resolve; a problem is pointed to the
section about its file, sheet or option; the command line prints the pointer after the list of
problems, leaving the messages as they were.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import ROOT, run_cli, write_instance
from models.problems import Problem
from planner.inputs import guide

GUIDE = ROOT / guide.GUIDE_FILE
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")


def guide_headings() -> list[str]:
    """The guide's headings (outside code blocks)."""
    headings, fenced = [], False
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            headings.append(m.group(2))
    return headings


def test_every_section_the_program_points_to_is_a_heading_of_the_guide():
    headings = guide_headings()
    anchors = [guide.slug(h) for h in headings]
    assert len(anchors) == len(set(anchors)), "two headings with one anchor: GitHub would number them"
    for section in guide.ALL_SECTIONS:
        assert section.title in headings, section.title
        assert section.anchor in anchors
    # The mapping's own sections, every one of them listed.
    used = {v for v in vars(guide).values() if isinstance(v, guide.Section)} | set(guide.SHEETS.values())
    assert used <= set(guide.ALL_SECTIONS)


def test_headings_keep_to_characters_whose_anchor_is_certain():
    """GitHub drops punctuation from an anchor but keeps hyphens; a dash or a quote mark in a
    heading would make its anchor depend on which marks it drops. Letters, digits, spaces,
    hyphens, «.,:» and quotes «» only (GitHub drops the last five)."""
    for h in guide_headings():
        assert re.fullmatch(r"[\w .,:«»-]+", h), h


def test_slug_is_githubs():
    assert guide.slug("1. Заполнить шаблон") == "1-заполнить-шаблон"
    assert guide.slug("Лист schools: школы") == "лист-schools-школы"
    assert guide.slug("Приложение к приказу: appendix.docx") == "приложение-к-приказу-appendixdocx"
    assert guide.slug("Ёлка_и ЁЖ") == "ёлка_и-ёж"


def test_the_guides_links_and_pictures_resolve():
    text = GUIDE.read_text(encoding="utf-8")
    anchors = {guide.slug(h) for h in guide_headings()}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links, "the guide links its own sections"
    assert [a for a in links if a not in anchors] == []
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(pictures) >= 4
    for rel in pictures:
        path = GUIDE.parent / rel
        assert path.is_file(), rel
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size <= 300 * 1024, f"{rel}: keep the guide's pictures small"


@pytest.mark.parametrize(("problem", "section"), [
    (Problem("schools.csv", "неизвестный муниципалитет", 3, "municipality", "M99"), guide.SHEETS["schools"]),
    (Problem("книга.xlsx, лист «consultants»", "нужно целое число", 2, "max_per_month", "много"),
     guide.SHEETS["consultants"]),
    (Problem("книга.xlsx, лист «topics»", "нет обязательного листа"), guide.UNREADABLE),
    (Problem("topics.csv", "файл не в кодировке UTF-8 и не в Windows-1251"), guide.UNREADABLE),
    (Problem("instance.toml", "нужно целое число", None, "rules.max_gap_months", "x"), guide.SETTINGS),
    (Problem("книга.xlsx, лист «instance»", "ключ должен иметь вид «раздел.ключ»", 4, "key", "x"), guide.SETTINGS),
    (Problem("roadmap.csv", "мероприятия исполнителя не помещаются в свои окна"), guide.SHEETS["roadmap"]),
    (Problem("книга.xlsx", "книга Excel не открывается"), guide.UNREADABLE),
    (Problem("c03.toml", "нужна дата ГГГГ-ММ-ДД", column="[[consultant_unavailable]] №1, поле to"),
     guide.SCENARIO),
    (Problem("сценарий", "нужна дата заморозки"), guide.SCENARIO),
    (Problem("plan.json", "файл плана не читается как JSON"), guide.PLAN_FILE),
    (Problem("командная строка", "нужно положительное число секунд", column="--time-limit"), guide.COMMAND_LINE),
    (Problem("командная строка", "нужна дата ГГГГ-ММ-ДД", column="--freeze"), guide.FREEZE),
    (Problem("командная строка", "нужно coverage или stability", column="--prefer"), guide.OPTIONS),
    (Problem("http://127.0.0.1:5232/", "сервер календарей недоступен"), guide.CALDAV),
    (Problem("pw.txt", "файл пароля пуст", column="--password-file"), guide.CALDAV),
    (Problem("smtp.toml", "нужен адрес SMTP-сервера", column="host"), guide.PUBLISH),
    (Problem("правка", "консультация не найдена"), guide.EDITS),
    (Problem("instances/kuzbas", "нет такого файла или папки"), guide.COMMAND_LINE),
])
def test_a_problem_points_to_the_section_about_its_file(problem, section):
    assert guide.section_for(problem) == section


def test_pointers_name_each_section_once_errors_first():
    problems = [Problem("schools.csv", "w", 2, "priority", "x", "warning"),
                Problem("schools.csv", "a", 3, "id", "x"), Problem("instance.toml", "b", None, "rules.x", "1"),
                Problem("schools.csv", "c", 4, "id", "y")]
    assert guide.sections_for(problems) == [guide.SHEETS["schools"], guide.SETTINGS]
    assert guide.pointer_lines(problems).splitlines() == [
        "Как исправить: docs/руководство.md#лист-schools-школы (раздел «Лист schools: школы»)",
        "Как исправить: docs/руководство.md#лист-instance-настройки (раздел «Лист instance: настройки»)",
    ]


def test_the_command_line_points_to_the_guide_after_the_problems(tmp_path: Path):
    """A real `planner check` on a broken instance: the messages as before, then the pointer."""
    from helpers import SCHOOLS, run_cli

    folder = write_instance(tmp_path / "broken", schools=[dict(SCHOOLS[0], municipality="M9")])
    result = run_cli("check", str(folder))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    problem = next(i for i, line in enumerate(lines) if "schools.csv, строка 2, столбец «municipality»" in line)
    assert lines[problem].endswith("(значение «M9»)")  # the message itself is unchanged
    pointer = lines.index("Как исправить: docs/руководство.md#лист-schools-школы (раздел «Лист schools: школы»)")
    assert pointer > problem
    assert "Traceback" not in result.stderr


def test_a_usage_error_points_to_the_section_on_commands(capsys):
    from planner.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["solve"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "не хватает обязательных аргументов: instance" in err
    assert err.rstrip().endswith(guide.pointer(guide.COMMAND_LINE))
    assert "docs/руководство.md#ошибка-в-команде" in err


def test_an_invalid_plan_points_to_its_section(capsys):
    from models.validate import Violation
    from planner.cli.solve import report_invalid

    assert report_invalid([Violation("capacity", "на консультации больше школ, чем вмещает тема")]) == 3
    err = capsys.readouterr().err
    assert "построенный план нарушает правила" in err
    assert err.rstrip().endswith(guide.pointer(guide.PLAN_INVALID))


def test_usage_errors_and_help_are_in_russian():
    # argparse's own messages go through one Russian catalogue (planner.cli.main.RUSSIAN).
    missing = run_cli("solve")
    assert missing.returncode == 2
    assert "ошибка: не хватает обязательных аргументов: instance" in missing.stderr
    assert "использование: planner solve" in missing.stderr and "error" not in missing.stderr
    wrong = run_cli("replan", "x", "--baseline", "y", "--prefer", "foo")
    assert "аргумент --prefer: недопустимое значение 'foo' (можно: 'coverage', 'stability')" in wrong.stderr
    helped = run_cli("--help")
    assert "показать эту справку и выйти" in helped.stdout and "usage" not in helped.stdout
