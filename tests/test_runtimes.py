"""The runtime framework and the Spark runtime without a cluster: config, the spark waiter's
rules over recorded engine answers (through a mock head), submit commands, the CLI."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.cluster.config import validate_config
from jobwaiter.errors import ConfigError, SpecError, UsageError, WaiterError
from jobwaiter.runtimes import (
    configured_runtimes,
    runtime_names,
    runtime_waiters,
    stop_commands,
    submit_runtime,
)
from jobwaiter.runtimes.base import head_address
from jobwaiter.runtimes.http import fetch
from jobwaiter.runtimes.spark import SparkRuntime
from jobwaiter.runtimes.spark.apps import CLOCK_SLACK_MS, Scope, standalone_apps, yarn_apps
from jobwaiter.runtimes.spark.settings import SparkSettings
from jobwaiter.runtimes.spark.waiter import SparkWaiter
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.mock import MockTransport
from jobwaiter.waiters.base import JobContext
from jobwaiter.waiters.registry import resolve
from jobwaiter.waiters.spec import Spec

JOB_START = 1_700_000_000.0
T0 = int(JOB_START * 1000)


def config(**spark: object) -> dict[str, object]:
    section: dict[str, object] = {"types": ["spark"]}
    if spark:
        section["spark"] = spark
    return {"cluster_name": "t", "provider": {"type": "local"}, "runtime": section}


# -- config ------------------------------------------------------------------------------------


def test_spark_section_defaults() -> None:
    dumped = validate_config(config(master_port=7000)).model_dump(mode="json")
    spark = dumped["runtime"]["spark"]
    assert spark["master_port"] == 7000
    assert spark["cluster_manager"] == "standalone"
    assert spark["web_ui_port"] == 8080 and spark["rest_port"] == 6066
    assert SparkSettings.from_config(dumped) == SparkSettings(master_port=7000)
    # No section at all: every default.
    assert SparkSettings.from_config(config()) == SparkSettings()


@pytest.mark.parametrize(
    ("runtime", "message"),
    [
        ({"types": ["sprak"]},
         "runtime.types: unknown runtime 'sprak' (available: ray, slurm, spark, yarn); did you "
         "mean spark?"),
        ({"types": ["spark"], "spark": {"master_prot": 1}}, "runtime.spark.master_prot: "
         "unknown key; did you mean master_port?"),
        ({"types": ["spark"], "spark": {"cluster_manager": "mesos"}},
         "runtime.spark.cluster_manager: Input should be 'standalone' or 'yarn'"),
        ({"types": ["spark"], "spark": {"web_ui_port": 70000}},
         "runtime.spark: web_ui_port must be a port number (1-65535), not 70000"),
        ({"types": ["spark"], "spark": {"master_host": "a b"}},
         "runtime.spark: master_host must be a non-empty value without spaces"),
        ({"types": [], "spark": {}}, "runtime: has a spark section but 'spark' is not in "
         "runtime.types"),
        ({"typo": []}, "runtime.typo: unknown key; did you mean types?"),
    ],
)
def test_bad_runtime_config_is_one_line(runtime: dict[str, object], message: str) -> None:
    data = {"cluster_name": "t", "provider": {"type": "local"}, "runtime": runtime}
    with pytest.raises(ConfigError) as err:
        validate_config(data, source="c.yaml")
    assert str(err.value) == f"c.yaml: {message}"


def test_bad_runtime_config_exits_2(env, cli) -> None:  # type: ignore[no-untyped-def]
    cfg = env.write_config("cluster_name: t\nprovider: {type: local}\n"
                           "runtime: {types: [spark], spark: {bogus: 1}}\n", "bad.yaml")
    r = cli("exec", str(cfg), "true")
    assert r.code == 2
    assert "runtime.spark.bogus: unknown key" in r.err


def test_registry() -> None:
    assert "spark" in runtime_names()
    (rt,) = configured_runtimes(config())
    assert isinstance(rt, SparkRuntime)
    assert runtime_waiters(configured_runtimes(config())) == {"spark": SparkWaiter}
    bare = {"cluster_name": "t", "provider": {"type": "local"}}
    assert runtime_waiters(configured_runtimes(bare)) == {}


def test_head_address() -> None:
    assert head_address({"provider": {"type": "local"}}) == "127.0.0.1"
    for given, host in [("10.0.0.5", "10.0.0.5"), ("10.0.0.5:2222", "10.0.0.5"),
                        ("head.lan", "head.lan"), ("[fd00::1]:22", "fd00::1"),
                        ("fd00::1", "fd00::1")]:
        assert head_address({"provider": {"type": "ssh", "head_ip": given}}) == host


# -- waiter spec ---------------------------------------------------------------------------------


def test_spark_parameters_share_the_spec_grammar() -> None:
    (w,) = resolve("spark[all]", config(), runtime_waiters(configured_runtimes(config())))
    assert isinstance(w, SparkWaiter) and w.scope_all and w.label == "spark[all]"
    catalogue = runtime_waiters(configured_runtimes(config()))
    _, spark = resolve("chain[tmux, spark]", config(), catalogue)
    assert spark.label == "spark" and not spark.scope_all  # type: ignore[attr-defined]
    for bad in ("spark[everything]", "spark[all, all]", "spark[all[x]]"):
        with pytest.raises(SpecError, match="takes one optional parameter, 'all'"):
            resolve(bad, config(), runtime_waiters(configured_runtimes(config())))
    with pytest.raises(SpecError, match="unknown job waiter 'spark'"):
        resolve("spark", {"cluster_name": "t"}, {})
    with pytest.raises(SpecError):
        SparkWaiter.create((Spec("all"), Spec("all")), config())


def test_waiters_lists_spark_only_with_the_runtime(env, cli) -> None:  # type: ignore[no-untyped-def]
    cfg = env.write_config("cluster_name: t\nprovider: {type: local}\n"
                           "runtime: {types: [spark]}\n", "spark.yaml")
    r = cli("waiters", str(cfg))
    assert r.code == 0
    line = next(x for x in r.out.splitlines() if x.startswith("spark "))
    assert "Spark applications the job started" in line
    assert not any(x.startswith("spark ") for x in cli("waiters", str(env.config)).out.splitlines())
    assert not any(x.startswith("spark ") for x in cli("waiters").out.splitlines())


def test_bad_spark_spec_is_usage_error_before_anything_runs(env, cli) -> None:  # type: ignore[no-untyped-def]
    cfg = env.write_config("cluster_name: t\nprovider: {type: local}\n"
                           "runtime: {types: [spark]}\n", "spark.yaml")
    r = cli("exec", str(cfg), "touch ran", "--job-waiter", "spark[nope]")
    assert r.code == 2
    assert "takes one optional parameter" in r.err
    assert not (env.home / "ran").exists()


# -- a head that answers like an engine ------------------------------------------------------


@dataclass
class Engine:
    """A mock head whose ``python3 -c FETCH TIMEOUT URL...`` answers from ``routes``: the first
    route whose key is in the URL gives a body (dict/str), an int HTTP status, or an
    Exception's text as a connection error."""

    routes: dict[str, object] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    status: int = 0

    def handler(self, argv: tuple[str, ...], data: bytes | None) -> CommandResult:
        assert argv[:2] == ("python3", "-c")
        lines = []
        for url in argv[4:]:
            self.urls.append(url)
            answer: dict[str, object] = {"url": url}
            route = next((v for k, v in self.routes.items() if k in url), OSError("refused"))
            if isinstance(route, Exception):
                answer["error"] = str(route)
            elif isinstance(route, int):
                answer.update(status=route, body="")
            else:
                answer.update(status=200, body=route if isinstance(route, str)
                              else json.dumps(route))
            lines.append(json.dumps(answer))
        out = "\n".join(lines) + "\n" if self.status == 0 else ""
        return CommandResult(argv, self.status, out, "python3: not found" if self.status else "")

    def job(self, started_at: float | None = JOB_START) -> JobContext:
        return JobContext("jobwaiter-000000000000", MockTransport(self.handler),
                          started_at=started_at)


