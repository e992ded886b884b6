"""A replan's two options (issue 14, item 5): when keeping every need covered costs far more
than the baseline, the stable option (nothing added, what it leaves unmet named) is computed
beside the coverage option, and `--prefer` picks which becomes the plan.

The instance: two schools in M2 need R06. The webinar TA (May only, consultant C2) covers it
and costs nothing; the visit TB (consultant C1 from M1, ~128 km there and back) covers it too.
The baseline takes TA. C2 then drops out from April: coverage needs the visit (a session
added), the stable option adds nothing and names the two needs.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date

from helpers import BASE_TOML, MUNICIPALITIES, run_cli, starve, write_instance
from models.calendar_days import DateRange
from models.domain import Instance
from models.replan import coverage_price, replan_options
from models.solve import SolveOptions, solve_consultations
from models.validate import validate
from planner.inputs.validation import load_instance

FREEZE = date(2022, 4, 1)
TOPICS = [
    {"id": "TV", "title": "Верификация", "risks": "", "stage": "verification", "format": "onsite",
     "duration_min": "120", "capacity": "1", "requires": "", "months": ""},
    {"id": "TA", "title": "Вебинар", "risks": "R06", "stage": "support", "format": "online",
     "duration_min": "90", "capacity": "10", "requires": "", "months": "2022-05"},
    {"id": "TB", "title": "Выездной семинар", "risks": "R06", "stage": "support", "format": "onsite",
     "duration_min": "120", "capacity": "5", "requires": "", "months": ""},
]
CONSULTANTS = [
    {"id": "C1", "name": "Иванова А. А.", "position": "методист", "municipality": "M1", "topics": "TV;TB",
     "max_per_month": "4", "max_total": "", "unavailable": ""},
    {"id": "C2", "name": "Петрова Б. Б.", "position": "методист", "municipality": "M1", "topics": "TA",
     "max_per_month": "4", "max_total": "", "unavailable": ""},
]
SCHOOLS = [
    {"id": sid, "name": f"Школа {sid}", "municipality": "M2", "risks": "R06", "priority": "2",
     "verified_on": "2022-02-01", "curator": "C1"} for sid in ("S1", "S2")
]
OPTS = SolveOptions(time_limit=8, workers=2, seed=0)


def _instance(tmp_path) -> Instance:
    folder = write_instance(tmp_path / "inst", toml=BASE_TOML, municipalities=MUNICIPALITIES, topics=TOPICS,
                            consultants=CONSULTANTS, schools=SCHOOLS)
    return load_instance(folder)[0]


def _without(instance: Instance, consultant: str) -> Instance:
    c = instance.consultants[consultant]
    away = dataclasses.replace(c, unavailable=(DateRange(FREEZE, instance.settings.horizon.end),))
    return dataclasses.replace(instance, consultants={**instance.consultants, consultant: away})


def test_expensive_coverage_gives_a_stable_option_that_names_what_it_leaves(tmp_path):
    instance = _instance(tmp_path)
    baseline, _ = solve_consultations(instance, OPTS)
    assert [(s.topic, s.start.month) for s in baseline.sessions] == [("TA", 5)]
    changed = _without(instance, "C2")
    found = replan_options(changed, baseline, FREEZE, OPTS)
    # Coverage: the visit replaces the webinar — every need met, one session added.
    cover = found.coverage
    assert [s.topic for s in cover.sessions] == ["TB"] and cover.unmet == []
    assert cover.meta["replan"]["added"] == 1 and cover.score["travel_km"] > 0
    assert found.price and "добавлено 1" in found.price[0]
    # Stability: nothing added, no km, and both needs named with the session they lost.
    stable = found.stability
    assert stable is not None and stable.sessions == [] and stable.meta["replan"]["added"] == 0
    assert stable.score["travel_km"] <= 1.2 * baseline.score["travel_km"]
    assert sorted((u.school, u.risk, u.code) for u in stable.unmet) == [
        ("S1", "R06", "stable_no_new_session"), ("S2", "R06", "stable_no_new_session")]
    assert all("TA у Петрова Б. Б." in u.reason for u in stable.unmet)
    assert validate(changed, cover) == [] and validate(changed, stable) == []


def test_cheap_coverage_computes_no_stable_option(tmp_path):
    # C1 (who has nothing after the freeze) drops out: the baseline still holds as it is.
    instance = _instance(tmp_path)
    baseline, _ = solve_consultations(instance, OPTS)
    found = replan_options(_without(instance, "C1"), baseline, FREEZE, OPTS)
    assert found.price == [] and found.stability is None
    assert coverage_price(baseline, found.coverage, FREEZE) == []


def test_prefer_stability_from_the_command_line(tmp_path):
    instance_dir = write_instance(tmp_path / "inst", toml=BASE_TOML, municipalities=MUNICIPALITIES, topics=TOPICS,
                                  consultants=CONSULTANTS, schools=SCHOOLS)
    base = tmp_path / "base"
    solved = run_cli("solve", str(instance_dir), "--out", str(base), "--time-limit", "8", "--workers", "2",
                     "--no-documents", "--no-calendars")
    assert solved.returncode == 0, solved.stderr
    scenario = tmp_path / "c2.toml"
    scenario.write_text('name = "C2 недоступна с апреля"\nfreeze_before = 2022-04-01\n\n[[consultant_unavailable]]\n'
                        'consultant = "C2"\nfrom = 2022-04-01\nto = 2022-06-30\n', encoding="utf-8")
    out = tmp_path / "replan"
    proc = run_cli("replan", str(instance_dir), "--baseline", str(base / "plan.json"), "--scenario", str(scenario),
                   "--out", str(out), "--prefer", "stability", "--no-documents", "--no-calendars")
    assert proc.returncode == 0, proc.stderr
    assert "Варианты" in proc.stdout and "стабильность" in proc.stdout
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    other = json.loads((out / "plan-coverage.json").read_text(encoding="utf-8"))
    assert plan["meta"]["replan"]["option"] == "stability" and plan["sessions"] == []
    assert other["meta"]["replan"]["option"] == "coverage" and [s["topic"] for s in other["sessions"]] == ["TB"]
    assert plan["meta"]["replan"]["options"]["chosen"] == "stability"
    report = (out / "changes.md").read_text(encoding="utf-8")
    assert "## Варианты" in report and "Школа S1" in report and "--prefer coverage" in report
    check = run_cli("validate", str(instance_dir), str(out / "plan.json"))
    assert "соблюдает все правила" in check.stdout


def test_a_replan_that_finds_nothing_keeps_what_still_fits(tmp_path, monkeypatch):
    # The search given no time (seen on a loaded machine at the default limit): the plan used
    # to keep only the history and cancel every later session. Now the baseline's later
    # sessions that the change still allows are kept; the rest is named as unmet.

    consultants = [{**CONSULTANTS[0], "topics": "TV;TB;TC"}, CONSULTANTS[1]]
    topics = TOPICS + [{**TOPICS[1], "id": "TC", "title": "Вебинар по R03", "risks": "R03", "months": "2022-06"}]
    schools = [{**s, "risks": "R06;R03"} for s in SCHOOLS]
    folder = write_instance(tmp_path / "inst", toml=BASE_TOML, municipalities=MUNICIPALITIES, topics=topics,
                            consultants=consultants, schools=schools)
    instance = load_instance(folder)[0]
    baseline, _ = solve_consultations(instance, OPTS)
    assert sorted(s.topic for s in baseline.sessions) == ["TA", "TC"]

    starve(monkeypatch, "attend[")  # the month model only
    changed = _without(instance, "C2")
    found = replan_options(changed, baseline, FREEZE, OPTS)
    plan = found.coverage
    assert plan.meta.get("fallback") and plan.meta["replan"]["kept"] == 1 and plan.meta["replan"]["cancelled"] == 1
    assert [s.topic for s in plan.sessions] == ["TC"]
    assert sorted((u.school, u.risk) for u in plan.unmet) == [("S1", "R06"), ("S2", "R06")]
    assert validate(changed, plan) == []
