"""The YARN runtime and waiter against a real Hadoop YARN 3.5 ResourceManager and NodeManager,
with Spark applications (from the pyspark package) in YARN cluster mode.

The daemons' jars come from Maven Central through ``tests/yarn/pom.xml`` (``make test-deps``
fetches them into ``$JOBWAITER_YARN_HOME/lib``, ``~/.cache/jobwaiter-tests/yarn/lib`` by
default). One ResourceManager and one NodeManager for the whole module, started by
``jobwaiter start`` on 127.0.0.61 with every port pinned (18600-18699), every file under the
module's temp dir. The tests run in file order; the last one stops the cluster with --stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from yarn_rig import HOST, JARS, WEB, spark_home, write_rig

# `make test-deps` fetches the jars and installs pyspark and Java. Elsewhere the module is
# skipped, but never in CI, where a skip would hide that the real-engine tests did not run.
if not os.environ.get("CI"):
    pytest.importorskip("pyspark", reason="the YARN tests run Spark (pip install pyspark)")
    if shutil.which("java") is None:
        pytest.skip("the YARN tests need Java", allow_module_level=True)
    if not (JARS / ".fetched").exists():
        pytest.skip(f"the YARN tests need Hadoop's jars in {JARS} (make yarn-jars)",
                    allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

APP_ID = re.compile(r"application_\d+_\d+")


@dataclass
class Yarn:
    root: Path
    home: Path
    config: Path
    start: subprocess.CompletedProcess[str]
    started_in: float

    @property
    def state(self) -> Path:
        return self.home / ".jobwaiter" / "runtimes" / "yarn-test" / "yarn"

    def get(self, path: str) -> Any:
        req = urllib.request.Request(f"http://{HOST}:{WEB}/ws/v1/cluster/{path}",
                                     headers={"Accept": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=10).read())

    def app(self, app_id: str) -> dict[str, Any]:
        return self.get(f"apps/{app_id}")["app"]  # type: ignore[no-any-return]

    def wait_app(self, app_id: str, states: tuple[str, ...],
                 timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                app = self.app(app_id)
            except urllib.error.HTTPError as e:  # its id is logged before it is submitted
                if e.code != 404:
                    raise
                app = {"state": "not yet submitted"}
            if app["state"] in states:
                return app
            assert time.monotonic() < deadline, f"{app_id} never reached {states}: {app}"
            time.sleep(0.3)

    def submit_cmd(self, name: str, *args: str, log: str) -> str:
        """A job's command: submit the app in cluster mode and return once YARN accepted it."""
        argv = ["--name", name, "--conf", "spark.yarn.submit.waitAppCompletion=false",
                "app.py", *args]
        return f'"$SPARK_HOME"/bin/spark-submit {shlex.join(argv)} > {log} 2>&1'

    def submit(self, name: str, *args: str) -> str:
        """Submit from outside any job; the application's id."""
        log = f"{name}.log"
        subprocess.run(["bash", "-c", self.submit_cmd(name, *args, log=log)], cwd=self.home,
                       check=True, timeout=120)
        return self.app_id(log)

    def app_id(self, log: str) -> str:
        ids = APP_ID.findall((self.home / log).read_text())
        assert ids, (self.home / log).read_text()[-2000:]
        return ids[0]  # type: ignore[no-any-return]

    def kill(self, app_id: str) -> subprocess.CompletedProcess[str]:
        """YARN's own client, ``yarn application -kill``, from the Hadoop client in Spark."""
        cp = f"{self.root / 'conf'}:{spark_home()}/jars/*"
        return subprocess.run(
            ["java", "-cp", cp, "org.apache.hadoop.yarn.client.cli.ApplicationCLI",
             "application", "-kill", app_id],
            capture_output=True, text=True, timeout=120, check=False)

    def pids(self) -> dict[str, int]:
        return {p.stem: int(p.read_text()) for p in sorted(self.state.glob("*.pid"))}


