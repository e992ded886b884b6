"""The main job, one arrow at a time: files → instance → model → solve → plan → exports.

`solve` (what `planner solve` runs) and `check_plan` (what `planner validate` runs), with the
arrows they are made of. Every output is built in memory first and written only when
everything is ready, each file atomically: a failure leaves the output folder as it was.
Progress goes to stderr through `say`; results are returned, the front door prints them.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from models.calendar_days import month_of
from models.domain import VERIFICATION_NEED, Instance, Plan, Stage
from models.problems import InputError, Problem
from models.score import load_by_month
from models.solve import SolveOptions, gap, num, solve_consultations
from models.validate import Violation, validate
from planner.exports.plan_io import creation_stamp, plan_csv_text, plan_json_text, read_plan, write_bundle

DEFAULT_TIME_LIMIT = 10.0
"""Seconds for the solver of `planner solve`: the programme's construction, bound (2a) and
polish (2c) and the date phase. On Kuzbass the whole command, files included, then takes
about 15 s on the 2-core machine (docs/benchmark.md)."""
DEFAULT_WORKERS = 8


def say(message: str) -> None:
    """Progress for people: to stderr, flushed, so that stdout stays the result."""
    print(message, file=sys.stderr, flush=True)


class PlanInvalid(Exception):
    """The solver produced a plan that breaks a rule: a bug, never written out."""

    def __init__(self, violations: list[Violation]):
        super().__init__(f"{len(violations)} нарушений")
        self.violations = violations


# --- the arrows --------------------------------------------------------------------------


def load(path: str | Path) -> Instance:
    """files → validated instance (InputError lists every problem)."""
    from planner.inputs.validation import load_instance

    instance, warnings = load_instance(path)
    for w in warnings:
        say(w.render())
    return instance


def schedule_activities(instance: Instance):
    """The roadmap, when the instance has one: the scheduling result, the instance whose
    linked stages (`[roadmap] stage_after`) start only after their activity, and the first
    day of each linked topic."""
    if not instance.activities:
        return None, instance, {}
    from models.roadmap import schedule_roadmap
    from models.roadmap_links import linked_instance, topic_first_day

    say("Планирую дорожную карту…")
    result = schedule_roadmap(instance)
    if not result.ok:
        raise InputError(result.errors)
    for p in result.problems:
        if p.severity != "error":
            say(p.render())
    firsts = {t.id: d for t in instance.topics.values()
              if (d := topic_first_day(instance, result.activities, t)) is not None}
    return result, linked_instance(instance, result.activities), firsts


def plan_instance(instance: Instance, opts: SolveOptions, instance_path: str | Path | None = None) -> Plan:
    """instance → (roadmap) → model → solve → plan, checked by the independent validator."""
    roadmap, instance, firsts = schedule_activities(instance)
    plan, _report = solve_consultations(instance, opts, topic_first_day=firsts or None)
    return checked(instance, plan, roadmap, instance_path)


def checked(instance: Instance, plan: Plan, roadmap=None, instance_path: str | Path | None = None) -> Plan:
    """The roadmap's activities and links attached and checked, then the independent
    validator: PlanInvalid (nothing is written) when anything is broken."""
    if roadmap is not None:
        from models.roadmap import roadmap_summary_lines
        from models.roadmap_links import link_violations

        plan.activities = roadmap.activities
        plan.meta["roadmap_summary"] = roadmap_summary_lines(instance, roadmap)
        broken = link_violations(instance, plan)
        if broken:
            raise PlanInvalid([Violation("roadmap_link", text) for text in broken])
    if instance_path is not None:
        plan.meta["instance_path"] = str(instance_path)
    violations = validate(instance, plan)
    if violations:
        raise PlanInvalid(violations)
    return plan


def output_files(instance: Instance, plan: Plan, *, calendars: bool = True,
                 documents: bool = True, fork: bool = True) -> dict[str, str | bytes]:
    """plan → every export, in memory (relative path → content). `fork=False` builds the
    documents in this process (a batch task, which owns just the CPUs it declared)."""
    files: dict[str, str | bytes] = {
        "plan.json": plan_json_text(plan),
        "plan.csv": plan_csv_text(instance, plan),
    }
    # The three documents are built in forked processes, one each, while this one renders the
    # calendars: independent, CPU-bound, and 1.3 s one after another on Kuzbass, a quarter
    # of a 5-second replan. Without fork (not Linux) they are built here, in turn.
    from planner.exports.documents import DOCUMENTS, build_document

    pool = _fork_pool(3) if documents and fork else None
    jobs = {name: pool.submit(build_document, name, instance, plan) for name in DOCUMENTS} if pool else {}
    try:
        if calendars:
            from planner.exports.calendars import calendar_files

            files.update(calendar_files(instance, plan))
            if plan.activities:
                from planner.exports.roadmap_calendars import roadmap_calendar_files

                files.update(roadmap_calendar_files(instance, plan))
        if documents:
            files.update({name: jobs[name].result() if name in jobs else build_document(name, instance, plan)
                          for name in DOCUMENTS})
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return files


def _fork_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of forked processes (they share this one's imports and data), or None where
    fork is not available or no process can be started."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    try:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    except OSError:
        return None


# --- summary -----------------------------------------------------------------------------


def plan_summary(instance: Instance, plan: Plan) -> str:
    """A short Russian account of a plan: what a working group reads first."""
    sc = plan.score
    lines = [
        f"План «{plan.instance}»: статус решателя {plan.status}, {_solver_outcome(plan)}, {plan.solve_seconds:.1f} с",
        f"  Консультаций: {len(plan.sessions)} (выездных {sum(1 for s in plan.sessions if s.format == 'onsite')},"
        f" онлайн {sum(1 for s in plan.sessions if s.format == 'online')}); участий школ: {sc.get('attendance', 0)}",
        f"  Потребности закрыты: {sc.get('needs_covered', 0)} из {sc.get('needs_total', 0)}"
        f" ({100 * float(sc.get('coverage_share', 0)):.1f}%), из них верификаций {sc.get('verifications_covered', 0)}",
        f"  Поездки: {num(sc.get('travel_km', 0))} км туда и обратно",
    ]
    load = Counter(s.consultant for s in plan.sessions)
    if load:
        months = load_by_month(plan)
        lines.append(f"  Нагрузка консультантов: от {min(load.get(c, 0) for c in instance.consultants)}"
                     f" до {max(load.values())} консультаций за период:")
        for cid, c in instance.consultants.items():
            n = load.get(cid, 0)
            if n:
                per = ", ".join(f"{m[5:]}.{m[:4]}: {k}" for m, k in sorted(months[cid].items()))
                lines.append(f"    {c.name} — {n} ({per})")
    if plan.unmet:
        lines.append(f"  Непокрытые потребности: {len(plan.unmet)}")
        by_reason = Counter(u.reason for u in plan.unmet)
        for reason, n in by_reason.most_common():
            examples = [f"{u.school}/{'верификация' if u.risk == VERIFICATION_NEED else u.risk}"
                        for u in plan.unmet if u.reason == reason][:5]
            more = " …" if n > len(examples) else ""
            lines.append(f"    {n} × {reason} ({', '.join(examples)}{more})")
    else:
        lines.append("  Непокрытых потребностей нет: каждый риск каждой школы закрыт.")
    lines += programme_lines(instance, plan)
    return "\n".join(lines)


def programme_lines(instance: Instance, plan: Plan) -> list[str]:
    """The programme's measures, last in the summary: what a working group checks before it
    signs (topics held, consultations through the year, gaps, depth, onsite load), then the
    programme's exceptions with their reasons."""
    sc = plan.score
    if "topics_usable" not in sc:
        return []
    rules = instance.settings.rules
    per_month = Counter(month_of(s.start.date()) for s in plan.sessions
                        if s.topic in instance.topics and instance.topics[s.topic].stage != Stage.VERIFICATION)
    months = ", ".join(f"{m[5:]}.{m[:4]}: {per_month.get(m, 0)}" for m in instance.calendar.open_months)
    lines = [
        "  Программа:",
        f"    темы проводятся: {sc['topics_held']} из {sc['topics_usable']} полезных школам",
        f"    консультаций (кроме верификации) по месяцам: {months};"
        f" в самом загруженном месяце {100 * float(sc['busiest_month_share']):.0f}%",
        f"    самый долгий перерыв у школы после верификации: {sc['longest_gap']} мес."
        + (f" (допустимо {rules.max_gap_months})" if rules.max_gap_months else ""),
        f"    консультаций по рискам школы: в среднем {float(sc['relevant_per_school']):.1f} на школу",
        f"    выездов одного консультанта в месяц: не больше {sc['max_onsite_per_month']}",
    ]
    for u in plan.unheld_topics:
        title = instance.topics[u.topic].title if u.topic in instance.topics else u.topic
        lines.append(f"    не проводится {u.topic} «{_short(title)}»: {u.reason}")
    for g in plan.support_gaps:
        what = "визит верификации позже срока" if g.kind == "late_verification" else "перерыв"
        lines.append(f"    {instance.school_label(g.school)}: {what} ({', '.join(g.months)}) — {g.reason}")
    return lines


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _solver_outcome(plan: Plan) -> str:
    """What the solver's figures mean, in words: objective and bound, or, for a replan whose
    answer is its repair of the baseline (the full model's bound is then not computed), whether
    that repair was proven the best for the touched schools or was taken for lack of time."""
    meta = plan.meta if isinstance(plan.meta, dict) else {}
    if meta.get("fallback"):
        return f"{meta['fallback']} (целевая функция {num(plan.objective)})"
    if plan.objective is None:
        return "решение не найдено"
    figures = f"целевая функция {num(plan.objective)}, граница {num(plan.bound)}"
    if plan.bound is not None:
        return f"{figures}, разрыв {_pct(gap(plan.objective, plan.bound))}"
    meta = plan.meta if isinstance(plan.meta, dict) else {}
    if meta.get("phase2_hint") == "repaired baseline":
        phases = [p for p in meta.get("phases") or () if isinstance(p, dict)]
        # The repair's last search: coverage, then the fewest changes, both proven optimal.
        repair = [(p.get("name"), p.get("status")) for p in phases if str(p.get("name", "")).startswith("repair_")]
        proven = repair[-2:] == [("repair_coverage", "OPTIMAL"), ("repair_objective", "OPTIMAL")]
        if proven:
            return ("починка базового плана доказанно лучшая при прочих школах как были, полный поиск"
                    f" не нужен: {figures}")
        return f"взят починенный базовый план (на полный поиск не хватило времени): {figures}"
    return figures


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


