"""Every setting of an instance, with its default: the one place where defaults live.

`instance.toml` has the sections below. The contract (`shared/formats.md`) fixes
`[region]`, `[horizon]` and `[rules]`; `[timing]`, `[weights]`, `[roadmap]` and `[documents]`
are this project's own. A key absent from the file takes the default given here; `planner settings`
prints this table in Russian.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from models.calendar_days import DateRange, Month


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class RegionSettings:
    """`[region]`: where the plan happens."""

    name: str = field(default="", metadata=_doc("Название региона (для заголовков документов)."))
    timezone: str = field(
        default="Europe/Moscow",
        metadata=_doc("Часовой пояс IANA; все времена плана — местные в этом поясе."),
    )
    holidays: str = field(
        default="RU",
        metadata=_doc("Код страны для праздников и переносов выходных (пакет holidays)."),
    )


@dataclass(frozen=True)
class HorizonSettings:
    """`[horizon]`: the planning period and the days nothing may happen on."""

    start: date = field(
        default=date(2000, 1, 1), metadata=_doc("Первый день планирования (обязателен).")
    )
    end: date = field(
        default=date(2000, 12, 31), metadata=_doc("Последний день планирования (обязателен).")
    )
    blocked_months: tuple[Month, ...] = field(
        default=(), metadata=_doc("Месяцы YYYY-MM без консультаций. По умолчанию нет.")
    )
    vacations: tuple[DateRange, ...] = field(
        default=(),
        metadata=_doc("Каникулы: включительные диапазоны дат без занятий со школами. По умолчанию нет."),
    )


@dataclass(frozen=True)
class RuleSettings:
    """`[rules]`: hard limits of the consultation graph."""

    school_max_sessions_per_month: int = field(
        default=2, metadata=_doc("Школа посещает не больше стольких консультаций в месяц.")
    )
    min_topics_per_risk: int = field(
        default=1,
        metadata=_doc("Каждый риск школы закрывается не меньше чем столькими посещёнными темами."),
    )
    visitor_candidates: int = field(
        default=5,
        metadata=_doc(
            "Школу без куратора верифицирует один из стольких ближайших к ней консультантов,"
            " ведущих тему верификации (по расстоянию туда и обратно; 0 = любой из них)."
        ),
    )
    verification_first: bool = field(
        default=True,
        metadata=_doc(
            "Верификация — первый шаг: у неверифицированной школы все остальные темы идут"
            " в месяцах строго после визита куратора (иначе — только темы этапа program)."
        ),
    )
    hold_every_topic: bool = field(
        default=True,
        metadata=_doc(
            "Программа проводится целиком: каждая тема, полезная хотя бы одной школе, проводится"
            " хотя бы раз. Тема, которую провести нельзя, попадает в список с причиной."
        ),
    )
    max_gap_months: int = field(
        default=1,
        metadata=_doc(
            "Сопровождение весь год: после визита верификации школа остаётся без консультаций"
            " не больше стольких открытых месяцев подряд; консультации группы распределяются по"
            " всем открытым месяцам, верификация — в первые месяцы (verification_months)."
            " 0 = без этого правила."
        ),
    )
    verification_months: int = field(
        default=2,
        metadata=_doc(
            "Визит верификации — в первые столько открытых месяцев, доступных школе (при"
            " max_gap_months > 0; позже — штраф late_verification за месяц и строка в списке"
            " отступлений)."
        ),
    )
    max_onsite_per_month: int = field(
        default=4,
        metadata=_doc(
            "Не больше стольких выездов одного консультанта в месяц (столбец max_onsite_per_month"
            " в consultants.csv задаёт своё число); два выезда одного консультанта никогда не"
            " стоят в соседние дни. 0 = без ограничения числа."
        ),
    )


@dataclass(frozen=True)
class TimingSettings:
    """`[timing]`: the working day and the travel-time rule used to put sessions on dates."""

    day_start: str = field(default="10:00", metadata=_doc("Самое раннее начало консультации."))
    day_end: str = field(default="18:00", metadata=_doc("Консультация заканчивается не позже."))
    depart: str = field(
        default="07:00", metadata=_doc("Консультант выезжает из дома на выездную консультацию не раньше.")
    )
    break_min: int = field(
        default=30, metadata=_doc("Перерыв между двумя онлайн-консультациями одного консультанта, мин.")
    )
    travel_speed_kmh: int = field(
        default=60, metadata=_doc("Средняя скорость в дороге, км/ч (для времени в пути).")
    )
    road_factor: float = field(
        default=1.3,
        metadata=_doc("Во сколько раз дорога длиннее прямой между центрами (для времени в пути)."),
    )


@dataclass(frozen=True)
class WeightSettings:
    """`[weights]`: how the soft goals are weighed once coverage is at its optimum."""

    travel_km: int = field(default=1, metadata=_doc("Штраф за 1 км поездки туда и обратно."))
    early_program: int = field(
        default=10,
        metadata=_doc(
            "Штраф за каждый месяц от начала периода до посещённой программной темы (этап program)"
            " у школ приоритета 1."
        ),
    )
    max_load: int = field(
        default=40,
        metadata=_doc("Штраф за каждую консультацию в нагрузке самого загруженного консультанта."),
    )
    session: int = field(
        default=20, metadata=_doc("Штраф за каждую консультацию (время консультанта).")
    )
    attendance: int = field(
        default=2,
        metadata=_doc("Штраф за каждое участие школы сверх нужного (время школы)."),
    )
    relevant_attendance: int = field(
        default=50,
        metadata=_doc(
            "Выигрыш от каждого участия школы в проводимой теме, которая закрывает один из её"
            " рисков (глубина сопровождения; 0 = нет). Покрытие рисков всё равно идёт первым."
        ),
    )
    onsite_visit: int = field(
        default=150,
        metadata=_doc(
            "Штраф за каждый выезд (целый рабочий день консультанта), при relevant_attendance > 0:"
            " выезд ради глубины оправдан, только если на нём несколько школ и ехать недалеко."
        ),
    )
    online_session: int = field(
        default=30,
        metadata=_doc(
            "Штраф за каждую онлайн-консультацию (время консультанта), при relevant_attendance > 0:"
            " вебинар ради одной школы не оправдан, ради двух и больше — да."
        ),
    )
    unheld_topic: int = field(
        default=5000,
        metadata=_doc("Штраф за каждую полезную тему, которая не проводится (при hold_every_topic)."),
    )
    gap_month: int = field(
        default=1000,
        metadata=_doc(
            "Штраф за каждый месяц сверх max_gap_months, который школа проводит без консультаций."
        ),
    )
    late_verification: int = field(
        default=300,
        metadata=_doc("Штраф за каждый месяц, на который визит верификации позже verification_months."),
    )
    month_peak: int = field(
        default=30,
        metadata=_doc(
            "Штраф за каждую консультацию (кроме верификации) в самом загруженном месяце:"
            " консультации распределяются по году (при max_gap_months > 0)."
        ),
    )
    changed_session: int = field(
        default=1000,
        metadata=_doc("Перепланирование: штраф за каждую добавленную, отменённую или перенесённую"
                      " консультацию и за каждую, у которой изменился состав школ."),
    )
    changed_school: int = field(
        default=200,
        metadata=_doc("Перепланирование: штраф за каждую школу, чьё участие изменилось."),
    )


@dataclass(frozen=True)
class RoadmapSettings:
    """`[roadmap]`: scheduling the roadmap (`roadmap.csv`) and linking it to consultations.

    Table-valued keys are TOML tables (`[roadmap.executor_limits]`, or inline
    `stage_after = {program = "A05"}`); in a workbook, `ключ=значение` pairs separated by `;`.
    They are kept as sorted tuples of pairs so that settings stay immutable.
    """

    executor_limit: int = field(
        default=3,
        metadata=_doc(
            "Сколько мероприятий дорожной карты один исполнитель ведёт одновременно, не больше"
            " (контрольные точки длительностью 0 не считаются; 0 = без ограничения)."
        ),
    )
    executor_limits: tuple[tuple[str, int], ...] = field(
        default=(),
        metadata=_doc(
            "Свой предел для отдельных исполнителей: таблица «исполнитель = число», исполнитель"
            " пишется как в столбце responsible. По умолчанию нет."
        ),
    )
    stage_after: tuple[tuple[str, str], ...] = field(
        default=(),
        metadata=_doc(
            "Консультации этапа начинаются только после мероприятия: таблица «этап = код"
            " мероприятия», например program = \"A05\". По умолчанию нет."
        ),
    )
    days_off: tuple[DateRange, ...] = field(
        default=(),
        metadata=_doc(
            "Региональные нерабочие дни сверх федеральных (для дорожной карты), диапазоны дат."
            " По умолчанию нет."
        ),
    )
    weight_finish: int = field(
        default=10,
        metadata=_doc("Штраф за каждый день до окончания всей дорожной карты (закончить раньше)."),
    )
    weight_delay: int = field(
        default=1,
        metadata=_doc("Штраф за каждый день начала мероприятия позже начала его окна."),
    )
    time_limit_s: float = field(
        default=10.0, metadata=_doc("Предел времени решателя для дорожной карты, секунд.")
    )

    def limit_of(self, executor: str) -> int:
        """The concurrency limit of one executor (0 = none)."""
        return dict(self.executor_limits).get(executor, self.executor_limit)


@dataclass(frozen=True)
class DocumentSettings:
    """`[documents]`: what the order's appendix says of the order that approves it."""

    order_number: str = field(
        default="",
        metadata=_doc(
            "Номер приказа, которым утверждается график (в шапке приложения: «от … № …»)."
            " По умолчанию пусто: в шапке остаётся место, чтобы вписать от руки."
        ),
    )
    order_date: str = field(
        default="",
        metadata=_doc(
            "Дата приказа: ГГГГ-ММ-ДД или ДД.ММ.ГГГГ (печатается как ДД.ММ.ГГГГ). По умолчанию пусто."
        ),
    )
    approved_by: str = field(
        default="",
        metadata=_doc(
            "Кто издаёт приказ, в родительном падеже после слов «утверждённой приказом»,"
            " например «Министерства образования Кузбасса». По умолчанию пусто."
        ),
    )
    author: str = field(
        default="",
        metadata=_doc(
            "Автор в свойствах документов (Word, Excel). По умолчанию «Региональная рабочая"
            " группа <региона>» (название региона в родительном падеже)."
        ),
    )