def jobwaiter(*argv: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process, so what it starts must outlive it."""
    return subprocess.run([sys.executable, "-m", "jobwaiter.cli.main", *argv],
                          capture_output=True, text=True, timeout=240, check=False)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and \
        Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def container_pids(root: Path) -> list[int]:
    """Processes running a YARN container of this module (their command lines name the
    container's directory under the NodeManager's local dirs)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if str(root / "nm-local").encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def yarn() -> Iterator[Yarn]:
    root = Path(tempfile.mkdtemp(prefix="jwy", dir="/tmp"))
    home = root / "h"
    home.mkdir()
    (root / "s").mkdir(mode=0o700)
    config, env = write_rig(root, home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("TMUX_TMPDIR", str(root))
        mp.setenv("SCREENDIR", str(root / "s"))
        for key, value in env.items():  # what spark-submit needs, in the jobs' too
            mp.setenv(key, value)
        mp.delenv("TMUX", raising=False)
        mp.delenv("STY", raising=False)
        mp.chdir(home)
        t0 = time.monotonic()
        started = jobwaiter("start", str(config))
        y = Yarn(root, home, config, started, time.monotonic() - t0)
        try:
            assert started.returncode == 0, started.stderr
            yield y
        finally:
            jobwaiter("stop", str(config), "-y")
            for pid in y.pids().values():  # whatever a failed stop left, by its recorded pid
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
            for pid in container_pids(root):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            subprocess.run(["tmux", "kill-server"], capture_output=True, check=False)
            shutil.rmtree(root, ignore_errors=True)


def test_start_runs_rm_and_nm_that_outlive_it_and_is_idempotent(yarn: Yarn) -> None:
    out = yarn.start.stderr
    assert "yarn: resourcemanager started (pid" in out, out
    assert "yarn: nodemanager started (pid" in out
    assert f"yarn: ResourceManager http://{HOST}:{WEB} is STARTED (ACTIVE)" in out
    assert "yarn: 1 NodeManager(s) registered" in out
    (node,) = yarn.get("nodes")["nodes"]["node"]
    assert node["state"] == "RUNNING" and node["id"] == f"{HOST}:18641"
    assert yarn.get("info")["clusterInfo"]["resourceManagerVersion"] == "3.5.0"
    pids = yarn.pids()
    assert set(pids) == {"resourcemanager", "nodemanager"}
    for pid in pids.values():  # each in a session of its own, the starter gone
        assert os.getsid(pid) == pid != os.getsid(0)
    again = jobwaiter("start", str(yarn.config))
    assert again.returncode == 0, again.stderr
    assert "resourcemanager already running" in again.stderr
    assert "nodemanager already running" in again.stderr
    assert yarn.pids() == pids


def test_waiters_lists_yarn(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("waiters", str(yarn.config))
    assert any(line.startswith("yarn ") and "YARN applications" in line
               for line in r.out.splitlines()), r.out


def test_status_shows_rm_and_nm_up_with_yarns_view(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("status", str(yarn.config), "--json")
    assert r.code == 0, r.err
    rows = [c for c in json.loads(r.out)["runtimes"] if c["runtime"] == "yarn"]
    assert [(c["component"], c["node"], c["state"]) for c in rows] == [
        ("resourcemanager", "head", "up"), ("nodemanager", "head", "up")], rows
    pids = yarn.pids()
    assert rows[0]["detail"] == f"pid {pids['resourcemanager']}; STARTED, ACTIVE, version 3.5.0"
    assert rows[1]["detail"] == (f"pid {pids['nodemanager']}; registered: "
                                 f"{HOST}:18641 RUNNING")


def test_chain_waits_for_two_background_apps(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    # Both submitted at once; the job ends when both clients have returned (at ACCEPTED).
    cmd = (yarn.submit_cmd("two-a", "sleep", "1", log="two-a.log") + " & " +
           yarn.submit_cmd("two-b", "sleep", "3", log="two-b.log") + " & wait")
    r = cli("exec", str(yarn.config), cmd, "--tmux", "--job-waiter", "chain[tmux, yarn]",
            "--json")
    returned = time.time()
    assert r.code == 0, r.err
    tmux, waiter = r.json["waiters"]
    assert tmux["outcome"] == "succeeded" and waiter["outcome"] == "succeeded", waiter
    for log in ("two-a.log", "two-b.log"):
        app = yarn.app(yarn.app_id(log))
        assert (app["state"], app["finalStatus"]) == ("FINISHED", "SUCCEEDED")
        assert app["finishedTime"] / 1000 <= returned, "returned before the app finished"
        assert f"{app['id']} ({app['name']}) FINISHED" in waiter["detail"]
    assert waiter["detail"].startswith("2 YARN applications succeeded")
    assert "YARN application in progress" in r.err or "YARN applications in progress" in r.err


def test_driver_exiting_3_fails_the_wait_after_the_last_attempt(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    cmd = yarn.submit_cmd("exit-3", "exit", "3", log="exit3.log")
    r = cli("exec", str(yarn.config), cmd, "--tmux", "--job-waiter", "chain[tmux, yarn]",
            "--json")
    returned = time.time()
    app_id = yarn.app_id("exit3.log")
    assert r.code == 126, r.err
    tmux, waiter = r.json["waiters"]
    assert tmux["outcome"] == "succeeded", "the job itself only submitted, successfully"
    assert waiter["outcome"] == "failed"
    assert (f"{app_id} (exit-3) FINISHED/FAILED: User application exited with status 3"
            in waiter["detail"]), waiter["detail"]
    app = yarn.app(app_id)
    assert (app["state"], app["finalStatus"]) == ("FINISHED", "FAILED")
    assert app["finishedTime"] / 1000 <= returned
    # Both attempts ran (am.max-attempts 2): the wait did not end between them.
    attempts = yarn.get(f"apps/{app_id}/appattempts")["appAttempts"]["appAttempt"]
    assert len(attempts) == 2, attempts


def test_an_older_app_blocks_yarn_all_not_yarn_and_its_kill_fails_it(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    older = yarn.submit("older", "sleep", "300")
    try:
        yarn.wait_app(older, ("RUNNING",))
        # Applications up to 1 s older than the job still count as its own (clock slack).
        time.sleep(max(0.0, yarn.app(older)["startedTime"] / 1000 + 1.5 - time.time()))
        r = cli("exec", str(yarn.config), "true", "--tmux", "--job-waiter", "yarn",
                "--job-timeout", "60", "--json")
        assert r.code == 0, r.err
        assert r.json["waiters"][1]["detail"] == "no YARN application in scope"
        assert yarn.app(older)["state"] == "RUNNING"
        client = subprocess.Popen(
            [sys.executable, "-m", "jobwaiter.cli.main", "exec", str(yarn.config), "true",
             "--tmux", "--job-waiter", "yarn[all]", "--job-timeout", "150", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(3)  # the job has ended; yarn[all] is waiting for the older app
            assert client.poll() is None, client.communicate()
            killed = yarn.kill(older)
            assert killed.returncode == 0, killed.stderr[-2000:]
            out, err = client.communicate(timeout=60)
        finally:
            client.kill()
        assert client.returncode == 126, err
        waiter = json.loads(out)["waiters"][1]
        assert waiter["outcome"] == "failed"
        assert f"{older} (older) KILLED" in waiter["detail"], waiter["detail"]
        assert f"{older} (older) RUNNING" in err  # what it waited for, said while waiting
    finally:
        with contextlib.suppress(Exception):
            yarn.kill(older)
    app = yarn.app(older)
    assert (app["state"], app["finalStatus"]) == ("KILLED", "KILLED")


def _kill_running_jobs(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    for job in cli("jobs", str(yarn.config), "--state", "running,started", "--json").json:
        assert cli("kill", str(yarn.config), job["session"]).code == 0  # nothing else runs


def _wait_stopped(yarn: Yarn, what: str) -> None:
    deadline = time.monotonic() + 90
    while yarn.pids():
        assert time.monotonic() < deadline, f"{what} did not stop YARN"
        time.sleep(0.2)
    assert container_pids(yarn.root) == []


def test_a_killed_client_leaves_the_head_to_stop_after_the_app(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    """chain[tmux, yarn] run by the head's watch, its client killed as soon as the head has
    the job: the stop (YARN's daemons included) comes after the application finished. The
    cluster is started again afterwards for the tests below."""
    _kill_running_jobs(yarn, cli)
    marker = yarn.home / "watched-done"
    cmd = yarn.submit_cmd("watched", "marker", "4", str(marker), log="watched.log")
    client = subprocess.Popen(
        [sys.executable, "-m", "jobwaiter.cli.main", "exec", str(yarn.config), cmd, "--tmux",
         "--job-waiter", "chain[tmux, yarn]", "--stop", "-y"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jobs = yarn.home / ".jobwaiter" / "jobs"
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

        def recorded() -> dict[str, Any]:
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
        assert "(watched) FINISHED/SUCCEEDED" in result["waiters"][1]["detail"], result
        assert float(marker.read_text()) <= float((record / "head_stop").read_text().split()[1])
        _wait_stopped(yarn, "the head's stop")
    finally:
        client.kill()
        again = jobwaiter("start", str(yarn.config))
    assert again.returncode == 0, again.stderr


def test_autostop_keeps_a_cluster_with_a_running_yarn_app_up(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    """An application nobody started through jobwaiter keeps autostop from stopping the
    cluster; once it has finished, the cluster (YARN's daemons included) is stopped. The
    cluster is started again afterwards for the tests below."""
    _kill_running_jobs(yarn, cli)
    marker = yarn.home / "autostop-app-done"
    try:
        app_id = yarn.submit("outside", "marker", "4", str(marker))
        r = cli("autostop", str(yarn.config), "--idle", "3s", "--wait-for", "jobs")
        assert r.code == 0, r.err
        assert f"yarn: 1 YARN application in progress: {app_id} (outside)" in r.out, r.out
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert time.monotonic() < deadline, yarn.app(app_id)
            assert yarn.pids(), "stopped under the application"
            time.sleep(0.2)
        ended = float(marker.read_text())
        _wait_stopped(yarn, "autostop")
        path = yarn.home / ".jobwaiter" / "watch" / "autostop.state"
        deadline = time.monotonic() + 60
        while (json.loads(path.read_text()).get("stop") or {}).get("ok") is None:
            assert time.monotonic() < deadline, "autostop's stop did not finish"
            time.sleep(0.2)
        state = json.loads(path.read_text())
        assert state["stop"]["ok"] is True and state["fired_at"] >= ended + 3, state
    finally:
        cli("autostop", str(yarn.config), "--cancel")
        again = jobwaiter("start", str(yarn.config))
    assert again.returncode == 0, again.stderr


def examples_spark_home(root: Path) -> Path:
    """A Spark home that is pyspark's plus examples/jars/spark-examples.jar, with SparkPi
    compiled from tests/yarn/SparkPi.java (the wheel ships no examples jar)."""
    home = root / "spark-home"
    if (home / "examples" / "jars" / "spark-examples.jar").exists():
        return home
    pyspark = Path(spark_home())
    (home / "examples" / "jars").mkdir(parents=True)
    for entry in pyspark.iterdir():
        if entry.name != "examples":
            (home / entry.name).symlink_to(entry)
    for entry in (pyspark / "examples").iterdir() if (pyspark / "examples").is_dir() else []:
        if entry.name != "jars":
            (home / "examples" / entry.name).symlink_to(entry)
    classes = root / "sparkpi-classes"
    source = Path(__file__).parent / "yarn" / "SparkPi.java"
    subprocess.run(["javac", "-nowarn", "-cp", f"{pyspark}/jars/*", "-d", str(classes),
                    str(source)], check=True, capture_output=True, timeout=120)
    subprocess.run(["jar", "cf", str(home / "examples" / "jars" / "spark-examples.jar"), "-C",
                    str(classes), "."], check=True, capture_output=True, timeout=60)
    return home


def test_cloudtiks_sparkpi_example_as_its_docs_type_it(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    """SparkPi from $SPARK_HOME/examples/jars/spark-examples.jar in cluster mode, a blocking
    spark-submit, under chain[tmux, spark] --stop: exit 0 once the application finished, then
    the cluster is stopped (YARN's daemons included). It is started again afterwards."""
    _kill_running_jobs(yarn, cli)
    home = examples_spark_home(yarn.root)
    cmd = ("spark-submit --master yarn --deploy-mode cluster --name spark-pi --class "
           "org.apache.spark.examples.SparkPi $SPARK_HOME/examples/jars/spark-examples.jar")
    try:
        r = cli("exec", str(yarn.config), cmd, "--tmux", "--job-waiter=chain[tmux, spark]",
                "--stop", "-y", "--json", "--env", f"SPARK_HOME={home}",
                "--env", f"PATH={home}/bin:{os.environ['PATH']}")
        assert r.code == 0, r.err
        tmux, waiter = r.json["waiters"]
        assert tmux["outcome"] == "succeeded", tmux
        assert re.search(r"application_\d+_\d+ \(spark-pi\) FINISHED/SUCCEEDED",
                         waiter["detail"]), waiter
        assert r.json["stop"]["ok"] is True, r.json["stop"]
        log = Path(r.json["log_path"].replace("~", str(yarn.home), 1)).read_text()
        assert "final status: SUCCEEDED" in log, log[-3000:]
        _wait_stopped(yarn, "--stop")
    finally:
        again = jobwaiter("start", str(yarn.config))
    assert again.returncode == 0, again.stderr


def test_rm_stopped_during_the_wait_is_never_success(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    """The ResourceManager hung (SIGSTOP) and then restarted without recovery while the job's
    application runs: the wait goes on through the hang and fails on the restart."""
    cmd = yarn.submit_cmd("outage", "sleep", "30", log="outage.log")
    client = subprocess.Popen(
        [sys.executable, "-m", "jobwaiter.cli.main", "exec", str(yarn.config), cmd, "--tmux",
         "--job-waiter", "chain[tmux, yarn]", "--job-timeout", "200", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rm = yarn.pids()["resourcemanager"]
    try:
        deadline = time.monotonic() + 120
        while not (yarn.home / "outage.log").exists() or \
                not APP_ID.search((yarn.home / "outage.log").read_text()):
            assert time.monotonic() < deadline and client.poll() is None, "not submitted"
            time.sleep(0.3)
        app_id = yarn.app_id("outage.log")
        yarn.wait_app(app_id, ("RUNNING",))
        os.kill(rm, signal.SIGSTOP)
        try:
            time.sleep(12)  # longer than a request's 10 s timeout
            assert client.poll() is None, "the wait ended while the ResourceManager hung"
        finally:
            os.kill(rm, signal.SIGCONT)
        stop = subprocess.run(
            ["bash", "-c", "kill -TERM $1; while kill -0 $1 2>/dev/null; do sleep 0.1; done",
             "x", str(rm)], timeout=60, check=False)
        assert stop.returncode == 0
        again = jobwaiter("start", str(yarn.config))
        assert again.returncode == 0, again.stderr
        out, err = client.communicate(timeout=120)
    finally:
        client.kill()
    assert client.returncode == 126, err
    waiter = json.loads(out)["waiters"][1]
    assert waiter["outcome"] == "failed"
    assert "restarted during the job" in waiter["detail"], waiter["detail"]
    assert "unreachable" in err or "timed out" in err, err[-3000:]


def test_the_cloudtik_example_returns_after_the_app_then_stops_yarn(yarn: Yarn, cli) -> None:  # type: ignore[no-untyped-def]
    """The example as typed: spark-submit --master yarn --deploy-mode cluster ...
    --tmux --job-waiter=chain[tmux, spark] --stop (the last test: it stops the cluster)."""
    # The restarted ResourceManager of the test before may still be taking the node back.
    deadline = time.monotonic() + 90
    while not any(n["state"] == "RUNNING"
                  for n in (yarn.get("nodes")["nodes"] or {}).get("node", [])):
        assert time.monotonic() < deadline, yarn.get("nodes")
        time.sleep(0.5)
    pids = yarn.pids()
    marker = yarn.home / "headline-done"
    cmd = ('"$SPARK_HOME"/bin/spark-submit --master yarn --deploy-mode cluster '
           "--conf spark.yarn.submit.waitAppCompletion=false --name headline "
           f"app.py marker 3 {marker} > headline.log 2>&1")
    r = cli("exec", str(yarn.config), cmd, "--tmux", "--job-waiter=chain[tmux, spark]",
            "--stop", "-y", "--json")
    returned = time.time()
    assert r.code == 0, r.err
    app_id = yarn.app_id("headline.log")
    tmux, waiter = r.json["waiters"]
    assert tmux["outcome"] == "succeeded"
    assert waiter["outcome"] == "succeeded" and f"{app_id} (headline) FINISHED" in \
        waiter["detail"], waiter
    assert r.json["stop"]["ok"] is True, r.json["stop"]
    # The stop took YARN's daemons (NodeManager first) and their containers with it.
    assert yarn.pids() == {}
    for pid in pids.values():
        assert not alive(pid)
    assert container_pids(yarn.root) == []
    signalled = {}
    for role in ("nodemanager", "resourcemanager"):
        log = (yarn.state / "logs" / f"{role}.out").read_text(errors="replace")
        # The last one: the test before stopped the ResourceManager once already.
        line = [x for x in log.splitlines() if "RECEIVED SIGNAL 15: SIGTERM" in x][-1]
        signalled[role] = line[:23]  # "2026-12-07 09:24:40,123"
    assert signalled["nodemanager"] <= signalled["resourcemanager"], signalled
    assert float(marker.read_text()) <= returned, "returned before the application ended"
