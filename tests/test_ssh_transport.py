"""The SSH transport's decisions, against a scripted stand-in for the ssh binary: what is
retried, what never is, how a 255 is read, and the command line it builds."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobwaiter.errors import AccessError, TransportError
from jobwaiter.transport.ssh import (
    PREAMBLE,
    Backoff,
    ControlDir,
    SSHTarget,
    SSHTransport,
    remote_command,
)
from jobwaiter.waiters.base import Check, JobContext, Waiter
from jobwaiter.waiters.loop import WaitLoop

# Answers come from scenario.json: lists per kind of call ("master", "check", "run"), used
# in order; the last answer repeats. Every call is logged to calls.jsonl.
FAKE_SSH = r"""#!PYTHON
import json, os, sys
d = os.environ["FAKE_SSH_DIR"]
args = sys.argv[1:]
kind = "check" if "-O" in args and args[args.index("-O") + 1] == "check" else \
       "exit" if "-O" in args else "master" if "-N" in args else "run"
with open(os.path.join(d, "calls.jsonl"), "a") as f:
    f.write(json.dumps({"kind": kind, "args": args}) + "\n")
scenario = json.load(open(os.path.join(d, "scenario.json")))
answers = scenario.get(kind) or [{"rc": 0}]
count_file = os.path.join(d, kind + ".count")
n = int(open(count_file).read()) if os.path.exists(count_file) else 0
open(count_file, "w").write(str(n + 1))
answer = answers[min(n, len(answers) - 1)]
if kind == "run" and not sys.stdin.isatty():
    sys.stdin.read()
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("rc", 0))
"""

REFUSED = "ssh: connect to host 10.0.0.5 port 22: Connection refused\r\n"


class Fake:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ssh = root / "ssh"
        self.ssh.write_text(FAKE_SSH.replace("PYTHON", sys.executable))
        self.ssh.chmod(self.ssh.stat().st_mode | stat.S_IEXEC)
        self.sleeps: list[float] = []
        self.made: list[SSHTransport] = []

    def scenario(self, **answers: list[dict[str, object]]) -> None:
        (self.root / "scenario.json").write_text(json.dumps(answers))

    def calls(self, kind: str | None = None) -> list[list[str]]:
        path = self.root / "calls.jsonl"
        rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
        return [r["args"] for r in rows if kind is None or r["kind"] == kind]

    def transport(self) -> SSHTransport:
        target = SSHTarget("10.0.0.5", user="ubuntu", ssh=str(self.ssh),
                           options=(("ServerAliveInterval", "9"),))
        t = SSHTransport(target, backoff=Backoff(attempts=3, first=0.5),
                         sleep=self.sleeps.append)
        self.made.append(t)
        return t


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    monkeypatch.setenv("FAKE_SSH_DIR", str(tmp_path))
    f = Fake(tmp_path)
    f.scenario()
    yield f
    for t in f.made:
        t.close()  # removes its control directory


def test_command_line(fake: Fake) -> None:
    t = fake.transport()
    result = t.run(["printf", "%s\n", "a b", "$(x)"], idempotent=True)
    assert result.ok and result.node == "10.0.0.5"
    master, run = fake.calls("master")[0], fake.calls("run")[0]
    for argv in (master, run):
        assert "BatchMode=yes" in argv and "StrictHostKeyChecking=accept-new" in argv
        # The user's options come first: for ssh the first value wins.
        assert argv.index("ServerAliveInterval=9") < argv.index("ServerAliveInterval=5")
        path = next(a for a in argv if a.startswith("ControlPath="))[len("ControlPath="):]
        assert path.endswith("/%C")
        assert argv[-2 if argv is run else -1] == "10.0.0.5" and "--" in argv
    assert "ControlMaster=yes" in master and "-f" in master and "-N" in master
    assert "ControlMaster=no" in run and "-T" in run
    # The argv is quoted exactly once, after the fixed preamble.
    assert run[-1] == PREAMBLE + "exec " + shlex.join(["printf", "%s\n", "a b", "$(x)"])
    t.close()
    assert fake.calls("exit"), "close() ends the master"


def test_remote_command_is_literal_through_a_shell(tmp_path: Path) -> None:
    argv = ["printf", "%s|", "a b", "it's", "$HOME", "`id`", "\n", "*", ""]
    remote = remote_command(argv)
    out = subprocess.run(["sh", "-c", remote], capture_output=True, text=True,
                         env={**os.environ, "HOME": str(tmp_path)}, check=True).stdout
    assert out == "a b|it's|$HOME|`id`|\n|*||"


def test_control_path_is_short_and_private() -> None:
    d = ControlDir()
    try:
        path = d.socket_path()
        folder = os.path.dirname(path)
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        # %C becomes 40 hex characters, and ssh appends 17 more while binding.
        assert len(folder) + 1 + 40 + 17 < 104
    finally:
        d.remove()
    assert not os.path.exists(folder)


def test_remote_255_with_the_master_alive_is_the_commands_status(fake: Fake) -> None:
    fake.scenario(run=[{"rc": 255, "stderr": "the job's own message\n"}])
    result = fake.transport().run(["false"])
    assert result.exit_status == 255 and "own message" in result.stderr
    assert len(fake.calls("run")) == 1


def test_lost_connection_retries_an_idempotent_call(fake: Fake) -> None:
    fake.scenario(run=[{"rc": 255}], check=[{"rc": 255}])
    with pytest.raises(TransportError, match=r"lost the connection to 10\.0\.0\.5"):
        fake.transport().run(["check"], idempotent=True)
    assert len(fake.calls("run")) == 3
    assert len(fake.sleeps) == 2
    assert 0.25 <= fake.sleeps[0] <= 0.5 and 0.5 <= fake.sleeps[1] <= 1.0


def test_lost_connection_never_reruns_a_launch(fake: Fake) -> None:
    fake.scenario(run=[{"rc": 255}], check=[{"rc": 255}])
    with pytest.raises(TransportError, match="may or may not have run"):
        fake.transport().run(["launch"])
    assert len(fake.calls("run")) == 1
    assert fake.sleeps == []


def test_master_setup_is_retried_even_for_a_launch(fake: Fake) -> None:
    # Nothing was sent while the master could not connect, so trying again is safe.
    fake.scenario(master=[{"rc": 255, "stderr": REFUSED}, {"rc": 255, "stderr": REFUSED},
                          {"rc": 0}])
    assert fake.transport().run(["launch"]).ok
    assert len(fake.calls("master")) == 3 and len(fake.calls("run")) == 1


def test_unreachable_after_the_attempts(fake: Fake) -> None:
    fake.scenario(master=[{"rc": 255, "stderr": REFUSED}])
    with pytest.raises(TransportError, match="cannot reach 10.0.0.5: .*Connection refused "
                                             r"\(tried 3 times\)"):
        fake.transport().run(["true"])
    assert fake.calls("run") == []


def test_retries_stop_at_the_calls_timeout(fake: Fake) -> None:
    fake.scenario(master=[{"rc": 255, "stderr": REFUSED}])
    with pytest.raises(TransportError):
        fake.transport().run(["true"], timeout=0.1)
    assert len(fake.calls("master")) == 1


@pytest.mark.parametrize(
    ("stderr", "message"),
    [
        ("@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@\n"
         "Host key for 10.0.0.5 has changed and you have requested strict checking.\n"
         "Host key verification failed.\n", "the host key of 10.0.0.5 has changed"),
        ("Host key verification failed.\n", "cannot verify the host key"),
        ("ubuntu@10.0.0.5: Permission denied (publickey).\n", "refused the login"),
    ],
)
def test_refusals_are_never_retried(fake: Fake, stderr: str, message: str) -> None:
    fake.scenario(master=[{"rc": 255, "stderr": stderr}])
    with pytest.raises(AccessError, match=message):
        fake.transport().run(["true"], idempotent=True)
    assert len(fake.calls("master")) == 1


def test_a_failed_session_on_a_live_master_is_retried_when_idempotent(fake: Fake) -> None:
    fake.scenario(run=[{"rc": 255, "stderr": "mux_client_request_session: session request "
                                             "failed: Session open refused by peer\n"},
                       {"rc": 0, "stdout": "ok"}])
    assert fake.transport().run(["cat", "x"], idempotent=True).stdout == "ok"


def test_the_master_is_reused_and_checked(fake: Fake) -> None:
    t = fake.transport()
    for _ in range(3):
        t.run(["true"])
    assert len(fake.calls("master")) == 1 and len(fake.calls("check")) == 2
    fake.scenario(check=[{"rc": 255}])  # the master went away: set it up again
    t.run(["true"])
    assert len(fake.calls("master")) == 2


def test_backoff_is_jittered_and_capped() -> None:
    b = Backoff(first=1.0, cap=4.0)
    for retry, top in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 4.0)]:
        delays = {b.delay(retry) for _ in range(50)}
        assert all(top / 2 <= d <= top for d in delays) and len(delays) > 1


class _Refused(Waiter):
    name = "refused"

    def check(self, job: JobContext, block: float) -> Check:
        raise AccessError("the host key of head has changed")


def test_the_wait_loop_does_not_reconnect_after_a_refusal(fake: Fake) -> None:
    loop = WaitLoop(sleep=lambda s: None)
    with pytest.raises(AccessError):
        loop.run([_Refused()], JobContext("jobwaiter-000000000000", fake.transport()),
                 timeout=5)


def test_shell_prefix_for_attach_commands() -> None:
    target = SSHTarget("10.0.0.5", port=2222, user="ubuntu", identity_file="/k",
                       known_hosts_file="/kh", options=(("ProxyJump", "bastion"),))
    assert target.shell_prefix() == (
        "ssh", "-t", "-p", "2222", "-l", "ubuntu", "-i", "/k", "-o", "IdentitiesOnly=yes",
        "-o", "UserKnownHostsFile=/kh", "-o", "ProxyJump=bastion", "10.0.0.5")
    assert target.label == "10.0.0.5:2222"
    assert target.known_hosts_name == "[10.0.0.5]:2222"
    assert SSHTarget("fe80::1", port=2222).label == "[fe80::1]:2222"
