"""The instance's tables as the contract (shared/formats.md) defines them.

One spec serves the loader (which columns must be there), the validator and the
`planner template` workbook (headers, Russian explanations, drop-down lists, examples).
"""

from __future__ import annotations

from dataclasses import dataclass

RISK_CODES = tuple(f"R{i:02d}" for i in range(1, 11))
STAGES = ("verification", "program", "support", "monitoring")
FORMATS = ("onsite", "online")


@dataclass(frozen=True)
class Column:
    name: str
    doc: str
    example: str
    required: bool = True
    choices: tuple[str, ...] | None = None
    is_list: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    doc: str
    columns: tuple[Column, ...]
    required: bool = True

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


MUNICIPALITIES = TableSpec(
    "municipalities",
    "Муниципалитеты региона с координатами административных центров (по ним считаются поездки).",
    (
        Column("id", "Код муниципалитета, без пробелов и «;».", "M21"),
        Column("name", "Полное название.", "Крапивинский муниципальный округ"),
        Column("lat", "Широта центра, градусы WGS84 (десятичная точка).", "54.9992"),
        Column("lon", "Долгота центра, градусы WGS84 (десятичная точка).", "86.8133"),
    ),
)

RISKS = TableSpec(
    "risks",
    "Необязательно. Каталог рисковых направлений; если листа нет — десять факторов «500+» R01..R10.",
    (
        Column("id", "Код риска.", "R03"),
        Column(
            "title",
            "Название рискового направления.",
            "Недостаточная предметная и методическая компетентность педагогических работников",
        ),
    ),
    required=False,
)

SCHOOLS = TableSpec(
    "schools",
    "Школы с низкими образовательными результатами (ШНОР).",
    (
        Column("id", "Код школы, без пробелов и «;».", "SCH001"),
        Column("name", "Название школы.", "МБОУ «Новоивановская СОШ»"),
        Column("municipality", "Код муниципалитета из листа municipalities.", "M21"),
        Column(
            "risks",
            "Рисковый профиль: коды рисков через «;».",
            "R03;R08;R10",
            choices=RISK_CODES,
            is_list=True,
        ),
        Column(
            "priority",
            "Приоритет: 1 — высший (например, школа в списке второй раз) .. 3. Пусто = 2.",
            "1",
            required=False,
            choices=("1", "2", "3"),
        ),
        Column(
            "verified_on",
            "Дата верификации рискового профиля куратором (ГГГГ-ММ-ДД). Пусто = ещё не верифицирован.",
            "2022-02-15",
            required=False,
        ),
        Column(
            "curator",
            "Код консультанта — куратора школы (из листа consultants). Может быть пустым.",
            "C01",
            required=False,
        ),
    ),
)

CONSULTANTS = TableSpec(
    "consultants",
    "Члены мобильной группы и кураторы.",
    (
        Column("id", "Код консультанта, без пробелов и «;».", "C01"),
        Column("name", "Фамилия И. О.", "Бикбаева Л. А."),
        Column(
            "position",
            "Должность, как в приказе.",
            "директор «СОШ № 22», г. Анжеро-Судженск",
            required=False,
        ),
        Column("municipality", "Код муниципалитета, где живёт консультант (отсюда выезды).", "M21"),
        Column(
            "topics", "Темы, которые консультант ведёт: коды тем через «;».", "T01", is_list=True
        ),
        Column("max_per_month", "Не больше стольких консультаций в месяц (целое > 0).", "6"),
        Column(
            "max_total",
            "Не больше стольких консультаций за весь период. Пусто = без ограничения.",
            "40",
            required=False,
        ),
        Column(
            "unavailable",
            "Когда недоступен: месяцы ГГГГ-ММ или диапазоны ГГГГ-ММ-ДД..ГГГГ-ММ-ДД через «;».",
            "2022-06;2022-05-16..2022-05-31",
            required=False,
            is_list=True,
        ),
        Column(
            "max_onsite_per_month",
            "Не больше стольких выездов в месяц (целое ≥ 0). Пусто = настройка"
            " rules.max_onsite_per_month (по умолчанию 4).",
            "4",
            required=False,
        ),
    ),
)

TOPICS = TableSpec(
    "topics",
    "Темы консультаций.",
    (
        Column("id", "Код темы, без пробелов и «;».", "T01"),
        Column(
            "title",
            "Название темы, как в графике.",
            "Рисковый профиль для формирования направлений, призванных вывести школу из зоны риска",
        ),
        Column(
            "risks",
            "Какие риски тема закрывает: коды через «;» (может быть пусто).",
            "R03;R08;R10",
            required=False,
            choices=RISK_CODES,
            is_list=True,
        ),
        Column(
            "stage",
            "Этап: verification (визит куратора), program (разработка программ), support"
            " (сопровождение), monitoring (мониторинг).",
            "program",
            choices=STAGES,
        ),
        Column(
            "format",
            "onsite — выезд консультанта, все школы одной консультации из одного муниципалитета;"
            " online — ВКС, школы из любых муниципалитетов.",
            "online",
            choices=FORMATS,
        ),
        Column("duration_min", "Длительность, минут (целое > 0).", "90"),
        Column("capacity", "Сколько школ на одной консультации максимум (целое > 0).", "20"),
        Column(
            "requires",
            "Темы, которые школа должна пройти строго раньше: коды через «;».",
            "",
            required=False,
            is_list=True,
        ),
        Column(
            "months",
            "В какие месяцы тему можно проводить: ГГГГ-ММ через «;». Пусто = в любой открытый месяц.",
            "",
            required=False,
            is_list=True,
        ),
    ),
)

ROADMAP = TableSpec(
    "roadmap",
    "Необязательно. Мероприятия дорожной карты.",
    (
        Column("id", "Код мероприятия.", "A01"),
        Column("title", "Описание действий.", "Отбор и назначение кураторов школ проекта «500+»"),
        Column("responsible", "Исполнители / ответственный.", "Министерство образования", required=False),
        Column("indicator", "Показатель реализации.", "Приказ", required=False),
        Column("earliest", "Не раньше: дата или месяц. Пусто = начало периода.", "", required=False),
        Column("latest", "Не позже: дата или месяц. Пусто = конец периода.", "", required=False),
        Column("duration_days", "Длительность в рабочих днях; 0 = веха.", "0", required=False),
        Column("after", "После каких мероприятий: коды через «;».", "", required=False, is_list=True),
        Column("fixed", "Фиксированная дата (ГГГГ-ММ-ДД). Пусто = свободно.", "", required=False),
    ),
    required=False,
)

TABLE_SPECS: dict[str, TableSpec] = {
    t.name: t for t in (MUNICIPALITIES, RISKS, SCHOOLS, CONSULTANTS, TOPICS, ROADMAP)
}

SETTINGS_FILE = "instance.toml"
SETTINGS_SHEET = "instance"
