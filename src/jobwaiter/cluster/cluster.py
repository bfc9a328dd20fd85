"""The Python API: ``Cluster("cluster.yaml").exec(...)``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jobwaiter.cluster.config import ClusterConfig, load_config, validate_config
from jobwaiter.cluster.control import control_script
from jobwaiter.cluster.providers import Node, Provider, provider_for
from jobwaiter.errors import CommandError
from jobwaiter.jobs.events import NullReporter, Reporter
from jobwaiter.jobs.request import JobRequest, parse_env
from jobwaiter.jobs.result import JobResult
from jobwaiter.jobs.run import plan_waiters, run_job
from jobwaiter.jobs.submit import prepare_submit
from jobwaiter.sessions import session_kind
from jobwaiter.transport.base import Transport
from jobwaiter.waiters.base import Waiter
from jobwaiter.waiters.loop import WaitLoop
from jobwaiter.waiters.registry import available

ConfigSource = str | Path | ClusterConfig | Mapping[str, Any]


class Cluster:
    """A cluster described by a config file (or an already-loaded config).

    Job failures come back as a ``JobResult``; bad arguments raise ``UsageError`` and an
    unreachable head raises ``TransportError``.
    """

    def __init__(
        self,
        config: ConfigSource,
        cluster_name: str | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        if isinstance(config, ClusterConfig):
            self.config = config if cluster_name is None else config.model_copy(
                update={"cluster_name": cluster_name})
        elif isinstance(config, Mapping):
            self.config = validate_config(dict(config), cluster_name=cluster_name)
        else:
            self.config = load_config(config, cluster_name)
        self.reporter: Reporter = reporter or NullReporter()
        self._provider: Provider | None = None

    # -- structure ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.cluster_name

    @property
    def config_dict(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = provider_for(self.config)
        return self._provider

    @property
    def head_node(self) -> Node:
        return self.provider.head()

    @property
    def head(self) -> Transport:
        return self.head_node.transport

    @property
    def workers(self) -> list[Node]:
        return self.provider.workers()

    def node_transports(self) -> dict[str, Transport]:
        nodes = [self.head_node, *self.workers]
        return {n.id: n.transport for n in nodes}

    def runtime_waiters(self) -> dict[str, type[Waiter]]:
        """Waiters provided by the runtimes this cluster configures."""
        from jobwaiter.runtimes import runtime_waiters

        return runtime_waiters(self.config_dict)

    def attach_command(self, kind: str, session: str) -> list[str]:
        return [*self.head_node.shell_prefix, *session_kind(kind).attach_argv(session)]

    def waiters(self) -> list[tuple[str, str]]:
        return available(self.runtime_waiters())

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()
            self._provider = None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- start / stop ------------------------------------------------------------------------

    def stop_script(self) -> str:
        return control_script(self.name, "stop", self.config.head_stop_commands)

    def start(self) -> list[str]:
        """Run the start commands (idempotent); returns what was done, per node."""
        script = control_script(self.name, "start", self.config.head_start_commands)
        result = self.head.run(["bash", "-c", script])
        result.check(f"starting cluster {self.name}")
        return [f"{self.head_node.id}: {result.stdout.strip()}"]

    def stop(self) -> list[str]:
        """Run the stop commands (idempotent); raises CommandError if any failed."""
        result = self.head.run(["bash", "-c", self.stop_script()])
        if not result.ok:
            raise CommandError(result, f"stopping cluster {self.name}")
        return [f"{self.head_node.id}: {result.stdout.strip()}"]

    # -- jobs --------------------------------------------------------------------------------

    def exec(
        self,
        command: str,
        *,
        tmux: bool = False,
        screen: bool = False,
        job_waiter: str | None = None,
        job_log: bool = False,
        stop: bool = False,
        start: bool = False,
        job_timeout: float | None = None,
        env: Mapping[str, str] | Sequence[str] | None = None,
        loop: WaitLoop | None = None,
    ) -> JobResult:
        """Run a bash command on the head, in ``$HOME``."""
        req = self._request(command, tmux, screen, job_waiter, job_log, stop, job_timeout, env)
        plan_waiters(self, req)  # every SPEC problem surfaces before the cluster starts
        if start:
            self.reporter.phase(f"starting cluster {self.name}")
            for line in self.start():
                self.reporter.phase(line)
        return run_job(self, req, loop)

    def submit(
        self,
        script: str,
        args: Sequence[str] = (),
        *,
        tmux: bool = False,
        screen: bool = False,
        job_waiter: str | None = None,
        job_log: bool = False,
        stop: bool = False,
        start: bool = False,
        job_timeout: float | None = None,
        env: Mapping[str, str] | Sequence[str] | None = None,
        loop: WaitLoop | None = None,
    ) -> JobResult:
        """Upload ``script`` to ``~/user/jobs/`` on the head (or download a URL there) and run
        it by type with ``args`` passed verbatim."""
        prepared = prepare_submit(script, list(args))
        req = self._request(prepared.command, tmux, screen, job_waiter, job_log, stop,
                            job_timeout, env)
        plan_waiters(self, req)
        if start:
            self.reporter.phase(f"starting cluster {self.name}")
            for line in self.start():
                self.reporter.phase(line)
        prepared.place(self.head, self.reporter)
        return run_job(self, req, loop)

    @staticmethod
    def _request(
        command: str,
        tmux: bool,
        screen: bool,
        job_waiter: str | None,
        job_log: bool,
        stop: bool,
        timeout: float | None,
        env: Mapping[str, str] | Sequence[str] | None,
    ) -> JobRequest:
        from jobwaiter.errors import UsageError

        if tmux and screen:
            raise UsageError("--tmux and --screen cannot be used together")
        if isinstance(env, Mapping):
            pairs = tuple((str(k), str(v)) for k, v in env.items())
        else:
            pairs = parse_env(list(env or ()))
        return JobRequest(
            command=command,
            session="tmux" if tmux else "screen" if screen else None,
            job_waiter=job_waiter,
            job_log=job_log,
            stop=stop,
            timeout=timeout,
            env=pairs,
        )
