"""The one door from the web application to the planner: every import of the planner's own
modules (loading, validation, solving, exports, the template, the documents' Russian texts)
is here and nowhere else in `planner.web`, so that re-pointing them after a move of those
modules is a change of this file only.

The domain types (`models.*`) are imported directly where needed: they are the data the
pages show, not a part of the application that moves.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from models.domain import Instance, Plan
from models.problems import InputError, Problem
from models.solve import SolveOptions
from models.validate import validate as validate_plan  # noqa: F401  (re-exported for the tests)

# The documents' shared Russian texts and arrangements (month titles, «когда», «где», names).
from planner.exports.documents_common import (  # noqa: F401  (re-exported for the views)
    STATUS_TITLES,
    consultant_name,
    format_title,
    month_short,
    month_title,
    municipality_name,
    natural_key,
    plan_months,
    plan_score,
    quoted_title,
    responsible,
    risk_coverage,
    risk_title,
    school_name,
    school_order,
    score_label,
    session_month,
    session_when,
    session_where,
    sessions_by_month,
    topic_title,
)
from planner.inputs import guide  # noqa: F401  (re-exported: the guide's sections for problems)


def safe_file_part(party_id: str) -> str:
    """How a party's id appears in its calendar's file name (consultant-<part>.ics)."""
    from planner.exports.calendars import safe_file_part as _part

    return _part(party_id)


__all__ = [
    "DOCUMENT_FILES",
    "InputError",
    "Instance",
    "Plan",
    "PlanInvalid",
    "Problem",
    "guide",
    "instance_file_names",
    "instance_sheet_names",
    "load_instance_as",
    "plan_files",
    "plan_from_json",
    "plan_to_json",
    "solve_plan",
    "template_workbook",
]

DOCUMENT_FILES = ("appendix.docx", "plan.xlsx", "report.html")


class PlanInvalid(Exception):
    """The solver made a plan that breaks a rule (a bug): nothing is kept."""


def instance_file_names() -> tuple[str, ...]:
    """The files an instance folder may hold: `instance.toml` and one CSV per table."""
    from planner.inputs.tables import SETTINGS_FILE, TABLE_SPECS

    return (SETTINGS_FILE, *(spec.file for spec in TABLE_SPECS.values()))


def instance_sheet_names() -> tuple[str, ...]:
    """The sheets of an instance workbook that the loader reads: `instance` and one per table."""
    from planner.inputs.tables import SETTINGS_SHEET, TABLE_SPECS

    return (SETTINGS_SHEET, *TABLE_SPECS)


def load_instance_as(path: Path, name: str, shown_as: str) -> tuple[Instance, list[Problem]]:
    """Read and validate the stored upload at `path` (a workbook or a folder of CSV files) as
    the instance `name`. The messages name the file as the person uploaded it (`shown_as`),
    never the server's own file name. Raises InputError with every problem at once."""
    from planner.inputs.loading import read_instance
    from planner.inputs.validation import build_instance

    stored = Path(path).name
    where = str(Path(path).parent)

    def shown(problems: list[Problem]) -> list[Problem]:
        """The server's own names and folders never reach a person: the upload's name instead."""
        return [dataclasses.replace(
            p,
            file=(shown_as + p.file[len(stored):]) if p.file.startswith(stored) else p.file.replace(where, "…"),
            message=p.message.replace(where, "…"),
        ) for p in problems]

    try:
        raw = read_instance(Path(path))
    except InputError as exc:
        raise InputError(shown(exc.problems)) from None
    raw.name = name
    instance, problems = build_instance(raw)
    problems = shown(problems)
    if instance is None or any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return instance, problems


def solve_plan(instance: Instance, *, time_limit: float, workers: int, progress: Callable[[str], None],
               instance_label: str) -> Plan:
    """instance → (roadmap) → solve → a plan checked by the independent validator."""
    from planner.workflows.solving import PlanInvalid as _Invalid
    from planner.workflows.solving import plan_instance

    opts = SolveOptions(time_limit=time_limit, workers=workers, progress=progress)
    try:
        return plan_instance(instance, opts, instance_label)
    except _Invalid as exc:
        lines = "; ".join(v.render() for v in exc.violations[:5])
        raise PlanInvalid(f"план нарушает правила ({len(exc.violations)}): {lines}") from None


def plan_files(instance: Instance, plan: Plan) -> dict[str, str | bytes]:
    """Every export of a plan, in memory: plan.json, plan.csv, calendars/*.ics, the documents."""
    from planner.workflows.solving import output_files

    return output_files(instance, plan)


def plan_to_json(plan: Plan) -> str:
    from planner.exports.plan_io import plan_json_text

    return plan_json_text(plan)


def plan_from_json(path: Path) -> Plan:
    from planner.exports.plan_io import read_plan

    return read_plan(path)


def template_workbook(source: Path | None, scratch: Path) -> bytes:
    """The workbook a working group fills in: empty, or filled with the instance at `source`.
    Built in a temporary file under `scratch` (inside the server's data folder)."""
    from planner.inputs.template import write_template

    scratch.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=scratch)
    os.close(fd)
    try:
        write_template(Path(tmp), source=source)
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


# --- what-if, versions, publishing ---------------------------------------------------------


def parse_scenario_text(text: str, source: str):
    """A scenario from TOML text (InputError naming `source`, the entry and the field)."""
    from planner.workflows.versions import read_scenario_text

    return read_scenario_text(text, source)


