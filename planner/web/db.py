"""SQLite in the data folder, with numbered schema migrations from the first version on.

`migrations/NNNN_name.sql` are applied in order, each in one transaction together with
`PRAGMA user_version = NNNN`, so that a database is always at one whole version. The server,
its worker processes and `planner users add` each open their own connections (WAL journal,
a busy timeout): two requests, two tabs or a worker writing at once wait for each other
instead of failing, and nothing is half-written.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

DB_FILE = "planner.sqlite3"
BUSY_TIMEOUT_MS = 30_000
_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_id() -> str:
    """A random id for a row and its files (12 hex digits): never derived from a user's text."""
    return secrets.token_hex(6)


ID_RE = re.compile(r"^[0-9a-f]{12}$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("planner.web").joinpath("migrations").iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps: {versions}")
    return found


def _statements(sql: str) -> list[str]:
    """Split a migration script into whole statements (sqlite3 decides where one ends)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()):
        raise RuntimeError(f"unterminated statement in a migration: {buf[:80]!r}")
    return out


def connect(data: Path) -> sqlite3.Connection:
    """A connection to DIR/planner.sqlite3, migrated to the newest schema."""
    if not data.exists():
        data.mkdir(parents=True, mode=0o700)  # password hashes and uploads: for the server's user only
    conn = sqlite3.connect(data / DB_FILE, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(conn)
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database, each with its version in one
    transaction (BEGIN IMMEDIATE: two processes starting at once apply each one once).
    Returns the version reached."""
    for version, _name, sql in migrations():
        if schema_version(conn) >= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) < version:  # another process may have applied it meanwhile
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return schema_version(conn)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any error): the writer holds the lock throughout,
    so a read-then-write (the next version number, a job's status) cannot interleave."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
