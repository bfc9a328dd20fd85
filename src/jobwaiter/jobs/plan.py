"""What will run, decided once before anything runs: the ``JobPlan`` and its ``StopPlan``.

A plan is plain data. ``to_dict``/``from_dict`` round-trip through JSON, so that a plan can be
written down and run somewhere else than where it was made. The waiters it names are resolved
and built once, when the plan is made (``plan_job``); a plan read back from JSON names each
by its SPEC, and ``with_waiters`` builds them again where it runs. ``--env`` values are never
part of a plan: they travel only with the launch, on its stdin.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from jobwaiter.errors import UsageError
from jobwaiter.jobs.site import JobSite
from jobwaiter.plugins import runtime_names
from jobwaiter.records import log_path, new_name
from jobwaiter.waiters.base import Waiter
from jobwaiter.waiters.registry import resolve_steps
from jobwaiter.waiters.session import JobEndWaiter, session_waiter

if TYPE_CHECKING:
    from jobwaiter.jobs.request import JobRequest  # its typing helpers need not exist on the head

#: Bumped when a field changes meaning; ``from_dict`` refuses plans of another schema.
SCHEMA = 1

#: Waiters that are part of how a job runs, not of its SPEC: built without the registry.
_BUILT_IN = {"tmux": lambda: session_waiter("tmux"), "screen": lambda: session_waiter("screen"),
             JobEndWaiter.name: JobEndWaiter}


@dataclass(frozen=True)
class StopCommand:
    """One argv of a node's stop; ``label`` names what it stops ("spark"), or is empty for
    the node's own stop commands."""

    argv: tuple[str, ...]
    label: str = ""

    def describe(self) -> dict[str, Any]:
        """What it runs, for people and ``--dry-run``: a runtime's stop by its name, the
        node's own stop commands as the config writes them (not the script around them,
        ``cluster/sh/control.sh``: ``bash -c SCRIPT jw STATE stop COMMAND...``)."""
        if self.label:
            return {"runtime": self.label}
        own = len(self.argv) >= 6 and self.argv[3] == "jw" and self.argv[5] == "stop"
        return {"commands": list(self.argv[6:]) if own else [shlex.join(self.argv)]}


@dataclass(frozen=True)
class NodeStop:
    """What stopping the cluster runs on one node (its id), in order, every command tried."""

    node: str
    commands: tuple[StopCommand, ...] = ()

    def script(self) -> str:
        """The commands as one bash script (what runs inside a job's session): every
        command runs; the script fails if any failed. Runtimes' output goes to stderr so
        that the node's own stop commands have the last word on stdout."""
        lines = ["rc=0"]
        for cmd in self.commands:
            if cmd.label:
                why = shlex.quote(f"failed: stopping {cmd.label}")
                lines.append(f"{shlex.join(cmd.argv)} >&2 || {{ echo {why} >&2; rc=1; }}")
            else:
                lines.append(f"{shlex.join(cmd.argv)} || rc=1")
        lines.append('exit "$rc"')
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class StopPlan:
    """Stopping the cluster: the workers' parts (in parallel), then the head's."""

    cluster: str
    head: NodeStop
    workers: tuple[NodeStop, ...] = ()

    @property
    def reaches_workers(self) -> bool:
        return any(w.commands for w in self.workers)

    def to_dict(self) -> dict[str, Any]:
        def node(n: NodeStop) -> dict[str, Any]:
            return {"node": n.node,
                    "commands": [{"argv": list(c.argv), "label": c.label} for c in n.commands]}

        return {"cluster": self.cluster, "head": node(self.head),
                "workers": [node(w) for w in self.workers]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StopPlan:
        def node(d: Mapping[str, Any]) -> NodeStop:
            return NodeStop(str(d["node"]), tuple(
                StopCommand(tuple(str(a) for a in c["argv"]), str(c.get("label", "")))
                for c in d.get("commands", ())))

        return cls(str(data["cluster"]), node(data["head"]),
                   tuple(node(w) for w in data.get("workers", ())))


@dataclass(frozen=True)
class WaiterStep:
    """One waiter of the plan: the SPEC that builds it (``spark[all]``), and the waiter built
    from it when the plan was made here (None in a plan read back from JSON)."""

    spec: str
    waiter: Waiter | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class JobPlan:
    """Everything about how a job runs and ends, except its environment."""

    name: str
    cluster: str
    #: Id of the node the job runs on ("head", or a worker's address).
    node: str
    command: str
    #: "tmux", "screen" or None (the foreground).
    session: str | None = None
    #: The flattened chain, the session's own waiter first.
    waiters: tuple[WaiterStep, ...] = ()
    #: The SPEC as the user wrote it (shown by ``jobs``; ``wait`` starts from it again).
    spec: str | None = None
    #: The job's log, relative to ``$HOME`` on its node.
    log: str | None = None
    timeout: float | None = None
    #: Stop the cluster once the job's end is known (None: no ``--stop``).
    stop: StopPlan | None = None
    #: ``--name``: a label to name the job by later.
    label: str | None = None
    #: ``--max-runtime``: the head kills the job when it has run this long.
    max_runtime: float | None = None

    @property
    def hold(self) -> bool:
        """A session without a waiter stays open after the job, as in CloudTik."""
        return self.session is not None and not self.waiters

    @property
    def tee(self) -> bool:
        """A foreground job's output goes to our stdout and, with a log, to the log too."""
        return self.session is None and self.log is not None

    @property
    def stop_in_session(self) -> bool:
        """Nobody waits for a held session: the session itself runs the head's stop."""
        return self.stop is not None and self.hold

    def built_waiters(self) -> list[Waiter]:
        missing = [s.spec for s in self.waiters if s.waiter is None]
        if missing:
            raise ValueError(f"waiters not built: {', '.join(missing)} (use with_waiters)")
        return [s.waiter for s in self.waiters if s.waiter is not None]

    def meta(self, created_at: float, **extra: object) -> dict[str, Any]:
        """The record's ``meta.json``: what was started, for ``wait`` and ``jobs`` later."""
        return {"schema": SCHEMA, "name": self.name, "session": self.session,
                "command": self.command, "spec": self.spec, "log": self.log,
                "stop": self.stop is not None, "created_at": created_at,
                "cluster": self.cluster, "label": self.label, **extra}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.name,
            "cluster": self.cluster,
            "node": self.node,
            "command": self.command,
            "session": self.session,
            "waiters": [s.spec for s in self.waiters],
            "spec": self.spec,
            "log": self.log,
            "timeout": self.timeout,
            "stop": None if self.stop is None else self.stop.to_dict(),
            "label": self.label,
            "max_runtime": self.max_runtime,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobPlan:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"a job plan of schema {data.get('schema')!r}; this jobwaiter "
                             f"reads schema {SCHEMA}")
        timeout = data.get("timeout")
        return cls(
            name=str(data["name"]),
            cluster=str(data["cluster"]),
            node=str(data["node"]),
            command=str(data["command"]),
            session=data.get("session"),
            waiters=tuple(WaiterStep(str(s)) for s in data.get("waiters", ())),
            spec=data.get("spec"),
            log=data.get("log"),
            timeout=None if timeout is None else float(timeout),
            stop=None if data.get("stop") is None else StopPlan.from_dict(data["stop"]),
            label=data.get("label"),
            max_runtime=None if data.get("max_runtime") is None
            else float(data["max_runtime"]),
        )


