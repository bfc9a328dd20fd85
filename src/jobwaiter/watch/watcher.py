"""The watcher: one process per head user that watches every armed job in a thread, records
each result, and then runs the job's stop when it is armed and the job's end allows it."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from jobwaiter import __version__, runtimes
from jobwaiter.errors import JobwaiterError
from jobwaiter.jobs.plan import JobPlan, StopPlan, WaiterStep, with_waiters
from jobwaiter.jobs.result import JobResult, Outcome, StopReport
from jobwaiter.jobs.run import finish_wait, read_record
from jobwaiter.jobs.site import JobSite
from jobwaiter.jobs.stop import settle
from jobwaiter.jobs.transaction import read_journal, stop_cluster
from jobwaiter.jobs.watch import HEAD_STOP_BEGAN
from jobwaiter.records import JOBS_DIR
from jobwaiter.sessions import kill_argv
from jobwaiter.transport.node import Node
from jobwaiter.waiters.session import session_waiter
from jobwaiter.watch import autostop, files
from jobwaiter.watch import notify as notify_module
from jobwaiter.watch.files import (
    CLAIM,
    FOLLOWING,
    HEAD_STOP,
    ORDER,
    PROGRESS,
    RESULT,
    SEEN,
    STOP_STATE,
    WATCHING,
    job_dir,
)
from jobwaiter.watch.workers import this_head, worker_node

#: Who the watcher is in a stop claim.
BY = "the head's watch"
#: How long the watcher stays up with nothing to watch (a client arming a job in that time
#: reuses it).
IDLE_EXIT = 30.0
#: At most this long between recording that the head's own stop commands start and
#: starting them, while a client following the job has not read it yet.
HEAD_STOP_GRACE = 1.0
#: ``--max-runtime``: marks the record when the head killed the job for running too long.
MAX_RUNTIME = "max_runtime"
KILL_GRACE = 10.0
#: How often the watcher looks for new orders when nobody tells it (``nudge``: SIGUSR1).
SCAN_EVERY = 0.5


_wake = threading.Event()


class FileReporter:
    """The wait's progress as one line in the record (``progress``), for followers."""

    def __init__(self, name: str) -> None:
        self.path = job_dir(name) / PROGRESS
        self.last = ""

    def phase(self, message: str) -> None:
        self._write(message)

    def progress(self, message: str, elapsed: float) -> None:
        self._write(message)

    def warn(self, message: str) -> None:
        self._write("warning: " + message)
        files.log(message)

    def _write(self, message: str) -> None:
        if message != self.last:
            self.last = message
            files.write_private(self.path, message + "\n")


def head_site(name: str, order: dict[str, Any]) -> tuple[JobSite, JobPlan]:
    """The job's site as the head sees it (this machine is the job's node) and its plan with
    the waiters built. Raises JobwaiterError when a waiter cannot be built here."""
    config = order["config"]
    plan = JobPlan.from_dict(order["plan"])
    node = this_head()
    configured = runtimes.configured_runtimes(config)

    def stop_plan() -> StopPlan:
        if plan.stop is None:
            raise ValueError("the order has no stop")
        return plan.stop

    site = JobSite(cluster=plan.cluster, node=node, nodes=(node,), config=config,
                   runtime_waiters=runtimes.runtime_waiters(configured), stop_plan=stop_plan,
                   reporter=FileReporter(name), local=True)
    return site, with_waiters(plan, site)


