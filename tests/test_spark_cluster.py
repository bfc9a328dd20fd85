"""The Spark runtime against a real standalone Spark (from the pyspark package) on loopback.

One master and one worker for the whole module, started by ``jobwaiter start`` (start-up
alone takes 5-15 s), with a private HOME for the module: the daemons' pids, logs and work
directories, and every job's record, live there. The tests run in file order; the last one
stops the cluster.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
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

# `make test` installs pyspark and Java. Elsewhere the module is skipped, but never in CI,
# where a skip would hide that the real-engine tests did not run.
if not os.environ.get("CI"):
    pytest.importorskip("pyspark", reason="the Spark tests need pyspark (pip install pyspark)")
    if shutil.which("java") is None:
        pytest.skip("the Spark tests need Java", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# The application the tests run, in client mode (spark-submit) or cluster mode (REST).
APP = r"""
import sys, time
mode, name = sys.argv[1], sys.argv[2]
if mode == "fail-at-once":
    raise SystemExit(3)
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName(name).getOrCreate()
print("sum", spark.sparkContext.parallelize(range(100), 2).map(lambda x: x * x).sum())
print("args", sys.argv[3:])
if mode == "sleep":
    time.sleep(float(sys.argv[3]))
if mode == "marker":
    time.sleep(float(sys.argv[3]))
    open(sys.argv[4], "w").write(repr(time.time()))
spark.stop()
"""


# Cluster-mode submission through the master's REST server, as a job would do it.
REST_SUBMIT = Path(__file__).parent / "spark_rest_submit.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Spark:
    home: Path
    config: Path
    master_port: int
    ui_port: int
    rest_port: int
    start: subprocess.CompletedProcess[str]

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def state(self) -> Path:
        return self.home / ".jobwaiter" / "runtimes" / "spark-test" / "spark"

    def status(self) -> dict:  # type: ignore[type-arg]
        url = f"http://127.0.0.1:{self.ui_port}/json/"
        return json.loads(urllib.request.urlopen(url, timeout=10).read())  # type: ignore[no-any-return]

    def rest_submit(self, name: str, *args: str) -> str:
        """Submit the test app in cluster mode, from outside any job."""
        out = subprocess.run(
            [sys.executable, str(self.home / "rest_submit.py"), self.rest, self.master,
             sys.executable, str(self.home / "app.py"), name, *args],
            capture_output=True, text=True, check=True, timeout=60)
        return out.stdout.strip()

    def rest_submit_cmd(self, name: str, *args: str, out: str) -> str:
        """The same, as a job's command that writes the submission id to ``out``."""
        argv = [sys.executable, "rest_submit.py", self.rest, self.master, sys.executable,
                str(self.home / "app.py"), name, *args]
        return shlex.join(argv) + f" > {out}"

    def rest_kill(self, driver: str) -> None:
        req = urllib.request.Request(f"{self.rest}/v1/submissions/kill/{driver}", data=b"",
                                     method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def wait_for(self, what: str, cond, timeout: float = 90) -> dict:  # type: ignore[no-untyped-def,type-arg]
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.status()
            if cond(st):
                return st  # type: ignore[no-any-return]
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}: {self.status()}")

    def pids(self) -> list[int]:
        return [int(p.read_text()) for p in sorted(self.state.glob("*.pid"))]