@dataclass(frozen=True)
class Settings:
    """All settings of one instance."""

    region: RegionSettings = RegionSettings()
    horizon: HorizonSettings = HorizonSettings()
    rules: RuleSettings = RuleSettings()
    timing: TimingSettings = TimingSettings()
    weights: WeightSettings = WeightSettings()
    roadmap: RoadmapSettings = RoadmapSettings()
    documents: DocumentSettings = DocumentSettings()


SECTIONS: dict[str, type] = {
    "region": RegionSettings,
    "horizon": HorizonSettings,
    "rules": RuleSettings,
    "timing": TimingSettings,
    "weights": WeightSettings,
    "roadmap": RoadmapSettings,
    "documents": DocumentSettings,
}

REQUIRED: frozenset[tuple[str, str]] = frozenset({("horizon", "start"), ("horizon", "end")})


def settings_table() -> list[tuple[str, str, str, str]]:
    """(section, key, default, Russian explanation) for every setting, in file order."""
    rows = []
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            default = f.default
            shown = "обязательно" if (section, f.name) in REQUIRED else _show(default)
            rows.append((section, f.name, shown, f.metadata.get("doc", "")))
    return rows


def _show(value: object) -> str:
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) for v in value):
        return "{" + ", ".join(f"{k} = {v}" for k, v in value) + "}"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
