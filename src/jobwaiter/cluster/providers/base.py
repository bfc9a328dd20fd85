"""What a provider gives the rest of jobwaiter: the head and the workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from jobwaiter.cluster.config import ClusterConfig
from jobwaiter.transport.base import Transport


@dataclass(frozen=True)
class Node:
    id: str
    ip: str
    transport: Transport
    is_head: bool = False
    #: argv prefix a user types on their machine to run a terminal command on this node
    #: (empty for the local provider; ``ssh -t host`` for SSH).
    shell_prefix: tuple[str, ...] = ()


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
