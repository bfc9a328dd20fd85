"""Stopping the cluster: running a ``StopPlan``, and ``--stop``'s rule of when a job's end
allows it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from jobwaiter.errors import CommandError, TransportError
from jobwaiter.jobs.nodes import for_each
from jobwaiter.jobs.plan import NodeStop, StopPlan
from jobwaiter.jobs.result import JobResult, Outcome, StopReport
from jobwaiter.jobs.site import JobSite
from jobwaiter.records.read import read_records
from jobwaiter.sessions import claim_argv, survivors_argv
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.node import Node


@dataclass(frozen=True)
class _NodeStopped:
    node: Node
    lines: tuple[str, ...] = ()
    #: The first command that failed, with its label.
    failure: tuple[CommandResult, str] | None = None
    #: Why the node could not be reached ("" when it could).
    error: str = ""


def _stop_node(node: Node, part: NodeStop) -> _NodeStopped:
    lines: list[str] = []
    failure: tuple[CommandResult, str] | None = None
    for cmd in part.commands:
        try:
            result = node.transport.run(list(cmd.argv))
        except TransportError as exc:
            return _NodeStopped(node, tuple(lines), failure, str(exc))
        if result.ok:
            prefix = f"{node.id}: {cmd.label}: " if cmd.label else f"{node.id}: "
            lines += [prefix + line for line in result.stdout.splitlines() if line.strip()]
        elif failure is None:
            failure = (result, cmd.label)
    return _NodeStopped(node, tuple(lines), failure)


def run_stop(
    plan: StopPlan,
    nodes: Sequence[Node],
    before_head: Callable[[list[str]], None] | None = None,
) -> list[str]:
    """Run the workers' parts in parallel, then the head's (``before_head`` is called in
    between: the head's own stop commands may power it off). Every command on every node is
    tried; then the first failure is raised (CommandError, or TransportError when every
    failed node was unreachable), naming the others. ``before_head`` gets the workers'
    failures."""
    by_id = {n.id: n for n in nodes}
    parts = [(by_id[w.node], w) for w in plan.workers if w.commands and w.node in by_id]
    done = for_each(parts, lambda part: _stop_node(*part))
    # A worker there is no way to reach from here (none was given) is a failure, said so.
    done += [_NodeStopped(Node(w.node, w.node, _NoTransport()), error="no way to reach it "
                          "from here") for w in plan.workers if w.commands and w.node not in by_id]
    if before_head is not None:
        # What went wrong on the workers, said before the head's part (which may power the
        # head off).
        before_head([f"{d.node.ip}: {d.error or 'failed'}" for d in done
                     if d.failure is not None or d.error])
    done.append(_stop_node(by_id[plan.head.node], plan.head))
    failed = [d for d in done if d.failure is not None or d.error]
    if failed:
        _raise(failed, f"stopping cluster {plan.cluster}")
    return [line for d in done for line in d.lines]


class _NoTransport:
    """Stands for a node that cannot be reached from where the stop runs."""

    node = "-"

    def run(self, argv: Sequence[str], **kw: object) -> CommandResult:
        raise TransportError("no way to reach this node from here")

    def close(self) -> None:
        pass


def _raise(failed: list[_NodeStopped], what: str) -> None:
    first = next((d for d in failed if d.failure is not None), None)
    others = [f"{d.node.ip}: unreachable: {d.error}" if d.failure is None
              else f"{d.node.ip}: exit status {d.failure[0].exit_status}"
              for d in failed if d is not first]
    if first is None or first.failure is None:
        raise TransportError(f"{what}: " + "; ".join(others))
    result, label = first.failure
    if label:
        what += f" ({label} on {first.node.id})"
    if others:
        what += " (also failed: " + "; ".join(others) + ")"
    raise CommandError(result, what)


# -- --stop after a job ----------------------------------------------------------------------

#: A stop claim that ``disarm`` made: the stop will not run (``wait --stop`` arms it again).
DISARMED = "disarmed"

#: The outcomes after which the job's end is known, so the cluster may be stopped.
STOP_AFTER = (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.LOST, Outcome.WAITER_FAILED,
              Outcome.KILLED)


def stop_after(site: JobSite, plan: StopPlan | None, result: JobResult) -> JobResult:
    """--stop runs once the job's end is known, whatever it was; never after a timeout, an
    interrupt or an unreachable head, where the job may still be running, and never while
    processes of a lost job still run."""
    if plan is None:
        return result
    if result.outcome is Outcome.LOST:
        result = unless_survivors(site, result)
    if result.outcome not in STOP_AFTER:
        site.reporter.warn(f"not stopping the cluster: the job's outcome is {result.outcome}")
        return replace(result, stop=StopReport.declined(str(result.outcome)))
    others = [r.name for r in read_records(site.head) if r.alive and r.name != result.job]
    if others and not site.confirm(
        f"other jobs are still running on cluster {site.cluster} ({', '.join(others)}); "
        "stop it anyway"
    ):
        site.reporter.warn(f"not stopping the cluster: {len(others)} other job(s) running")
        return replace(result, stop=StopReport.declined("other jobs running: "
                                                        + ", ".join(others)))
    try:
        taken = claim(site, result.job, "a client")
    except (CommandError, TransportError) as exc:
        stop = StopReport(False, False, f"cannot claim the stop: {exc}")
    else:
        if taken == DISARMED:
            site.reporter.warn("not stopping the cluster: the stop was disarmed")
            return replace(result, stop=StopReport.declined("disarmed"))
        if taken is not None:
            site.reporter.warn(f"not stopping the cluster: {taken} has already stopped it "
                               "for this job")
            return replace(result, stop=StopReport.declined(f"the stop was claimed by {taken}"))
        stop = stop_now(site, plan)
    if result.outcome is Outcome.SUCCEEDED and stop.ok is False:
        return replace(result, outcome=Outcome.STOP_FAILED, stop=stop,
                       message=f"the job succeeded but stopping the cluster failed: "
                               f"{stop.detail}")
    return replace(result, stop=stop)


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


def stop_now(site: JobSite, plan: StopPlan) -> StopReport:
    """Stop the cluster and say how it went."""
    site.reporter.phase(f"stopping cluster {site.cluster}")
    try:
        lines = run_stop(plan, site.nodes)
    except (CommandError, TransportError) as exc:
        return StopReport(True, False, str(exc))
    return StopReport(True, True, "; ".join(lines))


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