def plan_job(site: JobSite, req: JobRequest, name: str | None = None) -> JobPlan:
    """Resolve and build the waiters (the session's own first), choose the name and the log,
    and plan the stop; every problem is a UsageError/SpecError here, before anything runs.
    ``name`` plans for a job that was started earlier (``wait``)."""
    steps: list[WaiterStep] = []
    if req.job_waiter is not None:
        for spec, waiter in resolve_steps(req.job_waiter, dict(site.config),
                                          site.runtime_waiters, req.timeout,
                                          known_runtimes=runtime_names()):
            if waiter.session_kind is not None and waiter.session_kind != req.session:
                where = f"--{req.session}" if req.session else "a foreground job"
                raise UsageError(f"the {waiter.session_kind} waiter needs "
                                 f"--{waiter.session_kind}, not {where}")
            steps.append(WaiterStep(str(spec), waiter))
        if req.session and not _starts_with_session(steps):
            # An engine waiter must not look before the job in the session has submitted
            # anything.
            steps.insert(0, WaiterStep(req.session, session_waiter(req.session)))
    if name is not None and not _starts_with_session(steps):
        # Waiting again: whatever else is waited for, the job itself must have ended first.
        first = session_waiter(req.session) if req.session else JobEndWaiter()
        steps.insert(0, WaiterStep(req.session or JobEndWaiter.name, first))
    name = name or new_name()
    use_log = req.job_log or (req.session is not None and bool(steps))
    return JobPlan(
        name=name,
        cluster=site.cluster,
        node=site.node.id,
        command=req.command,
        session=req.session,
        waiters=tuple(steps),
        spec=req.job_waiter,
        log=log_path(name) if use_log else None,
        timeout=req.timeout,
        stop=site.stop_plan() if req.stop else None,
        label=req.label,
        max_runtime=req.max_runtime,
    )


def _starts_with_session(steps: list[WaiterStep]) -> bool:
    return bool(steps) and steps[0].waiter is not None \
        and steps[0].waiter.session_kind is not None


def with_waiters(plan: JobPlan, site: JobSite) -> JobPlan:
    """The plan with every waiter built (a plan read back from JSON names them only)."""
    steps = []
    for step in plan.waiters:
        if step.waiter is None:
            make = _BUILT_IN.get(step.spec)
            if make is not None:
                step = replace(step, waiter=make())
            else:
                ((_, waiter),) = resolve_steps(step.spec, dict(site.config),
                                                site.runtime_waiters, plan.timeout)
                step = replace(step, waiter=waiter)
        steps.append(step)
    return replace(plan, waiters=tuple(steps))
