"""The batch runner: `planner batch`, every region (and its what-ifs) as independent tasks on Ray.

A front door beside `planner.cli`, calling the same workflows: `jobs` (the plain data a
task gets and returns, the time limits, the key of current outputs), `task` (what runs in a
task's process), `runner` (Ray, the outputs on disk, the summary), `command` (the
`planner batch` command). See docs/batch.md.
"""
