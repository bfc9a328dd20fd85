"""The SSH transport: the system OpenSSH client, one multiplexed connection per node.

The ``ssh`` binary (not a Python SSH library) keeps the user's ``~/.ssh/config``, agent,
ProxyJump and known_hosts working. Each node gets one master connection (ControlMaster) whose
socket lives in a short private 0700 directory; every command of a run is a session over it,
so a whole wait costs no new connection while the network is healthy.

ssh exits 255 both when it failed itself and when the remote command exited 255. After a 255
we ask the master whether it still runs (``ssh -O check``, a local socket call): if it does,
the 255 was the remote command's; if not, the connection was lost and the command may or may
not have run. So only calls marked idempotent are retried after a lost connection; setting up
the master is always retried, since nothing was sent yet. A refused login or a changed host
key is never retried (``AccessError``).

Remote commands: the argv is joined with ``shlex.join`` once, here, and given to the
account's login shell (which must be POSIX-like: sh, bash, dash, ksh or zsh) after a fixed
preamble that starts in ``$HOME`` and appends the standard directories to PATH, so nothing
depends on the shell's start-up files. docs/ssh.md describes the environment a job sees.
Stdlib only.
"""

from __future__ import annotations

import contextlib
import math
import os
import posixpath
import random
import secrets
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jobwaiter.errors import AccessError, CommandTimeout, ConnectionLost, TransportError
from jobwaiter.transport.base import CommandResult, OutputSink
from jobwaiter.transport.bounded import run_bounded
from jobwaiter.transport.stream import run_streaming

#: Runs before every remote command. sshd starts a command in the passwd entry's home, which
#: is not always $HOME; and a bare account PATH must still find bash, tmux, screen and flock.
PREAMBLE = ('cd "$HOME" 2>/dev/null; PATH="${PATH:+$PATH:}/usr/local/bin:/usr/bin:/bin"; '
            "export PATH; ")

#: Where a foreground command records its remote pid, so that Ctrl-C can be passed on.
FG_DIR = ".jobwaiter/fg"

#: How long an idle master outlives its last session if we cannot close it ourselves.
CONTROL_PERSIST = 120

# ssh's own words for one session failing while the master may still be up.
_MUX_FAILURE = ("mux_client_", "muxclient:", "Control socket connect", "master hello exchange")
_HOST_KEY_CHANGED = ("REMOTE HOST IDENTIFICATION HAS CHANGED",
                     "has changed and you have requested strict checking")
_HOST_KEY_FAILED = ("Host key verification failed",)
_LOGIN_REFUSED = ("Permission denied", "Too many authentication failures",
                  "Unable to negotiate", "no matching host key type")

_INTERRUPT = (
    'p=$(cat "$1" 2>/dev/null) || exit 0; '
    'g=$(ps -o pgid= -p "$p" 2>/dev/null | tr -d " "); '
    'kill -s INT -- "-${g:-$p}" 2>/dev/null || kill -s INT "$p" 2>/dev/null; exit 0'
)


def remote_command(argv: Sequence[str], pid_file: str | None = None) -> str:
    """The one shell string ssh sends for ``argv``: the preamble, then ``exec`` of the argv
    (so the remote pid is the command's own), quoted once."""
    if not argv:
        raise ValueError("empty command")
    record = ""
    if pid_file is not None:
        folder = shlex.quote(posixpath.dirname(pid_file))
        record = f"mkdir -p {folder} && echo $$ > {shlex.quote(pid_file)}; "
    return PREAMBLE + record + "exec " + shlex.join(argv)


