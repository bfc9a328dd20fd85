"""How commands reach a node: a small protocol with a local and an SSH implementation."""

from jobwaiter.transport.base import CommandResult, Transport
from jobwaiter.transport.local import LocalTransport

__all__ = ["CommandResult", "LocalTransport", "Transport"]
