"""The cluster's stop as one transaction, whoever asks for it (a job's ``--stop`` run by a
client or by the head's watch, ``jobwaiter stop``, autostop).

- **Once per cluster.** ``sh/txn.sh begin`` opens the stop on the head under a flock: one
  owner at a time. A stop asked while another runs waits for it and reports its result; a
  cluster recorded ``stopped`` is not stopped again (``not_run``, "already stopped").
- **Journaled.** The plan is kept on the head before any command runs, and each node's step
  is recorded as it begins and ends. The owner renews a lease (``LEASE``) while it works; an
  open stop whose lease ran out belongs to nobody, and the next one to begin a stop takes it
  over (``resumed``): steps that ended well are not run again, steps never begun are run,
  and a step begun and not seen to end is reported ``interrupted`` (``jobwaiter stop`` runs
  it again: every step is idempotent), except the head's when its state file says
  ``stopped`` (its stop commands finished).
- **Workers first, the head last, and only if every worker stopped.** Otherwise the head
  stays up and the stop is ``failed`` (or ``interrupted``), naming each node and why.

Stdlib only: the head's watch runs this too.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from jobwaiter.errors import CommandError, CommandTimeout, ConnectionLost, TransportError
from jobwaiter.jobs.nodes import for_each
from jobwaiter.jobs.plan import NodeStop, StopPlan
from jobwaiter.jobs.result import NodeStep, StopReport
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.node import Node

#: How long an owner that stopped renewing its lease is still taken to be at work.
LEASE = 15.0
#: How often the owner renews it.
BEAT_EVERY = 3.0
#: How often a stop waiting for another one looks again.
JOIN_EVERY = 0.2


@lru_cache(maxsize=None)
def _script() -> str:
    return Path(__file__).with_name("sh").joinpath("txn.sh").read_text()


def txn_argv(cluster: str, action: str, *args: str) -> list[str]:
    return ["bash", "-c", _script(), "jw", cluster, action, *args]


@dataclass(frozen=True)
class Journal:
    """A cluster's last stop as the head recorded it (``txn.sh show``)."""

    token: str = ""
    owner: str = ""
    begun: float | None = None
    #: ``done``, ``failed`` or ``interrupted`` once the stop has ended; "" while open.
    outcome: str = ""
    ended_at: float | None = None
    detail: str = ""
    began: dict[str, float] = field(default_factory=dict)
    ended: dict[str, tuple[int | None, float]] = field(default_factory=dict)
    plan: Any = None
    #: Seconds since the owner last renewed its lease, and the lease (the head's clock).
    age: float = 0.0
    lease: float = LEASE
    #: The cluster's recorded state on the head (``started``, ``stopped`` or "").
    state: str = ""
    state_since: float | None = None

    @property
    def open(self) -> bool:
        return bool(self.token) and not self.outcome

    @property
    def stopped(self) -> bool:
        return self.state == "stopped"

    @property
    def abandoned(self) -> bool:
        """Open, and its owner has not renewed its lease in time: nobody runs it."""
        return self.open and self.age >= self.lease


def parse_journal(text: str) -> Journal:
    values: dict[str, Any] = {"began": {}, "ended": {}}
    for line in text.splitlines():
        key, _, rest = line.partition(" ")
        if key in ("began", "ended"):
            node, _, value = rest.partition(" ")
            words = value.split()
            if key == "began" and words and _num(words[0]) is not None:
                values["began"][node] = _num(words[0])
            elif key == "ended" and len(words) == 2 and _num(words[1]) is not None:
                rc = int(words[0]) if words[0].lstrip("-").isdigit() else None
                values["ended"][node] = (rc, _num(words[1]))
        elif key in ("token", "owner", "detail", "state"):
            values[key] = rest.strip()
        elif key in ("begun", "state_since"):
            values[key] = _num(rest.strip())
        elif key in ("age", "lease"):
            number = _num(rest.strip())
            if number is not None:
                values[key] = number
        elif key == "outcome":
            words = rest.split()
            values["outcome"] = words[0] if words else ""
            values["ended_at"] = _num(words[1]) if len(words) > 1 else None
        elif key == "plan":
            try:
                values["plan"] = json.loads(rest)
            except ValueError:
                values["plan"] = None
    return Journal(**values)


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_journal(head: Node, cluster: str) -> Journal:
    answer = head.transport.run(txn_argv(cluster, "show"), idempotent=True, timeout=60)
    if not answer.ok:
        raise CommandError(answer, f"reading the stop journal of cluster {cluster}")
    return parse_journal(answer.stdout)


def when(ts: float | None) -> str:
    if ts is None:
        return "?"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- running one node's part ------------------------------------------------------------------


