"""Users, passwords and sign-in sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults: its own salt per password). A
browser signs in once and then carries a random session token in an HttpOnly cookie; the
database keeps only the token's SHA-256 and, per session, the CSRF token every form must
carry. The JSON API uses HTTP Basic on every call; a successful check is remembered for a
few minutes (keyed by a hash of name and password, dropped when the stored hash changes),
because argon2 is deliberately slow and scripts poll jobs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from planner.web.db import now_iso, transaction

ROLES = ("editor", "viewer")
SESSION_DAYS = 7
NAME_RE = re.compile(r"^\w[\w.-]{0,63}$")  # letters (Cyrillic too), digits, _ . - ; never a path
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str

    @property
    def can_edit(self) -> bool:
        return self.role == "editor"


class UserError(Exception):
    """A user cannot be added: the message is for the person at the terminal (Russian)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_user(conn: sqlite3.Connection, data: Path, name: str, role: str) -> tuple[User, Path]:
    """Create a user with a random password, written to DIR/password-NAME.txt (mode 600)."""
    if not NAME_RE.match(name):
        raise UserError(f"имя пользователя «{name}» не подходит: нужны буквы, цифры, «_», «.» или «-»"
                        " (до 64 знаков, первая — буква или цифра)")
    if role not in ROLES:
        raise UserError(f"роль «{role}» неизвестна: editor или viewer")
    password = secrets.token_urlsafe(12)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise UserError(f"пользователь «{name}» уже есть")
        cur = conn.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                           (name, role, hash_password(password), now_iso()))
        path = data / f"password-{name}.txt"
        _write_secret(path, password + "\n")
    return User(int(cur.lastrowid), name, role), path


def _write_secret(path: Path, text: str) -> None:
    """Write a file only its owner may read (0600 from the start, replaced whole)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_password(conn: sqlite3.Connection, name: str, password: str) -> User | None:
    row = conn.execute("SELECT id, name, role, password_hash FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        _hasher.hash(password)  # the same work as for a real user: no timing hint that the name is unknown
        return None
    try:
        _hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row["id"], row["name"], row["role"])


class BasicCache:
    """Remembers successful Basic checks for `ttl` seconds (argon2 costs ~50 ms per check)."""

    def __init__(self, ttl: float = 300.0):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, str, User]] = {}

    def check(self, conn: sqlite3.Connection, name: str, password: str) -> User | None:
        key = hashlib.sha256(f"{name}\0{password}".encode()).hexdigest()
        row = conn.execute("SELECT id, name, role, password_hash FROM users WHERE name = ?", (name,)).fetchone()
        with self._lock:
            hit = self._seen.get(key)
        if hit and row is not None and hit[0] > time.monotonic() and hit[1] == row["password_hash"]:
            return User(row["id"], row["name"], row["role"])
        user = check_password(conn, name, password)
        if user is not None and row is not None:
            with self._lock:
                self._seen[key] = (time.monotonic() + self.ttl, row["password_hash"], user)
        return user


# --- browser sessions ----------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: sqlite3.Connection, user: User) -> str:
    """A new sign-in: returns the cookie's token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with transaction(conn):
        conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now.isoformat(timespec="seconds"),))
        conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (_token_hash(token), user.id, secrets.token_urlsafe(24), now.isoformat(timespec="seconds"),
             (now + timedelta(days=SESSION_DAYS)).isoformat(timespec="seconds")),
        )
    return token


def session_user(conn: sqlite3.Connection, token: str | None) -> tuple[User, str] | None:
    """The user of a session cookie and the session's CSRF token, or None."""
    if not token:
        return None
    row = conn.execute(
        "SELECT u.id, u.name, u.role, s.csrf, s.expires_at FROM web_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = ?", (_token_hash(token),)).fetchone()
    if row is None or row["expires_at"] < now_iso():
        return None
    return User(row["id"], row["name"], row["role"]), row["csrf"]


def end_session(conn: sqlite3.Connection, token: str | None) -> None:
    if token:
        with transaction(conn):
            conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (_token_hash(token),))


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))
