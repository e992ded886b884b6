"""Rows of the web application's database: instances, plans, jobs. Plain functions over a
connection; every write that reads first runs inside `transaction` (BEGIN IMMEDIATE).

A job's status only moves forward: queued → running → done / failed / cancelled (queued may
also go straight to cancelled or failed). Each change is conditional on the status it
expects, so a worker finishing and a person cancelling at the same moment cannot both win.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from planner.web.db import new_id, now_iso, transaction

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class PlanRecord:
    """What the worker hands over when a plan is made (the files are already in place)."""

    id: str
    status: str
    objective: float | None
    bound: float | None
    solve_seconds: float
    sessions: int
    unmet: int
    score: dict[str, Any]


# --- instances -----------------------------------------------------------------------------


def insert_instance(conn: sqlite3.Connection, instance_id: str, *, name: str, region: str, source_kind: str,
                    original_name: str, summary: dict, warnings: list[dict], user_id: int | None) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO instances (id, name, region, source_kind, original_name, summary, warnings,"
            " uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (instance_id, name, region, source_kind, original_name, json.dumps(summary, ensure_ascii=False),
             json.dumps(warnings, ensure_ascii=False), user_id, now_iso()),
        )


def get_instance(conn: sqlite3.Connection, instance_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT i.*, u.name AS uploaded_by_name FROM instances i LEFT JOIN users u ON u.id = i.uploaded_by"
        " WHERE i.id = ?", (instance_id,)).fetchone()


def list_instances(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT i.*, u.name AS uploaded_by_name,"
        " (SELECT COUNT(*) FROM plans p WHERE p.instance_id = i.id) AS plan_count"
        " FROM instances i LEFT JOIN users u ON u.id = i.uploaded_by ORDER BY i.uploaded_at DESC, i.rowid DESC"
    ).fetchall()


# --- plans ---------------------------------------------------------------------------------


def get_plan(conn: sqlite3.Connection, plan_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT p.*, u.name AS created_by_name FROM plans p LEFT JOIN users u ON u.id = p.created_by"
        " WHERE p.id = ?", (plan_id,)).fetchone()


def list_plans(conn: sqlite3.Connection, instance_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT p.*, u.name AS created_by_name FROM plans p LEFT JOIN users u ON u.id = p.created_by"
        " WHERE p.instance_id = ? ORDER BY p.version DESC", (instance_id,)).fetchall()


# --- jobs ----------------------------------------------------------------------------------


def create_job(conn: sqlite3.Connection, instance_id: str, user_id: int | None, params: dict,
               kind: str = "solve") -> str:
    job_id = new_id()
    with transaction(conn):
        conn.execute(
            "INSERT INTO jobs (id, kind, instance_id, params, status, progress, created_by, created_at)"
            " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
            (job_id, kind, instance_id, json.dumps(params), json.dumps({"message": "В очереди"},
                                                                        ensure_ascii=False),
             user_id, now_iso()),
        )
    return job_id


def get_job(conn: sqlite3.Connection, job_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT j.rowid AS rowid, j.*, u.name AS created_by_name, i.name AS instance_name FROM jobs j"
        " LEFT JOIN users u ON u.id = j.created_by JOIN instances i ON i.id = j.instance_id"
        " WHERE j.id = ?", (job_id,)).fetchone()


def list_jobs(conn: sqlite3.Connection, instance_id: str, limit: int = 20) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT j.*, u.name AS created_by_name FROM jobs j LEFT JOIN users u ON u.id = j.created_by"
        " WHERE j.instance_id = ? ORDER BY j.created_at DESC, j.rowid DESC LIMIT ?", (instance_id, limit)).fetchall()


def job_json(row: sqlite3.Row) -> dict[str, Any]:
    """A job as the API shows it (shared/formats.md): status, progress, plan, error."""
    return {
        "status": row["status"],
        "progress": json.loads(row["progress"] or "{}"),
        "plan": row["plan_id"],
        "error": row["error"],
    }


def queue_position(conn: sqlite3.Connection, job: sqlite3.Row) -> int:
    """How many queued jobs are ahead of this one."""
    return int(conn.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND rowid < ?",
                            (job["rowid"],)).fetchone()[0])


def claim_next_job(conn: sqlite3.Connection) -> sqlite3.Row | None:
    """The oldest queued job, now marked running (None when the queue is empty)."""
    with transaction(conn):
        row = conn.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY rowid LIMIT 1").fetchone()
        if row is None:
            return None
        conn.execute(
            "UPDATE jobs SET status = 'running', started_at = ?, progress = ? WHERE id = ? AND status = 'queued'",
            (now_iso(), json.dumps({"message": "Запускаю расчёт…", "elapsed": 0.0}, ensure_ascii=False), row["id"]))
    return get_job(conn, row["id"])


def set_job_pid(conn: sqlite3.Connection, job_id: str, pid: int | None) -> None:
    with transaction(conn):
        conn.execute("UPDATE jobs SET pid = ? WHERE id = ?", (pid, job_id))


def update_progress(conn: sqlite3.Connection, job_id: str, progress: dict) -> bool:
    """Store a running job's progress; False when the job is no longer running (cancelled)."""
    with transaction(conn):
        cur = conn.execute("UPDATE jobs SET progress = ? WHERE id = ? AND status = 'running'",
                           (json.dumps(progress, ensure_ascii=False), job_id))
    return cur.rowcount == 1


