"""The one waiting loop: pacing, the overall timeout, reconnecting.

Waiters never sleep; the loop calls ``check`` with how long it may block, sleeps between
polls (starting fast, backing off to a cap) and keeps polling through transport failures.
Clock and sleep are injected so tests run without waiting.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from jobwaiter.errors import AccessError, TransportError, WaiterError
from jobwaiter.outcome import Outcome
from jobwaiter.waiters.base import Check, JobContext, Waiter

# A waiter's final state (the names of one vocabulary with the job's outcome).
SUCCEEDED = Outcome.SUCCEEDED
FAILED = Outcome.FAILED
LOST = Outcome.LOST
TIMEOUT = Outcome.TIMEOUT
UNREACHABLE = Outcome.UNREACHABLE
SKIPPED = Outcome.SKIPPED


@dataclass(frozen=True)
class Pacing:
    """Poll intervals: ``first``, multiplied by ``factor`` per poll, at most ``cap``."""

    first: float = 0.05
    factor: float = 1.5
    cap: float = 2.0

    def interval(self, attempt: int) -> float:
        return min(self.cap, self.first * self.factor**attempt)


@dataclass(frozen=True)
class WaiterOutcome:
    """How one waiter ended: ``state`` is one of the six above."""

    name: str
    state: Outcome
    detail: str = ""
    exit_status: int | None = None
    ended_at: float | None = None
    survivors: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "outcome": self.state.value, "detail": self.detail}


@dataclass(frozen=True)
class WaitReport:
    outcomes: tuple[WaiterOutcome, ...] = field(default_factory=tuple)

    @property
    def state(self) -> Outcome:
        """SUCCEEDED if every waiter succeeded, else the first non-success state."""
        for o in self.outcomes:
            if o.state != SUCCEEDED:
                return o.state
        return SUCCEEDED


Progress = typing.Callable[[str, float], None]


class WaitLoop:
    """Runs waiters one after another (a flattened chain), stopping at the first failure.

    ``timeout`` bounds the whole wait. ``reconnect_for`` bounds how long the loop keeps
    retrying a node that cannot be reached when there is no timeout; an unreachable node is
    never read as "done".
    """

    def __init__(
        self,
        pacing: Pacing | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress | None = None,
        reconnect_for: float = 900.0,
    ) -> None:
        self.pacing = pacing or Pacing()
        self.clock = clock
        self.sleep = sleep
        self.progress = progress or (lambda message, elapsed: None)
        self.reconnect_for = reconnect_for

    def run(
        self, waiters: Sequence[Waiter], job: JobContext, timeout: float | None = None
    ) -> WaitReport:
        start = self.clock()
        deadline = None if timeout is None else start + timeout
        outcomes: list[WaiterOutcome] = []
        for index, waiter in enumerate(waiters):
            outcome = self._wait_one(waiter, job, start, deadline)
            outcomes.append(outcome)
            if outcome.state != SUCCEEDED:
                outcomes.extend(
                    WaiterOutcome(w.label, SKIPPED, f"not run: {waiter.label} {outcome.state}")
                    for w in waiters[index + 1 :]
                )
                break
        return WaitReport(tuple(outcomes))

    def _wait_one(
        self, waiter: Waiter, job: JobContext, start: float, deadline: float | None
    ) -> WaiterOutcome:
        attempt = 0
        unreachable_since: float | None = None
        self.progress(f"{waiter.label}: waiting", self.clock() - start)
        while True:
            now = self.clock()
            remaining = None if deadline is None else deadline - now
            if remaining is not None and remaining <= 0:
                if unreachable_since is not None:
                    return WaiterOutcome(
                        waiter.label, UNREACHABLE,
                        "timed out while the head was unreachable; the job's state is unknown",
                    )
                return WaiterOutcome(waiter.label, TIMEOUT, "timed out")
            interval = self.pacing.interval(attempt)
            block = max(interval, waiter.max_block)
            if remaining is not None:
                block = min(block, remaining)
            try:
                check = waiter.check(job, block)
            except AccessError:
                raise  # a refused login or a changed host key does not heal by waiting
            except TransportError as exc:
                unreachable_since = unreachable_since or now
                down = self.clock() - unreachable_since
                if deadline is None and down > self.reconnect_for:
                    return WaiterOutcome(waiter.label, UNREACHABLE, f"{exc} (for {down:.0f}s)")
                check = Check.pending(f"head unreachable, reconnecting ({exc})")
            except WaiterError as exc:
                return WaiterOutcome(waiter.label, FAILED, str(exc))
            except KeyboardInterrupt:
                raise  # Ctrl-C: the caller says the job keeps running
            except BaseException as exc:
                # A waiter's own bug, or a plugin's sys.exit(0): a failed wait, never an exit
                # of ours (SystemExit(0) would otherwise end jobwaiter with "success").
                return WaiterOutcome(waiter.label, FAILED,
                                     f"the waiter raised {type(exc).__name__}: {exc}")
            else:
                if unreachable_since is not None:
                    self.progress(f"{waiter.label}: reconnected", self.clock() - start)
                unreachable_since = None
            if check.done:
                return _outcome(waiter, check)
            self.progress(f"{waiter.label}: {check.detail or 'waiting'}", self.clock() - start)
            spent = self.clock() - now
            pause = interval - spent
            if deadline is not None:
                pause = min(pause, deadline - self.clock())
            if pause > 0:
                self.sleep(pause)
            attempt += 1


def _outcome(waiter: Waiter, check: Check) -> WaiterOutcome:
    state = SUCCEEDED if check.ok else LOST if check.lost else FAILED
    return WaiterOutcome(waiter.label, state, check.detail, check.exit_status, check.ended_at,
                         check.survivors)
