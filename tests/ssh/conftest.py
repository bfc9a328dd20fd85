"""Fixtures for the SSH tests: three private sshd "hosts" on loopback for the whole session
(a head and two workers), and per test a cluster file, a fresh known_hosts file and clean
hosts afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sshd import SSHD, Farm, Host, start_farm, stop_farm

ADDRS = ["127.0.0.21", "127.0.0.22", "127.0.0.23"]


@pytest.fixture(scope="session")
def farm() -> Iterator[Farm]:
    if not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")):
        pytest.skip("needs the OpenSSH server and client (apt-get install openssh-server)")
    root = Path(tempfile.mkdtemp(prefix="jws", dir="/tmp"))  # short: sockets live below
    try:
        f = start_farm(root, ADDRS)
    except (OSError, RuntimeError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start a private sshd here: {exc}")
    yield f
    stop_farm(f)
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class SSHEnv:
    farm: Farm
    local: object  # the `env` fixture's Env: this machine's private HOME
    home: Path
    known_hosts: Path
    config: Path

    @property
    def head(self) -> Host:
        return self.farm.head

    @property
    def workers(self) -> list[Host]:
        return self.farm.workers

    def write_config(self, name: str = "ssh.yaml", **kw: object) -> Path:
        p = self.home / name
        p.write_text(self.farm.config(self.known_hosts, **kw))  # type: ignore[arg-type]
        return p

    def accepted(self) -> list[int]:
        return [h.accepted() for h in self.farm.hosts]

    def spawn(self, *argv: str) -> subprocess.Popen[str]:
        """The CLI in its own process, for tests that act while it waits."""
        return subprocess.Popen([sys.executable, "-m", "jobwaiter.cli.main", *argv],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ))


@pytest.fixture
def ssh(farm: Farm, env, monkeypatch: pytest.MonkeyPatch) -> Iterator[SSHEnv]:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # only the test key may log in
    for host in farm.hosts:
        if not host.running:  # a test stopped it
            host.start()
    known_hosts = env.home / "known_hosts"
    s = SSHEnv(farm, env, env.home, known_hosts, env.home / "ssh.yaml")
    s.write_config()
    yield s
    for host in farm.hosts:
        if not host.running:
            host.start()
        host.clean()


@pytest.fixture
def head_key(ssh: SSHEnv) -> Iterator[Path]:
    """A key of the head's own for the workers (``head_to_workers: key_file``), authorized on
    every host of the farm for the test's length."""
    from sshd import keygen

    key = ssh.home / "head_key"
    keygen(key)
    authorized = ssh.farm.root / "authorized_keys"
    before = authorized.read_text()
    authorized.write_text(before + (ssh.home / "head_key.pub").read_text())
    try:
        yield key
    finally:
        authorized.write_text(before)
