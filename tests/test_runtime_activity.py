"""What ``Runtime.activity`` says (autostop's "is there work?"), from recorded answers: the
Spark master's ``/json/``, YARN's ``/ws/v1/cluster/apps``, Ray's ``/api/jobs/`` and the Slurm
probe's ``poll``. The head is a mock transport that answers what the real commands print: the
head's ``python3 -c FETCH TIMEOUT URL...`` one JSON line per URL, the probe its header lines
and ``squeue --json``.

The rules: work pending or running is BUSY, named in the detail; an engine that refuses the
connection (not running) is IDLE; one that answers badly or not at all is UNKNOWN, which
autostop counts as busy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from jobwaiter.runtimes import Runtime, configured_runtimes
from jobwaiter.runtimes.base import BUSY, IDLE, UNKNOWN, Activity
from jobwaiter.runtimes.ray import RayRuntime
from jobwaiter.runtimes.slurm import SlurmRuntime
from jobwaiter.runtimes.spark import SparkRuntime
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.mock import MockTransport

T0 = 1717243260000  # ms

# The connection errors the head's FETCH script reports (strerror / str of the reason).
REFUSED = OSError("Connection refused")
TIMED_OUT = OSError("timed out")
NO_ROUTE = OSError("No route to host")


@dataclass
class Head:
    """The head node. ``python3 -c FETCH`` answers from ``routes`` (the first key found in the
    URL gives a body: dict/list/str; an int HTTP status; or an Exception's text as a
    connection error; no route: refused); ``bash -c PROBE`` answers ``probe``."""

    routes: dict[str, object] = field(default_factory=dict)
    probe: CommandResult | None = None
    id: str = "head"
    ip: str = "10.0.0.1"
    is_head: bool = True
    urls: list[str] = field(default_factory=list)
    probes: list[tuple[str, ...]] = field(default_factory=list)
    transport: MockTransport = field(init=False)

    def __post_init__(self) -> None:
        self.transport = MockTransport(self.answer, node=self.id)

    def answer(self, argv: tuple[str, ...], data: bytes | None) -> CommandResult:
        if argv[:2] == ("python3", "-c"):
            return CommandResult(argv, 0, "".join(self._fetch(u) for u in argv[4:]))
        if argv[:2] == ("bash", "-c") and self.probe is not None:
            self.probes.append(argv)
            return self.probe
        raise AssertionError(f"unexpected command {argv[:1]}")

    def _fetch(self, url: str) -> str:
        self.urls.append(url)
        route = next((v for k, v in self.routes.items() if k in url), REFUSED)
        answer: dict[str, object] = {"url": url}
        if isinstance(route, Exception):
            answer["error"] = str(route)
        elif isinstance(route, int):
            answer.update(status=route, body="")
        else:
            answer.update(status=200, body=route if isinstance(route, str) else json.dumps(route))
        return json.dumps(answer) + "\n"


def base_config(types: list[str], **sections: object) -> dict[str, Any]:
    return {"cluster_name": "lab", "runtime": {"types": types, **sections},
            "provider": {"type": "ssh", "head_ip": "10.0.0.1"}}


# -- Spark standalone --------------------------------------------------------------------------

def spark(**section: object) -> SparkRuntime:
    return SparkRuntime(base_config(["spark"], spark=section))


def master(active: list[dict[str, object]] = (), done: list[dict[str, object]] = (),  # type: ignore[assignment]
           drivers: list[dict[str, object]] = (), done_drivers: list[dict[str, object]] = (),  # type: ignore[assignment]
           status: str = "ALIVE") -> dict[str, object]:
    """A standalone master's ``/json/`` (the fields the runtime reads, and some)."""
    return {"url": "spark://10.0.0.1:7077", "workers": [], "aliveworkers": 1, "cores": 8,
            "coresused": 2, "memory": 4096, "memoryused": 1024, "status": status,
            "activeapps": list(active), "completedapps": list(done),
            "activedrivers": list(drivers), "completeddrivers": list(done_drivers)}


def app(i: str, state: str, name: str = "etl") -> dict[str, object]:
    return {"id": i, "starttime": T0, "name": name, "cores": 2, "user": "ubuntu",
            "memoryperexecutor": 1024, "submitdate": "Sat Jun 01 12:01:00 UTC 2024",
            "state": state, "duration": 40000}


def driver(i: str, state: str) -> dict[str, object]:
    return {"id": i, "starttime": str(T0), "state": state, "cores": 1, "memory": 1024,
            "mainclass": "org.apache.spark.deploy.PythonRunner", "worker": "None"}


