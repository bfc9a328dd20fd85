"""A transport for unit tests: answers from a handler function instead of running anything."""

from __future__ import annotations

import typing
from collections.abc import Sequence

from jobwaiter.transport.base import CommandResult, OutputSink

Handler = typing.Callable[[tuple[str, ...], bytes | None], CommandResult | tuple[int, str]]


class MockTransport:
    """Like ``httpx.MockTransport``: every ``run`` calls ``handler(argv, input)``.

    The handler returns a CommandResult or just ``(exit_status, stdout)``. Calls are kept in
    ``calls`` so tests can assert on what would have been run.
    """

    def __init__(self, handler: Handler, node: str = "head") -> None:
        self.node = node
        self.handler = handler
        self.calls: list[tuple[str, ...]] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = None,
        capture: bool = True,
        idempotent: bool = False,
        output: OutputSink | None = None,
    ) -> CommandResult:
        args = tuple(argv)
        self.calls.append(args)
        answer = self.handler(args, input)
        if not isinstance(answer, CommandResult):
            answer = CommandResult(args, answer[0], answer[1], "", self.node)
        if output is not None:
            for stream, text in (("stdout", answer.stdout), ("stderr", answer.stderr)):
                for line in text.splitlines():
                    output(stream, line)
        return answer

    def close(self) -> None:
        """Nothing to release."""
