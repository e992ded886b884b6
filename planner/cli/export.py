"""`planner export <ФОРМАТ> PLAN ...`: one command group that every export format joins.

How to add a format (from your command module's `register(sub)`):

    from planner.cli.export import add_plan_arguments, export_subparsers, load_plan_for_export

    p = export_subparsers(sub).add_parser("docx", help="...")
    add_plan_arguments(p)              # PLAN, --out DIR, --instance INSTANCE
    p.set_defaults(func=_cmd_export_docx)

    def _cmd_export_docx(args):
        plan_path, plan, instance, out_dir = load_plan_for_export(args)
        ...

`export_subparsers(sub)` creates the `export` parser the first time it is called for a
given top-level `sub` and returns the same group on every later call, so the modules can
register in any order. The group is kept on `sub` itself (not in a global), so each
`build_parser()` gets its own.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.domain import Instance, Plan

_ATTR = "_planner_export_group"


def export_subparsers(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The sub-subcommand group of `planner export` (created once per top-level `sub`)."""
    group = getattr(sub, _ATTR, None)
    if group is None:
        parser = sub.add_parser(
            "export",
            help="выгрузить готовый план в другой формат (календари, документы)",
            description="Выгрузить план (plan.json) в другой формат. Файлы пишутся рядом с планом "
                        "или в папку --out.",
        )
        group = parser.add_subparsers(dest="export_format", required=True, metavar="ФОРМАТ")
        setattr(sub, _ATTR, group)
    return group


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every export takes: PLAN, --out DIR, --instance INSTANCE."""
    parser.add_argument("plan", help="файл плана plan.json")
    parser.add_argument("--out", help="папка для файлов (по умолчанию — папка плана)")
    parser.add_argument("--instance", help="экземпляр, из которого построен план "
                                           "(по умолчанию — путь, записанный в плане)")


def load_plan_for_export(args: argparse.Namespace) -> tuple[Path, Plan, Instance, Path]:
    """(plan path, plan, its instance, output folder) from the common export arguments."""
    from planner.exports.plan_io import instance_for_plan, read_plan

    plan_path = Path(args.plan)
    plan = read_plan(plan_path)
    instance = instance_for_plan(plan, plan_path, args.instance)
    out_dir = Path(args.out) if args.out else plan_path.parent
    return plan_path, plan, instance, out_dir
