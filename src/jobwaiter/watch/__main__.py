"""The head's side of the watch, as the client runs it: ``python3 -I run.py COMMAND``.

    serve                 run the watcher (started by ``arm``, detached)
    ensure                start the watcher if none runs, and return (the launch of a job
                          whose order it wrote)
    arm                   stdin: the order (JSON); start the watcher if none runs, and wait
                          until it has taken the job. Prints "watching <pid>" (exit 0) or
                          "not-watching <why>" (exit 1)
    follow [--for S] NAME...
                          print one JSON line per event of these jobs (progress, recorded:
                          the result while its stop goes on, result, unwatched) for at most
                          S seconds; "more" when some are still pending
    reach                 stdin: how the head reaches the workers (JSON list); tries each
                          and prints "ok <id>" or "fail <id> <why>", one line each
    autostop arm          stdin: the autostop order (JSON); start the watcher if none runs,
                          and wait until it has looked once. Prints "armed <pid>" (exit 0)
                          or "not-armed <why>" (exit 1)
    autostop cancel       disarm; prints "cancelled" or "not-armed"
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from jobwaiter.jobs.plan import JobPlan
from jobwaiter.records import check_name
from jobwaiter.watch import files
from jobwaiter.watch.files import (
    CLAIM,
    FOLLOWING,
    ORDER,
    PROGRESS,
    RESULT,
    SEEN,
    WATCHING,
    job_dir,
)

#: What the watcher must not inherit from the process that started it: the name of a job it
#: might run inside (its processes would count as that job's), shell start-up hooks, and a
#: session's handles.
_NOT_INHERITED = ("JOBWAITER_JOB", "BASH_ENV", "ENV", "TMUX", "TMUX_PANE", "STY", "WINDOW",
                  "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
ARM_CONFIRM = 20.0
#: Recorded outcomes of a watch that ended before the job did: arming watches it again.
UNFINISHED = ("timeout", "unreachable", "interrupted")
SPAWN_GRACE = 5.0


def _emit(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def _spawn_watcher() -> None:
    files.ensure_dir(files.watch_dir())
    run_py = os.path.join(_lib_dir(), "run.py")
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    out = os.open(str(files.watch_dir() / "watcher.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                  0o600)
    try:
        # A session of its own, no terminal, nothing of the SSH connection: it outlives the
        # client, the connection and the job's session.
        subprocess.Popen([sys.executable, "-I", run_py, "serve"], stdin=subprocess.DEVNULL,
                         stdout=out, stderr=out, start_new_session=True, close_fds=True,
                         cwd=str(files.home()), env=env)
    finally:
        os.close(out)


def arm(text: str) -> int:
    try:
        order = json.loads(text)
        plan = JobPlan.from_dict(order["plan"])
        if not isinstance(order.get("config"), dict):
            raise ValueError("the order has no config")
        check_name(plan.name)
    except Exception as exc:
        print(f"not-watching bad order: {type(exc).__name__}: {exc}")
        return 1
    d = job_dir(plan.name)
    if not d.is_dir():
        print(f"not-watching no job {plan.name} on this node")
        return 1
    recorded = files.read_json(d / RESULT)
    if isinstance(recorded, dict) and not recorded.get("stop_pending"):
        if recorded.get("outcome") not in UNFINISHED:
            print("watching done")  # the watch has ended: its result is recorded
            return 0
        # The last watch gave up before the job's end (--job-timeout): watch it again.
        os.unlink(str(d / RESULT))
    earlier = files.read_json(d / ORDER)
    if isinstance(earlier, dict) and earlier.get("notify") and not order.get("notify"):
        order["notify"] = earlier["notify"]  # armed again: where to send the result stays
    before = files.read_text(d / WATCHING)
    files.write_private(d / ORDER, json.dumps(order) + "\n")
    if plan.stop is not None and (files.read_text(d / CLAIM) or "").strip() == files.DISARMED:
        os.unlink(str(d / CLAIM))  # armed again

    def taken() -> str | None:
        text = files.read_text(d / WATCHING)
        if text and (text != before or _by_live_watcher(text)):
            return text.split()[0]
        return None

    files.nudge()
    pid = _until_taken(taken)
    if pid is None:
        print("not-watching the watcher did not take the job in time (see "
              "~/.jobwaiter/watch/watcher.log)")
        return 1
    print(f"watching {pid}")
    return 0


def _until_taken(taken: Callable[[], str | None]) -> str | None:
    """Start the watcher when none runs, until it has taken the order: ``taken()`` (asked
    while a watcher runs) says by whom. None when that did not happen within ARM_CONFIRM."""
    deadline = time.monotonic() + ARM_CONFIRM
    # A launch that wrote the order started a watcher moments ago (``ensure``): give it a
    # second to take its lock before starting another, which could take over later.
    spawned = time.monotonic() - SPAWN_GRACE + 1.0
    while time.monotonic() < deadline:
        running = files.watcher_running()
        by = taken() if running else None
        if by:
            return by
        # One start at a time: a watcher takes a moment to hold its lock, and one started
        # just as the watcher in charge exits must not pile up behind it.
        if not running and time.monotonic() - spawned > SPAWN_GRACE:
            _spawn_watcher()
            spawned = time.monotonic()
        time.sleep(0.05)
    return None


def _by_live_watcher(taken: str) -> bool:
    """The job was taken by the watcher that runs now (arming it again changes nothing but
    the order, which the watcher reads again before the stop)."""
    pid = (files.read_text(files.watch_dir() / "watcher.pid") or "").split()[:1]
    return bool(pid) and taken.split()[:1] == pid


def follow(names: list[str], budget: float) -> int:
    for name in names:
        check_name(name)
    pending = list(dict.fromkeys(names))
    seen: dict[str, str] = {}
    recorded: dict[str, str] = {}
    deadline = time.monotonic() + budget
    boot = files.boot_id()
    held: dict[str, int | None] = {}
    alive_at = time.monotonic() + 0.5
    while pending:
        for name in list(pending):
            d = job_dir(name)
            if not d.is_dir():
                _emit({"job": name, "event": "unknown"})
                pending.remove(name)
                continue
            text = files.read_text(d / RESULT)
            result = files.read_json(d / RESULT)
            if isinstance(result, dict) and (not result.get("stop_pending")
                                             or _deferred(result)):
                # Final for a follower: a deferred stop is the head's to run, later.
                _emit({"job": name, "event": "result", "result": result})
                pending.remove(name)
                continue
            if isinstance(result, dict) and text != recorded.get(name):
                # The job's result, with its stop still going on: what a client reports if
                # the head's own stop commands then take the head away. The watcher waits
                # for a follower to have sent it on (SEEN) before those commands run.
                recorded[name] = text or ""
                _emit({"job": name, "event": "recorded", "result": result})
                files.write_private(d / SEEN, text or "")
            # Tells the watcher that someone follows the job right now (for as long as this
            # process lives: a client gone away ends it at the next write).
            if name not in held:
                held[name] = _hold(d / FOLLOWING)
            message = (files.read_text(d / PROGRESS) or "").strip()
            if message and message != seen.get(name):
                seen[name] = message
                _emit({"job": name, "event": "progress", "message": message})
            why = _unwatched(d, boot)
            if why:
                event: dict[str, Any] = {"job": name, "event": "unwatched", "why": why}
                if isinstance(result, dict):
                    event["result"] = result
                _emit(event)
                pending.remove(name)
        if not pending or time.monotonic() > deadline:
            break
        if time.monotonic() >= alive_at:
            # An empty line (clients skip it): the write fails once the client is gone, and
            # this process ends with its locks, so the watcher knows at once.
            sys.stdout.write("\n")
            sys.stdout.flush()
            alive_at = time.monotonic() + 0.5
        time.sleep(0.1)
    if pending:
        _emit({"event": "more", "jobs": pending})
    return 0


def _hold(path: Any) -> int | None:
    """A shared flock on ``path``, held until this process ends (None if it cannot be)."""
    try:
        fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        os.close(fd)
        return None
    return fd


def _deferred(result: dict[str, Any]) -> bool:
    stop = result.get("stop")
    return isinstance(stop, dict) and stop.get("state") == "deferred"


def _unwatched(d: Any, boot: str) -> str:
    """Why nobody watches the job any more ("" while someone does)."""
    if not (d / ORDER).exists():
        return "the job is not watched by the head"
    taken = (files.read_text(d / WATCHING) or "").split()
    if len(taken) >= 2 and taken[1] != boot:
        return "the head has rebooted since its watcher took the job"
    if files.watcher_running():
        return ""
    return "no watcher runs on the head (it was killed, or the head rebooted)"


def reach(text: str) -> int:
    """Try every worker the way the head's watch will reach it (its key, strict host keys)."""
    from jobwaiter.errors import TransportError
    from jobwaiter.jobs.nodes import for_each
    from jobwaiter.watch.workers import worker_node

    def one(access: dict[str, Any]) -> str:
        node = worker_node(access)
        try:
            answer = node.transport.run(["true"], timeout=30)
        except TransportError as exc:
            return f"fail {node.id} {str(exc).splitlines()[0] if str(exc) else 'unreachable'}"
        finally:
            node.transport.close()
        if answer.ok:
            return f"ok {node.id}"
        return f"fail {node.id} exit status {answer.exit_status}"

    for line in for_each(list(json.loads(text)), one):
        print(line)
    return 0


