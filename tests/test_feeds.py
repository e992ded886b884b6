"""The published calendar feeds (planner.workflows.publishing.feed_calendars), read back with
vobject: what a subscribed calendar program sees when versions are published in any order.

Plans are built by hand from one session of the two-school instance, so that each case is
exact: v1 holds the webinar for S1 and S2; v2 moves it to June; v3 takes S2 out of it.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import vobject

from models.solve import solve_consultations
from planner.exports.calendars import carry_calendar_history
from planner.workflows.publishing import feed_calendars
from test_replan_options import OPTS, _instance


def _versions(tmp_path):
    instance = _instance(tmp_path)
    v1, _ = solve_consultations(instance, OPTS)
    v1.meta["created"] = "2022-03-01T09:00:00+07:00"
    [ta] = v1.sessions
    june = dataclasses.replace(ta, start=ta.start + timedelta(days=28), end=ta.end + timedelta(days=28),
                               sequence=1)
    v2 = dataclasses.replace(v1, sessions=[june], meta={"created": "2022-03-02T09:00:00+07:00"})
    alone = dataclasses.replace(june, schools=("S1",), sequence=2)
    v3 = dataclasses.replace(v1, sessions=[alone], meta={"created": "2022-03-03T09:00:00+07:00"})
    carry_calendar_history(instance, v2, v3)
    return instance, v1, v2, v3


def _read(data: bytes) -> list:
    return list(vobject.readOne(data.decode("utf-8")).contents.get("vevent", []))


def test_version_3_published_right_after_version_1(tmp_path):
    instance, v1, _v2, v3 = _versions(tmp_path)
    first = feed_calendars(instance, v1, {})
    later = feed_calendars(instance, v3, first)
    [s2] = _read(later["school-S2"])  # S2 was dropped: its copy is cancelled, above what it saw
    [seen] = _read(first["school-S2"])
    assert s2.uid.value == seen.uid.value and s2.status.value == "CANCELLED"
    assert int(s2.sequence.value) > int(seen.sequence.value)
    assert s2.summary.value.startswith("ОТМЕНЕНО: ")
    [s1] = _read(later["school-S1"])  # S1 keeps it, moved to June, SEQUENCE raised
    assert s1.uid.value == seen.uid.value and s1.status.value == "CONFIRMED"
    assert s1.dtstart.value.month == 6 and int(s1.sequence.value) == 2


def test_a_session_no_version_mentions_any_more_is_cancelled_and_stays_so(tmp_path):
    instance, v1, _v2, _v3 = _versions(tmp_path)
    first = feed_calendars(instance, v1, {})
    empty = dataclasses.replace(v1, sessions=[], cancelled=[], meta={"created": "2022-03-04T09:00:00+07:00"})
    gone = feed_calendars(instance, empty, first)
    for key in ("all", "consultant-C2", "school-S1", "school-S2", "municipality-M2"):
        [ev] = _read(gone[key])
        assert ev.status.value == "CANCELLED" and int(ev.sequence.value) == 1, key
    assert _read(gone["consultant-C1"]) == []  # C1 never had it
    assert feed_calendars(instance, empty, gone) == gone  # and it stays, unchanged


def test_rolling_back_to_an_earlier_version_raises_the_sequence_again(tmp_path):
    instance, v1, v2, _v3 = _versions(tmp_path)
    one = feed_calendars(instance, v1, {})
    two = feed_calendars(instance, v2, one)
    back = feed_calendars(instance, v1, two)
    [ev] = _read(back["school-S1"])
    assert ev.dtstart.value.month == 5 and int(ev.sequence.value) == 2  # above version 2's 1
    assert feed_calendars(instance, v1, back) == back  # publishing it again changes nothing


def test_every_feed_says_how_often_to_poll(tmp_path):
    instance, v1, _v2, _v3 = _versions(tmp_path)
    for key, data in feed_calendars(instance, v1, {}).items():
        cal = vobject.readOne(data.decode("utf-8"))
        assert cal.contents["refresh-interval"][0].value == "PT1H", key
        assert cal.contents["x-published-ttl"][0].value == "PT1H", key
