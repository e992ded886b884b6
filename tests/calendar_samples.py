"""A small hand-made instance and plans for the calendar tests (no solver: fast, exact).

Two municipalities, three schools, two consultants, three topics. Times are given in UTC on
purpose, so every test also checks that the exporter converts them to the region's zone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from models.domain import (
    Activity,
    ActivityDates,
    Consultant,
    Format,
    Instance,
    Municipality,
    Plan,
    Risk,
    School,
    Session,
    Stage,
    Topic,
)
from models.replan import finish_replan
from models.settings import HorizonSettings, RegionSettings, Settings

NOVOKUZNETSK = "Asia/Novokuznetsk"  # UTC+7, no daylight saving since 2014
MOSCOW = "Europe/Moscow"  # UTC+3


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2022, month, day, hour, minute, tzinfo=UTC)


def sample_instance(timezone: str = NOVOKUZNETSK, *, name: str = "test-region",
                    with_activities: bool = False) -> Instance:
    activities = {}
    if with_activities:
        activities = {
            "A1": Activity("A1", "Утверждение муниципальной программы поддержки",
                           responsible="Управление образования", indicator="Приказ утверждён",
                           duration_days=3),
            "A2": Activity("A2", "Отчёт в ФИОКО", responsible="РОЦ", duration_days=0),
        }
    return Instance(
        name=name,
        settings=Settings(
            region=RegionSettings(name="Тестовая область", timezone=timezone, holidays="RU"),
            horizon=HorizonSettings(start=date(2022, 3, 1), end=date(2022, 6, 30)),
        ),
        municipalities={
            "M1": Municipality("M1", "Город А", 55.0, 86.0),
            "M2": Municipality("M2", "Крапивинский муниципальный округ", 55.0, 87.0),
        },
        risks={
            "R01": Risk("R01", "Низкий уровень оснащения школы"),
            "R03": Risk("R03", "Недостаточная предметная и методическая компетентность педагогических работников"),
            "R10": Risk("R10", "Низкая учебная мотивация обучающихся"),
        },
        schools={
            "S1": School("S1", "МБОУ «СОШ № 1»", "M1", ("R01", "R03")),
            "S2": School("S2", "МБОУ «Новоивановская СОШ»", "M2", ("R03", "R10")),
            "S3": School("S3", "МБОУ «ООШ № 5»", "M2", ("R10",)),
        },
        consultants={
            "C1": Consultant("C1", "Бикбаева Л. А.", "директор «СОШ № 22», г. Анжеро-Судженск", "M1",
                             ("TV", "T1", "T2"), 4),
            "C2": Consultant("C2", "Неверова Н. С.", "зам. директора «Крапивинская СОШ»", "M2",
                             ("TV", "T1", "T2"), 4),
        },
        topics={
            "TV": Topic("TV", "Верификация рискового профиля школы", (), Stage.VERIFICATION,
                        Format.ONSITE, 120, 1),
            "T1": Topic("T1", "Совершенствование профессионального мастерства педагогов", ("R03",),
                        Stage.PROGRAM, Format.ONLINE, 90, 10),
            "T2": Topic("T2", "Повышение учебной мотивации", ("R10", "R01"), Stage.SUPPORT,
                        Format.ONSITE, 90, 5),
        },
        activities=activities,
    )


def sample_sessions() -> list[Session]:
    """Four sessions; C1 has two, C2 two; S2 attends three; M2 sees three."""
    return [
        # 03:00 UTC = 10:00 in Novokuznetsk, 06:00 in Moscow.
        Session("s-verif-1", "TV", "C1", utc(15, 3), utc(15, 5), Format.ONSITE, "M1", ("S1",)),
        Session("s-online-1", "T1", "C2", utc(16, 4, 30), utc(16, 6), Format.ONLINE, None, ("S1", "S2")),
        Session("s-visit-1", "T2", "C2", utc(22, 3), utc(22, 4, 30), Format.ONSITE, "M2", ("S2", "S3")),
        Session("s-online-2", "T1", "C1", utc(5, 5, month=4), utc(5, 6, 30, month=4), Format.ONLINE, None,
                ("S2",)),
    ]


def sample_plan(**meta: object) -> Plan:
    return Plan("test-region", "OPTIMAL", 10.0, 10.0, 0.5, sample_sessions(), [],
                meta={"created": "2022-02-20T09:30:00+00:00", **meta})


REPLAN_STAMP = "2022-04-01T08:00:00+00:00"


def replanned_plan() -> Plan:
    """The sample plan after a replan: s-visit-1 moved (SEQUENCE 1), s-online-1 cancelled
    (listed in `cancelled` with SEQUENCE 1), s-online-2 dropped without a trace, one new."""
    by_id = {s.id: s for s in sample_sessions()}
    moved = replace(by_id["s-visit-1"], start=utc(24, 5), end=utc(24, 6, 30), sequence=1)
    new = Session("s-new-1", "T2", "C1", utc(12, 3, month=5), utc(12, 4, 30, month=5), Format.ONSITE, "M2",
                  ("S3",))
    return Plan("test-region", "OPTIMAL", 9.0, 9.0, 0.5, [by_id["s-verif-1"], moved, new], [],
                meta={"created": "2022-04-01T08:00:00+00:00"},
                cancelled=[replace(by_id["s-online-1"], sequence=1)])


def dropped_replan(baseline: Plan | None = None) -> Plan:
    """The sample after a replan that takes S1 out of the online s-online-1 (S1 was the only
    school of M1 in it) and S3 out of the visit s-visit-1; both sessions still happen."""
    baseline = baseline or sample_plan()
    by_id = {s.id: s for s in sample_sessions()}
    new = Plan("test-region", "FEASIBLE", 9.0, None, 0.5, [
        by_id["s-verif-1"],
        replace(by_id["s-online-1"], schools=("S2",)),
        replace(by_id["s-visit-1"], schools=("S2",)),
        by_id["s-online-2"],
    ], [], meta={})
    plan = finish_replan(sample_instance(), baseline, new, date(2022, 3, 1), "тест")
    plan.meta["created"] = REPLAN_STAMP
    return plan


def plan_with_activities() -> Plan:
    plan = sample_plan()
    plan.activities = [
        ActivityDates("A1", date(2022, 3, 9), date(2022, 3, 11), slack_days=2, critical=False),
        ActivityDates("A2", date(2022, 4, 1), date(2022, 4, 1), slack_days=0, critical=True),
    ]
    return plan


def expected_parties(instance: Instance, session: Session) -> set[str]:
    """The file stems a session must appear in, worked out independently of the exporter."""
    stems = {"all", f"consultant-{session.consultant}"}
    stems |= {f"school-{s}" for s in session.schools}
    municipalities = {instance.schools[s].municipality for s in session.schools}
    if session.municipality:
        municipalities.add(session.municipality)
    stems |= {f"municipality-{m}" for m in municipalities}
    return stems
