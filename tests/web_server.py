"""A real `planner serve` for tests: started by the test on 127.0.0.1 and a free port,
through the real command, and stopped by it (SIGTERM, or SIGKILL to play a crash)."""

from __future__ import annotations

import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx

from helpers import ROOT, run_cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_user(data: Path, name: str, role: str = "editor") -> str:
    """`planner users add` through the real command; returns the password it wrote."""
    result = run_cli("users", "add", name, "--role", role, "--data", str(data))
    assert result.returncode == 0, result.stderr
    return (data / f"password-{name}.txt").read_text(encoding="utf-8").strip()


def quick_user(data: Path, name: str, role: str = "editor") -> str:
    """A user added in-process (faster than the command; the command is tested on its own)."""
    from planner.web.auth import add_user as add_user_row
    from planner.web.db import connect

    conn = connect(data)
    try:
        _user, path = add_user_row(conn, data, name, role)
    finally:
        conn.close()
    return path.read_text(encoding="utf-8").strip()


class Server:
    def __init__(self, data: Path, *extra: str):
        self.data = data
        self.extra = extra
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = data.parent / f"{data.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "planner.cli", "serve", "--port", str(self.port), "--data", str(self.data),
                 "--solver-workers", "2", *self.extra],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(encoding='utf-8')}")
            try:
                if httpx.get(self.url + "/login", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not answer in 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> Server:
        """Stop (SIGTERM) and start again on the same port and data folder."""
        self.stop()
        return self.start()

    def crash(self) -> None:
        """SIGKILL: the server dies without any cleanup (its workers must notice on their own)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data / "planner.sqlite3", timeout=30)
        conn.row_factory = sqlite3.Row
        return conn


def server_with_user(data: Path, user: str):
    """A started server over `data` with one editor `user`; its password in `.password`. A
    generator for a module fixture: it yields the server and stops it afterwards."""
    password = quick_user(data, user)
    srv = Server(data).start()
    srv.password = password
    yield srv
    srv.stop()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().split(") ")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(predicate, timeout: float = 90.0, step: float = 0.3):
    """Poll until `predicate()` is truthy (returns it) or fail after `timeout` seconds. A wait
    for the server, not a measurement: the limit only stops a hung test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s")
        time.sleep(step)


def zip_folder(folder: Path, inner: str | None = None) -> bytes:
    """The folder's files zipped, under `inner/` (or at the root)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                zf.write(path, f"{inner}/{path.name}" if inner else path.name)
    return buf.getvalue()
