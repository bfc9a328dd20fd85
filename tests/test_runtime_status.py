"""What `jobwaiter status` says about runtimes, from recorded answers: a daemon's pid check
(`daemon.sh status`), Spark's master `/json/` and YARN's `/ws/v1/cluster/info`, Ray's
`/nodes?view=summary`, and Slurm's `scontrol ping` + `sinfo`. The nodes are mock transports
that answer what the real commands print."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from jobwaiter.errors import CommandTimeout, TransportError
from jobwaiter.runtimes import Runtime, configured_runtimes
from jobwaiter.runtimes.base import DOWN, UNKNOWN, UP, RuntimeStatus
from jobwaiter.runtimes.daemons import parse_daemon_status
from jobwaiter.runtimes.http import Answer
from jobwaiter.runtimes.ray import RayRuntime
from jobwaiter.runtimes.slurm import SlurmRuntime
from jobwaiter.runtimes.slurm.health import controller_status
from jobwaiter.runtimes.spark import SparkRuntime
from jobwaiter.runtimes.spark.health import yarn_status
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.mock import MockTransport

# A standalone master's /json/ with one worker registered (the fields of Spark 3.5).
MASTER_JSON = {
    "url": "spark://10.0.0.1:7077",
    "workers": [{
        "id": "worker-20240601120000-10.0.0.2-40211", "host": "10.0.0.2", "port": 40211,
        "webuiaddress": "http://10.0.0.2:8081", "cores": 8, "coresused": 2, "coresfree": 6,
        "memory": 4096, "memoryused": 1024, "memoryfree": 3072, "resources": {},
        "resourcesused": {}, "resourcesfree": {}, "state": "ALIVE",
        "lastheartbeat": 1717243300000,
    }],
    "aliveworkers": 1, "cores": 8, "coresused": 2, "memory": 4096, "memoryused": 1024,
    "resources": [], "resourcesused": [],
    "activeapps": [{"id": "app-20240601120100-0000", "starttime": 1717243260000,
                    "name": "etl", "cores": 2, "user": "ubuntu", "memoryperexecutor": 1024,
                    "memoryperslave": 1024, "resourcesperexecutor": [],
                    "resourcesperslave": [], "submitdate": "Sat Jun 01 12:01:00 UTC 2024",
                    "state": "RUNNING", "duration": 40000}],
    "completedapps": [], "activedrivers": [], "completeddrivers": [], "status": "ALIVE",
}

# Ray's /nodes?view=summary with the head and one worker (fields the status reads, and some).
RAY_SUMMARY = {
    "result": True, "msg": "Node summary fetched.",
    "data": {"summary": [
        {"hostname": "head", "ip": "10.0.0.1", "now": 1717243300.0,
         "raylet": {"nodeId": "a1", "nodeManagerAddress": "10.0.0.1", "state": "ALIVE",
                    "isHeadNode": True}},
        {"hostname": "w1", "ip": "10.0.0.2", "now": 1717243300.0,
         "raylet": {"nodeId": "b2", "nodeManagerAddress": "10.0.0.2", "state": "DEAD",
                    "isHeadNode": False}},
    ]},
}

# Hadoop's documented example of GET /ws/v1/cluster/info.
YARN_INFO = {"clusterInfo": {
    "id": 1324053971963, "startedOn": 1324053971963, "state": "STARTED",
    "haState": "ACTIVE", "resourceManagerVersion": "3.3.6",
    "resourceManagerBuildVersion": "3.3.6 from ...", "hadoopVersion": "3.3.6",
}}


@dataclass
class Node:
    """A node whose commands answer from ``daemons`` (role -> daemon.sh status output, or an
    exception) and ``urls`` (URL part -> body, HTTP status, or connection error)."""

    id: str
    ip: str
    is_head: bool = False
    daemons: dict[str, object] = field(default_factory=dict)
    urls: dict[str, object] = field(default_factory=dict)
    transport: MockTransport = field(init=False)

    def __post_init__(self) -> None:
        self.transport = MockTransport(self.answer, node=self.id)

    def answer(self, argv: tuple[str, ...], data: bytes | None) -> CommandResult:
        if argv[0] == "python3":
            return CommandResult(argv, 0, "".join(self._fetch(u) for u in argv[4:]))
        if argv[:2] == ("bash", "-c") and argv[4] == "status":
            said = self.daemons.get(argv[5], "stopped\n")
            if isinstance(said, Exception):
                raise said
            return CommandResult(argv, 0, str(said))
        raise AssertionError(f"unexpected command {argv[:1]}")

    def _fetch(self, url: str) -> str:
        route = next((v for k, v in self.urls.items() if k in url), OSError("refused"))
        answer: dict[str, object] = {"url": url}
        if isinstance(route, Exception):
            answer["error"] = str(route)
        elif isinstance(route, int):
            answer.update(status=route, body="")
        else:
            answer.update(status=200, body=route if isinstance(route, str) else json.dumps(route))
        return json.dumps(answer) + "\n"


def spark(**section: object) -> SparkRuntime:
    return SparkRuntime({"cluster_name": "lab", "runtime": {"types": ["spark"],
                                                            "spark": section},
                         "provider": {"type": "ssh", "head_ip": "10.0.0.1"}})


def states(statuses: list[RuntimeStatus]) -> list[tuple[str, str, str]]:
    return [(s.component, s.node, s.state) for s in statuses]


# -- daemon.sh status --------------------------------------------------------------------------

@pytest.mark.parametrize(("stdout", "status", "running", "pid"), [
    ("running 4242\n", 0, True, 4242),
    ("stopped\n26/06/01 ERROR Master: boom\n", 0, False, None),
    ("", 0, None, None),
    ("running x\n", 0, None, None),
    ("", 127, None, None),
])
def test_daemon_status_lines(stdout: str, status: int, running: bool | None,
                             pid: int | None) -> None:
    state = parse_daemon_status("head", "10.0.0.1", "master",
                                CommandResult(("bash",), status, stdout, "bash: no"))
    assert (state.running, state.pid) == (running, pid)
    assert bool(state.error) == (running is None)


# -- Spark standalone --------------------------------------------------------------------------

def test_spark_master_and_worker_up_when_processes_and_master_agree() -> None:
    head = Node("head", "10.0.0.1", True, {"master": "running 100\n"}, {"/json/": MASTER_JSON})
    w1 = Node("10.0.0.2", "10.0.0.2:22", daemons={"worker": "running 200\n"})
    got = spark().status(head, [w1])
    assert states(got) == [("master", "head", UP), ("worker", "10.0.0.2", UP)]
    assert got[0].detail == "pid 100; ALIVE, 1 worker alive, 1 application running"
    assert got[1].detail == "pid 200; registered with the master (ALIVE)"
    # The master's URL is the head's address as the cluster reaches it; no SSH port.
    assert head.transport.calls[-1][4] == "http://10.0.0.1:8080/json/"


def test_spark_on_a_single_node_runs_the_worker_on_the_head() -> None:
    status = {**MASTER_JSON, "workers": [{**MASTER_JSON["workers"][0], "host": "10.0.0.1"}]}  # type: ignore[dict-item]
    head = Node("head", "10.0.0.1", True, {"master": "running 1\n", "worker": "running 2\n"},
                {"/json/": status})
    assert states(spark().status(head, [])) == [("master", "head", UP), ("worker", "head", UP)]


def test_spark_stopped_everywhere_is_down() -> None:
    head = Node("head", "10.0.0.1", True)
    w1 = Node("10.0.0.2", "10.0.0.2")
    got = spark().status(head, [w1])
    assert states(got) == [("master", "head", DOWN), ("worker", "10.0.0.2", DOWN)]
    assert got[0].detail == "not running"


def test_spark_half_answers_are_unknown_and_say_which_half() -> None:
    # The master runs but does not answer; the worker runs but is not registered.
    head = Node("head", "10.0.0.1", True, {"master": "running 100\n"}, {"/json/": 503})
    w1 = Node("10.0.0.2", "10.0.0.2", daemons={"worker": "running 200\n"})
    got = spark().status(head, [w1])
    assert states(got) == [("master", "head", UNKNOWN), ("worker", "10.0.0.2", UNKNOWN)]
    assert got[0].detail == "pid 100 runs, but http://10.0.0.1:8080/json/ answered HTTP 503"
    assert "the master cannot tell" in got[1].detail
    # The master answers, without this worker.
    head.urls["/json/"] = {**MASTER_JSON, "workers": []}
    got = spark().status(head, [w1])
    assert got[1].state == UNKNOWN and "does not list it as ALIVE" in got[1].detail
    # A master that answers but is not the process jobwaiter started.
    head.daemons.clear()
    head.urls["/json/"] = MASTER_JSON
    assert spark().status(head, [w1])[0].state == UNKNOWN


def test_spark_worker_on_an_unreachable_node_is_unknown_not_down() -> None:
    head = Node("head", "10.0.0.1", True, {"master": "running 100\n"},
                {"/json/": {**MASTER_JSON, "workers": []}})
    w1 = Node("10.0.0.2", "10.0.0.2",
              daemons={"worker": TransportError("cannot reach 10.0.0.2: refused")})
    got = spark().status(head, [w1])
    assert states(got) == [("master", "head", UP), ("worker", "10.0.0.2", UNKNOWN)]
    assert "cannot reach 10.0.0.2" in got[1].detail


# -- Spark on YARN -----------------------------------------------------------------------------

def test_yarn_resource_manager() -> None:
    head = Node("head", "10.0.0.1", True, urls={"/ws/v1/cluster/info": YARN_INFO})
    (got,) = spark(cluster_manager="yarn", resource_manager="rm:8088").status(head, [])
    assert (got.component, got.state) == ("resourcemanager", UP)
    assert got.detail == "STARTED, ACTIVE, version 3.3.6"
    assert head.transport.calls[0][4] == "http://rm:8088/ws/v1/cluster/info"


@pytest.mark.parametrize(("answer", "state"), [
    (Answer("u", error="Connection refused"), DOWN),
    (Answer("u", 500, "oops"), UNKNOWN),
    (Answer("u", 200, "<html>"), UNKNOWN),
    (Answer("u", 200, json.dumps({"clusterInfo": {"state": "STOPPED"}})), DOWN),
    (Answer("u", 200, json.dumps({"clusterInfo": {"state": "INITED"}})), UNKNOWN),
    (Answer("u", 200, json.dumps({"clusterInfo": {"state": "STARTED",
                                                  "haState": "STANDBY"}})), UNKNOWN),
    (Answer("u", 200, json.dumps({"clusterInfo": {"state": "STARTED"}})), UP),
])
def test_yarn_answers(answer: Answer, state: str) -> None:
    assert yarn_status(answer).state == state


# -- Ray ---------------------------------------------------------------------------------------

def ray() -> RayRuntime:
    return RayRuntime({"cluster_name": "lab", "runtime": {"types": ["ray"]},
                       "provider": {"type": "ssh", "head_ip": "10.0.0.1"}})


def test_ray_nodes_from_pids_and_the_dashboard() -> None:
    head = Node("head", "10.0.0.1:2201", True, {"head": "running 10\n"},
                {"/nodes?view=summary": RAY_SUMMARY})
    w1 = Node("10.0.0.2", "10.0.0.2", daemons={"worker": "running 20\n"})
    w2 = Node("10.0.0.3", "10.0.0.3")
    got = ray().status(head, [w1, w2])
    assert states(got) == [("head", "head", UP), ("worker", "10.0.0.2", UNKNOWN),
                           ("worker", "10.0.0.3", DOWN)]
    assert got[0].detail == "pid 10; listed ALIVE; the dashboard lists 1 node(s) alive"
    assert "does not list 10.0.0.2 ALIVE" in got[1].detail
    assert head.transport.calls[-1][4] == "http://10.0.0.1:8265/nodes?view=summary"


def test_ray_dashboard_down() -> None:
    head = Node("head", "10.0.0.1", True, {"head": "running 10\n"})
    (got,) = ray().status(head, [])
    assert got.state == UNKNOWN and "the dashboard cannot tell" in got.detail
    head.daemons.clear()
    assert ray().status(head, [])[0].state == DOWN


# -- Slurm -------------------------------------------------------------------------------------

def slurm_result(status: int, stdout: str, stderr: str = "") -> CommandResult:
    return CommandResult(("bash",), status, stdout, stderr)


@pytest.mark.parametrize(("result", "state", "detail"), [
    (slurm_result(0, "Slurmctld(primary) at ctl is UP\ndebug* up 2 idle\ndebug* up 1 mixed\n"
                     "gpu up 1 down\n"), UP,
     "Slurmctld(primary) at ctl is UP; partition debug* (up): 2 idle, 1 mixed; "
     "partition gpu (up): 1 down"),
    (slurm_result(1, "Slurmctld(primary) at ctl is DOWN\n"), DOWN,
     "Slurmctld(primary) at ctl is DOWN"),
    (slurm_result(127, "", "the Slurm client commands are not installed on the head"),
     UNKNOWN, "the Slurm client commands are not installed on the head"),
    (slurm_result(1, "", "scontrol: error: slurm_load_ctl_conf error"), UNKNOWN,
     "scontrol: error: slurm_load_ctl_conf error"),
    (slurm_result(0, "something else\n"), UNKNOWN, "something else"),
])
def test_slurm_controller(result: CommandResult, state: str, detail: str) -> None:
    got = controller_status(result)
    assert (got.component, got.state, got.detail) == ("controller", state, detail)


def test_slurm_status_runs_the_ping_probe_and_a_timeout_is_unknown() -> None:
    seen: list[tuple[str, ...]] = []

    def handler(argv: tuple[str, ...], data: bytes | None) -> tuple[int, str]:
        seen.append(argv)
        return 0, "Slurmctld(primary) at ctl is UP\n"

    node = Node("head", "10.0.0.1", True)
    node.transport = MockTransport(handler)
    rt = SlurmRuntime({"cluster_name": "lab", "runtime": {"types": ["slurm"],
                                                          "slurm": {"bin_dir": "/opt/s"}}})
    assert rt.status(node, [])[0].state == UP
    assert seen[0][-3:] == ("", "/opt/s", "ping")

    def slow(argv: tuple[str, ...], data: bytes | None) -> tuple[int, str]:
        raise CommandTimeout("bash on head did not finish in 10s")

    node.transport = MockTransport(slow)
    (got,) = rt.status(node, [])
    assert got.state == UNKNOWN and "did not finish" in got.detail


# -- the base class ----------------------------------------------------------------------------

def test_a_runtime_that_does_not_report_is_unknown() -> None:
    class Mine(Runtime):
        name = "mine"

    (got,) = Mine({}).status(Node("head", "h", True), [])
    assert got == RuntimeStatus("mine", "mine", "", UNKNOWN,
                                "this runtime does not report its status")
    assert got.to_dict()["state"] == "unknown"


def test_every_built_in_runtime_reports() -> None:
    config: dict[str, Any] = {"cluster_name": "lab", "runtime": {"types": ["spark", "ray",
                                                                           "slurm"]}}
    overrides: list[Callable[..., object]] = [type(r).status for r in configured_runtimes(config)]
    assert Runtime.status not in overrides
