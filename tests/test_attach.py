"""`jobwaiter attach`: a real terminal (a pty) attached to a real tmux or screen session of a
job, detached again with the keys; and every refusal (no terminal, no session, ended job) is
exit 2 with one line."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.errors import UsageError

SRC = Path(__file__).resolve().parents[1] / "src"
JOBWAITER = [sys.executable, "-m", "jobwaiter.cli.main"]


def _controlling_tty() -> None:
    # In the child, after setsid (start_new_session): the pty becomes its terminal, as it
    # is for anything started from a real terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class Terminal:
    """A process running in a pseudo-terminal, with what it printed so far."""

    proc: subprocess.Popen[bytes]
    fd: int
    screen: bytearray = field(default_factory=bytearray)

    def read_until(self, found: Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while not found(self.text):
            left = deadline - time.monotonic()
            exited = self.proc.poll() is not None
            if left <= 0 or exited:
                self._read(0.1)
                if found(self.text):
                    break
                why = "the process exited" if exited else f"not seen within {timeout}s"
                raise AssertionError(f"{why}; the terminal shows:\n{self.text[-2000:]}")
            self._read(min(left, 0.2))
        return self.text

    @property
    def text(self) -> str:
        return self.screen.decode(errors="replace")

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def finish(self, timeout: float = 20) -> int:
        """Wait for the process to exit, reading what it prints meanwhile."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        self._read(0.1)
        return self.proc.wait(timeout=5)

    def _read(self, wait: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            with contextlib.suppress(OSError):  # the process has gone and closed its end
                self.screen += os.read(self.fd, 65536)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.fd)


def in_terminal(*argv: str) -> Terminal:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(SRC), "TERM": "xterm"}
    proc = subprocess.Popen([*JOBWAITER, *argv], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True, preexec_fn=_controlling_tty)
    os.close(slave)
    return Terminal(proc, master)


def start_job(cli, env, command: str, *opts: str) -> str:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), command, *opts, "--json")
    assert r.json["session"] or r.json["job"], r.err
    return str(r.json["session"] or r.json["job"])


def tmux_clients(name: str) -> list[str]:
    out = subprocess.run(["tmux", "list-clients", "-t", f"={name}"], capture_output=True,
                         text=True, check=False)
    return out.stdout.splitlines()


@pytest.mark.parametrize(("kind", "detach"), [("tmux", b"\x02d"), ("screen", b"\x01d")])
def test_attach_for_real_then_detach_leaves_the_job_running(env, cli, kind: str,
                                                            detach: bytes) -> None:  # type: ignore[no-untyped-def]
    name = start_job(cli, env, "echo hello-from-the-job; sleep 60", f"--{kind}")
    term = in_terminal("attach", str(env.config), name)
    try:
        term.read_until(lambda t: "hello-from-the-job" in t)
        assert f"attaching to {kind} session {name}" in term.text
        if kind == "tmux":
            assert len(tmux_clients(name)) == 1, "a client must be attached to the session"
        term.type(detach)
        code = term.finish()
    finally:
        term.close()
    assert code == 0, term.text
    assert "detached" in term.text
    assert env.status(name) is None, "detaching must leave the job running"
    if kind == "tmux":
        assert tmux_clients(name) == []


def test_without_a_job_the_newest_running_session_job_is_chosen(env, cli) -> None:  # type: ignore[no-untyped-def]
    older = start_job(cli, env, "echo the-older-job; sleep 60", "--tmux")
    time.sleep(0.05)
    newer = start_job(cli, env, "echo the-newer-job; sleep 60", "--tmux")
    start_job(cli, env, "true")  # a newer job, in the foreground: not a candidate
    term = in_terminal("attach", str(env.config))
    try:
        term.read_until(lambda t: "the-newer-job" in t)
        assert tmux_clients(newer) and not tmux_clients(older)
        term.type(b"\x02d")
        assert term.finish() == 0
    finally:
        term.close()
    with Cluster(env.config) as cluster:
        target = cluster.attach_target()
    assert (target.job, target.session_kind, target.detach_keys) == (newer, "tmux", "Ctrl-b d")
    assert target.argv == ("tmux", "attach-session", "-t", f"={newer}")


def test_without_a_terminal_attach_is_refused_before_anything(env, cli) -> None:  # type: ignore[no-untyped-def]
    name = start_job(cli, env, "sleep 60", "--tmux")
    proc = subprocess.run([*JOBWAITER, "attach", str(env.config), name],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=30)
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("jobwaiter: error: attach needs a terminal")
    # Refused before the config is even read: a missing file makes no difference.
    proc = subprocess.run([*JOBWAITER, "attach", "/nonexistent.yaml"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=30)
    assert proc.returncode == 2 and "needs a terminal" in proc.stderr


def refusal(env, *argv: str) -> str:  # type: ignore[no-untyped-def]
    term = in_terminal("attach", str(env.config), *argv)
    try:
        code = term.finish()
    finally:
        term.close()
    lines = [ln for ln in term.text.replace("\r", "").splitlines() if ln.strip()]
    assert code == 2, term.text
    assert len(lines) == 1, lines
    return lines[0]


def test_refusals_in_a_terminal_are_one_line_exit_2(env, cli) -> None:  # type: ignore[no-untyped-def]
    assert "no job is running in a tmux or screen session" in refusal(env)
    fg = start_job(cli, env, "true")
    assert f"job {fg} ran in the foreground" in refusal(env, fg)
    r = cli("exec", str(env.config), "exit 3", "--tmux", "--job-waiter=tmux", "--json")
    ended = r.json["session"]
    line = refusal(env, ended)
    assert f"job {ended} has ended (failed (3)) and its tmux session is gone" in line
    assert "no job 'train' on the head" in refusal(env, "train")
    assert "no job jobwaiter-000000000000" in refusal(env, "jobwaiter-000000000000")


def test_a_session_kept_open_after_its_job_ended_can_be_attached(env, cli) -> None:  # type: ignore[no-untyped-def]
    """Without a waiter the session stays open after the job, to be looked at."""
    name = start_job(cli, env, "echo kept-open", "--screen")
    deadline = time.monotonic() + 10
    while env.status(name) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    with Cluster(env.config) as cluster:
        target = cluster.attach_target(name)
    assert target.argv == ("screen", "-r", name) and target.detach_keys == "Ctrl-a d"


@settings(max_examples=int(os.environ.get("JW_HYPOTHESIS_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(job=st.text(max_size=40))
def test_any_other_text_as_job_is_a_usage_error(env, job: str) -> None:  # type: ignore[no-untyped-def]
    with Cluster(env.config) as cluster, pytest.raises(UsageError) as info:
        cluster.attach_target(job)
    assert "\n" not in str(info.value).replace(repr(job), "")
