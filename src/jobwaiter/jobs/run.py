"""A planned job end to end: launch, wait, stop, and build the result."""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from jobwaiter.errors import ConnectionLost, TransportError
from jobwaiter.jobs import watch
from jobwaiter.jobs.plan import JobPlan
from jobwaiter.jobs.result import JobResult, Outcome
from jobwaiter.jobs.site import JobSite
from jobwaiter.jobs.stop import stop_after
from jobwaiter.records import JobRecord
from jobwaiter.records.layout import signal_name
from jobwaiter.records.read import read_records
from jobwaiter.sessions import launch_argv, launch_input, session_kind, waited_argv
from jobwaiter.waiters.base import JobContext
from jobwaiter.waiters.loop import WaitLoop, WaitReport

if TYPE_CHECKING:
    from jobwaiter.jobs.request import JobRequest  # its typing helpers need not exist on the head


def run_job(
    site: JobSite,
    req: JobRequest,
    plan: JobPlan,
    loop: WaitLoop | None = None,
    head_watch: watch.HeadWatch | None = None,
) -> JobResult:
    """Launch the job ``plan_job`` planned for ``req`` and wait for it; ``req`` gives what
    the plan leaves out (the ``--env`` values). With ``head_watch`` (``watch.setup``), the
    launch hands the job to the head's watch and the client follows it."""
    report = site.reporter
    watch_path = head_watch.path if head_watch is not None else None
    notify = watch.notify_of(req)
    order = "" if head_watch is None or plan.session is None else json.dumps(
        watch.order(plan, site, head_watch.workers, notify))
    head = site.head
    name = plan.name
    log = plan.log or ""
    stop_script = ""
    if plan.stop is not None and plan.stop_in_session and watch_path is None:
        stop_script = plan.stop.head.script()
        if plan.stop.reaches_workers:
            report.warn("--stop inside the session runs only the head's stop commands; "
                        "use a --job-waiter to stop the workers too")
    argv = launch_argv(name, plan.session or "foreground", stop_script, log, tee=plan.tee,
                       hold=plan.hold, lib=(watch_path or "") if order else "")
    stdin = launch_input(req.command_bytes(), json.dumps(plan.meta(time.time())),
                         req.env_bytes(), order)
    base = JobResult(Outcome.STARTED, name, session=name if plan.session else None,
                     session_kind=plan.session, log_path=f"~/{log}" if log else None)

    if plan.session is None:
        report.phase(f"running on {head.node} (job {name})")
        if log:
            report.phase(f"log: ~/{log}")
        # Output goes straight to ours; the record tells how it ended.
        try:
            ran = head.run(argv, input=stdin, capture=False)
        except ConnectionLost as exc:
            return stop_after(site, plan.stop, _lost_contact(base, exc))
        record = read_record(site, name)
        if record.pid is None:
            # The wrapper never started: nothing ran (its error went to our stderr).
            return replace(base, outcome=Outcome.LAUNCH_FAILED,
                           message=f"the job could not be started (exit status "
                                   f"{ran.exit_status}); nothing ran")
        result = record_result(base, record)
        if result.outcome is Outcome.SUCCEEDED and plan.waiters:
            return finish_wait(site, plan, result, loop, record.started_at)
        return stop_after(site, plan.stop, result)

    try:
        launched = head.run(argv, input=stdin)
    except ConnectionLost as exc:
        # The launch may have gone through: say which job to look for, never "not started".
        return stop_after(site, plan.stop, _lost_contact(base, exc))
    if not launched.ok:
        why = launched.tail(3).replace("\n", "; ") or f"exit status {launched.exit_status}"
        return replace(base, outcome=Outcome.LAUNCH_FAILED, session=None,
                       message=f"the {plan.session} session could not be started: {why}")
    started_at = _started_at(launched.stdout)
    base = replace(base, started_at=started_at)
    attach = [*site.node.shell_prefix, *session_kind(plan.session).attach_argv(name)]
    report.phase(f"started {plan.session} session {name}")
    report.phase(f"attach: {shlex.join(attach)}")
    if log:
        report.phase(f"log: ~/{log}")
    if head_watch is not None:
        return watched(site, plan, base, head_watch.path, req.detach, loop, notify=notify,
                       workers=head_watch.workers, head_only=watch.mode_of(req.watch, site)
                       == "head")
    if plan.hold:
        if plan.stop is not None:
            report.phase("the cluster will be stopped inside the session when the job ends")
        return replace(base, message=f"started in {plan.session} session {name}")
    return finish_wait(site, plan, base, loop, started_at)


#: How long past --job-timeout a client following the head's watch still waits for its result.
FOLLOW_BACKSTOP = 3.0


