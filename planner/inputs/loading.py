"""Files -> raw tables. Reading only: no meaning is checked here (see validation.py).

An instance is either a folder (CSV files + `instance.toml`) or one `.xlsx` workbook
(one sheet per CSV file, named like the file without `.csv`, plus a sheet `instance`
of key/value rows). Input files are opened read-only and never written.

Encoding decision: CSV files should be UTF-8 (a BOM is accepted). A file that is not
valid UTF-8 is read as Windows-1251 — what Russian Excel writes for «CSV» — and the
loader adds a warning saying so; such a file is never rejected for its encoding alone.
A file saved with `;` as the column separator (Russian Excel's default) is read too,
with a warning.
"""

from __future__ import annotations

import io
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from models.problems import InputError, Problem
from planner.inputs.tables import SETTINGS_FILE, SETTINGS_SHEET, TABLE_SPECS


@dataclass
class RawTable:
    """A table as read: rows keyed by column name, each with its spreadsheet row number."""

    name: str
    display: str  # how messages name the file: "schools.csv" or "x.xlsx, лист «schools»"
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


@dataclass
class RawInstance:
    name: str
    source: Path
    settings: dict[str, dict[str, Any]]
    settings_display: str
    tables: dict[str, RawTable]
    problems: list[Problem] = field(default_factory=list)
    settings_rows: dict[tuple[str, str], int] = field(default_factory=dict)


def read_instance(path: Path) -> RawInstance:
    """Read an instance folder or workbook. Raises InputError when it cannot even be read."""
    path = Path(path)
    if not path.exists():
        raise InputError([Problem(str(path), "нет такого файла или папки")])
    if path.is_dir():
        return _read_folder(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_workbook(path)
    raise InputError(
        [Problem(str(path), "ожидается папка с CSV-файлами и instance.toml или книга Excel .xlsx")]
    )


# --- folder form -------------------------------------------------------------------------


def _read_folder(folder: Path) -> RawInstance:
    problems: list[Problem] = []
    settings: dict[str, dict[str, Any]] = {}
    toml_path = folder / SETTINGS_FILE
    if not toml_path.exists():
        problems.append(Problem(SETTINGS_FILE, "нет файла настроек instance.toml в папке экземпляра"))
    else:
        try:
            settings = tomllib.loads(_decode(toml_path.read_bytes(), SETTINGS_FILE, problems))
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem(SETTINGS_FILE, f"файл не читается как TOML: {exc}"))

    tables: dict[str, RawTable] = {}
    for spec in TABLE_SPECS.values():
        file = folder / spec.file
        if not file.exists():
            if spec.required:
                problems.append(Problem(spec.file, "нет обязательного файла"))
            continue
        table = _read_csv(file, spec.name, problems)
        if table is not None:
            tables[spec.name] = table
    return RawInstance(folder.name, folder, settings, SETTINGS_FILE, tables, problems)


def _decode(data: bytes, display: str, problems: list[Problem]) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        problems.append(
            Problem(display, "файл не в кодировке UTF-8 и не в Windows-1251; сохраните его как «CSV UTF-8»")
        )
        return ""
    problems.append(
        Problem(
            display,
            "файл в кодировке Windows-1251 (так сохраняет Excel); прочитан, но лучше сохранять"
            " как «CSV UTF-8 (разделитель — запятая)»",
            severity="warning",
        )
    )
    return text


def _read_csv(file: Path, name: str, problems: list[Problem]) -> RawTable | None:
    display = file.name
    text = _decode(file.read_bytes(), display, problems)
    if not text.strip():
        problems.append(Problem(display, "файл пуст: нужна строка заголовка и хотя бы одна строка данных"))
        return None
    first_line = text.splitlines()[0]
    sep = ","
    if ";" in first_line and "," not in first_line:
        sep = ";"
        problems.append(
            Problem(
                display,
                "столбцы разделены «;» (так сохраняет русский Excel); файл прочитан, но по договорённости"
                " разделитель — запятая",
                severity="warning",
            )
        )
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        problems.append(Problem(display, f"файл не читается как CSV: {exc}"))
        return None
    return _to_table(frame, name, display, problems)


