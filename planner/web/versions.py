"""What-if, versions and publishing in the browser and the API (shared/formats.md, «Web
application»): the what-if form and `POST /api/v1/plans/{plan}/replans`; the comparison of any
two versions and the choice between a replan's options; publishing (`POST
/api/v1/plans/{plan}/publish`), the calendar feeds (`GET /feeds/{token}.ics`, `GET
/api/v1/instances/{id}/feeds`) and the «Календари» page; edits by hand and «Перепланировать
остальное»; the coordinator's digests, CalDAV and letters.

`add_routes(app, h)` is called by `app.create_app` with its helpers (`h`): the routes share its
sign-in, CSRF, lookups and caches.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from planner.web import app_services as svc
from planner.web import store, views
from planner.web.db import ID_RE, connect, new_id

DEFAULT_REPLAN_LIMIT = 15.0
"""Seconds of a replan started from the pages (the command line's 8 s is for an idle machine: a
server shares its cores with other jobs, and a replan that finds nothing in time is no answer)."""
FEED_MEDIA = "text/calendar; charset=utf-8"
KIND_TITLES = {
    "consultant_unavailable": "Консультант недоступен",
    "month_blocked": "Месяц закрыт",
    "school_risks": "Новый рисковый профиль школы",
    "school_added": "Новая школа",
    "school_removed": "Школа выбывает",
    "consultant_added": "Новый консультант",
    "topic_months": "Другие месяцы темы",
    "consultant_capacity": "Другая нагрузка консультанта",
    "topic_capacity": "Другая вместимость темы",
}
# (field, input type, label); a type ending in «?» is optional.
FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "consultant_unavailable": [("consultant", "consultant", "Консультант"), ("from", "date", "С"),
                               ("to", "date", "По (включительно)")],
    "month_blocked": [("month", "month", "Месяц")],
    "school_risks": [("school", "school", "Школа"), ("risks", "risks", "Риски после верификации")],
    "school_added": [("id", "text", "Код школы"), ("name", "text", "Название"),
                     ("municipality", "municipality", "Муниципалитет"), ("risks", "risks", "Риски"),
                     ("priority", "priority", "Приоритет"), ("verified_on", "date?", "Профиль верифицирован"),
                     ("curator", "consultant?", "Куратор")],
    "school_removed": [("school", "school", "Школа")],
    "consultant_added": [("id", "text", "Код"), ("name", "text", "Фамилия И. О."), ("position", "text?", "Должность"),
                         ("municipality", "municipality", "Муниципалитет (откуда выезды)"),
                         ("topics", "topics", "Темы"), ("max_per_month", "int", "Консультаций в месяц, не больше"),
                         ("max_total", "int?", "Всего за период, не больше")],
    "topic_months": [("topic", "topic", "Тема"), ("months", "months", "Месяцы, когда тема может проводиться")],
    "consultant_capacity": [("consultant", "consultant", "Консультант"),
                            ("max_per_month", "int?", "Консультаций в месяц, не больше"),
                            ("max_total", "int?", "Всего за период, не больше")],
    "topic_capacity": [("topic", "topic", "Тема"), ("capacity", "int", "Школ на одной консультации, не больше")],
}
LIST_TYPES = ("risks", "topics", "months")
PARTY_TITLES = {"all": "Весь план", "consultant": "Консультант", "school": "Школа", "municipality": "Муниципалитет"}
KIND_WORDS = {"solve": "составлен решателем", "replan": "перепланирован", "edit": "правка вручную"}
TERM_LABELS = {  # the programme's score keys the documents' labels do not name yet
    "topics_usable": "Тем, полезных школам", "topics_held": "Тем проводится",
    "programme_sessions": "Консультаций программы (без верификации)",
    "busiest_month_sessions": "Консультаций в самом загруженном месяце",
    "busiest_month_share": "Доля самого загруженного месяца", "open_months_without_sessions":
    "Открытых месяцев без консультаций", "longest_gap": "Самый долгий перерыв у школы, мес.",
    "schools_with_gaps": "Школ с перерывами", "gap_months": "Месяцев перерывов",
    "late_verifications": "Поздних верификаций", "late_verification_months": "Месяцев опоздания верификаций",
    "relevant_attendance": "Участий школ по их рискам", "relevant_per_school": "Консультаций по рискам на школу",
    "max_onsite_per_month": "Выездов одного консультанта в месяц, не больше", "onsite_visits": "Выездных консультаций",
    "online_sessions": "Онлайн-консультаций",
}
_PROBLEM_AT = re.compile(r"^\[\[(\w+)\]\] №(\d+), поле (\w+)$")
_publish_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def _instance_lock(instance_id: str) -> threading.Lock:
    with _locks_lock:
        return _publish_locks.setdefault(instance_id, threading.Lock())


# --- the what-if form ----------------------------------------------------------------------


@dataclass
class FormEntry:
    kind: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class WhatIf:
    """The what-if form's state: the scenario's name, the freeze date, the changes, errors."""

    name: str = ""
    freeze: str = ""
    time_limit: str = ""
    entries: list[FormEntry] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # name, freeze, time_limit, general
    general: list[str] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.general or any(e.errors for e in self.entries))


def read_form(form) -> WhatIf:
    """The form as posted (entries e<N>_kind, e<N>_<field>; lists as repeated fields)."""
    w = WhatIf(name=_s(form.get("name")).strip(), freeze=_s(form.get("freeze")).strip(),
               time_limit=_s(form.get("time_limit")).strip())
    indexes = sorted({int(m.group(1)) for k in form.keys() if (m := re.match(r"^e(\d+)_kind$", k))})
    for n in indexes:
        kind = _s(form.get(f"e{n}_kind"))
        if kind not in FIELDS:
            continue
        entry = FormEntry(kind)
        for name, typ, _label in FIELDS[kind]:
            key = f"e{n}_{name}"
            entry.values[name] = [_s(v) for v in form.getlist(key)] if typ in LIST_TYPES else _s(form.get(key)).strip()
        w.entries.append(entry)
    return w


def form_scenario(w: WhatIf) -> tuple[Any, list[int]]:
    """The form as a scenario (values typed; a value that does not read is an error next to its
    field) and, for each scenario entry in order of kind, the form entry it came from."""
    freeze = None
    if not w.freeze:
        w.errors["freeze"] = "укажите дату: консультации до неё — история, они не меняются"
    else:
        try:
            freeze = date.fromisoformat(w.freeze)
        except ValueError:
            w.errors["freeze"] = "нужна дата ГГГГ-ММ-ДД"
    entries: dict[str, list[dict]] = {}
    origin: dict[str, list[int]] = {}
    for n, e in enumerate(w.entries):
        out: dict[str, Any] = {}
        for name, typ, _label in FIELDS[e.kind]:
            value = e.values.get(name)
            base = typ.rstrip("?")
            if base in LIST_TYPES:
                out[name] = [v for v in value or [] if v]
                continue
            if not value:
                continue  # a missing required field is reported by the scenario's own check
            if base == "date":
                try:
                    out[name] = date.fromisoformat(value)
                except ValueError:
                    e.errors[name] = "нужна дата ГГГГ-ММ-ДД"
            elif base in ("int", "priority"):
                try:
                    out[name] = int(value)
                except ValueError:
                    e.errors[name] = "нужно целое число"
            else:
                out[name] = value
        entries.setdefault(e.kind, []).append(out)
        origin.setdefault(e.kind, []).append(n)
    order = [n for kind in svc.scenario_kinds() for n in origin.get(kind, [])]
    from planner.inputs.scenario import Scenario  # the type only: the form builds one

    return Scenario(w.name or "Что если", freeze, entries, "форма"), order


def place_problems(w: WhatIf, problems: list, order_by_kind: dict[tuple[str, int], int]) -> None:
    """The scenario check's problems next to their fields (entry and field named in them)."""
    for p in problems:
        m = _PROBLEM_AT.match(p.column or "")
        if m and (m.group(1), int(m.group(2))) in order_by_kind:
            n = order_by_kind[m.group(1), int(m.group(2))]
            w.entries[n].errors.setdefault(m.group(3), p.message + (f" («{p.value}»)" if p.value else ""))
        elif p.column == "freeze_before":
            w.errors["freeze"] = p.message
        else:
            w.general.append(p.message if not p.column else f"{p.column}: {p.message}")


