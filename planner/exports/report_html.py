"""The plan at a glance: one self-contained HTML page in Russian, for a working-group meeting.

Sections (each a `<section>` with a stable id, listed in `SECTIONS`): key figures, with the
programme's measures (and, for a replan, each against the baseline's); support through the
year (consultations per month by stage and the schools they reach, then who consults when, a
Gantt chart per consultant); consultations of each school per month (a heatmap); risk-factor
coverage (needed vs met per factor); consultant load per month against the monthly limit;
onsite travel (a scatter of municipality centres on longitude/latitude with the consultants'
routes, plus km per consultant); unmet needs; the programme's exceptions (topics not held,
schools left without support too long); and, for a replanned plan, what changed, each session
with its format, place and every school (no internal ids).

Works at a phone's width (390 px: no sideways scroll, the menu scrolls away, charts' legends
under the plot where the toolbar is not, wide tables scroll in their own box) and prints on
A4: before printing every chart is redrawn at the page's width, so no month falls off.

Charts are plotly; plotly.js is embedded in the page, and no chart uses map tiles or web
fonts, so the file opens without a network. Every text taken from the instance is escaped.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from models.calendar_days import month_first_day, month_last_day
from models.domain import VERIFICATION_NEED, Format, Instance, Plan, Stage
from planner.exports.changes import (
    moment_text,
    plan_changes,
    replan_options_price,
    replan_options_rows,
    schools_lines,
)
from planner.exports.documents_common import (
    MONTHS_NOMINATIVE,
    baseline_figures,
    consultant_month_load,
    consultant_name,
    date_text,
    is_replan,
    key_figures,
    local_time,
    month_support,
    municipality_name,
    programme_exceptions,
    replan_scenario,
    risk_coverage,
    risk_title,
    school_name,
    school_order,
    session_month,
    session_when,
    sessions_in_order,
    status_title,
    topic_title,
)

SECTIONS = {
    "summary": "Главное",
    "timeline": "Сопровождение в течение года",
    "schools": "Консультации школ по месяцам",
    "coverage": "Покрытие факторов риска",
    "load": "Нагрузка консультантов по месяцам",
    "travel": "Выезды консультантов",
    "unmet": "Непокрытые потребности",
    "programme": "Отступления от программы",
    "changes": "Что изменилось",
}
"""Section id → heading. «changes» is present only for a replanned plan."""
PRINT_WIDTH_PX = 680
"""Charts are redrawn this wide before printing: A4's 210 mm less Chromium's default margins
(about 10 mm each side) is 718 px at 96 px per inch; less the section's padding and border."""
NARROW_PX = 700
"""Below this width (a phone) the menu is not pinned to the top and tables scroll in their box."""

STAGE_COLORS = {
    Stage.VERIFICATION: "#7b3294",
    Stage.PROGRAM: "#1b7837",
    Stage.SUPPORT: "#2166ac",
    Stage.MONITORING: "#e08214",
}
STAGE_LABELS = {
    Stage.VERIFICATION: "верификация рискового профиля",
    Stage.PROGRAM: "разработка программ",
    Stage.SUPPORT: "сопровождение",
    Stage.MONITORING: "мониторинг",
}
DAY_MS = 24 * 3600 * 1000
MAX_HOVER_SCHOOLS = 6

