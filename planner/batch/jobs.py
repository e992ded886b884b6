"""The batch's plain data: what one task gets and what it returns, the time limit and memory
a region is given, and the key that says whether a region's outputs are current.

Nothing here imports Ray: a job is a dict of plain values (bytes, text, numbers) that any
process can unpickle without the project's model objects, and so is a task's result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from models.problems import InputError, Problem

INSTANCE_SUFFIXES = (".csv", ".toml", ".xlsx")
"""The files of an instance folder a task gets (and the key is computed from)."""

BASE_TIME_LIMIT = 4.0
SECONDS_PER_SCHOOL = 0.04
MIN_TIME_LIMIT = 5.0
MAX_TIME_LIMIT = 16.0


def region_time_limit(schools: int) -> float:
    """The solver's time limit of a region: 4 s + 0.04 s per school, within [5, 16] s.

    The national set (84 regions, about 3,000 schools, the largest 300) then asks for
    about 84 · 5 + 3,000 · 0.04 ≈ 560 s of solver time at most, under 5 minutes on two
    cores: the rest of the 10 minutes is loading, documents, calendars and a shared machine.
    A region of up to 25 schools gets 5 s and is usually proven sooner; 300 schools get 16 s.
    `--time-limit S` gives every region S seconds instead."""
    return round(min(MAX_TIME_LIMIT, max(MIN_TIME_LIMIT, BASE_TIME_LIMIT + SECONDS_PER_SCHOOL * schools)), 1)


def region_memory_mb(schools: int) -> int:
    """The memory a region's task declares to Ray (MB): 400 + 2 per school. A 300-school
    region peaks at about 400 MB with one worker (docs/batch.md); the margin covers more
    workers and the documents."""
    return 400 + 2 * schools


@dataclass
class Settings:
    """What every task of a batch shares; part of every region's key."""

    time_limit: float | None = None  # None: region_time_limit(schools)
    cpus: int = 1  # per task; also the solver's workers
    seed: int = 0
    calendars: bool = True
    documents: bool = True


@dataclass
class Job:
    """One task: a region's plan (`scenario` empty) or one scenario against that plan."""

    region: str
    instance_path: str  # as given on the command line; recorded in the plan
    instance_files: dict[str, bytes]  # file name → content
    settings: Settings
    schools: int  # counted by the driver from the files, for the time limit and memory
    scenario: str = ""  # the scenario's name (file stem)
    scenario_path: str = ""
    scenario_text: bytes = b""
    baseline: bytes = b""  # the region's plan.json, for a scenario
    version: str = ""  # the planner's version: a new one makes every output stale

    @property
    def label(self) -> str:
        return f"{self.region}/{self.scenario}" if self.scenario else self.region

    @property
    def time_limit(self) -> float:
        return self.settings.time_limit if self.settings.time_limit else region_time_limit(self.schools)

    @property
    def cpus(self) -> int:
        return self.settings.cpus

    @property
    def memory_mb(self) -> int:
        return region_memory_mb(self.schools)

    def key(self) -> str:
        """The digest of everything the outputs depend on: the instance's files, the scenario
        and its baseline, the settings, the time limit, the planner's version."""
        digest = {
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(self.instance_files.items())},
            "scenario": hashlib.sha256(self.scenario_text).hexdigest() if self.scenario else "",
            "baseline": hashlib.sha256(self.baseline).hexdigest() if self.scenario else "",
            "settings": asdict(self.settings),
            "time_limit": self.time_limit,
            "version": self.version,
        }
        return hashlib.sha256(json.dumps(digest, sort_keys=True).encode()).hexdigest()

    def plain(self) -> dict:
        """What crosses to the task's process: plain values only."""
        return {**asdict(self), "time_limit": self.time_limit}


@dataclass
class Row:
    """One line of the summary and of batch.csv."""

    region: str
    scenario: str = ""
    schools: int | None = None
    status: str = "failed"  # ok, current (outputs already current: skipped), failed
    gap: float | None = None
    coverage: float | None = None
    unmet: int | None = None
    km: float | None = None
    topics_held: int | None = None
    topics_usable: int | None = None
    busiest_month_share: float | None = None
    longest_gap: int | None = None
    relevant_per_school: float | None = None
    max_onsite_per_month: int | None = None
    seconds: float | None = None
    peak_mb: float | None = None
    node: str = ""  # the Ray node that ran the task
    reason: str = ""

    @property
    def label(self) -> str:
        return f"{self.region}/{self.scenario}" if self.scenario else self.region


