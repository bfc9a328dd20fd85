"""The Python API: ``Cluster("cluster.yaml").exec(...)``."""

from __future__ import annotations

import copy
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from jobwaiter import runtimes
from jobwaiter.cluster.config import ClusterConfig, load_config, validate_config
from jobwaiter.cluster.control import control_script
from jobwaiter.cluster.nodes import (
    NodeOutput,
    NodeRun,
    NodesResult,
    control_on_workers,
    done_lines,
    find_node,
    raise_failed,
    run_everywhere,
)
from jobwaiter.cluster.providers import Node, Provider, provider_for
from jobwaiter.errors import JobwaiterError, UsageError
from jobwaiter.jobs import listing, manage
from jobwaiter.jobs.events import NullReporter, Reporter
from jobwaiter.jobs.request import JobRequest, parse_env
from jobwaiter.jobs.result import JobResult, Outcome
from jobwaiter.jobs.run import plan_waiters, run_job
from jobwaiter.jobs.submit import prepare_submit
from jobwaiter.records import JobRecord
from jobwaiter.sessions import session_kind
from jobwaiter.transport.base import Transport
from jobwaiter.waiters.base import Waiter
from jobwaiter.waiters.loop import WaitLoop
from jobwaiter.waiters.registry import available
from jobwaiter.waiters.spec import parse_spec

ConfigSource = str | Path | ClusterConfig | Mapping[str, Any]


