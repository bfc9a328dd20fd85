"""Faults: a head that drops off the network during a wait, unreachable hosts, wrong keys,
changed host keys and bad configs. Never success by accident, never a job launched twice."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time

import pytest
from sshd import free_port, keygen

from polling import wait_for

# docs/ssh.md: a silent head delays the answer past --job-timeout by about 10 s at most (plus
# slack for a loaded machine).
SILENT_GRACE = 10 + 5


@pytest.mark.slow
def test_outage_during_the_wait(ssh) -> None:
    """The head's sshd and every connection it serves die for 15 s while the job ends."""
    head = ssh.head
    proc = ssh.spawn("exec", str(ssh.config), "sleep 3; exit 7", "--tmux",
                     "--job-waiter=tmux")
    try:
        wait_for(head.job_started, 15)
        time.sleep(0.5)  # the wait is on: a check blocks on the job's lock
        logins = head.accepted()
        head.kill_all()
        down_at = time.monotonic()
        wait_for(lambda: (head.jobs / head.records()[0].name / "status").exists(), 10)
        time.sleep(max(0.0, 15 - (time.monotonic() - down_at)))
        assert proc.poll() is None, "returned while the head was unreachable"
        head.start()
        up_at = time.monotonic()
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 7, err
    assert "reconnecting" in err and "reconnected" in err
    assert "result: failed (exit status 7)" in err
    assert time.monotonic() - up_at < 10, "the end is seen soon after the head is back"
    assert len(head.records()) == 1, "launched once"
    assert head.accepted() - logins == 1, "one new connection after the outage"


@pytest.mark.slow
def test_unreachable_until_the_timeout_is_not_success(ssh) -> None:
    head = ssh.head
    proc = ssh.spawn("exec", str(ssh.config), "sleep 1", "--tmux", "--job-waiter=tmux",
                     "--job-timeout", "4", "--json")
    try:
        # Cut as soon as the record exists: the launch may or may not have answered yet, and
        # either way the answer must be "unknown", with the job named, never a success.
        wait_for(lambda: bool(head.records()), timeout=15)
        head.kill_all()
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 255, err
    assert '"outcome": "unreachable"' in out
    assert "state is unknown" in err
    assert len(head.records()) == 1, "launched once"


def test_unreachable_host(ssh, cli) -> None:
    closed = free_port("127.0.0.24")  # nothing listens there
    config = ssh.write_config("down.yaml", head=f"127.0.0.24:{closed}", workers=0)
    t0 = time.monotonic()
    r = cli("exec", str(config), "true", "-q")
    assert r.code == 255
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach 127.0.0.24:{closed}" in lines[0], r.err
    assert "Connection refused" in lines[0] and "tried 3 times" in lines[0]
    assert time.monotonic() - t0 < 10


def test_wrong_key_is_refused_without_retrying(ssh, cli, tmp_path) -> None:
    other = tmp_path / "other"
    keygen(other)
    config = ssh.write_config("wrongkey.yaml", key=other)
    r = cli("exec", str(config), "true")
    assert r.code == 255
    assert "refused the login" in r.err and "Permission denied" in r.err
    assert ssh.head.records() == []


def test_changed_host_key_is_an_error_not_a_reconnect(ssh, cli, tmp_path) -> None:
    impostor = tmp_path / "impostor"
    keygen(impostor)
    pub = (tmp_path / "impostor.pub").read_text().split()
    entry = f"[{ssh.head.addr}]:{ssh.head.port} {pub[0]} {pub[1]}\n"
    ssh.known_hosts.write_text(entry)
    r = cli("exec", str(ssh.config), "touch ~/ran", "-q")
    assert r.code == 255
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "host key" in lines[0] and "has changed" in lines[0], r.err
    assert "ssh-keygen -f" in lines[0]
    assert ssh.known_hosts.read_text() == entry, "the known key is never replaced"
    assert not (ssh.head.home / "ran").exists()


def test_new_host_key_is_accepted_and_remembered(ssh, cli) -> None:
    assert not ssh.known_hosts.exists()
    assert cli("exec", str(ssh.config), "true").code == 0
    listed = subprocess.run(["ssh-keygen", "-F", f"[{ssh.head.addr}]:{ssh.head.port}",
                             "-f", str(ssh.known_hosts)], capture_output=True, check=False)
    assert listed.returncode == 0


