"""Where the working group's guide (`docs/руководство.md`) explains a problem.

One small mapping from what a problem is about (its file, sheet or option) to the guide's
section, in one place: the command line prints «Как исправить: docs/руководство.md#…» once
after a list of problems, the web pages link the same sections under their problem tables.
The messages themselves stay as they are. A section is named by its heading, word for word;
its anchor is the heading's slug as GitHub and the web app's guide page both make it, and
`tests/test_guide.py` checks that every section here is a heading of the guide.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from models.problems import Problem
from planner.inputs.tables import SETTINGS_FILE, SETTINGS_SHEET, TABLE_SPECS

GUIDE_FILE = "docs/руководство.md"
POINTER = "Как исправить"


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation and symbols dropped
    (hyphens and underscores kept), each space a hyphen."""
    kept = []
    for ch in heading.strip().lower():
        if ch in "-_" or ch == " ":
            kept.append("-" if ch == " " else ch)
        elif unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "Mn":
            kept.append(ch)
    return "".join(kept)


@dataclass(frozen=True)
class Section:
    """A section of the guide: its heading, word for word."""

    title: str

    @property
    def anchor(self) -> str:
        return slug(self.title)

    @property
    def path(self) -> str:
        """The guide's file and anchor, as the console prints it."""
        return f"{GUIDE_FILE}#{self.anchor}"


FILL = Section("1. Заполнить шаблон")
SHEETS = {
    "municipalities": Section("Лист municipalities: муниципалитеты"),
    "risks": Section("Лист risks: рисковые направления"),
    "schools": Section("Лист schools: школы"),
    "consultants": Section("Лист consultants: консультанты"),
    "topics": Section("Лист topics: темы консультаций"),
    "roadmap": Section("Лист roadmap: дорожная карта"),
}
SETTINGS = Section("Лист instance: настройки")
UNREADABLE = Section("Файл или лист не читается")
CHECK = Section("2. Проверить данные")
SOLVE = Section("3. Составить план")
APPENDIX = Section("Приложение к приказу: appendix.docx")
SCENARIO = Section("Файл сценария")
FREEZE = Section("Дата заморозки")
OPTIONS = Section("Два варианта: покрытие и стабильность")
EDITS = Section("Правка вручную")
CALDAV = Section("Свой сервер календарей CalDAV")
PUBLISH = Section("7. Опубликовать")
COMMAND_LINE = Section("Ошибка в команде")
PLAN_FILE = Section("Файл плана не читается")
PLAN_INVALID = Section("План нарушает правила")
INTERNAL = Section("Внутренняя ошибка программы")
TROUBLE = Section("Если что-то пошло не так")

# Every section the program points to (the guide's test checks each is a heading).
ALL_SECTIONS: tuple[Section, ...] = (
    FILL, *SHEETS.values(), SETTINGS, UNREADABLE, CHECK, SOLVE, APPENDIX, SCENARIO, FREEZE, OPTIONS,
    EDITS, CALDAV, PUBLISH, COMMAND_LINE, PLAN_FILE, PLAN_INVALID, INTERNAL, TROUBLE,
)

# Options of the command line whose problems the guide explains in their own section.
_OPTION_SECTIONS = {
    "--freeze": FREEZE,
    "--prefer": OPTIONS,
    "--sections": APPENDIX,
    "--caldav": CALDAV,
    "--password-file": CALDAV,
    "--urls": CALDAV,
}
SMTP_FILE = "smtp.toml"


def section_for(problem: Problem) -> Section:
    """The guide's section that explains a problem, from its file, sheet or option."""
    file, column = problem.file, problem.column or ""
    if file == "правка":
        return EDITS
    if file == "сценарий":
        return SCENARIO
    if column in _OPTION_SECTIONS:
        return _OPTION_SECTIONS[column]
    if file.startswith(("http://", "https://")) or file in ("--caldav", "--user", "--port"):
        return CALDAV  # `planner publish` and the embedded calendar server
    if file == "командная строка":
        return COMMAND_LINE
    book, _, sheet = file.partition(", лист «")
    name = PurePath(book).name
    table = sheet.rstrip("»") if sheet else (name[:-4] if name.endswith(".csv") else "")
    if table == SETTINGS_SHEET or name == SETTINGS_FILE:
        return SETTINGS
    if table == "roadmap":
        # Its section covers its cells and its schedule (activities that do not fit their
        # windows are problems of the whole file too) and points on to UNREADABLE.
        return SHEETS[table]
    if table in TABLE_SPECS:
        # A problem of the whole file (missing, empty, wrong header or encoding) or of a cell.
        return UNREADABLE if problem.row is None and problem.column is None else SHEETS[table]
    suffix = PurePath(name).suffix.lower()
    if name == SMTP_FILE:
        return PUBLISH
    if suffix == ".toml":
        return SCENARIO
    if suffix == ".json":
        return PLAN_FILE
    if suffix == ".log":
        return CALDAV
    if suffix:
        return UNREADABLE  # a workbook, an archive or another file given instead of them
    return COMMAND_LINE  # a path given on the command line that is not there


def sections_for(problems: Iterable[Problem]) -> list[Section]:
    """The sections for a list of problems, each once, errors' first (in their order)."""
    problems = list(problems)
    ordered = [p for p in problems if p.severity == "error"] + [p for p in problems if p.severity != "error"]
    seen: list[Section] = []
    for p in ordered:
        s = section_for(p)
        if s not in seen:
            seen.append(s)
    return seen


def pointer(section: Section) -> str:
    """One console line: «Как исправить: docs/руководство.md#… (раздел «…»)»."""
    return f"{POINTER}: {section.path} (раздел «{section.title}»)"


def pointer_lines(problems: Iterable[Problem]) -> str:
    """The console's lines after a list of problems: one per section of the guide."""
    return "\n".join(pointer(s) for s in sections_for(problems))
