"""The yarn waiter and the yarn runtime's status without a cluster: every rule on the
ResourceManager's answers, in the shapes Hadoop YARN 3.5.0 gives them (as recorded from the
real daemons of tests/test_yarn_cluster.py: ``{"apps": {}}`` when nothing matches, JSON
chosen by ``Accept: application/json``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from jobwaiter.errors import SpecError
from jobwaiter.runtimes.base import BUSY, DOWN, IDLE, UNKNOWN, UP
from jobwaiter.runtimes.daemons import DaemonState
from jobwaiter.runtimes.http import Answer
from jobwaiter.runtimes.yarn import YarnRuntime, health
from jobwaiter.runtimes.yarn.settings import YarnSettings
from jobwaiter.runtimes.yarn.waiter import YarnWaiter, yarn_activity
from jobwaiter.transport.mock import MockTransport
from jobwaiter.waiters.base import JobContext
from jobwaiter.waiters.spec import parse_spec

JOB_START = 1_796_634_900.0  # epoch seconds
RM_ID = 1_796_634_850_826  # the ResourceManager's start, ms; also its cluster id


def info(rm_id: int = RM_ID, store: str = "NullRMStateStore",
         state: str = "STARTED") -> dict[str, Any]:
    return {"clusterInfo": {
        "id": rm_id, "startedOn": rm_id, "state": state, "haState": "ACTIVE",
        "rmStateStoreName": f"org.apache.hadoop.yarn.server.resourcemanager.recovery.{store}",
        "resourceManagerVersion": "3.5.0"}}


def app(n: int, state: str, final: str = "UNDEFINED", name: str = "app", started: float = 1.0,
        finished: float = 0.0, diagnostics: str = "") -> dict[str, Any]:
    """An application, ``started``/``finished`` in seconds after the job's start."""
    return {"id": f"application_{RM_ID}_{n:04d}", "name": name, "state": state,
            "finalStatus": final, "applicationType": "SPARK", "diagnostics": diagnostics,
            "startedTime": int((JOB_START + started) * 1000),
            "finishedTime": int((JOB_START + finished) * 1000) if finished else 0}


class FakeRM:
    """Answers the head's requests like a ResourceManager: ``apps`` filtered by ``states``."""

    def __init__(self) -> None:
        self.info: dict[str, Any] | None = info()
        self.apps: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self.down = False

    def answer(self, url: str) -> dict[str, Any]:
        self.urls.append(url)
        if self.down:
            return {"url": url, "error": "Connection refused"}
        parsed = urlparse(url)
        if parsed.path.endswith("/info"):
            return {"url": url, "status": 200, "body": json.dumps(self.info)}
        states = set(parse_qs(parsed.query).get("states", [""])[0].split(","))
        rows = [a for a in self.apps if a["state"] in states]
        return {"url": url, "status": 200, "body": json.dumps({"apps": {"app": rows} if rows
                                                                        else {}})}

    def handler(self, argv: tuple[str, ...], _input: bytes | None) -> tuple[int, str]:
        return 0, "".join(json.dumps(self.answer(u)) + "\n" for u in argv[4:])


def waiter(spec: str = "yarn", clock: Callable[[], float] | None = None) -> YarnWaiter:
    config = {"provider": {"type": "local"},
              "runtime": {"types": ["yarn"], "yarn": {"resource_manager": "127.0.0.61:18688",
                                                       "settle_seconds": 5}}}
    w = YarnWaiter.create(parse_spec(spec).args, config)
    assert isinstance(w, YarnWaiter)
    if clock is not None:
        w.clock = clock
    return w


def job(rm: FakeRM) -> JobContext:
    return JobContext("jobwaiter-000000000001", MockTransport(rm.handler), started_at=JOB_START)


def test_spec_and_label() -> None:
    assert waiter().label == "yarn" and waiter("yarn[all]").label == "yarn[all]"
    with pytest.raises(SpecError, match=r"waiter 'yarn' takes one optional parameter"):
        waiter("yarn[some]")


def test_queries_every_type_scoped_by_the_jobs_start_and_ask_for_json() -> None:
    rm = FakeRM()
    waiter().check(job(rm), 0)
    info_url, active, ended = rm.urls
    assert info_url == "http://127.0.0.61:18688/ws/v1/cluster/info"
    begin = str(int(JOB_START * 1000) - 1000)
    assert parse_qs(urlparse(active).query) == {
        "states": ["NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"], "startedTimeBegin": [begin]}
    assert parse_qs(urlparse(ended).query) == {
        "states": ["FINISHED,FAILED,KILLED"], "startedTimeBegin": [begin]}
    rm.urls.clear()
    waiter("yarn[all]").check(job(rm), 0)
    assert parse_qs(urlparse(rm.urls[1]).query) == {
        "states": ["NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"]}
    assert parse_qs(urlparse(rm.urls[2]).query)["finishedTimeBegin"] == [begin]


