"""Problems found in a person's input: where, what, and how bad. Rendered in Russian."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding. `row` is the row as the spreadsheet program numbers it (header = 1)."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    severity: Severity = "error"

    def render(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"строка {self.row}")
        if self.column:
            where.append(f"столбец «{self.column}»")
        head = ", ".join(where)
        value = f" (значение «{self.value}»)" if self.value is not None else ""
        return f"{head}: {self.message}{value}"


class InputError(Exception):
    """Raised with every problem at once when an input cannot be used."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def render_all(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    lines: list[str] = []
    if errors:
        lines.append(f"Ошибки ({len(errors)}):")
        lines += [f"  ✗ {p.render()}" for p in errors]
    if warnings:
        lines.append(f"Предупреждения ({len(warnings)}):")
        lines += [f"  ! {p.render()}" for p in warnings]
    return "\n".join(lines)
