"""Work on several nodes at once: one ``NodeRun`` per node, in parallel threads.

A node that cannot be reached is reported with the others rather than ending the whole
operation, so that stopping a cluster stops as much of it as it can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from jobwaiter.errors import CommandError, TransportError
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.node import Node

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
            "node": self.node.ip,
            "head": self.node.is_head,
            "outcome": "unreachable" if r is None else "succeeded" if r.ok else "failed",
            "exit_status": None if r is None else r.exit_status,
            "stdout": "" if r is None else r.stdout,
            "stderr": "" if r is None else r.stderr,
            "error": self.error,
        }


T = TypeVar("T")
R = TypeVar("R")


def for_each(items: Sequence[T], work: Callable[[T], R], *, parallel: bool = True) -> list[R]:
    """``work(item)`` for every item (one per node), in threads when ``parallel``; results in
    the order of ``items``. ``work`` must not raise for what one node does wrong."""
    if not parallel or len(items) <= 1:
        return [work(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(items)),
                              thread_name_prefix="jobwaiter-node")
    futures: list[Future[R]] = [pool.submit(work, item) for item in items]
    try:
        return [f.result() for f in futures]
    finally:
        # On Ctrl-C do not wait here for the other nodes' commands.
        pool.shutdown(wait=False, cancel_futures=True)


def run_each(
    nodes: Sequence[Node],
    action: Callable[[Node], CommandResult],
    *,
    parallel: bool = True,
) -> list[NodeRun]:
    """Run ``action`` for every node; a node that cannot be reached is a run without a
    result."""

    def one(node: Node) -> NodeRun:
        try:
            return NodeRun(node, action(node))
        except TransportError as exc:
            return NodeRun(node, error=str(exc))

    return for_each(nodes, one, parallel=parallel)


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
