"""Calendars across revisions of a plan: what a person who imported an older file sees next.

Every file is read back with icalendar and vobject (independent parsers). The replanned
plans are made from the hand-made sample by `models.replan.finish_replan`, exactly as a
replan finishes its plan (ids, SEQUENCE, meta.changes), without the solver.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import vobject

from calendar_samples import (
    REPLAN_STAMP,
    dropped_replan,
    plan_with_activities,
    replanned_plan,
    sample_instance,
    sample_plan,
)
from helpers import run_cli, write_instance
from models.domain import ActivityDates, Plan, School
from models.replan import finish_replan
from planner.exports.calendars import (
    ACTIVITY_NAMESPACE,
    SESSION_NAMESPACE,
    calendar_files,
    carry_calendar_history,
    session_uid,
)
from planner.exports.plan_io import plan_from_dict, plan_json_text, plan_to_dict, read_plan


def events_of(data: bytes) -> dict[str, icalendar.Event]:
    """Events by their X-PLANNER-ID (`session/<id>`), read with icalendar; vobject must agree."""
    ical = icalendar.Calendar.from_ical(data)
    out = {str(e["X-PLANNER-ID"]): e for e in ical.walk("VEVENT")}
    vcal = vobject.readOne(data.decode("utf-8"))
    vuids = sorted(e.uid.value for e in getattr(vcal, "vevent_list", []))
    assert vuids == sorted(str(e["UID"]) for e in out.values())
    return out


def again(instance, baseline: Plan, sessions=None) -> Plan:
    """A further replan of `baseline` that changes nothing (or sets `sessions`)."""
    new = Plan("test-region", "FEASIBLE", 9.0, None, 0.5,
               [replace(s, sequence=0) for s in (sessions or baseline.sessions)], [], meta={})
    plan = finish_replan(instance, baseline, new, date(2022, 3, 1), "ещё раз")
    plan.meta["created"] = "2022-05-01T08:00:00+00:00"
    carry_calendar_history(instance, baseline, plan)
    return plan


# --- 1. a party dropped from a session that still happens ----------------------------------


def _check_dropped(files: dict[str, bytes]) -> None:
    cancelled = {
        "school-S1": "session/s-online-1",
        "municipality-M1": "session/s-online-1",
        "school-S3": "session/s-visit-1",
    }
    for stem, marker in cancelled.items():
        ev = events_of(files[f"calendars/{stem}.ics"])
        assert marker in ev, stem
        event = ev[marker]
        assert event["STATUS"] == "CANCELLED", stem
        assert event["SEQUENCE"] == 1, stem  # above the baseline's 0
        assert str(event["SUMMARY"]).startswith("ОТМЕНЕНО: "), stem
        assert event.walk("VALARM") == [], stem
        text = str(event["DESCRIPTION"])
        assert "состоится для других школ" in text, stem
        assert "больше нет" not in text and "исключена из графика" not in text, stem
    assert "школа снята с консультации" in str(events_of(files["calendars/school-S3.ics"])
                                                ["session/s-visit-1"]["DESCRIPTION"])
    assert "его школы сняты с консультации" in str(events_of(files["calendars/municipality-M1.ics"])
                                         ["session/s-online-1"]["DESCRIPTION"])
    # The parties still in the sessions keep them confirmed; all.ics has each once, confirmed.
    for stem, marker in (("school-S2", "session/s-online-1"), ("school-S2", "session/s-visit-1"),
                         ("municipality-M2", "session/s-visit-1"), ("consultant-C2", "session/s-visit-1"),
                         ("all", "session/s-online-1"), ("all", "session/s-visit-1")):
        event = events_of(files[f"calendars/{stem}.ics"])[marker]
        assert event["STATUS"] == "CONFIRMED" and not str(event["SUMMARY"]).startswith("ОТМЕНЕНО"), stem
    # S1 keeps its other session confirmed.
    assert events_of(files["calendars/school-S1.ics"])["session/s-verif-1"]["STATUS"] == "CONFIRMED"


def test_a_school_taken_out_of_a_kept_session_gets_its_cancellation():
    instance = sample_instance()
    baseline = sample_plan()
    before = calendar_files(instance, baseline)
    assert "session/s-visit-1" in events_of(before["calendars/school-S3.ics"])
    assert "session/s-online-1" in events_of(before["calendars/municipality-M1.ics"])
    plan = dropped_replan(baseline)
    carry_calendar_history(instance, baseline, plan)
    assert plan.meta["dropped_parties"] == {
        "s-online-1": {"school": ["S1"], "municipality": ["M1"]},
        "s-visit-1": {"school": ["S3"]},
    }
    _check_dropped(calendar_files(instance, plan))


def test_a_replanned_plan_without_the_record_still_cancels_from_its_changes():
    """A plan replanned before the record existed: its meta.changes say who left."""
    instance = sample_instance()
    plan = dropped_replan()
    assert "dropped_parties" not in plan.meta
    _check_dropped(calendar_files(instance, plan))


def test_the_record_survives_plan_json_and_further_replans_and_a_return_undoes_it():
    instance = sample_instance()
    baseline = sample_plan()
    first = dropped_replan(baseline)
    carry_calendar_history(instance, baseline, first)
    first = plan_from_dict(plan_to_dict(first))  # through plan.json
    second = again(instance, first)  # nothing changes: meta.changes is empty now
    assert second.meta["changes"] == []
    _check_dropped(calendar_files(instance, second))
    # S3 comes back to the visit: confirmed again, SEQUENCE raised, no cancellation left for it.
    sessions = [replace(s, schools=("S2", "S3")) if s.id == "s-visit-1" else s for s in second.sessions]
    third = again(instance, second, sessions)
    assert third.meta["dropped_parties"] == {"s-online-1": {"school": ["S1"], "municipality": ["M1"]}}
    visit = events_of(calendar_files(instance, third)["calendars/school-S3.ics"])["session/s-visit-1"]
    assert visit["STATUS"] == "CONFIRMED" and visit["SEQUENCE"] == 2


def test_a_whole_cancellation_also_reaches_a_party_dropped_earlier():
    instance = sample_instance()
    baseline = sample_plan()
    first = dropped_replan(baseline)
    carry_calendar_history(instance, baseline, first)
    sessions = [s for s in first.sessions if s.id != "s-visit-1"]
    second = again(instance, first, sessions)
    files = calendar_files(instance, second)
    for stem in ("school-S3", "school-S2", "municipality-M2", "consultant-C2"):
        event = events_of(files[f"calendars/{stem}.ics"])["session/s-visit-1"]
        assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 2, stem


def test_a_consultant_replaced_in_a_kept_session_gets_the_cancellation():
    instance = sample_instance()
    baseline = sample_plan()
    by_id = {s.id: s for s in baseline.sessions}
    new = Plan("test-region", "FEASIBLE", 9.0, None, 0.5,
               [replace(s, consultant="C1") if s.id == "s-visit-1" else s for s in by_id.values()], [], meta={})
    plan = finish_replan(instance, baseline, new, date(2022, 3, 1))
    carry_calendar_history(instance, baseline, plan)
    files = calendar_files(instance, plan)
    event = events_of(files["calendars/consultant-C2.ics"])["session/s-visit-1"]
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1
    assert "Бикбаева Л. А." in str(event["DESCRIPTION"])  # who holds it now
    assert events_of(files["calendars/consultant-C1.ics"])["session/s-visit-1"]["STATUS"] == "CONFIRMED"


# --- 3. UIDs unique across regions ---------------------------------------------------------


def test_uids_differ_between_regions_that_number_alike_and_are_stable_within_one():
    plan = plan_with_activities()
    kuzbass = sample_instance(name="kuzbass-2022", with_activities=True)
    kalmykia = replace(sample_instance(name="kalmykia-2022", with_activities=True),
                       settings=replace(kuzbass.settings, region=replace(kuzbass.settings.region,
                                                                         name="Республика Калмыкия")))

    def uids(instance) -> set[str]:
        data = calendar_files(instance, plan)["calendars/all.ics"]
        return {str(e["UID"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}

    assert len(uids(kuzbass)) == len(plan.sessions)
    assert uids(kuzbass).isdisjoint(uids(kalmykia))
    assert uids(kuzbass) == uids(copy.deepcopy(kuzbass))
    region = kuzbass.settings.region.name
    assert session_uid(kuzbass, "s-visit-1") == str(uuid.uuid5(SESSION_NAMESPACE, f"{region}/s-visit-1"))
    # Activities too (in the roadmap calendars).
    from planner.exports.roadmap_calendars import roadmap_calendar_files

    def activity_uids(instance) -> set[str]:
        data = roadmap_calendar_files(instance, plan)["calendars/roadmap.ics"]
        return {str(e["UID"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}

    assert activity_uids(kuzbass).isdisjoint(activity_uids(kalmykia))
    assert str(uuid.uuid5(ACTIVITY_NAMESPACE, f"{region}/A1")) in activity_uids(kuzbass)


def test_without_a_region_name_the_instance_name_tells_regions_apart():
    plan = sample_plan()
    a, b = sample_instance(name="a-2022"), sample_instance(name="b-2022")
    a = replace(a, settings=replace(a.settings, region=replace(a.settings.region, name="")))
    b = replace(b, settings=replace(b.settings, region=replace(b.settings.region, name="")))
    ua = {str(e["UID"]) for e in icalendar.Calendar.from_ical(calendar_files(a, plan)["calendars/all.ics"])
          .walk("VEVENT")}
    ub = {str(e["UID"]) for e in icalendar.Calendar.from_ical(calendar_files(b, plan)["calendars/all.ics"])
          .walk("VEVENT")}
    assert ua.isdisjoint(ub)
    assert session_uid(a, "s-visit-1") == str(uuid.uuid5(SESSION_NAMESPACE, "a-2022/s-visit-1"))


# --- 4. cancelled events read as cancelled without STATUS ---------------------------------


def test_cancelled_events_say_so_in_their_summary():
    instance = sample_instance()
    files = calendar_files(instance, replanned_plan())
    for path, data in files.items():
        for event in icalendar.Calendar.from_ical(data).walk("VEVENT"):
            cancelled = event["STATUS"] == "CANCELLED"
            assert str(event["SUMMARY"]).startswith("ОТМЕНЕНО: ") == cancelled, path
    ev = events_of(files["calendars/all.ics"])["session/s-online-1"]
    assert str(ev["SUMMARY"]) == "ОТМЕНЕНО: Совершенствование профессионального мастерства педагогов"
    vev = [e for e in vobject.readOne(files["calendars/all.ics"].decode()).vevent_list
           if e.uid.value == str(ev["UID"])]
    assert vev[0].summary.value.startswith("ОТМЕНЕНО: ")


def test_the_server_copy_of_an_event_gone_from_a_calendar_says_so_in_its_summary():
    from planner.calendar_sync.caldav_publish import cancelled_copy

    ev = events_of(calendar_files(sample_instance(), sample_plan())["calendars/all.ics"])["session/s-visit-1"]
    gone = cancelled_copy(ev)
    assert str(gone["SUMMARY"]) == "ОТМЕНЕНО: Повышение учебной мотивации"
    assert str(cancelled_copy(gone)["SUMMARY"]) == "ОТМЕНЕНО: Повышение учебной мотивации"  # not twice


# --- 5. DTSTAMP and LAST-MODIFIED ----------------------------------------------------------


def test_dtstamp_and_last_modified_are_the_plans_creation_and_a_revision_is_newer():
    instance = sample_instance()
    old = events_of(calendar_files(instance, sample_plan())["calendars/all.ics"])
    new = events_of(calendar_files(instance, replanned_plan())["calendars/all.ics"])
    for ev in old.values():
        assert ev.decoded("DTSTAMP") == ev.decoded("LAST-MODIFIED") == datetime(2022, 2, 20, 9, 30, tzinfo=UTC)
    moved_old, moved_new = old["session/s-visit-1"], new["session/s-visit-1"]
    assert moved_new.decoded("LAST-MODIFIED") == datetime(2022, 4, 1, 8, tzinfo=UTC)
    assert moved_new.decoded("LAST-MODIFIED") > moved_old.decoded("LAST-MODIFIED")
    assert moved_new.decoded("DTSTAMP") > moved_old.decoded("DTSTAMP")


def _stamp(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_solve_and_replan_stamp_the_plans_they_make(tmp_path):
    folder = write_instance(tmp_path / "inst")
    base_out, replan_out = tmp_path / "base", tmp_path / "replan"
    before = datetime.now(UTC).replace(microsecond=0)
    r = run_cli("solve", str(folder), "--out", str(base_out), "--time-limit", "3", "--workers", "1",
                "--no-documents")
    after = datetime.now(UTC)
    assert r.returncode == 0, r.stderr
    created = datetime.fromisoformat(read_plan(base_out / "plan.json").meta["created"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 7 * 3600  # the region's zone
    assert before <= created <= after
    stamps = {e.decoded("DTSTAMP") for e in events_of((base_out / "calendars" / "all.ics").read_bytes()).values()}
    assert stamps == {created}

    # A fixed instant (SOURCE_DATE_EPOCH, as reproducible builds set it) pins the stamp.
    import os
    import subprocess
    import sys

    from helpers import ROOT

    env = {**os.environ, "SOURCE_DATE_EPOCH": "1650000000"}
    r = subprocess.run([sys.executable, "-m", "planner.cli", "replan", str(folder), "--baseline",
                        str(base_out / "plan.json"), "--freeze", "2022-03-01", "--out", str(replan_out),
                        "--time-limit", "3", "--workers", "1", "--no-documents"],
                       capture_output=True, text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, timeout=600)
    assert r.returncode == 0, r.stderr
    plan = read_plan(replan_out / "plan.json")
    assert plan.meta["created"] == "2022-04-15T12:20:00+07:00"
    events = events_of((replan_out / "calendars" / "all.ics").read_bytes())
    assert events and {e.decoded("LAST-MODIFIED") for e in events.values()} == {_stamp(1650000000)}


# --- 6. roadmap activities in their own calendars -----------------------------------------


def test_activities_stay_out_of_all_ics_and_carry_sequence_and_status():
    from planner.exports.roadmap_calendars import roadmap_calendar_files

    instance = sample_instance(with_activities=True)
    plan = plan_with_activities()
    files = calendar_files(instance, plan)
    for path, data in files.items():
        assert b"activity/" not in data, path
    roadmap = events_of(roadmap_calendar_files(instance, plan)["calendars/roadmap.ics"])
    assert set(roadmap) == {"activity/A1", "activity/A2"}
    for ev in roadmap.values():
        assert ev["STATUS"] == "CONFIRMED" and ev["SEQUENCE"] == 0
        assert ev.decoded("LAST-MODIFIED") == datetime(2022, 2, 20, 9, 30, tzinfo=UTC)
    # A replan that moves A1: its SEQUENCE is raised, A2's is not.
    later = copy.deepcopy(plan)
    later.activities = [replace(a, start=date(2022, 3, 14), end=date(2022, 3, 16)) if a.id == "A1" else a
                        for a in plan.activities]
    later.meta["created"] = REPLAN_STAMP
    carry_calendar_history(instance, plan, later)
    later = plan_from_dict(plan_to_dict(later))
    moved = events_of(roadmap_calendar_files(instance, later)["calendars/roadmap.ics"])
    assert (moved["activity/A1"]["SEQUENCE"], moved["activity/A2"]["SEQUENCE"]) == (1, 0)
    executor = events_of(roadmap_calendar_files(instance, later)["calendars/executor-upravlenie-obrazovaniya.ics"])
    assert executor["activity/A1"]["SEQUENCE"] == 1


def test_a_long_activity_title_is_cut_in_the_summary_and_whole_in_the_description():
    from planner.exports.roadmap_calendars import roadmap_calendar_files

    instance = sample_instance(with_activities=True)
    long_title = "Проведение " + "очень " * 80 + "важного совещания"
    instance = replace(instance, activities={**instance.activities,
                                             "A1": replace(instance.activities["A1"], title=long_title)})
    ev = events_of(roadmap_calendar_files(instance, plan_with_activities())["calendars/roadmap.ics"])["activity/A1"]
    summary = str(ev["SUMMARY"])
    assert len(summary) <= 120 and summary.endswith("…") and long_title.startswith(summary[:-1].rstrip())
    assert long_title in str(ev["DESCRIPTION"])


def test_export_ics_writes_the_roadmap_calendars_too(tmp_path):
    folder = write_instance(tmp_path / "inst", extra={"roadmap.csv": (
        "id,title,responsible,indicator,earliest,latest,duration_days,after,fixed\n"
        "A1,Совещание,МОУО,,2022-03-01,,1,,\n")})
    r = run_cli("solve", str(folder), "--out", str(tmp_path / "out"), "--time-limit", "3", "--workers", "1",
                "--no-documents", "--no-calendars")
    assert r.returncode == 0, r.stderr
    r = run_cli("export", "ics", str(tmp_path / "out" / "plan.json"))
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "out" / "calendars").glob("*.ics"))
    assert "roadmap.ics" in names and "executor-mouo.ics" in names
    assert "activity/A1" not in (tmp_path / "out" / "calendars" / "all.ics").read_text(encoding="utf-8")


# --- 7. LOCATION names the municipality once -----------------------------------------------


def test_location_names_the_municipality_once():
    instance = sample_instance()
    schools = dict(instance.schools)
    # The same names in another municipality: lists elsewhere add the municipality to tell them apart.
    schools["S8"] = School("S8", "МБОУ «Новоивановская СОШ»", "M1", ("R10",))
    schools["S9"] = School("S9", "МБОУ «ООШ № 5»", "M1", ("R10",))
    instance = replace(instance, schools=schools)
    ev = events_of(calendar_files(instance, sample_plan())["calendars/all.ics"])
    location = str(ev["session/s-visit-1"]["LOCATION"])
    assert location == "Крапивинский муниципальный округ: МБОУ «Новоивановская СОШ», МБОУ «ООШ № 5»"
    assert location.count("Крапивинский") == 1
    # Two schools of one name in the same municipality are told apart by id.
    schools["S4"] = School("S4", "МБОУ «ООШ № 5»", "M2", ("R10",))
    instance = replace(instance, schools=schools)
    plan = sample_plan()
    plan.sessions = [replace(s, schools=("S3", "S4")) if s.id == "s-visit-1" else s for s in plan.sessions]
    location = str(events_of(calendar_files(instance, plan)["calendars/all.ics"])["session/s-visit-1"]["LOCATION"])
    assert location == "Крапивинский муниципальный округ: МБОУ «ООШ № 5» (S3), МБОУ «ООШ № 5» (S4)"


def test_plan_json_keeps_the_record_and_older_plans_still_read(tmp_path):
    instance = sample_instance()
    baseline = sample_plan()
    plan = dropped_replan(baseline)
    carry_calendar_history(instance, baseline, plan)
    text = plan_json_text(plan)
    path = Path(tmp_path) / "plan.json"
    path.write_text(text, encoding="utf-8")
    again_ = read_plan(path)
    assert again_.meta["dropped_parties"] == plan.meta["dropped_parties"]
    assert calendar_files(instance, again_) == calendar_files(instance, plan)
    # A plan without any of it (older files) reads and exports as before.
    legacy = plan_to_dict(sample_plan())
    legacy["activities"] = [{"id": "A1", "start": "2022-03-09", "end": "2022-03-11"}]
    assert plan_from_dict(legacy).activities == [ActivityDates("A1", date(2022, 3, 9), date(2022, 3, 11))]
