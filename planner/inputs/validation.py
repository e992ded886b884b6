"""Raw tables -> a validated, typed `Instance`, or every problem at once.

Each check names the file, the row as the spreadsheet numbers it, the column and the
bad value, in Russian, so a regional methodologist can fix the spreadsheet without
help. Errors stop the run; warnings are shown and the run goes on.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
import networkx as nx

from models.calendar_days import DateRange, Month, months_between, parse_month
from models.domain import (
    Activity,
    Consultant,
    Format,
    Instance,
    Municipality,
    Risk,
    School,
    Stage,
    Topic,
)
from models.problems import InputError, Problem
from models.settings import REQUIRED, SECTIONS, Settings
from planner.inputs.loading import RawInstance, RawTable, read_instance
from planner.inputs.tables import TABLE_SPECS

T = TypeVar("T")

_ID_RE = re.compile(r"^[^\s;]+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def load_instance(path: Path | str) -> tuple[Instance, list[Problem]]:
    """Read and validate an instance. Returns it with its warnings; raises InputError on errors."""
    raw = read_instance(Path(path))
    instance, problems = build_instance(raw)
    if instance is None or any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return instance, problems


def builtin_risks() -> dict[str, Risk]:
    """The ten «500+» risk factors, from the package's data file."""
    text = resources.files("planner").joinpath("data/risks.csv").read_text(encoding="utf-8")
    return {row["id"]: Risk(row["id"], row["title"]) for row in csv.DictReader(text.splitlines())}


# --- cell readers ------------------------------------------------------------------------


class _Rows:
    """Reads the cells of one table, recording a Problem for each bad one."""

    def __init__(self, table: RawTable, problems: list[Problem]):
        self.table = table
        self.problems = problems

    def error(self, row: int | None, column: str | None, value: str | None, message: str) -> None:
        self.problems.append(Problem(self.table.display, message, row, column, value))

    def warn(self, row: int | None, column: str | None, value: str | None, message: str) -> None:
        self.problems.append(Problem(self.table.display, message, row, column, value, "warning"))

    def text(self, row: int, rec: dict[str, str], col: str, required: bool = True) -> str:
        value = rec.get(col, "")
        if required and not value:
            self.error(row, col, None, "пустая ячейка: значение обязательно")
        return value

    def ident(self, row: int, rec: dict[str, str], col: str = "id") -> str | None:
        value = rec.get(col, "")
        if not value:
            self.error(row, col, None, "пустой код: у каждой строки должен быть код")
            return None
        if not _ID_RE.match(value):
            self.error(row, col, value, "код не должен содержать пробелов и «;»")
            return None
        return value

    def integer(
        self, row: int, rec: dict[str, str], col: str, *, default: int | None = None, minimum: int = 1
    ) -> int | None:
        value = rec.get(col, "")
        if not value:
            if default is None:
                self.error(row, col, None, "пустая ячейка: нужно целое число")
            return default
        try:
            number = int(value)
        except ValueError:
            self.error(row, col, value, "нужно целое число")
            return None
        if number < minimum:
            what = "положительное" if minimum == 1 else f"не меньше {minimum}"
            self.error(row, col, value, f"число должно быть {what}")
            return None
        return number

    def real(self, row: int, rec: dict[str, str], col: str, lo: float, hi: float) -> float | None:
        value = rec.get(col, "").replace(",", ".")
        try:
            number = float(value)
        except ValueError:
            self.error(row, col, rec.get(col, ""), "нужно число с десятичной точкой")
            return None
        if not lo <= number <= hi:
            self.error(row, col, rec.get(col, ""), f"число вне диапазона {lo:g}..{hi:g}")
            return None
        return number

    def day(self, row: int, rec: dict[str, str], col: str) -> date | None:
        value = rec.get(col, "")
        if not value:
            return None
        parsed = _parse_date(value)
        if parsed is None:
            self.error(row, col, value, "неверная дата: нужен формат ГГГГ-ММ-ДД")
        return parsed

    def items(self, rec: dict[str, str], col: str) -> list[str]:
        return [x.strip() for x in rec.get(col, "").split(";") if x.strip()]

    def check_columns(self) -> bool:
        spec = TABLE_SPECS[self.table.name]
        missing = [c for c in spec.required_columns if c not in self.table.columns]
        for col in missing:
            self.error(1, col, None, "нет обязательного столбца (проверьте строку заголовка)")
        return not missing

    def unique(self, ids: list[tuple[int, str]]) -> None:
        first: dict[str, int] = {}
        for row, ident in ids:
            if ident in first:
                self.error(row, "id", ident, f"повторяющийся код: уже есть в строке {first[ident]}")
            else:
                first[ident] = row


