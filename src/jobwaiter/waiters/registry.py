"""Turning a SPEC into waiters: built-ins and plugins (entry-point group ``jobwaiter.waiters``,
loaded lazily by name), waiters of configured runtimes, and user classes by dotted path."""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import sys
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from jobwaiter.errors import SpecError
from jobwaiter.plugins import entry_points, plugin_code
from jobwaiter.plugins import load as _load
from jobwaiter.waiters.base import JobWaiter, Waiter
from jobwaiter.waiters.blocking import BlockingWaiter
from jobwaiter.waiters.spec import Spec, parse_spec

GROUP = "jobwaiter.waiters"
CHAIN = "chain"
CHAIN_HELP = "run the listed waiters in order, stopping at the first failure: chain[a, b, ...]"

# Used only when the package metadata is absent (running from a source tree without
# installing); an installed jobwaiter registers these through the entry-point group.
_FALLBACK = {
    "tmux": "jobwaiter.waiters.session:TmuxWaiter",
    "screen": "jobwaiter.waiters.session:ScreenWaiter",
}


def _entry_points() -> dict[str, str]:
    return {**_FALLBACK, **entry_points(GROUP)}


def available(runtime_waiters: Mapping[str, type[Waiter]] | None = None) -> list[
    tuple[str, str]
]:
    """(name, one-line description) of every waiter that can be named without a dot."""
    rows = [(CHAIN, CHAIN_HELP)]
    for name, target in sorted(_entry_points().items()):
        try:
            rows.append((name, _describe(_load(target))))
        except Exception as exc:
            rows.append((name, f"(cannot load {target}: {exc})"))
    for name, cls in sorted((runtime_waiters or {}).items()):
        rows.append((name, _describe(cls)))
    return rows


def _describe(obj: Any) -> str:
    text = getattr(obj, "describe", "") or inspect.getdoc(obj) or ""
    return text.strip().splitlines()[0] if text.strip() else ""


def resolve(
    text: str,
    config: dict[str, Any],
    runtime_waiters: Mapping[str, type[Waiter]] | None = None,
    timeout: float | None = None,
    *,
    known_runtimes: Collection[str] = (),
) -> list[Waiter]:
    """Parse SPEC text and build its waiters, chains flattened in order.

    ``runtime_waiters`` are the waiters of the runtimes the config names; ``known_runtimes``
    every runtime installed, so that a waiter named after one the config lacks is told how
    to get it rather than called unknown.

    Every problem (syntax, unknown name, import failure, wrong class) raises SpecError here,
    before anything runs.
    """
    return [waiter for _, waiter in resolve_steps(text, config, runtime_waiters, timeout,
                                                  known_runtimes=known_runtimes)]


def resolve_steps(
    text: str,
    config: dict[str, Any],
    runtime_waiters: Mapping[str, type[Waiter]] | None = None,
    timeout: float | None = None,
    *,
    known_runtimes: Collection[str] = (),
) -> list[tuple[Spec, Waiter]]:
    """Like ``resolve``, each waiter with the SPEC that builds it again (``str(spec)``)."""
    spec = parse_spec(text)
    return list(_build(spec, config, dict(runtime_waiters or {}), timeout,
                       frozenset(known_runtimes)))


def _build(
    spec: Spec,
    config: dict[str, Any],
    runtime: dict[str, type[Waiter]],
    timeout: float | None,
    known_runtimes: frozenset[str],
) -> Iterator[tuple[Spec, Waiter]]:
    if spec.name == CHAIN:
        if not spec.args:
            raise SpecError("'chain' needs at least one waiter: chain[a, b, ...]")
        for arg in spec.args:
            yield from _build(arg, config, runtime, timeout, known_runtimes)
        return
    if spec.dotted:
        yield spec, _user_class(spec, config, timeout)
        return
    if spec.name in runtime:
        yield spec, runtime[spec.name].create(spec.args, config)
        return
    points = _entry_points()
    if spec.name not in points and spec.name in known_runtimes:
        raise SpecError(f"the {spec.name} waiter needs the {spec.name} runtime: add "
                        f"{spec.name} to runtime.types in the cluster config")
    if spec.name not in points:
        names = sorted({CHAIN, *points, *runtime})
        close = difflib.get_close_matches(spec.name, sorted({*names, *known_runtimes}), n=1,
                                          cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(f"unknown job waiter {spec.name!r}; available: {', '.join(names)} "
                        f"(or a dotted path to a JobWaiter class){hint}")
    try:
        obj = _load(points[spec.name])
    except Exception as exc:
        raise SpecError(f"job waiter {spec.name!r} cannot be loaded: {exc}") from exc
    yield spec, _instantiate(obj, spec, config, timeout)


def _user_class(spec: Spec, config: dict[str, Any], timeout: float | None) -> Waiter:
    module_name, _, attr = spec.name.rpartition(".")
    try:
        with plugin_code():
            module = importlib.import_module(module_name)
    except ImportError:
        # Then the current directory, where a user keeps a waiter next to the cluster file.
        sys.path.insert(0, os.getcwd())
        try:
            with plugin_code():
                module = importlib.import_module(module_name)
        except ImportError as exc:
            raise SpecError(f"job waiter {spec.name!r}: cannot import {module_name!r}: {exc}") \
                from exc
        except Exception as exc:
            raise SpecError(f"job waiter {spec.name!r}: importing {module_name!r} failed: "
                            f"{type(exc).__name__}: {exc}") from exc
        finally:
            sys.path.remove(os.getcwd())
    except Exception as exc:
        raise SpecError(f"job waiter {spec.name!r}: importing {module_name!r} failed: "
                        f"{type(exc).__name__}: {exc}") from exc
    obj = getattr(module, attr, None)
    if obj is None:
        raise SpecError(f"job waiter {spec.name!r}: module {module_name!r} has no {attr!r}")
    return _instantiate(obj, spec, config, timeout)


def _instantiate(obj: Any, spec: Spec, config: dict[str, Any], timeout: float | None) -> Waiter:
    if inspect.isclass(obj) and issubclass(obj, Waiter):
        try:
            with plugin_code():
                return obj.create(spec.args, config)
        except SpecError:
            raise
        except Exception as exc:
            raise SpecError(f"job waiter {spec.name!r} could not be created: "
                            f"{type(exc).__name__}: {exc}") from exc
    if inspect.isclass(obj) and issubclass(obj, JobWaiter):
        if spec.args:
            raise SpecError(f"job waiter {spec.name!r} takes no parameters")
        try:
            with plugin_code():
                user = obj(config)
        except Exception as exc:
            raise SpecError(f"job waiter {spec.name!r} could not be created: "
                            f"{type(exc).__name__}: {exc}") from exc
        return BlockingWaiter(user, spec.name, timeout)
    raise SpecError(f"{spec.name!r} is not a JobWaiter class (subclass jobwaiter.JobWaiter)")
