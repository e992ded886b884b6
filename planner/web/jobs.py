"""The job queue: at most N worker processes at a time, jobs kept in the database.

A thread of the server takes the oldest queued job, marks it running and starts
`python -m planner.web.worker` for it in a new process group. Cancelling marks the job
cancelled and ends that group (the solver and the processes it forked for the documents).
A worker that dies on its own leaves its job failed with the exit code. When the server
stops, and again when it starts, every job still marked running is failed with a clear
reason: nothing stays «running» for ever. Queued jobs wait for the next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from planner.web import store
from planner.web.db import connect

INTERRUPTED = ("Расчёт прерван: сервер был остановлен или перезапущен, пока шёл расчёт."
               " Запустите расчёт снова.")
TICK = 0.25


class Dispatcher:
    def __init__(self, data: Path, max_jobs: int = 1):
        self.data = data
        self.max_jobs = max(1, max_jobs)
        self.procs: dict[str, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.conn = connect(data)  # the queue thread's (and start/stop's) connection only

    # --- life ---------------------------------------------------------------------------

    def start(self) -> None:
        store.fail_interrupted(self.conn, INTERRUPTED)
        self.thread = threading.Thread(target=self._loop, name="planner-jobs", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        with self.lock:
            for job_id, proc in list(self.procs.items()):
                _end(proc)
                self.procs.pop(job_id, None)
        store.fail_interrupted(self.conn, INTERRUPTED)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._reap()
                self._launch()
            except Exception as exc:  # noqa: BLE001 (the queue thread must outlive any one error)
                print(f"planner jobs: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            self.wake.wait(TICK)
            self.wake.clear()

    def notify(self) -> None:
        """A job was queued: look at the queue now."""
        self.wake.set()

    # --- queue --------------------------------------------------------------------------

    def _reap(self) -> None:
        with self.lock:
            for job_id, proc in list(self.procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                del self.procs[job_id]
                if store.job_status(self.conn, job_id) == "running":
                    store.fail_job(self.conn, job_id, f"Процесс расчёта неожиданно завершился (код {code})."
                                                      " Запустите расчёт снова; если повторится — сообщите"
                                                      " разработчикам.")
                else:
                    store.clear_pid(self.conn, job_id)

    def _launch(self) -> None:
        with self.lock:
            while len(self.procs) < self.max_jobs and not self.stopping.is_set():
                job = store.claim_next_job(self.conn)
                if job is None:
                    return
                logs = self.data / "logs"
                logs.mkdir(exist_ok=True)
                with open(logs / f"job-{job['id']}.log", "ab") as log:
                    try:
                        proc = subprocess.Popen(
                            [sys.executable, "-m", "planner.web.worker", str(self.data), job["id"]],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
                    except OSError as exc:
                        store.fail_job(self.conn, job["id"], f"Не удалось запустить процесс расчёта: {exc}")
                        continue
                self.procs[job["id"]] = proc
                store.set_job_pid(self.conn, job["id"], proc.pid)

    def cancel(self, job_id: str) -> None:
        """End the job's worker, if this server runs one (the job's row is already cancelled)."""
        with self.lock:
            proc = self.procs.pop(job_id, None)
        if proc is not None:
            _end(proc)
            conn = connect(self.data)  # this runs in a request's thread: its own connection
            try:
                store.clear_pid(conn, job_id)
            finally:
                conn.close()
        self.wake.set()  # a slot is free

    def running(self) -> dict[str, int]:
        with self.lock:
            return {job_id: p.pid for job_id, p in self.procs.items()}


def _end(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM to the worker's whole process group, SIGKILL if it lingers; reaped either way."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # the group's other members (forked document builders) get the same signal; make sure
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
