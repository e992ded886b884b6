"""plan.json and plan.csv, exactly as shared/formats.md describes; written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from models.domain import ActivityDates, Format, Instance, Plan, Session, SupportGap, UnheldTopic, Unmet
from models.problems import InputError, Problem


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "instance": plan.instance,
        "status": plan.status,
        "objective": plan.objective,
        "bound": plan.bound,
        "solve_seconds": plan.solve_seconds,
        "sessions": [_session_dict(s) for s in plan.sessions],
        "activities": [
            {k: v for k, v in {
                "id": a.id, "start": a.start.isoformat(), "end": a.end.isoformat(),
                "slack_days": a.slack_days, "critical": a.critical,
            }.items() if v is not None}
            for a in plan.activities
        ],
        "unmet": [
            {"school": u.school, "risk": u.risk, "reason": u.reason, **({"code": u.code} if u.code else {})}
            for u in plan.unmet
        ],
        **({"unheld_topics": [{"topic": u.topic, "reason": u.reason, "code": u.code} for u in plan.unheld_topics]}
           if plan.unheld_topics else {}),
        **({"support_gaps": [{"school": g.school, "kind": g.kind, "months": list(g.months), "reason": g.reason,
                              "code": g.code} for g in plan.support_gaps]} if plan.support_gaps else {}),
        "score": plan.score,
        "meta": plan.meta,
        **({"cancelled": [_session_dict(s) for s in plan.cancelled]} if plan.cancelled else {}),
    }


def _session_dict(s: Session) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.id,
        "topic": s.topic,
        "consultant": s.consultant,
        "start": s.start.isoformat(),
        "end": s.end.isoformat(),
        "format": str(s.format),
        "municipality": s.municipality,
        "schools": list(s.schools),
    }
    if s.sequence:
        out["sequence"] = s.sequence
    return out


def _session_from(s: Any) -> Session:
    return Session(
        id=str(s["id"]), topic=str(s["topic"]), consultant=str(s["consultant"]),
        start=datetime.fromisoformat(s["start"]), end=datetime.fromisoformat(s["end"]),
        format=Format(s["format"]), municipality=s.get("municipality"),
        schools=tuple(str(x) for x in s.get("schools", [])),
        sequence=int(s.get("sequence") or 0),
    )


def plan_from_dict(data: dict[str, Any], display: str = "plan.json") -> Plan:
    problems: list[Problem] = []
    sessions, cancelled = [], []
    for key, into in (("sessions", sessions), ("cancelled", cancelled)):
        for i, s in enumerate(data.get(key, []) or []):
            try:
                into.append(_session_from(s))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                problems.append(Problem(display, f"сессия №{i + 1} не читается: {exc}", column=key))
    activities = []
    for a in data.get("activities", []) or []:
        try:
            activities.append(ActivityDates(str(a["id"]), date.fromisoformat(a["start"]),
                                            date.fromisoformat(a["end"]), a.get("slack_days"), a.get("critical")))
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(Problem(display, f"мероприятие не читается: {exc}", column="activities"))
    unmet = [Unmet(str(u.get("school")), str(u.get("risk")), str(u.get("reason", "")), str(u.get("code", "")))
             for u in data.get("unmet", []) or []]
    try:
        unheld = [UnheldTopic(str(u["topic"]), str(u.get("reason", "")), str(u.get("code", "")))
                  for u in data.get("unheld_topics", []) or []]
        gaps = [SupportGap(str(g["school"]), str(g.get("kind", "gap")), tuple(str(m) for m in g.get("months", [])),
                           str(g.get("reason", "")), str(g.get("code", "")))
                for g in data.get("support_gaps", []) or []]
    except (KeyError, TypeError, AttributeError) as exc:
        problems.append(Problem(display, f"отступления от программы не читаются: {exc}",
                                column="unheld_topics / support_gaps"))
        unheld, gaps = [], []
    if problems:
        raise InputError(problems)
    return Plan(
        instance=str(data.get("instance", "")),
        status=str(data.get("status", "")),
        objective=data.get("objective"),
        bound=data.get("bound"),
        solve_seconds=float(data.get("solve_seconds") or 0.0),
        sessions=sessions,
        unmet=unmet,
        activities=activities,
        score=data.get("score") or {},
        meta=data.get("meta") or {},
        cancelled=cancelled,
        unheld_topics=unheld,
        support_gaps=gaps,
    )


def read_plan(path: Path) -> Plan:
    path = Path(path)
    if not path.exists():
        raise InputError([Problem(str(path), "нет такого файла плана")])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path.name, f"файл плана не читается как JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(path.name, "файл плана должен быть объектом JSON")])
    return plan_from_dict(data, path.name)


def creation_stamp(instance: Instance) -> str:
    """When a plan is made, for its `meta.created`: ISO 8601 in the region's zone, whole
    seconds, e.g. "2022-04-15T12:20:00+07:00". Calendars take DTSTAMP and LAST-MODIFIED from
    it, so a replan's events are newer than its baseline's. `SOURCE_DATE_EPOCH` (Unix seconds,
    the reproducible-builds convention), when set, is used instead of the clock."""
    zone = ZoneInfo(instance.settings.region.timezone)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), zone) if epoch.isdigit() else datetime.now(zone)
    return moment.replace(microsecond=0).isoformat()


def safe_cell(value: object) -> str:
    """Text for a spreadsheet cell that Excel will never run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def plan_csv_text(instance: Instance, plan: Plan) -> str:
    """One row per (session, school)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["session", "topic", "topic_title", "consultant", "consultant_name", "start", "end",
                "format", "municipality", "municipality_name", "school", "school_name"])
    for s in plan.sessions:
        topic = instance.topics.get(s.topic)
        cons = instance.consultants.get(s.consultant)
        mun = instance.municipalities.get(s.municipality) if s.municipality else None
        for school in s.schools:
            sch = instance.schools.get(school)
            w.writerow([safe_cell(v) for v in (
                s.id, s.topic, topic.title if topic else "", s.consultant, cons.name if cons else "",
                s.start.isoformat(), s.end.isoformat(), str(s.format), s.municipality or "",
                mun.name if mun else "", school, sch.name if sch else "",
            )])
    return buf.getvalue()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file completely or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are for everyone who may read the folder
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def plan_json_text(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), ensure_ascii=False, indent=2) + "\n"


def write_bundle(out_dir: Path, files: dict[str, str | bytes]) -> list[Path]:
    """Write a set of generated files (relative path -> content), each atomically.

    Every content is produced in memory before this is called, so a failure while building
    outputs leaves the folder untouched; each file is replaced whole, never half-written.
    """
    written = []
    for rel in sorted(files):
        path = Path(out_dir) / rel
        write_atomic(path, files[rel])
        written.append(path)
    return written


def instance_for_plan(plan: Plan, plan_path: Path, instance_arg: str | Path | None = None) -> Instance:
    """The instance a plan was made from: `--instance` if given, else the path stored in the plan.

    The stored path (meta.instance_path) is tried as written (relative to the current folder),
    then relative to the plan file, then `instances/<plan.instance>`.
    """
    from planner.inputs.validation import load_instance

    candidates: list[Path] = []
    if instance_arg:
        candidates.append(Path(instance_arg))
    else:
        stored = plan.meta.get("instance_path") if isinstance(plan.meta, dict) else None
        if stored:
            candidates += [Path(str(stored)), Path(plan_path).parent / str(stored)]
        candidates.append(Path("instances") / plan.instance)
    for path in candidates:
        if path.exists():
            instance, _ = load_instance(path)
            return instance
    raise InputError([Problem(
        str(plan_path), "не найден экземпляр, из которого построен план; укажите его: --instance ПАПКА",
        column="instance", value=str(candidates[0]) if candidates else plan.instance,
    )])


def write_plan_files(instance: Instance, plan: Plan, out_dir: Path) -> list[Path]:
    json_path, csv_path = out_dir / "plan.json", out_dir / "plan.csv"
    json_text, csv_text = plan_json_text(plan), plan_csv_text(instance, plan)
    write_atomic(csv_path, csv_text)
    write_atomic(json_path, json_text)
    return [json_path, csv_path]