# plotly.js speaks English; this registers Russian month names, number format and tool tips.
_RU_LOCALE = {
    "moduleType": "locale",
    "name": "ru",
    "dictionary": {
        "Autoscale": "Автомасштаб",
        "Box Select": "Выделить прямоугольником",
        "Download plot as a png": "Сохранить как PNG",
        "Download plot": "Сохранить",
        "Lasso Select": "Выделить лассо",
        "Pan": "Сдвиг",
        "Reset axes": "Сбросить оси",
        "Zoom": "Масштаб",
        "Zoom in": "Увеличить",
        "Zoom out": "Уменьшить",
        "Toggle Spike Lines": "Линии к осям",
        "Show closest data on hover": "Подсказка: ближайшая точка",
        "Compare data on hover": "Подсказка: сравнение",
        "Double-click to zoom back out": "Двойной щелчок — вернуть масштаб",
        "Produced with Plotly.js": "Построено Plotly.js",
    },
    "format": {
        "days": ["Воскресенье", "Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота"],
        "shortDays": ["Вс", "Пн", "Вт", "Ср", "Чт", "Пт", "Сб"],
        "months": list(MONTHS_NOMINATIVE),
        "shortMonths": [
            "янв",
            "фев",
            "мар",
            "апр",
            "май",
            "июн",
            "июл",
            "авг",
            "сен",
            "окт",
            "ноя",
            "дек",
        ],
        "date": "%d.%m.%Y",
        "decimal": ",",
        "thousands": "\u00a0",
    },
}
_CONFIG = {
    "locale": "ru",
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

_CSS = """
:root { --ink:#1d2733; --muted:#5b6876; --line:#d8dee6; --accent:#2166ac; --bad:#b2182b; --ok:#1b7837; }
* { box-sizing: border-box; }
html, body { max-width:100%; }
body { margin:0; font-family: "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--ink);
       background:#f5f7fa; line-height:1.4; overflow-wrap:break-word; }
header { background:#fff; border-bottom:1px solid var(--line); padding:18px 32px 10px; }
header h1 { margin:0 0 4px; font-size:24px; }
header p { margin:0; color:var(--muted); }
header p.replan { color:var(--ink); margin-top:4px; }
nav { display:flex; flex-wrap:wrap; gap:6px 14px; padding:8px 32px; background:#fff;
      border-bottom:1px solid var(--line); position:sticky; top:0; z-index:10; font-size:14px; }
nav a { color:var(--accent); text-decoration:none; white-space:nowrap; }
main { padding:0 32px 32px; max-width:1400px; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; margin:18px 0; padding:14px 18px;
          min-width:0; }
section h2 { margin:0 0 6px; font-size:19px; }
section h3 { margin:12px 0 6px; font-size:16px; }
p.note { margin:0 0 8px; color:var(--muted); font-size:14px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(200px, 1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:6px; padding:10px 12px; background:#fbfcfe; }
.card .value { font-size:26px; font-weight:600; }
.card .label { font-size:13px; color:var(--muted); }
.card .was { font-size:13px; color:var(--ink); margin-top:2px; }
.card .was.same { color:var(--muted); }
.card.bad .value { color:var(--bad); } .card.ok .value { color:var(--ok); }
.table-wrap { max-width:100%; overflow-x:auto; }
table.data { border-collapse:collapse; width:100%; font-size:14px; }
table.data th, table.data td { border:1px solid var(--line); padding:4px 8px; text-align:left; vertical-align:top; }
table.data th { background:#eef2f7; }
table.data td.num { text-align:right; }
table.data ul { margin:0; padding-left:16px; }
details summary { cursor:pointer; color:var(--accent); }
.two { display:grid; grid-template-columns:minmax(0, 1fr) minmax(0, 1fr); gap:12px; }
.js-plotly-plot, .plot-container { max-width:100%; }
@media (max-width: 900px) { .two { grid-template-columns:minmax(0, 1fr); } }
@media (max-width: %(narrow)spx) {
  header { padding:12px 12px 8px; } header h1 { font-size:19px; }
  nav { position:static; flex-wrap:nowrap; overflow-x:auto; padding:6px 12px; gap:14px; }
  main { padding:0 8px 16px; } section { padding:10px 8px; margin:10px 0; }
  .cards { grid-template-columns:repeat(auto-fill, minmax(150px, 1fr)); gap:8px; }
  .card .value { font-size:21px; }
  table.data { font-size:13px; }
  footer { padding:0 12px 16px; }
}
footer { color:var(--muted); font-size:13px; padding:0 32px 24px; }
@media print {
  @page { size: A4; margin: 10mm; }
  body { background:#fff; }
  nav { display:none; }
  header, main, footer { padding-left:0; padding-right:0; }
  section { margin:8px 0; padding:6px 8px; border:none; }
  .two { grid-template-columns:minmax(0, 1fr); }
  .table-wrap { overflow:visible; }
  details > *:not(summary) { display:block; }
}
""".replace("%(narrow)s", str(NARROW_PX))

# On a narrow screen the schools' heatmap names each school by its short label (the full one
# stays in the hover), so that the names do not take the whole width, and the coverage chart's
# factors stand upright; back on a wide one.
_NARROW_JS = """
(function () {
  var short = %(short)s, narrow = null;
  function apply() {
    var now = window.innerWidth < %(narrow)s;
    if (now === narrow) return;
    narrow = now;
    Object.keys(short).forEach(function (id) {
      var gd = document.getElementById(id);
      if (!gd || !gd.data) return;
      Plotly.relayout(gd, now ? {'yaxis.tickmode': 'array', 'yaxis.tickvals': gd.data[0].y,
                                 'yaxis.ticktext': short[id]}
                              : {'yaxis.tickmode': 'auto', 'yaxis.tickvals': null, 'yaxis.ticktext': null});
    });
    var coverage = document.getElementById('fig-coverage');  // its factors upright, none over another
    if (coverage && coverage.data) Plotly.relayout(coverage, {'xaxis.tickangle': now ? -90 : 'auto'});
  }
  var timer = null;
  window.addEventListener('resize', function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
  apply();
})();
"""
SHORT_LABEL = 24
"""Characters of a school's name on a phone's heatmap axis."""

# Redraws every chart at the printed page's width before printing, and back after. Chromium
# fires «beforeprint» for Ctrl+P and for printing to PDF; matchMedia covers browsers that only
# switch the media type.
_PRINT_JS = """
(function () {
  function fit(width) {
    document.querySelectorAll('.js-plotly-plot').forEach(function (gd) {
      Plotly.relayout(gd, width ? {width: width, autosize: false} : {width: null, autosize: true});
    });
  }
  window.addEventListener('beforeprint', function () { fit(%(width)s); });
  window.addEventListener('afterprint', function () { fit(null); });
  var media = window.matchMedia && window.matchMedia('print');
  if (media && media.addEventListener) {
    media.addEventListener('change', function (e) { fit(e.matches ? %(width)s : null); });
  }
})();
""".replace("%(width)s", str(PRINT_WIDTH_PX))


def report_html(instance: Instance, plan: Plan) -> bytes:
    """The report (UTF-8 HTML bytes), openable offline."""
    parts = {
        "summary": _summary(instance, plan),
        "timeline": _timeline(instance, plan),
        "schools": _schools_heatmap(instance, plan),
        "coverage": _coverage(instance, plan),
        "load": _load(instance, plan),
        "travel": _travel(instance, plan),
        "unmet": _unmet(instance, plan),
        "programme": _programme(instance, plan),
        "changes": _changes(instance, plan),
    }
    present = [sid for sid, body in parts.items() if body]
    h = instance.settings.horizon
    title = f"План консультаций мобильных групп: {instance.settings.region.name}"
    nav = " ".join(f'<a href="#{sid}">{html.escape(SECTIONS[sid])}</a>' for sid in present)
    zone = html.escape(instance.settings.region.timezone)
    page = f"""<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
<script>{get_plotlyjs()}</script>
<script>Plotly.register({json.dumps(_RU_LOCALE, ensure_ascii=False)});</script>
</head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<p>Экземпляр «{html.escape(plan.instance or instance.name)}», период {date_text(h.start)}–{date_text(h.end)};
статус решения: {html.escape(status_title(plan.status))}.</p>
{_replan_line(plan)}
</header>
<nav aria-label="Разделы">{nav}</nav>
<main>
{"".join(parts[sid] for sid in present)}
</main>
<footer>Отчёт построен по файлу плана; все даты и время — местные ({zone}).</footer>
<script>{_PRINT_JS}</script>
<script>{_narrow_js(instance)}</script>
</body>
</html>
"""
    return page.encode("utf-8")


def _narrow_js(instance: Instance) -> str:
    short = [_short(instance.schools[sid].name, SHORT_LABEL) for sid in school_order(instance)]
    return (_NARROW_JS.replace("%(short)s", json.dumps({"fig-schools": short}, ensure_ascii=False)
                               .replace("</", "<\\/"))
            .replace("%(narrow)s", str(NARROW_PX)))


def _replan_line(plan: Plan) -> str:
    """For a replan: the scenario it followed and its freeze date."""
    if not is_replan(plan):
        return ""
    freeze = plan.freeze_before
    since = (f" Консультации до {date_text(freeze)} — история, они не менялись; план изменён"
             f" с {date_text(freeze)}." if freeze else "")
    return (f'<p class="replan" id="replan-scenario">Перепланирование по сценарию'
            f" «{html.escape(replan_scenario(plan))}».{since}</p>")


# --- sections ------------------------------------------------------------------------------


def _section(sid: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{sid}">\n<h2>{html.escape(SECTIONS[sid])}</h2>\n{note_html}{body}\n</section>\n'


def _figure(fig: go.Figure, div_id: str) -> str:
    """A chart's HTML: its legend under the plot (the toolbar sits at the top right, and a
    legend there would lie beneath it), readable fonts."""
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top", "xanchor": "left"},
        font={"family": "Segoe UI, Roboto, Arial, sans-serif", "size": 12},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel={"align": "left"},
        separators=", ",
        template="plotly_white",
    )
    fig.update_xaxes(automargin=True, gridcolor="#e8ecf1")
    fig.update_yaxes(automargin=True, gridcolor="#e8ecf1")
    return pio.to_html(
        fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG, validate=True
    )


def _summary(instance: Instance, plan: Plan) -> str:
    """The key figures; for a replan each with the baseline's beside it («было: …»)."""
    before = baseline_figures(plan)
    cards = []
    for f in key_figures(instance, plan):
        was = ""
        if f.key in before:
            same = before[f.key] == f.value
            was = (f'<div class="was{" same" if same else ""}">'
                   f"{'как было' if same else 'было: ' + html.escape(before[f.key])}</div>")
        cards.append(
            f'<div class="card {f.tone}" id="figure-{f.key}"><div class="value">{html.escape(f.value)}</div>'
            f'<div class="label">{html.escape(f.label)}</div>{was}</div>'
        )
    note = "Рядом с каждой цифрой — она же в прежнем плане." if before else ""
    return _section("summary", '<div class="cards">' + "".join(cards) + "</div>", note)


def _timeline(instance: Instance, plan: Plan) -> str:
    """One row per consultant, one bar per session day, coloured by the topic's stage."""
    names = {cid: c.name for cid, c in instance.consultants.items()}
    order = sorted(
        {s.consultant for s in plan.sessions}, key=lambda c: names.get(c, c), reverse=True
    )
    by_stage: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for s in sessions_in_order(plan):
        topic = instance.topics.get(s.topic)
        stage = topic.stage if topic else None
        start = local_time(instance, s.start)
        day = datetime(start.year, start.month, start.day)
        schools = [school_name(instance, x) for x in s.schools]
        shown = "; ".join(schools[:MAX_HOVER_SCHOOLS]) + (
            f" и ещё {len(schools) - MAX_HOVER_SCHOOLS}" if len(schools) > MAX_HOVER_SCHOOLS else ""
        )
        where = "ВКС" if s.format == Format.ONLINE else municipality_name(instance, s.municipality)
        d = by_stage[str(stage) if stage else "?"]
        d["y"].append(names.get(s.consultant, s.consultant))
        d["base"].append(day.isoformat())
        d["x"].append(DAY_MS)
        d["text"].append(
            _esc(
                f"{session_when(instance, s)}<br>{_short(topic_title(instance, s.topic), 90)}"
                f"<br>{where}<br>Школы ({len(schools)}): {_short(shown, 200)}",
                keep_br=True,
            )
        )
    fig = go.Figure()
    for stage in list(Stage) + ["?"]:
        d = by_stage.get(str(stage))
        if not d:
            continue
        fig.add_trace(
            go.Bar(
                y=d["y"],
                x=d["x"],
                base=d["base"],
                orientation="h",
                name=STAGE_LABELS.get(stage, "тема не найдена"),
                marker={"color": STAGE_COLORS.get(stage, "#999999")},
                hovertext=d["text"],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    _shade_closed_periods(fig, instance)
    fig.update_layout(barmode="overlay", height=max(300, 34 * len(order) + 160))
    fig.update_xaxes(
        type="date",
        tickformat="%B",
        dtick="M1",
        ticklabelmode="period",
        range=[
            instance.settings.horizon.start.isoformat(),
            (instance.settings.horizon.end + timedelta(days=1)).isoformat(),
        ],
    )
    fig.update_yaxes(categoryorder="array", categoryarray=[names.get(c, c) for c in order])
    note = (
        "Сверху — консультации каждого месяца по этапам работы со школой и сколько школ они "
        "охватывают. Ниже — кто и когда консультирует: полоска — день консультации, цвет — этап. "
        "Наведите курсор, чтобы увидеть тему, время и школы. Серым — закрытые месяцы и каникулы."
    )
    if not plan.sessions:
        return _section("timeline", "<p>Консультаций в плане нет.</p>", note)
    return _section("timeline", _months_figure(instance, plan) + _figure(fig, "fig-timeline"), note)


def _months_figure(instance: Instance, plan: Plan) -> str:
    """Consultations per month, stacked by stage, and the schools they reach (a line): support
    through the year at a glance."""
    months = [m for m, *_rest in month_support(instance, plan)]
    per_stage: dict[str, Counter] = defaultdict(Counter)
    for s in plan.sessions:
        topic = instance.topics.get(s.topic)
        per_stage[str(topic.stage) if topic else "?"][session_month(instance, s)] += 1
    labels = [_month_label(m, months) for m in months]
    fig = go.Figure()
    for stage in list(Stage) + ["?"]:
        counts = per_stage.get(str(stage))
        if not counts:
            continue
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[counts.get(m, 0) for m in months],
                name=STAGE_LABELS.get(stage, "тема не найдена"),
                marker={"color": STAGE_COLORS.get(stage, "#999999")},
                hovertemplate=f"%{{x}}: %{{y}} ({STAGE_LABELS.get(stage, '?')})<extra></extra>",
            )
        )
    reached = [n for _m, _t, _v, n in month_support(instance, plan)]
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=reached,
            yaxis="y2",
            name="школ получили консультацию",
            mode="lines+markers",
            line={"color": "#444444", "width": 2},
            hovertemplate="%{x}: школ %{y}<extra></extra>",
        )
    )
    fig.update_layout(
        barmode="stack",
        height=400,
        yaxis={"title": {"text": "консультаций"}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "школ"}, "overlaying": "y", "side": "right", "rangemode": "tozero",
                "showgrid": False, "tickformat": "d"},
    )
    return _figure(fig, "fig-months")


