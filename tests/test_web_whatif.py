"""What-if, versions and publishing through the web application's API and pages, against a real
`planner serve` on 127.0.0.1 (shared/formats.md, «Web application»): a replan from TOML (and its
errors), both options of an expensive replan kept as versions and chosen between, publishing,
the calendar feeds (200/304/404/405, ETag and Last-Modified, SEQUENCE raised, cancellations,
tokens revoked), CalDAV on a real Radicale, and the digests by e-mail to a local SMTP server.

The instance is the two-school one of test_replan_options: the webinar TA (May, C2) covers both
schools; moving TA to June is a moved event; C2 dropping out makes coverage expensive (the
visit TB is added), so the replan offers a stable option too.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
import vobject
from aiosmtpd.controller import Controller

from helpers import BASE_TOML, MUNICIPALITIES, write_instance
from models.validate import validate
from planner.inputs.scenario import apply_scenario, parse_scenario
from planner.inputs.validation import load_instance
from test_caldav import PASSWORD, USER, radicale, server_state  # noqa: F401  (radicale: a fixture)
from test_replan_options import CONSULTANTS, SCHOOLS, TOPICS
from web_server import Server, free_port, quick_user, wait_for, zip_folder

MOVE_TA = """name = "Вебинар TA переносится на июнь"
freeze_before = 2022-04-01

[[topic_months]]
topic = "TA"
months = ["2022-06"]
"""
C2_AWAY = """name = "Петрова Б. Б. недоступна с апреля"
freeze_before = 2022-04-01

[[consultant_unavailable]]
consultant = "C2"
from = 2022-04-01
to = 2022-06-30
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_instance(tmp_path_factory.mktemp("inst") / "two-schools", toml=BASE_TOML,
                          municipalities=MUNICIPALITIES, topics=TOPICS, consultants=CONSULTANTS, schools=SCHOOLS)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("whatif") / "data"
    passwords = {"ed": quick_user(data, "ed"), "vi": quick_user(data, "vi", "viewer")}
    srv = Server(data).start()
    srv.passwords = passwords
    yield srv
    srv.stop()


def client(server: Server, user: str = "ed") -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=(user, server.passwords[user]), timeout=60)


def wait_job(c: httpx.Client, job: str) -> dict:
    def state():
        body = c.get(f"/api/v1/jobs/{job}").json()
        return body if body["status"] in ("done", "failed", "cancelled") else None

    return wait_for(state, 120)


def upload_and_solve(server: Server, folder: Path) -> tuple[str, str]:
    with client(server) as c:
        r = c.post("/api/v1/instances", files={"file": ("two.zip", zip_folder(folder, "two-schools"),
                                                        "application/zip")})
        assert r.status_code == 201, r.text
        instance = r.json()["id"]
        job = c.post(f"/api/v1/instances/{instance}/plans", json={"time_limit": 5}).json()["job"]
        done = wait_job(c, job)
    assert done["status"] == "done", done
    return instance, done["plan"]


@pytest.fixture(scope="module")
def chain(server, folder) -> dict:
    """One instance and its versions, made once for the tests below: v1 solved, v2 = v1 with TA
    moved to June, v3 (coverage) and v4 (stability) = v2 with C2 away."""
    instance, v1 = upload_and_solve(server, folder)
    with client(server) as c:
        v2 = replan(c, v1, MOVE_TA)["plan"]
        v3 = replan(c, v2, C2_AWAY)["plan"]
        plans = c.get(f"/api/v1/instances/{instance}").json()["plans"]
    v4 = [p["id"] for p in plans if p["id"] not in (v1, v2, v3)]
    return {"instance": instance, "v1": v1, "v2": v2, "v3": v3, "v4": v4[0] if v4 else None,
            "versions": [p["version"] for p in plans]}


def replan(c: httpx.Client, plan: str, toml: str) -> dict:
    r = c.post(f"/api/v1/plans/{plan}/replans?time_limit=6", content=toml.encode(),
               headers={"Content-Type": "application/toml"})
    assert r.status_code == 202, r.text
    done = wait_job(c, r.json()["job"])
    assert done["status"] == "done", done
    return done


