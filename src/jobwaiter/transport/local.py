"""The local transport: this machine is the node."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from jobwaiter.errors import CommandTimeout, TransportError
from jobwaiter.transport.base import CommandResult, OutputSink
from jobwaiter.transport.bounded import run_bounded
from jobwaiter.transport.stream import run_streaming


class LocalTransport:
    """Runs argv directly (no shell in between) in ``$HOME``, like a fresh SSH login would.

    ``env`` defaults to this process's environment, read at each call so that a caller who
    changes ``os.environ`` (a test with its own HOME) is honoured.
    """

    #: Commands run on this machine: what a command would read there, this process can read
    #: itself (runtimes/http.py fetches in-process).
    in_process = True

    def __init__(self, node: str = "head", env: Mapping[str, str] | None = None,
                 max_output: int | None = None) -> None:
        self.node = node
        self._env = dict(env) if env is not None else None
        #: With a bound, a captured stream keeps at most this many bytes from its start and
        #: as many from its end (jobwaiter.transport.bounded): for a long-lived process
        #: (the head's watcher) whose children may print without limit.
        self.max_output = max_output

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
        env = self._env if self._env is not None else dict(os.environ)
        home = env.get("HOME") or os.path.expanduser("~")
        if not capture:
            return self._run_through(argv, input, env, home)
        try:
            if output is not None:
                proc = run_streaming(argv, output, input=input, timeout=timeout, cwd=home,
                                     env=env)
            elif self.max_output is not None:
                proc = run_bounded(argv, self.max_output, input=input, timeout=timeout,
                                   cwd=home, env=env)
            else:
                proc = subprocess.run(
                    list(argv),
                    input=input,
                    stdin=None if input is not None else subprocess.DEVNULL,
                    capture_output=True,
                    timeout=timeout,
                    cwd=home,
                    env=env,
                    check=False,
                )
        except subprocess.TimeoutExpired as exc:
            raise CommandTimeout(
                f"{argv[0]} on {self.node} did not finish in {timeout:.0f}s") from exc
        except OSError as exc:
            raise TransportError(f"cannot run {argv[0]!r} on {self.node}: {exc}") from exc
        out = proc.stdout.decode(errors="replace")
        err = proc.stderr.decode(errors="replace")
        return CommandResult(tuple(argv), _status(proc.returncode), out, err, self.node)

    def _run_through(
        self, argv: Sequence[str], input: bytes | None, env: dict[str, str], home: str
    ) -> CommandResult:
        """Run with our stdout/stderr (a foreground job). Ctrl-C reaches the job too, since it
        shares our process group; we wait for it to record how it ended rather than kill it
        (a second Ctrl-C gives up waiting)."""
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                cwd=home,
                env=env,
            )
        except OSError as exc:
            raise TransportError(f"cannot run {argv[0]!r} on {self.node}: {exc}") from exc
        if input is not None and proc.stdin is not None:
            with proc.stdin:
                proc.stdin.write(input)
        try:
            returncode = proc.wait()
        except KeyboardInterrupt:
            returncode = proc.wait()
        return CommandResult(tuple(argv), _status(returncode), "", "", self.node)

    def close(self) -> None:
        """Nothing to release locally."""


def _status(returncode: int) -> int:
    # subprocess reports death by signal N as -N; shells (and job records) say 128+N.
    return 128 - returncode if returncode < 0 else returncode
