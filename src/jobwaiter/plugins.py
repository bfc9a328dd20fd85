"""Loading code that is not ours: entry points of plugins (waiters, runtimes) and user
classes. Whatever that code does at import or construction is contained here."""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import Any

#: The entry-point group of runtimes (engines on the cluster).
RUNTIMES = "jobwaiter.runtimes"

# The built-in runtimes, used only when the package metadata is absent (a source tree that
# was not installed); an installed jobwaiter registers them in the group too.
_BUILTIN_RUNTIMES = {
    "spark": "jobwaiter.runtimes.spark:SparkRuntime",
    "ray": "jobwaiter.runtimes.ray:RayRuntime",
    "slurm": "jobwaiter.runtimes.slurm:SlurmRuntime",
    "yarn": "jobwaiter.runtimes.yarn:YarnRuntime",
}


class PluginFailed(Exception):
    """Plugin code ended abnormally in a way ``except Exception`` would not see (it called
    ``sys.exit``, raised KeyboardInterrupt or another BaseException)."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


@contextlib.contextmanager
def plugin_code() -> Iterator[None]:
    """Around code of a plugin or user waiter (import, construction): whatever it prints goes
    to stderr, so stdout stays the one ``--json`` object; and whatever it raises, even
    ``SystemExit(0)``, is a failure of the plugin, never an exit of ours."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except Exception:
        raise
    except BaseException as exc:
        raise PluginFailed(exc) from exc


def load(target: str) -> Any:
    """The object an entry point names (``module:attr.path``)."""
    module, _, attr = target.partition(":")
    with plugin_code():
        obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def entry_points(group: str) -> dict[str, str]:
    """``{name: "module:attr"}`` of an entry-point group. Scanning the installed packages is
    slow, so the answer is kept for as long as ``sys.path`` is the same."""
    return dict(_scan(group, tuple(sys.path)))


def runtime_entry_points() -> dict[str, str]:
    """``{name: "module:attr"}`` of every installed runtime."""
    return {**_BUILTIN_RUNTIMES, **entry_points(RUNTIMES)}


def runtime_names() -> list[str]:
    """Every installed runtime: the names a config may list in ``runtime.types``. Reads entry
    points only and imports no runtime, so it is cheap enough for ``--help``-fast commands."""
    return sorted(runtime_entry_points())


@functools.lru_cache(maxsize=None)
def _scan(group: str, path: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found: Any = metadata.entry_points()
    # Python 3.10+ selects by keyword; 3.8 and 3.9 return a dict of groups.
    chosen = found.select(group=group) if hasattr(found, "select") else found.get(group, ())
    return tuple((ep.name, ep.value) for ep in chosen)
