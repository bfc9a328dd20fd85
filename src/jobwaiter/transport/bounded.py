"""Captured output that cannot grow without bound.

The head's watcher lives for days and runs children whose output it keeps: the notify
command, the commands of a stop, the waiters' checks. A child printing 600 MB must not take
the watcher to 600 MB. So a capture keeps the first and the last bytes of a stream (a framed
answer has its start marker at the head and its end marker at the tail; a failure explains
itself at the end) and counts what it left out in between. Stdlib only, Python 3.8.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import IO

CHUNK = 65536


class Bounded:
    """At most ``head`` bytes from the start and ``tail`` bytes from the end of a stream."""

    def __init__(self, head: int, tail: int) -> None:
        self.head_limit, self.tail_limit = head, tail
        self._head = bytearray()
        self._tail = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        room = self.head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if not data:
            return
        self._tail += data
        extra = len(self._tail) - self.tail_limit
        if extra > 0:
            del self._tail[:extra]
            self.dropped += extra

    def value(self) -> bytes:
        if not self.dropped:
            return bytes(self._head + self._tail)
        gap = b"\n[... %d bytes of output left out ...]\n" % self.dropped
        return bytes(self._head) + gap + bytes(self._tail)


def pump(pipe: IO[bytes], into: Bounded) -> threading.Thread:
    """A daemon thread reading ``pipe`` to its end into ``into`` (started, to be joined)."""

    def run() -> None:
        with pipe:
            for chunk in iter(lambda: os.read(pipe.fileno(), CHUNK), b""):
                into.feed(chunk)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def feed(pipe: IO[bytes], data: bytes) -> threading.Thread:
    """A daemon thread writing ``data`` to ``pipe`` and closing it: a child that does not
    read its input, or reads it slowly, never blocks the caller."""

    def run() -> None:
        try:
            with pipe:
                pipe.write(data)
        except (BrokenPipeError, OSError):  # the child did not read all of its input
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def run_bounded(argv: Sequence[str], limit: int, *, input: bytes | None = None,
                timeout: float | None = None, cwd: str | None = None,
                env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run(capture_output=True)`` keeping at most ``limit`` bytes from the start
    and from the end of each stream."""
    proc = subprocess.Popen(list(argv),
                            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            env=dict(env) if env is not None else None)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = Bounded(limit, limit), Bounded(limit, limit)
    readers = [pump(proc.stdout, out), pump(proc.stderr, err)]
    if input is not None and proc.stdin is not None:
        feed(proc.stdin, input)
    try:
        returncode = proc.wait(timeout=timeout)
    except BaseException:  # a timeout or Ctrl-C: do not leave the process behind
        proc.kill()
        proc.wait()
        raise
    finally:
        for reader in readers:
            # A pipe still open once the process is gone is held by a child of it (a
            # daemon it started), which must not keep us here.
            reader.join(timeout=5)
    return subprocess.CompletedProcess(list(argv), returncode, out.value(), err.value())
