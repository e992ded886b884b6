"""What-if scenarios: a TOML file of changes → a changed instance (shared/formats.md, "Scenario").

Kinds (each an array of tables, `[[kind]]`):

| kind | fields | effect |
|---|---|---|
| consultant_unavailable | consultant, from, to | the consultant is away on these dates |
| month_blocked | month | no consultations in that month |
| school_risks | school, risks | the school's risk profile is replaced (e.g. after verification) |
| school_added | id, name, municipality, risks, priority?, verified_on?, curator? | a new school joins |
| school_removed | school | the school leaves: no further sessions, its needs are dropped |
| consultant_added | id, name, position?, municipality, topics, max_per_month, max_total? | a new consultant |
| topic_months | topic, months | the months a topic may be held in are replaced |
| consultant_capacity | consultant, max_per_month?, max_total? | a consultant's limits change |
| topic_capacity | topic, capacity | schools per session of a topic |

Top-level keys: `name` (shown in reports), `freeze_before` (date; sessions starting before it
are history). Every problem is reported at once, naming the file, the entry
(`[[kind]] №N`) and the field, in Russian.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from models.calendar_days import DateRange, Month, month_of, parse_month
from models.domain import Consultant, Instance, School
from models.problems import InputError, Problem

KINDS = ("consultant_unavailable", "month_blocked", "school_risks", "school_added", "school_removed",
         "consultant_added", "topic_months", "consultant_capacity", "topic_capacity")

# Additions and removals first, so that other entries may refer to a school or consultant the
# same scenario adds (a new school's curator, a new consultant's absence), and so that changing
# the risks of a school the scenario removes is reported as the contradiction it is.
APPLY_ORDER = ("consultant_added", "school_added", "school_removed", "consultant_unavailable", "month_blocked",
               "school_risks", "topic_months", "consultant_capacity", "topic_capacity")
assert sorted(APPLY_ORDER) == sorted(KINDS)


@dataclass
class Scenario:
    name: str
    freeze_before: date | None
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    path: str = ""

    def count(self) -> int:
        return sum(len(v) for v in self.entries.values())


def read_scenario(path: Path) -> Scenario:
    path = Path(path)
    if not path.exists():
        raise InputError([Problem(str(path), "нет такого файла сценария")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(path.name, f"файл сценария не читается как TOML: {exc}")]) from None
    return parse_scenario(text, path.name, path.stem)


def parse_scenario(text: str, source: str, default_name: str = "") -> Scenario:
    """A scenario from its TOML text; `source` names it in messages (a file name, or what a
    person sent), `default_name` is its name when the text has none."""
    path = Path(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(path.name, f"файл сценария не читается как TOML: {exc}")]) from None
    problems: list[Problem] = []
    freeze = data.get("freeze_before")
    if freeze is not None and not isinstance(freeze, date):
        problems.append(Problem(path.name, "нужна дата ГГГГ-ММ-ДД (без кавычек)", column="freeze_before",
                                value=str(freeze)))
        freeze = None
    entries: dict[str, list[dict[str, Any]]] = {}
    for key, value in data.items():
        if key in ("name", "freeze_before"):
            continue
        if key not in KINDS:
            problems.append(Problem(path.name, f"неизвестный вид изменения (есть: {', '.join(KINDS)})",
                                    column=f"[[{key}]]"))
            continue
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(i, dict) for i in items):
            problems.append(Problem(path.name, "изменение записывается как [[вид]] с полями", column=f"[[{key}]]"))
            continue
        entries[key] = items
    if problems:
        raise InputError(problems)
    return Scenario(str(data.get("name", default_name)), freeze, entries, path.name)


class _Applier:
    def __init__(self, scenario: Scenario, instance: Instance):
        self.sc, self.inst = scenario, instance
        self.problems: list[Problem] = []
        self.schools = dict(instance.schools)
        self.consultants = dict(instance.consultants)
        self.topics = dict(instance.topics)
        self.blocked = list(instance.settings.horizon.blocked_months)

    def error(self, kind: str, i: int, fld: str, value: Any, message: str) -> None:
        self.problems.append(Problem(self.sc.path, message, column=f"[[{kind}]] №{i + 1}, поле {fld}",
                                     value=None if value is None else str(value)))

    def need(self, kind: str, i: int, entry: dict, fld: str, typ: type | tuple = str) -> Any:
        if fld not in entry:
            self.error(kind, i, fld, None, "нет обязательного поля")
            return None
        value = entry[fld]
        if typ is date and not isinstance(value, date):
            self.error(kind, i, fld, value, "нужна дата ГГГГ-ММ-ДД (без кавычек)")
            return None
        if typ is int and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            self.error(kind, i, fld, value, "нужно целое неотрицательное число")
            return None
        if typ is list and not isinstance(value, list):
            self.error(kind, i, fld, value, "нужен список, например [\"R01\", \"R03\"]")
            return None
        return value

    def ref(self, kind: str, i: int, entry: dict, fld: str, table: dict, what: str) -> str | None:
        ident = self.need(kind, i, entry, fld)
        if ident is None:
            return None
        if str(ident) not in table:
            self.error(kind, i, fld, ident, f"неизвестный {what}")
            return None
        return str(ident)

    def months(self, kind: str, i: int, fld: str, values: list) -> list[Month]:
        out = []
        horizon = DateRange(self.inst.settings.horizon.start, self.inst.settings.horizon.end)
        for v in values:
            m = parse_month(str(v))
            if m is None:
                self.error(kind, i, fld, v, "неверный месяц: нужен формат ГГГГ-ММ")
            elif not (month_of(horizon.start) <= m <= month_of(horizon.end)):
                self.error(kind, i, fld, v, "месяц вне горизонта планирования")
            else:
                out.append(m)
        return out

    def risks(self, kind: str, i: int, values: list) -> tuple[str, ...]:
        out = []
        for r in values:
            if str(r) not in self.inst.risks:
                self.error(kind, i, "risks", r, "неизвестный код риска")
            else:
                out.append(str(r))
        return tuple(out)

    def apply(self) -> Instance:
        sc, inst, freeze = self.sc, self.inst, self.sc.freeze_before
        touched_schools: dict[str, str] = {}
        for kind in APPLY_ORDER:
            for i, e in enumerate(sc.entries.get(kind, [])):
                getattr(self, f"_{kind}")(i, e, freeze, touched_schools)
        if self.problems:
            raise InputError(self.problems)
        settings = dataclasses.replace(
            inst.settings, horizon=dataclasses.replace(inst.settings.horizon, blocked_months=tuple(self.blocked)))
        return dataclasses.replace(inst, settings=settings, schools=self.schools,
                                   consultants=self.consultants, topics=self.topics)

    # one method per kind ------------------------------------------------------------

    def _consultant_unavailable(self, i, e, freeze, _t) -> None:
        kind = "consultant_unavailable"
        cid = self.ref(kind, i, e, "consultant", self.consultants, "консультант")
        start, end = self.need(kind, i, e, "from", date), self.need(kind, i, e, "to", date)
        # The dates are checked even when the consultant is unknown: every problem at once.
        if start is not None and end is not None and end < start:
            self.error(kind, i, "to", end, "конец периода раньше начала")
            return
        if start is not None and freeze is not None and start < freeze:
            self.error(kind, i, "from", start, f"период начинается до даты заморозки {freeze:%d.%m.%Y}:"
                                               " прошлое не перепланируется")
            return
        if cid is None or start is None or end is None:
            return
        c = self.consultants[cid]
        self.consultants[cid] = dataclasses.replace(c, unavailable=c.unavailable + (DateRange(start, end),))

    def _month_blocked(self, i, e, freeze, _t) -> None:
        kind = "month_blocked"
        value = self.need(kind, i, e, "month")
        if value is None:
            return
        months = self.months(kind, i, "month", [value])
        for m in months:
            if freeze is not None and m < month_of(freeze):
                self.error(kind, i, "month", m, "месяц раньше даты заморозки: прошлое не перепланируется")
            elif freeze is not None and m == month_of(freeze) and freeze.day > 1:
                self.error(kind, i, "month", m, f"в этом месяце до {freeze:%d.%m.%Y} уже прошли консультации;"
                                                " закройте месяц со следующего")
            elif m not in self.blocked:
                self.blocked.append(m)

    def _school_risks(self, i, e, _freeze, touched) -> None:
        kind = "school_risks"
        sid = self.ref(kind, i, e, "school", self.schools, "код школы")
        risks = self.need(kind, i, e, "risks", list)
        codes = self.risks(kind, i, risks) if risks is not None else None  # checked whatever the school
        if sid is None or codes is None:
            return
        if touched.get(sid) == "removed":
            self.error(kind, i, "school", sid, "школа в этом же сценарии выбывает (school_removed)")
            return
        self.schools[sid] = dataclasses.replace(self.schools[sid], risks=codes)

    def _school_added(self, i, e, _freeze, touched) -> None:
        kind = "school_added"
        sid = self.need(kind, i, e, "id")
        name = self.need(kind, i, e, "name")
        mun = self.ref(kind, i, e, "municipality", self.inst.municipalities, "муниципалитет")
        risks = self.need(kind, i, e, "risks", list)
        if sid is None or name is None or mun is None or risks is None:
            return
        if str(sid) in self.schools:
            self.error(kind, i, "id", sid, "школа с таким кодом уже есть")
            return
        priority = e.get("priority", 2)
        if priority not in (1, 2, 3):
            self.error(kind, i, "priority", priority, "приоритет должен быть 1, 2 или 3")
            return
        curator = e.get("curator")
        if isinstance(curator, str) and not curator.strip():
            curator = None  # "" = no curator yet, as an empty cell in schools.csv
        if curator is not None and str(curator) not in self.consultants:
            self.error(kind, i, "curator", curator, "неизвестный консультант")
            return
        verified = e.get("verified_on")
        if verified is not None and not isinstance(verified, date):
            self.error(kind, i, "verified_on", verified, "нужна дата ГГГГ-ММ-ДД (без кавычек)")
            return
        self.schools[str(sid)] = School(str(sid), str(name), mun, self.risks(kind, i, risks), priority,
                                        verified, None if curator is None else str(curator))
        touched[str(sid)] = "added"

    def _school_removed(self, i, e, _freeze, touched) -> None:
        kind = "school_removed"
        sid = self.ref(kind, i, e, "school", self.schools, "код школы")
        if sid is None:
            return
        self.schools[sid] = dataclasses.replace(self.schools[sid], withdrawn=True)
        touched[sid] = "removed"

    def _consultant_added(self, i, e, _freeze, _t) -> None:
        kind = "consultant_added"
        cid, name = self.need(kind, i, e, "id"), self.need(kind, i, e, "name")
        mun = self.ref(kind, i, e, "municipality", self.inst.municipalities, "муниципалитет")
        topics = self.need(kind, i, e, "topics", list)
        per_month = self.need(kind, i, e, "max_per_month", int)
        if None in (cid, name, mun, topics, per_month):
            return
        if str(cid) in self.consultants:
            self.error(kind, i, "id", cid, "консультант с таким кодом уже есть")
            return
        bad = [t for t in topics if str(t) not in self.topics]
        for t in bad:
            self.error(kind, i, "topics", t, "неизвестная тема")
        if bad:
            return
        total = e.get("max_total")
        if total is not None and (not isinstance(total, int) or total < 0):
            self.error(kind, i, "max_total", total, "нужно целое неотрицательное число")
            return
        self.consultants[str(cid)] = Consultant(str(cid), str(name), str(e.get("position", "")), mun,
                                                tuple(str(t) for t in topics), per_month, total)

    def _topic_months(self, i, e, _freeze, _t) -> None:
        kind = "topic_months"
        tid = self.ref(kind, i, e, "topic", self.topics, "код темы")
        months = self.need(kind, i, e, "months", list)
        parsed = self.months(kind, i, "months", months) if months is not None else None  # whatever the topic
        if tid is None or parsed is None:
            return
        self.topics[tid] = dataclasses.replace(self.topics[tid], months=tuple(parsed))

    def _consultant_capacity(self, i, e, _freeze, _t) -> None:
        kind = "consultant_capacity"
        cid = self.ref(kind, i, e, "consultant", self.consultants, "консультант")
        changes = {}
        for fld in ("max_per_month", "max_total"):
            if fld in e:
                v = self.need(kind, i, e, fld, int)
                if v is not None:
                    changes[fld] = v
        if not any(fld in e for fld in ("max_per_month", "max_total")):
            self.error(kind, i, "max_per_month", None, "укажите max_per_month и/или max_total")
            return
        if cid is None or not changes:  # each wrong field is already reported
            return
        self.consultants[cid] = dataclasses.replace(self.consultants[cid], **changes)

    def _topic_capacity(self, i, e, _freeze, _t) -> None:
        kind = "topic_capacity"
        tid = self.ref(kind, i, e, "topic", self.topics, "код темы")
        cap = self.need(kind, i, e, "capacity", int)
        if cap is not None and cap < 1:
            self.error(kind, i, "capacity", cap, "вместимость должна быть положительной")
            return
        if tid is None or cap is None:
            return
        self.topics[tid] = dataclasses.replace(self.topics[tid], capacity=cap)


def apply_scenario(scenario: Scenario, instance: Instance) -> Instance:
    """The instance as the scenario changes it (the original is not modified)."""
    return _Applier(scenario, instance).apply()
