"""The stop over SSH, with real workers: a job on a worker keeps every --stop waiting (the
head's and a client's), a worker key the workers refuse and a worker whose host key is not
known are refused before anything is launched, and status reads each worker's own state.
Real sshd (the farm's hosts), tmux."""

from __future__ import annotations

import subprocess

from sshd import keygen, user

from polling import wait_for

STOP = ("head_stop_commands:\n  - echo stopped >> ~/cluster.log\n"
        "worker_stop_commands:\n  - echo stopped >> ~/worker.log\n")


def _log(host, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    path = host.home / name
    return path.read_text().splitlines() if path.exists() else []


def _worker_job(ssh, cli, config, seconds: int) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    worker = ssh.workers[0]
    r = cli("exec", str(config), f"sleep {seconds}", "--tmux", "--node-ip", worker.address,
            "--json")
    assert r.code == 0, r.err
    return r.json["job"], worker


def _ended(worker, name: str) -> float:  # type: ignore[no-untyped-def]
    record = worker.jobs / name
    wait_for(lambda: (record / "status").exists(), 30)
    return float((record / "status").read_text().split()[1])


def test_a_job_on_a_worker_defers_the_heads_stop(ssh, cli, head_key) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(extra=STOP + f"head_to_workers:\n  key_file: {head_key}\n")
    assert cli("exec", str(config), "true", "--all-nodes").code == 0  # learn host keys
    name, worker = _worker_job(ssh, cli, config, 5)
    r = cli("exec", str(config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--json")
    assert r.code == 0, r.err
    assert r.json["stop"]["state"] == "deferred", r.json
    assert r.json["stop"]["detail"] == f"stop deferred: waiting for {name} on {worker.address}"
    assert _log(ssh.head, "cluster.log") == [], "stopped under a worker's job"
    ended = _ended(worker, name)
    wait_for(lambda: _log(ssh.head, "cluster.log") == ["stopped"], 40)
    assert (ssh.head.home / "cluster.log").stat().st_mtime >= ended
    assert [_log(w, "worker.log") for w in ssh.workers] == [["stopped"], ["stopped"]]
    w = cli("wait", str(config), r.json["job"], "--json")
    assert w.json["stop"]["state"] == "done", w.json
    assert w.json["stop"]["detail"] == "stopped cluster t (head: 1 command; workers: 2 of 2)"


def test_a_job_on_a_worker_defers_a_clients_stop(ssh, cli) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(extra=STOP)
    name, worker = _worker_job(ssh, cli, config, 4)
    r = cli("exec", str(config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--watch", "client", "--json")
    assert r.code == 0, r.err
    assert f"stop deferred: waiting for {name} on {worker.address}" in r.err
    assert r.json["stop"]["state"] == "done" and r.json["stop"]["ran"] is True, r.json
    assert (ssh.head.home / "cluster.log").stat().st_mtime >= _ended(worker, name)
    assert _log(ssh.head, "cluster.log") == ["stopped"]


def test_a_worker_key_the_workers_refuse_launches_nothing(ssh, cli) -> None:  # type: ignore[no-untyped-def]
    stranger = ssh.home / "stranger"
    keygen(stranger)  # never authorized on the workers
    config = ssh.write_config(extra=STOP + f"head_to_workers:\n  key_file: {stranger}\n")
    assert cli("exec", str(config), "true", "--all-nodes").code == 0  # learn host keys
    before = {w.address: len(list(w.records())) for w in ssh.workers}
    heads = len(list(ssh.head.records()))
    r = cli("exec", str(config), "sleep 1", "--tmux", "--job-waiter=tmux", "--stop", "-y")
    assert r.code == 2, r.err
    line = r.err.strip().splitlines()[-1]
    assert line.startswith(f"jobwaiter: error: head_to_workers.key_file {stranger}: the head "
                           "cannot reach "), line
    assert "nothing was launched" in line and "ssh_private_key" not in line
    assert "refused the login" in line and "check auth.ssh_user and head_to_workers.key_file" \
        in line
    assert len(list(ssh.head.records())) == heads, "nothing was launched"
    assert {w.address: len(list(w.records())) for w in ssh.workers} == before
    assert _log(ssh.head, "cluster.log") == []


def test_watch_head_with_a_worker_of_unknown_host_key_launches_nothing(ssh, cli, head_key) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(extra=STOP + f"head_to_workers:\n  key_file: {head_key}\n")
    assert cli("exec", str(config), "true").code == 0  # the head's host key only
    heads = len(list(ssh.head.records()))
    r = cli("exec", str(config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--watch", "head", "--detach")
    assert r.code == 2, r.err
    assert "the head cannot watch this job: this machine knows no host key of worker" in r.err
    assert len(list(ssh.head.records())) == heads, "nothing was launched"


def test_status_reads_each_workers_own_state(ssh, cli) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(extra="worker_start_commands:\n  - 'true'\n" + STOP)
    assert cli("start", str(config)).code == 0
    nodes = cli("status", str(config), "--json").json["nodes"]
    assert [n["state"] for n in nodes] == ["started", "started", "started"], nodes
    assert cli("stop", str(config), "-y").code == 0
    nodes = cli("status", str(config), "--json").json["nodes"]
    assert [n["state"] for n in nodes] == ["stopped", "stopped", "stopped"], nodes


def _as_the_head(ssh, worker, key, command: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """What a job on the head could run on ``worker`` with the head's own key."""
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes",
         "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={ssh.known_hosts}",
         "-o", "StrictHostKeyChecking=yes", "-p", str(worker.port), "-l", user(),
         worker.addr, command], capture_output=True, text=True, timeout=60, check=False)


def test_without_head_to_workers_the_head_gets_a_key_of_its_own(ssh, cli) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(extra=STOP)
    assert cli("exec", str(config), "true", "--all-nodes").code == 0  # learn host keys
    r = cli("exec", str(config), "sleep 1", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--json")
    assert r.code == 0, r.err
    assert "the head watches job" in r.err and "watching from this client" not in r.err
    assert "with a key of its own, made on the head" in r.err  # asked, answered by -y
    assert r.json["stop"]["state"] == "done", r.json
    assert [_log(w, "worker.log") for w in ssh.workers] == [["stopped"], ["stopped"]]
    key = ssh.head.home / ".jobwaiter" / "keys" / "t-auto"
    assert key.stat().st_mode & 0o077 == 0, "the head's private key is private"
    public = (ssh.head.home / ".jobwaiter" / "keys" / "t-auto.pub").read_text().split()
    for w in ssh.workers:
        lines = [ln for ln in (w.home / ".ssh" / "authorized_keys").read_text().splitlines()
                 if public[1] in ln]
        assert len(lines) == 1, lines
        assert lines[0].startswith('from="127.0.0.1",restrict,command="bash '
                                   '$HOME/.jobwaiter/gate/t" ssh-ed25519 '), lines
        assert lines[0].endswith("jobwaiter head of t")
    # The forced command lets the key do only what the head does there.
    worker = ssh.workers[0]
    refused = _as_the_head(ssh, worker, key, "touch ~/owned")
    assert refused.returncode == 126 and "may run only the head's reads" in refused.stderr
    assert not (worker.home / "owned").exists()
    sneaky = _as_the_head(ssh, worker, key, "true; touch ~/owned")
    assert sneaky.returncode == 126 and not (worker.home / "owned").exists()
    # A second run sets nothing up twice.
    assert cli("start", str(config)).code == 0
    again = cli("exec", str(config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y",
                "--json")
    assert again.json["stop"]["state"] == "done", again.json
    for w in ssh.workers:
        text = (w.home / ".ssh" / "authorized_keys").read_text()
        assert text.count(public[1]) == 1