def watch_job(name: str) -> None:
    """Watch one job to its end: wait, record the result, then the stop (if armed)."""
    d = job_dir(name)
    order, problem = files.read_checked_json(d / ORDER)
    if order is None and not problem:
        files.log(f"{name}: no order; not watched")
        return
    if not problem and not isinstance(order, dict):
        problem = f"{ORDER} holds a {type(order).__name__}, not an order"
    if problem:
        # Said as the watch's result (a watch that records nothing would hold every stop
        # of the cluster back for ever); `wait` arms the job again with a good order.
        files.log(f"{name}: {problem}; not watched")
        _record(d, JobResult(Outcome.WAITER_FAILED, name,
                             message=f"the head's watch cannot read the job's order: "
                                     f"{problem}"), pending=False)
        return
    files.write_private(d / WATCHING, f"{os.getpid()} {files.boot_id()} {time.time():.3f}\n")
    files.log(f"{name}: watching")
    try:
        site, plan = head_site(name, order)
    except (JobwaiterError, ValueError, KeyError, TypeError) as exc:
        result = JobResult(Outcome.WAITER_FAILED, name,
                           message=f"the head's watch cannot run the job's waiters: {exc}")
        _record(d, result, pending=False)
        return
    record = read_record(site, name)
    guard = _max_runtime_guard(site, plan, record.started_at, name)
    base = JobResult(Outcome.STARTED, name, session=name if plan.session else None,
                     session_kind=plan.session,
                     log_path=f"~/{plan.log}" if plan.log else None,
                     started_at=record.started_at)
    waited = plan if plan.waiters else replace(
        # Nothing to wait for but the job's end, before its stop (a session without a
        # waiter).
        plan, waiters=(WaiterStep(plan.session or "job", session_waiter(plan.session or "tmux")),))
    result = finish_wait(site, replace(waited, stop=None), base, None, record.started_at)
    if guard is not None:
        guard.cancel()
    if (d / MAX_RUNTIME).exists() and result.outcome is Outcome.KILLED:
        result = replace(result, message=f"the job ran longer than --max-runtime "
                                         f"{plan.max_runtime:g}s and was killed "
                                         f"({result.message})")
    stop, workers, problem = _current_stop(d, order)
    if problem:
        files.log(f"{name}: {problem}")
        result = replace(result, notes=(*result.notes, problem))
    # Final only once the stop and the notifications are done: a follower reads it then.
    _record(d, result, pending=stop is not None or bool(order.get("notify")))
    files.log(f"{name}: {result.outcome} ({result.message})")

    def notify(told: JobResult) -> tuple[str, ...]:
        fresh = files.read_json(d / ORDER)
        body = notify_module.payload(told.to_dict(), plan.label, plan.cluster)
        notes = tuple(notify_module.send(fresh if isinstance(fresh, dict) else order, body, d))
        for note in notes:
            files.log(f"{name}: {note}")
        return (*result.notes, *notes)

    if stop is None:
        _record(d, replace(result, notes=notify(result)), pending=False)
        return
    site = replace(site, nodes=(site.node, *workers))
    try:
        result = head_stop(site, stop, result, notify,
                           saved={"workers": order.get("workers") or []})
    finally:
        for node in site.nodes:
            node.transport.close()
    _record(d, result, pending=False)
    files.log(f"{name}: stop {result.stop.detail if result.stop else ''}")


def _let_followers_read(d: Any) -> None:
    """Give a client that follows the job right now the time to read the result just
    recorded (at most HEAD_STOP_GRACE), before commands that may take the head away. With
    nobody following, nothing to wait for."""
    recorded = files.read_text(d / RESULT)
    deadline = time.monotonic() + HEAD_STOP_GRACE
    while time.monotonic() < deadline:
        if not files.followed(d / FOLLOWING) or files.read_text(d / SEEN) == recorded:
            return
        time.sleep(0.02)


def _max_runtime_guard(site: JobSite, plan: JobPlan, started_at: float | None,
                       name: str) -> threading.Timer | None:
    """``--max-runtime``: kill the job (as ``jobwaiter kill`` does, recorded) once it has run
    that long, by the head's clock."""
    if plan.max_runtime is None:
        return None
    d = job_dir(name)

    def fire() -> None:
        if (d / "status").exists():
            return
        files.write_private(d / MAX_RUNTIME, f"{time.time():.3f}\n")
        files.log(f"{name}: ran longer than --max-runtime {plan.max_runtime:g}s: killing it")
        site.head.run(kill_argv(name, int(signal.SIGTERM), KILL_GRACE), timeout=120)

    delay = max(0.0, (started_at or time.time()) + plan.max_runtime - time.time())
    timer = threading.Timer(delay, fire)
    timer.daemon = True
    timer.start()
    return timer