@dataclass(frozen=True)
class _Ran:
    lines: tuple[str, ...] = ()
    #: The first command that failed, with its label.
    failure: tuple[CommandResult, str] | None = None
    #: Why the node could not be reached ("" when it could).
    error: str = ""
    #: The connection went away after a command was sent: it may or may not have run.
    cut: bool = False

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.error


def run_part(node: Node, part: NodeStop) -> _Ran:
    """Every command of the node's part, in order, each tried; the first failure kept."""
    lines: list[str] = []
    failure: tuple[CommandResult, str] | None = None
    for cmd in part.commands:
        try:
            result = node.transport.run(list(cmd.argv))
        except TransportError as exc:
            cut = isinstance(exc, (ConnectionLost, CommandTimeout)) or bool(lines) \
                or failure is not None
            return _Ran(tuple(lines), failure, str(exc), cut)
        if result.ok:
            prefix = f"{cmd.label}: " if cmd.label else ""
            lines += [prefix + line for line in result.stdout.splitlines() if line.strip()]
        elif failure is None:
            failure = (result, cmd.label)
    return _Ran(tuple(lines), failure)


def _failed_detail(ran: _Ran) -> str:
    if ran.error:
        return f"unreachable: {ran.error}"
    assert ran.failure is not None
    result, label = ran.failure
    why = result.tail(2).replace("\n", "; ") or f"exit status {result.exit_status}"
    return f"{label + ': ' if label else ''}{why}"


# -- the transaction --------------------------------------------------------------------------


class _Lease:
    """Renews the owner's lease on the head until closed (a thread)."""

    def __init__(self, head: Node, cluster: str, token: str) -> None:
        self._argv = txn_argv(cluster, "beat", token)
        self._head = head
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="stop-lease")
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(BEAT_EVERY):
            # The head's own stop may take it away; the journal says where it was.
            with contextlib.suppress(TransportError):
                self._head.transport.run(self._argv, idempotent=True, timeout=30)

    def close(self) -> None:
        self._done.set()


def stop_cluster(
    plan: StopPlan,
    nodes: Sequence[Node],
    owner: str,
    *,
    saved: dict[str, Any] | None = None,
    before_head: Callable[[], None] | None = None,
    rerun_interrupted: bool = False,
    on_wait: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    asked: float | None = None,
) -> StopReport:
    """Stop the cluster once (see the module docstring): ``nodes`` reach the nodes (the head
    among them), ``owner`` says who stops it, ``saved`` is kept with the plan for whoever
    resumes it, ``before_head`` is called just before the head's part (it may power the head
    off), ``on_wait`` while another owner's stop is waited for; a stop that ended after
    ``asked`` (default: now) and found the cluster stopped reports it done. TransportError
    or CommandError when the head cannot be asked."""
    head = _head_of(plan, nodes)
    asked = time.time() if asked is None else asked
    payload = json.dumps({"stop": plan.to_dict(), **(saved or {})}).encode()
    while True:
        answer = head.transport.run(txn_argv(plan.cluster, "begin", owner, f"{LEASE:g}"),
                                    input=payload, timeout=60)
        first, _, rest = answer.stdout.partition("\n")
        words = first.split(maxsplit=2)
        if not answer.ok or not words:
            raise CommandError(answer, f"beginning the stop of cluster {plan.cluster}")
        if words[0] == "busy":
            if on_wait is not None:
                on_wait(words[2] if len(words) > 2 else "another stop")
            sleep(JOIN_EVERY)
            continue
        break
    if words[0] == "stopped":
        return joined(parse_journal(rest), plan.cluster, asked)
    if words[0] not in ("begun", "resumed") or len(words) < 2:
        raise CommandError(answer, f"beginning the stop of cluster {plan.cluster}: "
                                   "unexpected answer")
    journal = parse_journal(rest) if words[0] == "resumed" else Journal()
    lease = _Lease(head, plan.cluster, words[1])
    try:
        return _run(plan, nodes, head, words[1], journal, before_head, rerun_interrupted)
    finally:
        lease.close()


def joined(journal: Journal, cluster: str, asked: float) -> StopReport:
    """The report of a stop that found the cluster stopped: by the stop it waited for (or
    one that ended as it was asked), or earlier."""
    recent = journal.outcome == "done" and journal.ended_at is not None \
        and journal.ended_at >= asked
    if recent:
        return StopReport(False, True, f"stopped cluster {cluster} (by {journal.owner})",
                          "done")
    return StopReport(False, None, f"not stopped: cluster {cluster} is already stopped "
                                   f"(since {when(journal.state_since)})", "not_run")


def _head_of(plan: StopPlan, nodes: Sequence[Node]) -> Node:
    for node in nodes:
        if node.id == plan.head.node:
            return node
    raise ValueError(f"no way to reach the head ({plan.head.node}) to stop the cluster")