def test_spark_standalone_running_application_is_busy_and_named() -> None:
    head = Head({"/json/": master(active=[app("app-20240601120100-0000", "RUNNING")],
                                  done=[app("app-20240601110000-0000", "FINISHED", "old")])})
    got = spark().activity(head)
    assert got == Activity("spark", BUSY, "1 Spark application in progress: "
                                          "app-20240601120100-0000 (etl) RUNNING")
    # One request, to the master's /json/ at the head's address as the cluster reaches it.
    assert head.urls == ["http://10.0.0.1:8080/json/"]


def test_spark_standalone_waiting_app_and_submitted_driver_are_busy() -> None:
    # A cluster-mode driver that no worker has launched yet has no application: still work.
    head = Head({"/json/": master(active=[app("app-1", "WAITING")],
                                  drivers=[driver("driver-20240601120000-0001", "SUBMITTED")])})
    got = spark(master_host="spark-master", web_ui_port=18080).activity(head)
    assert got.state == BUSY
    assert got.detail == ("2 Spark applications in progress: app-1 (etl) WAITING, "
                          "driver-20240601120000-0001 (PythonRunner) SUBMITTED")
    assert head.urls == ["http://spark-master:18080/json/"]


def test_spark_standalone_with_only_ended_work_is_idle() -> None:
    head = Head({"/json/": master(done=[app("app-1", "FINISHED"), app("app-2", "KILLED")],
                                  done_drivers=[driver("driver-1", "FAILED")])})
    assert spark().activity(head) == Activity("spark", IDLE, "no Spark application in progress")
    assert spark().activity(Head({"/json/": master()})).state == IDLE


def test_spark_standalone_master_not_running_is_idle() -> None:
    assert spark().activity(Head()) == Activity("spark", IDLE, "the Spark master is not running")


@pytest.mark.parametrize(("route", "why"), [
    (500, "answered HTTP 500"),
    ("<html><body>Spark Master</body></html>", "did not answer JSON"),
    ([app("app-1", "RUNNING")], "answered something unexpected"),
    (TIMED_OUT, "unreachable (timed out)"),
    (NO_ROUTE, "unreachable (No route to host)"),
    # A master that is not the active one (HA standby, or still recovering its state) lists
    # none or only some of the applications: its empty list says nothing.
    (master(status="STANDBY"), "is STANDBY"),
    (master(status="RECOVERING"), "is RECOVERING"),
])
def test_spark_standalone_bad_answers_are_unknown(route: object, why: str) -> None:
    got = spark().activity(Head({"/json/": route}))
    assert got.state == UNKNOWN, got
    assert got.detail.startswith("Spark master at http://10.0.0.1:8080/json/ "), got.detail
    assert why in got.detail


# -- Spark on YARN -----------------------------------------------------------------------------

# The ResourceManager's REST API (GET /ws/v1/cluster/apps, Hadoop's documented response):
# {"apps": {"app": [...]}}, or {"apps": null} when no application matches the query.
def yarn_app(i: str, state: str, final: str = "UNDEFINED", name: str = "etl") -> dict[str, object]:
    return {"id": i, "user": "ubuntu", "name": name, "queue": "default", "state": state,
            "finalStatus": final, "progress": 10.0, "trackingUI": "ApplicationMaster",
            "trackingUrl": f"http://rm:8088/proxy/{i}/", "diagnostics": "",
            "clusterId": 1326821518301, "applicationType": "SPARK",
            "applicationTags": "", "priority": 0, "startedTime": T0,
            "finishedTime": T0 + 5000 if state in ("FINISHED", "FAILED", "KILLED") else 0,
            "elapsedTime": 5000, "amContainerLogs": "", "amHostHttpAddress": "w1:8042",
            "allocatedMB": 2048, "allocatedVCores": 2, "runningContainers": 2}


YARN_QUERY = "states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING&applicationTypes=SPARK"


def test_yarn_running_and_accepted_applications_are_busy() -> None:
    head = Head({"/ws/v1/cluster/apps": {"apps": {"app": [
        yarn_app("application_1326821518301_0005", "RUNNING"),
        yarn_app("application_1326821518301_0006", "ACCEPTED", name="queued"),
    ]}}})
    got = spark(cluster_manager="yarn", resource_manager="rm.lan:8088").activity(head)
    assert got == Activity("spark", BUSY, "2 Spark applications in progress: "
                                          "application_1326821518301_0005 (etl) RUNNING, "
                                          "application_1326821518301_0006 (queued) ACCEPTED")
    # Only active Spark applications are asked for, by state name (NEW..ACCEPTED are not
    # counted as pending by the cluster metrics); no time bound: every one on the cluster.
    assert head.urls == [f"http://rm.lan:8088/ws/v1/cluster/apps?{YARN_QUERY}"]