def form_choices(instance: svc.Instance) -> dict[str, list[tuple[str, str]]]:
    """The drop-downs' items (id, shown text)."""
    opts = views.filter_options(instance)
    h = instance.settings.horizon
    months, m = [], date(h.start.year, h.start.month, 1)
    while m <= h.end:
        months.append((f"{m:%Y-%m}", svc.month_short(f"{m:%Y-%m}")))
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return {
        "consultant": opts["consultant"], "school": opts["school"], "municipality": opts["municipality"],
        "topic": [(t.id, f"{t.id} — {t.title}") for t in sorted(instance.topics.values(),
                                                                  key=lambda t: svc.natural_key(t.id))],
        "risks": [(r.id, f"{r.id} — {r.title}") for r in instance.risks.values()],
        "months": months, "month": months,
        "priority": [("1", "1 — высший"), ("2", "2"), ("3", "3")],
    }


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def default_freeze(instance: svc.Instance) -> str:
    """Today when it falls in the horizon, else the horizon's first day."""
    h = instance.settings.horizon
    today = date.today()
    return (today if h.start <= today <= h.end else h.start).isoformat()


def parse_limit(text: Any, default: float) -> float | None:
    try:
        limit = float(text) if text not in (None, "") else default
    except (TypeError, ValueError):
        return None
    return limit if 1.0 <= limit <= 3600.0 else None  # NaN fails too


