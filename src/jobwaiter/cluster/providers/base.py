"""What a provider gives the rest of jobwaiter: the head and the workers."""

from __future__ import annotations

from typing import Protocol

from jobwaiter.cluster.config import ClusterConfig
from jobwaiter.transport.node import Node

__all__ = ["Node", "Provider", "provider_for"]


class Provider(Protocol):
    def head(self) -> Node: ...

    def workers(self) -> list[Node]: ...

    def close(self) -> None: ...


def provider_for(config: ClusterConfig) -> Provider:
    if config.provider.type == "local":
        from jobwaiter.cluster.providers.local import LocalProvider

        return LocalProvider(config)
    from jobwaiter.cluster.providers.ssh import SSHProvider

    return SSHProvider(config)
