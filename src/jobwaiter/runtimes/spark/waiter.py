"""The ``spark`` waiter: done when no Spark application in scope is pending or running.

Each check is one request round from the head (see ``runtimes.http``); the wait loop paces the
checks and backs off. An engine that does not answer is "not yet" with the reason shown, never
"no applications, so done".

What it cannot see: on a standalone master, an application whose *client-mode* driver failed
is still reported FINISHED (the driver is the ``spark-submit`` process, whose exit status
the master never learns). Only the job's own status tells that story, when ``spark-submit``
runs in the foreground of the job. Cluster-mode drivers (REST submissions) report FAILED,
KILLED or ERROR, and the waiter fails on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from jobwaiter.errors import SpecError
from jobwaiter.runtimes.base import BUSY, IDLE, UNKNOWN, Activity, head_address, url_host
from jobwaiter.runtimes.http import Answer, fetch
from jobwaiter.runtimes.settle import SettleWindow
from jobwaiter.runtimes.spark.apps import (
    CLOCK_SLACK_MS,
    YARN_ACTIVE,
    YARN_ENDED,
    App,
    Scope,
    plural,
    standalone_apps,
    summary,
    yarn_apps,
)
from jobwaiter.runtimes.spark.settings import SparkSettings
from jobwaiter.transport.base import Transport
from jobwaiter.waiters.base import Check, JobContext, Waiter
from jobwaiter.waiters.spec import Spec

ALL = "all"


class SparkWaiter(Waiter):
    """Wait until no Spark application the job started is pending or running (spark[all]:
    none on the cluster); fail if one failed or was killed."""

    name = "spark"
    describe = ("wait until the Spark applications the job started have ended "
                "(spark[all]: every application on the cluster); fails if one failed")
    max_block: ClassVar[float] = 0.0

    def __init__(
        self,
        settings: SparkSettings,
        head: str,
        scope_all: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.head = head
        self.host = settings.master_host or head
        self.scope_all = scope_all
        self.clock = clock
        self._seen_active: set[str] = set()
        self.settle = SettleWindow(settings.settle_seconds, clock)

    @classmethod
    def create(cls, args: tuple[Spec, ...], config: dict[str, Any]) -> Waiter:
        if len(args) > 1 or any(a.name != ALL or a.args for a in args):
            given = ", ".join(str(a) for a in args)
            raise SpecError(f"waiter 'spark' takes one optional parameter, 'all' "
                            f"(spark[all]); got spark[{given}]")
        return cls(SparkSettings.from_config(config), head_address(config), scope_all=bool(args))

    @property
    def label(self) -> str:
        return f"{self.name}[{ALL}]" if self.scope_all else self.name

    # -- one check ---------------------------------------------------------------------------

    def check(self, job: JobContext, block: float) -> Check:
        self.settle.start()
        since_ms = None if job.started_at is None else int(job.started_at * 1000)
        scope = Scope(self.scope_all, since_ms)
        if self.settings.cluster_manager == "yarn":
            apps, problem = self._yarn(job, scope)
        else:
            apps, problem = self._standalone(job)
        if problem:
            return Check.pending(f"{problem}, retrying")
        verdict = self._verdict(job, [a for a in apps if scope.covers(a, self._seen_active)])
        return self.settle.hold(verdict, "Spark application")

    def _verdict(self, job: JobContext, apps: list[App]) -> Check:
        active = [a for a in apps if a.active]
        self._seen_active.update(a.id for a in active)
        if active:
            return Check.pending(f"{plural(len(active), 'Spark application')} in progress: "
                                 f"{summary(active)}")
        present = {a.id for a in apps}
        vanished = [App("app", i, "", "no longer listed by the engine (restarted?)",
                        False, True) for i in sorted(self._seen_active - present)]
        failed = [a for a in apps if a.failed] + vanished
        if failed:
            return Check.failure(f"{plural(len(failed), 'Spark application')} did not "
                                 f"succeed: {summary(self._explain(job, failed), limit=8)}")
        if not apps:
            return Check.success("no Spark application in scope")
        return Check.success(f"{plural(len(apps), 'Spark application')} succeeded: "
                             f"{summary(apps)}")

    # -- standalone --------------------------------------------------------------------------

    def _standalone(self, job: JobContext) -> tuple[list[App], str]:
        url = f"http://{url_host(self.host)}:{self.settings.web_ui_port}/json/"
        (answer,) = fetch(job.head, [url])
        status, problem = _json(answer, "Spark master")
        if problem:
            return [], problem
        if status.get("status", "ALIVE") != "ALIVE":
            return [], f"Spark master at {url} is {status.get('status')}"
        return standalone_apps(status), ""

    def _explain(self, job: JobContext, failed: list[App]) -> list[App]:
        """Add the REST submission server's message to failed drivers, where it is on."""
        drivers = [a for a in failed if a.kind == "driver"]
        if not drivers or self.settings.rest_port is None or \
                self.settings.cluster_manager != "standalone":
            return failed
        rest = f"{url_host(self.host)}:{self.settings.rest_port}"
        base = f"http://{rest}/v1/submissions/status/"
        try:
            answers = fetch(job.head, [base + quote(a.id) for a in drivers])
        except Exception:  # the message is a nicety; the failure stands
            return failed
        messages = {}
        for app, answer in zip(drivers, answers):
            data, _ = _json(answer, "REST submission server")
            message = str(data.get("message") or "").strip().splitlines()
            if message:
                messages[app.id] = message[0][:200]
        return [App(a.kind, a.id, a.name, a.state, a.active, a.failed, a.started_ms,
                    a.ended_ms, a.final_status, messages[a.id]) if a.id in messages else a
                for a in failed]

    # -- YARN --------------------------------------------------------------------------------

    def _yarn(self, job: JobContext, scope: Scope) -> tuple[list[App], str]:
        rm = self.settings.resource_manager or f"{url_host(self.head)}:8088"
        base = f"http://{rm}/ws/v1/cluster/apps?"
        active: dict[str, str] = {"states": ",".join(YARN_ACTIVE), "applicationTypes": "SPARK"}
        ended: dict[str, str] = {"states": ",".join(YARN_ENDED), "applicationTypes": "SPARK"}
        if scope.since_ms is not None:
            begin = str(scope.since_ms - CLOCK_SLACK_MS)
            if not scope.all:
                active["startedTimeBegin"] = begin
                ended["startedTimeBegin"] = begin
            else:
                ended["finishedTimeBegin"] = begin
        answers = fetch(job.head, [base + urlencode(active, safe=","),
                                   base + urlencode(ended, safe=",")])
        apps: list[App] = []
        for answer in answers:
            data, problem = _json(answer, "YARN ResourceManager")
            if problem:
                return [], problem
            apps += yarn_apps(data)
        return apps, ""


