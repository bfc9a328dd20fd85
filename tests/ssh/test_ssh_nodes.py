"""Several nodes: --node-ip, --all-nodes, and start/stop order across head and workers."""

from __future__ import annotations

import time

import pytest

from polling import wait_for


def test_node_ip_runs_on_that_worker(ssh, cli) -> None:
    worker = ssh.workers[0]
    r = cli("exec", str(ssh.config), 'echo "home=$HOME"; exit 6', "--node-ip", worker.addr)
    assert r.code == 6, r.err
    assert f"home={worker.home}" in r.out
    assert len(worker.records()) == 1 and ssh.head.records() == []
    assert f"running on {worker.address}" in r.err


def test_node_ip_session_and_waiter_on_a_worker(ssh, cli) -> None:
    worker = ssh.workers[1]
    r = cli("exec", str(ssh.config), "sleep 1; exit 3", "--tmux", "--job-waiter=tmux",
            "--node-ip", worker.address, "--json")
    assert r.code == 3, r.err
    name = r.json["session"]
    assert (worker.jobs / name / "status").read_text().split()[0] == "3"
    assert f"-p {worker.port}" in r.err  # the attach command reaches the worker


def test_worker_job_can_be_resumed_listed_followed_and_killed(ssh, cli) -> None:
    worker = ssh.workers[0]
    r = cli("exec", str(ssh.config), "echo hi; sleep 2; exit 4", "--tmux", "--job-waiter=tmux",
            "--job-timeout", "0.3", "--node-ip", worker.addr, "--json")
    assert r.code == 124, r.err
    name = r.json["session"]
    assert f"jobwaiter wait {ssh.config} {name} --node-ip {worker.addr}" in r.err
    assert cli("wait", str(ssh.config), name).code == 2  # not on the head
    listed = cli("jobs", str(ssh.config), "--node-ip", worker.addr, "--json")
    assert [row["session"] for row in listed.json] == [name]
    assert cli("wait", str(ssh.config), name, "--node-ip", worker.addr).code == 4
    assert cli("logs", str(ssh.config), name, "--node-ip", worker.addr).out == "hi\n"
    r = cli("exec", str(ssh.config), "sleep 60", "--tmux", "--node-ip", worker.addr, "--json")
    name = r.json["session"]
    r = cli("kill", str(ssh.config), name, "--node-ip", worker.addr, "--grace", "1")
    assert r.code == 0, r.err
    assert (worker.jobs / name / "status").read_text().split()[0] == "143"


def test_node_ip_unknown_is_a_usage_error(ssh, cli) -> None:
    before = ssh.accepted()
    r = cli("exec", str(ssh.config), "true", "--node-ip", "127.0.0.99")
    assert r.code == 2
    assert "not a node of this cluster" in r.err and ssh.head.address in r.err
    assert ssh.accepted() == before


def test_node_ip_stop_in_a_worker_session_is_refused(ssh, cli) -> None:
    r = cli("exec", str(ssh.config), "true", "--tmux", "--stop", "-y",
            "--node-ip", ssh.workers[0].addr)
    assert r.code == 2
    assert "needs a --job-waiter" in r.err


def test_all_nodes_one_failing(ssh, cli) -> None:
    bad = ssh.workers[1]
    (bad.home / "fail").write_text("")
    r = cli("exec", str(ssh.config), 'echo "hello from $HOME"; [ ! -e ~/fail ] || exit 4',
            "--all-nodes")
    assert r.code == 1, r.err
    for host in ssh.farm.hosts:
        assert f"{host.address}: hello from {host.home}" in r.out
        assert len(host.records()) == 1
    assert f"{ssh.head.address} (head): exit status 0" in r.err
    assert f"{ssh.workers[0].address}: exit status 0" in r.err
    assert f"{bad.address}: exit status 4" in r.err
    assert "failed on 1 of 3 nodes" in r.err


