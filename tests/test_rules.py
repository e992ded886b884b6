"""Every hard rule of the consultation graph, one family at a time (issue 3).

Part A checks the independent validator `models.validate.validate` on hand-made plans:
one plan that keeps every rule, and for each rule family a minimal change that breaks
exactly that rule (the exact set of rule codes is asserted), and boundary changes that
keep every rule. Part C runs `planner solve` and `planner validate` end to end on
`kuzbass-2022`. The solver, rule family by rule family, is in `test_solver_rules.py`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpers import BASE_TOML, run_cli, write_instance
from models.domain import Format, Instance, Plan, Session, Unmet
from models.validate import validate
from planner.inputs.validation import load_instance

TZ = ZoneInfo("Asia/Novokuznetsk")  # UTC+7 all year

# --- the instance ------------------------------------------------------------------------
#
# Distances from M1 (55.0 N, 86.0 E), all along a meridian or a parallel:
#   M2 (55.0, 87.0)  ~64 km: 83 min on the road, so a visit may start at 10:00.
#   M3 (57.67, 86.0) 296.89 km: ×1.3 / 60 km/h = 385.96 min → 386 min; 07:00 + 386 min = 13:26,
#       the earliest start of a visit from M1 (a 120-min visit then ends 15:26 ≤ 18:00).
#   M4 (59.5, 86.0)  500.38 km: 650.49 → 651 min; 07:00 + 651 min = 17:51, a 120-min visit
#       would end after 18:00, so the consultant travels the evening before and starts at 10:00.
VALIDATOR_TOML = BASE_TOML.replace(
    'blocked_months = []\nvacations = []',
    'blocked_months = ["2022-05"]\nvacations = [["2022-04-11", "2022-04-15"]]',
)
assert VALIDATOR_TOML != BASE_TOML

MUNICIPALITIES = [
    {"id": "M1", "name": "Город А", "lat": "55.0", "lon": "86.0"},
    {"id": "M2", "name": "Город Б", "lat": "55.0", "lon": "87.0"},
    {"id": "M3", "name": "Дальний округ", "lat": "57.67", "lon": "86.0"},
    {"id": "M4", "name": "Очень дальний округ", "lat": "59.5", "lon": "86.0"},
]


def topic(id, stage, fmt, duration, capacity, risks="", requires="", months=""):
    return {"id": id, "title": f"Тема {id}", "risks": risks, "stage": stage, "format": fmt,
            "duration_min": str(duration), "capacity": str(capacity), "requires": requires, "months": months}


def consultant(id, topics, max_per_month=4, max_total="", unavailable="", municipality="M1"):
    return {"id": id, "name": f"Консультант {id}", "position": "методист", "municipality": municipality,
            "topics": topics, "max_per_month": str(max_per_month), "max_total": str(max_total),
            "unavailable": unavailable}


def school(id, municipality="M1", risks="R03", priority=2, verified_on="2022-02-01", curator="C1"):
    return {"id": id, "name": f"Школа {id}", "municipality": municipality, "risks": risks,
            "priority": str(priority), "verified_on": verified_on, "curator": curator}


TOPICS = [
    topic("TV", "verification", "onsite", 120, 1),
    topic("T1", "program", "online", 90, 2, risks="R03"),
    topic("T2", "support", "online", 60, 1, risks="R05", requires="T1", months="2022-03;2022-06"),
    topic("T3", "support", "onsite", 120, 3, risks="R05"),
]
CONSULTANTS = [
    consultant("C1", "TV;T1;T3", max_per_month=2, unavailable="2022-04-18..2022-04-21"),
    consultant("C2", "T1;T2", max_per_month=2, max_total=2, unavailable="2022-06"),
    consultant("C3", "TV;T1;T3", max_per_month=2),
]
SCHOOLS = [
    school("S1", "M1", "R03;R05", priority=1),
    school("S2", "M3", "R03", verified_on=""),  # needs its curator C1's verification visit first
    school("S3", "M4", "R05", curator=""),
    school("S4", "M1", "R03", priority=3, curator=""),
]


@pytest.fixture(scope="module")
def inst(tmp_path_factory) -> Instance:
    folder = write_instance(tmp_path_factory.mktemp("rules") / "inst", toml=VALIDATOR_TOML,
                            municipalities=MUNICIPALITIES, topics=TOPICS, consultants=CONSULTANTS,
                            schools=SCHOOLS)
    instance, _warnings = load_instance(folder)
    return instance


def at(day: str, hhmm: str, tz=TZ) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(date.fromisoformat(day), time(h, m), tzinfo=tz)


def sess(sid: str, topic_id: str, cons: str, day: str, start: str, end: str, schools: tuple[str, ...],
         municipality: str | None = None) -> Session:
    fmt = Format.ONSITE if municipality is not None else Format.ONLINE
    return Session(sid, topic_id, cons, at(day, start), at(day, end), fmt, municipality, schools)


def base_sessions() -> dict[str, Session]:
    """A plan that keeps every rule and meets every need.

    S2's verification by its curator C1 at M3 starts at exactly the earliest time (13:26);
    T1 (program) comes after it; T2 (requires T1) two days after T1; S3's visit to M4 is an
    overnight trip (C1 has nothing on 15.03); S4's T1 is in April, outside the vacation.
    """
    return {
        "a": sess("s-a", "TV", "C1", "2022-03-10", "13:26", "15:26", ("S2",), "M3"),
        "b": sess("s-b", "T1", "C2", "2022-03-22", "10:00", "11:30", ("S1", "S2")),
        "c": sess("s-c", "T2", "C2", "2022-03-24", "10:00", "11:00", ("S1",)),
        "d": sess("s-d", "T3", "C1", "2022-03-16", "10:00", "12:00", ("S3",), "M4"),
        "g": sess("s-g", "T1", "C3", "2022-04-05", "10:00", "11:30", ("S4",)),
    }


def make_plan(sessions: dict[str, Session], unmet: list[Unmet] | None = None) -> Plan:
    return Plan("rules", "OPTIMAL", 0.0, 0.0, 0.0, list(sessions.values()), list(unmet or []))


def codes(instance: Instance, plan: Plan) -> set[str]:
    return {v.rule for v in validate(instance, plan)}


def moved(s: Session, day: str, start: str | None = None) -> Session:
    """The same session on another day (and optionally at another start), same duration."""
    new_start = at(day, start or s.start.strftime("%H:%M"), s.start.tzinfo)
    return dataclasses.replace(s, start=new_start, end=new_start + (s.end - s.start))


def with_consultant(instance: Instance, cid: str, **changes) -> Instance:
    consultants = dict(instance.consultants)
    consultants[cid] = dataclasses.replace(consultants[cid], **changes)
    return dataclasses.replace(instance, consultants=consultants)


def with_rules(instance: Instance, **changes) -> Instance:
    settings = instance.settings
    rules = dataclasses.replace(settings.rules, **changes)
    return dataclasses.replace(instance, settings=dataclasses.replace(settings, rules=rules))


def test_base_plan_keeps_every_rule(inst):
    plan = make_plan(base_sessions())
    assert validate(inst, plan) == []


def test_instance_distances_are_as_the_comments_say(inst):
    # The expected times below rest on these distances (haversine between centres).
    assert round(inst.distance_km("M1", "M2"), 1) == 63.8
    assert round(inst.distance_km("M1", "M3"), 2) == 296.89
    assert round(inst.distance_km("M1", "M4"), 2) == 500.38


# --- one mutation per rule ---------------------------------------------------------------
#
# Each case: (name, mutation, expected codes). A mutation gets the base sessions (a dict it
# may change) and the instance, and returns (instance, plan).

Mutation = Callable[[dict[str, Session], Instance], tuple[Instance, Plan]]


def plan_change(change: Callable[[dict[str, Session]], None], unmet: list[Unmet] | None = None) -> Mutation:
    def mutate(ss: dict[str, Session], instance: Instance) -> tuple[Instance, Plan]:
        change(ss)
        return instance, make_plan(ss, unmet)
    return mutate


def instance_change(change: Callable[[Instance], Instance]) -> Mutation:
    def mutate(ss: dict[str, Session], instance: Instance) -> tuple[Instance, Plan]:
        return change(instance), make_plan(ss)
    return mutate


def plan_and_instance(change: Callable[[dict[str, Session]], None],
                      change_instance: Callable[[Instance], Instance]) -> Mutation:
    def mutate(ss: dict[str, Session], instance: Instance) -> tuple[Instance, Plan]:
        change(ss)
        return change_instance(instance), make_plan(ss)
    return mutate


def _c3_visits_s2_without_curator(ss: dict[str, Session]) -> None:
    """S2's visit (at M3) made by C3 instead, late enough for C3's road from M2."""
    ss["a"] = moved(dataclasses.replace(ss["a"], consultant="C3"), "2022-03-10", "16:00")


def _s2_without_curator(visitor_candidates: int) -> Callable[[Instance], Instance]:
    """S2 has no curator; C3 lives in M2, ~300 km from S2's M3 (C1 in M1: 297 km, nearer)."""
    def change(instance: Instance) -> Instance:
        schools = {**instance.schools, "S2": dataclasses.replace(instance.schools["S2"], curator=None)}
        changed = with_consultant(dataclasses.replace(instance, schools=schools), "C3", municipality="M2")
        return with_rules(changed, visitor_candidates=visitor_candidates)
    return change


