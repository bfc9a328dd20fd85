"""Whether YARN is up, for ``jobwaiter status``: the daemons by their recorded pids, and what
the ResourceManager says of itself (``/ws/v1/cluster/info``) and of its nodes
(``/ws/v1/cluster/nodes``).

A daemon is ``up`` only when both agree: its process runs and the ResourceManager says so
(STARTED and ACTIVE; for a NodeManager, a RUNNING node on its host). A process that runs
but is not listed, or the reverse, is ``unknown``, the detail saying which half is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobwaiter.runtimes.base import DOWN, UNKNOWN, UP, RuntimeStatus
from jobwaiter.runtimes.daemons import DaemonState
from jobwaiter.runtimes.http import Answer

NAME = "yarn"


def _json(answer: Answer) -> tuple[Any, str]:
    if not answer.ok:
        return None, f"{answer.url} {answer.problem()}"
    try:
        return answer.json(), ""
    except ValueError:
        return None, f"{answer.url} answered something that is not JSON"


def cluster_info(answer: Answer) -> tuple[Mapping[str, Any] | None, str]:
    """``clusterInfo`` of ``/ws/v1/cluster/info``, or None and why it is not usable."""
    data, problem = _json(answer)
    info = data.get("clusterInfo") if isinstance(data, dict) else None
    if problem or not isinstance(info, Mapping):
        return None, problem or f"{answer.url} answered without clusterInfo"
    return info, ""


def nodes(answer: Answer) -> tuple[list[Mapping[str, Any]] | None, str]:
    """The nodes of ``/ws/v1/cluster/nodes`` (Hadoop 3.5 omits an empty list)."""
    data, problem = _json(answer)
    if problem or not isinstance(data, dict):
        return None, problem or f"{answer.url} answered something unexpected"
    listing = data.get("nodes") or {}
    rows = listing.get("node") if isinstance(listing, Mapping) else None
    return [n for n in rows or [] if isinstance(n, Mapping)], ""


def running_nodes(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [n for n in rows if n.get("state") == "RUNNING"]


def yarn_status(rm: DaemonState, nms: Sequence[DaemonState], info_answer: Answer,
                nodes_answer: Answer) -> list[RuntimeStatus]:
    """The ResourceManager and each NodeManager, from their processes and the RM's view."""
    info, problem = cluster_info(info_answer)
    rows, nodes_problem = nodes(nodes_answer)
    return [_rm(rm, info, problem),
            *(_nm(nm, rows, nodes_problem) for nm in nms)]


def _rm(proc: DaemonState, info: Mapping[str, Any] | None, problem: str) -> RuntimeStatus:
    def result(state: str, detail: str) -> RuntimeStatus:
        return RuntimeStatus(NAME, "resourcemanager", proc.node, state, detail)

    said = ""
    if info is not None:
        said = f"{info.get('state', '?')}, {info.get('haState', '?')}"
        if info.get("resourceManagerVersion"):
            said += f", version {info['resourceManagerVersion']}"
    # In an HA pair, the standby answers too, but it is not the one that runs applications.
    alive = info is not None and info.get("state") == "STARTED" and \
        info.get("haState", "ACTIVE") == "ACTIVE"
    if proc.running is False:
        if alive:
            return result(UNKNOWN, f"{said}; but not the ResourceManager jobwaiter started "
                                   "(its recorded pid is not running)")
        return result(DOWN, "not running")
    if proc.running is None:
        return result(UP if alive else UNKNOWN,
                      f"{said}; process: {proc.error}" if said else proc.error)
    if alive:
        return result(UP, f"pid {proc.pid}; {said}")
    return result(UNKNOWN, f"pid {proc.pid} runs, but {problem or 'it says ' + said}")


def _nm(proc: DaemonState, rows: list[Mapping[str, Any]] | None,
        problem: str) -> RuntimeStatus:
    def result(state: str, detail: str) -> RuntimeStatus:
        return RuntimeStatus(NAME, "nodemanager", proc.node, state, detail)

    mine = [n for n in rows or [] if n.get("nodeHostName") == proc.host]
    # A node's address is what its yarn-site.xml says, which need not be the address
    # jobwaiter reaches it by; on a one-node cluster the only node is this one.
    if not mine and rows is not None and len(rows) == 1:
        mine = list(rows)
    listed = running_nodes(mine)
    said = ", ".join(f"{n.get('id')} {n.get('state')}" for n in (listed or mine))
    if proc.running is False:
        extra = f" (the ResourceManager lists {said})" if listed else ""
        return result(DOWN, f"not running{extra}")
    if proc.running is None:
        if listed:
            return result(UP, f"registered: {said}; process: {proc.error}")
        return result(UNKNOWN, proc.error)
    if listed:
        return result(UP, f"pid {proc.pid}; registered: {said}")
    if rows is None:
        return result(UNKNOWN, f"pid {proc.pid} runs; the ResourceManager cannot tell "
                               f"({problem})")
    why = f"it lists {said}" if said else "it does not list it"
    return result(UNKNOWN, f"pid {proc.pid} runs, but not RUNNING in the ResourceManager: "
                           f"{why}")
