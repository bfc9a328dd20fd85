"""The ``yarn`` waiter: done when no YARN application in scope (of any type: Spark, MapReduce,
Flink, ...) is pending or running, and every one of them succeeded.

Each check is one request round from the head (see ``runtimes.http``): the ResourceManager's
``/ws/v1/cluster/info`` and its application lists; the wait loop paces the checks. The
applications are read with the Spark waiter's YARN parsing (``runtimes.spark.apps``), so the
two agree on what "done" and "failed" mean.

Never a success on a guess: a ResourceManager that does not answer is "not yet"; one that
restarted during the wait without a state store has forgotten the applications it ran
before, so the wait fails; an application seen active that the ResourceManager no longer
lists fails too. An application back in ACCEPTED for another attempt is still active.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from jobwaiter.errors import SpecError
from jobwaiter.runtimes.base import BUSY, IDLE, UNKNOWN, Activity, head_address, url_host
from jobwaiter.runtimes.http import Answer, fetch
from jobwaiter.runtimes.spark.apps import (
    CLOCK_SLACK_MS,
    YARN_ACTIVE,
    YARN_ENDED,
    App,
    Scope,
    plural,
    summary,
    yarn_apps,
)
from jobwaiter.runtimes.yarn.settings import YarnSettings
from jobwaiter.transport.base import Transport
from jobwaiter.waiters.base import Check, JobContext, Waiter
from jobwaiter.waiters.spec import Spec

ALL = "all"
WHAT = "YARN ResourceManager"
#: The state store of a ResourceManager that keeps nothing across a restart.
NULL_STORE = "NullRMStateStore"


def rm_address(settings: YarnSettings, head: str) -> str:
    """The ResourceManager's web address ``host:port``."""
    return settings.resource_manager or f"{url_host(head)}:8088"


