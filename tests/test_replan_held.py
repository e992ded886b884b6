"""Sessions held by hand in a replan (`models.replan.replan(..., held=...)`): a session a person
pinned or edited after the freeze date is kept exactly like history, and the rest is replanned
around it.

The instance of test_replan_options: two schools in M2 need R06; the webinar TA (May, C2)
covers both. A person takes S2 out of the webinar by hand and holds it: the replan must keep
the webinar with S1 alone and cover S2 some other way. Without the hold, the cheapest repair
puts S2 back into the webinar.
"""

from __future__ import annotations

import dataclasses

from models.replan import replan, replan_options
from models.solve import solve_consultations
from models.unmet import explain_unmet
from models.validate import validate
from test_replan_options import FREEZE, OPTS, _instance


def _edited(tmp_path):
    instance = _instance(tmp_path)
    baseline, _ = solve_consultations(instance, OPTS)
    [webinar] = baseline.sessions
    assert (webinar.topic, sorted(webinar.schools)) == ("TA", ["S1", "S2"])
    alone = dataclasses.replace(webinar, schools=("S1",), sequence=webinar.sequence + 1)
    edited = dataclasses.replace(baseline, sessions=[alone], meta=dict(baseline.meta))
    edited.unmet = explain_unmet(instance, edited)
    return instance, edited, alone


def test_a_held_session_stays_exactly_and_the_rest_is_replanned_around_it(tmp_path):
    instance, edited, alone = _edited(tmp_path)
    plan = replan(instance, edited, FREEZE, OPTS, held={alone.id})
    kept = [s for s in plan.sessions if s.id == alone.id]
    assert kept == [alone]  # the same time, consultant, schools and SEQUENCE
    others = [s for s in plan.sessions if s.id != alone.id]
    assert others and all("S2" in s.schools and "S1" not in s.schools for s in others)
    assert plan.unmet == []  # S2 is covered by another session
    assert plan.meta["replan"]["held"] == [alone.id]
    assert plan.meta["replan"]["kept"] == 1 and plan.meta["replan"]["added"] == len(others)
    assert validate(instance, plan) == []


def test_without_the_hold_the_repair_puts_the_school_back(tmp_path):
    instance, edited, alone = _edited(tmp_path)
    plan = replan(instance, edited, FREEZE, OPTS)
    [webinar] = [s for s in plan.sessions if s.id == alone.id]
    assert sorted(webinar.schools) == ["S1", "S2"] and len(plan.sessions) == 1
    assert validate(instance, plan) == []


def test_both_options_keep_the_held_session(tmp_path):
    instance, edited, alone = _edited(tmp_path)
    found = replan_options(instance, edited, FREEZE, OPTS, held={alone.id})
    for plan in (found.coverage, found.stability):
        if plan is not None:
            assert [s for s in plan.sessions if s.id == alone.id] == [alone]
            assert validate(instance, plan) == []
