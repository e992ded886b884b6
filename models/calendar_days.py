"""Months, date ranges and the working-day calendar: which days a session may fall on.

A day is *open* for consultations when it is inside the horizon, a weekday (Mon–Fri),
not a public holiday or a transferred day off of the region's country (`holidays`
package; working Saturdays stay unused), not in a blocked month and not in a school
vacation. A consultant's own days are the open days minus their `unavailable` ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import holidays as holidays_lib

Month = str
"""A month as the contract writes it: ``YYYY-MM``."""

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> Month | None:
    """``'2022-03'`` -> ``'2022-03'``; anything else -> None."""
    m = _MONTH_RE.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return f"{m.group(1)}-{m.group(2)}"


def month_of(day: date) -> Month:
    return f"{day.year:04d}-{day.month:02d}"


def month_first_day(month: Month) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def month_last_day(month: Month) -> date:
    first = month_first_day(month)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def months_between(start: date, end: date) -> list[Month]:
    """Every month touched by [start, end], in order."""
    out: list[Month] = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass(frozen=True, order=True)
class DateRange:
    """An inclusive range of dates."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @classmethod
    def of_month(cls, month: Month) -> DateRange:
        return cls(month_first_day(month), month_last_day(month))

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class WorkCalendar:
    """The open days of one instance (see module docstring)."""

    start: date
    end: date
    country: str
    blocked_months: tuple[Month, ...]
    vacations: tuple[DateRange, ...]

    @cached_property
    def public_holidays(self) -> dict[date, str]:
        years = list(range(self.start.year, self.end.year + 1))
        table = holidays_lib.country_holidays(self.country, years=years, language="ru")
        return dict(table.items())

    def closed_reason(self, day: date) -> str | None:
        """Why no session may be held on `day` (Russian), or None when the day is open."""
        if not self.start <= day <= self.end:
            return "вне горизонта планирования"
        if day.weekday() >= 5:
            return "выходной день"
        if day in self.public_holidays:
            return f"праздничный или нерабочий день ({self.public_holidays[day]})"
        if month_of(day) in self.blocked_months:
            return "месяц закрыт для консультаций"
        for vac in self.vacations:
            if day in vac:
                return f"школьные каникулы {vac.start:%d.%m}–{vac.end:%d.%m}"
        return None

    @cached_property
    def open_days(self) -> tuple[date, ...]:
        days = []
        day = self.start
        while day <= self.end:
            if self.closed_reason(day) is None:
                days.append(day)
            day += timedelta(days=1)
        return tuple(days)

    @cached_property
    def open_days_by_month(self) -> dict[Month, tuple[date, ...]]:
        out: dict[Month, list[date]] = {}
        for day in self.open_days:
            out.setdefault(month_of(day), []).append(day)
        return {m: tuple(days) for m, days in out.items()}

    @property
    def open_months(self) -> list[Month]:
        return list(self.open_days_by_month)

    def days_free_of(self, unavailable: tuple[DateRange, ...]) -> dict[Month, tuple[date, ...]]:
        """Open days by month minus the given unavailable ranges (months with none dropped)."""
        out: dict[Month, tuple[date, ...]] = {}
        for month, days in self.open_days_by_month.items():
            free = tuple(d for d in days if not any(d in r for r in unavailable))
            if free:
                out[month] = free
        return out
