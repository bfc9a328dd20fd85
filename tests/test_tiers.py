"""The suite's tiers (tests/tiers.py): each test is marked by what it uses, the engine
modules named there exist, and every module that starts an engine is named."""

from __future__ import annotations

import re
from pathlib import Path

import tiers
from tiers import ENGINE_FIXTURES, ENGINE_MODULES, FAST, TESTS

ROOT = TESTS.parent


def test_a_test_is_marked_by_its_fixtures_and_module() -> None:
    here = TESTS / "test_x.py"
    assert tiers.tiers(here, ["cli", "tmp_path"]) == set()
    assert tiers.tiers(here, ["env", "cli"]) == {"head"}
    assert tiers.tiers(here, ["ssh", "farm", "env"]) == {"head", "ssh"}
    assert tiers.tiers(TESTS / "ssh" / "test_x.py", []) == {"ssh"}
    assert tiers.tiers(TESTS / "test_ray_cluster.py", ["ray"]) == {"engine"}
    assert tiers.tiers(TESTS / "ssh" / "test_ssh_spark.py", ["spark", "farm"]) == {
        "ssh", "engine"}
    assert tiers.tiers(TESTS / "test_cloudtik_examples.py", ["yarn", "env"]) == {
        "head", "engine"}
    assert tiers.tiers(here, ["yarn"]) == set(), "a fixture of that name elsewhere"


def _module(name: str) -> Path:
    (path,) = [p for p in (TESTS / name, TESTS / "ssh" / name) if p.exists()]
    return path


def test_the_engine_modules_and_fixtures_named_exist() -> None:
    for name in ENGINE_MODULES:
        _module(name)
    for name, fixture in ENGINE_FIXTURES:
        assert re.search(rf"^def {fixture}\(", _module(name).read_text(), re.M), (name, fixture)


def test_every_module_that_starts_an_engine_is_in_the_engine_tier() -> None:
    named = ENGINE_MODULES | {name for name, _ in ENGINE_FIXTURES}
    starts = re.compile(r'importorskip\("(pyspark|ray)"|"slurmctld"')
    found = {p.name for p in TESTS.rglob("test_*.py")
             if p.name != Path(__file__).name and starts.search(p.read_text())}
    assert found, "no engine module found: the pattern is out of date"
    assert found <= named, f"start an engine but are not in tests/tiers.py: {found - named}"


def test_the_makefile_and_pyproject_name_the_same_tiers() -> None:
    (fast,) = re.findall(r"^FAST_TIER := (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert fast == FAST
    pyproject = (ROOT / "pyproject.toml").read_text()
    for mark in ("head", "ssh", "engine"):
        assert re.search(rf'^    "{mark}: ', pyproject, re.M), mark
