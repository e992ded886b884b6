"""Russian words that agree with a number, for everything the working group reads (the
solver's summaries here, the web application's pages through its `plural` filter)."""

from __future__ import annotations


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian plural: 1 школа, 2 школы, 5 школ (11–14: школ)."""
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
