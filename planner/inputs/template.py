"""`planner template`: the workbook a working group fills in.

One sheet per table of the contract with its headers, a Russian note on every
header cell, drop-down lists where the values are fixed, one example row (or the
data of an existing instance with `--from`), a sheet `instance` of settings, and a
sheet «Пояснения» explaining every column in one place.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from models.settings import settings_table
from planner.inputs.loading import read_instance
from planner.inputs.tables import SETTINGS_SHEET, TABLE_SPECS
from planner.inputs.validation import builtin_risks

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_EXAMPLE_SETTINGS = {
    ("region", "name"): "Кемеровская область – Кузбасс",
    ("region", "timezone"): "Asia/Novokuznetsk",
    ("horizon", "start"): "2022-03-01",
    ("horizon", "end"): "2022-12-31",
    ("horizon", "blocked_months"): "2022-07;2022-08",
    ("horizon", "vacations"): "2022-10-29..2022-11-06",
}


def write_template(out: Path, source: Path | None = None) -> Path:
    """Write the workbook to `out` atomically (complete or not at all)."""
    if out.suffix.lower() != ".xlsx":
        out = out.with_suffix(".xlsx")
    raw = read_instance(source) if source is not None else None
    wb = Workbook()
    notes = wb.active
    notes.title = "Пояснения"
    _notes_sheet(notes)

    for spec in TABLE_SPECS.values():
        ws = wb.create_sheet(spec.name)
        for j, col in enumerate(spec.columns, start=1):
            cell = ws.cell(row=1, column=j, value=col.name)
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
            mark = "обязательный столбец" if col.required else "необязательный столбец"
            cell.comment = Comment(f"{col.doc}\n({mark})", "planner")
            ws.column_dimensions[get_column_letter(j)].width = max(12, min(60, len(col.example) + 4))
            # Text format keeps Excel from turning ids, months and dates into numbers or dates.
            for row in range(2, 1001):
                ws.cell(row=row, column=j).number_format = "@"
            if col.choices:
                dv = DataValidation(
                    type="list",
                    formula1='"' + ",".join(col.choices) + '"',
                    allow_blank=True,
                    showDropDown=False,  # (sic: False shows the arrow)
                    promptTitle=col.name,
                    prompt=col.doc[:250],
                    showInputMessage=True,
                )
                if col.is_list:
                    # A list cell holds several codes "R01;R03": offer the list, accept any text.
                    dv.showErrorMessage = False
                else:
                    dv.showErrorMessage = True
                    dv.errorTitle = "Недопустимое значение"
                    dv.error = "Выберите значение из списка: " + ", ".join(col.choices)
                ws.add_data_validation(dv)
                letter = get_column_letter(j)
                dv.add(f"{letter}2:{letter}1000")
        ws.freeze_panes = "A2"
        if raw is not None and spec.name in raw.tables:
            extra = [c for c in raw.tables[spec.name].columns if c not in spec.column_names]
            for j, name in enumerate(extra, start=len(spec.columns) + 1):
                _put(ws.cell(row=1, column=j), name).font = Font(bold=True)
        if raw is not None:
            rows = _source_rows(raw, spec.name)
        elif spec.name == "risks":
            rows = [[r.id, r.title] for r in builtin_risks().values()]  # the full catalogue
        else:
            rows = [[c.example for c in spec.columns]]
        for i, values in enumerate(rows, start=2):
            for j, value in enumerate(values, start=1):
                _put(ws.cell(row=i, column=j), value)

    ws = wb.create_sheet(SETTINGS_SHEET)
    for j, head in enumerate(("key", "value", "описание"), start=1):
        cell = ws.cell(row=1, column=j, value=head)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 90
    source_settings = _source_settings(raw) if raw is not None else _EXAMPLE_SETTINGS
    row = 2
    for section, key, default, doc in settings_table():
        value = source_settings.get((section, key))
        if value is None and raw is not None:
            continue
        ws.cell(row=row, column=1, value=f"{section}.{key}")
        _put(ws.cell(row=row, column=2), value if value is not None else "").number_format = "@"
        ws.cell(row=row, column=3, value=f"{doc} По умолчанию: {default}.")
        row += 1
    ws.freeze_panes = "A2"

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=out.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


FORMULA_STARTS = ("=", "+", "-", "@")


def _put(cell, value):
    """Text from data stored as a string, never a formula: openpyxl makes any text starting
    with «=» a formula (a school named `=HYPERLINK(…)` would become a live link). Returns the cell."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True  # Excel shows it as typed, and keeps it text when edited
    return cell


def _notes_sheet(ws) -> None:
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions["C"].width = 110
    ws.append(["Как заполнять книгу"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([
        "Каждый лист — одна таблица. Первая строка — заголовки (не меняйте их). Списки внутри ячейки"
        " пишутся через «;». Даты — ГГГГ-ММ-ДД, месяцы — ГГГГ-ММ. Проверка: planner check КНИГА.xlsx"
    ])
    ws.append([])
    ws.append(["лист", "столбец", "что писать"])
    for cell in ws[4]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    for spec in TABLE_SPECS.values():
        ws.append([spec.name, "", spec.doc])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        for col in spec.columns:
            need = "обязательный" if col.required else "необязательный"
            choices = f" Допустимые значения: {', '.join(col.choices)}." if col.choices else ""
            ws.append([spec.name, col.name, f"{col.doc}{choices} ({need}; пример: {col.example or '—'})"])
    ws.append([SETTINGS_SHEET, "key / value", "Настройки: ключ «раздел.ключ» и значение; пустое значение ="
               " значение по умолчанию (см. столбец «описание»)."])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _source_rows(raw, name: str) -> list[list[str]]:
    table = raw.tables.get(name)
    if table is None:
        return []
    spec = TABLE_SPECS[name]
    extra = [c for c in table.columns if c not in spec.column_names]
    return [[rec.get(c, "") for c in spec.column_names + extra] for _, rec in table.rows]


def _source_settings(raw) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for section, items in raw.settings.items():
        if not isinstance(items, dict):
            continue
        for key, value in items.items():
            out[(section, key)] = _setting_text(value)
    return out


def _setting_text(value: object) -> str:
    if isinstance(value, dict):  # a TOML table, e.g. [roadmap.executor_limits]: «ключ=значение;…»
        return ";".join(f"{k}={_setting_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        if value and all(isinstance(v, list) and len(v) == 2 for v in value):
            return ";".join(f"{_setting_text(a)}..{_setting_text(b)}" for a, b in value)
        return ";".join(_setting_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