def plan_json(server: Server, plan: str) -> dict:
    return json.loads((server.data / "plans" / plan / "plan.json").read_text(encoding="utf-8"))


def changed(folder: Path, *tomls: str):
    """The instance as the scenarios changed it (the independent check of a replanned plan)."""
    instance = load_instance(folder)[0]
    for n, text in enumerate(tomls):
        instance = apply_scenario(parse_scenario(text, f"s{n}.toml"), instance)
    return instance


def feeds(c: httpx.Client, instance: str) -> dict[tuple[str, str], str]:
    r = c.get(f"/api/v1/instances/{instance}/feeds")
    assert r.status_code == 200
    body = r.json()
    assert all(set(f) == {"party", "id", "name", "url"} for f in body)
    assert {f["party"] for f in body} == {"consultant", "school", "municipality"}
    return {(f["party"], f["id"]): f["url"] for f in body}


def events(text: str) -> dict[str, dict]:
    """A feed read with vobject (independent of the icalendar library that wrote it): by topic
    code (from the description), each event's UID, SEQUENCE, STATUS, SUMMARY and start."""
    cal = vobject.readOne(text)
    out = {}
    for ev in cal.contents.get("vevent", []):
        topic = re.search(r"Тема \((\w+)\)", ev.description.value).group(1)
        out[topic] = {"uid": ev.uid.value, "sequence": int(ev.sequence.value),
                      "status": ev.status.value, "summary": ev.summary.value, "start": ev.dtstart.value}
    return out


@contextmanager
def sign_in(server: Server, user: str = "ed"):
    """A browser-like session (cookie) and its CSRF token, for the page forms."""
    with httpx.Client(base_url=server.url, timeout=60) as b:
        token = b.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
        r = b.post("/login", data={"csrf": token, "name": user, "password": server.passwords[user], "next": "/"})
        assert r.status_code == 303
        csrf = b.get("/").text.split('name="csrf" value="')[1].split('"')[0]
        yield b, csrf


# --- a replan from TOML ----------------------------------------------------------------------


def test_a_replan_from_toml_and_its_errors(server, folder, chain):
    plan = chain["v1"]
    with client(server) as c:
        for body, column, message in [
            ("name = 'x'\nfreeze_before = 2022-04-01\n[[consultant_unavailable]]\nconsultant = 'C9'\n"
             "from = 2022-04-01\nto = 2022-05-01\n", "[[consultant_unavailable]] №1, поле consultant",
             "неизвестный консультант"),
            ("name = 'x'\nfreeze_before = 2022-04-01\n[[month_blocked]]\nmonth = '2022-13'\n",
             "[[month_blocked]] №1, поле month", "неверный месяц: нужен формат ГГГГ-ММ"),
            ("name = 'x'\n[[month_blocked]]\nmonth = '2022-05'\n", "freeze_before", "нужна дата заморозки"),
            ("name = 'x'\n[[holiday]]\n", "[[holiday]]", "неизвестный вид изменения"),
        ]:
            r = c.post(f"/api/v1/plans/{plan}/replans", content=body.encode())
            assert r.status_code == 422, body
            errors = r.json()["errors"]
            assert any(e["column"] == column and e["message"].startswith(message) for e in errors), errors
        r = c.post(f"/api/v1/plans/{plan}/replans", content=b"name = [unclosed")
        assert r.status_code == 422 and "не читается как TOML" in r.json()["errors"][0]["message"]
        r = c.post("/api/v1/plans/0123456789ab/replans", content=MOVE_TA.encode())
        assert (r.status_code, r.json()) == (404, {"error": "План «0123456789ab» не найден."})
    with client(server, "vi") as vi:
        r = vi.post(f"/api/v1/plans/{plan}/replans", content=MOVE_TA.encode())
        assert r.status_code == 403
    v2 = chain["v2"]
    moved = plan_json(server, v2)
    base = plan_json(server, plan)
    [ta_before] = base["sessions"]
    [ta_after] = moved["sessions"]
    assert ta_after["id"] == ta_before["id"] and ta_after["start"].startswith("2022-06")
    assert ta_after["sequence"] == ta_before.get("sequence", 0) + 1
    assert chain["versions"] == [4, 3, 2, 1]
    from planner.exports.plan_io import read_plan

    assert validate(changed(folder, MOVE_TA), read_plan(server.data / "plans" / v2 / "plan.json")) == []
    # The merged scenario is kept beside the plan, and the plan names it: `planner validate` finds it.
    assert Path(moved["meta"]["scenario_path"]) == server.data / "plans" / v2 / "scenario.toml"


