"""Whether Ray is up, for ``jobwaiter status``: each node's ``ray start --block`` by its
recorded pid, and which nodes the dashboard's ``/nodes?view=summary`` lists as ALIVE.

A node is ``up`` when its process runs and the dashboard lists its address ALIVE; when only
one of the two holds, it is ``unknown`` and the detail says which.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from jobwaiter.runtimes.base import DOWN, UNKNOWN, UP, RuntimeStatus
from jobwaiter.runtimes.daemons import DaemonState
from jobwaiter.runtimes.http import Answer

NAME = "ray"


def alive_addresses(body: str) -> list[str] | None:
    """Addresses of the nodes ``/nodes?view=summary`` lists ALIVE; None if unreadable."""
    try:
        summary = json.loads(body)["data"]["summary"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(summary, list):
        return None
    alive = []
    for node in summary:
        raylet = node.get("raylet") if isinstance(node, dict) else None
        if isinstance(raylet, dict) and raylet.get("state") == "ALIVE":
            alive.append(str(raylet.get("nodeManagerAddress") or node.get("ip") or ""))
    return alive


def ray_status(procs: Sequence[DaemonState], answer: Answer) -> list[RuntimeStatus]:
    """The head first, then each worker, from their processes and the dashboard."""
    alive: list[str] | None = None
    problem = ""
    if not answer.ok:
        problem = f"{answer.url} {answer.problem()}"
    else:
        alive = alive_addresses(answer.body)
        if alive is None:
            problem = f"{answer.url} answered without a node summary"
    return [_node(p, alive, problem) for p in procs]


def _node(proc: DaemonState, alive: list[str] | None, problem: str) -> RuntimeStatus:
    def result(state: str, detail: str) -> RuntimeStatus:
        return RuntimeStatus(NAME, proc.role, proc.node, state, detail)

    listed = alive is not None and proc.host in alive
    count = "" if alive is None else f"; the dashboard lists {len(alive)} node(s) alive"
    if proc.running is False:
        return result(DOWN, "not running" + (" (the dashboard lists this address ALIVE)"
                                             if listed else ""))
    if proc.running is None:
        return result(UP if listed else UNKNOWN,
                      f"listed ALIVE; process: {proc.error}" if listed else proc.error)
    if listed:
        return result(UP, f"pid {proc.pid}; listed ALIVE{count}")
    if alive is None:
        return result(UNKNOWN, f"pid {proc.pid} runs; the dashboard cannot tell ({problem})")
    return result(UNKNOWN, f"pid {proc.pid} runs, but the dashboard does not list "
                           f"{proc.host} ALIVE{count}")
