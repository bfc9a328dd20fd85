"""Whether Spark is up, for ``jobwaiter status``: the daemons by their recorded pids, and what
the standalone master's ``/json/`` (or YARN's ``/ws/v1/cluster/info``) says.

A daemon is ``up`` only when both agree: its process runs and the master lists it (the master
itself answering ALIVE). A process that runs but is not listed, or the reverse, is
``unknown``, with the detail saying which half is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobwaiter.runtimes.base import DOWN, UNKNOWN, UP, RuntimeStatus
from jobwaiter.runtimes.daemons import DaemonState
from jobwaiter.runtimes.http import Answer

NAME = "spark"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def master_json(answer: Answer) -> tuple[dict[str, Any] | None, str]:
    """The master's ``/json/`` as a dict, or None and why it is not usable."""
    if not answer.ok:
        return None, f"{answer.url} {answer.problem()}"
    try:
        data = answer.json()
    except ValueError:
        return None, f"{answer.url} answered something that is not JSON"
    if not isinstance(data, dict):
        return None, f"{answer.url} answered something that is not a status"
    return data, ""


def alive_worker_hosts(status: Mapping[str, Any]) -> list[str]:
    """Hosts of the workers the master lists as ALIVE (one entry per worker)."""
    workers = status.get("workers")
    if not isinstance(workers, list):
        return []
    return [str(w.get("host")) for w in workers
            if isinstance(w, dict) and w.get("state") == "ALIVE"]


def standalone_status(master: DaemonState, workers: Sequence[DaemonState],
                      answer: Answer) -> list[RuntimeStatus]:
    """The master and each worker, from their processes and the master's answer."""
    status, problem = master_json(answer)
    return [_master(master, status, problem),
            *(_worker(w, status, problem) for w in workers)]


def _master(proc: DaemonState, status: dict[str, Any] | None, problem: str) -> RuntimeStatus:
    def result(state: str, detail: str) -> RuntimeStatus:
        return RuntimeStatus(NAME, "master", proc.node, state, detail)

    said = ""
    if status is not None:
        apps = status.get("activeapps")
        n_apps = len(apps) if isinstance(apps, list) else 0
        said = (f"{status.get('status', '?')}, "
                f"{_plural(len(alive_worker_hosts(status)), 'worker')} alive, "
                f"{_plural(n_apps, 'application')} running")
    alive = status is not None and status.get("status") == "ALIVE"
    if proc.running is False:
        if alive:
            return result(UNKNOWN, f"{said}; but not the master jobwaiter started (its "
                                   "recorded pid is not running)")
        return result(DOWN, "not running")
    if proc.running is None:
        return result(UP if alive else UNKNOWN,
                      f"{said}; process: {proc.error}" if said else proc.error)
    if alive:
        return result(UP, f"pid {proc.pid}; {said}")
    why = problem or f"it says {status.get('status') if status else '?'}"
    return result(UNKNOWN, f"pid {proc.pid} runs, but {why}")


def _worker(proc: DaemonState, status: dict[str, Any] | None, problem: str) -> RuntimeStatus:
    def result(state: str, detail: str) -> RuntimeStatus:
        return RuntimeStatus(NAME, "worker", proc.node, state, detail)

    listed = status is not None and proc.host in alive_worker_hosts(status)
    if proc.running is False:
        extra = " (the master lists another worker ALIVE on this host)" if listed else ""
        return result(DOWN, f"not running{extra}")
    if proc.running is None:
        if listed:
            return result(UP, f"registered with the master (ALIVE); process: {proc.error}")
        return result(UNKNOWN, proc.error)
    if listed:
        return result(UP, f"pid {proc.pid}; registered with the master (ALIVE)")
    if status is None:
        return result(UNKNOWN, f"pid {proc.pid} runs; the master cannot tell ({problem})")
    return result(UNKNOWN, f"pid {proc.pid} runs, but the master does not list it as ALIVE")


def yarn_status(answer: Answer) -> RuntimeStatus:
    """The ResourceManager, from ``/ws/v1/cluster/info``: ``{"clusterInfo": {"state":
    "STARTED", "haState": "ACTIVE", ...}}`` (Hadoop's documented REST contract)."""
    def result(state: str, detail: str) -> RuntimeStatus:
        return RuntimeStatus(NAME, "resourcemanager", "", state, detail)

    if not answer.reachable:
        return result(DOWN, f"{answer.url} {answer.problem()}")
    if not answer.ok:
        return result(UNKNOWN, f"{answer.url} {answer.problem()}")
    try:
        info = answer.json().get("clusterInfo")
    except (ValueError, AttributeError):
        info = None
    if not isinstance(info, dict):
        return result(UNKNOWN, f"{answer.url} answered without clusterInfo")
    state = str(info.get("state", "?"))
    detail = f"{state}"
    if info.get("haState"):
        detail += f", {info['haState']}"
    if info.get("resourceManagerVersion"):
        detail += f", version {info['resourceManagerVersion']}"
    if state != "STARTED":
        return result(DOWN if state == "STOPPED" else UNKNOWN, detail)
    # In an HA pair, the standby answers too, but it is not the one that runs applications.
    if info.get("haState") not in (None, "ACTIVE"):
        return result(UNKNOWN, detail)
    return result(UP, detail)