# --- the two options, chosen in the page -----------------------------------------------------


def test_an_expensive_replan_keeps_both_options_and_a_person_picks_one(server, folder, chain):
    instance, plan, other = chain["instance"], chain["v2"], chain["v4"]
    done = {"plan": chain["v3"]}
    assert other is not None  # both options are versions (v3 and v4)
    cover, stable = plan_json(server, done["plan"]), plan_json(server, other)
    assert cover["meta"]["replan"]["option"] == "coverage" and [s["topic"] for s in cover["sessions"]] == ["TB"]
    assert stable["meta"]["replan"]["option"] == "stability" and stable["sessions"] == []
    assert [s["topic"] for s in stable["cancelled"]] == ["TA"]
    inst = changed(folder, MOVE_TA, C2_AWAY)
    from planner.exports.plan_io import read_plan

    for pid in (done["plan"], other):  # the validator passes every plan the app made
        assert validate(inst, read_plan(server.data / "plans" / pid / "plan.json")) == []
    with sign_in(server) as (b, csrf):
        page = b.get(f"/compare?a={plan}&b={done['plan']}")
        assert page.status_code == 200
        assert "Два варианта перепланирования" in page.text and page.text.count("Выбрать этот вариант") == 2
        assert "добавлено 1 консультаций" in page.text  # the price, in words
        r = b.post(f"/plans/{other}/choose", data={"csrf": csrf})
        assert r.status_code == 303 and r.headers["location"] == f"/plans/{other}"
        shown = b.get(f"/plans/{other}").text
        assert "вариант «стабильность»" in shown and "выбран" in shown
        assert "не выбран" in b.get(f"/instances/{instance}").text
        # without a token the form is refused
        assert b.post(f"/plans/{done['plan']}/choose", data={}).status_code == 403


# --- publishing and feeds --------------------------------------------------------------------


