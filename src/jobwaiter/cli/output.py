"""What the CLI prints: progress on stderr (a live line on a terminal, plain lines when piped),
the final result, and the exit code for each outcome."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

import click

from jobwaiter.jobs.result import JobResult, Outcome
from jobwaiter.outcome import (
    EXIT_INTERRUPTED,
    EXIT_LOST,
    EXIT_TIMEOUT,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    EXIT_WAITER_FAILED,
)
from jobwaiter.outcome import exit_code as outcome_exit_code

__all__ = ["EXIT_INTERRUPTED", "EXIT_LOST", "EXIT_TIMEOUT", "EXIT_UNREACHABLE", "EXIT_USAGE",
           "EXIT_WAITER_FAILED", "Exit", "JsonChannel", "TerminalReporter", "echo_json",
           "error_line", "exit_code", "print_result", "stdout_for_json"]

def exit_code(result: JobResult) -> int:
    """The README's exit-code table, kept in one place: jobwaiter.outcome."""
    return outcome_exit_code(result.outcome, result.exit_status)


class Exit(Exception):
    """Leave the CLI with this code after the message (if any) has been printed."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JsonChannel:
    """Where ``--json``'s one object goes, and whether it has gone: an error after the result
    was printed must not print a second object."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.printed = False


_json_channels: list[JsonChannel] = []


@contextlib.contextmanager
def stdout_for_json(enabled: bool) -> Iterator[JsonChannel | None]:
    """With ``--json``, stdout carries the one JSON object alone: whatever else Python code
    prints meanwhile (a user's waiter, a plugin) goes to stderr. ``echo_json`` still writes to
    the real stdout. (A foreground job's own output is the job's, and is not ours to move.)"""
    if not enabled:
        yield None
        return
    channel = JsonChannel(sys.stdout)
    _json_channels.append(channel)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield channel
    finally:
        _json_channels.pop()


def echo_json(data: Any) -> None:
    """Print the command's JSON answer on stdout (see ``stdout_for_json``)."""
    channel = _json_channels[-1] if _json_channels else None
    click.echo(json.dumps(data, indent=2), file=channel.stream if channel else sys.stdout)
    if channel is not None:
        channel.printed = True


class TerminalReporter:
    """Reporter for humans. On a terminal the wait is one line rewritten in place, its elapsed
    time ticking every second even while a check blocks; piped, each change of state is one
    plain line, and an unchanged one is repeated at most once a minute so logs stay short."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._last = ""
        self._last_at = 0.0
        self._lock = threading.Lock()
        self._status: tuple[str, float, float] | None = None  # message, elapsed, when
        self._ticker: threading.Thread | None = None

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _clear(self) -> None:
        if self._status is not None:
            self._status = None
            self._write("\r\033[K")

    def phase(self, message: str) -> None:
        if self.quiet:
            return
        with self._lock:
            self._clear()
            self._write(f"jobwaiter: {message}\n")

    def progress(self, message: str, elapsed: float) -> None:
        if self.quiet:
            return
        if self.live:
            with self._lock:
                self._status = (message, elapsed, time.monotonic())
                self._draw()
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, daemon=True)
                self._ticker.start()
            return
        now = time.monotonic()
        if message != self._last or now - self._last_at >= 60:
            self._write(f"jobwaiter: {message} ({_duration(elapsed)})\n")
            self._last, self._last_at = message, now

    def _draw(self) -> None:
        if self._status is None:
            return
        message, elapsed, when = self._status
        line = f"jobwaiter: {message} ({_duration(elapsed + time.monotonic() - when)})"
        self._write("\r\033[K" + line[:200])

    def _tick(self) -> None:
        while True:
            time.sleep(1.0)
            with self._lock:
                self._draw()

    def warn(self, message: str) -> None:
        with self._lock:
            self._clear()
            self._write(f"jobwaiter: warning: {message}\n")

    def done(self) -> None:
        with self._lock:
            self._clear()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m"


def print_result(
    result: JobResult,
    reporter: TerminalReporter,
    as_json: bool,
    resume: str = "",
    log_tail: list[str] | None = None,
) -> None:
    """The result: one JSON object with ``--json``, and lines on stderr. ``log_tail``: the
    last lines of a failed job's log (None: not read), shown before the result line, even
    with -q (they are part of the error), and in the JSON as ``log_tail``."""
    reporter.done()
    if as_json:
        data = result.to_dict()
        if log_tail is not None:
            data["log_tail"] = log_tail
        echo_json(data)
    for w in result.waiters:
        reporter.phase(f"waiter {w.name}: {w.state}" + (f" - {w.detail}" if w.detail else ""))
    if log_tail is not None:
        print_log_tail(reporter, result.log_path or "the log", log_tail)
    line = f"result: {result.outcome}"
    if result.exit_status is not None:
        line += f" (exit status {result.exit_status})"
    if result.message:
        line += f": {result.message}"
    if result.ok:
        reporter.phase(line)
    else:
        error_line(reporter, line)
    if result.outcome in (Outcome.TIMEOUT, Outcome.INTERRUPTED) and resume:
        error_line(reporter, f"the job keeps running; to wait again: {resume}")
    elif result.outcome is Outcome.UNREACHABLE and resume:
        error_line(reporter, f"the job may still be running; to wait for it: {resume}")


def print_log_tail(reporter: TerminalReporter, where: str, lines: list[str]) -> None:
    """A header, then the lines as the job wrote them. A line rewritten with carriage returns
    (a progress bar) shows its last state, as it did on a terminal."""
    if not lines:
        error_line(reporter, f"the log ({where}) is empty")
        return
    error_line(reporter, f"last {len(lines)} line{'s' if len(lines) != 1 else ''} of "
                         f"the log ({where}):")
    for line in lines:
        shown = line.rstrip("\r").rsplit("\r", 1)[-1]
        reporter.stream.write(shown + "\n")
    reporter.stream.flush()


def error_line(reporter: TerminalReporter, message: str) -> None:
    """A failure line: shown even with -q."""
    reporter.done()
    reporter.stream.write(f"jobwaiter: {message}\n")
    reporter.stream.flush()
