"""``exec --all-nodes``: one foreground command on every node, each with its own record, then
the cluster's stop if one was asked for and every node's outcome is known."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from jobwaiter.jobs.nodes import NodeRun, run_each
from jobwaiter.jobs.plan import JobPlan
from jobwaiter.jobs.request import JobRequest
from jobwaiter.jobs.result import JobResult, Outcome, StopReport
from jobwaiter.jobs.site import JobSite
from jobwaiter.jobs.stop import settle
from jobwaiter.records import new_name
from jobwaiter.sessions import launch_argv, launch_input
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.node import Node

#: Receives each line of a node's output as it arrives: ``(node, "stdout" | "stderr", line)``.
NodeOutput = Callable[[Node, str, str], None]


@dataclass(frozen=True)
class NodesResult:
    """``exec --all-nodes``: one run per node, head first, and the stop if one was asked."""

    runs: tuple[NodeRun, ...]
    stop: StopReport | None = None

    @property
    def failed(self) -> list[NodeRun]:
        return [r for r in self.runs if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and (self.stop is None
                                    or self.stop.state not in ("failed", "interrupted"))

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": "succeeded" if self.ok else "failed",
                "nodes": [r.to_dict() for r in self.runs],
                "stop": None if self.stop is None else self.stop.to_dict()}


def run_everywhere(
    site: JobSite,
    req: JobRequest,
    parallel: bool = True,
    on_line: NodeOutput | None = None,
) -> NodesResult:
    """Run ``req.command`` in the foreground on every node of ``site``; with ``req.stop``,
    stop the cluster afterwards unless a node's state is unknown. ``on_line`` gets every line
    of output as it arrives, from the nodes' threads."""

    def launch(node: Node) -> CommandResult:
        # Each node's record is its own; the stop, if any, is the whole cluster's, after
        # every node, and not part of any record.
        plan = JobPlan(name=new_name(), cluster=site.cluster, node=node.id,
                       command=req.command)
        meta = json.dumps(plan.meta(time.time(), all_nodes=True))
        argv = launch_argv(plan.name, "foreground", "", "", tee=False, hold=False)
        stdin = launch_input(req.command_bytes(), meta, req.env_bytes())
        sink = None if on_line is None else partial(on_line, node)
        return node.transport.run(argv, input=stdin, output=sink)

    runs = run_each(site.nodes, launch, parallel=parallel)
    stop = _stop_after(site, runs) if req.stop else None
    return NodesResult(tuple(runs), stop)


def _stop_after(site: JobSite, runs: list[NodeRun]) -> StopReport:
    lost = [r.node.ip for r in runs if r.result is None]
    if lost:
        stop = StopReport.declined(f"the command's state is unknown on {', '.join(lost)}")
        site.reporter.warn(stop.detail)
        return stop
    # The commands have ended everywhere: the stop follows the rule of a job's --stop
    # (deferred while other jobs run), without a job record to claim it in.
    ended = JobResult(Outcome.SUCCEEDED, "", ended_at=time.time())
    stopped = settle(site, site.stop_plan(), ended, "exec --all-nodes", per_job=False)
    return stopped.stop or StopReport.declined("no stop")
