"""Calendars (.ics): every file read back by two independent parsers (icalendar and vobject).

The plan is hand-made (tests/calendar_samples.py) with times in UTC, so the checks on local
times prove the conversion to the region's zone. Golden files: tests/golden/calendars/;
regenerate deliberately with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_calendars.py`.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from calendar_samples import (
    MOSCOW,
    NOVOKUZNETSK,
    expected_parties,
    plan_with_activities,
    replanned_plan,
    sample_instance,
    sample_plan,
)
from helpers import run_cli, write_instance
from models.domain import Format, Plan, School, Session
from planner.exports.calendars import (
    SESSION_NAMESPACE,
    activity_events,
    calendar_bytes,
    calendar_files,
    party_calendars,
    plan_stamp,
    session_uid,
)
from planner.exports.plan_io import plan_json_text

GOLDEN = Path(__file__).parent / "golden" / "calendars"


def parse_both(data: bytes) -> tuple[icalendar.Calendar, object]:
    """The same file through icalendar and through vobject (which shares no code with it)."""
    return icalendar.Calendar.from_ical(data), vobject.readOne(data.decode("utf-8"))


def vevents_vobject(cal: object) -> list:
    return list(getattr(cal, "vevent_list", []))


def stem(path: str) -> str:
    return Path(path).stem


# --- counts, UIDs, names ------------------------------------------------------------------


@pytest.mark.parametrize("zone", [NOVOKUZNETSK, MOSCOW])
def test_every_file_parses_with_both_parsers_and_holds_exactly_its_partys_sessions(zone):
    instance, plan = sample_instance(zone), sample_plan()
    files = calendar_files(instance, plan)

    # One file per party of the instance plus all.ics.
    expected_stems = ({"all"} | {f"consultant-{c}" for c in instance.consultants}
                      | {f"school-{s}" for s in instance.schools}
                      | {f"municipality-{m}" for m in instance.municipalities})
    assert {stem(p) for p in files} == expected_stems
    assert all(p.startswith("calendars/") and p.endswith(".ics") for p in files)

    want: dict[str, set[str]] = {s: set() for s in expected_stems}
    for session in plan.sessions:
        for party in expected_parties(instance, session):
            want[party].add(session_uid(instance, session.id))

    for path, data in files.items():
        ical, vcal = parse_both(data)
        uids_ical = [str(e["UID"]) for e in ical.walk("VEVENT")]
        uids_vobj = [e.uid.value for e in vevents_vobject(vcal)]
        assert sorted(uids_ical) == sorted(uids_vobj), path
        assert len(uids_ical) == len(set(uids_ical)), f"{path}: duplicate UID"
        assert set(uids_ical) == want[stem(path)], path


def test_counts_per_party_match_the_plan():
    instance, plan = sample_instance(), sample_plan()
    files = calendar_files(instance, plan)
    counts = {stem(p): len(vevents_vobject(vobject.readOne(d.decode()))) for p, d in files.items()}
    # Worked out by hand from calendar_samples.sample_sessions:
    assert counts == {
        "all": 4,
        "consultant-C1": 2, "consultant-C2": 2,
        "school-S1": 2, "school-S2": 3, "school-S3": 1,
        "municipality-M1": 2,  # the visit to S1 and the online session S1 attends
        "municipality-M2": 3,  # the visit to M2 and both online sessions S2 attends
    }


def test_calendar_names_are_russian_and_per_party():
    instance, plan = sample_instance(), sample_plan()
    files = calendar_files(instance, plan)
    names = {}
    for path, data in files.items():
        ical, vcal = parse_both(data)
        assert ical["X-WR-CALNAME"] == ical["NAME"]
        assert vcal.x_wr_calname.value == str(ical["X-WR-CALNAME"])
        names[stem(path)] = str(ical["X-WR-CALNAME"])
    assert names["consultant-C1"] == "Консультации: Бикбаева Л. А."
    assert names["school-S2"] == "Консультации: МБОУ «Новоивановская СОШ»"
    assert names["municipality-M2"] == "Консультации: Крапивинский муниципальный округ"
    assert names["all"] == "Все консультации: Тестовая область"


def test_schools_with_the_same_name_get_calendars_told_apart():
    instance = sample_instance()
    schools = dict(instance.schools)
    schools["S4"] = School("S4", "МБОУ «ООШ № 5»", "M1", ("R10",))  # S3 has this name in M2
    schools["S5"] = School("S5", "МБОУ «ООШ № 5»", "M1", ("R10",))  # and twice in M1
    instance = replace(instance, schools=schools)
    names = {stem(p): str(icalendar.Calendar.from_ical(d)["X-WR-CALNAME"])
             for p, d in calendar_files(instance, sample_plan()).items()}
    assert names["school-S3"] == "Консультации: МБОУ «ООШ № 5», Крапивинский муниципальный округ"
    assert names["school-S4"] == "Консультации: МБОУ «ООШ № 5», Город А (S4)"
    assert names["school-S5"] == "Консультации: МБОУ «ООШ № 5», Город А (S5)"
    assert names["school-S1"] == "Консультации: МБОУ «СОШ № 1»"
    assert len(set(names.values())) == len(names)


def test_uids_are_uuid5_of_session_ids_and_stable_across_exports_and_replans():
    instance = sample_instance()
    first = calendar_files(instance, sample_plan())
    second = calendar_files(instance, sample_plan())
    def uids(files: dict[str, bytes]) -> list[str]:
        return sorted(str(e["UID"]) for e in icalendar.Calendar.from_ical(files["calendars/all.ics"]).walk("VEVENT"))

    assert uids(first) == uids(second)
    # uuid5 of the region and the id: two regions that number sessions alike never share a UID.
    assert session_uid(instance, "s-visit-1") == str(uuid.uuid5(SESSION_NAMESPACE, "Тестовая область/s-visit-1"))
    assert uuid.UUID(session_uid(instance, "s-visit-1")).version == 5
    # The moved session keeps its UID in the replanned plan.
    replanned = calendar_files(instance, replanned_plan())
    moved = [e for e in icalendar.Calendar.from_ical(replanned["calendars/all.ics"]).walk("VEVENT")
             if e["UID"] == session_uid(instance, "s-visit-1")]
    assert len(moved) == 1 and moved[0]["SEQUENCE"] == 1


def test_output_is_byte_for_byte_reproducible_and_independent_of_session_order():
    instance = sample_instance()
    plan = sample_plan()
    shuffled = sample_plan()
    random.Random(7).shuffle(shuffled.sessions)
    assert [s.id for s in shuffled.sessions] != [s.id for s in plan.sessions]
    assert calendar_files(instance, plan) == calendar_files(instance, plan)
    assert calendar_files(instance, plan) == calendar_files(instance, shuffled)
    # Events are in start order in every file.
    for data in calendar_files(instance, shuffled).values():
        starts = [e.dtstart.value for e in vevents_vobject(vobject.readOne(data.decode()))]
        assert starts == sorted(starts)


def test_each_event_rendered_once_gives_the_same_bytes_as_rendering_each_file_whole():
    """calendar_files renders a session once for all the calendars that hold it (all.ics, its
    consultant's, schools', municipality's); the files must be what rendering each calendar
    on its own gives, byte for byte, cancelled events and activities included."""
    instance = sample_instance()
    plan = sample_plan()
    plan.cancelled = [replace(plan.sessions[0], id="gone", sequence=1)]
    files = calendar_files(instance, plan)
    cals = party_calendars(instance, plan)
    assert sum(len(c.events) for c in cals) > len({id(e) for c in cals for e in c.events})  # events are shared
    for cal in cals:
        alone = calendar_bytes(instance, plan, cal.title, list(cal.events), key=cal.key)
        assert files[cal.path] == alone, cal.path
    assert b"STATUS:CANCELLED" in files["calendars/all.ics"]


# --- times and zones ----------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "offset", "local_first"), [
    (NOVOKUZNETSK, timedelta(hours=7), "20220315T100000"),
    (MOSCOW, timedelta(hours=3), "20220315T060000"),
])
def test_times_equal_the_plans_in_the_regions_zone(zone, offset, local_first):
    instance, plan = sample_instance(zone), sample_plan()
    data = calendar_files(instance, plan)["calendars/all.ics"]
    # Written as local wall-clock time with the zone's TZID, not as UTC or floating time.
    assert f"DTSTART;TZID={zone}:{local_first}".encode() in data
    ical, vcal = parse_both(data)
    by_uid = {s.id: s for s in plan.sessions}
    by_uid = {session_uid(instance, k): v for k, v in by_uid.items()}
    seen = 0
    for ev in vevents_vobject(vcal):
        session = by_uid[ev.uid.value]
        start, end = ev.dtstart.value, ev.dtend.value
        assert start == session.start and end == session.end  # the same instants
        assert start.utcoffset() == offset and end.utcoffset() == offset
        local = session.start.astimezone(ZoneInfo(zone))
        assert (start.hour, start.minute, start.date()) == (local.hour, local.minute, local.date())
        seen += 1
    for ev in ical.walk("VEVENT"):
        session = by_uid[str(ev["UID"])]
        assert ev["DTSTART"].params["TZID"] == zone
        assert ev.decoded("DTSTART") == session.start
        assert ev.decoded("DTEND") == session.end
        assert ev.decoded("DTSTART").utcoffset() == offset
    assert seen == len(plan.sessions)


@pytest.mark.parametrize(("zone", "offset"), [(NOVOKUZNETSK, "+0700"), (MOSCOW, "+0300")])
def test_every_file_carries_the_regions_vtimezone(zone, offset):
    instance, plan = sample_instance(zone), sample_plan()
    for path, data in calendar_files(instance, plan).items():
        ical, vcal = parse_both(data)
        zones = ical.walk("VTIMEZONE")
        assert [str(z["TZID"]) for z in zones] == [zone], path  # even in an empty calendar
        assert zones[0].walk("STANDARD")[0]["TZOFFSETTO"].to_ical() == offset
        assert vcal.vtimezone.tzid.value == zone
        assert not ical.get_missing_tzids()


# --- the content of an event --------------------------------------------------------------


def _events(files: dict[str, bytes], path: str = "calendars/all.ics") -> dict[str, icalendar.Event]:
    return {str(e["X-PLANNER-ID"]).split("/", 1)[1]: e
            for e in icalendar.Calendar.from_ical(files[path]).walk("VEVENT")}


def test_event_summary_location_categories_and_description():
    instance, plan = sample_instance(), sample_plan()
    ev = _events(calendar_files(instance, plan))

    visit = ev["s-visit-1"]
    assert visit["SUMMARY"] == "Повышение учебной мотивации"
    assert visit["LOCATION"] == ("Крапивинский муниципальный округ: МБОУ «Новоивановская СОШ», "
                                 "МБОУ «ООШ № 5»")
    assert [str(c) for c in visit.categories] == ["сопровождение", "выездная"]
    text = str(visit["DESCRIPTION"])
    assert "Консультант: Неверова Н. С., зам. директора «Крапивинская СОШ»" in text
    assert "МБОУ «Новоивановская СОШ» (Крапивинский муниципальный округ): R10" in text
    assert "МБОУ «ООШ № 5» (Крапивинский муниципальный округ): R10" in text
    # Topic T2 addresses R10 and R01; the schools have R10 (and R03), not R01: only R10 is named.
    assert "R10: Низкая учебная мотивация обучающихся" in text
    assert "R01" not in text and "R03" not in text
    assert visit["STATUS"] == "CONFIRMED" and visit["SEQUENCE"] == 0

    online = ev["s-online-1"]
    assert online["LOCATION"] == "ВКС"
    assert [str(c) for c in online.categories] == ["разработка программ", "онлайн (ВКС)"]
    assert "МБОУ «СОШ № 1» (Город А): R03" in str(online["DESCRIPTION"])
    assert "R03: Недостаточная предметная и методическая компетентность" in str(online["DESCRIPTION"])

    verification = ev["s-verif-1"]
    assert "Цель: верификация рискового профиля школы." in str(verification["DESCRIPTION"])
    assert verification["LOCATION"] == "Город А: МБОУ «СОШ № 1»"


def test_reminder_the_day_before_only_for_onsite_visits():
    instance, plan = sample_instance(), sample_plan()
    ev = _events(calendar_files(instance, plan))
    for sid in ("s-verif-1", "s-visit-1"):
        alarms = ev[sid].walk("VALARM")
        assert len(alarms) == 1, sid
        assert alarms[0]["ACTION"] == "DISPLAY"
        assert alarms[0].decoded("TRIGGER") == -timedelta(days=1)
        assert alarms[0]["DESCRIPTION"].startswith("Завтра выездная консультация")
    for sid in ("s-online-1", "s-online-2"):
        assert ev[sid].walk("VALARM") == [], sid


def test_dtstamp_comes_from_the_plan_never_from_the_clock():
    instance = sample_instance()
    ev = _events(calendar_files(instance, sample_plan()))
    assert {e.decoded("DTSTAMP") for e in ev.values()} == {datetime(2022, 2, 20, 9, 30, tzinfo=UTC)}
    # Without a creation time in the plan: midnight UTC of the horizon's first day.
    bare = sample_plan()
    bare.meta = {}
    assert plan_stamp(instance, bare) == datetime(2022, 3, 1, tzinfo=UTC)
    # An explicit stamp wins.
    forced = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    ev = _events(calendar_files(instance, bare, stamp=forced))
    assert {e.decoded("DTSTAMP") for e in ev.values()} == {forced}


# --- cancelled sessions -------------------------------------------------------------------


def test_cancelled_session_is_written_cancelled_into_each_file_that_had_it():
    instance = sample_instance()
    before = calendar_files(instance, sample_plan())
    after = calendar_files(instance, replanned_plan())
    cancelled_uid = session_uid(instance, "s-online-1")
    had_it = {stem(p) for p, d in before.items() if cancelled_uid.encode() in d}
    assert had_it == {"all", "consultant-C2", "school-S1", "school-S2", "municipality-M1", "municipality-M2"}
    for path, data in after.items():
        ical, vcal = parse_both(data)
        matches = [e for e in ical.walk("VEVENT") if e["UID"] == cancelled_uid]
        if stem(path) in had_it:
            assert len(matches) == 1, path
            event = matches[0]
            assert event["STATUS"] == "CANCELLED"
            assert event["SEQUENCE"] == 1  # raised by the replan
            assert event.walk("VALARM") == []
            assert str(event["DESCRIPTION"]).startswith("ОТМЕНЕНО")
            v = [e for e in vevents_vobject(vcal) if e.uid.value == cancelled_uid]
            assert v[0].status.value == "CANCELLED" and v[0].sequence.value == "1"
        else:
            assert matches == [], path
    # The moved session: same UID, new time, higher SEQUENCE, still confirmed.
    moved = _events(after)["s-visit-1"]
    assert moved["STATUS"] == "CONFIRMED" and moved["SEQUENCE"] == 1
    assert moved.decoded("DTSTART") == datetime(2022, 3, 24, 5, tzinfo=UTC)
    # Other statuses stay confirmed; each file has no duplicate UIDs.
    statuses = Counter(str(e["STATUS"]) for e in _events(after).values())
    assert statuses == {"CONFIRMED": 3, "CANCELLED": 1}


def test_a_session_both_kept_and_cancelled_is_written_once_as_kept():
    instance = sample_instance()
    plan = sample_plan()
    plan.cancelled = [replace(plan.sessions[0], sequence=3)]
    ev = icalendar.Calendar.from_ical(calendar_files(instance, plan)["calendars/all.ics"]).walk("VEVENT")
    same = [e for e in ev if e["UID"] == session_uid(instance, plan.sessions[0].id)]
    assert len(same) == 1 and same[0]["STATUS"] == "CONFIRMED"


# --- roadmap activities -------------------------------------------------------------------


def test_activities_are_all_day_events_in_the_roadmap_calendars_only():
    from planner.exports.roadmap_calendars import roadmap_calendar_files

    instance, plan = sample_instance(with_activities=True), plan_with_activities()
    roadmap = roadmap_calendar_files(instance, plan)["calendars/roadmap.ics"]
    ical, vcal = parse_both(roadmap)
    acts = {str(e["X-PLANNER-ID"]): e for e in ical.walk("VEVENT")}
    assert set(acts) == {"activity/A1", "activity/A2"}
    a1 = acts["activity/A1"]
    assert a1.decoded("DTSTART") == date(2022, 3, 9)
    assert a1.decoded("DTEND") == date(2022, 3, 12)  # exclusive end of the 9th..11th
    assert "Ответственный: Управление образования" in str(a1["DESCRIPTION"])
    assert "контрольная точка" in str(acts["activity/A2"]["DESCRIPTION"])
    assert "критическом пути" in str(acts["activity/A2"]["DESCRIPTION"])
    assert len(vevents_vobject(vcal)) == 2
    for path, data in calendar_files(instance, plan).items():  # the consultations' calendars
        assert b"activity/" not in data, path
    # The extension point on its own, and its absence for a plan without activities.
    assert [str(e["SUMMARY"]) for e in activity_events(instance, plan)] == [
        "Утверждение муниципальной программы поддержки", "Отчёт в ФИОКО"]
    assert activity_events(instance, sample_plan()) == []


# --- golden files -------------------------------------------------------------------------


def test_golden_files():
    """The exact bytes for the sample replanned plan; any change to the output shows up here."""
    files = calendar_files(sample_instance(), replanned_plan())
    if os.environ.get("UPDATE_GOLDEN"):
        for old in GOLDEN.glob("*.ics"):
            old.unlink()
        for path, data in files.items():
            (GOLDEN / Path(path).name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / Path(path).name).write_bytes(data)
    golden = {f"calendars/{p.name}": p.read_bytes() for p in sorted(GOLDEN.glob("*.ics"))}
    assert sorted(golden) == sorted(files)
    for path, data in files.items():
        assert data == golden[path], f"{path} differs from {GOLDEN}; regenerate with UPDATE_GOLDEN=1 if intended"


# --- the command --------------------------------------------------------------------------


def test_export_ics_command_writes_files_next_to_the_plan(tmp_path):
    folder = write_instance(tmp_path / "inst")
    plan_dir = tmp_path / "out"
    plan_dir.mkdir()
    tz = ZoneInfo("Asia/Novokuznetsk")
    plan = Plan("inst", "OPTIMAL", 1.0, 1.0, 0.1, [
        Session("s-a", "T1", "C1", datetime(2022, 3, 15, 10, tzinfo=tz), datetime(2022, 3, 15, 11, 30, tzinfo=tz),
                Format.ONLINE, None, ("S1",)),
    ], [], meta={"instance_path": str(folder)})
    (plan_dir / "plan.json").write_text(plan_json_text(plan), encoding="utf-8")
    stale = plan_dir / "calendars" / "school-GONE.ics"
    stale.parent.mkdir()
    stale.write_text("old", encoding="utf-8")
    keep = plan_dir / "calendars" / "my-notes.ics"
    keep.write_text("mine", encoding="utf-8")

    result = run_cli("export", "ics", str(plan_dir / "plan.json"))  # the real command, own process
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Календари записаны" in result.stdout and "школ 1" in result.stdout
    names = sorted(p.name for p in (plan_dir / "calendars").glob("*.ics"))
    assert names == ["all.ics", "consultant-C1.ics", "municipality-M1.ics", "municipality-M2.ics",
                     "my-notes.ics", "school-S1.ics"]  # stale party file removed, foreign file kept
    cal = vobject.readOne((plan_dir / "calendars" / "school-S1.ics").read_text(encoding="utf-8"))
    assert [e.uid.value for e in cal.vevent_list] == [str(uuid.uuid5(SESSION_NAMESPACE, "Тестовый регион/s-a"))]
    assert cal.vevent_list[0].dtstart.value.hour == 10

    # --out elsewhere, and --instance given explicitly (in this process: quicker).
    from planner.cli import main

    out = tmp_path / "elsewhere"
    assert main(["export", "ics", str(plan_dir / "plan.json"), "--out", str(out), "--instance", str(folder)]) == 0
    assert (out / "calendars" / "all.ics").read_bytes() == (plan_dir / "calendars" / "all.ics").read_bytes()


def test_export_ics_command_errors_are_russian_without_traceback(tmp_path, capsys, monkeypatch):
    from planner.cli import main

    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps({"instance": "missing-instance", "sessions": []}), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["export", "ics", str(plan_path)]) == 2
    err = capsys.readouterr().err
    assert "не найден экземпляр" in err and "--instance" in err and "Traceback" not in err