def _run(plan: StopPlan, nodes: Sequence[Node], head: Node, token: str, journal: Journal,
         before_head: Callable[[], None] | None, rerun: bool) -> StopReport:
    by_id = {n.id: n for n in nodes}

    def step(node: str, what: str, rc: int | None = None) -> None:
        args = [token, node, what] + ([] if rc is None else [str(rc)])
        # Unrecorded, the journal shows the step begun and not ended: reported so.
        with contextlib.suppress(TransportError):
            head.transport.run(txn_argv(plan.cluster, "step", *args), timeout=60)

    def one(part: NodeStop) -> NodeStep:
        done = journal.ended.get(part.node)
        if done is not None and done[0] == 0:
            return NodeStep(part.node, "done", 0, "stopped before the stop was resumed")
        if part.node in journal.began and done is None and not rerun:
            return NodeStep(part.node, "interrupted", None,
                            f"began {when(journal.began[part.node])}, not seen to end")
        node = by_id.get(part.node)
        if node is None:
            return NodeStep(part.node, "failed", None, "no way to reach it from here")
        step(part.node, "began")
        ran = run_part(node, part)
        if ran.cut:
            # Begun, then the node went away: its end is unknown.
            return NodeStep(part.node, "interrupted", None, f"cut off: {ran.error}")
        rc = 0 if ran.ok else ran.failure[0].exit_status if ran.failure else 1
        step(part.node, "ended", rc)
        if ran.ok:
            return NodeStep(part.node, "done", 0, "; ".join(ran.lines))
        return NodeStep(part.node, "failed", rc, _failed_detail(ran))

    workers = for_each([w for w in plan.workers if w.commands], one)
    if all(w.state == "done" for w in workers):
        if journal.began.get(plan.head.node) is not None and plan.head.node not in journal.ended \
                and journal.stopped:
            # The head's stop commands finished (its state file says so) before the journal
            # could say they ended.
            head_step = NodeStep(plan.head.node, "done", 0, "stopped before the stop was "
                                                            "resumed")
        else:
            if before_head is not None:
                before_head()
            head_step = one(plan.head)
    else:
        head_step = NodeStep(plan.head.node, "not_run", None,
                             "kept up: not every worker stopped")
    steps = (*workers, head_step)
    report = _report(plan, steps)
    # The head's own stop commands may have taken it away: the journal then has the rest.
    with contextlib.suppress(TransportError):
        head.transport.run(txn_argv(plan.cluster, "finish", token, report.state),
                           input=report.detail.encode() + b"\n", timeout=60)
    return report


def _report(plan: StopPlan, steps: Sequence[NodeStep]) -> StopReport:
    workers = [s for s in steps if s.node != plan.head.node]
    head = steps[-1]
    bad = [s for s in steps if s.state in ("failed", "interrupted")]
    if not bad and head.state == "done":
        what = f"head: {_commands(plan.head)}"
        if workers:
            what += f"; workers: {len(workers)} of {len(workers)}"
        return StopReport(True, True, f"stopped cluster {plan.cluster} ({what})", "done",
                          tuple(steps))
    state = "failed" if any(s.state == "failed" for s in bad) else "interrupted"
    parts = [f"{'stop failed' if s.state == 'failed' else 'stop interrupted'} on "
             f"{s.node}: {s.detail}" for s in bad]
    if head.state == "not_run":
        parts.append("the head stays up")
    if state == "interrupted":
        parts.append("'jobwaiter stop' runs the interrupted steps again")
    return StopReport(True, False if state == "failed" else None, "; ".join(parts), state,
                      tuple(steps))


def _commands(part: NodeStop) -> str:
    """What the node's part ran, in a few words: runtimes by name, then its stop commands."""
    words = [c.label for c in part.commands if c.label]
    own = sum(max(0, len(c.argv) - 6) for c in part.commands if not c.label)
    words.append(f"{own} command{'s' if own != 1 else ''}")
    return ", ".join(words)


def await_stop(head: Node, cluster: str, asked: float,
               sleep: Callable[[float], None] = time.sleep,
               on_wait: Callable[[str], None] | None = None) -> StopReport | None:
    """Wait for an open stop of the cluster to end and report it as joined; None when the
    cluster is not stopped and no stop is open (nothing to join)."""
    while True:
        journal = read_journal(head, cluster)
        if not journal.open:
            break
        if on_wait is not None:
            on_wait(journal.owner)
        sleep(JOIN_EVERY)
    if journal.stopped:
        return joined(journal, cluster, asked)
    if journal.outcome:
        return StopReport(False, False if journal.outcome == "failed" else None,
                          f"the stop run by {journal.owner} ended {journal.outcome}: "
                          f"{journal.detail}", journal.outcome
                          if journal.outcome in ("failed", "interrupted") else "not_run")
    return None
