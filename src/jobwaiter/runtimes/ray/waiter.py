"""The ``ray`` waiter: done when no Ray job in scope is PENDING or RUNNING.

Each check is one request from the head (see ``runtimes.http``); the wait loop paces the
checks. A dashboard that does not answer, or a job list that lost jobs seen before, is "not
yet" with the reason shown, never "no jobs, so done".

Scope: the submission ids ``submit --runtime ray`` recorded for the job (``ray-jobs`` in its
record), exactly, when there are any; else the jobs started since the job's start, held for
the settle window (see ``runtimes.settle``): a ``ray.init()`` driver sent to the background
registers a few seconds after the job has exited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from jobwaiter.errors import SpecError
from jobwaiter.records import record_dir
from jobwaiter.runtimes.base import BUSY, IDLE, UNKNOWN, Activity, head_address, url_host
from jobwaiter.runtimes.http import fetch
from jobwaiter.runtimes.ray.jobs import Scope, parse_jobs, plural, summary, verdict
from jobwaiter.runtimes.ray.settings import RaySettings
from jobwaiter.runtimes.settle import SettleWindow
from jobwaiter.transport.base import Transport
from jobwaiter.waiters.base import Check, JobContext, Waiter
from jobwaiter.waiters.spec import Spec

ALL = "all"
#: The file in the job's record where submit --runtime ray appends its submission id.
CAPTURED = "ray-jobs"
#: Prints the captured ids, one a line; nothing when there are none; fails if unreadable.
READ_CAPTURED = '[ ! -e "$1" ] || cat -- "$1"'


class RayWaiter(Waiter):
    """Wait until no Ray job the job started is pending or running (ray[all]: none on the
    cluster; ray[ID, ...]: exactly those submission ids); fail if one failed or stopped."""

    name = "ray"
    describe = ("wait until the Ray jobs the job started have ended "
                "(ray[all]: every job on the cluster); fails if one failed or was stopped")
    max_block: ClassVar[float] = 0.0

    def __init__(self, settings: RaySettings, head: str, scope_all: bool = False,
                 ids: tuple[str, ...] = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.url = f"http://{url_host(head)}:{settings.dashboard_port}/api/jobs/"
        self.scope_all = scope_all
        self.ids = ids
        self._seen: set[str] = set()
        self._captured: tuple[str, ...] | None = None  # read once, after the job's end
        self.settle = SettleWindow(settings.settle_seconds, clock)

    @classmethod
    def create(cls, args: tuple[Spec, ...], config: dict[str, Any]) -> Waiter:
        if any(a.args for a in args) or (len(args) > 1 and any(a.name == ALL for a in args)):
            given = ", ".join(str(a) for a in args)
            raise SpecError(f"waiter 'ray' takes 'all' or submission ids (ray[all], "
                            f"ray[ID, ...]); got ray[{given}]")
        scope_all = bool(args) and args[0].name == ALL
        ids = () if scope_all else tuple(a.name for a in args)
        return cls(RaySettings.from_config(config), head_address(config), scope_all, ids)

    @property
    def label(self) -> str:
        if self.scope_all:
            return f"{self.name}[{ALL}]"
        return f"{self.name}[{', '.join(self.ids)}]" if self.ids else self.name

    def _read_captured(self, job: JobContext) -> str:
        """The submission ids the job recorded (once: the job has ended when this runs)."""
        if self._captured is not None or self.ids or self.scope_all:
            return ""
        path = f"{record_dir(job.name)}/{CAPTURED}"
        result = job.head.run(["bash", "-c", READ_CAPTURED, "jw", path], idempotent=True,
                              timeout=30)
        if not result.ok:
            return f"reading {path} on the head failed ({result.exit_status}): {result.tail(1)}"
        self._captured = tuple(dict.fromkeys(w for w in result.stdout.split() if w))
        return ""

    def check(self, job: JobContext, block: float) -> Check:
        self.settle.start()
        problem = self._read_captured(job)
        if problem:
            return Check.pending(f"{problem}, retrying")
        (answer,) = fetch(job.head, [self.url])
        problem = answer.problem()
        if problem:
            return Check.pending(f"Ray dashboard at {self.url} {problem}, retrying")
        try:
            jobs = parse_jobs(answer.json())
        except ValueError as exc:
            return Check.pending(f"Ray dashboard at {self.url}: {exc}, retrying")
        since = None if job.started_at is None else int(job.started_at * 1000)
        ids = self.ids or self._captured or ()
        scope = Scope(self.scope_all, since, ids, only_ids=bool(ids))
        result = verdict(jobs, scope, self._seen)
        self._seen.update(j.id for j in jobs if scope.covers(j))
        if not result.done:
            return Check.pending(result.detail)
        if not result.ok:
            return Check.failure(result.detail)
        if scope.only_ids:  # every id is listed and ended: nothing is still to register
            return Check.success(result.detail)
        return self.settle.hold(Check.success(result.detail), "Ray job")


def ray_activity(settings: RaySettings, head: str, transport: Transport) -> Activity:
    """Any Ray job pending or running on the cluster (the Jobs API's list)."""
    url = f"http://{url_host(head)}:{settings.dashboard_port}/api/jobs/"
    (answer,) = fetch(transport, [url])
    if answer.refused:
        return Activity("ray", IDLE, "the Ray dashboard is not running")
    problem = answer.problem()
    if problem:
        return Activity("ray", UNKNOWN, f"Ray dashboard at {url} {problem}")
    try:
        jobs = parse_jobs(answer.json())
    except ValueError as exc:
        return Activity("ray", UNKNOWN, f"Ray dashboard at {url}: {exc}")
    active = [j for j in jobs if j.active]
    if active:
        return Activity("ray", BUSY, f"{plural(len(active), 'Ray job')} in progress: "
                                     f"{summary(active)}")
    return Activity("ray", IDLE, "no Ray job in progress")
