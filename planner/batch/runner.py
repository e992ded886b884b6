"""The batch on Ray: every region (and every scenario against its region's plan) is one task.

`run_batch` connects to Ray (a new local cluster by default, or an existing one at
`address` / RAY_ADDRESS), submits one task per region whose outputs are not current,
writes each region's outputs as its task finishes (the whole folder or nothing), submits the
region's scenarios once its plan is there, prints a progress line per finished task and
returns the rows of the summary. Tasks get and return plain values (`jobs`, `task`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path

from planner.batch.jobs import (
    CSV_COLUMNS,
    Job,
    Row,
    Settings,
    check_inputs,
    count_schools,
    instance_files,
    region_name,
    scenario_files,
)
from planner.exports.plan_io import write_atomic, write_bundle

MB = 1024 * 1024
UMASK = os.umask(0o022)
os.umask(UMASK)
STAMP = "batch.json"
"""Written beside a region's outputs: the key of what they were made from, and their row."""
DEFAULT_OBJECT_STORE_MB = 256
"""The local cluster's object store: a task's input and results are a few MB at most."""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class BatchResult:
    rows: list[Row]
    seconds: float
    local_peak_mb: float | None = None  # every process of the local cluster together
    cluster: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.status == "failed"]


# --- the outputs on disk ----------------------------------------------------------------


def write_folder(folder: Path, files: dict[str, str | bytes], stamp: dict) -> None:
    """The region's folder, whole or not at all: written beside it under a temporary name,
    then renamed into place (an old folder is first moved aside, then removed)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        os.chmod(tmp, 0o777 & ~UMASK)  # mkdtemp makes it private; the outputs are not
        write_bundle(tmp, {**files, STAMP: json.dumps(stamp, ensure_ascii=False, indent=1)})
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(folder, old)
            os.rename(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def tidy(parent: Path) -> None:
    """Undo what a batch stopped between its two renames left: a folder moved aside whose
    replacement never arrived comes back; half-written new folders go."""
    if not parent.is_dir():
        return
    for p in parent.iterdir():
        if p.name.startswith(".") and ".old-" in p.name:
            target = parent / p.name[1:].split(".old-")[0]
            if target.exists():
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.rename(p, target)
    for p in parent.iterdir():
        if p.name.startswith(".") and ".new-" in p.name:
            shutil.rmtree(p, ignore_errors=True)


def current_row(folder: Path, key: str) -> Row | None:
    """The stored row when the folder's outputs were made from exactly this key."""
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if stamp.get("key") != key or not (folder / "plan.json").is_file():
        return None
    names = {f.name for f in fields(Row)}
    row = Row(**{k: v for k, v in stamp.get("row", {}).items() if k in names})
    row.status = "current"
    return row


def csv_text(rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(r).items()})
    return buf.getvalue()


# --- memory of the local cluster -------------------------------------------------------------


class TreeMemory:
    """Samples, twice a second, the resident memory of this process and all its descendants
    (the local Ray cluster: its services and workers); keeps the largest sum. Linux only."""

    def __init__(self, interval: float = 0.5):
        self.interval, self.peak_kb = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        if Path("/proc/self/status").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    @property
    def peak_mb(self) -> float | None:
        return round(self.peak_kb / 1024, 1) if self.peak_kb else None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, tree_rss_kb(os.getpid()))
            except OSError:
                pass
            self._stop.wait(self.interval)

    @staticmethod
    def sample() -> int:
        return tree_rss_kb(os.getpid())


def tree_rss_kb(root: int) -> int:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


# --- Ray -------------------------------------------------------------------------------------


def connect(address: str | None, num_cpus: int | None, object_store_mb: int | None) -> tuple[bool, bool]:
    """Connect to Ray. Returns (we started the connection, it is a new local cluster).
    Already connected (a test, a notebook): that connection is used as it is."""
    import logging

    import ray

    if ray.is_initialized():
        return False, False
    address = address or os.environ.get("RAY_ADDRESS") or None
    common = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **common)
        return True, False
    # "local": always a new cluster of our own, never one that another program started here.
    # Ray starts its workers with nice 15, below its own services; here the workers are the
    # work, and on a machine shared with other programs nice 15 would leave them only idle CPU.
    os.environ.setdefault("RAY_worker_niceness", "0")
    ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1,
             object_store_memory=(object_store_mb or DEFAULT_OBJECT_STORE_MB) * MB, **common)
    return True, True