# --- comparing versions --------------------------------------------------------------------


def compare_rows(columns: list[tuple[svc.Instance, svc.Plan]], first: svc.Plan) -> list[tuple[str, list[str]]]:
    """The figures of several plans side by side (the first column is the plan compared with)."""
    def fig(plan: svc.Plan, key: str, fmt=str) -> str:
        value = plan.score.get(key)
        return "—" if value is None else fmt(value)

    def share(v) -> str:
        return f"{100 * float(v):.1f} %"

    rows = [
        ("Консультаций", [str(len(p.sessions)) for _i, p in columns]),
        ("Потребности закрыты", [f"{fig(p, 'needs_covered')} из {fig(p, 'needs_total')}"
                                 f" ({fig(p, 'coverage_share', share)})" for _i, p in columns]),
        ("Непокрытых потребностей", [str(len(p.unmet)) for _i, p in columns]),
        ("Поездки, км", [fig(p, "travel_km", lambda v: f"{float(v):,.0f}".replace(",", "\u00a0"))
                         for _i, p in columns]),
        ("Наибольшая нагрузка консультанта", [fig(p, "max_load") for _i, p in columns]),
        ("Темы проводятся", [f"{fig(p, 'topics_held')} из {fig(p, 'topics_usable')}" for _i, p in columns]),
        ("Консультаций по рискам на школу", [fig(p, "relevant_per_school", lambda v: f"{float(v):.1f}")
                                             for _i, p in columns]),
        ("Самый долгий перерыв у школы, мес.", [fig(p, "longest_gap") for _i, p in columns]),
        ("Доля самого загруженного месяца", [fig(p, "busiest_month_share", share) for _i, p in columns]),
        ("Выездов одного консультанта в месяц, не больше", [fig(p, "max_onsite_per_month") for _i, p in columns]),
    ]
    changed = []
    for n, (_i, p) in enumerate(columns):
        if n == 0:
            changed.append("—")
            continue
        c = svc.change_counts(svc.plan_changes(first, p))
        changed.append(f"{sum(c.values())} (перенесено {c['moved']}, отменено {c['cancelled']},"
                       f" добавлено {c['added']})")
    rows.append(("Изменено консультаций", changed))
    return rows


def party_report(instance: svc.Instance, changes: list[dict]) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """The change report by consultant, school and municipality: [(heading, [(who, lines)])]."""
    by_c, by_s, by_m = svc.party_changes(instance, changes)
    def cname(c):
        return instance.consultants[c].name if c in instance.consultants else c

    def mname(m):
        return instance.municipalities[m].name if m in instance.municipalities else m

    out = []
    for heading, groups, name in (("По консультантам", by_c, cname), ("По школам", by_s, instance.school_label),
                                  ("По муниципалитетам", by_m, mname)):
        if groups:
            out.append((heading, sorted(((name(k), v) for k, v in groups.items()),
                                        key=lambda kv: svc.natural_key(kv[0]))))
    return out


# --- feeds ---------------------------------------------------------------------------------


def feed_key(party: str, party_id: str) -> str:
    return "all" if party == "all" else f"{party}-{svc.safe_file_part(party_id)}"


def parties_of(instance: svc.Instance) -> list[tuple[str, str, str]]:
    """(party, id, name) of every feed: the whole plan, then consultants, schools, municipalities."""
    out = [("all", "", "Все консультации")]
    out += [("consultant", c, n) for c, n in views.filter_options(instance)["consultant"]]
    out += [("school", s, n) for s, n in views.filter_options(instance)["school"]]
    out += [("municipality", m, n) for m, n in views.filter_options(instance)["municipality"]]
    return out


def http_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso).astimezone(UTC), usegmt=True)


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def webcal(url: str) -> str:
    parts = urlsplit(url)
    return "webcal://" + url[len(parts.scheme) + 3:]


# --- the routes ----------------------------------------------------------------------------