def test_all_nodes_json_and_success(ssh, cli) -> None:
    r = cli("exec", str(ssh.config), "echo out; echo err >&2", "--all-nodes", "--json")
    assert r.code == 0, r.err
    nodes = r.json["nodes"]
    assert [n["node"] for n in nodes] == [h.address for h in ssh.farm.hosts]
    assert all(n["exit_status"] == 0 and n["stdout"] == "out\n" for n in nodes)
    assert "result: succeeded on all 3 nodes" in r.err


def test_all_nodes_parallel_and_not(ssh, cli) -> None:
    t0 = time.monotonic()
    r = cli("exec", str(ssh.config), "sleep 1.5", "--all-nodes")
    parallel = time.monotonic() - t0
    assert r.code == 0, r.err
    t0 = time.monotonic()
    r = cli("exec", str(ssh.config), "sleep 1.5; echo done", "--all-nodes", "--no-parallel")
    serial = time.monotonic() - t0
    assert r.code == 0, r.err
    assert parallel < 3.5 and serial >= 4.5, (parallel, serial)
    # One node at a time: output comes in the nodes' order.
    prefixes = [line.split(": ")[0] for line in r.out.splitlines()]
    assert prefixes == [h.address for h in ssh.farm.hosts]


@pytest.mark.slow
def test_all_nodes_output_is_live_and_lines_stay_whole(ssh) -> None:
    """Each node prints a line, then waits until the test has seen every node's first line;
    lines written by three nodes at once are never cut into each other."""
    gate = ssh.local.home / "gate"  # type: ignore[attr-defined]
    script = ('echo "first $HOME"; for i in $(seq 200); do printf "%0300d\\n" $i; done; '
              f"while [ ! -e {gate} ]; do sleep 0.05; done; echo last")
    proc = ssh.spawn("exec", str(ssh.config), script, "--all-nodes")
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while sum(line.startswith(f"{h.address}: first") for line in seen
                  for h in ssh.farm.hosts) < 3:
            assert time.monotonic() < deadline and proc.poll() is None, seen[-3:]
            seen.append(proc.stdout.readline().rstrip("\n"))
        gate.touch()
        # Not communicate(): it reads the pipe itself and would miss what readline buffered.
        rest = proc.stdout.read()
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = seen + rest.splitlines()
    for host in ssh.farm.hosts:
        mine = [line.removeprefix(f"{host.address}: ") for line in lines
                if line.startswith(f"{host.address}: ")]
        assert mine[0] == f"first {host.home}" and mine[-1] == "last"
        assert mine[1:-1] == [f"{i:0300d}" for i in range(1, 201)], "a line was cut"
    assert len(lines) == 3 * 202


def test_all_nodes_with_an_unreachable_worker(ssh, cli) -> None:
    down = ssh.workers[1]
    down.kill_all()
    r = cli("exec", str(ssh.config), "echo up", "--all-nodes")
    assert r.code == 1
    assert f"{down.address}: unreachable: cannot reach {down.address}" in r.err
    assert f"{ssh.head.address}: up" in r.out


def test_all_nodes_refuses_session_options(ssh, cli) -> None:
    r = cli("exec", str(ssh.config), "true", "--all-nodes", "--tmux")
    assert r.code == 2 and "--tmux" in r.err
    r = cli("exec", str(ssh.config), "true", "--all-nodes", "--node-ip", ssh.head.addr)
    assert r.code == 2
    r = cli("exec", str(ssh.config), "true", "--no-parallel")
    assert r.code == 2


def order_config(ssh, log) -> str:  # type: ignore[no-untyped-def]
    def cmd(what: str) -> str:
        # Workers' commands last 1 s, so that two of them overlap exactly when in parallel.
        pause = 1 if what.startswith("worker") else 0.3
        return f'  - echo "{what} $(date +%s.%N) $HOME" >> {log}; sleep {pause}'

    extra = "\n".join([
        "head_start_commands:", cmd("head-start"),
        "worker_start_commands:", cmd("worker-start"),
        "worker_stop_commands:", cmd("worker-stop"),
        "head_stop_commands:", cmd("head-stop"),
    ])
    return str(ssh.write_config("order.yaml", extra=extra + "\n"))