def master(active: list[dict[str, object]] = (), done: list[dict[str, object]] = (),  # type: ignore[assignment]
           drivers: list[dict[str, object]] = (), done_drivers: list[dict[str, object]] = (),  # type: ignore[assignment]
           status: str = "ALIVE") -> dict[str, object]:
    return {"status": status, "activeapps": list(active), "completedapps": list(done),
            "activedrivers": list(drivers), "completeddrivers": list(done_drivers)}


def app(i: str, state: str, start: int, name: str = "etl",
        duration: int = 1000) -> dict[str, object]:
    return {"id": i, "name": name, "state": state, "starttime": start, "duration": duration}


def driver(i: str, state: str, start: int) -> dict[str, object]:
    return {"id": i, "state": state, "starttime": str(start),
            "mainclass": "org.apache.spark.deploy.PythonRunner"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def waiter(settle: float = 0.0, scope_all: bool = False, clock: Callable[[], float] | None = None,
           **kw: object) -> SparkWaiter:
    settings = SparkSettings(settle_seconds=settle, **kw)  # type: ignore[arg-type]
    return SparkWaiter(settings, "127.0.0.1", scope_all=scope_all, clock=clock or Clock())


def test_standalone_pending_then_success() -> None:
    eng = Engine({"/json/": master(active=[app("app-1", "RUNNING", T0 + 50)])})
    w = waiter()
    c = w.check(eng.job(), 0)
    assert not c.done and "app-1 (etl) RUNNING" in c.detail
    assert eng.urls == ["http://127.0.0.1:8080/json/"]
    eng.routes["/json/"] = master(done=[app("app-1", "FINISHED", T0 + 50)])
    c = w.check(eng.job(), 0)
    assert c.done and c.ok and "app-1 (etl) FINISHED" in c.detail


def test_waits_for_every_app_and_driver_then_reports_all_failures() -> None:
    eng = Engine({"/json/": master(
        active=[app("app-2", "WAITING", T0 + 9)],
        done=[app("app-1", "FAILED", T0 + 1, name="load")],
        done_drivers=[driver("driver-1", "ERROR", T0 + 2)],
    )})
    w = waiter(rest_port=None)
    c = w.check(eng.job(), 0)
    assert not c.done, "a failure is reported only once nothing in scope is running"
    eng.routes["/json/"] = master(
        done=[app("app-1", "FAILED", T0 + 1, name="load"), app("app-2", "KILLED", T0 + 9)],
        done_drivers=[driver("driver-1", "ERROR", T0 + 2)])
    c = w.check(eng.job(), 0)
    assert c.done and not c.ok
    for part in ("3 Spark applications did not succeed", "app-1 (load) FAILED",
                 "app-2 (etl) KILLED", "driver-1 (PythonRunner) ERROR"):
        assert part in c.detail


def test_failed_driver_message_comes_from_the_rest_server() -> None:
    eng = Engine({
        "/json/": master(done_drivers=[driver("driver-7", "FAILED", T0 + 5)]),
        "/v1/submissions/status/driver-7": {"driverState": "FAILED", "success": True,
                                            "message": "Exception: bad input\nat ..."},
    })
    c = waiter(rest_port=6066).check(eng.job(), 0)
    assert c.done and not c.ok
    assert "driver-7 (PythonRunner) FAILED: Exception: bad input" in c.detail
    assert "http://127.0.0.1:6066/v1/submissions/status/driver-7" in eng.urls


def test_running_driver_is_in_progress() -> None:
    eng = Engine({"/json/": master(drivers=[driver("driver-3", "SUBMITTED", T0 + 5)])})
    c = waiter().check(eng.job(), 0)
    assert not c.done and "driver-3 (PythonRunner) SUBMITTED" in c.detail


def test_default_scope_ignores_apps_from_before_the_job_all_does_not() -> None:
    before = T0 - 60_000
    eng = Engine({"/json/": master(active=[app("app-old", "RUNNING", before)],
                                   done=[app("app-ancient", "FAILED", before - 10_000)])})
    c = waiter().check(eng.job(), 0)
    assert c.done and c.ok and c.detail == "no Spark application in scope"
    w = waiter(scope_all=True)
    c = w.check(eng.job(), 0)
    assert not c.done and "app-old" in c.detail
    # It ends badly while we wait: spark[all] fails on it; the failure from long before the
    # job is nobody's concern.
    eng.routes["/json/"] = master(done=[app("app-old", "KILLED", before, duration=61_000),
                                        app("app-ancient", "FAILED", before - 10_000)])
    c = w.check(eng.job(), 0)
    assert c.done and not c.ok and "app-old (etl) KILLED" in c.detail
    assert "app-ancient" not in c.detail


def test_scope_rules() -> None:
    default, everything = Scope(False, T0), Scope(True, T0)
    new = standalone_apps(master(done=[app("a", "FINISHED", T0 - CLOCK_SLACK_MS)]))[0]
    old = standalone_apps(master(done=[app("b", "FINISHED", T0 - CLOCK_SLACK_MS - 1)]))[0]
    assert default.covers(new) and not default.covers(old)
    assert default.covers(old, seen_active={"b"})
    ended_during = standalone_apps(master(done=[app("c", "FAILED", T0 - 9000,
                                                    duration=9000)]))[0]
    assert everything.covers(ended_during) and not default.covers(ended_during)
    unknown_start = Scope(False, None)
    running = standalone_apps(master(active=[app("d", "RUNNING", 1)]))[0]
    assert unknown_start.covers(running) and not unknown_start.covers(new)


def test_settle_looks_a_while_for_an_app_still_starting() -> None:
    clock = Clock()
    eng = Engine({"/json/": master()})
    w = waiter(settle=10, clock=clock)
    c = w.check(eng.job(), 0)
    assert not c.done and "looking 10s more" in c.detail
    clock.now = 4
    eng.routes["/json/"] = master(active=[app("app-late", "RUNNING", T0 + 3000)])
    assert not w.check(eng.job(), 0).done
    clock.now = 30
    eng.routes["/json/"] = master(done=[app("app-late", "FINISHED", T0 + 3000)])
    c = w.check(eng.job(), 0)
    assert c.done and c.ok and "app-late" in c.detail
    # Nothing ever: satisfied once the settle time has passed.
    clock2 = Clock()
    w2 = waiter(settle=10, clock=clock2)
    eng.routes["/json/"] = master()
    assert not w2.check(eng.job(), 0).done
    clock2.now = 10
    assert w2.check(eng.job(), 0).ok


@pytest.mark.parametrize(
    ("route", "expect"),
    [
        (OSError("Connection refused"), "unreachable (Connection refused), retrying"),
        (502, "answered HTTP 502, retrying"),
        ("<html>not json</html>", "did not answer JSON, retrying"),
        (master(status="STANDBY"), "is STANDBY, retrying"),
    ],
)
def test_unusable_engine_answer_is_never_done(route: object, expect: str) -> None:
    eng = Engine({"/json/": route})
    w = waiter(settle=0)
    for _ in range(3):
        c = w.check(eng.job(), 0)
        assert not c.done
        assert expect in c.detail


def test_app_that_vanishes_from_the_engine_fails_the_wait() -> None:
    eng = Engine({"/json/": master(active=[app("app-1", "RUNNING", T0 + 1)])})
    w = waiter()
    assert not w.check(eng.job(), 0).done
    eng.routes["/json/"] = master()  # a restarted master forgets everything
    c = w.check(eng.job(), 0)
    assert c.done and not c.ok and "app-1 no longer listed by the engine" in c.detail


def test_no_python_on_the_head_is_a_waiter_error() -> None:
    eng = Engine({"/json/": master()}, status=127)
    with pytest.raises(WaiterError, match="python3 is needed"):
        waiter().check(eng.job(), 0)


def test_fetch_keeps_order_and_fills_unanswered_urls() -> None:
    def handler(argv: tuple[str, ...], data: bytes | None) -> CommandResult:
        line = json.dumps({"url": argv[5], "status": 200, "body": "{}"})
        return CommandResult(argv, 1, line + "\n", "Traceback: boom")

    a, b = fetch(MockTransport(handler), ["http://x/1", "http://x/2"])
    assert a.url == "http://x/1" and not a.reachable and "boom" in a.error
    assert b.ok and b.json() == {}


def test_yarn_answers() -> None:
    assert yarn_apps({"apps": None}) == []
    apps = yarn_apps({"apps": {"app": [
        {"id": "application_1_0001", "name": "a", "state": "NEW_SAVING",
         "finalStatus": "UNDEFINED", "startedTime": T0, "finishedTime": 0},
        {"id": "application_1_0002", "name": "b", "state": "FINISHED",
         "finalStatus": "FAILED", "startedTime": T0, "finishedTime": T0 + 5},
        {"id": "application_1_0003", "name": "c", "state": "FINISHED",
         "finalStatus": "SUCCEEDED", "startedTime": T0, "finishedTime": T0 + 5},
    ]}})
    assert [(a.active, a.failed) for a in apps] == [(True, False), (False, True),
                                                    (False, False)]
    assert apps[1].describe() == "application_1_0002 (b) FINISHED/FAILED"


def test_yarn_queries_name_states_and_the_job_start() -> None:
    eng = Engine({"/ws/v1/cluster/apps": {"apps": None}})
    w = waiter(cluster_manager="yarn", resource_manager="rm.lan:8088")
    assert w.check(eng.job(), 0).ok
    active, ended = eng.urls
    begin = T0 - CLOCK_SLACK_MS
    assert active == ("http://rm.lan:8088/ws/v1/cluster/apps?states=NEW,NEW_SAVING,SUBMITTED,"
                      f"ACCEPTED,RUNNING&applicationTypes=SPARK&startedTimeBegin={begin}")
    assert ended == ("http://rm.lan:8088/ws/v1/cluster/apps?states=FINISHED,FAILED,KILLED"
                     f"&applicationTypes=SPARK&startedTimeBegin={begin}")
    eng.urls.clear()
    waiter(cluster_manager="yarn", scope_all=True).check(eng.job(), 0)
    active, ended = eng.urls
    assert active.startswith("http://127.0.0.1:8088/") and "TimeBegin" not in active
    assert ended.endswith(f"&finishedTimeBegin={begin}")


# -- start / stop / submit -------------------------------------------------------------------


@dataclass(frozen=True)
class FakeNode:
    id: str
    ip: str
    is_head: bool = False
    transport: MockTransport = field(
        default_factory=lambda: MockTransport(lambda argv, data: (0, "")))


def test_stop_commands_per_node() -> None:
    head, w1 = FakeNode("head", "10.0.0.1", True), FakeNode("w1", "10.0.0.2")
    roles = [(a[5], a[4]) for a in stop_commands(configured_runtimes(config()), head, [])]
    assert roles == [("worker", "stop"), ("master", "stop")]
    assert [a[5] for a in stop_commands(configured_runtimes(config()), head, [w1])] == ["master"]
    assert [a[5] for a in stop_commands(configured_runtimes(config()), w1, [w1])] == ["worker"]
    assert stop_commands(configured_runtimes(config(cluster_manager="yarn")), head, []) == []


def test_start_over_ssh_uses_each_node_host_without_its_ssh_port() -> None:
    """``host:port`` in an SSH config is the SSH port: the daemons bind to the host, and the
    master lists its workers by host, which is what start waits for."""

    def handler(argv: tuple[str, ...], data: bytes | None) -> tuple[int, str]:
        if argv[0] != "python3":
            return 0, ""
        body = json.dumps({"status": "ALIVE", "aliveworkers": 1,
                           "workers": [{"host": "10.0.0.2", "state": "ALIVE"}]})
        return 0, json.dumps({"url": argv[-1], "status": 200, "body": body}) + "\n"

    cfg = {**config(start_timeout=1), "provider": {"type": "ssh", "head_ip": "10.0.0.1:2201"}}
    head = FakeNode("head", "10.0.0.1:2201", True, MockTransport(handler))
    w1 = FakeNode("10.0.0.2:2202", "10.0.0.2:2202", False, MockTransport(handler))
    lines = SparkRuntime(cfg).start(head, [w1])
    assert lines[-1] == "head: spark: 1 worker(s) registered"
    (master,) = [a for a in head.transport.calls if a[0] == "bash"]
    (worker,) = w1.transport.calls
    assert master[9] == "10.0.0.1" and "spark://10.0.0.1:7077" not in master
    assert worker[9] == "10.0.0.2" and worker[-1] == "spark://10.0.0.1:7077"
    assert worker[worker.index("--host") + 1] == "10.0.0.2"


def test_yarn_has_nothing_to_start() -> None:
    head = FakeNode("head", "10.0.0.1", True)
    (line,) = SparkRuntime(config(cluster_manager="yarn")).start(head, [])
    assert "nothing to start" in line
    assert head.transport.calls == []


def test_in_session_stop_script_stops_the_runtime_first(env) -> None:  # type: ignore[no-untyped-def]
    cluster = Cluster(config())
    script = cluster.stop_script()
    # The runtime's stop comes before the head's own stop commands (sh/control.sh).
    assert script.index("org.apache.spark.deploy.master.Master") < script.index("ran $# $action")
    # Nothing is running: the runtime's part says so and the stop goes on.
    import subprocess

    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "worker not running" in out.stderr and "master not running" in out.stderr
    assert out.stdout.strip() == "ran 0 stop commands"


HOSTILE = ["a b", "$HOME", "`id`", "x;y", "it's", "", "--tmux", "line\nbreak"]


def test_submit_py_runs_spark_submit_with_args_quoted_once() -> None:
    rt = submit_runtime(configured_runtimes(config(master_host="10.1.1.1", master_port=7001,
                                                   python="/opt/py/bin/python3")), "spark")
    cmd = rt.submit_command("user/jobs/app.py", HOSTILE)
    setup, _, run = cmd.partition(" && export SPARK_HOME && ")
    assert setup.startswith("SPARK_HOME=$(/opt/py/bin/python3 -c ")
    argv = shlex.split(run)
    assert argv[:7] == ["$SPARK_HOME/bin/spark-submit", "--master", "spark://10.1.1.1:7001",
                        "--conf", "spark.pyspark.python=/opt/py/bin/python3",
                        "--conf", "spark.pyspark.driver.python=/opt/py/bin/python3"]
    assert argv[7:] == ["user/jobs/app.py", *HOSTILE]


def test_submit_scala_and_spark_home() -> None:
    rt = SparkRuntime(config(spark_home="/opt/spark", cluster_manager="yarn"))
    cmd = rt.submit_command("user/jobs/q.scala", ["--conf", "spark.x=a b"])
    assert cmd.startswith("SPARK_HOME=/opt/spark && export SPARK_HOME && ")
    assert "mktemp user/jobs/.q.scala.XXXXXX" in cmd
    assert "spark-shell --master yarn --conf 'spark.x=a b' -i \"$t\"" in cmd
    assert "System.exit(if (jobwaiterScriptEnded) 0 else 1)" in cmd


def test_submit_runtime_errors(env, cli) -> None:  # type: ignore[no-untyped-def]
    (env.home / "job.sh").write_text("echo hi\n")
    (env.home / "app.py").write_text("print(1)\n")
    spark_cfg = env.write_config("cluster_name: t\nprovider: {type: local}\n"
                                 "runtime: {types: [spark]}\n", "spark.yaml")
    r = cli("submit", "--runtime", "spark", str(spark_cfg), "job.sh")
    assert r.code == 2 and "with the spark runtime: unsupported script type .sh" in r.err
    assert ".py (spark-submit), .scala (spark-shell -i)" in r.err
    r = cli("submit", "--runtime", "spark", str(env.config), "app.py")
    assert r.code == 2 and "runtime 'spark' is not configured" in r.err
    r = cli("submit", "--runtime", "flink", str(spark_cfg), "app.py")
    assert r.code == 2 and "unknown runtime 'flink'" in r.err
    assert not (env.home / "user" / "jobs" / "app.py").exists()
    with pytest.raises(UsageError):
        submit_runtime(configured_runtimes(config()), "nope")


PLUGIN = '''
from dataclasses import dataclass
from jobwaiter.runtimes import Runtime

@dataclass(frozen=True)
class QueueSettings:
    queue: str = "default"
    slots: int = 1

class QueueRuntime(Runtime):
    name = "queue"
    config_section = QueueSettings

class BareRuntime(Runtime):
    name = "bare"
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A third-party package installed the usual way: a module and its dist-info with entry
    points, found through importlib.metadata like any installed plugin."""
    (tmp_path / "jw_queue_plugin.py").write_text(PLUGIN)
    info = tmp_path / "jw_queue_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jw-queue-plugin\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[jobwaiter.runtimes]\nqueue = jw_queue_plugin:QueueRuntime\n"
        "bare = jw_queue_plugin:BareRuntime\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_plugin_runtime_brings_its_own_config_section(plugin) -> None:  # type: ignore[no-untyped-def]
    base = {"cluster_name": "t", "provider": {"type": "local"}}
    dumped = validate_config({**base, "runtime": {"types": ["queue", "spark"],
                                                  "queue": {"slots": 4}}}).model_dump()
    assert dumped["runtime"]["queue"] == {"queue": "default", "slots": 4}
    cases = [
        ({"types": ["queue"], "queue": {"slot": 4}}, "runtime.queue.slot: unknown key"),
        ({"types": ["queue"], "queue": {"slots": "many"}},
         "runtime.queue.slots: Input should be a valid integer"),
        ({"types": [], "queue": {}}, "runtime: has a queue section but 'queue' is not in "
         "runtime.types"),
        # A runtime without settings has no section.
        ({"types": ["bare"], "bare": {}}, "runtime.bare: unknown key"),
    ]
    for runtime, message in cases:
        with pytest.raises(ConfigError) as err:
            validate_config({**base, "runtime": runtime}, source="c.yaml")
        assert str(err.value).startswith(f"c.yaml: {message}"), err.value


def test_the_code_run_on_the_head_is_python_3_8_syntax() -> None:
    """The only Python jobwaiter runs on a head is the REST fetch; heads often have an old
    python3, so its syntax is checked against 3.8 (a newer construct fails to parse)."""
    import ast

    from jobwaiter.runtimes import http

    ast.parse(http._FETCH, feature_version=(3, 8))
    with pytest.raises(SyntaxError):  # the check itself can fail
        ast.parse("match x:\n    case 1: pass\n", feature_version=(3, 8))


def test_an_ipv6_head_is_bracketed_in_urls() -> None:
    cfg = {**config(), "provider": {"type": "ssh", "head_ip": "[fd00::1]:2201"}}
    rt = SparkRuntime(cfg)
    assert rt.master_host == "fd00::1"  # what the daemon binds to
    assert rt.master_url == "spark://[fd00::1]:7077"
    eng = Engine({"/json/": master()})
    SparkWaiter(SparkSettings(), "fd00::1", clock=Clock()).check(eng.job(), 0)
    assert eng.urls == ["http://[fd00::1]:8080/json/"]