class YarnWaiter(Waiter):
    """Wait until no YARN application the job started is pending or running (yarn[all]: none
    on the cluster); fail if one failed, was killed or ended without a final status."""

    name = "yarn"
    describe = ("wait until the YARN applications the job started have ended "
                "(yarn[all]: every application on the cluster); fails if one did not succeed")
    max_block: ClassVar[float] = 0.0

    def __init__(
        self,
        settings: YarnSettings,
        head: str,
        scope_all: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.rm = rm_address(settings, head)
        self.scope_all = scope_all
        self.clock = clock
        self._seen_active: set[str] = set()
        self._first_empty: float | None = None
        self._rm_id: str | None = None

    @classmethod
    def create(cls, args: tuple[Spec, ...], config: dict[str, Any]) -> Waiter:
        if len(args) > 1 or any(a.name != ALL or a.args for a in args):
            given = ", ".join(str(a) for a in args)
            raise SpecError(f"waiter 'yarn' takes one optional parameter, 'all' "
                            f"(yarn[all]); got yarn[{given}]")
        return cls(YarnSettings.from_config(config), head_address(config), scope_all=bool(args))

    @property
    def label(self) -> str:
        return f"{self.name}[{ALL}]" if self.scope_all else self.name

    def check(self, job: JobContext, block: float) -> Check:
        since_ms = None if job.started_at is None else int(job.started_at * 1000)
        scope = Scope(self.scope_all, since_ms)
        base = f"http://{self.rm}/ws/v1/cluster/"
        active: dict[str, str] = {"states": ",".join(YARN_ACTIVE)}
        ended: dict[str, str] = {"states": ",".join(YARN_ENDED)}
        if since_ms is not None:
            begin = str(since_ms - CLOCK_SLACK_MS)
            if not scope.all:
                active["startedTimeBegin"] = begin
                ended["startedTimeBegin"] = begin
            else:
                ended["finishedTimeBegin"] = begin
        answers = fetch(job.head, [base + "info",
                                   base + "apps?" + urlencode(active, safe=","),
                                   base + "apps?" + urlencode(ended, safe=",")])
        info, problem = _json(answers[0])
        if problem:
            return Check.pending(f"{problem}, retrying")
        cluster = info.get("clusterInfo")
        if not isinstance(cluster, Mapping):
            return Check.pending(f"{WHAT} at {answers[0].url} answered without clusterInfo, "
                                 "retrying")
        if cluster.get("state") != "STARTED" or cluster.get("haState", "ACTIVE") != "ACTIVE":
            return Check.pending(f"{WHAT} is {cluster.get('state')}/{cluster.get('haState')},"
                                 " retrying")
        restarted = self._restarted(cluster, since_ms)
        if restarted:
            return Check.failure(restarted)
        apps: list[App] = []
        for answer in answers[1:]:
            data, problem = _json(answer)
            if problem:
                return Check.pending(f"{problem}, retrying")
            apps += yarn_apps(data)
        return self._verdict([a for a in apps if scope.covers(a, self._seen_active)])

    def _restarted(self, cluster: Mapping[str, Any], since_ms: int | None) -> str:
        """Why the ResourceManager cannot be trusted about the job's applications: it
        restarted during the wait (or after the job began) and keeps no state across
        restarts. "" when it can be."""
        rm_id = str(cluster.get("id", ""))
        started = cluster.get("startedOn")
        before, self._rm_id = self._rm_id, self._rm_id or rm_id
        changed = before is not None and rm_id != before
        late = (since_ms is not None and isinstance(started, int)
                and started > since_ms + CLOCK_SLACK_MS)
        if not (changed or late):
            return ""
        if NULL_STORE not in str(cluster.get("rmStateStoreName", NULL_STORE)):
            return ""  # it recovers its applications; a missing one still fails below
        when = time.strftime("%H:%M:%S", time.localtime(started / 1000)) \
            if isinstance(started, int) else "?"
        return (f"the {WHAT} at {self.rm} restarted during the job (at {when}) without "
                "recovery: it no longer knows the applications the job ran before")

    def _verdict(self, apps: list[App]) -> Check:
        active = [a for a in apps if a.active]
        self._seen_active.update(a.id for a in active)
        if active:
            self._first_empty = None
            return Check.pending(f"{plural(len(active), 'YARN application')} in progress: "
                                 f"{summary(active)}")
        present = {a.id for a in apps}
        vanished = [App("app", i, "", "UNKNOWN", False, True,
                        message="no longer listed by the ResourceManager (restarted?)")
                    for i in sorted(self._seen_active - present)]
        failed = [a for a in apps if a.failed] + vanished
        if failed:
            return Check.failure(f"{plural(len(failed), 'YARN application')} did not "
                                 f"succeed: {summary(failed, limit=8)}")
        if not apps:
            now = self.clock()
            if self._first_empty is None:
                self._first_empty = now
            left = self.settings.settle_seconds - (now - self._first_empty)
            if left > 0:
                return Check.pending(f"no YARN application in scope yet; looking {left:.0f}s "
                                     "more for one still starting")
            return Check.success("no YARN application in scope")
        return Check.success(f"{plural(len(apps), 'YARN application')} succeeded: "
                             f"{summary(apps)}")


def yarn_activity(settings: YarnSettings, head: str, transport: Transport) -> Activity:
    """Any YARN application pending or running on the cluster (autostop's question)."""
    query = urlencode({"states": ",".join(YARN_ACTIVE)}, safe=",")
    (answer,) = fetch(transport, [f"http://{rm_address(settings, head)}/ws/v1/cluster/apps?"
                                  f"{query}"])
    if answer.refused:
        return Activity("yarn", IDLE, f"the {WHAT} is not running")
    data, problem = _json(answer)
    if problem:
        return Activity("yarn", UNKNOWN, problem)
    active = [a for a in yarn_apps(data) if a.active]
    if active:
        return Activity("yarn", BUSY, f"{plural(len(active), 'YARN application')} in "
                                      f"progress: {summary(active)}")
    return Activity("yarn", IDLE, "no YARN application in progress")


def _json(answer: Answer) -> tuple[dict[str, Any], str]:
    """The answer's JSON object, or why there is none."""
    problem = answer.problem()
    if problem:
        return {}, f"{WHAT} at {answer.url} {problem}"
    try:
        data = answer.json()
    except ValueError:
        return {}, f"{WHAT} at {answer.url} did not answer JSON"
    if not isinstance(data, dict):
        return {}, f"{WHAT} at {answer.url} answered something unexpected"
    return data, ""
