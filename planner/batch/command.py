"""`planner batch`: parse, call `runner.run_batch`, print the summary; exit 1 if a region failed.

The `planner` command finds `register` through the entry point group `planner.commands`
(pyproject.toml), so that the front doors do not import each other.
"""

from __future__ import annotations

import argparse
import os

from models.problems import InputError, Problem
from planner.batch.jobs import MAX_TIME_LIMIT, MIN_TIME_LIMIT, Settings


def _cmd_batch(args: argparse.Namespace) -> int:
    from planner.batch.runner import run_batch, summary_table

    problems = []
    if args.time_limit is not None and args.time_limit <= 0:
        problems.append(Problem("командная строка", "нужно положительное число секунд", column="--time-limit",
                                value=str(args.time_limit)))
    if args.cpus_per_solve < 1:
        problems.append(Problem("командная строка", "нужно не меньше 1 процессора", column="--cpus-per-solve",
                                value=str(args.cpus_per_solve)))
    if args.num_cpus is not None and args.num_cpus < 1:
        problems.append(Problem("командная строка", "нужно не меньше 1 процессора", column="--num-cpus",
                                value=str(args.num_cpus)))
    if problems:
        raise InputError(problems)
    settings = Settings(time_limit=args.time_limit, cpus=args.cpus_per_solve, seed=args.seed,
                        calendars=not args.no_calendars, documents=not args.no_documents)
    result = run_batch(args.instances, args.out, settings, scenarios_dir=args.scenarios, address=args.address,
                       num_cpus=args.num_cpus)
    print(summary_table(result))
    print(f"Сводка: {os.path.join(args.out, 'batch.csv')}; результаты регионов: {args.out}/<регион>/")
    return 1 if result.failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="спланировать много регионов (и их сценарии) сразу, задачами на Ray")
    p.add_argument("instances", nargs="+", metavar="INSTANCE", help="папки экземпляров (или книги .xlsx)")
    p.add_argument("--scenarios", help="папка сценариев: СЦЕНАРИИ/<имя экземпляра>/*.toml, каждый — против"
                                       " плана своего региона")
    p.add_argument("--address", help="адрес кластера Ray (ray start --head …); по умолчанию RAY_ADDRESS,"
                                     " а без него — новый локальный кластер на этой машине")
    p.add_argument("--out", default=os.path.join("outputs", "batch"),
                   help="папка результатов (по умолчанию outputs/batch): <регион>/ и batch.csv")
    p.add_argument("--time-limit", type=float, default=None,
                   help=f"предел времени решателя на регион, с (по умолчанию по размеру: 4 с + 0,04 с на школу,"
                        f" от {MIN_TIME_LIMIT:g} до {MAX_TIME_LIMIT:g} с)")
    p.add_argument("--cpus-per-solve", type=int, default=1,
                   help="процессоров на задачу; столько же потоков у решателя (по умолчанию 1)")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="процессоров локального кластера (по умолчанию все процессоры машины)")
    p.add_argument("--seed", type=int, default=0, help="зерно случайности решателя (по умолчанию 0)")
    p.add_argument("--no-calendars", action="store_true", help="не писать календари .ics")
    p.add_argument("--no-documents", action="store_true", help="не писать appendix.docx, plan.xlsx, report.html")
    p.set_defaults(func=_cmd_batch)