@pytest.mark.parametrize(
    ("auth", "fragment"),
    [
        ("  ssh_private_key: /nonexistent/key\n", "auth.ssh_private_key: /nonexistent/key: No "
                                                   "such file"),
        ("  ssh_options: {NoSuchOption: 1}\n", "auth.ssh_options: rejected by ssh"),
        ("  ssh_options: {StrictHostKeyChecking: 'no'}\n", "StrictHostKeyChecking=no is "
                                                            "refused"),
        ("  ssh_options: {ControlPath: /tmp/x}\n", "ControlPath cannot be set here"),
        ("  ssh_port: 70000\n", "auth.ssh_port"),
    ],
)
def test_bad_auth_config_fails_before_connecting(ssh, cli, auth: str, fragment: str) -> None:
    text = (f"cluster_name: t\nprovider:\n  type: ssh\n  head_ip: {ssh.head.address}\n"
            f"auth:\n{auth}")
    config = ssh.home / "bad.yaml"
    config.write_text(text)
    before = ssh.accepted()
    r = cli("exec", str(config), "true")
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"jobwaiter: error: {config}: "), r.err
    assert fragment in lines[0]
    assert ssh.accepted() == before


@pytest.mark.parametrize("head", ["-oProxyCommand=touch /tmp/x", "host:0", "[::1", "a b"])
def test_bad_host_fails_before_connecting(ssh, cli, head: str) -> None:
    config = ssh.home / "badhost.yaml"
    config.write_text(f"cluster_name: t\nprovider:\n  type: ssh\n  head_ip: '{head}'\n")
    r = cli("exec", str(config), "true")
    assert r.code == 2
    assert "provider.head_ip:" in r.err and len(r.err.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_silent_head_does_not_stretch_the_timeout(ssh) -> None:
    """The head stops answering without closing anything (its sshd processes are frozen:
    connections stay open, packets go unanswered), the way a dropped route looks."""
    head = ssh.head
    proc = ssh.spawn("exec", str(ssh.config), "sleep 120", "--tmux", "--job-waiter=tmux",
                     "--job-timeout", "6", "--json")
    frozen: list[int] = []
    try:
        wait_for(head.job_started, 15)
        time.sleep(1)  # the wait is on
        frozen = head.sshd_pids()
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=120)
        late = time.monotonic() - t0
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        proc.kill()
    assert proc.returncode == 255, err
    assert '"outcome": "unreachable"' in out
    assert late < 6 + SILENT_GRACE, f"returned {late:.1f}s after the head went silent"


@pytest.mark.parametrize("spelling", ["yes", "TRUE", "Ask", "accept-new", None])
def test_changed_host_key_is_refused_with_every_allowed_spelling(
    ssh, cli, tmp_path, spelling: str | None
) -> None:
    impostor = tmp_path / "impostor"
    keygen(impostor)
    pub = (tmp_path / "impostor.pub").read_text().split()
    entry = f"[{ssh.head.addr}]:{ssh.head.port} {pub[0]} {pub[1]}\n"
    ssh.known_hosts.write_text(entry)
    extra = f"  ssh_options: {{StrictHostKeyChecking: {spelling}}}\n" if spelling else ""
    config = ssh.write_config("strict.yaml", extra=extra)
    r = cli("exec", str(config), "touch ~/ran", "-q")
    assert r.code == 255, r.err
    assert "has changed" in r.err
    assert ssh.known_hosts.read_text() == entry
    assert not (ssh.head.home / "ran").exists()


@pytest.mark.parametrize("spelling", ["no", "false", "OFF", "False"])
def test_disabling_spellings_stop_before_connecting(ssh, cli, spelling: str) -> None:
    before = ssh.accepted()
    config = ssh.write_config("off.yaml",
                              extra=f"  ssh_options: {{StrictHostKeyChecking: {spelling}}}\n")
    r = cli("exec", str(config), "touch ~/ran")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert "is refused" in r.err
    assert ssh.accepted() == before
    assert not (ssh.head.home / "ran").exists()


def test_user_ssh_config_without_known_hosts_stops_before_connecting(
    ssh, cli, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ssh reads ~/.ssh/config from the passwd home, not $HOME: an ssh on PATH passes ours.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} '
                                 f'-F {tmp_path}/ssh_config "$@"\n')
    (bin_dir / "ssh").chmod(0o755)
    (tmp_path / "ssh_config").write_text(f"Host {ssh.workers[0].addr}\n"
                                         "  UserKnownHostsFile /dev/null\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    text = ssh.farm.config(ssh.known_hosts).replace(f"  known_hosts_file: {ssh.known_hosts}\n",
                                                    "")
    config = ssh.home / "nokh.yaml"
    config.write_text(text)
    before = ssh.accepted()
    r = cli("exec", str(config), "touch ~/ran")
    assert r.code == 2, r.err
    line = r.err.strip()
    assert line.startswith(f"jobwaiter: error: host {ssh.workers[0].address}: ") and \
        "/dev/null" in line, r.err
    assert ssh.accepted() == before
    assert not (ssh.head.home / "ran").exists()
