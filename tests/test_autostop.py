"""Autostop on the local provider: this machine is the head, the watcher a real detached
process, real tmux; the cluster's stop command writes a line to ~/cluster.log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jobwaiter import Cluster
from jobwaiter.errors import UsageError
from jobwaiter.sessions.present import parse_present, present_argv
from polling import looked_past_the_idle_time, wait_for

STOP_LOG = "cluster.log"


def _stopped(env) -> list[str]:  # type: ignore[no-untyped-def]
    path = env.home / STOP_LOG
    return path.read_text().splitlines() if path.exists() else []


def _watch(env) -> Path:  # type: ignore[no-untyped-def]
    return env.home / ".jobwaiter" / "watch"  # type: ignore[no-any-return]


def _state(env) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return json.loads((_watch(env) / "autostop.state").read_text())  # type: ignore[no-any-return]


def _logins_here() -> list[str]:
    """Interactive logins on this machine that the tests did not make (a CI runner's own)."""
    out = subprocess.run(present_argv(), capture_output=True, text=True, check=False).stdout
    return [p.describe() for p in parse_present(out) if p.kind == "login"]


def _default_wait_for() -> list[str]:
    # The default counts every interactive login on the machine: one from outside the tests
    # would keep the cluster up, rightly, so the idle tests then count jobs only.
    return ["--wait-for", "jobs"] if _logins_here() else []


def test_an_idle_cluster_is_stopped_once(env, cli) -> None:  # type: ignore[no-untyped-def]
    armed = time.time()
    r = cli("autostop", str(env.config), "--idle", "20s", *_default_wait_for())
    assert r.code == 0, r.err
    assert "autostop armed (idle 20s" in r.out and "stops in" in r.out, r.out
    r = cli("status", str(env.config))
    assert "autostop armed (idle 20s" in r.out, r.out
    assert _stopped(env) == []
    wait_for(lambda: _stopped(env) == ["stopped"], timeout=60)
    assert time.time() - armed >= 20
    time.sleep(5)  # nothing more: one stop per arming
    assert _stopped(env) == ["stopped"]
    wait_for(lambda: (_state(env).get("stop") or {}).get("ok") is not None, timeout=30)
    r = cli("status", str(env.config), "--json")
    auto = r.json["autostop"]
    assert auto["armed"] is False and auto["stop"]["ok"] is True, auto
    assert "it stopped the cluster" in cli("autostop", str(env.config)).out
    assert (_watch(env) / "autostop.state").stat().st_mode & 0o077 == 0


def test_a_running_job_keeps_the_cluster_up_until_it_ends(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 10", "--tmux", "--name", "busy", "--json")
    assert r.code == 0, r.err
    name = r.json["job"]
    r = cli("autostop", str(env.config), "--idle", "3s", "--wait-for", "jobs")
    assert r.code == 0, r.err
    assert f"busy: job {name} is running" in r.out, r.out
    wait_for(lambda: (env.record(name) / "status").exists(), timeout=30)
    ended = float((env.record(name) / "status").read_text().split()[1])
    assert _stopped(env) == [], "stopped under a running job"
    wait_for(lambda: _stopped(env) == ["stopped"], timeout=30)
    assert _state(env)["fired_at"] >= ended + 3


def test_an_attached_tmux_client_keeps_the_cluster_up(env, cli) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(["tmux", "new-session", "-d", "-s", "work", "sleep 300"], check=True)
    # A real client on a terminal: script(1) gives it a pty, as a person's terminal would.
    client = subprocess.Popen(["script", "-qfc", "tmux attach -t work", "/dev/null"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: subprocess.run(["tmux", "list-clients"], capture_output=True,
                                        text=True).stdout.strip() != "", timeout=10)
        r = cli("autostop", str(env.config), "--idle", "3s")
        assert r.code == 0, r.err
        assert "a tmux client is attached to session work" in r.out, r.out
        looked_past_the_idle_time(_watch(env) / "autostop.state", lambda: _stopped(env))
        assert _stopped(env) == [], "stopped under an attached client"
        # --wait-for jobs: an attached client no longer counts.
        r = cli("autostop", str(env.config), "--idle", "3s", "--wait-for", "jobs")
        assert r.code == 0, r.err
        wait_for(lambda: _stopped(env) == ["stopped"], timeout=30)
    finally:
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()


def test_an_attached_screen_client_keeps_the_cluster_up(env, cli) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(["screen", "-dmS", "edit", "sleep", "300"], check=True)
    client = subprocess.Popen(["script", "-qfc", "screen -r edit", "/dev/null"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: "(Attached)" in subprocess.run(
            ["screen", "-ls"], capture_output=True, text=True).stdout, timeout=10)
        r = cli("autostop", str(env.config), "--idle", "3s")
        assert r.code == 0, r.err
        assert "a screen client is attached to session edit" in r.out, r.out
        looked_past_the_idle_time(_watch(env) / "autostop.state", lambda: _stopped(env))
        assert _stopped(env) == [], "stopped under an attached client"
    finally:
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()
    # Detached (the terminal went away): nobody is at the head any more.
    if not _logins_here():
        wait_for(lambda: _stopped(env) == ["stopped"], timeout=30)


def test_cancel_and_stop_disarm(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("autostop", str(env.config), "--idle", "4s", "--wait-for", "jobs")
    assert r.code == 0, r.err
    r = cli("autostop", str(env.config), "--cancel")
    assert (r.code, r.err.strip()) == (0, "jobwaiter: autostop cancelled"), r
    time.sleep(8)
    assert _stopped(env) == []
    assert cli("autostop", str(env.config), "--cancel", "--json").json == {"cancelled": False}
    wait_for(lambda: _state(env)["armed"] is False, timeout=10)
    assert cli("autostop", str(env.config)).out.strip() == "autostop: not armed"
    # `jobwaiter stop` disarms it too.
    r = cli("autostop", str(env.config), "--idle", "1h")
    assert r.code == 0, r.err
    assert cli("stop", str(env.config), "-y").code == 0
    assert _stopped(env) == ["stopped"]
    r = cli("status", str(env.config), "--json")
    assert r.json["autostop"]["armed"] is False, r.json


def test_after_a_reboot_status_says_no_watcher_and_arming_again_resumes(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("autostop", str(env.config), "--idle", "1h")
    assert r.code == 0, r.err
    # A reboot as the head's files show it: the watcher is gone, and its state names
    # another boot.
    pid = int((_watch(env) / "watcher.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or
             "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], timeout=10)
    state = _state(env)
    state["boot"] = "another-boot"
    (_watch(env) / "autostop.state").write_text(json.dumps(state) + "\n")
    r = cli("status", str(env.config))
    assert "autostop armed, no watcher since boot (idle 1h, wait for jobs_and_ssh): nothing " \
           f"counts until `jobwaiter autostop {env.config} --idle 1h` re-arms it" in r.out, r.out
    assert cli("status", str(env.config), "--json").json["autostop"]["watching"] is False
    r = cli("autostop", str(env.config), "--idle", "1h")
    assert r.code == 0, r.err
    assert "idle for" in r.out or "busy" in r.out, r.out
    assert cli("status", str(env.config), "--json").json["autostop"]["watching"] is True
    assert cli("autostop", str(env.config), "--cancel").code == 0


def test_jobs_shows_the_idle_clock_beside_the_table(env, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("exec", str(env.config), "true", "--name", "quick").code == 0
    assert cli("autostop", str(env.config), "--idle", "1h", "--wait-for", "jobs").code == 0
    r = cli("jobs", str(env.config))
    assert "quick" in r.out and "autostop" not in r.out, r.out
    assert "autostop armed (idle 1h, wait for jobs): idle for" in r.err, r.err
    assert isinstance(cli("jobs", str(env.config), "--json").json, list)
    assert cli("autostop", str(env.config), "--cancel").code == 0


def test_the_python_api(env) -> None:  # type: ignore[no-untyped-def]
    with Cluster(env.config) as cluster:
        assert cluster.autostop_state() is None
        state = cluster.autostop("1h", wait_for="jobs")
        assert state.armed and state.watching and state.idle == 3600
        assert state.wait_for == "jobs" and state.remaining() is not None
        again = cluster.autostop_state()
        assert again is not None and again.armed_at == state.armed_at
        # Armed again with another time: taken at once, not at the next look (30 s away).
        t0 = time.monotonic()
        longer = cluster.autostop(7200)
        assert time.monotonic() - t0 < 10 and longer.idle == 7200 and longer.watching
        assert longer.armed_at != state.armed_at
        assert cluster.autostop_cancel() is True
        assert cluster.autostop_cancel() is False
        with pytest.raises(UsageError, match="more than zero"):
            cluster.autostop(0)
        with pytest.raises(UsageError, match="not a duration"):
            cluster.autostop("soon")
        with pytest.raises(UsageError, match="wait_for none: expected one of"):
            cluster.autostop(60, wait_for="none")


@pytest.mark.parametrize("argv, message", [
    (["--idle", "0"], "must be more than zero"),
    (["--idle", "soon"], "is not a duration"),
    (["--idle", "1h", "--wait-for", "none"], "'none' is not one of"),
    (["--idle", "1h", "--cancel"], "give one"),
])
def test_bad_input_is_one_line_and_arms_nothing(env, cli, argv, message) -> None:  # type: ignore[no-untyped-def]
    r = cli("autostop", str(env.config), *argv)
    assert r.code == 2 and message in r.err, r
    assert len(r.err.strip().splitlines()) == 1 or "Usage:" in r.err, r.err
    assert not (_watch(env) / "autostop.json").exists()



def test_autostop_runs_on_the_oldest_python3_a_head_may_have(env, cli, oldest_python3) -> None:  # type: ignore[no-untyped-def]
    old = oldest_python3
    r = cli("autostop", str(env.config), "--idle", "3s", "--wait-for", "jobs")
    assert r.code == 0, r.err
    watcher = int((_watch(env) / "watcher.pid").read_text().split()[0])
    exe = os.readlink(f"/proc/{watcher}/exe")
    assert os.path.basename(exe).startswith(os.path.basename(old)[:9]), exe
    wait_for(lambda: _stopped(env) == ["stopped"], timeout=30)


@pytest.mark.parametrize("garbage", [b"garbage\n", b"[1, 2]\n", b'{"idle": "soon"}\n',
                                     b"\xff\xfe\n"])
def test_a_damaged_order_is_said_not_taken_for_disarmed(env, cli, garbage: bytes) -> None:  # type: ignore[no-untyped-def]
    r = cli("autostop", str(env.config), "--idle", "1h", "--wait-for", "jobs")
    assert r.code == 0, r.err
    order = _watch(env) / "autostop.json"
    order.write_bytes(garbage)
    wait_for(lambda: _state(env).get("error"), timeout=10)
    said = "autostop armed, but on the head autostop.json"
    assert said in cli("status", str(env.config)).out
    shown = cli("autostop", str(env.config))
    assert said in shown.out and "first look" not in shown.out, shown.out
    auto = cli("status", str(env.config), "--json").json["autostop"]
    assert auto["armed"] is True and "autostop.json" in auto["error"], auto
    assert order.read_bytes() == garbage  # left for its owner to see
    # Arming again mends it; the watcher takes the new order.
    r = cli("autostop", str(env.config), "--idle", "1h", "--wait-for", "jobs")
    assert r.code == 0 and "stops nothing" not in r.out, r.out
    assert cli("status", str(env.config), "--json").json["autostop"]["error"] is None
    assert cli("autostop", str(env.config), "--cancel").code == 0


def test_a_damaged_state_is_said(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("autostop", str(env.config), "--idle", "1h", "--wait-for", "jobs")
    assert r.code == 0, r.err
    (_watch(env) / "autostop.state").write_text("}{ not json\n")
    r = cli("status", str(env.config))
    assert "autostop armed, but on the head autostop.state is damaged" in r.out, r.out
    assert cli("autostop", str(env.config), "--cancel").code == 0
