"""`planner solve` and `planner validate`: parse, call `planner.workflows.solving`, print."""

from __future__ import annotations

import argparse
import sys
import time

from models.problems import InputError, Problem
from models.solve import SolveOptions
from models.validate import Violation
from planner.inputs import guide
from planner.workflows.solving import (
    DEFAULT_TIME_LIMIT,
    DEFAULT_WORKERS,
    PlanInvalid,
    check_plan,
    plan_summary,
    say,
    solve,
)


def _solve_options(args: argparse.Namespace) -> SolveOptions:
    problems = []
    if args.time_limit <= 0:
        problems.append(Problem("командная строка", "нужно положительное число секунд", column="--time-limit",
                                value=str(args.time_limit)))
    if args.workers < 1:
        problems.append(Problem("командная строка", "нужно не меньше 1 потока", column="--workers",
                                value=str(args.workers)))
    if problems:
        raise InputError(problems)
    return SolveOptions(time_limit=args.time_limit, workers=args.workers, seed=args.seed, progress=say)


def _cmd_solve(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    opts = _solve_options(args)
    try:
        result = solve(args.instance, opts, out=args.out, calendars=not args.no_calendars,
                       documents=not args.no_documents)
    except PlanInvalid as exc:
        return report_invalid(exc.violations)
    out, plan = result.out, result.plan
    print(plan_summary(result.instance, plan))
    for line in plan.meta.get("roadmap_summary", []):
        print(line)
    print(f"Записано в {out}: " + ", ".join(sorted({str(p.relative_to(out)).split('/')[0] for p in result.written})))
    say(f"Всего {time.monotonic() - t0:.1f} с")
    return 0


def report_invalid(violations: list[Violation]) -> int:
    print("Внутренняя ошибка: построенный план нарушает правила, файлы не записаны:", file=sys.stderr)
    for v in violations[:50]:
        print("  " + v.render(), file=sys.stderr)
    print(guide.pointer(guide.PLAN_INVALID), file=sys.stderr)
    return 3


def _cmd_validate(args: argparse.Namespace) -> int:
    check = check_plan(args.instance, args.plan, args.scenario)
    instance, plan, violations = check.instance, check.plan, check.violations
    if not violations:
        print(f"План {args.plan} соблюдает все правила экземпляра «{instance.name}»:"
              f" {len(plan.sessions)} консультаций, непокрытых потребностей {len(plan.unmet)} (все с причинами).")
        return 0
    print(f"План {args.plan} нарушает правила ({len(violations)}):")
    for v in violations:
        print("  " + v.render())
    print(guide.pointer(guide.PLAN_INVALID))
    return 1


def add_solver_arguments(p: argparse.ArgumentParser, time_limit: float, workers: int, *,
                         seed_help: str | None = None) -> None:
    """--time-limit, --workers, --seed, --no-calendars, --no-documents: the options of every
    command that solves and writes a plan (`solve`, `replan`), with that command's defaults."""
    p.add_argument("--time-limit", type=float, default=time_limit,
                   help=f"предел времени решателя, с (по умолчанию {time_limit:g})")
    p.add_argument("--workers", type=int, default=workers,
                   help=f"потоков решателя (по умолчанию {workers})")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--no-calendars", action="store_true", help="не писать календари .ics")
    p.add_argument("--no-documents", action="store_true", help="не писать appendix.docx, plan.xlsx, report.html")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="построить график консультаций и записать план и все выгрузки")
    p.add_argument("instance", help="папка экземпляра или книга .xlsx")
    p.add_argument("--out", help="папка для результатов (по умолчанию outputs/<экземпляр>)")
    add_solver_arguments(p, DEFAULT_TIME_LIMIT, DEFAULT_WORKERS,
                         seed_help="зерно случайности решателя (по умолчанию 0)")
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser("validate", help="проверить план на все правила (без решателя)")
    p.add_argument("instance", help="папка экземпляра или книга .xlsx")
    p.add_argument("plan", help="файл plan.json")
    p.add_argument("--scenario", help="сценарий .toml, по которому план перепланирован (по умолчанию тот,"
                                      " что записан в плане при replan)")
    p.set_defaults(func=_cmd_validate)
