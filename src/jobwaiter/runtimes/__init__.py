"""Runtimes: engines installed on the cluster (Spark, ...). A runtime can provide waiters named
after it, start and stop commands for each node, and how ``submit`` runs a file type.

Runtimes are found through the entry-point group ``jobwaiter.runtimes`` (the built-in ones
are registered there too) and imported only when a config names them. Stdlib only.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from jobwaiter.errors import UsageError
from jobwaiter.runtimes.base import NodeLike, Runtime, RuntimeStartError
from jobwaiter.waiters.base import Waiter

GROUP = "jobwaiter.runtimes"

# Used only when the package metadata is absent (a source tree that was not installed).
_FALLBACK = {
    "spark": "jobwaiter.runtimes.spark:SparkRuntime",
    "ray": "jobwaiter.runtimes.ray:RayRuntime",
}

__all__ = [
    "GROUP",
    "NodeLike",
    "Runtime",
    "RuntimeStartError",
    "configured_runtimes",
    "runtime_class",
    "runtime_names",
    "runtime_waiters",
    "start_runtimes",
    "stop_commands",
    "stop_runtimes",
    "submit_runtime",
]


def _entry_points() -> dict[str, str]:
    found = {ep.name: ep.value for ep in metadata.entry_points(group=GROUP)}
    return {**_FALLBACK, **found}


def runtime_names() -> list[str]:
    """Every runtime that a config may name in ``runtime.types``."""
    return sorted(_entry_points())


def runtime_class(name: str) -> type[Runtime]:
    points = _entry_points()
    if name not in points:
        raise UsageError(f"unknown runtime {name!r}; available: {', '.join(sorted(points))}")
    module, _, attr = points[name].partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # a broken plugin is a usage problem, reported before anything runs
        raise UsageError(f"runtime {name!r} cannot be loaded from {points[name]}: "
                         f"{type(exc).__name__}: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, Runtime)):
        raise UsageError(f"runtime {name!r} ({points[name]}) is not a jobwaiter Runtime")
    return obj


def configured_runtimes(config: Mapping[str, Any]) -> list[Runtime]:
    """The runtimes named in the config's ``runtime.types``, in that order."""
    section = config.get("runtime") or {}
    names = list(dict.fromkeys(section.get("types") or []))
    return [runtime_class(name)(config) for name in names]


def runtime_waiters(config: dict[str, Any]) -> dict[str, type[Waiter]]:
    """Waiters of the runtimes named in ``runtime.types``."""
    waiters: dict[str, type[Waiter]] = {}
    for runtime in configured_runtimes(config):
        waiters.update(runtime.waiters())
    return waiters


def start_runtimes(
    config: Mapping[str, Any], head: NodeLike, workers: Sequence[NodeLike]
) -> list[str]:
    """Start every configured runtime (after the head's start commands have run)."""
    lines: list[str] = []
    for runtime in configured_runtimes(config):
        lines += runtime.start(head, workers)
    return lines


def stop_runtimes(
    config: Mapping[str, Any], head: NodeLike, workers: Sequence[NodeLike]
) -> list[str]:
    """Stop every configured runtime, last started first (before the head's stop commands)."""
    lines: list[str] = []
    failure: Exception | None = None
    for runtime in reversed(configured_runtimes(config)):
        try:
            lines += runtime.stop(head, workers)
        except Exception as exc:  # stop the others too, then report
            failure = failure or exc
    if failure is not None:
        raise failure
    return lines


def stop_commands(
    config: Mapping[str, Any], node: NodeLike, workers: Sequence[NodeLike]
) -> list[list[str]]:
    """The argv lists that stop every configured runtime's processes on ``node``."""
    return [argv for runtime in reversed(configured_runtimes(config))
            for argv in runtime.stop_commands(node, workers)]


def submit_runtime(config: Mapping[str, Any], name: str) -> Runtime:
    """The configured runtime that ``submit --runtime NAME`` uses."""
    cls = runtime_class(name)  # an unknown name gets the list of known ones
    for runtime in configured_runtimes(config):
        if type(runtime) is cls:
            if not runtime.submit_types:
                raise UsageError(f"the {name} runtime does not run files")
            return runtime
    raise UsageError(f"runtime {name!r} is not configured for this cluster "
                     f"(add it to runtime.types)")
