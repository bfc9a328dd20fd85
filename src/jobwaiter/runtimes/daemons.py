"""Whether a daemon a runtime started (by its ``sh/daemon.sh``) still runs, as that script's
``status`` action tells it: ``running PID`` when the recorded pid is alive and still the
daemon (pids are reused), else ``stopped`` and the end of its log.

Stdlib only (runtimes may run on the head).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobwaiter.errors import TransportError
from jobwaiter.runtimes.base import STATUS_TIMEOUT, NodeLike
from jobwaiter.transport.base import CommandResult


@dataclass(frozen=True)
class DaemonState:
    """One daemon on one node. ``running`` is None when it could not be told (``error``
    says why: the node is unreachable, the script failed)."""

    node: str
    host: str
    role: str
    running: bool | None
    pid: int | None = None
    error: str = ""

    def describe(self) -> str:
        """``pid 123``, ``not running``, or why it is not known."""
        if self.running:
            return f"pid {self.pid}"
        if self.running is False:
            return "not running"
        return self.error


def parse_daemon_status(node: str, host: str, role: str, result: CommandResult) -> DaemonState:
    """Read ``daemon.sh status``: ``running PID`` or ``stopped`` on its first line."""
    lines = result.stdout.splitlines()
    first = lines[0].split() if lines else []
    if result.ok and len(first) == 2 and first[0] == "running" and first[1].isdigit():
        return DaemonState(node, host, role, True, int(first[1]))
    if result.ok and first == ["stopped"]:
        return DaemonState(node, host, role, False)
    why = result.tail(1) or f"exit status {result.exit_status}"
    return DaemonState(node, host, role, None, error=f"cannot tell ({why})")


def daemon_state(node: NodeLike, host: str, role: str, argv: Sequence[str]) -> DaemonState:
    """Run ``daemon.sh status`` (``argv``) on ``node``; an unreachable node is an answer."""
    try:
        result = node.transport.run(argv, idempotent=True, timeout=STATUS_TIMEOUT)
    except TransportError as exc:
        return DaemonState(node.id, host, role, None, error=f"cannot tell: {exc}")
    return parse_daemon_status(node.id, host, role, result)
