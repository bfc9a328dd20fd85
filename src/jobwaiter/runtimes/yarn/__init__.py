"""The YARN runtime: a Hadoop YARN ResourceManager on the head and a NodeManager on every
node, which ``jobwaiter start``/``stop`` manage, and the ``yarn`` waiter (every application
type; ``yarn[all]``: the whole cluster)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

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
from jobwaiter.runtimes.daemons import daemon_state
from jobwaiter.runtimes.http import fetch
from jobwaiter.runtimes.spark import why_it_died
from jobwaiter.runtimes.yarn import health
from jobwaiter.runtimes.yarn.settings import YarnSettings
from jobwaiter.runtimes.yarn.waiter import YarnWaiter, rm_address, yarn_activity
from jobwaiter.transport.address import node_host
from jobwaiter.waiters.base import Waiter

__all__ = ["YarnRuntime", "YarnSettings", "YarnWaiter"]

RM, NM = "resourcemanager", "nodemanager"


@lru_cache(maxsize=None)
def _daemon_script() -> str:
    return (Path(__file__).with_name("sh") / "daemon.sh").read_text()


class YarnRuntime(Runtime):
    """Apache Hadoop YARN."""

    name = "yarn"
    describe = "Hadoop YARN: a ResourceManager on the head, a NodeManager on every node"
    config_section = YarnSettings

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.settings = YarnSettings.from_config(dict(config))
        self.rm = rm_address(self.settings, head_address(config))

    @property
    def state_dir(self) -> str:
        """Pid files and logs of the daemons, relative to ``$HOME``."""
        return f".jobwaiter/runtimes/{self.cluster_name}/yarn"

    def waiters(self) -> dict[str, type[Waiter]]:
        return {YarnWaiter.name: YarnWaiter}

    def _argv(self, action: str, role: str) -> list[str]:
        s = self.settings
        return ["bash", "-c", _daemon_script(), "jw", action, role, self.state_dir,
                s.hadoop_home or "", s.jars or "", s.conf_dir or "", s.java_home or "", s.heap]

    # -- start / stop ------------------------------------------------------------------------

    def start(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[str]:
        deadline = time.monotonic() + self.settings.start_timeout
        nodes = [head, *workers]
        lines = self._run(head, self._argv("start", RM))
        info = self._wait(head, deadline, [(head, RM)], self._rm_started, "answer STARTED")
        lines.append(f"{head.id}: yarn: ResourceManager http://{self.rm} is "
                     f"{info.get('state')} ({info.get('haState')})")
        for node in nodes:
            lines += self._run(node, self._argv("start", NM))
        registered = self._wait(head, deadline, [(head, RM), *((n, NM) for n in nodes)],
                                lambda h: self._registered(h, len(nodes)),
                                f"list {len(nodes)} NodeManager(s) RUNNING")
        lines.append(f"{head.id}: yarn: {registered.get('running')} NodeManager(s) registered")
        return lines

    def _run(self, node: NodeLike, argv: list[str]) -> list[str]:
        result = node.transport.run(argv)
        if not result.ok:
            raise CommandError(result, f"starting YARN on {node.id}")
        return [f"{node.id}: yarn: {line}" for line in result.stdout.splitlines() if line]

    def _rm_started(self, head: NodeLike) -> tuple[dict[str, Any] | None, str]:
        (answer,) = fetch(head.transport, [f"http://{self.rm}/ws/v1/cluster/info"], timeout=5)
        info, problem = health.cluster_info(answer)
        if info is None:
            return None, problem
        if info.get("state") == "STARTED" and info.get("haState", "ACTIVE") == "ACTIVE":
            return dict(info), ""
        return None, f"it is {info.get('state')}/{info.get('haState')}"

    def _registered(self, head: NodeLike, count: int) -> tuple[dict[str, Any] | None, str]:
        (answer,) = fetch(head.transport, [f"http://{self.rm}/ws/v1/cluster/nodes"],
                          timeout=5)
        rows, problem = health.nodes(answer)
        if rows is None:
            return None, problem
        running = health.running_nodes(rows)
        if len(running) >= count:
            return {"running": len(running)}, ""
        return None, ", ".join(f"{n.get('id')} {n.get('state')}" for n in rows) or \
            "no node registered"

    def _wait(self, head: NodeLike, deadline: float, daemons: Sequence[tuple[NodeLike, str]],
              ready: Callable[[NodeLike], tuple[dict[str, Any] | None, str]],
              what: str) -> dict[str, Any]:
        """Poll until ``ready`` answers; a daemon that died meanwhile (a port in use, a bad
        yarn-site.xml) ends the wait at once, with the lines of its log that say why."""
        polls = 0
        while True:
            polls += 1
            if polls % 4 == 0:  # every 2 s
                self._raise_if_exited(daemons)
            answer, last = ready(head)
            if answer is not None:
                return answer
            if time.monotonic() >= deadline:
                raise RuntimeStartError(
                    f"the YARN ResourceManager at http://{self.rm} did not {what} within "
                    f"{self.settings.start_timeout:.0f}s (last: {last}); the daemons' logs "
                    f"are in ~/{self.state_dir}/logs/ on the nodes")
            time.sleep(0.5)

    def _raise_if_exited(self, daemons: Sequence[tuple[NodeLike, str]]) -> None:
        for node, role in daemons:
            result = node.transport.run(self._argv("status", role))
            lines = result.stdout.splitlines()
            if result.ok and lines and lines[0] == "stopped":
                raise RuntimeStartError(
                    f"the YARN {role} on {node.id} exited after it started; from "
                    f"~/{self.state_dir}/logs/{role}.out there:\n{why_it_died(lines[1:])}")

    def stop_commands(self, node: NodeLike, workers: Sequence[NodeLike]) -> list[list[str]]:
        # NodeManagers first (they stop their containers), the ResourceManager last: the
        # base class runs the workers' commands before the head's.
        argvs = [self._argv("stop", NM)]
        if node.is_head:
            argvs.append(self._argv("stop", RM))
        return argvs

    # -- status ------------------------------------------------------------------------------

    def status(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[RuntimeStatus]:
        """Each daemon by its recorded pid, and the ResourceManager's ``/ws/v1/cluster/info``
        and ``/ws/v1/cluster/nodes``."""
        rm = daemon_state(head, node_host(head.ip), RM, self._argv("status", RM))
        nms = [daemon_state(n, node_host(n.ip), NM, self._argv("status", NM))
               for n in [head, *workers]]
        base = f"http://{self.rm}/ws/v1/cluster/"
        info, nodes = fetch(head.transport, [base + "info", base + "nodes"],
                            timeout=STATUS_TIMEOUT)
        return health.yarn_status(rm, nms, info, nodes)

    def activity(self, head: NodeLike) -> Activity:
        return yarn_activity(self.settings, head_address(self.config), head.transport)
