"""The `planner` command, a front door: parse the arguments, call a workflow (or an input,
export or calendar-sync function), print in Russian. One module per group of commands, each
with a `register(sub)`; `main` wires them. May import everything below it (workflows,
inputs, exports, calendar_sync, models); never another front door (web, batch, tools).
"""

from planner.cli.main import main, run

__all__ = ["main", "run"]
