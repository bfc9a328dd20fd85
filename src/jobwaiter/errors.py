"""Every error jobwaiter raises, in one tree.

    JobwaiterError                 base of everything below
    ├── UsageError                 bad input; nothing was started (CLI exit 2)
    │   ├── ConfigError            the cluster YAML is invalid (every problem: .problems)
    │   └── SpecError              a --job-waiter SPEC does not parse or name a waiter
    ├── TransportError             a node could not be reached (CLI exit 255)
    │   ├── CommandTimeout         a command did not finish within its transport timeout
    │   ├── ConnectionLost         the connection dropped after a command was sent: it may
    │   │                          or may not have run
    │   └── AccessError            the node refused the login or its host key changed
    ├── CommandError               a command ran and failed; carries its CommandResult
    └── WaiterError                a waiter decided the job's work failed

A job that *ran* and failed is not an exception: it is a ``JobResult`` whose outcome says so.
Exceptions are for what prevents an answer (bad input, an unreachable head).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobwaiter.transport.base import CommandResult


class JobwaiterError(Exception):
    """Base class of every jobwaiter error."""


class UsageError(JobwaiterError):
    """Bad arguments, config or spec: reported before anything runs."""


class ConfigError(UsageError):
    """The cluster config file is missing or invalid.

    ``problems`` lists every problem found, one line each, without the file name (``line 4:
    provider.zone: unknown key``); ``source`` names the file. The message is one line for one
    problem (``cluster.yaml: line 4: ...``), else a count followed by one indented line per
    problem.
    """

    def __init__(self, message: str, *, source: str = "",
                 problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.source = source
        self.problems = list(problems) or [message]

    @classmethod
    def listing(cls, source: str, problems: Sequence[str]) -> ConfigError:
        """The error for these problems of the file ``source`` (at least one)."""
        if len(problems) == 1:
            message = f"{source}: {problems[0]}"
        else:
            lines = "".join(f"\n  {p}" for p in problems)
            message = f"{source}: {len(problems)} problems:{lines}"
        return cls(message, source=source, problems=problems)


class SpecError(UsageError):
    """A job waiter SPEC is malformed or names something that cannot be loaded."""


class TransportError(JobwaiterError):
    """A node could not be reached, so the state of what runs there is unknown."""


class CommandTimeout(TransportError):
    """A command exceeded the timeout the caller gave the transport."""


class ConnectionLost(TransportError):
    """The connection dropped after the command was sent. The command may have run (a job
    may have started), so callers report an unknown state instead of a failure to start."""


class AccessError(TransportError):
    """The node answered but refused our login, or could not prove it is the host we know
    (a changed host key). Retrying cannot fix either, so a wait stops instead of reconnecting.
    """


class CommandError(JobwaiterError):
    """A command ran to completion with a non-zero exit status."""

    def __init__(self, result: CommandResult, what: str = "") -> None:
        self.result = result
        self.what = what
        super().__init__(self._describe())

    def _describe(self) -> str:
        r = self.result
        head = f"{self.what}: " if self.what else ""
        msg = f"{head}command {r.command_line()!r} on {r.node} exited with status {r.exit_status}"
        tail = r.tail()
        return f"{msg}\n{tail}" if tail else msg


class WaiterError(JobwaiterError):
    """A waiter found that the work it watches failed (an engine app failed, a user waiter
    raised)."""