# --- workbook form -----------------------------------------------------------------------


def _read_workbook(book: Path) -> RawInstance:
    problems: list[Problem] = []
    try:
        sheets = pd.read_excel(book, sheet_name=None, dtype=object, header=0, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InputError([Problem(book.name, f"книга Excel не открывается: {exc}")]) from None

    settings: dict[str, dict[str, Any]] = {}
    settings_rows: dict[tuple[str, str], int] = {}
    settings_display = f"{book.name}, лист «{SETTINGS_SHEET}»"
    if SETTINGS_SHEET not in sheets:
        problems.append(Problem(settings_display, "нет листа настроек «instance» (столбцы key, value)"))
    else:
        frame = sheets[SETTINGS_SHEET].map(_cell_text)
        cols = [str(c).strip().lower() for c in frame.columns]
        frame.columns = cols
        if "key" not in cols or "value" not in cols:
            problems.append(Problem(settings_display, "на листе нужны столбцы «key» и «value»"))
        else:
            for i, rec in enumerate(frame.to_dict("records")):
                key, value = rec["key"].strip(), rec["value"].strip()
                if not key or not value:
                    continue  # an empty value takes the default
                section, _, item = key.partition(".")
                if not item:
                    problems.append(
                        Problem(
                            settings_display,
                            "ключ должен иметь вид «раздел.ключ», например «horizon.start»",
                            row=i + 2,
                            column="key",
                            value=key,
                        )
                    )
                    continue
                settings.setdefault(section, {})[item] = value
                settings_rows[(section, item)] = i + 2

    tables: dict[str, RawTable] = {}
    for spec in TABLE_SPECS.values():
        display = f"{book.name}, лист «{spec.name}»"
        if spec.name not in sheets:
            if spec.required:
                problems.append(Problem(display, "нет обязательного листа"))
            continue
        frame = sheets[spec.name].map(_cell_text)
        frame.columns = [_cell_text(c) for c in frame.columns]
        if frame.empty and all(c.startswith("Unnamed") for c in frame.columns):
            problems.append(Problem(display, "лист пуст: нужна строка заголовка и хотя бы одна строка данных"))
            continue
        table = _to_table(frame, spec.name, display, problems)
        if table is not None:
            tables[spec.name] = table
    name = book.stem
    return RawInstance(name, book, settings, settings_display, tables, problems, settings_rows)


def _cell_text(value: object) -> str:
    """An Excel cell as the text a person sees (dates as ISO, whole numbers without .0)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN: an empty cell
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


# --- common ------------------------------------------------------------------------------


def _to_table(frame: pd.DataFrame, name: str, display: str, problems: list[Problem]) -> RawTable | None:
    columns = [str(c).strip().lower() for c in frame.columns]
    frame.columns = columns
    rows: list[tuple[int, dict[str, str]]] = []
    for i, record in enumerate(frame.to_dict("records")):
        clean = {k: ("" if v is None else str(v)).strip() for k, v in record.items()}
        if not any(clean.values()):
            continue  # a blank line: skipped, but numbering stays as the spreadsheet shows it
        rows.append((i + 2, clean))
    if not rows:
        spec = TABLE_SPECS.get(name)
        if spec is not None and not spec.required:
            missing = [c for c in spec.required_columns if c not in columns]
            if not missing:
                return None  # an optional table left with its header only counts as absent
            # A header that is not the contract's is an error even without rows: a file of
            # junk (or another table saved under this name) must not pass as "absent".
            shown = re.sub(r"[^\w\s,;.«»()-]", "?", ", ".join(c for c in columns if c))[:80]
            problems.append(Problem(
                display, "строка заголовка не такая, как в описании формата: нет обязательных столбцов "
                + ", ".join(f"«{c}»" for c in missing) + " (нужны " + ", ".join(spec.column_names)
                + "); исправьте заголовок или удалите необязательный файл",
                row=1, value=shown or None))
            return None
        problems.append(Problem(display, "в таблице нет ни одной строки данных"))
    return RawTable(name, display, columns, rows)