def watched(
    site: JobSite,
    plan: JobPlan,
    base: JobResult,
    path: str,
    detach: bool,
    loop: WaitLoop | None,
    follow_for: float | None = None,
    notify: dict[str, Any] | None = None,
    workers: list[dict[str, Any]] | None = None,
    head_only: bool = False,
) -> JobResult:
    """Arm the head's watch of a started job, then return (``detach``, or a session without
    a waiter: nothing to wait for) or follow it. A watcher that does not take the job leaves
    the waiting to this client; a watch that ends without a result (the watcher was killed)
    is armed again once."""
    for attempt in (1, 2):
        try:
            pid = watch.arm(site, path, plan, notify, workers)
        except KeyboardInterrupt:
            return replace(base, outcome=Outcome.INTERRUPTED,
                           message="interrupted while handing the job to the head's watch; "
                                   "the job keeps running (the head may be watching it)")
        except TransportError as exc:
            if detach:
                return replace(base, outcome=Outcome.UNREACHABLE,
                               message=f"the job's state is unknown: {exc} (the head may be "
                                       "watching it)")
            # The order may have reached the head: follow it as if it had (a watch that
            # does not exist is reported as such, and armed again below).
            site.reporter.warn(f"lost the head while arming its watch ({exc}); following it")
            pid = "?"
        except watch.WatchUnavailable as exc:
            if detach or head_only:
                return replace(base, outcome=Outcome.ERROR,
                               message=f"the job runs, but the head's watcher did not "
                                       f"confirm that it watches it: {exc}")
            site.reporter.warn(f"the head's watcher did not take the job ({exc}); this "
                               "client waits for it")
            break
        if pid == "done":
            site.reporter.phase(f"the head has watched job {plan.name} to its end")
        elif pid != "?":
            site.reporter.phase(f"the head watches job {plan.name} (watcher pid {pid})")
            if plan.stop:  # a line of its own: one line of both would not fit 80 columns
                site.reporter.phase("the head stops the cluster after the job, once nothing "
                                    "else runs")
        if detach:
            return watch.detached(base, pid)
        if plan.hold:
            return replace(base, message=f"started in {plan.session} session {plan.name}; "
                                         "the head stops the cluster when it ends")
        # The head enforces --job-timeout; the client's own bound is only a backstop for a
        # head it cannot reach.
        backstop = None if plan.timeout is None else plan.timeout + FOLLOW_BACKSTOP
        followed = follow_job(site, path, plan, base,
                              follow_for if follow_for is not None else backstop)
        if followed.result is not None and not followed.unwatched:
            return followed.result
        site.reporter.warn(f"the head's watch of {plan.name} ended without a result: "
                           f"{followed.unwatched}" + ("; arming it again" if attempt == 1
                                                      else ""))
    if plan.hold:
        return replace(base, message=f"started in {plan.session} session {plan.name}")
    return finish_wait(site, plan, base, loop, base.started_at)


def follow_job(
    site: JobSite, path: str, plan: JobPlan, base: JobResult, follow_for: float | None
) -> watch.Followed:
    """Follow one job's watch on the head; a timeout, an interrupt or a lost connection end
    the following (as a result saying so), never the head's watch."""
    got: dict[str, watch.Followed] = {}
    deadline = None if follow_for is None else time.monotonic() + follow_for
    keeps = "the head keeps watching the job" + (
        " and stops the cluster when it ends" if plan.stop else "")
    try:
        site.reporter.phase("waiting for " + ", ".join(s.spec for s in plan.waiters)
                            + " (on the head)")
        left = watch.follow(site, path, [plan.name], got.__setitem__, deadline)
    except TransportError as exc:
        return watch.Followed(replace(base, outcome=Outcome.UNREACHABLE,
                                      message=f"the job's state is unknown: the head cannot "
                                              f"be reached ({exc}); {keeps}"), from_head=False)
    except KeyboardInterrupt:
        return watch.Followed(replace(base, outcome=Outcome.INTERRUPTED,
                                      message=f"stopped following; {keeps}"), from_head=False)
    if left:
        return watch.Followed(replace(base, outcome=Outcome.TIMEOUT,
                                      message=f"stopped following (--job-timeout); {keeps}"),
                              from_head=False)
    return got[plan.name]


def _lost_contact(base: JobResult, exc: ConnectionLost) -> JobResult:
    return replace(base, outcome=Outcome.UNREACHABLE,
                   message=f"the job's state is unknown: {exc}")


def _started_at(stdout: str) -> float | None:
    words = stdout.split()
    try:
        return float(words[2]) if len(words) >= 3 and words[0] == "started" else None
    except ValueError:
        return None


