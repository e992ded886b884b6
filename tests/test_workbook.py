"""The XLSX form of an instance and the `planner template` workbook.

Both forms of an instance (CSV folder, one .xlsx workbook) must load to the same
`Instance` (shared/formats.md); problems in a workbook are named by sheet and row; the
template a working group fills in is read back here independently with openpyxl.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from helpers import CONSULTANTS, KUZBASS, SCHOOLS, TOPICS, find, problems_of, run_cli, write_instance
from models.problems import Problem
from planner.inputs.template import write_template
from planner.inputs.validation import load_instance

BOOK = "kuzbass-2022.xlsx"

# The contract's columns (shared/formats.md), written out here on purpose: the template is
# checked against the contract, not against planner.tables.
CONTRACT_COLUMNS = {
    "municipalities": ["id", "name", "lat", "lon"],
    "risks": ["id", "title"],
    "schools": ["id", "name", "municipality", "risks", "priority", "verified_on", "curator"],
    # (+ max_onsite_per_month: optional, the project's own column)
    "consultants": ["id", "name", "position", "municipality", "topics", "max_per_month",
                    "max_total", "unavailable", "max_onsite_per_month"],
    "topics": ["id", "title", "risks", "stage", "format", "duration_min", "capacity", "requires",
               "months"],
    "roadmap": ["id", "title", "responsible", "indicator", "earliest", "latest", "duration_days",
                "after", "fixed"],
}
RISK_CODES = ["R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09", "R10"]
CYRILLIC = re.compile(r"[А-Яа-яЁё]")

def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def data_rows(ws) -> list[tuple]:
    """Rows below the header with at least one non-empty cell."""
    return [
        row for row in ws.iter_rows(min_row=2, values_only=True)
        if any(v is not None and str(v).strip() for v in row)
    ]


def drop_header_only_optional_sheets(book: Path, out: Path) -> Path:
    """A copy of `book` without header-only «risks» / «roadmap» sheets (they load as absent either way).

    To keep the tests fast it also drops the empty, text-formatted rows the template prepares
    below the data (up to row 1000); they hold no values, so the loader reads the same tables.
    """
    wb = openpyxl.load_workbook(book)
    for name in ("risks", "roadmap"):
        if name in wb.sheetnames and not data_rows(wb[name]):
            del wb[name]
    for ws in wb.worksheets:
        last = max((c.row for row in ws.iter_rows() for c in row if c.value is not None), default=1)
        if ws.max_row > last:
            ws.delete_rows(last + 1, ws.max_row - last)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def row_of_key(ws, key: str) -> int:
    rows = [cell.row for cell in ws["A"] if cell.value == key]
    assert len(rows) == 1, f"key {key} on rows {rows}"
    return rows[0]


def header(ws) -> list[str]:
    return [c.value for c in ws[1] if c.value is not None]


def column_index(ws, name: str) -> int:
    return header(ws).index(name) + 1


def edited(book: Path, out: Path, edit) -> Path:
    """Copy of `book` at `out` (same file name in another folder) after `edit(workbook)`."""
    wb = openpyxl.load_workbook(book)
    edit(wb)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kuzbass():
    return load_instance(KUZBASS)


@pytest.fixture(scope="module")
def kuzbass_book(tmp_path_factory) -> Path:
    """Kuzbass as a workbook, exactly as `planner template kuzbass-2022.xlsx --from ...` writes it."""
    return write_template(tmp_path_factory.mktemp("as-written") / BOOK, source=KUZBASS)


@pytest.fixture(scope="module")
def kuzbass_usable_book(tmp_path_factory, kuzbass_book: Path) -> Path:
    """The same workbook with the header-only optional sheets removed, so that it loads today."""
    return drop_header_only_optional_sheets(kuzbass_book, tmp_path_factory.mktemp("usable") / BOOK)


@pytest.fixture(scope="module")
def template_book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("template") / "шаблон.xlsx"
    result = run_cli("template", str(out))
    assert result.returncode == 0, result.stderr
    assert out.exists() and str(out) in result.stdout
    return out


@pytest.fixture(scope="module")
def template_wb(template_book: Path):
    return openpyxl.load_workbook(template_book)


# --- 1. the shipped instance --------------------------------------------------------------


def test_kuzbass_loads_clean(kuzbass) -> None:
    instance, warnings = kuzbass
    assert warnings == []
    assert instance.name == "kuzbass-2022"
    assert len(instance.schools) == 96
    assert len(instance.consultants) == 16
    assert len(instance.topics) == 45
    assert len(instance.municipalities) == 34
    assert "TV" in instance.topics
    for school in instance.schools.values():
        assert school.curator is not None, school.id
        assert school.curator in instance.consultants, (school.id, school.curator)
        assert "TV" in instance.consultants[school.curator].topics, (school.id, school.curator)


# --- 2. CSV and XLSX load to equal instances ---------------------------------------------


def assert_same_instance(a, b) -> None:
    assert a.name == b.name
    assert a.settings == b.settings
    assert a.municipalities == b.municipalities
    assert a.risks == b.risks
    assert a.schools == b.schools
    assert a.consultants == b.consultants
    assert a.topics == b.topics
    assert a.activities == b.activities
    assert a == b


def test_kuzbass_workbook_as_written_loads_equal(kuzbass, kuzbass_book: Path) -> None:
    instance_xlsx, warnings = load_instance(kuzbass_book)
    assert warnings == []
    assert_same_instance(kuzbass[0], instance_xlsx)


def test_kuzbass_workbook_loads_equal(kuzbass, kuzbass_usable_book: Path) -> None:
    wb = openpyxl.load_workbook(kuzbass_usable_book, read_only=True)
    assert "risks" not in wb.sheetnames  # Kuzbass has no risks.csv: the built-in catalogue
    assert "roadmap" in wb.sheetnames  # its roadmap.csv (seeds 000 and 004) goes into the book
    wb.close()
    instance_csv, _ = kuzbass
    instance_xlsx, warnings = load_instance(kuzbass_usable_book)
    assert warnings == []
    assert_same_instance(instance_csv, instance_xlsx)
    assert instance_xlsx.schools["SCH003"].verified_on == date(2022, 2, 10)
    assert [str(r) for r in instance_xlsx.consultants["C07"].unavailable] == ["2022-05-16..2022-05-31"]
    assert instance_xlsx.topics["T20"].months == ("2022-03", "2022-04", "2022-05", "2022-06")


TINY_RISKS = "id,title\nR03,Компетентность педагогов\nR08,Риски учебной неуспешности\n"
TINY_ROADMAP = (
    "id,title,responsible,indicator,earliest,latest,duration_days,after,fixed\n"
    "A1,Назначение кураторов,Министерство образования,Приказ,2022-03,2022-04-15,5,,\n"
    "A2,Вебинар,,,,,0,A1,2022-05-20\n"
)


@pytest.mark.parametrize(
    "optional_files",
    [
        pytest.param(False, id="as-write_instance-writes-it"),
        pytest.param(True, id="with-risks-and-roadmap"),
    ],
)
def test_tiny_instance_workbook_loads_equal(tmp_path: Path, optional_files: bool) -> None:
    extra = {"risks.csv": TINY_RISKS, "roadmap.csv": TINY_ROADMAP} if optional_files else None
    folder = write_instance(
        tmp_path / "tiny",
        consultants=[dict(CONSULTANTS[0], unavailable="2022-04;2022-05-16..2022-05-31", max_total="12")],
        topics=[TOPICS[0], dict(TOPICS[1], months="2022-04;2022-05", requires="TV", risks="R03;R08")],
        schools=[SCHOOLS[0], dict(SCHOOLS[0], id="S2", municipality="M2", risks="R08;R03", priority="",
                                  verified_on="", curator="")],
        extra=extra,
    )
    book = write_template(tmp_path / "book" / "tiny.xlsx", source=folder)
    instance_csv, warnings_csv = load_instance(folder)
    instance_xlsx, warnings_xlsx = load_instance(book)
    assert warnings_csv == [] and warnings_xlsx == []
    assert_same_instance(instance_csv, instance_xlsx)
    c1 = instance_xlsx.consultants["C1"]
    assert [str(r) for r in c1.unavailable] == ["2022-04-01..2022-04-30", "2022-05-16..2022-05-31"]
    assert c1.max_total == 12
    assert instance_xlsx.topics["T1"].months == ("2022-04", "2022-05")
    assert instance_xlsx.schools["S1"].verified_on == date(2022, 2, 1)
    s2 = instance_xlsx.schools["S2"]
    assert (s2.verified_on, s2.curator, s2.priority, s2.risks) == (None, None, 2, ("R08", "R03"))
    if optional_files:
        assert list(instance_xlsx.risks) == ["R03", "R08"]
        a2 = instance_xlsx.activities["A2"]
        assert (a2.fixed, a2.after) == (date(2022, 5, 20), ("A1",))
        a1 = instance_xlsx.activities["A1"]
        assert (a1.earliest, a1.latest, a1.duration_days) == (date(2022, 3, 1), date(2022, 4, 15), 5)
    else:
        assert list(instance_xlsx.risks) == RISK_CODES  # the built-in catalogue
        assert instance_xlsx.activities == {}


def test_cli_template_from_kuzbass_passes_check(tmp_path: Path) -> None:
    out = tmp_path / BOOK
    made = run_cli("template", str(out), "--from", str(KUZBASS))
    assert made.returncode == 0, made.stderr
    checked = run_cli("check", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "Школ: 96" in checked.stdout


def test_blank_template_with_roadmap_example_cleared_loads(template_book: Path, tmp_path: Path) -> None:
    def clear_roadmap(wb) -> None:
        ws = wb["roadmap"]
        for cell in ws[2]:
            cell.value = None

    book = edited(template_book, tmp_path / "blank.xlsx", clear_roadmap)
    instance, _ = load_instance(book)
    assert instance.activities == {}


# --- 3. problems in a workbook name the sheet and the row --------------------------------


def test_workbook_problem_names_sheet_row_column_value(kuzbass_usable_book: Path, tmp_path: Path) -> None:
    def set_m77(wb) -> None:
        ws = wb["schools"]
        ws.cell(row=7, column=column_index(ws, "municipality"), value="M77")

    book = edited(kuzbass_usable_book, tmp_path / BOOK, set_m77)
    problems = problems_of(book)
    p = find(problems, column="municipality")
    assert (p.file, p.row, p.column, p.value) == ("kuzbass-2022.xlsx, лист «schools»", 7, "municipality", "M77")
    assert "неизвестный муниципалитет" in p.message
    assert p.render() == ("kuzbass-2022.xlsx, лист «schools», строка 7, столбец «municipality»:"
                          " неизвестный муниципалитет (нет в municipalities) (значение «M77»)")
    assert errors(problems) == [p]


def test_workbook_blank_row_keeps_spreadsheet_numbering(kuzbass_usable_book: Path, tmp_path: Path) -> None:
    def blank_row_then_m77(wb) -> None:
        ws = wb["schools"]
        ws.insert_rows(4)  # an empty row 4: data row 7 moves to row 8
        ws.cell(row=8, column=column_index(ws, "municipality"), value="M77")

    p = find(problems_of(edited(kuzbass_usable_book, tmp_path / BOOK, blank_row_then_m77)),
             column="municipality")
    assert (p.file, p.row, p.value) == ("kuzbass-2022.xlsx, лист «schools»", 8, "M77")


def test_workbook_missing_sheet(kuzbass_usable_book: Path, tmp_path: Path) -> None:
    def drop_consultants(wb) -> None:
        del wb["consultants"]

    problems = problems_of(edited(kuzbass_usable_book, tmp_path / BOOK, drop_consultants))
    p = find(problems, file="kuzbass-2022.xlsx, лист «consultants»")
    assert (p.row, p.column, p.value, p.severity) == (None, None, None, "error")
    assert "нет обязательного листа" in p.message


def test_workbook_missing_settings_sheet(kuzbass_usable_book: Path, tmp_path: Path) -> None:
    def drop_instance(wb) -> None:
        del wb["instance"]

    problems = problems_of(edited(kuzbass_usable_book, tmp_path / BOOK, drop_instance))
    p = find(problems, file="kuzbass-2022.xlsx, лист «instance»", row=None, column=None)
    assert "нет листа настроек" in p.message


def test_workbook_settings_error_names_row_of_key(kuzbass_usable_book: Path, tmp_path: Path) -> None:
    rows: dict[str, int] = {}

    def bad_end(wb) -> None:
        ws = wb["instance"]
        rows["end"] = row_of_key(ws, "horizon.end")
        ws.cell(row=rows["end"], column=2, value="2022-02-30")

    problems = problems_of(edited(kuzbass_usable_book, tmp_path / BOOK, bad_end))
    p = find(problems, column="horizon.end", value="2022-02-30")
    assert (p.file, p.row) == ("kuzbass-2022.xlsx, лист «instance»", rows["end"])
    assert rows["end"] > 1  # a data row of the sheet, not its header
    assert "неверная дата" in p.message


def test_workbook_bad_horizon_end_blames_only_that_cell(kuzbass_usable_book: Path, tmp_path: Path) -> None:
    def bad_end(wb) -> None:
        ws = wb["instance"]
        ws.cell(row=row_of_key(ws, "horizon.end"), column=2, value="2022-12-32")

    found = errors(problems_of(edited(kuzbass_usable_book, tmp_path / BOOK, bad_end)))
    assert [(p.file, p.column, p.value) for p in found] == [
        ("kuzbass-2022.xlsx, лист «instance»", "horizon.end", "2022-12-32")
    ], "\n".join(p.render() for p in found)


# --- 4. the blank template, read back independently ---------------------------------------


def list_validations(ws) -> dict[str, list]:
    """Column header -> the list validations whose ranges lie in that column."""
    names = {i: name for i, name in enumerate(header(ws), start=1)}
    out: dict[str, list] = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type != "list":
            continue
        for rng in dv.sqref.ranges:
            assert rng.min_col == rng.max_col, f"{ws.title}: {rng} spans several columns"
            out.setdefault(names[rng.min_col], []).append((dv, rng))
    return out


def offered(dv) -> list[str]:
    formula = dv.formula1
    assert formula.startswith('"') and formula.endswith('"'), formula
    return formula[1:-1].split(",")


def test_template_sheets_and_headers(template_wb) -> None:
    wb = template_wb
    assert set(wb.sheetnames) == set(CONTRACT_COLUMNS) | {"instance", "Пояснения"}
    for name, columns in CONTRACT_COLUMNS.items():
        ws = wb[name]
        assert header(ws) == columns, name
        for cell in ws[1]:
            text = cell.comment.text if cell.comment else ""
            assert text.strip() and CYRILLIC.search(text), f"{name}.{cell.value}: comment {text!r}"
    assert header(wb["instance"])[:2] == ["key", "value"]


@pytest.mark.parametrize(
    "sheet, column, values",
    [
        ("topics", "stage", ["verification", "program", "support", "monitoring"]),
        ("topics", "format", ["onsite", "online"]),
        ("schools", "priority", ["1", "2", "3"]),
        ("schools", "risks", RISK_CODES),
    ],
)
def test_template_drop_down_lists(template_wb, sheet: str, column: str, values: list[str]) -> None:
    ws = template_wb[sheet]
    found = list_validations(ws).get(column, [])
    assert len(found) == 1, f"{sheet}.{column}: {len(found)} list validations"
    dv, rng = found[0]
    assert sorted(offered(dv)) == sorted(values) and len(offered(dv)) == len(values)
    assert rng.min_row <= 2 and rng.max_row >= 1000, f"{sheet}.{column}: only {rng}"
    if column == "risks":
        # A cell holds several codes ("R03;R08"): the list is offered, not enforced.
        assert not dv.showErrorMessage


def test_template_example_rows(template_wb) -> None:
    wb = template_wb
    for name in CONTRACT_COLUMNS:
        rows = data_rows(wb[name])
        if name == "risks":
            assert [r[0] for r in rows] == RISK_CODES
            assert all(isinstance(r[1], str) and CYRILLIC.search(r[1]) for r in rows)
        else:
            assert len(rows) == 1, f"{name}: {len(rows)} example rows"


def test_template_passes_check(template_book: Path) -> None:
    result = run_cli("check", str(template_book))
    assert result.returncode == 0, result.stderr
    assert "Проверка пройдена: ошибок нет." in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


# --- 5. the shipped instance through the real command -------------------------------------


def test_cli_check_kuzbass() -> None:
    result = run_cli("check", str(KUZBASS))
    assert result.returncode == 0, result.stderr
    assert "Школ: 96" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


# --- 6. values Excel stores as dates and numbers ------------------------------------------


def test_workbook_real_date_and_number_cells(kuzbass_usable_book: Path, tmp_path: Path) -> None:
    def typed_by_excel(wb) -> None:
        ws = wb["schools"]
        assert ws.cell(row=2, column=1).value == "SCH001"
        ws.cell(row=2, column=column_index(ws, "verified_on"), value=datetime(2022, 2, 15))
        ws = wb["topics"]
        assert ws.cell(row=2, column=1).value == "T01"
        ws.cell(row=2, column=column_index(ws, "capacity"), value=25)
        ws = wb["consultants"]
        assert ws.cell(row=2, column=1).value == "C01"
        ws.cell(row=2, column=column_index(ws, "max_per_month"), value=5)
        ws = wb["instance"]
        ws.cell(row=row_of_key(ws, "horizon.start"), column=2, value=datetime(2022, 3, 1))

    book = edited(kuzbass_usable_book, tmp_path / BOOK, typed_by_excel)
    check = openpyxl.load_workbook(book)  # really stored as a date and a number
    assert isinstance(check["schools"].cell(row=2, column=6).value, datetime)
    assert type(check["topics"].cell(row=2, column=7).value) is int
    instance, warnings = load_instance(book)
    assert warnings == []
    assert instance.schools["SCH001"].verified_on == date(2022, 2, 15)
    assert instance.topics["T01"].capacity == 25
    assert instance.consultants["C01"].max_per_month == 5
    assert instance.settings.horizon.start == date(2022, 3, 1)
