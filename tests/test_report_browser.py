"""The HTML report opened in a real headless Chromium: it draws without errors and without the
network, every section is there, and a screenshot is left in outputs/ for people to look at.

One test on the hand-built replanned plan (hostile names included); one on a real Kuzbass 2022
plan solved once for this module, whose appendix and workbook are also checked against it.
"""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from browser import chromium, open_file
from documents_samples import replanned, sample_instance, sample_plan
from helpers import KUZBASS, ROOT
from models.calendar_days import month_of
from models.domain import Stage
from models.solve import SolveOptions, solve_consultations
from planner.exports.documents import document_files
from planner.exports.documents_common import month_title
from planner.exports.report_html import SECTIONS, report_html
from planner.inputs.validation import load_instance

OUTPUTS = ROOT / "outputs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _section_ids(page) -> list[str]:
    return page.eval_on_selector_all("main > section", "els => els.map(e => e.id)")


def _figures(page) -> dict[str, int]:
    """Plotly figure id → number of drawn SVG layers (0 = not drawn)."""
    return page.eval_on_selector_all(
        ".js-plotly-plot",
        "els => Object.fromEntries(els.map(e => [e.id, e.querySelectorAll('svg.main-svg').length]))",
    )


def test_replanned_report_opens_cleanly_in_chromium(browser, tmp_path):
    instance = sample_instance(tmp_path / "tiny")
    plan = replanned(sample_plan())
    path = tmp_path / "report.html"
    path.write_bytes(report_html(instance, plan))

    page, log = open_file(browser, path)
    assert log.errors == []
    assert log.dialogs == []
    assert log.requests == [path.resolve().as_uri()]  # nothing but the file itself: no network
    assert _section_ids(page) == list(SECTIONS)  # «changes» included: this is a replan
    for sid, heading in SECTIONS.items():
        assert page.locator(f"#{sid} > h2").inner_text() == heading
        assert page.locator(f"#{sid}").is_visible()
    figures = _figures(page)
    assert set(figures) == {
        "fig-months",
        "fig-timeline",
        "fig-schools",
        "fig-coverage",
        "fig-load",
        "fig-travel-map",
        "fig-travel-km",
    }
    assert all(n > 0 for n in figures.values()), figures
    # A school named with HTML stays text: its markup never runs.
    assert page.evaluate("() => window.__pwned === undefined")
    # Russian month names on the timeline axis (our plotly locale).
    ticks = page.eval_on_selector_all(
        "#fig-timeline .xtick text", "els => els.map(e => e.textContent)"
    )
    assert {"Март", "Апрель", "Май"} <= set(ticks)
    assert page.locator("#changes-table tbody tr").count() == 3
    assert page.locator("#unmet-table tbody tr").count() == 1
    assert page.locator("#figure-sessions .value").inner_text() == "4"

    OUTPUTS.mkdir(exist_ok=True)
    shot = OUTPUTS / "report-screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == PNG_MAGIC and shot.stat().st_size > 20_000
    page.close()


# --- Kuzbass 2022: a real plan ---------------------------------------------------------------


@pytest.fixture(scope="module")
def kuzbass():
    instance, _warnings = load_instance(KUZBASS)
    plan, _report = solve_consultations(instance, SolveOptions(time_limit=20, workers=2))
    return instance, plan