def read_log(log) -> list[tuple[str, float, str]]:  # type: ignore[no-untyped-def]
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(what, float(when), home) for what, when, home in rows]


def test_start_and_stop_order(ssh, cli, tmp_path) -> None:
    log = tmp_path / "order.log"
    config = order_config(ssh, log)
    t0 = time.monotonic()
    r = cli("start", config)
    assert r.code == 0, r.err
    rows = read_log(log)
    assert [w for w, _, _ in rows] == ["head-start", "worker-start", "worker-start"]
    assert {h for _, _, h in rows[1:]} == {str(w.home) for w in ssh.workers}
    assert rows[1][1] >= rows[0][1] + 0.3, "workers start after the head"
    assert abs(rows[1][1] - rows[2][1]) < 1, "workers start in parallel"
    assert f"{ssh.workers[0].address}: ran 1 start command" in r.err
    assert time.monotonic() - t0 < 6

    r = cli("start", config)  # idempotent, per node
    assert r.code == 0 and r.err.count("already started") == 3, r.err
    assert len(read_log(log)) == 3

    r = cli("stop", config, "-y")
    assert r.code == 0, r.err
    stops = read_log(log)[3:]
    assert [w for w, _, _ in stops] == ["worker-stop", "worker-stop", "head-stop"]
    assert stops[2][1] >= max(stops[0][1], stops[1][1]) + 1, "the head stops last"


def test_stop_with_a_waiter_stops_the_workers_from_here(ssh, cli, tmp_path) -> None:
    log = tmp_path / "order.log"
    config = order_config(ssh, log)
    r = cli("exec", config, "exit 2", "--tmux", "--job-waiter=tmux", "--stop", "-y")
    assert r.code == 2, r.err
    assert [w for w, _, _ in read_log(log)] == ["worker-stop", "worker-stop", "head-stop"]


def test_stop_inside_a_session_warns_about_workers(ssh, cli, tmp_path) -> None:
    # Watched from the client, the job's session can stop only its own node.
    config = order_config(ssh, tmp_path / "order.log")
    r = cli("exec", config, "true", "--tmux", "--stop", "-y", "--watch", "client")
    assert r.code == 0, r.err
    assert "runs only the head's stop commands" in r.err


def test_a_session_without_waiter_on_the_heads_watch_stops_every_node(ssh, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "order.log"
    config = order_config(ssh, log)
    assert cli("exec", config, "true", "--all-nodes").code == 0  # learn host keys
    r = cli("exec", config, "true", "--tmux", "--stop", "-y")
    assert r.code == 0, r.err
    assert "the head watches job" in r.err and "runs only the head's" not in r.err
    stops = ["worker-stop", "worker-stop", "head-stop"]
    wait_for(lambda: log.exists() and [w for w, _, _ in read_log(log)] == stops, 30)


def test_a_failing_worker_stop_keeps_the_head_up(ssh, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "order.log"
    extra = (f"worker_stop_commands:\n  - 'false'\nhead_stop_commands:\n"
             f"  - echo head-stop >> {log}\n")
    config = ssh.write_config("failing.yaml", extra=extra)
    r = cli("stop", str(config), "-y", "--json")
    assert r.code == 1
    assert not log.exists(), "the head was stopped behind workers that still run"
    stop = r.json["stop"]
    assert stop["state"] == "failed" and stop["detail"].endswith("the head stays up"), stop
    assert [n["state"] for n in stop["nodes"]] == ["failed", "failed", "not_run"]
    assert all(f"stop failed on {w.address}" in stop["detail"] for w in ssh.workers), stop
    assert "stop failed on" in r.err and "the head stays up" in r.err
