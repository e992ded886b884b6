"""The top of the house: the jobs a person asks for, each one function with no argparse and
no printing of results, so that every front door (the command line, later the web
application and the batch runner) runs the same code. `solving`: files → instance →
(roadmap) → solve → checked plan → every output in memory, and the check of a plan against
the rules. `replanning`: a what-if against a baseline, the change report, the comparison of
plans. May import `models`, `planner.inputs`, `planner.exports`, `planner.calendar_sync`;
never a front door.
"""