def failure_reason(exc: BaseException) -> str:
    """A Ray error, in words."""
    import ray.exceptions as rx

    if isinstance(exc, rx.OutOfMemoryError):
        return "не хватило памяти: Ray остановил процесс задачи (повтор тоже не удался)"
    if isinstance(exc, rx.WorkerCrashedError | rx.NodeDiedError | rx.LocalRayletDiedError):
        return "процесс задачи прервался и после повтора прервался снова: " + type(exc).__name__
    if isinstance(exc, rx.TaskCancelledError):
        return "задача отменена"
    if isinstance(exc, rx.RayTaskError):
        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
        return f"внутренняя ошибка задачи: {type(cause).__name__}: {str(cause).splitlines()[0][:300]}"
    return f"ошибка Ray: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


# --- the batch -------------------------------------------------------------------------------


def planner_version() -> str:
    try:
        return metadata.version("shnor-planner")
    except metadata.PackageNotFoundError:
        return "unknown"


def run_batch(paths: list[str | Path], out: str | Path, settings: Settings, *,
              scenarios_dir: str | Path | None = None, address: str | None = None,
              num_cpus: int | None = None, object_store_mb: int | None = None,
              progress=say) -> BatchResult:
    """Plan every instance (and every scenario) as Ray tasks; see the module docstring."""
    t0 = time.monotonic()
    paths = [Path(p) for p in paths]
    scen_dir = Path(scenarios_dir) if scenarios_dir else None
    for warning in check_inputs(paths, scen_dir):
        progress(warning)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    version = planner_version()

    jobs: list[Job] = []
    for path in paths:
        files = instance_files(path)
        jobs.append(Job(region_name(path), str(path), files, settings, count_schools(files), version=version))
    rows: dict[str, Row] = {}
    order: list[str] = []  # labels in the summary's order: each region, then its scenarios
    scenarios: dict[str, list[Path]] = {}
    tidy(out)
    for job in jobs:
        order.append(job.label)
        scenarios[job.region] = scenario_files(scen_dir, job.region)
        order += [f"{job.region}/{p.stem}" for p in scenarios[job.region]]
        tidy(out / job.region / "scenarios")

    import ray

    remote = ray.remote(_run_job_entry)
    pending: dict = {}  # ObjectRef → Job
    total = len(order)
    done = 0
    state = {"started": False, "local": False}
    cluster: dict = {}

    def ensure_connected() -> None:
        """Ray is started (or joined) only when some task has to run: a rerun whose outputs
        are all current needs none."""
        if cluster:
            return
        state["started"], state["local"] = connect(address, num_cpus, object_store_mb)
        resources = ray.cluster_resources()
        cluster.update(cpus=resources.get("CPU", 0), nodes=len([n for n in ray.nodes() if n.get("Alive")]))
        progress(f"Ray: узлов {cluster['nodes']}, CPU {cluster['cpus']:g}; на задачу CPU {settings.cpus}")

    def finish(row: Row) -> None:
        nonlocal done
        rows[row.label] = row
        done += 1
        progress(progress_line(done, total, row))

    def submit(job: Job) -> None:
        ensure_connected()
        ref = remote.options(num_cpus=job.cpus, memory=job.memory_mb * MB, max_retries=1,
                             retry_exceptions=False, name=f"planner batch {job.label}").remote(job.plain())
        pending[ref] = job

    def region_ready(job: Job, plan_json: bytes) -> None:
        """The region's plan is on disk: its scenarios can run against it."""
        for path in scenarios[job.region]:
            sjob = Job(job.region, job.instance_path, job.instance_files, settings, job.schools,
                       scenario=path.stem, scenario_path=str(path), scenario_text=path.read_bytes(),
                       baseline=plan_json, version=version)
            row = current_row(out / job.region / "scenarios" / path.stem, sjob.key())
            if row is not None:
                finish(row)
            else:
                submit(sjob)

    def region_failed(job: Job) -> None:
        for path in scenarios[job.region]:
            finish(Row(job.region, path.stem, schools=job.schools, reason="план региона не построен"))

    progress(f"Регионов {len(jobs)}, сценариев {total - len(jobs)}; результаты: {out}")
    memory = TreeMemory()
    try:
        with memory:
            for job in jobs:
                row = current_row(out / job.region, job.key())
                if row is None:
                    submit(job)
                else:
                    finish(row)
                    region_ready(job, (out / job.region / "plan.json").read_bytes())
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                ref = ready[0]
                job = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - the task died: the region fails alone
                    row = Row(job.region, job.scenario, schools=job.schools, reason=failure_reason(exc))
                    finish(row)
                    if not job.scenario:
                        region_failed(job)
                    continue
                row = row_of(job, result)
                if row.status == "ok":
                    folder = out / job.region / "scenarios" / job.scenario if job.scenario else out / job.region
                    try:
                        write_folder(folder, result["files"], {"key": job.key(), "row": asdict(row)})
                    except OSError as exc:
                        row.status, row.reason = "failed", f"не удалось записать {folder}: {exc}"
                finish(row)
                if not job.scenario:
                    if row.status == "ok":
                        region_ready(job, (out / job.region / "plan.json").read_bytes())
                    else:
                        region_failed(job)
    finally:
        if state["started"]:
            ray.shutdown()
    ordered = [rows[label] for label in order if label in rows]
    write_atomic(out / "batch.csv", csv_text(ordered))
    return BatchResult(ordered, round(time.monotonic() - t0, 1), memory.peak_mb if state["local"] else None, cluster)


