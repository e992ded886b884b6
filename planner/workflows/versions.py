"""Versions of a plan, as the web application keeps them: the scenarios along a plan's history,
the changes between any two plans, and edits by hand.

- A replan of a replan keeps its ancestors' changes: the instance a plan belongs to is the
  uploaded one with every scenario of its history applied (`merge_scenarios`: one scenario,
  entries in history order, the earliest freeze date), which is also the file `planner
  validate` reads (`scenario_toml`).
- `plan_changes(a, b)`: what changed from plan `a` to plan `b`, session by session (by id, as a
  replan keeps ids), in the shape of a replan's `meta.changes`, so that the change report's
  split by party (`party_changes`) reads it.
- `apply_edits`: a plan with a person's edits (pin a session, move it to another day or
  consultant, take a school out of it), its unmet needs, programme exceptions and score
  recomputed; the edited sessions are held when the rest is replanned.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from models.domain import Instance, Plan, Session
from models.problems import InputError, Problem
from models.programme import explain_programme
from models.replan import change_record
from models.score import score_plan
from models.unmet import explain_unmet
from models.validate import Violation, validate
from planner.exports.calendars import carry_calendar_history
from planner.exports.plan_io import creation_stamp
from planner.inputs.scenario import KINDS, Scenario, apply_scenario, parse_scenario

# --- scenarios along a plan's history ------------------------------------------------------


def scenario_toml(scenario: Scenario) -> str:
    """A scenario as the TOML text `planner replan --scenario` reads."""
    lines = [f"name = {_toml(scenario.name)}"]
    if scenario.freeze_before is not None:
        lines.append(f"freeze_before = {scenario.freeze_before.isoformat()}")
    for kind in KINDS:
        for entry in scenario.entries.get(kind, []):
            lines += ["", f"[[{kind}]]"]
            lines += [f"{key} = {_toml(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def merge_scenarios(scenarios: list[Scenario], name: str = "") -> Scenario | None:
    """The scenarios of a plan's history (oldest first) as one: entries of each kind in that
    order (a later change of the same thing wins, as in one file), the earliest freeze date
    (every entry was checked against its own, later one). None for no scenario."""
    if not scenarios:
        return None
    entries: dict[str, list[dict]] = {}
    for sc in scenarios:
        for kind, items in sc.entries.items():
            entries.setdefault(kind, []).extend(dict(i) for i in items)
    freezes = [sc.freeze_before for sc in scenarios if sc.freeze_before is not None]
    return Scenario(name or " + ".join(sc.name for sc in scenarios if sc.name), min(freezes) if freezes else None,
                    entries, "scenario.toml")


def read_scenario_text(text: str, source: str = "сценарий") -> Scenario:
    """A scenario from TOML text (InputError naming `source`, the entry and the field)."""
    return parse_scenario(text, source, "сценарий")


def changed_instance(instance: Instance, scenarios: list[Scenario]) -> Instance:
    """The uploaded instance as the scenarios of a plan's history changed it."""
    merged = merge_scenarios(scenarios)
    return instance if merged is None else apply_scenario(merged, instance)


def check_scenario(instance: Instance, scenario: Scenario) -> Instance:
    """The instance as `scenario` changes it; InputError with every problem of the scenario
    (entry and field named) when it cannot be applied."""
    return apply_scenario(scenario, instance)


# --- the changes between two plans ---------------------------------------------------------


def _content(s: Session) -> tuple:
    return (s.topic, s.consultant, s.start, s.end, s.municipality, tuple(s.schools))


def plan_changes(a: Plan | None, b: Plan) -> list[dict]:
    """What changed from `a` to `b`, session by session (by id): moved (another time,
    consultant or schools), cancelled, added; in time order. `a` None: everything is added."""
    old = {s.id: s for s in (a.sessions if a else [])}
    new = {s.id: s for s in b.sessions}
    out = []
    for sid, s in new.items():
        if sid not in old:
            out.append(change_record("added", s, None))
        elif _content(s) != _content(old[sid]):
            out.append(change_record("moved", s, old[sid]))
    out += [change_record("cancelled", None, s) for sid, s in old.items() if sid not in new]
    out.sort(key=lambda ch: (ch["new_start"] or ch["old_start"] or "", ch["session"]))
    return out


