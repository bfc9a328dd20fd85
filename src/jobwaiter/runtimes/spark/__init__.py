"""The Spark runtime: the ``spark`` waiter, a standalone master and workers that ``jobwaiter
start``/``stop`` manage, and ``submit --runtime spark`` for ``.py`` and ``.scala`` files."""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
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
    url_host,
)
from jobwaiter.runtimes.daemons import daemon_state
from jobwaiter.runtimes.http import fetch
from jobwaiter.runtimes.spark import health
from jobwaiter.runtimes.spark.settings import SparkSettings
from jobwaiter.runtimes.spark.waiter import SparkWaiter, spark_activity
from jobwaiter.transport.address import node_host
from jobwaiter.waiters.base import Waiter

__all__ = ["SparkRuntime", "SparkSettings", "SparkWaiter"]

_FIND_SPARK_HOME = "import os, pyspark; print(os.path.dirname(pyspark.__file__))"

# spark-shell -i compiles the whole file as one unit, then reads the REPL's stdin; on an error
# it just goes on to the next input and finally exits 0. So the file runs from a copy that
# ends by defining a marker, and stdin exits 0 only if the marker exists: a compile error
# (nothing ran) or an exception (the unit stopped before the marker) leaves it undefined,
# that line fails to compile, and the next one exits 1.
_SCALA_MARKER = "val jobwaiterScriptEnded = true"
_SCALA_EXIT = ("System.exit(if (jobwaiterScriptEnded) 0 else 1)", "System.exit(1)")


@lru_cache(maxsize=None)
def _daemon_script() -> str:
    return (Path(__file__).with_name("sh") / "daemon.sh").read_text()


