"""What a replan changed, as people read it: one `Change` per session added, moved or cancelled.

Shared by the workbook's «Изменения» sheet, the report's «Что изменилось» and the change
document (`changes.docx`). Built from the plan alone — `meta.changes` as `models/replan.py`
writes it (unknown keys kept as details, other spellings of the kind accepted), the plan's
sessions and `cancelled` — and, when the baseline is at hand, from the baseline too (where a
moved session used to be). Never an internal session id: a person finds a session by its topic,
date, consultant and place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.domain import Format, Instance, Plan, Session
from planner.exports.documents_common import (
    consultant_name,
    local_time,
    municipality_name,
    quoted_title,
    topic_title,
)

KIND_ALIASES = {
    "added": "added",
    "new": "added",
    "moved": "moved",
    "rescheduled": "moved",
    "retimed": "moved",
    "reassigned": "moved",
    "consultant": "moved",
    "schools": "moved",
    "changed": "moved",
    "modified": "moved",
    "removed": "cancelled",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "deleted": "cancelled",
}
"""Spellings of a change's kind → added | moved | cancelled."""

KIND_TITLES = {
    "added": "добавлена",
    "cancelled": "отменена",
    "rescheduled": "перенесена",
    "reassigned": "сменился консультант",
    "schools": "изменился состав школ",
}
"""What happened, in words: a moved session is «перенесена» when its time changed, else
«сменился консультант», else «изменился состав школ»."""

_KNOWN_KEYS = {
    "kind", "type", "change", "session", "id", "session_id", "topic", "consultant",
    "old_consultant", "new_consultant", "old_start", "new_start", "schools", "old_schools",
    "new_schools", "municipality", "before", "after",
}


@dataclass(frozen=True)
class SchoolRef:
    """A school with its municipality, kept apart so that a list never mixes them up."""

    id: str
    name: str
    municipality: str

    @property
    def label(self) -> str:
        """«МБОУ «СОШ № 1» (Беловский городской округ)»."""
        return f"{self.name} ({self.municipality})" if self.municipality else self.name


@dataclass(frozen=True)
class Change:
    """One changed session. `kind` is added | moved | cancelled; `title` says it in words."""

    kind: str
    title: str
    topic: str
    before: datetime | None
    after: datetime | None
    consultant_before: str
    consultant_after: str
    format: str
    place_before: str
    place_after: str
    schools_before: tuple[SchoolRef, ...]
    schools_after: tuple[SchoolRef, ...]
    details: str
    consultant_id: str = ""
    old_consultant_id: str = ""

    @property
    def joined(self) -> tuple[SchoolRef, ...]:
        old = {s.id for s in self.schools_before}
        return tuple(s for s in self.schools_after if s.id not in old)

    @property
    def left(self) -> tuple[SchoolRef, ...]:
        new = {s.id for s in self.schools_after}
        return tuple(s for s in self.schools_before if s.id not in new)

    @property
    def stayed(self) -> tuple[SchoolRef, ...]:
        old = {s.id for s in self.schools_before}
        return tuple(s for s in self.schools_after if s.id in old)

    @property
    def consultant(self) -> str:
        """Who leads it now (who led it, for a cancelled session)."""
        return self.consultant_after or self.consultant_before

    @property
    def consultant_changed(self) -> bool:
        return bool(self.consultant_before and self.consultant_after
                    and self.consultant_before != self.consultant_after)

    @property
    def where(self) -> str:
        """Format and place now (before, for a cancelled session): «ВКС» or «выезд, <МО>»,
        «выезд, <МО> (было: <МО>)» when an onsite session changed its municipality."""
        place = self.place_after or self.place_before
        if self.place_before and self.place_after and self.place_before != self.place_after:
            place = f"{self.place_after} (было: {self.place_before})"
        return place


def school_ref(instance: Instance, school_id: str) -> SchoolRef:
    sch = instance.schools.get(school_id)
    if sch is None:
        return SchoolRef(school_id, school_id, "")
    return SchoolRef(school_id, sch.name, municipality_name(instance, sch.municipality))


