"""An embedded CalDAV server for teams without one: Radicale on 127.0.0.1.

Everything lives in one storage folder (default `outputs/calendar-server/`):

    config                  Radicale's configuration, rewritten at every start
    users                   htpasswd file (SHA-512 crypt, like `htpasswd -5`)
    password-<user>.txt     the password of a user this module created (mode 600)
    collections/            the calendars
    radicale.log            the server's log

`ensure_user` creates a user with a random password the first time and writes it to
`password-<user>.txt`, which is exactly what `planner publish --password-file` reads.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from models.problems import InputError, Problem

HOST = "127.0.0.1"
DEFAULT_PORT = 5232
DEFAULT_STORAGE = Path("outputs") / "calendar-server"
DEFAULT_USER = "planner"
HASH_ROUNDS = 5000  # what `htpasswd -5` uses; the server also caches logins
START_TIMEOUT = 30.0
LISTEN_BACKLOG = 1024
"""Connections the server's socket queues while its workers are busy. Radicale's built-in
server is Python's socketserver, whose listen backlog is 5: a calendar program syncing a
region's ~150 calendars opens dozens of connections at once, and those past the backlog were
reset («Connection reset by peer»). Radicale's own `max_connections` only limits the workers;
the queue is this. The kernel caps it at net.core.somaxconn (4096 on current Linux)."""
RADICALE_LAUNCHER = (
    "import sys\n"
    "from radicale import server\n"
    # Radicale's ParallelHTTPServer (and its HTTPS subclass) listen with socketserver's
    # `request_queue_size`; set it on the class before `radicale.__main__.run` creates them.
    f"server.ParallelHTTPServer.request_queue_size = {LISTEN_BACKLOG}\n"
    "from radicale.__main__ import run\n"
    "sys.argv[0] = 'radicale'\n"
    "run()\n"
)
"""`python -c` code that runs Radicale exactly as `python -m radicale` does, with the larger backlog."""


@dataclass(frozen=True)
class ServerPaths:
    storage: Path

    @property
    def config(self) -> Path:
        return self.storage / "config"

    @property
    def users(self) -> Path:
        return self.storage / "users"

    @property
    def collections(self) -> Path:
        return self.storage / "collections"

    @property
    def log(self) -> Path:
        return self.storage / "radicale.log"

    def password_file(self, user: str) -> Path:
        return self.storage / f"password-{user}.txt"


def radicale_config(paths: ServerPaths, port: int) -> str:
    """Radicale's configuration: loopback only, htpasswd users, each user owns their calendars."""
    return "\n".join([
        "# Written by `planner calendar-server` at every start; edit the command, not this file.",
        "[server]",
        f"hosts = {HOST}:{port}",
        "[auth]",
        "type = htpasswd",
        f"htpasswd_filename = {paths.users.resolve()}",
        "htpasswd_encryption = sha512",
        "cache_logins = True",
        "[rights]",
        "type = owner_only",
        "[storage]",
        f"filesystem_folder = {paths.collections.resolve()}",
        "[logging]",
        "level = warning",
        "",
    ])


def ensure_user(paths: ServerPaths, user: str) -> tuple[Path | None, bool]:
    """Make sure `user` can log in; (its password file or None, whether it was just created).

    A user already in the htpasswd file is left as is (their password file, if we wrote one,
    is returned). A new user gets a random password, written to `password-<user>.txt`.
    """
    if not user or any(c in user for c in ":/\\ \t\n") or user.startswith("."):
        raise InputError([Problem("--user", "имя пользователя не должно содержать пробелов, «:» и «/»",
                                  value=user)])
    paths.storage.mkdir(parents=True, exist_ok=True)
    lines = paths.users.read_text(encoding="utf-8").splitlines() if paths.users.exists() else []
    if any(line.split(":", 1)[0] == user for line in lines):
        pw_file = paths.password_file(user)
        return (pw_file if pw_file.exists() else None), False
    from passlib.hash import sha512_crypt

    password = secrets.token_urlsafe(12)
    pw_file = paths.password_file(user)
    _write_private(pw_file, password + "\n")
    digest = sha512_crypt.using(rounds=HASH_ROUNDS).hash(password)
    _write_private(paths.users, "\n".join([*lines, f"{user}:{digest}"]) + "\n")
    return pw_file, True


def free_port(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the server itself does: a port whose old connections linger in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def start_radicale(paths: ServerPaths, port: int) -> subprocess.Popen[bytes]:
    """Write the config and start Radicale (this interpreter's); return when it answers."""
    if not free_port(port):
        raise InputError([Problem("--port", f"порт {port} на {HOST} уже занят; укажите другой: --port",
                                  value=str(port))])
    paths.collections.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(radicale_config(paths, port), encoding="utf-8")
    log = paths.log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-c", RADICALE_LAUNCHER, "--config", str(paths.config.resolve())],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = paths.log.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
            raise InputError([Problem(str(paths.log), "сервер календарей не запустился: " + " | ".join(tail))])
        if answers(port):
            return proc
        time.sleep(0.1)
    stop(proc)
    raise InputError([Problem(str(paths.log), f"сервер календарей не ответил за {START_TIMEOUT:.0f} с")])


def answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server we started (terminate, then kill if it does not go in 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def base_url(port: int) -> str:
    return f"http://{HOST}:{port}/"


def stored_calendars(paths: ServerPaths, port: int) -> list[tuple[str, str]]:
    """(display name, URL) of every calendar in the storage, by URL."""
    root = paths.collections / "collection-root"
    out = []
    for props in sorted(root.glob("*/*/.Radicale.props")):
        try:
            data = json.loads(props.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("tag") != "VCALENDAR":
            continue
        user, cal = props.parent.parent.name, props.parent.name
        out.append((str(data.get("D:displayname") or cal), f"{base_url(port)}{user}/{cal}/"))
    return out


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)
