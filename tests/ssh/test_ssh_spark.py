"""Spark standalone on the SSH provider, end to end, against the private-sshd farm.

``jobwaiter start`` starts a real master (pyspark's Spark, Java 17) on the head (127.0.0.21)
and one worker on each worker host (127.0.0.22 and .23), each daemon under that host's own
HOME; the head runs no worker, as on any cluster with workers. Then real PySpark applications
run from jobs on the head: a client-mode one that succeeds with an executor on each worker, a
client-mode one whose driver exits 7 (the master still calls it FINISHED: only the job's
status can tell), and a cluster-mode driver submitted to the master's REST server, which runs
on a worker. Last, ``jobwaiter stop`` must leave no Spark process and no open Spark port on
any host. Every port is on a loopback address.

The tests share one cluster and run in file order; a finalizer stops it whatever happens.
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
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sshd import Farm, Host, free_port

# As in tests/test_spark_cluster.py: skipped without pyspark or Java, but never in CI, where a
# skip would hide that the real-engine tests did not run.
if not os.environ.get("CI"):
    pytest.importorskip("pyspark", reason="the Spark tests need pyspark (pip install pyspark)")
    if shutil.which("java") is None:
        pytest.skip("the Spark tests need Java", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CLUSTER = "t"  # the farm's cluster_name: the daemons' state is under runtimes/t/spark

# The application. Each task reports the SPARK_LOCAL_IP its executor inherited from the
# worker that launched it, which tells on which host it ran.
APP = r"""
import os, sys
from pyspark.sql import SparkSession
mode, name = sys.argv[1], sys.argv[2]
if mode == "fail-at-once":
    raise SystemExit(3)
spark = SparkSession.builder.appName(name).getOrCreate()
sc = spark.sparkContext
print("sum", sc.parallelize(range(100), 2).map(lambda x: x * x).sum())
hosts = sc.parallelize(range(8), 8).map(lambda _: os.environ.get("SPARK_LOCAL_IP")).collect()
print("executor hosts", sorted(set(hosts)))
spark.stop()
if mode == "fail":
    raise SystemExit(7)
"""


# Cluster-mode submission through the master's REST server, as a job would do it.
REST_SUBMIT = Path(__file__).parents[1] / "spark_rest_submit.py"


@dataclass
class SparkOnSSH:
    farm: Farm
    root: Path  # shared by every "host" (one machine): the application files live here
    config: Path
    ports: dict[str, int]
    start: subprocess.CompletedProcess[str] | None = None
    started_status: dict[str, Any] = field(default_factory=dict)

    @property
    def head(self) -> Host:
        return self.farm.head

    @property
    def master(self) -> str:
        return f"spark://{self.head.addr}:{self.ports['master']}"

    def status(self) -> dict[str, Any]:
        url = f"http://{self.head.addr}:{self.ports['ui']}/json/"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]

    def state(self, host: Host) -> Path:
        return host.home / ".jobwaiter" / "runtimes" / CLUSTER / "spark"

    def pids(self, host: Host) -> dict[str, int]:
        return {p.stem: int(p.read_text()) for p in sorted(self.state(host).glob("*.pid"))}

    def submit_cmd(self, mode: str, name: str) -> str:
        """A client-mode spark-submit whose driver (and its ports) stay on the head's
        loopback address."""
        argv = [str(pyspark_home() / "bin" / "spark-submit"), "--master", self.master,
                "--conf", f"spark.driver.host={self.head.addr}",
                "--conf", f"spark.driver.bindAddress={self.head.addr}",
                "--conf", "spark.ui.enabled=false",
                # Tasks wait for both executors, so both workers really run some.
                "--conf", "spark.scheduler.minRegisteredResourcesRatio=1",
                "--conf", f"spark.pyspark.python={sys.executable}",
                "--executor-memory", "512m", "--executor-cores", "1",
                "--total-executor-cores", "2", str(self.root / "app.py"), mode, name]
        return shlex.join(argv)

    def rest_submit_cmd(self, mode: str, name: str, out: str) -> str:
        """A job's command that submits APP in cluster mode and writes the driver's id to
        ``out``."""
        argv = [sys.executable, str(self.root / "rest_submit.py"),
                f"http://{self.head.addr}:{self.ports['rest']}", self.master, sys.executable,
                str(self.root / "app.py"), name, mode, name]
        return shlex.join(argv) + f" > {shlex.quote(out)}"


def pyspark_home() -> Path:
    """The Spark inside the pyspark package, the same path on every host (one machine)."""
    import pyspark

    return Path(pyspark.__file__).parent


def jobwaiter(*argv: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process: what `start` leaves running must outlive it."""
    return subprocess.run([sys.executable, "-m", "jobwaiter.cli.main", *argv],
                          capture_output=True, text=True, timeout=timeout, check=False)