def scenario_text(scenario) -> str:
    from planner.workflows.versions import scenario_toml

    return scenario_toml(scenario)


def scenario_kinds() -> tuple[str, ...]:
    from planner.inputs.scenario import KINDS

    return KINDS


def merged_scenario(texts: list[str]):
    """The scenarios of a plan's history (TOML texts, oldest first) as one, or None."""
    from planner.workflows.versions import merge_scenarios

    return merge_scenarios([parse_scenario_text(t, "scenario.toml") for t in texts])


def changed_instance(instance: Instance, texts: list[str]) -> Instance:
    """The uploaded instance as the scenarios of a plan's history changed it."""
    from planner.workflows.versions import changed_instance as _changed

    return _changed(instance, [parse_scenario_text(t, "scenario.toml") for t in texts])


def apply_scenario(scenario, instance: Instance) -> Instance:
    from planner.workflows.versions import check_scenario

    return check_scenario(instance, scenario)


def replan_plan(instance: Instance, baseline: Plan, freeze, *, time_limit: float, workers: int,
                progress: Callable[[str], None], scenario_name: str, held: list[str]):
    """The replan in memory: ReplanResult (options checked by the validator)."""
    from planner.workflows.replanning import replan_instance
    from planner.workflows.solving import PlanInvalid as _Invalid

    opts = SolveOptions(time_limit=time_limit, workers=workers, progress=progress)
    try:
        return replan_instance(instance, baseline, freeze, opts, scenario_name=scenario_name, held=set(held))
    except _Invalid as exc:
        lines = "; ".join(v.render() for v in exc.violations[:5])
        raise PlanInvalid(f"план нарушает правила ({len(exc.violations)}): {lines}") from None


def change_report(instance: Instance, baseline: Plan, plan: Plan, options: dict | None = None) -> str:
    from planner.workflows.replanning import change_report as _report

    return _report(instance, baseline, plan, options)


def options_table(baseline: Plan, options: dict, freeze) -> list[tuple[str, list[str]]]:
    from planner.workflows.replanning import options_table as _table

    return _table(baseline, options, freeze)


def option_titles() -> dict[str, str]:
    from planner.workflows.replanning import OPTION_TITLES

    return OPTION_TITLES


def change_counts(changes: list[dict]) -> dict[str, int]:
    from planner.workflows.versions import change_counts as _counts

    return _counts(changes)


def plan_changes(a: Plan | None, b: Plan) -> list[dict]:
    from planner.workflows.versions import plan_changes as _changes

    return _changes(a, b)


def party_changes(instance: Instance, changes: list[dict]):
    from planner.workflows.replanning import party_changes as _split

    return _split(instance, changes)


def apply_edits(instance: Instance, base: Plan, edits: list[dict]):
    from planner.workflows.versions import apply_edits as _apply

    return _apply(instance, base, edits)


def score(instance: Instance, plan: Plan) -> dict:
    from models.score import score_plan

    return score_plan(instance, plan)


def feed_calendars(instance: Instance, plan: Plan, previous: dict[str, bytes]) -> dict[str, bytes]:
    from planner.workflows.publishing import feed_calendars as _feeds

    return _feeds(instance, plan, previous)


def party_digests(instance: Instance, old: Plan | None, new: Plan):
    from planner.workflows.publishing import party_digests as _digests

    return _digests(instance, old, new)


def digest_docx(title: str, subtitle: str, digests) -> bytes:
    from planner.workflows.publishing import digest_docx as _docx

    return _docx(title, subtitle, digests)


def digest_from_dict(d: dict):
    from planner.workflows.publishing import PartyDigest

    return PartyDigest(d["kind"], d["party"], d["name"], list(d["lines"]), list(d.get("sessions", [])))


def publish_caldav(instance: Instance, plan: Plan, url: str, username: str, password: str,
                   progress: Callable[[str], None]):
    """`planner publish`'s logic: every party's calendar on the CalDAV server, idempotent,
    foreign events untouched. Returns its PublishReport; InputError in Russian on failure."""
    from planner.calendar_sync.caldav_publish import publish_plan

    return publish_plan(instance, plan, url, username=username or None, password=password or None,
                        progress=progress)


def smtp_settings(path: Path):
    from planner.workflows.publishing import read_smtp_settings

    return read_smtp_settings(path)


def letters_for(digests, feeds: dict[str, bytes], emails: dict[tuple[str, str], str], sender: str, heading: str):
    """One letter per party that has an address and changes: the digest as text, one iTIP
    file per changed event (REQUEST / CANCEL) and the party's whole calendar."""
    from planner.workflows.publishing import Letter, digest_text, itip_files

    out = []
    for d in digests:
        email = emails.get((d.kind, d.party))
        feed = feeds.get(d.key)
        if not email or feed is None or not d.lines:
            continue
        files = [(name, data, method) for name, data, method in itip_files(feed, d.sessions, sender, email, d.name)]
        files.append((f"{d.key}.ics", feed, None))
        out.append((d, Letter(email, d.name, f"Изменения графика консультаций: {d.name}", digest_text(d, heading),
                              files)))
    return out


def send_letters(settings, letters, report=None):
    from planner.workflows.publishing import send_letters as _send

    return _send(settings, letters, report)
