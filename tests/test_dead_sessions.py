"""A dead session is dead everywhere: a tmux or screen server killed under a running job
(its socket left behind, removed, or left for a pid that now belongs to someone else) makes
the job lost, or lost with processes still running, for the waiter, ``jobs``, ``status``,
``kill``, ``prune`` and the stop rule alike (docs/faults.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from polling import wait_for


def _records(env) -> list[Path]:  # type: ignore[no-untyped-def]
    return sorted(env.jobs.iterdir()) if env.jobs.exists() else []


def _screen_socket(name: str) -> Path | None:
    for p in Path(os.environ["SCREENDIR"]).iterdir():
        if p.name.endswith(f".{name}"):
            return p
    return None


def _kill_server(env, kind: str, socket: str) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL the server of the job's session once its wrapper runs; then do ``socket``
    to the socket it leaves: "left", "removed", or "reused" (screen: renamed for the pid of
    a live process that is not a screen)."""
    wait_for(lambda: any((r / "pid").exists() for r in _records(env)), timeout=20)
    name = _records(env)[0].name
    if kind == "screen":
        sock = _screen_socket(name)
        assert sock is not None
        os.kill(int(sock.name.split(".")[0]), signal.SIGKILL)
    else:
        pid = subprocess.run(["tmux", "display", "-p", "-t", f"={name}", "#{pid}"],
                             capture_output=True, text=True, check=True).stdout
        os.kill(int(pid), signal.SIGKILL)
        sock = Path(os.environ["TMUX_TMPDIR"]) / f"tmux-{os.getuid()}" / "default"
    wait_for(lambda: not (env.record(name) / "lock").exists() or subprocess.run(
        ["flock", "-n", str(env.record(name) / "lock"), "true"]).returncode == 0, timeout=20)
    if socket == "removed":
        sock.unlink()
    elif socket == "reused":
        sock.rename(sock.with_name(f"{os.getpid()}.{name}"))


VARIANTS = [("screen", "left"), ("screen", "removed"), ("screen", "reused"),
            ("tmux", "left"), ("tmux", "removed")]


@pytest.mark.parametrize(("kind", "socket"), VARIANTS)
def test_a_job_whose_server_was_killed_is_lost_everywhere(  # type: ignore[no-untyped-def]
        env, cli, kind: str, socket: str) -> None:
    t = threading.Thread(target=_kill_server, args=(env, kind, socket))
    t.start()
    r = cli("exec", str(env.config), "sleep 60", f"--{kind}", f"--job-waiter={kind}",
            "--json")
    t.join()
    assert r.code == 125 and r.json["outcome"] == "lost", r.err
    name = r.json["session"]
    if kind == "screen" and socket != "removed":
        listed = subprocess.run(["screen", "-ls"], capture_output=True, text=True).stdout
        assert name in listed and "Dead" in listed  # the fault is really there
    jobs = cli("jobs", str(env.config), "--json")
    assert [j["state"] for j in jobs.json] == ["lost"], jobs.out
    status = cli("status", str(env.config), "--json")
    assert status.json["jobs"] == [], status.out
    # A stop after another job is not deferred by the dead one.
    after = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--stop",
                "-y", "--json")
    assert after.code == 0, after.err
    assert after.json["stop"]["state"] == "done", after.out
    assert "stopped" in (env.home / "cluster.log").read_text()
    k = cli("kill", str(env.config), name, "--grace", "1")
    assert k.code == 0 and "was lost" in k.err, k.err
    if kind == "screen":
        assert _screen_socket(name) is None  # the dead socket went with the kill
    p = cli("jobs", str(env.config), "--prune", "--older-than", "0")
    assert p.code == 0 and f"removed {name}" in p.out + p.err, p.out + p.err
    assert not env.record(name).exists()


@pytest.mark.parametrize("kind", ["screen", "tmux"])
def test_a_job_that_outlives_its_killed_server_is_lost_running(  # type: ignore[no-untyped-def]
        env, cli, kind: str) -> None:
    pid_file = env.home / "job.pid"
    cmd = f"trap '' HUP; echo $$ > {pid_file}; sleep 60"
    t = threading.Thread(target=_kill_server, args=(env, kind, "left"))
    t.start()
    r = cli("exec", str(env.config), cmd, f"--{kind}", f"--job-waiter={kind}", "--json")
    t.join()
    assert r.code == 125 and r.json["outcome"] == "lost_running", r.err
    name, pid = r.json["session"], int(pid_file.read_text())
    os.kill(pid, 0)
    jobs = cli("jobs", str(env.config), "--json")
    assert [j["state"] for j in jobs.json] == ["lost_running"], jobs.out
    status = cli("status", str(env.config), "--json")
    assert [j["name"] for j in status.json["jobs"]] == [name], status.out
    # Kept while processes of it run: prune keeps it, a stop is deferred.
    p = cli("jobs", str(env.config), "--prune", "--older-than", "0")
    assert env.record(name).exists(), p.out + p.err
    after = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--stop",
                "-y", "--json")
    assert after.json["stop"]["state"] == "deferred", after.out
    k = cli("kill", str(env.config), name, "--grace", "1")
    assert k.code == 0 and "was lost" in k.err and "signalled 1 " in k.err, k.err
    wait_for(lambda: not Path(f"/proc/{pid}").exists()
             or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z", timeout=10)
    cli("jobs", str(env.config), "--prune", "--older-than", "0")
    assert not env.record(name).exists()


@pytest.mark.parametrize(("lines", "state"), [
    # A session listed alive after the wrapper started proves nothing: the wrapper decides.
    ("pid 42\nsession alive\nsurvivors 0\n", "lost"),
    ("pid 42\nsession alive\nsurvivors 2\n", "lost_running"),
    ("pid 42\nwrapper alive\n", "running"),
    # Before the wrapper has started, the session is the job starting.
    ("session alive\n", "running"),
    ("", "lost"),
])
def test_one_answer_from_the_record(lines: str, state: str) -> None:
    from jobwaiter.records.read import parse_dump

    (record,) = parse_dump('@@ jobwaiter-0000000000aa\nmeta {"spec": "tmux"}\n'
                           "started 1.0\n" + lines)
    assert record.outcome.value == state
    assert record.alive is (state != "lost")
