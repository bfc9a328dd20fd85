"""``--stop``'s rule, the one used by a client, by the head's watch and after ``exec
--all-nodes``: when a job's end lets the cluster stop, what keeps the stop waiting, and how
it then runs (``jobs.transaction``: once per cluster, journaled).

A job's ``--stop`` runs once its end is known **and nothing else runs on any node of the
cluster**: no other job of the cluster (alive, or still watched by the head), no process left
of this job. Otherwise it is deferred: looked at again every ``DEFER_EVERY`` seconds until the
last of them has ended, and said so. A disarmed stop (``disarm``, ``kill``) does not run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from jobwaiter.errors import CommandError, TransportError
from jobwaiter.jobs.nodes import for_each
from jobwaiter.jobs.plan import StopPlan
from jobwaiter.jobs.result import JobResult, Outcome, StopReport
from jobwaiter.jobs.site import JobSite
from jobwaiter.jobs.transaction import await_stop, stop_cluster
from jobwaiter.records import JobRecord
from jobwaiter.records.read import read_records
from jobwaiter.sessions import claim_argv, survivors_argv
from jobwaiter.transport.node import Node

#: A stop claim that ``disarm`` (or ``kill``) made: the stop will not run (``wait --stop``
#: arms it again).
DISARMED = "disarmed"

#: The outcomes after which the job's end is known, so the cluster may be stopped.
STOP_AFTER = (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.LOST, Outcome.WAITER_FAILED,
              Outcome.KILLED)

#: How often a deferred stop looks again at what keeps it waiting.
DEFER_EVERY = 1.0


@dataclass(frozen=True)
class Verdict:
    """What the rule says of a job's stop now: ``run``, ``defer`` (``why``: what it waits
    for), ``not_run`` (``why``) or ``disarmed``."""

    action: str
    why: str = ""


def judge(outcome: Outcome, busy: Sequence[str], disarmed: bool) -> Verdict:
    """The rule, from the job's outcome, the work that still runs on the cluster (this job's
    leftover processes included) and whether the stop was disarmed."""
    if disarmed:
        return Verdict("disarmed")
    if outcome not in STOP_AFTER and outcome is not Outcome.LOST_RUNNING:
        # The job may still be running (a timeout, an interrupt, an unreachable head).
        return Verdict("not_run", f"the job's outcome is {outcome}")
    if outcome is Outcome.LOST_RUNNING:
        busy = ["the processes left of this job", *busy]
    if busy:
        return Verdict("defer", ", ".join(busy))
    return Verdict("run")


def describe(record: JobRecord, node: Node) -> str:
    label = f" ({record.label})" if record.label else ""
    where = "" if node.is_head else f" on {node.id}"
    return f"{record.name}{label}{where}"


def look(site: JobSite, job: str) -> tuple[list[str], bool]:
    """What runs on any node of the cluster besides ``job``, and whether the job's stop was
    disarmed. A node that cannot be read adds nothing: its part of the stop then fails, and
    the head stays up."""

    def read(node: Node) -> list[JobRecord] | None:
        try:
            return read_records(node.transport)
        except (TransportError, CommandError):
            return None

    busy: list[str] = []
    disarmed = False
    for node, records in zip(site.nodes, for_each(site.nodes, read)):
        for r in records or ():
            if not r.of_cluster(site.cluster):
                continue  # another cluster's job on the same machine
            if r.name == job and node.id == site.node.id:
                # Its own leftovers are its outcome's (lost_running), looked at apart.
                disarmed = r.stop_claim == DISARMED
            elif r.alive:
                busy.append(describe(r, node))
            elif r.watched and not r.watch_recorded:
                busy.append(f"{describe(r, node)}: its waiters")
    return busy, disarmed


def with_stop(result: JobResult, stop: StopReport) -> JobResult:
    """The job's result with its stop; a job that succeeded and whose stop failed (or was cut
    off) is never plain success."""
    if result.outcome is Outcome.SUCCEEDED and stop.state in ("failed", "interrupted"):
        return replace(result, outcome=Outcome.STOP_FAILED, stop=stop,
                       message=f"the job succeeded but stopping the cluster failed: "
                               f"{stop.detail}")
    return replace(result, stop=stop)


def cluster_head(site: JobSite) -> Node:
    return next(n for n in site.nodes if n.is_head)


def settle(
    site: JobSite,
    plan: StopPlan,
    result: JobResult,
    owner: str,
    *,
    saved: dict[str, Any] | None = None,
    before_head: Callable[[], None] | None = None,
    on_deferred: Callable[[JobResult], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    per_job: bool = True,
) -> JobResult:
    """Apply the rule to a job that has ended (or not), waiting while it defers the stop,
    then run the stop (once per cluster) or say why not. ``on_deferred`` is told the result
    with its deferred stop whenever what it waits for changes. ``per_job``: the stop is the
    job's, claimed in its record (False: no record, as after ``exec --all-nodes``)."""
    if result.outcome is Outcome.LOST:
        result = unless_survivors(site, result)
    start = clock()
    shown = ""
    try:
        while True:
            verdict = judge(result.outcome, *look(site, result.job))
            if verdict.action != "defer":
                break
            if verdict.why != shown:
                shown = verdict.why
                site.reporter.phase(f"stop deferred: waiting for {verdict.why}")
                if on_deferred is not None:
                    on_deferred(replace(result, stop=StopReport.deferred(verdict.why)))
            site.reporter.progress(f"stop deferred: waiting for {verdict.why}",
                                   clock() - start)
            sleep(DEFER_EVERY)
            if result.outcome is Outcome.LOST_RUNNING and unless_survivors(
                    site, replace(result, outcome=Outcome.LOST)).outcome is Outcome.LOST:
                result = replace(result, outcome=Outcome.LOST, message=f"{result.message}; "
                                 "the processes it left have ended since")
    except KeyboardInterrupt:
        return replace(result, stop=StopReport.declined(
            f"interrupted while the stop was deferred (waiting for {shown})"))
    if verdict.action == "disarmed":
        site.reporter.warn("not stopping the cluster: the stop was disarmed")
        return replace(result, stop=StopReport.disarmed())
    if verdict.action == "not_run":
        site.reporter.warn(f"not stopping the cluster: {verdict.why}")
        return replace(result, stop=StopReport.declined(verdict.why))
    # A stop of the cluster that ended after this job did serves it too.
    asked = result.ended_at or time.time()
    return with_stop(result, _run_claimed(site, plan, result.job if per_job else "", owner,
                                          saved, before_head, sleep, asked))


