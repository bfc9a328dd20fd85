"""Every example of CloudTik's job-waiter page ("Waiting for Job Completion",
docs/source/UserGuide/AdvancedConfiguring/waiting-for-job-completion.md in
oap-project/cloudtik), typed as the page writes it, with only the config path changed, run
against the local provider with real tmux and screen.

Each example is kept twice: the command line as the page prints it, and the argv the shell
makes of it (the unquoted ``--job-waiter=chain[tmux, spark]`` becomes two words); a test
checks that bash splits the first into the second. What the page leaves to the reader is
provided the way a user would: its waiter names (``job-waiter-name``, ``your-waiter-name``)
are waiters of an installed plugin, ``your-job-script.sh`` is on PATH, and the deep-learning
script is a small stand-in at the page's relative path. The Spark example runs against the
documented-contract ResourceManager of tests/test_spark_yarn.py, with the application's
driver run by the real Spark of the pyspark package.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polling import wait_for
from test_spark_yarn import FakeRM

CONFIG = "your-cluster-config.yaml"
DL_SCRIPT = "./cloudtik/examples/ai/basics/keras/mnist-keras-spark-horovod-hyperopt-mlflow.py"

# name: (the command line as the page prints it, the argv the shell gives the command)
EXAMPLES: dict[str, tuple[str, list[str]]] = {
    "exec": (
        'cloudtik exec your-cluster-config.yaml "sleep 10" --job-waiter=job-waiter-name',
        ["exec", CONFIG, "sleep 10", "--job-waiter=job-waiter-name"]),
    "tmux": (
        'cloudtik exec your-cluster-config.yaml "sleep 10" --tmux --job-waiter=tmux',
        ["exec", CONFIG, "sleep 10", "--tmux", "--job-waiter=tmux"]),
    "screen": (
        'cloudtik exec your-cluster-config.yaml "sleep 10" --screen --job-waiter=screen',
        ["exec", CONFIG, "sleep 10", "--screen", "--job-waiter=screen"]),
    "chain": (
        'cloudtik exec your-cluster-config.yaml "your-job-script.sh" --tmux '
        '--job-waiter=chain[tmux, your-waiter-name]',
        ["exec", CONFIG, "your-job-script.sh", "--tmux", "--job-waiter=chain[tmux,",
         "your-waiter-name]"]),
    "spark": (
        'cloudtik exec your-cluster-config.yaml \\\n'
        '    "spark-submit --master yarn --deploy-mode cluster --name spark-pi --class '
        'org.apache.spark.examples.SparkPi \\$SPARK_HOME/examples/jars/spark-examples.jar" \\\n'
        '    --tmux --job-waiter=chain[tmux, spark] --stop',
        ["exec", CONFIG,
         "spark-submit --master yarn --deploy-mode cluster --name spark-pi --class "
         "org.apache.spark.examples.SparkPi $SPARK_HOME/examples/jars/spark-examples.jar",
         "--tmux", "--job-waiter=chain[tmux,", "spark]", "--stop"]),
    "deep-learning": (
        'cloudtik submit your-cluster-config.yaml \\\n'
        '    ./cloudtik/examples/ai/basics/keras/mnist-keras-spark-horovod-hyperopt-mlflow.py',
        ["submit", CONFIG, DL_SCRIPT]),
    "deep-learning-tmux": (
        'cloudtik submit your-cluster-config.yaml \\\n'
        '    ./cloudtik/examples/ai/basics/keras/mnist-keras-spark-horovod-hyperopt-mlflow.py \\\n'
        '    --tmux',
        ["submit", CONFIG, DL_SCRIPT, "--tmux"]),
    "deep-learning-log": (
        'cloudtik submit your-cluster-config.yaml \\\n'
        '    ./cloudtik/examples/ai/basics/keras/mnist-keras-spark-horovod-hyperopt-mlflow.py \\\n'
        '    --tmux --job-log',
        ["submit", CONFIG, DL_SCRIPT, "--tmux", "--job-log"]),
}


def argv_of(example: str, config: Path) -> list[str]:
    """The example's argv for jobwaiter: only the config path is changed."""
    return [str(config) if w == CONFIG else w for w in EXAMPLES[example][1]]


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_page_splits_as_written_here(example: str) -> None:
    text, argv = EXAMPLES[example]
    script = "cloudtik() { printf '%s\\0' \"$@\"; }\n" + text
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    assert out.decode().split("\0")[:-1] == argv