def test_yarn_with_no_matching_application_is_idle() -> None:
    head = Head({"/ws/v1/cluster/apps": {"apps": None}})
    got = spark(cluster_manager="yarn").activity(head)
    assert got == Activity("spark", IDLE, "no Spark application in progress")
    # Without resource_manager, the RM is on the head, port 8088.
    assert head.urls == [f"http://10.0.0.1:8088/ws/v1/cluster/apps?{YARN_QUERY}"]
    # An RM that ignored the state filter would list ended applications: they are no work.
    head.routes["/ws/v1/cluster/apps"] = {"apps": {"app": [
        yarn_app("application_1_0001", "FINISHED", "SUCCEEDED"),
        yarn_app("application_1_0002", "FAILED", "FAILED")]}}
    assert spark(cluster_manager="yarn").activity(head).state == IDLE


def test_yarn_resource_manager_not_running_is_idle() -> None:
    got = spark(cluster_manager="yarn").activity(Head())
    assert got == Activity("spark", IDLE, "the YARN ResourceManager is not running")


@pytest.mark.parametrize(("route", "why"), [
    (503, "answered HTTP 503"),
    ("This is standby RM. The redirect url is: http://rm2:8088/", "did not answer JSON"),
    (TIMED_OUT, "unreachable (timed out)"),
])
def test_yarn_bad_answers_are_unknown(route: object, why: str) -> None:
    got = spark(cluster_manager="yarn", resource_manager="rm:8088").activity(
        Head({"/ws/v1/cluster/apps": route}))
    assert got.state == UNKNOWN, got
    assert got.detail.startswith("YARN ResourceManager at http://rm:8088/ws/v1/cluster/apps?")
    assert why in got.detail


# -- Ray ---------------------------------------------------------------------------------------

def ray(**section: object) -> RayRuntime:
    return RayRuntime(base_config(["ray"], ray=section))


def ray_job(status: str, sid: str | None = "raysubmit_AbC", kind: str = "SUBMISSION",
            job_id: str | None = "02000000") -> dict[str, object]:
    """A row of GET /api/jobs/ as Ray 2.x answers it."""
    ended = status not in ("PENDING", "RUNNING")
    return {"type": kind, "job_id": job_id, "submission_id": sid, "driver_info": None,
            "status": status, "entrypoint": "python job.py", "message": f"Job is {status}.",
            "error_type": "JOB_ENTRYPOINT_COMMAND_ERROR" if status == "FAILED" else None,
            "start_time": T0, "end_time": T0 + 5000 if ended else None, "metadata": {},
            "runtime_env": {}, "driver_exit_code": 1 if status == "FAILED" else None}


def test_ray_pending_and_running_jobs_are_busy_and_named() -> None:
    head = Head({"/api/jobs/": [
        ray_job("SUCCEEDED", "raysubmit_old"),
        ray_job("RUNNING", "raysubmit_AbC"),
        ray_job("PENDING", "raysubmit_Next", job_id=None),
        ray_job("RUNNING", None, "DRIVER", "03000000"),  # a ray.init() script
    ]})
    got = ray().activity(head)
    assert got == Activity("ray", BUSY, "3 Ray jobs in progress: raysubmit_AbC RUNNING, "
                                        "raysubmit_Next PENDING, 03000000 RUNNING (driver)")
    assert head.urls == ["http://10.0.0.1:8265/api/jobs/"]


def test_ray_with_only_ended_jobs_is_idle() -> None:
    head = Head({"/api/jobs/": [ray_job("SUCCEEDED", "a"), ray_job("FAILED", "b"),
                                ray_job("STOPPED", "c"),
                                ray_job("SUCCEEDED", None, "DRIVER", "01000000")]})
    assert ray(dashboard_port=9265).activity(head) == Activity("ray", IDLE,
                                                               "no Ray job in progress")
    assert head.urls == ["http://10.0.0.1:9265/api/jobs/"]
    assert ray().activity(Head({"/api/jobs/": []})).state == IDLE


def test_ray_dashboard_not_running_is_idle() -> None:
    assert ray().activity(Head()) == Activity("ray", IDLE, "the Ray dashboard is not running")


@pytest.mark.parametrize(("route", "why"), [
    (503, "answered HTTP 503"),
    ("<html>starting</html>", "Expecting value"),
    ({"jobs": []}, "did not answer a list"),
    (["raysubmit_AbC"], "a list of something else than jobs"),
    (TIMED_OUT, "unreachable (timed out)"),
    (NO_ROUTE, "unreachable (No route to host)"),
])
def test_ray_bad_answers_are_unknown(route: object, why: str) -> None:
    got = ray().activity(Head({"/api/jobs/": route}))
    assert got.state == UNKNOWN, got
    assert got.detail.startswith("Ray dashboard at http://10.0.0.1:8265/api/jobs/")
    assert why in got.detail


# -- Slurm -------------------------------------------------------------------------------------

def slurm(**section: object) -> SlurmRuntime:
    return SlurmRuntime(base_config(["slurm"], slurm=section))