def _run_claimed(site: JobSite, plan: StopPlan, job: str, owner: str,
                 saved: dict[str, Any] | None, before_head: Callable[[], None] | None,
                 sleep: Callable[[float], None], asked: float) -> StopReport:

    def waiting(other: str) -> None:
        site.reporter.progress(f"waiting for the stop run by {other}", 0.0)

    try:
        taken = claim(site, job, owner) if job else None
        if taken == owner:
            taken = None  # ours, from a run that was cut off (a watcher killed): resumed
        if taken == DISARMED:
            return StopReport.disarmed()
        if taken is not None:
            # Someone else runs this job's stop: report the cluster's stop as it ends.
            return await_stop(cluster_head(site), site.cluster, asked, sleep, waiting) \
                or StopReport.declined(f"the stop after job {job} was claimed by {taken}")
        site.reporter.phase(f"stopping cluster {site.cluster}")
        who = f"{owner} (after job {job})" if job else owner
        return stop_cluster(plan, site.nodes, who, saved=saved,
                            before_head=before_head, on_wait=waiting, sleep=sleep,
                            asked=asked)
    except (CommandError, TransportError) as exc:
        return StopReport(False, False, f"stop failed: {exc}", "failed")


def stop_after(site: JobSite, plan: StopPlan | None, result: JobResult) -> JobResult:
    """``--stop`` after a job this client waited for (``None``: no stop asked)."""
    if plan is None:
        return result
    return settle(site, plan, result, "a client")


def claim(site: JobSite, job: str, by: str) -> str | None:
    """Claim the stop after ``job``: None when it is ours to run, else who claimed it first
    (at most one stop per job, whoever waits for it)."""
    answer = site.head.run(claim_argv(job, by), timeout=60)
    words = answer.stdout.split(maxsplit=1)
    if answer.ok and words == ["claimed"]:
        return None
    if answer.ok and words and words[0] == "taken":
        return words[1].strip() if len(words) > 1 else "another waiter"
    raise CommandError(answer, f"claiming the stop after job {job}")


def unless_survivors(site: JobSite, result: JobResult) -> JobResult:
    """Lost is not ended: look once more, right before a stop, for processes of the job."""
    try:
        answer = site.head.run(survivors_argv(result.job), idempotent=True, timeout=60)
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
