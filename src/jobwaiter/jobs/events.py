"""How the library tells its caller what is happening; the CLI renders it, the API is silent
by default."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def phase(self, message: str) -> None:
        """A step worth one line: starting, session name, log path, result."""

    def progress(self, message: str, elapsed: float) -> None:
        """The current state of a wait; may be shown as a live line."""

    def warn(self, message: str) -> None:
        """Something the user should know even with -q."""


class NullReporter:
    def phase(self, message: str) -> None:
        pass

    def progress(self, message: str, elapsed: float) -> None:
        pass

    def warn(self, message: str) -> None:
        pass
