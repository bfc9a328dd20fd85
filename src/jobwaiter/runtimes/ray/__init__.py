"""The Ray runtime: the ``ray`` waiter, a Ray head and workers that ``jobwaiter start``/
``stop`` manage, and ``submit --runtime ray`` for ``.py`` files (through the Jobs API)."""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from jobwaiter.errors import CommandError
from jobwaiter.runtimes.base import (
    STATUS_TIMEOUT,
    Activity,
    NodeLike,
    Runtime,
    RuntimeStartError,
    RuntimeStatus,
    head_address,
)
from jobwaiter.runtimes.base import url_host as _url_host
from jobwaiter.runtimes.daemons import daemon_state
from jobwaiter.runtimes.http import fetch
from jobwaiter.runtimes.ray.health import ray_status
from jobwaiter.runtimes.ray.settings import RaySettings
from jobwaiter.runtimes.ray.waiter import RayWaiter, ray_activity
from jobwaiter.transport.address import node_host
from jobwaiter.waiters.base import Waiter

__all__ = ["RayRuntime", "RaySettings", "RayWaiter"]


@lru_cache(maxsize=None)
def _daemon_script() -> str:
    return (Path(__file__).with_name("sh") / "daemon.sh").read_text()


@lru_cache(maxsize=None)
def _submit_script() -> str:
    return Path(__file__).with_name("submit_job.py").read_text()


@lru_cache(maxsize=None)
def _stop_jobs_script() -> str:
    return Path(__file__).with_name("stop_jobs.py").read_text()


