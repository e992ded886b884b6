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


# --- versions (issue: what-if, publishing, feeds) ------------------------------------------


@dataclass(frozen=True)
class VersionRecord:
    """One plan a replan job made: its figures, and which option of the replan it is."""

    plan: PlanRecord
    variant: str | None  # coverage / stability when the replan offered both, else None


def finish_replan_job(conn: sqlite3.Connection, job_id: str, versions: list[VersionRecord], *, kind: str,
                      freeze: str | None, edits: list | None, progress: dict) -> bool:
    """A replan's plans become the instance's next versions (the chosen option first), linked
    to each other when there are two; the job is done. False when it was cancelled meanwhile."""
    with transaction(conn):
        job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if job is None or job["status"] != "running":
            return False
        params = json.loads(job["params"])
        version = conn.execute("SELECT COALESCE(MAX(version), 0) FROM plans WHERE instance_id = ?",
                               (job["instance_id"],)).fetchone()[0]
        ids = [v.plan.id for v in versions]
        for n, v in enumerate(versions):
            p = v.plan
            sibling = next((i for i in ids if i != p.id), None) if len(ids) > 1 else None
            conn.execute(
                "INSERT INTO plans (id, instance_id, version, baseline_id, scenario, created_by, created_at, job_id,"
                " status, objective, bound, solve_seconds, time_limit, sessions, unmet, score, kind, variant,"
                " sibling_id, freeze, edits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (p.id, job["instance_id"], version + n + 1, job["baseline_id"], job["scenario"], job["created_by"],
                 now_iso(), job_id, p.status, p.objective, p.bound, p.solve_seconds, params.get("time_limit"),
                 p.sessions, p.unmet, json.dumps(p.score, ensure_ascii=False), kind, v.variant, sibling, freeze,
                 json.dumps(edits, ensure_ascii=False) if edits else None))
        conn.execute(
            "UPDATE jobs SET status = 'done', plan_id = ?, finished_at = ?, progress = ?, pid = NULL WHERE id = ?",
            (ids[0], now_iso(), json.dumps(progress, ensure_ascii=False), job_id))
    return True


def insert_edited_plan(conn: sqlite3.Connection, plan_id: str, base: sqlite3.Row, record: PlanRecord,
                       user_id: int, edits: list) -> int:
    """A plan edited by hand and saved as it is: the instance's next version."""
    with transaction(conn):
        version = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM plans WHERE instance_id = ?",
                               (base["instance_id"],)).fetchone()[0]
        conn.execute(
            "INSERT INTO plans (id, instance_id, version, baseline_id, scenario, created_by, created_at, job_id,"
            " status, objective, bound, solve_seconds, time_limit, sessions, unmet, score, kind, freeze, edits)"
            " VALUES (?, ?, ?, ?, NULL, ?, ?, NULL, ?, ?, ?, 0, NULL, ?, ?, ?, 'edit', ?, ?)",
            (plan_id, base["instance_id"], version, base["id"], user_id, now_iso(), record.status, record.objective,
             record.bound, record.sessions, record.unmet, json.dumps(record.score, ensure_ascii=False),
             base["freeze"], json.dumps(edits, ensure_ascii=False)))
        conn.execute("DELETE FROM edit_drafts WHERE plan_id = ? AND user_id = ?", (base["id"], user_id))
    return version


def history(conn: sqlite3.Connection, plan_id: str) -> list[sqlite3.Row]:
    """The plan and its baselines, oldest first (a replan of a replan of a solve: three rows)."""
    rows, seen = [], set()
    current: str | None = plan_id
    while current and current not in seen:
        seen.add(current)
        row = conn.execute("SELECT * FROM plans WHERE id = ?", (current,)).fetchone()
        if row is None:
            break
        rows.append(row)
        current = row["baseline_id"]
    return rows[::-1]


def choose_variant(conn: sqlite3.Connection, plan_id: str) -> None:
    """A person picked this option of a replan: it is 'chosen', its sibling 'rejected'."""
    with transaction(conn):
        row = conn.execute("SELECT sibling_id FROM plans WHERE id = ?", (plan_id,)).fetchone()
        conn.execute("UPDATE plans SET choice = 'chosen' WHERE id = ?", (plan_id,))
        if row and row["sibling_id"]:
            conn.execute("UPDATE plans SET choice = 'rejected' WHERE id = ?", (row["sibling_id"],))


def finish_plain_job(conn: sqlite3.Connection, job_id: str, progress: dict) -> bool:
    """A job that makes no plan (a publication's delivery) is done."""
    with transaction(conn):
        cur = conn.execute("UPDATE jobs SET status = 'done', finished_at = ?, progress = ?, pid = NULL"
                           " WHERE id = ? AND status = 'running'",
                           (now_iso(), json.dumps(progress, ensure_ascii=False), job_id))
    return cur.rowcount == 1


# --- publishing ----------------------------------------------------------------------------


