"""The job plan: built once before anything runs, plain data (JSON round trip), runnable when
read back (its stop plan is run by jobs.transaction: tests/test_stop_transaction.py). Unit
tests use a JobSite of mock transports, the others a real tmux job on the local provider."""

from __future__ import annotations

import json

import pytest

from jobwaiter import Cluster, Outcome
from jobwaiter.errors import UsageError
from jobwaiter.jobs.plan import (
    JobPlan,
    NodeStop,
    StopCommand,
    StopPlan,
    plan_job,
    with_waiters,
)
from jobwaiter.jobs.request import JobRequest
from jobwaiter.jobs.run import run_job
from jobwaiter.jobs.site import JobSite
from jobwaiter.transport.mock import MockTransport
from jobwaiter.transport.node import Node


def _site(nodes: list[Node], stop_plan: StopPlan | None = None) -> JobSite:
    plan = stop_plan or StopPlan("c", NodeStop("head"))
    return JobSite(cluster="c", node=nodes[0], nodes=tuple(nodes), config={},
                   runtime_waiters={}, stop_plan=lambda: plan)


def _node(node_id: str, handler, is_head: bool = False) -> Node:  # type: ignore[no-untyped-def]
    return Node(node_id, node_id, MockTransport(handler, node_id), is_head=is_head)


def test_the_plan_puts_the_session_waiter_first_and_logs() -> None:
    site = _site([_node("head", lambda a, i: (0, ""), True)])
    plan = plan_job(site, JobRequest.of("make", tmux=True, job_waiter="chain[tmux, tmux]"))
    assert [s.spec for s in plan.waiters] == ["tmux", "tmux"]
    assert plan.log == f"user/logs/{plan.name}.log" and not plan.hold
    held = plan_job(site, JobRequest.of("make", screen=True))
    assert held.hold and held.waiters == () and held.log is None


def test_a_bad_spec_or_a_session_mismatch_fails_before_anything_runs() -> None:
    calls: list[tuple[str, ...]] = []
    site = _site([_node("head", lambda a, i: calls.append(a) or (0, ""), True)])
    with pytest.raises(UsageError, match="needs --tmux"):
        plan_job(site, JobRequest.of("x", screen=True, job_waiter="tmux"))
    with pytest.raises(UsageError, match="unknown job waiter"):
        plan_job(site, JobRequest.of("x", job_waiter="nosuch"))
    assert calls == []


def test_a_plan_round_trips_through_json() -> None:
    stop = StopPlan("c", NodeStop("head", (StopCommand(("bash", "-c", "x y", "jw"), ""),)),
                    (NodeStop("10.0.0.2", (StopCommand(("stop-spark",), "spark"),)),))
    site = _site([_node("head", lambda a, i: (0, ""), True)], stop)
    plan = plan_job(site, JobRequest.of("echo 'a b' \"$HOME\"", tmux=True, job_waiter="tmux",
                                        stop=True, job_timeout=90))
    text = json.dumps(plan.to_dict())
    again = JobPlan.from_dict(json.loads(text))
    assert again == plan
    assert again.stop == stop and again.timeout == 90.0
    assert [s.waiter for s in again.waiters] == [None]
    assert "--env" not in text


def test_a_plan_of_another_schema_is_refused() -> None:
    site = _site([_node("head", lambda a, i: (0, ""), True)])
    data = plan_job(site, JobRequest.of("true")).to_dict()
    with pytest.raises(ValueError, match="schema"):
        JobPlan.from_dict({**data, "schema": 99})


def test_env_values_are_not_part_of_the_plan() -> None:
    site = _site([_node("head", lambda a, i: (0, ""), True)])
    plan = plan_job(site, JobRequest.of("true", env=["TOKEN=s3cret"]))
    assert "s3cret" not in json.dumps(plan.to_dict())


# -- a real job: the plan read back from JSON runs as the plan made here ---------------------


def test_a_plan_read_back_from_json_runs_a_real_job_and_its_stop(env) -> None:  # type: ignore[no-untyped-def]
    with Cluster(env.config) as cluster:
        req = JobRequest.of("sleep 0.2; exit 3", tmux=True, job_waiter="tmux", stop=True)
        site = cluster.site()
        made = cluster.plan(req)
        plan = with_waiters(JobPlan.from_dict(json.loads(json.dumps(made.to_dict()))), site)
        assert plan == made and all(s.waiter is not None for s in plan.waiters)
        result = run_job(site, req, plan)
    assert (result.outcome, result.exit_status) == (Outcome.FAILED, 3), result
    assert result.stop is not None and result.stop.ok, result.stop
    assert (env.home / "cluster.log").read_text().splitlines() == ["stopped"]


def test_a_user_waiter_is_built_once_per_job(env, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "countwaiter.py").write_text(
        "import jobwaiter\n"
        "built = []\n"
        "class Count(jobwaiter.JobWaiter):\n"
        "    def __init__(self, config):\n"
        "        built.append(time_now())\n"
        "    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):\n"
        "        pass\n"
        "def time_now():\n"
        "    return len(built)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import countwaiter  # type: ignore[import-not-found]

    with Cluster(env.config) as cluster:
        result = cluster.exec("true", tmux=True, job_waiter="chain[tmux, countwaiter.Count]")
    assert result.outcome is Outcome.SUCCEEDED, result
    assert len(countwaiter.built) == 1