def test_an_app_between_attempts_is_not_done_and_its_failure_is_named() -> None:
    rm, w = FakeRM(), waiter()
    for state in ("SUBMITTED", "ACCEPTED", "RUNNING", "ACCEPTED", "RUNNING"):
        rm.apps = [app(1, state, name="exit-3")]
        check = w.check(job(rm), 0)
        assert not check.done, state
        assert f"1 YARN application in progress: application_{RM_ID}_0001 (exit-3) {state}" \
            == check.detail
    rm.apps = [app(1, "FINISHED", "FAILED", name="exit-3", finished=30,
                   diagnostics="User application exited with status 3\nmore lines")]
    check = w.check(job(rm), 0)
    assert check.done and not check.ok
    assert check.detail == (f"1 YARN application did not succeed: application_{RM_ID}_0001 "
                            "(exit-3) FINISHED/FAILED: User application exited with status 3")


@pytest.mark.parametrize(("state", "final", "shown"), [
    ("KILLED", "KILLED", "KILLED"),
    ("FAILED", "FAILED", "FAILED"),
    ("FINISHED", "KILLED", "FINISHED/KILLED"),
    ("FINISHED", "UNDEFINED", "FINISHED/UNDEFINED"),
])
def test_only_finished_succeeded_succeeds(state: str, final: str, shown: str) -> None:
    rm = FakeRM()
    rm.apps = [app(1, "FINISHED", "SUCCEEDED", name="ok", finished=9),
               app(2, state, final, name="bad", finished=10, diagnostics="why")]
    check = waiter().check(job(rm), 0)
    assert check.done and not check.ok
    assert check.detail == (f"1 YARN application did not succeed: application_{RM_ID}_0002 "
                            f"(bad) {shown}: why")


def test_success_names_every_app_and_scope_leaves_older_ones_out() -> None:
    rm = FakeRM()
    rm.apps = [app(1, "RUNNING", name="older", started=-60),
               app(2, "FINISHED", "SUCCEEDED", name="mine", finished=9)]
    check = waiter().check(job(rm), 0)
    assert check.done and check.ok
    assert check.detail == f"1 YARN application succeeded: application_{RM_ID}_0002 (mine) " \
                           "FINISHED/SUCCEEDED"
    check = waiter("yarn[all]").check(job(rm), 0)
    assert not check.done and f"application_{RM_ID}_0001 (older) RUNNING" in check.detail


def test_no_app_in_scope_settles_before_success() -> None:
    now = [100.0]
    rm, w = FakeRM(), waiter(clock=lambda: now[0])
    assert w.check(job(rm), 0).detail == ("no YARN application in scope yet; looking 5s more "
                                          "for one still starting")
    now[0] += 5
    check = w.check(job(rm), 0)
    assert check.done and check.ok and check.detail == "no YARN application in scope"


def test_an_rm_that_does_not_answer_is_not_yet_never_done() -> None:
    rm, w = FakeRM(), waiter()
    rm.apps = [app(1, "RUNNING")]
    assert not w.check(job(rm), 0).done
    rm.down = True
    for _ in range(3):
        check = w.check(job(rm), 0)
        assert not check.done and "unreachable (Connection refused), retrying" in check.detail
    rm.down = False
    rm.info = info(state="STOPPED")
    assert not w.check(job(rm), 0).done


def test_an_rm_restarted_without_recovery_fails_the_wait() -> None:
    rm, w = FakeRM(), waiter()
    rm.apps = [app(1, "RUNNING")]
    assert not w.check(job(rm), 0).done
    rm.info, rm.apps = info(rm_id=RM_ID + 120_000), []
    check = w.check(job(rm), 0)
    assert check.done and not check.ok
    assert "restarted during the job" in check.detail and "without recovery" in check.detail
    # Started after the job began (the waiter never saw the one before): the same.
    check = waiter().check(job(rm), 0)
    assert check.done and not check.ok and "restarted during the job" in check.detail