# -- what the page leaves to the reader --------------------------------------------------

# The page's own waiter names, as a plugin package installed the usual way provides them:
# each notes when it was called, with the job's recorded status at that moment.
PLUGIN = '''
import json
from pathlib import Path

from jobwaiter import JobWaiter


class Noting(JobWaiter):
    name = ""

    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):
        status = self.runner.run(node_id, "cat ~/.jobwaiter/jobs/" + session_name + "/status")
        note = {"waiter": self.name, "cmd": cmd, "job": session_name,
                "status": status.stdout.split()[:1], "at": __import__("time").time()}
        with (Path.home() / "waited.jsonl").open("a") as f:
            f.write(json.dumps(note) + "\\n")


class JobWaiterName(Noting):
    name = "job-waiter-name"


class YourWaiterName(Noting):
    name = "your-waiter-name"
'''

YOUR_JOB_SCRIPT = """#!/bin/bash
echo "TMUX=${TMUX:+set} STY=${STY:+set} job=$JOBWAITER_JOB" > ~/your-job-ran
sleep 1
"""

# Stands in for mnist-keras-spark-horovod-hyperopt-mlflow.py: a training job that prints a
# lot, and notes where it ran.
DL_STAND_IN = """
import json, os, sys, time
from pathlib import Path

for epoch in range(1, 4):
    print(f"epoch {epoch}/3 - loss {1 / epoch:.3f}", flush=True)
    time.sleep(0.2)
Path.home().joinpath("trained.json").write_text(json.dumps({
    "args": sys.argv[1:], "tmux": "TMUX" in os.environ, "screen": "STY" in os.environ,
    "job": os.environ.get("JOBWAITER_JOB")}))
print("training done")
"""


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin")
    (root / "jw_doc_waiters.py").write_text(PLUGIN)
    info = root / "jw_doc_waiters-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jw-doc-waiters\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[jobwaiter.waiters]\njob-waiter-name = jw_doc_waiters:JobWaiterName\n"
        "your-waiter-name = jw_doc_waiters:YourWaiterName\n")
    return root


