"""The application around the models, one room per step of the flow.

files → `inputs` (a validated `models.domain.Instance`) → `models` (the CP-SAT models, a
`Plan`) → `exports` (plan.json, calendars, documents) → `calendar_sync` (CalDAV).
`workflows` strings those steps together (solve, replan, validate, compare); the front doors
`cli` (and `tools`, the developers' scripts) parse what a person typed and call the
workflows. A room imports only from the rooms before it; `tests/test_layout.py` checks it.
"""
