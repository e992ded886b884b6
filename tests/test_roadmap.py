"""The roadmap (дорожная карта): validation of roadmap.csv, the CP-SAT schedule, its critical
path and slack, infeasibility explanations, links to consultations, calendars and the CLI.

Every schedule the solver returns is checked by `assert_valid_schedule`, written here
independently of models.roadmap (its own working-day count straight from `holidays`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import holidays
import pytest
from icalendar import Calendar

from helpers import BASE_TOML, ROOT, TOPICS, run_cli, write_instance
from models.domain import Format, Instance, Plan, Session, Stage
from models.problems import InputError, Problem
from models.roadmap import RoadmapResult, executors_of, schedule_roadmap, slug
from models.roadmap_links import (
    first_day_by_stage,
    first_month_by_stage,
    link_violations,
    linked_instance,
)
from planner.exports.roadmap_report import roadmap_table
from planner.inputs.validation import load_instance

HEADER = "id,title,responsible,indicator,earliest,latest,duration_days,after,fixed\n"
SEEDS = ["kuzbass-2022", "chebulinsky-2021", "kalmykia-2022"]


def roadmap_instance(tmp_path: Path, rows: str, toml_extra: str = "", name: str = "rm") -> Instance:
    folder = write_instance(tmp_path / name, toml=BASE_TOML + toml_extra, extra={"roadmap.csv": HEADER + rows})
    instance, _ = load_instance(folder)
    return instance


def input_problems(tmp_path: Path, rows: str, toml_extra: str = "") -> list[Problem]:
    with pytest.raises(InputError) as info:
        roadmap_instance(tmp_path, rows, toml_extra)
    return info.value.errors


def dated(result: RoadmapResult) -> dict[str, tuple[date, date]]:
    return {a.id: (a.start, a.end) for a in result.activities}


# --- an independent checker ---------------------------------------------------------------


def is_working(instance: Instance, day: date) -> bool:
    if any(day in r for r in instance.settings.roadmap.days_off):
        return False
    ru = holidays.country_holidays("RU", years=day.year)
    if day.weekday() >= 5:
        return day in ru.weekend_workdays
    return day not in ru


def assert_valid_schedule(instance: Instance, result: RoadmapResult) -> None:
    """Windows, fixed dates, working-day durations, dependencies and executor limits hold."""
    assert result.ok, [p.render() for p in result.problems]
    got = {a.id: a for a in result.activities}
    assert set(got) == set(instance.activities)
    for a in instance.activities.values():
        d = got[a.id]
        if a.fixed:
            assert d.start == a.fixed, a.id
        else:
            assert is_working(instance, d.start), (a.id, d.start)
        if a.earliest:
            assert d.start >= a.earliest, a.id
        if a.latest:
            assert d.end <= a.latest, a.id
        if a.duration_days == 0:
            assert d.end == d.start, a.id
        else:
            days = [d.start + timedelta(n) for n in range((d.end - d.start).days + 1)]
            counted = 1 + sum(is_working(instance, x) for x in days[1:])  # the start day counts
            assert counted == a.duration_days, a.id
            assert len(days) == 1 or is_working(instance, d.end), a.id
        for dep in a.after:
            p = got[dep]
            if instance.activities[dep].duration_days == 0:
                assert d.start >= p.start, (dep, a.id)
            else:
                assert d.start > p.end, (dep, a.id)
        assert d.slack_days is not None and d.slack_days >= 0
    rm = instance.settings.roadmap
    timed = [a for a in instance.activities.values() if a.duration_days > 0]
    executors = {x for a in timed for x in executors_of(a)}
    first = min(d.start for d in got.values())
    last = max(d.end for d in got.values())
    for executor in executors:
        limit = rm.limit_of(executor)
        if limit == 0:
            continue
        mine = [got[a.id] for a in timed if executor in executors_of(a)]
        day = first
        while day <= last:
            running = sum(1 for d in mine if d.start <= day <= d.end)
            assert running <= limit, (executor, day, running)
            day += timedelta(days=1)


# --- validation of roadmap.csv ------------------------------------------------------------


def test_cycle_is_an_error_naming_every_activity_on_it(tmp_path: Path) -> None:
    problems = input_problems(tmp_path, (
        "A1,Первое,,,,,1,A3,\n"
        "A2,Второе,,,,,1,A1,\n"
        "A3,Третье,,,,,1,A2,\n"
        "A4,Вне цикла,,,,,1,A1,\n"
    ))
    cycle = [p for p in problems if "цикл" in p.message]
    assert len(cycle) == 1
    p = cycle[0]
    assert (p.file, p.row, p.column) == ("roadmap.csv", 2, "after")
    assert "A1 → A3 → A2 → A1" in p.message or "A1 → A2 → A3 → A1" in p.message
    assert "A1, A2, A3" in p.message and "A4" not in p.message


def test_unknown_after_and_self_dependency_name_file_row_column(tmp_path: Path) -> None:
    problems = input_problems(tmp_path, (
        "A1,Первое,,,,,1,,\n"
        "A2,Второе,,,,,1,A1;A9,\n"
        "A3,Третье,,,,,1,A3,\n"
    ))
    unknown = next(p for p in problems if p.value == "A9")
    assert (unknown.file, unknown.row, unknown.column) == ("roadmap.csv", 3, "after")
    assert "неизвестное мероприятие" in unknown.message
    own = next(p for p in problems if p.value == "A3")
    assert (own.row, own.column) == (4, "after") and "самого себя" in own.message


def test_window_and_fixed_date_contradictions_are_input_errors(tmp_path: Path) -> None:
    problems = input_problems(tmp_path, (
        "A1,Окно наоборот,,,2022-04-10,2022-04-01,1,,\n"
        "A2,Фикс вне окна,,,2022-04,2022-04,0,,2022-05-04\n"
    ))
    assert [(p.row, p.column) for p in problems] == [(2, "latest"), (3, "fixed")]


def test_roadmap_settings_are_checked(tmp_path: Path) -> None:
    problems = input_problems(
        tmp_path, "A1,Первое,Минобр,,,,1,,\n",
        '\n[roadmap]\nexecutor_limit = -1\nstage_after = {program = "A7", lessons = "A1"}\n')
    rendered = [p.render() for p in problems]
    assert any("roadmap.executor_limit" in r and "отрицательным" in r for r in rendered)
    assert any("roadmap.stage_after" in r and "A7" in r and "неизвестное мероприятие" in r for r in rendered)
    assert any("roadmap.stage_after" in r and "lessons" in r and "неизвестный этап" in r for r in rendered)


def test_windows_may_reach_outside_the_consultation_horizon(tmp_path: Path) -> None:
    # A roadmap starts with orders in January although consultations start in March.
    instance = roadmap_instance(tmp_path, "A1,Приказ,Минобр,,,,0,,2022-01-28\nA2,Итоги,Минобр,,2022-12,2022-12,1,A1,\n")
    result = schedule_roadmap(instance)
    assert dated(result) == {"A1": (date(2022, 1, 28),) * 2, "A2": (date(2022, 12, 1),) * 2}


# --- scheduling rules, each alone -----------------------------------------------------------


def test_working_days_follow_the_production_calendar(tmp_path: Path) -> None:
    # 3 working days from Fri 04.03.2022: Sat 05.03 was a working Saturday (transfer),
    # Sun 06.03 off, Mon 07.03 transferred day off, Tue 08.03 holiday → Fri 4, Sat 5, Wed 9.
    instance = roadmap_instance(tmp_path, "A1,Курс,КРИПКиПРО,,2022-03-04,,3,,\n")
    result = schedule_roadmap(instance)
    assert dated(result)["A1"] == (date(2022, 3, 4), date(2022, 3, 9))
    assert_valid_schedule(instance, result)


def test_regional_days_off_are_not_working_days(tmp_path: Path) -> None:
    # Same as above with 09.03 declared a regional day off: the third day moves to 10.03.
    instance = roadmap_instance(tmp_path, "A1,Курс,КРИПКиПРО,,2022-03-04,,3,,\n",
                                '\n[roadmap]\ndays_off = [["2022-03-09", "2022-03-09"]]\n')
    assert dated(schedule_roadmap(instance))["A1"] == (date(2022, 3, 4), date(2022, 3, 10))


def test_fixed_dates_are_kept_and_successors_follow(tmp_path: Path) -> None:
    # Free, A1 would go on 01.03 (window start); fixed, it stays on 17.03. A2 (2 days) after it
    # starts the next working day, 18.03 (Fri), and ends Mon 21.03. A3 (milestone) after A2.
    instance = roadmap_instance(tmp_path, (
        "A1,Семинар,КЦМКО,,,,1,,2022-03-17\n"
        "A2,Вебинар,КЦМКО,,,,2,A1,\n"
        "A3,Приказ,Минобр,,,,0,A2,\n"
    ))
    result = schedule_roadmap(instance)
    assert dated(result) == {"A1": (date(2022, 3, 17),) * 2, "A2": (date(2022, 3, 18), date(2022, 3, 21)),
                             "A3": (date(2022, 3, 22),) * 2}
    assert result.dates()["A1"].slack_days == 0
    assert result.problems == []
    assert_valid_schedule(instance, result)


def test_milestone_successor_may_follow_on_the_same_day(tmp_path: Path) -> None:
    instance = roadmap_instance(tmp_path, "A1,Приказ,Минобр,,,,0,,2022-03-17\nA2,Вебинар,КЦМКО,,,,1,A1,\n")
    assert dated(schedule_roadmap(instance))["A2"] == (date(2022, 3, 17),) * 2


def test_fixed_date_on_a_day_off_is_kept_with_a_warning(tmp_path: Path) -> None:
    instance = roadmap_instance(tmp_path, "A1,Мониторинг ФИОКО,Школа,,,,0,,2022-05-29\n")
    result = schedule_roadmap(instance)
    assert dated(result)["A1"] == (date(2022, 5, 29),) * 2
    [warning] = result.problems
    assert warning.severity == "warning" and warning.row == 2 and "воскресенье" in warning.message


@pytest.mark.parametrize(("limit", "expected_b"), [
    # Limit 1: B waits for A (Mon 14.03–Fri 18.03) and runs Mon 21.03–Fri 25.03.
    (1, (date(2022, 3, 21), date(2022, 3, 25))),
    # Limit 2: both run in the same week, at their window's start.
    (2, (date(2022, 3, 14), date(2022, 3, 18))),
])
def test_executor_limit(tmp_path: Path, limit: int, expected_b: tuple[date, date]) -> None:
    instance = roadmap_instance(tmp_path, (
        "A,Курс 1,КРИПКиПРО,,2022-03-14,2022-03-31,5,,\n"
        "B,Курс 2,КРИПКиПРО;КЦМКО,,2022-03-14,2022-03-31,5,,\n"
        "M,Приказ,КРИПКиПРО,,2022-03-14,,0,,\n"  # a milestone takes no time: never counted
    ), f"\n[roadmap]\nexecutor_limit = {limit}\n")
    result = schedule_roadmap(instance)
    got = dated(result)
    assert sorted([got["A"], got["B"]]) == sorted([(date(2022, 3, 14), date(2022, 3, 18)), expected_b])
    assert got["M"] == (date(2022, 3, 14),) * 2
    assert_valid_schedule(instance, result)


def test_per_executor_limit_overrides_the_default(tmp_path: Path) -> None:
    rows = "A,Курс 1,КРИПКиПРО,,2022-03-14,2022-03-18,5,,\nB,Курс 2,КРИПКиПРО,,2022-03-14,2022-03-18,5,,\n"
    tight = roadmap_instance(tmp_path, rows, '\n[roadmap]\nexecutor_limit = 5\n[roadmap.executor_limits]\n'
                                             '"КРИПКиПРО" = 1\n', name="tight")
    loose = roadmap_instance(tmp_path, rows, '\n[roadmap]\nexecutor_limit = 1\n[roadmap.executor_limits]\n'
                                             '"КРИПКиПРО" = 2\n', name="loose")
    assert schedule_roadmap(loose).ok
    result = schedule_roadmap(tight)
    assert result.status == "INFEASIBLE"
    [p] = result.errors
    assert "«КРИПКиПРО»" in p.message and "не больше 1 мероприятия" in p.message
    assert "A, B" in p.message and "[roadmap] executor_limits" in p.message


def test_executor_limit_infeasible_without_forced_overlap_names_the_executor(tmp_path: Path) -> None:
    # No single day forces three courses together, but three 5-day courses cannot fit
    # in 10 working days one after another.
    instance = roadmap_instance(tmp_path, "".join(
        f"K{i},Курс {i},КРИПКиПРО,,2022-03-14,2022-03-25,5,,\n" for i in range(1, 4)),
        "\n[roadmap]\nexecutor_limit = 1\n")
    result = schedule_roadmap(instance)
    assert result.status == "INFEASIBLE"
    [p] = result.errors
    assert "«КРИПКиПРО»" in p.message and "K1, K2, K3" in p.message and "не помещаются" in p.message


# --- infeasibility explanations ---------------------------------------------------------------


def test_window_infeasibility_names_the_chain(tmp_path: Path) -> None:
    # A03 takes 10 working days from 01.03 (7 and 8 March off; Sat 5 March works) → ends 15.03;
    # A05 takes 3 → 16–18.03; A07 would start 21.03, but must end by 15.03.
    instance = roadmap_instance(tmp_path, (
        "A03,Анализ профилей,МОУО,,2022-03-01,,10,,\n"
        "A05,Утверждение карт,МОУО,,,,3,A03,\n"
        "A07,Вебинар,КЦМКО,,,2022-03-15,2,A05,\n"
        "A08,После вебинара,КЦМКО,,,,1,A07,\n"
    ))
    result = schedule_roadmap(instance)
    assert result.status == "INFEASIBLE" and result.activities == []
    [p] = result.errors  # A08 fails only because of A07: not reported separately
    assert (p.file, p.row, p.column) == ("roadmap.csv", 4, "latest")
    assert p.message.startswith("A07 должно закончиться не позже 15.03.2022, но предшествующие A03 → A05"
                                " требуют времени до 18.03.2022")
    assert "A07 (2 раб. дн.) начнётся не раньше 21.03.2022" in p.message


def test_fixed_date_conflict_names_the_chain(tmp_path: Path) -> None:
    instance = roadmap_instance(tmp_path, (
        "A03,Приказ,Минобр,,,,0,,2022-03-10\n"
        "A05,Курс,КРИПКиПРО,,,,5,A03,\n"
        "A07,Семинар,КЦМКО,,,,1,A05,2022-03-15\n"
    ))
    result = schedule_roadmap(instance)
    [p] = result.errors
    assert (p.row, p.column) == (4, "fixed")
    assert p.message.startswith("A07 зафиксировано на 15.03.2022, но предшествующие A03 → A05 требуют"
                                " времени до 16.03.2022")
    assert "дата зафиксирована" in p.message


def test_window_too_short_for_the_activity_itself(tmp_path: Path) -> None:
    instance = roadmap_instance(tmp_path, "A1,Курс,КРИПКиПРО,,2022-03-04,2022-03-09,5,,\n")
    [p] = schedule_roadmap(instance).errors
    assert (p.row, p.column) == (2, "duration_days")
    assert p.message == "A1 длится 5 раб. дн., но в его окне 04.03.2022–09.03.2022 рабочих дней только 3"


# --- critical path and slack ------------------------------------------------------------------


def test_critical_path_and_slack_on_five_activities(tmp_path: Path) -> None:
    # A (3 days) from Mon 14.03.2022; B (2) and C (4) and E (2) after A; D (1) after B and C.
    # Earliest dates: A 14–16.03, B 17–18.03, C 17–22.03, E 17–18.03, D 23.03 (the finish).
    # Longest path A → C → D = 3 + 4 + 1 days: critical. B may start up to Mon 21.03 and still
    # end before D: slack 2 working days (17→18→21). E only has to end by the finish day 23.03:
    # latest start 22.03, slack 3 (18, 21, 22).
    instance = roadmap_instance(tmp_path, (
        "A,Анализ,Минобр,,2022-03-14,,3,,\n"
        "B,Приказ,Минобр,,,,2,A,\n"
        "C,Курс,КРИПКиПРО,,,,4,A,\n"
        "D,Семинар,КЦМКО,,,,1,B;C,\n"
        "E,Рассылка,МОУО,,,,2,A,\n"
    ))
    result = schedule_roadmap(instance)
    assert result.status == "OPTIMAL"
    assert result.critical_path == ["A", "C", "D"]
    by_id = result.dates()
    assert {a: by_id[a].slack_days for a in "ABCDE"} == {"A": 0, "B": 2, "C": 0, "D": 0, "E": 3}
    assert {a for a in "ABCDE" if by_id[a].critical} == {"A", "C", "D"}
    assert (by_id["D"].start, result.finish) == (date(2022, 3, 23), date(2022, 3, 23))
    assert_valid_schedule(instance, result)


# --- the seed instances ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=SEEDS)
def seed(request) -> tuple[Instance, RoadmapResult]:
    instance, warnings = load_instance(ROOT / "instances" / request.param)
    assert warnings == []
    return instance, schedule_roadmap(instance)


def test_seed_roadmaps_schedule_without_errors(seed) -> None:
    instance, result = seed
    assert result.status == "OPTIMAL" and result.errors == []
    assert_valid_schedule(instance, result)
    assert result.critical_path and all(result.dates()[a].critical for a in result.critical_path)
    assert result.dates()[result.critical_path[-1]].end == result.finish


def test_seed_details_from_the_orders(seed) -> None:
    instance, result = seed
    got = result.dates()
    if instance.name == "kuzbass-2022":
        assert (got["A07"].start, got["A08"].start) == (date(2022, 2, 25), date(2022, 3, 18))
        assert [got[f"A11-{m:02d}"].start.weekday() for m in range(1, 13)] == [3] * 12  # Thursdays
        assert got["A21"].start == date(2023, 1, 9)  # the first working day of 2023
    elif instance.name == "chebulinsky-2021":
        # questionnaire → curator appointed → first visit (verification) → programmes in ИС МЭДК
        # → monitoring, stage 1 → stage 2 → results
        order = ["A05", "A08", "A13", "A17", "A23", "A28", "A30"]
        assert all(got[a].end <= got[b].start for a, b in pairwise(order))
        assert {p.value for p in result.problems} == {"2021-05-30", "2021-11-01"}  # days off, kept
    else:
        assert dict(instance.activities["A07"].extra) == {"level": "институциональный"}
        table = roadmap_table(instance, result)
        assert "Уровни реализации" in table and "институциональный" in table
        assert not any(got[a].start <= date(2022, 3, 3) <= got[a].end for a in ("A17", "A29"))


def test_seed_links_give_first_months(tmp_path: Path) -> None:
    instance, _ = load_instance(ROOT / "instances" / "chebulinsky-2021")
    result = schedule_roadmap(instance)
    first_day = first_day_by_stage(instance, result.activities)
    got = result.dates()
    assert first_day[Stage.PROGRAM] == got["A12"].end + timedelta(days=1)
    # Curator appointed 16.02 (A08); municipal roadmap in March (A12). The school's programmes
    # (A17, 20 working days) cannot cover Fri 02.04, when the two FIOKO webinar series (A14,
    # A22) and the year-long information work (A31) already fill the school's limit of 3, so
    # they run 05.04–30.04, and monitoring consultations open in May.
    assert got["A17"].end == date(2021, 4, 30)
    assert first_month_by_stage(instance, result.activities) == {
        Stage.VERIFICATION: "2021-02", Stage.PROGRAM: "2021-03", Stage.MONITORING: "2021-05"}


# --- links to consultations ---------------------------------------------------------------


def test_links_restrict_months_and_find_early_sessions(tmp_path: Path) -> None:
    instance = roadmap_instance(
        tmp_path, "A1,Утверждение муниципальных дорожных карт,МОУО,,2022-04-04,,5,,\n",
        '\n[roadmap]\nstage_after = {program = "A1"}\n')
    result = schedule_roadmap(instance)
    assert dated(result)["A1"] == (date(2022, 4, 4), date(2022, 4, 8))
    assert first_month_by_stage(instance, result.activities) == {Stage.PROGRAM: "2022-04"}
    linked = linked_instance(instance, result.activities)
    assert linked.topics["T1"].months == ("2022-04", "2022-05", "2022-06")  # the program topic
    assert linked.topics["TV"] == instance.topics["TV"]  # verification is not linked

    def session(day: int) -> Session:
        start = datetime(2022, 4, day, 10, 0)
        return Session(f"s{day}", "T1", "C1", start, start + timedelta(minutes=90), Format.ONLINE, None, ("S1",))

    plan = Plan("rm", "OPTIMAL", 0, 0, 0, [session(8), session(11)], [], activities=result.activities)
    [violation] = link_violations(instance, plan)
    assert "s8" in violation and "A1" in violation and "не раньше 09.04.2022" in violation


def test_link_with_no_month_left_closes_the_topic(tmp_path: Path) -> None:
    instance = roadmap_instance(tmp_path, "A1,Итоги,МОУО,,,,0,,2022-12-20\n",
                                '\n[roadmap]\nstage_after = {program = "A1"}\n')
    linked = linked_instance(instance, schedule_roadmap(instance).activities)
    assert linked.topics["T1"].months == ("2022-07",)  # after the horizon: never open


# --- calendars ----------------------------------------------------------------------------


def test_roadmap_calendars(tmp_path: Path) -> None:
    from planner.exports.calendars import activity_uid
    from planner.exports.roadmap_calendars import roadmap_calendar_files

    instance = roadmap_instance(tmp_path, (
        "A1,Курс,ГКУ «КЦМКО»;КРИПКиПРО,,2022-03-14,,3,,\n"
        "A2,Приказ,КРИПКиПРО,,,,0,A1,\n"
    ))
    result = schedule_roadmap(instance)
    plan = Plan("rm", result.status, None, None, 0.0, [], [], activities=result.activities)
    files = roadmap_calendar_files(instance, plan)
    assert sorted(files) == ["calendars/executor-gku-ktsmko.ics", "calendars/executor-kripkipro.ics",
                             "calendars/roadmap.ics"]
    assert roadmap_calendar_files(instance, plan) == files  # reproducible byte for byte

    def events(name: str) -> dict[str, object]:
        cal = Calendar.from_ical(files[f"calendars/{name}.ics"])
        return {str(e["UID"]): e for e in cal.walk("VEVENT")}

    everything = events("roadmap")
    assert set(everything) == {activity_uid(instance, "A1"), activity_uid(instance, "A2")}
    course = everything[activity_uid(instance, "A1")]
    # All-day: 14–16.03, DTEND exclusive.
    assert (course["DTSTART"].dt, course["DTEND"].dt) == (date(2022, 3, 14), date(2022, 3, 17))
    assert str(course["SUMMARY"]) == "Курс"
    assert set(events("executor-gku-ktsmko")) == {activity_uid(instance, "A1")}
    assert set(events("executor-kripkipro")) == {activity_uid(instance, "A1"), activity_uid(instance, "A2")}


def test_slug_is_transliterated_ascii() -> None:
    assert slug("ГКУ «КЦМКО»") == "gku-ktsmko"
    assert slug("Министерство образования Кузбасса") == "ministerstvo-obrazovaniya-kuzbassa"
    assert slug("МБОУ «Новоивановская СОШ»") == "mbou-novoivanovskaya-sosh"


# --- the command --------------------------------------------------------------------------


def test_cli_roadmap_prints_the_orders_table_and_writes_calendars(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_cli("roadmap", str(ROOT / "instances" / "chebulinsky-2021"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    for column in ("№", "Описание действий", "Дата реализации", "Исполнители", "Показатель реализации"):
        assert column in done.stdout
    assert "Критический путь: A31 (11.01.2021–30.12.2021)" in done.stdout
    assert "16.02.2021" in done.stdout  # A08, the curator's appointment, on its fixed date
    assert "нерабочий день" in done.stderr  # the warning on A23 (Sunday 30.05.2021)
    assert (out / "calendars" / "roadmap.ics").exists()
    assert (out / "calendars" / "executor-kurator.ics").exists()
    dated_csv = (out / "roadmap-dated.csv").read_text(encoding="utf-8-sig").splitlines()
    assert dated_csv[0].startswith("id,Описание действий,Дата реализации")
    assert len(dated_csv) == 1 + 31


def test_cli_roadmap_explains_a_broken_roadmap(tmp_path: Path) -> None:
    folder = write_instance(tmp_path / "broken", extra={"roadmap.csv": HEADER + (
        "A1,Анализ,МОУО,,2022-03-01,,10,,\n"
        "A2,Вебинар,КЦМКО,,,2022-03-10,1,A1,\n")})
    done = run_cli("roadmap", str(folder))
    assert done.returncode == 2
    assert "Дорожную карту «broken» нельзя составить (INFEASIBLE)" in done.stderr
    assert ("A2 должно закончиться не позже 10.03.2022, но предшествующие A1 требуют времени до 15.03.2022"
            in done.stderr)
    assert "Traceback" not in done.stderr


def test_cli_settings_lists_the_roadmap_section() -> None:
    done = run_cli("settings")
    assert done.returncode == 0
    assert "[roadmap] executor_limit = 3" in done.stdout
    assert "[roadmap] stage_after" in done.stdout


def test_workbook_keeps_table_settings(tmp_path: Path) -> None:
    book = tmp_path / "cheb.xlsx"
    made = run_cli("template", str(book), "--from", str(ROOT / "instances" / "chebulinsky-2021"))
    assert made.returncode == 0, made.stderr
    from_book, _ = load_instance(book)
    from_folder, _ = load_instance(ROOT / "instances" / "chebulinsky-2021")
    assert from_book.settings.roadmap == from_folder.settings.roadmap
    assert from_book.settings.roadmap.limit_of("Управление образования Чебулинского МО") == 4
    assert from_book.activities == from_folder.activities


def test_replacing_settings_keeps_instances_comparable(tmp_path: Path) -> None:
    # RoadmapSettings is immutable and hashable like the other sections (tuples, not dicts).
    instance = roadmap_instance(tmp_path, "A1,Курс,Минобр,,,,1,,\n", '\n[roadmap]\nstage_after = {program = "A1"}\n')
    rm = instance.settings.roadmap
    assert hash(rm) == hash(replace(rm)) and rm.stage_after == (("program", "A1"),)


def test_cli_replan_keeps_the_roadmap_links(tmp_path: Path) -> None:
    # Programme consultations only after A1 (ends 08.04.2022). A school joins after a freeze
    # in mid-March, already verified, and needs a session of its own (capacity 1): without
    # the link it would go into March (early_program pulls it there); with it, not before
    # 09.04.2022.
    folder = write_instance(
        tmp_path / "rm", toml=BASE_TOML + '\n[roadmap]\nstage_after = {program = "A1"}\n',
        topics=[TOPICS[0], {**TOPICS[1], "capacity": "1"}],
        extra={"roadmap.csv": HEADER + "A1,Утверждение муниципальных дорожных карт,МОУО,,2022-04-04,,5,,\n"})
    base = tmp_path / "base"
    done = run_cli("solve", str(folder), "--out", str(base), "--time-limit", "10", "--workers", "2",
                   "--no-documents", "--no-calendars")
    assert done.returncode == 0, done.stderr
    scenario = tmp_path / "новая школа.toml"
    scenario.write_text('freeze_before = 2022-03-15\n\n[[school_added]]\nid = "S9"\nname = "Новая школа"\n'
                        'municipality = "M1"\nrisks = ["R03"]\npriority = 1\nverified_on = 2022-02-01\n',
                        encoding="utf-8")
    out = tmp_path / "replan"
    done = run_cli("replan", str(folder), "--baseline", str(base / "plan.json"), "--scenario", str(scenario),
                   "--out", str(out), "--workers", "2", "--no-documents", "--no-calendars")
    assert done.returncode == 0, done.stderr
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    s9 = [s for s in plan["sessions"] if "S9" in s["schools"]]
    assert [s["topic"] for s in s9] == ["T1"]
    assert all(s["start"] >= "2022-04-09" for s in plan["sessions"] if s["topic"] == "T1")
    assert [a["id"] for a in plan["activities"]] == ["A1"]


@pytest.mark.parametrize("n, text", [(1, "1 мероприятие"), (21, "21 мероприятие"), (11, "11 мероприятий"),
                                     (2, "2 мероприятия"), (52, "52 мероприятия"), (12, "12 мероприятий"),
                                     (5, "5 мероприятий"), (114, "114 мероприятий")])
def test_the_summary_counts_activities_in_russian(n, text):
    from models.roadmap import _activities_count
    assert _activities_count(n) == text
