"""A job end to end: resolve waiters, launch, wait, stop, and build the result."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from jobwaiter.errors import (
    CommandError,
    ConnectionLost,
    JobwaiterError,
    TransportError,
    UsageError,
)
from jobwaiter.jobs.request import JobRequest
from jobwaiter.jobs.result import JobResult, Outcome, StopReport
from jobwaiter.records import JobRecord, log_path, new_name
from jobwaiter.records.read import read_records
from jobwaiter.runtimes import runtime_names
from jobwaiter.sessions import launch_argv, launch_input, survivors_argv
from jobwaiter.waiters.base import JobContext, Waiter
from jobwaiter.waiters.loop import (
    FAILED,
    LOST,
    SUCCEEDED,
    TIMEOUT,
    UNREACHABLE,
    WaitLoop,
    WaitReport,
)
from jobwaiter.waiters.registry import resolve
from jobwaiter.waiters.session import session_waiter

if TYPE_CHECKING:
    from jobwaiter.cluster.cluster import Cluster


def plan_waiters(cluster: Cluster, req: JobRequest) -> list[Waiter]:
    """The waiters to run, with the session's own waiter first; raises UsageError/SpecError
    for every problem, before anything runs."""
    if req.job_waiter is None:
        return []
    waiters = resolve(req.job_waiter, cluster.config_dict, cluster.runtime_waiters(),
                      req.timeout, known_runtimes=runtime_names())
    for w in waiters:
        if w.session_kind is not None and w.session_kind != req.session:
            where = f"--{req.session}" if req.session else "a foreground job"
            raise UsageError(f"the {w.session_kind} waiter needs --{w.session_kind}, "
                             f"not {where}")
    if req.session and not (waiters and waiters[0].session_kind == req.session):
        # An engine waiter must not look before the job in the session has submitted anything.
        waiters.insert(0, session_waiter(req.session))
    return waiters


def job_meta(name: str, req: JobRequest, cluster: str, log: str = "", **extra: object) -> str:
    """The record's ``meta.json``: what was started, for ``wait`` and ``jobs`` later."""
    return json.dumps({
        "name": name, "session": req.session, "command": req.command,
        "spec": req.job_waiter, "log": log or None, "stop": req.stop,
        "created_at": time.time(), "cluster": cluster, **extra,
    })  # fmt: skip


def run_job(
    cluster: Cluster,
    req: JobRequest,
    loop: WaitLoop | None = None,
    waiters: list[Waiter] | None = None,
) -> JobResult:
    """Launch the job and wait for it; ``waiters`` are those ``plan_waiters`` built (built
    here when None)."""
    waiters = plan_waiters(cluster, req) if waiters is None else waiters
    report = cluster.reporter
    head = cluster.head
    name = new_name()
    hold = req.session is not None and not waiters
    use_log = req.job_log or (req.session is not None and bool(waiters))
    log = log_path(name) if use_log else ""
    stop_script = cluster.stop_script() if (req.stop and hold) else ""
    if stop_script and cluster.workers_need_stopping():
        report.warn("--stop inside the session runs only the head's stop commands; "
                    "use a --job-waiter to stop the workers too")
    meta = job_meta(name, req, cluster.name, log)
    argv = launch_argv(name, req.session or "foreground", stop_script, log,
                       tee=req.session is None and use_log, hold=hold)
    stdin = launch_input(req.command_bytes(), meta, req.env_bytes())
    base = JobResult(Outcome.STARTED, name, session=name if req.session else None,
                     session_kind=req.session, log_path=f"~/{log}" if log else None)

    if req.session is None:
        report.phase(f"running on {head.node} (job {name})")
        if log:
            report.phase(f"log: ~/{log}")
        # Output goes straight to ours; the record tells how it ended.
        try:
            ran = head.run(argv, input=stdin, capture=False)
        except ConnectionLost as exc:
            return _maybe_stop(cluster, _lost_contact(base, exc), req)
        record = _read_record(cluster, name)
        if record.pid is None:
            # The wrapper never started: nothing ran (its error went to our stderr).
            return replace(base, outcome=Outcome.LAUNCH_FAILED,
                           message=f"the job could not be started (exit status "
                                   f"{ran.exit_status}); nothing ran")
        result = _foreground_result(base, record)
        if result.outcome is Outcome.SUCCEEDED and waiters:
            return finish_wait(cluster, result, waiters, req, loop, record.started_at)
        return _maybe_stop(cluster, result, req)

    try:
        launched = head.run(argv, input=stdin)
    except ConnectionLost as exc:
        # The launch may have gone through: say which job to look for, never "not started".
        return _maybe_stop(cluster, _lost_contact(base, exc), req)
    if not launched.ok:
        why = launched.tail(3).replace("\n", "; ") or f"exit status {launched.exit_status}"
        return replace(base, outcome=Outcome.LAUNCH_FAILED, session=None,
                       message=f"the {req.session} session could not be started: {why}")
    started_at = _started_at(launched.stdout)
    base = replace(base, started_at=started_at)
    attach = shlex.join(cluster.attach_command(req.session, name))
    report.phase(f"started {req.session} session {name}")
    report.phase(f"attach: {attach}")
    if log:
        report.phase(f"log: ~/{log}")
    if hold:
        if req.stop:
            report.phase("the cluster will be stopped inside the session when the job ends")
        return replace(base, message=f"started in {req.session} session {name}")
    return finish_wait(cluster, base, waiters, req, loop, started_at)


