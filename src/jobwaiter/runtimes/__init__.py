"""Runtimes: engines installed on the cluster (Spark, ...). A runtime can provide waiters
named after it. Stdlib only."""

from __future__ import annotations

from typing import Any

from jobwaiter.waiters.base import Waiter


def runtime_waiters(config: dict[str, Any]) -> dict[str, type[Waiter]]:
    """Waiters of the runtimes named in ``runtime.types``."""
    return {}
