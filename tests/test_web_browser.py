"""The web application end to end in a real headless Chromium (Debian's, driven by
Playwright): a methodologist signs in, uploads the Kuzbass workbook, starts a plan and
watches its progress arrive live, opens the plan's views and filters, downloads the
appendix and one calendar (read back with python-docx and vobject), uploads a broken
workbook and reads the problem table, and finds everything again after a server restart.
Every page is checked at 1366 and 390 px for sideways scrolling; screenshots of each are
left in outputs/web/ for people to look at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import openpyxl
import pytest
import vobject
from playwright.sync_api import Page, expect, sync_playwright

from browser import CHROMIUM_ARGS, chromium_path
from helpers import KUZBASS, ROOT
from planner.inputs.template import write_template
from web_server import Server, server_with_user, wait_for

SHOTS = ROOT / "outputs" / "web"
USER = "metodist"


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("books")
    good = write_template(folder / "kuzbass-2022.xlsx", source=KUZBASS)
    wb = openpyxl.load_workbook(good)
    ws = wb["schools"]
    head = [c.value for c in ws[1]]
    ws.cell(row=5, column=head.index("priority") + 1, value="9")
    ws = wb["topics"]
    head = [c.value for c in ws[1]]
    ws.cell(row=3, column=head.index("format") + 1, value="очно")
    broken = folder / "kuzbass-с-ошибками.xlsx"
    wb.save(broken)
    return {"good": good, "broken": broken}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from server_with_user(tmp_path_factory.mktemp("e2e") / "data", USER)


@contextmanager
def office_and_phone(server: Server) -> Iterator[tuple[Tab, Tab]]:
    """Headless Chromium in Russian with two tabs on the server: the office PC (1366 px,
    downloads kept) and a phone (390 px, touch); the browser is closed afterwards."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=[*CHROMIUM_ARGS, "--lang=ru-RU"])
        try:
            wide = Tab(browser.new_context(viewport={"width": 1366, "height": 900}, locale="ru-RU",
                                           accept_downloads=True).new_page(), server, 1366)
            phone = Tab(browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU",
                                            is_mobile=True, has_touch=True).new_page(), server, 390)
            yield wide, phone
        finally:
            browser.close()


class Tab:
    """A browser page with its errors logged and the page-level checks in one place."""

    def __init__(self, page: Page, server: Server, width: int):
        self.page, self.server, self.width = page, server, width
        self.errors: list[str] = []
        page.on("console",
                lambda m: self.errors.append(f"{m.type}: {m.text}") if m.type in ("error", "assert") else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def go(self, path: str) -> None:
        self.page.goto(self.server.url + path, wait_until="load")

    def check(self, name: str, status: int | None = None) -> None:
        """No sideways scroll; no script error (but the page's own status, when it is an
        answer like 422 that Chromium logs); a screenshot kept."""
        if status is not None:
            expected = f"error: Failed to load resource: the server responded with a status of {status}"
            self.errors = [e for e in self.errors if not e.startswith(expected)]
        sizes = self.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]")
        assert sizes[0] <= sizes[1] <= self.width, (name, self.width, sizes)
        assert self.errors == [], (name, self.errors)
        assert self.page.locator("html").get_attribute("lang") == "ru"
        SHOTS.mkdir(parents=True, exist_ok=True)
        tall = self.page.evaluate("() => document.documentElement.scrollHeight") > 4000
        # A very tall page (the whole graph) is kept as its first screens, not as one huge image.
        self.page.screenshot(path=str(SHOTS / f"{name}-{self.width}.png"), full_page=True,
                             clip={"x": 0, "y": 0, "width": self.width, "height": 4000} if tall else None)
        view = self.page.locator("#plan-view")
        if view.count():  # the plan's own view, from its top: what a long full-page shot shrinks away
            top = view.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
            self.page.screenshot(path=str(SHOTS / f"{name}-{self.width}-view.png"), full_page=True,
                                 clip={"x": 0, "y": top, "width": self.width, "height": 1400})

    def sign_in(self, password: str) -> None:
        self.go("/")
        expect(self.page).to_have_url(self.server.url + "/login?next=/")
        expect(self.page.locator("h1")).to_have_text("Вход")
        self.check("login")
        self.page.get_by_label("Имя пользователя").fill(USER)
        self.page.get_by_label("Пароль").fill(password)
        self.page.get_by_role("button", name="Войти").click()
        expect(self.page.locator("h1")).to_have_text("Экземпляры")

    def upload(self, path: Path) -> None:
        self.go("/")
        self.page.set_input_files("input[type=file]", str(path))
        self.page.get_by_role("button", name="Загрузить и проверить").click()
        self.page.wait_for_load_state("load")


