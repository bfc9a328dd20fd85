"""Autostop, on the head: the watcher stops the whole cluster once it has been idle for the
armed time (``jobwaiter autostop CONFIG --idle 30m``).

Idle means all of: no jobwaiter job alive on any node (and no head watch of one still
waiting); no configured runtime with work pending or running anywhere (``Runtime.activity``);
and, with ``wait_for`` ``jobs_and_ssh`` (the default), nobody at the head: no attached
tmux/screen client, no interactive login. Anything that cannot be told (a worker that does
not answer, an engine that answers oddly) counts as busy: a cluster is never stopped on a
guess. The clock starts at the first idle look, so a watcher started after a reboot counts
from zero.

Files, in ``~/.jobwaiter/watch`` (0600): ``autostop.json`` the order (armed while it exists;
private: the config, how the workers are reached), ``autostop.state`` one JSON line of what
``status`` and ``jobs`` show (no secrets), ``autostop.claim`` made when the stop starts (at
most once per arming).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jobwaiter import runtimes
from jobwaiter.errors import CommandError, TransportError
from jobwaiter.jobs.autostop import WAIT_FOR
from jobwaiter.jobs.plan import StopPlan
from jobwaiter.jobs.transaction import stop_cluster
from jobwaiter.records.read import read_records
from jobwaiter.runtimes.base import BUSY, IDLE, UNKNOWN, Activity, Runtime
from jobwaiter.sessions.present import parse_present, present_argv
from jobwaiter.transport.node import Node
from jobwaiter.watch import files
from jobwaiter.watch.workers import this_head, worker_node

ORDER = "autostop.json"
STATE = "autostop.state"
CLAIM = "autostop.claim"
#: The cluster whose autostop it is, one fact (``control.sh`` and the dump read it): another
#: cluster's config on the same head neither cancels nor sees it.
CLUSTER = "autostop.cluster"


def path(name: str) -> Path:
    return files.watch_dir() / name


def armed() -> bool:
    return path(ORDER).exists()


def every(idle: float) -> float:
    """How often to look: a tenth of the idle time, between 2 s and 30 s."""
    return min(30.0, max(2.0, idle / 10.0))


class Lookout:
    """What keeps the cluster busy right now: one look is ``busy()``, the reasons (none:
    idle)."""

    def __init__(self, head: Node, workers: Sequence[Node], engines: Sequence[Runtime],
                 wait_for: str) -> None:
        self.head = head
        self.workers = tuple(workers)
        self.engines = tuple(engines)
        self.wait_for = wait_for

    def busy(self) -> list[str]:
        return [*self.jobs(), *self.work(), *self.people()]

    def jobs(self) -> list[str]:
        """Jobs alive on any node, and head watches still waiting."""
        reasons = []
        for node in (self.head, *self.workers):
            where = "" if node.is_head else f" on {node.id}"
            try:
                records = read_records(node.transport)
            except (TransportError, CommandError) as exc:
                reasons.append(f"cannot read the jobs{where or ' on the head'}: {exc}")
                continue
            for r in records:
                if r.alive:
                    reasons.append(f"job {r.name} is running{where}")
                elif r.watched and not r.watch_done:
                    reasons.append(f"the head still watches job {r.name}{where}")
        return reasons

    def work(self) -> list[str]:
        """Work the runtimes report, and what they cannot tell."""
        reasons = []
        for engine in self.engines:
            try:
                activity = engine.activity(self.head)
            except Exception as exc:  # a plugin's bug, an engine gone odd: cannot tell
                activity = Activity(engine.name, UNKNOWN, f"{type(exc).__name__}: {exc}")
            if activity.state == BUSY:
                reasons.append(f"{engine.name}: {activity.detail}")
            elif activity.state != IDLE:
                reasons.append(f"{engine.name} cannot tell its work: {activity.detail}")
        return reasons

    def people(self) -> list[str]:
        """Attached clients and interactive logins (none with ``wait_for`` ``jobs``)."""
        if self.wait_for == "jobs":
            return []
        try:
            result = self.head.transport.run(present_argv(), idempotent=True, timeout=60)
        except TransportError as exc:
            return [f"cannot tell who is at the head: {exc}"]
        return [p.describe() for p in parse_present(result.stdout)]


def lookout(order: dict[str, Any]) -> Lookout:
    """The lookout an order describes (the head is this machine)."""
    head = this_head()
    workers = [worker_node(w) for w in order.get("workers") or ()]
    engines = runtimes.configured_runtimes(order.get("config") or {})
    return Lookout(head, workers, engines, str(order.get("wait_for") or WAIT_FOR[0]))


def write_state(order: dict[str, Any] | None, **fields: Any) -> None:
    """``autostop.state``: the setting (never the order's secrets) and what the watcher saw."""
    state: dict[str, Any] = {"armed": order is not None, "watcher": os.getpid(),
                             "boot": files.boot_id()}
    if order is not None:
        state.update(idle=order.get("idle"), wait_for=order.get("wait_for"),
                     armed_at=order.get("armed_at"))
    state.update(fields)
    files.write_private(path(STATE), json.dumps(state) + "\n")


def keep(clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep,
         build: Callable[[dict[str, Any]], Lookout] = lookout) -> None:
    """Look while armed; stop the cluster once idle for the armed time. Returns when
    disarmed (``--cancel``, ``jobwaiter stop``) or after the stop."""
    armed_at: Any = object()
    look: Lookout | None = None
    idle_since: float | None = None
    while True:
        order, problem = files.read_checked_json(path(ORDER))
        if order is None and not problem:
            state = files.read_json(path(STATE))
            if isinstance(state, dict) and state.get("armed"):
                write_state(None, cancelled_at=time.time())  # removed by `jobwaiter stop`
            return
        problem = problem or order_problem(order)
        if not problem and (order.get("armed_at") != armed_at or look is None):
            try:
                armed_at, look, idle_since = order.get("armed_at"), build(order), None
                files.log(f"autostop armed: idle {order.get('idle')}s, wait for "
                          f"{order.get('wait_for')}")
            except Exception as exc:  # a config the head cannot build its lookout from
                problem = f"{ORDER} cannot be used: {type(exc).__name__}: {exc}"
        if problem or look is None:
            # Armed, and it stops nothing: said where autostop is shown, until the order is
            # armed again or cancelled (never taken for "disarmed").
            damaged(problem)
            look = None
            _pause(float("inf"), clock, sleep)
            continue
        busy = look.busy()
        now = clock()
        if busy:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        idle_for = 0.0 if idle_since is None else now - idle_since
        limit = float(order.get("idle") or 0)
        # What people read: wall-clock times, the head's (the watcher's clock is monotonic).
        write_state(order, checked_at=time.time(), busy=busy,
                    idle_since=None if idle_since is None else time.time() - idle_for)
        if idle_since is not None and idle_for >= limit and fire(order, look):
            return
        _pause(every(limit), clock, sleep)


def order_problem(order: Any) -> str:
    """What is wrong with an order read back from ``autostop.json`` ("" when nothing is)."""
    if not isinstance(order, dict):
        return f"{ORDER} holds a {type(order).__name__}, not an order"
    idle = order.get("idle")
    if isinstance(idle, bool) or not isinstance(idle, (int, float)) or not idle > 0:
        return f"{ORDER}: idle is {idle!r}, not a number of seconds"
    if order.get("wait_for") not in WAIT_FOR:
        return f"{ORDER}: wait_for is {order.get('wait_for')!r}"
    if not isinstance(order.get("config"), dict) \
            or not isinstance(order.get("workers", []), list):
        return f"{ORDER}: config or workers are not what arming wrote"
    try:
        StopPlan.from_dict(order["stop"])
    except Exception as exc:  # any shape of damage: said, never a traceback
        return f"{ORDER}: its stop cannot be read ({type(exc).__name__})"
    return ""


def damaged(problem: str) -> None:
    """Record (once per problem) that the order is damaged: armed, stopping nothing."""
    state = files.read_json(path(STATE))
    if isinstance(state, dict) and state.get("error") == f"{problem}: it stops nothing":
        return
    files.log(f"autostop: {problem}; it stops nothing until armed again or cancelled")
    write_state(None, armed=True, error=f"{problem}: it stops nothing", checked_at=time.time())


#: How soon a change of the order (``--cancel``, arming again) is seen between looks.
NOTICE = 0.5


def _pause(seconds: float, clock: Callable[[], float],
           sleep: Callable[[float], None]) -> None:
    """Wait until the next look, or less when the order changes (its file is replaced or
    removed): a new arming is looked at at once, and its client does not wait a period."""
    before = _signature()
    end = clock() + seconds
    while clock() < end and _signature() == before:
        sleep(min(NOTICE, end - clock()))


def _signature() -> tuple[int, int] | None:
    try:
        st = os.stat(str(path(ORDER)))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def fire(order: dict[str, Any], look: Lookout) -> bool:
    """Stop the cluster, once: False (and nothing done) when disarmed meanwhile, when the
    stop was claimed already, or when a last look finds work."""
    if not armed():
        return False
    try:
        fd = os.open(str(path(CLAIM)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    busy = look.busy()  # a job launched during the last look keeps the cluster up
    if busy or not armed():
        os.unlink(str(path(CLAIM)))
        return False
    os.unlink(str(path(ORDER)))  # one stop per arming: disarmed from here on
    idle = order.get("idle")
    files.log(f"autostop: the cluster has been idle for {idle}s: stopping it")
    base = {"fired_at": time.time(), "idle": idle, "wait_for": order.get("wait_for"),
            "armed_at": order.get("armed_at")}

    def head_part_next() -> None:
        # The head's own stop commands may power it off: what happened is written first.
        write_state(None, **base, stop={"ok": None, "state": "interrupted",
                                        "detail": "the head's stop commands started"})

    write_state(None, **base, stop={"ok": None, "state": "interrupted", "detail": "stopping"})
    nodes = (look.head, *look.workers)
    try:
        report = stop_cluster(StopPlan.from_dict(order["stop"]), nodes, "autostop",
                              saved={"workers": order.get("workers") or []},
                              before_head=head_part_next)
        stop = report.to_dict()
    except (CommandError, TransportError) as exc:
        stop = {"ok": False, "state": "failed", "detail": str(exc)}
    except Exception as exc:  # recorded: the state must not say "stopping" for ever
        stop = {"ok": False, "state": "failed", "detail": f"{type(exc).__name__}: {exc}"}
    finally:
        for node in nodes:
            node.transport.close()
    write_state(None, **base, stop=stop)
    files.log(f"autostop: stop {stop['state']}: {stop['detail']}")
    return True


def arm(order: dict[str, Any]) -> None:
    """Record the order (armed from now: the idle clock starts again). ValueError for an
    order that does not hold, or while another cluster's autostop is armed here."""
    idle = float(order["idle"])
    if not idle > 0:
        raise ValueError("the idle time must be more than zero")
    if order.get("wait_for") not in WAIT_FOR:
        raise ValueError(f"wait_for must be one of {', '.join(WAIT_FOR)}")
    cluster = StopPlan.from_dict(order["stop"]).cluster
    owner = owner_cluster()
    if armed() and owner and owner != cluster:
        raise ValueError(f"autostop is armed for cluster {owner} on this head; cancel it "
                         "with that cluster's config first")
    order["armed_at"] = time.time()
    files.ensure_dir(files.watch_dir())
    files.write_private(path(CLUSTER), cluster + "\n")
    files.write_private(path(ORDER), json.dumps(order) + "\n")
    if path(CLAIM).exists():
        os.unlink(str(path(CLAIM)))
    write_state(order, watcher=None, checked_at=None, busy=[], idle_since=None)


def owner_cluster() -> str:
    return (files.read_text(path(CLUSTER)) or "").strip()


def cancel() -> bool:
    """Disarm; True when it was armed."""
    try:
        os.unlink(str(path(ORDER)))
    except FileNotFoundError:
        return False
    write_state(None, cancelled_at=time.time())
    return True
