"""The script that starts and stops a Spark daemon on a node, with a stand-in ``spark-class``
(no Java needed): recorded pids, idempotence, exact stop, and nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobwaiter.runtimes.spark import SparkRuntime

# Like the real one it keeps the class name in its command line; it also starts a child, as a
# worker starts executors.
FAKE_SPARK_CLASS = """#!/bin/bash
if [ -e "$SPARK_HOME/die" ]; then echo "cannot bind" >&2; exit 1; fi
sleep 600 &
echo "$!" > "$SPARK_HOME/child.pid"
exec {python} -c 'import time; time.sleep(600)' "$@"
"""


class FakeNode:
    id = "head"
    ip = "127.0.0.1"
    is_head = True

    def __init__(self) -> None:
        from jobwaiter.transport.local import LocalTransport

        self.transport = LocalTransport()


@pytest.fixture
def runtime(env) -> tuple[SparkRuntime, Path]:  # type: ignore[no-untyped-def]
    spark_home = env.home / "spark"
    (spark_home / "bin").mkdir(parents=True)
    fake = spark_home / "bin" / "spark-class"
    fake.write_text(FAKE_SPARK_CLASS.format(python=sys.executable))
    fake.chmod(0o755)
    config = {"cluster_name": "d", "provider": {"type": "local"},
              "runtime": {"types": ["spark"], "spark": {"spark_home": str(spark_home)}}}
    return SparkRuntime(config), spark_home


def daemon(rt: SparkRuntime, action: str, role: str = "master") -> subprocess.CompletedProcess[str]:
    # Run from a process of its own that then exits, as over an SSH connection. A narrow
    # COLUMNS must not hide the class name from the script's pid check (ps truncates to it).
    argv = rt._daemon_argv(action, role, FakeNode(), "--host", "127.0.0.1")
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, "COLUMNS": "40"})


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_is_recorded_idempotent_and_stop_is_exact(env, runtime) -> None:  # type: ignore[no-untyped-def]
    rt, spark_home = runtime
    state = env.home / rt.state_dir
    r = daemon(rt, "start")
    assert r.returncode == 0, r.stderr
    pid = int((state / "master.pid").read_text())
    assert r.stdout.strip() == f"master started (pid {pid})"
    assert os.getsid(pid) == pid, "the daemon leads a session of its own"
    child = int((spark_home / "child.pid").read_text())
    assert daemon(rt, "start").stdout.strip() == f"master already running (pid {pid})"
    assert daemon(rt, "status").stdout.strip() == f"running {pid}"
    r = daemon(rt, "stop")
    assert r.stdout.strip() == f"master stopped (pid {pid})"
    deadline = time.time() + 5
    while (alive(pid) or alive(child)) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(pid) and not alive(child), "the daemon and what it started are gone"
    assert not (state / "master.pid").exists()
    assert daemon(rt, "stop").stdout.strip() == "master not running"


def test_a_stale_pid_is_never_killed(env, runtime) -> None:  # type: ignore[no-untyped-def]
    rt, _ = runtime
    state = env.home / rt.state_dir
    state.mkdir(parents=True)
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (state / "worker.pid").write_text(f"{bystander.pid}\n")
        assert daemon(rt, "stop", "worker").stdout.strip() == "worker not running"
        assert bystander.poll() is None
        (state / "worker.pid").write_text(f"{bystander.pid}\n")
        r = daemon(rt, "start", "worker")
        assert r.stdout.startswith("worker started"), r.stderr
        assert bystander.poll() is None
        assert daemon(rt, "stop", "worker").stdout.startswith("worker stopped")
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_daemon_that_dies_at_once_is_reported_with_its_log(env, runtime) -> None:  # type: ignore[no-untyped-def]
    rt, spark_home = runtime
    (spark_home / "die").touch()
    r = daemon(rt, "start")
    assert r.returncode == 1
    assert "the Spark master exited at once" in r.stderr and "cannot bind" in r.stderr
    assert not (env.home / rt.state_dir / "master.pid").exists()


def test_missing_spark_is_a_clear_error(env) -> None:  # type: ignore[no-untyped-def]
    config = {"cluster_name": "d", "provider": {"type": "local"},
              "runtime": {"types": ["spark"], "spark": {"spark_home": str(env.home / "none")}}}
    r = daemon(SparkRuntime(config), "start")
    assert r.returncode == 1 and "bin/spark-class not found" in r.stderr
    config["runtime"]["spark"] = {"python": str(env.home / "no-python")}  # type: ignore[index]
    r = daemon(SparkRuntime(config), "start")
    assert r.returncode == 1 and "cannot find Spark" in r.stderr
