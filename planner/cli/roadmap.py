"""`planner roadmap INSTANCE`: date just the roadmap and print it as the orders' table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.problems import InputError


def _cmd_roadmap(args: argparse.Namespace) -> int:
    from models.domain import Plan
    from models.problems import Problem
    from models.roadmap import schedule_roadmap
    from planner.exports.plan_io import write_atomic
    from planner.exports.roadmap_report import roadmap_csv_text, roadmap_table
    from planner.inputs.validation import load_instance

    instance, warnings = load_instance(args.instance)
    for w in warnings:
        print(w.render(), file=sys.stderr)
    if not instance.activities:
        raise InputError([Problem("roadmap.csv", "в экземпляре нет дорожной карты: добавьте файл roadmap.csv"
                                  " (или лист «roadmap» в книге)")])
    result = schedule_roadmap(instance, time_limit=args.time_limit)
    for p in result.problems:
        if p.severity == "warning":
            print(p.render(), file=sys.stderr)
    if not result.ok:
        print(f"Дорожную карту «{instance.name}» нельзя составить ({result.status}):", file=sys.stderr)
        raise InputError(result.errors)
    region = instance.settings.region.name or instance.name
    print(f"Дорожная карта: {region} («{instance.name}»)")
    print(roadmap_table(instance, result))
    if args.out:
        from planner.exports.roadmap_calendars import roadmap_calendar_files

        out = Path(args.out)
        plan = Plan(instance=instance.name, status=result.status, objective=result.objective,
                    bound=result.bound, solve_seconds=result.solve_seconds, sessions=[], unmet=[],
                    activities=result.activities)
        files: dict[str, str | bytes] = {"roadmap-dated.csv": roadmap_csv_text(instance, result)}
        files.update(roadmap_calendar_files(instance, plan))
        for rel in sorted(files):
            write_atomic(out / rel, files[rel])
        print(f"Записано в {out}: " + ", ".join(sorted(files)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("roadmap", help="составить расписание дорожной карты: критический путь и резервы")
    p.add_argument("instance", help="папка экземпляра или книга .xlsx")
    p.add_argument("--out", help="папка: записать roadmap-dated.csv и календари calendars/roadmap.ics,"
                                 " calendars/executor-*.ics")
    p.add_argument("--time-limit", type=float, default=None,
                   help="предел времени решателя, с (по умолчанию [roadmap] time_limit_s)")
    p.set_defaults(func=_cmd_roadmap)
