"""``jobwaiter status``: is the cluster reachable, what state did start/stop leave it in, are
its runtimes up, which jobs run, and which of them will stop the cluster when they end.

Every node is asked at once (one thread each), then every runtime at once; each call has a
timeout, so a status never hangs on a node that does not answer. A node found unreachable
is not tried again by the runtimes: its calls fail at once with the first error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from jobwaiter.cluster.control import parse_state, state_argv
from jobwaiter.cluster.providers import Node
from jobwaiter.errors import JobwaiterError, TransportError
from jobwaiter.jobs.autostop import AutostopState, parse_autostop
from jobwaiter.jobs.result import iso
from jobwaiter.records import JobRecord
from jobwaiter.records.read import parse_dump
from jobwaiter.runtimes import Runtime
from jobwaiter.runtimes.base import UNKNOWN, RuntimeStatus
from jobwaiter.sessions import dump_argv
from jobwaiter.transport.base import CommandResult, OutputSink

if TYPE_CHECKING:
    from jobwaiter.cluster.cluster import Cluster

#: Bound of the first call to a node, connecting included (SSH retries within it).
PROBE_TIMEOUT = 30.0
#: Bound of reading a node's job records once it has answered.
RECORDS_TIMEOUT = 30.0
#: Bound of all the runtimes' answers together; a runtime still asking then is "unknown".
RUNTIMES_TIMEOUT = 45.0
#: Threads for the nodes; ssh does the waiting, so this bounds processes, not CPU.
MAX_PARALLEL = 16


@dataclass(frozen=True)
class NodeStatus:
    """One node: whether it answered, and the cluster state recorded there."""

    id: str
    address: str
    is_head: bool
    reachable: bool
    state: str = UNKNOWN
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "address": self.address,
                "role": "head" if self.is_head else "worker", "reachable": self.reachable,
                "state": self.state, "error": self.error or None}


@dataclass(frozen=True)
class RunningJob:
    """A job whose record says it is still running (or lost with processes left)."""

    name: str
    node: str
    session_kind: str | None
    state: str
    started_at: float | None
    command: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "node": self.node, "session_kind": self.session_kind,
                "state": self.state, "started_at": iso(self.started_at),
                "command": self.command}


@dataclass(frozen=True)
class ArmedStop:
    """A job that will stop the cluster when it ends. ``where``: ``session`` (the job's own
    session runs the stop, whatever happens to the client) or ``client`` (the jobwaiter that
    started the job stops the cluster, if it is still waiting)."""

    job: str
    node: str
    where: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job, "node": self.node, "where": self.where,
                "detail": self.detail}


@dataclass(frozen=True)
class LastStop:
    """The cluster's last stop as the head journaled it: who ran it, its state (``running``
    while open, else ``done``, ``failed`` or ``interrupted``), when it ended, one line."""

    owner: str
    state: str
    ended_at: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "state": self.state, "ended_at": iso(self.ended_at),
                "detail": self.detail}

    def describe(self) -> str:
        if self.state == "running":
            return f"stop under way: run by {self.owner}"
        return f"last stop: {self.state} ({self.owner}): {self.detail}"


@dataclass(frozen=True)
class ClusterStatus:
    """What ``jobwaiter status`` reports. ``state`` is the head's recorded state
    (``started``, ``stopped``, or ``unknown``: never started or stopped by jobwaiter, or the
    head did not answer)."""

    cluster: str
    provider: str
    nodes: tuple[NodeStatus, ...]
    runtimes: tuple[RuntimeStatus, ...] = ()
    jobs: tuple[RunningJob, ...] = ()
    stops_armed: tuple[ArmedStop, ...] = ()
    checked_at: float = 0.0
    #: As the head keeps it (None: never armed there).
    autostop: AutostopState | None = None
    #: The cluster's last stop as the head journaled it (None: none there, or unread).
    last_stop: LastStop | None = None

    @property
    def head(self) -> NodeStatus:
        return next(n for n in self.nodes if n.is_head)

    @property
    def reachable(self) -> bool:
        """Whether the head answered (a worker that did not is shown, but the cluster is
        reachable)."""
        return self.head.reachable

    @property
    def state(self) -> str:
        return self.head.state

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "provider": self.provider,
            "reachable": self.reachable,
            "state": self.state,
            "error": self.head.error or None,
            "nodes": [n.to_dict() for n in self.nodes],
            "runtimes": [r.to_dict() for r in self.runtimes],
            "jobs": [j.to_dict() for j in self.jobs],
            "stops_armed": [s.to_dict() for s in self.stops_armed],
            "checked_at": iso(self.checked_at),
            "autostop": None if self.autostop is None
            else self.autostop.to_dict(),
            "last_stop": None if self.last_stop is None else self.last_stop.to_dict(),
        }


def cluster_status(cluster: Cluster) -> ClusterStatus:
    """Ask every node, then every runtime, in parallel; never raises for a node that cannot
    be reached (the status says so)."""
    checked_at = time.time()
    nodes = [cluster.provider.head(), *cluster.workers]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(nodes))) as pool:
        # Each worker keeps its own state file (workers often share one home).
        probes = list(pool.map(lambda n: _probe(n, cluster.name if n.is_head
                                                else f"{cluster.name}.worker-{n.ip}",
                                                cluster.name), nodes))
    head = probes[0]
    base = ClusterStatus(cluster.name, cluster.config.provider.type,
                         tuple(p.status for p in probes), checked_at=checked_at)
    if not head.status.reachable:
        why = "the head is unreachable"
        return replace(base, runtimes=tuple(
            RuntimeStatus(r.name, r.name, "", UNKNOWN, why) for r in cluster.runtimes))
    # Runtimes see unreachable workers as nodes whose calls fail at once.
    seen = [p.node if p.status.reachable else replace(p.node, transport=_Unreachable(p))
            for p in probes]
    runtimes = _runtime_statuses(cluster.runtimes, seen[0], seen[1:])
    records = [(p.node, r) for p in probes for r in p.records]
    jobs = tuple(_running(node, r) for node, r in records if r.alive)
    armed = tuple(a for node, r in records
                  if (a := _armed(node, r, head.watcher)) is not None)
    return replace(base, runtimes=tuple(runtimes), jobs=jobs, stops_armed=armed,
                   autostop=head.autostop, last_stop=_last_stop(cluster))


def _last_stop(cluster: Cluster) -> LastStop | None:
    """The journal of the cluster's last stop; one left half-way is finished first."""
    try:
        journal = cluster.stop_journal()
    except JobwaiterError:
        return None  # the stop then is what the nodes' states say
    if not journal.token:
        return None
    return LastStop(journal.owner, "running" if journal.open else journal.outcome,
                    journal.ended_at, journal.detail)


