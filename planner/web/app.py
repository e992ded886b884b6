"""The web application: Russian pages for the working group and the JSON API of
shared/formats.md («Web application»), one FastAPI app.

Pages sign in with a session cookie and carry a CSRF token in every form (and in HTMX's
requests); the API uses HTTP Basic. A `viewer` reads; an `editor` also uploads and solves
(403 otherwise). Solves run in worker processes (`jobs.Dispatcher`); the job page follows
one over Server-Sent Events. Everything is kept in the data folder (SQLite + files).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.words import plural
from planner.web import app_services as svc
from planner.web import auth, guide_page, store, views
from planner.web.db import ID_RE, connect
from planner.web.jobs import Dispatcher
from planner.web.uploads import Rejected, instance_source, store_upload

MB = 1024 * 1024
DEFAULT_MAX_UPLOAD = 20 * MB
DEFAULT_TIME_LIMIT = 20.0
MIN_TIME_LIMIT, MAX_TIME_LIMIT = 1.0, 3600.0
PLAN_FILES = ("appendix.docx", "plan.xlsx", "plan.csv", "report.html", "calendars.zip")
MEDIA = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".zip": "application/zip",
    ".ics": "text/calendar; charset=utf-8",
    ".json": "application/json",
}
SESSION_COOKIE = "planner_session"
LOGIN_COOKIE = "planner_login"
VIEWS = {
    "graph": "График по месяцам",
    "consultants": "Консультанты",
    "schools": "Школы по месяцам",
    "coverage": "Покрытие и причины",
    "measures": "Программа и показатели",
}
JOB_TITLES = {"solve": "Расчёт плана", "replan": "Перепланирование", "publish": "Доставка публикации"}
STATUS_WORDS = {"queued": "в очереди", "running": "идёт расчёт", "done": "готово", "failed": "ошибка",
                "cancelled": "отменено"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
       " frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@dataclass
class ServerConfig:
    data: Path
    max_upload: int = DEFAULT_MAX_UPLOAD
    max_jobs: int = 1
    solver_workers: int = 2
    default_time_limit: float = DEFAULT_TIME_LIMIT
    basic_cache: auth.BasicCache = field(default_factory=auth.BasicCache)


class WebError(Exception):
    """An answer other than success: a status and a Russian message (JSON for the API, a
    page for people)."""

    def __init__(self, status: int, message: str, extra: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.extra, self.headers = status, message, extra or {}, headers or {}


class LoginRequired(Exception):
    pass


async def json_options(request: Request, expected: str) -> dict[str, Any]:
    """An API call's optional JSON body: {} when empty, else a JSON object; anything else is
    a 422 that says what was `expected` (Russian, e.g. «{"time_limit": секунды}»)."""
    body = await request.body()
    if not body.strip():
        return {}
    try:
        options = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WebError(422, f"Тело запроса не читается как JSON (ожидается {expected}).") from None
    if not isinstance(options, dict):
        raise WebError(422, f"Тело запроса должно быть объектом JSON: {expected}.")
    return options


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


# --- templates -----------------------------------------------------------------------------

env = Environment(loader=PackageLoader("planner.web", "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)


def _local_time(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone().strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return value


def _thousands(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.0f}".replace(",", "\u00a0")


env.filters["when"] = _local_time
env.filters["plural"] = plural
env.filters["thousands"] = _thousands
env.filters["fromjson"] = json.loads
env.globals["STATUS_WORDS"] = STATUS_WORDS
env.globals["VIEWS"] = VIEWS
env.globals["JOB_TITLES"] = JOB_TITLES
env.globals["KIND_WORDS"] = {"solve": "составлен решателем", "replan": "перепланирован", "edit": "правка вручную"}
env.globals["VARIANT_WORDS"] = {"coverage": "вариант «покрытие»", "stability": "вариант «стабильность»"}
# The guide's sections the pages link to outside the problem tables.
env.globals["GUIDE"] = {key: guide_page.link(section) for key, section in (
    ("trouble", svc.guide.TROUBLE), ("scenario", svc.guide.SCENARIO), ("edits", svc.guide.EDITS))}


def render(name: str, code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(**context), status_code=code)


# --- the application -----------------------------------------------------------------------


def create_app(config: ServerConfig) -> FastAPI:
    config.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    connect(config.data).close()  # migrate before anything else runs
    dispatcher = Dispatcher(config.data, config.max_jobs)
    cache = _Cache()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        dispatcher.start()
        try:
            yield
        finally:
            await run_in_threadpool(dispatcher.stop)

    app = FastAPI(title="Планировщик консультаций ШНОР", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.config = config
    app.state.dispatcher = dispatcher
    app.add_middleware(_BodyLimit, limit=config.max_upload)
    app.add_middleware(_SecurityHeaders)
    app.mount("/static", StaticFiles(packages=[("planner.web", "static")]), name="static")

    def db() -> Iterator[sqlite3.Connection]:
        conn = connect(config.data)
        try:
            yield conn
        finally:
            conn.close()

    # --- errors ------------------------------------------------------------------------

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError):
        if is_api(request):
            return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status, headers=exc.headers)
        return render("error.html", exc.status, message=exc.message, status=exc.status,
                      user=getattr(request.state, "user", None), csrf=getattr(request.state, "csrf", ""))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        target = "/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        messages = {404: "Такой страницы нет.", 405: "Этот метод здесь не поддерживается."}
        message = messages.get(exc.status_code, str(exc.detail))
        return await web_error(request, WebError(exc.status_code, message, headers=dict(exc.headers or {})))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
            parts.append(f"{where or 'запрос'}: неверное значение")
        return await web_error(request, WebError(422, "Неверный запрос: " + "; ".join(parts)))

    # --- who is asking -----------------------------------------------------------------

    def api_user(request: Request, conn: sqlite3.Connection = Depends(db)) -> auth.User:
        header = request.headers.get("Authorization", "")
        challenge = {"WWW-Authenticate": 'Basic realm="planner", charset="UTF-8"'}
        if not header.lower().startswith("basic "):
            raise WebError(401, "Нужен вход: имя пользователя и пароль (HTTP Basic).", headers=challenge)
        try:
            name, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise WebError(401, "Заголовок Authorization не читается.", headers=challenge) from None
        user = config.basic_cache.check(conn, name, password)
        if user is None:
            raise WebError(401, "Неверное имя пользователя или пароль.", headers=challenge)
        if request.method not in ("GET", "HEAD") and _cross_site(request):
            raise WebError(403, "Запрос с другого сайта отклонён.")
        return user

    def api_editor(user: auth.User = Depends(api_user)) -> auth.User:
        if not user.can_edit:
            raise WebError(403, f"У пользователя «{user.name}» роль «наблюдатель»: изменять ничего нельзя.")
        return user

    def page_user(request: Request, conn: sqlite3.Connection = Depends(db)) -> auth.User:
        found = auth.session_user(conn, request.cookies.get(SESSION_COOKIE))
        if found is None:
            raise LoginRequired()
        request.state.user, request.state.csrf = found
        return found[0]

    async def page_editor(request: Request, user: auth.User = Depends(page_user)) -> auth.User:
        """An editor posting a form of this session (CSRF token checked)."""
        form = await request.form()
        token = form.get("csrf") or request.headers.get("X-CSRF-Token")
        if not auth.same_token(token if isinstance(token, str) else None, request.state.csrf):
            raise WebError(403, "Форма устарела или пришла не с этой страницы. Обновите страницу и повторите.")
        if not user.can_edit:
            raise WebError(403, f"У пользователя «{user.name}» роль «наблюдатель»: изменять ничего нельзя.")
        return user

    def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        return render(name, code, request=request, user=getattr(request.state, "user", None),
                      csrf=getattr(request.state, "csrf", ""), **context)

    # --- lookups -----------------------------------------------------------------------

    def find_instance(conn: sqlite3.Connection, instance_id: str) -> sqlite3.Row:
        row = store.get_instance(conn, instance_id) if ID_RE.match(instance_id) else None
        if row is None:
            raise WebError(404, f"Экземпляр «{instance_id}» не найден.")
        return row

    def find_job(conn: sqlite3.Connection, job_id: str) -> sqlite3.Row:
        row = store.get_job(conn, job_id) if ID_RE.match(job_id) else None
        if row is None:
            raise WebError(404, f"Задание «{job_id}» не найдено.")
        return row

    def find_plan(conn: sqlite3.Connection, plan_id: str) -> sqlite3.Row:
        row = store.get_plan(conn, plan_id) if ID_RE.match(plan_id) else None
        if row is None:
            raise WebError(404, f"План «{plan_id}» не найден.")
        return row

    def loaded_instance(row: sqlite3.Row) -> svc.Instance:
        return cache.instance(row["id"], lambda: svc.load_instance_as(
            instance_source(config.data, row["id"], row["source_kind"]), row["name"], row["original_name"])[0])

    def loaded_plan(row: sqlite3.Row) -> svc.Plan:
        return cache.plan(row["id"], lambda: svc.plan_from_json(config.data / "plans" / row["id"] / "plan.json"))

    def plan_file(plan_row: sqlite3.Row, name: str, *, attachment: bool = True) -> FileResponse:
        if name not in PLAN_FILES:
            raise WebError(404, f"Файла «{name}» у плана нет; есть: {', '.join(PLAN_FILES)}.")
        path = config.data / "plans" / plan_row["id"] / name
        if not path.is_file():
            raise WebError(404, f"Файла «{name}» у плана нет.")
        return _file(path, name, attachment=attachment)

    # --- shared actions ----------------------------------------------------------------

    async def read_upload(request: Request) -> tuple[bytes, str]:
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise WebError(422, "Не выбран файл: нужна книга .xlsx или архив .zip (поле «file»).")
        content = await upload.read()
        return content, upload.filename

    def accept_upload(conn: sqlite3.Connection, content: bytes, filename: str, user: auth.User):
        stored = store_upload(config.data, content, filename)
        summary = views.instance_summary(stored.instance)
        store.insert_instance(conn, stored.id, name=stored.name, region=stored.instance.settings.region.name,
                              source_kind=stored.kind, original_name=_shown_name(filename), summary=summary,
                              warnings=views.problem_rows(stored.warnings), user_id=user.id)
        cache.put_instance(stored.id, stored.instance)
        return stored, summary

    def start_solve(conn: sqlite3.Connection, instance_row: sqlite3.Row, user: auth.User, time_limit: Any) -> str:
        try:
            limit = float(time_limit) if time_limit not in (None, "") else config.default_time_limit
        except (TypeError, ValueError):
            limit = math.nan
        if not (MIN_TIME_LIMIT <= limit <= MAX_TIME_LIMIT):  # NaN fails too
            raise WebError(422, f"Время расчёта «{time_limit}»: нужно число секунд от {MIN_TIME_LIMIT:g}"
                                f" до {MAX_TIME_LIMIT:g}.")
        job_id = store.create_job(conn, instance_row["id"], user.id,
                                  {"time_limit": limit, "workers": config.solver_workers})
        dispatcher.notify()
        return job_id

    def cancel(conn: sqlite3.Connection, job_row: sqlite3.Row, user: auth.User) -> None:
        if job_row["status"] in ("done", "failed"):
            raise WebError(409, f"Задание уже завершено ({STATUS_WORDS[job_row['status']]}): отменять нечего.")
        store.cancel_job(conn, job_row["id"], user.name)
        dispatcher.cancel(job_row["id"])

    # --- the JSON API --------------------------------------------------------------------

    @app.post("/api/v1/instances", status_code=201)
    async def api_upload(request: Request, user: auth.User = Depends(api_editor)):
        content, filename = await read_upload(request)
        conn = connect(config.data)
        try:
            stored, summary = await run_in_threadpool(accept_upload, conn, content, filename, user)
        except Rejected as exc:
            n = len(exc.errors)
            return JSONResponse({"error": f"В файле найдено ошибок: {n}. Исправьте их и загрузите файл снова.",
                                 "errors": views.problem_rows(exc.errors),
                                 "warnings": views.problem_rows(exc.warnings)}, status_code=422)
        finally:
            conn.close()
        return JSONResponse({"id": stored.id, "summary": summary,
                             "warnings": views.problem_rows(stored.warnings)}, status_code=201)

    @app.get("/api/v1/instances")
    def api_instances(user: auth.User = Depends(api_user), conn: sqlite3.Connection = Depends(db)):
        return [{"id": r["id"], "name": r["name"], "region": r["region"], "uploaded_at": r["uploaded_at"],
                 "plans": r["plan_count"]} for r in store.list_instances(conn)]

    @app.get("/api/v1/instances/{instance_id}")
    def api_instance(instance_id: str, user: auth.User = Depends(api_user), conn: sqlite3.Connection = Depends(db)):
        row = find_instance(conn, instance_id)
        return {"id": row["id"], "name": row["name"], "summary": json.loads(row["summary"]),
                "warnings": json.loads(row["warnings"]),
                "plans": [{"id": p["id"], "version": p["version"], "status": p["status"],
                           "created_at": p["created_at"], "created_by": p["created_by_name"],
                           "sessions": p["sessions"], "unmet": p["unmet"]} for p in store.list_plans(conn, row["id"])]}

    @app.post("/api/v1/instances/{instance_id}/plans", status_code=202)
    async def api_solve(instance_id: str, request: Request, user: auth.User = Depends(api_editor)):
        options = await json_options(request, '{"time_limit": секунды}')
        conn = connect(config.data)
        try:
            row = find_instance(conn, instance_id)
            job_id = start_solve(conn, row, user, options.get("time_limit"))
        finally:
            conn.close()
        return JSONResponse({"job": job_id}, status_code=202)

    @app.get("/api/v1/jobs/{job_id}")
    def api_job(job_id: str, user: auth.User = Depends(api_user), conn: sqlite3.Connection = Depends(db)):
        return store.job_json(find_job(conn, job_id))

    @app.delete("/api/v1/jobs/{job_id}")
    def api_cancel(job_id: str, user: auth.User = Depends(api_editor), conn: sqlite3.Connection = Depends(db)):
        row = find_job(conn, job_id)
        cancel(conn, row, user)
        return store.job_json(find_job(conn, job_id))

    @app.get("/api/v1/plans/{plan_id}")
    def api_plan(plan_id: str, user: auth.User = Depends(api_user), conn: sqlite3.Connection = Depends(db)):
        row = find_plan(conn, plan_id)
        return _file(config.data / "plans" / row["id"] / "plan.json", "plan.json", attachment=False)

    @app.get("/api/v1/plans/{plan_id}/files/{name}")
    def api_plan_file(plan_id: str, name: str, user: auth.User = Depends(api_user),
                      conn: sqlite3.Connection = Depends(db)):
        return plan_file(find_plan(conn, plan_id), name)

    # What-if, versions, publishing and feeds (before the API's catch-all below).
    from types import SimpleNamespace

    from planner.web import versions as version_routes

    helpers = SimpleNamespace(config=config, WebError=WebError, loaded_instance=loaded_instance,
                              loaded_plan=loaded_plan, find_instance=find_instance, find_plan=find_plan, cache=cache,
                              page=page, page_user=page_user, page_editor=page_editor, api_user=api_user,
                              api_editor=api_editor, dispatcher=dispatcher, file=_file, json_options=json_options)
    version_routes.add_routes(app, helpers)

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api_unknown(rest: str, user: auth.User = Depends(api_user)):
        raise WebError(404, f"Нет такого вызова API: /api/{rest}.")

    # --- pages: sign-in ------------------------------------------------------------------

    # --- the working group's guide (no login: it holds no data) -------------------------

    @app.get("/guide")
    def guide_redirect():
        return RedirectResponse(guide_page.BASE, status_code=308)

    @app.get("/guide/")
    def guide(request: Request, conn: sqlite3.Connection = Depends(db)):
        found = auth.session_user(conn, request.cookies.get(SESSION_COOKIE))
        if found is not None:
            request.state.user, request.state.csrf = found
        rendered = guide_page.render_guide()
        if rendered is None:
            raise WebError(404, "Руководства нет рядом с программой: оно лежит в папке docs"
                                " (руководство.md) той копии программы, с которой запущен сервер.")
        return page(request, "guide.html", guide=rendered)

    @app.get("/guide/img/{name}")
    def guide_image(name: str):
        path = guide_page.image_path(name)
        if path is None:
            raise WebError(404, "Такой картинки в руководстве нет.")
        return FileResponse(path, media_type="image/png")

    @app.get("/login")
    def login_page(request: Request, next: str = "/"):
        token = secrets.token_urlsafe(24)
        response = page(request, "login.html", login_csrf=token, next=_local_path(next), error=None)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/login")
        return response

    @app.post("/login")
    async def login(request: Request, conn: sqlite3.Connection = Depends(db)):
        form = await request.form()
        if not auth.same_token(_text(form.get("csrf")), request.cookies.get(LOGIN_COOKIE)):
            raise WebError(403, "Форма входа устарела. Откройте страницу входа снова.")
        name, password = _text(form.get("name")).strip(), _text(form.get("password"))
        user = await run_in_threadpool(auth.check_password, conn, name, password)
        target = _local_path(_text(form.get("next")) or "/")
        if user is None:
            token = request.cookies.get(LOGIN_COOKIE) or ""
            return page(request, "login.html", 401, login_csrf=token, next=target, name=name,
                        error="Неверное имя пользователя или пароль.")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, auth.start_session(conn, user), httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", max_age=auth.SESSION_DAYS * 86400)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout")
    async def logout(request: Request, user: auth.User = Depends(page_user), conn: sqlite3.Connection = Depends(db)):
        form = await request.form()
        if not auth.same_token(_text(form.get("csrf")), request.state.csrf):
            raise WebError(403, "Форма устарела. Обновите страницу и повторите.")
        auth.end_session(conn, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # --- pages: instances ----------------------------------------------------------------

    @app.get("/")
    def home(request: Request, user: auth.User = Depends(page_user), conn: sqlite3.Connection = Depends(db)):
        return page(request, "instances.html", instances=store.list_instances(conn),
                    max_upload_mb=config.max_upload // MB)

    @app.post("/instances")
    async def upload_page(request: Request, user: auth.User = Depends(page_editor)):
        content, filename = await read_upload(request)
        conn = connect(config.data)
        try:
            stored, _summary = await run_in_threadpool(accept_upload, conn, content, filename, user)
        except Rejected as exc:
            errors, warnings = views.problem_rows(exc.errors), views.problem_rows(exc.warnings)
            return page(request, "upload_problems.html", 422, filename=_shown_name(filename),
                        errors=errors, warnings=warnings, guide_links=guide_page.links(errors + warnings),
                        max_upload_mb=config.max_upload // MB)
        finally:
            conn.close()
        return RedirectResponse(f"/instances/{stored.id}", status_code=303)

    @app.get("/template.xlsx")
    def empty_template(user: auth.User = Depends(page_user)):
        content = svc.template_workbook(None, config.data / "tmp")
        return Response(content, media_type=MEDIA[".xlsx"],
                        headers={"Content-Disposition": 'attachment; filename="shablon-ekzemplyara.xlsx"'})

    @app.get("/instances/{instance_id}")
    def instance_page(instance_id: str, request: Request, user: auth.User = Depends(page_user),
                      conn: sqlite3.Connection = Depends(db)):
        row = find_instance(conn, instance_id)
        plans = store.list_plans(conn, row["id"])
        warnings = json.loads(row["warnings"])
        return page(request, "instance.html", instance=row, summary=json.loads(row["summary"]),
                    warnings=warnings, guide_links=guide_page.links(warnings), plans=plans,
                    versions_by_id={p["id"]: p["version"] for p in plans},
                    published=store.published(conn, row["id"]),
                    publications=store.list_publications(conn, row["id"])[:10],
                    jobs=store.list_jobs(conn, row["id"]), default_time_limit=config.default_time_limit,
                    min_limit=MIN_TIME_LIMIT, max_limit=MAX_TIME_LIMIT)

    @app.get("/instances/{instance_id}/workbook.xlsx")
    def instance_workbook(instance_id: str, user: auth.User = Depends(page_user),
                          conn: sqlite3.Connection = Depends(db)):
        row = find_instance(conn, instance_id)
        content = svc.template_workbook(instance_source(config.data, row["id"], row["source_kind"]),
                                        config.data / "tmp")
        return Response(content, media_type=MEDIA[".xlsx"], headers=_disposition(f"{row['name']}.xlsx"))

    @app.post("/instances/{instance_id}/plans")
    async def solve_page(instance_id: str, request: Request, user: auth.User = Depends(page_editor)):
        form = await request.form()
        conn = connect(config.data)
        try:
            row = find_instance(conn, instance_id)
            job_id = start_solve(conn, row, user, _text(form.get("time_limit")))
        finally:
            conn.close()
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    # --- pages: jobs ---------------------------------------------------------------------

    def job_context(conn: sqlite3.Connection, job: sqlite3.Row) -> dict[str, Any]:
        plan = store.get_plan(conn, job["plan_id"]) if job["plan_id"] else None
        publication = None
        if job["kind"] == "publish":
            publication = json.loads(job["params"]).get("publication")
        return {"job": job, "progress": json.loads(job["progress"] or "{}"), "plan": plan,
                "publication": publication, "JOB_TITLES": JOB_TITLES,
                "params": json.loads(job["params"]), "ahead": store.queue_position(conn, job)
                if job["status"] == "queued" else 0}

    @app.get("/jobs/{job_id}")
    def job_page(job_id: str, request: Request, user: auth.User = Depends(page_user),
                 conn: sqlite3.Connection = Depends(db)):
        job = find_job(conn, job_id)
        return page(request, "job.html", **job_context(conn, job))

    @app.get("/jobs/{job_id}/events")
    async def job_events(job_id: str, request: Request, user: auth.User = Depends(page_user)):
        def snapshot() -> tuple[str, str]:
            conn = connect(config.data)
            try:
                job = find_job(conn, job_id)
                html = env.get_template("_job_panel.html").render(user=user, csrf=request.state.csrf,
                                                                  **job_context(conn, job))
                return job["status"], html
            finally:
                conn.close()

        async def stream():
            last = None
            while True:
                status, html = await run_in_threadpool(snapshot)
                if html != last:
                    yield {"event": "progress", "data": html}
                    last = html
                if status in store.FINISHED:
                    yield {"event": "end", "data": status}
                    return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0.5)

        return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store",
                                                               "X-Accel-Buffering": "no"})

    @app.post("/jobs/{job_id}/cancel")
    async def cancel_page(job_id: str, request: Request, user: auth.User = Depends(page_editor)):
        conn = connect(config.data)
        try:
            await run_in_threadpool(cancel, conn, find_job(conn, job_id), user)
        finally:
            conn.close()
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    # --- pages: plans --------------------------------------------------------------------

    @app.get("/plans/{plan_id}")
    def plan_page(plan_id: str, request: Request, view: str = "graph", municipality: str = "",
                  consultant: str = "", school: str = "", user: auth.User = Depends(page_user),
                  conn: sqlite3.Connection = Depends(db)):
        row = find_plan(conn, plan_id)
        inst_row = find_instance(conn, row["instance_id"])
        instance, plan = helpers.plan_instance(conn, row), loaded_plan(row)
        f = views.Filters.parse(instance, municipality, consultant, school)
        view = view if view in VIEWS else "graph"
        context: dict[str, Any] = {
            "plan_row": row, "instance_row": inst_row, "plan": plan, "view": view, "filters": f,
            "options": views.filter_options(instance), "status": views.status_words(plan),
            "figures": views.key_figures(instance, plan), "files": PLAN_FILES,
            "versions": store.list_plans(conn, inst_row["id"]),
            "published": store.published(conn, inst_row["id"]),
            "baseline_row": store.get_plan(conn, row["baseline_id"]) if row["baseline_id"] else None,
            "sibling_row": store.get_plan(conn, row["sibling_id"]) if row["sibling_id"] else None,
            "scenario_name": _scenario_name(row["scenario"]),
        }
        if view == "graph":
            context["graph"] = views.month_graph(instance, plan, f)
        elif view == "consultants":
            context["months"], context["timeline"] = views.consultant_timeline(instance, plan, f)
        elif view == "schools":
            context["months"], context["school_rows"] = views.school_months(instance, plan, f)
        elif view == "coverage":
            context["coverage"] = views.coverage(instance, plan, f)
            context["unmet_rows"], context["reasons"] = views.unmet(instance, plan, f)
        else:
            context["programme"] = views.programme(instance, plan)
            context["score"] = views.score_rows(instance, plan)
        cal_dir = config.data / "plans" / row["id"] / "calendars"
        files = {p.name for p in cal_dir.glob("*.ics")} if cal_dir.is_dir() else set()
        context["calendars"] = views.calendar_parties(instance, files)
        return page(request, "plan.html", **context)

    @app.get("/plans/{plan_id}/files/{name}")
    def plan_file_page(plan_id: str, name: str, user: auth.User = Depends(page_user),
                       conn: sqlite3.Connection = Depends(db)):
        return plan_file(find_plan(conn, plan_id), name)

    @app.get("/plans/{plan_id}/report")
    def plan_report(plan_id: str, user: auth.User = Depends(page_user), conn: sqlite3.Connection = Depends(db)):
        response = plan_file(find_plan(conn, plan_id), "report.html", attachment=False)
        # The report is the planner's own self-contained page with inline scripts; it opens in a
        # sandbox (no access to this site's cookies or pages).
        response.headers["Content-Security-Policy"] = "sandbox allow-scripts allow-popups"
        return response

    @app.get("/plans/{plan_id}/calendars/{name}")
    def plan_calendar(plan_id: str, name: str, user: auth.User = Depends(page_user),
                      conn: sqlite3.Connection = Depends(db)):
        row = find_plan(conn, plan_id)
        folder = config.data / "plans" / row["id"] / "calendars"
        known = {p.name: p for p in folder.glob("*.ics")} if folder.is_dir() else {}
        if name not in known:  # only a file the plan has, found by listing: never a path built from the URL
            raise WebError(404, f"Календаря «{name}» у плана нет.")
        return _file(known[name], name)

    return app


# --- helpers -------------------------------------------------------------------------------


class _Cache:
    """Loaded instances and plans (both never change once stored), a few of each."""

    SIZE = 8

    def __init__(self):
        self.lock = threading.Lock()
        self.instances: dict[str, svc.Instance] = {}
        self.plans: dict[str, svc.Plan] = {}
        self.plan_instances: dict[str, svc.Instance] = {}

    def _get(self, table: dict, key: str, load):
        with self.lock:
            if key in table:
                return table[key]
        value = load()
        with self.lock:
            table[key] = value
            while len(table) > self.SIZE:
                table.pop(next(iter(table)))
        return value

    def instance(self, key: str, load) -> svc.Instance:
        return self._get(self.instances, key, load)

    def plan(self, key: str, load) -> svc.Plan:
        return self._get(self.plans, key, load)

    def put_instance(self, key: str, value: svc.Instance) -> None:
        self._get(self.instances, key, lambda: value)

    def plan_instance(self, key: str, load) -> svc.Instance:
        """The instance as a plan's history of scenarios changed it (keyed by the plan)."""
        return self._get(self.plan_instances, key, load)


