"""CalDAV publishing against a real Radicale that this module starts and stops itself.

The server runs as `python -m radicale` on a free loopback port with a temporary config
(plain-text htpasswd: fast logins), and is checked with the `caldav` client directly, not
through the publisher, so what the tests see is what a calendar program would see.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import caldav
import icalendar
import pytest

from calendar_samples import dropped_replan, plan_with_activities, replanned_plan, sample_instance, sample_plan, utc
from helpers import ROOT, write_instance
from models.domain import Format, Plan, Session
from models.problems import InputError
from planner.calendar_sync.caldav_publish import calendar_prefix, publish_plan
from planner.calendar_sync.calendar_server import stop
from planner.exports.calendars import activity_uid, calendar_files, carry_calendar_history, session_uid
from planner.exports.plan_io import plan_json_text

USER, PASSWORD = "planner", "secret-пароль"
READER, READER_PASSWORD = "reader", "readonly"

RIGHTS = """\
# The reader may read its own collections but never write or create.
[reader-root]
user: reader
collection:
permissions: R

[reader-home]
user: reader
collection: reader(/.*)?
permissions: Rr

[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[calendars]
user: .+
collection: {user}/[^/]+
permissions: rw
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answers(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("radicale exited: " + log.read_text(errors="replace"))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("radicale did not answer in time")


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    """A real Radicale on a free loopback port; its URL. Stopped (terminate, then kill) after."""
    base = tmp_path_factory.mktemp("radicale")
    (base / "users").write_text(f"{USER}:{PASSWORD}\n{READER}:{READER_PASSWORD}\n", encoding="utf-8")
    (base / "rights").write_text(RIGHTS, encoding="utf-8")
    port = free_port()
    (base / "config").write_text(f"""\
[server]
hosts = 127.0.0.1:{port}
[auth]
type = htpasswd
htpasswd_filename = {base / 'users'}
htpasswd_encryption = plain
delay = 0.05
[rights]
type = from_file
file = {base / 'rights'}
[storage]
filesystem_folder = {base / 'collections'}
[web]
type = none
[logging]
level = warning
""", encoding="utf-8")
    # The reader's home exists (made by an administrator); the reader may only look into it.
    (base / "collections" / "collection-root" / READER).mkdir(parents=True)
    log = base / "radicale.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(base / "config")],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_answers(port, proc, log)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(proc)


def server_state(url: str, prefix: str) -> dict[str, dict[str, icalendar.Event]]:
    """Calendar id -> {UID: event} for the calendars of one instance, read with plain caldav."""
    client = caldav.DAVClient(url=url, username=USER, password=PASSWORD)
    out: dict[str, dict[str, icalendar.Event]] = {}
    for cal in client.get_principal().get_calendars():
        cal_id = str(cal.url).rstrip("/").rsplit("/", 1)[-1]
        if not cal_id.startswith(prefix + "-"):
            continue
        events = [obj.get_icalendar_component() for obj in cal.get_events()]
        uids = [str(e["UID"]) for e in events]
        assert len(uids) == len(set(uids)), f"duplicate UIDs in {cal_id}"
        out[cal_id[len(prefix) + 1:]] = {str(e["UID"]): e for e in events}
    return out


def event_urls(url: str, prefix: str) -> dict[tuple[str, str], str]:
    client = caldav.DAVClient(url=url, username=USER, password=PASSWORD)
    out = {}
    for cal in client.get_principal().get_calendars():
        cal_id = str(cal.url).rstrip("/").rsplit("/", 1)[-1]
        if cal_id.startswith(prefix + "-"):
            for obj in cal.get_events():
                out[(cal_id, str(obj.get_icalendar_component()["UID"]))] = str(obj.url)
    return out


# --- the round trip -----------------------------------------------------------------------


def test_publish_twice_then_a_replanned_plan(radicale):
    instance = sample_instance(name="roundtrip")
    prefix = calendar_prefix(instance)
    plan = sample_plan()

    # 1. First publish: every party with sessions gets a calendar holding exactly its events.
    report = publish_plan(instance, plan, radicale, username=USER, password=PASSWORD)
    files = calendar_files(instance, plan)
    want = {Path(p).stem: {str(e["UID"]) for e in icalendar.Calendar.from_ical(d).walk("VEVENT")}
            for p, d in files.items()}
    state = server_state(radicale, prefix)
    assert {k: set(v) for k, v in state.items()} == {k: v for k, v in want.items() if v}
    assert report.created == sum(len(v) for v in want.values()) == 19
    assert report.calendars_created == len(state) == 8
    assert (report.updated, report.cancelled, report.unchanged) == (0, 0, 0)
    visit = state["consultant-C2"][session_uid(instance, "s-visit-1")]
    assert visit.decoded("DTSTART") == plan.sessions[2].start
    assert str(visit["DTSTART"].params["TZID"]) == "Asia/Novokuznetsk"
    assert visit["SEQUENCE"] == 0  # the publisher never bumps it on its own
    urls_before = event_urls(radicale, prefix)

    # 2. The same plan again: nothing changes on the server.
    again = publish_plan(instance, plan, radicale, username=USER, password=PASSWORD)
    assert (again.created, again.updated, again.cancelled, again.calendars_created) == (0, 0, 0, 0)
    assert again.unchanged == 19 and again.changes == 0
    assert "ничего не изменено" in again.summary()
    assert event_urls(radicale, prefix) == urls_before

    # 3. A replanned plan: s-visit-1 moved, s-online-1 cancelled, s-online-2 dropped, s-new-1 added.
    replan = replanned_plan()
    report = publish_plan(instance, replan, radicale, username=USER, password=PASSWORD)
    state = server_state(radicale, prefix)
    after_urls = event_urls(radicale, prefix)

    moved_uid = session_uid(instance, "s-visit-1")
    moved_start = next(s for s in replan.sessions if s.id == "s-visit-1").start
    for cal_id in ("all", "consultant-C2", "school-S2", "school-S3", "municipality-M2"):
        ev = state[cal_id][moved_uid]
        assert ev.decoded("DTSTART") == moved_start, cal_id
        assert ev["SEQUENCE"] == 1 and ev["STATUS"] == "CONFIRMED", cal_id
        # Updated in place: the same resource URL as before.
        assert after_urls[(f"{prefix}-{cal_id}", moved_uid)] == urls_before[(f"{prefix}-{cal_id}", moved_uid)]

    cancelled_uid = session_uid(instance, "s-online-1")
    for cal_id in ("all", "consultant-C2", "school-S1", "school-S2", "municipality-M1", "municipality-M2"):
        ev = state[cal_id][cancelled_uid]
        assert ev["STATUS"] == "CANCELLED" and ev["SEQUENCE"] == 1, cal_id
        assert ev.walk("VALARM") == []

    dropped_uid = session_uid(instance, "s-online-2")  # gone from the plan without a cancelled entry
    for cal_id in ("all", "consultant-C1", "school-S2", "municipality-M2"):
        ev = state[cal_id][dropped_uid]
        assert ev["STATUS"] == "CANCELLED" and ev["SEQUENCE"] == 1, cal_id

    new_uid = session_uid(instance, "s-new-1")
    assert {cal_id for cal_id, events in state.items() if new_uid in events} == {
        "all", "consultant-C1", "school-S3", "municipality-M2"}

    # Counted per event in each calendar: moved ×5, cancelled 6 + dropped 4, new ×4.
    assert (report.created, report.updated, report.cancelled) == (4, 5, 10)
    assert report.unchanged == 19 - 5 - 10  # s-verif-1 in its four calendars

    # No duplicates anywhere (server_state asserts it per calendar), and a third publish is a no-op.
    third = publish_plan(instance, replan, radicale, username=USER, password=PASSWORD)
    assert third.changes == 0 and third.unchanged == 23


def test_a_school_taken_out_of_a_session_that_goes_on_reads_why_on_the_server(radicale):
    instance = sample_instance(name="dropped")
    prefix = calendar_prefix(instance)
    baseline = sample_plan()
    publish_plan(instance, baseline, radicale, username=USER, password=PASSWORD)
    plan = dropped_replan(baseline)
    carry_calendar_history(instance, baseline, plan)
    report = publish_plan(instance, plan, radicale, username=USER, password=PASSWORD)
    state = server_state(radicale, prefix)
    for cal_id, sid in (("school-S3", "s-visit-1"), ("school-S1", "s-online-1"), ("municipality-M1", "s-online-1")):
        ev = state[cal_id][session_uid(instance, sid)]
        assert ev["STATUS"] == "CANCELLED" and ev["SEQUENCE"] == 1, cal_id
        assert str(ev["SUMMARY"]).startswith("ОТМЕНЕНО: "), cal_id
        assert "состоится для других школ" in str(ev["DESCRIPTION"]), cal_id
        assert "больше нет" not in str(ev["DESCRIPTION"]), cal_id
    for cal_id, sid in (("school-S2", "s-visit-1"), ("all", "s-visit-1"), ("municipality-M2", "s-online-1")):
        assert state[cal_id][session_uid(instance, sid)]["STATUS"] == "CONFIRMED", cal_id
    assert report.cancelled == 3
    assert publish_plan(instance, plan, radicale, username=USER, password=PASSWORD).changes == 0


def test_the_roadmap_and_executor_calendars_are_published_too(radicale):
    instance = sample_instance(name="roadmap", with_activities=True)
    prefix = calendar_prefix(instance)
    report = publish_plan(instance, plan_with_activities(), radicale, username=USER, password=PASSWORD)
    state = server_state(radicale, prefix)
    a1, a2 = activity_uid(instance, "A1"), activity_uid(instance, "A2")
    assert set(state["roadmap"]) == {a1, a2}
    assert set(state["executor-upravlenie-obrazovaniya"]) == {a1}
    assert set(state["executor-rots"]) == {a2}
    assert a1 not in state["all"] and a2 not in state["all"]
    assert state["roadmap"][a1]["STATUS"] == "CONFIRMED" and state["roadmap"][a1]["SEQUENCE"] == 0
    assert "roadmap" in report.calendar_urls and report.calendars_created == 8 + 3


def test_a_changed_session_gets_a_higher_sequence_even_if_the_plan_did_not_raise_it(radicale):
    instance = sample_instance(name="seqcheck")
    prefix = calendar_prefix(instance)
    plan = sample_plan()
    publish_plan(instance, plan, radicale, username=USER, password=PASSWORD)
    plan.sessions[0] = replace(plan.sessions[0], start=utc(17, 3), end=utc(17, 5))  # sequence stays 0
    report = publish_plan(instance, plan, radicale, username=USER, password=PASSWORD)
    assert report.updated == 4  # all, consultant-C1, school-S1, municipality-M1
    ev = server_state(radicale, prefix)["all"][session_uid(instance, plan.sessions[0].id)]
    assert ev["SEQUENCE"] == 1 and ev.decoded("DTSTART") == utc(17, 3)
    assert publish_plan(instance, plan, radicale, username=USER, password=PASSWORD).changes == 0


def test_people_s_own_events_in_our_calendars_are_left_alone(radicale):
    instance = sample_instance(name="foreign")
    publish_plan(instance, sample_plan(), radicale, username=USER, password=PASSWORD)
    client = caldav.DAVClient(url=radicale, username=USER, password=PASSWORD)
    cal = next(c for c in client.get_principal().get_calendars()
               if str(c.url).rstrip("/").endswith("foreign-consultant-C1"))
    cal.add_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//RU\r\nBEGIN:VEVENT\r\nUID:personal-1\r\n"
        "DTSTAMP:20220301T000000Z\r\nDTSTART:20220318T050000Z\r\nDTEND:20220318T060000Z\r\n"
        "SUMMARY:Совещание\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    report = publish_plan(instance, replanned_plan(), radicale, username=USER, password=PASSWORD)
    assert report.cancelled > 0
    own = server_state(radicale, "foreign")["consultant-C1"]["personal-1"]
    assert "STATUS" not in own and own["SUMMARY"] == "Совещание"


# --- errors -------------------------------------------------------------------------------


def test_bad_password_is_a_clear_russian_error(radicale):
    instance = sample_instance(name="badpw")
    with pytest.raises(InputError) as exc:
        publish_plan(instance, sample_plan(), radicale, username=USER, password="wrong")
    text = str(exc.value)
    assert "401" in text and "не принял имя пользователя или пароль" in text
    assert server_state(radicale, "badpw") == {}  # nothing was written


def test_read_only_user_is_told_the_calendar_is_not_writable(radicale):
    instance = sample_instance(name="readonly")
    with pytest.raises(InputError) as exc:
        publish_plan(instance, sample_plan(), radicale, username=READER, password=READER_PASSWORD)
    text = str(exc.value)
    assert "403" in text and "запретил запись" in text
    assert "Все консультации: Тестовая область" in text  # names the calendar it stopped at


def test_unreachable_server_is_a_clear_russian_error():
    port = free_port()  # nothing listens there
    with pytest.raises(InputError) as exc:
        publish_plan(sample_instance(), sample_plan(), f"http://127.0.0.1:{port}/",
                     username=USER, password=PASSWORD)
    assert "недоступен" in str(exc.value) and "соединение отклонено" in str(exc.value)
    with pytest.raises(InputError) as exc:
        publish_plan(sample_instance(), sample_plan(), "127.0.0.1:5232", username=USER, password=PASSWORD)
    assert "http://" in str(exc.value)


def test_calendar_ids_on_the_server_are_url_safe_and_distinct_per_instance():
    assert calendar_prefix(sample_instance(name="kuzbass-2022")) == "kuzbass-2022"
    cyr = calendar_prefix(sample_instance(name="кузбасс 2022"))
    assert cyr.isascii() and " " not in cyr and "/" not in cyr
    assert cyr != calendar_prefix(sample_instance(name="кузбасс 2023"))


def _plan_file(tmp_path: Path) -> Path:
    folder = write_instance(tmp_path / "cli-inst")
    tz = ZoneInfo("Asia/Novokuznetsk")
    plan = Plan("cli-inst", "OPTIMAL", 1.0, 1.0, 0.1, [
        Session("s-cli", "T1", "C1", datetime(2022, 3, 15, 10, tzinfo=tz), datetime(2022, 3, 15, 11, 30, tzinfo=tz),
                Format.ONLINE, None, ("S1",)),
    ], [], meta={"instance_path": str(folder)})
    path = tmp_path / "plan.json"
    path.write_text(plan_json_text(plan), encoding="utf-8")
    return path


def test_publish_command_prints_counts_and_fails_cleanly_on_bad_password(radicale, tmp_path, capsys):
    from planner.cli import main

    plan_path = _plan_file(tmp_path)
    good = tmp_path / "password.txt"
    good.write_text(PASSWORD + "\n", encoding="utf-8")
    args = ["publish", str(plan_path), "--caldav", radicale, "--user", USER]
    urls = tmp_path / "urls.csv"
    assert main([*args, "--password-file", str(good), "--urls", str(urls)]) == 0
    out = capsys.readouterr().out
    assert "создано 4" in out  # all, consultant-C1, school-S1, municipality-M1
    assert "Адреса календарей" in out and f"{radicale}{USER}/cli-inst-all/" in out
    rows = urls.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "calendar,title,url" and len(rows) == 5
    assert f"school-S1,Консультации: Школа 1,{radicale}{USER}/cli-inst-school-S1/" in rows
    assert main([*args, "--password-file", str(good)]) == 0
    assert "ничего не изменено" in capsys.readouterr().out

    assert main(args) == 2  # no password at all
    assert "нужен пароль" in capsys.readouterr().err

    bad = tmp_path / "bad.txt"
    bad.write_text("wrong\n", encoding="utf-8")
    assert main([*args, "--password-file", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "не принял имя пользователя или пароль" in captured.err
    assert "Traceback" not in captured.err + captured.out


# --- the embedded server command ----------------------------------------------------------


def _start_server_command(storage: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner.cli", "calendar-server", "--port", str(port), "--storage", str(storage)],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Сервер работает и ждёт подключений"):
            break
    return proc, lines


def _stop_server_command(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        out, _err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _err = proc.communicate()
    return proc.returncode, out


def test_calendar_server_command_stops_its_radicale_on_sigterm(tmp_path):
    """`kill` (SIGTERM) stops the command as Ctrl+C does: Radicale, its child, goes too."""
    port = free_port()
    proc, lines = _start_server_command(tmp_path / "server", port)
    try:
        assert any(line.startswith("Сервер работает") for line in lines), "\n".join(lines)
        assert _answers(port)
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and "остановлен" in out
    deadline = time.monotonic() + 10
    while _answers(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _answers(port), "Radicale still answers after the command was terminated"


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_calendar_server_command_creates_a_user_serves_and_stops_on_ctrl_c(tmp_path):
    storage = tmp_path / "server"
    port = free_port()
    proc, lines = _start_server_command(storage, port)
    try:
        text = "\n".join(lines)
        assert f"Сервер календарей запущен: http://127.0.0.1:{port}/" in text, text + proc.stderr.read()
        pw_file = storage / "password-planner.txt"
        assert "Создан пользователь «planner»" in text and str(pw_file) in text
        assert stat.S_IMODE(os.stat(pw_file).st_mode) == 0o600
        assert (storage / "users").read_text().startswith("planner:$6$")  # hashed, never plain
        password = pw_file.read_text().strip()
        report = publish_plan(sample_instance(name="embedded"), sample_plan(), f"http://127.0.0.1:{port}/",
                              username="planner", password=password)
        assert report.created == 19
    finally:
        code, out = _stop_server_command(proc)
    assert code == 0 and "остановлен" in out

    # What a second start lists for subscription: every calendar just published.
    from planner.calendar_sync.calendar_server import ServerPaths, ensure_user, stored_calendars

    listed = dict(stored_calendars(ServerPaths(storage), port))
    assert len(listed) == 8
    assert listed["Консультации: Бикбаева Л. А."] == f"http://127.0.0.1:{port}/planner/embedded-consultant-C1/"
    assert ensure_user(ServerPaths(storage), "planner") == (pw_file, False)  # kept, not recreated
