"""What the user asked for, validated before anything runs."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from jobwaiter.errors import UsageError

_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class JobRequest:
    command: str
    session: str | None = None        # "tmux", "screen" or None for the foreground
    job_waiter: str | None = None     # the SPEC text
    job_log: bool = False
    stop: bool = False
    timeout: float | None = None
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.session not in (None, "tmux", "screen"):
            raise UsageError(f"unknown session kind {self.session!r} (expected tmux or screen)")
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("--job-timeout must be a positive number of seconds")
        for key, _ in self.env:
            if not _ENV_KEY.fullmatch(key):
                raise UsageError(f"--env: {key!r} is not a valid variable name")

    def env_script(self) -> str:
        """``--env`` as lines of bash, for the wrapper to source after the launch environment.
        This is where those values meet a shell, so this is where they are quoted."""
        return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in self.env)


def parse_env(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--env {item!r}: expected KEY=VALUE")
        pairs.append((key, value))
    return tuple(pairs)
