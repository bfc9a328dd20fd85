"""What the user asked for, validated before anything runs."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from jobwaiter.errors import UsageError
from jobwaiter.jobs.names import check_label

_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: The variable the wrapper gives every job: its name (how its processes are found later).
JOB_VARIABLE = "JOBWAITER_JOB"

#: Linux's limit on one argument or environment entry (MAX_ARG_STRLEN, 32 pages): the job
#: runs as ``bash -c COMMAND``, so the command is one argument.
MAX_ARG_BYTES = 131072 - 1
#: What the command and ``--env`` may take together of the head's ``ARG_MAX`` (2 MiB on
#: most Linux systems), leaving room for the head's own environment.
MAX_TOTAL_BYTES = 1 << 20


def encode(text: str, what: str) -> bytes:
    """``text`` as the bytes that reach the head: UTF-8, with the bytes that were not UTF-8
    on our command line (surrogate escapes) passed through verbatim."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid text (it holds an unpaired surrogate)") from None
    if b"\0" in data:
        raise UsageError(f"{what} holds a NUL byte, which no command or variable can")
    return data


@dataclass(frozen=True)
class JobRequest:
    command: str
    session: str | None = None        # "tmux", "screen" or None for the foreground
    job_waiter: str | None = None     # the SPEC text
    job_log: bool = False
    stop: bool = False
    timeout: float | None = None
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    label: str | None = None          # --name: a label to name the job by later

    def __post_init__(self) -> None:
        if self.label is not None:
            check_label(self.label)
        if self.session not in (None, "tmux", "screen"):
            raise UsageError(f"unknown session kind {self.session!r} (expected tmux or screen)")
        if self.timeout is not None and not (math.isfinite(self.timeout) and self.timeout > 0):
            raise UsageError("--job-timeout must be a positive, finite number of seconds")
        for key, _ in self.env:
            if not _ENV_KEY.fullmatch(key):
                raise UsageError(f"--env: {key!r} is not a valid variable name")
            if key == JOB_VARIABLE:
                raise UsageError(f"--env: {JOB_VARIABLE} is set by jobwaiter (the job's name)")
        command = self.command_bytes()
        if len(command) > MAX_ARG_BYTES:
            raise UsageError(f"the command is {len(command)} bytes; the head runs it as one "
                             f"argument of bash -c, which Linux limits to {MAX_ARG_BYTES}")
        total = len(command)
        for name, value in self.env_bytes():
            size = len(name) + 1 + len(value)
            if size > MAX_ARG_BYTES:
                raise UsageError(f"--env {name.decode()}: {size} bytes; Linux limits one "
                                 f"variable to {MAX_ARG_BYTES}")
            total += size
        if total > MAX_TOTAL_BYTES:
            raise UsageError(f"the command and --env take {total} bytes; at most "
                             f"{MAX_TOTAL_BYTES} fit on the head's command line")

    def command_bytes(self) -> bytes:
        return encode(self.command, "the command")

    def env_bytes(self) -> tuple[tuple[bytes, bytes], ...]:
        return tuple((k.encode(), encode(v, f"--env {k}")) for k, v in self.env)


def parse_env(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--env {item!r}: expected KEY=VALUE")
        pairs.append((key, value))
    return tuple(pairs)