def published(conn: sqlite3.Connection, instance_id: str) -> sqlite3.Row | None:
    """The instance's current publication (with its plan's version), or None."""
    return conn.execute(
        "SELECT pub.*, p.version AS version, u.name AS published_by_name FROM publications pub"
        " JOIN plans p ON p.id = pub.plan_id LEFT JOIN users u ON u.id = pub.published_by"
        " WHERE pub.instance_id = ? ORDER BY pub.rowid DESC LIMIT 1", (instance_id,)).fetchone()


def get_publication(conn: sqlite3.Connection, pub_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT pub.*, p.version AS version, u.name AS published_by_name, i.name AS instance_name"
        " FROM publications pub JOIN plans p ON p.id = pub.plan_id JOIN instances i ON i.id = pub.instance_id"
        " LEFT JOIN users u ON u.id = pub.published_by WHERE pub.id = ?", (pub_id,)).fetchone()


def list_publications(conn: sqlite3.Connection, instance_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT pub.*, p.version AS version, u.name AS published_by_name FROM publications pub"
        " JOIN plans p ON p.id = pub.plan_id LEFT JOIN users u ON u.id = pub.published_by"
        " WHERE pub.instance_id = ? ORDER BY pub.rowid DESC", (instance_id,)).fetchall()


def insert_publication(conn: sqlite3.Connection, pub_id: str, instance_id: str, plan_id: str,
                       previous_id: str | None, user_id: int, feeds: dict[str, str], digest: list[dict]) -> int:
    """Record a publication and the feeds whose content changed (key → new ETag): their
    Last-Modified moves to now, and never backwards. Returns how many feeds changed."""
    with transaction(conn):
        now = now_iso()
        changed = 0
        for key, etag in feeds.items():
            row = conn.execute("SELECT etag, last_modified FROM feeds WHERE instance_id = ? AND key = ?",
                               (instance_id, key)).fetchone()
            if row is not None and row["etag"] == etag:
                continue
            stamp = now if row is None or row["last_modified"] < now else _next_second(row["last_modified"])
            conn.execute("INSERT INTO feeds (instance_id, key, etag, last_modified) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (instance_id, key) DO UPDATE SET etag = excluded.etag,"
                         " last_modified = excluded.last_modified", (instance_id, key, etag, stamp))
            changed += 1
        conn.execute(
            "INSERT INTO publications (id, instance_id, plan_id, previous_id, published_by, published_at,"
            " feeds_changed, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (pub_id, instance_id, plan_id, previous_id, user_id, now, changed,
             json.dumps(digest, ensure_ascii=False)))
    return changed


def _next_second(iso: str) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(iso) + timedelta(seconds=1)).isoformat(timespec="seconds")


def set_publication_job(conn: sqlite3.Connection, pub_id: str, job_id: str) -> None:
    with transaction(conn):
        conn.execute("UPDATE publications SET job_id = ? WHERE id = ?", (job_id, pub_id))


def set_delivery(conn: sqlite3.Connection, pub_id: str, delivery: dict) -> None:
    with transaction(conn):
        conn.execute("UPDATE publications SET delivery = ? WHERE id = ?",
                     (json.dumps(delivery, ensure_ascii=False), pub_id))


