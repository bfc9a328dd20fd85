"""The Ray runtime against a real Ray (from ray[default]) on loopback.

One Ray head for the whole module, started by ``jobwaiter start`` with every port a free
one, a private HOME and a short temp dir. The tests run in file order; the last one stops
the cluster and checks that nothing of it is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.runtimes.base import BUSY, IDLE
from polling import wait_for

# `make test` installs ray[default]. Elsewhere the module is skipped, but never in CI.
if not os.environ.get("CI"):
    pytest.importorskip("ray", reason="the Ray tests need ray[default]")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

BIN = Path(sys.executable).parent
RAY = str(BIN / "ray") if (BIN / "ray").exists() else (shutil.which("ray") or "ray")


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


@dataclass
class Ray:
    home: Path
    config: Path
    dashboard: int
    gcs: int
    start: subprocess.CompletedProcess[str]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.dashboard}"

    @property
    def pidfile(self) -> Path:
        return self.home / ".jobwaiter" / "runtimes" / "ray-test" / "ray" / "head.pid"

    def jobs(self) -> dict[str, dict]:  # type: ignore[type-arg]
        rows = json.loads(urllib.request.urlopen(self.api + "/api/jobs/", timeout=10).read())
        return {r["submission_id"]: r for r in rows if r.get("submission_id")}

    def submit_cmd(self, code: str, sid: str) -> str:
        """A job's command that submits Python ``code`` with --no-wait and returns."""
        return (f"RAY_API_SERVER_ADDRESS={self.api} {shlex.quote(RAY)} job submit --no-wait "
                f"--submission-id {sid} -- "
                f"{shlex.quote(sys.executable)} -c {shlex.quote(code)} > /dev/null")

    def post(self, path: str) -> None:
        req = urllib.request.Request(self.api + path, data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def submit(self, code: str, sid: str) -> None:
        body = json.dumps({"entrypoint": f"{shlex.quote(sys.executable)} -c "
                           f"{shlex.quote(code)}", "submission_id": sid}).encode()
        req = urllib.request.Request(self.api + "/api/jobs/", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def wait_status(self, sid: str, statuses: set[str], timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.jobs().get(sid, {}).get("status") in statuses:
                return
            time.sleep(0.3)
        raise AssertionError(f"{sid} did not reach {statuses}: {self.jobs().get(sid)}")

    def group(self) -> list[str]:
        pid = int(self.pidfile.read_text())
        out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "-g", str(pid)],
                             capture_output=True, text=True, check=False).stdout
        return [line.strip() for line in out.splitlines() if line.strip()]


def jobwaiter(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobwaiter.cli.main", *argv],
                          capture_output=True, text=True, timeout=150, check=False)


@pytest.fixture(scope="module")
def ray() -> Iterator[Ray]:
    root = Path(tempfile.mkdtemp(prefix="jwr", dir="/tmp"))
    home = root / "h"
    home.mkdir()
    (root / "s").mkdir(mode=0o700)
    p = free_ports(9)
    config = home / "ray.yaml"
    config.write_text(f"""\
cluster_name: ray-test
provider: {{type: local}}
runtime:
  types: [ray]
  ray:
    ray_bin: {RAY}
    python: {sys.executable}
    gcs_port: {p[0]}
    dashboard_port: {p[1]}
    client_server_port: {p[2]}
    node_manager_port: {p[3]}
    object_manager_port: {p[4]}
    dashboard_agent_listen_port: {p[5]}
    dashboard_agent_grpc_port: {p[6]}
    runtime_env_agent_port: {p[7]}
    metrics_export_port: {p[8]}
    min_worker_port: 0
    max_worker_port: 0
    num_cpus: 4
    temp_dir: {root}/rt
    start_timeout: 90
""")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("TMUX_TMPDIR", str(root))
        mp.setenv("SCREENDIR", str(root / "s"))
        mp.delenv("TMUX", raising=False)
        mp.delenv("STY", raising=False)
        mp.chdir(home)
        started = jobwaiter("start", str(config))
        r = Ray(home, config, p[1], p[0], started)
        pid = int(r.pidfile.read_text()) if r.pidfile.exists() else None
        try:
            assert started.returncode == 0, started.stderr
            yield r
        finally:
            jobwaiter("stop", str(config), "-y")
            if pid is not None:  # whatever a failed stop left behind, by its recorded pid
                with contextlib.suppress(OSError):
                    os.killpg(pid, 9)
            subprocess.run(["tmux", "kill-server"], capture_output=True, check=False)
            shutil.rmtree(root, ignore_errors=True)


def test_start_runs_a_head_that_outlives_it_and_is_idempotent(ray: Ray) -> None:
    assert "ray: head started (pid" in ray.start.stderr
    assert "ray: 1 node(s) alive" in ray.start.stderr
    pid = int(ray.pidfile.read_text())
    assert os.getsid(pid) == pid != os.getsid(0)
    assert any("gcs_server" in line for line in ray.group())
    again = jobwaiter("start", str(ray.config))
    assert again.returncode == 0 and "head already running" in again.stderr


def test_chain_waits_for_two_no_wait_submissions(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    marker = ray.home / "two-done"
    slow = f"import time; time.sleep(4); open({str(marker)!r}, 'w').write('x')"
    cmd = ray.submit_cmd("import time; time.sleep(1)", "two-a") + " && " + \
        ray.submit_cmd(slow, "two-b")
    r = cli("exec", str(ray.config), cmd, "--tmux", "--job-waiter", "chain[tmux, ray]",
            "--json")
    assert r.code == 0, r.err
    assert marker.exists(), f"jobwaiter returned before the Ray job finished: {r.err}"
    tmux, waiter = r.json["waiters"]
    assert tmux["outcome"] == "succeeded" and waiter["outcome"] == "succeeded"
    assert "two-a SUCCEEDED" in waiter["detail"] and "two-b SUCCEEDED" in waiter["detail"]
    assert "Ray job" in r.err and "in progress" in r.err


def test_an_entrypoint_that_exits_3_fails_the_wait_with_id_and_code(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    cmd = ray.submit_cmd("import sys, time; time.sleep(1); sys.exit(3)", "exits-3")
    r = cli("exec", str(ray.config), cmd, "--tmux", "--job-waiter", "chain[tmux, ray]",
            "--json")
    assert r.code == 126, r.err
    tmux, waiter = r.json["waiters"]
    assert tmux["outcome"] == "succeeded", "the job itself only submitted, successfully"
    assert waiter["outcome"] == "failed"
    assert "exits-3 FAILED (error_type JOB_ENTRYPOINT_COMMAND_ERROR, driver_exit_code 3)" \
        in waiter["detail"]


def test_a_stopped_job_fails_the_wait(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    cmd = ray.submit_cmd("import time; time.sleep(300)", "to-stop")
    timer = threading.Timer(0, lambda: (ray.wait_status("to-stop", {"RUNNING"}),
                                        ray.post("/api/jobs/to-stop/stop")))
    timer.start()
    try:
        r = cli("exec", str(ray.config), cmd, "--tmux", "--job-waiter", "chain[tmux, ray]",
                "--job-timeout", "90", "--json")
    finally:
        timer.join()
    assert r.code == 126, r.err
    assert "to-stop STOPPED" in r.json["waiters"][1]["detail"]


def test_scope_an_older_job_blocks_only_ray_all(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    ray.submit("import time; time.sleep(300)", "older")
    try:
        ray.wait_status("older", {"RUNNING"})
        time.sleep(1.5)  # past the clock slack
        r = cli("exec", str(ray.config), "true", "--tmux", "--job-waiter", "ray",
                "--job-timeout", "30", "--json")
        assert r.code == 0, r.err
        assert r.json["waiters"][1]["detail"] == "no Ray job in scope"
        r = cli("exec", str(ray.config), "true", "--tmux", "--job-waiter", "ray[all]",
                "--job-timeout", "5", "--json")
        assert r.code == 124, r.err
        assert "older RUNNING" in r.err
    finally:
        ray.post("/api/jobs/older/stop")
        ray.wait_status("older", {"STOPPED", "FAILED"})


def test_dashboard_stopped_for_a_while_is_never_success(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    (dash,) = [int(line.split()[0]) for line in ray.group()
               if "dashboard/dashboard.py" in line]
    cmd = ray.submit_cmd("import time; time.sleep(2)", "during-outage")
    resumed: list[float] = []

    def outage() -> None:
        ray.wait_status("during-outage", {"RUNNING"})
        os.kill(dash, signal.SIGSTOP)
        time.sleep(14)  # the job ends meanwhile; the waiter cannot know
        resumed.append(time.time())
        os.kill(dash, signal.SIGCONT)

    t = threading.Thread(target=outage)
    t.start()
    try:
        r = cli("exec", str(ray.config), cmd, "--tmux", "--job-waiter", "chain[tmux, ray]",
                "--json")
        ended = time.time()
    finally:
        t.join()
        os.kill(dash, signal.SIGCONT)
    assert r.code == 0, r.err
    assert resumed and ended >= resumed[0], "success while the dashboard did not answer"
    assert "unreachable" in r.err and "retrying" in r.err
    assert "during-outage SUCCEEDED" in r.json["waiters"][1]["detail"]


def test_submit_runtime_ray_follows_the_submission(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    script = ray.home / "app.py"
    script.write_text("import sys\nprint('args', sys.argv[1:])\nsys.exit(int(sys.argv[1]))\n")
    r = cli("submit", "--runtime", "ray", str(ray.config), str(script), "--", "0", "a b",
            "$HOME", "`id`", "--tmux")
    assert r.code == 0, r.err
    assert "args ['0', 'a b', '$HOME', '`id`', '--tmux']" in r.out
    sid = next(line.split()[-1] for line in r.out.splitlines()
               if line.startswith("ray: submitted "))
    assert ray.jobs()[sid]["status"] == "SUCCEEDED"
    # The submission id is derived from the jobwaiter job and recorded with it.
    (record,) = [p for p in (ray.home / ".jobwaiter" / "jobs").iterdir()
                 if (p / "ray-jobs").exists()]
    assert sid == f"{record.name}-app" and (record / "ray-jobs").read_text() == sid + "\n"
    r = cli("submit", "--runtime", "ray", str(ray.config), str(script), "4")
    assert r.code == 4, r.err
    assert "FAILED (error_type JOB_ENTRYPOINT_COMMAND_ERROR, driver_exit_code 4)" in r.err


def test_killing_a_submit_job_stops_its_submission(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    script = ray.home / "long.py"
    script.write_text("import time\ntime.sleep(300)\n")
    r = cli("submit", "--runtime", "ray", "--tmux", "--json", str(ray.config), str(script))
    assert r.code == 0 and r.json["outcome"] == "started", r.err
    job = r.json["job"]
    deadline = time.time() + 30
    sids: list[str] = []
    while time.time() < deadline and not sids:
        sids = [i for i in ray.jobs() if i == f"{job}-long"]
        time.sleep(0.3)
    (sid,) = sids
    ray.wait_status(sid, {"RUNNING"})
    k = cli("kill", str(ray.config), job)
    assert k.code == 0, k.err
    ray.wait_status(sid, {"STOPPED"}, timeout=30)


def test_a_background_driver_that_registers_late_is_waited_for(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    # The job starts a ray.init() driver in the background and exits at once; the driver
    # registers with Ray seconds later. The wait must not be over before the driver is.
    marker = ray.home / "late-driver.done"
    driver = ray.home / "late_driver.py"
    driver.write_text(
        "import time, ray\n"
        f"ray.init(address='127.0.0.1:{ray.gcs}', include_dashboard=False)\n"
        "time.sleep(5)\n"
        f"open({str(marker)!r}, 'w').write('done')\n")
    # RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: ray.init keeps 127.0.0.1, as the daemons do.
    cmd = (f"RAY_USAGE_STATS_ENABLED=0 RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 nohup "
           f"{shlex.quote(sys.executable)} "
           f"{shlex.quote(str(driver))} > late-driver.log 2>&1 &")
    t0 = time.monotonic()
    r = cli("exec", str(ray.config), cmd, "--tmux", "--job-waiter", "ray", "--json")
    took = time.monotonic() - t0
    assert r.code == 0, r.err
    log = ray.home / "late-driver.log"
    assert marker.exists(), (f"jobwaiter returned before the background driver finished "
                             f"({took:.1f}s): {r.json['waiters']}; the driver's log: "
                             f"{log.read_text()[-2000:] if log.exists() else '(none)'}")
    waiter = r.json["waiters"][-1]
    assert waiter["outcome"] == "succeeded" and "SUCCEEDED (driver)" in waiter["detail"]


def test_activity_is_busy_while_a_ray_job_runs_and_idle_once_it_ended(ray: Ray) -> None:
    with Cluster(ray.config) as cluster:
        (runtime,) = cluster.runtimes
        head = cluster.node()

        def idle() -> bool:
            time.sleep(0.3)
            return runtime.activity(head).state == IDLE

        wait_for(idle, 30)  # whatever earlier tests ran has ended
        ray.submit("import time; time.sleep(20)", "activity-probe")
        got = runtime.activity(head)  # listed PENDING at once, then RUNNING: work either way
        assert got.state == BUSY, got
        assert "1 Ray job in progress: activity-probe " in got.detail, got.detail
        ray.wait_status("activity-probe", {"RUNNING"})
        running = time.monotonic()
        got = runtime.activity(head)
        assert got.state == BUSY and "activity-probe RUNNING" in got.detail, got
        wait_for(idle, 90)
        # Idle only once the job has ended: not before its 20 s of sleep were over.
        assert time.monotonic() - running > 15, "idle while the job still ran"
        assert ray.jobs()["activity-probe"]["status"] == "SUCCEEDED"


def test_stop_is_exact_and_leaves_no_ray_process(ray: Ray, cli) -> None:  # type: ignore[no-untyped-def]
    pid = int(ray.pidfile.read_text())
    assert ray.group()
    # A job still running: Ray's own shutdown must end it, quickly and without a kill.
    ray.submit("import time; time.sleep(300)", "running-at-stop")
    ray.wait_status("running-at-stop", {"RUNNING"})
    t0 = time.monotonic()
    r = jobwaiter("stop", str(ray.config), "-y")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert f"ray: head stopped (pid {pid})" in r.stderr, (took, r.stderr)
    assert "killed" not in r.stderr, (took, r.stderr)
    assert "running-at-stop" in r.stderr, "the stop does not say it stopped the running job"
    assert took < 20, f"stop took {took:.1f}s"
    left = subprocess.run(["ps", "-o", "pid=", "-g", str(pid)], capture_output=True,
                          text=True, check=False).stdout.split()
    assert left == []
    temp = str(ray.home.parent / "rt")
    mine = subprocess.run(["pgrep", "-f", temp], capture_output=True, text=True,
                          check=False).stdout.split()
    assert mine == [], "a Ray process of this cluster outlived stop"
    assert not ray.pidfile.exists()
    again = jobwaiter("stop", str(ray.config), "-y")
    # A stopped cluster is not stopped again: nothing runs, and it says so.
    assert again.returncode == 0 and "already stopped" in again.stderr
    assert "not running" not in again.stderr
    # The cluster as a crash leaves it: recorded started, its head gone.
    state = ray.home / ".jobwaiter" / "clusters" / "ray-test.state"
    state.write_text("started\n")
    try:
        r = cli("exec", str(ray.config), "true", "--job-waiter", "ray", "--job-timeout", "3")
    finally:
        state.write_text("stopped\n")
    assert r.code == 124
    assert "unreachable (Connection refused), retrying" in r.err
