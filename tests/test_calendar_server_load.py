"""The embedded CalDAV server under a calendar program's parallel sync.

A full sync (vdirsyncer, DAVx⁵) of a region's ~150 calendars opens many connections at
once. The server is started exactly as `planner calendar-server` starts it
(`planner.calendar_sync.calendar_server.start_radicale`, with a user made by `ensure_user`), on a free
loopback port, and hit by 128 requests that all connect at the same moment. Every one must
get its answer: no reset, no refused or dropped connection.
"""

from __future__ import annotations

import base64
import http.client
import socket
import threading

from planner.calendar_sync.calendar_server import ServerPaths, ensure_user, start_radicale, stop

PARALLEL = 128
PROPFIND_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:displayname/><d:resourcetype/></d:prop></d:propfind>'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hammer(port: int, auth: str, n: int) -> tuple[list[int], list[str]]:
    """`n` threads, released together, each one PROPFIND on its own new connection."""
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                conn.request("PROPFIND", "/planner/", body=PROPFIND_BODY,
                             headers={"Authorization": auth, "Depth": "1",
                                      "Content-Type": "application/xml; charset=utf-8"})
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses.append(response.status)
            finally:
                conn.close()
        except Exception as exc:  # every failure is counted, whatever its kind
            with lock:
                errors.append(f"{i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, errors


def test_embedded_server_answers_128_parallel_requests_without_an_error(tmp_path):
    paths = ServerPaths(tmp_path / "server")
    pw_file, created = ensure_user(paths, "planner")
    assert created and pw_file is not None
    password = pw_file.read_text(encoding="utf-8").strip()
    auth = "Basic " + base64.b64encode(f"planner:{password}".encode()).decode()
    port = free_port()
    proc = start_radicale(paths, port)
    try:
        # Log in once first (the users file is SHA-512 crypt; the server caches the login).
        statuses, errors = _hammer(port, auth, 1)
        assert (statuses, errors) == ([207], [])
        for _round in range(2):
            statuses, errors = _hammer(port, auth, PARALLEL)
            assert errors == [], f"{len(errors)} of {PARALLEL} requests failed: {errors[:5]}"
            assert statuses == [207] * PARALLEL
        assert proc.poll() is None  # still serving
    finally:
        stop(proc)