def _lost_contact(base: JobResult, exc: ConnectionLost) -> JobResult:
    return replace(base, outcome=Outcome.UNREACHABLE,
                   message=f"the job's state is unknown: {exc}")


def _started_at(stdout: str) -> float | None:
    words = stdout.split()
    try:
        return float(words[2]) if len(words) >= 3 and words[0] == "started" else None
    except ValueError:
        return None


def _read_record(cluster: Cluster, name: str) -> JobRecord:
    records = read_records(cluster.head, [name])
    return records[0] if records else JobRecord(name)


def _foreground_result(base: JobResult, record: JobRecord) -> JobResult:
    base = replace(base, started_at=record.started_at, ended_at=record.ended_at,
                   exit_status=record.exit_status)
    if record.problem:
        return replace(base, outcome=Outcome.LOST,
                       message=f"the job's record is corrupt ({record.problem})")
    if record.exit_status is None:
        if record.survivors:
            return replace(base, outcome=Outcome.LOST_RUNNING,
                           message=f"the job ended without recording an exit status, and "
                                   f"{record.survivors} process(es) of it still run")
        return replace(base, outcome=Outcome.LOST,
                       message="the job ended without recording an exit status")
    if record.exit_status != 0:
        return replace(base, outcome=Outcome.FAILED,
                       message=f"the job exited with status {record.exit_status}")
    return replace(base, outcome=Outcome.SUCCEEDED, message="the job exited with status 0")


def finish_wait(
    cluster: Cluster,
    base: JobResult,
    waiters: list[Waiter],
    req: JobRequest,
    loop: WaitLoop | None,
    started_at: float | None,
) -> JobResult:
    """Run the waiters, then stop the cluster if asked and the job's end is known."""
    job = JobContext(
        name=base.job, head=cluster.head, config=cluster.config_dict, session=req.session,
        command=req.command, started_at=started_at, nodes=cluster.node_transports(),
    )  # fmt: skip
    loop = loop or WaitLoop(progress=cluster.reporter.progress)
    cluster.reporter.phase("waiting for " + ", ".join(w.label for w in waiters))
    try:
        report = loop.run(waiters, job, req.timeout)
    except KeyboardInterrupt:
        return replace(base, outcome=Outcome.INTERRUPTED,
                       message="interrupted while waiting; the job keeps running")
    return _maybe_stop(cluster, _from_report(base, report), req)


