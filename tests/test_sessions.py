"""Jobs in real tmux and GNU screen sessions: recorded statuses, lost sessions, Ctrl-C,
environment and working directory, logs, no-waiter sessions, timeouts, concurrency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

KINDS = ["tmux", "screen"]


def newest_job(env) -> str:  # type: ignore[no-untyped-def]
    names = sorted(env.jobs.iterdir(), key=lambda p: p.stat().st_mtime)
    return names[-1].name


def when_started(env, action, timeout: float = 10.0) -> threading.Thread:  # type: ignore[no-untyped-def]
    """Run ``action(name)`` once the newest job's wrapper is running."""

    def go() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if env.jobs.exists():
                for d in env.jobs.iterdir():
                    if (d / "pid").exists():
                        time.sleep(0.3)
                        action(d.name)
                        return
            time.sleep(0.05)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("cmd", "status"), [("true", 0), ("exit 3", 3), ("kill -9 $$", 137),
                                             ("kill -TERM $$", 143)])
def test_recorded_status(env, cli, kind: str, cmd: str, status: int) -> None:
    r = cli("exec", str(env.config), cmd, f"--{kind}", f"--job-waiter={kind}", "--json")
    assert r.code == status, r.err
    data = r.json
    assert data["exit_status"] == status
    assert data["outcome"] == ("succeeded" if status == 0 else "failed")
    assert env.status(data["session"]) == str(status)
    assert data["waiters"][0]["name"] == kind


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_in_attached_session_records_130(env, cli, kind: str) -> None:
    def press_ctrl_c(name: str) -> None:
        if kind == "tmux":
            subprocess.run(["tmux", "send-keys", "-t", f"={name}:", "C-c"], check=True)
        else:
            subprocess.run(["screen", "-S", name, "-X", "stuff", "\x03"], check=True)

    when_started(env, press_ctrl_c)
    r = cli("exec", str(env.config), "sleep 30; echo not-reached", f"--{kind}",
            f"--job-waiter={kind}", "--json")
    assert r.code == 130
    assert r.json["exit_status"] == 130
    assert "not-reached" not in Path(env.home / r.json["log_path"][2:]).read_text()


@pytest.mark.parametrize("kind", KINDS)
def test_killed_server_is_lost_not_success(env, cli, kind: str) -> None:
    def kill_server(name: str) -> None:
        if kind == "tmux":
            subprocess.run(["tmux", "kill-server"], check=True)
        else:
            subprocess.run(["screen", "-S", name, "-X", "quit"], check=True)

    when_started(env, kill_server)
    r = cli("exec", str(env.config), "sleep 30", f"--{kind}", f"--job-waiter={kind}", "--json")
    assert r.code == 125
    assert r.json["outcome"] == "lost"
    assert r.json["exit_status"] is None
    assert env.status(r.json["session"]) is None


def test_killed_wrapper_is_lost(env, cli) -> None:
    def kill_group(name: str) -> None:
        pid = int((env.record(name) / "pid").read_text())
        os.killpg(pid, signal.SIGKILL)

    when_started(env, kill_group)
    r = cli("exec", str(env.config), "sleep 30", "--tmux", "--job-waiter=tmux", "--json")
    assert r.code == 125
    assert r.json["outcome"] == "lost"