# --- the jobs ----------------------------------------------------------------------------


@dataclass
class Written:
    """A plan and the folder its files were written to."""

    instance: Instance
    plan: Plan
    out: Path
    written: list[Path]


def default_out(instance: Instance) -> Path:
    return Path("outputs") / instance.name


def solve(instance_path: str | Path, opts: SolveOptions, *, out: str | Path | None = None,
          calendars: bool = True, documents: bool = True) -> Written:
    """files → instance → (roadmap) → solve → checked plan → every output written to `out`
    (default outputs/<instance>/). PlanInvalid when the plan breaks a rule (nothing written)."""
    say(f"Читаю экземпляр {instance_path}…")
    instance = load(instance_path)
    say(f"  школ {len(instance.schools)}, консультантов {len(instance.consultants)}, тем {len(instance.topics)}")
    plan = plan_instance(instance, opts, instance_path)
    plan.meta["created"] = creation_stamp(instance)  # DTSTAMP / LAST-MODIFIED of its calendars
    folder = Path(out) if out else default_out(instance)
    say("Готовлю файлы…")
    files = output_files(instance, plan, calendars=calendars, documents=documents)
    return Written(instance, plan, folder, write_bundle(folder, files))


@dataclass
class PlanCheck:
    """A plan checked against its instance (as its scenario changed it, for a replanned plan)."""

    instance: Instance
    plan: Plan
    violations: list[Violation]