@dataclass(frozen=True)
class _Probe:
    node: Node
    status: NodeStatus
    records: tuple[JobRecord, ...] = ()
    autostop: AutostopState | None = None
    #: A watcher runs on the node (the head's watch).
    watcher: bool = False


def _probe(node: Node, state_name: str, cluster: str) -> _Probe:
    """The node's recorded state (which also tells whether it answers) and the cluster's job
    records there."""
    def status(reachable: bool, state: str = UNKNOWN, error: str = "") -> NodeStatus:
        return NodeStatus(node.id, node.ip, node.is_head, reachable, state, error)

    try:
        answer = node.transport.run(state_argv(state_name), idempotent=True,
                                    timeout=PROBE_TIMEOUT)
    except TransportError as exc:
        return _Probe(node, status(False, error=str(exc)))
    state = parse_state(answer.stdout) if answer.ok else UNKNOWN
    try:
        dump = node.transport.run(dump_argv(), idempotent=True, timeout=RECORDS_TIMEOUT)
    except TransportError as exc:
        return _Probe(node, status(True, state, f"cannot read the job records: {exc}"))
    if not dump.ok:
        why = dump.tail(1) or f"exit status {dump.exit_status}"
        return _Probe(node, status(True, state, f"cannot read the job records: {why}"))
    records = sorted((r for r in parse_dump(dump.stdout) if r.of_cluster(cluster)),
                     key=_started, reverse=True)
    watcher = "watcher_running yes" in dump.stdout.split("\n@@ ", 1)[0].splitlines()
    return _Probe(node, status(True, state), tuple(records), parse_autostop(dump.stdout, cluster),
                  watcher)


def _started(record: JobRecord) -> float:
    return record.started_at or 0.0


