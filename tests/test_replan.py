"""What-if replanning: scenario files, the frozen past, kept ids, the change report, compare.

One small instance (5 schools, 2 consultants, 4 months) and one baseline plan per module;
every replan runs with a 5 s limit on 2 workers. Each replanned plan goes through the
independent validator and through `check_replan` (history untouched, ids kept or cancelled,
SEQUENCE raised, meta counts consistent).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from helpers import CONSULTANTS, TOPICS, run_cli, write_instance
from models.calendar_days import DateRange, month_of, months_between
from models.domain import Consultant, Instance, Plan, School, Session
from models.problems import InputError
from models.replan import replan, sessions_changed
from models.score import needs
from models.solve import SolveOptions, solve_consultations
from models.validate import validate
from planner.exports.plan_io import plan_json_text, read_plan
from planner.inputs.scenario import KINDS, Scenario, apply_scenario, read_scenario
from planner.inputs.validation import load_instance
from planner.workflows.replanning import change_report, compare_table

OPTS = SolveOptions(time_limit=5, workers=2, seed=0)
# The baseline on one worker: CP-SAT is then deterministic, and so is every test built on it
# (on two workers it picks one of several equally good plans at random).
BASE_OPTS = SolveOptions(time_limit=5, workers=1, seed=0)
FREEZE = date(2022, 4, 15)  # the default freeze of the per-kind tests
HORIZON_START, HORIZON_END = date(2022, 3, 1), date(2022, 6, 30)
MONTHS = months_between(HORIZON_START, HORIZON_END)  # 2022-03 .. 2022-06
EXAMPLES = int(os.environ.get("REPLAN_EXAMPLES", "10"))
# The same examples on every run (a CI failure reproduces); REPLAN_RANDOM=1 explores new ones.
DERANDOMIZE = not os.environ.get("REPLAN_RANDOM")

TV = TOPICS[0]  # verification, onsite, 120 min, capacity 1


def topic(id, stage="program", fmt="online", duration=90, capacity=2, risks="R03", requires=""):
    return {"id": id, "title": f"Тема {id}", "risks": risks, "stage": stage, "format": fmt,
            "duration_min": str(duration), "capacity": str(capacity), "requires": requires, "months": ""}


def consultant(id, municipality="M1", topics="TV;T1;T2;T3", max_per_month=4):
    return {**CONSULTANTS[0], "id": id, "name": f"Консультант {id}", "municipality": municipality,
            "topics": topics, "max_per_month": str(max_per_month), "max_total": "", "unavailable": ""}


def school(id, municipality="M1", risks="R03;R05", priority=2, verified_on="2022-02-01", curator="C1"):
    return {"id": id, "name": f"Школа {id}", "municipality": municipality, "risks": risks,
            "priority": str(priority), "verified_on": verified_on, "curator": curator}


# T1 (R03) → T2 (R03, R05) → T3 (R05, onsite): prerequisites spread a school over months.
TABLES = dict(
    topics=[TV, topic("T1"), topic("T2", stage="support", risks="R03;R05", requires="T1"),
            topic("T3", stage="monitoring", fmt="onsite", duration=120, risks="R05", requires="T2")],
    consultants=[consultant("C1"), consultant("C2", municipality="M2")],
    schools=[school("S1", priority=1), school("S2"), school("S3", "M2", verified_on="", curator="C2"),
             school("S4", "M2", risks="R05"), school("S5", risks="R03")],
)


@dataclasses.dataclass
class Base:
    folder: Path  # the instance folder
    plan_path: Path  # the baseline as plan.json
    scratch: Path  # a module-wide scratch folder (hypothesis cannot use tmp_path)
    inst: Instance
    plan: Plan
    snapshot: Plan  # a deep copy: replans must never modify the baseline


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    root = tmp_path_factory.mktemp("replan")
    folder = write_instance(root / "inst", **TABLES)
    inst, _warnings = load_instance(folder)
    plan, _report = solve_consultations(inst, BASE_OPTS)
    assert validate(inst, plan) == []
    assert plan.unmet == []
    # The per-kind tests need a past and a future around FREEZE.
    assert any(s.start.date() < FREEZE for s in plan.sessions)
    assert sum(1 for s in plan.sessions if s.start.date() >= FREEZE) >= 2
    plan_path = root / "base" / "plan.json"
    plan_path.parent.mkdir()
    plan_path.write_text(plan_json_text(plan), encoding="utf-8")
    scratch = root / "scratch"
    scratch.mkdir()
    return Base(folder, plan_path, scratch, inst, plan, copy.deepcopy(plan))


# --- helpers -----------------------------------------------------------------------------


def write_scenario(folder: Path, body: str, freeze: date | None = FREEZE, name: str = "тест",
                   filename: str = "scenario.toml") -> Path:
    head = f'name = "{name}"\n' + (f"freeze_before = {freeze.isoformat()}\n" if freeze else "")
    path = folder / filename
    path.write_text(head + body, encoding="utf-8")
    return path


def scenario(folder: Path, body: str, freeze: date | None = FREEZE, filename: str = "scenario.toml") -> Scenario:
    return read_scenario(write_scenario(folder, body, freeze, filename=filename))


def run_replan(base: Base, sc: Scenario) -> tuple[Instance, Plan]:
    inst = apply_scenario(sc, base.inst)
    plan = replan(inst, base.plan, sc.freeze_before, OPTS, sc.name)
    check_replan(base, inst, plan, sc.freeze_before)
    return inst, plan


def content(s: Session) -> tuple:
    return (s.topic, s.consultant, s.start, s.end, s.format, s.municipality, s.schools)


def phase2_lost(plan: Plan) -> bool:
    """Phase 2 found no solution although phase 1 did (a bug once: the plan was then read
    from an infeasible hint; see test_replan_keeps_the_coverage_it_proved)."""
    return any(p["name"] == "soft" and p["status"] not in ("OPTIMAL", "FEASIBLE") for p in plan.meta["phases"])


def check_replan(base: Base, inst: Instance, plan: Plan, freeze: date) -> None:
    """Everything every replan must satisfy, whatever the scenario."""
    baseline = base.plan
    violations = validate(inst, plan)
    assert violations == [], [v.render() for v in violations]
    # The baseline object is not modified by the replan.
    assert baseline.sessions == base.snapshot.sessions and baseline.cancelled == base.snapshot.cancelled
    # History: exactly the baseline's sessions before the freeze (id, time, consultant, schools, SEQUENCE),
    # and nothing new placed in the past.
    history = [s for s in baseline.sessions if s.start.date() < freeze]
    past = [s for s in plan.sessions if s.start.date() < freeze]
    assert sorted(past, key=lambda s: s.id) == sorted(history, key=lambda s: s.id)
    # Ids: unique among active sessions, never both active and cancelled.
    ids = [s.id for s in plan.sessions]
    assert len(ids) == len(set(ids))
    cancelled = {c.id: c for c in plan.cancelled}
    assert len(cancelled) == len(plan.cancelled)
    assert not set(ids) & set(cancelled)
    # Every later baseline session survives under its id or is cancelled with a raised SEQUENCE.
    by_id = {s.id: s for s in plan.sessions}
    future = [s for s in baseline.sessions if s.start.date() >= freeze]
    kept = moved = 0
    for old in future:
        if old.id in by_id:
            new = by_id[old.id]
            if content(new) == content(old):
                assert new.sequence == old.sequence, old.id
                kept += 1
            else:
                assert new.sequence > old.sequence, old.id
                moved += 1
        else:
            assert old.id in cancelled, f"{old.id} is neither kept nor cancelled"
            assert cancelled[old.id].sequence > old.sequence
            assert content(cancelled[old.id]) == content(old)
    baseline_ids = {s.id for s in baseline.sessions}
    added = [s for s in plan.sessions if s.id not in baseline_ids]
    assert all(s.sequence == 0 and s.start.date() >= freeze for s in added)
    meta = plan.meta["replan"]
    assert (meta["kept"], meta["moved"], meta["cancelled"], meta["added"]) == \
           (kept, moved, len(future) - kept - moved, len(added))
    assert meta["cancelled"] == len(plan.cancelled) - len(baseline.cancelled)
    assert meta["freeze_before"] == freeze.isoformat()
    assert meta["history_sessions"] == len(history)


def after(plan: Plan, freeze: date = FREEZE) -> list[Session]:
    return [s for s in plan.sessions if s.start.date() >= freeze]


def unmet_of(plan: Plan) -> dict[tuple[str, str], str]:
    return {(u.school, u.risk): u.reason for u in plan.unmet}


def problems_of(exc: pytest.ExceptionInfo[InputError]) -> list[tuple[str, str | None, str | None]]:
    return [(p.file, p.column, p.value) for p in exc.value.problems]


def same_except(a: Instance, b: Instance, **changed) -> None:
    """`b` equals `a` except in the fields named as keywords (`blocked_months` skips the settings)."""
    for f in ("name", "municipalities", "risks", "schools", "consultants", "topics"):
        if f not in changed:
            assert getattr(a, f) == getattr(b, f), f
    if "blocked_months" not in changed:
        assert a.settings == b.settings


# --- 1. each scenario kind ---------------------------------------------------------------


def test_consultant_unavailable(base, tmp_path):
    c1_later = [s for s in after(base.plan) if s.consultant == "C1"]
    assert c1_later, "baseline needs a C1 session after the freeze"
    start = min(s.start.date() for s in c1_later)
    end = date(2022, 6, 30)
    sc = scenario(tmp_path, f"[[consultant_unavailable]]\nconsultant = \"C1\"\nfrom = {start}\nto = {end}\n")
    inst, plan = run_replan(base, sc)
    rng = DateRange(start, end)
    assert inst.consultants["C1"] == dataclasses.replace(
        base.inst.consultants["C1"], unavailable=base.inst.consultants["C1"].unavailable + (rng,))
    same_except(base.inst, inst, consultants=None)
    assert {k: v for k, v in inst.consultants.items() if k != "C1"} == \
           {k: v for k, v in base.inst.consultants.items() if k != "C1"}
    assert base.inst.consultants["C1"].unavailable == ()  # the original instance is untouched
    assert not [s for s in plan.sessions if s.consultant == "C1" and s.start.date() in rng]
    # Each of C1's sessions in the range was moved away (other consultant or day) or cancelled.
    for old in c1_later:
        new = next((s for s in plan.sessions if s.id == old.id), None)
        assert new is None or (new.consultant, new.start.date()) != (old.consultant, old.start.date())
    assert plan.meta["replan"]["moved"] + plan.meta["replan"]["cancelled"] >= len(c1_later)


def test_month_blocked(base, tmp_path):
    month = month_of(max(s.start.date() for s in base.plan.sessions))
    assert month > month_of(FREEZE)
    in_month = [s for s in base.plan.sessions if month_of(s.start.date()) == month]
    sc = scenario(tmp_path, f'[[month_blocked]]\nmonth = "{month}"\n')
    inst, plan = run_replan(base, sc)
    assert inst.settings.horizon.blocked_months == base.inst.settings.horizon.blocked_months + (month,)
    assert base.inst.settings.horizon.blocked_months == ()
    same_except(base.inst, inst, blocked_months=None)
    assert dataclasses.replace(inst.settings.horizon, blocked_months=()) == base.inst.settings.horizon
    assert not [s for s in plan.sessions if month_of(s.start.date()) == month]
    for old in in_month:
        assert old.id in {c.id for c in plan.cancelled} or \
               month_of(next(s for s in plan.sessions if s.id == old.id).start.date()) != month


def test_school_risks(base, tmp_path):
    sc = scenario(tmp_path, '[[school_risks]]\nschool = "S5"\nrisks = ["R03", "R05"]\n\n'
                            '[[school_risks]]\nschool = "S2"\nrisks = ["R01"]\n')
    inst, plan = run_replan(base, sc)
    assert inst.schools["S5"] == dataclasses.replace(base.inst.schools["S5"], risks=("R03", "R05"))
    assert inst.schools["S2"] == dataclasses.replace(base.inst.schools["S2"], risks=("R01",))
    assert {k: v for k, v in inst.schools.items() if k not in ("S2", "S5")} == \
           {k: v for k, v in base.inst.schools.items() if k not in ("S2", "S5")}
    same_except(base.inst, inst, schools=None)
    unmet = unmet_of(plan)
    # S2 now only has R01, which no topic addresses: unmet with a reason, and S2 has no
    # reason to attend anything after the freeze.
    assert unmet.get(("S2", "R01"), "").strip()
    assert not [s for s in after(plan) if "S2" in s.schools]
    assert ("S2", "R03") not in unmet and ("S2", "R05") not in unmet
    # S5's new R05 is met (T2 after T1) or listed with a reason.
    attended = {s.topic for s in plan.sessions if "S5" in s.schools}
    assert "T2" in attended or unmet.get(("S5", "R05"), "").strip()


def test_school_added(base, tmp_path):
    sc = scenario(tmp_path, '[[school_added]]\nid = "S9"\nname = "МБОУ «ООШ № 5»"\nmunicipality = "M2"\n'
                            'risks = ["R03"]\npriority = 1\nverified_on = 2022-01-15\ncurator = "C2"\n\n'
                            '[[school_added]]\nid = "S8"\nname = "МБОУ «СОШ № 8»"\nmunicipality = "M1"\n'
                            'risks = ["R05"]\ncurator = "C1"\n')
    inst, plan = run_replan(base, sc)
    assert inst.schools["S9"] == School("S9", "МБОУ «ООШ № 5»", "M2", ("R03",), 1, date(2022, 1, 15), "C2")
    assert inst.schools["S8"] == School("S8", "МБОУ «СОШ № 8»", "M1", ("R05",), 2, None, "C1")
    assert {k: v for k, v in inst.schools.items() if k not in ("S8", "S9")} == base.inst.schools
    same_except(base.inst, inst, schools=None)
    unmet = unmet_of(plan)
    for need in [n for n in needs(inst) if n[0] in ("S8", "S9")]:
        assert need not in unmet or unmet[need].strip()
    # There is room: the new schools get consultations after the freeze, none before.
    for sid in ("S8", "S9"):
        assert [s for s in plan.sessions if sid in s.schools]
        assert not [s for s in plan.sessions if sid in s.schools and s.start.date() < FREEZE]
    assert plan.meta["replan"]["added"] + plan.meta["replan"]["moved"] >= 1
    # S8 is not verified: its verification (if any) is by its curator, before its T1.
    verif = [s for s in plan.sessions if "S8" in s.schools and s.topic == "TV"]
    assert all(s.consultant == "C1" for s in verif)


def test_school_added_with_an_empty_curator_has_none(base, tmp_path):
    # curator = "" reads as an empty cell in schools.csv: no curator yet (the nearest visit);
    # a curator nobody knows is still an error naming the entry and the field.
    sc = scenario(tmp_path, '[[school_added]]\nid = "S9"\nname = "Новая"\nmunicipality = "M2"\n'
                            'risks = ["R03"]\ncurator = ""\n')
    inst = apply_scenario(sc, base.inst)
    assert inst.schools["S9"].curator is None
    bad = scenario(tmp_path, '[[school_added]]\nid = "S9"\nname = "Новая"\nmunicipality = "M2"\n'
                             'risks = ["R03"]\ncurator = "C9"\n', filename="bad.toml")
    with pytest.raises(InputError) as exc:
        apply_scenario(bad, base.inst)
    assert [(p.column, p.value) for p in exc.value.problems] == [("[[school_added]] №1, поле curator", "C9")]


def test_school_removed(base, tmp_path):
    later = [s for s in after(base.plan) if s.schools]
    sid = next(x for s in later for x in s.schools)  # a school with a consultation after the freeze
    sc = scenario(tmp_path, f'[[school_removed]]\nschool = "{sid}"\n')
    inst, plan = run_replan(base, sc)
    assert inst.schools[sid].withdrawn
    assert inst.schools[sid] == dataclasses.replace(base.inst.schools[sid], withdrawn=True)
    assert not any(n[0] == sid for n in needs(inst))
    assert {k: v for k, v in inst.schools.items() if k != sid} == \
           {k: v for k, v in base.inst.schools.items() if k != sid}
    same_except(base.inst, inst, schools=None)
    assert not [s for s in after(plan) if sid in s.schools]
    assert not [u for u in plan.unmet if u.school == sid]
    # Its history stays.
    assert [s for s in base.plan.sessions if sid in s.schools and s.start.date() < FREEZE] == \
           [s for s in plan.sessions if sid in s.schools]
    assert plan.score["needs_total"] == len(needs(inst))


def test_consultant_added(base, tmp_path):
    # Both original consultants are away after the freeze: only the new one can consult.
    end = date(2022, 6, 30)
    sc = scenario(tmp_path,
                  f'[[consultant_unavailable]]\nconsultant = "C1"\nfrom = {FREEZE}\nto = {end}\n\n'
                  f'[[consultant_unavailable]]\nconsultant = "C2"\nfrom = {FREEZE}\nto = {end}\n\n'
                  '[[consultant_added]]\nid = "C3"\nname = "Петрова В. В."\nposition = "методист"\n'
                  'municipality = "M1"\ntopics = ["T1", "T2"]\nmax_per_month = 3\nmax_total = 6\n')
    inst, plan = run_replan(base, sc)
    assert inst.consultants["C3"] == Consultant("C3", "Петрова В. В.", "методист", "M1", ("T1", "T2"), 3, 6)
    assert set(inst.consultants) == {"C1", "C2", "C3"}
    later = after(plan)
    assert later and all(s.consultant == "C3" for s in later)
    assert all(s.topic in ("T1", "T2") for s in later)


def test_topic_months(base, tmp_path):
    # T2 only in the open months after the freeze where the baseline has none of it: T2's
    # sessions after the freeze must move there.
    t2_later = [s for s in after(base.plan) if s.topic == "T2"]
    assert t2_later and not [s for s in base.plan.sessions if s.topic == "T2" and s.start.date() < FREEZE]
    used = {month_of(s.start.date()) for s in t2_later}
    allowed = [m for m in MONTHS if m >= month_of(FREEZE) and m not in used]
    assert allowed
    assert any(month_of(s.start.date()) not in allowed for s in t2_later), "the change must bind"
    sc = scenario(tmp_path, f'[[topic_months]]\ntopic = "T2"\nmonths = {json.dumps(allowed)}\n')
    inst, plan = run_replan(base, sc)
    assert inst.topics["T2"] == dataclasses.replace(base.inst.topics["T2"], months=tuple(allowed))
    assert {k: v for k, v in inst.topics.items() if k != "T2"} == \
           {k: v for k, v in base.inst.topics.items() if k != "T2"}
    same_except(base.inst, inst, topics=None)
    assert all(month_of(s.start.date()) in allowed for s in plan.sessions if s.topic == "T2")


def test_consultant_capacity(base, tmp_path):
    # C1 may hold one consultation a month and two in all from now on (the history fits).
    hist_c1 = [s for s in base.plan.sessions if s.consultant == "C1" and s.start.date() < FREEZE]
    per_month = max([sum(1 for s in hist_c1 if month_of(s.start.date()) == m) for m in MONTHS] + [1])
    total = len(hist_c1) + 1
    sc = scenario(tmp_path, f'[[consultant_capacity]]\nconsultant = "C1"\nmax_per_month = {per_month}\n'
                            f'max_total = {total}\n')
    inst, plan = run_replan(base, sc)
    assert inst.consultants["C1"] == dataclasses.replace(base.inst.consultants["C1"], max_per_month=per_month,
                                                         max_total=total)
    assert inst.consultants["C2"] == base.inst.consultants["C2"]
    same_except(base.inst, inst, consultants=None)
    mine = [s for s in plan.sessions if s.consultant == "C1"]
    assert len(mine) <= total
    for m in MONTHS:
        assert sum(1 for s in mine if month_of(s.start.date()) == m) <= per_month
    # Only max_per_month given: max_total stays as it was.
    sc2 = scenario(tmp_path, '[[consultant_capacity]]\nconsultant = "C2"\nmax_per_month = 2\n', filename="b.toml")
    inst2 = apply_scenario(sc2, base.inst)
    assert inst2.consultants["C2"] == dataclasses.replace(base.inst.consultants["C2"], max_per_month=2)


def test_topic_capacity(base, tmp_path):
    # Room for three schools per T1 session.
    sc = scenario(tmp_path, '[[topic_capacity]]\ntopic = "T1"\ncapacity = 3\n')
    inst, plan = run_replan(base, sc)
    assert inst.topics["T1"] == dataclasses.replace(base.inst.topics["T1"], capacity=3)
    assert {k: v for k, v in inst.topics.items() if k != "T1"} == \
           {k: v for k, v in base.inst.topics.items() if k != "T1"}
    same_except(base.inst, inst, topics=None)
    assert all(len(s.schools) <= 3 for s in plan.sessions if s.topic == "T1")


def test_every_kind_is_tested():
    tested = {"consultant_unavailable", "month_blocked", "school_risks", "school_added", "school_removed",
              "consultant_added", "topic_months", "consultant_capacity", "topic_capacity"}
    assert set(KINDS) == tested


def test_scenario_name_and_freeze_are_read(tmp_path):
    sc = scenario(tmp_path, '[[month_blocked]]\nmonth = "2022-06"\n')
    assert (sc.name, sc.freeze_before, sc.count(), sc.path) == ("тест", FREEZE, 1, "scenario.toml")
    unnamed = tmp_path / "без-имени.toml"
    unnamed.write_text("", encoding="utf-8")
    sc = read_scenario(unnamed)
    assert (sc.name, sc.freeze_before, sc.count()) == ("без-имени", None, 0)


# --- history that a scenario contradicts -------------------------------------------------


def test_topic_months_that_exclude_a_past_session(base, tmp_path):
    past_t1 = [s for s in base.plan.sessions if s.topic == "T1" and s.start.date() < FREEZE]
    assert past_t1
    later = [m for m in MONTHS if m > month_of(FREEZE)]
    sc = scenario(tmp_path, f'[[topic_months]]\ntopic = "T1"\nmonths = {json.dumps(later)}\n')
    # History is fact: the new months apply from the freeze on, the past T1 sessions stay,
    # and their schools do not get T1 a second time.
    inst = apply_scenario(sc, base.inst)
    plan = replan(inst, base.plan, FREEZE, OPTS, sc.name)
    check_replan(base, inst, plan, FREEZE)
    assert all(month_of(s.start.date()) in later for s in plan.sessions if s.topic == "T1" and s.start.date() >= FREEZE)
    had_t1 = {school for s in past_t1 for school in s.schools}
    again = [s.id for s in plan.sessions if s.topic == "T1" and s.start.date() >= FREEZE and had_t1 & set(s.schools)]
    assert again == []
    # The same past session after the freeze date would break the rule.
    moved = dataclasses.replace(plan, meta={**plan.meta, "replan": {**plan.meta["replan"],
                                                                     "freeze_before": MONTHS[0] + "-01"}})
    assert "topic_month" in {v.rule for v in validate(inst, moved)}


@pytest.mark.parametrize("kind", ["consultant_capacity", "topic_capacity"])
def test_capacity_below_the_history(base, tmp_path, kind):
    past = [s for s in base.plan.sessions if s.start.date() < FREEZE]
    if kind == "consultant_capacity":
        # max_total under what the consultant has already held.
        c = max(sorted({s.consultant for s in past}), key=lambda c: sum(1 for s in past if s.consultant == c))
        held = sum(1 for s in past if s.consultant == c)
        body = f'[[consultant_capacity]]\nconsultant = "{c}"\nmax_total = {held - 1}\n'
    else:
        t = next(s.topic for s in past if len(s.schools) > 1)
        body = f'[[topic_capacity]]\ntopic = "{t}"\ncapacity = 1\n'
    sc = scenario(tmp_path, body)
    # History is fact: the new limit applies from the freeze on.
    inst = apply_scenario(sc, base.inst)
    plan = replan(inst, base.plan, FREEZE, OPTS, sc.name)
    assert plan.status in ("OPTIMAL", "FEASIBLE")
    check_replan(base, inst, plan, FREEZE)
    later = [s for s in plan.sessions if s.start.date() >= FREEZE]
    if kind == "consultant_capacity":
        assert [s.id for s in later if s.consultant == c] == []  # the limit is already used up
    else:
        assert all(len(s.schools) == 1 for s in later if s.topic == t)
    # Without the freeze (the past counted as planned, not as held) the plan breaks the new limit.
    rule = "consultant_total_limit" if kind == "consultant_capacity" else "session_capacity"
    moved = dataclasses.replace(plan, meta={**plan.meta, "replan": {**plan.meta["replan"],
                                                                     "freeze_before": MONTHS[0] + "-01"}})
    assert rule in {v.rule for v in validate(inst, moved)}


LOSSY = {
    # Only March stays open: the baseline's later sessions have no place any more.
    "months blocked": '[[month_blocked]]\nmonth = "2022-04"\n\n[[month_blocked]]\nmonth = "2022-05"\n\n'
                      '[[month_blocked]]\nmonth = "2022-06"\n',
    "two months blocked": '[[month_blocked]]\nmonth = "2022-04"\n\n[[month_blocked]]\nmonth = "2022-05"\n',
    "consultant away": '[[consultant_unavailable]]\nconsultant = "C1"\nfrom = 2022-03-01\nto = 2022-06-30\n\n'
                       '[[consultant_unavailable]]\nconsultant = "C2"\nfrom = 2022-05-01\nto = 2022-06-30\n',
}


@pytest.mark.parametrize("body", list(LOSSY.values()), ids=list(LOSSY))
def test_replan_keeps_the_coverage_it_proved(base, tmp_path, body):
    # Freeze on the horizon's first day: no history, so a replan may do anything a fresh solve
    # may, and coverage comes first in both.
    freeze = HORIZON_START
    sc = scenario(tmp_path, body, freeze=freeze)
    inst = apply_scenario(sc, base.inst)
    plan = replan(inst, base.plan, freeze, OPTS, sc.name)
    fresh, _report = solve_consultations(inst, OPTS)
    check_replan(base, inst, plan, freeze)
    assert not phase2_lost(plan), plan.meta["phases"]
    assert plan.score["needs_covered"] >= fresh.score["needs_covered"]


def test_entries_may_refer_to_what_the_scenario_adds(base, tmp_path):
    sc = scenario(tmp_path, '[[consultant_unavailable]]\nconsultant = "C3"\nfrom = 2022-06-01\nto = 2022-06-10\n\n'
                            '[[school_risks]]\nschool = "S9"\nrisks = ["R03", "R05"]\n\n'
                            '[[school_added]]\nid = "S9"\nname = "Новая"\nmunicipality = "M1"\nrisks = ["R03"]\n'
                            'curator = "C3"\n\n'
                            '[[consultant_added]]\nid = "C3"\nname = "Новый"\nmunicipality = "M1"\n'
                            'topics = ["TV", "T1"]\nmax_per_month = 2\n')
    inst = apply_scenario(sc, base.inst)
    assert inst.consultants["C3"].unavailable == (DateRange(date(2022, 6, 1), date(2022, 6, 10)),)
    assert inst.schools["S9"].risks == ("R03", "R05") and inst.schools["S9"].curator == "C3"


# --- 2. bad scenarios --------------------------------------------------------------------


BAD = [
    ("unknown consultant", '[[consultant_unavailable]]\nconsultant = "C99"\nfrom = 2022-05-01\nto = 2022-05-31\n',
     "[[consultant_unavailable]] №1, поле consultant", "C99", "неизвестный консультант"),
    ("unknown school", '[[school_risks]]\nschool = "S99"\nrisks = ["R01"]\n',
     "[[school_risks]] №1, поле school", "S99", "неизвестный код школы"),
    ("unknown school removed", '[[school_removed]]\nschool = "S77"\n',
     "[[school_removed]] №1, поле school", "S77", "неизвестный код школы"),
    ("unknown topic", '[[topic_months]]\ntopic = "T99"\nmonths = ["2022-05"]\n',
     "[[topic_months]] №1, поле topic", "T99", "неизвестный код темы"),
    ("unknown topic capacity", '[[topic_capacity]]\ntopic = "TX"\ncapacity = 3\n',
     "[[topic_capacity]] №1, поле topic", "TX", "неизвестный код темы"),
    ("unknown risk", '[[school_risks]]\nschool = "S1"\nrisks = ["R03", "R42"]\n',
     "[[school_risks]] №1, поле risks", "R42", "неизвестный код риска"),
    ("to before from", '[[consultant_unavailable]]\nconsultant = "C1"\nfrom = 2022-05-10\nto = 2022-05-01\n',
     "[[consultant_unavailable]] №1, поле to", "2022-05-01", "конец периода раньше начала"),
    ("period before freeze", '[[consultant_unavailable]]\nconsultant = "C1"\nfrom = 2022-04-01\nto = 2022-05-01\n',
     "[[consultant_unavailable]] №1, поле from", "2022-04-01", "до даты заморозки"),
    ("month outside horizon", '[[month_blocked]]\nmonth = "2022-09"\n',
     "[[month_blocked]] №1, поле month", "2022-09", "вне горизонта"),
    ("month before freeze", '[[month_blocked]]\nmonth = "2022-03"\n',
     "[[month_blocked]] №1, поле month", "2022-03", "раньше даты заморозки"),
    ("freeze month", '[[month_blocked]]\nmonth = "2022-04"\n',
     "[[month_blocked]] №1, поле month", "2022-04", "уже прошли"),
    ("bad month", '[[month_blocked]]\nmonth = "май"\n',
     "[[month_blocked]] №1, поле month", "май", "ГГГГ-ММ"),
    ("topic month outside horizon", '[[topic_months]]\ntopic = "T2"\nmonths = ["2022-05", "2023-01"]\n',
     "[[topic_months]] №1, поле months", "2023-01", "вне горизонта"),
    ("existing school id", '[[school_added]]\nid = "S1"\nname = "Дубль"\nmunicipality = "M1"\nrisks = ["R03"]\n',
     "[[school_added]] №1, поле id", "S1", "уже есть"),
    ("existing consultant id", '[[consultant_added]]\nid = "C2"\nname = "Дубль"\nmunicipality = "M1"\n'
                               'topics = ["T1"]\nmax_per_month = 2\n',
     "[[consultant_added]] №1, поле id", "C2", "уже есть"),
    ("non-date from", '[[consultant_unavailable]]\nconsultant = "C1"\nfrom = "июнь"\nto = 2022-06-30\n',
     "[[consultant_unavailable]] №1, поле from", "июнь", "нужна дата"),
    ("missing field", '[[consultant_unavailable]]\nconsultant = "C1"\nfrom = 2022-06-01\n',
     "[[consultant_unavailable]] №1, поле to", None, "нет обязательного поля"),
    ("unknown municipality", '[[school_added]]\nid = "S9"\nname = "Новая"\nmunicipality = "M9"\nrisks = ["R03"]\n',
     "[[school_added]] №1, поле municipality", "M9", "неизвестный муниципалитет"),
    ("bad priority", '[[school_added]]\nid = "S9"\nname = "Новая"\nmunicipality = "M1"\nrisks = []\npriority = 7\n',
     "[[school_added]] №1, поле priority", "7", "приоритет"),
    ("unknown curator", '[[school_added]]\nid = "S9"\nname = "Новая"\nmunicipality = "M1"\nrisks = []\n'
                        'curator = "C42"\n',
     "[[school_added]] №1, поле curator", "C42", "неизвестный консультант"),
    ("unknown topic of consultant", '[[consultant_added]]\nid = "C3"\nname = "Новый"\nmunicipality = "M1"\n'
                                    'topics = ["T1", "T77"]\nmax_per_month = 2\n',
     "[[consultant_added]] №1, поле topics", "T77", "неизвестная тема"),
    ("negative capacity", '[[consultant_capacity]]\nconsultant = "C1"\nmax_per_month = -1\n',
     "[[consultant_capacity]] №1, поле max_per_month", "-1", "неотрицательное"),
    ("zero topic capacity", '[[topic_capacity]]\ntopic = "T1"\ncapacity = 0\n',
     "[[topic_capacity]] №1, поле capacity", "0", "положительной"),
    ("risks not a list", '[[school_risks]]\nschool = "S1"\nrisks = "R01"\n',
     "[[school_risks]] №1, поле risks", "R01", "список"),
    ("risks of a removed school", '[[school_removed]]\nschool = "S2"\n\n[[school_risks]]\nschool = "S2"\n'
                                  'risks = ["R01"]\n',
     "[[school_risks]] №1, поле school", "S2", "выбывает"),
]


@pytest.mark.parametrize("body,column,value,message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_scenario_names_file_entry_field_and_value(base, tmp_path, body, column, value, message):
    sc = scenario(tmp_path, body, filename="плохой.toml")
    with pytest.raises(InputError) as exc:
        apply_scenario(sc, base.inst)
    assert problems_of(exc) == [("плохой.toml", column, value)]
    assert message in exc.value.problems[0].message
    text = exc.value.problems[0].render()
    assert text.startswith("плохой.toml, ") and f"«{column}»" in text
    if value is not None:
        assert f"«{value}»" in text


def test_later_entries_are_numbered(base, tmp_path):
    body = ('[[consultant_unavailable]]\nconsultant = "C1"\nfrom = 2022-05-01\nto = 2022-05-31\n\n'
            '[[consultant_unavailable]]\nconsultant = "C7"\nfrom = 2022-05-01\nto = 2022-05-31\n')
    with pytest.raises(InputError) as exc:
        apply_scenario(scenario(tmp_path, body), base.inst)
    assert problems_of(exc) == [("scenario.toml", "[[consultant_unavailable]] №2, поле consultant", "C7")]


SEVERAL = [
    ("kinds mixed", "много.toml",
     '[[consultant_unavailable]]\nconsultant = "C99"\nfrom = 2022-05-01\nto = 2022-05-31\n\n'
     '[[consultant_unavailable]]\nconsultant = "C1"\nfrom = 2022-06-10\nto = 2022-06-01\n\n'
     '[[month_blocked]]\nmonth = "2023-02"\n\n'
     '[[school_added]]\nid = "S2"\nname = "Дубль"\nmunicipality = "M1"\nrisks = ["R03"]\n\n'
     '[[topic_months]]\ntopic = "T9"\nmonths = ["2022-05"]\n',
     [("[[consultant_unavailable]] №1, поле consultant", "C99"),
      ("[[consultant_unavailable]] №2, поле to", "2022-06-01"),
      ("[[month_blocked]] №1, поле month", "2023-02"),
      ("[[school_added]] №1, поле id", "S2"),
      ("[[topic_months]] №1, поле topic", "T9")]),
    # An entry naming an unknown id still has its other fields checked.
    ("unknown id and other fields", "две.toml",
     '[[consultant_unavailable]]\nconsultant = "C99"\nfrom = 2022-06-10\nto = 2022-06-01\n\n'
     '[[school_risks]]\nschool = "S99"\nrisks = ["R99"]\n\n'
     '[[topic_months]]\ntopic = "T99"\nmonths = ["2030-01"]\n\n'
     '[[consultant_capacity]]\nconsultant = "C98"\nmax_per_month = "много"\n\n'
     '[[topic_capacity]]\ntopic = "T98"\ncapacity = 0\n',
     [("[[consultant_unavailable]] №1, поле consultant", "C99"),
      ("[[consultant_unavailable]] №1, поле to", "2022-06-01"),
      ("[[school_risks]] №1, поле school", "S99"),
      ("[[school_risks]] №1, поле risks", "R99"),
      ("[[topic_months]] №1, поле topic", "T99"),
      ("[[topic_months]] №1, поле months", "2030-01"),
      ("[[consultant_capacity]] №1, поле consultant", "C98"),
      ("[[consultant_capacity]] №1, поле max_per_month", "много"),
      ("[[topic_capacity]] №1, поле topic", "T98"),
      ("[[topic_capacity]] №1, поле capacity", "0")]),
]


@pytest.mark.parametrize("filename,body,expected", [c[1:] for c in SEVERAL], ids=[c[0] for c in SEVERAL])
def test_several_problems_reported_at_once(base, tmp_path, filename, body, expected):
    with pytest.raises(InputError) as exc:
        apply_scenario(scenario(tmp_path, body, filename=filename), base.inst)
    assert sorted(problems_of(exc)) == sorted((filename, column, value) for column, value in expected)
    assert len(exc.value.errors) == len(expected)


@pytest.mark.parametrize("text,column,message", [
    ('freeze_before = "2022-05-01"\n', "freeze_before", "нужна дата"),
    ('[[consultant_vacation]]\nconsultant = "C1"\n', "[[consultant_vacation]]", "неизвестный вид изменения"),
    ("month_blocked = 5\n", "[[month_blocked]]", "[[вид]]"),
])
def test_bad_scenario_file_structure(tmp_path, text, column, message):
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_scenario(path)
    [p] = exc.value.problems
    assert (p.file, p.column) == ("s.toml", column) and message in p.message


def test_unreadable_and_missing_scenario_files(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[[month_blocked]\nmonth = ", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_scenario(path)
    assert exc.value.problems[0].file == "s.toml" and "TOML" in exc.value.problems[0].message
    with pytest.raises(InputError) as exc:
        read_scenario(tmp_path / "нет.toml")
    assert "нет такого файла" in exc.value.problems[0].message


def test_bad_scenario_via_cli(base, tmp_path):
    body = ('[[consultant_unavailable]]\nconsultant = "C99"\nfrom = 2022-05-01\nto = 2022-05-31\n\n'
            '[[school_risks]]\nschool = "S404"\nrisks = ["R03"]\n\n'
            '[[consultant_unavailable]]\nconsultant = "C1"\nfrom = "завтра"\nto = 2022-05-31\n')
    path = write_scenario(tmp_path, body, filename="сценарий.toml")
    out = tmp_path / "out"
    r = run_cli("replan", str(base.folder), "--baseline", str(base.plan_path), "--scenario", str(path),
                "--out", str(out), "--time-limit", "5", "--workers", "2")
    assert r.returncode == 2, r.stderr
    err = r.stdout + r.stderr
    assert "Traceback" not in err
    assert "Ошибки (3)" in err and "Найдено ошибок: 3" in err
    assert "сценарий.toml, столбец «[[consultant_unavailable]] №1, поле consultant»: неизвестный консультант" \
           " (значение «C99»)" in err
    assert "«[[school_risks]] №1, поле school»: неизвестный код школы (значение «S404»)" in err
    assert "«[[consultant_unavailable]] №2, поле from»: нужна дата ГГГГ-ММ-ДД" in err
    assert not out.exists()


@pytest.mark.parametrize("args,needle", [
    (["--freeze", "15.04.2022"], "«--freeze»: нужна дата ГГГГ-ММ-ДД (значение «15.04.2022»)"),
    ([], "укажите дату заморозки"),
    (["--freeze", "2022-04-15", "--scenario", "нет-такого.toml"], "нет такого файла сценария"),
])
def test_bad_replan_arguments_via_cli(base, tmp_path, args, needle):
    r = run_cli("replan", str(base.folder), "--baseline", str(base.plan_path), "--out", str(tmp_path / "o"), *args)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stdout + r.stderr


# --- 3. nothing changes without changes --------------------------------------------------


@pytest.mark.parametrize("freeze", [date(2022, 3, 1), FREEZE, date(2022, 5, 20)])
def test_empty_scenario_changes_nothing(base, tmp_path, freeze):
    sc = scenario(tmp_path, "", freeze=freeze)
    assert sc.count() == 0
    inst, plan = run_replan(base, sc)
    assert inst == base.inst
    assert [(s.id, s.start, s.end, s.consultant, s.schools, s.sequence) for s in plan.sessions] == \
           [(s.id, s.start, s.end, s.consultant, s.schools, s.sequence) for s in base.plan.sessions]
    assert plan.sessions == base.plan.sessions
    assert plan.cancelled == []
    r = plan.meta["replan"]
    assert (r["moved"], r["cancelled"], r["added"], r["sessions_changed"]) == (0, 0, 0, 0)
    assert r["kept"] == len(after(base.plan, freeze))
    assert plan.meta["changes"] == []
    assert sessions_changed(base.plan, plan, freeze) == 0
    assert plan.unmet == base.plan.unmet
    report = change_report(inst, base.plan, plan)
    assert report.startswith("# Изменения графика консультаций: тест")
    assert "Изменений нет" in report and "Новых непокрытых потребностей нет" in report


# --- 4. random scenarios (hypothesis) ----------------------------------------------------


@st.composite
def scenarios(draw) -> tuple[date, str]:
    freeze = draw(st.dates(HORIZON_START, HORIZON_END))
    parts = []
    for _ in range(draw(st.integers(0, 2))):
        c = draw(st.sampled_from(["C1", "C2"]))
        start = freeze + timedelta(days=draw(st.integers(0, 60)))
        end = start + timedelta(days=draw(st.integers(0, 45)))
        parts.append(f'[[consultant_unavailable]]\nconsultant = "{c}"\nfrom = {start}\nto = {end}\n')
    open_months = [m for m in MONTHS if m > month_of(freeze) or (m == month_of(freeze) and freeze.day == 1)]
    for m in draw(st.lists(st.sampled_from(open_months), max_size=2, unique=True) if open_months
                  else st.just([])):
        parts.append(f'[[month_blocked]]\nmonth = "{m}"\n')
    changed = draw(st.lists(st.sampled_from(["S1", "S2", "S3", "S4", "S5"]), max_size=2, unique=True))
    for sid in changed:
        risks = draw(st.lists(st.sampled_from(["R01", "R03", "R05"]), max_size=3, unique=True))
        parts.append(f'[[school_risks]]\nschool = "{sid}"\nrisks = {json.dumps(risks)}\n')
    others = [s for s in ["S1", "S2", "S3", "S4", "S5"] if s not in changed]
    if draw(st.booleans()):
        parts.append(f'[[school_removed]]\nschool = "{draw(st.sampled_from(others))}"\n')
    # Limits changed mid-year, possibly below what the history already used (history is fact).
    if draw(st.booleans()):
        months = draw(st.lists(st.sampled_from(MONTHS), min_size=1, max_size=3, unique=True))
        parts.append(f'[[topic_months]]\ntopic = "{draw(st.sampled_from(["T1", "T2", "T3"]))}"\n'
                     f'months = {json.dumps(sorted(months))}\n')
    if draw(st.booleans()):
        parts.append(f'[[consultant_capacity]]\nconsultant = "{draw(st.sampled_from(["C1", "C2"]))}"\n'
                     f'max_per_month = {draw(st.integers(1, 4))}\nmax_total = {draw(st.integers(0, 8))}\n')
    if draw(st.booleans()):
        parts.append(f'[[topic_capacity]]\ntopic = "{draw(st.sampled_from(["T1", "T2", "T3"]))}"\n'
                     f'capacity = {draw(st.integers(1, 2))}\n')
    return freeze, "\n".join(parts)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None,
          derandomize=DERANDOMIZE)
@given(case=scenarios())
def test_random_scenarios_keep_history_ids_and_validity(base, case):
    freeze, body = case
    note(f"freeze_before = {freeze}\n{body}")
    sc = scenario(base.scratch, body, freeze=freeze, filename="random.toml")
    inst = apply_scenario(sc, base.inst)
    plan = replan(inst, base.plan, freeze, OPTS, sc.name)
    # validate == [], history, ids, cancelled, SEQUENCE, meta.
    check_replan(base, inst, plan, freeze)
    assert not phase2_lost(plan), plan.meta["phases"]
    # The scenario is respected.
    for c in inst.consultants.values():
        assert not [s for s in plan.sessions
                    if s.consultant == c.id and any(s.start.date() in r for r in c.unavailable)]
    blocked = set(inst.settings.horizon.blocked_months)
    assert not [s for s in plan.sessions if month_of(s.start.date()) in blocked]
    for sch in inst.schools.values():
        if sch.withdrawn:
            assert not [s for s in plan.sessions if sch.id in s.schools and s.start.date() >= freeze]
    # Every surviving baseline session of a later date is reported in the change list when moved.
    moved = {ch["session"] for ch in plan.meta["changes"] if ch["kind"] == "moved"}
    cancelled = {ch["session"] for ch in plan.meta["changes"] if ch["kind"] == "cancelled"}
    assert cancelled == {c.id for c in plan.cancelled}
    base_by_id = {s.id: s for s in base.plan.sessions}
    assert moved == {s.id for s in plan.sessions if s.id in base_by_id and content(s) != content(base_by_id[s.id])}


@settings(max_examples=max(4, EXAMPLES // 2), deadline=None, suppress_health_check=[HealthCheck.too_slow],
          database=None, derandomize=DERANDOMIZE)
@given(freeze=st.dates(HORIZON_START, HORIZON_END))
def test_random_freeze_without_changes_changes_nothing(base, freeze):
    plan = replan(base.inst, base.plan, freeze, OPTS)
    check_replan(base, base.inst, plan, freeze)
    assert plan.sessions == base.plan.sessions and plan.cancelled == []
    r = plan.meta["replan"]
    assert (r["moved"], r["cancelled"], r["added"]) == (0, 0, 0)


# --- 5. the commands, end to end ---------------------------------------------------------


def test_cli_solve_replan_compare(base, tmp_path):
    folder = base.folder
    r = run_cli("solve", str(folder), "--out", str(tmp_path / "base"), "--time-limit", "5", "--workers", "2",
                "--no-documents", "--no-calendars")
    assert r.returncode == 0, r.stderr
    baseline = read_plan(tmp_path / "base" / "plan.json")
    # A consultant who has consultations after the freeze falls ill until the end of the horizon.
    later = [s for s in baseline.sessions if s.start.date() >= FREEZE]
    victim = later[0].consultant
    first = min(s.start.date() for s in later if s.consultant == victim)
    scen = tmp_path / "болезнь.toml"
    scen.write_text(f'name = "Консультант {victim} недоступен"\nfreeze_before = {FREEZE}\n\n'
                    f'[[consultant_unavailable]]\nconsultant = "{victim}"\nfrom = {first}\nto = 2022-06-30\n',
                    encoding="utf-8")
    out = tmp_path / "болезнь"
    r = run_cli("replan", str(folder), "--baseline", str(tmp_path / "base" / "plan.json"), "--scenario", str(scen),
                "--out", str(out), "--time-limit", "5", "--workers", "2", "--no-documents")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "Изменения против базового плана" in r.stdout and "changes.md" in r.stdout
    plan = read_plan(out / "plan.json")
    inst = apply_scenario(read_scenario(scen), load_instance(folder)[0])
    assert validate(inst, plan) == []
    assert plan.meta["replan"]["scenario"] == f"Консультант {victim} недоступен"
    assert plan.meta["scenario_path"] == str(scen)
    assert not [s for s in plan.sessions if s.consultant == victim and s.start.date() >= first]
    history = [s for s in baseline.sessions if s.start.date() < FREEZE]
    assert [s for s in plan.sessions if s.start.date() < FREEZE] == history
    meta = plan.meta["replan"]
    assert meta["moved"] + meta["cancelled"] >= 1
    # The change report names every moved and cancelled session, in Russian.
    md = (out / "changes.md").read_text(encoding="utf-8")
    assert md.startswith(f"# Изменения графика консультаций: Консультант {victim} недоступен")
    assert f"Консультации до {FREEZE:%d.%m.%Y} — история" in md
    assert f"перенесено или изменён состав {meta['moved']}, отменено {meta['cancelled']}" in md
    assert "## По консультантам" in md and "## По школам" in md and "## Потребности" in md
    old = {s.id: s for s in baseline.sessions}
    new = {s.id: s for s in plan.sessions}
    for c in plan.cancelled:
        assert c.sequence == old[c.id].sequence + 1
        assert f"отменено: {c.topic} «Тема {c.topic}», {c.start:%d.%m.%Y %H:%M} (школ: {len(c.schools)})" in md
    for sid, s in new.items():
        if sid in old and content(s) != content(old[sid]):
            assert s.sequence == old[sid].sequence + 1
            if s.start != old[sid].start:
                assert f"перенесено: {s.topic} «Тема {s.topic}», {old[sid].start:%d.%m.%Y %H:%M} →" \
                       f" {s.start:%d.%m.%Y %H:%M}" in md
            else:
                assert f"изменён состав: {s.topic} «Тема {s.topic}», {s.start:%d.%m.%Y %H:%M}" in md
            for school in set(s.schools) - set(old[sid].schools):
                assert f"школа включена: {s.topic} «Тема {s.topic}», {s.start:%d.%m.%Y %H:%M}" in md
                assert "добавлены школы: " in md and inst.school_label(school) in md
    for sid in (set(new) - set(old)):
        assert f"добавлено: {new[sid].topic} «Тема {new[sid].topic}», {new[sid].start:%d.%m.%Y %H:%M}" in md
    assert "Консультант " + victim in md  # the consultant's group heading
    # Calendars: a cancelled session goes out as cancelled.
    ics = (out / "calendars" / "all.ics").read_text(encoding="utf-8")
    assert ("STATUS:CANCELLED" in ics) == bool(plan.cancelled)
    # compare: both plans side by side.
    r = run_cli("compare", str(tmp_path / "base" / "plan.json"), str(out / "plan.json"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "base" in lines[0] and "болезнь" in lines[0] and lines[0].startswith("План")
    cover = next(line for line in lines if line.startswith("Покрытие"))
    assert cover.count("%") == 2
    changed = next(line for line in lines if line.startswith("Изменено консультаций против первого"))
    assert f"(с {FREEZE:%d.%m.%Y})" in changed
    assert changed.split("|")[1].strip() == "0"
    assert changed.split("|")[2].strip() == str(sessions_changed(baseline, plan, FREEZE))
    assert compare_table([("base", baseline), ("болезнь", plan)]) == r.stdout.rstrip("\n")


def test_cli_replan_with_only_freeze_changes_nothing(base, tmp_path):
    out = tmp_path / "same"
    r = run_cli("replan", str(base.folder), "--baseline", str(base.plan_path), "--freeze", FREEZE.isoformat(),
                "--out", str(out), "--time-limit", "5", "--workers", "2", "--no-documents", "--no-calendars")
    assert r.returncode == 0, r.stderr
    plan = read_plan(out / "plan.json")
    assert [(s.id, s.start, s.end, s.consultant, s.schools) for s in plan.sessions] == \
           [(s.id, s.start, s.end, s.consultant, s.schools) for s in base.plan.sessions]
    assert plan.cancelled == []
    r_ = plan.meta["replan"]
    assert (r_["moved"], r_["cancelled"], r_["added"]) == (0, 0, 0)
    md = (out / "changes.md").read_text(encoding="utf-8")
    assert md.startswith("# Изменения графика консультаций: перепланирование")
    assert "Изменений нет: опубликованный график остаётся в силе." in md


def test_cli_limits_lowered_below_the_history_and_validate_with_the_scenario(base, tmp_path):
    """A capacity lowered below what was already held applies from the freeze on; `planner
    validate` checks a replanned plan against the instance its scenario made."""
    past = [s for s in base.plan.sessions if s.start.date() < FREEZE]
    t = next(s.topic for s in past if len(s.schools) > 1)
    scen = tmp_path / "лимиты.toml"
    scen.write_text(f'name = "Лимиты"\nfreeze_before = {FREEZE}\n\n[[topic_capacity]]\ntopic = "{t}"\ncapacity = 1\n',
                    encoding="utf-8")
    out = tmp_path / "лимиты"
    r = run_cli("replan", str(base.folder), "--baseline", str(base.plan_path), "--scenario", str(scen),
                "--out", str(out), "--time-limit", "5", "--workers", "2", "--no-documents", "--no-calendars")
    assert r.returncode == 0, r.stdout + r.stderr
    plan = read_plan(out / "plan.json")
    assert [s for s in plan.sessions if s.start.date() < FREEZE] == past
    assert all(len(s.schools) == 1 for s in plan.sessions if s.topic == t and s.start.date() >= FREEZE)
    # The scenario recorded in the plan is applied by default: the replanned plan passes ...
    r = run_cli("validate", str(base.folder), str(out / "plan.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Лимиты" in r.stderr
    # ... and the baseline, checked against the same scenario without a freeze, does not.
    r = run_cli("validate", str(base.folder), str(base.plan_path), "--scenario", str(scen))
    assert r.returncode == 1
    assert f"школ {max(len(s.schools) for s in past if s.topic == t)}, а вместимость темы 1" in r.stdout
    # A recorded scenario file that has gone: a Russian message naming the plan's field, exit 2.
    scen.unlink()
    r = run_cli("validate", str(base.folder), str(out / "plan.json"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "meta.scenario_path" in r.stderr and "--scenario" in r.stderr


def test_change_report_reads_from_each_side_and_tells_same_named_schools_apart(base):
    # S1 and S2 (both M1) and S3 (M2) share a name: M2's school gets its municipality, the
    # two of M1 get the municipality and their ids.
    schools = {sid: dataclasses.replace(s, name="МБОУ «СОШ № 1»") if sid in ("S1", "S2", "S3") else s
               for sid, s in base.inst.schools.items()}
    inst = dataclasses.replace(base.inst, schools=schools)
    m1, m2 = inst.municipalities["M1"].name, inst.municipalities["M2"].name
    assert inst.school_label("S1") == f"МБОУ «СОШ № 1», {m1} (S1)"
    assert inst.school_label("S3") == f"МБОУ «СОШ № 1», {m2}"
    assert inst.school_label("S4") == base.inst.schools["S4"].name
    assert inst.school_label("S99") == "S99"
    change = {"session": "x1", "topic": "T1", "consultant": "C2", "old_consultant": "C1",
              "old_start": "2022-05-10T10:00:00+07:00", "new_start": "2022-05-10T10:00:00+07:00",
              "old_schools": ["S1", "S2"], "schools": ["S1", "S3"], "municipality": None, "kind": "moved"}
    plan = dataclasses.replace(base.plan, meta={"replan": {"scenario": "тест", "moved": 1}, "changes": [change]})
    md = change_report(inst, base.plan, plan)
    c1, c2 = inst.consultants["C1"].name, inst.consultants["C2"].name
    whole = (f"изменён состав: T1 «Тема T1», 10.05.2022 10:00; ведёт {c2} вместо {c1};"
             f" добавлены школы: МБОУ «СОШ № 1», {m2}; сняты школы: МБОУ «СОШ № 1», {m1} (S2)")
    # Both consultants read the whole change; each school reads its own side of it.
    assert md.count(whole) == 2
    assert f"- **МБОУ «СОШ № 1», {m2}**\n  - школа включена: T1 «Тема T1», 10.05.2022 10:00 ({c2})" in md
    assert f"- **МБОУ «СОШ № 1», {m1} (S2)**\n  - школа снята: T1 «Тема T1», 10.05.2022 10:00" in md
    assert (f"- **МБОУ «СОШ № 1», {m1} (S1)**\n  - сменился консультант: T1 «Тема T1», 10.05.2022 10:00;"
            f" ведёт {c2} вместо {c1}") in md
    # A school that stays in a session whose only change is another school joining is not told.
    change2 = {**change, "consultant": "C1", "schools": ["S1", "S2", "S3"]}
    md2 = change_report(inst, base.plan, dataclasses.replace(plan, meta={**plan.meta, "changes": [change2]}))
    assert "(S1)**" not in md2 and "(S2)**" not in md2
    assert f"- **МБОУ «СОШ № 1», {m2}**\n  - школа включена" in md2


def test_the_baseline_itself_costs_no_change_at_any_freeze(base):
    """changed_sessions and changed_schools are 0 for the unchanged baseline, also when the
    freeze falls between two sessions of the same topic, consultant, month and place (the
    month's count then holds history and future: once read as a change to cancel)."""
    from ortools.sat.python import cp_model

    from models.consultation import ConsultationModel, ModelOptions
    from models.replan import _month_level

    by_key: dict[tuple, list[date]] = {}
    for s in base.plan.sessions:
        by_key.setdefault((s.topic, s.consultant, month_of(s.start.date()), s.municipality), []).append(s.start.date())
    split = sorted(max(days) for days in by_key.values() if len(set(days)) > 1)
    assert split, "the baseline should have two sessions of one key in one month"
    for freeze in [split[0], FREEZE, HORIZON_START]:
        history = [s for s in base.plan.sessions if s.start.date() < freeze]
        future = [s for s in base.plan.sessions if s.start.date() >= freeze]
        fc, fa, fv = _month_level(base.inst, history)
        bc, ba, bv = _month_level(base.inst, future)
        cm = ConsultationModel(base.inst, ModelOptions(
            frozen_counts=fc, frozen_attend=fa, frozen_verify=fv, first_free_month=month_of(freeze),
            free_from=freeze, baseline_counts=bc, baseline_attend=ba, baseline_verify=bv))
        terms = cm.change_terms()
        values, _cov = cm.values_from_plan(base.plan)
        for var in [*cm.attend.values(), *cm.verify.values(), *cm.count.values(), *cm.covered.values()]:
            cm.model.add(var == values.get(var.index, 0))
        cm.model.minimize(sum(expr for expr, _w in terms.values()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.solve(cm.model) == cp_model.OPTIMAL, freeze
        assert {name: solver.value(expr) for name, (expr, _w) in terms.items()} == \
               {"changed_sessions": 0, "changed_schools": 0}, freeze


def test_curator_away_after_the_freeze_is_the_reason_of_a_lost_visit(base, tmp_path):
    # S3's curator C2 is away from S3's planned visit day (the freeze) to the end: the visit
    # cannot happen any more. The reason names the curator and the freeze, not capacity
    # (C2 is free before the freeze, but that is history).
    visit = next(s for s in base.plan.sessions if s.topic == "TV" and "S3" in s.schools)
    assert visit.consultant == "C2"
    freeze = visit.start.date()
    sc = scenario(tmp_path, f'[[consultant_unavailable]]\nconsultant = "C2"\nfrom = {freeze}\nto = {HORIZON_END}\n',
                  freeze=freeze)
    inst = apply_scenario(sc, base.inst)
    plan = replan(inst, base.plan, freeze, OPTS, sc.name)
    check_replan(base, inst, plan, freeze)
    lost = {u.risk: u for u in plan.unmet if u.school == "S3"}
    assert lost["verification"].code == "verifier_unavailable"
    assert "C2" in lost["verification"].reason
    assert f"после даты заморозки {freeze:%d.%m.%Y}" in lost["verification"].reason


# --- the repair and the full search after it ---------------------------------------------


def _dropout(base: Base, tmp_path: Path) -> Scenario:
    c1_later = [s for s in after(base.plan) if s.consultant == "C1"]
    assert c1_later, "baseline needs a C1 session after the freeze"
    start = min(s.start.date() for s in c1_later)
    return scenario(tmp_path, f"[[consultant_unavailable]]\nconsultant = \"C1\"\nfrom = {start}\nto = 2022-06-30\n")


def test_a_proven_repair_is_the_answer_without_a_full_search(base, tmp_path):
    """The repair proves the fewest changes with every untouched school held: the replan then
    stops there (phase 2 does not search), and its plan is the repair's."""
    sc = _dropout(base, tmp_path)
    inst, plan = run_replan(base, sc)
    phases = {p["name"]: p for p in plan.meta["phases"]}
    assert phases["repair_coverage"]["status"] == "OPTIMAL"
    assert phases["repair_objective"]["status"] == "OPTIMAL"
    assert plan.meta["phase2_hint"] == "repaired baseline"
    assert phases["soft"]["seconds"] == 0.0
    assert plan.objective == phases["repair_objective"]["objective"]


def test_an_unproven_repair_is_followed_by_the_full_search(base, tmp_path, monkeypatch):
    """A repair stopped by its time (not proven) is only a start: phase 2 searches the full
    model from it, and keeps it unless it finds better."""
    import models.solve as solve

    real = solve._repair

    def unproven(*args, **kwargs):
        found = real(*args, **kwargs)
        return dataclasses.replace(found, proven=False) if found is not None else None

    monkeypatch.setattr(solve, "_repair", unproven)
    sc = _dropout(base, tmp_path)
    inst, plan = run_replan(base, sc)
    phases = {p["name"]: p for p in plan.meta["phases"]}
    assert phases["soft"]["seconds"] > 0
    assert plan.objective is not None and plan.objective <= phases["repair_objective"]["objective"]


def test_a_small_replan_searches_the_repair_with_the_lp_subsolver():
    """On at most 2 workers the repair's search is max_lp (the full LP relaxation): CP-SAT's
    2-worker default never moved the repair's bound. With more workers CP-SAT's own
    portfolio is kept."""
    from models.solve import REPAIR_SUBSOLVERS, _solver

    assert list(_solver(1.0, SolveOptions(workers=2), REPAIR_SUBSOLVERS).parameters.subsolvers) == ["max_lp"]
    assert list(_solver(1.0, SolveOptions(workers=8), REPAIR_SUBSOLVERS).parameters.subsolvers) == []
    assert list(_solver(1.0, SolveOptions(workers=2)).parameters.subsolvers) == []


# --- a session's schools: kept where they can be, and a change of them costs a session ------


def _online(id_: str, consultant: str, day: int, schools: list[str], topic_: str = "T1") -> Session:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = datetime(2022, 5, day, 10, 0, tzinfo=ZoneInfo("Asia/Novokuznetsk"))
    return Session(id_, topic_, consultant, start, start + timedelta(minutes=90), "online", None, tuple(schools))


def _split(base: Base, groups, baseline) -> list[tuple[str, tuple[str, ...]]]:
    from models.dates import expand_groups_keeping
    from models.index import Index

    kept = expand_groups_keeping(base.inst, Index(base.inst), groups, baseline)
    return sorted((p.consultant, p.schools) for p in kept)


def test_a_session_keeps_its_schools_when_another_session_of_its_group_loses_one(base):
    """T1 (capacity 2) in May: C1 holds {S1, S2} and {S3, S4}; S2 no longer attends. The
    other session stays as it was; dealing the three schools out in turn would change both."""
    from models.consultation import MonthSession
    from models.dates import expand_groups
    from models.index import Index

    assert base.inst.topics["T1"].capacity == 2
    before = [_online("a", "C1", 10, ["S1", "S2"]), _online("b", "C1", 17, ["S3", "S4"])]
    groups = [MonthSession("T1", "C1", "2022-05", None, 2, ["S1", "S3", "S4"])]
    assert _split(base, groups, before) == [("C1", ("S1",)), ("C1", ("S3", "S4"))]
    dealt = sorted(p.schools for p in expand_groups(base.inst, Index(base.inst), groups))
    assert ("S3", "S4") not in dealt  # what the plain split does: both sessions change


def test_a_joining_school_takes_a_new_session_first_then_room_in_a_kept_one(base):
    from models.consultation import MonthSession

    before = [_online("a", "C1", 10, ["S1", "S2"])]
    # A second session in the month plan: S3 goes there, {S1, S2} is untouched.
    two = [MonthSession("T1", "C1", "2022-05", None, 2, ["S1", "S2", "S3"])]
    assert _split(base, two, before) == [("C1", ("S1", "S2")), ("C1", ("S3",))]
    # One session only, with room: S3 joins the kept one.
    before = [_online("a", "C1", 10, ["S1"])]
    one = [MonthSession("T1", "C1", "2022-05", None, 1, ["S1", "S3"])]
    assert _split(base, one, before) == [("C1", ("S1", "S3"))]
    # Another consultant now holds the group's only session: nothing is kept, all is placed.
    moved = [MonthSession("T1", "C2", "2022-05", None, 1, ["S1", "S2"])]
    assert _split(base, moved, [_online("a", "C1", 10, ["S1", "S2"])]) == [("C2", ("S1", "S2"))]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_kept_split_places_every_school_once_within_capacity_and_counts(base, data):
    from collections import Counter

    from models.consultation import MonthSession

    schools = ["S1", "S2", "S3", "S4", "S5"]
    counts = {c: data.draw(st.integers(0, 3), label=f"sessions of {c}") for c in ("C1", "C2")}
    room = 2 * sum(counts.values())
    members = data.draw(st.lists(st.sampled_from(schools), unique=True, max_size=min(5, room)), label="schools")
    groups, rest = [], list(members)
    for c, n in counts.items():  # the month model's split: each consultant ≤ n × capacity
        take, rest = rest[: 2 * n], rest[2 * n:]
        if n:
            groups.append(MonthSession("T1", c, "2022-05", None, n, take))
    before = [_online(f"b{i}", data.draw(st.sampled_from(["C1", "C2"])), 2 + i,
                      data.draw(st.lists(st.sampled_from(schools), unique=True, min_size=1, max_size=2)))
              for i in range(data.draw(st.integers(0, 4), label="baseline sessions"))]
    split = _split(base, groups, before)
    placed = [s for _c, ss in split for s in ss]
    assert sorted(placed) == sorted(members)
    assert all(1 <= len(ss) <= 2 for _c, ss in split)
    per = Counter(c for c, _ss in split)
    assert all(per[c] <= counts[c] for c in per)
    # A baseline session whose consultant still holds one and whose schools all still attend is kept.
    if len(before) == 1 and set(before[0].schools) <= set(members) and counts[before[0].consultant]:
        assert (before[0].consultant, tuple(sorted(before[0].schools))) in split


def test_a_change_of_a_sessions_schools_costs_a_changed_session(base):
    """changed_sessions counts a baseline (topic, month, place) whose schools differ, even if
    its number of sessions is the same; the unchanged baseline costs nothing. The change
    terms are tested alone: their own constraints in a model of their own, every decision
    fixed (the rest of the month model is not asked whether the school fits)."""
    from ortools.sat.python import cp_model

    from models.consultation import ConsultationModel, ModelOptions
    from models.cp_domains import fixed_domains
    from models.replan import _month_level

    freeze = HORIZON_START
    fc, fa, fv = _month_level(base.inst, [])
    bc, ba, bv = _month_level(base.inst, base.plan.sessions)

    def costs(extra: set) -> dict[str, int]:
        cm = ConsultationModel(base.inst, ModelOptions(
            frozen_counts=fc, frozen_attend=fa, frozen_verify=fv, first_free_month=month_of(freeze),
            free_from=freeze, baseline_counts=bc, baseline_attend=ba, baseline_verify=bv))
        before = len(cm.model.proto.constraints)
        terms = cm.change_terms()
        alone = cp_model.CpModel()
        alone.proto.variables.extend(cm.model.proto.variables)
        constraints = cm.model.proto.constraints
        alone.proto.constraints.extend(constraints[i] for i in range(before, len(constraints)))
        values, _cov = cm.values_from_plan(base.plan)
        fixed = {var.index: (1 if key in extra else values.get(var.index, 0)) for key, var in cm.attend.items()}
        fixed |= {var.index: values.get(var.index, 0) for var in [*cm.verify.values(), *cm.count.values()]}
        alone.minimize(sum(expr for expr, _w in terms.values()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        with fixed_domains(alone, fixed):
            assert solver.solve(alone) == cp_model.OPTIMAL
        return {name: solver.value(expr) for name, (expr, _w) in terms.items()}

    model = ConsultationModel(base.inst)
    groups = {(t, m) for (_s, t, m) in ba if base.inst.topics[t].format == "online"}
    joined = next((s, t, m) for (t, m) in sorted(groups) for s in sorted(base.inst.schools)
                  if (s, t, m) not in ba and (s, t, m) in model.attend)
    assert costs(set()) == {"changed_sessions": 0, "changed_schools": 0}
    assert costs({joined}) == {"changed_sessions": 1, "changed_schools": 1}


def test_the_repair_widens_its_neighbourhood_only_when_coverage_is_short(base, tmp_path, monkeypatch):
    """First the touched schools keep the baseline sessions they still can (they may only add);
    a wider neighbourhood (touched schools free, then only untouched schools held) is
    searched, from the narrower one's result, only if that leaves a coverable need or
    nothing fits. Each wider one holds fewer variables; none is searched twice."""
    import models.solve as solve

    real = solve._repair_search
    calls: list[tuple[int, object]] = []  # (variables held, what the search returned)

    def recording(cm, ranges, start, coverage, objective, opts, deadline, report, widen_below=None, *rest):
        found = real(cm, ranges, start, coverage, objective, opts, deadline, report, widen_below, *rest)
        calls.append((len(ranges), found))
        return found

    monkeypatch.setattr(solve, "_repair_search", recording)
    # C1 away for whole months: its later sessions have no variables any more, so their
    # schools are touched (and keep the rest of what they had in the first neighbourhood).
    sc = scenario(tmp_path, '[[consultant_unavailable]]\nconsultant = "C1"\nfrom = 2022-05-01\nto = 2022-06-30\n')
    run_replan(base, sc)
    assert isinstance(calls[0][1], solve.Repair), "the narrowest neighbourhood should fit this dropout"
    sizes = [n for n, _found in calls]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    # Only the last search may be one that covers everything; the ones before it did not.
    for _n, found in calls[:-1]:
        assert found == "infeasible" or found.coverage < phases_upper(base, sc)

    # Make the narrowest neighbourhood fall short of full coverage: the next one must be
    # searched, starting from that result.
    starts: list[dict] = []
    results: list[object] = []

    def short_first(cm, ranges, start, coverage, objective, opts, deadline, report, widen_below=None, *rest):
        starts.append(start)
        found = real(cm, ranges, start, coverage, objective, opts, deadline, report, widen_below, *rest)
        if len(starts) == 1 and isinstance(found, solve.Repair):
            found = dataclasses.replace(found, coverage=found.coverage - 1)
        results.append(found)
        return found

    monkeypatch.setattr(solve, "_repair_search", short_first)
    run_replan(base, sc)
    first = next(i for i, r in enumerate(results) if isinstance(r, solve.Repair))
    assert len(starts) > first + 1, "a short repair must be followed by a wider search"
    assert starts[first + 1] is results[first].values


def phases_upper(base: Base, sc: Scenario) -> int:
    """The trivial coverage bound of the replan's month model (every need with a variable)."""
    from models.consultation import ConsultationModel

    return ConsultationModel(apply_scenario(sc, base.inst)).coverage_upper_bound()


def test_a_session_moved_to_another_month_keeps_its_id(base, tmp_path):
    """A blocked month: its sessions are held in another month by the same consultant with
    the same schools, so each keeps its id (its calendar event moves, SEQUENCE + 1) instead
    of being cancelled and created anew."""
    month = month_of(max(s.start.date() for s in base.plan.sessions))
    in_month = [s for s in base.plan.sessions if month_of(s.start.date()) == month]
    sc = scenario(tmp_path, f'[[month_blocked]]\nmonth = "{month}"\n')
    _inst, plan = run_replan(base, sc)
    by_id = {s.id: s for s in plan.sessions}
    cancelled = {s.id for s in plan.cancelled}
    continued = 0
    for old in in_month:
        twins = [s for s in plan.sessions if (s.topic, s.consultant, s.municipality) == (old.topic, old.consultant,
                                                                                          old.municipality)
                 and month_of(s.start.date()) != month
                 and 2 * len(set(s.schools) & set(old.schools)) >= len(old.schools)
                 and s.id not in {o.id for o in base.plan.sessions if o is not old}]
        if twins:  # the same session, elsewhere: it must be the old one, moved
            assert old.id in by_id and old.id not in cancelled, old.id
            assert by_id[old.id].sequence == old.sequence + 1
            continued += 1
    assert continued, "the blocked month's sessions should move, not vanish, on this instance"


def test_continuing_the_baseline_prefers_the_same_month_and_needs_half_the_schools():
    """Unit: which baseline session a new one continues (models.replan.continue_baseline)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from models.dates import Pending
    from models.replan import continue_baseline

    def old(id_, month, day, schools):
        start = datetime(2022, month, day, 10, tzinfo=ZoneInfo("Asia/Novokuznetsk"))
        return Session(id_, "T1", "C1", start, start + timedelta(minutes=90), "online", None, tuple(schools))

    future = [old("may", 5, 10, ["S1", "S2"]), old("jun", 6, 7, ["S3", "S4"]), old("jun2", 6, 21, ["S5"])]
    same_month = Pending("T1", "C1", "2022-05", None, ("S1",), None, 90)
    moved = Pending("T1", "C1", "2022-09", None, ("S3", "S4", "S1"), None, 90)
    too_new = Pending("T1", "C1", "2022-10", None, ("S1", "S2", "S3"), None, 90)  # shares nothing with jun2
    continue_baseline(future, [same_month, moved, too_new])
    assert (same_month.keep_id, same_month.preferred_day) == ("may", date(2022, 5, 10))
    assert (moved.keep_id, moved.preferred_day) == ("jun", None)
    assert (too_new.keep_id, too_new.preferred_day) == (None, None)


# --- the console line of a replan ------------------------------------------------------------


def test_the_console_says_a_proven_repair_was_taken_not_that_nothing_was_found(base, tmp_path):
    from models.solve import num
    from planner.workflows.solving import plan_summary

    sc = _dropout(base, tmp_path)
    inst, plan = run_replan(base, sc)
    assert plan.objective is not None and plan.bound is None  # the repair: no bound of the full model
    first = plan_summary(inst, plan).splitlines()[0]
    assert "решение не найдено" not in first
    assert "починка базового плана доказанно лучшая" in first
    assert f"целевая функция {num(plan.objective)}, граница —" in first


def test_the_console_says_when_a_repair_was_taken_for_lack_of_time_and_when_nothing_was_found(base):
    from models.solve import num
    from planner.workflows.solving import plan_summary

    plan = copy.deepcopy(base.plan)
    plan.status, plan.objective, plan.bound = "FEASIBLE", 191796.0, None
    plan.meta = {"phase2_hint": "repaired baseline",
                 "phases": [{"name": "repair_coverage", "status": "OPTIMAL"},
                            {"name": "repair_objective", "status": "FEASIBLE"},
                            {"name": "soft", "status": "FEASIBLE", "seconds": 0.0}]}
    first = plan_summary(base.inst, plan).splitlines()[0]
    assert "взят починенный базовый план" in first and "времени" in first
    assert f"целевая функция {num(191796.0)}, граница —" in first and "решение не найдено" not in first
    plan.meta = {}
    first = plan_summary(base.inst, plan).splitlines()[0]
    assert f"целевая функция {num(191796.0)}, граница —" in first and "решение не найдено" not in first
    plan.objective = None
    assert "решение не найдено" in plan_summary(base.inst, plan).splitlines()[0]
