"""The session kinds a job can run in."""

from __future__ import annotations

from dataclasses import dataclass

from jobwaiter.errors import UsageError


@dataclass(frozen=True)
class SessionKind:
    name: str
    program: str

    def attach_argv(self, session: str) -> list[str]:
        """The exact command that attaches to the session on the head."""
        if self.name == "tmux":
            # '=' makes tmux match the whole name, not a prefix.
            return ["tmux", "attach-session", "-t", f"={session}"]
        return ["screen", "-r", session]


KINDS = {k.name: k for k in (SessionKind("tmux", "tmux"), SessionKind("screen", "screen"))}


def session_kind(name: str) -> SessionKind:
    try:
        return KINDS[name]
    except KeyError:
        raise UsageError(f"unknown session kind {name!r}") from None