class RayRuntime(Runtime):
    """Ray: a head on the head node, workers on the other nodes."""

    name = "ray"
    describe = "Ray: a head and workers, jobs through the Jobs API"
    submit_types: ClassVar[Mapping[str, str]] = {".py": "the Ray Jobs API"}
    config_section = RaySettings

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.settings = RaySettings.from_config(dict(config))
        self.head_host = head_address(config)

    @property
    def state_dir(self) -> str:
        """Pid files and logs of the daemons, relative to ``$HOME``."""
        return f".jobwaiter/runtimes/{self.cluster_name}/ray"

    @property
    def dashboard_url(self) -> str:
        return f"http://{_url_host(self.head_host)}:{self.settings.dashboard_port}"

    @property
    def temp_dir(self) -> str:
        return self.settings.temp_dir or f"/tmp/jwray-{self.cluster_name or 'default'}"[:60]

    def waiters(self) -> dict[str, type[Waiter]]:
        return {RayWaiter.name: RayWaiter}

    # -- start / stop ------------------------------------------------------------------------

    def _node_args(self, node: NodeLike) -> list[str]:
        s = self.settings
        args = [
            f"--node-ip-address={node_host(node.ip)}",
            f"--node-manager-port={s.node_manager_port}",
            f"--object-manager-port={s.object_manager_port}",
            f"--dashboard-agent-listen-port={s.dashboard_agent_listen_port}",
            f"--dashboard-agent-grpc-port={s.dashboard_agent_grpc_port}",
            f"--runtime-env-agent-port={s.runtime_env_agent_port}",
            f"--metrics-export-port={s.metrics_export_port}",
            f"--min-worker-port={s.min_worker_port}",
            f"--max-worker-port={s.max_worker_port}",
            "--disable-usage-stats",
        ]
        if s.num_cpus is not None:
            args.append(f"--num-cpus={s.num_cpus}")
        return args

    def _daemon_argv(self, action: str, role: str, *args: str) -> list[str]:
        return ["bash", "-c", _daemon_script(), "jw", action, role, self.state_dir,
                self.settings.ray_bin, *args]

    def start(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[str]:
        s = self.settings
        deadline = time.monotonic() + s.start_timeout
        lines = self._run(head, self._daemon_argv(
            "start", "head", "--head", f"--port={s.gcs_port}",
            f"--dashboard-host={self.head_host}", f"--dashboard-port={s.dashboard_port}",
            "--include-dashboard=true", f"--ray-client-server-port={s.client_server_port}",
            f"--temp-dir={self.temp_dir}", *self._node_args(head)))
        self._wait_nodes(head, deadline, 1, [(head, "head")])
        address = f"{_url_host(self.head_host)}:{s.gcs_port}"
        for node in workers:
            lines += self._run(node, self._daemon_argv(
                "start", "worker", f"--address={address}", *self._node_args(node)))
        n = self._wait_nodes(head, deadline, 1 + len(workers),
                             [(head, "head"), *((n, "worker") for n in workers)])
        lines.append(f"{head.id}: ray: {n} node(s) alive, dashboard {self.dashboard_url}")
        return lines

    def _run(self, node: NodeLike, argv: list[str]) -> list[str]:
        result = node.transport.run(argv)
        if not result.ok:
            raise CommandError(result, f"starting Ray on {node.id}")
        return [f"{node.id}: ray: {line}" for line in result.stdout.splitlines() if line]

    def _wait_nodes(self, head: NodeLike, deadline: float, want: int,
                    daemons: Sequence[tuple[NodeLike, str]]) -> int:
        """Poll the dashboard until ``want`` nodes are alive; a daemon that died meanwhile
        ends the wait at once, with the end of its log."""
        url = f"{self.dashboard_url}/nodes?view=summary"
        last = "no answer yet"
        polls = 0
        while True:
            polls += 1
            if polls % 4 == 0:
                self._raise_if_exited(daemons)
            (answer,) = fetch(head.transport, [url], timeout=5)
            if answer.ok:
                alive = _alive_nodes(answer.body)
                if alive >= want:
                    return alive
                last = f"{alive} of {want} node(s) alive"
            else:
                last = answer.problem()
            if time.monotonic() >= deadline:
                raise RuntimeStartError(
                    f"Ray at {url} did not list {want} node(s) alive within "
                    f"{self.settings.start_timeout:.0f}s (last: {last}); the logs are in "
                    f"~/{self.state_dir}/logs/ on the nodes")
            time.sleep(0.5)

    def _raise_if_exited(self, daemons: Sequence[tuple[NodeLike, str]]) -> None:
        for node, role in daemons:
            result = node.transport.run(self._daemon_argv("status", role))
            lines = result.stdout.splitlines()
            if result.ok and lines and lines[0] == "stopped":
                tail = "\n".join(lines[1:][-12:]) or "(the log is empty)"
                raise RuntimeStartError(
                    f"the Ray {role} on {node.id} exited after it started; from "
                    f"~/{self.state_dir}/logs/{role}.out there:\n{tail}")

    def stop_commands(self, node: NodeLike, workers: Sequence[NodeLike]) -> list[list[str]]:
        if not node.is_head:
            return [self._daemon_argv("stop", "worker")]
        # The jobs first, through the Jobs API: a running job holds Ray's drain on SIGTERM
        # for its whole timeout (see stop_jobs.py); stopped, it ends in seconds.
        return [["python3", "-c", _stop_jobs_script(), self.dashboard_url],
                self._daemon_argv("stop", "head")]

    # -- status ------------------------------------------------------------------------------

    def status(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[RuntimeStatus]:
        """Each node's Ray by its recorded pid, and the nodes the dashboard lists ALIVE."""
        procs = [daemon_state(head, node_host(head.ip), "head",
                              self._daemon_argv("status", "head"))]
        procs += [daemon_state(n, node_host(n.ip), "worker", self._daemon_argv("status", "worker"))
                  for n in workers]
        (answer,) = fetch(head.transport, [f"{self.dashboard_url}/nodes?view=summary"],
                          timeout=STATUS_TIMEOUT)
        return ray_status(procs, answer)

    # -- submit ------------------------------------------------------------------------------

    def activity(self, head: NodeLike) -> Activity:
        return ray_activity(self.settings, self.head_host, head.transport)

    def submit_command(self, path: str, args: Sequence[str]) -> str:
        argv = ["python3", "-c", _submit_script(), self.dashboard_url, self.settings.python,
                path, *args]
        return shlex.join(argv)


def _alive_nodes(body: str) -> int:
    """Alive nodes in the dashboard's ``/nodes?view=summary`` answer (0 if unreadable)."""
    import json

    try:
        data = json.loads(body)
        summary = data["data"]["summary"]
    except (ValueError, KeyError, TypeError):
        return 0
    return sum(1 for n in summary if isinstance(n, dict) and
               (n.get("raylet") or {}).get("state") == "ALIVE")
