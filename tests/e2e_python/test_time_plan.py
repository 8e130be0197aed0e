"""The suite's own choice of event times (cfsupport.time_plan), checked for every
quarter hour of a week, since a run only ever sees one time of day."""

from __future__ import annotations

import datetime as dt

import cfsupport as cf
from cfsupport import voc

CALLING_HOURS = (dt.time(9, 0), dt.time(21, 0))
CALL_MINUTES = (8, 10)  # the moments after filing the tests place calls at
LAST_EVENT_MINUTE = 12


def test_every_time_of_day_gets_past_events_and_calls_inside_calling_hours():
    start = dt.datetime(2026, 11, 23, 0, 0, tzinfo=cf.BEIJING)  # a Monday
    for step in range(7 * 24 * 4):
        now = start + dt.timedelta(minutes=15 * step + 7)
        plan = cf.time_plan(now)
        assert plan.at(LAST_EVENT_MINUTE) <= now, (now, plan)
        for minutes in CALL_MINUTES:
            local = plan.at(minutes).astimezone(cf.BEIJING).time()
            assert CALLING_HOURS[0] <= local < CALLING_HOURS[1], (now, plan, minutes)
        if plan.mode == "day":
            # A major case: reported within 60 minutes of filing, warned at 45.
            assert plan.severity == voc.SEVERITY_MAJOR
            assert plan.at(45) > now + dt.timedelta(minutes=20), (now, plan)
        else:
            # Filed after closing: the report is due the next business day at 17:30,
            # warned at 15:15, which is after the next 09:30.
            assert plan.severity == voc.SEVERITY_NORMAL
            local = plan.filed_at.astimezone(cf.BEIJING)
            assert local.time() == dt.time(20, 0)
            next_morning = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(9, 30), tzinfo=cf.BEIJING)
            assert now < next_morning, (now, plan)
