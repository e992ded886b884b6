"""Tiny hand-built instances for tests: write the contract's files from Python rows."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from models.problems import InputError, Problem
from planner.inputs.tables import TABLE_SPECS
from planner.inputs.validation import load_instance

ROOT = Path(__file__).resolve().parent.parent
KUZBASS = ROOT / "instances" / "kuzbass-2022"

BASE_TOML = """\
[region]
name = "Тестовый регион"
timezone = "Asia/Novokuznetsk"
holidays = "RU"

[horizon]
start = 2022-03-01
end = 2022-06-30
blocked_months = []
vacations = []

# The classic problem (coverage, then travel): the programme's rules have tests of their own
# (test_programme.py). The rules section comes last, so that a test may append a rule to it.
[weights]
relevant_attendance = 0

[rules]
school_max_sessions_per_month = 2
min_topics_per_risk = 1
hold_every_topic = false
max_gap_months = 0
"""

MUNICIPALITIES = [
    {"id": "M1", "name": "Город А", "lat": "55.0", "lon": "86.0"},
    {"id": "M2", "name": "Город Б", "lat": "55.0", "lon": "87.0"},  # ~64 km east of M1
]
TOPICS = [
    {"id": "TV", "title": "Верификация", "risks": "", "stage": "verification", "format": "onsite",
     "duration_min": "120", "capacity": "1", "requires": "", "months": ""},
    {"id": "T1", "title": "Программа", "risks": "R03", "stage": "program", "format": "online",
     "duration_min": "90", "capacity": "10", "requires": "", "months": ""},
]
CONSULTANTS = [
    {"id": "C1", "name": "Иванова А. А.", "position": "директор", "municipality": "M1",
     "topics": "TV;T1", "max_per_month": "4", "max_total": "", "unavailable": ""},
]
SCHOOLS = [
    {"id": "S1", "name": "Школа 1", "municipality": "M1", "risks": "R03", "priority": "1",
     "verified_on": "2022-02-01", "curator": "C1"},
]


def rows_to_csv(rows: list[dict[str, str]], columns: list[str] | None = None) -> str:
    columns = columns or (list(rows[0]) if rows else [])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def write_instance(
    folder: Path,
    *,
    toml: str = BASE_TOML,
    municipalities: list[dict[str, str]] | None = None,
    topics: list[dict[str, str]] | None = None,
    consultants: list[dict[str, str]] | None = None,
    schools: list[dict[str, str]] | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write a tiny instance folder; any table can be replaced, `extra` adds raw files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.toml").write_text(toml, encoding="utf-8")
    tables = {
        "municipalities": MUNICIPALITIES if municipalities is None else municipalities,
        "topics": TOPICS if topics is None else topics,
        "consultants": CONSULTANTS if consultants is None else consultants,
        "schools": SCHOOLS if schools is None else schools,
    }
    for name, rows in tables.items():
        columns = list(rows[0]) if rows else TABLE_SPECS[name].column_names
        (folder / f"{name}.csv").write_text(rows_to_csv(rows, columns), encoding="utf-8")
    for name, text in (extra or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `planner` command (through this interpreter) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "planner.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def problems_of(path: Path) -> list[Problem]:
    """Every problem loading the instance at `path` reports (it must fail)."""
    with pytest.raises(InputError) as info:
        load_instance(path)
    return info.value.problems


def find(problems: list[Problem], **where: object) -> Problem:
    """The first problem with these attributes (file=…, row=…, column=…); fails naming all of them."""
    hits = [p for p in problems if all(getattr(p, k) == v for k, v in where.items())]
    assert hits, f"no problem with {where}; got:\n" + "\n".join(p.render() for p in problems)
    return hits[0]


def starve(monkeypatch, variable_prefix: str) -> None:
    """Give no time to every CP-SAT solve of a model that has a variable named `variable_prefix…`
    (e.g. "a[" the relaxation, "attend[" the month model, "placed[" the date phase): what a
    loaded machine or a short limit does to that step."""
    from ortools.sat.python import cp_model

    class NoTime(cp_model.CpSolver):
        def solve(self, model, *args):
            if any(v.name.startswith(variable_prefix) for v in model.proto.variables):
                self.parameters.max_time_in_seconds = 0.0
            return super().solve(model, *args)

    monkeypatch.setattr(cp_model, "CpSolver", NoTime)
