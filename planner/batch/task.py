"""What one batch task does in its own process: plain input in, plain results out.

`run_job(job)` gets a job as plain values (`Job.plain()`: the instance's files as bytes,
the settings, for a scenario its text and the baseline plan.json), writes the files to a
temporary folder, builds the instance and the model here, solves or replans, and returns
plain values: the status, the row of figures, the output files (relative path → text or
bytes). No model object leaves this process. An error of the input or of the plan is a
result with its reason (Russian for the input), not an exception: only a dying process is
Ray's to retry.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import traceback
from pathlib import Path

from models.domain import Plan
from models.problems import InputError, render_all
from models.solve import SolveOptions, gap

PROGRAMME_KEYS = ("topics_held", "topics_usable", "busiest_month_share", "longest_gap", "relevant_per_school",
                  "max_onsite_per_month")


def reset_peak_memory() -> None:
    """Start the process's peak resident size afresh (a Ray worker runs many tasks)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    """The process's peak resident size since `reset_peak_memory` (Linux), else its lifetime peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def unplaced(plan: Plan) -> int:
    """Consultations the month-level plan chose but the date phase could not put in the
    calendar in its time (they are then missing from the plan, their needs unmet)."""
    phases = plan.meta.get("phases") if isinstance(plan.meta, dict) else None
    dates = [p for p in phases or () if isinstance(p, dict) and p.get("name") == "dates"]
    return int(dates[-1].get("objective") or 0) if dates else 0


def figures(plan: Plan, schools: int) -> dict:
    """The row's figures of a plan. The gap is left empty when the bound is no bound (above
    the objective of this minimisation: a phase stopped before it proved anything)."""
    sc = plan.score
    valid = plan.objective is not None and plan.bound is not None and plan.bound <= plan.objective + 1e-6
    g = gap(plan.objective, plan.bound) if valid else None
    return {
        "schools": schools,
        "gap": None if g is None else round(g, 4),
        "coverage": round(float(sc.get("coverage_share", 0)), 4),
        "unmet": len(plan.unmet),
        "km": sc.get("travel_km"),
        **{k: sc.get(k) for k in PROGRAMME_KEYS},
    }


def node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    except Exception:
        return ""


class OutOfTime(Exception):
    """The solver ran out of time before it put every chosen consultation in the calendar."""

    def __init__(self, count: int, time_limit: float):
        super().__init__(f"решатель не успел поставить в календарь консультаций: {count} (предел {time_limit:g} с);"
                         " план не записан — увеличьте --time-limit или запустите пакет снова на менее занятой"
                         " машине")


def run_job(job: dict) -> dict:
    """A job (plain values) → its result (plain values); see the module docstring."""
    t0 = time.monotonic()
    reset_peak_memory()
    result: dict = {"region": job["region"], "scenario": job["scenario"], "status": "failed", "reason": "",
                    "files": {}, "row": {"schools": job["schools"]}, "pid": os.getpid(), "node": node_id()}
    try:
        with tempfile.TemporaryDirectory(prefix="planner-batch-") as tmp:
            folder = Path(tmp) / "instance" / job["region"]  # its name is the instance's name
            folder.mkdir(parents=True)
            for name, data in job["instance_files"].items():
                (folder / name).write_bytes(data)
            workbooks = [n for n in job["instance_files"] if n.lower().endswith(".xlsx")]
            path = folder / workbooks[0] if workbooks and len(job["instance_files"]) == 1 else folder
            result["files"], result["row"], result["warnings"] = _plan(job, path, Path(tmp))
            result["status"] = "ok"
    except InputError as exc:
        result["reason"] = render_all(exc.problems)
    except OutOfTime as exc:
        result["reason"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - the region fails alone, with its reason
        from planner.workflows.solving import PlanInvalid

        if isinstance(exc, PlanInvalid):
            result["reason"] = ("внутренняя ошибка: построенный план нарушает правила, файлы не записаны:\n"
                                + "\n".join("  " + v.render() for v in exc.violations[:20]))
        else:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            result["reason"] = (f"внутренняя ошибка: {type(exc).__name__}: {exc}"
                                f" ({Path(where.filename).name}:{where.lineno})")
    result["seconds"] = round(time.monotonic() - t0, 1)
    result["peak_mb"] = peak_memory_mb()
    return result


def _plan(job: dict, path: Path, tmp: Path) -> tuple[dict, dict, list[str]]:
    from planner.exports.plan_io import creation_stamp, plan_from_dict
    from planner.inputs.validation import load_instance
    from planner.workflows.solving import output_files, plan_instance

    settings = job["settings"]
    instance, warnings = load_instance(path)
    opts = SolveOptions(time_limit=job["time_limit"], workers=settings["cpus"], seed=settings["seed"])
    if not job["scenario"]:
        plan = plan_instance(instance, opts, job["instance_path"])
        if unplaced(plan):  # out of time before the calendar (a loaded machine): once more, with twice the time
            opts.time_limit *= 2
            plan = plan_instance(instance, opts, job["instance_path"])
        if unplaced(plan):
            raise OutOfTime(unplaced(plan), opts.time_limit)
        plan.meta["created"] = creation_stamp(instance)
        files = output_files(instance, plan, calendars=settings["calendars"], documents=settings["documents"],
                             fork=False)
        return files, figures(plan, len(instance.schools)), [w.render() for w in warnings]

    import json

    from planner.inputs.scenario import read_scenario
    from planner.workflows.replanning import replan_outputs

    scenario_file = tmp / Path(job["scenario_path"]).name
    scenario_file.write_bytes(job["scenario_text"])
    scenario = read_scenario(scenario_file)
    baseline = plan_from_dict(json.loads(job["baseline"]), "plan.json")
    out = replan_outputs(instance, baseline, opts, scenario=scenario, scenario_path=job["scenario_path"],
                         instance_path=job["instance_path"], calendars=settings["calendars"],
                         documents=settings["documents"], fork=False)
    if unplaced(out.plan):
        raise OutOfTime(unplaced(out.plan), opts.time_limit)
    return out.files, figures(out.plan, len(out.instance.schools)), [w.render() for w in warnings]