def test_publish_then_feeds_follow_the_published_version(server, folder, chain):
    instance, v1, v2, v3 = chain["instance"], chain["v1"], chain["v2"], chain["v3"]
    with client(server) as c:
        before = c.get(f"/api/v1/instances/{instance}/feeds")
        urls = feeds(c, instance)
        s1 = urls["school", "S1"]
        assert re.fullmatch(rf"{re.escape(server.url)}/feeds/[\w-]{{32}}\.ics", s1)
        assert httpx.get(s1).status_code == 404  # nothing published yet
        r = c.post(f"/api/v1/plans/{v1}/publish")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["published"] == v1 and body["version"] == 1 and body["job"] is None
        assert body["feeds_changed"] >= 7  # all, 2 consultants, 2 schools, 2 municipalities
        assert feeds(c, instance) == urls  # the same addresses after publishing
        assert before.json() == c.get(f"/api/v1/instances/{instance}/feeds").json()

    first = httpx.get(s1)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/calendar")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in first.text and "X-PUBLISHED-TTL:PT1H" in first.text
    ta = events(first.text)["TA"]
    assert ta["status"] == "CONFIRMED" and ta["start"].month == 5 and ta["sequence"] == 0
    head = httpx.head(s1)
    assert head.status_code == 200 and head.headers["etag"] == etag and head.content == b""
    again = httpx.get(s1, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert httpx.get(s1, headers={"If-Modified-Since": modified}).status_code == 304
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = httpx.request(method, s1)
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    unknown = httpx.get(f"{server.url}/feeds/{'x' * 32}.ics")
    assert unknown.status_code == 404 and "не найден" in unknown.text

    # Version 2 (TA moved to June) published: the same UID, a higher SEQUENCE.
    time.sleep(1.1)  # Last-Modified has whole seconds
    with client(server) as c:
        assert c.post(f"/api/v1/plans/{v2}/publish").json()["version"] == 2
    second = httpx.get(s1, headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["etag"] != etag
    assert parsedate_to_datetime(second.headers["last-modified"]) > parsedate_to_datetime(modified)
    moved = events(second.text)["TA"]
    assert moved["uid"] == ta["uid"] and moved["sequence"] == 1 and moved["start"].month == 6
    assert moved["status"] == "CONFIRMED"

    # Version 3 (C2 away: TA cancelled, the visit TB added) published after version 2.
    with client(server) as c:
        assert c.post(f"/api/v1/plans/{v3}/publish").status_code == 200
    third = httpx.get(s1, headers={"If-None-Match": second.headers["etag"]})
    assert third.status_code == 200
    got = events(third.text)
    assert got["TA"]["uid"] == ta["uid"] and got["TA"]["status"] == "CANCELLED" and got["TA"]["sequence"] == 2
    assert got["TA"]["summary"].startswith("ОТМЕНЕНО: ")
    assert got["TB"]["status"] == "CONFIRMED"
    c2 = events(httpx.get(urls["consultant", "C2"]).text)
    assert c2["TA"]["status"] == "CANCELLED" and "TB" not in c2
    assert events(httpx.get(urls["consultant", "C1"]).text)["TB"]["status"] == "CONFIRMED"

    # Publishing the same version again changes nothing: same ETag, same Last-Modified.
    with client(server) as c:
        assert c.post(f"/api/v1/plans/{v3}/publish").json()["feeds_changed"] == 0
    same = httpx.get(s1)
    assert (same.headers["etag"], same.headers["last-modified"]) == (third.headers["etag"],
                                                                     third.headers["last-modified"])

    # A viewer cannot publish; the feed is read without any login.
    with client(server, "vi") as vi:
        assert vi.post(f"/api/v1/plans/{v1}/publish").status_code == 403

    # An editor revokes S1's address: the old one is 404, the new one serves the same calendar.
    with sign_in(server) as (b, csrf):
        page = b.get(f"/instances/{instance}/calendars")
        assert "Google Календарь обновляет подписки только раз в 8–24 часа" in page.text
        assert s1 in page.text and "webcal://" + s1.split("://", 1)[1] in page.text
        r = b.post(f"/instances/{instance}/calendars/reissue", data={"csrf": csrf, "party": "school",
                                                                     "party_id": "S1"})
        assert r.status_code == 303
    assert httpx.get(s1).status_code == 404
    with client(server) as c:
        new = feeds(c, instance)
    assert new["school", "S1"] != s1 and new["school", "S2"] == urls["school", "S2"]
    assert httpx.get(new["school", "S1"]).headers["etag"] == third.headers["etag"]


# --- CalDAV and letters ----------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(server):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    (server.data / "smtp.toml").write_text(
        f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\nfrom = "Рабочая группа <wg@example.ru>"\n',
        encoding="utf-8")
    try:
        yield inbox
    finally:
        (server.data / "smtp.toml").unlink(missing_ok=True)
        controller.stop()


def test_publishing_pushes_to_caldav_and_mails_each_party_its_digest(server, folder, radicale, smtp):  # noqa: F811
    instance, v1 = upload_and_solve(server, folder)
    with sign_in(server) as (b, csrf):
        r = b.post(f"/instances/{instance}/delivery", data={"csrf": csrf, "what": "caldav", "url": radicale,
                                                            "username": USER, "password": PASSWORD})
        assert r.status_code == 200 and "Сохранено." in r.text
        r = b.post(f"/instances/{instance}/delivery", data={"csrf": csrf, "what": "emails",
                                                            "email-school-S1": "s1@example.ru",
                                                            "email-consultant-C2": "not-an-address"})
        assert r.status_code == 422 and "адрес не похож на электронную почту" in r.text
        r = b.post(f"/instances/{instance}/delivery", data={"csrf": csrf, "what": "emails",
                                                            "email-school-S1": "s1@example.ru",
                                                            "email-consultant-C2": "petrova@example.ru"})
        assert r.status_code == 200
        assert "сохранён; оставьте пустым" in b.get(f"/instances/{instance}/delivery").text  # never shown back
    with client(server) as c:
        first = c.post(f"/api/v1/plans/{v1}/publish", json={"email": False}).json()
        assert wait_job(c, first["job"])["status"] == "done"
        v3 = replan(c, v1, C2_AWAY)["plan"]
        pub = c.post(f"/api/v1/plans/{v3}/publish").json()
        assert pub["job"]
        assert wait_job(c, pub["job"])["status"] == "done", c.get(f"/api/v1/jobs/{pub['job']}").json()
    # CalDAV: the server has what the feeds have (TA cancelled, TB there), by the same UIDs.
    prefix = "two-schools"
    state = server_state(radicale, prefix)
    s1 = {str(e["SUMMARY"]): e for e in state["school-S1"].values()}
    assert "ОТМЕНЕНО: Вебинар" in s1 and "Выездной семинар" in s1
    assert str(s1["ОТМЕНЕНО: Вебинар"]["STATUS"]) == "CANCELLED"
    # Letters: one to each party with an address and changes, each a valid iTIP.
    by_to = {to[0]: email.message_from_bytes(content, policy=email.policy.default) for _f, to, content in smtp.messages}
    assert set(by_to) == {"s1@example.ru", "petrova@example.ru"}
    msg = by_to["s1@example.ru"]
    assert msg["Subject"] == "Изменения графика консультаций: Школа S1"
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "отменено: TA «Вебинар»" in text and "добавлено: TB «Выездной семинар»" in text
    invites = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    methods = {}
    for part in invites:
        cal = vobject.readOne(part.get_payload(decode=True).decode("utf-8"))
        if part.get_param("method"):
            assert cal.method.value == part.get_param("method")
            [ev] = cal.contents["vevent"]
            assert ev.organizer.value == "mailto:wg@example.ru" and ev.attendee.value == "mailto:s1@example.ru"
            methods[ev.summary.value] = (cal.method.value, int(ev.sequence.value))
    assert methods["ОТМЕНЕНО: Вебинар"] == ("CANCEL", 1)
    assert methods["Выездной семинар"][0] == "REQUEST"
    assert any(p.get_filename() == "school-S1.ics" for p in invites)  # the whole calendar too
    c2 = by_to["petrova@example.ru"]
    c2_methods = [p.get_param("method") for p in c2.walk() if p.get_content_type() == "text/calendar"]
    assert "CANCEL" in c2_methods and "REQUEST" not in c2_methods
    # The coordinator's page: letters sent, the digest downloadable as a document.
    with sign_in(server) as (b, _csrf):
        page = b.get(f"/publications/{pub['publication']}").text
        assert page.count("отправлено") >= 2 and "CalDAV:" in page
        doc = b.get(f"/publications/{pub['publication']}/digest.docx")
        assert doc.status_code == 200
    import io

    import docx

    paragraphs = [p.text for p in docx.Document(io.BytesIO(doc.content)).paragraphs]
    assert "Школа S1" in paragraphs and any("— отменено: TA «Вебинар»" in t for t in paragraphs)


# --- the migration -----------------------------------------------------------------------------


def test_migration_2_keeps_the_jobs_of_a_version_1_database(tmp_path):
    import sqlite3

    from planner.web.db import connect, migrations

    data = tmp_path / "old"
    data.mkdir()
    raw = sqlite3.connect(data / "planner.sqlite3")
    raw.executescript(migrations()[0][2])
    raw.execute("PRAGMA user_version = 1")
    raw.execute("INSERT INTO instances VALUES ('0123456789ab', 'x', 'r', 'xlsx', 'x.xlsx', '{}', '[]', NULL, 'now')")
    raw.execute("INSERT INTO jobs (id, kind, instance_id, params, status, created_at)"
                " VALUES ('aaaaaaaaaaaa', 'solve', '0123456789ab', '{}', 'done', 'now')")
    raw.commit()
    raw.close()
    conn = connect(data)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations())
    assert [tuple(r) for r in conn.execute("SELECT id, kind, status FROM jobs")] == [("aaaaaaaaaaaa", "solve", "done")]
    conn.execute("INSERT INTO jobs (id, kind, instance_id, params, status, created_at)"
                 " VALUES ('bbbbbbbbbbbb', 'publish', '0123456789ab', '{}', 'queued', 'now')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO jobs (id, kind, instance_id, params, status, created_at)"
                     " VALUES ('cccccccccccc', 'other', '0123456789ab', '{}', 'queued', 'now')")



