"""The local provider: this machine is the head, and there are no workers."""

from __future__ import annotations

from jobwaiter.cluster.config import ClusterConfig
from jobwaiter.cluster.providers.base import Node
from jobwaiter.transport.frame import FramedTransport
from jobwaiter.transport.local import LocalTransport


class LocalProvider:
    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self._head = Node("head", "127.0.0.1", FramedTransport(LocalTransport("head")),
                          is_head=True)

    def head(self) -> Node:
        return self._head

    def workers(self) -> list[Node]:
        return []

    def close(self) -> None:
        self._head.transport.close()
