"""Runtimes: engines installed on the cluster (Spark, ...). A runtime can provide waiters named
after it, start and stop commands for each node, and how ``submit`` runs a file type.

Runtimes are found through the entry-point group ``jobwaiter.runtimes`` (the built-in ones
are registered there too) and imported only when a config names them. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobwaiter.errors import UsageError
from jobwaiter.plugins import RUNTIMES as GROUP
from jobwaiter.plugins import load, plugin_code, runtime_names
from jobwaiter.plugins import runtime_entry_points as _entry_points
from jobwaiter.runtimes.base import NodeLike, Runtime, RuntimeStartError, SettingsError
from jobwaiter.waiters.base import Waiter

__all__ = [
    "GROUP",
    "NodeLike",
    "Runtime",
    "RuntimeStartError",
    "SettingsError",
    "configured_runtimes",
    "runtime_class",
    "runtime_names",
    "runtime_waiters",
    "start_runtimes",
    "stop_commands",
    "stop_runtimes",
    "submit_runtime",
]


def runtime_class(name: str) -> type[Runtime]:
    points = _entry_points()
    if name not in points:
        raise UsageError(f"unknown runtime {name!r}; available: {', '.join(sorted(points))}")
    try:
        obj: Any = load(points[name])
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
    return [_build(runtime_class(name), config) for name in names]


def _build(cls: type[Runtime], config: Mapping[str, Any]) -> Runtime:
    try:
        with plugin_code():
            return cls(config)
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"runtime {cls.name or cls.__name__!r} could not be set up: "
                         f"{type(exc).__name__}: {exc}") from exc


def runtime_waiters(runtimes: Sequence[Runtime]) -> dict[str, type[Waiter]]:
    """Waiters of these runtimes (a cluster's ``configured_runtimes``)."""
    waiters: dict[str, type[Waiter]] = {}
    for runtime in runtimes:
        waiters.update(runtime.waiters())
    return waiters


def start_runtimes(
    runtimes: Sequence[Runtime], head: NodeLike, workers: Sequence[NodeLike]
) -> list[str]:
    """Start every runtime, in order (after the head's start commands have run)."""
    lines: list[str] = []
    for runtime in runtimes:
        lines += runtime.start(head, workers)
    return lines


def stop_runtimes(
    runtimes: Sequence[Runtime], head: NodeLike, workers: Sequence[NodeLike]
) -> list[str]:
    """Stop every runtime, last started first (before the head's stop commands)."""
    lines: list[str] = []
    failure: Exception | None = None
    for runtime in reversed(runtimes):
        try:
            lines += runtime.stop(head, workers)
        except Exception as exc:  # stop the others too, then report
            failure = failure or exc
    if failure is not None:
        raise failure
    return lines


def stop_commands(
    runtimes: Sequence[Runtime], node: NodeLike, workers: Sequence[NodeLike]
) -> list[list[str]]:
    """The argv lists that stop every runtime's processes on ``node``."""
    return [argv for runtime in reversed(runtimes)
            for argv in runtime.stop_commands(node, workers)]


def submit_runtime(runtimes: Sequence[Runtime], name: str) -> Runtime:
    """The runtime of these (a cluster's) that ``submit --runtime NAME`` uses."""
    cls = runtime_class(name)  # an unknown name gets the list of known ones
    for runtime in runtimes:
        if type(runtime) is cls:
            if not runtime.submit_types:
                raise UsageError(f"the {name} runtime does not run files")
            return runtime
    raise UsageError(f"runtime {name!r} is not configured for this cluster "
                     f"(add it to runtime.types)")
