"""What-if scenarios for a working-group meeting (`planner replan`, `planner compare`).

`replan_files`: instance (+ scenario) + baseline plan + freeze date → a new plan that keeps
the past and moves as little as possible; writes the same files as `solve` plus `changes.md`,
the change report a coordinator sends round (`change_report`), and the same as a Word document,
`changes.docx` (`planner.exports.changes_docx`).
`compare_table`: key figures of several plans side by side.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from models.domain import VERIFICATION_NEED, Instance, Plan
from models.problems import InputError, Problem
from models.replan import replan_options, sessions_changed
from models.solve import SolveOptions, num
from planner.exports.calendars import carry_calendar_history
from planner.exports.changes_docx import CHANGES_FILE, changes_docx
from planner.exports.documents_common import BASELINE_FIGURES, key_figures, natural_key
from planner.exports.plan_io import creation_stamp, plan_json_text, read_plan, write_bundle
from planner.inputs.scenario import Scenario, apply_scenario, read_scenario
from planner.workflows.solving import (
    checked,
    load,
    output_files,
    say,
    schedule_activities,
)

DEFAULT_REPLAN_TIME_LIMIT = 8.0
"""Seconds for the solver of a replan (model, repair, search, dates), both options together
(`models.replan.replan_options`: the coverage option 60 %, the stable one, when it is needed,
40 %): a what-if in a meeting. With the programme's plans (three times the sessions of the
classic ones) the repair's search for the fewest changes took 1–2 s on Kuzbass dropouts and
found nothing in the 1 s a 4-second limit left it on a loaded machine."""
DEFAULT_REPLAN_WORKERS = 2
"""Solver threads of a replan. Measured on the 2-core machine (Kuzbass, four dropouts from June,
5 s): 2 workers changed 31–33 sessions in all, 4 workers 33–34, 8 workers 43. A replan's short
search is local around the repaired baseline; a plain solve, which must prove a bound, keeps 8."""


def _dt(iso: str | None) -> str:
    if not iso:
        return "—"
    d = datetime.fromisoformat(iso)
    return d.strftime("%d.%m.%Y %H:%M")


def change_report(instance: Instance, baseline: Plan, plan: Plan, options: dict[str, Plan | None] | None = None) -> str:
    """The change report in Russian Markdown: what moved, for whom, what was cancelled, new unmet needs."""
    meta = plan.meta.get("replan", {}) if isinstance(plan.meta, dict) else {}
    changes = plan.meta.get("changes", []) if isinstance(plan.meta, dict) else []
    title = meta.get("scenario") or "перепланирование"
    lines = [f"# Изменения графика консультаций: {title}", ""]
    freeze = plan.freeze_before
    if freeze:
        lines.append(f"Консультации до {freeze:%d.%m.%Y} — история, они не меняются"
                     f" ({meta.get('history_sessions', 0)}).")
    lines += [
        f"Итого: без изменений {meta.get('kept', 0)}, перенесено или изменён состав {meta.get('moved', 0)},"
        f" отменено {meta.get('cancelled', 0)}, добавлено {meta.get('added', 0)}.", "",
    ]
    if not changes:
        lines.append("Изменений нет: опубликованный график остаётся в силе.")

    by_consultant, by_school, by_mun = party_changes(instance, changes)
    cname = _consultant_namer(instance)
    for heading, groups, name in (("По консультантам", by_consultant, cname),
                                  ("По школам", by_school, instance.school_label),
                                  ("По муниципалитетам", by_mun,
                                   lambda m: instance.municipalities[m].name if m in instance.municipalities else m)):
        if not groups:
            continue
        lines += ["", f"## {heading}", ""]
        for key in sorted(groups, key=lambda k: natural_key(str(name(k)))):
            lines.append(f"- **{name(key)}**")
            lines += [f"  - {t}" for t in groups[key]]
    old_unmet = {(u.school, u.risk) for u in baseline.unmet}
    new_unmet = [u for u in plan.unmet if (u.school, u.risk) not in old_unmet]
    fixed = [k for k in old_unmet if k not in {(u.school, u.risk) for u in plan.unmet}]
    lines += ["", "## Потребности", ""]
    if new_unmet:
        lines.append("Стали непокрытыми:")
        for u in new_unmet:
            risk = "верификация" if u.risk == VERIFICATION_NEED else f"{u.risk} {instance.risks[u.risk].title}" \
                if u.risk in instance.risks else u.risk
            lines.append(f"- {instance.school_label(u.school)} — {risk}: {u.reason}")
    else:
        lines.append("Новых непокрытых потребностей нет.")
    if fixed:
        lines.append(f"Стали покрытыми: {len(fixed)}.")
    lines += _options_section(instance, baseline, plan, options or {})
    return "\n".join(lines) + "\n"


def _consultant_namer(instance: Instance):
    def cname(c: str | None) -> str:
        return instance.consultants[c].name if c in instance.consultants else str(c)
    return cname


def party_changes(instance: Instance, changes: list[dict]) -> tuple[dict[str, list[str]], dict[str, list[str]],
                                                                     dict[str, list[str]]]:
    """The changes (`meta.changes` entries) as each party reads them, in Russian: by consultant
    (the old one too, when the session went to another), by school (only what concerns it), by
    municipality (its schools' lines)."""
    def topic(t: str) -> str:
        return f"{t} «{instance.topics[t].title}»" if t in instance.topics else t

    cname = _consultant_namer(instance)

    def names(schools: list[str]) -> str:
        return ", ".join(instance.school_label(s) for s in schools)

    def other_consultant(ch: dict) -> bool:
        return bool(ch.get("old_consultant")) and ch["old_consultant"] != ch["consultant"]

    def swap(ch: dict) -> str:
        return f"ведёт {cname(ch['consultant'])} вместо {cname(ch['old_consultant'])}"

    def line(ch: dict) -> str:
        """The change as the consultant and the municipality read it: the whole session."""
        if ch["kind"] == "moved":
            parts = []
            if ch["old_start"] != ch["new_start"]:
                parts.append(f"перенесено: {topic(ch['topic'])}, {_dt(ch['old_start'])} → {_dt(ch['new_start'])}")
            else:
                parts.append(f"изменён состав: {topic(ch['topic'])}, {_dt(ch['new_start'])}")
            if other_consultant(ch):
                parts.append(swap(ch))
            joined = [s for s in ch["schools"] if s not in set(ch["old_schools"])]
            left = [s for s in ch["old_schools"] if s not in set(ch["schools"])]
            if joined:
                parts.append(f"добавлены школы: {names(joined)}")
            if left:
                parts.append(f"сняты школы: {names(left)}")
            return "; ".join(parts)
        if ch["kind"] == "cancelled":
            return f"отменено: {topic(ch['topic'])}, {_dt(ch['old_start'])} (школ: {len(ch['old_schools'])})"
        return f"добавлено: {topic(ch['topic'])}, {_dt(ch['new_start'])} ({names(ch['schools'])})"

    def for_school(ch: dict, school: str) -> str:
        """The same change as one school reads it."""
        who = cname(ch["consultant"])
        if ch["kind"] == "cancelled":
            return f"отменено: {topic(ch['topic'])}, {_dt(ch['old_start'])} ({who})"
        if ch["kind"] == "added":
            return f"добавлено: {topic(ch['topic'])}, {_dt(ch['new_start'])} ({who})"
        if school not in ch["old_schools"]:
            return f"школа включена: {topic(ch['topic'])}, {_dt(ch['new_start'])} ({who})"
        if school not in ch["schools"]:
            return f"школа снята: {topic(ch['topic'])}, {_dt(ch['old_start'])}"
        if ch["old_start"] != ch["new_start"]:
            text = f"перенесено: {topic(ch['topic'])}, {_dt(ch['old_start'])} → {_dt(ch['new_start'])}"
        else:
            text = f"сменился консультант: {topic(ch['topic'])}, {_dt(ch['new_start'])}"
        if other_consultant(ch):
            text += f"; {swap(ch)}"
        return text

    def matters_to(ch: dict, school: str) -> bool:
        """A school is told of a change that concerns it: not of a new school joining its session."""
        if ch["kind"] != "moved" or school not in ch["old_schools"] or school not in ch["schools"]:
            return True
        return ch["old_start"] != ch["new_start"] or other_consultant(ch)

    by_consultant: dict[str, list[str]] = defaultdict(list)
    by_school: dict[str, list[str]] = defaultdict(list)
    by_mun: dict[str, list[str]] = defaultdict(list)
    for ch in changes:
        text = line(ch)
        by_consultant[ch["consultant"]].append(text)
        if other_consultant(ch):
            by_consultant[ch["old_consultant"]].append(text)
        for s in sorted(set(ch["schools"]) | set(ch["old_schools"])):
            if not matters_to(ch, s):
                continue
            mine = for_school(ch, s)
            by_school[s].append(mine)
            if s in instance.schools:
                by_mun[instance.schools[s].municipality].append(f"{instance.school_label(s)}: {mine}")
    return by_consultant, by_school, by_mun


def _options_section(instance: Instance, baseline: Plan, plan: Plan, plans: dict[str, Plan | None]) -> list[str]:
    """«Варианты»: the coverage and the stable option side by side, why the first is expensive,
    and the needs the other option would leave (or meets that this one leaves)."""
    meta = plan.meta.get("replan", {}) if isinstance(plan.meta, dict) else {}
    options = meta.get("options") or {}
    freeze = plan.freeze_before
    present = [o for o in OPTIONS if o in options]
    if len(present) < 2 or freeze is None:
        return []
    rows = options_table(baseline, options, freeze)
    lines = ["", "## Варианты", "",
             "Сохранить покрытие всех потребностей обходится дорого: " + "; ".join(options.get("price", [])) + ".",
             f"Выбран вариант «{OPTION_TITLES[options['chosen']]}»; другой записан рядом"
             f" (plan-{next(o for o in present if o != options['chosen'])}.json) — его можно взять вместо этого"
             " командой `planner replan … --prefer " + next(o for o in present if o != options["chosen"]) + "`.", "",
             "| " + " | ".join(["Показатель"] + rows[0][1]) + " |", "|" + "---|" * (len(rows[0][1]) + 1)]
    lines += ["| " + " | ".join([label] + cells) + " |" for label, cells in rows[1:]]
    stable = plans.get("stability")
    if stable is not None:
        cover = plans.get("coverage")
        met_by_cover = {(u.school, u.risk) for u in (cover.unmet if cover else [])}
        left = [u for u in stable.unmet if (u.school, u.risk) not in met_by_cover]
        lines += ["", "Потребности, которые стабильный вариант оставляет непокрытыми"
                  + (" (вариант с покрытием их закрывает):" if left else ": нет."), ""]
        for u in left:
            risk = "верификация" if u.risk == VERIFICATION_NEED else (
                f"{u.risk} {instance.risks[u.risk].title}" if u.risk in instance.risks else u.risk)
            lines.append(f"- {instance.school_label(u.school)} — {risk}: {u.reason}")
    return lines


@dataclass
class Replanned:
    """A replanned plan, the freeze date it kept, and the folder its files were written to."""

    instance: Instance
    plan: Plan
    freeze: date
    out: Path
    written: list[Path]
    options: dict = field(default_factory=dict)  # meta.replan.options: both options' figures


@dataclass
class ReplanOutputs:
    """A replanned plan, the freeze date it kept and every output file, in memory."""

    instance: Instance
    plan: Plan
    freeze: date
    files: dict[str, str | bytes]
    options: dict = field(default_factory=dict)  # meta.replan.options: both options' figures


def replan_files(instance_path: str | Path, baseline_path: str | Path, opts: SolveOptions, *,
                 scenario_path: str | Path | None = None, freeze: date | str | None = None,
                 out: str | Path | None = None, calendars: bool = True,
                 documents: bool = True, prefer: str = "coverage") -> Replanned:
    """instance (+ scenario) + baseline plan + freeze date → a checked new plan, written to `out`
    (default outputs/<instance>-replan/) with every output of a solve and changes.md.
    `freeze` is a date or the ISO text a person typed; without it, the scenario's
    freeze_before. PlanInvalid when the plan breaks a rule (nothing written).

    When keeping every need covered costs far more than the baseline (`coverage_price`), the
    stable option is computed too; `prefer` ("coverage" or "stability") says which becomes the
    plan, the other is written beside it as plan-<option>.json, and both are compared in
    changes.md and in `meta.replan.options`."""
    instance = load(instance_path)
    baseline = read_plan(Path(baseline_path))
    scenario = read_scenario(Path(scenario_path)) if scenario_path else None
    result = replan_outputs(instance, baseline, opts, scenario=scenario, scenario_path=scenario_path,
                            freeze=freeze, instance_path=instance_path, baseline_name=Path(baseline_path).name,
                            calendars=calendars, documents=documents, prefer=prefer)
    folder = Path(out) if out else Path("outputs") / f"{instance.name}-replan"
    return Replanned(result.instance, result.plan, result.freeze, folder, write_bundle(folder, result.files),
                     result.options)


def replan_outputs(instance: Instance, baseline: Plan, opts: SolveOptions, *, scenario: Scenario | None = None,
                   scenario_path: str | Path | None = None, freeze: date | str | None = None,
                   instance_path: str | Path | None = None, baseline_name: str = "plan.json",
                   calendars: bool = True, documents: bool = True, fork: bool = True,
                   prefer: str = "coverage") -> ReplanOutputs:
    """The arrows of `replan_files` without files: instance (+ scenario) + baseline → checked
    plan(s) → every output and changes.md, in memory (with both options when coverage is
    expensive: see `replan_files`). `instance_path` and `scenario_path` are recorded in the
    plan's meta as given."""
    before = {f.key: f.value for f in key_figures(instance, baseline)}  # before the scenario changes it
    if isinstance(freeze, str):
        freeze = _freeze_date(freeze) if freeze else None
    if freeze is None and scenario is not None:
        freeze = scenario.freeze_before
    if freeze is None:
        raise InputError([Problem("командная строка", "укажите дату заморозки: --freeze ГГГГ-ММ-ДД"
                                  " или freeze_before в сценарии", column="--freeze")])
    if scenario is not None:
        scenario.freeze_before = freeze
        instance = apply_scenario(scenario, instance)
        say(f"Сценарий «{scenario.name}»: изменений {scenario.count()}")
    found = replan_instance(instance, baseline, freeze, opts, scenario_name=scenario.name if scenario else "",
                            prefer=prefer, instance_path=instance_path,
                            scenario_path=scenario_path if scenario is not None else None,
                            baseline_name=baseline_name, before=before)
    plans, chosen, options = found.plans, found.chosen, found.options
    plan = plans[chosen]
    files = output_files(instance, plan, calendars=calendars, documents=documents, fork=fork)
    for option, other in plans.items():
        if other is not None and option != chosen:
            files[f"plan-{option}.json"] = plan_json_text(other)
    files["changes.md"] = change_report(instance, baseline, plan, plans)
    if documents:
        files[CHANGES_FILE] = changes_docx(instance, baseline, plan)
    return ReplanOutputs(instance, plan, freeze, files, options)


@dataclass
class ReplanResult:
    """The options of a replan, each checked by the validator (`stability` may be None), the
    one `prefer` chose, and their figures side by side (`meta.replan.options`)."""

    instance: Instance  # the changed instance (as given)
    plans: dict[str, Plan | None]
    chosen: str
    options: dict


def replan_instance(instance: Instance, baseline: Plan, freeze: date, opts: SolveOptions, *,
                    scenario_name: str = "", prefer: str = "coverage", held: frozenset[str] | set[str] = frozenset(),
                    instance_path: str | Path | None = None, scenario_path: str | Path | None = None,
                    baseline_name: str = "plan.json", before: dict | None = None) -> ReplanResult:
    """The replan itself, in memory: the (changed) instance, the baseline and the freeze date →
    the coverage option and, when coverage is expensive, the stable one, both checked.
    `held`: ids of later baseline sessions kept exactly (pinned or edited by hand). `before`:
    the baseline's key figures against the instance before the scenario (the documents show
    each figure against them); without it, against `instance`."""
    if before is None:
        before = {f.key: f.value for f in key_figures(instance, baseline)}
    unknown = sorted({s.topic for s in baseline.sessions if s.topic not in instance.topics}
                     | {s.consultant for s in baseline.sessions if s.consultant not in instance.consultants})
    if unknown:
        raise InputError([Problem(baseline_name, "в базовом плане есть коды, которых нет в экземпляре",
                                  column="sessions", value=", ".join(unknown))])
    if prefer not in OPTIONS:
        raise InputError([Problem("командная строка", "нужно coverage или stability", column="--prefer",
                                  value=str(prefer))])
    roadmap, linked, firsts = schedule_activities(instance)
    found = replan_options(linked, baseline, freeze, opts, scenario_name, topic_first_day=firsts or None,
                           held=held)
    plans = {"coverage": found.coverage, "stability": found.stability}
    for option, plan in plans.items():
        if plan is None:
            continue
        if scenario_path is not None:
            plan.meta["scenario_path"] = str(scenario_path)
        plan.meta["created"] = creation_stamp(instance)  # newer than the baseline's: its calendars' events are
        carry_calendar_history(instance, baseline, plan)  # who was dropped from what; activities' SEQUENCE
        plan.meta[BASELINE_FIGURES] = before  # each document sets its figures against these
        plans[option] = checked(linked, plan, roadmap, instance_path)
    chosen = prefer if plans[prefer] is not None else "coverage"
    if prefer != chosen:
        say("Стабильный вариант не считался: покрытие всех потребностей обходится недорого — беру его")
    options = {"chosen": chosen, "price": found.price,
               **{option: option_figures(baseline, p, freeze) for option, p in plans.items() if p is not None}}
    for p in plans.values():
        if p is not None:
            p.meta["replan"]["options"] = options
    return ReplanResult(instance, plans, chosen, options)


OPTIONS = ("coverage", "stability")
OPTION_TITLES = {"coverage": "покрытие всех потребностей", "stability": "стабильность (ничего не добавлять)"}


def option_figures(baseline: Plan, plan: Plan, freeze: date) -> dict[str, float]:
    """The figures a working group weighs two replans by: coverage, unmet needs, travel,
    sessions and changes after the freeze, the busiest consultant, depth, topics held."""
    sc = plan.score
    r = plan.meta.get("replan", {}) if isinstance(plan.meta, dict) else {}
    later = Counter(s.consultant for s in plan.sessions if s.start.date() >= freeze)
    return {
        "coverage_share": sc.get("coverage_share", 0.0), "unmet": len(plan.unmet),
        "travel_km": sc.get("travel_km", 0), "sessions": len(plan.sessions),
        "changed": r.get("sessions_changed", 0), "added": r.get("added", 0), "cancelled": r.get("cancelled", 0),
        "max_load_after_freeze": max(later.values(), default=0),
        "relevant_per_school": sc.get("relevant_per_school", 0.0),
        "topics_held": sc.get("topics_held", 0), "topics_usable": sc.get("topics_usable", 0),
        "support_gaps": len(plan.support_gaps),
    }


def options_table(baseline: Plan, options: dict, freeze: date) -> list[tuple[str, list[str]]]:
    """Rows (label, [baseline, coverage, stability…]) of the options side by side, in Russian."""
    present = [o for o in OPTIONS if o in options]
    base = option_figures(baseline, baseline, freeze)
    cols = [base] + [options[o] for o in present]

    def row(label: str, fmt) -> tuple[str, list[str]]:
        return label, [fmt(c) for c in cols]

    return [
        ("", ["базовый план"] + [OPTION_TITLES[o] + (" — выбран" if options.get("chosen") == o else "")
                                 for o in present]),
        row("Потребности закрыты", lambda c: f"{100 * float(c['coverage_share']):.1f}%"),
        row("Непокрытых потребностей", lambda c: str(c["unmet"])),
        row("Поездки, км", lambda c: num(c["travel_km"])),
        row("Консультаций", lambda c: str(c["sessions"])),
        row("Изменено после заморозки (добавлено / отменено)",
            lambda c: "—" if c is base else f"{c['changed']} ({c['added']} / {c['cancelled']})"),
        row("Наибольшая нагрузка консультанта после заморозки", lambda c: str(c["max_load_after_freeze"])),
        row("Консультаций по рискам на школу", lambda c: f"{float(c['relevant_per_school']):.1f}"),
        row("Темы проводятся", lambda c: f"{c['topics_held']} из {c['topics_usable']}"),
        row("Перерывы в сопровождении", lambda c: str(c["support_gaps"])),
    ]


def options_text(baseline: Plan, options: dict, freeze: date) -> str:
    """The options table as fixed-width text for the console."""
    rows = options_table(baseline, options, freeze)
    width = [max(len(r[0]) for r in rows)] + [max(len(r[1][i]) for r in rows) for i in range(len(rows[0][1]))]
    return "\n".join("  " + " | ".join([label.ljust(width[0])] + [c.rjust(width[i + 1]) for i, c in enumerate(cells)])
                     for label, cells in rows)


def compare_table(plans: list[tuple[str, Plan]]) -> str:
    first = plans[0][1]
    freeze = None
    rows = [("План", [name for name, _ in plans])]

    def fig(key: str) -> list[str]:
        return [str(p.score.get(key, "—")) for _, p in plans]

    for _, p in plans:
        freeze = p.freeze_before or freeze
    rows += [
        ("Статус", [p.status for _, p in plans]),
        ("Консультаций", [str(len(p.sessions)) for _, p in plans]),
        ("Потребностей закрыто", [f"{p.score.get('needs_covered', '—')} из {p.score.get('needs_total', '—')}"
                                  for _, p in plans]),
        ("Покрытие", [f"{100 * float(p.score.get('coverage_share', 0)):.1f}%" for _, p in plans]),
        ("Непокрыто", [str(len(p.unmet)) for _, p in plans]),
        ("Поездки, км", fig("travel_km")),
        ("Макс. нагрузка", fig("max_load")),
        ("Задержка программ (мес.)", fig("early_program")),
        ("Изменено консультаций против первого" + (f" (с {freeze:%d.%m.%Y})" if freeze else ""),
         [str(sessions_changed(first, p, freeze or date.min)) for _, p in plans]),
    ]
    width = [max(len(r[0]) for r in rows)] + [max(len(r[1][i]) for r in rows) for i in range(len(plans))]
    out = []
    for label, cells in rows:
        out.append(" | ".join([label.ljust(width[0])] + [c.rjust(width[i + 1]) for i, c in enumerate(cells)]))
        if label == "План":
            out.append("-+-".join("-" * w for w in width))
    return "\n".join(out)


def _freeze_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError([Problem("командная строка", "нужна дата ГГГГ-ММ-ДД", column="--freeze",
                                  value=text)]) from None


def read_plans(paths: list[str | Path]) -> list[tuple[str, Plan]]:
    """Plans to compare, each named after its folder (else its file)."""
    plans = []
    for path in paths:
        p = read_plan(Path(path))
        name = Path(path).parent.name or Path(path).stem
        plans.append((name, p))
    return plans
