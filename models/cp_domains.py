"""Fix some CP-SAT variables for one solve, without copying the model.

`model.clone()` of a 1,000-school model costs hundreds of MB; narrowing the domains of the
variables in place and restoring them afterwards costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from ortools.sat.python import cp_model


def allows(model: cp_model.CpModel, index: int, value: int) -> bool:
    """Is value in the current domain of variable `index`?"""
    d = list(model.proto.variables[index].domain)
    return any(d[k] <= value <= d[k + 1] for k in range(0, len(d), 2))


@contextmanager
def fixed_domains(model: cp_model.CpModel, values: Mapping[int, int]) -> Iterator[cp_model.CpModel]:
    """Within the block, variable index i may only take values[i] (which must be in its domain)."""
    bad = [i for i, value in values.items() if not allows(model, i, value)]
    if bad:
        raise ValueError(f"values outside the domains of variables {bad[:5]}")
    variables = model.proto.variables
    saved = {i: list(variables[i].domain) for i in values}
    try:
        for i, value in values.items():
            variables[i].domain.clear()
            variables[i].domain.extend([value, value])
        yield model
    finally:
        for i, domain in saved.items():
            variables[i].domain.clear()
            variables[i].domain.extend(domain)