def _month_label(month: str, months: list[str]) -> str:
    """«мар» when every month is in one year, else «мар 22»: short enough for a phone."""
    short = _RU_LOCALE["format"]["shortMonths"][int(month[5:7]) - 1]  # type: ignore[index]
    return short if len({m[:4] for m in months}) == 1 else f"{short} {month[2:4]}"


def _shade_closed_periods(fig: go.Figure, instance: Instance) -> None:
    h = instance.settings.horizon
    for month in h.blocked_months:
        fig.add_vrect(
            x0=month_first_day(month).isoformat(),
            x1=(month_last_day(month) + timedelta(days=1)).isoformat(),
            fillcolor="#9aa5b1",
            opacity=0.18,
            line_width=0,
            layer="below",
        )
    for r in h.vacations:
        fig.add_vrect(
            x0=r.start.isoformat(),
            x1=(r.end + timedelta(days=1)).isoformat(),
            fillcolor="#9aa5b1",
            opacity=0.12,
            line_width=0,
            layer="below",
        )


def _schools_heatmap(instance: Instance, plan: Plan) -> str:
    """School × month: how many consultations the school attends; hover lists the topics."""
    months = sorted(
        set(instance.calendar.open_months) | {session_month(instance, s) for s in plan.sessions}
    )
    schools = school_order(instance)
    col = {m: i for i, m in enumerate(months)}
    counts = [[0] * len(months) for _ in schools]
    topics: list[list[list[str]]] = [[[] for _ in months] for _ in schools]
    row = {sid: i for i, sid in enumerate(schools)}
    for s in sessions_in_order(plan):
        m = session_month(instance, s)
        for school in s.schools:
            if school in row and m in col:
                counts[row[school]][col[m]] += 1
                topics[row[school]][col[m]].append(
                    f"{local_time(instance, s.start):%d.%m} {_short(topic_title(instance, s.topic), 70)}"
                )
    # The axis names each school once (its municipality only when another school has the same
    # name: `school_label`); the hover gives the municipality.
    labels = [_esc(school_name(instance, sid)) for sid in schools]
    full = [_esc(_school_with_municipality(instance, sid)) for sid in schools]
    hover = [
        [(full[i] + "<br>" + (_esc("<br>".join(cell), keep_br=True) or "нет консультаций")) for cell in r]
        for i, r in enumerate(topics)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=[_month_label(m, months) for m in months],
            y=labels,
            customdata=hover,
            text=[[str(n) if n else "" for n in r] for r in counts],
            texttemplate="%{text}",
            colorscale=[[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
            zmin=0,
            zmax=max(2, max((max(r) for r in counts), default=0)),
            xgap=2,
            ygap=1,
            showscale=False,  # every cell prints its number
            hovertemplate="%{x}: %{z}<br>%{customdata}<extra></extra>",
        )
    )
    fig.update_layout(height=max(300, 20 * len(schools) + 140))
    fig.update_yaxes(autorange="reversed", tickfont={"size": 11})
    fig.update_xaxes(side="top")
    limit = instance.settings.rules.school_max_sessions_per_month
    note = (
        f"Строка — школа (по муниципалитетам), столбец — месяц; цифра — число консультаций "
        f"(не больше {limit} в месяц). Пустая строка — школа без консультаций."
    )
    body = _figure(fig, "fig-schools") if schools else "<p>Школ в экземпляре нет.</p>"
    return _section("schools", body, note)


def _school_with_municipality(instance: Instance, school_id: str) -> str:
    """«<школа>, <муниципальное образование>», the municipality once (a label that already
    carries it, for a name two schools share, is not given it again)."""
    sch = instance.schools.get(school_id)
    label = school_name(instance, school_id)
    if sch is None:
        return label
    mun = municipality_name(instance, sch.municipality)
    return label if mun and mun in label else f"{label}, {mun}"


def _coverage(instance: Instance, plan: Plan) -> str:
    rows = risk_coverage(instance, plan)
    x = ["Вериф." if r.risk == VERIFICATION_NEED else r.risk for r in rows]
    titles = [_esc(_short(r.title, 90)) for r in rows]
    fig = go.Figure()
    for values, name, color, label in (
        ([r.needed for r in rows], "нужно школам", "#c6dbef", "нужно"),
        ([r.covered for r in rows], "закрыто планом", "#1b7837", "закрыто"),
    ):
        fig.add_trace(
            go.Bar(
                x=x,
                y=values,
                name=name,
                marker={"color": color},
                hovertext=titles,
                hovertemplate=f"%{{hovertext}}<br>{label}: %{{y}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="group", height=400)
    fig.update_yaxes(title={"text": "школ"})
    table = _table(
        ["Фактор", "Название", "Нужно школам", "Закрыто", "Не закрыто"],
        [[r.risk if r.risk != VERIFICATION_NEED else "Верификация", r.title, r.needed, r.covered,
          r.needed - r.covered] for r in rows],
        numeric={2, 3, 4},
        table_id="coverage-table",
    )
    note = (
        "Для каждого фактора риска: сколько школ работают с ним (рисковый профиль) и скольким из них "
        "план даёт консультацию по теме, которая его закрывает."
    )
    return _section("coverage", _figure(fig, "fig-coverage") + table, note)


def _load(instance: Instance, plan: Plan) -> str:
    """Consultant × month: sessions against `max_per_month` (colour = share of the limit)."""
    load = consultant_month_load(instance, plan)
    months = sorted({m for r in load.values() for m in r})
    cids = sorted(load, key=lambda c: consultant_name(instance, c))
    z, text, counts = [], [], []
    for cid in cids:
        c = instance.consultants.get(cid)
        cap = c.max_per_month if c else 0
        z.append([(load[cid].get(m, 0) / cap) if cap else 0 for m in months])
        text.append([f"{load[cid].get(m, 0)} из {cap}" for m in months])
        counts.append([str(load[cid].get(m, 0)) for m in months])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[_month_label(m, months) for m in months],
            y=[_esc(consultant_name(instance, c)) for c in cids],
            text=counts,
            customdata=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            xgap=2,
            ygap=2,
            colorscale=[[0, "#ffffff"], [0.5, "#fdd49e"], [1, "#d7301f"]],
            showscale=False,
            hovertemplate="%{y}<br>%{x}: %{customdata} консультаций в месяц<extra></extra>",
        )
    )
    fig.update_layout(height=max(260, 30 * len(cids) + 120))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")
    totals = Counter(s.consultant for s in plan.sessions)
    table = _table(
        [
            "Консультант",
            "Должность",
            "Консультаций за период",
            "Не больше за период",
            "Не больше в месяц",
        ],
        [
            [
                c.name,
                c.position,
                totals.get(cid, 0),
                c.max_total if c.max_total is not None else "—",
                c.max_per_month,
            ]
            for cid, c in sorted(instance.consultants.items(), key=lambda kv: kv[1].name)
        ],
        numeric={2, 3, 4},
        table_id="load-table",
    )
    note = ("В клетке — консультаций в месяц; чем краснее, тем ближе к лимиту консультанта "
            "(наведите курсор: «сколько из скольких»).")
    return _section("load", _figure(fig, "fig-load") + table, note)


def _travel(instance: Instance, plan: Plan) -> str:
    """Municipality centres on lon/lat (no map tiles), routes home → venue, km per consultant."""
    trips: Counter = Counter()
    km: Counter = Counter()
    for s in plan.sessions:
        if (
            s.format == Format.ONSITE
            and s.municipality in instance.municipalities
            and s.consultant in instance.consultants
        ):
            trips[(s.consultant, s.municipality)] += 1
            km[s.consultant] += instance.round_trip_km(s.consultant, s.municipality)
    muns = instance.municipalities
    if not muns:
        return _section("travel", "<p>В экземпляре нет муниципальных образований.</p>")
    visits = Counter()
    for (_c, m), n in trips.items():
        visits[m] += n
    fig = go.Figure()
    # One trace of routes: segments separated by gaps (None), width by frequency via opacity.
    xs, ys = [], []
    for (cid, mid), _n in sorted(trips.items()):
        home = muns.get(instance.consultants[cid].municipality)
        if home is None or home.id == mid:
            continue
        xs += [home.lon, muns[mid].lon, None]
        ys += [home.lat, muns[mid].lat, None]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name="маршруты выездов",
            line={"color": "rgba(33,102,172,0.35)", "width": 2},
            hoverinfo="skip",
        )
    )
    homes = {c.municipality for c in instance.consultants.values()}
    ids = sorted(muns)
    fig.add_trace(
        go.Scatter(
            x=[muns[m].lon for m in ids],
            y=[muns[m].lat for m in ids],
            mode="markers",
            name="муниципалитеты",
            marker={
                "size": [8 + 3 * math.sqrt(visits.get(m, 0)) * 2 for m in ids],
                "color": ["#d7301f" if visits.get(m) else "#bdbdbd" for m in ids],
                "line": {"width": 1, "color": "white"},
            },
            text=[_esc(muns[m].name) for m in ids],
            customdata=[visits.get(m, 0) for m in ids],
            hovertemplate="%{text}<br>выездных консультаций: %{customdata}<extra></extra>",
        )
    )
    home_ids = sorted(m for m in homes if m in muns)
    fig.add_trace(
        go.Scatter(
            x=[muns[m].lon for m in home_ids],
            y=[muns[m].lat for m in home_ids],
            mode="markers",
            name="где живут консультанты",
            marker={"symbol": "star", "size": 13, "color": "#2166ac"},
            text=[
                _esc(
                    muns[m].name
                    + ": "
                    + ", ".join(
                        c.name for c in instance.consultants.values() if c.municipality == m
                    )
                )
                for m in home_ids
            ],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    mean_lat = sum(m.lat for m in muns.values()) / len(muns)
    fig.update_yaxes(
        scaleanchor="x",
        scaleratio=1 / max(0.2, math.cos(math.radians(mean_lat))),
        title={"text": "широта, °"},
        constrain="domain",
    )
    fig.update_xaxes(title={"text": "долгота, °"}, constrain="domain")
    fig.update_layout(height=600)

    ranked = sorted(km.items(), key=lambda kv: kv[1])
    bar = go.Figure(
        go.Bar(
            x=[v for _c, v in ranked],
            y=[_esc(consultant_name(instance, c)) for c, _v in ranked],
            orientation="h",
            marker={"color": "#2166ac"},
            text=[_thousands(v) for _c, v in ranked],
            textposition="auto",
            hovertemplate="%{y}: %{x} км<extra></extra>",
        )
    )
    bar.update_layout(height=max(220, 30 * len(ranked) + 100))
    bar.update_xaxes(title={"text": "км за период (туда и обратно)"})
    total = sum(km.values())
    note = (
        f"Точки — центры муниципальных образований (крупнее и краснее — больше выездных консультаций), "
        f"звёзды — где живут консультанты, линии — поездки. Всего в дороге {_thousands(total)} км."
    )
    km_part = (
        _figure(bar, "fig-travel-km") if ranked else "<p>Выездных консультаций в плане нет.</p>"
    )
    body = f'<div class="two"><div>{_figure(fig, "fig-travel-map")}</div><div>{km_part}</div></div>'
    return _section("travel", body, note)


def _unmet(instance: Instance, plan: Plan) -> str:
    if not plan.unmet:
        return _section(
            "unmet",
            '<p id="unmet-none">Непокрытых потребностей нет: каждый риск каждой школы '
            "закрыт консультацией, каждая школа верифицирована.</p>",
        )
    by_reason = Counter(u.reason for u in plan.unmet)
    summary = _table(
        ["Причина", "Потребностей"],
        [[r, n] for r, n in by_reason.most_common()],
        numeric={1},
        table_id="unmet-reasons",
    )
    rows = []
    for u in sorted(plan.unmet, key=lambda u: (school_name(instance, u.school), u.risk)):
        school = instance.schools.get(u.school)
        rows.append(
            [
                school_name(instance, u.school),
                municipality_name(instance, school.municipality) if school else "",
                school.priority if school else "",
                risk_title(instance, u.risk)
                if u.risk == VERIFICATION_NEED
                else f"{u.risk} {risk_title(instance, u.risk)}",
                u.reason,
            ]
        )
    table = _table(
        ["Школа", "Муниципальное образование", "Приоритет", "Потребность", "Причина"],
        rows,
        numeric={2},
        table_id="unmet-table",
    )
    note = "Каждая потребность, которую план не закрывает, с причиной: что нужно изменить, чтобы её закрыть."
    return _section("unmet", summary + "<br>" + table, note)


def _programme(instance: Instance, plan: Plan) -> str:
    """Topics not held and schools left without support too long, each with its reason."""
    rows = programme_exceptions(instance, plan)
    if not rows:
        return _section(
            "programme",
            '<p id="programme-none">Отступлений нет: проведены все темы программы, которые нужны '
            "школам, и ни одна школа не остаётся без консультаций дольше, чем позволяют правила.</p>",
        )
    table = _table(
        ["Отступление", "Тема или школа", "Муниципальное образование", "Месяцы", "Причина"],
        [[e.kind, e.subject, e.municipality, e.months, e.reason] for e in rows],
        table_id="programme-table",
    )
    note = "Каждое отступление с причиной: что нужно изменить, чтобы его не было."
    return _section("programme", table, note)


def _changes(instance: Instance, plan: Plan) -> str:
    """For a replanned plan: every changed session, its format and place, every school with
    its municipality (a long list folds, nothing is cut), no internal ids."""
    if not is_replan(plan):
        return ""
    changes = plan_changes(instance, plan)
    if not changes:
        return _section(
            "changes",
            '<p id="changes-none">Изменений нет: опубликованный график остаётся в силе.</p>',
        )
    kinds = Counter(c.title for c in changes)
    head = "; ".join(f"{k}: {n}" for k, n in kinds.most_common())
    rows = []
    for c in changes:
        who = c.consultant
        if c.consultant_changed:
            who = f"{c.consultant_after} (вместо {c.consultant_before})"
        rows.append([
            html.escape(c.title),
            html.escape(c.topic),
            html.escape(moment_text(c.before)),
            html.escape(moment_text(c.after)),
            html.escape(who),
            html.escape(c.where),
            _school_list(schools_lines(c)),
        ])
    table = _table(
        ["Изменение", "Тема", "Было", "Стало", "Консультант", "Формат и место", "Школы"],
        rows,
        table_id="changes-table",
        raw=True,
    )
    freeze = plan.freeze_before
    since = f" (с {date_text(freeze)})" if freeze else ""
    options = replan_options_rows(plan)
    both = ""
    if options:
        both = (f"<h3>Варианты перепланирования</h3><p>{html.escape(replan_options_price(plan))}</p>"
                + _table(["Показатель", *options[0][1]], [[label, *cells] for label, cells in options[1:]],
                         table_id="options-table") + "<h3>Изменённые консультации</h3>")
    return _section(
        "changes",
        both + f"<p>Изменено консультаций относительно прежнего плана{since}: {len(changes)}"
        f" ({html.escape(head)}).</p>" + table,
        "Школы — каждая со своим муниципальным образованием; «+» — школа добавлена, «−» — снята.",
    )


def _school_list(lines: list[str], fold: int = MAX_HOVER_SCHOOLS) -> str:
    """Schools one a line; more than `fold` fold under «N школ» (opened by a click), never cut."""
    items = "".join(f"<li>{html.escape(x)}</li>" for x in lines)
    if len(lines) <= fold:
        return f"<ul>{items}</ul>"
    return f"<details><summary>{len(lines)} школ</summary><ul>{items}</ul></details>"


# --- helpers -------------------------------------------------------------------------------


def _table(
    header: list[str],
    rows: list[list[object]],
    numeric: set[int] = frozenset(),  # type: ignore[assignment]
    table_id: str = "",
    raw: bool = False,
) -> str:
    """An HTML table in a box that scrolls sideways by itself when the screen is narrower
    (the page never does). `raw`: the cells are HTML already escaped."""
    ident = f' id="{table_id}"' if table_id else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)

    def cell(v: object) -> str:
        return str(v) if raw else html.escape(str(v))

    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell(v)}</td>' if i in numeric else f"<td>{cell(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (f'<div class="table-wrap"><table class="data"{ident}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _esc(text: str, keep_br: bool = False) -> str:
    """Text for plotly labels: plotly reads a little HTML, so instance texts are escaped."""
    if keep_br:
        return "<br>".join(html.escape(part, quote=False) for part in text.split("<br>"))
    return html.escape(text, quote=False)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0")
