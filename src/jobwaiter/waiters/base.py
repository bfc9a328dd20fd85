"""The two waiter interfaces and what a waiter is told about the job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from jobwaiter.errors import SpecError
from jobwaiter.transport.base import CommandResult, Transport

if TYPE_CHECKING:
    from jobwaiter.waiters.spec import Spec


@dataclass(frozen=True)
class JobContext:
    """What a waiter knows about the job it waits for.

    ``nodes`` maps node ids to their transports; ``head`` is the head's.
    ``started_at`` is the job's start on the head's clock (epoch seconds).
    """

    name: str
    head: Transport
    config: dict[str, Any] = field(default_factory=dict)
    session: str | None = None
    command: str = ""
    started_at: float | None = None
    nodes: dict[str, Transport] = field(default_factory=dict)
    #: The waiter runs on the job's node itself (the head's watch): it may look at the job's
    #: record directly instead of starting a process per check.
    local: bool = False

    def run(self, argv: Sequence[str], node_id: str | None = None, **kw: Any) -> CommandResult:
        """Run argv on a node (the head by default)."""
        transport = self.nodes.get(node_id, self.head) if node_id else self.head
        return transport.run(argv, **kw)


@dataclass(frozen=True)
class Check:
    """One poll's answer. ``done`` False means "not yet"."""

    done: bool
    ok: bool = True
    detail: str = ""
    exit_status: int | None = None
    lost: bool = False
    ended_at: float | None = None
    #: With ``lost``: processes of the job that still run (the job may not be over).
    survivors: int = 0

    @classmethod
    def pending(cls, detail: str = "") -> Check:
        return cls(done=False, detail=detail)

    @classmethod
    def success(cls, detail: str = "") -> Check:
        return cls(done=True, ok=True, detail=detail)

    @classmethod
    def failure(cls, detail: str, **kw: Any) -> Check:
        return cls(done=True, ok=False, detail=detail, **kw)


class Waiter:
    """A per-poll waiter. Subclasses set ``name``, ``describe`` and implement ``check``.

    ``check(job, block)`` may block up to ``block`` seconds when it can learn of the end
    without polling (a lock, a long poll); ``max_block`` says how long it is willing to.
    It must not sleep otherwise: the loop paces calls.
    """

    name: ClassVar[str] = ""
    describe: ClassVar[str] = ""
    #: The session kind this waiter watches, for session waiters ("tmux", "screen").
    session_kind: ClassVar[str | None] = None
    max_block: ClassVar[float] = 0.0

    @classmethod
    def create(cls, args: tuple[Spec, ...], config: dict[str, Any]) -> Waiter:
        """Build from the SPEC's parameters (``name[arg, ...]``); most waiters take none."""
        if args:
            raise SpecError(f"waiter {cls.name!r} takes no parameters")
        return cls()

    @property
    def label(self) -> str:
        return self.name

    def check(self, job: JobContext, block: float) -> Check:
        raise NotImplementedError


class JobWaiter:
    """Base class of user waiters, with CloudTik's interface::

        class MyWaiter(JobWaiter):
            def __init__(self, config): ...
            def wait_for_completion(self, node_id, cmd, session_name, timeout=None): ...

    Returning from ``wait_for_completion`` means the waiter is satisfied; raising fails the
    wait with the exception's message. ``config`` is the cluster config as a dict.

    After construction jobwaiter sets ``self.runner``: ``self.runner.run(node_id, cmd)``
    runs ``cmd`` (a string for bash, or an argv list) on that node (``None``: the head) and
    returns a ``CommandResult`` with ``exit_status``, ``stdout`` and ``stderr``.
    """

    runner: NodeRunner

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def wait_for_completion(
        self, node_id: str, cmd: str, session_name: str, timeout: int | None = None
    ) -> None:
        raise NotImplementedError


class NodeRunner:
    """The handle user waiters get to run commands on the cluster's nodes."""

    def __init__(self, head: Transport, nodes: dict[str, Transport]) -> None:
        self._head = head
        self._nodes = nodes

    def run(self, node_id: str | None, cmd: str | Sequence[str]) -> CommandResult:
        argv = ["bash", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        transport = self._nodes.get(node_id, self._head) if node_id else self._head
        return transport.run(argv)