def test_kuzbass_documents_match_the_plan_and_report_opens(kuzbass, browser, tmp_path):
    instance, plan = kuzbass
    files = document_files(instance, plan)

    # Appendix: the whole programme by month. Under each month's heading row, one row for the
    # month's verification visits (counting them), then one row per topic and consultant.
    graph = docx.Document(io.BytesIO(files["appendix.docx"])).tables[0]
    months = sorted({month_of(s.start.date()) for s in plan.sessions})
    rows, month, seen = [], None, set()
    for r in graph.rows[1:]:
        texts = [c.text.replace("\u00a0", " ") for c in r.cells]
        if len(set(texts)) == 1:
            month = texts[0]
            continue
        rows.append((month, texts))
    heads = [r.cells[0].text for r in graph.rows[1:] if len({c.text for c in r.cells}) == 1]
    assert heads == [month_title(m) for m in months]
    verification = {t.id for t in instance.topics.values() if t.stage == Stage.VERIFICATION}
    thematic = [s for s in plan.sessions if s.topic not in verification]
    groups = {(month_title(month_of(s.start.date())), s.topic, s.consultant) for s in thematic}
    visit_months = {month_title(month_of(s.start.date())) for s in plan.sessions if s.topic in verification}
    assert len(rows) == len(groups) + len(visit_months)  # not one row per visit
    for month, texts in rows:
        title = texts[0].split("\n")[0]
        if "визиты кураторов" in title:
            n = sum(len(s.schools) for s in plan.sessions
                    if s.topic in verification and month_title(month_of(s.start.date())) == month)
            assert f"школ: {n}," in texts[0], texts
            continue
        seen.add((month, title))
    # Every topic held (all of the programme's) is listed in every month it is held.
    assert seen == {(month_title(month_of(s.start.date())), f"«{instance.topics[s.topic].title}»"
                     if "«" not in instance.topics[s.topic].title else instance.topics[s.topic].title)
                    for s in thematic}
    assert len({title for _m, title in seen}) == int(plan.score["topics_held"]) - len(verification & {
        s.topic for s in plan.sessions})
    assert len(months) >= 8  # March–June and September–December: support through the year

    # Workbook: sessions and attendances, row for row.
    wb = openpyxl.load_workbook(io.BytesIO(files["plan.xlsx"]))
    rows = list(wb["График"].iter_rows(values_only=True))
    col = {name: k for k, name in enumerate(rows[0])}
    got = sorted((r[col["Дата"]].date(), r[col["Начало"]], r[col["Код темы"]], r[col["Код консультанта"]])
                 for r in rows[1:])
    assert got == sorted((s.start.date(), s.start.time().replace(tzinfo=None), s.topic, s.consultant)
                         for s in plan.sessions)
    assert wb["Школы"].max_row - 1 == sum(len(s.schools) for s in plan.sessions)
    unmet = [r for r in wb["Непокрытые риски"].iter_rows(min_row=2, values_only=True) if r[0] != "нет"]
    assert len(unmet) == len(plan.unmet)  # an empty sheet says «нет»

    path = tmp_path / "report.html"
    path.write_bytes(files["report.html"])
    page, log = open_file(browser, path, width=1280, height=1800)
    assert log.errors == [] and log.dialogs == []
    assert log.requests == [path.resolve().as_uri()]
    assert _section_ids(page) == [s for s in SECTIONS if s != "changes"]
    assert all(n > 0 for n in _figures(page).values())
    # Support through the year: the month chart has every open month, each with consultations
    # other than verification, and the schools they reach.
    months = page.evaluate("""() => {
        const gd = document.getElementById('fig-months');
        const bars = gd.data.filter(t => t.type === 'bar');
        const visits = bars.find(t => t.name.startsWith('верификация'));
        const other = bars.filter(t => t !== visits);
        return {x: gd.data[0].x, other: gd.data[0].x.map((_, i) => other.reduce((a, t) => a + t.y[i], 0)),
                schools: gd.data.find(t => t.type === 'scatter').y};
    }""")
    assert len(months["x"]) == len(instance.calendar.open_months) >= 8
    assert all(n > 0 for n in months["other"]), months
    assert all(n > 0 for n in months["schools"]), months
    assert page.evaluate("() => document.getElementById('fig-schools').data[0].y.length") == len(
        instance.schools
    )
    timeline_rows = page.evaluate(
        "() => new Set(document.getElementById('fig-timeline').data.flatMap(t => t.y)).size"
    )
    assert timeline_rows == len({s.consultant for s in plan.sessions})
    OUTPUTS.mkdir(exist_ok=True)
    shot = OUTPUTS / "report-kuzbass-2022.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == PNG_MAGIC
    page.close()


def test_readme_shows_the_report_screenshot():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/report.png" in readme
    assert (ROOT / "docs" / "report.png").read_bytes()[:8] == PNG_MAGIC


# --- a phone's width and the printed page (issue 15, items 11-12) -------------------------------

PHONE = {"width": 390, "height": 844}
A4_CONTENT_PX = 718  # 210 mm less Chromium's default 10 mm margins, at 96 px per inch

_MEASURE = """() => {
  const rect = e => e.getBoundingClientRect();
  const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
                            && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const out = {scroll: document.documentElement.scrollWidth, width: innerWidth, height: innerHeight,
               nav: rect(document.querySelector('nav')),
               navPosition: getComputedStyle(document.querySelector('nav')).position,
               figures: {}};
  document.querySelectorAll('.js-plotly-plot').forEach(gd => {
    const box = rect(gd);
    const f = {box: [box.left, box.right], overlapsModebar: false, ticks: [], smallFont: [], clipped: [], crossing: []};
    const mb = gd.querySelector('.modebar'), lg = gd.querySelector('.legend');
    if (mb && lg) f.overlapsModebar = overlap(rect(mb), rect(lg));
    for (const axis of gd.querySelectorAll('.xaxislayer-above, .yaxislayer-above')) {
      const labels = [...axis.querySelectorAll('.xtick text, .ytick text')].filter(t => t.textContent);
      const boxes = labels.map(rect);
      labels.forEach((t, i) => {
        f.ticks.push(t.textContent);
        if (parseFloat(getComputedStyle(t).fontSize) < 10) f.smallFont.push(t.textContent);
        if (boxes[i].left < box.left - 1 || boxes[i].right > box.right + 1) f.clipped.push(t.textContent);
        for (let j = 0; j < i; j++)
          if (overlap(boxes[i], boxes[j])) f.crossing.push([labels[j].textContent, t.textContent]);
      });
    }
    f.plot = gd._fullLayout ? gd._fullLayout._size.w : 0;
    f.width = gd._fullLayout ? gd._fullLayout.width : 0;
    out.figures[gd.id] = f;
  });
  return out;
}"""