def jobwaiter(*argv: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process, so what it starts must outlive it."""
    return subprocess.run([sys.executable, "-m", "jobwaiter.cli.main", *argv],
                          capture_output=True, text=True, timeout=180, check=False)


def local_spark_config(name: str, master: int, ui: int, rest: int | None, worker_ui: int,
                       *extra: str) -> str:
    """A local-provider cluster file with Spark on loopback; ``extra``: more spark keys."""
    keys = "".join(f"    {line}\n" for line in extra)
    return f"""\
cluster_name: {name}
provider: {{type: local}}
runtime:
  types: [spark]
  spark:
    master_host: 127.0.0.1
    master_port: {master}
    web_ui_port: {ui}
    rest_port: {"null" if rest is None else rest}
    worker_web_ui_port: {worker_ui}
{keys}    python: {sys.executable}
    start_timeout: 120
"""


@pytest.fixture(scope="module")
def spark() -> Iterator[Spark]:
    root = Path(tempfile.mkdtemp(prefix="jws", dir="/tmp"))
    home = root / "h"
    home.mkdir()
    (root / "s").mkdir(mode=0o700)
    ports = [free_port() for _ in range(4)]
    config = home / "spark.yaml"
    config.write_text(local_spark_config(
        "spark-test", ports[0], ports[1], ports[2], ports[3],
        "worker_cores: 8          # advertised: more than concurrent drivers, or they starve",
        "worker_memory: 4g"))
    (home / "app.py").write_text(APP)
    (home / "rest_submit.py").write_text(REST_SUBMIT.read_text())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("TMUX_TMPDIR", str(root))
        mp.setenv("SCREENDIR", str(root / "s"))
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        mp.delenv("TMUX", raising=False)
        mp.delenv("STY", raising=False)
        mp.chdir(home)
        started = jobwaiter("start", str(config))
        s = Spark(home, config, ports[0], ports[1], ports[2], started)
        try:
            assert started.returncode == 0, started.stderr
            yield s
        finally:
            jobwaiter("stop", str(config), "-y")
            for pid in s.pids():  # whatever a failed stop left behind, by its recorded pid
                with contextlib.suppress(OSError):
                    os.killpg(pid, 9)
            subprocess.run(["tmux", "kill-server"], capture_output=True, check=False)
            shutil.rmtree(root, ignore_errors=True)


def test_start_runs_master_and_worker_that_outlive_it(spark: Spark) -> None:
    out = spark.start.stderr
    assert "spark: master started (pid" in out
    assert "spark: worker started (pid" in out
    assert "1 worker(s) registered" in out
    st = spark.status()
    assert st["aliveworkers"] == 1 and st["url"] == spark.master
    assert st["workers"][0]["host"] == "127.0.0.1" and st["workers"][0]["cores"] == 8
    # The process that started them has exited; they run on, each in a session of its own.
    for pid in spark.pids():
        assert os.getsid(pid) == pid != os.getsid(0)
    again = jobwaiter("start", str(spark.config))
    assert again.returncode == 0
    assert "master already running" in again.stderr and "worker already running" in again.stderr


def test_waiters_lists_spark(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("waiters", str(spark.config))
    assert any(line.startswith("spark ") and "Spark applications" in line
               for line in r.out.splitlines())


def test_status_shows_the_master_and_the_worker_up(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("status", str(spark.config), "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["state"] == "started"
    master_pid, worker_pid = (int(p.read_text()) for p in
                              (spark.state / "master.pid", spark.state / "worker.pid"))
    assert [(c["component"], c["node"], c["state"]) for c in data["runtimes"]] == [
        ("master", "head", "up"), ("worker", "head", "up")], data["runtimes"]
    master, worker = data["runtimes"]
    assert master["detail"].startswith(f"pid {master_pid}; ALIVE, 1 worker alive")
    assert worker["detail"] == f"pid {worker_pid}; registered with the master (ALIVE)"


def test_chain_waits_for_an_app_the_job_left_in_the_background(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    marker = spark.home / "bg-done"
    cmd = (f'nohup "$SPARK_HOME"/bin/spark-submit --master {spark.master} '
           "--conf spark.ui.enabled=false --executor-memory 512m --total-executor-cores 1 "
           f"app.py marker bg-app 4 {marker} > bg.log 2>&1 & echo submitted")
    home = subprocess.run([sys.executable, "-c", "import pyspark, os; "
                           "print(os.path.dirname(pyspark.__file__))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    r = cli("exec", str(spark.config), cmd, "--tmux", "--job-waiter", "chain[tmux, spark]",
            "--env", f"SPARK_HOME={home}", "--json")
    assert r.code == 0, r.err
    assert marker.exists(), "jobwaiter returned before the application finished"
    tmux, waiter = r.json["waiters"]
    assert tmux["outcome"] == "succeeded" and waiter["outcome"] == "succeeded"
    assert "(bg-app) FINISHED" in waiter["detail"]
    assert "Spark application in progress" in r.err


def test_failing_cluster_mode_driver_fails_the_wait_with_its_id(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    cmd = spark.rest_submit_cmd("doomed", "fail-at-once", "doomed", out="doomed.id")
    r = cli("exec", str(spark.config), cmd, "--tmux", "--job-waiter", "chain[tmux, spark]",
            "--json")
    driver = (spark.home / "doomed.id").read_text().strip()
    assert driver.startswith("driver-")
    assert r.code == 126, r.err
    tmux, waiter = r.json["waiters"]
    assert tmux["outcome"] == "succeeded", "the job itself only submitted, successfully"
    assert waiter["outcome"] == "failed"
    assert f"{driver} (PythonRunner) FAILED" in waiter["detail"]


def test_scope_default_ignores_an_earlier_app_all_waits_for_it(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    driver = spark.rest_submit("unrelated", "sleep", "unrelated", "300")
    try:
        st = spark.wait_for("the unrelated application to run", lambda st: any(
            a["name"] == "unrelated" and a["state"] == "RUNNING" for a in st["activeapps"]))
        # Applications up to 1 s older than the job still count as its own (clock slack).
        started = next(a["starttime"] for a in st["activeapps"] if a["name"] == "unrelated")
        time.sleep(max(0.0, started / 1000 + 1.5 - time.time()))
        t0 = time.time()
        r = cli("exec", str(spark.config), "true", "--tmux", "--job-waiter", "spark",
                "--job-timeout", "60", "--json")
        assert r.code == 0, r.err
        assert r.json["waiters"][1]["detail"] == "no Spark application in scope"
        assert time.time() - t0 < 60
        r = cli("exec", str(spark.config), "true", "--tmux", "--job-waiter", "spark[all]",
                "--job-timeout", "5", "--json")
        assert r.code == 124, r.err
        assert r.json["waiters"][1]["outcome"] == "timeout"
        assert f"{driver} (PythonRunner) RUNNING" in r.err
        assert "(unrelated) RUNNING" in r.err
    finally:
        spark.rest_kill(driver)


class Forwarder:
    """A TCP port that comes up late and then forwards to the master's web UI."""

    def __init__(self, port: int, target: int) -> None:
        self.port, self.target = port, target
        self.server: socket.socket | None = None

    def open(self) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(16)
        self.server = srv
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def test_master_unreachable_for_a_while_is_retried_and_reported(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    late = free_port()
    text = spark.config.read_text().replace(f"web_ui_port: {spark.ui_port}",
                                            f"web_ui_port: {late}")
    config = spark.home / "late.yaml"
    config.write_text(text)
    forwarder = Forwarder(late, spark.ui_port)
    timer = threading.Timer(6, forwarder.open)
    timer.start()
    try:
        cmd = spark.rest_submit_cmd("after-outage", "sleep", "after-outage", "2", out="ok.id")
        t0 = time.time()
        r = cli("exec", str(config), cmd, "--tmux", "--job-waiter", "chain[tmux, spark]",
                "--json")
        took = time.time() - t0
    finally:
        timer.cancel()
        forwarder.close()
    assert r.code == 0, r.err
    assert took >= 6
    assert f"http://127.0.0.1:{late}/json/ unreachable (Connection refused), retrying" in r.err
    driver = (spark.home / "ok.id").read_text().strip()
    detail = r.json["waiters"][1]["detail"]
    assert f"{driver} (PythonRunner) FINISHED" in detail and "(after-outage) FINISHED" in detail


def test_submit_runtime_spark_py_passes_args_verbatim(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    app = spark.home / "app.py"
    r = cli("submit", "--runtime", "spark", str(spark.config), str(app), "--", "plain",
            "sub-py", "a b", "$HOME", "`id`", "--tmux")
    assert r.code == 0, r.err
    assert "args ['a b', '$HOME', '`id`', '--tmux']" in r.out
    r = cli("submit", "--runtime", "spark", str(spark.config), str(app), "fail-at-once", "x")
    assert r.code == 3


def test_submit_runtime_spark_scala_ends_and_reports_failure(spark: Spark) -> None:
    files = {
        "ok.scala": 'val n = spark.range(10).count()\nprintln(s"counted $n")',  # no newline
        "throws.scala": 'println("before")\nthrow new IllegalStateException("scala boom")\n',
        "broken.scala": 'val x: Int = "not an int"\n',
    }
    for name, text in files.items():
        (spark.home / name).write_text(text)
    # One after the other: on two cores, concurrent spark-shells are slower than that.
    runs = {name: jobwaiter("submit", "--runtime", "spark", str(spark.config),
                            str(spark.home / name), "--", "--conf", "spark.ui.enabled=false",
                            "--conf", "spark.cores.max=1") for name in files}
    out = {name: r.stdout + r.stderr for name, r in runs.items()}
    codes = {name: r.returncode for name, r in runs.items()}
    assert codes == {"ok.scala": 0, "throws.scala": 1, "broken.scala": 1}, out
    assert "counted 10" in out["ok.scala"]
    assert "scala boom" in out["throws.scala"]
    assert "type mismatch" in out["broken.scala"]
    assert not list((spark.home / "user" / "jobs").glob(".*.scala.*")), "temp copies removed"


def test_autostop_waits_for_an_application_submitted_outside_jobwaiter(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    """A Spark application nobody started through jobwaiter keeps autostop from stopping the
    cluster; once it has finished, the cluster (Spark's daemons included) is stopped. The
    cluster is started again afterwards for the tests below."""
    for job in cli("jobs", str(spark.config), "--state", "running,started", "--json").json:
        assert cli("kill", str(spark.config), job["session"]).code == 0  # nothing else runs
    marker = spark.home / "autostop-app-done"
    home = subprocess.run([sys.executable, "-c", "import pyspark, os; "
                           "print(os.path.dirname(pyspark.__file__))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    app = subprocess.Popen(
        [f"{home}/bin/spark-submit", "--master", spark.master, "--conf", "spark.ui.enabled=false",
         "--executor-memory", "512m", "--total-executor-cores", "1", "app.py", "marker",
         "outside-app", "10", str(marker)],
        cwd=spark.home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "SPARK_HOME": home})
    try:
        spark.wait_for("the application to register", lambda st: st.get("activeapps"))
        r = cli("autostop", str(spark.config), "--idle", "3s", "--wait-for", "jobs")
        assert r.code == 0, r.err
        assert "spark: 1 Spark application in progress" in r.out, r.out
        app.wait(timeout=120)
        assert marker.exists() and spark.pids() != [], "stopped under the application"
        ended = float(marker.read_text())
        deadline = time.monotonic() + 60
        while spark.pids():
            assert time.monotonic() < deadline, "autostop did not stop the cluster"
            time.sleep(0.2)
        path = spark.home / ".jobwaiter" / "watch" / "autostop.state"
        # Spark's daemons are stopped first; the stop's outcome is recorded after the rest.
        while (json.loads(path.read_text()).get("stop") or {}).get("ok") is None:
            assert time.monotonic() < deadline, "autostop's stop did not finish"
            time.sleep(0.2)
        state = json.loads(path.read_text())
        assert state["stop"]["ok"] is True and state["fired_at"] >= ended + 3, state
    finally:
        app.kill()
        cli("autostop", str(spark.config), "--cancel")
        again = jobwaiter("start", str(spark.config))
    assert again.returncode == 0, again.stderr


def test_a_killed_client_leaves_the_head_to_stop_after_the_app(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    """chain[tmux, spark] watched by the head, its client killed as soon as the head has the
    job: the stop (Spark's own daemons included) comes after the application finished. The
    cluster is started again afterwards for the tests below."""
    for job in cli("jobs", str(spark.config), "--state", "running,started", "--json").json:
        assert cli("kill", str(spark.config), job["session"]).code == 0  # nothing else runs
    marker = spark.home / "watched-app-done"
    home = subprocess.run([sys.executable, "-c", "import pyspark, os; "
                           "print(os.path.dirname(pyspark.__file__))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    cmd = (f'nohup "$SPARK_HOME"/bin/spark-submit --master {spark.master} '
           "--conf spark.ui.enabled=false --executor-memory 512m --total-executor-cores 1 "
           f"app.py marker watched-app 4 {marker} > watched.log 2>&1 & echo submitted")
    client = subprocess.Popen(
        [sys.executable, "-m", "jobwaiter.cli.main", "exec", str(spark.config), cmd, "--tmux",
         "--job-waiter", "chain[tmux, spark]", "--env", f"SPARK_HOME={home}", "--stop", "-y"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jobs = spark.home / ".jobwaiter" / "jobs"
    try:
        deadline = time.monotonic() + 60
        while not [r for r in jobs.glob("*") if (r / "watching").exists()
                   and cmd in (r / "command").read_text()]:
            assert time.monotonic() < deadline and client.poll() is None, "not watched"
            time.sleep(0.1)
        client.kill()
        client.wait(timeout=10)
        (record,) = [r for r in jobs.glob("*") if (r / "watching").exists()
                     and cmd in (r / "command").read_text()]

        def recorded() -> dict:  # type: ignore[type-arg]
            try:
                return json.loads((record / "result.json").read_text())  # type: ignore[no-any-return]
            except (OSError, ValueError):
                return {}

        deadline = time.monotonic() + 150
        while not recorded().get("stop") or recorded().get("stop_pending"):
            assert time.monotonic() < deadline, "the head did not stop the cluster"
            time.sleep(0.2)
        result = recorded()
        assert result["outcome"] == "succeeded", result
        assert result["stop"]["ok"] is True, result["stop"]
        assert float(marker.read_text()) <= float((record / "head_stop").read_text().split()[1])
        assert spark.pids() == [], "the stop stopped Spark's daemons too"
    finally:
        client.kill()
        again = jobwaiter("start", str(spark.config))
    assert again.returncode == 0, again.stderr


def test_stop_is_exact_then_the_waiter_finds_the_master_unreachable(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    pids = spark.pids()
    assert len(pids) == 2
    r = jobwaiter("stop", str(spark.config), "-y")
    assert r.returncode == 0, r.stderr
    assert "spark: worker stopped" in r.stderr and "spark: master stopped" in r.stderr
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert spark.pids() == []
    again = jobwaiter("stop", str(spark.config), "-y")
    # A stopped cluster is not stopped again: nothing runs, and it says so.
    assert "already stopped" in again.stderr and "not running" not in again.stderr
    # The cluster as a crash leaves it: recorded started, its master gone. The waiter
    # never takes a master it cannot reach for "no work".
    state = spark.home / ".jobwaiter" / "clusters" / "spark-test.state"
    state.write_text("started\n")
    try:
        r = cli("exec", str(spark.config), "true", "--job-waiter", "spark", "--job-timeout",
                "3")
    finally:
        state.write_text("stopped\n")
    assert r.code == 124
    assert "unreachable (Connection refused), retrying" in r.err


def test_status_after_stop_shows_spark_down(spark: Spark, cli) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(cli("status", str(spark.config), "--json").out)
    assert data["state"] == "stopped"
    assert [(c["component"], c["state"], c["detail"]) for c in data["runtimes"]] == [
        ("master", "down", "not running"), ("worker", "down", "not running")]


def test_a_daemon_that_dies_after_starting_fails_start_at_once(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A setting Spark rejects only once the JVM runs (here a daemon option, as in a head's
    SPARK_DAEMON_JAVA_OPTS): start says why within seconds, not after start_timeout."""
    ports = [free_port() for _ in range(3)]
    config = env.write_config(local_spark_config("dies", ports[0], ports[1], None, ports[2]),
                              "dies.yaml")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    monkeypatch.setenv("SPARK_DAEMON_JAVA_OPTS", "-Dspark.worker.timeout=soon")
    t0 = time.monotonic()
    r = jobwaiter("start", str(config))
    took = time.monotonic() - t0
    monkeypatch.delenv("SPARK_DAEMON_JAVA_OPTS")
    stopped = jobwaiter("stop", str(config), "-y")
    assert r.returncode == 1, r.stderr
    assert "the Spark master on head exited after it started" in r.stderr
    assert "The value 'soon' in the config \"spark.worker.timeout\" is invalid" in r.stderr
    assert took < 60, f"start took {took:.0f}s"
    assert stopped.returncode == 0 and "master not running" in stopped.stderr
