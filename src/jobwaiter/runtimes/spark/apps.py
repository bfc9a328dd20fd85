"""Spark applications and drivers as the engines report them, and which of them a wait covers.

Pure functions over the engines' JSON, so every rule here is tested without a cluster.

Standalone master ``/json/``: ``activeapps``/``completedapps`` (``id``, ``name``, ``state``,
``starttime`` in ms, ``duration`` in ms) and ``activedrivers``/``completeddrivers`` (``id``,
``state``, ``starttime`` in ms as a string, ``mainclass``, ``worker``).

YARN ResourceManager ``/ws/v1/cluster/apps``: ``{"apps": {"app": [...]}}``, or
``{"apps": null}`` when nothing matches; each app has ``id``, ``name``, ``state``,
``finalStatus``, ``startedTime`` and ``finishedTime`` (ms; 0 while running), and
``diagnostics``. Hadoop 3.5 answers ``{"apps": {}}`` when nothing matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Standalone ApplicationState / DriverState values.
APP_OK = "FINISHED"
DRIVER_ACTIVE = frozenset({"SUBMITTED", "RUNNING", "RELAUNCHING"})
DRIVER_OK = "FINISHED"

# YARN application states. NEW, NEW_SAVING and SUBMITTED are counted neither as pending nor
# as running by the cluster metrics, which is why the waiter asks for states by name.
YARN_ACTIVE = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING")
YARN_ENDED = ("FINISHED", "FAILED", "KILLED")

# An application that started up to this long before the job still counts as the job's: the
# engine's clock may lag the head's a little, and waiting for an extra application is
# harmless where missing the job's own is not.
CLOCK_SLACK_MS = 1000


@dataclass(frozen=True)
class App:
    """One Spark application or standalone driver, in engine-neutral terms."""

    kind: str  # "app" or "driver"
    id: str
    name: str
    state: str
    active: bool
    failed: bool
    started_ms: int | None = None
    ended_ms: int | None = None
    final_status: str = ""
    message: str = ""

    def describe(self) -> str:
        state = self.state
        # While it runs, every application's final status is UNDEFINED; after, it is news.
        if self.final_status and self.final_status != self.state and \
                not (self.active and self.final_status == "UNDEFINED"):
            state += f"/{self.final_status}"
        name = f" ({self.name})" if self.name else ""
        message = f": {self.message}" if self.message else ""
        return f"{self.id}{name} {state}{message}"


def first_line(text: Any, limit: int = 200) -> str:
    """The first non-empty line of an engine's message, shortened."""
    for line in str(text or "").splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def standalone_apps(status: Mapping[str, Any]) -> list[App]:
    """Applications and drivers from a standalone master's ``/json/``."""
    apps: list[App] = []
    for key, active in (("activeapps", True), ("completedapps", False)):
        for a in status.get(key) or []:
            started = _int(a.get("starttime"))
            duration = _int(a.get("duration"))
            state = str(a.get("state", "UNKNOWN"))
            apps.append(App(
                "app", str(a.get("id")), str(a.get("name", "")), state, active,
                failed=not active and state != APP_OK, started_ms=started,
                ended_ms=None if active or started is None or duration is None
                else started + duration,
            ))
    for key, listed_active in (("activedrivers", True), ("completeddrivers", False)):
        for d in status.get(key) or []:
            state = str(d.get("state", "UNKNOWN"))
            active = listed_active or state in DRIVER_ACTIVE
            main = str(d.get("mainclass", "")).rsplit(".", 1)[-1]
            apps.append(App(
                "driver", str(d.get("id")), main, state, active,
                failed=not active and state != DRIVER_OK, started_ms=_int(d.get("starttime")),
            ))
    return apps


def yarn_apps(answer: Mapping[str, Any]) -> list[App]:
    """Applications from a ResourceManager ``/ws/v1/cluster/apps`` answer."""
    listing = answer.get("apps") or {}
    rows = listing.get("app") or [] if isinstance(listing, Mapping) else []
    apps = []
    for a in rows:
        state = str(a.get("state", ""))
        final = str(a.get("finalStatus", ""))
        active = state in YARN_ACTIVE
        finished = _int(a.get("finishedTime"))
        failed = not active and not (state == "FINISHED" and final == "SUCCEEDED")
        apps.append(App(
            "app", str(a.get("id")), str(a.get("name", "")), state, active,
            failed=failed, started_ms=_int(a.get("startedTime")),
            ended_ms=finished if finished else None, final_status=final,
            # Why it failed, as YARN says it ("User application exited with status 3");
            # an active application's diagnostics are progress chatter.
            message=first_line(a.get("diagnostics")) if failed else "",
        ))
    return apps


@dataclass(frozen=True)
class Scope:
    """Which applications a wait covers.

    Default: those that started at or after the job (``since_ms``). ``all``: every
    application on the cluster that is still active; of the ended ones, those that ended
    after the job started or that this wait saw active (an application that failed long
    before the job is no concern of it). Without a known job start, every active
    application, and ended ones only if seen active.
    """

    all: bool
    since_ms: int | None

    def covers(self, app: App, seen_active: Iterable[str] = ()) -> bool:
        if app.id in set(seen_active):
            return True
        if self.since_ms is None:
            return app.active
        begin = self.since_ms - CLOCK_SLACK_MS
        if not self.all:
            return app.started_ms is not None and app.started_ms >= begin
        if app.active:
            return True
        ended = app.ended_ms if app.ended_ms is not None else app.started_ms
        return ended is not None and ended >= begin


def summary(apps: list[App], limit: int = 4) -> str:
    shown = ", ".join(a.describe() for a in apps[:limit])
    more = len(apps) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
