"""The web application's parts without a server: progress lines, the plan views (on the
hand-built plan with hostile names and an unmet need), migrations, upload names, and the
pages rendered in-process (escaping, unmet reasons, filters)."""

from __future__ import annotations

import re
import sqlite3
import stat
import warnings
import zipfile
from pathlib import Path

import pytest

from documents_samples import HTML_NAME, sample_instance, sample_plan
from models.domain import Plan
from planner.web import app_services as svc
from planner.web import store, views
from planner.web.db import DB_FILE, _statements, connect, migrations, schema_version
from planner.web.progress import LOG_LINES, fold
from planner.web.uploads import _unsafe_reason, display_name, instance_name, store_upload
from web_server import quick_user, zip_folder

NBSP = "\u00a0"


# --- progress --------------------------------------------------------------------------------


def test_progress_keeps_the_step_the_best_value_and_the_bound():
    p: dict = {}
    for line in ["Строю модель…", "  переменных: 23297, ограничений: 37483",
                 "Фаза 2а: нижняя оценка без месяцев (какие темы кому нужны)…", f"  нижняя оценка 4{NBSP}570, 4.5 с",
                 "Фаза 2: поездки, ранний старт программ, равномерная нагрузка…",
                 f"  фаза 2: лучшее 5{NBSP}072, граница 5{NBSP}034, 3.2 с"]:
        p = fold(p, line)
    assert p["phase"] == "Фаза 2: поездки, ранний старт программ, равномерная нагрузка"
    assert (p["best"], p["bound"]) == (5072.0, 5034.0)
    assert p["message"] == f"фаза 2: лучшее 5{NBSP}072, граница 5{NBSP}034, 3.2 с"
    assert p["log"][0] == "Строю модель…" and len(p["log"]) == 6


def test_progress_has_a_best_value_from_the_constructed_plan_on():
    # The programme's construction is a plan: its value is shown during phase 2a, not «—».
    p: dict = {}
    for line in ["Строю модель…", f"  построен начальный план: -37{NBSP}225",
                 "Фаза 2а: нижняя оценка без месяцев…", f"  фаза 2а: граница -41{NBSP}523, 1.0 с"]:
        p = fold(p, line)
    assert (p["best"], p["bound"]) == (-37225.0, -41523.0)


def test_progress_survives_lines_it_does_not_know_and_keeps_the_last_ones():
    p: dict = {"best": 10.0}
    for i in range(LOG_LINES + 5):
        p = fold(p, f"  что-то новое {i}: без чисел лучшее")
    assert p["best"] == 10.0 and "phase" not in p
    assert len(p["log"]) == LOG_LINES and p["log"][-1] == f"  что-то новое {LOG_LINES + 4}: без чисел лучшее"
    assert fold(p, "   ") == p  # a blank line changes nothing


# --- views -----------------------------------------------------------------------------------


@pytest.fixture()
def sample(tmp_path):
    return sample_instance(tmp_path / "tiny"), sample_plan()


def test_status_in_words():
    base = {"instance": "x", "solve_seconds": 1.0, "sessions": [], "unmet": []}
    assert views.status_words(Plan(status="OPTIMAL", objective=10.0, bound=10.0, **base))["head"] == \
        "Лучший план найден и доказан"
    feasible = views.status_words(Plan(status="FEASIBLE", objective=200.0, bound=150.0, **base))
    assert feasible["head"] == "Допустимый план: все правила соблюдены"
    assert "(до доказанной нижней оценки 25.0 %)" in feasible["text"]
    assert views.status_words(Plan(status="UNKNOWN", objective=None, bound=None, **base))["head"] == "План не найден"
    assert views.status_words(Plan(status="INFEASIBLE", objective=None, bound=None, **base))["head"] == \
        "План невозможен"


def test_every_score_key_is_shown_known_ones_with_their_labels(sample):
    instance, plan = sample
    plan.score = {"travel_km": 1234.0, "topics_held": 44, "longest_gap_months": 2, "coverage_share": 0.5}
    rows = {key: (label, value) for key, label, value in views.score_rows(instance, plan)}
    assert rows["travel_km"] == (svc.score_label("travel_km"), f"1{NBSP}234")
    assert rows["topics_held"] == ("topics_held", "44")  # a key the labels do not know yet: shown as it is
    assert rows["longest_gap_months"] == ("longest_gap_months", "2")
    assert rows["coverage_share"][1] == "50.0 %"


def test_filters_and_the_views_they_shape(sample):
    instance, plan = sample
    everything = views.Filters()
    assert sum(len(rows) for _m, rows in views.month_graph(instance, plan, everything)) == 4
    by_school = views.Filters.parse(instance, "", "", "S1")
    assert [r.session for _m, rows in views.month_graph(instance, plan, by_school) for r in rows] == ["s-2", "s-4"]
    by_town = views.Filters.parse(instance, "M2", "", "")
    assert {r.session for _m, rows in views.month_graph(instance, plan, by_town) for r in rows} == {"s-1", "s-2", "s-3"}
    months, timeline = views.consultant_timeline(instance, plan, views.Filters.parse(instance, "", "C2", ""))
    assert [r.id for r in timeline] == ["C2"] and timeline[0].total == 2
    assert months[:3] == ["Март 2022", "Апрель 2022", "Май 2022"]
    _months, schools = views.school_months(instance, plan, by_town)
    assert [r.id for r in schools] == ["S3", "S2"]  # the schools of M2, by name («<img…» before «=HYP…»)
    unknown = views.Filters.parse(instance, "M9", "C9", "<script>")
    assert not unknown.active and unknown.unknown == ("муниципалитет «M9»", "консультант «C9»", "школа «<script>»")