def _parse_date(value: str) -> date | None:
    if not _DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# --- settings ----------------------------------------------------------------------------


class _SettingsReader:
    def __init__(self, raw: RawInstance, problems: list[Problem]):
        self.raw = raw
        self.problems = problems
        self.bad: set[tuple[str, str]] = set()  # settings given but unreadable

    def error(self, section: str, key: str, value: Any, message: str) -> None:
        row = self.raw.settings_rows.get((section, key))
        shown = None if value is None else _show_setting(value)
        self.problems.append(Problem(self.raw.settings_display, message, row, f"{section}.{key}", shown))

    def read(self) -> Settings:
        values: dict[str, dict[str, Any]] = {}
        for section, items in self.raw.settings.items():
            if section not in SECTIONS:
                known = ", ".join(SECTIONS)
                self.problems.append(
                    Problem(self.raw.settings_display, f"неизвестный раздел настроек (есть: {known})",
                            column=section)
                )
                continue
            if not isinstance(items, dict):
                self.error(section, "", items, "раздел должен содержать пары ключ = значение")
                continue
            cls = SECTIONS[section]
            known_keys = {f.name: f for f in fields(cls)}
            for key, value in items.items():
                if key not in known_keys:
                    self.error(section, key, value, "неизвестная настройка (см. `planner settings`)")
                    continue
                parsed = self._convert(section, key, value, known_keys[key].type)
                if parsed is None:
                    self.bad.add((section, key))
                else:
                    values.setdefault(section, {})[key] = parsed
        for section, key in REQUIRED:
            if key not in values.get(section, {}) and key not in self.raw.settings.get(section, {}):
                self.problems.append(
                    Problem(self.raw.settings_display, "нет обязательной настройки", None, f"{section}.{key}")
                )
        built = {name: SECTIONS[name](**values.get(name, {})) for name in SECTIONS}
        settings = Settings(**built)
        return self._check(settings)

    def _convert(self, section: str, key: str, value: Any, kind: Any) -> Any:
        kind = str(kind)
        if kind == "date":
            if isinstance(value, date):
                return value
            parsed = _parse_date(str(value).strip())
            if parsed is None:
                self.error(section, key, value, "неверная дата: нужен формат ГГГГ-ММ-ДД")
            return parsed
        if kind == "int":
            if isinstance(value, bool):
                self.error(section, key, value, "нужно целое число")
                return None
            try:
                return int(str(value).strip())
            except ValueError:
                self.error(section, key, value, "нужно целое число")
                return None
        if kind == "float":
            try:
                return float(str(value).strip().replace(",", "."))
            except ValueError:
                self.error(section, key, value, "нужно число")
                return None
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "да", "1"):
                return True
            if text in ("false", "нет", "0"):
                return False
            self.error(section, key, value, "нужно true или false")
            return None
        if kind == "tuple[Month, ...]":
            items = value if isinstance(value, list) else [x for x in str(value).split(";")]
            months = []
            for item in (str(x).strip() for x in items):
                if not item:
                    continue
                month = parse_month(item)
                if month is None:
                    self.error(section, key, item, "неверный месяц: нужен формат ГГГГ-ММ")
                else:
                    months.append(month)
            return tuple(months)
        if kind == "tuple[DateRange, ...]":
            return self._ranges(section, key, value)
        if kind.startswith("tuple[tuple[str, "):
            return self._pairs(section, key, value, as_int=kind.startswith("tuple[tuple[str, int]"))
        if key in ("day_start", "day_end", "depart"):
            text = str(value).strip()
            if not _TIME_RE.match(text):
                self.error(section, key, value, "неверное время: нужен формат ЧЧ:ММ")
                return None
            return text
        return str(value).strip()

    def _ranges(self, section: str, key: str, value: Any) -> tuple[DateRange, ...] | None:
        pairs: list[tuple[Any, Any]] = []
        if isinstance(value, list):
            for item in value:
                if isinstance(item, list) and len(item) == 2:
                    pairs.append((item[0], item[1]))
                else:
                    self.error(section, key, item, "каждый диапазон — пара дат [начало, конец]")
        else:
            for part in str(value).split(";"):
                part = part.strip()
                if not part:
                    continue
                a, sep, b = part.partition("..")
                if not sep:
                    self.error(section, key, part, "диапазон пишется как ГГГГ-ММ-ДД..ГГГГ-ММ-ДД")
                    continue
                pairs.append((a.strip(), b.strip()))
        out = []
        for a, b in pairs:
            da = a if isinstance(a, date) else _parse_date(str(a))
            db = b if isinstance(b, date) else _parse_date(str(b))
            if da is None or db is None:
                self.error(section, key, f"{a}..{b}", "неверная дата: нужен формат ГГГГ-ММ-ДД")
            elif db < da:
                self.error(section, key, f"{a}..{b}", "конец диапазона раньше начала")
            else:
                out.append(DateRange(da, db))
        return tuple(out)

    def _pairs(self, section: str, key: str, value: Any, as_int: bool) -> tuple[tuple[str, Any], ...] | None:
        """A table setting: a TOML table, or «ключ=значение» pairs separated by «;» (workbook)."""
        if isinstance(value, dict):
            items = [(str(k).strip(), v) for k, v in value.items()]
        else:
            parts = value if isinstance(value, list) else str(value).split(";")
            items = []
            for part in (str(x).strip() for x in parts):
                if not part:
                    continue
                k, sep, v = part.partition("=")
                if not sep or not k.strip():
                    self.error(section, key, part, "нужна пара «ключ = значение» (пары через «;»)")
                    return None
                items.append((k.strip().strip('"'), v.strip().strip('"')))
        out: dict[str, Any] = {}
        for k, v in items:
            if as_int:
                if isinstance(v, bool):
                    v = "?"
                try:
                    v = int(str(v).strip())
                except ValueError:
                    self.error(section, key, f"{k} = {v}", "нужно целое число")
                    return None
            else:
                v = str(v).strip()
            out[k] = v
        return tuple(sorted(out.items()))

    @property
    def horizon_ok(self) -> bool:
        """Both horizon ends given and readable (else date checks against it are skipped)."""
        for key in ("start", "end"):
            if ("horizon", key) in self.bad:
                return False
            if key not in self.raw.settings.get("horizon", {}):
                return False
        return True

    def _check(self, s: Settings) -> Settings:
        h = s.horizon
        if not self.horizon_ok:
            return s
        if h.end < h.start:
            self.error("horizon", "end", h.end, "конец горизонта раньше начала")
            return s
        try:
            ZoneInfo(s.region.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.error("region", "timezone", s.region.timezone,
                       "неизвестный часовой пояс (нужно имя IANA, например Asia/Novokuznetsk)")
        if s.region.holidays not in holidays_lib.list_supported_countries():
            self.error("region", "holidays", s.region.holidays, "неизвестный код страны для праздников")
        horizon_months = set(months_between(h.start, h.end))
        for month in h.blocked_months:
            if month not in horizon_months:
                self.error("horizon", "blocked_months", month, "месяц вне горизонта планирования")
        for rng in h.vacations:
            if rng.end < h.start or rng.start > h.end:
                self.error("horizon", "vacations", str(rng), "каникулы вне горизонта планирования")
        r = s.rules
        if r.school_max_sessions_per_month < 1:
            self.error("rules", "school_max_sessions_per_month", r.school_max_sessions_per_month,
                       "число должно быть положительным")
        if r.min_topics_per_risk < 1:
            self.error("rules", "min_topics_per_risk", r.min_topics_per_risk, "число должно быть положительным")
        for name in ("visitor_candidates", "max_gap_months", "verification_months", "max_onsite_per_month"):
            if getattr(r, name) < 0:
                self.error("rules", name, getattr(r, name), "число не может быть отрицательным")
        t = s.timing
        if t.day_end <= t.day_start:
            self.error("timing", "day_end", t.day_end, "конец рабочего дня раньше начала")
        if t.travel_speed_kmh < 1:
            self.error("timing", "travel_speed_kmh", t.travel_speed_kmh, "число должно быть положительным")
        if t.road_factor < 1:
            self.error("timing", "road_factor", t.road_factor, "коэффициент должен быть не меньше 1")
        for f in fields(s.weights):
            if getattr(s.weights, f.name) < 0:
                self.error("weights", f.name, getattr(s.weights, f.name), "вес не может быть отрицательным")
        rm = s.roadmap
        if rm.executor_limit < 0:
            self.error("roadmap", "executor_limit", rm.executor_limit, "число не может быть отрицательным")
        for executor, limit in rm.executor_limits:
            if limit < 0:
                self.error("roadmap", "executor_limits", f"{executor} = {limit}",
                           "число не может быть отрицательным")
        for name in ("weight_finish", "weight_delay"):
            if getattr(rm, name) < 0:
                self.error("roadmap", name, getattr(rm, name), "вес не может быть отрицательным")
        if rm.time_limit_s <= 0:
            self.error("roadmap", "time_limit_s", rm.time_limit_s, "число должно быть положительным")
        for stage, _ in rm.stage_after:
            if stage not in {st.value for st in Stage}:
                self.error("roadmap", "stage_after", stage,
                           "неизвестный этап (есть: " + ", ".join(st.value for st in Stage) + ")")
        return s


def _show_setting(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_show_setting(v) for v in value)
    return str(value)


# --- the instance ------------------------------------------------------------------------


def build_instance(raw: RawInstance) -> tuple[Instance | None, list[Problem]]:
    """Validate raw tables. Returns (instance or None, every problem found)."""
    problems = list(raw.problems)
    reader = _SettingsReader(raw, problems)
    settings = reader.read()
    horizon_ok = reader.horizon_ok and settings.horizon.start <= settings.horizon.end
    # With no usable horizon every date passes the horizon checks (the horizon error is reported).
    horizon = (DateRange(settings.horizon.start, settings.horizon.end) if horizon_ok
               else DateRange(date.min, date.max))
    horizon_months = set(months_between(horizon.start, horizon.end)) if horizon_ok else set()

    readers = {name: _Rows(t, problems) for name, t in raw.tables.items()}
    usable = {name: r for name, r in readers.items() if r.check_columns()}

    risks = _risks(usable.get("risks"))
    municipalities = _municipalities(usable.get("municipalities"))
    topics_rows = _topics(usable.get("topics"), risks, horizon_months)
    consultants_rows = _consultants(usable.get("consultants"), horizon, horizon_months)
    schools_rows = _schools(usable.get("schools"), risks, horizon)
    topics = {t.id: t for _, t in topics_rows}
    consultants = {c.id: c for _, c in consultants_rows}
    schools = {s.id: s for _, s in schools_rows}

    # References between tables.
    if "consultants" in usable:
        r = usable["consultants"]
        for row, c in consultants_rows:
            if municipalities and c.municipality not in municipalities:
                r.error(row, "municipality", c.municipality, "неизвестный муниципалитет (нет в municipalities)")
            for t in c.topics:
                if topics and t not in topics:
                    r.error(row, "topics", t, "неизвестная тема (нет в topics)")
    if "topics" in usable:
        r = usable["topics"]
        for row, t in topics_rows:
            for req in t.requires:
                if req not in topics:
                    r.error(row, "requires", req, "неизвестная тема в требованиях (нет в topics)")
                elif req == t.id:
                    r.error(row, "requires", req, "тема требует саму себя")
        _requires_cycles(r, topics_rows, topics)
        delivered = {t for c in consultants.values() for t in c.topics}
        if consultants:
            for row, t in topics_rows:
                if t.id not in delivered:
                    r.error(row, "id", t.id, "эту тему не ведёт ни один консультант")
    if "schools" in usable:
        r = usable["schools"]
        verification = [t.id for t in topics.values() if t.stage == Stage.VERIFICATION]
        for row, s in schools_rows:
            if municipalities and s.municipality not in municipalities:
                r.error(row, "municipality", s.municipality, "неизвестный муниципалитет (нет в municipalities)")
            if s.curator is not None:
                if consultants and s.curator not in consultants:
                    r.error(row, "curator", s.curator, "неизвестный куратор (нет в consultants)")
                elif s.curator in consultants and s.verified_on is None and verification:
                    if not set(verification) & set(consultants[s.curator].topics):
                        r.error(row, "curator", s.curator,
                                "куратор не ведёт тему верификации (этап verification), а профиль школы"
                                " не верифицирован: добавьте куратору эту тему")
        if topics and not verification and any(s.verified_on is None for s in schools.values()):
            r.warn(None, "verified_on", None,
                   "есть неверифицированные школы, но нет темы этапа verification: визиты кураторов"
                   " не будут запланированы")
    _uncovered_risk_warnings(usable.get("schools"), schools_rows, topics, risks)

    activities = _activities(usable.get("roadmap"), horizon)
    _roadmap_links(reader, settings, activities, "roadmap" in raw.tables)

    if any(p.severity == "error" for p in problems):
        return None, problems
    instance = Instance(
        name=raw.name,
        settings=settings,
        municipalities=municipalities,
        risks=risks,
        schools=schools,
        consultants=consultants,
        topics=topics,
        activities=activities,
    )
    return instance, problems


def _each_row(r: _Rows | None, parse: Callable[[int, dict[str, str], str | None], T | None]) -> list[tuple[int, T]]:
    """(row, item) for each row of a table, the first of each id. Every table is read the same
    way: the row's id is checked first, then `parse(row, rec, id)` checks the other cells and
    returns the item (None when the id or a cell the item cannot do without is unusable; its
    problems are recorded either way, so that every problem is listed at once); repeated ids
    are reported after the last row."""
    if r is None:
        return []
    out = []
    ids = []
    for row, rec in r.table.rows:
        ident = r.ident(row, rec)
        item = parse(row, rec, ident)
        if ident:
            ids.append((row, ident))
            if item is not None:
                out.append((row, item))
    r.unique(ids)
    return _first_of_each(out)


def _risks(r: _Rows | None) -> dict[str, Risk]:
    if r is None:
        return builtin_risks()

    def parse(row: int, rec: dict[str, str], ident: str | None) -> Risk | None:
        title = r.text(row, rec, "title")
        return Risk(ident, title) if ident else None

    return {x.id: x for _, x in _each_row(r, parse)}


def _municipalities(r: _Rows | None) -> dict[str, Municipality]:
    def parse(row: int, rec: dict[str, str], ident: str | None) -> Municipality | None:
        name = r.text(row, rec, "name")
        lat = r.real(row, rec, "lat", -90, 90)
        lon = r.real(row, rec, "lon", -180, 180)
        return Municipality(ident, name, lat, lon) if ident and lat is not None and lon is not None else None

    return {x.id: x for _, x in _each_row(r, parse)}


def _risk_list(r: _Rows, row: int, rec: dict[str, str], col: str, risks: dict[str, Risk]) -> tuple[str, ...]:
    out = []
    for code in r.items(rec, col):
        if code not in risks:
            r.error(row, col, code, f"неизвестный код риска (есть {', '.join(risks)})")
        elif code not in out:
            out.append(code)
    return tuple(out)


def _topics(r: _Rows | None, risks: dict[str, Risk], horizon_months: set[Month]) -> list[tuple[int, Topic]]:
    def parse(row: int, rec: dict[str, str], ident: str | None) -> Topic | None:
        title = r.text(row, rec, "title")
        topic_risks = _risk_list(r, row, rec, "risks", risks)
        stage_text = rec.get("stage", "")
        format_text = rec.get("format", "")
        stage = fmt = None
        try:
            stage = Stage(stage_text)
        except ValueError:
            r.error(row, "stage", stage_text, "этап должен быть одним из: verification, program, support, monitoring")
        try:
            fmt = Format(format_text)
        except ValueError:
            r.error(row, "format", format_text, "формат должен быть onsite или online")
        duration = r.integer(row, rec, "duration_min")
        capacity = r.integer(row, rec, "capacity")
        requires = tuple(dict.fromkeys(r.items(rec, "requires")))
        months = []
        for item in r.items(rec, "months"):
            month = parse_month(item)
            if month is None:
                r.error(row, "months", item, "неверный месяц: нужен формат ГГГГ-ММ")
            elif horizon_months and month not in horizon_months:
                r.error(row, "months", item, "месяц вне горизонта планирования")
            else:
                months.append(month)
        if not ident:
            return None
        # Bad cells are already recorded; keep the row (with placeholders) so that
        # references to it are still checked and every problem is listed at once.
        return Topic(ident, title, topic_risks, stage or Stage.SUPPORT, fmt or Format.ONLINE,
                     duration or 1, capacity or 1, requires, tuple(months))

    return _each_row(r, parse)


def _consultants(r: _Rows | None, horizon: DateRange, horizon_months: set[Month]) -> list[tuple[int, Consultant]]:
    def parse(row: int, rec: dict[str, str], ident: str | None) -> Consultant | None:
        name = r.text(row, rec, "name")
        municipality = r.text(row, rec, "municipality")
        topics = tuple(dict.fromkeys(r.items(rec, "topics")))
        if not topics:
            r.error(row, "topics", None, "у консультанта нет ни одной темы")
        per_month = r.integer(row, rec, "max_per_month")
        total = r.integer(row, rec, "max_total", default=0) or None
        onsite = r.integer(row, rec, "max_onsite_per_month", default=-1, minimum=0)
        unavailable = []
        for item in r.items(rec, "unavailable"):
            rng = _parse_unavailable(item)
            if rng is None:
                r.error(row, "unavailable", item,
                        "нужен месяц ГГГГ-ММ или диапазон ГГГГ-ММ-ДД..ГГГГ-ММ-ДД (конец не раньше начала)")
            elif rng.end < horizon.start or rng.start > horizon.end:
                r.error(row, "unavailable", item, "период вне горизонта планирования")
            else:
                unavailable.append(rng)
        if not ident:
            return None
        return Consultant(ident, name, rec.get("position", ""), municipality, topics,
                          per_month or 1, total, tuple(unavailable),
                          None if onsite is None or onsite < 0 else onsite)

    return _each_row(r, parse)


def _parse_unavailable(item: str) -> DateRange | None:
    month = parse_month(item)
    if month is not None:
        return DateRange.of_month(month)
    a, sep, b = item.partition("..")
    if not sep:
        return None
    da, db = _parse_date(a.strip()), _parse_date(b.strip())
    if da is None or db is None or db < da:
        return None
    return DateRange(da, db)


def _schools(r: _Rows | None, risks: dict[str, Risk], horizon: DateRange) -> list[tuple[int, School]]:
    def parse(row: int, rec: dict[str, str], ident: str | None) -> School | None:
        name = r.text(row, rec, "name")
        municipality = r.text(row, rec, "municipality")
        school_risks = _risk_list(r, row, rec, "risks", risks)
        if not r.items(rec, "risks"):
            r.warn(row, "risks", None, "пустой рисковый профиль: школе нужна только верификация")
        priority = r.integer(row, rec, "priority", default=2)
        if priority is not None and priority > 3:
            r.error(row, "priority", rec.get("priority"), "приоритет должен быть 1, 2 или 3")
            priority = None
        verified = r.day(row, rec, "verified_on")
        if verified is not None and verified > horizon.end:
            r.error(row, "verified_on", rec.get("verified_on"), "дата верификации позже конца горизонта")
        curator = rec.get("curator", "") or None
        if not ident:
            return None
        return School(ident, name, municipality, school_risks, priority or 2, verified, curator)

    return _each_row(r, parse)


def _first_of_each(rows: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    seen: set[str] = set()
    out = []
    for row, item in rows:
        if item.id not in seen:
            seen.add(item.id)
            out.append((row, item))
    return out


def _requires_cycles(r: _Rows, rows: list[tuple[int, Topic]], topics: dict[str, Topic]) -> None:
    graph = nx.DiGraph()
    row_of = {t.id: row for row, t in rows}
    for t in topics.values():
        graph.add_node(t.id)
        for req in t.requires:
            if req in topics and req != t.id:
                graph.add_edge(req, t.id)
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(graph.subgraph(component))
        names = [a for a, _ in cycle] + [cycle[0][0]]
        first = min(component, key=lambda t: row_of[t])
        r.error(row_of[first], "requires", topics[first].requires and ";".join(topics[first].requires),
                "требования тем образуют цикл: " + " → ".join(names)
                + " (ни одну из этих тем нельзя провести первой)")


def _uncovered_risk_warnings(
    r: _Rows | None, rows: list[tuple[int, School]], topics: dict[str, Topic], risks: dict[str, Risk]
) -> None:
    if r is None or not topics:
        return
    addressed = {code for t in topics.values() for code in t.risks}
    needing: dict[str, list[str]] = {}
    for _, s in rows:
        for code in s.risks:
            if code not in addressed:
                needing.setdefault(code, []).append(s.id)
    for code, schools in needing.items():
        title = risks[code].title if code in risks else code
        r.warn(None, "risks", code,
               f"риск «{title}» не закрывает ни одна тема; он останется непокрытым у {len(schools)} школ(ы)")


def _activities(r: _Rows | None, horizon: DateRange) -> dict[str, Activity]:
    """roadmap.csv -> activities. Windows may reach outside the horizon: a roadmap usually
    starts before the consultations (appointments, orders) and may end after them."""
    if r is None:
        return {}
    known = {c.name for c in TABLE_SPECS["roadmap"].columns}

    def parse(row: int, rec: dict[str, str], ident: str | None) -> Activity | None:
        title = r.text(row, rec, "title")
        earliest = _window_day(r, row, rec, "earliest", start=True)
        latest = _window_day(r, row, rec, "latest", start=False)
        duration = r.integer(row, rec, "duration_days", default=0, minimum=0)
        fixed = r.day(row, rec, "fixed")
        if earliest is not None and latest is not None and latest < earliest:
            r.error(row, "latest", rec.get("latest"), f"конец окна раньше его начала ({rec.get('earliest')})")
        if fixed is not None and earliest is not None and fixed < earliest:
            r.error(row, "fixed", rec.get("fixed"), f"фиксированная дата раньше начала окна ({rec.get('earliest')})")
        if fixed is not None and latest is not None and fixed > latest:
            r.error(row, "fixed", rec.get("fixed"), f"фиксированная дата позже конца окна ({rec.get('latest')})")
        extra = tuple((k, v) for k, v in rec.items() if k not in known)
        if not ident:
            return None
        return Activity(ident, title, rec.get("responsible", ""), rec.get("indicator", ""), earliest, latest,
                        duration or 0, tuple(dict.fromkeys(r.items(rec, "after"))), fixed, extra)

    first = _each_row(r, parse)
    out = {a.id: a for _, a in first}
    rows = {a.id: row for row, a in first}
    for row, rec in r.table.rows:
        for dep in r.items(rec, "after"):
            if dep not in out:
                r.error(row, "after", dep, "неизвестное мероприятие (нет в roadmap)")
            elif dep == rec.get("id"):
                r.error(row, "after", dep, "мероприятие не может идти после самого себя")
    _after_cycles(r, rows, out)
    return out


def _after_cycles(r: _Rows, rows: dict[str, int], activities: dict[str, Activity]) -> None:
    """Every cycle of `after` dependencies is an error naming each activity on it."""
    graph = nx.DiGraph()
    for a in activities.values():
        graph.add_node(a.id)
        for dep in a.after:
            if dep in activities and dep != a.id:
                graph.add_edge(dep, a.id)
    components = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    for component in sorted(components, key=lambda c: min(rows[a] for a in c)):
        first = min(component, key=lambda a: rows[a])
        # The cycle through the first activity (in file order), written in dependency order.
        cycle = nx.find_cycle(graph.subgraph(component), source=first)
        names = [a for a, _ in cycle] + [cycle[0][0]]
        listed = ", ".join(sorted(component, key=lambda a: rows[a]))
        r.error(rows[first], "after", ";".join(activities[first].after),
                "зависимости мероприятий образуют цикл: " + " → ".join(names)
                + f" (ни одно из мероприятий {listed} нельзя начать первым)")


def _roadmap_links(
    reader: _SettingsReader, settings: Settings, activities: dict[str, Activity], has_roadmap: bool
) -> None:
    """`[roadmap] stage_after` and `executor_limits` must name activities / executors of roadmap.csv."""
    from models.roadmap import executors_of

    rm = settings.roadmap
    for stage, activity in rm.stage_after:
        if not has_roadmap:
            reader.error("roadmap", "stage_after", f"{stage} = {activity}",
                         "связь с мероприятием задана, но файла roadmap.csv нет")
        elif activities and activity not in activities:
            reader.error("roadmap", "stage_after", f"{stage} = {activity}",
                         "неизвестное мероприятие (нет в roadmap.csv)")
    if activities:
        executors = {e for a in activities.values() for e in executors_of(a)}
        for executor, _ in rm.executor_limits:
            if executor not in executors:
                row = reader.raw.settings_rows.get(("roadmap", "executor_limits"))
                reader.problems.append(Problem(
                    reader.raw.settings_display,
                    "такого исполнителя нет в столбце responsible файла roadmap.csv: предел не действует",
                    row, "roadmap.executor_limits", executor, "warning"))


def _window_day(r: _Rows, row: int, rec: dict[str, str], col: str, start: bool) -> date | None:
    value = rec.get(col, "")
    if not value:
        return None
    month = parse_month(value)
    if month is not None:
        rng = DateRange.of_month(month)
        return rng.start if start else rng.end
    parsed = _parse_date(value)
    if parsed is None:
        r.error(row, col, value, "нужна дата ГГГГ-ММ-ДД или месяц ГГГГ-ММ")
    return parsed


def with_settings(instance: Instance, **sections: Any) -> Instance:
    """A copy of the instance with some settings sections replaced (used by tests and scenarios)."""
    return replace(instance, settings=replace(instance.settings, **sections))
