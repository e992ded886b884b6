"""The loader and validator on every kind of bad input: exact file, row, column, value."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from helpers import CONSULTANTS, SCHOOLS, TOPICS, find, problems_of, run_cli, write_instance
from planner.inputs.validation import load_instance


def test_tiny_instance_loads(tmp_path: Path) -> None:
    instance, warnings = load_instance(write_instance(tmp_path / "ok"))
    assert list(instance.schools) == ["S1"]
    assert instance.schools["S1"].verified_on.isoformat() == "2022-02-01"
    assert instance.consultants["C1"].topics == ("TV", "T1")
    assert len(instance.risks) == 10  # no risks.csv: the built-in «500+» catalogue
    assert instance.risks["R06"].title == "Низкое качество преодоления языковых и культурных барьеров"
    assert warnings == []


def test_missing_file(tmp_path: Path) -> None:
    folder = write_instance(tmp_path / "x")
    (folder / "schools.csv").unlink()
    p = find(problems_of(folder), file="schools.csv")
    assert "нет обязательного файла" in p.message


def test_missing_column(tmp_path: Path) -> None:
    schools = [{k: v for k, v in SCHOOLS[0].items() if k != "municipality"}]
    p = find(problems_of(write_instance(tmp_path / "x", schools=schools)), file="schools.csv",
             column="municipality")
    assert p.row == 1 and "нет обязательного столбца" in p.message


def test_duplicate_id(tmp_path: Path) -> None:
    schools = [SCHOOLS[0], dict(SCHOOLS[0], name="Другая")]
    p = find(problems_of(write_instance(tmp_path / "x", schools=schools)), file="schools.csv",
             column="id")
    assert (p.row, p.value) == (3, "S1") and "уже есть в строке 2" in p.message


@pytest.mark.parametrize(
    "table, column, value, message",
    [
        ("schools", "municipality", "M99", "неизвестный муниципалитет"),
        ("schools", "curator", "C99", "неизвестный куратор"),
        ("consultants", "topics", "T99", "неизвестная тема"),
        ("topics", "requires", "T99", "неизвестная тема в требованиях"),
    ],
)
def test_unknown_reference(tmp_path: Path, table: str, column: str, value: str, message: str) -> None:
    rows = {"schools": SCHOOLS, "consultants": CONSULTANTS, "topics": TOPICS}[table]
    changed = [dict(r) for r in rows]
    changed[-1][column] = value
    folder = write_instance(tmp_path / "x", **{table: changed})
    p = find(problems_of(folder), file=f"{table}.csv", column=column, value=value)
    assert p.row == len(changed) + 1 and message in p.message


def test_unknown_municipality_in_row_7(tmp_path: Path) -> None:
    schools = [dict(SCHOOLS[0], id=f"S{i}") for i in range(1, 7)]
    schools[5]["municipality"] = "M77"  # sixth data row = spreadsheet row 7
    p = find(problems_of(write_instance(tmp_path / "x", schools=schools)), column="municipality")
    assert (p.file, p.row, p.value) == ("schools.csv", 7, "M77")
    assert p.render() == ("schools.csv, строка 7, столбец «municipality»: неизвестный муниципалитет"
                          " (нет в municipalities) (значение «M77»)")


def test_requires_cycle_is_named(tmp_path: Path) -> None:
    topics = [dict(TOPICS[0]), dict(TOPICS[1], requires="T3"),
              dict(TOPICS[1], id="T2", requires="T1"), dict(TOPICS[1], id="T3", requires="T2")]
    consultants = [dict(CONSULTANTS[0], topics="TV;T1;T2;T3")]
    problems = problems_of(write_instance(tmp_path / "x", topics=topics, consultants=consultants))
    p = find(problems, file="topics.csv", column="requires")
    assert p.row == 3  # T1, the first topic of the cycle in the file
    assert "цикл" in p.message
    cycle = p.message.split("цикл: ")[1].split(" (")[0].split(" → ")
    assert cycle[0] == cycle[-1] and set(cycle) == {"T1", "T2", "T3"} and len(cycle) == 4


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("verified_on", "2022-13-01", "неверная дата"),
        ("verified_on", "01.02.2022", "неверная дата"),
        ("verified_on", "2023-05-01", "позже конца горизонта"),
    ],
)
def test_bad_school_dates(tmp_path: Path, column: str, value: str, message: str) -> None:
    schools = [dict(SCHOOLS[0], **{column: value})]
    p = find(problems_of(write_instance(tmp_path / "x", schools=schools)), file="schools.csv",
             row=2, column=column, value=value)
    assert message in p.message


@pytest.mark.parametrize(
    "value, message",
    [
        ("2022-15", "нужен месяц"),
        ("2022-05-20..2022-05-01", "нужен месяц"),
        ("2021-01", "вне горизонта"),
        ("2022-04-01..2022-04-10", None),
    ],
)
def test_unavailable_values(tmp_path: Path, value: str, message: str | None) -> None:
    folder = write_instance(tmp_path / "x", consultants=[dict(CONSULTANTS[0], unavailable=value)])
    if message is None:
        instance, _ = load_instance(folder)
        (rng,) = instance.consultants["C1"].unavailable
        assert (rng.start.isoformat(), rng.end.isoformat()) == ("2022-04-01", "2022-04-10")
        return
    p = find(problems_of(folder), file="consultants.csv", row=2, column="unavailable", value=value)
    assert message in p.message


def test_topic_month_outside_horizon(tmp_path: Path) -> None:
    topics = [TOPICS[0], dict(TOPICS[1], months="2022-04;2022-09")]
    p = find(problems_of(write_instance(tmp_path / "x", topics=topics)), file="topics.csv", row=3,
             column="months", value="2022-09")
    assert "вне горизонта" in p.message


def test_unknown_time_zone(tmp_path: Path) -> None:
    toml = write_instance(tmp_path / "y").joinpath("instance.toml").read_text(encoding="utf-8")
    folder = write_instance(tmp_path / "x", toml=toml.replace("Asia/Novokuznetsk", "Asia/Kuzbass"))
    p = find(problems_of(folder), file="instance.toml", column="region.timezone")
    assert p.value == "Asia/Kuzbass" and "часовой пояс" in p.message


def test_settings_bad_values_all_listed(tmp_path: Path) -> None:
    toml = (write_instance(tmp_path / "y").joinpath("instance.toml").read_text(encoding="utf-8")
            .replace("end = 2022-06-30", 'end = "2022-06-31"')
            .replace("blocked_months = []", 'blocked_months = ["2022-6"]')
            .replace("[rules]", "[rules]\nunknown_rule = 3"))
    problems = problems_of(write_instance(tmp_path / "x", toml=toml))
    assert find(problems, column="horizon.end").value == "2022-06-31"
    assert find(problems, column="horizon.blocked_months").value == "2022-6"
    assert "неизвестная настройка" in find(problems, column="rules.unknown_rule").message


def test_unknown_risk_code(tmp_path: Path) -> None:
    schools = [dict(SCHOOLS[0], risks="R03;R11")]
    p = find(problems_of(write_instance(tmp_path / "x", schools=schools)), file="schools.csv", row=2,
             column="risks", value="R11")
    assert "неизвестный код риска" in p.message


@pytest.mark.parametrize("column", ["capacity", "duration_min"])
@pytest.mark.parametrize("value", ["0", "-5", "много"])
def test_non_positive_topic_numbers(tmp_path: Path, column: str, value: str) -> None:
    topics = [TOPICS[0], dict(TOPICS[1], **{column: value})]
    p = find(problems_of(write_instance(tmp_path / "x", topics=topics)), file="topics.csv", row=3,
             column=column, value=value)
    assert "положительное" in p.message or "целое число" in p.message


def test_non_positive_consultant_capacity(tmp_path: Path) -> None:
    folder = write_instance(tmp_path / "x", consultants=[dict(CONSULTANTS[0], max_per_month="0")])
    p = find(problems_of(folder), file="consultants.csv", row=2, column="max_per_month", value="0")
    assert "положительное" in p.message


def test_topic_nobody_delivers(tmp_path: Path) -> None:
    topics = TOPICS + [dict(TOPICS[1], id="T2", title="Никто не ведёт")]
    p = find(problems_of(write_instance(tmp_path / "x", topics=topics)), file="topics.csv", row=4,
             column="id", value="T2")
    assert "не ведёт ни один консультант" in p.message


def test_risk_no_topic_addresses_is_a_warning(tmp_path: Path) -> None:
    schools = [dict(SCHOOLS[0], risks="R03;R06")]
    instance, warnings = load_instance(write_instance(tmp_path / "x", schools=schools))
    (w,) = warnings
    assert (w.severity, w.file, w.column, w.value) == ("warning", "schools.csv", "risks", "R06")
    assert "не закрывает ни одна тема" in w.message
    assert instance.schools["S1"].risks == ("R03", "R06")


def test_cp1251_file_loads_with_warning(tmp_path: Path) -> None:
    folder = write_instance(tmp_path / "x")
    path = folder / "schools.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1251"))
    instance, warnings = load_instance(folder)
    assert instance.schools["S1"].name == "Школа 1"
    assert [(w.file, w.severity) for w in warnings] == [("schools.csv", "warning")]
    assert "Windows-1251" in warnings[0].message


def test_semicolon_separated_file_loads_with_warning(tmp_path: Path) -> None:
    folder = write_instance(tmp_path / "x")
    (folder / "schools.csv").write_text(
        "id;name;municipality;risks;priority;verified_on;curator\n"
        'S1;Школа 1;M1;"R03";1;2022-02-01;C1\n', encoding="utf-8")
    instance, warnings = load_instance(folder)
    assert instance.schools["S1"].risks == ("R03",)
    assert "разделены «;»" in warnings[0].message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    folder = write_instance(tmp_path / "x")
    path = folder / "schools.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    instance, warnings = load_instance(folder)
    assert "S1" in instance.schools and warnings == []


def test_empty_file(tmp_path: Path) -> None:
    folder = write_instance(tmp_path / "x")
    (folder / "consultants.csv").write_text("", encoding="utf-8")
    p = find(problems_of(folder), file="consultants.csv")
    assert "файл пуст" in p.message


def test_header_only_file(tmp_path: Path) -> None:
    folder = write_instance(tmp_path / "x", schools=[])
    p = find(problems_of(folder), file="schools.csv")
    assert "нет ни одной строки данных" in p.message


def test_all_problems_are_listed_at_once(tmp_path: Path) -> None:
    schools = [dict(SCHOOLS[0], municipality="M9", risks="R77", priority="7")]
    problems = problems_of(write_instance(tmp_path / "x", schools=schools))
    assert {p.column for p in problems} >= {"municipality", "risks", "priority"}


def test_cli_check_bad_instance_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    schools = [dict(SCHOOLS[0], id=f"S{i}") for i in range(1, 7)]
    schools[5]["municipality"] = "M77"
    topics = [dict(TOPICS[0]), dict(TOPICS[1], requires="T2"), dict(TOPICS[1], id="T2", requires="T1")]
    consultants = [dict(CONSULTANTS[0], topics="TV;T1;T2")]
    folder = write_instance(tmp_path / "broken", schools=schools, topics=topics, consultants=consultants)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    result = run_cli("check", str(folder))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "schools.csv, строка 7, столбец «municipality»" in result.stderr
    assert "цикл: T1 → T2 → T1" in result.stderr or "цикл: T2 → T1 → T2" in result.stderr
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert before == after  # input files are never touched


def test_cli_missing_instance_path() -> None:
    result = run_cli("check", "/nonexistent/instance")
    assert result.returncode == 2 and "нет такого файла или папки" in result.stderr
    assert "Traceback" not in result.stderr