@pytest.fixture
def page(env, plugin_dir: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The reader's machine: the plugin installed, your-job-script.sh on PATH, the
    deep-learning script at the page's relative path (the current directory is HOME)."""
    monkeypatch.syspath_prepend(str(plugin_dir))
    bin_dir = env.home / "bin"
    bin_dir.mkdir()
    job = bin_dir / "your-job-script.sh"
    job.write_text(YOUR_JOB_SCRIPT)
    job.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    dl = env.home / DL_SCRIPT
    dl.parent.mkdir(parents=True)
    dl.write_text(DL_STAND_IN)
    return env


def notes(env) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    path = env.home / "waited.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() \
        else []


def the_record(env) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    (record,) = env.jobs.iterdir()
    return record.name, json.loads((record / "meta.json").read_text())


class SessionWatch:
    """The tmux and screen sessions that existed while a command ran (polled)."""

    def __init__(self) -> None:
        self.tmux: set[str] = set()
        self.screen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            ls = subprocess.run(["tmux", "list-sessions", "-F", "#{session_name}"],
                                capture_output=True, text=True, check=False)
            self.tmux.update(ls.stdout.split())
            ls = subprocess.run(["screen", "-ls"], capture_output=True, text=True, check=False)
            self.screen.update(w.partition(".")[2] for w in ls.stdout.split() if "." in w)
            time.sleep(0.2)

    def __enter__(self) -> SessionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- the exec examples ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_waiter_of_ones_own(page, cli) -> None:  # type: ignore[no-untyped-def]
    t0 = time.time()
    r = cli(*argv_of("exec", page.config))
    assert r.code == 0, r.err
    assert time.time() - t0 >= 10
    name, meta = the_record(page)
    assert not meta.get("session"), "a foreground job"
    # The waiter ran once, after the job had ended with status 0.
    assert [(n["waiter"], n["cmd"], n["job"], n["status"]) for n in notes(page)] == [
        ("job-waiter-name", "sleep 10", name, ["0"])]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tmux", "screen"])
def test_the_session_waiters(page, cli, kind: str) -> None:  # type: ignore[no-untyped-def]
    t0 = time.time()
    with SessionWatch() as seen:
        r = cli(*argv_of(kind, page.config))
    assert r.code == 0, r.err
    assert time.time() - t0 >= 10, "returned before sleep 10 ended"
    name, meta = the_record(page)
    assert meta["session"] == kind and page.status(name) == "0"
    other = "screen" if kind == "tmux" else "tmux"
    assert name in getattr(seen, kind) and name not in getattr(seen, other)


def test_the_chain(page, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli(*argv_of("chain", page.config))
    assert r.code == 0, r.err
    name, meta = the_record(page)
    assert meta["session"] == "tmux" and meta["spec"] == "chain[tmux, your-waiter-name]"
    assert (page.home / "your-job-ran").read_text() == f"TMUX=set STY= job={name}\n"
    # tmux first: your-waiter-name ran once the job had ended.
    assert [(n["waiter"], n["job"], n["status"]) for n in notes(page)] == [
        ("your-waiter-name", name, ["0"])]


# -- the deep-learning submit examples ---------------------------------------------------


def _trained(env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return json.loads((env.home / "trained.json").read_text())  # type: ignore[no-any-return]


def test_deep_learning_in_the_foreground(page, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli(*argv_of("deep-learning", page.config))
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["epoch 1/3 - loss 1.000", "epoch 2/3 - loss 0.500",
                                  "epoch 3/3 - loss 0.333", "training done"]
    name, meta = the_record(page)
    assert _trained(page) == {"args": [], "tmux": False, "screen": False, "job": name}
    assert not meta.get("session")
    assert (page.home / "user" / "jobs" / Path(DL_SCRIPT).name).exists()


@pytest.mark.parametrize("job_log", [False, True])
def test_deep_learning_in_tmux(page, cli, job_log: bool) -> None:  # type: ignore[no-untyped-def]
    r = cli(*argv_of("deep-learning-log" if job_log else "deep-learning-tmux", page.config))
    assert r.code == 0, r.err
    taken = "--tmux, --job-log" if job_log else "--tmux"
    assert f"jobwaiter: {taken} after SCRIPT: taken as options of jobwaiter" in r.err
    name, meta = the_record(page)
    assert meta["session"] == "tmux" and not meta.get("spec")
    wait_for(lambda: page.status(name) is not None, timeout=30)
    assert page.status(name) == "0"
    assert _trained(page) == {"args": [], "tmux": True, "screen": False, "job": name}
    # Without a waiter the session stays open after the job, as in CloudTik.
    assert subprocess.run(["tmux", "has-session", "-t", f"={name}"],
                          check=False).returncode == 0
    log = page.home / "user" / "logs" / f"{name}.log"
    assert log.exists() == job_log
    if job_log:
        assert log.read_text().splitlines() == [
            "epoch 1/3 - loss 1.000", "epoch 2/3 - loss 0.500", "epoch 3/3 - loss 0.333",
            "training done"]


# -- the Spark example ---------------------------------------------------------------------

# spark-submit's YARN client for the ResourceManager of tests/test_spark_yarn.py (no real one
# can be installed here). It accepts exactly the page's submission, registers the application,
# runs its driver with the real Spark of the pyspark package, as the ApplicationMaster would in
# the cluster, and reports how it ended. Like spark-submit in cluster mode by default
# (spark.yarn.submit.waitAppCompletion=true), it returns when the application has ended.
# pyspark ships no examples jar, so SparkPi runs as the same example in Python (pi.py).
SPARK_SUBMIT = """#!{python}
import json, os, subprocess, sys, urllib.request

home = os.environ["SPARK_HOME"]
page = ["--master", "yarn", "--deploy-mode", "cluster", "--name", "spark-pi", "--class",
        "org.apache.spark.examples.SparkPi", home + "/examples/jars/spark-examples.jar"]
if sys.argv[1:] != page:
    sys.exit("spark-submit stand-in: unexpected arguments %r" % sys.argv[1:])


def post(path):
    url = "http://" + os.environ["JW_RESOURCE_MANAGER"] + path
    return json.load(urllib.request.urlopen(urllib.request.Request(url, data=b""), timeout=10))


app = post("/submit/running?name=spark-pi")["id"]
print("INFO Client: Submitted application " + app, flush=True)
with open(os.path.expanduser("~/spark-pi.driver.log"), "wb") as log:
    rc = subprocess.call([home + "/bin/spark-submit", "--master", "local[1]", "--name",
                          "spark-pi", "--conf", "spark.ui.enabled=false",
                          home + "/examples/src/main/python/pi.py", "2"],
                         stdout=log, stderr=subprocess.STDOUT)
final = "SUCCEEDED" if rc == 0 else "FAILED"
post("/finish/%s?final=%s" % (app, final))
print("INFO Client: final status: " + final, flush=True)
sys.exit(0 if rc == 0 else 1)
"""


@pytest.fixture
def yarn(env, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, FakeRM]]:  # type: ignore[no-untyped-def]
    if not os.environ.get("CI"):
        pyspark = pytest.importorskip("pyspark", reason="the Spark example needs pyspark")
        if shutil.which("java") is None:
            pytest.skip("the Spark example needs Java")
    else:
        import pyspark
    rm = FakeRM()
    server = rm.serve()
    bin_dir = env.home / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "spark-submit"
    stand_in.write_text(SPARK_SUBMIT.replace("{python}", sys.executable))
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SPARK_HOME", str(Path(pyspark.__file__).parent))
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    monkeypatch.setenv("JW_RESOURCE_MANAGER", f"127.0.0.1:{rm.port}")
    config = env.write_config(
        "cluster_name: yarn-lab\nprovider: {type: local}\nhead_stop_commands:\n"
        "  - echo \"stopped $(date +%s.%N)\" >> ~/cluster.log\nruntime:\n  types: [spark]\n"
        f"  spark: {{cluster_manager: yarn, resource_manager: '127.0.0.1:{rm.port}'}}\n",
        "yarn.yaml")
    yield config, rm
    server.shutdown()
    server.server_close()


def jobwaiter(argv: list[str], terminal_answer: bytes | None,
              ) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process; with ``terminal_answer``, stdin is a terminal on which
    the user types that answer, else there is no terminal."""
    cmd = [sys.executable, "-m", "jobwaiter.cli.main", *argv]
    if terminal_answer is None:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=240, check=False)
    master, slave = pty.openpty()
    try:
        os.write(master, terminal_answer)  # typed ahead: the terminal keeps it for the read
        return subprocess.run(cmd, stdin=slave, capture_output=True, text=True, timeout=240,
                              check=False)
    finally:
        os.close(slave)
        os.close(master)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_spark_example_with_stop(env, yarn: tuple[Path, FakeRM]) -> None:
    config, rm = yarn
    argv = argv_of("spark", config)
    # As printed, without -y: with no terminal to ask, --stop is refused and nothing runs.
    r = jobwaiter(argv, None)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "jobwaiter: error: stop cluster 'yarn-lab' once the job has completed needs "
        "confirmation; add -y to proceed without a terminal"]
    assert rm.apps == [] and not env.jobs.exists()
    assert not (env.home / "cluster.log").exists()

    # On a terminal, the user answers y.
    r = jobwaiter(argv, b"y\n")
    assert r.returncode == 0, r.stderr
    (app,) = rm.apps
    state, final, finished_ms = app.now()
    assert (app.name, state, final) == ("spark-pi", "FINISHED", "SUCCEEDED")
    assert "Pi is roughly 3.1" in (env.home / "spark-pi.driver.log").read_text()
    name, meta = the_record(env)
    assert meta["session"] == "tmux" and env.status(name) == "0"
    assert f"{app.id} (spark-pi) FINISHED/SUCCEEDED" in r.stderr
    # The cluster was stopped once, after the application had ended.
    (stopped,) = (env.home / "cluster.log").read_text().splitlines()
    assert float(stopped.split()[1]) * 1000 >= finished_ms
