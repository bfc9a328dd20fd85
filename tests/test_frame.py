"""Framing: what a node prints around a command never reaches its reader."""

from __future__ import annotations

import subprocess

from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.frame import CUT_SHORT, Frame, FramedTransport
from jobwaiter.transport.local import LocalTransport
from jobwaiter.transport.mock import MockTransport


def _noisy_bash(argv: tuple[str, ...], data: bytes | None) -> CommandResult:
    """Runs the framed argv for real, as a node whose start-up prints would: noise first."""
    proc = subprocess.run(["bash", "-c", 'echo Welcome; echo "status 0 1"; echo warn >&2; '
                           'exec "$@"', "noise", *argv], input=data, capture_output=True,
                          check=False)
    return CommandResult(argv, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_noise_before_the_command_is_dropped() -> None:
    t = FramedTransport(MockTransport(_noisy_bash))
    r = t.run(["bash", "-c", 'echo "answer $1"; echo err >&2; exit 3', "jw", "x y"])
    assert (r.exit_status, r.stdout, r.stderr) == (3, "answer x y\n", "err\n")
    assert r.argv == ("bash", "-c", 'echo "answer $1"; echo err >&2; exit 3', "jw", "x y")


def test_a_plain_argv_is_framed_too() -> None:
    t = FramedTransport(MockTransport(_noisy_bash))
    r = t.run(["printf", "%s", "no newline"])
    assert (r.exit_status, r.stdout, r.stderr) == (0, "no newline", "")


def test_exec_exit_and_traps_in_a_script_cannot_skip_the_end_marker() -> None:
    t = FramedTransport(LocalTransport())
    r = t.run(["bash", "-c", "trap 'echo bye' EXIT; trap - EXIT; exec echo hi"])
    assert (r.exit_status, r.stdout) == (0, "hi\n")
    r = t.run(["bash", "-c", "set -e; false; echo never"])
    assert r.exit_status == 1 and r.stdout == ""


def test_an_answer_cut_short_is_never_a_success() -> None:
    def cut(argv: tuple[str, ...], data: bytes | None) -> CommandResult:
        frame_nonce = argv[5]
        return CommandResult(argv, 0, f"\n<{frame_nonce}\nstatus 0 1\n", "")

    r = FramedTransport(MockTransport(cut)).run(["bash", "-c", "true"])
    assert r.exit_status == CUT_SHORT and "cut short" in r.stderr


def test_a_forged_marker_without_the_nonce_is_ignored() -> None:
    def forged(argv: tuple[str, ...], data: bytes | None) -> CommandResult:
        return CommandResult(argv, 0, "\n<deadbeef\nstatus 0 1\n\n>deadbeef 0\n", "")

    r = FramedTransport(MockTransport(forged)).run(["true"])
    assert r.stdout == "" and r.exit_status == CUT_SHORT


def test_live_output_skips_noise_and_markers() -> None:
    frame = Frame.around(["true"])
    seen: list[tuple[str, str]] = []
    sink = frame.sink(lambda stream, line: seen.append((stream, line)))
    for line in ["Welcome", "", f"<{frame.nonce}", "one", "", "two", "", f">{frame.nonce} 0"]:
        sink("stdout", line)
    assert seen == [("stdout", "one"), ("stdout", ""), ("stdout", "two")]