@dataclass(frozen=True)
class SSHTarget:
    """How to reach one node: everything that goes on the ssh command line."""

    host: str
    port: int | None = None
    user: str | None = None
    identity_file: str | None = None
    known_hosts_file: str | None = None
    connect_timeout: float = 10
    #: Extra ``-o Key=Value``, given before ours: for ssh the first value of an option wins.
    options: tuple[tuple[str, str], ...] = ()
    ssh: str = "ssh"
    #: The settings that give the login, named in the hint when it is refused.
    credentials: str = "auth.ssh_user and auth.ssh_private_key"

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and self.port else self.host
        return f"{host}:{self.port}" if self.port else host

    @property
    def known_hosts_name(self) -> str:
        """The host's name as known_hosts spells it."""
        return f"[{self.host}]:{self.port}" if self.port and self.port != 22 else self.host

    def login_options(self) -> list[str]:
        """What a user's own ``ssh`` to this node needs as well."""
        argv: list[str] = []
        if self.port:
            argv += ["-p", str(self.port)]
        if self.user:
            argv += ["-l", self.user]
        if self.identity_file:
            argv += ["-i", self.identity_file, "-o", "IdentitiesOnly=yes"]
        if self.known_hosts_file:
            argv += ["-o", f"UserKnownHostsFile={self.known_hosts_file}"]
        for key, value in self.options:
            argv += ["-o", f"{key}={value}"]
        return argv

    def options_for_jobwaiter(self) -> list[str]:
        return [
            *self.login_options(),
            # Never prompt: a wait in the background has nobody to answer.
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"ConnectTimeout={max(1, math.ceil(self.connect_timeout))}",
            # A silently dead network is noticed within 15 s, not at the next TCP timeout.
            "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3",
            # Forwardings from ~/.ssh/config would clash between parallel masters.
            "-o", "ClearAllForwardings=yes",
        ]

    def shell_prefix(self) -> tuple[str, ...]:
        """The command a user types to get a terminal command on this node."""
        return ("ssh", "-t", *self.login_options(), self.host)


@dataclass(frozen=True)
class Backoff:
    """Jittered exponential backoff: ``attempts`` tries in all, waiting about
    ``first * 2**n`` (half of it random, at most ``cap``) before try n+2."""

    attempts: int = 3
    first: float = 0.5
    cap: float = 4.0

    def delay(self, retry: int) -> float:
        top = min(self.cap, self.first * 2.0**retry)
        return top / 2 + random.uniform(0, top / 2)


