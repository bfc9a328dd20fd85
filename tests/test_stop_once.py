"""The stop as one transaction, for real on the local provider (tmux, the head's watcher):
once per cluster however many ask at once, never lost when the watcher dies, never a side
effect of kill, a stopped cluster refuses new jobs, and two configs on one machine stay
apart. Each test counts the stop command's real runs (a line per run in ~/cluster.log)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from polling import wait_for

SLOW_STOP = """\
cluster_name: test
provider:
  type: local
head_stop_commands:
  - touch ~/stop.began; sleep 2; echo stopped >> ~/cluster.log
"""


def _stops(env) -> list[str]:  # type: ignore[no-untyped-def]
    log = env.home / "cluster.log"
    return log.read_text().splitlines() if log.exists() else []


def _gated(cli, config, gate, *extra: str) -> str:  # type: ignore[no-untyped-def]
    """A --stop job watched by the head that ends when ``gate`` appears."""
    r = cli("exec", str(config), f"while [ ! -e {gate} ]; do sleep 0.05; done", "--tmux",
            "--job-waiter=tmux", "--stop", "-y", "--detach", "--json", *extra)
    assert r.code == 0, r.err
    return str(r.json["job"])


def _watcher(env) -> int:  # type: ignore[no-untyped-def]
    return int((env.home / ".jobwaiter" / "watch" / "watcher.pid").read_text().split()[0])


def test_five_stop_jobs_ending_together_stop_the_cluster_once(env, cli) -> None:  # type: ignore[no-untyped-def]
    config = env.write_config(SLOW_STOP)
    gate = env.home / "gate"
    names = [_gated(cli, config, gate) for _ in range(5)]
    gate.touch()
    first = [cli("wait", str(config), n, "--json").json["stop"] for n in names]
    # A job that ended while the others still ran says its stop is deferred, and what for.
    assert all(s["state"] in ("deferred", "done") for s in first), first
    assert all(s["detail"].startswith("stop deferred: waiting for jobwaiter-")
               for s in first if s["state"] == "deferred"), first

    def settled() -> list[dict]:  # type: ignore[type-arg]
        stops = [cli("wait", str(config), n, "--json").json["stop"] for n in names]
        return stops if all(s["state"] != "deferred" for s in stops) else []

    wait_for(settled, 30)
    assert _stops(env) == ["stopped"]
    stops = settled()
    assert all(s["state"] == "done" and s["ok"] is True for s in stops), stops
    ran = [s for s in stops if s["ran"]]
    assert len(ran) == 1 and ran[0]["detail"] == "stopped cluster test (head: 1 command)"
    # The others say by whom; nothing of the stop is left pending anywhere.
    assert all(s["detail"].startswith("stopped cluster test (by the head's watch")
               for s in stops if not s["ran"]), stops
    time.sleep(0.5)
    assert _stops(env) == ["stopped"]


def test_jobs_lost_at_once_stop_the_cluster_once(env, cli) -> None:  # type: ignore[no-untyped-def]
    config = env.write_config(SLOW_STOP)
    names = [_gated(cli, config, env.home / "never") for _ in range(3)]
    subprocess.run(["tmux", "kill-server"], check=False)
    results = [cli("wait", str(config), n, "--json") for n in names]
    assert {r.json["outcome"] for r in results} == {"lost"}, [r.json for r in results]
    assert _stops(env) == ["stopped"]
    assert sorted(r.json["stop"]["ran"] for r in results) == [False, False, True]


def test_a_stop_asked_during_another_waits_for_it(env, cli, jobwaiter_argv) -> None:  # type: ignore[no-untyped-def]
    config = env.write_config(SLOW_STOP)
    first = subprocess.Popen([*jobwaiter_argv, "stop", str(config), "-y", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (env.home / "stop.began").exists())
    second = cli("stop", str(config), "-y", "--json")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert json.loads(out)["stop"]["ran"] is True
    assert second.code == 0 and second.json["stop"]["ran"] is False, second.err
    assert second.json["stop"]["state"] == "done"
    assert second.json["stop"]["detail"].startswith("stopped cluster test (by jobwaiter stop")
    assert _stops(env) == ["stopped"]
    # Stopping a stopped cluster runs nothing.
    third = cli("stop", str(config), "-y", "--json")
    assert third.code == 0 and third.json["stop"]["state"] == "not_run", third.out
    assert "already stopped" in third.json["stop"]["detail"] and _stops(env) == ["stopped"]


def test_a_stop_asked_during_autostops_waits_for_it(env, cli) -> None:  # type: ignore[no-untyped-def]
    config = env.write_config(SLOW_STOP)
    r = cli("autostop", str(config), "--idle", "1s", "--wait-for", "jobs")
    assert r.code == 0, r.err
    wait_for(lambda: (env.home / "stop.began").exists(), 30)
    stop = cli("stop", str(config), "-y", "--json")
    assert stop.code == 0 and stop.json["stop"]["ran"] is False, stop.out
    assert stop.json["stop"]["detail"] == "stopped cluster test (by autostop)"
    assert _stops(env) == ["stopped"]


def test_the_watcher_killed_during_the_stop_command_is_finished_not_unrun(env, cli) -> None:  # type: ignore[no-untyped-def]
    config = env.write_config(SLOW_STOP)
    gate = env.home / "gate"
    name = _gated(cli, config, gate)
    gate.touch()
    wait_for(lambda: (env.home / "stop.began").exists(), 30)
    os.kill(_watcher(env), signal.SIGKILL)
    # The stop command goes on without it, and finishes.
    wait_for(lambda: _stops(env) == ["stopped"], 30)
    w = cli("wait", str(config), name, "--json")
    assert w.code == 0, w.err
    assert w.json["stop"]["state"] == "done" and w.json["stop"]["ok"] is True, w.json
    assert _stops(env) == ["stopped"]


def test_the_watcher_killed_after_claiming_the_stop_does_not_lose_it(env, cli) -> None:  # type: ignore[no-untyped-def]
    config = env.write_config(SLOW_STOP)
    gate = env.home / "gate"
    name = _gated(cli, config, gate)
    os.kill(_watcher(env), signal.SIGKILL)
    # As a watcher killed right after its claim leaves it: claimed, nothing journaled.
    (env.record(name) / "stop.claim").write_text("the head's watch\n")
    gate.touch()
    w = cli("wait", str(config), name, "--json")
    assert w.code == 0 and w.json["outcome"] == "succeeded", w.err
    assert w.json["stop"]["state"] == "done" and w.json["stop"]["ran"] is True, w.json
    assert _stops(env) == ["stopped"]
    st = cli("status", str(config), "--json").json
    assert st["state"] == "stopped" and st["stops_armed"] == [], st
    assert st["last_stop"]["state"] == "done", st


def test_an_order_that_cannot_be_read_at_the_end_keeps_its_stop(env, cli) -> None:  # type: ignore[no-untyped-def]
    gate = env.home / "gate"
    name = _gated(cli, env.config, gate)
    order = env.record(name) / "watch.json"
    wait_for(lambda: (env.record(name) / "watching").exists())
    order.write_text("{not json")
    gate.touch()
    w = cli("wait", str(env.config), name, "--json")
    assert w.json["stop"]["state"] == "done", w.json
    assert any("order on the head cannot be read" in n for n in w.json.get("notes", [])), w.json
    assert _stops(env) == ["stopped"]


def test_kill_disarms_the_stop_and_kill_stop_keeps_it(env, cli) -> None:  # type: ignore[no-untyped-def]
    name = _gated(cli, env.config, env.home / "never")
    k = cli("kill", str(env.config), name, "--grace", "5s")
    assert k.code == 0, k.err
    assert f"stop: disarmed the --stop armed after {name}" in k.err
    w = cli("wait", str(env.config), name, "--json")
    assert w.json["outcome"] == "killed" and w.json["stop"]["state"] == "disarmed", w.json
    assert _stops(env) == []
    other = _gated(cli, env.config, env.home / "never")
    k = cli("kill", str(env.config), other, "--stop", "--grace", "5s")
    assert k.code == 0 and "stop: kept" in k.err, k.err
    w = cli("wait", str(env.config), other, "--json")
    assert w.json["outcome"] == "killed" and w.json["stop"]["state"] == "done", w.json
    assert _stops(env) == ["stopped"]


def test_a_stopped_cluster_refuses_new_jobs_until_started(env, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("stop", str(env.config), "-y").code == 0
    (env.home / "job.sh").write_text("echo hi\n")
    before = sorted(p.name for p in env.jobs.glob("*")) if env.jobs.exists() else []
    for argv in (["exec", str(env.config), "true"],
                 ["exec", str(env.config), "true", "--tmux", "--job-waiter=tmux"],
                 ["exec", str(env.config), "true", "--all-nodes"],
                 ["exec", str(env.config), "true", "--dry-run"],
                 ["submit", str(env.config), "--tmux", str(env.home / "job.sh")]):
        r = cli(*argv)
        assert r.code == 2, (argv, r.err)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jobwaiter: error: cluster test is "
                                                       "stopped (since "), r.err
        assert lines[0].endswith(f"add --start, or run 'jobwaiter start {env.config}'")
    after = sorted(p.name for p in env.jobs.glob("*")) if env.jobs.exists() else []
    assert after == before  # nothing was started
    r = cli("exec", str(env.config), "true", "--start", "-y", "--json")
    assert r.code == 0 and r.json["outcome"] == "succeeded", r.err


def test_two_configs_on_one_machine_stay_apart(env, cli) -> None:  # type: ignore[no-untyped-def]
    a = env.write_config(env.config.read_text().replace("cluster_name: test",
                                                        "cluster_name: alpha"), "a.yaml")
    b = env.write_config(env.config.read_text().replace("cluster_name: test",
                                                        "cluster_name: beta"), "b.yaml")
    job = cli("exec", str(a), "sleep 30", "--tmux", "--name", "train", "--json").json["job"]
    assert cli("jobs", str(b), "--json").json == []
    assert cli("wait", str(b), "@last").code == 2
    assert cli("kill", str(b), "train").code == 2
    assert cli("kill", str(b), job).code == 2
    st = cli("status", str(b), "--json").json
    assert st["jobs"] == [], st
    # beta's --stop does not wait for alpha's job: another cluster's work.
    r = cli("exec", str(b), "true", "--stop", "-y", "--json")
    assert r.json["stop"]["state"] == "done", r.json
    assert cli("autostop", str(a), "--idle", "1h").code == 0
    assert cli("autostop", str(b), "--json").json == {"armed": False}
    r = cli("autostop", str(b), "--cancel")
    assert r.code == 0 and "not armed" in r.err, r.err
    assert json.loads((env.home / ".jobwaiter" / "watch" / "autostop.json").read_text())
    assert cli("jobs", str(a), "--json").json[0]["session"] == job
