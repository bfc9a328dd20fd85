"""What a runtime is: an engine installed on the cluster that can provide job waiters, the
commands that start and stop it on each node, and how ``submit`` runs a file type with it.

Stdlib only: runtimes may later run on a head node that has nothing but python3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from jobwaiter.errors import CommandError, JobwaiterError
from jobwaiter.transport.address import node_host
from jobwaiter.transport.base import Transport
from jobwaiter.waiters.base import Waiter


class NodeLike(Protocol):
    """A cluster node as a runtime sees it (the provider's ``Node`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def ip(self) -> str: ...

    @property
    def transport(self) -> Transport: ...

    @property
    def is_head(self) -> bool: ...


#: States a runtime component can be in, as ``status`` reports it. ``up``: running and
#: answering as it should; ``down``: not running; ``unknown``: it could not be told (a node
#: that cannot be reached, an engine that answers oddly), the detail says why.
UP, DOWN, UNKNOWN = "up", "down", "unknown"

#: How long one status call (a daemon's pid check, one REST request) may take, in seconds.
STATUS_TIMEOUT = 10.0


@dataclass(frozen=True)
class RuntimeStatus:
    """One component of a runtime as ``jobwaiter status`` shows it: the Spark master on the
    head, a worker on a node, the Slurm controller."""

    runtime: str
    component: str
    #: The node's id ("head", or a worker's address); "" for something cluster-wide.
    node: str
    state: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"runtime": self.runtime, "component": self.component, "node": self.node,
                "state": self.state, "detail": self.detail}


#: What a runtime is doing, as autostop asks it: ``busy`` (work pending or running anywhere
#: on the cluster, the scope of its waiters' ``[all]``), ``idle``, or ``unknown`` (it could
#: not be told; autostop counts that as busy: a cluster is never stopped on a guess).
BUSY, IDLE = "busy", "idle"


@dataclass(frozen=True)
class Activity:
    """One runtime's answer to "is there work?" (``state`` is BUSY, IDLE or UNKNOWN)."""

    runtime: str
    state: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"runtime": self.runtime, "state": self.state, "detail": self.detail}


class Runtime:
    """Base class of runtimes. Subclasses set ``name`` and ``describe`` and override what they
    provide; everything defaults to "nothing".

    A runtime is built from the cluster config as a dict (already validated) and reads its own
    section, ``runtime.<name>``.
    """

    name: ClassVar[str] = ""
    describe: ClassVar[str] = ""
    #: File suffixes ``submit --runtime NAME`` runs, with what runs them (for messages).
    submit_types: ClassVar[Mapping[str, str]] = {}
    #: The frozen dataclass that defines the keys of the ``runtime.<name>`` config section;
    #: the config layer validates the section against it. None: the runtime has no settings.
    config_section: ClassVar[type[Any] | None] = None
    #: True when the submit command only hands the file to the engine and returns (sbatch):
    #: its exit 0 means "submitted", so without a waiter the outcome is "started".
    submit_detaches: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    @property
    def cluster_name(self) -> str:
        return str(self.config.get("cluster_name", ""))

    def waiters(self) -> dict[str, type[Waiter]]:
        """Waiters this runtime provides, by the name ``--job-waiter`` uses."""
        return {}

    def start(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[str]:
        """Start the runtime on every node, idempotently; return one line per thing done.
        Raise ``CommandError`` (or ``RuntimeStartError``) when it cannot be started."""
        return []

    def stop_commands(self, node: NodeLike, workers: Sequence[NodeLike]) -> list[list[str]]:
        """argv lists that stop this runtime's processes on ``node`` (idempotent: stopping
        what is not running succeeds). Also run inside a job's session by ``--stop`` without
        a waiter, where only the head's part can run."""
        return []

    def stop(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[str]:
        """Stop the runtime everywhere: workers first, then the head. Every node is tried;
        the first failure is raised afterwards."""
        lines: list[str] = []
        failure: CommandError | None = None
        for node in [*workers, head]:
            for argv in self.stop_commands(node, workers):
                result = node.transport.run(argv)
                if result.ok:
                    lines += [f"{node.id}: {self.name}: {line}"
                              for line in result.stdout.splitlines() if line]
                elif failure is None:
                    failure = CommandError(result, f"stopping {self.name} on {node.id}")
        if failure is not None:
            raise failure
        return lines

    def status(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[RuntimeStatus]:
        """Whether the runtime is up, component by component, from what can be told cheaply
        (a recorded pid, one REST call through the head), each call bounded by
        ``STATUS_TIMEOUT``. A node that cannot be reached makes its components ``unknown``;
        this never raises for that. The default: the runtime cannot tell."""
        return [RuntimeStatus(self.name, self.name, "", UNKNOWN,
                              "this runtime does not report its status")]

    def activity(self, head: NodeLike) -> Activity:
        """Whether the engine has work pending or running anywhere on the cluster (what its
        waiters' ``[all]`` scope covers), from one cheap call through the head. An engine
        that is not running has no work (IDLE); one that runs but does not answer as it
        should is UNKNOWN. The default: the runtime does not track work (IDLE, said so)."""
        return Activity(self.name, IDLE, "this runtime does not report its work")

    def submit_command(self, path: str, args: Sequence[str]) -> str:
        """The bash command that runs the uploaded file ``path`` (relative to ``$HOME`` on the
        head) with ``args``, each quoted exactly once."""
        raise NotImplementedError(f"the {self.name} runtime does not run files")


class SettingsError(ValueError):
    """Bad values in a section of the config (a runtime's settings), every one found:
    ``problems`` holds ``(key, message)`` pairs, the key (or list index) locating the problem
    inside the section, the message naming it (``web_ui_port must be a port number``). A
    ValueError, so that validation reports it like any other bad value, one line each."""

    def __init__(self, problems: Sequence[tuple[str | int, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


def check_settings(problems: Sequence[tuple[str | int, str]]) -> None:
    """Raise SettingsError when a settings dataclass found any problem."""
    if problems:
        raise SettingsError(problems)


class RuntimeStartError(JobwaiterError):
    """A runtime's processes were started but did not become ready in time."""


def head_address(config: Mapping[str, Any]) -> str:
    """The head node's address as the cluster's nodes reach it."""
    provider = config.get("provider") or {}
    if provider.get("type") == "ssh":
        return node_host(str(provider.get("head_ip", "")))
    return "127.0.0.1"


def url_host(host: str) -> str:
    """``host`` as it goes before ``:port`` in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
