"""What the user asked for, validated before anything runs."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

if sys.version_info >= (3, 11):
    from typing import Unpack
else:
    from typing_extensions import Unpack

from jobwaiter.durations import parse_duration
from jobwaiter.errors import UsageError
from jobwaiter.jobs.names import check_label
from jobwaiter.jobs.notify_target import command_problem, url_problem

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


class JobOptions(TypedDict, total=False):
    """The options of ``exec`` and ``submit``, named as on the command line; the one place
    they are spelled for the Python API (``Cluster.exec(cmd, tmux=True, ...)``)."""

    tmux: bool
    screen: bool
    job_waiter: str | None
    job_log: bool
    stop: bool
    start: bool
    job_timeout: float | str | None
    env: Mapping[str, str] | Sequence[str] | None
    node_ip: str | None
    label: str | None
    watch: str | None
    detach: bool
    max_runtime: float | str | None
    notify: Sequence[str]
    notify_command: str | None


@dataclass(frozen=True)
class JobRequest:
    """What the user asked for: the options of ``exec`` and ``submit``, validated when made.
    ``JobRequest.of`` takes them as the CLI and ``Cluster.exec`` spell them."""

    command: str
    session: str | None = None        # "tmux", "screen" or None for the foreground
    job_waiter: str | None = None     # the SPEC text
    job_log: bool = False
    stop: bool = False
    timeout: float | None = None
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    start: bool = False               # start the cluster first
    node_ip: str | None = None        # run on this node (an address of the config)
    label: str | None = None          # --name: a label to name the job by later
    watch: str | None = None          # --watch auto|head|client (None: the config's)
    detach: bool = False              # return once the head watches the job
    max_runtime: float | None = None  # the head kills the job after this long
    #: Where the head sends the result: URLs (POST) and a command (stdin). Secrets: they go
    #: only into the job's private order on the head, never into a plan, argv or output.
    notify: tuple[str, ...] = field(default=(), repr=False)
    notify_command: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, command: str, **options: Unpack[JobOptions]) -> JobRequest:
        """The request the options of ``exec``/``submit`` make (``env`` as ``KEY=VALUE``
        strings or a mapping); an unknown option is a TypeError, as for any function."""
        unknown = set(options) - set(JobOptions.__annotations__)
        if unknown:
            raise TypeError(f"unknown job option(s): {', '.join(sorted(unknown))}")
        tmux, screen = options.get("tmux", False), options.get("screen", False)
        if tmux and screen:
            raise UsageError("--tmux and --screen cannot be used together")
        timeout = duration(options.get("job_timeout"), "--job-timeout")
        if timeout is not None and not (tmux or screen) and not options.get("job_waiter"):
            # A foreground command is not waited for, only run: nothing would bound it.
            raise UsageError("--job-timeout needs --tmux, --screen or a --job-waiter")
        env = options.get("env")
        if isinstance(env, Mapping):
            pairs = tuple((str(k), str(v)) for k, v in env.items())
        else:
            pairs = parse_env(list(env or ()))
        return cls(command=command, session="tmux" if tmux else "screen" if screen else None,
                   job_waiter=options.get("job_waiter"), job_log=options.get("job_log", False),
                   stop=options.get("stop", False),
                   timeout=timeout,
                   env=pairs, start=options.get("start", False),
                   node_ip=options.get("node_ip") or None, label=options.get("label"),
                   watch=options.get("watch"), detach=options.get("detach", False),
                   max_runtime=duration(options.get("max_runtime"), "--max-runtime"),
                   notify=_urls(options.get("notify")),
                   notify_command=options.get("notify_command"))

    def __post_init__(self) -> None:
        if self.label is not None:
            check_label(self.label)
        if self.max_runtime is not None and not (math.isfinite(self.max_runtime)
                                                 and self.max_runtime > 0):
            raise UsageError("--max-runtime must be a positive, finite duration")
        # Checked here, before anything runs; the messages never repeat the value (a secret).
        for url in self.notify:
            problem = url_problem(url)
            if problem:
                raise UsageError(f"--notify {problem}")
        if self.notify_command is not None:
            problem = command_problem(self.notify_command)
            if problem:
                raise UsageError(f"--notify-command {problem}")
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


def duration(value: float | str | None, what: str, allow_zero: bool = False) -> float | None:
    """Seconds, or a duration as the CLI takes it (``"90s"``, ``"1h30m"``); None stays None.
    Anything else is a UsageError naming ``what``."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    if not isinstance(value, str):
        raise UsageError(f"{what} takes seconds or a duration such as '90s', not "
                         f"{type(value).__name__}")
    try:
        return parse_duration(value, allow_zero=allow_zero)
    except ValueError as exc:
        raise UsageError(f"{what} {exc}") from None


def _urls(value: Sequence[str] | str | None) -> tuple[str, ...]:
    """``notify=`` as a list of URLs; one URL given as a string is one URL, not its letters."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(u) for u in value)


def parse_env(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--env {item!r}: expected KEY=VALUE")
        pairs.append((key, value))
    return tuple(pairs)
