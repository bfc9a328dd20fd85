"""The suite's tiers: markers set by conftest.py from what a test uses, never by hand, so a
new test lands in its tier by itself. ``make test-fast`` runs the tests with none of them.

- ``head``: a real head, the private HOME of the ``env`` fixture (tmux, screen, jobs on the
  local provider);
- ``ssh``: the session's private sshd farm (tests/ssh);
- ``engine``: a real Spark, Ray or Slurm: the modules that start one cluster for all their
  tests, and the fixtures that run a real engine for one test.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

TESTS = Path(__file__).resolve().parent
HEAD_FIXTURES = frozenset({"env"})
SSH_FIXTURES = frozenset({"farm"})
SSH_TESTS = TESTS / "ssh"
ENGINE_MODULES = frozenset({"test_spark_cluster.py", "test_ray_cluster.py", "test_yarn_cluster.py",
                            "test_slurm_cluster.py", "test_ssh_spark.py"})
#: (module, fixture): ``yarn`` of the CloudTik examples runs pyspark's spark-submit.
ENGINE_FIXTURES = frozenset({("test_cloudtik_examples.py", "yarn")})
#: The fast tier's marker expression (the Makefile's FAST_TIER says the same).
FAST = "not head and not ssh and not engine"


def tiers(path: Path, fixtures: Iterable[str]) -> set[str]:
    """The markers of a test in the module at ``path`` that uses ``fixtures`` (all of them,
    those it asks for and those they ask for)."""
    used = set(fixtures)
    marks = set()
    if used & HEAD_FIXTURES:
        marks.add("head")
    if used & SSH_FIXTURES or path.resolve().parent == SSH_TESTS:
        marks.add("ssh")
    if path.name in ENGINE_MODULES or any((path.name, f) in ENGINE_FIXTURES for f in used):
        marks.add("engine")
    return marks