def _file(path: Path, name: str, *, attachment: bool = True) -> FileResponse:
    media = MEDIA.get(Path(name).suffix, "application/octet-stream")
    return FileResponse(path, media_type=media, headers=_disposition(name, attachment))


def _disposition(name: str, attachment: bool = True) -> dict[str, str]:
    kind = "attachment" if attachment else "inline"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return {"Content-Disposition": f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"}


def _scenario_name(text: str | None) -> str:
    if not text:
        return ""
    try:
        return svc.parse_scenario_text(text, "сценарий").name
    except svc.InputError:
        return ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _shown_name(filename: str) -> str:
    from planner.web.uploads import display_name

    return display_name(filename)


def _local_path(target: str) -> str:
    """A redirect target on this site only (no «//host», no scheme)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or ":" in target.split("?")[0]:
        return "/"
    return target


def _cross_site(request: Request) -> bool:
    """A state-changing API call a browser sent from another site (Basic credentials a browser
    remembered must not let another page upload or cancel)."""
    if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        host = request.headers.get("Host", "")
        return origin.split("://", 1)[-1] != host
    return False


class _SecurityHeaders:
    """Headers on every answer: no framing, no sniffing, scripts only from this site."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {b"x-content-type-options": b"nosniff", b"x-frame-options": b"DENY",
                         b"referrer-policy": b"same-origin", b"content-security-policy": CSP.encode()}
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class _BodyLimit:
    """413 for a request body over the limit, whether it says its length or not; the body is
    read (and dropped) up to a margin past the limit first, so that the client reads the answer."""

    DRAIN = 64 * MB

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        messages, size, more = [], 0, True
        too_large = declared is not None and declared.isdigit() and int(declared) > self.limit
        while more:
            message = await receive()
            if message["type"] != "http.request":
                messages.append(message)
                break
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
            if size > self.limit:
                too_large = True
            if too_large:
                if size > self.limit + self.DRAIN:
                    break
                continue
            messages.append(message)
        if too_large:
            return await self._refuse(scope, send)

        pending = list(messages)

        async def replay():
            if pending:
                return pending.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope, send):
        mb = self.limit / MB
        text = f"Файл слишком большой: можно загрузить не больше {mb:g} МБ."
        if scope["path"].startswith("/api/"):
            body, media = json.dumps({"error": text}, ensure_ascii=False).encode(), b"application/json"
        else:
            body = env.get_template("error.html").render(message=text, status=413, user=None, csrf="").encode()
            media = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
