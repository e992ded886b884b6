"""The planner in a browser: `planner serve` (pages and the JSON API) and `planner users add`.

Everything the web application needs from the rest of the planner (loading and validating an
instance, solving, the exports, the template workbook, the Russian texts of the documents)
is reached through `app_services`, one module, so that moving those modules is a one-file
change here.
"""
