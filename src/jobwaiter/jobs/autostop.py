"""The client's side of autostop (``jobwaiter.watch.autostop`` is the head's): arm it, cancel
it, and read what the head shows of it (a preamble of the records' dump, so ``status`` and
``jobs`` get it with no extra call)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jobwaiter.durations import parse_duration
from jobwaiter.errors import JobwaiterError, UsageError
from jobwaiter.jobs.site import JobSite
from jobwaiter.jobs.watch import WatchUnavailable, run_argv, ship, worker_access

#: ``jobs_and_ssh`` (the default): jobs, runtimes' work and people at the head keep the
#: cluster up; ``jobs``: only jobs and runtimes' work.
WAIT_FOR = ("jobs_and_ssh", "jobs")


@dataclass(frozen=True)
class AutostopState:
    """Autostop as the head keeps it. ``armed``: it will stop the cluster once idle for
    ``idle`` seconds; ``watching``: a watcher of the head's current boot keeps the idle clock
    (armed but not watching: nothing counts until it is armed again). ``idle_since`` (head's
    clock) is None while something keeps the cluster busy (``busy`` says what)."""

    armed: bool
    idle: float | None = None
    wait_for: str = WAIT_FOR[0]
    armed_at: float | None = None
    watching: bool = False
    since_boot: bool = True
    checked_at: float | None = None
    idle_since: float | None = None
    busy: tuple[str, ...] = ()
    fired_at: float | None = None
    stop: dict[str, Any] | None = None
    cancelled_at: float | None = None
    #: The head's clock when this was read: every time here is the head's, so a client
    #: whose clock is off shows the right durations.
    head_now: float | None = None
    #: What is wrong with autostop's files on the head ("" when nothing is): an order the
    #: watcher cannot use, or a state that cannot be read. Said, never taken for "disarmed".
    error: str = ""

    @property
    def now(self) -> float:
        return self.head_now or self.checked_at or 0.0

    def idle_for(self) -> float | None:
        if not (self.armed and self.watching) or self.idle_since is None:
            return None
        return max(0.0, self.now - self.idle_since)

    def remaining(self) -> float | None:
        """Seconds until the stop, as of the read (None while busy)."""
        idle_for = self.idle_for()
        if idle_for is None or self.idle is None:
            return None
        return max(0.0, self.idle - idle_for)

    def describe(self, config: str = "CONFIG") -> str:
        """One line for people."""
        if self.error:
            return (f"autostop {'armed' if self.armed else 'not armed'}, but on the head "
                    f"{self.error}; arm it again (`jobwaiter autostop {config} --idle ...`) "
                    f"or cancel it (`jobwaiter autostop {config} --cancel`)")
        if not self.armed:
            if self.fired_at is not None:
                stop = self.stop or {}
                how = {"done": "stopped", "failed": "stop failed",
                       "not_run": "found stopped", "interrupted": "stop started"}.get(
                    str(stop.get("state")), {True: "stopped", False: "stop failed",
                                             None: "stop started"}[stop.get("ok")])
                return (f"autostop: not armed; it {how} the cluster "
                        f"{_short(self.now - self.fired_at)} ago after "
                        f"{_short(self.idle or 0)} idle"
                        + (f" ({stop.get('detail')})" if stop.get("ok") is not True else ""))
            return "autostop: not armed"
        setting = f"idle {_short(self.idle or 0)}, wait for {self.wait_for}"
        if not self.watching:
            why = ("no watcher since boot" if not self.since_boot
                   else "its watcher is not running")
            return (f"autostop armed, {why} ({setting}): nothing counts until "
                    f"`jobwaiter autostop {config} --idle {_typed(self.idle or 0)}` re-arms it")
        idle_for = self.idle_for()
        if idle_for is None:
            if not self.checked_at:
                return f"autostop armed ({setting}): first look under way"
            return f"autostop armed ({setting}): busy: {'; '.join(self.busy) or '?'}"
        return (f"autostop armed ({setting}): idle for {_short(idle_for)}, stops in "
                f"{_short(self.remaining() or 0)}")

    def to_dict(self) -> dict[str, Any]:
        idle_for = self.idle_for()
        remaining = self.remaining()
        return {"armed": self.armed, "idle": self.idle, "wait_for": self.wait_for,
                "armed_at": self.armed_at, "watching": self.watching,
                "checked_at": self.checked_at, "busy": list(self.busy),
                "idle_for": None if idle_for is None else round(idle_for, 1),
                "stops_in": None if remaining is None else round(remaining, 1),
                "fired_at": self.fired_at, "stop": self.stop,
                "cancelled_at": self.cancelled_at, "error": self.error or None}


def parse_autostop(text: str, cluster: str | None = None) -> AutostopState | None:
    """The autostop preamble of a dump (``autostop_*`` lines before the first record), or
    None when autostop was never armed there (or, with ``cluster``, is another cluster's)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("@@"):
            break
        key, _, value = line.partition(" ")
        if key.startswith("autostop_"):
            fields[key] = value.strip()
    if "autostop_armed" not in fields:
        return None
    owner = fields.get("autostop_cluster")
    if cluster is not None and owner and owner != cluster:
        return None
    error = ""
    try:
        state = json.loads(fields.get("autostop_state") or "{}")
    except ValueError:
        state = None
    if not isinstance(state, dict):
        state, error = {}, ("autostop.state is damaged (not a JSON object): what autostop "
                            "will do cannot be told")
    armed = fields["autostop_armed"] == "yes"
    if armed and not error and isinstance(state.get("error"), str):
        error = state["error"][:300]
    boot = fields.get("autostop_boot", "")
    since_boot = not boot or state.get("boot") in (None, boot)
    stop = state.get("stop")
    return AutostopState(
        armed=armed, idle=_num(state.get("idle")),
        wait_for=str(state.get("wait_for") or WAIT_FOR[0]), armed_at=_num(state.get("armed_at")),
        watching=fields.get("autostop_watcher") == "yes" and since_boot
        and state.get("watcher") is not None,
        since_boot=since_boot, checked_at=_num(state.get("checked_at")),
        idle_since=_num(state.get("idle_since")),
        busy=tuple(str(b) for b in state.get("busy") or ()),
        fired_at=_num(state.get("fired_at")), stop=stop if isinstance(stop, dict) else None,
        cancelled_at=_num(state.get("cancelled_at")),
        head_now=_float(fields.get("autostop_now")), error=error)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def arm(site: JobSite, idle: float, wait_for: str = WAIT_FOR[0]) -> str:
    """Arm autostop on the head; returns the watcher's pid once it has looked once.
    UsageError for what the cluster cannot do (before anything is put on the head);
    JobwaiterError when the head cannot run it."""
    if wait_for not in WAIT_FOR:
        raise UsageError(f"--wait-for {wait_for}: expected one of {', '.join(WAIT_FOR)}")
    if not idle > 0:
        raise UsageError("--idle must be more than zero")
    workers = {n.id for n in site.nodes if not n.is_head}
    stop = site.stop_plan()
    try:
        path = ship(site)
    except WatchUnavailable as exc:
        raise JobwaiterError(f"the head cannot run autostop: {exc}") from None
    try:
        # The head reads the workers' jobs and stops them: it needs a way to them.
        access = worker_access(site, workers, stop)
    except WatchUnavailable as exc:
        raise UsageError(f"autostop: {exc}") from None
    order = {"idle": idle, "wait_for": wait_for, "stop": stop.to_dict(),
             "config": dict(site.config), "workers": access}
    answer = site.head.run(run_argv(path, "autostop", "arm"),
                           input=json.dumps(order).encode(), timeout=60, idempotent=True)
    words = answer.stdout.split(maxsplit=1)
    if answer.ok and words[:1] == ["armed"]:
        return words[1].strip() if len(words) > 1 else "?"
    why = answer.stdout.strip()
    why = (why[len("not-armed "):] if why.startswith("not-armed ") else why) or answer.tail(2)
    raise JobwaiterError(f"autostop was not armed: {why or answer.exit_status}")


def cancel(site: JobSite) -> bool:
    """Disarm this cluster's autostop; True when it was armed (another cluster's, on the same
    head, is left alone). Needs nothing on the head but bash (``stop`` disarms it this way
    too)."""
    answer = site.head.run(cancel_argv(site.cluster), idempotent=True, timeout=60)
    answer.check("cancelling autostop")
    return answer.stdout.strip().endswith("cancelled")


def cancel_argv(cluster: str) -> list[str]:
    """Removes the order when it is ``cluster``'s; the watcher sees it gone within half a
    second, and records that."""
    return ["bash", "-c", 'w="$HOME/.jobwaiter/watch"; f=$w/autostop.json; '
                          'c=$(cat "$w/autostop.cluster" 2>/dev/null); '
                          'if [ -n "$c" ] && [ "$c" != "$1" ]; then echo "other $c"; '
                          'elif [ -f "$f" ]; then rm -f "$f" && echo cancelled; '
                          'else echo not-armed; fi', "jw", cluster]


def _typed(seconds: float) -> str:
    """``seconds`` as ``--idle`` takes it, exactly (``30m``, else ``3661s``)."""
    short = _short(seconds)
    try:
        if parse_duration(short) == seconds:
            return short
    except ValueError:  # "0s" for less than half a second
        pass
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"


def _short(seconds: float) -> str:
    s = max(round(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m" + (f"{s % 60:02d}s" if s % 60 else "")
    return f"{s // 3600}h" + (f"{s % 3600 // 60:02d}m" if s % 3600 // 60 else "")

