"""Work that spans nodes: picking one (``--node-ip``), running a command on all of them
(``--all-nodes``), and start/stop commands in the right order on the head and the workers.

A node that cannot be reached is reported with the others rather than ending the whole
operation, so that stopping a cluster stops as much of it as it can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from jobwaiter.cluster.config import parse_host
from jobwaiter.cluster.control import control_script
from jobwaiter.cluster.providers.base import Node
from jobwaiter.errors import CommandError, TransportError, UsageError
from jobwaiter.jobs.request import JobRequest
from jobwaiter.jobs.result import StopReport
from jobwaiter.jobs.run import job_meta
from jobwaiter.records import new_name
from jobwaiter.sessions import launch_argv, launch_input
from jobwaiter.transport.base import CommandResult

if TYPE_CHECKING:
    from jobwaiter.cluster.cluster import Cluster

#: Threads for parallel work; ssh does the waiting, so this bounds processes, not CPU.
MAX_PARALLEL = 16


@dataclass(frozen=True)
class NodeRun:
    """What one command did on one node; without a result, ``error`` says why."""

    node: Node
    result: CommandResult | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok

    @property
    def status(self) -> str:
        if self.result is None:
            return f"unreachable: {self.error}"
        return f"exit status {self.result.exit_status}"

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "node": self.node.ip, "head": self.node.is_head,
            "outcome": "unreachable" if r is None else "succeeded" if r.ok else "failed",
            "exit_status": None if r is None else r.exit_status,
            "stdout": "" if r is None else r.stdout, "stderr": "" if r is None else r.stderr,
            "error": self.error,
        }  # fmt: skip


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
        return not self.failed and (self.stop is None or self.stop.ok is not False)

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": "succeeded" if self.ok else "failed",
                "nodes": [r.to_dict() for r in self.runs],
                "stop": None if self.stop is None else self.stop.to_dict()}


def find_node(nodes: Sequence[Node], address: str) -> Node:
    """The node written ``address`` in the config; a bare host also finds ``host:port``
    when only one node has that host."""
    exact = [n for n in nodes if n.ip == address]
    if exact:
        return exact[0]
    same_host = [n for n in nodes if _host(n.ip) == address]
    known = ", ".join(n.ip for n in nodes)
    if len(same_host) == 1:
        return same_host[0]
    if same_host:
        raise UsageError(f"--node-ip {address}: several nodes have this address; add the "
                         f"port ({known})")
    raise UsageError(f"--node-ip {address}: not a node of this cluster (nodes: {known})")


def _host(address: str) -> str:
    try:
        return parse_host(address)[0]
    except ValueError:
        return address


def run_each(
    nodes: Sequence[Node],
    action: Callable[[Node], CommandResult],
    *,
    parallel: bool = True,
) -> list[NodeRun]:
    """Run ``action`` for every node, in threads when ``parallel``. Returns the runs in the
    order of ``nodes``."""

    def one(node: Node) -> NodeRun:
        try:
            return NodeRun(node, action(node))
        except TransportError as exc:
            return NodeRun(node, error=str(exc))

    if not parallel or len(nodes) <= 1:
        return [one(node) for node in nodes]
    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(nodes)),
                              thread_name_prefix="jobwaiter-node")
    futures: list[Future[NodeRun]] = [pool.submit(one, node) for node in nodes]
    try:
        return [f.result() for f in futures]
    finally:
        # On Ctrl-C do not wait here for the other nodes' commands.
        pool.shutdown(wait=False, cancel_futures=True)


# -- start and stop ------------------------------------------------------------------------


def control_on_workers(
    workers: Sequence[Node], cluster: str, action: str, commands: list[str]
) -> list[NodeRun]:
    """Run the workers' start or stop ``commands`` through the idempotent control script, on
    every worker in parallel; no commands means no worker is contacted."""
    if not commands:
        return []

    def control(node: Node) -> CommandResult:
        # Each worker keeps its own state file: workers often share one (NFS) home directory.
        script = control_script(f"{cluster}.worker-{node.ip}", action, commands)
        return node.transport.run(["bash", "-c", script])

    return run_each(workers, control)


def done_lines(runs: Sequence[NodeRun]) -> list[str]:
    return [f"{r.node.id}: {r.result.stdout.strip()}" for r in runs if r.result is not None]


def raise_failed(runs: Sequence[NodeRun], what: str) -> None:
    """Raise CommandError for the first node whose command failed (TransportError if every
    failed node was unreachable), naming the other failed nodes too."""
    failed = [r for r in runs if not r.ok]
    if not failed:
        return
    first = next((r for r in failed if r.result is not None), None)
    others = [f"{r.node.ip}: {r.status}" for r in failed if r is not first]
    if first is None or first.result is None:
        raise TransportError(f"{what}: " + "; ".join(others))
    if others:
        what += " (also failed: " + "; ".join(others) + ")"
    raise CommandError(first.result, what)


# -- exec --all-nodes ----------------------------------------------------------------------


#: Receives each line of a node's output as it arrives: ``(node, "stdout" | "stderr", line)``.
NodeOutput = Callable[[Node, str, str], None]


def run_everywhere(
    cluster: Cluster,
    req: JobRequest,
    parallel: bool = True,
    on_line: NodeOutput | None = None,
) -> NodesResult:
    """Run ``req.command`` in the foreground on the head and every worker, each with its
    own job record; with ``req.stop``, stop the cluster afterwards unless a node's state is
    unknown. ``on_line`` gets every line of output as it arrives, from the nodes' threads."""
    nodes = [cluster.provider.head(), *cluster.workers]

    def launch(node: Node) -> CommandResult:
        name = new_name()
        # The stop, if any, is the whole cluster's, after every node: not this record's.
        meta = job_meta(name, replace(req, stop=False), cluster.name, all_nodes=True)
        argv = launch_argv(name, "foreground", "", "", tee=False, hold=False)
        stdin = launch_input(req.command_bytes(), meta, req.env_bytes())
        sink = None if on_line is None else partial(on_line, node)
        return node.transport.run(argv, input=stdin, output=sink)

    runs = run_each(nodes, launch, parallel=parallel)
    stop = _stop_after(cluster, runs) if req.stop else None
    return NodesResult(tuple(runs), stop)


def _stop_after(cluster: Cluster, runs: list[NodeRun]) -> StopReport:
    lost = [r.node.ip for r in runs if r.result is None]
    if lost:
        stop = StopReport.declined(f"the command's state is unknown on {', '.join(lost)}")
        cluster.reporter.warn(stop.detail)
        return stop
    cluster.reporter.phase(f"stopping cluster {cluster.name}")
    try:
        lines = cluster.stop()
    except (CommandError, TransportError) as exc:
        return StopReport(True, False, str(exc))
    return StopReport(True, True, "; ".join(lines))
