"""Waiting in tests for something a background process does (a job starts, a file appears)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Return once ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout:g}s")
        time.sleep(0.05)


def looked_past_the_idle_time(state: Path, stopped: Callable[[], object],
                              timeout: float = 30.0) -> None:
    """Return once autostop's watcher (its ``autostop.state``) has looked twice since the
    armed idle time ran out (a stop due at the first look would have been made by the
    second), or once ``stopped()``. Call it just after arming, which returns once the watcher
    has looked: its idle clock, had it found the cluster idle, started before now."""
    deadline = time.time() + json.loads(state.read_text())["idle"]
    first: list[float] = []

    def looked() -> bool:
        at = json.loads(state.read_text()).get("checked_at") or 0.0
        if at >= deadline and not first:
            first.append(at)
        return bool(stopped()) or (bool(first) and at > first[0])

    wait_for(looked, timeout)