def spark_processes(host: Host) -> list[int]:
    """Spark JVMs (daemons, executors, drivers) running with this host's HOME: whatever
    jobwaiter or Spark started there, found without trusting any pid file."""
    marker = f"HOME={host.home}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"org.apache.spark" in cmdline and marker in environ:
            found.append(int(entry))
    return found


def is_open(addr: str, port: int) -> bool:
    try:
        socket.create_connection((addr, port), timeout=2).close()
        return True
    except OSError:
        return False


def loopback_ports(farm: Farm) -> dict[str, int]:
    """Free ports: the master's on the head's address; the workers' web UI port on each
    worker's address (one port, as in the config)."""
    head = farm.head.addr
    ports = {"master": free_port(head), "ui": free_port(head), "rest": free_port(head)}
    while len(set(ports.values())) < 3:
        ports["rest"] = free_port(head)
    while True:
        port = free_port(farm.workers[0].addr)
        if port not in ports.values() and all(_bindable(h.addr, port) for h in farm.hosts):
            return {**ports, "worker_ui": port}


def _bindable(addr: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((addr, port))
        except OSError:
            return False
    return True


def runtime_section(ports: dict[str, int]) -> str:
    # Two workers advertising 4 cores and 2g each: more cores than concurrent drivers, and
    # small JVMs (512m executors and drivers) so that everything fits on 2 cores.
    return f"""\
runtime:
  types: [spark]
  spark:
    master_port: {ports['master']}
    web_ui_port: {ports['ui']}
    rest_port: {ports['rest']}
    worker_web_ui_port: {ports['worker_ui']}
    worker_cores: 4
    worker_memory: 2g
    python: {sys.executable}
    settle_seconds: 3
    start_timeout: 90
"""


def _kill_leftovers(spark: SparkOnSSH) -> None:
    """After `stop`: end anything it left, by recorded pid or by the host's HOME."""
    for host in spark.farm.hosts:
        for pid in spark.pids(host).values():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        for pid in spark_processes(host):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        host.clean()


@pytest.fixture(scope="module")
def spark(farm: Farm) -> Iterator[SparkOnSSH]:
    for host in farm.hosts:
        if not host.running:  # an earlier module's test stopped it
            host.start()
    root = Path(tempfile.mkdtemp(prefix="jwsp", dir="/tmp"))
    home = root / "h"  # this machine's private HOME, for the CLI
    home.mkdir()
    ports = loopback_ports(farm)
    config = root / "spark.yaml"
    config.write_text(farm.config(root / "known_hosts", extra=runtime_section(ports)))
    (root / "app.py").write_text(APP)
    (root / "rest_submit.py").write_text(REST_SUBMIT.read_text())
    s = SparkOnSSH(farm, root, config, ports)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.delenv("SSH_AUTH_SOCK", raising=False)  # only the farm's key may log in
        for var in ("TMUX", "STY", "SPARK_HOME", "SPARK_LOCAL_IP"):
            mp.delenv(var, raising=False)
        try:
            s.start = jobwaiter("start", str(config))
            assert s.start.returncode == 0, s.start.stderr  # every test needs the cluster
            s.started_status = s.status()
            yield s
        finally:
            with contextlib.suppress(subprocess.TimeoutExpired):
                jobwaiter("stop", str(config), "-y", timeout=60)
            _kill_leftovers(s)
            shutil.rmtree(root, ignore_errors=True)


def run_job(spark: SparkOnSSH, cmd: str, waiter: str) -> tuple[int, dict[str, Any], str]:
    r = jobwaiter("exec", str(spark.config), cmd, "--tmux", f"--job-waiter={waiter}", "--json")
    try:
        result = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"no JSON result (exit {r.returncode}): {r.stderr}") from None
    return r.returncode, result, r.stderr


def head_log(spark: SparkOnSSH, result: dict[str, Any]) -> str:
    path = str(result["log_path"])
    return (spark.head.home / path.removeprefix("~/")).read_text()


def test_start_runs_master_on_head_and_a_worker_on_each_worker(spark: SparkOnSSH) -> None:
    assert spark.start is not None
    out = spark.start.stderr
    assert "head: spark: master started (pid" in out
    for w in spark.farm.workers:
        assert f"{w.address}: spark: worker started (pid" in out
    assert "2 worker(s) registered" in out
    st = spark.started_status
    assert st["url"] == spark.master and st["aliveworkers"] == 2
    assert sorted(w["host"] for w in st["workers"]) == [w.addr for w in spark.farm.workers]
    assert {w["cores"] for w in st["workers"]} == {4}
    # Each daemon was started under its own host's HOME and is recorded there, and only there.
    assert set(spark.pids(spark.head)) == {"master"}
    for w in spark.farm.workers:
        assert set(spark.pids(w)) == {"worker"}
        assert spark.pids(w)["worker"] in spark_processes(w)
    again = jobwaiter("start", str(spark.config))
    assert again.returncode == 0, again.stderr
    assert "master already running" in again.stderr
    assert again.stderr.count("worker already running") == 2