CSV_COLUMNS = ["region", "scenario", "schools", "status", "gap", "coverage", "unmet", "km", "topics_held",
               "topics_usable", "busiest_month_share", "longest_gap", "relevant_per_school",
               "max_onsite_per_month", "seconds", "peak_mb", "reason"]


# --- the driver's side: reading the inputs ---------------------------------------------------


def instance_files(path: Path) -> dict[str, bytes]:
    """An instance's files as bytes: the folder's CSV/TOML/XLSX files, or the one workbook."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())
            if p.is_file() and p.suffix.lower() in INSTANCE_SUFFIXES and not p.name.startswith((".", "~$"))}


def count_schools(files: dict[str, bytes]) -> int:
    """Schools in an instance, counted without validating it (0 when it cannot be read):
    enough to size a region's time limit and memory."""
    import csv
    import io

    try:
        if "schools.csv" in files:
            text = files["schools.csv"].decode("utf-8-sig", errors="replace")
            return max(0, sum(1 for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)) - 1)
        workbooks = [name for name in files if name.lower().endswith(".xlsx")]
        if workbooks:
            from openpyxl import load_workbook

            book = load_workbook(io.BytesIO(files[workbooks[0]]), read_only=True)
            if "schools" in book.sheetnames:
                return max(0, sum(1 for row in book["schools"].iter_rows(values_only=True)
                                  if any(v not in (None, "") for v in row)) - 1)
    except Exception:  # a broken file is the task's to report, with its Russian message
        return 0
    return 0


def region_name(path: Path) -> str:
    """A region's name in the batch: its folder's name, or the workbook's without `.xlsx`."""
    return path.stem if path.is_file() else path.resolve().name


def check_inputs(paths: list[Path], scenarios_dir: Path | None) -> list[str]:
    """InputError (in Russian, every problem at once) for a missing instance, two instances
    of one name, a scenario outside a region's folder; the warnings: scenario folders naming
    no instance of this batch (a batch of some of the regions uses the same folder)."""
    problems, warnings = [], []
    seen: dict[str, Path] = {}
    for path in paths:
        if not path.exists():
            problems.append(Problem("командная строка", "нет такой папки или файла экземпляра", column="INSTANCE",
                                    value=str(path)))
            continue
        if path.is_file() and path.suffix.lower() != ".xlsx":
            problems.append(Problem("командная строка", "экземпляр — это папка с файлами CSV или книга .xlsx",
                                    column="INSTANCE", value=str(path)))
            continue
        name = region_name(path)
        if name in seen:
            problems.append(Problem("командная строка", f"два экземпляра с одним именем «{name}»: результаты"
                                    " пишутся в папку с именем экземпляра", column="INSTANCE",
                                    value=f"{seen[name]}, {path}"))
        seen[name] = path
    if scenarios_dir is not None:
        if not scenarios_dir.is_dir():
            problems.append(Problem("командная строка", "нет такой папки сценариев", column="--scenarios",
                                    value=str(scenarios_dir)))
        else:
            for sub in sorted(scenarios_dir.iterdir()):
                if sub.is_dir() and any(sub.glob("*.toml")) and sub.name not in seen:
                    warnings.append(f"Сценарии папки {sub} пропущены: экземпляра «{sub.name}» нет среди"
                                    " заданных (имя папки сценариев — имя экземпляра).")
            loose = sorted(p.name for p in scenarios_dir.glob("*.toml"))
            if loose:
                problems.append(Problem(str(scenarios_dir), "сценарий лежит вне папки региона; положите его"
                                        " в папку СЦЕНАРИИ/<имя экземпляра>/", column="--scenarios",
                                        value=", ".join(loose)))
    if problems:
        raise InputError(problems)
    return warnings


def scenario_files(scenarios_dir: Path | None, region: str) -> list[Path]:
    """A region's scenarios: DIR/<region>/*.toml, in name order."""
    if scenarios_dir is None or not (scenarios_dir / region).is_dir():
        return []
    return sorted((scenarios_dir / region).glob("*.toml"))
