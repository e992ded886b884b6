"""Calendars on a server: publishing each party's calendar to a CalDAV server
(`caldav_publish`, built from `planner.exports.calendars`) and the embedded Radicale server
for teams without one (`calendar_server`). Network and processes live here, nowhere else.
May import `models`, `planner.inputs` and `planner.exports`; never the workflows or a front door.
"""