def _set(key: str, **changes):
    return lambda ss: ss.__setitem__(key, dataclasses.replace(ss[key], **changes))


def _move(key: str, day: str, start: str | None = None):
    return lambda ss: ss.__setitem__(key, moved(ss[key], day, start))


def _add(key: str, session: Session):
    return lambda ss: ss.__setitem__(key, session)


def _tz_shift(key: str, tz):
    """Same wall-clock 10:00 but written with another UTC offset."""
    def change(ss):
        s = ss[key]
        start = datetime.combine(s.start.date(), time(10, 0), tzinfo=tz)
        ss[key] = dataclasses.replace(s, start=start, end=start + (s.end - s.start))
    return change


def _naive(key: str):
    def change(ss):
        s = ss[key]
        ss[key] = dataclasses.replace(s, start=s.start.replace(tzinfo=None), end=s.end.replace(tzinfo=None))
    return change


CASES: list[tuple[str, Mutation, set[str]]] = [
    # unknown ids
    ("unknown school", plan_change(_set("g", schools=("S4", "S9"))), {"unknown_id"}),
    ("unknown consultant", plan_change(_set("d", consultant="C9")), {"unknown_id"}),
    ("unknown topic", plan_change(_add("x", sess("s-x", "T9", "C3", "2022-04-06", "10:00", "11:00", ("S4",)))),
     {"unknown_id"}),
    # session ids are unique
    ("duplicate session id", plan_change(_set("c", id="s-b")), {"unique_ids"}),
    # a consultant delivers only their topics (C3 does not deliver T2)
    ("consultant without the topic", plan_change(_set("c", consultant="C3")), {"consultant_topic"}),
    # unavailable months and ranges
    ("unavailable month", plan_change(_move("c", "2022-06-02")), {"consultant_unavailable"}),
    ("unavailable range", plan_change(_move("d", "2022-04-18")), {"consultant_unavailable"}),
    # a topic only in its months (T2: March and June)
    ("topic outside its months", plan_change(_move("c", "2022-04-05")), {"topic_month"}),
    # open days only
    ("holiday 8 March", plan_change(_move("d", "2022-03-08")), {"open_day"}),
    ("transferred day off 7 March", plan_change(_move("d", "2022-03-07")), {"open_day"}),
    ("working Saturday 5 March stays unused", plan_change(_move("d", "2022-03-05")), {"open_day"}),
    ("Saturday", plan_change(_move("d", "2022-03-19")), {"open_day"}),
    ("Sunday", plan_change(_move("d", "2022-03-20")), {"open_day"}),
    ("day off for Russia Day", plan_change(_move("g", "2022-06-13")), {"open_day"}),
    ("blocked month", plan_change(_move("d", "2022-05-12")), {"open_day"}),
    ("vacation day", plan_change(_move("d", "2022-04-12")), {"open_day"}),
    ("after the horizon", plan_change(_move("d", "2022-07-01")), {"open_day"}),
    ("before the horizon", plan_change(_move("d", "2022-02-28")), {"open_day"}),
    # times
    ("duration mismatch", plan_change(_set("c", end=at("2022-03-24", "11:30"))), {"times"}),
    ("start before 10:00", plan_change(_move("b", "2022-03-22", "09:30")), {"times"}),
    ("end after 18:00", plan_change(_move("b", "2022-03-22", "17:00")), {"times"}),
    ("wrong UTC offset +03:00", plan_change(_tz_shift("b", timezone(timedelta(hours=3)))), {"times"}),
    ("time without a zone", plan_change(_naive("g")), {"times"}),
    # capacity (T1 holds 2 schools)
    ("over capacity", plan_change(_set("b", schools=("S1", "S2", "S3"))), {"session_capacity"}),
    # format
    ("online topic held onsite", plan_change(_set("b", format=Format.ONSITE)), {"format"}),
    ("online session with a municipality", plan_change(_set("b", municipality="M1")), {"format"}),
    ("onsite session without a municipality", plan_change(_set("a", municipality=None)), {"format"}),
    # an onsite session serves one municipality (S3 is in M4; M2 is reachable by 10:00)
    ("onsite in another municipality", plan_change(_set("d", municipality="M2")), {"onsite_one_municipality"}),
    # consultant limits
    ("consultant month limit (a 3rd March session of C1)",
     plan_change(_add("e", sess("s-e", "T1", "C1", "2022-03-29", "10:00", "11:30", ("S3",)))),
     {"consultant_month_limit"}),
    ("consultant month limit lowered",
     instance_change(lambda i: with_consultant(i, "C2", max_per_month=1)), {"consultant_month_limit"}),
    ("consultant total limit (a 3rd session of C2)",
     plan_change(_add("f", sess("s-f", "T1", "C2", "2022-04-06", "10:00", "11:30", ("S3",)))),
     {"consultant_total_limit"}),
    ("consultant total limit lowered",
     instance_change(lambda i: with_consultant(i, "C1", max_total=1)), {"consultant_total_limit"}),
    # school limits: S2 would attend 3 sessions in March; S3 two on 16.03
    ("school month limit",
     plan_change(_add("h", sess("s-h", "T3", "C3", "2022-03-30", "13:30", "15:30", ("S2",), "M3"))),
     {"school_month_limit"}),
    ("school month limit lowered",
     instance_change(lambda i: with_rules(i, school_max_sessions_per_month=1)), {"school_month_limit"}),
    ("school two sessions a day",
     plan_change(_add("h", sess("s-h", "T1", "C3", "2022-03-16", "10:00", "11:30", ("S3",)))),
     {"school_same_day"}),
    # a consultant is never in two places at once
    ("two onsite visits the same day", plan_change(_move("d", "2022-03-10")), {"consultant_overlap"}),
    ("online sessions without the 30-min break",
     plan_change(_add("h", sess("s-h", "T1", "C3", "2022-04-05", "11:45", "13:15", ("S3",)))),
     {"consultant_overlap"}),
    ("online sessions overlapping",
     plan_change(_add("h", sess("s-h", "T1", "C3", "2022-04-05", "11:00", "12:30", ("S3",)))),
     {"consultant_overlap"}),
    # travel
    ("onsite visit one minute before the earliest start", plan_change(_move("a", "2022-03-10", "13:25")),
     {"travel"}),
    ("onsite visit at 10:00 in a far municipality", plan_change(_move("a", "2022-03-10", "10:00")), {"travel"}),
    # (busy with another visit: that also leaves no rest day between the two)
    ("overnight trip but the previous day is busy", plan_change(_move("a", "2022-03-15")),
     {"travel", "onsite_rest_day"}),
    ("onsite visits over the consultant's own monthly limit",
     instance_change(lambda i: with_consultant(i, "C1", max_onsite_per_month=1)), {"onsite_month_limit"}),
    ("onsite visits over the settings' monthly limit",
     instance_change(lambda i: with_rules(i, max_onsite_per_month=1)), {"onsite_month_limit"}),
    ("two onsite visits on consecutive days", plan_change(_move("a", "2022-03-17", "13:30")), {"onsite_rest_day"}),
    ("overnight trip but unavailable the previous day", plan_change(_move("d", "2022-04-22")), {"travel"}),
    ("unavailable on the day and the previous day", plan_change(_move("d", "2022-04-19")),
     {"travel", "consultant_unavailable"}),
    # a school never attends a topic twice (a verified school has had every verification)
    ("topic twice", plan_change(_set("g", schools=("S4", "S1"))), {"topic_twice"}),
    ("verification of a verified school",
     plan_change(_add("v", sess("s-v", "TV", "C1", "2022-04-06", "10:00", "12:00", ("S1",), "M1"))),
     {"topic_twice"}),
    # prerequisites strictly earlier (T2 requires T1; T1 is on 22.03)
    ("prerequisite the same day", plan_change(_move("c", "2022-03-22", "12:00")),
     {"prerequisite", "school_same_day"}),
    ("prerequisite a day later", plan_change(_move("c", "2022-03-21")), {"prerequisite"}),
    # verification by the curator, and first
    ("verification by a non-curator", plan_change(_set("a", consultant="C3")), {"verification_curator"}),
    ("no curator: verification by the second nearest when only the nearest may visit",
     plan_and_instance(_c3_visits_s2_without_curator, _s2_without_curator(1)), {"verification_curator"}),
    ("program topic before verification", plan_change(_move("b", "2022-03-09")), {"verification_first"}),
    ("program topic the day of verification",
     plan_change(_move("a", "2022-03-22", "13:30")), {"verification_first", "school_same_day"}),
    # unmet is complete and true
    ("unmet need not listed", plan_change(_set("b", schools=("S1",))), {"unmet_missing"}),
    ("met need listed as unmet", plan_change(lambda ss: None, [Unmet("S1", "R03", "нет консультанта")]),
     {"unmet_wrong"}),
    ("unknown need listed as unmet", plan_change(lambda ss: None, [Unmet("S1", "R07", "нет консультанта")]),
     {"unmet_wrong"}),
    ("unmet need without a reason", plan_change(_set("b", schools=("S1",)), [Unmet("S2", "R03", "  ")]),
     {"unmet_reason"}),
    ("verification missing and not listed", plan_change(lambda ss: ss.pop("a")),
     {"unmet_missing", "verification_first"}),
]