class ControlDir:
    """A private (0700) directory for the control sockets of one cluster's connections,
    created on first use. Kept short: a unix socket path must fit in about 104 bytes, and
    ssh adds 17 characters to it while it binds."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._lock = threading.Lock()

    def socket_path(self) -> str:
        with self._lock:
            if self._path is None:
                base = "/tmp" if os.access("/tmp", os.W_OK) else None
                self._path = tempfile.mkdtemp(prefix="jw-ssh-", dir=base)
            # %C: a hash of local host, remote host, port and user, so one socket per node.
            return os.path.join(self._path, "%C")

    def remove(self) -> None:
        with self._lock:
            if self._path is not None:
                shutil.rmtree(self._path, ignore_errors=True)
                self._path = None


class _ConnectionFailed(Exception):
    """ssh itself failed. ``sent``: the command may have reached the node (so only an
    idempotent one may be tried again)."""

    def __init__(self, detail: str, sent: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.sent = sent


class SSHTransport:
    """Runs commands on one node over a master connection it opens on first use and closes
    in ``close()``."""

    def __init__(
        self,
        target: SSHTarget,
        node: str | None = None,
        control: ControlDir | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_output: int | None = None,
    ) -> None:
        self.target = target
        #: A bound on what a captured stream keeps (jobwaiter.transport.bounded), for a
        #: long-lived caller (the head's watcher); None keeps all.
        self.max_output = max_output
        self.node = node or target.label
        self._control = control or ControlDir()
        self._owns_control = control is None
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._master = False  # we started a master that may still run

    # -- the Transport protocol --------------------------------------------------------------

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
        args = tuple(argv)
        began = time.monotonic()
        retry = 0
        while True:
            try:
                # A caller's timeout bounds the whole call, reconnecting included.
                left = None if timeout is None else timeout - (time.monotonic() - began)
                self._ensure_master(left)
                if capture:
                    left = None if timeout is None else \
                        max(1.0, timeout - (time.monotonic() - began))
                    return self._run_captured(args, input, left, output)
                return self._run_through(args, input)
            except _ConnectionFailed as exc:
                may_retry = idempotent or not exc.sent
                delay = self._backoff.delay(retry)
                late = timeout is not None and time.monotonic() - began + delay > timeout
                if not may_retry or retry + 1 >= self._backoff.attempts or late:
                    error = ConnectionLost if exc.sent else TransportError
                    raise error(self._explain(exc, args, retry + 1, idempotent)) from None
                self._sleep(delay)
                retry += 1

    def close(self) -> None:
        """Close the master connection (if we opened one) and its socket directory."""
        with self._lock:
            if self._master:
                self._control_command("exit")
                self._master = False
        if self._owns_control:
            self._control.remove()

    # -- the master connection ---------------------------------------------------------------

    def _options(self) -> list[str]:
        return [*self.target.options_for_jobwaiter(),
                "-o", f"ControlPath={self._control.socket_path()}"]

    def _control_command(self, command: str) -> bool:
        argv = [self.target.ssh, *self._options(), "-O", command, "--", self.target.host]
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return proc.returncode == 0

    def _ensure_master(self, limit: float | None = None) -> None:
        with self._lock:
            if self._master and self._control_command("check"):
                return
            self._master = False
            self._start_master(limit)
            self._master = True

    def _start_master(self, limit: float | None = None) -> None:
        argv = [
            self.target.ssh, *self._options(), "-o", "ControlMaster=yes",
            "-o", f"ControlPersist={CONTROL_PERSIST}", "-f", "-N", "--", self.target.host,
        ]
        most = 2 * self.target.connect_timeout + 10
        limit = most if limit is None else max(1.0, min(most, limit))
        # stderr goes to a file, not a pipe: the master lives on in the background and must
        # not keep a pipe of ours open (it would if the user's ssh_config turns on debug logs).
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=err, timeout=limit, check=False)
            except subprocess.TimeoutExpired:
                raise _ConnectionFailed(f"no answer within {limit:.0f}s", sent=False) from None
            except OSError as exc:
                raise TransportError(f"cannot run {self.target.ssh}: {exc}") from exc
            err.seek(0)
            text = err.read().decode(errors="replace")
        if proc.returncode != 0:
            self._raise_if_refused(text)
            raise _ConnectionFailed(_last_line(text) or f"ssh exited with status "
                                    f"{proc.returncode}", sent=False)

    def _still_connected(self) -> bool:
        with self._lock:
            alive = self._master and self._control_command("check")
            if alive:
                # A master that just lost its connection may answer once more while it exits.
                time.sleep(0.2)
                alive = self._control_command("check")
            self._master = alive
            return alive

    def _raise_if_refused(self, stderr: str) -> None:
        t = self.target
        if any(p in stderr for p in _HOST_KEY_CHANGED):
            known = t.known_hosts_file or "~/.ssh/known_hosts"
            fix = shlex.join(["ssh-keygen", "-f", known, "-R", t.known_hosts_name])
            raise AccessError(f"the host key of {self.node} has changed, so jobwaiter will not "
                              f"connect; if the change is expected, remove the old key: {fix}")
        if any(p in stderr for p in _HOST_KEY_FAILED):
            raise AccessError(f"cannot verify the host key of {self.node}: "
                              f"{_last_line(stderr)}")
        if any(p in stderr for p in _LOGIN_REFUSED):
            raise AccessError(f"{self.node} refused the login ({_last_line(stderr)}); check "
                              f"{t.credentials}")

    def _after_255(self, stderr: str) -> None:
        """Raise _ConnectionFailed unless the 255 was the remote command's own status."""
        if any(p in stderr for p in _MUX_FAILURE):
            raise _ConnectionFailed(_last_line(stderr), sent=True)
        if self._still_connected():
            return
        # Without its master, ssh connects directly: its errors are then the connection's.
        self._raise_if_refused(stderr)
        raise _ConnectionFailed("", sent=True)

    # -- commands ----------------------------------------------------------------------------

    def _session_argv(self, remote: str) -> list[str]:
        return [self.target.ssh, *self._options(), "-o", "ControlMaster=no", "-T",
                "--", self.target.host, remote]

    def _run_captured(
        self,
        argv: tuple[str, ...],
        input: bytes | None,
        timeout: float | None,
        output: OutputSink | None = None,
    ) -> CommandResult:
        session = self._session_argv(remote_command(argv))
        try:
            if output is not None:
                proc = run_streaming(session, output, input=input, timeout=timeout)
            elif self.max_output is not None:
                proc = run_bounded(session, self.max_output, input=input, timeout=timeout)
            else:
                proc = subprocess.run(
                    session,
                    input=input,
                    stdin=None if input is not None else subprocess.DEVNULL,
                    capture_output=True,
                    timeout=timeout,
                    check=False,
                )
        except subprocess.TimeoutExpired as exc:
            raise CommandTimeout(f"{argv[0]} on {self.node} did not finish in time") \
                from exc
        except OSError as exc:
            raise TransportError(f"cannot run {self.target.ssh}: {exc}") from exc
        out = proc.stdout.decode(errors="replace")
        err = proc.stderr.decode(errors="replace")
        if proc.returncode == 255:
            self._after_255(err)
        return CommandResult(argv, proc.returncode, out, err, self.node)

    def _run_through(self, argv: tuple[str, ...], input: bytes | None) -> CommandResult:
        """A foreground command with our stdout and stderr. ssh runs in its own session, so a
        Ctrl-C reaches us and not it: we pass it on as SIGINT to the remote command's process
        group and keep waiting for the command to record how it ended. A second Ctrl-C stops
        waiting (the remote command may then still run)."""
        pid_file = f"{FG_DIR}/{secrets.token_hex(8)}"
        try:
            proc = subprocess.Popen(
                self._session_argv(remote_command(argv, pid_file)),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise TransportError(f"cannot run {self.target.ssh}: {exc}") from exc
        if input is not None and proc.stdin is not None:
            try:
                with proc.stdin:
                    proc.stdin.write(input)
            except BrokenPipeError:
                pass  # the command ended (or failed) before reading it all
        try:
            returncode = proc.wait()
        except KeyboardInterrupt:
            self._interrupt(pid_file)
            try:
                returncode = proc.wait()
            except KeyboardInterrupt:
                proc.terminate()
                proc.wait()
                raise
        if returncode == 255:
            self._after_255("")  # ssh's own messages, if any, went to the terminal
        self._forget(pid_file)
        return CommandResult(argv, returncode, "", "", self.node)

    def _interrupt(self, pid_file: str) -> None:
        with contextlib.suppress(TransportError):  # else nothing more can be done
            self.run(["sh", "-c", _INTERRUPT, "sh", pid_file], timeout=30)

    def _forget(self, pid_file: str) -> None:
        with contextlib.suppress(TransportError):  # a leftover pid file is harmless
            self.run(["rm", "-f", "--", pid_file], timeout=30, idempotent=True)

    def _explain(
        self, exc: _ConnectionFailed, argv: tuple[str, ...], attempts: int, idempotent: bool
    ) -> str:
        tries = f" (tried {attempts} times)" if attempts > 1 else ""
        if not exc.sent:
            return f"cannot reach {self.node}: {exc.detail}{tries}"
        if idempotent:
            detail = f": {exc.detail}" if exc.detail else ""
            return f"lost the connection to {self.node}{detail}{tries}"
        return (f"lost the connection to {self.node} while running {shlex.join(argv[:1])}: "
                "it may or may not have run, and is not run again")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
