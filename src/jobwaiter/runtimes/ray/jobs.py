"""Ray jobs as the dashboard's Jobs REST API reports them, and the verdict of one check.

Pure functions over ``GET /api/jobs/`` (a JSON list), so every rule here is tested without a
cluster. Each row has ``type`` (SUBMISSION: sent with ``ray job submit``; DRIVER: any
``ray.init()`` script), ``job_id``, ``submission_id`` (null for DRIVER rows), ``status``
(PENDING, RUNNING, STOPPED, SUCCEEDED, FAILED), ``message``, ``error_type``,
``driver_exit_code`` and ``start_time``/``end_time`` in Unix milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ACTIVE = frozenset({"PENDING", "RUNNING"})
FAILED = frozenset({"FAILED", "STOPPED"})

# A job that started up to this long before the job still counts as its own (the head's
# clock and the dashboard's are the same machine's, but the job's start is recorded first).
CLOCK_SLACK_MS = 1000


@dataclass(frozen=True)
class RayJob:
    kind: str  # SUBMISSION or DRIVER
    id: str  # the submission id, else the job id
    status: str
    start_ms: int | None = None
    message: str = ""
    error_type: str = ""
    exit_code: int | None = None  # None: unknown, never 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def describe(self) -> str:
        text = f"{self.id} {self.status}"
        if self.kind == "DRIVER":
            text += " (driver)"
        if self.failed:
            code = "unknown" if self.exit_code is None else str(self.exit_code)
            text += f" (error_type {self.error_type or '-'}, driver_exit_code {code})"
            message = self.message.strip().splitlines()
            if message:
                text += f": {message[0][:200]}"
        return text


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_jobs(answer: Any) -> list[RayJob]:
    """The jobs of a ``GET /api/jobs/`` answer; ValueError if it is not a list of jobs."""
    if not isinstance(answer, list):
        raise ValueError("the Jobs API did not answer a list")
    jobs = []
    for row in answer:
        if not isinstance(row, dict):
            raise ValueError("the Jobs API answered a list of something else than jobs")
        kind = str(row.get("type") or "SUBMISSION")
        ident = row.get("submission_id") or row.get("job_id") or "?"
        jobs.append(RayJob(
            kind, str(ident), str(row.get("status") or "UNKNOWN"), _int(row.get("start_time")),
            str(row.get("message") or ""), str(row.get("error_type") or ""),
            _int(row.get("driver_exit_code")),
        ))
    return jobs


@dataclass(frozen=True)
class Scope:
    """Which jobs a wait covers: every job (``all``), or those that started at or after
    ``since_ms`` plus the submission ids in ``ids``. With ``only_ids``, exactly ``ids``."""

    all: bool = False
    since_ms: int | None = None
    ids: tuple[str, ...] = ()
    only_ids: bool = False

    def covers(self, job: RayJob) -> bool:
        if self.all or job.id in self.ids:
            return True
        if self.only_ids:
            return False
        if self.since_ms is None:
            return job.active
        return job.start_ms is not None and job.start_ms >= self.since_ms - CLOCK_SLACK_MS


@dataclass(frozen=True)
class Verdict:
    """One check's answer: ``done`` and ``ok`` as a waiter's Check, with the detail."""

    done: bool
    ok: bool
    detail: str


def verdict(jobs: Iterable[RayJob], scope: Scope, seen: Iterable[str]) -> Verdict:
    """Done when no job in scope is PENDING or RUNNING; failed when one FAILED or was
    STOPPED, or when a job seen before (``seen``, or an expected id) is no longer listed:
    the dashboard lost its job list (a head restarted without external Redis), which tells
    nothing of how the job ended."""
    listed = [j for j in jobs if scope.covers(j)]
    active = [j for j in listed if j.active]
    if active:
        return Verdict(False, True, f"{plural(len(active), 'Ray job')} in progress: "
                                    f"{summary(active)}")
    present = {j.id for j in listed}
    missing = sorted((set(seen) | set(scope.ids)) - present)
    if missing:
        return Verdict(False, True, f"{plural(len(missing), 'Ray job')} not listed (yet or "
                                    f"any more): {', '.join(missing[:8])}")
    failed = [j for j in listed if j.failed]
    if failed:
        return Verdict(True, False, f"{plural(len(failed), 'Ray job')} did not succeed: "
                                    f"{summary(failed, limit=8)}")
    if not listed:
        return Verdict(True, True, "no Ray job in scope")
    return Verdict(True, True, f"{plural(len(listed), 'Ray job')} succeeded: "
                               f"{summary(listed)}")


def summary(jobs: list[RayJob], limit: int = 4) -> str:
    shown = ", ".join(j.describe() for j in jobs[:limit])
    more = len(jobs) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
