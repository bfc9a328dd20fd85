"""The transport protocol and the one frozen result type every command returns.

Commands are argv lists. A transport that needs a shell string (SSH) joins the list with
``shlex.join`` exactly once, at its boundary; nobody else quotes anything.
"""

from __future__ import annotations

import shlex
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from jobwaiter.errors import CommandError

#: Receives a captured command's output as it arrives: ``("stdout" | "stderr", line)``.
OutputSink = typing.Callable[[str, str], None]


@dataclass(frozen=True)
class CommandResult:
    """What one command did on one node."""

    argv: tuple[str, ...]
    exit_status: int
    stdout: str = ""
    stderr: str = ""
    node: str = "head"

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def command_line(self, limit: int = 120) -> str:
        line = shlex.join(self.argv)
        return line if len(line) <= limit else line[: limit - 3] + "..."

    def tail(self, lines: int = 10) -> str:
        """The last lines of output, stderr first since that is where failures explain
        themselves."""
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        return "\n".join(text.splitlines()[-lines:])

    def check(self, what: str = "") -> CommandResult:
        """Return self, or raise CommandError if the command failed."""
        if not self.ok:
            raise CommandError(self, what)
        return self


class Transport(Protocol):
    """Runs commands on one node.

    ``run`` raises TransportError when the node cannot be reached; a command that ran and
    failed is a CommandResult with a non-zero status, never an exception.

    ``idempotent`` tells a transport that may retry after a connection failure that running
    the command twice is harmless (a check or a read). A job launch is never idempotent.
    ``capture=False`` lets the command's output through to ours (a foreground job).
    ``output``, with capture, also gets each line of output as it arrives (``exec
    --all-nodes`` shows every node's lines live); the result still holds all of it.
    """

    node: str

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = None,
        capture: bool = True,
        idempotent: bool = False,
        output: OutputSink | None = None,
    ) -> CommandResult: ...

    def close(self) -> None: ...