ALL_CODES = {
    "unknown_id", "unique_ids", "consultant_topic", "consultant_unavailable", "topic_month", "open_day", "times",
    "session_capacity", "format", "onsite_one_municipality", "consultant_month_limit", "consultant_total_limit",
    "school_month_limit", "school_same_day", "consultant_overlap", "travel", "topic_twice", "prerequisite",
    "verification_curator", "verification_first", "unmet_missing", "unmet_wrong", "unmet_reason",
    "onsite_month_limit", "onsite_rest_day",
}


def test_every_rule_code_has_a_breaking_case():
    assert set().union(*(expected for _name, _m, expected in CASES)) == ALL_CODES


@pytest.mark.parametrize(("mutation", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_change_breaks_exactly_one_rule(inst, mutation, expected):
    instance, plan = mutation(base_sessions(), inst)
    assert codes(instance, plan) == expected


# Changes that keep every rule: the boundary on the allowed side.
OK_CASES: list[tuple[str, Mutation]] = [
    ("prerequisite the day before", plan_change(_move("c", "2022-03-23"))),
    ("online sessions with exactly the 30-min break",
     plan_change(_add("h", sess("s-h", "T1", "C3", "2022-04-05", "12:00", "13:30", ("S3",))))),
    ("onsite visit later than the earliest start", plan_change(_move("a", "2022-03-10", "16:00"))),
    ("overnight trip on a Monday right after an unavailable range", plan_change(_move("d", "2022-04-25"))),
    # (S2's visit then moves to the 11th: never two visits on consecutive days)
    ("overnight trip after a holiday", plan_change(lambda ss: (_move("d", "2022-03-09")(ss),
                                                               _move("a", "2022-03-11", "13:30")(ss)))),
    ("same instant, region offset", plan_change(_tz_shift("b", timezone(timedelta(hours=7))))),
    ("unmet need listed with a reason",
     plan_change(_set("b", schools=("S1",)), [Unmet("S2", "R03", "не хватило ёмкости")])),
    ("last open day of the horizon", plan_change(_move("g", "2022-06-30"))),
    ("onsite visits with one day between them", plan_change(_move("a", "2022-03-18", "13:30"))),
    ("onsite visits exactly at the monthly limit",
     instance_change(lambda i: with_consultant(i, "C1", max_onsite_per_month=2))),
    ("no onsite limit (0)", instance_change(lambda i: with_rules(i, max_onsite_per_month=0))),
    ("no curator: verification by the second nearest when two may visit",
     plan_and_instance(_c3_visits_s2_without_curator, _s2_without_curator(2))),
    ("no curator: verification by anyone when visitor_candidates = 0",
     plan_and_instance(_c3_visits_s2_without_curator, _s2_without_curator(0))),
]


@pytest.mark.parametrize("mutation", [c[1] for c in OK_CASES], ids=[c[0] for c in OK_CASES])
def test_allowed_change_keeps_every_rule(inst, mutation):
    instance, plan = mutation(base_sessions(), inst)
    assert validate(instance, plan) == []


# --- C. the command line, end to end ---------------------------------------------------------

PLAN_KEYS = {"instance", "status", "objective", "bound", "solve_seconds", "sessions", "activities", "unmet"}
SESSION_KEYS = {"id", "topic", "consultant", "start", "end", "format", "municipality", "schools"}
UNMET_KEYS = {"school", "risk", "reason"}


@pytest.fixture(scope="module")
def kuzbass_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("kuzbass")
    result = run_cli("solve", "instances/kuzbass-2022", "--out", str(out), "--time-limit", "20", "--workers", "2")
    return out, result


def test_cli_solve_kuzbass_writes_the_plan(kuzbass_plan):
    out, result = kuzbass_plan
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "plan.json").is_file() and (out / "plan.csv").is_file()
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert PLAN_KEYS <= set(data)
    assert data["instance"] == "kuzbass-2022"
    assert data["status"] in {"OPTIMAL", "FEASIBLE"}
    assert data["sessions"], "a plan for 96 schools has sessions"
    for s in data["sessions"]:
        assert SESSION_KEYS <= set(s)
        assert s["start"].endswith("+07:00") and s["end"].endswith("+07:00")
        assert s["format"] in {"onsite", "online"}
        assert (s["municipality"] is None) == (s["format"] == "online")
    for u in data["unmet"]:
        assert UNMET_KEYS <= set(u) and u["reason"].strip()
    rows = list(csv.DictReader(io.StringIO((out / "plan.csv").read_text(encoding="utf-8"))))
    assert len(rows) == sum(len(s["schools"]) for s in data["sessions"])
    assert "Консультаций" in result.stdout  # the Russian summary


def test_cli_validate_passes_the_solved_plan(kuzbass_plan):
    out, _ = kuzbass_plan
    result = run_cli("validate", "instances/kuzbass-2022", str(out / "plan.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "соблюдает все правила" in result.stdout


def _corrupt(src: Path, dst: Path, change) -> str:
    data = json.loads(src.read_text(encoding="utf-8"))
    sid = change(data["sessions"][0])
    dst.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return sid


def _to_sunday(s: dict) -> str:
    start, end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
    shift = timedelta(days=6 - start.weekday())  # the Sunday of the same week
    s["start"], s["end"] = (start + shift).isoformat(), (end + shift).isoformat()
    assert (start + shift).weekday() == 6
    return s["id"]


def _without_zone(s: dict) -> str:
    s["start"], s["end"] = s["start"][:19], s["end"][:19]
    return s["id"]


@pytest.mark.parametrize(("change", "rule"), [(_to_sunday, "open_day"), (_without_zone, "times")],
                         ids=["moved to a Sunday", "time without a zone"])
def test_cli_validate_names_the_broken_rule(kuzbass_plan, tmp_path, change, rule):
    out, _ = kuzbass_plan
    bad = tmp_path / "plan.json"
    sid = _corrupt(out / "plan.json", bad, change)
    result = run_cli("validate", "instances/kuzbass-2022", str(bad))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{rule}: [{sid}]" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_solve_input_error_exits_2_in_russian(tmp_path):
    # A school in a municipality that does not exist: an input error, not a crash.
    folder = write_instance(tmp_path / "bad", schools=[school("S1", municipality="M9")])
    result = run_cli("solve", str(folder), "--out", str(tmp_path / "out"), "--time-limit", "5", "--workers", "2")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search("[А-Яа-яЁё]{4,}", result.stderr)
    assert "schools.csv" in result.stderr and "M9" in result.stderr
    assert not (tmp_path / "out" / "plan.json").exists()
