"""The dated roadmap as people read it: the orders' own table, and a CSV of it.

Columns as in the orders (seeds 000, 001, 002): №, Описание действий, Дата реализации,
Исполнители, Показатель реализации — plus «Резерв, раб. дн.» (slack; «крит.» on the critical
path) and any extra column of `roadmap.csv` (e.g. Kalmykia's «Уровни реализации»).
"""

from __future__ import annotations

import csv
import io
import textwrap

from models.domain import Instance
from models.roadmap import RoadmapResult, date_span, executors_of, roadmap_summary_lines
from planner.exports.plan_io import safe_cell

HEADERS = ("№", "Описание действий", "Дата реализации", "Исполнители", "Показатель реализации",
           "Резерв, раб. дн.")
WIDTHS = (5, 46, 23, 28, 30, 9)
EXTRA_WIDTH = 18
EXTRA_TITLES = {"level": "Уровни реализации", "source": "Источник"}
"""Russian headings of extra roadmap.csv columns this project knows; others keep their name."""


def roadmap_rows(instance: Instance, result: RoadmapResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the dated roadmap, in the file's order."""
    dates = result.dates()
    extra_cols = list(dict.fromkeys(k for a in instance.activities.values() for k, _ in a.extra))
    header = list(HEADERS) + [EXTRA_TITLES.get(c, c) for c in extra_cols]
    rows = []
    for a in instance.activities.values():
        d = dates.get(a.id)
        when = date_span(d.start, d.end) if d else "—"
        slack = "—" if d is None or d.slack_days is None else str(d.slack_days)
        if d is not None and d.critical:
            slack += " крит."
        extra = dict(a.extra)
        rows.append([a.id, a.title, when, ", ".join(executors_of(a)), a.indicator, slack]
                    + [extra.get(c, "") for c in extra_cols])
    return header, rows


def roadmap_table(instance: Instance, result: RoadmapResult) -> str:
    """A plain-text table with wrapped cells, then the critical path and slack."""
    header, rows = roadmap_rows(instance, result)
    widths = list(WIDTHS) + [EXTRA_WIDTH] * (len(header) - len(WIDTHS))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule, *_row_lines(header, widths), rule.replace("-", "=")]
    for row in rows:
        lines += _row_lines(row, widths)
        lines.append(rule)
    lines += roadmap_summary_lines(instance, result)
    return "\n".join(lines)


def _row_lines(cells: list[str], widths: list[int]) -> list[str]:
    wrapped = [textwrap.wrap(c or "", w, break_long_words=True) or [""] for c, w in zip(cells, widths, strict=True)]
    height = max(len(w) for w in wrapped)
    out = []
    for k in range(height):
        parts = [(w[k] if k < len(w) else "").ljust(width) for w, width in zip(wrapped, widths, strict=True)]
        out.append("| " + " | ".join(parts) + " |")
    return out


def roadmap_csv_text(instance: Instance, result: RoadmapResult) -> str:
    """The dated roadmap as CSV (UTF-8 with BOM for Excel): the table's columns plus id and
    ISO start/end, so that it can be filtered and sorted."""
    dates = result.dates()
    header, rows = roadmap_rows(instance, result)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", *header[1:], "start", "end", "critical"])
    for row, a in zip(rows, instance.activities.values(), strict=True):
        d = dates.get(a.id)
        slack = "" if d is None or d.slack_days is None else str(d.slack_days)
        w.writerow([safe_cell(v) for v in (
            row[0], *row[1:5], slack, *row[6:],
            d.start.isoformat() if d else "", d.end.isoformat() if d else "",
            "да" if d and d.critical else "")])
    return "\ufeff" + buf.getvalue()