def _plan_json(server: Server, plan_id: str) -> dict:
    return json.loads((server.data / "plans" / plan_id / "plan.json").read_text(encoding="utf-8"))


def test_a_methodologist_plans_kuzbass_in_the_browser(server, workbooks):
    with office_and_phone(server) as (wide, phone):
        _journey(server, workbooks, wide, phone)


def _journey(server: Server, workbooks: dict[str, Path], wide: Tab, phone: Tab) -> None:
    page = wide.page
    # --- sign in, upload, the summary ---------------------------------------------------
    wide.sign_in(server.password)
    wide.check("instances-empty")
    wide.upload(workbooks["good"])
    expect(page.locator("h1")).to_have_text("kuzbass-2022")
    expect(page.locator("#sum-schools")).to_have_text("96")
    expect(page.locator("#sum-consultants")).to_have_text("16")
    expect(page.locator("#sum-topics")).to_have_text("45")
    assert page.locator("#needs tbody tr").count() == 10  # R01..R10, schools and topics per risk
    instance_url = page.url
    wide.check("instance")

    # --- «Составить план» and the live progress ------------------------------------------
    # The command's default limit: with it the polish (phase 2в) runs seconds with its bound on
    # screen; at 6 s a loaded machine left the bound visible for half a second.
    page.get_by_label("Время расчёта, секунд").fill("10")
    page.get_by_role("button", name="Составить план").click()
    expect(page.locator("h1")).to_have_text("Расчёт плана")
    job_url = page.url
    page.evaluate("() => { window.__sameDocument = true; }")  # a reload would lose it
    # A second tab (the phone) opens the same job while it runs and sees the same progress.
    phone.sign_in(server.password)
    phone.go(job_url.removeprefix(server.url))
    seen: list[tuple[str, str, str]] = []
    shot = []

    def progress_or_done():
        status = page.locator("#job-status").get_attribute("data-status")
        if status == "running" and page.locator("#progress-phase").count():
            seen.append((page.locator("#progress-phase").inner_text(), page.locator("#progress-elapsed").inner_text(),
                         page.locator("#progress-bound").inner_text()))
            if not shot and seen[-1][0].startswith("Фаза 2") and seen[-1][2] != "—":  # a bound is known
                expect(page.locator("#cancel-job")).to_be_visible()
                expect(phone.page.locator("#progress-phase")).not_to_have_text("")
                wide.check("job-running")
                phone.check("job-running")
                shot.append(True)
        return status == "done"

    wait_for(progress_or_done, timeout=120, step=0.25)
    assert page.evaluate("() => window.__sameDocument") is True  # updates came over SSE, no reload
    assert len({elapsed for _p, elapsed, _b in seen}) >= 3, seen  # the elapsed time moved on the page
    assert any(p.startswith("Фаза") for p, _e, _b in seen), seen  # solver phases were shown
    assert shot, seen  # a phase with its bound was on the page while it ran
    sessions = int(page.locator("#result-sessions").inner_text())
    expect(phone.page.locator("#result-sessions")).to_have_text(str(sessions))  # the other tab got it too
    wide.check("job-done")
    phone.check("job-done")

    # --- the plan -------------------------------------------------------------------------
    page.locator("#open-plan").click()
    expect(page.locator("h1")).to_have_text("План № 1: kuzbass-2022")
    plan_url = page.url
    plan = _plan_json(server, plan_url.rsplit("/", 1)[1])
    assert sessions == len(plan["sessions"]) > 0
    expect(page.locator("#figure-sessions dd")).to_have_text(str(sessions))
    expect(page.locator("#solver-status h2")).to_have_text(
        {"OPTIMAL": "Лучший план найден и доказан",
         "FEASIBLE": "Допустимый план: все правила соблюдены"}[plan["status"]])
    assert page.locator("#view-graph tr.session").count() == sessions
    months = page.locator("#view-graph tr.month th").all_inner_texts()
    assert months[0].startswith("Март 2022 года")
    wide.check("plan-graph")

    page.locator("#tab-consultants").click()
    expect(page.locator("#view-consultants")).to_be_visible()
    assert page.locator("#view-consultants tbody tr").count() == 16
    marks = page.locator("#view-consultants .day").count()
    assert marks == sessions  # one day mark per session
    wide.check("plan-consultants")
    page.locator("#tab-schools").click()
    assert page.locator("#view-schools tbody tr").count() == 96
    assert page.locator("#view-schools .day").count() == sum(len(s["schools"]) for s in plan["sessions"])
    wide.check("plan-schools")
    page.locator("#tab-coverage").click()
    assert page.locator("#coverage-table tbody tr").count() == 11  # verification + R01..R10
    if plan["unmet"]:
        assert page.locator("#unmet-table tbody tr").count() == len(plan["unmet"])
    else:
        expect(page.locator("#no-unmet")).to_be_visible()
    wide.check("plan-coverage")
    page.locator("#tab-measures").click()
    keys = page.locator("#score-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert set(plan["score"]) <= set(keys)  # every score key of the plan is shown
    wide.check("plan-measures")

    # --- filters (HTMX swaps the view and keeps the URL in step) ---------------------------
    page.locator("#tab-graph").click()
    busiest = max({s["consultant"] for s in plan["sessions"]},
                  key=lambda c: sum(1 for s in plan["sessions"] if s["consultant"] == c))
    theirs = [s for s in plan["sessions"] if s["consultant"] == busiest]
    page.locator("#filters select[name=consultant]").select_option(busiest)
    expect(page).to_have_url(re.compile(re.escape(plan_url) + rf"\?view=graph&.*consultant={busiest}"))
    expect(page.locator("#view-graph tr.session")).to_have_count(len(theirs))
    assert {r.get_attribute("data-session") for r in page.locator("#view-graph tr.session").all()} == {
        s["id"] for s in theirs}
    wide.check("plan-filtered")
    page.locator("#filters select[name=consultant]").select_option("")
    expect(page.locator("#view-graph tr.session")).to_have_count(sessions)

    # --- downloads, read back with independent parsers -------------------------------------
    with page.expect_download() as got:
        page.locator("#dl-appendix").click()
    assert got.value.suggested_filename == "appendix.docx"
    table = docx.Document(got.value.path()).tables[0]
    month_rows = [r for r in table.rows[1:] if len({c.text for c in r.cells}) == 1]
    # The whole programme by month: one row per topic and consultant in a month, and a month's
    # verification visits (topic TV) in one row.
    groups = {(s["start"][:7], s["topic"], s["consultant"]) for s in plan["sessions"] if s["topic"] != "TV"}
    visit_months = {s["start"][:7] for s in plan["sessions"] if s["topic"] == "TV"}
    assert len(table.rows) - 1 - len(month_rows) == len(groups) + len(visit_months)
    page.locator("#calendars summary").click()
    link = page.locator(f"#calendars a[data-file='consultant-{busiest}.ics']")
    with page.expect_download() as got:
        link.click()
    assert got.value.suggested_filename == f"consultant-{busiest}.ics"
    calendar = vobject.readOne(Path(got.value.path()).read_text(encoding="utf-8"))
    events = calendar.contents.get("vevent", [])
    assert len(events) == len(theirs)
    assert {e.summary.value for e in events} <= {  # topic titles, as the calendar contract says
        t for t in _topic_titles()}

    # --- the phone: every view at 390 px -----------------------------------------------------
    phone.go("/")
    phone.check("instances")
    phone.go(instance_url.removeprefix(server.url))
    phone.check("instance")
    for view in ("graph", "consultants", "schools", "coverage", "measures"):
        phone.go(f"{plan_url.removeprefix(server.url)}?view={view}")
        expect(phone.page.locator(f"#view-{view}")).to_be_visible()
        phone.check(f"plan-{view}")

    # --- a broken workbook: the problem table ----------------------------------------------
    for tab in (wide, phone):
        tab.upload(workbooks["broken"])
        expect(tab.page.locator("h1")).to_have_text("В файле «kuzbass-с-ошибками.xlsx» есть ошибки")
        rows = tab.page.locator("#problems tbody tr")
        expect(rows).to_have_count(2)
        cells = [r.locator("td").all_inner_texts() for r in rows.all()]
        assert ["kuzbass-с-ошибками.xlsx, лист «schools»", "5", "priority", "9"] in [c[:4] for c in cells]
        assert ["kuzbass-с-ошибками.xlsx, лист «topics»", "3", "format", "очно"] in [c[:4] for c in cells]
        tab.check("upload-problems", status=422)

    # --- a restart loses nothing -------------------------------------------------------------
    server.restart()
    page.goto(plan_url)
    expect(page.locator("h1")).to_have_text("План № 1: kuzbass-2022")  # still signed in, still there
    expect(page.locator("#figure-sessions dd")).to_have_text(str(sessions))
    page.goto(instance_url)
    expect(page.locator("#plans tbody tr")).to_have_count(1)
    assert page.locator("#jobs .status").all_inner_texts() == ["готово"]
    wide.check("instance-after-restart")


def _topic_titles() -> set[str]:
    from planner.inputs.validation import load_instance

    instance, _ = load_instance(KUZBASS)
    return {t.title for t in instance.topics.values()}
