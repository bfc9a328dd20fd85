"""The head keeps watch over SSH: the client is killed, the head is cut off from the client
for the whole job, the head's own stop commands take the head away — and the stop still comes
once, after the job's end, and `wait` tells what the head recorded. Real sshd, tmux."""

from __future__ import annotations

import json
import signal
import time

import pytest

from polling import wait_for

STOP_EXTRA = "head_stop_commands:\n  - echo stopped >> ~/cluster.log\n"


def _stopped(ssh) -> list[str]:  # type: ignore[no-untyped-def]
    log = ssh.head.home / "cluster.log"
    return log.read_text().splitlines() if log.exists() else []


def test_client_killed_the_head_stops_once_after_the_end(ssh, cli) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(workers=0, extra=STOP_EXTRA)
    client = ssh.spawn("exec", str(config), "sleep 4; exit 5", "--tmux", "--job-waiter=tmux",
                       "--stop", "-y")
    try:
        wait_for(lambda: any((r / "watching").exists() for r in ssh.head.records()), 30)
        time.sleep(0.5)
        client.send_signal(signal.SIGKILL)
        client.wait(timeout=10)
    finally:
        client.kill()
    (record,) = ssh.head.records()
    assert _stopped(ssh) == [], "stopped before the job's end"
    wait_for(lambda: _stopped(ssh) == ["stopped"], 30)
    ended = float((record / "status").read_text().split()[1])
    assert float((record / "head_stop").read_text().split()[1]) >= ended
    r = cli("wait", str(config), record.name, "--json")
    assert r.code == 5, r.err
    assert r.json["outcome"] == "failed" and r.json["exit_status"] == 5
    assert r.json["stop"]["ran"] is True and r.json["stop"]["ok"] is True, r.json
    time.sleep(1)
    assert _stopped(ssh) == ["stopped"], "stopped once"


@pytest.mark.slow
def test_the_head_cut_off_from_the_client_still_stops_on_time(ssh) -> None:  # type: ignore[no-untyped-def]
    config = ssh.write_config(workers=0, extra=STOP_EXTRA)
    head = ssh.head
    client = ssh.spawn("exec", str(config), "sleep 4", "--tmux", "--job-waiter=tmux",
                       "--stop", "-y", "--json")
    try:
        wait_for(lambda: any((r / "watching").exists() for r in head.records()), 30)
        head.kill_all()  # the client cannot reach the head from now on
        (record,) = head.records()
        wait_for(lambda: (record / "status").exists(), 15)
        wait_for(lambda: _stopped(ssh) == ["stopped"], 15)
        stopped_at = float((record / "head_stop").read_text().split()[1])
        ended = float((record / "status").read_text().split()[1])
        assert 0 <= stopped_at - ended < 5, "the head stopped on time, with no client"
        if client.poll() is not None:
            raise AssertionError(f"the client gave up while it could not know: "
                                 f"{client.communicate()}")
        head.start()
        out, err = client.communicate(timeout=90)
    finally:
        client.kill()
    assert client.returncode == 0, err
    data = json.loads(out)
    assert data["outcome"] == "succeeded" and data["stop"]["ok"] is True, data


def test_a_head_stop_that_takes_the_head_away_is_reported_from_the_record(ssh, cli) -> None:  # type: ignore[no-untyped-def]
    head = ssh.head
    # As a head that powers off: its sshd and every connection to it go away.
    pid_file = head.root / "sshd.pid"
    gone = (f"head_stop_commands:\n  - echo stopped >> ~/cluster.log\n"
            f"  - p=$(cat {pid_file}); pkill -KILL -P $p; kill -KILL $p\n")
    config = ssh.write_config(workers=0, extra=gone)
    r = cli("exec", str(config), "sleep 1; exit 3", "--tmux", "--job-waiter=tmux", "--stop",
            "-y", "--json")
    assert r.code == 3, r.err
    assert r.json["outcome"] == "failed" and r.json["exit_status"] == 3
    assert r.json["stop"]["ran"] is True and r.json["stop"]["ok"] is None, r.json
    assert "may have powered off" in r.json["stop"]["detail"]
    assert _stopped(ssh) == ["stopped"]


WORKER_STOP = "worker_stop_commands:\n  - echo stopped >> ~/worker.log\n"


def _worker_logs(ssh) -> list[str]:  # type: ignore[no-untyped-def]
    return [(w.home / "worker.log").read_text() if (w.home / "worker.log").exists() else ""
            for w in ssh.workers]


def test_workers_are_stopped_from_the_head_with_a_dedicated_key(ssh, cli, head_key) -> None:  # type: ignore[no-untyped-def]
    key = head_key
    config = ssh.write_config(extra=STOP_EXTRA + WORKER_STOP
                              + f"head_to_workers:\n  key_file: {key}\n")
    # This machine learns the workers' host keys (accept-new), which the head is given.
    assert cli("exec", str(config), "true", "--all-nodes").code == 0
    r = cli("exec", str(config), "sleep 1", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--json")
    assert r.code == 0, r.err
    assert "the head watches job" in r.err and "watching from this client" not in r.err
    assert r.json["stop"]["ok"] is True, r.json
    assert _worker_logs(ssh) == ["stopped\n", "stopped\n"]
    assert _stopped(ssh) == ["stopped"]
    (copy,) = (ssh.head.home / ".jobwaiter" / "keys").glob("t-*[!s]")
    assert copy.read_bytes() == key.read_bytes() and copy.stat().st_mode & 0o077 == 0


def test_without_a_way_to_the_workers_the_client_watches(ssh) -> None:  # type: ignore[no-untyped-def]
    from jobwaiter import Cluster
    from jobwaiter.errors import UsageError

    config = ssh.write_config(extra=STOP_EXTRA + WORKER_STOP)
    asked: list[str] = []

    def no(question: str) -> bool:  # the head's own key for the workers: declined
        asked.append(question)
        return "key of its own" not in question

    with Cluster(config, confirm=no) as cluster:
        with pytest.raises(UsageError, match="the head needs a way to the workers: set "
                                             "head_to_workers"):
            cluster.exec("true", tmux=True, job_waiter="tmux", stop=True, watch="head")
        assert ssh.head.records() == [], "nothing ran"
        result = cluster.exec("true", tmux=True, job_waiter="tmux", stop=True)
    assert any("key of its own" in q for q in asked), asked
    assert result.stop is not None and result.stop.state == "done", result
    assert _worker_logs(ssh) == ["stopped\n", "stopped\n"]
    assert not (ssh.head.home / ".jobwaiter" / "keys" / "t-auto").exists()
