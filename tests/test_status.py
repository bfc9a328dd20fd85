"""`jobwaiter status`: reachable or not, the state start/stop recorded, runtimes, running jobs
and armed stops. Real tmux on the local provider; an SSH head on a closed loopback port."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from types import SimpleNamespace
from typing import Any

import pytest

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.cluster.providers import Node
from jobwaiter.cluster.status import ClusterStatus, cluster_status
from jobwaiter.errors import TransportError
from jobwaiter.jobs.transaction import Journal
from jobwaiter.runtimes import configured_runtimes
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.mock import MockTransport
from polling import wait_for


def status(cli, config: object, *more: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = cli("status", str(config), "--json", *more)
    assert r.code == 0, r.err
    data = json.loads(r.out)  # the whole of stdout is one object
    assert isinstance(data, dict)
    return data


def test_a_fresh_local_cluster(env, cli) -> None:  # type: ignore[no-untyped-def]
    data = status(cli, env.config)
    assert data["reachable"] is True and data["error"] is None
    assert (data["cluster"], data["provider"], data["state"]) == ("test", "local", "unknown")
    assert data["nodes"] == [{"id": "head", "address": "127.0.0.1", "role": "head",
                              "reachable": True, "state": "unknown", "error": None}]
    assert (data["runtimes"], data["jobs"], data["stops_armed"]) == ([], [], [])
    r = cli("status", str(env.config))
    assert r.code == 0 and r.err == ""
    assert r.out.splitlines() == ["cluster test (local): unknown, head reachable",
                                  "runtimes: none configured", "jobs running: none",
                                  "stops armed: none"]


def test_state_follows_start_and_stop(env, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("start", str(env.config)).code == 0
    assert status(cli, env.config)["state"] == "started"
    assert cli("stop", str(env.config), "-y").code == 0
    assert status(cli, env.config)["state"] == "stopped"
    # Another name (-n) is another cluster, with its own state.
    assert status(cli, env.config, "-n", "other")["state"] == "unknown"


def test_a_stray_state_file_is_unknown(env, cli) -> None:  # type: ignore[no-untyped-def]
    (env.home / ".jobwaiter" / "clusters").mkdir(parents=True)
    (env.home / ".jobwaiter" / "clusters" / "test.state").write_text("half-started\n")
    assert status(cli, env.config)["state"] == "unknown"


def test_running_tmux_job_is_listed_until_it_ends(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 30", "--tmux", "--job-waiter=tmux",
            "--job-timeout", "0.3", "--json")
    assert r.code == 124
    name = r.json["session"]
    fg = cli("exec", str(env.config), "true", "--json").json["job"]  # ended: not listed
    data = status(cli, env.config)
    assert [(j["name"], j["node"], j["session_kind"], j["state"], j["command"])
            for j in data["jobs"]] == [(name, "head", "tmux", "running", "sleep 30")]
    assert data["jobs"][0]["started_at"].endswith("+00:00")
    human = cli("status", str(env.config)).out
    assert "jobs running: 1" in human and name in human and fg not in human
    assert cli("kill", str(env.config), name, "--grace", "0").code == 0
    assert status(cli, env.config)["jobs"] == []


def test_a_pending_in_session_stop_is_armed_until_it_has_run(env, cli) -> None:  # type: ignore[no-untyped-def]
    gate = env.home / "go"
    r = cli("exec", str(env.config), f"while [ ! -e {gate} ]; do sleep 0.1; done", "--tmux",
            "--stop", "-y", "--json", "--watch", "client")
    assert r.json["outcome"] == "started", r.err
    name = r.json["session"]
    data = status(cli, env.config)
    assert data["stops_armed"] == [{
        "job": name, "node": "head", "where": "session",
        "detail": "its tmux session stops the cluster when the job ends"}]
    assert "stops armed: 1" in cli("status", str(env.config)).out
    gate.touch()
    wait_for(lambda: (env.record(name) / "stop_status").exists(), timeout=20)
    data = status(cli, env.config)
    assert data["stops_armed"] == [] and data["state"] == "stopped"


def test_a_client_side_stop_is_armed_only_as_far_as_the_client_waits(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 30", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--job-timeout", "0.3", "--json", "--watch", "client")
    assert r.code == 124
    (armed,) = status(cli, env.config)["stops_armed"]
    assert (armed["job"], armed["where"]) == (r.json["session"], "client")
    assert "if it is still waiting" in armed["detail"]


def test_python_api_returns_a_frozen_status(env, cli) -> None:  # type: ignore[no-untyped-def]
    with Cluster(env.config) as cluster:
        got = cluster.status()
    assert isinstance(got, ClusterStatus) and got.reachable and got.state == "unknown"
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.checked_at = 0  # type: ignore[misc]
    cli_keys = set(status(cli, env.config))
    assert set(got.to_dict()) == cli_keys


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again once this returns


def test_an_ssh_head_on_a_closed_port_is_unreachable_exit_255(env, cli) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    config = env.write_config(
        f"cluster_name: lab\nprovider: {{type: ssh, head_ip: '127.0.0.1:{port}'}}\n"
        "runtime: {types: [spark]}\nauth: {connect_timeout: 2}\n", "ssh.yaml")
    t0 = time.monotonic()
    r = cli("status", str(config), "--json")
    assert time.monotonic() - t0 < 30
    assert r.code == 255
    data = json.loads(r.out)
    assert data["reachable"] is False and data["state"] == "unknown"
    assert f"127.0.0.1:{port}" in data["error"] and "refused" in data["error"]
    assert data["runtimes"] == [{"runtime": "spark", "component": "spark", "node": "",
                                 "state": "unknown", "detail": "the head is unreachable"}]
    errors = r.err.strip().splitlines()
    assert errors[-1].startswith("jobwaiter: error: the head of cluster lab is unreachable")
    human = cli("status", str(config))
    assert human.code == 255
    assert human.out.strip() == f"cluster lab (ssh): unreachable (head 127.0.0.1:{port})"
    assert len(human.err.strip().splitlines()) == 1


# -- an unreachable worker, with nodes that answer from recorded output ---------------------

DUMP = ("@@ jobwaiter-0000000000aa\n"
        'meta {"session": "tmux", "command": "train", "stop": true}\n'
        "started 1700000000.5\npid 42\nwrapper alive\nsession alive\n"
        "@@ jobwaiter-0000000000bb\nmeta {}\nstarted 1.0\nstatus 0 2.0\n")


def test_an_unreachable_worker_is_shown_and_not_tried_again() -> None:
    def head_answer(argv: tuple[str, ...], data: bytes | None) -> CommandResult:
        script = argv[2] if len(argv) > 2 else ""
        if ".state" in script and "cat " in script and "@@" not in script:  # not the dump
            return CommandResult(argv, 0, "started\n")
        if argv[0] == "python3":  # the master's /json/: none of the workers registered
            body = json.dumps({"status": "ALIVE", "workers": [], "activeapps": []})
            return CommandResult(argv, 0, json.dumps({"url": argv[4], "status": 200,
                                                      "body": body}) + "\n")
        if len(argv) > 4 and argv[4] == "status":
            return CommandResult(argv, 0, "running 7\n")
        return CommandResult(argv, 0, DUMP)

    def worker_answer(argv: tuple[str, ...], data: bytes | None) -> CommandResult:
        raise TransportError("cannot reach 10.0.0.2: Connection refused")

    head = Node("head", "10.0.0.1", MockTransport(head_answer), is_head=True)
    worker_transport = MockTransport(worker_answer, node="10.0.0.2")
    worker = Node("10.0.0.2", "10.0.0.2", worker_transport)
    config = {"cluster_name": "lab", "runtime": {"types": ["spark"]},
              "provider": {"type": "ssh", "head_ip": "10.0.0.1"}}
    fake = SimpleNamespace(
        name="lab", provider=SimpleNamespace(head=lambda: head),
        workers=[worker], config=SimpleNamespace(provider=SimpleNamespace(type="ssh")),
        runtimes=configured_runtimes(config), stop_journal=Journal)
    got = cluster_status(fake)  # type: ignore[arg-type]
    assert got.reachable and got.state == "started"
    assert [(n.id, n.reachable, n.state) for n in got.nodes] == [
        ("head", True, "started"), ("10.0.0.2", False, "unknown")]
    assert "Connection refused" in got.nodes[1].error
    assert [(r.component, r.node, r.state) for r in got.runtimes] == [
        ("master", "head", "up"), ("worker", "10.0.0.2", "unknown")]
    assert "cannot reach 10.0.0.2" in got.runtimes[1].detail
    assert len(worker_transport.calls) == 1, "the runtime must not reconnect to it"
    assert [j.name for j in got.jobs] == ["jobwaiter-0000000000aa"]
    (armed,) = got.stops_armed
    assert (armed.job, armed.where) == ("jobwaiter-0000000000aa", "session")
    data = got.to_dict()
    assert data["nodes"][1]["role"] == "worker" and data["jobs"][0]["started_at"]


def test_a_runtime_that_raises_hangs_or_answers_nonsense_is_unknown(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    from jobwaiter.cluster import status as module
    from jobwaiter.runtimes import Runtime
    from jobwaiter.runtimes.base import RuntimeStatus

    release = threading.Event()

    class Raises(Runtime):
        name = "raises"

        def status(self, head, workers):  # type: ignore[no-untyped-def]
            raise ValueError("a plugin's bug")

    class Hangs(Runtime):
        name = "hangs"

        def status(self, head, workers):  # type: ignore[no-untyped-def]
            release.wait(30)
            return []

    class Nonsense(Runtime):
        name = "nonsense"

        def status(self, head, workers):  # type: ignore[no-untyped-def]
            return "up"

    class Fine(Runtime):
        name = "fine"

        def status(self, head, workers):  # type: ignore[no-untyped-def]
            return [RuntimeStatus("fine", "daemon", "head", "up", "pid 1")]

    monkeypatch.setattr(module, "RUNTIMES_TIMEOUT", 0.5)
    head = Node("head", "h", MockTransport(lambda argv, data: (0, "")), is_head=True)
    t0 = time.monotonic()
    got = module._runtime_statuses([Raises({}), Hangs({}), Nonsense({}), Fine({})], head, [])
    release.set()
    assert time.monotonic() - t0 < 5
    assert [(s.runtime, s.state) for s in got] == [
        ("raises", "unknown"), ("hangs", "unknown"), ("nonsense", "unknown"), ("fine", "up")]
    assert got[0].detail == "its status failed: ValueError: a plugin's bug"
    assert got[1].detail == "no answer within 0.5s"
    assert "RuntimeStatus" in got[2].detail
