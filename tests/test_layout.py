"""The house rules: which part of the code may import which (read from the source with `ast`).

Every `import` counts, wherever it is written: at the top of a module, inside a function (the
lazy imports that keep a command fast), under `if TYPE_CHECKING:`, and
`importlib.import_module("…")` with a literal name. The rooms, from the bottom up:

    models            the domain and the CP-SAT models: no files, no application
    planner.inputs    instance files → validated Instance
    planner.exports   (instance, plan) → plan.json, calendars, documents
    planner.calendar_sync   calendars on a CalDAV server
    planner.workflows the jobs: solve, replan, validate, compare
    front doors       planner.cli, planner.web, planner.batch, planner.tools

A module imports only from its own room and the rooms below it; a front door never imports
another front door.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "planner")

FRONT_DOORS = ("planner.cli", "planner.web", "planner.batch", "planner.tools")
ROOMS = {  # room → its height in the house: a module imports only from rooms at its height or below
    "models": 0,
    "planner.inputs": 1,
    "planner.exports": 2,
    "planner.calendar_sync": 3,
    "planner.workflows": 4,
    **{door: 5 for door in FRONT_DOORS},
}
HOUSE = "planner"  # the package itself: only a docstring


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}


def imported_names(path: Path, name: str, known: set[str]) -> set[str]:
    """Every project module `path` imports, wherever the import is written."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(module: str) -> None:
        if module.split(".")[0] in PACKAGES:
            found.add(module)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..inputs import y
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                # `from planner.cli import solve` imports the module planner.cli.solve
                sub = f"{module}.{alias.name}"
                add(sub if sub in known else module)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
                   or isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))):
            add(node.args[0].value)
    found.discard(name)
    return found


def import_graph(root: Path = ROOT) -> nx.DiGraph:
    modules = project_modules(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in imported_names(path, name, set(modules)):
            graph.add_edge(name, target)
    return graph


def room_of(module: str) -> str | None:
    """The longest room name that is `module` or a package above it."""
    rooms = [r for r in ROOMS if module == r or module.startswith(r + ".")]
    return max(rooms, key=len) if rooms else None


# --- the rules -----------------------------------------------------------------------------


def models_import_nothing_from_planner(graph: nx.DiGraph) -> list[str]:
    return [f"{a} imports {b}" for a, b in graph.edges if room_of(a) == "models" and b.split(".")[0] == "planner"]


def import_cycles(graph: nx.DiGraph) -> list[str]:
    return [" → ".join([*cycle, cycle[0]]) for cycle in nx.simple_cycles(graph)]


def front_doors_importing_each_other(graph: nx.DiGraph) -> list[str]:
    return [f"{a} imports {b}" for a, b in graph.edges
            if room_of(a) in FRONT_DOORS and room_of(b) in FRONT_DOORS and room_of(a) != room_of(b)]


def exports_importing_workflows(graph: nx.DiGraph) -> list[str]:
    return [f"{a} imports {b}" for a, b in graph.edges
            if room_of(a) == "planner.exports" and room_of(b) == "planner.workflows"]


def imports_from_above(graph: nx.DiGraph) -> list[str]:
    return [f"{a} ({room_of(a)}) imports {b} ({room_of(b)})" for a, b in graph.edges
            if room_of(a) and room_of(b) and ROOMS[room_of(b)] > ROOMS[room_of(a)]]


def modules_outside_the_rooms(graph: nx.DiGraph) -> list[str]:
    return sorted(m for m in graph.nodes if room_of(m) is None and m != HOUSE)


# --- the tests -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph()


def test_the_graph_sees_every_kind_of_import(graph):
    """A top-level import, one inside a function, a package's `from … import module`, and the
    arrows the rules depend on: if these are missed the rules below check nothing."""
    assert graph.has_edge("models.solve", "models.consultation")  # top level
    assert graph.has_edge("planner.workflows.solving", "planner.inputs.validation")  # inside `load`
    assert graph.has_edge("planner.cli.main", "planner.cli.solve")  # from planner.cli import solve
    assert graph.has_edge("planner.cli.solve", "planner.workflows.solving")
    assert graph.number_of_nodes() > 40


@pytest.mark.parametrize("rule", [
    models_import_nothing_from_planner,
    import_cycles,
    front_doors_importing_each_other,
    exports_importing_workflows,
    imports_from_above,
], ids=lambda rule: rule.__name__)
def test_rule(graph, rule):
    broken = rule(graph)
    assert not broken, "\n".join(broken)


def test_every_module_lives_in_a_room(graph):
    """A new part of the application goes into a room (or becomes a new one, listed in ROOMS
    with its height), so that the rules above cover it."""
    broken = modules_outside_the_rooms(graph)
    assert not broken, "\n".join(broken)


# --- the rules catch what they are meant to catch ------------------------------------------


def _copy_with(tmp_path: Path, extra: dict[str, str]) -> Path:
    """The project's modules copied to tmp_path, with `extra` lines appended to some of them."""
    for name, path in project_modules().items():
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
        target.write_text(text + extra.get(name, ""), encoding="utf-8")
    return tmp_path


def test_the_rules_catch_a_model_that_imports_the_application(tmp_path):
    root = _copy_with(tmp_path, {"models.score": "\n\ndef _f():\n    from planner.cli import main\n"})
    graph = import_graph(root)
    assert models_import_nothing_from_planner(graph) == ["models.score imports planner.cli.main"]
    assert "models.score (models) imports planner.cli.main (planner.cli)" in imports_from_above(graph)


def test_the_rules_catch_a_cycle_a_door_to_door_import_and_an_export_using_a_workflow(tmp_path):
    root = _copy_with(tmp_path, {
        "models.greedy": "\nif TYPE_CHECKING:\n    from models.solve import SolveReport\n",
        "planner.tools.benchmark": "\nimport planner.cli.solve\n",
        "planner.exports.calendars": "\nfrom ..workflows import solving\n",
    })
    graph = import_graph(root)
    assert any(set(c.split(" → ")) == {"models.solve", "models.greedy"} for c in import_cycles(graph))
    assert front_doors_importing_each_other(graph) == ["planner.tools.benchmark imports planner.cli.solve"]
    assert exports_importing_workflows(graph) == ["planner.exports.calendars imports planner.workflows.solving"]


def test_the_readme_is_what_a_newcomer_reads_in_two_minutes():
    # Issue 19: under 150 lines; the model, replanning, calendars and benchmark live in docs/.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 150
    for page in ("docs/model.md", "docs/replanning.md", "docs/calendars.md", "docs/benchmark.md"):
        assert f"]({page}" in readme, page