def job_status(conn: sqlite3.Connection, job_id: str) -> str | None:
    row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return row["status"] if row else None


def finish_job(conn: sqlite3.Connection, job_id: str, plan: PlanRecord, progress: dict) -> bool:
    """The worker's plan becomes the instance's next version and the job is done, in one
    transaction; False (and nothing stored) when the job was cancelled meanwhile."""
    with transaction(conn):
        job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if job is None or job["status"] != "running":
            return False
        version = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM plans WHERE instance_id = ?",
                               (job["instance_id"],)).fetchone()[0]
        params = json.loads(job["params"])
        conn.execute(
            "INSERT INTO plans (id, instance_id, version, baseline_id, scenario, created_by, created_at, job_id,"
            " status, objective, bound, solve_seconds, time_limit, sessions, unmet, score)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (plan.id, job["instance_id"], version, job["baseline_id"], job["scenario"], job["created_by"],
             now_iso(), job_id, plan.status, plan.objective, plan.bound, plan.solve_seconds,
             params.get("time_limit"), plan.sessions, plan.unmet, json.dumps(plan.score, ensure_ascii=False)),
        )
        conn.execute(
            "UPDATE jobs SET status = 'done', plan_id = ?, finished_at = ?, progress = ?, pid = NULL WHERE id = ?",
            (plan.id, now_iso(), json.dumps(progress, ensure_ascii=False), job_id))
    return True


def fail_job(conn: sqlite3.Connection, job_id: str, error: str) -> bool:
    """Mark a queued or running job failed with a reason a person can act on."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, pid = NULL"
            " WHERE id = ? AND status IN ('queued', 'running')", (error, now_iso(), job_id))
    return cur.rowcount == 1


def cancel_job(conn: sqlite3.Connection, job_id: str, by: str) -> tuple[str, int | None]:
    """Cancel a queued or running job. Returns (the status it had, the worker's pid or None)."""
    with transaction(conn):
        row = conn.execute("SELECT status, pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(job_id)
        if row["status"] in ACTIVE:
            conn.execute(
                "UPDATE jobs SET status = 'cancelled', error = ?, finished_at = ? WHERE id = ?",
                (f"Расчёт отменён пользователем «{by}».", now_iso(), job_id))
    return row["status"], row["pid"]


def fail_interrupted(conn: sqlite3.Connection, reason: str) -> list[str]:
    """Every job still marked running (its worker died with the server): failed, with `reason`."""
    with transaction(conn):
        ids = [r["id"] for r in conn.execute("SELECT id FROM jobs WHERE status = 'running'").fetchall()]
        conn.execute("UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, pid = NULL"
                     " WHERE status = 'running'", (reason, now_iso()))
    return ids


def clear_pid(conn: sqlite3.Connection, job_id: str) -> None:
    with transaction(conn):
        conn.execute("UPDATE jobs SET pid = NULL WHERE id = ?", (job_id,))
