"""What we give back, as pure functions of (instance, plan): plan.json and plan.csv
(`plan_io`, which also reads a plan back and writes files atomically), the .ics calendars,
the roadmap's table and calendars, the Word appendix, the Excel workbook and the HTML report.
May import `models` and `planner.inputs` (to load the instance a plan was built from); never
the workflows or a front door.
"""
