"""The Python API: ``Cluster("cluster.yaml").exec(...)``.

A ``Cluster`` owns the config, the provider's nodes and the runtimes; for each job it hands
``jobs`` a ``JobSite`` (what a job needs of the cluster) and never is handed down itself.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from jobwaiter import runtimes
from jobwaiter.cluster.api_names import in_python_words
from jobwaiter.cluster.attach import AttachTarget, attach_session, attach_target
from jobwaiter.cluster.config import ClusterConfig, load_config, validate_config
from jobwaiter.cluster.control import control_argv
from jobwaiter.cluster.nodes import control_on_workers, find_node
from jobwaiter.cluster.providers import Provider, provider_for
from jobwaiter.cluster.status import ClusterStatus, cluster_status
from jobwaiter.errors import JobwaiterError, TransportError, UsageError
from jobwaiter.jobs import autostop, listing, manage, watch
from jobwaiter.jobs.autostop import AutostopState
from jobwaiter.jobs.events import NullReporter, Reporter
from jobwaiter.jobs.everywhere import NodeOutput, NodesResult, run_everywhere
from jobwaiter.jobs.nodes import NodeRun, done_lines, raise_failed
from jobwaiter.jobs.plan import JobPlan, NodeStop, StopCommand, StopPlan, plan_job
from jobwaiter.jobs.request import JobOptions, JobRequest, duration
from jobwaiter.jobs.result import JobResult, StopReport
from jobwaiter.jobs.run import run_job
from jobwaiter.jobs.site import JobSite
from jobwaiter.jobs.stop import look
from jobwaiter.jobs.submit import prepare_submit, submitted, with_runtime
from jobwaiter.jobs.tail import DEFAULT_TAIL_LINES, log_tail
from jobwaiter.jobs.transaction import Journal, read_journal, stop_cluster, when
from jobwaiter.records import JobRecord
from jobwaiter.sessions import session_kind
from jobwaiter.transport.base import Transport
from jobwaiter.transport.node import Node
from jobwaiter.waiters.base import Waiter
from jobwaiter.waiters.loop import WaitLoop
from jobwaiter.waiters.registry import available

if sys.version_info >= (3, 11):
    from typing import Unpack
else:
    from typing_extensions import Unpack

ConfigSource = str | Path | ClusterConfig | Mapping[str, Any]


class Cluster:
    """A cluster described by a config file (or an already-loaded config).

    Job failures come back as a ``JobResult``; bad arguments raise ``UsageError`` and an
    unreachable head raises ``TransportError``. ``node_ip`` (an address of the config) runs
    or finds a job on that node instead of the head. Durations (``job_timeout``,
    ``max_runtime``, ``idle``, ``grace``, ``older_than``) are seconds or the CLI's forms
    (``"90s"``, ``"1h30m"``).
    """

    #: Errors name the Python arguments (``tmux=True``); the CLI sets this to name its flags.
    flag_names: bool = False

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
        #: The config file's path as given (what a hint to run another command names).
        self.source = str(config) if isinstance(config, (str, Path)) else ""
        self.reporter: Reporter = reporter or NullReporter()
        # How the library asks the user a yes/no question (e.g. stop a cluster that is still
        # busy). Without a way to ask, the answer is no.
        self.confirm: Callable[[str], bool] = confirm or (lambda question: False)
        self._provider: Provider | None = None

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
    def head(self) -> Transport:
        return self.provider.head().transport

    @property
    def workers(self) -> list[Node]:
        return self.provider.workers()

    @property
    def nodes(self) -> tuple[Node, ...]:
        """Every node, the head first."""
        return (self.provider.head(), *self.provider.workers())

    def node(self, address: str | None = None) -> Node:
        """The node written ``address`` in the config; the head when None."""
        return find_node(self.nodes, address) if address else self.provider.head()

    def runtime_waiters(self) -> dict[str, type[Waiter]]:
        """Waiters provided by the runtimes this cluster configures."""
        return runtimes.runtime_waiters(self.runtimes)

    def site(self, node_ip: str | None = None) -> JobSite:
        """What a job on ``node_ip`` (the head when None) is given of this cluster."""
        return JobSite(
            cluster=self.name,
            node=self.node(node_ip),
            nodes=self.nodes,
            config=self.config_dict,
            runtime_waiters=self.runtime_waiters(),
            stop_plan=self.stop_plan,
            reporter=self.reporter,
            confirm=self.confirm,
        )

    def attach_command(self, kind: str, session: str, node_ip: str | None = None) -> list[str]:
        return [*self.node(node_ip).shell_prefix, *session_kind(kind).attach_argv(session)]

    @in_python_words
    def attach_target(self, job: str | None = None, node_ip: str | None = None) -> AttachTarget:
        """The session of ``job`` (default: the newest running in a session) and the command
        that attaches a terminal to it; ``attach`` runs that command."""
        return attach_target(self, job, node_ip)

    @in_python_words
    def attach(self, job: str | None = None, node_ip: str | None = None) -> int:
        return attach_session(self, job, node_ip)

    def status(self) -> ClusterStatus:
        """Reachable or not, recorded state, runtimes, running jobs, armed stops."""
        return cluster_status(self)

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

    def stop_plan(self) -> StopPlan:
        """How the cluster stops, per node: the runtimes' processes (last started first),
        then the node's stop commands; the workers' parts run before the head's."""
        head, workers = self.provider.head(), self.workers

        def part(node: Node, state: str, commands: list[str], always: bool) -> NodeStop:
            steps = [StopCommand(tuple(argv), runtime.name)
                     for runtime in reversed(self.runtimes)
                     for argv in runtime.stop_commands(node, workers)]
            if commands or always:
                steps.append(StopCommand(tuple(control_argv(state, "stop", commands))))
            return NodeStop(node.id, tuple(steps))

        return StopPlan(
            cluster=self.name,
            head=part(head, self.name, self.config.head_stop_commands, always=True),
            # Each worker keeps its own state file: workers often share one (NFS) home.
            workers=tuple(part(w, f"{self.name}.worker-{w.ip}",
                               self.config.worker_stop_commands, always=False)
                          for w in workers),
        )

    def stop_script(self) -> str:
        """What ``--stop`` runs inside a job's session: the head's part of the stop."""
        return self.stop_plan().head.script()

    def start(self) -> list[str]:
        """Run the start commands, the head's first and then the workers' in parallel, then
        start the runtimes (idempotent); returns what was done, per node."""
        head = self.provider.head()
        result = head.transport.run(control_argv(self.name, "start",
                                                 self.config.head_start_commands))
        result.check(f"starting cluster {self.name}")
        workers = control_on_workers(self.workers, self.name, "start",
                                     self.config.worker_start_commands)
        raise_failed(workers, f"starting cluster {self.name}")
        lines = done_lines([NodeRun(head, result), *workers])
        return lines + runtimes.start_runtimes(self.runtimes, head, self.workers)

    def stop(self) -> StopReport:
        """Stop the cluster, once (``jobs.transaction``): the runtimes and the stop commands,
        the workers' in parallel and then the head's, only if every worker stopped. A stop
        already running is waited for and reported; a stopped cluster is not stopped again
        (``state`` ``not_run``); steps of an interrupted stop run again. The head's part
        disarms autostop. Raises TransportError when the head cannot be reached."""
        return stop_cluster(self.stop_plan(), self.nodes, f"jobwaiter stop on {_host()}",
                            rerun_interrupted=True, on_wait=self._waiting_for_stop)

    def stop_journal(self) -> Journal:
        """The cluster's last stop as the head keeps it. One that its owner left half-way
        (killed, cut off) is finished first: whoever next touches the head does."""
        head = self.provider.head()
        journal = read_journal(head, self.name)
        if journal.abandoned and isinstance(journal.plan, dict) and "stop" in journal.plan:
            self.reporter.warn(f"finishing the stop of cluster {self.name} that "
                               f"{journal.owner} began and left")
            report = stop_cluster(StopPlan.from_dict(journal.plan["stop"]), self.nodes,
                                  f"{journal.owner}, resumed from {_host()}",
                                  saved={k: v for k, v in journal.plan.items() if k != "stop"})
            (self.reporter.phase if report.state == "done" else self.reporter.warn)(
                report.detail)
            journal = read_journal(head, self.name)
        return journal

    def check_launch(self, start: bool, resume: bool = True) -> None:
        """Before a job is launched: an interrupted stop is finished (unless not ``resume``:
        a dry run changes nothing), and a stopped cluster refuses new jobs (UsageError)
        unless ``start`` starts it first."""
        journal = self.stop_journal() if resume else read_journal(self.provider.head(),
                                                                   self.name)
        if journal.stopped and not start:
            where = f"'jobwaiter start {self.source}'" if self.source else "jobwaiter start"
            raise UsageError(f"cluster {self.name} is stopped (since "
                             f"{when(journal.state_since)}): add --start, or run {where}")

    def _waiting_for_stop(self, owner: str) -> None:
        self.reporter.progress(f"waiting for the stop run by {owner}", 0.0)

    def other_work(self) -> list[str]:
        """What runs on the cluster's nodes now (jobs alive, head watches still waiting): what
        a job's ``--stop`` would wait for."""
        return look(self.site(), "")[0]

    # -- autostop ----------------------------------------------------------------------------

    @in_python_words
    def autostop(self, idle: float | str, wait_for: str = "jobs_and_ssh") -> AutostopState:
        """Arm the head to stop the whole cluster once it has been idle for ``idle`` (seconds
        or a duration such as ``"30m"``): no jobwaiter job alive on any node, no runtime
        work pending or running, and (``wait_for="jobs_and_ssh"``) nobody attached to a
        session or logged in on the head. Arming again restarts the idle clock."""
        seconds = _duration(idle, "idle")
        autostop.arm(self.site(), seconds, wait_for)
        state = self.autostop_state()
        if state is None:
            raise JobwaiterError("autostop was armed but the head shows no autostop state")
        return state

    @in_python_words
    def autostop_cancel(self) -> bool:
        """Disarm autostop; True when it was armed."""
        return autostop.cancel(self.site())

    def autostop_state(self) -> AutostopState | None:
        """Autostop as the head keeps it (None: never armed there)."""
        return manage.list_jobs_and_autostop(self.site(), include_old=False)[1]

    def _start_first(self, start: bool) -> None:
        """``--start``: start the cluster once the request has been validated."""
        if not start:
            return
        self.reporter.phase(f"starting cluster {self.name}")
        for line in self.start():
            self.reporter.phase(line)

    # -- jobs --------------------------------------------------------------------------------

    @in_python_words
    def plan(self, request: JobRequest) -> JobPlan:
        """The plan of ``request``, without running anything (every problem raised here)."""
        return plan_job(self._job_site(request), request)

    @in_python_words
    def exec(
        self,
        command: str | JobRequest,
        *,
        loop: WaitLoop | None = None,
        **options: Unpack[JobOptions],
    ) -> JobResult:
        """Run a bash command on the head (or on the node ``node_ip``), in ``$HOME``.
        ``options`` are those of ``JobRequest.of``: ``tmux``, ``screen``, ``job_waiter``,
        ``job_log``, ``stop``, ``start``, ``job_timeout``, ``env``, ``node_ip``, ``label``
        (``--name``: names the job for ``wait``, ``logs`` and ``kill``)."""
        req = command if isinstance(command, JobRequest) else JobRequest.of(command, **options)
        site = self._job_site(req)
        # Every problem surfaces before the cluster starts; the waiters are built once.
        plan = plan_job(site, req)
        self.check_launch(req.start)
        ready = self._start_with_watch(site, plan, req)
        return manage.labelled(run_job(site, req, plan, loop, ready), req.label)

    @in_python_words
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
        req = JobRequest.of(command, stop=stop, start=start, env=env)
        self.check_launch(start)
        self._start_first(start)
        return run_everywhere(self.site(), req, parallel, on_line)

    @in_python_words
    def submit(
        self,
        script: str,
        args: Sequence[str] = (),
        *,
        runtime: str | None = None,
        loop: WaitLoop | None = None,
        **options: Unpack[JobOptions],
    ) -> JobResult:
        """Upload ``script`` to ``~/user/jobs/`` on the head (or download a URL there) and run
        it by type with ``args`` passed verbatim; with ``runtime`` (e.g. ``"spark"``), run it
        with that configured runtime instead (``spark-submit`` for ``.py``). ``options`` are
        those of ``exec``."""
        runner = runtimes.submit_runtime(self.runtimes, runtime) if runtime else None
        prepared = prepare_submit(script, list(args), runner)
        req = with_runtime(JobRequest.of(prepared.command, **options), runner)
        if req.node_ip:
            raise UsageError("submit runs on the head (--node-ip is for exec)")
        site = self.site()
        plan = plan_job(site, req)
        self.check_launch(req.start)
        ready = self._start_with_watch(site, plan, req)
        prepared.place(site.head, self.reporter)
        return manage.labelled(submitted(run_job(site, req, plan, loop, ready), req, runner),
                               req.label)

    @in_python_words
    def dry_run(
        self,
        request: JobRequest,
        script: str | None = None,
        args: Sequence[str] = (),
        runtime: str | None = None,
    ) -> watch.DryRun:
        """What ``exec`` (or ``submit`` of ``script``) would run, checked as for real and
        run nothing: the plan, and where the job would be watched."""
        if script is not None:
            runner = runtimes.submit_runtime(self.runtimes, runtime) if runtime else None
            prepared = prepare_submit(script, list(args), runner)
            request = with_runtime(replace(request, command=prepared.command), runner)
        site = self._job_site(request)
        plan = plan_job(site, request)
        # A stopped cluster is refused as a run refuses it; a head that cannot be reached
        # leaves the plan to be shown (a dry run needs no head).
        with contextlib.suppress(TransportError):
            self.check_launch(request.start, resume=False)
        return watch.where(site, plan, request)

    def _start_with_watch(self, site: JobSite, plan: JobPlan,
                          req: JobRequest) -> watch.HeadWatch | None:
        """``--start`` if asked, and where the job is watched: the head's watch made ready,
        or None for this client. It is made ready before the start when it can be (a
        ``--watch head`` that cannot work fails before anything runs); with ``--start`` the
        head may not be up before it."""
        mode = watch.check_request(site, plan, req)
        # --detach is nothing without the head's watch: never a client that waits instead.
        needed = "head" if req.detach and mode != "client" else mode
        ready = None
        if mode != "client" and not req.start:
            ready = watch.setup(site, plan, needed)
            mode = mode if ready else "client"
        self._start_first(req.start)
        if mode != "client" and ready is None:
            ready = watch.setup(site, plan, needed)
        return ready

    def _job_site(self, req: JobRequest) -> JobSite:
        site = self.site(req.node_ip)
        if not site.node.is_head and req.stop and req.session and not req.job_waiter:
            raise UsageError("--stop with --node-ip needs a --job-waiter: a session on a "
                             "worker cannot stop the cluster")
        return site

    # -- coming back to jobs ------------------------------------------------------------------
    # A job (``session`` below) may be named by its session name, its --name label, a unique
    # prefix of 4+ of its hex digits, or "@last" (jobs/names.py).

    @in_python_words
    def resolve_job(self, job: str, node_ip: str | None = None) -> str:
        """The session name of the job ``job`` names on the head (or ``node_ip``);
        ``UsageError`` when it names none or several."""
        return manage.get_record(self.site(node_ip), job).name

    @in_python_words
    def wait(
        self,
        session: str,
        *,
        job_waiter: str | None = None,
        job_timeout: float | str | None = None,
        stop: bool = False,
        loop: WaitLoop | None = None,
        node_ip: str | None = None,
        watch: str | None = None,
        detach: bool = False,
    ) -> JobResult:
        """Wait again for a job started earlier (by default with the SPEC it started with);
        a job the head watches is followed there. ``detach`` hands the job to the head's
        watch and returns (outcome ``detached``)."""
        self.stop_journal()
        return manage.wait_job(self.site(node_ip), session, job_waiter,
                               duration(job_timeout, "--job-timeout"), stop, loop, watch,
                               detach)

    @in_python_words
    def wait_all(
        self,
        jobs: list[str] | None = None,
        *,
        on_result: Callable[[JobResult], None] | None = None,
        job_waiter: str | None = None,
        job_timeout: float | str | None = None,
        stop: bool = False,
        node_ip: str | None = None,
        watch: str | None = None,
    ) -> list[JobResult]:
        """Wait for several jobs at once (None: every job running), over one connection;
        ``on_result`` is called as each job's result comes."""
        self.stop_journal()
        return manage.wait_jobs(self.site(node_ip), jobs, on_result or (lambda r: None),
                                job_waiter, duration(job_timeout, "--job-timeout"), stop,
                                watch)

    @in_python_words
    def disarm(
        self, jobs: list[str] | None = None, node_ip: str | None = None
    ) -> list[tuple[str, str]]:
        """Cancel the stops armed after ``jobs`` (None: every job with one); returns
        ``(job, what)`` with ``what`` "disarmed", "already disarmed", "nothing armed" or
        "too late: ..." (a stop that has begun)."""
        return manage.disarm_jobs(self.site(node_ip), jobs)

    @in_python_words
    def jobs_and_autostop(
        self, include_old: bool = False, states: str | Iterable[str] | None = None,
        node_ip: str | None = None,
    ) -> tuple[list[JobRecord], AutostopState | None]:
        """``jobs``, and autostop as that node shows it, read together."""
        wanted = None if states is None else listing.parse_states(states)
        records, state = manage.list_jobs_and_autostop(self.site(node_ip), include_old)
        return listing.select_jobs(records, wanted), state

    @in_python_words
    def jobs(
        self,
        include_old: bool = False,
        states: str | Iterable[str] | None = None,
        node_ip: str | None = None,
    ) -> list[JobRecord]:
        """The jobs on the head (or the node ``node_ip``), newest first; ``states`` keeps
        those in these states (``listing.JOB_STATES``: running, started, succeeded, failed,
        killed, lost, ...)."""
        wanted = None if states is None else listing.parse_states(states)
        return listing.select_jobs(manage.list_jobs(self.site(node_ip), include_old), wanted)

    @in_python_words
    def logs(
        self,
        session: str,
        follow: bool = False,
        lines: int | None = None,
        node_ip: str | None = None,
    ) -> str:
        """A job's log (its last ``lines``), as text; with ``follow``, once the job has ended
        (the whole log, or its last ``lines``)."""
        return manage.read_log(self.site(node_ip), session, follow, lines)

    @in_python_words
    def print_log(
        self,
        session: str,
        follow: bool = False,
        lines: int | None = None,
        node_ip: str | None = None,
    ) -> manage.LogShown:
        """Print a job's log on this process's stdout as it comes (following it until the
        job ends); returns the job's record afterwards and whether the log was empty."""
        return manage.follow_log(self.site(node_ip), session, follow, lines)

    @in_python_words
    def log_tail(
        self, job: str | JobResult, lines: int = DEFAULT_TAIL_LINES, node_ip: str | None = None
    ) -> list[str]:
        """The last ``lines`` lines of a job's log (a session name or a ``JobResult``)."""
        return log_tail(self.site(node_ip), job, lines)

    @in_python_words
    def kill(
        self,
        session: str,
        signal: str | int = "TERM",
        grace: float | str = 10.0,
        node_ip: str | None = None,
        stop: bool = False,
    ) -> manage.KillReport:
        """Stop a job; says whether it was still running and what is recorded now. A stop
        armed after the job is disarmed first (a kill never stops the cluster as a side
        effect); ``stop=True`` keeps it."""
        signum = signal if isinstance(signal, int) else manage.parse_signal(signal)
        seconds = duration(grace, "--grace", allow_zero=True)
        return manage.kill_job(self.site(node_ip), session, signum,
                               10.0 if seconds is None else seconds, keep_stop=stop)

    @in_python_words
    def prune(
        self, older_than: float | str = 7 * 86400, node_ip: str | None = None
    ) -> list[str]:
        """Remove records and logs of ended jobs older than ``older_than`` (seconds, or a
        duration such as ``"7d"``)."""
        seconds = duration(older_than, "--older-than", allow_zero=True)
        return manage.prune_jobs(self.site(node_ip), 7 * 86400 if seconds is None else seconds)


def _host() -> str:
    return socket.gethostname() or "this machine"


def _duration(value: float | str, what: str) -> float:
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit() \
            and float(value) != 0:
        # As the CLI: a bare number of minutes elsewhere (SkyPilot) must not mean seconds.
        raise UsageError(f"--{what} {value.strip()}: give a unit: {value.strip()}m or "
                         f"{value.strip()}s (or a number of seconds)")
    seconds = duration(value, f"--{what}")
    if seconds is None or not seconds > 0:
        raise UsageError(f"--{what} must be more than zero")
    return float(seconds)