def test_client_mode_app_succeeds_with_executors_on_both_workers(spark: SparkOnSSH) -> None:
    code, result, err = run_job(spark, spark.submit_cmd("ok", "ssh-ok"), "spark")
    assert code == 0, err
    assert result["outcome"] == "succeeded" and result["exit_status"] == 0
    tmux, waiter = result["waiters"]
    assert tmux["outcome"] == "succeeded"
    assert waiter["name"] == "spark" and waiter["outcome"] == "succeeded", waiter
    assert "(ssh-ok) FINISHED" in waiter["detail"]
    log = head_log(spark, result)
    assert "sum 328350" in log
    assert f"executor hosts {[w.addr for w in spark.farm.workers]}" in log


def test_client_mode_app_whose_driver_fails_is_never_a_success(spark: SparkOnSSH) -> None:
    code, result, err = run_job(spark, spark.submit_cmd("fail", "ssh-fail"), "spark")
    assert code == 7, err
    assert result["outcome"] == "failed" and result["exit_status"] == 7
    tmux, waiter = result["waiters"]
    assert tmux["outcome"] == "failed" and waiter["outcome"] == "skipped"
    assert "sum 328350" in head_log(spark, result), "the application itself did run"
    # The master calls it FINISHED: a client-mode driver's failure is only in its status.
    finished = {a["name"]: a["state"] for a in spark.status()["completedapps"]}
    assert finished.get("ssh-fail") == "FINISHED"


def test_cluster_mode_driver_runs_on_a_worker_and_is_waited_for(spark: SparkOnSSH) -> None:
    code, result, err = run_job(spark, spark.rest_submit_cmd("ok", "ssh-rest", "rest.id"),
                                "chain[tmux, spark]")
    driver = (spark.head.home / "rest.id").read_text().strip()
    assert driver.startswith("driver-"), err
    assert code == 0, err
    waiter = result["waiters"][1]
    assert f"{driver} (PythonRunner) FINISHED" in waiter["detail"]
    assert "(ssh-rest) FINISHED" in waiter["detail"]
    # The waiter returned only after the driver ended; it ran on a worker, under its HOME.
    (done,) = [d for d in spark.status()["completeddrivers"] if d["id"] == driver]
    assert done["state"] == "FINISHED"
    ran_on = [w for w in spark.farm.workers if f"-{w.addr}-" in done["worker"]]
    assert len(ran_on) == 1, done
    stdout = spark.state(ran_on[0]) / "work" / driver / "stdout"
    assert "sum 328350" in stdout.read_text()


def test_failing_cluster_mode_driver_fails_the_wait(spark: SparkOnSSH) -> None:
    code, result, err = run_job(spark, spark.rest_submit_cmd("fail-at-once", "doomed", "f.id"),
                                "chain[tmux, spark]")
    driver = (spark.head.home / "f.id").read_text().strip()
    assert driver.startswith("driver-"), err
    assert code == 126, err
    assert result["outcome"] == "waiter_failed" and result["exit_status"] == 0
    tmux, waiter = result["waiters"]
    assert tmux["outcome"] == "succeeded", "the job itself only submitted, successfully"
    assert waiter["outcome"] == "failed"
    assert f"{driver} (PythonRunner) FAILED" in waiter["detail"]


def test_stop_ends_every_daemon_and_closes_every_port(spark: SparkOnSSH) -> None:
    pids = {h.addr: spark.pids(h) for h in spark.farm.hosts}
    assert all(pids.values()), pids
    workers = spark.started_status["workers"]
    r = jobwaiter("stop", str(spark.config), "-y")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("spark: worker stopped (pid") == 2
    assert "head: spark: master stopped (pid" in r.stderr
    for host in spark.farm.hosts:
        for pid in pids[host.addr].values():
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert spark.pids(host) == {}, f"pid files left on {host.addr}"
        assert spark_processes(host) == [], f"Spark processes left on {host.addr}"
    head = spark.head.addr
    for name in ("master", "ui", "rest"):
        assert not is_open(head, spark.ports[name]), f"{name} port still open"
    for w in workers:
        ui_host, _, ui_port = w["webuiaddress"].removeprefix("http://").rpartition(":")
        assert not is_open(w["host"], w["port"]), f"worker {w['host']} still listening"
        assert not is_open(ui_host, int(ui_port)), f"worker UI {ui_host} still listening"
    again = jobwaiter("stop", str(spark.config), "-y")
    assert again.returncode == 0, again.stderr
    # A stopped cluster is not stopped again: nothing runs, and it says so.
    assert "not stopped: cluster t is already stopped" in again.stderr
    assert "not running" not in again.stderr
