"""`planner replan` and `planner compare`: parse, call `planner.workflows.replanning`, print."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from models.solve import SolveOptions
from planner.cli.solve import add_solver_arguments, report_invalid
from planner.exports.plan_io import read_plan
from planner.workflows.replanning import (
    DEFAULT_REPLAN_TIME_LIMIT,
    DEFAULT_REPLAN_WORKERS,
    OPTION_TITLES,
    OPTIONS,
    compare_table,
    options_text,
    read_plans,
    replan_files,
)
from planner.workflows.solving import PlanInvalid, plan_summary, say


def _cmd_replan(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    opts = SolveOptions(time_limit=args.time_limit, workers=args.workers, seed=args.seed, progress=say)
    try:
        result = replan_files(args.instance, args.baseline, opts, scenario_path=args.scenario, freeze=args.freeze,
                              out=args.out, calendars=not args.no_calendars, documents=not args.no_documents,
                              prefer=args.prefer)
    except PlanInvalid as exc:
        return report_invalid(exc.violations)
    plan, out, freeze = result.plan, result.out, result.freeze
    print(plan_summary(result.instance, plan))
    r = plan.meta["replan"]
    print(f"  Изменения против базового плана: без изменений {r['kept']}, перенесено {r['moved']},"
          f" отменено {r['cancelled']}, добавлено {r['added']} (история до {freeze:%d.%m.%Y}: {r['history_sessions']})")
    if len([o for o in OPTIONS if o in result.options]) == 2:
        print("Варианты (покрытие всех потребностей обходится дорого: " + "; ".join(result.options["price"]) + "):")
        print(options_text(read_plan(Path(args.baseline)), result.options, freeze))
        other = next(o for o in OPTIONS if o != result.options["chosen"])
        print(f"  Выбран «{OPTION_TITLES[result.options['chosen']]}»; другой вариант: {out / f'plan-{other}.json'}"
              f" (взять его: --prefer {other})")
    report = ", ".join(str(out / n) for n in ("changes.md", "changes.docx") if (out / n).exists())
    print(f"Записано в {out} (отчёт об изменениях: {report})")
    say(f"Всего {time.monotonic() - t0:.1f} с")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    print(compare_table(read_plans(args.plans)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replan", help="перепланировать по сценарию, сохранив прошлое и изменив как можно меньше")
    p.add_argument("instance", help="папка экземпляра или книга .xlsx")
    p.add_argument("--baseline", required=True, help="базовый план (plan.json), уже объявленный участникам")
    p.add_argument("--scenario", help="файл сценария .toml (см. README)")
    p.add_argument("--freeze", help="дата заморозки ГГГГ-ММ-ДД (по умолчанию freeze_before из сценария)")
    p.add_argument("--out", help="папка для результатов (по умолчанию outputs/<экземпляр>-replan)")
    p.add_argument("--prefer", choices=OPTIONS, default="coverage",
                   help="какой вариант взять, если сохранить покрытие дорого: coverage — закрыть все потребности"
                        " (по умолчанию), stability — ничего не добавлять, непокрытое назвать")
    add_solver_arguments(p, DEFAULT_REPLAN_TIME_LIMIT, DEFAULT_REPLAN_WORKERS)
    p.set_defaults(func=_cmd_replan)

    p = sub.add_parser("compare", help="сравнить ключевые показатели нескольких планов")
    p.add_argument("plans", nargs="+", help="файлы plan.json (первый — базовый)")
    p.set_defaults(func=_cmd_compare)