def change_counts(changes: list[dict]) -> dict[str, int]:
    counts = {"moved": 0, "cancelled": 0, "added": 0}
    for ch in changes:
        counts[ch["kind"]] += 1
    return counts


# --- edits by hand -------------------------------------------------------------------------

EDIT_KINDS = ("pin", "move", "remove_school")


@dataclass
class Edited:
    """A plan with a person's edits: the plan, the sessions to hold in a replan of the rest,
    the edits that could not be applied (Russian), and what the plan now breaks."""

    plan: Plan
    held: list[str]
    problems: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)


def apply_edits(instance: Instance, base: Plan, edits: list[dict]) -> Edited:
    """`base` with `edits` applied in order. Each edit is {"op": "pin" | "move" |
    "remove_school", "session": id, ...}: a move has "date" (ISO, the same time of day) and/or
    "consultant"; a school taken out is "school" (the last school out cancels the session).
    An edited session gets its SEQUENCE raised once against `base`."""
    sessions = {s.id: s for s in base.sessions}
    order = [s.id for s in base.sessions]
    cancelled = list(base.cancelled)
    base_by_id = dict(sessions)
    held: list[str] = []
    problems: list[str] = []
    for n, e in enumerate(edits, 1):
        sid = str(e.get("session", ""))
        op = e.get("op")
        if sid not in sessions:
            problems.append(f"правка {n}: консультации «{sid}» в плане нет")
            continue
        s = sessions[sid]
        if op == "pin":
            pass
        elif op == "move":
            start, end = s.start, s.end
            if e.get("date"):
                try:
                    day = date.fromisoformat(str(e["date"]))
                except ValueError:
                    problems.append(f"правка {n}: дата «{e['date']}» не читается (нужно ГГГГ-ММ-ДД)")
                    continue
                start = datetime.combine(day, s.start.timetz())
                end = start + (s.end - s.start)
            consultant = str(e.get("consultant") or s.consultant)
            if consultant not in instance.consultants:
                problems.append(f"правка {n}: консультанта «{consultant}» в экземпляре нет")
                continue
            sessions[sid] = dataclasses.replace(s, start=start, end=end, consultant=consultant)
        elif op == "remove_school":
            school = str(e.get("school", ""))
            if school not in s.schools:
                problems.append(f"правка {n}: школы «{school}» в этой консультации нет")
                continue
            left = tuple(x for x in s.schools if x != school)
            if not left:
                cancelled.append(dataclasses.replace(base_by_id[sid], sequence=base_by_id[sid].sequence + 1))
                del sessions[sid]
                held = [h for h in held if h != sid]
                continue
            sessions[sid] = dataclasses.replace(s, schools=left)
        else:
            problems.append(f"правка {n}: неизвестное действие «{op}»")
            continue
        if sid not in held:
            held.append(sid)
    out = []
    for sid in order:
        if sid not in sessions:
            continue
        s, was = sessions[sid], base_by_id[sid]
        if _content(s) != _content(was):
            s = dataclasses.replace(s, sequence=was.sequence + 1)
        out.append(s)
    out.sort(key=lambda s: (s.start, s.consultant, s.topic))
    meta = json.loads(json.dumps(base.meta, ensure_ascii=False, default=str)) if isinstance(base.meta, dict) else {}
    if isinstance(meta.get("replan"), dict):
        meta["replan"].pop("options", None)  # a replan's options were choices about the base, not this plan
    plan = dataclasses.replace(base, sessions=out, cancelled=sorted(cancelled, key=lambda s: (s.start, s.id)),
                               meta=meta, status="FEASIBLE", objective=None, bound=None, solve_seconds=0.0)
    freeze = base.freeze_before
    plan.unmet = explain_unmet(instance, plan, free_from=freeze)
    plan.unheld_topics, plan.support_gaps = explain_programme(instance, plan, free_from=freeze)
    plan.score = score_plan(instance, plan)
    plan.meta["created"] = creation_stamp(instance)
    plan.meta["changes"] = plan_changes(base, plan)
    plan.meta["edits"] = {"ops": list(edits), "held": list(held)}
    carry_calendar_history(instance, base, plan)
    return Edited(plan, held, problems, validate(instance, plan))


def edit_problem(message: str) -> InputError:
    return InputError([Problem("правка", message)])
