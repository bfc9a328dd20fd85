"""Autostop over SSH: the head reads the workers' jobs and stops them with its own key; an
interactive login on the head keeps the cluster up. Real sshd (the farm's hosts), tmux."""

from __future__ import annotations

import json
import subprocess
import time

from sshd import user

from polling import looked_past_the_idle_time, wait_for

STOP = ("head_stop_commands:\n  - echo stopped >> ~/cluster.log\n"
        "worker_stop_commands:\n  - echo stopped >> ~/worker.log\n")


def _log(host, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    path = host.home / name
    return path.read_text().splitlines() if path.exists() else []


def test_workers_need_head_to_workers(ssh, cli) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(extra=STOP)
    r = cli("autostop", str(config), "--idle", "1h")
    assert r.code == 2 and "set head_to_workers" in r.err, r.err
    assert not (ssh.head.home / ".jobwaiter" / "watch" / "autostop.json").exists()


def test_a_job_on_a_worker_keeps_the_cluster_up_then_all_nodes_stop(ssh, cli, head_key) -> None:  # type: ignore[no-untyped-def]
    key = head_key
    config = ssh.write_config(extra=STOP + f"head_to_workers:\n  key_file: {key}\n")
    assert cli("exec", str(config), "true", "--all-nodes").code == 0  # learn host keys
    worker = ssh.workers[0]
    r = cli("exec", str(config), "sleep 8", "--tmux", "--node-ip", worker.address,
            "--json")
    assert r.code == 0, r.err
    name = r.json["job"]
    r = cli("autostop", str(config), "--idle", "3s", "--wait-for", "jobs")
    assert r.code == 0, r.err
    assert f"job {name} is running on {worker.address}" in r.out, r.out
    record = worker.jobs / name
    wait_for(lambda: (record / "status").exists(), 30)
    ended = float((record / "status").read_text().split()[1])
    assert _log(ssh.head, "cluster.log") == [], "stopped under a worker's job"
    wait_for(lambda: _log(ssh.head, "cluster.log") == ["stopped"], 40)
    assert [_log(w, "worker.log") for w in ssh.workers] == [["stopped"], ["stopped"]]
    path = ssh.head.home / ".jobwaiter" / "watch" / "autostop.state"
    # The head's stop command has run; the stop's outcome is recorded just after.
    wait_for(lambda: (json.loads(path.read_text()).get("stop") or {}).get("ok") is not None, 30)
    state = json.loads(path.read_text())
    assert state["fired_at"] >= ended + 3 and state["stop"]["ok"] is True, state


def test_an_interactive_login_on_the_head_keeps_the_cluster_up(ssh, cli) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(workers=0, extra=STOP)
    assert cli("exec", str(config), "true").code == 0  # learn the head's host key
    head = ssh.head
    login = subprocess.Popen(
        ["ssh", "-tt", "-F", "/dev/null", "-i", str(ssh.farm.key), "-p", str(head.port),
         "-o", f"UserKnownHostsFile={ssh.known_hosts}", "-o", "StrictHostKeyChecking=yes",
         "-o", "BatchMode=yes", f"{user()}@{head.addr}", "sleep 300"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = None
        for _ in range(50):  # the login's session process, once sshd has set it up
            r = cli("autostop", str(config), "--idle", "3s")
            if "logged in on pts/" in r.out:
                break
            time.sleep(0.2)
        assert r is not None and r.code == 0 and "logged in on pts/" in r.out, r
        looked_past_the_idle_time(head.home / ".jobwaiter" / "watch" / "autostop.state",
                                  lambda: _log(head, "cluster.log"))
        assert _log(head, "cluster.log") == [], "stopped under a logged-in user"
    finally:
        login.kill()
        login.wait()
    wait_for(lambda: _log(head, "cluster.log") == ["stopped"], 40)