def check_plan(instance_path: str | Path, plan_path: str | Path,
               scenario_path: str | Path | None = None) -> PlanCheck:
    """Every rule the plan breaks, without the solver. A replanned plan is checked against the
    instance as its scenario changed it: `scenario_path` when given, else the file the replan
    recorded in meta.scenario_path."""
    from planner.inputs.scenario import apply_scenario, read_scenario

    plan = read_plan(Path(plan_path))
    instance = load(instance_path)
    recorded = plan.meta.get("scenario_path") if isinstance(plan.meta, dict) else None
    scenario_file = Path(scenario_path) if scenario_path else (Path(recorded) if recorded else None)
    if scenario_file is not None:
        if not scenario_path and not scenario_file.is_file():
            raise InputError([Problem(Path(plan_path).name, "план построен по сценарию, но файла сценария нет;"
                                      " укажите его: --scenario ФАЙЛ", column="meta.scenario_path",
                                      value=str(recorded))])
        scenario = read_scenario(scenario_file)
        if scenario.freeze_before is None:
            scenario.freeze_before = plan.freeze_before
        instance = apply_scenario(scenario, instance)
        say(f"Экземпляр с изменениями сценария «{scenario.name}» ({scenario_file})")
    return PlanCheck(instance, plan, validate(instance, plan))
