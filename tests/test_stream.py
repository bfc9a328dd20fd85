"""run_streaming: output passed on line by line while the process runs, and all of it kept."""

from __future__ import annotations

import subprocess
import time

import pytest

from jobwaiter.transport.stream import run_streaming


def test_lines_arrive_before_the_process_ends() -> None:
    got: list[tuple[str, str, float]] = []
    t0 = time.monotonic()
    proc = run_streaming(
        ["bash", "-c", "echo one; echo two >&2; sleep 1; printf 'last, no newline'"],
        lambda stream, line: got.append((stream, line, time.monotonic() - t0)),
    )
    assert proc.returncode == 0
    assert proc.stdout == b"one\nlast, no newline" and proc.stderr == b"two\n"
    assert [(s, line) for s, line, _ in got if s == "stdout"] == [
        ("stdout", "one"), ("stdout", "last, no newline")]
    first = next(at for s, line, at in got if line == "one")
    assert first < 0.8, "the first line came only at the end"


def test_input_and_timeout() -> None:
    lines: list[str] = []
    proc = run_streaming(["cat"], lambda s, line: lines.append(line), input=b"a\nb\n" * 50000)
    assert proc.stdout.count(b"\n") == 100000 and len(lines) == 100000
    t0 = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_streaming(["sleep", "30"], lambda s, line: None, timeout=0.5)
    assert time.monotonic() - t0 < 10
