"""The solver's Russian progress lines, turned into the figures a progress panel shows.

The solver reports through a callable, one line at a time: unindented lines name a step
(«Фаза 2а: нижняя оценка без месяцев…», «Расставляю даты и время…»), indented ones give
figures («  фаза 2: лучшее 5 072, граница 5 034, 3.2 с», «  нижняя оценка 4 570, 4.5 с»,
«  план: 5 134, 2.2 с»). The parser keeps the last step, the best value and the bound it has
seen, and the last lines as they were; a line it does not understand is kept as text only,
so a new wording in the solver never breaks the panel.
"""

from __future__ import annotations

import re
from typing import Any

LOG_LINES = 12
_NUMBER = r"(-?\d[\d\s\u00a0\u202f]*(?:[.,]\d+)?)"
_BEST = re.compile(r"(?:лучшее|план:)\s*" + _NUMBER)
_BOUND = re.compile(r"(?:граница|нижняя оценка)\s*" + _NUMBER)


def _number(text: str) -> float | None:
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def fold(progress: dict[str, Any], line: str) -> dict[str, Any]:
    """The progress after one more line (a new dict; `progress` is not changed)."""
    out = dict(progress)
    text = line.rstrip()
    if not text.strip():
        return out
    log = [*out.get("log", []), text][-LOG_LINES:]
    out["log"] = log
    out["message"] = text.strip()
    if not text.startswith((" ", "\t")):
        out["phase"] = text.strip().rstrip("…").rstrip(".").strip()
    if m := _BEST.search(text):
        value = _number(m.group(1))
        if value is not None:
            out["best"] = value
    if m := _BOUND.search(text):
        value = _number(m.group(1))
        if value is not None:
            out["bound"] = value
    return out
