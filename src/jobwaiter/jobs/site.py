"""What ``jobs`` is given of a cluster: the ``JobSite``, a narrow context.

The cluster layer builds one per job (``Cluster.site``); nothing in ``jobs`` calls back into
the cluster. Unit tests build one from mock transports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobwaiter.jobs.events import NullReporter, Reporter
from jobwaiter.transport.base import Transport
from jobwaiter.transport.node import Node
from jobwaiter.waiters.base import Waiter

if TYPE_CHECKING:
    from jobwaiter.jobs.plan import StopPlan


def _never(question: str) -> bool:
    return False


@dataclass(frozen=True)
class JobSite:
    #: The cluster's name.
    cluster: str
    #: The node the job runs on: the head, or a worker with ``--node-ip``.
    node: Node
    #: Every node of the cluster, the head first.
    nodes: tuple[Node, ...]
    #: The validated config as plain data: what waiters and runtimes are given.
    config: Mapping[str, Any]
    #: Waiters that the cluster's runtimes provide, by the name ``--job-waiter`` uses.
    runtime_waiters: Mapping[str, type[Waiter]]
    #: How the whole cluster is stopped (built only when a stop is asked for).
    stop_plan: Callable[[], StopPlan]
    reporter: Reporter = field(default_factory=NullReporter)
    #: How to ask the user a yes/no question; without a way to ask, the answer is no.
    confirm: Callable[[str], bool] = _never
    #: This process runs on the job's node (the head's watch).
    local: bool = False

    @property
    def head(self) -> Transport:
        """The transport of the job's node (the head unless ``--node-ip``)."""
        return self.node.transport

    @property
    def where(self) -> str:
        return "the head" if self.node.is_head else self.node.ip

    def transports(self) -> dict[str, Transport]:
        return {n.id: n.transport for n in self.nodes}