def feed_state(conn: sqlite3.Connection, instance_id: str, key: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM feeds WHERE instance_id = ? AND key = ?", (instance_id, key)).fetchone()


# --- feed tokens ---------------------------------------------------------------------------


def feed_tokens(conn: sqlite3.Connection, instance_id: str, parties: list[tuple[str, str]],
                user_id: int | None) -> dict[tuple[str, str], str]:
    """The live token of each (party, id), made for those that have none yet."""
    import secrets

    with transaction(conn):
        live = {(r["party"], r["party_id"]): r["token"] for r in conn.execute(
            "SELECT party, party_id, token FROM feed_tokens WHERE instance_id = ? AND revoked_at IS NULL",
            (instance_id,))}
        for party in parties:
            if party not in live:
                token = secrets.token_urlsafe(24)
                conn.execute("INSERT INTO feed_tokens (token, instance_id, party, party_id, created_by, created_at)"
                             " VALUES (?, ?, ?, ?, ?, ?)", (token, instance_id, party[0], party[1], user_id,
                                                            now_iso()))
                live[party] = token
    return live


def reissue_token(conn: sqlite3.Connection, instance_id: str, party: str, party_id: str, user_id: int) -> str:
    """Revoke the party's live token (its address stops working) and make a new one."""
    import secrets

    with transaction(conn):
        conn.execute("UPDATE feed_tokens SET revoked_at = ?, revoked_by = ? WHERE instance_id = ? AND party = ?"
                     " AND party_id = ? AND revoked_at IS NULL", (now_iso(), user_id, instance_id, party, party_id))
        token = secrets.token_urlsafe(24)
        conn.execute("INSERT INTO feed_tokens (token, instance_id, party, party_id, created_by, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (token, instance_id, party, party_id, user_id, now_iso()))
    return token


def token_row(conn: sqlite3.Connection, token: str) -> sqlite3.Row | None:
    """A live token's row (None for an unknown or revoked one)."""
    return conn.execute("SELECT * FROM feed_tokens WHERE token = ? AND revoked_at IS NULL", (token,)).fetchone()


# --- edits by hand -------------------------------------------------------------------------


def draft_ops(conn: sqlite3.Connection, plan_id: str, user_id: int) -> list[dict]:
    row = conn.execute("SELECT ops FROM edit_drafts WHERE plan_id = ? AND user_id = ?", (plan_id, user_id)).fetchone()
    return json.loads(row["ops"]) if row else []


def save_draft(conn: sqlite3.Connection, plan_id: str, user_id: int, ops: list[dict]) -> None:
    with transaction(conn):
        if ops:
            conn.execute("INSERT INTO edit_drafts (plan_id, user_id, ops, updated_at) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (plan_id, user_id) DO UPDATE SET ops = excluded.ops,"
                         " updated_at = excluded.updated_at",
                         (plan_id, user_id, json.dumps(ops, ensure_ascii=False), now_iso()))
        else:
            conn.execute("DELETE FROM edit_drafts WHERE plan_id = ? AND user_id = ?", (plan_id, user_id))


# --- delivery settings ---------------------------------------------------------------------


def caldav_target(conn: sqlite3.Connection, instance_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM caldav_targets WHERE instance_id = ?", (instance_id,)).fetchone()


def set_caldav_target(conn: sqlite3.Connection, instance_id: str, url: str, username: str, password: str | None,
                      user_id: int) -> None:
    """Save the instance's CalDAV server (an empty URL removes it; password None keeps the saved one)."""
    with transaction(conn):
        if not url:
            conn.execute("DELETE FROM caldav_targets WHERE instance_id = ?", (instance_id,))
            return
        old = conn.execute("SELECT password FROM caldav_targets WHERE instance_id = ?", (instance_id,)).fetchone()
        keep = old["password"] if old is not None and password is None else (password or "")
        conn.execute("INSERT INTO caldav_targets (instance_id, url, username, password, updated_by, updated_at)"
                     " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (instance_id) DO UPDATE SET url = excluded.url,"
                     " username = excluded.username, password = excluded.password,"
                     " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                     (instance_id, url, username, keep, user_id, now_iso()))


def addresses(conn: sqlite3.Connection, instance_id: str) -> dict[tuple[str, str], str]:
    return {(r["party"], r["party_id"]): r["email"] for r in conn.execute(
        "SELECT party, party_id, email FROM party_addresses WHERE instance_id = ?", (instance_id,))}


def set_addresses(conn: sqlite3.Connection, instance_id: str, emails: dict[tuple[str, str], str]) -> None:
    with transaction(conn):
        conn.execute("DELETE FROM party_addresses WHERE instance_id = ?", (instance_id,))
        for (party, party_id), email in emails.items():
            conn.execute("INSERT INTO party_addresses (instance_id, party, party_id, email) VALUES (?, ?, ?, ?)",
                         (instance_id, party, party_id, email))


def add_letter(conn: sqlite3.Connection, pub_id: str, party: str, party_id: str, email: str, subject: str,
               attachments: int, error: str | None) -> None:
    with transaction(conn):
        conn.execute("INSERT INTO letters (publication_id, party, party_id, email, subject, attachments, status,"
                     " error, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (pub_id, party, party_id, email, subject, attachments, "failed" if error else "sent", error,
                      now_iso()))


def letters(conn: sqlite3.Connection, pub_id: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM letters WHERE publication_id = ? ORDER BY id", (pub_id,)).fetchall()


def create_replan_job(conn: sqlite3.Connection, instance_id: str, user_id: int | None, baseline_id: str,
                      scenario: str | None, params: dict) -> str:
    """A replan (a scenario and/or edits by hand) or a save of edits, queued."""
    job_id = new_id()
    with transaction(conn):
        conn.execute(
            "INSERT INTO jobs (id, kind, instance_id, baseline_id, scenario, params, status, progress, created_by,"
            " created_at) VALUES (?, 'replan', ?, ?, ?, ?, 'queued', ?, ?, ?)",
            (job_id, instance_id, baseline_id, scenario, json.dumps(params, ensure_ascii=False),
             json.dumps({"message": "В очереди"}, ensure_ascii=False), user_id, now_iso()))
    return job_id


def create_publish_job(conn: sqlite3.Connection, instance_id: str, user_id: int | None, params: dict) -> str:
    job_id = new_id()
    with transaction(conn):
        conn.execute(
            "INSERT INTO jobs (id, kind, instance_id, params, status, progress, created_by, created_at)"
            " VALUES (?, 'publish', ?, ?, 'queued', ?, ?, ?)",
            (job_id, instance_id, json.dumps(params, ensure_ascii=False),
             json.dumps({"message": "В очереди"}, ensure_ascii=False), user_id, now_iso()))
    return job_id