def autostop_command(action: str, text: str) -> int:
    from jobwaiter.watch import autostop

    if action == "cancel":
        print("cancelled" if autostop.cancel() else "not-armed")
        return 0
    try:
        order = json.loads(text)
        autostop.arm(order)
    except Exception as exc:
        print(f"not-armed bad order: {type(exc).__name__}: {exc}")
        return 1

    def taken() -> str | None:
        # The watcher has looked once at this arming.
        state = files.read_json(autostop.path(autostop.STATE))
        if isinstance(state, dict) and state.get("checked_at") \
                and state.get("armed_at") == order["armed_at"]:
            return str(state.get("watcher"))
        return None

    files.nudge()
    pid = _until_taken(taken)
    if pid is None:
        other = _other_code()
        print("not-armed " + (
            f"the watcher running on the head (pid {other}) is an older jobwaiter's, which "
            "does not run autostop; it exits once the jobs it watches have ended"
            if other else "the watcher did not take autostop in time (see "
                          "~/.jobwaiter/watch/watcher.log)"))
        return 1
    print(f"armed {pid}")
    return 0


def _other_code() -> str:
    """The pid of the running watcher when it runs other code than this (a jobwaiter
    shipped earlier, another version): "" when not, or when that cannot be told."""
    pid = (files.read_text(files.watch_dir() / "watcher.pid") or "").split()[:1]
    if not pid or not files.watcher_running():
        return ""
    try:
        with open(f"/proc/{pid[0]}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return ""
    ours = os.path.join(_lib_dir(), "run.py").encode()
    return pid[0] if ours not in argv else ""


def _lib_dir() -> str:
    """The directory of the shipped copy this runs from (``run.py`` is there)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "serve":
        from jobwaiter.watch.watcher import serve

        return serve()
    if command == "arm":
        return arm(sys.stdin.read())
    if command == "reach":
        return reach(sys.stdin.read())
    if command == "ensure":
        if files.watcher_running():
            files.nudge()
        else:
            _spawn_watcher()
        return 0
    if command == "follow":
        budget = 25.0
        if args[:1] == ["--for"]:
            budget, args = float(args[1]), args[2:]
        try:
            return follow(args, budget)
        except BrokenPipeError:
            os._exit(0)  # the client went away: nothing to flush to, nobody to tell
    if command == "autostop" and args[:1] in (["arm"], ["cancel"]):
        return autostop_command(args[0], sys.stdin.read() if args[0] == "arm" else "")
    print(f"unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