def spark_activity(settings: SparkSettings, head: str, transport: Transport) -> Activity:
    """Any Spark application (or cluster-mode driver) pending or running on the cluster."""
    host = settings.master_host or head
    if settings.cluster_manager == "yarn":
        rm = settings.resource_manager or f"{url_host(head)}:8088"
        query = urlencode({"states": ",".join(YARN_ACTIVE), "applicationTypes": "SPARK"},
                          safe=",")
        (answer,) = fetch(transport, [f"http://{rm}/ws/v1/cluster/apps?{query}"])
        what = "YARN ResourceManager"
    else:
        (answer,) = fetch(transport, [f"http://{url_host(host)}:{settings.web_ui_port}/json/"])
        what = "Spark master"
    if answer.refused:
        return Activity("spark", IDLE, f"the {what} is not running")
    data, problem = _json(answer, what)
    if problem:
        return Activity("spark", UNKNOWN, problem)
    if settings.cluster_manager != "yarn" and data.get("status", "ALIVE") != "ALIVE":
        # A standby or recovering master lists none or only some of the applications.
        return Activity("spark", UNKNOWN, f"{what} at {answer.url} is {data.get('status')}")
    apps = yarn_apps(data) if settings.cluster_manager == "yarn" else standalone_apps(data)
    active = [a for a in apps if a.active]
    if active:
        return Activity("spark", BUSY, f"{plural(len(active), 'Spark application')} in "
                                       f"progress: {summary(active)}")
    return Activity("spark", IDLE, "no Spark application in progress")


def _json(answer: Answer, what: str) -> tuple[dict[str, Any], str]:
    """The answer's JSON object, or why there is none."""
    problem = answer.problem()
    if problem:
        return {}, f"{what} at {answer.url} {problem}"
    try:
        data = answer.json()
    except ValueError:
        return {}, f"{what} at {answer.url} did not answer JSON"
    if not isinstance(data, dict):
        return {}, f"{what} at {answer.url} answered something unexpected"
    return data, ""