def _check_phone(page) -> dict:
    m = page.evaluate(_MEASURE)
    assert m["scroll"] <= m["width"], f"sideways scroll: page {m['scroll']} px wide at {m['width']} px"
    nav = m["nav"]
    # The menu scrolls away with the page (not pinned), and is one short line.
    assert m["navPosition"] != "sticky" and m["navPosition"] != "fixed"
    assert nav["height"] < 0.1 * m["height"], nav
    for fid, f in m["figures"].items():
        assert not f["overlapsModebar"], f"{fid}: the toolbar lies over the legend"
        assert f["smallFont"] == [], (fid, f["smallFont"])
        assert f["clipped"] == [], (fid, f["clipped"][:5])
        assert f["crossing"] == [], (fid, f["crossing"][:5])
        assert f["plot"] >= 0.4 * f["width"], f"{fid}: labels leave the plot {f['plot']} of {f['width']} px"
    return m


def test_the_replans_report_on_a_phone(browser, tmp_path):
    instance = sample_instance(tmp_path / "tiny")
    path = tmp_path / "report.html"
    path.write_bytes(report_html(instance, replanned(sample_plan())))
    page, log = open_file(browser, path, **PHONE)
    assert log.errors == []
    m = _check_phone(page)
    assert "fig-months" in m["figures"]
    page.screenshot(path=str(OUTPUTS / "report-phone-replan.png"), full_page=True)
    page.close()


def test_kuzbass_report_on_a_phone_and_on_a4(kuzbass, browser, tmp_path):
    instance, plan = kuzbass
    path = tmp_path / "report.html"
    path.write_bytes(report_html(instance, plan))
    page, log = open_file(browser, path, **PHONE)
    assert log.errors == []
    m = _check_phone(page)
    # Every school row of the heatmap keeps a readable name.
    assert len([t for t in m["figures"]["fig-schools"]["ticks"] if t]) >= len(instance.schools)
    OUTPUTS.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUTS / "report-phone-kuzbass-2022.png"))
    page.close()

    # Printing from a desktop window to A4: when the browser prints, every chart is the page's
    # width and every month of the timeline and the heatmap is on it.
    page, log = open_file(browser, path, width=1366, height=900)
    page.evaluate("""() => window.addEventListener('beforeprint', () => {
        window.__printed = {};
        document.querySelectorAll('.js-plotly-plot').forEach(gd => {
          const svg = gd.querySelector('svg.main-svg');
          const width = gd._fullLayout.width;
          const ticks = [...gd.querySelectorAll('.xtick text')].map(t => {
            const b = t.getBoundingClientRect(), s = svg.getBoundingClientRect();
            return {text: t.textContent, right: b.right - s.left, left: b.left - s.left};
          });
          window.__printed[gd.id] = {width, ticks};
        });
    })""")
    pdf = page.pdf(format="A4")
    assert pdf[:5] == b"%PDF-"
    printed = page.evaluate("() => window.__printed")
    assert printed, "the page did not get ready for printing"
    for fid, f in printed.items():
        assert f["width"] <= A4_CONTENT_PX - 20, (fid, f["width"])
    months_ru = ["Январь", "Февраль", "Март", "Апрель", "Май", "Июнь", "Июль", "Август", "Сентябрь", "Октябрь",
                 "Ноябрь", "Декабрь"]
    h = instance.settings.horizon
    horizon = {months_ru[m - 1] for m in range(h.start.month, h.end.month + 1)}
    for fid in ("fig-timeline", "fig-schools", "fig-months"):
        f = printed[fid]
        inside = [t for t in f["ticks"] if t["left"] >= -1 and t["right"] <= f["width"] + 1]
        assert len(inside) == len(f["ticks"]), (fid, f["ticks"])
        if fid == "fig-timeline":
            assert {t["text"] for t in inside} >= horizon
        else:
            assert len(inside) == len(instance.calendar.open_months), (fid, inside)
    page.close()