def _from_report(base: JobResult, report: WaitReport) -> JobResult:
    waiters = report.outcomes
    status = base.exit_status
    ended = base.ended_at
    for o in report.outcomes:
        if o.exit_status is not None or o.state == LOST:
            status, ended = o.exit_status, o.ended_at or ended
    result = replace(base, waiters=waiters, exit_status=status, ended_at=ended)
    state = report.state
    failing = next((o for o in report.outcomes if o.state != SUCCEEDED), None)
    detail = failing.detail if failing else ""
    if state == SUCCEEDED:
        return replace(result, outcome=Outcome.SUCCEEDED, message="the job and its waiters "
                       "succeeded")
    if state == LOST:
        alive = failing is not None and failing.survivors > 0
        return replace(result, outcome=Outcome.LOST_RUNNING if alive else Outcome.LOST,
                       message=detail)
    if state == TIMEOUT:
        return replace(result, outcome=Outcome.TIMEOUT, message=detail)
    if state == UNREACHABLE:
        return replace(result, outcome=Outcome.UNREACHABLE, message=detail)
    if state == FAILED and failing is not None and failing.exit_status not in (None, 0):
        return replace(result, outcome=Outcome.FAILED, message=detail)
    return replace(result, outcome=Outcome.WAITER_FAILED,
                   message=f"{failing.name if failing else 'waiter'}: {detail}")


_STOP_AFTER = (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.LOST, Outcome.WAITER_FAILED)


def _unless_survivors(cluster: Cluster, result: JobResult) -> JobResult:
    """Lost is not ended: look once more, right before a stop, for processes of the job."""
    try:
        answer = cluster.head.run(survivors_argv(result.job), idempotent=True, timeout=60)
    except TransportError as exc:
        return replace(result, outcome=Outcome.LOST_RUNNING,
                       message=f"{result.message}; cannot tell whether processes of the job "
                               f"still run ({exc})")
    words = answer.stdout.split()
    if answer.ok and len(words) == 2 and words[0] == "alive" and words[1] == "0":
        return result
    alive = words[1] if len(words) == 2 and words[1].isdigit() else "some"
    return replace(result, outcome=Outcome.LOST_RUNNING,
                   message=f"{result.message}; {alive} process(es) of the job still run")


def _maybe_stop(cluster: Cluster, result: JobResult, req: JobRequest) -> JobResult:
    """--stop runs once the job's end is known, whatever it was; never after a timeout, an
    interrupt or an unreachable head, where the job may still be running."""
    if not req.stop:
        return result
    if result.outcome is Outcome.LOST:
        result = _unless_survivors(cluster, result)
    if result.outcome not in _STOP_AFTER:
        cluster.reporter.warn(f"not stopping the cluster: the job's outcome is {result.outcome}")
        return replace(result, stop=StopReport.declined(str(result.outcome)))
    others = [r.name for r in read_records(cluster.head) if r.alive and r.name != result.job]
    if others and not cluster.confirm(
        f"other jobs are still running on cluster {cluster.name} ({', '.join(others)}); "
        "stop it anyway"
    ):
        cluster.reporter.warn(f"not stopping the cluster: {len(others)} other job(s) running")
        return replace(result, stop=StopReport.declined("other jobs running: "
                                                        + ", ".join(others)))
    cluster.reporter.phase(f"stopping cluster {cluster.name}")
    try:
        lines = cluster.stop()
    except (CommandError, TransportError) as exc:
        stop = StopReport(True, False, str(exc))
        if result.outcome is Outcome.SUCCEEDED:
            return replace(result, outcome=Outcome.STOP_FAILED, stop=stop,
                           message=f"the job succeeded but stopping the cluster failed: {exc}")
        return replace(result, stop=stop)
    except JobwaiterError:
        raise
    return replace(result, stop=StopReport(True, True, "; ".join(lines)))
