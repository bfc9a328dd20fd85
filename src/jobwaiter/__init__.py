"""jobwaiter: run long jobs on a cluster's head node and know when they are really done.

    from jobwaiter import Cluster
    result = Cluster("cluster.yaml").exec("python3 train.py", tmux=True, job_waiter="tmux")
    print(result.outcome, result.exit_status)

Names are imported lazily, so the stdlib-only packages (sessions, records, waiters,
runtimes) can be imported without the CLI's and config's dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Cluster": "jobwaiter.cluster.cluster",
    "ClusterStatus": "jobwaiter.cluster.status",
    "AttachTarget": "jobwaiter.cluster.attach",
    "RuntimeStatus": "jobwaiter.runtimes.base",
    "JobResult": "jobwaiter.jobs.result",
    "Outcome": "jobwaiter.outcome",
    "StopReport": "jobwaiter.jobs.result",
    "KillReport": "jobwaiter.jobs.manage",
    "WaiterOutcome": "jobwaiter.waiters.loop",
    "CommandResult": "jobwaiter.transport.base",
    "Check": "jobwaiter.waiters.base",
    "JobContext": "jobwaiter.waiters.base",
    "JobWaiter": "jobwaiter.waiters.base",
    "Waiter": "jobwaiter.waiters.base",
    "CommandError": "jobwaiter.errors",
    "ConfigError": "jobwaiter.errors",
    "JobwaiterError": "jobwaiter.errors",
    "SpecError": "jobwaiter.errors",
    "TransportError": "jobwaiter.errors",
    "UsageError": "jobwaiter.errors",
    "WaiterError": "jobwaiter.errors",
}

__all__ = sorted(_EXPORTS)


def __dir__() -> list[str]:
    """What the package offers (lazily imported), not the names it uses itself."""
    return sorted({*_EXPORTS, "__version__", "__doc__", "__file__", "__name__", "__path__"})


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jobwaiter' has no attribute {name!r}")