def _current_stop(d: Any, first: dict[str, Any]
                  ) -> tuple[StopPlan | None, tuple[Node, ...], str]:
    """The stop as the order says now (``wait --stop`` may have armed one since), the
    workers the head reaches, and a problem to say ("" when none). An order that cannot be
    read now is said, and the order read when the watch began stands: never a dropped stop."""
    order = files.read_json(d / ORDER)
    problem = ""
    if not isinstance(order, dict):
        problem = ("the job's order on the head cannot be read now; the stop is the one "
                   "armed when the watch began")
        order = first
    plan = order.get("plan")
    stop = plan.get("stop") if isinstance(plan, dict) else None
    if not isinstance(stop, dict):
        return None, (), problem
    workers = tuple(worker_node(w) for w in order.get("workers") or ())
    return StopPlan.from_dict(stop), workers, problem


def _record(d: Any, result: JobResult, pending: bool) -> None:
    data = result.to_dict()
    data["stop_pending"] = pending
    if result.stop is not None:
        # One fact of its own for the head's scripts (``jobs`` shows it), beside the result.
        files.write_private(d / STOP_STATE, result.stop.state + "\n")
    files.write_private(d / RESULT, json.dumps(data) + "\n")


def head_stop(
    site: JobSite,
    plan: StopPlan,
    result: JobResult,
    notify: Callable[[JobResult], tuple[str, ...]] = lambda result: (),
    saved: dict[str, Any] | None = None,
) -> JobResult:
    """The stop after a job, run by the head: the rule every stop follows (``jobs.stop``),
    with nobody to ask; a deferred stop is recorded (a follower reads it) and run once the
    work it waits for has ended. ``notify`` is told the result once: when the stop is
    deferred, before the head's own stop commands (the workers' parts done), or when the
    stop does not run."""
    told: list[tuple[str, ...]] = []
    d = job_dir(result.job)

    def tell(what: JobResult) -> JobResult:
        if not told:
            told.append(notify(what))
        return replace(what, notes=told[0])

    def deferred(what: JobResult) -> None:
        _record(d, tell(what), pending=True)

    def head_part_next() -> None:
        # The head's own stop commands may power it off: what happened is readable (and
        # sent) first, and a client following the job is given a moment to read it.
        files.write_private(d / HEAD_STOP, f"started {time.time():.3f}\n")
        started = tell(replace(result, stop=StopReport(True, None, HEAD_STOP_BEGAN,
                                                       "interrupted")))
        _record(d, started, pending=True)
        _let_followers_read(d)

    result = settle(site, plan, result, BY, saved=saved, before_head=head_part_next,
                    on_deferred=deferred)
    return tell(result)


def _orders() -> list[str]:
    jobs = files.home() / JOBS_DIR
    try:
        names = sorted(p.parent.name for p in jobs.glob("*/" + ORDER))
    except OSError:
        return []
    return [n for n in names if not _finished(n)]


def _claimed_elsewhere(name: str) -> bool:
    """The stop after the job was claimed by someone else than the head's watch (a client
    runs it, or it was disarmed): a watch that ended is not started again for it."""
    claimed = (files.read_text(job_dir(name) / CLAIM) or "").strip()
    return bool(claimed) and not claimed.startswith(BY)


def _finished(name: str) -> bool:
    data = files.read_json(job_dir(name) / RESULT)
    return isinstance(data, dict) and not data.get("stop_pending")