def add_routes(app, h) -> None:  # noqa: C901 (one place for the routes of this part, like app.py)
    config = h.config
    WebError = h.WebError

    def db():
        conn = connect(config.data)
        try:
            yield conn
        finally:
            conn.close()

    def history_texts(conn, plan_id: str) -> list[str]:
        return [r["scenario"] for r in store.history(conn, plan_id) if r["scenario"]]

    def plan_instance(conn, plan_row) -> svc.Instance:
        """The instance a plan belongs to: the upload as the scenarios of its history changed it."""
        base = h.loaded_instance(h.find_instance(conn, plan_row["instance_id"]))
        texts = history_texts(conn, plan_row["id"])
        if not texts:
            return base
        return h.cache.plan_instance(plan_row["id"], lambda: svc.changed_instance(base, texts))

    h.plan_instance = plan_instance

    def check_whatif(conn, plan_row, w: WhatIf) -> str | None:
        """Check the form's scenario against the plan's instance: its TOML text, or None with the
        errors placed in `w`."""
        scenario, order = form_scenario(w)
        by_kind: dict[tuple[str, int], int] = {}
        counters: dict[str, int] = {}
        for n in order:
            kind = w.entries[n].kind
            counters[kind] = counters.get(kind, 0) + 1
            by_kind[kind, counters[kind]] = n
        if w.has_errors:
            return None
        if not w.entries:
            w.general.append("добавьте хотя бы одно изменение")
            return None
        try:
            svc.apply_scenario(scenario, plan_instance(conn, plan_row))
        except svc.InputError as exc:
            place_problems(w, exc.problems, by_kind)
            return None
        return svc.scenario_text(scenario)

    def start_replan(conn, plan_row, user, scenario: str | None, freeze: str, limit: float,
                     extra: dict | None = None) -> str:
        job = store.create_replan_job(conn, plan_row["instance_id"], user.id, plan_row["id"], scenario,
                                      {"time_limit": limit, "workers": config.solver_workers, "freeze": freeze,
                                       **(extra or {})})
        h.dispatcher.notify()
        return job

    # --- API: a replan from TOML ------------------------------------------------------

    @app.post("/api/v1/plans/{plan_id}/replans", status_code=202)
    async def api_replan(plan_id: str, request: Request, user=Depends(h.api_editor)):
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebError(422, "Сценарий должен быть текстом TOML в UTF-8.") from None
        limit = parse_limit(request.query_params.get("time_limit"), DEFAULT_REPLAN_LIMIT)
        if limit is None:
            raise WebError(422, f"Время расчёта «{request.query_params.get('time_limit')}»: нужно число секунд"
                                " от 1 до 3600.")
        conn = connect(config.data)
        try:
            row = h.find_plan(conn, plan_id)

            def check():
                try:
                    scenario = svc.parse_scenario_text(text, "сценарий")
                    if scenario.freeze_before is None:
                        raise svc.InputError([svc.Problem("сценарий", "нужна дата заморозки: консультации до неё —"
                                                          " история", column="freeze_before")])
                    svc.apply_scenario(scenario, plan_instance(conn, row))
                except svc.InputError as exc:
                    return None, exc
                return scenario, None

            scenario, error = await run_in_threadpool(check)
            if error is not None:
                rows = views.problem_rows(error.problems)
                raise WebError(422, f"Сценарий не принят: ошибок {len(rows)}.", extra={"errors": rows})
            job = start_replan(conn, row, user, text, scenario.freeze_before.isoformat(), limit)
        finally:
            conn.close()
        return JSONResponse({"job": job}, status_code=202)

    # --- API: publishing and feeds ----------------------------------------------------

    def publish(conn, plan_row, user, caldav: bool | None, email: bool | None) -> dict:
        """Make the plan its instance's published version: the feeds follow it (written now),
        the digest is kept, and a delivery job pushes to CalDAV / sends letters when asked
        (by default: whatever is configured)."""
        instance_id = plan_row["instance_id"]
        with _instance_lock(instance_id):
            instance = plan_instance(conn, plan_row)
            plan = h.loaded_plan(plan_row)
            current = store.published(conn, instance_id)
            previous = h.loaded_plan(store.get_plan(conn, current["plan_id"])) if current else None
            folder = config.data / "feeds" / instance_id
            folder.mkdir(parents=True, exist_ok=True)
            before = {p.stem: p.read_bytes() for p in folder.glob("*.ics")}
            feeds = svc.feed_calendars(instance, plan, before)
            for key, data in feeds.items():
                if before.get(key) != data:
                    _write(folder / f"{key}.ics", data)
            digests = svc.party_digests(instance, previous, plan)
            digest = [{"kind": d.kind, "party": d.party, "name": d.name, "lines": d.lines, "sessions": d.sessions,
                       "key": d.key} for d in digests]
            pub_id = new_id()
            changed = store.insert_publication(conn, pub_id, instance_id, plan_row["id"],
                                               current["plan_id"] if current else None, user.id,
                                               {k: etag_of(v) for k, v in feeds.items()}, digest)
            version = plan_row["version"]
            title = f"Изменения графика консультаций: версия № {version}"
            subtitle = (f"Экземпляр «{h.find_instance(conn, instance_id)['name']}». "
                        + (f"Опубликована вместо версии № {current['version']}." if current else
                           "Первая публикация: всё в графике — новое."))
            pub_dir = config.data / "publications" / pub_id
            pub_dir.mkdir(parents=True, exist_ok=True)
            _write(pub_dir / "digest.docx", svc.digest_docx(title, subtitle, digests))
            target = store.caldav_target(conn, instance_id)
            smtp = smtp_ready(conn, instance_id)
            want_caldav = (target is not None) if caldav is None else (caldav and target is not None)
            want_email = smtp if email is None else (email and smtp)
            job = None
            if want_caldav or want_email:
                job = store.create_publish_job(conn, instance_id, user.id, {"publication": pub_id,
                                                                            "caldav": want_caldav,
                                                                            "email": want_email})
                store.set_publication_job(conn, pub_id, job)
                h.dispatcher.notify()
        return {"publication": pub_id, "published": plan_row["id"], "version": version,
                "feeds_changed": changed, "job": job}

    def smtp_ready(conn, instance_id: str) -> bool:
        try:
            settings = svc.smtp_settings(config.data / "smtp.toml")
        except svc.InputError:
            return False
        return settings is not None and bool(store.addresses(conn, instance_id))

    @app.post("/api/v1/plans/{plan_id}/publish")
    async def api_publish(plan_id: str, request: Request, user=Depends(h.api_editor)):
        options = await h.json_options(request, '{"caldav": true/false, "email": true/false} или пусто')
        conn = connect(config.data)
        try:
            row = h.find_plan(conn, plan_id)
            result = await run_in_threadpool(publish, conn, row, user, _flag(options.get("caldav")),
                                             _flag(options.get("email")))
        finally:
            conn.close()
        return JSONResponse(result, status_code=200)

    def feed_list(conn, request: Request, instance_row, user_id) -> list[dict]:
        current = store.published(conn, instance_row["id"])
        instance = (plan_instance(conn, store.get_plan(conn, current["plan_id"])) if current
                    else h.loaded_instance(instance_row))
        parties = parties_of(instance)
        tokens = store.feed_tokens(conn, instance_row["id"], [(p, i) for p, i, _n in parties], user_id)
        root = base_url(request)
        return [{"party": p, "id": i, "name": n, "url": f"{root}/feeds/{tokens[p, i]}.ics"} for p, i, n in parties]

    @app.get("/api/v1/instances/{instance_id}/feeds")
    def api_feeds(instance_id: str, request: Request, user=Depends(h.api_user), conn=Depends(db)):
        row = h.find_instance(conn, instance_id)
        return [f for f in feed_list(conn, request, row, user.id) if f["party"] != "all"]

    @app.api_route("/feeds/{name}", methods=["GET", "HEAD"])
    def feed(name: str, request: Request, conn=Depends(db)):
        token = name.removesuffix(".ics")
        row = store.token_row(conn, token) if name.endswith(".ics") and re.fullmatch(r"[\w-]{16,64}", token) else None
        if row is None:
            return _text(404, "Календарь не найден: ссылка неверна или отозвана.")
        key = feed_key(row["party"], row["party_id"])
        path = config.data / "feeds" / row["instance_id"] / f"{key}.ics"
        state = store.feed_state(conn, row["instance_id"], key)
        if state is None or not path.is_file():
            return _text(404, "Календарь ещё не опубликован: опубликуйте версию плана.")
        data = path.read_bytes()
        etag, modified = etag_of(data), http_date(state["last_modified"])
        headers = {"ETag": etag, "Last-Modified": modified, "Cache-Control": "no-cache",
                   "Content-Disposition": f'inline; filename="{key}.ics"'}
        inm = request.headers.get("if-none-match")
        if inm is not None:
            if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                return Response(status_code=304, headers=headers)
        elif (ims := request.headers.get("if-modified-since")) is not None:
            try:
                if parsedate_to_datetime(ims) >= datetime.fromisoformat(state["last_modified"]):
                    return Response(status_code=304, headers=headers)
            except (TypeError, ValueError):
                pass
        if request.method == "HEAD":
            return Response(status_code=200, media_type=FEED_MEDIA,
                            headers={**headers, "Content-Length": str(len(data))})
        return Response(data, media_type=FEED_MEDIA, headers=headers)

    @app.api_route("/feeds/{name}", methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    def feed_read_only(name: str):
        return _text(405, "Календарь только для чтения: поддерживаются GET и HEAD.", {"Allow": "GET, HEAD"})

    # --- pages: what-if --------------------------------------------------------------

    def whatif_page(request, conn, plan_row, w: WhatIf, code: int = 200):
        instance = plan_instance(conn, plan_row)
        return h.page(request, "whatif.html", code, plan_row=plan_row,
                      instance_row=h.find_instance(conn, plan_row["instance_id"]), w=w, fields=FIELDS,
                      kind_titles=KIND_TITLES, choices=form_choices(instance), list_types=LIST_TYPES)

    @app.get("/plans/{plan_id}/whatif")
    def whatif_get(plan_id: str, request: Request, user=Depends(h.page_user), conn=Depends(db)):
        row = h.find_plan(conn, plan_id)
        w = WhatIf(freeze=default_freeze(plan_instance(conn, row)), time_limit=f"{DEFAULT_REPLAN_LIMIT:g}")
        kind = request.query_params.get("add")
        w.entries.append(FormEntry(kind if kind in FIELDS else "consultant_unavailable"))
        return whatif_page(request, conn, row, w)

    @app.post("/plans/{plan_id}/whatif")
    async def whatif_post(plan_id: str, request: Request, user=Depends(h.page_editor)):
        form = await request.form()
        conn = connect(config.data)
        try:
            row = h.find_plan(conn, plan_id)
            w = read_form(form)
            action = _s(form.get("action"))
            if action.startswith("add:") and action[4:] in FIELDS:
                w.entries.append(FormEntry(action[4:]))
                return whatif_page(request, conn, row, w)
            if action.startswith("remove:") and action[7:].isdigit():
                n = int(action[7:])
                if 0 <= n < len(w.entries):
                    del w.entries[n]
                return whatif_page(request, conn, row, w)
            limit = parse_limit(w.time_limit, DEFAULT_REPLAN_LIMIT)
            if limit is None:
                w.errors["time_limit"] = "нужно число секунд от 1 до 3600"
            text = await run_in_threadpool(check_whatif, conn, row, w)
            if text is None or limit is None:
                return whatif_page(request, conn, row, w, 422)
            job = start_replan(conn, row, user, text, w.freeze, limit)
        finally:
            conn.close()
        return RedirectResponse(f"/jobs/{job}", status_code=303)

    # --- pages: compare and choose ---------------------------------------------------

    @app.get("/compare")
    def compare_page(request: Request, a: str = "", b: str = "", user=Depends(h.page_user), conn=Depends(db)):
        row_b = h.find_plan(conn, b)
        row_a = h.find_plan(conn, a or row_b["baseline_id"] or "")
        if row_a["instance_id"] != row_b["instance_id"]:
            raise WebError(422, "Сравнивать можно только версии одного экземпляра.")
        rows = [row_a, row_b]
        sibling = store.get_plan(conn, row_b["sibling_id"]) if row_b["sibling_id"] else None
        if sibling is not None and sibling["id"] != row_a["id"]:
            rows.append(sibling)
        cols = [(plan_instance(conn, r), h.loaded_plan(r)) for r in rows]
        inst_b = cols[1][0]
        base_plan = cols[0][1]
        reports = []
        for r, (inst, p) in zip(rows[1:], cols[1:]):
            changes = svc.plan_changes(base_plan, p)
            reports.append((r, svc.change_counts(changes), party_report(inst, changes)))
        options = (cols[1][1].meta.get("replan") or {}).get("options") if isinstance(cols[1][1].meta, dict) else None
        versions = store.list_plans(conn, row_b["instance_id"])
        return h.page(request, "compare.html", rows=rows, figures=compare_rows(cols, base_plan), reports=reports,
                      instance_row=h.find_instance(conn, row_b["instance_id"]), versions=versions,
                      price=(options or {}).get("price") if sibling is not None else None,
                      published=store.published(conn, row_b["instance_id"]), option_titles=svc.option_titles(),
                      unmet_new=_new_unmet(inst_b, base_plan, cols[1][1]))

    @app.post("/plans/{plan_id}/choose")
    async def choose(plan_id: str, request: Request, user=Depends(h.page_editor)):
        conn = connect(config.data)
        try:
            row = h.find_plan(conn, plan_id)
            if not row["variant"]:
                raise WebError(409, "У этой версии нет другого варианта: выбирать не из чего.")
            store.choose_variant(conn, plan_id)
        finally:
            conn.close()
        return RedirectResponse(f"/plans/{plan_id}", status_code=303)

    # --- pages: publishing -------------------------------------------------------------

    @app.get("/plans/{plan_id}/publish")
    def publish_confirm(plan_id: str, request: Request, user=Depends(h.page_user), conn=Depends(db)):
        row = h.find_plan(conn, plan_id)
        instance = plan_instance(conn, row)
        current = store.published(conn, row["instance_id"])
        previous = h.loaded_plan(store.get_plan(conn, current["plan_id"])) if current else None
        digests = svc.party_digests(instance, previous, h.loaded_plan(row))
        counts = svc.change_counts(svc.plan_changes(previous, h.loaded_plan(row)))
        return h.page(request, "publish.html", plan_row=row, instance_row=h.find_instance(conn, row["instance_id"]),
                      current=current, digests=digests, counts=counts, party_titles=PARTY_TITLES,
                      caldav=store.caldav_target(conn, row["instance_id"]),
                      smtp=smtp_ready(conn, row["instance_id"]))

    @app.post("/plans/{plan_id}/publish")
    async def publish_post(plan_id: str, request: Request, user=Depends(h.page_editor)):
        form = await request.form()
        conn = connect(config.data)
        try:
            row = h.find_plan(conn, plan_id)
            result = await run_in_threadpool(publish, conn, row, user, form.get("caldav") == "1",
                                             form.get("email") == "1")
        finally:
            conn.close()
        return RedirectResponse(f"/publications/{result['publication']}", status_code=303)

    @app.get("/publications/{pub_id}")
    def publication_page(pub_id: str, request: Request, user=Depends(h.page_user), conn=Depends(db)):
        pub = store.get_publication(conn, pub_id) if ID_RE.match(pub_id) else None
        if pub is None:
            raise WebError(404, f"Публикация «{pub_id}» не найдена.")
        job = store.get_job(conn, pub["job_id"]) if pub["job_id"] else None
        return h.page(request, "publication.html", pub=pub, digest=json.loads(pub["digest"]),
                      delivery=json.loads(pub["delivery"] or "{}"), job=job, letters=store.letters(conn, pub_id),
                      party_titles=PARTY_TITLES)

    @app.get("/publications/{pub_id}/digest.docx")
    def publication_digest(pub_id: str, user=Depends(h.page_user), conn=Depends(db)):
        pub = store.get_publication(conn, pub_id) if ID_RE.match(pub_id) else None
        path = config.data / "publications" / pub_id / "digest.docx"
        if pub is None or not path.is_file():
            raise WebError(404, f"Публикация «{pub_id}» не найдена.")
        return h.file(path, f"izmeneniya-versiya-{pub['version']}.docx")

    # --- pages: calendars and delivery ------------------------------------------------

    @app.get("/instances/{instance_id}/calendars")
    def calendars_page(instance_id: str, request: Request, user=Depends(h.page_user), conn=Depends(db)):
        row = h.find_instance(conn, instance_id)
        feeds = feed_list(conn, request, row, user.id)
        for f in feeds:
            f["webcal"] = webcal(f["url"])
        return h.page(request, "calendars.html", instance_row=row, feeds=feeds, party_titles=PARTY_TITLES,
                      current=store.published(conn, instance_id))

    @app.post("/instances/{instance_id}/calendars/reissue")
    async def reissue(instance_id: str, request: Request, user=Depends(h.page_editor)):
        form = await request.form()
        conn = connect(config.data)
        try:
            row = h.find_instance(conn, instance_id)
            party, party_id = _s(form.get("party")), _s(form.get("party_id"))
            known = {(p, i) for p, i, _n in parties_of(h.loaded_instance(row))}
            current = store.published(conn, instance_id)
            if current:
                known |= {(p, i) for p, i, _n in parties_of(plan_instance(conn, store.get_plan(conn,
                                                                                            current["plan_id"])))}
            if (party, party_id) not in known:
                raise WebError(404, "Такого участника в экземпляре нет.")
            store.reissue_token(conn, instance_id, party, party_id, user.id)
        finally:
            conn.close()
        return RedirectResponse(f"/instances/{instance_id}/calendars#feed-{party}-{party_id}", status_code=303)

    @app.get("/instances/{instance_id}/delivery")
    def delivery_page(instance_id: str, request: Request, user=Depends(h.page_user), conn=Depends(db)):
        row = h.find_instance(conn, instance_id)
        return delivery_render(request, conn, row, {}, None)

    def delivery_render(request, conn, row, errors: dict, saved: str | None, code: int = 200):
        try:
            smtp, smtp_error = svc.smtp_settings(config.data / "smtp.toml"), None
        except svc.InputError as exc:
            smtp, smtp_error = None, "; ".join(p.render() for p in exc.problems)
        parties = [p for p in parties_of(h.loaded_instance(row)) if p[0] != "all"]
        return h.page(request, "delivery.html", code, instance_row=row, caldav=store.caldav_target(conn, row["id"]),
                      emails=store.addresses(conn, row["id"]), parties=parties, party_titles=PARTY_TITLES,
                      smtp=smtp, smtp_error=smtp_error, errors=errors, saved=saved)

    @app.post("/instances/{instance_id}/delivery")
    async def delivery_post(instance_id: str, request: Request, user=Depends(h.page_editor)):
        form = await request.form()
        conn = connect(config.data)
        try:
            row = h.find_instance(conn, instance_id)
            errors: dict[str, str] = {}
            if form.get("what") == "caldav":
                url = _s(form.get("url")).strip()
                parts = urlsplit(url)
                if url and (parts.scheme not in ("http", "https") or not parts.netloc):
                    errors["url"] = "нужен полный адрес, начинающийся с http:// или https://"
                else:
                    password = _s(form.get("password"))
                    store.set_caldav_target(conn, instance_id, url, _s(form.get("username")).strip(),
                                            password if password else None, user.id)
            else:
                emails = {}
                for party, pid, _name in parties_of(h.loaded_instance(row)):
                    value = _s(form.get(f"email-{party}-{pid}")).strip()
                    if not value:
                        continue
                    if not re.fullmatch(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+", value):
                        errors[f"{party}-{pid}"] = "адрес не похож на электронную почту"
                    emails[party, pid] = value
                if not errors:
                    store.set_addresses(conn, instance_id, emails)
            if errors:
                return delivery_render(request, conn, row, errors, None, 422)
            return delivery_render(request, conn, row, {}, "Сохранено.")
        finally:
            conn.close()

    # --- pages: edits by hand ---------------------------------------------------------

    @app.get("/plans/{plan_id}/edit")
    def edit_page(plan_id: str, request: Request, session: str = "", user=Depends(h.page_user), conn=Depends(db)):
        row = h.find_plan(conn, plan_id)
        instance, base = plan_instance(conn, row), h.loaded_plan(row)
        ops = store.draft_ops(conn, plan_id, user.id)
        edited = svc.apply_edits(instance, base, ops)
        by_id = {s.id: s for s in edited.plan.sessions}
        chosen = by_id.get(session)
        before, after = svc.score(instance, base), edited.plan.score
        terms = [(k, TERM_LABELS.get(k, svc.score_label(k)), views.figure(k, before.get(k)),
                  views.figure(k, after.get(k)), before.get(k) != after.get(k)) for k in after if k in before]
        return h.page(request, "edit.html", plan_row=row, instance_row=h.find_instance(conn, row["instance_id"]),
                      ops=ops, op_texts=views.edit_texts(instance, base, ops), edited=edited,
                      graph=views.month_graph(instance, edited.plan, views.Filters()),
                      held=set(edited.held), chosen=chosen, terms=terms,
                      consultants=views.filter_options(instance)["consultant"],
                      school_names={s: svc.school_name(instance, s) for s in instance.schools},
                      freeze=row["freeze"] or default_freeze(instance),
                      chosen_title=(svc.topic_title(instance, chosen.topic) if chosen else ""),
                      chosen_when=(svc.session_when(instance, chosen) if chosen else ""),
                      default_limit=DEFAULT_REPLAN_LIMIT)

    @app.post("/plans/{plan_id}/edit")
    async def edit_post(plan_id: str, request: Request, user=Depends(h.page_editor)):
        form = await request.form()
        conn = connect(config.data)
        try:
            row = h.find_plan(conn, plan_id)
            ops = store.draft_ops(conn, plan_id, user.id)
            action, session = _s(form.get("action")), _s(form.get("session"))
            back = f"/plans/{plan_id}/edit" + (f"?session={session}" if session else "")
            if action == "pin":
                ops.append({"op": "pin", "session": session})
            elif action == "move":
                op = {"op": "move", "session": session}
                if _s(form.get("date")):
                    op["date"] = _s(form.get("date"))
                if _s(form.get("consultant")):
                    op["consultant"] = _s(form.get("consultant"))
                ops.append(op)
            elif action == "remove_school":
                ops.append({"op": "remove_school", "session": session, "school": _s(form.get("school"))})
            elif action == "undo":
                ops = ops[:-1]
            elif action == "clear":
                ops = []
            elif action in ("save", "replan"):
                if not ops:
                    raise WebError(409, "Правок нет: сохранять и перепланировать нечего.")
                instance = plan_instance(conn, row)
                edited = await run_in_threadpool(svc.apply_edits, instance, h.loaded_plan(row), ops)
                if edited.problems:
                    raise WebError(422, "Правки не применить: " + "; ".join(edited.problems))
                if action == "save":
                    if edited.violations:
                        raise WebError(409, "План с правками нарушает правила — сохранить его нельзя. Исправьте"
                                            " правки или выберите «Перепланировать остальное».")
                    job = start_replan(conn, row, user, None, row["freeze"] or default_freeze(instance),
                                       DEFAULT_REPLAN_LIMIT, {"edits": ops, "save_only": True})
                else:
                    freeze = _s(form.get("freeze")).strip()
                    try:
                        date.fromisoformat(freeze)
                    except ValueError:
                        raise WebError(422, f"Дата заморозки «{freeze}»: нужна дата ГГГГ-ММ-ДД.") from None
                    limit = parse_limit(form.get("time_limit"), DEFAULT_REPLAN_LIMIT)
                    if limit is None:
                        raise WebError(422, "Время расчёта: нужно число секунд от 1 до 3600.")
                    job = start_replan(conn, row, user, None, freeze, limit, {"edits": ops})
                store.save_draft(conn, plan_id, user.id, [])
                return RedirectResponse(f"/jobs/{job}", status_code=303)
            else:
                raise WebError(422, f"Неизвестное действие «{action}».")
            store.save_draft(conn, plan_id, user.id, ops)
        finally:
            conn.close()
        return RedirectResponse(back, status_code=303)


def _new_unmet(instance: svc.Instance, a: svc.Plan, b: svc.Plan) -> list[tuple[str, str, str]]:
    old = {(u.school, u.risk) for u in a.unmet}
    return [(instance.school_label(u.school), svc.risk_title(instance, u.risk), u.reason)
            for u in b.unmet if (u.school, u.risk) not in old]


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain; charset=utf-8", headers=headers)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{new_id()}")
    tmp.write_bytes(data)
    tmp.replace(path)

