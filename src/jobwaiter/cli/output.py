"""What the CLI prints: progress on stderr (a live line on a terminal, plain lines when piped),
the final result, and the exit code for each outcome."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

import click

from jobwaiter.cli import style
from jobwaiter.jobs.result import JobResult, Outcome, StopReport
from jobwaiter.outcome import (
    EXIT_INTERRUPTED,
    EXIT_LOST,
    EXIT_TIMEOUT,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    EXIT_WAITER_FAILED,
)
from jobwaiter.outcome import exit_code as outcome_exit_code

if TYPE_CHECKING:
    from rich.console import Console

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
    time ticking every second even while a check blocks, and outcome words are coloured
    (unless NO_COLOR is set); piped (or on a TERM=dumb terminal), each change of state is one
    plain line, and an unchanged one is repeated at most once a minute so logs stay short.

    ``phase`` and ``error`` take the parts of a line: an ``Outcome`` among them is coloured
    by what it says, and the plain line is the parts joined."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.live = style.is_terminal(self.stream)
        self._console: Console | None = None  # made when first needed, on a terminal only
        self._last = ""
        self._last_at = 0.0
        self._lock = threading.Lock()
        self._status: tuple[str, float, float] | None = None  # message, elapsed, when
        self._ticker: threading.Thread | None = None

    def _get_console(self) -> Console:
        if self._console is None:
            self._console = style.console(self.stream)
        return self._console

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _line(self, parts: tuple[str | Outcome, ...]) -> None:
        """One finished line (lock held)."""
        if not self.live:
            self._write("jobwaiter: " + "".join(parts) + "\n")
            return
        from rich.text import Text

        line = Text("jobwaiter: ")
        for part in parts:
            line.append(str(part), style.OUTCOME_STYLES.get(part.value)
                        if isinstance(part, Outcome) else None)
        # soft_wrap: a long line (a resume command) is left to the terminal to wrap, so it
        # can be copied whole.
        self._get_console().print(line, soft_wrap=True)

    def _clear(self) -> None:
        if self._status is not None:
            from rich.control import Control
            from rich.segment import ControlType

            self._status = None
            self._get_console().control(
                Control(ControlType.CARRIAGE_RETURN, (ControlType.ERASE_IN_LINE, 2)))

    def phase(self, *parts: str | Outcome) -> None:
        if self.quiet:
            return
        with self._lock:
            self._clear()
            self._line(parts)

    def error(self, *parts: str | Outcome) -> None:
        """A failure line: shown even with -q."""
        with self._lock:
            self._clear()
            self._line(parts)

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
        """(Re)draw the live line (lock held): cut to the terminal's width, so that it stays
        one line that the next draw can erase."""
        if self._status is None:
            return
        from rich.control import Control
        from rich.segment import ControlType
        from rich.text import Text

        message, elapsed, when = self._status
        line = f"jobwaiter: {message} ({_duration(elapsed + time.monotonic() - when)})"
        console = self._get_console()
        width = style.terminal_width(self.stream) or console.width
        console.control(Control(ControlType.CARRIAGE_RETURN, (ControlType.ERASE_IN_LINE, 2)))
        console.print(Text(style.printable(line)), end="", width=max(width - 1, 10), crop=True,
                      no_wrap=True, overflow="ellipsis")

    def _tick(self) -> None:
        while True:
            time.sleep(1.0)
            with self._lock:
                self._draw()

    def warn(self, message: str) -> None:
        with self._lock:
            self._clear()
            self._line((f"warning: {message}",))

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
    disarm: str = "",
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
        reporter.phase(f"waiter {w.name}: ", w.state, f" - {w.detail}" if w.detail else "")
    for note in result.notes:
        reporter.warn(note)
    if result.stop is not None:
        stop_line(reporter, result.stop)
    if log_tail is not None:
        print_log_tail(reporter, result.log_path or "the log", log_tail)
    rest = ""
    if result.exit_status is not None:
        rest += f" (exit status {result.exit_status})"
    if result.message:
        rest += f": {result.message}"
    if result.ok:
        reporter.phase("result: ", result.outcome, rest)
    else:
        error_line(reporter, "result: ", result.outcome, rest)
    if result.outcome is Outcome.TIMEOUT and result.exit_status is not None and resume:
        # The job has ended; a waiter after it (engine work it launched) timed out.
        error_line(reporter, f"the job has ended; what it launched may still run; to wait "
                             f"again: {resume}")
    elif result.outcome in (Outcome.TIMEOUT, Outcome.INTERRUPTED) and resume:
        error_line(reporter, f"the job keeps running; to wait again: {resume}")
    elif result.outcome is Outcome.DETACHED and resume:
        reporter.phase(f"to follow it: {resume}")
        if disarm:
            reporter.phase(f"to disarm it: {disarm}")
    elif result.outcome is Outcome.UNREACHABLE and resume:
        error_line(reporter, f"the job may still be running; to wait for it: {resume}")


def stop_line(reporter: TerminalReporter, stop: StopReport) -> None:
    """What became of the stop, in one line (a failure line when it failed or was cut off)."""
    line = stop.detail if stop.detail.startswith("stop ") else f"stop: {stop.detail}"
    if stop.state in ("failed", "interrupted"):
        error_line(reporter, line)
    else:
        reporter.phase(line)


def print_log_tail(reporter: TerminalReporter, where: str, lines: list[str]) -> None:
    """A header, then the lines as the job wrote them. A line rewritten with carriage returns
    (a progress bar) shows its last state, as it did on a terminal."""
    if not lines:
        error_line(reporter, f"the log ({where}) is empty")
        return
    error_line(reporter, f"last {len(lines)} line{'s' if len(lines) != 1 else ''} of "
                         f"the log ({where}):")
    reporter.done()
    for line in lines:
        shown = line.rstrip("\r").rsplit("\r", 1)[-1]
        reporter.stream.write(shown + "\n")
    reporter.stream.flush()


def error_line(reporter: TerminalReporter, *parts: str | Outcome) -> None:
    """A failure line: shown even with -q (an ``Outcome`` among the parts is coloured)."""
    reporter.error(*parts)
