"""A tiny instance and a hand-built plan for the document tests (appendix, workbook, report).

Built by hand, not solved, so every expected row is known exactly. The data carries the
awkward cases on purpose: a school named like an Excel formula, a consultant whose position
starts with «+», a school whose name is HTML, sessions in three months, an onsite and an
online format, an unmet need, roadmap activities, and (in `replanned`) a replan's changes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from helpers import BASE_TOML, rows_to_csv, write_instance
from models.domain import ActivityDates, Format, Instance, Plan, Session, Unmet
from planner.inputs.validation import load_instance

TZ = timezone(timedelta(hours=7))  # Asia/Novokuznetsk
INJECTION_NAME = '=HYPERLINK("http://x","y")'
HTML_NAME = '<img src=x onerror="window.__pwned=1"> «ООШ № 7»'
PLUS_POSITION = "+7 (384) методист ЦИМС"

MUNICIPALITIES = [
    {"id": "M1", "name": "Город А", "lat": "55.0", "lon": "86.0"},
    {"id": "M2", "name": "Крапивинский муниципальный округ", "lat": "55.0", "lon": "87.0"},
]
TOPICS = [
    {
        "id": "TV",
        "title": "Верификация рискового профиля",
        "risks": "",
        "stage": "verification",
        "format": "onsite",
        "duration_min": "120",
        "capacity": "1",
        "requires": "",
        "months": "",
    },
    {
        "id": "T1",
        "title": "Рисковый профиль для формирования направлений",
        "risks": "R03;R10",
        "stage": "program",
        "format": "online",
        "duration_min": "90",
        "capacity": "10",
        "requires": "",
        "months": "",
    },
    {
        "id": "T2",
        "title": "Дискуссионная площадка «Модель поддержки»",
        "risks": "R01",
        "stage": "support",
        "format": "onsite",
        "duration_min": "60",
        "capacity": "5",
        "requires": "",
        "months": "",
    },
]
CONSULTANTS = [
    {
        "id": "C1",
        "name": "Неверова Н. С.",
        "position": "зам. директора «Крапивинская СОШ»",
        "municipality": "M2",
        "topics": "TV;T1;T2",
        "max_per_month": "2",
        "max_total": "",
        "unavailable": "",
    },
    {
        "id": "C2",
        "name": "Бикбаева Л. А.",
        "position": PLUS_POSITION,
        "municipality": "M1",
        "topics": "T1;T2",
        "max_per_month": "3",
        "max_total": "10",
        "unavailable": "",
    },
]
SCHOOLS = [
    {
        "id": "S1",
        "name": "МБОУ «СОШ № 1»",
        "municipality": "M1",
        "risks": "R03",
        "priority": "1",
        "verified_on": "2022-02-01",
        "curator": "C1",
    },
    {
        "id": "S2",
        "name": INJECTION_NAME,
        "municipality": "M2",
        "risks": "R01;R05",
        "priority": "2",
        "verified_on": "2022-02-01",
        "curator": "",
    },
    {
        "id": "S3",
        "name": HTML_NAME,
        "municipality": "M2",
        "risks": "R10",
        "priority": "3",
        "verified_on": "",
        "curator": "C1",
    },
]
ROADMAP = [
    {
        "id": "A01",
        "title": "Назначение кураторов школ",
        "responsible": "Министерство образования",
        "indicator": "Приказ",
        "earliest": "",
        "latest": "",
        "duration_days": "0",
        "after": "",
        "fixed": "",
    },
    {
        "id": "A02",
        "title": "Верификация рисковых профилей",
        "responsible": "КРИПКиПРО; МОУО",
        "indicator": "Протоколы верификации",
        "earliest": "",
        "latest": "",
        "duration_days": "10",
        "after": "A01",
        "fixed": "",
    },
]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def sample_instance(
    folder: Path,
    *,
    roadmap: bool | list[dict[str, str]] = True,
    toml_extra: str = "",
) -> Instance:
    """The tiny instance; `roadmap` True gives ROADMAP, a list gives those rows; `toml_extra`
    is appended to its instance.toml (after the [rules] section)."""
    rows = roadmap if isinstance(roadmap, list) else ROADMAP
    extra = {"roadmap.csv": rows_to_csv(rows)} if roadmap else {}
    write_instance(
        folder,
        toml=BASE_TOML + toml_extra,
        municipalities=MUNICIPALITIES,
        topics=TOPICS,
        consultants=CONSULTANTS,
        schools=SCHOOLS,
        extra=extra,
    )
    instance, _warnings = load_instance(folder)
    return instance


def sample_sessions() -> list[Session]:
    """Four sessions in March, April (two) and May; listed out of order on purpose."""
    return [
        Session(
            "s-4",
            "T1",
            "C2",
            at(date(2022, 5, 17), 10),
            at(date(2022, 5, 17), 11, 30),
            Format.ONLINE,
            None,
            ("S1",),
        ),
        Session(
            "s-1",
            "TV",
            "C1",
            at(date(2022, 3, 15), 10),
            at(date(2022, 3, 15), 12),
            Format.ONSITE,
            "M2",
            ("S3",),
        ),
        Session(
            "s-3",
            "T2",
            "C2",
            at(date(2022, 4, 20), 14),
            at(date(2022, 4, 20), 15),
            Format.ONSITE,
            "M2",
            ("S2",),
        ),
        Session(
            "s-2",
            "T1",
            "C1",
            at(date(2022, 4, 12), 10),
            at(date(2022, 4, 12), 11, 30),
            Format.ONLINE,
            None,
            ("S1", "S2", "S3"),
        ),
    ]


def sample_plan(*, activities: bool = True) -> Plan:
    return Plan(
        instance="tiny",
        status="OPTIMAL",
        objective=123.0,
        bound=123.0,
        solve_seconds=0.5,
        sessions=sample_sessions(),
        unmet=[Unmet("S2", "R05", "ни одна тема не закрывает этот риск", "no_topic")],
        activities=[
            ActivityDates("A02", date(2022, 3, 2), date(2022, 3, 16), 0, True),
            ActivityDates("A01", date(2022, 3, 1), date(2022, 3, 1), 0, True),
        ]
        if activities
        else [],
    )


def replanned(plan: Plan) -> Plan:
    """The plan as models/replan.py leaves it: `meta["changes"]` in its shape (plus one key it
    does not write, to show unknown keys are kept), and the cancelled session in `cancelled`."""
    gone = Session(
        "s-9",
        "T2",
        "C1",
        at(date(2022, 5, 25), 10),
        at(date(2022, 5, 25), 11),
        Format.ONSITE,
        "M2",
        ("S2",),
        sequence=2,
    )
    changes = [
        {
            "kind": "moved",
            "session": "s-4",
            "topic": "T1",
            "consultant": "C2",
            "old_consultant": "C1",
            "old_start": "2022-05-10T10:00:00+07:00",
            "new_start": "2022-05-17T10:00:00+07:00",
            "old_schools": ["S1", "S3"],
            "schools": ["S1"],
            "municipality": None,
            "why": "консультант недоступен",
        },
        {
            "kind": "added",
            "session": "s-3",
            "topic": "T2",
            "consultant": "C2",
            "old_consultant": None,
            "old_start": None,
            "new_start": "2022-04-20T14:00:00+07:00",
            "old_schools": [],
            "schools": ["S2"],
            "municipality": "M2",
        },
        {
            "kind": "cancelled",
            "session": "s-9",
            "topic": "T2",
            "consultant": "C1",
            "old_consultant": "C1",
            "old_start": "2022-05-25T10:00:00+07:00",
            "new_start": None,
            "old_schools": ["S2"],
            "schools": [],
            "municipality": "M2",
        },
    ]
    return replace(plan, meta={**plan.meta, "changes": changes}, cancelled=[gone])
