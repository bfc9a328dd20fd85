"""The session waiters: done when the job in the session has ended.

One check is one remote call that blocks on the wrapper's lock (``flock``) until the job ends
or the block time is up, so the end is seen within milliseconds without polling. The wrapper
writes the exit status before it lets go of the lock; a session gone without a status is lost.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import ClassVar

from jobwaiter.records import parse_stamp, record_dir
from jobwaiter.sessions import check_argv
from jobwaiter.waiters.base import Check, JobContext, Waiter

# How long a check may run past its block time before the connection counts as hung: it
# bounds how far a silent network stretches a wait past --job-timeout.
HUNG_CHECK_GRACE = 10.0


class SessionWaiter(Waiter):
    max_block: ClassVar[float] = 30.0

    def __init__(self) -> None:
        self._ended: threading.Event | None = None

    def check(self, job: JobContext, block: float) -> Check:
        if job.local:
            waiting = self._wait_here(job.name, block)
            if waiting is not None:
                return waiting
        return self._check_there(job, block)

    def _wait_here(self, name: str, block: float) -> Check | None:
        """On the job's node: wait for the wrapper to let go of its lock in a thread blocked
        on it, with no process started while the job runs; None once the job has ended (or
        anything is unusual), for ``check.sh`` to read how it ended."""
        d = Path(os.environ.get("HOME") or os.path.expanduser("~")) / record_dir(name)
        if not (d / "pid").exists():
            return None if not d.is_dir() or (d / "status").exists() else Check.pending(
                "job starting")
        if self._ended is None:
            try:
                fd = os.open(str(d / "lock"), os.O_RDONLY)
            except OSError:
                return None
            self._ended = threading.Event()
            threading.Thread(target=_until_unlocked, args=(fd, self._ended), daemon=True,
                             name=f"lock-{name}").start()
        if self._ended.wait(max(block, 0.0)):
            return None
        return Check.pending("job running")

    def _check_there(self, job: JobContext, block: float) -> Check:
        # The transport timeout only guards against a hung connection; the script returns
        # by itself after `block` seconds.
        result = job.head.run(check_argv(job.name, block), idempotent=True,
                              timeout=block + HUNG_CHECK_GRACE)
        lines = result.stdout.splitlines()
        words = lines[0].split() if lines else []
        if not result.ok or not words:
            return Check.pending(f"check failed ({result.exit_status}): {result.tail(1)}")
        state = words[0]
        if state == "status":
            return _ended(" ".join(words[1:]), lines[1] if len(lines) > 1 else "")
        if state == "lost":
            alive = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
            if alive:
                return Check.failure(
                    "the session ended without recording an exit status (lost), and "
                    f"{alive} process(es) of the job still run", lost=True, survivors=alive)
            return Check.failure("the session ended without recording an exit status (lost)",
                                 lost=True)
        if state == "unknown":
            return Check.failure(f"no record of job {job.name} on the head", lost=True)
        if state in ("running", "starting"):
            return Check.pending(f"job {state}")
        return Check.pending(f"unexpected answer from the head: {lines[0][:80]!r}")


def _until_unlocked(fd: int, ended: threading.Event) -> None:
    """Block until nobody holds the lock exclusively any more (the wrapper has exited)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        pass
    finally:
        os.close(fd)
        ended.set()


def _ended(stamp: str, stop_line: str) -> Check:
    try:
        status, ended = parse_stamp(stamp)
    except ValueError as exc:
        return Check.failure(f"the job's record is corrupt (status: {exc}); its exit status "
                             "is unknown (lost)", lost=True)
    if status is None:
        return Check.failure("the job's record has an empty status (lost)", lost=True)
    if stop_line == "stopping":
        return Check.pending(f"the job ended with status {status}; the stop inside its "
                             "session is running")
    if status == 0:
        return Check(True, True, "job exited with status 0", 0, ended_at=ended)
    return Check.failure(f"job exited with status {status}", exit_status=status,
                         ended_at=ended)


class JobEndWaiter(SessionWaiter):
    """Wait until a job (in the foreground of an earlier jobwaiter) has ended."""

    name = "job"
    describe = "wait until the job has ended (its exit status decides)"


class TmuxWaiter(SessionWaiter):
    """Wait until the job in the tmux session has ended; its exit status decides."""

    name = "tmux"
    describe = "wait until the job in the tmux session ends (its exit status decides)"
    session_kind = "tmux"


class ScreenWaiter(SessionWaiter):
    """Wait until the job in the GNU screen session has ended; its exit status decides."""

    name = "screen"
    describe = "wait until the job in the screen session ends (its exit status decides)"
    session_kind = "screen"


def session_waiter(kind: str) -> SessionWaiter:
    """The waiter for a session kind ("tmux" or "screen")."""
    return TmuxWaiter() if kind == "tmux" else ScreenWaiter()