def place_of(instance: Instance, fmt: Format | str | None, municipality: str | None) -> str:
    """«ВКС» for an online session, «выезд, <МО>» for an onsite one."""
    if fmt is None:
        return ""
    if str(fmt) == Format.ONLINE.value:
        return "ВКС"
    return f"выезд, {municipality_name(instance, municipality)}" if municipality else "выезд"


def plan_changes(instance: Instance, plan: Plan, baseline: Plan | None = None) -> list[Change]:
    """`plan.meta["changes"]` (a list of dicts) and any session of `plan.cancelled` they do not
    mention, in that order."""
    raw = plan.meta.get("changes") if isinstance(plan.meta, dict) else None
    now = {s.id: s for s in plan.sessions}
    gone = {s.id: s for s in plan.cancelled}
    old = {s.id: s for s in baseline.sessions} if baseline is not None else {}
    out: list[Change] = []
    mentioned: set[str] = set()
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            out.append(Change("moved", "изменена", "", None, None, "", "", "", "", "", (), (), str(item)))
            continue
        sid = str(item.get("session") or item.get("id") or item.get("session_id") or "")
        mentioned.add(sid)
        out.append(_change(instance, item, now.get(sid), gone.get(sid) or old.get(sid)))
    for s in plan.cancelled:
        if s.id not in mentioned:
            out.append(_change(instance, {"kind": "cancelled"}, None, s))
    return out


def _change(instance: Instance, item: dict, new: Session | None, old: Session | None) -> Change:
    raw_kind = str(item.get("kind") or item.get("type") or item.get("change") or "").lower()
    kind = KIND_ALIASES.get(raw_kind, "cancelled" if new is None and old is not None else "moved")
    ref = new or old
    topic = str(item.get("topic") or (ref.topic if ref else ""))
    after_c = item.get("new_consultant") or item.get("consultant") or (new.consultant if new else "")
    before_c = item.get("old_consultant") or (old.consultant if old else "")
    if kind == "added":
        before_c = ""
    if kind == "cancelled":
        before_c = before_c or after_c
        after_c = ""
    before = _moment(instance, item.get("old_start", item.get("before")))
    after = _moment(instance, item.get("new_start", item.get("after")))
    if before is None and kind != "added" and old is not None:
        before = local_time(instance, old.start)
    if after is None and kind != "cancelled" and new is not None:
        after = local_time(instance, new.start)
    schools_after = _ids(item.get("schools", item.get("new_schools")))
    schools_before = _ids(item.get("old_schools"))
    if kind == "cancelled" and not schools_before:
        schools_before = schools_after or (list(old.schools) if old else [])
        schools_after = []
    fmt = ref.format if ref else (instance.topics[topic].format if topic in instance.topics else None)
    mun = item.get("municipality") if "municipality" in item else (ref.municipality if ref else None)
    place_now = place_of(instance, fmt, new.municipality if new else mun) if kind != "cancelled" else ""
    place_then = ""
    if kind != "added":
        place_then = place_of(instance, fmt, old.municipality if old else mun)
    if kind == "moved" and not old:
        place_then = place_now  # without the baseline, where it was is where it is
    if kind == "moved":
        title = ("перенесена" if before != after else
                 "сменился консультант" if before_c and after_c and before_c != after_c else
                 "изменился состав школ")
    else:
        title = KIND_TITLES[kind]
    details = "; ".join(f"{k}: {v}" for k, v in item.items()
                        if k not in _KNOWN_KEYS and v not in (None, "", [], {}))
    return Change(
        kind=kind,
        title=title,
        topic=quoted_title(topic_title(instance, topic)) if topic else "",
        before=before,
        after=after,
        consultant_before=consultant_name(instance, str(before_c)) if before_c else "",
        consultant_after=consultant_name(instance, str(after_c)) if after_c else "",
        format="" if fmt is None else ("онлайн (ВКС)" if str(fmt) == Format.ONLINE.value else "выезд"),
        place_before=place_then,
        place_after=place_now,
        schools_before=tuple(school_ref(instance, x) for x in schools_before),
        schools_after=tuple(school_ref(instance, x) for x in schools_after),
        details=details,
        consultant_id=str(after_c or ""),
        old_consultant_id=str(before_c or ""),
    )


