"""A node of a cluster: an id, its address as the config writes it, and its transport."""

from __future__ import annotations

from dataclasses import dataclass

from jobwaiter.transport.base import Transport


@dataclass(frozen=True)
class Node:
    #: "head" for the head on every provider; a worker is known by its address.
    id: str
    #: The address as written in the config (``host``, ``host:port``, ``[v6]:port``).
    ip: str
    transport: Transport
    is_head: bool = False
    #: argv prefix a user types on their machine to run a terminal command on this node
    #: (empty for the local provider; ``ssh -t host`` for SSH).
    shell_prefix: tuple[str, ...] = ()