def test_an_rm_with_a_state_store_may_restart_but_a_lost_app_still_fails() -> None:
    rm, w = FakeRM(), waiter()
    rm.apps = [app(1, "RUNNING", name="mine")]
    assert not w.check(job(rm), 0).done
    rm.info = info(rm_id=RM_ID + 120_000, store="FileSystemRMStateStore")
    assert not w.check(job(rm), 0).done  # it recovered the application
    rm.apps = []
    check = w.check(job(rm), 0)
    assert check.done and not check.ok
    assert f"application_{RM_ID}_0001 UNKNOWN: no longer listed by the ResourceManager" in \
        check.detail


def test_activity_counts_active_apps_of_every_type() -> None:
    rm = FakeRM()
    settings = YarnSettings(resource_manager="127.0.0.61:18688")
    assert yarn_activity(settings, "127.0.0.1", MockTransport(rm.handler)).state == IDLE
    rm.apps = [{**app(1, "ACCEPTED", name="mr"), "applicationType": "MAPREDUCE"}]
    activity = yarn_activity(settings, "127.0.0.1", MockTransport(rm.handler))
    assert activity.state == BUSY and "(mr) ACCEPTED" in activity.detail
    rm.down = True
    activity = yarn_activity(settings, "127.0.0.1", MockTransport(rm.handler))
    assert (activity.state, activity.detail) == (IDLE, "the YARN ResourceManager is not running")


@pytest.mark.parametrize(("section", "message"), [
    ({"hadoop_home": "/opt/hadoop", "jars": "/opt/jars"}, "set hadoop_home or jars, not both"),
    ({"heap": "lots"}, "heap must be a size such as 512m or 1g, not lots"),
    ({"resource_manager": "rm"}, "resource_manager must be host:port"),
    ({"conf_dir": "a b"}, "conf_dir must be a non-empty value without spaces"),
    ({"start_timeout": 0}, "start_timeout must be positive"),
])
def test_bad_settings_are_named(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        YarnSettings(**section)


def test_stop_commands_stop_the_nodemanager_before_the_resourcemanager() -> None:
    class Node:
        def __init__(self, id: str, is_head: bool) -> None:
            self.id, self.ip, self.is_head = id, "127.0.0.1", is_head
            self.transport = MockTransport(lambda a, i: (0, ""))

    runtime = YarnRuntime({"cluster_name": "c", "provider": {"type": "local"},
                           "runtime": {"types": ["yarn"]}})
    head, worker = Node("head", True), Node("w1", False)
    roles = [argv[4:6] for argv in runtime.stop_commands(head, [worker])]
    assert roles == [["stop", "nodemanager"], ["stop", "resourcemanager"]]
    assert [argv[4:6] for argv in runtime.stop_commands(worker, [worker])] == [
        ["stop", "nodemanager"]]
    assert runtime.rm == "127.0.0.1:8088"


def _answer(url: str, body: Any) -> Answer:
    return Answer(url, 200, json.dumps(body))


def test_status_needs_the_process_and_the_rms_word() -> None:
    nodes = {"nodes": {"node": [{"id": "127.0.0.61:18641", "nodeHostName": "127.0.0.61",
                                 "state": "RUNNING"}]}}
    rm = DaemonState("head", "127.0.0.1", "resourcemanager", True, 11)
    nm = DaemonState("head", "127.0.0.1", "nodemanager", True, 12)
    rows = health.yarn_status(rm, [nm], _answer("i", info()), _answer("n", nodes))
    assert [(r.component, r.state, r.detail) for r in rows] == [
        ("resourcemanager", UP, "pid 11; STARTED, ACTIVE, version 3.5.0"),
        ("nodemanager", UP, "pid 12; registered: 127.0.0.61:18641 RUNNING")]
    lost = {"nodes": {"node": [{"id": "127.0.0.61:18641", "nodeHostName": "127.0.0.61",
                                "state": "LOST"}]}}
    rows = health.yarn_status(rm, [nm], _answer("i", info()), _answer("n", lost))
    assert rows[1].state == UNKNOWN and "it lists 127.0.0.61:18641 LOST" in rows[1].detail
    stopped = DaemonState("head", "127.0.0.1", "resourcemanager", False)
    down = Answer("http://rm/ws/v1/cluster/info", error="Connection refused")
    rows = health.yarn_status(stopped, [nm], down, down)
    assert rows[0].state == DOWN and rows[1].state == UNKNOWN
    # Hadoop 3.5 omits an empty node list.
    assert health.nodes(_answer("n", {"nodes": {}})) == ([], "")