@pytest.mark.parametrize("kind", KINDS)
def test_environment_and_working_directory(env, cli, kind: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # A long-lived server with its own environment must not leak into the job.
    if kind == "tmux":
        subprocess.run(["tmux", "new-session", "-d", "-s", "keeper", "sleep 60"], check=True)
        subprocess.run(["tmux", "set-environment", "-g", "JW_FROM", "server"], check=True)
    monkeypatch.setenv("JW_FROM", "launcher")
    other = env.home / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    r = cli("exec", str(env.config), 'printf "%s|%s|%s\\n" "$JW_FROM" "$JW_EXTRA" "$PWD"',
            f"--{kind}", f"--job-waiter={kind}", "--env", "JW_EXTRA=a b;$c`d`", "--json")
    assert r.code == 0, r.err
    log = (env.home / r.json["log_path"][2:]).read_text()
    assert log.strip() == f"launcher|a b;$c`d`|{env.home}"


def test_foreground_job_gets_no_stdin(env, cli) -> None:
    r = cli("exec", str(env.config), "cat; echo rc=$?")
    assert r.code == 0
    assert "rc=0" in r.out


@pytest.mark.parametrize("kind", KINDS)
def test_job_log_content(env, cli, kind: str) -> None:
    r = cli("exec", str(env.config), "echo out; echo err >&2; exit 4", f"--{kind}",
            f"--job-waiter={kind}", "--json")
    assert r.code == 4
    name = r.json["session"]
    assert r.json["log_path"] == f"~/user/logs/{name}.log"
    assert (env.home / "user" / "logs" / f"{name}.log").read_text().split() == ["out", "err"]
    assert f"log: ~/user/logs/{name}.log" in r.err


def test_foreground_job_log_streams_and_records(env, cli) -> None:
    r = cli("exec", str(env.config), "echo one; echo two >&2", "--job-log", "--json")
    assert r.code == 0
    data = json.loads(r.out[r.out.index("{"):])
    assert r.out.startswith("one\ntwo\n")
    log = env.home / data["log_path"][2:]
    assert log.read_text() == "one\ntwo\n"


def test_foreground_output_goes_to_stdout_untouched(env, cli) -> None:
    r = cli("exec", str(env.config), "printf 'a\\tb\\n'; echo e >&2")
    assert r.out == "a\tb\n"
    assert "e\n" in r.err


@pytest.mark.parametrize("kind", KINDS)
def test_no_waiter_holds_the_session_open(env, cli, kind: str) -> None:
    r = cli("exec", str(env.config), "exit 6", f"--{kind}", "--json")
    assert r.code == 0
    assert r.json["outcome"] == "started"
    name = r.json["session"]
    deadline = time.monotonic() + 5
    while env.status(name) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert env.status(name) == "6"
    if kind == "tmux":
        alive = subprocess.run(["tmux", "has-session", "-t", f"={name}"]).returncode == 0
    else:
        alive = name in subprocess.run(["screen", "-ls"], capture_output=True, text=True).stdout
    assert alive, "the session should stay open for the user to attach"
    attach = "tmux attach-session -t =" if kind == "tmux" else "screen -r "
    assert f"attach: {attach}{name}" in r.err


def test_session_names_are_unique_and_printed(env, cli) -> None:
    names = set()
    for _ in range(5):
        r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--json")
        assert r.code == 0
        names.add(r.json["session"])
        assert f"started tmux session {r.json['session']}" in r.err
    assert len(names) == 5
    assert all(n.startswith("jobwaiter-") and len(n) == 22 for n in names)


def test_job_timeout_leaves_the_job_running(env, cli) -> None:
    t0 = time.monotonic()
    r = cli("exec", str(env.config), "sleep 20", "--tmux", "--job-waiter=tmux",
            "--job-timeout", "1", "--json")
    assert r.code == 124
    assert time.monotonic() - t0 < 5
    assert r.json["outcome"] == "timeout"
    name = r.json["session"]
    assert env.status(name) is None
    assert subprocess.run(["tmux", "has-session", "-t", f"={name}"]).returncode == 0
    assert f"jobwaiter wait {env.config} {name}" in r.err


def test_job_timeout_does_not_bound_a_foreground_command(env, cli) -> None:
    r = cli("exec", str(env.config), "sleep 1.5; exit 2", "--job-timeout", "0.5")
    assert r.code == 2


def test_detection_is_prompt(env, cli) -> None:
    """The waiter blocks on the wrapper's lock, so the end is seen without a poll interval."""
    r = cli("exec", str(env.config), "sleep 2; date +%s.%N > ~/end", "--tmux",
            "--job-waiter=tmux")
    returned = time.time()
    assert r.code == 0
    ended = float((env.home / "end").read_text())
    assert returned - ended < 1.0


@pytest.mark.slow
def test_twenty_concurrent_jobs(env, jobwaiter_argv: list[str]) -> None:
    procs = []
    for i in range(20):
        kind = "tmux" if i % 2 == 0 else "screen"
        procs.append(subprocess.Popen(
            [*jobwaiter_argv, "exec", str(env.config), f"sleep 1; exit {i}", f"--{kind}",
             f"--job-waiter={kind}", "--json", "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for i, p in enumerate(procs):
        out, _ = p.communicate(timeout=60)
        results.append((i, p.returncode, json.loads(out)))
    names = set()
    for i, code, data in results:
        assert code == (i if i else 0), (i, code, data)
        assert data["exit_status"] == i
        assert env.status(data["session"]) == str(i)
        names.add(data["session"])
    assert len(names) == 20
