"""Hardening over SSH. A head whose start-up files print (the login shell sources ~/.bashrc
before every command of ours): no banner, however it imitates our answers, changes a result.
Records are private and the job's environment cannot touch the wrapper, as on the local
provider; a lost job whose processes live on is never stopped under."""

from __future__ import annotations

import json

import pytest

BANNER = ("echo 'Welcome to the head node'; echo 'status 0 1'; echo 'started 1 1'; "
          "echo 'alive 0'; echo '@@ jobwaiter-000000000000'; echo 'stty: not a tty' >&2\n")


@pytest.fixture
def noisy(ssh):  # type: ignore[no-untyped-def]
    (ssh.head.home / ".bashrc").write_text(BANNER)
    (ssh.head.home / ".profile").write_text(BANNER)
    return ssh


@pytest.mark.parametrize("kind", ["tmux", "screen"])
def test_a_banner_changes_no_result_over_ssh(noisy, cli, kind: str) -> None:
    config = str(noisy.config)
    r = cli("exec", config, "sleep 1; exit 3", f"--{kind}", f"--job-waiter={kind}", "--json")
    assert r.code == 3, r.err
    name = r.json["session"]
    assert cli("wait", config, name, "--json").json["exit_status"] == 3
    jobs = cli("jobs", config, "--json").json
    assert [(j["session"], j["state"], j["state_detail"]) for j in jobs] == \
        [(name, "failed", "failed (3)")]
    r = cli("exec", config, "sleep 30", f"--{kind}", f"--job-waiter={kind}",
            "--job-timeout", "2", "--json")
    assert r.json["outcome"] == "timeout", r.err
    k = cli("kill", config, r.json["session"], "--grace", "1")
    assert k.code == 0 and "143" in k.err, k.err


def test_a_foreground_job_and_submit_with_a_banner(noisy, cli) -> None:
    config = str(noisy.config)
    r = cli("exec", config, "echo job-output; exit 5", "--json")
    assert r.code == 5, r.err
    # A foreground job's output is ours, untouched: the login shell's banner comes first, then
    # the job's output, then the result.
    assert r.out.index("job-output") < r.out.index('{\n  "outcome"')
    assert json.loads(r.out[r.out.index('{\n  "outcome"'):])["exit_status"] == 5
    script = noisy.home / "job.sh"
    script.write_text('printf "%s|" "$@" > args\n')
    r = cli("submit", config, str(script), "a b", "$HOME")
    assert r.code == 0, r.err
    assert (noisy.head.home / "args").read_text() == "a b|$HOME|"


def test_records_are_private_and_the_environment_isolated_over_ssh(ssh, cli) -> None:
    config = str(ssh.config)
    r = cli("exec", config, 'echo "[$d][$log][$hold]" > seen; touch made', "--tmux",
            "--job-waiter=tmux", "--json", "--env", "d=/x", "--env", "log=debug",
            "--env", "hold=1", "--env", "SECRET=ssh-secret-42")
    assert r.code == 0, r.err
    home = ssh.head.home
    assert (home / "seen").read_text() == "[/x][debug][1]\n"
    record = ssh.head.jobs / r.json["session"]
    assert (home / ".jobwaiter").stat().st_mode & 0o777 == 0o700
    assert record.stat().st_mode & 0o777 == 0o700
    for f in record.iterdir():
        assert f.stat().st_mode & 0o077 == 0, f
        assert b"ssh-secret-42" not in f.read_bytes(), f
    assert not (record / "env.0").exists()
    log = home / "user" / "logs" / f"{r.json['session']}.log"
    assert log.stat().st_mode & 0o777 == 0o600
    # The session was not held open by --env hold=1: it ended with the job.
    assert ssh.head.tmux("has-session", "-t", f"={r.json['session']}").returncode != 0


def test_a_lost_job_with_survivors_defers_the_stop_over_ssh(ssh, cli) -> None:
    import os
    import signal
    import threading

    from polling import wait_for

    config = str(ssh.write_config(
        extra="head_stop_commands:\n  - date +%s.%N >> ~/stopped.at\n"))
    pid_file = ssh.head.home / "job.pid"
    left = ssh.head.home / "left.at"

    def kill_wrapper() -> None:
        wait_for(lambda: pid_file.exists(), timeout=20)
        record = ssh.head.records()[0]
        os.kill(int((record / "pid").read_text()), signal.SIGKILL)

    t = threading.Thread(target=kill_wrapper)
    t.start()
    # The job's process outlives its wrapper (it ignores the hangup) for 4 s.
    r = cli("exec", config, f"trap '' HUP; echo $$ > {pid_file}; sleep 4; date +%s.%N > {left}",
            "--tmux", "--job-waiter=tmux", "--json", "--stop", "-y", "--watch", "client")
    t.join()
    assert r.code == 125 and r.json["outcome"] == "lost", r.err
    assert "stop deferred: waiting for the processes left of this job" in r.err
    assert r.json["message"].endswith("; the processes it left have ended since"), r.json
    assert r.json["message"].count("still run") == 1, r.json
    assert r.json["stop"]["state"] == "done", r.json
    stopped = float((ssh.head.home / "stopped.at").read_text().split()[0])
    assert stopped >= float(left.read_text()), "stopped under a process of the job"
