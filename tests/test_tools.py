"""The developers' scripts find the shipped instances and still write instances we can load."""

from __future__ import annotations

from helpers import KUZBASS
from planner.inputs.validation import load_instance
from planner.tools import benchmark, synthetic


def test_the_tools_find_the_kuzbass_instance():
    assert synthetic.KUZBASS_DIR == KUZBASS
    assert benchmark.KUZBASS == KUZBASS
    assert (KUZBASS / "instance.toml").is_file()


def test_a_synthetic_instance_loads_with_the_contracts_columns(tmp_path):
    """`python -m planner.tools.synthetic make` writes a valid instance (it is made for 96 schools
    and more: with fewer consultants some topics have nobody to deliver them): 100 schools,
    consultants in proportion, the contract's columns (and the schools' remark column)."""
    folder = synthetic.make_instance(tmp_path / "syn", 100, seed=3)
    instance, _warnings = load_instance(folder)
    assert len(instance.schools) == 100
    assert len(instance.consultants) >= 16
    header = (folder / "schools.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.split(",") == ["id", "name", "municipality", "risks", "priority", "verified_on", "curator", "note"]


def test_a_rostov_like_classic_instance(tmp_path):
    """The benchmark's classic case: Rostov's 55 municipalities (shipped), a mobile group of a
    chosen size whose homes are all Rostov municipalities, the programme's settings off and
    no curators appointed yet."""
    folder = synthetic.make_instance(tmp_path / "rostov", 60, seed=1, n_consultants=39, region="rostov",
                                     classic=True, curators=False)
    instance, _warnings = load_instance(folder)
    assert len(instance.municipalities) == 55
    assert "город Ростов-на-Дону" in {m.name for m in instance.municipalities.values()}
    assert len(instance.consultants) == 39
    assert {c.municipality for c in instance.consultants.values()} <= set(instance.municipalities)
    assert all(s.curator is None for s in instance.schools.values())
    assert instance.settings.region.timezone == "Europe/Moscow"
    rules, weights = instance.settings.rules, instance.settings.weights
    assert (rules.hold_every_topic, rules.max_gap_months, weights.relevant_attendance) == (False, 0, 0)
    assert rules.school_max_sessions_per_month == 2  # the template's other settings are kept


def test_the_benchmark_plans_kuzbass_with_the_commands_default_limit():
    from planner.tools.benchmark import DEFAULT_SOLVE
    from planner.workflows.solving import DEFAULT_TIME_LIMIT

    assert DEFAULT_SOLVE == DEFAULT_TIME_LIMIT
