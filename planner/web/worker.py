"""One job in its own process: `python -m planner.web.worker DATA_DIR JOB_ID`.

The server's dispatcher starts it (a new process group, so that cancelling ends the solver and
the processes it forks for the documents). It reads the instance the job names, solves it,
writes every file of the plan into DATA_DIR/plans/<plan id>/ and hands the plan over in one
transaction. Progress goes to the job's row as the solver reports it, and every half second
(elapsed time). It stops on its own when the job is no longer running (cancelled, or failed by
a restarted server) or when the server that started it is gone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path

from planner.web import app_services as svc
from planner.web import store
from planner.web.db import connect, new_id
from planner.web.progress import fold
from planner.web.uploads import instance_source

TICK = 0.5


class Reporter:
    """Folds the solver's lines into the job's progress and stores it (thread-safe)."""

    def __init__(self, data: Path, job_id: str):
        self.conn = connect(data)
        self.job_id = job_id
        self.t0 = time.monotonic()
        self.progress: dict = {"message": "Запускаю расчёт…", "elapsed": 0.0}
        self.lock = threading.Lock()
        self.db_lock = threading.Lock()  # one connection, two threads (solver callback, ticker)

    def line(self, text: str) -> None:
        with self.lock:
            self.progress = fold(self.progress, text)
        self.store()

    def store(self) -> None:
        with self.lock:
            self.progress["elapsed"] = round(time.monotonic() - self.t0, 1)
            snapshot = dict(self.progress)
        with self.db_lock:
            still_running = store.update_progress(self.conn, self.job_id, snapshot)
        if not still_running:
            _stop()

    def snapshot(self) -> dict:
        with self.lock:
            self.progress["elapsed"] = round(time.monotonic() - self.t0, 1)
            return dict(self.progress)


def _stop() -> None:
    """The job is no longer ours (cancelled) or the server is gone: end now, write nothing."""
    os._exit(0)


def _watch(reporter: Reporter, parent: int) -> None:
    while True:
        time.sleep(TICK)
        if os.getppid() != parent:
            _stop()
        reporter.store()  # also notices a cancel: the update finds the job no longer running


def run(data: Path, job_id: str) -> int:
    conn = connect(data)
    job = store.get_job(conn, job_id)
    if job is None or job["status"] != "running":
        return 0
    reporter = Reporter(data, job_id)
    threading.Thread(target=_watch, args=(reporter, os.getppid()), daemon=True).start()
    params = json.loads(job["params"])
    instance_row = store.get_instance(conn, job["instance_id"])
    plan_id = new_id()
    plan_dir = data / "plans" / plan_id
    staging = data / "plans" / f".{plan_id}.partial"
    try:
        reporter.line("Читаю экземпляр…")
        source = instance_source(data, instance_row["id"], instance_row["source_kind"])
        instance, _warnings = svc.load_instance_as(source, instance_row["name"], instance_row["original_name"])
        reporter.line(f"  школ {len(instance.schools)}, консультантов {len(instance.consultants)},"
                      f" тем {len(instance.topics)}")
        plan = svc.solve_plan(instance, time_limit=float(params["time_limit"]), workers=int(params["workers"]),
                              progress=reporter.line, instance_label=instance_row["original_name"])
        reporter.line("Готовлю документы и календари…")
        files = svc.plan_files(instance, plan)
        _write_files(staging, files)
        _zip_calendars(staging)
        os.replace(staging, plan_dir)
        reporter.line(f"Готово: консультаций {len(plan.sessions)}, непокрытых потребностей {len(plan.unmet)}")
        record = store.PlanRecord(plan_id, plan.status, plan.objective, plan.bound, plan.solve_seconds,
                                  len(plan.sessions), len(plan.unmet), dict(plan.score))
        if not store.finish_job(conn, job_id, record, reporter.snapshot()):
            shutil.rmtree(plan_dir, ignore_errors=True)
        return 0
    except svc.InputError as exc:
        lines = "; ".join(p.render() for p in exc.errors[:10])
        store.fail_job(conn, job_id, f"Экземпляр не прошёл проверку: {lines}")
    except svc.PlanInvalid as exc:
        store.fail_job(conn, job_id, f"Внутренняя ошибка: {exc}. План не сохранён; сообщите разработчикам.")
    except Exception as exc:  # noqa: BLE001 (a person reads this: no traceback on the page; it goes to the log)
        traceback.print_exc(file=sys.stderr)
        store.fail_job(conn, job_id, f"Внутренняя ошибка программы: {type(exc).__name__}: {exc}."
                                     " Сообщите разработчикам.")
    shutil.rmtree(staging, ignore_errors=True)
    return 1


def _write_files(folder: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def _zip_calendars(folder: Path) -> None:
    import zipfile

    calendars = sorted((folder / "calendars").glob("*.ics"))
    with zipfile.ZipFile(folder / "calendars.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for path in calendars:
            zf.write(path, f"calendars/{path.name}")


def main() -> None:
    data, job_id = Path(sys.argv[1]), sys.argv[2]
    code = run(data, job_id)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip the teardown of OR-Tools and pandas: everything is stored


if __name__ == "__main__":
    main()
