"""Which node (``--node-ip``), and the start commands of the workers."""

from __future__ import annotations

from collections.abc import Sequence

from jobwaiter.cluster.control import control_argv
from jobwaiter.errors import UsageError
from jobwaiter.jobs.nodes import NodeRun, run_each
from jobwaiter.transport.address import node_host
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.node import Node


def find_node(nodes: Sequence[Node], address: str) -> Node:
    """The node written ``address`` in the config; a bare host also finds ``host:port``
    when only one node has that host."""
    exact = [n for n in nodes if n.ip == address]
    if exact:
        return exact[0]
    same_host = [n for n in nodes if node_host(n.ip) == address]
    known = ", ".join(n.ip for n in nodes)
    if len(same_host) == 1:
        return same_host[0]
    if same_host:
        raise UsageError(f"--node-ip {address}: several nodes have this address; add the "
                         f"port ({known})")
    raise UsageError(f"--node-ip {address}: not a node of this cluster (nodes: {known})")


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
        return node.transport.run(control_argv(f"{cluster}.worker-{node.ip}", action,
                                               commands))

    return run_each(workers, control)