class _Unreachable:
    """The transport of a node that did not answer the probe moments ago."""

    def __init__(self, probe: _Probe) -> None:
        self.node = probe.node.id
        self._error = probe.status.error

    def run(self, argv: Sequence[str], *, input: bytes | None = None,
            timeout: float | None = None, capture: bool = True, idempotent: bool = False,
            output: OutputSink | None = None) -> CommandResult:
        raise TransportError(self._error)

    def close(self) -> None:
        """Nothing was opened."""


def _running(node: Node, record: JobRecord) -> RunningJob:
    return RunningJob(record.name, node.id, record.session, record.state, record.started_at,
                      str(record.meta.get("command", "")))


def _armed(node: Node, record: JobRecord, watcher: bool) -> ArmedStop | None:
    """A pending stop: on the head's watch (deferred there, or armed: only a watcher that
    runs keeps that promise), in the job's session (until its stop has recorded a status),
    or in the client that launched a job with ``--stop`` and a waiter or in the foreground;
    none once disarmed."""
    if record.stop_claim == "disarmed":
        return None
    label = f" ({record.label})" if record.label else ""
    if record.watched and record.watch_stop == "deferred" and not record.watch_done:
        return ArmedStop(record.name, node.id, "head",
                         f"stop pending after {record.name}{label}: deferred until the other "
                         "work on the cluster has ended" + ("" if watcher else
                                                           "; no watcher runs on the head now"
                                                           " (the next command that reaches"
                                                           " it starts one)"))
    if record.watched and record.stop_armed:
        if not watcher:
            return ArmedStop(record.name, node.id, "head",
                             "armed on the head, but no watcher runs there now: run "
                             f"'jobwaiter wait CONFIG {record.name}' to watch it again")
        return ArmedStop(record.name, node.id, "head",
                         "the head's watcher stops the cluster once the job has ended and "
                         "nothing else runs")
    if not record.meta.get("stop") or record.stop_status is not None:
        return None
    if record.watched:
        return None  # watched without a stop (yet), or its stop claimed: nothing armed
    if record.stop_in_session:
        if record.stop_running:
            return ArmedStop(record.name, node.id, "session",
                             "the job has ended; its session is stopping the cluster now")
        if record.running:
            return ArmedStop(record.name, node.id, "session",
                             f"its {record.session} session stops the cluster when the job "
                             "ends")
        return None
    if record.running:
        return ArmedStop(record.name, node.id, "client",
                         "the jobwaiter that started it stops the cluster when the job "
                         "ends, if it is still waiting")
    return None


def _runtime_statuses(runtimes: Sequence[Runtime], head: Node,
                      workers: Sequence[Node]) -> list[RuntimeStatus]:
    """Every runtime's status, asked at once and in daemon threads: one that has not answered
    when the time is up is reported as such, and cannot keep the command from exiting."""
    answers: list[list[RuntimeStatus] | None] = [None] * len(runtimes)

    def ask(i: int, runtime: Runtime) -> None:
        answers[i] = _guarded(runtime, lambda: runtime.status(head, workers))

    threads = [threading.Thread(target=ask, args=(i, r), daemon=True)
               for i, r in enumerate(runtimes)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + RUNTIMES_TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    out: list[RuntimeStatus] = []
    for runtime, answer in zip(runtimes, answers, strict=True):
        out += answer if answer is not None else [RuntimeStatus(
            runtime.name, runtime.name, "", UNKNOWN,
            f"no answer within {RUNTIMES_TIMEOUT:g}s")]
    return out


def _guarded(runtime: Runtime, call: Callable[[], list[RuntimeStatus]]) -> list[RuntimeStatus]:
    """A runtime's status; whatever it raises (a plugin's bug, a head without python3) is
    that runtime's "unknown", never the end of the whole status."""
    try:
        answer = call()
    except JobwaiterError as exc:
        return [RuntimeStatus(runtime.name, runtime.name, "", UNKNOWN, str(exc))]
    except Exception as exc:
        return [RuntimeStatus(runtime.name, runtime.name, "", UNKNOWN,
                              f"its status failed: {type(exc).__name__}: {exc}")]
    if not isinstance(answer, list) or not all(isinstance(a, RuntimeStatus) for a in answer):
        return [RuntimeStatus(runtime.name, runtime.name, "", UNKNOWN,
                              "its status did not return RuntimeStatus objects")]
    return answer