def _names(spec_text: str) -> set[str]:
    """Every waiter name a SPEC mentions (a bad SPEC is reported later, by plan_waiters)."""
    try:
        spec = parse_spec(spec_text)
    except UsageError:
        return set()
    names, todo = set(), [spec]
    while todo:
        s = todo.pop()
        names.add(s.name)
        todo.extend(s.args)
    return names


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
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        if isinstance(config, ClusterConfig):
            self.config = config if cluster_name is None else config.model_copy(
                update={"cluster_name": cluster_name})
        elif isinstance(config, Mapping):
            self.config = validate_config(dict(config), cluster_name=cluster_name)
        else:
            self.config = load_config(config, cluster_name)
        self.reporter: Reporter = reporter or NullReporter()
        # How the library asks the user a yes/no question (e.g. stop a cluster that is still
        # busy). Without a way to ask, the answer is no.
        self.confirm: Callable[[str], bool] = confirm or (lambda question: False)
        self._provider: Provider | None = None
        # Set on the copy that runs a job on a worker (exec --node-ip).
        self._job_node: Node | None = None

    # -- structure ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.cluster_name

    @cached_property
    def config_dict(self) -> dict[str, Any]:
        """The validated config as plain data (what waiters and runtimes are given)."""
        return self.config.model_dump(mode="json")

    @cached_property
    def runtimes(self) -> list[runtimes.Runtime]:
        """The configured runtimes, built once from the validated config."""
        return runtimes.configured_runtimes(self.config_dict)

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = provider_for(self.config)
        return self._provider

    @property
    def head_node(self) -> Node:
        """The node jobs run on: the head, except in the copy made for ``--node-ip``."""
        return self._job_node or self.provider.head()

    @property
    def head(self) -> Transport:
        return self.head_node.transport

    @property
    def workers(self) -> list[Node]:
        return self.provider.workers()

    def workers_need_stopping(self) -> bool:
        """Whether stopping the cluster has anything to do on the workers."""
        if not self.workers:
            return False
        return bool(self.config.worker_stop_commands) or any(
            runtimes.stop_commands(self.runtimes, w, self.workers) for w in self.workers)

    def node_transports(self) -> dict[str, Transport]:
        nodes = [self.provider.head(), *self.workers]
        return {n.id: n.transport for n in nodes}

    def runtime_waiters(self) -> dict[str, type[Waiter]]:
        """Waiters provided by the runtimes this cluster configures."""
        return runtimes.runtime_waiters(self.runtimes)

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
        """What ``--stop`` runs on the head inside a job's session: the runtimes' processes
        on the head, then the head's stop commands."""
        runtime = runtimes.stop_commands(self.runtimes, self.head_node, self.workers)
        prefix = "".join(f"{shlex.join(argv)} >&2 || echo 'failed: a runtime stop' >&2\n"
                         for argv in runtime)
        return prefix + self._head_stop_script()

    def _head_stop_script(self) -> str:
        return control_script(self.name, "stop", self.config.head_stop_commands)

    def start(self) -> list[str]:
        """Run the start commands, the head's first and then the workers' in parallel, then
        start the runtimes (idempotent); returns what was done, per node."""
        head = self.provider.head()
        script = control_script(self.name, "start", self.config.head_start_commands)
        result = head.transport.run(["bash", "-c", script])
        result.check(f"starting cluster {self.name}")
        workers = control_on_workers(self.workers, self.name, "start",
                                     self.config.worker_start_commands)
        raise_failed(workers, f"starting cluster {self.name}")
        lines = [f"{head.id}: {result.stdout.strip()}", *done_lines(workers)]
        return lines + runtimes.start_runtimes(self.runtimes, head, self.workers)

    def stop(self) -> list[str]:
        """Stop the runtimes, then run the stop commands, the workers' in parallel and then
        the head's (idempotent); raises CommandError if any failed, after trying them all."""
        head = self.provider.head()
        try:
            lines = runtimes.stop_runtimes(self.runtimes, head, self.workers)
            runtime_error = None
        except JobwaiterError as exc:
            lines, runtime_error = [], exc
        workers = control_on_workers(self.workers, self.name, "stop",
                                     self.config.worker_stop_commands)
        result = head.transport.run(["bash", "-c", self._head_stop_script()])
        raise_failed([*workers, NodeRun(head, result)], f"stopping cluster {self.name}")
        if runtime_error is not None:
            raise runtime_error
        return [*lines, *done_lines(workers), f"{head.id}: {result.stdout.strip()}"]

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
        node_ip: str | None = None,
    ) -> JobResult:
        """Run a bash command on the head (or on the node ``node_ip``), in ``$HOME``."""
        req = self._request(command, tmux, screen, job_waiter, job_log, stop, job_timeout, env)
        target = self.on_node(node_ip)
        if target is not self and req.stop and req.session and not req.job_waiter:
            raise UsageError("--stop with --node-ip needs a --job-waiter: a session on a "
                             "worker cannot stop the cluster")
        # Every SPEC problem surfaces before the cluster starts; the waiters are built once.
        waiters = plan_waiters(target, req)
        self._start_first(start)
        return run_job(target, req, loop, waiters)

    def exec_all(
        self,
        command: str,
        *,
        parallel: bool = True,
        stop: bool = False,
        start: bool = False,
        env: Mapping[str, str] | Sequence[str] | None = None,
        on_line: NodeOutput | None = None,
    ) -> NodesResult:
        """Run a bash command in the foreground on every node, in ``$HOME``;
        ``on_line(node, stream, line)`` gets each line of output as it arrives (called from
        several threads)."""
        req = self._request(command, False, False, None, False, stop, None, env)
        self._start_first(start)
        return run_everywhere(self, req, parallel, on_line)

    def on_node(self, address: str | None) -> Cluster:
        """This cluster with its jobs on the node written ``address`` in the config (the head
        when None): a copy sharing the connections, whose ``head_node`` is that node, so that
        exec, wait, jobs, logs and kill work on a worker as on the head. Start and stop still
        cover every node."""
        if not address:
            return self
        node = find_node([self.provider.head(), *self.workers], address)
        if node.is_head:
            return self
        view = copy.copy(self)
        view._job_node = node
        return view

    def _start_first(self, start: bool) -> None:
        """``--start``: start the cluster once the request has been validated."""
        if not start:
            return
        self.reporter.phase(f"starting cluster {self.name}")
        for line in self.start():
            self.reporter.phase(line)

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
        runtime: str | None = None,
    ) -> JobResult:
        """Upload ``script`` to ``~/user/jobs/`` on the head (or download a URL there) and run
        it by type with ``args`` passed verbatim; with ``runtime`` (e.g. ``"spark"``), run it
        with that configured runtime instead (``spark-submit`` for ``.py``)."""
        runner = runtimes.submit_runtime(self.runtimes, runtime) if runtime else None
        prepared = prepare_submit(script, list(args), runner)
        req = self._request(prepared.command, tmux, screen, job_waiter, job_log, stop,
                            job_timeout, env)
        # A runtime whose submit hands the job to the engine and returns (sbatch) has not
        # finished it: a waiter asked for also waits for the engine's work, scoped to the
        # ids the submission recorded; without one the job is only "started", and --stop
        # would stop too early.
        detaches = runner is not None and runner.submit_detaches
        if detaches and req.job_waiter is None and stop:
            raise UsageError(f"--stop with --runtime {runtime} needs a --job-waiter "
                             f"(e.g. {runtime}): the submission returns before the job ends")
        if detaches and req.job_waiter is not None and runtime not in _names(req.job_waiter):
            req = replace(req, job_waiter=f"chain[{req.job_waiter}, {runtime}]")
        waiters = plan_waiters(self, req)
        self._start_first(start)
        prepared.place(self.head, self.reporter)
        result = run_job(self, req, loop, waiters)
        if detaches and req.job_waiter is None and result.outcome is Outcome.SUCCEEDED:
            result = replace(result, outcome=Outcome.STARTED,
                             message=f"submitted to {runtime}; nothing waits for it "
                                     f"(--job-waiter={runtime} does)")
        return result

    # -- coming back to jobs ------------------------------------------------------------------

    def wait(
        self,
        session: str,
        *,
        job_waiter: str | None = None,
        job_timeout: float | None = None,
        stop: bool = False,
        loop: WaitLoop | None = None,
    ) -> JobResult:
        """Wait again for a job started earlier (by default with the SPEC it started with)."""
        return manage.wait_job(self, session, job_waiter, job_timeout, stop, loop)

    def jobs(
        self, include_old: bool = False, states: str | Iterable[str] | None = None
    ) -> list[JobRecord]:
        """The jobs on the head, newest first; ``states`` keeps those in these states
        (``listing.JOB_STATES``: running, started, succeeded, failed, killed, lost, ...)."""
        wanted = None if states is None else listing.parse_states(states)
        return listing.select_jobs(manage.list_jobs(self, include_old), wanted)

    def logs(self, session: str, follow: bool = False, lines: int | None = None) -> JobRecord:
        """Print a job's log on stdout (following it until the job ends)."""
        return manage.follow_log(self, session, follow, lines)

    def kill(
        self, session: str, signal: str | int = "TERM", grace: float = 10.0
    ) -> manage.KillReport:
        """Stop a job; says whether it was still running and what is recorded now."""
        signum = signal if isinstance(signal, int) else manage.parse_signal(signal)
        return manage.kill_job(self, session, signum, grace)

    def prune(self, older_than: float = 7 * 86400) -> list[str]:
        """Remove records and logs of ended jobs older than ``older_than`` seconds."""
        return manage.prune_jobs(self, older_than)

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