def serve(idle_exit: float = IDLE_EXIT) -> int:
    """Run the watcher until it has had nothing to watch for ``idle_exit`` seconds. Returns
    at once (0) when another watcher runs."""
    files.ensure_dir(files.watch_dir())
    lock = os.open(str(files.watch_dir() / "watcher.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        return 0
    # A new order is taken at once when its writer says so (files.nudge), not at the next scan.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR1, lambda signum, frame: _wake.set())
    files.write_private(files.watch_dir() / "watcher.pid",
                        f"{os.getpid()} {files.boot_id()} {__version__}\n")
    files.log(f"watcher started (jobwaiter {__version__})")
    threads: dict[str, threading.Thread] = {}
    for cluster in _open_stops():
        resume = threading.Thread(target=_resume_stop, args=(cluster,), daemon=True,
                                  name=f"stop-{cluster}")
        threads[f"stop {cluster}"] = resume
        resume.start()
    idle_since = time.monotonic()
    lookout: threading.Thread | None = None
    while True:
        if autostop.armed() and (lookout is None or not lookout.is_alive()):
            lookout = threading.Thread(target=_autostop, daemon=True, name="autostop")
            lookout.start()
        for name in _orders():
            thread = threads.get(name)
            if thread is None or (not thread.is_alive() and not _finished(name)
                                  and not _claimed_elsewhere(name)):
                # New, or armed again (wait --stop) after its thread had finished.
                thread = threading.Thread(target=_guarded, args=(name,), daemon=True,
                                          name=f"watch-{name}")
                threads[name] = thread
                thread.start()
        live = [n for n, t in threads.items() if t.is_alive()]
        if lookout is not None and lookout.is_alive():
            live.append("autostop")
        if not files.watch_dir().is_dir():
            break  # ~/.jobwaiter was removed: nothing of ours is left to watch
        if live:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > idle_exit and not _orders() \
                and not autostop.armed():
            break
        _wake.wait(SCAN_EVERY)
        _wake.clear()
    files.log("watcher exits: nothing to watch, autostop not armed")
    os.close(lock)
    return 0


def _open_stops() -> list[str]:
    """The clusters whose stop was begun on this head and not ended (its owner may have been
    killed: the stop is taken over once its lease has run out)."""
    base = files.home() / ".jobwaiter" / "clusters"
    try:
        found = sorted(p.parent.name[:-len(".stop")] for p in base.glob("*.stop/token"))
    except OSError:
        return []
    return [c for c in found if not (base / f"{c}.stop" / "outcome").exists()]


def _resume_stop(cluster: str) -> None:
    """Finish a stop that its owner left, when the head can reach every node it stops."""
    head = this_head()
    try:
        journal = read_journal(head, cluster)
        saved = journal.plan if isinstance(journal.plan, dict) else {}
        if not journal.open or "stop" not in saved:
            return
        plan = StopPlan.from_dict(saved["stop"])
        workers = [worker_node(w) for w in saved.get("workers") or ()]
        reached = {w.id for w in workers}
        if any(w.commands and w.node not in reached for w in plan.workers):
            files.log(f"stop of cluster {cluster} left by {journal.owner}: the head cannot "
                      "reach its workers; the next client command finishes it")
            return
        report = stop_cluster(plan, (head, *workers), f"the head's watch, resuming the stop "
                              f"of {journal.owner}", saved=saved)
        files.log(f"stop of cluster {cluster} resumed: {report.state}: {report.detail}")
    except Exception as exc:  # logged; a client command finishes it otherwise
        files.log(f"resuming the stop of cluster {cluster} failed: "
                  f"{type(exc).__name__}: {exc}")
    finally:
        head.transport.close()


def _autostop() -> None:
    try:
        autostop.keep()
    except BaseException as exc:  # logged; the watcher starts it again at its next scan
        files.log(f"autostop failed: {type(exc).__name__}: {exc}")
        time.sleep(5.0)


def _guarded(name: str) -> None:
    try:
        watch_job(name)
    except BaseException as exc:  # one job's failure must not end the watch of the others
        files.log(f"{name}: the watch failed: {type(exc).__name__}: {exc}")
        result = JobResult(Outcome.WAITER_FAILED, name,
                           message=f"the head's watch failed: {type(exc).__name__}: {exc}")
        _record(job_dir(name), result, pending=False)


__all__ = ["BY", "HEAD_STOP", "WATCHING", "head_stop", "serve", "watch_job"]
