"""The web application's JSON API (shared/formats.md, «Web application») against a real
`planner serve` started on 127.0.0.1: every error path with its exact status and message,
uploads (workbook, zip, zip-slip, formulas, too large), jobs (queue, cancel, two at once,
a server crash), and the safety rules (roles, file names, nothing outside DIR).
"""

from __future__ import annotations

import io
import re
import stat
import threading
import zipfile
from pathlib import Path

import httpx
import openpyxl
import pytest

from helpers import KUZBASS, SCHOOLS, run_cli, write_instance
from models.validate import validate
from planner.inputs.template import write_template
from planner.inputs.validation import load_instance
from planner.web.auth import UserError
from web_server import Server, add_user, pid_alive, quick_user, wait_for, zip_folder

MB = 1024 * 1024
SCHOOLS4 = [dict(SCHOOLS[0], id=f"S{i}", name=f"Школа {i}", municipality="M1" if i < 3 else "M2")
            for i in range(1, 5)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_instance(tmp_path_factory.mktemp("inst") / "tiny-region", schools=SCHOOLS4)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("web") / "data"  # made by the first user, mode 700
    passwords = {"ed": quick_user(data, "ed"), "ed2": quick_user(data, "ed2"), "vi": quick_user(data, "vi", "viewer")}
    srv = Server(data).start()
    srv.passwords = passwords
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def tiny_plan(server, tiny) -> dict:
    """The tiny instance uploaded and solved once: {"instance", "job", "plan"}."""
    with client(server) as c:
        created = upload(c, "tiny.zip", zip_folder(tiny, "tiny-region"))
        assert created.status_code == 201
        instance = created.json()["id"]
        r = c.post(f"/api/v1/instances/{instance}/plans", json={"time_limit": 5})
        assert r.status_code == 202 and set(r.json()) == {"job"}
        done = wait_job(c, r.json()["job"])
    assert done["status"] == "done", done
    return {"instance": instance, "job": r.json()["job"], "plan": done["plan"], "result": done}


def client(server: Server, user: str = "ed", password: str | None = None) -> httpx.Client:
    pw = server.passwords[user] if password is None else password
    return httpx.Client(base_url=server.url, auth=(user, pw), timeout=60)


def upload(c: httpx.Client, name: str, content: bytes, media: str = "application/zip") -> httpx.Response:
    return c.post("/api/v1/instances", files={"file": (name, content, media)})


def wait_job(c: httpx.Client, job: str, until=("done", "failed", "cancelled"), timeout: float = 120) -> dict:
    def state():
        body = c.get(f"/api/v1/jobs/{job}").json()
        return body if body["status"] in until else None

    return wait_for(state, timeout)


def instance_dirs(server: Server) -> set[str]:
    folder = server.data / "instances"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


# --- the commands ----------------------------------------------------------------------------


def test_users_add_writes_a_private_password_file_and_refuses_duplicates(tmp_path):
    data = tmp_path / "srv"
    password = add_user(data, "иванова", "viewer")
    path = data / "password-иванова.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(password) >= 16
    again = run_cli("users", "add", "иванова", "--data", str(data))
    assert again.returncode == 2
    assert "пользователь «иванова» уже есть" in again.stderr
    assert "Traceback" not in again.stderr
    for bad in ("../evil", "a/b", ".hidden", ""):
        with pytest.raises(UserError, match="не подходит"):
            quick_user(data, bad)
    assert sorted(p.name for p in data.iterdir() if p.name.startswith("password")) == ["password-иванова.txt"]
    assert not list(tmp_path.glob("*evil*"))


# --- 401 / 403 / 404 -------------------------------------------------------------------------


@pytest.mark.parametrize("auth, message", [
    (None, "Нужен вход: имя пользователя и пароль (HTTP Basic)."),
    (("ed", "wrong-password"), "Неверное имя пользователя или пароль."),
    (("nobody", "x"), "Неверное имя пользователя или пароль."),
])
def test_every_api_call_needs_a_login(server, auth, message):
    calls = [("GET", "/api/v1/instances"), ("POST", "/api/v1/instances"),
             ("GET", "/api/v1/jobs/0123456789ab"), ("DELETE", "/api/v1/jobs/0123456789ab"),
             ("GET", "/api/v1/plans/0123456789ab"), ("GET", "/api/v1/plans/0123456789ab/files/plan.csv"),
             ("POST", "/api/v1/instances/0123456789ab/plans")]
    for method, path in calls if auth is None else calls[:2]:  # a wrong password costs an argon2 check
        r = httpx.request(method, server.url + path, auth=auth, timeout=30)
        assert r.status_code == 401, (method, path)
        assert r.json() == {"error": message}
        assert r.headers["www-authenticate"].startswith("Basic ")


def test_pages_send_a_stranger_to_the_sign_in(server):
    r = httpx.get(server.url + "/plans/0123456789ab", timeout=30)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/plans/0123456789ab"


def test_a_viewer_reads_but_cannot_change_anything(server, tiny, tiny_plan):
    instance, job = tiny_plan["instance"], tiny_plan["job"]
    with client(server, "vi") as vi:
        assert vi.get(f"/api/v1/instances/{instance}").status_code == 200
        assert vi.get(f"/api/v1/jobs/{job}").status_code == 200
        refused = [
            upload(vi, "tiny.zip", zip_folder(tiny)),
            vi.post(f"/api/v1/instances/{instance}/plans", json={}),
            vi.delete(f"/api/v1/jobs/{job}"),
        ]
        for r in refused:
            assert r.status_code == 403
            assert r.json() == {"error": "У пользователя «vi» роль «наблюдатель»: изменять ничего нельзя."}
        assert vi.get(f"/api/v1/plans/{tiny_plan['plan']}/files/plan.csv").status_code == 200
        assert vi.get(f"/api/v1/jobs/{job}").json()["status"] == "done"  # the viewer's DELETE changed nothing
    # the page forms too: a viewer's valid form is refused
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        login = browser.get("/login")
        token = login.text.split('name="csrf" value="')[1].split('"')[0]
        signed = browser.post("/login", data={"csrf": token, "name": "vi", "password": server.passwords["vi"],
                                              "next": "/"})
        assert signed.status_code == 303
        home = browser.get("/")
        assert "Загрузить и проверить" not in home.text  # no upload form for a viewer
        csrf = home.text.split('name="csrf" value="')[1].split('"')[0]
        r = browser.post(f"/instances/{instance}/plans", data={"csrf": csrf, "time_limit": "5"})
        assert r.status_code == 403
        assert "роль «наблюдатель»" in r.text


def test_unknown_ids_and_files_are_404(server, tiny_plan):
    with client(server) as c:
        for path, message in [
            ("/api/v1/instances/0123456789ab", "Экземпляр «0123456789ab» не найден."),
            ("/api/v1/jobs/0123456789ab", "Задание «0123456789ab» не найдено."),
            ("/api/v1/plans/0123456789ab", "План «0123456789ab» не найден."),
            ("/api/v1/plans/..%2F..%2Fetc", "Нет такого вызова API: /api/v1/plans/../../etc."),
            ("/api/v1/plans/not-an-id", "План «not-an-id» не найден."),
            ("/api/v1/nothing", "Нет такого вызова API: /api/v1/nothing."),
        ]:
            r = c.get(path)
            assert r.status_code == 404, path
            assert r.json() == {"error": message}
        r = c.post("/api/v1/instances/0123456789ab/plans", json={})
        assert (r.status_code, r.json()) == (404, {"error": "Экземпляр «0123456789ab» не найден."})
        r = c.delete("/api/v1/jobs/0123456789ab")
        assert (r.status_code, r.json()) == (404, {"error": "Задание «0123456789ab» не найдено."})
        # a real plan, an unknown file name
        plan = tiny_plan["plan"]
        r = c.get(f"/api/v1/plans/{plan}/files/plan.json.bak")
        assert r.status_code == 404
        assert r.json()["error"].startswith("Файла «plan.json.bak» у плана нет")
        r = c.get(f"/api/v1/plans/{plan}/files/..%2Fplanner.sqlite3")
        assert r.status_code == 404


# --- uploads ---------------------------------------------------------------------------------


def test_a_zip_of_the_csv_folder_gives_the_instance_and_its_summary(server, tiny):
    with client(server) as c:
        r = upload(c, "Регион 2022.zip", zip_folder(tiny, "tiny-region"))
    assert r.status_code == 201
    body = r.json()
    assert set(body) >= {"id", "summary"}
    summary = body["summary"]
    assert summary["name"] == "tiny-region"  # the folder inside the zip names it
    assert (summary["schools"], summary["consultants"], summary["topics"], summary["municipalities"]) == (4, 1, 2, 2)
    assert [m["month"] for m in summary["open_months"]] == ["2022-03", "2022-04", "2022-05", "2022-06"]
    assert summary["needs_per_risk"] == [{"risk": "R03", "title": summary["needs_per_risk"][0]["title"],
                                          "schools": 4, "topics": 1}]
    # stored under the server's names only
    stored = server.data / "instances" / body["id"]
    assert sorted(p.name for p in stored.rglob("*")) == sorted(
        ["source", "instance.toml", "municipalities.csv", "topics.csv", "consultants.csv", "schools.csv"])


@pytest.fixture(scope="module")
def broken_workbook(tiny, tmp_path_factory) -> bytes:
    """The tiny instance as a workbook with three bad cells."""
    path = write_template(tmp_path_factory.mktemp("broken") / "b.xlsx", source=tiny)
    wb = openpyxl.load_workbook(path)
    ws = wb["schools"]
    head = [c.value for c in ws[1]]
    ws.cell(row=3, column=head.index("priority") + 1, value="7")
    ws.cell(row=4, column=head.index("municipality") + 1, value="M9")
    ws = wb["consultants"]
    head = [c.value for c in ws[1]]
    ws.cell(row=2, column=head.index("max_per_month") + 1, value="много")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_broken_workbook_is_422_with_every_problem_at_once(server, broken_workbook):
    before = instance_dirs(server)
    with client(server) as c:
        r = upload(c, "Сломанная книга.xlsx", broken_workbook, XLSX)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "В файле найдено ошибок: 3. Исправьте их и загрузите файл снова."
    assert body["warnings"] == []
    where = {(e["file"], e["row"], e["column"], e["value"]) for e in body["errors"]}
    assert where == {
        ("Сломанная книга.xlsx, лист «schools»", 3, "priority", "7"),
        ("Сломанная книга.xlsx, лист «schools»", 4, "municipality", "M9"),
        ("Сломанная книга.xlsx, лист «consultants»", 2, "max_per_month", "много"),
    }
    assert all(e["message"] and "source.xlsx" not in e["message"] for e in body["errors"])
    assert instance_dirs(server) == before  # nothing kept of a refused upload


def test_workbook_formulas_are_refused_and_never_computed(server, tiny, tmp_path):
    path = write_template(tmp_path / "f.xlsx", source=tiny)
    wb = openpyxl.load_workbook(path)
    ws = wb["schools"]
    head = [c.value for c in ws[1]]
    ws.cell(row=2, column=head.index("priority") + 1, value="=1+1")
    ws.cell(row=3, column=head.index("name") + 1, value='=HYPERLINK("http://example.invalid","x")')
    buf = io.BytesIO()
    wb.save(buf)
    with client(server) as c:
        r = upload(c, "formulas.xlsx", buf.getvalue(), XLSX)
    assert r.status_code == 422
    got = {(e["file"], e["row"], e["column"], e["value"]) for e in r.json()["errors"]}
    assert got == {("formulas.xlsx, лист «schools»", 2, "priority", "=1+1"),
                   ("formulas.xlsx, лист «schools»", 3, "name", '=HYPERLINK("http://example.invalid","x")')}
    assert all("формула" in e["message"] for e in r.json()["errors"])


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return buf.getvalue()


def test_zip_entries_that_escape_the_folder_refuse_the_archive(server, tiny, tmp_path):
    good = [(p.name, p.read_bytes()) for p in sorted(tiny.iterdir())]
    link = zipfile.ZipInfo("inst/schools.csv")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip([*[(f"inst/{n}", b) for n, b in good if n != "schools.csv"],
                    ("../evil.csv", b"x"), ("/tmp/evil-absolute.csv", b"x"), ("inst/../../evil2.csv", b"x"),
                    (link, b"/etc/passwd")])
    before = instance_dirs(server)
    with client(server) as c:
        r = upload(c, "slip.zip", archive)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {(e["file"], e["value"]) for e in errors} == {
        ("slip.zip", "../evil.csv"), ("slip.zip", "/tmp/evil-absolute.csv"), ("slip.zip", "inst/../../evil2.csv"),
        ("slip.zip", "inst/schools.csv")}
    messages = {e["value"]: e["message"] for e in errors}
    assert "выходит за пределы папки" in messages["../evil.csv"]
    assert "абсолютным путём" in messages["/tmp/evil-absolute.csv"]
    assert "символическая ссылка" in messages["inst/schools.csv"]
    assert instance_dirs(server) == before
    for root in (server.data, server.data.parent, Path("/tmp")):
        assert not list(root.glob("evil*.csv"))


@pytest.mark.parametrize("name, content, message", [
    ("notes.txt", b"hello", "нужна книга Excel .xlsx или архив .zip с папкой CSV-файлов экземпляра"),
    ("fake.xlsx", b"not a workbook at all", "файл не является книгой Excel .xlsx (повреждён или другого формата)"),
    ("empty.zip", _zip([("README.md", b"# nothing")]),
     ("в архиве нет файлов экземпляра: нужны instance.toml, schools.csv, consultants.csv, topics.csv,"
      " municipalities.csv")),
])
def test_uploads_that_are_not_an_instance_are_422(server, name, content, message):
    with client(server) as c:
        r = upload(c, name, content)
    assert r.status_code == 422
    assert [e["message"] for e in r.json()["errors"]] == [message]
    assert r.json()["errors"][0]["file"] == name


def test_no_file_is_422(server):
    with client(server) as c:
        r = c.post("/api/v1/instances", data={"other": "x"}, files={"nofile": ("a.zip", b"PK")})
    assert r.status_code == 422
    assert r.json() == {"error": "Не выбран файл: нужна книга .xlsx или архив .zip (поле «file»)."}


def test_an_upload_over_20_mb_is_413_whether_or_not_it_says_its_size(server):
    before = instance_dirs(server)
    big = b"PK\x03\x04" + b"\0" * (20 * MB)  # one byte over... and then some: 20 MB + 4 bytes of file
    with client(server) as c:
        r = upload(c, "big.zip", big)
        assert r.status_code == 413
        assert r.json() == {"error": "Файл слишком большой: можно загрузить не больше 20 МБ."}

        def chunks():  # no Content-Length: chunked transfer
            for _ in range(21):
                yield b"\0" * MB

        r = c.post("/api/v1/instances", content=chunks(),
                   headers={"Content-Type": "multipart/form-data; boundary=xyz"})
        assert r.status_code == 413
        just_under = upload(c, "small.zip", b"PK\x03\x04" + b"\0" * (MB // 2))
        assert just_under.status_code == 422  # read and checked (not a valid zip), not refused for size
    assert instance_dirs(server) == before


def test_a_bad_time_limit_is_422(server, tiny):
    with client(server) as c:
        instance = upload(c, "tiny.zip", zip_folder(tiny)).json()["id"]
        for body in ({"time_limit": 0}, {"time_limit": "долго"}, {"time_limit": 1e9}):
            r = c.post(f"/api/v1/instances/{instance}/plans", json=body)
            assert r.status_code == 422
            assert r.json()["error"].startswith(
                f"Время расчёта «{body['time_limit']}»: нужно число секунд от 1 до 3600")
        r = c.post(f"/api/v1/instances/{instance}/plans", content=b"{not json",
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        assert r.json()["error"].startswith("Тело запроса не читается как JSON")


# --- jobs ------------------------------------------------------------------------------------


def test_a_plan_through_the_api_is_the_contract_plan_with_every_file(server, tiny_plan):
    with client(server) as c:
        done = tiny_plan["result"]
        assert done["status"] == "done" and done["error"] is None
        assert set(done) == {"status", "progress", "plan", "error"}
        assert done["progress"]["elapsed"] > 0 and done["progress"]["log"]
        plan = c.get(f"/api/v1/plans/{done['plan']}")
        assert plan.status_code == 200 and plan.headers["content-type"].startswith("application/json")
        data = plan.json()
        assert data["instance"] == "tiny-region"
        assert {"status", "objective", "bound", "solve_seconds", "sessions", "unmet"} <= set(data)
        types = {"appendix.docx": "wordprocessingml", "plan.xlsx": "spreadsheetml", "plan.csv": "text/csv",
                 "report.html": "text/html", "calendars.zip": "application/zip"}
        for name, kind in types.items():
            f = c.get(f"/api/v1/plans/{done['plan']}/files/{name}")
            assert f.status_code == 200, name
            assert kind in f.headers["content-type"] and f"filename=\"{name}\"" in f.headers["content-disposition"]
        calendars_zip = c.get(f"/api/v1/plans/{done['plan']}/files/calendars.zip").content
        names = zipfile.ZipFile(io.BytesIO(calendars_zip)).namelist()
        assert "calendars/all.ics" in names and "calendars/consultant-C1.ics" in names
        csv_rows = c.get(f"/api/v1/plans/{done['plan']}/files/plan.csv").text.strip().splitlines()[1:]
        assert len(csv_rows) == sum(len(s["schools"]) for s in data["sessions"])


def test_two_jobs_submitted_at_once_both_finish_valid(server, tiny):
    instance_obj, _ = load_instance(tiny)
    with client(server) as c:
        instance = upload(c, "tiny.zip", zip_folder(tiny, "tiny-region")).json()["id"]
    jobs: list[str] = []

    def submit(user: str):
        with client(server, user) as cc:
            r = cc.post(f"/api/v1/instances/{instance}/plans", json={"time_limit": 3})
            assert r.status_code == 202
            jobs.append(r.json()["job"])

    threads = [threading.Thread(target=submit, args=(u,)) for u in ("ed", "ed2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(jobs)) == 2
    with client(server, "vi") as c:
        results = [wait_job(c, j) for j in jobs]
        assert [r["status"] for r in results] == ["done", "done"]
        plans = [r["plan"] for r in results]
        assert len(set(plans)) == 2
        for plan_id in plans:
            from planner.exports.plan_io import plan_from_dict

            plan = plan_from_dict(c.get(f"/api/v1/plans/{plan_id}").json())
            assert validate(instance_obj, plan) == []
            assert plan.sessions
        versions = c.get(f"/api/v1/instances/{instance}").json()["plans"]
    assert sorted(v["version"] for v in versions) == [1, 2]
    assert {v["created_by"] for v in versions} == {"ed", "ed2"}


def test_two_users_uploading_at_once_corrupt_nothing(server, tiny):
    archive = zip_folder(tiny, "tiny-region")
    results: dict[str, httpx.Response] = {}

    def go(user: str):
        with client(server, user) as c:
            results[user] = upload(c, f"{user}.zip", archive)

    threads = [threading.Thread(target=go, args=(u,)) for u in ("ed", "ed2", "ed", "ed2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 201 for r in results.values())
    with server.db() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [r["id"] for r in db.execute("SELECT id FROM instances")]
    assert len(ids) == len(set(ids))
    assert all((server.data / "instances" / i).is_dir() for i in ids)


def _kuzbass_running(c: httpx.Client, time_limit: float = 120) -> tuple[str, str]:
    """A long Kuzbass solve, returned once its worker reports a solver phase."""
    instance = upload(c, "kuzbass-2022.zip", zip_folder(KUZBASS, "kuzbass-2022")).json()["id"]
    job = c.post(f"/api/v1/instances/{instance}/plans", json={"time_limit": time_limit}).json()["job"]
    wait_for(lambda: (b := c.get(f"/api/v1/jobs/{job}").json())["status"] == "running"
             and (b["progress"].get("phase") or "").startswith(("Строю модель", "Фаза")), 60)
    return instance, job


def test_cancel_ends_the_solver_process(server):
    with client(server) as c:
        _instance, job = _kuzbass_running(c)
        with server.db() as db:
            pid = db.execute("SELECT pid FROM jobs WHERE id = ?", (job,)).fetchone()["pid"]
        assert pid and pid_alive(pid)
        r = c.delete(f"/api/v1/jobs/{job}")
        assert r.status_code == 200
        assert r.json()["status"] == "cancelled"
        assert r.json()["error"] == "Расчёт отменён пользователем «ed»."
        assert r.json()["plan"] is None
        assert not pid_alive(pid)  # DELETE returns once the worker is gone
        assert c.get(f"/api/v1/jobs/{job}").json()["status"] == "cancelled"
        again = c.delete(f"/api/v1/jobs/{job}")
        assert (again.status_code, again.json()["status"]) == (200, "cancelled")
    with server.db() as db:
        assert db.execute("SELECT COUNT(*) FROM plans WHERE job_id = ?", (job,)).fetchone()[0] == 0


def test_a_finished_job_cannot_be_cancelled(server, tiny_plan):
    with client(server) as c:
        r = c.delete(f"/api/v1/jobs/{tiny_plan['job']}")
        assert r.status_code == 409
        assert r.json() == {"error": "Задание уже завершено (готово): отменять нечего."}


def test_a_crash_of_the_server_fails_its_running_job_and_keeps_everything_else(tmp_path, tiny):
    data = tmp_path / "data"
    password = quick_user(data, "ed")
    srv = Server(data).start()
    try:
        with httpx.Client(base_url=srv.url, auth=("ed", password), timeout=60) as c:
            instance = upload(c, "tiny.zip", zip_folder(tiny, "tiny-region")).json()["id"]
            kuzbass, job = _kuzbass_running(c)
            with srv.db() as db:
                pid = db.execute("SELECT pid FROM jobs WHERE id = ?", (job,)).fetchone()["pid"]
        srv.crash()
        wait_for(lambda: not pid_alive(pid), 30)  # the orphaned worker notices and ends by itself
        srv = Server(data).start()
        with httpx.Client(base_url=srv.url, auth=("ed", password), timeout=60) as c:
            body = c.get(f"/api/v1/jobs/{job}").json()
            assert body["status"] == "failed"
            assert body["error"] == ("Расчёт прерван: сервер был остановлен или перезапущен, пока шёл расчёт."
                                     " Запустите расчёт снова.")
            assert {i["id"] for i in c.get("/api/v1/instances").json()} == {instance, kuzbass}
            assert c.get(f"/api/v1/instances/{kuzbass}").json()["plans"] == []
            # the queue works after the restart: a new job runs to its end
            done = wait_job(c, c.post(f"/api/v1/instances/{instance}/plans", json={"time_limit": 3}).json()["job"])
            assert done["status"] == "done"
            # a stop (SIGTERM, as a service manager does) ends the running solve and says why
            second = c.post(f"/api/v1/instances/{kuzbass}/plans", json={"time_limit": 120}).json()["job"]
            wait_for(lambda: c.get(f"/api/v1/jobs/{second}").json()["progress"].get("phase", "").startswith(
                ("Строю модель", "Фаза")), 60)
            with srv.db() as db:
                pid = db.execute("SELECT pid FROM jobs WHERE id = ?", (second,)).fetchone()["pid"]
        srv.stop()
        assert srv.proc.returncode in (0, -15)  # uvicorn stops cleanly, then re-raises SIGTERM
        assert not pid_alive(pid)
        with srv.db() as db:
            row = db.execute("SELECT status, error FROM jobs WHERE id = ?", (second,)).fetchone()
        assert (row["status"], row["error"]) == ("failed", body["error"])  # marked by the stop, not a restart
    finally:
        srv.stop()


def test_nothing_is_written_outside_the_data_folder_and_files_are_private(server):
    assert stat.S_IMODE(server.data.stat().st_mode) == 0o700
    for path in server.data.rglob("*"):
        assert server.data in path.resolve().parents
    with server.db() as db:
        names = [r["original_name"] for r in db.execute("SELECT original_name FROM instances")]
    assert names  # person's names are only in the database, never as files
    for name in names:
        assert not list(server.data.rglob(name))


def test_the_database_is_migrated_and_numbered(server):
    from planner.web.db import migrations

    with server.db() as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(migrations()) == 2
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "web_sessions", "instances", "plans", "jobs"} <= tables



def _signed_in(server: Server, user: str) -> tuple[httpx.Client, str]:
    browser = httpx.Client(base_url=server.url, timeout=30)
    token = browser.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
    r = browser.post("/login", data={"csrf": token, "name": user, "password": server.passwords[user], "next": "/"})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "planner_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    csrf = browser.get("/").text.split('name="csrf" value="')[1].split('"')[0]
    return browser, csrf


def test_page_forms_need_this_sessions_csrf_token(server, tiny):
    # sign-in itself: without the token its page set, refused
    r = httpx.post(server.url + "/login", data={"name": "ed", "password": server.passwords["ed"]}, timeout=30)
    assert r.status_code == 403 and "Форма входа устарела" in r.text
    browser, csrf = _signed_in(server, "ed")
    try:
        archive = {"file": ("tiny.zip", zip_folder(tiny), "application/zip")}
        for data in ({}, {"csrf": "forged"}):
            r = browser.post("/instances", data=data, files=archive)
            assert r.status_code == 403
            assert "Форма устарела или пришла не с этой страницы" in r.text
        ok = browser.post("/instances", data={"csrf": csrf}, files=archive)
        assert ok.status_code == 303 and ok.headers["location"].startswith("/instances/")
        # the token of another session does not fit this one
        other, other_csrf = _signed_in(server, "ed2")
        other.close()
        r = browser.post("/instances", data={"csrf": other_csrf}, files=archive)
        assert r.status_code == 403
        # signed out: the old cookie opens nothing
        assert browser.post("/logout", data={"csrf": csrf}).status_code == 303
        assert browser.get("/").status_code == 303
    finally:
        browser.close()


def test_a_page_upload_with_problems_shows_the_table(server, broken_workbook):
    browser, csrf = _signed_in(server, "ed")
    try:
        r = browser.post("/instances", data={"csrf": csrf},
                         files={"file": ("Сломанная книга.xlsx", broken_workbook, XLSX)})
    finally:
        browser.close()
    assert r.status_code == 422
    assert "Найдено ошибок: 3" in r.text
    rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.DOTALL)]
            for tr in re.findall(r"<tr>(.*?)</tr>", r.text.split('id="problems"')[1], re.DOTALL)]
    assert ["Сломанная книга.xlsx, лист «consultants»", "2", "max_per_month", "много"] in [row[:4] for row in rows]
    assert len([row for row in rows if row]) == 3


def test_the_problem_table_links_the_guides_sections(server, broken_workbook):
    """Under the table: one link per section of the guide that explains the problems (the
    schools' and the consultants' sheets here), to the guide's page; the API's table stays the
    contract's (no extra keys)."""
    from planner.inputs import guide

    browser, csrf = _signed_in(server, "ed")
    try:
        r = browser.post("/instances", data={"csrf": csrf},
                         files={"file": ("Сломанная книга.xlsx", broken_workbook, XLSX)})
        assert r.status_code == 422
        block = r.text.split('id="guide-links"')[1].split("</p>")[0]
        links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', block)
        expected = [guide.SHEETS["consultants"], guide.SHEETS["schools"]]  # the table's order
        assert links == [(f"/guide/#{s.anchor}", s.title) for s in expected]
        page = browser.get("/guide/")  # each linked anchor is a heading's id on the guide's page
        assert page.status_code == 200
        for href, _title in links:
            assert f'id="{href.split("#")[1]}"' in page.text
    finally:
        browser.close()
    with client(server) as c:
        api = upload(c, "b.xlsx", broken_workbook, XLSX)
    assert api.status_code == 422
    assert {key for row in api.json()["errors"] for key in row} == {"file", "row", "column", "value", "message"}


def test_the_guide_page_needs_no_sign_in_and_has_every_section(server):
    from planner.inputs import guide

    with httpx.Client(base_url=server.url, timeout=30) as anon:
        page = anon.get("/guide/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for section in guide.ALL_SECTIONS:
            assert f'id="{section.anchor}"' in page.text, section.title
        assert "<table" in page.text and "<script" not in page.text.split("<main>")[1]
        pictures = re.findall(r'<img src="([^"]+)"', page.text)
        assert pictures and all(p.startswith("img/") for p in pictures)
        picture = anon.get("/guide/" + pictures[0])
        assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
        assert anon.get("/guide/img/..%2Fруководство.md").status_code == 404
        assert anon.get("/guide", follow_redirects=False).headers["location"] == "/guide/"


def test_template_and_the_instance_back_as_a_workbook(server, tiny):
    browser, _csrf = _signed_in(server, "vi")  # reading: a viewer may download both
    try:
        empty = browser.get("/template.xlsx")
        assert empty.status_code == 200 and empty.headers["content-type"] == XLSX
        sheets = openpyxl.load_workbook(io.BytesIO(empty.content)).sheetnames
        assert {"schools", "consultants", "topics", "municipalities", "instance"} <= set(sheets)
        with client(server) as c:
            created = upload(c, "tiny.zip", zip_folder(tiny, "tiny-region")).json()
        back = browser.get(f"/instances/{created['id']}/workbook.xlsx")
        assert back.status_code == 200
        assert 'filename="tiny-region.xlsx"' in back.headers["content-disposition"]
    finally:
        browser.close()
    with client(server) as c:  # the workbook is the same instance: upload it, same summary
        again = upload(c, "tiny-region.xlsx", back.content, XLSX)
    assert again.status_code == 201
    assert again.json()["summary"] == created["summary"]


def test_a_page_upload_over_the_limit_is_413_in_russian(server):
    browser, csrf = _signed_in(server, "ed")
    try:
        r = browser.post("/instances", data={"csrf": csrf},
                         files={"file": ("big.xlsx", b"PK\x03\x04" + b"\0" * (20 * MB), XLSX)})
    finally:
        browser.close()
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "Файл слишком большой: можно загрузить не больше 20 МБ." in r.text


def test_serve_refuses_a_port_in_use_in_russian(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli("serve", "--port", str(port), "--data", str(tmp_path / "d"))
    assert r.returncode == 2
    assert f"порт уже занят другой программой; укажите другой: --port (значение «127.0.0.1:{port}»)" in r.stderr