class SparkRuntime(Runtime):
    """Apache Spark, standalone or on YARN."""

    name = "spark"
    describe = "Apache Spark: standalone master and workers, or YARN"
    submit_types: ClassVar[Mapping[str, str]] = {
        ".py": "spark-submit",
        ".scala": "spark-shell -i",
    }
    config_section = SparkSettings

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.settings = SparkSettings.from_config(dict(config))
        self.master_host = self.settings.master_host or head_address(config)

    @property
    def master_url(self) -> str:
        if self.settings.cluster_manager == "yarn":
            return "yarn"
        return f"spark://{url_host(self.master_host)}:{self.settings.master_port}"

    @property
    def state_dir(self) -> str:
        """Pid files, logs and work directories of the daemons, relative to ``$HOME``."""
        return f".jobwaiter/runtimes/{self.cluster_name}/spark"

    def waiters(self) -> dict[str, type[Waiter]]:
        return {SparkWaiter.name: SparkWaiter}

    # -- start / stop ------------------------------------------------------------------------

    def _daemon_argv(self, action: str, role: str, node: NodeLike, *args: str) -> list[str]:
        s = self.settings
        opts = ""
        if role == "master":
            # Spark leaves the REST submission server off unless told; it is how cluster-mode
            # drivers are submitted (Python ones too) and how their status is read.
            opts = "-Dspark.master.rest.enabled=false"
            if s.rest_port is not None:
                opts = (f"-Dspark.master.rest.enabled=true -Dspark.master.rest.host="
                        f"{self.master_host} -Dspark.master.rest.port={s.rest_port}")
        # The node's address without the SSH port of host:port: the daemon binds to it.
        return ["bash", "-c", _daemon_script(), "jw", action, role, self.state_dir, s.python,
                s.spark_home or "", node_host(node.ip), opts, *args]

    def _worker_nodes(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[NodeLike]:
        # The head runs a worker only when there is no other node to run one.
        return list(workers) or [head]

    def start(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[str]:
        s = self.settings
        if s.cluster_manager == "yarn":
            rm = s.resource_manager or f"{url_host(head_address(self.config))}:8088"
            return [f"{head.id}: spark: on YARN (ResourceManager {rm}); nothing to start"]
        deadline = time.monotonic() + s.start_timeout
        lines = self._run(head, self._daemon_argv(
            "start", "master", head, "--host", self.master_host,
            "--port", str(s.master_port), "--webui-port", str(s.web_ui_port)))
        status = self._wait_master(head, deadline, lambda st: True, "answer",
                                   [(head, "master")])
        lines.append(f"{head.id}: spark: master {self.master_url} "
                     f"(web UI port {s.web_ui_port}) is {status.get('status', 'up')}")
        nodes = self._worker_nodes(head, workers)
        worker_args = ["--webui-port", str(s.worker_web_ui_port)]
        if s.worker_cores is not None:
            worker_args += ["--cores", str(s.worker_cores)]
        if s.worker_memory is not None:
            worker_args += ["--memory", s.worker_memory]
        for node in nodes:
            lines += self._run(node, self._daemon_argv(
                "start", "worker", node, "--host", node_host(node.ip), *worker_args,
                self.master_url))
        hosts = [node_host(n.ip) for n in nodes]  # as the master lists its workers

        def registered(st: dict[str, Any]) -> bool:
            alive = [w.get("host") for w in st.get("workers") or [] if w.get("state") == "ALIVE"]
            return all(alive.count(h) >= hosts.count(h) for h in set(hosts))

        status = self._wait_master(head, deadline, registered, "list every worker as ALIVE",
                                   [(head, "master"), *((n, "worker") for n in nodes)])
        lines.append(f"{head.id}: spark: {status.get('aliveworkers', len(nodes))} "
                     f"worker(s) registered")
        return lines

    def _run(self, node: NodeLike, argv: list[str]) -> list[str]:
        result = node.transport.run(argv)
        if not result.ok:
            raise CommandError(result, f"starting Spark on {node.id}")
        return [f"{node.id}: spark: {line}" for line in result.stdout.splitlines() if line]

    def _wait_master(self, head: NodeLike, deadline: float,
                     ready: Callable[[dict[str, Any]], bool], what: str,
                     daemons: Sequence[tuple[NodeLike, str]]) -> dict[str, Any]:
        """Poll the master's status until ``ready``; a daemon that died meanwhile (a setting
        Spark rejects at start, an address it cannot bind) ends the wait at once, with the
        lines of its log that say why."""
        url = f"http://{url_host(self.master_host)}:{self.settings.web_ui_port}/json/"
        last = "no answer yet"
        polls = 0
        while True:
            polls += 1
            if polls % 4 == 0:  # every 2 s
                self._raise_if_exited(daemons)
            (answer,) = fetch(head.transport, [url], timeout=5)
            if answer.ok:
                try:
                    status = answer.json()
                except ValueError:
                    status = None
                if isinstance(status, dict) and status.get("status") == "ALIVE" and \
                        ready(status):
                    return status
                last = f"status {status.get('status') if isinstance(status, dict) else '?'}"
            else:
                last = answer.problem()
            if time.monotonic() >= deadline:
                raise RuntimeStartError(
                    f"the Spark master at {url} did not {what} within "
                    f"{self.settings.start_timeout:.0f}s (last: {last}); its logs are in "
                    f"~/{self.state_dir}/logs/ on the nodes")
            time.sleep(0.5)

    def _raise_if_exited(self, daemons: Sequence[tuple[NodeLike, str]]) -> None:
        for node, role in daemons:
            result = node.transport.run(self._daemon_argv("status", role, node))
            lines = result.stdout.splitlines()
            if result.ok and lines and lines[0] == "stopped":
                raise RuntimeStartError(
                    f"the Spark {role} on {node.id} exited after it started; from "
                    f"~/{self.state_dir}/logs/{role}.out there:\n{why_it_died(lines[1:])}")

    def stop_commands(self, node: NodeLike, workers: Sequence[NodeLike]) -> list[list[str]]:
        if self.settings.cluster_manager == "yarn":
            return []
        argvs = []
        if not node.is_head or not workers:
            argvs.append(self._daemon_argv("stop", "worker", node))
        if node.is_head:
            argvs.append(self._daemon_argv("stop", "master", node))
        return argvs

    # -- status ------------------------------------------------------------------------------

    def status(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[RuntimeStatus]:
        """Standalone: the master and each worker by their recorded pids, and the master's
        ``/json/``; YARN: the ResourceManager's ``/ws/v1/cluster/info``."""
        s = self.settings
        if s.cluster_manager == "yarn":
            rm = s.resource_manager or f"{url_host(head_address(self.config))}:8088"
            (answer,) = fetch(head.transport, [f"http://{rm}/ws/v1/cluster/info"],
                              timeout=STATUS_TIMEOUT)
            return [health.yarn_status(answer)]
        master = daemon_state(head, self.master_host, "master",
                              self._daemon_argv("status", "master", head))
        procs = [daemon_state(n, node_host(n.ip), "worker",
                              self._daemon_argv("status", "worker", n))
                 for n in self._worker_nodes(head, workers)]
        url = f"http://{url_host(self.master_host)}:{s.web_ui_port}/json/"
        (answer,) = fetch(head.transport, [url], timeout=STATUS_TIMEOUT)
        return health.standalone_status(master, procs, answer)

    # -- submit ------------------------------------------------------------------------------

    def activity(self, head: NodeLike) -> Activity:
        return spark_activity(self.settings, head_address(self.config), head.transport)

    def submit_command(self, path: str, args: Sequence[str]) -> str:
        s = self.settings
        if s.spark_home:
            home = f"SPARK_HOME={shlex.quote(s.spark_home)}"
        else:
            home = f"SPARK_HOME=$({shlex.quote(s.python)} -c {shlex.quote(_FIND_SPARK_HOME)})"
        setup = f"{home} && export SPARK_HOME && "
        if path.endswith(".py"):
            conf = [f"spark.pyspark.python={s.python}", f"spark.pyspark.driver.python={s.python}"]
            argv = ["--master", self.master_url, "--conf", conf[0], "--conf", conf[1], path,
                    *args]
            return setup + '"$SPARK_HOME"/bin/spark-submit ' + shlex.join(argv)
        # .scala: the arguments are spark-shell's own options (-i takes no script arguments).
        copy = shlex.quote(_hidden_copy(path) + ".XXXXXX")
        marker = shlex.quote(_SCALA_MARKER)
        exits = " ".join(shlex.quote(line) for line in _SCALA_EXIT)
        shell = shlex.join(["--master", self.master_url, *args, "-i"])
        return (setup + f"t=$(mktemp {copy}) && "
                f"{{ cat {shlex.quote(path)}; printf '\\n%s\\n' {marker}; }} > \"$t\" && "
                f"{{ printf '%s\\n' {exits} | \"$SPARK_HOME\"/bin/spark-shell {shell} \"$t\"; "
                f'rc=$?; rm -f "$t"; exit "$rc"; }}')


def _hidden_copy(path: str) -> str:
    head, _, base = path.rpartition("/")
    return f"{head}/.{base}" if head else f".{base}"


# A Java exception's first line: "java.net.BindException: ...", "Caused by: ...".
_THROWN = re.compile(r"^(Caused by: )?[\w.$]+(Exception|Error)\b")


def why_it_died(log: list[str], tail: int = 8) -> str:
    """The lines of a daemon's log that say why it exited: the first exception, then the last
    lines without the stack frames (a JVM's last lines are mostly "at ..." frames)."""
    cause = next((line for line in log if _THROWN.match(line)), None)
    last = [line for line in log if not line.lstrip().startswith("at ")][-tail:]
    lines = [cause, "..."] if cause is not None and cause not in last else []
    return "\n".join([*lines, *last]) or "(the log is empty)"
