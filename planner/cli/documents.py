"""`planner export docx`, `planner export xlsx`, `planner report`: the documents of a plan.

Thin: read the plan and its instance, call the pure builders of `planner.exports`, write the
files with `write_bundle` (each complete or not at all), print where they are.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from models.domain import Instance, Plan
from models.problems import InputError, Problem
from planner.cli.export import add_plan_arguments, export_subparsers, load_plan_for_export
from planner.exports.documents import APPENDIX_FILE, REPORT_FILE, WORKBOOK_FILE
from planner.exports.documents_common import plan_mismatches


def register(sub: argparse._SubParsersAction) -> None:
    export = export_subparsers(sub)
    p = export.add_parser(
        "docx",
        help="приложение к приказу в Word: график консультаций по месяцам",
        description=f"Записать {APPENDIX_FILE}: график консультаций в форме приложения к приказу "
        "(по месяцам). С --sections — также визиты верификации, консультации по школам и "
        "мероприятия дорожной карты.",
    )
    add_plan_arguments(p)
    p.add_argument(
        "--sections",
        default="graph",
        metavar="РАЗДЕЛЫ",
        help="разделы через запятую: graph (график по месяцам), visits (визиты верификации по "
        "школам), schools (консультации по школам), roadmap (мероприятия дорожной карты); "
        "по умолчанию graph",
    )
    p.set_defaults(func=_cmd_export_docx)

    p = export.add_parser(
        "xlsx",
        help="книга Excel: график, школы, нагрузка консультантов, непокрытые риски, итоги",
        description=f"Записать {WORKBOOK_FILE}: план по листам, с фильтрами и настоящими датами.",
    )
    add_plan_arguments(p)
    p.set_defaults(func=_cmd_export_xlsx)

    p = sub.add_parser(
        "report",
        help="наглядный отчёт о плане: одна страница HTML, открывается без интернета",
        description=f"Записать {REPORT_FILE}: главные цифры, диаграммы консультантов и школ, покрытие "
        "факторов риска, нагрузку, выезды, непокрытые потребности и изменения.",
    )
    add_plan_arguments(p)
    p.set_defaults(func=_cmd_report)


def _cmd_export_docx(args: argparse.Namespace) -> int:
    from planner.exports.documents_docx import SECTIONS, appendix_docx

    chosen = [x.strip() for x in args.sections.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in SECTIONS]
    if unknown or not chosen:
        raise InputError([Problem("командная строка", f"неизвестный раздел приложения (есть: {', '.join(SECTIONS)})",
                                  column="--sections", value=args.sections)])
    return _write_one(args, APPENDIX_FILE, lambda instance, plan: appendix_docx(instance, plan, chosen))


def _cmd_export_xlsx(args: argparse.Namespace) -> int:
    from planner.exports.documents_xlsx import plan_xlsx

    return _write_one(args, WORKBOOK_FILE, plan_xlsx)


def _cmd_report(args: argparse.Namespace) -> int:
    from planner.exports.report_html import report_html

    return _write_one(args, REPORT_FILE, report_html)


def _write_one(
    args: argparse.Namespace, name: str, build: Callable[[Instance, Plan], bytes]
) -> int:
    from planner.exports.plan_io import write_bundle

    plan_path, plan, instance, out_dir = load_plan_for_export(args)
    problems = plan_mismatches(instance, plan, plan_path.name)
    if problems:
        raise InputError(problems)
    written = write_bundle(Path(out_dir), {name: build(instance, plan)})
    print(f"Записано: {written[0]}")
    return 0
