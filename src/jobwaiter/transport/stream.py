"""Running a local process while passing its output on line by line as it arrives.

``subprocess.run`` only returns the output at the end; ``exec --all-nodes`` shows each node's
lines live. Used by the local and SSH transports when a caller gives an ``output`` sink.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import IO

from jobwaiter.transport.base import OutputSink


def run_streaming(
    argv: Sequence[str],
    output: OutputSink,
    *,
    input: bytes | None = None,
    timeout: float | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Like ``subprocess.run(argv, capture_output=True)``, and every complete line (and a
    last one without a newline) goes to ``output("stdout" | "stderr", line)`` as soon as it
    is read. Raises ``subprocess.TimeoutExpired`` after killing the process."""
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=dict(env) if env is not None else None,
    )
    assert proc.stdout is not None and proc.stderr is not None
    captured: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    readers = [
        threading.Thread(target=_pump, args=(pipe, name, output, captured[name]), daemon=True)
        for pipe, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))
    ]
    for reader in readers:
        reader.start()
    if input is not None and proc.stdin is not None:
        # A writer thread: a large input must not block while the pipes fill up.
        threading.Thread(target=_feed, args=(proc.stdin, input), daemon=True).start()
    patience = 5.0
    try:
        returncode = proc.wait(timeout=timeout)
    except BaseException:  # a timeout or Ctrl-C: do not leave the process behind
        proc.kill()
        proc.wait()
        # A child of it may still hold the pipes (it ends at its next write once we are
        # gone): the caller was interrupted and must not wait for it.
        patience = 0.2
        raise
    finally:
        for reader in readers:
            # The process is gone; a pipe still open means a child of it holds it (a
            # background daemon), which must not keep us here forever.
            reader.join(timeout=patience)
    return subprocess.CompletedProcess(list(argv), returncode, b"".join(captured["stdout"]),
                                       b"".join(captured["stderr"]))


def _pump(pipe: IO[bytes], name: str, output: OutputSink, into: list[bytes]) -> None:
    with pipe:
        for raw in iter(pipe.readline, b""):
            into.append(raw)
            output(name, raw.decode(errors="replace").rstrip("\r\n"))


def _feed(pipe: IO[bytes], data: bytes) -> None:
    try:
        with pipe:
            pipe.write(data)
    except BrokenPipeError:  # the command did not read all its input
        pass