def read_record(site: JobSite, name: str) -> JobRecord:
    records = read_records(site.head, [name])
    return records[0] if records else JobRecord(name)


def record_result(base: JobResult, record: JobRecord) -> JobResult:
    """The result its record gives an ended job (a foreground job, once it returned)."""
    base = replace(base, started_at=record.started_at, ended_at=record.ended_at,
                   exit_status=record.exit_status)
    if record.problem:
        return replace(base, outcome=Outcome.LOST,
                       message=f"the job's record is corrupt ({record.problem})")
    outcome = record.outcome
    if outcome is Outcome.LOST_RUNNING:
        return replace(base, outcome=outcome,
                       message=f"the job ended without recording an exit status, and "
                               f"{record.survivors} process(es) of it still run")
    if record.exit_status is None:
        return replace(base, outcome=Outcome.LOST,
                       message="the job ended without recording an exit status")
    if outcome is Outcome.KILLED:
        return replace(base, outcome=outcome, message=_killed(record))
    return replace(base, outcome=outcome,
                   message=f"the job exited with status {record.exit_status}")


def _killed(record: JobRecord) -> str:
    return (f"the job was killed by jobwaiter kill (SIG{signal_name(record.killed_by or 0)}); "
            f"exit status {record.exit_status}")


def finish_wait(
    site: JobSite,
    plan: JobPlan,
    base: JobResult,
    loop: WaitLoop | None,
    started_at: float | None,
) -> JobResult:
    """Run the plan's waiters, then stop the cluster if asked and the job's end is known."""
    job = JobContext(
        name=base.job, head=site.head, config=dict(site.config), session=plan.session,
        command=plan.command, started_at=started_at, nodes=site.transports(),
        local=site.local,
    )
    waiters = plan.built_waiters()
    loop = loop or WaitLoop(progress=site.reporter.progress)
    site.reporter.phase("waiting for " + ", ".join(w.label for w in waiters))
    try:
        report = loop.run(waiters, job, plan.timeout)
    except KeyboardInterrupt:
        return replace(base, outcome=Outcome.INTERRUPTED,
                       message="interrupted while waiting; the job keeps running")
    result = from_report(base, report)
    if result.exit_status == 0 and result.outcome in (Outcome.TIMEOUT, Outcome.WAITER_FAILED):
        # The job exited 0, but what it launched failed or was not seen to end: `jobs` must
        # not list it as plainly succeeded.
        with contextlib.suppress(TransportError):
            site.head.run(waited_argv(base.job, result.outcome.value), timeout=60)
    if result.outcome is Outcome.FAILED and (result.exit_status or 0) > 128:
        # 128+N: a signal; the record says whether `jobwaiter kill` sent it.
        record = read_record(site, base.job)
        if record.killed_by is not None:
            result = replace(result, outcome=Outcome.KILLED, message=_killed(record))
    return stop_after(site, plan.stop, result)


def from_report(base: JobResult, report: WaitReport) -> JobResult:
    """The job's result from how its waiters ended."""
    status = base.exit_status
    ended = base.ended_at
    for o in report.outcomes:
        if o.exit_status is not None or o.state is Outcome.LOST:
            status, ended = o.exit_status, o.ended_at or ended
    result = replace(base, waiters=report.outcomes, exit_status=status, ended_at=ended)
    state = report.state
    failing = next((o for o in report.outcomes if o.state is not Outcome.SUCCEEDED), None)
    detail = failing.detail if failing else ""
    if state is Outcome.SUCCEEDED:
        return replace(result, outcome=Outcome.SUCCEEDED,
                       message="the job and its waiters succeeded")
    if state is Outcome.LOST:
        alive = failing is not None and failing.survivors > 0
        return replace(result, outcome=Outcome.LOST_RUNNING if alive else Outcome.LOST,
                       message=detail)
    if state in (Outcome.TIMEOUT, Outcome.UNREACHABLE):
        if state is Outcome.TIMEOUT and status is not None and failing is not None:
            # The job itself has ended; what timed out is a later waiter (engine work the
            # job launched may still run).
            detail = (f"the job ended with status {status}, then waiting for "
                      f"{failing.name} timed out")
        elif state is Outcome.TIMEOUT:
            detail = f"{detail}; the job keeps running"
        return replace(result, outcome=state, message=detail)
    if state is Outcome.FAILED and failing is not None and failing.exit_status not in (None, 0):
        return replace(result, outcome=Outcome.FAILED, message=detail)
    return replace(result, outcome=Outcome.WAITER_FAILED,
                   message=f"{failing.name if failing else 'waiter'}: {detail}")
