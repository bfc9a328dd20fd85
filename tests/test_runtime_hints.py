"""Runtime waiters (spark, ray, slurm, plugins) exist only for a config that names their
runtime: naming one without it says how to get it, and `waiters` says they need a CONFIG."""

from __future__ import annotations

import json
import subprocess

import pytest

from jobwaiter.errors import SpecError
from jobwaiter.plugins import runtime_names
from jobwaiter.waiters.registry import resolve
from jobwaiter.waiters.session import TmuxWaiter

PLUGIN = '''
from dataclasses import dataclass
from jobwaiter.runtimes import Runtime

@dataclass(frozen=True)
class QueueSettings:
    slots: int = 1

class QueueRuntime(Runtime):
    name = "queue"
    config_section = QueueSettings
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A third-party runtime installed the usual way: a module and its dist-info."""
    (tmp_path / "jw_queue_hint.py").write_text(PLUGIN)
    info = tmp_path / "jw_queue_hint-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jw-queue-hint\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[jobwaiter.runtimes]\nqueue = jw_queue_hint:QueueRuntime\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def hint(name: str) -> str:
    return (f"jobwaiter: error: the {name} waiter needs the {name} runtime: add {name} to "
            "runtime.types in the cluster config\n")


def tmux_sessions() -> str:
    ls = subprocess.run(["tmux", "ls"], capture_output=True, text=True, check=False)
    return ls.stdout


@pytest.mark.parametrize(
    ("spec", "name"),
    [("spark", "spark"), ("spark[all]", "spark"), ("chain[tmux, ray]", "ray"),
     ("chain[tmux, chain[slurm]]", "slurm")],
)
def test_a_runtime_waiter_without_its_runtime_says_how_to_get_it(env, cli, spec: str,  # type: ignore[no-untyped-def]
                                                                 name: str) -> None:
    r = cli("exec", str(env.config), "touch ~/ran", "--tmux", f"--job-waiter={spec}",
            "--start", "--stop", "-y")
    assert r.code == 2
    assert r.err == hint(name)
    # Before anything ran: no start, no job, no session, no stop.
    assert not (env.home / "ran").exists()
    assert not (env.home / "cluster.log").exists()
    assert not env.jobs.exists()
    assert tmux_sessions() == ""


def test_submit_says_it_too(env, cli) -> None:  # type: ignore[no-untyped-def]
    (env.home / "job.sh").write_text("touch ~/ran\n")
    r = cli("submit", "--screen", "--job-waiter=ray", str(env.config), "job.sh")
    assert r.code == 2 and r.err == hint("ray")
    assert not (env.home / "user" / "jobs" / "job.sh").exists()
    assert not (env.home / "ran").exists()


def test_a_plugin_runtime_gets_the_same_hint(env, cli, plugin) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=chain[tmux, queue]")
    assert r.code == 2 and r.err == hint("queue")


def test_a_name_that_is_no_runtime_stays_unknown(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=sprak")
    assert r.code == 2
    assert "unknown job waiter 'sprak'; available:" in r.err
    assert "needs the" not in r.err


def test_resolve_only_hints_at_runtimes_it_is_told_of() -> None:
    with pytest.raises(SpecError, match="unknown job waiter 'spark'"):
        resolve("spark", {})
    with pytest.raises(SpecError) as info:
        resolve("chain[tmux, spark]", {}, known_runtimes=["spark", "ray"])
    assert str(info.value) == ("the spark waiter needs the spark runtime: add spark to "
                               "runtime.types in the cluster config")
    with pytest.raises(SpecError, match="unknown job waiter 'flink'"):
        resolve("flink", {}, known_runtimes=["spark"])
    # A waiter of that name that exists (here: a configured runtime's) is used, not refused.
    (waiter,) = resolve("spark", {}, {"spark": TmuxWaiter}, known_runtimes=["spark"])
    assert isinstance(waiter, TmuxWaiter)


# -- jobwaiter waiters ---------------------------------------------------------------------------


def test_waiters_without_config_says_runtime_waiters_need_one(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("waiters")
    assert r.code == 0
    names = ", ".join(runtime_names())
    assert names == "ray, slurm, spark, yarn"
    text = " ".join(r.out.split())
    assert (f"Runtimes installed: {names}. Their waiters are listed for a CONFIG that names "
            "them in runtime.types: jobwaiter waiters cluster.yaml") in text
    assert r.out.endswith("\n  jobwaiter waiters cluster.yaml\n")


def test_waiters_lists_plugin_runtimes_in_the_hint(env, cli, plugin) -> None:  # type: ignore[no-untyped-def]
    r = cli("waiters")
    assert "Runtimes installed: queue, ray, slurm, spark, yarn." in " ".join(r.out.split())


def test_waiters_with_config_names_the_runtimes_it_lacks(env, cli) -> None:  # type: ignore[no-untyped-def]
    cfg = env.write_config("cluster_name: t\nprovider: {type: local}\n"
                           "runtime: {types: [spark]}\n", "spark.yaml")
    r = cli("waiters", str(cfg))
    assert r.code == 0
    assert any(line.startswith("spark ") for line in r.out.splitlines())
    text = " ".join(r.out.split())
    assert ("Runtimes installed but not in this config's runtime.types: ray, slurm, yarn. Add one "
            "there to use its waiters.") in text


@pytest.mark.parametrize("with_config", [False, True])
def test_waiters_json_is_one_array_without_the_hint(env, cli, with_config: bool) -> None:  # type: ignore[no-untyped-def]
    argv = ["waiters", "--json"] + ([str(env.config)] if with_config else [])
    r = cli(*argv)
    assert r.code == 0
    data = json.loads(r.out)
    assert [row["name"] for row in data] == ["chain", "screen", "tmux"]
    assert "Runtimes installed" not in r.out and r.err == ""
