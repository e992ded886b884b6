"""Input and messages: text from data never becomes a formula; an optional file with a foreign
header is an error even without data rows.

The workbook is read back with openpyxl (cell types), independently of the writer.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from helpers import BASE_TOML, SCHOOLS, run_cli, write_instance
from planner.inputs.validation import load_instance

HYPERLINK = '=HYPERLINK("http://example.invalid","Школа")'
ROADMAP_HEADER = "id,title,responsible,indicator,earliest,latest,duration_days,after,fixed\n"


# --- 16. no formula from data in `planner template --from` ---------------------------------


def test_template_from_an_instance_writes_every_text_as_a_string_never_a_formula(tmp_path: Path):
    folder = write_instance(
        tmp_path / "inst",
        toml=BASE_TOML.replace('name = "Тестовый регион"', 'name = "=1+1"'),
        schools=[dict(SCHOOLS[0], name=HYPERLINK),
                 dict(SCHOOLS[0], id="S2", name="+7 (384) 2-00-00"),
                 dict(SCHOOLS[0], id="S3", name="@Школа", curator="")],
        extra={"roadmap.csv": ROADMAP_HEADER + "A1,=cmd|' /C calc'!A0,МОУО,,,,1,,\n"},
    )
    book = tmp_path / "book.xlsx"
    made = run_cli("template", str(book), "--from", str(folder))
    assert made.returncode == 0, made.stderr

    wb = openpyxl.load_workbook(book)
    formulas = [(ws.title, c.coordinate, c.value) for ws in wb.worksheets for row in ws.iter_rows()
                for c in row if c.data_type == "f"]
    assert formulas == []
    schools = wb["schools"]
    header = [c.value for c in schools[1]]
    names = {schools.cell(row=r, column=1).value: schools.cell(row=r, column=header.index("name") + 1)
             for r in range(2, schools.max_row + 1) if schools.cell(row=r, column=1).value}
    assert names["S1"].value == HYPERLINK and names["S1"].data_type == "s"
    assert names["S2"].value == "+7 (384) 2-00-00" and names["S2"].data_type == "s"
    assert names["S3"].value == "@Школа" and names["S3"].data_type == "s"
    assert names["S1"].quotePrefix  # Excel keeps it text when the cell is edited
    roadmap = wb["roadmap"]
    assert roadmap["B2"].value == "=cmd|' /C calc'!A0" and roadmap["B2"].data_type == "s"
    settings = {r[0].value: r[1] for r in wb["instance"].iter_rows(min_row=2) if r[0].value}
    assert settings["region.name"].value == "=1+1" and settings["region.name"].data_type == "s"

    # And the workbook reads back as the same text.
    instance, _warnings = load_instance(book)
    assert instance.schools["S1"].name == HYPERLINK
    assert instance.settings.region.name == "=1+1"


# --- 17. an optional file with a foreign header --------------------------------------------


@pytest.mark.parametrize(("name", "content"), [
    pytest.param("roadmap.csv", b"\x01\x02\x03\x89\xab\xcd\xef\xc0\xc1 \x7f\x10\x11" * 20,
                 id="binary-one-line-roadmap"),
    pytest.param("roadmap.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe\xfd",
                 id="binary-roadmap"),
    pytest.param("roadmap.csv", "номер,что делать,кто\n".encode(), id="header-only-roadmap"),
    pytest.param("risks.csv", b"code;name\n", id="header-only-risks"),
])
def test_an_optional_file_with_a_foreign_header_fails_check_even_without_rows(tmp_path: Path, name: str,
                                                                               content: bytes):
    folder = write_instance(tmp_path / "inst")
    (folder / name).write_bytes(content)
    result = run_cli("check", str(folder))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout + result.stderr
    assert name in out
    assert any(word in out for word in ("заголов", "столбц")), out


def test_an_optional_file_with_the_contracts_header_and_no_rows_is_fine(tmp_path: Path):
    folder = write_instance(tmp_path / "inst", extra={"roadmap.csv": ROADMAP_HEADER, "risks.csv": "id,title\n"})
    result = run_cli("check", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