def poll(jobs: list[dict[str, object]], rc: int = 0, errors: list[object] = (),  # type: ignore[assignment]
         squeue: str | None = None) -> CommandResult:
    """The probe's ``poll`` answer: header lines, then squeue's output (22.05 shapes)."""
    body = squeue if squeue is not None else json.dumps({"meta": {}, "errors": list(errors),
                                                         "jobs": jobs})
    return CommandResult(("bash",), 0, f"uid 1000\nnow 1717243300\ncaptured\nsqueue {rc}\n"
                                       f"{body}\n")


def sjob(i: int, state: str, name: str = "x", user: int = 0, **more: object) -> dict[str, object]:
    return {"job_id": i, "name": name, "job_state": state, "exit_code": 0, "user_id": user,
            "user_name": "root" if user == 0 else "ann", "submit_time": 1717243200, **more}


def test_slurm_any_users_active_job_is_busy_and_named() -> None:
    head = Head(probe=poll([sjob(4, "COMPLETED"), sjob(5, "RUNNING", "train", user=1001),
                            sjob(6, "PENDING", "eval", state_reason="Resources")]))
    got = slurm(slurm_conf="/etc/slurm/lab.conf", bin_dir="/opt/slurm/bin").activity(head)
    assert got == Activity("slurm", BUSY, "2 Slurm jobs in progress: 5 (train) RUNNING; "
                                          "6 (eval) PENDING [Resources]")
    # One probe, with the configured SLURM_CONF and BIN_DIR, and no job record to read.
    ((bash, c, _script, name, conf, bindir, action, record),) = head.probes
    assert (bash, c, name, conf, bindir, action, record) == (
        "bash", "-c", "jw", "/etc/slurm/lab.conf", "/opt/slurm/bin", "poll", "")


def test_slurm_completing_job_is_still_busy() -> None:
    # 23.11+: a state list whose flags say the job is not done yet.
    head = Head(probe=poll([sjob(7, ["COMPLETED", "COMPLETING"])]))  # type: ignore[arg-type]
    got = slurm().activity(head)
    assert got.state == BUSY and "7 (x) COMPLETED+COMPLETING" in got.detail


def test_slurm_with_only_ended_jobs_is_idle() -> None:
    head = Head(probe=poll([sjob(4, "COMPLETED"), sjob(8, "FAILED", exit_code=768),
                            sjob(9, "CANCELLED")]))
    assert slurm().activity(head) == Activity("slurm", IDLE, "no Slurm job in progress")
    assert slurm().activity(Head(probe=poll([]))).state == IDLE


def test_slurm_client_commands_missing_is_idle() -> None:
    head = Head(probe=CommandResult(("bash",), 127, "",
                                    "the Slurm client commands are not installed on the head"))
    assert slurm().activity(head) == Activity("slurm", IDLE,
                                              "the Slurm client commands are not installed")


@pytest.mark.parametrize(("probe", "why"), [
    # squeue exits non-zero: the controller does not answer.
    (poll([], rc=1, squeue="slurm_load_jobs error: Unable to contact slurm controller "
                           "(connect failure)"),
     "squeue failed (1): slurm_load_jobs error: Unable to contact slurm controller"),
    # 22.05's squeue --json exits 0 without the controller; its errors say so.
    (poll([], errors=[{"error": "Unable to contact slurm controller", "errno": 1007}]),
     "squeue: Unable to contact slurm controller"),
    (poll([], squeue="squeue: unrecognized option '--json'"), "squeue did not answer JSON"),
    (CommandResult(("bash",), 1, "", "bash: /opt/slurm/bin: Permission denied"),
     "the Slurm probe failed (1): bash: /opt/slurm/bin: Permission denied"),
    (CommandResult(("bash",), 0, "something else\n"), "the Slurm probe failed (0)"),
])
def test_slurm_failures_are_unknown(probe: CommandResult, why: str) -> None:
    got = slurm().activity(Head(probe=probe))
    assert got.state == UNKNOWN, got
    assert why in got.detail, got.detail


# -- the base class ----------------------------------------------------------------------------

def test_a_runtime_that_does_not_track_work_is_idle_and_says_so() -> None:
    class Mine(Runtime):
        name = "mine"

    head = Head()
    got = Mine({}).activity(head)
    assert got == Activity("mine", IDLE, "this runtime does not report its work")
    assert got.to_dict() == {"runtime": "mine", "state": "idle",
                             "detail": "this runtime does not report its work"}
    assert head.transport.calls == [], "the default asks the head nothing"


def test_every_built_in_runtime_reports_its_work() -> None:
    config = base_config(["spark", "ray", "slurm"])
    overrides: list[Callable[..., object]] = [type(r).activity
                                              for r in configured_runtimes(config)]
    assert len(overrides) == 3 and Runtime.activity not in overrides