def test_unmet_needs_with_reasons_follow_the_filter(sample):
    instance, plan = sample
    rows, reasons = views.unmet(instance, plan, views.Filters())
    assert [(r.need, r.reason) for r in rows] == [
        (svc.risk_title(instance, "R05"), "ни одна тема не закрывает этот риск")]
    assert reasons == [("ни одна тема не закрывает этот риск", 1)]
    assert views.unmet(instance, plan, views.Filters.parse(instance, "M1", "", ""))[0] == []
    coverage = {c.risk: (c.needed, c.covered) for c in views.coverage(instance, plan, views.Filters())}
    assert coverage["R05"] == (1, 0) and coverage["R03"] == (1, 1)


def test_calendar_files_are_named_for_people(sample):
    instance, _plan = sample
    parties = views.calendar_parties(instance, {"all.ics", "consultant-C1.ics", "school-S3.ics", "unknown-x.ics"})
    assert parties["all"] == [("all.ics", "Все консультации")]
    assert parties["consultant"] == [("consultant-C1.ics", "Неверова Н. С.")]
    assert parties["school"] == [("school-S3.ics", HTML_NAME)]
    assert parties["other"] == [("unknown-x.ics", "unknown-x")]


# --- the database ----------------------------------------------------------------------------


def test_migrations_are_applied_once_and_in_order(tmp_path):
    data = tmp_path / "d"
    conn = connect(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert schema_version(conn) == len(migrations()) >= 1
    conn.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES ('a', 'editor', 'h', 'now')")
    conn.close()
    again = connect(data)  # nothing re-applied: the row is still there
    assert again.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        again.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES ('b', 'admin', 'h', 'now')")
    assert (data / DB_FILE).is_file()


def test_migration_scripts_split_into_whole_statements():
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE INDEX i ON a (x);\n-- end\n"
    assert _statements(sql) == ["-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');",
                                "CREATE INDEX i ON a (x);"]


# --- upload names ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, reason", [
    ("inst/schools.csv", None),
    ("../schools.csv", "выходит за пределы папки"),
    ("inst/../../x.csv", "выходит за пределы папки"),
    ("/etc/passwd", "абсолютным путём"),
    ("C:/Windows/x.csv", "абсолютным путём"),
    ("inst\\..\\x.csv", "через «\\»"),
])
def test_unsafe_zip_entries(name, reason):
    info = zipfile.ZipInfo(name)
    got = _unsafe_reason(info)
    assert (got is None) if reason is None else (reason in got)


def test_names_from_people_are_only_shown():
    assert display_name("C:\\fakepath\\Кузбасс 2022.xlsx") == "Кузбасс 2022.xlsx"
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("a\x00b\n.zip") == "ab.zip"
    assert instance_name("Кузбасс 2022 (v2)") == "Кузбасс-2022-v2"
    assert instance_name("../..") == "instance"


# --- the pages, rendered in-process ----------------------------------------------------------


def _store_sample_plan(data: Path, instance_folder: Path, plan: Plan) -> tuple[str, str]:
    stored = store_upload(data, zip_folder(instance_folder, "tiny"), "tiny.zip")
    conn = connect(data)
    try:
        store.insert_instance(conn, stored.id, name=stored.name, region="", source_kind=stored.kind,
                              original_name="tiny.zip", summary=views.instance_summary(stored.instance),
                              warnings=[], user_id=None)
        job = store.create_job(conn, stored.id, None, {"time_limit": 5, "workers": 1})
        assert store.claim_next_job(conn)["id"] == job
        plan_id = "0123456789ab"
        (data / "plans" / plan_id).mkdir(parents=True)
        (data / "plans" / plan_id / "plan.json").write_text(svc.plan_to_json(plan), encoding="utf-8")
        record = store.PlanRecord(plan_id, plan.status, plan.objective, plan.bound, plan.solve_seconds,
                                  len(plan.sessions), len(plan.unmet), {})
        assert store.finish_job(conn, job, record, {})
        assert not store.finish_job(conn, job, record, {})  # a job is finished once
    finally:
        conn.close()
    return stored.id, plan_id


def test_pages_escape_names_and_show_unmet_reasons(tmp_path, sample):
    from planner.web.app import ServerConfig, create_app

    with warnings.catch_warnings():  # starlette prefers a newer client; httpx is what it runs on here
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    _instance, plan = sample
    data = tmp_path / "data"
    password = quick_user(data, "ed")
    _inst, plan_id = _store_sample_plan(data, tmp_path / "tiny", plan)
    with TestClient(create_app(ServerConfig(data=data))) as web:
        token = re.search(r'name="csrf" value="([^"]+)"', web.get("/login").text).group(1)
        assert web.post("/login", data={"csrf": token, "name": "ed", "password": password, "next": "/"},
                        follow_redirects=False).status_code == 303
        page = web.get(f"/plans/{plan_id}?view=coverage").text
        assert "&lt;img src=x onerror=" in page and "<img src=x" not in page
        assert "ни одна тема не закрывает этот риск" in page
        graph = web.get(f"/plans/{plan_id}?view=graph&school=S1").text
        assert graph.count('class="session"') == 2
        assert "Фильтр не применён" in web.get(f"/plans/{plan_id}?municipality=M9").text
        schools = web.get(f"/plans/{plan_id}?view=schools").text
        assert schools.count("data-school=") == 3
        r = web.get(f"/plans/{plan_id}/calendars/..%2Fplan.json")
        assert r.status_code == 404
        headers = web.get(f"/plans/{plan_id}").headers
        assert "script-src 'self'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"
