"""Where a job is watched: one rule (``jobs.watch.decide``) serves a run and ``--dry-run``,
so what a dry run says is what the run does."""

from __future__ import annotations

from typing import Any

import pytest

from jobwaiter.errors import UsageError
from jobwaiter.jobs import watch
from jobwaiter.jobs.plan import NodeStop, StopCommand, StopPlan, plan_job
from jobwaiter.jobs.request import JobRequest
from jobwaiter.jobs.site import JobSite
from jobwaiter.transport.mock import MockTransport
from jobwaiter.transport.node import Node

WITH_WORKER = StopPlan("c", NodeStop("head"), (NodeStop("w1", (StopCommand(("stop",)),)),))


class Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def phase(self, *parts: Any) -> None: ...

    def progress(self, message: str, elapsed: float) -> None: ...

    def warn(self, message: str) -> None:
        self.lines.append(message)


def _site(config: dict[str, Any] | None = None, stop: StopPlan | None = None,
          on_worker: bool = False) -> JobSite:
    head = Node("head", "10.0.0.1", MockTransport(lambda a, i: (0, "")), is_head=True)
    worker = Node("w1", "10.0.0.2", MockTransport(lambda a, i: (0, ""), "w1"))
    plan = stop or StopPlan("c", NodeStop("head"))
    return JobSite(cluster="c", node=worker if on_worker else head, nodes=(head, worker),
                   config=config or {}, runtime_waiters={}, stop_plan=lambda: plan,
                   reporter=Warnings())


CASES = [
    # (site options, request options, where, why contains)
    ({}, {"tmux": True, "job_waiter": "tmux"}, "auto", ""),
    ({}, {"tmux": True, "job_waiter": "tmux", "watch": "head"}, "head", ""),
    ({"config": {"watch": "client"}}, {"tmux": True, "job_waiter": "tmux"}, "client",
     "--watch client"),
    ({}, {"tmux": True}, "client", "nothing to watch"),
    ({}, {"stop": True}, "client", "a foreground job"),
    ({"on_worker": True}, {"tmux": True, "job_waiter": "tmux"}, "client", "on a worker"),
    ({"on_worker": True}, {"tmux": True, "job_waiter": "tmux", "watch": "head"}, "refused",
     "the head cannot watch this job: a job on a worker"),
    # Workers without head_to_workers: the head gets a key of its own when the watch is set
    # up (asked then; test_a_declined_key_...).
    ({"stop": WITH_WORKER}, {"tmux": True, "stop": True}, "auto", ""),
    ({"stop": WITH_WORKER, "config": {"head_to_workers": {"head_ssh": True}}},
     {"tmux": True, "stop": True}, "auto", ""),
    ({"stop": WITH_WORKER}, {"tmux": True, "stop": True, "detach": True}, "auto", ""),
    ({}, {"detach": True}, "refused", "--detach needs --tmux or --screen"),
    ({}, {"tmux": True, "job_waiter": "tmux", "detach": True, "watch": "client"}, "refused",
     "--detach needs the head's watch"),
    ({}, {"tmux": True, "max_runtime": 60.0}, "head", ""),
    ({}, {"max_runtime": 60.0}, "refused", "--max-runtime run on the head's watch"),
    ({}, {"tmux": True, "notify": ["http://127.0.0.1:9/x"], "watch": "client"}, "refused",
     "--notify run on the head's watch, and the head cannot watch this job: --watch client"),
]


@pytest.mark.parametrize("site_options, options, where, why", CASES)
def test_one_rule_for_a_run_and_a_dry_run(site_options: dict[str, Any],
                                          options: dict[str, Any], where: str,
                                          why: str) -> None:
    site = _site(**site_options)
    req = JobRequest.of("make", **options)
    plan = plan_job(site, req)
    decision = watch.decide(site, plan, req)
    assert (decision.where, why in decision.why) == (where, True), decision
    reporter = site.reporter
    assert isinstance(reporter, Warnings)
    if where == "refused":
        with pytest.raises(UsageError, match=why.replace("(", r"\(")):
            watch.check_request(site, plan, req)
        with pytest.raises(UsageError):
            watch.where(site, plan, req)
        return
    assert watch.check_request(site, plan, req) == where
    # The client warns only when it watches a job the head was asked to (auto).
    assert bool(reporter.lines) == decision.warn
    dry = watch.where(site, plan, req)
    assert dry.watch == ("head" if where in ("head", "auto") else "client")


def test_a_declined_key_for_the_workers_leaves_the_client_watching_or_refuses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site(stop=WITH_WORKER)  # no head_to_workers; confirm answers no
    plan = plan_job(site, JobRequest.of("x", tmux=True, stop=True))
    monkeypatch.setattr(watch, "ship", lambda s: "lib")  # no head to ship to here
    assert watch.setup(site, plan, "auto") is None
    warned = site.reporter.lines  # type: ignore[attr-defined]
    assert any("the head needs a way to the workers: set head_to_workers" in w
               for w in warned), warned
    with pytest.raises(UsageError, match="the head cannot watch this job: the head needs "
                                         "a way to the workers"):
        watch.setup(site, plan, "head")