def _run_job_entry(job: dict) -> dict:
    """The Ray task: `task.run_job`, imported in the task's process."""
    from planner.batch.task import run_job

    return run_job(job)


def row_of(job: Job, result: dict) -> Row:
    row = Row(job.region, job.scenario, status=result["status"], reason=result.get("reason", ""),
              seconds=result.get("seconds"), peak_mb=result.get("peak_mb"), node=result.get("node", ""))
    for key, value in result.get("row", {}).items():
        setattr(row, key, value)
    if row.schools is None:
        row.schools = job.schools
    return row


# --- what people read ------------------------------------------------------------------------

STATUS_RU = {"ok": "готов", "current": "актуален", "failed": "ОШИБКА"}


def progress_line(done: int, total: int, row: Row) -> str:
    width = 20
    filled = round(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    if row.status == "failed":
        what = "ОШИБКА: " + (row.reason.splitlines()[0] if row.reason else "")
    elif row.status == "current":
        what = "актуален, пропущен"
    else:
        what = f"готов: покрытие {_pct(row.coverage, 1)}, {row.seconds:.1f} с"
    return f"[{bar}] {done}/{total} {row.label} — {what}"


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _n(value, fmt: str = "{}") -> str:
    return "—" if value is None else fmt.format(value)


TABLE_HEAD = ("Регион", "Школ", "Статус", "Разрыв", "Покрытие", "Непокр.", "Км", "Темы", "Пик мес.",
              "Макс. пер.", "Тем/шк.", "Выезд./мес", "С", "Пик МБ")


def summary_table(result: BatchResult) -> str:
    """The summary in Russian: one line per region and scenario, then the reasons of the
    failures, then the totals."""
    lines_ = []
    for r in result.rows:
        lines_.append((
            r.label, _n(r.schools), STATUS_RU.get(r.status, r.status), _pct(r.gap, 2), _pct(r.coverage, 1),
            _n(r.unmet), _n(r.km, "{:,.0f}").replace(",", " "),
            "—" if r.topics_held is None else f"{r.topics_held}/{r.topics_usable}",
            _pct(r.busiest_month_share, 0), _n(r.longest_gap), _n(r.relevant_per_school, "{:.1f}"),
            _n(r.max_onsite_per_month), _n(r.seconds, "{:.1f}"), _n(r.peak_mb, "{:.0f}"),
        ))
    widths = [max(len(h), *(len(x[i]) for x in lines_)) if lines_ else len(h) for i, h in enumerate(TABLE_HEAD)]

    def fmt(cells) -> str:
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    text = [fmt(TABLE_HEAD), "  ".join("-" * w for w in widths)] + [fmt(x) for x in lines_]
    failed = result.failed
    if failed:
        text += ["", f"Не построено ({len(failed)}):"]
        for r in failed:
            reason = r.reason.splitlines() or [""]
            text.append(f"  {r.label}: {reason[0]}")
            text += [f"    {line.strip()}" for line in reason[1:11]]
            if len(reason) > 11:
                text.append(f"    … и ещё строк: {len(reason) - 11}")
    counts = {s: sum(1 for r in result.rows if r.status == s) for s in ("ok", "current", "failed")}
    regions = [r for r in result.rows if not r.scenario]
    text += ["", f"Регионов: {len(regions)}, сценариев: {len(result.rows) - len(regions)};"
             f" построено {counts['ok']}, актуальны (пропущены) {counts['current']}, с ошибкой {counts['failed']}."
             f" Время: {_duration(result.seconds)}."]
    if result.local_peak_mb:
        text.append(f"Пик памяти всех процессов локального кластера: {result.local_peak_mb:.0f} МБ.")
    return "\n".join(text)


def _duration(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} мин {s} с" if m else f"{seconds:.1f} с"