def _moment(instance: Instance, value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return local_time(instance, value)
    try:
        return local_time(instance, datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def _ids(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [x.strip() for x in value.split(";") if x.strip()]
    if isinstance(value, (list, tuple, set)):
        return [str(x) for x in value]
    return [str(value)]


def moment_text(moment: datetime | None) -> str:
    """«10.05.2022, 10:00», or «—» when there is none."""
    return f"{moment:%d.%m.%Y, %H:%M}" if moment else "—"


def schools_lines(change: Change) -> list[str]:
    """The change's schools as lines, one per municipality — «<МО>: <школа>; <школа>» — so that
    each school's municipality is plain: those in the session now, then those it added («+ »)
    and those it dropped («− »). A cancelled session lists whom it was for."""
    if change.kind == "cancelled":
        return by_municipality(change.schools_before)
    if change.kind == "added":
        return by_municipality(change.schools_after)
    return (by_municipality(change.stayed) + [f"+ {x}" for x in by_municipality(change.joined)]
            + [f"− {x}" for x in by_municipality(change.left)])


def by_municipality(schools: tuple[SchoolRef, ...]) -> list[str]:
    """«<МО>: <школа>; <школа>», one line per municipality, in the order they first appear."""
    groups: dict[str, list[str]] = {}
    for s in schools:
        groups.setdefault(s.municipality, []).append(s.name)
    return [f"{mun}: {'; '.join(names)}" if mun else "; ".join(names) for mun, names in groups.items()]


OPTION_TITLES = {"coverage": "покрытие всех потребностей", "stability": "стабильность (ничего не добавлять)"}
OPTION_FIGURES = (
    ("coverage_share", "Потребности закрыты", lambda v: f"{100 * float(v):.1f}%".replace(".", ",")),
    ("unmet", "Непокрытых потребностей", str),
    ("travel_km", "Поездки, км", lambda v: f"{int(float(v)):,}".replace(",", "\u00a0")),
    ("sessions", "Консультаций", str),
    ("changed", "Изменено консультаций после заморозки", str),
    ("added", "из них добавлено", str),
    ("cancelled", "из них отменено", str),
    ("max_load_after_freeze", "Наибольшая нагрузка консультанта после заморозки", str),
    ("relevant_per_school", "Консультаций по своим рискам на школу", lambda v: f"{float(v):.1f}".replace(".", ",")),
    ("topics_held", "Тем программы проведено", str),  # «43 из 45» with topics_usable: `replan_options_rows`
    ("support_gaps", "Перерывов в сопровождении", str),
)
"""The figures of `meta.replan.options` (a replan that also computed the stable alternative), in words."""


def replan_options_rows(plan: Plan) -> list[tuple[str, list[str]]]:
    """Both options of a replan side by side, when `meta.replan.options` holds them: a header
    row ("", [option titles, the chosen one marked]), then one row per figure; else []."""
    meta = plan.meta.get("replan") if isinstance(plan.meta, dict) else None
    options = meta.get("options") if isinstance(meta, dict) else None
    if not isinstance(options, dict):
        return []
    present = [o for o in OPTION_TITLES if isinstance(options.get(o), dict)]
    if len(present) < 2:
        return []
    chosen = options.get("chosen")
    rows = [("", [OPTION_TITLES[o] + (" — выбран" if o == chosen else "") for o in present])]
    for key, label, fmt in OPTION_FIGURES:
        if any(key in options[o] for o in present):
            cells = [fmt(options[o][key]) if key in options[o] else "—" for o in present]
            if key == "topics_held":
                cells = [f"{c} из {options[o]['topics_usable']}" if "topics_usable" in options[o] else c
                         for c, o in zip(cells, present, strict=True)]
            rows.append((label, cells))
    return rows


def replan_options_price(plan: Plan) -> str:
    """Why the replan also computed the stable option («покрытие обходится дорого: …»), or ""."""
    meta = plan.meta.get("replan") if isinstance(plan.meta, dict) else None
    options = meta.get("options") if isinstance(meta, dict) else None
    price = options.get("price") if isinstance(options, dict) else None
    if not price:
        return ""
    items = "; ".join(str(x) for x in price) if isinstance(price, list) else str(price)
    return f"Сохранить покрытие всех потребностей обходится дорого: {items}."
